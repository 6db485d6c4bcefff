"""``dimse-codec report CAPTURE... -o report.html``: one self-contained HTML page about captures.

Reads its inputs as ``decode`` does (files, folders, ``-``; several merged in time order, through
:func:`dimse_codec.cli.decode.decode_records`), applies the filters of
:mod:`dimse_codec.capture.select`, gathers the report with :func:`dimse_codec.report.collect`
in bounded memory and writes :func:`dimse_codec.report.render_report`'s page to ``--output``.
Ctrl-C writes the report of what was read until then, and exits 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dimse_codec.capture import CaptureRecord
from dimse_codec.capture.select import add_selection_arguments, selection_from_arguments
from dimse_codec.capture.traffic import TrafficSeen
from dimse_codec.cli._args import count, tcp_port
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.cli.hints import say_hint
from dimse_codec.cli.sources import CaptureInputError, Progress, capture_sources, decode_records
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import CaptureError, NotACaptureFile
from dimse_codec.report import collect, render_report
from dimse_codec.report.collect import DEFAULT_DETAIL, DEFAULT_PROBLEM_DETAIL

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dimse_codec.cli._types import SubParsers

__all__ = ["register", "run"]

_FILTER_OPTIONS = (
    "ae",
    "command",
    "status",
    "association",
    "sop_class",
    "since",
    "until",
    "frames",
)


def register(subparsers: SubParsers) -> None:
    """Add the ``report`` subcommand to the ``dimse-codec`` parser."""
    parser = subparsers.add_parser(
        "report",
        **with_examples("report"),
        help="write one self-contained HTML report of the DICOM traffic in captures",
        description=(
            "Read pcap or pcapng captures as decode does and write one HTML file that works "
            "offline: an overview (peers, counts, failures), response times per service and per "
            "AE title pair, statuses with their meanings, gaps and problems, the negotiation, and "
            "per association a ladder of its PDUs and messages (the first ones, and those with "
            "a failure or problem)."
        ),
    )
    parser.add_argument(
        "capture",
        metavar="CAPTURE",
        nargs="+",
        help="pcap or pcapng file, a folder of them, or - for standard input (as for decode)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="the HTML file to write"
    )
    parser.add_argument(
        "--port", type=tcp_port(), default=None, help="treat connections on this TCP port as DICOM"
    )
    parser.add_argument("--title", default="DICOM capture report", help="the report's title")
    parser.add_argument(
        "--detail",
        metavar="N",
        type=count(unit="associations"),
        default=DEFAULT_DETAIL,
        help=f"draw the first N associations in detail (default {DEFAULT_DETAIL})",
    )
    parser.add_argument(
        "--problem-detail",
        metavar="N",
        type=count(unit="associations"),
        default=DEFAULT_PROBLEM_DETAIL,
        help=f"and up to N more that had a failure or problem (default {DEFAULT_PROBLEM_DETAIL})",
    )
    add_selection_arguments(parser)
    parser.set_defaults(handler=run)


def _given_filters(argv: argparse.Namespace) -> list[str]:
    """The filter options as the user gave them, for the report's header."""
    given = []
    for name in _FILTER_OPTIONS:
        value = getattr(argv, name)
        if value not in (None, []):
            given.append(f"--{name.replace('_', '-')} {value}")
    return given


def _reading_error(exc: OSError | DimseCodecError, named: str) -> str:
    """The one line saying why the captures could not be read (``named``: the one input)."""
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else named or "a capture"
        return f"cannot read {where}: {exc.strerror or exc}"
    if isinstance(exc, NotACaptureFile):
        return f"{named or 'an input'} is not a pcap or pcapng capture: {exc}"
    if isinstance(exc, CaptureError):
        return f"{named}: {exc}" if named else str(exc)
    return f"[{exc.code}] {exc}"


def run(args: argparse.Namespace) -> int:
    """Write the report: 0 when written, 2 for an unreadable input or output, 1 if the decoder
    failed, 130 after Ctrl-C (the report of what was read until then is written)."""
    if args.detail < 0 or args.problem_detail < 0:
        print("error: --detail and --problem-detail cannot be negative", file=sys.stderr)
        return EXIT_USAGE
    output = Path(args.output)
    if output.is_dir():
        print(f"error: --output {output} is a directory", file=sys.stderr)
        return EXIT_USAGE
    names: list[str] = args.capture
    named = f"{'standard input' if names[0] == '-' else names[0]} " if len(names) == 1 else ""
    progress = Progress(sys.stderr, name="report")
    traffic = TrafficSeen()
    selection = selection_from_arguments(args)
    interrupted: list[bool] = []
    try:
        sources = capture_sources(names, sys.stdout)
        records = decode_records(
            sources, port=args.port, strict=False, progress=progress, traffic=traffic
        )
        collector = collect(
            _until_interrupted(records, interrupted),
            selection,
            detail=args.detail,
            problem_detail=args.problem_detail,
        )
    except CaptureInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, DimseCodecError) as exc:
        progress.clear()
        print(f"error: {_reading_error(exc, named.strip())}", file=sys.stderr)
        unreadable = isinstance(exc, (OSError, CaptureError))
        return EXIT_USAGE if unreadable else EXIT_FAILED
    progress.clear()
    if interrupted:
        print("dimse-codec: interrupted; the report shows what was read", file=sys.stderr)
    page = render_report(collector, title=args.title, inputs=names, filters=_given_filters(args))
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    counts = collector.counts
    if not interrupted:
        say_hint(traffic, "report", sys.stderr, name="report")
    print(
        f"report: {counts['associations']} association(s), {counts['messages']} message(s), "
        f"{len(collector.details)} drawn in detail; {len(page.encode()):,} bytes in {output}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _until_interrupted(
    records: Iterator[CaptureRecord], interrupted: list[bool]
) -> Iterator[CaptureRecord]:
    """The records, ended early by Ctrl-C while reading (noted in ``interrupted``), so that the
    report of those read so far is still made."""
    try:
        yield from records
    except KeyboardInterrupt:
        interrupted.append(True)
