"""Benchmark what decoding costs per input byte: peak memory and time, normal and hostile inputs.

For each decoder (``decode_command_set``, ``decode_dataset``, ``decode_pdu``,
``StreamDecoder.feed``, ``decode_capture``) and each input of a corpus of normal inputs (command
sets of every message type, data sets in each transfer syntax, PDUs, a P-DATA stream, the example
capture) and hostile ones (issue 11's table, built by ``benchmarks/hostile.py``), one row:

- **memory**: the tracemalloc peak of one decode divided by the input's size, and for a deflated
  data set by its inflated size too; the goal is at most 10x (the verdict uses the inflated size
  for deflated data sets, which the inflate cap bounds);
- **time**: wall time per input byte (per inflated byte for a deflated data set), as a ratio to
  the largest normal input of the same decoder in the same run (a decoder linear in its input
  keeps the large rows near 1; small inputs show the fixed cost of one call).

Each decode runs once untimed under tracemalloc and once timed without it, each within a time
budget (``--budget`` seconds, enforced with SIGALRM): a row over budget is reported as skipped
with a note, not waited for. Run ``python benchmarks/bench_limits.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import harness
import hostile
from hypothesis import HealthCheck, Phase, find, settings
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dimse_codec import C_STORE, DimseCodecError, decode_command_set, encode_command_set
from dimse_codec.capture import decode_capture
from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    TransferSyntax,
    decode_dataset,
    encode_dataset,
)
from dimse_codec.pdata import StreamDecoder, encode_pdata
from dimse_codec.pdu import decode_pdu, read_pdu_header
from dimse_codec.strategies import primitives
from dimse_codec.tables.messages import MESSAGES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
GOAL = 10.0
"""Peak memory allowed per input byte (per inflated byte for a deflated data set)."""
FLOOR = 1 << 20
"""The fixed allowance of the fuzz harnesses' memory bound (fuzz/memory_bound.py)."""
SYNTAXES: tuple[TransferSyntax, ...] = (
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
SHORT = {
    IMPLICIT_VR_LITTLE_ENDIAN.uid: "implicit LE",
    EXPLICIT_VR_LITTLE_ENDIAN.uid: "explicit LE",
    EXPLICIT_VR_BIG_ENDIAN.uid: "explicit BE",
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid: "deflated",
}


@dataclass
class Case:
    """One input of one decoder."""

    decoder: str
    name: str
    hostile: bool
    data: bytes
    call: Callable[[bytes], object]
    inflated: int | None = None


@dataclass
class Row:
    """What one case measured (``None`` where it was skipped)."""

    decoder: str
    name: str
    hostile: bool
    size: int
    inflated: int | None
    peak: int | None = None
    seconds: float | None = None
    outcome: str = ""
    note: str = ""
    time_ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def memory_ratio(self) -> float | None:
        """Peak per byte of the input (per inflated byte for a deflated data set)."""
        if self.peak is None:
            return None
        return self.peak / max(1, self.inflated or self.size)

    @property
    def within_floor(self) -> str:
        """Whether the peak is within the fuzz harnesses' bound: 10x plus 1 MiB."""
        if self.peak is None:
            return ""
        return "yes" if self.peak <= GOAL * max(1, self.inflated or self.size) + FLOOR else "NO"

    @property
    def verdict(self) -> str:
        ratio = self.memory_ratio
        if ratio is None:
            return "SKIP"
        return "ok" if ratio <= GOAL else "MISS"


class OverBudget(Exception):
    """The decode ran past the benchmark's time budget for one input."""


def _alarm(_signum: int, _frame: object) -> None:
    raise OverBudget


def within(budget: float, call: Callable[[], object]) -> tuple[float, str]:
    """Run ``call`` with SIGALRM after ``budget`` seconds; its wall time and how it ended."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, budget)
    start = time.perf_counter()
    try:
        call()
        outcome = "decoded"
    except DimseCodecError as exc:
        outcome = type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return time.perf_counter() - start, outcome


def measure(case: Case, budget: float) -> Row:
    """Peak memory (under tracemalloc) and then wall time (without it) of one decode.

    A normal input is decoded once first, untraced, so that lazy imports and caches filled by a
    decoder's first call do not count, and its time is the best of up to five runs (a short
    decode on a shared machine is noisy); a hostile input runs once each way.
    """
    row = Row(case.decoder, case.name, case.hostile, len(case.data), case.inflated)
    if not case.hostile:
        within(budget, lambda: case.call(case.data))
    gc.collect()
    tracemalloc.start()
    try:
        _, row.outcome = within(budget, lambda: case.call(case.data))
        row.peak = tracemalloc.get_traced_memory()[1]
    except OverBudget:
        row.note = f"over the {budget:g} s budget under tracemalloc: memory not measured"
    finally:
        tracemalloc.stop()
    gc.collect()
    try:
        runs = []
        for _ in range(1 if case.hostile else 5):
            seconds, row.outcome = within(budget, lambda: case.call(case.data))
            runs.append(seconds)
            if sum(runs) > 0.2:
                break
        row.seconds = min(runs)
    except OverBudget:
        row.note += ("; " if row.note else "") + f"over the {budget:g} s budget: time not measured"
    return row


# -- the decoders, as the CLI and a receiver call them ----------------------------------------


def run_command_set(data: bytes) -> object:
    return decode_command_set(data)


def run_dataset(syntax: TransferSyntax) -> Callable[[bytes], object]:
    def call(data: bytes) -> object:
        return decode_dataset(data, syntax)

    return call


def run_pdu(data: bytes) -> object:
    return decode_pdu(data)


def run_stream(data: bytes) -> object:
    """Feed in 16 KiB pieces (what a socket read gives), then close."""
    decoder = StreamDecoder()
    events = []
    for start in range(0, len(data), 1 << 14):
        events += decoder.feed(data[start : start + (1 << 14)])
    return events + decoder.close()


def run_capture(data: bytes) -> object:
    return list(decode_capture(data))


# -- the corpus -------------------------------------------------------------------------------


def command_sets() -> Iterator[tuple[str, bytes]]:
    """The simplest valid command set of every message of PS3.7's tables (Hypothesis ``find``)."""
    for spec in MESSAGES:
        primitive = find(
            primitives(spec.service.name, is_request=spec.is_request),
            lambda _p: True,
            settings=settings(
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )
        yield spec.name, encode_command_set(primitive)


def datasets(sizes: tuple[int, ...]) -> Iterator[tuple[str, Dataset]]:
    """Normal data sets of several sizes: patient attributes plus ``n`` referenced instances
    and an OW Pixel Data of ``64 * n`` bytes."""
    for n in sizes:
        ds = Dataset()
        ds.PatientName = "Tube^HeNe"
        ds.PatientID = "Test1101"
        ds.StudyInstanceUID = "1.2.826.0.1.3680043.2.1125.1"
        ds.Rows, ds.Columns = 16, 2 * n
        ds.ReferencedSOPSequence = Sequence(
            [_reference(index) for index in range(n)],
        )
        ds.PixelData = bytes(range(256)) * (n // 4 or 1)
        ds["PixelData"].VR = "OW"
        yield f"{n} items", ds


def _reference(index: int) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = f"1.2.826.0.1.3680043.2.1125.{index}"
    return item


def split_pdus(stream: bytes) -> list[bytes]:
    """Cut a PDU stream into its PDUs by their headers (PS3.8 9.3.1)."""
    pdus, pos = [], 0
    while pos < len(stream):
        _, length = read_pdu_header(stream[pos:])
        pdus.append(stream[pos : pos + 6 + length])
        pos += 6 + length
    return pdus


def tcp_capture(payload: bytes, port: int = 11112) -> bytes:
    """A pcap (raw IPv4, link type 101) of one TCP connection whose client sends ``payload``."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101)]
    seq = 1000

    def packet(flags: int, sequence: int, body: bytes, outbound: bool = True) -> bytes:
        src, dst = (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02")
        sport, dport = 50000, port
        if not outbound:
            src, dst, sport, dport = dst, src, dport, sport
        tcp = struct.pack(">HHIIBBHHH", sport, dport, sequence, 0, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(body), 0, 0, 64, 6, 0, src, dst)
        frame = ip + tcp + body
        return struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame

    out.append(packet(0x02, seq, b""))
    out.append(packet(0x12, 5000, b"", outbound=False))
    seq += 1
    for start in range(0, len(payload), 60000):
        body = payload[start : start + 60000]
        out.append(packet(0x18, seq, body))
        seq += len(body)
    out.append(packet(0x11, seq, b""))
    return b"".join(out)


def corpus(items: int, values: int, zeros: int, pixels: int, sizes: tuple[int, ...]) -> list[Case]:
    """Every (decoder, input) pair of the benchmark, normal ones first."""
    cases: list[Case] = []
    for name, data in command_sets():
        cases.append(Case("decode_command_set", name, False, data, run_command_set))
    for name, ds in datasets(sizes):
        for syntax in SYNTAXES:
            data = encode_dataset(ds, syntax)
            inflated = (
                len(encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)) if syntax.deflated else None
            )
            cases.append(
                Case("decode_dataset", f"{name}, {SHORT[syntax.uid]}", False, data,
                     run_dataset(syntax), inflated)
            )  # fmt: skip
    association = (EXAMPLES / "storage-commitment-association.pdus").read_bytes()
    for index, pdu in enumerate(split_pdus(association)):
        cases.append(Case("decode_pdu", f"association PDU {index} (type {pdu[0]:02X}H)", False,
                          pdu, run_pdu))  # fmt: skip
    store = C_STORE(
        MessageID=1,
        AffectedSOPClassUID="1.2.840.10008.5.1.4.1.1.2",
        AffectedSOPInstanceUID="1.2.3.4",
        Priority=0,
        DataSet=bytes(range(256)) * 4096,
    )
    stream = bytes(encode_pdata(store, 1, max_pdu_length=16384))
    cases.append(Case("decode_pdu", "P-DATA-TF of 16 KiB", False, split_pdus(stream)[1], run_pdu))
    cases.append(Case("StreamDecoder.feed", "association PDUs", False, association, run_stream))
    cases.append(Case("StreamDecoder.feed", "C-STORE of 1 MiB", False, stream, run_stream))
    capture = (EXAMPLES / "storage-commitment.pcap").read_bytes()
    cases.append(Case("decode_capture", "storage-commitment.pcap", False, capture, run_capture))
    cases.append(
        Case("decode_capture", "C-STORE of 1 MiB", False, tcp_capture(stream), run_capture)
    )

    deflated = run_dataset(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    cases += [
        Case("decode_dataset", f"deflated, {items:,} empty items", True,
             hostile.empty_items_deflated(items), deflated,
             hostile.empty_items_inflated_size(items)),
        Case("decode_dataset", f"DS of {values:,} values", True, hostile.many_values(values),
             run_dataset(IMPLICIT_VR_LITTLE_ENDIAN)),
        Case("decode_dataset", f"deflated, OB Pixel Data of {pixels >> 20} MiB", True,
             hostile.pixel_bomb_deflated(pixels), deflated,
             hostile.pixel_bomb_inflated_size(pixels)),
        Case("decode_command_set", f"{zeros >> 20} MiB of zeros", True, hostile.zeros(zeros),
             run_command_set),
        Case("decode_pdu", f"{zeros >> 20} MiB of zeros", True, hostile.zeros(zeros), run_pdu),
        Case("StreamDecoder.feed", f"{zeros >> 20} MiB of zeros", True, hostile.zeros(zeros),
             run_stream),
        Case("decode_capture", f"{zeros >> 20} MiB of zeros over TCP", True,
             tcp_capture(hostile.zeros(zeros)), run_capture),
    ]  # fmt: skip
    return cases


# -- report -----------------------------------------------------------------------------------


def add_time_ratios(rows: list[Row]) -> None:
    """Each row's time per byte over that of the largest normal input of its decoder in this
    run (small inputs show the fixed cost of a call; hostile ones whether time follows size).
    Bytes are inflated bytes for a deflated data set, as for memory."""
    for decoder in {row.decoder for row in rows}:
        normal = [
            row
            for row in rows
            if row.decoder == decoder and not row.hostile and row.seconds and row.size
        ]
        if not normal:
            continue
        largest = max(normal, key=_basis)
        base = (largest.seconds or 0) / _basis(largest)
        for row in rows:
            if row.decoder == decoder and row.seconds is not None and row.size:
                row.time_ratio = (row.seconds / _basis(row)) / base


def _basis(row: Row) -> int:
    return max(1, row.inflated or row.size)


def _size(count: int | None) -> str:
    if count is None:
        return ""
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} B"


def table(rows: list[Row]) -> str:
    """The Markdown table of every row."""
    lines = [
        "| decoder | input | kind | size | inflated | peak | peak / input | peak / inflated "
        "| time | time/byte vs largest normal | goal ≤ 10x | ≤ 10x + 1 MiB | outcome |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        per_input = "" if row.peak is None else f"{row.peak / max(1, row.size):.1f}"
        per_inflated = (
            f"{row.peak / row.inflated:.1f}" if row.peak is not None and row.inflated else ""
        )
        seconds = "" if row.seconds is None else f"{row.seconds * 1e3:.2f} ms"
        ratio = "" if row.time_ratio is None else f"{row.time_ratio:.1f}"
        outcome = "; ".join(part for part in (row.outcome, row.note) if part)
        lines.append(
            f"| `{row.decoder}` | {row.name} | {'hostile' if row.hostile else 'normal'} "
            f"| {_size(row.size)} | {_size(row.inflated)} | {_size(row.peak)} | {per_input} "
            f"| {per_inflated} | {seconds} | {ratio} | {row.verdict} | {row.within_floor} "
            f"| {outcome} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Measure the corpus and print the table (exit 0 whatever the verdicts: they inform)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller hostile inputs")
    parser.add_argument("--items", type=int, help="empty items (3,000,000; quick 20,000)")
    parser.add_argument("--values", type=int, help="DS values (1,000,000; quick 100,000)")
    parser.add_argument("--zeros", type=int, help="bytes of zeros (30 MiB; quick 2 MiB)")
    parser.add_argument("--pixels", type=int, help="OB Pixel Data bytes (256 MiB; quick 16 MiB)")
    parser.add_argument("--budget", type=float, help="seconds per decode (120; quick 20)")
    parser.add_argument("--json", type=Path, help="write every row and the environment here")
    args = parser.parse_args(argv)
    quick = args.quick
    items = args.items or (20_000 if quick else 3_000_000)
    values = args.values or (100_000 if quick else 1_000_000)
    zeros = args.zeros or ((2 if quick else 30) << 20)
    pixels = args.pixels or ((16 if quick else 256) << 20)
    budget = args.budget or (20.0 if quick else 120.0)
    sizes = (4, 64, 1024) if quick else (4, 64, 1024, 8192)
    cases = corpus(items, values, zeros, pixels, sizes)
    rows = []
    for case in cases:
        row = measure(case, budget)
        rows.append(row)
        print(f"{row.verdict:4} {case.decoder} {case.name}: {row.outcome} {row.note}",
              file=sys.stderr, flush=True)  # fmt: skip
        case.data = b""  # let a hostile input go before the next one is measured
    add_time_ratios(rows)
    print(table(rows))
    missed = [row for row in rows if row.verdict == "MISS"]
    print(f"\n{len(rows)} inputs, {len(missed)} over the {GOAL:g}x goal, "
          f"{sum(row.verdict == 'SKIP' for row in rows)} skipped")  # fmt: skip
    if args.json:
        record = {
            "environment": harness.environment(1, budget, quick, "wall"),
            "rows": [asdict(row) | {"verdict": row.verdict} for row in rows],
        }
        args.json.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
