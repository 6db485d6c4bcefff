"""``dimse-codec replay`` against real peers over 127.0.0.1, on captures recorded here with
tcpdump: DCMTK's echoscu, storescu, findscu and getscu talking to storescp, dcmqrscp and a
pynetdicom SCP, played again with ``--to`` (the same SCP answers "same", one that answers
otherwise is a difference) and answered with ``--listen`` (DCMTK's clients and pynetdicom get the
captured statuses, matches and sub-operations). Every process is started and stopped by its PID."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from peers import STARTUP_TIMEOUT, dcmtk_server, free_port, run_tool, stop
from pydicom import dcmread
from recording import tcpdump
from test_capture_pynetdicom import pynetdicom_scp as scp_thread
from test_cli_net import _first_line as first_line
from test_cli_net import cli, sample

from dimse_codec.capture import decode_capture
from dimse_codec.replay import captured_associations
from dimse_codec.services.contexts import EXPLICIT, IMPLICIT, STUDY_ROOT_FIND, VERIFICATION

pytestmark = pytest.mark.peer

CT_SMALL = "CT_small.dcm"
OUT_OF_RESOURCES = 0xA700


@dataclass
class Listening:
    process: subprocess.Popen[bytes]
    port: int

    def output(self) -> str:
        """Wait for it to end (it serves ``--count`` associations) and return what it printed."""
        assert self.process.stdout is not None and self.process.stderr is not None
        try:
            self.process.wait(timeout=STARTUP_TIMEOUT)
            return (self.process.stdout.read() + self.process.stderr.read()).decode()
        finally:
            stop(self.process)


@contextmanager
def listening(capture: Path, *options: str) -> Iterator[Listening]:
    """``dimse-codec replay CAPTURE --listen 0``, its port read from its first line."""
    argv = [sys.executable, "-m", "dimse_codec.cli.main", "replay", str(capture), "--listen", "0"]
    process = subprocess.Popen(
        [*argv, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    try:
        line = first_line(process)
        found = re.search(r"listening on [^ ]+:(\d+),", line)
        assert found is not None, line
        yield Listening(process, int(found.group(1)))
    finally:
        stop(process)


# -- pynetdicom as the SCP -----------------------------------------------------------------------


def pynetdicom_scp(store_status: int = 0x0000) -> AbstractContextManager[int]:
    """A pynetdicom Verification and Storage SCP in a thread, answering C-STORE with a status."""
    from pynetdicom import StoragePresentationContexts, evt

    contexts = {
        str(c.abstract_syntax): list(c.transfer_syntax) for c in StoragePresentationContexts
    }
    contexts[VERIFICATION] = [IMPLICIT]
    return scp_thread(contexts, [(evt.EVT_C_STORE, lambda event: store_status)])


def record_store(path: Path, port: int) -> Path:
    """echoscu then storescu of CT_small to the SCP on ``port``, recorded into ``path``."""
    require_tool("echoscu")
    require_tool("storescu")
    with tcpdump(path, [port]):
        assert run_tool(["echoscu", "127.0.0.1", str(port)]).returncode == 0
        run_tool(["storescu", "127.0.0.1", str(port), str(sample(CT_SMALL))])
    return path


@pytest.fixture(scope="module")
def pynetdicom_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DCMTK's echoscu and storescu talking to a pynetdicom SCP that stores successfully."""
    with pynetdicom_scp() as port:
        return record_store(tmp_path_factory.mktemp("pynetdicom") / "store.pcap", port)


@pytest.fixture(scope="module")
def refusing_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same, with an SCP that answers every C-STORE A700H (Refused: Out of Resources)."""
    with pynetdicom_scp(OUT_OF_RESOURCES) as port:
        return record_store(tmp_path_factory.mktemp("refusing") / "store.pcap", port)


def test_replay_to_the_same_pynetdicom_scp_is_the_same(pynetdicom_capture: Path) -> None:
    with pynetdicom_scp() as port:
        done = cli("replay", str(pynetdicom_capture), "--to", "127.0.0.1", str(port))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "association 0: same (1 request(s))",
        "association 1: same (1 request(s))",
        f"replayed 2 association(s) against 127.0.0.1:{port}: 2 same, 0 different, 0 skipped",
    ]


def test_replay_to_an_scp_that_refuses_says_the_difference(pynetdicom_capture: Path) -> None:
    with pynetdicom_scp(OUT_OF_RESOURCES) as port:
        done = cli("replay", str(pynetdicom_capture), "--to", "127.0.0.1", str(port))
        as_json = cli("replay", str(pynetdicom_capture), "--to", "127.0.0.1", str(port),
                      "--association", "1", "--json")  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "association 0: same (1 request(s))"
    assert re.fullmatch(
        r"association 1 request 1 C-STORE-RQ: status: captured 0000H Success, "
        r"replayed A700H Failure: Refused: Out of resources",
        lines[1],
    ), lines[1]
    assert lines[2] == "association 1: different (1 request(s), 1 difference)"
    assert as_json.returncode == 1
    objects = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [o["type"] for o in objects] == ["difference", "association", "summary"]
    assert objects[0]["aspect"] == "status" and objects[0]["replayed"].startswith("A700H")
    assert objects[1] == {"type": "association", "association": 1, "verdict": "different",
                          "requests": 1, "differences": 1, "skipped": None}  # fmt: skip


def test_replay_to_nothing_listening_is_exit_2(pynetdicom_capture: Path) -> None:
    done = cli("replay", str(pynetdicom_capture), "--to", "127.0.0.1", str(free_port()))
    assert (
        done.returncode == 2 and "cannot connect" in done.stderr and "Traceback" not in done.stderr
    )


@contextmanager
def storescp(out: Path) -> Iterator[int]:
    """DCMTK's storescp on a free port, writing to ``out``."""
    tool = require_tool("storescp")
    port = free_port()
    out.mkdir()
    with dcmtk_server([tool, "-od", str(out), str(port)], port, out.with_suffix(".log"), out):
        yield port


@pytest.fixture(scope="module")
def storescp_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DCMTK's echoscu and storescu (CT_small) talking to DCMTK's storescp."""
    base = tmp_path_factory.mktemp("storescp")
    with storescp(base / "received") as port:
        return record_store(base / "storescp.pcap", port)


def test_storescp_replayed_against_storescp_is_the_same(
    storescp_capture: Path, tmp_path: Path
) -> None:
    with storescp(tmp_path / "out") as port:
        done = cli("replay", str(storescp_capture), "--to", "127.0.0.1", str(port))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith("2 same, 0 different, 0 skipped")
    # the instance went again, its data set byte for byte
    (stored,) = (tmp_path / "out").iterdir()
    assert dcmread(stored).SOPInstanceUID == dcmread(sample(CT_SMALL)).SOPInstanceUID


def test_a_fuzz_seeded_from_a_capture_sends_its_requests(
    storescp_capture: Path, tmp_path: Path
) -> None:
    """``fuzz --seed-capture``: the first example is a captured request as captured (here the
    C-ECHO), the captured C-STORE of CT_small reaches storescp, and broken seeds are sent."""
    with storescp(tmp_path / "out") as port:
        done = cli("fuzz", "127.0.0.1", str(port), "--seed-capture", str(storescp_capture),
                   "--max-examples", "40", "--seed", "3", "--max-shrinks", "0", "-v",
                   "--out", str(tmp_path / "findings"))  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert f"seeds: 2 of 2 captured request(s) of {storescp_capture} go on what the SCP " \
        "accepted" in lines  # fmt: skip
    examples = [line.split()[2].rstrip(":") for line in lines if re.match(r"\s+\d+ \S+ ", line)]
    assert len(examples) == 40 and examples[0] == "seed"
    assert {"seed-command", "seed-dataset", "seed-pdu"} & set(examples)
    ct = dcmread(sample(CT_SMALL)).SOPInstanceUID
    assert any(path.name.endswith(str(ct)) for path in (tmp_path / "out").iterdir())


def test_listen_answers_storescu_and_pynetdicom_with_the_captured_refusal(
    refusing_capture: Path,
) -> None:
    from pynetdicom import AE

    with listening(refusing_capture, "--count", "2") as listener:
        echo = run_tool(["echoscu", "127.0.0.1", str(listener.port)])
        store = run_tool(["storescu", "-v", "127.0.0.1", str(listener.port), str(sample(CT_SMALL))])
        output = listener.output()
    assert echo.returncode == 0, echo.stdout
    assert "Received Store Response (Refused: OutOfResources)" in store.stdout, store.stdout
    lines = output.splitlines()
    assert "played captured association 0: 1 request(s) answered as captured" in lines[0]
    assert "played captured association 1: 1 request(s) answered as captured" in lines[1]
    # pynetdicom as the SCU of the captured storescu association: the first C-STORE gets the
    # captured refusal, the second has no captured request left to answer it
    ct = dcmread(sample(CT_SMALL))
    with listening(refusing_capture, "--association", "1", "--count", "1") as listener:
        ae = AE(ae_title="PYNETDICOM-SCU")
        ae.add_requested_context(ct.SOPClassUID, ct.file_meta.TransferSyntaxUID)
        assoc = ae.associate("127.0.0.1", listener.port)
        assert assoc.is_established
        statuses = [assoc.send_c_store(ct).Status, assoc.send_c_store(ct).Status]
        assoc.release()
        output = listener.output()
    assert statuses == [OUT_OF_RESOURCES, 0x0110]
    assert "1 request(s) answered as captured, 1 without a captured answer; released" in output


@contextmanager
def cancellable_find_scp() -> Iterator[int]:
    """A pynetdicom Study Root C-FIND SCP: five matches, 0.2 s apart, stopping on C-CANCEL."""
    from pydicom.dataset import Dataset
    from pynetdicom import evt

    def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        for number in range(5):
            if event.is_cancelled:
                yield 0xFE00, None
                return
            match = Dataset()
            match.QueryRetrieveLevel = "STUDY"
            match.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1077.{number + 1}"
            yield 0xFF00, match
            time.sleep(0.2)  # time for the C-CANCEL to arrive before the next match

    contexts = {STUDY_ROOT_FIND: [IMPLICIT, EXPLICIT]}
    with scp_thread(contexts, [(evt.EVT_C_FIND, on_find)]) as port:
        yield port


def test_a_cancelled_find_is_cancelled_again(tmp_path: Path) -> None:
    """findscu cancels after the first match; the replay cancels at the same point and gets
    the same Cancel status after one Pending response."""
    require_tool("findscu")
    query = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID"]
    with cancellable_find_scp() as port:
        capture = tmp_path / "cancel.pcap"
        with tcpdump(capture, [port]):
            found = run_tool(["findscu", "--cancel", "1", *query, "127.0.0.1", str(port)])
        assert found.returncode == 0, found.stdout
        done = cli("replay", str(capture), "--to", "127.0.0.1", str(port), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    (verdict, _) = [json.loads(line) for line in done.stdout.splitlines()]
    assert verdict["verdict"] == "same" and verdict["requests"] == 1
    (association,) = captured_associations(decode_capture(capture))
    (exchange,) = association.exchanges
    assert exchange.cancel is not None and exchange.pending_before_cancel == 1
    assert [m.status for m in exchange.responses] == [0xFF00, 0xFE00]


# -- dcmqrscp: find and get ----------------------------------------------------------------------


@dataclass
class Archive:
    port: int
    capture: Path
    study: str
    out: Path


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """dcmqrscp holding CT_small and MR_small, and a capture of echoscu, findscu (two studies
    match) and getscu (one instance comes back as a C-STORE sub-operation) talking to it."""
    tool = require_tool("dcmqrscp")
    for name in ("storescu", "echoscu", "findscu", "getscu"):
        require_tool(name)
    base = tmp_path_factory.mktemp("archive")
    port = free_port()
    database = base / "db"
    database.mkdir()
    config = base / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 8\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQRSCP {database} RW (100, 1024mb) ANY\nAETable END\n"
    )
    study = str(dcmread(sample(CT_SMALL)).StudyInstanceUID)
    (base / "got").mkdir()
    with dcmtk_server([tool, "-c", str(config), str(port)], port, base / "log", database):
        for name in (CT_SMALL, "MR_small.dcm"):
            done = run_tool(
                ["storescu", "-aec", "QRSCP", "127.0.0.1", str(port), str(sample(name))]
            )
            assert done.returncode == 0, done.stdout
        capture = base / "qr.pcap"
        with tcpdump(capture, [port]):
            talk(port, study, base / "got")
        yield Archive(port, capture, study, base)


def talk(port: int, study: str, out: Path) -> list[subprocess.CompletedProcess[str]]:
    """echoscu, findscu and getscu against a Query/Retrieve SCP (or our --listen)."""
    address = ["127.0.0.1", str(port)]
    return [
        run_tool(["echoscu", "-aec", "QRSCP", *address]),
        run_tool(["findscu", "-v", "-S", "-aec", "QRSCP", "-k", "QueryRetrieveLevel=STUDY",
                  "-k", "StudyInstanceUID", "-k", "PatientID", *address]),
        run_tool(["getscu", "-v", "-S", "-aec", "QRSCP", "-od", str(out), "-k",
                  "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}", *address]),
    ]  # fmt: skip


def test_find_and_get_replayed_against_dcmqrscp_are_the_same(archive: Archive) -> None:
    done = cli("replay", str(archive.capture), "--to", "127.0.0.1", str(archive.port), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["verdict"], o["requests"]) for o in objects if o["type"] == "association"] == [
        ("same", 1), ("same", 1), ("same", 1),
    ]  # fmt: skip


def test_a_missing_match_is_a_difference(archive: Archive, tmp_path: Path) -> None:
    """Against an empty dcmqrscp the C-FIND matches nothing and the C-GET sends nothing."""
    tool = require_tool("dcmqrscp")
    port = free_port()
    (tmp_path / "db").mkdir()
    config = tmp_path / "dcmqrscp.cfg"
    text = archive.out.joinpath("dcmqrscp.cfg").read_text()
    text = text.replace(str(archive.port), str(port))
    config.write_text(text.replace(str(archive.out / "db"), str(tmp_path / "db")))
    with dcmtk_server([tool, "-c", str(config), str(port)], port, tmp_path / "log", tmp_path):
        done = cli("replay", str(archive.capture), "--to", "127.0.0.1", str(port))
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout
    assert "association 1 request 1 C-FIND-RQ: pending: captured 2, replayed 0" in text
    assert "association 1 request 1 C-FIND-RQ: datasets: captured 2 data set(s), 2 not seen" in text
    assert "association 2 request 1 C-GET-RQ: sub-operations: captured 1, replayed 0" in text
    assert "association 0: same (1 request(s))" in text


def test_listen_answers_echoscu_findscu_and_getscu_as_dcmqrscp_did(
    archive: Archive, tmp_path: Path
) -> None:
    with listening(archive.capture, "--count", "3") as listener:
        echo, find, get = talk(listener.port, archive.study, tmp_path)
        output = listener.output()
    assert echo.returncode == 0 and find.returncode == 0 and get.returncode == 0, output
    assert find.stdout.count("Received Final Find Response") == 1
    assert len(re.findall(r"Find Response: \d+ \(Pending\)", find.stdout)) == 2, find.stdout
    assert "Number of Completed Suboperations : 1" in get.stdout
    (got,) = tmp_path.iterdir()
    assert dcmread(got).SOPInstanceUID == dcmread(sample(CT_SMALL)).SOPInstanceUID
    assert output.count("1 request(s) answered as captured, 0 without a captured answer") == 3


@pytest.mark.parametrize(("how", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_listen_stops_cleanly_on_sigterm_and_ctrl_c(
    pynetdicom_capture: Path, how: signal.Signals, code: int
) -> None:
    with listening(pynetdicom_capture) as listener:
        listener.process.send_signal(how)
        assert listener.process.wait(timeout=STARTUP_TIMEOUT) == code
        assert listener.process.stderr is not None
        err = listener.process.stderr.read().decode()
    assert "Traceback" not in err
    assert err == ("" if how == signal.SIGTERM else "\ndimse-codec: interrupted\n")
