"""TCP reassembly: handshake and close, mid-stream starts, retransmissions and overlaps (first bytes
kept, differences reported), buffering and its cap, gaps from ACKs, snap length, resets and the
end of capture, 32-bit wrap-around, 4-tuple reuse; Hypothesis on shuffled, duplicated and
overlapping segments; and a real loopback capture recorded with tcpdump."""

from __future__ import annotations

import dataclasses
import itertools
import random
import socket
import threading
from collections import defaultdict
from pathlib import Path

import capture_builder as cb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from recording import tcpdump

from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import (
    CaptureReader,
    CloseReason,
    ConnectionClosed,
    ConnectionOpened,
    Direction,
    Endpoint,
    Gap,
    GapReason,
    LateSegment,
    Packet,
    RetransmissionMismatch,
    StreamData,
    StreamEnded,
    TcpEvent,
    TcpFlags,
    TcpReassembler,
)

CLIENT = (bytes([10, 0, 0, 1]), 40000)
SERVER = (bytes([10, 0, 0, 2]), 104)
MASK = 0xFFFFFFFF


class Wire:
    """Builds packets of one connection with increasing frame numbers."""

    def __init__(self) -> None:
        self.frame = 0

    def packet(
        self,
        sender: tuple[bytes, int],
        seq: int,
        payload: bytes = b"",
        flags: int = cb.ACK,
        ack: int = 0,
        wire_length: int | None = None,
    ) -> Packet:
        self.frame += 1
        receiver = SERVER if sender == CLIENT else CLIENT
        return Packet(
            self.frame,
            1_000_000_000 * self.frame,
            0,
            sender[0],
            sender[1],
            receiver[0],
            receiver[1],
            seq & MASK,
            ack & MASK,
            TcpFlags(flags),
            memoryview(payload),
            len(payload) if wire_length is None else wire_length,
        )


def run(packets: list[Packet], reassembler: TcpReassembler | None = None) -> list[TcpEvent]:
    reassembler = reassembler or TcpReassembler()
    events: list[TcpEvent] = []
    for packet in packets:
        events += reassembler.feed(packet)
    return events + reassembler.finish()


def streams(events: list[TcpEvent]) -> dict[tuple[int, Direction], bytes]:
    """Concatenate delivered data per (connection, direction), checking offsets are contiguous
    once gaps are counted."""
    out: dict[tuple[int, Direction], bytearray] = defaultdict(bytearray)
    position: dict[tuple[int, Direction], int] = defaultdict(int)
    for event in events:
        if isinstance(event, StreamData):
            key = (event.connection.index, event.direction)
            assert event.offset == position[key], event
            out[key] += event.data
            position[key] = event.end
            assert event.first_frame <= event.last_frame
        elif isinstance(event, Gap) and event.length is not None:
            key = (event.connection.index, event.direction)
            assert event.offset == position[key], event
            position[key] += event.length
    return {key: bytes(value) for key, value in out.items()}


def of(kind: type, events: list[TcpEvent]) -> list:  # type: ignore[type-arg]
    return [event for event in events if isinstance(event, kind)]


def handshake(wire: Wire, client_isn: int, server_isn: int) -> list[Packet]:
    return [
        wire.packet(CLIENT, client_isn, flags=cb.SYN),
        wire.packet(SERVER, server_isn, flags=cb.SYN | cb.ACK, ack=client_isn + 1),
        wire.packet(CLIENT, client_isn + 1, ack=server_isn + 1),
    ]


# --- the ordinary life of a connection --------------------------------------------------------


def test_handshake_data_both_ways_and_fin_close() -> None:
    wire = Wire()
    c, s = 1000, 5000
    packets = [
        *handshake(wire, c, s),
        wire.packet(CLIENT, c + 1, b"hello ", ack=s + 1),
        wire.packet(CLIENT, c + 7, b"world", ack=s + 1),
        wire.packet(SERVER, s + 1, b"reply", ack=c + 12),
        wire.packet(CLIENT, c + 12, flags=cb.FIN | cb.ACK, ack=s + 6),
        wire.packet(SERVER, s + 6, flags=cb.FIN | cb.ACK, ack=c + 13),
        wire.packet(CLIENT, c + 13, ack=s + 7),  # the last ACK, after the close
    ]
    events = run(packets)
    (opened,) = of(ConnectionOpened, events)
    connection = opened.connection
    assert connection.initiator_known and connection.initiator == Endpoint(*CLIENT)
    assert connection.sender(Direction.FORWARD) == Endpoint(*CLIENT)
    assert connection.receiver(Direction.FORWARD) == Endpoint(*SERVER)
    assert str(connection) == "#0 10.0.0.1:40000 -> 10.0.0.2:104"
    assert streams(events) == {
        (0, Direction.FORWARD): b"hello world",
        (0, Direction.REVERSE): b"reply",
    }
    data = of(StreamData, events)
    assert [(d.first_frame, d.last_frame) for d in data] == [(4, 4), (5, 5), (6, 6)]
    assert data[0].time == 4.0
    ended = of(StreamEnded, events)
    assert [(e.direction, e.offset, e.frame) for e in ended] == [
        (Direction.FORWARD, 11, 7),
        (Direction.REVERSE, 5, 8),
    ]
    (closed,) = of(ConnectionClosed, events)
    assert closed.reason is CloseReason.FIN and closed.frame == 8
    assert of(Gap, events) == [] and of(RetransmissionMismatch, events) == []


def test_syn_ack_seen_first_names_the_receiver_as_initiator() -> None:
    wire = Wire()
    events = run(
        [wire.packet(SERVER, 10, flags=cb.SYN | cb.ACK, ack=21), wire.packet(CLIENT, 21, b"x")]
    )
    connection = of(ConnectionOpened, events)[0].connection
    assert connection.initiator == Endpoint(*CLIENT)
    assert streams(events) == {(0, Direction.FORWARD): b"x"}


def test_mid_stream_start_has_unknown_initiator_and_a_start_gap() -> None:
    wire = Wire()
    events = run(
        [
            wire.packet(SERVER, 7000, ack=100),  # a pure ACK: starts nothing
            wire.packet(SERVER, 7000, b"PDU tail", ack=100),
            wire.packet(CLIENT, 100, b"next", ack=7008),
        ]
    )
    connection = of(ConnectionOpened, events)[0].connection
    assert not connection.initiator_known and connection.initiator is None
    assert connection.endpoints[0] == Endpoint(*SERVER)
    gaps = of(Gap, events)
    assert [(g.direction, g.offset, g.length, g.reason) for g in gaps] == [
        (Direction.FORWARD, 0, None, GapReason.STREAM_START),
        (Direction.REVERSE, 0, None, GapReason.STREAM_START),
    ]
    assert streams(events) == {(0, Direction.FORWARD): b"PDU tail", (0, Direction.REVERSE): b"next"}
    assert of(ConnectionClosed, events)[0].reason is CloseReason.CAPTURE_END


def test_syn_with_data() -> None:
    wire = Wire()
    events = run(
        [wire.packet(CLIENT, 50, b"fast open", flags=cb.SYN), wire.packet(CLIENT, 60, b"!")]
    )
    assert streams(events) == {(0, Direction.FORWARD): b"fast open!"}


# --- retransmissions, overlaps, order --------------------------------------------------------


def test_identical_retransmission_is_dropped_silently() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"abcdef"),
        wire.packet(CLIENT, 1, b"abcdef"),
        wire.packet(CLIENT, 4, b"defgh"),  # overlapping, extends
    ]
    reassembler = TcpReassembler()
    events = run(packets, reassembler)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcdefgh"
    assert of(RetransmissionMismatch, events) == []
    assert reassembler.stats.duplicate_bytes == 9


def test_differing_retransmission_keeps_first_bytes_and_is_reported() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"abcdef"),
        wire.packet(CLIENT, 3, b"XYZ"),
    ]
    events = run(packets)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcdef"
    (mismatch,) = of(RetransmissionMismatch, events)
    assert (mismatch.offset, mismatch.length, mismatch.frame, mismatch.original_frame) == (
        2,
        3,
        5,
        4,
    )


def test_overlap_between_waiting_segments_keeps_first_seen() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 11, b"KLMNO"),  # offsets 10..15, seen first
        wire.packet(CLIENT, 6, b"fghij-----"),  # offsets 5..15: the tail differs
        wire.packet(CLIENT, 1, b"abcde"),
    ]
    events = run(packets)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcdefghijKLMNO"
    (mismatch,) = of(RetransmissionMismatch, events)
    assert (mismatch.offset, mismatch.length, mismatch.original_frame) == (10, 5, 4)
    assert [d.first_frame for d in of(StreamData, events)] == [6, 5, 4]


def test_in_order_segment_does_not_overwrite_waiting_bytes() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 4, b"DEF"),
        wire.packet(CLIENT, 1, b"abcdef"),
    ]
    events = run(packets)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcDEF"
    assert len(of(RetransmissionMismatch, events)) == 1


def test_keep_alive_probe_is_not_a_mismatch() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"abc"),
        wire.packet(CLIENT, 3, b"\0"),
    ]
    events = run(packets)
    assert of(RetransmissionMismatch, events) == []


def test_buffer_cap_declares_the_hole() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"a" * 10),
        wire.packet(CLIENT, 21, b"c" * 10),  # offsets 20..30 wait
        wire.packet(CLIENT, 31, b"d" * 10),  # 20 bytes waiting: over the cap of 15
        wire.packet(CLIENT, 11, b"b" * 10),  # too late: dropped
    ]
    events = run(packets, TcpReassembler(max_buffered_bytes=15))
    gaps = of(Gap, events)
    assert [(g.offset, g.length, g.reason, g.frame) for g in gaps] == [
        (10, 10, GapReason.BUFFER_LIMIT, 6)
    ]
    assert streams(events)[(0, Direction.FORWARD)] == b"a" * 10 + b"c" * 10 + b"d" * 10


def test_ack_beyond_the_capture_declares_a_gap_at_once() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"a" * 10),
        # the segment with offsets 10..20 was lost by the capture only
        wire.packet(CLIENT, 21, b"c" * 10),
        wire.packet(SERVER, 1, ack=31),
    ]
    reassembler = TcpReassembler()
    events: list[TcpEvent] = []
    for packet in packets[:-1]:
        events += reassembler.feed(packet)
    assert of(Gap, events) == []  # may still come
    last = reassembler.feed(packets[-1])
    assert [(g.offset, g.length, g.reason, g.frame) for g in of(Gap, last)] == [
        (10, 10, GapReason.NOT_CAPTURED, 6)
    ]
    assert [bytes(d.data) for d in of(StreamData, last)] == [b"c" * 10]
    # an ACK past everything seen: the missing tail is a gap too
    tail = reassembler.feed(wire.packet(SERVER, 1, ack=41))
    assert [(g.offset, g.length) for g in of(Gap, tail)] == [(30, 10)]


def test_reset_flushes_with_unfilled_gaps() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"ab"),
        wire.packet(CLIENT, 5, b"ef"),
        wire.packet(SERVER, 1, flags=cb.RST),
        wire.packet(CLIENT, 3, b"cd"),  # after the reset: ignored
    ]
    reassembler = TcpReassembler()
    events = run(packets, reassembler)
    assert [(g.offset, g.length, g.reason) for g in of(Gap, events)] == [(2, 2, GapReason.UNFILLED)]
    assert streams(events)[(0, Direction.FORWARD)] == b"abef"
    assert [c.reason for c in of(ConnectionClosed, events)] == [CloseReason.RST]
    assert reassembler.stats.late_segments == 1


def test_capture_end_reports_open_connections_and_holes_before_fin() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"ab"),
        wire.packet(CLIENT, 5, b"ef", flags=cb.FIN | cb.ACK),
        wire.packet(SERVER, 1, b"xy"),
    ]
    reassembler = TcpReassembler()
    events: list[TcpEvent] = []
    for packet in packets:
        events += reassembler.feed(packet)
    assert [c.index for c in reassembler.open_connections] == [0]
    final = reassembler.finish()
    assert [(g.offset, g.length, g.reason) for g in of(Gap, final)] == [(2, 2, GapReason.UNFILLED)]
    assert [(e.direction, e.offset) for e in of(StreamEnded, final)] == [(Direction.FORWARD, 6)]
    assert [c.reason for c in of(ConnectionClosed, final)] == [CloseReason.CAPTURE_END]
    assert streams(events + final)[(0, Direction.FORWARD)] == b"abef"
    assert reassembler.open_connections == []
    assert reassembler.finish() == []


def test_fin_bounds_the_stream() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 5, b"efgh"),  # waits, then partly beyond the FIN
        wire.packet(CLIENT, 1, b"abcd", flags=cb.FIN | cb.ACK),  # FIN at offset 4
    ]
    events = run(packets)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcd"
    assert [e.offset for e in of(StreamEnded, events)] == [4]


@pytest.mark.parametrize("fin_seq", [-499, 3], ids=["before-the-syn", "below-delivered-bytes"])
def test_stale_fin_is_ignored_and_counted(fin_seq: int) -> None:
    """A FIN below bytes the stream holds cannot end it (found by fuzz_capture): the stream
    keeps its bytes, ends at its length when the real FIN comes, and the stale one is counted."""
    wire = Wire()
    reassembler = TcpReassembler()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"abcdefgh"),
        wire.packet(CLIENT, fin_seq, flags=cb.FIN | cb.ACK),
        wire.packet(CLIENT, 9, b"ij"),
        wire.packet(CLIENT, 11, flags=cb.FIN | cb.ACK),
    ]
    events = run(packets, reassembler)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcdefghij"
    assert [e.offset for e in of(StreamEnded, events)] == [10]
    assert reassembler.stats.stale_fins == 1


def test_snaplen_cut_segment_becomes_a_gap() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 0, 0),
        wire.packet(CLIENT, 1, b"abc", wire_length=10),
        wire.packet(CLIENT, 11, b"klm"),
    ]
    events = run(packets)
    assert [(g.offset, g.length, g.reason) for g in of(Gap, events)] == [(3, 7, GapReason.SNAPLEN)]
    assert streams(events)[(0, Direction.FORWARD)] == b"abcklm"


def test_sequence_wrap_around() -> None:
    wire = Wire()
    isn = MASK - 3
    packets = [
        *handshake(wire, isn, 2**31),
        wire.packet(CLIENT, isn + 1, b"ab"),
        wire.packet(CLIENT, isn + 7, b"gh"),
        wire.packet(CLIENT, isn + 3, b"cdef"),  # crosses 2**32
    ]
    assert packets[-1].seq == 0xFFFFFFFF
    events = run(packets)
    assert streams(events)[(0, Direction.FORWARD)] == b"abcdefgh"


def test_reused_four_tuple_opens_a_new_connection() -> None:
    wire = Wire()
    packets = [
        *handshake(wire, 100, 900),
        wire.packet(CLIENT, 101, b"first"),
        *handshake(wire, 555_555, 777),  # a new SYN, another ISN, no close seen
        wire.packet(CLIENT, 555_556, b"second"),
    ]
    events = run(packets)
    assert [e.connection.index for e in of(ConnectionOpened, events)] == [0, 1]
    assert [c.reason for c in of(ConnectionClosed, events)] == [
        CloseReason.REUSED,
        CloseReason.CAPTURE_END,
    ]
    assert streams(events) == {(0, Direction.FORWARD): b"first", (1, Direction.FORWARD): b"second"}


def test_retransmitted_syn_is_the_same_connection_and_late_packets_are_ignored() -> None:
    wire = Wire()
    packets = [wire.packet(CLIENT, 9, flags=cb.SYN), *handshake(wire, 9, 20)]
    packets += [
        wire.packet(CLIENT, 10, flags=cb.RST),
        wire.packet(SERVER, 21, b"late"),
        wire.packet(CLIENT, 9, flags=cb.SYN),  # same ISN, but the old one is closed: new
    ]
    events = run(packets)
    assert len(of(ConnectionOpened, events)) == 2


def test_closed_connections_are_forgotten_past_the_bound() -> None:
    def moved(packet: Packet, port: int) -> Packet:
        if packet.src_port == CLIENT[1]:
            return dataclasses.replace(packet, src_port=port)
        return dataclasses.replace(packet, dst_port=port)

    wire = Wire()
    reassembler = TcpReassembler(max_closed_connections=1)
    events: list[TcpEvent] = []
    for port in (40001, 40002):
        closing = [*handshake(wire, 1, 5), wire.packet(CLIENT, 2, flags=cb.RST)]
        for packet in closing:
            events += reassembler.feed(moved(packet, port))
    remembered = reassembler.feed(moved(wire.packet(CLIENT, 2, b"x"), 40002))
    assert [type(e) for e in remembered] == [LateSegment]  # remembered: no new connection
    late = reassembler.feed(moved(wire.packet(CLIENT, 2, b"x"), 40001))  # forgotten: new
    assert [type(e) for e in late] == [ConnectionOpened, Gap, StreamData]
    assert len(of(ConnectionOpened, events)) == 2


# --- properties ------------------------------------------------------------------------------

ISNS = st.one_of(
    st.integers(0, MASK), st.integers(MASK - 5000, MASK), st.integers(2**31 - 5000, 2**31 + 10)
)


@st.composite
def segments(draw: st.DrawFn, payload: bytes) -> list[tuple[int, int]]:
    """Ranges covering the payload: a cut into pieces, plus duplicates and random overlaps."""
    n = len(payload)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, n - 1)), max_size=20)))) if n > 1 else []
    bounds = [0, *cuts, n]
    ranges = [(a, b) for a, b in itertools.pairwise(bounds) if a < b]
    extra = draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=10))
    ranges += [(min(a, b), max(a, b)) for a, b in extra if a != b]
    ranges += draw(st.lists(st.sampled_from(ranges), max_size=5)) if ranges else []
    return ranges


@given(st.data(), st.binary(min_size=0, max_size=2000), ISNS)
def test_shuffled_duplicated_overlapping_segments_reassemble_exactly(
    data: st.DataObject, payload: bytes, isn: int
) -> None:
    ranges = data.draw(segments(payload))
    wire = Wire()
    body = [wire.packet(CLIENT, isn + 1 + a, payload[a:b]) for a, b in ranges]
    body.append(wire.packet(CLIENT, isn + 1 + len(payload), flags=cb.FIN | cb.ACK))
    packets = [wire.packet(CLIENT, isn, flags=cb.SYN), *data.draw(st.permutations(body))]
    events = run(packets)
    assert streams(events).get((0, Direction.FORWARD), b"") == payload
    assert of(Gap, events) == []
    assert of(RetransmissionMismatch, events) == []
    assert [e.offset for e in of(StreamEnded, events)] == [len(payload)]


@given(st.data(), st.binary(min_size=2, max_size=2000), ISNS)
def test_a_dropped_segment_is_a_gap_and_the_rest_is_intact(
    data: st.DataObject, payload: bytes, isn: int
) -> None:
    n = len(payload)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=15))))
    bounds = [0, *cuts, n]
    ranges = list(itertools.pairwise(bounds))
    lost = data.draw(st.integers(0, len(ranges) - 1))
    kept = [r for i, r in enumerate(ranges) if i != lost]
    kept += data.draw(st.lists(st.sampled_from(kept), max_size=4)) if kept else []
    wire = Wire()
    body = [wire.packet(CLIENT, isn + 1 + a, payload[a:b]) for a, b in kept]
    body.append(wire.packet(CLIENT, isn + 1 + n, flags=cb.FIN | cb.ACK))
    packets = [wire.packet(CLIENT, isn, flags=cb.SYN), *data.draw(st.permutations(body))]
    events = run(packets)
    start, end = ranges[lost]
    gaps = of(Gap, events)
    assert [(g.offset, g.length) for g in gaps] == [(start, end - start)]
    assert gaps[0].reason is GapReason.UNFILLED
    assert streams(events).get((0, Direction.FORWARD), b"") == payload[:start] + payload[end:]


@given(st.binary(min_size=1, max_size=500), st.binary(min_size=1, max_size=500), ISNS, ISNS)
def test_both_directions_interleaved_with_acks(
    forward: bytes, reverse: bytes, c_isn: int, s_isn: int
) -> None:
    wire = Wire()
    packets = handshake(wire, c_isn, s_isn)
    sent = {CLIENT: 0, SERVER: 0}
    rng = random.Random(len(forward) * 7 + len(reverse))
    payloads = {CLIENT: forward, SERVER: reverse}
    isns = {CLIENT: c_isn, SERVER: s_isn}
    for _ in range(len(forward) + len(reverse) + 2):  # bounded
        side = rng.choice([CLIENT, SERVER])
        other = SERVER if side == CLIENT else CLIENT
        if sent[side] >= len(payloads[side]):
            side, other = other, side
            if sent[side] >= len(payloads[side]):
                break
        size = rng.randint(1, 100)
        chunk = payloads[side][sent[side] : sent[side] + size]
        packets.append(
            wire.packet(side, isns[side] + 1 + sent[side], chunk, ack=isns[other] + 1 + sent[other])
        )
        sent[side] += len(chunk)
    events = run(packets)
    assert streams(events) == {(0, Direction.FORWARD): forward, (0, Direction.REVERSE): reverse}
    assert of(Gap, events) == []


# --- a real capture --------------------------------------------------------------------------


@pytest.mark.peer
def test_tcpdump_loopback_capture_reassembles_both_directions(tmp_path: Path) -> None:
    rng = random.Random(104)
    request = rng.randbytes(300_000)
    response = rng.randbytes(120_000)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    path = tmp_path / "loopback.pcap"
    try:
        with tcpdump(path, [port]):
            received = bytearray()

            def serve() -> None:
                connection, _ = server.accept()
                with connection:
                    for _ in range(10_000):  # bounded: the request is 300 kB
                        chunk = connection.recv(65536)
                        if not chunk:
                            break
                        received.extend(chunk)
                    connection.sendall(response)

            thread = threading.Thread(target=serve)
            thread.start()
            answer = bytearray()
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(request)
                client.shutdown(socket.SHUT_WR)
                for _ in range(10_000):
                    chunk = client.recv(65536)
                    if not chunk:
                        break
                    answer.extend(chunk)
            thread.join()
            assert bytes(received) == request and bytes(answer) == response
    finally:
        server.close()

    reassembler = TcpReassembler()
    events: list[TcpEvent] = []
    with CaptureReader(path) as reader:
        for packet in reader:
            events += reassembler.feed(packet)
        assert reader.truncation is None
    events += reassembler.finish()
    (opened,) = of(ConnectionOpened, events)
    assert opened.connection.initiator_known
    assert opened.connection.initiator is not None
    assert opened.connection.initiator.port != port
    assert opened.connection.endpoints[1].port == port
    assert streams(events) == {(0, Direction.FORWARD): request, (0, Direction.REVERSE): response}
    assert of(Gap, events) == []
    assert [c.reason for c in of(ConnectionClosed, events)] == [CloseReason.FIN]


def test_reassembler_only_raises_nothing_on_capture_garbage() -> None:
    """Packets decoded from random frames never make the reassembler fail."""
    rng = random.Random(7)
    reassembler = TcpReassembler(max_buffered_bytes=1000)
    frames = []
    for i in range(300):
        segment = cb.tcp(
            rng.choice([1, 2]),
            rng.choice([1, 2]),
            rng.getrandbits(32),
            rng.getrandbits(32),
            rng.getrandbits(9),
            rng.randbytes(rng.randint(0, 50)),
        )
        frames.append(cb.Frame(i, cb.ipv4("10.0.0.1", "10.0.0.2", segment)))
    try:
        for packet in CaptureReader(cb.pcap(frames, link_type=101)):
            reassembler.feed(packet)
    except DimseCodecError:  # pragma: no cover - the frames are well formed
        raise
    reassembler.finish()


STEPS = st.lists(
    st.tuples(
        st.booleans(),  # sender is the client
        st.integers(-40, 400),  # seq relative to the side's ISN
        st.integers(-40, 400),  # ack relative to the other side's ISN
        st.sampled_from([cb.ACK, cb.ACK | cb.PSH, cb.SYN, cb.SYN | cb.ACK, cb.FIN | cb.ACK,
                         cb.RST, cb.RST | cb.ACK, 0]),
        st.integers(0, 60),  # payload length
        st.integers(0, 20),  # bytes the snap length cut
    ),
    max_size=60,
)  # fmt: skip


def arbitrary_packets(
    steps: list[tuple[bool, int, int, int, int, int]], c_isn: int, s_isn: int
) -> list[Packet]:
    wire = Wire()
    packets = []
    for client, seq, ack, flags, length, cut in steps:
        side, isns = (CLIENT, (c_isn, s_isn)) if client else (SERVER, (s_isn, c_isn))
        payload = bytes((seq + i) & 0xFF for i in range(length))
        kept = payload[: max(0, length - cut)]
        packets.append(
            wire.packet(
                side, isns[0] + seq, kept, flags=flags, ack=isns[1] + ack, wire_length=length
            )
        )
    return packets


@given(STEPS, ISNS, ISNS, st.integers(1, 200))
def test_arbitrary_packets_keep_every_stream_tiled(
    steps: list[tuple[bool, int, int, int, int, int]],
    c_isn: int,
    s_isn: int,
    cap: int,
) -> None:
    """Whatever arrives, each direction's data and gaps tile its stream in order (checked by
    ``streams``), connections open before they carry events and close at most once."""
    packets = arbitrary_packets(steps, c_isn, s_isn)
    reassembler = TcpReassembler(max_buffered_bytes=cap, history_bytes=cap)
    events = run(packets, reassembler)
    streams(events)
    opened: set[int] = set()
    closed: set[int] = set()
    for event in events:
        index = event.connection.index
        if isinstance(event, ConnectionOpened):
            assert index not in opened
            opened.add(index)
        elif isinstance(event, LateSegment):  # bytes after a reset: only once closed
            assert index in closed
        else:
            assert index in opened and index not in closed
            if isinstance(event, ConnectionClosed):
                closed.add(index)
    assert opened == closed
    assert reassembler.open_connections == []


# --- the in-order fast path -------------------------------------------------------------------


class GeneralOnly(TcpReassembler):
    """A reassembler that never takes the in-order fast path: every segment goes through the
    general code, the reference the fast path must equal."""

    def _in_order(self, *args: object) -> bool:
        return False


def same_as_general(packets: list[Packet], cap: int = 1 << 20) -> list[TcpEvent]:
    fast = TcpReassembler(max_buffered_bytes=cap, history_bytes=cap)
    general = GeneralOnly(max_buffered_bytes=cap, history_bytes=cap)
    events = run(packets, fast)
    assert events == run(packets, general)
    assert fast.stats == general.stats
    return events


@given(STEPS, ISNS, ISNS, st.integers(1, 200))
def test_fast_path_equals_the_general_one_on_arbitrary_packets(
    steps: list[tuple[bool, int, int, int, int, int]], c_isn: int, s_isn: int, cap: int
) -> None:
    same_as_general(arbitrary_packets(steps, c_isn, s_isn), cap)


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 80), st.sampled_from(["ok", "drop", "twice"])),
        max_size=40,
    ),
    ISNS,
    ISNS,
    st.integers(-3, 3),
)
def test_fast_path_equals_the_general_one_on_conversations(
    turns: list[tuple[bool, int, str]], c_isn: int, s_isn: int, ack_skew: int
) -> None:
    """Mostly in-order talk both ways, each segment acknowledging the peer's bytes (off by
    ``ack_skew`` sometimes), with dropped and repeated segments, then FINs."""
    wire = Wire()
    packets = handshake(wire, c_isn, s_isn)
    sent = {CLIENT: c_isn + 1, SERVER: s_isn + 1}
    for from_client, length, fate in turns:
        side, peer = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        skew = ack_skew if length % 3 == 0 else 0
        packet = wire.packet(
            side, sent[side], bytes(range(length)), flags=cb.ACK | cb.PSH, ack=sent[peer] + skew
        )
        sent[side] += length
        if fate != "drop":
            packets.append(packet)
        if fate == "twice":
            packets.append(packet)
    packets.append(wire.packet(CLIENT, sent[CLIENT], flags=cb.FIN | cb.ACK, ack=sent[SERVER]))
    packets.append(wire.packet(SERVER, sent[SERVER], flags=cb.FIN | cb.ACK, ack=sent[CLIENT] + 1))
    events = same_as_general(packets)
    streams(events)
