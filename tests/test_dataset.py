"""Tests of the data-set layer: transfer syntaxes, encode/decode, deflate, and the encoded value."""

from __future__ import annotations

import hashlib
import struct
import tracemalloc
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import replace
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.uid import AllTransferSyntaxes, register_transfer_syntax
from pynetdicom import dsutils

from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    KNOWN_TRANSFER_SYNTAXES,
    MAX_SEQUENCE_DEPTH,
    EncodedDataset,
    TransferSyntax,
    decode_dataset,
    deflate,
    encode_dataset,
    inflate,
    lookup_transfer_syntax,
)
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    PolicyViolation,
    TruncatedError,
)
from dimse_codec.limits import DEFAULT_LIMITS
from dimse_codec.policy import LENIENT, STRICT, Diagnostic, DiagnosticCode, Policy

NATIVE = (
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
NATIVE_IDS = [ts.name for ts in NATIVE]
MB = 1024 * 1024

# --------------------------------------------------------------------------------------------
# hand encoders: PS3.5 7.1.2 (explicit VR) and 7.1.3 (implicit VR), written from the rules


def pad(value: bytes, vr: str) -> bytes:
    """PS3.5 6.2: values have even length; UI pads with NUL, other strings with a space."""
    if len(value) % 2 == 0:
        return value
    return value + (b"\x00" if vr in ("UI", "OB", "UN") else b" ")


def implicit_le(group: int, element: int, value: bytes) -> bytes:
    """Tag (2x uint16 LE), 32-bit LE length, value."""
    return struct.pack("<HHI", group, element, len(value)) + value


def explicit(group: int, element: int, vr: str, value: bytes, order: str = "<") -> bytes:
    """Tag, VR, then a 16-bit length, or 2 reserved bytes and a 32-bit length (PS3.5 7.1.2)."""
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"):
        return (
            struct.pack(f"{order}HH", group, element)
            + vr.encode()
            + b"\x00\x00"
            + struct.pack(f"{order}I", len(value))
            + value
        )
    return (
        struct.pack(f"{order}HH", group, element)
        + vr.encode()
        + struct.pack(f"{order}H", len(value))
        + value
    )


def item(content: bytes, order: str = "<", undefined: bool = False) -> bytes:
    """A sequence item (FFFE,E000) of defined or undefined length (PS3.5 7.5)."""
    if undefined:
        return (
            struct.pack(f"{order}HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
            + content
            + struct.pack(f"{order}HHI", 0xFFFE, 0xE00D, 0)
        )
    return struct.pack(f"{order}HHI", 0xFFFE, 0xE000, len(content)) + content


SEQ_DELIMITER_LE = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def sample_dataset() -> Dataset:
    """Strings, numbers of several VRs, a nested sequence and an even-length OB value."""
    ds = Dataset()
    ds.PatientName = "Tube^HeNe"
    ds.PatientID = "Test1101"
    ds.StudyDate = "20240131"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Rows = 512
    ds.InstanceNumber = 7
    ds.PatientWeight = "72.5"
    ds.PhysicalDeltaX = 0.125
    ds.ReferencePixelX0 = -42
    ds.RegionLocationMinX0 = 4_000_000_000
    inner = Dataset()
    inner.CodeValue = "T-A0100"
    outer = Dataset()
    outer.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    outer.ReferencedSOPInstanceUID = "1.2.3.4.5"
    outer.ConceptNameCodeSequence = [inner]
    ds.ReferencedImageSequence = [outer, Dataset()]
    ds.EncapsulatedDocument = bytes(range(256)) * 3
    return ds


def assert_same_values(decoded: Dataset, original: Dataset) -> None:
    """Compare keyword by keyword, recursing into sequences, on the converted values."""
    assert sorted(decoded.keys()) == sorted(original.keys())
    for elem in original:
        got = decoded[elem.tag]
        if elem.VR == "SQ":
            assert len(got.value) == len(elem.value)
            for got_item, want_item in zip(got.value, elem.value, strict=True):
                assert_same_values(got_item, want_item)
        else:
            assert got.value == elem.value, elem.keyword


# --------------------------------------------------------------------------------------------
# transfer syntaxes


def test_native_constants_have_ps35_flags() -> None:
    assert (
        TransferSyntax("1.2.840.10008.1.2", "Implicit VR Little Endian", True, True, False, False)
        == IMPLICIT_VR_LITTLE_ENDIAN
    )
    assert EXPLICIT_VR_LITTLE_ENDIAN[2:6] == (False, True, False, False)
    assert EXPLICIT_VR_BIG_ENDIAN[2:6] == (False, False, False, False)
    assert EXPLICIT_VR_BIG_ENDIAN.retired
    assert DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN[2:6] == (False, True, True, False)
    assert all(ts.known for ts in NATIVE)


@pytest.mark.parametrize("uid", [str(uid) for uid in AllTransferSyntaxes])
def test_every_pydicom_transfer_syntax_is_known(uid: str) -> None:
    ts = lookup_transfer_syntax(uid)
    assert ts.uid == uid and ts.known and ts.name


def test_registry_corrects_pydicom_where_ps35_differs() -> None:
    jpip_deflate = lookup_transfer_syntax("1.2.840.10008.1.2.4.95")
    assert jpip_deflate.deflated and not jpip_deflate.encapsulated
    assert lookup_transfer_syntax("1.2.840.10008.1.2.4.205").deflated
    assert not lookup_transfer_syntax("1.2.840.10008.1.2.4.94").encapsulated
    assert lookup_transfer_syntax("1.2.840.10008.1.20").implicit_vr
    jpeg = lookup_transfer_syntax("1.2.840.10008.1.2.4.50")
    assert jpeg.encapsulated and not jpeg.deflated and not jpeg.implicit_vr
    assert len(KNOWN_TRANSFER_SYNTAXES) >= len(AllTransferSyntaxes)


@pytest.mark.parametrize(
    "raw",
    [
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.1\x00",
        "1.2.840.10008.1.2.1 ",
        b"1.2.840.10008.1.2.1",
        b"1.2.840.10008.1.2.1\x00",
        bytearray(b"1.2.840.10008.1.2.1 "),
    ],
)
def test_lookup_strips_one_pad(raw: str | bytes) -> None:
    assert lookup_transfer_syntax(raw) is EXPLICIT_VR_LITTLE_ENDIAN


def test_lookup_strips_only_one_pad_and_passes_records_through() -> None:
    with pytest.raises(InvalidParameter):
        lookup_transfer_syntax("1.2.840.10008.1.2.1\x00\x00")
    assert lookup_transfer_syntax(EXPLICIT_VR_BIG_ENDIAN) is EXPLICIT_VR_BIG_ENDIAN


def test_unknown_uid_is_refused_by_name() -> None:
    with pytest.raises(InvalidParameter, match=r"1\.2\.3\.4\.5\.6"):
        lookup_transfer_syntax("1.2.3.4.5.6")


def test_unknown_uid_is_guessed_explicit_le_on_request() -> None:
    ts = lookup_transfer_syntax(b"1.2.3.4.5.6\x00", guess=True)
    assert ts.uid == "1.2.3.4.5.6"
    assert not ts.known and not ts.implicit_vr and ts.little_endian and not ts.deflated
    ds = Dataset()
    ds.PatientID = "X"
    assert decode_dataset(encode_dataset(ds, ts), ts).PatientID == "X"


@pytest.mark.parametrize("bad", ["", "1..2", "01.2", "1.2.a", "1." * 40 + "1", b"\xff1.2"])
def test_malformed_uid_is_refused_even_when_guessing(bad: str | bytes) -> None:
    with pytest.raises(InvalidParameter):
        lookup_transfer_syntax(bad, guess=True)


def test_lookup_rejects_wrong_types() -> None:
    with pytest.raises(InvalidParameterType):
        lookup_transfer_syntax(12)  # type: ignore[arg-type]


def test_registered_private_syntax_is_known() -> None:
    uid = register_transfer_syntax("1.2.3.999.1", implicit_vr=False, little_endian=False)
    ts = lookup_transfer_syntax(str(uid))
    assert ts.known and not ts.implicit_vr and not ts.little_endian


# --------------------------------------------------------------------------------------------
# known answers (bytes computed by hand from PS3.5, not by pydicom)


def name_and_id() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Tube^HeNe"
    ds.PatientID = "Test1101"
    return ds


IMPLICIT_KA = implicit_le(0x0010, 0x0010, b"Tube^HeNe ") + implicit_le(0x0010, 0x0020, b"Test1101")
EXPLICIT_LE_KA = explicit(0x0010, 0x0010, "PN", b"Tube^HeNe ") + explicit(
    0x0010, 0x0020, "LO", b"Test1101"
)
EXPLICIT_BE_KA = explicit(0x0010, 0x0010, "PN", b"Tube^HeNe ", ">") + explicit(
    0x0010, 0x0020, "LO", b"Test1101", ">"
)


def test_known_answer_literals() -> None:
    # the helpers themselves, checked against bytes written out octet by octet
    assert (
        bytes.fromhex("10001000 0a000000 547562655e48654e6520 10002000 08000000 5465737431313031")
        == IMPLICIT_KA
    )
    assert (
        bytes.fromhex("10001000 504e 0a00 547562655e48654e6520 10002000 4c4f 0800 5465737431313031")
        == EXPLICIT_LE_KA
    )
    assert (
        bytes.fromhex("00100010 504e 000a 547562655e48654e6520 00100020 4c4f 0008 5465737431313031")
        == EXPLICIT_BE_KA
    )


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (IMPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_KA),
        (EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_LE_KA),
        (EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_BE_KA),
    ],
    ids=["implicit-le", "explicit-le", "explicit-be"],
)
def test_known_answer_encode_and_decode(ts: TransferSyntax, expected: bytes) -> None:
    assert encode_dataset(name_and_id(), ts) == expected
    decoded = decode_dataset(expected, ts)
    assert decoded.PatientName == "Tube^HeNe"
    assert decoded.PatientID == "Test1101"
    assert decoded.original_encoding == (ts.implicit_vr, ts.little_endian)


def test_known_answer_numbers_big_endian() -> None:
    ds = Dataset()
    ds.Rows = 0x0102
    ds.ReferencePixelX0 = -2
    expected = explicit(0x0018, 0x6020, "SL", struct.pack(">i", -2), ">") + explicit(
        0x0028, 0x0010, "US", b"\x01\x02", ">"
    )
    assert encode_dataset(ds, EXPLICIT_VR_BIG_ENDIAN) == expected
    back = decode_dataset(expected, EXPLICIT_VR_BIG_ENDIAN)
    assert (back.Rows, back.ReferencePixelX0) == (0x0102, -2)


def test_known_answer_deflated_is_raw_deflate_of_explicit_le() -> None:
    encoded = encode_dataset(name_and_id(), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    assert len(encoded) % 2 == 0
    assert zlib.decompressobj(-15).decompress(encoded) == EXPLICIT_LE_KA


def test_hand_built_sequences_of_both_length_kinds() -> None:
    code = explicit(0x0008, 0x0100, "SH", b"T-A0100 ")
    defined_item = item(code)
    undefined_item = item(code, undefined=True)
    body = defined_item + undefined_item
    seq_defined = explicit(0x0040, 0xA043, "SQ", body)
    seq_undefined = (
        struct.pack("<HH", 0x0040, 0xA043)
        + b"SQ\x00\x00"
        + b"\xff\xff\xff\xff"
        + body
        + SEQ_DELIMITER_LE
    )
    for data in (seq_defined, seq_undefined):
        ds = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)
        seq = ds.ConceptNameCodeSequence
        assert [entry.CodeValue for entry in seq] == ["T-A0100", "T-A0100"]
        assert [entry.is_undefined_length_sequence_item for entry in seq] == [False, True]
        # pydicom writes back the same structure (lengths kept or undefined as read)
        assert encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN) == data


def test_implicit_sequence_found_by_dictionary() -> None:
    code = implicit_le(0x0008, 0x0100, b"T-A0100 ")
    data = implicit_le(0x0008, 0x1140, item(code)) + implicit_le(0x0010, 0x0020, b"ID")
    ds = decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN)
    assert ds.ReferencedImageSequence[0].CodeValue == "T-A0100"
    assert ds.PatientID == "ID"


def test_un_of_undefined_length_is_an_implicit_vr_sequence() -> None:
    # PS3.5 6.2.2: a sequence sent as UN with undefined length is encoded in Implicit VR LE
    inner = implicit_le(0x0008, 0x0100, b"CODE")
    data = (
        struct.pack("<HH", 0x0009, 0x1010)
        + b"UN\x00\x00\xff\xff\xff\xff"
        + item(inner, undefined=True)
        + SEQ_DELIMITER_LE
    )
    ds = decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)
    assert ds[0x00091010].VR == "SQ"
    assert ds[0x00091010].value[0].CodeValue == "CODE"


def test_encapsulated_pixel_data_is_kept_raw_and_round_trips() -> None:
    jpeg = lookup_transfer_syntax("1.2.840.10008.1.2.4.50")
    fragments = item(b"") + item(b"\xff\xd8\xff\xd9")
    data = (
        explicit(0x0028, 0x0010, "US", b"\x02\x00")
        + struct.pack("<HH", 0x7FE0, 0x0010)
        + b"OB\x00\x00\xff\xff\xff\xff"
        + fragments
        + SEQ_DELIMITER_LE
    )
    ds = decode_dataset(data, jpeg)
    assert ds.Rows == 2
    assert ds.get_item(0x7FE00010).value == fragments
    assert encode_dataset(ds, jpeg) == data


# --------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("ts", NATIVE, ids=NATIVE_IDS)
def test_round_trip_sample(ts: TransferSyntax) -> None:
    original = sample_dataset()
    encoded = encode_dataset(original, ts)
    decoded = decode_dataset(encoded, ts)
    assert_same_values(decoded, original)
    assert decoded == original
    # and re-encoding the decoded data set gives the same bytes
    assert encode_dataset(decoded, ts) == encoded


@pytest.mark.parametrize("source", NATIVE, ids=NATIVE_IDS)
@pytest.mark.parametrize("target", NATIVE, ids=NATIVE_IDS)
def test_transcode_between_syntaxes(source: TransferSyntax, target: TransferSyntax) -> None:
    decoded = decode_dataset(encode_dataset(sample_dataset(), source), source)
    assert encode_dataset(decoded, target) == encode_dataset(sample_dataset(), target)


LO_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -._", max_size=64
).map(str.strip)
PN_COMPONENT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", max_size=20)


@st.composite
def small_datasets(draw: st.DrawFn) -> Dataset:
    ds = Dataset()
    if draw(st.booleans()):
        family, given_name = draw(PN_COMPONENT), draw(PN_COMPONENT)
        ds.PatientName = f"{family}^{given_name}" if given_name else family
    if draw(st.booleans()):
        ds.PatientID = draw(LO_TEXT)
    if draw(st.booleans()):
        ds.Rows = draw(st.integers(0, 0xFFFF))
    if draw(st.booleans()):
        ds.RegionLocationMinX0 = draw(st.integers(0, 0xFFFFFFFF))
    if draw(st.booleans()):
        ds.ReferencePixelX0 = draw(st.integers(-(2**31), 2**31 - 1))
    if draw(st.booleans()):
        ds.PhysicalDeltaX = draw(st.floats(allow_nan=False, allow_infinity=True))
    if draw(st.booleans()):
        ds.InstanceNumber = draw(st.integers(-(2**31), 2**31 - 1))
    return ds


@pytest.mark.parametrize("ts", NATIVE, ids=NATIVE_IDS)
@given(ds=small_datasets())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_generated(ts: TransferSyntax, ds: Dataset) -> None:
    decoded = decode_dataset(encode_dataset(ds, ts), ts)
    assert_same_values(decoded, ds)


# --------------------------------------------------------------------------------------------
# decode strictness: the transfer syntax is the contract


def test_explicit_bytes_are_not_read_as_implicit() -> None:
    with pytest.raises(DecodeError):
        decode_dataset(EXPLICIT_LE_KA, IMPLICIT_VR_LITTLE_ENDIAN)


def test_implicit_bytes_are_not_read_as_explicit() -> None:
    with pytest.raises(DecodeError, match="invalid VR"):
        decode_dataset(IMPLICIT_KA, EXPLICIT_VR_LITTLE_ENDIAN)


def test_truncated_value_names_offset_and_element() -> None:
    data = IMPLICIT_KA[:-3]
    with pytest.raises(TruncatedError) as info:
        decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN)
    assert info.value.offset == len(IMPLICIT_KA) - 8
    assert "(0010,0020) PatientID" in info.value.path


def test_truncated_header_is_truncated_error() -> None:
    with pytest.raises(TruncatedError, match="8 bytes"):
        decode_dataset(IMPLICIT_KA + b"\x10\x00", IMPLICIT_VR_LITTLE_ENDIAN)


def test_empty_input_is_empty_dataset() -> None:
    for ts in NATIVE:
        ds = decode_dataset(b"", ts)
        assert isinstance(ds, Dataset) and len(ds) == 0


def test_bad_value_is_decode_error_now_not_later() -> None:
    # US with a 3-byte value: pydicom would only fail on access
    data = explicit(0x0028, 0x0010, "US", b"\x01\x02\x03\x00")[:-1]
    data = data[:6] + struct.pack("<H", 3) + data[8:]
    with pytest.raises(DecodeError) as info:
        decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)
    assert info.value.offset == 8
    assert "Rows" in info.value.path


def test_unresolvable_ambiguous_vr_is_left_raw() -> None:
    # LUT Data is "US or OW"; without LUT Descriptor pydicom cannot choose, which is not a
    # decoding error: the bytes are fine, and the element stays raw for pydicom to resolve later
    data = implicit_le(0x0028, 0x3006, b"\x01\x02\x03\x04")
    ds = decode_dataset(data, IMPLICIT_VR_LITTLE_ENDIAN)
    assert ds.get_item(0x00283006).value == b"\x01\x02\x03\x04"
    assert encode_dataset(ds, IMPLICIT_VR_LITTLE_ENDIAN) == data
    with pytest.raises(EncodeError, match="ambiguous"):
        encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)
    # with its descriptor the VR is resolved during decoding
    descriptor = implicit_le(0x0028, 0x3002, struct.pack("<3H", 2, 0, 16))
    resolved = decode_dataset(descriptor + data, IMPLICIT_VR_LITTLE_ENDIAN)
    assert resolved[0x00283006].VR == "OW"


def test_out_of_order_and_duplicate_are_diagnostics() -> None:
    first = explicit(0x0010, 0x0020, "LO", b"A ")
    second = explicit(0x0010, 0x0010, "PN", b"B ")
    found: list[Diagnostic] = []
    ds = decode_dataset(
        first + second + first.replace(b"A ", b"C "), EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found
    )
    assert [d.code for d in found] == [DiagnosticCode.OUT_OF_ORDER, DiagnosticCode.DUPLICATE_TAG]
    assert ds.PatientID == "A"
    with pytest.raises(PolicyViolation):
        decode_dataset(first + second, EXPLICIT_VR_LITTLE_ENDIAN, policy=STRICT)


def test_sequence_nesting_is_capped() -> None:
    depth = MAX_SEQUENCE_DEPTH + 5
    head = (
        struct.pack("<HH", 0x0040, 0xA730)
        + b"SQ\x00\x00\xff\xff\xff\xff"
        + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    )
    tail = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + SEQ_DELIMITER_LE
    data = head * depth + tail * depth
    with pytest.raises(LimitExceeded, match="nested"):
        decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, policy=STRICT)
    found: list[Diagnostic] = []
    assert len(decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found)) == 0
    assert [(d.code, d.offset) for d in found] == [(DiagnosticCode.LIMIT_EXCEEDED, 0)]
    ok = head * 10 + tail * 10
    assert decode_dataset(ok, EXPLICIT_VR_LITTLE_ENDIAN).ContentSequence


@pytest.mark.parametrize(
    "data",
    [
        struct.pack("<HHI", 0xFFFE, 0xE000, 0),  # item at top level
        explicit(0x0040, 0xA730, "SQ", struct.pack("<HHI", 0x0010, 0x0010, 0)),  # not an item
        struct.pack("<HH", 0x0040, 0xA730)
        + b"SQ\x00\x00"
        + struct.pack("<I", 8)
        + SEQ_DELIMITER_LE,  # sequence delimiter inside a defined-length sequence
        struct.pack("<HH", 0x0010, 0x0020) + b"LO" + b"\xff\xff",  # long value, no bytes
        struct.pack("<HH", 0x0010, 0x0020) + b"OB\x00\x00\xff\xff\xff\xff",  # OB, no end
        struct.pack("<HH", 0x0028, 0x0010) + b"US\x00\x00",  # US has a 2-byte length (0)
    ],
)
def test_malformed_structures_raise_codec_errors(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            decode_dataset(data, EXPLICIT_VR_LITTLE_ENDIAN)
        except DimseCodecError:
            return
    # the only structure above that may decode is the zero-length US value
    assert data.endswith(b"US\x00\x00")


def decode_outcome(data: bytes, ts: TransferSyntax) -> Dataset | DimseCodecError:
    """Decode, returning the codec error instead of raising it; any other exception escapes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about odd values in garbage
        try:
            return decode_dataset(data, ts)
        except DimseCodecError as exc:
            return exc


def check_outcome(result: Dataset | DimseCodecError, data: bytes, ts: TransferSyntax) -> None:
    """A decoded value is a Dataset; an error names where it is, inside the input it read."""
    if isinstance(result, Dataset):
        return
    assert result.message
    if ts.deflated:
        assert result.path.startswith(("deflated data set", "data set (inflated)"))
    else:
        assert result.path.startswith("data set")
        assert result.offset is None or 0 <= result.offset <= len(data)


@pytest.mark.parametrize("ts", NATIVE, ids=NATIVE_IDS)
def test_every_truncation_decodes_or_raises_codec_error(ts: TransferSyntax) -> None:
    encoded = encode_dataset(sample_dataset(), ts)
    errors = 0
    for cut in range(len(encoded)):
        result = decode_outcome(encoded[:cut], ts)
        check_outcome(result, encoded[:cut], ts)
        errors += isinstance(result, DimseCodecError)
    # a prefix decodes only when it ends on an element boundary at the top level
    assert errors >= len(encoded) - len(sample_dataset()) - 1
    assert isinstance(decode_outcome(encoded, ts), Dataset)


@pytest.mark.parametrize("ts", NATIVE, ids=NATIVE_IDS)
@given(data=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_garbage_raises_only_codec_errors(ts: TransferSyntax, data: bytes) -> None:
    check_outcome(decode_outcome(data, ts), data, ts)


@pytest.mark.parametrize("ts", NATIVE[:3], ids=NATIVE_IDS[:3])
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_mutated_encodings_raise_only_codec_errors(ts: TransferSyntax, data: st.DataObject) -> None:
    encoded = bytearray(encode_dataset(sample_dataset(), ts))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(encoded) - 1))
        encoded[index] = data.draw(st.integers(0, 255))
    check_outcome(decode_outcome(bytes(encoded), ts), bytes(encoded), ts)


# --------------------------------------------------------------------------------------------
# encode errors


def test_encode_wraps_pydicom_failures() -> None:
    ds = Dataset()
    ds.add_new(0x00280010, "US", "not a number")
    with pytest.raises(EncodeError) as info:
        encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)
    assert info.value.__cause__ is not None
    assert str(info.value.__cause__) in info.value.message


def test_encode_refuses_command_and_file_meta_elements() -> None:
    ds = Dataset()
    ds.add_new(0x00000100, "US", 1)
    with pytest.raises(EncodeError, match="command set"):
        encode_dataset(ds, IMPLICIT_VR_LITTLE_ENDIAN)
    ds = Dataset()
    ds.add_new(0x00020010, "UI", "1.2.840.10008.1.2")
    with pytest.raises(EncodeError, match="file meta"):
        encode_dataset(ds, IMPLICIT_VR_LITTLE_ENDIAN)


def test_encode_rejects_non_datasets_and_unknown_syntaxes() -> None:
    with pytest.raises(InvalidParameterType):
        encode_dataset({"PatientID": "X"}, IMPLICIT_VR_LITTLE_ENDIAN)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter):
        encode_dataset(Dataset(), "1.2.3.4.5.6")
    with pytest.raises(InvalidParameterType):
        decode_dataset("text", IMPLICIT_VR_LITTLE_ENDIAN)  # type: ignore[arg-type]


def test_encapsulated_syntax_needs_encapsulated_pixel_data() -> None:
    ds = Dataset()
    ds.add_new(0x7FE00010, "OB", b"\x00" * 4)
    ds[0x7FE00010].is_undefined_length = True
    with pytest.raises(EncodeError, match="encapsulated"):
        encode_dataset(ds, lookup_transfer_syntax("1.2.840.10008.1.2.4.50"))


# --------------------------------------------------------------------------------------------
# deflate


def odd_and_even_streams() -> tuple[bytes, bytes]:
    """Find one payload whose raw deflate stream is odd and one whose stream is even."""
    odd = even = b""
    for size in range(1, 200):
        payload = bytes(range(size))
        stream = zlib.compressobj(6, zlib.DEFLATED, -15)
        length = len(stream.compress(payload) + stream.flush())
        if length % 2 and not odd:
            odd = payload
        if not length % 2 and not even:
            even = payload
        if odd and even:
            return odd, even
    raise AssertionError("no odd/even payloads found")


def raw_deflate(payload: bytes) -> bytes:
    stream = zlib.compressobj(6, zlib.DEFLATED, -15)
    return stream.compress(payload) + stream.flush()


def test_deflate_pads_odd_streams_only() -> None:
    odd, even = odd_and_even_streams()
    assert deflate(odd) == raw_deflate(odd) + b"\x00"
    assert deflate(even) == raw_deflate(even)
    assert deflate(odd, pad=False) == raw_deflate(odd)


def test_inflate_accepts_with_and_without_pad() -> None:
    odd, even = odd_and_even_streams()
    found: list[Diagnostic] = []
    assert inflate(raw_deflate(odd), max_size=MB, diagnostics=found) == odd
    assert found == []
    # the pad that makes an odd stream even is expected: no diagnostic, fine under STRICT
    assert inflate(raw_deflate(odd) + b"\x00", max_size=MB, diagnostics=found) == odd
    assert found == []
    assert inflate(raw_deflate(odd) + b"\x00", max_size=MB, policy=STRICT) == odd
    # a pad after a stream that was already even is reported
    assert inflate(raw_deflate(even) + b"\x00", max_size=MB, diagnostics=found) == even
    assert [d.code for d in found] == [DiagnosticCode.DEFLATE_PADDING]
    assert found[0].offset == len(raw_deflate(even))
    with pytest.raises(PolicyViolation):
        inflate(raw_deflate(even) + b"\x00", max_size=MB, policy=STRICT)
    relaxed = Policy(strict=True, allow=frozenset({DiagnosticCode.DEFLATE_PADDING}))
    assert inflate(raw_deflate(even) + b"\x00", max_size=MB, policy=relaxed) == even


@pytest.mark.parametrize("tail", [b"\x01", b"\x00\x00", b"junk!"])
def test_inflate_reports_trailing_data(tail: bytes) -> None:
    payload = b"trailing data test payload"
    found: list[Diagnostic] = []
    assert inflate(raw_deflate(payload) + tail, max_size=MB, diagnostics=found) == payload
    assert [d.code for d in found] == [DiagnosticCode.DEFLATE_TRAILING_DATA]
    raising = Policy(raise_on=frozenset({DiagnosticCode.DEFLATE_TRAILING_DATA}))
    with pytest.raises(PolicyViolation):
        inflate(raw_deflate(payload) + tail, max_size=MB, policy=raising)


def test_inflate_garbage_is_decode_error() -> None:
    with pytest.raises(DecodeError) as info:
        inflate(b"\xff" * 64, max_size=MB)
    assert not isinstance(info.value, TruncatedError)


def test_inflate_incomplete_stream_is_truncated() -> None:
    stream = raw_deflate(bytes(range(256)) * 50)
    for cut in (0, 1, len(stream) // 2, len(stream) - 1):
        with pytest.raises(TruncatedError):
            inflate(stream[:cut], max_size=MB)


def test_inflate_limit_is_exact() -> None:
    payload = b"a" * 5000
    assert inflate(raw_deflate(payload), max_size=5000) == payload
    with pytest.raises(LimitExceeded):
        inflate(raw_deflate(payload), max_size=4999)
    with pytest.raises(InvalidParameter):
        inflate(raw_deflate(payload), max_size=-1)


@pytest.mark.parametrize("ts", [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN], ids=["deflated"])
def test_deflated_decode_with_and_without_pad(ts: TransferSyntax) -> None:
    for size in range(1, 40):
        ds = Dataset()
        ds.PatientID = "X" * size
        encoded = encode_dataset(ds, ts)
        assert len(encoded) % 2 == 0
        unpadded = raw_deflate(encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN))
        assert decode_dataset(unpadded, ts).PatientID == ds.PatientID
        found: list[Diagnostic] = []
        assert decode_dataset(encoded, ts, diagnostics=found).PatientID == ds.PatientID
        assert found == []  # our own padding of odd streams is conformant
        assert decode_dataset(encoded, ts, policy=STRICT).PatientID == ds.PatientID


def test_deflated_decode_honours_policy_limit() -> None:
    ds = Dataset()
    ds.PatientID = "X" * 60
    encoded = encode_dataset(ds, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    small = Policy(limits=replace(DEFAULT_LIMITS, max_inflated_size=16))
    with pytest.raises(LimitExceeded):
        decode_dataset(
            encoded, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=replace(small, strict=True)
        )
    found: list[Diagnostic] = []
    decoded = decode_dataset(
        encoded, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=small, diagnostics=found
    )
    assert len(decoded) == 0  # Patient ID runs past the 16 bytes inflated
    assert [(d.code, d.offset) for d in found] == [(DiagnosticCode.LIMIT_EXCEEDED, 0)]


def test_deflated_garbage_and_truncation() -> None:
    with pytest.raises(DecodeError):
        decode_dataset(b"\xff\xfe" * 10, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    encoded = encode_dataset(sample_dataset(), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    with pytest.raises(TruncatedError):
        decode_dataset(encoded[: len(encoded) // 2], DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)


@pytest.fixture(scope="module")
def gigabyte_bomb() -> bytes:
    """1 GiB of zeros as a raw deflate stream (about 1 MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MB)
    parts = [compressor.compress(zeros) for _ in range(1024)]
    parts.append(compressor.flush())
    return b"".join(parts)


def peak_of(action: object) -> int:
    """Run ``action`` under tracemalloc and return the peak traced bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        action()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_deflate_bomb_is_stopped_with_bounded_memory(gigabyte_bomb: bytes) -> None:
    assert len(gigabyte_bomb) < 2 * MB

    def run() -> None:
        with pytest.raises(LimitExceeded):
            inflate(gigabyte_bomb, max_size=10 * MB)

    peak = peak_of(run)
    print(f"deflate bomb (1 GiB -> cap 10 MiB): peak {peak / MB:.1f} MiB")
    assert peak < 25 * MB


def test_deflate_bomb_through_decode_and_encoded_dataset(gigabyte_bomb: bytes) -> None:
    policy = Policy(strict=True, limits=replace(DEFAULT_LIMITS, max_inflated_size=10 * MB))
    with pytest.raises(LimitExceeded):
        decode_dataset(gigabyte_bomb, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, policy=policy)
    wrapped = EncodedDataset(gigabyte_bomb, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    with pytest.raises(LimitExceeded):
        wrapped.dataset(policy)
    # lenient, the first 10 MiB are decoded: zeros are no data set (an invalid VR at once)
    with pytest.raises(DecodeError, match="invalid VR"):
        wrapped.dataset(replace(policy, strict=False))
    assert len(wrapped.inflated(replace(policy, strict=False))) == 10 * MB


# --------------------------------------------------------------------------------------------
# interop with pynetdicom


def pynetdicom_sample() -> Dataset:
    ds = sample_dataset()
    del ds.EncapsulatedDocument
    return ds


def test_pynetdicom_deflated_decodes_here() -> None:
    for size in range(1, 12):
        ds = pynetdicom_sample()
        ds.PatientID = "P" * size
        theirs = dsutils.encode(ds, False, True, True)
        assert theirs is not None
        found: list[Diagnostic] = []
        assert_same_values(
            decode_dataset(theirs, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, diagnostics=found), ds
        )
        assert found == []  # pynetdicom pads odd streams, which is conformant


@pytest.mark.parametrize("ts", NATIVE, ids=NATIVE_IDS)
def test_ours_decodes_with_pynetdicom(ts: TransferSyntax) -> None:
    ds = pynetdicom_sample()
    ours = encode_dataset(ds, ts)
    theirs = dsutils.decode(BytesIO(ours), ts.implicit_vr, ts.little_endian, ts.deflated)
    assert_same_values(theirs, ds)
    assert dsutils.encode(ds, ts.implicit_vr, ts.little_endian, ts.deflated) == ours


# --------------------------------------------------------------------------------------------
# EncodedDataset


def test_encoded_dataset_keeps_the_buffer() -> None:
    data = encode_dataset(sample_dataset(), EXPLICIT_VR_LITTLE_ENDIAN)
    wrapped = EncodedDataset(data, "1.2.840.10008.1.2.1")
    assert wrapped.raw is data
    assert len(wrapped) == len(data) and bytes(wrapped) == data
    assert wrapped.sha256() == hashlib.sha256(data).hexdigest()
    assert wrapped.inflated() is data
    assert wrapped.transfer_syntax is EXPLICIT_VR_LITTLE_ENDIAN

    backing = bytearray(data)
    viewed = EncodedDataset(memoryview(backing), EXPLICIT_VR_LITTLE_ENDIAN)
    assert isinstance(viewed.raw, memoryview) and viewed.raw.readonly
    assert viewed.raw.obj is backing  # a view of the caller's buffer, not a copy
    assert viewed == wrapped and hash(viewed) == hash(wrapped)
    assert viewed != EncodedDataset(data, IMPLICIT_VR_LITTLE_ENDIAN)
    assert viewed != EncodedDataset(data[:-2], EXPLICIT_VR_LITTLE_ENDIAN)


def test_encoded_dataset_decodes_lazily_and_caches() -> None:
    wrapped = EncodedDataset.from_dataset(sample_dataset(), DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    first = wrapped.dataset()
    assert first is wrapped.dataset()
    assert_same_values(first, sample_dataset())
    assert wrapped.inflated() == encode_dataset(sample_dataset(), EXPLICIT_VR_LITTLE_ENDIAN)
    assert wrapped == EncodedDataset(bytes(wrapped), "1.2.840.10008.1.2.1.99")


def test_encoded_dataset_diagnostics_and_strict_policy() -> None:
    ds = Dataset()
    for size in range(1, 40):
        ds.PatientID = "Y" * size
        stream = raw_deflate(encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN))
        if len(stream) % 2 == 0:
            break
    # an even stream needs no pad, so a pad byte after it is reported
    wrapped = EncodedDataset(stream + b"\x00", DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    assert wrapped.dataset().PatientID == ds.PatientID
    assert [d.code for d in wrapped.diagnostics] == [DiagnosticCode.DEFLATE_PADDING]
    with pytest.raises(PolicyViolation):
        wrapped.dataset(STRICT)
    with pytest.raises(PolicyViolation):
        wrapped.inflated(STRICT)
    tiny = Policy(limits=replace(DEFAULT_LIMITS, max_inflated_size=4))
    with pytest.raises(LimitExceeded):
        wrapped.dataset(replace(tiny, strict=True))
    assert len(wrapped.dataset(tiny)) == 0  # 4 bytes inflated: not even one element header
    assert [d.code for d in wrapped.diagnostics] == [DiagnosticCode.LIMIT_EXCEEDED]
    assert wrapped.dataset(LENIENT).PatientID == ds.PatientID


def test_encoded_dataset_empty_and_bad_bytes() -> None:
    assert len(EncodedDataset(b"", DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN).dataset()) == 0
    broken = EncodedDataset(IMPLICIT_KA[:-1], IMPLICIT_VR_LITTLE_ENDIAN)
    with pytest.raises(TruncatedError):
        broken.dataset()
    with pytest.raises(InvalidParameterType):
        EncodedDataset("text", IMPLICIT_VR_LITTLE_ENDIAN)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# bounded memory on the big paths


@pytest.fixture(scope="module")
def hundred_mb() -> Iterator[bytearray]:
    yield bytearray(100 * MB)


def test_wrapping_a_view_costs_no_memory(hundred_mb: bytearray) -> None:
    def run() -> None:
        wrapped = EncodedDataset(memoryview(hundred_mb), EXPLICIT_VR_LITTLE_ENDIAN)
        assert len(wrapped) == 100 * MB
        assert len(wrapped.sha256()) == 64

    peak = peak_of(run)
    print(f"EncodedDataset(memoryview 100 MiB) + len + sha256: peak {peak / 1024:.1f} KiB")
    assert peak < MB


def big_pixel_dataset(value: bytes) -> Dataset:
    ds = Dataset()
    ds.Rows = 1
    ds.add_new(0x7FE00010, "OB", value)
    return ds


@pytest.mark.parametrize("ts", NATIVE[:3], ids=NATIVE_IDS[:3])
def test_encode_copies_a_big_value_once(ts: TransferSyntax) -> None:
    ds = big_pixel_dataset(bytes(100 * MB))
    out: list[bytes] = []
    peak = peak_of(lambda: out.append(encode_dataset(ds, ts)))
    print(f"encode 100 MiB OB ({ts.name}): peak {peak / MB:.1f} MiB")
    headers = 10 + (8 if ts.implicit_vr else 12)  # Rows element + pixel data header
    assert len(out[0]) == 100 * MB + headers
    assert decode_dataset(out[0], ts).PixelData[:4] == b"\x00" * 4
    assert peak < 140 * MB  # the output itself (plus BytesIO over-allocation), no second copy


def test_reencoding_a_decoded_big_value_copies_it_once() -> None:
    encoded = encode_dataset(big_pixel_dataset(bytes(100 * MB)), EXPLICIT_VR_LITTLE_ENDIAN)
    decoded = decode_dataset(encoded, EXPLICIT_VR_LITTLE_ENDIAN)
    del encoded
    out: list[bytes] = []
    peak = peak_of(lambda: out.append(encode_dataset(decoded, EXPLICIT_VR_LITTLE_ENDIAN)))
    print(f"re-encode decoded 100 MiB OB: peak {peak / MB:.1f} MiB")
    assert len(out[0]) == 100 * MB + 22
    assert peak < 140 * MB


def test_streaming_stand_in_leaves_the_callers_dataset_alone() -> None:
    ds = big_pixel_dataset(bytes(range(256)) * 1024)
    ds.add_new(0x00090010, "LO", "CREATOR")
    ds.add_new(0x00091001, "OB", b"\x01\x02" * 40_000)
    before = {elem.tag: (elem.VR, elem.value) for elem in ds}
    for ts in NATIVE:
        back = decode_dataset(encode_dataset(ds, ts), ts)
        assert back.PixelData == ds.PixelData
        assert back[0x00091001].value == ds[0x00091001].value
    assert {elem.tag: (elem.VR, elem.value) for elem in ds} == before


def test_decode_copies_a_big_value_once() -> None:
    encoded = encode_dataset(big_pixel_dataset(bytes(100 * MB)), EXPLICIT_VR_LITTLE_ENDIAN)
    view = memoryview(encoded)
    out: list[Dataset] = []
    peak = peak_of(lambda: out.append(decode_dataset(view, EXPLICIT_VR_LITTLE_ENDIAN)))
    print(f"decode 100 MiB OB: peak {peak / MB:.1f} MiB")
    assert len(out[0].PixelData) == 100 * MB
    assert peak < 110 * MB
