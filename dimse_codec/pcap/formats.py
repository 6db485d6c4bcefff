"""The pcap and pcapng file formats, read record by record from an :class:`_Input`.

Every declared length is checked against ``max_record_length`` and against the bytes present
before anything is sliced or read, so a corrupt length never allocates. A file cut inside a
record yields every complete record and then records a :class:`Truncation`; corrupt structure
raises a :class:`~dimse_codec.pcap.errors.CaptureError`. :class:`FileFormats` is the half of
:class:`~dimse_codec.pcap.reader.CaptureReader` that knows the formats' structure.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Literal

from dimse_codec._wire import ByteOrder, struct_of
from dimse_codec.pcap.errors import (
    CaptureError,
    CaptureLimitExceeded,
    CaptureTruncated,
    NotACaptureFile,
)
from dimse_codec.pcap.inputs import _GZIP_MAGIC, _Input, _wait
from dimse_codec.pcap.packets import (
    NoteKind,
)
from dimse_codec.pcap.results import CaptureNote, CaptureStats, Interface, Truncation
from dimse_codec.pcap.structures import (
    PCAP_FILE_HEADER,
    PCAP_RECORD_HEADER,
    PCAPNG_BLOCK_HEADER,
    PCAPNG_EPB_FIXED,
    PCAPNG_IDB_FIXED,
    PCAPNG_OPTION_HEADER,
    PCAPNG_PB_FIXED,
    PCAPNG_SHB_FIXED,
    PCAPNG_SPB_FIXED,
)

__all__ = ["DEFAULT_MAX_RECORD_LENGTH", "FileFormats"]

DEFAULT_MAX_RECORD_LENGTH = 16 << 20
"""Largest pcap record (captured length) or pcapng block accepted before it is refused."""

PCAP_MAGIC_MICROSECONDS = 0xA1B2C3D4
PCAP_MAGIC_NANOSECONDS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
BLOCK_IDB = 0x00000001
BLOCK_PB = 0x00000002
BLOCK_SPB = 0x00000003
BLOCK_EPB = 0x00000006
OPTION_END = 0
OPTION_IF_NAME = 2
OPTION_IF_TSRESOL = 9
OPTION_IF_TSOFFSET = 14

_SHB_BYTES = PCAPNG_SHB.to_bytes(4, "big")
_BOM_BIG = PCAPNG_BYTE_ORDER_MAGIC.to_bytes(4, "big")
_BOM_LITTLE = PCAPNG_BYTE_ORDER_MAGIC.to_bytes(4, "little")
_PCAP_MAGICS: dict[bytes, tuple[ByteOrder, bool]] = {
    PCAP_MAGIC_MICROSECONDS.to_bytes(4, "big"): (">", False),
    PCAP_MAGIC_MICROSECONDS.to_bytes(4, "little"): ("<", False),
    PCAP_MAGIC_NANOSECONDS.to_bytes(4, "big"): (">", True),
    PCAP_MAGIC_NANOSECONDS.to_bytes(4, "little"): ("<", True),
}
_COMPRESSED = {_GZIP_MAGIC: "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4"}
_PCAP_HEADER_SIZE = PCAP_FILE_HEADER.sizeof()
_SHB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_SHB_FIXED.sizeof() + 4
_IDB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_IDB_FIXED.sizeof() + 4
_EPB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_EPB_FIXED.sizeof() + 4
_PB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_PB_FIXED.sizeof() + 4
_SPB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_SPB_FIXED.sizeof() + 4

# (frame, time_ns, interface, link_type, data, original_length, file offset)
_Raw = tuple[int, "int | None", int, int, memoryview, int, int]


class FileFormats:
    """Reading pcap and pcapng records for :class:`~dimse_codec.pcap.reader.CaptureReader`,
    which holds the state these methods fill (its interfaces, notes, truncations, counters)."""

    format: Literal["pcap", "pcapng"]
    interfaces: list[Interface]
    notes: list[CaptureNote]
    notes_dropped: int
    note_counts: dict[NoteKind, int]
    truncations: list[Truncation]
    stats: CaptureStats
    _max_record_length: int
    _max_notes: int
    _several: bool
    _inputs: list[_Input]
    _current: _Input

    # --- file structure ---------------------------------------------------------------------

    def _note(self, kind: NoteKind, message: str, frame: int | None, offset: int | None) -> None:
        self.note_counts[kind] = self.note_counts.get(kind, 0) + 1
        if self._several:  # its offset is in that source
            message = f"{self._current.label}: {message}"
        if len(self.notes) < self._max_notes:
            self.notes.append(CaptureNote(kind, message, frame, offset))
        else:
            self.notes_dropped += 1

    def _truncated(self, offset: int, needed: int, available: int, frames: int, what: str) -> None:
        source = self._current.label if self._several else None
        self.truncations.append(Truncation(offset, needed, available, frames, what, source))

    def _read_file_header(self, inp: _Input) -> None:
        inp.more(0, _PCAP_HEADER_SIZE)
        head = bytes(inp.view[:_PCAP_HEADER_SIZE])
        if not head:
            raise NotACaptureFile("empty input: not a pcap or pcapng file", offset=0)
        magic = head[:4]
        if magic == _SHB_BYTES:
            inp.format = "pcapng"
            if inp is self._inputs[0]:
                self.format = "pcapng"
            if len(head) >= 12 and head[8:12] not in (_BOM_BIG, _BOM_LITTLE):
                raise NotACaptureFile(
                    "not a pcapng file: its section header has byte-order magic "
                    f"{head[8:12].hex()}",
                    offset=8,
                    path="pcapng > section header > byte-order magic",
                )
            return  # the section header is read as the first block
        if magic in _PCAP_MAGICS:
            inp.order, inp.nanoseconds = _PCAP_MAGICS[magic]
            if len(head) < _PCAP_HEADER_SIZE:
                raise CaptureTruncated(
                    f"pcap file header cut at {len(head)} of {_PCAP_HEADER_SIZE} bytes",
                    offset=0,
                    path="pcap > file header",
                    code="TRUNCATED",
                )
            fields = struct_of(PCAP_FILE_HEADER, inp.order).unpack(head)
            snaplen, linktype = fields[5], fields[6]
            inp.format, inp.interface = "pcap", len(self.interfaces)
            self.interfaces.append(
                Interface(
                    inp.interface, linktype & 0xFFFF, snaplen, None, 9 if inp.nanoseconds else 6
                )
            )
            return
        for prefix, name in _COMPRESSED.items():
            if head.startswith(prefix):
                raise NotACaptureFile(
                    f"{name}-compressed data: decompress the capture first", offset=0
                )
        if len(head) < 4 and any(known.startswith(head) for known in (_SHB_BYTES, *_PCAP_MAGICS)):
            raise CaptureTruncated(
                f"capture cut inside its magic number ({len(head)} bytes)",
                offset=0,
                path="capture > magic",
                code="TRUNCATED",
            )
        raise NotACaptureFile(
            f"not a pcap or pcapng file: it starts with {head[:8].hex(' ')}", offset=0
        )

    def _pcap(self, inp: _Input) -> Iterator[_Raw | None]:
        unpack = struct_of(PCAP_RECORD_HEADER, inp.order).unpack_from
        size = PCAP_RECORD_HEADER.sizeof()
        scale = 1 if inp.nanoseconds else 1000
        interface = inp.interface
        link = self.interfaces[interface].link_type
        cap = self._max_record_length
        frame = 0
        pos = _PCAP_HEADER_SIZE
        data, view = inp.data, inp.view
        end = len(data)
        try:
            while True:
                if end - pos < size:
                    pos = yield from _wait(inp, pos, size)
                    data, view = inp.data, inp.view
                    end = len(data)
                    if end - pos < size:
                        if end > pos:
                            self._truncated(inp.base + pos, size, end - pos, frame, "record header")
                        return
                seconds, fraction, captured, original = unpack(data, pos)
                if captured > cap:
                    raise CaptureLimitExceeded(
                        f"record {frame + 1} declares {captured} captured bytes, beyond the "
                        f"cap of {cap}",
                        offset=inp.base + pos,
                        path="pcap > record header > captured length",
                    )
                stop = pos + size + captured
                if stop > end:
                    pos = yield from _wait(inp, pos, size + captured)
                    data, view = inp.data, inp.view
                    end = len(data)
                    stop = pos + size + captured
                    if stop > end:
                        self._truncated(inp.base + pos, size + captured, end - pos, frame, "record")
                        return
                frame += 1
                yield (
                    frame,
                    seconds * 1_000_000_000 + fraction * scale,
                    interface,
                    link,
                    view[pos + size : stop],
                    original,
                    inp.base + pos,
                )
                pos = stop
                if pos > inp.release_at:
                    inp.release(pos)
        finally:
            self.stats.frames += frame
            inp.mark = inp.base + pos

    def _pcapng(self, inp: _Input) -> Iterator[_Raw | None]:
        cap = self._max_record_length
        frame = 0
        pos = 0
        data, view = inp.data, inp.view
        end = len(data)
        order: ByteOrder = ">"  # until the first section header says; its block type reads the same
        header = struct_of(PCAPNG_BLOCK_HEADER, order).unpack_from
        u32 = struct.Struct(order + "I").unpack_from
        epb = struct_of(PCAPNG_EPB_FIXED, order).unpack_from
        pb = struct_of(PCAPNG_PB_FIXED, order).unpack_from
        # per interface of the current section: (global index, link type, snaplen, mul, div,
        # shift, offset_ns); time_ns = ((ts * mul) // div >> shift) + offset_ns
        section: list[tuple[int, int, int, int, int, int, int]] = []
        try:
            while True:
                if end - pos < 8:
                    pos = yield from _wait(inp, pos, 8)
                    data, view = inp.data, inp.view
                    end = len(data)
                    if end - pos < 8:
                        if end > pos:
                            self._truncated(inp.base + pos, 8, end - pos, frame, "block header")
                        return
                block_type, length = header(data, pos)
                if block_type == PCAPNG_SHB:  # a palindrome: it reads the same in both orders
                    if end - pos < 12:
                        pos = yield from _wait(inp, pos, 12)
                        data, view = inp.data, inp.view
                        end = len(data)
                        if end - pos < 12:
                            self._truncated(inp.base + pos, 12, end - pos, frame, "block header")
                            return
                    magic = bytes(view[pos + 8 : pos + 12])
                    new_order: ByteOrder
                    if magic == _BOM_BIG:
                        new_order = ">"
                    elif magic == _BOM_LITTLE:
                        new_order = "<"
                    else:
                        raise (NotACaptureFile if pos + inp.base == 0 else CaptureError)(
                            f"pcapng section header with byte-order magic {magic.hex()}",
                            offset=inp.base + pos + 8,
                            path="pcapng > section header > byte-order magic",
                        )
                    if new_order != order:
                        order = new_order
                        header = struct_of(PCAPNG_BLOCK_HEADER, order).unpack_from
                        u32 = struct.Struct(order + "I").unpack_from
                        epb = struct_of(PCAPNG_EPB_FIXED, order).unpack_from
                        pb = struct_of(PCAPNG_PB_FIXED, order).unpack_from
                        block_type, length = header(data, pos)
                where = inp.base + pos
                if length < 12 or length & 3:
                    raise CaptureError(
                        f"block of type {block_type:#x} has total length {length}, which is "
                        "not a multiple of 4 of at least 12",
                        offset=where,
                        path="pcapng > block header > total length",
                    )
                if length > cap:
                    raise CaptureLimitExceeded(
                        f"block of type {block_type:#x} declares {length} bytes, beyond the cap "
                        f"of {cap}",
                        offset=where,
                        path="pcapng > block header > total length",
                    )
                if end - pos < length:
                    pos = yield from _wait(inp, pos, length)
                    data, view = inp.data, inp.view
                    end = len(data)
                    if end - pos < length:
                        self._truncated(inp.base + pos, length, end - pos, frame, "block")
                        return
                    where = inp.base + pos
                (trailer,) = u32(data, pos + length - 4)
                if trailer != length:
                    raise CaptureError(
                        f"block of type {block_type:#x} starts with total length {length} and "
                        f"ends with {trailer}",
                        offset=where + length - 4,
                        path="pcapng > block trailer > total length",
                    )
                if block_type in (BLOCK_EPB, BLOCK_PB):
                    if block_type == BLOCK_EPB:
                        if length < _EPB_MIN:
                            raise self._short(block_type, length, where)
                        interface, high, low, captured, original = epb(data, pos + 8)
                        start = pos + 28
                    else:
                        if length < _PB_MIN:
                            raise self._short(block_type, length, where)
                        interface, _drops, high, low, captured, original = pb(data, pos + 8)
                        start = pos + 28
                    if start + captured > pos + length - 4:
                        raise CaptureError(
                            f"captured length {captured} runs past its block of {length} bytes",
                            offset=where + 20,
                            path="pcapng > packet block > captured length",
                        )
                    frame += 1
                    if interface < len(section):
                        index, link, _snaplen, mul, div, shift, offset_ns = section[interface]
                        yield (
                            frame,
                            ((((high << 32) | low) * mul) // div >> shift) + offset_ns,
                            index,
                            link,
                            view[start : start + captured],
                            original,
                            where,
                        )
                    else:
                        self.stats.skipped += 1
                        self._note(
                            NoteKind.BAD_INTERFACE,
                            f"packet on interface {interface}, but the section describes "
                            f"{len(section)}",
                            frame,
                            where,
                        )
                elif block_type == BLOCK_SPB:
                    if length < _SPB_MIN:
                        raise self._short(block_type, length, where)
                    frame += 1
                    if not section:
                        self.stats.skipped += 1
                        self._note(
                            NoteKind.BAD_INTERFACE,
                            "simple packet block before any interface description",
                            frame,
                            where,
                        )
                    else:
                        index, link, snaplen, *_ = section[0]
                        (original,) = u32(data, pos + 8)
                        captured = min(original, length - _SPB_MIN)
                        if snaplen:
                            captured = min(captured, snaplen)
                        start = pos + 12
                        yield (
                            frame,
                            None,
                            index,
                            link,
                            view[start : start + captured],
                            original,
                            where,
                        )
                elif block_type == PCAPNG_SHB:
                    if length < _SHB_MIN:
                        raise self._short(block_type, length, where)
                    _magic, major, minor, _section_length = struct_of(
                        PCAPNG_SHB_FIXED, order
                    ).unpack_from(data, pos + 8)
                    if major != 1:
                        raise CaptureError(
                            f"pcapng version {major}.{minor} is not supported (only 1.x)",
                            offset=where + 12,
                            path="pcapng > section header > version",
                        )
                    section = []
                elif block_type == BLOCK_IDB:
                    if length < _IDB_MIN:
                        raise self._short(block_type, length, where)
                    section.append(self._interface(view, pos, length, order, where))
                pos += length
                if pos > inp.release_at:
                    inp.release(pos)
        finally:
            self.stats.frames += frame
            inp.mark = inp.base + pos

    @staticmethod
    def _short(block_type: int, length: int, where: int) -> CaptureError:
        return CaptureError(
            f"block of type {block_type:#x} is too short ({length} bytes) for its fixed fields",
            offset=where,
            path="pcapng > block header > total length",
        )

    def _interface(
        self, view: memoryview, pos: int, length: int, order: ByteOrder, where: int
    ) -> tuple[int, int, int, int, int, int, int]:
        """Read an Interface Description Block and its time options; record the interface."""
        link, _reserved, snaplen = struct_of(PCAPNG_IDB_FIXED, order).unpack_from(view, pos + 8)
        option = struct_of(PCAPNG_OPTION_HEADER, order).unpack_from
        byteorder: Literal["little", "big"] = "little" if order == "<" else "big"
        tsresol, tsoffset, name = 6, 0, None
        p, stop = pos + 16, pos + length - 4
        while stop - p >= 4:
            code, size = option(view, p)
            if code == OPTION_END:
                break
            value = p + 4
            if value + size > stop:
                self._note(
                    NoteKind.BAD_OPTION,
                    f"interface option {code} of {size} bytes runs past its block",
                    None,
                    where + (p - pos),
                )
                break
            if code == OPTION_IF_TSRESOL and size >= 1:
                tsresol = view[value]
            elif code == OPTION_IF_TSOFFSET and size == 8:
                tsoffset = int.from_bytes(view[value : value + 8], byteorder, signed=True)
            elif code == OPTION_IF_NAME:
                name = bytes(view[value : value + size]).rstrip(b"\0").decode("utf-8", "replace")
            p = value + ((size + 3) & ~3)
        if tsresol & 0x80:
            mul, div, shift = 1_000_000_000, 1, tsresol & 0x7F
        elif tsresol <= 9:
            mul, div, shift = 10 ** (9 - tsresol), 1, 0
        else:
            mul, div, shift = 1, 10 ** (tsresol - 9), 0
        index = len(self.interfaces)
        self.interfaces.append(Interface(index, link, snaplen, name, tsresol, tsoffset))
        return (index, link, snaplen, mul, div, shift, tsoffset * 1_000_000_000)
