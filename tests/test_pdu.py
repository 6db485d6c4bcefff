"""Upper Layer PDUs: pynetdicom's vectors, every diagnostic, framing limits, zero-copy P-DATA,
construct declarations against the fast path, and Hypothesis round trips, truncations and
mutations (only DimseCodecError, and whatever decodes re-encodes byte for byte)."""

from __future__ import annotations

import dataclasses
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pynetdicom import pdu as pyn_pdu
from pynetdicom import pdu_items as pyn_items
from pynetdicom.tests import encoded_pdu_items as vectors

from dimse_codec._wire import struct_of as struct_of_wire
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    PolicyViolation,
    TruncatedError,
)
from dimse_codec.pdu import (
    MCH_COMMAND,
    MCH_LAST,
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    AbstractSyntaxSubItem,
    ApplicationContextItem,
    AReleaseRP,
    AReleaseRQ,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    ItemType,
    MaximumLengthSubItem,
    PDataTF,
    PDUType,
    PresentationContextACItem,
    PresentationContextResult,
    PresentationContextRQItem,
    PresentationDataValueItem,
    RejectReasonACSE,
    RejectReasonPresentation,
    RejectReasonUser,
    RejectResult,
    RejectSource,
    Role,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UnknownItem,
    UnknownPDU,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    decode_item,
    decode_pdu,
    encode_item,
    encode_pdu,
    pdu_name,
    read_pdu_header,
)
from dimse_codec.pdu import structures as S
from dimse_codec.policy import IGNORED_BY_THE_STANDARD, STRICT, DiagnosticCode, Policy
from dimse_codec.strategies import pdus, quirky_pdus

P = D = DiagnosticCode
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


# --- helpers --------------------------------------------------------------------------------------


def item(item_type: int, value: bytes, reserved: int = 0, length: int | None = None) -> bytes:
    """Hand-build an item: header (with an optional wrong length) and value."""
    size = len(value) if length is None else length
    return struct.pack(">BBH", item_type, reserved, size) + value


def pdu(pdu_type: int, body: bytes, reserved: int = 0, length: int | None = None) -> bytes:
    """Hand-build a PDU: header (with an optional wrong length) and body."""
    size = len(body) if length is None else length
    return struct.pack(">BBL", pdu_type, reserved, size) + body


def associate_body(*items: bytes, called: bytes = b"ANY-SCP", calling: bytes = b"ECHOSCU") -> bytes:
    """A-ASSOCIATE fixed fields followed by the given items."""
    return (
        b"\x00\x01\x00\x00"
        + called.ljust(16, b" ")
        + calling.ljust(16, b" ")
        + bytes(32)
        + b"".join(items)
    )


def standard_user(*extra: bytes) -> bytes:
    """A User Information item with the two mandatory sub-items and any extra ones."""
    return item(
        0x50,
        item(0x51, struct.pack(">L", 16382)) + item(0x52, b"1.2.3.4") + b"".join(extra),
    )


APP = item(0x10, b"1.2.840.10008.3.1.1.1")
PC_RQ = item(
    0x20, b"\x01\x00\x00\x00" + item(0x30, VERIFICATION.encode()) + item(0x40, IMPLICIT.encode())
)
PC_AC = item(0x21, b"\x01\x00\x00\x00" + item(0x40, IMPLICIT.encode()))


def rq_bytes(*user_extra: bytes, items: tuple[bytes, ...] | None = None) -> bytes:
    """A standard A-ASSOCIATE-RQ with extra user-information sub-items (or other items)."""
    chosen = items if items is not None else (APP, PC_RQ, standard_user(*user_extra))
    return pdu(0x01, associate_body(*chosen))


def ac_bytes(*user_extra: bytes) -> bytes:
    """A standard A-ASSOCIATE-AC with extra user-information sub-items."""
    return pdu(0x02, associate_body(APP, PC_AC, standard_user(*user_extra)))


def codes(decoded: Any) -> list[str]:
    """The diagnostic codes of a decoded PDU, in order."""
    return [d.code.value for d in decoded.diagnostics]


def roundtrip(data: bytes, policy: Policy | None = None) -> PDU:
    """Decode, check the preserving re-encode is byte-exact, return the PDU."""
    decoded = decode_pdu(data) if policy is None else decode_pdu(data, policy=policy)
    assert encode_pdu(decoded) == data
    return decoded


# --- pynetdicom's vectors -------------------------------------------------------------------------

PDU_VECTORS: dict[str, tuple[type[Any], list[str]]] = {
    "a_associate_rq": (AAssociateRQ, []),
    "a_associate_rq_user_async": (AAssociateRQ, []),
    "a_associate_rq_role": (AAssociateRQ, []),
    "a_associate_rq_user_id_user_pass": (AAssociateRQ, ["RESERVED_NONZERO"]),
    "a_associate_rq_user_id_ext_neg": (AAssociateRQ, []),
    "a_associate_rq_com_ext_neg": (AAssociateAC, ["ITEM_NOT_ALLOWED"]),
    "a_associate_rq_called": (AAssociateRQ, ["AE_EMPTY"]),
    "a_associate_rq_calling": (AAssociateRQ, ["AE_EMPTY"]),
    "a_associate_ac": (AAssociateAC, []),
    "a_associate_ac_user": (AAssociateAC, ["PDU_LENGTH_MISMATCH"]),
    "a_associate_ac_zero_ts": (AAssociateAC, []),
    "a_associate_ac_no_ts": (AAssociateAC, []),
    "a_associate_rj": (AAssociateRJ, []),
    "a_release_rq": (AReleaseRQ, []),
    "a_release_rp": (AReleaseRP, []),
    "a_abort": (AAbort, []),
    "a_p_abort": (AAbort, []),
    "p_data_tf": (PDataTF, []),
    "p_data_tf_rq": (PDataTF, []),
    "p_data_tf_n_event_report": (PDataTF, []),
}

ITEM_VECTORS: dict[str, tuple[type[Any], list[str]]] = {
    "application_context": (ApplicationContextItem, []),
    "application_context_empty": (ApplicationContextItem, ["EMPTY_VALUE"]),
    "presentation_context_rq": (PresentationContextRQItem, []),
    "presentation_context_rq_utf8": (
        PresentationContextRQItem,
        ["RESERVED_NONZERO", "NON_ASCII", "UID_INVALID"],
    ),
    "presentation_context_ac": (PresentationContextACItem, []),
    "abstract_syntax": (AbstractSyntaxSubItem, []),
    "transfer_syntax": (TransferSyntaxSubItem, []),
    "user_information": (UserInformationItem, []),
    "maximum_length_received": (MaximumLengthSubItem, []),
    "implementation_class_uid": (ImplementationClassUIDSubItem, []),
    "implementation_class_uid_empty": (ImplementationClassUIDSubItem, ["EMPTY_VALUE"]),
    "implementation_version_name": (ImplementationVersionNameSubItem, []),
    "implementation_version_name_empty": (ImplementationVersionNameSubItem, ["EMPTY_VALUE"]),
    "asynchronous_window_ops": (AsynchronousOperationsWindowSubItem, []),
    "role_selection": (SCPSCURoleSelectionSubItem, []),
    "role_selection_odd": (SCPSCURoleSelectionSubItem, []),
    "extended_negotiation": (SOPClassExtendedNegotiationSubItem, []),
    "common_extended_negotiation": (SOPClassCommonExtendedNegotiationSubItem, []),
    "user_identity_rq_user_nopw": (UserIdentityRQSubItem, []),
    "user_identity_rq_user_pass": (UserIdentityRQSubItem, []),
    "user_identity_ac": (UserIdentityACSubItem, []),
}


def test_every_pynetdicom_pdu_and_item_vector_is_covered() -> None:
    names = {n for n in dir(vectors) if not n.startswith("_")}
    pdv_only = {"presentation_data", "presentation_data_value"}
    assert names - pdv_only == set(PDU_VECTORS) | set(ITEM_VECTORS)


@pytest.mark.parametrize("name", sorted(PDU_VECTORS))
def test_pdu_vector_decodes_and_reencodes_byte_exact(name: str) -> None:
    data = getattr(vectors, name)
    kind, expected = PDU_VECTORS[name]
    decoded = roundtrip(data)
    assert type(decoded) is kind
    assert codes(decoded) == expected


@pytest.mark.parametrize("name", sorted(ITEM_VECTORS))
def test_item_vector_decodes_and_reencodes_byte_exact(name: str) -> None:
    data = getattr(vectors, name)
    kind, expected = ITEM_VECTORS[name]
    decoded, diagnostics = decode_item(data)
    assert type(decoded) is kind
    assert [d.code.value for d in diagnostics] == expected
    assert encode_item(decoded) == data


def test_pdv_vectors_decode_inside_a_p_data_tf() -> None:
    data = pdu(0x04, vectors.presentation_data_value)
    decoded = roundtrip(data)
    assert isinstance(decoded, PDataTF)
    (pdv,) = decoded.presentation_data_value_items
    assert pdv.presentation_context_id == 1
    assert bytes([pdv.message_control_header]) + bytes(pdv.fragment) == vectors.presentation_data
    assert pdv.is_command and pdv.is_last


def test_a_associate_ac_user_keeps_the_wrong_pdu_length_and_canonical_fixes_it() -> None:
    decoded = roundtrip(vectors.a_associate_ac_user)
    assert decoded.pdu_length == 184
    assert len(vectors.a_associate_ac_user) - 6 == 198
    canonical = encode_pdu(decoded, canonical=True)
    assert canonical[:2] == vectors.a_associate_ac_user[:2]
    assert struct.unpack(">L", canonical[2:6])[0] == 198
    assert canonical[6:] == vectors.a_associate_ac_user[6:]
    diagnostic = decoded.diagnostics[0]
    assert (diagnostic.offset, diagnostic.path) == (2, "A-ASSOCIATE-AC")


def test_reserved_00_ff_00_is_kept_and_zeroed_only_in_canonical() -> None:
    data = vectors.a_associate_rq_user_id_user_pass
    decoded = roundtrip(data)
    assert isinstance(decoded, AAssociateRQ)
    context = decoded.presentation_contexts[0]
    assert (context.reserved_1, context.reserved_2, context.reserved_3) == (0, 0xFF, 0)
    canonical = encode_pdu(decoded, canonical=True)
    assert len(canonical) == len(data)
    assert [i for i in range(len(data)) if canonical[i] != data[i]] == [105]
    identity = decoded.user_information.user_identity
    assert isinstance(identity, UserIdentityRQSubItem)
    assert identity.user_identity_type is UserIdentityType.USERNAME_AND_PASSCODE
    assert identity.secondary_field == b"p4ssw0rd"
    assert "p4ssw0rd" not in repr(identity)


def test_all_space_ae_titles_decode_with_a_diagnostic() -> None:
    called = decode_pdu(vectors.a_associate_rq_called)
    calling = decode_pdu(vectors.a_associate_rq_calling)
    assert isinstance(called, AAssociateRQ) and isinstance(calling, AAssociateRQ)
    assert called.called_ae_title == "" and called.called_ae_title_raw is None
    assert calling.calling_ae_title == ""
    assert called.diagnostics[0].path == "A-ASSOCIATE-RQ > called AE title"
    assert calling.diagnostics[0].offset == 26
    with pytest.raises(PolicyViolation) as info:
        decode_pdu(vectors.a_associate_rq_called, policy=STRICT)
    assert info.value.code == "AE_EMPTY"


def test_rejected_contexts_with_empty_or_missing_transfer_syntax_round_trip() -> None:
    zero = decode_pdu(vectors.a_associate_ac_zero_ts)
    none = decode_pdu(vectors.a_associate_ac_no_ts)
    assert isinstance(zero, AAssociateAC) and isinstance(none, AAssociateAC)
    rejected = zero.presentation_contexts[1]
    assert rejected.result_reason is PresentationContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED
    assert rejected.transfer_syntax == ""
    assert [c.transfer_syntax for c in none.presentation_contexts][-1] is None
    assert encode_pdu(zero, canonical=True) == vectors.a_associate_ac_zero_ts


# --- agreement with pynetdicom --------------------------------------------------------------------


def our_view(value: Any) -> Any:
    """Our decoded PDU or item as plain data comparable with :func:`pyn_view`."""
    if isinstance(value, (AAssociateRQ, AAssociateAC)):
        return (
            value.protocol_version,
            value.called_ae_title,
            value.calling_ae_title,
            [our_view(i) for i in value.variable_items],
        )
    if isinstance(value, AAssociateRJ):
        return ("rj", value.result, value.source, value.reason_diag)
    if isinstance(value, AAbort):
        return ("abort", value.source, value.reason_diag)
    if isinstance(value, (AReleaseRQ, AReleaseRP)):
        return ("release",)
    if isinstance(value, PDataTF):
        return [
            (p.presentation_context_id, bytes([p.message_control_header]) + bytes(p.fragment))
            for p in value.presentation_data_value_items
        ]
    if isinstance(value, ApplicationContextItem):
        return ("context", value.application_context_name)
    if isinstance(value, PresentationContextRQItem):
        return (
            "pc",
            value.presentation_context_id,
            value.abstract_syntax,
            list(value.transfer_syntaxes),
        )
    if isinstance(value, PresentationContextACItem):
        return (
            "pc-ac",
            value.presentation_context_id,
            value.result_reason,
            value.transfer_syntax or None,
        )
    if isinstance(value, UserInformationItem):
        return ("user", [our_view(s) for s in value.sub_items])
    if isinstance(value, MaximumLengthSubItem):
        return ("max", value.maximum_length_received)
    if isinstance(value, ImplementationClassUIDSubItem):
        return ("class", value.implementation_class_uid)
    if isinstance(value, ImplementationVersionNameSubItem):
        return ("version", value.implementation_version_name)
    if isinstance(value, AsynchronousOperationsWindowSubItem):
        return (
            "async",
            value.maximum_number_operations_invoked,
            value.maximum_number_operations_performed,
        )
    if isinstance(value, SCPSCURoleSelectionSubItem):
        return ("role", value.sop_class_uid, value.scu_role, value.scp_role)
    if isinstance(value, SOPClassExtendedNegotiationSubItem):
        return ("ext", value.sop_class_uid, value.service_class_application_information)
    if isinstance(value, SOPClassCommonExtendedNegotiationSubItem):
        return (
            "common",
            value.sop_class_uid,
            value.service_class_uid,
            list(value.related_general_sop_class_uids),
        )
    if isinstance(value, UserIdentityRQSubItem):
        return (
            "id",
            value.user_identity_type,
            value.positive_response_requested,
            value.primary_field,
            value.secondary_field,
        )
    if isinstance(value, UserIdentityACSubItem):
        return ("id-ac", value.server_response)
    raise AssertionError(f"no view for {value!r}")


def pyn_view(value: Any) -> Any:
    """pynetdicom's decoded PDU or item as plain data comparable with :func:`our_view`."""
    if isinstance(value, (pyn_pdu.A_ASSOCIATE_RQ, pyn_pdu.A_ASSOCIATE_AC)):
        return (
            value.protocol_version,
            value.called_ae_title,
            value.calling_ae_title,
            [pyn_view(i) for i in value.variable_items],
        )
    if isinstance(value, pyn_pdu.A_ASSOCIATE_RJ):
        return ("rj", value.result, value.source, value.reason_diagnostic)
    if isinstance(value, pyn_pdu.A_ABORT_RQ):
        return ("abort", value.source, value.reason_diagnostic)
    if isinstance(value, (pyn_pdu.A_RELEASE_RQ, pyn_pdu.A_RELEASE_RP)):
        return ("release",)
    if isinstance(value, pyn_pdu.P_DATA_TF):
        return [
            (p.presentation_context_id, p.presentation_data_value)
            for p in value.presentation_data_value_items
        ]
    if isinstance(value, pyn_items.ApplicationContextItem):
        return ("context", value.application_context_name or "")
    if isinstance(value, pyn_items.PresentationContextItemRQ):
        return ("pc", value.context_id, value.abstract_syntax, list(value.transfer_syntax))
    if isinstance(value, pyn_items.PresentationContextItemAC):
        return ("pc-ac", value.context_id, value.result_reason, value.transfer_syntax)
    if isinstance(value, pyn_items.UserInformationItem):
        return ("user", [pyn_view(s) for s in value.user_data])
    if isinstance(value, pyn_items.MaximumLengthSubItem):
        return ("max", value.maximum_length_received)
    if isinstance(value, pyn_items.ImplementationClassUIDSubItem):
        return ("class", value.implementation_class_uid or "")
    if isinstance(value, pyn_items.ImplementationVersionNameSubItem):
        return ("version", value.implementation_version_name or "")
    if isinstance(value, pyn_items.AsynchronousOperationsWindowSubItem):
        return (
            "async",
            value.maximum_number_operations_invoked,
            value.maximum_number_operations_performed,
        )
    if isinstance(value, pyn_items.SCP_SCU_RoleSelectionSubItem):
        return ("role", value.sop_class_uid, value.scu_role, value.scp_role)
    if isinstance(value, pyn_items.SOPClassExtendedNegotiationSubItem):
        return ("ext", value.sop_class_uid, value.service_class_application_information)
    if isinstance(value, pyn_items.SOPClassCommonExtendedNegotiationSubItem):
        return (
            "common",
            value.sop_class_uid,
            value.service_class_uid,
            list(value.related_general_sop_class_identification),
        )
    if isinstance(value, pyn_items.UserIdentitySubItemRQ):
        return (
            "id",
            value.user_identity_type,
            value.positive_response_requested,
            value.primary_field,
            value.secondary_field,
        )
    if isinstance(value, pyn_items.UserIdentitySubItemAC):
        return ("id-ac", value.server_response)
    raise AssertionError(f"no view for {value!r}")


PYN_CLASSES = {
    0x01: pyn_pdu.A_ASSOCIATE_RQ,
    0x02: pyn_pdu.A_ASSOCIATE_AC,
    0x03: pyn_pdu.A_ASSOCIATE_RJ,
    0x04: pyn_pdu.P_DATA_TF,
    0x05: pyn_pdu.A_RELEASE_RQ,
    0x06: pyn_pdu.A_RELEASE_RP,
    0x07: pyn_pdu.A_ABORT_RQ,
}


def pyn_decode(data: bytes) -> Any:
    """Decode with pynetdicom's PDU class for the type byte."""
    decoded = PYN_CLASSES[data[0]]()
    decoded.decode(data)
    return decoded


PYN_DECODABLE = sorted(set(PDU_VECTORS) - {"a_associate_rq_called", "a_associate_rq_calling"})


@pytest.mark.parametrize("name", PYN_DECODABLE)
def test_values_match_pynetdicoms_decode_of_the_same_bytes(name: str) -> None:
    data = getattr(vectors, name)
    assert our_view(decode_pdu(data)) == pyn_view(pyn_decode(data))


@pytest.mark.parametrize("name", sorted(set(ITEM_VECTORS) - {"presentation_context_rq_utf8"}))
def test_item_values_match_pynetdicom(name: str) -> None:
    data = getattr(vectors, name)
    ours, _ = decode_item(data)
    kind = {
        0x10: pyn_items.ApplicationContextItem,
        0x20: pyn_items.PresentationContextItemRQ,
        0x21: pyn_items.PresentationContextItemAC,
        0x30: pyn_items.AbstractSyntaxSubItem,
        0x40: pyn_items.TransferSyntaxSubItem,
        0x50: pyn_items.UserInformationItem,
        0x51: pyn_items.MaximumLengthSubItem,
        0x52: pyn_items.ImplementationClassUIDSubItem,
        0x53: pyn_items.AsynchronousOperationsWindowSubItem,
        0x54: pyn_items.SCP_SCU_RoleSelectionSubItem,
        0x55: pyn_items.ImplementationVersionNameSubItem,
        0x56: pyn_items.SOPClassExtendedNegotiationSubItem,
        0x57: pyn_items.SOPClassCommonExtendedNegotiationSubItem,
        0x58: pyn_items.UserIdentitySubItemRQ,
        0x59: pyn_items.UserIdentitySubItemAC,
    }[data[0]]
    theirs = kind()
    theirs.decode(data)
    if data[0] == 0x30:
        assert ours.abstract_syntax_name == theirs.abstract_syntax
    elif data[0] == 0x40:
        assert ours.transfer_syntax_name == theirs.transfer_syntax
    else:
        assert our_view(ours) == pyn_view(theirs)


@pytest.mark.parametrize("name", PYN_DECODABLE)
def test_canonical_encoding_decodes_in_pynetdicom_to_the_same_values(name: str) -> None:
    ours = decode_pdu(getattr(vectors, name))
    canonical = encode_pdu(ours, canonical=True)
    assert pyn_view(pyn_decode(canonical)) == our_view(ours)
    assert our_view(decode_pdu(canonical)) == our_view(ours)
    assert codes(decode_pdu(canonical)) in ([], ["ITEM_NOT_ALLOWED"])


def test_unknown_items_that_pynetdicom_rejects_are_kept() -> None:
    extra = item(0x5A, b"vendor data")
    data = rq_bytes(extra, items=(APP, PC_RQ, item(0x60, b"\x01\x02\x03"), standard_user(extra)))
    with pytest.raises(KeyError):
        pyn_decode(data)
    decoded = roundtrip(data)
    assert isinstance(decoded, AAssociateRQ)
    assert decoded.unknown_items == (UnknownItem(0x60, b"\x01\x02\x03"),)
    assert decoded.user_information is not None
    assert decoded.user_information.unknown_sub_items == (UnknownItem(0x5A, b"vendor data"),)
    assert codes(decoded) == ["UNKNOWN_ITEM", "UNKNOWN_ITEM"]
    assert decoded.diagnostics[0].path == "A-ASSOCIATE-RQ > item 0x60 @149"
    assert decoded.diagnostics[1].path.startswith(
        "A-ASSOCIATE-RQ > item 0x50 @156 > sub-item 0x5A @"
    )
    assert decoded.unknown_items[0].offset == 149
    assert encode_pdu(decoded, canonical=True) == data


# --- diagnostics, one case each -------------------------------------------------------------------


def single(data: bytes, code: str, path: str | None = None) -> PDU:
    """Decode leniently expecting exactly one diagnostic, check strict raises it, round-trip."""
    decoded = roundtrip(data)
    assert codes(decoded) == [code]
    if path is not None:
        assert decoded.diagnostics[0].path == path
    strict = STRICT
    if DiagnosticCode(code) in IGNORED_BY_THE_STANDARD:
        # PS3.8 says not to test it: strict reports it, and raises only when asked to
        assert codes(decode_pdu(data, policy=STRICT)) == [code]
        strict = Policy(strict=True, raise_on=frozenset({DiagnosticCode(code)}))
    with pytest.raises(PolicyViolation) as info:
        decode_pdu(data, policy=strict)
    assert info.value.code == code
    assert info.value.path == decoded.diagnostics[0].path
    assert info.value.offset == decoded.diagnostics[0].offset
    allowed = decode_pdu(data, policy=Policy(strict=True, allow=frozenset({code})))
    assert codes(allowed) == [code]
    return decoded


def user_sub(decoded: PDU, index: int = 2) -> Any:
    """The ``index``-th sub-item of the decoded PDU's User Information item."""
    assert isinstance(decoded, (AAssociateRQ, AAssociateAC))
    assert decoded.user_information is not None
    return decoded.user_information.sub_items[index]


def test_maximum_length_with_extra_bytes_is_reported_and_kept() -> None:
    user = item(0x50, item(0x51, struct.pack(">L", 16384) + b"\xab\xcd") + item(0x52, b"1.2.3.4"))
    decoded = single(
        rq_bytes(items=(APP, PC_RQ, user)),
        "ITEM_LENGTH_MISMATCH",
        "A-ASSOCIATE-RQ > item 0x50 @149 > sub-item 0x51 @153",
    )
    assert user_sub(decoded, 0) == MaximumLengthSubItem(16384, b"\xab\xcd")
    assert decoded.diagnostics[0].offset == 157
    assert decoded.user_information.maximum_length == 16384
    standard = item(0x50, item(0x51, struct.pack(">L", 16384)) + item(0x52, b"1.2.3.4"))
    assert encode_pdu(decoded, canonical=True) == rq_bytes(items=(APP, PC_RQ, standard))


def test_maximum_length_too_short_is_kept_as_an_unknown_item() -> None:
    user = item(0x50, item(0x51, b"\x40\x00") + item(0x52, b"1.2.3.4"))
    decoded = roundtrip(rq_bytes(items=(APP, PC_RQ, user)))
    assert codes(decoded) == ["ITEM_MALFORMED", "MISSING_ITEM"]
    assert user_sub(decoded, 0) == UnknownItem(0x51, b"\x40\x00")
    assert decoded.user_information.maximum_length is None


def test_role_selection_uid_length_mismatch() -> None:
    value = struct.pack(">H", 30) + CT.encode() + b"\x00\x01"
    decoded = single(rq_bytes(item(0x54, value)), "FIELD_LENGTH_MISMATCH")
    sub = user_sub(decoded)
    assert sub == SCPSCURoleSelectionSubItem(CT, Role.NON_SUPPORT, Role.SUPPORT, uid_length=30)
    assert re.fullmatch(
        r"A-ASSOCIATE-RQ > item 0x50 @\d+ > sub-item 0x54 @\d+", decoded.diagnostics[0].path
    )
    fixed = encode_pdu(decoded, canonical=True)
    assert user_sub(decode_pdu(fixed)).uid_length is None


def test_role_value_2_is_kept_as_int() -> None:
    value = struct.pack(">H", len(CT)) + CT.encode() + b"\x02\x01"
    decoded = single(rq_bytes(item(0x54, value)), "VALUE_OUT_OF_RANGE")
    sub = user_sub(decoded)
    assert sub.scu_role == 2 and type(sub.scu_role) is int
    assert sub.scp_role is Role.SUPPORT


def test_user_identity_secondary_length_mismatch() -> None:
    value = b"\x02\x01" + struct.pack(">H", 4) + b"user" + struct.pack(">H", 9) + b"pass"
    decoded = single(rq_bytes(item(0x58, value)), "FIELD_LENGTH_MISMATCH")
    sub = user_sub(decoded)
    assert (sub.primary_field, sub.secondary_field, sub.secondary_field_length) == (
        b"user",
        b"pass",
        9,
    )


def test_user_identity_primary_overrun_is_malformed() -> None:
    value = b"\x01\x00" + struct.pack(">H", 40) + b"user"
    decoded = single(rq_bytes(item(0x58, value)), "ITEM_MALFORMED")
    assert user_sub(decoded) == UnknownItem(0x58, value)


def test_user_identity_unknown_type_and_response_flag() -> None:
    value = b"\x09\x05" + struct.pack(">H", 4) + b"user" + b"\x00\x00"
    decoded = roundtrip(rq_bytes(item(0x58, value)))
    assert codes(decoded) == ["VALUE_OUT_OF_RANGE", "VALUE_OUT_OF_RANGE"]
    assert user_sub(decoded).user_identity_type == 9


def test_user_identity_ac_length_mismatch() -> None:
    value = struct.pack(">H", 2) + b"token"
    decoded = single(ac_bytes(item(0x59, value)), "FIELD_LENGTH_MISMATCH")
    assert user_sub(decoded) == UserIdentityACSubItem(b"token", 2)


def test_common_extended_negotiation_related_list_length_mismatch() -> None:
    related = struct.pack(">H", 5) + b"1.2.3"
    value = (
        struct.pack(">H", len(CT))
        + CT.encode()
        + struct.pack(">H", 17)
        + b"1.2.840.10008.4.2"
        + struct.pack(">H", 99)
        + related
    )
    decoded = single(rq_bytes(item(0x57, value)), "FIELD_LENGTH_MISMATCH")
    sub = user_sub(decoded)
    assert sub.related_general_sop_class_uids == ("1.2.3",)
    assert sub.related_general_sop_class_identification_length == 99


def test_extended_negotiation_shorter_than_its_uid_is_malformed() -> None:
    value = struct.pack(">H", 60) + b"1.2.3"
    decoded = single(rq_bytes(item(0x56, value)), "ITEM_MALFORMED")
    assert user_sub(decoded) == UnknownItem(0x56, value)


def test_nul_padded_item_uid_is_tolerated_and_kept() -> None:
    pc = item(
        0x20,
        b"\x01\x00\x00\x00" + item(0x30, b"1.2.840.10008.1.1\x00") + item(0x40, IMPLICIT.encode()),
    )
    decoded = single(rq_bytes(items=(APP, pc, standard_user())), "UID_NUL_PADDED")
    context = decoded.presentation_contexts[0]
    assert context.abstract_syntax == VERIFICATION
    assert context.sub_items[0].raw == b"1.2.840.10008.1.1\x00"
    canonical = decode_pdu(encode_pdu(decoded, canonical=True))
    assert codes(canonical) == []
    assert canonical.presentation_contexts[0].sub_items[0].raw is None


def test_space_padded_uid_and_bad_uids() -> None:
    user = item(0x50, item(0x51, struct.pack(">L", 0)) + item(0x52, b"1.2.3 "))
    decoded = single(rq_bytes(items=(APP, PC_RQ, user)), "UID_SPACE_PADDED")
    assert user_sub(decoded, 1).implementation_class_uid == "1.2.3"
    single(rq_bytes(item(0x54, struct.pack(">H", 4) + b"1.02\x00\x01")), "UID_INVALID")
    long_uid = ("1." * 40 + "1").encode()
    single(
        rq_bytes(item(0x54, struct.pack(">H", len(long_uid)) + long_uid + b"\x00\x01")),
        "UID_TOO_LONG",
    )


def test_nul_padded_and_odd_ae_titles() -> None:
    data = pdu(0x01, associate_body(APP, PC_RQ, standard_user(), called=b"ANY-SCP\x00\x00"))
    decoded = single(data, "AE_NUL_PADDED", "A-ASSOCIATE-RQ > called AE title")
    assert decoded.called_ae_title == "ANY-SCP"
    assert decoded.called_ae_title_raw == b"ANY-SCP\x00\x00".ljust(16, b" ")
    lead = roundtrip(pdu(0x01, associate_body(APP, PC_RQ, standard_user(), calling=b"  LEAD")))
    assert codes(lead) == []
    assert lead.calling_ae_title == "LEAD"
    assert encode_pdu(lead, canonical=True)[26:42] == b"LEAD".ljust(16)
    single(pdu(0x01, associate_body(APP, PC_RQ, standard_user(), called=b"A\\B")), "AE_BACKSLASH")
    single(pdu(0x01, associate_body(APP, PC_RQ, standard_user(), called=b"A\x07B")), "NON_ASCII")


def test_ac_echo_fields_are_not_tested() -> None:
    data = pdu(0x02, associate_body(APP, PC_AC, standard_user(), called=b"\x00" * 16))
    data = data[:42] + b"\xee" * 32 + data[74:]
    decoded = roundtrip(data, STRICT)
    assert isinstance(decoded, AAssociateAC)
    assert decoded.reserved_2 == b"\xee" * 32
    assert encode_pdu(decoded, canonical=True)[42:74] == bytes(32)


def test_protocol_version_without_bit_0() -> None:
    data = rq_bytes()
    decoded = single(data[:6] + b"\x00\x02" + data[8:], "PROTOCOL_VERSION")
    assert decoded.protocol_version == 2


def test_reserved_bytes_everywhere_are_reported_and_kept() -> None:
    data = bytearray(rq_bytes())
    data[1] = 0x10
    decoded = single(bytes(data), "RESERVED_NONZERO", "A-ASSOCIATE-RQ")
    assert decoded.reserved == 0x10
    assert encode_pdu(decoded, canonical=True)[1] == 0
    single(
        rq_bytes(items=(item(0x10, b"1.2.840.10008.3.1.1.1", reserved=3), PC_RQ, standard_user())),
        "RESERVED_NONZERO",
    )
    single(pdu(0x05, b"\x00\x00\x00\x01"), "RESERVED_NONZERO", "A-RELEASE-RQ > reserved")
    single(pdu(0x07, b"\x01\x00\x00\x00"), "RESERVED_NONZERO")


def test_even_presentation_context_id() -> None:
    pc = item(
        0x20,
        b"\x02\x00\x00\x00" + item(0x30, VERIFICATION.encode()) + item(0x40, IMPLICIT.encode()),
    )
    decoded = single(rq_bytes(items=(APP, pc, standard_user())), "CONTEXT_ID_INVALID")
    assert decoded.presentation_contexts[0].presentation_context_id == 2


def test_missing_duplicate_and_misplaced_items() -> None:
    decoded = roundtrip(rq_bytes(items=(PC_RQ, PC_RQ, standard_user(), standard_user())))
    assert codes(decoded) == ["MISSING_ITEM", "DUPLICATE_ITEM", "DUPLICATE_ITEM"]
    single(rq_bytes(items=(APP, PC_AC, PC_RQ, standard_user())), "ITEM_NOT_ALLOWED")
    single(rq_bytes(item(0x59, b"\x00\x00")), "ITEM_NOT_ALLOWED")
    single(rq_bytes(item(0x51, struct.pack(">L", 1))), "DUPLICATE_ITEM")
    no_ts = item(0x20, b"\x01\x00\x00\x00" + item(0x30, VERIFICATION.encode()))
    single(rq_bytes(items=(APP, no_ts, standard_user())), "MISSING_ITEM")
    misplaced = item(0x51, struct.pack(">L", 1))
    decoded = roundtrip(rq_bytes(items=(APP, PC_RQ, misplaced, standard_user())))
    assert codes(decoded) == ["ITEM_NOT_ALLOWED"]
    assert decoded.unknown_items == (UnknownItem(0x51, struct.pack(">L", 1)),)


def test_duplicate_presentation_context_ids() -> None:
    decoded = single(rq_bytes(items=(APP, PC_RQ, PC_RQ, standard_user())), "DUPLICATE_ITEM")
    assert decoded.diagnostics[0].offset == 149
    assert "presentation context ID 1" in decoded.diagnostics[0].message


def test_decode_item_needs_exactly_one_item() -> None:
    with pytest.raises(TruncatedError):
        decode_item(APP[:-1])
    with pytest.raises(TruncatedError):
        decode_item(b"\x10\x00")
    with pytest.raises(DecodeError):
        decode_item(APP + b"\x00")


def test_sub_item_overrunning_its_item_is_kept_as_trailing_bytes() -> None:
    user = item(
        0x50, item(0x51, struct.pack(">L", 1)) + item(0x52, b"1.2.3.4") + b"\x55\x00\x00\x20ab"
    )
    decoded = single(rq_bytes(items=(APP, PC_RQ, user)), "ITEM_LENGTH_MISMATCH")
    assert decoded.user_information.trailing == b"\x55\x00\x00\x20ab"
    canonical = decode_pdu(encode_pdu(decoded, canonical=True))
    assert codes(canonical) == [] and canonical.user_information.trailing == b""


def test_top_level_item_overrun_is_truncation() -> None:
    data = rq_bytes()
    cut = data[:-3]
    with pytest.raises(TruncatedError) as info:
        decode_pdu(pdu(0x01, cut[6:]))
    assert info.value.path == "A-ASSOCIATE-RQ"
    assert info.value.offset is not None and info.value.offset > 74


def test_reject_codes_known_and_unknown() -> None:
    decoded = roundtrip(vectors.a_associate_rj)
    assert isinstance(decoded, AAssociateRJ)
    assert decoded.result is RejectResult.REJECTED_PERMANENT
    assert decoded.source is RejectSource.SERVICE_USER
    assert decoded.reason_diag is RejectReasonUser.NO_REASON_GIVEN
    acse = decode_pdu(pdu(0x03, b"\x00\x02\x02\x02"))
    assert acse.reason_diag is RejectReasonACSE.PROTOCOL_VERSION_NOT_SUPPORTED
    pres = decode_pdu(pdu(0x03, b"\x00\x01\x03\x02"))
    assert pres.reason_diag is RejectReasonPresentation.LOCAL_LIMIT_EXCEEDED
    odd = roundtrip(pdu(0x03, b"\x00\x09\x07\x05"))
    assert codes(odd) == ["VALUE_OUT_OF_RANGE", "VALUE_OUT_OF_RANGE"]
    assert (odd.result, odd.source, odd.reason_diag) == (9, 7, 5)
    assert type(odd.result) is int
    single(pdu(0x03, b"\x00\x01\x01\x05"), "VALUE_OUT_OF_RANGE", "A-ASSOCIATE-RJ > reason/diag.")


def test_abort_codes_known_and_unknown() -> None:
    decoded = roundtrip(vectors.a_p_abort)
    assert isinstance(decoded, AAbort)
    assert decoded.source is AbortSource.SERVICE_PROVIDER
    assert decoded.reason_diag is AbortReason.UNRECOGNIZED_PDU_PARAMETER
    single(pdu(0x07, b"\x00\x00\x01\x00"), "VALUE_OUT_OF_RANGE", "A-ABORT > source")
    single(pdu(0x07, b"\x00\x00\x02\x03"), "VALUE_OUT_OF_RANGE", "A-ABORT > reason/diag.")
    user = roundtrip(pdu(0x07, b"\x00\x00\x00\x09"), STRICT)
    assert user.reason_diag == 9


def test_fixed_size_pdus_with_extra_bytes_and_short_lengths() -> None:
    decoded = single(pdu(0x06, bytes(6)), "PDU_LENGTH_MISMATCH")
    assert decoded.trailing == b"\x00\x00"
    assert encode_pdu(decoded, canonical=True) == pdu(0x06, bytes(4))
    short = roundtrip(pdu(0x05, bytes(4), length=2))
    assert codes(short) == ["PDU_LENGTH_MISMATCH"]
    assert short.pdu_length == 2
    with pytest.raises(TruncatedError):
        decode_pdu(pdu(0x07, bytes(3)))


def test_unknown_pdu_type_is_kept() -> None:
    decoded = single(pdu(0x09, b"\x01\x02\x03"), "UNKNOWN_PDU_TYPE", "PDU 0x09")
    assert decoded == UnknownPDU(0x09, b"\x01\x02\x03")


# --- P-DATA-TF ------------------------------------------------------------------------------------


def pdv(context_id: int, mch: int, fragment: bytes) -> bytes:
    """Hand-build a PDV item."""
    return struct.pack(">LBB", len(fragment) + 2, context_id, mch) + fragment


def test_p_data_fragments_are_zero_copy_views_of_the_input() -> None:
    data = pdu(0x04, pdv(1, 0x03, b"cmd" * 10) + pdv(1, 0x00, b"x" * 1000) + pdv(1, 0x02, b"end"))
    decoded = roundtrip(data)
    assert isinstance(decoded, PDataTF)
    items = decoded.presentation_data_value_items
    assert [p.offset for p in items] == [6, 42, 1048]
    for p in items:
        assert isinstance(p.fragment, memoryview)
        assert p.fragment.obj is data
    assert [(p.is_command, p.is_last) for p in items] == [
        (True, True),
        (False, False),
        (False, True),
    ]
    assert bytes(items[1].fragment) == b"x" * 1000
    buffer = bytearray(data)
    from_bytearray = decode_pdu(buffer)
    assert from_bytearray.presentation_data_value_items[0].fragment.obj is buffer
    assert decode_pdu(memoryview(data)) == decoded


def test_p_data_mch_reserved_bits_and_even_context_are_kept() -> None:
    decoded = single(pdu(0x04, pdv(1, 0x83, b"abc")), "MCH_RESERVED_BITS", "P-DATA-TF > PDV @6")
    assert decoded.presentation_data_value_items[0].message_control_header == 0x83
    assert encode_pdu(decoded, canonical=True) == pdu(0x04, pdv(1, 0x03, b"abc"))
    even = single(pdu(0x04, pdv(2, 0x03, b"abc")), "CONTEXT_ID_INVALID")
    assert even.diagnostics[0].offset == 10


def test_p_data_problems() -> None:
    single(pdu(0x04, b""), "NO_PDV")
    with pytest.raises(DecodeError) as info:
        decode_pdu(pdu(0x04, struct.pack(">LB", 1, 1)))
    assert not isinstance(info.value, TruncatedError)
    with pytest.raises(TruncatedError) as cut:
        decode_pdu(pdu(0x04, pdv(1, 3, b"abcdef")[:-1]))
    assert cut.value.path == "P-DATA-TF > PDV @6"
    with pytest.raises(TruncatedError):
        decode_pdu(pdu(0x04, pdv(1, 3, b"abc") + b"\x00\x00"))
    decoded = roundtrip(pdu(0x04, pdv(1, 3, b"abc") + pdv(3, 2, b"d"), length=5))
    assert codes(decoded) == ["PDU_LENGTH_MISMATCH"]


def test_p_data_encode_from_values() -> None:
    value = PDataTF(
        (
            PresentationDataValueItem(1, MCH_COMMAND | MCH_LAST, b"\x01\x02"),
            PresentationDataValueItem(1, MCH_LAST, memoryview(b"payload")),
        )
    )
    data = encode_pdu(value)
    assert data == pdu(0x04, pdv(1, 3, b"\x01\x02") + pdv(1, 2, b"payload"))
    assert decode_pdu(data) == value


# --- framing and limits ---------------------------------------------------------------------------


def test_read_pdu_header() -> None:
    assert read_pdu_header(vectors.a_associate_rq) == (1, 209)
    assert read_pdu_header(vectors.p_data_tf[:6]) == (4, 84)
    with pytest.raises(TruncatedError):
        read_pdu_header(b"\x04\x00\x00")
    with pytest.raises(LimitExceeded) as info:
        read_pdu_header(b"\x04\x00\xff\xff\xff\xff", max_pdu_length=16384)
    assert info.value.offset == 2
    assert read_pdu_header(b"\x04\x00\xff\xff\xff\xff", max_pdu_length=0) == (4, 0xFFFFFFFF)


def test_max_pdu_length_cap_is_checked_before_anything_else() -> None:
    data = pdu(0x04, pdv(1, 3, b"x" * 100))
    assert decode_pdu(data, max_pdu_length=106) is not None
    with pytest.raises(LimitExceeded):
        decode_pdu(data, max_pdu_length=105)
    with pytest.raises(LimitExceeded):
        decode_pdu(b"\x04\x00\xff\xff\xff\xff", max_pdu_length=1 << 20)


def test_huge_declared_length_without_a_cap_is_truncation_not_allocation() -> None:
    with pytest.raises(TruncatedError) as info:
        decode_pdu(b"\x04\x00\xff\xff\xff\xff" + pdv(1, 3, b"ab"))
    assert "4294967295" in info.value.message
    with pytest.raises(TruncatedError):
        decode_pdu(b"\x01\x00")


def test_wrong_input_type() -> None:
    with pytest.raises(InvalidParameterType):
        decode_pdu("text")


# --- encoding from values and encode errors -------------------------------------------------------


def standard_rq() -> AAssociateRQ:
    return AAssociateRQ(
        "ANY-SCP",
        "ECHOSCU",
        (
            ApplicationContextItem(),
            PresentationContextRQItem.build(1, VERIFICATION, (IMPLICIT,)),
            UserInformationItem(
                (MaximumLengthSubItem(16382), ImplementationClassUIDSubItem("1.2.3.4"))
            ),
        ),
    )


def test_values_encode_to_the_hand_built_bytes() -> None:
    assert encode_pdu(standard_rq()) == rq_bytes()
    assert decode_pdu(rq_bytes()) == standard_rq()
    ac = AAssociateAC(
        "ANY-SCP",
        "ECHOSCU",
        (
            ApplicationContextItem(),
            PresentationContextACItem.build(1, PresentationContextResult.ACCEPTANCE, IMPLICIT),
            UserInformationItem(
                (MaximumLengthSubItem(16382), ImplementationClassUIDSubItem("1.2.3.4"))
            ),
        ),
    )
    assert encode_pdu(ac) == ac_bytes()
    assert encode_pdu(AAbort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU)) == pdu(
        7, b"\x00\x00\x02\x02"
    )
    assert encode_pdu(AReleaseRQ()) == vectors.a_release_rq


def test_edited_values_are_encoded_even_over_kept_raw_bytes() -> None:
    decoded = decode_pdu(pdu(0x01, associate_body(APP, PC_RQ, standard_user(), called=b"  OLD")))
    assert isinstance(decoded, AAssociateRQ)
    edited = dataclasses.replace(decoded, called_ae_title="NEW")
    assert encode_pdu(edited)[10:26] == b"NEW".ljust(16)


def test_encode_errors() -> None:
    with pytest.raises(EncodeError):
        encode_pdu(dataclasses.replace(standard_rq(), called_ae_title="X" * 17))
    with pytest.raises(EncodeError):
        encode_pdu(dataclasses.replace(standard_rq(), calling_ae_title="Ω"))
    with pytest.raises(EncodeError):
        encode_pdu(AAbort(source=300))
    with pytest.raises(EncodeError):
        encode_pdu(dataclasses.replace(standard_rq(), reserved_2=b"short"))
    with pytest.raises(EncodeError):
        encode_item(ImplementationVersionNameSubItem("x" * 70000))
    with pytest.raises(EncodeError):
        encode_pdu(PDataTF((PresentationDataValueItem(256, 0, b""),)))
    with pytest.raises(InvalidParameterType):
        encode_pdu(object())
    with pytest.raises(InvalidParameterType):
        encode_pdu(AAssociateRQ("A", "B", (object(),)))
    with pytest.raises(InvalidParameterType):
        encode_pdu(AAssociateRQ("A", "B", (UserInformationItem((UnknownItem(0x5A, "text"),)),)))
    with pytest.raises(InvalidParameterType):
        encode_pdu(AAssociateRQ(b"A", "B"))
    with pytest.raises(InvalidParameter):
        encode_item(UserIdentityACSubItem(-1))


# --- construct declarations and the derived fast path ---------------------------------------------

FIXED = [
    S.PDU_HEADER,
    S.ITEM_HEADER,
    S.PDV_HEADER,
    S.ASSOCIATE_FIXED,
    S.REJECT_BODY,
    S.RELEASE_BODY,
    S.ABORT_BODY,
    S.PRESENTATION_CONTEXT_FIXED,
    S.MAXIMUM_LENGTH,
    S.ASYNC_WINDOW,
    S.LENGTH_PREFIX,
    S.ROLES,
    S.USER_IDENTITY_RQ_FIXED,
]


@pytest.mark.parametrize("declaration", FIXED)
@settings(max_examples=30)
@given(data=st.data())
def test_derived_struct_agrees_with_construct(declaration: Any, data: st.DataObject) -> None:
    fast = S.struct_of(declaration)
    assert fast.size == declaration.sizeof()
    raw = data.draw(st.binary(min_size=fast.size, max_size=fast.size))
    parsed = declaration.parse(raw)
    assert list(fast.unpack(raw)) == [parsed[sub.name] for sub in declaration.subcons]
    assert declaration.build(parsed) == raw


def test_struct_of_refuses_variable_fields() -> None:
    with pytest.raises(TypeError):
        S.struct_of(S.ITEM_GRAMMAR)


@pytest.mark.parametrize("name", sorted(PDU_VECTORS))
def test_reference_grammar_splits_items_as_the_decoder_does(name: str) -> None:
    data = getattr(vectors, name)
    parsed = S.PDU_GRAMMAR.parse(data)
    decoded = decode_pdu(data)
    assert parsed.pdu_type == decoded.pdu_type
    if isinstance(decoded, (AAssociateRQ, AAssociateAC)):
        body = data[74:]
        grammar_items = []
        while body:
            one = S.ITEM_GRAMMAR.parse(body)
            grammar_items.append((one.item_type, one.value))
            body = body[4 + one.item_length :]
        assert grammar_items == [(i.item_type, encode_item(i)[4:]) for i in decoded.variable_items]


@pytest.mark.parametrize(
    "name",
    [
        "role_selection",
        "role_selection_odd",
        "user_identity_rq_user_pass",
        "user_identity_ac",
        "common_extended_negotiation",
    ],
)
def test_reference_grammars_agree_with_sub_item_decoders(name: str) -> None:
    data = getattr(vectors, name)
    decoded, _ = decode_item(data)
    value = data[4:]
    if isinstance(decoded, SCPSCURoleSelectionSubItem):
        parsed = S.ROLE_SELECTION_GRAMMAR.parse(value)
        assert (parsed.sop_class_uid.decode(), parsed.scu_role, parsed.scp_role) == (
            decoded.sop_class_uid,
            decoded.scu_role,
            decoded.scp_role,
        )
    elif isinstance(decoded, UserIdentityRQSubItem):
        parsed = S.USER_IDENTITY_RQ_GRAMMAR.parse(value)
        assert (parsed.primary_field, parsed.secondary_field) == (
            decoded.primary_field,
            decoded.secondary_field,
        )
    elif isinstance(decoded, UserIdentityACSubItem):
        assert S.USER_IDENTITY_AC_GRAMMAR.parse(value).server_response == decoded.server_response
    else:
        parsed = S.COMMON_EXT_NEG_GRAMMAR.parse(value)
        related = [u.decode() for u in parsed.related_general_sop_class_identification]
        assert related == list(decoded.related_general_sop_class_uids)


# --- Hypothesis round trips (strategies from dimse_codec.strategies) ------------------------------

HEALTH = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@HEALTH
@given(pdus())
def test_generated_valid_pdus_round_trip_exactly(value: PDU) -> None:
    data = encode_pdu(value)
    assert encode_pdu(value, canonical=True) == data
    decoded = decode_pdu(data, policy=STRICT)
    assert decoded == value
    assert encode_pdu(decoded) == data
    assert read_pdu_header(data) == (value.pdu_type, len(data) - 6)


@HEALTH
@given(quirky_pdus())
def test_generated_quirky_pdus_keep_every_wire_detail(value: PDU) -> None:
    data = encode_pdu(value)
    decoded = decode_pdu(data)
    assert decoded == value
    assert encode_pdu(decoded) == data
    canonical = encode_pdu(decoded, canonical=True)
    again = decode_pdu(canonical)
    assert encode_pdu(again) == canonical == encode_pdu(again, canonical=True)


@HEALTH
@given(pdus())
def test_canonical_encodings_decode_in_pynetdicom_to_the_same_values(value: PDU) -> None:
    data = encode_pdu(value, canonical=True)
    assert pyn_view(pyn_decode(data)) == our_view(value)


def check_decodes_or_codec_error(data: bytes) -> None:
    """Decoding either fails with DimseCodecError or gives a PDU that re-encodes to ``data``."""
    for policy in (Policy(), STRICT):
        try:
            decoded = decode_pdu(data, policy=policy)
        except DimseCodecError:
            continue
        assert encode_pdu(decoded) == data
        encode_pdu(decoded, canonical=True)


@HEALTH
@given(st.one_of(pdus(), quirky_pdus()), st.data())
def test_every_truncation_raises_only_codec_errors(value: PDU, data: st.DataObject) -> None:
    encoded = encode_pdu(value)
    declared = struct.unpack(">L", encoded[2:6])[0]
    for cut in range(len(encoded)):
        if cut < 6 or declared > cut - 6:
            with pytest.raises(TruncatedError):
                decode_pdu(encoded[:cut])
        else:  # a quirky PDU-length shorter than the body: the prefix may still decode
            check_decodes_or_codec_error(encoded[:cut])
    cut = data.draw(st.integers(6, len(encoded)))
    patched = encoded[:2] + struct.pack(">L", cut - 6) + encoded[6:cut]
    check_decodes_or_codec_error(patched)


@HEALTH
@given(st.one_of(pdus(), quirky_pdus()), st.data())
def test_random_mutations_raise_only_codec_errors(value: PDU, data: st.DataObject) -> None:
    encoded = bytearray(encode_pdu(value))
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(encoded) - 1))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "set":
            encoded[where] = data.draw(st.integers(0, 255))
        elif action == "insert":
            encoded[where:where] = data.draw(st.binary(min_size=1, max_size=4))
        elif len(encoded) > 1:
            del encoded[where]
    mutated = bytes(encoded)
    check_decodes_or_codec_error(mutated)
    if len(mutated) >= 6:
        check_decodes_or_codec_error(
            mutated[:2] + struct.pack(">L", len(mutated) - 6) + mutated[6:]
        )


@HEALTH
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_codec_errors(data: bytes) -> None:
    check_decodes_or_codec_error(data)
    if len(data) >= 6:
        for pdu_type in range(1, 8):
            check_decodes_or_codec_error(
                bytes([pdu_type]) + data[1:2] + struct.pack(">L", len(data) - 6) + data[6:]
            )
    try:
        decoded, _ = decode_item(data)
    except DimseCodecError:
        return
    assert encode_item(decoded) == data


@HEALTH
@given(st.binary(min_size=1, max_size=30), st.integers(0, 255))
def test_unknown_sub_item_0x5a_and_item_0x60_are_preserved(payload: bytes, reserved: int) -> None:
    sub = item(0x5A, payload, reserved)
    top = item(0x60, payload[::-1], reserved)
    data = rq_bytes(items=(APP, top, PC_RQ, standard_user(sub)))
    decoded = roundtrip(data)
    assert isinstance(decoded, AAssociateRQ)
    assert decoded.unknown_items == (UnknownItem(0x60, payload[::-1], reserved=reserved),)
    assert decoded.user_information is not None
    assert decoded.user_information.unknown_sub_items == (
        UnknownItem(0x5A, payload, reserved=reserved),
    )
    assert decoded.presentation_contexts[0].abstract_syntax == VERIFICATION
    canonical = decode_pdu(encode_pdu(decoded, canonical=True))
    assert canonical.unknown_items[0].raw == payload[::-1]


# --- the wire vocabulary: PDUType, ItemType, CONTAINS ---------------------------------------------

SAMPLES: dict[Any, Any] = {
    ItemType.APPLICATION_CONTEXT: ApplicationContextItem(),
    ItemType.PRESENTATION_CONTEXT_RQ: PresentationContextRQItem.build(3, VERIFICATION, (IMPLICIT,)),
    ItemType.PRESENTATION_CONTEXT_AC: PresentationContextACItem.build(
        3, PresentationContextResult.ACCEPTANCE, IMPLICIT
    ),
    ItemType.ABSTRACT_SYNTAX: AbstractSyntaxSubItem(CT),
    ItemType.TRANSFER_SYNTAX: TransferSyntaxSubItem(EXPLICIT),
    ItemType.USER_INFORMATION: UserInformationItem(
        (MaximumLengthSubItem(16384), ImplementationClassUIDSubItem("1.2.3"))
    ),
    ItemType.MAXIMUM_LENGTH: MaximumLengthSubItem(32768),
    ItemType.IMPLEMENTATION_CLASS_UID: ImplementationClassUIDSubItem("1.2.3.5"),
    ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: AsynchronousOperationsWindowSubItem(1, 1),
    ItemType.SCP_SCU_ROLE_SELECTION: SCPSCURoleSelectionSubItem(CT, Role.SUPPORT, Role.SUPPORT),
    ItemType.IMPLEMENTATION_VERSION_NAME: ImplementationVersionNameSubItem("VOCAB_1"),
    ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: SOPClassExtendedNegotiationSubItem(CT, b"\x01"),
    ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: SOPClassCommonExtendedNegotiationSubItem(
        CT, "1.2.840.10008.4.2"
    ),
    ItemType.USER_IDENTITY_RQ: UserIdentityRQSubItem(UserIdentityType.USERNAME, b"user"),
    ItemType.USER_IDENTITY_AC: UserIdentityACSubItem(b"ok"),
}
"""One well-formed item of every type PS3.8 and PS3.7 Annex D.3 define."""

ASSOCIATE_CLASSES = {PDUType.A_ASSOCIATE_RQ: AAssociateRQ, PDUType.A_ASSOCIATE_AC: AAssociateAC}
PDU_CLASSES = [AAssociateRQ, AAssociateAC, AAssociateRJ, PDataTF, AReleaseRQ, AReleaseRP, AAbort]


def test_every_item_type_has_a_value_class_and_decodes_on_its_own() -> None:
    assert set(SAMPLES) == set(ItemType)
    for item_type, sample in SAMPLES.items():
        assert type(sample).item_type is item_type
        assert decode_item(encode_item(sample)) == (sample, ())


def test_pdu_type_labels_are_the_pdu_names() -> None:
    assert sorted(cls.pdu_type for cls in PDU_CLASSES) == list(PDUType)
    for cls in PDU_CLASSES:
        assert isinstance(cls.pdu_type, PDUType)
        assert cls.name == cls.pdu_type.label == pdu_name(cls.pdu_type)
    assert [pdu_name(t) for t in range(1, 8)] == [t.label for t in PDUType]
    assert pdu_name(0x42) == "PDU 0x42"
    assert pdu_name(0) == "PDU 0x00"
    assert PDUType.P_DATA_TF == 4 and f"{PDUType.A_ABORT:#04x}" == "0x07"


@pytest.mark.parametrize(
    ("data", "item_type"),
    [
        (rq_bytes(items=(PC_RQ, standard_user())), ItemType.APPLICATION_CONTEXT),
        (rq_bytes(items=(APP, standard_user())), ItemType.PRESENTATION_CONTEXT_RQ),
        (pdu(0x02, associate_body(APP, standard_user())), ItemType.PRESENTATION_CONTEXT_AC),
        (rq_bytes(items=(APP, PC_RQ)), ItemType.USER_INFORMATION),
        (
            rq_bytes(
                items=(APP, item(0x20, b"\x01\x00\x00\x00" + item(0x40, b"1.2")), standard_user())
            ),
            ItemType.ABSTRACT_SYNTAX,
        ),
        (
            rq_bytes(
                items=(APP, item(0x20, b"\x01\x00\x00\x00" + item(0x30, b"1.2")), standard_user())
            ),
            ItemType.TRANSFER_SYNTAX,
        ),
        (
            rq_bytes(items=(APP, PC_RQ, item(0x50, item(0x52, b"1.2.3.4")))),
            ItemType.MAXIMUM_LENGTH,
        ),
        (
            rq_bytes(items=(APP, PC_RQ, item(0x50, item(0x51, bytes(4))))),
            ItemType.IMPLEMENTATION_CLASS_UID,
        ),
    ],
)
def test_missing_items_are_named_by_their_label(data: bytes, item_type: Any) -> None:
    decoded = decode_pdu(data)
    messages = [d.message for d in decoded.diagnostics if d.code is D.MISSING_ITEM]
    assert messages == [f"no {item_type.label}"]


@pytest.mark.parametrize(
    "item_type",
    [
        ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW,
        ItemType.IMPLEMENTATION_VERSION_NAME,
        ItemType.USER_IDENTITY_RQ,
    ],
)
def test_duplicate_sub_items_are_named_by_their_label(item_type: Any) -> None:
    twice = encode_item(SAMPLES[item_type]) * 2
    decoded = decode_pdu(rq_bytes(twice))
    messages = [d.message for d in decoded.diagnostics if d.code is D.DUPLICATE_ITEM]
    assert messages == [f"more than one {item_type.label}"]


def test_fixed_size_values_are_named_by_their_label() -> None:
    for item_type, value in ((0x51, bytes(5)), (0x53, bytes(6))):
        decoded = decode_pdu(rq_bytes(item(item_type, value)))
        (message,) = [d.message for d in decoded.diagnostics if d.code is D.ITEM_LENGTH_MISMATCH]
        assert message.startswith(ItemType(item_type).label.removesuffix(" sub-item") + " value")


def test_only_in_agrees_with_what_each_pdu_contains() -> None:
    rq, ac = PDUType.A_ASSOCIATE_RQ, PDUType.A_ASSOCIATE_AC
    for item_type, only in S.ONLY_IN.items():
        other = ac if only is rq else rq
        assert item_type not in S.allowed_in(ItemType.USER_INFORMATION, other)
        assert item_type not in S.CONTAINS[other]
    assert S.allowed_in(rq, rq) == S.CONTAINS[rq]
    assert S.allowed_in(ac, ac) == S.CONTAINS[ac]
    everything = set().union(*S.CONTAINS.values()) | {*S.CONTAINS[rq], *S.CONTAINS[ac]}
    assert everything == set(ItemType)


def placed(pdu_type: Any, container: Any, extra: Any) -> AAssociateRQ | AAssociateAC:
    """A standard A-ASSOCIATE of ``pdu_type`` with ``extra`` added at the end of ``container``."""
    rq = pdu_type is PDUType.A_ASSOCIATE_RQ
    context: Any = SAMPLES[
        ItemType.PRESENTATION_CONTEXT_RQ if rq else ItemType.PRESENTATION_CONTEXT_AC
    ]
    context = dataclasses.replace(context, presentation_context_id=1)
    user: Any = SAMPLES[ItemType.USER_INFORMATION]
    if container is ItemType.USER_INFORMATION:
        user = dataclasses.replace(user, sub_items=(*user.sub_items, extra))
    elif container is not pdu_type:
        context = dataclasses.replace(context, sub_items=(*context.sub_items, extra))
    items = (ApplicationContextItem(), context, user)
    if container is pdu_type:
        items = (*items, extra)
    return ASSOCIATE_CLASSES[pdu_type]("CALLED", "CALLING", items)


def containers() -> list[tuple[Any, Any]]:
    """Every (PDU, container) pair of CONTAINS, the PDU a container of items stands in."""
    rq, ac = PDUType.A_ASSOCIATE_RQ, PDUType.A_ASSOCIATE_AC
    return [
        (rq, rq),
        (ac, ac),
        (rq, ItemType.PRESENTATION_CONTEXT_RQ),
        (ac, ItemType.PRESENTATION_CONTEXT_AC),
        (rq, ItemType.USER_INFORMATION),
        (ac, ItemType.USER_INFORMATION),
    ]


def test_containers_cover_contains() -> None:
    assert {container for _, container in containers()} == set(S.CONTAINS)


@pytest.mark.parametrize(("pdu_type", "container"), containers())
@pytest.mark.parametrize("item_type", list(ItemType))
def test_contains_agrees_with_the_decoder(pdu_type: Any, container: Any, item_type: Any) -> None:
    value = placed(pdu_type, container, SAMPLES[item_type])
    data = encode_pdu(value)
    decoded = decode_pdu(data)
    assert encode_pdu(decoded) == data
    not_allowed = [d for d in decoded.diagnostics if d.code is D.ITEM_NOT_ALLOWED]
    if item_type in S.allowed_in(container, pdu_type):
        assert not_allowed == []
        assert decoded == dataclasses.replace(value, diagnostics=decoded.diagnostics)
        assert {d.code for d in decoded.diagnostics} <= {D.DUPLICATE_ITEM}
    else:
        assert [d.message for d in not_allowed] == [
            f"item type 0x{item_type:02X} does not belong here"
        ]
        assert all(d.code in (D.ITEM_NOT_ALLOWED, D.DUPLICATE_ITEM) for d in decoded.diagnostics)


def test_pdu_structures_share_the_wire_helpers() -> None:
    assert S.struct_of is struct_of_wire


# --- the documentation page -----------------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "pdu.md"
DOC_BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize("index", range(len(DOC_BLOCKS)))
def test_pdu_page_example_runs(index: int) -> None:
    exec(compile(DOC_BLOCKS[index], f"docs/pdu.md[{index}]", "exec"), {"__name__": "docs_example"})


def test_pdu_page_has_examples() -> None:
    assert len(DOC_BLOCKS) >= 5
