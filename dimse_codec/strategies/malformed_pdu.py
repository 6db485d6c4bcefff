"""Hypothesis strategies for malformed PS3.8 PDU bytes, each with what the decoder must answer.

:func:`malformed_pdu_bytes` breaks one thing in a small valid PDU from
:mod:`dimse_codec.strategies.pdu` (a length, a reserved field, a code, an item's place or value)
so that a failing example shrinks to a short, readable input. ``_flaws`` is the catalogue: every
way of breaking a PDU, paired with the one diagnostic code or error class the decoder must answer.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from dimse_codec.errors import DecodeError, TruncatedError
from dimse_codec.pdu import (
    AAbort,
    AAssociateRQ,
    AbortSource,
    AbstractSyntaxSubItem,
    ApplicationContextItem,
    AReleaseRP,
    AReleaseRQ,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    ItemType,
    PDataTF,
    PDUType,
    PresentationContextResult,
    RejectSource,
    SOPClassCommonExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UnknownItem,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    encode_pdu,
)
from dimse_codec.policy import DiagnosticCode
from dimse_codec.strategies.pdu import (
    _REJECT_REASONS,
    _VERSION_ALPHABET,
    Expected,
    _bytes_0_255,
    _shared,
    _unknown_item_types,
    _version_names,
    aborts,
    abstract_syntax_items,
    associate_acs,
    associate_rjs,
    associate_rqs,
    asynchronous_operations_window_items,
    common_extended_negotiation_items,
    maximum_length_items,
    p_data_tfs,
    pdus,
    presentation_context_ac_items,
    presentation_context_rq_items,
    release_rps,
    release_rqs,
    role_selection_items,
    transfer_syntax_items,
    unknown_pdus,
    user_identity_ac_items,
    user_identity_rq_items,
)
from dimse_codec.strategies.primitives import ae_titles, uids

__all__ = ["MalformedPDU", "malformed_pdu_bytes"]


@dataclass(frozen=True, slots=True)
class MalformedPDU:
    """Bytes of one PDU broken in one way, with what the decoder must answer and what was broken.

    When ``expected`` is a :class:`~dimse_codec.policy.DiagnosticCode`, a lenient decode reports
    exactly that one diagnostic and re-encodes to ``data``; strict raises it as a
    :class:`~dimse_codec.errors.PolicyViolation`, or reports it too when PS3.8 says not to test
    it (:data:`~dimse_codec.policy.IGNORED_BY_THE_STANDARD`). When it is an error class, both
    policies raise exactly that class.
    """

    data: bytes
    expected: Expected
    flaw: str

    @property
    def is_error(self) -> bool:
        """Whether the decoder must refuse the bytes rather than decode them with a diagnostic."""
        return not isinstance(self.expected, DiagnosticCode)


_ASSOCIATE_TYPES = (PDUType.A_ASSOCIATE_RQ, PDUType.A_ASSOCIATE_AC)
"""The PDU types with fixed fields and variable items (PS3.8 9.3.2, 9.3.3)."""

_FIXED_BODY_TYPES = (
    PDUType.A_ASSOCIATE_RJ,
    PDUType.A_RELEASE_RQ,
    PDUType.A_RELEASE_RP,
    PDUType.A_ABORT,
)
"""The PDU types whose body is four bytes (PS3.8 9.3.4, 9.3.6-9.3.8)."""


def _raw_pdu(pdu_type: int, body: bytes) -> bytes:
    """Hand-build a PDU whose PDU-length agrees with its body."""
    return struct.pack(">BBL", pdu_type, 0, len(body)) + body


def _nonzero_byte() -> st.SearchStrategy[int]:
    """A byte value that is not zero."""
    return st.integers(min_value=1, max_value=255)


@st.composite
def _nonzero_bytes(draw: st.DrawFn, size: int) -> bytes:
    """``size`` zero bytes with one of them set (shrinks to a single 0x01)."""
    data = bytearray(size)
    data[draw(st.integers(0, size - 1))] = draw(_shared(_nonzero_byte))
    return bytes(data)


def _associates(is_request: bool | None = None) -> st.SearchStrategy[Any]:
    """Small valid A-ASSOCIATE-RQs or -ACs (or either) to break."""
    if is_request is None:
        return st.one_of(associate_rqs(max_contexts=2), associate_acs(max_contexts=2))
    return associate_rqs(max_contexts=2) if is_request else associate_acs(max_contexts=2)


def _fixed_pdus() -> st.SearchStrategy[Any]:
    """Valid PDUs with a four-byte body: A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT."""
    return st.one_of(
        _shared(release_rqs), _shared(release_rps), _shared(aborts), _shared(associate_rjs)
    )


def _with_items(value: Any, items: Iterable[Any]) -> bytes:
    """Encode an A-ASSOCIATE with its variable items replaced."""
    return encode_pdu(dataclasses.replace(value, variable_items=tuple(items)))


def _with_user(value: Any, subs: Iterable[Any]) -> bytes:
    """Encode an A-ASSOCIATE (generated: user information last) with new user sub-items."""
    items = list(value.variable_items)
    items[-1] = dataclasses.replace(items[-1], sub_items=tuple(subs))
    return _with_items(value, items)


def _with_context(value: Any, index: int, **changes: Any) -> bytes:
    """Encode an A-ASSOCIATE with fields of its ``index``-th presentation context changed."""
    items = list(value.variable_items)
    items[1 + index] = dataclasses.replace(items[1 + index], **changes)
    return _with_items(value, items)


def _contexts(value: Any) -> list[Any]:
    """The presentation contexts of a generated A-ASSOCIATE (between app context and user info)."""
    return list(value.variable_items[1:-1])


def _subs(value: Any) -> list[Any]:
    """The user information sub-items of a generated A-ASSOCIATE."""
    return list(value.variable_items[-1].sub_items)


def _insert(draw: st.DrawFn, items: list[Any], item: Any) -> list[Any]:
    """Insert ``item`` at a drawn position (shrinks towards the front)."""
    items.insert(draw(st.integers(0, len(items))), item)
    return items


def _overrun(draw: st.DrawFn) -> bytes:
    """Bytes that cannot be an item: a cut header, or a header claiming more than follows."""
    if draw(st.booleans()):
        return draw(st.binary(min_size=1, max_size=3))
    rest = draw(st.binary(max_size=4))
    length = draw(st.integers(len(rest) + 1, 0xFFFF))
    return struct.pack(">BBH", draw(_shared(_bytes_0_255)), 0, length) + rest


# framing and fixed-size PDUs


@st.composite
def _short_header(draw: st.DrawFn) -> bytes:
    return draw(st.binary(max_size=5))


@st.composite
def _cut(draw: st.DrawFn) -> bytes:
    data = encode_pdu(draw(_shared(pdus)))
    return data[: draw(st.integers(6, len(data) - 1))]


@st.composite
def _short_pdu_length(draw: st.DrawFn) -> bytes:
    data = encode_pdu(draw(_shared(pdus)))
    return data[:2] + struct.pack(">L", draw(st.integers(0, len(data) - 7))) + data[6:]


@st.composite
def _fixed_extra(draw: st.DrawFn) -> bytes:
    value = draw(_shared(_fixed_pdus))
    return encode_pdu(dataclasses.replace(value, trailing=draw(st.binary(min_size=1, max_size=8))))


@st.composite
def _fixed_cut(draw: st.DrawFn) -> bytes:
    return _raw_pdu(draw(st.sampled_from(_FIXED_BODY_TYPES)), draw(st.binary(max_size=3)))


@st.composite
def _associate_cut(draw: st.DrawFn) -> bytes:
    return _raw_pdu(draw(st.sampled_from(_ASSOCIATE_TYPES)), draw(st.binary(max_size=67)))


@st.composite
def _top_item_overrun(draw: st.DrawFn) -> bytes:
    data = encode_pdu(draw(_associates()))
    return _raw_pdu(data[0], data[6:] + _overrun(draw))


@st.composite
def _unknown_type(draw: st.DrawFn) -> bytes:
    return encode_pdu(draw(_shared(unknown_pdus)))


@st.composite
def _header_reserved(draw: st.DrawFn) -> bytes:
    return encode_pdu(
        dataclasses.replace(draw(_shared(pdus)), reserved=draw(_shared(_nonzero_byte)))
    )


@st.composite
def _fixed_reserved(draw: st.DrawFn) -> bytes:
    value = draw(_shared(_fixed_pdus))
    if isinstance(value, (AReleaseRQ, AReleaseRP)):
        return encode_pdu(dataclasses.replace(value, reserved_1=draw(_nonzero_bytes(4))))
    field = "reserved_1"
    if isinstance(value, AAbort):
        field = draw(st.sampled_from(["reserved_1", "reserved_2"]))
    return encode_pdu(dataclasses.replace(value, **{field: draw(_shared(_nonzero_byte))}))


@st.composite
def _fixed_out_of_range(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        value = draw(_shared(associate_rjs))
        field = draw(st.sampled_from(["result", "source", "reason_diag"]))
        if field == "result":
            code = draw(st.sampled_from([0, *range(3, 256)]))
        elif field == "source":
            code = draw(st.sampled_from([0, *range(4, 256)]))
        else:
            known = {int(r) for r in _REJECT_REASONS[RejectSource(value.source)]}
            code = draw(_shared(_bytes_0_255).filter(lambda r: r not in known))
        return encode_pdu(dataclasses.replace(value, **{field: code}))
    if draw(st.booleans()):
        return encode_pdu(AAbort(draw(st.sampled_from([1, *range(3, 256)])), 0))
    reason = draw(st.sampled_from([3, *range(7, 256)]))
    return encode_pdu(AAbort(AbortSource.SERVICE_PROVIDER, reason))


# A-ASSOCIATE fixed fields


@st.composite
def _protocol_version(draw: st.DrawFn) -> bytes:
    version = 2 * draw(st.integers(0, 0x7FFF))
    return encode_pdu(dataclasses.replace(draw(_associates()), protocol_version=version))


@st.composite
def _associate_reserved(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    if isinstance(value, AAssociateRQ) and draw(st.booleans()):
        return encode_pdu(dataclasses.replace(value, reserved_2=draw(_nonzero_bytes(32))))
    return encode_pdu(dataclasses.replace(value, reserved_1=draw(st.integers(1, 0xFFFF))))


@st.composite
def _ae_flaw(draw: st.DrawFn, code: DiagnosticCode) -> bytes:
    """Break the called or calling AE title of a request (an acceptance's are not tested)."""
    value = draw(_associates(True))
    field = draw(st.sampled_from(["called_ae_title", "calling_ae_title"]))
    title = draw(_shared(ae_titles))[:15].rstrip()
    raw = None
    if code is DiagnosticCode.AE_NUL_PADDED:
        raw = title.encode().ljust(16, b"\x00")
    elif code is DiagnosticCode.AE_EMPTY:
        title = ""
    else:
        odd = "\\" if code is DiagnosticCode.AE_BACKSLASH else draw(_shared(_odd_characters))
        where = draw(st.integers(0, len(title)))
        title = title[:where] + odd + title[where:]
    return encode_pdu(dataclasses.replace(value, **{field: title, f"{field}_raw": raw}))


def _odd_characters() -> st.SearchStrategy[str]:
    """A control character (not NUL, which is padding) or a Latin-1 character beyond ASCII."""
    return st.sampled_from([*map(chr, range(0x01, 0x20)), "\x7f", *map(chr, range(0x80, 0x100))])


# A-ASSOCIATE items


@st.composite
def _unknown_item(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    unknown = UnknownItem(
        draw(_shared(_unknown_item_types)),
        draw(st.binary(max_size=16)),
        None,
        draw(_shared(_bytes_0_255)),
    )
    where = draw(st.sampled_from(["item", "user sub-item", "context sub-item"]))
    if where == "item":
        return _with_items(value, _insert(draw, list(value.variable_items), unknown))
    if where == "user sub-item":
        return _with_user(value, _insert(draw, _subs(value), unknown))
    index = draw(st.integers(0, len(_contexts(value)) - 1))
    subs = _insert(draw, list(_contexts(value)[index].sub_items), unknown)
    return _with_context(value, index, sub_items=tuple(subs))


@st.composite
def _item_reserved(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    reserved = draw(_shared(_nonzero_byte))
    if draw(st.booleans()):
        items = list(value.variable_items)
        index = draw(st.integers(0, len(items) - 1))
        items[index] = dataclasses.replace(items[index], reserved=reserved)
        return _with_items(value, items)
    subs = _subs(value)
    # the Common Extended Negotiation sub-item uses the reserved byte as its version
    choices = [
        i for i, s in enumerate(subs) if not isinstance(s, SOPClassCommonExtendedNegotiationSubItem)
    ]
    index = draw(st.sampled_from(choices))
    subs[index] = dataclasses.replace(subs[index], reserved=reserved)
    return _with_user(value, subs)


@st.composite
def _context_reserved(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    index = draw(st.integers(0, len(_contexts(value)) - 1))
    fields = ["reserved_1", "reserved_3"]
    if isinstance(value, AAssociateRQ):
        fields.append("reserved_2")
    return _with_context(
        value, index, **{draw(st.sampled_from(fields)): draw(_shared(_nonzero_byte))}
    )


@st.composite
def _even_context_id(draw: st.DrawFn) -> bytes:
    even = 2 * draw(st.integers(0, 127))
    if draw(st.booleans()):
        value = draw(_associates())
        index = draw(st.integers(0, len(_contexts(value)) - 1))
        return _with_context(value, index, presentation_context_id=even)
    p_data = draw(p_data_tfs(max_fragment=8))
    pdvs = list(p_data.presentation_data_value_items)
    index = draw(st.integers(0, len(pdvs) - 1))
    pdvs[index] = dataclasses.replace(pdvs[index], presentation_context_id=even)
    return encode_pdu(PDataTF(tuple(pdvs)))


@st.composite
def _missing_item(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    items = list(value.variable_items)
    rq = isinstance(value, AAssociateRQ)
    what = draw(
        st.sampled_from(
            [
                "application context",
                "presentation contexts",
                "user information",
                "maximum length",
                "implementation class UID",
                "context sub-item",
            ]
        )
    )
    if what == "application context":
        return _with_items(value, items[1:])
    if what == "presentation contexts":
        return _with_items(value, [items[0], items[-1]])
    if what == "user information":
        return _with_items(value, items[:-1])
    if what in ("maximum length", "implementation class UID"):
        subs = _subs(value)
        del subs[0 if what == "maximum length" else 1]
        return _with_user(value, subs)
    index = draw(st.integers(0, len(_contexts(value)) - 1))
    context = _contexts(value)[index]
    if rq:  # drop the abstract syntax or every transfer syntax
        kind = draw(st.sampled_from([AbstractSyntaxSubItem, TransferSyntaxSubItem]))
        kept = tuple(s for s in context.sub_items if not isinstance(s, kind))
        return _with_context(value, index, sub_items=kept)
    # an accepted context must name its transfer syntax; a rejected one need not
    return _with_context(
        value, index, result_reason=PresentationContextResult.ACCEPTANCE, sub_items=()
    )


@st.composite
def _duplicate_item(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    items = list(value.variable_items)
    what = draw(st.sampled_from(["item", "context ID", "sub-item"]))
    if what == "item":  # a second application context or user information item
        index = draw(st.sampled_from([0, len(items) - 1]))
        return _with_items(value, _insert(draw, items, items[index]))
    if what == "context ID":
        return _with_items(value, _insert(draw, items, draw(st.sampled_from(_contexts(value)))))
    subs = _subs(value)
    return _with_user(value, _insert(draw, subs, subs[draw(st.integers(0, 1))]))


@st.composite
def _misplaced_item(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    rq = isinstance(value, AAssociateRQ)
    what = draw(st.sampled_from(["context kind", "sub-item at the top", "user sub-item"]))
    if what == "context kind":
        other = presentation_context_ac_items() if rq else presentation_context_rq_items()
        return _with_items(value, _insert(draw, list(value.variable_items), draw(other)))
    if what == "sub-item at the top":
        stray = draw(
            st.one_of(
                _shared(maximum_length_items),
                _shared(abstract_syntax_items),
                _shared(transfer_syntax_items),
            )
        )
        return _with_items(value, _insert(draw, list(value.variable_items), stray))
    if rq:
        wrong: Any = draw(_shared(user_identity_ac_items))
    else:
        wrong = draw(
            st.one_of(_shared(common_extended_negotiation_items), _shared(user_identity_rq_items))
        )
    return _with_user(value, _insert(draw, _subs(value), wrong))


@st.composite
def _uid_flaw(draw: st.DrawFn, code: DiagnosticCode) -> bytes:
    """Break the application context name or the implementation class UID of an A-ASSOCIATE."""
    value = draw(_associates())
    uid = draw(uids(max_length=61))
    raw: bytes | None = None
    if code is DiagnosticCode.UID_NUL_PADDED:
        raw = uid.encode() + b"\x00" * draw(st.integers(1, 2))
    elif code is DiagnosticCode.UID_SPACE_PADDED:
        raw = b" " + uid.encode() if draw(st.booleans()) else uid.encode() + b" "
    elif code is DiagnosticCode.UID_INVALID:
        uid += draw(st.sampled_from([".", ".01", "..1", ".x"]))
    elif code is DiagnosticCode.UID_TOO_LONG:
        uid = "1" + ".1" * draw(st.integers(32, 40))
    else:
        uid = ""
    if draw(st.booleans()):
        items = list(value.variable_items)
        items[0] = ApplicationContextItem(uid, raw)
        return _with_items(value, items)
    subs = _subs(value)
    subs[1] = ImplementationClassUIDSubItem(uid, raw)
    return _with_user(value, subs)


# user information sub-item values


def _replace_identity(value: Any, identity: Any) -> bytes:
    """Encode an A-ASSOCIATE whose user information has ``identity`` as its only User Identity."""
    kinds = (UserIdentityRQSubItem, UserIdentityACSubItem)
    subs = [s for s in _subs(value) if not isinstance(s, kinds)]
    return _with_user(value, [*subs, identity])


@st.composite
def _item_length_mismatch(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    what = draw(st.sampled_from(["fixed value", "user information", "presentation context"]))
    if what == "fixed value":
        subs = _subs(value)
        extra = draw(st.binary(min_size=1, max_size=4))
        if draw(st.booleans()):
            subs[0] = dataclasses.replace(subs[0], trailing=extra)
        else:
            subs = [s for s in subs if not isinstance(s, AsynchronousOperationsWindowSubItem)]
            window = draw(_shared(asynchronous_operations_window_items))
            subs = _insert(draw, subs, dataclasses.replace(window, trailing=extra))
        return _with_user(value, subs)
    if what == "user information":
        items = list(value.variable_items)
        items[-1] = dataclasses.replace(items[-1], trailing=_overrun(draw))
        return _with_items(value, items)
    index = draw(st.integers(0, len(_contexts(value)) - 1))
    return _with_context(value, index, trailing=_overrun(draw))


@st.composite
def _item_malformed(draw: st.DrawFn) -> bytes:
    """Add one known item whose value cannot be decoded (kept as an unknown item)."""
    value = draw(_associates())
    rq = isinstance(value, AAssociateRQ)
    short = st.binary(max_size=3)
    uid = draw(_shared(uids)).encode()
    choices: dict[int, st.SearchStrategy[bytes]] = {
        ItemType.MAXIMUM_LENGTH: short,
        ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: short,
        ItemType.SCP_SCU_ROLE_SELECTION: short,
        ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: st.integers(len(uid) + 1, 0xFFFF).map(
            lambda n: struct.pack(">H", n) + uid
        ),
    }
    if rq:
        choices[ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION] = st.binary(max_size=1)
        choices[ItemType.USER_IDENTITY_RQ] = st.integers(len(uid) - 1, 0xFFFF).map(
            lambda n: b"\x01\x00" + struct.pack(">H", n) + uid
        )
    else:
        choices[ItemType.USER_IDENTITY_AC] = st.binary(max_size=1)
    context = ItemType.PRESENTATION_CONTEXT_RQ if rq else ItemType.PRESENTATION_CONTEXT_AC
    item_type = draw(st.sampled_from([context, *sorted(choices)]))
    if item_type == context:
        broken = UnknownItem(item_type, draw(short))
        return _with_items(value, _insert(draw, list(value.variable_items), broken))
    return _with_user(
        value, _insert(draw, _subs(value), UnknownItem(item_type, draw(choices[item_type])))
    )


def _other_than(actual: int) -> st.SearchStrategy[int]:
    """A two-byte length that disagrees with ``actual``."""
    return st.integers(min_value=0, max_value=0xFFFF).filter(lambda n: n != actual)


@st.composite
def _field_length_mismatch(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    rq = isinstance(value, AAssociateRQ)
    what = draw(st.sampled_from(["role", "identity", "common"] if rq else ["role", "identity"]))
    if what == "role":
        role = draw(_shared(role_selection_items))
        role = dataclasses.replace(role, uid_length=draw(_other_than(len(role.sop_class_uid))))
        return _with_user(value, _insert(draw, _subs(value), role))
    if what == "common":
        common = draw(_shared(common_extended_negotiation_items))
        actual = sum(2 + len(u) for u in common.related_general_sop_class_uids)
        common = dataclasses.replace(
            common, related_general_sop_class_identification_length=draw(_other_than(actual))
        )
        return _with_user(value, _insert(draw, _subs(value), common))
    if rq:
        identity: Any = draw(_shared(user_identity_rq_items))
        declared = draw(_other_than(len(identity.secondary_field)))
        identity = dataclasses.replace(identity, secondary_field_length=declared)
    else:
        identity = draw(_shared(user_identity_ac_items))
        declared = draw(_other_than(len(identity.server_response)))
        identity = dataclasses.replace(identity, server_response_length=declared)
    return _replace_identity(value, identity)


@st.composite
def _value_out_of_range(draw: st.DrawFn) -> bytes:
    value = draw(_associates())
    rq = isinstance(value, AAssociateRQ)
    what = draw(
        st.sampled_from(
            ["role", "context result", "identity"] if rq else ["role", "context result"]
        )
    )
    bad_role = st.integers(min_value=2, max_value=255)
    if what == "role":
        role = draw(_shared(role_selection_items))
        if draw(st.booleans()):
            role = dataclasses.replace(role, scu_role=draw(bad_role))
        else:
            role = dataclasses.replace(role, scp_role=draw(bad_role))
        return _with_user(value, _insert(draw, _subs(value), role))
    if what == "context result":
        if rq:  # only an acceptance has a result
            value = draw(_associates(False))
        index = draw(st.integers(0, len(_contexts(value)) - 1))
        return _with_context(value, index, result_reason=draw(st.integers(5, 255)))
    identity = draw(_shared(user_identity_rq_items))
    if draw(st.booleans()):
        kind = draw(st.sampled_from([0, *range(6, 256)]))
        identity = dataclasses.replace(identity, user_identity_type=kind)
    else:
        identity = dataclasses.replace(identity, positive_response_requested=draw(bad_role))
    return _replace_identity(value, identity)


@st.composite
def _empty_value(draw: st.DrawFn) -> bytes:
    what = draw(st.sampled_from(["uid", "version name", "identity"]))
    if what == "uid":
        return draw(_uid_flaw(DiagnosticCode.EMPTY_VALUE))
    value = draw(_associates(what == "identity" or None))
    if what == "version name":
        subs = [s for s in _subs(value) if not isinstance(s, ImplementationVersionNameSubItem)]
        return _with_user(value, _insert(draw, subs, ImplementationVersionNameSubItem("")))
    identity = draw(_shared(user_identity_rq_items))
    if identity.user_identity_type == UserIdentityType.USERNAME_AND_PASSCODE and draw(
        st.booleans()
    ):
        identity = dataclasses.replace(identity, secondary_field=b"")
    else:
        identity = dataclasses.replace(identity, primary_field=b"")
    return _replace_identity(value, identity)


@st.composite
def _version_name_flaw(draw: st.DrawFn, code: DiagnosticCode) -> bytes:
    value = draw(_associates())
    if code is DiagnosticCode.VALUE_TOO_LONG:
        name = draw(st.text(alphabet=_VERSION_ALPHABET, min_size=17, max_size=32))
    else:
        name = draw(_shared(_version_names))[:15]
        where = draw(st.integers(0, len(name)))
        name = name[:where] + draw(_shared(_odd_characters)) + name[where:]
    subs = [s for s in _subs(value) if not isinstance(s, ImplementationVersionNameSubItem)]
    return _with_user(value, _insert(draw, subs, ImplementationVersionNameSubItem(name)))


@st.composite
def _non_ascii(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(_ae_flaw(DiagnosticCode.NON_ASCII))
    return draw(_version_name_flaw(DiagnosticCode.NON_ASCII))


# P-DATA-TF


@st.composite
def _mch_reserved_bits(draw: st.DrawFn) -> bytes:
    pdvs = list(draw(p_data_tfs(max_fragment=8)).presentation_data_value_items)
    index = draw(st.integers(0, len(pdvs) - 1))
    bits = draw(st.integers(1, 63)) << 2
    mch = pdvs[index].message_control_header | bits
    pdvs[index] = dataclasses.replace(pdvs[index], message_control_header=mch)
    return encode_pdu(PDataTF(tuple(pdvs)))


@st.composite
def _pdv_tail(draw: st.DrawFn, kind: str) -> bytes:
    """A valid P-DATA-TF followed by a PDV too short for its header, overrunning, or cut."""
    body = encode_pdu(draw(p_data_tfs(max_fragment=8)))[6:]
    if kind == "short":
        tail = struct.pack(">L", draw(st.integers(0, 1))) + draw(st.binary(max_size=2))
    elif kind == "overrun":
        fragment = draw(st.binary(max_size=8))
        length = 2 + len(fragment) + draw(st.integers(1, 0xFFFF))
        tail = struct.pack(">LBB", length, 1, 3) + fragment
    else:
        tail = draw(st.binary(min_size=1, max_size=3))
    return _raw_pdu(PDUType.P_DATA_TF, body + tail)


def _flaws() -> list[tuple[Expected, str, st.SearchStrategy[bytes]]]:
    """Every way :func:`malformed_pdu_bytes` breaks a PDU, with what the decoder must answer."""
    ae = [DiagnosticCode.AE_NUL_PADDED, DiagnosticCode.AE_EMPTY, DiagnosticCode.AE_BACKSLASH]
    uid = [
        DiagnosticCode.UID_NUL_PADDED,
        DiagnosticCode.UID_SPACE_PADDED,
        DiagnosticCode.UID_INVALID,
        DiagnosticCode.UID_TOO_LONG,
    ]
    return [
        (TruncatedError, "fewer than six bytes", _short_header()),
        (TruncatedError, "PDU cut short of its PDU-length", _cut()),
        (TruncatedError, "four-byte body cut short", _fixed_cut()),
        (TruncatedError, "A-ASSOCIATE fixed fields cut short", _associate_cut()),
        (TruncatedError, "A-ASSOCIATE item overruns the PDU", _top_item_overrun()),
        (TruncatedError, "PDV overruns the PDU", _pdv_tail("overrun")),
        (TruncatedError, "PDV header cut short", _pdv_tail("cut")),
        (DecodeError, "PDV item length below 2", _pdv_tail("short")),
        (DiagnosticCode.PDU_LENGTH_MISMATCH, "PDU-length short of the body", _short_pdu_length()),
        (DiagnosticCode.PDU_LENGTH_MISMATCH, "bytes after a four-byte body", _fixed_extra()),
        (DiagnosticCode.UNKNOWN_PDU_TYPE, "undefined PDU type", _unknown_type()),
        (DiagnosticCode.RESERVED_NONZERO, "PDU header reserved byte set", _header_reserved()),
        (DiagnosticCode.RESERVED_NONZERO, "four-byte body reserved field set", _fixed_reserved()),
        (DiagnosticCode.RESERVED_NONZERO, "A-ASSOCIATE reserved field set", _associate_reserved()),
        (DiagnosticCode.RESERVED_NONZERO, "item header reserved byte set", _item_reserved()),
        (
            DiagnosticCode.RESERVED_NONZERO,
            "presentation context reserved byte set",
            _context_reserved(),
        ),
        (
            DiagnosticCode.VALUE_OUT_OF_RANGE,
            "undefined reject or abort code",
            _fixed_out_of_range(),
        ),
        (
            DiagnosticCode.VALUE_OUT_OF_RANGE,
            "undefined role, result or identity code",
            _value_out_of_range(),
        ),
        (DiagnosticCode.PROTOCOL_VERSION, "protocol version without bit 0", _protocol_version()),
        *[(code, f"AE title: {code.value}", _ae_flaw(code)) for code in ae],
        (DiagnosticCode.NON_ASCII, "control or non-ASCII character", _non_ascii()),
        *[(code, f"UID: {code.value}", _uid_flaw(code)) for code in uid],
        (DiagnosticCode.EMPTY_VALUE, "empty UID, version name or identity field", _empty_value()),
        (
            DiagnosticCode.VALUE_TOO_LONG,
            "version name over 16 characters",
            _version_name_flaw(DiagnosticCode.VALUE_TOO_LONG),
        ),
        (DiagnosticCode.UNKNOWN_ITEM, "undefined item or sub-item type", _unknown_item()),
        (DiagnosticCode.MISSING_ITEM, "required item or sub-item left out", _missing_item()),
        (DiagnosticCode.DUPLICATE_ITEM, "item, sub-item or context ID twice", _duplicate_item()),
        (DiagnosticCode.ITEM_NOT_ALLOWED, "item or sub-item in the wrong place", _misplaced_item()),
        (
            DiagnosticCode.ITEM_LENGTH_MISMATCH,
            "item longer than its value, or overrunning",
            _item_length_mismatch(),
        ),
        (DiagnosticCode.ITEM_MALFORMED, "item value that cannot be decoded", _item_malformed()),
        (
            DiagnosticCode.FIELD_LENGTH_MISMATCH,
            "inner length disagrees with its item",
            _field_length_mismatch(),
        ),
        (DiagnosticCode.CONTEXT_ID_INVALID, "even presentation context ID", _even_context_id()),
        (DiagnosticCode.MCH_RESERVED_BITS, "MCH reserved bits set", _mch_reserved_bits()),
        (DiagnosticCode.NO_PDV, "P-DATA-TF without a PDV", st.just(encode_pdu(PDataTF()))),
    ]


def _labelled(
    strategy: st.SearchStrategy[bytes], answer: Expected, flaw: str
) -> st.SearchStrategy[MalformedPDU]:
    """Pair each generated byte string with its expected answer and the name of its flaw."""

    def label(data: bytes) -> MalformedPDU:
        """Wrap one byte string."""
        return MalformedPDU(data, answer, flaw)

    return strategy.map(label)


def malformed_pdu_bytes(*expected: Expected) -> st.SearchStrategy[MalformedPDU]:
    """Broken PDU bytes with what the decoder must answer, optionally only for some answers.

    Each example breaks one thing in a small valid PDU (see :class:`MalformedPDU` for the
    contract): wrong or inconsistent lengths, truncation, unknown PDU types and items, non-zero
    reserved fields, MCH reserved bits, even context IDs, undefined codes, padded or invalid UIDs
    and AE titles, missing, repeated or misplaced items. ``malformed_pdu_bytes(TruncatedError,
    DiagnosticCode.NO_PDV)`` narrows to those answers.
    """
    flaws = _flaws()
    wanted = set(expected)
    chosen = [
        _labelled(strategy, answer, flaw)
        for answer, flaw, strategy in flaws
        if not wanted or answer in wanted
    ]
    if not chosen:
        known = sorted({getattr(a, "value", getattr(a, "__name__", "")) for a, _, _ in flaws})
        raise ValueError(f"no malformed PDU gives {sorted(map(str, wanted))}; known: {known}")
    return st.one_of(*chosen)
