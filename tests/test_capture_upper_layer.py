"""The capture decoder follows each association through PS3.8 Table 9-10, for both sides."""

from __future__ import annotations

from capture_builder import pcap
from dicom_conversation import (
    CT,
    EXPLICIT,
    IMPLICIT,
    VERIFICATION,
    Conversation,
    echo_and_store,
    message,
)

from dimse_codec import C_ECHO
from dimse_codec.association import build_request, respond
from dimse_codec.capture import (
    AssociationEvent,
    CaptureProblem,
    DicomDirection,
    decode_capture,
)
from dimse_codec.capture.ndjson import record_json
from dimse_codec.dimse.responses import build_response
from dimse_codec.limits import Limits
from dimse_codec.pdu import AAbort, AbortReason, AbortSource, AReleaseRP, AReleaseRQ, encode_pdu
from dimse_codec.policy import DiagnosticCode, Policy

R2A = DicomDirection.REQUESTOR_TO_ACCEPTOR
A2R = DicomDirection.ACCEPTOR_TO_REQUESTOR
REQUESTOR, ACCEPTOR = True, False

RQ = build_request("STORESCU", "ARCHIVE", [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT])])
AC = respond(RQ, {VERIFICATION: [IMPLICIT], CT: [EXPLICIT]}).pdu
ECHO = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
ABORT = AAbort(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED)


class Talk:
    """A conversation that remembers the frame each PDU starts in."""

    def __init__(self) -> None:
        self.conversation = Conversation().handshake()
        self.frames: list[int] = []

    def send(self, from_requestor: bool, data: bytes) -> Talk:
        self.frames.append(len(self.conversation.frames) + 1)
        self.conversation.send(from_requestor, data)
        return self

    def associate(self) -> Talk:
        return self.send(REQUESTOR, encode_pdu(RQ)).send(ACCEPTOR, encode_pdu(AC))

    def echo(self, from_requestor: bool = REQUESTOR) -> Talk:
        data = ECHO if from_requestor else build_response(ECHO, 0)
        return self.send(from_requestor, message(data, 1))

    def records(self, **options: object) -> list[object]:
        capture = self.conversation.close().capture()
        return list(decode_capture(capture, **options))  # type: ignore[arg-type]


def table_problems(found: list[object]) -> list[tuple[str | None, str | None, int | None]]:
    return [
        (r.state, r.event, r.frame)
        for r in found
        if isinstance(r, CaptureProblem) and r.diagnostic.code is DiagnosticCode.UNEXPECTED_PDU
    ]


def events(found: list[object]) -> list[str]:
    return [r.event for r in found if isinstance(r, AssociationEvent)]


def test_the_everyday_conversation_breaks_no_rule() -> None:
    found = list(decode_capture(echo_and_store(segment=7).capture()))
    assert table_problems(found) == []
    assert "release-collision" not in events(found)
    assert not [r for r in found if isinstance(r, CaptureProblem)]


def test_p_data_before_the_a_associate_ac() -> None:
    talk = Talk().send(REQUESTOR, encode_pdu(RQ)).echo().send(ACCEPTOR, encode_pdu(AC))
    found = talk.records()
    # the acceptor, awaiting its own A-ASSOCIATE response (Sta3), receives a P-DATA-TF (Evt10)
    assert table_problems(found) == [("Sta3", "Evt10", talk.frames[1])]
    (problem,) = [r for r in found if isinstance(r, CaptureProblem)]
    assert problem.direction is R2A and problem.association == 0
    assert problem.diagnostic.path == "Upper Layer"
    assert "AA-8" in problem.diagnostic.message and "P-DATA-TF from the requestor" in (
        problem.diagnostic.message
    )
    assert events(found) == ["request", "accept", "close"]  # the AC still establishes it


def test_data_after_ones_own_a_release_rq() -> None:
    talk = Talk().associate().send(REQUESTOR, encode_pdu(AReleaseRQ())).echo()
    talk.send(ACCEPTOR, encode_pdu(AReleaseRP()))
    found = talk.records()
    # the acceptor has the A-RELEASE-RQ (Sta8: awaiting its local release response)
    assert table_problems(found) == [("Sta8", "Evt10", talk.frames[3])]
    (problem,) = [r for r in found if isinstance(r, CaptureProblem)]
    assert problem.direction is R2A


def test_the_ndjson_line_carries_the_state_and_the_event() -> None:
    talk = Talk().associate().send(REQUESTOR, encode_pdu(AReleaseRQ())).echo()
    talk.send(ACCEPTOR, encode_pdu(AReleaseRP()))
    (problem,) = [r for r in talk.records() if isinstance(r, CaptureProblem)]
    line = record_json(problem)
    assert (line["type"], line["code"], line["state"], line["event"]) == (
        "diagnostic", "UNEXPECTED_PDU", "Sta8", "Evt10",
    )  # fmt: skip


def test_a_response_crossing_the_a_release_rq_is_fine() -> None:
    # the requestor asks to release while the acceptor's response is on its way (PS3.8 AR-6/AR-7)
    talk = Talk().associate().echo().send(REQUESTOR, encode_pdu(AReleaseRQ()))
    talk.echo(ACCEPTOR).send(ACCEPTOR, encode_pdu(AReleaseRP()))
    found = talk.records()
    assert table_problems(found) == []
    assert events(found) == ["request", "accept", "release-request", "release"]


def test_a_pdu_after_the_a_abort() -> None:
    talk = Talk().associate().send(REQUESTOR, encode_pdu(ABORT)).echo()
    found = talk.records()
    # the acceptor's machine went back to Idle (AA-3): Table 9-10 has no cell for Evt10 there
    assert table_problems(found) == [("Sta1", "Evt10", talk.frames[3])]
    (problem,) = [r for r in found if isinstance(r, CaptureProblem)]
    assert "no transition" in problem.diagnostic.message


def test_data_crossing_an_a_abort_is_fine_but_not_once_the_abort_was_read() -> None:
    talk = Talk().associate().echo().send(REQUESTOR, encode_pdu(ABORT))
    talk.echo(ACCEPTOR)  # crossed the A-ABORT: sent before the acceptor could read it
    talk.echo(ACCEPTOR)  # the A-ABORT was read (the acceptor sent since): Sta1, local P-DATA
    found = talk.records()
    assert table_problems(found) == [("Sta1", "Evt9", talk.frames[5])]
    problem = next(r for r in found if isinstance(r, CaptureProblem))
    assert problem.direction is A2R
    assert "for the acceptor's machine in Sta1" in problem.diagnostic.message


def test_a_release_collision_is_an_event_not_a_problem() -> None:
    talk = Talk().associate()
    talk.send(REQUESTOR, encode_pdu(AReleaseRQ())).send(ACCEPTOR, encode_pdu(AReleaseRQ()))
    talk.send(REQUESTOR, encode_pdu(AReleaseRP())).send(ACCEPTOR, encode_pdu(AReleaseRP()))
    found = talk.records()
    assert table_problems(found) == []
    assert events(found) == [
        "request",
        "accept",
        "release-request",
        "release-request",
        "release-collision",
        "release",
        "release",
    ]
    collision = next(
        r for r in found if isinstance(r, AssociationEvent) and r.event == "release-collision"
    )
    assert collision.frame == talk.frames[3] and collision.direction is A2R


def test_an_a_associate_ac_twice() -> None:
    talk = Talk().associate().send(ACCEPTOR, encode_pdu(AC))
    found = talk.records()
    assert table_problems(found) == [("Sta6", "Evt3", talk.frames[2])]
    (problem,) = [r for r in found if isinstance(r, CaptureProblem)]
    assert problem.direction is A2R and "A-ASSOCIATE-AC from the acceptor" in (
        problem.diagnostic.message
    )


def test_a_second_a_associate_rq_on_the_same_connection() -> None:
    talk = Talk().associate().send(REQUESTOR, encode_pdu(RQ))
    found = talk.records()
    assert table_problems(found) == [("Sta6", "Evt6", talk.frames[2])]
    problem = next(r for r in found if isinstance(r, CaptureProblem))
    assert problem.association == 0  # judged on the association it interrupts
    assert events(found).count("request") == 2


def test_a_capture_begun_mid_association_is_not_judged() -> None:
    talk = Talk().associate().echo().echo(ACCEPTOR)
    talk.send(REQUESTOR, encode_pdu(AReleaseRQ())).echo()  # data after the RQ: unjudged
    capture = pcap(talk.conversation.close().frames[5:], link_type=101, nanoseconds=True)
    found = list(decode_capture(capture))
    assert events(found)[0] == "mid-stream"
    assert table_problems(found) == []


def test_table_problems_are_capped_per_code() -> None:
    talk = Talk().associate().send(REQUESTOR, encode_pdu(ABORT))
    for _ in range(5):
        talk.echo()
    policy = Policy(limits=Limits(max_diagnostics=2))
    found = talk.records(policy=policy)
    assert len(table_problems(found)) == 3  # two shown, then the one that counts the rest
    rest = [r for r in found if isinstance(r, CaptureProblem) and r.count > 1]
    assert [r.count for r in rest] == [3]
