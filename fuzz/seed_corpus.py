"""Write seed corpora for the harnesses from the strategies and the project's own vectors."""

from __future__ import annotations

import hashlib
import importlib.util
import struct
import sys
from pathlib import Path

import pydicom
import pydicom.data
from fuzz_dataset import SYNTAXES  # the harness's control byte indexes this
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dimse_codec import DIMSEPrimitive, encode_message
from dimse_codec.dataset import DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, encode_dataset
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import PDU, encode_pdu
from dimse_codec.strategies import (
    MalformedPDU,
    malformed_pdu_bytes,
    pdus,
    primitives,
    quirky_pdus,
)

ROOT = Path(__file__).resolve().parent
PYDICOM_FILES = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "rtdose.dcm",
                 "image_dfl.dcm", "ExplVR_BigEnd.dcm")  # fmt: skip
"""pydicom's bundled test files (shipped in the wheel, read offline) that seed the data sets."""
SEED_PIXEL_BYTES = 512
"""Pixel Data of the real files is cut to this many bytes, so libFuzzer's ``max_len`` (the
largest seed) stays a few kilobytes and the mutations stay fast."""


def _hostile() -> object:
    """``benchmarks/hostile.py``: the hostile input builders the limits benchmark measures too."""
    spec = importlib.util.spec_from_file_location(
        "hostile", ROOT.parent / "benchmarks" / "hostile.py"
    )
    if spec is None or spec.loader is None:  # pragma: no cover - the file is in the repository
        raise ImportError("benchmarks/hostile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _save(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def write(corpus: Path, examples: int) -> None:
    """Fill ``corpus/command_set``, ``corpus/dataset`` and ``corpus/pdu`` with inputs to mutate."""
    commands = corpus / "command_set"

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(primitives())
    def one(primitive: object) -> None:
        _save(commands, encode_message(primitive).command_set)  # type: ignore[arg-type]

    one()
    for example in sorted((ROOT.parent / "docs" / "examples").glob("*.bin")):
        _save(commands, example.read_bytes())
    write_datasets(corpus / "dataset")
    write_pdus(corpus / "pdu", examples)
    write_streams(corpus / "stream", examples)
    write_captures(corpus / "capture")


def _real_datasets() -> list[Dataset]:
    """pydicom's bundled test files without their file meta, pixel data cut short."""
    folder = Path(pydicom.data.__file__).parent / "test_files"
    found = []
    for name in PYDICOM_FILES:
        if not (folder / name).is_file():
            print(f"pydicom test file {name} not found: not seeded", file=sys.stderr)
            continue
        ds = pydicom.dcmread(folder / name, force=True)
        ds.file_meta = None  # type: ignore[assignment]
        if "PixelData" in ds:
            ds.PixelData = bytes(ds.PixelData[:SEED_PIXEL_BYTES])
            ds["PixelData"].VR = "OB" if ds["PixelData"].VR == "OB" else "OW"
        found.append(ds)
    return found


def _generated_datasets() -> list[Dataset]:
    """Data sets of many small items and multi-valued elements, nested sequences, empty ones."""
    small = Dataset()
    small.PatientName = "Tube^HeNe"
    small.PatientID = "Test1101"
    small.Rows = 16
    items = Dataset()
    items.ReferencedSOPSequence = Sequence(
        [Dataset() for _ in range(20)] + [_reference(index) for index in range(60)]
    )
    values = Dataset()
    values.ImagePositionPatient = [f"{index * 0.5:g}" for index in range(200)]
    values.FrameIncrementPointer = [0x00181063, 0x00181065] * 40
    values.ReferencedFrameNumber = list(range(1, 120))
    values.WindowCenter = ["40", "400"]
    nested = Dataset()
    nested.ReferencedSOPSequence = Sequence([Dataset()])
    inner = nested.ReferencedSOPSequence[0]
    for _ in range(8):
        inner.ReferencedSOPSequence = Sequence([_reference(1), Dataset()])
        inner = inner.ReferencedSOPSequence[0]
    return [small, items, values, nested, Dataset()]


def _reference(index: int) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = f"1.2.3.4.{index}"
    return item


def write_datasets(folder: Path) -> None:
    """Real and generated data sets in every transfer syntax, and small hostile ones.

    The first byte is the harness's control byte (the index of the syntax in SYNTAXES). The
    hostile seeds stay below the memory bound (a few hundred empty items, a thousand DS values,
    a 64 KiB Pixel Data bomb): their mutations are what should find a blow-up.
    """
    for ds in _real_datasets() + _generated_datasets():
        for index, syntax in enumerate(SYNTAXES):
            _save(folder, bytes([index]) + encode_dataset(ds, syntax))
    hostile = _hostile()
    deflated = SYNTAXES.index(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    _save(folder, bytes([deflated]) + hostile.empty_items_deflated(200))  # type: ignore[attr-defined]
    _save(folder, bytes([deflated]) + hostile.pixel_bomb_deflated(1 << 16))  # type: ignore[attr-defined]
    _save(folder, b"\x00" + hostile.many_values(1000))  # type: ignore[attr-defined]


def write_streams(folder: Path, examples: int) -> None:
    """Whole messages as P-DATA-TF streams at several limits, and the example PDU streams.

    The first byte is the harness's control byte (feed size, policy, maximum length).
    """

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(primitives(), st.sampled_from([0, 8, 20, 64, 16382]), st.integers(0, 255))
    def one(primitive: DIMSEPrimitive, limit: int, control: int) -> None:
        plan = encode_pdata(primitive, 1, max_pdu_length=limit)
        _save(folder, bytes([control]) + bytes(plan))

    one()
    for example in sorted((ROOT.parent / "docs" / "examples").glob("*.pdus")):
        _save(folder, b"\x07" + example.read_bytes())


def write_pdus(folder: Path, examples: int) -> None:
    """Fill ``folder`` with valid, quirky and malformed PDUs and pynetdicom's PDU vectors."""

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(pdus())
    def valid(pdu: PDU) -> None:
        _save(folder, encode_pdu(pdu))

    @settings(max_examples=examples // 2, database=None, suppress_health_check=list(HealthCheck))
    @given(quirky_pdus())
    def quirky(pdu: PDU) -> None:
        _save(folder, encode_pdu(pdu))

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(malformed_pdu_bytes())
    def malformed(case: MalformedPDU) -> None:
        _save(folder, case.data)

    valid()
    quirky()
    malformed()
    for vector in _pynetdicom_vectors():
        _save(folder, vector)


# --- captures ------------------------------------------------------------------------------

EXAMPLE_CAPTURE = ROOT.parent / "docs" / "examples" / "storage-commitment.pcap"
"""Nanosecond little-endian pcap, raw IPv4 (link type 101), 16 frames of one association."""

# (time_ns, frame bytes) as read from a capture; frames here are raw IPv4 packets
_Frames = list[tuple[int, bytes]]


def write_captures(folder: Path) -> None:
    """The example capture and small variants of it, each after the harness's control byte.

    Variants: the file as shipped, the same as pcapng (with interface options), big endian,
    microseconds, cut inside a record, only the handshake and association (raw IPv4, Ethernet
    with IPv6 in big-endian pcapng, Linux cooked v1, BSD loopback), and a mid-stream start.
    The control byte is 0 (lenient, no port forced, bytes) unless a variant says otherwise.
    """
    example = EXAMPLE_CAPTURE.read_bytes()
    frames = _pcap_frames(example)
    start = frames[:5]  # SYN, SYN-ACK, ACK, A-ASSOCIATE-RQ, A-ASSOCIATE-AC
    seeds = [
        example,
        _pcapng(frames, "<", 101),
        _pcap(frames, ">", nanoseconds=True, link_type=101),
        _pcap(frames, "<", nanoseconds=False, link_type=101),
        example[: len(example) // 2],  # cut inside a record
        _pcap(start, "<", nanoseconds=True, link_type=101),
        _pcapng([(t, _ethernet(_to_ipv6(ip), 0x86DD)) for t, ip in start], ">", 1),
        _pcap([(t, _sll(ip)) for t, ip in start], "<", nanoseconds=False, link_type=113),
        _pcap([(t, struct.pack("<I", 2) + ip) for t, ip in start], "<", True, link_type=0),
    ]
    for seed in seeds:
        _save(folder, b"\x00" + seed)
    _save(folder, b"\x01" + _pcap(frames[5:11], "<", True, link_type=101))  # mid-stream, port
    _save(folder, b"\x00" + _pcap(frames[5:11], "<", True, link_type=101))  # mid-stream, sniffed
    _save(folder, b"\x04" + example)  # strict
    _save(folder, b"\xf0" + seeds[1])  # pcapng read as a 61-byte trickle


def _pcap_frames(data: bytes) -> _Frames:
    """The (time, frame) records of a little-endian nanosecond pcap (the example's format)."""
    frames: _Frames = []
    pos = 24
    while pos + 16 <= len(data):
        seconds, fraction, captured, _original = struct.unpack_from("<IIII", data, pos)
        frames.append((seconds * 1_000_000_000 + fraction, data[pos + 16 : pos + 16 + captured]))
        pos += 16 + captured
    return frames


def _pcap(frames: _Frames, order: str, nanoseconds: bool, link_type: int) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, link_type)]
    for time_ns, frame in frames:
        seconds, fraction = divmod(time_ns, 1_000_000_000)
        fraction = fraction if nanoseconds else fraction // 1000
        out.append(struct.pack(order + "IIII", seconds, fraction, len(frame), len(frame)) + frame)
    return b"".join(out)


def _block(order: str, kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def _option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def _pcapng(frames: _Frames, order: str, link_type: int) -> bytes:
    """One section, one interface (if_name, if_tsresol 9), an Enhanced Packet Block per frame."""
    section = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = _option(order, 2, b"eth0") + _option(order, 9, b"\x09") + _option(order, 0, b"")
    interface = _block(order, 1, struct.pack(order + "HHI", link_type, 0, 262144) + options)
    packets = [
        _block(
            order,
            6,
            struct.pack(order + "IIIII", 0, time_ns >> 32, time_ns & 0xFFFFFFFF, len(f), len(f))
            + f,
        )
        for time_ns, f in frames
    ]
    return section + interface + b"".join(packets)


def _to_ipv6(packet: bytes) -> bytes:
    """An IPv4 packet (20-byte header) as IPv6, its addresses mapped into fd00::/8."""
    header, segment = packet[:20], packet[20:]
    source, destination = (b"\xfd" + bytes(11) + header[12:16], b"\xfd" + bytes(11) + header[16:20])
    return struct.pack(">IHBB", 6 << 28, len(segment), 6, 64) + source + destination + segment


def _ethernet(packet: bytes, ethertype: int) -> bytes:
    return bytes.fromhex("020000000002 020000000001") + struct.pack(">H", ethertype) + packet


def _sll(packet: bytes) -> bytes:
    """Linux cooked capture v1: sent by us, ARPHRD_ETHER, a 6-byte address, IPv4."""
    return struct.pack(">HHH8sH", 4, 1, 6, bytes.fromhex("020000000001"), 0x0800) + packet


def _pynetdicom_vectors() -> list[bytes]:
    """pynetdicom's PDU vectors that tests/test_pdu.py decodes, its PDV one in a P-DATA-TF."""
    try:
        from pynetdicom.tests import encoded_pdu_items as vectors
    except ImportError:  # pynetdicom is a test extra; the strategies alone still seed the corpus
        print("pynetdicom not installed: PDU seeds come from the strategies only", file=sys.stderr)
        return []
    names = sorted(n for n in dir(vectors) if n.startswith(("a_", "p_data_tf")))
    found = [getattr(vectors, name) for name in names]
    pdv = vectors.presentation_data_value  # a PDV item on its own: wrap it in a P-DATA-TF
    found.append(b"\x04\x00" + len(pdv).to_bytes(4, "big") + pdv)
    return found


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "corpus", 200)
