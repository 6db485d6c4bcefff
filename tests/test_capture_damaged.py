"""Real captures damaged on purpose: the decode reports each fault where it is and goes on.

One capture is recorded per module: DCMTK's storescu sends four ~200 kB images to storescp over
127.0.0.1 (storescp announces a 131072-byte maximum PDU, so each data set takes two P-DATA-TF
PDUs and several TCP segments, some of them holding no PDU header at all). Its undamaged decode
is checked against storescp's bit-preserving files and against tshark, then used as the answer
key: the file is rewritten without one TCP segment, cut inside a record, or with bytes flipped
in a command set or a PDU header, and the damaged decode must report the fault at the right
stream offset and frame, deliver no damaged message as whole, and decode every other message
exactly as before (same frames, IDs, statuses, instances and data set SHA-256), responses to a
lost request included. Strict decoding of each damaged file raises one of the library's own
errors. tshark is not run on the damaged files.

The pcap is read here with a small :mod:`struct` walker (classic pcap from tcpdump on ``lo``:
Ethernet, IPv4, TCP), which also gives each requestor segment's stream offset (sequence number
minus the initial one) and the PDU layout of the requestor's byte stream.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_tool
from peers import dcmtk_server, free_port, run_tool, secondary_capture, split_part10, write_part10
from recording import agree_with_tshark, assert_frame_order, tcpdump

from dimse_codec import STRICT, DimseCodecError
from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureProblem,
    CaptureRecord,
    DicomDirection,
    StreamGap,
    decode_capture,
)
from dimse_codec.errors import PolicyViolation, TruncatedError
from dimse_codec.pcap import GapReason

pytestmark = pytest.mark.peer

R2A = DicomDirection.REQUESTOR_TO_ACCEPTOR
A2R = DicomDirection.ACCEPTOR_TO_REQUESTOR
IMAGES = 4
IMAGE_BYTES = 200_000
MAX_PDU = 131072  # storescp --max-pdu: two P-DATA-TF PDUs per data set


# -- a classic pcap walker -----------------------------------------------------------------------


@dataclass(frozen=True)
class PcapRecord:
    """One record of a classic pcap file: where it lies in the file, and its TCP fields."""

    frame: int
    start: int  # file offset of the 16-byte record header
    end: int  # file offset just after the record
    src_port: int | None = None  # None: not a TCP/IPv4 packet (the UDP end marker)
    dst_port: int | None = None
    seq: int = 0
    flags: int = 0
    payload: int = 0  # file offset of the TCP payload
    length: int = 0  # TCP payload bytes


def walk_pcap(raw: bytes) -> list[PcapRecord]:
    """Every record of a classic pcap file on Ethernet (what tcpdump writes on ``lo``)."""
    magic = raw[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<"}.get(magic)
    order = order or {b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    assert order is not None, f"not a classic pcap file: {magic!r}"
    (link_type,) = struct.unpack_from(order + "I", raw, 20)
    assert link_type == 1, f"link type {link_type}, expected Ethernet"
    header = struct.Struct(order + "IIII")
    records = []
    pos = 24
    while pos < len(raw):
        _, _, captured, original = header.unpack_from(raw, pos)
        assert captured == original, "tcpdump's snap length cut a packet"
        data = pos + header.size
        end = data + captured
        frame = len(records) + 1
        ip = data + 14
        (ether_type,) = struct.unpack_from("!H", raw, data + 12)
        if ether_type == 0x0800 and raw[ip + 9] == 6:
            (total,) = struct.unpack_from("!H", raw, ip + 2)
            tcp = ip + (raw[ip] & 0x0F) * 4
            src, dst, seq = struct.unpack_from("!HHI", raw, tcp)
            payload = tcp + (raw[tcp + 12] >> 4) * 4
            length = ip + total - payload
            records.append(
                PcapRecord(frame, pos, end, src, dst, seq, raw[tcp + 13], payload, length)
            )
        else:
            records.append(PcapRecord(frame, pos, end))
        pos = end
    return records


def without(raw: bytes, record: PcapRecord) -> bytes:
    """The capture without one record (every later frame number drops by one)."""
    return raw[: record.start] + raw[record.end :]


@dataclass(frozen=True)
class Segment:
    """A requestor->acceptor TCP segment with data: its record and its stream offset."""

    record: PcapRecord
    offset: int

    @property
    def end(self) -> int:
        return self.offset + self.record.length


@dataclass(frozen=True)
class Span:
    """One DIMSE message in the requestor's stream: its PDUs' extent and its command PDV."""

    start: int  # first byte of its first PDU
    end: int  # just after its last PDU
    command: int  # first byte of the command set
    command_end: int  # just after the PDU holding the (one) command PDV
    data_pdus: tuple[int, ...]  # where each of its data set PDUs starts


def requestor_segments(records: Sequence[PcapRecord], port: int) -> list[Segment]:
    """The requestor's data segments in order, with stream offsets (SYN's ISN + 1 is 0)."""
    (syn,) = [r for r in records if r.dst_port == port and r.flags & 0x12 == 0x02]
    segments = [
        Segment(r, (r.seq - syn.seq - 1) % (1 << 32))
        for r in records
        if r.dst_port == port and r.length
    ]
    for before, after in itertools.pairwise(segments):
        assert after.offset == before.end, "a retransmission or a hole in the loopback capture"
    return segments


def pdu_layout(stream: bytes) -> tuple[list[int], list[Span]]:
    """Every PDU start in the stream, and each DIMSE message's span (one PDV per PDU here)."""
    starts: list[int] = []
    spans: list[Span] = []
    pos = 0
    current: dict[str, object] | None = None
    while pos < len(stream):
        pdu_type = stream[pos]
        (length,) = struct.unpack_from(">I", stream, pos + 2)
        starts.append(pos)
        end = pos + 6 + length
        if pdu_type == 4:
            (item,) = struct.unpack_from(">I", stream, pos + 6)
            assert item + 4 == length, "storescu put one PDV per P-DATA-TF"
            mch = stream[pos + 11]
            if mch & 1:
                assert mch == 3 and current is None, "one command PDV per message"
                current = {"start": pos, "command": pos + 12, "command_end": end, "data": []}
            else:
                assert current is not None
                current["data"].append(pos)  # type: ignore[attr-defined]
                if mch & 2:
                    spans.append(
                        Span(
                            current["start"],  # type: ignore[arg-type]
                            end,
                            current["command"],  # type: ignore[arg-type]
                            current["command_end"],  # type: ignore[arg-type]
                            tuple(current["data"]),  # type: ignore[arg-type]
                        )
                    )
                    current = None
        pos = end
    assert pos == len(stream)
    return starts, spans


# -- the recording and its undamaged decode ------------------------------------------------------


@dataclass
class Recorded:
    """The undamaged capture, its decode, and the requestor stream's layout."""

    path: Path
    raw: bytes
    port: int
    records: list[CaptureRecord]
    pcap: list[PcapRecord]
    segments: list[Segment]
    pdu_starts: list[int]
    stores: list[Span]

    @property
    def messages(self) -> list[CapturedMessage]:
        return [r for r in self.records if isinstance(r, CapturedMessage)]

    def store_request(self, index: int) -> CapturedMessage:
        return [m for m in self.messages if m.name == "C-STORE-RQ"][index]

    def stream(self) -> bytes:
        """The requestor's byte stream, from its segments."""
        raw = self.raw
        return b"".join(
            raw[s.record.payload : s.record.payload + s.record.length] for s in self.segments
        )

    def segment_at(self, offset: int) -> Segment:
        """The requestor segment carrying stream byte ``offset``."""
        (found,) = [s for s in self.segments if s.offset <= offset < s.end]
        return found

    def file_offset(self, offset: int) -> int:
        """Where stream byte ``offset`` of the requestor lies in the pcap file."""
        segment = self.segment_at(offset)
        return segment.record.payload + offset - segment.offset

    def flipped(self, offset: int) -> bytes:
        """The capture with requestor stream byte ``offset`` inverted (XOR FFH)."""
        damaged = bytearray(self.raw)
        damaged[self.file_offset(offset)] ^= 0xFF
        return bytes(damaged)

    def command_elements(self, index: int) -> dict[int, int]:
        """Tag -> offset in the command set of the ``index``-th C-STORE-RQ (Implicit VR LE)."""
        command = self.store_request(index).command_set
        found = {}
        pos = 0
        while pos < len(command):
            group, element, length = struct.unpack_from("<HHI", command, pos)
            found[group << 16 | element] = pos
            pos += 8 + length
        return found


def record_stores(work: Path, images: int, image_bytes: int) -> Recorded:
    """storescu -> storescp, ``images`` images, recorded by tcpdump and decoded intact."""
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    sources = [
        write_part10(secondary_capture(image_bytes, seed=40 + i), work / f"in{i}.dcm")
        for i in range(images)
    ]
    out = work / "out"
    out.mkdir()
    port = free_port()
    argv = [storescp, "+B", "--max-pdu", str(MAX_PDU), "-od", str(out), str(port)]
    path = work / "store.pcap"
    with dcmtk_server(argv, port, work / "storescp.log", out), tcpdump(path, [port]):
        client = run_tool([storescu, "127.0.0.1", str(port), *map(str, sources)])
        assert client.returncode == 0, client.stdout
    raw = path.read_bytes()
    records = list(decode_capture(raw))
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    messages = agree_with_tshark(path, port, records)
    assert [m.name for m in messages] == ["C-STORE-RQ", "C-STORE-RSP"] * images
    assert all(not m.diagnostics for m in messages)
    stored = {}
    for file in out.iterdir():
        meta, body = split_part10(file)
        stored[str(meta.MediaStorageSOPInstanceUID)] = hashlib.sha256(body).hexdigest()
    requests = [m for m in messages if m.name == "C-STORE-RQ"]
    assert {str(m.primitive.AffectedSOPInstanceUID): m.dataset_sha256 for m in requests} == stored

    pcap = walk_pcap(raw)
    segments = requestor_segments(pcap, port)
    stream = b"".join(raw[s.record.payload : s.record.payload + s.record.length] for s in segments)
    starts, stores = pdu_layout(stream)
    assert len(stores) == images
    for span, request in zip(stores, requests, strict=True):
        assert stream[span.command : span.command_end] == request.command_set
    return Recorded(path, raw, port, records, pcap, segments, starts, stores)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """storescu -> storescp, four ~200 kB images (two P-DATA-TF PDUs each)."""
    found = record_stores(tmp_path_factory.mktemp("damaged"), IMAGES, IMAGE_BYTES)
    assert all(len(span.data_pdus) == 2 for span in found.stores)
    return found


# -- comparing a damaged decode with the intact one ----------------------------------------------


def signature(
    message: CapturedMessage,
    shift: Callable[[int], int] = lambda f: f,
    decided: Callable[[int], int] | None = None,
) -> tuple:
    """What must not change for an undamaged message (frames renumbered by ``shift``, the
    frames records are decided at by ``decided``, by default the same)."""
    decided = decided or shift
    primitive = message.primitive
    message_id = getattr(primitive, "MessageID", None)
    if message_id is None:
        message_id = getattr(primitive, "MessageIDBeingRespondedTo", None)
    request_frame = None if message.request_frame is None else decided(message.request_frame)
    return (
        message.association, message.direction, message.name, message_id, message.status,
        str(getattr(primitive, "AffectedSOPInstanceUID", None)), message.context_id,
        message.transfer_syntax, message.dataset_sha256, shift(message.first_frame),
        decided(message.frame), request_frame,
    )  # fmt: skip


def orphaned(sig: tuple) -> tuple:
    """The signature of a response whose request was lost: no request frame."""
    return (*sig[:-1], None)


def expected_messages(
    recorded: Recorded,
    lost: set[int],
    shift: Callable[[int], int] = lambda f: f,
    decided: Callable[[int], int] | None = None,
) -> list[tuple]:
    """The intact decode without the C-STORE-RQs numbered in ``lost`` (their responses orphaned)."""
    expected = []
    requests = 0
    lost_ids = {recorded.store_request(i).primitive.MessageID for i in lost}
    for message in recorded.messages:
        if message.name == "C-STORE-RQ":
            requests += 1
            if requests - 1 in lost:
                continue
        sig = signature(message, shift, decided)
        if (
            message.name == "C-STORE-RSP"
            and message.primitive.MessageIDBeingRespondedTo in lost_ids
        ):
            sig = orphaned(sig)
        expected.append(sig)
    return expected


def problems(
    records: Sequence[CaptureRecord], direction: DicomDirection = R2A
) -> list[CaptureProblem]:
    return [r for r in records if isinstance(r, CaptureProblem) and r.direction is direction]


def codes(found: Sequence[CaptureProblem]) -> list[str]:
    return [p.diagnostic.code.value for p in found]


def strict_error(capture: bytes) -> DimseCodecError:
    """What strict decoding of ``capture`` raises (it must raise one of our errors)."""
    with pytest.raises(DimseCodecError) as raised:
        list(decode_capture(capture, policy=STRICT))
    return raised.value


# -- one TCP segment lost ------------------------------------------------------------------------


def _inside_data(recorded: Recorded) -> Segment:
    """A segment in the middle of the 2nd data set that holds no byte of any PDU header."""
    span = recorded.stores[1]
    inside = [
        s
        for s in recorded.segments
        if span.command_end < s.offset
        and s.end < span.end
        and not any(s.offset < start + 12 and start < s.end for start in recorded.pdu_starts)
    ]
    assert inside, "no segment lies wholly inside a PDU body (loopback MTU changed?)"
    return inside[len(inside) // 2]


VICTIMS: dict[str, Callable[[Recorded], Segment]] = {
    "inside-data-set": _inside_data,
    # the segment with the 2nd C-STORE-RQ's first byte: its command PDU's header
    "command-pdu-header": lambda recorded: recorded.segment_at(recorded.stores[1].start),
    # the segment with the header of the 2nd data set's last P-DATA-TF
    "data-pdu-header": lambda recorded: recorded.segment_at(recorded.stores[1].data_pdus[-1]),
}


def skipped(recorded: Recorded, gaps: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of the requestor stream the decoder cannot use: each gap, and after it
    the bytes up to the next PDU header, where decoding resumes."""
    return [(start, min(p for p in recorded.pdu_starts if p >= end)) for start, end in gaps]


def arrived(recorded: Recorded, span: Span, gaps: Sequence[tuple[int, int]]) -> tuple[int, bytes]:
    """What of a data set in flight across gaps the decoder can see: the bytes the PDV headers
    that arrived announce, and its fragment bytes outside what the gaps made unusable."""
    stream = recorded.stream()
    lost = skipped(recorded, gaps)
    announced, received = 0, bytearray()
    for start in span.data_pdus:
        end = recorded.pdu_starts[recorded.pdu_starts.index(start) + 1]
        body = start + 12  # one PDV per PDU here: 6 bytes of PDU header, 6 of PDV header
        if any(a < body and start < b for a, b in lost):  # its PDV header was lost
            continue
        announced += end - body
        pos = body
        for a, b in sorted(lost):
            if body <= a < end:
                received += stream[pos:a]
                pos = max(pos, min(b, end))
        received += stream[pos:end]
    return announced, bytes(received)


@pytest.mark.parametrize("victim", sorted(VICTIMS))
def test_a_lost_segment(recorded: Recorded, victim: str) -> None:
    """A StreamGap at the segment's offset and length; a message in flight goes on after the
    gap and is reported once, incomplete, with the gap inside it; decoding resumes at the first
    PDU header after the gap; every record is labelled with the frame it was decided at."""
    segment = VICTIMS[victim](recorded)
    gap_start, gap_end = segment.offset, segment.end
    dropped = segment.record.frame
    damaged = without(recorded.raw, segment.record)
    records = list(decode_capture(damaged))

    # the gap: exactly the segment dropped
    (gap,) = [r for r in records if isinstance(r, StreamGap)]
    assert (gap.association, gap.direction, gap.reason) == (0, R2A, GapReason.NOT_CAPTURED)
    assert (gap.offset, gap.length) == (gap_start, segment.record.length)
    assert gap.frame >= dropped  # revealed by a later frame (the acceptor's ACK past the hole)

    def shift(frame: int) -> int:
        return frame - 1 if frame > dropped else frame

    def decided(frame: int) -> int:
        """The frame a record of the intact decode is decided at in the damaged one: bytes
        after the hole wait in the reassembler until the gap is known."""
        return shift(frame) if frame < dropped else max(gap.frame, shift(frame))

    # what the layout says must happen
    in_flight = [i for i, s in enumerate(recorded.stores) if s.command_end <= gap_start < s.end]
    resync = min(start for start in recorded.pdu_starts if start >= gap_end)
    stray = [i for i, s in enumerate(recorded.stores) if s.start < resync < s.end]
    lost = {i for i, s in enumerate(recorded.stores) if s.start < resync and gap_start < s.end}
    assert 1 in lost and 0 not in lost and lost <= {1, 2}
    if victim == "inside-data-set":
        assert in_flight == [1] and stray == [1]  # resumes inside the same data set
    elif victim == "data-pdu-header":
        assert in_flight == [1] and not stray  # resumes at the 3rd C-STORE-RQ
    else:
        assert not in_flight and stray == [1]  # resumes inside the 2nd data set
    continued = [i for i in stray if i in in_flight]  # the same message after the gap
    stray = [i for i in stray if i not in in_flight]

    expected_codes: list[str] = []
    if gap_start not in recorded.pdu_starts:
        expected_codes.append("STREAM_GAP")  # the gap cut a PDU
    if stray:
        expected_codes.append("DATA_BEFORE_COMMAND")

    # the problems: a gap, never "the stream ended"; no stray data for a message in flight
    found = problems(records)
    assert codes(found) == expected_codes
    assert not problems(records, A2R)
    assert all(p.association == 0 for p in found)
    for problem in found:
        if problem.diagnostic.code.value == "STREAM_GAP":
            cut = max(start for start in recorded.pdu_starts if start < gap_start)
            assert problem.diagnostic.message == (
                f"a gap of {gap.length} bytes at offset {gap_start} inside a PDU that started "
                f"at {cut}"
            )
            assert problem.frame == gap.frame
        if problem.diagnostic.code.value == "DATA_BEFORE_COMMAND":
            (index,) = stray
            assert problem.frame == decided(recorded.store_request(index).frame)
            assert problem.diagnostic.offset is not None
            assert problem.diagnostic.offset >= resync  # one offset convention: the stream's
    order = [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    assert order.index(gap) == 0  # the gap first, then what it cut

    # the message in flight: once, incomplete, with the gap inside it
    got = [m for m in records if isinstance(m, CapturedMessage)]
    cut_messages = [m for m in got if m.incomplete is not None]
    assert len(cut_messages) == len(in_flight)
    for message in cut_messages:
        (index,) = in_flight
        span, intact = recorded.stores[index], recorded.store_request(index)
        assert message.command_set == intact.command_set
        assert message.primitive.MessageID == intact.primitive.MessageID
        assert message.primitive.AffectedSOPInstanceUID == intact.primitive.AffectedSOPInstanceUID
        assert message.gaps == ((gap_start, gap.length),)
        assert message.bytes_missing == gap.length
        announced, received = arrived(recorded, span, [(gap_start, gap_end)])
        assert message.dataset is not None and bytes(message.dataset) == received
        assert message.dataset_announced == announced
        assert message.incomplete is not None
        assert message.incomplete.code.value == "MESSAGE_INCOMPLETE"
        assert message.diagnostics == (message.incomplete,)
        assert message.dataset_sha256 is None  # its data set is partial
        assert message.first_frame == shift(intact.first_frame)
        if continued:  # its last fragment arrived after the gap: decided there
            assert message.frame == decided(intact.frame)
            assert "its last fragment arrived" in message.incomplete.message
        else:  # its response, or the next command on its context, ended it (the earlier)
            (response,) = [m for m in recorded.messages if m.request_frame == intact.frame]
            command = recorded.segment_at(resync + 11).record.frame  # its PDV header
            assert message.frame == min(decided(response.frame), decided(command))
            why = "its peer answered it" if response.frame < command else "a new command"
            assert message.incomplete.message.startswith(why)

    # no damaged message delivered as whole; every other one exactly as before
    expected = expected_messages(recorded, lost - set(in_flight), shift, decided)
    for index in in_flight:  # reported incomplete; its response answers it
        request = signature(recorded.store_request(index), shift, decided)
        position = expected.index(request)
        (message,) = cut_messages
        expected[position] = (*request[:8], None, request[9], message.frame, None)
        (answer,) = [
            i
            for i, sig in enumerate(expected)
            if sig[2] == "C-STORE-RSP" and sig[3] == request[3] and sig[11] == request[10]
        ]
        expected[answer] = (*expected[answer][:11], message.frame)
    assert [signature(m) for m in got] == expected
    assert all(not m.diagnostics for m in got if m.incomplete is None)
    events = [(r.event, r.frame) for r in records if isinstance(r, AssociationEvent)]
    intact_events = [
        (r.event, decided(r.frame)) for r in recorded.records if isinstance(r, AssociationEvent)
    ]
    assert events == intact_events
    labelled = [r.frame for r in records if getattr(r, "frame", None) is not None]
    assert labelled == sorted(labelled)  # records in frame order

    # strict stops at the first of those problems, with our own error
    error = strict_error(damaged)
    assert isinstance(error, PolicyViolation)
    assert error.code == (expected_codes or ["MESSAGE_INCOMPLETE"])[0]


def cut_pdus(victims: Sequence[Segment], pdu_starts: Sequence[int]) -> int:
    """How many of the lost segments (in stream order) cut a PDU the decoder was reading: one
    that starts inside a PDU begun since the segment lost before it. After a gap the decoder
    skips to the next PDU header, so a second gap inside the same PDU cuts nothing (loopback
    segments are smaller than a PDU on a loaded machine, so two lost ones may share one)."""
    count, previous_end = 0, -1
    for victim in victims:
        if victim.offset not in pdu_starts and any(
            previous_end <= start < victim.offset for start in pdu_starts
        ):
            count += 1
        previous_end = victim.end
    return count


def test_a_message_goes_on_across_several_gaps(tmp_path: Path) -> None:
    """Three images of 1 MB, segments lost in two data sets (three inside one): each C-STORE-RQ
    is one message, the gaps inside it listed with their stream offsets, its bytes received
    and announced as the layout says, its response matched; the problems say gap, never
    "ended"; the records, the text and the NDJSON output come in frame order."""
    images = 3
    recorded = record_stores(tmp_path, images, 1_000_000)

    def inside(index: int) -> list[Segment]:
        """The segments wholly inside a data set's PDUs, not carrying its last byte."""
        span = recorded.stores[index]
        return [s for s in recorded.segments if span.command_end < s.offset and s.end < span.end]

    first, last = inside(0), inside(2)
    assert len(first) >= 6 and last, "the loopback segments changed size"
    victims = [first[1], first[3], first[5], last[len(last) // 2]]
    damaged = recorded.raw
    for victim in sorted(victims, key=lambda v: -v.record.start):
        damaged = without(damaged, victim.record)
    path = tmp_path / "lossy.pcap"
    path.write_bytes(damaged)
    records = list(decode_capture(damaged))

    gaps = [r for r in records if isinstance(r, StreamGap)]
    assert [(g.offset, g.length) for g in gaps] == [(v.offset, v.record.length) for v in victims]
    found = problems(records)
    assert codes(found) == ["STREAM_GAP"] * cut_pdus(victims, recorded.pdu_starts)
    assert not any("ended" in p.diagnostic.message for p in found)
    messages = [m for m in records if isinstance(m, CapturedMessage)]
    assert [m.name for m in messages] == ["C-STORE-RQ", "C-STORE-RSP"] * images
    requests = [m for m in messages if m.name == "C-STORE-RQ"]
    for index, message in enumerate(requests):
        intact = recorded.store_request(index)
        assert message.primitive.MessageID == intact.primitive.MessageID
        assert message.primitive.AffectedSOPInstanceUID == intact.primitive.AffectedSOPInstanceUID
        span = recorded.stores[index]
        inside = [(v.offset, v.end) for v in victims if span.start <= v.offset < span.end]
        assert message.gaps == tuple((a, b - a) for a, b in inside)
        assert message.bytes_missing == sum(b - a for a, b in inside)
        if not inside:
            assert message.incomplete is None
            assert message.dataset_sha256 == intact.dataset_sha256
            continue
        assert message.incomplete is not None and message.dataset_sha256 is None
        announced, received = arrived(recorded, span, inside)
        assert message.dataset is not None and bytes(message.dataset) == received
        assert message.dataset_announced == announced
        (response,) = [m for m in messages if m.request_frame == message.frame]
        assert response.primitive.MessageIDBeingRespondedTo == intact.primitive.MessageID
    assert_frame_order(path, records)

    # the CLI counts each message once and says why it did not export the incomplete ones
    result = subprocess.run(
        [sys.executable, "-m", "dimse_codec.cli.main", "decode", "--export", str(tmp_path / "x"),
         str(path)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert f"{2 * images} message(s), {len(victims)} gap(s)" in result.stdout
    skips = [line for line in result.stdout.splitlines() if "export skipped" in line]
    assert len(skips) == len({m.frame for m in requests if m.incomplete is not None})
    assert all("incomplete: its last fragment arrived, but" in line for line in skips)
    assert len(list((tmp_path / "x").iterdir())) == images - len(skips)


# -- a file cut inside a record ------------------------------------------------------------------


def test_a_file_cut_mid_record(recorded: Recorded) -> None:
    """STREAM_TRUNCATED last, the cut message reported, all before it as in the whole file."""
    span = recorded.stores[2]
    middle = recorded.segment_at((span.data_pdus[0] + span.end) // 2).record
    cut = middle.start + 16 + (middle.end - middle.start - 16) // 2
    frames: list[int] = []
    records = list(decode_capture(recorded.raw[:cut], on_frame=frames.append))
    assert frames == list(range(1, middle.frame))

    last = records[-1]
    assert isinstance(last, CaptureProblem) and last.diagnostic.code.value == "STREAM_TRUNCATED"
    assert (last.association, last.direction, last.frame) == (None, DicomDirection.UNKNOWN, None)
    assert last.diagnostic.offset == middle.start  # the record the file ends in
    assert last.diagnostic.path == "capture"

    *got, cut_store = [m for m in records if isinstance(m, CapturedMessage)]
    before = [m for m in recorded.messages if m.frame < middle.frame]
    assert [signature(m) for m in got] == [signature(m) for m in before]
    assert [m.name for m in got] == ["C-STORE-RQ", "C-STORE-RSP"] * 2
    events = [(r.event, r.frame) for r in records if isinstance(r, AssociationEvent)]
    intact = [
        (r.event, r.frame)
        for r in recorded.records
        if isinstance(r, AssociationEvent) and r.frame < middle.frame
    ]
    assert events == [*intact, ("truncated", events[-1][1])]
    (truncated,) = [
        r for r in records if isinstance(r, AssociationEvent) and r.event == "truncated"
    ]
    assert truncated.association.state == "truncated"

    # the 3rd C-STORE-RQ, cut inside its data set, is a message marked incomplete
    found = problems(records)
    assert codes(found) == ["STREAM_TRUNCATED"]
    # decided when the capture ended: at its last frame
    assert all(p.frame == frames[-1] for p in found)
    assert cut_store.name == "C-STORE-RQ" and cut_store.frame == frames[-1]
    assert "the stream ended inside" in cut_store.incomplete.message  # type: ignore[union-attr]
    assert cut_store.command_set == recorded.store_request(2).command_set
    assert cut_store.incomplete is not None
    assert cut_store.incomplete.code.value == "MESSAGE_INCOMPLETE"
    assert cut_store.dataset_sha256 is None
    assert [r for r in records if isinstance(r, CaptureProblem)] == [*found, last]

    error = strict_error(recorded.raw[:cut])
    assert isinstance(error, PolicyViolation) and error.code == "STREAM_TRUNCATED"


# -- flipped bytes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    """Where to invert one byte of the 3rd C-STORE-RQ, and what the decode must say."""

    where: Callable[[Recorded], int]  # requestor stream offset
    message_codes: tuple[str, ...] | None  # the message's diagnostics; None: the message is lost
    problem_codes: tuple[str, ...] = ()  # CaptureProblems, in order
    strict: type[DimseCodecError] = PolicyViolation  # what strict decoding raises


def _element(tag: int, delta: int) -> Callable[[Recorded], int]:
    """A byte of a command element of the 3rd C-STORE-RQ: ``delta`` from its tag's first byte."""
    return lambda recorded: recorded.stores[2].command + recorded.command_elements(2)[tag] + delta


FLIPS: dict[str, Flip] = {
    # (0000,0000) CommandGroupLength's value: the group still parses
    "command-group-length": Flip(_element(0x00000000, 8), ("GROUP_LENGTH_MISMATCH",)),
    # (0000,0700) Priority's tag becomes (0000,07FF): unknown, and Priority missing
    "command-element-tag": Flip(_element(0x00000700, 2), ("UNKNOWN_ELEMENT", "MISSING_MANDATORY")),
    # (0000,1000) AffectedSOPInstanceUID's value length runs past the command set
    "command-value-length": Flip(
        _element(0x00001000, 4),
        None,
        ("UNDECODABLE", "DATA_BEFORE_COMMAND"),
        strict=TruncatedError,
    ),
    # the command P-DATA-TF's PDU type 04H becomes FBH: skipped whole by its length
    "pdu-type": Flip(
        lambda recorded: recorded.stores[2].start,
        None,
        ("UNKNOWN_PDU_TYPE", "DATA_BEFORE_COMMAND"),
    ),
    # the command PDV's item length (bits 8-15) overruns its PDU: the fragment is cut to fit
    "pdv-item-length": Flip(
        lambda recorded: recorded.stores[2].start + 8, ("ITEM_LENGTH_MISMATCH",)
    ),
    # the command PDV's (odd) context ID becomes even; the data set stays on the old one, and
    # the message is on a context the A-ASSOCIATE-RQ never proposed (CONTEXT_CHANGED: one per
    # data PDV)
    "pdv-context-id": Flip(
        lambda recorded: recorded.stores[2].start + 10,
        ("CONTEXT_ID_INVALID", "CONTEXT_CHANGED", "CONTEXT_CHANGED", "CONTEXT_NOT_ACCEPTED"),
    ),
}


@pytest.mark.parametrize("name", sorted(FLIPS))
def test_a_flipped_byte(recorded: Recorded, name: str) -> None:
    """The exact diagnostic for the 3rd C-STORE-RQ; the 4th and every other message intact."""
    flip = FLIPS[name]
    damaged = recorded.flipped(flip.where(recorded))
    records = list(decode_capture(damaged))
    assert not [r for r in records if isinstance(r, StreamGap)]
    found = problems(records)
    assert codes(found) == list(flip.problem_codes)
    assert not problems(records, A2R)
    got = [m for m in records if isinstance(m, CapturedMessage)]
    third = recorded.store_request(2)
    if flip.message_codes is None:  # the message is lost, and said to be
        assert [signature(m) for m in got] == expected_messages(recorded, {2})
        assert all(not m.diagnostics for m in got)
        span = recorded.stores[2]
        # decided once the command PDU was all there
        assert found[0].frame == recorded.segment_at(span.command_end - 1).record.frame
        if name == "command-value-length":  # reported with the command set as received
            command = bytearray(third.command_set)
            command[flip.where(recorded) - span.command] ^= 0xFF
            assert found[0].data == command
        assert found[1].frame == third.frame  # its data set, announced by no command
        assert found[1].data == b""
    else:
        assert [signature(m) for m in got if m.frame != third.frame] == [
            signature(m) for m in recorded.messages if m.frame != third.frame
        ]
        (hit,) = [m for m in got if m.frame == third.frame]
        assert [d.code.value for d in hit.diagnostics] == list(flip.message_codes)
        assert all(not m.diagnostics for m in got if m is not hit)
        assert (hit.name, hit.first_frame, hit.dataset_sha256) == (
            third.name, third.first_frame, third.dataset_sha256,
        )  # fmt: skip
        assert hit.primitive.MessageID == third.primitive.MessageID
        if name == "pdv-context-id":
            assert hit.context_id == third.context_id ^ 0xFF
        else:
            assert signature(hit) == signature(third)
    fourth = recorded.store_request(3)
    assert signature(fourth) in [signature(m) for m in got]
    events = [(r.event, r.frame) for r in records if isinstance(r, AssociationEvent)]
    assert events == [
        (r.event, r.frame) for r in recorded.records if isinstance(r, AssociationEvent)
    ]

    error = strict_error(damaged)  # at the first problem lenient decoding reported
    assert type(error) is flip.strict
    if flip.strict is PolicyViolation:
        assert error.code == (flip.message_codes or flip.problem_codes)[0]
    else:  # the command set's own decoder gave up: UNDECODABLE in lenient decoding
        assert "AffectedSOPInstanceUID" in error.path


# -- library faults these captures found, now fixed ----------------------------------------------


def test_a_flipped_message_control_header_is_named(recorded: Recorded) -> None:
    """MCH 03H -> FCH: the reserved bits are the cause, and must be reported."""
    records = list(decode_capture(recorded.flipped(recorded.stores[2].start + 11)))
    # it was once lost, leaving only DATA_BEFORE_COMMAND, which names no cause
    assert "MCH_RESERVED_BITS" in [
        d.code.value for r in records if isinstance(r, CaptureProblem) for d in [r.diagnostic]
    ]


def test_a_huge_p_data_length_does_not_swallow_the_stream(recorded: Recorded) -> None:
    """The command PDU's length high byte flipped: the 4th C-STORE-RQ must still decode."""
    records = list(decode_capture(recorded.flipped(recorded.stores[2].start + 2)))
    got = [signature(m) for m in records if isinstance(m, CapturedMessage)]
    assert signature(recorded.store_request(3)) in got
    refused = [p for p in problems(records) if p.diagnostic.code.value == "UNDECODABLE"]
    assert len(refused) == 1 and "cap" in refused[0].diagnostic.message
    assert "release" in [r.event for r in records if isinstance(r, AssociationEvent)]


def test_offsets_after_a_resynchronisation_are_stream_offsets(recorded: Recorded) -> None:
    """The stray data after a lost command PDU: its PDV offset in the requestor's stream."""
    segment = VICTIMS["command-pdu-header"](recorded)
    records = list(decode_capture(without(recorded.raw, segment.record)))
    (stray,) = [p for p in problems(records) if p.diagnostic.code.value == "DATA_BEFORE_COMMAND"]
    resync = min(start for start in recorded.pdu_starts if start >= segment.end)
    assert resync in recorded.stores[1].data_pdus  # the first PDU header after the gap
    assert stray.diagnostic.offset == resync + 6  # was 6, counted from the resynchronisation


def test_an_unknown_command_keeps_its_announced_data_set(recorded: Recorded) -> None:
    """CommandField 0001H -> FFFEH in the 3rd C-STORE-RQ: the data set is still its own."""
    field = recorded.stores[2].command + recorded.command_elements(2)[0x00000100] + 8
    damaged = bytearray(recorded.raw)
    damaged[recorded.file_offset(field)] ^= 0xFF
    damaged[recorded.file_offset(field + 1)] ^= 0xFF
    records = list(decode_capture(bytes(damaged)))
    (unknown,) = [m for m in records if isinstance(m, CapturedMessage) and "unknown" in m.name]
    assert [d.code.value for d in unknown.diagnostics] == ["UNKNOWN_COMMAND_FIELD"]
    assert unknown.dataset_sha256 == recorded.store_request(2).dataset_sha256
    assert not problems(records)
