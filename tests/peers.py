"""Helpers for the real-peer tests: servers started and stopped by PID, test data, Part-10 files.

Every server runs on 127.0.0.1 only. Readiness is a bounded poll (a TCP connect for DCMTK, the
port line the example SCP prints), and every server is stopped by its PID in a ``finally``:
SIGTERM, a bounded wait, then SIGKILL. Nothing here sleeps to synchronise except the short
interval of those polls.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, SecondaryCaptureImageStorage, generate_uid

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "docs" / "examples"

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"

STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to listen; generous for a loaded 2-core machine."""
STOP_TIMEOUT = 10.0
"""Seconds a server may take to exit after SIGTERM before it is killed."""
PEER_TIMEOUT = 30.0
"""Seconds any one network exchange may take (association, request, release)."""
POLL_INTERVAL = 0.05

LARGE = 1_200_000
"""Pixel bytes of the "over 1 MB" data set: hundreds of PDUs at a 4096-byte maximum."""
SMALL = 2_048


def load_example(name: str) -> ModuleType:
    """Import ``docs/examples/<name>.py`` (not a package) as a module, once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running peer: its process, port, log file and output directory."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    out: Path

    def log_text(self) -> str:
        """What the server has logged so far."""
        return self.log.read_text(errors="replace")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server by its PID: SIGTERM, wait, then SIGKILL if it did not exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    if process.stdout is not None:
        process.stdout.close()


def _exited(server: Server) -> RuntimeError:
    return RuntimeError(
        f"{server.process.args!r} exited with {server.process.returncode} before it was ready:\n"
        f"{server.log_text()}"
    )


def wait_for_port(server: Server, timeout: float = STARTUP_TIMEOUT) -> None:
    """Poll until ``server`` accepts TCP connections, failing early if it exits."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise _exited(server)
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on port {server.port} after {timeout} s"
                ) from exc
            time.sleep(POLL_INTERVAL)


@contextmanager
def dcmtk_server(
    argv: Sequence[str], port: int, log: Path, out: Path, *, group: bool = False
) -> Iterator[Server]:
    """Run a DCMTK server (which cannot report its port) and wait until it listens.

    With ``group`` it runs in a process group of its own, killed whole at the end (by the
    server's PID, which is the group's): a forking server's children that hang go with it."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.STDOUT, start_new_session=group
        )
    server = Server(process, port, log, out)
    try:
        wait_for_port(server)
        yield server
    finally:
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        stop(process)


@contextmanager
def example_scp(out: Path, log: Path, *options: str) -> Iterator[Server]:
    """Run ``docs/examples/asyncio_scp.py`` on a free port, read from its first stdout line."""
    argv = [sys.executable, str(EXAMPLES / "asyncio_scp.py"), "0", "--out", str(out), *options]
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=sink, bufsize=0)
    server = Server(process, 0, log, out)
    try:
        server.port = _read_port(server)
        yield server
    finally:
        stop(process)


def _read_port(server: Server, timeout: float = STARTUP_TIMEOUT) -> int:
    """The port the example SCP prints, alone on its first stdout line, once it listens."""
    stdout = server.process.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the example SCP printed no port in {timeout} s")
        ready, _, _ = select.select([stdout], [], [], remaining)
        if ready:
            chunk = os.read(stdout.fileno(), 1)
            if not chunk:
                server.process.wait(timeout=STOP_TIMEOUT)
                raise _exited(server)
            line += chunk
    return int(line)


def run_tool(argv: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK client to completion; its output (stdout and stderr) is in ``stdout``."""
    return subprocess.run(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- test data -----------------------------------------------------------------------------------


def secondary_capture(pixel_bytes: int, *, seed: int) -> Dataset:
    """A Secondary Capture image with ``pixel_bytes`` of seeded random 16-bit pixels.

    It also carries a sequence, a person name and a multi-valued string, so a transfer syntax
    conversion or a fragment put in the wrong place shows up as a difference.
    """
    columns = 256
    rows = max(1, pixel_bytes // (columns * 2))
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Peer^Test^Wire"
    ds.PatientID = f"PEER-{seed}"
    ds.Modality = "OT"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ConversionType = "WSD"
    item = Dataset()
    item.ReferencedSOPClassUID = SecondaryCaptureImageStorage
    item.ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedImageSequence = [item]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.add_new(0x7FE00010, "OW", random.Random(seed).randbytes(rows * columns * 2))
    return ds


def write_part10(ds: Dataset, path: Path, transfer_syntax: str = EXPLICIT) -> Path:
    """Write ``ds`` as a Part-10 file in ``transfer_syntax`` (for DCMTK's storescu to send)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    copy = Dataset(ds)
    copy.file_meta = meta
    dcmwrite(path, copy, enforce_file_format=True)
    return path


def split_part10(path: Path) -> tuple[Dataset, bytes]:
    """A Part-10 file's File Meta Information and the data set bytes after it, exactly."""
    raw = path.read_bytes()
    assert raw[128:132] == b"DICM", f"{path} has no DICM prefix"
    assert raw[132:140] == b"\x02\x00\x00\x00UL\x04\x00", f"{path} has no meta group length"
    end = 144 + int.from_bytes(raw[140:144], "little")
    meta = dcmread(path, stop_before_pixels=True).file_meta
    return meta, raw[end:]


def read_dataset(path: Path) -> Dataset:
    """A Part-10 file's data set, without its File Meta Information."""
    return Dataset(dcmread(path))


def wait_for_file(directory: Path, pattern: str, timeout: float = PEER_TIMEOUT) -> Path:
    """Poll until exactly one file matches ``pattern`` in ``directory`` (a peer's output)."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(directory.glob(pattern))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise AssertionError(f"{len(found)} files match {pattern}: {found}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no file matching {pattern} in {directory} after {timeout} s")
        time.sleep(POLL_INTERVAL)


def dcmqrscp_config(
    path: Path,
    *,
    port: int,
    storage: Path,
    ae_title: str = "QRSCP",
    hosts: Sequence[tuple[str, str, int]] = (),
    limits: str = "(10, 1024mb)",
) -> Path:
    """Write a dcmqrscp configuration to ``path``: one read-write storage AE open to any peer.

    ``hosts`` are HostTable entries ``(AE title, host, port)``: the C-MOVE destinations the
    server may send to. ``limits`` is the AE's (studies, size) quota. The storage folder is
    created. Returns ``path``.
    """
    storage.mkdir(parents=True, exist_ok=True)
    table = "".join(
        f"host{number} = ({title}, {host}, {host_port})\n"
        for number, (title, host, host_port) in enumerate(hosts, start=1)
    )
    path.write_text(
        f"NetworkTCPPort  = {port}\n"
        "MaxPDUSize      = 16384\n"
        "MaxAssociations = 16\n"
        f"HostTable BEGIN\n{table}HostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{ae_title} {storage} RW {limits} ANY\nAETable END\n"
    )
    return path


def give_back_raced_responses() -> None:
    """Close pynetdicom 3.0's reactor race in the tests where pynetdicom is the requestor.

    A ``send_*`` method pauses the association's reactor by clearing a checkpoint and then
    waiting for a flag the reactor sets *before* it blocks; a reactor that has just passed the
    checkpoint still takes the next message off the queue. When our SCP answers that fast, the
    reactor gets the response, logs "Received unexpected N-DELETE service message" and drops it,
    and the ``send_*`` call waits out its DIMSE timeout (pydicom/pynetdicom#875). A response the
    reactor takes while a ``send_*`` call is waiting (the checkpoint cleared) is put back on the
    queue that call reads; everything else goes to pynetdicom's own handling unchanged.
    """
    if importlib.util.find_spec("pynetdicom") is None:
        return
    from pynetdicom.association import Association

    serve = Association._serve_request
    if getattr(serve, "gives_back_responses", False):
        return

    def serve_request(self: Association, msg: object, context_id: int) -> None:
        waiting = not self._reactor_checkpoint.is_set()
        if waiting and not getattr(msg, "is_valid_request", True):
            self.dimse.msg_queue.put((context_id, msg))
            return
        serve(self, msg, context_id)  # type: ignore[arg-type]

    serve_request.gives_back_responses = True  # type: ignore[attr-defined]
    Association._serve_request = serve_request  # type: ignore[method-assign]
