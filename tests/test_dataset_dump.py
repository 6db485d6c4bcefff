"""``dump_dataset``: the dcmdump-style tree of a data set, for any transfer syntax, bounded.

pydicom's test files (real images and objects in implicit, explicit, big endian, deflated and
encapsulated transfer syntaxes, with private sequences) are dumped from their data set bytes and
checked against pydicom's own reading of the same bytes: the elements in order and nesting,
their lengths and values (the comparison of :mod:`test_decode_detail`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from peers import split_part10
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from test_decode_detail import EXPLICIT, check_against_pydicom, tree

from dimse_codec.dataset import decode_dataset, encode_dataset
from dimse_codec.dataset.dump import dump_dataset
from dimse_codec.diagnostics import Diagnostic
from dimse_codec.errors import TruncatedError

FILES = {
    "CT_small.dcm": 262,  # Explicit VR Little Endian, private tags
    "MR_small_bigendian.dcm": 72,
    "MR_small_implicit.dcm": 72,
    "nested_priv_SQ.dcm": 5,  # private sequences in a private sequence, implicit VR
    "rtplan.dcm": 126,  # sequences in sequences
    "image_dfl.dcm": 29,  # Deflated Explicit VR Little Endian
    "JPEG2000.dcm": 160,  # encapsulated pixel data
    "SC_rgb_rle_2frame.dcm": 41,
    "reportsi.dcm": 109,  # a structured report: deep content sequences
}
"""pydicom test file -> elements in its data set, at every level."""


def body_of(name: str) -> tuple[bytes, str]:
    path = get_testdata_file(name)
    assert path is not None, name
    meta, body = split_part10(Path(str(path)))
    return body, str(meta.TransferSyntaxUID)


@pytest.mark.parametrize("name", sorted(FILES))
def test_tree_is_pydicoms_reading(name: str) -> None:
    body, transfer_syntax = body_of(name)
    lines = list(dump_dataset(body, transfer_syntax, max_lines=None, indent="      "))
    shown = tree(["    data set: ...", *lines])
    assert check_against_pydicom(shown, body, transfer_syntax) == FILES[name]
    assert max(len(line) for line in lines) < 220


def test_a_data_set_the_decoder_refuses_raises() -> None:
    body, transfer_syntax = body_of("MR_truncated.dcm")  # its pixel data is cut short
    with pytest.raises(TruncatedError) as raised:
        dump_dataset(body, transfer_syntax)
    assert raised.value.path == "data set > (7FE0,0010) PixelData"


def test_a_pydicom_data_set_is_dumped_as_encoded() -> None:
    body, _ = body_of("CT_small.dcm")
    found: list[Diagnostic] = []
    ds = decode_dataset(body, EXPLICIT)
    assert list(dump_dataset(ds, EXPLICIT, diagnostics=found)) == list(dump_dataset(body, EXPLICIT))
    assert found == []


def test_bounded_whatever_the_data_set_holds() -> None:
    """Many elements: lines capped and the rest counted; a long value: one short line."""
    many = Dataset()
    many.ReferencedSOPSequence = [Dataset() for _ in range(20_000)]
    for item in many.ReferencedSOPSequence:
        item.ReferencedSOPInstanceUID = "1.2.3"
    data = encode_dataset(many, EXPLICIT)
    lines = list(dump_dataset(data, EXPLICIT, max_lines=20))
    assert len(lines) == 21
    assert lines[-1] == f"... {20_000 - 9} more element(s) not shown"  # 1 + 9 items of 1
    big = Dataset()
    big.TextValue = "long " * 400_000
    big.EncapsulatedDocument = bytes(range(256)) * 40_000
    lines = list(dump_dataset(big, EXPLICIT))
    assert len(lines) == 2 and max(len(line) for line in lines) < 200
    assert lines[0].startswith("(0040,a160) UT [long long") and "...] # 2000000, 1" in lines[0]
    digest = hashlib.sha256(big.EncapsulatedDocument).hexdigest()[:16]
    assert f"<10240000 bytes, sha256 {digest}>" in lines[1]


def test_a_vr_left_open_is_said_in_two_letters() -> None:
    """Implicit VR LUT Data without its descriptor: pydicom cannot choose US or OW, so the value
    stays raw and the VR is dcmdump's ``lt``."""
    ds = Dataset()
    ds.add_new(0x00283006, "US", [1, 2, 3])
    implicit = "1.2.840.10008.1.2"
    lines = list(dump_dataset(encode_dataset(ds, implicit), implicit))
    assert len(lines) == 1
    assert lines[0].startswith("(0028,3006) lt 01\\00\\02\\00\\03\\00 ")
    assert lines[0].endswith("#   6, 1 LUTData")


@pytest.mark.parametrize("name", ["reportsi.dcm", "nested_priv_SQ.dcm", "rtplan.dcm"])
def test_every_cap_holds_and_counts_the_rest(name: str) -> None:
    """Caps cutting anywhere in nested sequences: never more lines than the cap, and the
    elements shown plus those counted are all of them."""
    body, transfer_syntax = body_of(name)
    total = FILES[name]
    for cap in range(0, 60, 3):
        lines = list(dump_dataset(body, transfer_syntax, max_lines=cap, indent="      "))
        more = [line for line in lines if line.startswith("      ... ")]
        rows = [line for line in lines if not line.startswith("      ... ")]
        assert len(rows) <= cap
        shown = len(tree(["    data set: ...", *rows]))
        if shown < total:
            assert more == [f"      ... {total - shown} more element(s) not shown"]
        else:
            assert more == []
