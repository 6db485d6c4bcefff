"""``dimse-codec decode CAPTURE``: every association event and DIMSE message of a pcap/pcapng file.

A thin layer over :class:`~dimse_codec.capture.dicom.CaptureDecoder`: records become one text
line each (with a summary of message types, statuses and response times at the end) or one
NDJSON object each (``--json``; schema in ``docs/decode.md``), read through
:func:`~dimse_codec.capture.dicom.decode_capture`. ``--export DIR`` writes every
C-STORE-RQ data set as a DICOM Part-10 file (:func:`export_message`).

``--datasets`` adds each data set as the DICOM JSON model (PS3.18 F.2) with output proportional
to what was asked for: bulk data (binary values over :data:`BULK_DATA_THRESHOLD` bytes) becomes
its SHA-256 and length as a ``BulkDataURI`` (PS3.18 F.2.7), not base64, unless
``--bulk-data inline``; and the JSON of one data set stops at ``--max-dataset-json`` bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import random
import re
import stat
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pydicom.valuerep import AMBIGUOUS_VR, BYTES_VR

from dimse_codec.capture import (
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureRecord,
    DicomDirection,
    StreamGap,
    decode_capture,
)
from dimse_codec.capture.dicom import DEFAULT_STALL_THRESHOLD_NS, ENDING_EVENTS
from dimse_codec.capture.rows import Row, RowBuilder
from dimse_codec.capture.select import (
    RecordSelector,
    add_selection_arguments,
    select_rows,
    selection_from_arguments,
)
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.formats import ROW_FORMATS, MissingExtra, RowWriter, open_writer
from dimse_codec.cli.fuzz import _port
from dimse_codec.cli.render import diagnostic_json, element_values, status_service
from dimse_codec.dataset import decode_dataset
from dimse_codec.diagnostics import Diagnostic
from dimse_codec.dimse.status import describe
from dimse_codec.errors import DimseCodecError, InvalidParameter, LimitExceeded
from dimse_codec.pcap import (
    CaptureError,
    CaptureSource,
    CaptureSources,
    NotACaptureFile,
    is_capture_file,
)
from dimse_codec.pcap.tcp import IDLE_TIMEOUT, MAX_CONNECTIONS
from dimse_codec.pdu import AAbort, AAssociateAC, AAssociateRJ, AAssociateRQ, UserIdentityRQSubItem
from dimse_codec.policy import LENIENT, STRICT
from dimse_codec.services.part10 import file_meta

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = [
    "BULK_DATA_MODES",
    "BULK_DATA_THRESHOLD",
    "DEFAULT_MAX_DATASET_JSON",
    "FORMATS",
    "DatasetJsonCut",
    "association_json",
    "bulk_data_uri",
    "dataset_model",
    "decode_records",
    "export_message",
    "file_meta",
    "message_json",
    "percentile",
    "record_json",
    "record_text",
    "register",
    "run",
]

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
_NAME_TYPES = (1, 2)
"""User identity types whose primary field is a user name (shown; PS3.7 D.3.3.7.1)."""
_PROGRESS_EVERY = 0.5

BULK_DATA_THRESHOLD = 1024
"""Binary values (OB, OD, OF, OL, OV, OW, UN) longer than this many bytes are bulk data: the
DICOM JSON model shows their digest and length, not their base64 (unless ``inline``)."""
DEFAULT_MAX_DATASET_JSON = 1 << 20
"""Bytes of DICOM JSON written for one data set (``--max-dataset-json``); past it the data set is
shown by its length and digest only, with ``json_cut`` saying so."""
BULK_DATA_MODES = ("digest", "inline")
"""What ``--bulk-data`` accepts: bulk values as digest and length, or as base64."""
FORMATS = ("text", "ndjson", *ROW_FORMATS)
"""What ``--format`` accepts: text lines, NDJSON records (``--json``), or rows in files."""
_BINARY_VRS = frozenset(str(vr) for vr in (BYTES_VR | AMBIGUOUS_VR)) - {"US or SS"}


# -- reading -------------------------------------------------------------------------------------


class _Progress:
    """Frames read so far on stderr, at most every half second, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.last = time.monotonic()
        self.shown = False

    def update(self, frame: int) -> None:
        """Show ``frame`` if half a second passed since the last update."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= _PROGRESS_EVERY:
            self.last = now
            self.shown = True
            self.stream.write(f"\rdecode: {frame} frames read")
            self.stream.flush()

    def clear(self) -> None:
        """Erase the progress line before anything else is written to stderr."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


class _InputError(Exception):
    """An input named on the command line that cannot be read as captures (a usage error)."""


class _Stdin:
    """Standard input as a capture stream, read as it arrives (a pipe from ``tcpdump -w -``).

    Each read takes what the pipe holds now, never waiting for a full buffer, and flushes
    stdout first: every record of the packets received so far is out before decode waits for
    the next ones."""

    name = "standard input"

    def __init__(self, out: TextIO) -> None:
        self._out = out
        stdin = sys.stdin.buffer
        self._read: Callable[[int], bytes] = getattr(stdin, "read1", stdin.read)

    def read1(self, size: int = -1, /) -> bytes:
        """What standard input holds now (at most ``size`` bytes), stdout flushed first."""
        self._out.flush()
        return self._read(size)

    read = read1


def _stdin_source(out: TextIO) -> CaptureSource:
    """Standard input: read in place when it is a file (``< x.pcap``), else as a live stream."""
    if sys.stdin is None or sys.stdin.isatty():
        raise _InputError("standard input is a terminal: pipe a capture into it (- reads it)")
    try:
        regular = stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no descriptor behind it (tests, embedding)
        regular = False
    return sys.stdin.buffer if regular else _Stdin(out)


def _folder(path: Path) -> list[CaptureSource]:
    """The captures in a folder and its subfolders, by name; files that are not captures (by
    their first bytes: pcap, pcapng, either gzip-compressed) are left out and counted on stderr."""
    found: list[CaptureSource] = []
    others = 0
    for root, folders, files in os.walk(path):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if is_capture_file(Path(root, name)):
                found.append(str(Path(root, name)))
            else:
                others += 1
    if not found:
        raise _InputError(f"{path}: no pcap or pcapng capture in this folder")
    if others:
        print(f"decode: {path}: {others} file(s) that are not captures left out", file=sys.stderr)
    return found


def _room_for(files: int) -> None:
    """Raise the soft limit on open files toward the hard one when ``files`` inputs need it:
    the merge keeps each input open while it reads (a day of ``tcpdump -G 60`` is 1,440)."""
    try:
        import resource
    except ImportError:  # not on this platform: the system's limit stands
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = files + 64  # and what the process has open besides
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    raised = want if hard == resource.RLIM_INFINITY else min(want, hard)
    with contextlib.suppress(ValueError, OSError):  # refused: past it, one clean error
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))


def _capture_sources(names: list[str], out: TextIO = sys.stdout) -> CaptureSources:
    """What ``decode`` reads for its CAPTURE arguments: a file, ``-`` (standard input), or
    several, folders expanded to the captures in them (read together, in time order)."""
    sources: list[CaptureSource] = []
    if names.count("-") > 1:
        raise _InputError("- (standard input) can be named once")
    for name in names:
        if name == "-":
            sources.append(_stdin_source(out))
        elif Path(name).is_dir():
            sources.extend(_folder(Path(name)))
        else:
            sources.append(name)
    if len(sources) == 1:
        return sources[0]
    _room_for(len(sources))
    return sources


def decode_records(
    path: CaptureSources,
    *,
    port: int | None,
    strict: bool,
    progress: _Progress | None = None,
    idle_timeout: float | None = IDLE_TIMEOUT,
    max_connections: int | None = MAX_CONNECTIONS,
    stall_threshold_ns: int | None = DEFAULT_STALL_THRESHOLD_NS,
) -> Iterator[CaptureRecord]:
    """Yield the records of the capture(s) at ``path`` (a truncated file ends with a problem)."""
    return decode_capture(
        path,
        port=port,
        policy=STRICT if strict else LENIENT,
        on_frame=None if progress is None else progress.update,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        stall_threshold_ns=stall_threshold_ns,
    )


# -- JSON ----------------------------------------------------------------------------------------


def _seconds(time_ns: int | None) -> float | None:
    return None if time_ns is None else time_ns / 1e9


def _name(value: object) -> object:
    """An enum member by name, a plain int as itself."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


def _identity_json(identity: UserIdentityRQSubItem, show_secrets: bool) -> dict[str, Any]:
    """The user identity, secrets replaced by their length unless ``show_secrets``."""
    kind = identity.user_identity_type
    primary: str = identity.primary_field.decode("utf-8", "backslashreplace")
    if kind not in _NAME_TYPES and not show_secrets:
        primary = f"<{len(identity.primary_field)} bytes hidden>"
    secondary = identity.secondary_field.decode("utf-8", "backslashreplace")
    if not show_secrets:
        secondary = f"<{len(identity.secondary_field)} bytes hidden>"
    return {
        "type": _name(kind),
        "primary_field": primary,
        "secondary_field": secondary,
        "positive_response_requested": bool(identity.positive_response_requested),
    }


def _implementation(pdu: AAssociateRQ | AAssociateAC | AAssociateRJ | None) -> dict[str, Any]:
    info = None if isinstance(pdu, (AAssociateRJ, type(None))) else pdu.user_information
    return {
        "class_uid": None if info is None else info.implementation_class_uid,
        "version_name": None if info is None else info.implementation_version_name,
    }


def _max_pdu(pdu: AAssociateRQ | AAssociateAC | AAssociateRJ | None) -> int | None:
    info = None if isinstance(pdu, (AAssociateRJ, type(None))) else pdu.user_information
    return None if info is None else info.maximum_length


def association_json(event: AssociationEvent, show_secrets: bool = False) -> dict[str, Any]:
    """An association event as its NDJSON object (see docs/decode.md)."""
    record = event.association
    request, answer = record.request, record.answer
    identity = record.user_identity
    out: dict[str, Any] = {
        "type": "association",
        "association": record.index,
        "event": event.event,
        "state": record.state,
        "direction": event.direction.value,
        "frame": event.frame,
        "time": _seconds(event.time_ns),
        "requestor": None if record.requestor is None else str(record.requestor),
        "acceptor": None if record.acceptor is None else str(record.acceptor),
        "calling_ae_title": record.calling_ae_title,
        "called_ae_title": record.called_ae_title,
        "requestor_implementation": _implementation(request),
        "acceptor_implementation": _implementation(answer),
        "proposed_contexts": [
            {
                "id": item.presentation_context_id,
                "abstract_syntax": item.abstract_syntax,
                "transfer_syntaxes": list(item.transfer_syntaxes),
            }
            for item in (request.presentation_contexts if request is not None else ())
        ],
        "accepted_contexts": [
            {
                "id": cid,
                "abstract_syntax": ctx.abstract_syntax,
                "transfer_syntax": ctx.transfer_syntax,
            }
            for cid, ctx in sorted(record.accepted_contexts.items())
        ],
        "rejected_contexts": [
            {"id": cid, "abstract_syntax": ctx.abstract_syntax, "result": _name(ctx.result)}
            for cid, ctx in sorted(record.rejected_contexts.items())
        ],
        "max_pdu_length": {
            "requestor_receives": _max_pdu(request),
            "acceptor_receives": _max_pdu(answer),
        },
        "user_identity": (
            None
            if not isinstance(identity, UserIdentityRQSubItem)
            else _identity_json(identity, show_secrets)
        ),
        "reject": None,
        "abort": None,
    }
    if isinstance(answer, AAssociateRJ):
        out["reject"] = {
            "result": _name(answer.result),
            "source": _name(answer.source),
            "reason": _name(answer.reason_diag),
        }
    if isinstance(record.abort, AAbort):
        out["abort"] = {
            "source": _name(record.abort.source),
            "reason": _name(record.abort.reason_diag),
        }
    return out


def _status_service(message: CapturedMessage) -> str | None:
    """The service class whose status meanings apply to this message (its context's too)."""
    return status_service(message.primitive, message.abstract_syntax)


def _command_json(command_set: bytes) -> dict[str, Any]:
    """Every element of the command set, keyword (or tag when unknown) to its JSON value."""
    try:
        return element_values(command_set)
    except DimseCodecError:
        return {}


class DatasetJsonCut(LimitExceeded):
    """The DICOM JSON model of a data set would exceed the bytes allowed for it; ``path`` names
    the element where the cap was met."""


class _Budget:
    """Bytes of JSON left for one data set (``None``: no limit); spending past zero cuts it."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, size: int, path: str) -> None:
        """Count ``size`` bytes of JSON for ``path``; raise :class:`DatasetJsonCut` past the cap."""
        if self.left is not None:
            self.left -= size
            if self.left < 0:
                raise DatasetJsonCut(
                    f"the DICOM JSON model is longer than {self.limit} bytes", path=path
                )


def bulk_data_uri(value: bytes | bytearray | memoryview) -> str:
    """The ``BulkDataURI`` naming a bulk value by content: ``sha256:<hex digest>;length=<bytes>``.

    PS3.18 F.2.7 lets a BulkDataURI stand for a value that is not inline; this one retrieves
    nothing, it identifies the bytes (the value as carried in the data set's transfer syntax).
    """
    return f"sha256:{hashlib.sha256(value).hexdigest()};length={len(value)}"


def _least_json(value: object) -> int:
    """A lower bound on the JSON length of a value, known before building any of it."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return 4 * -(-len(value) // 3)  # its base64
    if isinstance(value, list | tuple) and value:  # a MultiValue: "v", "v", ...
        return 3 * len(value) - 2
    return 0


def _element_model(
    element: DataElement, inline: bool, budget: _Budget, path: str
) -> dict[str, Any]:
    """One element of the DICOM JSON model (PS3.18 F.2.2), paid for before it is built."""
    if element.VR == "SQ":
        budget.spend(26, path)  # {"vr": "SQ", "Value": []}
        items = []
        for index, item in enumerate(element.value, start=1):
            budget.spend(4, path)
            items.append(_model(item, inline, budget, f"{path} > item {index}"))
        return {"vr": "SQ", "Value": items}
    value = element.value
    bulk = isinstance(value, bytes | bytearray | memoryview) and element.VR in _BINARY_VRS
    if bulk and not inline and len(value) > BULK_DATA_THRESHOLD:
        model = {"vr": str(element.VR), "BulkDataURI": bulk_data_uri(value)}
        budget.spend(len(json.dumps(model)), path)
        return model
    least = _least_json(value)
    budget.spend(least, path)  # a value too large is cut before its JSON exists
    model = element.to_json_dict(None, 0)
    budget.spend(len(json.dumps(model)) - least, path)
    return model


def _model(dataset: Dataset, inline: bool, budget: _Budget, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in dataset.keys():  # noqa: SIM118 -- wire order, as to_json_dict; iteration sorts
        key = f"{int(tag):08X}"
        where = f"{path} > ({key[:4]},{key[4:]})"
        budget.spend(len(key) + 6, where)  # "gggggggg": , and the braces
        out[key] = _element_model(dataset[tag], inline, budget, where)
    return out


def dataset_model(
    dataset: Dataset, *, inline: bool = False, max_json: int | None = None
) -> dict[str, Any]:
    """A decoded data set as the DICOM JSON model (PS3.18 F.2), bulk data as :func:`bulk_data_uri`.

    ``inline`` writes every binary value as base64 ``InlineBinary`` instead (as pydicom's
    ``to_json_dict`` does); ``max_json`` caps the model's JSON in bytes (about: separators are
    estimated) and :class:`DatasetJsonCut` is raised as soon as the model would exceed it, so a
    data set of millions of elements or values costs no more than the cap to show.
    """
    return _model(dataset, inline, _Budget(max_json), "data set")


def _dataset_json(
    message: CapturedMessage, with_model: bool, inline: bool, max_json: int | None
) -> dict[str, Any] | None:
    """Length, hash and transfer syntax of the wire bytes; the DICOM JSON model if asked."""
    if message.dataset is None:
        return None
    out: dict[str, Any] = {
        "length": len(message.dataset),
        "sha256": message.dataset_sha256,
        "transfer_syntax": message.transfer_syntax,
    }
    if with_model:
        if message.incomplete is not None:
            out["error"] = "the message is incomplete: its data set is partial, not decoded"
        elif message.transfer_syntax is None:
            out["error"] = (
                "the transfer syntax is unknown (no accepted presentation context seen, "
                "none guessed)"
            )
        else:
            found: list[Diagnostic] = []
            try:
                dataset = decode_dataset(
                    message.dataset, message.transfer_syntax, diagnostics=found
                )
                out["json"] = dataset_model(dataset, inline=inline, max_json=max_json)
            except DatasetJsonCut as cut:
                out["json_cut"] = (
                    f"the DICOM JSON model is longer than --max-dataset-json {max_json} bytes "
                    f"(met at {cut.path}); the data set is shown by its length and sha256 only"
                )
            except Exception as exc:  # any decoding failure is reported, never fatal
                out["error"] = str(exc) or type(exc).__name__
            if found:  # what decoding tolerated, e.g. a limit met and the rest kept as bytes
                out["diagnostics"] = [diagnostic_json(d) for d in found]
    return out


def message_json(
    message: CapturedMessage,
    datasets: bool = False,
    *,
    bulk_data: str = "digest",
    max_dataset_json: int | None = DEFAULT_MAX_DATASET_JSON,
) -> dict[str, Any]:
    """A DIMSE message as its NDJSON object (see docs/decode.md).

    With ``datasets`` its data set is added as the DICOM JSON model: bulk data as digest and
    length (``bulk_data="digest"``) or base64 (``"inline"``), at most ``max_dataset_json`` bytes
    of it (``None``: no limit).
    """
    if bulk_data not in BULK_DATA_MODES:
        raise InvalidParameter(f"bulk_data must be one of {BULK_DATA_MODES}, not {bulk_data!r}")
    status = message.status
    described = None if status is None else _describe(status, _status_service(message))
    return {
        "type": "message",
        "association": message.association,
        "direction": message.direction.value,
        "frame": message.frame,
        "first_frame": message.first_frame,
        "time": _seconds(message.time_ns),
        "context_id": message.context_id,
        "abstract_syntax": message.abstract_syntax,
        "transfer_syntax": message.transfer_syntax,
        "transfer_syntax_guessed": message.transfer_syntax_guessed,
        "message": message.name,
        "command": _command_json(message.command_set),
        "status": status,
        "status_category": None if described is None else described.category.value,
        "status_meaning": None if described is None else described.meaning,
        "request_frame": message.request_frame,
        "response_time": _seconds(message.response_time_ns),
        "dataset": _dataset_json(message, datasets, bulk_data == "inline", max_dataset_json),
        "diagnostics": [diagnostic_json(d) for d in message.diagnostics],
        "incomplete": message.incomplete is not None,
        "incomplete_reason": None if message.incomplete is None else message.incomplete.message,
        "gap_list": [{"offset": offset, "length": length} for offset, length in message.gaps],
    }


def record_json(
    record: CaptureRecord,
    *,
    datasets: bool = False,
    show_secrets: bool = False,
    bulk_data: str = "digest",
    max_dataset_json: int | None = DEFAULT_MAX_DATASET_JSON,
) -> Any:
    """Any record as its NDJSON object (data sets as in :func:`message_json`)."""
    if isinstance(record, AssociationEvent):
        return association_json(record, show_secrets)
    if isinstance(record, CapturedMessage):
        return message_json(
            record, datasets, bulk_data=bulk_data, max_dataset_json=max_dataset_json
        )
    if isinstance(record, StreamGap):
        return {
            "type": "gap",
            "association": record.association,
            "direction": record.direction.value,
            "frame": record.frame,
            "offset": record.offset,
            "length": record.length,
            "reason": record.reason.name,
        }
    return {
        "type": "diagnostic",
        "association": record.association,
        "direction": record.direction.value,
        "frame": record.frame,
        "data_length": len(record.data),
        "count": record.count,
        **diagnostic_json(record.diagnostic),
        **({"state": record.state, "event": record.event} if record.state is not None else {}),
    }


# -- text ----------------------------------------------------------------------------------------


_describe = functools.lru_cache(maxsize=1024)(describe)
"""describe(status, service), remembered: a capture repeats a few statuses of a few services."""


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
            shown = _identity_json(identity, show_secrets)
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
            f"{head} result={_name(rj.result)} source={_name(rj.source)} "
            f"reason={_name(rj.reason_diag)}"
        )
    if event.event == "abort" and record.abort is not None:
        abort = record.abort
        return f"{head} source={_name(abort.source)} reason={_name(abort.reason_diag)}"
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
    if status is not None:
        described = _describe(status, _status_service(message))
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


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (``fraction`` in 0..1; values not empty)."""
    rank = max(1, -(-len(values) * fraction // 1))
    return values[int(rank) - 1]


MAX_RESPONSE_TIMES = 1_000_000
"""Response times the summary keeps exactly (8 bytes each); past them, a uniform sample of this
many (reservoir sampling, seeded: the same capture gives the same summary) stands for them."""


class _Summary:
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
            if record.status is not None:
                described = _describe(record.status, _status_service(record))
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

    def merge(self, other: _Summary) -> None:
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


# -- export as DICOM Part-10 files ---------------------------------------------------------------

_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
_UNSAFE = re.compile(r"[^0-9A-Za-z.\-]")


def _uid_text(primitive: object, keyword: str) -> str | None:
    value = getattr(primitive, keyword, None)
    return (value.strip("\x00 ") or None) if isinstance(value, str) else None


def export_message(
    message: CapturedMessage, directory: Path, ae_title: str | None = None
) -> tuple[Path | None, str | None]:
    """Write a C-STORE-RQ data set as ``a{association}-f{frame}-{uid}.dcm`` in ``directory``.

    Returns ``(path, None)`` when written, ``(None, why)`` when skipped. The data set bytes are
    written exactly as carried (a deflated one stays deflated; its transfer syntax says so). An
    existing file is never overwritten: ``-1``, ``-2``, ... is added before ``.dcm``.
    """
    if message.incomplete is not None:  # a partial data set is never written as a file
        return None, f"incomplete: {message.incomplete.message}"
    if message.dataset is None:
        return None, "no data set"
    if not message.transfer_syntax:
        return None, "no transfer syntax (no accepted presentation context seen, none guessed)"
    sop_class = _uid_text(message.primitive, "AffectedSOPClassUID") or message.abstract_syntax
    sop_instance = _uid_text(message.primitive, "AffectedSOPInstanceUID")
    if not sop_class or not sop_instance:
        return None, "no Affected SOP Class UID or Affected SOP Instance UID"
    data = file_meta(sop_class, sop_instance, message.transfer_syntax, ae_title)
    data += bytes(message.dataset)
    stem = f"a{message.association}-f{message.frame}-{_UNSAFE.sub('_', sop_instance)[:128]}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        suffix = 0
        while True:
            path = directory / f"{stem}{'' if suffix == 0 else f'-{suffix}'}.dcm"
            try:
                with path.open("xb") as handle:
                    handle.write(data)
            except FileExistsError:
                suffix += 1
                continue
            return path, None
    except OSError as exc:
        return None, f"cannot write: {exc.strerror or exc}"


def _is_cut(line: dict[str, Any]) -> bool:
    """Whether a record's data set model was cut at ``--max-dataset-json``."""
    dataset = line.get("dataset")
    return isinstance(dataset, dict) and "json_cut" in dataset


def _sender_title(
    message: CapturedMessage, titles: dict[int, tuple[str | None, str | None]]
) -> str | None:
    """The AE title of whoever sent ``message``: the calling AE title for the requestor's
    messages, the called one for the acceptor's (C-STORE sub-operations of a C-GET), else None."""
    calling, called = titles.get(message.association, (None, None))
    if message.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR:
        return calling
    if message.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR:
        return called
    return None


def _export_text(message: CapturedMessage, path: Path | None, why: str | None) -> str:
    where = _where(message.association, message.frame)
    if path is None:
        return f"{where} export skipped ({message.name}): {why}"
    text = f"{where} exported {message.name} data set to {path}"
    if message.transfer_syntax_guessed is not None:
        text += f" (transfer syntax {message.transfer_syntax} guessed)"
    return text


# -- the subcommand ------------------------------------------------------------------------------


def _byte_count(text: str) -> int:
    """An argparse type: a number of bytes, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of bytes: {text!r}")
    return value


def _seconds_arg(text: str) -> float:
    """An argparse type: a number of seconds, more than 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds over 0: {text!r}")
    return value


def register(subparsers: SubParsers) -> None:
    """Add the ``decode`` subcommand to the ``dimse-codec`` parser."""
    parser = subparsers.add_parser(
        "decode",
        help="decode the DICOM associations and DIMSE messages of a pcap/pcapng capture",
        description=(
            "Read a pcap or pcapng capture, reassemble its TCP streams and decode every DICOM "
            "association event and DIMSE message in it, with frames, directions, statuses, "
            "request/response matching, gaps and problems; a summary ends the text output. "
            "The filters choose some messages in every format (as report's do; docs/decode.md "
            "'Filters'); a chosen response brings its request, an association's events and row "
            "come with its chosen messages, and the summary still counts the whole capture, "
            "with one line saying how many messages were shown. With --jobs, --association N "
            "is the number --jobs 1 gives."
        ),
    )
    parser.add_argument(
        "capture",
        metavar="CAPTURE",
        nargs="+",
        help=(
            "pcap or pcapng file (gzip-compressed or not), a folder of them, or - for standard "
            "input; several are read as one capture, packets merged in time order"
        ),
    )
    parser.add_argument(
        "--port", type=_port, default=None, help="treat connections on this TCP port as DICOM"
    )
    parser.add_argument(
        "--json", action="store_true", help="print NDJSON, one record per line (--format ndjson)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help=(
            "text lines with a summary (the default), NDJSON records, or one row per message "
            "and per association as CSV, Parquet or Zeek logs in the --output directory"
        ),
    )
    parser.add_argument(
        "--output",
        metavar="PATH",
        default=None,
        help="write to PATH: a file for text and ndjson (default stdout), a directory for "
        "csv, parquet and zeek (created)",
    )
    parser.add_argument(
        "--stall-threshold",
        metavar="SECONDS",
        type=_seconds_arg,
        default=DEFAULT_STALL_THRESHOLD_NS / 1e9,
        help="a pause longer than this inside a message is a stall (default "
        f"{DEFAULT_STALL_THRESHOLD_NS / 1e9:g})",
    )
    parser.add_argument(
        "--datasets",
        action="store_true",
        help="with ndjson, csv, parquet or zeek, add each data set as the DICOM JSON model",
    )
    parser.add_argument(
        "--bulk-data",
        choices=BULK_DATA_MODES,
        default="digest",
        help=(
            f"with --datasets, binary values over {BULK_DATA_THRESHOLD} bytes as their SHA-256 "
            "and length (digest, the default) or as base64 (inline)"
        ),
    )
    parser.add_argument(
        "--max-dataset-json",
        metavar="BYTES",
        type=_byte_count,
        default=DEFAULT_MAX_DATASET_JSON,
        help=(
            "with --datasets, the most JSON written for one data set; a longer one is shown by "
            f"its length and digest only (default {DEFAULT_MAX_DATASET_JSON}; 0: no limit)"
        ),
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="show user identity passcodes and tokens instead of their length",
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first protocol problem (exit 1)"
    )
    parser.add_argument(
        "--export",
        metavar="DIR",
        default=None,
        help="write each C-STORE-RQ data set to DIR as a DICOM Part-10 file (DIR is created)",
    )
    parser.add_argument(
        "--idle-timeout",
        metavar="SECONDS",
        type=float,
        default=IDLE_TIMEOUT,
        help=(
            "evict a connection with no packet for this long in capture time, reported as "
            f"CONNECTION_EVICTED (default {IDLE_TIMEOUT:g}; 0: never)"
        ),
    )
    parser.add_argument(
        "--max-connections",
        metavar="N",
        type=int,
        default=MAX_CONNECTIONS,
        help=(
            "follow at most N open connections, evicting the least recently active "
            f"(default {MAX_CONNECTIONS}; 0: no cap)"
        ),
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=_job_count,
        default=1,
        help="decode in N processes, each taking the connections of one shard (by a hash of "
        "their addresses); the output equals --jobs 1 as a set of records (default 1)",
    )
    parser.add_argument(
        "--engine",
        choices=("processes", "dask"),
        default="processes",
        help="run the shards as local processes (the default) or as tasks on a dask.distributed "
        "cluster (--scheduler), writing one Parquet dataset to --output",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="with --engine dask: the scheduler's address (tcp://HOST:8786)",
    )
    add_selection_arguments(parser)
    parser.set_defaults(handler=run)


def _job_count(text: str) -> int:
    """An argparse type: a number of processes or shards, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a number of jobs (1 or more): {text!r}")
    return value


def _row_dataset(message: CapturedMessage, args: argparse.Namespace) -> str | None:
    """The ``dataset_json`` cell: the DICOM JSON model of the data set, as JSON text."""
    shown = _dataset_json(message, True, args.bulk_data == "inline", args.max_dataset_json or None)
    if shown is None or "json" not in shown:
        return None
    return json.dumps(shown["json"])


def _format(args: argparse.Namespace) -> str | None:
    """The output format asked for, or None (and a message) when the options disagree."""
    chosen: str = args.format or ("ndjson" if args.json else "text")
    if args.json and chosen != "ndjson":
        print(f"error: --json is --format ndjson, not {chosen}", file=sys.stderr)
        return None
    if chosen in ROW_FORMATS and args.output is None:
        print(f"error: --format {chosen} writes files: give --output DIR", file=sys.stderr)
        return None
    if args.datasets and chosen == "text":
        print(
            "error: --datasets adds data sets to ndjson, csv, parquet or zeek output, not to "
            "text: add --json or --format FORMAT",
            file=sys.stderr,
        )
        return None
    return chosen


def _open_output(chosen: str, args: argparse.Namespace) -> tuple[RowWriter | None, TextIO] | None:
    """The row writer (csv, parquet, zeek) or the text stream ``--output`` names (stdout when
    none); None after the one error line when it cannot be opened."""
    try:
        if chosen in ROW_FORMATS:
            return open_writer(chosen, Path(args.output), args.datasets), sys.stdout
        if args.output is not None:
            return None, open(args.output, "w", encoding="utf-8")
    except MissingExtra as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return None
    return None, sys.stdout


def _report_written(args: argparse.Namespace, rows: bool, counts: Counter[str], cut: int) -> None:
    """The lines on stderr once the output is written: rows written, data sets cut."""
    if rows:
        print(
            f"decode: {counts['message']} message row(s), {counts['association']} association "
            f"row(s) in {args.output}",
            file=sys.stderr,
        )
    if cut:
        print(
            f"decode: {cut} data set(s) longer than --max-dataset-json {args.max_dataset_json} "
            "bytes shown by length and sha256 only (json_cut)",
            file=sys.stderr,
        )


def _sharded(args: argparse.Namespace, chosen: str) -> int:
    """``--jobs N`` or ``--engine dask``: the shards decoded by several processes (cli/jobs.py)."""
    if "-" in args.capture:
        print(
            "error: every shard reads the inputs: - (standard input) needs --jobs 1",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.export is not None:
        print("error: --export needs --jobs 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        sources = _capture_sources(args.capture)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from dimse_codec.cli.jobs import Rendering

    rendering = Rendering(
        text=functools.partial(record_text, show_secrets=args.show_secrets),
        json=functools.partial(
            record_json,
            datasets=args.datasets,
            show_secrets=args.show_secrets,
            bulk_data=args.bulk_data,
            max_dataset_json=args.max_dataset_json or None,
        ),
        is_cut=_is_cut,
        row_dataset=functools.partial(_row_dataset, args=args),
        summary=functools.partial(_Summary, filtered=not selection_from_arguments(args).everything),
    )
    if args.engine == "dask":
        from dimse_codec.cli.cluster import run_dask

        return run_dask(args, chosen, sources, rendering)
    from dimse_codec.cli.jobs import run_jobs

    opened = _open_output(chosen, args)
    if opened is None:
        return EXIT_USAGE
    writer, out = opened
    try:
        status, counts, cut = run_jobs(args, chosen, sources, rendering, writer, out)
    finally:
        if writer is not None:
            writer.close()
        if out is not sys.stdout:
            out.close()
    if status == EXIT_OK:
        _report_written(args, writer is not None, counts, cut)
    return status


def run(args: argparse.Namespace) -> int:
    """Decode the capture: 0 if read (even truncated), 1 if strict mode refused, 2 if unreadable,
    130 after Ctrl-C (with the summary, or the rows, of what was decoded until then)."""
    chosen = _format(args)
    if chosen is None:
        return EXIT_USAGE
    if args.jobs > 1 or args.engine == "dask":
        return _sharded(args, chosen)
    progress = _Progress(sys.stderr)
    summary = _Summary()
    names: list[str] = args.capture
    # one input is named in errors; several name themselves (the reader puts the file first)
    named = f"{'standard input' if names[0] == '-' else names[0]} " if len(names) == 1 else ""
    export = None if args.export is None else Path(args.export)
    titles: dict[int, tuple[str | None, str | None]] = {}
    cut = 0
    if export is not None:
        try:
            export.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"error: cannot create {export}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    opened = _open_output(chosen, args)
    if opened is None:
        return EXIT_USAGE
    writer, out = opened
    rows = None if chosen == "text" else RowBuilder()
    counts: Counter[str] = Counter()

    def emit(row: Row) -> None:
        counts[row.table] += 1
        if writer is not None:
            writer.write(row)
        elif row.table == "association":
            out.write(json.dumps({"type": "association_summary", **row.values}) + "\n")

    try:
        sources = _capture_sources(names, out)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if writer is not None:
            writer.close()
        if out is not sys.stdout:
            out.close()
        return EXIT_USAGE
    selection = selection_from_arguments(args)
    selector: RecordSelector[list[Row]] | None = None
    if not selection.everything:
        selector = RecordSelector(selection, context=True)
        summary.filtered = True

    def show(record: CaptureRecord, messages: list[Row]) -> None:
        """Write one record the filter kept, with its message rows (and export it)."""
        nonlocal cut
        exported: tuple[Path | None, str | None] | None = None
        if (
            export is not None
            and isinstance(record, CapturedMessage)
            and record.name == "C-STORE-RQ"
        ):
            exported = export_message(record, export, _sender_title(record, titles))
        if writer is not None:
            for row in messages:
                if args.datasets and isinstance(record, CapturedMessage):
                    row.values["dataset_json"] = _row_dataset(record, args)
                emit(row)
        elif chosen == "ndjson":
            line = record_json(
                record,
                datasets=args.datasets,
                show_secrets=args.show_secrets,
                bulk_data=args.bulk_data,
                max_dataset_json=args.max_dataset_json or None,
            )
            cut += _is_cut(line)
            if exported is not None:
                line["exported"] = None if exported[0] is None else str(exported[0])
                line["export_skipped"] = exported[1]
            for row in messages:  # a message line carries its row's columns too
                line.update((k, v) for k, v in row.values.items() if k not in line)
            out.write(json.dumps(line) + "\n")
        else:
            summary.show(record)
            out.write(record_text(record, show_secrets=args.show_secrets) + "\n")
            if exported is not None and isinstance(record, CapturedMessage):
                out.write(_export_text(record, *exported) + "\n")

    def finish_rows() -> None:
        """The rows of the associations still open (those the filter showed)."""
        for row in [] if rows is None else rows.finish():
            index = row.values.get("association")
            if selector is None or (isinstance(index, int) and selector.association_shown(index)):
                emit(row)

    try:
        for record in decode_records(
            sources,
            port=args.port,
            strict=args.strict,
            progress=progress,
            idle_timeout=args.idle_timeout or None,
            max_connections=args.max_connections or None,
            stall_threshold_ns=round(args.stall_threshold * 1e9),
        ):
            if export is not None and isinstance(record, AssociationEvent):
                association = record.association
                if record.event in ENDING_EVENTS:  # its messages are out: forget it
                    titles.pop(association.index, None)
                else:
                    titles[association.index] = (
                        association.calling_ae_title,
                        association.called_ae_title,
                    )
            made = [] if rows is None else rows.feed(record)
            if chosen == "text":
                summary.add(record)
            if selector is None:  # no filter: every record, then the rows it ended
                show(record, [row for row in made if row.table == "message"] if made else made)
                for row in made:
                    if row.table == "association":
                        emit(row)
                continue
            kept, ends = select_rows(selector, record, made)
            for shown, messages in kept:
                show(shown, messages)
            for row in ends:
                emit(row)
        finish_rows()
        progress.clear()
        if chosen == "text":
            out.write(summary.text() + "\n")
        out.flush()  # here, so that a closed stdout is met while main() can still end quietly
    except BrokenPipeError:  # stdout closed, not the capture: main() ends quietly
        raise
    except KeyboardInterrupt:  # Ctrl-C: what was decoded so far, then the usual one line
        progress.clear()
        if sys.stderr.isatty():
            print(file=sys.stderr)  # past the ^C the terminal echoed
        if chosen == "text":
            out.write(summary.text() + "\n")
        finish_rows()  # the associations still open
        out.flush()
        print("dimse-codec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        progress.clear()
        where = exc.filename if exc.filename is not None else named.strip() or "a capture"
        print(f"error: cannot read {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except NotACaptureFile as exc:
        progress.clear()
        print(
            f"error: {named or 'an input '}is not a pcap or pcapng capture: {exc}", file=sys.stderr
        )
        return EXIT_USAGE
    except CaptureError as exc:
        progress.clear()
        print(f"error: {named.strip() + ': ' if named else ''}{exc}", file=sys.stderr)
        return EXIT_USAGE
    except DimseCodecError as exc:
        progress.clear()
        print(f"error: [{exc.code}] {exc}" if exc.code else f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if writer is not None:
            writer.close()
        if out is not sys.stdout:
            out.close()
    _report_written(args, writer is not None, counts, cut)
    return EXIT_OK
