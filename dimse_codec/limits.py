"""Limits on what decoding may create: bounds in objects and bytes that a real peer or capture
never meets and a hostile input always does.

A declared length never allocates before its bytes exist, but bytes can still decode into far
more than themselves: a deflated data set of a few kilobytes may hold millions of empty sequence
items, a short element a million values, a stream of zeros a million diagnostics. Every decoder
takes its :class:`Limits` from the :class:`~dimse_codec.policy.Policy` it is given, so one
explicit value, passed like the policy, bounds the work and the memory of a whole decode.
Exceeding a limit is a :class:`~dimse_codec.errors.LimitExceeded` (strict), or a
``LIMIT_EXCEEDED`` diagnostic with the rest of the message kept as bytes (lenient): a data set
keeps the elements before the top-level element in which the limit was met, and the diagnostic's
offset is where the undecoded tail starts. ``docs/limits.md`` gives each default, what it
protects against and what it costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from dimse_codec.errors import InvalidParameter

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one decode may create. Every field is a count or a size in bytes; raise
    one with :func:`dataclasses.replace` (``replace(DEFAULT_LIMITS, max_items=10**7)``)."""

    max_elements: int = 1 << 20
    """Data elements in one data set, counted at every nesting level."""
    max_items: int = 1 << 18
    """Sequence items in one data set, over all its sequences."""
    max_values: int = 1 << 16
    """Values in one multi-valued element (VM), e.g. a DS or an AT list."""
    max_decoded_size: int = 1 << 30
    """Bytes of element values one data set may decode into."""
    max_depth: int = 64
    """Nesting of sequences within sequences."""
    max_inflated_size: int = 1 << 30
    """Bytes a deflated data set may inflate to (a deflate bomb meets it, never out-of-memory)."""
    max_command_set_length: int = 1 << 16
    """Bytes of one command set (PS3.7 6.3: a few hundred in practice)."""
    max_diagnostics: int = 1000
    """Diagnostics kept for one message; past it one more says how many were left out."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameter(f"Limits.{name} must be a positive int, not {value!r}")


DEFAULT_LIMITS = Limits()
"""The limits every decoder uses unless its policy carries others."""
