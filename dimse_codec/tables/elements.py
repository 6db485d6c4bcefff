"""PS3.7 Annex E: the registry of command elements (group 0000), retired ones included.

Written once as data. The command-set codec reads VR and VM from here, the primitives map
keywords to tags from here, and the strategies draw values that fit the VR from here.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BY_KEYWORD",
    "BY_TAG",
    "ELEMENTS",
    "ElementSpec",
    "format_tag",
]


class ElementSpec(NamedTuple):
    """One command element: tag as an int ``(group << 16) | element``, keyword, VR, VM, name."""

    tag: int
    keyword: str
    vr: str
    vm: str
    name: str
    retired: bool = False

    @property
    def multi_valued(self) -> bool:
        """True when the VM allows more than one value (``1-n``)."""
        return self.vm != "1"


ELEMENTS: tuple[ElementSpec, ...] = (
    # E.1 Registry of DICOM command elements
    ElementSpec(0x00000000, "CommandGroupLength", "UL", "1", "Command Group Length"),
    ElementSpec(0x00000002, "AffectedSOPClassUID", "UI", "1", "Affected SOP Class UID"),
    ElementSpec(0x00000003, "RequestedSOPClassUID", "UI", "1", "Requested SOP Class UID"),
    ElementSpec(0x00000100, "CommandField", "US", "1", "Command Field"),
    ElementSpec(0x00000110, "MessageID", "US", "1", "Message ID"),
    ElementSpec(
        0x00000120, "MessageIDBeingRespondedTo", "US", "1", "Message ID Being Responded To"
    ),
    ElementSpec(0x00000600, "MoveDestination", "AE", "1", "Move Destination"),
    ElementSpec(0x00000700, "Priority", "US", "1", "Priority"),
    ElementSpec(0x00000800, "CommandDataSetType", "US", "1", "Command Data Set Type"),
    ElementSpec(0x00000900, "Status", "US", "1", "Status"),
    ElementSpec(0x00000901, "OffendingElement", "AT", "1-n", "Offending Element"),
    ElementSpec(0x00000902, "ErrorComment", "LO", "1", "Error Comment"),
    ElementSpec(0x00000903, "ErrorID", "US", "1", "Error ID"),
    ElementSpec(0x00001000, "AffectedSOPInstanceUID", "UI", "1", "Affected SOP Instance UID"),
    ElementSpec(0x00001001, "RequestedSOPInstanceUID", "UI", "1", "Requested SOP Instance UID"),
    ElementSpec(0x00001002, "EventTypeID", "US", "1", "Event Type ID"),
    ElementSpec(0x00001005, "AttributeIdentifierList", "AT", "1-n", "Attribute Identifier List"),
    ElementSpec(0x00001008, "ActionTypeID", "US", "1", "Action Type ID"),
    ElementSpec(
        0x00001020,
        "NumberOfRemainingSuboperations",
        "US",
        "1",
        "Number of Remaining Sub-operations",
    ),
    ElementSpec(
        0x00001021,
        "NumberOfCompletedSuboperations",
        "US",
        "1",
        "Number of Completed Sub-operations",
    ),
    ElementSpec(
        0x00001022, "NumberOfFailedSuboperations", "US", "1", "Number of Failed Sub-operations"
    ),
    ElementSpec(
        0x00001023, "NumberOfWarningSuboperations", "US", "1", "Number of Warning Sub-operations"
    ),
    ElementSpec(
        0x00001030,
        "MoveOriginatorApplicationEntityTitle",
        "AE",
        "1",
        "Move Originator Application Entity Title",
    ),
    ElementSpec(0x00001031, "MoveOriginatorMessageID", "US", "1", "Move Originator Message ID"),
    # E.2 Retired command fields (still met in old ACR-NEMA style traffic)
    ElementSpec(0x00000001, "CommandLengthToEnd", "UL", "1", "Command Length to End", True),
    ElementSpec(0x00000010, "CommandRecognitionCode", "SH", "1", "Command Recognition Code", True),
    ElementSpec(0x00000200, "Initiator", "AE", "1", "Initiator", True),
    ElementSpec(0x00000300, "Receiver", "AE", "1", "Receiver", True),
    ElementSpec(0x00000400, "FindLocation", "AE", "1", "Find Location", True),
    ElementSpec(0x00000850, "NumberOfMatches", "US", "1", "Number of Matches", True),
    ElementSpec(0x00000860, "ResponseSequenceNumber", "US", "1", "Response Sequence Number", True),
    ElementSpec(0x00004000, "DialogReceiver", "LT", "1", "Dialog Receiver", True),
    ElementSpec(0x00004010, "TerminalType", "LT", "1", "Terminal Type", True),
    ElementSpec(0x00005010, "MessageSetID", "SH", "1", "Message Set ID", True),
    ElementSpec(0x00005020, "EndMessageID", "SH", "1", "End Message ID", True),
    ElementSpec(0x00005110, "DisplayFormat", "LT", "1", "Display Format", True),
    ElementSpec(0x00005120, "PagePositionID", "LT", "1", "Page Position ID", True),
    ElementSpec(0x00005130, "TextFormatID", "CS", "1", "Text Format ID", True),
    ElementSpec(0x00005140, "NormalReverse", "CS", "1", "Normal/Reverse", True),
    ElementSpec(0x00005150, "AddGrayScale", "CS", "1", "Add Gray Scale", True),
    ElementSpec(0x00005160, "Borders", "CS", "1", "Borders", True),
    ElementSpec(0x00005170, "Copies", "IS", "1", "Copies", True),
    ElementSpec(
        0x00005180, "CommandMagnificationType", "CS", "1", "Command Magnification Type", True
    ),
    ElementSpec(0x00005190, "Erase", "CS", "1", "Erase", True),
    ElementSpec(0x000051A0, "Print", "CS", "1", "Print", True),
    ElementSpec(0x000051B0, "Overlays", "US", "1-n", "Overlays", True),
)

BY_TAG: dict[int, ElementSpec] = {spec.tag: spec for spec in ELEMENTS}
BY_KEYWORD: dict[str, ElementSpec] = {spec.keyword: spec for spec in ELEMENTS}


def format_tag(tag: int) -> str:
    """Render a tag as ``(gggg,eeee)``, the way PS3.5 writes it."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
