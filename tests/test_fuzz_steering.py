"""Coverage-free steering: answer signatures, novelty, and a campaign that follows new answers.

Sans-I/O: the campaign runs against ``execute`` functions that answer from the case alone, so
with a fixed seed every run draws the same cases; no clock is read (every record takes 0 s).
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from test_fuzz_live import ACCEPTED, TARGET, echo_case

from dimse_codec.scpfuzz import (
    Answer,
    AnswerKind,
    CampaignSettings,
    Case,
    Expect,
    Health,
    Liveness,
    Observation,
    StepRecord,
    cases,
    classify,
    judge,
    run_campaign,
)
from dimse_codec.scpfuzz.findings import outcomes
from dimse_codec.scpfuzz.steering import (
    ACCEPT_FLOOR,
    Steering,
    answer_signature,
    timing_bucket,
)

KINDS = ["echo", "store", "abort", "odd-fragment", "bad-length"]
"""Kinds with many cases each (Hypothesis does not repeat a case, so a kind of one case would
run out), valid and malformed."""
ALIVE = Liveness(Health.ALIVE)


class NewAnswers:
    """Answers every example of one kind in a way not seen before, the others the same way:
    valid requests with Success, invalid steps with an A-ABORT (so every example is
    ``normal`` and nothing is shrunk); the new answers are new statuses or abort reasons."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.counter = itertools.count(0xB000)

    def __call__(self, case: Case) -> Observation:
        judgement = judge(case, TARGET)
        records = []
        new = case.kind == self.kind
        for step, verdict in zip(case.steps, judgement.steps, strict=True):
            answer = {
                Expect.ASSOCIATION: ACCEPTED,
                Expect.RELEASE: Answer(AnswerKind.RELEASED),
                Expect.NOTHING: Answer(AnswerKind.CLOSED),
            }.get(step.expect)
            if not verdict.valid:
                reason = next(self.counter) if new else 0
                answer = Answer(AnswerKind.ABORTED, f"A-ABORT: reason {reason}")
            elif answer is None:  # a valid request
                answer = Answer(AnswerKind.RESPONSE, "", next(self.counter) if new else 0x0000)
            records.append(StepRecord(step.label, step.data, b"", answer, 0.0))
            if not verdict.valid:
                break
        verdict = classify(outcomes(case, judgement, records), ALIVE)
        return Observation(case, judgement, tuple(records), ALIVE, verdict)


def campaign(kind: str, steer: bool, examples: int = 150) -> tuple[int, int]:
    """Examples of ``kind`` and distinct answer signatures of one campaign (seed 7) where the
    answers to ``kind`` are new every time."""
    config = CampaignSettings(max_examples=examples, seed=7, steer=steer)
    report = run_campaign(cases(TARGET, KINDS), NewAnswers(kind), config)
    assert report.examples == examples == sum(report.kinds.values())
    assert set(report.outcomes) == {"normal"}
    return report.kinds[kind], report.signatures


@pytest.mark.parametrize("kind", ["echo", "bad-length"])
def test_steering_draws_more_of_the_kind_whose_answers_are_new(kind: str) -> None:
    plain_new, plain_signatures = campaign(kind, steer=False)
    steered_new, steered_signatures = campaign(kind, steer=True)
    # each example of the kind is a new signature, the other kinds have few
    assert plain_new < plain_signatures < plain_new + 10
    assert steered_new < steered_signatures < steered_new + 10
    assert steered_new > plain_new * 2, (plain_new, steered_new)
    assert steered_signatures > plain_signatures


def test_the_same_seed_steers_the_same_way() -> None:
    assert campaign("echo", steer=True, examples=40) == campaign("echo", steer=True, examples=40)


def observation(case: Case, answers: list[Answer], seconds: float = 0.0) -> Observation:
    judgement = judge(case, TARGET)
    records = tuple(
        StepRecord(step.label, step.data, b"", answer, seconds)
        for step, answer in zip(case.steps, answers, strict=False)
    )
    verdict = classify(outcomes(case, judgement, records), ALIVE)
    return Observation(case, judgement, records, ALIVE, verdict)


def test_signature_has_kind_answers_statuses_abort_reason_and_timing() -> None:
    case = echo_case()
    released = Answer(AnswerKind.RELEASED)
    ok = observation(case, [ACCEPTED, Answer(AnswerKind.RESPONSE, "", 0x0000), released])
    failed = observation(case, [ACCEPTED, Answer(AnswerKind.RESPONSE, "", 0xC000), released])
    aborted = observation(case, [ACCEPTED, Answer(AnswerKind.ABORTED, "A-ABORT: reason 2")])
    slow = observation(case, [ACCEPTED, Answer(AnswerKind.RESPONSE, "", 0x0000), released], 0.5)
    signature = answer_signature(ok)
    assert signature == "echo|accepted|response 0000H|released|t0"
    assert answer_signature(failed) == "echo|accepted|response C000H|released|t0"
    assert answer_signature(aborted) == "echo|accepted|aborted (A-ABORT: reason 2)|t0"
    assert answer_signature(slow).endswith("|t3")  # three steps of half a second
    assert [timing_bucket(s) for s in (0.0, 0.01, 0.5, 2.0)] == [0, 1, 2, 3]


def test_novelty_falls_as_a_signature_repeats_and_rates_follow_kinds() -> None:
    case = echo_case()
    seen = observation(case, [ACCEPTED, Answer(AnswerKind.RESPONSE, "", 0), ACCEPTED])
    steering = Steering()
    assert [steering.observe(seen) for _ in range(3)] == [1.0, 0.5, 1 / 3]
    assert steering.distinct == 1
    assert steering.rate("echo") == 2 / 4  # one new in three, optimistic
    assert steering.rate("store") == 1  # not tried yet
    assert steering.acceptance("echo") == 1.0  # the only kind tried is the best one
    store = dataclasses.replace(case, kind="store")
    assert steering.observe(observation(store, [ACCEPTED])) == 1.0
    assert steering.rate("store") == 1
    assert steering.acceptance("store") == 1.0
    assert steering.acceptance("echo") == 2 / 4
    for _ in range(200):
        steering.observe(seen)
    assert steering.acceptance("echo") == ACCEPT_FLOOR


def test_frozen_weights_are_the_acceptance_of_their_time() -> None:
    case = echo_case()
    seen = observation(case, [ACCEPTED, Answer(AnswerKind.RESPONSE, "", 0), ACCEPTED])
    steering = Steering()
    for _ in range(3):
        steering.observe(seen)
    steering.observe(observation(dataclasses.replace(case, kind="store"), [ACCEPTED]))
    frozen = steering.frozen()
    for kind in ("echo", "store", "abort"):  # tried, tried, not tried yet
        assert frozen(kind) == steering.acceptance(kind)
    assert (frozen("echo"), frozen("abort")) == (2 / 4, 1.0)
    for _ in range(200):  # later examples change the acceptance, not the frozen weights
        steering.observe(seen)
    assert steering.acceptance("echo") == ACCEPT_FLOOR
    assert frozen("echo") == 2 / 4
