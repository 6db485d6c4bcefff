"""``decode -v`` and ``-vv``: a message's command elements, then its data set, under its text line.

``-v`` lists the command set element by element as ``inspect`` renders it (:mod:`.render`: UIDs
with their registry names, CommandField by message name, Status with its meaning); ``-vv`` adds
the data set as the dcmdump-style tree of :func:`~dimse_codec.dataset.dump.dump_dataset`,
decoded in the message's context transfer syntax, with the decoder's diagnostics in place and its
lines capped by ``--max-detail-lines``. The renderer of :mod:`.view` puts them under a message's
line, in ``decode`` as in each ``--jobs`` worker, so both show the same lines.
"""

from __future__ import annotations

import argparse
import sys

from pydicom.uid import UID

from dimse_codec.capture import CapturedMessage
from dimse_codec.cli._args import count
from dimse_codec.cli.render import inspect_bytes
from dimse_codec.dataset.dump import DEFAULT_MAX_LINES, dump_dataset
from dimse_codec.errors import DimseCodecError
from dimse_codec.tables.elements import format_tag

__all__ = [
    "INDENT",
    "add_detail_arguments",
    "detail_refused",
    "message_detail",
]

INDENT = "    "
"""The indent of the detail lines under a message's line (its diagnostics' too)."""


def add_detail_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``-v``/``--verbose`` and ``--max-detail-lines`` to ``decode``."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="text output: under each message its command elements (-v), and its data set as "
        "a dcmdump-style tree too (-vv)",
    )
    parser.add_argument(
        "--max-detail-lines",
        metavar="N",
        type=count(unit="lines"),
        default=DEFAULT_MAX_LINES,
        help="with -vv, the most lines of one data set's tree; the elements past them are "
        f"counted on one line (default {DEFAULT_MAX_LINES}; 0: no cap)",
    )


def detail_refused(args: argparse.Namespace, chosen: str) -> bool:
    """Whether ``-v`` was given with an output other than text (said in one line): the other
    formats carry the command elements already, and the data sets with ``--datasets``."""
    if args.verbose and chosen != "text":
        print(
            f"error: -v/-vv add detail to text output, not to {chosen}: the command elements "
            "are in every NDJSON message and row, the data sets come with --datasets",
            file=sys.stderr,
        )
        return True
    return False


def message_detail(
    message: CapturedMessage, *, level: int = 1, max_lines: int | None = DEFAULT_MAX_LINES
) -> list[str]:
    """The detail lines of one message: its command elements (level 1), and its data set's tree
    (level 2), at most ``max_lines`` lines of it."""
    lines = _command_lines(message)
    if level >= 2 and message.dataset is not None:
        lines += _dataset_lines(message, message.dataset, max_lines)
    return lines


def _command_lines(message: CapturedMessage) -> list[str]:
    """The command set's elements as on the wire: tag, keyword, VR, length, value."""
    try:
        inspection = inspect_bytes(bytes(message.command_set))
    except DimseCodecError as exc:  # the capture decoder took it, so this is unlikely
        return [f"{INDENT}command set: {len(message.command_set)} bytes, not listed: {exc}"]
    elements = inspection.elements
    lines = [
        f"{INDENT}command set: {len(inspection.source)} bytes, "
        f"{len(elements) + inspection.omitted} element(s)"
    ]
    width = max([0, *(len(e.label) for e in elements)])
    length_width = max([0, *(len(str(len(e.value_bytes))) for e in elements)])
    for element in elements:
        lines.append(
            f"{INDENT}  {format_tag(element.tag)} {element.label:<{width}} {element.vr:<2} "
            f"{len(element.value_bytes):>{length_width}}  {element.text}".rstrip()
        )
    if inspection.omitted:
        lines.append(f"{INDENT}  ... and {inspection.omitted} more element(s) not listed")
    return lines


def _dataset_lines(
    message: CapturedMessage, dataset: bytes | memoryview, max_lines: int | None
) -> list[str]:
    """The header line and tree of the message's data set, or why it is not decoded."""
    head = f"{INDENT}data set: {len(dataset)} bytes"
    if message.incomplete is not None:
        announced = message.dataset_announced
        of = f" of {announced} announced" if announced is not None else ""
        return [
            f"{head}{of}; the message is incomplete ({message.incomplete.message}): its partial "
            "data set is not decoded"
        ]
    syntax = message.transfer_syntax
    if syntax is None:
        return [
            f"{head}; not decoded: its transfer syntax is unknown (no accepted presentation "
            "context seen, none guessed)"
        ]
    name = UID(syntax).name
    head += f", {name if name and name != syntax else syntax}"
    if message.transfer_syntax_guessed is not None:
        head += f" (guessed: {message.transfer_syntax_guessed})"
    try:
        tree = list(dump_dataset(dataset, syntax, max_lines=max_lines, indent=INDENT + "  "))
    except DimseCodecError as exc:
        at = "" if exc.offset is None else f" @{exc.offset}"
        where = f" at {exc.path}" if exc.path else ""
        return [
            f"{head}; not decoded:",
            f"{INDENT}  ! {exc.code or type(exc).__name__}{at}: {exc.message}{where}",
        ]
    return [head, *tree]
