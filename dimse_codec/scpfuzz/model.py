"""What a live-fuzzing case is: the steps of one association, what each expects, and its target.

The vocabulary every other module of :mod:`dimse_codec.scpfuzz` speaks, and nothing else: a
:class:`Case` is the exact bytes of one association from the requestor's side, cut into
:class:`Step` s, each with the answer a conforming SCP gives when it takes that step as valid
(:class:`Expect`); a :class:`Target` is the SCP the cases are generated for (what it accepted
when we proposed our standard association). Sans-I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dimse_codec.association import AcceptedContext, Association
from dimse_codec.pdu import AAssociateRQ, encode_pdu
from dimse_codec.tables.uids import VERIFICATION_SOP_CLASS

__all__ = [
    "META_SOP_CLASSES",
    "MORE_STORAGE_SOP_CLASSES",
    "QUERY_RETRIEVE_SOP_CLASSES",
    "STORAGE_SOP_CLASSES",
    "VERIFICATION",
    "WORKLIST_FIND",
    "Case",
    "Expect",
    "Step",
    "Target",
]

VERIFICATION = VERIFICATION_SOP_CLASS
"""The Verification SOP class (C-ECHO), proposed first."""

STORAGE_SOP_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
        "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
        "1.2.840.10008.5.1.4.1.1.4": "MR Image Storage",
    }
)
"""Storage SOP classes proposed for the C-STORE cases (most storage SCPs accept these)."""

MORE_STORAGE_SOP_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound Image Storage",
        "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image Storage",
        "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
        "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
        "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image Storage",
        "1.2.840.10008.5.1.4.1.1.481.5": "RT Plan Storage",
        "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR Storage",
        "1.2.840.10008.5.1.4.1.1.104.1": "Encapsulated PDF Storage",
    }
)
"""Storage SOP classes proposed after the first three: the archive's instances use them too, so
C-STORE, C-FIND, C-GET and C-MOVE meet images, structured reports, plans and documents."""

QUERY_RETRIEVE_SOP_CLASSES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "1.2.840.10008.5.1.4.1.2.1.1": ("PATIENT", "FIND"),
        "1.2.840.10008.5.1.4.1.2.1.2": ("PATIENT", "MOVE"),
        "1.2.840.10008.5.1.4.1.2.1.3": ("PATIENT", "GET"),
        "1.2.840.10008.5.1.4.1.2.2.1": ("STUDY", "FIND"),
        "1.2.840.10008.5.1.4.1.2.2.2": ("STUDY", "MOVE"),
        "1.2.840.10008.5.1.4.1.2.2.3": ("STUDY", "GET"),
    }
)
"""Patient Root and Study Root Query/Retrieve information models (PS3.4 C.6): SOP class UID ->
(root, operation)."""

WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
"""Modality Worklist Information Model - FIND (PS3.4 K.6)."""

META_SOP_CLASSES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # Basic Grayscale Print Management Meta: Film Session, Film Box, Grayscale Image Box,
        # Printer (PS3.4 H.3.1)
        "1.2.840.10008.5.1.1.9": frozenset(f"1.2.840.10008.5.1.1.{n}" for n in (1, 2, 4, 16)),
    }
)
"""Meta SOP classes a case may propose -> the SOP classes whose messages go on its context
(PS3.4 H.3: the meta class is negotiated, each message names the member class it is for)."""


class Expect(str, enum.Enum):
    """The answer a conforming SCP gives to a step it takes as valid."""

    ASSOCIATION = "association"
    """An A-ASSOCIATE-AC or -RJ (answering an A-ASSOCIATE-RQ)."""
    RESPONSE = "response"
    """A DIMSE response (answering a request)."""
    RELEASE = "release"
    """An A-RELEASE-RP (answering an A-RELEASE-RQ)."""
    NOTHING = "nothing"
    """No answer is due: the SCP closes the connection (after an A-ABORT, or a PDU it must
    refuse), or just goes on (after a C-CANCEL-RQ, which has no response)."""


@dataclass(frozen=True, slots=True, repr=False)
class Step:
    """Bytes we send in one go before waiting for the answer, and what they are.

    ``defect`` names a protocol defect our decoder cannot see in the bytes alone (a request on
    a context the SCP did not accept, an A-ASSOCIATE-AC from the requestor); the oracle adds it
    to whatever the decoder finds.
    """

    label: str
    data: bytes
    expect: Expect
    defect: str | None = None
    pending: int | None = None
    """For a request step followed by its C-CANCEL-RQ: how many Pending responses to read
    before the next step is sent (0: none). ``None``, the default, reads up to the final
    response, answering the requests the SCP sends meanwhile (a C-GET's C-STORE-RQs)."""

    def __repr__(self) -> str:
        """Short: the label and size, not the bytes (Hypothesis prints failing examples)."""
        return f"Step({self.label!r}, {len(self.data)} bytes, expect {self.expect.value})"


@dataclass(frozen=True, slots=True, repr=False)
class Case:
    """One association: its kind, whether it was generated valid, and the steps to send.

    ``details`` holds what was generated, as JSON-ready values (the flaw, the message type,
    the maximum length the message was cut for ...), for the finding's description.
    """

    kind: str
    generated_valid: bool
    description: str
    steps: tuple[Step, ...]
    details: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:
        """Short: kind, description and step sizes, not the bytes."""
        return f"Case({self.kind!r}, {self.description!r}, steps={list(self.steps)!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The same short text for Hypothesis's (and IPython's) pretty printer.

        Without it Hypothesis prints every field of a dataclass, bytes and all, when it reports
        a failing example: tens of kilobytes for an ``oversized`` case.
        """
        printer.text(repr(self))

    @property
    def flaw(self) -> str:
        """The one thing broken (empty for a valid case): part of a finding's signature."""
        return str(self.details.get("flaw", ""))

    @property
    def sent(self) -> bytes:
        """Every byte of every step, in order (the whole requestor stream)."""
        return b"".join(step.data for step in self.steps)


@dataclass(frozen=True, slots=True, repr=False)
class Target:
    """The SCP as our standard proposal found it: what the cases are generated for.

    ``request`` is the A-ASSOCIATE-RQ every case and every liveness check sends (built by
    :func:`proposal`) and ``association`` what the SCP accepted in answer to it.
    """

    request: AAssociateRQ
    association: Association
    _request_bytes: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Encode the request once: nearly every case and every liveness check sends it."""
        object.__setattr__(self, "_request_bytes", encode_pdu(self.request))

    def __repr__(self) -> str:
        """Short: the AE titles and how many contexts were accepted. Every strategy built for
        a target names it, so Hypothesis's repr of the campaign's strategy was about a
        megabyte with the request written out in full."""
        rq = self.request
        return (
            f"Target({rq.calling_ae_title!r} -> {rq.called_ae_title!r}, "
            f"{len(self.accepted)} of {len(rq.presentation_contexts)} contexts accepted)"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The same short text for Hypothesis's (and IPython's) pretty printer."""
        printer.text(repr(self))

    @property
    def request_bytes(self) -> bytes:
        """The A-ASSOCIATE-RQ as sent."""
        return self._request_bytes

    @property
    def accepted(self) -> Mapping[int, AcceptedContext]:
        """Accepted presentation context ID -> abstract syntax and transfer syntax."""
        return self.association.accepted_contexts

    @property
    def peer_max_pdu_length(self) -> int:
        """The largest P-DATA-TF the SCP receives (0: no limit)."""
        return self.association.peer_max_pdu_length

    @property
    def our_max_pdu_length(self) -> int:
        """The largest P-DATA-TF we announced we receive."""
        return self.association.our_max_pdu_length

    @property
    def verification_context(self) -> int | None:
        """The accepted Verification context, if any."""
        return self.association.context_id_for(VERIFICATION)

    @property
    def storage_contexts(self) -> tuple[int, ...]:
        """Accepted contexts of the storage SOP classes we proposed."""
        return tuple(
            cid
            for cid, context in sorted(self.accepted.items())
            if context.abstract_syntax in STORAGE_SOP_CLASSES
            or context.abstract_syntax in MORE_STORAGE_SOP_CLASSES
        )

    def contexts_for(self, sop_class: str) -> tuple[int, ...]:
        """Accepted contexts of one SOP class, in ID order (one per accepted transfer syntax)."""
        return tuple(
            cid
            for cid, context in sorted(self.accepted.items())
            if context.abstract_syntax == sop_class
        )

    def query_contexts(self, operation: str) -> tuple[int, ...]:
        """Accepted Query/Retrieve contexts of one operation (``FIND``, ``MOVE``, ``GET``)."""
        return tuple(
            cid
            for cid, context in sorted(self.accepted.items())
            if QUERY_RETRIEVE_SOP_CLASSES.get(context.abstract_syntax, ("", ""))[1] == operation
        )

    @property
    def worklist_contexts(self) -> tuple[int, ...]:
        """Accepted Modality Worklist FIND contexts."""
        return self.contexts_for(WORKLIST_FIND)
