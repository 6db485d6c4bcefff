"""The command-set element stream: Implicit VR Little Endian elements of group 0000, in construct.

The construct declarations are the single source of truth for the wire layout: the element
headers are the data-set layer's (:mod:`dimse_codec.dataset.structures`, re-exported here), the
whole-element grammar and the value layouts are below. The hot path does not run construct's
interpreter per element: it uses :class:`struct.Struct` objects *derived from* those
declarations (their format strings), so a change to a declaration changes the fast path too, and
a test checks both give the same answer on random input.

Elements are handled as plain tuples ``(tag, offset, value)``: no object per element.
"""

from __future__ import annotations

from typing import NamedTuple

from construct import Bytes, GreedyRange, Int16ul, Int32ul, Struct, this

from dimse_codec._wire import struct_of
from dimse_codec.dataset.structures import (
    ELEMENT_HEADER,
    EXPLICIT_LONG_HEADER,
    EXPLICIT_SHORT_HEADER,
    LITTLE_ENDIAN,
    LONG_LENGTH_VRS,
    VRS,
)
from dimse_codec.errors import DecodeError, EncodeError, TruncatedError
from dimse_codec.policy import Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.elements import BY_TAG, format_tag

__all__ = [
    "AT_VALUE",
    "COMMAND_SET",
    "ELEMENT",
    "ELEMENT_HEADER",
    "EXPLICIT_LONG_HEADER",
    "EXPLICIT_SHORT_HEADER",
    "RawElement",
    "build_element",
    "build_explicit_element",
    "element_path",
    "parse_elements",
]

# --- declarations (PS3.5 7.1.3 implicit VR, 7.1.2 explicit VR) ---------------------------------

ELEMENT = Struct(*ELEMENT_HEADER.subcons, "value" / Bytes(this.length))
"""One Implicit VR Little Endian element: the header of
:data:`~dimse_codec.dataset.structures.ELEMENT_HEADER` and the value."""

COMMAND_SET = GreedyRange(ELEMENT)
"""A whole command set as construct sees it; the reference grammar (not used on hot paths)."""

US_VALUE = Int16ul
UL_VALUE = Int32ul
AT_VALUE = Struct("group" / Int16ul, "element" / Int16ul)
"""One AT value: an attribute tag as group then element, each little endian."""

_HEADER, _EXPLICIT_SHORT, _EXPLICIT_LONG = LITTLE_ENDIAN
US = struct_of(US_VALUE, "<")
UL = struct_of(UL_VALUE, "<")
AT = struct_of(AT_VALUE, "<")

HEADER_SIZE = _HEADER.size
EXPLICIT_LONG_SIZE = _EXPLICIT_LONG.size

UNDEFINED_LENGTH = 0xFFFFFFFF


class RawElement(NamedTuple):
    """An element kept as it came: tag, byte offset in the command set, raw value bytes."""

    tag: int
    offset: int
    value: bytes


def element_path(tag: int) -> str:
    """Name an element for errors and diagnostics: ``command set > (0000,0110) MessageID``."""
    spec = BY_TAG.get(tag)
    name = f"{format_tag(tag)} {spec.keyword}" if spec else format_tag(tag)
    return f"command set > {name}"


def _looks_explicit(data: bytes) -> bool:
    """Tell an Explicit VR element stream from an implicit one by its first header."""
    if len(data) < HEADER_SIZE or data[4:6] not in VRS:
        return False
    implicit_length = UL.unpack_from(data, 4)[0]
    return bool(HEADER_SIZE + implicit_length > len(data))


def _looks_big_endian(data: bytes) -> bool:
    """Spot a big-endian command set: its first length reads sane only when byte-swapped."""
    if len(data) < HEADER_SIZE:
        return False
    little = UL.unpack_from(data, 4)[0]
    big = int.from_bytes(data[4:8], "big")
    return HEADER_SIZE + little > len(data) and HEADER_SIZE + big <= len(data) and big in (2, 4)


def parse_elements(
    data: bytes, policy: Policy, diagnostics: list[Diagnostic]
) -> tuple[list[tuple[int, int, bytes]], bool]:
    """Split a command set into ``(tag, offset, value)`` tuples; return them and "was explicit".

    Lengths are checked against the bytes present before anything is sliced, so a declared
    length never allocates. An explicit VR stream is decoded only if the policy tolerates
    ``EXPLICIT_VR_COMMAND``. A command set longer than ``policy.limits.max_command_set_length``
    raises :class:`~dimse_codec.errors.LimitExceeded` (strict) or, lenient, is reported as
    ``LIMIT_EXCEEDED`` and only the whole elements within its first that many bytes are split:
    the work and the memory follow the limit, not the input, and the rest stays in the bytes.
    """
    limit = policy.limits.max_command_set_length
    cut = len(data) > limit
    if cut:
        policy.exceeded(
            diagnostics,
            f"command set of {len(data)} bytes is over Limits.max_command_set_length ({limit})",
            limit,
            "command set",
        )
        data = data[:limit]
    if data[4:6] in VRS and _looks_explicit(data):
        policy.report(
            diagnostics,
            DiagnosticCode.EXPLICIT_VR_COMMAND,
            "command set is Explicit VR; PS3.7 6.3.1 requires Implicit VR Little Endian",
            0,
            "command set",
        )
        return _parse_explicit(data, cut), True
    end = len(data)
    out: list[tuple[int, int, bytes]] = []
    append = out.append
    unpack = _HEADER.unpack_from
    pos = 0
    while pos < end:
        if end - pos < HEADER_SIZE:
            if cut:
                break
            raise TruncatedError(
                f"{end - pos} byte(s) left, an element header needs {HEADER_SIZE}",
                offset=pos,
                path="command set",
            )
        group, element, length = unpack(data, pos)
        start = pos + HEADER_SIZE
        stop = start + length
        if stop > end:
            if cut:
                break
            tag = (group << 16) | element
            if pos == 0 and _looks_big_endian(data):
                raise DecodeError(
                    "command set looks big endian; PS3.7 6.3.1 requires Implicit VR Little Endian",
                    offset=0,
                    path="command set",
                    code="BIG_ENDIAN_COMMAND",
                )
            if length == UNDEFINED_LENGTH:
                raise DecodeError(
                    "undefined length (FFFFFFFFH) is not allowed in a command set",
                    offset=pos,
                    path=element_path(tag),
                )
            raise TruncatedError(
                f"value length {length} runs past the end ({end - start} byte(s) left)",
                offset=pos,
                path=element_path(tag),
            )
        append(((group << 16) | element, pos, data[start:stop]))
        pos = stop
    return out, False


def _parse_explicit(data: bytes, cut: bool) -> list[tuple[int, int, bytes]]:
    """Split an Explicit VR Little Endian element stream, checking every length first.

    ``cut``: the bytes were cut at the command-set limit, so an element that runs past their
    end ends the stream instead of being an error.
    """
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    end = len(data)
    while pos < end:
        if end - pos < _EXPLICIT_SHORT.size:
            if cut:
                break
            raise TruncatedError(
                f"{end - pos} byte(s) left, an explicit VR header needs {_EXPLICIT_SHORT.size}",
                offset=pos,
                path="command set",
            )
        group, element, vr, length = _EXPLICIT_SHORT.unpack_from(data, pos)
        tag = (group << 16) | element
        if vr in LONG_LENGTH_VRS:
            if end - pos < _EXPLICIT_LONG.size:
                if cut:
                    break
                raise TruncatedError(
                    "explicit VR long header is cut short", offset=pos, path=element_path(tag)
                )
            length = _EXPLICIT_LONG.unpack_from(data, pos)[4]
            start = pos + _EXPLICIT_LONG.size
        elif vr in VRS:
            start = pos + _EXPLICIT_SHORT.size
        else:
            raise DecodeError(
                f"{vr!r} is not a VR, in an Explicit VR command set",
                offset=pos + 4,
                path=element_path(tag),
            )
        stop = start + length
        if stop > end:
            if cut:
                break
            raise TruncatedError(
                f"value length {length} runs past the end ({end - start} byte(s) left)",
                offset=pos,
                path=element_path(tag),
            )
        out.append((tag, pos, data[start:stop]))
        pos = stop
    return out


pack_header = _HEADER.pack
"""Pack an element header from (group, element, length)."""


def build_element(tag: int, value: bytes) -> bytes:
    """Encode one Implicit VR Little Endian element (header and value)."""
    return pack_header(tag >> 16, tag & 0xFFFF, len(value)) + value


def build_explicit_element(tag: int, vr: str, value: bytes) -> bytes:
    """Encode one Explicit VR Little Endian element (header and value).

    Only for reproducing peers that send Explicit VR command sets (PS3.7 6.3.1 requires
    Implicit VR): the header follows :data:`EXPLICIT_SHORT_HEADER`, or
    :data:`EXPLICIT_LONG_HEADER` for the VRs with a 32-bit length. Raises
    :class:`~dimse_codec.errors.EncodeError` for a value too long for a 16-bit length.
    """
    code = vr.encode("ascii")
    if code in LONG_LENGTH_VRS:
        return _EXPLICIT_LONG.pack(tag >> 16, tag & 0xFFFF, code, 0, len(value)) + value
    if len(value) > 0xFFFF:
        raise EncodeError(
            f"a {len(value)}-byte {vr} value does not fit an Explicit VR 16-bit length",
            path=element_path(tag),
        )
    return _EXPLICIT_SHORT.pack(tag >> 16, tag & 0xFFFF, code, len(value)) + value
