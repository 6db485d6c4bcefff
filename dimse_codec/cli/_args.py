"""Value types for the subcommands' options, shared so that each is checked and worded once.

A leaf module like ``_types``: it imports nothing from :mod:`dimse_codec.cli`.
"""

from __future__ import annotations

import argparse

__all__ = ["byte_count"]


def byte_count(text: str) -> int:
    """An argparse type: a number of bytes, 0 or more (0 meaning "no limit" where so documented)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of bytes (0 or more): {text!r}")
    return value
