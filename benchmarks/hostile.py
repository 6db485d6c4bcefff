"""Hostile inputs: small bytes that decode into far more than themselves (issue 11's table).

One place for the builders that ``benchmarks/bench_limits.py`` measures and
``fuzz/seed_corpus.py`` seeds the harnesses with (it imports this file by path). Each returns
the bytes a decoder is given; the data sets are raw data-set bytes (no file meta), deflated ones
as raw DEFLATE padded to even length (PS3.5 A.5).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

ITEM = b"\xfe\xff\x00\xe0"
"""(FFFE,E000) Item tag, little endian (PS3.5 7.5)."""
SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
"""(FFFE,E0DD) with length 0."""
REFERENCED_SOP_SEQUENCE = (0x0008, 0x1199)
IMAGE_POSITION_PATIENT = (0x0020, 0x0032)
PIXEL_DATA = (0x7FE0, 0x0010)
_CHUNK = 1 << 20


def deflate_chunks(chunks: Iterable[bytes]) -> bytes:
    """Raw-DEFLATE the concatenated chunks (level 9), padded with one 0x00 to even length."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(chunk) for chunk in chunks]
    parts.append(compressor.flush())
    out = b"".join(parts)
    return out + b"\x00" if len(out) % 2 else out


def _repeat(unit: bytes, count: int) -> Iterable[bytes]:
    """``unit`` ``count`` times, in chunks of about a MiB (never the whole run in memory)."""
    per_chunk = max(1, _CHUNK // len(unit))
    block = unit * per_chunk
    while count >= per_chunk:
        yield block
        count -= per_chunk
    if count:
        yield unit * count


def empty_items_plain(count: int) -> Iterable[bytes]:
    """Explicit VR LE: one undefined-length SQ of ``count`` empty (zero-length) items."""
    group, element = REFERENCED_SOP_SEQUENCE
    yield struct.pack("<HH2sHI", group, element, b"SQ", 0, 0xFFFFFFFF)
    yield from _repeat(ITEM + b"\x00\x00\x00\x00", count)
    yield SEQUENCE_DELIMITER


def empty_items_deflated(count: int) -> bytes:
    """A deflated data set of one sequence of ``count`` empty items (3,000,000: ~35 KB that
    inflate to 24 MB, the issue's first row)."""
    return deflate_chunks(empty_items_plain(count))


def empty_items_inflated_size(count: int) -> int:
    """The inflated size of :func:`empty_items_deflated` (``count`` items)."""
    return 12 + 8 * count + 8


def many_values(count: int) -> bytes:
    """Implicit VR LE: one DS element (Image Position (Patient)) of ``count`` values ``1``,
    ``2 * count`` bytes (1,000,000 values: the issue's 2 MB DS)."""
    value = b"1\\" * (count - 1) + b"1 "
    group, element = IMAGE_POSITION_PATIENT
    return struct.pack("<HHI", group, element, len(value)) + value


def zeros(size: int) -> bytes:
    """``size`` zero bytes (30 MB: the issue's command set and PDU stream row)."""
    return bytes(size)


def pixel_bomb_deflated(size: int) -> bytes:
    """A deflated data set whose one element is an OB Pixel Data of ``size`` zero bytes (the
    issue's 273 KB capture inflating to a 256 MiB OB)."""
    size += size % 2
    group, element = PIXEL_DATA
    header = struct.pack("<HH2sHI", group, element, b"OB", 0, size)
    return deflate_chunks(
        [header, *_repeat(b"\x00" * _CHUNK, size // _CHUNK), bytes(size % _CHUNK)]
    )


def pixel_bomb_inflated_size(size: int) -> int:
    """The inflated size of :func:`pixel_bomb_deflated` (``size`` bytes of pixel data)."""
    return 12 + size + size % 2
