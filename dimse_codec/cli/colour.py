"""Colour for the text view of ``decode``: ANSI SGR codes on a terminal, none in files or pipes.

``--color auto`` (the default) colours only when standard output is a terminal and the
``NO_COLOR`` environment variable (https://no-color.org) is unset or empty; ``always`` and
``never`` decide regardless. Meanings, not decoration: failures, aborts and rejects are red,
warnings yellow, gaps and problems magenta, and the ``aN fM time`` frame of each line dim.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

__all__ = ["COLOR_CHOICES", "DIM", "MAGENTA", "PLAIN", "RED", "YELLOW", "Paint", "wants_colour"]

COLOR_CHOICES = ("auto", "always", "never")
"""What ``--color`` accepts."""

RED = "31"
YELLOW = "33"
MAGENTA = "35"
DIM = "2"


@dataclass(frozen=True)
class Paint:
    """Wraps text in one SGR style when colour is on, returns it unchanged when off."""

    on: bool = False

    def __call__(self, text: str, style: str | None) -> str:
        """``text`` in ``style`` (one of the constants here), or as it is."""
        if not self.on or style is None or not text:
            return text
        return f"\033[{style}m{text}\033[0m"


PLAIN = Paint(False)
"""No colour."""


def wants_colour(choice: str, stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``--color choice`` colours what is written to ``stream``."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())
