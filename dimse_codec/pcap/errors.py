"""Errors of the capture reader, all inside the library's :class:`DecodeError` family.

Catching :class:`~dimse_codec.errors.DimseCodecError` (or :class:`CaptureError`) catches every
way a capture file can fail to read; ``offset`` is the byte offset in the file.
"""

from __future__ import annotations

from dimse_codec.errors import DecodeError, LimitExceeded, TruncatedError

__all__ = [
    "CaptureError",
    "CaptureLimitExceeded",
    "CaptureTruncated",
    "NotACaptureFile",
    "UnsupportedLinkType",
]


class CaptureError(DecodeError):
    """A capture file (or a record in it) that cannot be read as pcap or pcapng."""


class NotACaptureFile(CaptureError):
    """The input does not start like a pcap or pcapng file (or is empty or compressed)."""


class CaptureTruncated(CaptureError, TruncatedError):
    """The file ends inside a header or a record (the records before it were read)."""


class CaptureLimitExceeded(CaptureError, LimitExceeded):
    """A declared record or block length is beyond the reader's cap (refused before reading)."""


class UnsupportedLinkType(CaptureError):
    """Packets of a link-layer type the reader cannot decode down to IP; ``link_type`` names it."""

    def __init__(self, link_type: int, name: str, *, offset: int | None = None) -> None:
        self.link_type = link_type
        self.link_name = name
        super().__init__(
            f"unsupported link type {link_type} ({name}): only Ethernet, Linux cooked (SLL, "
            "SLL2), BSD loopback and raw IPv4/IPv6 captures can be decoded to TCP",
            offset=offset,
            path="capture > link type",
            code="UNSUPPORTED_LINK_TYPE",
        )
