"""dimse-codec: DICOM DIMSE messages (PS3.7) to and from the bytes that carry them (PS3.8).

The core is sans-I/O: bytes in, objects out, and back. Start with :func:`decode_command_set`
and :func:`encode_command_set`, or the message-level :func:`decode_message` /
:func:`encode_message` that also carry the data set. Each layer's entry points are here too:
data sets (:func:`decode_dataset`), PDUs (:func:`decode_pdu`), P-DATA (:func:`encode_pdata`,
:class:`StreamDecoder`), negotiation (:func:`build_request`, :func:`respond`), the Upper Layer
protocol (:class:`Connection`), services and I/O (:class:`Services`, :class:`Client`,
:class:`Server`, :class:`BlockingClient`), captures (:func:`decode_capture`, each record as JSON
by :func:`record_json`, a C-STORE's data set as a file by :func:`export_message`) and pynetdicom
(:func:`to_pynetdicom`, :func:`from_pynetdicom`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dimse_codec._lazy import lazy_face

if TYPE_CHECKING:
    from dimse_codec.association import (
        Association,
        ProposedContext,
        build_request,
        read_response,
        respond,
    )
    from dimse_codec.capture import CaptureDecoder, decode_capture
    from dimse_codec.capture.export import export_message
    from dimse_codec.capture.ndjson import record_json
    from dimse_codec.dataset.codec import decode_dataset, encode_dataset
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
    from dimse_codec.interop import from_pynetdicom, to_pynetdicom
    from dimse_codec.net import BlockingClient, Client, Server
    from dimse_codec.pdata import StreamDecoder, encode_pdata, fragment_message
    from dimse_codec.pdu import decode_pdu, encode_pdu
    from dimse_codec.policy import LENIENT, STRICT, Diagnostic, DiagnosticCode, Policy
    from dimse_codec.services import Services
    from dimse_codec.tables.quirks import CATALOGUE as QUIRKS
    from dimse_codec.tables.quirks import Quirk, QuirkLayer, QuirkSpec
    from dimse_codec.upper_layer import Connection

_NAMES = {
    "EncodedMessage": "dimse_codec.dimse.codec",
    "decode_command_set": "dimse_codec.dimse.codec",
    "decode_message": "dimse_codec.dimse.codec",
    "encode_command_set": "dimse_codec.dimse.codec",
    "encode_message": "dimse_codec.dimse.codec",
    "message_spec": "dimse_codec.dimse.codec",
    "C_CANCEL": "dimse_codec.dimse.primitives",
    "C_ECHO": "dimse_codec.dimse.primitives",
    "C_FIND": "dimse_codec.dimse.primitives",
    "C_GET": "dimse_codec.dimse.primitives",
    "C_MOVE": "dimse_codec.dimse.primitives",
    "C_STORE": "dimse_codec.dimse.primitives",
    "N_ACTION": "dimse_codec.dimse.primitives",
    "N_CREATE": "dimse_codec.dimse.primitives",
    "N_DELETE": "dimse_codec.dimse.primitives",
    "N_EVENT_REPORT": "dimse_codec.dimse.primitives",
    "N_GET": "dimse_codec.dimse.primitives",
    "N_SET": "dimse_codec.dimse.primitives",
    "DIMSEPrimitive": "dimse_codec.dimse.primitives",
    "UnknownMessage": "dimse_codec.dimse.primitives",
    "DecodeError": "dimse_codec.errors",
    "DimseCodecError": "dimse_codec.errors",
    "EncodeError": "dimse_codec.errors",
    "InvalidParameter": "dimse_codec.errors",
    "InvalidParameterType": "dimse_codec.errors",
    "LimitExceeded": "dimse_codec.errors",
    "PolicyViolation": "dimse_codec.errors",
    "TransferSyntaxMismatch": "dimse_codec.errors",
    "TruncatedError": "dimse_codec.errors",
    "check_transfer_syntax": "dimse_codec.dataset.syntax_check",
    "require_transfer_syntax": "dimse_codec.dataset.syntax_check",
    "StatusCategory": "dimse_codec.dimse.status",
    "category": "dimse_codec.dimse.status",
    "describe": "dimse_codec.dimse.status",
    "Verdict": "dimse_codec.dimse.validation",
    "validate": "dimse_codec.dimse.validation",
    "LENIENT": "dimse_codec.policy",
    "STRICT": "dimse_codec.policy",
    "Diagnostic": "dimse_codec.policy",
    "DiagnosticCode": "dimse_codec.policy",
    "Policy": "dimse_codec.policy",
    "QUIRKS": "dimse_codec.tables.quirks:CATALOGUE",
    "Quirk": "dimse_codec.tables.quirks",
    "QuirkLayer": "dimse_codec.tables.quirks",
    "QuirkSpec": "dimse_codec.tables.quirks",
    "decode_dataset": "dimse_codec.dataset.codec",
    "encode_dataset": "dimse_codec.dataset.codec",
    "decode_pdu": "dimse_codec.pdu",
    "encode_pdu": "dimse_codec.pdu",
    "StreamDecoder": "dimse_codec.pdata",
    "encode_pdata": "dimse_codec.pdata",
    "fragment_message": "dimse_codec.pdata",
    "Association": "dimse_codec.association",
    "ProposedContext": "dimse_codec.association",
    "build_request": "dimse_codec.association",
    "read_response": "dimse_codec.association",
    "respond": "dimse_codec.association",
    "Connection": "dimse_codec.upper_layer",
    "Services": "dimse_codec.services",
    "BlockingClient": "dimse_codec.net",
    "Client": "dimse_codec.net",
    "Server": "dimse_codec.net",
    "CaptureDecoder": "dimse_codec.capture",
    "decode_capture": "dimse_codec.capture",
    "export_message": "dimse_codec.capture.export",
    "record_json": "dimse_codec.capture.ndjson",
    "from_pynetdicom": "dimse_codec.interop",
    "to_pynetdicom": "dimse_codec.interop",
}
"""Where each public name lives; it is imported on first use (:mod:`dimse_codec._lazy`)."""

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
    "Association",
    "BlockingClient",
    "CaptureDecoder",
    "Client",
    "Connection",
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
    "ProposedContext",
    "Quirk",
    "QuirkLayer",
    "QuirkSpec",
    "Server",
    "Services",
    "StatusCategory",
    "StreamDecoder",
    "TransferSyntaxMismatch",
    "TruncatedError",
    "UnknownMessage",
    "Verdict",
    "__version__",
    "build_request",
    "category",
    "check_transfer_syntax",
    "decode_capture",
    "decode_command_set",
    "decode_dataset",
    "decode_message",
    "decode_pdu",
    "describe",
    "encode_command_set",
    "encode_dataset",
    "encode_message",
    "encode_pdata",
    "encode_pdu",
    "export_message",
    "fragment_message",
    "from_pynetdicom",
    "message_spec",
    "read_response",
    "record_json",
    "require_transfer_syntax",
    "respond",
    "to_pynetdicom",
    "validate",
]

__getattr__, __dir__ = lazy_face(
    __name__, _NAMES | {"__version__": "dimse_codec._version:VERSION"}, globals()
)
__version__: str
"""This release of dimse-codec (PEP 440), from :mod:`dimse_codec._version`, the one place it is
written (``pyproject.toml`` and ``dimse-codec --version`` read it there too)."""
