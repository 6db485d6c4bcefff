"""No layer of dimse_codec imports one above it (the folder names show the layers)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dimse_codec"

# lowest first; a module may import its own layer and any layer before it
LAYERS = [
    {"_deprecation", "diagnostics"},
    {"errors"},
    {"policy", "_wire"},
    {"pcap"},
    {"tables"},
    {"dataset"},
    {"dimse"},
    {"pdu"},
    {"pdata", "association"},
    {"capture"},
    {"strategies"},
    {"scpfuzz"},
    {"cli"},
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
