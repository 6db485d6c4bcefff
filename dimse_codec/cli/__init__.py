"""The ``dimse-codec`` command line: subcommands that look at DIMSE messages from files or stdin."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dimse-codec``; imported on call so ``python -m dimse_codec.cli.main`` runs cleanly."""
    from dimse_codec.cli.main import main as run

    return run(argv)
