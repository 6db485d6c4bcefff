"""DIMSE services on one :class:`~dimse_codec.upper_layer.Connection`, sans-I/O, both roles.

A :class:`Services` object sits on a connection. As a performer it is "a handler per service":
each request the peer sends goes to the handler of its service (PS3.7 9 and 10) and its
response is built by :func:`~dimse_codec.dimse.responses.handle`; C-FIND, C-GET and C-MOVE
handlers are generators whose results become Pending responses one :meth:`Services.step` at a
time, so a C-CANCEL read in between stops them. As an invoker it sends requests (filling in
what the caller left out) and pairs the responses with them (:class:`RequestTracker`).

Two things only the I/O layer can do, because they need a new association: C-MOVE
sub-operations (to the move destination) and a Storage Commitment report sent on a new
association. :meth:`Services.step` returns them as :class:`StoreElsewhere` and
:class:`RequestElsewhere` work items; the I/O layer performs them and calls
:meth:`Services.work_done` with the status.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydicom.dataset import Dataset

from dimse_codec.association import Association, ContextSpec, Roles
from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.primitives import C_CANCEL, C_STORE, DIMSEPrimitive
from dimse_codec.dimse.responses import (
    NO_HANDLER_STATUS,
    HandlerResult,
    PresentationContextTuple,
    RequestContext,
    build_response,
    handle,
)
from dimse_codec.dimse.status import category
from dimse_codec.errors import DimseCodecError, expect
from dimse_codec.policy import LENIENT, Policy
from dimse_codec.services.part10 import Instance
from dimse_codec.services.results import RequestTracker, complete_request
from dimse_codec.tables.status import StatusCategory
from dimse_codec.upper_layer import Connection, Event, MessageReceived

__all__ = [
    "CANCEL",
    "MOVE_DESTINATION_UNKNOWN",
    "SUB_OPERATIONS_FAILED",
    "SUB_OPERATIONS_WARNING",
    "Handler",
    "Handlers",
    "RequestElsewhere",
    "ServiceRequest",
    "Services",
    "SpooledDataset",
    "StoreElsewhere",
    "Work",
]

CANCEL = 0xFE00
"""Matching or sub-operations terminated due to Cancel (PS3.4 C.4.1.1.4, C.4.2.1.5)."""
PENDING = 0xFF00
"""Pending: matches or sub-operations are continuing (PS3.4 C.4.1.1.4, C.4.2.1.5)."""
SUB_OPERATIONS_WARNING = 0xB000
"""Sub-operations complete, one or more failures or warnings (PS3.4 C.4.2.1.5, C.4.3.1.5)."""
SUB_OPERATIONS_FAILED = 0xA702
"""Refused: unable to perform sub-operations (PS3.4 C.4.2.1.5, C.4.3.1.5)."""
MOVE_DESTINATION_UNKNOWN = 0xA801
"""Refused: Move Destination unknown (PS3.4 C.4.2.1.5)."""

_GENERATOR_SERVICES = frozenset({"C-FIND", "C-GET", "C-MOVE"})
"""Services whose handler yields results one at a time (PS3.4 C.4)."""
_SUB_OPERATION_SERVICES = frozenset({"C-GET", "C-MOVE"})

Handler = Callable[["ServiceRequest"], Any]
"""A service handler: a :class:`ServiceRequest` in; a status (and a reply data set) out, or
for C-FIND, C-GET and C-MOVE an iterator of results (see ``docs/net.md``)."""
Handlers = Mapping[str, Handler]
"""Handlers by service name, as PS3.7 spells it: ``"C-ECHO"``, ``"C-STORE"``, ``"N-ACTION"``..."""


def _echo(event: ServiceRequest) -> int:
    """The default C-ECHO handler: Verification succeeds (PS3.4 A.4)."""
    return 0x0000


DEFAULT_HANDLERS: Mapping[str, Handler] = {"C-ECHO": _echo}


@runtime_checkable
class SpooledDataset(Protocol):
    """A received data set held outside the message by a ``dataset_sink`` (a file, say).

    ``data()`` gives it as bytes-like for decoding (a memory map for a file, so memory does not
    grow with it), ``path`` the file when it went to disk, ``close()`` frees it (a handler that
    keeps the file moves it away first).
    """

    path: Path | None

    def data(self) -> bytes | memoryview: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoreElsewhere:
    """A C-MOVE sub-operation: C-STORE ``instance`` on an association to ``destination``."""

    destination: str
    instance: Dataset | Instance
    originator_ae_title: str
    originator_message_id: int


@dataclass(frozen=True, slots=True)
class RequestElsewhere:
    """A request to send on a new association we request (a Storage Commitment report).

    ``contexts`` and ``roles`` are what to propose: for a report, the Storage Commitment Push
    Model with Role Selection SCU=False, SCP=True (PS3.4 J.3.3).
    """

    called_ae_title: str
    contexts: Sequence[ContextSpec]
    roles: Mapping[str, Roles]
    primitive: DIMSEPrimitive
    dataset: Dataset | bytes | None = None


Work = StoreElsewhere | RequestElsewhere
"""What only the I/O layer can do; it reports the outcome to :meth:`Services.work_done`."""


class ServiceRequest(RequestContext):
    """The event a handler receives: the request, its context, the association and the session.

    Everything of :class:`~dimse_codec.dimse.responses.RequestContext` (pynetdicom's ``Event``:
    ``request``, ``context``, ``assoc``, lazily decoded ``dataset``, ``identifier``,
    ``action_information``...), plus ``dataset_path`` (the file a large data set was spooled
    to), :meth:`send_after` and :meth:`send_elsewhere`.
    """

    def __init__(
        self,
        request: DIMSEPrimitive,
        context: PresentationContextTuple | None,
        services: Services,
        *,
        dataset_path: Path | None = None,
        policy: Policy = LENIENT,
    ) -> None:
        super().__init__(request, context, assoc=services.connection.association, policy=policy)
        self.services = services
        self.association = services.connection.association
        self.dataset_path = dataset_path

    def send_after(self, primitive: DIMSEPrimitive, dataset: Dataset | bytes | None = None) -> None:
        """Send a request of ours on this association once this request's response is sent."""
        self.services.defer(primitive, dataset)

    def send_elsewhere(self, work: RequestElsewhere) -> None:
        """Send a request on a new association the I/O layer opens (after the response)."""
        self.services.defer_work(work)


@dataclass(slots=True)
class _Operation:
    """A C-FIND, C-GET or C-MOVE in progress: its results, counts and what it waits for."""

    request: DIMSEPrimitive
    message_id: int
    results: Iterator[Any]
    service: str
    remaining: int | None = None
    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_uids: list[str] = field(default_factory=list)
    cancelled: bool = False
    waiting: bool = False
    final: tuple[int | Dataset, Dataset | None] | None = None
    spooled: SpooledDataset | None = None


class Services:
    """The DIMSE service layer of one connection: handlers for the peer's requests, and ours.

    ``handlers`` maps service names to handlers (C-ECHO answers Success by default; a service
    without a handler gets 0110H). ``known_destination`` says whether a C-MOVE destination AE
    title can be reached (``None``: every one is tried); an unknown one gets A801H.
    """

    def __init__(
        self,
        connection: Connection,
        handlers: Handlers | None = None,
        *,
        known_destination: Callable[[str], bool] | None = None,
        policy: Policy = LENIENT,
    ) -> None:
        self.connection = connection
        self.handlers: dict[str, Handler] = {**DEFAULT_HANDLERS, **(handlers or {})}
        self.known_destination = known_destination
        self.policy = policy
        self.tracker = RequestTracker()
        self._operations: dict[int, _Operation] = {}
        self._sub_operations: dict[int, tuple[_Operation, str]] = {}
        self._work: dict[int, tuple[Work, _Operation | None]] = {}
        self._ready_work: deque[Work] = deque()
        self._deferred: list[tuple[DIMSEPrimitive, Dataset | bytes | None]] = []
        self._unawaited: set[int] = set()
        self._turn = itertools.count()

    @property
    def association(self) -> Association:
        """The connection's association (the services run only once it is established)."""
        association = self.connection.association
        if association is None:
            raise DimseCodecError("no association is established yet", path="association")
        return association

    # -- ours: requests and their responses ------------------------------------------------------

    def request(
        self,
        primitive: DIMSEPrimitive,
        dataset: Dataset | bytes | memoryview | None = None,
        *,
        context_id: int | None = None,
    ) -> int:
        """Send a request and track its responses; return its Message ID.

        The SOP class UID is filled in from the context when absent (a C-ECHO means
        Verification) and the Message ID by the connection.
        """
        context_id = complete_request(primitive, self.association, context_id)
        message_id = expect(
            self.connection.send_message(primitive, context_id, dataset=dataset),
            int,
            "a request always gets a Message ID",
        )
        self.tracker.expect(message_id)
        return message_id

    def cancel(self, message_id: int) -> None:
        """Send a C-CANCEL for an outstanding C-FIND, C-GET or C-MOVE of ours."""
        self.connection.send_message(C_CANCEL(MessageIDBeingRespondedTo=message_id))

    def defer(self, primitive: DIMSEPrimitive, dataset: Dataset | bytes | None = None) -> None:
        """Send a request after the response being built; nobody waits for its answer."""
        self._deferred.append((primitive, dataset))

    def defer_work(self, work: Work) -> None:
        """Queue work for the I/O layer (returned by :meth:`step`)."""
        self._ready_work.append(work)

    # -- received messages -----------------------------------------------------------------------

    def receive(self, events: Sequence[Event]) -> list[Event]:
        """Serve the requests among a connection's events and track the responses; return all.

        The upper-layer events (association, release, abort, diagnostics) are for the I/O
        layer; the messages have been dealt with.
        """
        for event in events:
            if isinstance(event, MessageReceived) and event.abstract_syntax is not None:
                self._message(event)
        return list(events)

    def _message(self, event: MessageReceived) -> None:
        primitive = event.primitive
        spec = message_spec(primitive, default=None)
        if spec is None:
            return
        if isinstance(primitive, C_CANCEL):
            answered = primitive.values().get("MessageIDBeingRespondedTo")
            operation = self._operations.get(int(answered)) if answered is not None else None
            if operation is not None:
                operation.cancelled = True
            return
        if spec.is_request:
            self._serve(event)
            return
        answered = primitive.values().get("MessageIDBeingRespondedTo")
        sub = self._sub_operations.pop(int(answered), None) if answered else None
        if sub is not None:
            self._sub_operation_result(sub[0], _status_of(primitive), sub[1])
            return
        response = self.tracker.receive(event)
        if response is not None and answered in self._unawaited and not response.pending:
            self._unawaited.discard(int(answered))
            list(self.tracker.responses(int(answered)))

    def _serve(self, event: MessageReceived) -> None:
        """Run the handler of a request's service and send its response (or start it)."""
        primitive = event.primitive
        service = primitive.msg_type
        handler = self.handlers.get(service)
        context = PresentationContextTuple(
            event.context_id,
            expect(event.abstract_syntax, str, "a request arrives on an accepted context"),
            expect(event.transfer_syntax, str, "a request arrives on an accepted context"),
        )
        sink = event.message.sink
        spooled = sink if isinstance(sink, SpooledDataset) else None
        if spooled is not None and spec_dataset(primitive) is not None:
            setattr(primitive, spec_dataset(primitive) or "", spooled.data())
        request = ServiceRequest(
            primitive,
            context,
            self,
            dataset_path=spooled.path if spooled else None,
            policy=self.policy,
        )
        if service in _GENERATOR_SERVICES and handler is not None:
            self._start(request, handler, spooled)  # the data set lives as long as the results
            return
        try:
            self._respond(handle(primitive, _bound(handler, request), context))
        finally:
            _release(primitive, spooled)

    def _respond(self, response: DIMSEPrimitive, dataset: object = None) -> None:
        """Send a response, then the requests handlers asked to follow it."""
        self.connection.send_message(response, dataset=dataset)
        deferred, self._deferred = self._deferred, []
        for primitive, data in deferred:
            message_id = self.request(primitive, data)
            self._unawaited.add(message_id)

    # -- C-FIND, C-GET, C-MOVE: results one step at a time --------------------------------------

    def _start(
        self, request: ServiceRequest, handler: Handler, spooled: SpooledDataset | None
    ) -> None:
        primitive = request.request
        try:
            self._begin(request, handler, spooled)
        except BaseException:
            _release(primitive, spooled)
            raise
        if int(primitive.values()["MessageID"]) not in self._operations:
            _release(primitive, spooled)

    def _begin(
        self, request: ServiceRequest, handler: Handler, spooled: SpooledDataset | None
    ) -> None:
        primitive = request.request
        service = primitive.msg_type
        if service == "C-MOVE" and self.known_destination is not None:
            destination = str(primitive.values().get("MoveDestination") or "")
            if not self.known_destination(destination):
                self._respond(build_response(primitive, MOVE_DESTINATION_UNKNOWN))
                return
        try:
            results = handler(request)
        except Exception as exc:  # the peer must be answered whatever the handler raised
            self._respond(_failure(primitive, exc))
            return
        if results is None:
            self._respond(_failure(primitive, None))
            return
        if not isinstance(results, Iterator):  # a plain status: the final answer
            self._respond(handle(primitive, _bound(lambda _: results, request)))
            return
        message_id = int(primitive.values()["MessageID"])
        self._operations[message_id] = _Operation(
            primitive, message_id, results, service, spooled=spooled
        )

    @property
    def runnable(self) -> bool:
        """Whether :meth:`step` has something to do now (results to send, work to hand out)."""
        return bool(self._ready_work) or any(
            not operation.waiting for operation in self._operations.values()
        )

    def step(self) -> Work | None:
        """Advance one operation by one result; return work only the I/O layer can do, if any."""
        if self._ready_work:
            work = self._ready_work.popleft()
            self._work[id(work)] = (work, None)
            return work
        ready = [op for op in self._operations.values() if not op.waiting]
        if not ready:
            return None
        operation = ready[next(self._turn) % len(ready)]
        if operation.cancelled:
            operation.final = (CANCEL, None)
            self._finish(operation)
            return None
        try:
            item = next(operation.results)
        except StopIteration:
            self._finish(operation)
            return None
        except Exception as exc:  # the peer must be answered whatever the handler raised
            self._drop(operation)
            self._respond(_failure(operation.request, exc))
            return None
        if operation.service == "C-FIND":
            self._find_result(operation, item)
            return None
        return self._sub_operation(operation, item)

    def _find_result(self, operation: _Operation, item: Any) -> None:
        status, identifier = item if isinstance(item, tuple) else (PENDING, item)
        if _category(status) is StatusCategory.PENDING:
            self.connection.send_message(build_response(operation.request, status, identifier))
        else:
            operation.final = (status, identifier)
            self._finish(operation)

    def _sub_operation(self, operation: _Operation, item: Any) -> Work | None:
        """One result of a C-GET or C-MOVE handler: a count, an instance or the final status."""
        if isinstance(item, int) and not isinstance(item, bool) and operation.remaining is None:
            operation.remaining = item
            return None
        if isinstance(item, tuple):
            status, item = item
            if _category(status) is not StatusCategory.PENDING:
                operation.final = (status, item)
                self._finish(operation)
                return None
        if not isinstance(item, (Dataset, Instance)):
            operation.final = (NO_HANDLER_STATUS, None)
            self._finish(operation)
            return None
        operation.waiting = True
        if operation.service == "C-MOVE":
            request = operation.request
            work = StoreElsewhere(
                str(request.values().get("MoveDestination") or ""),
                item,
                self.association.peer_ae_title,
                operation.message_id,
            )
            self._work[id(work)] = (work, operation)
            return work
        self._store_here(operation, item)
        return None

    def _store_here(self, operation: _Operation, item: Dataset | Instance) -> None:
        """A C-GET sub-operation: C-STORE on this association, where the peer took the SCP role."""
        sop_class, sop_instance, syntax, data = _store_parts(item)
        association = self.association
        context_id = association.context_id_for(sop_class, syntax)
        if context_id is None and not isinstance(item, Instance):
            context_id = association.context_id_for(sop_class)
        if context_id is None or not association.roles_for(sop_class).scu:
            self._sub_operation_result(operation, SUB_OPERATIONS_FAILED, sop_instance)
            return
        store = C_STORE(
            AffectedSOPClassUID=sop_class, AffectedSOPInstanceUID=sop_instance, Priority=0
        )
        try:
            message_id = self.connection.send_message(store, context_id, dataset=data)
        except DimseCodecError:
            self._sub_operation_result(operation, SUB_OPERATIONS_FAILED, sop_instance)
            return
        message_id = expect(message_id, int, "a sub-operation's request always gets a Message ID")
        self._sub_operations[message_id] = (operation, sop_instance)

    def work_done(self, work: Work, status: int) -> None:
        """The I/O layer finished a work item with this status (a C-STORE's, or the report's)."""
        _, operation = self._work.pop(id(work), (work, None))
        if operation is not None and isinstance(work, StoreElsewhere):
            self._sub_operation_result(operation, status, _store_parts(work.instance)[1])

    def _sub_operation_result(
        self, operation: _Operation, status: int, sop_instance: str | None = None
    ) -> None:
        """Count a finished sub-operation and tell the peer with a Pending response."""
        operation.waiting = False
        kind = _category(status)
        if kind is StatusCategory.SUCCESS:
            operation.completed += 1
        elif kind is StatusCategory.WARNING:
            operation.warning += 1
        else:
            operation.failed += 1
            if sop_instance:
                operation.failed_uids.append(sop_instance)
        left = self._left(operation)
        if operation.message_id in self._operations and (left is None or left > 0):
            self.connection.send_message(
                build_response(
                    operation.request, PENDING, None, **self._counts(operation, pending=True)
                )
            )

    def _left(self, operation: _Operation) -> int | None:
        if operation.remaining is None:
            return None
        done = operation.completed + operation.failed + operation.warning
        return max(operation.remaining - done, 0)

    def _counts(self, operation: _Operation, *, pending: bool) -> dict[str, int]:
        counts = {
            "NumberOfCompletedSuboperations": operation.completed,
            "NumberOfFailedSuboperations": operation.failed,
            "NumberOfWarningSuboperations": operation.warning,
        }
        left = self._left(operation)
        if left is not None and (pending or operation.cancelled):
            counts["NumberOfRemainingSuboperations"] = left
        return counts

    def _finish(self, operation: _Operation) -> None:
        """Send an operation's final response: its status, and counts for C-GET and C-MOVE."""
        self._drop(operation)
        status, dataset = operation.final or (0x0000, None)
        if operation.service not in _SUB_OPERATION_SERVICES:
            self._respond(build_response(operation.request, status, dataset))
            return
        if operation.final is None:
            if operation.failed == operation.warning == 0:
                status = 0x0000
            elif operation.completed == operation.warning == 0:
                status = SUB_OPERATIONS_FAILED
            else:
                status = SUB_OPERATIONS_WARNING
        if operation.failed_uids and dataset is None:
            dataset = Dataset()
            dataset.FailedSOPInstanceUIDList = operation.failed_uids
        counts = self._counts(operation, pending=False)
        self._respond(build_response(operation.request, status, dataset, **counts))

    def _drop(self, operation: _Operation) -> None:
        self._operations.pop(operation.message_id, None)
        close = getattr(operation.results, "close", None)
        if close is not None:
            close()
        _release(operation.request, operation.spooled)
        operation.spooled = None

    def forget(self) -> None:
        """The association ended: stop every operation and forget every request.

        Work for a new association that no operation of this one waits for (a Storage
        Commitment report, :class:`RequestElsewhere`) outlives it and is still handed out by
        :meth:`step`: a requestor that releases right after the N-ACTION response must still
        get its report (PS3.4 J.3.3).
        """
        for operation in list(self._operations.values()):
            self._drop(operation)
        self._sub_operations.clear()
        self._work.clear()
        self._ready_work = deque(w for w in self._ready_work if isinstance(w, RequestElsewhere))
        self.tracker.forget()


def spec_dataset(primitive: DIMSEPrimitive) -> str | None:
    """The keyword of a message's data set parameter (``None`` for a message without one)."""
    spec = message_spec(primitive, default=None)
    return spec.dataset.keyword if spec is not None and spec.dataset is not None else None


def _release(primitive: DIMSEPrimitive, spooled: SpooledDataset | None) -> None:
    """Detach a spooled data set from its request and free it."""
    if spooled is not None:
        setattr(primitive, spec_dataset(primitive) or "", None)
        spooled.close()


def _bound(
    handler: Handler | None, request: ServiceRequest
) -> Callable[[RequestContext], HandlerResult] | None:
    """The handler called with our richer event instead of the plain RequestContext."""
    if handler is None:
        return None
    chosen = handler

    def run(_: RequestContext) -> HandlerResult:
        result: HandlerResult = chosen(request)
        return result

    return run


def _failure(request: DIMSEPrimitive, error: BaseException | None) -> DIMSEPrimitive:
    """The answer ``handle`` gives when a handler fails (0110H naming the error), or has none."""

    def fail(_: RequestContext) -> HandlerResult:
        raise error or NotImplementedError

    return handle(request, fail)


def _status_of(primitive: DIMSEPrimitive) -> int:
    value = primitive.values().get("Status")
    return NO_HANDLER_STATUS if value is None else int(value)


def _category(status: int | Dataset) -> StatusCategory:
    code = int(status.Status) if isinstance(status, Dataset) else int(status)
    return category(code)


def _store_parts(
    item: Dataset | Instance,
) -> tuple[str, str, str | None, Dataset | bytes | memoryview]:
    """SOP class, instance, the transfer syntax it must travel in (if fixed) and the data."""
    if isinstance(item, Instance):
        return item.sop_class, item.sop_instance, item.transfer_syntax, item.data
    meta = getattr(item, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    return str(item.SOPClassUID), str(item.SOPInstanceUID), syntax and str(syntax), item
