"""``dimse-codec store`` into Orthanc and Orthanc's C-STORE into ``dimse-codec serve``, over
127.0.0.1. Orthanc runs from a minimal JSON configuration in the test's folder (its DICOM and
HTTP ports free ones, our ``serve`` named in DicomModalities, storage in the folder), started
and stopped by its PID; its REST API on 127.0.0.1 says what arrived."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from peers import PEER_TIMEOUT, POLL_INTERVAL, STARTUP_TIMEOUT, free_port, stop
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from test_cli_net import cli, serving

from dimse_codec.association import Roles
from dimse_codec.net import Client, Server
from dimse_codec.services import (
    STORAGE_COMMITMENT,
    Handler,
    ServiceRequest,
    commitment_request,
    read_instance,
)
from dimse_codec.services.contexts import NATIVE

pytestmark = pytest.mark.peer

ORTHANC = "/usr/sbin/Orthanc"
FILES = ["CT_small.dcm", "MR_small_RLE.dcm"]


def sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(str(path))


def rest(port: int, path: str, body: object | None = None) -> Any:
    """GET (or POST ``body`` as JSON) on Orthanc's REST API; the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


@contextmanager
def orthanc(tmp_path: Path, ours: int) -> Iterator[tuple[int, int]]:
    """Orthanc with DICOM and HTTP on free ports, knowing our serve as modality ``ours``."""
    tool = ORTHANC if Path(ORTHANC).exists() else require_tool("Orthanc")
    dicom, http = free_port(), free_port()
    storage = tmp_path / "orthanc-db"
    config = tmp_path / "orthanc.json"
    config.write_text(
        json.dumps(
            {
                "Name": "dimse-codec-test",
                "StorageDirectory": str(storage),
                "IndexDirectory": str(storage),
                "DicomAet": "ORTHANC",
                "DicomPort": dicom,
                "HttpPort": http,
                "RemoteAccessAllowed": False,
                "AuthenticationEnabled": False,
                "DicomCheckCalledAet": False,
                "DicomModalities": {"ours": ["OURS", "127.0.0.1", ours]},
                "Plugins": [],
            }
        )
    )
    log = (tmp_path / "orthanc.log").open("wb")
    process = subprocess.Popen([tool, str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "orthanc.log").read_text(errors="replace"))
            try:
                rest(http, "/system")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield dicom, http
    finally:
        stop(process)
        log.close()


@pytest.fixture(autouse=True)
def _orthanc_installed() -> None:
    if not Path(ORTHANC).exists():
        require_tool("Orthanc")  # skips locally with the reason, fails in CI


def test_store_into_orthanc(tmp_path: Path) -> None:
    with orthanc(tmp_path, free_port()) as (dicom, http):
        paths = [str(sample(name)) for name in FILES]
        done = cli("store", "127.0.0.1", str(dicom), "--aec", "ORTHANC", *paths)
        assert done.returncode == 0, done.stdout + done.stderr
        arrived = {
            rest(http, f"/instances/{i}/tags?simplify")["SOPInstanceUID"]
            for i in rest(http, "/instances")
        }
        assert arrived == {read_instance(p).sop_instance for p in paths}
        echo = cli("echo", "127.0.0.1", str(dicom), "--aec", "ORTHANC")
        assert echo.returncode == 0, echo.stdout + echo.stderr


def test_orthanc_stores_into_serve(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out"
    with orthanc(tmp_path, port) as (dicom, http):
        paths = [sample(name) for name in FILES]
        done = cli("store", "127.0.0.1", str(dicom), "--aec", "ORTHANC", *map(str, paths))
        assert done.returncode == 0, done.stdout
        with serving(out, "--aet", "OURS", port=port):
            assert rest(http, "/modalities/ours/echo", {}) == {}
            rest(http, "/modalities/ours/store", {"Resources": rest(http, "/instances")})
            # Orthanc (on DCMTK) writes each data set anew when it sends it, so the elements
            # are compared with the files Orthanc keeps (GET /instances/{id}/file), the pixel
            # data byte for byte and the transfer syntax equal
            kept = [_download(http, i, tmp_path) for i in rest(http, "/instances")]
    received = {
        (d.SOPInstanceUID, d.file_meta.TransferSyntaxUID): d for d in map(dcmread, out.iterdir())
    }
    assert len(received) == len(FILES)
    for path in kept:
        sent = dcmread(path)
        if 0xFFFCFFFC in sent:  # Data Set Trailing Padding is dropped by DCMTK-based senders
            del sent[0xFFFCFFFC]
        theirs = received[(sent.SOPInstanceUID, sent.file_meta.TransferSyntaxUID)]
        assert theirs == sent and theirs.PixelData == sent.PixelData, path


def _download(http: int, instance: str, tmp_path: Path) -> Path:
    target = tmp_path / f"orthanc-{instance}.dcm"
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/instances/{instance}/file") as answer:
        target.write_bytes(answer.read())
    return target


def test_orthanc_asks_serve_to_commit_and_gets_the_report_on_a_new_association(
    tmp_path: Path,
) -> None:
    """Orthanc as Storage Commitment SCU: its N-ACTION reaches ``serve``, whose report comes
    back on an association ``serve`` opens to Orthanc, proposing the SCP role (PS3.4 J.3.3)."""
    port = free_port()
    stored = read_instance(sample(FILES[0]))
    missing = (stored.sop_class, stored.sop_instance + ".9")
    with orthanc(tmp_path, port) as (dicom, http):
        peer = f"ORTHANC=127.0.0.1:{dicom}"
        options = ("--aet", "OURS", "--commitment-report", "new", "--peer", peer)
        with serving(tmp_path / "out", *options, port=port):
            done = cli("store", "127.0.0.1", str(port), "--aec", "OURS", str(sample(FILES[0])))
            assert done.returncode == 0, done.stdout + done.stderr
            asked = [(stored.sop_class, stored.sop_instance), missing]
            job = rest(
                http,
                "/modalities/ours/storage-commitment",
                {"DicomInstances": [{"SOPClassUID": c, "SOPInstanceUID": i} for c, i in asked]},
            )
            report = _commitment_report(http, job["ID"])
    assert report["Status"] == "Failure", report  # Orthanc's word for "some failed"
    assert report["Success"] == [
        {"SOPClassUID": stored.sop_class, "SOPInstanceUID": stored.sop_instance}
    ], report
    ((failure,),) = [report["Failures"]]
    assert (failure["SOPClassUID"], failure["SOPInstanceUID"]) == missing, report
    assert failure["FailureReason"] == 0x0112, report


def _commitment_report(http: int, transaction: str) -> Any:
    """Orthanc's record of a Storage Commitment transaction once the report has arrived."""
    deadline = time.monotonic() + PEER_TIMEOUT
    while True:
        report = rest(http, f"/storage-commitment/{transaction}")
        if report["Status"] != "Pending" or time.monotonic() > deadline:
            return report
        time.sleep(POLL_INTERVAL)


def test_our_client_asks_orthanc_to_commit_and_gets_the_report_on_a_new_association(
    tmp_path: Path,
) -> None:
    """Orthanc as Storage Commitment SCP: our Client stores two instances, asks Orthanc to
    commit them and one it never received, and our Server (AE OURS, in Orthanc's
    DicomModalities) takes the N-EVENT-REPORT on the association Orthanc opens for it."""
    port = free_port()
    paths = [sample(name) for name in FILES]
    stored = [(i.sop_class, i.sop_instance) for i in map(read_instance, paths)]
    missing = (stored[0][0], stored[0][1] + ".9")
    transaction = "1.2.826.0.1.3680043.8.498.77.1"
    reports: list[tuple[str, int, Dataset, str, Roles]] = []

    def receiver(where: str) -> Handler:
        def on_report(event: ServiceRequest) -> int:
            association = event.association
            assert association is not None
            roles = association.requestor_roles(STORAGE_COMMITMENT)
            reports.append(
                (
                    where,
                    int(event.request.values()["EventTypeID"]),
                    event.event_information,
                    association.peer_ae_title,
                    roles,
                )
            )
            return 0x0000

        return on_report

    async def talk(dicom: int) -> list[int]:
        ours = Server(
            {"N-EVENT-REPORT": receiver("new")},
            port=port,
            ae_title="OURS",
            supported={STORAGE_COMMITMENT: list(NATIVE)},
        )
        async with ours:
            async with Client(
                "127.0.0.1",
                dicom,
                calling_ae_title="OURS",
                called_ae_title="ORTHANC",
                contexts=[(STORAGE_COMMITMENT, list(NATIVE))],
                datasets=paths,
                handlers={"N-EVENT-REPORT": receiver("same")},
            ) as client:
                statuses = [(await client.store(path)).status for path in paths]
                request, info = commitment_request([*stored, missing], transaction)
                statuses.append((await client.send(request, info)).status)
            deadline = time.monotonic() + PEER_TIMEOUT
            while not reports and time.monotonic() < deadline:
                await asyncio.sleep(POLL_INTERVAL)
        return statuses

    with orthanc(tmp_path, port) as (dicom, _):
        statuses = asyncio.run(asyncio.wait_for(talk(dicom), 2 * PEER_TIMEOUT))
    assert statuses == [0x0000] * (len(paths) + 1)
    ((where, kind, info, peer, roles),) = reports
    # a new association from Orthanc, which proposes itself as the SCP (PS3.4 J.3.3)
    assert (where, peer, roles) == ("new", "ORTHANC", Roles(scu=False, scp=True))
    assert kind == 2 and info.TransactionUID == transaction
    assert sorted(
        (str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID))
        for i in info.ReferencedSOPSequence
    ) == sorted(stored)
    (failed,) = info.FailedSOPSequence
    assert (str(failed.ReferencedSOPClassUID), str(failed.ReferencedSOPInstanceUID)) == missing
    assert failed.FailureReason == 0x0112
