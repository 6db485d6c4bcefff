"""Coverage-guided fuzzing of the capture reader and the DICOM capture decoder (atheris).

An input is a control byte and then a whole pcap or pcapng file, decoded in memory end to end as
``decode_capture`` does: CaptureReader -> TcpReassembler -> CaptureDecoder, with small limits so
that no input can allocate much. Only the library's DimseCodecError family may escape, and:

- the file reads to the same records, notes, truncation and error from bytes in memory and from
  a stream that returns a few bytes per ``read`` (the reader's chunked path);
- frame numbers and record offsets strictly increase; packets are well formed;
- each direction's StreamData and Gap events tile its stream in order (docs/capture.md), a
  StreamEnded sits at the stream's end, a closed connection says nothing more;
- every DICOM record points at frames that exist and offsets that are not negative;
- packets skipped for their link type are counted per interface within ``stats.skipped``.

Control byte: bits 0-1 pick the port forced as DICOM (none, 11112, 104, the first packet's
destination port); bit 2 the strict policy; bit 3 skips unsupported link types; bits 4-5 the
source the pipeline reads (bytes, bytearray, io.BytesIO, trickling stream); bits 6-7 the trickle
step (1, 3, 16 or 61 bytes per read).
"""

from __future__ import annotations

import contextlib
import io
import sys

if __name__ == "__main__":  # instrument only under libFuzzer; replay.py and the tests import this
    import atheris

    _imports = atheris.instrument_imports(include=["dimse_codec"])  # not stdlib, pydicom...
else:
    _imports = contextlib.nullcontext()

with _imports:
    from dimse_codec import DimseCodecError, Policy
    from dimse_codec.capture import (
        AssociationEvent,
        CaptureDecoder,
        CapturedMessage,
        CaptureProblem,
        StreamGap,
    )
    from dimse_codec.pcap import (
        CaptureReader,
        ConnectionClosed,
        ConnectionOpened,
        Gap,
        GapReason,
        LateSegment,
        Packet,
        ResetIgnored,
        RetransmissionMismatch,
        StreamData,
        StreamEnded,
        TcpReassembler,
    )

import memory_bound  # from fuzz/: the script's folder, or put on sys.path by replay.py

MAX_RECORD_LENGTH = 1 << 16
MAX_NOTES = 64
LENIENT_POLICY = Policy(max_inflated_size=1 << 20)
STRICT_POLICY = Policy(strict=True, max_inflated_size=1 << 20)
PORTS = (None, 11112, 104)
STEPS = (1, 3, 16, 61)


class Trickle:
    """A binary stream that returns at most ``step`` bytes per read (never memory-mapped)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def read(self, size: int = -1, /) -> bytes:
        count = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._pos : self._pos + count]
        self._pos += len(chunk)
        return chunk


def _read_all(source: object, skip: bool) -> tuple[list[tuple[object, ...]], object]:
    """Every record and what the reader knew at the end (or the error that stopped it)."""
    records: list[tuple[object, ...]] = []
    try:
        reader = CaptureReader(
            source,  # type: ignore[arg-type]
            max_record_length=MAX_RECORD_LENGTH,
            skip_unsupported_link_types=skip,
            max_notes=MAX_NOTES,
        )
    except DimseCodecError as exc:
        return records, ("error", type(exc), exc.offset, str(exc))
    with reader:
        try:
            for record in reader.records():
                records.append(
                    (record.frame, record.time_ns, record.interface, record.link_type,
                     bytes(record.data), record.original_length, record.offset)
                )  # fmt: skip
        except DimseCodecError as exc:
            return records, ("error", type(exc), exc.offset, str(exc))
        ending = (
            reader.format, tuple(reader.interfaces), tuple(reader.notes), reader.notes_dropped,
            reader.truncation, reader.stats.frames, reader.stats.skipped,
        )  # fmt: skip
    return records, ending


def _check_records(body: bytes, skip: bool, step: int) -> int | None:
    """Read the records from memory and from a trickle; both must agree. Returns how many frames
    the file holds (``stats.frames``), or None when reading it failed."""
    records, ending = _read_all(body, skip)
    streamed, streamed_ending = _read_all(Trickle(body, step), skip)
    if records != streamed or ending != streamed_ending:
        raise RuntimeError(
            f"bytes and a {step}-byte stream read differently: {len(records)} vs "
            f"{len(streamed)} records, {ending!r} vs {streamed_ending!r}"
        )
    last_frame = last_offset = 0
    for frame, _time, _interface, _link, data, _original, offset in records:
        if frame <= last_frame or offset <= last_offset:
            raise RuntimeError(f"record {frame} at {offset} does not follow {last_frame}")
        if len(data) > MAX_RECORD_LENGTH:
            raise RuntimeError(f"record {frame} holds {len(data)} bytes, beyond the cap")
        last_frame, last_offset = frame, offset
    if not isinstance(ending, tuple) or ending[0] == "error":
        return None
    frames = ending[5]
    if frames < last_frame:
        raise RuntimeError(f"stats.frames is {frames}, but record {last_frame} was read")
    return int(frames)


def _check_packet(packet: Packet, last_frame: int) -> None:
    if packet.frame <= last_frame:
        raise RuntimeError(f"packet frame {packet.frame} after frame {last_frame}")
    if len(packet.src) not in (4, 16) or len(packet.dst) != len(packet.src):
        raise RuntimeError(f"addresses of {len(packet.src)} and {len(packet.dst)} bytes")
    if not (0 <= packet.src_port <= 0xFFFF and 0 <= packet.dst_port <= 0xFFFF):
        raise RuntimeError("a port outside 0..65535")
    if not (0 <= packet.seq <= 0xFFFFFFFF and 0 <= packet.ack <= 0xFFFFFFFF):
        raise RuntimeError("a sequence number outside 0..2**32-1")
    if len(packet.payload) > packet.payload_length:
        raise RuntimeError("more payload than the IP header declares")


class _Tiling:
    """Checks the reassembler's events: per direction, data and gaps tile the stream in order."""

    def __init__(self) -> None:
        self.next: dict[tuple[int, int], int] = {}
        self.ended: set[tuple[int, int]] = set()
        self.opened = 0
        self.closed: set[int] = set()

    def check(self, event: object, frame: int) -> None:
        connection = event.connection  # type: ignore[attr-defined]
        index = connection.index
        if isinstance(event, ConnectionOpened):
            if index != self.opened:
                raise RuntimeError(f"connection {index} opened, {self.opened} expected")
            self.opened += 1
            return
        if isinstance(event, LateSegment):  # bytes after a reset: only once closed
            if index not in self.closed or event.length <= 0 or event.frame > frame:
                raise RuntimeError(f"late segment {event} for an open connection")
            return
        if index >= self.opened or index in self.closed:
            raise RuntimeError(f"{type(event).__name__} for connection {index}, not open")
        if isinstance(event, ConnectionClosed):
            self.closed.add(index)
            return
        key = (index, int(event.direction))  # type: ignore[attr-defined]
        position = self.next.get(key, 0)
        if isinstance(event, RetransmissionMismatch):
            if event.offset < 0 or event.length <= 0 or event.original_frame > frame:
                raise RuntimeError(f"retransmission mismatch {event}")
            return
        if isinstance(event, ResetIgnored):  # an out-of-window RST changes nothing
            return
        if key in self.ended:
            raise RuntimeError(f"{type(event).__name__} after its direction's StreamEnded")
        if isinstance(event, StreamEnded):
            if event.offset != position:
                raise RuntimeError(f"stream ended at {event.offset}, its bytes reach {position}")
            self.ended.add(key)
            return
        offset = event.offset  # type: ignore[attr-defined]
        if offset != position:
            raise RuntimeError(f"{type(event).__name__} at {offset}, the stream is at {position}")
        if isinstance(event, StreamData):
            if not event.data or not 0 < event.first_frame == event.last_frame <= frame:
                raise RuntimeError(f"stream data of {len(event.data)} bytes at frame {frame}")
            self.next[key] = position + len(event.data)
        elif isinstance(event, Gap):
            if event.length is None:
                if event.reason is not GapReason.STREAM_START or position != 0:
                    raise RuntimeError(f"a gap of unknown length: {event}")
            elif event.length <= 0 or event.reason is GapReason.STREAM_START:
                raise RuntimeError(f"gap {event}")
            else:
                self.next[key] = position + event.length


def _check_dicom(record: object, frame: int, associations: set[int]) -> None:
    """Cheap invariants of a CaptureDecoder record; touches its derived properties too."""
    if isinstance(record, StreamGap):
        if record.offset < 0 or (record.length is not None and record.length <= 0):
            raise RuntimeError(f"stream gap at {record.offset} of {record.length} bytes")
        if (record.length is None) != (record.reason is GapReason.STREAM_START):
            raise RuntimeError(f"stream gap {record.reason} of length {record.length}")
        frames: tuple[int | None, ...] = (record.frame,)
    elif isinstance(record, CapturedMessage):
        associations.add(record.association)
        frames = (record.first_frame, record.frame, record.request_frame)
        _ = (record.name, record.status, record.dataset_sha256)
    elif isinstance(record, AssociationEvent):
        snapshot = record.association
        associations.add(snapshot.index)
        frames = (record.frame, snapshot.first_frame, snapshot.last_frame)
        _ = (snapshot.calling_ae_title, snapshot.called_ae_title, snapshot.user_identity)
        _ = (dict(snapshot.accepted_contexts), dict(snapshot.rejected_contexts))
    elif isinstance(record, CaptureProblem):
        frames = (record.frame,)
        if record.association is not None:
            associations.add(record.association)
    else:
        raise RuntimeError(f"CaptureDecoder returned a {type(record).__name__}")
    for value in frames:
        if value is not None and not 0 <= value <= frame:
            raise RuntimeError(f"{type(record).__name__} names frame {value}, beyond {frame}")
    if any(index < 0 for index in associations):
        raise RuntimeError("a negative association index")


def _check_unsupported(reader: CaptureReader, skip: bool) -> None:
    """Skipped interfaces: counted within ``stats.skipped``, their frames among the file's."""
    skipped = reader.unsupported.values()
    if skipped and not skip:
        raise RuntimeError("packets skipped for their link type though told not to")
    if sum(u.packets for u in skipped) > reader.stats.skipped:
        raise RuntimeError("more packets of unsupported link types than packets skipped")
    for u in skipped:
        if not 0 < u.first_frame <= u.last_frame <= reader.stats.frames or u.packets < 1:
            raise RuntimeError(f"skipped interface {u} outside the file's frames")


def _source(body: bytes, kind: int, step: int) -> object:
    if kind == 0:
        return body
    if kind == 1:
        return bytearray(body)
    if kind == 2:
        return io.BytesIO(body)
    return Trickle(body, step)


def check(data: bytes) -> None:
    """Read and decode one capture, checking the invariants above."""
    if not data:
        return
    control, body = data[0], data[1:]
    port_choice = control & 0x03
    policy = STRICT_POLICY if control & 0x04 else LENIENT_POLICY
    skip = bool(control & 0x08)
    step = STEPS[control >> 6]
    frames_in_file = _check_records(body, skip, step)

    reassembler = TcpReassembler(
        max_buffered_bytes=1 << 12, history_bytes=1 << 12, max_closed_connections=8
    )
    tiling = _Tiling()
    associations: set[int] = set()
    decoder: CaptureDecoder | None = None
    if port_choice != 3:
        decoder = CaptureDecoder(port=PORTS[port_choice], policy=policy)
    frame = 0
    try:
        reader = CaptureReader(
            _source(body, (control >> 4) & 0x03, step),  # type: ignore[arg-type]
            max_record_length=MAX_RECORD_LENGTH,
            skip_unsupported_link_types=skip,
            max_notes=MAX_NOTES,
        )
    except DimseCodecError:
        return
    try:
        with reader:
            for packet in reader:
                _check_packet(packet, frame)
                frame = packet.frame
                if decoder is None:
                    decoder = CaptureDecoder(port=packet.dst_port, policy=policy)
                for event in reassembler.feed(packet):
                    tiling.check(event, frame)
                    for record in decoder.feed(event):
                        _check_dicom(record, frame, associations)
            if len(reader.notes) > MAX_NOTES:
                raise RuntimeError(f"{len(reader.notes)} notes kept, beyond the cap")
            _check_unsupported(reader, skip)
            if reader.stats.frames != frames_in_file or frame > reader.stats.frames:
                raise RuntimeError(
                    f"packets read {reader.stats.frames} frames, records {frames_in_file}"
                )
        if decoder is None:
            decoder = CaptureDecoder(policy=policy)
        for event in reassembler.finish():
            tiling.check(event, frame)
            for record in decoder.feed(event):
                _check_dicom(record, frame, associations)
        for record in decoder.finish():
            _check_dicom(record, frame, associations)
    except DimseCodecError:
        return
    if reassembler.open_connections:
        raise RuntimeError("connections still open after finish()")
    if tiling.closed != set(range(tiling.opened)):
        raise RuntimeError("a connection was opened and never closed")


test_one_input = memory_bound.guard(check)
"""The harness: :func:`check`, and the memory bound (fuzz/memory_bound.py)."""


def main() -> None:
    """Run libFuzzer with the arguments given on the command line."""
    memory_bound.sample_every(memory_bound.SAMPLE_EVERY, memory_bound.SAMPLE_SMALL_EVERY)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
