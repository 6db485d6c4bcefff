"""Responses from handler results (PS3.7 9.3 and 10.3): build_response, RequestContext, handle."""

from __future__ import annotations

import datetime

import pytest
from pydicom.dataset import Dataset

from dimse_codec import (
    C_CANCEL,
    C_FIND,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_EVENT_REPORT,
    DecodeError,
    DiagnosticCode,
    InvalidParameter,
    InvalidParameterType,
    StatusCategory,
    decode_message,
    encode_message,
    validate,
)
from dimse_codec.dimse.responses import (
    NO_HANDLER_STATUS,
    Event,
    PresentationContextTuple,
    RequestContext,
    build_response,
    handle,
    no_handler_response,
)
from dimse_codec.tables.messages import CONDITIONS

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def action_request() -> N_ACTION:
    info = Dataset()
    info.PatientID = "ABC"
    rq = N_ACTION(
        MessageID=7,
        RequestedSOPClassUID="1.2.840.10008.1.20.1",
        RequestedSOPInstanceUID="1.2.840.10008.1.20.1.1",
        ActionTypeID=1,
        ActionInformation=info,
    )
    # travel over the wire and back, as a received request would
    return decode_message(*encode_message(rq)[:2])  # type: ignore[return-value]


def reply() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Tube^HeNe"
    return ds


def test_success_with_reply_copies_equal_parameters() -> None:
    rq = action_request()
    rsp = build_response(rq, 0x0000, reply())
    assert isinstance(rsp, N_ACTION)
    assert rsp.MessageIDBeingRespondedTo == 7
    assert rsp.ActionTypeID == 1  # C(=): copied with a successful reply
    assert rsp.AffectedSOPClassUID == "1.2.840.10008.1.20.1"
    assert rsp.AffectedSOPInstanceUID == "1.2.840.10008.1.20.1.1"
    assert rsp.ActionReply is not None
    assert validate(rsp, is_request=False, request=rq)
    assert rsp.diagnostics == ()
    again = decode_message(*encode_message(rsp)[:2])
    assert again == rsp


def test_reply_only_for_success_or_warning() -> None:
    rsp = build_response(action_request(), 0xC000, reply())
    assert rsp.ActionReply is None
    assert rsp.ActionTypeID is None
    assert [d.code.value for d in rsp.diagnostics] == ["DATA_SET_UNEXPECTED"]
    warning = build_response(action_request(), 0x0001, reply())
    assert warning.ActionReply is not None


def test_status_dataset_with_optional_elements() -> None:
    status = Dataset()
    status.Status = 0x0110
    status.ErrorComment = "It broke"
    status.ErrorID = 12
    status.OffendingElement = [0x00100010]  # N-ACTION-RSP cannot carry it
    rsp = build_response(action_request(), status)
    assert rsp.Status == 0x0110
    assert rsp.ErrorComment == "It broke"
    assert rsp.ErrorID == 12
    assert [d.code.value for d in rsp.diagnostics] == ["ELEMENT_NOT_ALLOWED"]
    assert "OffendingElement" in rsp.diagnostics[0].message
    assert rsp.is_valid_response


def test_status_dataset_needs_a_status() -> None:
    status = Dataset()
    status.ErrorComment = "no status"
    with pytest.raises(InvalidParameter, match=r"\(0000,0900\)"):
        build_response(action_request(), status)
    with pytest.raises(InvalidParameterType):
        build_response(action_request(), "0")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter):
        build_response(action_request(), 0x10000)


def test_no_handler_is_processing_failure_with_a_comment() -> None:
    for rsp in (no_handler_response(action_request()), handle(action_request(), None)):
        assert rsp.Status == NO_HANDLER_STATUS == 0x0110
        assert rsp.ErrorComment == "No handler serves N-ACTION requests"
        assert rsp.is_valid_response


def test_handle_calls_the_handler_with_an_event() -> None:
    seen: list[Event] = []
    context = PresentationContextTuple(1, "1.2.840.10008.1.20.1", "1.2.840.10008.1.2")
    when = datetime.datetime(2026, 11, 21, 12, 0)

    def handler(event: Event) -> tuple[int, Dataset]:
        seen.append(event)
        assert event.action_information.PatientID == "ABC"
        return 0x0000, reply()

    rsp = handle(action_request(), handler, context, timestamp=when)
    assert rsp.Status == 0 and rsp.ActionReply is not None
    event = seen[0]
    assert event.name == "EVT_N_ACTION"
    assert event.context is context and event.timestamp == when
    assert event.request.MessageID == 7


def test_handler_errors_still_answer_the_peer() -> None:
    def not_implemented(event: Event) -> int:
        raise NotImplementedError

    def broken(event: Event) -> int:
        raise RuntimeError("oops")

    assert (
        handle(action_request(), not_implemented).ErrorComment
        == "No handler serves N-ACTION requests"
    )
    failed = handle(action_request(), broken)
    assert failed.Status == 0x0110 and failed.ErrorComment == "Handler raised RuntimeError"


def test_event_decodes_lazily_in_the_context_transfer_syntax() -> None:
    info = Dataset()
    info.PatientID = "XY"
    rq = N_EVENT_REPORT(
        MessageID=1, AffectedSOPClassUID="1.2.3", AffectedSOPInstanceUID="1.2.3.4", EventTypeID=1
    )
    rq.transfer_syntax = EXPLICIT_LE
    rq.EventInformation = info
    raw = encode_message(rq).dataset
    received = decode_message(encode_message(rq).command_set, raw)
    event = Event(received, PresentationContextTuple(1, "1.2.3", EXPLICIT_LE))
    assert event.event_information.PatientID == "XY"
    assert event.event_information is event.event_information  # decoded once
    with pytest.raises(InvalidParameter):
        _ = event.action_information
    # garbage is an error at once, not on first use of the Dataset
    broken = decode_message(encode_message(rq).command_set, b"\x10\x00\x20\x00LO\x09\x00ab")
    with pytest.raises(DecodeError):
        _ = Event(broken, PresentationContextTuple(1, "1.2.3", EXPLICIT_LE)).event_information


def test_find_identifier_goes_with_pending_and_extra_parameters() -> None:
    rq = C_FIND(
        MessageID=3,
        AffectedSOPClassUID="1.2.840.10008.5.1.4.1.2.1.1",
        Priority=2,
        Identifier=reply(),
    )
    pending = build_response(rq, 0xFF00, reply())
    assert pending.Identifier is not None and pending.is_valid_response
    final = build_response(rq, 0x0000, reply())
    assert final.Identifier is None and final.is_valid_response


def test_n_create_instance_uid_can_be_given() -> None:
    rq = N_CREATE(MessageID=2, AffectedSOPClassUID="1.2.840.10008.3.1.2.3.3")
    rsp = build_response(rq, 0, AffectedSOPInstanceUID="1.2.3.4.5")
    assert validate(rsp, is_request=False, request=rq)


def test_store_response_copies_affected_uids_and_cancel_has_none() -> None:
    rq = C_STORE(
        MessageID=5,
        AffectedSOPClassUID="1.2.840.10008.5.1.4.1.1.2",
        AffectedSOPInstanceUID="1.2.3",
        Priority=2,
        DataSet=b"\x00" * 8,
    )
    rsp = build_response(rq, 0)
    assert rsp.AffectedSOPInstanceUID == "1.2.3" and rsp.is_valid_response
    with pytest.raises(InvalidParameter, match="no response"):
        build_response(C_CANCEL(MessageIDBeingRespondedTo=5), 0)


def test_event_is_request_context_under_pynetdicoms_name() -> None:
    assert Event is RequestContext
    request = action_request()
    context = RequestContext(request)
    assert context.request is request and context.name == "EVT_N_ACTION"


def test_the_reply_rule_comes_from_the_condition_record() -> None:
    # CONDITIONS["reply_on_success"].only_with decides: a Failure leaves the reply out
    assert CONDITIONS["reply_on_success"].only_with == {
        StatusCategory.SUCCESS,
        StatusCategory.WARNING,
    }
    reply = Dataset()
    reply.PatientID = "X"
    failed = build_response(action_request(), 0x0110, reply)
    assert failed.ActionReply is None
    assert [d.code for d in failed.diagnostics] == [DiagnosticCode.DATA_SET_UNEXPECTED]
    assert build_response(action_request(), 0x0000, reply).ActionReply is not None
