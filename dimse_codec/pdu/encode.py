"""Encode Upper Layer PDUs and their items: as received (preserving) or in the standard form.

A decoded value keeps every wire detail the standard form would lose (reserved bytes, declared
lengths, padded AE titles and UIDs, trailing bytes), so by default ``encode_pdu(decode_pdu(b))``
gives back ``b``. ``canonical=True`` writes PS3.8's form instead: lengths computed, reserved bytes
and MCH reserved bits zero, AE titles space-padded to 16 bytes, UIDs unpadded, trailing bytes
dropped. Kept raw bytes are written only while they still carry the value, so an edited field is
always encoded from its value. Only :class:`~dimse_codec.errors.DimseCodecError` is raised.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dimse_codec.errors import EncodeError, InvalidParameter, InvalidParameterType
from dimse_codec.pdu.decode import (
    _ABORT,
    _ASSOCIATE,
    _ASYNC,
    _ITEM_HEADER,
    _LENGTH,
    _MAX_LENGTH,
    _MCH_BITS,
    _PC_FIXED,
    _PDU_HEADER,
    _PDV,
    _PDV_HEADER,
    _REJECT,
    _ROLES,
    _UID_RQ,
    _ae_value,
    _uid_value,
)
from dimse_codec.pdu.items import (
    AbstractSyntaxSubItem,
    ApplicationContextItem,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PresentationContextACItem,
    PresentationContextRQItem,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UnknownItem,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserInformationItem,
)
from dimse_codec.pdu.pdus import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    UnknownPDU,
)

__all__ = ["encode_item", "encode_pdu"]


# --- fields ---------------------------------------------------------------------------------------


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


# --- items and sub-items ------------------------------------------------------------------------


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


# --- PDUs ---------------------------------------------------------------------------------------


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
        raise EncodeError(f"cannot encode a PDV: {exc}", path=PDataTF.name) from exc
    except (AttributeError, TypeError) as exc:
        raise InvalidParameterType(f"not a PDV item: {exc}", path=PDataTF.name) from exc
    parts[0] = _header(pdu, total, canonical, PDataTF.name)
    try:
        return b"".join(parts)
    except TypeError as exc:
        raise InvalidParameterType(
            f"PDV fragment is not bytes-like: {exc}", path=PDataTF.name
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


def encode_item(item: Any, *, canonical: bool = False) -> bytes:
    """Encode one item or sub-item with its header, as received or (``canonical``) standard."""
    with _field_types("item"):
        return _item_bytes(item, canonical, "item")
