"""Flat rows for analysis: one per DIMSE message and one per association, with a fixed schema.

:class:`RowBuilder` takes the records of :class:`~dimse_codec.capture.CaptureDecoder` in order
and returns rows as soon as they are complete: a message row when its message is decoded (a
response names its request's row by ``request_key`` and carries the timings of the pair), an
association row when its association ends (release, abort, reject, close, or the capture's
end). What it keeps is bounded by what is open: per open association its counters and the
requests still waiting for their response, dropped when answered or when the association ends.

The columns are data (:data:`MESSAGE_COLUMNS`, :data:`ASSOCIATION_COLUMNS`): each with a name,
a type (``string``, ``int``, ``float``) and its meaning, so that every output format (NDJSON,
CSV, Parquet, a Zeek log) and ``docs/decode.md`` state the same schema. Times are capture
times in seconds since the epoch, durations in seconds; statuses read through
:mod:`dimse_codec.dimse.status`; the data set digest is SHA-256 of the data set bytes as they
crossed the wire (as :attr:`~dimse_codec.capture.CapturedMessage.dataset_sha256`).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

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
from dimse_codec.dimse.status import Status, StatusCategory
from dimse_codec.pcap.tcp import Endpoint
from dimse_codec.pdu import AAbort, AAssociateAC, AAssociateRJ, AAssociateRQ

__all__ = [
    "ASSOCIATION_COLUMNS",
    "DATASET_COLUMN",
    "MESSAGE_COLUMNS",
    "Column",
    "Row",
    "RowBuilder",
    "RowValue",
]

RowValue = str | bool | int | float | None
"""A cell: text, a flag, a whole number, a number of seconds, or None (unknown, or not
applicable)."""


class Column(NamedTuple):
    """One column of a row schema: its name, its type and what it holds."""

    name: str
    type: Literal["string", "int", "float", "bool"]
    meaning: str


MESSAGE_COLUMNS: tuple[Column, ...] = (
    Column("key", "string", "the row's key: `association_uid/message_number`"),
    Column("association", "int", "the association's number in the capture (from 0)"),
    Column("association_uid", "string", "an identifier of the association stable across runs"),
    Column("message_number", "int", "the message's number in its association (from 1)"),
    Column("time", "float", "capture time of the message's last byte (seconds since the epoch)"),
    Column("first_time", "float", "capture time of the message's first byte"),
    Column("first_frame", "int", "the frame that carried the message's first byte"),
    Column("frame", "int", "the frame it was decided at (normally that of its last byte)"),
    Column("requestor_address", "string", "the association requestor's IP address"),
    Column("requestor_port", "int", "the requestor's TCP port"),
    Column("acceptor_address", "string", "the association acceptor's IP address"),
    Column("acceptor_port", "int", "the acceptor's TCP port"),
    Column("direction", "string", "`requestor->acceptor`, `acceptor->requestor` or `unknown`"),
    Column("calling_ae_title", "string", "the requestor's AE title (A-ASSOCIATE-RQ)"),
    Column("called_ae_title", "string", "the acceptor's AE title (A-ASSOCIATE-RQ)"),
    Column(
        "implementation_class_uid",
        "string",
        "the Implementation Class UID of the message's sender (its A-ASSOCIATE-RQ or -AC)",
    ),
    Column("implementation_version_name", "string", "the sender's Implementation Version Name"),
    Column("context_id", "int", "the presentation context ID"),
    Column("abstract_syntax", "string", "the context's abstract syntax (a SOP Class UID)"),
    Column("transfer_syntax", "string", "the context's transfer syntax (or the one guessed)"),
    Column("message", "string", "the message type, e.g. `C-STORE-RQ`"),
    Column("service", "string", "the DIMSE service, e.g. `C-STORE`"),
    Column("message_id", "int", "Message ID (0000,0110) of a request"),
    Column(
        "message_id_being_responded_to",
        "int",
        "Message ID Being Responded To (0000,0120) of a response or C-CANCEL-RQ",
    ),
    Column("request_key", "string", "for a response or C-CANCEL-RQ: the `key` of its request"),
    Column("request_frame", "int", "for a response or C-CANCEL-RQ: its request's last frame"),
    Column("status", "int", "Status (0000,0900) of a response"),
    Column(
        "status_category",
        "string",
        "`Success`, `Warning`, `Failure`, `Cancel`, `Pending` or `Unknown` (PS3.7 Annex C)",
    ),
    Column("status_meaning", "string", "the status's meaning for the message's service class"),
    Column(
        "response_time",
        "float",
        "for a response: seconds from its request's last byte to its own last byte",
    ),
    Column("scp_time", "float", "for a response: from its request's last byte to its first byte"),
    Column("request_transfer_time", "float", "for a response: its request's first to last byte"),
    Column("transfer_time", "float", "seconds from the message's first byte to its last"),
    Column("stalls", "int", "pauses inside the message longer than the stall threshold"),
    Column("stall_time", "float", "the seconds of those pauses, added up"),
    Column("longest_stall", "float", "the longest of them, in seconds"),
    Column("longest_stall_frame", "int", "the frame that ended the longest pause"),
    Column("command_bytes", "int", "bytes of the command set"),
    Column("dataset_bytes", "int", "bytes of the data set as carried (none: no data set)"),
    Column("dataset_sha256", "string", "SHA-256 of those bytes, in hex"),
    Column("sop_class_uid", "string", "Affected (or Requested) SOP Class UID"),
    Column("sop_instance_uid", "string", "Affected (or Requested) SOP Instance UID"),
    Column("diagnostic_codes", "string", "the codes of the message's diagnostics, space-separated"),
    Column(
        "incomplete",
        "bool",
        "the message never became whole (bytes lost or cut off): its data set is partial",
    ),
    Column("gaps", "int", "stretches of its direction's stream lost while it was sent"),
    Column("bytes_missing", "int", "the bytes of those gaps, added up"),
    Column("dataset_announced", "int", "data set bytes the PDV headers seen announced"),
)
"""The columns of a message row, in order."""

DATASET_COLUMN = Column(
    "dataset_json", "string", "with `--datasets` only: the data set as the DICOM JSON model"
)
"""The column ``dimse-codec decode --datasets`` adds to message rows (last)."""

ASSOCIATION_COLUMNS: tuple[Column, ...] = (
    Column("association", "int", "the association's number in the capture (from 0)"),
    Column("association_uid", "string", "an identifier of the association stable across runs"),
    Column("time", "float", "capture time of its first record (the A-ASSOCIATE-RQ, usually)"),
    Column("end_time", "float", "capture time of its last record"),
    Column("duration", "float", "seconds from `time` to `end_time`"),
    Column("first_frame", "int", "the frame of its first record"),
    Column("last_frame", "int", "the frame of its last record"),
    Column("requestor_address", "string", "the requestor's IP address"),
    Column("requestor_port", "int", "the requestor's TCP port"),
    Column("acceptor_address", "string", "the acceptor's IP address"),
    Column("acceptor_port", "int", "the acceptor's TCP port"),
    Column("calling_ae_title", "string", "the requestor's AE title"),
    Column("called_ae_title", "string", "the acceptor's AE title"),
    Column("requestor_implementation_class_uid", "string", "from the A-ASSOCIATE-RQ"),
    Column("requestor_implementation_version_name", "string", "from the A-ASSOCIATE-RQ"),
    Column("acceptor_implementation_class_uid", "string", "from the A-ASSOCIATE-AC"),
    Column("acceptor_implementation_version_name", "string", "from the A-ASSOCIATE-AC"),
    Column("requestor_max_pdu_length", "int", "Maximum Length Received of the requestor"),
    Column("acceptor_max_pdu_length", "int", "Maximum Length Received of the acceptor"),
    Column("user_identity_type", "string", "the User Identity type the requestor sent"),
    Column("contexts_proposed", "int", "presentation contexts proposed"),
    Column("contexts_accepted", "int", "presentation contexts accepted"),
    Column(
        "state",
        "string",
        "how it stood at the end: `released`, `aborted`, `rejected`, `closed`, `truncated`, "
        "`accepted`, `requested` or `unknown`",
    ),
    Column(
        "ended_by",
        "string",
        "what ended it: `release`, `abort`, `reject`, `close` (TCP closed first), `truncated` "
        "(the capture ended first), or none (a new association took over its connection)",
    ),
    Column("end_detail", "string", "for an abort or reject: its source, reason (and result)"),
    Column("bytes_from_requestor", "int", "bytes the requestor sent (captured; gaps excluded)"),
    Column("bytes_from_acceptor", "int", "bytes the acceptor sent"),
    Column("throughput", "float", "bytes both ways per second of `duration`"),
    Column("messages", "int", "DIMSE messages"),
    Column("requests", "int", "of which requests"),
    Column("responses", "int", "of which responses"),
    Column("failures", "int", "responses with a Failure status"),
    Column("warnings", "int", "responses with a Warning status"),
    Column("unanswered", "int", "requests with no final response when the association ended"),
    Column("stalls", "int", "pauses inside its messages longer than the stall threshold"),
    Column("gaps", "int", "gaps (bytes the capture does not have)"),
    Column("problems", "int", "problems reported for it"),
)
"""The columns of an association row, in order."""

_KEEP_ENDED = 256
"""Ended associations remembered (keys only) for records that come after their end."""


@dataclass(frozen=True, slots=True)
class Row:
    """One row: ``table`` is ``message`` or ``association``; ``values`` follow its columns."""

    table: Literal["message", "association"]
    values: dict[str, RowValue]


@dataclass(slots=True)
class _Request:
    """What a response needs of its request, kept until the request is answered."""

    key: str
    frame: int
    time_ns: int | None
    first_time_ns: int | None


@dataclass(slots=True)
class _Open:
    """An association seen and not ended: its latest snapshot and its counters."""

    uid: str
    record: AssociationRecord
    start_ns: int | None
    end_ns: int | None
    last_frame: int
    messages: int = 0
    requests: int = 0
    responses: int = 0
    failures: int = 0
    warnings: int = 0
    stalls: int = 0
    gaps: int = 0
    problems: int = 0
    pending: dict[tuple[DicomDirection, int], _Request] = field(default_factory=dict)


def _seconds(time_ns: int | None) -> float | None:
    return None if time_ns is None else time_ns / 1e9


def _elapsed(start: int | None, end: int | None) -> float | None:
    return None if start is None or end is None else (end - start) / 1e9


def _text(value: object) -> str | None:
    """A string cell: stripped of DICOM padding, None when empty or absent."""
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ") or None


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ends(record: AssociationRecord) -> tuple[Endpoint, Endpoint]:
    """Requestor and acceptor endpoints (the connection's order while the roles are unknown)."""
    first, second = record.connection.endpoints
    return record.requestor or first, record.acceptor or second


def _implementation(pdu: AAssociateRQ | AAssociateAC | AAssociateRJ | None) -> tuple[object, ...]:
    info = None if pdu is None or isinstance(pdu, AAssociateRJ) else pdu.user_information
    if info is None:
        return None, None, None
    return info.implementation_class_uid, info.implementation_version_name, info.maximum_length


def _uid(record: AssociationRecord, time_ns: int | None) -> str:
    """A short identifier of an association from its addresses and where it began."""
    first, second = record.connection.endpoints
    seed = f"{first}|{second}|{record.first_frame}|{time_ns}".encode()
    return "D" + hashlib.blake2b(seed, digest_size=8).hexdigest()


def _opposite(direction: DicomDirection) -> DicomDirection:
    if direction is DicomDirection.REQUESTOR_TO_ACCEPTOR:
        return DicomDirection.ACCEPTOR_TO_REQUESTOR
    if direction is DicomDirection.ACCEPTOR_TO_REQUESTOR:
        return DicomDirection.REQUESTOR_TO_ACCEPTOR
    return direction


class RowBuilder:
    """Turn capture records, in order, into message and association rows (bounded memory).

    With ``message_rows=False`` it counts messages as ever but returns association rows only
    (what ``decode``'s text view needs for each association's totals), without the cost of a
    message row (its data set digest above all)."""

    def __init__(self, *, message_rows: bool = True) -> None:
        self.message_rows = message_rows
        self._open: dict[int, _Open] = {}
        self._ended: OrderedDict[int, _Open] = OrderedDict()

    def feed(self, record: CaptureRecord) -> list[Row]:
        """Take one record; return the rows it completed (none, one, or two)."""
        if isinstance(record, CapturedMessage):
            row = self._message(record)
            return [] if row is None else [row]
        if isinstance(record, AssociationEvent):
            return self._event(record)
        if record.association is None:
            return []
        state = self._open.get(record.association)
        if state is not None:
            if isinstance(record, StreamGap):
                state.gaps += 1
            elif isinstance(record, CaptureProblem):
                state.problems += record.count
        return []

    @property
    def open_associations(self) -> int:
        """Associations seen and not ended: what the builder holds state for."""
        return len(self._open)

    @property
    def waiting_requests(self) -> int:
        """Requests of open associations still waiting for their final response."""
        return sum(len(state.pending) for state in self._open.values())

    def finish(self) -> list[Row]:
        """The rows of associations that never ended (the records are over)."""
        rows = [self._close(index, None) for index in list(self._open)]
        self._ended.clear()
        return rows

    # -- associations ------------------------------------------------------------------------

    def _state(self, index: int) -> _Open | None:
        return self._open.get(index) or self._ended.get(index)

    def _event(self, event: AssociationEvent) -> list[Row]:
        record = event.association
        index = record.index
        state = self._open.get(index)
        if state is None:
            if index in self._ended:
                return []  # after its end (a second A-RELEASE-RP of a collision)
            state = _Open(_uid(record, event.time_ns), record, event.time_ns, None, event.frame)
            self._open[index] = state
        state.record = record
        state.end_ns = event.time_ns if event.time_ns is not None else state.end_ns
        state.last_frame = max(state.last_frame, event.frame)
        if event.event in ENDING_EVENTS:
            return [self._close(index, event.event)]
        return []

    def _close(self, index: int, end: str | None) -> Row:
        state = self._open.pop(index)
        self._ended[index] = state
        while len(self._ended) > _KEEP_ENDED:
            self._ended.popitem(last=False)
        unanswered = len({request.key for request in state.pending.values()})
        state.pending.clear()
        return Row("association", self._association_values(state, end, unanswered))

    def _association_values(
        self, state: _Open, end: str | None, unanswered: int
    ) -> dict[str, RowValue]:
        record = state.record
        requestor, acceptor = _ends(record)
        request, answer = record.request, record.answer
        rq_class, rq_version, rq_max = _implementation(request)
        ac_class, ac_version, ac_max = _implementation(answer)
        sent = record.octets
        from_requestor = sent[0 if requestor == record.connection.endpoints[0] else 1]
        from_acceptor = sent[0] + sent[1] - from_requestor
        duration = _elapsed(state.start_ns, state.end_ns)
        identity = record.user_identity
        kind = None if identity is None else identity.user_identity_type
        return {
            "association": record.index,
            "association_uid": state.uid,
            "time": _seconds(state.start_ns),
            "end_time": _seconds(state.end_ns),
            "duration": duration,
            "first_frame": record.first_frame,
            "last_frame": state.last_frame,
            "requestor_address": str(requestor.ip),
            "requestor_port": requestor.port,
            "acceptor_address": str(acceptor.ip),
            "acceptor_port": acceptor.port,
            "calling_ae_title": _text(record.calling_ae_title),
            "called_ae_title": _text(record.called_ae_title),
            "requestor_implementation_class_uid": _text(rq_class),
            "requestor_implementation_version_name": _text(rq_version),
            "acceptor_implementation_class_uid": _text(ac_class),
            "acceptor_implementation_version_name": _text(ac_version),
            "requestor_max_pdu_length": _whole(rq_max),
            "acceptor_max_pdu_length": _whole(ac_max),
            "user_identity_type": None if kind is None else getattr(kind, "name", str(kind)),
            "contexts_proposed": None if request is None else len(request.presentation_contexts),
            "contexts_accepted": len(record.accepted_contexts) if answer is not None else None,
            "state": record.state,
            "ended_by": end,
            "end_detail": _end_detail(record),
            "bytes_from_requestor": from_requestor,
            "bytes_from_acceptor": from_acceptor,
            "throughput": (sent[0] + sent[1]) / duration if duration else None,
            "messages": state.messages,
            "requests": state.requests,
            "responses": state.responses,
            "failures": state.failures,
            "warnings": state.warnings,
            "unanswered": unanswered,
            "stalls": state.stalls,
            "gaps": state.gaps,
            "problems": state.problems,
        }

    # -- messages ----------------------------------------------------------------------------

    def _message(self, message: CapturedMessage) -> Row | None:
        state = self._state(message.association)
        if state is None:  # the decoder always names the association first; be safe
            if not self.message_rows:
                return None
            return Row("message", self._message_values(message, None, None, None, None))
        state.messages += 1
        state.last_frame = max(state.last_frame, message.frame)
        if message.time_ns is not None:
            state.end_ns = message.time_ns
        key = f"{state.uid}/{state.messages}"
        spec = message.primitive.message_spec
        request: _Request | None = None
        described = message.described_status
        category = None if described is None else described.category
        if spec is not None and spec.is_request and spec.name != "C-CANCEL-RQ":
            state.requests += 1
            message_id = getattr(message.primitive, "MessageID", None)
            if isinstance(message_id, int):
                state.pending[(message.direction, message_id)] = _Request(
                    key, message.frame, message.time_ns, message.first_time_ns
                )
        elif spec is not None:
            answered = getattr(message.primitive, "MessageIDBeingRespondedTo", None)
            if isinstance(answered, int):
                if spec.name == "C-CANCEL-RQ":
                    request = state.pending.get((message.direction, answered))
                else:
                    state.responses += 1
                    where = (_opposite(message.direction), answered)
                    request = state.pending.get(where)
                    if request is not None and category is not StatusCategory.PENDING:
                        del state.pending[where]
        if category is StatusCategory.FAILURE:
            state.failures += 1
        elif category is StatusCategory.WARNING:
            state.warnings += 1
        state.stalls += len(message.stalls)
        if not self.message_rows:
            return None
        values = self._message_values(message, state, key, request, described)
        return Row("message", values)

    def _message_values(
        self,
        message: CapturedMessage,
        state: _Open | None,
        key: str | None,
        request: _Request | None,
        described: Status | None,
    ) -> dict[str, RowValue]:
        primitive = message.primitive
        record = None if state is None else state.record
        requestor, acceptor = (None, None) if record is None else _ends(record)
        sender: AAssociateRQ | AAssociateAC | AAssociateRJ | None = None
        if record is not None:
            if message.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR:
                sender = record.request
            elif message.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR:
                sender = record.answer
        implementation, version, _ = _implementation(sender)
        stalls = message.stalls
        longest = max(stalls, key=lambda stall: stall.duration_ns) if stalls else None
        spec = primitive.message_spec
        return {
            "key": key,
            "association": message.association,
            "association_uid": None if state is None else state.uid,
            "message_number": None if state is None else state.messages,
            "time": _seconds(message.time_ns),
            "first_time": _seconds(message.first_time_ns),
            "first_frame": message.first_frame,
            "frame": message.frame,
            "requestor_address": None if requestor is None else str(requestor.ip),
            "requestor_port": None if requestor is None else requestor.port,
            "acceptor_address": None if acceptor is None else str(acceptor.ip),
            "acceptor_port": None if acceptor is None else acceptor.port,
            "direction": message.direction.value,
            "calling_ae_title": None if record is None else _text(record.calling_ae_title),
            "called_ae_title": None if record is None else _text(record.called_ae_title),
            "implementation_class_uid": _text(implementation),
            "implementation_version_name": _text(version),
            "context_id": message.context_id,
            "abstract_syntax": message.abstract_syntax,
            "transfer_syntax": message.transfer_syntax,
            "message": message.name,
            "service": None if spec is None else spec.service.name,
            "message_id": _whole(getattr(primitive, "MessageID", None)),
            "message_id_being_responded_to": _whole(
                getattr(primitive, "MessageIDBeingRespondedTo", None)
            ),
            "request_key": None if request is None else request.key,
            "request_frame": message.request_frame,
            "status": message.status,
            "status_category": None if described is None else described.category.value,
            "status_meaning": None if described is None else described.meaning,
            "response_time": _seconds(message.response_time_ns),
            "scp_time": (
                None if request is None else _elapsed(request.time_ns, message.first_time_ns)
            ),
            "request_transfer_time": (
                None if request is None else _elapsed(request.first_time_ns, request.time_ns)
            ),
            "transfer_time": _elapsed(message.first_time_ns, message.time_ns),
            "stalls": len(stalls),
            "stall_time": sum(stall.duration_ns for stall in stalls) / 1e9 if stalls else None,
            "longest_stall": None if longest is None else longest.duration_ns / 1e9,
            "longest_stall_frame": None if longest is None else longest.frame,
            "command_bytes": len(message.command_set),
            "dataset_bytes": None if message.dataset is None else len(message.dataset),
            "dataset_sha256": message.dataset_sha256,
            "sop_class_uid": _text(
                getattr(primitive, "AffectedSOPClassUID", None)
                or getattr(primitive, "RequestedSOPClassUID", None)
            ),
            "sop_instance_uid": _text(
                getattr(primitive, "AffectedSOPInstanceUID", None)
                or getattr(primitive, "RequestedSOPInstanceUID", None)
            ),
            "diagnostic_codes": " ".join(d.code.value for d in message.diagnostics) or None,
            "incomplete": message.incomplete is not None,
            "gaps": len(message.gaps),
            "bytes_missing": message.bytes_missing,
            "dataset_announced": message.dataset_announced,
        }


def _end_detail(record: AssociationRecord) -> str | None:
    """The source and reason of an A-ABORT, or the result, source and reason of an -RJ."""
    abort, answer = record.abort, record.answer
    if isinstance(abort, AAbort):
        return f"source={_name(abort.source)} reason={_name(abort.reason_diag)}"
    if isinstance(answer, AAssociateRJ):
        return (
            f"result={_name(answer.result)} source={_name(answer.source)} "
            f"reason={_name(answer.reason_diag)}"
        )
    return None


def _name(value: object) -> str:
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else str(value)
