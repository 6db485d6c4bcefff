"""Captures to TCP byte streams: pcap/pcapng records, IP/TCP decoding and per-direction reassembly.

The lower half of capture decoding, sans-I/O above the file reader: :func:`read_packets` (or a
:class:`CaptureReader`, which also keeps notes, statistics and truncation) turns a pcap or pcapng
file into :class:`Packet` values, and a :class:`TcpReassembler` fed those packets returns events
carrying each direction's bytes in order, with gaps where the capture lost bytes.

    reassembler = TcpReassembler()
    with CaptureReader("dicom.pcapng") as reader:
        for packet in reader:
            for event in reassembler.feed(packet):
                ...
    for event in reassembler.finish():
        ...
"""

from dimse_codec.capture.errors import (
    CaptureError,
    CaptureLimitExceeded,
    CaptureTruncated,
    NotACaptureFile,
    UnsupportedLinkType,
)
from dimse_codec.capture.packets import (
    SUPPORTED_LINK_TYPES,
    LinkType,
    NoteKind,
    Packet,
    TcpFlags,
    link_type_name,
)
from dimse_codec.capture.reader import (
    DEFAULT_MAX_RECORD_LENGTH,
    BinaryReadable,
    CaptureNote,
    CaptureReader,
    CaptureSource,
    CaptureStats,
    Interface,
    Record,
    Truncation,
    read_packets,
)
from dimse_codec.capture.tcp import (
    CloseReason,
    Connection,
    ConnectionClosed,
    ConnectionOpened,
    Direction,
    Endpoint,
    Event,
    Gap,
    GapReason,
    ReassemblyStats,
    RetransmissionMismatch,
    StreamData,
    StreamEnded,
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
    "CaptureStats",
    "CaptureTruncated",
    "CloseReason",
    "Connection",
    "ConnectionClosed",
    "ConnectionOpened",
    "Direction",
    "Endpoint",
    "Event",
    "Gap",
    "GapReason",
    "Interface",
    "LinkType",
    "NotACaptureFile",
    "NoteKind",
    "Packet",
    "ReassemblyStats",
    "Record",
    "RetransmissionMismatch",
    "StreamData",
    "StreamEnded",
    "TcpFlags",
    "TcpReassembler",
    "Truncation",
    "UnsupportedLinkType",
    "link_type_name",
    "read_packets",
]
