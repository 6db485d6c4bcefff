"""The captured acceptor's side, to play to a live requestor (``dimse-codec replay --listen``).

:class:`CapturedAcceptor` hands each new live association the next captured association
(cycling through them) as an :class:`AcceptorScript`. The script answers the live A-ASSOCIATE-RQ
as the capture did (the same abstract syntaxes accepted with the same transfer syntaxes, the
same roles, Maximum Length, Implementation Class UID and Version Name; the same A-ASSOCIATE-RJ
when the capture has one), and for each live request picks the captured
:class:`~dimse_codec.replay.script.Exchange` that matches it (the next unused one, in order, of
the same command and SOP class; then of the same command), whose messages
:func:`answer_message` rewrites for the live request: MessageIDBeingRespondedTo and the
Affected SOP Class and Instance UIDs the live request named. No I/O here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    Accepted,
    Rejected,
    respond,
)
from dimse_codec.capture.records import CapturedMessage
from dimse_codec.dataset.codec import decode_dataset
from dimse_codec.dimse.codec import decode_command_set
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ
from dimse_codec.replay.script import (
    CapturedAssociation,
    Exchange,
    fresh_request,
    sop_class_of,
)

__all__ = ["AcceptorScript", "CapturedAcceptor", "answer_message"]

_ECHOED = ("AffectedSOPClassUID", "AffectedSOPInstanceUID")
"""(=) parameters a response copies from its request (PS3.7 9.3), taken from the live one."""


@dataclass(slots=True)
class AcceptorScript:
    """One captured association, played as the acceptor to one live association."""

    association: CapturedAssociation
    used: set[int] = field(default_factory=set)
    """Indexes of the exchanges already played."""

    def decide(self, rq: AAssociateRQ) -> Accepted | Rejected:
        """Answer the live A-ASSOCIATE-RQ as the capture answered its own."""
        answer = self.association.answer
        if isinstance(answer, AAssociateRJ):
            return Rejected(answer)
        supported: dict[str, list[str]] = {}
        negotiated = self.association.negotiated
        roles = {} if negotiated is None else dict(negotiated.role_selections)
        if negotiated is not None:
            for context in negotiated.accepted_contexts.values():
                syntaxes = supported.setdefault(context.abstract_syntax, [])
                if context.transfer_syntax not in syntaxes:
                    syntaxes.append(context.transfer_syntax)
        maximum = DEFAULT_MAX_PDU_LENGTH
        class_uid: str = IMPLEMENTATION_CLASS_UID
        version: str | None = IMPLEMENTATION_VERSION_NAME
        info = answer.user_information if isinstance(answer, AAssociateAC) else None
        if info is not None:
            maximum = info.maximum_length or DEFAULT_MAX_PDU_LENGTH
            if info.implementation_class_uid:  # the captured SCP's own, so it looks the same
                class_uid = info.implementation_class_uid
                version = info.implementation_version_name
        try:
            return respond(
                rq,
                supported,
                max_pdu_length=maximum,
                roles=roles,
                implementation_class_uid=class_uid,
                implementation_version_name=version,
            )
        except DimseCodecError:  # a captured implementation UID or name we cannot send
            return respond(rq, supported, max_pdu_length=maximum, roles=roles)

    def exchange_for(self, request: DIMSEPrimitive) -> Exchange | None:
        """The captured exchange that answers a live request, marked used; None if none does."""
        candidates = [
            (number, exchange)
            for number, exchange in enumerate(self.association.exchanges)
            if number not in self.used and exchange.request.primitive.msg_type == request.msg_type
        ]
        wanted = sop_class_of(request)
        chosen = next(
            (pair for pair in candidates if sop_class_of(pair[1].request.primitive) == wanted),
            candidates[0] if candidates else None,
        )
        if chosen is None:
            return None
        self.used.add(chosen[0])
        return chosen[1]


@dataclass(slots=True)
class CapturedAcceptor:
    """The scripts of a capture's associations, handed out in turn to live associations."""

    associations: Sequence[CapturedAssociation]
    _turn: int = 0

    def __post_init__(self) -> None:
        self.associations = [a for a in self.associations if a.answer is not None]

    @property
    def playable(self) -> bool:
        """Whether the capture has an association whose answer can be played."""
        return bool(self.associations)

    def next_script(self) -> AcceptorScript:
        """The script for the next live association (the captured ones in order, round again)."""
        association = self.associations[self._turn % len(self.associations)]
        self._turn += 1
        return AcceptorScript(association)


def answer_message(
    captured: CapturedMessage, live_request: DIMSEPrimitive | None, transfer_syntax: str | None
) -> tuple[DIMSEPrimitive, Dataset | bytes | None]:
    """A captured acceptor message made ready for the live association.

    A response answers ``live_request``: its MessageIDBeingRespondedTo and the Affected SOP
    Class and Instance UIDs the live request named replace the captured ones. A request (a
    C-STORE sub-operation) gets a new Message ID. The data set is re-encoded when the live
    context's ``transfer_syntax`` differs from the captured one.
    """
    spec = captured.primitive.message_spec
    if spec is not None and spec.is_request:
        return fresh_request(captured, transfer_syntax)
    primitive = decode_command_set(captured.command_set)
    if live_request is not None:
        asked = live_request.values()
        primitive.MessageIDBeingRespondedTo = asked.get("MessageID")  # type: ignore[attr-defined]
        present = primitive.values()
        for keyword in _ECHOED:
            if present.get(keyword) is not None and asked.get(keyword) is not None:
                setattr(primitive, keyword, asked[keyword])
    if captured.dataset is None:
        return primitive, None
    data = bytes(captured.dataset)
    syntax = captured.transfer_syntax
    if transfer_syntax is None or syntax is None or syntax == transfer_syntax:
        return primitive, data
    return primitive, decode_dataset(data, syntax)
