"""``dimse-codec echo HOST PORT``: one C-ECHO (Verification, PS3.4 A.4), as DCMTK's ``echoscu``.

Prints the status with its meaning (PS3.7 Annex C). Exit status: 0 when the SCP answered
Success, 1 when it answered another status, 2 when no association could be made (refused,
rejected, aborted, nothing listening) or for a usage error (``docs/cli.md``, "Exit codes").
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from dimse_codec.cli._net import add_client_arguments, client_timeouts, failure_text
from dimse_codec.cli._types import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.dimse.status import describe
from dimse_codec.net import BlockingClient
from dimse_codec.tables.status import VERIFICATION

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = ["register", "run"]


def register(subparsers: SubParsers) -> None:
    """Add the ``echo`` subcommand."""
    parser = subparsers.add_parser(
        "echo",
        **with_examples("echo"),
        help="send a C-ECHO (Verification) to an SCP",
        description="Associate with an SCP, send one C-ECHO and print its status (as "
        "DCMTK's echoscu). Exit 0 on Success, 1 on another status, 2 when no association "
        "could be made.",
    )
    add_client_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Echo once; return the exit code."""
    try:
        with BlockingClient(
            args.host,
            args.port,
            calling_ae_title=args.aet,
            called_ae_title=args.aec,
            timeouts=client_timeouts(args.timeout),
            max_pdu_length=args.max_pdu,
            connect_timeout=args.timeout,
        ) as client:
            response = client.echo()
    except Exception as exc:
        why = failure_text(exc)
        if why is None:
            raise
        print(f"error: {args.host}:{args.port}: {why}", file=sys.stderr)
        return EXIT_USAGE
    print(f"C-ECHO {args.aec}@{args.host}:{args.port}: {describe(response.status, VERIFICATION)}")
    return EXIT_OK if response.status == 0x0000 else EXIT_FAILED
