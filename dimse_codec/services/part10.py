"""Part-10 files as C-STORE sends and receives them: the File Meta Information read and written.

A file is 128 bytes of preamble, ``DICM`` and group 0002 in Explicit VR Little Endian (PS3.10
7.1), then the data set in the transfer syntax the meta names. Sending a file needs only three
UIDs of the meta and the data set bytes as stored, so the meta is read here from the bytes
themselves: no pydicom parse per file, and the data set is a view of the file's buffer, never a
copy. Writing one puts a meta in front of a data set received as it was carried.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from dimse_codec.association import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from dimse_codec.dataset import DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
from dimse_codec.errors import DecodeError, TruncatedError

__all__ = [
    "PREFIX_LENGTH",
    "FileMeta",
    "Instance",
    "file_meta",
    "parse_file_meta",
    "read_file_meta",
    "read_instance",
]

PREFIX_LENGTH = 132
"""The preamble (128 bytes) and the ``DICM`` prefix before group 0002 (PS3.10 7.1)."""
_LONG_VRS = frozenset(
    (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")
)
"""VRs with a 2-byte reserved field and a 4-byte length in Explicit VR (PS3.5 7.1.2)."""
_HEAD = struct.Struct("<HH2sH")
_LONG_LENGTH = struct.Struct("<I")
_KEYWORDS = {0x0002: "MediaStorageSOPClassUID", 0x0003: "MediaStorageSOPInstanceUID"}
_TRANSFER_SYNTAX = 0x0010
_FIRST_READ = 4096
"""Bytes read first from a file for its meta; a longer meta (rare) is read on."""


@dataclass(frozen=True, slots=True)
class FileMeta:
    """What C-STORE needs of a file's meta (PS3.10 7.1), and where its data set starts."""

    sop_class: str
    sop_instance: str
    transfer_syntax: str
    dataset_offset: int
    """Offset of the data set in the file: the end of group 0002."""


@dataclass(frozen=True, slots=True)
class Instance:
    """A Part-10 file as C-STORE sends it: the UIDs of its meta and its data set bytes as stored.

    ``data`` is the file's data set exactly as written after the File Meta Information (a
    ``memoryview`` of the file's buffer when read by :func:`read_instance`), so it travels byte
    for byte in ``transfer_syntax``, compressed ones included; a deflated stream of odd length
    gets the one trailing NULL byte PS3.5 A.5 requires (some writers leave it out).
    """

    sop_class: str
    sop_instance: str
    transfer_syntax: str
    data: bytes | memoryview


def _uid(value: bytes | memoryview) -> str:
    return bytes(value).rstrip(b"\x00 ").decode("ascii", "replace")


def parse_file_meta(buffer: bytes | bytearray | memoryview) -> FileMeta:
    """Read the meta at the start of a Part-10 file's bytes (group 0002 elements in order).

    Raises :class:`~dimse_codec.errors.TruncatedError` when ``buffer`` ends inside the meta
    (read more of the file and call again) and :class:`~dimse_codec.errors.DecodeError` when it
    is not a Part-10 file or its meta lacks a UID C-STORE needs; both give the byte offset.
    """
    view = memoryview(buffer)
    if len(view) < PREFIX_LENGTH:
        raise TruncatedError("the file ends before its DICM prefix", offset=len(view))
    if bytes(view[128:PREFIX_LENGTH]) != b"DICM":
        raise DecodeError("not a Part-10 file: no DICM prefix at byte 128", offset=128)
    found: dict[str, str] = {}
    offset = PREFIX_LENGTH
    while True:
        if offset + 4 > len(view):
            if offset == len(view) and "TransferSyntaxUID" in found:
                break  # a file that is all meta: its data set is empty
            raise TruncatedError("the File Meta Information is cut short", offset=offset)
        group = view[offset] | view[offset + 1] << 8
        if group != 0x0002:
            break
        if offset + _HEAD.size > len(view):
            raise TruncatedError("an element header of group 0002 is cut short", offset=offset)
        _, element, vr, length = _HEAD.unpack_from(view, offset)
        start = offset + _HEAD.size
        if vr in _LONG_VRS:
            if start + 4 > len(view):
                raise TruncatedError("an element header of group 0002 is cut short", offset=offset)
            (length,) = _LONG_LENGTH.unpack_from(view, start)
            start += 4
        end = start + length
        if end > len(view):
            raise TruncatedError(
                f"(0002,{element:04X}) declares {length} bytes past the end", offset=offset
            )
        if element in _KEYWORDS:
            found[_KEYWORDS[element]] = _uid(view[start:end])
        elif element == _TRANSFER_SYNTAX:
            found["TransferSyntaxUID"] = _uid(view[start:end])
        offset = end
    for keyword in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", "TransferSyntaxUID"):
        if not found.get(keyword):
            raise DecodeError(
                f"the File Meta Information has no {keyword}", offset=offset, path=keyword
            )
    return FileMeta(
        found["MediaStorageSOPClassUID"],
        found["MediaStorageSOPInstanceUID"],
        found["TransferSyntaxUID"],
        offset,
    )


def read_file_meta(path: str | Path) -> FileMeta:
    """The meta of a Part-10 file, reading only as much of it as the meta takes."""
    with open(path, "rb") as handle:
        head = handle.read(_FIRST_READ)
        while True:
            try:
                return parse_file_meta(head)
            except TruncatedError:
                more = handle.read(max(len(head), _FIRST_READ))
                if not more:
                    raise
                head += more


def read_instance(path: str | Path) -> Instance:
    """Read a Part-10 file once: its meta's UIDs and a view of the data set that follows it."""
    with open(path, "rb") as handle:
        view = memoryview(handle.read())  # one copy from the page cache; slices are views
    meta = parse_file_meta(view)
    data: bytes | memoryview = view[meta.dataset_offset :]
    if meta.transfer_syntax == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid and len(data) % 2:
        data = bytes(data) + b"\x00"  # PS3.5 A.5: an odd deflated stream takes one NULL byte
    return Instance(meta.sop_class, meta.sop_instance, meta.transfer_syntax, data)


def _element(tag: int, vr: str, value: bytes) -> bytes:
    """One group 0002 element in Explicit VR Little Endian (``value`` already padded)."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode("ascii")
    if vr.encode("ascii") in _LONG_VRS:
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _padded(text: str, pad: bytes) -> bytes:
    raw = text.encode("ascii", "replace")
    return raw + pad if len(raw) % 2 else raw


def file_meta(
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax: str,
    ae_title: str | None = None,
) -> bytes:
    """The 128-byte preamble, ``DICM`` and the File Meta Information (PS3.10 7.1).

    Group 0002 in Explicit VR Little Endian with its group length, bare UIDs padded with NUL,
    other strings with a space; (0002,0016) only when the sender's AE title is known.
    """
    body = _element(0x00020001, "OB", b"\x00\x01")
    body += _element(0x00020002, "UI", _padded(sop_class_uid, b"\x00"))
    body += _element(0x00020003, "UI", _padded(sop_instance_uid, b"\x00"))
    body += _element(0x00020010, "UI", _padded(transfer_syntax, b"\x00"))
    body += _element(0x00020012, "UI", _padded(IMPLEMENTATION_CLASS_UID, b"\x00"))
    body += _element(0x00020013, "SH", _padded(IMPLEMENTATION_VERSION_NAME, b" "))
    if ae_title:
        body += _element(0x00020016, "AE", _padded(ae_title.strip(), b" "))
    group_length = _element(0x00020000, "UL", struct.pack("<I", len(body)))
    return b"\x00" * 128 + b"DICM" + group_length + body
