"""Captures as users have them: rotated files, folders, standard input, live pipes, gzip.

One real recording serves every test: DCMTK's echoscu (300 C-ECHOs on one association), storescu
(a 2.5 MB image) and echoscu again against storescp over 127.0.0.1, recorded at once by two
tcpdumps, one writing a single file and one rotating files every million bytes (``-C 1``). The
rotated files, Wireshark's ``editcap`` pieces of the single file (pcap and pcapng), pieces of
three link types, and the two directions in two files (merged by ``mergecap`` for reference)
must all decode to the records of the single file; so must standard input, a pipe fed slowly
(a record out while the writer still holds the pipe), and gzip-compressed copies. Ctrl-C on a
live decode prints the summary so far; a closed stdout ends it quietly.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import capture_builder as cb
import pytest
from conftest import peer_unavailable, require_tool
from peers import dcmtk_server, free_port, run_tool, secondary_capture, write_part10
from recording import tcpdump

from dimse_codec.capture import (
    CapturedMessage,
    CaptureProblem,
    CaptureRecord,
    StreamGap,
    decode_capture,
)
from dimse_codec.capture.ndjson import record_json
from dimse_codec.pcap import CaptureReader, read_packets
from dimse_codec.pcap import inputs as inputs_module

pytestmark = pytest.mark.peer

CLI = [sys.executable, "-m", "dimse_codec.cli.main", "decode"]
WAIT = 30.0
"""Seconds a test waits for a line of a live decode (a bound, not a speed check)."""


@dataclass(frozen=True)
class Recording:
    whole: Path
    rotated: list[Path]
    single: Path
    """The rotated files end to end (``mergecap -a``): the single file of the same packets."""
    port: int


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    echoscu = require_tool("echoscu")
    tmp = tmp_path_factory.mktemp("inputs")
    big = write_part10(secondary_capture(2_500_000, seed=13), tmp / "big.dcm")
    out = tmp / "out"
    out.mkdir()
    folder = tmp / "rotated"
    folder.mkdir()
    port = free_port()
    whole = tmp / "whole.pcap"
    with (
        dcmtk_server([storescp, "-od", str(out), str(port)], port, tmp / "scp.log", out),
        tcpdump(whole, [port]),
        tcpdump(folder / "part.pcap", [port], rotate_mb=1),
    ):
        for argv in (
            [echoscu, "--repeat", "300", "127.0.0.1", str(port)],
            [storescu, "127.0.0.1", str(port), str(big)],
            [echoscu, "127.0.0.1", str(port)],
        ):
            result = run_tool(argv)
            assert result.returncode == 0, result.stdout
    rotated = sorted(folder.iterdir())
    single = tmp / "single.pcap"
    mergecap = require_tool("mergecap")
    run_tool([mergecap, "-a", "-F", "pcap", "-w", str(single), *map(str, rotated)])
    return Recording(whole, rotated, single, port)


def rows(records: Iterable[CaptureRecord], *, timed: bool = True) -> list[str]:
    """Records as comparable text: their NDJSON objects (without times unless ``timed``)."""
    out = []
    for record in records:
        line = record_json(record)
        if not timed:  # two tcpdumps stamp the same packet a few microseconds apart
            line.pop("time")
            line.pop("response_time", None)
        out.append(json.dumps(line, sort_keys=True))
    return out


def frame_count(path: Path) -> int:
    with CaptureReader(path) as reader:
        return sum(1 for _ in reader.records())


def record_ends(path: Path) -> list[int]:
    """The file offset just past each record (pcap or little-endian pcapng)."""
    data = path.read_bytes()
    with CaptureReader(path) as reader:
        if reader.format == "pcap":
            return [r.offset + 16 + len(r.data) for r in reader.records()]
        return [
            r.offset + struct.unpack_from("<I", data, r.offset + 4)[0] for r in reader.records()
        ]


def cli(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *argv], input=stdin, capture_output=True, timeout=300, check=False)


# -- several files -------------------------------------------------------------------------------


def test_rotated_tcpdump_files_decode_as_the_single_file(recording: Recording) -> None:
    """tcpdump -C 1 files read together are the single recording: same records, same frames,
    the association that spans the files one stream (no gap, no end at a file boundary)."""
    assert len(recording.rotated) >= 3
    single = rows(decode_capture(recording.single))
    merged = list(decode_capture(recording.rotated))
    assert rows(merged) == single
    assert rows(decode_capture(list(reversed(recording.rotated)))) == single  # time decides
    # and the other tcpdump's single file saw the same (its times differ by microseconds)
    whole = rows(decode_capture(recording.whole), timed=False)
    assert rows(merged, timed=False) == whole
    assert not [r for r in merged if isinstance(r, (StreamGap, CaptureProblem))]
    messages = [r for r in merged if isinstance(r, CapturedMessage)]
    assert [m.name for m in messages].count("C-ECHO-RQ") == 301
    store = next(m for m in messages if m.name == "C-STORE-RQ")
    assert store.dataset is not None and len(store.dataset) > 2_500_000
    first_file = frame_count(recording.rotated[0])
    assert store.first_frame <= first_file < store.frame  # its PDUs are in several files


@pytest.mark.parametrize("form", ["pcap", "pcapng"])
def test_editcap_pieces_decode_as_the_single_file(
    recording: Recording, tmp_path: Path, form: str
) -> None:
    editcap = require_tool("editcap")
    piece = tmp_path / f"piece.{form}"
    run_tool([editcap, "-F", form, "-c", "250", str(recording.whole), str(piece)])
    pieces = sorted(tmp_path.glob("piece*"))
    assert len(pieces) >= 5
    assert rows(decode_capture(pieces)) == rows(decode_capture(recording.whole))


def test_pieces_of_three_link_types(recording: Recording, tmp_path: Path) -> None:
    """Ethernet (as recorded on lo), raw IP in pcapng, Linux cooked with nanoseconds."""
    with CaptureReader(recording.whole) as reader:
        assert reader.interfaces[0].link_type == 1
        frames = [(r.time_ns or 0, bytes(r.data)) for r in reader.records()]
    third = len(frames) // 3
    ether = [cb.Frame(t, data) for t, data in frames[:third]]
    raw_ip = [cb.Frame(t, data[14:]) for t, data in frames[third : 2 * third]]
    cooked = [
        cb.Frame(t, cb.sll(data[14:], int.from_bytes(data[12:14], "big")))
        for t, data in frames[2 * third :]
    ]
    paths = [tmp_path / "a.pcap", tmp_path / "b.pcapng", tmp_path / "c.pcap"]
    paths[0].write_bytes(cb.pcap(ether, link_type=1))
    paths[1].write_bytes(cb.pcapng(raw_ip, link_type=101))
    paths[2].write_bytes(cb.pcap(cooked, link_type=113, nanoseconds=True))
    assert rows(decode_capture(paths)) == rows(decode_capture(recording.whole))


def test_directions_in_two_files_merge_as_mergecap_does(
    recording: Recording, tmp_path: Path
) -> None:
    """Each direction in its own file (as two taps give them): packets interleave in time, and
    the merge by time equals Wireshark's mergecap of the same files."""
    tshark, mergecap = require_tool("tshark"), require_tool("mergecap")
    to_server, to_client = tmp_path / "to-server.pcap", tmp_path / "to-client.pcap"
    for path, field in ((to_server, "tcp.dstport"), (to_client, "tcp.srcport")):
        argv = [tshark, "-r", str(recording.whole), "-F", "pcap", "-w", str(path)]
        run_tool([*argv, "-Y", f"{field} == {recording.port}"])
    merged = tmp_path / "merged.pcap"
    run_tool([mergecap, "-F", "pcap", "-w", str(merged), str(to_server), str(to_client)])
    ours = list(decode_capture([to_server, to_client]))
    assert rows(ours) == rows(decode_capture(merged))
    names = [r.name for r in ours if isinstance(r, CapturedMessage)]
    whole = [r.name for r in decode_capture(recording.whole) if isinstance(r, CapturedMessage)]
    assert names == whole


def test_cli_reads_a_folder_and_several_files(recording: Recording, tmp_path: Path) -> None:
    expected = cli(str(recording.single))
    assert expected.returncode == 0 and expected.stderr == b""
    folder = tmp_path / "day"
    (folder / "later").mkdir(parents=True)
    for index, path in enumerate(recording.rotated):  # in a folder and a subfolder
        shutil.copy(path, folder / ("later" if index % 2 else ".") / path.name)
    (folder / "README.txt").write_text("not a capture\n")
    result = cli(str(folder))
    assert result.returncode == 0
    assert result.stdout == expected.stdout
    assert result.stderr == f"decode: {folder}: 1 file(s) that are not captures left out\n".encode()
    files = cli(*(str(p) for p in reversed(recording.rotated)))
    assert (files.returncode, files.stdout, files.stderr) == (0, expected.stdout, b"")


def test_cli_names_the_input_it_cannot_read(recording: Recording, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    for argv, named in (
        ([str(recording.whole), str(tmp_path / "missing.pcap")], "missing.pcap"),
        ([str(recording.whole), str(other)], "notes.txt"),
        ([str(tmp_path / "empty-folder")], "empty-folder"),
        (["-", "-"], "standard input"),
    ):
        (tmp_path / "empty-folder").mkdir(exist_ok=True)
        result = cli(*argv, stdin=b"")
        err = result.stderr.decode()
        assert result.returncode == 2 and result.stdout == b"", argv
        assert err.startswith("error: ") and err.count("\n") == 1 and named in err, err
        assert "Traceback" not in err


# -- standard input and live pipes ---------------------------------------------------------------


def test_standard_input_pipe_and_file(recording: Recording) -> None:
    expected = cli(str(recording.whole)).stdout
    piped = subprocess.run(
        [*CLI, "-"], input=recording.whole.read_bytes(), capture_output=True, timeout=300
    )
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, expected, b"")
    with recording.whole.open("rb") as handle:  # `< file`: read in place
        redirected = subprocess.run([*CLI, "-"], stdin=handle, capture_output=True, timeout=300)
    assert (redirected.returncode, redirected.stdout, redirected.stderr) == (0, expected, b"")


class Live:
    """``dimse-codec decode -`` with the test writing its standard input."""

    def __init__(self, *options: str, stdin: IO[bytes] | int = subprocess.PIPE) -> None:
        self.process = subprocess.Popen(
            [*CLI, *options, "-"], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.process.stdout is not None
        self.stdin = self.process.stdin  # None when another process writes it
        self.poll = select.poll()
        self.poll.register(self.process.stdout.fileno(), select.POLLIN)
        self.out = b""

    def write(self, data: bytes) -> None:
        assert self.stdin is not None
        self.stdin.write(data)
        self.stdin.flush()

    def wait_for(self, text: bytes, timeout: float = WAIT) -> bool:
        """Read stdout until a line holds ``text`` (True) or ``timeout`` passes (False)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.out.split(b"\n")[:-1]):
            left = deadline - time.monotonic()
            if left <= 0 or not self.poll.poll(int(left * 1000) + 1):
                return False
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                return False
            self.out += chunk
        return True

    def finish(self, rest: bytes = b"", timeout: float = 300) -> tuple[int, bytes, bytes]:
        """Write ``rest``, close stdin and collect the output (read while writing)."""
        tail, err = self.process.communicate(rest, timeout=timeout)
        return self.process.returncode, self.out + tail, err

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT)


def first_echo_response(path: Path) -> int:
    records = decode_capture(path)
    return next(
        r.frame for r in records if isinstance(r, CapturedMessage) and r.name == "C-ECHO-RSP"
    )


@pytest.mark.parametrize("form", ["pcap", "pcapng"])
def test_live_pipe_prints_a_record_before_the_writer_closes(
    recording: Recording, tmp_path: Path, form: str
) -> None:
    path = recording.whole
    if form == "pcapng":
        path = tmp_path / "whole.pcapng"
        run_tool([require_tool("editcap"), "-F", "pcapng", str(recording.whole), str(path)])
    data = path.read_bytes()
    frame = first_echo_response(path)
    cut = record_ends(path)[frame - 1]
    live = Live()
    try:
        for start in range(0, cut, 97):  # in small pieces, as a capture arrives
            live.write(data[start : min(start + 97, cut)])
        assert live.wait_for(f" f{frame} ".encode()), live.out
        assert live.process.poll() is None  # the writer holds the pipe open
        assert live.stdin is not None and not live.stdin.closed
        assert b"C-ECHO-RSP" in live.out.split(b"\n")[-2]
        code, out, err = live.finish(data[cut:])
    finally:
        live.stop()
    assert (code, err) == (0, b"")
    assert out == cli(str(path)).stdout


def test_tcpdump_into_decode_shows_messages_as_they_happen(tmp_path: Path) -> None:
    """``tcpdump -U -w - | dimse-codec decode -``: the C-ECHO's lines come out while tcpdump is
    still running; stopping tcpdump ends the decode with its summary."""
    binary, storescp = require_tool("tcpdump"), require_tool("storescp")
    echoscu = require_tool("echoscu")
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    with dcmtk_server([storescp, "-od", str(out), str(port)], port, tmp_path / "scp.log", out):
        dump = subprocess.Popen(
            [binary, "-i", "lo", "-U", "--immediate-mode", "-w", "-", "-Z", "root",
             f"tcp port {port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        assert dump.stdout is not None and dump.stderr is not None
        live = Live(stdin=dump.stdout)
        dump.stdout.close()  # decode holds the read end now
        try:
            for _ in range(50):  # tcpdump says a few lines, then "listening on"
                line = dump.stderr.readline()
                if not line or b"listening on" in line:
                    break
            if b"listening on" not in line:
                peer_unavailable(f"tcpdump could not capture on lo (exit {dump.poll()})")
            result = run_tool([echoscu, "127.0.0.1", str(port)])
            assert result.returncode == 0, result.stdout
            assert live.wait_for(b" C-ECHO-RSP "), live.out
            assert dump.poll() is None  # tcpdump still runs: nothing waited for its end
        finally:
            if dump.poll() is None:
                os.kill(dump.pid, signal.SIGTERM)
            dump.wait(timeout=WAIT)
            dump.stderr.close()
        code, text, err = live.finish()
        live.stop()
    assert (code, err) == (0, b"")
    assert b"summary: 1 association(s), 2 message(s), 0 gap(s), 0 problem(s)" in text


def test_ctrl_c_on_a_live_decode_prints_the_summary_so_far(recording: Recording) -> None:
    data = recording.whole.read_bytes()
    frame = first_echo_response(recording.whole)
    live = Live()
    try:
        live.write(data[: record_ends(recording.whole)[frame - 1]])
        assert live.wait_for(f" f{frame} ".encode())
        live.process.send_signal(signal.SIGINT)
        code, out, err = live.finish()
    finally:
        live.stop()
    assert code == 130
    assert err == b"dimse-codec: interrupted\n"
    lines = out.decode().splitlines()
    names = ["A-ASSOCIATE-RQ", "A-ASSOCIATE-AC", "C-ECHO-RQ", "C-ECHO-RSP"]
    assert len(lines) == len(names) + 4
    assert all(f" {name} " in line for name, line in zip(names, lines, strict=False))
    assert lines[-4:-1] == [
        "summary: 1 association(s), 2 message(s), 0 gap(s), 0 problem(s)",
        "  messages: C-ECHO-RQ 1, C-ECHO-RSP 1",
        "  statuses: 0000H Success 1",
    ]
    assert lines[-1].startswith("  response times ms (1): p50 ")


@pytest.mark.parametrize("options", [(), ("--json",)])
def test_closed_stdout_ends_quietly(recording: Recording, options: Sequence[str]) -> None:
    """``decode x.pcap | head -1``: no message, the exit code of a program SIGPIPE ended."""
    process = subprocess.Popen(
        [*CLI, *options, str(recording.whole)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=300)
    assert first.startswith(b"a0 f" if not options else b'{"type": "association"')
    assert err == b""
    # the --json output (far more than a pipe holds) always meets the closed pipe
    assert process.returncode == 141 if options else process.returncode in (0, 141)


# -- gzip ----------------------------------------------------------------------------------------


def test_gzip_captures_are_read_as_they_decompress(
    recording: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = recording.whole.read_bytes()
    expected = rows(decode_capture(recording.whole))
    packed = tmp_path / "whole.pcap.gz"
    packed.write_bytes(gzip.compress(data))
    unnamed = tmp_path / "capture"  # known by its magic bytes, not its name
    half = len(data) // 2  # two gzip members, as `cat a.gz b.gz` makes
    unnamed.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    assert rows(decode_capture(packed)) == expected
    assert rows(decode_capture(unnamed)) == expected
    rotated = []
    for path in recording.rotated:
        rotated.append(tmp_path / f"{path.name}.gz")
        rotated[-1].write_bytes(gzip.compress(path.read_bytes()))
    assert rows(decode_capture(rotated)) == rows(decode_capture(recording.single))

    text = cli(str(recording.whole)).stdout
    assert cli(str(packed)).stdout == text
    assert cli("-", stdin=packed.read_bytes()).stdout == text

    # streamed: memory follows the chunk, not the capture
    monkeypatch.setattr(inputs_module, "CHUNK_SIZE", 64 << 10)
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_packets(packed))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 1000 and len(data) > 2_500_000
    assert peak < len(data) // 4


def test_more_files_than_the_soft_open_file_limit(recording: Recording, tmp_path: Path) -> None:
    """A folder of many small rotated files decodes though the soft limit on open files is
    lower than their number (decode raises it toward the hard limit)."""
    import resource

    editcap = require_tool("editcap")
    folder = tmp_path / "many"
    folder.mkdir()
    run_tool([editcap, "-c", "20", str(recording.whole), str(folder / "part.pcap")])
    files = len(list(folder.iterdir()))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 48
    if hard != resource.RLIM_INFINITY and hard < files + 64:
        pytest.skip(f"the hard limit on open files ({hard}) is below {files + 64}")

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

    assert files > low
    result = subprocess.run(
        [*CLI, str(folder)], capture_output=True, timeout=300, preexec_fn=lower, check=False
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == cli(str(recording.whole)).stdout
