"""A small asyncio DICOM SCU on dimse-codec: the codec makes every byte, asyncio streams move them.

It shows the whole requestor side of the wire layer against a real peer: propose presentation
contexts and read the A-ASSOCIATE-AC (``dimse_codec.association``), send DIMSE messages cut to
the peer's maximum PDU length (``encode_pdata``), reassemble the responses (``StreamDecoder``),
then release the association (A-RELEASE-RQ/RP) or report the peer's A-ABORT. Every read has a
timeout and every loop ends at a deadline, so a silent or broken peer cannot hang it.

Run from the repository root (``--help`` on each command lists its options)::

    python docs/examples/asyncio_scu.py echo 127.0.0.1 11112
    python docs/examples/asyncio_scu.py store 127.0.0.1 11112 a.dcm b.dcm --ts explicit \\
        --max-pdu 4096
    python docs/examples/asyncio_scu.py n-create 127.0.0.1 11112 --class 1.2.840.10008.3.1.2.3.3 \\
        --dataset attributes.dcm
    python docs/examples/asyncio_scu.py n-get 127.0.0.1 11112 --class 1.2.840.10008.3.1.2.3.3 \\
        --instance 1.2.3.4 --tag PatientName
    python docs/examples/asyncio_scu.py n-action 127.0.0.1 11112 --class 1.2.840.10008.1.20.1 \\
        --instance 1.2.840.10008.1.20.1.1 --type 1 --dataset commitment.dcm

``n-set``, ``n-event-report`` and ``n-delete`` take the same options. Data sets for the
N-services are read from DICOM files (with or without File Meta Information). The exit status is
0 when every response was Success or Warning, 1 otherwise, 2 when no association was made.
Tests import the functions (``Client``, ``echo``, ``store``, ``n_get`` ...) instead; see
``docs/peers.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dimse_codec import (
    C_ECHO,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
    DimseCodecError,
    DIMSEPrimitive,
    InvalidParameter,
    StatusCategory,
    category,
)
from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    Aborted,
    Accepted,
    Association,
    ContextSpec,
    build_request,
    read_response,
)
from dimse_codec.dataset import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    decode_dataset,
    encode_dataset,
)
from dimse_codec.pdata import (
    Event,
    IncompleteMessage,
    MessageReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
    encode_pdata,
)
from dimse_codec.pdu import (
    PDU,
    AAbort,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    encode_pdu,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "TRANSFER_SYNTAXES",
    "VERIFICATION",
    "AssociationFailed",
    "Client",
    "PeerAborted",
    "ProtocolError",
    "Reply",
    "echo",
    "main",
    "n_action",
    "n_create",
    "n_delete",
    "n_event_report",
    "n_get",
    "n_set",
    "store",
    "store_dataset",
]

LOG = logging.getLogger("asyncio_scu")

VERIFICATION = "1.2.840.10008.1.1"
TRANSFER_SYNTAXES = {
    "implicit": IMPLICIT_VR_LITTLE_ENDIAN.uid,
    "explicit": EXPLICIT_VR_LITTLE_ENDIAN.uid,
}
"""The ``--ts`` choices: the transfer syntax proposed for (and used by) every context."""

DEFAULT_TIMEOUT = 30.0
"""Seconds any one exchange (association, request, release) may take before we give up."""

READ_SIZE = 1 << 16
"""Bytes asked of the socket per read; the decoder takes them split anywhere."""


class AssociationFailed(Exception):
    """The peer rejected or aborted our association request; the message says why (PS3.8 terms)."""


class PeerAborted(Exception):
    """The peer sent an A-ABORT during the association."""


class ProtocolError(Exception):
    """The peer sent something the protocol does not allow at this point (we abort)."""


@dataclass(frozen=True)
class Reply:
    """A response as the caller wants it: the primitive and its data set decoded (or ``None``)."""

    message: MessageReceived

    @property
    def primitive(self) -> DIMSEPrimitive:
        """The decoded response primitive (Status, MessageIDBeingRespondedTo, ...)."""
        return self.message.primitive

    @property
    def status(self) -> int:
        """The response's (0000,0900) Status."""
        status: int | None = getattr(self.primitive, "Status", None)
        if status is None:
            raise ProtocolError(f"{self.primitive.msg_type} response without a Status")
        return status

    @property
    def raw_dataset(self) -> bytes | None:
        """The response's data set bytes exactly as received, or ``None`` if it had none."""
        return None if self.message.dataset is None else bytes(self.message.dataset)

    @property
    def dataset(self) -> Dataset | None:
        """The response's data set decoded in its context's transfer syntax."""
        raw = self.raw_dataset
        if raw is None:
            return None
        return decode_dataset(raw, self.primitive.transfer_syntax)


class Client:
    """One association we requested: send requests, read responses, then release or abort.

    Build it with :meth:`connect` (or ``async with await Client.connect(...)``, which releases on
    success and aborts on error). ``association`` is what was negotiated; ``pdus_sent`` and
    ``largest_pdu_sent`` count the P-DATA-TF PDUs we wrote, so a test can check the peer's
    maximum length was honoured.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        association: Association,
        decoder: StreamDecoder,
        events: collections.deque[Event],
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.association = association
        self.timeout = timeout
        self.pdus_sent = 0
        self.largest_pdu_sent = 0
        self._decoder = decoder
        self._events = events
        self._message_id = 0
        self._closed = False

    # -- association -------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        contexts: Sequence[ContextSpec],
        *,
        calling_ae_title: str = "DIMSECODEC",
        called_ae_title: str = "ANY-SCP",
        max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Client:
        """Open a TCP connection, propose ``contexts`` and read the answer.

        Raises :class:`AssociationFailed` on an A-ASSOCIATE-RJ or A-ABORT, and
        ``asyncio.TimeoutError`` when the peer does not answer within ``timeout`` seconds.
        """
        rq = build_request(
            calling_ae_title, called_ae_title, contexts, max_pdu_length=max_pdu_length
        )
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        decoder = StreamDecoder(max_pdu_length=max_pdu_length)
        events: collections.deque[Event] = collections.deque()
        try:
            writer.write(encode_pdu(rq))
            await asyncio.wait_for(writer.drain(), timeout)
            deadline = asyncio.get_running_loop().time() + timeout
            answer = await _next_pdu(reader, decoder, events, deadline)
            try:
                result = read_response(rq, answer)
            except InvalidParameter as exc:  # not an AC, RJ or A-ABORT: PS3.8 says abort
                abort = AAbort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU)
                writer.write(encode_pdu(abort))
                raise ProtocolError(str(exc)) from exc
            if not isinstance(result, Accepted):
                raise AssociationFailed(result.description)
            association = result.association
        except BaseException:
            writer.close()
            raise
        decoder.transfer_syntaxes.update(
            {cid: context.transfer_syntax for cid, context in association.accepted_contexts.items()}
        )
        LOG.info(
            "associated with %s: %d context(s) accepted, peer max PDU %d",
            association.peer_ae_title,
            len(association.accepted_contexts),
            association.peer_max_pdu_length,
        )
        return cls(reader, writer, association, decoder, events, timeout=timeout)

    async def __aenter__(self) -> Client:
        """Use the client as ``async with``: release on a clean exit, abort on an error."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release the association, or abort it if the block raised."""
        if exc_type is None:
            await self.release()
        else:
            await self.abort()

    async def release(self) -> None:
        """Send A-RELEASE-RQ, wait for the A-RELEASE-RP and close the connection."""
        if self._closed:
            return
        try:
            self.writer.write(encode_pdu(AReleaseRQ()))
            await asyncio.wait_for(self.writer.drain(), self.timeout)
            deadline = asyncio.get_running_loop().time() + self.timeout
            answer = await _next_pdu(self.reader, self._decoder, self._events, deadline)
            if isinstance(answer, AAbort):
                raise PeerAborted("the peer aborted instead of releasing")
            if not isinstance(answer, AReleaseRP):
                raise ProtocolError(f"{answer.name} received in answer to A-RELEASE-RQ")
        finally:
            await self._close()

    async def abort(self) -> None:
        """Send an A-ABORT (service user) and close the connection, ignoring a dead socket."""
        if self._closed:
            return
        try:
            self.writer.write(encode_pdu(AAbort()))
            await asyncio.wait_for(self.writer.drain(), self.timeout)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            await self._close()

    async def _close(self) -> None:
        self._closed = True
        self.writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), self.timeout)

    # -- messages ----------------------------------------------------------------------------

    def next_message_id(self) -> int:
        """A fresh Message ID for this association (1, 2, ... wrapping within 16 bits)."""
        self._message_id = self._message_id % 0xFFFF + 1
        return self._message_id

    def context_for(self, abstract_syntax: str) -> tuple[int, str]:
        """The accepted context ID and transfer syntax to send a SOP class's messages on."""
        context_id = self.association.context_id_for(abstract_syntax)
        if context_id is None:
            raise ProtocolError(f"the peer accepted no presentation context for {abstract_syntax}")
        return context_id, self.association.accepted_contexts[context_id].transfer_syntax

    async def send(self, primitive: DIMSEPrimitive, abstract_syntax: str) -> None:
        """Send one message on the context accepted for ``abstract_syntax``.

        A ``Dataset`` parameter is encoded in that context's transfer syntax; bytes are sent as
        they are (they must already be in it). The message is cut for the peer's maximum length.
        """
        context_id, transfer_syntax = self.context_for(abstract_syntax)
        primitive.transfer_syntax = transfer_syntax
        plan = encode_pdata(
            primitive, context_id, max_pdu_length=self.association.peer_max_pdu_length
        )
        for buffers in plan:
            self.writer.writelines(buffers)
            self.pdus_sent += 1
            self.largest_pdu_sent = max(self.largest_pdu_sent, sum(len(b) for b in buffers))
            # drain per PDU: the kernel buffer, not our memory, holds what the peer has not read
            await asyncio.wait_for(self.writer.drain(), self.timeout)

    async def receive(self) -> MessageReceived:
        """The next whole DIMSE message from the peer (within ``timeout`` seconds)."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            event = await _next_event(self.reader, self._decoder, self._events, deadline)
            match event:
                case MessageReceived():
                    return event
                case PDUReceived(pdu=AAbort() as abort):
                    await self._close()
                    raise PeerAborted(Aborted(abort).description)
                case PDUReceived(pdu=pdu):
                    await self.abort()
                    raise ProtocolError(f"unexpected {pdu.name} while waiting for a response")
                case IncompleteMessage(reason=reason):
                    await self.abort()
                    raise ProtocolError(f"incomplete message from the peer: {reason}")
                case StreamDiagnostic(diagnostic=diagnostic):
                    LOG.warning("stream: %s", diagnostic)
                case _:
                    LOG.debug("ignored %r", event)

    async def request(self, primitive: DIMSEPrimitive, abstract_syntax: str) -> Reply:
        """Send a request (a Message ID is assigned if it has none) and return its response."""
        if getattr(primitive, "MessageID", None) is None:
            primitive.MessageID = self.next_message_id()  # type: ignore[attr-defined]
        message_id: int = primitive.MessageID  # type: ignore[attr-defined]
        await self.send(primitive, abstract_syntax)
        message = await self.receive()
        responded = getattr(message.primitive, "MessageIDBeingRespondedTo", None)
        if responded != message_id:
            await self.abort()
            raise ProtocolError(
                f"{message.primitive.msg_type} answers message {responded}, not {message_id}"
            )
        for diagnostic in message.diagnostics + message.primitive.diagnostics:
            LOG.warning("%s response: %s", message.primitive.msg_type, diagnostic)
        return Reply(message)


async def _next_event(
    reader: asyncio.StreamReader,
    decoder: StreamDecoder,
    events: collections.deque[Event],
    deadline: float,
) -> Event:
    """The next decoder event, reading from the socket as needed until ``deadline``."""
    loop = asyncio.get_running_loop()
    while not events:
        if reader.at_eof():
            raise ConnectionError("the peer closed the connection")
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise asyncio.TimeoutError("no answer from the peer in time")
        data = await asyncio.wait_for(reader.read(READ_SIZE), remaining)
        # at the end of the stream, close() reports whatever the peer left unfinished
        events.extend(decoder.feed(data) if data else decoder.close())
    return events.popleft()


async def _next_pdu(
    reader: asyncio.StreamReader,
    decoder: StreamDecoder,
    events: collections.deque[Event],
    deadline: float,
) -> PDU:
    """The next PDU other than P-DATA-TF (association, release or abort answers)."""
    event = await _next_event(reader, decoder, events, deadline)
    if isinstance(event, PDUReceived):
        return event.pdu
    if isinstance(event, StreamDiagnostic):
        raise ProtocolError(f"undecodable answer from the peer: {event.diagnostic}")
    raise ProtocolError(f"expected an association or release PDU, got {type(event).__name__}")


# -- services --------------------------------------------------------------------------------


async def echo(
    host: str,
    port: int,
    *,
    calling_ae_title: str = "DIMSECODEC",
    called_ae_title: str = "ANY-SCP",
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Associate, send one C-ECHO, release; return the C-ECHO-RSP status."""
    client = await Client.connect(
        host,
        port,
        [(VERIFICATION, list(TRANSFER_SYNTAXES.values()))],
        calling_ae_title=calling_ae_title,
        called_ae_title=called_ae_title,
        timeout=timeout,
    )
    async with client:
        reply = await client.request(C_ECHO(AffectedSOPClassUID=VERIFICATION), VERIFICATION)
        return reply.status


async def store_dataset(client: Client, dataset: Dataset, *, priority: int = 0) -> Reply:
    """Send one C-STORE of ``dataset`` (encoded in the context's transfer syntax)."""
    sop_class = str(dataset.SOPClassUID)
    _, transfer_syntax = client.context_for(sop_class)
    request = C_STORE(
        AffectedSOPClassUID=sop_class,
        AffectedSOPInstanceUID=str(dataset.SOPInstanceUID),
        Priority=priority,
        DataSet=encode_dataset(dataset, transfer_syntax),
    )
    return await client.request(request, sop_class)


async def store(
    host: str,
    port: int,
    datasets: Sequence[Dataset],
    *,
    transfer_syntax: str = TRANSFER_SYNTAXES["implicit"],
    calling_ae_title: str = "DIMSECODEC",
    called_ae_title: str = "ANY-SCP",
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[int]:
    """Store data sets on one association, proposing ``transfer_syntax`` only; return statuses.

    Each data set needs SOPClassUID and SOPInstanceUID; one context is proposed per SOP class.
    """
    sop_classes = list(dict.fromkeys(str(ds.SOPClassUID) for ds in datasets))
    client = await Client.connect(
        host,
        port,
        [(sop_class, [transfer_syntax]) for sop_class in sop_classes],
        calling_ae_title=calling_ae_title,
        called_ae_title=called_ae_title,
        max_pdu_length=max_pdu_length,
        timeout=timeout,
    )
    async with client:
        return [(await store_dataset(client, ds)).status for ds in datasets]


async def n_create(
    client: Client, sop_class: str, attributes: Dataset | None, instance_uid: str | None = None
) -> Reply:
    """N-CREATE an instance (the SCP assigns its UID when ``instance_uid`` is None)."""
    request = N_CREATE(AffectedSOPClassUID=sop_class)
    if instance_uid is not None:
        request.AffectedSOPInstanceUID = instance_uid
    if attributes is not None:
        request.AttributeList = attributes
    return await client.request(request, sop_class)


async def n_get(
    client: Client, sop_class: str, instance_uid: str, tags: Sequence[int] = ()
) -> Reply:
    """N-GET some attributes of an instance (all of them when ``tags`` is empty)."""
    request = N_GET(RequestedSOPClassUID=sop_class, RequestedSOPInstanceUID=instance_uid)
    if tags:
        request.AttributeIdentifierList = list(tags)
    return await client.request(request, sop_class)


async def n_set(client: Client, sop_class: str, instance_uid: str, modifications: Dataset) -> Reply:
    """N-SET an instance's attributes to the values in ``modifications``."""
    request = N_SET(
        RequestedSOPClassUID=sop_class,
        RequestedSOPInstanceUID=instance_uid,
        ModificationList=modifications,
    )
    return await client.request(request, sop_class)


async def n_action(
    client: Client,
    sop_class: str,
    instance_uid: str,
    action_type: int,
    information: Dataset | None = None,
) -> Reply:
    """N-ACTION on an instance, with optional Action Information."""
    request = N_ACTION(
        RequestedSOPClassUID=sop_class,
        RequestedSOPInstanceUID=instance_uid,
        ActionTypeID=action_type,
    )
    if information is not None:
        request.ActionInformation = information
    return await client.request(request, sop_class)


async def n_event_report(
    client: Client,
    sop_class: str,
    instance_uid: str,
    event_type: int,
    information: Dataset | None = None,
) -> Reply:
    """N-EVENT-REPORT about an instance, with optional Event Information."""
    request = N_EVENT_REPORT(
        AffectedSOPClassUID=sop_class,
        AffectedSOPInstanceUID=instance_uid,
        EventTypeID=event_type,
    )
    if information is not None:
        request.EventInformation = information
    return await client.request(request, sop_class)


async def n_delete(client: Client, sop_class: str, instance_uid: str) -> Reply:
    """N-DELETE an instance."""
    request = N_DELETE(RequestedSOPClassUID=sop_class, RequestedSOPInstanceUID=instance_uid)
    return await client.request(request, sop_class)


# -- command line ----------------------------------------------------------------------------

_N_COMMANDS = ("n-create", "n-get", "n-set", "n-action", "n-event-report", "n-delete")


def _succeeded(status: int) -> bool:
    return category(status) in (StatusCategory.SUCCESS, StatusCategory.WARNING)


def _read_dataset(path: str) -> Dataset:
    """A data set from a DICOM file, without its File Meta Information."""
    return Dataset(dcmread(path, force=True))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("host")
        sub.add_argument("port", type=int)
        sub.add_argument("--aet", default="DIMSECODEC", help="our (calling) AE title")
        sub.add_argument("--aec", default="ANY-SCP", help="the peer's (called) AE title")
        sub.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
        sub.add_argument(
            "--max-pdu",
            type=int,
            default=DEFAULT_MAX_PDU_LENGTH,
            help="largest P-DATA-TF we receive (0: any)",
        )
        sub.add_argument("--ts", choices=sorted(TRANSFER_SYNTAXES), default="implicit")
        return sub

    common("echo", "send one C-ECHO")
    store_parser = common("store", "send DICOM files with C-STORE")
    store_parser.add_argument("files", nargs="+", metavar="FILE")
    for name in _N_COMMANDS:
        sub = common(name, f"send one {name.upper()}")
        sub.add_argument("--class", dest="sop_class", required=True, help="SOP Class UID")
        sub.add_argument(
            "--instance",
            required=name != "n-create",
            help="SOP Instance UID (n-create: assigned by the SCP when left out)",
        )
        if name in ("n-action", "n-event-report"):
            sub.add_argument("--type", type=int, required=True, help="action/event type ID")
        if name == "n-get":
            sub.add_argument("--tag", action="append", default=[], help="keyword or hex tag")
        if name != "n-get" and name != "n-delete":
            sub.add_argument(
                "--dataset",
                required=name == "n-set",
                help="DICOM file holding the data set to send",
            )
    return parser


def _show(reply: Reply) -> None:
    primitive = reply.primitive
    responded = getattr(primitive, "MessageIDBeingRespondedTo", None)
    print(
        f"{primitive.msg_type}-RSP to message {responded}: "
        f"status 0x{reply.status:04X} ({category(reply.status).value})"
    )
    dataset = reply.dataset
    if dataset is not None:
        print(dataset)


async def _run(args: argparse.Namespace) -> int:
    transfer_syntax = TRANSFER_SYNTAXES[args.ts]
    options = {"calling_ae_title": args.aet, "called_ae_title": args.aec, "timeout": args.timeout}
    if args.command == "echo":
        status = await echo(args.host, args.port, **options)
        print(f"C-ECHO-RSP status 0x{status:04X}")
        return 0 if _succeeded(status) else 1
    if args.command == "store":
        datasets = [_read_dataset(path) for path in args.files]
        statuses = await store(
            args.host,
            args.port,
            datasets,
            transfer_syntax=transfer_syntax,
            max_pdu_length=args.max_pdu,
            **options,
        )
        for path, status in zip(args.files, statuses, strict=True):
            print(f"{path}: C-STORE-RSP status 0x{status:04X}")
        return 0 if all(_succeeded(status) for status in statuses) else 1

    client = await Client.connect(
        args.host,
        args.port,
        [(args.sop_class, [transfer_syntax])],
        max_pdu_length=args.max_pdu,
        **options,
    )
    async with client:
        path = getattr(args, "dataset", None)
        dataset = None if path is None else _read_dataset(path)
        if args.command == "n-create":
            reply = await n_create(client, args.sop_class, dataset, args.instance)
        elif args.command == "n-get":
            tags = [int(Tag(int(t, 16) if _is_hex(t) else t)) for t in args.tag]
            reply = await n_get(client, args.sop_class, args.instance, tags)
        elif args.command == "n-set":
            if dataset is None:
                raise SystemExit("n-set needs --dataset")
            reply = await n_set(client, args.sop_class, args.instance, dataset)
        elif args.command == "n-action":
            reply = await n_action(client, args.sop_class, args.instance, args.type, dataset)
        elif args.command == "n-event-report":
            reply = await n_event_report(client, args.sop_class, args.instance, args.type, dataset)
        else:
            reply = await n_delete(client, args.sop_class, args.instance)
    _show(reply)
    return 0 if _succeeded(reply.status) else 1


def _is_hex(text: str) -> bool:
    return len(text) == 8 and all(c in "0123456789abcdefABCDEF" for c in text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; return 0 (success), 1 (a failure status) or 2 (no association)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(name)s %(levelname)s %(message)s",
    )
    try:
        return asyncio.run(_run(args))
    except (
        AssociationFailed,
        PeerAborted,
        ProtocolError,
        DimseCodecError,
        OSError,
        asyncio.TimeoutError,
    ) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
