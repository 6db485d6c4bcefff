"""Every transfer syntax pydicom's test data has a file in, stored byte for byte both ways over
127.0.0.1, one test per syntax and direction:

* ``dimse-codec store`` into DCMTK ``storescp`` (``+xa`` accepts every syntax it knows, ``+B``
  writes each data set exactly as it arrived);
* DCMTK ``storescu`` into ``dimse-codec serve``, proposing the file's own syntax with ``-R`` and
  the ``-x`` option of that syntax. storescu writes each data set anew from its in-memory model
  (it drops Data Set Trailing Padding, re-deflates, chooses its own item lengths), so what it
  sends is taken from a bit-preserving storescp that receives the same file from it, and
  ``serve`` must keep those very bytes; the elements must still be the file's;
* a pynetdicom SCU into ``serve``, sending the file's data set as it is on disk.

Each received Part-10 file must carry the file's SOP Class/Instance UIDs and transfer syntax in
its File Meta Information.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_tool
from peers import PEER_TIMEOUT, run_tool, split_part10, wait_for_file
from pydicom import dcmread
from pydicom.data.data_manager import DATA_ROOT
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_file_meta_info
from pydicom.uid import UID
from test_cli_net import cli, sample, serving
from test_net_dcmtk import storescp  # noqa: F401 - the DCMTK net tests' fixture, shared

pytestmark = pytest.mark.peer

DEFLATED = "1.2.840.10008.1.2.1.99"

SYNTAXES = {
    # transfer syntax: a file of pydicom's test data in it, and storescu's option proposing it
    "1.2.840.10008.1.2": ("MR_small_implicit.dcm", "-xi"),
    "1.2.840.10008.1.2.1": ("CT_small.dcm", "-xe"),
    DEFLATED: ("image_dfl.dcm", "-xd"),
    "1.2.840.10008.1.2.2": ("MR_small_bigendian.dcm", "-xb"),
    "1.2.840.10008.1.2.4.50": ("SC_rgb_jpeg_dcmtk.dcm", "-xy"),
    "1.2.840.10008.1.2.4.51": ("JPGExtended.dcm", "-xx"),
    "1.2.840.10008.1.2.4.70": ("SC_rgb_jpeg_gdcm.dcm", "-xs"),
    "1.2.840.10008.1.2.4.80": ("MR_small_jpeg_ls_lossless.dcm", "-xt"),
    "1.2.840.10008.1.2.4.81": ("JPEGLSNearLossless_16.dcm", "-xu"),
    "1.2.840.10008.1.2.4.90": ("MR_small_jp2klossless.dcm", "-xv"),
    "1.2.840.10008.1.2.4.91": ("JPEG2000.dcm", "-xw"),
    "1.2.840.10008.1.2.5": ("MR_small_RLE.dcm", "-xr"),
}
CASES = [pytest.param(uid, id=UID(uid).keyword) for uid in SYNTAXES]


def test_every_syntax_of_the_test_data_is_covered() -> None:
    """Each transfer syntax some file of pydicom's own test data is in has a case here."""
    found = set()
    for path in (Path(DATA_ROOT) / "test_files").rglob("*"):
        if path.is_dir():
            continue
        try:
            meta = read_file_meta_info(path)
        except InvalidDicomError:  # not every test file is Part-10
            continue
        if "TransferSyntaxUID" in meta and "MediaStorageSOPClassUID" in meta:
            found.add(str(meta.TransferSyntaxUID))
    assert found - set(SYNTAXES) == set()
    for uid, (name, _) in SYNTAXES.items():
        assert str(read_file_meta_info(sample(name)).TransferSyntaxUID) == uid, name


def sent_bytes(path: Path) -> tuple[Dataset, bytes]:
    """A file's meta and the data set bytes a C-STORE of it carries: those after its meta, and
    one NULL byte more for a deflated stream of odd length (PS3.5 A.5)."""
    meta, data = split_part10(path)
    if meta.TransferSyntaxUID == DEFLATED and len(data) % 2:
        data += b"\x00"
    return meta, data


def only_file(folder: Path) -> Path:
    """The one Part-10 file a peer wrote into ``folder``."""
    return wait_for_file(folder, "*", PEER_TIMEOUT)


def check_meta(received: Dataset, sent: Dataset, uid: str) -> None:
    assert received.TransferSyntaxUID == uid
    assert received.MediaStorageSOPClassUID == sent.MediaStorageSOPClassUID
    assert received.MediaStorageSOPInstanceUID == sent.MediaStorageSOPInstanceUID


@pytest.mark.parametrize("uid", CASES)
def test_store_into_storescp(uid: str, storescp: tuple[int, Path]) -> None:  # noqa: F811 - the imported fixture
    port, out = storescp
    path = sample(SYNTAXES[uid][0])
    done = cli("store", "127.0.0.1", str(port), "--aec", "STORESCP", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    meta, data = sent_bytes(path)
    received_meta, received = split_part10(only_file(out))
    check_meta(received_meta, meta, uid)
    assert received == data


@pytest.mark.parametrize("uid", CASES)
def test_storescu_into_serve(uid: str, storescp: tuple[int, Path], tmp_path: Path) -> None:  # noqa: F811 - the imported fixture
    storescu = require_tool("storescu")
    name, proposal = SYNTAXES[uid]
    path = sample(name)
    reference_port, reference_out = storescp
    argv = [storescu, "-R", proposal, "127.0.0.1"]
    done = run_tool([*argv, str(reference_port), str(path)])
    assert done.returncode == 0, done.stdout
    _, wire = split_part10(only_file(reference_out))  # what storescu sends, exactly
    out = tmp_path / "serve"
    with serving(out) as server:
        done = run_tool([*argv, str(server.port), str(path)])
        assert done.returncode == 0, done.stdout
    meta, _ = split_part10(path)
    kept = only_file(out)
    received_meta, received = split_part10(kept)
    check_meta(received_meta, meta, uid)
    assert received == wire
    elements = dcmread(path)
    if 0xFFFCFFFC in elements:  # DCMTK drops Data Set Trailing Padding (PS3.10 7.2)
        del elements[0xFFFCFFFC]
    if UID(uid).is_encapsulated:  # and writes encapsulated Pixel Data as OB (PS3.5 A.4)
        elements["PixelData"].VR = "OB"
    assert Dataset(dcmread(kept)) == Dataset(elements)


@pytest.fixture
def chunked_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pynetdicom sends a file path's data set as it is on disk, not decoded and re-encoded."""
    pynetdicom = pytest.importorskip("pynetdicom")
    monkeypatch.setattr(pynetdicom._config, "STORE_SEND_CHUNKED_DATASET", True)
    yield


@pytest.mark.parametrize("uid", CASES)
@pytest.mark.usefixtures("chunked_files")
def test_pynetdicom_into_serve(uid: str, tmp_path: Path) -> None:
    from pynetdicom import AE

    path = sample(SYNTAXES[uid][0])
    meta, data = split_part10(path)
    ae = AE(ae_title="PYNETDICOM")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = PEER_TIMEOUT
    ae.add_requested_context(str(meta.MediaStorageSOPClassUID), [uid])
    out = tmp_path / "serve"
    with serving(out) as server:
        assoc = ae.associate("127.0.0.1", server.port)
        assert assoc.is_established
        try:
            ((context,),) = [assoc.accepted_contexts]
            assert context.transfer_syntax[0] == uid
            status = assoc.send_c_store(path)
        finally:
            assoc.release()
    assert status.Status == 0x0000
    received_meta, received = split_part10(only_file(out))
    check_meta(received_meta, meta, uid)
    assert received == data
