"""A data set as a dcmdump-style tree of text lines, bounded whatever the data set holds.

What ``dimse-codec decode -vv`` shows under a message, and what a library user can print for any
data set: one line per element, ``(gggg,eeee) VR [value]  # length, VM Keyword``, with items and
the delimitation items of undefined-length sequences and items (PS3.5 7.5) on lines of their own,
indented per nesting level. Long values are cut, bulk binary values (pixel data above all) are
summarised by length and SHA-256 prefix, encapsulated pixel data by its number of fragments, and
the number of lines is capped, so neither a million elements nor a 2 GB value builds a long string.
The bytes are decoded by :func:`~dimse_codec.dataset.decode_dataset` in exactly the given
transfer syntax (a deflated one inflated first, under the policy's limits); the lengths are read
off the element headers on the wire; each of the decoder's diagnostics is shown under the element
or item its path names, the others after the tree.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, private_dictionary_description
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID

from dimse_codec._wire import byte_view
from dimse_codec.dataset.codec import decode_dataset, encode_dataset, inflate
from dimse_codec.dataset.structures import LONG_LENGTH_VRS, VRS
from dimse_codec.dataset.transfer_syntax import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    TransferSyntaxLike,
    lookup_transfer_syntax,
)
from dimse_codec.diagnostics import Diagnostic
from dimse_codec.errors import InvalidParameter
from dimse_codec.policy import LENIENT, Policy

__all__ = ["DEFAULT_MAX_LINES", "DEFAULT_MAX_VALUE", "dump_dataset"]

DEFAULT_MAX_LINES = 500
"""Lines one data set's tree shows at most (elements, items and delimiters); the elements past it
are counted on one ``... N more element(s) not shown`` line."""
DEFAULT_MAX_VALUE = 64
"""Characters of one value shown; a longer value is cut with ``...`` (its length is on the line)."""

_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_DELIMITER = 0xFFFEE00D
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_SHOWN_BYTES = 16
"""A binary value up to this long is shown byte by byte; a longer one by length and digest."""
_DIGEST = 16
"""Hex digits of the SHA-256 shown for a summarised value."""
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI"}
    | {"UR", "UT"}
)
_LONG_VRS = frozenset(vr.decode("ascii") for vr in LONG_LENGTH_VRS)
_AMBIGUOUS = {"OB or OW": "ox", "US or SS": "xs", "US or OW": "lt", "US or SS or OW": "lt"}
"""A VR the dictionary leaves open, in dcmdump's two letters (``??`` for one it does not name)."""
_VALUE_COLUMN = 40
"""dcmdump's width of the VR-and-value column, so the ``#`` comments line up."""

_Bytes = bytes | bytearray | memoryview
_Element = RawDataElement | DataElement
_Lines = Generator[str, None, int]
"""Lines of a part of the tree; the generator returns where that part ends on the wire (0:
unknown)."""


def dump_dataset(
    data: Dataset | _Bytes,
    transfer_syntax: TransferSyntaxLike,
    *,
    policy: Policy = LENIENT,
    max_lines: int | None = DEFAULT_MAX_LINES,
    max_value: int = DEFAULT_MAX_VALUE,
    indent: str = "",
    diagnostics: list[Diagnostic] | None = None,
) -> Iterator[str]:
    """The lines of a data set's tree, each starting with ``indent``.

    ``data`` is data-set bytes in ``transfer_syntax`` or a pydicom data set (encoded in it first,
    so the lengths shown are those it would have on the wire). The bytes are decoded here, before
    the first line: a data set the decoder refuses raises its :class:`DimseCodecError` from this
    call. What decoding tolerated goes to ``diagnostics`` too, and each one is shown under the
    element or item its path names (``! CODE @offset: message``), the others after the tree.
    ``max_lines`` (None: no cap) bounds the tree's lines; a value is shown up to ``max_value``
    characters.
    """
    if max_lines is not None and max_lines < 0:
        raise InvalidParameter(f"max_lines must be 0 or more, not {max_lines}")
    if max_value < 1:
        raise InvalidParameter(f"max_value must be 1 or more, not {max_value}")
    syntax = lookup_transfer_syntax(transfer_syntax)
    view = byte_view(encode_dataset(data, syntax) if isinstance(data, Dataset) else data)
    sink = diagnostics if diagnostics is not None else []
    found: list[Diagnostic] = []
    plain = syntax
    if syntax.deflated and len(view):
        view = memoryview(
            inflate(
                view, max_size=policy.limits.max_inflated_size, policy=policy, diagnostics=found
            )
        )
        plain = lookup_transfer_syntax(EXPLICIT_VR_LITTLE_ENDIAN)
    dataset = decode_dataset(view, plain, policy=policy, diagnostics=found)
    sink.extend(found)
    walk = _Walk(view, plain.little_endian, found, max_lines, max_value)
    return walk.lines(dataset, plain.implicit_vr, indent)


def _element_path(parent: str, tag: int) -> str:
    """The path the decoder gives an element in its diagnostics: ``parent > (gggg,eeee) Name``."""
    keyword = keyword_for_tag(tag)
    text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return f"{parent} > {text} {keyword}" if keyword else f"{parent} > {text}"


def _tag(tag: int) -> str:
    """A tag as dcmdump writes it: ``(gggg,eeee)`` in lower-case hex."""
    return f"({tag >> 16:04x},{tag & 0xFFFF:04x})"


def _line(
    indent: str, tag: int, vr: str, value: str, length: int | None, vm: int, name: str
) -> str:
    """One dcmdump line: tag, VR and value, then ``# length, VM Keyword``."""
    shown = "?" if length is None else ("u/l" if length == _UNDEFINED else str(length))
    return f"{indent}{_tag(tag)} {f'{vr} {value}':<{_VALUE_COLUMN}} # {shown:>3}, {vm} {name}"


def _diagnostic_text(diagnostic: Diagnostic) -> str:
    """A diagnostic on one line: code, offset and message (its path is where it stands)."""
    at = "" if diagnostic.offset is None else f" @{diagnostic.offset}"
    return f"! {diagnostic.code.value}{at}: {diagnostic.message}"


def _digest(value: _Bytes) -> str:
    """The first hex digits of a value's SHA-256 (hashed as it is, never copied)."""
    return hashlib.sha256(value).hexdigest()[:_DIGEST]


def _fragments(value: _Bytes, little: bool) -> int:
    """Fragment items (Basic Offset Table included) in an encapsulated value (PS3.5 A.4)."""
    header = struct.Struct("<HHI" if little else ">HHI")
    count = 0
    position = 0
    while len(value) - position >= 8:
        group, element, length = header.unpack_from(value, position)
        if group << 16 | element != _ITEM:
            break
        count += 1
        position += 8 + length
    return count


def _bounded(values: Iterable[Any], limit: int) -> tuple[str, bool]:
    """Values joined by backslashes, at most ``limit`` characters, and whether that cut any."""
    parts: list[str] = []
    size = 0
    cut = False
    for value in values:
        if size > limit:
            cut = True
            break
        text = str(value)[: limit + 1 - size]
        parts.append(text)
        size += len(text) + 1
    joined = "\\".join(parts)
    if len(joined) > limit:
        return joined[:limit], True
    return joined, cut


class _Walk:
    """One data set's tree: the lines, the cap on them and the diagnostics waiting for a place."""

    def __init__(
        self,
        buffer: memoryview,
        little: bool,
        diagnostics: list[Diagnostic],
        max_lines: int | None,
        max_value: int,
    ) -> None:
        self.buffer = buffer
        self.little = little
        order = "<" if little else ">"
        self.u32 = struct.Struct(f"{order}I")
        self.u16 = struct.Struct(f"{order}H")
        self.item = struct.Struct(f"{order}HHI")
        self.max_lines = max_lines
        self.max_value = max_value
        self.shown = 0
        self.omitted = 0
        """Elements not shown because the cap was met (at every nesting level)."""
        self.placed: dict[str, list[Diagnostic]] = {}
        for diagnostic in diagnostics:
            self.placed.setdefault(diagnostic.path or "", []).append(diagnostic)
        self.order = list(diagnostics)
        self.taken: set[int] = set()
        """The diagnostics already shown under their element (by id)."""

    def lines(self, dataset: Dataset, implicit: bool, indent: str) -> Iterator[str]:
        """The whole tree, the ``... N more`` line, then the diagnostics no element took."""
        yield from self.dataset(dataset, implicit, indent, "data set")
        if self.omitted:
            yield f"{indent}... {self.omitted} more element(s) not shown"
        for diagnostic in self.order:
            if id(diagnostic) in self.taken:
                continue
            where = f" at {diagnostic.path}" if diagnostic.path else ""
            yield f"{indent}{_diagnostic_text(diagnostic)}{where}"

    @property
    def full(self) -> bool:
        """Whether the cap on lines is met."""
        return self.max_lines is not None and self.shown >= self.max_lines

    def emit(self, text: str) -> str:
        """Count a line of the tree."""
        self.shown += 1
        return text

    def notes(self, path: str, indent: str) -> Iterator[str]:
        """The diagnostics whose path is ``path``, under its line (taken: not repeated after)."""
        found = self.placed.pop(path, None)
        if not found:
            return
        for diagnostic in found:
            self.taken.add(id(diagnostic))
            yield f"{indent}  {_diagnostic_text(diagnostic)}"

    def dataset(
        self, dataset: Dataset, implicit: bool, indent: str, path: str
    ) -> _Lines:  # returns the end of its last element on the wire (0 if unknown)
        """The lines of a data set's elements in wire order."""
        end = 0
        for tag in list(dataset.keys()):
            element: _Element = dataset.get_item(tag, keep_deferred=True)
            if self.full:
                self.omitted += 1 + _count(element)
                continue
            element_end = yield from self.element(
                dataset, element, implicit, indent, _element_path(path, int(tag))
            )
            end = max(end, element_end)
        return end

    def header(self, offset: int, vr: str, implicit: bool) -> tuple[int | None, str | None]:
        """The value length and wire VR of the element whose value starts at ``offset``."""
        buffer = self.buffer
        if offset < 8 or offset > len(buffer):
            return None, None
        if implicit:
            return self.u32.unpack_from(buffer, offset - 4)[0], None
        long_vr = bytes(buffer[offset - 8 : offset - 6]) if offset >= 12 else b""
        short_vr = bytes(buffer[offset - 4 : offset - 2])
        long_ok = long_vr in LONG_LENGTH_VRS
        short_ok = short_vr in VRS and short_vr not in LONG_LENGTH_VRS
        if long_ok and (vr in _LONG_VRS or not short_ok):
            return self.u32.unpack_from(buffer, offset - 4)[0], long_vr.decode("ascii")
        if short_ok:
            return self.u16.unpack_from(buffer, offset - 2)[0], short_vr.decode("ascii")
        return None, None

    def element(
        self, dataset: Dataset, element: _Element, implicit: bool, indent: str, path: str
    ) -> _Lines:  # returns where the element ends on the wire (0 if unknown)
        """An element's line (and its items' lines for a sequence)."""
        tag = int(element.tag)
        offset = element.value_tell if isinstance(element, RawDataElement) else element.file_tell
        vr = _vr(element, tag, implicit)
        length, wire_vr = (None, None) if offset is None else self.header(offset, vr, implicit)
        shown_vr = wire_vr or vr
        name = _name(dataset, element, tag)
        value = element.value
        if isinstance(value, Sequence):
            mode = "undefined" if length == _UNDEFINED else "defined"
            text = f"(Sequence with {mode} length #={len(value)})"
            yield self.emit(_line(indent, tag, shown_vr, text, length, 1, name))
            yield from self.notes(path, indent)
            # an undefined-length UN element is a sequence in Implicit VR LE (PS3.5 6.2.2)
            inner = implicit or wire_vr == "UN"
            end = yield from self.sequence(value, offset, length, inner, indent, path)
            return end
        text = self.value(element, tag, vr, length)
        vm = 1 if isinstance(element, RawDataElement) else element.VM
        yield self.emit(_line(indent, tag, shown_vr, text, length, vm, name))
        yield from self.notes(path, indent)
        if offset is None or length is None:
            return 0
        if length == _UNDEFINED:  # encapsulated: the fragments, then the sequence delimiter
            return offset + len(value or b"") + 8
        return offset + length

    def sequence(
        self,
        items: Sequence,
        offset: int | None,
        length: int | None,
        implicit: bool,
        indent: str,
        path: str,
    ) -> _Lines:  # returns where the sequence ends on the wire (0 if unknown)
        """The items of a sequence, each with its elements one level deeper."""
        position = offset
        inner = indent + "  "
        for index, item in enumerate(items, start=1):
            if self.full:
                self.omitted += _count_items([item])
                position = None
                continue
            item_length = None
            if position is not None and position + 8 <= len(self.buffer):
                group, number, found = self.item.unpack_from(self.buffer, position)
                if group << 16 | number == _ITEM:
                    item_length = found
            mode = "undefined" if item_length == _UNDEFINED else "defined"
            text = f"(Item with {mode} length #={len(item)})"
            yield self.emit(_line(inner, _ITEM, "na", text, item_length, 1, "Item"))
            item_path = f"{path} > item {index}"
            yield from self.notes(item_path, inner)
            content_end = yield from self.dataset(item, implicit, inner + "  ", item_path)
            if item_length is None or position is None:
                position = None
            elif item_length != _UNDEFINED:
                position += 8 + item_length
            elif content_end == 0 and len(item):
                position = None  # lost: the next item's header is not looked for
            else:  # after its delimiter (an empty item's comes right after its header)
                position = (content_end or position + 8) + 8
            if item_length == _UNDEFINED and not self.full:
                yield self.emit(
                    _line(
                        inner,
                        _ITEM_DELIMITER,
                        "na",
                        "(ItemDelimitationItem)",
                        0,
                        0,
                        "ItemDelimitationItem",
                    )
                )
        if length == _UNDEFINED:
            if not self.full:
                yield self.emit(
                    _line(
                        indent,
                        0xFFFEE0DD,
                        "na",
                        "(SequenceDelimitationItem)",
                        0,
                        0,
                        "SequenceDelimitationItem",
                    )
                )
            return 0 if position is None else position + 8
        if offset is None or length is None:
            return 0
        return offset + length

    def value(self, element: _Element, tag: int, vr: str, length: int | None) -> str:
        """An element's value as a person reads it, at most about ``max_value`` characters."""
        value = element.value
        if value is None or (isinstance(value, (str, bytes, list)) and not value):
            return "(no value available)"
        if isinstance(value, (bytes, bytearray, memoryview)):
            if length == _UNDEFINED:
                fragments = _fragments(value, self.little)
                return (
                    f"<encapsulated: {fragments} fragment item(s), {len(value)} bytes, "
                    f"sha256 {_digest(value)}>"
                )
            if tag in _PIXEL_TAGS or len(value) > _SHOWN_BYTES:
                return f"<{len(value)} bytes, sha256 {_digest(value)}>"
            return "\\".join(f"{byte:02x}" for byte in bytes(value))
        values = value if isinstance(value, (MultiValue, list, tuple)) else [value]
        if vr == "AT":
            values = [_tag(int(one)) for one in values]
        text, cut = _bounded(values, self.max_value)
        if cut:
            text += "..."
        if vr == "UI" and len(values) == 1 and not cut:
            name = UID(text).name
            if name and name != text:
                return f"[{text}] ({name})"
        return f"[{text}]" if vr in _TEXT_VRS or vr == "AT" else text


def _vr(element: _Element, tag: int, implicit: bool) -> str:
    """The element's VR in two letters; for a raw implicit VR element the dictionary's: OW for
    pixel data (PS3.5 A.1), dcmdump's ``ox``/``xs``/``lt`` for a choice left open."""
    found = str(element.VR) if element.VR else None
    if found is None:
        try:
            found = str(dictionary_VR(tag))
        except KeyError:
            return "UN"
    if tag in _PIXEL_TAGS and implicit and found == "OB or OW":
        return "OW"
    return _AMBIGUOUS.get(found, "??") if " or " in found else found


def _name(dataset: Dataset, element: _Element, tag: int) -> str:
    """The keyword column: the keyword, or for a private tag its creator and (when pydicom's
    private dictionary knows it) its name."""
    group, number = tag >> 16, tag & 0xFFFF
    if group % 2 == 0:
        return keyword_for_tag(tag) or ("GroupLength" if number == 0 else "Unknown")
    if number == 0:
        return "PrivateGroupLength"
    if 0x0010 <= number <= 0x00FF:
        return "PrivateCreator"
    if number < 0x1000:  # no block reserves it (PS3.5 7.8.1)
        return "PrivateTag (creator unknown)"
    creator = getattr(element, "private_creator", None)
    if creator is None:
        block = dataset.get_item(group << 16 | number >> 8, keep_deferred=True)
        creator = None if block is None else block.value
        if isinstance(creator, bytes):
            creator = creator.decode("latin-1", "replace").strip(" \0")
    if not isinstance(creator, str) or not creator:
        return "PrivateTag (creator unknown)"
    try:
        described = private_dictionary_description(tag, creator)
    except KeyError:
        described = "PrivateTag"
    return f'{described} (creator "{creator}")'


def _count(element: _Element) -> int:
    """Elements nested in a sequence element (0 for any other element)."""
    value = element.value
    if not isinstance(value, Sequence):
        return 0
    return _count_items(value)


def _count_items(items: Iterable[Dataset]) -> int:
    """Elements in some items, at every nesting level below them too."""
    total = 0
    for item in items:
        for tag in list(item.keys()):
            total += 1 + _count(item.get_item(tag, keep_deferred=True))
    return total
