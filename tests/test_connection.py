"""The Upper Layer table (PS3.8 9.2) as data, and the sans-I/O Connection that walks it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from pydicom.dataset import Dataset

from dimse_codec import C_CANCEL, C_ECHO, C_FIND, C_STORE, STRICT
from dimse_codec.association import respond
from dimse_codec.dataset import encode_dataset
from dimse_codec.dimse.responses import build_response
from dimse_codec.errors import LocalProtocolError, RemoteProtocolError, TransferSyntaxMismatch
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import (
    AAbort,
    AbortReason,
    AbortSource,
    RejectReasonUser,
    decode_pdu,
    encode_pdu,
)
from dimse_codec.policy import DiagnosticCode
from dimse_codec.tables.upper_layer import ACTIONS, EVENTS, STATES, TRANSITIONS
from dimse_codec.upper_layer import (
    Aborted,
    AssociationAccepted,
    AssociationRejected,
    AssociationRequested,
    Connection,
    ConnectionClosed,
    Event,
    MessageReceived,
    ProtocolDiagnostic,
    ReleaseConfirmed,
    ReleaseRequested,
    Timeouts,
)


def test_the_table_names_only_its_own_states_events_and_actions() -> None:
    assert list(STATES) == [f"Sta{n}" for n in range(1, 14)]
    assert list(EVENTS) == [f"Evt{n}" for n in range(1, 20)]
    assert len(ACTIONS) == 28 and set(TRANSITIONS.values()) == set(ACTIONS)
    for (state, event), action in TRANSITIONS.items():
        assert state in STATES and event in EVENTS
        for nxt in ACTIONS[action].next_states:
            assert nxt in STATES
    assert TRANSITIONS[("Sta6", "Evt3")] == "AA-8"
    assert TRANSITIONS[("Sta7", "Evt12")] == "AR-8"
    assert ACTIONS["AR-8"].next_states == ("Sta9", "Sta10")
    assert ("Sta1", "Evt3") not in TRANSITIONS  # an empty cell


# -- two Connections back to back  ----------------------------------------------------------------

VERIFICATION = "1.2.840.10008.1.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Query/Retrieve - FIND
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
SUPPORTED = {VERIFICATION: [IMPLICIT], SECONDARY_CAPTURE: [EXPLICIT, IMPLICIT], FIND: [IMPLICIT]}
PROPOSED = [
    (VERIFICATION, [IMPLICIT]),
    (SECONDARY_CAPTURE, [IMPLICIT, EXPLICIT]),
    (FIND, [IMPLICIT]),
    (SECONDARY_CAPTURE, [JPEG_BASELINE]),  # context 7: rejected, no transfer syntax supported
]


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]


def deliver(sender: Connection, receiver: Connection) -> list[Event]:
    """What ``receiver`` makes of everything ``sender`` has to send."""
    return receiver.receive_data(sender.data_to_send())


def associate(scp: Connection | None = None, **request: object) -> tuple[Connection, Connection]:
    """A requestor and an acceptor wired back to back, associated (both in Sta6)."""
    scu = Connection("requestor")
    scp = scp or Connection("acceptor", supported=SUPPORTED, max_pdu_length=4096)
    assert scp.transport_connected() == []
    scu.request_association("SCU", "SCP", PROPOSED, **request)  # type: ignore[arg-type]
    assert scu.transport_connected() == [] and scu.state == "Sta5"
    events = deliver(scu, scp)
    assert kinds(events) == ["AssociationRequested", "AssociationAccepted"]
    events = deliver(scp, scu)
    assert kinds(events) == ["AssociationAccepted"]
    assert scu.state == scp.state == "Sta6"
    return scu, scp


def test_association_negotiates_both_sides_and_the_decoder_learns_the_syntaxes() -> None:
    scu, scp = associate()
    assert scu.association is not None and scp.association is not None
    assert scu.association.peer_max_pdu_length == 4096
    assert sorted(scu.association.accepted_contexts) == [1, 3, 5]
    assert sorted(scp.association.rejected_contexts) == [7]
    assert scu.association.accepted_contexts[3].transfer_syntax == EXPLICIT
    assert scu.next_deadline() is None  # the ACSE timer stopped at the A-ASSOCIATE-AC


def test_echo_allocates_a_message_id_and_the_response_ends_the_operation() -> None:
    scu, scp = associate()
    message_id = scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    assert message_id == 1 and scu.outstanding == (1,)
    (received,) = deliver(scu, scp)
    assert isinstance(received, MessageReceived)
    assert (received.context_id, received.abstract_syntax, received.transfer_syntax) == (
        1,
        VERIFICATION,
        IMPLICIT,
    )
    assert scp.peer_outstanding == (1,)
    assert scp.send_message(build_response(received.primitive, 0x0000)) is None
    assert scp.peer_outstanding == ()
    (answer,) = deliver(scp, scu)
    assert isinstance(answer, MessageReceived) and answer.primitive.Status == 0
    assert scu.outstanding == ()
    assert scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION)) == 2


def test_store_fragments_to_the_peers_maximum_and_the_data_set_decodes_in_its_syntax() -> None:
    scu, scp = associate()
    ds = Dataset()
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = "Wire^Test"
    ds.add_new(0x7FE00010, "OW", bytes(range(256)) * 64)  # 16 KiB: several 4096-byte PDUs
    rq = C_STORE(
        AffectedSOPClassUID=SECONDARY_CAPTURE, AffectedSOPInstanceUID="1.2.3.4.5", Priority=0
    )
    scu.send_message(rq, dataset=ds)
    wire = scu.data_to_send()
    pdus, at = [], 0
    while at < len(wire):
        length = int.from_bytes(wire[at + 2 : at + 6], "big")
        pdus.append(length)
        at += 6 + length
    assert len(pdus) > 4 and max(pdus) <= 4096
    (received,) = scp.receive_data(wire)
    assert isinstance(received, MessageReceived)
    assert received.transfer_syntax == EXPLICIT and received.context_id == 3
    assert received.dataset is not None
    assert bytes(received.dataset) == encode_dataset(ds, EXPLICIT)
    assert received.primitive.transfer_syntax == EXPLICIT


def test_a_data_set_its_context_cannot_carry_is_refused_unless_sent_as_is() -> None:
    scu, scp = associate()
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SECONDARY_CAPTURE, "1.2.3.4.6"
    item = b"\xfe\xff\x00\xe0" + (4).to_bytes(4, "little") + b"\xff\xd8\xff\xd9"
    basic_offset_table = b"\xfe\xff\x00\xe0" + bytes(4)
    end = b"\xfe\xff\xdd\xe0" + bytes(4)
    ds.add_new(0x7FE00010, "OB", basic_offset_table + item + end)  # encapsulated (PS3.5 A.4)
    ds[0x7FE00010].is_undefined_length = True
    rq = C_STORE(
        AffectedSOPClassUID=SECONDARY_CAPTURE, AffectedSOPInstanceUID="1.2.3.4.6", Priority=0
    )
    with pytest.raises(TransferSyntaxMismatch) as caught:
        scu.send_message(rq, dataset=ds)  # the context is Explicit VR Little Endian: native only
    assert "7FE0,0010" in str(caught.value).upper() and scu.state == "Sta6"
    assert scu.data_to_send() == b"" and scu.outstanding == ()
    message_id = scu.send_message(rq, dataset=ds, as_is=True)  # on purpose: a test of a peer
    (received,) = scp.receive_data(scu.data_to_send())
    assert isinstance(received, MessageReceived) and received.primitive.MessageID == message_id


def test_find_pending_responses_keep_the_operation_until_the_final_status() -> None:
    scu, scp = associate()
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = "*"
    message_id = scu.send_message(C_FIND(AffectedSOPClassUID=FIND, Priority=0), dataset=query)
    (request,) = deliver(scu, scp)
    assert isinstance(request, MessageReceived)
    for n in range(2):
        match = Dataset()
        match.PatientID = f"P{n}"
        scp.send_message(build_response(request.primitive, 0xFF00, match))
        (pending,) = deliver(scp, scu)
        assert isinstance(pending, MessageReceived) and pending.primitive.Status == 0xFF00
        assert scu.outstanding == (message_id,) and scp.peer_outstanding == (message_id,)
    scp.send_message(build_response(request.primitive, 0x0000))
    deliver(scp, scu)
    assert scu.outstanding == () and scp.peer_outstanding == ()


def test_cancel_names_an_outstanding_find_and_nothing_else() -> None:
    scu, scp = associate()
    message_id = scu.send_message(C_FIND(AffectedSOPClassUID=FIND, Priority=0), dataset=Dataset())
    deliver(scu, scp)
    assert message_id is not None
    scu.send_message(C_CANCEL(MessageIDBeingRespondedTo=message_id))
    assert scu.outstanding == (message_id,)  # a C-CANCEL is answered by the C-FIND's response
    (cancel,) = deliver(scu, scp)
    assert isinstance(cancel, MessageReceived) and isinstance(cancel.primitive, C_CANCEL)
    assert cancel.context_id == 5
    with pytest.raises(LocalProtocolError, match="C-CANCEL for message ID 99"):
        scu.send_message(C_CANCEL(MessageIDBeingRespondedTo=99))


def test_release_by_the_requestor() -> None:
    scu, scp = associate()
    scu.release()
    assert scu.state == "Sta7"
    assert deliver(scu, scp) == [ReleaseRequested()] and scp.state == "Sta8"
    scp.release_response()
    assert scp.state == "Sta13" and scp.next_deadline() is not None  # ARTIM runs
    assert kinds(deliver(scp, scu)) == ["ReleaseConfirmed", "ConnectionClosed"]
    assert scu.state == "Sta1"
    assert kinds(scp.transport_closed()) == ["ConnectionClosed"] and scp.state == "Sta1"
    assert scp.next_deadline() is None


def test_data_may_still_flow_to_the_side_that_asked_for_release() -> None:
    scu, scp = associate()
    scp.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))  # the acceptor invokes (AR-7 later)
    scu.release()
    deliver(scu, scp)
    assert scp.state == "Sta8"
    events = deliver(scp, scu)  # the echo reaches the requestor in Sta7: AR-6
    assert kinds(events) == ["MessageReceived"] and scu.state == "Sta7"


def test_release_collision_walks_sta9_to_sta12() -> None:
    scu, scp = associate()
    scu.release()
    scp.release()
    from_scu, from_scp = scu.data_to_send(), scp.data_to_send()
    assert scu.receive_data(from_scp) == [ReleaseRequested(collision=True)]
    assert scp.receive_data(from_scu) == [ReleaseRequested(collision=True)]
    assert (scu.state, scp.state) == ("Sta9", "Sta10")
    scu.release_response()
    assert scu.state == "Sta11"
    assert deliver(scu, scp) == [ReleaseConfirmed()] and scp.state == "Sta12"
    scp.release_response()
    assert scp.state == "Sta13"
    assert kinds(deliver(scp, scu)) == ["ReleaseConfirmed", "ConnectionClosed"]
    assert scu.state == "Sta1"


def test_the_acceptor_may_decide_after_the_indication() -> None:
    scu = Connection("requestor")
    scp = Connection("acceptor")
    scp.transport_connected()
    scu.request_association("SCU", "SCP", PROPOSED)
    scu.transport_connected()
    (requested,) = deliver(scu, scp)
    assert isinstance(requested, AssociationRequested) and scp.state == "Sta3"
    assert requested.request.calling_ae_title == "SCU"
    assert kinds(scp.accept({VERIFICATION: [IMPLICIT]})) == ["AssociationAccepted"]
    assert scp.state == "Sta6"
    (accepted,) = deliver(scp, scu)
    assert isinstance(accepted, AssociationAccepted)
    assert list(accepted.association.accepted_contexts) == [1]


def test_reject_ends_both_sides() -> None:
    scu = Connection("requestor")
    scp = Connection("acceptor")
    scp.transport_connected(now=10.0)
    scu.request_association("SCU", "SCP", PROPOSED)
    scu.transport_connected()
    deliver(scu, scp)
    assert kinds(scp.reject(RejectReasonUser.CALLING_AE_TITLE_NOT_RECOGNIZED)) == [
        "AssociationRejected"
    ]
    assert scp.state == "Sta13" and scp.next_deadline() == 40.0
    events = deliver(scp, scu)
    assert kinds(events) == ["AssociationRejected", "ConnectionClosed"]
    rejected = events[0]
    assert isinstance(rejected, AssociationRejected) and rejected.by_peer
    assert rejected.rejected.reason == RejectReasonUser.CALLING_AE_TITLE_NOT_RECOGNIZED
    assert scu.state == "Sta1" and scu.association is None
    assert kinds(scp.handle_timeout(40.0)) == ["ConnectionClosed"]  # ARTIM: AA-2


@pytest.mark.parametrize("who", ["requestor", "acceptor"])
def test_abort_either_way(who: str) -> None:
    scu, scp = associate()
    aborting, other = (scu, scp) if who == "requestor" else (scp, scu)
    assert aborting.abort() == [] and aborting.state == "Sta13"
    wire = aborting.data_to_send()
    assert decode_pdu(wire) == AAbort(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED)
    events = other.receive_data(wire)
    assert kinds(events) == ["Aborted", "ConnectionClosed"] and other.state == "Sta1"
    aborted = events[0]
    assert isinstance(aborted, Aborted) and not aborted.local
    assert aborted.source == AbortSource.SERVICE_USER
    assert kinds(aborting.transport_closed()) == ["ConnectionClosed"]


def test_artim_expires_when_no_request_comes() -> None:
    scp = Connection("acceptor", supported=SUPPORTED, timeouts=Timeouts(artim=5.0))
    scp.transport_connected(now=100.0)
    assert scp.state == "Sta2" and scp.next_deadline() == 105.0
    assert scp.handle_timeout(104.9) == [] and scp.state == "Sta2"
    assert kinds(scp.handle_timeout(105.0)) == ["ConnectionClosed"]
    assert scp.state == "Sta1" and scp.next_deadline() is None
    assert scp.data_to_send() == b""  # AA-2 closes without a PDU


def test_the_acse_timeout_aborts_a_request_nobody_answers() -> None:
    scu = Connection("requestor", timeouts=Timeouts(acse=3.0))
    scu.request_association("SCU", "SCP", PROPOSED)
    scu.transport_connected(now=0.0)
    scu.data_to_send()
    assert scu.next_deadline() == 3.0
    events = scu.handle_timeout(3.5)
    assert kinds(events) == ["Aborted"] and scu.state == "Sta13"
    aborted = events[0]
    assert isinstance(aborted, Aborted) and aborted.local and "acse" in aborted.description
    assert decode_pdu(scu.data_to_send()) == AAbort(AbortSource.SERVICE_USER, 0)
    assert scu.next_deadline() == 3.5 + 30.0  # ARTIM now bounds the wait for the close


def test_the_dimse_timeout_runs_while_an_operation_is_outstanding() -> None:
    scu, scp = associate()
    scu.timeouts = Timeouts(dimse=10.0)
    scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION), now=50.0)
    assert scu.next_deadline() == 60.0
    (request,) = deliver(scu, scp)
    assert isinstance(request, MessageReceived)
    scp.send_message(build_response(request.primitive, 0))
    scu.receive_data(scp.data_to_send(), now=55.0)
    assert scu.next_deadline() is None


def test_forbidden_local_calls_name_the_state_and_the_event() -> None:
    scu = Connection("requestor")
    with pytest.raises(LocalProtocolError) as caught:
        scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    assert (caught.value.state, caught.value.event) == ("Sta1", "Evt9")
    assert "P-DATA request primitive (Evt9) in Sta1 (Idle)" in str(caught.value)
    scu.request_association("SCU", "SCP", PROPOSED)
    scu.transport_connected()
    with pytest.raises(LocalProtocolError, match="Evt11"):
        scu.release()
    with pytest.raises(LocalProtocolError, match="Evt1"):
        scu.request_association("SCU", "SCP", PROPOSED)
    scu2, scp = associate()
    with pytest.raises(LocalProtocolError, match="Evt14"):
        scp.release_response()
    with pytest.raises(LocalProtocolError, match="no accepted presentation context"):
        scu2.send_message(C_ECHO(AffectedSOPClassUID="1.2.3"))
    assert scu2.state == "Sta6" and scu2.data_to_send() == b""


def test_a_forbidden_pdu_gets_the_abort_the_table_prescribes_and_a_diagnostic() -> None:
    scu, scp = associate()
    again = scu.request
    assert again is not None
    events = scp.receive_data(encode_pdu(again))  # an A-ASSOCIATE-RQ in Sta6: AA-8
    assert kinds(events) == ["Aborted", "ProtocolDiagnostic"] and scp.state == "Sta13"
    diagnostic = events[1]
    assert isinstance(diagnostic, ProtocolDiagnostic)
    assert (diagnostic.state, diagnostic.event) == ("Sta6", "Evt6")
    assert diagnostic.diagnostic.code is DiagnosticCode.UNEXPECTED_PDU
    assert "AA-8" in diagnostic.diagnostic.message
    assert decode_pdu(scp.data_to_send()) == AAbort(
        AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU
    )
    # in Sta13 a P-DATA-TF is ignored (AA-6) and another A-ASSOCIATE-RQ answered (AA-7)
    echo = encode_pdata(C_ECHO(MessageID=9, AffectedSOPClassUID=VERIFICATION), 1, max_pdu_length=0)
    assert scp.receive_data(bytes(echo)) == [] and scp.data_to_send() == b""
    scp.receive_data(encode_pdu(again))
    assert decode_pdu(scp.data_to_send()).source == AbortSource.SERVICE_PROVIDER


def test_each_pdu_of_an_undefined_type_is_answered_when_it_arrives() -> None:
    """Evt19 per PDU, even when the same garbage comes again in the next read."""
    _scu, scp = associate()
    scp.receive_data(bytes(6))  # PDU type 00H in Sta6: AA-8, reason unrecognized-PDU
    assert scp.state == "Sta13"
    assert decode_pdu(scp.data_to_send()) == AAbort(
        AbortSource.SERVICE_PROVIDER, AbortReason.UNRECOGNIZED_PDU
    )
    for _ in range(3):  # in Sta13 each one is answered again (AA-7), not held for later
        scp.receive_data(bytes(6))
        assert decode_pdu(scp.data_to_send()).source == AbortSource.SERVICE_PROVIDER
        assert scp.state == "Sta13"


def test_p_data_before_the_association_is_refused_on_both_sides() -> None:
    echo = bytes(
        encode_pdata(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION), 1, max_pdu_length=0)
    )
    scp = Connection("acceptor", supported=SUPPORTED)
    scp.transport_connected()
    events = scp.receive_data(echo)  # Sta2, Evt10: AA-1 (service-user source)
    assert kinds(events) == ["ProtocolDiagnostic"] and scp.state == "Sta13"
    assert decode_pdu(scp.data_to_send()) == AAbort(AbortSource.SERVICE_USER, 0)
    scu = Connection("requestor")
    scu.request_association("SCU", "SCP", PROPOSED)
    scu.transport_connected()
    events = scu.receive_data(echo)  # Sta5, Evt10: AA-8
    assert kinds(events) == ["Aborted", "ProtocolDiagnostic"]
    assert isinstance(events[1], ProtocolDiagnostic) and events[1].state == "Sta5"


def test_strict_makes_a_forbidden_pdu_an_error_after_the_abort() -> None:
    scu, scp = associate(Connection("acceptor", supported=SUPPORTED, policy=STRICT))
    assert scu.request is not None
    with pytest.raises(RemoteProtocolError) as caught:
        scp.receive_data(encode_pdu(scu.request))
    assert (caught.value.state, caught.value.event) == ("Sta6", "Evt6")
    assert kinds(caught.value.events)[:1] == ["Aborted"]
    assert scp.state == "Sta13"
    assert decode_pdu(scp.data_to_send()).reason_diag == AbortReason.UNEXPECTED_PDU


def window_pair(window: tuple[int, int]) -> tuple[Connection, Connection]:
    def decide(rq: object) -> object:
        return respond(rq, SUPPORTED, async_window=window)  # type: ignore[arg-type]

    return associate(Connection("acceptor", decide=decide), async_window=window)  # type: ignore[arg-type]


def test_the_async_window_limits_our_requests() -> None:
    scu, scp = window_pair((2, 2))
    assert scu.association is not None and scu.association.async_window == (2, 2)
    scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    with pytest.raises(LocalProtocolError, match="Window allows 2"):
        scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    assert kinds(deliver(scu, scp)) == ["MessageReceived", "MessageReceived"]
    assert scp.peer_outstanding == (1, 2)


def test_a_peer_over_the_window_is_a_diagnostic() -> None:
    _scu, scp = associate()  # synchronous: one operation at a time
    wire = b"".join(
        bytes(
            encode_pdata(C_ECHO(MessageID=n, AffectedSOPClassUID=VERIFICATION), 1, max_pdu_length=0)
        )
        for n in (1, 2)
    )
    events = scp.receive_data(wire)
    assert kinds(events) == ["MessageReceived", "ProtocolDiagnostic", "MessageReceived"]
    diagnostic = events[1]
    assert isinstance(diagnostic, ProtocolDiagnostic)
    assert diagnostic.diagnostic.code is DiagnosticCode.ASYNC_WINDOW_EXCEEDED


@pytest.mark.parametrize(("context_id", "why"), [(7, "was rejected"), (9, "never proposed")])
def test_a_message_on_a_context_not_accepted_is_a_diagnostic(context_id: int, why: str) -> None:
    _scu, scp = associate()
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    events = scp.receive_data(bytes(encode_pdata(echo, context_id, max_pdu_length=0)))
    assert kinds(events) == ["ProtocolDiagnostic", "MessageReceived"]
    diagnostic, message = events
    assert isinstance(diagnostic, ProtocolDiagnostic) and why in diagnostic.diagnostic.message
    assert diagnostic.diagnostic.code is DiagnosticCode.CONTEXT_NOT_ACCEPTED
    assert isinstance(message, MessageReceived) and message.transfer_syntax is None


def test_a_message_on_a_context_not_accepted_is_an_error_under_strict() -> None:
    _scu, scp = associate(Connection("acceptor", supported=SUPPORTED, policy=STRICT))
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    with pytest.raises(RemoteProtocolError) as caught:
        scp.receive_data(bytes(encode_pdata(echo, 7, max_pdu_length=0)))
    assert caught.value.diagnostic.code is DiagnosticCode.CONTEXT_NOT_ACCEPTED
    assert scp.state == "Sta13"
    assert decode_pdu(scp.data_to_send()).source == AbortSource.SERVICE_PROVIDER


def test_a_response_to_no_request_is_a_diagnostic() -> None:
    scu, _scp = associate()
    stray = C_ECHO(MessageIDBeingRespondedTo=42, AffectedSOPClassUID=VERIFICATION, Status=0)
    events = scu.receive_data(bytes(encode_pdata(stray, 1, max_pdu_length=0)))
    assert kinds(events) == ["ProtocolDiagnostic", "MessageReceived"]
    assert isinstance(events[0], ProtocolDiagnostic)
    assert events[0].diagnostic.code is DiagnosticCode.UNKNOWN_MESSAGE_ID


def test_the_transport_closing_under_an_association_is_an_a_p_abort() -> None:
    scu, _scp = associate()
    events = scu.transport_closed()
    assert kinds(events) == ["Aborted", "ConnectionClosed"] and scu.state == "Sta1"
    with pytest.raises(LocalProtocolError, match="no open transport connection"):
        scu.receive_data(b"\x07")


def test_bytes_split_anywhere_give_the_same_events() -> None:
    scu, scp = associate()
    scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    scu.release()
    wire = scu.data_to_send()
    events: list[Event] = []
    for byte in wire:
        events += scp.receive_data(bytes([byte]))
    assert kinds(events) == ["MessageReceived", "ReleaseRequested"]


# -- real peers over a plain socket (test-side I/O) ------------------------------------------------

PEER_TIMEOUT = 30.0
MAX_ROUNDS = 10_000


def converse(conn: Connection, sock: socket.socket, done: Callable[[Event], bool]) -> list[Event]:
    """Send what ``conn`` has, then read until an event satisfies ``done`` (bounded)."""
    seen: list[Event] = []
    for _ in range(MAX_ROUNDS):
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if any(done(event) for event in seen):
            return seen
        data = sock.recv(65536)
        if not data:
            return seen + conn.transport_closed()
        seen += conn.receive_data(data)
    raise AssertionError(f"no awaited event in {MAX_ROUNDS} reads: {kinds(seen)}")


def open_association(
    port: int, called: str, contexts: list[tuple[str, list[str]]]
) -> tuple[Connection, socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PEER_TIMEOUT)
    conn = Connection("requestor")
    conn.request_association("DIMSECODEC", called, contexts)
    conn.transport_connected()
    events = converse(
        conn,
        sock,
        lambda e: isinstance(e, (AssociationAccepted, AssociationRejected, ConnectionClosed)),
    )
    assert isinstance(events[-1], AssociationAccepted), kinds(events)
    return conn, sock


def release(conn: Connection, sock: socket.socket) -> None:
    conn.release()
    events = converse(conn, sock, lambda e: isinstance(e, ConnectionClosed))
    assert kinds(events)[-2:] == ["ReleaseConfirmed", "ConnectionClosed"]
    sock.close()


def echo(conn: Connection, sock: socket.socket) -> int:
    conn.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    events = converse(conn, sock, lambda e: isinstance(e, MessageReceived))
    answer = events[-1]
    assert isinstance(answer, MessageReceived)
    return int(answer.primitive.Status)


@pytest.fixture
def pynetdicom_scp() -> Iterator[int]:
    from pynetdicom import AE  # the test extra installs it

    ae = AE(ae_title="PYNETDICOM")
    ae.add_supported_context(VERIFICATION, [IMPLICIT])
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def test_our_connection_echoes_with_a_pynetdicom_scp(pynetdicom_scp: int) -> None:
    conn, sock = open_association(pynetdicom_scp, "PYNETDICOM", [(VERIFICATION, [IMPLICIT])])
    try:
        assert echo(conn, sock) == 0x0000
        release(conn, sock)
    finally:
        sock.close()


def test_our_connection_echoes_and_stores_with_dcmtk_storescp(tmp_path: object) -> None:
    from pathlib import Path

    from conftest import require_tool
    from peers import dcmtk_server, free_port, secondary_capture

    exe = require_tool("storescp")
    work = Path(str(tmp_path))
    port = free_port()
    argv = [exe, "-aet", "STORESCP", "--max-pdu", "4096", "+xa", "+B", "-od", str(work), str(port)]
    with dcmtk_server(argv, port, work / "storescp.log", work):
        contexts = [(VERIFICATION, [IMPLICIT]), (SECONDARY_CAPTURE, [EXPLICIT])]
        conn, sock = open_association(port, "STORESCP", contexts)
        try:
            assert echo(conn, sock) == 0x0000
            ds = secondary_capture(20_000, seed=12)
            rq = C_STORE(
                AffectedSOPClassUID=SECONDARY_CAPTURE,
                AffectedSOPInstanceUID=ds.SOPInstanceUID,
                Priority=0,
            )
            conn.send_message(rq, dataset=ds)
            events = converse(conn, sock, lambda e: isinstance(e, MessageReceived))
            answer = events[-1]
            assert isinstance(answer, MessageReceived) and answer.primitive.Status == 0x0000
            release(conn, sock)
        finally:
            sock.close()
        (stored,) = [p for p in work.iterdir() if p.suffix != ".log"]
        assert stored.read_bytes().endswith(encode_dataset(ds, EXPLICIT))


def test_an_undecodable_pdu_is_evt19_and_aborts() -> None:
    _scu, scp = associate()
    broken = b"\x05\x00\x00\x00\x00\x02\x00\x00"  # an A-RELEASE-RQ two bytes short of its body
    events = scp.receive_data(broken)
    assert kinds(events) == ["Aborted", "ProtocolDiagnostic"] and scp.state == "Sta13"
    diagnostic = events[1]
    assert isinstance(diagnostic, ProtocolDiagnostic)
    assert (diagnostic.state, diagnostic.event) == ("Sta6", "Evt19")
    assert decode_pdu(scp.data_to_send()) == AAbort(
        AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE
    )


def test_a_small_message_is_one_buffer_and_a_large_data_set_stays_a_view() -> None:
    scu, scp = associate()
    scu.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
    (small,) = scu.buffers_to_send()  # PDU header, PDV header, command set: one write
    (echo,) = scp.receive_data(small)
    assert isinstance(echo, MessageReceived) and echo.primitive.MessageID == 1
    scp.send_message(build_response(echo.primitive, 0x0000))
    deliver(scp, scu)
    data = bytes(range(256)) * 1024  # 256 KiB of data set bytes, sent as they are
    rq = C_STORE(
        AffectedSOPClassUID=SECONDARY_CAPTURE, AffectedSOPInstanceUID="1.2.3.4.7", Priority=0
    )
    scu.send_message(rq, dataset=data, as_is=True)
    buffers = scu.buffers_to_send()
    views = [b for b in buffers if isinstance(b, memoryview) and b.obj is data]
    assert sum(len(v) for v in views) == len(data)  # every fragment a view, none copied
    (stored,) = scp.receive_data(b"".join(buffers))
    assert isinstance(stored, MessageReceived) and bytes(stored.dataset or b"") == data
