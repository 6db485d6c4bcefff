"""``decode --jobs N``: shards by connection whose outputs, together, are ``--jobs 1``'s.

The shard key is checked for symmetry (both directions of a connection land in one shard), for
stability (the same in a process with another hash seed) and for agreement between the
fixed-offset pre-filter and the parsed packet on every link layer. The CLI is checked on
captures made of the example conversation (real codec bytes, a real TCP handshake and close)
repeated over many connections, cut into rotated files, some of its datagrams sent as IP
fragments: text, NDJSON, CSV, Parquet and Zeek output and the summary of ``--jobs 2`` and
``--jobs 3`` equal ``--jobs 1``'s as sets, association numbers included.
"""

from __future__ import annotations

import csv
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import capture_builder as cb
import pytest
from conftest import require_tool
from peers import dcmtk_server, free_port, run_tool, secondary_capture, write_part10
from recording import tcpdump

from dimse_codec.capture import decode_capture
from dimse_codec.capture.shard import ShardFilter, connection_shard
from dimse_codec.cli.main import main
from dimse_codec.pcap import CaptureReader

CLI = [sys.executable, "-m", "dimse_codec.cli.main", "decode"]
WAIT = 300.0
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "storage-commitment.pcap"
RAW = 101


def conversation_frames() -> list[tuple[int, bytes]]:
    """The example's frames (raw IPv4) with their times."""
    with CaptureReader(EXAMPLE) as reader:
        return [(r.time_ns or 0, bytes(r.data)) for r in reader.records()]


def repeated(count: int, *, fragment_every: int = 0) -> list[cb.Frame]:
    """``count`` copies of the example conversation from 10.2.x.y:(30000 + n), each starting 0.3
    s after the previous one (so they overlap); with ``fragment_every``, every that many
    conversations sends its datagrams with a payload as 8-byte IPv4 fragments."""
    template = conversation_frames()
    requestor = template[0][1][12:16]
    start = template[0][0]
    frames: list[cb.Frame] = []
    for number in range(count):
        address = ipaddress.IPv4Address(f"10.2.{number // 250}.{number % 250 + 1}").packed
        port = (30000 + number).to_bytes(2, "big")
        for time_ns, data in template:
            packet = bytearray(data)
            if bytes(packet[12:16]) == requestor:
                packet[12:16], packet[20:22] = address, port
            else:
                packet[16:20], packet[22:24] = address, port
            when = time_ns - start + number * 300_000_000
            pieces = [bytes(packet)]
            if fragment_every and number % fragment_every == 0 and len(packet) > 60:
                pieces = cb.fragment_ipv4(bytes(packet), 16)
            frames += [cb.Frame(when, cb.ethernet(piece, 0x0800)) for piece in pieces]
    frames.sort(key=lambda frame: frame.time_ns)
    return frames


def rotated(tmp_path: Path, frames: list[cb.Frame], files: int) -> list[str]:
    """The frames written as ``files`` pcap files of one rotated recording."""
    size = -(-len(frames) // files)
    paths = []
    for index in range(files):
        path = tmp_path / f"capture.pcap{index or ''}"
        path.write_bytes(cb.pcap(frames[index * size : (index + 1) * size], link_type=1))
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """48 overlapping associations in 3 rotated files, every 5th sent in IP fragments."""
    return rotated(tmp_path_factory.mktemp("jobs"), repeated(48, fragment_every=5), 3)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A real recording in files rotated every million bytes: DCMTK's echoscu (six
    associations) and storescu (a 2.5 MB data set) against storescp, tcpdump on 127.0.0.1."""
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    echoscu = require_tool("echoscu")
    tmp = tmp_path_factory.mktemp("recorded")
    big = write_part10(secondary_capture(2_500_000, seed=7), tmp / "big.dcm")
    out, folder = tmp / "out", tmp / "rotated"
    out.mkdir()
    folder.mkdir()
    port = free_port()
    with (
        dcmtk_server([storescp, "-od", str(out), str(port)], port, tmp / "scp.log", out),
        tcpdump(folder / "part.pcap", [port], rotate_mb=1),
    ):
        runs = [[echoscu, "127.0.0.1", str(port)]] * 3
        runs += [[storescu, "127.0.0.1", str(port), str(big)]]
        runs += [[echoscu, "--repeat", "20", "127.0.0.1", str(port)]] * 3
        for argv in runs:
            result = run_tool(argv)
            assert result.returncode == 0, result.stdout
    rotated = sorted(str(path) for path in folder.iterdir())
    assert len(rotated) >= 3
    return rotated


# -- the shard key -------------------------------------------------------------------------------


def test_the_shard_key_is_symmetric_and_spreads_connections() -> None:
    a, b = ipaddress.IPv4Address("10.0.0.1").packed, ipaddress.IPv4Address("10.0.0.2").packed
    shards = []
    for port in range(40000, 40400):
        forward = connection_shard(a, port, b, 104, 4)
        assert connection_shard(b, 104, a, port, 4) == forward
        shards.append(forward)
    assert all(60 <= shards.count(shard) <= 140 for shard in range(4))  # 100 each, roughly
    six = ipaddress.IPv6Address("2001:db8::1").packed, ipaddress.IPv6Address("2001:db8::2").packed
    assert connection_shard(six[0], 5, six[1], 6, 7) == connection_shard(six[1], 6, six[0], 5, 7)


def test_the_shard_key_is_the_same_in_every_process() -> None:
    code = (
        "from dimse_codec.capture.shard import connection_shard as s\n"
        "print([s(bytes([10, 0, 0, n]), 40000 + n, bytes([10, 0, 0, 9]), 104, 1 << 32)"
        " for n in range(8)])"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2", "random")
    }
    assert len(seen) == 1
    here = [connection_shard(bytes([10, 0, 0, n]), 40000 + n, bytes([10, 0, 0, 9]), 104, 1 << 32)
            for n in range(8)]  # fmt: skip
    assert seen == {f"{here}\n"}


@pytest.mark.parametrize("options", [b"", b"\x01\x01\x01\x00"], ids=["plain", "ip-options"])
@pytest.mark.parametrize("variant", sorted(cb.LINK_VARIANTS))
def test_the_prefilter_agrees_with_the_parsed_packet(variant: str, options: bytes) -> None:
    link, four, six = cb.LINK_VARIANTS[variant]
    versions = [v for v, ok in ((4, four), (6, six)) if ok]
    placed = 0
    for version in versions:
        for port in range(1000, 1040):
            segment = cb.tcp(port, 11112, 1, payload=b"x" * 10)
            packet = (
                cb.ipv4("10.0.0.1", "10.0.0.2", segment, options=options)
                if version == 4
                else cb.ipv6("2001:db8::1", "2001:db8::2", segment)
            )
            frame = cb.wrap(variant, packet, version)
            with CaptureReader(cb.pcap([cb.Frame(0, frame)], link_type=link)) as reader:
                (parsed,) = list(reader)
            shards = [ShardFilter(index, 3) for index in range(3)]
            four = (parsed.src, parsed.src_port, parsed.dst, parsed.dst_port)
            owner = [shard.keeps(*four) for shard in shards]
            assert owner.count(True) == 1
            accepted = [shard.accepts(link, memoryview(frame)) for shard in shards]
            assert accepted[owner.index(True)]  # never refuses its own
            placed += accepted.count(True) == 1
    if "vlan" not in variant and "qinq" not in variant:  # tags are left to the parser
        assert placed == 40 * len(versions)


def test_fragments_are_placed_after_reassembly() -> None:
    """Later fragments carry no ports: the pre-filter lets them through, the reassembled
    datagram is placed by its ports, and each connection is decoded by exactly one shard."""
    frames = repeated(6, fragment_every=1)
    data = cb.pcap(frames, link_type=1)
    whole = [r.frame for r in decode_capture(data) if hasattr(r, "frame")]
    parts = [
        [r.frame for r in decode_capture(data, shard=ShardFilter(index, 2)) if hasattr(r, "frame")]
        for index in range(2)
    ]
    assert sorted(parts[0] + parts[1]) == sorted(whole)
    assert parts[0] and parts[1]


# -- the CLI -------------------------------------------------------------------------------------


def decode(tmp_path: Path, inputs: list[str], jobs: int, *options: str) -> Path:
    out = tmp_path / f"jobs{jobs}-{'-'.join(o.strip('-') for o in options) or 'text'}"
    assert main(["decode", *inputs, "--jobs", str(jobs), "--output", str(out), *options]) == 0
    return out


def lines(path: Path) -> list[str]:
    return sorted(path.read_text(encoding="utf-8").splitlines())


def table_rows(folder: Path, form: str) -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    if form == "parquet":
        import pyarrow.dataset as ds

        for table in ("messages", "associations"):
            rows = ds.dataset(folder / table).to_table().to_pylist()
            found[table] = sorted(tuple(str(v) for v in row.values()) for row in rows)
        return found
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        if form == "csv":
            found[path.name] = sorted(tuple(row) for row in csv.reader(text.splitlines()))
        else:  # zeek: the header's #open/#close stamps are the time of writing
            found[path.name] = sorted(
                (line,) for line in text.splitlines() if not line.startswith(("#open", "#close"))
            )
    return found


def test_text_and_summary_equal_jobs_1_as_sets(tmp_path: Path, captures: list[str]) -> None:
    one = lines(decode(tmp_path, captures, 1))
    assert any(line.startswith("a47 ") for line in one)
    assert any("problem" in line or "summary" in line for line in one)
    for jobs in (2, 3):
        assert lines(decode(tmp_path, captures, jobs)) == one


def test_ndjson_equals_jobs_1_as_a_set(tmp_path: Path, captures: list[str]) -> None:
    one = lines(decode(tmp_path, captures, 1, "--format", "ndjson"))
    assert sum('"association_summary"' in line for line in one) == 48
    for jobs in (2, 3):
        assert lines(decode(tmp_path, captures, jobs, "--format", "ndjson")) == one


@pytest.mark.parametrize("form", ["csv", "parquet", "zeek"])
def test_rows_equal_jobs_1_as_sets(tmp_path: Path, captures: list[str], form: str) -> None:
    if form == "parquet":
        pytest.importorskip("pyarrow", reason="--format parquet needs the parquet extra")
    one = table_rows(decode(tmp_path, captures, 1, "--format", form), form)
    assert sum(len(rows) for rows in one.values()) > 48 * 6
    for jobs in (2, 3):
        assert table_rows(decode(tmp_path, captures, jobs, "--format", form), form) == one


@pytest.mark.peer
@pytest.mark.parametrize("form", ["text", "ndjson"])
def test_a_real_rotated_recording_decodes_the_same_in_shards(
    tmp_path: Path, recorded: list[str], form: str
) -> None:
    one = lines(decode(tmp_path, recorded, 1, "--format", form))
    stores = [line for line in one if " C-STORE-RQ id=" in line or '"C-STORE-RQ"' in line]
    assert len(stores) == 1
    for jobs in (2, 3):
        assert lines(decode(tmp_path, recorded, jobs, "--format", form)) == one


def test_what_belongs_to_no_connection_is_reported_once(tmp_path: Path) -> None:
    """A frame cut inside its IP header and a file cut mid-record are problems of the capture,
    not of a connection: shard 0 reports them, the others do not repeat them."""
    frames = repeated(12)
    frames.insert(40, cb.Frame(frames[40].time_ns, bytes(cb.ethernet(b"", 0x0800))[:13]))
    path = tmp_path / "cut.pcap"
    path.write_bytes(cb.pcap(frames, link_type=1)[:-30])
    one = lines(decode(tmp_path, [str(path)], 1))
    problems = [line for line in one if " problem " in line]
    assert len(problems) == 2, problems  # the cut frame and the cut file
    for jobs in (2, 3):
        assert lines(decode(tmp_path, [str(path)], jobs)) == one


@pytest.mark.parametrize(
    "options",
    [(), ("--time", "delta", "--color", "always", "--contexts"), ("--time", "absolute")],
    ids=["default", "delta-colour-contexts", "absolute"],
)
def test_text_keeps_the_capture_order_and_the_numbering(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    """One file, no fragments: the merged lines come in --jobs 1's order, not only as a set,
    with their times (delta: since the line before in the merged output), colours, context
    lists and each association's end line."""
    (capture,) = rotated(tmp_path, repeated(20), 1)
    one = (decode(tmp_path, [capture], 1, *options)).read_text(encoding="utf-8")
    assert one.count(" end ") == 20 and (not options or "\033[" in one or "(UTC)" in one)
    for jobs in (2, 3):
        assert decode(tmp_path, [capture], jobs, *options).read_text(encoding="utf-8") == one


def test_what_jobs_cannot_do_is_one_error_line(
    tmp_path: Path, captures: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", "-", "--jobs", "2"]) == 2
    assert main(["decode", captures[0], "--jobs", "2", "--export", str(tmp_path)]) == 2
    assert main(["decode", captures[0], "--jobs", "0"]) == 2
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(b"not a capture at all, not even close to one")
    assert main(["decode", captures[0], str(broken), "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, err  # - and --export refused; the broken input named once
    assert "--export needs --jobs 1" in errors[1]
    assert "broken.pcap" in errors[2] and "not a pcap or pcapng capture" in errors[2]


def gone(group: int) -> bool:
    """Whether no process of the process group is left (the workers ended with the parent)."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def test_closed_stdout_ends_quietly_with_every_worker(captures: list[str]) -> None:
    """``decode --jobs 2 --json | head -1``: no message, exit 141, no worker left behind."""
    process = subprocess.Popen(
        [*CLI, *captures, "--jobs", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    process.wait(timeout=WAIT)
    assert first.startswith(b'{"type": "association"')
    assert (process.returncode, err) == (141, b"")
    assert gone(process.pid)


def test_ctrl_c_ends_every_worker_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group, as from a terminal: the parent says one line and
    exits 130, after the lines merged so far; the workers, which ignore it, are ended by it."""
    (capture,) = rotated(tmp_path, repeated(3000), 1)
    process = subprocess.Popen(
        [*CLI, capture, "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the workers are decoding
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=WAIT)
    assert first.startswith(b"a0 f")
    assert (process.returncode, err) == (130, b"dimse-codec: interrupted\n")
    assert b"summary:" not in out  # the lines merged so far, no summary
    assert gone(process.pid)


# -- the Dask engine -----------------------------------------------------------------------------


def dask_decode(address: str, inputs: list[str], out: Path, *options: str) -> int:
    """``decode`` with ``--engine dask`` on the cluster at ``address``, in three shards."""
    argv = ["decode", *inputs, "--engine", "dask", "--scheduler", address, "--jobs", "3"]
    return main([*argv, "--output", str(out), *options])


def local_cluster() -> Any:
    """A ``LocalCluster`` of two worker processes (closed by its ``with``)."""
    distributed = pytest.importorskip("distributed", reason="--engine dask needs the dask extra")
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )


def test_the_dask_engine_writes_the_parquet_dataset_of_jobs_1(
    tmp_path: Path, captures: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """On a LocalCluster of two worker processes, three shards as tasks: one file per shard and
    table, read as one dataset by pyarrow and by DuckDB, equal to ``--jobs 1`` as sets of rows."""
    pytest.importorskip("pyarrow", reason="the Dask engine writes Parquet (the dask extra)")
    duckdb = pytest.importorskip("duckdb", reason="the dataset is read back with DuckDB too")
    one = table_rows(decode(tmp_path, captures, 1, "--format", "parquet"), "parquet")
    out = tmp_path / "dask"
    with local_cluster() as cluster:
        code = dask_decode(cluster.scheduler_address, captures, out, "--format", "parquet")
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        broken = tmp_path / "broken.pcap"
        broken.write_bytes(b"not a capture at all, not even close to one")
        failed = main(
            ["decode", captures[0], str(broken), "--engine", "dask", "--scheduler",
             cluster.scheduler_address, "--format", "parquet", "--output", str(tmp_path / "no")]
        )  # fmt: skip
    err = capsys.readouterr().err
    assert failed == 2 and "Traceback" not in err
    (error,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "broken.pcap" in error and "not a pcap or pcapng capture" in error, err
    assert sorted(p.name for p in (out / "messages").iterdir()) == [
        f"part-{index:05d}.parquet" for index in range(3)
    ]
    assert not list(out.glob(".shard-*"))
    assert table_rows(out, "parquet") == one
    counted = duckdb.sql(
        f"SELECT count(*), count(DISTINCT association) FROM '{out}/messages/*.parquet'"
    ).fetchall()
    assert counted == [(len(one["messages"]), 48)]
