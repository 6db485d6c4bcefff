"""The data-set strategies: generated data sets round-trip in every standard transfer syntax,
encoded ones decode and re-encode byte for byte, malformed ones get exactly the answer they
promise under both policies, narrowing narrows and examples shrink small."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from pydicom.dataset import Dataset

from dimse_codec import STRICT
from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    TransferSyntax,
    decode_dataset,
    encode_dataset,
)
from dimse_codec.errors import DimseCodecError, LimitExceeded, PolicyViolation, TruncatedError
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.strategies import (
    STANDARD_TRANSFER_SYNTAXES,
    MalformedDataset,
    datasets,
    encoded_datasets,
    malformed_datasets,
)
from dimse_codec.strategies.datasets import _DEFECTS

HEALTH = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NARROW = settings(
    max_examples=50, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
"""Narrowing is checked on fewer examples: what is generated is checked by the tests above."""
SEARCH = settings(
    max_examples=2000,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
"""Settings for ``find`` when only existence matters: generate until found, do not shrink."""
SHRINK = settings(
    max_examples=200,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
"""Settings for ``find`` when the shrunk example itself is checked."""

DEFECT_NAMES = sorted({defect for _, defect, _, _ in _DEFECTS})
PRIVATE_GROUP = 0x0009


def ts_id(syntax: TransferSyntax) -> str:
    """A readable test ID for a transfer syntax."""
    return syntax.name.replace(" ", "_")


def strict_round_trip(data: bytes, syntax: TransferSyntax) -> Dataset:
    """Decode strictly, check nothing was reported and the decoded set re-encodes to ``data``."""
    found: list[Diagnostic] = []
    decoded = decode_dataset(data, syntax, policy=STRICT, diagnostics=found)
    assert found == []
    assert encode_dataset(decoded, syntax) == data
    return decoded


def has_private(ds: Dataset) -> bool:
    """Whether a data set holds private elements."""
    return any(int(tag) >> 16 == PRIVATE_GROUP for tag in ds.keys())  # noqa: SIM118


# --- valid data sets ------------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_default_datasets_round_trip_in_all_four_syntaxes(ds: Dataset) -> None:
    assert not has_private(ds)
    for syntax in STANDARD_TRANSFER_SYNTAXES:
        data = encode_dataset(ds, syntax)
        assert strict_round_trip(data, syntax) == ds


@pytest.mark.parametrize("syntax", STANDARD_TRANSFER_SYNTAXES, ids=ts_id)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_datasets_for_one_syntax_round_trip_in_it(
    syntax: TransferSyntax, data: st.DataObject
) -> None:
    ds = data.draw(datasets(transfer_syntax=syntax, max_elements=6))
    assert len(ds) <= 6
    assert strict_round_trip(encode_dataset(ds, syntax), syntax) == ds


@HEALTH
@given(encoded_datasets())
def test_encoded_datasets_decode_and_re_encode_byte_for_byte(
    pair: tuple[TransferSyntax, bytes],
) -> None:
    syntax, data = pair
    assert syntax in STANDARD_TRANSFER_SYNTAXES
    decoded = strict_round_trip(data, syntax)
    # and back once more: decode(encode(x)) == x for the decoded value
    assert decode_dataset(encode_dataset(decoded, syntax), syntax) == decoded


@NARROW
@given(encoded_datasets(EXPLICIT_VR_BIG_ENDIAN.uid, max_elements=2))
def test_encoded_datasets_narrow_to_a_syntax(pair: tuple[TransferSyntax, bytes]) -> None:
    assert pair[0] == EXPLICIT_VR_BIG_ENDIAN
    assert len(strict_round_trip(pair[1], pair[0])) <= 2


def test_private_elements_come_only_with_explicit_vr() -> None:
    found = find(datasets(transfer_syntax=EXPLICIT_VR_LITTLE_ENDIAN), has_private, settings=SEARCH)
    assert (
        strict_round_trip(
            encode_dataset(found, EXPLICIT_VR_LITTLE_ENDIAN), EXPLICIT_VR_LITTLE_ENDIAN
        )
        == found
    )
    with pytest.raises(NoSuchExample):
        find(
            datasets(transfer_syntax=IMPLICIT_VR_LITTLE_ENDIAN),
            has_private,
            settings=settings(SEARCH, max_examples=200),
        )


@pytest.mark.parametrize(
    ("what", "predicate"),
    [
        ("a sequence", lambda ds: "ReferencedSOPSequence" in ds and len(ds.ReferencedSOPSequence)),
        ("an empty value", lambda ds: any(e.VR != "SQ" and e.is_empty for e in ds)),
        ("big-endian sensitive values", lambda ds: {"FD", "AT"} <= {e.VR for e in ds}),
    ],
)
def test_datasets_reach_the_interesting_cases(what: str, predicate: Any) -> None:
    found = find(datasets(max_elements=6), predicate, settings=SEARCH)
    for syntax in STANDARD_TRANSFER_SYNTAXES:
        assert strict_round_trip(encode_dataset(found, syntax), syntax) == found, what


def test_datasets_shrink_to_the_fewest_elements() -> None:
    found = find(datasets(), lambda ds: len(ds) >= 2, settings=SHRINK)
    assert len(found) == 2
    assert len(encode_dataset(found, IMPLICIT_VR_LITTLE_ENDIAN)) <= 40


@pytest.mark.parametrize(
    "make",
    [
        lambda: datasets(max_elements=-1),
        lambda: datasets(transfer_syntax="1.2.840.10008.1.2.4.50"),  # JPEG: encapsulated
        lambda: datasets(transfer_syntax="1.2.3.4"),
        lambda: encoded_datasets(max_elements=-1),
        lambda: malformed_datasets(
            [DiagnosticCode.DEFLATE_PADDING], transfer_syntax=IMPLICIT_VR_LITTLE_ENDIAN
        ),
        lambda: malformed_datasets(["invalid VR"], transfer_syntax=IMPLICIT_VR_LITTLE_ENDIAN),
        lambda: malformed_datasets([DiagnosticCode.NO_PDV]),
        lambda: malformed_datasets(transfer_syntax="1.2.840.10008.1.2.4.94"),
    ],
)
def test_impossible_narrowing_is_refused_at_once(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


# --- malformed data sets --------------------------------------------------------------------------


def check(case: MalformedDataset, policy: Policy) -> None:
    """Decode under ``policy`` and check the answer is exactly the one the case promises."""
    expected = case.expected
    if not isinstance(expected, DiagnosticCode):
        with pytest.raises(DimseCodecError) as info:
            decode_dataset(case.data, case.transfer_syntax, policy=policy)
        assert type(info.value) is expected, case
        return
    if policy.raises(expected):
        # a limit met is a LimitExceeded, every other tolerated problem a PolicyViolation
        raised = LimitExceeded if expected is DiagnosticCode.LIMIT_EXCEEDED else PolicyViolation
        with pytest.raises(DimseCodecError) as violation:
            decode_dataset(case.data, case.transfer_syntax, policy=policy)
        assert type(violation.value) is raised, case
        assert violation.value.code == expected.value, case
        return
    found: list[Diagnostic] = []
    decode_dataset(case.data, case.transfer_syntax, policy=policy, diagnostics=found)
    assert [d.code for d in found] == [expected], (case, found)


@HEALTH
@given(malformed_datasets())
def test_every_malformed_data_set_gets_exactly_the_promised_answer(case: MalformedDataset) -> None:
    assert case.is_error is not isinstance(case.expected, DiagnosticCode)
    check(case, LENIENT)
    check(case, STRICT)


@pytest.mark.parametrize("defect", DEFECT_NAMES)
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_defect_is_generated_and_answered(defect: str, data: st.DataObject) -> None:
    case = data.draw(malformed_datasets([defect]))
    assert case.defect == defect
    check(case, LENIENT)
    check(case, STRICT)


@NARROW
@given(
    malformed_datasets(
        [TruncatedError, DiagnosticCode.LIMIT_EXCEEDED], transfer_syntax=EXPLICIT_VR_BIG_ENDIAN
    )
)
def test_malformed_datasets_narrow_by_answer_and_syntax(case: MalformedDataset) -> None:
    assert case.expected in (TruncatedError, DiagnosticCode.LIMIT_EXCEEDED)
    assert case.transfer_syntax == EXPLICIT_VR_BIG_ENDIAN


@pytest.mark.parametrize("defect", DEFECT_NAMES)
def test_malformed_datasets_shrink_to_short_inputs(defect: str) -> None:
    case = find(malformed_datasets([defect]), lambda m: True, settings=SHRINK)
    check(case, LENIENT)
    check(case, STRICT)
    # the nesting defect needs 65 levels of 16 or 20 bytes; every other one is tiny
    limit = 1400 if case.expected is DiagnosticCode.LIMIT_EXCEEDED else 64
    assert len(case.data) <= limit, (case.defect, case.transfer_syntax.name, case.data.hex())
    if case.transfer_syntax != DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
        assert case.transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN or defect == "invalid VR"
