"""Diagnostics: the named problems a decoder can meet and tolerate, and the record of one.

The ground floor under :mod:`dimse_codec.errors` (whose
:class:`~dimse_codec.errors.PolicyViolation` carries a :class:`Diagnostic`) and
:mod:`dimse_codec.policy` (which decides whether a diagnostic is reported or raised). Every
tolerated problem is a :class:`Diagnostic` with a stable :class:`DiagnosticCode`, so nothing is
dropped silently.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["IGNORED_BY_THE_STANDARD", "Diagnostic", "DiagnosticCode", "diagnostic_json"]


class DiagnosticCode(str, enum.Enum):
    """Named problems a decoder can meet; each value is the stable code shown to users."""

    # command set structure
    GROUP_LENGTH_MISMATCH = "GROUP_LENGTH_MISMATCH"
    GROUP_LENGTH_MISSING = "GROUP_LENGTH_MISSING"
    OUT_OF_ORDER = "OUT_OF_ORDER"
    DUPLICATE_TAG = "DUPLICATE_TAG"
    NON_GROUP0_ELEMENT = "NON_GROUP0_ELEMENT"
    RETIRED_ELEMENT = "RETIRED_ELEMENT"
    UNKNOWN_ELEMENT = "UNKNOWN_ELEMENT"
    ELEMENT_NOT_ALLOWED = "ELEMENT_NOT_ALLOWED"
    EXPLICIT_VR_COMMAND = "EXPLICIT_VR_COMMAND"
    # message level
    UNKNOWN_COMMAND_FIELD = "UNKNOWN_COMMAND_FIELD"
    MISSING_COMMAND_FIELD = "MISSING_COMMAND_FIELD"
    MISSING_DATA_SET_TYPE = "MISSING_DATA_SET_TYPE"
    MISSING_MANDATORY = "MISSING_MANDATORY"
    DATA_SET_UNEXPECTED = "DATA_SET_UNEXPECTED"
    DATA_SET_MISSING = "DATA_SET_MISSING"
    # element values
    VM_GT_1 = "VM_GT_1"
    ODD_VALUE_LENGTH = "ODD_VALUE_LENGTH"
    BAD_VALUE_LENGTH = "BAD_VALUE_LENGTH"
    EMPTY_VALUE = "EMPTY_VALUE"
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
    VALUE_TOO_LONG = "VALUE_TOO_LONG"
    NON_ASCII = "NON_ASCII"
    AE_BACKSLASH = "AE_BACKSLASH"
    AE_TOO_LONG = "AE_TOO_LONG"
    AE_EMPTY = "AE_EMPTY"
    AE_NUL_PADDED = "AE_NUL_PADDED"
    UID_NUL_PADDED = "UID_NUL_PADDED"
    UID_SPACE_PADDED = "UID_SPACE_PADDED"
    UID_INVALID = "UID_INVALID"
    UID_TOO_LONG = "UID_TOO_LONG"
    # data sets
    DEFLATE_PADDING = "DEFLATE_PADDING"
    DEFLATE_TRAILING_DATA = "DEFLATE_TRAILING_DATA"
    # PDUs and items (PS3.8)
    PDU_LENGTH_MISMATCH = "PDU_LENGTH_MISMATCH"
    ITEM_LENGTH_MISMATCH = "ITEM_LENGTH_MISMATCH"
    FIELD_LENGTH_MISMATCH = "FIELD_LENGTH_MISMATCH"
    ITEM_MALFORMED = "ITEM_MALFORMED"
    UNKNOWN_ITEM = "UNKNOWN_ITEM"
    ITEM_NOT_ALLOWED = "ITEM_NOT_ALLOWED"
    MISSING_ITEM = "MISSING_ITEM"
    DUPLICATE_ITEM = "DUPLICATE_ITEM"
    UNKNOWN_PDU_TYPE = "UNKNOWN_PDU_TYPE"
    RESERVED_NONZERO = "RESERVED_NONZERO"
    PROTOCOL_VERSION = "PROTOCOL_VERSION"
    CONTEXT_ID_INVALID = "CONTEXT_ID_INVALID"
    MCH_RESERVED_BITS = "MCH_RESERVED_BITS"
    NO_PDV = "NO_PDV"
    # P-DATA streams and DIMSE message reassembly (PS3.8 9.3.5, Annex E)
    PDU_OVER_MAXIMUM = "PDU_OVER_MAXIMUM"
    EMPTY_PDV = "EMPTY_PDV"
    ODD_FRAGMENT = "ODD_FRAGMENT"
    DATA_BEFORE_COMMAND = "DATA_BEFORE_COMMAND"
    INTERLEAVED = "INTERLEAVED"
    CONTEXT_CHANGED = "CONTEXT_CHANGED"
    MESSAGE_INCOMPLETE = "MESSAGE_INCOMPLETE"
    STREAM_TRUNCATED = "STREAM_TRUNCATED"
    UNDECODABLE = "UNDECODABLE"
    # association negotiation (PS3.8 9.3.2-9.3.4, PS3.7 Annex D.3)
    CONTEXT_NOT_PROPOSED = "CONTEXT_NOT_PROPOSED"
    TRANSFER_SYNTAX_NOT_PROPOSED = "TRANSFER_SYNTAX_NOT_PROPOSED"
    CONTEXT_NOT_ANSWERED = "CONTEXT_NOT_ANSWERED"
    NO_TRANSFER_SYNTAX = "NO_TRANSFER_SYNTAX"
    NO_ABSTRACT_SYNTAX = "NO_ABSTRACT_SYNTAX"
    DUPLICATE_CONTEXT_ID = "DUPLICATE_CONTEXT_ID"
    DUPLICATE_NEGOTIATION = "DUPLICATE_NEGOTIATION"
    UNSOLICITED_NEGOTIATION = "UNSOLICITED_NEGOTIATION"
    ROLE_NOT_PROPOSED = "ROLE_NOT_PROPOSED"
    WINDOW_ENLARGED = "WINDOW_ENLARGED"
    MAX_LENGTH_MISSING = "MAX_LENGTH_MISSING"
    MAX_LENGTH_TOO_SMALL = "MAX_LENGTH_TOO_SMALL"
    APPLICATION_CONTEXT_CHANGED = "APPLICATION_CONTEXT_CHANGED"
    UNEXPECTED_PDU = "UNEXPECTED_PDU"
    # limits on what decoding may create (dimse_codec.limits)
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    PYDICOM_WARNING = "PYDICOM_WARNING"
    # what the capture layer skipped (docs/capture.md): frames, fragments, resets
    IP_FRAGMENT = "IP_FRAGMENT"
    FRAGMENT_OVERLAP = "FRAGMENT_OVERLAP"
    MALFORMED_PACKET = "MALFORMED_PACKET"
    HEADER_CUT = "HEADER_CUT"
    BAD_INTERFACE = "BAD_INTERFACE"
    BAD_OPTION = "BAD_OPTION"
    UNSUPPORTED_LINK_TYPE = "UNSUPPORTED_LINK_TYPE"
    RST_OUT_OF_WINDOW = "RST_OUT_OF_WINDOW"
    SEGMENT_AFTER_RESET = "SEGMENT_AFTER_RESET"
    DIAGNOSTICS_TRUNCATED = "DIAGNOSTICS_TRUNCATED"
    # what the Upper Layer connection met in a peer's messages (docs/connection.md)
    CONTEXT_NOT_ACCEPTED = "CONTEXT_NOT_ACCEPTED"
    ASYNC_WINDOW_EXCEEDED = "ASYNC_WINDOW_EXCEEDED"
    UNKNOWN_MESSAGE_ID = "UNKNOWN_MESSAGE_ID"
    # a data set against its presentation context's transfer syntax (PS3.5 A.4, 7.3)
    PIXEL_DATA_ENCAPSULATED = "PIXEL_DATA_ENCAPSULATED"
    PIXEL_DATA_NATIVE = "PIXEL_DATA_NATIVE"
    COMPRESSION_MISMATCH = "COMPRESSION_MISMATCH"
    PIXEL_DATA_NOT_ALLOWED = "PIXEL_DATA_NOT_ALLOWED"
    ENCODING_MISMATCH = "ENCODING_MISMATCH"
    BYTE_ORDER_MISMATCH = "BYTE_ORDER_MISMATCH"
    # a capture's connection no longer followed (idle timeout or cap on tracked connections)
    CONNECTION_EVICTED = "CONNECTION_EVICTED"
    # bytes of a captured stream missing inside a PDU (a capture's loss); decoding resumes after
    STREAM_GAP = "STREAM_GAP"


IGNORED_BY_THE_STANDARD = frozenset(
    {
        DiagnosticCode.RESERVED_NONZERO,
        DiagnosticCode.UNKNOWN_ITEM,
        DiagnosticCode.MCH_RESERVED_BITS,
    }
)
"""What PS3.8 tells a receiver not to test or to ignore (reserved fields, unknown items, the
message control header's reserved bits): strict reports these but raises only when
``raise_on`` names them."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One tolerated problem: its code, a sentence, the byte offset and the field path."""

    code: DiagnosticCode
    message: str
    offset: int | None = None
    path: str = ""

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        at = f" @{self.offset}" if self.offset is not None else ""
        return f"[{self.code.value}]{where}{at}: {self.message}"


def diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    """A diagnostic as the JSON object every output shows it as: code, offset, path, message.

    The one JSON form, so that ``inspect --json``, ``decode --json`` and a library user's own
    output name a diagnostic's fields alike.
    """
    return {
        "code": diagnostic.code.value,
        "offset": diagnostic.offset,
        "path": diagnostic.path,
        "message": diagnostic.message,
    }
