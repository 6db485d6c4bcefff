"""Captures to TCP byte streams: pcap/pcapng records, IP/TCP decoding and per-direction reassembly.

A generic packet library that knows nothing of DICOM, the lower half of capture decoding
(:mod:`dimse_codec.capture` is the DICOM half on top of it). Sans-I/O above the file reader:
:func:`read_packets` (or a :class:`CaptureReader`, which also keeps notes, statistics and
truncation) turns a pcap or pcapng file into :class:`Packet` values, and a
:class:`TcpReassembler` fed those packets returns events carrying each direction's bytes in
order, with gaps where the capture lost bytes.

    reassembler = TcpReassembler()
    with CaptureReader("dicom.pcapng") as reader:
        for packet in reader:
            for event in reassembler.feed(packet):
                ...
    for event in reassembler.finish():
        ...
"""

from dimse_codec.pcap.errors import (
    CaptureError,
    CaptureLimitExceeded,
    CaptureTruncated,
    NotACaptureFile,
    UnsupportedLinkType,
)
from dimse_codec.pcap.packets import (
    SUPPORTED_LINK_TYPES,
    LinkType,
    NoteKind,
    Packet,
    TcpFlags,
    link_type_name,
)
from dimse_codec.pcap.reader import (
    DEFAULT_MAX_RECORD_LENGTH,
    BinaryReadable,
    CaptureNote,
    CaptureReader,
    CaptureSource,
    CaptureSources,
    CaptureStats,
    Interface,
    PacketRecord,
    Truncation,
    UnsupportedInterface,
    is_capture_file,
    looks_like_capture,
    read_packets,
)
from dimse_codec.pcap.tcp import (
    CloseReason,
    Connection,
    ConnectionClosed,
    ConnectionOpened,
    Direction,
    Endpoint,
    Gap,
    GapReason,
    LateSegment,
    ReassemblyStats,
    ResetIgnored,
    RetransmissionMismatch,
    StreamData,
    StreamEnded,
    TcpEvent,
    TcpReassembler,
)

__all__ = [
    "DEFAULT_MAX_RECORD_LENGTH",
    "SUPPORTED_LINK_TYPES",
    "BinaryReadable",
    "CaptureError",
    "CaptureLimitExceeded",
    "CaptureNote",
    "CaptureReader",
    "CaptureSource",
    "CaptureSources",
    "CaptureStats",
    "CaptureTruncated",
    "CloseReason",
    "Connection",
    "ConnectionClosed",
    "ConnectionOpened",
    "Direction",
    "Endpoint",
    "Gap",
    "GapReason",
    "Interface",
    "LateSegment",
    "LinkType",
    "NotACaptureFile",
    "NoteKind",
    "Packet",
    "PacketRecord",
    "ReassemblyStats",
    "ResetIgnored",
    "RetransmissionMismatch",
    "StreamData",
    "StreamEnded",
    "TcpEvent",
    "TcpFlags",
    "TcpReassembler",
    "Truncation",
    "UnsupportedInterface",
    "UnsupportedLinkType",
    "is_capture_file",
    "link_type_name",
    "looks_like_capture",
    "read_packets",
]
