"""DICOM over captured TCP: associations, messages, matching, gaps and mid-stream starts."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from capture_builder import pcap
from dicom_conversation import (
    CT,
    EXPLICIT,
    IMPLICIT,
    VERIFICATION,
    Conversation,
    echo_and_store,
    lossy_store,
    message,
)

from dimse_codec import C_ECHO, C_STORE
from dimse_codec.association import build_request, respond
from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureProblem,
    DicomDirection,
    StreamGap,
    decode_capture,
)
from dimse_codec.diagnostics import DiagnosticCode
from dimse_codec.dimse.responses import build_response
from dimse_codec.pcap import GapReason
from dimse_codec.pdu import AAbort, AbortReason, AbortSource, RejectReasonUser, encode_pdu

R2A = DicomDirection.REQUESTOR_TO_ACCEPTOR
A2R = DicomDirection.ACCEPTOR_TO_REQUESTOR
STORE_DATA = b"\x08\x00\x16\x00UI\x06\x001.2.3\x00"


def records(capture: bytes, **options: object) -> list[object]:
    return list(decode_capture(capture, **options))  # type: ignore[arg-type]


def messages(found: list[object]) -> list[CapturedMessage]:
    return [r for r in found if isinstance(r, CapturedMessage)]


def association_events(found: list[object]) -> list[str]:
    return [r.event for r in found if isinstance(r, AssociationEvent)]


@pytest.mark.parametrize("segment", [3, 7, 64, 1400])
def test_the_everyday_conversation(segment: int) -> None:
    found = records(echo_and_store(segment).capture())
    assert association_events(found) == [
        "request",
        "accept",
        "release-request",
        "release",
    ]
    got = messages(found)
    assert [(m.name, m.direction, m.context_id) for m in got] == [
        ("C-ECHO-RQ", R2A, 1),
        ("C-ECHO-RSP", A2R, 1),
        ("C-STORE-RQ", R2A, 3),
        ("C-STORE-RSP", A2R, 3),
    ]
    echo_rq, echo_rsp, store_rq, store_rsp = got
    assert (echo_rq.abstract_syntax, echo_rq.transfer_syntax) == (VERIFICATION, IMPLICIT)
    assert (store_rq.abstract_syntax, store_rq.transfer_syntax) == (CT, EXPLICIT)
    assert store_rq.transfer_syntax_guessed is None
    assert store_rq.dataset is not None and bytes(store_rq.dataset) == STORE_DATA
    assert store_rq.dataset_sha256 == hashlib.sha256(STORE_DATA).hexdigest()
    assert echo_rsp.request_frame == echo_rq.frame and store_rsp.request_frame == store_rq.frame
    assert echo_rsp.response_time_ns is not None and echo_rsp.response_time_ns > 0
    assert store_rsp.status == 0xB000 and echo_rq.status is None
    assert all(m.first_frame <= m.frame for m in got)
    assert all(not m.diagnostics for m in got)
    accept = next(r for r in found if isinstance(r, AssociationEvent) and r.event == "accept")
    record = accept.association
    assert (record.calling_ae_title, record.called_ae_title) == ("STORESCU", "ARCHIVE")
    assert str(record.requestor) == "10.0.0.1:40000" and str(record.acceptor) == "10.0.0.2:11112"
    assert dict(record.accepted_contexts) == {1: (VERIFICATION, IMPLICIT), 3: (CT, EXPLICIT)}
    release = [r for r in found if isinstance(r, AssociationEvent)][-1]
    assert release.association.state == "released"


def test_frames_point_at_the_segments_that_carried_each_message() -> None:
    conversation = echo_and_store(segment=7)
    found = records(conversation.capture())
    for m in messages(found):
        # the first frame holds the first PDV header of the message, the last its last byte
        assert m.first_frame < m.frame <= len(conversation.frames)


def test_a_capture_that_starts_mid_association() -> None:
    conversation = echo_and_store()
    # keep only the frames after the A-ASSOCIATE exchange (the handshake and 2 PDUs are 5 frames)
    capture = pcap(conversation.frames[5:], link_type=101, nanoseconds=True)
    found = records(capture)
    events = [r for r in found if isinstance(r, AssociationEvent)]
    assert events[0].event == "mid-stream" and events[0].association.state == "unknown"
    got = messages(found)
    assert [m.name for m in got] == ["C-ECHO-RQ", "C-ECHO-RSP", "C-STORE-RQ", "C-STORE-RSP"]
    assert got[0].direction is R2A  # a request that is not N-EVENT-REPORT: the requestor sent it
    store = got[2]
    assert store.transfer_syntax == EXPLICIT and store.transfer_syntax_guessed
    assert store.abstract_syntax is None
    gaps = [r for r in found if isinstance(r, StreamGap)]
    assert {g.reason for g in gaps} == {GapReason.STREAM_START}


def test_a_named_port_makes_any_connection_dicom_and_names_the_acceptor() -> None:
    echo = C_ECHO(MessageID=5, AffectedSOPClassUID=VERIFICATION)
    conversation = Conversation(server=("10.0.0.2", 4242))
    conversation.send(False, message(build_response(echo, 0), 1))  # only a response is seen
    capture = conversation.capture()
    assert messages(records(capture)) == []  # one PDU mid-stream is not enough to call it DICOM
    (rsp,) = messages(records(capture, port=4242))
    assert rsp.name == "C-ECHO-RSP" and rsp.direction is A2R


def test_a_lone_association_request_without_the_handshake_is_dicom() -> None:
    rq = build_request("MODALITY", "ARCHIVE", [(VERIFICATION, [IMPLICIT])])
    conversation = Conversation(server=("10.0.0.2", 4242))  # no SYN: recording began after it
    capture = conversation.send(True, encode_pdu(rq)).capture()
    found = records(capture)  # no --port: the whole A-ASSOCIATE-RQ says it is DICOM
    events = [r for r in found if isinstance(r, AssociationEvent)]
    assert events and events[0].association.calling_ae_title == "MODALITY"
    # a lone PDU of another kind still needs a port (one header proves nothing)
    bogus = Conversation(server=("10.0.0.2", 4242)).send(True, encode_pdu(AAbort())).capture()
    assert not [r for r in records(bogus) if isinstance(r, AssociationEvent)]


def test_other_tcp_traffic_is_ignored() -> None:
    conversation = Conversation(server=("10.0.0.2", 80)).handshake()
    conversation.send(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").send(
        False, b"HTTP/1.1 200 OK\r\n"
    )
    assert records(conversation.close().capture()) == []


def test_a_lost_segment_is_reported_and_decoding_resumes() -> None:
    conversation = echo_and_store(segment=40)
    # lose one segment in the middle of the C-STORE-RQ (client to server)
    store_frames = [
        i
        for i, frame in enumerate(conversation.frames)
        if frame.data[12:16] == bytes([10, 0, 0, 1]) and len(frame.data) > 40
    ]
    victim = store_frames[len(store_frames) * 3 // 4]
    frames = conversation.frames[:victim] + conversation.frames[victim + 1 :]
    found = records(pcap(frames, link_type=101, nanoseconds=True))
    gaps = [r for r in found if isinstance(r, StreamGap)]
    assert len(gaps) == 1 and gaps[0].direction is R2A and gaps[0].length == 40
    problems = [r for r in found if isinstance(r, CaptureProblem)]
    assert problems and all(p.association == 0 for p in problems)
    names = [m.name for m in messages(found)]
    assert names[:2] == ["C-ECHO-RQ", "C-ECHO-RSP"]
    assert "C-STORE-RSP" in names  # the other direction is untouched
    assert association_events(found)[-1] == "release"  # and the stream resynchronised


def test_a_message_whose_data_set_lost_a_segment_is_still_a_message() -> None:
    found = records(lossy_store())
    gaps = [r for r in found if isinstance(r, StreamGap)]
    assert len(gaps) == 1 and gaps[0].direction is R2A and gaps[0].length == 40
    got = messages(found)
    assert [m.name for m in got] == ["C-ECHO-RQ", "C-ECHO-RSP", "C-STORE-RQ", "C-STORE-RSP"]
    store, response = got[2], got[3]
    assert store.primitive.MessageID == 2  # type: ignore[attr-defined]
    assert store.primitive.AffectedSOPInstanceUID == "1.2.3"  # type: ignore[attr-defined]
    assert store.incomplete is not None
    assert store.incomplete.code is DiagnosticCode.MESSAGE_INCOMPLETE
    # its last fragment came after the gap: one message, with the gap inside it
    assert store.incomplete.message == (
        f"its last fragment arrived, but 1 gap(s) lost {gaps[0].length} bytes of the stream "
        "while it was sent"
    )
    assert store.incomplete.offset == gaps[0].offset  # where the bytes went missing
    assert store.gaps == ((gaps[0].offset, gaps[0].length),)
    assert store.bytes_missing == gaps[0].length
    assert store.dataset is not None and store.dataset_announced is not None
    assert len(store.dataset) <= store.dataset_announced <= len(store.dataset) + gaps[0].length
    assert store.incomplete in store.diagnostics
    # the bytes that arrived are kept, but never digested as if whole
    assert store.dataset is not None and 0 < len(store.dataset) < 410
    assert bytes(store.dataset).startswith(b"\x10\x00\x10\x00PN\x90\x01AAAA")
    assert store.dataset_sha256 is None
    assert response.incomplete is None and response.request_frame == store.frame
    assert response.response_time_ns is not None
    # no MESSAGE_INCOMPLETE problem stands for it any more: the message does
    problems = [r for r in found if isinstance(r, CaptureProblem)]
    assert all(p.diagnostic.code is not DiagnosticCode.MESSAGE_INCOMPLETE for p in problems)
    assert association_events(found)[-1] == "release"


def test_abort_and_reject_are_association_events() -> None:
    rq = build_request("SCU", "WRONG", [(VERIFICATION, [IMPLICIT])])
    refused = respond(rq, {VERIFICATION: [IMPLICIT]}, called_ae_titles=["ARCHIVE"])
    conversation = Conversation().handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(refused.pdu)).close()
    found = records(conversation.capture())
    assert association_events(found) == ["request", "reject"]
    rejected = [r for r in found if isinstance(r, AssociationEvent)][-1].association
    assert rejected.state == "rejected"
    assert rejected.answer is not None and rejected.answer.reason_diag == RejectReasonUser(7)

    rq = build_request("SCU", "ARCHIVE", [(VERIFICATION, [IMPLICIT])])
    accepted = respond(rq, {VERIFICATION: [IMPLICIT]})
    abort = AAbort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU)
    conversation = Conversation().handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(False, encode_pdu(abort)).close()
    found = records(conversation.capture())
    assert association_events(found) == ["request", "accept", "abort"]
    aborted = [r for r in found if isinstance(r, AssociationEvent)][-1].association
    assert aborted.state == "aborted" and aborted.abort == abort


def test_concurrent_associations_are_tracked_apart() -> None:
    one = echo_and_store(segment=50)
    two = echo_and_store(segment=30)
    two.client = ("10.0.0.3", 40001)
    two = replace(two, frames=[])
    two.handshake()
    rq = build_request("OTHER", "ARCHIVE", [(VERIFICATION, [IMPLICIT])])
    two.send(True, encode_pdu(rq))
    two.send(False, encode_pdu(respond(rq, {VERIFICATION: [IMPLICIT]}).pdu))
    echo = C_ECHO(MessageID=9, AffectedSOPClassUID=VERIFICATION)
    two.send(True, message(echo, 1)).send(False, message(build_response(echo, 0), 1)).close()
    frames = sorted(one.frames + two.frames, key=lambda f: f.time_ns)
    found = records(pcap(frames, link_type=101, nanoseconds=True))
    got = messages(found)
    by_association: dict[int, list[str]] = {}
    for m in got:
        by_association.setdefault(m.association, []).append(m.name)
    assert sorted(by_association.values(), key=len) == [
        ["C-ECHO-RQ", "C-ECHO-RSP"],
        ["C-ECHO-RQ", "C-ECHO-RSP", "C-STORE-RQ", "C-STORE-RSP"],
    ]
    assert all(m.request_frame is not None for m in got if m.name.endswith("RSP"))


def test_a_truncated_capture_ends_the_association_as_truncated() -> None:
    conversation = echo_and_store()
    capture = pcap(conversation.frames[:-6], link_type=101, nanoseconds=True)
    found = records(capture)
    last = [r for r in found if isinstance(r, AssociationEvent)][-1]
    assert last.event == "truncated" and last.association.state == "truncated"


def test_a_file_cut_mid_record_ends_with_a_truncation_problem() -> None:
    capture = echo_and_store().capture()
    frames: list[int] = []
    found = list(decode_capture(capture[:-5], on_frame=frames.append))
    last = found[-1]
    assert isinstance(last, CaptureProblem) and last.diagnostic.code.value == "STREAM_TRUNCATED"
    assert frames == list(range(1, len(frames) + 1)) and frames
    assert not any(
        isinstance(r, CaptureProblem) and r.diagnostic.code.value == "STREAM_TRUNCATED"
        for r in records(capture)
    )


def _associated() -> Conversation:
    rq = build_request("STORESCU", "ARCHIVE", [(VERIFICATION, [IMPLICIT])], max_pdu_length=16384)
    accepted = respond(rq, {VERIFICATION: [IMPLICIT]}, max_pdu_length=16384)
    conversation = Conversation().handshake()
    return conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))


def test_messages_finished_before_an_undecodable_pdu_are_kept() -> None:
    """A whole C-ECHO and a PDU over the cap in one segment: the echo survives the refusal."""
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    oversized = b"\x01\x00" + (0x10000000).to_bytes(4, "big") + bytes(70)
    capture = _associated().send(True, message(echo, 1) + oversized).close().capture()
    found = records(capture)
    assert [m.name for m in messages(found)] == ["C-ECHO-RQ"]
    problems = [r.diagnostic.code.value for r in found if isinstance(r, CaptureProblem)]
    assert problems == ["UNDECODABLE"]


def test_a_p_data_over_the_negotiated_maximum_is_reported_then_refused_past_the_cap() -> None:
    """Up to the cap a P-DATA-TF over the receiver's limit is reported and decoded; a length
    past it (a corrupt length field) is refused and decoding resumes at the next PDU header."""
    store = C_STORE(
        MessageID=1,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID="1.2.3",
        Priority=0,
        DataSet=STORE_DATA * 2000,  # 34 kB in one PDU: over the 16384 announced
    )
    echo = C_ECHO(MessageID=2, AffectedSOPClassUID=VERIFICATION)
    corrupt = b"\x04\x00" + (2 << 20).to_bytes(4, "big") + message(echo, 1)[6:]
    rq = build_request(
        "STORESCU", "ARCHIVE", [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT])], max_pdu_length=16384
    )
    accepted = respond(rq, {VERIFICATION: [IMPLICIT], CT: [EXPLICIT]}, max_pdu_length=16384)
    conversation = Conversation().handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(store, 3, max_pdu=0))
    conversation.send(True, corrupt).send(True, message(echo, 1))
    found = records(conversation.close().capture())
    assert [m.name for m in messages(found)] == ["C-STORE-RQ", "C-ECHO-RQ"]
    codes = [r.diagnostic.code.value for r in found if isinstance(r, CaptureProblem)]
    assert codes == ["PDU_OVER_MAXIMUM", "UNDECODABLE"]
