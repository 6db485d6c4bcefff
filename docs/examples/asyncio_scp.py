"""A small asyncio DICOM SCP on dimse-codec: the codec makes every byte, asyncio streams move them.

It shows the acceptor side of the wire layer against real peers: answer the A-ASSOCIATE-RQ with
``respond``, reassemble requests with a ``StreamDecoder`` (C-STORE data sets stream straight to
disk through its ``dataset_sink``), answer each one with ``build_response`` via the handler for its
service, and answer A-RELEASE-RQ with A-RELEASE-RP. It listens on 127.0.0.1 only.

What it accepts (our transfer syntax preference first: Explicit, then Implicit VR Little Endian):

* Verification (C-ECHO);
* every Storage SOP class (``1.2.840.10008.5.1.4.1.1.*``, C-STORE), also in a few compressed
  transfer syntaxes since the data set is written as received. With ``--out DIR`` each instance
  becomes ``DIR/<SOP Instance UID>.dcm``, a Part-10 file whose File Meta Information comes from
  the command (SOP Class and Instance UIDs) and the context (transfer syntax);
* Storage Commitment Push Model, Modality Performed Procedure Step, Basic Film Session and Printer
  (N-ACTION, N-EVENT-REPORT, N-GET, N-SET, N-CREATE, N-DELETE). The N-services work on an
  in-memory table of instances: N-CREATE adds one (assigning a UID when the request has none),
  N-GET reads it, N-SET changes it, N-DELETE removes it (0112H when unknown). N-ACTION and
  N-EVENT-REPORT echo their Action/Event Information back as Action Reply/Event Reply, so a peer
  can check that a data set crossed the wire intact in both directions.

Run from the repository root::

    python docs/examples/asyncio_scp.py 11112 --ae DIMSECODEC --out /tmp/received
    python docs/examples/asyncio_scp.py 0          # any free port

It prints the port it listens on, alone on the first line of stdout (so a test can start it on
port 0), logs to stderr, and stops cleanly on SIGTERM or Ctrl-C. ``--ae`` makes it reject
requests addressed to another called AE title; ``--max-pdu`` sets the largest P-DATA-TF it
receives (what it announces). See ``docs/peers.md`` for the tests that drive it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID, generate_uid

from dimse_codec import (
    C_ECHO,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
    DIMSEPrimitive,
)
from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    Accepted,
    Association,
    respond,
)
from dimse_codec.dimse.responses import (
    Event,
    HandlerResult,
    PresentationContextTuple,
    build_response,
    handle,
)
from dimse_codec.pdata import (
    IncompleteMessage,
    MessageReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
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

LOG = logging.getLogger("asyncio_scp")

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
NETWORK_SYNTAXES = (EXPLICIT, IMPLICIT, DEFLATED)
"""Transfer syntaxes for C-ECHO and the N-services, in our order of preference."""
STORAGE_SYNTAXES = (
    *NETWORK_SYNTAXES,
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired, still sent by old modalities)
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
)
"""Storage data sets are written as received, so compressed ones are accepted too."""

VERIFICATION = "1.2.840.10008.1.1"
STORAGE_PREFIX = "1.2.840.10008.5.1.4.1.1."
N_SERVICE_CLASSES = {
    "1.2.840.10008.1.20.1": "Storage Commitment Push Model",
    "1.2.840.10008.3.1.2.3.3": "Modality Performed Procedure Step",
    "1.2.840.10008.5.1.1.1": "Basic Film Session",
    "1.2.840.10008.5.1.1.16": "Printer",
}

NO_SUCH_INSTANCE = 0x0112
DUPLICATE_INSTANCE = 0x0111
OUT_OF_RESOURCES = 0xA700

DEFAULT_TIMEOUT = 60.0
"""Seconds an association may stay silent before we abort it (ARTIM and idle timer)."""
READ_SIZE = 1 << 16

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")

Handler = Callable[[Event], HandlerResult]


def supported_syntaxes(abstract_syntax: str) -> Sequence[str] | None:
    """Transfer syntaxes we take for a SOP class, best first; ``None`` rejects the class."""
    if abstract_syntax == VERIFICATION or abstract_syntax in N_SERVICE_CLASSES:
        return NETWORK_SYNTAXES
    if abstract_syntax.startswith(STORAGE_PREFIX):
        return STORAGE_SYNTAXES
    return None


def _reply(dataset: Dataset) -> Dataset | None:
    """A reply data set, or none at all when it would be empty (no empty data PDV is sent)."""
    return dataset if len(dataset) else None


class Instances:
    """The managed SOP instances of the N-services, and one handler per service over them."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], Dataset] = {}

    @staticmethod
    def _key(request: DIMSEPrimitive) -> tuple[str, str]:
        """An instance's (class, instance) UIDs, as Requested... or Affected... parameters."""
        names = ("RequestedSOPClassUID", "AffectedSOPClassUID")
        sop_class = getattr(request, names[0], None) or getattr(request, names[1], None)
        names = ("RequestedSOPInstanceUID", "AffectedSOPInstanceUID")
        instance = getattr(request, names[0], None) or getattr(request, names[1], None)
        return str(sop_class), str(instance)

    def handlers(self) -> dict[type[DIMSEPrimitive], Handler]:
        """The handler of each service this SCP serves (C-STORE is handled by the connection)."""
        return {
            C_ECHO: lambda event: 0x0000,
            N_CREATE: self.on_create,
            N_GET: self.on_get,
            N_SET: self.on_set,
            N_DELETE: self.on_delete,
            N_ACTION: lambda event: self.echo(event, "ActionInformation"),
            N_EVENT_REPORT: lambda event: self.echo(event, "EventInformation"),
        }

    @staticmethod
    def echo(event: Event, keyword: str) -> HandlerResult:
        """Success, with the request's data set bytes, exactly as received, as the reply."""
        received = event.request.payload_bytes(keyword)
        return 0x0000, bytes(received) if received else None

    def on_create(self, event: Event) -> HandlerResult:
        """Add an instance with the request's Attribute List; reply with what was stored."""
        key = self._key(event.request)
        if key in self.table:
            return DUPLICATE_INSTANCE
        attributes = (
            event.attribute_list if event.request.payload_bytes("AttributeList") else Dataset()
        )
        self.table[key] = attributes
        return 0x0000, _reply(attributes)

    def on_get(self, event: Event) -> HandlerResult:
        """Reply with the requested attributes of an instance (all when none are listed)."""
        stored = self.table.get(self._key(event.request))
        if stored is None:
            return NO_SUCH_INSTANCE
        tags = event.request.AttributeIdentifierList  # type: ignore[attr-defined]
        if not tags:
            return 0x0000, _reply(stored)
        reply = Dataset()
        for tag in tags:
            if tag in stored:
                reply[tag] = stored[tag]
        return 0x0000, _reply(reply)

    def on_set(self, event: Event) -> HandlerResult:
        """Apply the Modification List to an instance; reply with the attributes changed."""
        stored = self.table.get(self._key(event.request))
        if stored is None:
            return NO_SUCH_INSTANCE
        modifications = event.modification_list
        for element in modifications:
            stored[element.tag] = element
        return 0x0000, _reply(modifications)

    def on_delete(self, event: Event) -> HandlerResult:
        """Remove an instance."""
        if self.table.pop(self._key(event.request), None) is None:
            return NO_SUCH_INSTANCE
        return 0x0000


class Connection:
    """One association we accepted, from the A-ASSOCIATE-RQ to the release or abort."""

    def __init__(
        self,
        server: SCP,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.association: Association | None = None
        self.decoder = StreamDecoder(
            max_pdu_length=server.max_pdu_length, dataset_sink=self._open_sink
        )
        self.peer = writer.get_extra_info("peername")
        self._files: dict[int, tuple[Path, Path, BinaryIO]] = {}
        """Open C-STORE files by Message ID: final path, partial path, file."""
        self._done = False

    async def run(self) -> None:
        """Serve the association until it is released, aborted or times out."""
        try:
            while not self._done:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE), self.server.timeout)
                if not data:
                    for event in self.decoder.close():
                        await self._on_event(event)
                    LOG.info("%s closed the connection", self.peer)
                    break
                for event in self.decoder.feed(data):
                    await self._on_event(event)
                    if self._done:
                        break
        except asyncio.TimeoutError:
            LOG.warning("%s silent for %.0f s: aborting", self.peer, self.server.timeout)
            await self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.REASON_NOT_SPECIFIED)
        except asyncio.CancelledError:
            await self._abort(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED)
            raise
        except Exception:
            LOG.exception("%s: error, aborting the association", self.peer)
            await self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.REASON_NOT_SPECIFIED)
        finally:
            self._discard_partial_files()
            self.writer.close()
            with contextlib.suppress(OSError, asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.writer.wait_closed(), 5)
            LOG.info("%s: connection closed", self.peer)

    async def _on_event(self, event: object) -> None:
        match event:
            case PDUReceived(pdu=AAssociateRQ() as rq) if self.association is None:
                await self._associate(rq)
            case PDUReceived(pdu=AReleaseRQ()) if self.association is not None:
                await self._write([encode_pdu(AReleaseRP())])
                LOG.info("%s released the association", self.peer)
                self._done = True
            case PDUReceived(pdu=AAbort() as abort):
                LOG.info("%s aborted the association (source %d)", self.peer, abort.source)
                self._done = True
            case PDUReceived(pdu=pdu):
                LOG.warning("%s sent an unexpected %s: aborting", self.peer, pdu.name)
                await self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU)
            case MessageReceived() if self.association is not None:
                await self._on_message(event, self.association)
            case MessageReceived():
                LOG.warning("%s sent P-DATA before associating: aborting", self.peer)
                await self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU)
            case IncompleteMessage(reason=reason, sink=sink):
                LOG.warning("%s: incomplete message (%s)", self.peer, reason)
                self._discard_partial_files(sink)
            case StreamDiagnostic(diagnostic=diagnostic):
                LOG.warning("%s: stream diagnostic %s", self.peer, diagnostic)

    async def _associate(self, rq: AAssociateRQ) -> None:
        result = respond(
            rq,
            supported_syntaxes,
            called_ae_titles={self.server.ae_title} if self.server.ae_title else None,
            max_pdu_length=self.server.max_pdu_length,
        )
        await self._write([encode_pdu(result.pdu)])
        if not isinstance(result, Accepted):
            LOG.info("%s: association rejected (%s)", self.peer, result.description)
            self._done = True
            return
        self.association = result.association
        self.decoder.transfer_syntaxes.update(
            {cid: ctx.transfer_syntax for cid, ctx in self.association.accepted_contexts.items()}
        )
        LOG.info(
            "%s: association from %s accepted, %d context(s), peer max PDU %d",
            self.peer,
            self.association.peer_ae_title,
            len(self.association.accepted_contexts),
            self.association.peer_max_pdu_length,
        )

    async def _on_message(self, message: MessageReceived, association: Association) -> None:
        request = message.primitive
        accepted = association.accepted_contexts.get(message.context_id)
        if accepted is None or getattr(request, "MessageID", None) is None:
            LOG.warning(
                "%s: %s on context %d is not a request we can answer: aborting",
                self.peer,
                request.msg_type,
                message.context_id,
            )
            await self._abort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU_PARAMETER)
            return
        for diagnostic in message.diagnostics + request.diagnostics:
            LOG.warning("%s: %s request: diagnostic %s", self.peer, request.msg_type, diagnostic)
        context = PresentationContextTuple(
            message.context_id, accepted.abstract_syntax, accepted.transfer_syntax
        )
        if isinstance(request, C_STORE):
            response = build_response(request, self._finish_store(message))
        else:
            if isinstance(request, N_CREATE) and request.AffectedSOPInstanceUID is None:
                # PS3.7 10.1.5.1.4: the SCP assigns the UID the requestor left out
                request.AffectedSOPInstanceUID = generate_uid()
            response = handle(request, self.server.handlers.get(type(request)), context)
        plan = encode_pdata(
            response, message.context_id, max_pdu_length=association.peer_max_pdu_length
        )
        for buffers in plan:
            await self._write(buffers)
        LOG.info(
            "%s: %s message %d (%d data set bytes): status 0x%04X",
            self.peer,
            request.msg_type,
            request.MessageID,  # type: ignore[attr-defined]
            message.dataset_length or 0,
            response.Status,  # type: ignore[attr-defined]
        )

    # -- C-STORE to files -----------------------------------------------------------------------

    def _open_sink(self, context_id: int, primitive: DIMSEPrimitive) -> BinaryIO | None:
        """Stream a C-STORE data set straight into ``<out>/<uid>.dcm.part``, after its meta."""
        out = self.server.out_dir
        if out is None or not isinstance(primitive, C_STORE) or self.association is None:
            return None  # kept in memory (and dropped) when there is nowhere to write it
        accepted = self.association.accepted_contexts.get(context_id)
        if accepted is None or primitive.MessageID is None:
            return None
        sop_class = str(primitive.AffectedSOPClassUID or "")
        instance = str(primitive.AffectedSOPInstanceUID or "")
        name = instance if _UID.fullmatch(instance) else f"unnamed-{uuid.uuid4().hex}"
        path = out / f"{name}.dcm"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(sop_class)
        meta.MediaStorageSOPInstanceUID = UID(instance)
        meta.TransferSyntaxUID = UID(accepted.transfer_syntax)
        meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
        meta.SourceApplicationEntityTitle = self.association.peer_ae_title
        header = DicomBytesIO()
        write_file_meta_info(header, meta, enforce_standard=True)
        part = path.with_name(path.name + ".part")
        sink: BinaryIO | None = None
        try:
            sink = part.open("wb")
            sink.write(b"\x00" * 128 + b"DICM" + header.getvalue())
        except OSError:
            LOG.exception("%s: cannot write %s", self.peer, part)
            if sink is not None:
                sink.close()
                part.unlink(missing_ok=True)
            return None  # the data set stays in memory; _finish_store answers A700H
        self._files[primitive.MessageID] = (path, part, sink)
        LOG.info("%s: receiving a C-STORE data set into %s", self.peer, part)
        return sink

    def _finish_store(self, message: MessageReceived) -> int:
        """Close the file a C-STORE data set went to and give it its final name."""
        entry = self._files.pop(message.primitive.MessageID, None)  # type: ignore[attr-defined]
        if entry is None:
            return 0x0000 if self.server.out_dir is None else OUT_OF_RESOURCES
        path, part, sink = entry
        try:
            sink.close()
            part.replace(path)
        except OSError:
            LOG.exception("%s: could not write %s", self.peer, path)
            return OUT_OF_RESOURCES
        return 0x0000

    def _discard_partial_files(self, only: object = None) -> None:
        """Delete the partial files of C-STOREs that never completed (``only``: that sink's)."""
        for message_id, (_, part, sink) in list(self._files.items()):
            if only is None or sink is only:
                sink.close()
                part.unlink(missing_ok=True)
                del self._files[message_id]

    # -- writing ----------------------------------------------------------------------------------

    async def _write(self, buffers: Sequence[bytes | bytearray | memoryview]) -> None:
        self.writer.writelines(buffers)
        await asyncio.wait_for(self.writer.drain(), self.server.timeout)

    async def _abort(self, source: AbortSource, reason: AbortReason) -> None:
        self._done = True
        if self.writer.is_closing():
            return
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await self._write([encode_pdu(AAbort(source=source, reason_diag=reason))])


class SCP:
    """The listening socket and the settings every association shares."""

    def __init__(
        self,
        *,
        ae_title: str | None = None,
        out_dir: Path | None = None,
        max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.ae_title = ae_title
        self.out_dir = out_dir
        self.max_pdu_length = max_pdu_length
        self.timeout = timeout
        self.instances = Instances()
        self.handlers = self.instances.handlers()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await Connection(self, reader, writer).run()
        finally:
            self._tasks.discard(task)

    async def run(self, port: int, stop: asyncio.Event) -> None:
        """Listen on 127.0.0.1:``port`` until ``stop`` is set, then end every association."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        bound = server.sockets[0].getsockname()[1]
        print(bound, flush=True)
        LOG.info("listening on 127.0.0.1:%d", bound)
        async with server:
            await stop.wait()
            LOG.info("stopping")
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--ae", help="our AE title; requests called to another are rejected")
    parser.add_argument("--out", type=Path, help="directory to write received instances to")
    parser.add_argument(
        "--max-pdu",
        type=int,
        default=DEFAULT_MAX_PDU_LENGTH,
        help="largest P-DATA-TF we receive, announced to the peer (0: any)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="idle seconds before an abort"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    scp = SCP(ae_title=args.ae, out_dir=args.out, max_pdu_length=args.max_pdu, timeout=args.timeout)
    await scp.run(args.port, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the SCP until SIGTERM or Ctrl-C; return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if args.out is not None and not args.out.is_dir():
        print(f"error: --out {args.out} is not a directory", file=sys.stderr)
        return 2
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
