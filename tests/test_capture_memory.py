"""Capture decoding in memory that does not grow with time: state released, connections evicted.

The traffic is the Storage Commitment conversation of ``docs/examples/storage-commitment.pcap``
(TCP handshake, A-ASSOCIATE with a User Identity, C-ECHO, N-ACTION, N-EVENT-REPORT, release,
close) replicated with a new requestor address and port per copy, one copy a second in capture
time, and fed packet by packet to the reassembler and decoder as ``decode_capture`` does, each
record dropped once made (as the CLI streams them). Memory is compared as a ratio of two
tracemalloc peaks measured in the same test, never against an absolute figure.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dimse_codec.capture import (
    AssociationEvent,
    CaptureDecoder,
    CaptureProblem,
    CaptureRecord,
    decode_capture,
)
from dimse_codec.cli import summary as cli_summary
from dimse_codec.cli.main import main as cli_main
from dimse_codec.diagnostics import DiagnosticCode
from dimse_codec.pcap import (
    CaptureReader,
    CloseReason,
    ConnectionClosed,
    Packet,
    TcpFlags,
    TcpReassembler,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "storage-commitment.pcap"
SECOND = 1_000_000_000
EVICTED = DiagnosticCode.CONNECTION_EVICTED


def template() -> list[Packet]:
    """The example's packets, each owning its payload."""
    with CaptureReader(EXAMPLE) as reader:
        return [replace(p, payload=memoryview(bytes(p.payload))) for p in reader]


def replicated(packets: list[Packet], count: int, spacing_ns: int = SECOND) -> Iterator[Packet]:
    """``count`` copies of the conversation, copy ``n`` from 10.1.x.y:(20000 + n % 40000)."""
    requestor = (packets[0].src, packets[0].src_port)
    start = packets[0].time_ns or 0
    frame = 0
    for number in range(count):
        host, port = divmod(number, 40_000)
        address = bytes([10, 1, host >> 8 & 0xFF, host & 0xFF])
        port += 20_000
        shift = number * spacing_ns - start
        for packet in packets:
            frame += 1
            time_ns = (packet.time_ns or 0) + shift + start
            if (packet.src, packet.src_port) == requestor:
                yield replace(packet, frame=frame, time_ns=time_ns, src=address, src_port=port)
            else:
                yield replace(packet, frame=frame, time_ns=time_ns, dst=address, dst_port=port)


def decoded(packets: Iterable[Packet], reassembler: TcpReassembler) -> Iterator[CaptureRecord]:
    """The records of ``packets`` (the loop of ``decode_capture``, without a file)."""
    decoder = CaptureDecoder()
    for packet in packets:
        for event in reassembler.feed(packet):
            yield from decoder.feed(event)
    for event in reassembler.finish():
        yield from decoder.feed(event)
    yield from decoder.finish()


def peak_bytes(count: int, packets: list[Packet]) -> tuple[int, int]:
    """tracemalloc's peak while decoding ``count`` copies, records dropped; and the messages."""
    messages = 0
    # CPython keeps up to 2,000 freed tuples of each length for reuse; filled first, so that
    # their slow filling during the run (bounded, and not ours) is not taken for growth
    spare = [tuple([number] * length) for length in range(1, 20) for number in range(2_000)]
    del spare
    tracemalloc.start()
    try:
        for record in decoded(replicated(packets, count), TcpReassembler()):
            messages += not isinstance(record, (AssociationEvent, CaptureProblem))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, messages


def test_memory_is_flat_in_the_number_of_associations() -> None:
    """10x the associations, at most 1.3x the peak (benchmarks/bench_capture_shapes.py measures
    whole processes at 5,000 and 50,000)."""
    packets = template()
    small, small_messages = peak_bytes(200, packets)
    large, large_messages = peak_bytes(2_000, packets)
    assert (small_messages, large_messages) == (200 * 6, 2_000 * 6)
    assert large / small <= 1.3, (small, large)


def test_eviction_changes_no_record_of_traffic_within_the_bounds() -> None:
    """Closed connections forgotten, state released: the records equal those of an unbounded
    reassembler's, record for record."""
    packets = template()
    bounded = list(decoded(replicated(packets, 150), TcpReassembler()))
    unbounded = TcpReassembler(idle_timeout=None, max_connections=None, closed_timeout=None)
    assert bounded == list(decoded(replicated(packets, 150), unbounded))
    assert not [r for r in bounded if isinstance(r, CaptureProblem)]
    assert sum(isinstance(r, AssociationEvent) and r.event == "release" for r in bounded) == 150


def syn(number: int, time_ns: int, answered: bool) -> list[Packet]:
    """A half-open connection: a SYN to port 104, maybe answered by a SYN-ACK."""
    host = bytes([10, 9, number >> 8 & 0xFF, number & 0xFF])
    server = bytes([10, 0, 0, 1])
    empty = memoryview(b"")
    out = [Packet(0, time_ns, 0, host, 40_000, server, 104, 1000, 0, TcpFlags.SYN, empty, 0)]
    if answered:
        flags = TcpFlags.SYN | TcpFlags.ACK
        out.append(
            Packet(0, time_ns + 1000, 0, server, 104, host, 40_000, 7, 1001, flags, empty, 0)
        )
    return out


def flood(count: int, spacing_ns: int) -> list[Packet]:
    """``count`` half-open connections, every second one answered, numbered frames."""
    packets = [p for n in range(count) for p in syn(n, n * spacing_ns, bool(n % 2))]
    return [replace(p, frame=frame) for frame, p in enumerate(packets, 1)]


def test_half_open_connections_are_evicted_when_idle_and_reported() -> None:
    reassembler = TcpReassembler(idle_timeout=5.0)
    records = list(decoded(flood(100, SECOND), reassembler))
    evicted = [r for r in records if isinstance(r, CaptureProblem)]
    # each is evicted by the first packet more than 5 s after its last: the last, at 99 s (and
    # 1 us for its SYN-ACK), evicts the ones of 94 s and before; the 5 others are still open
    # when the capture ends (closed then, not evicted)
    assert {r.diagnostic.code for r in evicted} == {EVICTED}
    assert len(evicted) == reassembler.stats.evicted_idle == 95
    assert "idle" in evicted[0].diagnostic.message
    assert "connection #0 " in evicted[0].diagnostic.message
    summary = cli_summary.Summary()
    for record in records:
        summary.add(record)
    assert "CONNECTION_EVICTED 95" in summary.text()


def test_past_the_cap_the_least_recently_active_connection_is_evicted() -> None:
    reassembler = TcpReassembler(max_connections=10)
    events = [e for p in flood(40, 1000) for e in reassembler.feed(p)]
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert [e.reason for e in closed] == [CloseReason.CONNECTION_LIMIT] * 30
    assert [e.connection.index for e in closed] == list(range(30))
    assert len(reassembler.open_connections) == 10 == 40 - reassembler.stats.evicted_limit


def test_past_the_cap_of_problem_records_evictions_are_counted(tmp_path: Path) -> None:
    """A flood: the first ``max_diagnostics`` evictions are records, one more counts the rest."""
    records = list(decoded(flood(1_500, 1000), TcpReassembler(max_connections=100)))
    problems = [r for r in records if isinstance(r, CaptureProblem)]
    assert len(problems) == 1_001
    assert sum(r.count for r in problems) == 1_400
    assert "400 more CONNECTION_EVICTED" in problems[-1].diagnostic.message


def test_an_idle_association_ends_with_an_evicted_event() -> None:
    """The example pauses 0.85 s before the N-EVENT-REPORT: with a 0.5 s idle timeout its
    association is evicted there, and the records before are those of a normal decode."""
    normal = list(decode_capture(EXAMPLE))
    short = list(decode_capture(EXAMPLE, idle_timeout=0.5))
    events = [r for r in short if isinstance(r, AssociationEvent)]
    at = next(i for i, r in enumerate(events) if r.event == "evicted")
    assert events[at].association.state == "evicted"
    cut = short.index(events[at])
    assert short[:cut] == normal[:cut]
    assert isinstance(short[cut + 1], CaptureProblem)
    assert short[cut + 1].diagnostic.code is EVICTED
    # the rest of the conversation is a new connection, joined mid-stream
    assert [r.event for r in events[at + 1 :]][:1] == ["mid-stream"]


def test_the_summary_keeps_bounded_response_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_summary, "MAX_RESPONSE_TIMES", 100)
    summary = cli_summary.Summary()
    for value in range(1, 1001):
        summary._time(float(value))
    assert len(summary.times_ms) == 100 and summary.times_seen == 1000
    assert summary.times_max == 1000.0
    assert set(summary.times_ms) <= {float(v) for v in range(1, 1001)}
    summary._association(70_000)
    summary._association(70_000)
    assert summary.association_count == 1 and len(summary.associations) == 70_000 // 8 + 1


def test_the_cli_takes_the_eviction_options(capsys: pytest.CaptureFixture[str]) -> None:
    """``--idle-timeout`` evicts and says so, in the records and in the summary; ``0`` turns
    it off (the example pauses 0.85 s before its N-EVENT-REPORT)."""
    assert cli_main(["decode", "--idle-timeout", "0.5", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^a0 f10 [\d.]+ evicted", out, re.M) and "problem CONNECTION_EVICTED" in out
    assert "problems: CONNECTION_EVICTED 1" in out
    assert cli_main(["decode", "--idle-timeout", "0", "--max-connections", "0", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "evicted" not in out and "summary: 1 association(s), 6 message(s)" in out


def test_a_repeated_associate_pdu_is_decoded_once_and_errors_are_not_remembered() -> None:
    """The PDU memo behind the per-association speed: same bytes, same value; a policy that
    refuses the PDU refuses it every time."""
    from dimse_codec.association import build_request
    from dimse_codec.errors import DimseCodecError
    from dimse_codec.pdu import decode_pdu, encode_pdu
    from dimse_codec.policy import STRICT, Policy

    contexts = [("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])]
    rq = bytearray(encode_pdu(build_request("MONITOR", "ARCHIVE", contexts)))
    first, again = decode_pdu(bytes(rq)), decode_pdu(memoryview(bytes(rq)))
    assert first is again and first == decode_pdu(bytes(rq), policy=STRICT)
    rq[1] = 0x55  # a reserved byte: reported, and raised when the policy says so
    assert [d.code for d in decode_pdu(bytes(rq)).diagnostics] == [DiagnosticCode.RESERVED_NONZERO]
    refusing = Policy(raise_on=frozenset({DiagnosticCode.RESERVED_NONZERO}))
    for _ in range(2):
        with pytest.raises(DimseCodecError):
            decode_pdu(bytes(rq), policy=refusing)
