"""Wire layouts of Upper Layer PDUs, items and sub-items (PS3.8 9.3, PS3.7 D.3), in construct.

These declarations are the single source of truth for every fixed-size part of the wire format.
The decoders do not run construct's interpreter: they use :class:`struct.Struct` objects derived
from the declarations' format strings by :func:`struct_of`, so a change here changes the fast path
too. Variable parts (UIDs, sub-item lists, PDV fragments) are sliced by hand after explicit bounds
checks. The ``*_GRAMMAR`` declarations describe whole well-formed structures; they are the
reference the tests compare the hand-written decoders against and are never used on hot paths.

The wire vocabulary lives here too, once: :class:`PDUType` and :class:`ItemType` name every type
code with the label the codec prints, and :data:`CONTAINS` says which item may stand in which PDU
or item. The decoder's dispatch tables, the value classes' type codes and the strategies are
derived from them.

Everything in PS3.8 is big endian.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from construct import (
    Bytes,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int16ub,
    Int32ub,
    Prefixed,
    Struct,
    this,
)

from dimse_codec._wire import struct_of

__all__ = [
    "ABORT_BODY",
    "ASSOCIATE_FIXED",
    "ASYNC_WINDOW",
    "COMMON_EXT_NEG_GRAMMAR",
    "CONTAINS",
    "ITEM_GRAMMAR",
    "ITEM_HEADER",
    "LENGTH_PREFIX",
    "MAXIMUM_LENGTH",
    "ONLY_IN",
    "PDU_GRAMMAR",
    "PDU_HEADER",
    "PDV_HEADER",
    "PRESENTATION_CONTEXT_FIXED",
    "REJECT_BODY",
    "RELEASE_BODY",
    "ROLES",
    "ROLE_SELECTION_GRAMMAR",
    "USER_IDENTITY_AC_GRAMMAR",
    "USER_IDENTITY_RQ_FIXED",
    "USER_IDENTITY_RQ_GRAMMAR",
    "ItemType",
    "PDUType",
    "allowed_in",
    "struct_of",
]

# --- the wire vocabulary (PS3.8 9.3, PS3.7 D.3) ---------------------------------------------


class _Labelled(enum.IntEnum):
    """A type code that compares as its integer and carries a human name in ``label``."""

    label: str

    def __new__(cls, value: int, label: str) -> _Labelled:
        """Make a member equal to ``value`` whose ``label`` is ``label``."""
        member = int.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class PDUType(_Labelled):
    """The PDU type codes of PS3.8 9.3 (Table 9-11), each with the name PS3.8 gives it."""

    A_ASSOCIATE_RQ = 0x01, "A-ASSOCIATE-RQ"
    A_ASSOCIATE_AC = 0x02, "A-ASSOCIATE-AC"
    A_ASSOCIATE_RJ = 0x03, "A-ASSOCIATE-RJ"
    P_DATA_TF = 0x04, "P-DATA-TF"
    A_RELEASE_RQ = 0x05, "A-RELEASE-RQ"
    A_RELEASE_RP = 0x06, "A-RELEASE-RP"
    A_ABORT = 0x07, "A-ABORT"


class ItemType(_Labelled):
    """The item and sub-item type codes of A-ASSOCIATE (PS3.8 9.3.2-9.3.3, Annex D; PS3.7 D.3).

    PS3.8 gives the codes distinct values across levels, so a code alone says what an item is.
    The label is the name the decoder's diagnostics use.
    """

    APPLICATION_CONTEXT = 0x10, "Application Context item"
    PRESENTATION_CONTEXT_RQ = 0x20, "Presentation Context item"
    PRESENTATION_CONTEXT_AC = 0x21, "Presentation Context item"
    ABSTRACT_SYNTAX = 0x30, "Abstract Syntax sub-item"
    TRANSFER_SYNTAX = 0x40, "Transfer Syntax sub-item"
    USER_INFORMATION = 0x50, "User Information item"
    MAXIMUM_LENGTH = 0x51, "Maximum Length sub-item"
    IMPLEMENTATION_CLASS_UID = 0x52, "Implementation Class UID sub-item"
    ASYNCHRONOUS_OPERATIONS_WINDOW = 0x53, "Asynchronous Operations Window sub-item"
    SCP_SCU_ROLE_SELECTION = 0x54, "SCP/SCU Role Selection sub-item"
    IMPLEMENTATION_VERSION_NAME = 0x55, "Implementation Version Name sub-item"
    SOP_CLASS_EXTENDED_NEGOTIATION = 0x56, "SOP Class Extended Negotiation sub-item"
    SOP_CLASS_COMMON_EXTENDED_NEGOTIATION = 0x57, "SOP Class Common Extended Negotiation sub-item"
    USER_IDENTITY_RQ = 0x58, "User Identity sub-item"
    USER_IDENTITY_AC = 0x59, "User Identity sub-item"


CONTAINS: Mapping[PDUType | ItemType, frozenset[ItemType]] = MappingProxyType(
    {
        # PS3.8 9.3.2 and 9.3.3: the variable items of A-ASSOCIATE-RQ and -AC
        PDUType.A_ASSOCIATE_RQ: frozenset(
            {
                ItemType.APPLICATION_CONTEXT,
                ItemType.PRESENTATION_CONTEXT_RQ,
                ItemType.USER_INFORMATION,
            }
        ),
        PDUType.A_ASSOCIATE_AC: frozenset(
            {
                ItemType.APPLICATION_CONTEXT,
                ItemType.PRESENTATION_CONTEXT_AC,
                ItemType.USER_INFORMATION,
            }
        ),
        # PS3.8 9.3.2.2 and 9.3.3.2: a proposed context names its abstract and transfer syntaxes,
        # an accepted one its transfer syntax
        ItemType.PRESENTATION_CONTEXT_RQ: frozenset(
            {ItemType.ABSTRACT_SYNTAX, ItemType.TRANSFER_SYNTAX}
        ),
        ItemType.PRESENTATION_CONTEXT_AC: frozenset({ItemType.TRANSFER_SYNTAX}),
        # PS3.8 Annex D and PS3.7 D.3.3: the user information sub-items of either direction
        # (ONLY_IN narrows them to one)
        ItemType.USER_INFORMATION: frozenset(
            {
                ItemType.MAXIMUM_LENGTH,
                ItemType.IMPLEMENTATION_CLASS_UID,
                ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW,
                ItemType.SCP_SCU_ROLE_SELECTION,
                ItemType.IMPLEMENTATION_VERSION_NAME,
                ItemType.SOP_CLASS_EXTENDED_NEGOTIATION,
                ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION,
                ItemType.USER_IDENTITY_RQ,
                ItemType.USER_IDENTITY_AC,
            }
        ),
    }
)
"""Which item types may stand directly in each PDU or item; a type not listed does not belong."""

ONLY_IN: Mapping[ItemType, PDUType] = MappingProxyType(
    {
        ItemType.PRESENTATION_CONTEXT_RQ: PDUType.A_ASSOCIATE_RQ,
        ItemType.PRESENTATION_CONTEXT_AC: PDUType.A_ASSOCIATE_AC,
        # PS3.7 D.3.3.6: common extended negotiation is proposed, never answered
        ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: PDUType.A_ASSOCIATE_RQ,
        ItemType.USER_IDENTITY_RQ: PDUType.A_ASSOCIATE_RQ,  # PS3.7 D.3.3.7.1
        ItemType.USER_IDENTITY_AC: PDUType.A_ASSOCIATE_AC,  # PS3.7 D.3.3.7.2
    }
)
"""Item types that only one of A-ASSOCIATE-RQ and -AC carries, at whatever depth."""


def allowed_in(container: PDUType | ItemType, pdu: PDUType) -> frozenset[ItemType]:
    """The item types that may stand in ``container`` inside an A-ASSOCIATE of type ``pdu``."""
    return frozenset(t for t in CONTAINS[container] if ONLY_IN.get(t, pdu) is pdu)


# --- headers (PS3.8 9.3.1) -------------------------------------------------------------------

PDU_HEADER = Struct("pdu_type" / Int8ub, "reserved" / Int8ub, "pdu_length" / Int32ub)
"""Every PDU starts with its type, a reserved byte and the length of what follows."""

ITEM_HEADER = Struct("item_type" / Int8ub, "reserved" / Int8ub, "item_length" / Int16ub)
"""Every item and sub-item of A-ASSOCIATE starts with its type, a reserved byte and a length."""

PDV_HEADER = Struct(
    "item_length" / Int32ub,
    "presentation_context_id" / Int8ub,
    "message_control_header" / Int8ub,
)
"""Presentation Data Value item header (PS3.8 9.3.5.1, E.2): length, context ID, MCH byte."""

# --- fixed PDU bodies --------------------------------------------------------------------------

ASSOCIATE_FIXED = Struct(
    "protocol_version" / Int16ub,
    "reserved_1" / Int16ub,
    "called_ae_title" / Bytes(16),
    "calling_ae_title" / Bytes(16),
    "reserved_2" / Bytes(32),
)
"""A-ASSOCIATE-RQ/AC bytes 7-74 (in the AC the AE fields and the 32 bytes echo the RQ)."""

REJECT_BODY = Struct(
    "reserved_1" / Int8ub, "result" / Int8ub, "source" / Int8ub, "reason_diag" / Int8ub
)
"""A-ASSOCIATE-RJ bytes 7-10 (PS3.8 9.3.4)."""

RELEASE_BODY = Struct("reserved_1" / Bytes(4))
"""A-RELEASE-RQ/RP bytes 7-10: reserved (PS3.8 9.3.6, 9.3.7)."""

ABORT_BODY = Struct(
    "reserved_1" / Int8ub, "reserved_2" / Int8ub, "source" / Int8ub, "reason_diag" / Int8ub
)
"""A-ABORT bytes 7-10 (PS3.8 9.3.8)."""

# --- fixed parts of items and sub-items -------------------------------------------------------

PRESENTATION_CONTEXT_FIXED = Struct(
    "presentation_context_id" / Int8ub,
    "reserved_1" / Int8ub,
    "result_reason" / Int8ub,
    "reserved_3" / Int8ub,
)
"""First four bytes after an 0x20/0x21 header; in an RQ item the result byte is reserved."""

MAXIMUM_LENGTH = Struct("maximum_length_received" / Int32ub)
"""Maximum Length sub-item 0x51 value (PS3.8 D.1)."""

ASYNC_WINDOW = Struct(
    "maximum_number_operations_invoked" / Int16ub,
    "maximum_number_operations_performed" / Int16ub,
)
"""Asynchronous Operations Window sub-item 0x53 value (PS3.7 D.3.3.3)."""

LENGTH_PREFIX = Struct("length" / Int16ub)
"""A two-byte length before a UID or a field inside sub-items 0x54, 0x56-0x59."""

ROLES = Struct("scu_role" / Int8ub, "scp_role" / Int8ub)
"""The two role bytes that end an SCP/SCU Role Selection sub-item 0x54 (PS3.7 D.3.3.4)."""

USER_IDENTITY_RQ_FIXED = Struct(
    "user_identity_type" / Int8ub,
    "positive_response_requested" / Int8ub,
    "primary_field_length" / Int16ub,
)
"""First four bytes of a User Identity RQ sub-item 0x58 value (PS3.7 D.3.3.7.1)."""

# --- reference grammars (tests and documentation only) ----------------------------------------

ITEM_GRAMMAR = Struct(
    "item_type" / Int8ub,
    "reserved" / Int8ub,
    "item_length" / Int16ub,
    "value" / Bytes(this.item_length),
)
"""One item or sub-item with its value."""

PDU_GRAMMAR = Struct(
    "pdu_type" / Int8ub,
    "reserved" / Int8ub,
    "pdu_length" / Int32ub,
    "body" / Bytes(this.pdu_length),
)
"""One PDU with its body."""

ROLE_SELECTION_GRAMMAR = Struct(
    "uid_length" / Int16ub,
    "sop_class_uid" / Bytes(this.uid_length),
    "scu_role" / Int8ub,
    "scp_role" / Int8ub,
)
"""A well-formed SCP/SCU Role Selection value."""

USER_IDENTITY_RQ_GRAMMAR = Struct(
    "user_identity_type" / Int8ub,
    "positive_response_requested" / Int8ub,
    "primary_field_length" / Int16ub,
    "primary_field" / Bytes(this.primary_field_length),
    "secondary_field_length" / Int16ub,
    "secondary_field" / Bytes(this.secondary_field_length),
)
"""A well-formed User Identity RQ value."""

USER_IDENTITY_AC_GRAMMAR = Struct(
    "server_response_length" / Int16ub,
    "server_response" / Bytes(this.server_response_length),
)
"""A well-formed User Identity AC value."""

COMMON_EXT_NEG_GRAMMAR = Struct(
    "sop_class_uid" / Prefixed(Int16ub, GreedyBytes),
    "service_class_uid" / Prefixed(Int16ub, GreedyBytes),
    "related_general_sop_class_identification"
    / Prefixed(Int16ub, GreedyRange(Prefixed(Int16ub, GreedyBytes))),
)
"""A well-formed SOP Class Common Extended Negotiation value."""
