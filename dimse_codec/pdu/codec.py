"""Decode and encode Upper Layer PDUs and their items, keeping every wire detail for re-encoding.

Decoding keeps everything the wire held (unknown items, reserved bytes, padding, inconsistent
declared lengths) so ``encode_pdu(decode_pdu(b)) == b`` for every decodable ``b``, and reports each
departure from PS3.8 to the :class:`~dimse_codec.policy.Policy` (lenient: a diagnostic; strict: a
:class:`~dimse_codec.errors.PolicyViolation`). ``encode_pdu(pdu, canonical=True)`` writes the
standard form instead. Lengths are checked against the bytes present before anything is sliced,
and only :class:`~dimse_codec.errors.DimseCodecError` is ever raised.
"""

from __future__ import annotations

import contextlib
import enum
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dimse_codec.errors import (
    DecodeError,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    TruncatedError,
)
from dimse_codec.pdu.items import (
    AbstractSyntaxSubItem,
    ApplicationContextItem,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PresentationContextACItem,
    PresentationContextResult,
    PresentationContextRQItem,
    Role,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UnknownItem,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    coded,
)
from dimse_codec.pdu.pdus import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    PresentationDataValueItem,
    RejectReasonACSE,
    RejectReasonPresentation,
    RejectReasonUser,
    RejectResult,
    RejectSource,
    UnknownPDU,
)
from dimse_codec.pdu.structures import (
    ABORT_BODY,
    ASSOCIATE_FIXED,
    ASYNC_WINDOW,
    ITEM_HEADER,
    LENGTH_PREFIX,
    MAXIMUM_LENGTH,
    PDU_HEADER,
    PDV_HEADER,
    PRESENTATION_CONTEXT_FIXED,
    REJECT_BODY,
    RELEASE_BODY,
    ROLES,
    USER_IDENTITY_RQ_FIXED,
    struct_of,
)
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy

__all__ = [
    "PDU_HEADER_SIZE",
    "decode_item",
    "decode_pdu",
    "encode_item",
    "encode_pdu",
    "read_pdu_header",
    "report",
]


_D = DiagnosticCode


def report(
    policy: Policy,
    sink: list[Diagnostic],
    code: DiagnosticCode,
    message: str,
    offset: int | None = None,
    path: str = "",
) -> None:
    """Record a problem or raise, as :meth:`Policy.report` does."""
    policy.report(sink, code, message, offset, path)


# --- derived fast structs ------------------------------------------------------------------------

_PDU_HEADER = struct_of(PDU_HEADER)
_ITEM_HEADER = struct_of(ITEM_HEADER)
_PDV_HEADER = struct_of(PDV_HEADER)
_ASSOCIATE = struct_of(ASSOCIATE_FIXED)
_REJECT = struct_of(REJECT_BODY)
_RELEASE = struct_of(RELEASE_BODY)
_ABORT = struct_of(ABORT_BODY)
_PC_FIXED = struct_of(PRESENTATION_CONTEXT_FIXED)
_MAX_LENGTH = struct_of(MAXIMUM_LENGTH)
_ASYNC = struct_of(ASYNC_WINDOW)
_LENGTH = struct_of(LENGTH_PREFIX)
_ROLES = struct_of(ROLES)
_UID_RQ = struct_of(USER_IDENTITY_RQ_FIXED)

PDU_HEADER_SIZE = _PDU_HEADER.size
"""Six: PDU type, reserved byte, four-byte PDU-length."""

_ITEM = _ITEM_HEADER.size
_PDV = _PDV_HEADER.size
_FIXED_BODY = _REJECT.size  # RJ, release and abort bodies are all four bytes
_MCH_BITS = 0x03

_NAMES = {
    0x01: "A-ASSOCIATE-RQ",
    0x02: "A-ASSOCIATE-AC",
    0x03: "A-ASSOCIATE-RJ",
    0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ",
    0x06: "A-RELEASE-RP",
    0x07: "A-ABORT",
}


def pdu_name(pdu_type: int) -> str:
    """The PS3.8 name of a PDU type (``"PDU 0x42"`` for one PS3.8 does not define)."""
    return _NAMES.get(pdu_type, f"PDU 0x{pdu_type:02X}")


_UID_PATTERN = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Malformed(DecodeError):
    """An item whose value cannot be decoded within its length; caught and kept as UnknownItem."""


# --- framing -------------------------------------------------------------------------------------


def _check_cap(length: int, max_pdu_length: int | None, name: str) -> None:
    """Raise LimitExceeded when a declared PDU-length is over the caller's cap (0: no cap)."""
    if max_pdu_length and length > max_pdu_length:
        raise LimitExceeded(
            f"PDU-length {length} is over the maximum of {max_pdu_length}",
            offset=2,
            path=name,
        )


def _view(data: bytes | bytearray | memoryview) -> memoryview:
    """View the input as unsigned bytes, or fail with InvalidParameterType."""
    try:
        view = memoryview(data)
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    except TypeError as exc:
        raise InvalidParameterType(
            f"expected bytes, bytearray or memoryview, not {type(data).__name__}"
        ) from exc


def read_pdu_header(
    data: bytes | bytearray | memoryview, *, max_pdu_length: int | None = None
) -> tuple[int, int]:
    """Return ``(pdu_type, pdu_length)`` from the first six bytes, for framing a byte stream.

    The whole PDU is ``PDU_HEADER_SIZE + pdu_length`` bytes. Raises TruncatedError with fewer
    than six bytes and LimitExceeded when the declared length is over ``max_pdu_length``, so a
    reader can refuse before it buffers anything.
    """
    view = _view(data)
    if len(view) < PDU_HEADER_SIZE:
        raise TruncatedError(
            f"{len(view)} byte(s); a PDU header needs {PDU_HEADER_SIZE}",
            offset=0,
            path="PDU header",
        )
    pdu_type, _reserved, length = _PDU_HEADER.unpack_from(view, 0)
    _check_cap(length, max_pdu_length, pdu_name(pdu_type))
    return int(pdu_type), int(length)


# --- decoding context -----------------------------------------------------------------------------


class _Decoder:
    """Per-call state: the bytes, the policy and the diagnostics found so far."""

    __slots__ = ("data", "diagnostics", "policy")

    def __init__(self, data: bytes, policy: Policy) -> None:
        """Start decoding ``data`` under ``policy`` with no diagnostics yet."""
        self.data = data
        self.policy = policy
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: DiagnosticCode, message: str, offset: int, path: str) -> None:
        """Report one problem at ``offset`` under ``path``."""
        report(self.policy, self.diagnostics, code, message, offset, path)

    def reserved(self, value: int | bytes, offset: int, path: str) -> None:
        """Report a reserved field that is not zero (PS3.8 says to send zero, not to test it)."""
        if value if isinstance(value, int) else any(value):
            shown = f"{value:#04x}" if isinstance(value, int) else bytes(value).hex(" ")
            self.report(_D.RESERVED_NONZERO, f"reserved field is {shown}, not zero", offset, path)


def decode_pdu(
    data: bytes | bytearray | memoryview,
    *,
    policy: Policy = LENIENT,
    max_pdu_length: int | None = None,
) -> PDU:
    """Decode one whole PDU (all of ``data``) into its typed value, with ``diagnostics``.

    The declared PDU-length must not be more than the bytes present (TruncatedError) nor more
    than ``max_pdu_length`` when given (LimitExceeded; 0 or ``None`` means no cap); a length less
    than the bytes present is reported and the whole buffer is decoded. P-DATA-TF fragments are
    ``memoryview`` slices of ``data``.
    """
    view = _view(data)
    n = len(view)
    if n < PDU_HEADER_SIZE:
        raise TruncatedError(
            f"{n} byte(s); a PDU header needs {PDU_HEADER_SIZE}", offset=0, path="PDU header"
        )
    pdu_type, reserved, length = _PDU_HEADER.unpack_from(view, 0)
    name = pdu_name(pdu_type)
    _check_cap(length, max_pdu_length, name)
    available = n - PDU_HEADER_SIZE
    if length > available:
        raise TruncatedError(
            f"PDU-length {length} but {available} byte(s) follow the header",
            offset=2,
            path=name,
        )
    if pdu_type == 0x04:
        return _decode_p_data(view, reserved, length, policy)
    dec = _Decoder(bytes(view), policy)
    dec.reserved(reserved, 1, name)
    declared = _declared_pdu_length(dec, length, available, name)
    body: Callable[[_Decoder, int, int | None], PDU] | None = _BODIES.get(pdu_type)
    if body is None:
        dec.report(
            _D.UNKNOWN_PDU_TYPE,
            f"PDU type {pdu_type:#04x} is not defined by PS3.8; kept whole",
            0,
            name,
        )
        return UnknownPDU(
            pdu_type, dec.data[PDU_HEADER_SIZE:], reserved, declared, tuple(dec.diagnostics)
        )
    return body(dec, reserved, declared)


def _declared_pdu_length(dec: _Decoder, length: int, available: int, name: str) -> int | None:
    """Report a PDU-length short of the bytes given; return it to keep, or None when it agrees."""
    if length == available:
        return None
    dec.report(
        _D.PDU_LENGTH_MISMATCH,
        f"PDU-length says {length} but {available} byte(s) follow; all are decoded",
        2,
        name,
    )
    return length


# --- P-DATA-TF (hot path) ------------------------------------------------------------------------


def _decode_p_data(view: memoryview, reserved: int, length: int, policy: Policy) -> PDataTF:
    """Split a P-DATA-TF into PDVs whose fragments are views of the input (no copy)."""
    diagnostics: list[Diagnostic] = []
    if reserved:
        message = f"reserved field is {reserved:#04x}, not zero"
        report(policy, diagnostics, _D.RESERVED_NONZERO, message, 1, "P-DATA-TF")
    end = len(view)
    declared = None
    if length != end - PDU_HEADER_SIZE:
        declared = length
        report(
            policy,
            diagnostics,
            _D.PDU_LENGTH_MISMATCH,
            f"PDU-length says {length} but {end - PDU_HEADER_SIZE} byte(s) follow; all are decoded",
            2,
            "P-DATA-TF",
        )
    pdvs: list[PresentationDataValueItem] = []
    append = pdvs.append
    unpack = _PDV_HEADER.unpack_from
    pdv = PresentationDataValueItem
    pos = PDU_HEADER_SIZE
    while pos < end:
        if end - pos < _PDV:
            if end - pos >= 4 and int.from_bytes(view[pos : pos + 4], "big") < 2:
                _short_pdv(pos, int.from_bytes(view[pos : pos + 4], "big"))
            raise TruncatedError(
                f"{end - pos} byte(s) left; a PDV header needs {_PDV}",
                offset=pos,
                path=f"P-DATA-TF > PDV @{pos}",
            )
        item_length, context_id, mch = unpack(view, pos)
        stop = pos + 4 + item_length
        if item_length < 2:
            _short_pdv(pos, item_length)
        if stop > end:
            raise TruncatedError(
                f"PDV item length {item_length} runs past the end ({end - pos - 4} left)",
                offset=pos,
                path=f"P-DATA-TF > PDV @{pos}",
            )
        if not context_id & 1 or mch & ~_MCH_BITS:
            _check_pdv(policy, diagnostics, pos, context_id, mch)
        append(pdv(context_id, mch, view[pos + _PDV : stop], pos))
        pos = stop
    if not pdvs:
        report(policy, diagnostics, _D.NO_PDV, "P-DATA-TF carries no PDV item", 6, "P-DATA-TF")
    return PDataTF(tuple(pdvs), reserved, declared, tuple(diagnostics))


def _short_pdv(pos: int, item_length: int) -> None:
    """Refuse a PDV too short to hold its context ID and MCH (DCMTK refuses it too)."""
    raise DecodeError(
        f"PDV item length {item_length} leaves no room for the context ID and MCH",
        offset=pos,
        path=f"P-DATA-TF > PDV @{pos}",
    )


def _check_pdv(
    policy: Policy, diagnostics: list[Diagnostic], pos: int, context_id: int, mch: int
) -> None:
    """Report an even context ID or reserved MCH bits (both kept as received)."""
    path = f"P-DATA-TF > PDV @{pos}"
    if not context_id & 1:
        report(
            policy,
            diagnostics,
            _D.CONTEXT_ID_INVALID,
            f"presentation context ID {context_id} is not an odd number 1-255",
            pos + 4,
            path,
        )
    if mch & ~_MCH_BITS:
        report(
            policy,
            diagnostics,
            _D.MCH_RESERVED_BITS,
            f"message control header {mch:#04x} sets reserved bits 2-7",
            pos + 5,
            path,
        )


# --- values: AE titles, UIDs, text -------------------------------------------------------------


def _ae_value(raw: bytes) -> str:
    """The AE title a 16-byte field carries: spaces (and NUL padding) are not significant."""
    return raw.rstrip(b" \x00").lstrip(b" ").decode("latin-1")


def _ae_field(value: str) -> bytes:
    """The standard 16-byte field for an AE title: the value space-padded on the right."""
    return value.encode("latin-1").ljust(16, b" ")


def _decode_ae(
    dec: _Decoder, raw: bytes, offset: int, path: str, tested: bool
) -> tuple[str, bytes | None]:
    """Decode an AE field into (value, raw kept when not standard), reporting when ``tested``."""
    value = _ae_value(raw)
    if tested:
        if b"\x00" in raw:
            dec.report(
                _D.AE_NUL_PADDED,
                "NUL bytes in an AE title; AE titles are padded with spaces",
                offset,
                path,
            )
        if not value:
            dec.report(_D.AE_EMPTY, "AE title is all spaces", offset, path)
        if "\\" in value:
            dec.report(_D.AE_BACKSLASH, "backslash in an AE title", offset, path)
        if not value.isascii() or _CONTROL.search(value):
            dec.report(_D.NON_ASCII, "AE title holds control or non-ASCII characters", offset, path)
    return value, (None if raw == _ae_field(value) else raw)


def _uid_value(raw: bytes) -> str:
    """The UID a field carries without any padding (PS3.8 Annex F: item UIDs are not padded)."""
    return raw.rstrip(b" \x00").lstrip(b" ").decode("latin-1")


def _decode_uid(
    dec: _Decoder, raw: bytes, offset: int, path: str, tested: bool = True
) -> tuple[str, bytes | None]:
    """Decode a UID field into (value, raw kept when padded), reporting when ``tested``."""
    value = _uid_value(raw)
    kept = None if len(value) == len(raw) else raw
    if not tested:
        return value, kept
    if kept is not None:
        pad = raw[: len(raw) - len(raw.lstrip(b" "))] + raw[len(raw.rstrip(b" \x00")) :]
        if b"\x00" in pad:
            dec.report(
                _D.UID_NUL_PADDED,
                "UID padded with NUL; PS3.8 Annex F says item UIDs are not padded",
                offset,
                path,
            )
        if b" " in pad:
            dec.report(_D.UID_SPACE_PADDED, "UID padded with spaces", offset, path)
    if not value:
        dec.report(_D.EMPTY_VALUE, "empty UID", offset, path)
        return value, kept
    if not value.isascii():
        dec.report(_D.NON_ASCII, "UID holds non-ASCII bytes (kept as Latin-1)", offset, path)
    if len(value) > 64:
        dec.report(_D.UID_TOO_LONG, f"{len(value)} characters; a UID has at most 64", offset, path)
    if _UID_PATTERN.match(value) is None:
        dec.report(_D.UID_INVALID, f"{value!r} is not a valid UID (PS3.5 9.1)", offset, path)
    return value, kept


def _coded(
    dec: _Decoder, enum_type: type[Any], value: int, offset: int, path: str, what: str
) -> Any:
    """Decode a coded byte to its enum member, reporting (and keeping) an unknown code."""
    member = coded(enum_type, value)
    if not isinstance(member, enum.Enum):
        dec.report(_D.VALUE_OUT_OF_RANGE, f"{what} {value} is not a defined code", offset, path)
    return member


# --- item lists -----------------------------------------------------------------------------------

_ItemDecoder = Callable[[_Decoder, int, int, int, int, str], Any]


def _items(
    dec: _Decoder,
    start: int,
    end: int,
    path: str,
    label: str,
    decoders: dict[int, _ItemDecoder],
    allowed: frozenset[int],
    top: bool,
) -> tuple[list[Any], bytes]:
    """Decode the items tiling ``[start, end)``; return them and any bytes left over.

    At the top of a PDU a cut item is a TruncatedError; inside an item the leftover bytes are
    reported and kept (``trailing``) so the item still re-encodes as received.
    """
    data = dec.data
    out: list[Any] = []
    pos = start
    while pos < end:
        if end - pos < _ITEM:
            problem = f"{end - pos} byte(s) left; an item header needs {_ITEM}"
        else:
            item_type, reserved, length = _ITEM_HEADER.unpack_from(data, pos)
            stop = pos + _ITEM + length
            if stop <= end:
                item_path = f"{path} > {label} 0x{item_type:02X} @{pos}"
                out.append(_item(dec, item_type, reserved, pos, stop, item_path, decoders, allowed))
                pos = stop
                continue
            left = end - pos - _ITEM
            problem = f"item 0x{item_type:02X} length {length} runs past the end ({left} left)"
        if top:
            raise TruncatedError(problem, offset=pos, path=path)
        dec.report(_D.ITEM_LENGTH_MISMATCH, f"{problem}; kept as trailing bytes", pos, path)
        return out, data[pos:end]
    return out, b""


def _item(
    dec: _Decoder,
    item_type: int,
    reserved: int,
    pos: int,
    stop: int,
    path: str,
    decoders: dict[int, _ItemDecoder],
    allowed: frozenset[int],
) -> Any:
    """Decode one item, or keep it as UnknownItem when unknown, misplaced or malformed."""
    decoder = decoders.get(item_type)
    if item_type not in allowed:
        if decoder is None and item_type not in _ALL_KNOWN:
            dec.report(
                _D.UNKNOWN_ITEM,
                f"item type 0x{item_type:02X} is not known; kept and ignored (PS3.8 D.2)",
                pos,
                path,
            )
        else:
            dec.report(
                _D.ITEM_NOT_ALLOWED, f"item type 0x{item_type:02X} does not belong here", pos, path
            )
    if decoder is None:
        return UnknownItem(item_type, dec.data[pos + _ITEM : stop], pos, reserved)
    if item_type != 0x57:
        dec.reserved(reserved, pos + 1, path)
    try:
        return decoder(dec, reserved, pos, pos + _ITEM, stop, path)
    except _Malformed as exc:
        dec.report(_D.ITEM_MALFORMED, f"{exc.message}; kept undecoded", exc.offset or pos, path)
        return UnknownItem(item_type, dec.data[pos + _ITEM : stop], pos, reserved)


def _count(
    dec: _Decoder,
    items: Iterable[Any],
    kind: type[Any],
    label: str,
    offset: int,
    path: str,
    required: bool,
    single: bool = True,
) -> None:
    """Report a required item that is missing, or a second one of a kind allowed once."""
    found = [item for item in items if isinstance(item, kind)]
    if required and not found:
        dec.report(_D.MISSING_ITEM, f"no {label}", offset, path)
    if single and len(found) > 1:
        extra = found[1]
        dec.report(_D.DUPLICATE_ITEM, f"more than one {label}", extra.offset or offset, path)


# --- A-ASSOCIATE-RQ / -AC -------------------------------------------------------------------------


def _decode_associate(dec: _Decoder, reserved: int, declared: int | None, is_rq: bool) -> PDU:
    """Decode the fixed fields and the variable items of an A-ASSOCIATE-RQ or -AC."""
    name = "A-ASSOCIATE-RQ" if is_rq else "A-ASSOCIATE-AC"
    data = dec.data
    if len(data) < PDU_HEADER_SIZE + _ASSOCIATE.size:
        raise TruncatedError(
            f"{len(data) - PDU_HEADER_SIZE} byte(s) after the header; the fixed fields need "
            f"{_ASSOCIATE.size}",
            offset=PDU_HEADER_SIZE,
            path=name,
        )
    version, reserved_1, called, calling, reserved_2 = _ASSOCIATE.unpack_from(data, 6)
    if not version & 1:
        dec.report(
            _D.PROTOCOL_VERSION,
            f"protocol version {version:#06x} does not have bit 0 (version 1) set",
            6,
            f"{name} > protocol version",
        )
    dec.reserved(reserved_1, 8, f"{name} > reserved")
    called_value, called_raw = _decode_ae(dec, called, 10, f"{name} > called AE title", is_rq)
    calling_value, calling_raw = _decode_ae(dec, calling, 26, f"{name} > calling AE title", is_rq)
    if is_rq:
        dec.reserved(reserved_2, 42, f"{name} > reserved")
    allowed = _RQ_ITEMS if is_rq else _AC_ITEMS
    decoders = _RQ_DECODERS if is_rq else _AC_DECODERS
    start = PDU_HEADER_SIZE + _ASSOCIATE.size
    items, _ = _items(dec, start, len(data), name, "item", decoders, allowed, top=True)
    _count(dec, items, ApplicationContextItem, "Application Context item", start, name, True)
    context_kind = PresentationContextRQItem if is_rq else PresentationContextACItem
    _count(dec, items, context_kind, "Presentation Context item", start, name, True, False)
    _count(dec, items, UserInformationItem, "User Information item", start, name, True)
    seen: set[int] = set()
    for item in items:
        if isinstance(item, context_kind):
            if item.presentation_context_id in seen:
                dec.report(
                    _D.DUPLICATE_ITEM,
                    f"presentation context ID {item.presentation_context_id} appears twice",
                    item.offset or start,
                    name,
                )
            seen.add(item.presentation_context_id)
    cls = AAssociateRQ if is_rq else AAssociateAC
    return cls(
        called_value,
        calling_value,
        tuple(items),
        version,
        called_raw,
        calling_raw,
        reserved_1,
        reserved_2,
        reserved,
        declared,
        tuple(dec.diagnostics),
    )


def _uid_item(cls: type[Any]) -> _ItemDecoder:
    """Make the decoder of an item whose whole value is one UID."""

    def decode(dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str) -> Any:
        """Decode the UID value and build the item with its raw bytes and offset."""
        value, raw = _decode_uid(dec, dec.data[start:stop], start, path)
        return cls(value, raw, reserved, pos)

    return decode


def _transfer_syntax(tested: bool) -> _ItemDecoder:
    """Make a Transfer Syntax decoder; in a rejected AC context the value is not tested."""

    def decode(dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str) -> Any:
        """Decode the transfer syntax UID, tested or not."""
        value, raw = _decode_uid(dec, dec.data[start:stop], start, path, tested)
        return TransferSyntaxSubItem(value, raw, reserved, pos)

    return decode


def _fixed(dec: _Decoder, start: int, stop: int, size: int, path: str, what: str) -> bytes:
    """Check a fixed-size value: too short is malformed, longer is reported; return the extra."""
    length = stop - start
    if length < size:
        raise _Malformed(f"{what} value is {length} byte(s); it needs {size}", offset=start)
    if length > size:
        dec.report(
            _D.ITEM_LENGTH_MISMATCH,
            f"{what} value is {length} byte(s), not {size}; the extra bytes are kept",
            start,
            path,
        )
    return dec.data[start + size : stop]


def _context_id(dec: _Decoder, context_id: int, offset: int, path: str) -> None:
    """Report a presentation context ID that is not odd (PS3.8 9.3.2.2: odd, 1-255)."""
    if not context_id & 1:
        dec.report(
            _D.CONTEXT_ID_INVALID,
            f"presentation context ID {context_id} is not an odd number 1-255",
            offset,
            path,
        )


def _presentation_rq(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> PresentationContextRQItem:
    """Decode a Presentation Context (RQ) item 0x20."""
    if stop - start < _PC_FIXED.size:
        raise _Malformed(f"{stop - start} byte(s); the fixed fields need 4", offset=start)
    context_id, r1, r2, r3 = _PC_FIXED.unpack_from(dec.data, start)
    _context_id(dec, context_id, start, path)
    dec.reserved(bytes((r1, r2, r3)), start + 1, path)
    subs, trailing = _items(
        dec, start + 4, stop, path, "sub-item", _PC_DECODERS, _PC_RQ_SUBS, top=False
    )
    _count(dec, subs, AbstractSyntaxSubItem, "Abstract Syntax sub-item", pos, path, True)
    _count(dec, subs, TransferSyntaxSubItem, "Transfer Syntax sub-item", pos, path, True, False)
    return PresentationContextRQItem(context_id, tuple(subs), r1, r2, r3, trailing, reserved, pos)


def _presentation_ac(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> PresentationContextACItem:
    """Decode a Presentation Context (AC) item 0x21; a rejected one may lack its TS."""
    if stop - start < _PC_FIXED.size:
        raise _Malformed(f"{stop - start} byte(s); the fixed fields need 4", offset=start)
    context_id, r1, result, r3 = _PC_FIXED.unpack_from(dec.data, start)
    _context_id(dec, context_id, start, path)
    dec.reserved(bytes((r1,)), start + 1, path)
    dec.reserved(bytes((r3,)), start + 3, path)
    result_reason = _coded(dec, PresentationContextResult, result, start + 2, path, "result")
    accepted = result == 0
    decoders = _PC_DECODERS if accepted else _PC_REJECTED_DECODERS
    subs, trailing = _items(
        dec, start + 4, stop, path, "sub-item", decoders, _PC_AC_SUBS, top=False
    )
    _count(dec, subs, TransferSyntaxSubItem, "Transfer Syntax sub-item", pos, path, accepted)
    return PresentationContextACItem(
        context_id, result_reason, tuple(subs), r1, r3, trailing, reserved, pos
    )


def _user_information(allowed: frozenset[int]) -> _ItemDecoder:
    """Make a User Information decoder that expects the sub-item types in ``allowed``."""

    def decode(
        dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
    ) -> UserInformationItem:
        """Decode the sub-items and check which must appear once."""
        subs, trailing = _items(
            dec, start, stop, path, "sub-item", _USER_DECODERS, allowed, top=False
        )
        _count(dec, subs, MaximumLengthSubItem, "Maximum Length sub-item", pos, path, True)
        _count(
            dec,
            subs,
            ImplementationClassUIDSubItem,
            "Implementation Class UID sub-item",
            pos,
            path,
            True,
        )
        for kind, label in (
            (AsynchronousOperationsWindowSubItem, "Asynchronous Operations Window sub-item"),
            (ImplementationVersionNameSubItem, "Implementation Version Name sub-item"),
            (UserIdentityRQSubItem, "User Identity sub-item"),
            (UserIdentityACSubItem, "User Identity sub-item"),
        ):
            _count(dec, subs, kind, label, pos, path, False)
        return UserInformationItem(tuple(subs), trailing, reserved, pos)

    return decode


def _maximum_length(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> MaximumLengthSubItem:
    """Decode a Maximum Length sub-item 0x51 (four bytes)."""
    extra = _fixed(dec, start, stop, _MAX_LENGTH.size, path, "Maximum Length")
    (value,) = _MAX_LENGTH.unpack_from(dec.data, start)
    return MaximumLengthSubItem(value, extra, reserved, pos)


def _async_window(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> AsynchronousOperationsWindowSubItem:
    """Decode an Asynchronous Operations Window sub-item 0x53 (two two-byte counts)."""
    extra = _fixed(dec, start, stop, _ASYNC.size, path, "Asynchronous Operations Window")
    invoked, performed = _ASYNC.unpack_from(dec.data, start)
    return AsynchronousOperationsWindowSubItem(invoked, performed, extra, reserved, pos)


def _role_selection(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> SCPSCURoleSelectionSubItem:
    """Decode an SCP/SCU Role Selection sub-item 0x54; the UID runs up to the two role bytes."""
    data = dec.data
    if stop - start < _LENGTH.size + _ROLES.size:
        raise _Malformed(f"{stop - start} byte(s); the fixed fields need 4", offset=start)
    (uid_length,) = _LENGTH.unpack_from(data, start)
    actual = stop - start - _LENGTH.size - _ROLES.size
    declared = None
    if uid_length != actual:
        declared = uid_length
        dec.report(
            _D.FIELD_LENGTH_MISMATCH,
            f"UID-length says {uid_length} but the item leaves {actual} byte(s) for the UID",
            start,
            path,
        )
    uid_start = start + _LENGTH.size
    value, raw = _decode_uid(dec, data[uid_start : uid_start + actual], uid_start, path)
    scu, scp = _ROLES.unpack_from(data, stop - _ROLES.size)
    scu_role = _coded(dec, Role, scu, stop - 2, path, "SCU-role")
    scp_role = _coded(dec, Role, scp, stop - 1, path, "SCP-role")
    return SCPSCURoleSelectionSubItem(value, scu_role, scp_role, raw, declared, reserved, pos)


def _version_name(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> ImplementationVersionNameSubItem:
    """Decode an Implementation Version Name sub-item 0x55 (1-16 characters)."""
    value = dec.data[start:stop].decode("latin-1")
    if not value:
        dec.report(_D.EMPTY_VALUE, "empty Implementation Version Name", start, path)
    elif len(value) > 16:
        dec.report(_D.VALUE_TOO_LONG, f"{len(value)} characters; at most 16", start, path)
    if not value.isascii() or _CONTROL.search(value):
        dec.report(_D.NON_ASCII, "control or non-ASCII characters (kept as Latin-1)", start, path)
    return ImplementationVersionNameSubItem(value, reserved, pos)


def _prefixed(dec: _Decoder, pos: int, stop: int, what: str) -> tuple[int, int]:
    """Read a two-byte length at ``pos``; return where its field starts and ends, or malformed."""
    if stop - pos < _LENGTH.size:
        raise _Malformed(f"no room for the {what} length", offset=pos)
    (length,) = _LENGTH.unpack_from(dec.data, pos)
    end = pos + _LENGTH.size + length
    if end > stop:
        raise _Malformed(f"{what} length {length} runs past the end of the item", offset=pos)
    return pos + _LENGTH.size, end


def _extended_negotiation(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> SOPClassExtendedNegotiationSubItem:
    """Decode a SOP Class Extended Negotiation sub-item 0x56."""
    uid_start, uid_end = _prefixed(dec, start, stop, "SOP-class-uid")
    value, raw = _decode_uid(dec, dec.data[uid_start:uid_end], uid_start, path)
    info = dec.data[uid_end:stop]
    return SOPClassExtendedNegotiationSubItem(value, info, raw, reserved, pos)


def _common_extended_negotiation(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> SOPClassCommonExtendedNegotiationSubItem:
    """Decode a SOP Class Common Extended Negotiation sub-item 0x57; the list runs to the end."""
    data = dec.data
    sop_start, sop_end = _prefixed(dec, start, stop, "SOP-class-uid")
    svc_start, svc_end = _prefixed(dec, sop_end, stop, "Service-class-uid")
    if stop - svc_end < _LENGTH.size:
        raise _Malformed(
            "no room for the related general SOP class identification length", offset=svc_end
        )
    (list_length,) = _LENGTH.unpack_from(data, svc_end)
    list_start = svc_end + _LENGTH.size
    declared = None
    if list_length != stop - list_start:
        declared = list_length
        dec.report(
            _D.FIELD_LENGTH_MISMATCH,
            f"related general SOP class identification length says {list_length} but "
            f"{stop - list_start} byte(s) remain; the list is read to the end of the item",
            svc_end,
            path,
        )
    spans = []
    cursor = list_start
    while cursor < stop:
        uid_start, cursor = _prefixed(dec, cursor, stop, "Related-general-sop-class-uid")
        spans.append((uid_start, cursor))
    sop, sop_raw = _decode_uid(dec, data[sop_start:sop_end], sop_start, path)
    svc, svc_raw = _decode_uid(dec, data[svc_start:svc_end], svc_start, path)
    related = [_decode_uid(dec, data[a:b], a, path) for a, b in spans]
    related_raw = None
    if any(raw is not None for _, raw in related):
        related_raw = tuple(data[a:b] for a, b in spans)
    return SOPClassCommonExtendedNegotiationSubItem(
        sop,
        svc,
        tuple(value for value, _ in related),
        reserved,
        sop_raw,
        svc_raw,
        related_raw,
        declared,
        pos,
    )


def _user_identity_rq(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> UserIdentityRQSubItem:
    """Decode a User Identity (RQ) sub-item 0x58; the secondary field runs to the end."""
    data = dec.data
    if stop - start < _UID_RQ.size:
        raise _Malformed(f"{stop - start} byte(s); the fixed fields need 4", offset=start)
    kind, response, primary_length = _UID_RQ.unpack_from(data, start)
    primary_end = start + _UID_RQ.size + primary_length
    if primary_end + _LENGTH.size > stop:
        raise _Malformed(
            f"primary field length {primary_length} leaves no room for the secondary field length",
            offset=start + 2,
        )
    (secondary_length,) = _LENGTH.unpack_from(data, primary_end)
    secondary_start = primary_end + _LENGTH.size
    declared = None
    if secondary_length != stop - secondary_start:
        declared = secondary_length
        dec.report(
            _D.FIELD_LENGTH_MISMATCH,
            f"secondary field length says {secondary_length} but {stop - secondary_start} "
            "byte(s) remain; the secondary field is read to the end of the item",
            primary_end,
            path,
        )
    identity_type = _coded(dec, UserIdentityType, kind, start, path, "user identity type")
    if response not in (0, 1):
        dec.report(
            _D.VALUE_OUT_OF_RANGE,
            f"positive response requested is {response}, not 0 or 1",
            start + 1,
            path,
        )
    primary = data[start + _UID_RQ.size : primary_end]
    secondary = data[secondary_start:stop]
    if not primary:
        dec.report(_D.EMPTY_VALUE, "empty primary field", start + 2, path)
    if kind == UserIdentityType.USERNAME_AND_PASSCODE and not secondary:
        dec.report(_D.EMPTY_VALUE, "user identity type 2 without a passcode", primary_end, path)
    return UserIdentityRQSubItem(
        identity_type, primary, secondary, response, declared, reserved, pos
    )


def _user_identity_ac(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> UserIdentityACSubItem:
    """Decode a User Identity (AC) sub-item 0x59; the server response runs to the end."""
    if stop - start < _LENGTH.size:
        raise _Malformed(
            f"{stop - start} byte(s); the server response length needs 2", offset=start
        )
    (length,) = _LENGTH.unpack_from(dec.data, start)
    declared = None
    if length != stop - start - _LENGTH.size:
        declared = length
        dec.report(
            _D.FIELD_LENGTH_MISMATCH,
            f"server response length says {length} but {stop - start - 2} byte(s) remain",
            start,
            path,
        )
    response = dec.data[start + _LENGTH.size : stop]
    return UserIdentityACSubItem(response, declared, reserved, pos)


# --- fixed-size PDUs -----------------------------------------------------------------------------


def _fixed_body(dec: _Decoder, name: str) -> bytes:
    """Check a four-byte PDU body: cut short is an error, longer is reported and kept."""
    size = len(dec.data) - PDU_HEADER_SIZE
    if size < _FIXED_BODY:
        raise TruncatedError(
            f"{size} byte(s) after the header; the body needs {_FIXED_BODY}",
            offset=PDU_HEADER_SIZE,
            path=name,
        )
    if size > _FIXED_BODY:
        dec.report(
            _D.PDU_LENGTH_MISMATCH,
            f"{size} byte(s) after the header for a {_FIXED_BODY}-byte body; the extra bytes "
            "are kept",
            PDU_HEADER_SIZE + _FIXED_BODY,
            name,
        )
    return dec.data[PDU_HEADER_SIZE + _FIXED_BODY :]


_REASONS: dict[int, type[enum.IntEnum]] = {
    RejectSource.SERVICE_USER: RejectReasonUser,
    RejectSource.SERVICE_PROVIDER_ACSE: RejectReasonACSE,
    RejectSource.SERVICE_PROVIDER_PRESENTATION: RejectReasonPresentation,
}


def _decode_reject(dec: _Decoder, reserved: int, declared: int | None) -> AAssociateRJ:
    """Decode an A-ASSOCIATE-RJ; the reason's meaning depends on the source."""
    name = "A-ASSOCIATE-RJ"
    trailing = _fixed_body(dec, name)
    reserved_1, result, source, reason = _REJECT.unpack_from(dec.data, PDU_HEADER_SIZE)
    dec.reserved(reserved_1, 6, f"{name} > reserved")
    result_value = _coded(dec, RejectResult, result, 7, f"{name} > result", "result")
    source_value = _coded(dec, RejectSource, source, 8, f"{name} > source", "source")
    reasons = _REASONS.get(source)
    reason_value: Any = reason
    if reasons is not None:
        reason_value = _coded(dec, reasons, reason, 9, f"{name} > reason/diag.", "reason")
    return AAssociateRJ(
        result_value,
        source_value,
        reason_value,
        reserved_1,
        trailing,
        reserved,
        declared,
        tuple(dec.diagnostics),
    )


def _decode_release(dec: _Decoder, reserved: int, declared: int | None, is_rq: bool) -> PDU:
    """Decode an A-RELEASE-RQ or -RP (four reserved bytes)."""
    name = "A-RELEASE-RQ" if is_rq else "A-RELEASE-RP"
    trailing = _fixed_body(dec, name)
    (reserved_1,) = _RELEASE.unpack_from(dec.data, PDU_HEADER_SIZE)
    dec.reserved(reserved_1, 6, f"{name} > reserved")
    cls = AReleaseRQ if is_rq else AReleaseRP
    return cls(reserved_1, trailing, reserved, declared, tuple(dec.diagnostics))


def _decode_abort(dec: _Decoder, reserved: int, declared: int | None) -> AAbort:
    """Decode an A-ABORT; the reason is significant only from the service provider."""
    name = "A-ABORT"
    trailing = _fixed_body(dec, name)
    reserved_1, reserved_2, source, reason = _ABORT.unpack_from(dec.data, PDU_HEADER_SIZE)
    dec.reserved(bytes((reserved_1, reserved_2)), 6, f"{name} > reserved")
    source_value = _coded(dec, AbortSource, source, 8, f"{name} > source", "source")
    if source == AbortSource.SERVICE_PROVIDER:
        reason_value = _coded(dec, AbortReason, reason, 9, f"{name} > reason/diag.", "reason")
    else:
        reason_value = coded(AbortReason, reason)
    return AAbort(
        source_value,
        reason_value,
        reserved_1,
        reserved_2,
        trailing,
        reserved,
        declared,
        tuple(dec.diagnostics),
    )


# --- dispatch tables -----------------------------------------------------------------------------

_RQ_ITEMS = frozenset({0x10, 0x20, 0x50})
_AC_ITEMS = frozenset({0x10, 0x21, 0x50})
_PC_RQ_SUBS = frozenset({0x30, 0x40})
_PC_AC_SUBS = frozenset({0x40})
_USER_RQ_SUBS = frozenset({0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58})
_USER_AC_SUBS = frozenset({0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x59})

_BODIES: dict[int, Callable[[_Decoder, int, int | None], PDU]] = {
    0x01: lambda dec, r, d: _decode_associate(dec, r, d, True),
    0x02: lambda dec, r, d: _decode_associate(dec, r, d, False),
    0x03: _decode_reject,
    0x05: lambda dec, r, d: _decode_release(dec, r, d, True),
    0x06: lambda dec, r, d: _decode_release(dec, r, d, False),
    0x07: _decode_abort,
}

_PC_DECODERS: dict[int, _ItemDecoder] = {
    0x30: _uid_item(AbstractSyntaxSubItem),
    0x40: _transfer_syntax(True),
}
_PC_REJECTED_DECODERS: dict[int, _ItemDecoder] = {
    0x30: _uid_item(AbstractSyntaxSubItem),
    0x40: _transfer_syntax(False),
}
_USER_DECODERS: dict[int, _ItemDecoder] = {
    0x51: _maximum_length,
    0x52: _uid_item(ImplementationClassUIDSubItem),
    0x53: _async_window,
    0x54: _role_selection,
    0x55: _version_name,
    0x56: _extended_negotiation,
    0x57: _common_extended_negotiation,
    0x58: _user_identity_rq,
    0x59: _user_identity_ac,
}
_RQ_DECODERS: dict[int, _ItemDecoder] = {
    0x10: _uid_item(ApplicationContextItem),
    0x20: _presentation_rq,
    0x21: _presentation_ac,
    0x50: _user_information(_USER_RQ_SUBS),
}
_AC_DECODERS: dict[int, _ItemDecoder] = {**_RQ_DECODERS, 0x50: _user_information(_USER_AC_SUBS)}
_ANY_DECODERS: dict[int, _ItemDecoder] = {
    **_RQ_DECODERS,
    0x50: _user_information(_USER_RQ_SUBS | _USER_AC_SUBS),
    **_PC_DECODERS,
    **_USER_DECODERS,
}

_ALL_KNOWN = frozenset(_ANY_DECODERS)


def decode_item(
    data: bytes | bytearray | memoryview, *, policy: Policy = LENIENT
) -> tuple[Any, tuple[Diagnostic, ...]]:
    """Decode one item or sub-item on its own (all of ``data``); return it and its diagnostics.

    The type code alone says what the item is (the codes of PS3.8 are distinct across levels),
    so this decodes any of 0x10-0x59 as it would inside a PDU, or keeps an unknown type.
    """
    dec = _Decoder(bytes(_view(data)), policy)
    n = len(dec.data)
    if n < _ITEM:
        raise TruncatedError(f"{n} byte(s); an item header needs {_ITEM}", offset=0, path="item")
    item_type, reserved, length = _ITEM_HEADER.unpack_from(dec.data, 0)
    path = f"item 0x{item_type:02X} @0"
    if _ITEM + length > n:
        raise TruncatedError(
            f"item length {length} but {n - _ITEM} byte(s) follow the header", offset=2, path=path
        )
    if _ITEM + length < n:
        raise DecodeError(
            f"{n - _ITEM - length} byte(s) after the item", offset=_ITEM + length, path=path
        )
    item = _item(dec, item_type, reserved, 0, n, path, _ANY_DECODERS, _ALL_KNOWN)
    return item, tuple(dec.diagnostics)


def encode_item(item: Any, *, canonical: bool = False) -> bytes:
    """Encode one item or sub-item with its header, as received or (``canonical``) standard."""
    with _field_types("item"):
        return _item_bytes(item, canonical, "item")


# --- encoding ------------------------------------------------------------------------------------


def _pack(fmt: struct.Struct, path: str, *values: Any) -> bytes:
    """Pack fixed fields, turning an out-of-range value into EncodeError."""
    try:
        return fmt.pack(*values)
    except struct.error as exc:
        raise EncodeError(f"cannot encode {values!r}: {exc}", path=path) from exc


def _text_bytes(value: str, path: str) -> bytes:
    """Encode text as Latin-1 (the decoders' reversible reading), or fail with EncodeError."""
    if not isinstance(value, str):
        raise InvalidParameterType(f"expected str, not {type(value).__name__}", path=path)
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"{value!r} has characters outside Latin-1", path=path) from exc


def _uid_bytes(value: str, raw: bytes | None, canonical: bool, path: str) -> bytes:
    """The UID field to write: the kept raw bytes when they still carry ``value``."""
    if raw is not None and not canonical and _uid_value(raw) == value:
        return raw
    return _text_bytes(value, path)


def _ae_bytes(value: str, raw: bytes | None, canonical: bool, path: str) -> bytes:
    """The 16-byte AE field to write: the kept raw bytes when they still carry ``value``."""
    if raw is not None and not canonical and len(raw) == 16 and _ae_value(raw) == value:
        return raw
    encoded = _text_bytes(value, path)
    if len(encoded) > 16:
        raise EncodeError(f"AE title {value!r} is longer than 16 characters", path=path)
    return encoded.ljust(16, b" ")


def _prefix(value: bytes, declared: int | None, canonical: bool, path: str) -> bytes:
    """A two-byte length (declared when kept, else actual) followed by ``value``."""
    length = len(value) if declared is None or canonical else declared
    return _pack(_LENGTH, path, length) + value


def _item_bytes(item: Any, canonical: bool, path: str) -> bytes:
    """Encode one item or sub-item with its header."""
    encoder = _ENCODERS.get(type(item))
    if encoder is None:
        raise InvalidParameterType(f"{type(item).__name__} is not a PDU item", path=path)
    item_path = f"{path} > item 0x{item.item_type:02X}"
    value = encoder(item, canonical, item_path)
    if isinstance(item, SOPClassCommonExtendedNegotiationSubItem):
        reserved = item.sub_item_version
    else:
        reserved = 0 if canonical else item.reserved
    if len(value) > 0xFFFF:
        raise EncodeError(
            f"item value of {len(value)} bytes does not fit a 2-byte length", path=item_path
        )
    return _pack(_ITEM_HEADER, item_path, item.item_type, reserved, len(value)) + value


def _items_bytes(items: Iterable[Any], canonical: bool, path: str) -> bytes:
    """Encode a sequence of items."""
    return b"".join(_item_bytes(item, canonical, path) for item in items)


def _trailing(item: Any, canonical: bool) -> bytes:
    """Bytes kept after an item's last field; canonical output drops them."""
    return b"" if canonical else bytes(item.trailing)


def _enc_unknown(item: UnknownItem, canonical: bool, path: str) -> bytes:
    """Write an unknown or undecodable item's value exactly as it was kept."""
    return bytes(item.raw)


def _enc_uid(attribute: str) -> Callable[[Any, bool, str], bytes]:
    """Make the value encoder of an item whose whole value is the UID in ``attribute``."""

    def encode(item: Any, canonical: bool, path: str) -> bytes:
        """Write the UID, or its kept raw bytes while they still carry it."""
        return _uid_bytes(getattr(item, attribute), item.raw, canonical, path)

    return encode


def _enc_pc_rq(item: PresentationContextRQItem, canonical: bool, path: str) -> bytes:
    """Write a Presentation Context (RQ) value: ID, three reserved bytes, sub-items."""
    reserved = (0, 0, 0) if canonical else (item.reserved_1, item.reserved_2, item.reserved_3)
    fixed = _pack(_PC_FIXED, path, item.presentation_context_id, *reserved)
    return fixed + _items_bytes(item.sub_items, canonical, path) + _trailing(item, canonical)


def _enc_pc_ac(item: PresentationContextACItem, canonical: bool, path: str) -> bytes:
    """Write a Presentation Context (AC) value: ID, reserved, result, reserved, sub-items."""
    r1, r3 = (0, 0) if canonical else (item.reserved_1, item.reserved_3)
    fixed = _pack(_PC_FIXED, path, item.presentation_context_id, r1, item.result_reason, r3)
    return fixed + _items_bytes(item.sub_items, canonical, path) + _trailing(item, canonical)


def _enc_user(item: UserInformationItem, canonical: bool, path: str) -> bytes:
    """Write a User Information value: its sub-items in order."""
    return _items_bytes(item.sub_items, canonical, path) + _trailing(item, canonical)


def _enc_max_length(item: MaximumLengthSubItem, canonical: bool, path: str) -> bytes:
    """Write a Maximum Length value (four bytes)."""
    return _pack(_MAX_LENGTH, path, item.maximum_length_received) + _trailing(item, canonical)


def _enc_async(item: AsynchronousOperationsWindowSubItem, canonical: bool, path: str) -> bytes:
    """Write an Asynchronous Operations Window value (two two-byte counts)."""
    counts = (item.maximum_number_operations_invoked, item.maximum_number_operations_performed)
    return _pack(_ASYNC, path, *counts) + _trailing(item, canonical)


def _enc_role(item: SCPSCURoleSelectionSubItem, canonical: bool, path: str) -> bytes:
    """Write a Role Selection value: UID-length, UID and the two role bytes."""
    uid = _uid_bytes(item.sop_class_uid, item.sop_class_uid_raw, canonical, path)
    return _prefix(uid, item.uid_length, canonical, path) + _pack(
        _ROLES, path, item.scu_role, item.scp_role
    )


def _enc_version(item: ImplementationVersionNameSubItem, canonical: bool, path: str) -> bytes:
    """Write an Implementation Version Name value (Latin-1, as it was read)."""
    return _text_bytes(item.implementation_version_name, path)


def _enc_ext_neg(item: SOPClassExtendedNegotiationSubItem, canonical: bool, path: str) -> bytes:
    """Write a SOP Class Extended Negotiation value: UID-length, UID, application info."""
    uid = _uid_bytes(item.sop_class_uid, item.sop_class_uid_raw, canonical, path)
    return _prefix(uid, None, canonical, path) + bytes(item.service_class_application_information)


def _enc_common_ext_neg(
    item: SOPClassCommonExtendedNegotiationSubItem, canonical: bool, path: str
) -> bytes:
    """Write a Common Extended Negotiation value: two prefixed UIDs and the related list."""
    sop = _uid_bytes(item.sop_class_uid, item.sop_class_uid_raw, canonical, path)
    svc = _uid_bytes(item.service_class_uid, item.service_class_uid_raw, canonical, path)
    related = item.related_general_sop_class_uids
    raws: tuple[bytes | None, ...] = (None,) * len(related)
    kept = item.related_general_sop_class_uids_raw
    if kept is not None and len(kept) == len(related):
        raws = kept
    listed = b"".join(
        _prefix(_uid_bytes(value, raw, canonical, path), None, canonical, path)
        for value, raw in zip(related, raws, strict=True)
    )
    return (
        _prefix(sop, None, canonical, path)
        + _prefix(svc, None, canonical, path)
        + _prefix(listed, item.related_general_sop_class_identification_length, canonical, path)
    )


def _enc_identity_rq(item: UserIdentityRQSubItem, canonical: bool, path: str) -> bytes:
    """Write a User Identity (RQ) value: type, flag, primary and secondary fields."""
    primary = bytes(item.primary_field)
    fixed = _pack(
        _UID_RQ, path, item.user_identity_type, item.positive_response_requested, len(primary)
    )
    secondary = _prefix(bytes(item.secondary_field), item.secondary_field_length, canonical, path)
    return fixed + primary + secondary


def _enc_identity_ac(item: UserIdentityACSubItem, canonical: bool, path: str) -> bytes:
    """Write a User Identity (AC) value: the prefixed server response."""
    return _prefix(bytes(item.server_response), item.server_response_length, canonical, path)


_ENCODERS: dict[type[Any], Callable[[Any, bool, str], bytes]] = {
    UnknownItem: _enc_unknown,
    ApplicationContextItem: _enc_uid("application_context_name"),
    AbstractSyntaxSubItem: _enc_uid("abstract_syntax_name"),
    TransferSyntaxSubItem: _enc_uid("transfer_syntax_name"),
    ImplementationClassUIDSubItem: _enc_uid("implementation_class_uid"),
    PresentationContextRQItem: _enc_pc_rq,
    PresentationContextACItem: _enc_pc_ac,
    UserInformationItem: _enc_user,
    MaximumLengthSubItem: _enc_max_length,
    AsynchronousOperationsWindowSubItem: _enc_async,
    SCPSCURoleSelectionSubItem: _enc_role,
    ImplementationVersionNameSubItem: _enc_version,
    SOPClassExtendedNegotiationSubItem: _enc_ext_neg,
    SOPClassCommonExtendedNegotiationSubItem: _enc_common_ext_neg,
    UserIdentityRQSubItem: _enc_identity_rq,
    UserIdentityACSubItem: _enc_identity_ac,
}


def encode_pdu(pdu: PDU, *, canonical: bool = False) -> bytes:
    """Encode a PDU; by default as received, with ``canonical=True`` in the standard form.

    The default writes every kept wire detail (reserved bytes, declared lengths, raw AE titles
    and UIDs while they still carry the value, trailing bytes), so a decoded PDU re-encodes byte
    for byte. Canonical output computes every length, zeroes reserved bytes and MCH reserved
    bits, writes AE titles space-padded to 16 bytes and UIDs unpadded, and drops trailing bytes.
    """
    if isinstance(pdu, PDataTF):
        return _encode_p_data(pdu, canonical)
    encoder = _PDU_ENCODERS.get(type(pdu))
    if encoder is None:
        raise InvalidParameterType(f"{type(pdu).__name__} is not a PDU")
    path = pdu.name
    with _field_types(path):
        body = encoder(pdu, canonical, path)
        return _header(pdu, len(body), canonical, path) + body


@contextlib.contextmanager
def _field_types(path: str) -> Iterator[None]:
    """Turn a field of the wrong type or value met while encoding into a codec error."""
    try:
        yield
    except (TypeError, AttributeError) as exc:
        raise InvalidParameterType(f"a field has the wrong type: {exc}", path=path) from exc
    except (ValueError, OverflowError) as exc:
        raise InvalidParameter(f"a field has an unusable value: {exc}", path=path) from exc


def _header(pdu: Any, body_length: int, canonical: bool, path: str) -> bytes:
    """The six-byte PDU header, with the declared length kept unless canonical."""
    declared = pdu.pdu_length
    length = body_length if declared is None or canonical else declared
    reserved = 0 if canonical else pdu.reserved
    return _pack(_PDU_HEADER, path, pdu.pdu_type, reserved, length)


def _encode_p_data(pdu: PDataTF, canonical: bool) -> bytes:
    """Encode a P-DATA-TF by joining PDV headers and fragments (one copy of each fragment)."""
    pack = _PDV_HEADER.pack
    parts: list[bytes | memoryview] = [b""]
    total = 0
    try:
        for pdv in pdu.presentation_data_value_items:
            fragment = pdv.fragment
            size = fragment.nbytes if isinstance(fragment, memoryview) else len(fragment)
            mch = pdv.message_control_header
            parts.append(
                pack(size + 2, pdv.presentation_context_id, mch & _MCH_BITS if canonical else mch)
            )
            parts.append(fragment)
            total += _PDV + size
    except struct.error as exc:
        raise EncodeError(f"cannot encode a PDV: {exc}", path="P-DATA-TF") from exc
    except (AttributeError, TypeError) as exc:
        raise InvalidParameterType(f"not a PDV item: {exc}", path="P-DATA-TF") from exc
    parts[0] = _header(pdu, total, canonical, "P-DATA-TF")
    try:
        return b"".join(parts)
    except TypeError as exc:
        raise InvalidParameterType(
            f"PDV fragment is not bytes-like: {exc}", path="P-DATA-TF"
        ) from exc


def _enc_associate(pdu: AAssociateRQ | AAssociateAC, canonical: bool, path: str) -> bytes:
    """Write the fixed fields and the variable items of an A-ASSOCIATE-RQ or -AC."""
    reserved_2 = bytes(32) if canonical else bytes(pdu.reserved_2)
    if len(reserved_2) != 32:
        raise EncodeError(f"reserved_2 is {len(reserved_2)} bytes, not 32", path=path)
    fixed = _pack(
        _ASSOCIATE,
        path,
        pdu.protocol_version,
        0 if canonical else pdu.reserved_1,
        _ae_bytes(pdu.called_ae_title, pdu.called_ae_title_raw, canonical, f"{path} > called"),
        _ae_bytes(pdu.calling_ae_title, pdu.calling_ae_title_raw, canonical, f"{path} > calling"),
        reserved_2,
    )
    return fixed + _items_bytes(pdu.variable_items, canonical, path)


def _enc_reject(pdu: AAssociateRJ, canonical: bool, path: str) -> bytes:
    """Write an A-ASSOCIATE-RJ body."""
    reserved_1 = 0 if canonical else pdu.reserved_1
    body = _pack(_REJECT, path, reserved_1, pdu.result, pdu.source, pdu.reason_diag)
    return body + _trailing(pdu, canonical)


def _enc_release(pdu: AReleaseRQ | AReleaseRP, canonical: bool, path: str) -> bytes:
    """Write an A-RELEASE-RQ or -RP body (four reserved bytes)."""
    reserved_1 = bytes(4) if canonical else bytes(pdu.reserved_1)
    if len(reserved_1) != 4:
        raise EncodeError(f"reserved_1 is {len(reserved_1)} bytes, not 4", path=path)
    return reserved_1 + _trailing(pdu, canonical)


def _enc_abort(pdu: AAbort, canonical: bool, path: str) -> bytes:
    """Write an A-ABORT body."""
    r1, r2 = (0, 0) if canonical else (pdu.reserved_1, pdu.reserved_2)
    body = _pack(_ABORT, path, r1, r2, pdu.source, pdu.reason_diag)
    return body + _trailing(pdu, canonical)


def _enc_unknown_pdu(pdu: UnknownPDU, canonical: bool, path: str) -> bytes:
    """Write an unknown PDU's body exactly as it was kept."""
    return bytes(pdu.body)


_PDU_ENCODERS: dict[type[Any], Callable[[Any, bool, str], bytes]] = {
    AAssociateRQ: _enc_associate,
    AAssociateAC: _enc_associate,
    AAssociateRJ: _enc_reject,
    AReleaseRQ: _enc_release,
    AReleaseRP: _enc_release,
    AAbort: _enc_abort,
    UnknownPDU: _enc_unknown_pdu,
}
