"""Guessing a data set's transfer syntax from its bytes (for captures without an A-ASSOCIATE)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from dimse_codec.dataset import encode_dataset
from dimse_codec.dataset.sniff import sniff_transfer_syntax

SYNTAXES = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
]
text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789^ ", min_size=1, max_size=40)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = draw(st.sampled_from(["1.2.840.10008.5.1.4.1.1.7", "1.2.3"]))
    if draw(st.booleans()):
        ds.PatientName = draw(text)
    if draw(st.booleans()):
        ds.PatientID = draw(text)
    if draw(st.booleans()):
        ds.Rows = draw(st.integers(0, 65535))
    if draw(st.booleans()):
        ds.StudyInstanceUID = "1.2.3.4.5"
    return ds


@given(datasets(), st.sampled_from(SYNTAXES))
def test_every_supported_syntax_is_recognised(ds: Dataset, syntax: str) -> None:
    sniffed = sniff_transfer_syntax(encode_dataset(ds, syntax))
    assert sniffed is not None and sniffed.transfer_syntax == syntax
    assert sniffed.reason


@pytest.mark.parametrize(
    "data", [b"", b"garbage!" * 4, bytes(64), b"\xff" * 64, b"\x00\x00\x00\x00\x04\x00\x00\x00"]
)
def test_what_is_no_data_set_gives_none(data: bytes) -> None:
    assert sniff_transfer_syntax(data) is None
