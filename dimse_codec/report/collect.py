"""What a capture report shows, gathered from records in one pass and in bounded memory.

:class:`ReportCollector` takes each capture record with the rows
:class:`~dimse_codec.capture.rows.RowBuilder` made of it and keeps aggregates, never the
records: counts, the peers and who talks to whom, response-time histograms per DIMSE service
and per AE title pair (:class:`Histogram`, fixed logarithmic bins), statuses with their
meanings, the negotiation per abstract syntax, and the first problems. Per association it keeps
a ladder (its PDUs and messages, at most :data:`LADDER_ITEMS`) only while the association is
open, and after its end only for the first ``detail`` associations and for those that had a
failure or a problem (at most ``problem_detail`` of them): a capture of any length gives a report
of bounded size. Every table is capped the same way and says how much it left out.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from dimse_codec.capture.dicom import (
    ENDING_EVENTS,
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureProblem,
    CaptureRecord,
    DicomDirection,
    StreamGap,
)
from dimse_codec.capture.rows import Row, RowBuilder, RowValue
from dimse_codec.capture.select import RecordSelector, Selection
from dimse_codec.pdu import AAssociateAC, AAssociateRJ, PresentationContextResult

__all__ = [
    "DEFAULT_DETAIL",
    "DEFAULT_PROBLEM_DETAIL",
    "LADDER_ITEMS",
    "AssociationDetail",
    "ContextRow",
    "Histogram",
    "LadderItem",
    "PairStats",
    "ProblemLine",
    "ReportCollector",
    "StatusLine",
    "collect",
]

DEFAULT_DETAIL = 25
"""Associations shown in detail from the start of the capture."""
DEFAULT_PROBLEM_DETAIL = 50
"""Further associations shown in detail because they had a failure or a problem."""
LADDER_ITEMS = 150
"""PDUs and messages drawn per association; the rest are counted."""
MAX_PROBLEMS = 500
"""Gaps and problems listed one by one; the rest are counted by code."""
MAX_PAIRS = 200
"""AE title pairs (and peers) tracked one by one; the rest are added up as one."""
OTHER = "(others)"
"""The name the pairs past :data:`MAX_PAIRS` are added up under."""

_V = TypeVar("_V")

_EVENT_PDU = {
    "request": "A-ASSOCIATE-RQ",
    "accept": "A-ASSOCIATE-AC",
    "reject": "A-ASSOCIATE-RJ",
    "release-request": "A-RELEASE-RQ",
    "release": "A-RELEASE-RP",
    "release-collision": "A-RELEASE-RQ (collision)",
    "abort": "A-ABORT",
    "close": "TCP closed",
    "truncated": "capture ended",
    "evicted": "connection forgotten",
    "mid-stream": "decoding began mid-stream",
}
_TROUBLED_STATES = frozenset({"aborted", "rejected", "truncated", "evicted", "unknown"})


class Histogram:
    """Counts of durations in fixed logarithmic bins (10 per decade from 1 µs to 1000 s), with the
    exact count, sum, minimum and maximum: its memory does not grow with the values."""

    EDGES: tuple[float, ...] = tuple(1e-6 * 10 ** (i / 10) for i in range(9 * 10 + 1))
    """The bin edges in seconds; bin ``i`` holds ``EDGES[i-1] <= t < EDGES[i]``, bin 0 below
    the first edge and the last bin at or above the last."""

    __slots__ = ("bins", "count", "maximum", "minimum", "total")

    def __init__(self) -> None:
        self.bins = [0] * (len(self.EDGES) + 1)
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, seconds: float) -> None:
        """Count one duration."""
        self.bins[bisect.bisect_right(self.EDGES, seconds)] += 1
        self.count += 1
        self.total += seconds
        self.minimum = min(self.minimum, seconds)
        self.maximum = max(self.maximum, seconds)

    def merge(self, other: Histogram) -> None:
        """Add another histogram's counts to this one."""
        self.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    @property
    def mean(self) -> float | None:
        """The exact mean, or None when empty."""
        return self.total / self.count if self.count else None

    def quantile(self, fraction: float) -> float | None:
        """The upper edge of the bin holding the ``fraction`` quantile (at most 26 % above the true
        value, a bin's width), clamped to the exact minimum and maximum; None when empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index, count in enumerate(self.bins):
            seen += count
            if seen >= rank:
                upper = self.EDGES[index] if index < len(self.EDGES) else self.maximum
                return min(max(upper, self.minimum), self.maximum)
        return self.maximum

    def used_bins(self, at_least: int = 1) -> list[tuple[float, float, int]]:
        """(low edge, high edge, count) of the bins from the first to the last one used, widened
        on both sides to ``at_least`` bins where the edges allow."""
        used = [i for i, count in enumerate(self.bins) if count]
        if not used:
            return []
        first, last = used[0], used[-1]
        while last - first + 1 < at_least and (first > 0 or last < len(self.bins) - 1):
            first, last = max(first - 1, 0), min(last + 1, len(self.bins) - 1)
        edges = (0.0, *self.EDGES, math.inf)
        return [(edges[i], edges[i + 1], self.bins[i]) for i in range(first, last + 1)]


@dataclass(slots=True)
class PairStats:
    """What went between two peers (or over one AE title pair)."""

    associations: int = 0
    messages: int = 0
    failures: int = 0
    warnings: int = 0
    problems: int = 0
    ended_badly: int = 0
    """Associations rejected, aborted, or cut off (truncated, evicted)."""
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class StatusLine:
    """One status as it was seen: the message type, the code and what it means for the service."""

    message: str
    status: int
    category: str
    meaning: str


@dataclass(frozen=True, slots=True)
class ProblemLine:
    """One gap or problem, where it was."""

    association: int | None
    frame: int | None
    time_ns: int | None
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class LadderItem:
    """One rung of a ladder: a PDU, a message, a gap or a problem, and which way it went."""

    time_ns: int | None
    frame: int | None
    direction: str
    """A :class:`~dimse_codec.capture.DicomDirection` value."""
    kind: str
    """``pdu``, ``request``, ``response``, ``gap`` or ``problem``."""
    label: str
    detail: str = ""
    category: str | None = None
    """For a response: its status category (``Success``, ``Failure``, ...)."""


@dataclass(frozen=True, slots=True)
class ContextRow:
    """One proposed presentation context and what became of it."""

    context_id: int
    abstract_syntax: str
    proposed: tuple[str, ...]
    result: str
    """``accepted``, a rejection reason, or ``no answer``."""
    transfer_syntax: str | None


@dataclass(slots=True)
class AssociationDetail:
    """One association's ladder and negotiation, kept for the report's detail sections."""

    index: int
    calling: str
    called: str
    requestor: str
    acceptor: str
    start_ns: int | None
    state: str = "unknown"
    items: list[LadderItem] = field(default_factory=list)
    left_out: int = 0
    contexts: tuple[ContextRow, ...] = ()
    summary: dict[str, RowValue] = field(default_factory=dict)
    failures: int = 0
    problems: int = 0

    @property
    def troubled(self) -> bool:
        """Whether it had a failure, a gap or problem, or ended other than by release."""
        return bool(self.failures or self.problems or self.state in _TROUBLED_STATES)

    def add(self, item: LadderItem) -> None:
        """Add a rung, or count it when the ladder is full."""
        if len(self.items) < LADDER_ITEMS:
            self.items.append(item)
        else:
            self.left_out += 1


def _text(value: RowValue) -> str:
    return "" if value is None else str(value)


def _peer(values: dict[str, RowValue], title: str, address: str) -> str:
    """A peer as ``AE@address`` from an association row."""
    return f"{_text(values.get(title)) or '?'}@{_text(values.get(address))}"


def _title(title: str | None) -> str:
    return (title or "").strip("\x00 ") or "?"


def _contexts(record: AssociationRecord) -> tuple[ContextRow, ...]:
    """The negotiation of an association: each proposed context and the answer to it."""
    if record.request is None:
        return ()
    answers = {}
    if isinstance(record.answer, AAssociateAC):
        answers = {
            item.presentation_context_id: item for item in record.answer.presentation_contexts
        }
    rows = []
    for item in record.request.presentation_contexts:
        answer = answers.get(item.presentation_context_id)
        if answer is None:
            result = (
                "rejected (association)" if isinstance(record.answer, AAssociateRJ) else "no answer"
            )
            syntax = None
        else:
            reason = answer.result_reason
            accepted = reason == PresentationContextResult.ACCEPTANCE
            result = (
                "accepted"
                if accepted
                else str(getattr(reason, "name", reason)).lower().replace("_", " ")
            )
            syntax = answer.transfer_syntax if accepted else None
        rows.append(
            ContextRow(
                item.presentation_context_id,
                item.abstract_syntax or "?",
                item.transfer_syntaxes,
                result,
                syntax,
            )
        )
    return tuple(rows)


class ReportCollector:
    """Gather a report's aggregates from (record, rows) pairs in capture order (bounded memory)."""

    def __init__(
        self, *, detail: int = DEFAULT_DETAIL, problem_detail: int = DEFAULT_PROBLEM_DETAIL
    ) -> None:
        self.detail_limit = detail
        self.problem_detail_limit = problem_detail
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.counts: Counter[str] = Counter()
        """``associations``, ``messages``, ``requests``, ``responses``, ``failures``,
        ``warnings``, ``unanswered``, ``gaps``, ``problems``, ``bytes``, ``incomplete``."""
        self.states: Counter[str] = Counter()
        self.message_types: Counter[str] = Counter()
        self.services: dict[str, Histogram] = {}
        self.service_counts: dict[str, Counter[str]] = {}
        self.pairs: dict[tuple[str, str], Histogram] = {}
        self.peers: dict[tuple[str, str], PairStats] = {}
        """(calling peer, called peer) -> what went between them; a peer is ``AE@address``."""
        self.statuses: Counter[StatusLine] = Counter()
        self.negotiation: dict[str, Counter[str]] = {}
        """Abstract syntax -> counts of ``proposed``, ``accepted`` and each rejection result."""
        self.problems: list[ProblemLine] = []
        self.problem_codes: Counter[str] = Counter()
        self.details: list[AssociationDetail] = []
        self.detail_skipped = 0
        self._open: dict[int, AssociationDetail] = {}
        self._shown_first = 0
        self._shown_troubled = 0

    # -- feeding ---------------------------------------------------------------------------------

    def add(self, record: CaptureRecord, rows: list[Row]) -> None:
        """Take one record and the rows made of it (from a RowBuilder fed the same records)."""
        if isinstance(record, AssociationEvent):
            ending = next((r.values for r in rows if r.table == "association"), {})
            self._event(record, _text(ending.get("end_detail")))
        elif isinstance(record, CapturedMessage):
            self._message(record, next((r.values for r in rows if r.table == "message"), {}))
        elif isinstance(record, StreamGap):
            length = "unknown length" if record.length is None else f"{record.length} bytes"
            self._problem(
                record.association,
                record.frame,
                None,
                "gap",
                f"{record.reason.name}: {length} missing",
                record.direction,
                1,
            )
        else:
            self._problem_record(record)
        for row in rows:
            if row.table == "association":
                self.add_association_row(row.values)

    def finish(self, rows: list[Row]) -> None:
        """The records are over: take the rows of associations that never ended."""
        for row in rows:
            if row.table == "association":
                self.add_association_row(row.values)
        for index in list(self._open):
            self._close(index)

    def is_open(self, index: int) -> bool:
        """Whether association ``index`` has begun and not ended in what was added."""
        return index in self._open

    # -- associations ------------------------------------------------------------------------------

    def _detail(self, record: AssociationRecord, time_ns: int | None) -> AssociationDetail:
        detail = self._open.get(record.index)
        if detail is None:
            first, second = record.connection.endpoints
            requestor, acceptor = record.requestor or first, record.acceptor or second
            detail = AssociationDetail(
                record.index,
                _title(record.calling_ae_title),
                _title(record.called_ae_title),
                f"{requestor.ip}:{requestor.port}",
                f"{acceptor.ip}:{acceptor.port}",
                time_ns,
            )
            self._open[record.index] = detail
        return detail

    def _event(self, event: AssociationEvent, end_detail: str) -> None:
        self._times(event.time_ns)
        record = event.association
        detail = self._detail(record, event.time_ns)
        detail.calling, detail.called = (
            _title(record.calling_ae_title),
            _title(record.called_ae_title),
        )
        detail.state = record.state
        text = end_detail if event.event in ("abort", "reject") else ""
        detail.add(
            LadderItem(
                event.time_ns,
                event.frame,
                event.direction.value,
                "pdu",
                _EVENT_PDU.get(event.event, event.event),
                text,
            )
        )
        if event.event in ("accept", "reject") or (
            event.event == "request" and not detail.contexts
        ):
            detail.contexts = _contexts(record)
            if event.event != "request":
                self._negotiated(detail.contexts)
        if event.event in ENDING_EVENTS:
            self._close(record.index)

    def _negotiated(self, contexts: tuple[ContextRow, ...]) -> None:
        for row in contexts:
            counts = self.negotiation.get(row.abstract_syntax)
            if counts is None:
                if len(self.negotiation) >= MAX_PAIRS:
                    counts = self.negotiation.setdefault(OTHER, Counter())
                else:
                    counts = self.negotiation[row.abstract_syntax] = Counter()
            counts["proposed"] += 1
            counts[row.result] += 1

    def _close(self, index: int) -> None:
        detail = self._open.pop(index, None)
        if detail is None:
            return
        if self._shown_first < self.detail_limit:
            self._shown_first += 1
            self.details.append(detail)
        elif detail.troubled and self._shown_troubled < self.problem_detail_limit:
            self._shown_troubled += 1
            self.details.append(detail)
        else:
            self.detail_skipped += 1

    def add_association_row(self, values: dict[str, RowValue]) -> None:
        """Take the summary row of an association that ended (its ladder, if open, is closed)."""
        counts = self.counts
        counts["associations"] += 1
        counts["unanswered"] += int(values.get("unanswered") or 0)
        sent = int(values.get("bytes_from_requestor") or 0) + int(
            values.get("bytes_from_acceptor") or 0
        )
        counts["bytes"] += sent
        self.states[_text(values.get("state"))] += 1
        calling = _peer(values, "calling_ae_title", "requestor_address")
        called = _peer(values, "called_ae_title", "acceptor_address")
        stats = self._bounded(self.peers, (calling, called), PairStats)
        stats.associations += 1
        stats.messages += int(values.get("messages") or 0)
        stats.failures += int(values.get("failures") or 0)
        stats.warnings += int(values.get("warnings") or 0)
        stats.problems += int(values.get("problems") or 0) + int(values.get("gaps") or 0)
        stats.bytes += sent
        stats.ended_badly += _text(values.get("state")) in _TROUBLED_STATES
        index = values.get("association")
        detail = self._open.get(index) if isinstance(index, int) else None
        if detail is None:
            detail = next((d for d in reversed(self.details[-4:]) if d.index == index), None)
        if detail is not None:
            detail.summary = values
            detail.state = _text(values.get("state")) or detail.state
        if isinstance(index, int) and index in self._open:
            self._close(index)  # its end lay outside the chosen time or frames

    @staticmethod
    def _bounded(
        table: dict[tuple[str, str], _V], key: tuple[str, str], make: Callable[[], _V]
    ) -> _V:
        """The entry of ``key``, or past :data:`MAX_PAIRS` entries the one of :data:`OTHER`."""
        entry = table.get(key)
        if entry is None:
            if len(table) >= MAX_PAIRS:
                key = (OTHER, OTHER)
                entry = table.get(key)
            if entry is None:
                entry = table[key] = make()
        return entry

    # -- messages and problems ---------------------------------------------------------------------

    def _times(self, time_ns: int | None) -> None:
        if time_ns is None:
            return
        if self.first_ns is None or time_ns < self.first_ns:
            self.first_ns = time_ns
        if self.last_ns is None or time_ns > self.last_ns:
            self.last_ns = time_ns

    def _message(self, message: CapturedMessage, values: dict[str, RowValue]) -> None:
        self._times(message.time_ns)
        counts = self.counts
        counts["messages"] += 1
        name = message.name
        self.message_types[name] += 1
        spec = message.primitive.message_spec
        service = spec.service.name if spec is not None else "unknown"
        per_service = self.service_counts.setdefault(service, Counter())
        is_request = spec is not None and spec.is_request
        counts["requests" if is_request else "responses"] += 1
        per_service["requests" if is_request else "responses"] += 1
        category = _text(values.get("status_category")) or None
        status = message.status
        if status is not None and category is not None:
            counts[category.lower()] += 1
            per_service[category] += 1
            self.statuses[
                StatusLine(name, status, category, _text(values.get("status_meaning")))
            ] += 1
        if category == "Failure":
            counts["failures"] += 1
        elif category == "Warning":
            counts["warnings"] += 1
        if message.incomplete is not None:
            counts["incomplete"] += 1
        response_time = values.get("response_time")
        if isinstance(response_time, float) and category != "Pending":
            self.services.setdefault(service, Histogram()).add(response_time)
            pair = (
                _text(values.get("calling_ae_title")) or "?",
                _text(values.get("called_ae_title")) or "?",
            )
            self._bounded(self.pairs, pair, Histogram).add(response_time)
        detail = self._open.get(message.association)
        if detail is None:
            return
        if category == "Failure":
            detail.failures += 1
        if message.diagnostics or message.incomplete is not None:
            detail.problems += 1
        number = (
            values.get("message_id") if is_request else values.get("message_id_being_responded_to")
        )
        parts = [f"id {number}" if number is not None else ""]
        if status is not None:
            parts.append(f"status {status:04X}H {_text(values.get('status_meaning'))}")
        if isinstance(response_time, float):
            parts.append(f"{response_time * 1000:.1f} ms")
        if message.incomplete is not None:
            parts.append("incomplete")
        if message.diagnostics:
            parts.append(" ".join(d.code.value for d in message.diagnostics))
        detail.add(
            LadderItem(
                message.time_ns,
                message.frame,
                message.direction.value,
                "request" if is_request else "response",
                name,
                ", ".join(p for p in parts if p),
                category,
            )
        )

    def _problem_record(self, record: CaptureProblem) -> None:
        diagnostic = record.diagnostic
        self._problem(
            record.association,
            record.frame,
            None,
            diagnostic.code.value,
            diagnostic.message,
            record.direction,
            record.count,
        )

    def _problem(
        self,
        association: int | None,
        frame: int | None,
        time_ns: int | None,
        code: str,
        text: str,
        direction: DicomDirection,
        count: int,
    ) -> None:
        self.counts["gaps" if code == "gap" else "problems"] += count
        self.problem_codes[code] += count
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ProblemLine(association, frame, time_ns, code, text))
        detail = None if association is None else self._open.get(association)
        if detail is not None:
            detail.problems += count
            detail.add(
                LadderItem(
                    time_ns,
                    frame,
                    direction.value,
                    "gap" if code == "gap" else "problem",
                    code,
                    text,
                )
            )


def _chosen(selection: Selection, index: RowValue, collector: ReportCollector) -> bool:
    """Whether an association still open at the end was chosen (its ladder was started)."""
    return not selection.by_association or (isinstance(index, int) and collector.is_open(index))


def collect(
    records: Iterable[CaptureRecord],
    selection: Selection | None = None,
    *,
    detail: int = DEFAULT_DETAIL,
    problem_detail: int = DEFAULT_PROBLEM_DETAIL,
) -> ReportCollector:
    """Gather the report of ``records`` (in capture order), keeping what ``selection`` chooses.

    Rows are made of every record before the selection applies, so keys, message numbers and
    association summaries are those of the whole capture."""
    builder = RowBuilder()
    selector: RecordSelector[list[Row]] = RecordSelector(selection or Selection())
    collector = ReportCollector(detail=detail, problem_detail=problem_detail)
    chosen = selector.selection
    for record in records:
        made = builder.feed(record)
        messages = [row for row in made if row.table == "message"]
        for kept, rows in selector.feed(record, messages):
            collector.add(kept, rows)
        # an association's summary counts when the association is chosen, even if its ending
        # event lies outside the chosen time or frames
        if isinstance(record, AssociationEvent) and chosen.association_passes(record.association):
            for row in made:
                if row.table == "association":
                    collector.add_association_row(row.values)
    collector.finish(
        [r for r in builder.finish() if _chosen(chosen, r.values.get("association"), collector)]
    )
    selector.finish()
    return collector
