"""Helpers both sides of negotiation share: diagnostics through a policy, sub-item indexing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from dimse_codec.association.constants import DEFAULT_MAX_PDU_LENGTH
from dimse_codec.pdata.limits import MIN_MAX_PDU_LENGTH
from dimse_codec.pdu import (
    AAssociateRQ,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    UserIdentityRQSubItem,
    UserInformationItem,
)
from dimse_codec.policy import Diagnostic, DiagnosticCode, Policy

_D = DiagnosticCode


class Reporter:
    """Collects negotiation diagnostics through a policy (strict raises on the first)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.found: list[Diagnostic] = []

    def __call__(self, code: DiagnosticCode, text: str, path: str) -> None:
        """Report one problem under its own code (so a policy can allow or raise on it)."""
        self.policy.report(self.found, code, text, None, path)


def proposed_contexts(rq: AAssociateRQ) -> dict[int, tuple[str, tuple[str, ...]]]:
    """Return the RQ's contexts as ID -> (abstract syntax, transfer syntaxes), first ID wins."""
    proposed: dict[int, tuple[str, tuple[str, ...]]] = {}
    for item in rq.presentation_contexts:
        proposed.setdefault(
            item.presentation_context_id, (item.abstract_syntax or "", item.transfer_syntaxes)
        )
    return proposed


_N = TypeVar("_N", SCPSCURoleSelectionSubItem, SOPClassExtendedNegotiationSubItem)


def first_by_sop_class(items: Sequence[_N], report: Reporter | None, path: str) -> dict[str, _N]:
    """Index negotiation sub-items by SOP class, keeping the first and reporting repeats."""
    indexed: dict[str, _N] = {}
    for item in items:
        if item.sop_class_uid in indexed:
            if report is not None:
                report(
                    _D.DUPLICATE_NEGOTIATION,
                    f"a second sub-item 0x{item.item_type:02X} for {item.sop_class_uid}; "
                    "the first is used",
                    path,
                )
            continue
        indexed[item.sop_class_uid] = item
    return indexed


def matched_answers(
    proposed: Sequence[_N], answered: Sequence[_N], report: Reporter, what: str, path: str
) -> tuple[dict[str, _N], dict[str, _N]]:
    """(proposals, answers to them) by SOP class; answers nobody proposed are reported, dropped."""
    asked = first_by_sop_class(proposed, None, path)
    answers: dict[str, _N] = {}
    for sop, item in first_by_sop_class(answered, report, path).items():
        if sop in asked:
            answers[sop] = item
        else:
            report(
                _D.UNSOLICITED_NEGOTIATION,
                f"{what} for {sop}, which was not proposed; ignored",
                path,
            )
    return asked, answers


def within(proposed: int, answered: int) -> bool:
    """Whether an answered window count keeps within the proposed one (0 is unlimited)."""
    return proposed == 0 or 0 < answered <= proposed


def peer_max_length(user: UserInformationItem, report: Reporter, path: str) -> int:
    """The peer's Maximum Length Received, assuming the default when it sent none."""
    value = user.maximum_length
    if value is None:
        report(
            _D.MAX_LENGTH_MISSING,
            f"no Maximum Length sub-item; assuming {DEFAULT_MAX_PDU_LENGTH}",
            path,
        )
        return DEFAULT_MAX_PDU_LENGTH
    if 0 < value < MIN_MAX_PDU_LENGTH:
        report(
            _D.MAX_LENGTH_TOO_SMALL,
            f"Maximum Length {value} cannot carry a PDV header and an even fragment "
            f"(at least {MIN_MAX_PDU_LENGTH}); kept",
            path,
        )
    return value


def common_extended(
    user: UserInformationItem,
) -> dict[str, SOPClassCommonExtendedNegotiationSubItem]:
    """The requestor's SOP Class Common Extended Negotiation sub-items by SOP class, first wins."""
    found: dict[str, SOPClassCommonExtendedNegotiationSubItem] = {}
    for item in user.common_extended_negotiations:
        found.setdefault(item.sop_class_uid, item)
    return found


def requested_identity(user: UserInformationItem) -> UserIdentityRQSubItem | None:
    """The User Identity (RQ) sub-item of a User Information item, if any."""
    item = user.user_identity
    return item if isinstance(item, UserIdentityRQSubItem) else None
