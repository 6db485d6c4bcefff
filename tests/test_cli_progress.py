"""The progress display of ``decode`` and ``report``: on a terminal only, erased, and honest.

The CLI runs in a subprocess whose stderr is a pseudo-terminal (``pty.openpty``). Its clock is
made to step one second per reading (``time.monotonic`` replaced before the CLI is imported), so
every chance to show progress is taken whatever the machine's speed: no test waits on real time.
"""

from __future__ import annotations

import gzip
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from capture_builder import ACK, Frame, ethernet, ipv4, pcap, tcp

from dimse_codec.capture.dicom import PROGRESS_FRAMES
from dimse_codec.cli.sources import Progress
from dimse_codec.pcap import CaptureReader

_STEPPING_CLOCK = (
    "import itertools, sys, time; ticks = itertools.count(); "
    "time.monotonic = lambda: float(next(ticks)); "
    "from dimse_codec.cli.main import main; sys.exit(main(sys.argv[1:]))"
)
_LINE = re.compile(rb"\r(decode|report): ([^\r\x1b]*)\x1b\[K")


def _capture(frames: int, payload: int = 1000) -> bytes:
    """One TCP connection (not DICOM) of ``frames`` segments of ``payload`` bytes each."""
    data = (bytes(range(256)) * (payload // 256 + 1))[:payload]

    def segment(index: int) -> bytes:
        return ipv4("10.0.0.1", "10.0.0.2", tcp(40000, 8080, 1 + index * payload, 1, ACK, data))

    start = 1_700_000_000_000_000_000
    return pcap(
        Frame(start + index * 1000, ethernet(segment(index), 0x0800)) for index in range(frames)
    )


def _run(
    args: list[str], *, tty: bool, stdin: bytes | None = None, stdout_too: bool = False
) -> tuple[int, bytes]:
    """Run ``dimse-codec ARGS`` with a stepping clock; stdout to nowhere (or to the same
    terminal, ``stdout_too``), stderr to a terminal (or a pipe); return the exit code and all
    that the terminal (or stderr's pipe) received."""
    if tty:
        master, slave = pty.openpty()
        stderr: int = slave
    else:
        stderr = subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-c", _STEPPING_CLOCK, *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=slave if tty and stdout_too else subprocess.DEVNULL,
        stderr=stderr,
    )
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
    if not tty:
        _, err = process.communicate(timeout=120)
        return process.returncode, err
    os.close(slave)
    received = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other side closed: the process is gone
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    return process.wait(timeout=120), bytes(received)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "long.pcap"
    path.write_bytes(_capture(4 * PROGRESS_FRAMES))
    return path


def test_a_file_shows_percentage_bytes_rate_and_time_left_then_is_erased(capture: Path) -> None:
    code, err = _run(["decode", "--json", str(capture)], tty=True)
    assert code == 0
    lines = _LINE.findall(err)
    assert len(lines) >= 3, err  # every PROGRESS_FRAMES frames, the clock always past 0.5 s
    size = capture.stat().st_size
    for name, text in lines:
        assert name == b"decode"
        match = re.fullmatch(
            rb"(\d+)% ([\d.]+) (k?B|MB) of ([\d.]+) (kB|MB), [\d.]+ (B|kB|MB)/s, "
            rb"\d+ s left \(frame ([\d,]+)\)",
            text,
        )
        assert match is not None, text
        assert float(match.group(4)) * (1000 if match.group(5) == b"kB" else 1e6) == (
            pytest.approx(size, rel=0.05)
        )
    percentages = [int(text.split(b"%", 1)[0]) for _, text in lines]
    assert percentages == sorted(percentages) and 0 < percentages[0] < 100
    frames = [int(text.rsplit(b" ", 1)[1].strip(b")").replace(b",", b"")) for _, text in lines]
    assert frames == sorted(frames) and frames[-1] <= 4 * PROGRESS_FRAMES
    # erased once reading ended: the last thing on stderr clears the line, nothing follows it
    assert err.endswith(b"\r\x1b[K")


def test_no_progress_when_stderr_is_not_a_terminal(capture: Path) -> None:
    code, err = _run(["decode", "--json", str(capture)], tty=False)
    assert code == 0
    assert b"\r" not in err and b"%" not in err and b"decode:" not in err


def test_no_progress_when_the_records_scroll_on_the_same_terminal(capture: Path) -> None:
    """Text to the terminal shows the progress itself; a line among the records would tear
    them. With ``--output FILE`` the terminal is free again and the line comes back."""
    code, seen = _run(["decode", str(capture)], tty=True, stdout_too=True)
    assert code == 0 and b"summary:" in seen
    assert not _LINE.findall(seen) and b"\x1b[K" not in seen


def test_several_inputs_count_by_the_total_of_their_sizes(capture: Path, tmp_path: Path) -> None:
    second = tmp_path / "second.pcap"
    second.write_bytes(capture.read_bytes())
    _, err = _run(["decode", "--json", str(capture), str(second)], tty=True)
    lines = [text for _, text in _LINE.findall(err)]
    assert lines
    total = 2 * capture.stat().st_size
    of = re.search(rb" of ([\d.]+) (kB|MB),", lines[0])
    assert of is not None
    assert float(of.group(1)) * (1000 if of.group(2) == b"kB" else 1e6) == pytest.approx(
        total, rel=0.05
    )


def test_a_pipe_says_the_bytes_read_without_a_percentage(capture: Path) -> None:
    _, err = _run(["decode", "--json", "-"], tty=True, stdin=capture.read_bytes())
    lines = [text for _, text in _LINE.findall(err)]
    assert lines
    for text in lines:
        assert re.fullmatch(rb"[\d.]+ (B|kB|MB) read, [\d.]+ (B|kB|MB)/s \(frame [\d,]+\)", text)
    assert err.endswith(b"\r\x1b[K")


def test_a_gzip_file_counts_its_compressed_bytes(capture: Path, tmp_path: Path) -> None:
    packed = tmp_path / "long.pcap.gz"
    packed.write_bytes(gzip.compress(capture.read_bytes()))
    _, err = _run(["decode", "--json", str(packed)], tty=True)
    lines = [text for _, text in _LINE.findall(err)]
    assert lines
    size = packed.stat().st_size
    for text in lines:
        of = re.search(rb"(\d+)% ([\d.]+) (B|kB|MB) of ([\d.]+) (B|kB|MB),", text)
        assert of is not None, text
        assert float(of.group(4)) * {b"B": 1, b"kB": 1e3, b"MB": 1e6}[of.group(5)] == (
            pytest.approx(size, rel=0.05)
        )


def test_report_shows_its_progress_too(capture: Path, tmp_path: Path) -> None:
    code, err = _run(["report", str(capture), "-o", str(tmp_path / "r.html")], tty=True)
    assert code == 0
    assert [name for name, _ in _LINE.findall(err)][:1] == [b"report"]
    assert b"\r\x1b[K" in err and b"report: " in err.rsplit(b"\r\x1b[K", 1)[1]


def test_the_position_counts_a_mapped_file_to_its_end(capture: Path) -> None:
    with CaptureReader(str(capture)) as reader:
        assert reader.position() == (0, capture.stat().st_size)
        for _ in reader.packet_fields():
            pass
        assert reader.position() == (capture.stat().st_size, capture.stat().st_size)


def test_the_line_says_sizes_and_times_in_few_figures() -> None:
    progress = Progress(sys.stderr)
    line = progress.line(1_234_567, 1_200_000_000, 2_800_000_000, 1_200_000_000 / 85e6)
    assert line == "decode: 42% 1.2 GB of 2.8 GB, 85 MB/s, 19 s left (frame 1,234,567)"
    assert progress.line(7, 512_000, None, 2.0) == "decode: 512 kB read, 256 kB/s (frame 7)"
    slow = progress.line(7, 10, 100_000, 1.0)
    assert slow == "decode: 0% 10 B of 100 kB, 10 B/s, 2 h 46 min left (frame 7)"
    assert progress.line(7, 0, 100_000, 1.0) == "decode: 0% 0 B of 100 kB (frame 7)"
