"""What ``decode`` and ``report`` say when a capture gives no DICOM, on real recordings.

Each capture is recorded with tcpdump over loopback: HTTP between ``python -m http.server`` and
urllib (TCP that is not DICOM), a port that saw only the recorder's UDP marker (no TCP at all),
and DCMTK's echoscu to storescp on a free port decoded with the wrong ``--port``.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import pytest
from capture_builder import pcap
from conftest import require_tool
from peers import dcmtk_server, free_port, run_tool
from recording import tcpdump

from dimse_codec.capture.traffic import MAX_PORTS, PortCounter
from dimse_codec.cli.main import main


def _decode(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def http_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Three HTTP requests to ``python -m http.server`` on a free port, recorded."""
    folder = tmp_path_factory.mktemp("http")
    (folder / "index.html").write_text("<p>not DICOM</p>\n")
    port = free_port()
    capture = folder / "http.pcap"
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    argv += ["--directory", str(folder)]
    with (
        dcmtk_server(argv, port, folder / "server.log", folder) as _server,
        tcpdump(capture, [port]),
    ):
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=30) as got:
                assert b"not DICOM" in got.read()
    return capture, port


@pytest.fixture(scope="module")
def echo_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One C-ECHO from DCMTK's echoscu to storescp on a free (non-standard) port, recorded."""
    storescp, echoscu = require_tool("storescp"), require_tool("echoscu")
    folder = tmp_path_factory.mktemp("echo")
    port = free_port()
    capture = folder / "echo.pcap"
    argv = [storescp, "-od", str(folder), str(port)]
    with dcmtk_server(argv, port, folder / "scp.log", folder), tcpdump(capture, [port]):
        client = run_tool([echoscu, "127.0.0.1", str(port)])
        assert client.returncode == 0, client.stdout
    return capture, port


def test_tcp_that_is_not_dicom_names_the_busiest_port(
    http_capture: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    capture, port = http_capture
    code, out, _ = _decode(capsys, str(capture))
    assert code == 0
    summary, hint = out.splitlines()[-2:]
    assert summary.startswith("summary: 0 association(s)")
    assert hint == (
        f"  hint: 3 TCP connections seen, none looked like DICOM (no A-ASSOCIATE-RQ at the "
        f"start); busiest server ports: {port} (3 connections); try --port {port}"
    )


def test_ndjson_ends_with_a_hint_record(
    http_capture: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    capture, port = http_capture
    code, out, _ = _decode(capsys, "--json", str(capture))
    assert code == 0
    last = json.loads(out.splitlines()[-1])
    assert last["type"] == "hint"
    assert last["hint"].startswith("3 TCP connections seen, none looked like DICOM")
    assert (last["tcp_connections"], last["dicom_connections"]) == (3, 0)
    assert last["busiest_ports"] == [{"port": port, "connections": 3}]
    assert last["port"] is None and last["ports_exact"] is True
    assert last["frames"] == last["tcp_packets"] + last["not_tcp"] + last["not_ip"]
    assert last["not_tcp"] >= 1  # the recorder's UDP end marker


def test_row_formats_and_report_say_it_on_stderr(
    http_capture: tuple[Path, int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capture, port = http_capture
    code, out, err = _decode(
        capsys, "--format", "csv", "--output", str(tmp_path / "rows"), str(capture)
    )
    assert code == 0
    assert "decode: 3 TCP connections seen, none looked like DICOM" in err
    assert f"try --port {port}" in err and "hint" not in out
    assert main(["report", str(capture), "-o", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert "report: 3 TCP connections seen" in err and f"try --port {port}" in err


def test_the_port_suggested_finds_nothing_more_to_say(
    http_capture: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--port`` as suggested: its connections are taken as DICOM (HTTP makes problems), and
    the hint is gone."""
    capture, port = http_capture
    _, out, _ = _decode(capsys, "--port", str(port), str(capture))
    assert "hint:" not in out


def test_no_tcp_at_all_says_what_the_frames_were(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "quiet.pcap"
    with tcpdump(capture, [free_port()]):
        pass  # only the recorder's UDP end marker is captured
    code, out, _ = _decode(capsys, str(capture))
    assert code == 0
    assert out.splitlines()[-1] == (
        "  hint: no TCP packets (1 frame read: 1 IP but not TCP (UDP, ICMP...))"
    )
    _, out, _ = _decode(capsys, "--json", str(capture))
    last = json.loads(out.splitlines()[-1])
    assert (last["type"], last["frames"], last["not_tcp"], last["tcp_connections"]) == (
        "hint",
        1,
        1,
        0,
    )


def test_a_wrong_port_says_it_saw_nothing_and_lists_the_ports_that_did(
    echo_capture: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    capture, port = echo_capture
    wrong = 104 if port != 104 else 105
    code, out, _ = _decode(capsys, "--port", str(wrong), str(capture))
    assert code == 0
    assert "C-ECHO-RQ" in out  # found by its A-ASSOCIATE-RQ all the same
    assert out.splitlines()[-1] == (
        f"  hint: port {wrong} saw no TCP traffic; the TCP ports that did: {port} (1 connection)"
    )
    _, out, _ = _decode(capsys, "--json", "--port", str(wrong), str(capture))
    last = json.loads(out.splitlines()[-1])
    assert (last["port"], last["port_connections"]) == (wrong, 0)
    assert last["ports_seen"] == [{"port": port, "connections": 1}]


def test_dicom_on_its_port_gives_no_hint(
    echo_capture: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    capture, port = echo_capture
    for args in ([str(capture)], ["--port", str(port), str(capture)]):
        _, out, _ = _decode(capsys, *args)
        assert "hint:" not in out and "summary: 1 association(s)" in out
        _, out, _ = _decode(capsys, "--json", *args)
        assert json.loads(out.splitlines()[-1])["type"] != "hint"


def test_the_port_counter_stays_bounded_and_keeps_the_busy_port() -> None:
    counter = PortCounter()
    for port in range(1, 65536):  # a scan: every port once
        counter.add(port)
        if port % 100 == 0:
            counter.add(8080)
            counter.add(8080)
    assert len(counter.counts) <= MAX_PORTS
    assert counter.busiest(1)[0][0] == 8080 and not counter.exact
    exact = PortCounter()
    for port in (80, 443, 80):
        exact.add(port)
    assert exact.busiest() == [(80, 2), (443, 1)] and exact.exact


def test_an_empty_capture_says_it_has_no_packets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "empty.pcap"
    capture.write_bytes(pcap([]))
    _, out, _ = _decode(capsys, str(capture))
    assert out.splitlines()[-1] == "  hint: no packets in the capture"
    _, out, _ = _decode(capsys, "--port", "104", str(capture))
    assert out.splitlines()[-1] == "  hint: port 104 saw no TCP traffic; no packets in the capture"
