"""Guess a data set's transfer syntax from its first bytes, when no association said which.

A capture that starts mid-association has no A-ASSOCIATE to name each context's transfer
syntax, so the data set itself is read: the first element's tag, and whether a VR follows it,
tell implicit from explicit and little from big endian; bytes that are none of these but
inflate into one are deflated. The answer is a guess and says so.
"""

from __future__ import annotations

import zlib
from typing import Literal, NamedTuple

from dimse_codec.dataset.structures import LONG_LENGTH_VRS, VRS
from dimse_codec.dataset.transfer_syntax import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
)

__all__ = ["Sniffed", "sniff_transfer_syntax"]

_PROBE = 256
_MAX_FIRST_LENGTHS = 1 << 24


class Sniffed(NamedTuple):
    """A guessed transfer syntax UID and the sentence saying what it was guessed from."""

    transfer_syntax: str
    reason: str


def _plausible(data: bytes, little: bool, explicit: bool) -> bool:
    """Whether the bytes read as up to three well-formed elements in ascending tag order."""
    order: Literal["little", "big"] = "little" if little else "big"
    pos = 0
    last = -1
    for index in range(3):
        if pos > len(data):
            return index > 1  # only a later element may run past the probe
        if len(data) - pos < 8:
            return pos > 0
        tag = int.from_bytes(data[pos : pos + 2], order) << 16 | int.from_bytes(
            data[pos + 2 : pos + 4], order
        )
        if tag <= last or not 0x0004 <= tag >> 16 <= 0x7FE0:
            return False
        last = tag
        if explicit:
            vr = data[pos + 4 : pos + 6]
            if vr not in VRS:
                return False
            if vr in LONG_LENGTH_VRS:
                if len(data) - pos < 12:
                    return True
                length = int.from_bytes(data[pos + 8 : pos + 12], order)
                pos += 12
            else:
                length = int.from_bytes(data[pos + 6 : pos + 8], order)
                pos += 8
        else:
            length = int.from_bytes(data[pos + 4 : pos + 8], order)
            pos += 8
        if length == 0xFFFFFFFF:
            return True  # a sequence or encapsulated data of undefined length: stop here
        if length & 1 or length > _MAX_FIRST_LENGTHS:
            return False
        pos += length
    return True


def sniff_transfer_syntax(data: bytes | bytearray | memoryview) -> Sniffed | None:
    """Guess the transfer syntax of an encoded data set; ``None`` when nothing fits.

    Little endian wins a tie (it is what almost every peer sends); deflate is tried last, on
    the first 64 bytes only.
    """
    head = bytes(data[:_PROBE])
    for little, explicit, uid, why in _CANDIDATES:
        if _plausible(head, little, explicit):
            return Sniffed(uid, why)
    try:
        inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(head, _PROBE)
    except zlib.error:
        return None
    if _plausible(inflated, little=True, explicit=True):
        return Sniffed(
            DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid,
            "the bytes inflate into an Explicit VR Little Endian data set",
        )
    return None


_CANDIDATES = (
    (True, True, EXPLICIT_VR_LITTLE_ENDIAN.uid, "a VR follows each tag, little endian"),
    (True, False, IMPLICIT_VR_LITTLE_ENDIAN.uid, "a 4-byte length follows each tag, little endian"),
    (False, True, EXPLICIT_VR_BIG_ENDIAN.uid, "a VR follows each tag, big endian"),
)
