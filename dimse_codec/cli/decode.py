"""``dimse-codec decode CAPTURE``: every association event and DIMSE message of a pcap/pcapng file.

A thin layer over :class:`~dimse_codec.capture.dicom.CaptureDecoder`: records become one text
line each (``cli/text.py``, with the summary of ``cli/summary.py`` at the end), one NDJSON object
each (``--json``, ``cli/ndjson.py``; schema in ``docs/decode.md``) or rows in files
(``--format``), read through :func:`~dimse_codec.cli.sources.decode_records`. ``--export DIR``
writes every C-STORE-RQ data set as a DICOM Part-10 file (``cli/export.py``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureRecord,
)
from dimse_codec.capture.dicom import DEFAULT_STALL_THRESHOLD_NS, ENDING_EVENTS
from dimse_codec.capture.rows import Row, RowBuilder
from dimse_codec.capture.select import (
    RecordSelector,
    add_selection_arguments,
    select_rows,
    selection_from_arguments,
)
from dimse_codec.cli._args import byte_count
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.detail import add_detail_arguments, detail_refused, with_detail
from dimse_codec.cli.export import export_message, sender_title
from dimse_codec.cli.formats import ROW_FORMATS, MissingExtra, RowWriter, open_writer
from dimse_codec.cli.fuzz import _port
from dimse_codec.cli.ndjson import (
    BULK_DATA_MODES,
    BULK_DATA_THRESHOLD,
    DEFAULT_MAX_DATASET_JSON,
    is_cut,
    record_json,
    row_dataset,
)
from dimse_codec.cli.sources import CaptureInputError, Progress, capture_sources, decode_records
from dimse_codec.cli.summary import Summary
from dimse_codec.cli.text import export_text, record_text
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import CaptureError, NotACaptureFile
from dimse_codec.pcap.tcp import IDLE_TIMEOUT, MAX_CONNECTIONS

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = ["FORMATS", "register", "run"]

FORMATS = ("text", "ndjson", *ROW_FORMATS)
"""What ``--format`` accepts: text lines, NDJSON records (``--json``), or rows in files."""


# -- the subcommand ------------------------------------------------------------------------------


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
        type=byte_count,
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
    add_detail_arguments(parser)  # -v, -vv (cli/detail.py)
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


def _dataset_options(args: argparse.Namespace) -> dict[str, Any]:
    """How data sets are shown in rows and NDJSON: ``--bulk-data`` and ``--max-dataset-json``."""
    return {"bulk_data": args.bulk_data, "max_dataset_json": args.max_dataset_json or None}


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
        sources = capture_sources(args.capture)
    except CaptureInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from dimse_codec.cli.jobs import Rendering

    dataset_options = _dataset_options(args)
    rendering = Rendering(
        text=with_detail(functools.partial(record_text, show_secrets=args.show_secrets), args),
        json=functools.partial(
            record_json, datasets=args.datasets, show_secrets=args.show_secrets, **dataset_options
        ),
        is_cut=is_cut,
        row_dataset=functools.partial(row_dataset, **dataset_options),
        summary=functools.partial(Summary, filtered=not selection_from_arguments(args).everything),
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
    if chosen is None or detail_refused(args, chosen):
        return EXIT_USAGE
    if args.jobs > 1 or args.engine == "dask":
        return _sharded(args, chosen)
    dataset_options = _dataset_options(args)
    progress = Progress(sys.stderr)
    summary = Summary()
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
        sources = capture_sources(names, out)
    except CaptureInputError as exc:
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

    text = with_detail(functools.partial(record_text, show_secrets=args.show_secrets), args)

    def show(record: CaptureRecord, messages: list[Row]) -> None:
        """Write one record the filter kept, with its message rows (and export it)."""
        nonlocal cut
        exported: tuple[Path | None, str | None] | None = None
        if (
            export is not None
            and isinstance(record, CapturedMessage)
            and record.name == "C-STORE-RQ"
        ):
            exported = export_message(record, export, sender_title(record, titles))
        if writer is not None:
            for row in messages:
                if args.datasets and isinstance(record, CapturedMessage):
                    row.values["dataset_json"] = row_dataset(record, **dataset_options)
                emit(row)
        elif chosen == "ndjson":
            line = record_json(
                record, datasets=args.datasets, show_secrets=args.show_secrets, **dataset_options
            )
            cut += is_cut(line)
            if exported is not None:
                line["exported"] = None if exported[0] is None else str(exported[0])
                line["export_skipped"] = exported[1]
            for row in messages:  # a message line carries its row's columns too
                line.update((k, v) for k, v in row.values.items() if k not in line)
            out.write(json.dumps(line) + "\n")
        else:
            summary.show(record)
            out.write(text(record) + "\n")
            if exported is not None and isinstance(record, CapturedMessage):
                out.write(export_text(record, *exported) + "\n")

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
