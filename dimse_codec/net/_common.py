"""What the asyncio and blocking I/O share: the errors, a client's setup and the requests its
conveniences build, the upper-layer events an I/O loop answers, the acceptor's decision and
the disk spool for large data sets."""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import ssl as _ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    Accepted,
    Association,
    ContextSpec,
    Rejected,
    Roles,
    Supported,
    reject,
    respond,
)
from dimse_codec.dataset import decode_dataset
from dimse_codec.dimse.primitives import (
    C_FIND,
    C_GET,
    C_MOVE,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
    DIMSEPrimitive,
)
from dimse_codec.errors import DimseCodecError, expect
from dimse_codec.pdu import AAssociateRQ, RejectReasonPresentation, RejectReasonUser
from dimse_codec.policy import LENIENT, Policy
from dimse_codec.services import VERIFICATION, Handlers, Instance, Services, contexts_for
from dimse_codec.services.contexts import NATIVE
from dimse_codec.services.part10 import read_instance
from dimse_codec.services.results import Response
from dimse_codec.tables.upper_layer import TRANSITIONS
from dimse_codec.upper_layer import (
    Aborted,
    AssociationRejected,
    Connection,
    ConnectionClosed,
    Event,
    ReleaseRequested,
    Timeouts,
)

__all__ = [
    "CLIENT_TIMEOUTS",
    "AssociationAborted",
    "AssociationRejectedError",
    "ClientSetup",
    "DatasetLike",
    "DatasetSpool",
    "NetError",
]

Address = tuple[str, int]
"""A peer's host and port."""
Peers = Mapping[str, Address] | Callable[[str], Address | None]
"""Where AE titles are (C-MOVE destinations, Storage Commitment report receivers)."""


CLIENT_TIMEOUTS = Timeouts(artim=30.0, acse=30.0, dimse=60.0, network=None)
"""A client's timers: 30 s for the association and release answers, 60 s for each response."""
CONNECT_TIMEOUT = 30.0
"""Seconds to open the TCP (and TLS) connection."""
READ_SIZE = 1 << 16
"""Bytes one blocking ``recv`` asks for (it allocates this much for every call)."""
STREAM_READ_SIZE = 1 << 20
"""Bytes one asyncio read takes, and the stream's buffer limit: a large data set then arrives
in few reads, each a step of the connection, rather than in one per 64 KiB."""

_GATHER = 512
"""Buffers handed to one ``sendmsg`` (under every system's IOV_MAX)."""


def send_buffers(sock: Any, buffers: Sequence[Any]) -> None:
    """Send every buffer in order without joining them: ``sendmsg`` gathers them from where
    they are, so a data set of hundreds of MB is never copied into one ``bytes``. A TLS socket
    (no ``sendmsg``) takes them one ``sendall`` each."""
    if isinstance(sock, _ssl.SSLSocket) or not hasattr(sock, "sendmsg"):
        for buffer in buffers:
            sock.sendall(buffer)
        return
    pending = [view for view in (memoryview(b).cast("B") for b in buffers) if len(view)]
    first = 0
    while first < len(pending):
        sent = sock.sendmsg(pending[first : first + _GATHER])
        while sent:
            head = pending[first]
            if sent < len(head):
                pending[first] = head[sent:]
                break
            sent -= len(head)
            first += 1


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def acknowledge_at_once(sock: Any) -> None:
    """Ask the kernel (Linux's TCP_QUICKACK, re-armed after every read) to ACK what was read now.

    A peer that leaves Nagle's algorithm on (DCMTK's default builds do) writes a PDU in two
    pieces and holds the second until the first is ACKed; with a delayed ACK that costs each
    message about 40 ms, so 1,000 small C-STOREs take a minute instead of a second.
    """
    if _QUICKACK is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


def read_turn(sock: Any, connection: Connection, wait: float | None) -> list[Event]:
    """One blocking read of at most ``wait`` seconds (``None``: until bytes come) fed to
    ``connection``, and the events it gave: a read that times out runs the timers due by then
    (none, when it was only a poll), an error or the end of the stream closes the transport."""
    sock.settimeout(None if wait is None else max(wait, 0.0))
    try:
        data = sock.recv(READ_SIZE)
        acknowledge_at_once(sock)
    except TimeoutError:
        return connection.handle_timeout(time.monotonic())
    except OSError:
        data = b""
    now = time.monotonic()
    return connection.receive_data(data, now=now) if data else connection.transport_closed(now=now)


"""Bytes asked of the transport per read."""

DatasetLike = Dataset | Instance | str | Path
"""What ``store`` takes: a pydicom Dataset, an :class:`Instance` or a Part-10 file's path."""
Request = tuple[DIMSEPrimitive, "Dataset | bytes | memoryview | None", "int | None"]
"""A request ready to send: the primitive, its data set and the context (``None``: by class)."""


class NetError(DimseCodecError):
    """An association could not be made or ended before an answer arrived."""


class AssociationRejectedError(NetError):
    """The peer answered the A-ASSOCIATE-RQ with an A-ASSOCIATE-RJ (``rejected`` says why)."""

    def __init__(self, rejected: Rejected) -> None:
        self.rejected = rejected
        super().__init__(f"association rejected: {rejected.description}", path="A-ASSOCIATE")


class AssociationAborted(NetError):
    """The association ended abruptly: an A-ABORT either way, a timer, or a closed transport."""

    def __init__(self, description: str, aborted: Aborted | None = None) -> None:
        self.aborted = aborted
        super().__init__(description, path="association")


def release_due(connection: Connection) -> bool:
    """Whether ``connection`` owes the peer an A-RELEASE-RP now: Evt14 has a cell in its state
    (PS3.8 Table 9-10), read from the one state table."""
    return (connection.state, "Evt14") in TRANSITIONS


def answer_events(services: Services, events: Sequence[Event]) -> tuple[bool, Aborted | None]:
    """Serve and answer what a connection reported: the requests (by the services), a release
    request (A-RELEASE-RP); return whether the transport may close and the abort, if any."""
    services.receive(events)
    closed, aborted = False, None
    for event in events:
        if isinstance(event, ReleaseRequested) and release_due(services.connection):
            services.connection.release_response()
        elif isinstance(event, Aborted):
            aborted = event
        elif isinstance(event, ConnectionClosed):
            closed = True
        elif isinstance(event, AssociationRejected) and event.by_peer:
            raise AssociationRejectedError(event.rejected)
    if closed:
        services.forget()
    return closed, aborted


def final_or_raise(responses: list[Response], why: str) -> Response:
    """The last response of a request, or the abort that prevented it."""
    if responses and not responses[-1].pending:
        return responses[-1]
    raise AssociationAborted(why)


def resolve(peers: Peers | None, ae_title: str) -> Address | None:
    """Where an AE title is, if ``peers`` knows."""
    if peers is None:
        return None
    if callable(peers):
        return peers(ae_title)
    return peers.get(ae_title.strip())


def acceptor_decision(
    supported: Supported,
    *,
    ae_title: str | None,
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
    policy: Policy,
    full: Callable[[], bool] = lambda: False,
) -> Callable[[AAssociateRQ], Accepted | Rejected]:
    """How a server answers an A-ASSOCIATE-RQ: reject when full (transient, local limit),
    otherwise accept what is supported, granting the roles the requestor proposes for them."""

    def decide(rq: AAssociateRQ) -> Accepted | Rejected:
        if full():
            return reject(RejectReasonPresentation.LOCAL_LIMIT_EXCEEDED, transient=True)
        if ae_title is not None and rq.called_ae_title.strip() != ae_title:
            return reject(RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED)
        user = rq.user_information
        roles = {
            item.sop_class_uid: Roles(True, True)
            for item in (user.role_selections if user is not None else ())
        }
        return respond(
            rq,
            supported,
            max_pdu_length=max_pdu_length,
            roles=roles,
            policy=policy,
        )

    return decide


class DatasetSpool:
    """A received data set, in memory up to ``threshold`` bytes and in a temporary file beyond.

    It is the connection's ``dataset_sink`` (it has ``write``) and the services'
    ``SpooledDataset``: ``data()`` is the bytes, or a read-only memory map of the file, so a
    data set of hundreds of MB never sits in the Python heap; ``close()`` deletes the file
    unless a handler moved it away from ``path``.
    """

    def __init__(
        self,
        directory: Path | None,
        threshold: int,
        unfinished: set[DatasetSpool] | None = None,
    ) -> None:
        self.directory = directory
        self.threshold = threshold
        self.path: Path | None = None
        self._unfinished = unfinished
        if unfinished is not None:
            unfinished.add(self)
        self._memory = bytearray()
        self._file: Any = None
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None

    def write(self, data: memoryview, /) -> int:
        """Take the next piece; past the threshold everything goes to the file."""
        if self._file is None and len(self._memory) + len(data) <= self.threshold:
            self._memory += data
            return len(data)
        if self._file is None:
            descriptor, name = tempfile.mkstemp(suffix=".part", dir=self.directory)
            self._file = os.fdopen(descriptor, "wb")
            self.path = Path(name)
            self._file.write(self._memory)
            self._memory = bytearray()
        self._file.write(data)
        return len(data)

    def data(self) -> bytes | memoryview:
        """The data set: bytes from memory, or a memory map of the finished file."""
        if self._unfinished is not None:
            self._unfinished.discard(self)  # whole: its message's handler owns it now
        if self._file is None:
            return bytes(self._memory)
        self._file.close()
        path = expect(self.path, Path, "a spooled data set has its file")
        if os.path.getsize(path) == 0:
            return b""
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._view = memoryview(self._map)
        return self._view

    def close(self) -> None:
        """Free the data set: unmap and delete the file (if it is still where it was)."""
        if self._file is not None and not self._file.closed:
            self._file.close()
        try:
            if self._view is not None:
                self._view.release()
            if self._map is not None:
                self._map.close()
        except BufferError:  # a decoded element still views it; the GC unmaps it later
            pass
        if self.path is not None:
            self.path.unlink(missing_ok=True)  # missing: the handler kept it


class SpoolSinks:
    """A ``dataset_sink`` factory: every received data set goes to its own :class:`DatasetSpool`.

    It remembers the spools of messages still arriving, so that when the association ends
    mid-message (A-ABORT, a closed transport) :meth:`close_unfinished` frees their memory and
    deletes their ``.part`` files; a finished data set belongs to its handler and is not kept.
    """

    def __init__(self, directory: Path | None, threshold: int) -> None:
        self.directory = directory
        self.threshold = threshold
        self.unfinished: set[DatasetSpool] = set()

    def __call__(self, context_id: int, primitive: DIMSEPrimitive) -> DatasetSpool:
        """A spool for the data set of ``primitive`` (on ``context_id``)."""
        return DatasetSpool(self.directory, self.threshold, self.unfinished)

    def close_unfinished(self) -> None:
        """Free the spools of messages the association ended in the middle of."""
        while self.unfinished:
            self.unfinished.pop().close()


def as_instance(item: DatasetLike) -> Dataset | Instance:
    """A file path read as an :class:`Instance` (its data set bytes as stored); others as given."""
    return read_instance(item) if isinstance(item, (str, Path)) else item


class ClientSetup:
    """What the asyncio and the blocking client share: the proposal, the requestor
    :class:`Connection` and its :class:`Services`, and the requests their conveniences send.

    ``contexts`` are proposed as given; ``datasets`` (Datasets, :class:`Instance`\\ s or file
    paths) add one context per SOP class and transfer syntax they need, so each is sent as it
    is; without ``contexts``, Verification is proposed too. ``roles`` proposes SCP/SCU Role
    Selection (a C-GET's storage classes need ``(True, True)``); ``handlers`` serve what the
    peer sends us; ``peers`` says where AE titles are, for work that needs a new association.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        calling_ae_title: str = "DIMSE-CODEC",
        called_ae_title: str = "ANY-SCP",
        contexts: Iterable[ContextSpec] = (),
        datasets: Iterable[DatasetLike] = (),
        roles: Mapping[str, Roles | tuple[bool, bool]] | None = None,
        handlers: Handlers | None = None,
        ssl: _ssl.SSLContext | None = None,
        timeouts: Timeouts = CLIENT_TIMEOUTS,
        max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
        policy: Policy = LENIENT,
        peers: Peers | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.host, self.port = host, port
        self.calling_ae_title, self.called_ae_title = calling_ae_title, called_ae_title
        given = list(contexts) or [(VERIFICATION, list(NATIVE))]
        self.contexts = contexts_for([as_instance(item) for item in datasets], given)
        self.roles = roles
        self.ssl = ssl
        self.connect_timeout = connect_timeout
        self.peers = peers
        self.connection = Connection(
            "requestor", policy=policy, max_pdu_length=max_pdu_length, timeouts=timeouts
        )
        self.services = Services(self.connection, handlers, policy=policy)

    @property
    def association(self) -> Association:
        """What was negotiated (contexts, roles, maximum lengths, the peer's AE)."""
        return self.services.association

    def _open(self, now: float) -> list[Event]:
        """Ask for the association once the transport is up; the events that follow."""
        self.connection.request_association(
            self.calling_ae_title, self.called_ae_title, self.contexts, roles=self.roles, now=now
        )
        return self.connection.transport_connected(now=now)

    def _cancel(self, message_id: int) -> None:
        """Queue a C-CANCEL of an outstanding C-FIND, C-GET or C-MOVE of ours."""
        self.services.cancel(message_id)

    # -- the requests the conveniences send ------------------------------------------------------

    def _store(self, item: DatasetLike, priority: int) -> Request:
        return store_request(self.association, as_instance(item), priority)

    @staticmethod
    def _find(identifier: Dataset, model: str, priority: int) -> Request:
        return C_FIND(AffectedSOPClassUID=model, Priority=priority), identifier, None

    @staticmethod
    def _get(identifier: Dataset, model: str, priority: int) -> Request:
        return C_GET(AffectedSOPClassUID=model, Priority=priority), identifier, None

    @staticmethod
    def _move(identifier: Dataset, destination: str, model: str, priority: int) -> Request:
        request = C_MOVE(AffectedSOPClassUID=model, Priority=priority, MoveDestination=destination)
        return request, identifier, None

    @staticmethod
    def _n_get(sop_class: str, sop_instance: str, attributes: Iterable[int]) -> Request:
        request = N_GET(RequestedSOPClassUID=sop_class, RequestedSOPInstanceUID=sop_instance)
        tags = list(attributes)
        if tags:
            request.AttributeIdentifierList = tags
        return request, None, None

    @staticmethod
    def _n_set(sop_class: str, sop_instance: str, modifications: Dataset) -> Request:
        request = N_SET(RequestedSOPClassUID=sop_class, RequestedSOPInstanceUID=sop_instance)
        return request, modifications, None

    @staticmethod
    def _n_action(
        sop_class: str, sop_instance: str, action_type: int, information: Dataset | None
    ) -> Request:
        request = N_ACTION(
            RequestedSOPClassUID=sop_class,
            RequestedSOPInstanceUID=sop_instance,
            ActionTypeID=action_type,
        )
        return request, information, None

    @staticmethod
    def _n_create(sop_class: str, attributes: Dataset | None, sop_instance: str | None) -> Request:
        request = N_CREATE(AffectedSOPClassUID=sop_class)
        if sop_instance is not None:
            request.AffectedSOPInstanceUID = sop_instance
        return request, attributes, None

    @staticmethod
    def _n_delete(sop_class: str, sop_instance: str) -> Request:
        request = N_DELETE(RequestedSOPClassUID=sop_class, RequestedSOPInstanceUID=sop_instance)
        return request, None, None

    @staticmethod
    def _n_event_report(
        sop_class: str, sop_instance: str, event_type: int, information: Dataset | None
    ) -> Request:
        request = N_EVENT_REPORT(
            AffectedSOPClassUID=sop_class,
            AffectedSOPInstanceUID=sop_instance,
            EventTypeID=event_type,
        )
        return request, information, None


def store_request(
    association: Association, instance: Dataset | Instance, priority: int
) -> tuple[C_STORE, Dataset | bytes | memoryview, int | None]:
    """The C-STORE request, its data and the context that carries it as it is."""
    if isinstance(instance, Instance):
        sop_class, sop, data = instance.sop_class, instance.sop_instance, instance.data
        context_id = association.context_id_for(sop_class, instance.transfer_syntax)
        payload: Dataset | bytes | memoryview = data
        if context_id is None and instance.transfer_syntax in NATIVE:
            # the other native little-endian syntax was accepted: its bytes would be mislabelled,
            # so the data set is decoded here and the connection encodes it in the context's
            context_id = association.context_id_for(sop_class)
            if context_id is not None:
                payload = decode_dataset(data, instance.transfer_syntax)
    else:
        sop_class, sop = str(instance.SOPClassUID), str(instance.SOPInstanceUID)
        context_id = association.context_id_for(sop_class)
        payload = instance
    request = C_STORE(AffectedSOPClassUID=sop_class, AffectedSOPInstanceUID=sop, Priority=priority)
    return request, payload, context_id
