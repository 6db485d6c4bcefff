"""The examples against DCMTK over 127.0.0.1, both ways.

* our SCU (``docs/examples/asyncio_scu.py``, on ``dimse_codec.net.Client``) -> DCMTK
  ``storescp``: C-ECHO, and C-STORE of Implicit and Explicit VR Little Endian files, including a
  data set over 1 MB cut for the 4096-byte maximum storescp announces; storescp writes what it
  receives bit for bit (``+B``), so the data set in its file must be exactly the bytes of ours;
  its refusal and A-ABORT reach the client as the right errors, and the SCU's command line works;
* DCMTK ``echoscu`` and ``storescu`` (``-xi``/``-xe``, ``--max-pdu 4096``) -> our SCP
  (``docs/examples/asyncio_scp.py``, on ``dimse_codec.net.Server``, announcing 4096 too): they
  exit 0, and the Part-10 files our SCP wrote hold what storescu sent.

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

from dimse_codec.association import IMPLEMENTATION_CLASS_UID
from dimse_codec.dataset import encode_dataset
from dimse_codec.net import AssociationAborted, AssociationRejectedError, Client

pytestmark = pytest.mark.peer

scu = load_example("asyncio_scu")

MAX_PDU = 4096
"""What storescp and our SCP announce: the largest P-DATA-TF (PDU-length) each receives."""
STORESCP_AE = "STORESCP"
OUR_AE = "DIMSECODEC"
VERIFICATION = "1.2.840.10008.1.1"
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


# -- our SCU -> storescp -------------------------------------------------------------------------


def test_c_echo_to_storescp(storescp: Server) -> None:
    """Our association request and C-ECHO satisfy DCMTK, and we read its AC and response."""

    async def exchange() -> None:
        async with Client("127.0.0.1", storescp.port, called_ae_title=STORESCP_AE) as client:
            association = client.association
            assert association.peer_max_pdu_length == MAX_PDU
            assert association.peer_implementation_version_name.startswith("OFFIS_DCMTK")
            assert VERIFICATION in {a for a, _ in association.accepted_contexts.values()}
            response = await client.echo()
            assert response.status == 0x0000
            assert response.primitive.MessageIDBeingRespondedTo == response.message_id
            assert response.primitive.AffectedSOPClassUID == VERIFICATION
            assert response.dataset is None

    asyncio.run(exchange())
    assert "Received Echo Request (MsgID 1)" in storescp.log_text()


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_c_store_to_storescp(storescp: Server, tmp_path: Path, syntax: str) -> None:
    """A small and a >1 MB file on one association; storescp's files hold their exact bytes.

    storescp announces 4096: a PDU over it would make DCMTK abort, so two Successes for the
    1.2 MB data set also show that our client cut it to the peer's maximum.
    """
    transfer_syntax = SYNTAXES[syntax]
    datasets = [secondary_capture(SMALL, seed=1), secondary_capture(LARGE, seed=2)]
    paths = [
        write_part10(ds, tmp_path / f"{n}.dcm", transfer_syntax) for n, ds in enumerate(datasets)
    ]

    async def exchange() -> list[int]:
        async with Client(
            "127.0.0.1",
            storescp.port,
            called_ae_title=STORESCP_AE,
            datasets=paths,
            max_pdu_length=8192,
        ) as client:
            assert client.association.peer_max_pdu_length == MAX_PDU
            return [(await client.store(path)).status for path in paths]

    assert asyncio.run(exchange()) == [0x0000, 0x0000]
    for ds, path in zip(datasets, paths, strict=True):
        written = wait_for_file(storescp.out, f"*{ds.SOPInstanceUID}*")
        meta, body = split_part10(written)
        assert meta.TransferSyntaxUID == transfer_syntax
        assert meta.MediaStorageSOPClassUID == ds.SOPClassUID
        assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert body == split_part10(path)[1]  # byte for byte the data set of the file
        assert read_dataset(written) == ds


@pytest.mark.parametrize(
    ("option", "error", "message"),
    [
        (
            "--refuse",
            AssociationRejectedError,
            "rejected-permanent by the DICOM UL service-user: no-reason",
        ),
        ("--abort-after", AssociationAborted, "A-ABORT"),
    ],
)
def test_storescp_refusal_and_abort_are_reported(
    tmp_path: Path, option: str, error: type[Exception], message: str
) -> None:
    """storescp refusing the association, or aborting after a C-STORE-RQ, ends our client."""
    exe = require_tool("storescp")
    port = free_port()
    argv = [exe, "-v", option, "-od", str(tmp_path), str(port)]
    with dcmtk_server(argv, port, tmp_path / "storescp.log", tmp_path) as server:
        ds = secondary_capture(SMALL, seed=7)

        async def exchange() -> None:
            async with Client("127.0.0.1", server.port, datasets=[ds]) as client:
                await client.store(ds)

        with pytest.raises(error, match=message):
            asyncio.run(exchange())
    assert not list(tmp_path.glob(f"*{ds.SOPInstanceUID}*"))


def test_cli_against_storescp(
    storescp: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's command line (its ``main``, in-process): echo, store, nobody listening."""
    common = ["127.0.0.1", str(storescp.port), "--aec", STORESCP_AE]
    assert scu.main(["echo", *common]) == 0
    assert "C-ECHO: status 0x0000 (Success)" in capsys.readouterr().out

    ds = secondary_capture(SMALL, seed=3)
    path = write_part10(ds, tmp_path / "cli.dcm", IMPLICIT)
    assert scu.main(["store", *common, str(path), "--max-pdu", "4096"]) == 0
    assert f"{path}: status 0x0000 (Success)" in capsys.readouterr().out
    meta, body = split_part10(wait_for_file(storescp.out, f"*{ds.SOPInstanceUID}*"))
    assert meta.TransferSyntaxUID == IMPLICIT  # the file travelled in its own transfer syntax
    assert body == encode_dataset(ds, IMPLICIT)

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
    assert not list(our_scp.out.glob("*.part"))  # the spooled 1.2 MB data set was cleaned up


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
