"""What the network subcommands (``echo``, ``store``, ``serve``) share: their common options
and the one-line message for an association that could not be made.

A leaf of :mod:`dimse_codec.cli` like :mod:`dimse_codec.cli._types`: nothing here imports a
subcommand module.
"""

from __future__ import annotations

import argparse
import socket

from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH
from dimse_codec.cli._args import ae_title, max_pdu, seconds, tcp_port
from dimse_codec.net import AssociationAborted, AssociationRejectedError
from dimse_codec.upper_layer import Timeouts

__all__ = [
    "DEFAULT_AET",
    "add_client_arguments",
    "add_max_pdu",
    "client_timeouts",
    "failure_text",
]

DEFAULT_AET = "DIMSE-CODEC"
"""Our AE title unless ``--aet`` says otherwise."""
DEFAULT_AEC = "ANY-SCP"
"""The called AE title unless ``--aec`` says otherwise (DCMTK's default too)."""


def add_max_pdu(parser: argparse.ArgumentParser) -> None:
    """``--max-pdu N``: the largest PDU we receive (our A-ASSOCIATE Maximum Length)."""
    parser.add_argument(
        "--max-pdu",
        type=max_pdu,
        default=DEFAULT_MAX_PDU_LENGTH,
        metavar="N",
        help=f"the largest PDU we receive, in bytes (default {DEFAULT_MAX_PDU_LENGTH})",
    )


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """``HOST PORT --aet --aec --timeout``, as DCMTK's ``echoscu`` and ``storescu`` take them."""
    parser.add_argument("host", metavar="HOST", help="the SCP's host name or address")
    parser.add_argument("port", metavar="PORT", type=tcp_port(), help="the SCP's TCP port")
    parser.add_argument(
        "--aet",
        type=ae_title,
        default=DEFAULT_AET,
        metavar="AET",
        help=f"our (calling) AE title (default {DEFAULT_AET})",
    )
    parser.add_argument(
        "--aec",
        type=ae_title,
        default=DEFAULT_AEC,
        metavar="AEC",
        help=f"the SCP's (called) AE title (default {DEFAULT_AEC})",
    )
    parser.add_argument(
        "--timeout",
        type=seconds(),
        default=30.0,
        metavar="S",
        help="seconds to connect, to associate and to wait for each response (default 30)",
    )
    add_max_pdu(parser)


def client_timeouts(seconds: float) -> Timeouts:
    """A client's timers from ``--timeout``: the association, the release and each response."""
    return Timeouts(artim=seconds, acse=seconds, dimse=seconds, network=None)


def failure_text(exc: BaseException) -> str | None:
    """The one-line reason an association could not be made or ended early, or ``None`` when
    ``exc`` is not such a failure (a bug, which the caller lets through)."""
    if isinstance(exc, AssociationRejectedError):
        return f"association rejected: {exc.rejected.description}"
    if isinstance(exc, AssociationAborted):
        return f"association aborted: {exc.message}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host: {exc.strerror or exc}"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return f"cannot connect: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
    if isinstance(exc, OSError):
        return f"network error: {exc.strerror or exc}"
    return None
