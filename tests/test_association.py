"""Association negotiation: both sides through bytes, every reject path, every negotiated item,
parameter checks, the docs' examples, and interop with pynetdicom in both directions."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import string
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dimse_codec
import dimse_codec.tables.uids
from dimse_codec import STRICT, InvalidParameter, InvalidParameterType, PolicyViolation
from dimse_codec.association import (
    APPLICATION_CONTEXT_NAME,
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    MAXIMUM_PRESENTATION_CONTEXTS,
    SYNCHRONOUS,
    Aborted,
    Accepted,
    AcceptedContext,
    Association,
    AsyncWindow,
    ProposedContext,
    Rejected,
    RejectedContext,
    Roles,
    build_request,
    read_response,
    reject,
    respond,
)
from dimse_codec.pdata.limits import MAX_PDU_LENGTH_FIELD, MIN_MAX_PDU_LENGTH, fragment_size
from dimse_codec.pdu import (
    MCH_LAST,
    PDU_HEADER_SIZE,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    ApplicationContextItem,
    AReleaseRQ,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    MaximumLengthSubItem,
    PDataTF,
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
    SOPClassExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    UserSubItem,
    decode_pdu,
    encode_pdu,
)
from dimse_codec.policy import Diagnostic, DiagnosticCode, Policy

try:
    from pynetdicom import pdu as pn_pdu
    from pynetdicom import pdu_primitives as pn_prim
    from pynetdicom import presentation as pn_presentation
except ImportError:  # pragma: no cover - pynetdicom is a test dependency
    pn_pdu = pn_prim = pn_presentation = None

needs_pynetdicom = pytest.mark.skipif(pn_pdu is None, reason="interop needs pynetdicom")

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
US = "1.2.840.10008.5.1.4.1.1.6.1"
SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
STORAGE_SERVICE = "1.2.840.10008.4.2"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG = "1.2.840.10008.1.2.4.50"
RLE = "1.2.840.10008.1.2.5"

ABSTRACTS = [VERIFICATION, CT, MR, US, SR]
TRANSFERS = [IMPLICIT, EXPLICIT, DEFLATED, JPEG, RLE]

DOCS = Path(__file__).resolve().parent.parent / "docs" / "association.md"
PACKAGE = Path(__file__).resolve().parent.parent / "dimse_codec" / "association"
DOC_BLOCKS = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)


# --- helpers --------------------------------------------------------------------------------------


def wire(pdu: Any) -> Any:
    """The PDU as a peer would see it: encoded, then decoded (and checked to decode cleanly)."""
    decoded = decode_pdu(encode_pdu(pdu))
    assert decoded == pdu
    return decoded


def accept(rq: AAssociateRQ, supported: Any, **options: Any) -> Accepted:
    """Run the acceptor on the RQ as received from the wire and insist it accepted."""
    result = respond(wire(rq), supported, **options)
    assert isinstance(result, Accepted), getattr(result, "description", result)
    return result


def both_sides(rq: AAssociateRQ, supported: Any, **options: Any) -> tuple[Association, Association]:
    """(requestor's association, acceptor's association) after RQ and AC cross the wire."""
    answer = accept(rq, supported, **options)
    read = read_response(rq, wire(answer.pdu))
    assert isinstance(read, Accepted)
    return read.association, answer.association


def ac_for(rq: AAssociateRQ, supported: Any, **options: Any) -> AAssociateAC:
    """The AC our acceptor answers ``rq`` with (which must be an acceptance)."""
    return accept(rq, supported, **options).pdu


def user_of(pdu: AAssociateRQ | AAssociateAC) -> UserInformationItem:
    """The PDU's User Information item, which must be there."""
    user = pdu.user_information
    assert user is not None
    return user


def with_user(ac: AAssociateAC, *sub_items: UserSubItem) -> AAssociateAC:
    """The AC with its User Information item replaced by one holding ``sub_items``."""
    items = tuple(i for i in ac.variable_items if not isinstance(i, UserInformationItem))
    return dataclasses.replace(ac, variable_items=(*items, UserInformationItem(sub_items)))


def with_contexts(ac: AAssociateAC, *contexts: PresentationContextACItem) -> AAssociateAC:
    """The AC with its presentation context answers replaced by ``contexts``."""
    head = [i for i in ac.variable_items if isinstance(i, ApplicationContextItem)]
    tail = [i for i in ac.variable_items if isinstance(i, UserInformationItem)]
    return dataclasses.replace(ac, variable_items=(*head, *contexts, *tail))


def base_user(max_length: int = 16384) -> tuple[UserSubItem, ...]:
    """The two mandatory user sub-items of an AC."""
    return (MaximumLengthSubItem(max_length), ImplementationClassUIDSubItem("1.2.3.4"))


def issues(association: Association) -> list[str]:
    """The code of each diagnostic, in order."""
    return [d.code.value for d in association.diagnostics]


def read_ac(rq: AAssociateRQ, ac: AAssociateAC) -> Association:
    """Read a crafted AC (after a trip through bytes) and return the association."""
    result = read_response(rq, wire(ac))
    assert isinstance(result, Accepted)
    return result.association


def simple_rq(**options: Any) -> AAssociateRQ:
    """A two-context request used by many tests."""
    return build_request(
        "SCU", "SCP", [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT, IMPLICIT])], **options
    )


# --- constants ------------------------------------------------------------------------------------


def test_application_context_is_dicoms() -> None:
    assert APPLICATION_CONTEXT_NAME == "1.2.840.10008.3.1.1.1"


def test_implementation_class_uid_is_uuid_derived_and_our_own() -> None:
    root, _, number = IMPLEMENTATION_CLASS_UID.partition("2.25.")
    assert root == ""
    value = uuid.UUID(int=int(number))
    assert value.version == 4 and value.variant == uuid.RFC_4122
    assert str(value.int) == number  # no leading zeros: a valid UID component
    assert len(IMPLEMENTATION_CLASS_UID) <= 64
    for foreign in ("1.2.826.0.1.3680043.8.498", "1.2.826.0.1.3680043.9.3811"):
        assert not IMPLEMENTATION_CLASS_UID.startswith(foreign)  # pydicom's, pynetdicom's


def test_implementation_version_name_tracks_the_package_version() -> None:
    assert f"DIMSECODEC_{dimse_codec.__version__}" == IMPLEMENTATION_VERSION_NAME
    assert 1 <= len(IMPLEMENTATION_VERSION_NAME) <= 16
    assert IMPLEMENTATION_VERSION_NAME.isascii() and IMPLEMENTATION_VERSION_NAME.isprintable()


def test_the_version_comes_from_the_distribution_metadata() -> None:
    assert importlib.metadata.version("dimse-codec") == dimse_codec.__version__


def test_the_application_context_name_is_the_tables_one() -> None:
    assert APPLICATION_CONTEXT_NAME is dimse_codec.tables.uids.APPLICATION_CONTEXT_NAME
    assert APPLICATION_CONTEXT_NAME == "1.2.840.10008.3.1.1.1"


def test_max_pdu_arithmetic_is_pdatas() -> None:
    assert DEFAULT_MAX_PDU_LENGTH == 16382
    assert fragment_size(DEFAULT_MAX_PDU_LENGTH) == 16376
    assert fragment_size(16383) == 16376  # rounded down to even
    assert MIN_MAX_PDU_LENGTH == 8 and fragment_size(MIN_MAX_PDU_LENGTH) == 2


@pytest.mark.parametrize("limit", [1000, 1001, MIN_MAX_PDU_LENGTH])
def test_a_pdata_pdu_at_the_limit_is_at_most_max_plus_six_bytes(limit: int) -> None:
    fragment = bytes(fragment_size(limit))
    data = encode_pdu(PDataTF((PresentationDataValueItem(1, MCH_LAST, fragment),)))
    assert limit - 1 <= len(data) - PDU_HEADER_SIZE <= limit
    assert decode_pdu(data, max_pdu_length=limit).presentation_data_value_items[0].fragment == (
        fragment
    )


@pytest.mark.parametrize("limit", [0, MIN_MAX_PDU_LENGTH, MAX_PDU_LENGTH_FIELD])
def test_the_limits_pdata_allows_are_announced(limit: int) -> None:
    rq = build_request("A", "B", [(CT, [IMPLICIT])], max_pdu_length=limit)
    assert user_of(wire(rq)).maximum_length == limit
    answer = respond(rq, {CT: [IMPLICIT]}, max_pdu_length=limit)
    assert isinstance(answer, Accepted)
    assert answer.association.our_max_pdu_length == limit


# --- building the request -------------------------------------------------------------------------


def test_request_has_the_standard_shape() -> None:
    rq = build_request(
        "  ECHOSCU ", "ANY-SCP", [(VERIFICATION, [EXPLICIT, IMPLICIT]), (CT, (IMPLICIT,))]
    )
    assert (rq.calling_ae_title, rq.called_ae_title) == ("ECHOSCU", "ANY-SCP")
    assert rq.application_context_name == APPLICATION_CONTEXT_NAME
    assert [
        (c.presentation_context_id, c.abstract_syntax, c.transfer_syntaxes)
        for c in rq.presentation_contexts
    ] == [(1, VERIFICATION, (EXPLICIT, IMPLICIT)), (3, CT, (IMPLICIT,))]
    user = user_of(rq)
    assert user.maximum_length == DEFAULT_MAX_PDU_LENGTH
    assert user.implementation_class_uid == IMPLEMENTATION_CLASS_UID
    assert user.implementation_version_name == IMPLEMENTATION_VERSION_NAME
    assert [s.item_type for s in user.sub_items] == [0x51, 0x52, 0x55]
    data = encode_pdu(rq)
    assert data[26:42] == b"ECHOSCU".ljust(16)
    assert decode_pdu(data).diagnostics == ()


def test_context_ids_given_and_assigned() -> None:
    rq = build_request(
        "A",
        "B",
        [
            (VERIFICATION, [IMPLICIT]),
            ProposedContext(CT, [IMPLICIT], context_id=1),
            ProposedContext(MR, [IMPLICIT]),
            ProposedContext(US, [IMPLICIT], context_id=255),
            (SR, [IMPLICIT]),
        ],
    )
    assert [c.presentation_context_id for c in rq.presentation_contexts] == [3, 1, 5, 255, 7]


def test_128_contexts_fit_and_129_do_not() -> None:
    contexts = [(CT, [IMPLICIT])] * MAXIMUM_PRESENTATION_CONTEXTS
    rq = build_request("A", "B", contexts)
    ids = [c.presentation_context_id for c in rq.presentation_contexts]
    assert ids == list(range(1, 256, 2))
    assert wire(rq) == rq
    with pytest.raises(InvalidParameter) as raised:
        build_request("A", "B", [*contexts, (CT, [IMPLICIT])])
    assert raised.value.path == "contexts"


def test_optional_negotiation_items_in_the_request() -> None:
    identity = UserIdentityRQSubItem(UserIdentityType.USERNAME, b"alice", b"", 1)
    rq = build_request(
        "A",
        "B",
        [(CT, [IMPLICIT]), (MR, [IMPLICIT])],
        max_pdu_length=0,
        roles={CT: Roles(True, True), MR: (False, True)},
        async_window=(0, 5),
        user_identity=identity,
        extended_negotiation={CT: b"\x01\x00"},
        common_extended_negotiation={MR: (STORAGE_SERVICE, [CT, US])},
        implementation_class_uid="1.2.3",
        implementation_version_name=None,
    )
    user = user_of(wire(rq))
    assert [s.item_type for s in user.sub_items] == [0x51, 0x52, 0x53, 0x54, 0x54, 0x56, 0x57, 0x58]
    assert user.maximum_length == 0 and user.implementation_class_uid == "1.2.3"
    assert user.implementation_version_name is None
    window = user.asynchronous_operations_window
    assert (
        window.maximum_number_operations_invoked,
        window.maximum_number_operations_performed,
    ) == (
        0,
        5,
    )
    assert [(r.sop_class_uid, r.scu_role, r.scp_role) for r in user.role_selections] == [
        (CT, 1, 1),
        (MR, 0, 1),
    ]
    assert user.extended_negotiations[0].service_class_application_information == b"\x01\x00"
    common = user.common_extended_negotiations[0]
    assert (common.sop_class_uid, common.service_class_uid) == (MR, STORAGE_SERVICE)
    assert common.related_general_sop_class_uids == (CT, US)
    assert user.user_identity == identity


_GOOD: dict[str, Any] = {
    "calling_ae_title": "SCU",
    "called_ae_title": "SCP",
    "contexts": [(CT, [IMPLICIT])],
}


@pytest.mark.parametrize(
    ("change", "error", "path"),
    [
        ({"calling_ae_title": ""}, InvalidParameter, "calling_ae_title"),
        ({"calling_ae_title": " " * 16}, InvalidParameter, "calling_ae_title"),
        ({"called_ae_title": "A" * 17}, InvalidParameter, "called_ae_title"),
        ({"called_ae_title": "A\\B"}, InvalidParameter, "called_ae_title"),
        ({"called_ae_title": "ÄRCHIVE"}, InvalidParameter, "called_ae_title"),
        ({"called_ae_title": "A\tB"}, InvalidParameter, "called_ae_title"),
        ({"called_ae_title": b"SCP"}, InvalidParameterType, "called_ae_title"),
        ({"contexts": []}, InvalidParameter, "contexts"),
        ({"contexts": "1.2.3"}, InvalidParameterType, "contexts"),
        ({"contexts": [CT]}, InvalidParameterType, "contexts[0]"),
        ({"contexts": [("1.02.3", [IMPLICIT])]}, InvalidParameter, "contexts[0].abstract_syntax"),
        ({"contexts": [("", [IMPLICIT])]}, InvalidParameter, "contexts[0].abstract_syntax"),
        (
            {"contexts": [("1." * 32 + "1", [IMPLICIT])]},
            InvalidParameter,
            "contexts[0].abstract_syntax",
        ),
        ({"contexts": [(CT, IMPLICIT)]}, InvalidParameterType, "contexts[0].transfer_syntaxes"),
        ({"contexts": [(CT, [])]}, InvalidParameter, "contexts[0].transfer_syntaxes"),
        (
            {"contexts": [(CT, [IMPLICIT, "x"])]},
            InvalidParameter,
            "contexts[0].transfer_syntaxes[1]",
        ),
        (
            {"contexts": [ProposedContext(CT, [IMPLICIT], 2)]},
            InvalidParameter,
            "contexts[0].context_id",
        ),
        (
            {"contexts": [ProposedContext(CT, [IMPLICIT], 0)]},
            InvalidParameter,
            "contexts[0].context_id",
        ),
        (
            {"contexts": [ProposedContext(CT, [IMPLICIT], 257)]},
            InvalidParameter,
            "contexts[0].context_id",
        ),
        (
            {"contexts": [ProposedContext(CT, [IMPLICIT], True)]},
            InvalidParameterType,
            "contexts[0].context_id",
        ),
        (
            {"contexts": [ProposedContext(CT, [IMPLICIT], 5), ProposedContext(MR, [IMPLICIT], 5)]},
            InvalidParameter,
            "contexts",
        ),
        ({"max_pdu_length": -1}, InvalidParameter, "max_pdu_length"),
        ({"max_pdu_length": 6}, InvalidParameter, "max_pdu_length"),
        ({"max_pdu_length": MIN_MAX_PDU_LENGTH - 1}, InvalidParameter, "max_pdu_length"),
        ({"max_pdu_length": True}, InvalidParameterType, "max_pdu_length"),
        ({"max_pdu_length": 1 << 32}, InvalidParameter, "max_pdu_length"),
        ({"max_pdu_length": 16384.0}, InvalidParameterType, "max_pdu_length"),
        ({"roles": {MR: (True, False)}}, InvalidParameter, f"roles[{MR!r}]"),
        ({"roles": {CT: (False, False)}}, InvalidParameter, f"roles[{CT!r}]"),
        ({"roles": {CT: (1, 0)}}, InvalidParameterType, f"roles[{CT!r}].scu"),
        ({"roles": {CT: True}}, InvalidParameterType, f"roles[{CT!r}]"),
        ({"async_window": (1 << 16, 1)}, InvalidParameter, "async_window.invoked"),
        ({"async_window": (1, -1)}, InvalidParameter, "async_window.performed"),
        ({"async_window": 3}, InvalidParameterType, "async_window"),
        (
            {"user_identity": UserIdentityRQSubItem(6, b"x")},
            InvalidParameter,
            "user_identity.user_identity_type",
        ),
        (
            {"user_identity": UserIdentityRQSubItem(1, b"")},
            InvalidParameter,
            "user_identity.primary_field",
        ),
        (
            {"user_identity": UserIdentityRQSubItem(2, b"alice")},
            InvalidParameter,
            "user_identity.secondary_field",
        ),
        (
            {"user_identity": UserIdentityRQSubItem(5, b"jwt", b"extra")},
            InvalidParameter,
            "user_identity.secondary_field",
        ),
        (
            {"user_identity": UserIdentityRQSubItem(1, b"alice", b"", 2)},
            InvalidParameter,
            "user_identity.positive_response_requested",
        ),
        ({"user_identity": ("alice", "secret")}, InvalidParameterType, "user_identity"),
        (
            {"extended_negotiation": {CT: "x"}},
            InvalidParameterType,
            f"extended_negotiation[{CT!r}]",
        ),
        ({"extended_negotiation": {"ct": b""}}, InvalidParameter, "extended_negotiation['ct']"),
        (
            {"common_extended_negotiation": {CT: (STORAGE_SERVICE, CT)}},
            InvalidParameterType,
            f"common_extended_negotiation[{CT!r}].related",
        ),
        (
            {"common_extended_negotiation": {CT: ("x", [])}},
            InvalidParameter,
            f"common_extended_negotiation[{CT!r}].service_class_uid",
        ),
        ({"implementation_class_uid": "2.25.0123"}, InvalidParameter, "implementation_class_uid"),
        (
            {"implementation_version_name": "X" * 17},
            InvalidParameter,
            "implementation_version_name",
        ),
        ({"implementation_version_name": ""}, InvalidParameter, "implementation_version_name"),
        ({"application_context_name": "dicom"}, InvalidParameter, "application_context_name"),
    ],
)
def test_invalid_request_parameters_are_named(
    change: dict[str, Any], error: type[Exception], path: str
) -> None:
    with pytest.raises(error) as raised:
        build_request(**{**_GOOD, **change})
    assert isinstance(raised.value, (InvalidParameter, InvalidParameterType))
    assert raised.value.path == path
    assert path in str(raised.value)


# --- round trips through bytes --------------------------------------------------------------------


def test_round_trip_both_sides_agree() -> None:
    rq = build_request(
        "STORESCU",
        "ARCHIVE",
        [
            (VERIFICATION, [IMPLICIT]),
            (CT, [EXPLICIT, IMPLICIT, JPEG]),
            (MR, [JPEG]),
            (US, [RLE]),
        ],
        max_pdu_length=32768,
    )
    requestor, acceptor = both_sides(
        rq,
        {VERIFICATION: [EXPLICIT, IMPLICIT], CT: [JPEG, EXPLICIT], US: [IMPLICIT]},
        max_pdu_length=0,
    )
    assert requestor.is_requestor and not acceptor.is_requestor
    expected_accepted = {1: AcceptedContext(VERIFICATION, IMPLICIT), 3: AcceptedContext(CT, JPEG)}
    expected_rejected = {
        5: RejectedContext(MR, PresentationContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED),
        7: RejectedContext(US, PresentationContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED),
    }
    for side in (requestor, acceptor):
        assert dict(side.accepted_contexts) == expected_accepted
        assert dict(side.rejected_contexts) == expected_rejected
        assert (side.calling_ae_title, side.called_ae_title) == ("STORESCU", "ARCHIVE")
        assert side.application_context_name == APPLICATION_CONTEXT_NAME
        assert side.peer_implementation_class_uid == IMPLEMENTATION_CLASS_UID
        assert side.peer_implementation_version_name == IMPLEMENTATION_VERSION_NAME
        assert side.async_window == SYNCHRONOUS
        assert side.diagnostics == ()
    assert (requestor.our_max_pdu_length, requestor.peer_max_pdu_length) == (32768, 0)
    assert (acceptor.our_max_pdu_length, acceptor.peer_max_pdu_length) == (0, 32768)
    assert (requestor.local_ae_title, requestor.peer_ae_title) == ("STORESCU", "ARCHIVE")
    assert (acceptor.local_ae_title, acceptor.peer_ae_title) == ("ARCHIVE", "STORESCU")
    assert requestor.context_id_for(CT) == 3 and requestor.context_id_for(MR) is None
    assert requestor.context_id_for(CT, EXPLICIT) is None


def test_the_ac_echoes_the_rq_fields_byte_for_byte() -> None:
    rq = dataclasses.replace(
        simple_rq(),
        called_ae_title_raw=b"   SCP          ",
        calling_ae_title_raw=b"SCU\x00" + b" " * 12,
        reserved_2=bytes(range(32)),
    )
    rq_bytes = encode_pdu(rq)
    received = decode_pdu(rq_bytes)
    answer = respond(received, {VERIFICATION: [IMPLICIT]})
    assert isinstance(answer, Accepted)
    ac_bytes = encode_pdu(answer.pdu)
    assert ac_bytes[0] == 0x02 and ac_bytes[6:8] == b"\x00\x01"
    assert ac_bytes[10:74] == rq_bytes[10:74]
    assert answer.association.called_ae_title == "SCP"
    assert answer.association.calling_ae_title == "SCU"


def test_our_preference_order_wins_and_ids_are_kept() -> None:
    rq = build_request(
        "A",
        "B",
        [
            ProposedContext(CT, [EXPLICIT, JPEG, IMPLICIT], 9),
            ProposedContext(CT, [JPEG], 3),
            ProposedContext(CT, [RLE], 5),
        ],
    )
    answer = accept(rq, {CT: [IMPLICIT, JPEG, EXPLICIT]})
    results = [
        (c.presentation_context_id, c.result_reason, c.transfer_syntax)
        for c in answer.pdu.presentation_contexts
    ]
    assert results == [(9, 0, IMPLICIT), (3, 0, JPEG), (5, 4, RLE)]  # rejected: first proposed
    assert answer.association.context_id_for(CT) == 3
    assert answer.association.context_id_for(CT, IMPLICIT) == 9


def test_supported_can_be_a_callable() -> None:
    seen: list[str] = []

    def supported(abstract: str) -> Sequence[str] | None:
        seen.append(abstract)
        return [EXPLICIT] if abstract.startswith("1.2.840.10008.5.1.4.1.1.") else None

    requestor, _ = both_sides(
        build_request("A", "B", [(VERIFICATION, [IMPLICIT]), (MR, [IMPLICIT, EXPLICIT])]),
        supported,
    )
    assert seen == [VERIFICATION, MR]
    assert dict(requestor.accepted_contexts) == {3: AcceptedContext(MR, EXPLICIT)}
    assert requestor.rejected_contexts[1].result == 3


def test_supported_but_no_transfer_syntax_is_result_4() -> None:
    _, acceptor = both_sides(simple_rq(), {VERIFICATION: [], CT: [IMPLICIT]})
    assert acceptor.rejected_contexts[1] == RejectedContext(VERIFICATION, 4)


def test_related_general_sop_class_is_accepted_only_when_asked() -> None:
    rq = build_request(
        "A",
        "B",
        [(ENHANCED_CT, [EXPLICIT, IMPLICIT])],
        common_extended_negotiation={ENHANCED_CT: (STORAGE_SERVICE, [CT])},
    )
    _, plain = both_sides(rq, {CT: [IMPLICIT]})
    assert plain.rejected_contexts[1].result == 3
    requestor, related = both_sides(rq, {CT: [IMPLICIT]}, accept_related_general_sop_classes=True)
    for side in (requestor, related):
        assert dict(side.accepted_contexts) == {1: AcceptedContext(ENHANCED_CT, IMPLICIT)}
        common = side.common_extended_negotiation[ENHANCED_CT]
        assert common.related_general_sop_class_uids == (CT,)
        assert common.service_class_uid == STORAGE_SERVICE


def test_an_rq_with_duplicate_or_empty_contexts_is_answered_sensibly() -> None:
    rq = AAssociateRQ(
        "SCP",
        "SCU",
        (
            ApplicationContextItem(),
            PresentationContextRQItem.build(1, CT, (IMPLICIT,)),
            PresentationContextRQItem.build(1, MR, (IMPLICIT,)),
            PresentationContextRQItem(3, (TransferSyntaxSubItem(IMPLICIT),)),
            PresentationContextRQItem.build(5, CT, ()),
            UserInformationItem(base_user()),
        ),
    )
    answer = respond(wire(rq), {CT: [IMPLICIT]})
    assert isinstance(answer, Accepted)
    assert [
        (c.presentation_context_id, c.result_reason) for c in answer.pdu.presentation_contexts
    ] == [(1, 0), (3, 3), (5, 4)]
    assert answer.pdu.presentation_contexts[2].transfer_syntax is None
    assert issues(answer.association) == [
        "DUPLICATE_CONTEXT_ID",
        "NO_ABSTRACT_SYNTAX",
        "NO_TRANSFER_SYNTAX",
    ]
    with pytest.raises(PolicyViolation) as raised:
        respond(rq, {CT: [IMPLICIT]}, policy=STRICT)
    assert raised.value.path == "A-ASSOCIATE-RQ > presentation context 1"


# --- rejects --------------------------------------------------------------------------------------


def _rj_values(result: Rejected) -> tuple[int, int, int]:
    rj = wire(result.pdu)
    return int(rj.result), int(rj.source), int(rj.reason_diag)


def test_protocol_version_without_bit_0_is_rejected_by_the_acse() -> None:
    rq = dataclasses.replace(simple_rq(), protocol_version=2)
    result = respond(decode_pdu(encode_pdu(rq)), {CT: [IMPLICIT]})
    assert isinstance(result, Rejected)
    assert _rj_values(result) == (1, 2, 2)
    assert result.source is RejectSource.SERVICE_PROVIDER_ACSE
    assert result.reason is RejectReasonACSE.PROTOCOL_VERSION_NOT_SUPPORTED
    assert not result.transient
    assert result.description == (
        "rejected-permanent by the DICOM UL service-provider (ACSE related function): "
        "protocol-version-not-supported"
    )
    # other bits beside bit 0 are fine
    assert isinstance(respond(dataclasses.replace(simple_rq(), protocol_version=3), {}), Accepted)


@pytest.mark.parametrize("name", ["1.2.840.10008.3.1.1.2", None])
def test_foreign_or_missing_application_context_is_rejected(name: str | None) -> None:
    rq = simple_rq()
    items = tuple(i for i in rq.variable_items if not isinstance(i, ApplicationContextItem))
    if name is not None:
        items = (ApplicationContextItem(name), *items)
    result = respond(decode_pdu(encode_pdu(dataclasses.replace(rq, variable_items=items))), {})
    assert isinstance(result, Rejected)
    assert _rj_values(result) == (1, 1, 2)
    assert result.reason is RejectReasonUser.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED


def test_called_ae_title_not_recognised() -> None:
    result = respond(wire(simple_rq()), {CT: [IMPLICIT]}, called_ae_titles=["ARCHIVE", "PACS"])
    assert isinstance(result, Rejected)
    assert _rj_values(result) == (1, 1, 7)
    assert encode_pdu(result.pdu) == bytes.fromhex("03 00 00000004 00 01 01 07")
    accepted = respond(wire(simple_rq()), {CT: [IMPLICIT]}, called_ae_titles=["  SCP  "])
    assert isinstance(accepted, Accepted)


def test_calling_ae_title_not_recognised() -> None:
    result = respond(wire(simple_rq()), {CT: [IMPLICIT]}, calling_ae_titles={"MODALITY"})
    assert isinstance(result, Rejected)
    assert _rj_values(result) == (1, 1, 3)
    assert result.description.endswith("calling-AE-title-not-recognized")


def test_called_ae_title_is_checked_before_calling() -> None:
    result = respond(simple_rq(), {}, called_ae_titles={"X"}, calling_ae_titles={"Y"})
    assert isinstance(result, Rejected) and _rj_values(result) == (1, 1, 7)


def test_ae_titles_are_case_sensitive() -> None:
    result = respond(simple_rq(), {CT: [IMPLICIT]}, called_ae_titles={"scp"})
    assert isinstance(result, Rejected)


def test_refused_user_identity_is_rejected_by_the_acse() -> None:
    rq = simple_rq(user_identity=UserIdentityRQSubItem(2, b"mallory", b"guess", 1))
    seen: list[UserIdentityRQSubItem] = []

    def check(item: UserIdentityRQSubItem) -> bool:
        seen.append(item)
        return item.secondary_field == b"right"

    result = respond(wire(rq), {CT: [IMPLICIT]}, user_identity=check)
    assert isinstance(result, Rejected)
    assert _rj_values(result) == (1, 2, 1)
    assert seen[0].primary_field == b"mallory"


def test_no_presentation_context_is_rejected() -> None:
    rq = AAssociateRQ("SCP", "SCU", (ApplicationContextItem(), UserInformationItem(base_user())))
    result = respond(decode_pdu(encode_pdu(rq)), {CT: [IMPLICIT]})
    assert isinstance(result, Rejected)
    assert _rj_values(result) == (1, 1, 1)


def test_no_accepted_context_is_rejected_only_when_required() -> None:
    accepted = respond(simple_rq(), {MR: [IMPLICIT]})
    assert isinstance(accepted, Accepted)
    assert accepted.association.accepted_contexts == {}
    assert [c.result_reason for c in accepted.pdu.presentation_contexts] == [3, 3]
    result = respond(simple_rq(), {MR: [IMPLICIT]}, require_accepted_context=True)
    assert isinstance(result, Rejected) and _rj_values(result) == (1, 1, 1)


@pytest.mark.parametrize(
    ("reason", "transient", "expected", "text"),
    [
        (RejectReasonUser.NO_REASON_GIVEN, None, (1, 1, 1), "service-user: no-reason-given"),
        (RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED, True, (2, 1, 7), "called-AE-title"),
        (RejectReasonACSE.NO_REASON_GIVEN, None, (1, 2, 1), "(ACSE related function)"),
        (RejectReasonPresentation.TEMPORARY_CONGESTION, None, (2, 3, 1), "temporary-congestion"),
        (RejectReasonPresentation.LOCAL_LIMIT_EXCEEDED, False, (1, 3, 2), "local-limit-exceeded"),
    ],
)
def test_reject_picks_the_source_from_the_reason(
    reason: Any, transient: bool | None, expected: tuple[int, int, int], text: str
) -> None:
    result = reject(reason, transient=transient)
    assert _rj_values(result) == expected
    assert result.transient == (expected[0] == RejectResult.REJECTED_TRANSIENT)
    assert text in result.description


@pytest.mark.parametrize("reason", [7, "called", RejectResult.REJECTED_PERMANENT])
def test_reject_needs_a_reason_member(reason: Any) -> None:
    with pytest.raises(InvalidParameterType) as raised:
        reject(reason)
    assert raised.value.path == "reason"


def test_requestor_reads_rejects_and_aborts() -> None:
    rq = simple_rq()
    for rj in (
        AAssociateRJ(1, 1, 7),
        AAssociateRJ(2, 3, 2),
        AAssociateRJ(1, 2, 2),
        AAssociateRJ(2, 1, 9),  # a reserved reason is kept and named by number
    ):
        result = read_response(rq, wire(rj))
        assert isinstance(result, Rejected)
        assert (int(result.result), int(result.source), int(result.reason)) == (
            int(rj.result),
            int(rj.source),
            int(rj.reason_diag),
        )
    reserved = read_response(rq, AAssociateRJ(2, 1, 9))
    assert isinstance(reserved, Rejected)
    assert reserved.description == "rejected-transient by the DICOM UL service-user: reason 9"
    user = read_response(rq, wire(AAbort()))
    assert isinstance(user, Aborted) and user.description == "A-ABORT by the service-user"
    provider = read_response(
        rq, wire(AAbort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU))
    )
    assert isinstance(provider, Aborted)
    assert provider.description == "A-P-ABORT by the service-provider: unexpected-PDU"


@pytest.mark.parametrize("pdu", [PDataTF(), AReleaseRQ(), AAssociateRQ("A", "B")])
def test_any_other_answer_is_a_protocol_error(pdu: Any) -> None:
    with pytest.raises(InvalidParameter) as raised:
        read_response(simple_rq(), pdu)
    assert (raised.value.code, raised.value.path) == ("UNEXPECTED_PDU", "response")


def test_read_response_and_respond_need_an_rq() -> None:
    with pytest.raises(InvalidParameterType):
        read_response(AAssociateAC("A", "B"), AAbort())  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterType):
        respond(AAssociateAC("A", "B"), {})  # type: ignore[arg-type]


# --- roles ----------------------------------------------------------------------------------------


def _role_items(ac: AAssociateAC) -> list[tuple[str, int, int]]:
    user = user_of(ac)
    return [(r.sop_class_uid, int(r.scu_role), int(r.scp_role)) for r in user.role_selections]


def test_default_acceptor_grants_only_the_scu_role() -> None:
    rq = simple_rq(roles={CT: Roles(True, True)})
    answer = accept(rq, {CT: [IMPLICIT]})
    assert _role_items(answer.pdu) == [(CT, 1, 0)]
    requestor = read_ac(rq, answer.pdu)
    assert requestor.role_selections == {CT: Roles(True, False)}
    assert requestor.roles_for(CT) == Roles(scu=True, scp=False)
    assert answer.association.roles_for(CT) == Roles(scu=False, scp=True)


def test_acceptor_allows_the_scp_role_when_configured() -> None:
    rq = simple_rq(roles={CT: Roles(True, True)})
    requestor, acceptor = both_sides(rq, {CT: [IMPLICIT]}, roles={CT: Roles(True, True)})
    for side in (requestor, acceptor):
        assert side.role_selections == {CT: Roles(True, True)}
    assert requestor.roles_for(CT) == Roles(True, True) == acceptor.roles_for(CT)


def test_scp_only_proposal_without_permission_rejects_the_context() -> None:
    rq = simple_rq(roles={CT: Roles(False, True)})
    answer = accept(rq, {VERIFICATION: [IMPLICIT], CT: [IMPLICIT]})
    assert [
        (c.presentation_context_id, c.result_reason) for c in answer.pdu.presentation_contexts
    ] == [
        (1, 0),
        (3, PresentationContextResult.USER_REJECTION),
    ]
    assert _role_items(answer.pdu) == []  # no answer for a SOP class with no accepted context
    requestor = read_ac(rq, answer.pdu)
    assert requestor.rejected_contexts[3] == RejectedContext(CT, 1)
    inverted = accept(rq, {CT: [IMPLICIT]}, roles={CT: Roles(False, True)})
    assert _role_items(inverted.pdu) == [(CT, 0, 1)]
    assert inverted.association.roles_for(CT) == Roles(scu=True, scp=False)


def test_roles_apply_to_every_context_of_the_sop_class() -> None:
    rq = build_request(
        "A", "B", [(CT, [EXPLICIT]), (CT, [IMPLICIT]), (MR, [IMPLICIT])], roles={CT: (True, True)}
    )
    answer = accept(rq, {CT: [IMPLICIT, EXPLICIT], MR: [IMPLICIT]}, roles={CT: (False, True)})
    assert _role_items(answer.pdu) == [(CT, 0, 1)]
    assert set(answer.association.accepted_contexts) == {1, 3, 5}


def test_requestor_ignores_roles_it_did_not_propose() -> None:
    rq = simple_rq(roles={CT: Roles(True, False)})
    ac = ac_for(rq, {CT: [IMPLICIT]})
    crafted = with_user(
        ac,
        *base_user(),
        SCPSCURoleSelectionSubItem(CT, Role.SUPPORT, Role.SUPPORT),
        SCPSCURoleSelectionSubItem(MR, Role.SUPPORT, Role.NON_SUPPORT),
        SCPSCURoleSelectionSubItem(CT, Role.NON_SUPPORT, Role.NON_SUPPORT),
    )
    association = read_ac(rq, crafted)
    assert association.role_selections == {CT: Roles(True, False)}
    assert issues(association) == [
        "DUPLICATE_NEGOTIATION",
        "UNSOLICITED_NEGOTIATION",
        "ROLE_NOT_PROPOSED",
    ]


def test_requestor_gets_default_roles_without_an_answer_and_none_with_a_refusal() -> None:
    rq = simple_rq(roles={CT: Roles(True, True)})
    ac = ac_for(rq, {CT: [IMPLICIT]})
    silent = read_ac(rq, with_user(ac, *base_user()))
    assert silent.role_selections == {} and silent.roles_for(CT) == Roles(True, False)
    refused = read_ac(rq, with_user(ac, *base_user(), SCPSCURoleSelectionSubItem(CT, 0, 0)))
    assert refused.roles_for(CT) == Roles(False, False)
    assert 3 in refused.accepted_contexts and refused.diagnostics == ()


# --- asynchronous operations window ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposed", "ours", "agreed"),
    [
        ((3, 2), (5, 1), (3, 1)),
        ((0, 0), (4, 0), (4, 0)),
        ((0, 7), (0, 0), (0, 7)),
        ((1, 1), (8, 8), (1, 1)),
    ],
)
def test_async_window_is_the_smaller_of_both(
    proposed: tuple[int, int], ours: tuple[int, int], agreed: tuple[int, int]
) -> None:
    rq = simple_rq(async_window=AsyncWindow(*proposed))
    answer = accept(rq, {CT: [IMPLICIT]}, async_window=ours)
    window = user_of(answer.pdu).asynchronous_operations_window
    assert window is not None
    assert (
        window.maximum_number_operations_invoked,
        window.maximum_number_operations_performed,
    ) == agreed
    requestor = read_ac(rq, answer.pdu)
    assert requestor.async_window == AsyncWindow(*agreed) == answer.association.async_window
    assert requestor.diagnostics == ()


def test_async_window_is_left_out_unless_both_sides_want_it() -> None:
    for rq, ours in ((simple_rq(async_window=(4, 4)), None), (simple_rq(), (4, 4))):
        answer = accept(rq, {CT: [IMPLICIT]}, async_window=ours)
        assert user_of(answer.pdu).asynchronous_operations_window is None
        assert answer.association.async_window == SYNCHRONOUS
        assert read_ac(rq, answer.pdu).async_window == (1, 1)


def test_requestor_clamps_an_enlarged_or_unsolicited_window() -> None:
    rq = simple_rq(async_window=(3, 0))
    ac = ac_for(rq, {CT: [IMPLICIT]})
    enlarged = read_ac(rq, with_user(ac, *base_user(), AsynchronousOperationsWindowSubItem(0, 10)))
    assert enlarged.async_window == AsyncWindow(3, 10)
    assert issues(enlarged) == ["WINDOW_ENLARGED"]
    plain = simple_rq()
    unsolicited = read_ac(
        plain, with_user(ac, *base_user(), AsynchronousOperationsWindowSubItem(2, 2))
    )
    assert unsolicited.async_window == SYNCHRONOUS
    assert issues(unsolicited) == ["UNSOLICITED_NEGOTIATION"]


# --- user identity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "primary", "secondary", "verdict", "response"),
    [
        (UserIdentityType.USERNAME, b"alice", b"", True, b""),
        (UserIdentityType.USERNAME_AND_PASSCODE, b"alice", b"secret", True, b""),
        (UserIdentityType.KERBEROS, b"ticket", b"", b"server ticket", b"server ticket"),
        (UserIdentityType.SAML, b"<Assertion/>", b"", b"<Response/>", b"<Response/>"),
        (UserIdentityType.JWT, b"eyJ.x.y", b"", b"eyJ.a.b", b"eyJ.a.b"),
    ],
)
def test_user_identity_positive_response(
    kind: UserIdentityType, primary: bytes, secondary: bytes, verdict: Any, response: bytes
) -> None:
    identity = UserIdentityRQSubItem(kind, primary, secondary, positive_response_requested=1)
    rq = simple_rq(user_identity=identity)
    requestor, acceptor = both_sides(rq, {CT: [IMPLICIT]}, user_identity=lambda item: verdict)
    for side in (requestor, acceptor):
        assert side.user_identity == identity
        assert side.user_identity_response == response
    assert requestor.diagnostics == ()


def test_user_identity_response_only_when_requested_and_checked() -> None:
    quiet = simple_rq(user_identity=UserIdentityRQSubItem(1, b"alice"))
    answer = accept(quiet, {CT: [IMPLICIT]}, user_identity=lambda item: b"token")
    assert user_of(answer.pdu).user_identity is None
    assert answer.association.user_identity_response is None
    asking = simple_rq(user_identity=UserIdentityRQSubItem(1, b"alice", b"", 1))
    unchecked = accept(asking, {CT: [IMPLICIT]})
    assert user_of(unchecked.pdu).user_identity is None
    assert read_ac(asking, unchecked.pdu).user_identity_response is None


def test_unsolicited_identity_response_is_reported_and_kept() -> None:
    rq = simple_rq()
    ac = ac_for(rq, {CT: [IMPLICIT]})
    association = read_ac(rq, with_user(ac, *base_user(), UserIdentityACSubItem(b"hello")))
    assert association.user_identity_response == b"hello"
    assert issues(association) == ["UNSOLICITED_NEGOTIATION"]


def test_user_identity_check_must_answer_bool_or_bytes() -> None:
    rq = simple_rq(user_identity=UserIdentityRQSubItem(1, b"alice", b"", 1))
    with pytest.raises(InvalidParameterType) as raised:
        respond(rq, {CT: [IMPLICIT]}, user_identity=lambda item: 1)  # type: ignore[arg-type,return-value]
    assert raised.value.path == "user_identity"
    with pytest.raises(InvalidParameter):
        respond(rq, {CT: [IMPLICIT]}, user_identity=lambda item: bytes(1 << 16))


# --- extended negotiation -------------------------------------------------------------------------


def test_sop_class_extended_negotiation_both_ways() -> None:
    rq = build_request(
        "A",
        "B",
        [(CT, [IMPLICIT]), (MR, [IMPLICIT]), (US, [IMPLICIT])],
        extended_negotiation={CT: b"\x01\x01", MR: b"\x01", US: b"\x02"},
    )
    requestor, acceptor = both_sides(
        rq, {CT: [IMPLICIT], MR: [IMPLICIT]}, extended_negotiation={CT: b"\x01\x00", US: b"\x09"}
    )
    for side in (requestor, acceptor):
        assert side.extended_negotiation == {CT: b"\x01\x00"}  # MR: no answer; US: not accepted

    calls: list[tuple[str, bytes]] = []

    def answer(sop: str, theirs: bytes) -> bytes | None:
        calls.append((sop, theirs))
        return theirs[:1] if sop == MR else None

    requestor, _ = both_sides(rq, {CT: [IMPLICIT], MR: [IMPLICIT]}, extended_negotiation=answer)
    assert calls == [(CT, b"\x01\x01"), (MR, b"\x01")]
    assert requestor.extended_negotiation == {MR: b"\x01"}


def test_unsolicited_extended_negotiation_is_ignored() -> None:
    rq = simple_rq()
    ac = ac_for(rq, {CT: [IMPLICIT]})
    association = read_ac(
        rq, with_user(ac, *base_user(), SOPClassExtendedNegotiationSubItem(CT, b"\x01"))
    )
    assert association.extended_negotiation == {}
    assert issues(association) == ["UNSOLICITED_NEGOTIATION"]


# --- reading odd answers --------------------------------------------------------------------------


def test_ac_answers_that_do_not_match_the_proposal() -> None:
    rq = build_request("A", "B", [(VERIFICATION, [IMPLICIT]), (CT, [IMPLICIT]), (MR, [IMPLICIT])])
    ac = ac_for(rq, {})
    crafted = with_contexts(
        ac,
        PresentationContextACItem.build(1, 0, EXPLICIT),  # TS not proposed: kept
        PresentationContextACItem.build(1, 4, IMPLICIT),  # answered twice
        PresentationContextACItem.build(3, 0, None),  # accepted without a TS
        PresentationContextACItem.build(11, 0, IMPLICIT),  # never proposed
        # 5 (MR) is not answered at all
    )
    association = read_ac(rq, crafted)
    assert dict(association.accepted_contexts) == {1: AcceptedContext(VERIFICATION, EXPLICIT)}
    assert association.rejected_contexts == {}
    assert issues(association) == [
        "TRANSFER_SYNTAX_NOT_PROPOSED",
        "DUPLICATE_CONTEXT_ID",
        "NO_TRANSFER_SYNTAX",
        "CONTEXT_NOT_PROPOSED",
        "CONTEXT_NOT_ANSWERED",
    ]
    assert [d.path for d in association.diagnostics] == [
        f"A-ASSOCIATE-AC > presentation context {cid}" for cid in (1, 1, 3, 11, 5)
    ]
    with pytest.raises(PolicyViolation) as raised:
        read_response(rq, crafted, policy=STRICT)
    assert raised.value.code == "TRANSFER_SYNTAX_NOT_PROPOSED"


def test_rejected_answers_keep_their_reason_even_without_a_transfer_syntax() -> None:
    rq = build_request("A", "B", [(CT, [IMPLICIT]), (MR, [IMPLICIT])])
    ac = ac_for(rq, {})
    crafted = with_contexts(
        ac, PresentationContextACItem.build(1, 2, None), PresentationContextACItem.build(3, 9, "")
    )
    association = read_ac(rq, crafted)
    assert dict(association.rejected_contexts) == {
        1: RejectedContext(CT, PresentationContextResult.NO_REASON),
        3: RejectedContext(MR, 9),
    }
    assert association.diagnostics == ()


def test_peer_max_length_missing_or_too_small() -> None:
    rq = simple_rq()
    ac = ac_for(rq, {CT: [IMPLICIT]})
    missing = read_ac(rq, with_user(ac, ImplementationClassUIDSubItem("1.2.3")))
    assert missing.peer_max_pdu_length == DEFAULT_MAX_PDU_LENGTH
    assert missing.peer_implementation_class_uid == "1.2.3"
    assert missing.peer_implementation_version_name is None
    assert issues(missing) == ["MAX_LENGTH_MISSING"]
    for small in (1, 3, MIN_MAX_PDU_LENGTH - 1):  # read and kept, since it arrived
        tiny = read_ac(rq, with_user(ac, *base_user(small)))
        assert tiny.peer_max_pdu_length == small
        assert issues(tiny) == ["MAX_LENGTH_TOO_SMALL"]
    smallest = read_ac(rq, with_user(ac, *base_user(MIN_MAX_PDU_LENGTH)))
    assert smallest.peer_max_pdu_length == MIN_MAX_PDU_LENGTH and smallest.diagnostics == ()
    unlimited = read_ac(rq, with_user(ac, *base_user(0)))
    assert unlimited.peer_max_pdu_length == 0 and unlimited.diagnostics == ()


def test_changed_application_context_is_reported() -> None:
    rq = simple_rq()
    ac = ac_for(rq, {CT: [IMPLICIT]})
    items = tuple(
        ApplicationContextItem("1.2.3.4") if isinstance(i, ApplicationContextItem) else i
        for i in ac.variable_items
    )
    association = read_ac(rq, dataclasses.replace(ac, variable_items=items))
    assert association.application_context_name == "1.2.3.4"
    assert issues(association) == ["APPLICATION_CONTEXT_CHANGED"]


NEGOTIATION_CODES = {
    "CONTEXT_NOT_PROPOSED",
    "TRANSFER_SYNTAX_NOT_PROPOSED",
    "CONTEXT_NOT_ANSWERED",
    "NO_TRANSFER_SYNTAX",
    "NO_ABSTRACT_SYNTAX",
    "DUPLICATE_CONTEXT_ID",
    "DUPLICATE_NEGOTIATION",
    "UNSOLICITED_NEGOTIATION",
    "ROLE_NOT_PROPOSED",
    "WINDOW_ENLARGED",
    "MAX_LENGTH_MISSING",
    "MAX_LENGTH_TOO_SMALL",
    "APPLICATION_CONTEXT_CHANGED",
}


def test_negotiation_issues_are_the_documented_ones() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("| Code | What happened, and what is kept |") :].split("\n\n", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))
    assert documented == NEGOTIATION_CODES
    for name in documented:
        assert DiagnosticCode[name].value == name
    source = "".join(path.read_text(encoding="utf-8") for path in PACKAGE.glob("*.py"))
    emitted = set(re.findall(r"\b(?:_D|DiagnosticCode)\.([A-Z_]+)", source))
    # every code negotiation reports is documented; UNEXPECTED_PDU is raised, not reported
    assert emitted == NEGOTIATION_CODES | {"UNEXPECTED_PDU"}


def test_a_policy_can_single_out_one_negotiation_code() -> None:
    rq = simple_rq()
    odd = with_contexts(
        ac_for(rq, {CT: [IMPLICIT], VERIFICATION: [IMPLICIT]}),
        PresentationContextACItem.build(1, 0, IMPLICIT),
        PresentationContextACItem.build(3, 0, IMPLICIT),
        PresentationContextACItem.build(9, 0, IMPLICIT),
    )
    allowed = Policy(strict=True, allow=frozenset({DiagnosticCode.CONTEXT_NOT_PROPOSED}))
    result = read_response(rq, wire(odd), policy=allowed)
    assert isinstance(result, Accepted)
    assert issues(result.association) == ["CONTEXT_NOT_PROPOSED"]
    picky = Policy(raise_on=frozenset({DiagnosticCode.CONTEXT_NOT_PROPOSED}))
    with pytest.raises(PolicyViolation) as raised:
        read_response(rq, wire(odd), policy=picky)
    assert raised.value.diagnostic.code is DiagnosticCode.CONTEXT_NOT_PROPOSED


# --- the Association value ------------------------------------------------------------------------


def test_association_is_immutable_and_copies_its_mappings() -> None:
    contexts = {1: AcceptedContext(CT, IMPLICIT)}
    association = Association(True, "A", "B", APPLICATION_CONTEXT_NAME, accepted_contexts=contexts)
    contexts[3] = AcceptedContext(MR, IMPLICIT)
    assert dict(association.accepted_contexts) == {1: (CT, IMPLICIT)}
    with pytest.raises(TypeError):
        association.accepted_contexts[5] = AcceptedContext(US, IMPLICIT)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        association.peer_max_pdu_length = 5  # type: ignore[misc]
    twin = dataclasses.replace(
        association,
        diagnostics=(Diagnostic(DiagnosticCode.MISSING_ITEM, "x"),),
    )
    assert twin == association and hash(twin) == hash(association)
    abstract, transfer = association.accepted_contexts[1]
    assert (abstract, transfer) == (CT, IMPLICIT)


def test_user_identity_secret_is_not_in_the_repr() -> None:
    rq = simple_rq(user_identity=UserIdentityRQSubItem(2, b"alice", b"hunter2"))
    _, acceptor = both_sides(rq, {CT: [IMPLICIT]})
    assert acceptor.user_identity is not None
    assert acceptor.user_identity.secondary_field == b"hunter2"
    assert "hunter2" not in repr(acceptor)


# --- acceptor parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supported", "options", "error", "path"),
    [
        ([CT], {}, InvalidParameterType, "supported"),
        ({"CT": [IMPLICIT]}, {}, InvalidParameter, "supported['CT']"),
        ({CT: IMPLICIT}, {}, InvalidParameterType, f"supported[{CT!r}]"),
        ({CT: ["1.2.840.10008.1.2.x"]}, {}, InvalidParameter, f"supported[{CT!r}][0]"),
        (lambda abstract: IMPLICIT, {}, InvalidParameterType, f"supported({VERIFICATION!r})"),
        ({}, {"called_ae_titles": "SCP"}, InvalidParameterType, "called_ae_titles"),
        ({}, {"calling_ae_titles": ["A" * 17]}, InvalidParameter, "calling_ae_titles[0]"),
        ({}, {"max_pdu_length": 3}, InvalidParameter, "max_pdu_length"),
        ({}, {"max_pdu_length": 7}, InvalidParameter, "max_pdu_length"),
        ({}, {"roles": {CT: (True, None)}}, InvalidParameterType, f"roles[{CT!r}].scp"),
        ({}, {"roles": {"x": (True, True)}}, InvalidParameter, "roles['x']"),
        ({}, {"implementation_class_uid": ""}, InvalidParameter, "implementation_class_uid"),
        ({}, {"async_window": (70000, 1)}, InvalidParameter, "async_window.invoked"),
        ({}, {"async_window": [1, 1]}, InvalidParameterType, "async_window"),
        ({}, {"user_identity": b"alice"}, InvalidParameterType, "user_identity"),
        ({}, {"extended_negotiation": [CT]}, InvalidParameterType, "extended_negotiation"),
        (
            {},
            {"extended_negotiation": {CT: "yes"}},
            InvalidParameterType,
            f"extended_negotiation[{CT!r}]",
        ),
        (
            {},
            {"implementation_version_name": "ÄÖ"},
            InvalidParameter,
            "implementation_version_name",
        ),
    ],
)
def test_invalid_acceptor_parameters_are_named(
    supported: Any, options: dict[str, Any], error: type[Exception], path: str
) -> None:
    with pytest.raises(error) as raised:
        respond(simple_rq(), supported, **options)
    assert raised.value.path == path  # type: ignore[attr-defined]


def test_extended_negotiation_answers_must_be_bytes() -> None:
    rq = simple_rq(extended_negotiation={CT: b"\x01"})
    with pytest.raises(InvalidParameterType) as raised:
        respond(rq, {CT: [IMPLICIT]}, extended_negotiation=lambda sop, info: "yes")  # type: ignore[arg-type]
    assert raised.value.path == f"extended_negotiation[{CT!r}]"


def test_acceptor_can_announce_another_implementation() -> None:
    answer = accept(
        simple_rq(),
        {CT: [IMPLICIT]},
        implementation_class_uid="1.2.3.4.5",
        implementation_version_name=None,
    )
    requestor = read_ac(simple_rq(), answer.pdu)
    assert requestor.peer_implementation_class_uid == "1.2.3.4.5"
    assert requestor.peer_implementation_version_name is None


# --- properties -----------------------------------------------------------------------------------

proposals = st.lists(
    st.tuples(
        st.sampled_from(ABSTRACTS),
        st.lists(st.sampled_from(TRANSFERS), min_size=1, max_size=5, unique=True),
    ),
    min_size=1,
    max_size=12,
)
supports = st.dictionaries(
    st.sampled_from(ABSTRACTS),
    st.lists(st.sampled_from(TRANSFERS), max_size=5, unique=True),
)
role_pairs = st.tuples(st.booleans(), st.booleans())
proposed_roles = st.dictionaries(
    st.sampled_from(ABSTRACTS), role_pairs.filter(lambda pair: any(pair))
)
allowed_roles = st.dictionaries(st.sampled_from(ABSTRACTS), role_pairs)


@given(proposals, supports, proposed_roles, allowed_roles, st.data())
def test_negotiated_contexts_follow_the_rules(
    contexts: list[tuple[str, list[str]]],
    supported: dict[str, list[str]],
    asked: dict[str, tuple[bool, bool]],
    allowed: dict[str, tuple[bool, bool]],
    data: st.DataObject,
) -> None:
    asked = {sop: pair for sop, pair in asked.items() if any(a == sop for a, _ in contexts)}
    ids = data.draw(st.permutations(range(1, 256, 2)))[: len(contexts)]
    specs = [
        ProposedContext(abstract, tss, cid if data.draw(st.booleans()) else None)
        for cid, (abstract, tss) in zip(ids, contexts, strict=True)
    ]
    rq = build_request("SCU", "SCP", specs, roles=asked)
    answer = accept(rq, supported, roles=allowed)
    proposed = {c.presentation_context_id: c for c in rq.presentation_contexts}
    answered = [c.presentation_context_id for c in answer.pdu.presentation_contexts]
    assert answered == [c.presentation_context_id for c in rq.presentation_contexts]
    for spec, sent in zip(specs, rq.presentation_contexts, strict=True):
        if spec.context_id is not None:
            assert sent.presentation_context_id == spec.context_id
    association = answer.association
    for reply in answer.pdu.presentation_contexts:
        cid = reply.presentation_context_id
        abstract, tss = proposed[cid].abstract_syntax or "", proposed[cid].transfer_syntaxes
        ours = supported.get(abstract)
        overlap = [ts for ts in ours or () if ts in tss]
        asked_pair = asked.get(abstract)
        allowed_pair = allowed.get(abstract, (True, False))
        roles_left = asked_pair is None or any(
            a and b for a, b in zip(asked_pair, allowed_pair, strict=True)
        )
        if reply.result_reason == 0:
            assert ours is not None and roles_left
            assert reply.transfer_syntax in tss
            assert reply.transfer_syntax == overlap[0]  # our most preferred of theirs
            assert association.accepted_contexts[cid] == (abstract, reply.transfer_syntax)
        else:
            expected = 3 if ours is None else 4 if not overlap else 1
            assert reply.result_reason == expected
            assert expected != 1 or not roles_left
            assert association.rejected_contexts[cid] == (abstract, expected)
            assert reply.transfer_syntax == tss[0]
    assert len(association.accepted_contexts) + len(association.rejected_contexts) == len(specs)
    # the requestor, reading the AC from bytes, agrees with the acceptor
    requestor = read_ac(rq, answer.pdu)
    assert requestor.accepted_contexts == association.accepted_contexts
    assert requestor.rejected_contexts == association.rejected_contexts
    assert requestor.role_selections == association.role_selections
    for abstract in ABSTRACTS:
        mine, theirs = requestor.roles_for(abstract), association.roles_for(abstract)
        assert (mine.scu, mine.scp) == (theirs.scp, theirs.scu)
    assert requestor.diagnostics == () == association.diagnostics


ae_titles = st.text(
    alphabet=[c for c in string.printable[:95] if c != "\\"], min_size=1, max_size=16
).filter(lambda text: text.strip(" ") == text)
uids = (
    st.lists(st.one_of(st.just("0"), st.integers(1, 10**12).map(str)), min_size=2, max_size=8)
    .map(".".join)
    .filter(lambda text: len(text) <= 64)
)


@given(
    ae_titles,
    ae_titles,
    st.lists(st.tuples(uids, st.lists(uids, min_size=1, max_size=4)), min_size=1, max_size=20),
    st.one_of(st.just(0), st.integers(MIN_MAX_PDU_LENGTH, MAX_PDU_LENGTH_FIELD)),
)
def test_any_valid_request_survives_the_wire(
    calling: str, called: str, contexts: list[tuple[str, list[str]]], max_pdu: int
) -> None:
    rq = build_request(calling, called, contexts, max_pdu_length=max_pdu)
    received = wire(rq)
    assert received.diagnostics == ()
    assert (received.calling_ae_title, received.called_ae_title) == (calling, called)
    assert user_of(received).maximum_length == max_pdu
    assert [
        (c.abstract_syntax, list(c.transfer_syntaxes)) for c in received.presentation_contexts
    ] == [(abstract, tss) for abstract, tss in contexts]


# --- the documentation ----------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(DOC_BLOCKS)))
def test_docs_example_runs(index: int) -> None:
    code = compile(DOC_BLOCKS[index], f"docs/association.md[{index}]", "exec")
    exec(code, {"__name__": "docs_example"})


def test_docs_have_examples_for_both_sides() -> None:
    assert len(DOC_BLOCKS) >= 5
    joined = "\n".join(DOC_BLOCKS)
    for name in ("build_request", "read_response", "respond", "reject", "fragment_size"):
        assert name in joined


# --- interop with pynetdicom ----------------------------------------------------------------------


def pn_decode(cls_name: str, data: bytes) -> Any:
    """Decode bytes with a pynetdicom PDU class and return its primitive."""
    pdu = getattr(pn_pdu, cls_name)()
    pdu.decode(data)
    return pdu.to_primitive()


def pn_user(primitive: Any) -> dict[str, list[Any]]:
    """pynetdicom's user information primitives grouped by class name."""
    grouped: dict[str, list[Any]] = {}
    for item in primitive.user_information:
        grouped.setdefault(type(item).__name__, []).append(item)
    return grouped


def pn_context(context_id: int, abstract: str, tss: Sequence[str]) -> Any:
    """A pynetdicom PresentationContext with an ID."""
    context = pn_presentation.build_context(abstract, list(tss))
    context.context_id = context_id
    return context


def pn_user_items(*, max_length: int = 32768, version: str | None = "PYNETDICOM_304") -> list[Any]:
    """pynetdicom's mandatory user information primitives (and a version name)."""
    length = pn_prim.MaximumLengthNotification()
    length.maximum_length_received = max_length
    uid = pn_prim.ImplementationClassUIDNotification()
    uid.implementation_class_uid = "1.2.826.0.1.3680043.9.3811.3.0.4"
    items = [length, uid]
    if version is not None:
        name = pn_prim.ImplementationVersionNameNotification()
        name.implementation_version_name = version
        items.append(name)
    return items


@needs_pynetdicom
def test_pynetdicom_decodes_our_request_with_every_item() -> None:
    identity = UserIdentityRQSubItem(UserIdentityType.USERNAME_AND_PASSCODE, b"alice", b"pw", 1)
    rq = build_request(
        "STORESCU",
        "ARCHIVE",
        [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT, IMPLICIT]), ProposedContext(MR, [JPEG], 9)],
        max_pdu_length=65536,
        roles={CT: Roles(False, True)},
        async_window=(4, 2),
        user_identity=identity,
        extended_negotiation={CT: b"\x01\x00"},
        common_extended_negotiation={MR: (STORAGE_SERVICE, [CT])},
    )
    primitive = pn_decode("A_ASSOCIATE_RQ", encode_pdu(rq))
    assert (primitive.calling_ae_title, primitive.called_ae_title) == ("STORESCU", "ARCHIVE")
    assert primitive.application_context_name == APPLICATION_CONTEXT_NAME
    assert [
        (c.context_id, c.abstract_syntax, list(c.transfer_syntax))
        for c in primitive.presentation_context_definition_list
    ] == [(1, VERIFICATION, [IMPLICIT]), (3, CT, [EXPLICIT, IMPLICIT]), (9, MR, [JPEG])]
    user = pn_user(primitive)
    assert user["MaximumLengthNotification"][0].maximum_length_received == 65536
    assert user["ImplementationClassUIDNotification"][0].implementation_class_uid == (
        IMPLEMENTATION_CLASS_UID
    )
    assert user["ImplementationVersionNameNotification"][0].implementation_version_name == (
        IMPLEMENTATION_VERSION_NAME
    )
    (role,) = user["SCP_SCU_RoleSelectionNegotiation"]
    assert (role.sop_class_uid, role.scu_role, role.scp_role) == (CT, False, True)
    (window,) = user["AsynchronousOperationsWindowNegotiation"]
    assert (
        window.maximum_number_operations_invoked,
        window.maximum_number_operations_performed,
    ) == (
        4,
        2,
    )
    (ident,) = user["UserIdentityNegotiation"]
    assert (ident.user_identity_type, ident.primary_field, ident.secondary_field) == (
        2,
        b"alice",
        b"pw",
    )
    assert ident.positive_response_requested is True
    (extended,) = user["SOPClassExtendedNegotiation"]
    assert (extended.sop_class_uid, extended.service_class_application_information) == (
        CT,
        b"\x01\x00",
    )
    (common,) = user["SOPClassCommonExtendedNegotiation"]
    assert (common.sop_class_uid, common.service_class_uid) == (MR, STORAGE_SERVICE)
    assert list(common.related_general_sop_class_identification) == [CT]


@needs_pynetdicom
@given(
    ae_titles.filter(lambda text: "  " not in text),
    ae_titles.filter(lambda text: "  " not in text),
    proposals,
    st.one_of(st.just(0), st.integers(MIN_MAX_PDU_LENGTH, MAX_PDU_LENGTH_FIELD)),
    proposed_roles,
)
def test_pynetdicom_decodes_any_request_of_ours(
    calling: str,
    called: str,
    contexts: list[tuple[str, list[str]]],
    max_pdu: int,
    roles: dict[str, tuple[bool, bool]],
) -> None:
    roles = {sop: pair for sop, pair in roles.items() if any(a == sop for a, _ in contexts)}
    rq = build_request(calling, called, contexts, max_pdu_length=max_pdu, roles=roles)
    primitive = pn_decode("A_ASSOCIATE_RQ", encode_pdu(rq))
    assert (primitive.calling_ae_title, primitive.called_ae_title) == (calling, called)
    assert [
        (c.context_id, c.abstract_syntax, list(c.transfer_syntax))
        for c in primitive.presentation_context_definition_list
    ] == [(2 * index + 1, a, tss) for index, (a, tss) in enumerate(contexts)]
    user = pn_user(primitive)
    assert user["MaximumLengthNotification"][0].maximum_length_received == max_pdu
    assert {
        r.sop_class_uid: (r.scu_role, r.scp_role)
        for r in user.get("SCP_SCU_RoleSelectionNegotiation", [])
    } == roles


@needs_pynetdicom
def test_our_acceptor_negotiates_a_pynetdicom_request() -> None:
    request = pn_prim.A_ASSOCIATE()
    request.application_context_name = APPLICATION_CONTEXT_NAME
    request.calling_ae_title = "PYNETDICOM"
    request.called_ae_title = "DIMSECODEC"
    request.presentation_context_definition_list = [
        pn_context(1, VERIFICATION, [EXPLICIT, IMPLICIT]),
        pn_context(3, CT, [JPEG, EXPLICIT]),
        pn_context(5, MR, [IMPLICIT]),
        pn_context(7, US, [RLE]),
    ]
    role = pn_prim.SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid, role.scu_role, role.scp_role = CT, True, True
    identity = pn_prim.UserIdentityNegotiation()
    identity.user_identity_type = 4
    identity.primary_field = b"<saml:Assertion/>"
    identity.positive_response_requested = True
    window = pn_prim.AsynchronousOperationsWindowNegotiation()
    window.maximum_number_operations_invoked = 5
    window.maximum_number_operations_performed = 0
    extended = pn_prim.SOPClassExtendedNegotiation()
    extended.sop_class_uid, extended.service_class_application_information = CT, b"\x01"
    request.user_information = [*pn_user_items(), role, identity, window, extended]
    pdu = pn_pdu.A_ASSOCIATE_RQ()
    pdu.from_primitive(request)
    received = decode_pdu(pdu.encode())
    assert received.diagnostics == ()

    answer = respond(
        received,
        {VERIFICATION: [IMPLICIT, EXPLICIT], CT: [EXPLICIT, JPEG], US: [IMPLICIT]},
        called_ae_titles={"DIMSECODEC"},
        calling_ae_titles={"PYNETDICOM"},
        max_pdu_length=65536,
        roles={CT: Roles(False, True)},
        async_window=(2, 2),
        user_identity=lambda item: b"<samlp:Response/>",
        extended_negotiation=lambda sop, info: info + b"\x02",
    )
    assert isinstance(answer, Accepted)
    association = answer.association
    assert dict(association.accepted_contexts) == {
        1: AcceptedContext(VERIFICATION, IMPLICIT),
        3: AcceptedContext(CT, EXPLICIT),
    }
    assert {cid: int(c.result) for cid, c in association.rejected_contexts.items()} == {5: 3, 7: 4}
    assert association.peer_max_pdu_length == 32768
    assert association.peer_implementation_class_uid == "1.2.826.0.1.3680043.9.3811.3.0.4"
    assert association.peer_implementation_version_name == "PYNETDICOM_304"
    assert association.role_selections == {CT: Roles(False, True)}
    assert association.roles_for(CT) == Roles(scu=True, scp=False)
    assert association.async_window == AsyncWindow(2, 2)
    assert association.user_identity is not None
    assert association.user_identity.primary_field == b"<saml:Assertion/>"
    assert association.extended_negotiation == {CT: b"\x01\x02"}

    # ... and pynetdicom reads our AC with the same values
    accepted = pn_decode("A_ASSOCIATE_AC", encode_pdu(answer.pdu))
    assert (accepted.called_ae_title, accepted.calling_ae_title) == ("DIMSECODEC", "PYNETDICOM")
    assert accepted.application_context_name == APPLICATION_CONTEXT_NAME
    assert [
        (c.context_id, c.result, list(c.transfer_syntax))
        for c in accepted.presentation_context_definition_results_list
    ] == [(1, 0, [IMPLICIT]), (3, 0, [EXPLICIT]), (5, 3, [IMPLICIT]), (7, 4, [RLE])]
    user = pn_user(accepted)
    assert user["MaximumLengthNotification"][0].maximum_length_received == 65536
    assert user["ImplementationClassUIDNotification"][0].implementation_class_uid == (
        IMPLEMENTATION_CLASS_UID
    )
    assert user["ImplementationVersionNameNotification"][0].implementation_version_name == (
        IMPLEMENTATION_VERSION_NAME
    )
    (answered_role,) = user["SCP_SCU_RoleSelectionNegotiation"]
    assert (answered_role.scu_role, answered_role.scp_role) == (False, True)
    (answered_window,) = user["AsynchronousOperationsWindowNegotiation"]
    assert answered_window.maximum_number_operations_invoked == 2
    assert user["UserIdentityNegotiation"][0].server_response == b"<samlp:Response/>"
    assert user["SOPClassExtendedNegotiation"][0].service_class_application_information == (
        b"\x01\x02"
    )


@needs_pynetdicom
@given(proposals, supports, proposed_roles, allowed_roles)
def test_we_and_pynetdicom_accept_the_same_contexts(
    contexts: list[tuple[str, list[str]]],
    supported: dict[str, list[str]],
    asked: dict[str, tuple[bool, bool]],
    allowed: dict[str, tuple[bool, bool]],
) -> None:
    """pynetdicom's acceptor and ours, given one RQ and one configuration, answer alike; and
    pynetdicom's AC, read by our requestor, gives the association our acceptor computed."""
    asked = {sop: pair for sop, pair in asked.items() if any(a == sop for a, _ in contexts)}
    rq = build_request("SCU", "SCP", contexts, roles=asked)
    ours = accept(rq, supported, roles=allowed)

    primitive = pn_decode("A_ASSOCIATE_RQ", encode_pdu(rq))
    theirs_supported = []
    for abstract, tss in supported.items():
        context = pn_presentation.PresentationContext()
        context.abstract_syntax = abstract
        for ts in tss:
            context.add_transfer_syntax(ts)
        pair = allowed.get(abstract, (True, False))
        context.scu_role, context.scp_role = pair
        theirs_supported.append(context)
    results, role_items = pn_presentation.negotiate_as_acceptor(
        primitive.presentation_context_definition_list,
        theirs_supported,
        {uid: (scu, scp) for uid, (scu, scp) in asked.items()},
    )
    # a rejected context's transfer syntax is not significant (PS3.8 Table 9-18): compare
    # it only for accepted ones
    assert [
        (c.context_id, c.result, c.transfer_syntax[0] if c.result == 0 else None) for c in results
    ] == [
        (
            c.presentation_context_id,
            int(c.result_reason),
            c.transfer_syntax if c.result_reason == 0 else None,
        )
        for c in sorted(ours.pdu.presentation_contexts, key=lambda c: c.presentation_context_id)
    ]
    assert {(r.sop_class_uid, r.scu_role, r.scp_role) for r in role_items} == {
        (sop, roles.scu, roles.scp) for sop, roles in ours.association.role_selections.items()
    }

    answer = pn_prim.A_ASSOCIATE()
    answer.application_context_name = APPLICATION_CONTEXT_NAME
    answer._called_ae_title, answer._calling_ae_title = "SCP", "SCU"
    answer.presentation_context_definition_results_list = results
    answer.user_information = [*pn_user_items(max_length=0), *role_items]
    ac = pn_pdu.A_ASSOCIATE_AC()
    ac.from_primitive(answer)
    read = read_response(rq, decode_pdu(ac.encode()))
    assert isinstance(read, Accepted)
    association = read.association
    assert association.peer_max_pdu_length == 0
    assert association.peer_implementation_version_name == "PYNETDICOM_304"
    assert association.accepted_contexts == ours.association.accepted_contexts
    assert association.rejected_contexts == ours.association.rejected_contexts
    assert association.role_selections == ours.association.role_selections
    assert association.diagnostics == ()


@needs_pynetdicom
@pytest.mark.parametrize(
    ("result", "source", "reason", "text"),
    [
        (1, 1, 1, "rejected-permanent by the DICOM UL service-user: no-reason-given"),
        (1, 1, 2, "application-context-name-not-supported"),
        (1, 1, 3, "calling-AE-title-not-recognized"),
        (1, 1, 7, "called-AE-title-not-recognized"),
        (1, 2, 2, "(ACSE related function): protocol-version-not-supported"),
        (2, 3, 1, "rejected-transient by the DICOM UL service-provider (presentation related"),
        (2, 3, 2, "local-limit-exceeded"),
    ],
)
def test_we_read_pynetdicom_rejections(result: int, source: int, reason: int, text: str) -> None:
    primitive = pn_prim.A_ASSOCIATE()
    primitive.result, primitive.result_source, primitive.diagnostic = result, source, reason
    pdu = pn_pdu.A_ASSOCIATE_RJ()
    pdu.from_primitive(primitive)
    read = read_response(simple_rq(), decode_pdu(pdu.encode()))
    assert isinstance(read, Rejected)
    assert (int(read.result), int(read.source), int(read.reason)) == (result, source, reason)
    assert text in read.description
    # and pynetdicom reads ours the same way
    ours = pn_decode("A_ASSOCIATE_RJ", encode_pdu(read.pdu))
    assert (ours.result, ours.result_source, ours.diagnostic) == (result, source, reason)


@needs_pynetdicom
def test_we_read_pynetdicom_aborts() -> None:
    provider = pn_prim.A_P_ABORT()
    provider.provider_reason = 6
    pdu = pn_pdu.A_ABORT_RQ()
    pdu.from_primitive(provider)
    read = read_response(simple_rq(), decode_pdu(pdu.encode()))
    assert isinstance(read, Aborted)
    assert read.description == "A-P-ABORT by the service-provider: invalid-PDU-parameter-value"
    user = pn_prim.A_ABORT()
    user.abort_source = 0
    pdu = pn_pdu.A_ABORT_RQ()
    pdu.from_primitive(user)
    assert read_response(simple_rq(), decode_pdu(pdu.encode())) == Aborted(AAbort(0, 0))
