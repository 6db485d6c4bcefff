"""What every ``dimse-codec`` subcommand module shares: the subparsers type and the exit codes.

The exit codes are the CLI's whole vocabulary: every subcommand and
:func:`dimse_codec.cli.main.main` return one of them, and ``docs/cli.md`` ("Exit codes") lists
them in one table that a test keeps equal to these constants.

A leaf module: it imports nothing from :mod:`dimse_codec.cli`, so the subcommands and
:mod:`dimse_codec.cli.main` can all import it without forming a cycle.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Handler",
    "SubParsers",
]

if TYPE_CHECKING:
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    """What ``add_subparsers()`` returns, which each subcommand's ``register`` receives."""

Handler = Callable[[argparse.Namespace], int]
"""A subcommand's ``run``: takes the parsed arguments, returns the exit code."""

EXIT_OK = 0
"""Done: the input was read and shown (problems tolerated in lenient mode are in the output);
for ``fuzz``: no finding."""
EXIT_FAILED = 1
"""The input could not be decoded, ``--strict`` refused it, or ``fuzz`` found something."""
EXIT_USAGE = 2
"""A usage error, an unreadable input, or an environment that cannot run the subcommand."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (SIGINT): 128 + 2, what a shell reports for a program the signal ended."""
EXIT_BROKEN_PIPE = 141
"""The reader of stdout went away (``| head``): 128 + 13, what a shell reports for a program
that SIGPIPE ended, so ``set -o pipefail`` treats ``dimse-codec`` as it treats ``cat``."""
