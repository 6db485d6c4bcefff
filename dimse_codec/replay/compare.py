"""Compare what an SCP answered with what the capture says was answered, sans-I/O.

``dimse-codec replay --to`` sends a captured association's requests again and collects, per
request, a :class:`ReplayedExchange`; :func:`compare_negotiation` and :func:`compare_exchange`
turn the two into :class:`Difference` values: the negotiation (each presentation context
accepted or rejected, and with which transfer syntax), and per request the final status (with
its PS3.7 Annex C meaning), the number of Pending responses, of C-STORE sub-operations, the
sub-operation counters of the final response and the SHA-256 digests of the response data sets.
Message IDs and maximum PDU lengths are not compared: a new association numbers and cuts its
messages its own way.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dimse_codec.association import AcceptedContext, Association, Rejected, RejectedContext
from dimse_codec.capture.records import CapturedMessage
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.dimse.status import category, describe, service_for_message
from dimse_codec.pdu import AAssociateRJ
from dimse_codec.replay.script import CapturedAssociation, Exchange
from dimse_codec.tables.status import StatusCategory

__all__ = [
    "COUNTERS",
    "AssociationVerdict",
    "Difference",
    "ReplayedExchange",
    "ReplayedResponse",
    "compare_exchange",
    "compare_negotiation",
    "status_text",
]

COUNTERS = (
    "NumberOfRemainingSuboperations",
    "NumberOfCompletedSuboperations",
    "NumberOfFailedSuboperations",
    "NumberOfWarningSuboperations",
)
"""The sub-operation counters of a final C-GET or C-MOVE response (PS3.7 9.3.3.2, 9.3.4.2)."""


@dataclass(frozen=True, slots=True)
class ReplayedResponse:
    """One response the SCP sent to a replayed request."""

    primitive: DIMSEPrimitive
    dataset_sha256: str | None

    @classmethod
    def of(cls, primitive: DIMSEPrimitive, raw: bytes | memoryview | None) -> ReplayedResponse:
        """A response and the digest of its data set bytes as received."""
        digest = None if raw is None else hashlib.sha256(raw).hexdigest()
        return cls(primitive, digest)

    @property
    def status(self) -> int | None:
        """The response's Status."""
        value = self.primitive.values().get("Status")
        return value if isinstance(value, int) else None


@dataclass(slots=True)
class ReplayedExchange:
    """What happened to one request sent again: its responses, sub-operations, or why not."""

    responses: list[ReplayedResponse] = field(default_factory=list)
    sub_requests: int = 0
    """C-STORE sub-operations the SCP sent on the association while serving it (C-GET)."""
    not_sent: str | None = None
    """Why the request was not sent (its context was not accepted, the association ended)."""
    ended: str | None = None
    """Why its responses stopped before the final one (an abort, a closed connection)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the replayed association differs from the captured one."""

    association: int
    aspect: str
    """``association``, ``context``, ``status``, ``pending``, ``sub-operations``, ``counters``,
    ``datasets``, ``not-sent`` or ``ended``."""
    captured: str
    replayed: str
    request: int | None = None
    """The request's number in its association (from 1); None for the negotiation."""
    message: str | None = None
    """The request's message type, e.g. ``C-FIND-RQ``."""

    @property
    def text(self) -> str:
        """One line: where, what, and both sides."""
        where = f"association {self.association}"
        if self.request is not None:
            where += f" request {self.request} {self.message}"
        return f"{where}: {self.aspect}: captured {self.captured}, replayed {self.replayed}"

    def as_json(self) -> dict[str, Any]:
        """The difference as a JSON object (one NDJSON line of ``replay --json``)."""
        return {
            "type": "difference",
            "association": self.association,
            "request": self.request,
            "message": self.message,
            "aspect": self.aspect,
            "captured": self.captured,
            "replayed": self.replayed,
        }


@dataclass(frozen=True, slots=True)
class AssociationVerdict:
    """The outcome for one association: how many requests were compared and what differed."""

    association: int
    requests: int
    differences: tuple[Difference, ...]
    skipped: str | None = None
    """Why the association was not played (its A-ASSOCIATE-RQ is not in the capture)."""

    @property
    def same(self) -> bool:
        """Whether nothing differed (a skipped association is not "same")."""
        return self.skipped is None and not self.differences

    @property
    def verdict(self) -> str:
        """``same``, ``different`` or ``skipped``."""
        if self.skipped is not None:
            return "skipped"
        return "same" if not self.differences else "different"

    @property
    def text(self) -> str:
        """The verdict line."""
        if self.skipped is not None:
            return f"association {self.association}: skipped ({self.skipped})"
        found = len(self.differences)
        detail = "" if not found else f", {found} difference{'s' if found != 1 else ''}"
        counted = f"{self.requests} request(s){detail}"
        return f"association {self.association}: {self.verdict} ({counted})"

    def as_json(self) -> dict[str, Any]:
        """The verdict as a JSON object."""
        return {
            "type": "association",
            "association": self.association,
            "verdict": self.verdict,
            "requests": self.requests,
            "differences": len(self.differences),
            "skipped": self.skipped,
        }


def status_text(code: int | None, primitive: DIMSEPrimitive, abstract_syntax: str | None) -> str:
    """A status with its meaning for the message's service (``A700H Failure: ...``)."""
    if code is None:
        return "no status"
    return str(describe(code, service_for_message(primitive, abstract_syntax)))


def _context_text(context: AcceptedContext | RejectedContext | None) -> str:
    if context is None:
        return "not answered"
    if isinstance(context, AcceptedContext):
        return f"accepted with {context.transfer_syntax}"
    result = context.result
    name = getattr(result, "name", None)
    return f"rejected ({name.lower().replace('_', '-') if name else f'result {int(result)}'})"


def compare_negotiation(
    captured: CapturedAssociation, replayed: Association | Rejected
) -> list[Difference]:
    """Differences between the captured A-ASSOCIATE answer and the one the SCP gave now."""
    index = captured.index
    answer = captured.answer
    if isinstance(replayed, Rejected):
        if isinstance(answer, AAssociateRJ):
            if Rejected(answer).description == replayed.description:
                return []
            return [Difference(index, "association", Rejected(answer).description,
                               replayed.description)]  # fmt: skip
        return [Difference(index, "association", "accepted", replayed.description)]
    if isinstance(answer, AAssociateRJ):
        return [Difference(index, "association", Rejected(answer).description, "accepted")]
    negotiated = captured.negotiated
    if negotiated is None:
        return []  # the capture lacks the answer: nothing to compare the contexts with
    differences = []
    before: Mapping[int, AcceptedContext | RejectedContext] = {
        **negotiated.rejected_contexts,
        **negotiated.accepted_contexts,
    }
    now: Mapping[int, AcceptedContext | RejectedContext] = {
        **replayed.rejected_contexts,
        **replayed.accepted_contexts,
    }
    for context_id in sorted(set(before) | set(now)):
        was, is_now = before.get(context_id), now.get(context_id)
        if _context_text(was) != _context_text(is_now):
            syntax = (was or is_now).abstract_syntax  # type: ignore[union-attr]
            differences.append(
                Difference(
                    index,
                    "context",
                    f"context {context_id} ({syntax}) {_context_text(was)}",
                    _context_text(is_now),
                )
            )
    return differences


def compare_exchange(
    association: int, number: int, exchange: Exchange, replayed: ReplayedExchange
) -> list[Difference]:
    """Differences between a captured request's answers and those of its replay."""
    name = exchange.name
    request = exchange.request

    def differ(aspect: str, captured: object, now: object) -> Difference:
        return Difference(association, aspect, str(captured), str(now), number, name)

    if replayed.not_sent is not None:
        return [differ("not-sent", "sent", replayed.not_sent)]
    differences = []
    final = exchange.final
    responses = replayed.responses
    last = responses[-1] if responses and not _pending(responses[-1].status) else None
    if final is not None or last is not None:
        before = _final_text(final, request)
        now = "no final response" if last is None else _status_of(last, request)
        if before != now:
            differences.append(differ("status", before, now))
    if replayed.ended is not None and last is None:
        differences.append(differ("ended", "answered", replayed.ended))
    captured_pending = sum(_pending(m.status) for m in exchange.responses)
    now_pending = sum(_pending(r.status) for r in responses)
    if captured_pending != now_pending:
        differences.append(differ("pending", captured_pending, now_pending))
    if len(exchange.sub_requests) != replayed.sub_requests:
        differences.append(
            differ("sub-operations", len(exchange.sub_requests), replayed.sub_requests)
        )
    if final is not None and last is not None:
        before_counts = _counters(final.primitive)
        now_counts = _counters(last.primitive)
        if before_counts != now_counts:
            differences.append(differ("counters", before_counts, now_counts))
    digests = _digest_difference(exchange.responses, responses)
    if digests is not None:
        differences.append(differ("datasets", *digests))
    return differences


def _pending(status: int | None) -> bool:
    return status is not None and category(status) is StatusCategory.PENDING


def _final_text(final: CapturedMessage | None, request: CapturedMessage) -> str:
    if final is None:
        return "no final response"
    return status_text(final.status, final.primitive, request.abstract_syntax)


def _status_of(response: ReplayedResponse, request: CapturedMessage) -> str:
    return status_text(response.status, response.primitive, request.abstract_syntax)


def _counters(primitive: DIMSEPrimitive) -> str:
    values = primitive.values()
    shown = [
        f"{keyword[len('NumberOf') : -len('Suboperations')].lower()} {values[keyword]}"
        for keyword in COUNTERS
        if values.get(keyword) is not None
    ]
    return ", ".join(shown) or "none"


def _digest_difference(
    captured: Sequence[CapturedMessage], replayed: Sequence[ReplayedResponse]
) -> tuple[str, str] | None:
    """How the response data sets differ, compared as multisets of digests (a C-FIND's matches
    may come in another order), or None when they are the same."""
    before = Counter(str(m.dataset_sha256) for m in captured if m.dataset is not None)
    now = Counter(r.dataset_sha256 for r in replayed if r.dataset_sha256 is not None)
    if before == now:
        return None
    missing = (before - now).total()
    extra = (now - before).total()
    total_before, total_now = before.total(), now.total()
    return (
        f"{total_before} data set(s), {missing} not seen again",
        f"{total_now} data set(s), {extra} new",
    )
