"""Primitive <-> command-set bytes: ``encode_command_set``, ``decode_command_set`` and the
message-level pair that also carries the data set.

Decoding keeps everything: element order and raw bytes (so an unchanged decoded primitive
re-encodes byte for byte), retired, unknown and other-group elements, and the diagnostics the
policy tolerated. Encoding writes ascending tag order with CommandGroupLength computed, and
derives CommandDataSetType from whether a data set is present (0101H if and only if none).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar, overload

from pydicom.dataset import Dataset
from pydicom.uid import UID

from dimse_codec.dataset.syntax_check import require_transfer_syntax
from dimse_codec.dimse.command_set import (
    HEADER_SIZE,
    RawElement,
    build_element,
    build_explicit_element,
    element_path,
    pack_header,
    parse_elements,
)
from dimse_codec.dimse.primitives import PRIMITIVES, DIMSEPrimitive, UnknownMessage
from dimse_codec.dimse.validation import validate
from dimse_codec.dimse.values import DECODERS, ENCODERS, decode_ul, decode_us, encode_ul, encode_us
from dimse_codec.errors import EncodeError, InvalidParameter, InvalidParameterType
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.elements import BY_KEYWORD, BY_TAG
from dimse_codec.tables.messages import (
    COMMAND_DATA_SET_TYPE_NULL,
    MESSAGES_BY_FIELD,
    MessageSpec,
    Priority,
    message_for,
)
from dimse_codec.tables.quirks import Quirk, QuirkLayer, select_quirks

__all__ = [
    "EncodedMessage",
    "decode_command_set",
    "decode_message",
    "encode_command_set",
    "encode_message",
    "message_spec",
]

_GROUP_LENGTH = 0x00000000
_COMMAND_FIELD = 0x00000100
_DATA_SET_TYPE = 0x00000800
_PROTOCOL_TAGS = frozenset({_GROUP_LENGTH, _COMMAND_FIELD, _DATA_SET_TYPE})

_EMPTY_VALUE: dict[str, Any] = {"UI": UID(""), "AE": "", "LO": "", "AT": (), "US": None, "UL": None}
"""What a zero-length element of each VR decodes to (present and empty)."""


_COMMAND_FIELD_SLOT = "<CommandField>"
_DATA_SET_TYPE_SLOT = "<CommandDataSetType>"


class _Plan(NamedTuple):
    """Per primitive class: elements in ascending tag order as (tag, keyword, slot, encoder).

    CommandField and CommandDataSetType sit in the plan under marker slots, so encoding a
    message without extra elements needs no sort.
    """

    entries: tuple[tuple[int, str, str, Any], ...]
    keywords: frozenset[str]


def _plan(cls: type[DIMSEPrimitive]) -> _Plan:
    entries: list[tuple[int, str, str, Any]] = [
        (_COMMAND_FIELD, "CommandField", _COMMAND_FIELD_SLOT, None),
        (_DATA_SET_TYPE, "CommandDataSetType", _DATA_SET_TYPE_SLOT, None),
    ]
    for keyword in cls.PARAMETERS:
        if keyword in cls.DATASET_PARAMETERS:
            continue
        spec = BY_KEYWORD[keyword]
        entries.append((spec.tag, keyword, "_" + keyword, ENCODERS[spec.vr]))
    entries.sort(key=_first)
    return _Plan(tuple(entries), frozenset(cls.PARAMETERS))


def _first(entry: tuple[int, str, str, Any]) -> int:
    return entry[0]


_PLANS: dict[type[DIMSEPrimitive], _Plan] = {cls: _plan(cls) for cls in PRIMITIVES.values()}


class EncodedMessage(NamedTuple):
    """A message ready for P-DATA framing: command-set bytes and the data set (if any)."""

    command_set: bytes
    dataset: bytes | memoryview | None
    spec: MessageSpec


# -- decoding ------------------------------------------------------------------------------------


def decode_command_set(
    data: bytes | bytearray | memoryview, *, policy: Policy = LENIENT
) -> DIMSEPrimitive:
    """Decode command-set bytes into the primitive its CommandField names.

    The direction comes from CommandField. Lenient (the default) returns the primitive with its
    ``diagnostics``; strict raises :class:`~dimse_codec.errors.PolicyViolation` on the first
    problem. An unknown or missing CommandField gives an :class:`UnknownMessage` that keeps every
    element. Only :class:`~dimse_codec.errors.DimseCodecError` is ever raised.

    A command set longer than ``policy.limits.max_command_set_length`` (64 KiB; PS3.7 6.3 command
    sets are a few hundred bytes) raises :class:`~dimse_codec.errors.LimitExceeded` when strict;
    lenient, it is reported as ``LIMIT_EXCEEDED``, only the elements within the limit are
    decoded, and the rest stays in the primitive's source bytes (an unchanged primitive still
    re-encodes to all of them). Diagnostics are capped at ``policy.limits.max_diagnostics``.
    """
    raw = data if isinstance(data, bytes) else bytes(data)
    diagnostics: list[Diagnostic] = []
    elements, explicit = parse_elements(raw, policy, diagnostics)

    # one pass: order, duplicates, value decoding; ascending tags cannot repeat, so the
    # duplicate check runs only when a tag is not above the highest seen so far
    extras: list[RawElement] = []
    extra_tags: set[int] = set()  # so a repeated tag is found in O(1), not by scanning extras
    values: dict[str, Any] = {}  # slot -> decoded value
    empty: list[str] = []
    protocol: dict[int, tuple[int, bytes]] = {}
    other_groups = False
    highest = -1
    for tag, offset, value in elements:
        if tag > highest:
            highest = tag
        elif _repeated(tag, values, protocol, extra_tags):
            policy.report(
                diagnostics,
                DiagnosticCode.DUPLICATE_TAG,
                "tag already present; the first is used, this one is kept as an extra element",
                offset,
                _path(tag),
            )
            extras.append(RawElement(tag, offset, value))
            continue
        else:
            policy.report(
                diagnostics,
                DiagnosticCode.OUT_OF_ORDER,
                "elements are not in ascending tag order",
                offset,
                _path(tag),
            )
        info = _DISPATCH.get(tag)
        if info is _PROTOCOL:
            protocol[tag] = (offset, value)
            continue
        if info is None:
            code = _unusable(tag, BY_TAG.get(tag))
            if code is not None:
                policy.report(diagnostics, code[0], code[1], offset, _path(tag))
            if tag >> 16:
                other_groups = True
            extras.append(RawElement(tag, offset, value))
            extra_tags.add(tag)
            continue
        slot, decoder, vr = info
        size = len(value)
        if size == 2 and vr == "US":
            values[slot] = value[0] | (value[1] << 8)
        elif vr == "UI" and (known := _UIDS.get(value)) is not None:
            values[slot] = known  # a canonical UID seen before (SOP Classes repeat)
        elif vr == "UI" and 0 < size <= 64 and not size & 1 and _CANONICAL_UID(value):
            # the common case, fully checked by one regex: digits and dots, one NUL pad at most
            uid = values[slot] = _new_uid(UID, value.rstrip(b"\x00").decode("ascii"))
            if len(_UIDS) >= _MAX_UIDS:
                _UIDS.clear()
            _UIDS[value] = uid
        elif size and not size & 1:
            result = decoder(value, offset, tag, policy, diagnostics)
            values[slot] = tuple(result) if vr == "AT" else result
        elif size:
            policy.report(
                diagnostics,
                DiagnosticCode.ODD_VALUE_LENGTH,
                f"odd value length {size}",
                offset,
                _path(tag),
            )
            result = decoder(value, offset, tag, policy, diagnostics)
            values[slot] = tuple(result) if vr == "AT" else result
        else:
            policy.report(
                diagnostics,
                DiagnosticCode.EMPTY_VALUE,
                "present with a zero-length value",
                offset,
                _path(tag),
            )
            values[slot] = _EMPTY_VALUE[vr]
            if values[slot] is None:  # no typed empty value: remember "present and empty"
                empty.append(slot[1:])

    group_length = protocol.get(_GROUP_LENGTH)
    if (
        explicit
        or other_groups
        or (group_length is not None and group_length[0] != 0)
        or len(raw) > policy.limits.max_command_set_length  # only its head was split
    ):
        group_bytes = _group_bytes(elements, raw, explicit)
    else:  # implicit, group 0000 only, group length first: the rest of the buffer
        group_bytes = len(raw) - (HEADER_SIZE + len(group_length[1]) if group_length else 0)
    if (
        group_length is None
        or len(group_length[1]) != 4
        or int.from_bytes(group_length[1], "little") != group_bytes
    ):
        _check_group_length(group_length, group_bytes, policy, diagnostics)
    field_entry = protocol.get(_COMMAND_FIELD)
    spec = (
        MESSAGES_BY_FIELD.get(field_entry[1][0] | field_entry[1][1] << 8)
        if field_entry is not None and len(field_entry[1]) == 2
        else None
    )
    command_field = spec.command_field if spec is not None else None
    if spec is None:
        spec, command_field = _message_type(field_entry, policy, diagnostics)

    if spec is None:
        unknown = UnknownMessage.__new__(UnknownMessage)
        state = unknown.__dict__
        state.update(UnknownMessage._TEMPLATE)
        state["_command_field"] = command_field
        announced = protocol.get(_DATA_SET_TYPE)
        if announced is not None and len(announced[1]) == 2:
            # whether a data set follows, so a stream keeps it with the unknown message
            state["_cds"] = announced[1][0] | announced[1][1] << 8
        state["_extras"] = tuple(RawElement(t, o, v) for t, o, v in elements)
        state["_source"] = raw
        state["_diagnostics"] = _in_wire_order(diagnostics)
        return unknown

    cls = PRIMITIVES[spec.service.name]
    primitive = cls.__new__(cls)
    state = primitive.__dict__
    state.update(cls._TEMPLATE)
    if not _ALLOWED_SLOTS[spec.command_field].issuperset(values):
        _disallowed(spec, cls, elements, values, empty, extras, policy, diagnostics)
    priority = values.get("_Priority")
    if priority is not None and priority > 2:
        policy.report(
            diagnostics,
            DiagnosticCode.VALUE_OUT_OF_RANGE,
            f"Priority {priority} is none of LOW (2), MEDIUM (0), HIGH (1)",
            _offset(elements, 0x00000700),
            _path(0x00000700),
        )
    state.update(values)

    entry = protocol.get(_DATA_SET_TYPE)
    data_set_type: int | None = None
    if entry is not None and len(entry[1]) == 2:
        data_set_type = entry[1][0] | entry[1][1] << 8
        if data_set_type == COMMAND_DATA_SET_TYPE_NULL:
            if spec.command_field not in _NEVER_MANDATORY:
                data_set_type = _data_set_type(entry, spec, policy, diagnostics)
        elif spec.dataset is None:  # a data set announced where none can follow
            data_set_type = _data_set_type(entry, spec, policy, diagnostics)
    else:
        data_set_type = _data_set_type(entry, spec, policy, diagnostics)
    mandatory = _MANDATORY[spec.command_field]
    if not values.keys() >= mandatory:
        for slot in sorted(mandatory - values.keys()):
            policy.report(
                diagnostics,
                DiagnosticCode.MISSING_MANDATORY,
                f"{slot[1:]} is mandatory in {spec.name}",
                None,
                "command set",
            )
    state["_cds"] = data_set_type
    state["_spec"] = spec
    if empty:
        state["_empty"] = frozenset(empty)
    if extras:
        extras.sort(key=_offset_of)
        state["_extras"] = tuple(extras)
    if diagnostics:
        state["_diagnostics"] = _in_wire_order(diagnostics)
    state["_source"] = raw
    return primitive


def _in_wire_order(diagnostics: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Diagnostics sorted by byte offset; message-level ones (no offset) last, stable."""
    return tuple(sorted(diagnostics, key=_wire_position))


def _wire_position(diagnostic: Diagnostic) -> int:
    return diagnostic.offset if diagnostic.offset is not None else 1 << 62


_CANONICAL_UID = re.compile(rb"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*\x00?").fullmatch
"""A UI value in canonical form: a valid UID (PS3.5 9.1) with at most its one NUL pad."""

_new_uid = str.__new__

_UIDS: dict[bytes, UID] = {}
"""Canonical UI values already decoded, by their bytes (a UID is immutable, so shared)."""
_MAX_UIDS = 4096
_pack_header = pack_header


_PROTOCOL: tuple[str, Any, str] = ("", None, "")
"""Marker in :data:`_DISPATCH` for the protocol elements (group length, field, data set type)."""

_DISPATCH: dict[int, tuple[str, Any, str]] = {
    spec.tag: ("_" + spec.keyword, DECODERS[spec.vr], spec.vr)
    for spec in BY_TAG.values()
    if not spec.retired and spec.tag not in _PROTOCOL_TAGS and spec.vr in DECODERS
}
_DISPATCH.update(dict.fromkeys(_PROTOCOL_TAGS, _PROTOCOL))
"""Per tag: slot, value decoder and VR of each element that is a primitive parameter."""


def _disallowed(
    spec: MessageSpec,
    cls: type[DIMSEPrimitive],
    elements: list[tuple[int, int, bytes]],
    values: dict[str, Any],
    empty: list[str],
    extras: list[RawElement],
    policy: Policy,
    diagnostics: list[Diagnostic],
) -> None:
    """Report elements that are not fields of this message; keep those the primitive lacks raw."""
    keywords = _PLANS[cls].keywords
    allowed = _ALLOWED_SLOTS[spec.command_field]
    for slot in [slot for slot in values if slot not in allowed]:
        tag = BY_KEYWORD[slot[1:]].tag
        offset = _offset(elements, tag)
        policy.report(
            diagnostics,
            DiagnosticCode.ELEMENT_NOT_ALLOWED,
            f"not a field of {spec.name}",
            offset,
            _path(tag),
        )
        if slot[1:] not in keywords:
            raw = next(v for t, o, v in elements if o == offset)
            extras.append(RawElement(tag, offset or 0, raw))
            del values[slot]
            if slot[1:] in empty:
                empty.remove(slot[1:])


def _offset(elements: list[tuple[int, int, bytes]], tag: int) -> int | None:
    """Offset of the first element with this tag."""
    return next((o for t, o, _ in elements if t == tag), None)


def _repeated(
    tag: int, values: dict[str, Any], protocol: dict[int, Any], extra_tags: set[int]
) -> bool:
    """Whether a tag was already met (called only when tags stop ascending)."""
    info = _DISPATCH.get(tag)
    if info is not None and info is not _PROTOCOL:
        return info[0] in values
    return tag in protocol or tag in extra_tags


def _group_bytes(elements: list[tuple[int, int, bytes]], raw: bytes, explicit: bool) -> int:
    """Bytes of group 0000 after CommandGroupLength, element by element."""
    total = 0
    for index, element in enumerate(elements):
        tag = element[0]
        if tag >> 16 == 0 and tag != _GROUP_LENGTH:
            total += _size(elements, index, raw, explicit)
    return total


_ALLOWED_SLOTS: dict[int, frozenset[str]] = {
    spec.command_field: frozenset("_" + BY_TAG[tag].keyword for tag in spec.allowed_tags)
    for spec in MESSAGES_BY_FIELD.values()
}
"""Per CommandField: the parameter slots whose elements may appear in that message."""

_MANDATORY: dict[int, frozenset[str]] = {
    spec.command_field: frozenset(
        "_" + p.keyword
        for p in spec.parameters
        if not p.dataset and p.usage(spec.is_request).startswith("M")
    )
    for spec in MESSAGES_BY_FIELD.values()
}
"""Per CommandField: the slots of the command elements mandatory in that message."""


_NEVER_MANDATORY = frozenset(
    spec.command_field
    for spec in MESSAGES_BY_FIELD.values()
    if spec.dataset is None or not spec.dataset.usage(spec.is_request).startswith("M")
)
"""Messages for which "no data set" (0101H) needs no diagnostic."""


def _size(elements: list[tuple[int, int, bytes]], index: int, raw: bytes, explicit: bool) -> int:
    """Bytes an element occupies (header and value) in the stream."""
    if not explicit:
        return HEADER_SIZE + len(elements[index][2])
    stop = elements[index + 1][1] if index + 1 < len(elements) else len(raw)
    return stop - elements[index][1]


def _offset_of(element: RawElement) -> int:
    return element.offset


_path = element_path


def _unusable(tag: int, element: Any) -> tuple[DiagnosticCode, str] | None:
    """Why an element cannot become a primitive parameter, if it cannot."""
    if tag >> 16:
        return DiagnosticCode.NON_GROUP0_ELEMENT, "element outside group 0000 in a command set"
    if element is None:
        return DiagnosticCode.UNKNOWN_ELEMENT, "not in the PS3.7 command dictionary"
    if element.retired:
        return DiagnosticCode.RETIRED_ELEMENT, "retired command element (PS3.7 Annex E.2)"
    return None


def _check_group_length(
    entry: tuple[int, bytes] | None,
    group_bytes: int,
    policy: Policy,
    diagnostics: list[Diagnostic],
) -> None:
    if entry is None:
        policy.report(
            diagnostics,
            DiagnosticCode.GROUP_LENGTH_MISSING,
            "no CommandGroupLength (0000,0000)",
            0,
            "command set",
        )
        return
    offset, value = entry
    if len(value) == 4:
        declared: int | None = value[0] | value[1] << 8 | value[2] << 16 | value[3] << 24
    else:
        declared = decode_ul(value, offset, _GROUP_LENGTH, policy, diagnostics)
    if declared != group_bytes:
        policy.report(
            diagnostics,
            DiagnosticCode.GROUP_LENGTH_MISMATCH,
            f"CommandGroupLength says {declared}, the group holds {group_bytes} bytes",
            offset,
            _path(_GROUP_LENGTH),
        )


def _message_type(
    entry: tuple[int, bytes] | None, policy: Policy, diagnostics: list[Diagnostic]
) -> tuple[MessageSpec | None, int | None]:
    if entry is None:
        policy.report(
            diagnostics,
            DiagnosticCode.MISSING_COMMAND_FIELD,
            "no CommandField (0000,0100); the message type is unknown",
            None,
            "command set",
        )
        return None, None
    offset, value = entry
    if len(value) == 2:
        field: int | None = value[0] | value[1] << 8
    else:
        field = decode_us(value, offset, _COMMAND_FIELD, policy, diagnostics)
    spec = MESSAGES_BY_FIELD.get(field) if field is not None else None
    if spec is None:
        shown = "empty" if field is None else f"{field:04X}H"
        policy.report(
            diagnostics,
            DiagnosticCode.UNKNOWN_COMMAND_FIELD,
            f"CommandField {shown} names no DIMSE message",
            offset,
            _path(_COMMAND_FIELD),
        )
    return spec, field


def _data_set_type(
    entry: tuple[int, bytes] | None,
    spec: MessageSpec,
    policy: Policy,
    diagnostics: list[Diagnostic],
) -> int | None:
    if entry is None:
        policy.report(
            diagnostics,
            DiagnosticCode.MISSING_DATA_SET_TYPE,
            "no CommandDataSetType (0000,0800)",
            None,
            "command set",
        )
        return None
    offset, value = entry
    if len(value) == 2:
        announced: int | None = value[0] | value[1] << 8
    else:
        announced = decode_us(value, offset, _DATA_SET_TYPE, policy, diagnostics)
    if announced is None:
        return None
    if announced != COMMAND_DATA_SET_TYPE_NULL and spec.dataset is None:
        policy.report(
            diagnostics,
            DiagnosticCode.DATA_SET_UNEXPECTED,
            f"CommandDataSetType {announced:04X}H announces a data set, "
            f"but {spec.name} never carries one",
            offset,
            _path(_DATA_SET_TYPE),
        )
    elif (
        announced == COMMAND_DATA_SET_TYPE_NULL
        and spec.dataset is not None
        and spec.dataset.usage(spec.is_request).startswith("M")
    ):
        policy.report(
            diagnostics,
            DiagnosticCode.DATA_SET_MISSING,
            f"{spec.name} requires a data set ({spec.dataset.keyword}) but "
            "CommandDataSetType is 0101H",
            offset,
            _path(_DATA_SET_TYPE),
        )
    return announced


def decode_message(
    command_set: bytes | bytearray | memoryview,
    dataset: bytes | memoryview | None = None,
    *,
    policy: Policy = LENIENT,
) -> DIMSEPrimitive:
    """Decode a whole message: the command set, and the data set bytes that followed it.

    The data set bytes are attached, unchanged and uncopied, to the parameter the message type
    carries (``ActionReply`` for N-ACTION-RSP, ``Identifier`` for C-FIND-RQ ...). A data set on a
    message type that never carries one is kept in ``unexpected_dataset`` and reported.
    """
    primitive = decode_command_set(command_set, policy=policy)
    if dataset is None:
        return primitive
    return attach_dataset(primitive, dataset, policy=policy)


def attach_dataset(
    primitive: DIMSEPrimitive, dataset: bytes | memoryview, *, policy: Policy = LENIENT
) -> DIMSEPrimitive:
    """Attach the data set that followed a decoded command set, as :func:`decode_message` does.

    A stream reassembler decodes the command set as soon as its last fragment arrives (to learn
    whether a data set follows) and calls this when the data set is complete; the primitive is
    updated in place and returned.
    """
    spec = primitive.message_spec
    state = primitive.__dict__
    diagnostics = list(primitive.diagnostics)
    if spec is None:
        # an unknown CommandField (already reported) that announced a data set: it is its own
        state["_unexpected_dataset"] = dataset
    elif spec.dataset is None:
        policy.report(
            diagnostics,
            DiagnosticCode.DATA_SET_UNEXPECTED,
            f"{len(dataset)}-byte data set after a message that never carries one; "
            "kept as unexpected_dataset",
            None,
            "data set",
        )
        state["_unexpected_dataset"] = dataset
    else:
        if primitive.command_data_set_type == COMMAND_DATA_SET_TYPE_NULL:
            policy.report(
                diagnostics,
                DiagnosticCode.DATA_SET_UNEXPECTED,
                "a data set followed although CommandDataSetType is 0101H",
                None,
                "data set",
            )
        state["_" + spec.dataset.keyword] = dataset
    state["_diagnostics"] = tuple(diagnostics)
    return primitive


# -- encoding ------------------------------------------------------------------------------------


class _NoDefault(enum.Enum):
    NO_DEFAULT = enum.auto()


_T = TypeVar("_T")


@overload
def message_spec(primitive: DIMSEPrimitive, is_request: bool | None = None) -> MessageSpec: ...


@overload
def message_spec(
    primitive: DIMSEPrimitive, is_request: bool | None = None, *, default: _T
) -> MessageSpec | _T: ...


def message_spec(
    primitive: DIMSEPrimitive,
    is_request: bool | None = None,
    *,
    default: Any = _NoDefault.NO_DEFAULT,
) -> Any:
    """The message type a primitive encodes as (PS3.7 9.3 and 10.3).

    Explicit ``is_request`` wins; otherwise a decoded primitive keeps its message type, and a
    hand-built one is a response when MessageIDBeingRespondedTo is set (C-CANCEL is always a
    request). When there is no such message type (an :class:`UnknownMessage`, or a C-CANCEL
    response) it returns ``default`` if one is given, else raises
    :class:`~dimse_codec.errors.EncodeError`; ``message_spec(p, is_request, default=None)`` is
    the lookup the deprecated ``validation.message_spec_for`` did.
    """
    service = primitive.SERVICE
    if service is None:
        if default is not _NoDefault.NO_DEFAULT:
            return default
        raise EncodeError(f"{type(primitive).__name__} has no DIMSE message type")
    if is_request is None:
        decoded = primitive.message_spec
        if decoded is not None:
            return decoded
        is_request = (
            service.response_field is None
            or primitive.__dict__.get("_MessageIDBeingRespondedTo") is None
        )
    spec = message_for(service, is_request)
    if spec is None:
        if default is not _NoDefault.NO_DEFAULT:
            return default
        raise EncodeError(f"{service.name} has no response message", path=service.name)
    return spec


def encode_command_set(
    primitive: DIMSEPrimitive,
    *,
    is_request: bool | None = None,
    canonical: bool = False,
    check: bool = True,
    quirks: Iterable[Quirk] = (),
    omit: Iterable[str] = (),
) -> bytes:
    """Encode a primitive's command set as Implicit VR Little Endian bytes.

    A decoded primitive nobody changed re-encodes to exactly the bytes it came from, unless
    ``canonical`` asks for standard output (ascending tags, recomputed group length, minimal
    padding). ``check`` refuses a primitive that is not a valid request/response for its message
    type, with the reasons; pass ``check=False`` to put an invalid message on the wire on purpose.

    ``quirks`` reproduces real peers' deviations on purpose (the command-set ones of
    :data:`~dimse_codec.tables.quirks.CATALOGUE`; a quirk of another layer raises
    :class:`~dimse_codec.errors.InvalidParameter`). ``omit`` names command elements to leave out
    (by keyword, :attr:`~dimse_codec.tables.quirks.Quirk.MISSING_ELEMENTS`). The primitive is
    checked first, then the quirks bend its encoding; a quirk that does not concern this message
    type changes nothing, and with quirks a decoded primitive is re-encoded, not copied.
    """
    deviation = _deviation(quirks, omit, "encode_command_set") if quirks or omit else None
    state = primitive.__dict__
    source = state["_source"]
    if isinstance(primitive, UnknownMessage):
        if deviation is not None:
            return _encode_deviant(primitive, None, deviation)
        if source is not None and not canonical:
            return bytes(source)
        return _encode_unknown(primitive)
    spec = message_spec(primitive, is_request)
    if deviation is None and source is not None and not canonical and spec is state["_spec"]:
        return bytes(source)
    if check:
        verdict = validate(primitive, spec.is_request)
        if not verdict:
            raise EncodeError(
                f"not a valid {spec.name}: {'; '.join(verdict.reasons)}", path=spec.name
            )
    if deviation is not None:
        return _encode_deviant(primitive, spec, deviation)
    return _encode(primitive, spec)


# -- quirks (real peers' deviations, on purpose) -------------------------------------------------

_COMMAND_SET_LAYER = frozenset({QuirkLayer.COMMAND_SET})
_PRIORITY = BY_KEYWORD["Priority"].tag
_PADDED_AE_TAGS = frozenset(
    spec.tag for spec in BY_TAG.values() if spec.vr == "AE" and not spec.retired
)
_AE_PADDED_LENGTH = 16


class _Deviation(NamedTuple):
    """The command-set quirks asked for, with the tags to leave out resolved."""

    quirks: frozenset[Quirk]
    omit: frozenset[int]


def _deviation(quirks: Iterable[Quirk], omit: Iterable[str], where: str) -> _Deviation | None:
    """Check ``quirks`` and ``omit``; MISSING_PRIORITY and ``omit`` become tags to leave out.

    ``None`` when both are empty, so the conformant encoder (and its byte-exact re-encoding of
    decoded primitives) is used.
    """
    chosen = select_quirks(quirks, _COMMAND_SET_LAYER, where)
    if isinstance(omit, (str, bytes)):
        raise InvalidParameterType(
            f"{where}: omit must be a collection of element keywords, not a single "
            f"{type(omit).__name__}",
            path="omit",
        )
    tags = set()
    for keyword in omit:
        element = BY_KEYWORD.get(keyword) if isinstance(keyword, str) else None
        if element is None:
            raise InvalidParameter(
                f"{where}: omit names {keyword!r}, which is no command element keyword",
                path="omit",
            )
        tags.add(element.tag)
    if tags:
        chosen |= {Quirk.MISSING_ELEMENTS}
    elif Quirk.MISSING_ELEMENTS in chosen:
        raise InvalidParameter(
            f"{where}: MISSING_ELEMENTS needs the elements to leave out, "
            "e.g. omit={'AffectedSOPClassUID'}",
            path="omit",
        )
    if Quirk.MISSING_PRIORITY in chosen:
        tags.add(_PRIORITY)
    if not chosen:
        return None
    return _Deviation(chosen, frozenset(tags))


def _encode_deviant(
    primitive: DIMSEPrimitive, spec: MessageSpec | None, deviation: _Deviation
) -> bytes:
    """Encode as :func:`_encode` would (extras kept, ascending tags), then apply the quirks."""
    state = primitive.__dict__
    fields: list[tuple[int, bytes]] = [(e.tag, e.value) for e in state["_extras"]]
    if spec is None:  # an unknown message: its elements are all extras
        fields = [field for field in fields if field[0] != _GROUP_LENGTH]
    else:
        empty = state["_empty"]
        for tag, keyword, slot, encoder in _PLANS[type(primitive)].entries:
            if slot is _COMMAND_FIELD_SLOT:
                raw = encode_us(spec.command_field)
            elif slot is _DATA_SET_TYPE_SLOT:
                raw = encode_us(_data_set_type_for(primitive, spec))
            else:
                value = state[slot]
                if value is not None:
                    raw = encoder(value)
                elif empty and keyword in empty:
                    raw = b""
                else:
                    continue
            fields.append((tag, raw))
    quirks = deviation.quirks
    if (
        Quirk.PRIORITY_WHERE_NOT_ALLOWED in quirks
        and spec is not None
        and spec.is_request
        and _PRIORITY not in spec.allowed_tags
        and all(tag != _PRIORITY for tag, _ in fields)
    ):
        fields.append((_PRIORITY, encode_us(Priority.MEDIUM)))
    if Quirk.PADDED_AE_TITLES in quirks:
        fields = [
            (tag, _padded_ae(raw)) if tag in _PADDED_AE_TAGS else (tag, raw) for tag, raw in fields
        ]
    if deviation.omit:
        fields = [field for field in fields if field[0] not in deviation.omit]
    fields.sort(key=_tag_of)
    explicit = Quirk.EXPLICIT_VR_COMMAND_SET in quirks
    if explicit:
        body = [build_explicit_element(tag, _explicit_vr(tag), raw) for tag, raw in fields]
    else:
        body = [build_element(tag, raw) for tag, raw in fields]
    if _GROUP_LENGTH in deviation.omit:
        return b"".join(body)
    group = encode_ul(
        sum(len(part) for (tag, _), part in zip(fields, body, strict=True) if tag >> 16 == 0)
    )
    head = (
        build_explicit_element(_GROUP_LENGTH, "UL", group)
        if explicit
        else build_element(_GROUP_LENGTH, group)
    )
    return head + b"".join(body)


def _padded_ae(raw: bytes) -> bytes:
    """An AE value padded with spaces to 16 bytes, as some peers send it (empty stays empty)."""
    if not raw:
        return raw
    return raw.rstrip(b" ").ljust(_AE_PADDED_LENGTH, b" ")


def _explicit_vr(tag: int) -> str:
    """The VR an Explicit VR command set gives a tag: the registry's, or UN when unknown."""
    element = BY_TAG.get(tag)
    if element is None or tag >> 16:
        return "UN"
    return element.vr


def _data_set_type_for(primitive: DIMSEPrimitive, spec: MessageSpec) -> int:
    state = primitive.__dict__
    announced = state["_cds"]
    present = spec.dataset is not None and state["_" + spec.dataset.keyword] is not None
    if present:
        if announced is None or announced == COMMAND_DATA_SET_TYPE_NULL:
            return 0x0001
        return int(announced)
    if announced is not None and announced != COMMAND_DATA_SET_TYPE_NULL:
        return int(announced)
    return COMMAND_DATA_SET_TYPE_NULL


def _encode(primitive: DIMSEPrimitive, spec: MessageSpec) -> bytes:
    state = primitive.__dict__
    empty = state["_empty"]
    extras = state["_extras"]
    command_field = encode_us(spec.command_field)
    data_set_type = encode_us(_data_set_type_for(primitive, spec))
    if extras:
        fields: list[tuple[int, bytes]] = [(e.tag, e.value) for e in extras]
    else:
        fields = []
    parts: list[bytes] = []
    group = 0
    pack = _pack_header
    for tag, keyword, slot, encoder in _PLANS[type(primitive)].entries:
        if slot is _COMMAND_FIELD_SLOT:
            raw = command_field
        elif slot is _DATA_SET_TYPE_SLOT:
            raw = data_set_type
        else:
            value = state[slot]
            if value is not None:
                raw = encoder(value)
            elif empty and keyword in empty:
                raw = b""
            else:
                continue
        if extras:
            fields.append((tag, raw))
            continue
        parts.append(pack(0, tag & 0xFFFF, len(raw)))
        parts.append(raw)
        group += HEADER_SIZE + len(raw)
    if extras:
        return _assemble(fields)
    return pack(0, 0, 4) + encode_ul(group) + b"".join(parts)


def _encode_unknown(message: UnknownMessage) -> bytes:
    fields = [
        (extra.tag, extra.value) for extra in message.extra_elements if extra.tag != _GROUP_LENGTH
    ]
    return _assemble(fields)


def _assemble(fields: list[tuple[int, bytes]]) -> bytes:
    """Sort elements by tag, prepend CommandGroupLength over group 0000, and join."""
    fields.sort(key=_tag_of)
    body = [build_element(tag, value) for tag, value in fields]
    group = sum(len(part) for (tag, _), part in zip(fields, body, strict=False) if tag >> 16 == 0)
    return build_element(_GROUP_LENGTH, encode_ul(group)) + b"".join(body)


def _tag_of(field: tuple[int, bytes]) -> int:
    return field[0]


def encode_message(
    primitive: DIMSEPrimitive,
    *,
    is_request: bool | None = None,
    canonical: bool = False,
    check: bool = True,
    quirks: Iterable[Quirk] = (),
    omit: Iterable[str] = (),
    as_is: bool = False,
) -> EncodedMessage:
    """Encode a primitive as a whole message: command-set bytes plus its data set bytes.

    The data set is the parameter this message type carries (a ``Dataset`` is encoded in the
    primitive's ``transfer_syntax``; bytes and memoryviews pass through uncopied). ``quirks``
    and ``omit`` bend the command set as in :func:`encode_command_set`.

    A ``Dataset`` that cannot be sent faithfully in ``transfer_syntax`` (encapsulated pixel data
    in a native syntax, another compression, values read in the other byte order: see
    :func:`~dimse_codec.dataset.check_transfer_syntax`) raises
    :class:`~dimse_codec.errors.TransferSyntaxMismatch`, unless ``as_is`` says to send it so on
    purpose. Bytes are the caller's own encoding and are not checked.
    """
    spec = message_spec(primitive, is_request)
    command = encode_command_set(
        primitive,
        is_request=spec.is_request,
        canonical=canonical,
        check=check,
        quirks=quirks,
        omit=omit,
    )
    dataset = None
    if spec.dataset is not None:
        keyword = spec.dataset.keyword
        value = primitive.payload(keyword)
        if isinstance(value, Dataset) and not as_is:
            require_transfer_syntax(value, primitive.transfer_syntax)
        dataset = primitive.payload_bytes(keyword)
    return EncodedMessage(command, dataset, spec)
