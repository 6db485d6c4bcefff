"""Storage Commitment Push Model (PS3.4 Annex J), both roles, as handlers and messages.

The SCU asks with an N-ACTION (Action Type ID 1) listing the instances; the SCP answers at
once and reports later with an N-EVENT-REPORT (Event Type ID 1: all committed, 2: failures
included), either on the same association or on a new one it requests, proposing the SOP class
with SCU/SCP Role Selection SCU=False, SCP=True (PS3.4 J.3.3). The SCU that receives the report
on a new association must accept that SCP role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from dimse_codec.association import Roles
from dimse_codec.dimse.primitives import N_ACTION, N_EVENT_REPORT
from dimse_codec.services.contexts import NATIVE, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE
from dimse_codec.services.session import Handler, RequestElsewhere, ServiceRequest

__all__ = [
    "COMMITMENT_ACCEPTOR_ROLES",
    "COMMITMENT_REPORT_ROLES",
    "commitment_handler",
    "commitment_report",
    "commitment_request",
    "report_receiver",
]

COMMITMENT_REPORT_ROLES = {STORAGE_COMMITMENT: Roles(scu=False, scp=True)}
"""What the SCP proposes on the association it opens for a report (PS3.4 J.3.3)."""
COMMITMENT_ACCEPTOR_ROLES = {STORAGE_COMMITMENT: Roles(scu=True, scp=True)}
"""The requestor roles an SCU accepts so that a report association is not refused."""

Check = Callable[[str, str], int | None]
"""Whether an instance is committed: ``None`` yes, else a Failure Reason (PS3.4 J.3.2.1.1.2)."""


def commitment_request(
    references: Iterable[tuple[str, str]], transaction_uid: str | None = None
) -> tuple[N_ACTION, Dataset]:
    """The N-ACTION request and Action Information asking to commit these (class, instance)s."""
    info = Dataset()
    info.TransactionUID = transaction_uid or generate_uid()
    info.ReferencedSOPSequence = [_reference(sop_class, sop) for sop_class, sop in references]
    request = N_ACTION(
        RequestedSOPClassUID=STORAGE_COMMITMENT,
        RequestedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        ActionTypeID=1,
    )
    return request, info


def commitment_report(info: Dataset, check: Check | None = None) -> tuple[N_EVENT_REPORT, Dataset]:
    """The N-EVENT-REPORT request and Event Information answering an N-ACTION's information."""
    report = Dataset()
    report.TransactionUID = info.TransactionUID
    committed, failed = [], []
    for item in info.get("ReferencedSOPSequence", []):
        sop_class, sop = str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID)
        reason = check(sop_class, sop) if check is not None else None
        if reason is None:
            committed.append(_reference(sop_class, sop))
        else:
            failure = _reference(sop_class, sop)
            failure.FailureReason = reason
            failed.append(failure)
    if committed:
        report.ReferencedSOPSequence = committed
    if failed:
        report.FailedSOPSequence = failed
    primitive = N_EVENT_REPORT(
        AffectedSOPClassUID=STORAGE_COMMITMENT,
        AffectedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        EventTypeID=2 if failed else 1,
    )
    return primitive, report


def commitment_handler(
    check: Check | None = None,
    *,
    report_on: Literal["same", "new"] = "same",
    report_to: str | None = None,
) -> Handler:
    """An N-ACTION handler for the Storage Commitment SCP: Success now, the report after.

    ``report_on="same"`` sends the N-EVENT-REPORT on the request's association right after the
    N-ACTION response; ``"new"`` asks the I/O layer for a new association to ``report_to`` (by
    default the requestor's AE title) proposing the SCP role (PS3.4 J.3.3).
    """

    def on_action(event: ServiceRequest) -> int:
        info = event.action_information
        primitive, report = commitment_report(info, check)
        if report_on == "same":
            event.send_after(primitive, report)
        else:
            peer = report_to or (event.association.peer_ae_title if event.association else "")
            event.send_elsewhere(
                RequestElsewhere(
                    peer,
                    [(STORAGE_COMMITMENT, NATIVE)],
                    COMMITMENT_REPORT_ROLES,
                    primitive,
                    report,
                )
            )
        return 0x0000

    return on_action


def report_receiver(on_report: Callable[[int, Dataset], None]) -> Handler:
    """An N-EVENT-REPORT handler for the Storage Commitment SCU: hands over the report, Success."""

    def on_event(event: ServiceRequest) -> int:
        event_type = event.request.values().get("EventTypeID")
        on_report(int(event_type or 0), event.event_information)
        return 0x0000

    return on_event


def _reference(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item
