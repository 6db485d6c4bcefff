"""Capture files to records and TCP packets: classic pcap and pcapng, from a path, a file or bytes.

A path (or a regular file object) is memory-mapped, so a record's bytes are a view into the
mapping and nothing is copied; other file objects (pipes, compressed streams) are read in chunks
of :data:`CHUNK_SIZE`. Every declared length is checked against :data:`max_record_length` and
against the bytes present before anything is sliced or read, so a corrupt length never allocates.
A file cut inside a record yields every complete record and then records a :class:`Truncation`;
corrupt structure raises a :class:`~dimse_codec.pcap.errors.CaptureError`.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import stat
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Literal, Protocol

from dimse_codec._wire import ByteOrder, byte_view, struct_of
from dimse_codec.pcap.errors import (
    CaptureError,
    CaptureLimitExceeded,
    CaptureTruncated,
    NotACaptureFile,
    UnsupportedLinkType,
)
from dimse_codec.pcap.fragments import FragmentReassembler
from dimse_codec.pcap.packets import (
    NOT_IP,
    NOT_TCP,
    Decoded,
    Decoder,
    Fragment,
    NoteKind,
    Packet,
    Problem,
    decode_ip,
    decoder_for,
    link_type_name,
)
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

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_MAX_RECORD_LENGTH",
    "BinaryReadable",
    "CaptureNote",
    "CaptureReader",
    "CaptureSource",
    "CaptureStats",
    "Interface",
    "PacketRecord",
    "Truncation",
    "UnsupportedInterface",
    "read_packets",
]


class BinaryReadable(Protocol):
    """Anything with a binary ``read`` (an open file, ``io.BytesIO``, ``gzip.open(...)``...)."""

    def read(self, size: int = ..., /) -> bytes: ...


CaptureSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryReadable
"""A capture: a path, a binary file object, or its bytes."""

CHUNK_SIZE = 1 << 20
"""Bytes read at a time from a file object that cannot be memory-mapped."""

RELEASE_STEP = 8 << 20
"""Bytes of a memory-mapped capture read past before their pages are handed back to the kernel.

A mapped file's pages count in the process's resident memory once touched. Each time reading
has moved on by this much, the pages behind it are released (``MADV_DONTNEED``): the mapping is
read-only and backed by the file, so a view still held into them (a buffered segment, a data
set fragment) reads the same bytes again from the page cache. Peak memory then follows the
largest message in flight, not the size of the file.
"""

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
_COMPRESSED = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4"}
_PCAP_HEADER_SIZE = PCAP_FILE_HEADER.sizeof()
_SHB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_SHB_FIXED.sizeof() + 4
_IDB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_IDB_FIXED.sizeof() + 4
_EPB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_EPB_FIXED.sizeof() + 4
_PB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_PB_FIXED.sizeof() + 4
_SPB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_SPB_FIXED.sizeof() + 4

# (frame, time_ns, interface, link_type, data, original_length, file offset)
_Raw = tuple[int, "int | None", int, int, memoryview, int, int]


@dataclass(frozen=True, slots=True)
class Interface:
    """A capture interface: its link type, snap length, name and time resolution.

    ``tsresol`` is the pcapng if_tsresol byte (6: microseconds, 9: nanoseconds, high bit set: a
    power of two) and ``tsoffset`` the if_tsoffset seconds added to every time.
    """

    index: int
    link_type: int
    snaplen: int
    name: str | None = None
    tsresol: int = 6
    tsoffset: int = 0


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """One packet record of the file, before any link-layer decoding (``data`` is a view)."""

    frame: int
    time_ns: int | None
    interface: int
    link_type: int
    data: memoryview
    original_length: int
    offset: int

    @property
    def time(self) -> float | None:
        """Seconds since the epoch, as a float (``time_ns`` holds the exact value)."""
        return None if self.time_ns is None else self.time_ns / 1e9


@dataclass(frozen=True, slots=True)
class Truncation:
    """Where the file ended inside a header or record; every record before it was read."""

    offset: int
    needed: int
    available: int
    frames_read: int
    what: str

    @property
    def message(self) -> str:
        """A sentence for users."""
        return (
            f"capture truncated inside a {self.what}: {self.needed} bytes needed, "
            f"{self.available} present, after {self.frames_read} complete frames"
        )

    def error(self) -> CaptureTruncated:
        """The same as an exception, for callers that want truncation to fail."""
        return CaptureTruncated(self.message, offset=self.offset, path="capture", code="TRUNCATED")


@dataclass(frozen=True, slots=True)
class CaptureNote:
    """Something worth telling about a frame or a block (a skipped fragment, a bad option...)."""

    kind: NoteKind
    message: str
    frame: int | None
    offset: int | None


@dataclass(slots=True)
class UnsupportedInterface:
    """The packets of one interface skipped because its link type is not decoded down to IP.

    Kept by a reader told to ``skip_unsupported_link_types``: one per interface, so a consumer
    can report each skipped interface once with its count instead of once per packet.
    """

    interface: int
    link_type: int
    packets: int
    first_frame: int
    last_frame: int
    offset: int
    """The file offset of the first packet skipped."""

    @property
    def link_name(self) -> str:
        """The link type's name (``IEEE802_11``...), or ``unknown``."""
        return link_type_name(self.link_type)


@dataclass(slots=True)
class CaptureStats:
    """Counters of what the reader met (complete once the reading has ended)."""

    frames: int = 0
    tcp_packets: int = 0
    not_ip: int = 0
    not_tcp: int = 0
    skipped: int = 0  # fragments, malformed or cut headers, unknown interfaces or link types
    fragments: int = 0  # frames that held an IP fragment (reassembled or reported)
    reassembled: int = 0  # IP datagrams rebuilt from fragments


class _Input:
    """A capture's bytes: one buffer (a memory map or given bytes) or a stream read in chunks."""

    __slots__ = (
        "_file",
        "_mmap",
        "_parent",
        "_released",
        "base",
        "data",
        "eof",
        "release_at",
        "stream",
        "view",
    )

    def __init__(
        self,
        data: bytes | memoryview,
        *,
        stream: BinaryReadable | None = None,
        mapping: mmap.mmap | None = None,
        parent: memoryview | None = None,
        owned: IO[bytes] | None = None,
        base: int = 0,
    ) -> None:
        self.data = data
        self.view = data if isinstance(data, memoryview) else memoryview(data)
        self.stream = stream
        self.eof = stream is None
        self.base = base
        self._mmap = mapping
        self._parent = parent
        self._file = owned
        self._released = 0
        can_release = mapping is not None and hasattr(mmap, "MADV_DONTNEED")
        self.release_at = base + RELEASE_STEP if can_release else sys.maxsize
        """The index into ``data`` past which :meth:`release` has pages to hand back."""

    def release(self, pos: int) -> None:
        """Hand the kernel back the mapped pages before ``pos`` (see :data:`RELEASE_STEP`)."""
        if self._mmap is None:
            return
        upto = (self.base + pos) // mmap.PAGESIZE * mmap.PAGESIZE
        if upto > self._released:
            with contextlib.suppress(OSError, ValueError):
                self._mmap.madvise(mmap.MADV_DONTNEED, self._released, upto - self._released)
            self._released = upto
        self.release_at = pos + RELEASE_STEP

    def more(self, pos: int, need: int) -> int:
        """Make ``need`` bytes from ``pos`` present when the input has them; returns ``pos``'s new
        index (the unread tail moves to the front of a new chunk). Reads at most CHUNK_SIZE at a
        time, so what is allocated follows what exists, never a declared length."""
        if self.eof or self.stream is None:
            return pos
        have = len(self.data) - pos
        parts: list[bytes | memoryview] = [self.view[pos:]] if have > 0 else []
        while have < need:
            chunk = self.stream.read(CHUNK_SIZE)
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.base += pos
        self.data = b"".join(parts)
        self.view = memoryview(self.data)
        return 0

    def close(self) -> None:
        self.view = memoryview(b"")
        self.data = b""
        if self._parent is not None:
            self._parent.release()
        if self._mmap is not None:
            # packets may still hold views: then the mapping goes when the last one does
            with contextlib.suppress(BufferError):
                self._mmap.close()
        if self._file is not None:
            self._file.close()


def _open_input(source: CaptureSource) -> _Input:
    """Map a path or a regular file; wrap bytes; read any other file object as a stream."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _Input(byte_view(source, "source"))
    if isinstance(source, (str, os.PathLike)):
        handle: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below or by _Input
        mapped = _try_map(handle)
        if mapped is None:
            return _Input(b"", stream=handle, owned=handle)
        handle.close()
        return mapped
    if not callable(getattr(source, "read", None)):
        raise TypeError(
            f"a capture is a path, a binary file object or bytes, not {type(source).__name__}"
        )
    mapped = _try_map(source)
    return mapped if mapped is not None else _Input(b"", stream=source)


def _try_map(handle: BinaryReadable) -> _Input | None:
    """Map what ``open(path, "rb")`` returns; anything else (a gzip.GzipFile has a fileno()
    too, of its compressed file) is read as a stream."""
    if not isinstance(handle, (io.BufferedReader, io.BufferedRandom, io.FileIO)):
        return None
    try:
        descriptor = handle.fileno()
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return None
        start = handle.tell()
        if status.st_size <= start:
            return _Input(b"")
        mapping = mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):
        return None
    if hasattr(mapping, "madvise") and hasattr(mmap, "MADV_SEQUENTIAL"):
        with contextlib.suppress(OSError):
            mapping.madvise(mmap.MADV_SEQUENTIAL)
    parent = memoryview(mapping)
    return _Input(parent[start:], mapping=mapping, parent=parent, base=start)


class CaptureReader:
    """An open pcap or pcapng capture: iterate it for TCP :class:`Packet` values, or call
    :meth:`records` for the raw records; what it skipped is in ``notes`` and ``stats``, and a cut
    file leaves ``truncation`` set instead of raising. IP fragments are reassembled (see
    :mod:`dimse_codec.pcap.fragments`); a datagram that cannot be is a note.

    With ``skip_unsupported_link_types``, packets of a link type that is not decoded down to IP
    are skipped instead of raising :class:`~dimse_codec.pcap.errors.UnsupportedLinkType`: each
    such interface gets one note (at its first packet) and an :class:`UnsupportedInterface` in
    ``unsupported`` that counts its packets; :meth:`link_type_error` says whether no interface
    at all could be decoded.

    ``notes`` keeps at most ``max_notes`` notes (``notes_dropped`` counts the rest), while
    ``note_counts`` counts every note by kind, so a consumer that shows only some of them can
    still say how many there were. :meth:`take_notes` hands out the notes recorded since its
    last call, for consumers that report them as they go.

    Opening reads the file header, so a file that is not a capture fails here with
    :class:`~dimse_codec.pcap.errors.NotACaptureFile`. A reader is read once.
    """

    def __init__(
        self,
        source: CaptureSource,
        *,
        max_record_length: int = DEFAULT_MAX_RECORD_LENGTH,
        skip_unsupported_link_types: bool = False,
        max_notes: int = 10_000,
    ) -> None:
        self.format: Literal["pcap", "pcapng"] = "pcap"
        self.interfaces: list[Interface] = []
        self.notes: list[CaptureNote] = []
        self.notes_dropped = 0
        self.note_counts: dict[NoteKind, int] = {}
        self.truncation: Truncation | None = None
        self.stats = CaptureStats()
        self.unsupported: dict[int, UnsupportedInterface] = {}
        """Interface index -> the packets skipped for its link type (when told to skip)."""
        self._max_record_length = max_record_length
        self._skip_unsupported = skip_unsupported_link_types
        self._max_notes = max_notes
        self._used = False
        self._active: Iterator[object] | None = None
        self._byte_order: ByteOrder = ">"
        self._nanoseconds = False
        self._input = _open_input(source)
        try:
            self._read_file_header()
        except BaseException:
            self._input.close()
            raise

    # --- public ----------------------------------------------------------------------------

    def records(self) -> Iterator[PacketRecord]:
        """Every packet record (EPB, SPB, obsolete PB, or pcap record), numbered from 1."""
        for raw in self._start():
            yield PacketRecord(*raw)

    def packets(self) -> Iterator[Packet]:
        """Every frame that carries a TCP segment over IPv4 or IPv6, as a :class:`Packet`."""
        raws = self._start()
        if self.format == "pcap" and not self._skip_unsupported:
            link = self.interfaces[0].link_type
            if decoder_for(link) is None:
                raise UnsupportedLinkType(link, link_type_name(link), offset=20)
        tcp = not_ip = not_tcp = skipped = fragments = 0
        last_link = -1
        decode: Decoder | None = None
        reassembler = FragmentReassembler(self._fragment_dropped)
        result: Decoded
        try:
            for frame, time_ns, interface, link, data, _original, offset in raws:
                if link != last_link:
                    last_link, decode = link, decoder_for(link)
                if decode is None:
                    if not self._skip_unsupported:
                        raise UnsupportedLinkType(link, link_type_name(link), offset=offset)
                    skipped += 1
                    self._skip_packet(interface, link, frame, offset)
                    continue
                result = decode(data)
                if isinstance(result, Fragment):
                    fragments += 1
                    whole = reassembler.add(result, frame, time_ns, offset)
                    if whole is None:
                        continue
                    result = decode_ip(memoryview(whole))
                if isinstance(result, tuple):
                    tcp += 1
                    src, sport, dst, dport, seq, ack, flags, payload, length = result
                    yield Packet(
                        frame, time_ns, interface, src, sport, dst, dport, seq, ack, flags,
                        payload, length,
                    )  # fmt: skip
                elif result == NOT_TCP:
                    not_tcp += 1
                elif result == NOT_IP:
                    not_ip += 1
                elif isinstance(result, Problem):
                    skipped += 1
                    self._note(result.kind, result.message, frame, offset)
            reassembler.finish()
        finally:
            stats = self.stats
            stats.tcp_packets += tcp
            stats.not_ip += not_ip
            stats.not_tcp += not_tcp
            stats.skipped += skipped + reassembler.late_fragments
            stats.fragments += fragments
            stats.reassembled += reassembler.reassembled

    def link_type_error(self) -> UnsupportedLinkType | None:
        """The error for a capture none of whose interfaces (of those read so far) has a link
        type decoded down to IP, or None when one has, or when none is described yet.

        A pcap file's one interface is known once it is open; a pcapng file's interfaces are
        known once it has been read, since an Interface Description Block may come late."""
        if not self.interfaces or any(
            decoder_for(i.link_type) is not None for i in self.interfaces
        ):
            return None
        first = self.interfaces[0]
        skipped = self.unsupported.get(first.index)
        if skipped is not None:
            offset: int | None = skipped.offset
        else:
            offset = 20 if self.format == "pcap" else None
        return UnsupportedLinkType(first.link_type, link_type_name(first.link_type), offset=offset)

    def take_notes(self) -> list[CaptureNote]:
        """The notes recorded since the last call, forgotten by the reader once taken (so a
        consumer reporting them as it goes keeps in the reader only the notes not yet taken)."""
        taken, self.notes = self.notes, []
        return taken

    def __iter__(self) -> Iterator[Packet]:
        return self.packets()

    def close(self) -> None:
        """Stop reading and release the file (views already handed out stay valid)."""
        if self._active is not None:
            close = getattr(self._active, "close", None)
            if close is not None:
                close()
            self._active = None
        self._input.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- file structure ---------------------------------------------------------------------

    def _note(self, kind: NoteKind, message: str, frame: int | None, offset: int | None) -> None:
        self.note_counts[kind] = self.note_counts.get(kind, 0) + 1
        if len(self.notes) < self._max_notes:
            self.notes.append(CaptureNote(kind, message, frame, offset))
        else:
            self.notes_dropped += 1

    def _skip_packet(self, interface: int, link: int, frame: int, offset: int) -> None:
        """Count a packet of an undecodable link type; its interface's first one is a note."""
        seen = self.unsupported.get(interface)
        if seen is not None:
            seen.packets += 1
            seen.last_frame = frame
            return
        self.unsupported[interface] = UnsupportedInterface(interface, link, 1, frame, frame, offset)
        self._note(
            NoteKind.UNSUPPORTED_LINK_TYPE,
            f"interface {interface} has link type {link} ({link_type_name(link)}), which is not "
            "decoded down to IP: its packets are skipped",
            frame,
            offset,
        )

    def _fragment_dropped(
        self, kind: NoteKind, message: str, frame: int, offset: int | None, frames: int
    ) -> None:
        self.stats.skipped += frames
        self._note(kind, message, frame, offset)

    def _truncated(self, offset: int, needed: int, available: int, frames: int, what: str) -> None:
        self.truncation = Truncation(offset, needed, available, frames, what)

    def _read_file_header(self) -> None:
        inp = self._input
        inp.more(0, _PCAP_HEADER_SIZE)
        head = bytes(inp.view[:_PCAP_HEADER_SIZE])
        if not head:
            raise NotACaptureFile("empty input: not a pcap or pcapng file", offset=0)
        magic = head[:4]
        if magic == _SHB_BYTES:
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
            self._byte_order, self._nanoseconds = _PCAP_MAGICS[magic]
            if len(head) < _PCAP_HEADER_SIZE:
                raise CaptureTruncated(
                    f"pcap file header cut at {len(head)} of {_PCAP_HEADER_SIZE} bytes",
                    offset=0,
                    path="pcap > file header",
                    code="TRUNCATED",
                )
            fields = struct_of(PCAP_FILE_HEADER, self._byte_order).unpack(head)
            snaplen, linktype = fields[5], fields[6]
            self.interfaces.append(
                Interface(0, linktype & 0xFFFF, snaplen, None, 9 if self._nanoseconds else 6)
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

    def _start(self) -> Iterator[_Raw]:
        if self._used:
            raise RuntimeError("a CaptureReader is read once: open the capture again")
        self._used = True
        raws = self._pcapng() if self.format == "pcapng" else self._pcap()
        self._active = raws
        return raws

    def _pcap(self) -> Iterator[_Raw]:
        inp = self._input
        unpack = struct_of(PCAP_RECORD_HEADER, self._byte_order).unpack_from
        size = PCAP_RECORD_HEADER.sizeof()
        scale = 1 if self._nanoseconds else 1000
        link = self.interfaces[0].link_type
        cap = self._max_record_length
        frame = 0
        pos = _PCAP_HEADER_SIZE
        data, view = inp.data, inp.view
        end = len(data)
        try:
            while True:
                if end - pos < size:
                    pos = inp.more(pos, size)
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
                    pos = inp.more(pos, size + captured)
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
                    0,
                    link,
                    view[pos + size : stop],
                    original,
                    inp.base + pos,
                )
                pos = stop
                if pos > inp.release_at:
                    inp.release(pos)
        finally:
            self.stats.frames = frame

    def _pcapng(self) -> Iterator[_Raw]:
        inp = self._input
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
                    pos = inp.more(pos, 8)
                    data, view = inp.data, inp.view
                    end = len(data)
                    if end - pos < 8:
                        if end > pos:
                            self._truncated(inp.base + pos, 8, end - pos, frame, "block header")
                        return
                block_type, length = header(data, pos)
                if block_type == PCAPNG_SHB:  # a palindrome: it reads the same in both orders
                    if end - pos < 12:
                        pos = inp.more(pos, 12)
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
                    pos = inp.more(pos, length)
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
            self.stats.frames = frame

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


def read_packets(
    source: CaptureSource,
    *,
    max_record_length: int = DEFAULT_MAX_RECORD_LENGTH,
    skip_unsupported_link_types: bool = False,
    raise_on_truncation: bool = True,
) -> Iterator[Packet]:
    """Every TCP packet of a capture; when the file is cut mid-record, the complete packets come
    first and then :class:`~dimse_codec.pcap.errors.CaptureTruncated` is raised (unless
    ``raise_on_truncation`` is false). Use :class:`CaptureReader` to also see notes and stats."""
    with CaptureReader(
        source,
        max_record_length=max_record_length,
        skip_unsupported_link_types=skip_unsupported_link_types,
    ) as reader:
        yield from reader.packets()
        if reader.truncation is not None and raise_on_truncation:
            raise reader.truncation.error()
