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
from dimse_codec.capture.traffic import TrafficSeen
from dimse_codec.pcap import (
    CaptureSource,
    CaptureSources,
    is_capture_file,
)
from dimse_codec.pcap.tcp import IDLE_TIMEOUT, MAX_CONNECTIONS
from dimse_codec.policy import LENIENT, STRICT

__all__ = ["CaptureInputError", "Progress", "capture_sources", "decode_records"]

_PROGRESS_EVERY = 0.5


def _size(count: float) -> str:
    """``count`` bytes in decimal units, two or three figures: ``512 kB``, ``1.2 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 999.5 or unit == "TB":
            break
        count /= 1000
    return f"{count:.1f} {unit}" if unit != "B" and count < 9.95 else f"{count:.0f} {unit}"


def _duration(seconds: float) -> str:
    """A time left, as coarse as it is useful: ``19 s``, ``3 min 5 s``, ``2 h 10 min``."""
    whole = max(1, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


class Progress:
    """How far reading the capture got, on stderr, rewritten at most every half second.

    Shown only when stderr is a terminal and ``output`` (where the records go) is not one:
    records scrolling on the terminal show the progress themselves and would be torn by the
    line. The line says what is known and no more: a percentage, the bytes of the total, the
    rate and the time left when the inputs' sizes are (files; several inputs by the total of
    their sizes), only the bytes read and the rate from a pipe; for a gzip-compressed file,
    bytes of the compressed file. :meth:`clear` erases it before anything else is written.
    """

    def __init__(self, stream: TextIO, output: TextIO | None = None, name: str = "decode") -> None:
        self.stream = stream
        self.name = name
        self.enabled = _is_terminal(stream) and (output is None or not _is_terminal(output))
        self.started = time.monotonic()
        self.last = self.started
        self.shown = False

    @property
    def on_progress(self) -> Callable[[int, int, int | None], None] | None:
        """What ``decode_capture`` calls with its progress, or None when nothing is shown (then
        the decoder does not even ask)."""
        return self.update if self.enabled else None

    def update(self, frame: int, done: int, total: int | None) -> None:
        """Show frame ``frame`` and ``done`` bytes read of ``total``, if half a second passed."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < _PROGRESS_EVERY:
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r{self.line(frame, done, total, now - self.started)}\033[K")
        self.stream.flush()

    def line(self, frame: int, done: int, total: int | None, elapsed: float) -> str:
        """The progress line for ``done`` bytes of ``total`` read in ``elapsed`` seconds."""
        rate = done / elapsed if elapsed > 0 else 0.0
        speed = f", {_size(rate)}/s" if rate > 0 else ""
        if total:
            done = min(done, total)
            left = f", {_duration((total - done) / rate)} left" if rate > 0 else ""
            read = f"{done * 100 // total}% {_size(done)} of {_size(total)}{speed}{left}"
        else:
            read = f"{_size(done)} read{speed}"
        return f"{self.name}: {read} (frame {frame:,})"

    def clear(self) -> None:
        """Erase the progress line before anything else is written to stderr."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for one that cannot tell: closed, replaced)."""
    try:
        return stream.isatty()
    except (ValueError, AttributeError):
        return False


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
    traffic: TrafficSeen | None = None,
) -> Iterator[CaptureRecord]:
    """Yield the records of the capture(s) at ``path`` (a truncated file ends with a problem);
    ``traffic`` is filled with what the capture held once it is read (for the hints)."""
    return decode_capture(
        path,
        port=port,
        policy=STRICT if strict else LENIENT,
        on_progress=None if progress is None else progress.on_progress,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        stall_threshold_ns=stall_threshold_ns,
        traffic=traffic,
    )
