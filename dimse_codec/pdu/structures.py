"""Wire layouts of Upper Layer PDUs, items and sub-items (PS3.8 9.3, PS3.7 D.3), in construct.

These declarations are the single source of truth for every fixed-size part of the wire format.
The decoders do not run construct's interpreter: they use :class:`struct.Struct` objects derived
from the declarations' format strings by :func:`struct_of`, so a change here changes the fast path
too. Variable parts (UIDs, sub-item lists, PDV fragments) are sliced by hand after explicit bounds
checks. The ``*_GRAMMAR`` declarations describe whole well-formed structures; they are the
reference the tests compare the hand-written decoders against and are never used on hot paths.

Everything in PS3.8 is big endian.
"""

from __future__ import annotations

import struct

from construct import (
    Bytes,
    Construct,
    FormatField,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int16ub,
    Int32ub,
    Prefixed,
    Struct,
    this,
)

__all__ = [
    "ABORT_BODY",
    "ASSOCIATE_FIXED",
    "ASYNC_WINDOW",
    "COMMON_EXT_NEG_GRAMMAR",
    "ITEM_GRAMMAR",
    "ITEM_HEADER",
    "LENGTH_PREFIX",
    "MAXIMUM_LENGTH",
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
    "struct_of",
]

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


def struct_of(declaration: Construct) -> struct.Struct:
    """Derive a :class:`struct.Struct` from a construct of fixed-size big-endian fields."""
    if isinstance(declaration, FormatField):
        return struct.Struct(declaration.fmtstr)
    fmt = ">"
    for renamed in declaration.subcons:
        field = renamed.subcon
        if isinstance(field, FormatField) and field.fmtstr[0] == ">":
            fmt += field.fmtstr[1:]
        elif isinstance(field, Bytes) and isinstance(field.length, int):
            fmt += f"{field.length}s"
        else:
            raise TypeError(f"{renamed.name!r} is not a fixed-size big-endian field")
    return struct.Struct(fmt)
