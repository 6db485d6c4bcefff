"""Whole-process CPU and peak memory of ``dimse-codec decode`` against tshark, on the shapes of
real hospital traffic, built from real recordings.

Three conversations are recorded once with tcpdump on 127.0.0.1 between real peers:

- ``echo``: DCMTK's ``echoscu`` against DCMTK's ``storescp`` (one C-ECHO association);
- ``ncommit``: pynetdicom against pynetdicom, an association with a User Identity
  (username and passcode) that carries an N-ACTION-RQ (Storage Commitment) and an
  N-EVENT-REPORT-RQ, each answered;
- ``store``: DCMTK's ``storescu`` sending one 3.6 MB Secondary Capture image to ``storescp``.

Each recording is then replicated into the shapes by rewriting addresses, ports and
timestamps (the bytes of every PDU stay as the peers sent them; the IPv4 header checksum is
recomputed): one requestor address and port per association, associations one after another
in capture time. Loopback carries segments of up to 64 KiB; the ``store`` recording is cut into
1,460-byte segments (the payload of an Ethernet frame) with consecutive sequence numbers, as a
real network would carry it.

======================  ========================================================================
shape                   content (full run; ``--quick`` uses about 1/40 of the counts)
======================  ========================================================================
``echo``                20,000 short C-ECHO associations, one every 0.2 s
``ncommit``             10,000 associations with User Identity, N-ACTION and N-EVENT-REPORT
``store``               12 big C-STORE associations in 1,460-byte segments
``half-open``           300,000 connections that never complete (a flood at 10,000 per second):
                        half a lone SYN, half a SYN answered by a SYN-ACK
``lossy``               the ``store`` shape with about 3% of its packets dropped, in bursts
                        of 1 to 40 packets (as a kernel drops them when tcpdump falls behind)
======================  ========================================================================

Each shape is decoded by three processes in one run, one after the other: ``dimse-codec decode
FILE`` (text output), ``tshark -r FILE -d tcp.port==N,dicom -V`` (its full text tree) and
``tshark -r FILE -d tcp.port==N,dicom`` (its one-line summary), all writing to /dev/null. Each
process's CPU time (user + system) and peak RSS come from the kernel (``os.wait4``) of a small
launcher process (``bench_decode.run``), so no tool is charged for this script's memory. Ours
runs as installed from a wheel, its bytecode cached (``harness.as_installed``: each recording is
decoded once first), so it does not compile its sources in every timed process. Results
are ratios: tshark's CPU over ours (goal >= 2 against ``-V``), ours' peak over tshark's (goal <=
0.25). Then the ``echo`` shape at 5,000 and 50,000 associations gives ours' peak at each
(goal: 50,000 within 1.3x of 5,000).

Run ``python benchmarks/bench_capture_shapes.py [--quick] [--directory DIR] [--json PATH]``;
tcpdump (run as root), DCMTK, tshark and the ``test`` extra (pynetdicom) are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench_decode import Run, run, tools
from harness import as_installed, environment, require

SERVER_PORT = 11112
"""The DICOM port of every shape (the peers listen on a free port; it is rewritten)."""
SEGMENT = 1460
SENTINEL = b"bench_capture_shapes end marker"

# -- recording ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _recording(path: Path, port: int) -> Iterator[None]:
    """tcpdump on ``lo`` for ``port`` into ``path`` while the block runs; stopped by its PID."""
    process = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-w", str(path), "-U", "--immediate-mode", "-s", "262144",
         "-B", "65536", "-Z", "root", f"port {port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        for _ in range(50):
            line = process.stderr.readline()
            require(bool(line), f"tcpdump started (exit {process.poll()})")
            if b"listening on" in line:
                break
        yield
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as marker:
            marker.sendto(SENTINEL, ("127.0.0.1", port))
        for _ in range(600):  # tcpdump flushes per packet (-U): the marker follows everything
            if path.exists() and SENTINEL in path.read_bytes():
                break
            time.sleep(0.05)
        else:
            require(False, "tcpdump wrote the end marker")
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


@contextmanager
def _storescp(port: int, out: Path) -> Iterator[None]:
    """DCMTK's storescp on 127.0.0.1:``port``, stopped by its PID."""
    process = subprocess.Popen(
        ["storescp", "-od", str(out), "-aet", "ARCHIVE", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            require(False, "storescp listens")
        yield
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _image(path: Path) -> None:
    """A 3.6 MB Secondary Capture image (random 16-bit pixels) as a Part-10 file."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1234.77.1"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName, ds.Modality = "SHAPES-1", "Shapes^Bench", "OT"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1234.77.2"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1234.77.3"
    ds.Rows, ds.Columns = 1200, 1500
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = random.Random(13).randbytes(1200 * 1500 * 2)
    ds.save_as(path, enforce_file_format=True)


def _pynetdicom_ncommit(port: int) -> None:
    """A pynetdicom SCP and SCU: User Identity, N-ACTION-RQ, N-EVENT-REPORT-RQ, release."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE, evt
    from pynetdicom.pdu_primitives import UserIdentityNegotiation
    from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

    instance = "1.2.840.10008.1.20.1.1"
    refs = Dataset()
    refs.TransactionUID = "1.2.826.0.1.3680043.10.1234.78.1"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.1234.77.1"
    refs.ReferencedSOPSequence = [item]
    scp = AE(ae_title="ARCHIVE")
    scp.add_supported_context(StorageCommitmentPushModel)
    handlers = [
        (evt.EVT_USER_ID, lambda event, *rest: (True, None)),
        (evt.EVT_N_ACTION, lambda event: (0x0000, None)),
        (evt.EVT_N_EVENT_REPORT, lambda event: (0x0000, None)),
    ]
    server = scp.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    try:
        scu = AE(ae_title="WORKSTATION")
        scu.add_requested_context(StorageCommitmentPushModel)
        identity = UserIdentityNegotiation()
        identity.user_identity_type = 2
        identity.primary_field = b"radiographer"
        identity.secondary_field = b"s3cret-passcode"
        assoc = scu.associate("127.0.0.1", port, ae_title="ARCHIVE", ext_neg=[identity])
        require(assoc.is_established, "the pynetdicom association is accepted")
        status, _ = assoc.send_n_action(refs, 1, StorageCommitmentPushModel, instance)
        require(status.Status == 0, "N-ACTION answered with Success")
        status, _ = assoc.send_n_event_report(refs, 1, StorageCommitmentPushModel, instance)
        require(status.Status == 0, "N-EVENT-REPORT answered with Success")
        assoc.release()
    finally:
        server.shutdown()


def record(directory: Path) -> dict[str, Path]:
    """Record the three conversations (once: kept in ``directory`` for later runs)."""
    paths = {name: directory / f"recorded-{name}.pcap" for name in ("echo", "ncommit", "store")}
    if all(path.exists() for path in paths.values()):
        return paths
    for tool in ("tcpdump", "storescp", "echoscu", "storescu"):
        require(shutil.which(tool) is not None, f"{tool} is on PATH")
    with tempfile.TemporaryDirectory(prefix="shapes_") as scratch:
        work = Path(scratch)
        port = _free_port()
        with _storescp(port, work), _recording(paths["echo"], port):
            subprocess.run(
                ["echoscu", "-aet", "MONITOR", "-aec", "ARCHIVE", "127.0.0.1", str(port)],
                check=True, timeout=60,
            )  # fmt: skip
        image = work / "image.dcm"
        _image(image)
        port = _free_port()
        with _storescp(port, work), _recording(paths["store"], port):
            subprocess.run(
                ["storescu", "-aet", "MODALITY", "-aec", "ARCHIVE", "127.0.0.1", str(port),
                 str(image)],
                check=True, timeout=120,
            )  # fmt: skip
        port = _free_port()
        with _recording(paths["ncommit"], port):
            thread = threading.Thread(target=_pynetdicom_ncommit, args=(port,))
            thread.start()
            thread.join(timeout=120)
    return paths


# -- rewriting a recording into a shape ------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    """One TCP/IPv4 frame of a recording: microseconds since its first frame, and its parts."""

    offset_us: int
    from_client: bool
    ip_header: bytes
    tcp_header: bytes
    payload: bytes

    @property
    def seq(self) -> int:
        value: int = struct.unpack_from(">I", self.tcp_header, 4)[0]
        return value

    @property
    def flags(self) -> int:
        return self.tcp_header[13]


def read_recording(path: Path) -> list[Packet]:
    """The TCP/IPv4 frames of a tcpdump pcap (Ethernet link type, as tcpdump writes ``lo``)."""
    data = path.read_bytes()
    magic, _, _, _, _, _, link = struct.unpack_from("<IHHiIII", data, 0)
    require(magic == 0xA1B2C3D4 and link == 1, f"{path} is a microsecond Ethernet pcap")
    pos, packets, start, server_port = 24, [], None, None
    while pos + 16 <= len(data):
        seconds, micros, captured, _ = struct.unpack_from("<IIII", data, pos)
        frame = data[pos + 16 : pos + 16 + captured]
        pos += 16 + captured
        if frame[12:14] != b"\x08\x00" or frame[23] != 6:  # not TCP over IPv4 (the marker)
            continue
        ihl = (frame[14] & 0x0F) * 4
        ip_header = frame[14 : 14 + ihl]
        total = struct.unpack_from(">H", ip_header, 2)[0]
        tcp_at = 14 + ihl
        tcp_length = (frame[tcp_at + 12] >> 4) * 4
        tcp_header = frame[tcp_at : tcp_at + tcp_length]
        dst_port = struct.unpack_from(">H", tcp_header, 2)[0]
        if server_port is None:  # the first frame is the requestor's SYN
            server_port = dst_port
        now = seconds * 1_000_000 + micros
        start = now if start is None else start
        payload = frame[tcp_at + tcp_length : 14 + total]
        packets.append(Packet(now - start, dst_port == server_port, ip_header, tcp_header, payload))
    return packets


def resegment(packets: list[Packet], size: int = SEGMENT) -> list[Packet]:
    """Each segment longer than ``size`` cut into ``size``-byte segments (PSH and FIN on the
    last), with consecutive sequence numbers and the original's timestamp."""
    out: list[Packet] = []
    for packet in packets:
        if len(packet.payload) <= size:
            out.append(packet)
            continue
        pieces = range(0, len(packet.payload), size)
        for number, at in enumerate(pieces):
            tcp = bytearray(packet.tcp_header)
            struct.pack_into(">I", tcp, 4, (packet.seq + at) & 0xFFFFFFFF)
            if number < len(pieces) - 1:
                tcp[13] &= ~0x09 & 0xFF  # no PSH, no FIN before the last piece
            chunk = packet.payload[at : at + size]
            out.append(Packet(packet.offset_us, packet.from_client, packet.ip_header, bytes(tcp),
                              chunk))  # fmt: skip
    return out


def _checksum(header: bytearray) -> int:
    total = sum(struct.unpack(f">{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


_ETHERNET = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
SERVER = bytes([10, 0, 0, 1])


def client_of(number: int) -> tuple[bytes, int]:
    """A distinct requestor address and port for association ``number``."""
    host, port = divmod(number, 40_000)
    return bytes([10, 1 + (host >> 16 & 0xFF), host >> 8 & 0xFF, host & 0xFF]), 20_000 + port


def frame_of(packet: Packet, client: bytes, client_port: int) -> bytes:
    """The packet's Ethernet frame between ``client``:``client_port`` and the server."""
    ip = bytearray(packet.ip_header)
    struct.pack_into(">H", ip, 2, len(ip) + len(packet.tcp_header) + len(packet.payload))
    source, target = (client, SERVER) if packet.from_client else (SERVER, client)
    ip[12:16], ip[16:20], ip[10:12] = source, target, b"\0\0"
    struct.pack_into(">H", ip, 10, _checksum(ip))
    tcp = bytearray(packet.tcp_header)
    ports = (client_port, SERVER_PORT) if packet.from_client else (SERVER_PORT, client_port)
    struct.pack_into(">HH", tcp, 0, *ports)
    return _ETHERNET + bytes(ip) + bytes(tcp) + packet.payload


class PcapWriter:
    """Frames into a microsecond pcap file, buffered."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("wb")
        self.handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.chunks: list[bytes] = []
        self.frames = 0

    def write(self, time_us: int, frame: bytes) -> None:
        seconds, micros = divmod(time_us, 1_000_000)
        self.chunks.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
        self.frames += 1
        if len(self.chunks) >= 8192:
            self.handle.write(b"".join(self.chunks))
            self.chunks.clear()

    def close(self) -> None:
        self.handle.write(b"".join(self.chunks))
        self.handle.close()


START_US = 1_780_000_000_000_000
"""Capture time of the first association of every shape (a day in 2026)."""


def replicate(
    path: Path,
    template: list[Packet],
    count: int,
    spacing_us: int,
    drop: random.Random | None = None,
) -> int:
    """``count`` copies of ``template``, one every ``spacing_us``; returns the frames dropped.

    With ``drop``, bursts of 1 to 40 frames are left out (about 3% of all frames).
    """
    writer = PcapWriter(path)
    dropped = 0
    for number in range(count):
        client, port = client_of(number)
        base = START_US + number * spacing_us
        skip = 0
        for packet in template:
            if drop is not None:
                if skip == 0 and drop.random() < 0.0015:
                    skip = drop.randint(1, 40)
                if skip:
                    skip -= 1
                    dropped += 1
                    continue
            writer.write(base + packet.offset_us, frame_of(packet, client, port))
    writer.close()
    return dropped


def half_open(path: Path, template: list[Packet], count: int, per_second: int) -> None:
    """``count`` connections of a flood: each a SYN, every second one answered by a SYN-ACK."""
    syn, syn_ack = template[0], template[1]
    require(syn.flags & 0x12 == 0x02 and syn_ack.flags & 0x12 == 0x12, "a recorded handshake")
    writer = PcapWriter(path)
    for number in range(count):
        client, port = client_of(number)
        base = START_US + number * 1_000_000 // per_second
        writer.write(base, frame_of(syn, client, port))
        if number % 2:
            writer.write(base + syn_ack.offset_us, frame_of(syn_ack, client, port))
    writer.close()


@dataclass(frozen=True)
class Shape:
    """One capture to measure."""

    name: str
    path: Path
    what: str


def build(directory: Path, quick: bool) -> tuple[list[Shape], list[tuple[int, Path]]]:
    """Record (once) and write every shape; return them and the two memory-scaling captures."""
    recorded = record(directory)
    echo = read_recording(recorded["echo"])
    ncommit = read_recording(recorded["ncommit"])
    store = resegment(read_recording(recorded["store"]))
    scale = 40 if quick else 1
    counts = {"echo": 20_000 // scale, "ncommit": 10_000 // scale, "store": 12 if not quick else 2,
              "half-open": 300_000 // scale}  # fmt: skip
    shapes = []

    def add(name: str, what: str) -> Path:
        path = directory / f"shape-{name}{'-quick' if quick else ''}.pcap"
        shapes.append(Shape(name, path, what))
        return path

    path = add("echo", f"{counts['echo']:,} C-ECHO associations")
    replicate(path, echo, counts["echo"], 200_000)
    path = add("ncommit", f"{counts['ncommit']:,} associations, User Identity, N-ACTION, "
               "N-EVENT-REPORT")  # fmt: skip
    replicate(path, ncommit, counts["ncommit"], 200_000)
    path = add("store", f"{counts['store']} C-STORE associations of 3.6 MB, 1,460-byte segments")
    replicate(path, store, counts["store"], 2_000_000)
    path = add("half-open", f"{counts['half-open']:,} half-open connections")
    half_open(path, echo, counts["half-open"], 10_000)
    path = add("lossy", "")
    dropped = replicate(path, store, counts["store"], 2_000_000, random.Random(1705))
    shapes[-1] = Shape("lossy", path, f"the store shape, {dropped:,} frames dropped in bursts")
    scaling = []
    for count in (5_000 // scale, 50_000 // scale):
        path = directory / f"scale-echo-{count}.pcap"
        replicate(path, echo, count, 200_000)
        scaling.append((count, path))
    return shapes, scaling


# -- measuring -------------------------------------------------------------------------------------


def commands(path: Path, tshark: str, ours: str) -> dict[str, list[str]]:
    """Ours and tshark's two decodes of one capture (its full tree, its one-line summary)."""
    decode_as = ["-d", f"tcp.port=={SERVER_PORT},dicom"]
    return {
        "ours": [ours, "decode", str(path)],
        "tshark -V": [tshark, "-n", "-r", str(path), *decode_as, "-V"],
        "tshark summary": [tshark, "-n", "-r", str(path), *decode_as],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 1/40 of the counts")
    parser.add_argument(
        "--directory",
        type=Path,
        default=Path(tempfile.gettempdir()) / "shapes",
        help="where recordings and shapes are written (recordings are reused)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the shape files afterwards")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    tshark, ours = tools()
    args.directory.mkdir(parents=True, exist_ok=True)
    shapes, scaling = build(args.directory, args.quick)
    cache = tempfile.TemporaryDirectory(prefix="bench-shapes-pycache-")
    recorded = sorted(args.directory.glob("recorded-*.pcap"))
    as_installed(Path(cache.name), [[ours, "decode", str(path)] for path in recorded])
    results: dict[str, dict[str, Run]] = {}
    rows = []
    try:
        for shape in shapes:
            argvs = commands(shape.path, tshark, ours)
            runs = {label: run(argv) for label, argv in argvs.items()}
            results[shape.name] = runs
            mine, full, line = runs["ours"], runs["tshark -V"], runs["tshark summary"]
            rows.append((shape, shape.path.stat().st_size / 1e6, full.cpu / mine.cpu,
                         line.cpu / mine.cpu, mine.peak_kib / full.peak_kib,
                         mine.peak_kib / line.peak_kib, mine, full))  # fmt: skip
            print(f"{shape.name}: done", file=sys.stderr)
        peaks = []
        for count, path in scaling:
            argvs = commands(path, tshark, ours)
            mine, full = run(argvs["ours"]), run(argvs["tshark -V"])
            results[f"echo-{count}"] = {"ours": mine, "tshark -V": full}
            peaks.append((count, mine, full))
    finally:
        cache.cleanup()
        if not args.keep:
            for shape in shapes:
                shape.path.unlink(missing_ok=True)
            for _, path in scaling:
                path.unlink(missing_ok=True)

    print(
        "\n| shape | MB | CPU tshark -V / ours | CPU tshark summary / ours | peak ours / tshark -V "
        "| peak ours / tshark summary | ours CPU s, peak MiB | tshark -V CPU s, peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for shape, size, cpu_v, cpu_line, mem_v, mem_line, mine, full in rows:
        print(f"| {shape.name}: {shape.what} | {size:.1f} | {cpu_v:.2f}x | {cpu_line:.2f}x | "
              f"{mem_v:.2f} | {mem_line:.2f} | {mine.cpu:.1f}, {mine.peak_kib / 1024:.0f} | "
              f"{full.cpu:.1f}, {full.peak_kib / 1024:.0f} |")  # fmt: skip
    (low, mine_low, full_low), (high, mine_high, full_high) = peaks
    print(f"\npeak memory, echo shape: ours {mine_low.peak_kib / 1024:.0f} MiB at {low:,} "
          f"associations, {mine_high.peak_kib / 1024:.0f} MiB at {high:,}: "
          f"{mine_high.peak_kib / mine_low.peak_kib:.2f}x (goal <= 1.3); tshark -V "
          f"{full_low.peak_kib / 1024:.0f} and {full_high.peak_kib / 1024:.0f} MiB: "
          f"{full_high.peak_kib / full_low.peak_kib:.2f}x")  # fmt: skip
    met_cpu = all(row[2] >= 2 for row in rows)
    met_mem = all(row[4] <= 0.25 for row in rows)
    print(
        f"goals: CPU >= 2x tshark -V on every shape: {'met' if met_cpu else 'NOT met'}; "
        f"peak <= 1/4 of tshark -V on every shape: {'met' if met_mem else 'NOT met'}"
    )
    if args.json:
        record_ = environment(1, 0.0, args.quick, "cpu+maxrss (os.wait4)")
        record_["results"] = {
            name: {label: vars(one) for label, one in by_label.items()}
            for name, by_label in results.items()
        }
        args.json.write_text(json.dumps(record_, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
