"""A small DICOM SCP on ``dimse_codec.net.Server``: a handler per service, nothing wired by hand.

It serves C-ECHO; C-STORE of every Storage SOP class, written with ``--out`` as Part-10 files
holding the data set exactly as received (large ones were spooled to disk, never held in
memory); N-CREATE, N-GET, N-SET and N-DELETE over an in-memory table (Modality Performed
Procedure Step, Basic Film Session); and Storage Commitment both ways (PS3.4 Annex J): as SCP it
answers an N-ACTION and sends the report on the same association, or with ``--report-on new``
on a new one to the requestor (``--peer AE=HOST:PORT``); as SCU it takes the reports sent to it,
granting the SCP role a report's requestor proposes, and prints each on stdout.

Run from the repository root; it prints the port it listens on (127.0.0.1), alone on the first
line of stdout, and stops on SIGTERM or Ctrl-C::

    python docs/examples/asyncio_scp.py 0 --ae DIMSECODEC --out /tmp/scp-out --max-pdu 4096
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID, generate_uid

from dimse_codec.association import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dimse_codec.net import Server
from dimse_codec.services import ServiceRequest, commitment_handler, report_receiver
from dimse_codec.services.contexts import DEFLATED, NATIVE, is_storage, supported_for

MPPS = "1.2.840.10008.3.1.2.3.3"
FILM_SESSION = "1.2.840.10008.5.1.1.1"
N_SYNTAXES = [*NATIVE, DEFLATED]
NO_SUCH_INSTANCE = 0x0112


class Instances:
    """The N-services' instances, by SOP Instance UID, for as long as the SCP runs."""

    def __init__(self) -> None:
        self.table: dict[str, Dataset] = {}

    def create(self, event: ServiceRequest) -> tuple[Dataset, Dataset]:
        status = Dataset()
        status.Status = 0x0000
        uid = event.request.AffectedSOPInstanceUID
        if uid is None:  # the performer assigns the UID and returns it (PS3.7 10.1.5.1.4)
            uid = status.AffectedSOPInstanceUID = generate_uid()
        self.table[str(uid)] = event.attribute_list
        return status, event.attribute_list

    def get(self, event: ServiceRequest) -> tuple[int, Dataset | None]:
        stored = self.table.get(str(event.request.RequestedSOPInstanceUID))
        if stored is None:
            return NO_SUCH_INSTANCE, None
        reply = Dataset()
        for tag in event.request.AttributeIdentifierList or stored.keys():
            if tag in stored:
                reply[tag] = stored[tag]
        return 0x0000, reply

    def set(self, event: ServiceRequest) -> tuple[int, Dataset | None]:
        stored = self.table.get(str(event.request.RequestedSOPInstanceUID))
        if stored is None:
            return NO_SUCH_INSTANCE, None
        stored.update(event.modification_list)
        return 0x0000, event.modification_list

    def delete(self, event: ServiceRequest) -> int:
        found = self.table.pop(str(event.request.RequestedSOPInstanceUID), None)
        return NO_SUCH_INSTANCE if found is None else 0x0000


def storer(out: Path | None) -> Callable[[ServiceRequest], int]:
    """The C-STORE handler: a Part-10 file, meta from the command, the data set as received."""

    def on_store(event: ServiceRequest) -> int:
        if out is None:
            return 0x0000
        request, association = event.request, event.association
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(request.AffectedSOPClassUID)
        meta.MediaStorageSOPInstanceUID = UID(request.AffectedSOPInstanceUID)
        meta.TransferSyntaxUID = UID(event.context.transfer_syntax)
        meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
        meta.SourceApplicationEntityTitle = association.peer_ae_title if association else ""
        header = DicomBytesIO()
        header.is_little_endian, header.is_implicit_VR = True, False
        write_file_meta_info(header, meta, enforce_standard=True)
        path = out / f"{request.AffectedSOPInstanceUID}.dcm"
        try:
            with path.open("wb") as file:
                file.write(b"\0" * 128 + b"DICM" + header.getvalue())
                file.write(request.payload_bytes("DataSet") or b"")  # a memory map when spooled
        except OSError:
            path.unlink(missing_ok=True)
            return 0xA700  # Out of Resources
        return 0x0000

    return on_store


def on_report(event_type: int, report: Dataset) -> None:
    """A Storage Commitment report sent to us: one line on stdout."""
    committed = len(report.get("ReferencedSOPSequence", []))
    failed = len(report.get("FailedSOPSequence", []))
    print(f"report {report.TransactionUID} type {event_type}: {committed} ok, {failed} failed")
    sys.stdout.flush()


def make_server(args: argparse.Namespace) -> Server:
    """The server the options describe."""
    instances = Instances()
    handlers = {
        "C-STORE": storer(args.out),
        "N-CREATE": instances.create,
        "N-GET": instances.get,
        "N-SET": instances.set,
        "N-DELETE": instances.delete,
        "N-ACTION": commitment_handler(report_on=args.report_on),
        "N-EVENT-REPORT": report_receiver(on_report),
    }
    fixed = supported_for(["C-ECHO", "N-ACTION"], transfer_syntaxes=N_SYNTAXES)
    fixed[MPPS] = fixed[FILM_SESSION] = N_SYNTAXES
    every = supported_for([], storage=[MPPS])[MPPS]  # every transfer syntax, for C-STORE

    def supported(abstract_syntax: str) -> list[str] | None:
        return every if is_storage(abstract_syntax) else fixed.get(abstract_syntax)

    peers = {title: (host, int(port)) for title, host, port in args.peer}
    return Server(
        handlers,
        port=args.port,
        ae_title=args.ae,
        supported=supported,
        max_pdu_length=args.max_pdu,
        peers=peers,
        spool_dir=args.out,  # spooled data sets are <random>.part files there until stored
    )


async def run(args: argparse.Namespace) -> int:
    """Listen, print the port, serve until SIGTERM or SIGINT."""
    server = await make_server(args).start()
    print(server.port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    serving = asyncio.ensure_future(server.serve_forever())
    await stop.wait()
    print("stopping", file=sys.stderr, flush=True)
    await server.close()  # aborts the associations in progress
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    return 0


def peer(text: str) -> tuple[str, str, str]:
    """``AE=HOST:PORT``."""
    title, _, address = text.partition("=")
    host, _, port = address.rpartition(":")
    return title, host, port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int, help="0 picks a free port")
    parser.add_argument("--ae", help="reject requests addressed to another AE title")
    parser.add_argument("--out", type=Path, help="write received C-STOREs here")
    parser.add_argument("--max-pdu", type=int, default=16382, help="the largest PDU we receive")
    parser.add_argument("--report-on", choices=["same", "new"], default="same")
    parser.add_argument("--peer", type=peer, action="append", default=[], metavar="AE=HOST:PORT")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
