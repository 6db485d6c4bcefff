"""What the asyncio and blocking I/O share: the errors, the upper-layer events an I/O loop
answers, the acceptor's decision and the disk spool for large data sets."""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    Accepted,
    Rejected,
    Roles,
    Supported,
    reject,
    respond,
)
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdu import AAssociateRQ, RejectReasonPresentation, RejectReasonUser
from dimse_codec.policy import Policy
from dimse_codec.services import Services
from dimse_codec.services.results import Response
from dimse_codec.upper_layer import (
    Aborted,
    AssociationRejected,
    ConnectionClosed,
    Event,
    ReleaseRequested,
)

__all__ = ["AssociationAborted", "AssociationRejectedError", "DatasetSpool", "NetError"]

Address = tuple[str, int]
"""A peer's host and port."""
Peers = Mapping[str, Address] | Callable[[str], Address | None]
"""Where AE titles are (C-MOVE destinations, Storage Commitment report receivers)."""


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


def answer_events(services: Services, events: Sequence[Event]) -> tuple[bool, Aborted | None]:
    """Serve and answer what a connection reported: the requests (by the services), a release
    request (A-RELEASE-RP); return whether the transport may close and the abort, if any."""
    services.receive(events)
    closed, aborted = False, None
    for event in events:
        if isinstance(event, ReleaseRequested) and services.connection.state in (
            "Sta8",
            "Sta9",
            "Sta12",
        ):
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

    def __init__(self, directory: Path | None, threshold: int) -> None:
        self.directory = directory
        self.threshold = threshold
        self.path: Path | None = None
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
        if self._file is None:
            return bytes(self._memory)
        self._file.close()
        assert self.path is not None
        if os.path.getsize(self.path) == 0:
            return b""
        with open(self.path, "rb") as handle:
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


def spool_sink(
    directory: Path | None, threshold: int
) -> Callable[[int, DIMSEPrimitive], DatasetSpool]:
    """A ``dataset_sink`` factory: every received data set goes to its own :class:`DatasetSpool`."""

    def sink(context_id: int, primitive: DIMSEPrimitive) -> DatasetSpool:
        return DatasetSpool(directory, threshold)

    return sink
