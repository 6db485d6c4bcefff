"""One DICOM Upper Layer connection (PS3.8 9.2), sans-I/O: bytes in, events out, bytes back.

A :class:`Connection` stands for one transport connection in the requestor or the acceptor
role. Every local call and every PDU or transport signal is an event of PS3.8 Table 9-10;
:data:`~dimse_codec.tables.upper_layer.TRANSITIONS` gives the action, the action's code below
does its work, and the machine moves to the action's next state. A local call the table
forbids raises :class:`~dimse_codec.errors.LocalProtocolError`; a PDU it forbids gets the answer
the table prescribes (an A-ABORT in the outbox) and a :class:`ProtocolDiagnostic`.

Bytes to send collect in one outbox (:meth:`Connection.data_to_send`) rather than being returned
by each call, because received bytes and timers make bytes to send too (an A-ABORT for a
forbidden PDU, the A-ASSOCIATE-AC a configured acceptor sends, the A-ABORT of an expired
timer); one place to drain means none are lost. There is no clock and no socket: the caller
passes ``now`` (any monotonic seconds) and asks :meth:`Connection.next_deadline`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    Accepted,
    Association,
    AsyncWindow,
    ContextSpec,
    Rejected,
    Roles,
    Supported,
    build_request,
    read_response,
    reject,
    respond,
)
from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.primitives import C_CANCEL, DIMSEPrimitive
from dimse_codec.dimse.status import category
from dimse_codec.errors import (
    DimseCodecError,
    InvalidParameter,
    LocalProtocolError,
    PolicyViolation,
    RemoteProtocolError,
    expect,
)
from dimse_codec.pdata import (
    Buffer,
    DatasetSink,
    IncompleteMessage,
    PDataReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
    encode_pdata,
)
from dimse_codec.pdata import MessageReceived as PDataMessage
from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    RejectReasonACSE,
    RejectReasonPresentation,
    RejectReasonUser,
    UnknownPDU,
    encode_pdu,
)
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.status import StatusCategory
from dimse_codec.tables.upper_layer import EVENTS, RECEIVED_PDU_EVENTS, Action
from dimse_codec.upper_layer.events import (
    Aborted,
    AssociationAccepted,
    AssociationRejected,
    AssociationRequested,
    ConnectionClosed,
    Event,
    MessageReceived,
    ProtocolDiagnostic,
    ReleaseConfirmed,
    ReleaseRequested,
)
from dimse_codec.upper_layer.machine import Machine

__all__ = ["ARTIM_TIMEOUT", "Connection", "ConnectionRole", "Timeouts"]

ARTIM_TIMEOUT = 30.0
"""Seconds of the ARTIM timer by default (PS3.8 9.1.5 leaves the value to the implementation;
30 s is what DCMTK and pynetdicom use)."""

_CANCELLABLE = frozenset({"C-FIND", "C-GET", "C-MOVE"})
"""The services a C-CANCEL may cancel (PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3)."""
_JOIN_BELOW = 65536
"""An outbox smaller than this is handed out as one buffer (one write, one TCP segment)."""

_RejectReason = RejectReasonUser | RejectReasonACSE | RejectReasonPresentation


class ConnectionRole(str, enum.Enum):
    """Which end of the association this connection is (PS3.8 7.1)."""

    REQUESTOR = "requestor"
    ACCEPTOR = "acceptor"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """The timers a connection keeps, in seconds (``None``: never).

    ``artim`` is PS3.8's ARTIM (9.1.5); ``acse`` bounds the wait for an A-ASSOCIATE-AC/RJ or an
    A-RELEASE-RP; ``dimse`` the wait for the next response to an outstanding request; ``network``
    the time between two whole PDUs from the peer (per PDU, not per read, so a peer sending one
    byte at a time does not keep the association alive). The last three abort (A-ABORT).
    """

    artim: float = ARTIM_TIMEOUT
    acse: float | None = 30.0
    dimse: float | None = None
    network: float | None = None


@dataclass(slots=True)
class _Operation:
    """An operation in progress: its context and service (for C-CANCEL and responses)."""

    context_id: int
    service: str


class Connection:
    """The Upper Layer of one transport connection, in one role, driven by PS3.8 Table 9-10.

    ``supported`` (or ``decide``, a function from the A-ASSOCIATE-RQ to
    :func:`~dimse_codec.association.respond`'s result) lets an acceptor answer by itself; without
    either it reports :class:`AssociationRequested` and waits for :meth:`accept`, :meth:`reject`
    or :meth:`answer`. ``max_pdu_length`` is the Maximum Length we announce (requestor) or allow
    (acceptor with ``supported``). ``policy`` judges the peer's problems: under a strict policy
    a problem becomes :class:`~dimse_codec.errors.RemoteProtocolError` after the connection has
    aborted as PS3.8 prescribes. ``dataset_sink`` (the :class:`~dimse_codec.pdata.StreamDecoder`
    hook, called with the context ID and the decoded command) may return a writable object for a
    received data set, which then goes there instead of memory (``MessageReceived.dataset`` is
    ``None`` and ``message.sink`` is that object).
    """

    def __init__(
        self,
        role: ConnectionRole | str,
        *,
        policy: Policy = LENIENT,
        max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
        supported: Supported | None = None,
        decide: Callable[[AAssociateRQ], Accepted | Rejected] | None = None,
        timeouts: Timeouts = Timeouts(),
        dataset_sink: Callable[[int, DIMSEPrimitive], DatasetSink | None] | None = None,
    ) -> None:
        self.role = ConnectionRole(role)
        self.dataset_sink = dataset_sink
        self.policy = policy
        self.max_pdu_length = max_pdu_length
        self.timeouts = timeouts
        if decide is None and supported is not None:
            chosen = supported

            def decide(rq: AAssociateRQ) -> Accepted | Rejected:
                return respond(rq, chosen, max_pdu_length=max_pdu_length, policy=policy)

        self._decide = decide
        self._machine = Machine()
        self._decoder = self._new_decoder()
        self._decoder_failed = False
        self._outbox: list[Buffer] = []
        self._events: list[Event] = []
        self._deliverable = False
        self._request: AAssociateRQ | None = None
        self._association: Association | None = None
        self._now = 0.0
        self._deadlines: dict[str, float] = {}
        self._next_message_id = 1
        self._ours: dict[int, _Operation] = {}
        self._theirs: dict[int, _Operation] = {}
        self._pending_send: tuple[Buffer, ...] = ()
        self._answer: Accepted | Rejected | None = None
        self._abort: AAbort | None = None
        self._events_after: list[str] = []

    # -- what the connection knows ---------------------------------------------------------------

    @property
    def state(self) -> str:
        """The PS3.8 state, "Sta1" to "Sta13"."""
        return self._machine.state

    @property
    def is_requestor(self) -> bool:
        """Whether this side requested the association."""
        return self.role is ConnectionRole.REQUESTOR

    @property
    def association(self) -> Association | None:
        """The negotiated association once accepted (``None`` before, and after a rejection)."""
        return self._association

    @property
    def request(self) -> AAssociateRQ | None:
        """The A-ASSOCIATE-RQ sent (requestor) or received (acceptor)."""
        return self._request

    @property
    def outstanding(self) -> tuple[int, ...]:
        """Message IDs of our requests still waiting for their final response."""
        return tuple(self._ours)

    @property
    def peer_outstanding(self) -> tuple[int, ...]:
        """Message IDs of the peer's requests we have not given a final response yet."""
        return tuple(self._theirs)

    def data_to_send(self) -> bytes:
        """Everything to write to the transport, in order, as one ``bytes``; empties the outbox."""
        return b"".join(self.buffers_to_send())

    def buffers_to_send(self) -> list[Buffer]:
        """The same as buffers (``writer.writelines``), without copying data sets; empties it.

        What adds up to less than 64 KiB comes as one buffer, so a small message (or a few) is
        one write and one TCP segment rather than a write per PDU and PDV header; anything
        larger keeps its data set fragments as views of the caller's bytes.
        """
        buffers, self._outbox = self._outbox, []
        if len(buffers) > 1 and sum(map(len, buffers)) < _JOIN_BELOW:
            return [b"".join(buffers)]
        return buffers

    # -- timers ----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time (on the caller's clock) :meth:`handle_timeout` has work, if any."""
        return min(self._deadlines.values(), default=None)

    def handle_timeout(self, now: float) -> list[Event]:
        """Run the timers that expired by ``now``: ARTIM is Evt18, the others abort (Evt15)."""
        self._now = now
        for name, deadline in sorted(self._deadlines.items(), key=lambda item: item[1]):
            if deadline > now or name not in self._deadlines:
                continue
            del self._deadlines[name]
            if name == "artim":
                if self._machine.action("Evt18") is not None:
                    self._fire("Evt18")
            elif self._machine.action("Evt15") is not None:
                self._fire("Evt15")
                self._emit(
                    Aborted(
                        AbortSource.SERVICE_USER,
                        AbortReason.REASON_NOT_SPECIFIED,
                        True,
                        f"the {name} timeout ({self._timeout_of(name)} s) expired",
                        self._abort,
                    )
                )
        return self._drain()

    def _timeout_of(self, name: str) -> float | None:
        value: float | None = getattr(self.timeouts, name)
        return value

    def _arm(self, name: str) -> None:
        seconds = self._timeout_of(name)
        if seconds is not None:
            self._deadlines[name] = self._now + seconds

    def _disarm(self, name: str) -> None:
        self._deadlines.pop(name, None)

    # -- local calls -----------------------------------------------------------------------------

    def request_association(
        self,
        calling_ae_title: str = "",
        called_ae_title: str = "",
        contexts: Sequence[ContextSpec] = (),
        *,
        request: AAssociateRQ | None = None,
        roles: Mapping[str, Roles | tuple[bool, bool]] | None = None,
        async_window: AsyncWindow | tuple[int, int] | None = None,
        now: float | None = None,
    ) -> None:
        """A-ASSOCIATE request (Evt1, Sta1 -> Sta4): call :meth:`transport_connected` next.

        Give the AE titles and contexts (:func:`~dimse_codec.association.build_request` builds
        the RQ with our ``max_pdu_length``), or a ready ``request``.
        """
        self._tick(now)
        self._allowed("Evt1", "request_association")
        if not self.is_requestor:
            raise LocalProtocolError(
                "request_association: only a requestor connection requests an association",
                state=self.state,
                event="Evt1",
            )
        if request is None:
            request = build_request(
                calling_ae_title,
                called_ae_title,
                contexts,
                max_pdu_length=self.max_pdu_length,
                roles=roles,
                async_window=async_window,
            )
        self._request = request
        self._fire("Evt1")

    def transport_connected(self, *, now: float | None = None) -> list[Event]:
        """The transport connection is open: Evt2 for a requestor (Sta4), Evt5 for an acceptor."""
        self._tick(now)
        event = "Evt2" if self.is_requestor else "Evt5"
        self._allowed(event, "transport_connected")
        self._fire(event)
        return self._drain()

    def transport_closed(self, *, now: float | None = None) -> list[Event]:
        """The transport connection closed (Evt17); in Sta1 it was ours to close and is ignored."""
        self._tick(now)
        if self.state != "Sta1":
            self._fire("Evt17")
        return self._drain()

    def accept(
        self,
        supported: Supported,
        *,
        roles: Mapping[str, Roles | tuple[bool, bool]] | None = None,
        async_window: AsyncWindow | tuple[int, int] | None = None,
        now: float | None = None,
    ) -> list[Event]:
        """Answer the A-ASSOCIATE-RQ by :func:`~dimse_codec.association.respond` (Evt7 or Evt8)."""
        self._tick(now)
        self._allowed("Evt7", "accept")
        request = expect(self._request, AAssociateRQ, "Sta3 is entered only with a request")
        result = respond(
            request,
            supported,
            max_pdu_length=self.max_pdu_length,
            roles=roles,
            async_window=async_window,
            policy=self.policy,
        )
        return self.answer(result)

    def reject(self, reason: _RejectReason, *, transient: bool | None = None) -> list[Event]:
        """Reject the A-ASSOCIATE-RQ (Evt8, Sta3 -> Sta13, ARTIM started)."""
        self._allowed("Evt8", "reject")
        return self.answer(reject(reason, transient=transient))

    def answer(self, result: Accepted | Rejected, *, now: float | None = None) -> list[Event]:
        """Send a prepared answer: an :class:`Accepted` is Evt7, a :class:`Rejected` Evt8."""
        self._tick(now)
        event = "Evt7" if isinstance(result, Accepted) else "Evt8"
        self._allowed(event, "answer")
        self._answer = result
        self._fire(event)
        return self._drain()

    def send_message(
        self,
        primitive: DIMSEPrimitive,
        context_id: int | None = None,
        *,
        dataset: object = None,
        as_is: bool = False,
        now: float | None = None,
    ) -> int | None:
        """P-DATA request (Evt9): encode and fragment a message to the peer's maximum length.

        ``context_id`` defaults to the accepted context of the request's SOP class, or to the
        context of the request a response or C-CANCEL answers. ``dataset`` (a pydicom Dataset or
        bytes) becomes the message's data set, encoded in the context's transfer syntax. A
        request without a MessageID gets the next free one. Returns the request's MessageID
        (``None`` for a response). A data set the context's transfer syntax cannot carry as it
        is (encapsulated pixel data under a native syntax, another compression, another byte
        order) raises :class:`~dimse_codec.errors.TransferSyntaxMismatch`, unless ``as_is`` asks
        to send it as it is on purpose. Raises :class:`~dimse_codec.errors.LocalProtocolError` when
        the state forbids P-DATA, the context is not accepted, the Asynchronous Operations
        Window is full, or a C-CANCEL names no outstanding C-FIND, C-GET or C-MOVE.
        """
        self._tick(now)
        self._allowed("Evt9", "send_message")
        association = expect(
            self._association, Association, "Sta6 and Sta8 are entered only with an association"
        )
        spec = message_spec(primitive)
        cancel = isinstance(primitive, C_CANCEL)
        answered = primitive.values().get("MessageIDBeingRespondedTo")
        if spec.is_request and not cancel:
            if context_id is None:
                uid = primitive.values().get("AffectedSOPClassUID") or primitive.values().get(
                    "RequestedSOPClassUID"
                )
                context_id = association.context_id_for(str(uid)) if uid else None
        else:
            table = self._ours if cancel else self._theirs
            operation = table.get(answered) if answered is not None else None
            if cancel and (operation is None or operation.service not in _CANCELLABLE):
                raise self._local_error(
                    "Evt9",
                    f"C-CANCEL for message ID {answered}: no outstanding C-FIND, C-GET or "
                    "C-MOVE has that ID",
                )
            if context_id is None and operation is not None:
                context_id = operation.context_id
        context = association.accepted_contexts.get(context_id) if context_id else None
        if context_id is None or context is None:
            raise self._local_error(
                "Evt9",
                f"no accepted presentation context for this {spec.name} (context "
                f"{context_id}); the peer accepted {sorted(association.accepted_contexts)}",
            )
        if dataset is not None:
            if spec.dataset is None:
                raise InvalidParameter(f"{spec.name} carries no data set", path="dataset")
            setattr(primitive, spec.dataset.keyword, dataset)
        primitive.transfer_syntax = context.transfer_syntax
        primitive.context_id = context_id
        message_id: int | None = None
        if spec.is_request and not cancel:
            message_id = self._message_id_for(primitive)
        plan = encode_pdata(
            primitive, context_id, max_pdu_length=association.peer_max_pdu_length, as_is=as_is
        )
        self._pending_send = tuple(plan.buffers())
        self._fire("Evt9")
        if message_id is not None:
            self._ours[message_id] = _Operation(context_id, spec.service.name)
            self._arm("dimse")
        elif not cancel and answered is not None and not _pending(primitive):
            self._theirs.pop(answered, None)
        return message_id

    def _message_id_for(self, primitive: DIMSEPrimitive) -> int:
        """The request's MessageID (the next free one if unset), checked against the window."""
        limit = self._window(ours=True)
        if limit and len(self._ours) >= limit:
            raise self._local_error(
                "Evt9",
                f"the Asynchronous Operations Window allows {limit} outstanding operation(s) "
                f"and {len(self._ours)} are waiting for their responses",
            )
        message_id = primitive.values().get("MessageID")
        if message_id is None:
            message_id = self._free_message_id()
            primitive.MessageID = message_id  # type: ignore[attr-defined]
        elif message_id in self._ours:
            raise self._local_error(
                "Evt9", f"message ID {message_id} is already used by an outstanding request"
            )
        return int(message_id)

    def _free_message_id(self) -> int:
        """The next Message ID not in use, 1..65535 and round again (PS3.7 9.3.1.1)."""
        for _ in range(0x10000):
            candidate = self._next_message_id
            self._next_message_id = candidate % 0xFFFF + 1
            if candidate not in self._ours:
                return candidate
        raise self._local_error("Evt9", "every message ID is outstanding")  # pragma: no cover

    def _window(self, *, ours: bool) -> int:
        """How many operations a side may have outstanding (0: no limit), PS3.7 D.3.3.3."""
        association = self._association
        if association is None:
            return 1
        window = association.async_window
        invoked_by_requestor = ours == self.is_requestor
        return window.invoked if invoked_by_requestor else window.performed

    def release(self, *, now: float | None = None) -> None:
        """A-RELEASE request (Evt11, Sta6 -> Sta7)."""
        self._tick(now)
        self._allowed("Evt11", "release")
        self._fire("Evt11")

    def release_response(self, *, now: float | None = None) -> list[Event]:
        """A-RELEASE response (Evt14) to the peer's A-RELEASE-RQ (Sta8, Sta9 or Sta12)."""
        self._tick(now)
        self._allowed("Evt14", "release_response")
        self._fire("Evt14")
        return self._drain()

    def abort(self, *, now: float | None = None) -> list[Event]:
        """A-ABORT request (Evt15): an A-ABORT (service-user) to send, or just close in Sta4."""
        self._tick(now)
        self._allowed("Evt15", "abort")
        self._fire("Evt15")
        return self._drain()

    # -- received bytes --------------------------------------------------------------------------

    def receive_data(
        self, data: bytes | bytearray | memoryview, *, now: float | None = None
    ) -> list[Event]:
        """Take bytes the peer sent (split anywhere); return the events they completed, in order."""
        self._tick(now)
        if self.state in ("Sta1", "Sta4"):
            raise LocalProtocolError(
                f"receive_data in {self.state}: there is no open transport connection to "
                "receive on",
                state=self.state,
                event="Evt10",
            )
        if self._decoder_failed:
            return self._drain()  # the stream cannot be framed any more; Sta13 ignores it
        try:
            try:
                found = self._decoder.feed(data)
            except DimseCodecError as exc:
                self._decoder_failed = True
                for item in self._decoder.events_before_error():
                    self._take(item)
                self._invalid(exc)
            else:
                for item in found:
                    self._take(item)
        except RemoteProtocolError as exc:
            exc.events = [*self._drain(), *exc.events]
            raise
        return self._drain()

    def _take(self, item: object) -> None:
        """Turn one decoder event into a table event (or hold it until its PDU ends)."""
        if isinstance(item, (PDataMessage, IncompleteMessage)):
            if self._deliverable:  # the P-DATA-TF that completed it was indicated (DT-2, AR-6)
                self._deliver(item)
        elif isinstance(item, PDataReceived):
            self._arm_network()
            self._received("Evt10", None, "P-DATA-TF")
        elif isinstance(item, PDUReceived):
            self._arm_network()
            self._received_pdu(item.pdu)
        elif isinstance(item, StreamDiagnostic):
            if item.data:  # a PDU other than P-DATA-TF of an undefined type or undecodable
                self._arm_network()
                before = self.state
                unknown = item.diagnostic.code is DiagnosticCode.UNKNOWN_PDU_TYPE
                reason = (
                    AbortReason.UNRECOGNIZED_PDU
                    if unknown
                    else AbortReason.INVALID_PDU_PARAMETER_VALUE
                )
                self._fire("Evt19", reason=reason)
                self._diagnose(item.diagnostic, "Evt19", before)
            else:
                self._diagnose(item.diagnostic, "Evt10")

    def _arm_network(self) -> None:
        if self.state not in ("Sta1", "Sta13"):
            self._arm("network")

    def _received_pdu(self, pdu: object) -> None:
        """A whole PDU other than P-DATA-TF: its event, and for a forbidden one a diagnostic."""
        event = (
            "Evt19"
            if isinstance(pdu, UnknownPDU)
            else RECEIVED_PDU_EVENTS.get(int(getattr(pdu, "pdu_type", 0)), "Evt19")
        )
        if event == "Evt3" and self.state == "Sta5":
            request = expect(self._request, AAssociateRQ, "Sta5 is entered only with a request")
            answer = expect(pdu, AAssociateAC, "Evt3 is an A-ASSOCIATE-AC")
            try:
                result = read_response(request, answer, policy=self.policy)
            except PolicyViolation as exc:
                self._fire("Evt19", reason=AbortReason.INVALID_PDU_PARAMETER_VALUE)
                self._diagnose(exc.diagnostic, "Evt3")
                return
            self._answer = expect(result, Accepted, "an A-ASSOCIATE-AC reads as accepted")
        if event == "Evt6" and isinstance(pdu, AAssociateRQ) and self.state == "Sta2":
            self._request = pdu
        self._received(event, pdu, str(getattr(pdu, "name", type(pdu).__name__)))

    def _received(self, event: str, pdu: object, name: str) -> None:
        """Do a received PDU's action; one the table answers with an A-ABORT is diagnosed."""
        before = self.state
        action = self._machine.action(event)
        unknown = event == "Evt19"
        reason = AbortReason.UNRECOGNIZED_PDU if unknown else AbortReason.UNEXPECTED_PDU
        self._fire(event, pdu=pdu, reason=reason)
        if action is not None and action.name in ("AA-1", "AA-7", "AA-8"):
            code = DiagnosticCode.UNKNOWN_PDU_TYPE if unknown else DiagnosticCode.UNEXPECTED_PDU
            self._diagnose(
                Diagnostic(
                    code,
                    f"{name}: {EVENTS[event].description} ({event}) is not allowed in "
                    f"{before}; {action.name}: {action.description}",
                    self._decoder.offset,
                    "Upper Layer",
                ),
                event,
                before,
            )

    def _invalid(self, exc: DimseCodecError) -> None:
        """A stream the decoder gave up on: Evt19 (invalid PDU), then the error's diagnostic."""
        code = DiagnosticCode.UNDECODABLE
        if isinstance(exc, PolicyViolation):
            code = exc.diagnostic.code
        before = self.state
        self._fire("Evt19", reason=AbortReason.INVALID_PDU_PARAMETER_VALUE)
        self._diagnose(
            Diagnostic(code, str(exc.message), exc.offset, exc.path), "Evt19", before, judge=False
        )

    # -- the table -------------------------------------------------------------------------------

    def _allowed(self, event: str, call: str) -> Action:
        """The action for a local call's event, or LocalProtocolError naming state and event."""
        action = self._machine.action(event)
        if action is None:
            raise self._local_error(event, f"{call}: not allowed now", call)
        return action

    def _local_error(self, event: str, why: str, path: str = "") -> LocalProtocolError:
        return LocalProtocolError(
            f"{why} ({self._machine.describe(event)})", state=self.state, event=event, path=path
        )

    def _fire(self, event: str, *, pdu: object = None, reason: int = 0) -> None:
        """Do the action Table 9-10 gives ``event`` now, and move to its next state."""
        action = self._machine.action(event)
        if action is None:  # only Evt18 and Evt17 reach here unchecked; Sta1 ignores them
            return
        handler = getattr(self, "_" + action.name.replace("-", "_").lower())
        self._deliverable = False
        choice: int = handler(event, pdu, reason)
        state = self._machine.move(action, choice)
        while self._events_after:  # the decision a configured acceptor made in AE-6
            self._fire(self._events_after.pop(0))
        if state == "Sta1":
            self._closed(f"{action.name}: {action.description}")
        elif state == "Sta13":
            for name in ("acse", "dimse", "network"):
                self._disarm(name)

    def _closed(self, why: str) -> None:
        """Back in Sta1: no timers, no operations, and the user told the transport may close."""
        self._deadlines.clear()
        self._ours.clear()
        self._theirs.clear()
        self._deliverable = False
        self._emit(ConnectionClosed(why))

    # association establishment (PS3.8 Table 9-6)

    def _ae_1(self, event: str, pdu: object, reason: int) -> int:
        """Issue TRANSPORT CONNECT: the caller opens it and calls transport_connected()."""
        return 0

    def _ae_2(self, event: str, pdu: object, reason: int) -> int:
        """Send the A-ASSOCIATE-RQ; the ACSE timer bounds the wait for its answer."""
        self._send(encode_pdu(expect(self._request, AAssociateRQ, "AE-2 sends the request")))
        self._arm("acse")
        return 0

    def _ae_3(self, event: str, pdu: object, reason: int) -> int:
        """A-ASSOCIATE confirmation (accept): the association is established."""
        result = expect(self._answer, Accepted, "AE-3 follows an accepting answer")
        self._disarm("acse")
        self._established(result.association)
        return 0

    def _ae_4(self, event: str, pdu: object, reason: int) -> int:
        """A-ASSOCIATE confirmation (reject), then close."""
        self._emit(AssociationRejected(Rejected(expect(pdu, AAssociateRJ, "AE-4 on Evt4")), True))
        return 0

    def _ae_5(self, event: str, pdu: object, reason: int) -> int:
        """Transport connection accepted: ARTIM bounds the wait for the A-ASSOCIATE-RQ."""
        self._arm("artim")
        return 0

    def _ae_6(self, event: str, pdu: object, reason: int) -> int:
        """Stop ARTIM; a request we can handle is indicated, another rejected at once."""
        self._disarm("artim")
        pdu = expect(pdu, AAssociateRQ, "AE-6 on Evt6")
        if not pdu.protocol_version & 1:
            rejected = reject(RejectReasonACSE.PROTOCOL_VERSION_NOT_SUPPORTED)
            self._send(encode_pdu(rejected.pdu))
            self._arm("artim")
            self._emit(AssociationRejected(rejected, False))
            return 1
        self._emit(AssociationRequested(pdu))
        if self._decide is not None:
            self._answer = self._decide(pdu)
            self._events_after.append("Evt7" if isinstance(self._answer, Accepted) else "Evt8")
        return 0

    def _ae_7(self, event: str, pdu: object, reason: int) -> int:
        """Send the A-ASSOCIATE-AC: the association is established."""
        result = expect(self._answer, Accepted, "AE-7 follows an accepting answer")
        self._send(encode_pdu(result.pdu))
        self._established(result.association)
        return 0

    def _ae_8(self, event: str, pdu: object, reason: int) -> int:
        """Send the A-ASSOCIATE-RJ and start ARTIM."""
        result = expect(self._answer, Rejected, "AE-8 follows a rejecting answer")
        self._send(encode_pdu(result.pdu))
        self._arm("artim")
        self._emit(AssociationRejected(result, False))
        return 0

    def _established(self, association: Association) -> None:
        """Remember the association; the decoder checks our maximum and knows the syntaxes."""
        self._association = association
        self._decoder.max_pdu_length = association.our_max_pdu_length
        self._decoder.transfer_syntaxes = {
            cid: context.transfer_syntax for cid, context in association.accepted_contexts.items()
        }
        self._emit(AssociationAccepted(association))

    # data transfer (Table 9-7)

    def _dt_1(self, event: str, pdu: object, reason: int) -> int:
        """Send the P-DATA-TF PDUs of one message."""
        self._outbox.extend(self._pending_send)
        self._pending_send = ()
        return 0

    def _dt_2(self, event: str, pdu: object, reason: int) -> int:
        """P-DATA indication: the messages this PDU completes are delivered (they follow it)."""
        self._deliverable = True
        return 0

    # association release (Table 9-8)

    def _ar_1(self, event: str, pdu: object, reason: int) -> int:
        """Send the A-RELEASE-RQ; the ACSE timer bounds the wait for the RP."""
        self._send(encode_pdu(AReleaseRQ()))
        self._arm("acse")
        return 0

    def _ar_2(self, event: str, pdu: object, reason: int) -> int:
        """A-RELEASE indication."""
        self._emit(ReleaseRequested())
        return 0

    def _ar_3(self, event: str, pdu: object, reason: int) -> int:
        """A-RELEASE confirmation, then close."""
        self._emit(ReleaseConfirmed())
        return 0

    def _ar_4(self, event: str, pdu: object, reason: int) -> int:
        """Send the A-RELEASE-RP and start ARTIM."""
        self._send(encode_pdu(AReleaseRP()))
        self._arm("artim")
        return 0

    def _ar_5(self, event: str, pdu: object, reason: int) -> int:
        """Stop ARTIM: the peer closed as expected."""
        self._disarm("artim")
        return 0

    def _ar_6(self, event: str, pdu: object, reason: int) -> int:
        """P-DATA indication while waiting for the A-RELEASE-RP."""
        return self._dt_2(event, pdu, reason)

    def _ar_7(self, event: str, pdu: object, reason: int) -> int:
        """Send P-DATA-TF while the peer waits for our A-RELEASE-RP."""
        return self._dt_1(event, pdu, reason)

    def _ar_8(self, event: str, pdu: object, reason: int) -> int:
        """A-RELEASE indication (release collision): Sta9 for the requestor, Sta10 otherwise."""
        self._emit(ReleaseRequested(collision=True))
        return 0 if self.is_requestor else 1

    def _ar_9(self, event: str, pdu: object, reason: int) -> int:
        """Send the A-RELEASE-RP (requestor side of a collision)."""
        self._send(encode_pdu(AReleaseRP()))
        return 0

    def _ar_10(self, event: str, pdu: object, reason: int) -> int:
        """A-RELEASE confirmation (acceptor side of a collision)."""
        self._disarm("acse")
        self._emit(ReleaseConfirmed())
        return 0

    # association abort (Table 9-9)

    def _aa_1(self, event: str, pdu: object, reason: int) -> int:
        """Send an A-ABORT (service-user source) and start ARTIM."""
        self._send_abort(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED)
        self._arm("artim")
        return 0

    def _aa_2(self, event: str, pdu: object, reason: int) -> int:
        """Stop ARTIM and close; an A-ABORT before any association is still reported."""
        self._disarm("artim")
        if isinstance(pdu, AAbort) and self.state == "Sta2":
            self._emit(_peer_abort(pdu))
        return 0

    def _aa_3(self, event: str, pdu: object, reason: int) -> int:
        """A-ABORT (or A-P-ABORT) indication from the peer's PDU, then close."""
        self._emit(_peer_abort(expect(pdu, AAbort, "AA-3 on Evt16")))
        return 0

    def _aa_4(self, event: str, pdu: object, reason: int) -> int:
        """A-P-ABORT indication: the transport closed under the association."""
        self._emit(
            Aborted(
                AbortSource.SERVICE_PROVIDER,
                AbortReason.REASON_NOT_SPECIFIED,
                False,
                f"A-P-ABORT: the transport connection closed in {self.state}",
            )
        )
        return 0

    def _aa_5(self, event: str, pdu: object, reason: int) -> int:
        """Stop ARTIM: the peer closed before sending an A-ASSOCIATE-RQ."""
        return self._ar_5(event, pdu, reason)

    def _aa_6(self, event: str, pdu: object, reason: int) -> int:
        """Ignore the PDU: the association no longer exists."""
        return 0

    def _aa_7(self, event: str, pdu: object, reason: int) -> int:
        """Send an A-ABORT (service-provider source) in answer to a PDU after the end."""
        self._send_abort(AbortSource.SERVICE_PROVIDER, reason)
        return 0

    def _aa_8(self, event: str, pdu: object, reason: int) -> int:
        """Send an A-ABORT (service-provider source), A-P-ABORT indication, start ARTIM."""
        abort = self._send_abort(AbortSource.SERVICE_PROVIDER, reason)
        self._arm("artim")
        self._emit(
            Aborted(
                abort.source,
                abort.reason_diag,
                True,
                f"A-P-ABORT sent: {EVENTS[event].description} ({event}) in {self.state}",
                abort,
            )
        )
        return 0

    def _send_abort(self, source: AbortSource, reason: int) -> AAbort:
        reason_value = AbortReason(reason) if source is AbortSource.SERVICE_PROVIDER else 0
        abort = AAbort(source, AbortReason(reason_value))
        self._abort = abort
        self._send(encode_pdu(abort))
        return abort

    # -- messages --------------------------------------------------------------------------------

    def _deliver(self, item: PDataMessage | IncompleteMessage) -> None:
        """Report a message (or the fragments of an unfinished one) a P-DATA-TF completed."""
        if isinstance(item, IncompleteMessage):
            self._diagnose(item.reason, "Evt10", incomplete=item)
        else:
            self._message(item)

    def _message(self, item: PDataMessage) -> None:
        """One whole message: its context's syntaxes, then the operation bookkeeping."""
        association = self._association
        context = association.accepted_contexts.get(item.context_id) if association else None
        if context is None:
            rejected = association.rejected_contexts.get(item.context_id) if association else None
            how = "was rejected" if rejected is not None else "was never proposed"
            self._report(
                DiagnosticCode.CONTEXT_NOT_ACCEPTED,
                f"a {item.primitive.msg_type} message arrived on presentation context "
                f"{item.context_id}, which {how}; its data set has no known transfer syntax",
                item.offset,
                f"message on context {item.context_id}",
            )
        primitive = item.primitive
        spec = message_spec(primitive, default=None)
        if spec is not None:
            self._count(primitive, spec.is_request, item)
        self._emit(
            MessageReceived(
                primitive,
                item.context_id,
                None if context is None else context.abstract_syntax,
                None if context is None else context.transfer_syntax,
                item,
            )
        )

    def _count(self, primitive: DIMSEPrimitive, is_request: bool, item: PDataMessage) -> None:
        """Keep the peer's requests and our operations' responses in step with the window."""
        path = f"message on context {item.context_id}"
        if isinstance(primitive, C_CANCEL):
            answered = primitive.values().get("MessageIDBeingRespondedTo")
            if answered not in self._theirs:
                self._report(
                    DiagnosticCode.UNKNOWN_MESSAGE_ID,
                    f"C-CANCEL for message ID {answered}, which names no operation of the peer "
                    "in progress",
                    item.offset,
                    path,
                )
            return
        if is_request:
            message_id = primitive.values().get("MessageID")
            if message_id is None:
                return
            limit = self._window(ours=False)
            if limit and len(self._theirs) >= limit:
                self._report(
                    DiagnosticCode.ASYNC_WINDOW_EXCEEDED,
                    f"the peer invoked message ID {message_id} with {len(self._theirs)} "
                    f"operation(s) outstanding; the Asynchronous Operations Window allows "
                    f"{limit}",
                    item.offset,
                    path,
                )
            self._theirs[int(message_id)] = _Operation(item.context_id, primitive.msg_type)
            return
        answered = primitive.values().get("MessageIDBeingRespondedTo")
        if answered not in self._ours:
            self._report(
                DiagnosticCode.UNKNOWN_MESSAGE_ID,
                f"a {primitive.msg_type} response to message ID {answered}, which is not an "
                "outstanding request of ours",
                item.offset,
                path,
            )
            return
        if not _pending(primitive):
            del self._ours[answered]
        if self._ours:
            self._arm("dimse")
        else:
            self._disarm("dimse")

    # -- plumbing --------------------------------------------------------------------------------

    def _report(self, code: DiagnosticCode, message: str, offset: int | None, path: str) -> None:
        """A problem in a received message: a diagnostic, or under strict an abort and an error."""
        self._diagnose(Diagnostic(code, message, offset, path), "Evt10")

    def _diagnose(
        self,
        diagnostic: Diagnostic,
        event: str,
        state: str | None = None,
        *,
        incomplete: IncompleteMessage | None = None,
        judge: bool = True,
    ) -> None:
        """Report a diagnostic; if the policy makes it an error, abort (Evt19) and raise."""
        state = state or self.state
        self._emit(ProtocolDiagnostic(diagnostic, state, event, incomplete))
        if judge and self.policy.raises(diagnostic.code):
            if self._machine.action("Evt19") is not None and self.state not in ("Sta13", "Sta1"):
                self._fire("Evt19", reason=AbortReason.INVALID_PDU_PARAMETER_VALUE)
            raise RemoteProtocolError(diagnostic, state=state, event=event, events=[])
        if not judge and self.policy.strict:
            raise RemoteProtocolError(diagnostic, state=state, event=event, events=[])

    def _send(self, data: bytes) -> None:
        self._outbox.append(data)

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _drain(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _tick(self, now: float | None) -> None:
        if now is not None:
            self._now = now

    def _new_decoder(self) -> StreamDecoder:
        return StreamDecoder(
            policy=self.policy,
            report_pdata=True,
            dataset_sink=self.dataset_sink,
            hold_streaks=False,  # each PDU of an undefined type is an Evt19 when it arrives
        )


def _pending(primitive: DIMSEPrimitive) -> bool:
    """Whether a response carries a Pending status, so its operation stays outstanding."""
    status = primitive.values().get("Status")
    return status is not None and category(int(status)) is StatusCategory.PENDING


def _peer_abort(pdu: AAbort) -> Aborted:
    """The indication for an A-ABORT the peer sent."""
    source, reason = int(pdu.source), int(pdu.reason_diag)
    if source == AbortSource.SERVICE_PROVIDER:
        text = f"A-P-ABORT by the peer's service-provider: reason {reason}"
    else:
        text = "A-ABORT by the peer's service-user"
    return Aborted(pdu.source, pdu.reason_diag, False, text, pdu)
