"""The vulnerability probes: their bytes say what they claim, and real servers are probed.

Sans-I/O first: each probe's bytes, read back with the library's lenient decoders, carry the UID,
the declared length or the deflate ratio the probe is named for, and the verdicts follow from the
records. Then short live runs against DCMTK's storescp (with its output folder watched) and
dcmqrscp, and pynetdicom's storescp application, each started by PID on 127.0.0.1; what each
did is asserted where it is the finding of ``docs/fuzzing.md``.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import require_tool
from peers import Server, dcmtk_server, free_port, stop, wait_for_port
from test_fuzz_live import qrscp
from test_orthanc import ORTHANC, orthanc

from dimse_codec.association import read_response, respond
from dimse_codec.cli.main import main
from dimse_codec.dataset import decode_dataset, inflate
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import MessageReceived, PDUReceived, StreamDecoder
from dimse_codec.policy import Diagnostic
from dimse_codec.scpfuzz.findings import Answer, AnswerKind, Health, Liveness, StepRecord
from dimse_codec.scpfuzz.model import Target
from dimse_codec.scpfuzz.probes import (
    DEFLATED_CONTEXT,
    EXPLICIT_CONTEXT,
    SECONDARY_CAPTURE,
    Family,
    Memory,
    Probe,
    ProbeRecord,
    ProbeSettings,
    Severity,
    assess,
    bomb_dataset,
    build_probes,
    probe_request,
    select_probes,
)
from dimse_codec.scpfuzz.probing import ProbeRun, process_memory, run_probes, stray_files

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
SETTINGS = ProbeSettings(bomb_size=1 << 20, bomb_ratio=500, idle=3, nesting=300, marker="testmark")


def simulated_target() -> Target:
    """What our own acceptor answers to the probe proposal, at a 16384-byte maximum."""
    rq = probe_request("PROBE", "SCP")
    supported = {"1.2.840.10008.1.1": [IMPLICIT], SECONDARY_CAPTURE: [EXPLICIT, DEFLATED]}
    accepted = read_response(rq, respond(rq, supported, max_pdu_length=16384).pdu)
    return Target(rq, accepted.association)  # type: ignore[union-attr]


TARGET = simulated_target()
PROBES = {probe.name: probe for probe in build_probes(TARGET, SETTINGS)}


def decoded(probe: Probe, step: int = 1) -> list[object]:
    """The events of one step's bytes read by a lenient stream decoder, stream closed after."""
    syntaxes = {c: a.transfer_syntax for c, a in TARGET.accepted.items()}
    decoder = StreamDecoder(max_pdu_length=1 << 24, transfer_syntaxes=syntaxes)
    data = probe.steps[step].data
    return [*decoder.feed(data), *decoder.close()]


def test_every_family_is_there_and_names_are_unique() -> None:
    probes = build_probes(TARGET, SETTINGS)
    assert len(PROBES) == len(probes) == 27
    assert {p.family for p in probes} == set(Family)
    assert select_probes(probes, ["length"]) == tuple(
        p for p in probes if p.name.startswith("length-")
    )
    assert [p.name for p in select_probes(probes, ["deflate-bomb", "artim"])] == [
        "deflate-bomb",
        "artim-idle-connections",
        "artim-after-release",
    ]
    with pytest.raises(ValueError, match="'lengths'"):
        select_probes(probes, ["lengths"])


@pytest.mark.parametrize("name", [n for n in PROBES if n.startswith("uid-traversal-")])
def test_traversal_uids_are_where_the_name_says(name: str) -> None:
    probe = PROBES[name]
    uid = str(probe.details["uid"])
    place = probe.details["place"]
    (message,) = [e for e in decoded(probe) if isinstance(e, MessageReceived)]
    command_uid = message.primitive.AffectedSOPInstanceUID
    raw = message.primitive.payload_bytes("DataSet")
    assert raw is not None
    dataset = decode_dataset(raw, EXPLICIT)
    value = dataset["SOPInstanceUID"].value  # a backslash separates values (PS3.5 6.4)
    stored = value if isinstance(value, str) else "\\".join(value)
    in_command, in_dataset = command_uid == uid, stored == uid
    assert (in_command, in_dataset) == (place != "dataset", place != "command"), (
        command_uid,
        stored,
    )
    if "long" not in name:
        assert "testmark" in uid and probe.aims == (uid,)


def test_declared_lengths_are_far_past_the_data() -> None:
    lengths = [p for p in PROBES.values() if p.family is Family.LENGTH]
    assert len(lengths) == 8
    for probe in lengths:
        declared = int(str(probe.details["declared"]))
        assert declared >= 0xFFFFFFF0 and declared > 1000 * len(probe.sent), probe.name
    # the PDU lengths, read from the headers, against the bytes that follow them
    associate = PROBES["length-associate-pdu"].steps[0].data
    assert struct.unpack(">L", associate[2:6])[0] == 0xFFFFFFFF and len(associate) == 70
    pdata = PROBES["length-pdata-pdu"].steps[1].data
    assert struct.unpack(">L", pdata[2:6])[0] == 0xFFFFFFFF and len(pdata) < 1000
    pdv = PROBES["length-pdv-item"].steps[1].data
    assert struct.unpack(">L", pdv[2:6])[0] == len(pdv) - 6  # the PDU is honest ...
    assert struct.unpack(">L", pdv[6:10])[0] == 0xFFFFFFF0  # ... its one PDV is not
    # the lenient decoder sees each stream end inside what was declared
    for name in ("length-pdata-pdu", "length-pdv-item"):
        events = decoded(PROBES[name])
        assert not any(isinstance(e, MessageReceived) for e in events), name
        assert not any(isinstance(e, PDUReceived) for e in events), name


def test_command_lengths_are_past_the_command() -> None:
    for name in ("length-command-group", "length-command-element"):
        pdu = PROBES[name].steps[1].data
        command = pdu[12:]
        group_length = struct.unpack("<L", command[8:12])[0]
        assert group_length == 0xFFFFFFF0 if "group" in name else group_length > len(command)
        if "element" in name:
            assert struct.unpack("<L", command[16:20])[0] == 0xFFFFFFF0 and len(command) == 28
        events = decoded(PROBES[name])
        assert not any(isinstance(e, MessageReceived) for e in events), name


@pytest.mark.parametrize(
    "name", ["length-dataset-element", "length-dataset-sequence", "length-dataset-nesting"]
)
def test_data_sets_end_inside_what_they_declare(name: str) -> None:
    events = decoded(PROBES[name])
    (message,) = [e for e in events if isinstance(e, MessageReceived)]
    raw = message.primitive.payload_bytes("DataSet")
    assert raw is not None
    problems: list[Diagnostic] = []
    try:
        decode_dataset(raw, EXPLICIT, diagnostics=problems)
    except DimseCodecError as exc:  # the library's own error, with where it stopped
        said = str(exc)
    else:
        said = " ".join(p.code.value for p in problems)
    if name.endswith("element"):
        assert "value length 4294967280 exceeds the 16 bytes left" in said
    elif name.endswith("nesting"):
        assert PROBES[name].details["depth"] == 300 and len(raw) > 300 * 20
        assert said, name
    else:
        assert said, name


@pytest.mark.parametrize(("size", "ratio"), [(2 << 20, 50), (2 << 20, 300), (8 << 20, 1000)])
def test_the_bomb_inflates_by_the_ratio(size: int, ratio: int) -> None:
    deflated, inflated = bomb_dataset(size, ratio, "seed")
    assert inflated >= size - 2
    plain = inflate(deflated, max_size=inflated)
    assert len(plain) == inflated
    assert abs(inflated / len(deflated) - ratio) / ratio < 0.05
    dataset = decode_dataset(plain, EXPLICIT)
    assert len(dataset["PixelData"].value) > inflated - 400


def test_the_bomb_probe_goes_on_the_deflated_context() -> None:
    probe = PROBES["deflate-bomb"]
    assert probe.context_id == DEFLATED_CONTEXT and probe.holds == probe.details["inflated"]
    (message,) = [e for e in decoded(probe) if isinstance(e, MessageReceived)]
    assert message.context_id == DEFLATED_CONTEXT
    raw = message.primitive.payload_bytes("DataSet")
    assert raw is not None and len(raw) == probe.details["deflated"]
    assert len(inflate(raw, max_size=1 << 21)) == probe.details["inflated"]
    with pytest.raises(ValueError, match="at most"):
        bomb_dataset(4096, 1000)
    traversal = PROBES["uid-traversal-relative-both"]
    assert traversal.context_id == EXPLICIT_CONTEXT


def _record(**fields: object) -> ProbeRecord:
    alive = Liveness(Health.ALIVE, "fine")
    return ProbeRecord("x", **{"liveness": alive, **fields})  # type: ignore[arg-type]


def test_verdicts() -> None:
    store = PROBES["uid-traversal-absolute-both"]
    success = StepRecord("C-STORE-RQ", b"", b"", Answer(AnswerKind.RESPONSE, "rsp", 0), 0.1)
    assert assess(store, _record()).severity is Severity.OK
    assert assess(store, _record(records=(success,))).outcome == "stored"
    found = assess(store, _record(outside=("/tmp/testmark04",)))
    assert (found.severity, found.outcome) == (Severity.FINDING, "writes-outside")
    down = assess(store, _record(liveness=Liveness(Health.DOWN, "refused")))
    assert (down.severity, down.outcome) == (Severity.FINDING, "crash")
    bomb = PROBES["deflate-bomb"]
    small, big = Memory(10 << 20, 10 << 20, 1), Memory(600 << 20, 600 << 20, 1)
    grown = assess(bomb, _record(memory_before=small, memory_during=big, memory_after=small))
    assert grown.outcome == "memory" and "590 MiB" in grown.reason
    kept = assess(bomb, _record(memory_before=small, memory_during=big, memory_after=big))
    assert kept.reasons[1].startswith("the server kept 590 MiB")
    assert assess(bomb, _record(memory_before=small, memory_during=small)).outcome == "ok"
    artim = PROBES["artim-idle-connections"]
    assert assess(artim, _record(closed_after=(None, None), waited=5)).outcome == "stays-open"
    assert assess(artim, _record(closed_after=(2.0, None), waited=5)).outcome == "ok"
    blocked = _record(closed_after=(2.0,), during=Liveness(Health.UNRESPONSIVE, "silence"))
    assert assess(artim, blocked).severity is Severity.NOTE
    idle = PROBES["idle-associations"]
    assert assess(idle, _record(held=2), SETTINGS).outcome == "limited"
    assert assess(idle, _record(held=3), SETTINGS).outcome == "ok"
    assert assess(idle, _record(skipped="no")).severity is Severity.SKIPPED


def test_memory_and_stray_files_are_read_from_the_system(tmp_path: Path) -> None:
    memory = process_memory(os.getpid())
    assert memory is not None and memory.rss > 1 << 20 and memory.hwm >= memory.rss
    assert memory.processes >= 1
    storage = tmp_path / "a" / "b" / "storage"
    storage.mkdir(parents=True)
    (storage / "SC.testmark01").write_bytes(b"inside")
    assert stray_files(storage, ["../../testmark01"], "testmark01") == ()
    (tmp_path / "a" / "testmark01").write_bytes(b"outside")
    assert stray_files(storage, ["../../testmark01"], "testmark01") == (
        str(tmp_path / "a" / "testmark01"),
    )
    (tmp_path / "a" / "other-testmark02.dcm").write_bytes(b"found by name")
    assert stray_files(storage, [], "testmark02") == (str(tmp_path / "a" / "other-testmark02.dcm"),)


# --- live -----------------------------------------------------------------------------------------

LIVE = {"timeout": 3.0, "settle": 0.5, "wait": 8.0}
"""Waits of the live runs: the servers' ACSE timeouts are set to 2 s so ARTIM shows within it."""
LIVE_SETTINGS = ProbeSettings(bomb_size=4 << 20, bomb_ratio=500, idle=3, nesting=2000)


def probed(port: int, server: Server, called: str = "ANY-SCP", **more: object) -> ProbeRun:
    return run_probes(
        "127.0.0.1",
        port,
        called_ae_title=called,
        settings=LIVE_SETTINGS,
        pid=server.process.pid,
        storage=server.out,
        **{**LIVE, **more},  # type: ignore[arg-type]
    )


def by_name(run: ProbeRun) -> dict[str, ProbeRecord]:
    return {r.probe.name: r.record for r in run.results}


def check_common(run: ProbeRun) -> None:
    """What every server did: survived every probe, wrote nothing outside, ran every probe."""
    assert len(run.results) == 27 and not run.interrupted
    for result in run.results:
        record = result.record
        assert record.outside == (), result.probe.name
        if not record.skipped:
            assert record.liveness is not None and record.liveness.health is Health.ALIVE, (
                result.probe.name,
                record.liveness,
            )
            assert record.memory_before is not None and record.memory_after is not None


def test_storescp(tmp_path: Path) -> None:
    storescp = require_tool("storescp")
    port = free_port()
    stored = tmp_path / "x" / "stored"
    stored.mkdir(parents=True)
    argv = [storescp, "-od", str(stored), "-ta", "2", "+xa", str(port)]
    with dcmtk_server(argv, port, tmp_path / "storescp.log", stored) as server:
        run = probed(port, server)
        assert server.process.poll() is None
    check_common(run)
    records = by_name(run)
    # DCMTK 3.6.7 replaces the separators of a UID before naming the file (CVE-2022-2119's fix)
    assert any(".._.._" in p.name for p in stored.iterdir())
    bomb = records["deflate-bomb"]
    assert bomb.records[1].answer.kind is AnswerKind.RESPONSE
    # ARTIM in Sta2: each idle connection closed after the 2-second ACSE timeout, one at a time
    idle = records["artim-idle-connections"]
    assert idle.closed_after[0] is not None and idle.closed_after[0] < LIVE["wait"]
    # the finding: after the A-RELEASE-RP storescp waits for us to close, serving nobody else
    # (the second association is not answered while the first, released, stays open)
    released = records["artim-after-release"]
    assert released.held == 1 and released.closed_after == (None,)
    assert released.during is not None and released.during.health is Health.UNRESPONSIVE


def test_dcmqrscp(tmp_path: Path) -> None:
    with qrscp(tmp_path, "dcmqrscp") as server:  # the configuration the fuzzer's test uses
        run = probed(server.port, server, "QRSCP")
    check_common(run)
    records = by_name(run)
    # it forks per association: the idle ones are held, each its own process
    held = records["idle-associations"]
    assert held.held == 3 and held.released == 3
    before, during = held.memory_before, held.memory_during
    assert before is not None and during is not None and during.processes > before.processes
    # the finding: each forked child waits (180 s) for its released connection to close
    released = records["artim-after-release"]
    assert released.held == 3 and released.closed_after == (None, None, None)


@contextmanager
def pynetdicom_storescp(tmp_path: Path) -> Iterator[Server]:
    """pynetdicom's own storescp application, 2-second timeouts, on a free port."""
    pytest.importorskip("pynetdicom", reason="pynetdicom is the peer of this test")
    port = free_port()
    stored = tmp_path / "x" / "stored"
    stored.mkdir(parents=True)
    argv = [sys.executable, "-m", "pynetdicom", "storescp", str(port), "-od", str(stored)]
    argv += ["-ta", "2", "-tn", "2", "-ba", "127.0.0.1"]
    with (tmp_path / "pynetdicom.log").open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, port, tmp_path / "pynetdicom.log", stored)
    try:
        wait_for_port(server)
        yield server
    finally:
        stop(process)


def test_pynetdicom_storescp(tmp_path: Path) -> None:
    with pynetdicom_storescp(tmp_path) as server:
        run = probed(server.port, server)
    check_common(run)
    records = by_name(run)
    idle = records["artim-idle-connections"]
    assert all(s is not None and s < LIVE["wait"] for s in idle.closed_after)
    released = records["artim-after-release"]  # closed at once after the A-RELEASE-RP
    assert released.held == 3 and all(s is not None and s < 1 for s in released.closed_after)


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    storescp = require_tool("storescp")
    port = free_port()
    stored = tmp_path / "stored"
    stored.mkdir()
    argv = [storescp, "-od", str(stored), "-ta", "2", str(port)]
    with dcmtk_server(argv, port, tmp_path / "storescp.log", stored) as server:
        common = [
            "probe",
            "127.0.0.1",
            str(port),
            "--timeout",
            "3",
            "--pid",
            str(server.process.pid),
        ]
        code = main(
            [*common, "--storage", str(stored), "--only", "uid-traversal-relative", "length-pdv"]
        )
        text = capsys.readouterr().out
        assert code == 0, text
        assert "uid-traversal-relative-both" in text and "length-pdv-item" in text
        assert text.rstrip().endswith("4 probe(s): 3 ok, 1 note") or "4 probe(s)" in text
        code = main(
            [
                *common,
                "--only",
                "deflate-bomb",
                "--json",
                "--bomb-ratio",
                "100",
                "--bomb-size",
                "1000000",
            ]
        )
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert lines[0]["accepted"] and lines[-1]["probes"] == 1
    assert lines[1]["probe"] == "deflate-bomb" and lines[1]["severity"] == "skipped"  # no +xa
    assert main(["probe", "127.0.0.1", str(port), "--bomb-ratio", "5000"]) == 2
    assert "deflate's limit" in capsys.readouterr().err


def test_orthanc(tmp_path: Path) -> None:
    if not Path(ORTHANC).exists():
        require_tool("Orthanc")
    only = ["uid-traversal-relative", "uid-traversal-absolute", "length", "deflate-bomb"]
    with orthanc(tmp_path, free_port()) as (dicom, _):
        run = run_probes(
            "127.0.0.1",
            dicom,
            called_ae_title="ORTHANC",
            settings=LIVE_SETTINGS,
            only=only,
            storage=tmp_path / "orthanc-db",
            timeout=3.0,
            settle=0.5,
        )
    assert len(run.results) == 15
    for result in run.results:  # Orthanc names its files by hash: nothing lands outside
        assert result.record.outside == () and result.verdict.severity is not Severity.FINDING
    bomb = by_name(run)["deflate-bomb"]
    assert bomb.records[1].answer.kind is AnswerKind.RESPONSE


def test_ctrl_c_ends_a_probe_run_cleanly(tmp_path: Path) -> None:
    storescp = require_tool("storescp")
    port = free_port()
    argv = [storescp, "-od", str(tmp_path), str(port)]
    with dcmtk_server(argv, port, tmp_path / "storescp.log", tmp_path):
        command = [sys.executable, "-m", "dimse_codec", "probe", "127.0.0.1", str(port)]
        command += ["--only", "uid-traversal-relative-both", "artim-idle-connections"]
        process = subprocess.Popen(
            [*command, "--wait", "60", "--timeout", "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stderr is not None
        lines = [process.stdout.readline() for _ in range(3)]  # the header, then the first probe
        assert lines[2].startswith("uid-traversal-relative-both"), lines
        process.send_signal(signal.SIGINT)  # while the idle connections are watched
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err and err.strip() == "dimse-codec: interrupted"
    assert out.strip().endswith("1 probe(s): 1 note")  # the probe that ended is counted
