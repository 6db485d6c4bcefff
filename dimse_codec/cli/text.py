"""The text view of a capture's records: one line per association event, message, gap or problem.

Each function here gives a line's body; :class:`~dimse_codec.cli.view.TextPrinter` puts the
``aN fM TIME`` frame before it. A line fits a terminal: an A-ASSOCIATE-AC names its accepted
abstract syntaxes grouped by transfer syntax and cut at :attr:`TextStyle.width` (``--contexts``
lists every context, one per line below it), and an association's end is followed by one line
of its totals (:func:`association_end_text`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from pydicom.uid import UID

from dimse_codec.capture import (
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureRecord,
    StreamGap,
)
from dimse_codec.capture.ndjson import enum_name, identity_json
from dimse_codec.capture.rows import RowValue
from dimse_codec.cli.colour import MAGENTA, PLAIN, RED, YELLOW, Paint
from dimse_codec.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ, UserIdentityRQSubItem

__all__ = [
    "DEFAULT_WIDTH",
    "FRAME_RESERVE",
    "TextStyle",
    "association_end_text",
    "export_text",
    "record_text",
]

DEFAULT_WIDTH = 180
"""The width a line is fitted to when standard output is not a terminal (a file, a pipe)."""
FRAME_RESERVE = 16
"""Columns left for a line's ``aN fM TIME`` frame when fitting its body to the width (fixed, so
that ``--jobs N``, which renumbers associations after rendering, cuts lines where ``--jobs 1``
does)."""
_MORE = 12
"""Room kept for a ``, +N more`` at the end of a cut list."""
_MIN_CONTEXTS = 60
"""The least room the AC line gives its accepted abstract syntaxes, however narrow the width."""

_EVENT_LABELS = {
    "request": "A-ASSOCIATE-RQ",
    "accept": "A-ASSOCIATE-AC",
    "reject": "A-ASSOCIATE-RJ",
    "release-request": "A-RELEASE-RQ",
    "release": "A-RELEASE-RP",
    "abort": "A-ABORT",
    "close": "connection closed",
    "truncated": "capture ended inside the association",
    "mid-stream": "capture began inside the association",
}
_ALARMING_EVENTS = frozenset({"reject", "abort", "evicted"})
"""Events painted red: the association did not end as asked."""
_TS_SHORT = {
    "1.2.840.10008.1.2": "Implicit VR LE",
    "1.2.840.10008.1.2.1": "Explicit VR LE",
    "1.2.840.10008.1.2.2": "Explicit VR BE",
    "1.2.840.10008.1.2.1.99": "Deflated Explicit VR LE",
}
"""Short names of the uncompressed transfer syntaxes (LE, BE: little, big endian)."""
_SUFFIXES = (" SOP Class", " Storage")
"""Left off an abstract syntax's name on the AC line (the list is about which, not what kind)."""


@dataclass(frozen=True)
class TextStyle:
    """How records are written as text: secrets, colour, the context list and the width."""

    show_secrets: bool = False
    paint: Paint = PLAIN
    contexts: bool = False
    """List every presentation context below the A-ASSOCIATE-AC (``--contexts``)."""
    width: int = DEFAULT_WIDTH


PLAIN_STYLE = TextStyle()


@functools.lru_cache(maxsize=1024)
def _uid_name(uid: str | None) -> str:
    """A UID by its registry name when pydicom knows it (remembered: the same few repeat)."""
    if not uid:
        return "?"
    name = UID(uid).name
    return name if name and name != uid else uid


@functools.lru_cache(maxsize=1024)
def _short_name(uid: str) -> str:
    """An abstract syntax's name without ``SOP Class`` or ``Storage`` at its end."""
    name = _uid_name(uid)
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def _ts_name(uid: str) -> str:
    """A transfer syntax's name, the uncompressed ones shortened (``Explicit VR LE``)."""
    return _TS_SHORT.get(uid) or _uid_name(uid)


def _peer(pdu: AAssociateRQ | AAssociateAC | AAssociateRJ | None) -> list[str]:
    """``max-pdu=`` and ``impl=`` of an A-ASSOCIATE-RQ or -AC (what its sender said of itself)."""
    info = None if pdu is None or isinstance(pdu, AAssociateRJ) else pdu.user_information
    if info is None:
        return []
    parts = []
    maximum = info.maximum_length
    if maximum is not None:
        parts.append(f"max-pdu={'unlimited' if maximum == 0 else maximum}")
    uid = (info.implementation_class_uid or "").strip("\x00 ")
    version = (info.implementation_version_name or "").strip("\x00 ")
    if uid or version:  # the name says more to a person; the UID when there is none
        parts.append(f"impl={version or uid}")
    return parts


def _accepted(record: AssociationRecord, budget: int) -> str:
    """The accepted abstract syntaxes, grouped by the transfer syntaxes each was accepted in, in
    about ``budget`` characters: every group is named, abstract syntaxes go in while they fit,
    the rest are counted (``+N more``)."""
    syntaxes: dict[str, list[str]] = {}  # abstract syntax -> its transfer syntaxes
    for _cid, context in sorted(record.accepted_contexts.items()):
        found = syntaxes.setdefault(context.abstract_syntax, [])
        if context.transfer_syntax not in found:
            found.append(context.transfer_syntax)
    groups: dict[tuple[str, ...], list[str]] = {}
    for abstract, transfers in syntaxes.items():
        groups.setdefault(tuple(transfers), []).append(abstract)
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))  # stable: first seen first
    heads = [" + ".join(_ts_name(ts) for ts in transfers) + ": " for transfers, _ in ordered]
    room = budget - sum(len(head) for head in heads) - 2 * (len(heads) - 1)  # "; " between
    parts = []
    full = False
    for head, (_transfers, uids) in zip(heads, ordered, strict=True):
        shown: list[str] = []
        for uid in uids:
            name = _short_name(uid)
            last = len(shown) == len(uids) - 1
            if full or room - len(name) - 2 < (0 if last else _MORE):
                full = True
                break
            shown.append(name)
            room -= len(name) + 2
        left = len(uids) - len(shown)
        if not shown:
            parts.append(f"{head}{left} abstract syntax{'es' if left > 1 else ''}")
        else:
            parts.append(head + ", ".join(shown) + (f", +{left} more" if left else ""))
    return "; ".join(parts)


def _context_lines(record: AssociationRecord, paint: Paint) -> list[str]:
    """Every proposed context, one per line: accepted with its transfer syntax, or rejected
    with the reason (``--contexts``)."""
    request = record.request
    accepted, rejected = record.accepted_contexts, record.rejected_contexts
    lines = []
    for item in () if request is None else request.presentation_contexts:
        cid = item.presentation_context_id
        name = _uid_name(item.abstract_syntax)
        if cid in accepted:
            lines.append(
                f"    pc={cid} accepted {name} in {_uid_name(accepted[cid].transfer_syntax)}"
            )
        elif cid in rejected:
            why = enum_name(rejected[cid].result)
            lines.append(paint(f"    pc={cid} rejected {name} ({why})", YELLOW))
        else:
            offered = ", ".join(_uid_name(ts) for ts in item.transfer_syntaxes)
            lines.append(f"    pc={cid} proposed {name} in {offered or 'no transfer syntax'}")
    return lines


def _association_text(event: AssociationEvent, style: TextStyle) -> str:
    record: AssociationRecord = event.association
    head = _EVENT_LABELS.get(event.event, event.event)
    if event.event == "request":
        parts = [
            f"{head} {record.calling_ae_title} -> {record.called_ae_title}",
            f"{record.requestor} -> {record.acceptor}",
        ]
        request = record.request
        if request is not None:
            parts.append(f"contexts proposed={len(request.presentation_contexts)}")
        parts += _peer(request)
        identity = record.user_identity
        if isinstance(identity, UserIdentityRQSubItem):
            shown = identity_json(identity, style.show_secrets)
            parts.append(f"user({shown['type']})={shown['primary_field']}")
            if identity.secondary_field:
                parts.append(f"secret={shown['secondary_field']}")
        return " ".join(parts)
    if event.event == "accept":
        proposed = None if record.request is None else len(record.request.presentation_contexts)
        count = len(record.accepted_contexts)
        text = " ".join([head, *_peer(record.answer)])
        text += f" accepted {count} of {'?' if proposed is None else proposed} contexts"
        if count:
            budget = style.width - FRAME_RESERVE - len(text) - 2
            text += ": " + _accepted(record, max(budget, _MIN_CONTEXTS))
        if count == 0 or (proposed is not None and count < proposed):
            text = style.paint(text, YELLOW) if count else style.paint(text, RED)
        if style.contexts:
            text = "\n".join([text, *_context_lines(record, style.paint)])
        return text
    if event.event == "reject" and isinstance(record.answer, AAssociateRJ):
        rj = record.answer
        text = style.paint(
            f"{head} result={enum_name(rj.result)} source={enum_name(rj.source)} "
            f"reason={enum_name(rj.reason_diag)}",
            RED,
        )
        if style.contexts:  # what was asked for, none of it answered
            text = "\n".join([text, *_context_lines(record, style.paint)])
        return text
    if event.event == "abort" and record.abort is not None:
        abort = record.abort
        text = f"{head} source={enum_name(abort.source)} reason={enum_name(abort.reason_diag)}"
        return style.paint(text, RED)
    if event.event == "mid-stream":
        return f"{head} ({record.requestor} -> {record.acceptor})"
    return style.paint(head, RED if event.event in _ALARMING_EVENTS else None)


def _message_text(message: CapturedMessage, paint: Paint = PLAIN) -> str:
    parts = [
        message.direction.value,
        f"pc={message.context_id}",
        message.name,
    ]
    primitive = message.primitive
    message_id = getattr(primitive, "MessageID", None)
    answered = getattr(primitive, "MessageIDBeingRespondedTo", None)
    if isinstance(message_id, int):
        parts.append(f"id={message_id}")
    elif isinstance(answered, int):
        parts.append(f"id={answered}")
    if message.dataset is not None:
        parts.append(f"ds={len(message.dataset)}B")
        if message.incomplete is not None and message.dataset_announced is not None:
            parts.append(f"of {message.dataset_announced}B announced")
    if message.gaps:
        parts.append(paint(f"gaps={len(message.gaps)} ({message.bytes_missing}B missing)", MAGENTA))
    status = message.status
    described = message.described_status
    if status is not None and described is not None:
        category = described.category.value
        text = f"status={status:04X}H {category}"
        if category != "Success":
            text += f" ({described.meaning})"
        parts.append(paint(text, {"Failure": RED, "Warning": YELLOW}.get(category)))
    if message.request_frame is not None:
        parts.append(f"rq=f{message.request_frame}")
    if message.response_time_ns is not None:
        parts.append(f"{message.response_time_ns / 1e6:.3f}ms")
    if message.transfer_syntax_guessed is not None:
        parts.append(f"ts={message.transfer_syntax} (guessed)")
    if message.incomplete is not None:
        parts.append(paint(f"(incomplete: {message.incomplete.message})", MAGENTA))
    lines = [" ".join(parts)]
    lines += [paint(f"    ! {d.code.value}: {d.message}", MAGENTA) for d in message.diagnostics]
    return "\n".join(lines)


def record_text(record: CaptureRecord, style: TextStyle = PLAIN_STYLE) -> str:
    """One record's line body (a message's diagnostics, and with ``--contexts`` an
    A-ASSOCIATE-AC's contexts, follow it on lines of their own, indented)."""
    if isinstance(record, AssociationEvent):
        return _association_text(record, style)
    if isinstance(record, CapturedMessage):
        return _message_text(record, style.paint)
    if isinstance(record, StreamGap):
        size = "unknown number of" if record.length is None else str(record.length)
        text = (
            f"gap {record.direction.value} at offset {record.offset}: {size} bytes missing "
            f"({record.reason.name})"
        )
        return style.paint(text, MAGENTA)
    return style.paint(
        f"problem {record.diagnostic.code.value}: {record.diagnostic.message}", MAGENTA
    )


def _size(count: object) -> str:
    """A byte count for people: ``812 B``, ``7.9 kB``, ``2.5 MB``, ``1.2 GB``."""
    value = count if isinstance(count, int) else 0
    if value < 1000:
        return f"{value} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if value < scale * 1000 or unit == "GB":
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"  # not reached


def _plural(count: object, word: str) -> str:
    number = count if isinstance(count, int) else 0
    return f"{number} {word}{'' if number == 1 else 's'}"


def association_end_text(
    values: dict[str, RowValue], slowest: tuple[int, str, int] | None, paint: Paint = PLAIN
) -> str:
    """The line after an association's end: its AE titles, how it ended and after how long,
    bytes each way, messages, failures and warnings, and its slowest response (the row's
    figures, :class:`~dimse_codec.capture.rows.RowBuilder`'s, with ``slowest`` as
    (nanoseconds, message type, frame))."""
    ended = values.get("state") or "unknown"
    alarm = ended in ("aborted", "rejected", "evicted")
    whole, paint = (paint, PLAIN) if alarm else (PLAIN, paint)
    calling = values.get("calling_ae_title") or "?"
    called = values.get("called_ae_title") or "?"
    duration = values.get("duration")
    took = f" {duration:.3f}s" if isinstance(duration, float) else ""
    parts = [
        f"end {calling} -> {called}{took} {ended}:",
        f"{_plural(values.get('messages'), 'message')}"
        f" ({values.get('requests', 0)} rq, {values.get('responses', 0)} rsp),",
    ]
    failures, warnings = values.get("failures"), values.get("warnings")
    parts.append(paint(f"{_plural(failures, 'failure')},", RED if failures else None))
    parts.append(paint(f"{_plural(warnings, 'warning')},", YELLOW if warnings else None))
    for key, word in (("unanswered", "unanswered"), ("gaps", "gap"), ("problems", "problem")):
        count = values.get(key)
        if count:
            shown = f"{count} unanswered," if key == "unanswered" else f"{_plural(count, word)},"
            parts.append(paint(shown, MAGENTA))
    parts.append(
        f"{_size(values.get('bytes_from_requestor'))} -> "
        f"{_size(values.get('bytes_from_acceptor'))} <-"
    )
    if slowest is not None:
        nanoseconds, name, frame = slowest
        parts[-1] += ","
        parts.append(f"slowest {name} {nanoseconds / 1e6:.3f}ms (f{frame})")
    return whole(" ".join(parts), RED)


def export_text(message: CapturedMessage, path: Path | None, why: str | None) -> str:
    """The line body saying where ``--export`` wrote a message's data set, or why it did not."""
    if path is None:
        return f"export skipped ({message.name}): {why}"
    text = f"exported {message.name} data set to {path}"
    if message.transfer_syntax_guessed is not None:
        text += f" (transfer syntax {message.transfer_syntax} guessed)"
    return text
