"""``dimse-codec decode CAPTURE``: every association event and DIMSE message of a pcap/pcapng file.

A thin layer over :class:`~dimse_codec.capture.dicom.CaptureDecoder`: records become one text
line each (``cli/text.py``, with the summary of ``cli/summary.py`` at the end), one NDJSON object
each (``--json``, :func:`~dimse_codec.capture.ndjson.record_json`; schema in ``docs/decode.md``)
or rows in files (``--format``), read through :func:`~dimse_codec.cli.sources.decode_records`.
``--export DIR`` writes every C-STORE-RQ data set as a DICOM Part-10 file
(:mod:`dimse_codec.capture.export`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dimse_codec.capture.dicom import DEFAULT_STALL_THRESHOLD_NS
from dimse_codec.capture.export import Exporter
from dimse_codec.capture.ndjson import (
    BULK_DATA_MODES,
    BULK_DATA_THRESHOLD,
    DEFAULT_MAX_DATASET_JSON,
)
from dimse_codec.capture.select import add_selection_arguments, selection_from_arguments
from dimse_codec.capture.traffic import TrafficSeen
from dimse_codec.cli._args import byte_count, count, seconds, tcp_port
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.colour import COLOR_CHOICES, Paint, wants_colour
from dimse_codec.cli.detail import add_detail_arguments, detail_refused
from dimse_codec.cli.examples import with_examples
from dimse_codec.cli.formats import ROW_FORMATS, MissingExtra, RowWriter, open_writer
from dimse_codec.cli.hints import say_hint
from dimse_codec.cli.sources import CaptureInputError, Progress, capture_sources, decode_records
from dimse_codec.cli.text import DEFAULT_WIDTH, TextStyle
from dimse_codec.cli.view import TIME_MODES, Output, RecordRenderer, ViewOptions, first_packet_time
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import CaptureError, NotACaptureFile
from dimse_codec.pcap.tcp import IDLE_TIMEOUT, MAX_CONNECTIONS

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = ["FORMATS", "register", "run"]

FORMATS = ("text", "ndjson", *ROW_FORMATS)
"""What ``--format`` accepts: text lines, NDJSON records (``--json``), or rows in files."""


# -- the subcommand ------------------------------------------------------------------------------


def register(subparsers: SubParsers) -> None:
    """Add the ``decode`` subcommand to the ``dimse-codec`` parser."""
    parser = subparsers.add_parser(
        "decode",
        **with_examples("decode"),
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
        "--port", type=tcp_port(), default=None, help="treat connections on this TCP port as DICOM"
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
        type=seconds(),
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
        type=seconds(zero=True),
        default=IDLE_TIMEOUT,
        help=(
            "evict a connection with no packet for this long in capture time, reported as "
            f"CONNECTION_EVICTED (default {IDLE_TIMEOUT:g}; 0: never)"
        ),
    )
    parser.add_argument(
        "--max-connections",
        metavar="N",
        type=count(),
        default=MAX_CONNECTIONS,
        help=(
            "follow at most N open connections, evicting the least recently active "
            f"(default {MAX_CONNECTIONS}; 0: no cap)"
        ),
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=count(1, unit="jobs"),
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
    # -- the text view (cli/text.py, cli/view.py) --
    parser.add_argument(
        "--time",
        choices=TIME_MODES,
        default=None,
        help="the time on each text line: seconds since the capture's first packet (relative, "
        "the default), the UTC time of day with the date when it changes (absolute), or "
        "seconds since the line before (delta)",
    )
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default=None,
        help="colour the text: on a terminal unless NO_COLOR is set (auto, the default), "
        "always, or never",
    )
    parser.add_argument(
        "--contexts",
        action="store_true",
        help="list every presentation context under the A-ASSOCIATE-AC, accepted or rejected, "
        "one per line",
    )
    parser.set_defaults(handler=run)


def _format(args: argparse.Namespace) -> str | None:
    """The output format asked for, or None (and a message) when the options disagree."""
    chosen: str = args.format or ("ndjson" if args.json else "text")
    if args.json and chosen != "ndjson":
        print(f"error: --json is --format ndjson, not {chosen}", file=sys.stderr)
        return None
    if chosen in ROW_FORMATS and args.output is None:
        print(f"error: --format {chosen} writes files: give --output DIR", file=sys.stderr)
        return None
    given = [
        option
        for option, value in (
            ("--time", args.time),
            ("--color", args.color),
            ("--contexts", args.contexts),
        )
        if value
    ]
    if given and chosen != "text":
        print(f"error: {given[0]} shapes the text output, not {chosen}", file=sys.stderr)
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


def _view_options(args: argparse.Namespace, chosen: str, out: TextIO) -> ViewOptions:
    """How records are shown, from the options and whether ``out`` is a terminal."""
    colour = wants_colour(args.color or "auto", out)
    isatty = getattr(out, "isatty", None)
    width = shutil.get_terminal_size().columns if isatty is not None and isatty() else DEFAULT_WIDTH
    style = TextStyle(
        show_secrets=args.show_secrets,
        paint=Paint(colour),
        contexts=args.contexts,
        width=max(width, 80),
    )
    return ViewOptions(
        chosen,
        style,
        datasets=args.datasets,
        bulk_data=args.bulk_data,
        max_dataset_json=args.max_dataset_json or None,
        time=args.time or "relative",
        detail=min(args.verbose, 2),
        max_detail_lines=args.max_detail_lines or None,
    )


def _close(writer: RowWriter | None, out: TextIO) -> None:
    if writer is not None:
        writer.close()
    if out is not sys.stdout:
        out.close()


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
    if args.engine == "dask":
        from dimse_codec.cli.cluster import run_dask

        return run_dask(args, _view_options(args, chosen, sys.stdout), sources)
    from dimse_codec.cli.jobs import run_jobs

    opened = _open_output(chosen, args)
    if opened is None:
        return EXIT_USAGE
    writer, out = opened
    options = _view_options(args, chosen, out)
    origin = first_packet_time(sources)[1] if options.text else None
    output = Output(options, out, writer, origin)
    try:
        status, cut = run_jobs(args, options, sources, output)
    finally:
        _close(writer, out)
    if status == EXIT_OK:
        _report_written(args, writer is not None, output.counts, cut)
    return status


def run(args: argparse.Namespace) -> int:
    """Decode the capture: 0 if read (even truncated), 1 if strict mode refused, 2 if unreadable,
    130 after Ctrl-C (with the summary, or the rows, of what was decoded until then)."""
    chosen = _format(args)
    if chosen is None or detail_refused(args, chosen):
        return EXIT_USAGE
    if args.jobs > 1 or args.engine == "dask":
        return _sharded(args, chosen)
    names: list[str] = args.capture
    # one input is named in errors; several name themselves (the reader puts the file first)
    named = f"{'standard input' if names[0] == '-' else names[0]} " if len(names) == 1 else ""
    export = None if args.export is None else Path(args.export)
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
    progress = Progress(sys.stderr, None if writer is not None else out)
    traffic = TrafficSeen()
    try:
        sources = capture_sources(names, out)
    except CaptureInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _close(writer, out)
        return EXIT_USAGE
    options = _view_options(args, chosen, out)
    renderer = RecordRenderer(
        options,
        selection_from_arguments(args),
        export=None if export is None else Exporter(export),
    )
    origin = None
    if options.text and options.time != "absolute":
        sources, origin = first_packet_time(sources)
    output = Output(options, out, writer, origin)
    try:
        for record in decode_records(
            sources,
            port=args.port,
            strict=args.strict,
            progress=progress,
            idle_timeout=args.idle_timeout or None,
            max_connections=args.max_connections or None,
            stall_threshold_ns=round(args.stall_threshold * 1e9),
            traffic=traffic,
        ):
            for local, body in renderer.record(record):
                output.write(local, local, body)
        for local, body in renderer.finish():
            output.write(local, local, body)
        progress.clear()
        if options.text:
            out.write(renderer.summary.text() + "\n")
        say_hint(traffic, chosen, out)
        out.flush()  # here, so that a closed stdout is met while main() can still end quietly
    except BrokenPipeError:  # stdout closed, not the capture: main() ends quietly
        raise
    except KeyboardInterrupt:  # Ctrl-C: what was decoded so far, then the usual one line
        progress.clear()
        if sys.stderr.isatty():
            print(file=sys.stderr)  # past the ^C the terminal echoed
        if options.text:
            out.write(renderer.summary.text() + "\n")
        else:
            for local, body in renderer.finish():  # the rows of the associations still open
                output.write(local, local, body)
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
        _close(writer, out)
    _report_written(args, writer is not None, output.counts, renderer.cut)
    return EXIT_OK
