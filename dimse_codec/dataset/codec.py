"""Encode and decode the data set of a DIMSE message in its presentation context's transfer syntax.

Decoding walks the element structure itself (tags, VRs, lengths, sequences, items, fragments),
bounds-checking every declared length before touching the bytes, and hands the element values to
pydicom as :class:`~pydicom.dataelem.RawDataElement` objects. This is deliberate: pydicom's own
``read_dataset`` second-guesses the transfer syntax (it switches between implicit and explicit VR
when the bytes look like the other one) and silently drops an element whose value is cut short,
and here the transfer syntax is the contract and a truncation is an error.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import struct
import sys
import warnings
import zlib
from collections.abc import MutableSequence
from typing import NamedTuple

from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.valuerep import AMBIGUOUS_VR, VR
from pydicom.values import convert_string

from dimse_codec._wire import byte_view
from dimse_codec.dataset.structures import BIG_ENDIAN, LITTLE_ENDIAN, LONG_LENGTH_VRS, VRS
from dimse_codec.dataset.transfer_syntax import (
    TransferSyntax,
    TransferSyntaxLike,
    lookup_transfer_syntax,
)
from dimse_codec.diagnostics import Diagnostic, DiagnosticCode
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    TruncatedError,
)
from dimse_codec.limits import DEFAULT_LIMITS, Limits
from dimse_codec.policy import LENIENT, Policy

__all__ = [
    "MAX_SEQUENCE_DEPTH",
    "EncodedDataset",
    "decode_dataset",
    "deflate",
    "encode_dataset",
    "inflate",
]

MAX_SEQUENCE_DEPTH = DEFAULT_LIMITS.max_depth
"""The default of :attr:`Limits.max_depth <dimse_codec.limits.Limits.max_depth>`, the deepest
sequence nesting the decoder follows; deeper input is a limit met (``LIMIT_EXCEEDED``)."""

_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_DELIMITER = 0xFFFEE00D
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_SPECIFIC_CHARACTER_SET = 0x00080005
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_ITEM_NAMES = {
    _ITEM: "item",
    _ITEM_DELIMITER: "item delimitation item",
    _SEQUENCE_DELIMITER: "sequence delimitation item",
}

_LONG_LENGTH_VRS = frozenset(vr.decode("ascii") for vr in LONG_LENGTH_VRS)
_FRAGMENT_VRS = frozenset({"OB", "OW", "OB or OW"})
_BULK_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW"})
_MULTI_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UC", "UI"}
)
"""VRs whose value is backslash-separated text (PS3.5 6.4); LT, ST, UT and UR hold one value."""
_BINARY_VALUE_SIZE = {
    "AT": 4,
    "FD": 8,
    "FL": 4,
    "SL": 4,
    "SS": 2,
    "SV": 8,
    "UL": 4,
    "US": 2,
    "UV": 8,
}
"""VRs whose value is a list of fixed-size binary numbers, with the size of one."""
_PATH_KEEP = 3
_INFLATED_ROOT = "data set (inflated)"
_FRAMES_PER_LEVEL = 3
"""Python frames one level of sequence nesting takes in :class:`_Parser` (data set, element,
sequence); the converter's walk takes one."""
_STACK_MARGIN = 100
"""Frames kept free below the recursion limit for what runs at the deepest level (pydicom's
value conversion, the warnings machinery)."""

_IN_CHUNK = 64 * 1024
_OUT_CHUNK = 256 * 1024
"""Bytes inflated per step: what inflating holds beyond its output is about three of these."""
_BULK_THRESHOLD = 64 * 1024

_Bytes = bytes | bytearray | memoryview
_Element = RawDataElement | DataElement
_Encoding = str | MutableSequence[str]


def _resolve(transfer_syntax: TransferSyntaxLike) -> TransferSyntax:
    """Turn whatever the caller gave into a transfer syntax record (unknown UIDs are refused)."""
    return lookup_transfer_syntax(transfer_syntax)


def _tag_text(tag: int) -> str:
    """Format a tag as ``(gggg,eeee) Keyword`` for error paths."""
    keyword = keyword_for_tag(tag)
    text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return f"{text} {keyword}" if keyword else text


def _limit_message(name: str, value: int, what: str) -> str:
    """One line naming a limit, its value and how to raise it."""
    return (
        f"more than {value} {what} (Limits.{name}); raise it with "
        f"Policy(limits=replace(DEFAULT_LIMITS, {name}=...))"
    )


def _short_path(path: str) -> str:
    """Shorten a deep path to its first and last steps, so a limit message stays one short line."""
    steps = path.split(" > ")
    if len(steps) <= 2 * _PATH_KEEP + 1:
        return path
    left = len(steps) - 2 * _PATH_KEEP
    return " > ".join([*steps[:_PATH_KEEP], f"... {left} steps ...", *steps[-_PATH_KEEP:]])


def _depth_room() -> int:
    """Return how many levels of sequence nesting a parser started from here can follow before
    the interpreter's recursion limit, so deep input is a limit met, never a RecursionError."""
    used = 0
    frame = inspect.currentframe()
    while frame is not None:
        used += 1
        frame = frame.f_back
    return max(0, (sys.getrecursionlimit() - used - _STACK_MARGIN) // _FRAMES_PER_LEVEL)


# --------------------------------------------------------------------------------------------
# deflate / inflate


def deflate(data: _Bytes, *, pad: bool = True) -> bytes:
    """Raw-DEFLATE ``data`` (no zlib header, PS3.5 A.5), padded with one 0x00 to even length."""
    view = byte_view(data)
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(view), compressor.flush()]
    if pad and sum(len(part) for part in parts) % 2:
        parts.append(b"\x00")
    return b"".join(parts)


class _Inflated(NamedTuple):
    """What inflating gave: the bytes, at most the cap, and where in the deflated stream
    inflation stopped at the cap (``None`` when the stream ended within it)."""

    data: bytes
    stopped: int | None


def _answers(inflated: _Inflated, max_size: int) -> bool:
    """Whether an inflation is what one up to ``max_size`` bytes would give: the whole stream
    within that size, or a stream stopped at exactly that size."""
    if inflated.stopped is None:
        return len(inflated.data) <= max_size
    return len(inflated.data) == max_size


def _inflate_limit(max_size: int, offset: int | None) -> LimitExceeded:
    """Return the error for a deflated data set that inflates past ``max_size`` bytes."""
    return LimitExceeded(
        _limit_message("max_inflated_size", max_size, "bytes inflated"),
        offset=offset,
        path="deflated data set",
        code=DiagnosticCode.LIMIT_EXCEEDED.value,
    )


def _capacity(needed: int, max_size: int) -> int:
    """Return the output buffer size for ``needed`` bytes: ``max_size`` halved while that still
    holds them. Every growth at least doubles the buffer, so ``io.BytesIO`` allocates exactly
    the size asked for (it over-allocates by an eighth only steps smaller than that), and the
    largest buffer is ``max_size`` itself."""
    return max_size >> ((max_size // needed).bit_length() - 1)


def _inflate_capped(
    view: memoryview, max_size: int, policy: Policy, sink: list[Diagnostic]
) -> _Inflated:
    """Inflate a raw DEFLATE stream in bounded steps up to ``max_size`` bytes and stop there.

    Output never exceeds ``max_size``: each step asks zlib for at most the room left, and at the
    cap one more byte is asked for only to learn whether the stream goes on. The output buffer
    grows through :func:`_capacity`, so it is never allocated past the cap either.
    """
    path = "deflated data set"
    total_in = len(view)
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    out = io.BytesIO()
    capacity = 0
    produced = 0
    position = min(_IN_CHUNK, total_in)
    feed: bytes | memoryview = view[:position]
    fed_at = 0
    while True:
        room = min(_OUT_CHUNK, max_size - produced) or 1  # at the cap: is there more?
        try:
            piece = decompressor.decompress(feed, room)
        except zlib.error as exc:
            raise DecodeError(f"corrupt deflate stream: {exc}", offset=fed_at, path=path) from exc
        size = len(piece)
        if produced + size > max_size:
            return _Inflated(out.getvalue(), position - len(decompressor.unconsumed_tail))
        if produced + size > capacity:
            capacity = _capacity(produced + size, max_size)
            out.seek(capacity - 1)  # allocate it at once, then write from where the data ends
            out.write(b"\x00")
            out.seek(produced)
        out.write(piece)
        del piece  # not held while the next one is inflated
        produced += size
        if decompressor.eof:
            break
        if decompressor.unconsumed_tail:
            fed_at = position - len(decompressor.unconsumed_tail)
            feed = decompressor.unconsumed_tail
        elif size == room:
            feed = b""
        elif position < total_in:
            fed_at = position
            feed = view[position : position + _IN_CHUNK]
            position += len(feed)
        else:
            raise TruncatedError(
                "deflate stream ends before its final block", offset=total_in, path=path
            )
    out.truncate(produced)
    trailing = len(decompressor.unused_data) + (total_in - position)
    if trailing:
        end = total_in - trailing
        if trailing == 1 and view[end] == 0:
            if end % 2 == 0:  # an odd stream padded to even length is what peers must send
                policy.report(
                    sink,
                    DiagnosticCode.DEFLATE_PADDING,
                    "a 0x00 pad byte follows a deflate stream that was already even",
                    end,
                    path,
                )
        else:
            policy.report(
                sink,
                DiagnosticCode.DEFLATE_TRAILING_DATA,
                f"{trailing} bytes follow the end of the deflate stream and are ignored",
                end,
                path,
            )
    return _Inflated(out.getvalue(), None)


def inflate(
    data: _Bytes,
    *,
    max_size: int,
    policy: Policy = LENIENT,
    diagnostics: list[Diagnostic] | None = None,
) -> bytes:
    """Inflate a raw DEFLATE stream in bounded steps, so a deflate bomb costs at most ``max_size``.

    Output beyond ``max_size`` raises :class:`LimitExceeded` (under every policy: these are
    bytes, with no data set to keep a part of); the one 0x00 byte that pads an odd-length
    stream to even length is expected, a pad after an even-length stream is reported as
    ``DEFLATE_PADDING`` and any other trailing bytes as ``DEFLATE_TRAILING_DATA``; a corrupt
    stream raises :class:`DecodeError` and a stream that ends early :class:`TruncatedError`.
    """
    if isinstance(max_size, bool) or not isinstance(max_size, int):
        raise InvalidParameterType(f"max_size must be an int, not {type(max_size).__name__}")
    if max_size < 0:
        raise InvalidParameter(f"max_size must be >= 0, not {max_size}")
    sink = diagnostics if diagnostics is not None else []
    inflated = _inflate_capped(byte_view(data), max_size, policy, sink)
    if inflated.stopped is not None:
        raise _inflate_limit(max_size, inflated.stopped)
    return inflated.data


# --------------------------------------------------------------------------------------------
# encoding


class _ViewReader(io.BufferedIOBase):
    """A read-only, seekable file over a memoryview, so pydicom streams a bulk value into its output
    without first copying it into a per-element buffer."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._position = 0

    def readable(self) -> bool:
        """Report that the view can be read, as pydicom checks before streaming."""
        return True

    def seekable(self) -> bool:
        """Report that the view can be sought, as pydicom measures its length by seeking."""
        return True

    def tell(self) -> int:
        """Return the current position in the view."""
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move within the view like a file (positions are clamped at zero)."""
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = len(self._view) + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        self._position = max(0, target)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        """Return up to ``size`` bytes from the current position (all remaining when negative)."""
        start = min(self._position, len(self._view))
        stop = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        self._position = stop
        return bytes(self._view[start:stop])

    def read1(self, size: int = -1) -> bytes:
        """Same as :meth:`read`: the whole value is already in memory."""
        return self.read(size)


def _bulk_view(element: _Element) -> tuple[str, memoryview] | None:
    """Return (VR, view) for a large, even-length, defined-length bulk value worth streaming."""
    if isinstance(element, RawDataElement):
        vr = element.VR
        if vr is None:
            try:
                vr = str(dictionary_VR(element.tag))
            except KeyError:
                return None
        if element.length == _UNDEFINED:
            return None
        value: object = element.value
    else:
        if element.is_undefined_length or element.is_buffered:
            return None
        vr = str(element.VR)
        value = element.value
    if vr not in _BULK_VRS or not isinstance(value, bytes | bytearray | memoryview):
        return None
    view = byte_view(value)
    if len(view) < _BULK_THRESHOLD or len(view) % 2:
        return None
    return vr, view


def _streaming_view(ds: Dataset) -> Dataset:
    """Return ``ds``, or a shallow stand-in whose big top-level bulk values pydicom will stream.

    pydicom writes each value into a per-element buffer and then copies that buffer into the
    output, so a 100 MB pixel data element would be copied twice; a buffered value is copied once.
    The caller's data set is never modified.
    """
    replacements: dict[BaseTag, DataElement] = {}
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset yields elements, not tags
        element = ds.get_item(tag, keep_deferred=True)
        if element is None:
            continue
        if isinstance(element, RawDataElement) and element.value is None and element.length:
            return ds  # a deferred value is read from the data set's own file; leave it alone
        bulk = _bulk_view(element)
        if bulk is not None:
            vr, view = bulk
            replacements[BaseTag(tag)] = DataElement(tag, vr, _ViewReader(view))
    if not replacements:
        return ds
    stand_in = Dataset(parent_encoding=ds._parent_encoding)
    for tag in sorted(ds.keys()):
        element = replacements.get(BaseTag(tag)) or ds.get_item(tag, keep_deferred=True)
        if element is not None:
            stand_in[tag] = element
    implicit, little = ds.original_encoding
    stand_in.set_original_encoding(implicit, little, ds.original_character_set)
    return stand_in


def encode_dataset(ds: Dataset, transfer_syntax: TransferSyntaxLike) -> bytes:
    """Serialise ``ds`` (no preamble, no file meta) as the data set of a DIMSE message.

    The deflated syntaxes are raw DEFLATE of the Explicit VR Little Endian encoding, padded with
    one 0x00 to even length. Any pydicom failure becomes :class:`EncodeError` with its message.
    """
    if not isinstance(ds, Dataset):
        raise InvalidParameterType(f"ds must be a pydicom Dataset, not {type(ds).__name__}")
    syntax = _resolve(transfer_syntax)
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset yields elements, not tags
        if tag >> 16 in (0x0000, 0x0002):
            where = "the command set" if tag >> 16 == 0 else "file meta information"
            raise EncodeError(
                f"element belongs to {where}, not to a data set",
                path=f"data set > {_tag_text(tag)}",
            )
    fp = DicomBytesIO()
    fp.is_implicit_VR = syntax.implicit_vr
    fp.is_little_endian = syntax.little_endian
    try:
        write_dataset(fp, _streaming_view(ds))
    except MemoryError:
        raise
    except DimseCodecError:
        raise
    except Exception as exc:
        raise EncodeError(str(exc) or type(exc).__name__, path="data set") from exc
    encoded: bytes = fp.getvalue()
    return deflate(encoded) if syntax.deflated else encoded


# --------------------------------------------------------------------------------------------
# decoding


class _Syntax(NamedTuple):
    """Byte layouts of one element encoding (implicit/explicit VR, byte order)."""

    implicit: bool
    little: bool
    tag_length: struct.Struct
    """:data:`~dimse_codec.dataset.structures.ELEMENT_HEADER` in this byte order."""
    explicit: struct.Struct
    """:data:`~dimse_codec.dataset.structures.EXPLICIT_SHORT_HEADER` in this byte order."""
    explicit_long: struct.Struct
    """:data:`~dimse_codec.dataset.structures.EXPLICIT_LONG_HEADER` in this byte order."""


def _syntax(implicit: bool, little: bool) -> _Syntax:
    """Pick the declared header layouts for an element encoding."""
    headers = LITTLE_ENDIAN if little else BIG_ENDIAN
    return _Syntax(implicit, little, *headers)


_IMPLICIT_LE = _syntax(True, True)


class _Parser:
    """Walks data-set bytes into pydicom objects, checking every length against what is there."""

    def __init__(
        self, buffer: memoryview, policy: Policy, sink: list[Diagnostic], *, cut: bool = False
    ) -> None:
        self.buffer = buffer
        self.policy = policy
        self.sink = sink
        self.limits: Limits = policy.limits
        self.open_end = len(buffer) if cut else -1
        """Where the bytes end because inflation stopped at ``max_inflated_size`` (-1: they end
        where the data set does). Input that runs on past it was cut by the limit, not short."""
        self.max_depth = min(self.limits.max_depth, _depth_room())
        """The nesting followed: ``max_depth``, or less when the interpreter's stack is smaller."""
        self.elements = 0
        """Elements read so far, at every nesting level."""
        self.items = 0
        """Sequence items read so far, over every sequence."""
        self.decoded = 0
        """Bytes of element values kept so far."""
        fresh = Dataset().__dict__
        self.template = tuple(fresh.items())
        """The attributes of a fresh data set, in order, for :meth:`new_dataset`."""

    def over(self, name: str, what: str, offset: int, path: str) -> LimitExceeded:
        """Return the error for the limit ``name`` met at ``offset`` (``what`` names its unit)."""
        value: int = getattr(self.limits, name)
        return LimitExceeded(
            _limit_message(name, value, what),
            offset=offset,
            path=_short_path(path),
            code=DiagnosticCode.LIMIT_EXCEEDED.value,
        )

    def short(self, what: str, offset: int, end: int, path: str) -> DecodeError:
        """Return the error for bytes that end at ``end`` before ``what`` is complete: a
        truncation, or ``max_inflated_size`` met when they end there because inflation stopped."""
        if end == self.open_end:
            return self.over("max_inflated_size", "bytes inflated", offset, path)
        return TruncatedError(what, offset=offset, path=path)

    def seal(self, end: int) -> int:
        """Enter a value or item whose own length ends at ``end`` and return :attr:`open_end`
        to restore after it: when it ends just where inflation stopped it is whole, and bytes
        short inside it are a truncation."""
        open_end = self.open_end
        if end == open_end:
            self.open_end = -1
        return open_end

    def too_deep(self, offset: int, path: str) -> LimitExceeded:
        """Return the error for a sequence nested deeper than :attr:`max_depth`."""
        if self.max_depth == self.limits.max_depth:
            return self.over("max_depth", "levels of nested sequences", offset, path)
        return LimitExceeded(
            f"more than {self.max_depth} levels of nested sequences, all that the interpreter's "
            f"recursion limit ({sys.getrecursionlimit()}) leaves room for (Limits.max_depth is "
            f"{self.limits.max_depth})",
            offset=offset,
            path=_short_path(path),
            code=DiagnosticCode.LIMIT_EXCEEDED.value,
        )

    def check_values(
        self, tag: int, vr: str | None, value: memoryview, position: int, path: str
    ) -> None:
        """Refuse a value with more than ``max_values`` values before pydicom splits it."""
        limit = self.limits.max_values
        if len(value) < limit:
            return  # every value but the last needs at least one byte (a separator or a number)
        kind = vr if vr is not None else _dictionary_vr(tag)
        if kind in _MULTI_TEXT_VRS:
            count = value.tobytes().count(b"\\") + 1
        elif kind in _BINARY_VALUE_SIZE:
            count = len(value) // _BINARY_VALUE_SIZE[kind]
        else:
            return
        if count > limit:
            raise self.over("max_values", f"values in one element ({count})", position, path)

    def header(self, syntax: _Syntax, position: int) -> tuple[int, int]:
        """Read a tag and a 32-bit length (implicit VR element or item header)."""
        group, element, length = syntax.tag_length.unpack_from(self.buffer, position)
        return group << 16 | element, length

    def dataset(
        self,
        start: int,
        end: int,
        *,
        syntax: _Syntax,
        delimited: bool,
        depth: int,
        encoding: _Encoding,
        path: str,
    ) -> tuple[Dataset, int]:
        """Read elements from ``start`` to ``end`` (or to an item delimiter when ``delimited``)."""
        elements: dict[BaseTag, _Element] = {}
        own_encoding: _Encoding = encoding
        previous = -1
        position = start
        while True:
            header_at = position
            try:
                if position == end:
                    if delimited:
                        raise self.short(
                            "item of undefined length ends without an item delimitation item",
                            position,
                            end,
                            path,
                        )
                    if end == self.open_end:  # the top level, whole up to the inflation limit
                        raise self.over("max_inflated_size", "bytes inflated", position, path)
                    break
                if end - position < 8:
                    raise self.short(
                        f"element header needs 8 bytes, {end - position} left",
                        position,
                        end,
                        path,
                    )
                tag, length = self.header(syntax, position)
                if tag >> 16 == 0xFFFE:
                    if tag == _ITEM_DELIMITER and delimited:
                        self.check_zero_length(length, position, path, "item delimitation item")
                        position += 8
                        break
                    name = _ITEM_NAMES.get(tag, "item-group tag")
                    raise DecodeError(
                        f"unexpected {name} {_tag_text(tag)} where a data element should start",
                        offset=position,
                        path=path,
                    )
                element_path = f"{path} > {_tag_text(tag)}"
                vr: str | None = None
                if syntax.implicit:
                    position += 8
                else:
                    _, _, raw_vr, short_length = syntax.explicit.unpack_from(self.buffer, position)
                    if raw_vr not in VRS:
                        raise DecodeError(
                            f"invalid VR {bytes(raw_vr)!r} in an explicit VR transfer syntax",
                            offset=position + 4,
                            path=element_path,
                        )
                    vr = raw_vr.decode("ascii")
                    if vr in _LONG_LENGTH_VRS:
                        if end - position < 12:
                            raise self.short(
                                f"element header with VR {vr} needs 12 bytes, "
                                f"{end - position} left",
                                position,
                                end,
                                element_path,
                            )
                        length = syntax.explicit_long.unpack_from(self.buffer, position)[4]
                        position += 12
                    else:
                        length = short_length
                        position += 8
                self.elements += 1
                if self.elements > self.limits.max_elements:
                    raise self.over("max_elements", "data elements", header_at, element_path)
                element, position = self.element(
                    tag,
                    vr,
                    length,
                    position,
                    end,
                    syntax=syntax,
                    depth=depth,
                    encoding=own_encoding,
                    path=element_path,
                )
            except LimitExceeded as exc:
                if depth:
                    raise
                position = self.stop(exc, header_at, end)
                break
            key = BaseTag(tag)
            if key in elements:
                self.policy.report(
                    self.sink,
                    DiagnosticCode.DUPLICATE_TAG,
                    "element occurs twice in one data set; the later one is ignored",
                    header_at,
                    element_path,
                )
                continue
            if tag < previous:
                self.policy.report(
                    self.sink,
                    DiagnosticCode.OUT_OF_ORDER,
                    f"element follows {_tag_text(previous)}; tags must ascend (PS3.5 7.1)",
                    header_at,
                    element_path,
                )
            previous = max(previous, tag)
            elements[key] = element
            if tag == _SPECIFIC_CHARACTER_SET and isinstance(element, RawDataElement):
                own_encoding = self.character_set(element, syntax, element_path)
        return self.new_dataset(elements, encoding, syntax, own_encoding, delimited), position

    def new_dataset(
        self,
        elements: dict[BaseTag, _Element],
        parent_encoding: _Encoding,
        syntax: _Syntax,
        encoding: _Encoding,
        delimited: bool,
    ) -> Dataset:
        """Return a data set holding ``elements``, as ``Dataset(elements, parent_encoding=...)``
        followed by ``set_original_encoding`` would, in a third of the time.

        ``Dataset.__init__`` sets each of its attributes through ``Dataset.__setattr__``, which
        costs more than the rest of reading an empty item, and a data set of many items pays it
        once per item. The attributes of a fresh ``Dataset()`` (taken once per decode, so
        whatever this pydicom version sets) are set directly instead, dicts copied shallowly.
        """
        ds: Dataset = Dataset.__new__(Dataset)
        put = object.__setattr__  # in __init__'s order, so instances share their dict keys
        for name, value in self.template:
            if name == "_dict":
                value = elements
            elif isinstance(value, dict):
                value = value.copy() if value else {}  # {}.copy() costs twice {}
            put(ds, name, value)
        put(ds, "_parent_encoding", parent_encoding)
        put(ds, "_read_implicit", syntax.implicit)
        put(ds, "_read_little", syntax.little)
        put(ds, "_read_charset", encoding)
        put(ds, "is_undefined_length_sequence_item", delimited)
        return ds

    def stop(self, exc: LimitExceeded, at: int, end: int) -> int:
        """Raise ``exc`` under a policy that raises on ``LIMIT_EXCEEDED`` (strict), else report it
        and keep the data set up to ``at``: the element that met the limit and all after it
        stay undecoded, bytes ``at`` to ``end`` of the decoded buffer. Returns ``at``."""
        if self.policy.raises(DiagnosticCode.LIMIT_EXCEEDED):
            raise exc
        tail = f"the {end - at} bytes from offset {at} (this top-level element and all after it)"
        if end == self.open_end:
            tail += " and the rest of the deflate stream, not inflated,"
        self.policy.report(
            self.sink,
            DiagnosticCode.LIMIT_EXCEEDED,
            f"{exc.message} (at {exc.path} @{exc.offset}); decoding stopped: {tail} are kept "
            "undecoded",
            at,
            exc.path,
        )
        return at

    def check_zero_length(self, length: int, position: int, path: str, what: str) -> None:
        """Report a delimiter whose length field is not zero (PS3.5 7.5 says it is)."""
        if length:
            self.policy.report(
                self.sink,
                DiagnosticCode.BAD_VALUE_LENGTH,
                f"{what} has length {length}, expected 0",
                position + 4,
                path,
            )

    def character_set(self, element: RawDataElement, syntax: _Syntax, path: str) -> _Encoding:
        """Return the Python codecs named by a (0008,0005) value, for the elements that follow."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = convert_string(element.value or b"", syntax.little)
                encodings = convert_encodings(value) if value else default_encoding
            except Exception as exc:
                raise DecodeError(
                    f"cannot read Specific Character Set: {exc}",
                    offset=element.value_tell,
                    path=path,
                ) from exc
        _report_warnings(caught, self.policy, self.sink, element.value_tell, path)
        return encodings

    def element(
        self,
        tag: int,
        vr: str | None,
        length: int,
        position: int,
        end: int,
        *,
        syntax: _Syntax,
        depth: int,
        encoding: _Encoding,
        path: str,
    ) -> tuple[_Element, int]:
        """Read one element's value at ``position``; return it and where the next element starts."""
        if length != _UNDEFINED:
            if length > end - position:
                raise self.short(
                    f"value length {length} exceeds the {end - position} bytes left",
                    position,
                    end,
                    path,
                )
            value_end = position + length
            if vr == "SQ" or (vr is None and _dictionary_vr(tag) == "SQ"):
                open_end = self.seal(value_end)
                try:
                    sequence, _ = self.sequence(
                        position,
                        value_end,
                        syntax=syntax,
                        delimited=False,
                        depth=depth,
                        encoding=encoding,
                        path=path,
                    )
                finally:
                    self.open_end = open_end
                return DataElement(tag, "SQ", sequence, position, False), value_end
            self.decoded += length
            if self.decoded > self.limits.max_decoded_size:
                raise self.over("max_decoded_size", "bytes of values", position, path)
            if length:
                self.check_values(tag, vr, self.buffer[position:value_end], position, path)
            value = (
                bytes(self.buffer[position:value_end])
                if length
                else empty_value_for_VR(vr, raw=True)
            )
            raw = RawDataElement(
                BaseTag(tag),
                vr,
                length,
                value if isinstance(value, bytes) or value is None else b"",
                position,
                syntax.implicit,
                syntax.little,
            )
            return raw, value_end
        # undefined length: a sequence, or encapsulated (fragmented) bulk data
        kind = vr if vr is not None else _dictionary_vr(tag)
        if kind in (None, "SQ", "UN"):
            # PS3.5 6.2.2: an undefined-length UN element is a sequence in Implicit VR LE
            inner = _IMPLICIT_LE if kind == "UN" and vr is not None else syntax
            sequence, next_position = self.sequence(
                position,
                end,
                syntax=inner,
                delimited=True,
                depth=depth,
                encoding=encoding,
                path=path,
            )
            return DataElement(tag, "SQ", sequence, position, True), next_position
        if kind in _FRAGMENT_VRS:
            value_end = self.fragments(position, end, syntax=syntax, path=path)
            self.decoded += value_end - position
            if self.decoded > self.limits.max_decoded_size:
                raise self.over("max_decoded_size", "bytes of values", position, path)
            raw = RawDataElement(
                BaseTag(tag),
                vr,
                _UNDEFINED,
                bytes(self.buffer[position:value_end]),
                position,
                syntax.implicit,
                syntax.little,
            )
            return raw, value_end + 8
        raise DecodeError(
            f"undefined length is not allowed for VR {kind}", offset=position, path=path
        )

    def sequence(
        self,
        start: int,
        end: int,
        *,
        syntax: _Syntax,
        delimited: bool,
        depth: int,
        encoding: _Encoding,
        path: str,
    ) -> tuple[Sequence, int]:
        """Read the items of a sequence (defined length up to ``end``, else up to its delimiter)."""
        if depth >= self.max_depth:
            raise self.too_deep(start, path)
        items: list[Dataset] = []
        position = start
        while True:
            if position == end and not delimited:
                break
            if end - position < 8:
                what = (
                    "sequence of undefined length ends without a sequence delimitation item"
                    if delimited and position == end
                    else f"item header needs 8 bytes, {end - position} left"
                )
                raise self.short(what, position, end, path)
            tag, length = self.header(syntax, position)
            item_path = f"{path} > item {len(items) + 1}"
            if tag == _SEQUENCE_DELIMITER:
                if not delimited:
                    raise DecodeError(
                        "sequence delimitation item inside a sequence of defined length",
                        offset=position,
                        path=path,
                    )
                self.check_zero_length(length, position, path, "sequence delimitation item")
                position += 8
                break
            if tag != _ITEM:
                raise DecodeError(
                    f"expected an item (FFFE,E000), found {_tag_text(tag)}",
                    offset=position,
                    path=item_path,
                )
            self.items += 1
            if self.items > self.limits.max_items:
                raise self.over("max_items", "sequence items", position, item_path)
            content = position + 8
            if length == _UNDEFINED:
                item, position = self.dataset(
                    content,
                    end,
                    syntax=syntax,
                    delimited=True,
                    depth=depth + 1,
                    encoding=encoding,
                    path=item_path,
                )
            else:
                if length > end - content:
                    raise self.short(
                        f"item length {length} exceeds the {end - content} bytes left",
                        position + 4,
                        end,
                        item_path,
                    )
                open_end = self.seal(content + length)
                try:
                    item, position = self.dataset(
                        content,
                        content + length,
                        syntax=syntax,
                        delimited=False,
                        depth=depth + 1,
                        encoding=encoding,
                        path=item_path,
                    )
                finally:
                    self.open_end = open_end
            items.append(item)
        sequence = Sequence(items)
        sequence.is_undefined_length = delimited
        return sequence, position

    def fragments(self, start: int, end: int, *, syntax: _Syntax, path: str) -> int:
        """Check the fragment items of encapsulated data; returns where its delimiter starts."""
        position = start
        count = 0
        while True:
            if end - position < 8:
                raise self.short(
                    "encapsulated value ends without a sequence delimitation item",
                    position,
                    end,
                    path,
                )
            tag, length = self.header(syntax, position)
            if tag == _SEQUENCE_DELIMITER:
                self.check_zero_length(length, position, path, "sequence delimitation item")
                return position
            count += 1
            if tag != _ITEM:
                raise DecodeError(
                    f"expected a fragment item (FFFE,E000), found {_tag_text(tag)}",
                    offset=position,
                    path=f"{path} > fragment {count}",
                )
            if length == _UNDEFINED or length > end - position - 8:
                what = f"fragment length {length} exceeds the {end - position - 8} bytes left"
                fragment_path = f"{path} > fragment {count}"
                if length == _UNDEFINED:  # never a length, whatever follows
                    raise TruncatedError(what, offset=position + 4, path=fragment_path)
                raise self.short(what, position + 4, end, fragment_path)
            position += 8 + length


def _dictionary_vr(tag: int) -> str | None:
    """Return the data dictionary VR of a tag, or None when the tag is unknown (e.g. private)."""
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


def _report_warnings(
    caught: list[warnings.WarningMessage],
    policy: Policy,
    sink: list[Diagnostic],
    offset: int | None,
    path: str,
) -> None:
    """Turn caught pydicom warnings into ``PYDICOM_WARNING`` diagnostics (one line each, without
    pydicom's pointer to PS3.5) and empty ``caught``."""
    for one in caught:
        text = str(one.message).split(" Please see <", 1)[0]
        policy.report(sink, DiagnosticCode.PYDICOM_WARNING, f"pydicom: {text}", offset, path)
    caught.clear()


class _Converter:
    """Converts every raw value now (except pixel data) so bad values fail here, not later, and
    turns what pydicom warns about while doing so into ``PYDICOM_WARNING`` diagnostics."""

    def __init__(
        self, caught: list[warnings.WarningMessage], policy: Policy, sink: list[Diagnostic]
    ) -> None:
        self.caught = caught
        self.policy = policy
        self.sink = sink

    def report(self, offset: int | None, path: str) -> None:
        """Report the warnings pydicom raised since the last call, as met at ``path``."""
        _report_warnings(self.caught, self.policy, self.sink, offset, path)

    def convert(self, ds: Dataset, path: str) -> None:
        """Convert the values of ``ds`` and of every item below it.

        An implicit VR element whose VR is ambiguous and cannot be resolved from the data set
        (e.g. LUT Data without LUT Descriptor) has well-formed bytes, so it is left raw, as
        pydicom would.
        """
        for tag in list(ds.keys()):
            element: _Element | None = ds.get_item(tag, keep_deferred=True)
            if element is None or int(tag) in _PIXEL_TAGS:
                continue
            if isinstance(element, RawDataElement):
                try:
                    converted = ds[tag]
                except Exception as exc:
                    partial = ds.get_item(tag, keep_deferred=True)
                    if not isinstance(partial, RawDataElement) and partial.VR in AMBIGUOUS_VR:
                        ds[tag] = element  # the value converted; only the VR choice failed
                        continue
                    raise DecodeError(
                        f"cannot convert value: {exc}",
                        offset=element.value_tell,
                        path=f"{path} > {_tag_text(tag)}",
                    ) from exc
                if self.caught:
                    self.report(element.value_tell, f"{path} > {_tag_text(tag)}")
            else:
                converted = element
            if converted.VR == VR.SQ:
                element_path = f"{path} > {_tag_text(tag)}"
                for index, item in enumerate(converted.value, start=1):
                    self.convert(item, f"{element_path} > item {index}")


def _decode_plain(
    buffer: memoryview,
    syntax: TransferSyntax,
    policy: Policy,
    sink: list[Diagnostic],
    root: str,
    *,
    cut: bool = False,
) -> Dataset:
    """Decode non-deflated data-set bytes in exactly the given element encoding (``cut``: they
    are what inflation gave up to ``max_inflated_size``, and the data set goes on after them).

    pydicom's warnings (an invalid value for its VR, an unknown character set) are caught here
    and become ``PYDICOM_WARNING`` diagnostics, so nothing reaches stderr.
    """
    layout = _syntax(syntax.implicit_vr, syntax.little_endian)
    parser = _Parser(buffer, policy, sink, cut=cut)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds, _ = parser.dataset(
            0,
            len(buffer),
            syntax=layout,
            delimited=False,
            depth=0,
            encoding=default_encoding,
            path=root,
        )
        converter = _Converter(caught, policy, sink)
        converter.report(None, root)
        converter.convert(ds, root)
    return ds


def _refuse_cut(inflated: _Inflated, policy: Policy) -> None:
    """Raise :class:`LimitExceeded` when inflation stopped at the cap and ``policy`` raises
    ``LIMIT_EXCEEDED`` (strict); a lenient decode goes on with what was inflated."""
    if inflated.stopped is not None and policy.raises(DiagnosticCode.LIMIT_EXCEEDED):
        raise _inflate_limit(policy.limits.max_inflated_size, inflated.stopped)


def _empty(syntax: TransferSyntax) -> Dataset:
    """Return an empty data set marked with the syntax it was decoded from."""
    ds = Dataset()
    ds.set_original_encoding(syntax.implicit_vr, syntax.little_endian, default_encoding)
    return ds


def decode_dataset(
    data: _Bytes,
    transfer_syntax: TransferSyntaxLike,
    *,
    policy: Policy = LENIENT,
    diagnostics: list[Diagnostic] | None = None,
) -> Dataset:
    """Decode data-set bytes in exactly ``transfer_syntax`` (inflating first when it is deflated).

    Structure is checked eagerly and every value but pixel data is converted, so truncated or
    garbage input raises a :class:`DimseCodecError` here rather than later; empty input is an
    empty data set. Tolerated problems go to ``diagnostics`` (or raise, per ``policy``). A limit
    met (:mod:`dimse_codec.limits`) raises :class:`LimitExceeded` under a policy that raises
    ``LIMIT_EXCEEDED``, else it is reported and the data set holds the top-level elements
    before the one that met it.
    """
    view = byte_view(data)
    syntax = _resolve(transfer_syntax)
    sink = diagnostics if diagnostics is not None else []
    if len(view) == 0:
        return _empty(syntax)
    if not syntax.deflated:
        return _decode_plain(view, syntax, policy, sink, "data set")
    inflated = _inflate_capped(view, policy.limits.max_inflated_size, policy, sink)
    _refuse_cut(inflated, policy)
    return _decode_plain(
        memoryview(inflated.data),
        syntax,
        policy,
        sink,
        _INFLATED_ROOT,
        cut=inflated.stopped is not None,
    )


# --------------------------------------------------------------------------------------------
# the encoded form as a value


class EncodedDataset:
    """The data set bytes of a message exactly as they came, plus their transfer syntax.

    The buffer is kept without copying (a memoryview stays a view), so hashing or measuring a
    large data set costs no memory; decoding happens on first request and is cached per policy.
    The buffer must not change while wrapped.
    """

    __slots__ = ("_decoded", "_diagnostics", "_inflated", "_raw", "_syntax")

    def __init__(self, data: _Bytes, transfer_syntax: TransferSyntaxLike) -> None:
        self._raw: bytes | memoryview = (
            data if isinstance(data, bytes) else byte_view(data).toreadonly()
        )
        self._syntax = _resolve(transfer_syntax)
        self._inflated: tuple[_Inflated, list[Diagnostic]] | None = None
        self._decoded: dict[Policy, tuple[Dataset, list[Diagnostic]]] = {}
        self._diagnostics: list[Diagnostic] = []

    @classmethod
    def from_dataset(cls, ds: Dataset, transfer_syntax: TransferSyntaxLike) -> EncodedDataset:
        """Encode ``ds`` in ``transfer_syntax`` and wrap the result."""
        syntax = _resolve(transfer_syntax)
        return cls(encode_dataset(ds, syntax), syntax)

    @property
    def raw(self) -> bytes | memoryview:
        """The buffer as given (read-only view for bytearray/memoryview input)."""
        return self._raw

    @property
    def transfer_syntax(self) -> TransferSyntax:
        """The transfer syntax the bytes are encoded in."""
        return self._syntax

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Problems tolerated by the most recent :meth:`dataset` or :meth:`inflated` call."""
        return list(self._diagnostics)

    def __len__(self) -> int:
        """Return the number of encoded bytes (deflated size for a deflated syntax)."""
        return len(self._raw)

    def __bytes__(self) -> bytes:
        """Return the encoded bytes (a copy when the buffer is a view)."""
        return bytes(self._raw)

    def sha256(self) -> str:
        """Return the hex SHA-256 of the encoded bytes, computed on the buffer without copying."""
        return hashlib.sha256(self._raw).hexdigest()

    def inflated(self, policy: Policy = LENIENT) -> bytes | memoryview:
        """Return the bytes after inflating for a deflated syntax, else the raw buffer.

        A stream that inflates past ``max_inflated_size`` raises :class:`LimitExceeded` under a
        policy that raises ``LIMIT_EXCEEDED``; else the first ``max_inflated_size`` bytes are
        returned and a ``LIMIT_EXCEEDED`` diagnostic gives where in the stream inflation stopped.
        """
        if not self._syntax.deflated or len(self._raw) == 0:
            self._diagnostics = []
            return self._raw
        sink: list[Diagnostic] = []
        inflated = self._inflate(policy, sink)
        if inflated.stopped is not None:
            error = _inflate_limit(policy.limits.max_inflated_size, inflated.stopped)
            policy.report(
                sink,
                DiagnosticCode.LIMIT_EXCEEDED,
                f"{error.message} (at {error.path} @{error.offset}); inflation stopped: the first "
                f"{len(inflated.data)} bytes are returned, the rest of the stream is not inflated",
                error.offset,
                error.path,
            )
        self._diagnostics = sink
        return inflated.data

    def _inflate(self, policy: Policy, sink: list[Diagnostic]) -> _Inflated:
        """Inflate up to the policy's ``max_inflated_size`` (once, unless a later policy's limit
        gives another answer), refuse a cut stream per :func:`_refuse_cut`, then replay the
        recorded problems through ``policy``."""
        limit = policy.limits.max_inflated_size
        cached = self._inflated
        if cached is None or not _answers(cached[0], limit):
            found: list[Diagnostic] = []
            cached = (_inflate_capped(byte_view(self._raw), limit, LENIENT, found), found)
            self._inflated = cached
        inflated, found = cached
        _refuse_cut(inflated, policy)
        for diagnostic in found:
            policy.report(
                sink, diagnostic.code, diagnostic.message, diagnostic.offset, diagnostic.path
            )
        return inflated

    def dataset(self, policy: Policy = LENIENT) -> Dataset:
        """Decode on first request for ``policy`` and cache it; later calls get the same object."""
        cached = self._decoded.get(policy)
        if cached is None:
            sink: list[Diagnostic] = []
            if len(self._raw) == 0:
                ds = _empty(self._syntax)
            elif self._syntax.deflated:
                inflated = self._inflate(policy, sink)
                ds = _decode_plain(
                    memoryview(inflated.data),
                    self._syntax,
                    policy,
                    sink,
                    _INFLATED_ROOT,
                    cut=inflated.stopped is not None,
                )
            else:
                ds = _decode_plain(byte_view(self._raw), self._syntax, policy, sink, "data set")
            cached = (ds, sink)
            self._decoded[policy] = cached
        self._diagnostics = list(cached[1])
        return cached[0]

    def __eq__(self, other: object) -> bool:
        """Equal when the bytes and the transfer syntax UID are equal."""
        if not isinstance(other, EncodedDataset):
            return NotImplemented
        return self._syntax.uid == other._syntax.uid and self._raw == other._raw

    def __hash__(self) -> int:
        """Hash the UID, the length and the first and last bytes: O(1) and consistent with ==."""
        raw = self._raw
        return hash((self._syntax.uid, len(raw), bytes(raw[:32]), bytes(raw[-32:])))

    def __repr__(self) -> str:
        """Show size and syntax, never the bytes."""
        return f"EncodedDataset({len(self._raw)} bytes, {self._syntax.name})"
