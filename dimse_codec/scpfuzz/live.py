"""The thin socket layer of the live fuzzer, and :func:`fuzz`, which runs a whole campaign.

Everything here is I/O with a deadline: :func:`negotiate` finds out what the SCP accepts (the
:class:`~dimse_codec.scpfuzz.cases.Target` every case is generated for), :func:`run_case` sends a
case step by step and reads each answer with a lenient
:class:`~dimse_codec.pdata.StreamDecoder`, and :func:`check_liveness` opens a new association
and sends a C-ECHO to see whether the SCP survived. :class:`LiveRunner` chains the three with
the oracle and :func:`~dimse_codec.scpfuzz.findings.classify`; :func:`fuzz` adds the loopback
check, the Hypothesis campaign and the reproducers. Every read and connect has a timeout,
every loop a deadline or a fixed number of attempts, and every socket is closed on the way out.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import json
import platform
import random
import select
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    Aborted,
    Accepted,
    Rejected,
    read_response,
)
from dimse_codec.diagnostics import DiagnosticCode
from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.dimse.status import StatusCategory, category
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import (
    Event,
    IncompleteMessage,
    MessageReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
)
from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    encode_pdu,
)
from dimse_codec.scpfuzz.cases import (
    Case,
    Expect,
    Step,
    Target,
    cases,
    message_name,
    probe_steps,
    proposal,
)
from dimse_codec.scpfuzz.destination import MoveDestination, checked_moves
from dimse_codec.scpfuzz.engine import CampaignSettings, Report, run_campaign
from dimse_codec.scpfuzz.findings import (
    Answer,
    AnswerKind,
    CaseVerdict,
    Classification,
    Finding,
    Health,
    Liveness,
    Observation,
    StepRecord,
    classify,
    outcomes,
    write_reproducer,
)
from dimse_codec.scpfuzz.oracle import Judgement, describe_events, judge
from dimse_codec.scpfuzz.reuse import message_ids, renumber, reusable
from dimse_codec.scpfuzz.states import CellTally
from dimse_codec.scpfuzz.steps import pdata, release_step

__all__ = [
    "DEFAULT_REUSE",
    "DEFAULT_SETTLE",
    "FULL_CHECK_EVERY",
    "FuzzResult",
    "LiveRunner",
    "NotLoopback",
    "ScpAddress",
    "ServerUnavailable",
    "accepts_connections",
    "check_liveness",
    "fuzz",
    "negotiate",
    "resolve",
    "run_case",
]

_ALIVE = Liveness(Health.ALIVE)
"""What the verdict on the answers alone is computed with, before the liveness check."""
READ_SIZE = 1 << 16
"""Bytes asked of the socket per read."""
DEFAULT_SETTLE = 0.25
"""Longest wait, in seconds, for an answer to invalid input or to a step that expects none:
silence there is no hang, and on loopback an SCP answers what it has in a few milliseconds
(see :class:`LiveRunner`)."""
_SETTLE_FACTOR = 4
"""The settle wait is this many times the slowest of the SCP's recent answers ..."""
_SETTLE_FLOOR = 0.02
"""... but at least this many seconds (and at most ``settle``): on loopback, against storescp
and dcmqrscp, loaded or not, three answers in about fifty campaigns came later than that
(``LiveRunner.late_answers`` counts them in every campaign; docs/fuzzing-live.md, Waiting)."""
_RECENT = 64
"""How many recent answer times the settle wait is measured on."""
FULL_CHECK_EVERY = 10
"""Every this many examples the full liveness check runs even after an unremarkable one."""
DEFAULT_REUSE = 32
"""At most this many cases run on one association (see :class:`LiveRunner`); 1: none shares."""
_RELEASE = release_step().data
"""The A-RELEASE-RQ that ends every valid case (and a reused association)."""
_REUSED = Answer(
    AnswerKind.ACCEPTED, "A-ASSOCIATE-AC (not sent: the association earlier cases opened is reused)"
)
"""The record of a reused case's A-ASSOCIATE-RQ step, which is not sent."""
_SUSPICIOUS = frozenset(
    {AnswerKind.CLOSED, AnswerKind.SILENCE, AnswerKind.OTHER, AnswerKind.REFUSED}
)
"""Answers after which the full liveness check runs, whatever the verdict: a closed or reset
connection, silence or bytes that make no PDU may be a server dying or stuck."""
_UNANSWERED = frozenset({AnswerKind.SILENCE, AnswerKind.REFUSED})
"""Answers that are no answer: they tell nothing of how fast the SCP answers."""
_RETRY_PAUSE = 0.1
"""Seconds before the second liveness attempt (twice that before the third): a bounded poll."""
_UNKNOWN_PDU = DiagnosticCode.UNKNOWN_PDU_TYPE
"""A PDU of a type PS3.8 does not define, which the stream decoder reports with its bytes."""
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
"""Linux's option to acknowledge at once. Many SCPs (DCMTK) write a PDU's header and body in
separate small writes; with Nagle's algorithm on their side the body waits for our ACK of the
header, which the kernel delays by up to 40 ms: every answered step would cost that. The option
does not stick (the kernel may fall back to delayed ACKs), so it is set again before each read."""


class NotLoopback(ValueError):
    """The host is not a loopback address and remote fuzzing was not allowed."""


class ServerUnavailable(Exception):
    """The SCP could not be reached, or would not associate with our standard proposal."""


@dataclass(frozen=True, slots=True)
class ScpAddress:
    """Where the SCP listens: an IP address (already resolved) and a TCP port."""

    host: str
    port: int

    def __str__(self) -> str:
        """``host:port`` (``[::1]:port`` for IPv6)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


__getattr__ = deprecated_aliases(__name__, {"Endpoint": ("ScpAddress", ScpAddress)})


def resolve(host: str, *, allow_remote: bool = False) -> str:
    """The IP address to connect to for ``host``; a loopback one unless ``allow_remote``.

    Every address the name resolves to must be loopback (127.0.0.0/8, ::1), so a name cannot
    point the fuzzer elsewhere; the address (IPv4 preferred) is then used for every connection,
    so the name is not looked up again. Raises
    :class:`NotLoopback` or :class:`ServerUnavailable` (the name does not resolve).
    """
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise ServerUnavailable(f"cannot resolve {host!r}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ServerUnavailable(f"{host!r} resolves to no address")
    remote = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if remote and not allow_remote:
        raise NotLoopback(
            f"refusing to fuzz {host} ({', '.join(remote)}): not a loopback address. Fuzzing "
            "sends malformed traffic that may crash the server; pass --allow-remote only for a "
            "server you own and may break"
        )
    # IPv4 first: "localhost" often resolves to ::1 first, and many SCPs listen on IPv4 only
    return sorted(addresses, key=lambda a: ":" in a)[0]


# --- one connection ------------------------------------------------------------------------------


class _Connection:
    """A socket with a lenient stream decoder reading what the SCP sends, event by event."""

    def __init__(self, sock: socket.socket, target: Target | None, max_pdu_length: int) -> None:
        self.sock = sock
        syntaxes = (
            {} if target is None else {c: a.transfer_syntax for c, a in target.accepted.items()}
        )
        self.decoder = StreamDecoder(max_pdu_length=max_pdu_length, transfer_syntaxes=syntaxes)
        self.events: collections.deque[Event] = collections.deque()
        self.closed = ""
        self.send_error = ""
        self.received = bytearray()
        self.last: Event | None = None
        """The event the last answer was read from."""
        self.send_limit = 0 if target is None else target.peer_max_pdu_length
        """The largest P-DATA-TF the SCP takes: what our responses to its requests are cut for."""
        self.answered: list[str] = []
        """The requests the SCP sent us that we answered, in order (``C-STORE-RQ 3``)."""

    @classmethod
    def open(
        cls, endpoint: ScpAddress, timeout: float, target: Target | None, max_pdu_length: int
    ) -> _Connection:
        """Connect (raises ``OSError`` when refused or timed out)."""
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, target, max_pdu_length)

    def _quickack(self) -> None:
        """Acknowledge what arrives at once (see ``_QUICKACK``), where the system can."""
        if _QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    def close(self) -> None:
        """Close the socket (a normal FIN), ignoring a connection already gone."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def quiet(self) -> bool:
        """Whether nothing came unasked since the last answer (no late message, no A-ABORT, no
        end of the connection): an association kept open is reused only while it is quiet."""
        if self.events or self.closed or self.send_error:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def end(self, timeout: float) -> bool:
        """Release the association (A-RELEASE-RQ, then its A-RELEASE-RP) and close; whether the
        A-RELEASE-RP came. Responses still due before it are read past (a bounded few)."""
        try:
            if self.send(_RELEASE, timeout) is not None:
                return False
            for _ in range(4):
                kind = self.answer(timeout)[0].kind
                if kind is not AnswerKind.RESPONSE:
                    return kind is AnswerKind.RELEASED
            return False
        finally:
            self.close()

    def abort(self) -> None:
        """End an association whose state is not known with an A-ABORT, and close."""
        with contextlib.suppress(OSError):
            self.sock.settimeout(_SETTLE_FLOOR)
            self.sock.sendall(encode_pdu(AAbort()))
        self.close()

    def send(self, data: bytes, timeout: float) -> Answer | None:
        """Send ``data``; an answer when that failed (closed, or not read in time)."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            return Answer(
                AnswerKind.SILENCE,
                f"the server stopped reading (send timed out after {timeout:g} s)",
            )
        except OSError as exc:  # the server closed: read what it sent first (an A-ABORT?)
            self.send_error = f"send failed: {exc.strerror or exc}"
        return None

    def _read(self, deadline: float) -> bool:
        """Read once until ``deadline``; False when nothing came (timeout)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        self._quickack()
        try:
            data = self.sock.recv(READ_SIZE)
        except TimeoutError:
            return False
        except OSError as exc:
            self.closed = self._after_send(f"connection reset ({exc.strerror or exc})")
            self._end()
            return True
        if not data:
            self.closed = self._after_send("connection closed by the server")
            self._end()
            return True
        self.received += data
        try:
            self.events.extend(self.decoder.feed(data))
        except DimseCodecError as exc:
            self.closed = f"undecodable answer: {exc}"
        return True

    def _after_send(self, what: str) -> str:
        """How the connection ended, with the failed send that showed it first (if any)."""
        return f"{what} ({self.send_error})" if self.send_error else what

    def _end(self) -> None:
        """The stream ended: report what the decoder still held."""
        with contextlib.suppress(DimseCodecError):
            self.events.extend(self.decoder.close())

    def answer(
        self, timeout: float, *, pending: int | None = None, drain: bool = False
    ) -> tuple[Answer, bytes, tuple[str, ...]]:
        """The next decisive answer within ``timeout``, the bytes read for it, and their view.

        A Pending response is not decisive: the answer is the final response after it (the
        count of Pendings in its detail), unless ``pending`` says to stop at that many. A
        request from the SCP (a C-GET's C-STORE-RQ sub-operation, an N-EVENT-REPORT-RQ) is
        answered at once with a Success response of its type, on its context, and the wait goes
        on. Each Pending or request gives the SCP ``timeout`` more, up to
        :data:`_MAX_PROGRESS` of them. With ``drain`` (a step sent while an operation was still
        answered) that operation's responses, up to its final one, are noted in the detail and
        the answer is what comes after them.
        """
        start = len(self.received)
        seen: list[Event] = []
        deadline = time.monotonic() + timeout
        answer: Answer | None = None
        pendings = answered = progress = 0
        drained = ""
        while answer is None:
            while self.events and answer is None:
                event = self.events.popleft()
                seen.append(event)
                if progress < _MAX_PROGRESS and isinstance(event, MessageReceived):
                    if self._answer_request(event):
                        answered += 1
                        progress += 1
                        deadline = time.monotonic() + timeout
                        continue
                    if drain and not drained and _is_response(event):
                        if not _is_pending(event):
                            drained = describe_events([event])[0]
                        continue
                    if _is_pending(event) and (pending is None or pendings < pending):
                        pendings += 1
                        progress += 1
                        deadline = time.monotonic() + timeout
                        if pending is None or pendings < pending:
                            continue
                answer = _decisive(event)
                if answer is not None:
                    self.last = event
            if answer is not None:
                break
            if self.closed:
                kind = (
                    AnswerKind.OTHER if self.closed.startswith("undecodable") else AnswerKind.CLOSED
                )
                answer = Answer(kind, self.closed)
                break
            if not self._read(deadline) and time.monotonic() >= deadline:
                answer = Answer(AnswerKind.SILENCE, f"nothing within {timeout:g} s")
        extra = []
        if pendings and answer.kind is AnswerKind.RESPONSE and not _is_pending_status(answer):
            extra.append(f"after {pendings} Pending")
        if answered:
            extra.append(f"{answered} request(s) of the SCP answered")
        if drained:
            extra.append(f"the running operation ended first: {drained}")
        if extra:
            answer = Answer(answer.kind, f"{answer.detail} ({'; '.join(extra)})", answer.status)
        view = tuple(describe_events(seen))
        return answer, bytes(self.received[start:]), view

    def _answer_request(self, event: MessageReceived) -> bool:
        """Answer a request the SCP sent with Success; False when the message is no request."""
        response = _success_response(event.primitive)
        if response is None:
            return False
        number = getattr(event.primitive, "MessageID", None)
        self.answered.append(f"{message_name(event.primitive)} {number}")
        try:
            data = pdata(response, event.context_id, self.send_limit, 1)
        except DimseCodecError:  # pragma: no cover - built from a decoded request's own values
            return True
        with contextlib.suppress(OSError):
            self.sock.sendall(data)
        return True


_MAX_PROGRESS = 10_000
"""At most this many Pending responses and SCP requests extend one wait (a bound on a server
that streams Pendings for ever)."""


def _is_pending(event: MessageReceived) -> bool:
    """Whether the message is a response with a Pending status."""
    status = getattr(event.primitive, "Status", None)
    return isinstance(status, int) and category(status) is StatusCategory.PENDING


def _is_response(event: MessageReceived) -> bool:
    """Whether the message is a DIMSE response (it carries a Status)."""
    return isinstance(getattr(event.primitive, "Status", None), int)


def _is_pending_status(answer: Answer) -> bool:
    """Whether an answer is a response with a Pending status (an operation still running)."""
    return answer.status is not None and category(answer.status) is StatusCategory.PENDING


def _success_response(request: DIMSEPrimitive) -> DIMSEPrimitive | None:
    """The Success response to a request the SCP sent us, or ``None`` when it is not one."""
    spec = message_spec(request, default=None)
    service = request.SERVICE
    if spec is None or not spec.is_request or service is None or service.response_field is None:
        return None
    message = getattr(request, "MessageID", None)
    if not isinstance(message, int):
        return None
    values: dict[str, Any] = {"MessageIDBeingRespondedTo": message, "Status": 0}
    for keyword in ("AffectedSOPClassUID", "AffectedSOPInstanceUID", "EventTypeID"):
        value = getattr(request, keyword, None) if keyword in request.PARAMETERS else None
        if value is not None:
            values[keyword] = value
    try:
        return type(request)(**values)
    except DimseCodecError:  # pragma: no cover - the values came from a decoded request
        return None


def _decisive(event: Event) -> Answer | None:
    """The answer an event is, or ``None`` for one that is not an answer (a diagnostic)."""
    if isinstance(event, MessageReceived):
        primitive = event.primitive
        status = getattr(primitive, "Status", None)
        code = status if isinstance(status, int) else None
        detail = message_name(primitive) + (f" status {code:04X}H" if code is not None else "")
        return Answer(AnswerKind.RESPONSE, detail, code)
    if isinstance(event, PDUReceived):
        pdu = event.pdu
        if isinstance(pdu, AAssociateAC):
            return Answer(AnswerKind.ACCEPTED, "A-ASSOCIATE-AC")
        if isinstance(pdu, AAssociateRJ):
            return Answer(AnswerKind.REJECTED, f"A-ASSOCIATE-RJ: {Rejected(pdu).description}")
        if isinstance(pdu, AReleaseRP):
            return Answer(AnswerKind.RELEASED, "A-RELEASE-RP")
        if isinstance(pdu, AAbort):
            return Answer(AnswerKind.ABORTED, f"A-ABORT: {Aborted(pdu).description}")
        return Answer(AnswerKind.OTHER, f"unexpected {pdu.name}")
    if isinstance(event, IncompleteMessage):
        return Answer(AnswerKind.OTHER, f"incomplete message: {event.reason.code.value}")
    if isinstance(event, StreamDiagnostic) and event.diagnostic.code is _UNKNOWN_PDU:
        return Answer(AnswerKind.OTHER, "unexpected unknown PDU")
    return None


def _drains(step: Step, valid: bool, running: bool) -> bool:
    """Whether the answer to ``step`` is what comes after the running operation's remaining
    responses: so for every step sent while an operation runs (a broken PDU, an A-RELEASE-RQ)
    but a valid C-CANCEL-RQ, whose answer is that operation's final response."""
    return running and not (valid and step.expect is Expect.RESPONSE)


def _proceeds(step: Step, valid: bool, answer: Answer) -> bool:
    """Whether to send the next step: this one was valid and answered the way that goes on
    (a request the next step cancels goes on unless the association ended)."""
    if not valid:
        return False
    if step.pending == 0:
        return answer.kind in (AnswerKind.SILENCE, AnswerKind.RESPONSE)
    if step.expect is Expect.ASSOCIATION:
        return answer.kind is AnswerKind.ACCEPTED
    if step.expect is Expect.RELEASE:  # a case that goes on after its release (Sta13)
        return answer.kind is AnswerKind.RELEASED
    return step.expect is Expect.RESPONSE and answer.kind is AnswerKind.RESPONSE


def run_case(
    endpoint: ScpAddress,
    case: Case,
    valid: Sequence[bool],
    *,
    timeout: float,
    target: Target,
    waits: Sequence[float] | None = None,
) -> tuple[StepRecord, ...]:
    """Send ``case`` on a new connection, step by step, and record each answer.

    After each step the next decisive answer is awaited for at most ``timeout`` seconds (or
    that step's entry of ``waits``), and no longer than it takes to come. The
    next step is sent only if this one was valid (``valid``, from the oracle) and was answered
    so that the association goes on (accepted, or a response); then the connection is closed.
    A refused connection gives one record with a ``refused`` answer and nothing sent.
    """
    started = time.monotonic()
    try:
        connection = _Connection.open(endpoint, timeout, target, target.our_max_pdu_length)
    except OSError as exc:
        refused = Answer(AnswerKind.REFUSED, f"cannot connect: {exc.strerror or exc}")
        label = case.steps[0].label if case.steps else "connect"
        return (StepRecord(label, b"", b"", refused, time.monotonic() - started),)
    records: list[StepRecord] = []
    waits = [timeout] * len(case.steps) if waits is None else waits
    try:
        _exchange(connection, case, valid, waits, timeout, records, len(case.steps))
    finally:
        connection.close()
    return tuple(records)


def _exchange(
    connection: _Connection,
    case: Case,
    valid: Sequence[bool],
    waits: Sequence[float],
    timeout: float,
    records: list[StepRecord],
    stop: int,
) -> bool:
    """Send the steps of ``case`` from the ``len(records)``-th up to (not including) ``stop``
    on ``connection``, appending a record per step; whether every one was answered so that the
    association goes on (see :func:`run_case`)."""
    in_flight = False
    for index in range(len(records), stop):
        step, ok, wait = case.steps[index], valid[index], waits[index]
        began = time.monotonic()
        failed = connection.send(step.data, timeout)
        if failed is not None:
            records.append(StepRecord(step.label, step.data, b"", failed, time.monotonic() - began))
            return False
        after = index > 0 and case.steps[index - 1].pending is not None
        running = after and in_flight  # the previous step's operation is still answered
        if step.pending == 0:
            wait = 0.0  # the next step cancels it at once: read only what already came
        elif after and not running:
            wait = min(wait, _SETTLE_FLOOR)  # the operation had ended: nothing more is due
        drain = _drains(step, ok, running)
        answer, received, view = connection.answer(wait, pending=step.pending, drain=drain)
        in_flight = step.pending is not None and (step.pending == 0 or _is_pending_status(answer))
        records.append(
            StepRecord(step.label, step.data, received, answer, time.monotonic() - began, view)
        )
        # a cancel of an operation that had already ended is answered by nothing: go on
        ended = after and not running and ok and answer.kind is AnswerKind.SILENCE
        if not (_proceeds(step, ok, answer) or ended):
            return False
    return True


@dataclass(slots=True)
class _Held:
    """An association kept open for the next cases: its connection, how many cases ran on it,
    and the Message IDs they used (each is used once on it)."""

    connection: _Connection
    cases: int = 0
    message_ids: set[int] = field(default_factory=set)


_REFUSALS = frozenset({AnswerKind.ABORTED, AnswerKind.REJECTED, AnswerKind.CLOSED})
"""Answers by which the SCP, alive, refuses the liveness check's association or C-ECHO."""


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One liveness attempt: ``alive``, ``refused`` (no connection), ``closed`` (before any
    answer), ``refusing`` (answered, but refused), ``silent``; what happened; the refusal."""

    status: str
    detail: str
    refusal: str = ""

    @property
    def final(self) -> bool:
        """Whether another attempt cannot change it: alive, or an A-ABORT after the AC."""
        return self.status == "alive" or self.refusal.endswith(AnswerKind.ABORTED.value)


def _probe_once(
    endpoint: ScpAddress, target: Target, steps: Sequence[Step], timeout: float
) -> _Attempt:
    """One liveness attempt: a new connection, the probe's steps, each answer read."""
    try:
        connection = _Connection.open(endpoint, timeout, target, target.our_max_pdu_length)
    except TimeoutError:
        return _Attempt("silent", f"connect timed out after {timeout:g} s")
    except OSError as exc:
        return _Attempt("refused", f"cannot connect: {exc.strerror or exc}")
    try:
        for step in steps:
            failed = connection.send(step.data, timeout)
            if failed is not None:
                return _Attempt("silent", f"{step.label}: {failed.detail}")
            answer, _, _ = connection.answer(timeout)
            kind = answer.kind
            what = f"{step.label} answered {kind.value} ({answer.detail})"
            if step.expect is Expect.ASSOCIATION:
                if kind is AnswerKind.CLOSED:
                    return _Attempt(
                        "closed", f"closed before answering the A-ASSOCIATE-RQ ({answer.detail})"
                    )
                if kind in _REFUSALS:
                    return _Attempt("refusing", what, f"{step.label} {kind.value}")
                if kind is not AnswerKind.ACCEPTED:
                    return _Attempt("silent", what)
            elif step.expect is Expect.RESPONSE and kind is not AnswerKind.RESPONSE:
                if kind in _REFUSALS:
                    return _Attempt("refusing", what, f"{step.label} {kind.value}")
                return _Attempt("silent", what)
        return _Attempt("alive", "association and C-ECHO answered")
    finally:
        connection.close()


def check_liveness(
    endpoint: ScpAddress, target: Target, *, timeout: float, attempts: int = 3
) -> Liveness:
    """Whether the SCP still answers an association and a C-ECHO, in up to ``attempts`` tries.

    ``down`` when the last attempt was refused or closed before any answer, ``unresponsive``
    when it was accepted but not answered in time, ``refusing`` when the association or the
    C-ECHO was answered with an A-ABORT, an A-ASSOCIATE-RJ or a closed connection (an A-ABORT
    is not tried again: the SCP has said no); a short, growing pause separates attempts.
    """
    steps = probe_steps(target)
    last, attempt = _Attempt("silent", "no attempt"), 0
    for attempt in range(1, attempts + 1):
        last = _probe_once(endpoint, target, steps, timeout)
        if last.final:
            break
        if attempt < attempts:
            time.sleep(_RETRY_PAUSE * attempt)
    health = {
        "alive": Health.ALIVE,
        "refused": Health.DOWN,
        "closed": Health.DOWN,
        "refusing": Health.REFUSING,
    }.get(last.status, Health.UNRESPONSIVE)
    return Liveness(health, last.detail, attempt, last.refusal)


def accepts_connections(endpoint: ScpAddress, *, timeout: float) -> bool:
    """Whether a TCP connection to the SCP is accepted (the light liveness check).

    It shows the server process still listens, not that it answers: an SCP that died refuses
    it, one that hangs may not (the kernel accepts for it). :class:`LiveRunner` runs it after
    an unremarkable example instead of the full :func:`check_liveness`.
    """
    try:
        connection = _Connection.open(endpoint, timeout, None, DEFAULT_MAX_PDU_LENGTH)
    except OSError:
        return False
    connection.close()
    return True


def negotiate(
    endpoint: ScpAddress,
    calling_ae_title: str,
    called_ae_title: str,
    *,
    timeout: float,
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
    request: AAssociateRQ | None = None,
) -> Target:
    """Associate once with our standard proposal (or ``request``) and release: what the SCP
    accepts.

    Raises :class:`ServerUnavailable` when the SCP cannot be reached, rejects or aborts, or does
    not answer in time; the AE titles are checked first (``InvalidParameter``).
    """
    rq = request or proposal(calling_ae_title, called_ae_title, max_pdu_length=max_pdu_length)
    try:
        connection = _Connection.open(endpoint, timeout, None, max_pdu_length)
    except OSError as exc:
        raise ServerUnavailable(f"cannot connect to {endpoint}: {exc.strerror or exc}") from exc
    try:
        failed = connection.send(encode_pdu(rq), timeout)
        answer = failed if failed is not None else connection.answer(timeout)[0]
        last = connection.last
        if answer.kind is not AnswerKind.ACCEPTED or not isinstance(last, PDUReceived):
            raise ServerUnavailable(
                f"{endpoint} did not accept our association (called AE {called_ae_title!r}): "
                f"{answer.kind.value}: {answer.detail}"
            )
        result = read_response(rq, last.pdu)
        if not isinstance(result, Accepted):  # an AC always reads as Accepted
            raise ServerUnavailable(f"{endpoint}: {answer.detail}")
        if connection.send(_RELEASE, timeout) is None:
            connection.answer(timeout)
    finally:
        connection.close()
    if not result.association.accepted_contexts:
        raise ServerUnavailable(f"{endpoint} accepted the association but none of our contexts")
    return Target(rq, result.association)


# --- the runner and the campaign -----------------------------------------------------------------


class LiveRunner:
    """Runs one case against the SCP: judge, send, check liveness, classify.

    ``restart``, when given, is called when the SCP is found down or unresponsive and returns
    the endpoint of a fresh one, so a crash can be shrunk like any other finding (tests use
    it; the command line has no way to restart a server and stops at a crash instead).

    Each answer is awaited until it comes: for at most ``timeout`` after a valid step that
    expects one (silence there is a hang); after an invalid step or one that expects nothing,
    where silence is the answer a conforming SCP may give (or the finding, ``not-as-
    prescribed``, that an A-ABORT did not come), for ``settle`` seconds when it is given (at
    most ``timeout``), else for four times the slowest of the SCP's last 64 answers, at least
    0.02 s and at most :data:`DEFAULT_SETTLE` (that, before any answer): a loaded machine or a
    slow SCP answers later, and so is waited for longer.

    The full liveness check (:func:`check_liveness`: a new association, a C-ECHO, a release)
    runs after every example that is not ``normal``, after any answer in ``_SUSPICIOUS``
    (closed, silence, no PDU) and after every ``full_check_every``-th example. After the
    others (valid input answered and released, invalid input aborted or refused as it should
    be) the SCP has just answered everything it was sent, and the light check
    (:func:`accepts_connections`) shows it did not die since; when it fails, the full check
    runs. The first example, and every one while the last full check did not find the SCP
    alive (refusing, or restarted), gets the full check. ``full_check_every=1`` runs the full
    check after every example.

    Consecutive cases that :func:`reusable` accepts share one association, at most ``reuse`` of
    them: the first sends its A-ASSOCIATE-RQ and keeps the association, the next send only their
    requests, and the association is released (A-RELEASE-RQ, A-RELEASE-RP) by the last one,
    before a case or a full check that needs an association of its own, and by :meth:`close`.
    The first answer that is not normal ends it with an A-ABORT, and that case runs again on an
    association of its own, which is then its observation. ``associations`` counts all this.
    """

    def __init__(
        self,
        endpoint: ScpAddress,
        target: Target,
        *,
        timeout: float,
        restart: Callable[[], ScpAddress] | None = None,
        settle: float | None = None,
        full_check_every: int = FULL_CHECK_EVERY,
        reuse: int = DEFAULT_REUSE,
    ) -> None:
        if full_check_every < 1:
            raise ValueError("full_check_every must be at least 1")
        if reuse < 1:
            raise ValueError("reuse must be at least 1")
        self.endpoint = endpoint
        self.target = target
        self.timeout = timeout
        self.full_check_every = full_check_every
        self.checks: collections.Counter[str] = collections.Counter()
        """How many liveness checks of each kind ran: ``full`` and ``connect``."""
        self.last_full: Liveness | None = None
        """The last full check: the light one stands in for it only while it said alive."""
        self.recent: collections.deque[float] = collections.deque(maxlen=_RECENT)
        """How long the SCP's recent answers took, in seconds."""
        self.late_answers = 0
        """Answers that took longer than the settle wait in force when their case began: had
        one of them answered an invalid step, the wait would have ended before it came. Zero
        says the settle wait was long enough for this server and this machine."""
        self.settle = None if settle is None else min(timeout, settle)
        """The fixed settle wait, or ``None`` to measure it on the SCP's answers."""
        self._settle_in_force = self.settle_now
        self.restart = restart
        self.restarts = 0
        self.reuse = reuse
        """At most this many cases run on one association (1: every case opens its own)."""
        self.held: _Held | None = None
        """The association kept open for the next reusable case, if any."""
        self.associations: collections.Counter[str] = collections.Counter()
        """Cases on their own association (``own``), associations kept open for reuse
        (``opened``), cases that ran on one (``reused``), abnormal results there run again on
        a fresh association (``rerun``) and how many of those were normal then
        (``rerun-normal``), and how the kept associations ended (``released``,
        ``release-failed``, ``aborted``, ``dropped`` when the SCP had closed or sent something
        unasked), and how many Message IDs of reused cases were already used on their
        association and so were replaced by unused ones (``message-ids-renumbered``)."""

    @property
    def settle_now(self) -> float:
        """The wait for an answer to invalid input now (see the class documentation)."""
        if self.settle is not None:
            return self.settle
        longest = min(self.timeout, DEFAULT_SETTLE)
        if not self.recent:
            return longest
        return min(longest, max(_SETTLE_FLOOR, _SETTLE_FACTOR * max(self.recent)))

    def __call__(self, case: Case) -> Observation:
        """Run ``case`` and return what happened and what it means."""
        judgement = judge(case, self.target)
        valid = [step.valid for step in judgement.steps]
        settle = self._settle_in_force = self.settle_now
        waits = [
            self.timeout if v.valid and (v.expect or step.expect) is not Expect.NOTHING else settle
            for step, v in zip(case.steps, judgement.steps, strict=True)
        ]
        for index in range(1, len(case.steps)):
            # a C-CANCEL-RQ expects nothing itself, but the cancelled operation's final response
            # is due then: wait for it as for any response (run_case shortens it when the
            # operation had ended before)
            before = case.steps[index - 1]
            if before.pending is not None and judgement.steps[index].valid:
                waits[index] = self.timeout
        numbers = reusable(case, judgement, self.target) if self.reuse > 1 else None
        if numbers is None:
            self._make_way()
            return self._own(case, judgement, valid, waits)
        return self._shared(case, judgement, valid, waits, numbers)

    def _own(
        self,
        case: Case,
        judgement: Judgement,
        valid: Sequence[bool],
        waits: Sequence[float],
        rerun: str = "",
    ) -> Observation:
        """Run ``case`` on a new association of its own, as every case but reusable ones."""
        self.associations["own"] += 1
        records = run_case(
            self.endpoint, case, valid, timeout=self.timeout, target=self.target, waits=waits
        )
        return self._observe(case, judgement, records, rerun=rerun)

    def _note_answers(self, records: Sequence[StepRecord]) -> None:
        """Keep the answer times the settle wait is measured on; count the late ones."""
        times = [r.seconds for r in records if r.answer.kind not in _UNANSWERED]
        self.recent.extend(times)
        self.late_answers += sum(seconds > self._settle_in_force for seconds in times)

    def _observe(
        self,
        case: Case,
        judgement: Judgement,
        records: Sequence[StepRecord],
        *,
        reused: bool = False,
        rerun: str = "",
    ) -> Observation:
        """Check liveness after the answers, classify, restart a server found not alive."""
        self._note_answers(records)
        steps = outcomes(case, judgement, records)
        liveness = self._liveness(classify(steps, _ALIVE), records)
        verdict = classify(steps, liveness)
        restarted = False
        if liveness.health is not Health.ALIVE and self.restart is not None:
            self._restart(self.restart)
            restarted = True
        return Observation(
            case, judgement, tuple(records), liveness, verdict, restarted, reused, rerun
        )

    def _restart(self, restart: Callable[[], ScpAddress]) -> None:
        """Start a fresh server; an association kept with the old one is gone with it."""
        if self.held is not None:
            self.held.connection.close()
            self.held = None
            self.associations["dropped"] += 1
        self.endpoint = restart()
        self.restarts += 1

    def _shared(
        self,
        case: Case,
        judgement: Judgement,
        valid: Sequence[bool],
        waits: Sequence[float],
        numbers: frozenset[int],
    ) -> Observation:
        """Run a reusable case on the association kept open, or open one for it and keep it.

        Its A-ASSOCIATE-RQ step is sent only when it opens the association (else its record
        says the association is reused), and its A-RELEASE-RQ only when the association ends
        with it: when it is the last the bound allows, or a full liveness check follows that
        the SCP could not answer while ours is open. An abnormal result on a reused association
        ends it, and the case runs again on a fresh association of its own: the finding, if it
        is one, does not depend on the cases before it.
        """
        held = self.held
        if held is not None and (held.cases >= self.reuse or not held.connection.quiet()):
            self._end_held()
            held = None
        opens = held is None
        sent: Case | None = case
        if held is not None and numbers & held.message_ids:
            sent = self._renumbered(case, numbers, held)
        if sent is None:  # not renumbered: it opens an association of its own
            self._end_held()
            held, opens, sent = None, True, case
        records: list[StepRecord] = []
        if held is None:
            try:
                connection = _Connection.open(
                    self.endpoint, self.timeout, self.target, self.target.our_max_pdu_length
                )
            except OSError:  # refused: the run of its own says so, and checks liveness
                return self._own(case, judgement, valid, waits)
        else:
            connection = held.connection
            records.append(StepRecord(case.steps[0].label, b"", b"", _REUSED, 0.0))
        last = self._last_on(held)
        stop = len(case.steps) if last else len(case.steps) - 1
        self.held = None
        try:
            proceeded = _exchange(connection, sent, valid, waits, self.timeout, records, stop)
        except BaseException:  # Ctrl-C half way: the association's state is not known
            connection.abort()
            raise
        steps = outcomes(case, judgement, records)
        answered = classify(steps, _ALIVE)
        normal = (
            proceeded
            and answered.classification is Classification.NORMAL
            and not any(record.answer.kind in _SUSPICIOUS for record in records)
        )
        if normal and not last:
            if held is None:
                held = _Held(connection)
                self.associations["opened"] += 1
            held.cases += 1
            held.message_ids |= set(message_ids(sent.steps[1:-1]) or ())
            self.held = held
        elif normal:
            connection.close()  # released by the case's own A-RELEASE-RQ
            if not opens:
                self.associations["released"] += 1
        else:
            connection.abort()
            if not opens:
                self.associations["aborted"] += 1
        if opens:  # it opened the association: it ran as on one of its own
            self.associations["own"] += 1
            return self._observe(case, judgement, records)
        self.associations["reused"] += 1
        if normal:
            return self._observe(case, judgement, records, reused=True)
        return self._again(case, judgement, valid, waits, records, answered)

    def _renumbered(self, case: Case, numbers: frozenset[int], held: _Held) -> Case | None:
        """``case`` with its Message IDs already used on ``held`` replaced by unused ones (the
        bytes sent on the reused association; its record shows them), or ``None`` when that
        could not be done."""
        done = renumber(case, numbers, held.message_ids)
        if done is None:
            return None
        sent, replaced = done
        self.associations["message-ids-renumbered"] += replaced
        return sent

    def _again(
        self,
        case: Case,
        judgement: Judgement,
        valid: Sequence[bool],
        waits: Sequence[float],
        records: Sequence[StepRecord],
        answered: CaseVerdict,
    ) -> Observation:
        """Run a case answered abnormally on a reused association again on its own.

        The full liveness check comes first: when the SCP is down or hangs, it is restarted
        first if it can be, else the observation on the reused association is all there is.
        """
        self.associations["rerun"] += 1
        self._note_answers(records)
        self._make_way()
        self.checks["full"] += 1
        self.last_full = check_liveness(self.endpoint, self.target, timeout=self.timeout)
        if self.last_full.health in (Health.DOWN, Health.UNRESPONSIVE):
            if self.restart is None:
                verdict = classify(outcomes(case, judgement, records), self.last_full)
                return Observation(
                    case, judgement, tuple(records), self.last_full, verdict, reused=True
                )
            self._restart(self.restart)
        observation = self._own(case, judgement, valid, waits, rerun=answered.reason)
        if observation.classification is Classification.NORMAL:
            self.associations["rerun-normal"] += 1
        return observation

    def _last_on(self, held: _Held | None) -> bool:
        """Whether the association ends with the next case: the bound is reached, or the full
        liveness check will follow it (which needs an association of its own)."""
        if (0 if held is None else held.cases) + 1 >= self.reuse:
            return True
        number = sum(self.checks.values()) + 1
        return (
            self.last_full is None
            or self.last_full.health is not Health.ALIVE
            or number % self.full_check_every == 0
        )

    def _make_way(self) -> None:
        """Release our kept association before another one opens: an SCP may serve one at a
        time (storescp), and what one association holds (a lock) may change how the SCP
        answers another, which a reproducer could not show."""
        self._end_held()

    def _end_held(self) -> None:
        """Release the association kept open (or drop it when the SCP closed or spoke)."""
        held, self.held = self.held, None
        if held is None:
            return
        if not held.connection.quiet():
            held.connection.abort()
            self.associations["dropped"] += 1
        elif held.connection.end(self.timeout):
            self.associations["released"] += 1
        else:
            self.associations["release-failed"] += 1

    def close(self) -> None:
        """Release the association kept open, if any: at the end of a run, or on Ctrl-C."""
        self._end_held()

    def __enter__(self) -> LiveRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving a ``with`` block closes the runner (see :meth:`close`)."""
        self.close()

    def _liveness(self, verdict: CaseVerdict, records: Sequence[StepRecord]) -> Liveness:
        """The light check after an unremarkable example, else (or if it fails) the full one."""
        number = sum(self.checks.values()) + 1
        unremarkable = (
            self.last_full is not None
            and self.last_full.health is Health.ALIVE
            and verdict.classification is Classification.NORMAL
            and not any(record.answer.kind in _SUSPICIOUS for record in records)
            and number % self.full_check_every != 0
        )
        if unremarkable and accepts_connections(self.endpoint, timeout=self.timeout):
            self.checks["connect"] += 1
            return Liveness(Health.ALIVE, "accepts connections (the light check)")
        self._make_way()
        self.checks["full"] += 1
        self.last_full = check_liveness(self.endpoint, self.target, timeout=self.timeout)
        return self.last_full


@dataclass
class FuzzResult:
    """A finished campaign: the report, what the SCP accepted, and where things were written."""

    report: Report
    target: Target
    endpoint: ScpAddress
    reproducers: list[Path] = field(default_factory=list)
    summary: Path | None = None
    baseline: Liveness | None = None
    """The liveness check before the first example: a server refusing it from the start is
    configured not to serve (a ``refuses-valid`` finding says the same), not broken by us."""
    liveness_checks: dict[str, int] = field(default_factory=dict)
    """How many liveness checks of each kind ran (``full``, ``connect``; see LiveRunner)."""
    cells: CellTally = field(default_factory=CellTally)
    """The Table 9-10 cells the generated examples exercised, and the answers in each."""
    associations: dict[str, int] = field(default_factory=dict)
    """How the cases' associations went: of their own, or reused (see LiveRunner)."""
    late_answers: int = 0
    """Answers slower than the settle wait then in force (``LiveRunner.late_answers``)."""


def _server_json(target: Target) -> dict[str, Any]:
    """What the SCP said about itself and what it accepted."""
    association = target.association
    return {
        "ae_title": association.peer_ae_title,
        "implementation_class_uid": association.peer_implementation_class_uid,
        "implementation_version_name": association.peer_implementation_version_name,
        "max_pdu_length": association.peer_max_pdu_length,
        "accepted_contexts": {
            str(cid): {
                "abstract_syntax": ctx.abstract_syntax,
                "transfer_syntax": ctx.transfer_syntax,
            }
            for cid, ctx in sorted(association.accepted_contexts.items())
        },
    }


def _versions() -> dict[str, str]:
    from dimse_codec import __version__

    return {
        "dimse_codec": __version__,
        "hypothesis": hypothesis.__version__,
        "python": platform.python_version(),
    }


def summary_json(result: FuzzResult, timeout: float, settle: float | None = None) -> dict[str, Any]:
    """The campaign as JSON: settings, counts per outcome and answer, the findings."""
    report = result.report
    return {
        "endpoint": str(result.endpoint),
        "calling_ae_title": result.target.association.calling_ae_title,
        "called_ae_title": result.target.association.called_ae_title,
        "seed": report.settings.seed,
        "max_examples": report.settings.max_examples,
        "max_shrinks": report.settings.max_shrinks,
        "timeout": timeout,
        "settle": settle,
        "examples": report.examples,
        "completed": report.completed,
        "shrink_calls": report.shrink_calls,
        "shrink_reused": report.shrink_reused,
        "rounds": report.rounds,
        "elapsed": round(report.elapsed, 3),
        "halted": report.halted,
        "interrupted": report.interrupted,
        "baseline_liveness": None
        if result.baseline is None
        else {"health": result.baseline.health.value, "detail": result.baseline.detail},
        "found_while_shrinking": report.found_while_shrinking,
        "liveness_checks": dict(result.liveness_checks),
        "associations": dict(result.associations),
        "late_answers": result.late_answers,
        "outcomes": dict(report.outcomes),
        "answers": dict(report.answers),
        "table_cells": result.cells.json(),
        "findings": [
            {
                "finding": f.number,
                "classification": f.classification.value,
                "severity": f.severity,
                "signature": f.signature,
                "summary": f.summary,
                "shrunk": f.shrunk,
                "directory": path.name if path is not None else None,
            }
            for f, path in zip(
                report.findings,
                [*result.reproducers, *[None] * (len(report.findings) - len(result.reproducers))],
                strict=True,
            )
        ],
        "server": _server_json(result.target),
        "versions": _versions(),
    }


def fuzz(
    host: str,
    port: int,
    *,
    calling_ae_title: str = "DIMSE-FUZZ",
    called_ae_title: str = "ANY-SCP",
    max_examples: int = 100,
    seed: int | None = None,
    timeout: float = 3.0,
    settle: float | None = None,
    full_check_every: int = FULL_CHECK_EVERY,
    reuse: int = DEFAULT_REUSE,
    max_shrinks: int = 25,
    out: Path | None = None,
    allow_remote: bool = False,
    kinds: Iterable[str] | None = None,
    restart: Callable[[], ScpAddress] | None = None,
    on_start: Callable[[FuzzResult], None] | None = None,
    on_finding: Callable[[Finding, Path | None], None] | None = None,
    on_example: Callable[[int, Observation], None] | None = None,
    move_destination: MoveDestination | None = None,
) -> FuzzResult:
    """Fuzz the SCP at ``host:port``: negotiate, run the campaign, write the reproducers.

    ``timeout`` bounds every wait, ``settle`` fixes the wait for an answer to invalid input
    (``None``: measured on the SCP's answers), and
    ``full_check_every`` how often the full liveness check runs after unremarkable examples
    (see :class:`LiveRunner`), ``reuse`` how many valid cases may share one association (1:
    none). ``seed`` defaults to a random one (reported, so a run can be
    repeated); ``out`` receives
    one folder per finding (:func:`~dimse_codec.scpfuzz.findings.write_reproducer`) and
    ``summary.json``. Raises :class:`NotLoopback` for a remote host without ``allow_remote``
    and :class:`ServerUnavailable` when the SCP cannot be reached or will not associate.
    ``move_destination`` (running) takes the SCP's C-MOVE sub-operations: each case's counts
    are checked against it (:func:`~dimse_codec.scpfuzz.destination.checked_moves`).
    """
    if timeout <= 0 or (settle is not None and settle <= 0):
        raise ValueError("timeout and settle must be positive")
    endpoint = ScpAddress(resolve(host, allow_remote=allow_remote), port)
    target = negotiate(endpoint, calling_ae_title, called_ae_title, timeout=timeout)
    config = CampaignSettings(
        max_examples=max_examples,
        seed=random.randrange(1 << 32) if seed is None else seed,
        max_shrinks=max_shrinks,
    )
    strategy = cases(target, kinds)
    runner = LiveRunner(
        endpoint,
        target,
        timeout=timeout,
        restart=restart,
        settle=settle,
        full_check_every=full_check_every,
        reuse=reuse,
    )
    baseline = check_liveness(endpoint, target, timeout=timeout, attempts=1)
    result = FuzzResult(Report(config), target, endpoint, baseline=baseline)
    if on_start is not None:
        on_start(result)
    context = {
        "host": host,
        "port": port,
        "calling_ae_title": calling_ae_title,
        "called_ae_title": called_ae_title,
        "timeout": timeout,
        "campaign_seed": config.seed,
        "server": _server_json(target),
        "versions": _versions(),
    }
    probe = probe_steps(target)

    def found(finding: Finding) -> None:
        path = None
        if out is not None:
            path = write_reproducer(finding, out, probe, timeout=timeout, context=context)
            result.reproducers.append(path)
        if on_finding is not None:
            on_finding(finding, path)

    def example(index: int, observation: Observation) -> None:
        result.cells.add(observation)
        if on_example is not None:
            on_example(index, observation)

    execute: Callable[[Case], Observation] = runner
    if move_destination is not None:
        execute = checked_moves(runner, move_destination, calling_ae_title)
    try:
        result.report = run_campaign(
            strategy, execute, config, on_finding=found, on_example=example
        )
    finally:  # the association kept open is released, also after Ctrl-C
        runner.close()
    result.liveness_checks = dict(runner.checks)
    result.associations = dict(runner.associations)
    result.late_answers = runner.late_answers
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.summary = out / "summary.json"
        document = summary_json(result, timeout, settle)
        if move_destination is not None:
            document["move_destination"] = move_destination.log.json()
        result.summary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return result
