"""The text view of a capture's records: one line per association event, message, gap or problem."""

from __future__ import annotations

import functools
from pathlib import Path

from pydicom.uid import UID

from dimse_codec.capture import (
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureRecord,
    StreamGap,
)
from dimse_codec.cli.ndjson import enum_name, identity_json
from dimse_codec.pdu import AAssociateRJ, UserIdentityRQSubItem

__all__ = ["export_text", "record_text"]

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


@functools.lru_cache(maxsize=1024)
def _uid_name(uid: str | None) -> str:
    """A UID by its registry name when pydicom knows it (remembered: the same few repeat)."""
    if not uid:
        return "?"
    name = UID(uid).name
    return name if name and name != uid else uid


def _where(association: int | None, frame: int | None) -> str:
    return f"a{'?' if association is None else association} f{'?' if frame is None else frame}"


def _association_text(event: AssociationEvent, show_secrets: bool) -> str:
    record: AssociationRecord = event.association
    head = f"{_where(record.index, event.frame)} {_EVENT_LABELS.get(event.event, event.event)}"
    if event.event == "request":
        parts = [
            f"{head} {record.calling_ae_title} -> {record.called_ae_title}",
            f"{record.requestor} -> {record.acceptor}",
        ]
        request = record.request
        if request is not None:
            parts.append(f"contexts proposed={len(request.presentation_contexts)}")
        identity = record.user_identity
        if isinstance(identity, UserIdentityRQSubItem):
            shown = identity_json(identity, show_secrets)
            parts.append(f"user({shown['type']})={shown['primary_field']}")
            if identity.secondary_field:
                parts.append(f"secret={shown['secondary_field']}")
        return " ".join(parts)
    if event.event == "accept":
        accepted = ", ".join(
            f"pc={cid} {_uid_name(ctx.abstract_syntax)} ({_uid_name(ctx.transfer_syntax)})"
            for cid, ctx in sorted(record.accepted_contexts.items())
        )
        text = f"{head} accepted: {accepted or 'none'}"
        if record.rejected_contexts:
            text += f"; rejected: {', '.join(str(c) for c in sorted(record.rejected_contexts))}"
        return text
    if event.event == "reject" and isinstance(record.answer, AAssociateRJ):
        rj = record.answer
        return (
            f"{head} result={enum_name(rj.result)} source={enum_name(rj.source)} "
            f"reason={enum_name(rj.reason_diag)}"
        )
    if event.event == "abort" and record.abort is not None:
        abort = record.abort
        return f"{head} source={enum_name(abort.source)} reason={enum_name(abort.reason_diag)}"
    if event.event == "mid-stream":
        return f"{head} ({record.requestor} -> {record.acceptor})"
    return head


def _message_text(message: CapturedMessage) -> str:
    parts = [
        _where(message.association, message.frame),
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
        parts.append(f"gaps={len(message.gaps)} ({message.bytes_missing}B missing)")
    status = message.status
    described = message.described_status
    if status is not None and described is not None:
        text = f"status={status:04X}H {described.category.value}"
        if described.category.value != "Success":
            text += f" ({described.meaning})"
        parts.append(text)
    if message.request_frame is not None:
        parts.append(f"rq=f{message.request_frame}")
    if message.response_time_ns is not None:
        parts.append(f"{message.response_time_ns / 1e6:.3f}ms")
    if message.transfer_syntax_guessed is not None:
        parts.append(f"ts={message.transfer_syntax} (guessed)")
    if message.incomplete is not None:
        parts.append(f"(incomplete: {message.incomplete.message})")
    lines = [" ".join(parts)]
    lines += [f"    ! {d.code.value}: {d.message}" for d in message.diagnostics]
    return "\n".join(lines)


def record_text(record: CaptureRecord, *, show_secrets: bool = False) -> str:
    """One record as one line (a message's diagnostics follow it, indented)."""
    if isinstance(record, AssociationEvent):
        return _association_text(record, show_secrets)
    if isinstance(record, CapturedMessage):
        return _message_text(record)
    if isinstance(record, StreamGap):
        size = "unknown number of" if record.length is None else str(record.length)
        return (
            f"{_where(record.association, record.frame)} gap {record.direction.value} "
            f"at offset {record.offset}: {size} bytes missing ({record.reason.name})"
        )
    return (
        f"{_where(record.association, record.frame)} problem {record.diagnostic.code.value}: "
        f"{record.diagnostic.message}"
    )


def export_text(message: CapturedMessage, path: Path | None, why: str | None) -> str:
    where = _where(message.association, message.frame)
    if path is None:
        return f"{where} export skipped ({message.name}): {why}"
    text = f"{where} exported {message.name} data set to {path}"
    if message.transfer_syntax_guessed is not None:
        text += f" (transfer syntax {message.transfer_syntax} guessed)"
    return text
