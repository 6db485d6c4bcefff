"""The public PDU strategies: valid values round-trip byte-exact and strict-clean, malformed bytes
get exactly the answer they promise under both policies, every PDU and item type is generated,
narrowing arguments narrow, and failing examples shrink to short inputs."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from dimse_codec import STRICT
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    LimitExceeded,
    PolicyViolation,
    TruncatedError,
)
from dimse_codec.pdu import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AReleaseRP,
    AReleaseRQ,
    MaximumLengthSubItem,
    PDataTF,
    PresentationContextACItem,
    PresentationContextResult,
    PresentationContextRQItem,
    PresentationDataValueItem,
    RejectSource,
    UnknownPDU,
    UserIdentityType,
    UserInformationItem,
    decode_item,
    decode_pdu,
    encode_item,
    encode_pdu,
    read_pdu_header,
)
from dimse_codec.policy import IGNORED_BY_THE_STANDARD, LENIENT, DiagnosticCode, Policy
from dimse_codec.strategies import (
    MalformedPDU,
    aborts,
    abstract_syntax_items,
    application_context_items,
    associate_acs,
    associate_rjs,
    associate_rqs,
    asynchronous_operations_window_items,
    common_extended_negotiation_items,
    extended_negotiation_items,
    implementation_class_uid_items,
    implementation_version_name_items,
    malformed_pdu_bytes,
    max_pdu_lengths,
    maximum_length_items,
    p_data_tfs,
    pdus,
    presentation_context_ac_items,
    presentation_context_rq_items,
    presentation_data_value_items,
    quirky_pdus,
    release_rps,
    release_rqs,
    role_selection_items,
    transfer_syntax_items,
    unknown_pdus,
    user_identity_ac_items,
    user_identity_rq_items,
    user_information_items,
)

HEALTH = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEARCH = settings(
    max_examples=2000,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
"""Settings for ``find`` when only existence matters: generate until found, do not shrink."""

SHRINK = settings(
    max_examples=500,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
"""Settings for ``find`` when the shrunk example itself is checked."""

DECODER_SOURCE = Path(__file__).resolve().parent.parent / "dimse_codec" / "pdu" / "decode.py"


def codes(decoded: Any) -> list[DiagnosticCode]:
    """The diagnostic codes of a decoded PDU, in order."""
    return [d.code for d in decoded.diagnostics]


def nested_items(value: Any) -> Iterator[Any]:
    """Every item and sub-item of an A-ASSOCIATE, depth first."""
    for item in value.variable_items:
        yield item
        yield from getattr(item, "sub_items", ())


def item_types(value: Any) -> set[int]:
    """The item and sub-item type codes an A-ASSOCIATE carries."""
    return {item.item_type for item in nested_items(value)}


def check_valid(value: PDU) -> bytes:
    """Encode, then check both encodings agree and a strict decode is equal and diagnostic-free."""
    data = encode_pdu(value)
    assert encode_pdu(value, canonical=True) == data
    decoded = decode_pdu(data, policy=STRICT)
    assert decoded == value
    assert decoded.diagnostics == ()
    assert encode_pdu(decoded) == data
    assert read_pdu_header(data) == (value.pdu_type, len(data) - 6)
    return data


# --- valid PDUs and items ---------------------------------------------------------------------


@HEALTH
@given(pdus())
def test_every_generated_pdu_round_trips_byte_exact_and_strict_clean(value: PDU) -> None:
    check_valid(value)


PDU_STRATEGIES: list[tuple[Callable[[], st.SearchStrategy[Any]], type[Any]]] = [
    (associate_rqs, AAssociateRQ),
    (associate_acs, AAssociateAC),
    (associate_rjs, AAssociateRJ),
    (p_data_tfs, PDataTF),
    (release_rqs, AReleaseRQ),
    (release_rps, AReleaseRP),
    (aborts, AAbort),
]


@pytest.mark.parametrize(("strategy", "kind"), PDU_STRATEGIES, ids=lambda x: x.__name__)
@HEALTH
@given(data=st.data())
def test_each_pdu_strategy_gives_its_type(
    strategy: Callable[[], st.SearchStrategy[Any]], kind: type[Any], data: st.DataObject
) -> None:
    value = data.draw(strategy())
    assert type(value) is kind
    check_valid(value)


ITEM_STRATEGIES: list[Callable[[], st.SearchStrategy[Any]]] = [
    application_context_items,
    abstract_syntax_items,
    transfer_syntax_items,
    presentation_context_rq_items,
    presentation_context_ac_items,
    user_information_items,
    maximum_length_items,
    implementation_class_uid_items,
    asynchronous_operations_window_items,
    role_selection_items,
    implementation_version_name_items,
    extended_negotiation_items,
    common_extended_negotiation_items,
    user_identity_rq_items,
    user_identity_ac_items,
]


@pytest.mark.parametrize("strategy", ITEM_STRATEGIES, ids=lambda s: s.__name__)
@HEALTH
@given(data=st.data())
def test_each_item_strategy_round_trips_on_its_own_strict_clean(
    strategy: Callable[[], st.SearchStrategy[Any]], data: st.DataObject
) -> None:
    item = data.draw(strategy())
    encoded = encode_item(item)
    assert encode_item(item, canonical=True) == encoded
    assert decode_item(encoded, policy=STRICT) == (item, ())


@HEALTH
@given(unknown_pdus())
def test_unknown_pdus_are_kept_whole_with_one_diagnostic(value: UnknownPDU) -> None:
    assert not 1 <= value.pdu_type <= 7
    decoded = decode_pdu(encode_pdu(value))
    assert decoded == value
    assert codes(decoded) == [DiagnosticCode.UNKNOWN_PDU_TYPE]
    with pytest.raises(PolicyViolation):
        decode_pdu(encode_pdu(value), policy=STRICT)


@HEALTH
@given(quirky_pdus())
def test_quirky_pdus_decode_leniently_to_themselves(value: PDU) -> None:
    data = encode_pdu(value)
    decoded = decode_pdu(data)
    assert decoded == value
    assert encode_pdu(decoded) == data
    standard = decode_pdu(encode_pdu(decoded, canonical=True))
    assert {d.code for d in standard.diagnostics} <= {
        DiagnosticCode.UNKNOWN_PDU_TYPE,
        DiagnosticCode.UNKNOWN_ITEM,
    }


# --- every type is generated ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [AAssociateRQ, AAssociateAC, AAssociateRJ, PDataTF, AReleaseRQ, AReleaseRP, AAbort],
    ids=lambda k: k.name,
)
def test_pdus_generates_every_pdu_type(kind: type[Any]) -> None:
    assert type(find(pdus(), lambda p: isinstance(p, kind), settings=SEARCH)) is kind


RQ_ITEM_TYPES = [0x10, 0x20, 0x30, 0x40, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58]
AC_ITEM_TYPES = [0x10, 0x21, 0x40, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x59]


@pytest.mark.parametrize("item_type", RQ_ITEM_TYPES, ids=hex)
def test_associate_rqs_generate_every_request_item_type(item_type: int) -> None:
    found = find(associate_rqs(), lambda p: item_type in item_types(p), settings=SEARCH)
    assert item_type in item_types(found)


@pytest.mark.parametrize("item_type", AC_ITEM_TYPES, ids=hex)
def test_associate_acs_generate_every_acceptance_item_type(item_type: int) -> None:
    found = find(associate_acs(), lambda p: item_type in item_types(p), settings=SEARCH)
    assert item_type in item_types(found)


def test_coded_values_are_all_generated() -> None:
    def seen(strategy: st.SearchStrategy[Any], pick: Callable[[Any], set[Any]]) -> set[Any]:
        found: set[Any] = set()

        @settings(max_examples=300, database=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(value: Any) -> None:
            found.update(pick(value))

        collect()
        return found

    assert seen(presentation_context_ac_items(), lambda i: {i.result_reason}) == set(
        PresentationContextResult
    )
    assert seen(user_identity_rq_items(), lambda i: {i.user_identity_type}) == set(UserIdentityType)
    assert seen(associate_rjs(), lambda p: {p.source}) == set(RejectSource)
    provider = seen(aborts(), lambda p: {p.reason_diag} if p.source == 2 else set())
    assert provider == set(AbortReason)
    ends = seen(
        p_data_tfs(), lambda p: {v.message_control_header for v in p.presentation_data_value_items}
    )
    assert ends == {0, 1, 2, 3}


# --- narrowing arguments ----------------------------------------------------------------------


@HEALTH
@given(
    pdus([AAbort, 0x05, "A-ASSOCIATE-RJ"]),
    p_data_tfs(context_ids=[3, 5], max_fragment=4, max_pdvs=2),
)
def test_pdus_and_p_data_tfs_narrow(value: PDU, p_data: PDataTF) -> None:
    assert type(value) in (AAbort, AReleaseRQ, AAssociateRJ)
    assert 1 <= len(p_data.presentation_data_value_items) <= 2
    for pdv in p_data.presentation_data_value_items:
        assert pdv.presentation_context_id in (3, 5)
        assert len(pdv.fragment) <= 4
        assert pdv.message_control_header & ~0x03 == 0


@HEALTH
@given(
    user_information_items(is_request=True),
    user_information_items(is_request=False),
    presentation_context_ac_items(results=[PresentationContextResult.USER_REJECTION]),
    presentation_context_rq_items(context_ids=[255], max_transfer_syntaxes=1),
    presentation_data_value_items(context_ids=[7], max_fragment=0),
)
def test_item_strategies_narrow(
    rq_user: UserInformationItem,
    ac_user: UserInformationItem,
    rejected: PresentationContextACItem,
    proposed: PresentationContextRQItem,
    pdv: PresentationDataValueItem,
) -> None:
    assert 0x59 not in {s.item_type for s in rq_user.sub_items}
    assert {0x57, 0x58}.isdisjoint(s.item_type for s in ac_user.sub_items)
    for user in (rq_user, ac_user):
        assert [s.item_type for s in user.sub_items[:2]] == [0x51, 0x52]
    assert rejected.result_reason is PresentationContextResult.USER_REJECTION
    assert proposed.presentation_context_id == 255
    assert len(proposed.transfer_syntaxes) == 1
    assert (pdv.presentation_context_id, bytes(pdv.fragment)) == (7, b"")


@pytest.mark.parametrize(
    "make",
    [
        lambda: pdus([0x08]),
        lambda: pdus([UnknownPDU]),
        lambda: pdus([]),
        lambda: p_data_tfs(context_ids=[2]),
        lambda: p_data_tfs(context_ids=[]),
        lambda: p_data_tfs(max_pdvs=0),
        lambda: presentation_data_value_items(max_fragment=-1),
        lambda: presentation_context_rq_items(context_ids=[257]),
        lambda: presentation_context_rq_items(max_transfer_syntaxes=0),
        lambda: presentation_context_ac_items(results=[]),
        lambda: associate_rqs(max_contexts=0),
        lambda: associate_acs(max_contexts=129),
        lambda: malformed_pdu_bytes(DiagnosticCode.GROUP_LENGTH_MISMATCH),
        lambda: malformed_pdu_bytes(LimitExceeded),
    ],
)
def test_impossible_narrowing_is_refused_at_once(make: Callable[[], Any]) -> None:
    with pytest.raises(ValueError):
        make()


# --- maximum lengths --------------------------------------------------------------------------


def test_max_pdu_lengths_cover_the_documented_classes() -> None:
    typical = (16382, 16384, 32768, 65536, 131072)
    for wanted in (0, 8, 4096, 0xFFFFFFFF, *typical):
        assert find(max_pdu_lengths(), lambda n, w=wanted: n == w, settings=SEARCH) == wanted
    small = find(max_pdu_lengths(), lambda n: 8 < n < 4096 and n % 2 == 1, settings=SEARCH)
    assert small % 2 == 1


@HEALTH
@given(
    max_pdu_lengths(allow_small=False), max_pdu_lengths(allow_unlimited=False, allow_small=False)
)
def test_max_pdu_lengths_without_small_ones_are_what_peers_send(
    any_length: int, limited: int
) -> None:
    assert any_length in (0, 16382, 16384, 32768, 65536, 131072, 0xFFFFFFFF)
    assert limited in (16382, 16384, 32768, 65536, 131072, 0xFFFFFFFF)


@HEALTH
@given(max_pdu_lengths(), max_pdu_lengths(allow_unlimited=False))
def test_max_pdu_lengths_stay_in_range(any_length: int, limited: int) -> None:
    assert any_length == 0 or 8 <= any_length <= 0xFFFFFFFF
    assert 8 <= limited <= 0xFFFFFFFF
    item = MaximumLengthSubItem(limited)
    assert decode_item(encode_item(item), policy=STRICT) == (item, ())


@HEALTH
@given(max_pdu_lengths(allow_unlimited=False).filter(lambda n: n <= 131072))
def test_the_limit_counts_the_p_data_tf_variable_field(limit: int) -> None:
    # one PDV filling the limit: six bytes of PDV header, the rest fragment
    fitting = encode_pdu(PDataTF((PresentationDataValueItem(1, 3, bytes(limit - 6)),)))
    assert len(fitting) == 6 + limit
    assert read_pdu_header(fitting, max_pdu_length=limit) == (0x04, limit)
    assert decode_pdu(fitting, max_pdu_length=limit, policy=STRICT).pdu_type == 0x04
    over = encode_pdu(PDataTF((PresentationDataValueItem(1, 3, bytes(limit - 5)),)))
    with pytest.raises(LimitExceeded):
        decode_pdu(over, max_pdu_length=limit)


# --- malformed bytes --------------------------------------------------------------------------


def check_malformed(case: MalformedPDU, policy: Policy) -> None:
    """Decode under ``policy`` and check the answer is exactly the one the case promises."""
    expected = case.expected
    if not isinstance(expected, DiagnosticCode):
        with pytest.raises(DimseCodecError) as info:
            decode_pdu(case.data, policy=policy)
        assert type(info.value) is expected, case
        return
    if policy.raises(expected):
        with pytest.raises(PolicyViolation) as violation:
            decode_pdu(case.data, policy=policy)
        assert violation.value.code == expected.value, case
        return
    decoded = decode_pdu(case.data, policy=policy)
    assert codes(decoded) == [expected], case
    assert encode_pdu(decoded) == case.data


@HEALTH
@given(malformed_pdu_bytes())
def test_malformed_bytes_get_exactly_the_promised_answer(case: MalformedPDU) -> None:
    assert case.is_error is not isinstance(case.expected, DiagnosticCode)
    check_malformed(case, LENIENT)
    check_malformed(case, STRICT)
    if isinstance(case.expected, DiagnosticCode) and case.expected in IGNORED_BY_THE_STANDARD:
        check_malformed(case, Policy(strict=True, raise_on=frozenset({case.expected})))


def pdu_codes_the_decoder_reports() -> list[DiagnosticCode]:
    """Every diagnostic code the PDU decoder's source reports (``DiagnosticCode.NAME``)."""
    source = DECODER_SOURCE.read_text(encoding="utf-8")
    names = set(re.findall(r"\bDiagnosticCode\.([A-Z_]+)\b", source))
    return sorted((DiagnosticCode[name] for name in names), key=lambda c: c.value)


def answer_id(answer: Any) -> str:
    """A readable test ID for a diagnostic code or an error class."""
    return answer.value if isinstance(answer, DiagnosticCode) else str(answer.__name__)


ANSWERS: list[Any] = [*pdu_codes_the_decoder_reports(), TruncatedError, DecodeError]


def test_the_source_scan_finds_the_pdu_codes() -> None:
    reported = set(pdu_codes_the_decoder_reports())
    assert len(reported) >= 20
    assert {DiagnosticCode.MCH_RESERVED_BITS, DiagnosticCode.NO_PDV} <= reported


@pytest.mark.parametrize("answer", ANSWERS, ids=answer_id)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_answer_of_the_pdu_decoder_is_generated_and_given(
    answer: Any, data: st.DataObject
) -> None:
    case = data.draw(malformed_pdu_bytes(answer))
    assert case.expected is answer
    check_malformed(case, LENIENT)
    check_malformed(case, STRICT)


@pytest.mark.parametrize("answer", ANSWERS, ids=answer_id)
def test_malformed_examples_shrink_to_short_inputs(answer: Any) -> None:
    case = find(malformed_pdu_bytes(answer), lambda m: True, settings=SHRINK)
    check_malformed(case, LENIENT)
    check_malformed(case, STRICT)
    assert len(case.data) <= 256, (case.flaw, case.data.hex())


@HEALTH
@given(malformed_pdu_bytes(TruncatedError, DiagnosticCode.MCH_RESERVED_BITS))
def test_malformed_pdu_bytes_narrows_to_the_answers_asked_for(case: MalformedPDU) -> None:
    assert case.expected in (TruncatedError, DiagnosticCode.MCH_RESERVED_BITS)
    if case.expected is DiagnosticCode.MCH_RESERVED_BITS:
        assert case.data[0] == 0x04
        assert struct.unpack(">L", case.data[2:6])[0] == len(case.data) - 6
