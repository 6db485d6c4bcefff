"""The inputs of ``decode`` and ``report``: files, folders of captures and standard input.

What the CAPTURE arguments name becomes one :data:`~dimse_codec.pcap.CaptureSources` (folders
expanded to the captures in them, ``-`` read as it arrives), decoded by
:func:`decode_records`; :class:`Progress` shows how far reading got on a terminal.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from dimse_codec.capture import (
    CaptureRecord,
    decode_capture,
)
from dimse_codec.capture.dicom import DEFAULT_STALL_THRESHOLD_NS
from dimse_codec.pcap import (
    CaptureSource,
    CaptureSources,
    is_capture_file,
)
from dimse_codec.pcap.tcp import IDLE_TIMEOUT, MAX_CONNECTIONS
from dimse_codec.policy import LENIENT, STRICT

__all__ = ["CaptureInputError", "Progress", "capture_sources", "decode_records"]

_PROGRESS_EVERY = 0.5


class Progress:
    """Frames read so far on stderr, at most every half second, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.last = time.monotonic()
        self.shown = False

    def update(self, frame: int) -> None:
        """Show ``frame`` if half a second passed since the last update."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= _PROGRESS_EVERY:
            self.last = now
            self.shown = True
            self.stream.write(f"\rdecode: {frame} frames read")
            self.stream.flush()

    def clear(self) -> None:
        """Erase the progress line before anything else is written to stderr."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


class CaptureInputError(Exception):
    """An input named on the command line that cannot be read as captures (a usage error)."""


class _Stdin:
    """Standard input as a capture stream, read as it arrives (a pipe from ``tcpdump -w -``).

    Each read takes what the pipe holds now, never waiting for a full buffer, and flushes
    stdout first: every record of the packets received so far is out before decode waits for
    the next ones."""

    name = "standard input"

    def __init__(self, out: TextIO) -> None:
        self._out = out
        stdin = sys.stdin.buffer
        self._read: Callable[[int], bytes] = getattr(stdin, "read1", stdin.read)

    def read1(self, size: int = -1, /) -> bytes:
        """What standard input holds now (at most ``size`` bytes), stdout flushed first."""
        self._out.flush()
        return self._read(size)

    read = read1


def _stdin_source(out: TextIO) -> CaptureSource:
    """Standard input: read in place when it is a file (``< x.pcap``), else as a live stream."""
    if sys.stdin is None or sys.stdin.isatty():
        raise CaptureInputError("standard input is a terminal: pipe a capture into it (- reads it)")
    try:
        regular = stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no descriptor behind it (tests, embedding)
        regular = False
    return sys.stdin.buffer if regular else _Stdin(out)


def _folder(path: Path) -> list[CaptureSource]:
    """The captures in a folder and its subfolders, by name; files that are not captures (by
    their first bytes: pcap, pcapng, either gzip-compressed) are left out and counted on stderr."""
    found: list[CaptureSource] = []
    others = 0
    for root, folders, files in os.walk(path):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if is_capture_file(Path(root, name)):
                found.append(str(Path(root, name)))
            else:
                others += 1
    if not found:
        raise CaptureInputError(f"{path}: no pcap or pcapng capture in this folder")
    if others:
        print(f"decode: {path}: {others} file(s) that are not captures left out", file=sys.stderr)
    return found


def _room_for(files: int) -> None:
    """Raise the soft limit on open files toward the hard one when ``files`` inputs need it:
    the merge keeps each input open while it reads (a day of ``tcpdump -G 60`` is 1,440)."""
    try:
        import resource
    except ImportError:  # not on this platform: the system's limit stands
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = files + 64  # and what the process has open besides
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    raised = want if hard == resource.RLIM_INFINITY else min(want, hard)
    with contextlib.suppress(ValueError, OSError):  # refused: past it, one clean error
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))


def capture_sources(names: list[str], out: TextIO = sys.stdout) -> CaptureSources:
    """What ``decode`` reads for its CAPTURE arguments: a file, ``-`` (standard input), or
    several, folders expanded to the captures in them (read together, in time order)."""
    sources: list[CaptureSource] = []
    if names.count("-") > 1:
        raise CaptureInputError("- (standard input) can be named once")
    for name in names:
        if name == "-":
            sources.append(_stdin_source(out))
        elif Path(name).is_dir():
            sources.extend(_folder(Path(name)))
        else:
            sources.append(name)
    if len(sources) == 1:
        return sources[0]
    _room_for(len(sources))
    return sources


def decode_records(
    path: CaptureSources,
    *,
    port: int | None,
    strict: bool,
    progress: Progress | None = None,
    idle_timeout: float | None = IDLE_TIMEOUT,
    max_connections: int | None = MAX_CONNECTIONS,
    stall_threshold_ns: int | None = DEFAULT_STALL_THRESHOLD_NS,
) -> Iterator[CaptureRecord]:
    """Yield the records of the capture(s) at ``path`` (a truncated file ends with a problem)."""
    return decode_capture(
        path,
        port=port,
        policy=STRICT if strict else LENIENT,
        on_frame=None if progress is None else progress.update,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        stall_threshold_ns=stall_threshold_ns,
    )
