"""The seven Upper Layer PDUs of PS3.8 9.3 (and any other type) as frozen values.

Like the items, a PDU keeps the wire details that were not standard so it re-encodes byte for
byte: ``reserved*`` bytes, ``*_raw`` AE titles, ``trailing`` bytes after a fixed-size body and
``pdu_length`` when the declared PDU-length disagreed with the bytes given. They are zero,
``None`` or standard when the wire was standard.
``diagnostics`` lists what the decoder tolerated; it is not compared.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar

from dimse_codec.pdu.items import (
    ApplicationContextItem,
    PresentationContextACItem,
    PresentationContextRQItem,
    UnknownItem,
    UserInformationItem,
    VariableItem,
)
from dimse_codec.pdu.structures import PDUType
from dimse_codec.policy import Diagnostic

__all__ = [
    "MCH_COMMAND",
    "MCH_LAST",
    "PDU",
    "AAbort",
    "AAssociateAC",
    "AAssociateRJ",
    "AAssociateRQ",
    "AReleaseRP",
    "AReleaseRQ",
    "AbortReason",
    "AbortSource",
    "PDataTF",
    "PresentationDataValueItem",
    "RejectReasonACSE",
    "RejectReasonPresentation",
    "RejectReasonUser",
    "RejectResult",
    "RejectSource",
    "UnknownPDU",
]

MCH_COMMAND = 0x01
"""Message Control Header bit 0: the fragment is part of a command set (else a data set)."""

MCH_LAST = 0x02
"""Message Control Header bit 1: the fragment is the last of its command or data set."""

# --- coded values ------------------------------------------------------------------------------


class RejectResult(enum.IntEnum):
    """A-ASSOCIATE-RJ Result (PS3.8 Table 9-21)."""

    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class RejectSource(enum.IntEnum):
    """A-ASSOCIATE-RJ Source."""

    SERVICE_USER = 1
    SERVICE_PROVIDER_ACSE = 2
    SERVICE_PROVIDER_PRESENTATION = 3


class RejectReasonUser(enum.IntEnum):
    """A-ASSOCIATE-RJ Reason/Diag. when the source is the service user."""

    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AE_TITLE_NOT_RECOGNIZED = 3
    CALLED_AE_TITLE_NOT_RECOGNIZED = 7


class RejectReasonACSE(enum.IntEnum):
    """A-ASSOCIATE-RJ Reason/Diag. when the source is the service provider (ACSE)."""

    NO_REASON_GIVEN = 1
    PROTOCOL_VERSION_NOT_SUPPORTED = 2


class RejectReasonPresentation(enum.IntEnum):
    """A-ASSOCIATE-RJ Reason/Diag. when the source is the service provider (presentation)."""

    TEMPORARY_CONGESTION = 1
    LOCAL_LIMIT_EXCEEDED = 2


class AbortSource(enum.IntEnum):
    """A-ABORT Source (PS3.8 Table 9-26); 1 is reserved."""

    SERVICE_USER = 0
    SERVICE_PROVIDER = 2


class AbortReason(enum.IntEnum):
    """A-ABORT Reason/Diag., significant when the source is the service provider."""

    REASON_NOT_SPECIFIED = 0
    UNRECOGNIZED_PDU = 1
    UNEXPECTED_PDU = 2
    UNRECOGNIZED_PDU_PARAMETER = 4
    UNEXPECTED_PDU_PARAMETER = 5
    INVALID_PDU_PARAMETER_VALUE = 6


# --- A-ASSOCIATE ---------------------------------------------------------------------------------


class _Associate:
    """Accessors shared by A-ASSOCIATE-RQ and -AC over their variable items."""

    __slots__ = ()
    variable_items: tuple[VariableItem, ...]

    @property
    def application_context_name(self) -> str | None:
        """The application context name, or ``None`` when the 0x10 item is absent."""
        for item in self.variable_items:
            if isinstance(item, ApplicationContextItem):
                return item.application_context_name
        return None

    @property
    def user_information(self) -> UserInformationItem | None:
        """The User Information item, or ``None`` when absent."""
        for item in self.variable_items:
            if isinstance(item, UserInformationItem):
                return item
        return None

    @property
    def unknown_items(self) -> tuple[UnknownItem, ...]:
        """Variable items kept but not understood."""
        return tuple(item for item in self.variable_items if isinstance(item, UnknownItem))


@dataclass(frozen=True, slots=True)
class AAssociateRQ(_Associate):
    """A-ASSOCIATE-RQ PDU 0x01: AE titles, protocol version and the variable items.

    AE titles are the values without their insignificant spaces; ``*_raw`` holds the 16 wire
    bytes when they were not the value space-padded on the right.
    """

    pdu_type: ClassVar[PDUType] = PDUType.A_ASSOCIATE_RQ
    name: ClassVar[str] = PDUType.A_ASSOCIATE_RQ.label
    called_ae_title: str
    calling_ae_title: str
    variable_items: tuple[VariableItem, ...] = ()
    protocol_version: int = 1
    called_ae_title_raw: bytes | None = None
    calling_ae_title_raw: bytes | None = None
    reserved_1: int = 0
    reserved_2: bytes = bytes(32)
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)

    @property
    def presentation_contexts(self) -> tuple[PresentationContextRQItem, ...]:
        """Every Presentation Context (RQ) item, in wire order."""
        return tuple(i for i in self.variable_items if isinstance(i, PresentationContextRQItem))


@dataclass(frozen=True, slots=True)
class AAssociateAC(_Associate):
    """A-ASSOCIATE-AC PDU 0x02; the AE fields and ``reserved_2`` echo the request's bytes."""

    pdu_type: ClassVar[PDUType] = PDUType.A_ASSOCIATE_AC
    name: ClassVar[str] = PDUType.A_ASSOCIATE_AC.label
    called_ae_title: str
    calling_ae_title: str
    variable_items: tuple[VariableItem, ...] = ()
    protocol_version: int = 1
    called_ae_title_raw: bytes | None = None
    calling_ae_title_raw: bytes | None = None
    reserved_1: int = 0
    reserved_2: bytes = bytes(32)
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)

    @property
    def presentation_contexts(self) -> tuple[PresentationContextACItem, ...]:
        """Every Presentation Context (AC) item, in wire order."""
        return tuple(i for i in self.variable_items if isinstance(i, PresentationContextACItem))


@dataclass(frozen=True, slots=True)
class AAssociateRJ:
    """A-ASSOCIATE-RJ PDU 0x03: result, source and a reason whose meaning depends on the source."""

    pdu_type: ClassVar[PDUType] = PDUType.A_ASSOCIATE_RJ
    name: ClassVar[str] = PDUType.A_ASSOCIATE_RJ.label
    result: RejectResult | int
    source: RejectSource | int
    reason_diag: RejectReasonUser | RejectReasonACSE | RejectReasonPresentation | int
    reserved_1: int = 0
    trailing: bytes = b""
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)


# --- P-DATA-TF ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PresentationDataValueItem:
    """One PDV: context ID, the raw Message Control Header byte and the message fragment.

    A decoded ``fragment`` is a ``memoryview`` into the decoded buffer (no copy), so it keeps that
    buffer alive; take ``bytes(pdv.fragment)`` to detach it.
    """

    presentation_context_id: int
    message_control_header: int
    fragment: bytes | memoryview
    offset: int | None = field(default=None, compare=False)

    @property
    def is_command(self) -> bool:
        """Whether MCH bit 0 marks a command fragment (else a data set fragment)."""
        return bool(self.message_control_header & MCH_COMMAND)

    @property
    def is_last(self) -> bool:
        """Whether MCH bit 1 marks the last fragment of its command or data set."""
        return bool(self.message_control_header & MCH_LAST)


@dataclass(frozen=True, slots=True)
class PDataTF:
    """P-DATA-TF PDU 0x04: one or more presentation data values."""

    pdu_type: ClassVar[PDUType] = PDUType.P_DATA_TF
    name: ClassVar[str] = PDUType.P_DATA_TF.label
    presentation_data_value_items: tuple[PresentationDataValueItem, ...] = ()
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)


# --- release, abort, unknown -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AReleaseRQ:
    """A-RELEASE-RQ PDU 0x05."""

    pdu_type: ClassVar[PDUType] = PDUType.A_RELEASE_RQ
    name: ClassVar[str] = PDUType.A_RELEASE_RQ.label
    reserved_1: bytes = bytes(4)
    trailing: bytes = b""
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AReleaseRP:
    """A-RELEASE-RP PDU 0x06."""

    pdu_type: ClassVar[PDUType] = PDUType.A_RELEASE_RP
    name: ClassVar[str] = PDUType.A_RELEASE_RP.label
    reserved_1: bytes = bytes(4)
    trailing: bytes = b""
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AAbort:
    """A-ABORT PDU 0x07; source 2 (service provider) is what PS3.8 calls A-P-ABORT."""

    pdu_type: ClassVar[PDUType] = PDUType.A_ABORT
    name: ClassVar[str] = PDUType.A_ABORT.label
    source: AbortSource | int = AbortSource.SERVICE_USER
    reason_diag: AbortReason | int = AbortReason.REASON_NOT_SPECIFIED
    reserved_1: int = 0
    reserved_2: int = 0
    trailing: bytes = b""
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UnknownPDU:
    """A PDU of a type PS3.8 does not define, kept whole so a capture tool can show or relay it."""

    name: ClassVar[str] = "unknown PDU"
    pdu_type: int
    body: bytes = b""
    reserved: int = 0
    pdu_length: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)


PDU = (
    AAssociateRQ
    | AAssociateAC
    | AAssociateRJ
    | PDataTF
    | AReleaseRQ
    | AReleaseRP
    | AAbort
    | UnknownPDU
)
"""Any decoded PDU."""
