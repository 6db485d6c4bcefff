"""A data set against the transfer syntax of the context it is sent on (PS3.5 A.4, 7.3, 10).

Real files from pydicom's test data, each sent in every transfer syntax of a table: the expected
verdict of each pair is written out below, from PS3.5, not computed. The rules are grounded by
re-encoding: a pair the check passes re-encodes faithfully, and a pair it refuses for byte order
really changes the pixels. Then the wiring: ``encode_message`` and ``encode_pdata`` refuse a
mismatching ``Dataset`` unless ``as_is``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from functools import cache

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

import dimse_codec
from dimse_codec import C_STORE, EncodeError, encode_message
from dimse_codec.dataset import (
    COMPATIBLE_COMPRESSIONS,
    MAX_SEQUENCE_DEPTH,
    EncodedDataset,
    check_transfer_syntax,
    decode_dataset,
    encode_dataset,
    lookup_transfer_syntax,
    require_transfer_syntax,
)
from dimse_codec.diagnostics import Diagnostic, DiagnosticCode
from dimse_codec.errors import InvalidParameter, InvalidParameterType, TransferSyntaxMismatch
from dimse_codec.pdata import encode_pdata

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
BIG = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
RLE = "1.2.840.10008.1.2.5"
BASELINE = "1.2.840.10008.1.2.4.50"
EXTENDED = "1.2.840.10008.1.2.4.51"
PROCESS_14 = "1.2.840.10008.1.2.4.57"
SV1 = "1.2.840.10008.1.2.4.70"
JLS = "1.2.840.10008.1.2.4.80"
JLS_NEAR = "1.2.840.10008.1.2.4.81"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"
JPIP = "1.2.840.10008.1.2.4.94"
JPIP_DEFLATE = "1.2.840.10008.1.2.4.95"

NATIVE = (IMPLICIT, EXPLICIT, BIG, DEFLATED)
ENCAPSULATED = (RLE, BASELINE, EXTENDED, PROCESS_14, SV1, JLS, JLS_NEAR, J2K_LOSSLESS, J2K)
CONTEXTS = (*NATIVE, *ENCAPSULATED, JPIP)

ENCAPSULATED_PX = DiagnosticCode.PIXEL_DATA_ENCAPSULATED
NATIVE_PX = DiagnosticCode.PIXEL_DATA_NATIVE
COMPRESSION = DiagnosticCode.COMPRESSION_MISMATCH
NOT_ALLOWED = DiagnosticCode.PIXEL_DATA_NOT_ALLOWED
ENCODING = DiagnosticCode.ENCODING_MISMATCH
BYTE_ORDER = DiagnosticCode.BYTE_ORDER_MISMATCH

Codes = list[DiagnosticCode]


def every(contexts: Iterable[str], *codes: DiagnosticCode) -> dict[str, Codes]:
    return {context: list(codes) for context in contexts}


def compressed(own: str, *admitted_by: str) -> dict[str, Codes]:
    """The verdicts for encapsulated pixel data compressed in ``own``: refused by every native
    syntax, by every other encapsulated one except those that admit its bitstream, and by JPIP."""
    others = [c for c in ENCAPSULATED if c != own and c not in admitted_by]
    return {**every(NATIVE, ENCAPSULATED_PX), **every(others, COMPRESSION), JPIP: [NOT_ALLOWED]}


NATIVE_LE_16 = {**every(ENCAPSULATED, NATIVE_PX), JPIP: [NOT_ALLOWED], BIG: [BYTE_ORDER]}
"""16-bit OW pixel data read little endian: native contexts only, and not big endian."""

DATASET_VERDICTS: dict[str, dict[str, Codes]] = {
    "MR_small.dcm": NATIVE_LE_16,
    "MR_small_implicit.dcm": NATIVE_LE_16,  # "OB or OW" with 16 bits allocated is OW
    "MR_small_bigendian.dcm": {
        **every((IMPLICIT, EXPLICIT, DEFLATED), BYTE_ORDER),
        **every(ENCAPSULATED, NATIVE_PX, BYTE_ORDER),
        JPIP: [NOT_ALLOWED, BYTE_ORDER],
    },
    "SC_rgb_small_odd_big_endian.dcm": {  # 8-bit pixels, but read as OW words big endian
        **every((IMPLICIT, EXPLICIT, DEFLATED), BYTE_ORDER),
        **every(ENCAPSULATED, NATIVE_PX, BYTE_ORDER),
        JPIP: [NOT_ALLOWED, BYTE_ORDER],
    },
    "ExplVR_BigEnd.dcm": {**every(ENCAPSULATED, NATIVE_PX), JPIP: [NOT_ALLOWED]},  # OB bytes
    "image_dfl.dcm": {**every(ENCAPSULATED, NATIVE_PX), JPIP: [NOT_ALLOWED]},  # 8-bit OB
    "MR_small_RLE.dcm": compressed(RLE),
    "SC_rgb_jpeg_dcmtk.dcm": compressed(BASELINE),  # PS3.5 10.3: not an Extended bitstream
    "JPGExtended.dcm": compressed(EXTENDED),
    "SC_rgb_jpeg_gdcm.dcm": compressed(SV1, PROCESS_14),
    "MR_small_jpeg_ls_lossless.dcm": compressed(JLS, JLS_NEAR),
    "JPEGLSNearLossless_16.dcm": compressed(JLS_NEAR),
    "MR_small_jp2klossless.dcm": compressed(J2K_LOSSLESS, J2K),
    "JPEG2000.dcm": compressed(J2K),
    "rtplan.dcm": {},  # no pixel data: any transfer syntax
}

PAIRS = [(name, context) for name in DATASET_VERDICTS for context in CONTEXTS]


@cache
def _path(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    return path


def read(name: str) -> Dataset:
    return dcmread(_path(name))


def own_syntax(ds: Dataset) -> str:
    return str(ds.file_meta.TransferSyntaxUID)


@pytest.mark.parametrize(("name", "context"), PAIRS)
def test_a_file_against_a_context(name: str, context: str) -> None:
    found = check_transfer_syntax(read(name), context)
    assert [d.code for d in found] == DATASET_VERDICTS[name].get(context, [])


def test_the_table_covers_every_file_syntax() -> None:
    """Each file's own syntax is one of the contexts, and sending it there is always fine."""
    for name in DATASET_VERDICTS:
        ds = read(name)
        assert own_syntax(ds) in CONTEXTS
        assert check_transfer_syntax(ds, own_syntax(ds)) == []


@pytest.mark.parametrize(("name", "context"), PAIRS)
def test_what_passes_re_encodes_faithfully(name: str, context: str) -> None:
    """Where the check finds nothing, encoding in the context's syntax and decoding gives the
    same pixel data, and it is encapsulated exactly when the syntax is (PS3.5 A.4)."""
    ds = read(name)
    if check_transfer_syntax(ds, context) or context == JPIP:
        return
    back = decode_dataset(encode_dataset(ds, context), context)
    if "PixelData" not in ds:
        assert "PixelData" not in back
        return
    assert back.PixelData == ds.PixelData
    assert back["PixelData"].is_undefined_length == lookup_transfer_syntax(context).encapsulated


@pytest.mark.parametrize(
    ("big", "little"),
    [
        ("MR_small_bigendian.dcm", "MR_small.dcm"),
        ("SC_rgb_small_odd_big_endian.dcm", "SC_rgb_small_odd.dcm"),
        ("rtdose_expb.dcm", "rtdose.dcm"),
    ],
)
def test_byte_order_is_a_real_loss(big: str, little: str) -> None:
    """The same image read big endian and sent little endian as it is: the pixels change."""
    from_big, from_little = read(big), read(little)
    assert [d.code for d in check_transfer_syntax(from_big, EXPLICIT)] == [BYTE_ORDER]
    sent = decode_dataset(encode_dataset(from_big, EXPLICIT), EXPLICIT)
    assert sent.PixelData != from_little.PixelData
    assert len(sent.PixelData) == len(from_little.PixelData)


def test_encapsulated_under_native_is_what_a_peer_cannot_read() -> None:
    """The bug this check exists for: JPEG 2000 pixel data written in Explicit VR Little Endian
    keeps its undefined length, which a native syntax never has (PS3.5 A.4)."""
    ds = read("JPEG2000.dcm")
    sent = decode_dataset(encode_dataset(ds, EXPLICIT), EXPLICIT)
    assert sent["PixelData"].is_undefined_length
    (found,) = check_transfer_syntax(ds, EXPLICIT)
    assert found == Diagnostic(
        ENCAPSULATED_PX,
        "the pixel data is compressed in JPEG 2000 Image Compression (1.2.840.10008.1.2.4.91) "
        "and Explicit VR Little Endian (1.2.840.10008.1.2.1) is a native transfer syntax: it "
        "needs the pixels uncompressed, with a defined length (PS3.5 A.4)",
        None,
        "data set > (7FE0,0010) PixelData",
    )


# -- encoded data sets ------------------------------------------------------------------------

ENCODED_CONTEXTS = (*CONTEXTS, JPIP_DEFLATE)
LE_EXPLICIT = (EXPLICIT, *ENCAPSULATED, JPIP)
"""Every context here whose element encoding is Explicit VR Little Endian, not deflated."""


def layout_differs(own: str) -> dict[str, Codes]:
    """Contexts whose element encoding differs from ``own``'s (for Explicit VR LE bytes)."""
    assert own in LE_EXPLICIT
    return every((IMPLICIT, BIG, DEFLATED, JPIP_DEFLATE), ENCODING)


ENCODED_VERDICTS: dict[str, dict[str, Codes]] = {
    "MR_small.dcm": {
        **layout_differs(EXPLICIT),
        **every(ENCAPSULATED, NATIVE_PX),
        JPIP: [NOT_ALLOWED],
    },
    "MR_small_implicit.dcm": every((c for c in ENCODED_CONTEXTS if c != IMPLICIT), ENCODING),
    "MR_small_bigendian.dcm": every((c for c in ENCODED_CONTEXTS if c != BIG), ENCODING),
    "image_dfl.dcm": {
        **every((c for c in ENCODED_CONTEXTS if c not in (DEFLATED, JPIP_DEFLATE)), ENCODING),
        JPIP_DEFLATE: [NOT_ALLOWED],  # both deflated: the inflated bytes are walked
    },
    "JPEG2000.dcm": {**compressed(J2K), **layout_differs(J2K)},
    "MR_small_jp2klossless.dcm": {**compressed(J2K_LOSSLESS, J2K), **layout_differs(J2K)},
    "rtplan.dcm": every((c for c in ENCODED_CONTEXTS if c != IMPLICIT), ENCODING),
}


def encoded(name: str) -> EncodedDataset:
    ds = read(name)
    return EncodedDataset.from_dataset(ds, own_syntax(ds))


@pytest.mark.parametrize(
    ("name", "context"), [(n, c) for n in ENCODED_VERDICTS for c in ENCODED_CONTEXTS]
)
def test_encoded_bytes_against_a_context(name: str, context: str) -> None:
    found = check_transfer_syntax(encoded(name), context)
    assert [d.code for d in found] == ENCODED_VERDICTS[name].get(context, [])


def test_an_encoding_mismatch_names_what_differs() -> None:
    (found,) = check_transfer_syntax(encoded("MR_small_implicit.dcm"), BIG)
    assert found == Diagnostic(
        ENCODING,
        "the bytes are encoded in Implicit VR Little Endian (1.2.840.10008.1.2) and would be "
        "read as Explicit VR Big Endian (1.2.840.10008.1.2.2): implicit VR against explicit VR, "
        "little endian against big endian (PS3.5 Annex A)",
        None,
        "data set",
    )


# hand-built Explicit VR Little Endian bytes (PS3.5 7.1.2, 7.5) for the header walk


def explicit(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return head + struct.pack("<HI", 0, size) + value
    return head + struct.pack("<H", size) + value


def implicit(tag: int, value: bytes, length: int | None = None) -> bytes:
    size = len(value) if length is None else length
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, size) + value


def item(body: bytes, *, undefined: bool) -> bytes:
    if undefined:
        return implicit(0xFFFEE000, body, 0xFFFFFFFF) + implicit(0xFFFEE00D, b"")
    return implicit(0xFFFEE000, body)


SEQUENCE_END = implicit(0xFFFEE0DD, b"")
NATIVE_PIXELS = explicit(0x7FE00010, b"OW", bytes(8))
FRAGMENTS = item(b"", undefined=False) + item(b"\xff\xd8\xff\xd9", undefined=False) + SEQUENCE_END
ENCAPSULATED_PIXELS = explicit(0x7FE00010, b"OB", FRAGMENTS, 0xFFFFFFFF)
NAME = explicit(0x00100010, b"PN", b"Doe^J ")
NESTED = explicit(0x00081140, b"SQ", item(NAME, undefined=True) + SEQUENCE_END, 0xFFFFFFFF)
SEQUENCES = explicit(  # undefined-length items holding undefined-length sequences
    0x00081115,
    b"SQ",
    item(NAME + NESTED, undefined=True) + item(NAME, undefined=False) + SEQUENCE_END,
    0xFFFFFFFF,
)
UNKNOWN = explicit(  # PS3.5 6.2.2: an undefined-length UN holds Implicit VR Little Endian
    0x00091010,
    b"UN",
    item(implicit(0x00100010, b"Doe^J "), undefined=True) + SEQUENCE_END,
    0xFFFFFFFF,
)


@pytest.mark.parametrize(
    ("before", "pixels", "own", "context", "codes"),
    [
        (SEQUENCES, NATIVE_PIXELS, EXPLICIT, J2K, [NATIVE_PX]),
        (SEQUENCES + UNKNOWN, NATIVE_PIXELS, EXPLICIT, J2K, [NATIVE_PX]),
        (SEQUENCES + UNKNOWN, ENCAPSULATED_PIXELS, J2K, JLS, [COMPRESSION]),
        (SEQUENCES + UNKNOWN, ENCAPSULATED_PIXELS, J2K, EXPLICIT, [ENCAPSULATED_PX]),
        (SEQUENCES, ENCAPSULATED_PIXELS, J2K_LOSSLESS, J2K, []),
        (SEQUENCES, b"", EXPLICIT, J2K, []),  # no pixel data at all
    ],
)
def test_the_walk_passes_undefined_lengths(
    before: bytes, pixels: bytes, own: str, context: str, codes: Codes
) -> None:
    found = check_transfer_syntax(EncodedDataset(NAME + before + pixels, own), context)
    assert [d.code for d in found] == codes


def test_the_walk_stops_at_pixel_data_and_reads_no_value() -> None:
    """Everything after (7FE0,0010) is never read: garbage there changes nothing."""
    data = NAME + NATIVE_PIXELS + b"\xff" * 6
    assert [d.code for d in check_transfer_syntax(EncodedDataset(data, EXPLICIT), RLE)] == [
        NATIVE_PX
    ]


@pytest.mark.parametrize(
    "data",
    [
        NAME + SEQUENCES[:-12] + NATIVE_PIXELS[:4],  # cut inside a sequence
        NAME + explicit(0x00081115, b"SQ", implicit(0x00100010, b""), 0xFFFFFFFF),  # no item
        NAME + explicit(0x00100020, b"LO", b"12", 0x4000),  # a length past the end
        NAME
        + explicit(0x00081115, b"SQ", b"", 0xFFFFFFFF)
        + implicit(0xFFFEE000, b"", 0xFFFFFFFF) * (MAX_SEQUENCE_DEPTH + 8),  # too deep
    ],
    ids=["cut", "no-item", "past-the-end", "too-deep"],
)
def test_bytes_that_cannot_be_walked_get_no_verdict(data: bytes) -> None:
    """Malformed bytes are the sender's own: nothing can be said of their pixel data."""
    assert check_transfer_syntax(EncodedDataset(data, EXPLICIT), J2K) == []


def test_the_check_reads_no_value() -> None:
    """Cheap: a deferred Pixel Data stays deferred and no raw element is converted."""
    ds = dcmread(_path("JPEG2000.dcm"), defer_size=256)

    def raw() -> list[int]:
        elements = [ds.get_item(tag, keep_deferred=True) for tag in ds.keys()]  # noqa: SIM118
        return [int(e.tag) for e in elements if isinstance(e, RawDataElement)]

    before = raw()
    assert 0x7FE00010 in before and len(before) > 20
    assert [d.code for d in check_transfer_syntax(ds, EXPLICIT)] == [ENCAPSULATED_PX]
    assert [d.code for d in check_transfer_syntax(ds, BIG)] == [ENCAPSULATED_PX]
    assert raw() == before
    pixel = ds.get_item(0x7FE00010, keep_deferred=True)
    assert isinstance(pixel, RawDataElement) and pixel.value is None


# -- more of PS3.5 ---------------------------------------------------------------------------


def float_image(keyword: str) -> Dataset:
    ds = Dataset()
    ds.Rows, ds.Columns, ds.BitsAllocated = 1, 2, 32 if keyword == "FloatPixelData" else 64
    setattr(ds, keyword, bytes(2 * ds.BitsAllocated // 8))
    return ds


@pytest.mark.parametrize(
    ("keyword", "tag"), [("FloatPixelData", "0008"), ("DoubleFloatPixelData", "0009")]
)
@pytest.mark.parametrize("context", [*ENCAPSULATED, JPIP])
def test_float_pixel_data_is_never_encapsulated(keyword: str, tag: str, context: str) -> None:
    (found,) = check_transfer_syntax(float_image(keyword), context)
    assert found.code is NOT_ALLOWED
    assert found.path == f"data set > (7FE0,{tag}) {keyword}"
    assert check_transfer_syntax(float_image(keyword), EXPLICIT) == []


def test_compressed_without_file_meta_is_judged_only_by_encapsulation() -> None:
    """A received data set has no file meta: its compression is unknown, so only native or
    encapsulated can be judged."""
    ds = read("JPEG2000.dcm")
    del ds.file_meta
    assert check_transfer_syntax(ds, JLS) == []
    assert [d.code for d in check_transfer_syntax(ds, EXPLICIT)] == [ENCAPSULATED_PX]
    (found,) = check_transfer_syntax(ds, IMPLICIT)
    assert found.message.startswith("the pixel data is encapsulated (undefined length) and ")


def test_a_built_data_set_has_no_byte_order() -> None:
    """A data set built in memory was never read: its OW bytes are taken as the target's."""
    ds = Dataset()
    ds.Rows, ds.Columns, ds.BitsAllocated = 1, 1, 16
    ds.PixelData = b"\x01\x02"
    assert check_transfer_syntax(ds, BIG) == []
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = J2K
    assert check_transfer_syntax(ds, BIG) == []  # native pixel data: the meta says nothing


def test_the_compatible_pairs_are_encapsulated_syntaxes() -> None:
    for source, target in COMPATIBLE_COMPRESSIONS:
        assert lookup_transfer_syntax(source).encapsulated
        assert lookup_transfer_syntax(target).encapsulated
        assert (target, source) not in COMPATIBLE_COMPRESSIONS
    assert (BASELINE, EXTENDED) not in COMPATIBLE_COMPRESSIONS  # PS3.5 10.3


def test_pixel_data_in_an_item_is_not_judged() -> None:
    """PS3.5 A.4 governs the top-level Pixel Data; the check looks at the top level only."""
    ds = read("rtplan.dcm")
    ds.BeamSequence = Sequence([read("MR_small.dcm")])  # pixel data inside an item
    assert check_transfer_syntax(ds, J2K) == []


def test_unknown_and_malformed_syntaxes() -> None:
    ds = read("JPEG2000.dcm")
    assert check_transfer_syntax(ds, "1.2.3.4.5.6") == []  # private, unknown: no verdict
    with pytest.raises(InvalidParameter, match="malformed transfer syntax UID"):
        check_transfer_syntax(ds, "1.2.x")
    with pytest.raises(InvalidParameterType, match="pydicom Dataset or an EncodedDataset"):
        check_transfer_syntax(b"\x00\x00", EXPLICIT)  # type: ignore[arg-type]


# -- the error and its wiring ------------------------------------------------------------------


def test_require_raises_one_line_naming_path_and_both_syntaxes() -> None:
    ds = read("JPEG2000.dcm")
    require_transfer_syntax(ds, J2K)
    with pytest.raises(TransferSyntaxMismatch) as caught:
        require_transfer_syntax(ds, JLS)
    error = caught.value
    assert isinstance(error, EncodeError) and error.code == "COMPRESSION_MISMATCH"
    assert error.transfer_syntax == "JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80)"
    assert str(error) == (
        "data set > (7FE0,0010) PixelData: the pixel data is compressed in JPEG 2000 Image "
        "Compression (1.2.840.10008.1.2.4.91), not in JPEG-LS Lossless Image Compression "
        "(1.2.840.10008.1.2.4.80); a peer would decode one bitstream as the other (PS3.5 A.4); "
        "as_is=True sends it anyway"
    )
    assert "\n" not in str(error)
    assert [d.code for d in error.diagnostics] == [COMPRESSION]
    assert dimse_codec.TransferSyntaxMismatch is TransferSyntaxMismatch


def test_require_counts_the_other_problems() -> None:
    with pytest.raises(TransferSyntaxMismatch) as caught:
        require_transfer_syntax(read("MR_small_bigendian.dcm"), J2K)
    assert [d.code for d in caught.value.diagnostics] == [NATIVE_PX, BYTE_ORDER]
    assert str(caught.value).endswith(" (and 1 more); as_is=True sends it anyway")


def store_of(ds: Dataset, transfer_syntax: str | None) -> C_STORE:
    store = C_STORE(
        MessageID=1,
        AffectedSOPClassUID=str(ds.SOPClassUID),
        AffectedSOPInstanceUID=str(ds.SOPInstanceUID),
        Priority=0,
        DataSet=ds,
    )
    if transfer_syntax is not None:
        store.transfer_syntax = transfer_syntax
    return store


def test_encode_message_refuses_the_example_clients_mistake() -> None:
    """A JPEG 2000 file on an Explicit VR Little Endian context: refused, not sent."""
    store = store_of(read("JPEG2000.dcm"), EXPLICIT)
    with pytest.raises(TransferSyntaxMismatch, match="is a native transfer syntax"):
        encode_message(store)
    with pytest.raises(TransferSyntaxMismatch):
        encode_pdata(store, 1, max_pdu_length=16382)
    sent = encode_message(store, as_is=True)  # on purpose: the bytes pydicom writes
    assert sent.dataset == encode_dataset(read("JPEG2000.dcm"), EXPLICIT)
    assert bytes(encode_pdata(store, 1, max_pdu_length=16382, as_is=True))


def test_encode_message_with_the_context_syntax() -> None:
    store = store_of(read("JPEG2000.dcm"), J2K)
    message = encode_message(store)
    assert message.dataset == encode_dataset(read("JPEG2000.dcm"), J2K)
    assert bytes(encode_pdata(store, 1, max_pdu_length=16382))


def test_the_default_syntax_is_checked_too() -> None:
    """A primitive nobody gave a transfer syntax encodes in Implicit VR Little Endian; a
    compressed file there is refused instead of being sent wrong."""
    with pytest.raises(TransferSyntaxMismatch) as caught:
        encode_message(store_of(read("MR_small_RLE.dcm"), None))
    assert caught.value.transfer_syntax == "Implicit VR Little Endian (1.2.840.10008.1.2)"
    assert encode_message(store_of(read("MR_small.dcm"), None)).dataset


def test_bytes_are_the_callers_own_encoding() -> None:
    """Bytes carry no syntax: they are sent as given, whatever the context."""
    raw = encode_dataset(read("JPEG2000.dcm"), EXPLICIT)
    store = store_of(read("JPEG2000.dcm"), EXPLICIT)
    store.DataSet = raw
    assert encode_message(store).dataset == raw
