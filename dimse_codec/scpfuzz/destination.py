"""The C-MOVE destination of a campaign: a small Storage SCP that answers the SCP under test's
C-STORE sub-operations with behaviours drawn from a seeded RNG, and the check of a C-MOVE's
sub-operation counts against what it answered.

A C-MOVE makes the SCP a Storage SCU towards the move destination (PS3.4 C.4.2.2); when nothing
listens there every C-MOVE fails at connect and that SCU side stays dark. :class:`MoveDestination`
listens on 127.0.0.1 for a campaign and, per association, accepts (most), rejects with an
A-ASSOCIATE-RJ or accepts with no presentation context; per C-STORE it answers Success (most),
Warning (B000, B007), Failure (A700, C000), answers late (within the peer's timeouts) or sends an
A-ABORT instead of the response. Draws come from ``random.Random(seed)`` in the order the
associations arrive, so a run repeats. It is built on the sans-I/O
:class:`~dimse_codec.upper_layer.Connection` and the net layer's socket helpers, bounded: one
thread per association up to ``max_associations`` (more are closed at once), data sets counted
and dropped, every socket closed and the threads joined by :meth:`MoveDestination.stop`.

:func:`check_counts` is the oracle (PS3.4 C.4.2.1.6 to C.4.2.1.9): the final C-MOVE response's
completed and warning counts must equal the C-STOREs answered Success and Warning, and its failed
count must be at least those answered with a Failure or aborted. :func:`move_mismatch` finds a
case's valid C-MOVE to the destination and its final response in what was sent and received.
"""

from __future__ import annotations

import collections
import enum
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dimse_codec.association import Accepted, Rejected, reject, respond
from dimse_codec.dimse.primitives import C_MOVE, C_STORE, DIMSEPrimitive
from dimse_codec.dimse.responses import build_response
from dimse_codec.errors import DimseCodecError, expect
from dimse_codec.net._common import read_turn, release_due, send_buffers
from dimse_codec.pdata import MessageReceived, StreamDecoder
from dimse_codec.pdu import AAssociateRQ, RejectReasonUser
from dimse_codec.scpfuzz.findings import CaseVerdict, Classification, Observation
from dimse_codec.scpfuzz.model import Case
from dimse_codec.services import is_storage
from dimse_codec.upper_layer import Connection, ConnectionClosed, Event, ReleaseRequested, Timeouts
from dimse_codec.upper_layer import MessageReceived as ConnectionMessage

__all__ = [
    "RECENT_STORES",
    "AssociationBehaviour",
    "DestinationLog",
    "MoveDestination",
    "StoreBehaviour",
    "StoreRecord",
    "Tally",
    "check_counts",
    "checked_moves",
    "draw_association",
    "draw_store",
    "move_mismatch",
]

DEFAULT_MOVE_AE = "MOVESCU"
"""The destination's AE title by default: the one the query cases move to."""
SLOW_SECONDS = 0.3
"""How late a slow answer comes (well within any DIMSE timeout a SCU sets)."""
_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
_POLL = 0.2
"""Longest socket wait, so a thread sees the stop event soon."""


class AssociationBehaviour(str, enum.Enum):
    """How the destination answers an A-ASSOCIATE-RQ."""

    ACCEPT = "accept"
    REJECT = "reject"
    """An A-ASSOCIATE-RJ (permanent, called AE title not recognized)."""
    NO_CONTEXTS = "no-contexts"
    """An A-ASSOCIATE-AC that rejects every presentation context."""


class StoreBehaviour(str, enum.Enum):
    """How the destination answers one C-STORE-RQ."""

    SUCCESS = "success"
    WARNING_B000 = "warning-b000"
    WARNING_B007 = "warning-b007"
    FAILURE_A700 = "failure-a700"
    FAILURE_C000 = "failure-c000"
    SLOW = "slow"
    """Success, :data:`SLOW_SECONDS` late."""
    ABORT = "abort"
    """An A-ABORT instead of the response."""


_ASSOCIATION_WEIGHTS: Mapping[AssociationBehaviour, int] = {
    AssociationBehaviour.ACCEPT: 8,
    AssociationBehaviour.REJECT: 1,
    AssociationBehaviour.NO_CONTEXTS: 1,
}
_STORE_WEIGHTS: Mapping[StoreBehaviour, int] = {
    StoreBehaviour.SUCCESS: 12,
    StoreBehaviour.WARNING_B000: 1,
    StoreBehaviour.WARNING_B007: 1,
    StoreBehaviour.FAILURE_A700: 1,
    StoreBehaviour.FAILURE_C000: 1,
    StoreBehaviour.SLOW: 1,
    StoreBehaviour.ABORT: 1,
}
STATUS: Mapping[StoreBehaviour, int] = {
    StoreBehaviour.SUCCESS: 0x0000,
    StoreBehaviour.SLOW: 0x0000,
    StoreBehaviour.WARNING_B000: 0xB000,
    StoreBehaviour.WARNING_B007: 0xB007,
    StoreBehaviour.FAILURE_A700: 0xA700,
    StoreBehaviour.FAILURE_C000: 0xC000,
}
"""The status each answering behaviour sends."""


def draw_association(rng: random.Random) -> AssociationBehaviour:
    """One association's behaviour: accept most of the time."""
    kinds = list(_ASSOCIATION_WEIGHTS)
    return rng.choices(kinds, weights=[_ASSOCIATION_WEIGHTS[k] for k in kinds])[0]


def draw_store(rng: random.Random) -> StoreBehaviour:
    """One C-STORE's behaviour: Success most of the time."""
    kinds = list(_STORE_WEIGHTS)
    return rng.choices(kinds, weights=[_STORE_WEIGHTS[k] for k in kinds])[0]


@dataclass(frozen=True, slots=True)
class StoreRecord:
    """One C-STORE the destination received, and how it answered."""

    association: int
    originator_ae: str | None
    originator_message_id: int | None
    behaviour: StoreBehaviour
    bytes: int


@dataclass
class Tally:
    """C-STOREs answered per outcome, for one C-MOVE's sub-operations."""

    completed: int = 0
    warning: int = 0
    failed: int = 0

    def add(self, behaviour: StoreBehaviour) -> None:
        """Count one answered (or aborted) C-STORE."""
        status = STATUS.get(behaviour)
        if status is None:
            self.failed += 1
        elif status == 0:
            self.completed += 1
        elif status >> 12 == 0xB:
            self.warning += 1
        else:
            self.failed += 1


def check_counts(final: Mapping[str, Any], tally: Tally) -> list[str]:
    """What is wrong with a final C-MOVE-RSP's sub-operation counts (PS3.4 C.4.2.1.6-9), given
    what the destination answered: completed and warning exact, failed at least ours (the
    SCP also counts sub-operations it never sent as failed)."""
    problems = []
    for name, ours, exact in (
        ("NumberOfCompletedSuboperations", tally.completed, True),
        ("NumberOfWarningSuboperations", tally.warning, True),
        ("NumberOfFailedSuboperations", tally.failed, False),
    ):
        reported = final.get(name)
        if reported is None:
            continue  # optional in a final response (PS3.4 C.4.2.1.6: "may be included")
        if (exact and reported != ours) or (not exact and reported < ours):
            relation = "" if exact else "at least "
            problems.append(f"{name} {reported}, the destination saw {relation}{ours}")
    return problems


RECENT_STORES = 1024
"""How many C-STOREs the destination keeps one by one (far more than one case's C-MOVEs send;
the counts cover all of them)."""


@dataclass
class DestinationLog:
    """What the destination saw: associations by behaviour, C-STOREs by behaviour, and the most
    recent of them one by one (a campaign's memory does not grow with its length)."""

    associations: dict[str, int] = field(default_factory=dict)
    stores: collections.deque[StoreRecord] = field(
        default_factory=lambda: collections.deque(maxlen=RECENT_STORES)
    )
    """The last :data:`RECENT_STORES` C-STOREs."""
    store_total: int = 0
    """Every C-STORE so far."""
    behaviours: collections.Counter[str] = field(default_factory=collections.Counter)
    """Every C-STORE so far by the behaviour it was answered with."""
    bytes: int = 0
    """The data set bytes of every C-STORE so far (counted, not kept)."""
    refused: int = 0
    """Connections closed at once because ``max_associations`` were open."""
    mismatches: int = 0
    """C-MOVE final responses whose counts disagreed with what the destination answered."""
    checked: int = 0
    """C-MOVE final responses checked."""

    def add(self, record: StoreRecord) -> None:
        """Count one C-STORE and keep it among the recent ones."""
        self.stores.append(record)
        self.store_total += 1
        self.behaviours[record.behaviour.value] += 1
        self.bytes += record.bytes

    def since(self, mark: int) -> list[StoreRecord]:
        """The C-STOREs after the first ``mark`` (those still kept)."""
        first = self.store_total - len(self.stores)
        return list(self.stores)[max(mark - first, 0) :]

    def json(self) -> dict[str, Any]:
        """For ``summary.json``."""
        return {
            "associations": dict(self.associations),
            "c_stores": self.store_total,
            "c_store_behaviours": dict(self.behaviours),
            "bytes": self.bytes,
            "refused_connections": self.refused,
            "moves_checked": self.checked,
            "count_mismatches": self.mismatches,
        }


class _Counted:
    """A data set sink that counts the bytes and keeps none of them."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: memoryview, /) -> int:
        self.bytes += len(data)
        return len(data)

    def data(self) -> bytes:
        return b""

    def close(self) -> None:
        """Nothing held."""


def _supported_storage(abstract_syntax: str) -> Sequence[str] | None:
    return _SYNTAXES if is_storage(abstract_syntax) else None


class MoveDestination:
    """A Storage SCP on ``127.0.0.1:port`` answering with seeded behaviours (see the module).

    Use as a context manager, or :meth:`start` and :meth:`stop`. :attr:`log` says what it saw;
    :meth:`tally_since` counts one C-MOVE's sub-operations.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        ae_title: str = DEFAULT_MOVE_AE,
        seed: int = 0,
        max_associations: int = 8,
        max_pdu_length: int = 65536,
        timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.ae_title = ae_title
        self.max_associations = max_associations
        self.max_pdu_length = max_pdu_length
        self.timeout = timeout
        self.log = DestinationLog()
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._workers: set[threading.Thread] = set()
        self._count = 0

    # -- lifetime ----------------------------------------------------------------------------

    def start(self) -> MoveDestination:
        """Listen (raises ``OSError`` when the port is taken) and serve in a thread."""
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(_POLL)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept_loop, name="move-destination")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, end the associations in progress and join every thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> MoveDestination:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def store_count(self) -> int:
        """How many C-STOREs arrived so far (a mark for :meth:`tally_since`)."""
        with self._lock:
            return self.log.store_total

    @property
    def association_count(self) -> int:
        """How many associations arrived so far (the next one is numbered one more)."""
        with self._lock:
            return self._count

    def tally_since(
        self, mark: int, originator_ae: str, message_id: int, first_association: int = 0
    ) -> Tally:
        """The answers to C-STOREs since ``mark`` that say they are sub-operations of the
        C-MOVE ``message_id`` of ``originator_ae``, on association ``first_association`` or a
        later one: sub-operations of an earlier C-MOVE with the same Message ID (a case run
        again while shrinking, an operation its case left running) come on earlier ones."""
        tally = Tally()
        with self._lock:
            records = self.log.since(mark)
        for record in records:
            if record.association < first_association:
                continue
            if record.originator_message_id == message_id and (
                record.originator_ae in (None, originator_ae)
            ):
                tally.add(record.behaviour)
        return tally

    # -- serving -------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = expect(self._listener, socket.socket, "MoveDestination, started")
        while not self._stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._workers = {w for w in self._workers if w.is_alive()}
                if len(self._workers) >= self.max_associations:
                    self.log.refused += 1
                    sock.close()
                    continue
                self._count += 1
                index = self._count
                behaviour = draw_association(self._rng)
                seed = self._rng.getrandbits(64)
                self.log.associations[behaviour.value] = (
                    self.log.associations.get(behaviour.value, 0) + 1
                )
                worker = threading.Thread(
                    target=self._serve,
                    args=(sock, index, behaviour, random.Random(seed)),
                    name=f"move-destination-{index}",
                )
                worker.daemon = True
                self._workers.add(worker)
            worker.start()

    def _serve(
        self, sock: socket.socket, index: int, behaviour: AssociationBehaviour, rng: random.Random
    ) -> None:
        with sock:
            _Association(self, sock, index, behaviour, rng).run()

    def _record(self, record: StoreRecord) -> None:
        with self._lock:
            self.log.add(record)


class _Association:
    """One association the SCP under test opened: its Connection and socket loop."""

    def __init__(
        self,
        owner: MoveDestination,
        sock: socket.socket,
        index: int,
        behaviour: AssociationBehaviour,
        rng: random.Random,
    ) -> None:
        self.owner = owner
        self.sock = sock
        self.index = index
        self.behaviour = behaviour
        self.rng = rng
        self.sinks: dict[int, _Counted] = {}
        self.late: list[tuple[float, DIMSEPrimitive, int]] = []
        self.closed = False
        t = owner.timeout
        self.connection = Connection(
            "acceptor",
            max_pdu_length=owner.max_pdu_length,
            decide=self._decide,
            timeouts=Timeouts(artim=t, acse=t, dimse=t, network=t),
            dataset_sink=self._sink,
        )

    def _decide(self, rq: AAssociateRQ) -> Accepted | Rejected:
        if self.behaviour is AssociationBehaviour.REJECT:
            return reject(RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED)
        if self.behaviour is AssociationBehaviour.NO_CONTEXTS:
            return respond(rq, {}, max_pdu_length=self.owner.max_pdu_length)
        return respond(rq, _supported_storage, max_pdu_length=self.owner.max_pdu_length)

    def _sink(self, context_id: int, primitive: DIMSEPrimitive) -> _Counted:
        sink = _Counted()
        self.sinks[context_id] = sink
        return sink

    def run(self) -> None:
        sock = self.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = self.connection
        self.take(connection.transport_connected(now=time.monotonic()))
        while not self.closed:
            now = time.monotonic()
            if self.owner._stop.is_set():  # the campaign ended: abort what is open, close
                if connection.state not in ("Sta1", "Sta13", "Sta2"):
                    self.take(connection.abort(now=now))
                    self._flush()
                break
            self._send_due(now)
            if not self._flush() or self.closed:
                break
            waits = [_POLL, *(due - now for due, _, _ in self.late)]
            deadline = connection.next_deadline()
            if deadline is not None:
                waits.append(deadline - now)
            self.take(read_turn(sock, connection, min(waits)))

    def _flush(self) -> bool:
        buffers = self.connection.buffers_to_send()
        if not buffers:
            return True
        try:
            send_buffers(self.sock, buffers)
        except OSError:
            self.take(self.connection.transport_closed(now=time.monotonic()))
            return False
        return True

    def _send_due(self, now: float) -> None:
        due = [item for item in self.late if item[0] <= now]
        self.late = [item for item in self.late if item[0] > now]
        for _, response, context_id in due:
            if self.connection.state == "Sta6":
                self._answer(response, context_id)

    def take(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, ConnectionMessage):
                self._message(event)
            elif isinstance(event, ReleaseRequested) and release_due(self.connection):
                self.connection.release_response()
            elif isinstance(event, ConnectionClosed):
                self.closed = True

    def _message(self, event: ConnectionMessage) -> None:
        primitive = event.primitive
        spec = primitive.message_spec
        if not isinstance(primitive, C_STORE) or spec is None or not spec.is_request:
            return
        values = primitive.values()
        behaviour = draw_store(self.rng)
        sink = self.sinks.pop(event.context_id, None)
        ae = values.get("MoveOriginatorApplicationEntityTitle")
        message_id = values.get("MoveOriginatorMessageID")
        self.owner._record(
            StoreRecord(
                self.index,
                None if ae is None else str(ae).strip(),
                message_id if isinstance(message_id, int) else None,
                behaviour,
                0 if sink is None else sink.bytes,
            )
        )
        if behaviour is StoreBehaviour.ABORT:
            self.take(self.connection.abort(now=time.monotonic()))
            return
        response = build_response(primitive, STATUS[behaviour])
        if behaviour is StoreBehaviour.SLOW:
            self.late.append((time.monotonic() + SLOW_SECONDS, response, event.context_id))
            return
        self._answer(response, event.context_id)

    def _answer(self, response: DIMSEPrimitive, context_id: int) -> None:
        try:
            self.connection.send_message(response, context_id)
        except DimseCodecError:  # the context went away (a broken request): end it
            self.take(self.connection.abort(now=time.monotonic()))


# -- the oracle's side: a case's C-MOVE and its final response -----------------------------------


def _messages(data: bytes) -> list[DIMSEPrimitive]:
    """The whole DIMSE messages in one direction's bytes (their command sets; data sets ignored)."""
    decoder = StreamDecoder(max_pdu_length=0)
    try:
        events = decoder.feed(data)
    except DimseCodecError:
        return []
    return [e.primitive for e in events if isinstance(e, MessageReceived)]


def move_mismatch(
    sent: Sequence[bytes],
    received: Sequence[bytes],
    valid: Sequence[bool],
    destination: MoveDestination,
    mark: int,
    originator_ae: str,
    first_association: int = 0,
) -> list[str]:
    """Problems with the sub-operation counts of a case's valid C-MOVEs to ``destination``
    (steps ``sent`` with their ``valid`` verdicts, what was ``received``), against the C-STOREs
    it got since ``mark`` on association ``first_association`` or later; empty when they agree
    or no final response came."""
    answers = [p for data in received for p in _messages(data)]
    problems: list[str] = []
    for data, ok in zip(sent, valid, strict=True):
        if not ok:
            continue
        for request in _messages(data):
            if not isinstance(request, C_MOVE):
                continue
            values = request.values()
            if str(values.get("MoveDestination", "")).strip() != destination.ae_title:
                continue
            message_id = values.get("MessageID")
            final = next(
                (
                    a.values()
                    for a in answers
                    if isinstance(a, C_MOVE)
                    and a.values().get("MessageIDBeingRespondedTo") == message_id
                    and a.values().get("Status") not in (None, 0xFF00, 0xFF01)
                ),
                None,
            )
            if final is None or not isinstance(message_id, int):
                continue
            tally = destination.tally_since(mark, originator_ae, message_id, first_association)
            destination.log.checked += 1
            found = check_counts(final, tally)
            if found:
                destination.log.mismatches += 1
            problems.extend(f"C-MOVE {message_id}: {p}" for p in found)
    return problems


def checked_moves(
    runner: Callable[[Case], Observation], destination: MoveDestination, originator_ae: str
) -> Callable[[Case], Observation]:
    """``runner`` with the sub-operation counts of each case's C-MOVEs to ``destination``
    checked: a mismatch turns a ``normal`` example into a ``not-as-prescribed`` finding."""

    def run(case: Case) -> Observation:
        mark, first = destination.store_count, destination.association_count + 1
        observation = runner(case)
        records = observation.records
        steps = observation.judgement.steps[: len(records)]
        problems = move_mismatch(
            [r.sent for r in records],
            [r.received for r in records],
            [s.valid for s in steps],
            destination,
            mark,
            originator_ae,
            first,
        )
        if not problems or observation.classification is not Classification.NORMAL:
            return observation
        verdict = CaseVerdict(
            Classification.NOT_AS_PRESCRIBED,
            "sub-operation counts disagree with the move destination: " + "; ".join(problems),
        )
        return replace(observation, verdict=verdict)

    return run
