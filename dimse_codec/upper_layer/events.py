"""What a :class:`~dimse_codec.upper_layer.Connection` tells its user: the PS3.8 indications.

Each event is an indication or confirmation primitive of PS3.8 7 (A-ASSOCIATE, P-DATA,
A-RELEASE, A-ABORT, A-P-ABORT), or a :class:`ProtocolDiagnostic` naming the state and event
where a peer broke the protocol, or :class:`ConnectionClosed` when the machine is back in Sta1.
"""

from __future__ import annotations

from dataclasses import dataclass

from dimse_codec.association.model import Association, Rejected
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.pdata.events import IncompleteMessage
from dimse_codec.pdata.events import MessageReceived as PDataMessage
from dimse_codec.pdu import AAbort, AAssociateRQ, AbortReason, AbortSource
from dimse_codec.policy import Diagnostic

__all__ = [
    "Aborted",
    "AssociationAccepted",
    "AssociationRejected",
    "AssociationRequested",
    "ConnectionClosed",
    "Event",
    "MessageReceived",
    "ProtocolDiagnostic",
    "ReleaseConfirmed",
    "ReleaseRequested",
    "Released",
]


@dataclass(frozen=True, slots=True)
class AssociationRequested:
    """A-ASSOCIATE indication (acceptor, Sta3): answer with ``accept``, ``reject`` or ``answer``."""

    request: AAssociateRQ


@dataclass(frozen=True, slots=True)
class AssociationAccepted:
    """The association is established (Sta6): by the peer's A-ASSOCIATE-AC or our own accept."""

    association: Association


@dataclass(frozen=True, slots=True)
class AssociationRejected:
    """No association: the peer's A-ASSOCIATE-RJ, or ours when a configured decision rejected."""

    rejected: Rejected
    by_peer: bool


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """P-DATA indication: one whole DIMSE message with its presentation context's syntaxes.

    ``abstract_syntax`` and ``transfer_syntax`` are those the context was accepted with, and
    the primitive's data set decodes in ``transfer_syntax``; both are ``None`` for a context
    that was rejected or never proposed (then a :class:`ProtocolDiagnostic` came first).
    ``message`` is the reassembly record (command-set bytes, fragments, stream offsets).
    """

    primitive: DIMSEPrimitive
    context_id: int
    abstract_syntax: str | None
    transfer_syntax: str | None
    message: PDataMessage

    @property
    def dataset(self) -> memoryview | None:
        """The data set bytes as received (``None`` when there is none or a sink took them)."""
        return self.message.dataset


@dataclass(frozen=True, slots=True)
class ReleaseRequested:
    """A-RELEASE indication: answer with ``release_response()``; ``collision`` in Sta9/Sta10."""

    collision: bool = False


@dataclass(frozen=True, slots=True)
class ReleaseConfirmed:
    """A-RELEASE confirmation: the peer answered our A-RELEASE-RQ."""


Released = ReleaseConfirmed
"""The name h11-style users look for."""


@dataclass(frozen=True, slots=True)
class Aborted:
    """The association ended abruptly: A-ABORT or A-P-ABORT, by the peer or by us.

    ``local`` is true when this side aborted (a timer, a forbidden PDU); ``source`` and
    ``reason`` are the A-ABORT PDU's fields (PS3.8 9.3.8), ``pdu`` that PDU when there was one
    (``None`` for a closed transport), and ``description`` one line saying why.
    """

    source: AbortSource | int
    reason: AbortReason | int
    local: bool
    description: str
    pdu: AAbort | None = None


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The machine is back in Sta1: the transport connection is closed or may be closed now."""

    reason: str


@dataclass(frozen=True, slots=True)
class ProtocolDiagnostic:
    """A problem the peer caused, with the state the machine stood in and the event it met.

    ``incomplete`` carries the fragments of a message that could not be finished, if that
    was the problem.
    """

    diagnostic: Diagnostic
    state: str
    event: str
    incomplete: IncompleteMessage | None = None


Event = (
    AssociationRequested
    | AssociationAccepted
    | AssociationRejected
    | MessageReceived
    | ReleaseRequested
    | ReleaseConfirmed
    | Aborted
    | ConnectionClosed
    | ProtocolDiagnostic
)
"""Anything :meth:`Connection.receive_data` and the other calls return."""
