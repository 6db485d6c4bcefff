"""How the ``dimse-codec`` subcommands show a command set: element views, text and JSON.

The rendering library shared by ``inspect`` (one command set, or each message of a PDU stream
through :mod:`dimse_codec.cli.stream`) and ``decode -v`` (a message's command elements under its
line, :mod:`dimse_codec.cli.detail`). The message type, the decoded values and the diagnostics
come from :func:`~dimse_codec.decode_command_set`; the element listing comes from
:func:`~dimse_codec.dimse.command_set.parse_elements`, so it shows every element as it sits on the
wire (duplicates, retired, unknown and out-of-order elements included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydicom.uid import UID

from dimse_codec.dataset.structures import LONG_LENGTH_VRS
from dimse_codec.diagnostics import Diagnostic, diagnostic_json
from dimse_codec.dimse.codec import decode_command_set
from dimse_codec.dimse.command_json import INT_SIZES, TEXT_VRS, json_value
from dimse_codec.dimse.command_set import EXPLICIT_LONG_SIZE, HEADER_SIZE, parse_elements
from dimse_codec.dimse.primitives import DIMSEPrimitive, UnknownMessage
from dimse_codec.dimse.status import describe, service_for_message
from dimse_codec.policy import LENIENT, Policy
from dimse_codec.tables.elements import BY_TAG, format_tag
from dimse_codec.tables.messages import COMMAND_DATA_SET_TYPE_NULL, MESSAGES_BY_FIELD, Priority

__all__ = [
    "MAX_ELEMENTS",
    "ElementView",
    "Inspection",
    "inspect_bytes",
    "render_json",
    "render_text",
    "status_service",
]

_COMMAND_FIELD = 0x00000100
_PRIORITY = 0x00000700
_DATA_SET_TYPE = 0x00000800
_STATUS = 0x00000900

_PREVIEW = 16

MAX_ELEMENTS = 1000
"""Elements ``inspect`` lists of one command set (a real one has about ten); past it they are
counted, so the listing of a hostile command set stays short (its size is already capped by
``Limits.max_command_set_length``)."""


# -- model ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementView:
    """One element as found on the wire, with its value decoded and rendered for people."""

    offset: int
    tag: int
    keyword: str
    retired: bool
    vr: str
    value_bytes: bytes
    element_bytes: bytes
    value: Any
    """The decoded value in JSON form (int, str, list of them, or ``None``)."""
    text: str
    details: dict[str, Any] = field(default_factory=dict)
    """Extra facts for JSON: the UID name, the status category and meaning, ..."""

    @property
    def label(self) -> str:
        """The keyword column: the keyword, marked when retired."""
        return f"{self.keyword} (retired)" if self.retired else self.keyword


@dataclass(frozen=True)
class Inspection:
    """What ``inspect`` found in one command set: the primitive and the elements in wire order."""

    source: bytes
    explicit: bool
    primitive: DIMSEPrimitive
    elements: tuple[ElementView, ...]
    omitted: int = 0
    """Elements past :data:`MAX_ELEMENTS`: counted, not listed."""

    @property
    def message_name(self) -> str | None:
        """The message type, e.g. ``N-ACTION-RQ``, or ``None`` when CommandField names none."""
        spec = self.primitive.message_spec
        return spec.name if spec is not None else None

    @property
    def command_field(self) -> int | None:
        """The CommandField value the message type was taken from."""
        spec = self.primitive.message_spec
        if spec is not None:
            return spec.command_field
        if isinstance(self.primitive, UnknownMessage):
            return self.primitive.command_field
        return None

    @property
    def direction(self) -> str | None:
        """``request`` or ``response``, or ``None`` for an unknown message type."""
        spec = self.primitive.message_spec
        if spec is None:
            return None
        return "request" if spec.is_request else "response"

    @property
    def data_set_type(self) -> int | None:
        """The CommandDataSetType value (read off the wire for an unknown message type)."""
        value = self.primitive.command_data_set_type
        if value is None and isinstance(self.primitive, UnknownMessage):
            for element in self.elements:
                if element.tag == _DATA_SET_TYPE and len(element.value_bytes) == 2:
                    return int.from_bytes(element.value_bytes, "little")
        return value

    @property
    def data_set_follows(self) -> bool | None:
        """Whether CommandDataSetType announces a data set (``None`` when it is absent)."""
        value = self.data_set_type
        return None if value is None else value != COMMAND_DATA_SET_TYPE_NULL

    @property
    def encoding(self) -> str:
        """The element encoding the command set was written in."""
        return "Explicit VR Little Endian" if self.explicit else "Implicit VR Little Endian"

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """The decoder's diagnostics (the authoritative list)."""
        return self.primitive.diagnostics


def inspect_bytes(data: bytes, policy: Policy = LENIENT) -> Inspection:
    """Decode a command set under ``policy`` and list its elements; raise DimseCodecError if bad.

    Both stop at ``policy.limits.max_command_set_length``, so the listing and its output are
    bounded by the limit, whatever the input's size.
    """
    primitive = decode_command_set(data, policy=policy)
    elements, explicit = parse_elements(data, _listing(policy), [])
    service = status_service(primitive)
    views = []
    for index, (tag, offset, value) in enumerate(elements[:MAX_ELEMENTS]):
        stop = elements[index + 1][1] if index + 1 < len(elements) else None
        if stop is None:  # the last element ends where its value does, not at the input's end
            stop = offset + _header_size(data, offset, explicit) + len(value)
        wire_vr = data[offset + 4 : offset + 6].decode("ascii") if explicit else None
        views.append(_view(tag, offset, value, data[offset:stop], wire_vr, service))
    omitted = max(0, len(elements) - MAX_ELEMENTS)
    return Inspection(data, explicit, primitive, tuple(views), omitted)


def _header_size(data: bytes, offset: int, explicit: bool) -> int:
    """Bytes of the element header at ``offset`` (PS3.5 7.1.2-7.1.3)."""
    if explicit and data[offset + 4 : offset + 6] in LONG_LENGTH_VRS:
        return EXPLICIT_LONG_SIZE
    return HEADER_SIZE


def _listing(policy: Policy) -> Policy:
    """The lenient policy the element listing splits with: ``policy``'s limits, no raising."""
    return LENIENT if policy.limits is LENIENT.limits else Policy(limits=policy.limits)


def status_service(primitive: DIMSEPrimitive, abstract_syntax: str | None = None) -> str | None:
    """The service class whose status meanings apply (see ``service_for_message``)."""
    return service_for_message(primitive, abstract_syntax)


def _view(
    tag: int,
    offset: int,
    value: bytes,
    element_bytes: bytes,
    wire_vr: str | None,
    service: str | None,
) -> ElementView:
    """Decode and render one element; value diagnostics go to a throwaway list."""
    spec = BY_TAG.get(tag)
    vr = spec.vr if spec is not None else (wire_vr or "UN")
    shown_vr = wire_vr or vr
    keyword = spec.keyword if spec is not None else "Unknown"
    retired = spec.retired if spec is not None else False
    single = spec is None or spec.vm == "1"
    decoded, text, details = _render(tag, offset, value, vr, single, service)
    return ElementView(
        offset, tag, keyword, retired, shown_vr, value, element_bytes, decoded, text, details
    )


def _render(
    tag: int, offset: int, value: bytes, vr: str, single: bool, service: str | None
) -> tuple[Any, str, dict[str, Any]]:
    """Return (JSON value, display text, details) for one element value of this VR."""
    if not value:
        return None, "(empty)", {}
    decoded = json_value(tag, offset, value, vr)
    if vr in INT_SIZES:
        if decoded is None:
            size = INT_SIZES[vr]
            return None, f"{_preview(value)} (length is not a multiple of {size})", {}
        numbers = decoded if isinstance(decoded, list) else [decoded]
        texts, details = zip(*(_int_text(tag, n, service) for n in numbers), strict=True)
        text = "\\".join(texts)
        if len(numbers) > 1 and single:
            text += f"  ({len(numbers)} values; VM is 1)"
        return decoded, text, details[0]
    if vr == "UI":
        name = UID(decoded).name if decoded else decoded
        if name != decoded:
            return decoded, f"{decoded} ({name})", {"name": name}
        return decoded, decoded, {}
    if vr == "AT":
        extra = f"  (+{len(value) % 4} stray byte(s))" if len(value) % 4 else ""
        return decoded, "\\".join(decoded) + extra, {}
    if vr in TEXT_VRS:
        return decoded, repr(decoded), {}
    return None, _preview(value), {}


def _int_text(tag: int, number: int, service: str | None) -> tuple[str, dict[str, Any]]:
    """Render one integer: decimal, plus hex and a name for the elements that have names."""
    head = f"{number} ({number:04X}H)"
    if tag == _COMMAND_FIELD:
        spec = MESSAGES_BY_FIELD.get(number)
        name = spec.name if spec is not None else "names no DIMSE message"
        return f"{head} {name}", {"name": spec.name if spec is not None else None}
    if tag == _DATA_SET_TYPE:
        follows = number != COMMAND_DATA_SET_TYPE_NULL
        return f"{head} {'data set follows' if follows else 'no data set'}", {
            "data_set_follows": follows
        }
    if tag == _PRIORITY:
        try:
            name = Priority(number).name
        except ValueError:
            return f"{head} not a priority", {"name": None}
        return f"{head} {name}", {"name": name}
    if tag == _STATUS:
        status = describe(number, service)
        return f"{head} {status.text}", {
            "category": status.category.value,
            "meaning": status.meaning,
        }
    return str(number), {}


def _preview(value: bytes) -> str:
    """Show up to 16 bytes of a value that has no typed rendering."""
    shown = " ".join(f"{byte:02x}" for byte in value[:_PREVIEW])
    more = " ..." if len(value) > _PREVIEW else ""
    return f"<{len(value)} bytes: {shown}{more}>"


# -- output --------------------------------------------------------------------------------------


def _header(inspection: Inspection) -> str:
    """The first line: message type, CommandField, direction, and whether a data set follows."""
    field_value = inspection.command_field
    name = inspection.message_name or "Unknown message"
    where = "no CommandField" if field_value is None else f"CommandField {field_value:04X}H"
    direction = inspection.direction or "direction unknown"
    data_set_type = inspection.data_set_type
    if data_set_type is None:
        follows = "unknown (no CommandDataSetType)"
    else:
        answer = "yes" if inspection.data_set_follows else "no"
        follows = f"{answer} (CommandDataSetType {data_set_type:04X}H)"
    return f"{name} ({where}), {direction}, data set follows: {follows}"


def _hexdump(start: int, data: bytes, indent: str) -> list[str]:
    """Lines of 16 bytes: decimal offset, hex bytes, printable ASCII."""
    lines = []
    for pos in range(0, len(data), 16):
        chunk = data[pos : pos + 16]
        hexes = " ".join(f"{byte:02x}" for byte in chunk)
        text = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in chunk)
        lines.append(f"{indent}{start + pos:>5}  {hexes:<47}  |{text}|")
    return lines


def render_text(inspection: Inspection, *, hexdump: bool = False) -> str:
    """Render an inspection as the human-readable report ``inspect`` prints."""
    elements = inspection.elements
    lines = [
        _header(inspection),
        f"Command set: {len(inspection.source)} bytes, {inspection.encoding}, "
        f"{len(elements) + inspection.omitted} element(s)",
    ]
    offset_width = max([len("offset"), *(len(str(e.offset)) for e in elements)])
    label_width = max([len("keyword"), *(len(e.label) for e in elements)])
    length_width = max([len("length"), *(len(str(len(e.value_bytes))) for e in elements)])
    lines.append(
        f"  {'offset':>{offset_width}}  {'tag':<11}  {'keyword':<{label_width}}  VR  "
        f"{'length':>{length_width}}  value"
    )
    for element in elements:
        lines.append(
            f"  {element.offset:>{offset_width}}  {format_tag(element.tag)}  "
            f"{element.label:<{label_width}}  {element.vr:<2}  "
            f"{len(element.value_bytes):>{length_width}}  {element.text}".rstrip()
        )
        if hexdump:
            lines.extend(_hexdump(element.offset, element.element_bytes, " " * (offset_width + 4)))
    if inspection.omitted:
        lines.append(f"  ... and {inspection.omitted} more element(s) not listed")
    diagnostics = inspection.diagnostics
    if not diagnostics:
        lines.append("Diagnostics: none")
    else:
        lines.append("Diagnostics:")
        code_width = max(len(d.code.value) for d in diagnostics)
        for diagnostic in diagnostics:
            at = "@-" if diagnostic.offset is None else f"@{diagnostic.offset}"
            path = f" {diagnostic.path}:" if diagnostic.path else ""
            lines.append(
                f"  {diagnostic.code.value:<{code_width}}  {at:<5}{path} {diagnostic.message}"
            )
    return "\n".join(lines) + "\n"


def render_json(inspection: Inspection, *, hexdump: bool = False) -> dict[str, Any]:
    """Render an inspection as one JSON-ready object (what ``inspect --json`` prints)."""
    elements = []
    for element in inspection.elements:
        entry: dict[str, Any] = {
            "offset": element.offset,
            "tag": format_tag(element.tag),
            "keyword": element.keyword,
            "retired": element.retired,
            "vr": element.vr,
            "length": len(element.value_bytes),
            "value": element.value,
            "text": element.text,
            "value_hex": element.value_bytes.hex(),
        }
        entry.update(element.details)
        if hexdump:
            entry["element_hex"] = element.element_bytes.hex()
        elements.append(entry)
    out = {
        "message": inspection.message_name,
        "command_field": inspection.command_field,
        "direction": inspection.direction,
        "command_data_set_type": inspection.data_set_type,
        "data_set_follows": inspection.data_set_follows,
        "encoding": inspection.encoding,
        "length": len(inspection.source),
        "primitive": repr(inspection.primitive),
        "elements": elements,
        "diagnostics": [diagnostic_json(d) for d in inspection.diagnostics],
    }
    if inspection.omitted:
        out["elements_omitted"] = inspection.omitted
    return out
