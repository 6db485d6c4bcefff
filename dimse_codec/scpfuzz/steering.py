"""Coverage-free feedback: what the SCP answered, as a signature, and where answers are new.

Without coverage from the server, its answers are the fuzzer's only view of which code ran. An
example's :func:`answer_signature` is its kind, each step's answer (kind, status, the A-ABORT's
or A-ASSOCIATE-RJ's source and reason), the liveness check when it did not find the SCP alive,
and a coarse timing bucket. :class:`Steering` counts signatures and, per case kind, how many of
its examples showed one not seen before; the campaign (:mod:`dimse_codec.scpfuzz.engine`) gives
Hypothesis the novelty score of each example (``hypothesis.target``) and, within
:func:`weighting`, :func:`~dimse_codec.scpfuzz.cases.cases` draws each kind of a group in
proportion to its :meth:`Steering.acceptance` (its rate of new signatures against the best
kind's), so kinds whose answers keep changing are drawn more. Sans-I/O and deterministic:
the timing bucket is the only clock-derived part, and it comes from the records given.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar

from hypothesis import strategies as st

from dimse_codec.scpfuzz.findings import AnswerKind, Health, Observation

__all__ = [
    "ACCEPT_FLOOR",
    "STEER_ROUND",
    "TIMING_BUCKETS",
    "Steering",
    "answer_signature",
    "kind_weight",
    "timing_bucket",
    "weighted_index",
    "weighting",
]

TIMING_BUCKETS = (0.01, 0.1, 1.0)
"""Upper bounds, in seconds, of the timing buckets of an example's answers (0: under 10 ms,
1: under 100 ms, 2: under a second, 3: longer): coarse enough that loopback jitter stays in
one bucket, fine enough that a slow path or a timeout shows."""
ACCEPT_FLOOR = 0.1
"""The least weight of any kind against the best one's: no kind starves."""
STEER_ROUND = 20
"""Examples per round of a steering campaign: its weights are fixed within a round."""
_RESOLUTION = 10
"""Weights are drawn in tenths (the floor, a tenth, is one slot)."""

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
        """The kind's rate of new signatures, optimistic: (new + 1) / (tried + 1), so a kind
        not tried yet counts as 1 and is tried before the others' weights fall."""
        return (self.novel[kind] + 1) / (self.tried[kind] + 1)

    def acceptance(self, kind: str) -> float:
        """The weight ``kind`` is drawn with: its rate against the best kind's (at least the
        floor)."""
        best = max((self.rate(k) for k in self._kinds(kind)), default=1.0)
        return max(self.floor, self.rate(kind) / best)

    def frozen(self) -> Callable[[str], float]:
        """:meth:`acceptance` as it is now, unchanged by later examples (for one round); the
        kinds tried so far are worked out once, as every case of the round draws them."""
        known = {kind: self.acceptance(kind) for kind in self.tried}
        # a kind not tried yet has the best rate there is (1), so its weight is 1
        return lambda kind: known.get(kind, 1.0)

    def _kinds(self, kind: str) -> Iterable[str]:
        yield kind
        yield from self.tried


_WEIGHT: ContextVar[Callable[[str], float] | None] = ContextVar("kind_weight", default=None)


@contextlib.contextmanager
def weighting(weight: Callable[[str], float]) -> Iterator[None]:
    """Within the block, :func:`~dimse_codec.scpfuzz.cases.cases` draws each kind in a group
    with ``weight(kind)`` (a :meth:`Steering.acceptance`) instead of evenly."""
    token = _WEIGHT.set(weight)
    try:
        yield
    finally:
        _WEIGHT.reset(token)


def kind_weight() -> Callable[[str], float] | None:
    """The weight the kinds are drawn with now (``None``: evenly)."""
    return _WEIGHT.get()


def weighted_index(draw: st.DrawFn, weights: Sequence[float]) -> int:
    """An index into ``weights``, drawn in proportion to them (in tenths, at least one each).

    One ``sampled_from`` over the indices, each repeated by its weight, heaviest first (ties in
    their given order): Hypothesis favours the first element (its simplest choice, which it
    also shrinks towards), so that is the best kind's; a bare integer would favour both ends.
    """
    order = sorted(range(len(weights)), key=lambda index: -weights[index])
    slots = [index for index in order for _ in range(max(1, round(weights[index] * _RESOLUTION)))]
    return draw(st.sampled_from(slots))
