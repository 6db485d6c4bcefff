"""Capture files to records and TCP packets: classic pcap and pcapng, from a path, a file or bytes.

:class:`CaptureReader` opens its sources (:mod:`~dimse_codec.pcap.inputs`: mapped files, bytes,
streams, gzip), reads their records (:mod:`~dimse_codec.pcap.formats`: the pcap and pcapng
structure, lengths checked before anything is sliced, a cut file ending in a
:class:`Truncation`), merges several sources in time order, and decodes each frame down to TCP;
what it met besides packets is in the values of :mod:`~dimse_codec.pcap.results`.
"""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Literal, TypeVar

from dimse_codec.pcap.errors import (
    CaptureError,
    UnsupportedLinkType,
)
from dimse_codec.pcap.formats import (
    _PCAP_HEADER_SIZE,
    _PCAP_MAGICS,
    _SHB_BYTES,
    DEFAULT_MAX_RECORD_LENGTH,
    FileFormats,
    _Raw,
)
from dimse_codec.pcap.fragments import FragmentReassembler
from dimse_codec.pcap.inputs import (
    _GZIP_MAGIC,
    CHUNK_SIZE,
    MARK_STEP,
    RELEASE_STEP,
    BinaryReadable,
    CaptureSource,
    CaptureSources,
    _Gunzip,
    _Input,
    _label,
    _open_input,
    _sources,
    _wait,
)
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
from dimse_codec.pcap.results import (
    CaptureNote,
    CaptureStats,
    Interface,
    PacketRecord,
    Truncation,
    UnsupportedInterface,
)

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_MAX_RECORD_LENGTH",
    "MARK_STEP",
    "RELEASE_STEP",
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

_T = TypeVar("_T")
_E = TypeVar("_E", bound=CaptureError)


class CaptureReader(FileFormats):
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

    def position(self) -> tuple[int, int | None]:
        """How many bytes of the sources were read so far, and their total size (None when
        one's is unknown: a pipe), for a progress display: cheap enough to ask at any time.

        A mapped file or bytes counts to the last mark (at most :data:`MARK_STEP` behind); a
        stream counts what was read from it, a gzip-compressed one in compressed bytes, so
        that both numbers are of the file as it lies on disk."""
        done = 0
        total: int | None = 0
        for inp in self._inputs:
            done += inp.position
            total = None if total is None or inp.size is None else total + inp.size
        return done, total

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

    # --- sources, their merge, skipped packets ----------------------------------------------

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
