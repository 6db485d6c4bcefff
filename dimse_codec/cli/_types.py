"""What every ``dimse-codec`` subcommand module shares: the subparsers type and the exit codes.

A leaf module: it imports nothing from :mod:`dimse_codec.cli`, so the subcommands and
:mod:`dimse_codec.cli.main` can all import it without forming a cycle.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Handler", "SubParsers"]

if TYPE_CHECKING:
    SubParsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    """What ``add_subparsers()`` returns, which each subcommand's ``register`` receives."""

Handler = Callable[[argparse.Namespace], int]
"""A subcommand's ``run``: takes the parsed arguments, returns the exit code."""

EXIT_OK = 0
"""Done (for ``fuzz``: no finding)."""
EXIT_FAILED = 1
"""The input could not be decoded, strict mode refused it, or ``fuzz`` found something."""
EXIT_USAGE = 2
"""A usage error, an unreadable input, or an environment that cannot run the subcommand."""
