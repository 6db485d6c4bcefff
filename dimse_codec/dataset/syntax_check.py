"""Whether a data set can be sent as it is in the transfer syntax of its presentation context.

A data set that travels in a DIMSE message is encoded in the transfer syntax accepted for the
message's presentation context (PS3.5 10, PS3.8 9.3.2.2). Re-encoding a pydicom ``Dataset`` in
another syntax changes element headers and byte order, but never the pixel data: encapsulated
pixel data (PS3.5 A.4) stays encapsulated, native pixel data stays native, a compressed bitstream
keeps its compression, and the values pydicom keeps as bytes (OW, OF, OD, OL, OV, UN) keep the
byte order they were read in. Bytes already encoded (an
:class:`~dimse_codec.dataset.EncodedDataset`) change nothing at all. So a peer would get bytes
that contradict the syntax it was promised, and answer with an error status or an abort.

:func:`check_transfer_syntax` lists every such contradiction as a
:class:`~dimse_codec.diagnostics.Diagnostic`; :func:`require_transfer_syntax` raises
:class:`~dimse_codec.errors.TransferSyntaxMismatch` when there is one. Both look at a handful of
top-level elements (the pixel data elements, the file meta's Transfer Syntax UID, the VRs of
byte-order sensitive values) and never encode or decode values.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

from dimse_codec._wire import byte_view
from dimse_codec.dataset.codec import (
    MAX_SEQUENCE_DEPTH,
    EncodedDataset,
    _dictionary_vr,
    _tag_text,
)
from dimse_codec.dataset.structures import BIG_ENDIAN, LITTLE_ENDIAN, LONG_LENGTH_VRS, HeaderStructs
from dimse_codec.dataset.transfer_syntax import (
    TransferSyntax,
    TransferSyntaxLike,
    lookup_transfer_syntax,
)
from dimse_codec.diagnostics import Diagnostic, DiagnosticCode
from dimse_codec.errors import InvalidParameterType, TransferSyntaxMismatch

__all__ = ["COMPATIBLE_COMPRESSIONS", "check_transfer_syntax", "require_transfer_syntax"]

_PIXEL_DATA = 0x7FE00010
_FLOAT_PIXEL_DATA = (0x7FE00008, 0x7FE00009)
"""Float Pixel Data and Double Float Pixel Data, which are never encapsulated (PS3.5 A.4)."""
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_DELIMITER = 0xFFFEE00D
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_ROOT = "data set"

_REFERENCED_PIXEL_DATA = frozenset(
    {
        "1.2.840.10008.1.2.4.94",
        "1.2.840.10008.1.2.4.95",
        "1.2.840.10008.1.2.4.204",
        "1.2.840.10008.1.2.4.205",
    }
)
"""The JPIP Referenced syntaxes (PS3.5 A.6, A.7 and their HTJ2K twins): no pixel data element
at all, the pixels are referenced by Pixel Data Provider URL (0028,7FE0)."""

COMPATIBLE_COMPRESSIONS: frozenset[tuple[str, str]] = frozenset(
    {
        # PS3.5 A.4.1, 10.2: Process 14 with Selection Value 1 is one case of Process 14
        ("1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57"),
        # PS3.5 A.4.3: the near-lossless mode may constrain the error to zero
        ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"),
        # PS3.5 A.4.4, 10.6: "JPEG 2000" carries lossless or lossy codestreams (Part 1 and 2)
        ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"),
        ("1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93"),
        # PS3.5 10.18: RPCL lossless is constrained lossless HTJ2K, and HTJ2K allows both
        ("1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.201"),
        ("1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"),
        ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.203"),
    }
)
"""(compressed in, sent as): encapsulated syntaxes whose bitstreams the second one also admits.

Every other pair of different encapsulated syntaxes is a mismatch; in particular JPEG Baseline
(4.50) is not JPEG Extended (4.51), whose bitstream PS3.5 10.3 says is not identical."""

_RAW_BYTE_VRS = frozenset({"OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"})
"""VRs whose values pydicom keeps as bytes in the order they were read (it never swaps them)."""


class _Pixels(NamedTuple):
    """What a data set holds at its top level that its transfer syntax governs."""

    pixel_data: bool
    encapsulated: bool
    """Pixel Data (7FE0,0010) has an undefined length: fragments in items (PS3.5 A.4)."""
    float_tags: tuple[int, ...]
    compressed_in: TransferSyntax | None
    """The encapsulated syntax the pixel data was compressed in, when something says so."""


def _known(uid: object) -> TransferSyntax | None:
    """The registry's record for a UID, or None when it is absent, malformed or unknown."""
    if not isinstance(uid, str | bytes | TransferSyntax):
        return None
    try:
        found = lookup_transfer_syntax(uid, guess=True)
    except (ValueError, TypeError):
        return None
    return found if found.known else None


_WORDS = {
    "implicit_vr": {True: "implicit VR", False: "explicit VR"},
    "little_endian": {True: "little endian", False: "big endian"},
    "deflated": {True: "deflated", False: "not deflated"},
}
"""The element-encoding flags of a transfer syntax, each value in words."""


# -- pydicom data sets -----------------------------------------------------------------------


def _element_vr(element: DataElement | RawDataElement) -> str | None:
    """The VR an element was read with, or its dictionary VR when it was read implicitly."""
    vr = element.VR
    return str(vr) if vr is not None else _dictionary_vr(element.tag)


def _undefined_length(element: DataElement | RawDataElement) -> bool:
    """Whether a (possibly still raw or deferred) element has an undefined length."""
    if isinstance(element, RawDataElement):
        return element.length == _UNDEFINED
    return bool(element.is_undefined_length)


def _dataset_pixels(ds: Dataset) -> _Pixels:
    """The pixel data elements of a pydicom data set and the syntax its file meta names."""
    pixel = ds.get_item(_PIXEL_DATA, keep_deferred=True)
    floats = tuple(tag for tag in _FLOAT_PIXEL_DATA if tag in ds)
    meta = getattr(ds, "file_meta", None)
    source = _known(meta.get("TransferSyntaxUID")) if isinstance(meta, Dataset) else None
    return _Pixels(
        pixel is not None,
        pixel is not None and _undefined_length(pixel),
        floats,
        source if source is not None and source.encapsulated else None,
    )


def _written_as_bytes(ds: Dataset, tag: int, vr: str) -> bool:
    """Whether pydicom will write an implicitly read Pixel Data as OB, whose bytes have no order.

    Read implicitly its VR is "OB or OW", and pydicom picks OB for Bits Allocated up to 8."""
    if vr != "OB or OW" or tag != _PIXEL_DATA:
        return False
    bits = ds.get("BitsAllocated")
    return isinstance(bits, int) and bits <= 8


def _byte_order(ds: Dataset, target: TransferSyntax) -> Iterator[Diagnostic]:
    """Values kept as bytes in one byte order that would be sent, unswapped, in the other."""
    little = ds.original_encoding[1]
    if little is None or little == target.little_endian:
        return
    read = "little endian" if little else "big endian"
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset yields elements, not tags
        element = ds.get_item(tag, keep_deferred=True)
        if element is None or _undefined_length(element):
            continue  # an undefined length is encapsulated data or a sequence, judged elsewhere
        vr = _element_vr(element)
        if vr not in _RAW_BYTE_VRS or _written_as_bytes(ds, tag, vr):
            continue
        yield Diagnostic(
            DiagnosticCode.BYTE_ORDER_MISMATCH,
            f"the {vr} value was read {read} and is kept as bytes; it would be sent unswapped "
            f"in {target}, which is {_WORDS['little_endian'][target.little_endian]} "
            "(PS3.5 7.3)",
            None,
            f"{_ROOT} > {_tag_text(tag)}",
        )


# -- encoded data sets ------------------------------------------------------------------------


class _Malformed(Exception):
    """The encoded bytes do not have the element structure their syntax says."""


class _Headers:
    """Reads element and item headers of encoded bytes, skipping every value, at no copy."""

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def element(
        self, position: int, implicit: bool, headers: HeaderStructs
    ) -> tuple[int, bytes | None, int, int]:
        """Return (tag, VR or None, value length, where the value starts) of one header."""
        if len(self.view) - position < 8:
            raise _Malformed
        group, number, length = headers.implicit.unpack_from(self.view, position)
        if implicit or group == 0xFFFE:
            return group << 16 | number, None, length, position + 8
        vr = bytes(self.view[position + 4 : position + 6])
        if vr in LONG_LENGTH_VRS:
            if len(self.view) - position < 12:
                raise _Malformed
            length = headers.explicit_long.unpack_from(self.view, position)[4]
            return group << 16 | number, vr, length, position + 12
        length = headers.explicit_short.unpack_from(self.view, position)[3]
        return group << 16 | number, vr, length, position + 8

    def skip_items(self, position: int, implicit: bool, headers: HeaderStructs, depth: int) -> int:
        """Skip a value of undefined length (items up to a sequence delimiter); return its end."""
        if depth > MAX_SEQUENCE_DEPTH:
            raise _Malformed
        while True:
            tag, _, length, position = self.element(position, True, headers)
            if tag == _SEQUENCE_DELIMITER:
                return position
            if tag != _ITEM:
                raise _Malformed
            if length != _UNDEFINED:
                position += length
                continue
            while True:  # an item of undefined length: its elements, up to the item delimiter
                tag, vr, length, position = self.element(position, implicit, headers)
                if tag == _ITEM_DELIMITER:
                    break
                if length == _UNDEFINED:
                    # PS3.5 6.2.2: an undefined-length UN holds Implicit VR Little Endian
                    nested = (True, LITTLE_ENDIAN) if vr == b"UN" else (implicit, headers)
                    position = self.skip_items(position, *nested, depth + 1)
                else:
                    position += length


def _encoded_pixels(encoded: EncodedDataset) -> _Pixels | None:
    """The top-level pixel data elements of encoded bytes (None when they cannot be walked)."""
    syntax = encoded.transfer_syntax
    data = encoded.inflated() if syntax.deflated else encoded.raw
    headers = LITTLE_ENDIAN if syntax.little_endian else BIG_ENDIAN
    walker = _Headers(byte_view(data))
    end = len(walker.view)
    position = 0
    floats: list[int] = []
    pixel_length: int | None = None
    try:
        while position < end:
            tag, vr, length, position = walker.element(position, syntax.implicit_vr, headers)
            if tag in _FLOAT_PIXEL_DATA:
                floats.append(tag)
            if tag >= _PIXEL_DATA:
                pixel_length = length if tag == _PIXEL_DATA else None
                break  # tags ascend (PS3.5 7.1): nothing after this concerns pixel data
            if length == _UNDEFINED:
                nested = (True, LITTLE_ENDIAN) if vr == b"UN" else (syntax.implicit_vr, headers)
                position = walker.skip_items(position, *nested, 1)
            else:
                position += length
    except (_Malformed, struct.error):
        return None
    return _Pixels(
        pixel_length is not None,
        pixel_length == _UNDEFINED,
        tuple(floats),
        syntax if syntax.encapsulated else None,
    )


def _encoding(encoded: EncodedDataset, target: TransferSyntax) -> Diagnostic | None:
    """Bytes whose VR explicitness, byte order or deflation differ from the target's."""
    source = encoded.transfer_syntax
    differences = [
        f"{_WORDS[flag][getattr(source, flag)]} against {_WORDS[flag][getattr(target, flag)]}"
        for flag in _WORDS
        if getattr(source, flag) != getattr(target, flag)
    ]
    if not differences:
        return None
    return Diagnostic(
        DiagnosticCode.ENCODING_MISMATCH,
        f"the bytes are encoded in {source} and would be read as {target}: "
        f"{', '.join(differences)} (PS3.5 Annex A)",
        None,
        _ROOT,
    )


# -- the rules ---------------------------------------------------------------------------------


def _pixel_rules(found: _Pixels, target: TransferSyntax) -> Iterator[Diagnostic]:
    """PS3.5 A.4 and the JPIP Referenced syntaxes, applied to what a data set holds."""
    path = f"{_ROOT} > {_tag_text(_PIXEL_DATA)}"
    referenced = target.uid in _REFERENCED_PIXEL_DATA
    source = found.compressed_in
    how = f"compressed in {source}" if source is not None else "encapsulated (undefined length)"
    if found.pixel_data and referenced:
        yield Diagnostic(
            DiagnosticCode.PIXEL_DATA_NOT_ALLOWED,
            f"{target} carries no pixel data element (the pixels are referenced by Pixel Data "
            "Provider URL, PS3.5 A.6)",
            None,
            path,
        )
    elif found.pixel_data and found.encapsulated and not target.encapsulated:
        yield Diagnostic(
            DiagnosticCode.PIXEL_DATA_ENCAPSULATED,
            f"the pixel data is {how} and {target} is a native transfer syntax: it needs the "
            "pixels uncompressed, with a defined length (PS3.5 A.4)",
            None,
            path,
        )
    elif found.pixel_data and not found.encapsulated and target.encapsulated:
        yield Diagnostic(
            DiagnosticCode.PIXEL_DATA_NATIVE,
            f"the pixel data is native (a defined length) and {target} needs it encapsulated "
            "in fragments of its own compression (PS3.5 A.4)",
            None,
            path,
        )
    elif (
        found.pixel_data
        and target.encapsulated
        and source is not None
        and source.uid != target.uid
        and (source.uid, target.uid) not in COMPATIBLE_COMPRESSIONS
    ):
        yield Diagnostic(
            DiagnosticCode.COMPRESSION_MISMATCH,
            f"the pixel data is {how}, not in {target}; a peer would decode one bitstream as "
            "the other (PS3.5 A.4)",
            None,
            path,
        )
    if target.encapsulated or referenced:
        for tag in found.float_tags:
            yield Diagnostic(
                DiagnosticCode.PIXEL_DATA_NOT_ALLOWED,
                f"{target} may be used only for Pixel Data (7FE0,0010), never with float pixel "
                "data (PS3.5 A.4)",
                None,
                f"{_ROOT} > {_tag_text(tag)}",
            )


def check_transfer_syntax(
    dataset: Dataset | EncodedDataset, transfer_syntax: TransferSyntaxLike
) -> list[Diagnostic]:
    """List why ``dataset`` cannot be sent as it is in ``transfer_syntax``; empty when it can.

    ``dataset`` is a pydicom ``Dataset`` (to be encoded in ``transfer_syntax``) or an
    :class:`EncodedDataset` (bytes to be sent unchanged). The codes are
    ``PIXEL_DATA_ENCAPSULATED``, ``PIXEL_DATA_NATIVE``, ``COMPRESSION_MISMATCH``,
    ``PIXEL_DATA_NOT_ALLOWED``, ``ENCODING_MISMATCH`` (bytes in another element encoding) and
    ``BYTE_ORDER_MISMATCH`` (OW-like values read in the other byte order). A syntax the registry
    does not know (a private one pydicom was not told of) gets no verdict: nothing is known
    to contradict it.
    """
    target = lookup_transfer_syntax(transfer_syntax, guess=True)  # a malformed UID raises
    if not target.known:
        return []
    if isinstance(dataset, EncodedDataset):
        if dataset.transfer_syntax.uid == target.uid:
            return []
        mismatch = _encoding(dataset, target)
        if mismatch is not None:
            return [mismatch]
        pixels = _encoded_pixels(dataset)
        return [] if pixels is None else list(_pixel_rules(pixels, target))
    if isinstance(dataset, Dataset):
        found = list(_pixel_rules(_dataset_pixels(dataset), target))
        return found + list(_byte_order(dataset, target))
    raise InvalidParameterType(
        f"dataset must be a pydicom Dataset or an EncodedDataset, not {type(dataset).__name__}",
        path=_ROOT,
    )


def require_transfer_syntax(
    dataset: Dataset | EncodedDataset, transfer_syntax: TransferSyntaxLike
) -> None:
    """Raise :class:`TransferSyntaxMismatch` if :func:`check_transfer_syntax` finds anything.

    The error names the first problem's element path and both syntaxes in one line, and
    carries every diagnostic in ``diagnostics``.
    """
    found = check_transfer_syntax(dataset, transfer_syntax)
    if found:
        raise TransferSyntaxMismatch(found, str(lookup_transfer_syntax(transfer_syntax)))
