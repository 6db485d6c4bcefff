"""The stream decoder is bounded in objects, not only bytes (issue 11's P-DATA stream row).

Six zero bytes are an empty PDU of type 00H, which PS3.8 does not define; 30 MB of zeros once
became five million events in one list. Now PDUs in a row with one problem are one
:class:`StreamDiagnostic` carrying all their bytes, their count and their span, across calls
too, and one call reports at most ``Limits.max_diagnostics`` stream problems before one event
counts the rest. Every byte is still accounted for, and strict still raises at the first.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from dicom_conversation import IMPLICIT, VERIFICATION, Conversation, message
from hypothesis import given, settings
from hypothesis import strategies as st
from test_connection import associate, kinds
from test_limits_command import peak

from dimse_codec import (
    C_ECHO,
    LENIENT,
    STRICT,
    DiagnosticCode,
    DimseCodecError,
    LimitExceeded,
    Policy,
    PolicyViolation,
)
from dimse_codec.association import build_request, respond
from dimse_codec.capture import CapturedMessage, CaptureProblem, decode_capture
from dimse_codec.cli.stream import MAX_DATA_HEX, inspect_stream, stream_json, stream_text
from dimse_codec.dimse.responses import build_response
from dimse_codec.limits import DEFAULT_LIMITS
from dimse_codec.pdata import (
    Event,
    MessageReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
    encode_pdata,
)
from dimse_codec.pdu import AAbort, AbortReason, AbortSource, AReleaseRQ, decode_pdu, encode_pdu
from dimse_codec.upper_layer import ProtocolDiagnostic

D = DiagnosticCode
KiB, MiB = 1 << 10, 1 << 20
RELEASE = encode_pdu(AReleaseRQ())
ABORT = encode_pdu(AAbort())
CUT_RQ = b"\x01" + bytes(5)
"""An A-ASSOCIATE-RQ of length 0: UNDECODABLE (its fixed fields need 68 bytes)."""


def feed(data: bytes, step: int = 0, decoder: StreamDecoder | None = None) -> list[Event]:
    """Feed ``data`` in one call (``step`` 0) or in pieces of ``step`` bytes, then close."""
    decoder = decoder or StreamDecoder()
    events: list[Event] = []
    for start in range(0, len(data), step or len(data) or 1):
        events += decoder.feed(data[start : start + (step or len(data))])
    return events + decoder.close()


def spans(events: list[Event]) -> list[tuple[str, int, int, int]]:
    """Each stream problem as (code, count, offset, end)."""
    return [
        (e.diagnostic.code.value, e.count, e.offset, e.end)  # type: ignore[misc]
        for e in events
        if isinstance(e, StreamDiagnostic)
    ]


def shape(events: list[Event]) -> list[tuple[object, ...]]:
    """Every event in order, stream problems as their spans, others as their kind and offset;
    the stream problems of one run that a call boundary cut in two are merged."""
    out: list[tuple[object, ...]] = []
    for event in events:
        if isinstance(event, StreamDiagnostic):
            code, count, offset, end = spans([event])[0]
            if out and out[-1][0] == code and out[-1][3] == offset:
                out[-1] = (code, out[-1][1] + count, out[-1][2], end)  # type: ignore[operator]
                continue
            out.append((code, count, offset, end))
        elif isinstance(event, PDUReceived):
            out.append((event.pdu.name, event.offset))
        elif isinstance(event, MessageReceived):
            out.append(("message", event.offset, event.end))
    return out


def assert_every_byte_kept(events: list[Event], data: bytes) -> None:
    """The stream problems tile the input: each starts where the last ended, and their kept
    bytes are exactly the input's bytes there."""
    position = 0
    for event in events:
        assert isinstance(event, StreamDiagnostic)
        assert (event.offset, event.end) == (position, position + len(event.data))
        assert event.data == data[position : event.end]
        position = event.end
    assert position == len(data)


def bound(size: int) -> int:
    """The fuzz harnesses' memory bound (fuzz/memory_bound.py): 10x the input plus 1 MiB."""
    return 10 * size + MiB


# -- a stream of zero bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [64 * KiB, 3 * MiB])
def test_zeros_in_one_call_are_one_event(size: int) -> None:
    data = bytes(size)
    whole = size // 6 * 6
    decoder = StreamDecoder()
    (run,) = decoder.feed(data)
    assert isinstance(run, StreamDiagnostic)
    assert (run.diagnostic.code, run.diagnostic.offset, run.diagnostic.path) == (
        D.UNKNOWN_PDU_TYPE,
        0,
        "PDU @0",
    )
    assert (run.count, run.offset, run.end, run.data) == (size // 6, 0, whole, bytes(whole))
    assert run.diagnostic.message == (
        f"PDU type 0x00 is not defined by PS3.8; the {size // 6 - 1} PDU(s) right after it, "
        f"up to offset {whole}, have the same code (UNKNOWN_PDU_TYPE); all {whole} bytes are kept"
    )
    rest = decoder.close()
    assert spans(rest) == ([("STREAM_TRUNCATED", 1, whole, size)] if size > whole else [])
    assert_every_byte_kept([run, *rest], data)


def test_zeros_in_pieces_are_reported_at_once_then_as_one_run() -> None:
    """The first call reports the run it starts; the rest of the run waits for its end."""
    data = bytes(64 * KiB)
    decoder = StreamDecoder()
    assert spans(decoder.feed(data[:64])) == [("UNKNOWN_PDU_TYPE", 10, 0, 60)]
    for start in range(64, len(data), 64):
        assert decoder.feed(data[start : start + 64]) == []
        assert decoder.in_progress  # the run is open: close() reports it
    rest = decoder.close()
    assert spans(rest) == [
        ("UNKNOWN_PDU_TYPE", 10912, 60, 65532),
        ("STREAM_TRUNCATED", 1, 65532, 65536),
    ]
    assert not decoder.in_progress
    assert_every_byte_kept(feed(data, 64), data)


def test_a_long_run_in_pieces_is_reported_every_max_other_pdu_length_bytes() -> None:
    """3 MiB in 16 KiB pieces: the first piece, then one event per call that takes the open
    run to 1 MiB (``max_other_pdu_length``), then the rest at close."""
    data = bytes(3 * MiB)
    events = feed(data, 16 * KiB)
    # each run ends at the last whole PDU of the call that reported it
    first = 16 * KiB // 6 * 6
    second = 65 * 16 * KiB // 6 * 6  # the first call after which the run spans >= 1 MiB
    third = (second + MiB + 16 * KiB - 1) // (16 * KiB) * 16 * KiB // 6 * 6
    assert [(offset, end) for _, _, offset, end in spans(events)] == [
        (0, first),
        (first, second),
        (second, third),
        (third, len(data)),
    ]
    assert second - first >= MiB > (second - 16 * KiB) // 6 * 6 - first
    assert sum(count for _, count, _, _ in spans(events)) == len(data) // 6
    assert_every_byte_kept(events, data)


@pytest.mark.parametrize(
    ("size", "step"), [(64 * KiB, 0), (64 * KiB, 64), (3 * MiB, 0), (3 * MiB, 16 * KiB)]
)
def test_zeros_stay_within_the_memory_bound(size: int, step: int) -> None:
    data = bytes(size)
    found: list[list[Event]] = []
    used = peak(lambda: found.append(feed(data, step)))
    assert used <= bound(size), f"{used} bytes for {size}"
    assert len(found[0]) <= 3 + size // MiB  # the first run, one per MiB, the rest, the cut end


def test_a_stream_of_changing_problems_stays_within_the_memory_bound() -> None:
    """Undefined and undecodable PDUs in turn do not coalesce; the cap per call bounds them."""
    data = (bytes(6) + CUT_RQ) * (64 * KiB // 12)
    found: list[list[Event]] = []
    used = peak(lambda: found.append(StreamDecoder().feed(data)))
    assert used <= bound(len(data))
    events = found[0]
    assert len(events) == DEFAULT_LIMITS.max_diagnostics + 1
    note = events[-1]
    assert isinstance(note, StreamDiagnostic)
    assert note.diagnostic.code == D.DIAGNOSTICS_TRUNCATED
    assert sum(e.count for e in events if isinstance(e, StreamDiagnostic)) == len(data) // 6


# -- garbage between valid PDUs --------------------------------------------------------------------


def mixed() -> bytes:
    """Zeros, a release request, zeros, a C-ECHO, an undefined PDU with a body, three cut
    A-ASSOCIATE-RQs, two empty undefined PDUs, an A-ABORT."""
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID="1.2.840.10008.1.1")
    return (
        bytes(60)
        + RELEASE
        + bytes(30)
        + bytes(encode_pdata(echo, 1, max_pdu_length=16382))
        + b"\xff\x00\x00\x00\x00\x02ab"
        + CUT_RQ * 3
        + bytes(12)
        + ABORT
    )


def test_each_run_between_valid_pdus_is_reported() -> None:
    data = mixed()
    message_end = len(data) - 8 - 18 - 12 - len(ABORT)
    events = feed(data)
    assert shape(events) == [
        ("UNKNOWN_PDU_TYPE", 10, 0, 60),
        ("A-RELEASE-RQ", 60),
        ("UNKNOWN_PDU_TYPE", 5, 70, 100),
        ("message", 100 + 6, message_end),  # a message starts at its first PDV
        ("UNKNOWN_PDU_TYPE", 1, message_end, message_end + 8),
        ("UNDECODABLE", 3, message_end + 8, message_end + 26),
        ("UNKNOWN_PDU_TYPE", 2, message_end + 26, message_end + 38),
        ("A-ABORT", message_end + 38),
    ]
    problems = [e for e in events if isinstance(e, StreamDiagnostic)]
    for problem in problems:
        assert problem.data == data[problem.offset : problem.end]  # type: ignore[misc]
    assert problems[3].data == CUT_RQ * 3
    assert problems[3].diagnostic.path == f"PDU @{message_end + 8} > A-ASSOCIATE-RQ"


@pytest.mark.parametrize("step", [1, 5, 7, 64])
def test_pieces_report_the_same_runs(step: int) -> None:
    """Split anywhere, the runs are the same (a call boundary may cut one into two events)."""
    data = mixed()
    assert shape(feed(data, step)) == shape(feed(data))


def test_the_kept_bytes_survive_the_callers_buffer() -> None:
    """Held across calls, a run's bytes are copied: the caller may reuse its buffer."""
    data = b"\x80\x00\x00\x00\x00\x02\xab\xcd" * 100
    decoder = StreamDecoder()
    buffer = bytearray(20)
    events: list[Event] = []
    for start in range(0, len(data), 20):
        buffer[:] = data[start : start + 20]
        events += decoder.feed(buffer)
        buffer[:] = bytes(20)
    events += decoder.close()
    assert spans(events) == [("UNKNOWN_PDU_TYPE", 2, 0, 16), ("UNKNOWN_PDU_TYPE", 98, 16, 800)]
    assert_every_byte_kept(events, data)


def test_an_undefined_pdu_across_calls_keeps_its_body_and_its_cap() -> None:
    pdu = b"\x80\x00\x00\x00\x00\x0a" + bytes(range(10))
    events = feed(pdu, 3)
    assert spans(events) == [("UNKNOWN_PDU_TYPE", 1, 0, 16)]
    assert_every_byte_kept(events, pdu)
    with pytest.raises(LimitExceeded, match="before buffering"):
        StreamDecoder(max_other_pdu_length=8).feed(pdu)


def test_other_runs_of_one_problem_are_one_event() -> None:
    """A-ABORTs of length 0 (undecodable: 4 bytes are needed) and P-DATA-TFs without PDVs."""
    aborts = b"\x07" + bytes(5)
    events = feed(aborts * 1000)
    assert spans(events) == [("UNDECODABLE", 1000, 0, 6000)]
    assert_every_byte_kept(events, aborts * 1000)
    empty = b"\x04" + bytes(5)
    (run,) = feed(empty * 100)
    assert isinstance(run, StreamDiagnostic)
    assert (run.diagnostic.code, run.count, run.offset, run.end, run.data) == (
        D.NO_PDV,
        100,
        0,
        600,
        b"",
    )


# -- strict, and the cap per call ---------------------------------------------------------------


@pytest.mark.parametrize("step", [0, 1, 64])
def test_strict_raises_at_the_first_problem(step: int) -> None:
    decoder = StreamDecoder(policy=STRICT)
    with pytest.raises(PolicyViolation) as info:
        feed(RELEASE + bytes(600), step, decoder)
    assert info.value.code == D.UNKNOWN_PDU_TYPE.value
    assert info.value.offset == len(RELEASE)
    with pytest.raises(DimseCodecError, match="earlier error"):
        decoder.feed(bytes(6))
    with pytest.raises(DimseCodecError):
        feed(CUT_RQ * 100, step, StreamDecoder(policy=STRICT))


def test_one_call_reports_at_most_max_diagnostics_then_counts_the_rest() -> None:
    few = Policy(limits=replace(DEFAULT_LIMITS, max_diagnostics=100))
    data = (bytes(6) + CUT_RQ) * 150  # 300 problems that do not coalesce
    decoder = StreamDecoder(policy=few)
    for call in range(2):  # the cap is per call
        events = decoder.feed(data)
        base = call * len(data)
        assert len(events) == 101
        assert spans(events)[:2] == [
            ("UNKNOWN_PDU_TYPE", 1, base, base + 6),
            ("UNDECODABLE", 1, base + 6, base + 12),
        ]
        note = events[-1]
        assert isinstance(note, StreamDiagnostic)
        assert (note.diagnostic.code, note.count, note.offset, note.end, note.data) == (
            D.DIAGNOSTICS_TRUNCATED,
            200,
            base + 600,
            base + 1800,
            b"",
        )
        assert note.diagnostic.message == (
            f"and 200 more stream problem(s) left out, from offset {base + 600} to "
            f"{base + 1800}, past Limits.max_diagnostics (100) in one call"
        )
    counting = replace(few, raise_on=frozenset({D.DIAGNOSTICS_TRUNCATED}))
    with pytest.raises(PolicyViolation) as info:
        StreamDecoder(policy=counting).feed(data)
    assert info.value.code == D.DIAGNOSTICS_TRUNCATED.value


# -- the consumers: the capture decoder ------------------------------------------------------------


def test_a_capture_counts_the_pdus_of_a_run() -> None:
    """6000 zero bytes in 1400-byte segments inside an association: one problem record per
    reported run, whose counts add up to the 1000 PDUs and whose data is every byte; the
    C-ECHO after them is still decoded."""
    request = build_request("STORESCU", "ARCHIVE", [(VERIFICATION, [IMPLICIT])])
    accepted = respond(request, {VERIFICATION: [IMPLICIT]})
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    conversation = Conversation(segment=1400).handshake()
    conversation.send(True, encode_pdu(request)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, bytes(6000)).send(True, message(echo, 1))
    conversation.send(False, message(build_response(echo, 0x0000), 1))
    records = list(decode_capture(conversation.close().capture()))
    runs = [r for r in records if isinstance(r, CaptureProblem)]
    assert [(r.diagnostic.code, r.count) for r in runs] == [
        (D.UNKNOWN_PDU_TYPE, 1400 // 6),
        (D.UNKNOWN_PDU_TYPE, 1000 - 1400 // 6),
    ]
    assert b"".join(r.data for r in runs) == bytes(6000)
    assert [r.name for r in records if isinstance(r, CapturedMessage)] == [
        "C-ECHO-RQ",
        "C-ECHO-RSP",
    ]


def test_a_run_held_across_calls_is_not_lost_to_an_error() -> None:
    decoder = StreamDecoder(max_other_pdu_length=64)
    assert spans(decoder.feed(bytes(60))) == [("UNKNOWN_PDU_TYPE", 10, 0, 60)]
    assert decoder.feed(bytes(30)) == []  # held: it carries on the run already reported
    with pytest.raises(LimitExceeded):
        decoder.feed(b"\x80\x00\x00\x00\x01\x00")  # 256 bytes declared, over the cap of 64
    assert spans(decoder.events_before_error()) == [("UNKNOWN_PDU_TYPE", 5, 60, 90)]


def test_inspect_counts_the_pdus_of_a_run_and_bounds_its_hex() -> None:
    inspection = inspect_stream(bytes(60_000) + RELEASE, LENIENT)
    assert (inspection.pdu_count, inspection.problem_count) == (10_001, 10_000)
    assert [e["type"] for e in stream_json(inspection)["events"]] == ["diagnostic"] * 2 + ["pdu"]
    first = stream_json(inspection)["events"][0]
    assert (first["count"], first["start"], first["end"]) == (16384 // 6, 0, 16384 // 6 * 6)
    assert first["data_length"] == 16384 // 6 * 6 and first["data_hex"] == "00" * MAX_DATA_HEX
    assert "PDU stream: 60010 bytes, 10001 PDU(s), 0 message(s), 10000 problem(s)" in (
        stream_text(inspection)
    )


PIECES = [bytes(6), b"\xff" + bytes(5), b"\x80\x00\x00\x00\x00\x01x", CUT_RQ, RELEASE]
"""Empty PDUs of types 00H and FFH, one with a body, a cut A-ASSOCIATE-RQ, an A-RELEASE-RQ."""


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(range(len(PIECES))), max_size=60).flatmap(
        lambda picks: st.tuples(st.just(picks), st.integers(1, 6 * len(picks) + 1))
    )
)
def test_any_mix_is_reported_pdu_for_pdu(case: tuple[list[int], int]) -> None:
    """Whatever the mix and the cut, each unused PDU is counted once and every byte of them is
    kept, the runs are those of one call, and the release requests all come through."""
    picks, step = case
    data = b"".join(PIECES[i] for i in picks)
    for events in (feed(data), feed(data, step)):
        problems = [e for e in events if isinstance(e, StreamDiagnostic)]
        assert sum(e.count for e in problems) == sum(i != 4 for i in picks)
        assert b"".join(e.data for e in problems) == b"".join(PIECES[i] for i in picks if i != 4)
        assert all(e.data == data[e.offset : e.end] for e in problems)  # type: ignore[misc]
        assert sum(isinstance(e, PDUReceived) for e in events) == picks.count(4)
    assert shape(feed(data, step)) == shape(feed(data))


def test_the_upper_layer_aborts_an_undefined_pdu_as_unrecognized_once() -> None:
    """PS3.8 9.3.8 and Table 9-26: an unrecognized PDU is Evt19, answered by an A-ABORT with
    reason 1 (unrecognized-PDU); a run of them is one event, so one abort and one diagnostic."""
    _scu, scp = associate()
    events = scp.receive_data(bytes(600))
    assert kinds(events) == ["Aborted", "ProtocolDiagnostic"] and scp.state == "Sta13"
    diagnostic = events[1]
    assert isinstance(diagnostic, ProtocolDiagnostic)
    assert (diagnostic.event, diagnostic.diagnostic.code) == ("Evt19", D.UNKNOWN_PDU_TYPE)
    assert decode_pdu(scp.data_to_send()) == AAbort(
        AbortSource.SERVICE_PROVIDER, AbortReason.UNRECOGNIZED_PDU
    )
