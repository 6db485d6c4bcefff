"""Value types for the subcommands' options, shared so that each is checked and worded once.

Every type refuses a bad value with :class:`argparse.ArgumentTypeError` and words of its own
(never a ``ValueError``, which argparse would show as "invalid <function name> value"): a
whole number of at least some minimum (:func:`count`), a TCP port (:func:`tcp_port`), a number
of seconds (:func:`seconds`), an AE title and a maximum PDU length. :func:`count`,
:func:`tcp_port` and :func:`seconds` are parametrised and return the type to give argparse.

A leaf module like ``_types``: it imports nothing from :mod:`dimse_codec.cli`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from dimse_codec.tables.vrs import is_valid_ae

__all__ = ["ae_title", "byte_count", "count", "max_pdu", "seconds", "tcp_port"]

_MAX_PORT = 0xFFFF
_MAX_PDU = 0xFFFFFFFF
_MIN_PDU = 4096


def _whole(text: str, expected: str) -> int:
    """``text`` as an int, or the refusal that says what was ``expected``."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def count(minimum: int = 0, *, unit: str | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (0 or 1).

    With ``unit`` a refusal names what is counted (``not a number of bytes (0 or more): 'x'``);
    without, it says what was expected (``expected 0 or more, got -5``).
    """
    least = "0 or more" if minimum == 0 else f"at least {minimum}"
    wanted = "a whole number, 0 or more" if minimum == 0 else f"a whole number of {least}"

    def refusal(text: str, value: int | None) -> str:
        if unit is not None:
            return f"not a number of {unit} ({minimum} or more): {text!r}"
        return (
            f"expected {wanted}, got {text!r}"
            if value is None
            else f"expected {least}, got {value}"
        )

    def counted(text: str) -> int:
        try:
            value: int | None = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(refusal(text, value))
        return value

    return counted


byte_count = count(unit="bytes")
"""A number of bytes, 0 or more (0 meaning "no limit" where so documented)."""


def tcp_port(*, zero_for_any: bool = False) -> Callable[[str], int]:
    """An argparse type: a TCP port, 1-65535; with ``zero_for_any`` 0 too (listen on any)."""
    lowest = 0 if zero_for_any else 1
    span = "0-65535 (0: any)" if zero_for_any else "1-65535"

    def port(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if not lowest <= value <= _MAX_PORT:
            raise argparse.ArgumentTypeError(f"expected a TCP port {span}, got {text!r}")
        return value

    return port


def seconds(*, zero: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds over 0; with ``zero`` 0 too (``never``)."""
    refusal = "not a number of seconds, 0 or more" if zero else "not a number of seconds over 0"

    def timed(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"{refusal}: {text!r}")
        return value

    return timed


def ae_title(text: str) -> str:
    """An argparse type: an AE title PS3.5 allows (1-16 characters, no backslash or control)."""
    if not is_valid_ae(text):
        raise argparse.ArgumentTypeError(f"not a valid AE title (1-16 characters): {text!r}")
    return text.strip(" ")


def max_pdu(text: str) -> int:
    """An argparse type: a maximum PDU length, 0 (unlimited) or 4096 to 2**32 - 1 bytes."""
    value = _whole(text, "0 or 4096..4294967295")
    if value != 0 and not _MIN_PDU <= value <= _MAX_PDU:
        raise argparse.ArgumentTypeError(f"expected 0 or 4096..4294967295, got {value}")
    return value
