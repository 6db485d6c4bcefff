"""A command set's element values as JSON: what ``decode --json`` and ``inspect --json`` show.

Every element as it sits on the wire (duplicates, retired and unknown elements included), split
by :func:`~dimse_codec.dimse.command_set.parse_elements` and each value decoded by its VR through
:data:`~dimse_codec.dimse.values.DECODERS` without diagnostics: the values for people and
programs reading a capture, not for validation (that is :func:`~dimse_codec.validate`).
"""

from __future__ import annotations

from typing import Any

from dimse_codec.dimse.command_set import parse_elements
from dimse_codec.dimse.values import DECODERS, decode_text
from dimse_codec.policy import LENIENT, Diagnostic
from dimse_codec.tables.elements import BY_TAG, format_tag

__all__ = ["INT_SIZES", "TEXT_VRS", "element_values", "json_value"]

TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
)
"""VRs whose value is shown as its decoded text."""
INT_SIZES = {"US": 2, "UL": 4}
"""VRs whose value is shown as integers, with the size of one."""


def element_values(data: bytes) -> dict[str, Any]:
    """Keyword (tag text when unknown) -> JSON value of every element of a command set.

    One dictionary per command set, for output that shows every message's command (NDJSON);
    raises :class:`~dimse_codec.errors.DimseCodecError` if the elements cannot be split.
    """
    elements, explicit = parse_elements(data, LENIENT, [])
    out: dict[str, Any] = {}
    for tag, offset, value in elements:
        spec = BY_TAG.get(tag)
        if spec is not None:
            out[spec.keyword] = json_value(tag, offset, value, spec.vr)
        else:
            wire_vr = data[offset + 4 : offset + 6].decode("ascii") if explicit else None
            out[format_tag(tag)] = json_value(tag, offset, value, wire_vr or "UN")
    return out


def json_value(tag: int, offset: int, value: bytes, vr: str) -> Any:
    """One element value of this VR as JSON: int(s), UID, tag texts or text; None otherwise.

    A US or UL value of a length that is no multiple of its size, and a value of any other VR
    (none in a valid command set), are ``None``: there is no number or text to show.
    """
    if not value:
        return None
    scratch: list[Diagnostic] = []
    if vr in INT_SIZES:
        size = INT_SIZES[vr]
        if len(value) == size:
            return int.from_bytes(value, "little")
        if len(value) % size:
            return None
        numbers = [
            int.from_bytes(value[pos : pos + size], "little") for pos in range(0, len(value), size)
        ]
        return numbers[0] if len(numbers) == 1 else numbers
    if vr == "UI":
        return str(DECODERS["UI"](value, offset, tag, LENIENT, scratch))
    if vr == "AT":
        return [format_tag(t) for t in DECODERS["AT"](value, offset, tag, LENIENT, scratch)]
    if vr in TEXT_VRS:
        return str(DECODERS.get(vr, decode_text)(value, offset, tag, LENIENT, scratch))
    return None
