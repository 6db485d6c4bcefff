"""The summary ending ``decode``'s text: counts, statuses and response times, in bounded memory."""

from __future__ import annotations

import random
from array import array
from collections import Counter

from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureRecord,
    StreamGap,
)

__all__ = ["MAX_RESPONSE_TIMES", "Summary", "percentile"]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (``fraction`` in 0..1; values not empty)."""
    rank = max(1, -(-len(values) * fraction // 1))
    return values[int(rank) - 1]


MAX_RESPONSE_TIMES = 1_000_000
"""Response times the summary keeps exactly (8 bytes each); past them, a uniform sample of this
many (reservoir sampling, seeded: the same capture gives the same summary) stands for them."""


class Summary:
    """Counts kept while decoding, for the summary at the end of the text output.

    Its memory is bounded: association indexes are bits (one per association, 125 KB per
    million), response times at most :data:`MAX_RESPONSE_TIMES` doubles; counters are keyed by
    names, codes and statuses, whose number does not grow with the capture.

    Under a filter (``filtered``) the counts still describe the whole capture; one more line says
    how many messages the filter showed (:meth:`show`).
    """

    def __init__(self, filtered: bool = False) -> None:
        self.filtered = filtered
        self.shown = 0
        self.associations = bytearray()  # bit i: association i was seen
        self.association_count = 0
        self.messages: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.times_ms = array("d")
        self.times_seen = 0
        self.times_max = 0.0
        self._sample = random.Random(0x5EED)
        self.gaps = 0
        self.problems = 0
        self.problem_codes: Counter[str] = Counter()

    def add(self, record: CaptureRecord) -> None:
        """Count one record."""
        if isinstance(record, AssociationEvent):
            self._association(record.association.index)
        elif isinstance(record, CapturedMessage):
            self.messages[record.name] += 1
            described = record.described_status
            if record.status is not None and described is not None:
                self.statuses[f"{record.status:04X}H {described.category.value}"] += 1
            if record.response_time_ns is not None:
                self._time(record.response_time_ns / 1e6)
            if record.incomplete is not None:  # still a problem: the message never finished
                self.problems += 1
                self.problem_codes[record.incomplete.code.value] += 1
        elif isinstance(record, StreamGap):
            self.gaps += 1
        else:  # a record past the cap stands for the problems it counts
            self.problems += record.count
            self.problem_codes[record.diagnostic.code.value] += record.count

    def show(self, record: CaptureRecord) -> None:
        """Count one record the filter showed (only messages are counted)."""
        self.shown += isinstance(record, CapturedMessage)

    def _association(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte >= len(self.associations):
            self.associations.extend(bytes(byte + 1 - len(self.associations)))
        if not self.associations[byte] >> bit & 1:
            self.associations[byte] |= 1 << bit
            self.association_count += 1

    def _time(self, ms: float) -> None:
        self.times_seen += 1
        self.times_max = max(self.times_max, ms)
        if len(self.times_ms) < MAX_RESPONSE_TIMES:
            self.times_ms.append(ms)
            return
        slot = self._sample.randrange(self.times_seen)
        if slot < MAX_RESPONSE_TIMES:
            self.times_ms[slot] = ms

    def merge(self, other: Summary) -> None:
        """Add the counts of another shard's summary (``decode --jobs``): response times stay
        whole up to :data:`MAX_RESPONSE_TIMES` together, then a seeded sample, each summary's
        share by the times it saw."""
        self.association_count += other.association_count
        self.shown += other.shown
        self.filtered = self.filtered or other.filtered
        self.messages.update(other.messages)
        self.statuses.update(other.statuses)
        self.problem_codes.update(other.problem_codes)
        self.gaps += other.gaps
        self.problems += other.problems
        self.times_max = max(self.times_max, other.times_max)
        seen = self.times_seen + other.times_seen
        if len(self.times_ms) + len(other.times_ms) <= MAX_RESPONSE_TIMES:
            self.times_ms.extend(other.times_ms)
        else:
            mine = round(MAX_RESPONSE_TIMES * self.times_seen / seen)
            kept = self._sample.sample(list(self.times_ms), min(mine, len(self.times_ms)))
            theirs = MAX_RESPONSE_TIMES - len(kept)
            kept += self._sample.sample(list(other.times_ms), min(theirs, len(other.times_ms)))
            self.times_ms = array("d", kept)
        self.times_seen = seen

    def text(self) -> str:
        """The summary lines."""
        total = sum(self.messages.values())
        lines = [
            f"summary: {self.association_count} association(s), {total} message(s), "
            f"{self.gaps} gap(s), {self.problems} problem(s)"
        ]
        if self.messages:
            shown = ", ".join(f"{name} {count}" for name, count in sorted(self.messages.items()))
            lines.append(f"  messages: {shown}")
        if self.problem_codes:
            shown = ", ".join(f"{code} {n}" for code, n in sorted(self.problem_codes.items()))
            lines.append(f"  problems: {shown}")
        if self.statuses:
            shown = ", ".join(f"{name} {count}" for name, count in sorted(self.statuses.items()))
            lines.append(f"  statuses: {shown}")
        if self.times_ms:
            ordered = sorted(self.times_ms)
            marks = [(f"p{int(f * 100)}", percentile(ordered, f)) for f in (0.5, 0.9, 0.99)]
            marks.append(("max", self.times_max))
            shown = "  ".join(f"{label} {value:.3f}" for label, value in marks)
            sampled = "" if self.times_seen == len(ordered) else f", sampled {len(ordered)}"
            lines.append(f"  response times ms ({self.times_seen}{sampled}): {shown}")
        if self.filtered:
            lines.append(
                f"  filter: {self.shown} of {total} message(s) shown; the counts above are "
                "the whole capture's"
            )
        return "\n".join(lines)
