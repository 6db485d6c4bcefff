"""Our Server as a child process for the peer tests: ``net_server.py OUT [AE=PORT]...``.

Prints the port it listens on (127.0.0.1), alone on the first line, then serves until SIGTERM:
C-ECHO; C-STORE writing each data set's bytes as received to ``OUT/<SOP Instance UID>.bin``;
C-FIND answering one study (Doe^Jane) and logging the identifiers to ``OUT/find.log``; C-GET
and C-MOVE sending that study's one instance; N-ACTION as a Storage Commitment SCP reporting
on the same association. ``AE=PORT`` pairs are the C-MOVE destinations.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from dimse_codec.net import Server
from dimse_codec.services import ServiceRequest, commitment_handler

UID = re.compile(r"^[0-9.]{1,64}$")
STUDY = "1.2.826.0.1.3680043.8.498.1"


def instance() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = STUDY + ".1.1"
    ds.StudyInstanceUID = STUDY
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P1"
    ds.QueryRetrieveLevel = None
    del ds.QueryRetrieveLevel
    return ds


def main(out: Path, peers: dict[str, tuple[str, int]]) -> None:
    def on_store(event: ServiceRequest) -> int:
        uid = str(event.request.values().get("AffectedSOPInstanceUID"))
        if not UID.match(uid):
            return 0xA700
        data = event.request.payload_bytes("DataSet")
        (out / f"{uid}.bin").write_bytes(b"" if data is None else bytes(data))
        return 0x0000

    def on_find(event: ServiceRequest) -> Iterator[tuple[int, Dataset]]:
        with (out / "find.log").open("a") as log:
            log.write(str(event.identifier) + "\n")
        match = Dataset()
        match.QueryRetrieveLevel = "STUDY"
        match.StudyInstanceUID = STUDY
        match.PatientName = "Doe^Jane"
        yield 0xFF00, match

    def on_retrieve(event: ServiceRequest) -> Iterator[object]:
        yield 1
        yield instance()

    handlers = {
        "C-STORE": on_store,
        "C-FIND": on_find,
        "C-GET": on_retrieve,
        "C-MOVE": on_retrieve,
        "N-ACTION": commitment_handler(),
    }

    async def serve() -> None:
        server = await Server(handlers, peers=peers).start()
        print(server.port, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    pairs = [arg.split("=", 1) for arg in sys.argv[2:]]
    main(Path(sys.argv[1]), {ae: ("127.0.0.1", int(port)) for ae, port in pairs})
