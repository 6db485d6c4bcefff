"""A capture's associations as scripts to play again: each request with what answered it.

:func:`captured_associations` reads the records of :mod:`dimse_codec.capture` (in their order)
and groups them per association into :class:`CapturedAssociation` values: the A-ASSOCIATE-RQ
and its answer, then one :class:`Exchange` per request the requestor sent, holding every message
the acceptor sent for it (its responses, and the C-STORE sub-operations of a C-GET, in wire
order) and the C-CANCEL that interrupted it. Both sides of ``dimse-codec replay`` read these
scripts: ``--to`` sends the requests again and compares the answers, ``--listen`` sends the
captured answers. :func:`fresh_request` makes a request ready for a new association (a new
Message ID, its data set in the new context's transfer syntax). No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from dimse_codec.association import Association
from dimse_codec.capture.records import (
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureRecord,
    DicomDirection,
)
from dimse_codec.capture.select import Selection
from dimse_codec.dataset.codec import decode_dataset
from dimse_codec.dimse.codec import decode_command_set
from dimse_codec.dimse.primitives import C_CANCEL, DIMSEPrimitive
from dimse_codec.dimse.status import category
from dimse_codec.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ
from dimse_codec.tables.status import StatusCategory

__all__ = [
    "CapturedAssociation",
    "Exchange",
    "captured_associations",
    "fresh_request",
    "message_id_of",
    "sop_class_of",
]


def message_id_of(message: CapturedMessage, keyword: str = "MessageID") -> int | None:
    """A message's MessageID (or ``keyword``'s value, e.g. MessageIDBeingRespondedTo)."""
    value = message.primitive.values().get(keyword)
    return value if isinstance(value, int) else None


def sop_class_of(primitive: DIMSEPrimitive) -> str | None:
    """The Affected or Requested SOP Class UID a message names, if any."""
    values = primitive.values()
    uid = values.get("AffectedSOPClassUID") or values.get("RequestedSOPClassUID")
    return None if uid is None else str(uid)


@dataclass(slots=True)
class Exchange:
    """One request of the requestor and everything the acceptor sent for it, in wire order."""

    request: CapturedMessage
    answers: list[CapturedMessage] = field(default_factory=list)
    """The acceptor's messages for this request: its responses (Pending ones first) and the
    requests it made meanwhile (a C-GET's C-STORE sub-operations)."""
    cancel: CapturedMessage | None = None
    """The C-CANCEL the requestor sent for it, if any."""
    pending_before_cancel: int = 0
    """How many Pending responses had arrived when the C-CANCEL was sent."""
    finished: bool = False
    """Whether its final (non-Pending) response is in :attr:`answers`."""

    @property
    def responses(self) -> list[CapturedMessage]:
        """The responses to the request, Pending ones included, in order."""
        return [m for m in self.answers if not _is_request(m)]

    @property
    def sub_requests(self) -> list[CapturedMessage]:
        """The requests the acceptor sent while serving it (C-STORE sub-operations of a C-GET)."""
        return [m for m in self.answers if _is_request(m)]

    @property
    def final(self) -> CapturedMessage | None:
        """The last, non-Pending response, if the capture has it."""
        return self.answers[-1] if self.finished else None

    @property
    def name(self) -> str:
        """The request's message type, e.g. ``C-FIND-RQ``."""
        return self.request.name

    @property
    def complete(self) -> bool:
        """Whether the captured request arrived whole (an incomplete one cannot be sent again)."""
        return self.request.incomplete is None


@dataclass(slots=True)
class CapturedAssociation:
    """One association of a capture: the negotiation and the requestor's requests, in order."""

    index: int
    record: AssociationRecord
    exchanges: list[Exchange] = field(default_factory=list)
    unsolicited: list[CapturedMessage] = field(default_factory=list)
    """Requests of the acceptor outside any request of the requestor (not played again)."""

    @property
    def request(self) -> AAssociateRQ | None:
        """The captured A-ASSOCIATE-RQ (None when the capture began after it)."""
        return self.record.request

    @property
    def answer(self) -> AAssociateAC | AAssociateRJ | None:
        """The captured A-ASSOCIATE-AC or -RJ."""
        return self.record.answer

    @property
    def negotiated(self) -> Association | None:
        """What was negotiated, when the capture has the AC."""
        return self.record.negotiated

    @property
    def replayable(self) -> bool:
        """Whether the requestor's side can be played: the capture has its A-ASSOCIATE-RQ."""
        return self.record.request is not None


def _is_request(message: CapturedMessage) -> bool:
    spec = message.primitive.message_spec
    return spec is not None and spec.is_request


def _pending(message: CapturedMessage) -> bool:
    status = message.status
    return status is not None and category(status) is StatusCategory.PENDING


def captured_associations(
    records: Iterable[CaptureRecord], selection: Selection | None = None
) -> list[CapturedAssociation]:
    """Group a capture's records into :class:`CapturedAssociation` scripts, in capture order.

    ``selection`` keeps some of them: its association criteria (number, AE title) choose the
    associations, its message criteria (type, SOP Class, time, frames) the requests, its status
    criterion the requests whose final captured response has a chosen status.
    """
    chosen = selection or Selection()
    found: dict[int, CapturedAssociation] = {}
    for record in records:
        if isinstance(record, AssociationEvent):
            association = record.association
            entry = found.get(association.index)
            if entry is None:
                found[association.index] = CapturedAssociation(association.index, association)
            else:
                entry.record = association
        elif isinstance(record, CapturedMessage):
            entry = found.get(record.association)
            if entry is not None:
                _add(entry, record)
    kept = [entry for entry in found.values() if chosen.association_passes(entry.record)]
    for entry in kept:
        entry.exchanges = [
            exchange
            for exchange in entry.exchanges
            if chosen.message_passes(exchange.request, status=False)
            and (not chosen.by_status or _final_status_passes(exchange, chosen))
        ]
    return sorted(kept, key=lambda entry: entry.index)


def _final_status_passes(exchange: Exchange, selection: Selection) -> bool:
    final = exchange.final
    return final is not None and selection.status_passes(final.status)


def _add(association: CapturedAssociation, message: CapturedMessage) -> None:
    """Place one message in its association's script."""
    exchanges = association.exchanges
    if message.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR:
        if isinstance(message.primitive, C_CANCEL):
            answered = message_id_of(message, "MessageIDBeingRespondedTo")
            for exchange in reversed(exchanges):
                if message_id_of(exchange.request) == answered and exchange.cancel is None:
                    exchange.cancel = message
                    exchange.pending_before_cancel = sum(map(_pending, exchange.responses))
                    break
        elif _is_request(message):
            exchanges.append(Exchange(message))
        return  # the requestor's responses (to C-STORE sub-operations) are not scripted
    if message.direction is not DicomDirection.ACCEPTOR_TO_REQUESTOR:
        return
    if _is_request(message):
        open_exchange = next((e for e in reversed(exchanges) if not e.finished), None)
        if open_exchange is None:
            association.unsolicited.append(message)
        else:
            open_exchange.answers.append(message)
        return
    answered = message_id_of(message, "MessageIDBeingRespondedTo")
    for exchange in reversed(exchanges):
        if message_id_of(exchange.request) == answered and not exchange.finished:
            exchange.answers.append(message)
            exchange.finished = not _pending(message)
            return


def fresh_request(
    message: CapturedMessage, transfer_syntax: str | None
) -> tuple[DIMSEPrimitive, Dataset | bytes | None]:
    """A captured request ready for a new association: the same command without its Message ID
    (the new connection numbers it), and its data set for a context of ``transfer_syntax``.

    The data set goes as the captured bytes when the new context has the captured transfer
    syntax, and decoded (to be encoded again in the new one) when it has another.
    """
    primitive = decode_command_set(message.command_set)
    primitive.MessageID = None  # type: ignore[attr-defined]
    data = None if message.dataset is None else bytes(message.dataset)
    if data is None:
        return primitive, None
    captured_syntax = message.transfer_syntax
    if transfer_syntax is None or captured_syntax is None or captured_syntax == transfer_syntax:
        return primitive, data
    return primitive, decode_dataset(data, captured_syntax)
