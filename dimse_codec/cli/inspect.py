"""``dimse-codec inspect``: show a command set element by element, or a PDU stream PDU by PDU.

The subcommand reads raw bytes or hex text and hands them to the renderers:
:mod:`dimse_codec.cli.render` for one command set, :mod:`dimse_codec.cli.stream` for a stream of
Upper Layer PDUs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.cli import render
from dimse_codec.cli._args import byte_count, count
from dimse_codec.cli._types import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.cli.stream import (
    MAX_EVENTS,
    inspect_stream,
    looks_like_pdus,
    stream_json,
    stream_text,
)
from dimse_codec.diagnostics import diagnostic_json
from dimse_codec.dimse.command_json import element_values
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import looks_like_capture
from dimse_codec.policy import LENIENT, STRICT, Policy

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = [
    "MAX_INPUT",
    "InputError",
    "other_kind",
    "read_input",
    "register",
    "run",
    "to_command_set",
]

_HEX_NOISE = re.compile(rb"(?<![0-9A-Fa-f])0[xX]|[\s:,]")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")
_HEX_PROBE = 64
"""Bytes looked at first: input whose start is not hex text is taken as raw bytes at once."""
MAX_INPUT = 16 << 20
"""Bytes ``inspect`` reads at most by default (``--max-input``): a command set is at most a few
hundred bytes and a PDU stream worth reading element by element a few megabytes; more is a
capture or a file of another kind, refused before it is read whole."""
_PART10_MAGIC = b"DICM"
_PART10_OFFSET = 128


class InputError(ValueError):
    """Input that is not a command set in any accepted form (empty, or broken hex text)."""


# -- input ---------------------------------------------------------------------------------------


def read_input(path: str | None, limit: int | None = None) -> bytes:
    """Read the named file, or stdin for ``None`` or ``-``; let ``OSError`` through.

    With ``limit``, at most ``limit + 1`` bytes are read: one more than allowed says the input
    is too long without reading (or holding) the rest of it.
    """
    size = -1 if limit is None else limit + 1
    if path is None or path == "-":
        stream = sys.stdin
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            data: bytes = buffer.read(size)
            return data
        return stream.read(size).encode("latin-1")
    with Path(path).open("rb") as handle:
        return handle.read(size)


def other_kind(data: bytes) -> str | None:
    """What the input is when it is a file of another kind than ``inspect`` reads, with the
    subcommand or tool that reads it; None when it may be a command set or PDU stream."""
    if looks_like_capture(data[:4]):
        return (
            "a pcap or pcapng capture (or gzip): dimse-codec decode FILE shows its associations "
            "and messages"
        )
    if data[_PART10_OFFSET : _PART10_OFFSET + 4] == _PART10_MAGIC:
        return (
            "a DICOM Part-10 file (a 128-byte preamble, then DICM): a stored data set, not a "
            "command set or PDU stream; dcmdump FILE or pydicom.dcmread shows it"
        )
    return None


def to_command_set(data: bytes) -> bytes:
    """Return the command-set bytes: hex text is decoded, anything else is taken as raw bytes.

    Hex text is ASCII made only of hex digits, whitespace, colons, commas and ``0x`` prefixes;
    a binary command set always starts with NUL bytes, so it is never mistaken for hex.
    """
    if not data:
        raise InputError("empty input")
    head = _HEX_NOISE.sub(b"", data[:_HEX_PROBE])
    if head and not _HEX_DIGITS.fullmatch(head):
        return data  # binary from its first bytes on: no need to scan (or copy) the whole input
    if data.isascii():
        digits = _HEX_NOISE.sub(b"", data)
        if digits and _HEX_DIGITS.fullmatch(digits):
            if len(digits) % 2:
                raise InputError(f"hex text has an odd number of digits ({len(digits)})")
            return bytes.fromhex(digits.decode("ascii"))
        if not digits:
            raise InputError("input holds only whitespace")
    return data


# -- the subcommand ------------------------------------------------------------------------------


def register(subparsers: SubParsers) -> None:
    """Add the ``inspect`` subcommand to the ``dimse-codec`` parser."""
    parser = subparsers.add_parser(
        "inspect",
        **with_examples("inspect"),
        help="show a command set element by element, or a PDU stream PDU by PDU",
        description=(
            "Decode one DIMSE command set and list its elements as they sit on the wire, "
            "followed by the decoder's diagnostics; or decode a stream of Upper Layer PDUs "
            "(A-ASSOCIATE, P-DATA-TF, ...) and show every PDU, item and PDV with its offset "
            "and every reassembled message. The input is raw bytes or hex text "
            "(whitespace, colons and 0x prefixes are ignored)."
        ),
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="command-set file; '-' or nothing reads stdin"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail on the first problem (STRICT policy)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--hexdump", action="store_true", help="show the raw bytes of each element")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--pdu",
        dest="kind",
        action="store_const",
        const="pdu",
        help="read the input as a stream of PDUs (the default when it starts like one)",
    )
    kind.add_argument(
        "--command-set",
        dest="kind",
        action="store_const",
        const="command-set",
        help="read the input as one command set (the default otherwise)",
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="show user identity passwords and tokens instead of their length",
    )
    parser.add_argument(
        "--max-input",
        type=byte_count,
        default=MAX_INPUT,
        metavar="BYTES",
        help=f"refuse input longer than BYTES (default {MAX_INPUT}, 16 MiB; 0: no limit)",
    )
    parser.add_argument(
        "--max-events",
        type=count(unit="events"),
        default=MAX_EVENTS,
        metavar="N",
        help=(
            f"with a PDU stream, show the first N events and only count the rest "
            f"(default {MAX_EVENTS}; 0 shows all)"
        ),
    )
    parser.set_defaults(handler=run, kind=None)


def run(args: argparse.Namespace) -> int:
    """Inspect the input named by ``args``: 0 if decoded, 1 if not decodable, 2 if unreadable,
    empty, too long or a file of another kind (a capture, a Part-10 file)."""
    path: str | None = args.file
    named = "standard input" if path in (None, "-") else path
    if path in (None, "-") and sys.stdin is not None and sys.stdin.isatty():
        print("error: no input: give FILE, or pipe the command set into stdin", file=sys.stderr)
        return EXIT_USAGE
    try:
        data = read_input(path, args.max_input or None)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print(f"error: cannot read {path}: out of memory", file=sys.stderr)
        return EXIT_USAGE
    if not data:
        print(f"error: nothing to inspect: {named} is empty", file=sys.stderr)
        return EXIT_USAGE
    if args.max_input and len(data) > args.max_input:
        print(
            f"error: {named} is longer than --max-input {args.max_input} bytes: inspect shows "
            "one command set or a PDU stream (a capture goes to dimse-codec decode; 0 lifts "
            "the limit)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    kind = other_kind(data) if args.kind is None else None
    if kind is not None:
        print(f"error: {named} is {kind}", file=sys.stderr)
        return EXIT_USAGE
    policy = STRICT if args.strict else LENIENT
    try:
        return _inspect(data, policy, args)
    except (DimseCodecError, InputError) as exc:
        code = getattr(exc, "code", None)
        print(
            f"error: [{code}] {_one_line(exc)}" if code else f"error: {_one_line(exc)}",
            file=sys.stderr,
        )
        if args.json:
            print(json.dumps({"error": _error_json(exc)}, indent=2))
        return EXIT_FAILED
    except MemoryError:
        print(
            f"error: out of memory inspecting {len(data)} bytes",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except BrokenPipeError:
        raise  # main() stops quietly
    except Exception as exc:  # a bug, not bad input: one line, never a traceback
        print(
            f"error: internal error ({type(exc).__name__}): {_one_line(exc)}; please report it",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _inspect(data: bytes, policy: Policy, args: argparse.Namespace) -> int:
    """Decode and print; the output is built whole first, so an error prints nothing of it."""
    raw = to_command_set(data)
    if args.kind == "pdu" or (args.kind is None and looks_like_pdus(raw)):
        stream = inspect_stream(raw, policy, max_events=args.max_events)
        if args.json:
            text = json.dumps(stream_json(stream, show_secrets=args.show_secrets), indent=2)
            sys.stdout.write(text + "\n")
        else:
            sys.stdout.write(stream_text(stream, show_secrets=args.show_secrets))
        return EXIT_OK
    inspection = render.inspect_bytes(raw, policy)
    if args.json:
        sys.stdout.write(
            json.dumps(render.render_json(inspection, hexdump=args.hexdump), indent=2) + "\n"
        )
    else:
        sys.stdout.write(render.render_text(inspection, hexdump=args.hexdump))
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    """An error message on one line (a library message never needs more)."""
    return " ".join(str(exc).split())


def _error_json(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, DimseCodecError):
        return {"message": exc.message, "offset": exc.offset, "path": exc.path, "code": exc.code}
    return {"message": str(exc), "offset": None, "path": "", "code": None}


_MOVED = ("ElementView", "Inspection", "inspect_bytes", "render_json", "render_text")
"""Names that moved to :mod:`dimse_codec.cli.render`; they resolve here for one release."""
__getattr__ = deprecated_aliases(
    __name__,
    {name: (f"dimse_codec.cli.render.{name}", getattr(render, name)) for name in _MOVED}
    | {
        "diagnostic_json": ("dimse_codec.diagnostics.diagnostic_json", diagnostic_json),
        "element_values": ("dimse_codec.dimse.command_json.element_values", element_values),
    },
)
