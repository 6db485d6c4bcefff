"""Capture records as JSON objects: what ``dimse-codec decode --json`` prints, one per line.

:func:`record_json` turns any record of :func:`~dimse_codec.decode_capture` into a plain,
JSON-ready dictionary (the schema is in ``docs/decode.md``); a library user writes it with
:func:`json.dumps`, as the CLI does. Optionally a message's data set is added as the DICOM JSON
model (PS3.18 F.2) with output proportional to what was asked for: bulk data (binary values over
:data:`BULK_DATA_THRESHOLD` bytes) becomes its SHA-256 and length as a ``BulkDataURI`` (PS3.18
F.2.7), not base64, unless ``bulk_data="inline"``; and the JSON of one data set stops at
``max_dataset_json`` bytes (``decode --max-dataset-json``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.valuerep import AMBIGUOUS_VR, BYTES_VR

from dimse_codec.capture.dicom import AssociationEvent, CapturedMessage, CaptureRecord, StreamGap
from dimse_codec.dataset import decode_dataset
from dimse_codec.diagnostics import Diagnostic, diagnostic_json
from dimse_codec.dimse.command_json import element_values
from dimse_codec.errors import DimseCodecError, InvalidParameter, LimitExceeded
from dimse_codec.pdu import AAbort, AAssociateAC, AAssociateRJ, AAssociateRQ, UserIdentityRQSubItem

__all__ = [
    "BULK_DATA_MODES",
    "BULK_DATA_THRESHOLD",
    "DEFAULT_MAX_DATASET_JSON",
    "DatasetJsonCut",
    "association_json",
    "bulk_data_uri",
    "dataset_model",
    "enum_name",
    "identity_json",
    "is_cut",
    "message_json",
    "record_json",
    "row_dataset",
]

_NAME_TYPES = (1, 2)
"""User identity types whose primary field is a user name (shown; PS3.7 D.3.3.7.1)."""

BULK_DATA_THRESHOLD = 1024
"""Binary values (OB, OD, OF, OL, OV, OW, UN) longer than this many bytes are bulk data: the
DICOM JSON model shows their digest and length, not their base64 (unless ``inline``)."""
DEFAULT_MAX_DATASET_JSON = 1 << 20
"""Bytes of DICOM JSON written for one data set (``--max-dataset-json``); past it the data set is
shown by its length and digest only, with ``json_cut`` saying so."""
BULK_DATA_MODES = ("digest", "inline")
"""What ``--bulk-data`` accepts: bulk values as digest and length, or as base64."""
_BINARY_VRS = frozenset(str(vr) for vr in (BYTES_VR | AMBIGUOUS_VR)) - {"US or SS"}


def _seconds(time_ns: int | None) -> float | None:
    return None if time_ns is None else time_ns / 1e9


def enum_name(value: object) -> object:
    """An enum member by name, a plain int as itself."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


def identity_json(identity: UserIdentityRQSubItem, show_secrets: bool) -> dict[str, Any]:
    """The user identity, secrets replaced by their length unless ``show_secrets``."""
    kind = identity.user_identity_type
    primary: str = identity.primary_field.decode("utf-8", "backslashreplace")
    if kind not in _NAME_TYPES and not show_secrets:
        primary = f"<{len(identity.primary_field)} bytes hidden>"
    secondary = identity.secondary_field.decode("utf-8", "backslashreplace")
    if not show_secrets:
        secondary = f"<{len(identity.secondary_field)} bytes hidden>"
    return {
        "type": enum_name(kind),
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
            {"id": cid, "abstract_syntax": ctx.abstract_syntax, "result": enum_name(ctx.result)}
            for cid, ctx in sorted(record.rejected_contexts.items())
        ],
        "max_pdu_length": {
            "requestor_receives": _max_pdu(request),
            "acceptor_receives": _max_pdu(answer),
        },
        "user_identity": (
            None
            if not isinstance(identity, UserIdentityRQSubItem)
            else identity_json(identity, show_secrets)
        ),
        "reject": None,
        "abort": None,
    }
    if isinstance(answer, AAssociateRJ):
        out["reject"] = {
            "result": enum_name(answer.result),
            "source": enum_name(answer.source),
            "reason": enum_name(answer.reason_diag),
        }
    if isinstance(record.abort, AAbort):
        out["abort"] = {
            "source": enum_name(record.abort.source),
            "reason": enum_name(record.abort.reason_diag),
        }
    return out


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
    described = message.described_status
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
) -> dict[str, Any]:
    """Any capture record as its JSON object: one line of ``decode --json`` (docs/decode.md).

    Each object has a ``type``: ``association``, ``message``, ``gap`` or ``diagnostic``. With
    ``datasets`` a message's data set is added as in :func:`message_json` (bulk data by
    ``bulk_data``, at most ``max_dataset_json`` bytes of JSON, ``None``: no limit); secrets of a
    user identity are shown by their length unless ``show_secrets``.
    """
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


def is_cut(line: dict[str, Any]) -> bool:
    """Whether a record's data set model was cut at ``--max-dataset-json``."""
    dataset = line.get("dataset")
    return isinstance(dataset, dict) and "json_cut" in dataset


def row_dataset(
    message: CapturedMessage, *, bulk_data: str = "digest", max_dataset_json: int | None = None
) -> str | None:
    """The ``dataset_json`` cell: the DICOM JSON model of the data set, as JSON text."""
    shown = _dataset_json(message, True, bulk_data == "inline", max_dataset_json)
    if shown is None or "json" not in shown:
        return None
    return json.dumps(shown["json"])
