"""Limits on what decoding a data set may create (issue 11): the measured attacks, each with its
bound (memory as a tracemalloc peak against the input, time as a ratio to a normal input decoded
in the same test), strict and lenient answers, raising a limit, and real data sets under the
defaults."""

from __future__ import annotations

import struct
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import replace

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    MAX_SEQUENCE_DEPTH,
    EncodedDataset,
    TransferSyntax,
    decode_dataset,
    deflate,
    encode_dataset,
    inflate,
)
from dimse_codec.diagnostics import Diagnostic, DiagnosticCode
from dimse_codec.errors import LimitExceeded
from dimse_codec.limits import DEFAULT_LIMITS
from dimse_codec.policy import LENIENT, STRICT, Policy

ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, 0)
SEQUENCE_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
PATIENT_ID = struct.pack("<HH2sH", 0x0010, 0x0020, b"LO", 2) + b"A "
ACCESSION = struct.pack("<HH2sH", 0x0008, 0x0050, b"SH", 2) + b"A "
PATIENT_ID_IMPLICIT = struct.pack("<HHI", 0x0010, 0x0020, 2) + b"A "


def many_items(count: int) -> bytes:
    """Explicit VR LE: Accession Number, then (0008,1115) of undefined length holding ``count``
    empty items of defined length (8 bytes each, the least an item can take)."""
    head = struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
    return ACCESSION + head + ITEM * count + SEQUENCE_END


def many_values(count: int) -> bytes:
    """Implicit VR LE: (3006,0050) Contour Data, a DS element of ``count`` one-digit values."""
    value = b"\\".join([b"1"] * count)
    value += b" " * (len(value) % 2)
    return struct.pack("<HHI", 0x3006, 0x0050, len(value)) + value


def per_frame_dataset(frames: int) -> Dataset:
    """An enhanced multi-frame header: one per-frame functional group item per frame, each with
    five nested sequences, as a scanner writes them (PS3.3 C.7.6.16)."""

    def frame(index: int) -> Dataset:
        content = Dataset()
        content.DimensionIndexValues = [1, index + 1]
        content.StackID = "1"
        content.InStackPositionNumber = index + 1
        content.FrameAcquisitionNumber = index
        position = Dataset()
        position.ImagePositionPatient = [-125.0, -130.5, 10.0 + index * 1.25]
        orientation = Dataset()
        orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        measures = Dataset()
        measures.PixelSpacing = [0.488281, 0.488281]
        measures.SliceThickness = 1.25
        voi = Dataset()
        voi.WindowCenter = 40
        voi.WindowWidth = 400
        item = Dataset()
        item.FrameContentSequence = Sequence([content])
        item.PlanePositionSequence = Sequence([position])
        item.PlaneOrientationSequence = Sequence([orientation])
        item.PixelMeasuresSequence = Sequence([measures])
        item.FrameVOILUTSequence = Sequence([voi])
        return item

    ds = Dataset()
    ds.PatientID = "A"
    ds.NumberOfFrames = frames
    ds.PerFrameFunctionalGroupsSequence = Sequence([frame(i) for i in range(frames)])
    return ds


def structure_set(contours: int, points: int, syntax: TransferSyntax) -> bytes:
    """An RT structure set's ROI Contour Sequence (PS3.3 C.8.8.6): one ROI of ``contours``
    closed planar contours of ``points`` points each, encoded in ``syntax``."""
    contour = Dataset()
    contour.ContourGeometricType = "CLOSED_PLANAR"
    contour.NumberOfContourPoints = points
    contour.ContourData = [f"{(n * 7) % 500 - 250.5:.2f}" for n in range(3 * points)]
    item = encode_dataset(contour, EXPLICIT_VR_LITTLE_ENDIAN if not syntax.implicit_vr else syntax)
    undefined = b"SQ\x00\x00\xff\xff\xff\xff" if not syntax.implicit_vr else b"\xff\xff\xff\xff"
    contours_sq = (
        struct.pack("<HH", 0x3006, 0x0040)
        + undefined
        + (struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item) * contours
        + SEQUENCE_END
    )
    roi = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + contours_sq
    roi += struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    head = struct.pack("<HH", 0x3006, 0x0039) + undefined
    patient = PATIENT_ID if not syntax.implicit_vr else PATIENT_ID_IMPLICIT
    plain = patient + head + roi + SEQUENCE_END
    return deflate(plain) if syntax.deflated else plain


@pytest.fixture(scope="module")
def per_frame_deflated() -> bytes:
    """A 5,000-frame enhanced multi-frame header, deflated (about 56 KB; 1.4 MB inflated)."""
    return encode_dataset(per_frame_dataset(5000), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)


def peak(call: Callable[[], object]) -> int:
    """Return the tracemalloc peak of ``call`` in bytes."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def seconds(call: Callable[[], object]) -> float:
    """Return the best of two wall-clock timings of ``call`` (only ever compared as a ratio)."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def limit_diagnostics(found: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in found if d.code is DiagnosticCode.LIMIT_EXCEEDED]


# --------------------------------------------------------------------------------------------
# row 1: a 35 KB deflated data set of 3,000,000 empty items


@pytest.fixture(scope="module")
def item_bomb() -> tuple[bytes, bytes]:
    """(deflated, inflated): 3,000,000 empty items, about 35 KB deflated and 24 MB inflated."""
    inflated = many_items(3_000_000)
    return deflate(inflated), inflated


def test_item_bomb_lenient_stops_at_max_items_and_keeps_the_rest(
    item_bomb: tuple[bytes, bytes],
) -> None:
    deflated, inflated = item_bomb
    assert len(deflated) < 40_000
    found: list[Diagnostic] = []
    result: list[Dataset] = []
    used = peak(
        lambda: result.append(
            decode_dataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found)
        )
    )
    assert used <= 10 * len(inflated), used / len(inflated)
    ds = result[0]
    assert ds.AccessionNumber == "A"
    assert "ReferencedSeriesSequence" not in ds
    [diagnostic] = limit_diagnostics(found)
    assert "Limits.max_items" in diagnostic.message and "262144" in diagnostic.message
    assert "(0008,1115)" in diagnostic.path and diagnostic.path.endswith("item 262145")
    # the element that met the limit and everything after it are kept as bytes
    assert diagnostic.offset == len(ACCESSION)
    tail = EncodedDataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN).inflated()
    assert bytes(tail[diagnostic.offset :]) == inflated[len(ACCESSION) :]


def test_item_bomb_strict_raises_naming_the_limit(item_bomb: tuple[bytes, bytes]) -> None:
    deflated, _ = item_bomb
    with pytest.raises(LimitExceeded) as caught:
        decode_dataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=STRICT)
    error = caught.value
    assert error.code == DiagnosticCode.LIMIT_EXCEEDED.value
    text = str(error)
    assert "\n" not in text and len(text) < 300
    assert "more than 262144 sequence items (Limits.max_items)" in text
    assert "(0008,1115)" in error.path and error.offset is not None


def test_item_bomb_costs_no_more_time_than_a_real_data_set_of_its_size(
    item_bomb: tuple[bytes, bytes], per_frame_deflated: bytes
) -> None:
    deflated, _ = item_bomb
    real = per_frame_deflated
    assert len(deflated) / 4 < len(real) < 4 * len(deflated)  # about the same input size

    def hostile() -> None:
        decode_dataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)

    def normal() -> None:
        decode_dataset(real, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)

    assert seconds(hostile) <= 20 * seconds(normal)


def test_raising_max_items_lets_more_items_through() -> None:
    data = deflate(many_items(3000))
    small = Policy(limits=replace(DEFAULT_LIMITS, max_items=2000))
    with pytest.raises(LimitExceeded, match=r"Limits\.max_items"):
        decode_dataset(data, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=replace(small, strict=True))
    raised = Policy(limits=replace(DEFAULT_LIMITS, max_items=3000))
    found: list[Diagnostic] = []
    ds = decode_dataset(data, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=raised, diagnostics=found)
    assert len(ds.ReferencedSeriesSequence) == 3000 and not found


def test_items_are_counted_over_every_sequence_and_level() -> None:
    ds = per_frame_dataset(10)  # 10 frame items, each with 5 one-item sequences: 60 items
    data = encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)
    assert (
        decode_dataset(
            data,
            EXPLICIT_VR_LITTLE_ENDIAN,
            policy=Policy(limits=replace(DEFAULT_LIMITS, max_items=60)),
        ).NumberOfFrames
        == 10
    )
    with pytest.raises(LimitExceeded, match=r"Limits\.max_items"):
        decode_dataset(
            data,
            EXPLICIT_VR_LITTLE_ENDIAN,
            policy=Policy(strict=True, limits=replace(DEFAULT_LIMITS, max_items=59)),
        )


# --------------------------------------------------------------------------------------------
# row 3: a 2 MB DS element of 1,000,000 values


def test_value_bomb_lenient_keeps_the_element_as_bytes_within_memory_and_time() -> None:
    data = PATIENT_ID_IMPLICIT + many_values(1_000_000)
    assert len(data) > 2_000_000
    found: list[Diagnostic] = []
    result: list[Dataset] = []
    used = peak(
        lambda: result.append(decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN, diagnostics=found))
    )
    assert used <= 10 * len(data), used / len(data)
    assert result[0].PatientID == "A" and "ContourData" not in result[0]
    [diagnostic] = limit_diagnostics(found)
    assert "Limits.max_values" in diagnostic.message and "(3006,0050)" in diagnostic.path
    assert diagnostic.offset == len(PATIENT_ID_IMPLICIT)
    assert data[diagnostic.offset :] == many_values(1_000_000)

    normal = structure_set(250, 400, IMPLICIT_VR_LITTLE_ENDIAN)
    assert len(data) / 4 < len(normal) < 4 * len(data)
    hostile_time = seconds(lambda: decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN))
    normal_time = seconds(lambda: decode_dataset(normal, IMPLICIT_VR_LITTLE_ENDIAN))
    assert hostile_time <= 20 * normal_time


def test_value_bomb_strict_raises_and_a_raised_limit_lets_it_through() -> None:
    data = many_values(100_000)
    with pytest.raises(LimitExceeded) as caught:
        decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN, policy=STRICT)
    assert "more than 65536 values in one element (100000) (Limits.max_values)" in str(caught.value)
    raised = Policy(limits=replace(DEFAULT_LIMITS, max_values=100_000))
    assert len(decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN, policy=raised).ContourData) == (
        100_000
    )


def test_binary_values_are_counted_by_their_size() -> None:
    value = struct.pack("<11H", *range(11))
    data = struct.pack("<HH2sH", 0x0028, 0x1101, b"US", len(value)) + value
    small = Policy(strict=True, limits=replace(DEFAULT_LIMITS, max_values=10))
    with pytest.raises(LimitExceeded, match=r"\(11\) \(Limits.max_values\)"):
        decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=small)
    assert decode_dataset(
        data,
        EXPLICIT_VR_LITTLE_ENDIAN,
        policy=replace(small, limits=replace(DEFAULT_LIMITS, max_values=11)),
    )


# --------------------------------------------------------------------------------------------
# the other limits


def test_max_elements_counts_nested_elements_and_lenient_keeps_what_came_before() -> None:
    data = encode_dataset(per_frame_dataset(3), EXPLICIT_VR_LITTLE_ENDIAN)
    whole = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)
    assert len(whole.PerFrameFunctionalGroupsSequence) == 3
    policy = Policy(limits=replace(DEFAULT_LIMITS, max_elements=10))
    found: list[Diagnostic] = []
    ds = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=policy, diagnostics=found)
    assert ds.NumberOfFrames == 3 and "PerFrameFunctionalGroupsSequence" not in ds
    [diagnostic] = limit_diagnostics(found)
    assert "Limits.max_elements" in diagnostic.message
    with pytest.raises(LimitExceeded, match=r"Limits\.max_elements"):
        decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=replace(policy, strict=True))


def test_max_decoded_size_bounds_the_bytes_of_values() -> None:
    data = PATIENT_ID + struct.pack("<HH2sH", 0x0010, 0x0010, b"PN", 4) + b"A^B "
    policy = Policy(strict=True, limits=replace(DEFAULT_LIMITS, max_decoded_size=5))
    with pytest.raises(LimitExceeded, match=r"Limits\.max_decoded_size"):
        decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
    found: list[Diagnostic] = []
    ds = decode_dataset(
        data, EXPLICIT_VR_LITTLE_ENDIAN, policy=replace(policy, strict=False), diagnostics=found
    )
    assert ds.PatientID == "A" and "PatientName" not in ds and limit_diagnostics(found)


def test_depth_error_is_one_short_line_and_max_depth_is_the_limit() -> None:
    assert DEFAULT_LIMITS.max_depth == MAX_SEQUENCE_DEPTH
    head = (
        struct.pack("<HH", 0x0040, 0xA730)
        + b"SQ\x00\x00\xff\xff\xff\xff"
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    )
    tail = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + SEQUENCE_END
    data = head * 70 + tail * 70
    for policy in (LENIENT, STRICT):  # too deep is refused under every policy
        with pytest.raises(LimitExceeded) as caught:
            decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
        text = str(caught.value)
        assert "\n" not in text and len(text) < 400, len(text)
        assert "more than 64 levels of nested sequences (Limits.max_depth)" in text
    deeper = Policy(limits=replace(DEFAULT_LIMITS, max_depth=80))
    assert decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=deeper).ContentSequence


def test_inflate_cap_comes_from_the_limits() -> None:
    data = deflate(b"\x00" * 10_000)
    small = Policy(limits=replace(DEFAULT_LIMITS, max_inflated_size=1000))
    with pytest.raises(LimitExceeded, match=r"Limits\.max_inflated_size"):
        decode_dataset(data, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=small)
    with pytest.raises(LimitExceeded, match=r"Limits\.max_inflated_size"):
        EncodedDataset(data, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN).dataset(small)
    assert len(inflate(data, max_size=10_000)) == 10_000


def test_encoded_dataset_applies_the_limits_of_each_policy() -> None:
    wrapped = EncodedDataset(many_items(50), EXPLICIT_VR_LITTLE_ENDIAN)
    assert len(wrapped.dataset().ReferencedSeriesSequence) == 50
    policy = Policy(limits=replace(DEFAULT_LIMITS, max_items=10))
    assert "ReferencedSeriesSequence" not in wrapped.dataset(policy)
    assert limit_diagnostics(wrapped.diagnostics)


# --------------------------------------------------------------------------------------------
# real data sets decode under the defaults


def test_real_large_data_sets_meet_no_limit(per_frame_deflated: bytes) -> None:
    inputs = [
        (per_frame_deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
        (structure_set(1000, 50, IMPLICIT_VR_LITTLE_ENDIAN), IMPLICIT_VR_LITTLE_ENDIAN),
        (
            structure_set(1000, 50, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
            DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ),
    ]
    for data, syntax in inputs:
        found: list[Diagnostic] = []
        decoded = decode_dataset(data, syntax, policy=STRICT, diagnostics=found)
        assert not found and decoded.PatientID == "A"
    frames = decode_dataset(per_frame_deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    assert len(frames.PerFrameFunctionalGroupsSequence) == 5000


# --------------------------------------------------------------------------------------------
# pydicom's warnings


def test_pydicom_warnings_become_diagnostics_and_never_reach_the_caller() -> None:
    bad_is = struct.pack("<HH2sH", 0x0020, 0x0013, b"IS", 4) + b"abc "
    charset = struct.pack("<HH2sH", 0x0008, 0x0005, b"CS", 10) + b"ISO_IR 999"
    found: list[Diagnostic] = []
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        decode_dataset(charset + bad_is, EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found)
    assert not leaked
    codes = [d.code for d in found]
    assert codes == [DiagnosticCode.PYDICOM_WARNING] * 2
    assert found[0].path.endswith("(0008,0005) SpecificCharacterSet")
    assert found[1].path.endswith("(0020,0013) InstanceNumber")
    assert "Please see" not in found[1].message and "'abc'" in found[1].message
    with pytest.raises(Exception, match="ISO_IR 999"):
        decode_dataset(charset, EXPLICIT_VR_LITTLE_ENDIAN, policy=STRICT)
