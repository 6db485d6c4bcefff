"""The command line over the network against DCMTK and pynetdicom, as ratios taken in one run.

Three measures, every peer a process started and stopped by its PID on 127.0.0.1:

1. N small C-STOREs over one association into DCMTK ``storescp --ignore``: ``dimse-codec
   store`` (the command line, so interpreter start-up counts, as it does for the others) vs
   DCMTK ``storescu +sd`` vs ``python -m pynetdicom storescu -r``.
2. The same N from DCMTK ``storescu`` into ``dimse-codec serve`` vs into ``storescp``, both
   writing every file to disk.
3. Large data sets (1 GiB in 64 MiB ones; ``--quick``: 256 MiB in 16 MiB): our store vs
   ``storescu`` into ``storescp --ignore`` (client throughput), ``storescu`` into ``serve`` vs
   into ``storescp`` writing to disk (server throughput), and the peak RSS of the ``serve``
   process (VmHWM) for these data sets and for ones a quarter the size.

DCMTK runs with ``TCP_NODELAY=1`` in its environment, which turns Nagle's algorithm off (Debian's
build leaves it on, and then every message of ``storescu`` into ``storescp`` waits ~40 ms for a
delayed ACK: 1,000 small files take a minute): DCMTK at its best is the bar. ``--dcmtk-as-shipped``
measures DCMTK as installed instead.

Python runs as installed from a wheel, with its bytecode cached (``pip install`` compiles it): the
benchmark drops ``PYTHONDONTWRITEBYTECODE``, keeps the cache in its temporary folder and starts
each Python tool once before timing it, so neither side pays for compiling its sources.

Wall-clock seconds per run (best of ``--repeat``); ratios are DCMTK's (or pynetdicom's) time
over ours, so above 1 means we are faster. The exit code is 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from harness import as_installed
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

PYTHON = sys.executable
DIMSE_CODEC = [PYTHON, "-m", "dimse_codec.cli.main"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_files(folder: Path, count: int, pixel_bytes: int) -> None:
    """``count`` Secondary Capture files of ``pixel_bytes`` pixel data each (Explicit VR LE)."""
    folder.mkdir(parents=True)
    pixels = os.urandom(min(pixel_bytes, 1 << 20))
    pixels = (pixels * (pixel_bytes // len(pixels) + 1))[:pixel_bytes]
    columns = 256
    while pixel_bytes // 2 // columns > 0xFFFF:  # Rows is US: wider images past 32 MiB
        columns *= 2
    for number in range(count):
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
        ds.PatientName, ds.PatientID, ds.Modality = "Bench^Net", f"B{number}", "OT"
        ds.Rows, ds.Columns = pixel_bytes // 2 // columns or 1, columns
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = pixels[: ds.Rows * ds.Columns * 2]
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(folder / f"{number:05d}.dcm", enforce_file_format=True)


def wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def server(argv: Sequence[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A server process (ours or DCMTK's), ready once its port accepts connections.

    Its output goes to the null device: a pipe nobody reads fills after ~300 lines of ``serve``
    and then blocks the server's writes, which is what a stalled reader does to any server.
    """
    process = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, process)
        yield process
    finally:
        stop(process)


def storescp(port: int, out: Path | None) -> list[str]:
    where = ["--ignore"] if out is None else ["-od", str(out)]
    return ["storescp", *where, "--max-pdu", "131072", str(port)]


def serve(port: int, out: Path) -> list[str]:
    return [*DIMSE_CODEC, "serve", str(port), "--out", str(out), "--max-pdu", "131072"]


def peak_rss_kib(process: subprocess.Popen[bytes]) -> int:
    """The process's peak resident set (VmHWM), read from /proc while it runs."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) if found else -1


def timed(argv: Sequence[str], repeat: int, before: Callable[[], None] = lambda: None) -> float:
    """Best wall-clock seconds of ``repeat`` runs of a client that must exit 0."""
    best = float("inf")
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        done = subprocess.run(list(argv), capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:4]!r} exited {done.returncode}: {done.stderr[-500:]!r}")
        best = min(best, elapsed)
    return best


def our_store(port: int, folder: Path) -> list[str]:
    return [*DIMSE_CODEC, "store", "127.0.0.1", str(port), str(folder), "--max-pdu", "131072"]


def dcmtk_store(port: int, folder: Path) -> list[str]:
    return ["storescu", "+sd", "--max-pdu", "131072", "127.0.0.1", str(port), str(folder)]


def pynetdicom_store(port: int, folder: Path) -> list[str]:
    return [PYTHON, "-m", "pynetdicom", "storescu", "127.0.0.1", str(port), str(folder), "-r"]


def line(what: str, ours: float, theirs: float, who: str, goal: float) -> None:
    ratio = theirs / ours
    verdict = "meets" if ratio >= goal else "misses"
    print(
        f"  {what:<44} ours {ours:7.3f} s  {who} {theirs:7.3f} s  ratio {ratio:5.2f}"
        f"  (goal >= {goal}: {verdict})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and smaller data sets")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measure (best kept)")
    parser.add_argument(
        "--dcmtk-as-shipped",
        action="store_true",
        help="leave DCMTK's Nagle algorithm as its build has it (default: TCP_NODELAY=1)",
    )
    args = parser.parse_args(argv)
    if not args.dcmtk_as_shipped:
        os.environ["TCP_NODELAY"] = "1"  # read by DCMTK only; our sockets set it themselves
    small_count = 200 if args.quick else 1000
    big_size, big_total = (16 << 20, 256 << 20) if args.quick else (64 << 20, 1 << 30)
    repeat = args.repeat or (1 if args.quick else 3)
    for tool in ("storescp", "storescu"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed: nothing to compare with")
            return 0
    with tempfile.TemporaryDirectory(prefix="bench-net-") as temporary:
        root = Path(temporary)
        small, big, quarter = root / "small", root / "big", root / "quarter"
        write_files(small, small_count, 1024)
        write_files(big, big_total // big_size, big_size)
        write_files(quarter, big_total // big_size, big_size // 4)
        as_installed(
            root / "pycache",
            [[*DIMSE_CODEC, "--help"], [PYTHON, "-m", "pynetdicom", "storescu", "-h"]],
        )
        print(f"{small_count} small C-STOREs over one association (best of {repeat}):")
        port = free_port()
        with server(storescp(port, None), port):
            ours = timed(our_store(port, small), repeat)
            line(
                "dimse-codec store vs DCMTK storescu",
                ours,
                timed(dcmtk_store(port, small), repeat),
                "DCMTK",
                1.0,
            )
            line(
                "dimse-codec store vs pynetdicom storescu",
                ours,
                timed(pynetdicom_store(port, small), repeat),
                "pynetdicom",
                5.0,
            )
        received = root / "received"
        received.mkdir()

        def clean() -> None:
            for entry in received.iterdir():
                entry.unlink()

        port_ours, port_dcmtk = free_port(), free_port()
        with server(serve(port_ours, received), port_ours):
            into_ours = timed(dcmtk_store(port_ours, small), repeat, clean)
        with server(storescp(port_dcmtk, received), port_dcmtk):
            into_dcmtk = timed(dcmtk_store(port_dcmtk, small), repeat, clean)
        line("storescu into serve vs into storescp", into_ours, into_dcmtk, "DCMTK", 1.0)

        mib = big_total / (1 << 20)
        print(f"{mib:.0f} MiB in {big_size >> 20} MiB data sets (best of {repeat}):")
        port = free_port()
        with server(storescp(port, None), port):
            ours = timed(our_store(port, big), repeat)
            theirs = timed(dcmtk_store(port, big), repeat)
        line("client: store vs storescu (MiB/s ratio)", ours, theirs, "DCMTK", 0.9)
        print(f"    throughput: ours {mib / ours:.0f} MiB/s, DCMTK {mib / theirs:.0f} MiB/s")
        peaks = {}
        for label, folder in (("quarter", quarter), ("full", big)):
            port = free_port()
            with server(serve(port, received), port) as ours_process:
                into_ours = timed(dcmtk_store(port, folder), repeat, clean)
                peaks[label] = peak_rss_kib(ours_process)
        port = free_port()
        with server(storescp(port, received), port):
            into_dcmtk = timed(dcmtk_store(port, big), repeat, clean)
        line("server: storescu into serve vs storescp", into_ours, into_dcmtk, "DCMTK", 0.9)
        print(
            f"    throughput: ours {mib / into_ours:.0f} MiB/s, DCMTK {mib / into_dcmtk:.0f} MiB/s"
        )
        print(
            f"    serve peak RSS: {peaks['quarter'] / 1024:.0f} MiB with "
            f"{big_size >> 22} MiB data sets, {peaks['full'] / 1024:.0f} MiB with "
            f"{big_size >> 20} MiB ones"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
