"""Hypothesis strategies for malformed command sets, each paired with the decoder's exact answer.

Every example starts from a valid command set (a primitive from
:func:`~dimse_codec.strategies.primitives` encoded canonically) and breaks exactly one thing at the
element level, so a failing example shrinks to a short message with one readable defect. What
may be broken, and where, comes from the PS3.7 table (:mod:`dimse_codec.tables`): which message
types carry an AE title, a UID, an AT list or a data set, which elements are mandatory, which
are retired or unknown. The expected answers are those :func:`~dimse_codec.decode_command_set`
gives: one :class:`~dimse_codec.policy.DiagnosticCode` under the lenient policy (raised as
:class:`~dimse_codec.errors.PolicyViolation` by the strict one), or an error class both raise.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from dimse_codec.dimse.codec import encode_command_set, message_spec
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.dimse.values import ENCODERS
from dimse_codec.errors import DecodeError, DimseCodecError, TruncatedError
from dimse_codec.policy import DiagnosticCode
from dimse_codec.strategies.pdu import Expected, _shared
from dimse_codec.strategies.primitives import (
    ae_titles,
    attribute_tags,
    error_comments,
    primitives,
    uids,
)
from dimse_codec.tables.elements import BY_KEYWORD, BY_TAG, ELEMENTS
from dimse_codec.tables.messages import (
    COMMAND_DATA_SET_TYPE_NULL,
    MESSAGES,
    MESSAGES_BY_FIELD,
    PROTOCOL_KEYWORDS,
    MessageSpec,
)
from dimse_codec.tables.vrs import AE_MAX_LENGTH, VR_RULES, alphabet

__all__ = ["MalformedCommandSet", "damaged_command_sets", "malformed_command_sets"]

_D = DiagnosticCode

_GROUP_LENGTH = BY_KEYWORD["CommandGroupLength"].tag
_COMMAND_FIELD = BY_KEYWORD["CommandField"].tag
_DATA_SET_TYPE = BY_KEYWORD["CommandDataSetType"].tag
_PRIORITY = BY_KEYWORD["Priority"].tag
_ERROR_COMMENT = BY_KEYWORD["ErrorComment"].tag
_PROTOCOL = frozenset(BY_KEYWORD[k].tag for k in PROTOCOL_KEYWORDS)
_UNDEFINED_LENGTH = 0xFFFFFFFF

_AE_ALPHABET = alphabet("AE").replace(" ", "")
_TEXT_ALPHABET = alphabet("LO").replace(" ", "")

_Element = tuple[int, bytes]


@dataclass(frozen=True, slots=True)
class MalformedCommandSet:
    """Command-set bytes broken in one way, with what the decoder must answer and what was broken.

    When ``expected`` is a :class:`~dimse_codec.policy.DiagnosticCode`, a lenient
    :func:`~dimse_codec.decode_command_set` reports exactly that one diagnostic and the decoded
    primitive re-encodes to ``data``; a strict decode raises it as
    :class:`~dimse_codec.errors.PolicyViolation`. When it is an error class, both policies raise
    exactly that class. ``message`` names the message type that was broken (``"C-ECHO-RQ"``).
    """

    data: bytes
    expected: Expected
    defect: str
    message: str = ""

    @property
    def is_error(self) -> bool:
        """Whether the decoder must refuse the bytes rather than decode them with a diagnostic."""
        return not isinstance(self.expected, DiagnosticCode)


# --- element-level editing -----------------------------------------------------------------------


def _split(data: bytes) -> list[_Element]:
    """The elements of a canonical command set after its CommandGroupLength."""
    out: list[_Element] = []
    position = 0
    while position < len(data):
        group, element, length = struct.unpack_from("<HHL", data, position)
        start = position + 8
        out.append(((group << 16) | element, data[start : start + length]))
        position = start + length
    if not out or out[0][0] != _GROUP_LENGTH:
        raise DimseCodecError(
            "a generated command set does not start with CommandGroupLength; "
            "this is a bug in the strategy"
        )
    return out[1:]


def _element(tag: int, value: bytes) -> bytes:
    """One Implicit VR Little Endian element."""
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


def _group_bytes(elements: list[_Element]) -> int:
    """What CommandGroupLength must say: the bytes of the group 0000 elements."""
    return sum(8 + len(v) for t, v in elements if t >> 16 == 0)


def _join(elements: list[_Element], *, group_length: int | None = None) -> bytes:
    """CommandGroupLength (right unless given) followed by the elements, in the order given."""
    declared = _group_bytes(elements) if group_length is None else group_length
    head = _element(_GROUP_LENGTH, struct.pack("<L", declared))
    return head + b"".join(_element(t, v) for t, v in elements)


def _put(elements: list[_Element], tag: int, value: bytes) -> list[_Element]:
    """Set an element's value, inserting it at its place in tag order when it is absent."""
    out = [(t, v) for t, v in elements if t != tag]
    out.append((tag, value))
    out.sort(key=lambda e: e[0])
    return out


def _without(elements: list[_Element], tag: int) -> list[_Element]:
    """The elements without ``tag``."""
    return [(t, v) for t, v in elements if t != tag]


def _us(value: int) -> bytes:
    """A US value."""
    return struct.pack("<H", value)


def _pad(raw: bytes, pad: bytes) -> bytes:
    """Pad a value to even length."""
    return raw + pad if len(raw) % 2 else raw


# --- which messages a defect applies to -----------------------------------------------------------


def _tags_of(spec: MessageSpec, *vrs: str) -> list[int]:
    """The non-protocol elements of ``spec`` with one of the given VRs, in tag order."""
    return sorted(
        tag for tag in spec.allowed_tags if tag not in _PROTOCOL and BY_TAG[tag].vr in vrs
    )


def _mandatory(spec: MessageSpec) -> list[int]:
    """The command elements mandatory (M) in ``spec``."""
    return sorted(
        BY_KEYWORD[p.keyword].tag
        for p in spec.parameters
        if not p.dataset and p.usage(spec.is_request).startswith("M")
    )


def _dataset_mandatory(spec: MessageSpec) -> bool:
    """Whether ``spec`` must carry a data set."""
    return spec.dataset is not None and spec.dataset.usage(spec.is_request).startswith("M")


_SPECS = tuple(sorted(MESSAGES, key=lambda s: (len(s.allowed_tags), s.name)))
"""The 23 message types, those with the fewest elements first (what examples shrink to)."""

_PRIMITIVES: dict[str, st.SearchStrategy[DIMSEPrimitive]] = {}


def _primitives_of(spec: MessageSpec) -> st.SearchStrategy[DIMSEPrimitive]:
    """Valid primitives of one message type (one strategy per type, built once)."""
    if spec.name not in _PRIMITIVES:
        _PRIMITIVES[spec.name] = primitives(spec.service.name, is_request=spec.is_request)
    return _PRIMITIVES[spec.name]


@functools.cache
def _valid_value(tag: int) -> st.SearchStrategy[bytes]:
    """Canonical bytes of a valid value for a (non-retired) command element."""
    spec = BY_TAG[tag]
    values: st.SearchStrategy[Any]
    if tag == _PRIORITY:
        values = st.sampled_from([0, 1, 2])
    elif spec.vr == "US":
        values = st.integers(0, 0xFFFF)
    elif spec.vr == "UI":
        values = _shared(uids)
    elif spec.vr == "AE":
        values = _shared(ae_titles)
    elif spec.vr == "LO":
        values = _shared(error_comments)
    else:
        values = _shared(attribute_tags)
    return values.map(ENCODERS[spec.vr])


_KNOWN_ELEMENT_NUMBERS = frozenset(tag & 0xFFFF for tag in BY_TAG if tag >> 16 == 0)
_RETIRED = tuple(sorted(e.tag for e in ELEMENTS if e.retired))
_PARAMETERS = tuple(sorted(e.tag for e in ELEMENTS if not e.retired and e.tag not in _PROTOCOL))


# --- the defects ---------------------------------------------------------------------------------

_Damage = Callable[[st.DrawFn, MessageSpec, list[_Element]], bytes]


def _boundaries(elements: list[_Element]) -> set[int]:
    """Byte offsets where an element starts or the command set ends."""
    position, found = 12, {0, 12}
    for _, value in elements:
        position += 8 + len(value)
        found.add(position)
    return found


def _cut(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    data = _join(elements)
    edges = _boundaries(elements)
    return data[: draw(st.sampled_from([n for n in range(1, len(data)) if n not in edges]))]


def _overrun(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    index = draw(st.integers(0, len(elements) - 1))
    data = _join(elements)
    start = 12 + sum(8 + len(v) for _, v in elements[:index])
    left = len(data) - start - 8
    length = draw(st.integers(left + 1, _UNDEFINED_LENGTH - 1))
    return data[: start + 4] + struct.pack("<L", length) + data[start + 8 :]


def _undefined(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    index = draw(st.integers(0, len(elements) - 1))
    data = _join(elements)
    start = 12 + sum(8 + len(v) for _, v in elements[:index])
    return data[: start + 4] + struct.pack("<L", _UNDEFINED_LENGTH) + data[start + 8 :]


def _swap_value(tag: int, value: bytes) -> bytes:
    """A value in big-endian byte order (binary VRs swap, text stays)."""
    vr = BY_TAG[tag].vr if tag in BY_TAG else "UN"
    size = {"US": 2, "UL": 4, "AT": 2}.get(vr)
    if size is None:
        return value
    return b"".join(value[i : i + size][::-1] for i in range(0, len(value), size))


def _big_endian(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    everything = [(_GROUP_LENGTH, struct.pack("<L", _group_bytes(elements))), *elements]
    return b"".join(
        struct.pack(">HHL", t >> 16, t & 0xFFFF, len(v)) + _swap_value(t, v) for t, v in everything
    )


def _explicit(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    def encode(tag: int, value: bytes) -> bytes:
        """One Explicit VR Little Endian element (every command VR has a 16-bit length)."""
        vr = BY_TAG[tag].vr.encode("ascii")
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value

    body = b"".join(encode(t, v) for t, v in elements)
    return encode(_GROUP_LENGTH, struct.pack("<L", len(body))) + body


def _group_length_mismatch(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    actual = _group_bytes(elements)
    declared = draw(st.integers(0, 0xFFFFFFFF).filter(lambda n: n != actual))
    return _join(elements, group_length=declared)


def _group_length_missing(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    return b"".join(_element(t, v) for t, v in elements)


def _duplicate(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    index = draw(st.integers(0, len(elements) - 1))
    return _join([*elements[: index + 1], elements[index], *elements[index + 1 :]])


def _out_of_order(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    first = draw(st.integers(0, len(elements) - 2))
    later = draw(st.integers(first + 1, len(elements) - 1))
    moved = list(elements)
    moved.insert(later, moved.pop(first))
    return _join(moved)


def _vm_gt_1(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    us = [t for t, v in elements if t in BY_TAG and BY_TAG[t].vr == "US"]
    if _ERROR_COMMENT in spec.allowed_tags and draw(st.booleans()):
        parts = draw(
            st.lists(st.text(_TEXT_ALPHABET, min_size=1, max_size=10), min_size=2, max_size=3)
        )
        return _join(_put(elements, _ERROR_COMMENT, _pad("\\".join(parts).encode(), b" ")))
    tag = draw(st.sampled_from(us))
    extra = draw(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=3))
    value = dict(elements)[tag] + b"".join(map(_us, extra))
    return _join(_put(elements, tag, value))


def _odd_length(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.sampled_from(_tags_of(spec, "AE", "LO")))
    text = _shared(ae_titles) if BY_TAG[tag].vr == "AE" else _shared(error_comments)
    value = draw(text.filter(lambda t: len(t) % 2 == 1))
    return _join(_put(elements, tag, value.encode("ascii")))


def _odd_uid(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.sampled_from(_tags_of(spec, "UI")))
    value = draw(_shared(uids).filter(lambda u: len(u) % 2 == 1))
    return _join(_put(elements, tag, value.encode("ascii")))


def _at_length(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.sampled_from(_tags_of(spec, "AT")))
    count = draw(st.integers(0, 3))
    return _join(
        _put(elements, tag, draw(st.binary(min_size=4 * count + 2, max_size=4 * count + 2)))
    )


def _empty(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.sampled_from([t for t, _ in elements if t not in _PROTOCOL]))
    return _join(_put(elements, tag, b""))


def _unknown_command_field(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    field = draw(st.integers(0, 0xFFFF).filter(lambda n: n not in MESSAGES_BY_FIELD))
    return _join(_put(elements, _COMMAND_FIELD, _us(field)))


def _missing(tag: int) -> _Damage:
    def damage(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
        """Leave one protocol element out."""
        return _join(_without(elements, tag))

    return damage


def _missing_mandatory(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    return _join(_without(elements, draw(st.sampled_from(_mandatory(spec)))))


def _data_set_unexpected(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    announced = draw(st.integers(0, 0xFFFF).filter(lambda n: n != COMMAND_DATA_SET_TYPE_NULL))
    return _join(_put(elements, _DATA_SET_TYPE, _us(announced)))


def _data_set_missing(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    return _join(_put(elements, _DATA_SET_TYPE, _us(COMMAND_DATA_SET_TYPE_NULL)))


def _unknown_element(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    number = draw(st.integers(1, 0xFFFF).filter(lambda n: n not in _KNOWN_ELEMENT_NUMBERS))
    return _join(_put(elements, number, draw(st.binary(max_size=8))))


def _retired(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    return _join(_put(elements, draw(st.sampled_from(_RETIRED)), draw(st.binary(max_size=8))))


def _not_allowed(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.sampled_from([t for t in _PARAMETERS if t not in spec.allowed_tags]))
    return _join(_put(elements, tag, draw(_valid_value(tag))))


def _other_group(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.integers(1, 0xFFFF)) << 16 | draw(st.integers(0, 0xFFFF))
    return _join([*elements, (tag, draw(st.binary(max_size=8)))])


def _priority(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    return _join(_put(elements, _PRIORITY, _us(draw(st.integers(3, 0xFFFF)))))


def _comment_too_long(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    text = draw(st.text(_TEXT_ALPHABET, min_size=VR_RULES["LO"].max_length + 1, max_size=80))
    return _join(_put(elements, _ERROR_COMMENT, _pad(text.encode(), b" ")))


def _odd_character(draw: st.DrawFn) -> str:
    """A control character (not NUL) or a Latin-1 character beyond ASCII."""
    return draw(
        st.sampled_from([*map(chr, range(0x01, 0x20)), "\x7f", *map(chr, range(0x80, 0x100))])
    )


def _insert_char(draw: st.DrawFn, text: str, char: str) -> str:
    """Put ``char`` somewhere inside ``text``."""
    where = draw(st.integers(0, len(text)))
    return text[:where] + char + text[where:]


def _non_ascii(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
    tag = draw(st.sampled_from(_tags_of(spec, "AE", "LO")))
    if BY_TAG[tag].vr == "AE":
        text = _insert_char(draw, draw(_shared(ae_titles))[:15], _odd_character(draw))
    else:
        high = st.sampled_from([*map(chr, range(0x80, 0x100))])
        text = _insert_char(draw, draw(_shared(error_comments))[:63], draw(high))
    return _join(_put(elements, tag, _pad(text.encode("latin-1"), b" ")))


def _ae(
    draw: st.DrawFn, spec: MessageSpec, elements: list[_Element], code: DiagnosticCode
) -> bytes:
    tag = draw(st.sampled_from(_tags_of(spec, "AE")))
    title = draw(_shared(ae_titles))[:15]
    if code is _D.AE_TOO_LONG:
        too_long = st.text(_AE_ALPHABET, min_size=AE_MAX_LENGTH + 1, max_size=32)
        raw = _pad(draw(too_long).encode(), b" ")
    elif code is _D.AE_BACKSLASH:
        raw = _pad(_insert_char(draw, title, "\\").encode(), b" ")
    elif code is _D.AE_NUL_PADDED:
        raw = _pad(title.encode() + b"\x00", b"\x00")
    else:  # AE_EMPTY: all spaces
        raw = b" " * (2 * draw(st.integers(1, 8)))
    return _join(_put(elements, tag, raw))


def _uid(
    draw: st.DrawFn, spec: MessageSpec, elements: list[_Element], code: DiagnosticCode
) -> bytes:
    tag = draw(st.sampled_from(_tags_of(spec, "UI")))
    uid = draw(uids(max_length=58))
    if code is _D.UID_INVALID:
        flaw = draw(st.sampled_from([".", ".01", "..1", ".x", "-1", "a"]))
        raw = _pad((uid + flaw).encode(), b"\x00")
    elif code is _D.UID_TOO_LONG:
        raw = _pad(("1" + ".1" * draw(st.integers(32, 40))).encode(), b"\x00")
    elif code is _D.UID_NUL_PADDED:
        raw = _pad(uid.encode() + b"\x00\x00", b"\x00")
    else:  # UID_SPACE_PADDED
        raw = (uid + " ").encode() if len(uid) % 2 else (" " + uid + " ").encode()
    return _join(_put(elements, tag, raw))


def _with(damage: Callable[..., bytes], code: DiagnosticCode) -> _Damage:
    def bound(draw: st.DrawFn, spec: MessageSpec, elements: list[_Element]) -> bytes:
        """Apply a damage function parametrised by the code it produces."""
        return damage(draw, spec, elements, code)

    return bound


# --- catalogue -----------------------------------------------------------------------------------


def _every(spec: MessageSpec) -> bool:
    return True


def _has(*vrs: str) -> Callable[[MessageSpec], bool]:
    def applies(spec: MessageSpec) -> bool:
        """Whether the message type may carry an element of one of ``vrs``."""
        return bool(_tags_of(spec, *vrs))

    return applies


def _never_data(spec: MessageSpec) -> bool:
    return spec.dataset is None


def _has_priority(spec: MessageSpec) -> bool:
    return _PRIORITY in spec.allowed_tags


def _has_comment(spec: MessageSpec) -> bool:
    return _ERROR_COMMENT in spec.allowed_tags


_DEFECTS: tuple[tuple[Expected, str, Callable[[MessageSpec], bool], _Damage], ...] = (
    (
        _D.GROUP_LENGTH_MISMATCH,
        "group length disagrees with the group",
        _every,
        _group_length_mismatch,
    ),
    (_D.GROUP_LENGTH_MISSING, "no group length", _every, _group_length_missing),
    (_D.MISSING_COMMAND_FIELD, "no CommandField", _every, _missing(_COMMAND_FIELD)),
    (_D.MISSING_DATA_SET_TYPE, "no CommandDataSetType", _every, _missing(_DATA_SET_TYPE)),
    (_D.MISSING_MANDATORY, "mandatory element left out", _every, _missing_mandatory),
    (_D.UNKNOWN_COMMAND_FIELD, "CommandField names no message", _every, _unknown_command_field),
    (_D.DUPLICATE_TAG, "element repeated", _every, _duplicate),
    (_D.OUT_OF_ORDER, "elements not in ascending tag order", _every, _out_of_order),
    (_D.VM_GT_1, "several values where VM is 1", _every, _vm_gt_1),
    (_D.EMPTY_VALUE, "element with a zero-length value", _every, _empty),
    (_D.ODD_VALUE_LENGTH, "text value of odd length", _has("AE", "LO"), _odd_length),
    (_D.ODD_VALUE_LENGTH, "UID of odd length, not padded", _has("UI"), _odd_uid),
    (_D.BAD_VALUE_LENGTH, "AT value not a multiple of 4 bytes", _has("AT"), _at_length),
    (_D.UNKNOWN_ELEMENT, "unknown (0000,xxxx) element", _every, _unknown_element),
    (_D.RETIRED_ELEMENT, "retired command element", _every, _retired),
    (_D.ELEMENT_NOT_ALLOWED, "element of another message type", _every, _not_allowed),
    (_D.NON_GROUP0_ELEMENT, "element outside group 0000", _every, _other_group),
    (
        _D.DATA_SET_UNEXPECTED,
        "data set announced where none is carried",
        _never_data,
        _data_set_unexpected,
    ),
    (
        _D.DATA_SET_MISSING,
        "no data set announced where one is mandatory",
        _dataset_mandatory,
        _data_set_missing,
    ),
    (_D.VALUE_OUT_OF_RANGE, "Priority out of range", _has_priority, _priority),
    (_D.VALUE_TOO_LONG, "Error Comment over 64 characters", _has_comment, _comment_too_long),
    (_D.NON_ASCII, "control or non-ASCII character in text", _has("AE", "LO"), _non_ascii),
    (_D.AE_TOO_LONG, "AE title over 16 characters", _has("AE"), _with(_ae, _D.AE_TOO_LONG)),
    (_D.AE_BACKSLASH, "backslash in an AE title", _has("AE"), _with(_ae, _D.AE_BACKSLASH)),
    (_D.AE_NUL_PADDED, "AE title padded with NUL", _has("AE"), _with(_ae, _D.AE_NUL_PADDED)),
    (_D.AE_EMPTY, "AE title of spaces only", _has("AE"), _with(_ae, _D.AE_EMPTY)),
    (
        _D.UID_INVALID,
        "UID with invalid characters or components",
        _has("UI"),
        _with(_uid, _D.UID_INVALID),
    ),
    (_D.UID_TOO_LONG, "UID over 64 characters", _has("UI"), _with(_uid, _D.UID_TOO_LONG)),
    (_D.UID_NUL_PADDED, "UID padded with several NULs", _has("UI"), _with(_uid, _D.UID_NUL_PADDED)),
    (_D.UID_SPACE_PADDED, "UID padded with spaces", _has("UI"), _with(_uid, _D.UID_SPACE_PADDED)),
    (_D.EXPLICIT_VR_COMMAND, "Explicit VR encoding", _every, _explicit),
    (TruncatedError, "command set cut inside an element", _every, _cut),
    (TruncatedError, "value length past the end", _every, _overrun),
    (DecodeError, "undefined length", _every, _undefined),
    (DecodeError, "big-endian byte order", _every, _big_endian),
)
"""Every way :func:`malformed_command_sets` breaks a command set: the answer, a name, which
message types it applies to, and the damage."""


def _matches(kind: Expected | str, answer: Expected, defect: str) -> bool:
    """Whether a ``kinds`` entry names this defect: its answer, its name or its code's value."""
    if isinstance(kind, (DiagnosticCode, type)):
        return kind is answer
    return kind == defect or (isinstance(answer, DiagnosticCode) and kind == answer.value)


def _labelled(
    answer: Expected, defect: str, specs: tuple[MessageSpec, ...], damage: _Damage
) -> st.SearchStrategy[MalformedCommandSet]:
    """Draw a valid message of one of ``specs``, damage it, and label the bytes."""

    @st.composite
    def build(draw: st.DrawFn) -> MalformedCommandSet:
        """One labelled example."""
        spec = draw(st.sampled_from(specs))
        elements = _split(encode_command_set(draw(_primitives_of(spec))))
        return MalformedCommandSet(damage(draw, spec, elements), answer, defect, spec.name)

    return build()


def malformed_command_sets(
    kinds: Iterable[Expected | str] | None = None,
) -> st.SearchStrategy[MalformedCommandSet]:
    """Broken command sets with what :func:`~dimse_codec.decode_command_set` must answer.

    Each example breaks one thing in a valid command set (see :class:`MalformedCommandSet`):
    a wrong or missing group length, truncation, a length past the end or undefined, duplicate
    or unsorted tags, several values where VM is 1, odd or bad value lengths, empty values, an
    unknown or missing CommandField, unknown, retired, disallowed or other-group elements, a
    CommandDataSetType that contradicts the message type, a missing mandatory element, bad UIDs
    and AE titles, Priority out of range, an Error Comment too long, non-ASCII text, Explicit
    VR or big-endian encoding. ``kinds`` narrows to some answers (a
    :class:`~dimse_codec.policy.DiagnosticCode` or an error class) or defect names.
    """
    wanted = None if kinds is None else list(kinds)
    chosen = []
    for answer, defect, applies, damage in _DEFECTS:
        if wanted is not None and not any(_matches(k, answer, defect) for k in wanted):
            continue
        specs = tuple(spec for spec in _SPECS if applies(spec))
        chosen.append(_labelled(answer, defect, specs, damage))
    if not chosen:
        known = sorted({d for _, d, _, _ in _DEFECTS})
        raise ValueError(f"no malformed command set matches {wanted}; known: {known}")
    return st.one_of(*chosen)


def damaged_command_sets(
    primitive: DIMSEPrimitive, kinds: Iterable[Expected | str] | None = None
) -> st.SearchStrategy[MalformedCommandSet]:
    """The defects of :func:`malformed_command_sets` applied to one given valid message.

    Mutation instead of generation: ``primitive`` (a real peer's request, say, as a capture
    holds it) is encoded canonically and broken in one way, labelled as
    :func:`malformed_command_sets` labels its examples. ``kinds`` narrows the same way. Raises
    ``ValueError`` when no defect applies, and
    :class:`~dimse_codec.errors.EncodeError` when ``primitive`` is not a valid message.
    """
    spec = message_spec(primitive)
    elements = _split(encode_command_set(primitive, canonical=True))
    wanted = None if kinds is None else list(kinds)
    chosen = [
        _damaged(answer, defect, spec, elements, damage)
        for answer, defect, applies, damage in _DEFECTS
        if applies(spec) and (wanted is None or any(_matches(k, answer, defect) for k in wanted))
    ]
    if not chosen:
        raise ValueError(f"no defect of {wanted} applies to a {spec.name}")
    return st.one_of(*chosen)


def _damaged(
    answer: Expected, defect: str, spec: MessageSpec, elements: list[_Element], damage: _Damage
) -> st.SearchStrategy[MalformedCommandSet]:
    """One defect applied to the elements of a given command set, labelled."""

    @st.composite
    def build(draw: st.DrawFn) -> MalformedCommandSet:
        """One labelled example."""
        return MalformedCommandSet(damage(draw, spec, list(elements)), answer, defect, spec.name)

    return build()
