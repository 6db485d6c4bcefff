"""Hypothesis strategies for the data set after a command set: valid ones and broken bytes.

:func:`datasets` generates small pydicom ``Dataset`` objects that
:func:`~dimse_codec.dataset.encode_dataset` writes and
:func:`~dimse_codec.dataset.decode_dataset` reads back equal (and re-encodes to the same bytes)
in the transfer syntax asked for; :func:`encoded_datasets` pairs such bytes with their syntax.
:func:`malformed_datasets` breaks one thing in such an encoding and says what the decoder must
answer: an error class (truncation, a bad VR, a corrupt deflate stream ...) or the one
diagnostic a lenient decode reports (too deep nesting is ``LIMIT_EXCEEDED``). Only what the
decoder really detects is generated.
"""

from __future__ import annotations

import string
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from pydicom.dataelem import DataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    MAX_SEQUENCE_DEPTH,
    TransferSyntax,
    TransferSyntaxLike,
    deflate,
    encode_dataset,
    lookup_transfer_syntax,
)
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    TruncatedError,
)
from dimse_codec.policy import DiagnosticCode
from dimse_codec.strategies.pdu import Expected, _shared
from dimse_codec.strategies.primitives import uids

__all__ = [
    "STANDARD_TRANSFER_SYNTAXES",
    "MalformedDataset",
    "datasets",
    "encoded_datasets",
    "malformed_datasets",
]

_D = DiagnosticCode

STANDARD_TRANSFER_SYNTAXES: tuple[TransferSyntax, ...] = (
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
"""The four transfer syntaxes every DIMSE peer meets, simplest first (the order shrinks to)."""

_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits + "_"

_PRIVATE_GROUP = 0x0009
_PRIVATE_CREATOR = "DIMSE CODEC STRATEGIES"
_CONTENT_SEQUENCE = 0x0040A730
"""(0040,A730) Content Sequence: the SQ element the malformed examples add by hand."""
_TEXT_VALUE = 0x0040A160
"""(0040,A160) Text Value, UT: a VR that may not have an undefined length."""
_ITEM = 0xFFFEE000
_ITEM_DELIMITER = 0xFFFEE00D
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)


# --- values --------------------------------------------------------------------------------------


def _text(alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    """Text without padding characters at either end, so a decode gives the same string."""
    return st.text(alphabet=alphabet, min_size=1, max_size=max_size)


def _decimal_string() -> st.SearchStrategy[str]:
    """DS values of at most 16 characters, written as a person would."""
    whole = st.integers(min_value=-99999, max_value=99999)
    return st.one_of(
        whole.map(str),
        st.tuples(whole, st.integers(min_value=0, max_value=9999)).map(lambda p: f"{p[0]}.{p[1]}"),
    )


def _dates() -> st.SearchStrategy[str]:
    """DA values (YYYYMMDD)."""
    return st.dates().map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}")


def _times() -> st.SearchStrategy[str]:
    """TM values (HHMMSS)."""
    return st.times().map(lambda t: f"{t.hour:02d}{t.minute:02d}{t.second:02d}")


def _person_names() -> st.SearchStrategy[str]:
    """PN values: one to three name components."""
    return st.lists(_text(_ALNUM, 8), min_size=1, max_size=3).map("^".join)


def _even_bytes() -> st.SearchStrategy[bytes]:
    """OB values of even length (an odd OB is padded on encode, so it would not round-trip)."""
    return st.binary(min_size=1, max_size=16).map(lambda b: b if len(b) % 2 == 0 else b + b"\x00")


def _reference_items() -> st.SearchStrategy[Dataset]:
    """Items of Referenced SOP Sequence: a SOP class and a SOP instance UID."""

    def item(pair: tuple[str, str]) -> Dataset:
        """Build one item."""
        ds = Dataset()
        ds.add_new(0x00081150, "UI", pair[0])
        ds.add_new(0x00081155, "UI", pair[1])
        return ds

    return st.tuples(_shared(uids), _shared(uids)).map(item)


_CATALOGUE: tuple[tuple[int, str, Callable[[], st.SearchStrategy[Any]]], ...] = (
    (0x00100020, "LO", lambda: _text(_ALNUM, 16)),  # Patient ID
    (0x00280010, "US", lambda: st.integers(0, 0xFFFF)),  # Rows
    (0x0020000D, "UI", uids),  # Study Instance UID
    (0x00100010, "PN", _person_names),  # Patient's Name
    (0x00080060, "CS", lambda: _text(_UPPER, 16)),  # Modality
    (0x00080020, "DA", _dates),  # Study Date
    (0x00080030, "TM", _times),  # Study Time
    (0x00080050, "SH", lambda: _text(_ALNUM, 16)),  # Accession Number
    (0x00080016, "UI", uids),  # SOP Class UID
    (0x00080081, "ST", lambda: _text(_ALNUM + " ", 32).map(str.strip).filter(bool)),
    (
        0x00101010,
        "AS",
        lambda: st.tuples(st.integers(0, 999), st.sampled_from("DWMY")).map(
            lambda p: f"{p[0]:03d}{p[1]}"
        ),
    ),  # Patient's Age
    (0x00101020, "DS", _decimal_string),  # Patient's Size
    (0x00200011, "IS", lambda: st.integers(-(2**31), 2**31 - 1).map(str)),  # Series Number
    (0x00280030, "DS", lambda: st.lists(_decimal_string(), min_size=2, max_size=2)),
    (0x00082134, "FD", lambda: st.floats(allow_nan=False)),  # Event Time Offset
    (0x00089459, "FL", lambda: st.floats(allow_nan=False, width=32)),
    (0x00186020, "SL", lambda: st.integers(-(2**31), 2**31 - 1)),  # Reference Pixel X0
    (0x00189219, "SS", lambda: st.integers(-(2**15), 2**15 - 1)),  # Tag Angle Second Axis
    (0x0040A132, "UL", lambda: st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3)),
    (0x00209165, "AT", lambda: st.integers(0, 0xFFFFFFFF)),  # Dimension Index Pointer
    (0x00204000, "LT", lambda: _text(_ALNUM + " ", 32).map(str.strip).filter(bool)),
    (0x0040A160, "UT", lambda: _text(_ALNUM, 32)),  # Text Value
    (0x00420011, "OB", _even_bytes),  # Encapsulated Document
    (0x00081199, "SQ", lambda: st.lists(_shared(_reference_items), max_size=2).map(Sequence)),
)
"""Standard attributes the generated data sets draw from: tag, VR and a value strategy.

One of each VR class that behaves differently on the wire: text, numbers in both byte orders,
multi-valued, binary with a 32-bit length, and a sequence. All have a dictionary VR, so they
survive Implicit VR, where the VR is not on the wire.
"""

_PRIVATE_VRS: tuple[tuple[str, Callable[[], st.SearchStrategy[Any]]], ...] = (
    ("LO", lambda: _text(_ALNUM, 16)),
    ("US", lambda: st.integers(0, 0xFFFF)),
    ("UL", lambda: st.integers(0, 2**32 - 1)),
    ("FD", lambda: st.floats(allow_nan=False)),
    ("OB", _even_bytes),
)
"""VRs of private elements, which only an explicit VR encoding carries."""


def _syntaxes(transfer_syntax: TransferSyntaxLike | None) -> tuple[TransferSyntax, ...]:
    """The syntaxes to generate for: the four standard ones, or the one asked for."""
    if transfer_syntax is None:
        return STANDARD_TRANSFER_SYNTAXES
    try:
        syntax = lookup_transfer_syntax(transfer_syntax)
    except DimseCodecError as exc:
        raise ValueError(f"no data sets for transfer syntax {transfer_syntax!r}: {exc}") from exc
    if syntax.encapsulated:
        raise ValueError(
            f"{syntax} encapsulates pixel data; the generated data sets have none, so use "
            "one of the native syntaxes"
        )
    return (syntax,)


@st.composite
def _element(
    draw: st.DrawFn, entry: tuple[int, str, Callable[[], st.SearchStrategy[Any]]]
) -> DataElement:
    """One element of the catalogue, sometimes present with an empty value."""
    tag, vr, values = entry
    if draw(st.integers(0, 7)) == 7:
        return DataElement(tag, vr, empty_value_for_VR(vr))
    return DataElement(tag, vr, draw(_shared(values)))


@st.composite
def _dataset(
    draw: st.DrawFn, syntax: TransferSyntax, min_elements: int, max_elements: int
) -> Dataset:
    """A data set of catalogue elements, plus private ones when the syntax is explicit VR."""
    indices = draw(
        st.lists(
            st.integers(0, len(_CATALOGUE) - 1),
            min_size=min_elements,
            max_size=max_elements,
            unique=True,
        )
    )
    ds = Dataset()
    for index in indices:
        ds.add(draw(_element(_CATALOGUE[index])))
    room = max_elements - len(indices)
    if syntax.explicit_vr and room > 1 and draw(st.booleans()):
        ds.add_new(_PRIVATE_GROUP << 16 | 0x0010, "LO", _PRIVATE_CREATOR)
        count = draw(st.integers(1, room - 1))
        for offset in range(count):
            vr, values = draw(st.sampled_from(_PRIVATE_VRS))
            ds.add_new(_PRIVATE_GROUP << 16 | 0x1000 | offset, vr, draw(_shared(values)))
    ds.set_original_encoding(syntax.implicit_vr, syntax.little_endian, "iso8859")
    return ds


def datasets(
    *, transfer_syntax: TransferSyntaxLike | None = None, max_elements: int = 4
) -> st.SearchStrategy[Dataset]:
    """Small data sets that round-trip through the data-set codec in a transfer syntax.

    Without ``transfer_syntax`` every generated data set encodes and decodes back equal in all
    four standard syntaxes (Implicit VR LE, Explicit VR LE and BE, Deflated Explicit VR LE);
    with an explicit VR syntax, private elements (whose VR only that encoding carries) are
    added too. Up to ``max_elements`` elements: text, numbers, multi-valued, binary, a sequence,
    and sometimes an empty value.
    """
    if max_elements < 0:
        raise ValueError("max_elements must not be negative")
    syntax = _syntaxes(transfer_syntax)[0] if transfer_syntax is not None else None
    return _dataset(syntax or IMPLICIT_VR_LITTLE_ENDIAN, 0, max_elements)


def encoded_datasets(
    transfer_syntax: TransferSyntaxLike | None = None, *, max_elements: int = 4
) -> st.SearchStrategy[tuple[TransferSyntax, bytes]]:
    """``(transfer syntax, bytes)`` pairs of data sets from :func:`datasets` in that syntax.

    The bytes decode to a data set equal to the one generated, which re-encodes to the same
    bytes. Without ``transfer_syntax`` the syntax is drawn from the four standard ones.
    """
    if max_elements < 0:
        raise ValueError("max_elements must not be negative")
    syntaxes = _syntaxes(transfer_syntax)

    def encoded(syntax: TransferSyntax) -> st.SearchStrategy[tuple[TransferSyntax, bytes]]:
        """Encode data sets generated for one syntax."""
        return _dataset(syntax, 0, max_elements).map(
            lambda ds: (syntax, encode_dataset(ds, syntax))
        )

    return st.sampled_from(syntaxes).flatmap(encoded)


# --- malformed -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MalformedDataset:
    """Data set bytes broken in one way, their transfer syntax, and what the decoder must answer.

    When ``expected`` is a :class:`~dimse_codec.policy.DiagnosticCode`, a lenient
    :func:`~dimse_codec.dataset.decode_dataset` returns a data set and reports exactly that one
    diagnostic, and a strict decode raises it as :class:`~dimse_codec.errors.PolicyViolation`
    (``LIMIT_EXCEEDED`` as :class:`~dimse_codec.errors.LimitExceeded`, as every limit met is).
    When it is an error class, both policies raise exactly that class.
    """

    data: bytes
    transfer_syntax: TransferSyntax
    expected: Expected
    defect: str

    @property
    def is_error(self) -> bool:
        """Whether the decoder must refuse the bytes rather than decode them with a diagnostic."""
        return not isinstance(self.expected, DiagnosticCode)


def _plain(syntax: TransferSyntax) -> TransferSyntax:
    """The element encoding inside a syntax: Explicit VR LE for a deflated one."""
    return EXPLICIT_VR_LITTLE_ENDIAN if syntax.deflated else syntax


def _pieces(ds: Dataset, syntax: TransferSyntax) -> list[tuple[int, bytes]]:
    """Each top-level element encoded on its own (not deflated), in tag order."""
    plain = _plain(syntax)
    pieces = []
    for element in ds:
        single = Dataset()
        single.add(element)
        pieces.append((int(element.tag), encode_dataset(single, plain)))
    return pieces


def _wrap(plain: bytes, syntax: TransferSyntax) -> bytes:
    """Deflate the element bytes when the syntax is deflated."""
    return deflate(plain) if syntax.deflated else plain


def _header(tag: int, vr: str, length: int, syntax: TransferSyntax) -> bytes:
    """An element or item header in the element encoding of ``syntax``."""
    plain = _plain(syntax)
    order = "<" if plain.little_endian else ">"
    group, element = tag >> 16, tag & 0xFFFF
    if plain.implicit_vr or group == 0xFFFE:
        return struct.pack(f"{order}HHL", group, element, length)
    if vr in _LONG_VRS:
        return struct.pack(f"{order}HH2sHL", group, element, vr.encode("ascii"), 0, length)
    return struct.pack(f"{order}HH2sH", group, element, vr.encode("ascii"), length)


def _insert_sorted(pieces: list[tuple[int, bytes]], tag: int, data: bytes) -> bytes:
    """Join the pieces with one more element at its place in tag order (replacing that tag)."""
    kept = [(t, p) for t, p in pieces if t != tag]
    kept.append((tag, data))
    kept.sort(key=lambda piece: piece[0])
    return b"".join(p for _, p in kept)


def _syntax_strategy(syntaxes: tuple[TransferSyntax, ...]) -> st.SearchStrategy[TransferSyntax]:
    """Draw one of the given syntaxes, the first (simplest) when shrinking."""
    return st.sampled_from(syntaxes)


def _item(content: bytes, syntax: TransferSyntax, *, defined: bool) -> bytes:
    """An item around encoded elements, of defined length or delimited."""
    if defined:
        return _header(_ITEM, "", len(content), syntax) + content
    return (
        _header(_ITEM, "", _UNDEFINED, syntax) + content + _header(_ITEM_DELIMITER, "", 0, syntax)
    )


@st.composite
def _items(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    """Zero to two valid items (of a defined length or delimited) of Content Sequence."""
    out = b""
    for _ in range(draw(st.integers(0, 2))):
        content = b"".join(p for _, p in _pieces(draw(_dataset(syntax, 0, 2)), syntax))
        out += _item(content, syntax, defined=draw(st.booleans()))
    return out


# each builder: (draw, syntax) -> the broken bytes (already deflated when the syntax is)


@st.composite
def _cut(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 1, 3))
    pieces = _pieces(ds, syntax)
    plain = b"".join(p for _, p in pieces)
    boundaries, position = set(), 0
    for _, piece in pieces:
        position += len(piece)
        boundaries.add(position)
    cuts = [n for n in range(1, len(plain)) if n not in boundaries]
    return _wrap(plain[: draw(st.sampled_from(cuts))], syntax)


@st.composite
def _overrun(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    plain = b"".join(p for _, p in _pieces(ds, syntax))
    tail = draw(st.binary(max_size=8))
    length = draw(st.integers(len(tail) + 1, _UNDEFINED - 1))
    return _wrap(plain + _header(_TEXT_VALUE, "UT", length, syntax) + tail, syntax)


@st.composite
def _header_cut(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    plain = b"".join(p for _, p in _pieces(ds, syntax))
    return _wrap(plain + draw(st.binary(min_size=1, max_size=7)), syntax)


_NUMERIC_SIZES = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8}


@st.composite
def _bad_numeric_length(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    numeric = [(tag, vr) for tag, vr, _ in _CATALOGUE if vr in _NUMERIC_SIZES]
    tag, vr = draw(st.sampled_from(numeric))
    size = _NUMERIC_SIZES[vr]
    length = draw(st.integers(1, 3 * size).filter(lambda n: n % size != 0))
    value = draw(st.binary(min_size=length, max_size=length))
    return _wrap(
        _insert_sorted(_pieces(ds, syntax), tag, _header(tag, vr, length, syntax) + value), syntax
    )


@st.composite
def _undefined_text(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    bad = _header(_TEXT_VALUE, "UT", _UNDEFINED, syntax) + draw(st.binary(max_size=8))
    return _wrap(_insert_sorted(_pieces(ds, syntax), _TEXT_VALUE, bad), syntax)


@st.composite
def _no_sequence_delimiter(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    plain = b"".join(p for _, p in _pieces(ds, syntax))
    sequence = _header(_CONTENT_SEQUENCE, "SQ", _UNDEFINED, syntax) + draw(_items(syntax))
    if draw(st.booleans()):  # the last item is the one left open
        content = b"".join(p for _, p in _pieces(draw(_dataset(syntax, 0, 2)), syntax))
        sequence += _header(_ITEM, "", _UNDEFINED, syntax) + content
    return _wrap(plain + sequence, syntax)


@st.composite
def _invalid_vr(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    plain = b"".join(p for _, p in _pieces(ds, syntax))
    vr = draw(st.sampled_from([b"\x00\x00", b"ZZ", b"  ", b"us", b"U1"]))
    order = "<" if _plain(syntax).little_endian else ">"
    bad = struct.pack(f"{order}HH2sH", 0x0040, 0xA160, vr, 2) + b"ab"
    return _wrap(plain + bad, syntax)


@st.composite
def _stray_item_tag(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    plain = b"".join(p for _, p in _pieces(ds, syntax))
    tag = draw(st.sampled_from([_ITEM, _ITEM_DELIMITER, _SEQUENCE_DELIMITER]))
    return _wrap(
        plain + _header(tag, "", draw(st.sampled_from([0, 4, _UNDEFINED])), syntax), syntax
    )


@st.composite
def _bad_sequence_content(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    items = draw(_items(syntax))
    if draw(st.booleans()):
        stray = _header(_SEQUENCE_DELIMITER, "", 0, syntax)
    else:
        stray = _pieces(draw(_dataset(syntax, 1, 1)), syntax)[0][1]
    content = items + stray
    sequence = _header(_CONTENT_SEQUENCE, "SQ", len(content), syntax) + content
    return _wrap(_insert_sorted(_pieces(ds, syntax), _CONTENT_SEQUENCE, sequence), syntax)


@st.composite
def _too_deep(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 2))
    depth = MAX_SEQUENCE_DEPTH + 1 + draw(st.integers(0, 3))
    level = _header(_CONTENT_SEQUENCE, "SQ", _UNDEFINED, syntax) + _header(
        _ITEM, "", _UNDEFINED, syntax
    )
    return _wrap(_insert_sorted(_pieces(ds, syntax), _CONTENT_SEQUENCE, level * depth), syntax)


@st.composite
def _duplicate(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    pieces = _pieces(draw(_dataset(syntax, 1, 3)), syntax)
    index = draw(st.integers(0, len(pieces) - 1))
    pieces.insert(index + 1, pieces[index])
    return _wrap(b"".join(p for _, p in pieces), syntax)


@st.composite
def _out_of_order(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    pieces = _pieces(draw(_dataset(syntax, 2, 3)), syntax)
    first = draw(st.integers(0, len(pieces) - 2))
    later = draw(st.integers(first + 1, len(pieces) - 1))
    pieces.insert(later, pieces.pop(first))
    return _wrap(b"".join(p for _, p in pieces), syntax)


@st.composite
def _delimiter_length(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    length = draw(st.integers(1, _UNDEFINED))
    body = draw(_items(syntax))
    if draw(st.booleans()):  # the sequence delimiter has a length
        body += _header(_SEQUENCE_DELIMITER, "", length, syntax)
    else:  # an item delimiter has a length
        content = b"".join(p for _, p in _pieces(draw(_dataset(syntax, 0, 2)), syntax))
        body += _header(_ITEM, "", _UNDEFINED, syntax) + content
        body += _header(_ITEM_DELIMITER, "", length, syntax)
        body += _header(_SEQUENCE_DELIMITER, "", 0, syntax)
    sequence = _header(_CONTENT_SEQUENCE, "SQ", _UNDEFINED, syntax) + body
    return _wrap(_insert_sorted(_pieces(ds, syntax), _CONTENT_SEQUENCE, sequence), syntax)


def _raw_deflate(plain: bytes) -> bytes:
    """A raw DEFLATE stream without the pad byte."""
    return deflate(plain, pad=False)


@st.composite
def _deflate_trailing(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    stream = _raw_deflate(b"".join(p for _, p in _pieces(ds, syntax)))
    tail = draw(
        st.one_of(
            st.integers(1, 255).map(lambda b: bytes([b])),
            st.binary(min_size=2, max_size=8),
        )
    )
    return stream + tail


@st.composite
def _deflate_padding(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    stream = _even_stream(b"".join(p for _, p in _pieces(ds, syntax)))
    if stream is None:
        reject()
    return stream + b"\x00"


_DEFLATE_CHOICES = tuple(
    (level, strategy)
    for strategy in (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FIXED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE)
    for level in (6, 1, 9)
)


def _even_stream(plain: bytes) -> bytes | None:
    """A raw DEFLATE stream of ``plain`` of even length, if one of a few compressors makes one."""
    for level, strategy in _DEFLATE_CHOICES:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, strategy)
        stream = compressor.compress(plain) + compressor.flush()
        if len(stream) % 2 == 0:
            return stream
    return None


@st.composite
def _deflate_corrupt(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    stream = deflate(b"".join(p for _, p in _pieces(ds, syntax)))
    # block type 11 is reserved (RFC 1951 3.2.3): the stream is corrupt from its first bit
    return bytes([stream[0] | 0x06]) + stream[1:]


@st.composite
def _deflate_cut(draw: st.DrawFn, syntax: TransferSyntax) -> bytes:
    ds = draw(_dataset(syntax, 0, 3))
    stream = _raw_deflate(b"".join(p for _, p in _pieces(ds, syntax)))
    return stream[: draw(st.integers(1, len(stream) - 1))]


_ALL = STANDARD_TRANSFER_SYNTAXES
_EXPLICIT = tuple(s for s in _ALL if s.explicit_vr)
_DEFLATED = tuple(s for s in _ALL if s.deflated)

_Builder = Callable[[TransferSyntax], st.SearchStrategy[bytes]]

_DEFECTS: tuple[tuple[Expected, str, tuple[TransferSyntax, ...], _Builder], ...] = (
    (_D.DUPLICATE_TAG, "element repeated", _ALL, _duplicate),
    (_D.OUT_OF_ORDER, "elements not in ascending tag order", _ALL, _out_of_order),
    (_D.BAD_VALUE_LENGTH, "delimiter with a non-zero length", _ALL, _delimiter_length),
    (TruncatedError, "data set cut inside an element", _ALL, _cut),
    (TruncatedError, "element header cut short", _ALL, _header_cut),
    (TruncatedError, "value length past the end", _ALL, _overrun),
    (TruncatedError, "undefined length without its delimiter", _ALL, _no_sequence_delimiter),
    (DecodeError, "binary value length not a multiple of its size", _ALL, _bad_numeric_length),
    (DecodeError, "undefined length on a VR that cannot have one", _ALL, _undefined_text),
    (DecodeError, "item or delimiter tag where an element starts", _ALL, _stray_item_tag),
    (DecodeError, "non-item inside a sequence", _ALL, _bad_sequence_content),
    (DecodeError, "invalid VR", _EXPLICIT, _invalid_vr),
    (_D.LIMIT_EXCEEDED, "sequences nested too deep", _ALL, _too_deep),
    (_D.DEFLATE_TRAILING_DATA, "bytes after the deflate stream", _DEFLATED, _deflate_trailing),
    (_D.DEFLATE_PADDING, "pad byte after an even deflate stream", _DEFLATED, _deflate_padding),
    (DecodeError, "corrupt deflate stream", _DEFLATED, _deflate_corrupt),
    (TruncatedError, "deflate stream cut short", _DEFLATED, _deflate_cut),
)
"""Every way :func:`malformed_datasets` breaks a data set: the answer, a name, the syntaxes it
applies to, and the builder. Only what ``decode_dataset`` detects: it does not report odd-length
text values or Specific Character Set problems, so neither is generated."""


def _matches(kind: Expected | str, answer: Expected, defect: str) -> bool:
    """Whether a ``kinds`` entry names this defect: its answer, its name or its code's value."""
    if isinstance(kind, (DiagnosticCode, type)):
        return kind is answer
    return kind == defect or (isinstance(answer, DiagnosticCode) and kind == answer.value)


def malformed_datasets(
    kinds: Iterable[Expected | str] | None = None,
    *,
    transfer_syntax: TransferSyntaxLike | None = None,
) -> st.SearchStrategy[MalformedDataset]:
    """Broken data set bytes with their syntax and what the decoder must answer.

    Each example breaks one thing in a small valid data set (see :class:`MalformedDataset`):
    truncation, a length past the end, a numeric value of the wrong length, an undefined length
    without its delimiter or on a VR that cannot have one, stray item tags, an invalid VR,
    nesting deeper than :data:`~dimse_codec.dataset.MAX_SEQUENCE_DEPTH`, repeated or unsorted
    elements, delimiters with a length, and a corrupt, cut, padded or trailing deflate stream.
    ``kinds`` narrows to some answers (a code or an error class) or defect names;
    ``transfer_syntax`` to one of the four standard syntaxes.
    """
    wanted = None if kinds is None else list(kinds)
    allowed = _syntaxes(transfer_syntax)
    if transfer_syntax is not None and allowed[0] not in _ALL:
        raise ValueError("malformed data sets are generated for the four standard syntaxes only")
    chosen = []
    for answer, defect, syntaxes, builder in _DEFECTS:
        usable = tuple(s for s in syntaxes if s in allowed)
        if not usable:
            continue
        if wanted is not None and not any(_matches(k, answer, defect) for k in wanted):
            continue
        chosen.append(_labelled(answer, defect, usable, builder))
    if not chosen:
        known = sorted({d for _, d, _, _ in _DEFECTS})
        raise ValueError(f"no malformed data set matches {wanted} in {allowed}; known: {known}")
    return st.one_of(*chosen)


def _labelled(
    answer: Expected, defect: str, syntaxes: tuple[TransferSyntax, ...], builder: _Builder
) -> st.SearchStrategy[MalformedDataset]:
    """Draw a syntax, break a data set in it, and label the bytes with the answer."""

    @st.composite
    def build(draw: st.DrawFn) -> MalformedDataset:
        """One labelled example."""
        syntax = draw(_syntax_strategy(syntaxes))
        return MalformedDataset(draw(builder(syntax)), syntax, answer, defect)

    return build()
