"""Coverage-free feedback: what the SCP answered, as a signature, and where answers are new.

Without coverage from the server, its answers are the fuzzer's only view of which code ran. An
example's :func:`answer_signature` is its kind, each step's answer (kind, status, the A-ABORT's
or A-ASSOCIATE-RJ's source and reason), the liveness check when it did not find the SCP alive,
and a coarse timing bucket. :class:`Steering` counts signatures and, per case kind, how many of
its examples showed one not seen before; the campaign (:mod:`dimse_codec.scpfuzz.engine`) gives
Hypothesis the novelty score of each example (``hypothesis.target``) and draws cases through
:func:`steered`, which keeps a drawn case with a chance that follows its kind's rate of new
signatures, so kinds whose answers keep changing are drawn more. Sans-I/O and deterministic:
the timing bucket is the only clock-derived part, and it comes from the records given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hypothesis import strategies as st

from dimse_codec.scpfuzz.findings import AnswerKind, Health, Observation
from dimse_codec.scpfuzz.model import Case

__all__ = [
    "ACCEPT_FLOOR",
    "DRAWS",
    "TIMING_BUCKETS",
    "Steering",
    "answer_signature",
    "steered",
    "timing_bucket",
]

TIMING_BUCKETS = (0.01, 0.1, 1.0)
"""Upper bounds, in seconds, of the timing buckets of an example's answers (0: under 10 ms,
1: under 100 ms, 2: under a second, 3: longer): coarse enough that loopback jitter stays in
one bucket, fine enough that a slow path or a timeout shows."""
ACCEPT_FLOOR = 0.1
"""The least chance a drawn case of any kind is kept with: no kind starves."""
DRAWS = 4
"""Cases :func:`steered` draws at most per example; the last one drawn is always kept."""

_WITH_DETAIL = frozenset({AnswerKind.ABORTED, AnswerKind.REJECTED})
"""Answers whose detail (source and reason) is part of the signature."""


def timing_bucket(seconds: float) -> int:
    """The bucket of :data:`TIMING_BUCKETS` a duration falls in."""
    return sum(1 for bound in TIMING_BUCKETS if seconds >= bound)


def answer_signature(observation: Observation) -> str:
    """What the SCP answered to one example, as one string (equal answers, equal strings)."""
    parts = [observation.case.kind]
    for record in observation.records:
        answer = record.answer
        part = answer.kind.value
        if answer.status is not None:
            part += f" {answer.status:04X}H"
        if answer.kind in _WITH_DETAIL:
            part += f" ({answer.detail})"
        parts.append(part)
    if observation.liveness.health is not Health.ALIVE:
        parts.append(f"liveness {observation.liveness.health.value}")
    parts.append(f"t{timing_bucket(sum(r.seconds for r in observation.records))}")
    return "|".join(parts)


class Steering:
    """Answer signatures seen so far, and per kind how often its examples showed a new one."""

    def __init__(self, floor: float = ACCEPT_FLOOR) -> None:
        if not 0 < floor <= 1:
            raise ValueError("floor must be in (0, 1]")
        self.floor = floor
        self.seen: Counter[str] = Counter()
        """How many examples showed each signature."""
        self.tried: Counter[str] = Counter()
        """Examples per kind."""
        self.novel: Counter[str] = Counter()
        """Examples per kind that showed a signature not seen before."""

    @property
    def distinct(self) -> int:
        """How many different signatures the examples showed."""
        return len(self.seen)

    def observe(self, observation: Observation) -> float:
        """Count one example; its novelty: 1 for a new signature, 1/(n+1) for one seen n times."""
        signature = answer_signature(observation)
        before = self.seen[signature]
        self.seen[signature] += 1
        kind = observation.case.kind
        self.tried[kind] += 1
        if before == 0:
            self.novel[kind] += 1
        return 1.0 / (before + 1)

    def rate(self, kind: str) -> float:
        """The kind's rate of new signatures, smoothed (1/2 for a kind not tried yet)."""
        return (self.novel[kind] + 1) / (self.tried[kind] + 2)

    def acceptance(self, kind: str) -> float:
        """The chance a drawn case of ``kind`` is kept: its rate against the best kind's."""
        best = max((self.rate(k) for k in self._kinds(kind)), default=1.0)
        return max(self.floor, self.rate(kind) / best)

    def _kinds(self, kind: str) -> Iterable[str]:
        yield kind
        yield from self.tried


def steered(strategy: st.SearchStrategy[Case], steering: Steering) -> st.SearchStrategy[Case]:
    """Cases of ``strategy``, each kept with its kind's :meth:`Steering.acceptance` chance.

    Up to :data:`DRAWS` cases are drawn per example; a case is kept when a drawn number falls
    under its kind's chance, and the last one is kept whatever its kind. The choice is
    Hypothesis's own data, so it replays and shrinks like any other.
    """

    @st.composite
    def pick(draw: st.DrawFn) -> Case:
        case = draw(strategy)
        for _ in range(DRAWS - 1):
            chance = steering.acceptance(case.kind)
            if chance >= 1 or draw(st.integers(0, 999)) < chance * 1000:
                break
            case = draw(strategy)
        return case

    return pick()
