"""How ``dimse-codec inspect`` shows PDUs: a stream PDU by PDU, with the reassembled messages.

The bytes go through :class:`~dimse_codec.pdata.StreamDecoder` (with ``report_pdata``), so what is
shown is exactly what a program using the library would get: every PDU with its offset, the
items of A-ASSOCIATE PDUs, every PDV of a P-DATA-TF, each reassembled DIMSE message with its
command set listed element by element, and every problem where it happened.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from dimse_codec.cli.render import inspect_bytes, render_json, render_text
from dimse_codec.diagnostics import diagnostic_json
from dimse_codec.pdata import (
    Event,
    Fragment,
    IncompleteMessage,
    MessageReceived,
    PDataReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
)
from dimse_codec.policy import Diagnostic, DiagnosticCode, Policy

__all__ = [
    "MAX_EVENTS",
    "StreamInspection",
    "inspect_stream",
    "looks_like_pdus",
    "stream_json",
    "stream_text",
]

MAX_EVENTS = 10_000
"""Events ``inspect`` keeps and shows by default; past it they are only counted, so a hostile
stream (30 MB of zero bytes is five million empty PDUs) gives a bounded report."""

_CHUNK = 1 << 14
"""Bytes fed to the stream decoder at a time, so its events never pile up past the cap."""

MAX_DATA_HEX = 1 << 10
"""Bytes of a stream problem's kept data shown as hex in JSON (``data_length`` gives them all):
30 MB of zero bytes are a few events, not 60 MB of hex."""

_WHOLE_PDUS = frozenset({DiagnosticCode.UNKNOWN_PDU_TYPE, DiagnosticCode.UNDECODABLE})
"""Stream problems whose ``count`` counts PDUs (kept whole as bytes, not decoded)."""

_PDU_TYPES = range(0x01, 0x08)
_WIRE_EXTRAS = ("reserved", "raw", "trailing")
_WIRE_EXTRA_SUFFIXES = ("_raw", "_length")
"""Fields that keep non-standard wire bytes; shown only when they hold something."""


def looks_like_pdus(data: bytes) -> bool:
    """Whether the input starts like a PDU (type 01H-07H, reserved 00H) and not a command set.

    A command set starts with a group-0000 tag, so its first byte is 00H.
    """
    return len(data) >= 6 and data[0] in _PDU_TYPES and data[1] == 0


@dataclass(frozen=True)
class StreamInspection:
    """What the stream decoder reported for the input, in stream order: the first events, and
    the counts of those past the cap (``omitted``, with their PDUs, messages and problems)."""

    length: int
    events: tuple[Event, ...]
    omitted: int = 0
    omitted_pdus: int = 0
    omitted_messages: int = 0
    omitted_problems: int = 0

    @property
    def pdu_count(self) -> int:
        """PDUs seen (P-DATA-TF and the others, undecodable ones too), the omitted included."""
        return sum(_pdus(e) for e in self.events) + self.omitted_pdus

    @property
    def message_count(self) -> int:
        """Whole DIMSE messages reassembled, the omitted ones included."""
        return _count(self.events, MessageReceived) + self.omitted_messages

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """Every diagnostic of the events kept, from PDUs, PDVs, messages and the stream."""
        found: list[Diagnostic] = []
        for event in self.events:
            found.extend(_diagnostics(event))
        return tuple(found)

    @property
    def problem_count(self) -> int:
        """Diagnostics in the whole stream, those of the omitted events included (an event for
        a run of PDUs with one problem counts each)."""
        return sum(_problem_count(e) for e in self.events) + self.omitted_problems


_PDUS = (PDUReceived, PDataReceived)


def _count(events: tuple[Event, ...], kind: type | tuple[type, ...]) -> int:
    return sum(isinstance(e, kind) for e in events)


def _pdus(event: Event) -> int:
    """How many PDUs an event stands for."""
    if isinstance(event, StreamDiagnostic):
        return event.count if event.diagnostic.code in _WHOLE_PDUS else 0
    return int(isinstance(event, _PDUS))


def _problem_count(event: Event) -> int:
    """How many problems an event reports."""
    if isinstance(event, StreamDiagnostic):
        return event.count
    return len(_diagnostics(event))


def inspect_stream(
    data: bytes, policy: Policy, *, max_events: int = MAX_EVENTS
) -> StreamInspection:
    """Run the stream decoder over ``data``; raise DimseCodecError if bad.

    The first ``max_events`` events (0: all) are kept; the rest are counted, not kept, and the
    input is fed in 16 KiB pieces so that the decoder's own event list stays small too: memory
    and output follow the cap, not the input.
    """
    decoder = StreamDecoder(policy=policy, report_pdata=True)
    kept: list[Event] = []
    counts = [0, 0, 0, 0]  # omitted events, PDUs, messages, problems
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        _keep(decoder.feed(view[start : start + _CHUNK]), kept, counts, max_events)
    _keep(decoder.close(), kept, counts, max_events)
    return StreamInspection(len(data), tuple(kept), *counts)


def _keep(events: list[Event], kept: list[Event], counts: list[int], max_events: int) -> None:
    """Keep events up to the cap; count the others and what they held."""
    room = len(events) if not max_events else max(0, max_events - len(kept))
    kept.extend(events[:room])
    for event in events[room:]:
        counts[0] += 1
        counts[1] += _pdus(event)
        counts[2] += isinstance(event, MessageReceived)
        counts[3] += _problem_count(event)


def _diagnostics(event: Event) -> list[Diagnostic]:
    """The diagnostics one event carries, its primitive's included."""
    if isinstance(event, StreamDiagnostic):
        return [event.diagnostic]
    if isinstance(event, PDUReceived):
        return list(event.pdu.diagnostics)
    if isinstance(event, MessageReceived):
        return [*event.diagnostics, *event.primitive.diagnostics]
    if isinstance(event, IncompleteMessage):
        return [event.reason, *event.diagnostics]
    return []


# -- values as JSON ------------------------------------------------------------------------------


def _value(value: Any, show_secrets: bool) -> Any:
    """A PDU field as JSON: dataclasses as objects, enums by name, bytes as hex."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value, show_secrets)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, tuple):
        return [_value(v, show_secrets) for v in value]
    return value


def _fields(item: Any, show_secrets: bool) -> dict[str, Any]:
    """An item's non-default fields (the wire-exactness extras only when they are set)."""
    out: dict[str, Any] = {"type": type(item).__name__}
    item_type = getattr(item, "item_type", None)
    if item_type is not None:
        out["item_type"] = f"0x{item_type:02X}"
    for f in dataclasses.fields(item):
        if f.name in ("offset", "diagnostics"):
            continue
        value = getattr(item, f.name)
        if not show_secrets and _is_secret(item, f.name):
            out[f.name] = f"<{len(value)} bytes hidden>"
            continue
        extra = f.name.startswith(_WIRE_EXTRAS) or f.name.endswith(_WIRE_EXTRA_SUFFIXES)
        if extra and f.default is not dataclasses.MISSING and value == f.default:
            continue  # the standard form: nothing to show
        if f.name == "primary_field" and isinstance(value, bytes):
            out[f.name] = value.decode("utf-8", "backslashreplace")  # a user name (types 1, 2)
            continue
        out[f.name] = _value(value, show_secrets)
    if getattr(item, "offset", None) is not None:
        out["offset"] = item.offset
    return out


def _is_secret(item: Any, name: str) -> bool:
    """Whether a user identity field holds a passcode, a ticket, an assertion or a token.

    The primary field of types 1 and 2 is a user name and is shown (PS3.7 D.3.3.7.1).
    """
    if name == "secondary_field" or name == "server_response":
        return True
    return name == "primary_field" and getattr(item, "user_identity_type", 0) not in (1, 2)


def _fragment_json(fragment: Fragment) -> dict[str, Any]:
    return {
        "offset": fragment.offset,
        "context_id": fragment.context_id,
        "message_control_header": fragment.message_control_header,
        "command": fragment.is_command,
        "last": fragment.is_last,
        "length": fragment.length,
    }


def stream_json(inspection: StreamInspection, *, show_secrets: bool = False) -> dict[str, Any]:
    """The stream as one JSON-ready object: counts, then every event in order."""
    events: list[dict[str, Any]] = []
    for event in inspection.events:
        if isinstance(event, PDUReceived):
            entry = {"type": "pdu", "offset": event.offset, "pdu": event.pdu.name}
            entry.update(_fields(event.pdu, show_secrets))
            entry["type"] = "pdu"
            entry["diagnostics"] = [diagnostic_json(d) for d in event.pdu.diagnostics]
        elif isinstance(event, PDataReceived):
            entry = {
                "type": "pdu",
                "pdu": "P-DATA-TF",
                "offset": event.offset,
                "pdu_length": event.pdu_length,
                "pdvs": [_fragment_json(f) for f in event.fragments],
            }
        elif isinstance(event, MessageReceived):
            entry = {
                "type": "message",
                "offset": event.offset,
                "end": event.end,
                "context_id": event.context_id,
                "dataset_length": event.dataset_length,
                "fragments": len(event.fragments),
                "command": render_json(inspect_bytes(event.command_set)),
                "diagnostics": [diagnostic_json(d) for d in event.diagnostics],
            }
        elif isinstance(event, IncompleteMessage):
            entry = {
                "type": "incomplete",
                "offset": event.offset,
                "end": event.end,
                "context_id": event.context_id,
                "reason": diagnostic_json(event.reason),
                "command_set_hex": event.command_set.hex(),
                "dataset_length": event.dataset_length,
                "fragments": [_fragment_json(f) for f in event.fragments],
                "diagnostics": [diagnostic_json(d) for d in event.diagnostics],
            }
        else:
            entry = {
                "type": "diagnostic",
                **diagnostic_json(event.diagnostic),
                "count": event.count,
                "start": event.offset,
                "end": event.end,
                "data_length": len(event.data),
                "data_hex": event.data[:MAX_DATA_HEX].hex(),
            }
        events.append(entry)
    out = {
        "input": "pdu-stream",
        "length": inspection.length,
        "pdus": inspection.pdu_count,
        "messages": inspection.message_count,
        "events": events,
    }
    if inspection.omitted:
        out["events_omitted"] = inspection.omitted
        out["problems_omitted"] = inspection.omitted_problems
    return out


# -- text ----------------------------------------------------------------------------------------


def _item_lines(item: Any, indent: str, show_secrets: bool) -> list[str]:
    """One line per item, then its sub-items indented below it."""
    fields = _fields(item, show_secrets)
    name = fields.pop("type")
    item_type = fields.pop("item_type", "")
    offset = fields.pop("offset", None)
    subs = fields.pop("sub_items", None)
    shown = ", ".join(f"{k}={v}" for k, v in fields.items())
    at = f"@{offset} " if offset is not None else ""
    lines = [f"{indent}{at}{item_type} {name}  {shown}".rstrip()]
    for sub in getattr(item, "sub_items", ()) if subs is not None else ():
        lines.extend(_item_lines(sub, indent + "  ", show_secrets))
    return lines


def _pdu_lines(event: PDUReceived, show_secrets: bool) -> list[str]:
    pdu = event.pdu
    fields = _fields(pdu, show_secrets)
    fields.pop("type")
    fields.pop("variable_items", None)
    shown = ", ".join(f"{k}={v}" for k, v in fields.items())
    lines = [f"@{event.offset:<8} {pdu.name}  {shown}".rstrip()]
    for item in getattr(pdu, "variable_items", ()):
        lines.extend(_item_lines(item, "    ", show_secrets))
    lines.extend(f"    ! {d}" for d in pdu.diagnostics)
    return lines


def _fragment_text(fragment: Fragment) -> str:
    kind = "command" if fragment.is_command else "data"
    last = ", last" if fragment.is_last else ""
    return f"PDV pc={fragment.context_id} {kind}{last}  {fragment.length} bytes"


def stream_text(inspection: StreamInspection, *, show_secrets: bool = False) -> str:
    """The stream as the human-readable report ``inspect`` prints for PDUs."""
    lines = [
        f"PDU stream: {inspection.length} bytes, {inspection.pdu_count} PDU(s), "
        f"{inspection.message_count} message(s), {inspection.problem_count} problem(s)"
    ]
    for event in inspection.events:
        if isinstance(event, PDUReceived):
            lines.extend(_pdu_lines(event, show_secrets))
        elif isinstance(event, PDataReceived):
            lines.append(f"@{event.offset:<8} P-DATA-TF  pdu_length={event.pdu_length}")
            lines.extend(f"    @{f.offset:<6} {_fragment_text(f)}" for f in event.fragments)
        elif isinstance(event, MessageReceived):
            data = (
                "no data set"
                if event.dataset_length is None
                else f"data set {event.dataset_length} bytes"
            )
            lines.append(
                f"  => message @{event.offset}..{event.end} pc={event.context_id}, "
                f"{len(event.fragments)} PDV(s), {data}"
            )
            body = render_text(inspect_bytes(event.command_set))
            lines.extend("     " + line for line in body.splitlines())
            lines.extend(f"     ! {d}" for d in event.diagnostics)
        elif isinstance(event, IncompleteMessage):
            lines.append(
                f"  => incomplete message @{event.offset}..{event.end} pc={event.context_id}: "
                f"{event.reason}"
            )
            lines.append(
                f"     command set {len(event.command_set)} bytes, "
                f"data set {event.dataset_length or 0} bytes, {len(event.fragments)} PDV(s)"
            )
            lines.extend(f"     ! {d}" for d in event.diagnostics)
        else:
            kept = f" ({len(event.data)} bytes kept)" if event.data else ""
            lines.append(f"  ! {event.diagnostic}{kept}")
    if inspection.omitted:
        lines.append(
            f"... and {inspection.omitted} more event(s) not shown "
            f"({inspection.omitted_pdus} PDU(s), {inspection.omitted_messages} message(s), "
            f"{inspection.omitted_problems} problem(s))"
        )
    return "\n".join(lines) + "\n"
