"""A blocking DICOM client over a plain socket: the asyncio :class:`~dimse_codec.net.Client`'s
surface without an event loop or threads, for scripts and tests.

Each read waits at most until the connection's ``next_deadline()``; when it passes,
``handle_timeout`` runs the timer (which aborts), exactly as in the asyncio client.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator
from types import TracebackType

from pydicom.dataset import Dataset

from dimse_codec.dimse.primitives import C_ECHO, DIMSEPrimitive
from dimse_codec.errors import expect
from dimse_codec.net._common import (
    AssociationAborted,
    ClientSetup,
    DatasetLike,
    Request,
    answer_events,
    final_or_raise,
    read_turn,
    send_buffers,
)
from dimse_codec.services.contexts import STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE
from dimse_codec.services.results import Response
from dimse_codec.upper_layer import Event

__all__ = ["BlockingClient"]


class BlockingClient(ClientSetup):
    """An association we request over a blocking socket (TLS with ``ssl``); the same
    arguments and methods as :class:`~dimse_codec.net.Client`, without ``await``."""

    _socket: socket.socket | None = None
    closed = False
    aborted: str | None = None
    """Why the association ended abruptly, if it did."""

    # -- I/O -------------------------------------------------------------------------------------

    def _flush(self) -> None:
        buffers = self.connection.buffers_to_send()
        if buffers and self._socket is not None:
            try:
                send_buffers(self._socket, buffers)
            except OSError:
                self._take(self.connection.transport_closed(now=time.monotonic()))
        if self.closed:
            self._close()

    def _take(self, events: list[Event]) -> None:
        closed, aborted = answer_events(self.services, events)
        if aborted is not None and self.aborted is None:
            self.aborted = aborted.description
        if closed:
            self.closed = True

    def _close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _turn(self) -> None:
        """Read once (bounded by the next deadline), or run a timer, or advance an operation."""
        sock = expect(self._socket, socket.socket, "BlockingClient: a turn needs its socket")
        if self.services.runnable:
            self.services.step()  # work for a new association is not done by this client
            self._flush()
            return
        deadline = self.connection.next_deadline()
        wait = None if deadline is None else deadline - time.monotonic()
        self._take(read_turn(sock, self.connection, wait))
        self._flush()

    # -- the association -------------------------------------------------------------------------

    def connect(self) -> BlockingClient:
        """Open the socket and negotiate, as ``Client.connect`` does."""
        raw = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        # a message is several writes (command PDU, data PDUs) answered by one small response:
        # Nagle's algorithm would hold the last write for the peer's delayed ACK, ~40 ms a message
        # (asyncio's transports disable it already)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket = (
            self.ssl.wrap_socket(raw, server_hostname=self.host) if self.ssl is not None else raw
        )
        self._take(self._open(time.monotonic()))
        self._flush()
        while self.connection.state != "Sta6" and not self.closed:
            self._turn()
        if self.connection.state != "Sta6":
            self._close()
            raise AssociationAborted(self.aborted or "no association")
        return self

    def __enter__(self) -> BlockingClient:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.release()
        else:
            self.abort()

    def release(self) -> None:
        """A-RELEASE, waiting for the answer."""
        if self._socket is None:
            return
        if self.connection.state == "Sta6":
            self.connection.release(now=time.monotonic())
            self._flush()
        while not self.closed and self._socket is not None:
            self._turn()
        self._close()

    def abort(self) -> None:
        """A-ABORT and close."""
        if self._socket is None:
            return
        if self.connection.state not in ("Sta1", "Sta13"):
            self._take(self.connection.abort(now=time.monotonic()))
        self._flush()
        self._close()

    # -- requests --------------------------------------------------------------------------------

    def request(
        self,
        primitive: DIMSEPrimitive,
        dataset: Dataset | bytes | memoryview | None = None,
        *,
        context_id: int | None = None,
    ) -> Iterator[Response]:
        """Send a request and yield its responses, Pending ones included."""
        if self._socket is None or self.closed:
            raise AssociationAborted(self.aborted or "the association is not open")
        message_id = self.services.request(primitive, dataset, context_id=context_id)
        self._flush()
        while True:
            for response in self.services.tracker.responses(message_id):
                yield response
                if not response.pending:
                    return
            if self.closed or self._socket is None:
                raise AssociationAborted(self.aborted or "the association ended")
            self._turn()

    def send(
        self,
        primitive: DIMSEPrimitive,
        dataset: Dataset | bytes | memoryview | None = None,
        *,
        context_id: int | None = None,
    ) -> Response:
        """Send a request and return its final response."""
        return final_or_raise(
            list(self.request(primitive, dataset, context_id=context_id)), "no final response"
        )

    def cancel(self, message_id: int) -> None:
        """C-CANCEL an outstanding C-FIND, C-GET or C-MOVE now; its responses go on."""
        if self._socket is None or self.closed:
            raise AssociationAborted(self.aborted or "the association is not open")
        self._cancel(message_id)
        self._flush()

    def _send(self, request: Request) -> Response:
        primitive, dataset, context_id = request
        return self.send(primitive, dataset, context_id=context_id)

    def echo(self) -> Response:
        """C-ECHO."""
        return self.send(C_ECHO())

    def store(self, item: DatasetLike, *, priority: int = 0) -> Response:
        """C-STORE, a file byte for byte in its own transfer syntax."""
        return self._send(self._store(item, priority))

    def find(
        self, identifier: Dataset, model: str = STUDY_ROOT_FIND, *, priority: int = 0
    ) -> Iterator[Response]:
        """C-FIND: each Pending match, then the final response."""
        primitive, data, _ = self._find(identifier, model, priority)
        return self.request(primitive, data)

    def get(
        self, identifier: Dataset, model: str = STUDY_ROOT_GET, *, priority: int = 0
    ) -> Response:
        """C-GET; the instances go to the ``"C-STORE"`` handler."""
        return self._send(self._get(identifier, model, priority))

    def move(
        self,
        identifier: Dataset,
        destination: str,
        model: str = STUDY_ROOT_MOVE,
        *,
        priority: int = 0,
    ) -> Response:
        """C-MOVE to ``destination``."""
        return self._send(self._move(identifier, destination, model, priority))

    def n_get(self, sop_class: str, sop_instance: str, attributes: Iterable[int] = ()) -> Response:
        """N-GET (all attributes when ``attributes`` is empty)."""
        return self._send(self._n_get(sop_class, sop_instance, attributes))

    def n_set(self, sop_class: str, sop_instance: str, modifications: Dataset) -> Response:
        """N-SET."""
        return self._send(self._n_set(sop_class, sop_instance, modifications))

    def n_action(
        self, sop_class: str, sop_instance: str, action_type: int, information: Dataset | None
    ) -> Response:
        """N-ACTION."""
        return self._send(self._n_action(sop_class, sop_instance, action_type, information))

    def n_create(
        self, sop_class: str, attributes: Dataset | None, sop_instance: str | None = None
    ) -> Response:
        """N-CREATE."""
        return self._send(self._n_create(sop_class, attributes, sop_instance))

    def n_delete(self, sop_class: str, sop_instance: str) -> Response:
        """N-DELETE."""
        return self._send(self._n_delete(sop_class, sop_instance))

    def n_event_report(
        self, sop_class: str, sop_instance: str, event_type: int, information: Dataset | None
    ) -> Response:
        """N-EVENT-REPORT."""
        request = self._n_event_report(sop_class, sop_instance, event_type, information)
        return self._send(request)
