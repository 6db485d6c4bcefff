"""What reading a capture tells besides its packets: interfaces, raw records, notes on what was
skipped, where a cut file ended, and counters (the values :class:`CaptureReader` keeps)."""

from __future__ import annotations

from dataclasses import dataclass

from dimse_codec.pcap.errors import (
    CaptureTruncated,
)
from dimse_codec.pcap.packets import (
    NoteKind,
    link_type_name,
)

__all__ = [
    "CaptureNote",
    "CaptureStats",
    "Interface",
    "PacketRecord",
    "Truncation",
    "UnsupportedInterface",
]


@dataclass(frozen=True, slots=True)
class Interface:
    """A capture interface: its link type, snap length, name and time resolution.

    ``tsresol`` is the pcapng if_tsresol byte (6: microseconds, 9: nanoseconds, high bit set: a
    power of two) and ``tsoffset`` the if_tsoffset seconds added to every time.
    """

    index: int
    link_type: int
    snaplen: int
    name: str | None = None
    tsresol: int = 6
    tsoffset: int = 0


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """One packet record of the file, before any link-layer decoding (``data`` is a view)."""

    frame: int
    time_ns: int | None
    interface: int
    link_type: int
    data: memoryview
    original_length: int
    offset: int

    @property
    def time(self) -> float | None:
        """Seconds since the epoch, as a float (``time_ns`` holds the exact value)."""
        return None if self.time_ns is None else self.time_ns / 1e9


@dataclass(frozen=True, slots=True)
class Truncation:
    """Where the file ended inside a header or record; every record before it was read."""

    offset: int
    needed: int
    available: int
    frames_read: int
    what: str
    source: str | None = None
    """Which source was cut, when a reader reads several (``offset`` and ``frames_read`` are
    that source's own)."""

    @property
    def message(self) -> str:
        """A sentence for users."""
        return (
            f"{'' if self.source is None else self.source + ': '}"
            f"capture truncated inside a {self.what}: {self.needed} bytes needed, "
            f"{self.available} present, after {self.frames_read} complete frames"
        )

    def error(self) -> CaptureTruncated:
        """The same as an exception, for callers that want truncation to fail."""
        return CaptureTruncated(self.message, offset=self.offset, path="capture", code="TRUNCATED")


@dataclass(frozen=True, slots=True)
class CaptureNote:
    """Something worth telling about a frame or a block (a skipped fragment, a bad option...)."""

    kind: NoteKind
    message: str
    frame: int | None
    offset: int | None


@dataclass(slots=True)
class UnsupportedInterface:
    """The packets of one interface skipped because its link type is not decoded down to IP.

    Kept by a reader told to ``skip_unsupported_link_types``: one per interface, so a consumer
    can report each skipped interface once with its count instead of once per packet.
    """

    interface: int
    link_type: int
    packets: int
    first_frame: int
    last_frame: int
    offset: int
    """The file offset of the first packet skipped."""

    @property
    def link_name(self) -> str:
        """The link type's name (``IEEE802_11``...), or ``unknown``."""
        return link_type_name(self.link_type)


@dataclass(slots=True)
class CaptureStats:
    """Counters of what the reader met (complete once the reading has ended)."""

    frames: int = 0
    tcp_packets: int = 0
    not_ip: int = 0
    not_tcp: int = 0
    skipped: int = 0  # fragments, malformed or cut headers, unknown interfaces or link types
    fragments: int = 0  # frames that held an IP fragment (reassembled or reported)
    reassembled: int = 0  # IP datagrams rebuilt from fragments
