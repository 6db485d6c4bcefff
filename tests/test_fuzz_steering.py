"""Coverage-free steering: answer signatures, novelty, and a campaign that follows new answers.

Sans-I/O: the campaign runs against ``execute`` functions that answer from the case alone, so
with a fixed seed every run draws the same cases; no clock is read (every record takes 0 s).
"""

from __future__ import annotations

import dataclasses
import itertools

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

KINDS = ["echo", "store", "abort"]
"""Valid kinds with many cases each (Hypothesis does not repeat a case, so a kind of one case
would run out), and only valid ones: every example is ``normal``, nothing is shrunk."""
ALIVE = Liveness(Health.ALIVE)
NEW = "echo"
"""The kind whose answers are new every time."""


class ChangingEcho:
    """Answers every C-ECHO with a status not given before, everything else the same way."""

    def __init__(self) -> None:
        self.statuses = itertools.count(0xB000)

    def __call__(self, case: Case) -> Observation:
        judgement = judge(case, TARGET)
        records = []
        for step in case.steps:
            answer = {
                Expect.ASSOCIATION: ACCEPTED,
                Expect.RELEASE: Answer(AnswerKind.RELEASED),
                Expect.NOTHING: Answer(AnswerKind.CLOSED),
            }.get(step.expect)
            if answer is None:  # a request: only a C-ECHO's status changes
                status = next(self.statuses) if case.kind == NEW else 0x0000
                answer = Answer(AnswerKind.RESPONSE, "response", status)
            records.append(StepRecord(step.label, step.data, b"", answer, 0.0))
        verdict = classify(outcomes(case, judgement, records), ALIVE)
        return Observation(case, judgement, tuple(records), ALIVE, verdict)


def campaign(steer: bool, examples: int = 120) -> tuple[int, int]:
    """Examples of the kind ``NEW`` and distinct answer signatures of one campaign (seed 7)."""
    config = CampaignSettings(max_examples=examples, seed=7, steer=steer)
    report = run_campaign(cases(TARGET, KINDS), ChangingEcho(), config)
    assert report.examples == examples == sum(report.kinds.values())
    assert set(report.outcomes) == {"normal"}
    return report.kinds[NEW], report.signatures


def test_steering_draws_more_of_the_kind_whose_answers_are_new() -> None:
    plain_new, plain_signatures = campaign(steer=False)
    steered_new, steered_signatures = campaign(steer=True)
    # each C-ECHO example is a new signature; the C-STOREs and A-ABORTs have one each
    assert plain_signatures == plain_new + 2
    assert steered_signatures == steered_new + 2
    assert steered_new > plain_new * 2, (plain_new, steered_new)


def test_the_same_seed_steers_the_same_way() -> None:
    assert campaign(steer=True, examples=40) == campaign(steer=True, examples=40)


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
    assert steering.rate("echo") == 2 / 5  # one new in three, smoothed
    assert steering.rate("store") == 1 / 2  # not tried yet
    assert steering.acceptance("echo") == 1.0  # the only kind tried is the best one
    store = dataclasses.replace(case, kind="store")
    assert steering.observe(observation(store, [ACCEPTED])) == 1.0
    assert steering.rate("store") == 2 / 3
    assert steering.acceptance("store") == 1.0
    assert steering.acceptance("echo") == (2 / 5) / (2 / 3)
    for _ in range(200):
        steering.observe(seen)
    assert steering.acceptance("echo") == ACCEPT_FLOOR
