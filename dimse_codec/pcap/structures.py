"""Wire layouts of capture files (pcap, pcapng) and of the link, IP and TCP headers, in construct.

These declarations are the single source of truth for every fixed-size header the capture reader
reads. As in :mod:`dimse_codec.pdu.structures`, the readers never run construct's interpreter:
they use :class:`struct.Struct` objects derived from the declarations by
:func:`dimse_codec._wire.struct_of`, which can also retarget a declaration to the other byte order
(pcap and pcapng headers are written in the byte order of the machine that made the file; network
headers are always big endian).
Bit fields (IPv4 version and header length, TCP data offset and flags) are declared as the whole
bytes that hold them and split by the decoder.
"""

from __future__ import annotations

from construct import (
    Bytes,
    Int8ub,
    Int16ub,
    Int32sb,
    Int32ub,
    Int64sb,
    Struct,
)

__all__ = [
    "ETHERNET_HEADER",
    "IPV4_HEADER",
    "IPV6_EXTENSION_HEADER",
    "IPV6_FRAGMENT_HEADER",
    "IPV6_HEADER",
    "LOOPBACK_FAMILY",
    "PCAPNG_BLOCK_HEADER",
    "PCAPNG_EPB_FIXED",
    "PCAPNG_IDB_FIXED",
    "PCAPNG_OPTION_HEADER",
    "PCAPNG_PB_FIXED",
    "PCAPNG_SHB_FIXED",
    "PCAPNG_SPB_FIXED",
    "PCAP_FILE_HEADER",
    "PCAP_RECORD_HEADER",
    "SLL2_HEADER",
    "SLL_HEADER",
    "TCP_HEADER",
    "VLAN_TAG",
]

# --- classic pcap (draft-ietf-opsawg-pcap) -------------------------------------------------------
# Declared big endian; a file whose magic reads swapped uses struct_of(..., "<").

PCAP_FILE_HEADER = Struct(
    "magic" / Int32ub,
    "version_major" / Int16ub,
    "version_minor" / Int16ub,
    "thiszone" / Int32sb,
    "sigfigs" / Int32ub,
    "snaplen" / Int32ub,
    "linktype" / Int32ub,
)
"""The 24-byte file header: magic (microsecond or nanosecond), version, snap length, link type."""

PCAP_RECORD_HEADER = Struct(
    "ts_seconds" / Int32ub,
    "ts_fraction" / Int32ub,
    "captured_length" / Int32ub,
    "original_length" / Int32ub,
)
"""The 16-byte header of each packet: time (seconds, then µs or ns), captured and wire length."""

# --- pcapng (draft-ietf-opsawg-pcapng) -----------------------------------------------------------

PCAPNG_BLOCK_HEADER = Struct("block_type" / Int32ub, "block_total_length" / Int32ub)
"""Every block starts with its type and its total length (which is repeated at its end)."""

PCAPNG_SHB_FIXED = Struct(
    "byte_order_magic" / Int32ub,
    "version_major" / Int16ub,
    "version_minor" / Int16ub,
    "section_length" / Int64sb,
)
"""Section Header Block body: 0x1A2B3C4D in the section's byte order, version, section length."""

PCAPNG_IDB_FIXED = Struct("linktype" / Int16ub, "reserved" / Int16ub, "snaplen" / Int32ub)
"""Interface Description Block body before its options."""

PCAPNG_OPTION_HEADER = Struct("option_code" / Int16ub, "option_length" / Int16ub)
"""Each option: code and value length (the value is padded to 4 bytes)."""

PCAPNG_EPB_FIXED = Struct(
    "interface_id" / Int32ub,
    "timestamp_high" / Int32ub,
    "timestamp_low" / Int32ub,
    "captured_length" / Int32ub,
    "original_length" / Int32ub,
)
"""Enhanced Packet Block body before the packet data."""

PCAPNG_SPB_FIXED = Struct("original_length" / Int32ub)
"""Simple Packet Block body before the packet data (no interface, no time)."""

PCAPNG_PB_FIXED = Struct(
    "interface_id" / Int16ub,
    "drops_count" / Int16ub,
    "timestamp_high" / Int32ub,
    "timestamp_low" / Int32ub,
    "captured_length" / Int32ub,
    "original_length" / Int32ub,
)
"""Obsolete Packet Block (type 2) body before the packet data."""

# --- link layers ---------------------------------------------------------------------------------

ETHERNET_HEADER = Struct("destination" / Bytes(6), "source" / Bytes(6), "ethertype" / Int16ub)
"""Ethernet II header (DLT_EN10MB)."""

VLAN_TAG = Struct("tci" / Int16ub, "ethertype" / Int16ub)
"""The rest of an 802.1Q / 802.1ad tag after its TPID: tag control, then the next ethertype."""

SLL_HEADER = Struct(
    "packet_type" / Int16ub,
    "arphrd_type" / Int16ub,
    "address_length" / Int16ub,
    "address" / Bytes(8),
    "protocol" / Int16ub,
)
"""Linux cooked capture v1 (DLT_LINUX_SLL, 113)."""

SLL2_HEADER = Struct(
    "protocol" / Int16ub,
    "reserved" / Int16ub,
    "interface_index" / Int32ub,
    "arphrd_type" / Int16ub,
    "packet_type" / Int8ub,
    "address_length" / Int8ub,
    "address" / Bytes(8),
)
"""Linux cooked capture v2 (DLT_LINUX_SLL2, 276)."""

LOOPBACK_FAMILY = Struct("family" / Int32ub)
"""BSD loopback header: an address family (host byte order for DLT_NULL, big endian for LOOP)."""

# --- network and transport -------------------------------------------------------------------

IPV4_HEADER = Struct(
    "version_ihl" / Int8ub,
    "tos" / Int8ub,
    "total_length" / Int16ub,
    "identification" / Int16ub,
    "flags_fragment_offset" / Int16ub,
    "ttl" / Int8ub,
    "protocol" / Int8ub,
    "checksum" / Int16ub,
    "source" / Bytes(4),
    "destination" / Bytes(4),
)
"""IPv4 header without options (RFC 791); the low nibble of the first byte counts 32-bit words."""

IPV6_HEADER = Struct(
    "version_class_flow" / Int32ub,
    "payload_length" / Int16ub,
    "next_header" / Int8ub,
    "hop_limit" / Int8ub,
    "source" / Bytes(16),
    "destination" / Bytes(16),
)
"""IPv6 fixed header (RFC 8200)."""

IPV6_EXTENSION_HEADER = Struct("next_header" / Int8ub, "header_length" / Int8ub)
"""Start of a hop-by-hop, routing or destination-options header (length in 8-byte units - 1)."""

IPV6_FRAGMENT_HEADER = Struct(
    "next_header" / Int8ub,
    "reserved" / Int8ub,
    "offset_flags" / Int16ub,
    "identification" / Int32ub,
)
"""IPv6 Fragment header (offset in the top 13 bits, M flag in the lowest)."""

TCP_HEADER = Struct(
    "source_port" / Int16ub,
    "destination_port" / Int16ub,
    "sequence_number" / Int32ub,
    "acknowledgment_number" / Int32ub,
    "offset_flags" / Int16ub,
    "window" / Int16ub,
    "checksum" / Int16ub,
    "urgent_pointer" / Int16ub,
)
"""TCP header without options (RFC 9293); data offset in the top 4 bits of ``offset_flags``."""
