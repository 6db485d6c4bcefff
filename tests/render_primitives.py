"""Writes the 12 primitive classes of dimse_codec/dimse/primitives.py from the PS3.7 table.

Each class's descriptors, its ``Args:`` docstring (one line per parameter: the element's name,
tag and VR from PS3.7 Annex E, its usage in the request and in the response, and the condition
behind a ``C`` cell) and its keyword signature for type checkers and editors come from
:data:`dimse_codec.tables.messages.SERVICES` and :data:`dimse_codec.tables.elements.BY_KEYWORD`.
Only each class's first docstring line is written by hand (kept from the current file).

``python tests/render_primitives.py`` rewrites the classes; ``--check`` only says whether they are
current. ``tests/test_primitives.py`` fails when the committed module is not what this writes, so
the signatures and their documentation cannot drift from the table.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from dimse_codec.dimse import primitives
from dimse_codec.tables.elements import BY_KEYWORD, format_tag
from dimse_codec.tables.messages import CONDITIONS, SERVICES, Parameter

MODULE = Path(primitives.__file__)
START = "# -- the primitives: written by tests/render_primitives.py from the PS3.7 table --"
END = "class UnknownMessage(DIMSEPrimitive):"

DESCRIPTOR = {"US": "_US", "UI": "_UI", "AE": "_AE", "LO": "_LO", "AT": "_AT"}
"""The descriptor class of each command element VR (data sets have ``_DataSet``)."""
USAGE = {"M": "mandatory", "U": "user option", "C": "conditional", "-": "not used"}


def _descriptor(parameter: Parameter) -> str:
    if parameter.dataset:
        return "_DataSet"
    return DESCRIPTOR[BY_KEYWORD[parameter.keyword].vr]


def _arguments(parameter: Parameter) -> str:
    arguments = "0, 2" if parameter.keyword == "Priority" else ""  # LOW, MEDIUM or HIGH
    return f"{_descriptor(parameter)}({arguments})"


def _usage(cell: str, condition: str | None) -> str:
    """A usage cell in words: ``U(=)`` is a user option equal to the request's value."""
    text = f"{cell} ({USAGE[cell[0]]}"
    if cell.endswith("(=)"):
        text += ", equal to the request's"
    text += ")"
    if cell.startswith("C") and condition is not None:
        text += f": {CONDITIONS[condition].sentence}"
    return text


def _describe(parameter: Parameter) -> str:
    """One ``Args:`` entry: what the parameter is, then its usage in each direction."""
    if parameter.dataset:
        what = (
            "the data set, in the presentation context's transfer syntax (a pydicom Dataset, "
            "bytes-like or io.BytesIO)"
        )
    else:
        element = BY_KEYWORD[parameter.keyword]
        what = f"{element.name} {format_tag(element.tag)}, {element.vr}"
        if element.multi_valued:
            what += f", VM {element.vm}"
    request = _usage(parameter.request, parameter.condition)
    response = _usage(parameter.response, parameter.condition)
    text = f"{parameter.keyword}: {what}. Request: {request}. Response: {response}."
    return textwrap.fill(
        text, width=100, initial_indent=" " * 8, subsequent_indent=" " * 12, break_on_hyphens=False
    )


def _merged(rows: tuple[Parameter, ...]) -> list[Parameter]:
    """One parameter per keyword: a keyword with a row per direction (N-GET's
    AttributeIdentifierList: U in the request, C in the response) takes each direction's cell."""
    merged: dict[str, Parameter] = {}
    for row in rows:
        seen = merged.get(row.keyword)
        if seen is None:
            merged[row.keyword] = row
            continue
        merged[row.keyword] = seen._replace(
            request=seen.request if seen.request != "-" else row.request,
            response=seen.response if seen.response != "-" else row.response,
            condition=seen.condition or row.condition,
        )
    return list(merged.values())


def _class(name: str, summary: str) -> str:
    service = SERVICES[name]
    parameters = _merged(service.parameters)
    lines = [
        f"class {service.class_name}(DIMSEPrimitive):",
        f'    """{summary}',
        "",
        "    Args:",
        *(_describe(p) for p in parameters),
        '    """',
        "",
        f'    SERVICE = SERVICES["{name}"]',
        *(f"    {p.keyword} = {_arguments(p)}" for p in parameters),
        "",
        "    if TYPE_CHECKING:",
        "",
        "        def __init__(",
        "            self,",
        "            *,",
        *(
            f"            {p.keyword}: {getattr(primitives, _descriptor(p)).ACCEPTS} = None,"
            for p in parameters
        ),
        "        ) -> None:",
        '            """Every parameter by keyword; None (the default) leaves it absent."""',
    ]
    return "\n".join(lines) + "\n"


def render(source: str) -> str:
    """The module's text with its primitive classes written from the table."""
    head, rest = source.split(START + "\n", 1)
    _, tail = rest.split(END, 1)
    classes = []
    for name in SERVICES:
        cls = primitives.PRIMITIVES[name]
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        classes.append(_class(name, summary))
    return head + START + "\n\n\n" + "\n\n".join(classes) + "\n\n" + END + tail


def main(argv: list[str]) -> int:
    """Rewrite the module, or with ``--check`` say whether it is current (exit 1 if not)."""
    source = MODULE.read_text(encoding="utf-8")
    rendered = render(source)
    if "--check" in argv:
        current = rendered == source
        print("current" if current else f"stale: run python {Path(__file__).name}")
        return 0 if current else 1
    MODULE.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
