"""The one-read decoder of the common Ethernet frame (IPv4 without options carrying TCP) gives
exactly what the general layer-by-layer decoder gives, on every frame: well formed ones, and
ones with any header byte changed (which it must leave to the general way); and the packet
fields a whole-capture decoder iterates feed the TCP reassembler as packets do."""

from __future__ import annotations

import random

import capture_builder as cb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dimse_codec.pcap import CaptureReader, Packet, TcpReassembler
from dimse_codec.pcap.packets import (
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    LinkType,
    _ethernet,
    _ethernet_ipv4_tcp,
    decoder_for,
)


def same(frame: bytes) -> None:
    view = memoryview(frame)
    assert _ethernet_ipv4_tcp(view) == _ethernet(view)


def test_ethernet_link_type_uses_the_one_read_decoder() -> None:
    assert decoder_for(LinkType.ETHERNET) is _ethernet_ipv4_tcp


@given(
    st.binary(max_size=300),  # TCP payload
    st.sampled_from([b"", b"\x01\x01\x08\x0a" + bytes(8)]),  # TCP options
    st.sampled_from([b"", bytes(4)]),  # IPv4 options
    st.integers(0, 0x1FF),  # TCP flags
    st.sampled_from([0, 0x4000, 0x2000, 0x0001]),  # IPv4 flags and fragment offset
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 80),  # bytes the snap length cut
    st.sampled_from([None, 0, 10, 30, 45, 1500]),  # declared total length (None: the true one)
)
def test_well_formed_and_odd_frames_decode_alike(
    payload: bytes,
    tcp_options: bytes,
    ip_options: bytes,
    flags: int,
    fragment: int,
    seq: int,
    ack: int,
    cut: int,
    total: int | None,
) -> None:
    segment = cb.tcp(40000, 11112, seq, ack, flags, payload, tcp_options)
    packet = cb.ipv4(
        "10.0.0.1", "10.0.0.2", segment, flags_fragment=fragment, options=ip_options,
        total_length=total,
    )  # fmt: skip
    frame = cb.ethernet(packet, ETHERTYPE_IPV4)
    same(frame)
    same(frame[: max(0, len(frame) - cut)])


@given(st.binary(min_size=0, max_size=120), st.integers(0, 119), st.integers(0, 255))
def test_frames_with_a_byte_changed_decode_alike(tail: bytes, where: int, value: int) -> None:
    segment = cb.tcp(40000, 11112, 1000, 2000, cb.ACK | cb.PSH, tail)
    frame = bytearray(cb.ethernet(cb.ipv4("10.0.0.1", "10.0.0.2", segment), ETHERTYPE_IPV4))
    if where < len(frame):
        frame[where] = value
    same(bytes(frame))


def test_other_ethertypes_and_vlans_decode_alike() -> None:
    segment = cb.tcp(40000, 11112, 1, 2, cb.ACK, b"data")
    same(cb.ethernet(cb.ipv6("fe80::1", "fe80::2", segment), ETHERTYPE_IPV6))
    same(cb.ethernet(cb.ipv4("10.0.0.1", "10.0.0.2", segment), ETHERTYPE_IPV4, [(0x8100, 7)]))
    same(cb.ethernet(cb.ipv4("10.0.0.1", "10.0.0.2", segment, proto=17), ETHERTYPE_IPV4))
    same(cb.ethernet(b"\x00" * 40, 0x0806))
    same(b"")


@pytest.mark.parametrize(
    "variant", [name for name, (link, _, _) in cb.LINK_VARIANTS.items() if link == 1]
)
def test_every_ethernet_link_variant_decodes_alike(variant: str) -> None:
    segment = cb.tcp(40000, 11112, 7, 9, cb.ACK | cb.PSH, b"\x01\x00" * 40)
    same(cb.wrap(variant, cb.ipv4("10.0.0.1", "10.0.0.2", segment), 4))
    same(cb.wrap(variant, cb.ipv6("fe80::1", "fe80::2", segment), 6))
    same(cb.non_ip_frame(variant))


def test_packet_fields_feed_the_reassembler_as_packets_do() -> None:
    """What a whole-capture decoder iterates (fields, ``feed_fields``) is what the packet API
    gives (``Packet``, ``feed``): the same packets, the same events and counts."""
    rng = random.Random(11)
    frames = []
    for i in range(400):
        segment = cb.tcp(
            rng.choice([40000, 11112]),
            rng.choice([40000, 11112]),
            rng.getrandbits(32) if i % 7 == 0 else 1000 + 10 * i,
            rng.getrandbits(32),
            rng.choice([cb.ACK, cb.ACK | cb.PSH, cb.SYN, cb.FIN | cb.ACK, cb.RST]),
            rng.randbytes(rng.choice([0, 0, 10, 50])),
        )
        frames.append(cb.Frame(i, cb.ethernet(cb.ipv4("10.0.0.1", "10.0.0.2", segment), 0x0800)))
    data = cb.pcap(frames, link_type=1)
    fields = list(CaptureReader(data).packet_fields())
    packets = list(CaptureReader(data).packets())
    assert [Packet(*one) for one in fields] == packets
    by_fields, by_packets = TcpReassembler(), TcpReassembler()
    events = [event for one in fields for event in by_fields.feed_fields(*one)]
    assert events == [event for packet in packets for event in by_packets.feed(packet)]
    assert by_fields.finish() == by_packets.finish()
    assert by_fields.stats == by_packets.stats
