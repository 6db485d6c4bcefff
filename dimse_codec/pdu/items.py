"""Items and sub-items of A-ASSOCIATE PDUs (PS3.8 9.3.2-9.3.3, PS3.7 Annex D.3) as frozen values.

Field names follow PS3.8. Besides its values, each item keeps what the wire held when that was not
the standard form, so a decoded item re-encodes byte for byte: ``raw`` / ``*_raw`` hold UID bytes
that were padded or otherwise not the plain value, ``reserved*`` hold reserved bytes, ``trailing``
holds bytes after the last field, and ``*_length`` fields hold a declared inner length that
disagreed with the item. All of these are ``None``, zero or empty when the wire held the standard
form, so a decoded standard item equals one built from its values alone. ``offset`` (where the
item started in the decoded buffer) is informative and not compared.

Coded values (roles, results, user identity types) decode to their enum member when known and
stay plain ``int`` otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from dimse_codec.pdu.structures import ItemType
from dimse_codec.tables.uids import APPLICATION_CONTEXT_NAME

__all__ = [
    "AbstractSyntaxSubItem",
    "ApplicationContextItem",
    "AsynchronousOperationsWindowSubItem",
    "ImplementationClassUIDSubItem",
    "ImplementationVersionNameSubItem",
    "MaximumLengthSubItem",
    "PresentationContextACItem",
    "PresentationContextItem",
    "PresentationContextRQItem",
    "PresentationContextResult",
    "Role",
    "SCPSCURoleSelectionSubItem",
    "SOPClassCommonExtendedNegotiationSubItem",
    "SOPClassExtendedNegotiationSubItem",
    "TransferSyntaxSubItem",
    "UnknownItem",
    "UserIdentityACSubItem",
    "UserIdentityRQSubItem",
    "UserIdentityType",
    "UserInformationItem",
    "UserSubItem",
    "VariableItem",
    "coded",
]

DEFAULT_APPLICATION_CONTEXT = APPLICATION_CONTEXT_NAME
"""The DICOM Application Context Name (PS3.7 A.2.1), the one an A-ASSOCIATE carries by default."""

E = TypeVar("E", bound=enum.IntEnum)


def coded(enum_type: type[E], value: int) -> E | int:
    """Return the enum member for ``value``, or ``value`` itself when the code is not known."""
    member = enum_type._value2member_map_.get(value)
    return member if isinstance(member, enum_type) else value


# --- coded values ------------------------------------------------------------------------------


class PresentationContextResult(enum.IntEnum):
    """Result/Reason of a Presentation Context AC item (PS3.8 Table 9-18)."""

    ACCEPTANCE = 0
    USER_REJECTION = 1
    NO_REASON = 2
    ABSTRACT_SYNTAX_NOT_SUPPORTED = 3
    TRANSFER_SYNTAXES_NOT_SUPPORTED = 4


class Role(enum.IntEnum):
    """SCU-role / SCP-role of a Role Selection sub-item (PS3.7 Table D.3-9/D.3-10)."""

    NON_SUPPORT = 0
    SUPPORT = 1


class UserIdentityType(enum.IntEnum):
    """User-Identity-Type of a User Identity RQ sub-item (PS3.7 Table D.3-14)."""

    USERNAME = 1
    USERNAME_AND_PASSCODE = 2
    KERBEROS = 3
    SAML = 4
    JWT = 5


# --- any item ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnknownItem:
    """An item or sub-item kept as it came: an unknown type, or a known one that did not decode.

    PS3.8 D.2 says unrecognised items are ignored; they are kept so the PDU re-encodes as received.
    ``raw`` is the value after the four-byte item header.
    """

    item_type: int
    raw: bytes
    offset: int | None = field(default=None, compare=False)
    reserved: int = 0


# --- UID items ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicationContextItem:
    """Application Context item 0x10: the application context name (a UID)."""

    item_type: ClassVar[ItemType] = ItemType.APPLICATION_CONTEXT
    application_context_name: str = DEFAULT_APPLICATION_CONTEXT
    raw: bytes | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AbstractSyntaxSubItem:
    """Abstract Syntax sub-item 0x30: the SOP class proposed in a presentation context."""

    item_type: ClassVar[ItemType] = ItemType.ABSTRACT_SYNTAX
    abstract_syntax_name: str
    raw: bytes | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TransferSyntaxSubItem:
    """Transfer Syntax sub-item 0x40: one transfer syntax proposed or accepted."""

    item_type: ClassVar[ItemType] = ItemType.TRANSFER_SYNTAX
    transfer_syntax_name: str
    raw: bytes | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ImplementationClassUIDSubItem:
    """Implementation Class UID sub-item 0x52 (PS3.7 D.3.3.2.1)."""

    item_type: ClassVar[ItemType] = ItemType.IMPLEMENTATION_CLASS_UID
    implementation_class_uid: str
    raw: bytes | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


# --- presentation contexts ---------------------------------------------------------------------

PresentationSubItem = AbstractSyntaxSubItem | TransferSyntaxSubItem | UnknownItem


@dataclass(frozen=True, slots=True)
class PresentationContextRQItem:
    """Presentation Context item 0x20 of an A-ASSOCIATE-RQ: an ID, an abstract syntax, its TSs.

    ``sub_items`` keeps the sub-items in wire order (unknown ones included); the properties give
    the abstract syntax and the transfer syntaxes.
    """

    item_type: ClassVar[ItemType] = ItemType.PRESENTATION_CONTEXT_RQ
    presentation_context_id: int
    sub_items: tuple[PresentationSubItem, ...] = ()
    reserved_1: int = 0
    reserved_2: int = 0
    reserved_3: int = 0
    trailing: bytes = b""
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls, presentation_context_id: int, abstract_syntax: str, transfer_syntaxes: tuple[str, ...]
    ) -> PresentationContextRQItem:
        """Make a standard item from an ID, an abstract syntax and transfer syntaxes."""
        subs: list[PresentationSubItem] = [AbstractSyntaxSubItem(abstract_syntax)]
        subs.extend(TransferSyntaxSubItem(ts) for ts in transfer_syntaxes)
        return cls(presentation_context_id, tuple(subs))

    @property
    def abstract_syntax(self) -> str | None:
        """The first abstract syntax name, or ``None`` when there is no 0x30 sub-item."""
        for sub in self.sub_items:
            if isinstance(sub, AbstractSyntaxSubItem):
                return sub.abstract_syntax_name
        return None

    @property
    def transfer_syntaxes(self) -> tuple[str, ...]:
        """Every transfer syntax name, in wire order."""
        return tuple(
            sub.transfer_syntax_name
            for sub in self.sub_items
            if isinstance(sub, TransferSyntaxSubItem)
        )


@dataclass(frozen=True, slots=True)
class PresentationContextACItem:
    """Presentation Context item 0x21 of an A-ASSOCIATE-AC: an ID, a result, the accepted TS.

    A rejected context may carry no transfer syntax or an empty one (PS3.8 Table 9-18 says it is
    then not tested); both are kept as received.
    """

    item_type: ClassVar[ItemType] = ItemType.PRESENTATION_CONTEXT_AC
    presentation_context_id: int
    result_reason: PresentationContextResult | int = PresentationContextResult.ACCEPTANCE
    sub_items: tuple[PresentationSubItem, ...] = ()
    reserved_1: int = 0
    reserved_3: int = 0
    trailing: bytes = b""
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        presentation_context_id: int,
        result_reason: PresentationContextResult | int,
        transfer_syntax: str | None,
    ) -> PresentationContextACItem:
        """Make a standard item; ``transfer_syntax=None`` leaves the 0x40 sub-item out."""
        subs = () if transfer_syntax is None else (TransferSyntaxSubItem(transfer_syntax),)
        return cls(presentation_context_id, result_reason, subs)

    @property
    def transfer_syntax(self) -> str | None:
        """The first transfer syntax name, or ``None`` when there is no 0x40 sub-item."""
        for sub in self.sub_items:
            if isinstance(sub, TransferSyntaxSubItem):
                return sub.transfer_syntax_name
        return None


PresentationContextItem = PresentationContextRQItem | PresentationContextACItem

# --- user information sub-items ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaximumLengthSubItem:
    """Maximum Length sub-item 0x51: the largest P-DATA-TF PDU length accepted (0: no limit)."""

    item_type: ClassVar[ItemType] = ItemType.MAXIMUM_LENGTH
    maximum_length_received: int
    trailing: bytes = b""
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AsynchronousOperationsWindowSubItem:
    """Asynchronous Operations Window sub-item 0x53 (PS3.7 D.3.3.3)."""

    item_type: ClassVar[ItemType] = ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW
    maximum_number_operations_invoked: int
    maximum_number_operations_performed: int
    trailing: bytes = b""
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SCPSCURoleSelectionSubItem:
    """SCP/SCU Role Selection sub-item 0x54 (PS3.7 D.3.3.4).

    ``uid_length`` is the declared UID-length when it disagreed with the item length; the UID is
    then the bytes between the length field and the two role bytes.
    """

    item_type: ClassVar[ItemType] = ItemType.SCP_SCU_ROLE_SELECTION
    sop_class_uid: str
    scu_role: Role | int
    scp_role: Role | int
    sop_class_uid_raw: bytes | None = None
    uid_length: int | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ImplementationVersionNameSubItem:
    """Implementation Version Name sub-item 0x55: 1-16 characters (non-ASCII read as Latin-1)."""

    item_type: ClassVar[ItemType] = ItemType.IMPLEMENTATION_VERSION_NAME
    implementation_version_name: str
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SOPClassExtendedNegotiationSubItem:
    """SOP Class Extended Negotiation sub-item 0x56: a SOP class and service-specific bytes."""

    item_type: ClassVar[ItemType] = ItemType.SOP_CLASS_EXTENDED_NEGOTIATION
    sop_class_uid: str
    service_class_application_information: bytes = b""
    sop_class_uid_raw: bytes | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SOPClassCommonExtendedNegotiationSubItem:
    """SOP Class Common Extended Negotiation sub-item 0x57 (PS3.7 D.3.3.6).

    The header byte that is reserved elsewhere is the sub-item version here.
    ``related_general_sop_class_identification_length`` is the declared list length when it
    disagreed with the item (the list is then read to the end of the item).
    """

    item_type: ClassVar[ItemType] = ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION
    sop_class_uid: str
    service_class_uid: str
    related_general_sop_class_uids: tuple[str, ...] = ()
    sub_item_version: int = 0
    sop_class_uid_raw: bytes | None = None
    service_class_uid_raw: bytes | None = None
    related_general_sop_class_uids_raw: tuple[bytes, ...] | None = None
    related_general_sop_class_identification_length: int | None = None
    offset: int | None = field(default=None, compare=False)

    @property
    def reserved(self) -> int:
        """The header's second byte, which this sub-item uses as its version."""
        return self.sub_item_version


@dataclass(frozen=True, slots=True)
class UserIdentityRQSubItem:
    """User Identity sub-item 0x58 of an A-ASSOCIATE-RQ (PS3.7 D.3.3.7.1).

    ``secondary_field_length`` is the declared length when it disagreed with the item (the
    secondary field is then the rest of the item). The secondary field is left out of ``repr``.
    """

    item_type: ClassVar[ItemType] = ItemType.USER_IDENTITY_RQ
    user_identity_type: UserIdentityType | int
    primary_field: bytes
    secondary_field: bytes = field(default=b"", repr=False)
    positive_response_requested: int = 0
    secondary_field_length: int | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UserIdentityACSubItem:
    """User Identity sub-item 0x59 of an A-ASSOCIATE-AC: the server response (PS3.7 D.3.3.7.2).

    ``server_response_length`` is the declared length when it disagreed with the item.
    """

    item_type: ClassVar[ItemType] = ItemType.USER_IDENTITY_AC
    server_response: bytes = b""
    server_response_length: int | None = None
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)


UserSubItem = (
    MaximumLengthSubItem
    | ImplementationClassUIDSubItem
    | AsynchronousOperationsWindowSubItem
    | SCPSCURoleSelectionSubItem
    | ImplementationVersionNameSubItem
    | SOPClassExtendedNegotiationSubItem
    | SOPClassCommonExtendedNegotiationSubItem
    | UserIdentityRQSubItem
    | UserIdentityACSubItem
    | UnknownItem
)
"""What a User Information item holds."""


_S = TypeVar(
    "_S",
    MaximumLengthSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    AsynchronousOperationsWindowSubItem,
)


@dataclass(frozen=True, slots=True)
class UserInformationItem:
    """User Information item 0x50: its sub-items in wire order, with typed accessors."""

    item_type: ClassVar[ItemType] = ItemType.USER_INFORMATION
    sub_items: tuple[UserSubItem, ...] = ()
    trailing: bytes = b""
    reserved: int = 0
    offset: int | None = field(default=None, compare=False)

    def _first(self, kind: type[_S]) -> _S | None:
        """The first sub-item of a kind that appears at most once, or ``None``."""
        for sub in self.sub_items:
            if isinstance(sub, kind):
                return sub
        return None

    @property
    def maximum_length(self) -> int | None:
        """Maximum Length Received, or ``None`` when the sub-item is absent."""
        item = self._first(MaximumLengthSubItem)
        return None if item is None else item.maximum_length_received

    @property
    def implementation_class_uid(self) -> str | None:
        """Implementation Class UID, or ``None`` when absent."""
        item = self._first(ImplementationClassUIDSubItem)
        return None if item is None else item.implementation_class_uid

    @property
    def implementation_version_name(self) -> str | None:
        """Implementation Version Name, or ``None`` when absent."""
        item = self._first(ImplementationVersionNameSubItem)
        return None if item is None else item.implementation_version_name

    @property
    def asynchronous_operations_window(self) -> AsynchronousOperationsWindowSubItem | None:
        """The Asynchronous Operations Window sub-item, or ``None``."""
        return self._first(AsynchronousOperationsWindowSubItem)

    @property
    def role_selections(self) -> tuple[SCPSCURoleSelectionSubItem, ...]:
        """Every SCP/SCU Role Selection sub-item."""
        return tuple(s for s in self.sub_items if isinstance(s, SCPSCURoleSelectionSubItem))

    @property
    def extended_negotiations(self) -> tuple[SOPClassExtendedNegotiationSubItem, ...]:
        """Every SOP Class Extended Negotiation sub-item."""
        return tuple(s for s in self.sub_items if isinstance(s, SOPClassExtendedNegotiationSubItem))

    @property
    def common_extended_negotiations(self) -> tuple[SOPClassCommonExtendedNegotiationSubItem, ...]:
        """Every SOP Class Common Extended Negotiation sub-item."""
        return tuple(
            s for s in self.sub_items if isinstance(s, SOPClassCommonExtendedNegotiationSubItem)
        )

    @property
    def user_identity(self) -> UserIdentityRQSubItem | UserIdentityACSubItem | None:
        """The User Identity sub-item (0x58 or 0x59), or ``None``."""
        for sub in self.sub_items:
            if isinstance(sub, (UserIdentityRQSubItem, UserIdentityACSubItem)):
                return sub
        return None

    @property
    def unknown_sub_items(self) -> tuple[UnknownItem, ...]:
        """Sub-items kept but not understood (unknown types or undecodable values)."""
        return tuple(s for s in self.sub_items if isinstance(s, UnknownItem))


VariableItem = (
    ApplicationContextItem
    | PresentationContextRQItem
    | PresentationContextACItem
    | UserInformationItem
    | UnknownItem
)
"""What an A-ASSOCIATE-RQ/AC variable field holds."""
