"""Part-10 files read and written by dimse_codec.services.part10, checked against pydicom."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.filereader import read_file_meta_info

from dimse_codec.dataset.codec import decode_dataset
from dimse_codec.errors import DecodeError, TruncatedError
from dimse_codec.services import file_meta, read_file_meta, read_instance
from dimse_codec.services.contexts import DEFLATED
from dimse_codec.services.part10 import PREFIX_LENGTH, parse_file_meta

FILES = ["CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "rtplan.dcm", "image_dfl.dcm"]


def sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(path)


@pytest.mark.parametrize("name", FILES)
def test_the_meta_and_data_set_offset_agree_with_pydicom(name: str) -> None:
    path = sample(name)
    expected = read_file_meta_info(path)
    meta = read_file_meta(path)
    assert meta.sop_class == expected.MediaStorageSOPClassUID
    assert meta.sop_instance == expected.MediaStorageSOPInstanceUID
    assert meta.transfer_syntax == expected.TransferSyntaxUID
    raw = path.read_bytes()
    assert meta.dataset_offset == PREFIX_LENGTH + 12 + expected.FileMetaInformationGroupLength
    instance = read_instance(path)
    if name == "image_dfl.dcm":  # an odd deflated stream, padded: the test below
        assert bytes(instance.data) == raw[meta.dataset_offset :] + b"\x00"
    else:
        assert isinstance(instance.data, memoryview)  # a view of the file's bytes, not a copy
        assert bytes(instance.data) == raw[meta.dataset_offset :]
    assert (instance.sop_class, instance.sop_instance, instance.transfer_syntax) == (
        meta.sop_class,
        meta.sop_instance,
        meta.transfer_syntax,
    )


def test_a_written_meta_reads_back_with_ours_and_pydicom(tmp_path: Path) -> None:
    source = read_instance(sample("CT_small.dcm"))
    header = file_meta(source.sop_class, source.sop_instance, source.transfer_syntax, "MODALITY")
    target = tmp_path / "copy.dcm"
    target.write_bytes(header + bytes(source.data))
    meta = read_file_meta(target)
    assert (meta.sop_class, meta.sop_instance, meta.transfer_syntax) == (
        source.sop_class,
        source.sop_instance,
        source.transfer_syntax,
    )
    ds = dcmread(target)
    assert ds.file_meta.SourceApplicationEntityTitle == "MODALITY"
    assert ds.SOPInstanceUID == source.sop_instance
    assert meta.dataset_offset == len(header)


def test_a_meta_longer_than_the_first_read_is_read_on(tmp_path: Path) -> None:
    source = read_instance(sample("CT_small.dcm"))
    header = bytearray(file_meta(source.sop_class, source.sop_instance, source.transfer_syntax))
    private = b"\x02\x00\x00\x01OB\x00\x00" + (10000).to_bytes(4, "little") + bytes(10000)
    header[PREFIX_LENGTH + 8 : PREFIX_LENGTH + 12] = (
        int.from_bytes(header[PREFIX_LENGTH + 8 : PREFIX_LENGTH + 12], "little") + len(private)
    ).to_bytes(4, "little")
    target = tmp_path / "long-meta.dcm"
    target.write_bytes(bytes(header) + private + bytes(source.data))
    meta = read_file_meta(target)
    assert meta.dataset_offset == len(header) + len(private)
    assert meta.sop_instance == source.sop_instance


def test_bad_files_are_clear_errors_with_their_offsets() -> None:
    good = file_meta("1.2.3", "1.2.3.4", "1.2.840.10008.1.2.1")
    with pytest.raises(TruncatedError) as caught:
        parse_file_meta(good[:100])
    assert caught.value.offset == 100
    with pytest.raises(DecodeError, match="no DICM prefix") as caught:
        parse_file_meta(bytes(200))
    assert caught.value.offset == 128
    with pytest.raises(TruncatedError) as caught:
        parse_file_meta(good[: len(good) - 3])  # the last element cut inside its value
    assert caught.value.offset is not None and caught.value.offset < len(good)
    no_syntax = file_meta("1.2.3", "1.2.3.4", "")
    with pytest.raises(DecodeError, match="TransferSyntaxUID") as caught:
        parse_file_meta(no_syntax + b"\x08\x00\x16\x00")
    assert caught.value.path == "TransferSyntaxUID"
    meta = parse_file_meta(good)  # a file that is all meta has an empty data set
    assert meta.dataset_offset == len(good)


def test_an_odd_deflated_stream_gets_one_null_byte() -> None:
    """PS3.5 A.5: a deflated bit stream of odd length is sent with one trailing NULL byte (a
    C-STORE data set must have even length); pydicom's test file leaves it out."""
    path = sample("image_dfl.dcm")
    on_disk = path.read_bytes()[read_file_meta(path).dataset_offset :]
    instance = read_instance(path)
    assert instance.transfer_syntax == DEFLATED and len(on_disk) % 2 == 1
    assert instance.data == on_disk + b"\x00"
    assert decode_dataset(instance.data, DEFLATED) == Dataset(dcmread(path))
