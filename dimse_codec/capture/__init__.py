"""DICOM over captured TCP: associations and DIMSE messages from a capture file or live bytes.

:func:`decode_capture` reads a pcap or pcapng file (through :mod:`dimse_codec.pcap`, the generic
packet and TCP layer below) and yields records; :class:`CaptureDecoder` does the same for TCP
events fed by hand. Every record is one of :data:`CaptureRecord`: an :class:`AssociationEvent`, a
:class:`CapturedMessage`, a :class:`StreamGap` or a :class:`CaptureProblem`.

    for record in decode_capture("dicom.pcapng"):
        if isinstance(record, CapturedMessage):
            print(record.name, record.response_time_ns)
"""

from dimse_codec import pcap
from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.capture.dicom import (
    AssociationEvent,
    AssociationRecord,
    CaptureDecoder,
    CapturedMessage,
    CaptureProblem,
    CaptureRecord,
    DicomDirection,
    Stall,
    StreamGap,
    decode_capture,
)

__all__ = [
    "AssociationEvent",
    "AssociationRecord",
    "CaptureDecoder",
    "CaptureProblem",
    "CaptureRecord",
    "CapturedMessage",
    "DicomDirection",
    "Stall",
    "StreamGap",
    "decode_capture",
]

_MOVED = [
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
    "link_type_name",
    "read_packets",
]
"""The packet and TCP names this face exported before they moved to :mod:`dimse_codec.pcap`
(names added to ``pcap`` since were never here, so they get no alias)."""

__getattr__ = deprecated_aliases(
    __name__,
    {name: (f"dimse_codec.pcap.{name}", getattr(pcap, name)) for name in _MOVED}
    | {
        "Record": ("dimse_codec.pcap.PacketRecord", pcap.PacketRecord),
        "Event": ("dimse_codec.pcap.TcpEvent", pcap.TcpEvent),
    },
)
