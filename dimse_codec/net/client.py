"""An asyncio DICOM client on the sans-I/O :class:`~dimse_codec.upper_layer.Connection`.

``async with Client(host, port, ...) as client`` opens the transport, negotiates, and on exit
releases (or aborts, when the block raised). ``await client.send(primitive, dataset)`` returns
the final response; ``async for response in client.request(...)`` yields the Pending ones too.
The peer's requests on the same association (C-STOREs of a C-GET, a Storage Commitment report)
go to ``handlers`` as on a server. Timers are the connection's: every read waits at most until
``next_deadline()`` and then calls ``handle_timeout``.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any

from pydicom.dataset import Dataset

from dimse_codec.dimse.primitives import C_ECHO, DIMSEPrimitive
from dimse_codec.net._common import (
    CLIENT_TIMEOUTS,
    STREAM_READ_SIZE,
    AssociationAborted,
    ClientSetup,
    DatasetLike,
    Peers,
    Request,
    acknowledge_at_once,
    answer_events,
    final_or_raise,
    resolve,
    store_request,
)
from dimse_codec.services import Services, StoreElsewhere, Work
from dimse_codec.services.contexts import STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE
from dimse_codec.services.results import Response

__all__ = ["CLIENT_TIMEOUTS", "Client", "DatasetLike", "perform_work"]

WRITE_CHUNK = 1 << 18
"""Bytes written before waiting for the transport to drain."""


class _Link:
    """One Connection and its Services on an asyncio stream: read, time out, step, write."""

    def __init__(
        self,
        services: Services,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_work: Callable[[Work], Any] | None = None,
    ) -> None:
        self.services = services
        self.connection = services.connection
        self.reader = reader
        self.writer = writer
        self.on_work = on_work
        self.closed = False
        self.aborted: str | None = None
        self._read: asyncio.Task[bytes] | None = None

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def flush(self) -> None:
        """Write what the connection has to send; close the transport once it may close."""
        buffers = self.connection.buffers_to_send()
        if buffers and not self.writer.is_closing():
            try:
                await self._write(buffers)
            except (ConnectionError, OSError):
                self._take(self.connection.transport_closed(now=self.now()))
        if self.closed:
            self.close()

    async def _write(self, buffers: list[Any]) -> None:
        """Write buffer by buffer, draining as the transport fills: ``writelines`` would join
        them into one copy of the whole message, and a data set may be hundreds of MB."""
        unflushed = 0
        for buffer in buffers:
            self.writer.write(buffer)
            unflushed += len(buffer)
            if unflushed >= WRITE_CHUNK:
                await self.writer.drain()
                unflushed = 0
        await self.writer.drain()

    def _take(self, events: list[Any]) -> None:
        closed, aborted = answer_events(self.services, events)
        if aborted is not None and self.aborted is None:
            self.aborted = aborted.description
        if closed:
            self.closed = True
            if self.aborted is None and self.connection.association is None:
                self.aborted = "the association ended before it was established"

    def close(self) -> None:
        if self._read is not None:
            self._read.cancel()
            self._read = None
        if not self.writer.is_closing():
            self.writer.close()

    async def turn(self) -> None:
        """Do one thing: take what the peer sent, run a timer, or advance an operation."""
        if self._read is None:
            self._read = asyncio.ensure_future(self.reader.read(STREAM_READ_SIZE))
        runnable = self.services.runnable
        deadline = self.connection.next_deadline()
        timeout = 0.0 if runnable else None if deadline is None else max(deadline - self.now(), 0)
        done, _ = await asyncio.wait({self._read}, timeout=timeout)
        if done:
            read, self._read = self._read, None
            try:
                data = read.result()
            except (ConnectionError, OSError):
                data = b""
            if data:
                acknowledge_at_once(self.writer.get_extra_info("socket"))
                self._take(self.connection.receive_data(data, now=self.now()))
            else:
                self._take(self.connection.transport_closed(now=self.now()))
        elif runnable:
            work = self.services.step()
            if work is not None and self.on_work is not None:
                await self.flush()
                await self.on_work(work)
        else:
            self._take(self.connection.handle_timeout(self.now()))
        await self.flush()


class Client(ClientSetup):
    """An association we request, over asyncio streams (TCP, or TLS with ``ssl``).

    The arguments are :class:`~dimse_codec.net._common.ClientSetup`'s: ``contexts`` proposed
    as given, ``datasets`` adding the contexts they need, ``roles``, ``handlers`` for what the
    peer sends us, and ``peers`` for work that needs a new association.
    """

    _link: _Link | None = None

    # -- the association -------------------------------------------------------------------------

    async def connect(self) -> Client:
        """Open the transport and negotiate; raise ``AssociationRejectedError`` or
        ``AssociationAborted`` when no association results."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.ssl, limit=STREAM_READ_SIZE),
            self.connect_timeout,
        )
        link = self._link = _Link(self.services, reader, writer, self._work)
        link._take(self._open(link.now()))
        await link.flush()
        while self.connection.state != "Sta6" and not link.closed:
            await link.turn()
        if self.connection.state != "Sta6":
            link.close()
            raise AssociationAborted(link.aborted or "no association")
        return self

    async def __aenter__(self) -> Client:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.release()
        else:
            await self.abort()

    def _ready(self) -> _Link:
        link = self._link
        if link is None or link.closed:
            raise AssociationAborted(
                (link.aborted if link else None) or "the association is not open"
            )
        return link

    async def release(self) -> None:
        """A-RELEASE: ask, wait for the answer (bounded by the ACSE timer), close."""
        link = self._link
        if link is None or link.closed:
            return
        if self.connection.state == "Sta6":
            self.connection.release(now=link.now())
            await link.flush()
        while not link.closed:
            await link.turn()
        link.close()

    async def abort(self) -> None:
        """A-ABORT and close at once."""
        link = self._link
        if link is None or link.closed:
            return
        if self.connection.state not in ("Sta1", "Sta13"):
            link._take(self.connection.abort(now=link.now()))
        await link.flush()
        link.close()

    async def _work(self, work: Work) -> None:
        await perform_work(self.services, work, self.peers, self.calling_ae_title, self.ssl)

    # -- requests --------------------------------------------------------------------------------

    async def request(
        self,
        primitive: DIMSEPrimitive,
        dataset: Dataset | bytes | memoryview | None = None,
        *,
        context_id: int | None = None,
    ) -> AsyncIterator[Response]:
        """Send a request and yield its responses as they arrive, Pending ones included."""
        link = self._ready()
        message_id = self.services.request(primitive, dataset, context_id=context_id)
        await link.flush()
        tracker = self.services.tracker
        while True:
            for response in tracker.responses(message_id):
                yield response
                if not response.pending:
                    return
            if link.closed:
                raise AssociationAborted(link.aborted or "the association ended")
            await link.turn()

    async def send(
        self,
        primitive: DIMSEPrimitive,
        dataset: Dataset | bytes | memoryview | None = None,
        *,
        context_id: int | None = None,
    ) -> Response:
        """Send a request and return its final response (Pending ones are skipped)."""
        responses = [r async for r in self.request(primitive, dataset, context_id=context_id)]
        return final_or_raise(responses, "no final response")

    async def cancel(self, message_id: int) -> None:
        """C-CANCEL an outstanding C-FIND, C-GET or C-MOVE (its ``response.message_id``) now;
        its responses go on to the final one (FE00H when the peer stopped)."""
        link = self._ready()
        self._cancel(message_id)
        await link.flush()

    async def _send(self, request: Request) -> Response:
        primitive, dataset, context_id = request
        return await self.send(primitive, dataset, context_id=context_id)

    async def echo(self) -> Response:
        """C-ECHO (Verification)."""
        return await self.send(C_ECHO())

    async def store(self, item: DatasetLike, *, priority: int = 0) -> Response:
        """C-STORE a data set; a file or :class:`Instance` travels byte for byte in its own
        transfer syntax (on the context proposed for it)."""
        return await self._send(self._store(item, priority))

    async def find(
        self, identifier: Dataset, model: str = STUDY_ROOT_FIND, *, priority: int = 0
    ) -> AsyncIterator[Response]:
        """C-FIND: yield each Pending match (``response.dataset``), then the final response."""
        primitive, data, _ = self._find(identifier, model, priority)
        async for response in self.request(primitive, data):
            yield response

    async def get(
        self, identifier: Dataset, model: str = STUDY_ROOT_GET, *, priority: int = 0
    ) -> Response:
        """C-GET: the instances arrive as C-STOREs served by the ``"C-STORE"`` handler."""
        return await self._send(self._get(identifier, model, priority))

    async def move(
        self,
        identifier: Dataset,
        destination: str,
        model: str = STUDY_ROOT_MOVE,
        *,
        priority: int = 0,
    ) -> Response:
        """C-MOVE to ``destination``'s AE title; the final response carries the counts."""
        return await self._send(self._move(identifier, destination, model, priority))

    async def n_get(
        self, sop_class: str, sop_instance: str, attributes: Iterable[int] = ()
    ) -> Response:
        """N-GET the listed attribute tags (all of them when empty)."""
        return await self._send(self._n_get(sop_class, sop_instance, attributes))

    async def n_set(self, sop_class: str, sop_instance: str, modifications: Dataset) -> Response:
        """N-SET with a Modification List."""
        return await self._send(self._n_set(sop_class, sop_instance, modifications))

    async def n_action(
        self, sop_class: str, sop_instance: str, action_type: int, information: Dataset | None
    ) -> Response:
        """N-ACTION with its Action Type ID and Action Information."""
        return await self._send(self._n_action(sop_class, sop_instance, action_type, information))

    async def n_create(
        self, sop_class: str, attributes: Dataset | None, sop_instance: str | None = None
    ) -> Response:
        """N-CREATE (the performer assigns the instance UID when ``sop_instance`` is None)."""
        return await self._send(self._n_create(sop_class, attributes, sop_instance))

    async def n_delete(self, sop_class: str, sop_instance: str) -> Response:
        """N-DELETE."""
        return await self._send(self._n_delete(sop_class, sop_instance))

    async def n_event_report(
        self, sop_class: str, sop_instance: str, event_type: int, information: Dataset | None
    ) -> Response:
        """N-EVENT-REPORT with its Event Type ID and Event Information."""
        request = self._n_event_report(sop_class, sop_instance, event_type, information)
        return await self._send(request)


async def perform_work(
    services: Services,
    work: Work,
    peers: Peers | None,
    calling_ae_title: str,
    ssl: _ssl.SSLContext | None,
) -> None:
    """Do what needs a new association (a C-MOVE sub-operation, a report) and tell the services.

    The status is the request's (A801H when ``peers`` does not know the AE title, A702H when no
    association could be made).
    """
    title = work.destination if isinstance(work, StoreElsewhere) else work.called_ae_title
    where = resolve(peers, title)
    if where is None:
        services.work_done(work, 0xA801)
        return
    if isinstance(work, StoreElsewhere):
        client = Client(
            where[0],
            where[1],
            calling_ae_title=calling_ae_title,
            called_ae_title=title,
            datasets=[work.instance],
            ssl=ssl,
        )
    else:
        client = Client(
            where[0],
            where[1],
            calling_ae_title=calling_ae_title,
            called_ae_title=title,
            contexts=work.contexts,
            roles=work.roles,
            ssl=ssl,
        )
    try:
        async with client:
            if isinstance(work, StoreElsewhere):
                primitive, data, context_id = store_request(client.association, work.instance, 0)
                primitive.MoveOriginatorApplicationEntityTitle = work.originator_ae_title
                primitive.MoveOriginatorMessageID = work.originator_message_id
                response = await client.send(primitive, data, context_id=context_id)
            else:
                response = await client.send(work.primitive, work.dataset)
        services.work_done(work, response.status)
    except Exception:  # the operation must go on whatever the destination did
        services.work_done(work, 0xA702)
