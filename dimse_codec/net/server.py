"""An asyncio DICOM server: one acceptor :class:`~dimse_codec.upper_layer.Connection` and its
:class:`~dimse_codec.services.Services` per transport connection.

It holds up against its clients: a cap on concurrent associations (more are rejected,
transient, local-limit-exceeded), the connection's per-PDU network timer as idle and
slow-sender timeout (a peer dribbling bytes does not reset it, only a whole PDU does), and
received data sets spooled to a temporary file past ``spool_threshold`` so that memory does not
grow with their size.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH, Accepted, Rejected, Supported
from dimse_codec.errors import expect
from dimse_codec.net._common import (
    STREAM_READ_SIZE,
    Peers,
    SpoolSinks,
    acceptor_decision,
    resolve,
)
from dimse_codec.net.client import _Link, perform_work
from dimse_codec.pdu import AAssociateRQ
from dimse_codec.policy import LENIENT, Policy
from dimse_codec.services import Handlers, Services, Work, is_storage, supported_for
from dimse_codec.upper_layer import Connection, Timeouts

__all__ = ["SERVER_TIMEOUTS", "Server", "serve"]

SERVER_TIMEOUTS = Timeouts(artim=30.0, acse=30.0, dimse=60.0, network=60.0)
"""A server's timers: ARTIM 30 s, and 60 s without a whole PDU aborts (idle or slow sender)."""
SPOOL_THRESHOLD = 1 << 20
"""Received data sets larger than this (bytes) go to a temporary file."""


class Server:
    """Serve DIMSE on ``host:port`` (loopback by default) with a handler per service.

    ``supported`` defaults to what the handlers serve: Verification, every Storage SOP class in
    every transfer syntax for C-STORE, the Query/Retrieve models for C-FIND, C-GET and
    C-MOVE, Storage Commitment for N-ACTION and N-EVENT-REPORT. ``ae_title`` (when given)
    rejects requests addressed to another AE. ``peers`` says where C-MOVE destinations and
    report receivers are. ``port=0`` picks a free port (read :attr:`port` after :meth:`start`).
    """

    def __init__(
        self,
        handlers: Handlers | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ae_title: str | None = None,
        supported: Supported | None = None,
        ssl: _ssl.SSLContext | None = None,
        max_associations: int = 32,
        timeouts: Timeouts = SERVER_TIMEOUTS,
        max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
        policy: Policy = LENIENT,
        peers: Peers | None = None,
        spool_dir: Path | None = None,
        spool_threshold: int = SPOOL_THRESHOLD,
    ) -> None:
        self.handlers = dict(handlers or {})
        self.host = host
        self.port = port
        self.ae_title = ae_title
        self.supported = supported if supported is not None else _default_supported(self.handlers)
        self.ssl = ssl
        self.max_associations = max_associations
        self.timeouts = timeouts
        self.max_pdu_length = max_pdu_length
        self.policy = policy
        self.peers = peers
        self.spool_dir = spool_dir
        self.spool_threshold = spool_threshold
        self.associations = 0
        """How many associations are open now."""
        self.served = 0
        """How many transport connections were taken so far."""
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> Server:
        """Listen; :attr:`port` is then the port really bound."""
        self._server = await asyncio.start_server(
            self._serve_transport, self.host, self.port, ssl=self.ssl, limit=STREAM_READ_SIZE
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def serve_forever(self) -> None:
        """Run until :meth:`close` (or cancellation)."""
        if self._server is None:
            await self.start()
        server = expect(self._server, asyncio.base_events.Server, "Server.serve_forever, started")
        with contextlib.suppress(asyncio.CancelledError):
            await server.serve_forever()

    async def close(self) -> None:
        """Stop listening, abort the associations in progress and wait for them to end."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Server:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _full(self) -> bool:
        return self.associations >= self.max_associations

    async def _serve_transport(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = expect(
            asyncio.current_task(), asyncio.Task, "Server: a transport is served in a task"
        )
        self._tasks.add(task)
        self.served += 1
        counted = False

        def decide(rq: AAssociateRQ) -> Accepted | Rejected:
            nonlocal counted
            result = choose(rq)
            if isinstance(result, Accepted):
                counted = True
                self.associations += 1
            return result

        choose = acceptor_decision(
            self.supported,
            ae_title=self.ae_title,
            max_pdu_length=self.max_pdu_length,
            policy=self.policy,
            full=self._full,
        )
        sinks = SpoolSinks(self.spool_dir, self.spool_threshold)
        connection = Connection(
            "acceptor",
            policy=self.policy,
            max_pdu_length=self.max_pdu_length,
            timeouts=self.timeouts,
            decide=decide,
            dataset_sink=sinks,
        )
        services = Services(
            connection,
            self.handlers,
            known_destination=None if self.peers is None else self._knows,
            policy=self.policy,
        )
        perform = self._work_for(services)
        link = _ServerLink(services, reader, writer, perform)
        cancelled = False
        try:
            link._take(connection.transport_connected(now=link.now()))
            while not link.closed:
                await link.turn()
        except asyncio.CancelledError:
            cancelled = True
            if connection.state not in ("Sta1", "Sta13", "Sta2"):
                link._take(connection.abort(now=link.now()))
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(link.flush(), 1.0)
        except Exception:  # one broken association must not stop the server
            if connection.state not in ("Sta1", "Sta13", "Sta2"):
                link._take(connection.abort(now=link.now()))
                with contextlib.suppress(Exception):
                    await link.flush()
        finally:
            services.forget()
            sinks.close_unfinished()
            link.close()
            if not cancelled:  # work that outlives the association (a commitment report)
                while (work := services.step()) is not None:
                    await perform(work)
            if counted:
                self.associations -= 1
            self._tasks.discard(task)

    def _knows(self, ae_title: str) -> bool:
        return resolve(self.peers, ae_title) is not None

    def _work_for(self, services: Services) -> Callable[[Work], Any]:
        async def run(work: Work) -> None:
            title = self.ae_title or services.association.local_ae_title
            await perform_work(services, work, self.peers, title, None)

        return run


class _ServerLink(_Link):
    """A server's link, whose connection clock stands still while the server works.

    The connection's network timer measures the peer's sending (the time between two of its
    whole PDUs); while a handler runs or an operation produces its responses (a slow C-FIND,
    C-GET sub-operations, a C-MOVE's sub-association) the peer waits for us, so that time is
    taken off the clock the connection sees. The timers of our own waits (a response to our
    request, the release) still run whenever we are not working.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = asyncio.get_running_loop().time
        self._held = 0.0
        self._busy_since: float | None = None

    def now(self) -> float:  # type: ignore[override]  # an instance's clock, not the loop's
        """The loop's time less the time spent working; frozen while working."""
        moment = self._busy_since if self._busy_since is not None else self._clock()
        return moment - self._held

    @contextlib.contextmanager
    def _working(self) -> Iterator[None]:
        if self._busy_since is not None:  # nested: the outer interval counts
            yield
            return
        self._busy_since = self._clock()
        try:
            yield
        finally:
            self._held += self._clock() - self._busy_since
            self._busy_since = None

    def _take(self, events: list[Any]) -> None:
        with self._working():  # the handlers of what arrived run in here
            super()._take(events)

    async def turn(self) -> None:
        if self.services.runnable:  # results to produce: the whole turn is ours
            with self._working():
                await super().turn()
        else:
            await super().turn()


def _default_supported(handlers: Handlers) -> Supported:
    """What the handlers serve, with every Storage SOP class (by UID root) for C-STORE."""
    served = set(handlers) | {"C-ECHO"}
    if "C-GET" in served:  # the storage classes a C-GET's sub-operations travel on
        served.add("C-STORE")
    fixed = supported_for(served)
    every_syntax = supported_for((), storage=[_ANY_STORAGE])[_ANY_STORAGE]

    def lookup(abstract_syntax: str) -> list[str] | None:
        if abstract_syntax in fixed:
            return fixed[abstract_syntax]
        if "C-STORE" in served and is_storage(abstract_syntax):
            return every_syntax
        return None

    return lookup


_ANY_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
"""A Storage SOP class (Secondary Capture) whose accepted syntaxes stand for all of them."""


async def serve(handlers: Handlers | None = None, **options: Any) -> Server:
    """Start a :class:`Server` (the same keyword arguments) and return it, listening."""
    return await Server(handlers, **options).start()
