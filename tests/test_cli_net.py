"""``dimse-codec echo``, ``store`` and ``serve`` against real peers over 127.0.0.1: our echo and
store into DCMTK ``storescp``, DCMTK ``echoscu``/``storescu`` and a pynetdicom Storage
Commitment SCU into our ``serve``, UIDs crafted to escape the output folder, and the server's
network timer while a handler is slow. Every process is started and stopped by its PID."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_tool
from peers import STARTUP_TIMEOUT, dcmtk_server, free_port, run_tool, stop
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from test_net_dcmtk import storescp  # noqa: F401 - the DCMTK net tests' fixture, shared

from dimse_codec.cli.serve import STORAGE_SOP_CLASSES, safe_name
from dimse_codec.dimse.codec import encode_message
from dimse_codec.dimse.primitives import C_STORE
from dimse_codec.net import AssociationAborted, BlockingClient, Client, Server
from dimse_codec.pdata.fragmenter import encode_pdata
from dimse_codec.services import ServiceRequest, read_instance
from dimse_codec.services.contexts import EXPLICIT, NATIVE, STUDY_ROOT_FIND
from dimse_codec.upper_layer import Connection, Timeouts

pytestmark = pytest.mark.peer

CT = "1.2.840.10008.5.1.4.1.1.2"
FILES = ["CT_small.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm"]


def sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(str(path))


def cli(*argv: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``dimse-codec`` in a child process and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "dimse_codec.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    port: int
    out: Path

    def output(self) -> str:
        """Stop it (SIGTERM) and return everything it printed."""
        stop(self.process)
        return self.printed

    printed: str = ""


@contextmanager
def serving(out: Path, *options: str, port: int = 0) -> Iterator[Serving]:
    """``dimse-codec serve PORT --out OUT``, its port read from its first line."""
    argv = [sys.executable, "-m", "dimse_codec.cli.main", "serve", str(port), "--out", str(out)]
    process = subprocess.Popen(
        [*argv, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    try:
        line = _first_line(process)
        found = re.search(r"listening on [^ ]+:(\d+) ", line)
        assert found is not None, line
        yield Serving(process, int(found.group(1)), out)
    finally:
        stop(process)


def _first_line(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    deadline, line = time.monotonic() + STARTUP_TIMEOUT, b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise TimeoutError("serve printed nothing")
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            raise RuntimeError(f"serve exited: {process.stderr.read() if process.stderr else ''}")
        line += chunk
    return line.decode()


# -- echo and store against storescp ---------------------------------------------------------


def test_echo_to_storescp(storescp: tuple[int, Path]) -> None:  # noqa: F811 - the imported fixture
    port, _ = storescp
    done = cli("echo", "127.0.0.1", str(port), "--aet", "ME", "--aec", "STORESCP")
    assert done.returncode == 0, done.stderr
    assert "0000H Success" in done.stdout


def test_echo_with_nothing_listening_is_exit_2() -> None:
    done = cli("echo", "127.0.0.1", str(free_port()), "--timeout", "5")
    assert done.returncode == 2
    assert done.stderr.startswith("error: 127.0.0.1:") and "Traceback" not in done.stderr


def test_store_to_storescp_byte_for_byte(storescp: tuple[int, Path], tmp_path: Path) -> None:  # noqa: F811 - the imported fixture
    port, out = storescp
    folder = tmp_path / "in" / "deeper"
    folder.mkdir(parents=True)
    for name in FILES[1:]:
        (folder / name).write_bytes(sample(name).read_bytes())
    (folder / "notes.txt").write_text("not DICOM")
    done = cli("store", "127.0.0.1", str(port), str(sample(FILES[0])), str(tmp_path / "in"))
    lines = done.stdout.splitlines()
    assert len(lines) == len(FILES) + 1, done.stdout
    assert sum("0000H Success" in line for line in lines) == len(FILES)
    assert any(line.startswith(f"{folder / 'notes.txt'}: not sent") for line in lines)
    assert done.returncode == 1  # the unreadable file counts as failed
    written = [read_instance(p) for p in out.iterdir()]
    for name in FILES:  # same UIDs, transfer syntax (compressed kept) and data set bytes
        assert read_instance(sample(name)) in written, name


def test_store_only_good_files_is_exit_0(storescp: tuple[int, Path]) -> None:  # noqa: F811 - the imported fixture
    port, _ = storescp
    done = cli("store", "127.0.0.1", str(port), str(sample("CT_small.dcm")), "--max-pdu", "8192")
    assert done.returncode == 0, done.stdout + done.stderr


def test_store_refused_class_is_a_failed_line(tmp_path: Path) -> None:
    tool = require_tool("storescp")
    port = free_port()
    # storescp accepting only Verification: the CT context is refused, the file is not sent
    argv = [tool, "-xf", str(_verification_only(tmp_path)), "Default", str(port)]
    with dcmtk_server(argv, port, tmp_path / "log", tmp_path):
        done = cli("store", "127.0.0.1", str(port), str(sample("CT_small.dcm")))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(f"{sample('CT_small.dcm')}: not sent"), done.stdout


def _verification_only(tmp_path: Path) -> Path:
    config = tmp_path / "storescp.cfg"
    config.write_text(
        "[[TransferSyntaxes]]\n[Default]\nTransferSyntax1 = LittleEndianExplicit\n"
        "[[PresentationContexts]]\n[Default]\n"
        "PresentationContext1 = VerificationSOPClass\\Default\n"
        "[[Profiles]]\n[Default]\nPresentationContexts = Default\n"
    )
    return config


# -- serve against DCMTK ---------------------------------------------------------------------


def test_serve_against_echoscu_and_storescu(tmp_path: Path) -> None:
    echoscu, storescu = require_tool("echoscu"), require_tool("storescu")
    out = tmp_path / "out"
    with serving(out, "--aet", "OURS") as server:
        done = run_tool([echoscu, "-aec", "OURS", "127.0.0.1", str(server.port)])
        assert done.returncode == 0, done.stdout
        wrong = run_tool([echoscu, "-aec", "OTHER", "127.0.0.1", str(server.port)])
        assert wrong.returncode != 0  # called AE title not recognised
        for name, proposal in zip(FILES, ("-xe", "-xi", "-xr", "-xw"), strict=True):
            # -R and the file's own transfer syntax proposed: storescu sends it as it is
            argv = [storescu, "-R", proposal, "-aec", "OURS", "127.0.0.1", str(server.port)]
            done = run_tool([*argv, str(sample(name))])
            assert done.returncode == 0, done.stdout
    stored = {read_instance(p).sop_instance: p for p in out.iterdir()}
    assert len(stored) == 3  # MR_small_implicit and MR_small_RLE share their SOP Instance UID
    assert len(list(out.iterdir())) == len(FILES)  # ... and neither overwrote the other
    for name in FILES:
        # storescu writes each data set anew from its in-memory model (even around compressed
        # pixel data; it drops trailing padding), so the bytes it sends are not the file's:
        # the elements are compared, the pixel data (encapsulated fragments included) byte
        # for byte, and the transfer syntax must be the file's (byte for byte: the next test).
        sent = dcmread(sample(name))
        if 0xFFFCFFFC in sent:  # DCMTK drops Data Set Trailing Padding (PS3.10 7.2)
            del sent[0xFFFCFFFC]
        same = [
            theirs
            for p in out.iterdir()
            if (theirs := dcmread(p)).file_meta.TransferSyntaxUID
            == sent.file_meta.TransferSyntaxUID
            and theirs.SOPInstanceUID == sent.SOPInstanceUID
        ]
        assert len(same) == 1 and same[0] == sent, name
        assert same[0].PixelData == sent.PixelData, name
    meta = dcmread(stored[read_instance(sample("JPEG2000.dcm")).sop_instance]).file_meta
    assert meta.ImplementationClassUID == "2.25.331889449783737508893263767948609155835"
    assert meta.SourceApplicationEntityTitle.strip() == "STORESCU"


def test_store_into_serve_byte_for_byte(tmp_path: Path) -> None:
    """Our store sends each file's data set as it is, and serve keeps it as it arrived."""
    out = tmp_path / "out"
    with serving(out) as server:
        done = cli("store", "127.0.0.1", str(server.port), *(str(sample(n)) for n in FILES))
        assert done.returncode == 0, done.stdout + done.stderr
    received = [read_instance(p) for p in out.iterdir()]
    assert len(received) == len(FILES)
    for name in FILES:
        assert read_instance(sample(name)) in received, name


def test_serve_ctrl_c_and_sigterm_end_cleanly(tmp_path: Path) -> None:
    with serving(tmp_path / "out") as server:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 130
        assert server.process.stderr is not None
        err = server.process.stderr.read().decode()
        assert "interrupted" in err and "Traceback" not in err
    with serving(tmp_path / "out") as server:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


def test_serve_with_stdout_closed_stops_with_141(tmp_path: Path) -> None:
    with serving(tmp_path / "out") as server:
        assert server.process.stdout is not None
        server.process.stdout.close()  # the reader went away; the next line cannot be written
        client = BlockingClient("127.0.0.1", server.port, datasets=[sample("CT_small.dcm")])
        with contextlib.suppress(AssociationAborted), client:  # it may stop before answering
            client.store(sample("CT_small.dcm"))
        assert server.process.wait(timeout=30) == 141
        assert [read_instance(p) for p in server.out.iterdir()] == [
            read_instance(sample("CT_small.dcm"))
        ]
        assert server.process.stderr is not None
        assert b"Traceback" not in server.process.stderr.read()


# -- path traversal through UIDs -------------------------------------------------------------


def _element(tag: int, value: bytes) -> bytes:
    """One Implicit VR Little Endian command element (padded with NUL to an even length)."""
    value += b"\x00" * (len(value) % 2)
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def _crafted_store(uid: bytes) -> bytes:
    """A C-STORE-RQ command set whose Affected SOP Instance UID is ``uid`` as it is."""
    body = b"".join(
        [
            _element(0x00000002, CT.encode()),
            _element(0x00000100, struct.pack("<H", 0x0001)),
            _element(0x00000110, struct.pack("<H", 1)),
            _element(0x00000700, struct.pack("<H", 0)),
            _element(0x00000800, struct.pack("<H", 0x0000)),
            _element(0x00001000, uid),
        ]
    )
    return _element(0x00000000, struct.pack("<I", len(body))) + body


def _send_crafted(port: int, uid: bytes, data: bytes) -> None:
    """Associate with the library's sans-I/O Connection, then write a hand-made C-STORE-RQ
    (no primitive would hold such a UID) and wait for the answer."""
    connection = Connection("requestor")
    connection.request_association("CRAFTED", "ANY-SCP", [(CT, [EXPLICIT])], now=0.0)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        connection.transport_connected(now=0.0)
        sock.sendall(connection.data_to_send())
        while connection.state != "Sta6":
            chunk = sock.recv(65536)
            assert chunk, "no association"
            connection.receive_data(chunk, now=0.0)
        assert connection.association is not None
        context_id = connection.association.context_id_for(CT)
        request = C_STORE(AffectedSOPClassUID=CT, AffectedSOPInstanceUID="1.2", DataSet=data)
        request.MessageID, request.Priority = 1, 0
        valid = encode_message(request)
        message = valid._replace(command_set=_crafted_store(uid))
        plan = encode_pdata(message, context_id, max_pdu_length=16384)
        sock.sendall(b"".join(b"".join(bytes(part) for part in pdu) for pdu in plan))
        assert sock.recv(65536)  # the C-STORE-RSP: the file was written before it


@pytest.mark.parametrize(
    "uid",
    [
        b"../../x",
        b"..",
        b"/etc/passwd",
        b"1.2/../../3",
        b"1." * 40 + b"1",
        b"1.2.\x00../x",
        b"a" * 300,
        b"..\\..\\x",
        b"\xff\xfe/x",
    ],
)
def test_serve_never_writes_outside_its_folder(tmp_path: Path, uid: bytes) -> None:
    root = tmp_path / "root"
    out = root / "a" / "out"
    data = b"\x10\x00\x10\x00PN\x08\x00Doe^Jane"  # Patient's Name, Explicit VR Little Endian
    with serving(out) as server:
        _send_crafted(server.port, uid, data)
    everything = list(root.rglob("*"))
    files = [p for p in everything if p.is_file()]
    assert len(files) == 1 and files[0].parent == out, everything
    assert re.fullmatch(r"uid-[0-9a-f]{40}\.dcm", files[0].name), files[0].name
    assert files[0].read_bytes().endswith(data)


def test_safe_name_keeps_valid_uids_only() -> None:
    assert safe_name("1.2.840.10008.5.1.4.1.1.2\x00") == "1.2.840.10008.5.1.4.1.1.2.dcm"
    for bad in ("", ".", "1..2", "01.2", "1.2.", "1.2/3", "1" * 65):
        name = safe_name(bad)
        assert name.startswith("uid-") and "/" not in name and name != safe_name(bad + "0")
    assert CT in STORAGE_SOP_CLASSES and "1.2.840.10008.5.1.4.38.1" in STORAGE_SOP_CLASSES
    assert "1.2.840.10008.1.20.1" not in STORAGE_SOP_CLASSES  # Storage Commitment is not one


# -- Storage Commitment against a pynetdicom SCU ---------------------------------------------


def test_serve_storage_commitment_with_pynetdicom(tmp_path: Path) -> None:
    pynetdicom = pytest.importorskip("pynetdicom")
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

    stored = read_instance(sample("CT_small.dcm"))
    reports: list[Dataset] = []

    def on_report(event: object) -> int:
        reports.append(event.event_information)  # type: ignore[attr-defined]
        return 0x0000

    with serving(tmp_path / "out") as server:
        done = cli("store", "127.0.0.1", str(server.port), str(sample("CT_small.dcm")))
        assert done.returncode == 0, done.stdout
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(StorageCommitmentPushModel)
        assoc = ae.associate(
            "127.0.0.1", server.port, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)]
        )
        assert assoc.is_established
        info = Dataset()
        info.TransactionUID = "1.2.3.4.5"
        known, unknown = Dataset(), Dataset()
        known.ReferencedSOPClassUID, known.ReferencedSOPInstanceUID = CT, stored.sop_instance
        unknown.ReferencedSOPClassUID, unknown.ReferencedSOPInstanceUID = CT, "1.2.3.999"
        info.ReferencedSOPSequence = [known, unknown]
        status, _ = assoc.send_n_action(
            info, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1"
        )
        assert status.Status == 0x0000
        deadline = time.monotonic() + 30
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)  # the report follows on the same association
        assoc.release()
    assert pynetdicom is not None and len(reports) == 1
    report = reports[0]
    assert report.TransactionUID == "1.2.3.4.5"
    assert [i.ReferencedSOPInstanceUID for i in report.ReferencedSOPSequence] == [
        stored.sop_instance
    ]
    assert [(i.ReferencedSOPInstanceUID, i.FailureReason) for i in report.FailedSOPSequence] == [
        ("1.2.3.999", 0x0112)
    ]


# -- the network timer measures the peer, not our work ---------------------------------------


def test_slow_handler_is_not_taken_for_a_silent_peer() -> None:
    """A C-FIND whose results take 3x the network timeout to produce still completes."""

    def slow_find(event: ServiceRequest) -> Iterator[tuple[int, Dataset]]:
        for number in range(3):
            time.sleep(0.5)  # the handler works (blocking, as a database query would)
            match = Dataset()
            match.PatientID = str(number)
            yield 0xFF00, match

    timeouts = Timeouts(artim=5.0, acse=5.0, dimse=30.0, network=0.5)

    async def talk() -> tuple[int, int]:
        async with (
            Server({"C-FIND": slow_find}, timeouts=timeouts) as server,
            Client("127.0.0.1", server.port, contexts=[(STUDY_ROOT_FIND, list(NATIVE))]) as client,
        ):
            query = Dataset()
            query.QueryRetrieveLevel, query.PatientID = "PATIENT", ""
            pending = final = -1
            found = [r async for r in client.find(query)]
            pending = sum(r.pending for r in found)
            final = found[-1].status
            return pending, final

    assert asyncio.run(asyncio.wait_for(talk(), 60)) == (3, 0x0000)
