"""A deliberately fragile DICOM SCP, to prove that ``dimse-codec fuzz`` detects a crash.

Built from dimse-codec itself: ``StreamDecoder`` reads the requestor, ``association.respond``
answers the A-ASSOCIATE-RQ (Verification only), ``build_response`` and ``encode_pdata`` answer
C-ECHO. It serves one association at a time on 127.0.0.1 and handles protocol errors politely
(A-ABORT), except for one planted bug: it reads every P-DATA-TF payload as 16-bit words, and a
PDV of odd length makes that raise a ``ValueError`` nothing catches, so the process dies (exit
status 1) and stops accepting connections. Valid traffic never has odd PDVs (command and data
sets are even, and so are the fragments of any sane requestor), so C-ECHO works.

It is wired by hand on purpose (``docs/examples/asyncio_scp.py`` uses ``dimse_codec.net.Server``,
which would catch the planted error). Run it on any free port; it prints the port on its first
stdout line, like that example::

    python tests/fragile_scp.py 0
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
from collections.abc import Sequence

from dimse_codec import C_ECHO, DimseCodecError
from dimse_codec.association import Accepted, Association, respond
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdata import (
    Event,
    MessageReceived,
    PDataReceived,
    PDUReceived,
    StreamDecoder,
    encode_pdata,
)
from dimse_codec.pdu import (
    AAbort,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    encode_pdu,
)

VERIFICATION = "1.2.840.10008.1.1"
SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]
MAX_PDU = 16384
IDLE_TIMEOUT = 10.0
"""Seconds a silent requestor may hold the (only) connection before it is dropped."""


def word_count(length: int) -> int:
    """The fragment's size in 16-bit words. THE BUG: an odd length raises, and nobody catches it."""
    if length % 2:
        raise ValueError(f"PDV fragment of odd length {length}: cannot read it as 16-bit words")
    return length // 2


def _abort(conn: socket.socket, reason: AbortReason) -> None:
    """Send an A-ABORT from the service provider, ignoring a connection already gone."""
    with contextlib.suppress(OSError):
        conn.sendall(encode_pdu(AAbort(AbortSource.SERVICE_PROVIDER, reason)))


def serve(conn: socket.socket) -> None:
    """Serve one association until release, abort, a protocol error or the idle timeout."""
    connection = _Connection(conn)
    conn.settimeout(IDLE_TIMEOUT)
    while connection.open:
        try:
            data = conn.recv(1 << 16)
        except OSError:
            return
        if not data:
            return
        try:
            for event in connection.decoder.feed(data):
                connection.handle(event)
                if not connection.open:
                    return
        except DimseCodecError:  # handled politely: only the planted bug kills the process
            _abort(conn, AbortReason.INVALID_PDU_PARAMETER_VALUE)
            return


class _Connection:
    """One requestor: its decoder, its association (once accepted), whether it is still open."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.decoder = StreamDecoder(max_pdu_length=MAX_PDU, report_pdata=True)
        self.association: Association | None = None
        self.open = True

    def _end(self, abort: AbortReason | None = None) -> None:
        if abort is not None:
            _abort(self.conn, abort)
        self.open = False

    def handle(self, event: Event) -> None:
        """Act on one decoder event (a PDU, a P-DATA-TF's PDVs, or a whole message)."""
        if isinstance(event, PDataReceived):
            for fragment in event.fragments:
                word_count(fragment.length)  # may raise: the process dies here
        elif isinstance(event, PDUReceived):
            pdu = event.pdu
            if isinstance(pdu, AAssociateRQ) and self.association is None:
                result = respond(pdu, {VERIFICATION: SYNTAXES}, max_pdu_length=MAX_PDU)
                self.conn.sendall(encode_pdu(result.pdu))
                if isinstance(result, Accepted):
                    self.association = result.association
                else:
                    self._end()
            elif isinstance(pdu, AReleaseRQ) and self.association is not None:
                self.conn.sendall(encode_pdu(AReleaseRP()))
                self._end()
            elif isinstance(pdu, AAbort):
                self._end()
            else:
                self._end(AbortReason.UNEXPECTED_PDU)
        elif isinstance(event, MessageReceived):
            self._echo(event)

    def _echo(self, message: MessageReceived) -> None:
        """Answer a C-ECHO-RQ on an accepted context with Success; abort on anything else."""
        request = message.primitive
        association = self.association
        if (
            association is None
            or message.context_id not in association.accepted_contexts
            or not isinstance(request, C_ECHO)
            or request.MessageID is None
        ):
            self._end(AbortReason.UNEXPECTED_PDU_PARAMETER)
            return
        response = build_response(request, 0x0000)
        plan = encode_pdata(
            response, message.context_id, max_pdu_length=association.peer_max_pdu_length
        )
        for buffers in plan:
            self.conn.sendall(b"".join(bytes(b) for b in buffers))


def main(argv: Sequence[str] | None = None) -> int:
    """Listen on 127.0.0.1, print the port, serve associations one by one until killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", args.port))
        listener.listen(16)
        print(listener.getsockname()[1], flush=True)
        while True:
            conn, _ = listener.accept()
            with conn, contextlib.suppress(OSError):  # a requestor gone mid-answer: next one
                serve(conn)
    return 0  # pragma: no cover - only a signal (or the bug) ends the loop


if __name__ == "__main__":
    sys.exit(main())
