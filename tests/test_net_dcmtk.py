"""dimse_codec.net against DCMTK, both ways, over 127.0.0.1: our Client against storescp and
dcmqrscp, and echoscu/storescu/findscu/getscu/movescu against our Server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_tool
from peers import dcmtk_server, free_port, run_tool
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from dimse_codec.dataset.codec import decode_dataset
from dimse_codec.net import AssociationRejectedError, Client, Server
from dimse_codec.services import ServiceRequest, read_instance
from dimse_codec.services.contexts import STUDY_ROOT_FIND

pytestmark = pytest.mark.peer

FILES = [
    "CT_small.dcm",  # Explicit VR Little Endian
    "MR_small_implicit.dcm",
    "MR_small_RLE.dcm",  # RLE Lossless
    "JPEG2000.dcm",  # JPEG 2000
    "JPGExtended.dcm",  # JPEG Extended
]


def sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(str(path))


def run(coroutine: object, timeout: float = 60.0) -> object:
    return asyncio.run(asyncio.wait_for(coroutine, timeout))  # type: ignore[arg-type]


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    tool = require_tool("storescp")
    port, out = free_port(), tmp_path / "out"
    out.mkdir()
    argv = [tool, "+xa", "+B", "+uf", "-od", str(out), str(port)]
    with dcmtk_server(argv, port, tmp_path / "storescp.log", out):
        yield port, out


def test_echo_and_store_to_storescp_byte_for_byte(storescp: tuple[int, Path]) -> None:
    port, out = storescp
    paths = [sample(name) for name in FILES]

    async def talk() -> list[int]:
        async with Client("127.0.0.1", port, called_ae_title="STORESCP", datasets=paths) as c:
            statuses = [(await c.echo()).status]
            for path in paths:
                statuses.append((await c.store(path)).status)
            return statuses

    assert run(talk()) == [0x0000] * (1 + len(paths))
    written = [read_instance(p) for p in out.iterdir()]
    assert len(written) == len(paths)  # two test files share a SOP Instance UID: no overwrite
    for path in paths:
        sent = read_instance(path)
        assert sent in written, path.name  # same UIDs, transfer syntax and data set bytes


def test_storescp_refusal_is_an_error(tmp_path: Path) -> None:
    tool = require_tool("storescp")
    port = free_port()
    with dcmtk_server([tool, "--refuse", str(port)], port, tmp_path / "log", tmp_path):

        async def talk() -> None:
            async with Client("127.0.0.1", port) as client:
                await client.echo()

        with pytest.raises(AssociationRejectedError, match="rejected-permanent"):
            run(talk())


# -- dcmqrscp: find, get, move ---------------------------------------------------------------


@pytest.fixture
def dcmqrscp(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """dcmqrscp with a database of the test files, and our Server as its move destination."""
    tool = require_tool("dcmqrscp")
    require_tool("storescu")
    port, destination = free_port(), free_port()
    database = tmp_path / "db"
    database.mkdir()
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 8\n"
        "HostTable BEGIN\n"
        f"ours = (OURS, 127.0.0.1, {destination})\n"
        "HostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQRSCP {database} RW (100, 1024mb) ANY\nAETable END\n"
    )
    argv = [tool, "-c", str(config), str(port)]
    with dcmtk_server(argv, port, tmp_path / "dcmqrscp.log", database) as server:
        for name in ("CT_small.dcm", "MR_small.dcm"):
            done = run_tool(
                ["storescu", "-aec", "QRSCP", "127.0.0.1", str(port), str(sample(name))]
            )
            assert done.returncode == 0, done.stdout
        del server
        yield port, destination, database


def test_find_get_move_against_dcmqrscp(dcmqrscp: tuple[int, int, Path]) -> None:
    port, destination_port, _ = dcmqrscp
    ct = dcmread(sample("CT_small.dcm"))
    received: list[str] = []

    def on_store(event: ServiceRequest) -> int:
        received.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    query.PatientID = ""

    async def talk() -> tuple[list[Dataset], int, int, int]:
        async with Client(
            "127.0.0.1",
            port,
            called_ae_title="QRSCP",
            contexts=[(STUDY_ROOT_FIND, ["1.2.840.10008.1.2.1"])],
        ) as client:
            matches = [r.dataset async for r in client.find(query) if r.pending]
        retrieve = Dataset()
        retrieve.QueryRetrieveLevel = "STUDY"
        retrieve.StudyInstanceUID = ct.StudyInstanceUID
        storage = ct.SOPClassUID
        async with Client(
            "127.0.0.1",
            port,
            called_ae_title="QRSCP",
            contexts=[
                ("1.2.840.10008.5.1.4.1.2.2.3", ["1.2.840.10008.1.2.1"]),
                (storage, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]),
            ],
            roles={storage: (True, True)},
            handlers={"C-STORE": on_store},
        ) as client:
            got = await client.get(retrieve)
        async with Server({"C-STORE": on_store}, port=destination_port, ae_title="OURS"):  # noqa: SIM117
            async with Client(
                "127.0.0.1",
                port,
                called_ae_title="QRSCP",
                calling_ae_title="OURS",
                contexts=[("1.2.840.10008.5.1.4.1.2.2.2", ["1.2.840.10008.1.2.1"])],
            ) as client:
                moved = await client.move(retrieve, "OURS")
        completed = int(moved.primitive.NumberOfCompletedSuboperations)
        return [m for m in matches if m is not None], got.status, moved.status, completed

    matches, got, moved, completed = run(talk(), 120)  # type: ignore[misc]
    assert {m.StudyInstanceUID for m in matches} >= {ct.StudyInstanceUID}
    assert got == 0x0000 and moved == 0x0000 and completed == 1
    assert received == [ct.SOPInstanceUID, ct.SOPInstanceUID]


# -- DCMTK clients against our Server ----------------------------------------------------------


MOVESCU_PORT = free_port()
"""Where movescu listens for the C-MOVE's sub-operation association (our server's peer)."""


@pytest.fixture
def our_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``tests/net_server.py`` on a free port (it prints the port), stopped by PID."""
    out = tmp_path / "ours"
    out.mkdir()
    script = Path(__file__).with_name("net_server.py")
    argv = [sys.executable, str(script), str(out), f"MOVESCU={MOVESCU_PORT}"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield port, out
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_echoscu_storescu_to_our_server(our_server: tuple[int, Path]) -> None:
    port, out = our_server
    echo = run_tool([require_tool("echoscu"), "127.0.0.1", str(port)])
    assert echo.returncode == 0, echo.stdout
    for name in ("MR_small_RLE.dcm", "CT_small.dcm"):
        path = sample(name)
        store = run_tool([require_tool("storescu"), "-xr", "127.0.0.1", str(port), str(path)])
        assert store.returncode == 0, store.stdout
        sent = read_instance(path)
        received = (out / f"{sent.sop_instance}.bin").read_bytes()
        # storescu re-encodes what it reads (group lengths, padding): compare the elements,
        # and the pixel data (RLE fragments included) byte for byte, in the file's own syntax
        original = dcmread(path)
        decoded = decode_dataset(received, sent.transfer_syntax)
        assert [e.tag for e in decoded if e.tag.element and e.tag != 0xFFFCFFFC] == [
            e.tag for e in original if e.tag.element and e.tag != 0xFFFCFFFC
        ]
        assert decoded.PixelData == original.PixelData


def test_findscu_getscu_movescu_to_our_server(our_server: tuple[int, Path], tmp_path: Path) -> None:
    port, out = our_server
    keys = ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="]
    find = run_tool(
        [require_tool("findscu"), "-v", *keys, "-k", "PatientName=", "127.0.0.1", str(port)]
    )
    assert find.returncode == 0, find.stdout
    assert "Patient's Name" in (out / "find.log").read_text()
    assert "Doe^Jane" in find.stdout
    for tool, extra in (
        ("getscu", []),
        ("movescu", ["-aet", "MOVESCU", "-aem", "MOVESCU", "+P", str(MOVESCU_PORT)]),
    ):
        target = tmp_path / tool
        target.mkdir()
        done = run_tool(
            [require_tool(tool), "-v", *keys, *extra, "-od", str(target), "127.0.0.1", str(port)]
        )
        assert done.returncode == 0, done.stdout
        files = list(target.iterdir())
        assert len(files) == 1, (tool, done.stdout)
        assert dcmread(files[0]).PatientName == "Doe^Jane"
