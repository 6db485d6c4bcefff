"""Capture reader: every file format, byte order, time resolution, link type, VLAN stacking and IP
version; IP/TCP edge cases; truncation at every byte; garbage; caps; streams vs maps; and the
construct declarations against their struct fast path. Captures are built by capture_builder."""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import struct
import subprocess
import tracemalloc
from pathlib import Path

import capture_builder as cb
import pytest
from conftest import require_tool
from construct import Construct
from hypothesis import given
from hypothesis import strategies as st

from dimse_codec._wire import struct_of
from dimse_codec.errors import DecodeError, DimseCodecError, LimitExceeded, TruncatedError
from dimse_codec.pcap import (
    SUPPORTED_LINK_TYPES,
    CaptureError,
    CaptureLimitExceeded,
    CaptureReader,
    CaptureTruncated,
    NotACaptureFile,
    NoteKind,
    Packet,
    TcpFlags,
    UnsupportedLinkType,
    read_packets,
    structures,
)
from dimse_codec.pcap import inputs as inputs_module

T0 = 1_700_000_000_123_456_000  # exact in µs, so every format keeps it
ADDRESSES = {4: ("192.0.2.1", "198.51.100.7"), 6: ("2001:db8::1", "2001:db8:ffff::104")}


def packed(text: str) -> bytes:
    import ipaddress

    return ipaddress.ip_address(text).packed


def ip_packet(version: int, segment: bytes, **kw: object) -> bytes:
    src, dst = ADDRESSES[version]
    if version == 4:
        return cb.ipv4(src, dst, segment, **kw)  # type: ignore[arg-type]
    return cb.ipv6(src, dst, segment, **kw)  # type: ignore[arg-type]


def sample(variant: str, version: int) -> tuple[list[cb.Frame], list[dict[str, object]]]:
    """Frames (TCP, non-IP, UDP, TCP) and the packets expected from them."""
    segments = [
        (cb.tcp(40000, 104, 0xFFFFFFF0, 0, cb.SYN), b""),
        (cb.tcp(40000, 104, 123456, 987654, cb.ACK | cb.PSH, b"A-ASSOCIATE-RQ..."), None),
    ]
    frames = [
        cb.Frame(T0, cb.wrap(variant, ip_packet(version, segments[0][0]), version)),
        cb.Frame(T0 + 1_000, cb.non_ip_frame(variant)),
        cb.Frame(
            T0 + 2_000,
            cb.wrap(
                variant, ip_packet(version, cb.udp(53, 53, b"dns"), **_proto(version)), version
            ),
        ),
        cb.Frame(T0 + 3_000_000_000, cb.wrap(variant, ip_packet(version, segments[1][0]), version)),
    ]
    src, dst = (packed(a) for a in ADDRESSES[version])
    expected: list[dict[str, object]] = [
        dict(frame=1, time_ns=T0, src=src, dst=dst, src_port=40000, dst_port=104,
             seq=0xFFFFFFF0, ack=0, flags=TcpFlags.SYN, payload=b""),
        dict(frame=4, time_ns=T0 + 3_000_000_000, src=src, dst=dst, src_port=40000, dst_port=104,
             seq=123456, ack=987654, flags=TcpFlags.ACK | TcpFlags.PSH,
             payload=b"A-ASSOCIATE-RQ..."),
    ]  # fmt: skip
    return frames, expected


def _proto(version: int) -> dict[str, object]:
    return {"proto": 17} if version == 4 else {"next_header": 17}


def check(packets: list[Packet], expected: list[dict[str, object]]) -> None:
    assert len(packets) == len(expected)
    for packet, want in zip(packets, expected, strict=True):
        for name, value in want.items():
            got = getattr(packet, name)
            if name == "payload":
                assert isinstance(got, memoryview)
                got = bytes(got)
            assert got == value, name
        assert packet.payload_length == len(packet.payload)
        assert packet.time == pytest.approx(packet.time_ns / 1e9)  # type: ignore[operator]


MATRIX = [
    (fmt, variant, version)
    for fmt in cb.FORMATS
    for variant, (_link, v4, v6) in cb.LINK_VARIANTS.items()
    for version in (4, 6)
    if (v4 if version == 4 else v6)
]


@pytest.mark.parametrize(("fmt", "variant", "version"), MATRIX)
def test_every_format_link_type_and_ip_version(fmt: str, variant: str, version: int) -> None:
    frames, expected = sample(variant, version)
    data = cb.write(fmt, frames, cb.LINK_VARIANTS[variant][0])
    with CaptureReader(data) as reader:
        packets = list(reader)
        assert reader.format == ("pcapng" if fmt.startswith("pcapng") else "pcap")
        assert reader.truncation is None
        assert reader.stats.frames == 4
        assert reader.stats.tcp_packets == 2
        assert reader.stats.not_tcp == 1
        if variant in ("ipv4", "ipv6"):  # no room for non-IP: a wrong version is malformed
            assert reader.stats.not_ip == 0
            assert [note.kind for note in reader.notes] == [NoteKind.MALFORMED]
        else:
            assert reader.stats.not_ip == 1
            assert reader.notes == []
    check(packets, expected)


@pytest.mark.parametrize("fmt", cb.FORMATS)
def test_path_map_file_object_and_stream_agree(fmt: str, tmp_path: Path) -> None:
    frames, expected = sample("ethernet-vlan", 4)
    data = cb.write(fmt, frames, 1)
    path = tmp_path / "capture.bin"
    path.write_bytes(b"JUNK" + data)
    with open(path, "rb") as handle:
        handle.seek(4)  # a file object is read from its current position
        check(list(CaptureReader(handle)), expected)
    path.write_bytes(data)
    check(list(read_packets(path)), expected)
    check(list(read_packets(str(path))), expected)
    check(list(read_packets(io.BytesIO(data))), expected)
    check(list(read_packets(bytearray(data))), expected)
    check(list(read_packets(memoryview(data))), expected)


def test_compressed_file_object_is_read_as_a_stream(tmp_path: Path) -> None:
    frames, expected = sample("ethernet", 4)
    path = tmp_path / "capture.pcap.gz"
    with gzip.open(path, "wb") as out:
        out.write(cb.write("pcapng-le", frames, 1))
    with gzip.open(path, "rb") as handle:
        check(list(read_packets(handle)), expected)
    # known by its magic bytes and decompressed as it is read: a path, a file, bytes
    check(list(read_packets(path)), expected)
    check(list(read_packets(str(path))), expected)
    with path.open("rb") as handle:
        check(list(read_packets(handle)), expected)
    check(list(read_packets(io.BytesIO(path.read_bytes()))), expected)
    check(list(read_packets(path.read_bytes())), expected)


def test_views_stay_valid_after_close(tmp_path: Path) -> None:
    frames, expected = sample("ethernet", 6)
    path = tmp_path / "c.pcap"
    path.write_bytes(cb.write("pcap-le-us", frames, 1))
    with CaptureReader(path) as reader:
        packets = list(reader)
    check(packets, expected)  # the mapping lives while views into it do


@pytest.mark.parametrize("fmt", ["pcap-le-us", "pcapng-be"])
def test_released_pages_read_back_the_same_bytes(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages handed back behind the read position still serve every view held into them."""
    rng = random.Random(17)
    payloads = [rng.randbytes(rng.randint(3000, 9000)) for _ in range(60)]
    frames = [
        cb.Frame(T0 + i, cb.wrap("ethernet", ip_packet(4, cb.tcp(1, 2, i, 0, cb.ACK, p)), 4))
        for i, p in enumerate(payloads)
    ]
    path = tmp_path / "c.cap"
    path.write_bytes(cb.write(fmt, frames, 1))
    monkeypatch.setattr(inputs_module, "RELEASE_STEP", 3 * os.sysconf("SC_PAGE_SIZE"))
    with CaptureReader(path) as reader:
        packets = list(reader)  # every payload view is kept while reading goes on
        released = reader._input._released
    assert released > len(payloads) * 3000 // 2  # most of the file was handed back
    assert [bytes(packet.payload) for packet in packets] == payloads


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1000])
@pytest.mark.parametrize("fmt", ["pcap-le-us", "pcapng-be"])
def test_chunked_stream_reading_matches(
    fmt: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(chunk)
    frames = [
        cb.Frame(
            T0 + i,
            cb.wrap("ethernet", ip_packet(4, cb.tcp(1, 2, i, 0, cb.ACK, rng.randbytes(i * 37))), 4),
        )
        for i in range(30)
    ]
    data = cb.write(fmt, frames, 1)
    monkeypatch.setattr(inputs_module, "CHUNK_SIZE", chunk)
    streamed = [(p.frame, p.seq, bytes(p.payload)) for p in read_packets(io.BytesIO(data))]
    mapped = [(p.frame, p.seq, bytes(p.payload)) for p in read_packets(data)]
    assert streamed == mapped
    assert len(mapped) == 30


def test_records_give_raw_frames() -> None:
    frames, _ = sample("sll2", 4)
    data = cb.write("pcapng-le", frames, 276)
    with CaptureReader(data) as reader:
        records = list(reader.records())
    assert [r.frame for r in records] == [1, 2, 3, 4]
    assert [bytes(r.data) for r in records] == [f.data for f in frames]
    assert all(r.link_type == 276 and r.interface == 0 for r in records)
    assert records[0].time == pytest.approx(T0 / 1e9)
    assert records[1].offset > records[0].offset


def test_reader_is_read_once() -> None:
    reader = CaptureReader(cb.write("pcap-le-us", sample("ethernet", 4)[0], 1))
    list(reader)
    with pytest.raises(RuntimeError):
        list(reader.records())


# --- pcapng specifics ------------------------------------------------------------------------


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize(
    ("tsresol", "tsoffset", "time_ns"),
    [
        (None, None, T0),  # default: microseconds
        (6, None, T0),
        (9, None, T0 + 789),
        (3, None, 1_700_000_000_123_000_000),
        (12, None, 1_000_000_123_456_789),  # picoseconds (64 bits hold ~213 days of them)
        (0, 10, 1_700_000_000_000_000_000),  # seconds, offset 10 s
        (0x80 | 10, None, 1_700_000_000_000_000_000 + 500_000_000),  # 2^-10 s, exact at 0.5 s
        (0x80 | 30, -5, 1_700_000_000_000_000_000 + 250_000_000),
    ],
)
def test_pcapng_time_resolutions(
    byteorder: str, tsresol: int | None, tsoffset: int | None, time_ns: int
) -> None:
    segment = ip_packet(4, cb.tcp(1, 2, 3, 4, cb.ACK, b"x"))
    stored = time_ns - (tsoffset or 0) * 1_000_000_000
    resolution = 6 if tsresol is None else tsresol
    data = (
        cb.shb(byteorder)
        + cb.idb(1, byteorder, tsresol=tsresol, tsoffset=tsoffset)
        + cb.epb(cb.Frame(stored, cb.ethernet(segment, 0x0800)), byteorder, resolution)
    )
    reader = CaptureReader(data)
    (packet,) = list(reader)
    assert packet.time_ns == time_ns
    assert reader.interfaces[0].tsresol == (6 if tsresol is None else tsresol)


def test_pcapng_interfaces_blocks_and_sections() -> None:
    """Several interfaces with different link types, SPB, obsolete PB, unknown blocks skipped,
    a second section in the other byte order (interface numbering restarts per section)."""
    tcp4 = ip_packet(4, cb.tcp(10, 20, 1, 0, cb.ACK, b"one"))
    tcp6 = ip_packet(6, cb.tcp(30, 40, 2, 0, cb.ACK, b"two"))
    le, be = "<", ">"
    data = b"".join(
        [
            cb.shb(le, cb.option(4, b"test", le) + cb.option(0, b"", le)),
            cb.idb(1, le, name="eth0"),
            cb.block(4, b"\0\0\0\0", le),  # name resolution block
            cb.idb(113, le, tsresol=9, name="any"),
            cb.epb(cb.Frame(T0, cb.wrap("ethernet", tcp4, 4)), le),
            cb.block(0x00000BAD, b"custom!!", le),  # custom block
            cb.epb(cb.Frame(T0 + 7, cb.wrap("sll", tcp6, 6), interface=1), le, 9),
            cb.block(5, b"\0" * 20, le),  # interface statistics
            cb.spb(cb.wrap("ethernet", tcp4, 4), le),
            cb.obsolete_pb(cb.Frame(T0 + 9_000, cb.wrap("sll", tcp6, 6), interface=1), le, 9),
            cb.shb(be),
            cb.idb(101, be),
            cb.epb(cb.Frame(T0 + 1_000, tcp6), be),
        ]
    )
    reader = CaptureReader(data)
    packets = list(reader)
    assert [p.frame for p in packets] == [1, 2, 3, 4, 5]
    assert [bytes(p.payload) for p in packets] == [b"one", b"two", b"one", b"two", b"two"]
    assert [p.interface for p in packets] == [0, 1, 0, 1, 2]
    assert [p.time_ns for p in packets] == [T0, T0 + 7, None, T0 + 9_000, T0 + 1_000]
    assert packets[2].time is None
    assert [(i.link_type, i.name) for i in reader.interfaces] == [
        (1, "eth0"),
        (113, "any"),
        (101, None),
    ]
    assert reader.notes == []


def test_pcapng_simple_packet_block_honours_snaplen() -> None:
    tcp4 = ip_packet(4, cb.tcp(10, 20, 1, 0, cb.ACK, b"0123456789"))
    frame = cb.ethernet(tcp4, 0x0800)
    cut = 14 + 20 + 20 + 4
    data = cb.shb("<") + cb.idb(1, "<", snaplen=cut) + cb.spb(frame[:cut], "<", len(frame))
    (packet,) = list(read_packets(data))
    assert bytes(packet.payload) == b"0123"
    assert packet.payload_length == 10
    assert packet.cut


def test_pcapng_packet_on_unknown_interface_is_noted() -> None:
    tcp4 = ip_packet(4, cb.tcp(10, 20, 1, 0, cb.ACK, b"x"))
    data = (
        cb.shb("<")
        + cb.idb(1, "<")
        + cb.epb(cb.Frame(T0, cb.ethernet(tcp4, 0x0800), interface=3), "<")
        + cb.epb(cb.Frame(T0, cb.ethernet(tcp4, 0x0800)), "<")
    )
    reader = CaptureReader(data)
    assert [p.frame for p in reader] == [2]
    assert [n.kind for n in reader.notes] == [NoteKind.BAD_INTERFACE]
    assert reader.notes[0].frame == 1


def test_pcapng_bad_option_is_noted_and_ignored() -> None:
    body = struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 200) + b"\x09\0\0\0"
    data = cb.shb("<") + cb.block(1, body, "<")
    reader = CaptureReader(data)
    assert list(reader) == []
    assert [n.kind for n in reader.notes] == [NoteKind.BAD_OPTION]
    assert reader.interfaces[0].tsresol == 6


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (cb.shb("<")[:-4] + b"\x99\0\0\0", CaptureError),  # trailer length differs
        (cb.shb("<") + struct.pack("<II", 6, 13) + b"\0" * 5, CaptureError),  # not a multiple of 4
        (cb.shb("<") + struct.pack("<II", 6, 8), CaptureError),  # below 12
        (cb.shb("<") + cb.block(6, b"\0" * 4, "<"), CaptureError),  # EPB too short
        (cb.shb("<") + cb.idb(1, "<") + cb.block(6, struct.pack("<IIIII", 0, 0, 0, 99, 99), "<"),
         CaptureError),  # captured length past the block
        (cb.block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 2, 0, -1), "<"), CaptureError),
        (b"\x0a\x0d\x0d\x0a\x1c\0\0\0\x11\x22\x33\x44" + b"\0" * 16, NotACaptureFile),
    ],
)  # fmt: skip
def test_pcapng_structure_errors(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        list(read_packets(data))
    assert isinstance(caught.value, DecodeError)
    assert caught.value.offset is not None


# --- IP and TCP details ----------------------------------------------------------------------


def one(frame: bytes, link_type: int = 1, **kw: object) -> tuple[list[Packet], CaptureReader]:
    reader = CaptureReader(cb.pcap([cb.Frame(T0, frame)], link_type=link_type), **kw)  # type: ignore[arg-type]
    return list(reader), reader


def test_ipv4_options_and_tcp_options() -> None:
    segment = cb.tcp(5, 6, 7, 8, cb.ACK, b"data", options=b"\x02\x04\x05\xb4\x01\x01\x01\x00")
    frame = cb.ethernet(cb.ipv4("10.0.0.1", "10.0.0.2", segment, options=b"\x94\x04\0\0"), 0x0800)
    (packet,), _ = one(frame)
    assert bytes(packet.payload) == b"data"
    assert packet.src_ip.exploded == "10.0.0.1"
    assert str(packet.dst_ip) == "10.0.0.2"
    assert packet.four_tuple == (packed("10.0.0.1"), 5, packed("10.0.0.2"), 6)


def test_ethernet_padding_is_not_payload() -> None:
    frame = cb.ethernet(cb.ipv4("10.0.0.1", "10.0.0.2", cb.tcp(5, 6, 7, 8, cb.ACK, b"ab")), 0x0800)
    assert len(frame) == 60  # padded by the builder
    (packet,), _ = one(frame + b"\xde\xad\xbe\xef")  # and an FCS
    assert bytes(packet.payload) == b"ab"


def test_snaplen_cut_payload_keeps_wire_length() -> None:
    frame = cb.ethernet(
        cb.ipv4("10.0.0.1", "10.0.0.2", cb.tcp(5, 6, 7, 8, cb.ACK, b"x" * 100)), 0x0800
    )
    (packet,), _ = one(frame[:64])
    assert len(packet.payload) == 10
    assert packet.payload_length == 100
    assert packet.cut


def test_ipv4_total_length_zero_means_offload() -> None:
    segment = cb.tcp(5, 6, 7, 8, cb.ACK, b"z" * 3000)
    (packet,), _ = one(cb.ipv4("10.0.0.1", "10.0.0.2", segment, total_length=0), 101)
    assert packet.payload_length == 3000 and not packet.cut


@pytest.mark.parametrize(
    "flags_fragment", [0x2000, 0x0001, 0x2010], ids=["first", "last", "middle"]
)
def test_ipv4_fragments_are_reported_and_skipped(flags_fragment: int) -> None:
    packet = cb.ipv4("10.0.0.1", "10.0.0.2", cb.tcp(5, 6, 7, 8), flags_fragment=flags_fragment)
    packets, reader = one(packet, 101)
    assert packets == []
    assert [n.kind for n in reader.notes] == [NoteKind.IP_FRAGMENT]
    assert reader.notes[0].frame == 1
    assert reader.stats.skipped == 1


def test_ipv6_extension_headers_are_skipped() -> None:
    extensions = [
        (0, b"\x01\x04\0\0\0\0"),  # hop-by-hop, PadN
        (43, b"\0\0\0\0\0\0" + b"\0" * 16),  # routing, with one address
        (60, b"\x01\x04\0\0\0\0"),  # destination options
        (44, b"\0\0\0\0\0\x07"),  # atomic fragment (offset 0, M clear)
        (51, b"\0\0" + b"\0" * 8 + b"\0" * 8),  # authentication header
    ]
    packet = cb.ipv6("::1", "::2", cb.tcp(5, 6, 7, 8, cb.ACK, b"v6"), extensions=extensions)
    (got,), reader = one(packet, 229)
    assert bytes(got.payload) == b"v6"
    assert reader.notes == []


def test_ipv6_fragment_is_reported() -> None:
    packet = cb.ipv6("::1", "::2", cb.tcp(5, 6, 7, 8), extensions=[(44, b"\0\x01\0\0\0\x07")])
    packets, reader = one(packet, 229)
    assert packets == []
    assert [n.kind for n in reader.notes] == [NoteKind.IP_FRAGMENT]


def test_non_tcp_ipv6_is_skipped_silently() -> None:
    packet = cb.ipv6("::1", "::2", cb.udp(1, 2), next_header=17, extensions=[(60, b"\0" * 6)])
    packets, reader = one(packet, 229)
    assert packets == [] and reader.notes == [] and reader.stats.not_tcp == 1


@pytest.mark.parametrize(
    ("frame", "link_type", "kind"),
    [
        (cb.ipv4("10.0.0.1", "10.0.0.2", cb.tcp(5, 6, 7, 8))[:30], 228, NoteKind.HEADER_CUT),
        (b"\x45" + b"\0" * 10, 228, NoteKind.HEADER_CUT),
        (b"\x43" + b"\0" * 8 + b"\x06" + b"\0" * 30, 228, NoteKind.MALFORMED),  # IHL 3
        (b"\x65" + b"\0" * 39, 228, NoteKind.MALFORMED),  # version 6 in an IPv4 link
        (cb.ipv4("10.0.0.1", "10.0.0.2", cb.tcp(5, 6, 7, 8), total_length=30), 228,
         NoteKind.MALFORMED),  # TCP shorter than its header
        (cb.ipv4("10.0.0.1", "10.0.0.2", b"\0" * 12 + b"\x30" + b"\0" * 7), 228,
         NoteKind.MALFORMED),  # data offset 3
        (cb.ipv4("10.0.0.1", "10.0.0.2", b"\0" * 12 + b"\xf0" + b"\0" * 7), 228,
         NoteKind.MALFORMED),  # data offset 60 > segment
        (cb.ipv6("::1", "::2", cb.tcp(5, 6, 7, 8))[:50], 229, NoteKind.HEADER_CUT),
        (b"\x40" + b"\0" * 39, 229, NoteKind.MALFORMED),
        (cb.ethernet(b"", 0x8100)[:14], 1, NoteKind.HEADER_CUT),  # VLAN tag missing
        (cb.ethernet(b"", 0x8100, [(0x8100, 1)] * 9), 1, NoteKind.MALFORMED),  # too many tags
        (b"\0" * 10, 1, NoteKind.HEADER_CUT),
        (b"\0" * 10, 113, NoteKind.HEADER_CUT),
        (b"\0" * 10, 276, NoteKind.HEADER_CUT),
        (b"\0\0", 0, NoteKind.HEADER_CUT),
        (b"\0\0", 108, NoteKind.HEADER_CUT),
        (b"", 101, NoteKind.HEADER_CUT),
    ],
)  # fmt: skip
def test_bad_headers_are_noted(frame: bytes, link_type: int, kind: NoteKind) -> None:
    packets, reader = one(frame, link_type)
    assert packets == []
    assert [n.kind for n in reader.notes] == [kind]


def test_notes_are_capped() -> None:
    def fragment(ident: int) -> bytes:  # each its own datagram, never completed
        segment = cb.tcp(5, 6, 7, 8)
        return cb.ipv4("10.0.0.1", "10.0.0.2", segment, ident=ident, flags_fragment=0x2000)

    data = cb.pcap([cb.Frame(T0, fragment(ident)) for ident in range(20)], link_type=101)
    reader = CaptureReader(data, max_notes=5)
    assert list(reader) == []
    assert len(reader.notes) == 5 and reader.notes_dropped == 15
    assert reader.note_counts == {NoteKind.IP_FRAGMENT: 20}  # every note counted, kept or not


# --- link types ------------------------------------------------------------------------------


def test_unsupported_link_type_names_it() -> None:
    data = cb.pcap([cb.Frame(T0, b"\0" * 40)], link_type=105)
    with pytest.raises(UnsupportedLinkType) as caught:
        list(read_packets(data))
    assert caught.value.link_type == 105
    assert "105" in str(caught.value) and "IEEE802_11" in str(caught.value)
    assert isinstance(caught.value, DecodeError)
    # records are link-agnostic
    assert len(list(CaptureReader(data).records())) == 1


def test_unsupported_link_type_in_pcapng_can_be_skipped() -> None:
    tcp4 = ip_packet(4, cb.tcp(10, 20, 1, 0, cb.ACK, b"ok"))
    data = (
        cb.shb("<")
        + cb.idb(189, "<")
        + cb.idb(101, "<")
        + cb.epb(cb.Frame(T0, b"\0" * 64), "<")
        + cb.epb(cb.Frame(T0, tcp4, interface=1), "<")
    )
    with pytest.raises(UnsupportedLinkType, match="USB_LINUX"):
        list(read_packets(data))
    reader = CaptureReader(data, skip_unsupported_link_types=True)
    assert [bytes(p.payload) for p in reader] == [b"ok"]
    assert [n.kind for n in reader.notes] == [NoteKind.UNSUPPORTED_LINK_TYPE]


def test_pcap_link_type_field_upper_bits_are_fcs_information() -> None:
    frames, expected = sample("ethernet", 4)
    data = cb.pcap(frames, link_type=1 | (1 << 26) | (4 << 28))
    check(list(read_packets(data)), expected)


# --- truncation, garbage and caps ------------------------------------------------------------


def small_captures() -> dict[str, tuple[bytes, list[int], set[int]]]:
    """Small captures, the end offsets of their packet records, and every record boundary."""
    frames = [
        cb.Frame(T0 + i, cb.wrap("ethernet", ip_packet(4, cb.tcp(1, 2, i, 0, cb.ACK, b"p" * i)), 4))
        for i in range(1, 4)
    ]
    out = {}
    for fmt in ("pcap-le-us", "pcap-be-ns", "pcapng-le", "pcapng-be"):
        data = cb.write(fmt, frames, 1)
        ends = []
        if fmt.startswith("pcapng"):
            pos = 0
            order = "<" if "le" in fmt else ">"
            boundaries = set()
            while pos < len(data):
                block_type, length = struct.unpack_from(order + "II", data, pos)
                pos += length
                boundaries.add(pos)
                if block_type == 6:
                    ends.append(pos)
        else:
            pos = 24
            boundaries = {24}
            for frame in frames:
                pos += 16 + len(frame.data)
                ends.append(pos)
                boundaries.add(pos)
        out[fmt] = (data, ends, boundaries)
    return out


@pytest.mark.parametrize("fmt", ["pcap-le-us", "pcap-be-ns", "pcapng-le", "pcapng-be"])
@pytest.mark.parametrize("stream", [False, True], ids=["bytes", "stream"])
def test_truncation_at_every_byte(fmt: str, stream: bool) -> None:
    data, ends, boundaries = small_captures()[fmt]
    full = [(p.frame, p.seq, bytes(p.payload)) for p in read_packets(data)]
    assert len(full) == 3
    opened = 0
    for cut in range(len(data) + 1):
        prefix = data[:cut]
        intact = sum(1 for end in ends if end <= cut)
        try:
            reader = CaptureReader(io.BytesIO(prefix) if stream else prefix)
        except DimseCodecError as error:
            assert isinstance(error, (NotACaptureFile, TruncatedError)), (cut, error)
            assert cut < 24
            continue
        opened += 1
        got = [(p.frame, p.seq, bytes(p.payload)) for p in reader]
        assert got == full[:intact], cut
        assert (reader.truncation is None) == (cut in boundaries), cut
        if reader.truncation is not None:
            assert reader.truncation.frames_read == reader.stats.frames == intact
            assert "truncated" in reader.truncation.message
        # read_packets reports it by raising after the intact packets
        collected: list[int] = []
        if reader.truncation is None:
            collected.extend(p.frame for p in read_packets(prefix))
        else:
            with pytest.raises(CaptureTruncated):
                collected.extend(p.frame for p in read_packets(prefix))
        assert collected == [frame for frame, _, _ in full[:intact]]
    assert opened > len(data) - 30


def test_truncation_can_be_ignored() -> None:
    data, ends, _ = small_captures()["pcap-le-us"]
    assert len(list(read_packets(data[: ends[1] + 5], raise_on_truncation=False))) == 2


def test_corrupt_gzip_is_a_capture_error() -> None:
    with pytest.raises(CaptureError, match="gzip-compressed data is corrupt"):
        CaptureReader(b"\x1f\x8b\x08\x00" + b"\0" * 40)
    with pytest.raises(NotACaptureFile, match="not a pcap or pcapng file"):
        CaptureReader(gzip.compress(b"<html>" * 10))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x28\xb5\x2f\xfd" + b"\0" * 40, "zstd"),
        (b"GIF89a" + b"\0" * 40, "not a pcap or pcapng file"),
        (b"<html>", "not a pcap or pcapng file"),
        (b"\xd4\xc3\xb3\xa1" + b"\0" * 40, "not a pcap or pcapng file"),
    ],
)
def test_garbage_is_not_a_capture(data: bytes, message: str) -> None:
    with pytest.raises(NotACaptureFile, match=message) as caught:
        CaptureReader(data)
    assert isinstance(caught.value, DecodeError)


def test_empty_file_path_is_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(NotACaptureFile):
        CaptureReader(path)


@given(st.binary(max_size=300))
def test_random_bytes_only_raise_library_errors(data: bytes) -> None:
    for source in (
        data,
        cb.pcap([]) + data,
        cb.shb("<") + data,
        cb.shb(">") + cb.idb(1, ">") + data,
    ):
        try:
            with CaptureReader(source) as reader:
                for packet in reader:
                    bytes(packet.payload)
        except DimseCodecError:
            pass


@given(st.data())
def test_mutated_captures_only_raise_library_errors(data: st.DataObject) -> None:
    original, _ends, _ = small_captures()[data.draw(st.sampled_from(["pcap-le-us", "pcapng-be"]))]
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    try:
        with CaptureReader(bytes(mutated), skip_unsupported_link_types=True) as reader:
            for packet in reader:
                bytes(packet.payload)
    except DimseCodecError:
        pass


@given(st.binary(max_size=120), st.sampled_from(sorted(SUPPORTED_LINK_TYPES)))
def test_frame_decoders_never_raise(frame: bytes, link_type: int) -> None:
    reader = CaptureReader(cb.pcap([cb.Frame(T0, frame)], link_type=link_type))
    for packet in reader:
        assert len(packet.payload) <= packet.payload_length
    assert reader.stats.frames == 1


def test_sources_of_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        CaptureReader(42)  # type: ignore[arg-type]


def test_declared_length_beyond_cap_is_refused_before_reading() -> None:
    data = cb.pcap([]) + struct.pack("<IIII", 0, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"\0" * 100
    with pytest.raises(CaptureLimitExceeded) as caught:
        list(read_packets(io.BytesIO(data)))
    assert isinstance(caught.value, LimitExceeded) and caught.value.offset == 24
    block = cb.shb("<") + struct.pack("<II", 6, 0x7FFFFFF0)
    with pytest.raises(CaptureLimitExceeded):
        list(read_packets(block))
    with pytest.raises(CaptureLimitExceeded):
        list(
            read_packets(cb.write("pcap-le-us", sample("ethernet", 4)[0], 1), max_record_length=40)
        )


def test_huge_declared_length_does_not_allocate_it() -> None:
    """With the cap lifted, a 2 GiB declared record in a small stream allocates what exists."""
    data = cb.pcap([]) + struct.pack("<IIII", 0, 0, 0x7FFFFFF0, 0x7FFFFFF0) + b"\0" * 5000
    tracemalloc.start()
    try:
        reader = CaptureReader(io.BytesIO(data), max_record_length=1 << 40)
        assert list(reader) == []
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reader.truncation is not None and reader.truncation.needed == 0x7FFFFFF0 + 16
    assert peak < 8 * inputs_module.CHUNK_SIZE


# --- declarations against the fast path ------------------------------------------------------

DECLARATIONS = list(structures.__all__)


@pytest.mark.parametrize("name", DECLARATIONS)
@pytest.mark.parametrize("order", ["<", ">"])
def test_struct_of_matches_construct(name: str, order: str) -> None:
    declaration: Construct = getattr(structures, name)
    fast = struct_of(declaration, ">")
    assert fast.size == declaration.sizeof()
    blob = random.Random(name).randbytes(fast.size)
    parsed = declaration.parse(blob)
    assert list(fast.unpack(blob)) == [parsed[sub.name] for sub in declaration.subcons]
    swapped = struct_of(declaration, order)
    assert swapped.size == fast.size


def test_struct_of_refuses_variable_fields() -> None:
    from construct import GreedyBytes, Struct

    with pytest.raises(TypeError):
        struct_of(Struct("rest" / GreedyBytes))
    with pytest.raises(ValueError):
        struct_of(structures.TCP_HEADER, "!")  # type: ignore[arg-type]


# --- a real peer -----------------------------------------------------------------------------


@pytest.mark.peer
@pytest.mark.parametrize(("fmt", "variant", "version"), [
    ("pcap-le-us", "ethernet-qinq", 4), ("pcap-be-ns", "sll2", 6), ("pcapng-be", "null-le", 6),
    ("pcapng-le", "loop", 4), ("pcap-le-ns", "raw", 6),
])  # fmt: skip
def test_tshark_reads_the_same_packets(
    fmt: str, variant: str, version: int, tmp_path: Path
) -> None:
    tshark = require_tool("tshark")
    frames, expected = sample(variant, version)
    path = tmp_path / "capture"
    path.write_bytes(cb.write(fmt, frames, cb.LINK_VARIANTS[variant][0]))
    fields = ["frame.number", "frame.time_epoch", "tcp.srcport", "tcp.seq_raw", "tcp.payload"]
    out = subprocess.run(
        [tshark, "-n", "-r", str(path), "-Y", "tcp", "-T", "fields"]
        + [arg for name in fields for arg in ("-e", name)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    ).stdout
    theirs = [line.split("\t") for line in out.splitlines()]
    ours = list(read_packets(path))
    assert len(theirs) == len(ours) == len(expected)
    for row, packet in zip(theirs, ours, strict=True):
        assert int(row[0]) == packet.frame
        assert row[1].replace(".", "") == str(packet.time_ns)
        assert int(row[2]) == packet.src_port
        assert int(row[3]) == packet.seq
        assert row[4].replace(":", "") == bytes(packet.payload).hex()


# --- the documentation -----------------------------------------------------------------------

DOC_BLOCKS = re.findall(
    r"```python\n(.*?)```",
    (Path(__file__).resolve().parent.parent / "docs" / "capture.md").read_text(encoding="utf-8"),
    re.DOTALL,
)


@pytest.mark.parametrize("index", range(len(DOC_BLOCKS)))
def test_capture_page_example_runs(index: int) -> None:
    code = compile(DOC_BLOCKS[index], f"docs/capture.md[{index}]", "exec")
    exec(code, {"__name__": "docs_example"})


def test_capture_page_has_examples() -> None:
    assert len(DOC_BLOCKS) >= 2


# --- fed by hand (sans-I/O) and several sources -----------------------------------------------


def stream_frames(count: int, start: int = 0, step: int = 2_000) -> list[cb.Frame]:
    rng = random.Random(count + start)
    return [
        cb.Frame(
            T0 + (start + i) * step,
            cb.wrap(
                "ethernet",
                ip_packet(
                    4, cb.tcp(1, 2, start + i, 0, cb.ACK, rng.randbytes(rng.randint(0, 900)))
                ),
                4,
            ),
        )
        for i in range(count)
    ]


def summary(packets: list[Packet]) -> list[tuple[int, int | None, int, bytes]]:
    return [(p.frame, p.time_ns, p.seq, bytes(p.payload)) for p in packets]


@pytest.mark.parametrize("fmt", cb.FORMATS)
def test_fed_reader_gives_each_packet_once_its_bytes_are_in(fmt: str) -> None:
    data = cb.write(fmt, stream_frames(40), 1)
    whole = summary(list(read_packets(data)))
    order = ">" if "be" in fmt else "<"
    with CaptureReader(data) as reader:  # where each record ends
        ends = [
            r.offset
            + (
                16 + len(r.data)
                if reader.format == "pcap"
                else struct.unpack_from(order + "I", data, r.offset + 4)[0]
            )
            for r in reader.records()
        ]
    rng = random.Random(fmt)
    reader = CaptureReader()
    got: list[Packet] = []
    pos = 0
    while pos < len(data):
        size = rng.choice([1, 2, 5, 17, 300, 4000])
        reader.feed(data[pos : pos + size])
        pos += size
        fresh = list(reader.packets())
        got += fresh
        # every packet whose record is complete is out; none before its last byte is in
        assert len(got) == sum(end <= pos for end in ends)
    reader.end()
    got += list(reader.packets())
    assert summary(got) == whole
    assert reader.truncation is None and reader.stats.frames == 40
    assert reader.format == ("pcapng" if fmt.startswith("pcapng") else "pcap")


def test_fed_reader_errors_and_truncation() -> None:
    reader = CaptureReader()
    reader.feed(b"<html>")
    assert list(reader.packets()) == []  # 6 bytes: not yet enough to judge
    reader.feed(b" " * 40)
    with pytest.raises(NotACaptureFile, match="not a pcap or pcapng file"):
        list(reader.packets())
    data = cb.write("pcap-le-us", stream_frames(3), 1)
    cut = CaptureReader()
    cut.feed(data[:-5])
    assert len(list(cut.packets())) == 2
    cut.end()
    assert list(cut.packets()) == []
    assert cut.truncation is not None and cut.truncation.frames_read == 2
    with pytest.raises(RuntimeError, match="after the end"):
        cut.feed(b"more")
    with pytest.raises(RuntimeError, match="made without a source"):
        CaptureReader(data).feed(b"")


def test_a_stream_is_read_as_it_arrives() -> None:
    """A pipe gives what it holds: each packet comes without waiting for a full chunk."""
    data = cb.write("pcapng-le", stream_frames(5), 1)
    read, write = os.pipe()
    with os.fdopen(read, "rb") as pipe, os.fdopen(write, "wb", buffering=0) as writer:
        writer.write(data[: len(data) // 2])  # the rest is still to come: EOF is far away
        packets = iter(CaptureReader(pipe))
        first = next(packets)
        assert first.frame == 1
        writer.write(data[len(data) // 2 :])
        writer.close()
        assert [p.frame for p in packets] == [2, 3, 4, 5]


def test_several_sources_merge_in_time_order_one_record_each() -> None:
    """Interleaved times across pcap and pcapng sources: one capture, frames numbered in the
    merged order, interfaces one after another, equal times in the order of the sources."""
    frames = stream_frames(30)
    odd = cb.write("pcapng-be", frames[1::2], 1)
    even = cb.write("pcap-le-ns", frames[0::2], 1)
    whole = summary(list(read_packets(cb.write("pcap-le-ns", frames, 1))))
    with CaptureReader([io.BytesIO(even), odd]) as reader:
        merged = list(reader)
        assert [i.index for i in reader.interfaces] == [0, 1]
        assert reader.stats.frames == 30
    assert summary(merged) == whole
    assert {p.interface for p in merged[0::2]} == {0} and {p.interface for p in merged[1::2]} == {1}
    same = cb.write("pcap-le-us", frames[:3], 1)  # every time twice: the first source first
    assert [p.interface for p in CaptureReader([same, same])] == [0, 1, 0, 1, 0, 1]


def test_several_sources_name_theirs_in_errors_notes_and_truncations(tmp_path: Path) -> None:
    good = tmp_path / "good.pcap"
    good.write_bytes(cb.write("pcap-le-us", stream_frames(3), 1))
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"GIF89a" + b"\0" * 40)
    with pytest.raises(NotACaptureFile, match=r"bad\.pcap") as caught:
        CaptureReader([good, bad])
    assert caught.value.path.startswith(str(bad))
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(cb.write("pcap-le-us", stream_frames(3, start=10), 1)[:-4])
    with CaptureReader([good, cut]) as reader:
        assert len(list(reader)) == 5
    assert [t.source for t in reader.truncations] == [str(cut)]
    assert reader.truncations[0].message.startswith(f"{cut}: capture truncated")
    with pytest.raises(ValueError, match="empty"):
        CaptureReader([])
