"""``dimse-codec replay CAPTURE``: play one side of a captured DICOM conversation to a live peer.

``--to HOST PORT`` plays the requestor: each captured association's A-ASSOCIATE-RQ as it was,
then each request again (a new Message ID, its data set in the new context's transfer syntax),
then A-RELEASE, and compares the SCP's answers with the captured ones
(:mod:`dimse_codec.replay.compare`): one line per difference, one verdict per association.
C-STORE sub-operations of a C-GET (and N-EVENT-REPORTs) the SCP sends meanwhile are answered
Success and stored nowhere. Exit 0 all the same, 1 differences, 2 usage error, an unreadable
capture or an SCP that cannot be reached.

``--listen PORT`` plays the acceptor: each live association gets the next captured one, is
accepted as it was and each request is answered with the captured answers of the matching
captured request (:mod:`dimse_codec.replay.answers`). It serves until Ctrl-C or SIGTERM, or
``--count`` associations.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dimse_codec.association import Association
from dimse_codec.cli._args import ae_title, count, seconds, tcp_port
from dimse_codec.cli._types import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import epilog
from dimse_codec.errors import DimseCodecError, expect

if TYPE_CHECKING:
    from dimse_codec.capture.records import CapturedMessage
    from dimse_codec.cli._types import SubParsers
    from dimse_codec.dimse.primitives import DIMSEPrimitive
    from dimse_codec.net import BlockingClient
    from dimse_codec.pdu import AAssociateRQ
    from dimse_codec.replay import (
        AcceptorScript,
        AssociationVerdict,
        CapturedAssociation,
        Difference,
        Exchange,
        ReplayedExchange,
    )
    from dimse_codec.services import ServiceRequest
    from dimse_codec.upper_layer import Connection, Event

__all__ = ["register", "run"]


def register(subparsers: SubParsers) -> None:
    """Add the ``replay`` subcommand."""
    from dimse_codec.capture.select import add_selection_arguments

    parser = subparsers.add_parser(
        "replay",
        help="play one side of a captured association to a live peer and compare",
        description=(
            "Play one side of the associations of a capture again.\n\n"
            "--to HOST PORT plays the requestor against an SCP (the captured A-ASSOCIATE-RQ,\n"
            "each request with its data set, A-RELEASE) and compares its answers with the\n"
            "captured ones: negotiation, statuses, Pending responses, sub-operations, data set\n"
            "digests. Exit 0 all the same, 1 differences, 2 usage error or unreachable SCP.\n\n"
            "--listen PORT plays the acceptor: each live association is accepted as the next\n"
            "captured one was and its requests get the captured answers."
        ),
        epilog=epilog("replay"),  # kept line by line, as the paragraphs above
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("capture", metavar="CAPTURE", help="a pcap or pcapng file")
    side = parser.add_mutually_exclusive_group(required=True)
    side.add_argument(
        "--to", nargs=2, metavar=("HOST", "PORT"), help="play the requestor against this SCP"
    )
    side.add_argument(
        "--listen", type=tcp_port(zero_for_any=True), metavar="PORT",
        help="play the acceptor on this port (0: any free port, printed first)",
    )  # fmt: skip
    parser.add_argument(
        "--bind", default="127.0.0.1", metavar="ADDR",
        help="the address --listen binds (default 127.0.0.1)",
    )  # fmt: skip
    parser.add_argument(
        "--count", type=count(1), default=None, metavar="N",
        help="with --listen: stop after N associations (default: serve until stopped)",
    )  # fmt: skip
    parser.add_argument(
        "--port", type=tcp_port(), default=None, dest="dicom_port", metavar="PORT",
        help="decode this TCP port of the capture as DICOM (as decode --port)",
    )  # fmt: skip
    parser.add_argument(
        "--aec", type=ae_title, default=None, metavar="AEC",
        help="with --to: call this AE title instead of the captured one",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=seconds(), default=30.0, metavar="S",
        help="seconds to connect, to associate and to wait for each answer (default 30)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="NDJSON: one object per line")
    add_selection_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Read the capture and play the chosen side; return the exit code."""
    from dimse_codec.capture.select import selection_from_arguments
    from dimse_codec.cli._scripts import read_scripts

    target: tuple[str, int] | None = None
    if args.to is not None:
        try:
            target = (args.to[0], tcp_port()(args.to[1]))
        except argparse.ArgumentTypeError:
            print(f"error: --to: not a TCP port: {args.to[1]!r}", file=sys.stderr)
            return EXIT_USAGE
    scripts = read_scripts(
        args.capture, "error", port=args.dicom_port, selection=selection_from_arguments(args)
    )
    if scripts is None:
        return EXIT_USAGE
    if not scripts:
        print(f"error: {args.capture}: no DICOM association to replay", file=sys.stderr)
        return EXIT_USAGE
    if target is not None:
        return _play_requestor(args, scripts, target)
    return _play_acceptor(args, scripts)


# -- --to: the requestor -------------------------------------------------------------------------


class _Say:
    """Text or NDJSON lines on stdout, flushed as they come."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def __call__(self, text: str, obj: dict[str, Any]) -> None:
        print(json.dumps(obj) if self.as_json else text, flush=True)


def _play_requestor(
    args: argparse.Namespace, scripts: list[CapturedAssociation], target: tuple[str, int]
) -> int:
    from dimse_codec.cli._net import failure_text

    say = _Say(args.json)
    verdicts: list[AssociationVerdict] = []
    for script in scripts:
        try:
            verdict = _replay_association(args, script, target, say)
        except OSError as exc:
            print(f"error: {target[0]}:{target[1]}: {failure_text(exc)}", file=sys.stderr)
            return EXIT_USAGE
        verdicts.append(verdict)
        say(verdict.text, verdict.as_json())
    counts = {kind: sum(v.verdict == kind for v in verdicts) for kind in ("same", "different")}
    skipped = sum(v.verdict == "skipped" for v in verdicts)
    say(
        f"replayed {len(verdicts) - skipped} association(s) against {target[0]}:{target[1]}: "
        f"{counts['same']} same, {counts['different']} different, {skipped} skipped",
        {"type": "summary", **counts, "skipped": skipped},
    )
    return EXIT_FAILED if counts["different"] else EXIT_OK


def _replay_association(
    args: argparse.Namespace,
    script: CapturedAssociation,
    target: tuple[str, int],
    say: _Say,
) -> AssociationVerdict:
    """Play one captured association's requestor side; its verdict (differences said as found)."""
    from dimse_codec.net import AssociationAborted, AssociationRejectedError
    from dimse_codec.replay import AssociationVerdict, compare_exchange, compare_negotiation

    request = script.request
    if request is None:
        return AssociationVerdict(script.index, 0, (), "the capture lacks its A-ASSOCIATE-RQ")
    differences: list[Difference] = []

    def found(new: list[Difference]) -> None:
        for difference in new:
            say(difference.text, difference.as_json())
        differences.extend(new)

    sub_operations = [0]
    client = _requestor(args, request, target, sub_operations)
    try:
        client.connect()
    except AssociationRejectedError as exc:
        found(compare_negotiation(script, exc.rejected))
        return AssociationVerdict(script.index, 0, tuple(differences))
    except AssociationAborted as exc:
        found([_association_difference(script, f"aborted ({exc.message})")])
        return AssociationVerdict(script.index, 0, tuple(differences))
    found(compare_negotiation(script, client.association))
    compared = 0
    ended: str | None = None
    try:
        for number, exchange in enumerate(script.exchanges, start=1):
            if not exchange.complete:
                continue  # bytes of it were lost: it cannot be sent as it was
            replayed = _send_again(client, exchange, sub_operations, ended)
            ended = ended or replayed.ended
            compared += 1
            found(compare_exchange(script.index, number, exchange, replayed))
    finally:
        if ended is None:
            with contextlib.suppress(OSError, DimseCodecError):
                client.release()
        else:
            client.abort()
    return AssociationVerdict(script.index, compared, tuple(differences))


def _association_difference(script: CapturedAssociation, now: str) -> Difference:
    from dimse_codec.replay import Difference

    return Difference(script.index, "association", script.record.state, now)


def _requestor(
    args: argparse.Namespace,
    request: AAssociateRQ,
    target: tuple[str, int],
    sub_operations: list[int],
) -> BlockingClient:
    """A blocking client that opens with the captured A-ASSOCIATE-RQ (or with ``--aec``)."""
    from dataclasses import replace

    from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH
    from dimse_codec.cli._net import client_timeouts
    from dimse_codec.net import BlockingClient

    if args.aec is not None:
        request = replace(
            request, called_ae_title=args.aec, called_ae_title_raw=None, pdu_length=None
        )
    info = request.user_information
    maximum = DEFAULT_MAX_PDU_LENGTH if info is None else info.maximum_length
    proposal = request

    def store(_: ServiceRequest) -> int:
        sub_operations[0] += 1
        return 0x0000  # accepted and stored nowhere: the C-GET goes on

    class Requestor(BlockingClient):
        def _open(self, now: float) -> list[Event]:
            self.connection.request_association(request=proposal, now=now)
            return self.connection.transport_connected(now=now)

    return Requestor(
        target[0],
        target[1],
        calling_ae_title=request.calling_ae_title,
        called_ae_title=request.called_ae_title,
        handlers={"C-STORE": store, "N-EVENT-REPORT": lambda _: 0x0000},
        timeouts=client_timeouts(args.timeout),
        max_pdu_length=DEFAULT_MAX_PDU_LENGTH if maximum is None else maximum,
        connect_timeout=args.timeout,
    )


def _send_again(
    client: BlockingClient, exchange: Exchange, sub_operations: list[int], ended: str | None
) -> ReplayedExchange:
    """Send one captured request on the live association and collect what answers it."""
    from dimse_codec.net import AssociationAborted
    from dimse_codec.replay import ReplayedExchange, ReplayedResponse, fresh_request

    replayed = ReplayedExchange()
    if ended is not None:
        replayed.not_sent = f"not sent (the association ended: {ended})"
        return replayed
    message = exchange.request
    context_id = message.context_id
    context = client.association.accepted_contexts.get(context_id)
    if context is None:
        replayed.not_sent = f"not sent (context {context_id} was not accepted)"
        return replayed
    primitive, data = fresh_request(message, context.transfer_syntax)
    before = sub_operations[0]
    pending = 0
    cancelled = exchange.cancel is None
    try:
        for response in client.request(primitive, data, context_id=context_id):
            replayed.responses.append(ReplayedResponse.of(response.primitive, response.raw))
            pending += response.pending
            if not cancelled and response.pending and pending >= exchange.pending_before_cancel:
                cancelled = True  # where the captured requestor cancelled, if still outstanding
                if response.message_id in client.connection.outstanding:
                    client.cancel(response.message_id)
    except AssociationAborted as exc:
        replayed.ended = exc.message
    except DimseCodecError as exc:  # the captured request cannot go on this association
        if replayed.responses:
            replayed.ended = exc.message
        else:
            replayed.not_sent = f"not sent ({exc.message})"
    replayed.sub_requests = sub_operations[0] - before
    return replayed


# -- --listen: the acceptor ----------------------------------------------------------------------


@dataclass
class _Played:
    """What one live association got."""

    peer: str
    captured: int
    answered: int = 0
    unmatched: int = 0
    ended: str = "closed"

    @property
    def text(self) -> str:
        return (
            f"association from {self.peer}: played captured association {self.captured}: "
            f"{self.answered} request(s) answered as captured, {self.unmatched} without a "
            f"captured answer; {self.ended}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "association",
            "peer": self.peer,
            "captured_association": self.captured,
            "answered": self.answered,
            "unmatched": self.unmatched,
            "ended": self.ended,
        }


def _play_acceptor(args: argparse.Namespace, scripts: list[CapturedAssociation]) -> int:
    from dimse_codec.replay import CapturedAcceptor

    acceptor = CapturedAcceptor(scripts)
    if not acceptor.playable:
        print(f"error: {args.capture}: no captured association has its answer", file=sys.stderr)
        return EXIT_USAGE
    say = _Say(args.json)
    try:
        listener = socket.create_server((args.bind, args.listen))
    except OSError as exc:
        print(
            f"error: cannot listen on {args.bind}:{args.listen}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with listener, _stop_on_sigterm():
        bound = listener.getsockname()[1]
        say(
            f"listening on {args.bind}:{bound}, playing {len(acceptor.associations)} captured "
            "association(s)",
            {"type": "listening", "address": args.bind, "port": bound},
        )
        served = 0
        while args.count is None or served < args.count:
            connection, address = listener.accept()
            with connection:
                played = _serve(connection, f"{address[0]}:{address[1]}", acceptor.next_script(),
                                args.timeout)  # fmt: skip
            served += 1
            say(played.text, played.as_json())
    return EXIT_OK


class _Stopped(Exception):
    """SIGTERM arrived: the listener stops (exit 0, as ``serve`` does)."""


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the listener cleanly, between two reads."""

    def stop(signum: int, frame: object) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(sock: socket.socket, peer: str, script: AcceptorScript, timeout: float) -> _Played:
    """Play one captured association's acceptor side on one live transport connection."""
    from dimse_codec.net._common import read_turn, send_buffers
    from dimse_codec.upper_layer import Connection, Timeouts

    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    played = _Played(peer, script.association.index)
    connection = Connection(
        "acceptor",
        decide=script.decide,
        timeouts=Timeouts(artim=timeout, acse=timeout, dimse=timeout, network=timeout),
    )
    player = _AnswerQueue(connection, script, played)
    player.take(connection.transport_connected(now=time.monotonic()))
    while not player.closed:
        player.pump()
        buffers = connection.buffers_to_send()
        if buffers:
            try:
                send_buffers(sock, buffers)
            except OSError:
                player.take(connection.transport_closed(now=time.monotonic()))
                continue
        if player.closed:
            break
        deadline = connection.next_deadline()
        wait = None if deadline is None else deadline - time.monotonic()
        player.take(read_turn(sock, connection, wait))
    return played


class _AnswerQueue:
    """The captured answers waiting to be sent on a live association, in order.

    A captured request of the acceptor (a C-GET's C-STORE sub-operation) is sent and then waited
    for: what follows it goes once the live SCU has answered it, as in the capture.
    """

    def __init__(self, connection: Connection, script: AcceptorScript, played: _Played) -> None:
        self.connection = connection
        self.script = script
        self.played = played
        self.queue: deque[tuple[CapturedMessage, DIMSEPrimitive, int]] = deque()
        self.waiting: int | None = None
        self.closed = False

    def take(self, events: list[Event]) -> None:
        """Act on what the connection reported."""
        from dimse_codec.dimse.primitives import C_CANCEL
        from dimse_codec.upper_layer import (
            Aborted,
            ConnectionClosed,
            MessageReceived,
            ReleaseRequested,
        )

        for event in events:
            if isinstance(event, MessageReceived):
                primitive = event.primitive
                spec = primitive.message_spec
                if isinstance(primitive, C_CANCEL):
                    self._cancel(primitive.values().get("MessageIDBeingRespondedTo"))
                elif spec is not None and spec.is_request:
                    self._request(primitive, event.context_id)
                elif primitive.values().get("MessageIDBeingRespondedTo") == self.waiting:
                    self.waiting = None
            elif isinstance(event, ReleaseRequested) and self.connection.state in (
                "Sta8",
                "Sta9",
                "Sta12",
            ):
                self.played.ended = "released"
                self.connection.release_response()
            elif isinstance(event, Aborted):
                self.played.ended = f"aborted: {event.description}"
            elif isinstance(event, ConnectionClosed):
                self.closed = True

    def _request(self, primitive: DIMSEPrimitive, context_id: int) -> None:
        from dimse_codec.dimse.responses import no_handler_response

        exchange = self.script.exchange_for(primitive)
        if exchange is None:
            self.played.unmatched += 1
            self._send(no_handler_response(primitive), context_id, None)
            return
        self.played.answered += 1
        self.queue.extend((answer, primitive, context_id) for answer in exchange.answers)

    def _cancel(self, message_id: object) -> None:
        """A live C-CANCEL: the Pending answers of that request left are dropped, the final goes."""
        kept: deque[tuple[CapturedMessage, DIMSEPrimitive, int]] = deque()
        for item in self.queue:
            answer, request, _ = item
            is_final = answer.status is not None and answer.status not in (0xFF00, 0xFF01)
            if request.values().get("MessageID") != message_id or is_final:
                kept.append(item)
        self.queue = kept

    def pump(self) -> None:
        """Send the next captured answers, up to one the live SCU must answer first."""
        from dimse_codec.replay import answer_message

        while self.queue and self.waiting is None and self.connection.state == "Sta6":
            captured, request, context_id = self.queue.popleft()
            association = expect(self.connection.association, Association, "Sta6")
            spec = captured.primitive.message_spec
            if spec is not None and spec.is_request:
                sop_class = str(captured.abstract_syntax or "")
                sub_context = association.context_id_for(
                    sop_class, captured.transfer_syntax
                ) or association.context_id_for(sop_class)
                if sub_context is None:
                    continue  # the live SCU did not offer that storage class for C-GET
                syntax = association.accepted_contexts[sub_context].transfer_syntax
                primitive, data = answer_message(captured, request, syntax)
                self.waiting = self._send(primitive, sub_context, data)
                continue
            syntax = association.accepted_contexts[context_id].transfer_syntax
            primitive, data = answer_message(captured, request, syntax)
            self._send(primitive, context_id, data)

    def _send(self, primitive: DIMSEPrimitive, context_id: int | None, data: object) -> int | None:
        try:
            return self.connection.send_message(primitive, context_id, dataset=data)
        except DimseCodecError as exc:  # a captured answer this association cannot carry
            print(f"warning: {self.played.peer}: answer not sent: {exc.message}", file=sys.stderr)
            return None
