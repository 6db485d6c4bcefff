"""One captured frame to one TCP segment: link layer, IPv4/IPv6 and the TCP header, without copying.

Each supported link type has a decoder that takes the frame's bytes and returns either the TCP
fields with the payload as a :class:`memoryview` slice of the frame, or why the frame carries no
TCP segment it can give: not IP, not TCP (both silently skipped), an IP :class:`Fragment` (for
:mod:`dimse_codec.pcap.fragments` to reassemble), or a problem worth reporting (a malformed
header, a header cut by the snap length). IP lengths, not frame lengths, bound the payload, so
Ethernet padding and trailers never leak into a TCP stream.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from dimse_codec._wire import struct_of
from dimse_codec.pcap.structures import (
    ETHERNET_HEADER,
    IPV4_HEADER,
    IPV6_FRAGMENT_HEADER,
    IPV6_HEADER,
    LOOPBACK_FAMILY,
    SLL2_HEADER,
    SLL_HEADER,
    TCP_HEADER,
    VLAN_TAG,
)

__all__ = [
    "LINK_TYPE_NAMES",
    "SUPPORTED_LINK_TYPES",
    "Fragment",
    "LinkType",
    "NoteKind",
    "Packet",
    "TcpFlags",
    "decode_ip",
    "decoder_for",
    "link_type_name",
]


class LinkType(enum.IntEnum):
    """The link-layer header types (LINKTYPE_* values) the reader decodes down to IP."""

    NULL = 0  # BSD loopback, address family in the capturing host's byte order
    ETHERNET = 1  # with 802.1Q / 802.1ad tags, stacked
    RAW_DLT12 = 12  # DLT_RAW on most BSDs and Linux: raw IPv4 or IPv6
    RAW_DLT14 = 14  # DLT_RAW on OpenBSD
    RAW = 101  # LINKTYPE_RAW: raw IPv4 or IPv6
    LOOP = 108  # OpenBSD loopback, address family big endian
    LINUX_SLL = 113  # Linux cooked capture v1 ("any" interface)
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276  # Linux cooked capture v2


SUPPORTED_LINK_TYPES = frozenset(int(member) for member in LinkType)
"""Link-type numbers :func:`decoder_for` has a decoder for."""

LINK_TYPE_NAMES: dict[int, str] = {
    **{int(member): member.name for member in LinkType},
    6: "IEEE802_5",
    9: "PPP",
    10: "FDDI",
    50: "PPP_HDLC",
    51: "PPP_ETHER",
    104: "C_HDLC",
    105: "IEEE802_11",
    113: "LINUX_SLL",
    119: "IEEE802_11_PRISM",
    127: "IEEE802_11_RADIOTAP",
    187: "BLUETOOTH_HCI_H4",
    189: "USB_LINUX",
    192: "PPI",
    195: "IEEE802_15_4",
    220: "USB_LINUX_MMAPPED",
    239: "NFLOG",
    249: "USBPCAP",
    253: "NETLINK",
    **{147 + user: f"USER{user}" for user in range(16)},
}
"""Names of common link types, for messages."""


def link_type_name(link_type: int) -> str:
    """The LINKTYPE_ name of a link-type number, or ``"unknown"``, for error messages."""
    return LINK_TYPE_NAMES.get(link_type, "unknown")


class TcpFlags(enum.IntFlag):
    """TCP header flags (RFC 9293, RFC 3168); a packet's ``flags`` is one of these."""

    FIN = 0x001
    SYN = 0x002
    RST = 0x004
    PSH = 0x008
    ACK = 0x010
    URG = 0x020
    ECE = 0x040
    CWR = 0x080
    AE = 0x100  # formerly NS


_FLAG_VALUES = tuple(TcpFlags(value) for value in range(0x200))  # lookup, not enum calls per packet


class NoteKind(str, enum.Enum):
    """Why a frame or a file structure was reported; each value is a stable code."""

    IP_FRAGMENT = "IP_FRAGMENT"  # fragments of an IP datagram that could not be reassembled
    MALFORMED = "MALFORMED"  # a header contradicts itself: skipped
    HEADER_CUT = "HEADER_CUT"  # the snap length cut a link/IP/TCP header: skipped
    BAD_INTERFACE = "BAD_INTERFACE"  # a pcapng packet names an interface that was not described
    BAD_OPTION = "BAD_OPTION"  # a pcapng option runs past its block: options ignored
    UNSUPPORTED_LINK_TYPE = "UNSUPPORTED_LINK_TYPE"  # skipped, because the reader was told to
    FRAGMENT_OVERLAP = "FRAGMENT_OVERLAP"  # IP fragments overlap with other bytes: dropped


@dataclass(frozen=True, slots=True)
class Packet:
    """One TCP segment of a capture: frame number, time, 4-tuple, sequence numbers and payload.

    ``payload`` is a view into the capture's bytes (no copy). ``payload_length`` is the length the
    IP header declares; it is larger than ``len(payload)`` when the snap length cut the frame.
    Addresses are packed (4 bytes for IPv4, 16 for IPv6). ``time_ns`` is ``None`` only for pcapng
    Simple Packet Blocks, which carry no time.
    """

    frame: int
    time_ns: int | None
    interface: int
    src: bytes
    src_port: int
    dst: bytes
    dst_port: int
    seq: int
    ack: int
    flags: TcpFlags
    payload: memoryview
    payload_length: int

    @property
    def time(self) -> float | None:
        """Seconds since the epoch, as a float (``time_ns`` holds the exact value)."""
        return None if self.time_ns is None else self.time_ns / 1e9

    @property
    def four_tuple(self) -> tuple[bytes, int, bytes, int]:
        """(src, src_port, dst, dst_port): the key of this packet's connection and direction."""
        return (self.src, self.src_port, self.dst, self.dst_port)

    @property
    def src_ip(self) -> IPv4Address | IPv6Address:
        """The source address as an :mod:`ipaddress` object."""
        return ip_address(self.src)

    @property
    def dst_ip(self) -> IPv4Address | IPv6Address:
        """The destination address as an :mod:`ipaddress` object."""
        return ip_address(self.dst)

    @property
    def cut(self) -> bool:
        """True when the capture holds fewer payload bytes than the segment carried."""
        return len(self.payload) < self.payload_length


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a frame was skipped, when that is worth a note."""

    kind: NoteKind
    message: str


@dataclass(frozen=True, slots=True)
class Fragment:
    """One fragment of an IPv4 (RFC 791) or IPv6 (RFC 8200 section 4.5) datagram carrying TCP.

    ``protocol`` is the IPv4 protocol or the IPv6 header that follows the fragment header;
    ``offset`` is in bytes; ``data`` is the fragment's captured payload (a view) and ``cut``
    says the snap length cut it.
    """

    version: int
    src: bytes
    dst: bytes
    ident: int
    protocol: int
    offset: int
    more: bool
    data: memoryview
    cut: bool


# Decoder results: a tuple of TCP fields, one of these two ints (silently skipped), a Fragment,
# or a Problem.
NOT_IP = 0
NOT_TCP = 1

Fields = tuple[bytes, int, bytes, int, int, int, TcpFlags, memoryview, int]
PacketFields = tuple[
    int, int | None, int, bytes, int, bytes, int, int, int, TcpFlags, memoryview, int
]
"""A :class:`Packet`'s fields in its order (frame, time, interface, then the TCP fields)."""
Decoded = Fields | int | Problem | Fragment
Decoder = Callable[[memoryview], Decoded]

_IPV4 = struct_of(IPV4_HEADER).unpack_from
_IPV6 = struct_of(IPV6_HEADER).unpack_from
_IPV6_FRAGMENT = struct_of(IPV6_FRAGMENT_HEADER).unpack_from
_TCP = struct_of(TCP_HEADER).unpack_from
_U16 = struct.Struct(">H").unpack_from
_ETHERTYPE_AT = ETHERNET_HEADER.sizeof() - 2
_ETHERNET_SIZE = ETHERNET_HEADER.sizeof()
_VLAN_SIZE = VLAN_TAG.sizeof()  # TCI and next ethertype; the TPID was the ethertype before
_SLL_SIZE = SLL_HEADER.sizeof()
_SLL2_SIZE = SLL2_HEADER.sizeof()
_LOOPBACK_SIZE = LOOPBACK_FAMILY.sizeof()
_IPV4_SIZE = IPV4_HEADER.sizeof()
_IPV6_SIZE = IPV6_HEADER.sizeof()
_TCP_SIZE = TCP_HEADER.sizeof()

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
VLAN_ETHERTYPES = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})  # 802.1Q, 802.1ad, old QinQ
MAX_VLAN_TAGS = 8
MAX_IPV6_EXTENSIONS = 16
IPPROTO_TCP = 6
# what may follow an IPv6 fragment header on the way to TCP: TCP or an extension header
_FRAGMENTABLE = frozenset({IPPROTO_TCP, 0, 43, 60, 51})
# BSD address families of IPv6 (NetBSD/OpenBSD, FreeBSD, Darwin, Linux); IPv4 is 2 everywhere
_AF_INET6 = frozenset({24, 28, 30, 10})


def _cut(what: str) -> Problem:
    return Problem(NoteKind.HEADER_CUT, f"the capture cut the {what}")


def _malformed(message: str) -> Problem:
    return Problem(NoteKind.MALFORMED, message)


def _tcp(data: memoryview, off: int, end: int, length: int, src: bytes, dst: bytes) -> Decoded:
    """TCP header at ``off``; ``end`` is where the captured segment ends, ``length`` its IP size."""
    if length < _TCP_SIZE:
        return _malformed(f"TCP segment of {length} bytes is shorter than a TCP header")
    if end - off < _TCP_SIZE:
        return _cut("TCP header")
    sport, dport, seq, ack, offset_flags, _window, _checksum, _urgent = _TCP(data, off)
    header = (offset_flags >> 12) << 2
    if header < _TCP_SIZE or header > length:
        return _malformed(f"TCP data offset {header} outside 20..{length}")
    start = off + header
    return (
        src,
        sport,
        dst,
        dport,
        seq,
        ack,
        _FLAG_VALUES[offset_flags & 0x1FF],
        data[start:end] if start < end else data[end:end],
        length - header,
    )


def _ipv4(data: memoryview, off: int) -> Decoded:
    n = len(data)
    if n - off < _IPV4_SIZE:
        return _cut("IPv4 header")
    version_ihl, _tos, total, ident, flags_offset, _ttl, proto, _sum, src, dst = _IPV4(data, off)
    if version_ihl >> 4 != 4:
        return _malformed(f"IP version {version_ihl >> 4} where IPv4 was expected")
    ihl = (version_ihl & 15) << 2
    if ihl < _IPV4_SIZE:
        return _malformed(f"IPv4 header length {ihl} is below 20")
    if proto != IPPROTO_TCP:
        return NOT_TCP
    if total == 0:  # TCP segmentation offload: the length was never filled in
        total = n - off
    if total < ihl:
        return _malformed(f"IPv4 total length {total} is below its header length {ihl}")
    if n - off < ihl:
        return _cut("IPv4 options")
    end = off + total
    if flags_offset & 0x3FFF:  # more fragments, or a fragment offset
        return Fragment(
            4, src, dst, ident, proto, (flags_offset & 0x1FFF) << 3, bool(flags_offset & 0x2000),
            data[off + ihl : end if end < n else n], end > n,
        )  # fmt: skip
    return _tcp(data, off + ihl, end if end < n else n, total - ihl, src, dst)


def _ipv6(data: memoryview, off: int) -> Decoded:
    n = len(data)
    if n - off < _IPV6_SIZE:
        return _cut("IPv6 header")
    version_class_flow, payload_length, next_header, _hops, src, dst = _IPV6(data, off)
    if version_class_flow >> 28 != 6:
        return _malformed(f"IP version {version_class_flow >> 28} where IPv6 was expected")
    p = off + _IPV6_SIZE
    wire_end = p + payload_length if payload_length else n  # 0: jumbogram or offload
    end = wire_end if wire_end < n else n
    for _ in range(MAX_IPV6_EXTENSIONS):
        if next_header == IPPROTO_TCP:
            break
        if next_header in (0, 43, 60, 44, 51):
            if end - p < 8:
                return _cut("IPv6 extension header")
            if next_header == 44:
                following, _reserved, offset_flags, ident = _IPV6_FRAGMENT(data, p)
                if offset_flags & 0xFFF9:  # not an atomic fragment (RFC 6946)
                    if following not in _FRAGMENTABLE:
                        return NOT_TCP
                    return Fragment(
                        6, src, dst, ident, following, offset_flags & 0xFFF8,
                        bool(offset_flags & 1), data[p + 8 : end], wire_end > n,
                    )  # fmt: skip
                p += 8
            elif next_header == 51:  # authentication header: length in 4-byte units - 2
                following = data[p]
                p += (data[p + 1] + 2) << 2
            else:
                following = data[p]
                p += (data[p + 1] + 1) << 3
            next_header = following
        else:
            return NOT_TCP
    else:
        return _malformed(f"more than {MAX_IPV6_EXTENSIONS} IPv6 extension headers")
    if p > wire_end:
        return _malformed("IPv6 extension headers run past the payload length")
    return _tcp(data, p, end, wire_end - p, src, dst)


def _by_ethertype(data: memoryview, off: int, ethertype: int) -> Decoded:
    """Skip VLAN tags (stacked, at most MAX_VLAN_TAGS) then decode IPv4 or IPv6 at ``off``."""
    tags = 0
    while ethertype in VLAN_ETHERTYPES:
        if tags == MAX_VLAN_TAGS:
            return _malformed(f"more than {MAX_VLAN_TAGS} stacked VLAN tags")
        if len(data) - off < _VLAN_SIZE:
            return _cut("VLAN tag")
        (ethertype,) = _U16(data, off + 2)
        off += _VLAN_SIZE
        tags += 1
    if ethertype == ETHERTYPE_IPV4:
        return _ipv4(data, off)
    if ethertype == ETHERTYPE_IPV6:
        return _ipv6(data, off)
    return NOT_IP


def _ethernet(data: memoryview) -> Decoded:
    if len(data) < _ETHERNET_SIZE:
        return _cut("Ethernet header")
    (ethertype,) = _U16(data, _ETHERTYPE_AT)
    if ethertype == ETHERTYPE_IPV4:  # the common case first
        return _ipv4(data, _ETHERNET_SIZE)
    return _by_ethertype(data, _ETHERNET_SIZE, ethertype)


_ETHERNET_IPV4 = struct.Struct(">12xHBxHxxHxBxx4s4s")
"""Ethernet type, then the IPv4 fields the fast path reads: version and header length, total
length, flags and fragment offset, protocol, addresses (for a 20-byte IPv4 header)."""
_FAST_TCP = _ETHERNET_SIZE + _IPV4_SIZE


def _ethernet_ipv4_tcp(data: memoryview) -> Decoded:
    """:func:`_ethernet` in one read for the common frame (IPv4 without options, not a fragment,
    carrying TCP): the same result; any other frame goes the general way."""
    n = len(data)
    if n >= _FAST_TCP:
        ethertype, version_ihl, total, flags_offset, proto, src, dst = _ETHERNET_IPV4.unpack_from(
            data
        )
        if (
            ethertype == ETHERTYPE_IPV4
            and version_ihl == 0x45
            and proto == IPPROTO_TCP
            and total >= _IPV4_SIZE
            and not flags_offset & 0x3FFF
        ):
            end = _ETHERNET_SIZE + total
            return _tcp(data, _FAST_TCP, end if end < n else n, total - _IPV4_SIZE, src, dst)
    return _ethernet(data)


def _sll(data: memoryview) -> Decoded:
    if len(data) < _SLL_SIZE:
        return _cut("Linux cooked (SLL) header")
    (protocol,) = _U16(data, _SLL_SIZE - 2)
    return _by_ethertype(data, _SLL_SIZE, protocol)


def _sll2(data: memoryview) -> Decoded:
    if len(data) < _SLL2_SIZE:
        return _cut("Linux cooked (SLL2) header")
    (protocol,) = _U16(data, 0)
    return _by_ethertype(data, _SLL2_SIZE, protocol)


def _by_family(data: memoryview, family: int) -> Decoded:
    if family == 2:
        return _ipv4(data, _LOOPBACK_SIZE)
    if family in _AF_INET6:
        return _ipv6(data, _LOOPBACK_SIZE)
    return NOT_IP


def _null(data: memoryview) -> Decoded:
    if len(data) < _LOOPBACK_SIZE:
        return _cut("loopback header")
    family = int.from_bytes(data[:4], "little")
    if family > 0xFFFF:  # written by a big-endian host
        family = int.from_bytes(data[:4], "big")
    return _by_family(data, family)


def _loop(data: memoryview) -> Decoded:
    if len(data) < _LOOPBACK_SIZE:
        return _cut("loopback header")
    return _by_family(data, int.from_bytes(data[:4], "big"))


def _raw(data: memoryview) -> Decoded:
    if not data:
        return _cut("IP header")
    version = data[0] >> 4
    if version == 4:
        return _ipv4(data, 0)
    if version == 6:
        return _ipv6(data, 0)
    return NOT_IP


def decode_ip(data: memoryview) -> Decoded:
    """Decode an IPv4 or IPv6 packet that starts at byte 0 (a reassembled datagram)."""
    return _raw(data)


def _ipv4_only(data: memoryview) -> Decoded:
    return _ipv4(data, 0)


def _ipv6_only(data: memoryview) -> Decoded:
    return _ipv6(data, 0)


_DECODERS: dict[int, Decoder] = {
    LinkType.NULL: _null,
    LinkType.ETHERNET: _ethernet_ipv4_tcp,
    LinkType.RAW_DLT12: _raw,
    LinkType.RAW_DLT14: _raw,
    LinkType.RAW: _raw,
    LinkType.LOOP: _loop,
    LinkType.LINUX_SLL: _sll,
    LinkType.IPV4: _ipv4_only,
    LinkType.IPV6: _ipv6_only,
    LinkType.LINUX_SLL2: _sll2,
}


def decoder_for(link_type: int) -> Decoder | None:
    """The frame decoder of a link type, or ``None`` when the link type is not supported."""
    return _DECODERS.get(link_type)
