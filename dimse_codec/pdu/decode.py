"""Decode Upper Layer PDUs and their items, keeping every wire detail for re-encoding.

Decoding keeps everything the wire held (unknown items, reserved bytes, padding, inconsistent
declared lengths) so ``encode_pdu(decode_pdu(b)) == b`` for every decodable ``b``, and reports each
departure from PS3.8 to the :class:`~dimse_codec.policy.Policy` (lenient: a diagnostic; strict: a
:class:`~dimse_codec.errors.PolicyViolation`). Lengths are checked against the bytes present
before anything is sliced, and only :class:`~dimse_codec.errors.DimseCodecError` is ever raised.

How the dispatch works: :func:`decode_pdu` frames the PDU, sends P-DATA-TF to its own hot path and
looks every other type up in ``_BODIES`` (keyed by :class:`~dimse_codec.pdu.structures.PDUType`).
An A-ASSOCIATE body is a list of items; each level of nesting (the PDU, a presentation context, the
user information item) decodes its list with a table ``{ItemType: decoder}`` and the set of types
allowed there. Both come from :data:`~dimse_codec.pdu.structures.CONTAINS` (and ``ONLY_IN`` for
what only one direction carries), so one table says where an item belongs. A type that has a
decoder but is not allowed where it stands is decoded and reported ``ITEM_NOT_ALLOWED``; a type
PS3.8 does not define is kept as :class:`~dimse_codec.pdu.items.UnknownItem` and reported
``UNKNOWN_ITEM``; a known item whose value does not fit its length is kept undecoded
(``ITEM_MALFORMED``). The sections below follow the wire: framing, P-DATA-TF, field values, item
lists, A-ASSOCIATE and its items, fixed-size PDUs, then the tables.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable
from typing import Any

from dimse_codec._wire import byte_view, struct_of
from dimse_codec.errors import DecodeError, LimitExceeded, TruncatedError
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
    CONTAINS,
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
    ItemType,
    PDUType,
    allowed_in,
)
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.vrs import (
    AE_MAX_LENGTH,
    CONTROL_BYTES,
    UID_GRAMMAR,
    UID_MAX_LENGTH,
    VR_RULES,
)

__all__ = [
    "PDU_HEADER_SIZE",
    "decode_item",
    "decode_pdu",
    "pdu_name",
    "read_pdu_header",
    "report",
]


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

_P_DATA_TF = PDataTF.name


def pdu_name(pdu_type: int) -> str:
    """The PS3.8 name of a PDU type (``"PDU 0x42"`` for one PS3.8 does not define)."""
    member = coded(PDUType, pdu_type)
    return member.label if isinstance(member, PDUType) else f"PDU 0x{pdu_type:02X}"


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


def read_pdu_header(
    data: bytes | bytearray | memoryview, *, max_pdu_length: int | None = None
) -> tuple[int, int]:
    """Return ``(pdu_type, pdu_length)`` from the first six bytes, for framing a byte stream.

    The whole PDU is ``PDU_HEADER_SIZE + pdu_length`` bytes. Raises TruncatedError with fewer
    than six bytes and LimitExceeded when the declared length is over ``max_pdu_length``, so a
    reader can refuse before it buffers anything.
    """
    view = byte_view(data)
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
            self.report(
                DiagnosticCode.RESERVED_NONZERO,
                f"reserved field is {shown}, not zero",
                offset,
                path,
            )


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
    view = byte_view(data)
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
    if pdu_type == PDUType.P_DATA_TF:
        return _decode_p_data(view, reserved, length, policy)
    raw = bytes(view)
    if n <= _MEMO_BYTES and _hashable(policy):
        return _decode_memo(raw, policy)
    return _decode_other(raw, policy)


def _hashable(policy: Policy) -> bool:
    """Whether ``policy`` can key the memo (a subclass might hold unhashable fields)."""
    try:
        hash(policy)
    except TypeError:
        return False
    return True


_MEMO_BYTES = 4096
"""The longest PDU other than P-DATA-TF whose decode is remembered (see :func:`_decode_memo`)."""


@functools.lru_cache(maxsize=256)
def _decode_memo(raw: bytes, policy: Policy) -> PDU:
    """:func:`_decode_other`, remembered for the last 256 distinct PDUs (at most 1 MiB).

    A peer sends the same A-ASSOCIATE-RQ bytes for every association (a monitor's echo each
    minute, a modality's study after study) and gets the same A-ASSOCIATE-AC back: decoding
    them once is exact, as a PDU is immutable and decoding depends on its bytes and the policy
    alone. Errors are not remembered: they are raised again.
    """
    return _decode_other(raw, policy)


def _decode_other(raw: bytes, policy: Policy) -> PDU:
    """Decode a whole PDU other than P-DATA-TF (its header checked by :func:`decode_pdu`)."""
    pdu_type, reserved, length = _PDU_HEADER.unpack_from(raw, 0)
    name = pdu_name(pdu_type)
    available = len(raw) - PDU_HEADER_SIZE
    dec = _Decoder(raw, policy)
    dec.reserved(reserved, 1, name)
    declared = _declared_pdu_length(dec, length, available, name)
    body: Callable[[_Decoder, int, int | None], PDU] | None = _BODIES.get(pdu_type)
    if body is None:
        dec.report(
            DiagnosticCode.UNKNOWN_PDU_TYPE,
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
        DiagnosticCode.PDU_LENGTH_MISMATCH,
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
        report(policy, diagnostics, DiagnosticCode.RESERVED_NONZERO, message, 1, _P_DATA_TF)
    end = len(view)
    declared = None
    if length != end - PDU_HEADER_SIZE:
        declared = length
        report(
            policy,
            diagnostics,
            DiagnosticCode.PDU_LENGTH_MISMATCH,
            f"PDU-length says {length} but {end - PDU_HEADER_SIZE} byte(s) follow; all are decoded",
            2,
            _P_DATA_TF,
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
                path=f"{_P_DATA_TF} > PDV @{pos}",
            )
        item_length, context_id, mch = unpack(view, pos)
        stop = pos + 4 + item_length
        if item_length < 2:
            _short_pdv(pos, item_length)
        if stop > end:
            raise TruncatedError(
                f"PDV item length {item_length} runs past the end ({end - pos - 4} left)",
                offset=pos,
                path=f"{_P_DATA_TF} > PDV @{pos}",
            )
        if not context_id & 1 or mch & ~_MCH_BITS:
            _check_pdv(policy, diagnostics, pos, context_id, mch)
        append(pdv(context_id, mch, view[pos + _PDV : stop], pos))
        pos = stop
    if not pdvs:
        report(
            policy,
            diagnostics,
            DiagnosticCode.NO_PDV,
            "P-DATA-TF carries no PDV item",
            6,
            _P_DATA_TF,
        )
    return PDataTF(tuple(pdvs), reserved, declared, tuple(diagnostics))


def _short_pdv(pos: int, item_length: int) -> None:
    """Refuse a PDV too short to hold its context ID and MCH (DCMTK refuses it too)."""
    raise DecodeError(
        f"PDV item length {item_length} leaves no room for the context ID and MCH",
        offset=pos,
        path=f"{_P_DATA_TF} > PDV @{pos}",
    )


def _check_pdv(
    policy: Policy, diagnostics: list[Diagnostic], pos: int, context_id: int, mch: int
) -> None:
    """Report an even context ID or reserved MCH bits (both kept as received)."""
    path = f"{_P_DATA_TF} > PDV @{pos}"
    if not context_id & 1:
        report(
            policy,
            diagnostics,
            DiagnosticCode.CONTEXT_ID_INVALID,
            f"presentation context ID {context_id} is not an odd number 1-255",
            pos + 4,
            path,
        )
    if mch & ~_MCH_BITS:
        report(
            policy,
            diagnostics,
            DiagnosticCode.MCH_RESERVED_BITS,
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
    return value.encode("latin-1").ljust(AE_MAX_LENGTH, b" ")


def _decode_ae(
    dec: _Decoder, raw: bytes, offset: int, path: str, tested: bool
) -> tuple[str, bytes | None]:
    """Decode an AE field into (value, raw kept when not standard), reporting when ``tested``."""
    value = _ae_value(raw)
    if tested:
        _check_ae(dec, raw, value, offset, path)
    return value, (None if raw == _ae_field(value) else raw)


def _check_ae(dec: _Decoder, raw: bytes, value: str, offset: int, path: str) -> None:
    """Report what is wrong with an AE title field and its value (PS3.5 6.2, PS3.8 9.3.2)."""
    if b"\x00" in raw:
        dec.report(
            DiagnosticCode.AE_NUL_PADDED,
            "NUL bytes in an AE title; AE titles are padded with spaces",
            offset,
            path,
        )
    if not value:
        dec.report(DiagnosticCode.AE_EMPTY, "AE title is all spaces", offset, path)
    if "\\" in value:
        dec.report(DiagnosticCode.AE_BACKSLASH, "backslash in an AE title", offset, path)
    if not value.isascii() or CONTROL_BYTES.search(value.encode("latin-1")):
        dec.report(
            DiagnosticCode.NON_ASCII, "AE title holds control or non-ASCII characters", offset, path
        )


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
                DiagnosticCode.UID_NUL_PADDED,
                "UID padded with NUL; PS3.8 Annex F says item UIDs are not padded",
                offset,
                path,
            )
        if b" " in pad:
            dec.report(DiagnosticCode.UID_SPACE_PADDED, "UID padded with spaces", offset, path)
    _check_uid(dec, value, offset, path)
    return value, kept


def _check_uid(dec: _Decoder, value: str, offset: int, path: str) -> None:
    """Report what is wrong with a UID value (PS3.5 9.1: at most 64 digits and dots)."""
    if not value:
        dec.report(DiagnosticCode.EMPTY_VALUE, "empty UID", offset, path)
        return
    if not value.isascii():
        dec.report(
            DiagnosticCode.NON_ASCII, "UID holds non-ASCII bytes (kept as Latin-1)", offset, path
        )
    if len(value) > UID_MAX_LENGTH:
        dec.report(
            DiagnosticCode.UID_TOO_LONG,
            f"{len(value)} characters; a UID has at most {UID_MAX_LENGTH}",
            offset,
            path,
        )
    if UID_GRAMMAR.match(value) is None:
        dec.report(
            DiagnosticCode.UID_INVALID, f"{value!r} is not a valid UID (PS3.5 9.1)", offset, path
        )


def _coded(
    dec: _Decoder, enum_type: type[Any], value: int, offset: int, path: str, what: str
) -> Any:
    """Decode a coded byte to its enum member, reporting (and keeping) an unknown code."""
    member = coded(enum_type, value)
    if not isinstance(member, enum.Enum):
        dec.report(
            DiagnosticCode.VALUE_OUT_OF_RANGE, f"{what} {value} is not a defined code", offset, path
        )
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
        dec.report(
            DiagnosticCode.ITEM_LENGTH_MISMATCH, f"{problem}; kept as trailing bytes", pos, path
        )
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
                DiagnosticCode.UNKNOWN_ITEM,
                f"item type 0x{item_type:02X} is not known; kept and ignored (PS3.8 D.2)",
                pos,
                path,
            )
        else:
            dec.report(
                DiagnosticCode.ITEM_NOT_ALLOWED,
                f"item type 0x{item_type:02X} does not belong here",
                pos,
                path,
            )
    if decoder is None:
        return UnknownItem(item_type, dec.data[pos + _ITEM : stop], pos, reserved)
    if item_type != ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION:
        dec.reserved(reserved, pos + 1, path)
    try:
        return decoder(dec, reserved, pos, pos + _ITEM, stop, path)
    except _Malformed as exc:
        dec.report(
            DiagnosticCode.ITEM_MALFORMED, f"{exc.message}; kept undecoded", exc.offset or pos, path
        )
        return UnknownItem(item_type, dec.data[pos + _ITEM : stop], pos, reserved)


def _count(
    dec: _Decoder,
    items: Iterable[Any],
    kind: type[Any],
    offset: int,
    path: str,
    required: bool,
    single: bool = True,
) -> None:
    """Report a required item that is missing, or a second one of a kind allowed once."""
    label = kind.item_type.label
    found = [item for item in items if isinstance(item, kind)]
    if required and not found:
        dec.report(DiagnosticCode.MISSING_ITEM, f"no {label}", offset, path)
    if single and len(found) > 1:
        extra = found[1]
        dec.report(
            DiagnosticCode.DUPLICATE_ITEM, f"more than one {label}", extra.offset or offset, path
        )


# --- A-ASSOCIATE-RQ / -AC -------------------------------------------------------------------------


def _decode_associate(dec: _Decoder, reserved: int, declared: int | None, is_rq: bool) -> PDU:
    """Decode the fixed fields and the variable items of an A-ASSOCIATE-RQ or -AC."""
    cls = AAssociateRQ if is_rq else AAssociateAC
    name = cls.name
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
            DiagnosticCode.PROTOCOL_VERSION,
            f"protocol version {version:#06x} does not have bit 0 (version 1) set",
            6,
            f"{name} > protocol version",
        )
    dec.reserved(reserved_1, 8, f"{name} > reserved")
    called_value, called_raw = _decode_ae(dec, called, 10, f"{name} > called AE title", is_rq)
    calling_value, calling_raw = _decode_ae(dec, calling, 26, f"{name} > calling AE title", is_rq)
    if is_rq:
        dec.reserved(reserved_2, 42, f"{name} > reserved")
    allowed = CONTAINS[cls.pdu_type]
    decoders = _RQ_DECODERS if is_rq else _AC_DECODERS
    start = PDU_HEADER_SIZE + _ASSOCIATE.size
    items, _ = _items(dec, start, len(data), name, "item", decoders, allowed, top=True)
    _count(dec, items, ApplicationContextItem, start, name, True)
    context_kind = PresentationContextRQItem if is_rq else PresentationContextACItem
    _count(dec, items, context_kind, start, name, True, False)
    _count(dec, items, UserInformationItem, start, name, True)
    seen: set[int] = set()
    for item in items:
        if isinstance(item, context_kind):
            if item.presentation_context_id in seen:
                dec.report(
                    DiagnosticCode.DUPLICATE_ITEM,
                    f"presentation context ID {item.presentation_context_id} appears twice",
                    item.offset or start,
                    name,
                )
            seen.add(item.presentation_context_id)
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


def _fixed(dec: _Decoder, start: int, stop: int, size: int, path: str, kind: ItemType) -> bytes:
    """Check a fixed-size value: too short is malformed, longer is reported; return the extra."""
    what = kind.label.removesuffix(" sub-item")
    length = stop - start
    if length < size:
        raise _Malformed(f"{what} value is {length} byte(s); it needs {size}", offset=start)
    if length > size:
        dec.report(
            DiagnosticCode.ITEM_LENGTH_MISMATCH,
            f"{what} value is {length} byte(s), not {size}; the extra bytes are kept",
            start,
            path,
        )
    return dec.data[start + size : stop]


def _context_id(dec: _Decoder, context_id: int, offset: int, path: str) -> None:
    """Report a presentation context ID that is not odd (PS3.8 9.3.2.2: odd, 1-255)."""
    if not context_id & 1:
        dec.report(
            DiagnosticCode.CONTEXT_ID_INVALID,
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
    _count(dec, subs, AbstractSyntaxSubItem, pos, path, True)
    _count(dec, subs, TransferSyntaxSubItem, pos, path, True, False)
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
    _count(dec, subs, TransferSyntaxSubItem, pos, path, accepted)
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
        _count(dec, subs, MaximumLengthSubItem, pos, path, True)
        _count(dec, subs, ImplementationClassUIDSubItem, pos, path, True)
        for kind in (
            AsynchronousOperationsWindowSubItem,
            ImplementationVersionNameSubItem,
            UserIdentityRQSubItem,
            UserIdentityACSubItem,
        ):
            _count(dec, subs, kind, pos, path, False)
        return UserInformationItem(tuple(subs), trailing, reserved, pos)

    return decode


def _maximum_length(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> MaximumLengthSubItem:
    """Decode a Maximum Length sub-item 0x51 (four bytes)."""
    extra = _fixed(dec, start, stop, _MAX_LENGTH.size, path, ItemType.MAXIMUM_LENGTH)
    (value,) = _MAX_LENGTH.unpack_from(dec.data, start)
    return MaximumLengthSubItem(value, extra, reserved, pos)


def _async_window(
    dec: _Decoder, reserved: int, pos: int, start: int, stop: int, path: str
) -> AsynchronousOperationsWindowSubItem:
    """Decode an Asynchronous Operations Window sub-item 0x53 (two two-byte counts)."""
    extra = _fixed(dec, start, stop, _ASYNC.size, path, ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW)
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
            DiagnosticCode.FIELD_LENGTH_MISMATCH,
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
    raw = bytes(dec.data[start:stop])
    value = raw.decode("latin-1")
    if not value:
        dec.report(DiagnosticCode.EMPTY_VALUE, "empty Implementation Version Name", start, path)
    elif len(value) > VR_RULES["SH"].max_length:
        dec.report(
            DiagnosticCode.VALUE_TOO_LONG,
            f"{len(value)} characters; at most {VR_RULES['SH'].max_length}",
            start,
            path,
        )
    if not value.isascii() or CONTROL_BYTES.search(raw):
        dec.report(
            DiagnosticCode.NON_ASCII,
            "control or non-ASCII characters (kept as Latin-1)",
            start,
            path,
        )
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
            DiagnosticCode.FIELD_LENGTH_MISMATCH,
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
            DiagnosticCode.FIELD_LENGTH_MISMATCH,
            f"secondary field length says {secondary_length} but {stop - secondary_start} "
            "byte(s) remain; the secondary field is read to the end of the item",
            primary_end,
            path,
        )
    identity_type = _coded(dec, UserIdentityType, kind, start, path, "user identity type")
    if response not in (0, 1):
        dec.report(
            DiagnosticCode.VALUE_OUT_OF_RANGE,
            f"positive response requested is {response}, not 0 or 1",
            start + 1,
            path,
        )
    primary = data[start + _UID_RQ.size : primary_end]
    secondary = data[secondary_start:stop]
    if not primary:
        dec.report(DiagnosticCode.EMPTY_VALUE, "empty primary field", start + 2, path)
    if kind == UserIdentityType.USERNAME_AND_PASSCODE and not secondary:
        dec.report(
            DiagnosticCode.EMPTY_VALUE, "user identity type 2 without a passcode", primary_end, path
        )
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
            DiagnosticCode.FIELD_LENGTH_MISMATCH,
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
            DiagnosticCode.PDU_LENGTH_MISMATCH,
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
    name = AAssociateRJ.name
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
    cls = AReleaseRQ if is_rq else AReleaseRP
    name = cls.name
    trailing = _fixed_body(dec, name)
    (reserved_1,) = _RELEASE.unpack_from(dec.data, PDU_HEADER_SIZE)
    dec.reserved(reserved_1, 6, f"{name} > reserved")
    return cls(reserved_1, trailing, reserved, declared, tuple(dec.diagnostics))


def _decode_abort(dec: _Decoder, reserved: int, declared: int | None) -> AAbort:
    """Decode an A-ABORT; the reason is significant only from the service provider."""
    name = AAbort.name
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

_RQ, _AC = PDUType.A_ASSOCIATE_RQ, PDUType.A_ASSOCIATE_AC
_PC_RQ_SUBS = CONTAINS[ItemType.PRESENTATION_CONTEXT_RQ]
_PC_AC_SUBS = CONTAINS[ItemType.PRESENTATION_CONTEXT_AC]
_USER_RQ_SUBS = allowed_in(ItemType.USER_INFORMATION, _RQ)
_USER_AC_SUBS = allowed_in(ItemType.USER_INFORMATION, _AC)

_BODIES: dict[int, Callable[[_Decoder, int, int | None], PDU]] = {
    PDUType.A_ASSOCIATE_RQ: lambda dec, r, d: _decode_associate(dec, r, d, True),
    PDUType.A_ASSOCIATE_AC: lambda dec, r, d: _decode_associate(dec, r, d, False),
    PDUType.A_ASSOCIATE_RJ: _decode_reject,
    PDUType.A_RELEASE_RQ: lambda dec, r, d: _decode_release(dec, r, d, True),
    PDUType.A_RELEASE_RP: lambda dec, r, d: _decode_release(dec, r, d, False),
    PDUType.A_ABORT: _decode_abort,
}
"""Every PDU type but P-DATA-TF (decoded on its own hot path) to its body decoder."""

_DECODERS: dict[int, _ItemDecoder] = {
    ItemType.APPLICATION_CONTEXT: _uid_item(ApplicationContextItem),
    ItemType.PRESENTATION_CONTEXT_RQ: _presentation_rq,
    ItemType.PRESENTATION_CONTEXT_AC: _presentation_ac,
    ItemType.ABSTRACT_SYNTAX: _uid_item(AbstractSyntaxSubItem),
    ItemType.TRANSFER_SYNTAX: _transfer_syntax(True),
    ItemType.USER_INFORMATION: _user_information(CONTAINS[ItemType.USER_INFORMATION]),
    ItemType.MAXIMUM_LENGTH: _maximum_length,
    ItemType.IMPLEMENTATION_CLASS_UID: _uid_item(ImplementationClassUIDSubItem),
    ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: _async_window,
    ItemType.SCP_SCU_ROLE_SELECTION: _role_selection,
    ItemType.IMPLEMENTATION_VERSION_NAME: _version_name,
    ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: _extended_negotiation,
    ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: _common_extended_negotiation,
    ItemType.USER_IDENTITY_RQ: _user_identity_rq,
    ItemType.USER_IDENTITY_AC: _user_identity_ac,
}
"""One decoder per item type, as the type is read on its own (either direction's sub-items)."""


def _level(types: Iterable[ItemType]) -> dict[int, _ItemDecoder]:
    """The decoders of ``types``, for the items that may stand at one level."""
    return {t: _DECODERS[t] for t in types}


_PC_DECODERS = _level(_PC_RQ_SUBS | _PC_AC_SUBS)
_PC_REJECTED_DECODERS = {**_PC_DECODERS, ItemType.TRANSFER_SYNTAX: _transfer_syntax(False)}
_USER_DECODERS = _level(CONTAINS[ItemType.USER_INFORMATION])
_RQ_DECODERS = {
    **_level(CONTAINS[_RQ] | CONTAINS[_AC]),
    ItemType.USER_INFORMATION: _user_information(_USER_RQ_SUBS),
}
_AC_DECODERS = {**_RQ_DECODERS, ItemType.USER_INFORMATION: _user_information(_USER_AC_SUBS)}
_ALL_KNOWN = frozenset(ItemType)


def decode_item(
    data: bytes | bytearray | memoryview, *, policy: Policy = LENIENT
) -> tuple[Any, tuple[Diagnostic, ...]]:
    """Decode one item or sub-item on its own (all of ``data``); return it and its diagnostics.

    The type code alone says what the item is (the codes of PS3.8 are distinct across levels),
    so this decodes any of 0x10-0x59 as it would inside a PDU, or keeps an unknown type.
    """
    dec = _Decoder(bytes(byte_view(data)), policy)
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
    item = _item(dec, item_type, reserved, 0, n, path, _DECODERS, _ALL_KNOWN)
    return item, tuple(dec.diagnostics)
