"""Benchmark P-DATA fragmentation and reassembly: dimse-codec vs pynetdicom vs a memcpy.

A 64 MiB C-STORE-RQ data set is cut into P-DATA-TF PDUs and rebuilt from their bytes by both
libraries in one process, next to a fresh 64 MiB copy (``bytearray(data)``) taken in the same
round as the yardstick; a 4 MiB C-STORE goes both ways; the cost of max PDU length 0 is compared
with 16382; and, in subprocesses, the peak memory of decoding 64 MiB from a file. Every row is a
ratio of two times measured back to back in the same round, reported as the median over paired
rounds. Run ``python benchmarks/bench_pdata.py [--quick] [--json PATH] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import random
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import harness
from harness import CLOCKS, Call, calibrate, load_average, per_call_ns, require
from pynetdicom import dimse_messages, dimse_primitives, pdu

from dimse_codec import C_STORE
from dimse_codec.pdata import MessageReceived, StreamDecoder, encode_pdata

BIG = 64 << 20
"""The large data set: 64 MiB."""
MEDIUM = 4 << 20
"""The data set of the both-directions row: 4 MiB."""
MAX_PDU = 16382
"""The usual Maximum Length Received (DCMTK's and pynetdicom's default)."""
CHUNK = 64 << 10
"""What one socket read gives in the chunked rows: 64 KiB."""
CONTEXT_ID = 1

FRAGMENT_GOAL = 3.0
"""Issue goal: fragmenting runs at >= 3x the throughput of one fresh memcpy of the data set."""
REASSEMBLE_GOAL = 0.75
"""Issue goal: reassembling runs at >= 75% of the throughput of one fresh memcpy."""
ROUND_TRIP_GOAL = 2.0
"""Issue goal: a 4 MiB C-STORE to PDU bytes and back is >= 2x faster than pynetdicom."""
MAX_ZERO_GOAL = 1.0
"""Issue goal: at max PDU length 0 our time is no more than at 16382 (time ratio <= 1)."""
MEMORY_GOAL = 1.05
"""Issue goal: decoding a data set peaks at <= 1.05x its size above the baseline."""
SINK_GOAL = 0.05
"""Our threshold for "about 0x" when the data set goes to a file sink."""

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
INSTANCE = "1.2.826.0.1.3680043.2.1125.1.64"

_PDU_HEADER = struct.Struct(">BBL")
"""A PDU's type, reserved byte and length, as pynetdicom's DUL unpacks them."""


# -- the two libraries' work ---------------------------------------------------------------------


def ours_primitive(data: bytes) -> C_STORE:
    """A C-STORE-RQ carrying ``data`` (bytes are kept, not copied)."""
    return C_STORE(
        MessageID=1,
        AffectedSOPClassUID=CT_IMAGE_STORAGE,
        AffectedSOPInstanceUID=INSTANCE,
        Priority=0,
        DataSet=data,
    )


def theirs_primitive(data: bytes) -> Any:
    """The same C-STORE-RQ in pynetdicom; ``BytesIO(data)`` shares ``data`` until written to."""
    primitive = dimse_primitives.C_STORE()
    primitive.MessageID = 1
    primitive.AffectedSOPClassUID = CT_IMAGE_STORAGE
    primitive.AffectedSOPInstanceUID = INSTANCE
    primitive.Priority = 0
    primitive.DataSet = BytesIO(data)
    return primitive


def ours_fragmenter(primitive: C_STORE, max_pdu: int, mode: str) -> Callable[[], int]:
    """Ours, primitive to every PDU's buffers: ``encode_pdata`` then iterate all PDUs.

    ``mode`` says what is done with each PDU (a tuple of header bytes and memoryview slices):
    ``iterate`` nothing; ``consume`` ``sum(map(len, pdu))``, touching every buffer as a writer
    does; ``join`` ``b"".join(pdu)``, i.e. copying it into one bytes object of wire bytes.
    """

    def iterate() -> int:
        count = 0
        for _ in encode_pdata(primitive, CONTEXT_ID, max_pdu_length=max_pdu):
            count += 1
        return count

    def consume() -> int:
        total = 0
        for buffers in encode_pdata(primitive, CONTEXT_ID, max_pdu_length=max_pdu):
            total += sum(map(len, buffers))
        return total

    def join() -> int:
        total = 0
        for buffers in encode_pdata(primitive, CONTEXT_ID, max_pdu_length=max_pdu):
            total += len(b"".join(buffers))
        return total

    return {"iterate": iterate, "consume": consume, "join": join}[mode]


def theirs_pdu_bytes(primitive: Any, max_pdu: int) -> Iterator[bytes]:
    """pynetdicom, primitive to each P-DATA-TF's bytes, as ``DIMSE.send_msg`` and the DUL do.

    ``primitive_to_message``, then ``encode_msg`` (a generator of ``P_DATA`` primitives), then
    ``P_DATA_TF(p_data).encode()`` per primitive: what the DUL writes to the socket.
    """
    message = dimse_messages.C_STORE_RQ()
    message.primitive_to_message(primitive)
    for p_data in message.encode_msg(CONTEXT_ID, max_pdu):
        yield pdu.P_DATA_TF(p_data).encode()


def theirs_fragmenter(primitive: Any, max_pdu: int) -> Callable[[], int]:
    """pynetdicom, primitive to the bytes of every PDU (``len`` of each, as the consumer)."""

    def run() -> int:
        return sum(map(len, theirs_pdu_bytes(primitive, max_pdu)))

    return run


def ours_receive(chunks: Iterator[memoryview | bytes], max_pdu: int, sink: Any = None) -> Any:
    """Ours: feed every chunk to a ``StreamDecoder``, close it, return the ``MessageReceived``."""
    decoder = StreamDecoder(max_pdu_length=max_pdu, dataset_sink=sink)
    events: list[Any] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    messages = [event for event in events if isinstance(event, MessageReceived)]
    if len(messages) != 1 or len(events) != 1:
        raise SystemExit(f"benchmark precondition failed: our decoder gave {events!r}")
    return messages[0]


class ChunkReader:
    """pynetdicom's DUL read loop (``dul._read_pdu_data``) over chunks instead of a socket.

    ``next_chunk`` returns the next piece of the stream (empty at its end), as ``recv`` would.
    :meth:`read_pdu` does what the DUL does per PDU: a ``bytearray`` extended with the 6-byte
    header, then with the PDU-length bytes of body, then ``bytes()`` of it (``_decode_pdu``). The
    DUL's own ``recv`` loop (4096-byte reads, each into a further ``bytearray``) is not imitated,
    which spares pynetdicom one copy and many calls.
    """

    def __init__(self, next_chunk: Callable[[], memoryview | bytes]) -> None:
        self._next = next_chunk
        self._chunk: memoryview = memoryview(b"")
        self._pos = 0

    def _read_into(self, target: bytearray, wanted: int) -> None:
        """Extend ``target`` with the next ``wanted`` bytes of the stream."""
        while wanted:
            available = len(self._chunk) - self._pos
            if not available:
                self._chunk = memoryview(self._next())
                self._pos = 0
                if not len(self._chunk):
                    raise SystemExit("benchmark precondition failed: the stream ended early")
                continue
            take = min(available, wanted)
            target += self._chunk[self._pos : self._pos + take]
            self._pos += take
            wanted -= take

    def read_pdu(self) -> bytes:
        """The next whole PDU as ``bytes``."""
        bytestream = bytearray()
        self._read_into(bytestream, 6)
        _, _, length = _PDU_HEADER.unpack(bytestream)
        self._read_into(bytestream, length)
        return bytes(bytestream)


def theirs_decode_pdus(pdus: Iterator[bytes]) -> Any:
    """pynetdicom, PDU bytes to the primitive: what the DUL and ``DIMSE.receive_primitive`` do.

    Per PDU ``P_DATA_TF().decode(raw)``, ``.to_primitive()`` and ``DIMSEMessage.decode_msg``
    until it says the message is whole, then ``message_to_primitive()``, whose ``DataSet`` is
    the ``BytesIO`` the fragments were written to.
    """
    message = dimse_messages.DIMSEMessage()
    for raw in pdus:
        received = pdu.P_DATA_TF()
        received.decode(raw)
        if message.decode_msg(received.to_primitive()):
            return message.message_to_primitive()
    raise SystemExit("benchmark precondition failed: pynetdicom never completed the message")


def whole_pdus(stream: bytes | memoryview) -> Iterator[bytes]:
    """Cut a stream held in memory into PDUs: the header's length, then ``bytes`` of the PDU."""
    view = memoryview(stream)
    pos, end = 0, len(view)
    unpack = _PDU_HEADER.unpack_from
    while pos < end:
        length = unpack(view, pos)[2] + 6
        yield bytes(view[pos : pos + length])
        pos += length


def chunked(view: memoryview, size: int = CHUNK) -> Iterator[memoryview]:
    """The stream as the ``size``-byte reads a socket would return (views: no copy here)."""
    return (view[start : start + size] for start in range(0, len(view), size))


def chunked_pdus(view: memoryview) -> Iterator[bytes]:
    """The PDUs pynetdicom's DUL would read from the stream arriving in 64 KiB chunks."""
    chunks = chunked(view)
    reader = ChunkReader(lambda: next(chunks, b""))
    end = len(view)
    read = 0
    while read < end:
        raw = reader.read_pdu()
        read += len(raw)
        yield raw


def ours_reassembler(stream: bytes, max_pdu: int, in_chunks: bool) -> Callable[[], Any]:
    """Ours, stream bytes to the message: one ``feed`` of everything, or one per 64 KiB."""
    view = memoryview(stream)

    def run() -> Any:
        return ours_receive(chunked(view) if in_chunks else iter((view,)), max_pdu)

    return run


def theirs_reassembler(stream: bytes, in_chunks: bool) -> Callable[[], Any]:
    """pynetdicom, stream bytes to the primitive, the PDUs cut as its DUL would cut them."""
    view = memoryview(stream)

    def run() -> Any:
        return theirs_decode_pdus(chunked_pdus(view) if in_chunks else whole_pdus(view))

    return run


def ours_round_trip(primitive: C_STORE, join: bool) -> Callable[[], Any]:
    """Ours, primitive to PDUs and back: each PDU joined to wire bytes and fed (or its buffers)."""

    def run() -> Any:
        decoder = StreamDecoder(max_pdu_length=MAX_PDU)
        events: list[Any] = []
        for buffers in encode_pdata(primitive, CONTEXT_ID, max_pdu_length=MAX_PDU):
            if join:
                events += decoder.feed(b"".join(buffers))
            else:
                for buffer in buffers:
                    events += decoder.feed(buffer)
        events += decoder.close()
        (message,) = events
        return message.primitive

    return run


def theirs_round_trip(primitive: Any) -> Callable[[], Any]:
    """pynetdicom, primitive to PDU bytes and back (every PDU decoded from its encoded bytes)."""

    def run() -> Any:
        return theirs_decode_pdus(theirs_pdu_bytes(primitive, MAX_PDU))

    return run


def memcpy(data: bytes) -> Callable[[], int]:
    """The yardstick: one copy of the data set into a fresh buffer (page faults included)."""

    def run() -> int:
        return len(bytearray(data))

    return run


# -- sanity checks -------------------------------------------------------------------------------


def ours_dataset(message: MessageReceived) -> memoryview:
    """The reassembled data set of one of our messages (never through ``.DataSet``: a copy)."""
    require(message.dataset is not None, "our decoder delivered no data set")
    require(not message.diagnostics, f"our decoder reported {message.diagnostics}")
    dataset = message.primitive.payload("DataSet")
    require(isinstance(dataset, memoryview), "the data set was not attached to the primitive")
    return message.dataset  # type: ignore[return-value]


def verify(data: bytes, streams: dict[int, bytes], medium: bytes) -> dict[str, Any]:
    """Check both sides do the whole job: same PDUs, same data set back, across libraries."""
    ours_p, theirs_p = ours_primitive(data), theirs_primitive(data)
    facts: dict[str, Any] = {}
    for max_pdu, stream in streams.items():
        theirs_stream = b"".join(theirs_pdu_bytes(theirs_p, max_pdu))
        facts[f"identical_pdu_bytes_{max_pdu}"] = theirs_stream == stream
        pdus = sum(1 for _ in encode_pdata(ours_p, CONTEXT_ID, max_pdu_length=max_pdu))
        theirs_pdus = sum(1 for _ in whole_pdus(theirs_stream))
        require(pdus == theirs_pdus, f"max {max_pdu}: {pdus} PDUs, pynetdicom {theirs_pdus}")
        facts[f"pdus_{max_pdu}"] = pdus
        for mode in ("iterate", "consume", "join"):
            result = ours_fragmenter(ours_p, max_pdu, mode)()
            require(result == (pdus if mode == "iterate" else len(stream)), f"{mode} counts")
        require(theirs_fragmenter(theirs_p, max_pdu)() == len(theirs_stream), "their lengths")
        sources = [("ours", stream)]
        if theirs_stream != stream:  # identical bytes need no second pass
            sources.append(("pynetdicom's", theirs_stream))
        for name, source in sources:
            for in_chunks in (False, True):
                message = ours_reassembler(source, max_pdu, in_chunks)()
                require(ours_dataset(message) == data, f"we rebuild {name} stream wrongly")
                require(
                    message.primitive.AffectedSOPInstanceUID == INSTANCE,
                    f"we decode {name} command set wrongly",
                )
                theirs = theirs_reassembler(source, in_chunks)()
                require(theirs.DataSet.getvalue() == data, f"pynetdicom rebuilds {name} wrongly")
                require(theirs.AffectedSOPInstanceUID == INSTANCE, "pynetdicom's command set")
            del message, theirs
        del theirs_stream
        gc.collect()
    ours_m, theirs_m = ours_primitive(medium), theirs_primitive(medium)
    for join in (True, False):
        primitive = ours_round_trip(ours_m, join)()
        require(bytes(primitive.payload("DataSet")) == medium, "our round trip lost data")
    require(theirs_round_trip(theirs_m)().DataSet.getvalue() == medium, "their round trip")
    return facts


# -- timing --------------------------------------------------------------------------------------


@dataclass
class Side:
    """One timed operation; ``ms`` holds its time per call in each round."""

    name: str
    call: Call
    calls: int = 0
    ms: list[float] = field(default_factory=list)


@dataclass
class Ratio:
    """One reported row: per round, time of ``numerator`` / time of ``denominator``."""

    row: str
    what: str
    numerator: str
    denominator: str
    meaning: str
    goal: float | None = None
    higher_is_better: bool = True


@dataclass
class Group:
    """Sides timed together in every round (in rotating order) and the ratios drawn from them."""

    name: str
    sides: list[Side]
    ratios: list[Ratio]


def run_group(group: Group, rounds: int, target_s: float, clock: Callable[[], int]) -> None:
    """Calibrate each side, then time all of them once per round, rotating who goes first."""
    for side in group.sides:
        side.calls = calibrate(side.call, target_s, clock, warm_up=2, most=1_000_000)
        gc.collect()
    count = len(group.sides)
    for index in range(rounds):
        shift = index % count
        for side in group.sides[shift:] + group.sides[:shift]:
            side.ms.append(per_call_ns(side.call, side.calls, clock) / 1e6)
        gc.collect()
    print(f"  timed {group.name}", file=sys.stderr, flush=True)


def summarise(group: Group) -> list[dict[str, Any]]:
    """Median, spread and verdict of every ratio of a group, with the sides' median ms."""
    sides = {side.name: side for side in group.sides}
    results = []
    for ratio in group.ratios:
        top, bottom = sides[ratio.numerator], sides[ratio.denominator]
        values = [a / b for a, b in zip(top.ms, bottom.ms, strict=True)]
        median = statistics.median(values)
        if ratio.goal is None:
            verdict = "context"
        elif ratio.higher_is_better:
            verdict = "PASS" if median >= ratio.goal else "MISS"
        else:
            verdict = "PASS" if median <= ratio.goal else "MISS"
        results.append(
            {
                "group": group.name,
                "row": ratio.row,
                "what": ratio.what,
                "ratio": ratio.meaning,
                "ratio_median": median,
                "ratio_min": min(values),
                "ratio_max": max(values),
                "goal": ratio.goal,
                "goal_is_minimum": ratio.higher_is_better,
                "verdict": verdict,
                "numerator": ratio.numerator,
                "denominator": ratio.denominator,
                "numerator_ms_median": statistics.median(top.ms),
                "denominator_ms_median": statistics.median(bottom.ms),
                "numerator_calls_per_round": top.calls,
                "denominator_calls_per_round": bottom.calls,
                "rounds": len(values),
            }
        )
    return results


# -- the rows ------------------------------------------------------------------------------------


def build_groups(data: bytes, streams: dict[int, bytes], medium: bytes) -> list[Group]:
    """Fragment 64 MiB, reassemble 64 MiB (both at 16382 and 0), and a 4 MiB round trip."""
    ours_p, theirs_p = ours_primitive(data), theirs_primitive(data)
    copy = Side("memcpy", memcpy(data))
    fragment = Group(
        "fragment 64 MiB",
        [
            copy,
            Side("ours iterate 16382", ours_fragmenter(ours_p, MAX_PDU, "iterate")),
            Side("ours consume 16382", ours_fragmenter(ours_p, MAX_PDU, "consume")),
            Side("ours join 16382", ours_fragmenter(ours_p, MAX_PDU, "join")),
            Side("pynetdicom 16382", theirs_fragmenter(theirs_p, MAX_PDU)),
            Side("ours consume 0", ours_fragmenter(ours_p, 0, "consume")),
            Side("pynetdicom 0", theirs_fragmenter(theirs_p, 0)),
        ],
        [
            Ratio(
                "1",
                "fragment, ours: iterate every PDU",
                "memcpy",
                "ours iterate 16382",
                "memcpy time / ours",
            ),
            Ratio(
                "1",
                "fragment, ours: iterate + sum(map(len, pdu))",
                "memcpy",
                "ours consume 16382",
                "memcpy time / ours",
                FRAGMENT_GOAL,
            ),
            Ratio(
                "1",
                'fragment, ours: iterate + b"".join(pdu) (wire bytes)',
                "memcpy",
                "ours join 16382",
                "memcpy time / ours",
            ),
            Ratio(
                "1",
                "fragment, pynetdicom: encode_msg + P_DATA_TF.encode",
                "memcpy",
                "pynetdicom 16382",
                "memcpy time / pynetdicom",
            ),
            Ratio(
                "1",
                "fragment, pynetdicom time / ours (consume)",
                "pynetdicom 16382",
                "ours consume 16382",
                "pynetdicom time / ours",
            ),
            Ratio(
                "4",
                "fragment at max 0 vs 16382, ours (consume)",
                "ours consume 0",
                "ours consume 16382",
                "time at 0 / at 16382",
                MAX_ZERO_GOAL,
                False,
            ),
            Ratio(
                "4",
                "fragment at max 0 vs 16382, pynetdicom",
                "pynetdicom 0",
                "pynetdicom 16382",
                "time at 0 / at 16382",
            ),
        ],
    )
    sides = [Side("memcpy", memcpy(data))]
    for max_pdu, stream in streams.items():
        for in_chunks, how in ((False, "one feed"), (True, "64 KiB")):
            sides.append(
                Side(f"ours {how} {max_pdu}", ours_reassembler(stream, max_pdu, in_chunks))
            )
            sides.append(Side(f"pynetdicom {how} {max_pdu}", theirs_reassembler(stream, in_chunks)))
    ratios = []
    for how, label in (("one feed", "(a) one feed"), ("64 KiB", "(b) 64 KiB chunks")):
        ratios += [
            Ratio(
                "2",
                f"reassemble {label}, ours",
                "memcpy",
                f"ours {how} {MAX_PDU}",
                "memcpy time / ours",
                REASSEMBLE_GOAL,
            ),
            Ratio(
                "2",
                f"reassemble {label}, pynetdicom",
                "memcpy",
                f"pynetdicom {how} {MAX_PDU}",
                "memcpy time / pynetdicom",
            ),
            Ratio(
                "2",
                f"reassemble {label}, pynetdicom time / ours",
                f"pynetdicom {how} {MAX_PDU}",
                f"ours {how} {MAX_PDU}",
                "pynetdicom time / ours",
            ),
        ]
    for how, label in (("one feed", "one feed"), ("64 KiB", "64 KiB chunks")):
        ratios += [
            Ratio(
                "4",
                f"reassemble {label} at max 0 vs 16382, ours",
                f"ours {how} 0",
                f"ours {how} {MAX_PDU}",
                "time at 0 / at 16382",
                MAX_ZERO_GOAL,
                False,
            ),
            Ratio(
                "4",
                f"reassemble {label} at max 0 vs 16382, pynetdicom",
                f"pynetdicom {how} 0",
                f"pynetdicom {how} {MAX_PDU}",
                "time at 0 / at 16382",
            ),
        ]
    reassemble = Group("reassemble 64 MiB", sides, ratios)
    ours_m, theirs_m = ours_primitive(medium), theirs_primitive(medium)
    round_trip = Group(
        "4 MiB round trip",
        [
            Side("ours join", ours_round_trip(ours_m, True)),
            Side("ours buffers", ours_round_trip(ours_m, False)),
            Side("pynetdicom", theirs_round_trip(theirs_m)),
        ],
        [
            Ratio(
                "3",
                "4 MiB C-STORE encode + decode, each PDU joined to bytes",
                "pynetdicom",
                "ours join",
                "pynetdicom time / ours",
                ROUND_TRIP_GOAL,
            ),
            Ratio(
                "3",
                "4 MiB C-STORE encode + decode, PDU buffers fed as they are",
                "pynetdicom",
                "ours buffers",
                "pynetdicom time / ours",
                ROUND_TRIP_GOAL,
            ),
        ],
    )
    return [fragment, reassemble, round_trip]


# -- row 5: memory, in subprocesses --------------------------------------------------------------


def _status_kib(key: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def memory_child(mode: str, measure: str, path: str) -> dict[str, Any]:
    """Decode the stream in ``path`` read in 64 KiB chunks; report peak memory above baseline.

    ``mode``: ``ours`` (data set in memory), ``ours-sink`` (data set written to a file) or
    ``pynetdicom``. ``measure``: ``rss`` (peak RSS, VmHWM reset just before decoding, minus the
    RSS then; not ``ru_maxrss``, which a child inherits from its parent on Linux) or
    ``tracemalloc`` (its peak; tracing costs memory, so it runs in its own process).
    """
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    sink_path = Path(path).with_suffix(".sink")
    sink_files: list[Any] = []

    def sink(context_id: int, primitive: Any) -> Any:
        sink_files.append(open(sink_path, "wb"))  # noqa: SIM115 - closed below
        return sink_files[-1]

    gc.collect()
    reset = False
    if measure == "tracemalloc":
        tracemalloc.start()
    else:
        reset = _reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    hwm_before = _status_kib("VmHWM")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path, "rb", buffering=0) as stream:

        def next_chunk() -> memoryview:
            return view[: stream.readinto(buffer)]

        if mode == "pynetdicom":
            reader = ChunkReader(next_chunk)
            end = os.path.getsize(path)

            def pdus() -> Iterator[bytes]:
                read = 0
                while read < end:
                    raw = reader.read_pdu()
                    read += len(raw)
                    yield raw

            kept = theirs_decode_pdus(pdus())
            size = kept.DataSet.seek(0, io.SEEK_END)  # getbuffer() could copy
        else:
            kept = ours_receive(
                iter(next_chunk, view[:0]), MAX_PDU, sink if mode == "ours-sink" else None
            )
            size = kept.dataset_length
    result: dict[str, Any] = {"mode": mode, "measure": measure, "dataset_bytes": size}
    if measure == "tracemalloc":
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.update(traced_peak=peak, traced_kept=current)
    else:
        hwm_after = _status_kib("VmHWM")
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if rss_before is not None and hwm_after is not None:
            # without the reset VmHWM may still hold an earlier, higher peak: an overstatement
            method = "VmHWM after reset - VmRSS before" if reset else "VmHWM - VmRSS before"
            growth = hwm_after - rss_before
        else:
            # Linux carries the parent's ru_maxrss into a child, so this may read 0
            method, growth = "ru_maxrss growth (may understate)", maxrss_after - maxrss_before
        result.update(method=method, peak_growth=growth * 1024)
        result.update(
            rss_before_kib=rss_before,
            hwm_before_kib=hwm_before,
            hwm_after_kib=hwm_after,
            rss_after_kib=_status_kib("VmRSS"),
            maxrss_before_kib=maxrss_before,
            maxrss_after_kib=maxrss_after,
        )
    for sink_file in sink_files:
        sink_file.close()
    if sink_files:
        result["sink_file_bytes"] = sink_path.stat().st_size
        sink_path.unlink()
    del kept
    return result


def measure_memory(stream: bytes) -> list[dict[str, Any]]:
    """Row 5: one fresh interpreter per (mode, measure), each decoding the stream from a file."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_pdata_") as directory:
        path = os.path.join(directory, "stream.bin")
        with open(path, "wb") as out:
            out.write(stream)
        for mode in ("ours", "ours-sink", "pynetdicom"):
            for measure in ("rss", "tracemalloc"):
                done = subprocess.run(
                    [
                        sys.executable,
                        os.path.abspath(__file__),
                        "--memory-child",
                        mode,
                        measure,
                        path,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                if done.returncode != 0:
                    results.append({"mode": mode, "measure": measure, "error": done.stderr[-2000:]})
                    continue
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("  measured memory", file=sys.stderr, flush=True)
    return results


def memory_rows(measurements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Row 5 as table rows: peak growth / data set size per (mode, measure)."""
    rows = []
    for item in measurements:
        mode, measure = item["mode"], item["measure"]
        goal = None if mode == "pynetdicom" else (SINK_GOAL if mode == "ours-sink" else MEMORY_GOAL)
        what = {
            "ours": "decode 64 MiB from a file in 64 KiB chunks, ours, data set kept in memory",
            "ours-sink": "decode 64 MiB from a file in 64 KiB chunks, ours, dataset_sink to a file",
            "pynetdicom": "decode 64 MiB from a file in 64 KiB chunks, pynetdicom (BytesIO kept)",
        }[mode]
        if "error" in item:
            rows.append({"row": "5", "what": what, "measure": measure, "verdict": "ERROR", **item})
            continue
        peak = item["peak_growth"] if measure == "rss" else item["traced_peak"]
        ratio = peak / BIG
        verdict = "context" if goal is None else ("PASS" if ratio <= goal else "MISS")
        rows.append(
            {
                "group": "memory",
                "row": "5",
                "what": what,
                "measure": "peak RSS growth" if measure == "rss" else "tracemalloc peak",
                "ratio": "peak / data set",
                "ratio_median": ratio,
                "goal": goal,
                "goal_is_minimum": False,
                "verdict": verdict,
                "peak_mib": peak / (1 << 20),
                "detail": item,
            }
        )
    return rows


# -- reporting -----------------------------------------------------------------------------------


def format_table(results: list[dict[str, Any]]) -> str:
    """Timed rows as a Markdown table (ratios; the ms medians are context only)."""
    lines = [
        "| row | what | ratio | median | min..max | goal | verdict "
        "| numerator ms | denominator ms |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        goal = (
            "—"
            if r["goal"] is None
            else ("≥" if r["goal_is_minimum"] else "≤") + f"{r['goal']:.2f}"
        )
        lines.append(
            f"| {r['row']} | {r['what']} | {r['ratio']} | {r['ratio_median']:.3g} "
            f"| {r['ratio_min']:.3g}..{r['ratio_max']:.3g} | {goal} | {r['verdict']} "
            f"| {r['numerator_ms_median']:.3g} | {r['denominator_ms_median']:.3g} |"
        )
    return "\n".join(lines)


def format_memory(rows: list[dict[str, Any]]) -> str:
    """Row 5 as a Markdown table."""
    lines = [
        "| row | what | measure | peak / data set | peak MiB | goal | verdict |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        if r["verdict"] == "ERROR":
            lines.append(f"| 5 | {r['what']} | {r['measure']} | — | — | — | ERROR |")
            continue
        goal = "—" if r["goal"] is None else f"≤{r['goal']:.2f}"
        lines.append(
            f"| 5 | {r['what']} | {r['measure']} | {r['ratio_median']:.3f}× "
            f"| {r['peak_mib']:.1f} | {goal} | {r['verdict']} |"
        )
    return "\n".join(lines)


def environment(rounds: int, target_s: float, quick: bool, clock: str) -> dict[str, Any]:
    """What the numbers were measured with: the shared record and this benchmark's sizes."""
    return {
        **harness.environment(rounds, target_s, quick, clock),
        "dataset_bytes": BIG,
        "round_trip_dataset_bytes": MEDIUM,
        "max_pdu_length": MAX_PDU,
        "chunk_bytes": CHUNK,
    }


def profile_reassembly(streams: dict[int, bytes], repeats: int, top: int) -> str:
    """cProfile our reassembly at 16382 (one feed, then 64 KiB chunks): top functions by tottime."""
    out = io.StringIO()
    stream = streams[MAX_PDU]
    for in_chunks, label in ((False, "one feed"), (True, "64 KiB chunks")):
        run = ours_reassembler(stream, MAX_PDU, in_chunks)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeats):
            run()
        profiler.disable()
        out.write(f"\n### StreamDecoder, 64 MiB at {MAX_PDU}, {label}, {repeats} runs, top {top}\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Parse options, verify, time, print the tables; always exit 0 (goals are informational)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (smoke run)")
    parser.add_argument("--rounds", type=int, help="paired rounds per group (default 25, quick 5)")
    parser.add_argument(
        "--target-ms",
        type=float,
        help="time per side per round, in ms; at least one call (default 40, quick 10)",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this thread's CPU time (default); wall: elapsed time",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile our 64 MiB reassembly (top 12)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip row 5 (subprocesses)")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return 0
    rounds = args.rounds or (5 if args.quick else 25)
    target_s = (args.target_ms or (10.0 if args.quick else 40.0)) / 1000.0
    if rounds < 1 or target_s <= 0:
        parser.error("--rounds and --target-ms must be positive")

    env = environment(rounds, target_s, args.quick, args.clock)
    print(
        f"dimse-codec {env['dimse_codec']} ({env['git']}) vs pynetdicom {env['pynetdicom']} "
        f"(pydicom {env['pydicom']}), Python {env['python']}, {env['cpu_count']} CPU(s); "
        f"{rounds} rounds of ~{target_s * 1000:.0f} ms ({args.clock} time) per side; "
        f"load average {env['load_average_at_start']}",
        flush=True,
    )
    rng = random.Random(20261121)
    data = rng.randbytes(BIG)
    medium = rng.randbytes(MEDIUM)
    ours_p = ours_primitive(data)
    streams = {
        max_pdu: b"".join(encode_pdata(ours_p, CONTEXT_ID, max_pdu_length=max_pdu).buffers())
        for max_pdu in (MAX_PDU, 0)
    }
    facts = verify(data, streams, medium)
    print(f"  verified: {facts}", file=sys.stderr, flush=True)

    results: list[dict[str, Any]] = []
    for group in build_groups(data, streams, medium):
        run_group(group, rounds, target_s, CLOCKS[args.clock])
        results += summarise(group)
    memory = [] if args.no_memory else memory_rows(measure_memory(streams[MAX_PDU]))

    print()
    print(
        "Ratios are medians over paired rounds; 'memcpy time / X' is X's throughput relative to "
        "one fresh 64 MiB copy (higher is better)"
    )
    print(format_table(results))
    if memory:
        print()
        print(format_memory(memory))
    scored = [r for r in results + memory if r["goal"] is not None]
    passed = [r for r in scored if r["verdict"] == "PASS"]
    print(f"\n{len(passed)}/{len(scored)} rows with a goal meet it; informational only")
    print(f"same PDU bytes from both libraries: {facts}")

    profile = ""
    if args.profile:
        profile = profile_reassembly(streams, 3 if args.quick else 10, 12)
        print(profile)

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "environment": env,
                    "load_average_at_end": load_average(),
                    "checks": facts,
                    "results": results,
                    "memory": memory,
                    "profile": profile or None,
                },
                out,
                indent=2,
            )
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
