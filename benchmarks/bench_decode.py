"""Whole-process benchmark: ``dimse-codec decode --json`` against tshark's DICOM dissector.

Both tools decode the same capture file in separate processes, one after the other and
alternating who goes first, in one run of this script; each process's time and peak memory come
from the kernel (``os.wait4``: user + system CPU time, wall time, and ``ru_maxrss``). Results are
ratios (tshark over ours for time, ours over tshark for memory), medians over the rounds.

The tshark commands are its two full decodes, output to /dev/null like ours:

- ``tshark -r FILE -d tcp.port==N,dicom -T pdml``: tshark's structured output, the like-for-like
  counterpart of our NDJSON (every field of every PDU);
- ``tshark -r FILE -d tcp.port==N,dicom -V``: its text tree.

Two captures are written to a temporary folder, deterministically, with dimse-codec's own
encoders and the pcap writer of ``docs/examples/make_capture.py`` (TCP segments of at most 1460
bytes, as on an Ethernet link, so the packet count is a real network's, not loopback's 64 KiB):

- ``store``: one association, 12 C-STOREs of 5 MB of Secondary Capture pixels (explicit VR
  little endian, max PDU 16384), each answered; about 63 MB;
- ``small``: one association, C-ECHOs and a C-FIND with tens of thousands of pending responses,
  each carrying a small identifier; one TCP segment per message.

``--capture FILE --port N`` (repeatable as pairs) adds any other capture, e.g. one recorded with
tcpdump from DCMTK's storescu and storescp (see benchmarks/README.md).

Run ``python benchmarks/bench_decode.py [--rounds N] [--quick] [--json PATH]``; tshark must be on
PATH and dimse-codec installed (its ``dimse-codec`` script next to this Python).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from harness import environment, require
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage

from dimse_codec import C_ECHO, C_FIND, C_STORE
from dimse_codec.association import Accepted, build_request, respond
from dimse_codec.dataset import EXPLICIT_VR_LITTLE_ENDIAN, encode_dataset
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, encode_pdu

REPO = Path(__file__).resolve().parent.parent
PORT = 11112
MAX_PDU = 16384
VERIFICATION = "1.2.840.10008.1.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
INSTANCE_ROOT = "1.2.826.0.1.3680043.10.1234.9"


def _make_capture_module() -> ModuleType:
    """``docs/examples/make_capture.py``, whose ``Capture`` writes TCP frames into a pcap."""
    path = REPO / "docs" / "examples" / "make_capture.py"
    spec = importlib.util.spec_from_file_location("make_capture", path)
    require(spec is not None and spec.loader is not None, f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["make_capture"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _open(contexts: list[tuple[str, list[str]]]) -> tuple[ModuleType, object]:
    """A capture with the TCP handshake and an accepted association for ``contexts``."""
    mc = _make_capture_module()
    rq = build_request("MODALITY", "ARCHIVE", contexts, max_pdu_length=MAX_PDU)
    answer = respond(rq, {abstract: syntaxes for abstract, syntaxes in contexts},
                     max_pdu_length=MAX_PDU)  # fmt: skip
    require(isinstance(answer, Accepted), "the benchmark association is accepted")
    capture = mc.Capture()
    capture.frame(True, mc.SYN)
    capture.frame(False, mc.SYN | mc.ACK, after_us=150)
    capture.frame(True, mc.ACK, after_us=50)
    capture.send(True, encode_pdu(rq))
    capture.send(False, encode_pdu(answer.pdu), after_us=900)  # type: ignore[union-attr]
    return mc, capture


def _close(mc: ModuleType, capture: object) -> bytes:
    capture.send(True, encode_pdu(AReleaseRQ()), after_us=500)  # type: ignore[attr-defined]
    capture.send(False, encode_pdu(AReleaseRP()), after_us=300)  # type: ignore[attr-defined]
    capture.frame(True, mc.FIN_ACK, after_us=100)  # type: ignore[attr-defined]
    capture.frame(False, mc.FIN_ACK, after_us=100)  # type: ignore[attr-defined]
    capture.frame(True, mc.ACK, after_us=50)  # type: ignore[attr-defined]
    pcap: bytes = capture.pcap()  # type: ignore[attr-defined]
    return pcap


def _pdata(message: object, context_id: int) -> bytes:
    return bytes(encode_pdata(message, context_id, max_pdu_length=MAX_PDU))  # type: ignore[arg-type]


def store_capture(count: int, pixel_bytes: int) -> bytes:
    """``count`` C-STOREs of ``pixel_bytes`` of pixels each, with their responses."""
    mc, capture = _open([(SecondaryCaptureImageStorage, [EXPLICIT_VR_LITTLE_ENDIAN.uid])])
    rng = random.Random(68)
    for number in range(1, count + 1):
        ds = Dataset()
        ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.SOPInstanceUID = f"{INSTANCE_ROOT}.{number}"
        ds.PatientID = f"BENCH-{number}"
        ds.Rows, ds.Columns = pixel_bytes // 1024, 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.add_new(0x7FE00010, "OW", rng.randbytes(ds.Rows * ds.Columns * 2))
        request = C_STORE(
            MessageID=number,
            AffectedSOPClassUID=SecondaryCaptureImageStorage,
            AffectedSOPInstanceUID=ds.SOPInstanceUID,
            Priority=0,
            DataSet=encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN),
        )
        capture.send(True, _pdata(request, 1), after_us=300)  # type: ignore[attr-defined]
        response = _pdata(build_response(request, 0x0000), 1)
        capture.send(False, response, after_us=2_000)  # type: ignore[attr-defined]
    return _close(mc, capture)


def small_capture(echoes: int, matches: int) -> bytes:
    """``echoes`` C-ECHOs, then one C-FIND answered by ``matches`` pending responses."""
    mc, capture = _open([(VERIFICATION, [EXPLICIT_VR_LITTLE_ENDIAN.uid]),
                         (PATIENT_ROOT_FIND, [EXPLICIT_VR_LITTLE_ENDIAN.uid])])  # fmt: skip
    for number in range(1, echoes + 1):
        echo = C_ECHO(MessageID=number, AffectedSOPClassUID=VERIFICATION)
        capture.send(True, _pdata(echo, 1), after_us=100)  # type: ignore[attr-defined]
        capture.send(False, _pdata(build_response(echo, 0), 1), after_us=80)  # type: ignore[attr-defined]
    query = Dataset()
    query.QueryRetrieveLevel = "PATIENT"
    query.PatientName = "*"
    query.PatientID = ""
    find = C_FIND(
        MessageID=echoes + 1,
        AffectedSOPClassUID=PATIENT_ROOT_FIND,
        Priority=0,
        Identifier=encode_dataset(query, EXPLICIT_VR_LITTLE_ENDIAN),
    )
    capture.send(True, _pdata(find, 3), after_us=100)  # type: ignore[attr-defined]
    for number in range(matches):
        match = Dataset()
        match.QueryRetrieveLevel = "PATIENT"
        match.PatientName = f"Doe^Patient{number}"
        match.PatientID = f"PID{number:06d}"
        pending = build_response(find, 0xFF00)
        pending.Identifier = encode_dataset(match, EXPLICIT_VR_LITTLE_ENDIAN)
        capture.send(False, _pdata(pending, 3), after_us=40)  # type: ignore[attr-defined]
    capture.send(False, _pdata(build_response(find, 0x0000), 3), after_us=40)  # type: ignore[attr-defined]
    return _close(mc, capture)


# -- running the tools ---------------------------------------------------------------------------


@dataclass
class Run:
    """One process: seconds of wall time and of CPU time (user + system), peak RSS in KiB."""

    wall: float
    cpu: float
    peak_kib: int


MEASURE = """
import json, os, subprocess, sys, time
with open(os.devnull, "wb") as sink:
    start = time.perf_counter()
    process = subprocess.Popen(sys.argv[1:], stdout=sink, stderr=subprocess.PIPE)
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "wall": wall,
                  "cpu": usage.ru_utime + usage.ru_stime, "peak_kib": usage.ru_maxrss,
                  "errors": errors[-500:].decode(errors="replace")}))
"""
"""Runs one command and prints its kernel accounting. It runs in a small Python of its own: a
child's ``ru_maxrss`` starts from the memory of the process it was forked from (Linux keeps the
high-water mark across ``exec``), so forking from this script, which holds the captures, would
charge both tools for it."""


def run(argv: list[str]) -> Run:
    """Run ``argv`` with its output to /dev/null and measure it from the kernel's accounting."""
    report = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, check=True
    )
    measured = json.loads(report.stdout)
    require(measured["code"] == 0, f"{argv[0]} failed ({measured['code']}): {measured['errors']}")
    return Run(measured["wall"], measured["cpu"], measured["peak_kib"])


def tools() -> tuple[str, str]:
    """The paths of tshark and of the ``dimse-codec`` script next to this Python."""
    tshark = shutil.which("tshark")
    require(tshark is not None, "tshark is on PATH")
    ours = str(Path(sys.executable).with_name("dimse-codec"))
    require(Path(ours).exists(), f"{ours} exists (pip install -e .)")
    return str(tshark), ours


def commands(path: Path, port: int, tshark: str, ours: str) -> dict[str, list[str]]:
    """The three whole-process commands on one capture."""
    decode_as = ["-d", f"tcp.port=={port},dicom"]
    return {
        "ours --json": [ours, "decode", "--json", str(path)],
        "tshark -T pdml": [tshark, "-n", "-r", str(path), *decode_as, "-T", "pdml"],
        "tshark -V": [tshark, "-n", "-r", str(path), *decode_as, "-V"],
    }


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of per-round ratios (paired, so a slow moment hits both sides of a round)."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small captures, 2 rounds")
    parser.add_argument("--capture", action="append", default=[], type=Path)
    parser.add_argument("--port", action="append", default=[], type=int)
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    tshark, ours = tools()
    require(len(args.capture) == len(args.port), "one --port per --capture")
    rounds = 2 if args.quick else args.rounds

    work = Path(tempfile.mkdtemp(prefix="bench_decode_"))
    try:
        files: list[tuple[str, Path, int]] = []
        made = {
            "store": store_capture(2, 1 << 20) if args.quick else store_capture(12, 5_000_000),
            "small": small_capture(200, 2_000) if args.quick else small_capture(5_000, 40_000),
        }
        for name, data in made.items():
            path = work / f"{name}.pcap"
            path.write_bytes(data)
            files.append((name, path, PORT))
        extra = zip(args.capture, args.port, strict=True)
        files += [(path.name, path, port) for path, port in extra]

        results: dict[str, dict[str, list[Run]]] = {}
        for name, path, port in files:
            argvs = commands(path, port, tshark, ours)
            runs: dict[str, list[Run]] = {label: [] for label in argvs}
            for round_number in range(rounds):
                order = list(argvs)
                if round_number % 2:
                    order.reverse()
                for label in order:
                    runs[label].append(run(argvs[label]))
            results[name] = runs
            size = path.stat().st_size / 1e6
            print(f"\n{name}: {size:.1f} MB, {rounds} rounds (medians of per-round ratios)")
            print(f"  {'tshark command':<16} {'time (wall)':>12} {'time (cpu)':>11} {'memory':>8}")
            mine = runs["ours --json"]
            for label in ("tshark -T pdml", "tshark -V"):
                theirs = runs[label]
                wall = median_ratio([r.wall for r in theirs], [r.wall for r in mine])
                cpu = median_ratio([r.cpu for r in theirs], [r.cpu for r in mine])
                memory = median_ratio([r.peak_kib for r in mine], [r.peak_kib for r in theirs])
                print(f"  {label:<16} {wall:>11.1f}x {cpu:>10.1f}x {memory:>8.2f}")
        print("\ntime: how many times faster ours is (tshark / ours; goal >= 4)")
        print("memory: ours' peak RSS as a share of tshark's (goal <= 0.25)")
        if args.json:
            record = environment(rounds, 0.0, args.quick, "wall+cpu (os.wait4)")
            record["tshark"] = subprocess.run(
                [tshark, "--version"], capture_output=True, text=True, check=False
            ).stdout.splitlines()[0]
            record["results"] = {
                name: {label: [vars(r) for r in runs] for label, runs in by_label.items()}
                for name, by_label in results.items()
            }
            args.json.write_text(json.dumps(record, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
