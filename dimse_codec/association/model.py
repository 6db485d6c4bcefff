"""Frozen values for negotiation: what was proposed, what was agreed, and how it ended.

:class:`Association` is the outcome both sides hold once an A-ASSOCIATE-AC has been sent or read;
:class:`Accepted`, :class:`Rejected` and :class:`Aborted` wrap the PDU that ended negotiation so a
caller can ``match`` on the result.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AbortReason,
    AbortSource,
    PresentationContextResult,
    RejectReasonACSE,
    RejectReasonPresentation,
    RejectReasonUser,
    RejectResult,
    RejectSource,
    SOPClassCommonExtendedNegotiationSubItem,
    UserIdentityRQSubItem,
)
from dimse_codec.policy import Diagnostic

__all__ = [
    "Aborted",
    "Accepted",
    "AcceptedContext",
    "Association",
    "AsyncWindow",
    "ProposedContext",
    "Rejected",
    "RejectedContext",
    "Roles",
]


class Roles(NamedTuple):
    """SCU and SCP roles for one SOP class: a Role Selection value pair, or a side's own roles."""

    scu: bool
    scp: bool


DEFAULT_REQUESTOR_ROLES = Roles(scu=True, scp=False)
"""The requestor's roles when no Role Selection was negotiated (PS3.7 D.3.3.4): SCU only."""


class AsyncWindow(NamedTuple):
    """An Asynchronous Operations Window (PS3.7 D.3.3.3), in the sub-item's terms; 0 is unlimited.

    ``invoked`` is the most operations the requestor may have outstanding and ``performed`` the
    most it will perform at once; ``(1, 1)`` (no sub-item) is synchronous operation.
    """

    invoked: int
    performed: int


SYNCHRONOUS = AsyncWindow(1, 1)
"""The window in force when none was negotiated."""


class AcceptedContext(NamedTuple):
    """An accepted presentation context: the proposed abstract syntax and the accepted TS."""

    abstract_syntax: str
    transfer_syntax: str


class RejectedContext(NamedTuple):
    """A rejected presentation context: the proposed abstract syntax and the result/reason."""

    abstract_syntax: str
    result: PresentationContextResult | int


@dataclass(frozen=True, slots=True)
class ProposedContext:
    """A presentation context to propose: one abstract syntax and the transfer syntaxes for it.

    ``context_id`` is assigned (1, 3, 5, ...) when ``None``.
    """

    abstract_syntax: str
    transfer_syntaxes: Sequence[str]
    context_id: int | None = None


def _frozen(mapping: Mapping[object, object]) -> MappingProxyType[object, object]:
    """A read-only copy of a mapping, so a frozen value cannot be changed through it."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Association:
    """What both sides agreed in A-ASSOCIATE negotiation, seen from one side.

    Max PDU lengths count the P-DATA-TF variable field (the PDU without its 6-byte header) and 0
    means no limit: ``peer_max_pdu_length`` is what we may send, ``our_max_pdu_length`` what we
    receive. ``role_selections`` holds the negotiated Role Selection per SOP class from the
    requestor's side, as on the wire; :meth:`roles_for` turns it into this side's roles.
    ``diagnostics`` lists what negotiation tolerated (the PDUs' own decode diagnostics stay on the
    PDUs) and is not compared.
    """

    is_requestor: bool
    calling_ae_title: str
    called_ae_title: str
    application_context_name: str
    accepted_contexts: Mapping[int, AcceptedContext] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    rejected_contexts: Mapping[int, RejectedContext] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    our_max_pdu_length: int = 0
    peer_max_pdu_length: int = 0
    peer_implementation_class_uid: str | None = None
    peer_implementation_version_name: str | None = None
    role_selections: Mapping[str, Roles] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    async_window: AsyncWindow = SYNCHRONOUS
    user_identity: UserIdentityRQSubItem | None = None
    user_identity_response: bytes | None = None
    extended_negotiation: Mapping[str, bytes] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    common_extended_negotiation: Mapping[str, SOPClassCommonExtendedNegotiationSubItem] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        """Freeze the mappings so the value stays immutable whatever the caller passed."""
        for name in (
            "accepted_contexts",
            "rejected_contexts",
            "role_selections",
            "extended_negotiation",
            "common_extended_negotiation",
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def local_ae_title(self) -> str:
        """Our AE title: the calling AE title for a requestor, the called one for an acceptor."""
        return self.calling_ae_title if self.is_requestor else self.called_ae_title

    @property
    def peer_ae_title(self) -> str:
        """The peer's AE title: the called AE title for a requestor, the calling one otherwise."""
        return self.called_ae_title if self.is_requestor else self.calling_ae_title

    def requestor_roles(self, abstract_syntax: str) -> Roles:
        """Return the requestor's roles for a SOP class (SCU only when none were negotiated)."""
        return self.role_selections.get(abstract_syntax, DEFAULT_REQUESTOR_ROLES)

    def roles_for(self, abstract_syntax: str) -> Roles:
        """Return this side's roles for a SOP class, so a caller knows whether it may invoke."""
        requestor = self.requestor_roles(abstract_syntax)
        if self.is_requestor:
            return requestor
        return Roles(scu=requestor.scp, scp=requestor.scu)

    def context_id_for(
        self, abstract_syntax: str, transfer_syntax: str | None = None
    ) -> int | None:
        """Return the lowest accepted context ID for an abstract (and transfer) syntax, if any."""
        for context_id in sorted(self.accepted_contexts):
            context = self.accepted_contexts[context_id]
            if context.abstract_syntax == abstract_syntax and (
                transfer_syntax is None or context.transfer_syntax == transfer_syntax
            ):
                return context_id
        return None


_RESULTS = {1: "rejected-permanent", 2: "rejected-transient"}
_SOURCES = {
    1: "the DICOM UL service-user",
    2: "the DICOM UL service-provider (ACSE related function)",
    3: "the DICOM UL service-provider (presentation related function)",
}
_REASONS: dict[int, type[enum.IntEnum]] = {
    1: RejectReasonUser,
    2: RejectReasonACSE,
    3: RejectReasonPresentation,
}


def _name(enum_type: type[enum.IntEnum] | None, value: int) -> str:
    """A PS3.8 style name for a coded value (``called-AE-title-not-recognized``), or its number."""
    if enum_type is not None and value in enum_type._value2member_map_:
        words = enum_type(value).name.lower().split("_")
        return "-".join(word.upper() if word in ("ae", "pdu") else word for word in words)
    return f"reason {value}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """Negotiation ended with an A-ASSOCIATE-AC: the PDU (to send, or as read) and its outcome."""

    pdu: AAssociateAC
    association: Association


@dataclass(frozen=True, slots=True)
class Rejected:
    """Negotiation ended with an A-ASSOCIATE-RJ: the PDU (to send, or as read) and why."""

    pdu: AAssociateRJ

    @property
    def result(self) -> RejectResult | int:
        """Rejected-permanent (1) or rejected-transient (2): whether retrying later may help."""
        return self.pdu.result

    @property
    def source(self) -> RejectSource | int:
        """Who rejected: the service-user (1), the ACSE (2) or the presentation (3) provider."""
        return self.pdu.source

    @property
    def reason(self) -> RejectReasonUser | RejectReasonACSE | RejectReasonPresentation | int:
        """The Reason/Diag. code, whose meaning depends on :attr:`source`."""
        return self.pdu.reason_diag

    @property
    def transient(self) -> bool:
        """Whether the rejection is transient, i.e. the same request may succeed later."""
        return int(self.pdu.result) == RejectResult.REJECTED_TRANSIENT

    @property
    def description(self) -> str:
        """One line naming the result, the source and the reason as PS3.8 Table 9-21 does."""
        result = _RESULTS.get(int(self.result), f"result {int(self.result)}")
        source = _SOURCES.get(int(self.source), f"source {int(self.source)}")
        reason = _name(_REASONS.get(int(self.source)), int(self.reason))
        return f"{result} by {source}: {reason}"


@dataclass(frozen=True, slots=True)
class Aborted:
    """The peer answered an A-ASSOCIATE-RQ with an A-ABORT (PS3.8 9.3.8)."""

    pdu: AAbort

    @property
    def description(self) -> str:
        """One line naming the abort source and, for the provider, the reason."""
        source, reason = int(self.pdu.source), int(self.pdu.reason_diag)
        if source == AbortSource.SERVICE_PROVIDER:
            return f"A-P-ABORT by the service-provider: {_name(AbortReason, reason)}"
        if source == AbortSource.SERVICE_USER:
            return "A-ABORT by the service-user"
        return f"A-ABORT from source {source}, {_name(AbortReason, reason)}"
