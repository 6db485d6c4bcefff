"""The malformed command-set strategy: every example gets exactly the answer it promises under both
policies, every diagnostic the command-set decoder reports is generated, narrowing narrows, and
failing examples shrink to short command sets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from dimse_codec import STRICT, UnknownMessage, decode_command_set, encode_command_set
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    LimitExceeded,
    PolicyViolation,
    TruncatedError,
)
from dimse_codec.policy import LENIENT, DiagnosticCode, Policy
from dimse_codec.strategies import MalformedCommandSet, malformed_command_sets
from dimse_codec.strategies.commands import _DEFECTS

HEALTH = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NARROW = settings(
    max_examples=50, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
"""Narrowing is checked on fewer examples: what is generated is checked by the tests above."""
SHRINK = settings(
    max_examples=200,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
"""Settings for ``find`` when the shrunk example itself is checked."""


def answer_id(answer: Any) -> str:
    """A readable test ID for a diagnostic code or an error class."""
    return answer.value if isinstance(answer, DiagnosticCode) else str(answer.__name__)


DIMSE = Path(__file__).resolve().parent.parent / "dimse_codec" / "dimse"
DEFECT_NAMES = sorted({defect for _, defect, _, _ in _DEFECTS})
ANSWERS: list[Any] = sorted({answer for answer, _, _, _ in _DEFECTS}, key=answer_id)


def check(case: MalformedCommandSet, policy: Policy) -> None:
    """Decode under ``policy`` and check the answer is exactly the one the case promises."""
    expected = case.expected
    if not isinstance(expected, DiagnosticCode):
        with pytest.raises(DimseCodecError) as info:
            decode_command_set(case.data, policy=policy)
        assert type(info.value) is expected, case
        return
    if policy.raises(expected):
        with pytest.raises(PolicyViolation) as violation:
            decode_command_set(case.data, policy=policy)
        assert violation.value.code == expected.value, case
        return
    decoded = decode_command_set(case.data, policy=policy)
    assert [d.code for d in decoded.diagnostics] == [expected], (case, decoded.diagnostics)
    # lenient keeps everything: the decoded primitive re-encodes to the same bytes
    assert encode_command_set(decoded) == case.data
    if isinstance(decoded, UnknownMessage):
        assert expected in (
            DiagnosticCode.UNKNOWN_COMMAND_FIELD,
            DiagnosticCode.MISSING_COMMAND_FIELD,
        )
    else:
        assert decoded.message_spec is not None and decoded.message_spec.name == case.message


@HEALTH
@given(malformed_command_sets())
def test_every_malformed_command_set_gets_exactly_the_promised_answer(
    case: MalformedCommandSet,
) -> None:
    assert case.is_error is not isinstance(case.expected, DiagnosticCode)
    check(case, LENIENT)
    check(case, STRICT)


@pytest.mark.parametrize("defect", DEFECT_NAMES)
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_defect_is_generated_and_answered(defect: str, data: st.DataObject) -> None:
    case = data.draw(malformed_command_sets([defect]))
    assert case.defect == defect
    check(case, LENIENT)
    check(case, STRICT)


def command_codes_the_decoder_reports() -> set[DiagnosticCode]:
    """Every diagnostic code the command-set decoder's sources report."""
    names: set[str] = set()
    for name in ("codec.py", "values.py", "command_set.py"):
        text = (DIMSE / name).read_text(encoding="utf-8")
        names.update(re.findall(r"\bDiagnosticCode\.([A-Z0-9_]+)\b", text))
    return {DiagnosticCode[name] for name in names}


def test_every_code_of_the_command_set_decoder_is_generated() -> None:
    reported = command_codes_the_decoder_reports()
    assert len(reported) >= 25
    generated = {a for a in ANSWERS if isinstance(a, DiagnosticCode)}
    assert reported - generated == set()


@pytest.mark.parametrize("answer", [TruncatedError, DecodeError, DiagnosticCode.UID_TOO_LONG])
@NARROW
@given(data=st.data())
def test_kinds_narrow_by_answer(answer: Any, data: st.DataObject) -> None:
    case = data.draw(malformed_command_sets([answer]))
    assert case.expected is answer


@NARROW
@given(malformed_command_sets(["VM_GT_1", "no group length"]))
def test_kinds_narrow_by_code_value_or_defect_name(case: MalformedCommandSet) -> None:
    assert case.expected in (DiagnosticCode.VM_GT_1, DiagnosticCode.GROUP_LENGTH_MISSING)


@pytest.mark.parametrize(
    "kinds", [[DiagnosticCode.NO_PDV], [LimitExceeded], ["no such defect"], []]
)
def test_impossible_narrowing_is_refused_at_once(kinds: list[Any]) -> None:
    with pytest.raises(ValueError):
        malformed_command_sets(kinds)


@NARROW
@given(malformed_command_sets(["AE title over 16 characters", DiagnosticCode.DATA_SET_MISSING]))
def test_defects_go_only_to_message_types_that_can_carry_them(case: MalformedCommandSet) -> None:
    if case.expected is DiagnosticCode.AE_TOO_LONG:
        assert case.message in ("C-MOVE-RQ", "C-STORE-RQ")
    else:
        assert case.message in ("C-STORE-RQ", "C-FIND-RQ", "C-GET-RQ", "C-MOVE-RQ", "N-SET-RQ")


@pytest.mark.parametrize("answer", ANSWERS, ids=answer_id)
def test_malformed_command_sets_shrink_to_short_inputs(answer: Any) -> None:
    case = find(malformed_command_sets([answer]), lambda m: True, settings=SHRINK)
    check(case, LENIENT)
    check(case, STRICT)
    # the smallest message types are C-CANCEL-RQ (42 bytes) and C-ECHO-RQ (52 bytes)
    assert len(case.data) <= 160, (case.defect, case.message, case.data.hex())
