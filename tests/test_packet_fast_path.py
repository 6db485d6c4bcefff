"""The one-read decoder of the common Ethernet frame (IPv4 without options carrying TCP) gives
exactly what the general layer-by-layer decoder gives, on every frame: well formed ones, and
ones with any header byte changed (which it must leave to the general way)."""

from __future__ import annotations

import capture_builder as cb
from hypothesis import given
from hypothesis import strategies as st

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
