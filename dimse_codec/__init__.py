"""dimse-codec: DICOM DIMSE messages (PS3.7) to and from the bytes that carry them (PS3.8).

The core is sans-I/O: bytes in, objects out, and back. Start with :func:`decode_command_set`
and :func:`encode_command_set`, or the message-level :func:`decode_message` /
:func:`encode_message` that also carry the data set.
"""

from dimse_codec._version import VERSION
from dimse_codec.dataset.syntax_check import check_transfer_syntax, require_transfer_syntax
from dimse_codec.dimse.codec import (
    EncodedMessage,
    decode_command_set,
    decode_message,
    encode_command_set,
    encode_message,
    message_spec,
)
from dimse_codec.dimse.primitives import (
    C_CANCEL,
    C_ECHO,
    C_FIND,
    C_GET,
    C_MOVE,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
    DIMSEPrimitive,
    UnknownMessage,
)
from dimse_codec.dimse.status import StatusCategory, category, describe
from dimse_codec.dimse.validation import Verdict, validate
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    PolicyViolation,
    TransferSyntaxMismatch,
    TruncatedError,
)
from dimse_codec.policy import LENIENT, STRICT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.quirks import CATALOGUE as QUIRKS
from dimse_codec.tables.quirks import Quirk, QuirkLayer, QuirkSpec

__version__ = VERSION
"""The installed distribution's version (``importlib.metadata``), ``0+unknown`` if not installed."""

__all__ = [
    "C_CANCEL",
    "C_ECHO",
    "C_FIND",
    "C_GET",
    "C_MOVE",
    "C_STORE",
    "LENIENT",
    "N_ACTION",
    "N_CREATE",
    "N_DELETE",
    "N_EVENT_REPORT",
    "N_GET",
    "N_SET",
    "QUIRKS",
    "STRICT",
    "DIMSEPrimitive",
    "DecodeError",
    "Diagnostic",
    "DiagnosticCode",
    "DimseCodecError",
    "EncodeError",
    "EncodedMessage",
    "InvalidParameter",
    "InvalidParameterType",
    "LimitExceeded",
    "Policy",
    "PolicyViolation",
    "Quirk",
    "QuirkLayer",
    "QuirkSpec",
    "StatusCategory",
    "TransferSyntaxMismatch",
    "TruncatedError",
    "UnknownMessage",
    "Verdict",
    "__version__",
    "category",
    "check_transfer_syntax",
    "decode_command_set",
    "decode_message",
    "describe",
    "encode_command_set",
    "encode_message",
    "message_spec",
    "require_transfer_syntax",
    "validate",
]
