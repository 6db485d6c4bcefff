"""How ``decode`` shows records: one renderer for every way it runs, and where its output goes.

:class:`RecordRenderer` turns the records of a capture (or of one shard of it) into what is
written for them in the format asked for: text lines (:class:`Line`), NDJSON lines or rows,
filters applied, and in text each association's totals on one line after its end (from the
association row of :class:`~dimse_codec.capture.rows.RowBuilder`, so nothing is counted twice).
``decode`` itself, the ``--jobs N`` workers and the Dask tasks all use it, built from one
:class:`ViewOptions` decided from the command line, so their outputs agree. :class:`Output`
writes the items where they go; the time column of a text line, which may depend on the line
before it (``--time delta``), is added there by :class:`TextPrinter`, after the shards' merge.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from dimse_codec.capture import AssociationEvent, CapturedMessage, CaptureRecord
from dimse_codec.capture.export import Exporter
from dimse_codec.capture.ndjson import DEFAULT_MAX_DATASET_JSON, is_cut, record_json, row_dataset
from dimse_codec.capture.rows import Row, RowBuilder, RowValue
from dimse_codec.capture.select import RecordSelector, Selection, select_rows
from dimse_codec.cli.colour import DIM, PLAIN, Paint
from dimse_codec.cli.detail import message_detail
from dimse_codec.cli.formats import RowWriter
from dimse_codec.cli.summary import Summary
from dimse_codec.cli.text import (
    PLAIN_STYLE,
    TextStyle,
    association_end_text,
    export_text,
    record_text,
)
from dimse_codec.dataset.dump import DEFAULT_MAX_LINES
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import CaptureReader, CaptureSources

__all__ = [
    "TIME_MODES",
    "Body",
    "FirstBytes",
    "Line",
    "Origin",
    "Output",
    "RecordRenderer",
    "TextPrinter",
    "ViewOptions",
    "first_packet_time",
    "renumber_json",
]

_KEEP = 1 << 16
"""Bytes of standard input kept for the time of its first packet (gzip-compressed, a pcapng
section header with long options: still far more than the first packet needs)."""

TIME_MODES = ("relative", "absolute", "delta")
"""What ``--time`` accepts: seconds since the capture's first packet (the default, as
Wireshark's Time column), the UTC time of day, or seconds since the line before."""


@dataclass(frozen=True)
class ViewOptions:
    """How records are shown, decided once from the command line (picklable: the ``--jobs``
    workers and the Dask tasks get a copy)."""

    chosen: str
    """The format: ``text``, ``ndjson``, ``csv``, ``parquet`` or ``zeek``."""
    style: TextStyle = PLAIN_STYLE
    datasets: bool = False
    bulk_data: str = "digest"
    max_dataset_json: int | None = DEFAULT_MAX_DATASET_JSON
    time: str = "relative"
    detail: int = 0
    """Lines under each message: its command elements (1, ``-v``), its data set too (2)."""
    max_detail_lines: int | None = DEFAULT_MAX_LINES
    """The most lines of one data set's tree under ``-vv`` (None: no cap)."""

    @property
    def text(self) -> bool:
        """Whether the output is text lines."""
        return self.chosen == "text"


@dataclass(frozen=True)
class Line:
    """One text line before its ``aN fM TIME`` frame is put in front of it (by the printer,
    which knows the association's number in the whole capture and the line before)."""

    association: int | None
    """The association's number where the line was rendered (a shard's own, under ``--jobs``)."""
    frame: int | None
    time_ns: int | None
    """Capture time; None for a record the capture does not time (a gap, a problem): it is
    shown with the time of the line before it."""
    text: str
    """The body; more lines (diagnostics, contexts) may follow it after newlines."""
    message: bool = False
    """Whether it shows a message (the filter's count of messages shown)."""


Origin = int | Callable[[], int | None] | None
"""The capture time relative times count from: known, asked for when needed, or unknown."""

Body = Line | str | tuple[str, dict[str, RowValue]] | None
"""What is written for a record: a text :class:`Line`, an NDJSON line, a (table, values) row,
or None where an association first appears whose records the filters left out."""


def _local(record: CaptureRecord) -> int | None:
    return record.association.index if isinstance(record, AssociationEvent) else record.association


class RecordRenderer:
    """Records, in capture order, to what is written for them (see the module's docstring).

    ``sharded``: the renderer of one shard of ``--jobs N``, whose association numbers the
    parent renumbers; then the parent chooses by association number (``--association``) and
    counts the messages shown for it, and each association is announced where it first appears.
    What it keeps per association (the row builder's counters, the slowest response) is
    dropped when the association ends.
    """

    def __init__(
        self,
        options: ViewOptions,
        selection: Selection,
        *,
        sharded: bool = False,
        export: Exporter | None = None,
    ) -> None:
        self.options = options
        self.export = export
        self.rows = RowBuilder(message_rows=not options.text)
        self.summary = Summary(filtered=not selection.everything)
        self.cut = 0
        """Data sets whose JSON was cut at ``--max-dataset-json``."""
        self.numbered = sharded and bool(selection.associations)
        applied = selection.without_associations() if sharded else selection
        self.selector: RecordSelector[list[Row]] | None = None
        if not applied.everything:
            self.selector = RecordSelector(applied, context=True)
        self.announced = -1
        self.slowest: dict[int, tuple[int, str, int]] = {}
        """Open association -> its slowest response so far (nanoseconds, message, frame)."""

    def record(self, record: CaptureRecord) -> Iterator[tuple[int | None, Body]]:
        """The items of one record: (its association number, what is written for it)."""
        made = self.rows.feed(record)
        if self.export is not None:
            self.export.note(record)
        if self.options.text:
            self.summary.add(record)
            if isinstance(record, CapturedMessage) and record.response_time_ns is not None:
                slowest = self.slowest.get(record.association)
                if slowest is None or record.response_time_ns > slowest[0]:
                    self.slowest[record.association] = (
                        record.response_time_ns,
                        record.name,
                        record.frame,
                    )
        if self.selector is None:
            kept = [(record, [row for row in made if row.table == "message"])]
            ends = [row for row in made if row.table == "association"]
        else:
            if isinstance(record, AssociationEvent) and record.association.index > self.announced:
                self.announced = record.association.index
                yield self.announced, None  # numbered where it appears, shown or not
            kept, ends = select_rows(self.selector, record, made)
        for shown, messages in kept:
            yield from self._shown(shown, messages)
        yield from self._ends(
            ends, record.time_ns if isinstance(record, AssociationEvent) else None
        )
        for row in made:  # what was kept for an ended association goes, shown or not
            if row.table == "association":
                self.slowest.pop(_row_association(row), None)

    def finish(self) -> Iterator[tuple[int | None, Body]]:
        """The items of the associations still open when the records ended."""
        rows = self.rows.finish()
        if self.selector is not None:
            selector = self.selector
            rows = [row for row in rows if selector.association_shown(_row_association(row))]
        yield from self._ends(rows)
        self.slowest.clear()

    def _shown(
        self, record: CaptureRecord, messages: list[Row]
    ) -> Iterator[tuple[int | None, Body]]:
        options = self.options
        local = _local(record)
        exported = None if self.export is None else self.export(record)
        if options.text:
            is_message = isinstance(record, CapturedMessage)
            if not self.numbered:
                self.summary.show(record)
            when = (
                record.time_ns if isinstance(record, (AssociationEvent, CapturedMessage)) else None
            )
            text = record_text(record, options.style)
            if options.detail and isinstance(record, CapturedMessage):
                detail = message_detail(
                    record, level=options.detail, max_lines=options.max_detail_lines
                )
                text = "\n".join([text, *detail])
            yield local, Line(local, record.frame, when, text, is_message)
            if exported is not None and isinstance(record, CapturedMessage):
                yield local, Line(local, record.frame, when, export_text(record, *exported))
        elif options.chosen == "ndjson":
            line = record_json(
                record,
                datasets=options.datasets,
                show_secrets=options.style.show_secrets,
                bulk_data=options.bulk_data,
                max_dataset_json=options.max_dataset_json,
            )
            self.cut += is_cut(line)
            if exported is not None:
                line["exported"] = None if exported[0] is None else str(exported[0])
                line["export_skipped"] = exported[1]
            for row in messages:  # a message line carries its row's columns too
                line.update((k, v) for k, v in row.values.items() if k not in line)
            yield local, json.dumps(line)
        else:
            for row in messages:
                if options.datasets and isinstance(record, CapturedMessage):
                    row.values["dataset_json"] = row_dataset(
                        record,
                        bulk_data=options.bulk_data,
                        max_dataset_json=options.max_dataset_json,
                    )
            yield from self._rows(messages)

    def _ends(self, rows: list[Row], when: int | None = None) -> Iterator[tuple[int | None, Body]]:
        """The totals of associations that ended, at ``when`` (the ending event's time; from
        the row when None)."""
        if not self.options.text:
            yield from self._rows(rows)
            return
        for row in rows:
            local = _row_association(row)
            values = row.values
            end = values.get("end_time")
            frame = values.get("last_frame")
            text = association_end_text(values, self.slowest.get(local), self.options.style.paint)
            yield (
                local,
                Line(
                    local,
                    frame if isinstance(frame, int) else None,
                    when
                    if when is not None
                    else round(end * 1e9)
                    if isinstance(end, float)
                    else None,
                    text,
                ),
            )

    def _rows(self, rows: list[Row]) -> Iterator[tuple[int | None, Body]]:
        for row in rows:
            local = _row_association(row)
            if self.options.chosen == "ndjson":
                yield local, json.dumps({"type": "association_summary", **row.values})
            else:
                yield local, (row.table, row.values)


def _row_association(row: Row) -> int:
    value = row.values.get("association")
    return value if isinstance(value, int) else -1


def renumber_json(body: str, local: int, number: int) -> str:
    """An NDJSON record whose first ``"association"`` key (the top-level one: it comes second,
    after ``"type"``) holds ``local``, with ``number`` instead."""
    key = f'"association": {local},'
    at = body.find(key)
    if at < 0:
        return body
    return f'{body[:at]}"association": {number},{body[at + len(key) :]}'


class TextPrinter:
    """Text lines with their ``aN fM TIME`` frame in front, in the ``--time`` asked for.

    ``absolute`` is the UTC time of day with microseconds, the date on a line of its own before
    the first line and whenever it changes; ``relative`` is seconds since ``origin`` (the
    capture's first packet, asked for when the first line is written; the first line's time when
    unknown); ``delta`` seconds since the timed line before. A line the capture does not time (a
    gap, a problem) shows ``-``.
    """

    def __init__(self, out: TextIO, mode: str, origin: Origin = None, paint: Paint = PLAIN) -> None:
        self.out = out
        self.mode = mode
        self.origin: Origin = origin
        self.origin_ns: int | None = None
        self.paint = paint
        self.last_ns: int | None = None
        self.day: str | None = None

    def write(self, line: Line, number: int | None) -> None:
        """Write ``line`` as association ``number`` of the whole capture."""
        when = line.time_ns
        stamp = self._stamp(when)
        frame = "?" if line.frame is None else line.frame
        shown = "?" if number is None or line.association is None else number
        head = f"a{shown} f{frame} {stamp}"
        self.out.write(f"{self.paint(head, DIM)} {line.text}\n")
        if when is not None:
            self.last_ns = when

    def _stamp(self, when: int | None) -> str:
        if when is None:
            return "-"
        if self.origin is not None:  # once, when the first timed line is written
            self.origin_ns = self.origin() if callable(self.origin) else self.origin
            self.origin = None
        if self.mode == "delta":
            before = self.last_ns if self.last_ns is not None else self.origin_ns
            return f"{(when - (when if before is None else before)) / 1e9:+.6f}"
        if self.mode == "absolute":
            seconds, nanoseconds = divmod(when, 1_000_000_000)
            moment = time.gmtime(seconds)
            day = time.strftime("%Y-%m-%d", moment)
            if day != self.day:
                self.day = day
                self.out.write(self.paint(f"{day} (UTC)", DIM) + "\n")
            return f"{time.strftime('%H:%M:%S', moment)}.{nanoseconds // 1000:06d}"
        if self.origin_ns is None:
            self.origin_ns = when
        return f"{(when - self.origin_ns) / 1e9:.6f}"


class Output:
    """Where the rendered items go: rows to a row writer, NDJSON lines or text lines (through a
    :class:`TextPrinter`) to a stream, each with the association number of the whole capture;
    counts the rows written per table."""

    def __init__(
        self,
        options: ViewOptions,
        out: TextIO,
        writer: RowWriter | None,
        origin: Origin = None,
    ) -> None:
        self.options = options
        self.out = out
        self.writer = writer
        self.counts: Counter[str] = Counter()
        self.printer = TextPrinter(out, options.time, origin, options.style.paint)

    def write(self, local: int | None, number: int | None, body: Body) -> None:
        """Write one item rendered as association ``local``, which is ``number`` in the whole
        capture (the same without shards)."""
        if body is None:
            return
        if isinstance(body, Line):
            self.printer.write(body, number)
        elif isinstance(body, str):
            if local is not None and number is not None and local != number:
                body = renumber_json(body, local, number)
            self.out.write(body + "\n")
        else:
            table, values = body
            if number is not None:
                values["association"] = number
            self.counts[table] += 1
            if self.writer is not None:
                self.writer.write(Row(table, values))  # type: ignore[arg-type]


class FirstBytes:
    """A capture stream (standard input) that keeps its first bytes as it is read, so that the
    time of its first packet can be read from them once decoding has begun: a stream cannot be
    read twice."""

    def __init__(self, stream: Any, keep: int = _KEEP) -> None:
        self.stream = stream
        self.keep = keep
        self.head = bytearray()
        self.name = getattr(stream, "name", "standard input")

    def read1(self, size: int = -1, /) -> bytes:
        """What the stream gives (at most ``size`` bytes), its first bytes kept."""
        read = getattr(self.stream, "read1", None)
        data = bytes(read(size) if callable(read) else self.stream.read(size))
        if len(self.head) < self.keep:
            self.head += data[: self.keep - len(self.head)]
        return data

    read = read1

    def first_time(self) -> int | None:
        """The capture time of the first packet in the bytes kept (None before it is read)."""
        return _first_time(bytes(self.head))


def _first_time(source: CaptureSources) -> int | None:
    try:
        with CaptureReader(source) as reader:
            for record in reader.records():
                return record.time_ns
    except (OSError, DimseCodecError):  # unreadable: the decode that follows says why
        return None
    return None


def first_packet_time(sources: CaptureSources) -> tuple[CaptureSources, Origin]:
    """The sources to decode and the capture time of their first packet (the earliest of their
    first packets): read now from files; from standard input, wrapped in :class:`FirstBytes`,
    once decoding has read its first bytes."""
    named = list(sources) if isinstance(sources, (list, tuple)) else [sources]
    if all(isinstance(source, str) for source in named):
        return sources, _first_time(sources)
    wrapped = [source if isinstance(source, str) else FirstBytes(source) for source in named]
    first = [source for source in wrapped if isinstance(source, FirstBytes)]

    def origin() -> int | None:
        times = [_first_time(source) for source in wrapped if isinstance(source, str)]
        times += [stream.first_time() for stream in first]
        known = [time_ns for time_ns in times if time_ns is not None]
        return min(known) if known else None

    return (wrapped if isinstance(sources, (list, tuple)) else wrapped[0]), origin
