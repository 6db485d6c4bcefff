"""Entry point of ``dimse-codec``: builds the parser from the subcommand modules and runs one.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` (``Namespace -> int``) as a default; adding a subcommand means adding
its module to :data:`SUBCOMMANDS`. Nothing imports this module back: the shared types live in
:mod:`dimse_codec.cli._types`, the shared rendering in :mod:`dimse_codec.cli.render`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dimse_codec import __version__
from dimse_codec.cli import decode as decode_command
from dimse_codec.cli import echo as echo_command
from dimse_codec.cli import fuzz as fuzz_command
from dimse_codec.cli import inspect as inspect_command
from dimse_codec.cli import serve as serve_command
from dimse_codec.cli import store as store_command
from dimse_codec.cli._types import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, Handler

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS: tuple[Callable[[SubParsers], None], ...] = (
    inspect_command.register,
    decode_command.register,
    fuzz_command.register,
    echo_command.register,
    store_command.register,
    serve_command.register,
)
"""The ``register`` function of every subcommand, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """Build the ``dimse-codec`` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="dimse-codec",
        description="Encode, decode and inspect DICOM DIMSE messages (PS3.7).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="subcommands", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dimse-codec`` with ``argv`` (default: the process arguments); return the exit code.

    One of the ``EXIT_*`` codes of :mod:`dimse_codec.cli._types` (the table in ``docs/cli.md``):
    0 done, 1 not decodable / refused / a finding, 2 usage or environment error, 130 Ctrl-C,
    141 stdout closed; the last two end quietly, without a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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
