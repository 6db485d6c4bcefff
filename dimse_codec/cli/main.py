"""Entry point of ``dimse-codec``: builds the parser from the subcommand modules and runs one.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` (``Namespace -> int``) as a default; adding a subcommand means adding
its module to :data:`SUBCOMMANDS`. Only the module of the subcommand being run is imported (all
of them for ``--help`` or a name that is not one), so ``dimse-codec echo`` never loads the capture
decoder and ``--version`` loads nothing. Nothing imports this module back: the shared types live
in :mod:`dimse_codec.cli._types`, the shared rendering in :mod:`dimse_codec.cli.render`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from dimse_codec._version import VERSION
from dimse_codec.cli._types import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
)
from dimse_codec.cli.examples import HelpWithExamples, overview

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS: tuple[str, ...] = (
    "inspect",
    "decode",
    "report",
    "fuzz",
    "probe",
    "replay",
    "echo",
    "store",
    "serve",
)
"""The subcommands, each the name of its module in :mod:`dimse_codec.cli`, in ``--help`` order."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the ``dimse-codec`` parser with every subcommand registered, or just ``only``."""
    return _parsers(only)[0]


def _parsers(
    only: str | None,
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``dimse-codec`` parser and each registered subcommand's own, by name (a usage error
    in a subcommand's options is told with that subcommand's usage)."""
    parser = argparse.ArgumentParser(
        prog="dimse-codec",
        description=(
            "DICOM networking from the command line: inspect DIMSE command sets and PDU streams "
            "(PS3.7, PS3.8), decode captured DICOM traffic and report on it, send C-ECHO and "
            "C-STORE, serve as a storage SCP, and fuzz or probe an SCP."
        ),
        formatter_class=HelpWithExamples,
        epilog=overview(),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    subparsers = parser.add_subparsers(title="subcommands", metavar="COMMAND")
    for name in SUBCOMMANDS if only is None else (only,):
        importlib.import_module(f"dimse_codec.cli.{name}").register(subparsers)
    return parser, dict(subparsers.choices)


def _subcommand(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, when its first word is one and no help is asked before it."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dimse-codec`` with ``argv`` (default: the process arguments); return the exit code.

    One of the ``EXIT_*`` codes of :mod:`dimse_codec.cli._types` (the table in ``docs/cli.md``):
    0 done, 1 not decodable / refused / a finding, 2 usage or environment error, 130 Ctrl-C,
    141 stdout closed; the last two end quietly, without a traceback.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    if words == ["--version"]:  # no subcommand needed to answer it
        print(f"dimse-codec {VERSION}")
        return EXIT_OK
    name = _subcommand(words)
    parser, subcommands = _parsers(name)
    try:
        args, unknown = parser.parse_known_args(words)
        if unknown:  # said with the usage of the subcommand they were given to
            subcommands.get(name or "", parser).error(
                f"unrecognized arguments: {' '.join(unknown)}"
            )
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_usage(sys.stderr)
        print("dimse-codec: error: a subcommand is required", file=sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        print("\ndimse-codec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor behind stdout (tests, embedding)
        pass


if __name__ == "__main__":
    sys.exit(main())
