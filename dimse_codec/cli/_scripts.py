"""Reading a capture as the scripts of :mod:`dimse_codec.replay`, for ``dimse-codec replay``
and ``dimse-codec fuzz --seed-capture``: one place for the one-line error of an unreadable file.

A leaf of :mod:`dimse_codec.cli` like :mod:`dimse_codec.cli._types`: it imports no subcommand.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from dimse_codec.errors import DimseCodecError

if TYPE_CHECKING:
    from dimse_codec.capture.select import Selection
    from dimse_codec.replay import CapturedAssociation

__all__ = ["read_scripts"]


def read_scripts(
    capture: str, prefix: str, *, port: int | None = None, selection: Selection | None = None
) -> list[CapturedAssociation] | None:
    """A capture's association scripts (:mod:`dimse_codec.replay`), or None when it cannot be
    read: then said in one line on stderr, after ``prefix`` (``fuzz --seed-capture`` reads its
    capture here too)."""
    from dimse_codec.capture import decode_capture
    from dimse_codec.replay import captured_associations

    try:
        return captured_associations(decode_capture(capture, port=port), selection)
    except (OSError, DimseCodecError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{prefix}: cannot read {capture}: {why}", file=sys.stderr)
        return None
