"""DIMSE status codes as data: PS3.7 Annex C (general) and the PS3.4 service-class tables.

Written once and only read: :mod:`dimse_codec.dimse.status` turns these tuples into answers.
Each :class:`StatusEntry` covers one code or one range of codes (``first`` to ``last``
inclusive), so PS3.4's ``A7xx`` or ``C000-CFFF`` stay one row instead of thousands.

Lookup order (see :func:`dimse_codec.dimse.status.meaning`): a service's own table first (an
exact code before a range, the narrowest range first), then :data:`GENERAL`, then a generic
text from the status category. Nothing here is merged into anything else, so a service's
further meaning (MPPS ``0110H``: the step may no longer be updated) can never be overwritten
by the general one.

``fields`` lists the command elements (keywords of :mod:`dimse_codec.tables.elements`) that
PS3.7 Annex C or the PS3.4 table lists as related fields of the status; ``dataset`` names the
data set that may accompany it instead (e.g. the invalid values of an N-SET for ``0116H``).
``section`` is where the row is defined.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Literal, NamedTuple

__all__ = [
    "APPLICATION_EVENT_LOGGING",
    "DIMSE_DEFAULT_SERVICE",
    "GENERAL",
    "GENERAL_BY_CODE",
    "INSTANCE_AVAILABILITY",
    "MEDIA_CREATION",
    "MODALITY_WORKLIST",
    "MPPS",
    "NON_PATIENT_STORAGE",
    "PRINT_MANAGEMENT",
    "QR_FIND",
    "QR_GET",
    "QR_MOVE",
    "RELEVANT_PATIENT",
    "RT_MACHINE_VERIFICATION",
    "SERVICES",
    "SOP_CLASS_SERVICE",
    "STORAGE",
    "STORAGE_COMMITMENT",
    "STORAGE_MANAGEMENT",
    "SUBSTANCE_ADMINISTRATION",
    "UPS",
    "VERIFICATION",
    "CategoryName",
    "StatusCategory",
    "StatusEntry",
]

CategoryName = Literal["Success", "Warning", "Failure", "Cancel", "Pending"]


class StatusCategory(str, enum.Enum):
    """The status class of a DIMSE status code (PS3.7 Annex C), plus Unknown for unlisted codes."""

    SUCCESS = "Success"
    WARNING = "Warning"
    FAILURE = "Failure"
    CANCEL = "Cancel"
    PENDING = "Pending"
    UNKNOWN = "Unknown"


class StatusEntry(NamedTuple):
    """One status code or code range with its category, meaning and related fields."""

    first: int
    last: int
    category: CategoryName
    meaning: str
    fields: tuple[str, ...] = ()
    dataset: str | None = None
    section: str = ""

    def covers(self, code: int) -> bool:
        """Return True when ``code`` lies in this entry's range."""
        return self.first <= code <= self.last

    @property
    def width(self) -> int:
        """How many codes the entry covers (1 for an exact code)."""
        return self.last - self.first + 1


def _one(
    code: int,
    category: CategoryName,
    meaning: str,
    fields: tuple[str, ...] = (),
    dataset: str | None = None,
    section: str = "",
) -> StatusEntry:
    return StatusEntry(code, code, category, meaning, fields, dataset, section)


def _range(
    first: int,
    last: int,
    category: CategoryName,
    meaning: str,
    fields: tuple[str, ...] = (),
    section: str = "",
) -> StatusEntry:
    return StatusEntry(first, last, category, meaning, fields, None, section)


# keyword groups reused below
_OE_EC = ("OffendingElement", "ErrorComment")
_EC = ("ErrorComment",)
_SUBOPS = (
    "NumberOfRemainingSuboperations",
    "NumberOfCompletedSuboperations",
    "NumberOfFailedSuboperations",
    "NumberOfWarningSuboperations",
)
_SUBOPS_DONE = _SUBOPS[1:]
_SUBOPS_EC = (*_SUBOPS, "ErrorComment")
_SUBOPS_DONE_EC = (*_SUBOPS_DONE, "ErrorComment")
_ASC = "AffectedSOPClassUID"
_ASI = "AffectedSOPInstanceUID"
_AIL = "AttributeIdentifierList"
_SET_OR_CREATE_LIST = "ModificationList/AttributeList"

# One row per status keeps the tables readable against the standard; keep them unwrapped.
# fmt: off
GENERAL: tuple[StatusEntry, ...] = (
    _one(0x0000, "Success", "Success", section="PS3.7 C.1.1"),
    _one(0x0107, "Warning", "Attribute list error", (_ASC, _ASI, _AIL), section="PS3.7 C.4.2"),
    _one(0x0116, "Warning", "Attribute value out of range", (), _SET_OR_CREATE_LIST, "PS3.7 C.4.3"),
    _one(0x0105, "Failure", "No such attribute", (_AIL,), section="PS3.7 C.5.17"),
    _one(0x0106, "Failure", "Invalid attribute value", (_AIL,), _SET_OR_CREATE_LIST, "PS3.7 C.5.11"),
    _one(0x0110, "Failure", "Processing failure", (_ASC, "ErrorComment", "ErrorID", _ASI), section="PS3.7 C.5.21"),
    _one(0x0111, "Failure", "Duplicate SOP Instance", (_ASI,), section="PS3.7 C.5.8"),
    _one(0x0112, "Failure", "No such SOP Instance", (_ASI,), section="PS3.7 C.5.19"),
    _one(0x0113, "Failure", "No such event type", (_ASC, "EventTypeID"), section="PS3.7 C.5.18"),
    _one(0x0114, "Failure", "No such argument", (_ASC, "EventTypeID", "ActionTypeID"), section="PS3.7 C.5.16"),
    _one(
        0x0115,
        "Failure",
        "Invalid argument value",
        (_ASC, _ASI, "EventTypeID", "ActionTypeID"),
        "EventInformation/ActionInformation",
        "PS3.7 C.5.10",
    ),
    _one(0x0117, "Failure", "Invalid SOP Instance", (_ASI,), section="PS3.7 C.5.12"),
    _one(0x0118, "Failure", "No such SOP Class", (_ASC,), section="PS3.7 C.5.20"),
    _one(0x0119, "Failure", "Class-instance conflict", (_ASC, _ASI), section="PS3.7 C.5.7"),
    _one(0x0120, "Failure", "Missing attribute", (_AIL,), section="PS3.7 C.5.13"),
    _one(0x0121, "Failure", "Missing attribute value", (_AIL,), section="PS3.7 C.5.14"),
    _one(0x0122, "Failure", "Refused: SOP Class not supported", section="PS3.7 C.5.6"),
    _one(0x0123, "Failure", "No such action", (_ASC, "ActionTypeID"), section="PS3.7 C.5.24"),
    _one(0x0124, "Failure", "Refused: not authorized", _EC, section="PS3.7 C.5.25"),
    _one(0x0210, "Failure", "Duplicate invocation", section="PS3.7 C.5.9"),
    _one(0x0211, "Failure", "Unrecognized operation", section="PS3.7 C.5.23"),
    _one(0x0212, "Failure", "Mistyped argument", section="PS3.7 C.5.15"),
    _one(0x0213, "Failure", "Resource limitation", section="PS3.7 C.5.22"),
    _one(0xFE00, "Cancel", "Cancel", section="PS3.7 C.3.1"),
)
"""PS3.7 Annex C statuses with a fixed code (``01xx``/``02xx`` are reserved to the standard).

The class-specific Annex C types (C.4.1 Warning, C.5.1 Cannot understand, C.5.3 Failed, C.5.4
Move destination unknown, C.5.5 Out of resources, C.2.1 Pending) have no code of their own;
their codes and related fields come with each service table below.
"""

GENERAL_BY_CODE: MappingProxyType[int, StatusEntry] = MappingProxyType(
    {entry.first: entry for entry in GENERAL}
)

# ---------------------------------------------------------------------------------------------
# Service-class names (the keys of SERVICES)

VERIFICATION = "Verification"
STORAGE = "Storage"
QR_FIND = "Query/Retrieve FIND"
QR_MOVE = "Query/Retrieve MOVE"
QR_GET = "Query/Retrieve GET"
MODALITY_WORKLIST = "Modality Worklist"
STORAGE_COMMITMENT = "Storage Commitment"
MPPS = "Modality Performed Procedure Step"
PRINT_MANAGEMENT = "Print Management"
UPS = "Unified Procedure Step"
APPLICATION_EVENT_LOGGING = "Application Event Logging"
MEDIA_CREATION = "Media Creation Management"
RELEVANT_PATIENT = "Relevant Patient Information Query"
SUBSTANCE_ADMINISTRATION = "Substance Administration Query"
NON_PATIENT_STORAGE = "Non-Patient Object Storage"
RT_MACHINE_VERIFICATION = "RT Machine Verification"
STORAGE_MANAGEMENT = "Storage Management"
INSTANCE_AVAILABILITY = "Instance Availability Notification"

# ---------------------------------------------------------------------------------------------
# Per-service tables (PS3.4); only the codes a service defines or further qualifies

_STORAGE: tuple[StatusEntry, ...] = (
    _range(0xA700, 0xA7FF, "Failure", "Refused: Out of resources", _EC, "PS3.4 B.2.3"),
    _range(0xA900, 0xA9FF, "Failure", "Error: Data Set does not match SOP Class", _OE_EC, "PS3.4 B.2.3"),
    _range(0xC000, 0xCFFF, "Failure", "Error: Cannot understand", _OE_EC, "PS3.4 B.2.3"),
    _one(0xB000, "Warning", "Coercion of data elements", _OE_EC, section="PS3.4 B.2.3"),
    _one(0xB006, "Warning", "Elements discarded", _OE_EC, section="PS3.4 B.2.3"),
    _one(0xB007, "Warning", "Data Set does not match SOP Class", _OE_EC, section="PS3.4 B.2.3"),
)

_QR_FIND: tuple[StatusEntry, ...] = (
    _one(0xA700, "Failure", "Refused: Out of resources", _EC, section="PS3.4 C.4.1.1.4"),
    _one(0xA900, "Failure", "Error: Identifier does not match SOP Class", _OE_EC, section="PS3.4 C.4.1.1.4"),
    _range(0xC000, 0xCFFF, "Failure", "Failed: Unable to process", _OE_EC, "PS3.4 C.4.1.1.4"),
    _one(0xFE00, "Cancel", "Matching terminated due to Cancel request", section="PS3.4 C.4.1.1.4"),
    _one(0x0000, "Success", "Matching is complete; no final Identifier is supplied", section="PS3.4 C.4.1.1.4"),
    _one(
        0xFF00,
        "Pending",
        "Matches are continuing; current match is supplied and any Optional Keys were supported "
        "in the same manner as Required Keys",
        dataset="Identifier",
        section="PS3.4 C.4.1.1.4",
    ),
    _one(
        0xFF01,
        "Pending",
        "Matches are continuing; warning that one or more Optional Keys were not supported for "
        "existence and/or matching for this Identifier",
        dataset="Identifier",
        section="PS3.4 C.4.1.1.4",
    ),
)

# Composite Instance Root / frame-level retrieve failures shared by C-MOVE and C-GET (PS3.4 Y)
_RETRIEVE_FRAMES: tuple[StatusEntry, ...] = (
    _one(0xAA00, "Failure", "None of the frames requested were found in the SOP Instance", _EC, section="PS3.4 Y.4"),
    _one(0xAA01, "Failure", "Unable to create new object for this SOP Class", _EC, section="PS3.4 Y.4"),
    _one(0xAA02, "Failure", "Unable to extract frames", _EC, section="PS3.4 Y.4"),
    _one(0xAA03, "Failure", "Time-based request received for a non-time-based original SOP Instance", _EC, section="PS3.4 Y.4"),
    _one(0xAA04, "Failure", "Invalid request", _EC, section="PS3.4 Y.4"),
)

_QR_MOVE: tuple[StatusEntry, ...] = (
    _one(0xA701, "Failure", "Refused: Out of resources; unable to calculate number of matches", _EC, section="PS3.4 C.4.2.1.5"),
    _one(0xA702, "Failure", "Refused: Out of resources; unable to perform sub-operations", _SUBOPS_EC, section="PS3.4 C.4.2.1.5"),
    _one(0xA801, "Failure", "Refused: Move destination unknown", _EC, section="PS3.4 C.4.2.1.5"),
    _one(0xA900, "Failure", "Error: Identifier does not match SOP Class", _OE_EC, section="PS3.4 C.4.2.1.5"),
    _range(0xC000, 0xCFFF, "Failure", "Failed: Unable to process", _OE_EC, "PS3.4 C.4.2.1.5"),
    _one(0xFE00, "Cancel", "Sub-operations terminated due to Cancel indication", _SUBOPS, section="PS3.4 C.4.2.1.5"),
    _one(0xB000, "Warning", "Sub-operations complete; one or more failures", _SUBOPS_DONE, section="PS3.4 C.4.2.1.5"),
    _one(0x0000, "Success", "Sub-operations complete; no failures", _SUBOPS_DONE, section="PS3.4 C.4.2.1.5"),
    _one(0xFF00, "Pending", "Sub-operations are continuing", _SUBOPS, section="PS3.4 C.4.2.1.5"),
    *_RETRIEVE_FRAMES,
)

_QR_GET: tuple[StatusEntry, ...] = (
    _one(0xA701, "Failure", "Refused: Out of resources; unable to calculate number of matches", _EC, section="PS3.4 C.4.3.1.4"),
    _one(0xA702, "Failure", "Refused: Out of resources; unable to perform sub-operations", _SUBOPS_EC, section="PS3.4 C.4.3.1.4"),
    _one(0xA900, "Failure", "Error: Identifier does not match SOP Class", _OE_EC, section="PS3.4 C.4.3.1.4"),
    _range(0xC000, 0xCFFF, "Failure", "Failed: Unable to process", _OE_EC, "PS3.4 C.4.3.1.4"),
    _one(0xFE00, "Cancel", "Sub-operations terminated due to Cancel indication", _SUBOPS, section="PS3.4 C.4.3.1.4"),
    _one(0xB000, "Warning", "Sub-operations complete; one or more failures or warnings", _SUBOPS_DONE, section="PS3.4 C.4.3.1.4"),
    _one(0x0000, "Success", "Sub-operations complete; no failures or warnings", _SUBOPS_DONE, section="PS3.4 C.4.3.1.4"),
    _one(0xFF00, "Pending", "Sub-operations are continuing", _SUBOPS, section="PS3.4 C.4.3.1.4"),
    *_RETRIEVE_FRAMES,
)


def _worklist_like(section: str) -> tuple[StatusEntry, ...]:
    """The C-FIND status set shared by the worklist-style query services."""
    return (
        _one(0xA700, "Failure", "Refused: Out of resources", _EC, section=section),
        _one(0xA900, "Failure", "Error: Identifier does not match SOP Class", _OE_EC, section=section),
        _range(0xC000, 0xCFFF, "Failure", "Failed: Unable to process", _OE_EC, section),
        _one(0xFE00, "Cancel", "Matching terminated due to Cancel request", section=section),
        _one(0x0000, "Success", "Matching is complete; no final Identifier is supplied", section=section),
        _one(
            0xFF00,
            "Pending",
            "Matches are continuing; current match is supplied and any Optional Keys were "
            "supported in the same manner as Required Keys",
            dataset="Identifier",
            section=section,
        ),
        _one(
            0xFF01,
            "Pending",
            "Matches are continuing; warning that one or more Optional Keys were not supported "
            "for existence for this Identifier",
            dataset="Identifier",
            section=section,
        ),
    )


_MPPS: tuple[StatusEntry, ...] = (
    _one(
        0x0110,
        "Failure",
        "Processing failure: Performed Procedure Step Object may no longer be updated",
        ("ErrorComment", "ErrorID"),
        section="PS3.4 F.7.2.2.4",
    ),
    _one(0x0001, "Warning", "Requested optional Attributes are not supported", section="PS3.4 F.8.2.3"),
)

_PRINT: tuple[StatusEntry, ...] = (
    _one(0xB600, "Warning", "Memory allocation not supported", section="PS3.4 H.4.1.2.1.2"),
    _one(0xB601, "Warning", "Film session printing (collation) is not supported", section="PS3.4 H.4.1.2.4.2"),
    _one(0xB602, "Warning", "Film Session SOP Instance hierarchy does not contain Image Box SOP Instances (empty page)", section="PS3.4 H.4.1.2.4.2"),
    _one(0xB603, "Warning", "Film Box SOP Instance hierarchy does not contain Image Box SOP Instances (empty page)", section="PS3.4 H.4.2.2.4.2"),
    _one(0xB604, "Warning", "Image size is larger than Image Box size; the image has been demagnified", section="PS3.4 H.4.3.1.2.1.2"),
    _one(0xB605, "Warning", "Requested Min Density or Max Density outside of printer's operating range; the printer uses its own minimum or maximum instead", section="PS3.4 H.4.2.2.1.2"),
    _one(0xB609, "Warning", "Image size is larger than Image Box size; the image has been cropped to fit", section="PS3.4 H.4.3.1.2.1.2"),
    _one(0xB60A, "Warning", "Image size or Combined Print Image size is larger than Image Box size; the image has been decimated to fit", section="PS3.4 H.4.3.1.2.1.2"),
    _one(0xC600, "Failure", "Film Session SOP Instance hierarchy does not contain Film Box SOP Instances", section="PS3.4 H.4.1.2.4.2"),
    _one(0xC601, "Failure", "Unable to create Print Job SOP Instance; print queue is full", section="PS3.4 H.4.1.2.4.2"),
    _one(0xC602, "Failure", "Unable to create Print Job SOP Instance; print queue is full", section="PS3.4 H.4.2.2.4.2"),
    _one(0xC603, "Failure", "Image size is larger than Image Box size", section="PS3.4 H.4.3.1.2.1.2"),
    _one(0xC605, "Failure", "Insufficient memory in printer to store the image", section="PS3.4 H.4.3.1.2.1.2"),
    _one(0xC613, "Failure", "Combined Print Image size is larger than Image Box size", section="PS3.4 H.4.3.1.2.1.2"),
    _one(0xC616, "Failure", "There is an existing Film Box that has not been printed and N-ACTION at the Film Session level is not supported", section="PS3.4 H.4.2.2.1.2"),
)

_UPS: tuple[StatusEntry, ...] = (
    _one(0x0001, "Warning", "Requested optional Attributes are not supported", section="PS3.4 CC.2.7"),
    _one(0xB300, "Warning", "The UPS was created with modifications", section="PS3.4 CC.2.5"),
    _one(0xB301, "Warning", "Deletion Lock not granted", section="PS3.4 CC.2.3"),
    _one(0xB304, "Warning", "The UPS is already in the requested state of CANCELED", section="PS3.4 CC.2.2"),
    _one(0xB305, "Warning", "Coerced invalid values to valid values", section="PS3.4 CC.2.6"),
    _one(0xB306, "Warning", "The UPS is already in the requested state of COMPLETED", section="PS3.4 CC.2.1"),
    _one(0xC300, "Failure", "The UPS may no longer be updated", section="PS3.4 CC.2.6"),
    _one(0xC301, "Failure", "The correct Transaction UID was not provided", section="PS3.4 CC.2.6"),
    _one(0xC302, "Failure", "The UPS is already IN PROGRESS", section="PS3.4 CC.2.1"),
    _one(0xC303, "Failure", "The UPS may only become SCHEDULED via N-CREATE, not N-SET or N-ACTION", section="PS3.4 CC.2.1"),
    _one(0xC304, "Failure", "The UPS has not met final state requirements for the requested state change", section="PS3.4 CC.2.1"),
    _one(0xC307, "Failure", "Specified SOP Instance UID does not exist or is not a UPS Instance managed by this SCP", section="PS3.4 CC.2.2"),
    _one(0xC308, "Failure", "Receiving AE-TITLE is unknown to this SCP", section="PS3.4 CC.2.3"),
    _one(0xC309, "Failure", "The provided value of UPS State was not SCHEDULED", section="PS3.4 CC.2.5"),
    _one(0xC310, "Failure", "The UPS is not yet in the IN PROGRESS state", section="PS3.4 CC.2.1"),
    _one(0xC311, "Failure", "Refused: The UPS is already COMPLETED", section="PS3.4 CC.2.2"),
    _one(0xC312, "Failure", "Refused: The performer cannot be contacted", section="PS3.4 CC.2.2"),
    _one(0xC313, "Failure", "Refused: Performer chooses not to cancel", section="PS3.4 CC.2.2"),
    _one(0xC314, "Failure", "Specified action not appropriate for specified instance", section="PS3.4 CC.2.3"),
    _one(0xC315, "Failure", "SCP does not support Event Reports", section="PS3.4 CC.2.3"),
    *_worklist_like("PS3.4 CC.2.8.4"),
)

_APPLICATION_EVENT_LOGGING: tuple[StatusEntry, ...] = (
    _one(0xB101, "Warning", "Specified Synchronization Frame of Reference UID does not match SCP Synchronization Frame of Reference", section="PS3.4 P.2.1"),
    _one(0xB102, "Warning", "Study Instance UID coercion; event logged under a different Study Instance UID", section="PS3.4 P.2.1"),
    _one(0xB104, "Warning", "IDs inconsistent in matching a current study; event logged", section="PS3.4 P.2.1"),
    _one(0xC101, "Failure", "Procedural Logging not available for specified Study Instance UID", section="PS3.4 P.2.1"),
    _one(0xC102, "Failure", "Event Information does not match Template", section="PS3.4 P.2.1"),
    _one(0xC103, "Failure", "Cannot match event to a current study", section="PS3.4 P.2.1"),
    _one(0xC104, "Failure", "IDs inconsistent in matching a current study; event not logged", section="PS3.4 P.2.1"),
    _one(0xC10E, "Failure", "Operator not authorized to add entry to Medication Administration Record", section="PS3.4 P.2.1"),
    _one(0xC110, "Failure", "Patient cannot be identified from Patient ID (0010,0020) or Admission ID (0038,0010)", section="PS3.4 P.2.1"),
    _one(0xC111, "Failure", "Update of Medication Administration Record failed", section="PS3.4 P.2.1"),
)

_MEDIA_CREATION: tuple[StatusEntry, ...] = (
    _one(0x0001, "Warning", "Requested optional Attributes are not supported", section="PS3.4 S.3.2.4"),
    _one(0xA510, "Failure", "An Initiate Media Creation action has already been received for this SOP Instance", section="PS3.4 S.3.2.2"),
    _one(0xC201, "Failure", "Media creation request already completed", section="PS3.4 S.3.2.3"),
    _one(0xC202, "Failure", "Media creation request already in progress and cannot be interrupted", section="PS3.4 S.3.2.3"),
    _one(0xC203, "Failure", "Cancellation denied for unspecified reason", section="PS3.4 S.3.2.3"),
)

_RELEVANT_PATIENT: tuple[StatusEntry, ...] = (
    _one(0xA700, "Failure", "Refused: Out of resources", _EC, section="PS3.4 Q.2.1.1.4"),
    _one(0xA900, "Failure", "Error: Identifier does not match SOP Class", _OE_EC, section="PS3.4 Q.2.1.1.4"),
    _one(0xC000, "Failure", "Failed: Unable to process", _OE_EC, section="PS3.4 Q.2.1.1.4"),
    _one(0xC100, "Failure", "Failed: More than one match found", _OE_EC, section="PS3.4 Q.2.1.1.4"),
    _one(0xC200, "Failure", "Failed: Unable to support requested template", _OE_EC, section="PS3.4 Q.2.1.1.4"),
    _one(0xFE00, "Cancel", "Matching terminated due to Cancel request", section="PS3.4 Q.2.1.1.4"),
    _one(0x0000, "Success", "Matching is complete; no final Identifier is supplied", section="PS3.4 Q.2.1.1.4"),
    _one(0xFF00, "Pending", "Current match is supplied", dataset="Identifier", section="PS3.4 Q.2.1.1.4"),
)

_NON_PATIENT_STORAGE: tuple[StatusEntry, ...] = (
    _one(0xA700, "Failure", "Refused: Out of resources", _EC, section="PS3.4 GG.4.2"),
    _one(0xA900, "Failure", "Error: Data Set does not match SOP Class", _OE_EC, section="PS3.4 GG.4.2"),
    _one(0xC000, "Failure", "Error: Cannot understand", _OE_EC, section="PS3.4 GG.4.2"),
)

_RT_MACHINE_VERIFICATION: tuple[StatusEntry, ...] = (
    _one(0xC112, "Failure", "No such object instance: applicable Machine Verification instance not found", section="PS3.4 DD.3"),
    _one(0xC221, "Failure", "The Referenced Fraction Group Number does not exist in the referenced plan", section="PS3.4 DD.3"),
    _one(0xC222, "Failure", "No beams exist within the referenced fraction group", section="PS3.4 DD.3"),
    _one(0xC223, "Failure", "SCU already verifying and cannot currently process this request", section="PS3.4 DD.3"),
    _one(0xC224, "Failure", "Referenced Beam Number not found within the referenced Fraction Group", section="PS3.4 DD.3"),
    _one(0xC225, "Failure", "Referenced device or accessory not supported", section="PS3.4 DD.3"),
    _one(0xC226, "Failure", "Referenced device or accessory not found within the referenced beam", section="PS3.4 DD.3"),
    _one(0xC227, "Failure", "No such object instance: Referenced RT Plan not found", section="PS3.4 DD.3"),
)

_STORAGE_MANAGEMENT: tuple[StatusEntry, ...] = (
    _one(
        0xB010,
        "Warning",
        "Attribute list error: one or more Key Attributes are not supported for matching",
        (_AIL,),
        section="PS3.4 KK.2.2.3",
    ),
)

SERVICES: MappingProxyType[str, tuple[StatusEntry, ...]] = MappingProxyType(
    {
        VERIFICATION: (),
        STORAGE: _STORAGE,
        QR_FIND: _QR_FIND,
        QR_MOVE: _QR_MOVE,
        QR_GET: _QR_GET,
        MODALITY_WORKLIST: _worklist_like("PS3.4 K.4.1.1.4"),
        STORAGE_COMMITMENT: (),
        MPPS: _MPPS,
        PRINT_MANAGEMENT: _PRINT,
        UPS: _UPS,
        APPLICATION_EVENT_LOGGING: _APPLICATION_EVENT_LOGGING,
        MEDIA_CREATION: _MEDIA_CREATION,
        RELEVANT_PATIENT: _RELEVANT_PATIENT,
        SUBSTANCE_ADMINISTRATION: _worklist_like("PS3.4 V.4.1.1.4"),
        NON_PATIENT_STORAGE: _NON_PATIENT_STORAGE,
        RT_MACHINE_VERIFICATION: _RT_MACHINE_VERIFICATION,
        STORAGE_MANAGEMENT: _STORAGE_MANAGEMENT,
        INSTANCE_AVAILABILITY: (),
    }
)
"""Service-specific statuses by service-class name; an empty tuple means only PS3.7 Annex C.

Verification, Storage Commitment and Instance Availability Notification define no status of
their own (Storage Commitment's ``0110H``/``0112H``/``0131H``... are Failure Reason values in
the event data set, not DIMSE statuses).
"""

# ---------------------------------------------------------------------------------------------
# Which service class to assume for a DIMSE service or a SOP Class

DIMSE_DEFAULT_SERVICE: MappingProxyType[str, str | None] = MappingProxyType(
    {
        "C-STORE": STORAGE,
        "C-ECHO": VERIFICATION,
        "C-FIND": QR_FIND,
        "C-MOVE": QR_MOVE,
        "C-GET": QR_GET,
        "C-CANCEL": None,
        "N-EVENT-REPORT": None,
        "N-GET": None,
        "N-SET": None,
        "N-ACTION": None,
        "N-CREATE": None,
        "N-DELETE": None,
    }
)
"""The service class a DIMSE service implies on its own (``None``: depends on the SOP Class)."""

SOP_CLASS_SERVICE: MappingProxyType[str, str] = MappingProxyType(
    {
        # Verification (PS3.4 A)
        "1.2.840.10008.1.1": VERIFICATION,
        # Storage Commitment Push Model (PS3.4 J)
        "1.2.840.10008.1.20.1": STORAGE_COMMITMENT,
        # Query/Retrieve (PS3.4 C): Patient Root, Study Root, Patient/Study Only (retired)
        "1.2.840.10008.5.1.4.1.2.1.1": QR_FIND,
        "1.2.840.10008.5.1.4.1.2.1.2": QR_MOVE,
        "1.2.840.10008.5.1.4.1.2.1.3": QR_GET,
        "1.2.840.10008.5.1.4.1.2.2.1": QR_FIND,
        "1.2.840.10008.5.1.4.1.2.2.2": QR_MOVE,
        "1.2.840.10008.5.1.4.1.2.2.3": QR_GET,
        "1.2.840.10008.5.1.4.1.2.3.1": QR_FIND,
        "1.2.840.10008.5.1.4.1.2.3.2": QR_MOVE,
        "1.2.840.10008.5.1.4.1.2.3.3": QR_GET,
        # Composite Instance Root / Composite Instance Retrieve Without Bulk Data (PS3.4 Y, Z)
        "1.2.840.10008.5.1.4.1.2.4.2": QR_MOVE,
        "1.2.840.10008.5.1.4.1.2.4.3": QR_GET,
        "1.2.840.10008.5.1.4.1.2.5.3": QR_GET,
        # Hanging Protocol, Color Palette, Implant Template, Defined Procedure Protocol and
        # Protocol Approval Q/R (PS3.4 U, X, BB, HH)
        "1.2.840.10008.5.1.4.38.2": QR_FIND,
        "1.2.840.10008.5.1.4.38.3": QR_MOVE,
        "1.2.840.10008.5.1.4.38.4": QR_GET,
        "1.2.840.10008.5.1.4.39.2": QR_FIND,
        "1.2.840.10008.5.1.4.39.3": QR_MOVE,
        "1.2.840.10008.5.1.4.39.4": QR_GET,
        "1.2.840.10008.5.1.4.43.2": QR_FIND,
        "1.2.840.10008.5.1.4.43.3": QR_MOVE,
        "1.2.840.10008.5.1.4.43.4": QR_GET,
        "1.2.840.10008.5.1.4.44.2": QR_FIND,
        "1.2.840.10008.5.1.4.44.3": QR_MOVE,
        "1.2.840.10008.5.1.4.44.4": QR_GET,
        "1.2.840.10008.5.1.4.45.2": QR_FIND,
        "1.2.840.10008.5.1.4.45.3": QR_MOVE,
        "1.2.840.10008.5.1.4.45.4": QR_GET,
        "1.2.840.10008.5.1.4.20.1": QR_FIND,
        "1.2.840.10008.5.1.4.20.2": QR_MOVE,
        "1.2.840.10008.5.1.4.20.3": QR_GET,
        "1.2.840.10008.5.1.4.1.1.200.4": QR_FIND,
        "1.2.840.10008.5.1.4.1.1.200.5": QR_MOVE,
        "1.2.840.10008.5.1.4.1.1.200.6": QR_GET,
        # Modality Worklist Information Model - FIND (PS3.4 K)
        "1.2.840.10008.5.1.4.31": MODALITY_WORKLIST,
        # Modality Performed Procedure Step, its Retrieve and Notification SOP Classes (PS3.4 F)
        "1.2.840.10008.3.1.2.3.3": MPPS,
        "1.2.840.10008.3.1.2.3.4": MPPS,
        "1.2.840.10008.3.1.2.3.5": MPPS,
        # Print Management (PS3.4 H)
        "1.2.840.10008.5.1.1.1": PRINT_MANAGEMENT,  # Basic Film Session
        "1.2.840.10008.5.1.1.2": PRINT_MANAGEMENT,  # Basic Film Box
        "1.2.840.10008.5.1.1.4": PRINT_MANAGEMENT,  # Basic Grayscale Image Box
        "1.2.840.10008.5.1.1.4.1": PRINT_MANAGEMENT,  # Basic Color Image Box
        "1.2.840.10008.5.1.1.9": PRINT_MANAGEMENT,  # Basic Grayscale Print Management Meta
        "1.2.840.10008.5.1.1.14": PRINT_MANAGEMENT,  # Print Job
        "1.2.840.10008.5.1.1.15": PRINT_MANAGEMENT,  # Basic Annotation Box
        "1.2.840.10008.5.1.1.16": PRINT_MANAGEMENT,  # Printer
        "1.2.840.10008.5.1.1.16.376": PRINT_MANAGEMENT,  # Printer Configuration Retrieval
        "1.2.840.10008.5.1.1.18": PRINT_MANAGEMENT,  # Basic Color Print Management Meta
        "1.2.840.10008.5.1.1.23": PRINT_MANAGEMENT,  # Presentation LUT
        # Unified Procedure Step: Push, Watch, Pull, Event, Query (PS3.4 CC)
        "1.2.840.10008.5.1.4.34.6.1": UPS,
        "1.2.840.10008.5.1.4.34.6.2": UPS,
        "1.2.840.10008.5.1.4.34.6.3": UPS,
        "1.2.840.10008.5.1.4.34.6.4": UPS,
        "1.2.840.10008.5.1.4.34.6.5": UPS,
        # Application Event Logging: Procedural Event, Substance Administration Logging (PS3.4 P)
        "1.2.840.10008.1.40": APPLICATION_EVENT_LOGGING,
        "1.2.840.10008.1.42": APPLICATION_EVENT_LOGGING,
        # Media Creation Management (PS3.4 S)
        "1.2.840.10008.5.1.1.33": MEDIA_CREATION,
        # Relevant Patient Information Query: General, Breast Imaging, Cardiac (PS3.4 Q)
        "1.2.840.10008.5.1.4.37.1": RELEVANT_PATIENT,
        "1.2.840.10008.5.1.4.37.2": RELEVANT_PATIENT,
        "1.2.840.10008.5.1.4.37.3": RELEVANT_PATIENT,
        # Substance Administration Query: Product Characteristics, Approval (PS3.4 V)
        "1.2.840.10008.5.1.4.41": SUBSTANCE_ADMINISTRATION,
        "1.2.840.10008.5.1.4.42": SUBSTANCE_ADMINISTRATION,
        # Non-Patient Object Storage: Hanging Protocol, Color Palette, Implant Templates,
        # Defined Procedure Protocol, Protocol Approval (PS3.4 GG)
        "1.2.840.10008.5.1.4.38.1": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.39.1": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.43.1": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.44.1": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.45.1": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.1.1.200.1": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.1.1.200.3": NON_PATIENT_STORAGE,
        "1.2.840.10008.5.1.4.1.1.200.7": NON_PATIENT_STORAGE,
        # RT Machine Verification: Conventional, Ion (PS3.4 DD)
        "1.2.840.10008.5.1.4.34.8": RT_MACHINE_VERIFICATION,
        "1.2.840.10008.5.1.4.34.9": RT_MACHINE_VERIFICATION,
        # Instance Availability Notification (PS3.4 R)
        "1.2.840.10008.5.1.4.33": INSTANCE_AVAILABILITY,
    }
)
"""Well-known SOP Class UIDs and the service class whose status table applies to them.

Storage SOP Classes are too many to list; a C-STORE falls back to :data:`DIMSE_DEFAULT_SERVICE`.
"""
# fmt: on
