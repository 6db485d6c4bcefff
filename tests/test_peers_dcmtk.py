"""The wire layer against DCMTK over 127.0.0.1, both ways.

* our asyncio SCU (``docs/examples/asyncio_scu.py``) -> DCMTK ``storescp``: C-ECHO, and C-STORE
  in Implicit and Explicit VR Little Endian, including a data set over 1 MB cut for the 4096-byte
  maximum storescp announces; storescp writes what it receives bit for bit (``+B``), so the data
  set in its file must be exactly the bytes we encoded; its refusal and A-ABORT reach our SCU as
  the right errors, and the SCU's command line works against it;
* DCMTK ``echoscu`` and ``storescu`` (``-xi``/``-xe``, ``--max-pdu 4096``) -> our asyncio SCP
  (``docs/examples/asyncio_scp.py``, announcing 4096 too): they exit 0, and the Part-10 files our
  SCP wrote hold what storescu sent.

Each server is a subprocess on a free port, waited for with a bounded poll and stopped by PID.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_tool
from peers import (
    EXPLICIT,
    IMPLICIT,
    LARGE,
    PEER_TIMEOUT,
    SMALL,
    Server,
    dcmtk_server,
    example_scp,
    free_port,
    load_example,
    read_dataset,
    run_tool,
    secondary_capture,
    split_part10,
    wait_for_file,
    write_part10,
)
from pydicom.dataset import Dataset

from dimse_codec import C_ECHO
from dimse_codec.association import IMPLEMENTATION_CLASS_UID
from dimse_codec.dataset import encode_dataset

pytestmark = pytest.mark.peer

scu = load_example("asyncio_scu")

MAX_PDU = 4096
"""What storescp and our SCP announce: the largest P-DATA-TF (PDU-length) each receives."""
STORESCP_AE = "STORESCP"
OUR_AE = "DIMSECODEC"
SYNTAXES = {"implicit": IMPLICIT, "explicit": EXPLICIT}


@pytest.fixture(scope="module")
def storescp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """DCMTK storescp: all transfer syntaxes (+xa), bit-preserving files (+B), 4096-byte PDUs."""
    exe = require_tool("storescp")
    work = tmp_path_factory.mktemp("storescp")
    out = work / "out"
    out.mkdir()
    port = free_port()
    argv = [exe, "-v", "-aet", STORESCP_AE, "--max-pdu", str(MAX_PDU), "+xa", "+B"]
    argv += ["-od", str(out), str(port)]
    with dcmtk_server(argv, port, work / "storescp.log", out) as server:
        yield server


@pytest.fixture(scope="module")
def our_scp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The example SCP, called DIMSECODEC, announcing a 4096-byte maximum PDU."""
    work = tmp_path_factory.mktemp("asyncio_scp")
    out = work / "out"
    out.mkdir()
    with example_scp(out, work / "scp.log", "--ae", OUR_AE, "--max-pdu", str(MAX_PDU)) as server:
        yield server


def _no_protocol_warnings(server: Server) -> None:
    """Our SCP logs every diagnostic and abort as a WARNING; a clean exchange has none."""
    warnings = [line for line in server.log_text().splitlines() if " WARNING " in line]
    assert warnings == []


# -- our SCU -> storescp -------------------------------------------------------------------------


def test_c_echo_to_storescp(storescp: Server) -> None:
    """Our association request and C-ECHO satisfy DCMTK, and we read its AC and response."""

    async def exchange() -> None:
        client = await scu.Client.connect(
            "127.0.0.1",
            storescp.port,
            [(scu.VERIFICATION, [IMPLICIT])],
            called_ae_title=STORESCP_AE,
            timeout=PEER_TIMEOUT,
        )
        async with client:
            association = client.association
            assert association.peer_max_pdu_length == MAX_PDU
            assert association.peer_implementation_version_name.startswith("OFFIS_DCMTK")
            assert dict(association.accepted_contexts) == {1: (scu.VERIFICATION, IMPLICIT)}
            reply = await client.request(
                C_ECHO(MessageID=41, AffectedSOPClassUID=scu.VERIFICATION), scu.VERIFICATION
            )
            assert reply.status == 0x0000
            assert reply.primitive.MessageIDBeingRespondedTo == 41
            assert reply.primitive.AffectedSOPClassUID == scu.VERIFICATION
            assert reply.dataset is None

    asyncio.run(exchange())
    assert "Received Echo Request (MsgID 41)" in storescp.log_text()


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_c_store_to_storescp(storescp: Server, syntax: str) -> None:
    """A small and a >1 MB data set on one association; storescp's files hold our exact bytes."""
    transfer_syntax = SYNTAXES[syntax]
    datasets = [secondary_capture(SMALL, seed=1), secondary_capture(LARGE, seed=2)]
    sent = [encode_dataset(ds, transfer_syntax) for ds in datasets]
    assert len(sent[1]) > 1_000_000

    async def exchange() -> tuple[list[int], list[int], int, int]:
        client = await scu.Client.connect(
            "127.0.0.1",
            storescp.port,
            [(str(datasets[0].SOPClassUID), [transfer_syntax])],
            called_ae_title=STORESCP_AE,
            max_pdu_length=8192,
            timeout=PEER_TIMEOUT,
        )
        async with client:
            assert client.association.peer_max_pdu_length == MAX_PDU
            replies = [await scu.store_dataset(client, ds) for ds in datasets]
        statuses = [reply.status for reply in replies]
        ids = [reply.primitive.MessageIDBeingRespondedTo for reply in replies]
        return statuses, ids, client.pdus_sent, client.largest_pdu_sent

    statuses, ids, pdus_sent, largest = asyncio.run(exchange())
    assert statuses == [0x0000, 0x0000]
    assert ids == [1, 2]
    assert largest <= MAX_PDU + 6  # the PDU-length field counts everything after its header
    assert pdus_sent >= len(sent[1]) // (MAX_PDU - 6)  # the large data set alone needs this many

    for ds, data in zip(datasets, sent, strict=True):
        written = wait_for_file(storescp.out, f"*{ds.SOPInstanceUID}*")
        meta, body = split_part10(written)
        assert meta.TransferSyntaxUID == transfer_syntax
        assert meta.MediaStorageSOPClassUID == ds.SOPClassUID
        assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert body == data
        assert read_dataset(written) == ds


@pytest.mark.parametrize(
    ("option", "error", "message"),
    [
        ("--refuse", "AssociationFailed", "^rejected-permanent by the DICOM UL service-user: "),
        ("--abort-after", "PeerAborted", "^A-ABORT by the service-user$"),
    ],
)
def test_storescp_refusal_and_abort_are_reported(
    tmp_path: Path, option: str, error: str, message: str
) -> None:
    """storescp refusing the association, or aborting after a C-STORE-RQ, ends our SCU cleanly."""
    exe = require_tool("storescp")
    port = free_port()
    argv = [exe, "-v", option, "-od", str(tmp_path), str(port)]
    with dcmtk_server(argv, port, tmp_path / "storescp.log", tmp_path) as server:
        ds = secondary_capture(SMALL, seed=7)
        coroutine = scu.store("127.0.0.1", server.port, [ds], timeout=PEER_TIMEOUT)
        with pytest.raises(getattr(scu, error), match=message):
            asyncio.run(coroutine)
    assert not list(tmp_path.glob(f"*{ds.SOPInstanceUID}*"))


def test_cli_against_storescp(
    storescp: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's command line (its ``main``): echo, then store a file with --ts explicit.

    ``tests/test_peers_pynetdicom.py`` runs the script itself as a subprocess; here ``main`` is
    called in-process, which keeps this test fast on a loaded machine.
    """
    common = ["127.0.0.1", str(storescp.port), "--aec", STORESCP_AE]
    assert scu.main(["echo", *common]) == 0
    assert "C-ECHO-RSP status 0x0000" in capsys.readouterr().out

    ds = secondary_capture(SMALL, seed=3)
    path = write_part10(ds, tmp_path / "cli.dcm", IMPLICIT)
    assert scu.main(["store", *common, str(path), "--ts", "explicit", "--max-pdu", "4096"]) == 0
    assert f"{path}: C-STORE-RSP status 0x0000" in capsys.readouterr().out
    meta, body = split_part10(wait_for_file(storescp.out, f"*{ds.SOPInstanceUID}*"))
    assert meta.TransferSyntaxUID == EXPLICIT  # re-encoded from the implicit file, as asked
    assert body == encode_dataset(ds, EXPLICIT)

    assert scu.main(["echo", "127.0.0.1", str(free_port())]) == 2  # nobody listens there
    assert "error: ConnectionRefusedError" in capsys.readouterr().err


# -- DCMTK -> our SCP ----------------------------------------------------------------------------


def test_echoscu_to_our_scp(our_scp: Server) -> None:
    """DCMTK accepts our A-ASSOCIATE-AC (and its 4096 maximum) and our C-ECHO-RSP."""
    echoscu = require_tool("echoscu")
    result = run_tool(
        [echoscu, "-v", "-aec", OUR_AE, "--max-pdu", str(MAX_PDU), "127.0.0.1", str(our_scp.port)]
    )
    assert result.returncode == 0, result.stdout
    assert "Received Echo Response (Success)" in result.stdout
    assert f"Max Send PDV: {MAX_PDU - 12}" in result.stdout  # DCMTK read our 4096
    _no_protocol_warnings(our_scp)


def test_echoscu_wrong_called_ae_is_rejected(our_scp: Server) -> None:
    """Our A-ASSOCIATE-RJ reaches DCMTK with the reason we gave."""
    echoscu = require_tool("echoscu")
    result = run_tool([echoscu, "-aec", "SOMEONE-ELSE", "127.0.0.1", str(our_scp.port)])
    assert result.returncode != 0
    assert "Called AE Title Not Recognized" in result.stdout


@pytest.mark.parametrize("option", ["-xi", "-xe"])
def test_storescu_to_our_scp(our_scp: Server, tmp_path: Path, option: str) -> None:
    """storescu sends a small and a >1 MB Explicit VR file; our SCP's files hold the same data."""
    storescu = require_tool("storescu")
    datasets = [secondary_capture(SMALL, seed=4), secondary_capture(LARGE, seed=5)]
    paths = [write_part10(ds, tmp_path / f"{n}.dcm", EXPLICIT) for n, ds in enumerate(datasets)]
    argv = [storescu, "-v", "-aec", OUR_AE, option, "--max-pdu", str(MAX_PDU)]
    result = run_tool([*argv, "127.0.0.1", str(our_scp.port), *map(str, paths)])
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("Received Store Response (Success)") == 2, result.stdout
    assert f"Max Send PDV: {MAX_PDU - 12}" in result.stdout

    # -xi: storescu converts to Implicit VR LE; -xe: it sends the Explicit VR data set as is
    expected_syntax = IMPLICIT if option == "-xi" else EXPLICIT
    for ds, path in zip(datasets, paths, strict=True):
        written = our_scp.out / f"{ds.SOPInstanceUID}.dcm"
        meta, body = split_part10(written)
        assert meta.TransferSyntaxUID == expected_syntax
        assert meta.MediaStorageSOPClassUID == ds.SOPClassUID
        assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
        assert meta.SourceApplicationEntityTitle == "STORESCU"
        assert read_dataset(written) == ds
        if option == "-xe":
            assert body == split_part10(path)[1]  # byte for byte what was in the file
        else:
            assert body == encode_dataset(ds, IMPLICIT)
    assert not list(our_scp.out.glob("*.part"))
    _no_protocol_warnings(our_scp)


def test_part10_reader_sees_what_we_wrote(our_scp: Server, tmp_path: Path) -> None:
    """dcmdump (DCMTK's own file reader) accepts a file our SCP wrote from a storescu C-STORE."""
    storescu = require_tool("storescu")
    dcmdump = require_tool("dcmdump")
    ds: Dataset = secondary_capture(SMALL, seed=6)
    path = write_part10(ds, tmp_path / "dump.dcm", EXPLICIT)
    sent = run_tool([storescu, "-aec", OUR_AE, "127.0.0.1", str(our_scp.port), str(path)])
    assert sent.returncode == 0, sent.stdout
    dump = run_tool([dcmdump, "-M", str(our_scp.out / f"{ds.SOPInstanceUID}.dcm")])
    assert dump.returncode == 0, dump.stdout
    assert f"[{ds.SOPInstanceUID}]" in dump.stdout
    assert "(0002,0010) UI =LittleEndianExplicit" in dump.stdout
    assert "Peer^Test^Wire" in dump.stdout
