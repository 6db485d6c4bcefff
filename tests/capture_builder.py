"""A small pcap/pcapng and packet writer for the capture tests, written with plain ``struct``.

It does not use the reader's construct declarations on purpose: the tests compare two
independent descriptions of the same formats.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# --- transport and network ---------------------------------------------------------------------


def tcp(
    sport: int,
    dport: int,
    seq: int,
    ack: int = 0,
    flags: int = ACK,
    payload: bytes = b"",
    options: bytes = b"",
    window: int = 65535,
) -> bytes:
    """A TCP segment (checksum left 0: the reader does not check it)."""
    assert len(options) % 4 == 0
    offset = (20 + len(options)) // 4
    header = struct.pack(
        ">HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
        (offset << 12) | flags, window, 0, 0,
    )  # fmt: skip
    return header + options + payload


def udp(sport: int, dport: int, payload: bytes = b"") -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(
    src: str,
    dst: str,
    payload: bytes,
    *,
    proto: int = 6,
    ident: int = 1,
    flags_fragment: int = 0x4000,
    options: bytes = b"",
    total_length: int | None = None,
) -> bytes:
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4
    length = ihl * 4 + len(payload) if total_length is None else total_length
    header = struct.pack(
        ">BBHHHBBH4s4s", 0x40 | ihl, 0, length, ident, flags_fragment, 64, proto, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )  # fmt: skip
    return header + options + payload


def ipv6(
    src: str,
    dst: str,
    payload: bytes,
    *,
    next_header: int = 6,
    extensions: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """IPv6 with extension headers given as (header type, body after the 2 first bytes)."""
    chain = b""
    types = [kind for kind, _ in extensions] + [next_header]
    for index, (kind, body) in enumerate(extensions):
        following = types[index + 1]
        if kind == 44:  # fragment header: fixed 8 bytes, body is the 6 bytes after next/reserved
            assert len(body) == 6
            chain += bytes([following, 0]) + body
        elif kind == 51:  # AH: length in 4-byte units - 2
            assert (len(body) + 2) % 4 == 0
            chain += bytes([following, (len(body) + 2) // 4 - 2]) + body
        else:
            assert (len(body) + 2) % 8 == 0
            chain += bytes([following, (len(body) + 2) // 8 - 1]) + body
    first = types[0]
    header = struct.pack(
        ">IHBB16s16s", 6 << 28, len(chain) + len(payload), first, 64,
        ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed,
    )  # fmt: skip
    return header + chain + payload


def fragment_ipv4(packet: bytes, size: int = 8) -> list[bytes]:
    """An unfragmented IPv4 packet (no options) cut into fragments of ``size`` payload bytes
    (a multiple of 8), in order, with the More Fragments flag and offsets of RFC 791."""
    assert size % 8 == 0 and packet[0] == 0x45
    header, payload = packet[:20], packet[20:]
    out = []
    for start in range(0, len(payload), size):
        piece = payload[start : start + size]
        more = 0x2000 if start + size < len(payload) else 0
        out.append(
            header[:2] + struct.pack(">H", 20 + len(piece)) + header[4:6]
            + struct.pack(">H", more | start // 8) + header[8:] + piece
        )  # fmt: skip
    return out


def ipv6_fragment(
    src: str, dst: str, segment: bytes, *, ident: int, offset: int, more: bool
) -> bytes:
    """One IPv6 fragment (RFC 8200 section 4.5) of ``segment``, a TCP datagram's payload."""
    body = struct.pack(">HI", offset | more, ident)
    return ipv6(src, dst, segment, extensions=[(44, body)])


def fragment_ipv6(src: str, dst: str, segment: bytes, ident: int, size: int = 8) -> list[bytes]:
    """A TCP segment sent over IPv6 in fragments of ``size`` bytes (a multiple of 8)."""
    assert size % 8 == 0
    return [
        ipv6_fragment(
            src,
            dst,
            segment[start : start + size],
            ident=ident,
            offset=start,
            more=start + size < len(segment),
        )
        for start in range(0, len(segment), size)
    ]


# --- link layers -------------------------------------------------------------------------------

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ethernet(payload: bytes, ethertype: int, vlans: Sequence[tuple[int, int]] = ()) -> bytes:
    """Ethernet II with VLAN tags given as (TPID, VLAN id), outermost first; pads to 60 bytes."""
    tags = b""
    types = [tpid for tpid, _ in vlans] + [ethertype]
    for index, (_tpid, vid) in enumerate(vlans):
        tags += struct.pack(">HH", vid, types[index + 1])
    frame = MAC_B + MAC_A + struct.pack(">H", types[0]) + tags + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def sll(payload: bytes, protocol: int) -> bytes:
    return struct.pack(">HHH8sH", 0, 1, 6, MAC_A + b"\0\0", protocol) + payload


def sll2(payload: bytes, protocol: int) -> bytes:
    return struct.pack(">HHIHBB8s", protocol, 0, 1, 1, 0, 6, MAC_A + b"\0\0") + payload


def loopback(payload: bytes, family: int, byteorder: str) -> bytes:
    return family.to_bytes(4, byteorder) + payload  # type: ignore[arg-type]


# (link type, variant) -> how to wrap an IP packet (version 4 or 6)
LINK_VARIANTS: dict[str, tuple[int, bool, bool]] = {
    # name: (link type, supports IPv4, supports IPv6)
    "null-le": (0, True, True),
    "null-be": (0, True, True),
    "ethernet": (1, True, True),
    "ethernet-vlan": (1, True, True),
    "ethernet-qinq": (1, True, True),
    "ethernet-qinq-9100": (1, True, True),
    "raw12": (12, True, True),
    "raw14": (14, True, True),
    "raw": (101, True, True),
    "loop": (108, True, True),
    "sll": (113, True, True),
    "ipv4": (228, True, False),
    "ipv6": (229, False, True),
    "sll2": (276, True, True),
}


def wrap(variant: str, packet: bytes, version: int) -> bytes:
    """Put an IP packet in the link-layer header of ``variant`` (see LINK_VARIANTS)."""
    ethertype = 0x0800 if version == 4 else 0x86DD
    if variant == "null-le":
        return loopback(packet, 2 if version == 4 else 30, "little")
    if variant == "null-be":
        return loopback(packet, 2 if version == 4 else 24, "big")
    if variant == "ethernet":
        return ethernet(packet, ethertype)
    if variant == "ethernet-vlan":
        return ethernet(packet, ethertype, [(0x8100, 100)])
    if variant == "ethernet-qinq":
        return ethernet(packet, ethertype, [(0x88A8, 10), (0x8100, 20)])
    if variant == "ethernet-qinq-9100":
        return ethernet(packet, ethertype, [(0x9100, 10), (0x8100, 20), (0x8100, 30)])
    if variant in ("raw12", "raw14", "raw", "ipv4", "ipv6"):
        return packet
    if variant == "loop":
        return loopback(packet, 2 if version == 4 else 24, "big")
    if variant == "sll":
        return sll(packet, ethertype)
    if variant == "sll2":
        return sll2(packet, ethertype)
    raise ValueError(variant)


def non_ip_frame(variant: str) -> bytes:
    """A frame of ``variant`` that carries no IP (ARP, or garbage family / version)."""
    if variant.startswith("ethernet"):
        return ethernet(b"\0" * 28, 0x0806)
    if variant in ("sll", "sll2"):
        return (sll if variant == "sll" else sll2)(b"\0" * 28, 0x0806)
    if variant in ("null-le", "null-be", "loop"):
        return loopback(b"\x45" + b"\0" * 39, 7, "big" if variant != "null-le" else "little")
    return b"\x10" + b"\0" * 39  # version 1: not IP


# --- capture files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One record to write: time in nanoseconds, bytes, and the wire length (default: same)."""

    time_ns: int
    data: bytes
    original_length: int | None = None
    interface: int = 0


def pcap(
    frames: Iterable[Frame],
    *,
    link_type: int = 1,
    byteorder: str = "<",
    nanoseconds: bool = False,
    snaplen: int = 262144,
) -> bytes:
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = [struct.pack(byteorder + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link_type)]
    for frame in frames:
        seconds, rest = divmod(frame.time_ns, 1_000_000_000)
        fraction = rest if nanoseconds else rest // 1000
        original = len(frame.data) if frame.original_length is None else frame.original_length
        out.append(struct.pack(byteorder + "IIII", seconds, fraction, len(frame.data), original))
        out.append(frame.data)
    return b"".join(out)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def option(code: int, value: bytes, byteorder: str) -> bytes:
    return struct.pack(byteorder + "HH", code, len(value)) + _pad(value)


def block(block_type: int, body: bytes, byteorder: str) -> bytes:
    body = _pad(body)
    length = 12 + len(body)
    return (
        struct.pack(byteorder + "II", block_type, length)
        + body
        + struct.pack(byteorder + "I", length)
    )


def shb(byteorder: str, options: bytes = b"") -> bytes:
    return block(
        0x0A0D0D0A, struct.pack(byteorder + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options, byteorder
    )


def idb(
    link_type: int,
    byteorder: str,
    *,
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
    name: str | None = None,
) -> bytes:
    options = b""
    if name is not None:
        options += option(2, name.encode(), byteorder)
    if tsresol is not None:
        options += option(9, bytes([tsresol]), byteorder)
    if tsoffset is not None:
        options += option(14, struct.pack(byteorder + "q", tsoffset), byteorder)
    if options:
        options += option(0, b"", byteorder)
    return block(1, struct.pack(byteorder + "HHI", link_type, 0, snaplen) + options, byteorder)


def timestamp(time_ns: int, tsresol: int) -> int:
    """Ticks of an interface's resolution for a time in ns (exact for the tested resolutions)."""
    if tsresol & 0x80:
        return (time_ns << (tsresol & 0x7F)) // 1_000_000_000
    if tsresol <= 9:
        return time_ns // int(10 ** (9 - tsresol))
    return time_ns * int(10 ** (tsresol - 9))


def epb(frame: Frame, byteorder: str, tsresol: int = 6, options: bytes = b"") -> bytes:
    ticks = timestamp(frame.time_ns, tsresol)
    original = len(frame.data) if frame.original_length is None else frame.original_length
    body = struct.pack(
        byteorder + "IIIII", frame.interface, ticks >> 32, ticks & 0xFFFFFFFF,
        len(frame.data), original,
    )  # fmt: skip
    return block(6, body + _pad(frame.data) + options, byteorder)


def obsolete_pb(frame: Frame, byteorder: str, tsresol: int = 6) -> bytes:
    ticks = timestamp(frame.time_ns, tsresol)
    original = len(frame.data) if frame.original_length is None else frame.original_length
    body = struct.pack(
        byteorder + "HHIIII", frame.interface, 0, ticks >> 32, ticks & 0xFFFFFFFF,
        len(frame.data), original,
    )  # fmt: skip
    return block(2, body + _pad(frame.data), byteorder)


def spb(data: bytes, byteorder: str, original_length: int | None = None) -> bytes:
    original = len(data) if original_length is None else original_length
    return block(3, struct.pack(byteorder + "I", original) + _pad(data), byteorder)


def pcapng(
    frames: Iterable[Frame],
    *,
    link_type: int = 1,
    byteorder: str = "<",
    tsresol: int | None = None,
) -> bytes:
    """One section, one interface, every frame an EPB."""
    out = [shb(byteorder), idb(link_type, byteorder, tsresol=tsresol)]
    resolution = 6 if tsresol is None else tsresol
    out += [epb(frame, byteorder, resolution) for frame in frames]
    return b"".join(out)


def write(format_name: str, frames: Sequence[Frame], link_type: int) -> bytes:
    """A capture in one of FORMATS."""
    if format_name.startswith("pcapng"):
        return pcapng(frames, link_type=link_type, byteorder="<" if "le" in format_name else ">")
    return pcap(
        frames,
        link_type=link_type,
        byteorder="<" if "-le" in format_name else ">",
        nanoseconds=format_name.endswith("ns"),
    )


FORMATS = ["pcap-le-us", "pcap-be-us", "pcap-le-ns", "pcap-be-ns", "pcapng-le", "pcapng-be"]
