"""Record the small real captures whose ``decode`` text is kept as golden output here.

Run by hand (``python tests/golden/record.py``, needing tcpdump, DCMTK and pynetdicom) only
to replace a capture; the golden text is then made again from the committed captures (see
``tests/test_golden_text.py``). Two recordings on 127.0.0.1:

* ``dcmtk-storescu.pcap``: DCMTK's ``storescu`` sends six small Secondary Capture images to
  ``storescp`` in one association, proposing its default 128 presentation contexts;
* ``pynetdicom-statuses.pcap``: a pynetdicom SCU against a pynetdicom SCP: an echo and three
  stores answered Success, Warning (B000H) and Failure (A700H), released; an association
  aborted by the requestor; one rejected for its called AE title.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from peers import (  # noqa: E402  (the tests' helpers, found once the path is set)
    PEER_TIMEOUT,
    POLL_INTERVAL,
    dcmtk_server,
    free_port,
    run_tool,
    secondary_capture,
    write_part10,
)
from recording import tcpdump  # noqa: E402

VERIFICATION = "1.2.840.10008.1.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"


def record_dcmtk(target: Path, work: Path) -> None:
    """storescu -> storescp: six images of 4 KB of pixels each, one association."""
    images = [
        write_part10(secondary_capture(4096, seed=seed), work / f"image{seed}.dcm")
        for seed in range(6)
    ]
    out = work / "out"
    out.mkdir()
    port = free_port()
    with (
        dcmtk_server(["storescp", "-od", str(out), str(port)], port, work / "scp.log", out),
        tcpdump(target, [port]),
    ):
        result = run_tool(["storescu", "127.0.0.1", str(port), *map(str, images)])
        assert result.returncode == 0, result.stdout


def record_pynetdicom(target: Path) -> None:
    """pynetdicom on both sides: statuses of each category, an abort and a reject."""
    from pydicom.dataset import FileMetaDataset
    from pynetdicom import AE, evt

    answers = iter([0x0000, 0xB000, 0xA700])
    aborted: list[str] = []

    def store(event: object) -> int:
        return next(answers)

    scp = AE(ae_title="ARCHIVE")
    scp.require_called_aet = True
    scp.acse_timeout = scp.dimse_timeout = scp.network_timeout = PEER_TIMEOUT
    scp.add_supported_context(VERIFICATION, [IMPLICIT])
    scp.add_supported_context(SECONDARY_CAPTURE, [EXPLICIT, IMPLICIT])
    handlers = [
        (evt.EVT_C_ECHO, lambda event: 0x0000),
        (evt.EVT_C_STORE, store),
        (evt.EVT_ABORTED, lambda event: aborted.append("abort")),
    ]
    server = scp.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    port = server.server_address[1]
    try:
        with tcpdump(target, [port]):
            scu = AE(ae_title="MODALITY")
            scu.acse_timeout = scu.dimse_timeout = scu.network_timeout = PEER_TIMEOUT
            scu.add_requested_context(VERIFICATION, [IMPLICIT])
            scu.add_requested_context(SECONDARY_CAPTURE, [EXPLICIT])
            scu.add_requested_context("1.2.840.10008.5.1.4.1.1.2", [EXPLICIT])  # not supported
            assoc = scu.associate("127.0.0.1", port, ae_title="ARCHIVE")
            assert assoc.is_established
            assoc.send_c_echo(msg_id=1)
            for seed in range(3):
                image = secondary_capture(2048, seed=seed)
                image.file_meta = FileMetaDataset()
                image.file_meta.TransferSyntaxUID = EXPLICIT
                assoc.send_c_store(image, msg_id=2 + seed)
            assoc.release()
            assoc = scu.associate("127.0.0.1", port, ae_title="ARCHIVE")
            assert assoc.is_established
            assoc.send_c_echo(msg_id=1)
            assoc.abort()
            deadline = time.monotonic() + PEER_TIMEOUT
            while not aborted:  # the SCP took the abort in its own thread
                assert time.monotonic() < deadline, "the SCP never saw the A-ABORT"
                time.sleep(POLL_INTERVAL)
            assoc = scu.associate("127.0.0.1", port, ae_title="WRONG")
            assert assoc.is_rejected
    finally:
        server.shutdown()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        record_dcmtk(HERE / "dcmtk-storescu.pcap", Path(folder))
    record_pynetdicom(HERE / "pynetdicom-statuses.pcap")
    for name in ("dcmtk-storescu.pcap", "pynetdicom-statuses.pcap"):
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
