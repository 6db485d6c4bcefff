"""Limits on what decoding a data set may create (issue 11): the measured attacks, each with its
bound (memory as a tracemalloc peak against the input, time as a ratio to a normal input decoded
in the same test), strict and lenient answers, raising a limit, and real data sets under the
defaults."""

from __future__ import annotations

import struct
import time
import tracemalloc
import warnings
import zlib
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
from dimse_codec.errors import DecodeError, LimitExceeded, TruncatedError
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


def test_encoded_dataset_applies_the_limits_of_each_policy() -> None:
    wrapped = EncodedDataset(many_items(50), EXPLICIT_VR_LITTLE_ENDIAN)
    assert len(wrapped.dataset().ReferencedSeriesSequence) == 50
    policy = Policy(limits=replace(DEFAULT_LIMITS, max_items=10))
    assert "ReferencedSeriesSequence" not in wrapped.dataset(policy)
    assert limit_diagnostics(wrapped.diagnostics)


# --------------------------------------------------------------------------------------------
# nesting deeper than max_depth

CONTENT_LEVEL = (
    struct.pack("<HH", 0x0040, 0xA730)
    + b"SQ\x00\x00\xff\xff\xff\xff"
    + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
)
"""One level of nesting: (0040,A730) Content Sequence of undefined length, then an item of
undefined length (12 + 8 bytes)."""
CONTENT_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + SEQUENCE_END


def nested(depth: int) -> bytes:
    """Explicit VR LE: Patient ID, then Content Sequences nested ``depth`` deep, closed."""
    return PATIENT_ID + CONTENT_LEVEL * depth + CONTENT_END * depth


def deep_path(levels: int) -> str:
    """The path, shortened as limit messages shorten it, of the Content Sequence that many
    levels down."""
    steps = ["data set"]
    steps += ["(0040,A730) ContentSequence", "item 1"] * levels + ["(0040,A730) ContentSequence"]
    return " > ".join([*steps[:3], f"... {len(steps) - 6} steps ...", *steps[-3:]])


def test_too_deep_lenient_keeps_the_elements_before_and_reports_where() -> None:
    data = nested(70)
    found: list[Diagnostic] = []
    ds = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found)
    assert list(ds.keys()) == [0x00100020] and ds.PatientID == "A"
    [diagnostic] = found
    assert diagnostic.code is DiagnosticCode.LIMIT_EXCEEDED
    assert diagnostic.offset == len(PATIENT_ID)  # the Content Sequence, kept as bytes
    assert data[diagnostic.offset :] == CONTENT_LEVEL * 70 + CONTENT_END * 70
    assert diagnostic.path == deep_path(MAX_SEQUENCE_DEPTH)
    text = diagnostic.message
    assert "\n" not in text and len(text) < 600, len(text)
    assert "more than 64 levels of nested sequences (Limits.max_depth)" in text
    level_65 = len(PATIENT_ID) + len(CONTENT_LEVEL) * MAX_SEQUENCE_DEPTH + 12
    assert f"@{level_65})" in text


def test_too_deep_strict_raises_one_short_line_with_offset_and_path() -> None:
    assert DEFAULT_LIMITS.max_depth == MAX_SEQUENCE_DEPTH
    for policy in (STRICT, Policy(raise_on=frozenset({DiagnosticCode.LIMIT_EXCEEDED}))):
        with pytest.raises(LimitExceeded) as caught:
            decode_dataset(nested(70), EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
        error = caught.value
        assert error.code == DiagnosticCode.LIMIT_EXCEEDED.value
        assert error.offset == len(PATIENT_ID) + len(CONTENT_LEVEL) * MAX_SEQUENCE_DEPTH + 12
        assert error.path == deep_path(MAX_SEQUENCE_DEPTH)
        text = str(error)
        assert "\n" not in text and len(text) < 400, len(text)
        assert "more than 64 levels of nested sequences (Limits.max_depth)" in text
    deeper = Policy(limits=replace(DEFAULT_LIMITS, max_depth=80))
    assert decode_dataset(nested(70), EXPLICIT_VR_LITTLE_ENDIAN, policy=deeper).ContentSequence
    assert decode_dataset(nested(64), EXPLICIT_VR_LITTLE_ENDIAN, policy=STRICT).ContentSequence


def test_ten_thousand_levels_are_a_diagnostic_never_a_recursion_error() -> None:
    data = nested(10_000)
    found: list[Diagnostic] = []
    ds = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found)
    assert ds.PatientID == "A" and "ContentSequence" not in ds
    [diagnostic] = limit_diagnostics(found)
    assert diagnostic.offset == len(PATIENT_ID) and "Limits.max_depth" in diagnostic.message
    # a max_depth the interpreter's stack cannot follow is met where the stack would end
    unbounded = Policy(limits=replace(DEFAULT_LIMITS, max_depth=10**6))
    found = []
    ds = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=unbounded, diagnostics=found)
    assert ds.PatientID == "A" and "ContentSequence" not in ds
    [diagnostic] = limit_diagnostics(found)
    assert diagnostic.offset == len(PATIENT_ID)
    assert "recursion limit" in diagnostic.message and "Limits.max_depth is 1000000" in (
        diagnostic.message
    )
    with pytest.raises(LimitExceeded, match="recursion limit"):
        decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=replace(unbounded, strict=True))


def test_nesting_within_the_stack_decodes_whole_when_max_depth_allows_it() -> None:
    deep = Policy(strict=True, limits=replace(DEFAULT_LIMITS, max_depth=200))
    ds = decode_dataset(nested(200), EXPLICIT_VR_LITTLE_ENDIAN, policy=deep)
    level = ds
    for _ in range(199):
        level = level.ContentSequence[0]
    assert len(level.ContentSequence[0]) == 0


# --------------------------------------------------------------------------------------------
# inflating past max_inflated_size

PIXEL_DATA_HEADER = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 1 << 20)
"""(7FE0,0010) Pixel Data, OB, of 1 MiB."""


def with_pixels(pixels: int) -> bytes:
    """Explicit VR LE: Accession Number, Patient ID, then ``pixels`` bytes of zero Pixel Data."""
    header = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, pixels)
    return ACCESSION + PATIENT_ID + header + bytes(pixels)


def capped(size: int) -> Policy:
    return Policy(limits=replace(DEFAULT_LIMITS, max_inflated_size=size))


def test_inflating_past_the_cap_lenient_keeps_the_elements_before_it() -> None:
    plain = with_pixels(1 << 20)
    deflated = deflate(plain)
    policy = capped(100_000)
    found: list[Diagnostic] = []
    ds = decode_dataset(
        deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=policy, diagnostics=found
    )
    assert ds.AccessionNumber == "A" and ds.PatientID == "A" and "PixelData" not in ds
    [diagnostic] = found
    assert diagnostic.code is DiagnosticCode.LIMIT_EXCEEDED
    assert diagnostic.offset == len(ACCESSION + PATIENT_ID)  # where Pixel Data starts, inflated
    assert diagnostic.path == "data set (inflated) > (7FE0,0010) PixelData"
    text = diagnostic.message
    assert "\n" not in text and "more than 100000 bytes inflated (Limits.max_inflated_size)" in text
    assert "rest of the deflate stream" in text
    # what was inflated is the cap, no more, and its tail is the undecoded start of Pixel Data
    wrapped = EncodedDataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    inflated = wrapped.inflated(policy)
    assert bytes(inflated) == plain[:100_000]
    assert bytes(inflated[diagnostic.offset :]) == plain[diagnostic.offset : 100_000]
    [note] = wrapped.diagnostics
    assert note.code is DiagnosticCode.LIMIT_EXCEEDED and note.path == "deflated data set"
    assert note.offset is not None and 0 < note.offset <= len(deflated)
    assert wrapped.dataset(policy).PatientID == "A" and "PixelData" not in wrapped.dataset(policy)
    assert [d.offset for d in wrapped.diagnostics] == [diagnostic.offset]
    # the same bytes under a larger cap decode whole, from the same wrapper
    assert len(wrapped.dataset().PixelData) == 1 << 20 and not wrapped.diagnostics


def test_inflating_past_the_cap_strict_raises_with_offset_and_path() -> None:
    deflated = deflate(with_pixels(1 << 20))
    for policy in (
        replace(capped(100_000), strict=True),
        replace(capped(100_000), raise_on=frozenset({DiagnosticCode.LIMIT_EXCEEDED})),
    ):
        with pytest.raises(LimitExceeded) as caught:
            decode_dataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
        error = caught.value
        assert error.code == DiagnosticCode.LIMIT_EXCEEDED.value
        assert error.path == "deflated data set"
        assert error.offset is not None and 0 < error.offset <= len(deflated)
        assert "more than 100000 bytes inflated (Limits.max_inflated_size)" in str(error)
        wrapped = EncodedDataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
        for call in (wrapped.dataset, wrapped.inflated):
            with pytest.raises(LimitExceeded) as again:
                call(policy)
            assert (again.value.offset, again.value.path) == (error.offset, error.path)
    # inflate() returns bytes, not a data set: past its cap it raises under every policy
    for policy in (LENIENT, STRICT):
        with pytest.raises(LimitExceeded, match=r"Limits\.max_inflated_size"):
            inflate(deflated, max_size=100_000, policy=policy)
    assert len(inflate(deflated, max_size=len(with_pixels(1 << 20)))) == len(with_pixels(1 << 20))


def test_cap_between_two_elements_stops_after_the_first() -> None:
    deflated = deflate(ACCESSION + PATIENT_ID)
    found: list[Diagnostic] = []
    policy = capped(len(ACCESSION))
    ds = decode_dataset(
        deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=policy, diagnostics=found
    )
    assert list(ds.keys()) == [0x00080050]
    [diagnostic] = limit_diagnostics(found)
    assert (diagnostic.offset, diagnostic.path) == (len(ACCESSION), "data set (inflated)")
    # exactly the cap, and nothing after it: whole, no limit met
    found = []
    exact = capped(len(ACCESSION + PATIENT_ID))
    ds = decode_dataset(
        deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=exact, diagnostics=found
    )
    assert ds.PatientID == "A" and not found


@pytest.mark.parametrize("cut", [1, 7, 8, 11, 12, 20, 808, 812, 815])
def test_cap_inside_a_sequence_stops_at_its_top_level_element(cut: int) -> None:
    plain = many_items(1000)  # Accession Number, then a sequence of 1000 empty items
    cap = len(ACCESSION) + cut  # inside the sequence header, an item header or an item
    found: list[Diagnostic] = []
    ds = decode_dataset(
        deflate(plain), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=capped(cap), diagnostics=found
    )
    assert list(ds.keys()) == [0x00080050]
    [diagnostic] = found
    assert diagnostic.code is DiagnosticCode.LIMIT_EXCEEDED
    assert diagnostic.offset == len(ACCESSION)
    if cut < 8:  # the cap cuts the element's tag and VR: the data set is where it was met
        assert diagnostic.path == "data set (inflated)"
    else:
        assert diagnostic.path.startswith("data set (inflated) > (0008,1115)")


def test_a_value_whose_own_length_ends_at_the_cap_is_whole() -> None:
    head = struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
    short_value = struct.pack("<HH2sH", 0x0010, 0x0020, b"LO", 100) + b"A "  # 100 claimed, 2 left
    broken_item = struct.pack("<HHI", 0xFFFE, 0xE000, len(short_value)) + short_value
    plain = ACCESSION + head + broken_item + SEQUENCE_END
    cap = len(plain) - len(SEQUENCE_END)  # the item's own length ends at the cap
    # the item is whole, so its short value is a truncation, as it is without a cap
    for policy in (capped(cap), LENIENT):
        with pytest.raises(TruncatedError, match="value length 100"):
            decode_dataset(deflate(plain), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
    # a whole item ending at the cap: the sequence's delimiter lies past it
    good_item = struct.pack("<HHI", 0xFFFE, 0xE000, len(PATIENT_ID)) + PATIENT_ID
    plain = ACCESSION + head + good_item + SEQUENCE_END
    found: list[Diagnostic] = []
    ds = decode_dataset(
        deflate(plain),
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        policy=capped(len(plain) - len(SEQUENCE_END)),
        diagnostics=found,
    )
    assert list(ds.keys()) == [0x00080050]
    [diagnostic] = found
    assert diagnostic.offset == len(ACCESSION) and "Limits.max_inflated_size" in diagnostic.message


def test_a_garbage_prefix_is_still_an_error_under_the_cap() -> None:
    deflated = deflate(bytes(10_000))  # zeros: an invalid VR at once
    for policy in (capped(1000), LENIENT):
        with pytest.raises(DecodeError, match="invalid VR"):
            decode_dataset(deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
    with pytest.raises(LimitExceeded, match=r"Limits\.max_inflated_size"):
        decode_dataset(
            deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=replace(capped(1000), strict=True)
        )


@pytest.fixture(scope="module")
def pixel_bomb() -> bytes:
    """256 MiB of zero Pixel Data after two short elements, deflated to about 256 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = ACCESSION + PATIENT_ID + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 256 << 20)
    parts = [compressor.compress(head)]
    parts += [compressor.compress(bytes(1 << 20)) for _ in range(256)]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_deflate_bomb_lenient_stays_within_the_inflate_cap(pixel_bomb: bytes) -> None:
    cap = 8 << 20
    assert len(pixel_bomb) < 400_000
    found: list[Diagnostic] = []
    result: list[Dataset] = []
    used = peak(
        lambda: result.append(
            decode_dataset(
                pixel_bomb,
                DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
                policy=capped(cap),
                diagnostics=found,
            )
        )
    )
    # the inflated bytes are the cap at most; inflating holds about one step of 256 KiB more
    assert used <= cap + (1 << 20), (used - cap) / (1 << 20)
    assert result[0].PatientID == "A" and "PixelData" not in result[0]
    [diagnostic] = found
    assert diagnostic.offset == len(ACCESSION + PATIENT_ID)
    wrapped = EncodedDataset(pixel_bomb, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    assert peak(lambda: wrapped.inflated(capped(cap))) <= cap + (1 << 20)
    assert len(wrapped.inflated(capped(cap))) == cap


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
