"""The campaign: Hypothesis generates cases, runs each through ``execute`` and shrinks findings.

No I/O here: ``execute`` (in practice :class:`dimse_codec.scpfuzz.live.LiveRunner`) sends a case
and returns its :class:`~dimse_codec.scpfuzz.findings.Observation`, so the engine is tested with a
simulated server as well as real ones.

Hypothesis drives everything, in rounds. Each round is one ``@given`` test run
programmatically (``database=None``, ``deadline=None``, phases generate and shrink, one bug at
a time, quiet) whose body executes the case and raises a private exception when it shows a
finding not seen before. Hypothesis then stops generating and shrinks: it runs smaller cases,
and every one that shows the *same* finding (classification, kind and flaw) raises again, so
the last of them is the smallest. Shrinking is capped at ``max_shrinks`` runs per finding. A
case Hypothesis draws again while shrinking (the same case from other choices, up to a quarter
of the shrink runs against storescp) is judged by its earlier run and not sent again (again at
most ``max_shrinks`` times a finding). The next round (seed + 1) generates the examples still
owed, and findings already known no longer fail, so a campaign runs exactly ``max_examples``
generated examples unless the server goes down for good, or is interrupted. Findings seen while
shrinking another one are kept (unshrunk) if no later round finds them again, and counted once
in their class then.

Steering (``CampaignSettings.steer``, on by default): every generated example's answers are
counted by a :class:`~dimse_codec.scpfuzz.steering.Steering`; the example's novelty (a new
answer signature or not) goes to ``hypothesis.target``, and the kinds of a group are drawn
in proportion to their rates of new signatures
(:func:`~dimse_codec.scpfuzz.steering.weighting`), so kinds whose answers keep changing are
drawn more. The weights are those of the round's start: Hypothesis requires that the same
choices draw the same case within a run (else it reports flaky data generation), so a
steering campaign runs in rounds of at most
:data:`~dimse_codec.scpfuzz.steering.STEER_ROUND` examples and the weights follow the answers
from one round to the next.

Ctrl-C (``KeyboardInterrupt``), while generating or shrinking, ends the campaign as a halt does:
the finding being shrunk is kept at its smallest so far, the report says ``interrupted`` and is
returned, so the caller writes what was found.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings, target
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from dimse_codec.scpfuzz.findings import Classification, Finding, Observation
from dimse_codec.scpfuzz.model import Case
from dimse_codec.scpfuzz.steering import STEER_ROUND, Steering, weighting

__all__ = ["CampaignSettings", "Report", "run_campaign"]

Execute = Callable[[Case], Observation]
"""Runs one case against the server and says what happened."""


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """How much to run: generated examples, the seed, shrink runs per finding, and whether the
    answers steer what is drawn next (see the module documentation)."""

    max_examples: int = 100
    seed: int = 0
    max_shrinks: int = 25
    steer: bool = True

    def __post_init__(self) -> None:
        """Refuse settings that cannot bound a campaign."""
        if self.max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        if self.max_shrinks < 0:
            raise ValueError("max_shrinks must not be negative")


@dataclass
class Report:
    """What a campaign did: examples, outcomes, findings, and why it stopped early (if it did).

    ``outcomes`` and ``answers`` count the generated examples, plus, once each, the findings
    first seen while shrinking another one (``found_while_shrinking``), so every finding is
    counted in its class and each counter adds up to ``examples + found_while_shrinking``;
    shrink runs are counted in ``shrink_calls``. ``interrupted`` says Ctrl-C ended it.
    """

    settings: CampaignSettings
    examples: int = 0
    shrink_calls: int = 0
    shrink_reused: int = 0
    """Cases Hypothesis drew again while shrinking (the same bytes from other choices): judged
    by the earlier run of the same case, not sent again, and not in ``shrink_calls``."""
    rounds: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    halted: str | None = None
    elapsed: float = 0.0
    found_while_shrinking: int = 0
    interrupted: bool = False
    kinds: Counter[str] = field(default_factory=Counter)
    """Generated examples per case kind."""
    signatures: int = 0
    """How many different answer signatures the generated examples showed
    (:func:`~dimse_codec.scpfuzz.steering.answer_signature`)."""

    @property
    def completed(self) -> bool:
        """Whether every requested example ran."""
        return self.examples >= self.settings.max_examples


class _Found(Exception):
    """Raised in the Hypothesis test body when a case shows the finding being shrunk."""


class _StopRound(BaseException):
    """Ends a round at once (shrink budget spent); a BaseException so Hypothesis lets it by."""


class _Halt(BaseException):
    """Ends the campaign at once (the server is gone, or the engine itself failed)."""


class _Campaign:
    """The state a campaign keeps across rounds and test calls."""

    def __init__(
        self,
        execute: Execute,
        config: CampaignSettings,
        on_finding: Callable[[Finding], None] | None,
        on_example: Callable[[int, Observation], None] | None,
    ) -> None:
        self.execute = execute
        self.config = config
        self.on_finding = on_finding
        self.on_example = on_example
        self.report = Report(config)
        self.steering = Steering()
        self.known: set[str] = set()
        self.pending: dict[str, tuple[Observation, int, int]] = {}
        self.error: BaseException | None = None
        self.sigint = False
        """Ctrl-C came while Hypothesis ran its own code: acted on at the next safe point."""
        self.in_body = False
        self._reset_round(0)

    def _reset_round(self, round_seed: int) -> None:
        self.round_seed = round_seed
        self.target: str | None = None
        self.first: Observation | None = None
        self.best: Observation | None = None
        self.first_index = 0
        self.replays = 0
        self.round_shrinks = 0
        self.reused = 0
        self.tried: list[Observation] = []
        """The round's shrink runs: a case Hypothesis draws again is not sent again. The
        example that found the finding is not among them: Hypothesis's first shrink run is
        that example again, and is sent, to see whether the finding shows again."""
        self.halt_note = ""

    def _count(self, observation: Observation) -> None:
        """Count an example's classification and the answer it was decided by."""
        self.report.outcomes[observation.classification.value] += 1
        answer = observation.decisive_answer
        self.report.answers[answer.kind.value if answer else "none"] += 1

    # -- one test call ----------------------------------------------------------------------

    def _run(self, case: Case) -> Observation:
        try:
            return self.execute(case)
        except Exception as exc:  # a bug in execute: stop, and re-raise it after the campaign
            self.error = exc
            raise _Halt from exc

    def _halt(self, reason: str) -> None:
        self.report.halted = reason
        raise _Halt

    def call(self, case: Case) -> None:
        """The body of the Hypothesis test: run the case and decide whether it fails.

        ``_Found`` is raised from this one line only: Hypothesis tells failures apart by where
        they are raised, and must see the same one while shrinking as when it was found.
        """
        if self.sigint:
            raise _Halt
        self.in_body = True
        try:
            failed = self._generated(case) if self.target is None else self._shrinking(case)
        finally:
            self.in_body = False
        if failed:
            raise _Found(self.target)

    def on_sigint(self, signum: int, frame: object) -> None:
        """Ctrl-C: at once inside the test body (Hypothesis lets it through), else deferred
        (raised inside Hypothesis's own code it can surface as another exception)."""
        self.sigint = True
        if self.in_body:
            raise KeyboardInterrupt

    def _generated(self, case: Case) -> bool:
        if self.report.examples >= self.config.max_examples:
            return False  # never reached: each round asks Hypothesis for what is still owed
        index = self.report.examples + 1
        observation = self._run(case)  # counted once run: Ctrl-C may end it half way
        self.report.examples = index
        self._count(observation)
        self.report.kinds[case.kind] += 1
        novelty = self.steering.observe(observation)
        self.report.signatures = self.steering.distinct
        if self.config.steer:
            target(novelty, label="answer novelty")
        if self.on_example is not None:
            self.on_example(index, observation)
        signature = observation.signature
        new = (
            observation.classification is not Classification.NORMAL and signature not in self.known
        )
        if new:
            self.target, self.first, self.best, self.first_index = (
                signature,
                observation,
                observation,
                index,
            )
        if not observation.usable:
            self.halt_note = "not shrunk: the server did not come back"
            self._halt(
                f"the server is {observation.liveness.health.value} after example {index} "
                f"({observation.liveness.detail})"
            )
        return new

    def _shrinking(self, case: Case) -> bool:
        if self.round_shrinks >= self.config.max_shrinks or self.reused >= self.config.max_shrinks:
            self.halt_note = f"shrinking stopped after {self.round_shrinks} runs"
            raise _StopRound
        earlier = next((seen for seen in self.tried if _same(seen.case, case)), None)
        if earlier is not None:  # the same case again (choices the case does not depend on)
            self.reused += 1
            self.report.shrink_reused += 1
            return earlier.signature == self.target
        self.round_shrinks += 1
        self.report.shrink_calls += 1
        observation = self._run(case)
        self.tried.append(observation)
        signature = observation.signature
        if signature == self.target:
            self.best = observation
            self.replays += 1
        elif (
            observation.classification is not Classification.NORMAL
            and signature not in self.known
            and signature not in self.pending
        ):
            self.pending[signature] = (observation, self.first_index, self.round_seed)
        if not observation.usable:
            self.halt_note = "shrinking stopped: the server did not come back"
            self._halt(
                f"the server is {observation.liveness.health.value} while shrinking "
                f"({observation.liveness.detail})"
            )
        return signature == self.target

    # -- rounds ---------------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Ctrl-C: say so, and keep the finding being shrunk at its smallest so far."""
        self.report.interrupted = True
        self.report.halted = f"interrupted (Ctrl-C) after {self.report.examples} example(s)"
        if self.target is not None and not self.halt_note:
            self.halt_note = f"shrinking interrupted (Ctrl-C) after {self.round_shrinks} runs"

    def finish_round(self) -> None:
        """Record the round's finding (if any) at its smallest."""
        if self.target is None or self.first is None or self.best is None:
            return
        note = self.halt_note
        if self.replays == 0 and not note:
            note = "did not show again when replayed: the server may be flaky"
        self._add(self.best, self.first, self.first_index, self.round_seed, note)
        self.known.add(self.target)
        self.pending.pop(self.target, None)

    def _add(
        self, best: Observation, first: Observation, index: int, round_seed: int, note: str
    ) -> None:
        finding = Finding(
            number=len(self.report.findings) + 1,
            observation=best,
            first=first,
            example=index,
            seed=round_seed,
            shrunk=best.case != first.case,
            replays=self.replays,
            shrink_calls=self.round_shrinks,
            note=note,
        )
        self.report.findings.append(finding)
        if self.on_finding is not None:
            self.on_finding(finding)

    def finish(self) -> None:
        """Keep the findings only seen while shrinking another one, unshrunk."""
        for signature, (observation, index, round_seed) in list(self.pending.items()):
            if signature in self.known:
                continue
            self.replays, self.round_shrinks = 0, 0
            self._count(observation)
            self.report.found_while_shrinking += 1
            self._add(
                observation,
                observation,
                index,
                round_seed,
                "seen while shrinking another finding; not shrunk",
            )
            self.known.add(signature)


def _same(one: Case, other: Case) -> bool:
    """Whether two cases send the same steps and are judged alike: kind, flaw, validity as
    generated (their descriptions may differ: a cut for a maximum PDU length of 8 or of 9)."""
    return (one.steps, one.kind, one.flaw, one.generated_valid) == (
        other.steps,
        other.kind,
        other.flaw,
        other.generated_valid,
    )


def _round(
    strategy: st.SearchStrategy[Case], campaign: _Campaign, remaining: int, round_seed: int
) -> Callable[[], None]:
    """One Hypothesis run over at most ``remaining`` new examples."""

    @settings(
        max_examples=remaining,
        deadline=None,
        database=None,
        phases=(Phase.generate, Phase.target, Phase.shrink)
        if campaign.config.steer
        else (Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @seed(round_seed)
    @given(strategy)
    def fuzz_round(case: Case) -> None:
        campaign.call(case)

    return fuzz_round


def run_campaign(
    strategy: st.SearchStrategy[Case],
    execute: Execute,
    config: CampaignSettings,
    *,
    on_finding: Callable[[Finding], None] | None = None,
    on_example: Callable[[int, Observation], None] | None = None,
) -> Report:
    """Run ``config.max_examples`` generated cases through ``execute``; shrink each finding.

    ``on_finding`` is called with each finding as soon as it is final (shrunk), and
    ``on_example`` with each generated example's number and observation (for progress). The
    campaign stops early only when the server is down for good or on Ctrl-C (``Report.halted``
    says so; ``Report.interrupted`` for Ctrl-C, whose findings so far are kept and reported).
    An exception raised by ``execute`` itself is a bug, and is re-raised.
    """
    campaign = _Campaign(execute, config, on_finding, on_example)
    report = campaign.report
    started = time.monotonic()
    with _deferred_sigint(campaign):
        _rounds(strategy, campaign)
    campaign.finish()
    report.elapsed = time.monotonic() - started
    return report


@contextlib.contextmanager
def _deferred_sigint(campaign: _Campaign) -> Iterator[None]:
    """Route Ctrl-C through :meth:`_Campaign.on_sigint` while the campaign runs, where Python's
    default handler is in place (the main thread; not when SIGINT is ignored)."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, campaign.on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _rounds(strategy: st.SearchStrategy[Case], campaign: _Campaign) -> None:
    """The rounds of a campaign, until every example ran, the server is gone, or Ctrl-C."""
    config, report = campaign.config, campaign.report
    try:
        for number in range(config.max_examples):  # each round generates at least one example
            remaining = config.max_examples - report.examples
            if remaining <= 0 or report.halted is not None:
                break
            before = report.examples
            round_seed = config.seed + number
            campaign._reset_round(round_seed)
            report.rounds += 1
            size, steer = remaining, contextlib.ExitStack()
            if config.steer:  # weights fixed for a round: Hypothesis needs a deterministic draw
                size = min(remaining, STEER_ROUND)
                steer.enter_context(weighting(campaign.steering.frozen()))
            try:
                with contextlib.suppress(_StopRound, _Halt, _Found, Flaky), steer:
                    _round(strategy, campaign, size, round_seed)()
            except KeyboardInterrupt:  # the finding being shrunk is kept below
                campaign.interrupt()
            if campaign.sigint and not report.interrupted:
                campaign.interrupt()
            if campaign.error is not None:
                raise campaign.error
            campaign.finish_round()
            if report.examples == before:
                break  # Hypothesis found nothing new to generate
    except KeyboardInterrupt:  # between rounds, or while a finding was handed over
        campaign.interrupt()
    if campaign.sigint and not report.interrupted:  # deferred, and no test body came after it
        campaign.interrupt()
