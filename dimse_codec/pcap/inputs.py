"""Where a capture's bytes come from: a mapped file, bytes, a stream read in chunks, gzip.

A path (or a regular file object) is memory-mapped, so a record's bytes are a view into the
mapping and nothing is copied; other file objects (pipes, compressed streams) are read in chunks
of :data:`CHUNK_SIZE`, gzip decompressed as it is read. An :class:`_Input` holds one source's
bytes for the format readers (:mod:`dimse_codec.pcap.formats`) and knows how far reading got.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import stat
import sys
import zlib
from collections.abc import Generator, Sequence
from typing import IO, Literal, Protocol

from dimse_codec._wire import ByteOrder, byte_view
from dimse_codec.pcap.errors import (
    CaptureError,
)

__all__ = [
    "CHUNK_SIZE",
    "MARK_STEP",
    "RELEASE_STEP",
    "BinaryReadable",
    "CaptureSource",
    "CaptureSources",
]


class BinaryReadable(Protocol):
    """Anything with a binary ``read`` (an open file, ``io.BytesIO``, ``gzip.open(...)``...)."""

    def read(self, size: int = ..., /) -> bytes: ...


CaptureSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryReadable
"""A capture: a path, a binary file object, or its bytes (gzip-compressed or not)."""

CaptureSources = CaptureSource | Sequence[CaptureSource]
"""One capture, or several (a list or tuple) read as one, their packets merged in time order."""

CHUNK_SIZE = 1 << 20
"""Bytes read at a time from a file object that cannot be memory-mapped."""

RELEASE_STEP = 8 << 20
"""Bytes of a memory-mapped capture read past before their pages are handed back to the kernel.

A mapped file's pages count in the process's resident memory once touched. Each time reading
has moved on by this much, the pages behind it are released (``MADV_DONTNEED``): the mapping is
read-only and backed by the file, so a view still held into them (a buffered segment, a data
set fragment) reads the same bytes again from the page cache. Peak memory then follows the
largest message in flight, not the size of the file.
"""

MARK_STEP = 64 << 10
"""Bytes read past in a mapped capture or in-memory bytes before the position that
:meth:`CaptureReader.position` gives is moved on: the reading loop's one check per record
(the one that releases mapped pages) moves it, so knowing how far reading got costs nothing
per packet, and the position is at most this far behind."""

_GZIP_MAGIC = b"\x1f\x8b"


def _sources(source: CaptureSources | None) -> list[CaptureSource]:
    """The captures a reader reads: none (it is fed), one, or each of a list or tuple."""
    if source is None:
        return []
    if isinstance(source, (list, tuple)):
        if not source:
            raise ValueError("no capture to read: the list of sources is empty")
        return list(source)
    return [source]  # type: ignore[list-item]


def _read_some(stream: BinaryReadable) -> bytes:
    """What the stream has now, at most :data:`CHUNK_SIZE` bytes (``b""`` at its end).

    ``read1`` returns as soon as a pipe holds some bytes instead of waiting for a full chunk,
    so a live capture (``tcpdump -w - | ...``) is decoded as its packets arrive.
    """
    read1 = getattr(stream, "read1", None)
    return bytes(read1(CHUNK_SIZE) if callable(read1) else stream.read(CHUNK_SIZE))


class _Gunzip:
    """A gzip stream decompressed as it is read, at most a chunk at a time, so a compressed
    capture is never held whole in memory; concatenated members are read one after another
    (as ``gzip`` does) and zero padding after the last one is ignored."""

    def __init__(self, stream: BinaryReadable, head: bytes = b"") -> None:
        self._stream = stream
        self._waiting = head
        self._zlib = zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer
        self.consumed = len(head)
        """Compressed bytes read so far (``head`` included): how far into the file it got."""

    def read1(self, size: int = CHUNK_SIZE, /) -> bytes:
        """Up to ``size`` decompressed bytes of what the stream has now; ``b""`` at its end."""
        while True:
            if self._zlib.unconsumed_tail:
                data = self._zlib.unconsumed_tail
            elif self._waiting:
                data, self._waiting = self._waiting, b""
            else:
                data = _read_some(self._stream)
                if not data:
                    return b""
                self.consumed += len(data)
            try:
                out = self._zlib.decompress(data, size)
            except zlib.error as exc:
                raise CaptureError(
                    f"gzip-compressed data is corrupt: {exc}", path="capture > gzip"
                ) from None
            if self._zlib.eof:  # a member ended: another may follow
                rest = self._zlib.unused_data
                self._zlib = zlib.decompressobj(wbits=31)
                self._waiting = rest if rest.strip(b"\0") else b""
            if out:
                return out

    read = read1

    def close(self) -> None:
        """Close the compressed stream under it."""
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()


class _Input:
    """A capture's bytes: one buffer (a memory map or given bytes), or bytes that arrive in
    pieces (fed by hand, or read from a stream by the reader); and what its header said."""

    __slots__ = (
        "_file",
        "_mmap",
        "_parent",
        "_released",
        "base",
        "data",
        "eof",
        "format",
        "interface",
        "label",
        "mark",
        "nanoseconds",
        "order",
        "pending",
        "pending_size",
        "received",
        "release_at",
        "size",
        "stream",
        "view",
    )

    def __init__(
        self,
        data: bytes | memoryview,
        *,
        stream: BinaryReadable | None = None,
        mapping: mmap.mmap | None = None,
        parent: memoryview | None = None,
        owned: IO[bytes] | _Gunzip | None = None,
        base: int = 0,
        fed: bool = False,
        size: int | None = None,
    ) -> None:
        self.data = data
        self.view = data if isinstance(data, memoryview) else memoryview(data)
        self.stream = stream
        self.eof = stream is None and not fed
        self.base = base
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.format: Literal["pcap", "pcapng"] | None = None
        """Set once the file header is read."""
        self.order: ByteOrder = ">"
        self.nanoseconds = False
        self.interface = 0
        """A pcap file's one interface, as numbered among every input's."""
        self.label = "capture"
        self._mmap = mapping
        self._parent = parent
        self._file = owned
        self._released = 0
        self.size = size
        """The source's size in bytes when known (a file, bytes), else None (a pipe)."""
        self.mark = base
        """How far reading got in a fixed buffer, moved on by :meth:`release`."""
        self.received = 0
        """Bytes that arrived in pieces so far (read from a stream, or fed)."""
        self.release_at = MARK_STEP if stream is None and not fed else sys.maxsize
        """The index into ``data`` past which :meth:`release` moves :attr:`mark` on (and has
        mapped pages to hand back): only a fixed buffer has one, its indexes never move."""

    def release(self, pos: int) -> None:
        """Note that reading got to ``pos``; hand the kernel back the mapped pages before it
        once :data:`RELEASE_STEP` bytes were read since the last time."""
        self.mark = self.base + pos
        self.release_at = pos + MARK_STEP
        if self._mmap is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        upto = self.mark // mmap.PAGESIZE * mmap.PAGESIZE
        if upto - self._released >= RELEASE_STEP:
            with contextlib.suppress(OSError, ValueError):
                self._mmap.madvise(mmap.MADV_DONTNEED, self._released, upto - self._released)
            self._released = upto

    @property
    def position(self) -> int:
        """How many bytes of the source were read: compressed ones for a gzip stream."""
        if isinstance(self.stream, _Gunzip):
            return self.stream.consumed
        return self.received if self.stream is not None else self.mark

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Keep bytes that arrived; :meth:`more` joins them to the buffer once they are needed."""
        if self.eof:
            raise RuntimeError("bytes fed after the end of the capture")
        if data:
            self.pending.append(bytes(data))
            self.pending_size += len(data)
            self.received += len(data)

    def pull(self) -> None:
        """Read what the stream has now (the reader's I/O edge); its end ends the input."""
        chunk = b"" if self.stream is None else _read_some(self.stream)
        if chunk:
            self.feed(chunk)
        else:
            self.eof = True

    def more(self, pos: int, need: int) -> int:
        """Make ``need`` bytes from ``pos`` one buffer when the bytes fed so far hold them (or no
        more will come); returns ``pos``'s new index (the unread tail moves to the front). Until
        then the pieces are only kept, so a record that arrives in many pieces is joined once,
        and what is allocated follows what arrived, never a declared length."""
        if not self.pending:
            return pos
        have = len(self.data) - pos
        if have + self.pending_size < need and not self.eof:
            return pos
        parts: list[bytes | memoryview] = [self.view[pos:]] if have > 0 else []
        parts += self.pending
        self.pending = []
        self.pending_size = 0
        self.base += pos
        self.data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.view = memoryview(self.data)
        return 0

    def close(self) -> None:
        self.view = memoryview(b"")
        self.data = b""
        self.pending = []
        if self._parent is not None:
            self._parent.release()
        if self._mmap is not None:
            # packets may still hold views: then the mapping goes when the last one does
            with contextlib.suppress(BufferError):
                self._mmap.close()
        if self._file is not None:
            self._file.close()


def _wait(inp: _Input, pos: int, need: int) -> Generator[None, None, int]:
    """Yield ``None`` (more bytes wanted) until ``need`` bytes from ``pos`` are present or the
    input has ended; return ``pos``'s new index."""
    pos = inp.more(pos, need)
    while len(inp.data) - pos < need and not inp.eof:
        yield None
        pos = inp.more(pos, need)
    return pos


def _label(source: object, index: int) -> str:
    """How messages name one of several inputs: its path or file name, else its position."""
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"input {index + 1}"


def _open_input(source: CaptureSource) -> _Input:
    """Map a path or a regular file; wrap bytes; read any other file object as a stream.

    Gzip-compressed data (known by its magic bytes, whatever the name) is read as a stream
    through :class:`_Gunzip`.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = byte_view(source, "source")
        if data[:2] == _GZIP_MAGIC:
            stream = _Gunzip(io.BytesIO(data))
            return _Input(b"", stream=stream, size=len(data))
        return _Input(data, size=len(data))
    if isinstance(source, (str, os.PathLike)):
        handle: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below or by _Input
        head = handle.read(2)
        try:
            handle.seek(0)
        except OSError:  # not seekable (a named pipe): a stream, from the bytes just read
            return _stream_input(handle, head, owned=handle)
        if head == _GZIP_MAGIC:
            gunzip = _Gunzip(handle)
            return _Input(b"", stream=gunzip, owned=gunzip, size=_file_size(handle))
        mapped = _try_map(handle)
        if mapped is None:
            return _Input(b"", stream=handle, owned=handle, size=_file_size(handle))
        handle.close()
        return mapped
    if not callable(getattr(source, "read", None)):
        raise TypeError(
            f"a capture is a path, a binary file object or bytes, not {type(source).__name__}"
        )
    mapped = _try_map(source)
    if mapped is not None:
        if mapped.data[:2] != _GZIP_MAGIC:
            return mapped
        mapped.close()  # a compressed file: read it as a stream (mapping did not move it)
    return _stream_input(source, _read_some(source), owned=None, size=_file_size(source))


def _file_size(handle: object) -> int | None:
    """The size of the regular file behind ``handle``, or None (a pipe, no descriptor)."""
    try:
        status = os.fstat(handle.fileno())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _stream_input(
    stream: BinaryReadable, head: bytes, *, owned: IO[bytes] | None, size: int | None = None
) -> _Input:
    """A stream whose first bytes ``head`` were read already: decompressed if they say gzip."""
    while 0 < len(head) < len(_GZIP_MAGIC):  # a stream that gives a byte at a time
        more = _read_some(stream)
        if not more:
            break
        head += more
    if head[:2] == _GZIP_MAGIC:
        gunzip = _Gunzip(stream, head)
        owner = gunzip if owned is not None else None
        return _Input(b"", stream=gunzip, owned=owner, size=size)
    inp = _Input(b"", stream=stream, owned=owned, size=size)
    inp.feed(head)
    if not head:
        inp.eof = True
    return inp


def _try_map(handle: BinaryReadable) -> _Input | None:
    """Map what ``open(path, "rb")`` returns; anything else (a gzip.GzipFile has a fileno()
    too, of its compressed file) is read as a stream."""
    if not isinstance(handle, (io.BufferedReader, io.BufferedRandom, io.FileIO)):
        return None
    try:
        descriptor = handle.fileno()
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return None
        start = handle.tell()
        if status.st_size <= start:
            return _Input(b"", size=status.st_size)
        mapping = mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):
        return None
    if hasattr(mapping, "madvise") and hasattr(mmap, "MADV_SEQUENTIAL"):
        with contextlib.suppress(OSError):
            mapping.madvise(mmap.MADV_SEQUENTIAL)
    parent = memoryview(mapping)
    return _Input(parent[start:], mapping=mapping, parent=parent, base=start, size=status.st_size)
