"""No layer of dimse_codec imports one above it (the folder names show the layers)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dimse_codec"

# lowest first; a module may import its own layer and any layer before it
LAYERS = [
    {"_deprecation", "_lazy", "_version", "diagnostics"},
    {"errors"},
    {"limits", "policy", "_wire"},
    {"pcap"},
    {"tables"},
    {"dataset"},
    {"dimse"},
    {"pdu"},
    {"pdata", "association"},
    {"upper_layer"},
    {"services", "interop"},
    {"net"},
    {"capture"},
    {"report"},
    {"replay"},
    {"strategies"},
    {"scpfuzz"},
    {"cli", "__main__"},
]


def layer_of(name: str) -> int:
    for index, layer in enumerate(LAYERS):
        if name in layer:
            return index
    raise LookupError(f"dimse_codec.{name} is in no layer: add it to LAYERS")


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("dimse_codec.")
        ):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("dimse_codec.")
            )
    return found


def test_no_layer_imports_one_above_it() -> None:
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts == ("__init__.py",):
            continue  # the package front re-exports every layer
        own = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for name in imported_layers(path):
            assert layer_of(name) <= layer_of(own), f"{relative} imports dimse_codec.{name}"
        checked += 1
    assert checked >= 20


def test_the_readme_states_the_layer_order() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    sentence = readme.split("The order of the layers:", 1)[1].split("\n\n", 1)[0]
    stated = [set(group.strip("` .\n").split("`/`")) for group in sentence.split(",")]
    assert stated == LAYERS


def module_of(path: Path) -> str:
    """The dotted module name of a file of the package (a package is its ``__init__``)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of dimse_codec and the modules it imports, wherever the import stands
    (module level, inside a function, under ``TYPE_CHECKING``): each ties the two together."""
    files = {module_of(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package[: len(package) - node.level + 1]
                    stem = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                names = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
            for name in names:
                while name and name not in files:  # the module a dotted name points into
                    name = name.rpartition(".")[0]
                # a package's face re-exporting its own modules is not a cycle of design
                if name and name != module and not name.startswith(module + "."):
                    targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) >= 60
    assert "dimse_codec.errors" in graph["dimse_codec.policy"]  # imports are seen at all
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_library_states_invariants_without_assert() -> None:
    """``python -O`` removes ``assert``, and an ``AssertionError`` is not of the library's family:
    an invariant is checked with :func:`dimse_codec.errors.expect` (``InternalError``) instead."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{path.relative_to(PACKAGE)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Assert)
        ]
    assert found == []


def test_expect_raises_the_librarys_internal_error() -> None:
    from dimse_codec.errors import DimseCodecError, InternalError, expect

    assert expect(7, int, "here") == 7
    with pytest.raises(InternalError, match="expected int, found NoneType") as raised:
        expect(None, int, "Sta3")
    assert isinstance(raised.value, DimseCodecError) and raised.value.path == "Sta3"
