"""The stream strategies: whole associations decode, split anywhere, into exactly the PDUs and
primitives they promise (strict and without a diagnostic) and re-encode PDU by PDU; P-DATA
streams with one defect give exactly their one code and still deliver the other messages; both
narrow and shrink to small examples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from dimse_codec import STRICT
from dimse_codec.errors import PolicyViolation
from dimse_codec.pdata import (
    Event,
    IncompleteMessage,
    MessageReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
)
from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRQ,
    decode_pdu,
    encode_pdu,
    read_pdu_header,
)
from dimse_codec.policy import LENIENT, DiagnosticCode, Policy
from dimse_codec.strategies import (
    AssociationStreams,
    MalformedStream,
    associations,
    malformed_streams,
)
from dimse_codec.strategies.streams import _DEFECTS

SLOW = settings(
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Generating a whole association costs about 20 ms: 100 examples keep the test near 5 s."""
HEALTH = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NARROW = settings(
    max_examples=50, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
"""Narrowing is checked on fewer examples: what is generated is checked by the tests above."""
SEARCH = settings(
    max_examples=500,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
"""Searches are derandomized: a rare shape is found in every run or in none, never now and then."""
SHRINK = settings(
    max_examples=150,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
"""Shrinks are derandomized too: a random start now and then left a conversation the shrinker
could not make small in its budget, and the test failed about one run in eight."""

DEFECT_NAMES = sorted({defect for _, defect, _ in _DEFECTS})


def feed(data: bytes, decoder: StreamDecoder, step: int) -> list[Event]:
    """Feed ``data`` in pieces of ``step`` bytes, then close the stream."""
    events: list[Event] = []
    for start in range(0, len(data), step):
        events.extend(decoder.feed(data[start : start + step]))
    events.extend(decoder.close())
    return events


def codes(events: list[Event]) -> list[DiagnosticCode]:
    """Every diagnostic code the events and the PDUs and primitives they carry report."""
    found = []
    for event in events:
        if isinstance(event, StreamDiagnostic):
            found.append(event.diagnostic)
        elif isinstance(event, IncompleteMessage):
            found.extend([event.reason, *event.diagnostics])
            if event.primitive is not None:
                found.extend(event.primitive.diagnostics)
        elif isinstance(event, MessageReceived):
            found.extend([*event.diagnostics, *event.primitive.diagnostics])
        elif isinstance(event, PDUReceived):
            found.extend(event.pdu.diagnostics)
    return [d.code for d in found]


def pdus_of(data: bytes) -> list[bytes]:
    """Cut a stream into its PDUs by their headers."""
    out = []
    position = 0
    while position < len(data):
        _, length = read_pdu_header(data[position:])
        out.append(data[position : position + 6 + length])
        position += 6 + length
    return out


# --- whole associations ---------------------------------------------------------------------------


def sides(value: AssociationStreams) -> list[tuple[bytes, int, tuple[Any, ...], tuple[Any, ...]]]:
    """Each direction: its bytes, the limit its reader announced, its PDUs and its primitives."""
    return [
        (
            value.requestor,
            value.acceptor_max_pdu_length,
            value.requestor_pdus,
            value.requestor_primitives,
        ),
        (
            value.acceptor,
            value.requestor_max_pdu_length,
            value.acceptor_pdus,
            value.acceptor_primitives,
        ),
    ]


@SLOW
@given(associations(), st.integers(min_value=1, max_value=64))
def test_associations_decode_to_exactly_the_promised_pdus_and_primitives(
    value: AssociationStreams, step: int
) -> None:
    for data, limit, pdus, primitives in sides(value):
        decoder = StreamDecoder(
            policy=STRICT, max_pdu_length=limit, transfer_syntaxes=value.transfer_syntaxes
        )
        events = feed(data, decoder, step)
        assert codes(events) == []
        assert [e.pdu for e in events if isinstance(e, PDUReceived)] == list(pdus)
        received = [e for e in events if isinstance(e, MessageReceived)]
        assert [e.primitive for e in received] == list(primitives)
        assert [e.context_id for e in received] == [p.context_id for p in primitives]
        for event in received:
            assert event.context_id in value.transfer_syntaxes
            assert event.primitive.transfer_syntax == value.transfer_syntaxes[event.context_id]
        assert len(events) == len(pdus) + len(primitives)


@SLOW
@given(associations())
def test_association_bytes_re_encode_pdu_by_pdu_within_the_announced_limit(
    value: AssociationStreams,
) -> None:
    for data, limit, pdus, _ in sides(value):
        pieces = pdus_of(data)
        assert b"".join(pieces) == data
        for piece in pieces:
            decoded = decode_pdu(piece, policy=STRICT)
            assert decoded.diagnostics == ()
            assert encode_pdu(decoded) == piece
            if piece[0] == 0x04 and limit:
                assert len(piece) - 6 <= limit
        others = [decode_pdu(piece) for piece in pieces if piece[0] != 0x04]
        assert others == list(pdus)
    assert isinstance(value.requestor_pdus[0], AAssociateRQ)
    assert isinstance(value.acceptor_pdus[0], AAssociateAC)
    assert len(value.acceptor_pdus) == (2 if value.released else 1)


@SLOW
@given(associations("C-ECHO", max_messages=2, release=False))
def test_associations_narrow(value: AssociationStreams) -> None:
    assert len(value.requestor_primitives) <= 2
    assert len(value.acceptor_primitives) == len(value.requestor_primitives)
    assert {p.msg_type for p in value.requestor_primitives + value.acceptor_primitives} <= {
        "C-ECHO"
    }
    assert isinstance(value.requestor_pdus[-1], AAbort) and not value.released
    for request, response in zip(
        value.requestor_primitives, value.acceptor_primitives, strict=True
    ):
        assert response.MessageIDBeingRespondedTo == request.MessageID  # type: ignore[attr-defined]


def test_associations_reach_busy_and_rejecting_cases() -> None:
    busy = find(
        associations(),
        lambda a: len(a.requestor_primitives) == 3 and 0 < a.acceptor_max_pdu_length <= 64,
        settings=settings(SEARCH, max_examples=3000),  # rare: 500 examples missed it now and then
    )
    assert len(pdus_of(busy.requestor)) > 6
    rejected = find(
        associations(),
        lambda a: len(a.transfer_syntaxes) < len(a.requestor_pdus[0].presentation_contexts),
        settings=SEARCH,
    )
    assert rejected.transfer_syntaxes


def test_associations_shrink_to_a_small_conversation() -> None:
    small = find(associations(), lambda a: len(a.requestor_primitives) >= 1, settings=SHRINK)
    assert len(small.requestor_primitives) == 1
    # one context, the shortest AE titles and UIDs, one small request and its response
    assert len(small.requestor) <= 400, small.requestor.hex()
    assert len(small.acceptor) <= 400, small.acceptor.hex()


@pytest.mark.parametrize(
    "make",
    [lambda: associations(max_messages=-1), lambda: associations("C-FOO")],
)
def test_impossible_associations_are_refused_at_once(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


# --- malformed streams ----------------------------------------------------------------------------


def check(case: MalformedStream, policy: Policy, step: int) -> None:
    """Decode under ``policy`` and check the one code and the messages still delivered."""
    decoder = StreamDecoder(policy=policy, max_pdu_length=case.max_pdu_length)
    if policy.raises(case.expected):
        with pytest.raises(PolicyViolation) as violation:
            feed(case.data, decoder, step)
        assert violation.value.code == case.expected.value, case
        return
    events = feed(case.data, decoder, step)
    assert codes(events) == [case.expected], (case, events)
    received = [e.primitive for e in events if isinstance(e, MessageReceived)]
    assert received == list(case.delivered), case


@HEALTH
@given(malformed_streams(), st.integers(min_value=1, max_value=64))
def test_every_malformed_stream_gives_exactly_its_code(case: MalformedStream, step: int) -> None:
    check(case, LENIENT, step)
    check(case, STRICT, step)


@pytest.mark.parametrize("defect", DEFECT_NAMES)
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_defect_is_generated_and_answered(defect: str, data: st.DataObject) -> None:
    case = data.draw(malformed_streams([defect]))
    assert case.defect == defect
    check(case, LENIENT, len(case.data) or 1)
    check(case, STRICT, 7)


@NARROW
@given(malformed_streams([DiagnosticCode.INTERLEAVED, "MESSAGE_INCOMPLETE"]))
def test_malformed_streams_narrow(case: MalformedStream) -> None:
    assert case.expected in (DiagnosticCode.INTERLEAVED, DiagnosticCode.MESSAGE_INCOMPLETE)


@pytest.mark.parametrize("kinds", [[DiagnosticCode.UID_INVALID], ["nothing"], []])
def test_impossible_malformed_streams_are_refused_at_once(kinds: list[Any]) -> None:
    with pytest.raises(ValueError):
        malformed_streams(kinds)


@pytest.mark.parametrize("defect", DEFECT_NAMES)
def test_malformed_streams_shrink_to_short_inputs(defect: str) -> None:
    case = find(malformed_streams([defect]), lambda m: True, settings=SHRINK)
    check(case, LENIENT, 5)
    check(case, STRICT, 5)
    assert case.max_pdu_length == 40  # the largest small limit: fewest PDUs
    assert len(case.data) <= 300, (case.defect, case.data.hex())
