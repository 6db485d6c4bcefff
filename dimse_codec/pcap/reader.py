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
import heapq
import io
import mmap
import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Literal, Protocol, TypeVar

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
    PacketFields,
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
    "CaptureSources",
    "CaptureStats",
    "Interface",
    "PacketRecord",
    "Truncation",
    "UnsupportedInterface",
    "is_capture_file",
    "read_packets",
]


class BinaryReadable(Protocol):
    """Anything with a binary ``read`` (an open file, ``io.BytesIO``, ``gzip.open(...)``...)."""

    def read(self, size: int = ..., /) -> bytes: ...


CaptureSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryReadable
"""A capture: a path, a binary file object, or its bytes (gzip-compressed or not)."""

CaptureSources = CaptureSource | Sequence[CaptureSource]
"""One capture, or several (a list or tuple) read as one, their packets merged in time order."""

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
_GZIP_MAGIC = b"\x1f\x8b"
_COMPRESSED = {_GZIP_MAGIC: "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4"}
_PCAP_HEADER_SIZE = PCAP_FILE_HEADER.sizeof()
_SHB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_SHB_FIXED.sizeof() + 4
_IDB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_IDB_FIXED.sizeof() + 4
_EPB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_EPB_FIXED.sizeof() + 4
_PB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_PB_FIXED.sizeof() + 4
_SPB_MIN = PCAPNG_BLOCK_HEADER.sizeof() + PCAPNG_SPB_FIXED.sizeof() + 4

# (frame, time_ns, interface, link_type, data, original_length, file offset)
_Raw = tuple[int, "int | None", int, int, memoryview, int, int]
_T = TypeVar("_T")
_E = TypeVar("_E", bound=CaptureError)


def _sources(source: CaptureSources | None) -> list[CaptureSource]:
    """The captures a reader reads: none (it is fed), one, or each of a list or tuple."""
    if source is None:
        return []
    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("no capture to read: the list of sources is empty")
        return list(source)
    return [source]  # type: ignore[list-item]


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
    source: str | None = None
    """Which source was cut, when a reader reads several (``offset`` and ``frames_read`` are
    that source's own)."""

    @property
    def message(self) -> str:
        """A sentence for users."""
        return (
            f"{'' if self.source is None else self.source + ': '}"
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


def _read_some(stream: BinaryReadable) -> bytes:
    """What the stream has now, at most :data:`CHUNK_SIZE` bytes (``b""`` at its end).

    ``read1`` returns as soon as a pipe holds some bytes instead of waiting for a full chunk,
    so a live capture (``tcpdump -w - | ...``) is decoded as its packets arrive.
    """
    read1 = getattr(stream, "read1", None)
    return bytes(read1(CHUNK_SIZE) if callable(read1) else stream.read(CHUNK_SIZE))


class _Gunzip:
    """A gzip stream decompressed as it is read, at most a chunk at a time, so a compressed
    capture is never held whole in memory; concatenated members are read one after another
    (as ``gzip`` does) and zero padding after the last one is ignored."""

    def __init__(self, stream: BinaryReadable, head: bytes = b"") -> None:
        self._stream = stream
        self._waiting = head
        self._zlib = zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer

    def read1(self, size: int = CHUNK_SIZE, /) -> bytes:
        """Up to ``size`` decompressed bytes of what the stream has now; ``b""`` at its end."""
        while True:
            if self._zlib.unconsumed_tail:
                data = self._zlib.unconsumed_tail
            elif self._waiting:
                data, self._waiting = self._waiting, b""
            else:
                data = _read_some(self._stream)
                if not data:
                    return b""
            try:
                out = self._zlib.decompress(data, size)
            except zlib.error as exc:
                raise CaptureError(
                    f"gzip-compressed data is corrupt: {exc}", path="capture > gzip"
                ) from None
            if self._zlib.eof:  # a member ended: another may follow
                rest = self._zlib.unused_data
                self._zlib = zlib.decompressobj(wbits=31)
                self._waiting = rest if rest.strip(b"\0") else b""
            if out:
                return out

    read = read1

    def close(self) -> None:
        """Close the compressed stream under it."""
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()


class _Input:
    """A capture's bytes: one buffer (a memory map or given bytes), or bytes that arrive in
    pieces (fed by hand, or read from a stream by the reader); and what its header said."""

    __slots__ = (
        "_file",
        "_mmap",
        "_parent",
        "_released",
        "base",
        "data",
        "eof",
        "format",
        "interface",
        "label",
        "nanoseconds",
        "order",
        "pending",
        "pending_size",
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
        owned: IO[bytes] | _Gunzip | None = None,
        base: int = 0,
        fed: bool = False,
    ) -> None:
        self.data = data
        self.view = data if isinstance(data, memoryview) else memoryview(data)
        self.stream = stream
        self.eof = stream is None and not fed
        self.base = base
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.format: Literal["pcap", "pcapng"] | None = None
        """Set once the file header is read."""
        self.order: ByteOrder = ">"
        self.nanoseconds = False
        self.interface = 0
        """A pcap file's one interface, as numbered among every input's."""
        self.label = "capture"
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

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Keep bytes that arrived; :meth:`more` joins them to the buffer once they are needed."""
        if self.eof:
            raise RuntimeError("bytes fed after the end of the capture")
        if data:
            self.pending.append(bytes(data))
            self.pending_size += len(data)

    def pull(self) -> None:
        """Read what the stream has now (the reader's I/O edge); its end ends the input."""
        chunk = b"" if self.stream is None else _read_some(self.stream)
        if chunk:
            self.feed(chunk)
        else:
            self.eof = True

    def more(self, pos: int, need: int) -> int:
        """Make ``need`` bytes from ``pos`` one buffer when the bytes fed so far hold them (or no
        more will come); returns ``pos``'s new index (the unread tail moves to the front). Until
        then the pieces are only kept, so a record that arrives in many pieces is joined once,
        and what is allocated follows what arrived, never a declared length."""
        if not self.pending:
            return pos
        have = len(self.data) - pos
        if have + self.pending_size < need and not self.eof:
            return pos
        parts: list[bytes | memoryview] = [self.view[pos:]] if have > 0 else []
        parts += self.pending
        self.pending = []
        self.pending_size = 0
        self.base += pos
        self.data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.view = memoryview(self.data)
        return 0

    def close(self) -> None:
        self.view = memoryview(b"")
        self.data = b""
        self.pending = []
        if self._parent is not None:
            self._parent.release()
        if self._mmap is not None:
            # packets may still hold views: then the mapping goes when the last one does
            with contextlib.suppress(BufferError):
                self._mmap.close()
        if self._file is not None:
            self._file.close()


def _wait(inp: _Input, pos: int, need: int) -> Generator[None, None, int]:
    """Yield ``None`` (more bytes wanted) until ``need`` bytes from ``pos`` are present or the
    input has ended; return ``pos``'s new index."""
    pos = inp.more(pos, need)
    while len(inp.data) - pos < need and not inp.eof:
        yield None
        pos = inp.more(pos, need)
    return pos


def _label(source: object, index: int) -> str:
    """How messages name one of several inputs: its path or file name, else its position."""
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"input {index + 1}"


def _open_input(source: CaptureSource) -> _Input:
    """Map a path or a regular file; wrap bytes; read any other file object as a stream.

    Gzip-compressed data (known by its magic bytes, whatever the name) is read as a stream
    through :class:`_Gunzip`.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = byte_view(source, "source")
        if data[:2] == _GZIP_MAGIC:
            stream = _Gunzip(io.BytesIO(data))
            return _Input(b"", stream=stream)
        return _Input(data)
    if isinstance(source, (str, os.PathLike)):
        handle: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below or by _Input
        head = handle.read(2)
        try:
            handle.seek(0)
        except OSError:  # not seekable (a named pipe): a stream, from the bytes just read
            return _stream_input(handle, head, owned=handle)
        if head == _GZIP_MAGIC:
            gunzip = _Gunzip(handle)
            return _Input(b"", stream=gunzip, owned=gunzip)
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
    if mapped is not None:
        if mapped.data[:2] != _GZIP_MAGIC:
            return mapped
        mapped.close()  # a compressed file: read it as a stream (mapping did not move it)
    return _stream_input(source, _read_some(source), owned=None)


def _stream_input(stream: BinaryReadable, head: bytes, *, owned: IO[bytes] | None) -> _Input:
    """A stream whose first bytes ``head`` were read already: decompressed if they say gzip."""
    while 0 < len(head) < len(_GZIP_MAGIC):  # a stream that gives a byte at a time
        more = _read_some(stream)
        if not more:
            break
        head += more
    if head[:2] == _GZIP_MAGIC:
        gunzip = _Gunzip(stream, head)
        return _Input(b"", stream=gunzip, owned=gunzip if owned is not None else None)
    inp = _Input(b"", stream=stream, owned=owned)
    inp.feed(head)
    if not head:
        inp.eof = True
    return inp


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

    Several sources (a list or tuple: rotated files of one ``tcpdump -C``/``-G`` run, or
    captures of several interfaces) are read as one capture whose packets come in time order:
    a k-way merge that holds one pending record per source, never a whole file. Frames are
    numbered across them in that order (as ``mergecap`` would number the merged file), their
    interfaces one after another (each file keeps its own link types), and a TCP connection
    that spans files is one stream. Errors and notes of one source name it (its path, or its
    position); each source cut short is one :class:`Truncation` in ``truncations``.

    Without a source the reader is fed by hand (the sans-I/O form, for bytes that arrive from
    anywhere): :meth:`feed` the bytes as they come, iterate :meth:`packets` for the packets
    complete so far (as often as wanted), and call :meth:`end` when no more will come; the
    file header is read, and its errors raised, once enough bytes were fed.

    ``prefilter(link_type, frame_bytes)``, when given, is asked before each frame is parsed;
    a frame it refuses is skipped unparsed (its frame number still counts): the cheap first
    test of a reader that decodes one shard of the connections
    (:class:`~dimse_codec.capture.shard.ShardFilter`).
    """

    def __init__(
        self,
        source: CaptureSources | None = None,
        *,
        max_record_length: int = DEFAULT_MAX_RECORD_LENGTH,
        skip_unsupported_link_types: bool = False,
        max_notes: int = 10_000,
        prefilter: Callable[[int, memoryview], bool] | None = None,
    ) -> None:
        self.format: Literal["pcap", "pcapng"] = "pcap"
        """The first source's format."""
        self.interfaces: list[Interface] = []
        self.notes: list[CaptureNote] = []
        self.notes_dropped = 0
        self.note_counts: dict[NoteKind, int] = {}
        self.truncations: list[Truncation] = []
        """Where each source that was cut short ended (at most one for one source)."""
        self.stats = CaptureStats()
        self.unsupported: dict[int, UnsupportedInterface] = {}
        """Interface index -> the packets skipped for its link type (when told to skip)."""
        self._max_record_length = max_record_length
        self._skip_unsupported = skip_unsupported_link_types
        self._max_notes = max_notes
        self._prefilter = prefilter
        self._used = False
        self._active: Iterator[object] | None = None
        self._packets: Iterator[PacketFields | None] | None = None
        self._fed = source is None
        sources = _sources(source)
        self._several = len(sources) > 1
        self._inputs: list[_Input] = []
        try:
            if source is None:
                self._inputs.append(_Input(b"", fed=True))
            for index, item in enumerate(sources):
                inp = _open_input(item)
                inp.label = _label(item, index) if self._several else "capture"
                self._inputs.append(inp)
                with self._naming(inp):
                    while len(inp.data) + inp.pending_size < _PCAP_HEADER_SIZE and not inp.eof:
                        inp.pull()
                    self._read_file_header(inp)
        except BaseException:
            for inp in self._inputs:
                inp.close()
            raise
        self._current = self._inputs[0]
        """The source of the record being read (notes name it when there are several)."""

    @property
    def truncation(self) -> Truncation | None:
        """Where the (first) source cut short ended, or None when every one was whole."""
        return self.truncations[0] if self.truncations else None

    @property
    def _input(self) -> _Input:
        return self._inputs[0]

    # --- public ----------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Give a reader made without a source the next bytes of the capture (any amount)."""
        if not self._fed:
            raise RuntimeError("only a CaptureReader made without a source is fed")
        self._input.feed(data)

    def end(self) -> None:
        """Say no more bytes will be fed: what is left is read, or is a truncation."""
        if not self._fed:
            raise RuntimeError("only a CaptureReader made without a source is fed")
        self._input.eof = True

    def records(self) -> Iterator[PacketRecord]:
        """Every packet record (EPB, SPB, obsolete PB, or pcap record), numbered from 1."""
        for raw in self._drain(self._start()):
            yield PacketRecord(*raw)

    def packets(self) -> Iterator[Packet]:
        """Every frame that carries a TCP segment over IPv4 or IPv6, as a :class:`Packet`.

        A reader that is fed stops at the end of the bytes fed so far; iterate again after
        feeding more (the same stream of packets goes on)."""
        return (Packet(*fields) for fields in self.packet_fields())

    def packet_fields(self) -> Iterator[PacketFields]:
        """:meth:`packets` as tuples of the :class:`Packet` fields, in their order: the same
        packets without an object made per frame (what a whole-capture decoder iterates)."""
        if self._fed and self._packets is not None:
            return self._drain(self._packets)
        raws = self._start()
        if not self._fed and not self._skip_unsupported:
            for inp in self._inputs:
                if inp.format != "pcap":
                    continue
                link = self.interfaces[inp.interface].link_type
                if decoder_for(link) is None:
                    error = UnsupportedLinkType(link, link_type_name(link), offset=20)
                    raise self._named(error, inp)
        self._packets = self._decoded(raws)
        return self._drain(self._packets)

    def _drain(self, items: Iterator[_T | None]) -> Iterator[_T]:
        """The items up to the next ``None`` (more bytes wanted: only a fed reader sees it)."""
        for item in items:
            if item is None:
                return
            yield item

    def _decoded(self, raws: Iterator[_Raw | None]) -> Iterator[PacketFields | None]:
        tcp = not_ip = not_tcp = skipped = fragments = 0
        last_link = -1
        decode: Decoder | None = None
        reassembler = FragmentReassembler(self._fragment_dropped)
        prefilter = self._prefilter
        result: Decoded
        try:
            for raw in raws:
                if raw is None:
                    yield None
                    continue
                frame, time_ns, interface, link, data, _original, offset = raw
                if link != last_link:
                    last_link, decode = link, decoder_for(link)
                if decode is None:
                    if not self._skip_unsupported:
                        error = UnsupportedLinkType(link, link_type_name(link), offset=offset)
                        raise self._named(error, self._current)
                    skipped += 1
                    self._skip_packet(interface, link, frame, offset)
                    continue
                if prefilter is not None and not prefilter(link, data):
                    continue  # another reader's packet (a shard of the connections)
                result = decode(data)
                if isinstance(result, Fragment):
                    fragments += 1
                    whole = reassembler.add(result, frame, time_ns, offset)
                    if whole is None:
                        continue
                    result = decode_ip(memoryview(whole))
                if isinstance(result, tuple):
                    tcp += 1
                    yield (frame, time_ns, interface, *result)
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
        for active in (self._packets, self._active):
            close = getattr(active, "close", None)
            if close is not None:
                close()
        self._packets = self._active = None
        for inp in self._inputs:
            inp.close()

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
        if self._several:  # its offset is in that source
            message = f"{self._current.label}: {message}"
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

    def _start(self) -> Iterator[_Raw | None]:
        if self._used:
            raise RuntimeError("a CaptureReader is read once: open the capture again")
        self._used = True
        inp = self._input
        if self._several:
            raws: Iterator[_Raw | None] = self._merged()
        elif self._fed or inp.eof:  # fed by hand, or one buffer: nothing to read
            raws = self._raws(inp)
        else:
            raws = self._pulled(inp)
        self._active = raws
        return raws

    def _raws(self, inp: _Input) -> Iterator[_Raw | None]:
        """The records of one source, ``None`` where more bytes are wanted."""
        if inp.format is None:
            return self._headed(inp)
        return self._pcapng(inp) if inp.format == "pcapng" else self._pcap(inp)

    def _headed(self, inp: _Input) -> Iterator[_Raw | None]:
        """A fed source's records, once its bytes hold the file header."""
        yield from _wait(inp, 0, _PCAP_HEADER_SIZE)
        self._read_file_header(inp)
        yield from self._raws(inp)

    def _pulled(self, inp: _Input) -> Iterator[_Raw]:
        """A stream's records, reading what it has whenever more bytes are wanted."""
        with self._naming(inp):
            for raw in self._raws(inp):
                if raw is None:
                    inp.pull()
                else:
                    yield raw

    def _merged(self) -> Iterator[_Raw]:
        """The records of every source in time order, numbered across them: a k-way merge that
        holds one record per source. A record without a time keeps the last time of its source,
        and equal times come in the order of the sources."""
        streams = [self._pulled(inp) for inp in self._inputs]
        last = [0] * len(streams)
        heap: list[tuple[int, int, _Raw]] = []

        def pull(index: int) -> None:
            self._current = self._inputs[index]
            raw = next(streams[index], None)
            if raw is not None:
                time_ns = raw[1]
                if time_ns is None:
                    time_ns = last[index]
                else:
                    last[index] = time_ns
                heapq.heappush(heap, (time_ns, index, raw))

        for index in range(len(streams)):
            pull(index)
        frame = 0
        while heap:
            _time, index, raw = heapq.heappop(heap)
            frame += 1
            self._current = self._inputs[index]
            yield (frame, *raw[1:])
            pull(index)

    @contextlib.contextmanager
    def _naming(self, inp: _Input) -> Iterator[None]:
        """Errors of one of several sources name it."""
        try:
            yield
        except CaptureError as exc:
            raise self._named(exc, inp) from None

    def _named(self, exc: _E, inp: _Input) -> _E:
        """``exc`` with the source's label first in its path, when there are several sources."""
        if self._several and not exc.path.startswith(inp.label):
            exc.path = f"{inp.label} > {exc.path}" if exc.path else inp.label
            exc.args = (exc._render(),)
        return exc

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


def is_capture_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file at ``path`` starts like a pcap or pcapng capture, gzip-compressed or
    not (for picking the captures out of a folder); False when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            if head[:2] == _GZIP_MAGIC:
                handle.seek(0)
                head = _Gunzip(handle).read1(4)
    except (OSError, CaptureError):
        return False
    return looks_like_capture(head)


def looks_like_capture(head: bytes) -> bool:
    """Whether bytes start like a pcap or pcapng capture (their first four bytes: a magic
    number or a Section Header Block), or like gzip, which captures are often kept in."""
    return head[:4] == _SHB_BYTES or head[:4] in _PCAP_MAGICS or head[:2] == _GZIP_MAGIC
