"""The records a capture decoder returns: association events, DIMSE messages, gaps, problems.

Two conventions hold for every record. Its ``frame`` is the frame it was decided at (the latest
frame fed when the decoder completed it), so records come in the order of their frames; every
byte offset is the offset in its direction's TCP stream, counted from the first byte seen.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass
from types import MappingProxyType

from dimse_codec.association import AcceptedContext, Association, RejectedContext
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.dimse.status import Status, describe, service_for_message
from dimse_codec.pcap.tcp import Connection, Endpoint, GapReason
from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    PresentationContextResult,
    UserIdentityRQSubItem,
)
from dimse_codec.policy import Diagnostic

__all__ = [
    "AssociationEvent",
    "AssociationRecord",
    "CaptureProblem",
    "CaptureRecord",
    "CapturedMessage",
    "DicomDirection",
    "Stall",
    "StreamGap",
]


class DicomDirection(str, enum.Enum):
    """Which way a message or PDU went, by the roles of the association."""

    REQUESTOR_TO_ACCEPTOR = "requestor->acceptor"
    ACCEPTOR_TO_REQUESTOR = "acceptor->requestor"
    UNKNOWN = "unknown"


_describe = functools.lru_cache(maxsize=1024)(describe)
"""describe(status, service), remembered: a capture repeats a few statuses of a few services."""

# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssociationRecord:
    """What is known of one association at one moment (a snapshot; later events add to it)."""

    index: int
    connection: Connection
    requestor: Endpoint | None
    acceptor: Endpoint | None
    request: AAssociateRQ | None = None
    answer: AAssociateAC | AAssociateRJ | None = None
    negotiated: Association | None = None
    state: str = "unknown"
    """``requested``, ``accepted``, ``rejected``, ``released``, ``aborted``, ``closed``,
    ``truncated`` (the capture ended first), ``evicted`` (its connection was idle too long, or
    past the cap on tracked connections: see :class:`~dimse_codec.pcap.TcpReassembler`), or
    ``unknown`` (the capture began mid-way)."""
    abort: AAbort | None = None
    first_frame: int = 0
    last_frame: int = 0
    octets: tuple[int, int] = (0, 0)
    """Bytes captured in each TCP direction of the connection (``Direction.FORWARD``,
    ``REVERSE``) since the association began, up to this snapshot (gaps not counted)."""

    @property
    def bytes_from_requestor(self) -> int | None:
        """Bytes the requestor sent, once the roles are known."""
        return self._octets_of(self.requestor)

    @property
    def bytes_from_acceptor(self) -> int | None:
        """Bytes the acceptor sent, once the roles are known."""
        return self._octets_of(self.acceptor)

    def _octets_of(self, sender: Endpoint | None) -> int | None:
        if sender is None:
            return None
        return self.octets[0 if sender == self.connection.endpoints[0] else 1]

    @property
    def calling_ae_title(self) -> str | None:
        """The requestor's AE title, from the A-ASSOCIATE-RQ."""
        return None if self.request is None else self.request.calling_ae_title

    @property
    def called_ae_title(self) -> str | None:
        """The acceptor's AE title, from the A-ASSOCIATE-RQ."""
        return None if self.request is None else self.request.called_ae_title

    @property
    def accepted_contexts(self) -> MappingProxyType[int, AcceptedContext]:
        """Context ID -> (abstract syntax, transfer syntax) for the accepted contexts."""
        contexts = {} if self.negotiated is None else dict(self.negotiated.accepted_contexts)
        return MappingProxyType(contexts)

    @property
    def rejected_contexts(self) -> MappingProxyType[int, RejectedContext]:
        """Context ID -> (abstract syntax, result) for the rejected contexts."""
        contexts = {} if self.negotiated is None else dict(self.negotiated.rejected_contexts)
        return MappingProxyType(contexts)

    @property
    def user_identity(self) -> UserIdentityRQSubItem | None:
        """The User Identity sub-item of the request, if any (secret fields included)."""
        info = None if self.request is None else self.request.user_information
        return None if info is None else info.user_identity  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class AssociationEvent:
    """Something happened to an association: ``event`` says what, ``association`` is the state."""

    event: str
    """``request``, ``accept``, ``reject``, ``release-request``, ``release``, ``abort``,
    ``close``, ``truncated``, ``evicted`` (its connection was forgotten: idle, or past the cap
    on tracked connections), ``mid-stream`` (decoding began inside an association) or
    ``release-collision`` (both sides asked to release, PS3.8 Table 9-10's AR-8)."""
    association: AssociationRecord
    direction: DicomDirection
    frame: int
    time_ns: int | None


@dataclass(frozen=True, slots=True)
class Stall:
    """A pause inside one message: no byte of it came for ``duration_ns`` while more were due
    (a sender waiting for an ACK, a slow disk, a congested link)."""

    frame: int
    """The frame whose bytes ended the pause."""
    after_frame: int
    """The frame of the bytes before the pause."""
    offset: int
    """The stream offset of the first byte after the pause."""
    duration_ns: int


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    """One DIMSE message as it crossed the capture, with where, when and what it answered."""

    association: int
    direction: DicomDirection
    first_frame: int
    """The frame that carried its first byte."""
    frame: int
    """The frame it was decided at: that of its last byte, or, for a message bytes were lost
    from, the frame at which it was given up (its last fragment, its response, the next command
    on its context, the end of its stream)."""
    time_ns: int | None
    context_id: int
    abstract_syntax: str | None
    transfer_syntax: str | None
    transfer_syntax_guessed: str | None
    """Why the transfer syntax was guessed from the data set (no A-ASSOCIATE seen), or None."""
    primitive: DIMSEPrimitive
    command_set: bytes
    dataset: memoryview | None
    diagnostics: tuple[Diagnostic, ...] = ()
    request_frame: int | None = None
    """For a response or a C-CANCEL: the frame of the request it answers or cancels."""
    response_time_ns: int | None = None
    """For a response: how long after its request it was sent."""
    context_result: PresentationContextResult | int | None = None
    """The A-ASSOCIATE-AC's Result/Reason for the message's context (PS3.8 Table 9-18):
    ``ACCEPTANCE``, a rejection, or None when the AC answered nothing for it (never proposed,
    not answered) or was not seen."""
    first_time_ns: int | None = None
    """Capture time of the frame that carried the message's first byte (``time_ns`` is its
    last byte's): the difference is how long the message took to send."""
    stalls: tuple[Stall, ...] = ()
    """Pauses inside the message longer than the decoder's stall threshold, in order."""
    incomplete: Diagnostic | None = None
    """Why the message never became whole (bytes lost, interrupted, cut off), or None. Its
    command set arrived whole, so it is still a message; ``dataset`` then holds only the data
    set bytes that arrived, which is why ``dataset_sha256`` is None for it. Also in
    ``diagnostics``."""
    gaps: tuple[tuple[int, int], ...] = ()
    """(offset, length) of each stretch of its direction's stream the capture lost while the
    message was being sent (a :class:`StreamGap` each); the message is then incomplete."""
    dataset_announced: int | None = None
    """Data set bytes the PDV headers seen announced: those received (``len(dataset)``) plus
    those of PDVs a gap cut short; None when no data set came."""

    @property
    def bytes_missing(self) -> int:
        """Stream bytes lost inside the message: the sum of its ``gaps``."""
        return sum(length for _, length in self.gaps)

    @property
    def name(self) -> str:
        """The message type, e.g. ``N-ACTION-RQ``, or ``unknown (CommandField xxxxH)``."""
        spec = self.primitive.message_spec
        if spec is not None:
            return spec.name
        field_value = getattr(self.primitive, "command_field", None)
        shown = "absent" if field_value is None else f"{field_value:04X}H"
        return f"unknown (CommandField {shown})"

    @property
    def status(self) -> int | None:
        """The response Status, when the message has one."""
        value = getattr(self.primitive, "Status", None)
        return value if isinstance(value, int) else None

    @property
    def described_status(self) -> Status | None:
        """The response Status with its category and its meaning for this message's service
        (PS3.7 Annex C, read for the context's SOP class too); None when it has no Status."""
        status = self.status
        if status is None:
            return None
        return _describe(status, service_for_message(self.primitive, self.abstract_syntax))

    @property
    def dataset_sha256(self) -> str | None:
        """SHA-256 of the data set bytes as carried on the wire (before any inflating); None for
        an incomplete message, whose data set is partial."""
        if self.dataset is None or self.incomplete is not None:
            return None
        return hashlib.sha256(self.dataset).hexdigest()


@dataclass(frozen=True, slots=True)
class StreamGap:
    """Bytes of one direction the capture does not have (decoding resumed after them)."""

    association: int | None
    connection: Connection
    direction: DicomDirection
    offset: int
    """Offset of the first missing byte in the direction's stream (from its first byte seen)."""
    length: int | None
    frame: int
    """The frame at which the reassembler knew the bytes were lost."""
    reason: GapReason


@dataclass(frozen=True, slots=True)
class CaptureProblem:
    """Something decoding tolerated that belongs to no single message (or a message never whole).

    This includes what the capture layer skipped (a frame it could not read to TCP, fragments it
    could not reassemble, a RST it ignored), so that no problem means nothing was skipped.
    ``count`` is how many occurrences the record stands for: 1, except for the one record that
    ends a run of one code past the cap (``policy.limits.max_diagnostics``), which says how many
    more there were, for a stream decoder's run of PDUs with one problem (its
    :attr:`~dimse_codec.pdata.StreamDiagnostic.count`, their bytes in ``data``), and for an
    UNSUPPORTED_LINK_TYPE record, which stands for every packet skipped on its interface.
    """

    association: int | None
    direction: DicomDirection
    frame: int | None
    diagnostic: Diagnostic
    data: bytes = b""
    count: int = 1
    state: str | None = None
    """For a PDU PS3.8 Table 9-10 forbids: the state ("Sta8") of the machine that judged it."""
    event: str | None = None
    """With ``state``: the event ("Evt10") the PDU was for that machine."""


CaptureRecord = AssociationEvent | CapturedMessage | StreamGap | CaptureProblem
"""Everything :class:`CaptureDecoder` returns."""
