"""Choose some of a capture's records: by AE title, message type, status, association, SOP Class,
time and frame, streaming and in bounded memory.

A :class:`Selection` says what to keep; :class:`RecordSelector` applies it to the records of
:class:`~dimse_codec.capture.CaptureDecoder` in order, each with whatever the caller made of it
(its NDJSON line, its row, or nothing), so that ``decode`` and ``report`` filter the same way
while rows keep the keys and numbers of the whole capture. The rules:

- A message is kept when it passes every criterion given. AE titles (calling or called) and
  association numbers are criteria of its association; message types (``C-STORE`` for its
  requests and responses, ``C-STORE-RSP`` for one type), SOP Class (the message's Affected or
  Requested SOP Class UID, else its presentation context's abstract syntax), the time of its
  last byte and the frame that carried it are its own.
- With a status criterion a response with a chosen status brings its request beside it, just
  before it (a failure is read with what was asked). A request is held for that only until
  its response arrives or its association ends, so memory follows what is unanswered.
- Association events, gaps and problems are kept when their association passes the
  association criteria and they lie in the time and frame range; message criteria do not
  apply to them. A record of no association passes only when no association criterion is
  given.
- With ``context=True`` (``decode``), given a criterion of the messages themselves (type,
  SOP Class, status), an association's events, gaps and problems are shown only with its
  chosen messages: those before its first chosen message are held (its events, and up to
  ``_KEEP_WAITING`` gaps and problems) and brought just before it, and those of an
  association with none are dropped.
  :meth:`RecordSelector.association_shown` then says whether any record of an association was
  shown, which decides whether its summary row is.

Statuses are read through :mod:`dimse_codec.dimse.status` (PS3.7 Annex C categories); SOP
Class names through pydicom's copy of the PS3.6 UID registry.
"""

from __future__ import annotations

import argparse
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from pydicom._uid_dict import UID_dictionary

from dimse_codec.capture.dicom import (
    ENDING_EVENTS,
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureRecord,
)
from dimse_codec.capture.rows import Row
from dimse_codec.dimse.status import StatusCategory, category
from dimse_codec.errors import InvalidParameter
from dimse_codec.tables.messages import MESSAGES_BY_NAME, SERVICES

__all__ = [
    "RecordSelector",
    "Selection",
    "add_selection_arguments",
    "parse_command",
    "parse_frames",
    "parse_sop_class",
    "parse_status",
    "parse_time",
    "select_rows",
    "selection_from_arguments",
]

T = TypeVar("T")

_KEEP_ENDED = 256
"""Ended associations remembered (their verdict only) for records that come after their end."""
_KEEP_WAITING = 64
"""Gaps and problems held per association waiting for its first chosen message (``context``);
later ones are dropped until it has one, so a lossy association costs bounded memory."""

_CATEGORIES = {c.value.lower(): c for c in StatusCategory if c is not StatusCategory.UNKNOWN}
_HEX = re.compile(r"(?:0x)?([0-9a-f]{4})h?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Selection:
    """What to keep; an empty set or None means "any" for that criterion."""

    ae_titles: frozenset[str] = frozenset()
    """Calling or called AE titles (without padding)."""
    messages: frozenset[str] = frozenset()
    """Message types, e.g. ``C-STORE-RQ`` (a service name given stands for its types)."""
    statuses: frozenset[int] = frozenset()
    """Status codes; a response passes when its code or its category is chosen."""
    categories: frozenset[StatusCategory] = frozenset()
    """Status categories (PS3.7 Annex C)."""
    associations: frozenset[int] = frozenset()
    """Association numbers in the capture (from 0)."""
    sop_classes: frozenset[str] = frozenset()
    """SOP Class UIDs."""
    since_ns: int | None = None
    """Keep records at or after this capture time (nanoseconds since the epoch)."""
    until_ns: int | None = None
    """Keep records at or before this capture time."""
    first_frame: int | None = None
    """Keep records carried by this frame or later."""
    last_frame: int | None = None
    """Keep records carried by this frame or earlier."""

    @property
    def by_status(self) -> bool:
        """Whether a status criterion is given (responses then bring their requests)."""
        return bool(self.statuses or self.categories)

    @property
    def by_association(self) -> bool:
        """Whether a criterion of the association (AE title, number) is given."""
        return bool(self.ae_titles or self.associations)

    @property
    def by_message(self) -> bool:
        """Whether a criterion of the messages themselves (type, SOP Class, status) is given."""
        return bool(self.messages or self.sop_classes or self.by_status)

    def without_associations(self) -> Selection:
        """This selection but for the association numbers (applied apart, e.g. after the
        renumbering of ``decode --jobs``)."""
        return replace(self, associations=frozenset())

    @property
    def everything(self) -> bool:
        """Whether nothing is filtered."""
        return self == Selection()

    def association_passes(self, record: AssociationRecord) -> bool:
        """Whether an association passes the AE title and association number criteria."""
        if self.associations and record.index not in self.associations:
            return False
        if self.ae_titles:
            titles = {
                (t or "").strip("\x00 ") for t in (record.calling_ae_title, record.called_ae_title)
            }
            return not titles.isdisjoint(self.ae_titles)
        return True

    def in_range(self, frame: int | None, time_ns: int | None) -> bool:
        """Whether a record's frame and time lie in the frame and time range (unknown: no)."""
        return _within(frame, self.first_frame, self.last_frame) and _within(
            time_ns, self.since_ns, self.until_ns
        )

    def status_passes(self, status: int | None) -> bool:
        """Whether a status passes the status criterion (no status: only without one)."""
        if not self.by_status:
            return True
        if status is None:
            return False
        return status in self.statuses or category(status) in self.categories

    def message_passes(self, message: CapturedMessage, *, status: bool = True) -> bool:
        """Whether a message passes its own criteria (``status=False``: all but the status)."""
        if self.messages and message.name not in self.messages:
            return False
        if self.sop_classes and _sop_class(message) not in self.sop_classes:
            return False
        if status and not self.status_passes(message.status):
            return False
        return self.in_range(message.frame, message.time_ns)


def _within(value: int | None, low: int | None, high: int | None) -> bool:
    """Whether ``value`` lies in ``low..high`` (an open end: None); unknown is outside a bound."""
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _sop_class(message: CapturedMessage) -> str | None:
    primitive = message.primitive
    for keyword in ("AffectedSOPClassUID", "RequestedSOPClassUID"):
        uid = getattr(primitive, keyword, None)
        if isinstance(uid, str) and uid.strip("\x00 "):
            return uid.strip("\x00 ")
    return message.abstract_syntax


class RecordSelector(Generic[T]):
    """Apply a :class:`Selection` to records in capture order, each with a payload of the caller.

    :meth:`feed` returns the (record, payload) pairs to show now: none, the one fed, or held
    records (a request, and with ``context`` its association's events) and then the one that
    brings them. Held are only requests that may yet be brought by a chosen response (with a
    status criterion), each until its response or its association's end, and with ``context``
    the events, gaps and problems of an open association that has had no chosen message yet.
    """

    def __init__(self, selection: Selection, *, context: bool = False) -> None:
        self.selection = selection
        self.context = context and selection.by_message
        self._passes: dict[int, bool] = {}
        self._ended: OrderedDict[int, bool] = OrderedDict()
        self._held: dict[int, dict[int, tuple[CapturedMessage, T]]] = {}
        """Association -> the frame of a request -> the request and its payload."""
        self._waiting: dict[int, list[tuple[CaptureRecord, T]]] = {}
        """With ``context``: association -> its records held until its first chosen message."""
        self._shown: set[int] = set()
        """Open associations with a record shown."""
        self._ended_shown: OrderedDict[int, bool] = OrderedDict()

    @property
    def held(self) -> int:
        """Records held until a later one shows whether they are shown."""
        waiting = sum(len(records) for records in self._waiting.values())
        return sum(len(requests) for requests in self._held.values()) + waiting

    def association_shown(self, index: int) -> bool:
        """Whether any record of association ``index`` was shown so far (an ended association
        is remembered for a while: ask when its summary row is made)."""
        return index in self._shown or self._ended_shown.get(index, False)

    def feed(self, record: CaptureRecord, payload: T) -> list[tuple[CaptureRecord, T]]:
        """Take one record and its payload; return the pairs selected by now, in order."""
        chosen = self.selection
        if isinstance(record, AssociationEvent):
            return self._event(record, payload)
        if isinstance(record, CapturedMessage):
            if not self._association(record.association):
                return []
            return self._seen(record.association, self._message(record, payload))
        index = record.association
        passes = not chosen.by_association if index is None else self._association(index)
        # gaps and problems carry no time: with a time range they are not kept
        if not passes or not chosen.in_range(record.frame, None):
            return []
        if index is not None and self.context and index not in self._shown:
            waiting = self._waiting.setdefault(index, [])
            if len(waiting) < _KEEP_WAITING:
                waiting.append((record, payload))
            return []
        return self._seen(index, [(record, payload)])

    def finish(self) -> None:
        """The records are over: forget what is held (requests never brought are not shown)."""
        self._held.clear()
        self._passes.clear()
        self._ended.clear()
        self._waiting.clear()
        self._shown.clear()
        self._ended_shown.clear()

    def _seen(
        self, index: int | None, out: list[tuple[CaptureRecord, T]]
    ) -> list[tuple[CaptureRecord, T]]:
        """``out`` shown: its association's waiting records come first, and it is shown."""
        if out and index is not None and index not in self._shown:
            self._shown.add(index)
            out = self._waiting.pop(index, []) + out
        return out

    def _association(self, index: int) -> bool:
        passes = self._passes.get(index)
        if passes is None:
            passes = self._ended.get(index)
        if passes is None:  # never announced (the decoder names it first): only without criteria
            return not self.selection.by_association
        return passes

    def _event(self, event: AssociationEvent, payload: T) -> list[tuple[CaptureRecord, T]]:
        record = event.association
        index = record.index
        passes = self.selection.association_passes(record)
        self._passes[index] = passes
        out: list[tuple[CaptureRecord, T]] = []
        if passes and self.selection.in_range(event.frame, event.time_ns):
            if self.context and index not in self._shown:
                self._waiting.setdefault(index, []).append((event, payload))
            else:
                out = self._seen(index, [(event, payload)])
        if event.event in ENDING_EVENTS:
            del self._passes[index]
            self._ended[index] = passes
            self._ended_shown[index] = index in self._shown
            self._shown.discard(index)
            while len(self._ended) > _KEEP_ENDED:
                self._ended.popitem(last=False)
            while len(self._ended_shown) > _KEEP_ENDED:
                self._ended_shown.popitem(last=False)
            self._held.pop(index, None)
            self._waiting.pop(index, None)
        return out

    def _message(self, message: CapturedMessage, payload: T) -> list[tuple[CaptureRecord, T]]:
        chosen = self.selection
        spec = message.primitive.message_spec
        is_request = spec is not None and spec.is_request and spec.name != "C-CANCEL-RQ"
        if chosen.by_status and is_request:
            # a request has no status: it is shown only if a chosen response brings it
            self._held.setdefault(message.association, {})[message.frame] = (message, payload)
            return []
        out: list[tuple[CaptureRecord, T]] = []
        passes = chosen.message_passes(message)
        answers = spec is not None and not spec.is_request  # not a C-CANCEL-RQ
        if chosen.by_status and answers and message.request_frame is not None:
            waiting = self._held.get(message.association, {})
            final = message.status is None or category(message.status) is not StatusCategory.PENDING
            frame = message.request_frame
            held = waiting.pop(frame, None) if final else waiting.get(frame)
            if passes and held is not None:
                out.append(held)
                waiting.pop(frame, None)  # brought once, before its first chosen response
        if passes:
            out.append((message, payload))
        return out


def select_rows(
    selector: RecordSelector[list[Row]], record: CaptureRecord, made: list[Row]
) -> tuple[list[tuple[CaptureRecord, list[Row]]], list[Row]]:
    """Feed ``record`` with its message rows (``made`` by a
    :class:`~dimse_codec.capture.rows.RowBuilder`) to a selector: the (record, message rows)
    pairs shown now, and the association rows shown (those of associations with a record
    shown)."""
    kept = selector.feed(record, [row for row in made if row.table == "message"])
    ends = [
        row
        for row in made
        if row.table == "association" and _shown_row(selector, row.values.get("association"))
    ]
    return kept, ends


def _shown_row(selector: RecordSelector[list[Row]], index: object) -> bool:
    return isinstance(index, int) and selector.association_shown(index)


# -- parsing -------------------------------------------------------------------------------------


def parse_command(text: str) -> frozenset[str]:
    """The message types a ``--command`` value names: a service (its request and response) or one
    message type, e.g. ``C-STORE`` or ``c-store-rsp``."""
    name = text.strip().upper().replace("_", "-")
    if name in MESSAGES_BY_NAME:
        return frozenset({name})
    if name in SERVICES:
        return frozenset(
            spec.name for spec in MESSAGES_BY_NAME.values() if spec.service.name == name
        )
    known = ", ".join(SERVICES)
    raise InvalidParameter(
        f"{text!r} is not a DIMSE service ({known}) or message type", path="command"
    )


def parse_status(text: str) -> tuple[frozenset[int], frozenset[StatusCategory]]:
    """A ``--status`` value: a code (``0xA700``, ``A700``, ``A700H``) or a category name
    (``success``, ``pending``, ``warning``, ``failure``, ``cancel``)."""
    word = text.strip().lower()
    if word in _CATEGORIES:
        return frozenset(), frozenset({_CATEGORIES[word]})
    code = _HEX.fullmatch(word)
    if code is None:
        raise InvalidParameter(
            f"{text!r} is not a status code (e.g. 0xA700) or one of {', '.join(_CATEGORIES)}",
            path="status",
        )
    return frozenset({int(code.group(1), 16)}), frozenset()


def parse_sop_class(text: str) -> str:
    """A ``--sop-class`` value: a UID, or a name or keyword of the PS3.6 registry (any case)."""
    wanted = text.strip()
    if re.fullmatch(r"[0-9.]+", wanted):
        return wanted
    folded = re.sub(r"[^a-z0-9]", "", wanted.lower())
    for uid, (name, _kind, _info, _retired, keyword) in UID_dictionary.items():
        if folded in (re.sub(r"[^a-z0-9]", "", name.lower()), keyword.lower()):
            return str(uid)
    raise InvalidParameter(
        f"{text!r} is not a UID nor a name in the UID registry", path="sop_class"
    )


def parse_time(text: str) -> int:
    """A time for ``--since``/``--until``: seconds since the epoch, or ISO 8601 (UTC if no zone),
    as nanoseconds since the epoch."""
    try:
        seconds = Decimal(text.strip())
    except InvalidOperation:
        seconds = None
    if seconds is not None and seconds.is_finite():
        return round(seconds * 1_000_000_000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(
            f"{text!r} is not a time (seconds since the epoch, or ISO 8601)", path="time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1e9)


def parse_frames(text: str) -> tuple[int | None, int | None]:
    """A ``--frames`` range: ``FIRST-LAST``, ``FIRST-``, ``-LAST`` or one frame (from 1)."""
    match = re.fullmatch(r"\s*(\d*)\s*(-?)\s*(\d*)\s*", text)
    if match is None or not (match.group(1) or match.group(3)):
        raise InvalidParameter(f"{text!r} is not a frame range (e.g. 100-200)", path="frames")
    first = int(match.group(1)) if match.group(1) else None
    last = int(match.group(3)) if match.group(3) else None
    if not match.group(2):
        last = first
    if first is not None and last is not None and last < first:
        raise InvalidParameter(f"{text!r}: the range ends before it begins", path="frames")
    return first, last


# -- argparse ------------------------------------------------------------------------------------


def _argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from a parser of this module: its errors become usage errors."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except InvalidParameter as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = parse.__name__.removeprefix("parse_").replace("_", "-")
    return convert


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the filter options (``--ae``, ``--command``, ``--status``, ``--association``,
    ``--sop-class``, ``--since``, ``--until``, ``--frames``) to a subcommand's parser; read them
    back with :func:`selection_from_arguments`. Each may be given more than once (any of)."""
    group = parser.add_argument_group(
        "filters", "keep only some messages; a chosen response brings its request"
    )
    group.add_argument(
        "--ae", action="append", default=[], metavar="TITLE",
        help="associations with this calling or called AE title",
    )  # fmt: skip
    group.add_argument(
        "--command", action="append", default=[], type=_argument(parse_command),
        metavar="SERVICE|TYPE",
        help="a service (C-STORE: requests and responses) or a type (C-STORE-RSP)",
    )  # fmt: skip
    group.add_argument(
        "--status", action="append", default=[], type=_argument(parse_status),
        metavar="CODE|CATEGORY",
        help="responses with this status (0xA700) or category (success, pending, warning, "
        "failure, cancel), each with its request",
    )  # fmt: skip
    group.add_argument(
        "--association", action="append", default=[], type=int, metavar="N",
        help="the association numbered N in the capture (from 0)",
    )  # fmt: skip
    group.add_argument(
        "--sop-class", action="append", default=[], type=_argument(parse_sop_class),
        metavar="UID|NAME", help="messages of this SOP Class (a UID or its registry name)",
    )  # fmt: skip
    group.add_argument(
        "--since", type=_argument(parse_time), metavar="TIME",
        help="records at or after TIME (seconds since the epoch, or ISO 8601; UTC if no zone)",
    )  # fmt: skip
    group.add_argument(
        "--until", type=_argument(parse_time), metavar="TIME", help="records at or before TIME"
    )
    group.add_argument(
        "--frames", type=_argument(parse_frames), metavar="FIRST-LAST",
        help="records carried by these frames (FIRST-, -LAST, or one frame; from 1)",
    )  # fmt: skip


def selection_from_arguments(args: argparse.Namespace) -> Selection:
    """The :class:`Selection` the options of :func:`add_selection_arguments` asked for."""
    statuses: set[int] = set()
    categories: set[StatusCategory] = set()
    for codes, kinds in args.status:
        statuses |= codes
        categories |= kinds
    first, last = args.frames if args.frames is not None else (None, None)
    return Selection(
        ae_titles=frozenset(title.strip() for title in args.ae),
        messages=frozenset(name for names in args.command for name in names),
        statuses=frozenset(statuses),
        categories=frozenset(categories),
        associations=frozenset(args.association),
        sop_classes=frozenset(args.sop_class),
        since_ns=args.since,
        until_ns=args.until,
        first_frame=first,
        last_frame=last,
    )
