"""Hypothesis strategies for PS3.8 Upper Layer PDUs and their items, valid, quirky and malformed.

Valid strategies (:func:`pdus`, :func:`associate_rqs`, ..., the ``*_items`` ones) generate values
that :func:`~dimse_codec.pdu.encode_pdu` writes and :func:`~dimse_codec.pdu.decode_pdu` reads back
equal under :data:`~dimse_codec.STRICT` without a single diagnostic; their canonical and preserving
encodings are the same bytes. :func:`quirky_pdus` and :func:`unknown_pdus` add wire details PS3.8
tolerates (reserved bytes, padding, unknown items, short PDU-lengths) that must survive a lenient
round trip. :func:`malformed_pdu_bytes` generates broken bytes, each paired with the one
diagnostic code or error class the decoder must answer with, built by breaking one thing in a
small valid PDU so that a failing example shrinks to a short, readable input.
"""

from __future__ import annotations

import dataclasses
import enum
import string
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from hypothesis import strategies as st

from dimse_codec.errors import DecodeError, DimseCodecError, TruncatedError
from dimse_codec.pdu import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    AbstractSyntaxSubItem,
    ApplicationContextItem,
    AReleaseRP,
    AReleaseRQ,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PDataTF,
    PresentationContextACItem,
    PresentationContextResult,
    PresentationContextRQItem,
    PresentationDataValueItem,
    RejectReasonACSE,
    RejectReasonPresentation,
    RejectReasonUser,
    RejectResult,
    RejectSource,
    Role,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UnknownItem,
    UnknownPDU,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    UserSubItem,
    VariableItem,
    encode_pdu,
)
from dimse_codec.pdu.items import DEFAULT_APPLICATION_CONTEXT
from dimse_codec.policy import DiagnosticCode
from dimse_codec.strategies.primitives import ae_titles, uids

__all__ = [
    "MalformedPDU",
    "aborts",
    "abstract_syntax_items",
    "application_context_items",
    "associate_acs",
    "associate_rjs",
    "associate_rqs",
    "asynchronous_operations_window_items",
    "common_extended_negotiation_items",
    "extended_negotiation_items",
    "implementation_class_uid_items",
    "implementation_version_name_items",
    "malformed_pdu_bytes",
    "max_pdu_lengths",
    "maximum_length_items",
    "p_data_tfs",
    "pdus",
    "presentation_context_ac_items",
    "presentation_context_rq_items",
    "presentation_data_value_items",
    "quirky_pdus",
    "release_rps",
    "release_rqs",
    "role_selection_items",
    "transfer_syntax_items",
    "unknown_pdus",
    "user_identity_ac_items",
    "user_identity_rq_items",
    "user_information_items",
]

_D = DiagnosticCode
_T = TypeVar("_T")

_KNOWN_ITEM_TYPES = frozenset({0x10, 0x20, 0x21, 0x30, 0x40, 0x50, *range(0x51, 0x5A)})
"""Every item and sub-item type PS3.8 and PS3.7 Annex D.3 define; any other one is unknown."""

_TYPICAL_MAX_PDU_LENGTHS = (16382, 16384, 32768, 65536, 131072)
"""What peers send: pynetdicom's default, DCMTK's default, then common larger settings."""

_SMALL_MAX_PDU_LENGTHS = (8, 9, 10, 12, 14, 16, 64, 255, 256, 1024, 4095, 4096)
"""Tiny limits: the smallest that carries a two-byte fragment, odd ones, and DCMTK's minimum."""

_VERSION_ALPHABET = string.ascii_letters + string.digits + "_.-"
"""Characters of generated Implementation Version Names (PS3.7 D.3.3.2.3 allows 1-16 of SH)."""


_SHARED: dict[Callable[[], st.SearchStrategy[Any]], st.SearchStrategy[Any]] = {}


def _shared(factory: Callable[[], st.SearchStrategy[_T]]) -> st.SearchStrategy[_T]:
    """One instance per zero-argument factory, so composites do not rebuild and revalidate it."""
    if factory not in _SHARED:
        _SHARED[factory] = factory()
    return cast("st.SearchStrategy[_T]", _SHARED[factory])


# --- values --------------------------------------------------------------------------------------


def max_pdu_lengths(*, allow_unlimited: bool = True) -> st.SearchStrategy[int]:
    """Maximum Length Received values (PS3.8 D.1) that find bugs: 0, tiny, typical and the largest.

    The model: the value limits the *variable field* of a P-DATA-TF, that is its PDU-length (the
    six-byte PDU header is not counted; ``decode_pdu(max_pdu_length=...)`` compares the same
    quantity). Each PDV spends six bytes of that field on its own header (four-byte item length,
    context ID, message control header), so a limit ``L`` carries fragments of at most ``L - 6``
    bytes. ``0`` means no limit (left out with ``allow_unlimited=False``); 8 to 4096 are limits
    that break peers assuming a sensible minimum (8 is the smallest that carries a two-byte
    fragment, odd ones force odd fragments, 4096 is DCMTK's minimum); 16382, 16384, 32768, 65536
    and 131072 are what peers send; ``2**32 - 1`` is the largest the four-byte field holds.
    """
    choices = [
        st.sampled_from(_TYPICAL_MAX_PDU_LENGTHS),
        st.sampled_from(_SMALL_MAX_PDU_LENGTHS),
        st.integers(min_value=8, max_value=4096),
        st.just(0xFFFFFFFF),
    ]
    if allow_unlimited:
        choices.insert(0, st.just(0))
    return st.one_of(*choices)


def _odd_context_ids(context_ids: Iterable[int] | None) -> st.SearchStrategy[int]:
    """Presentation context IDs: any odd 1-255, or one of those given (which must all be valid)."""
    if context_ids is None:
        return st.integers(min_value=0, max_value=127).map(lambda n: 2 * n + 1)
    ids = sorted(set(context_ids))
    bad = [i for i in ids if not (1 <= i <= 255 and i % 2)]
    if not ids or bad:
        raise ValueError(f"context IDs must be odd numbers 1-255, got {bad or 'none'}")
    return st.sampled_from(ids)


def _version_names() -> st.SearchStrategy[str]:
    """Implementation Version Names of 1 to 16 plain ASCII characters."""
    return st.text(alphabet=_VERSION_ALPHABET, min_size=1, max_size=16)


# --- items and sub-items -------------------------------------------------------------------------


def application_context_items() -> st.SearchStrategy[ApplicationContextItem]:
    """Application Context items 0x10: mostly the DICOM one, sometimes a private UID."""
    return st.one_of(st.just(DEFAULT_APPLICATION_CONTEXT), _shared(uids)).map(
        ApplicationContextItem
    )


def abstract_syntax_items() -> st.SearchStrategy[AbstractSyntaxSubItem]:
    """Abstract Syntax sub-items 0x30 naming a SOP class UID."""
    return _shared(uids).map(AbstractSyntaxSubItem)


def transfer_syntax_items() -> st.SearchStrategy[TransferSyntaxSubItem]:
    """Transfer Syntax sub-items 0x40 naming a transfer syntax UID."""
    return _shared(uids).map(TransferSyntaxSubItem)


@st.composite
def _presentation_context_rq(
    draw: st.DrawFn, ids: st.SearchStrategy[int], max_transfer_syntaxes: int
) -> PresentationContextRQItem:
    syntaxes = draw(st.lists(_shared(uids), min_size=1, max_size=max_transfer_syntaxes))
    return PresentationContextRQItem.build(draw(ids), draw(_shared(uids)), tuple(syntaxes))


def presentation_context_rq_items(
    *, context_ids: Iterable[int] | None = None, max_transfer_syntaxes: int = 3
) -> st.SearchStrategy[PresentationContextRQItem]:
    """Presentation Context items 0x20 of a request: an odd ID, one abstract syntax, 1+ TSs."""
    if max_transfer_syntaxes < 1:
        raise ValueError("a proposed presentation context needs at least one transfer syntax")
    return _presentation_context_rq(_odd_context_ids(context_ids), max_transfer_syntaxes)


@st.composite
def _presentation_context_ac(
    draw: st.DrawFn, ids: st.SearchStrategy[int], results: tuple[PresentationContextResult, ...]
) -> PresentationContextACItem:
    result = draw(st.sampled_from(results))
    if result is PresentationContextResult.ACCEPTANCE:
        syntax: str | None = draw(_shared(uids))
    else:  # PS3.8 Table 9-18: a rejected context's transfer syntax is not tested
        syntax = draw(st.one_of(st.none(), st.just(""), _shared(uids)))
    return PresentationContextACItem.build(draw(ids), result, syntax)


def presentation_context_ac_items(
    *,
    context_ids: Iterable[int] | None = None,
    results: Iterable[PresentationContextResult] | None = None,
) -> st.SearchStrategy[PresentationContextACItem]:
    """Presentation Context items 0x21 of an acceptance; a rejected one may lack its TS."""
    chosen = tuple(PresentationContextResult if results is None else results)
    if not chosen:
        raise ValueError("results must name at least one PresentationContextResult")
    return _presentation_context_ac(_odd_context_ids(context_ids), chosen)


def maximum_length_items() -> st.SearchStrategy[MaximumLengthSubItem]:
    """Maximum Length sub-items 0x51 with the values of :func:`max_pdu_lengths`."""
    return max_pdu_lengths().map(MaximumLengthSubItem)


def implementation_class_uid_items() -> st.SearchStrategy[ImplementationClassUIDSubItem]:
    """Implementation Class UID sub-items 0x52."""
    return _shared(uids).map(ImplementationClassUIDSubItem)


def asynchronous_operations_window_items() -> st.SearchStrategy[
    AsynchronousOperationsWindowSubItem
]:
    """Asynchronous Operations Window sub-items 0x53 (0 means unlimited operations)."""
    counts = st.integers(min_value=0, max_value=0xFFFF)
    return st.builds(AsynchronousOperationsWindowSubItem, counts, counts)


def role_selection_items() -> st.SearchStrategy[SCPSCURoleSelectionSubItem]:
    """SCP/SCU Role Selection sub-items 0x54 for one SOP class."""
    roles = st.sampled_from(Role)
    return st.builds(SCPSCURoleSelectionSubItem, _shared(uids), roles, roles)


def implementation_version_name_items() -> st.SearchStrategy[ImplementationVersionNameSubItem]:
    """Implementation Version Name sub-items 0x55 of 1 to 16 ASCII characters."""
    return _shared(_version_names).map(ImplementationVersionNameSubItem)


def extended_negotiation_items() -> st.SearchStrategy[SOPClassExtendedNegotiationSubItem]:
    """SOP Class Extended Negotiation sub-items 0x56 with opaque service class bytes."""
    return st.builds(SOPClassExtendedNegotiationSubItem, _shared(uids), st.binary(max_size=8))


def common_extended_negotiation_items() -> st.SearchStrategy[
    SOPClassCommonExtendedNegotiationSubItem
]:
    """SOP Class Common Extended Negotiation sub-items 0x57 (version 0), requests only."""
    related = st.lists(_shared(uids), max_size=3).map(tuple)
    return st.builds(
        SOPClassCommonExtendedNegotiationSubItem, _shared(uids), _shared(uids), related
    )


@st.composite
def _user_identity_rq(draw: st.DrawFn) -> UserIdentityRQSubItem:
    kind = draw(st.sampled_from(UserIdentityType))
    primary = draw(st.binary(min_size=1, max_size=12))
    # PS3.7 D.3.3.7.1: only type 2 carries a (non-empty) passcode
    secondary = draw(st.binary(min_size=1, max_size=12)) if kind == 2 else b""
    return UserIdentityRQSubItem(kind, primary, secondary, draw(st.integers(0, 1)))


def user_identity_rq_items() -> st.SearchStrategy[UserIdentityRQSubItem]:
    """User Identity sub-items 0x58 of a request; a passcode exactly for type 2."""
    return _user_identity_rq()


def user_identity_ac_items() -> st.SearchStrategy[UserIdentityACSubItem]:
    """User Identity sub-items 0x59 of an acceptance, with any server response."""
    return st.binary(max_size=12).map(UserIdentityACSubItem)


@st.composite
def _user_information(draw: st.DrawFn, is_request: bool) -> UserInformationItem:
    subs: list[UserSubItem] = [
        draw(_shared(maximum_length_items)),
        draw(_shared(implementation_class_uid_items)),
    ]
    if draw(st.booleans()):
        subs.append(draw(_shared(asynchronous_operations_window_items)))
    subs.extend(draw(st.lists(_shared(role_selection_items), max_size=2)))
    if draw(st.booleans()):
        subs.append(draw(_shared(implementation_version_name_items)))
    subs.extend(draw(st.lists(_shared(extended_negotiation_items), max_size=2)))
    if is_request:
        subs.extend(draw(st.lists(_shared(common_extended_negotiation_items), max_size=1)))
        if draw(st.booleans()):
            subs.append(draw(_shared(user_identity_rq_items)))
    elif draw(st.booleans()):
        subs.append(draw(_shared(user_identity_ac_items)))
    return UserInformationItem(tuple(subs))


def user_information_items(
    *, is_request: bool | None = None
) -> st.SearchStrategy[UserInformationItem]:
    """User Information items 0x50: Maximum Length and Implementation Class UID, then optional ones.

    A request's may carry Common Extended Negotiation and User Identity (RQ) sub-items, an
    acceptance's a User Identity (AC) one; ``is_request=None`` gives either kind.
    """
    if is_request is None:
        return st.one_of(_user_information(True), _user_information(False))
    return _user_information(is_request)


def presentation_data_value_items(
    *, context_ids: Iterable[int] | None = None, max_fragment: int = 64
) -> st.SearchStrategy[PresentationDataValueItem]:
    """PDVs: an odd context ID, a standard MCH (bits 0-1 only), up to ``max_fragment`` bytes."""
    if max_fragment < 0:
        raise ValueError("max_fragment must not be negative")
    return st.builds(
        PresentationDataValueItem,
        _odd_context_ids(context_ids),
        st.integers(min_value=0, max_value=3),
        st.binary(max_size=max_fragment),
    )


# --- PDUs ----------------------------------------------------------------------------------------


@st.composite
def _associate_rq(draw: st.DrawFn, max_contexts: int) -> AAssociateRQ:
    ids = draw(st.lists(_odd_context_ids(None), min_size=1, max_size=max_contexts, unique=True))
    contexts = [draw(presentation_context_rq_items(context_ids=[i])) for i in ids]
    items: tuple[VariableItem, ...] = (
        draw(_shared(application_context_items)),
        *contexts,
        draw(user_information_items(is_request=True)),
    )
    return AAssociateRQ(draw(_shared(ae_titles)), draw(_shared(ae_titles)), items)


def associate_rqs(*, max_contexts: int = 4) -> st.SearchStrategy[AAssociateRQ]:
    """A-ASSOCIATE-RQs: application context, 1 to ``max_contexts`` proposed contexts, user info."""
    if not 1 <= max_contexts <= 128:
        raise ValueError("max_contexts must be 1-128 (there are 128 odd context IDs)")
    return _associate_rq(max_contexts)


@st.composite
def _associate_ac(draw: st.DrawFn, max_contexts: int) -> AAssociateAC:
    ids = draw(st.lists(_odd_context_ids(None), min_size=1, max_size=max_contexts, unique=True))
    contexts = [draw(presentation_context_ac_items(context_ids=[i])) for i in ids]
    items: tuple[VariableItem, ...] = (
        draw(_shared(application_context_items)),
        *contexts,
        draw(user_information_items(is_request=False)),
    )
    return AAssociateAC(draw(_shared(ae_titles)), draw(_shared(ae_titles)), items)


def associate_acs(*, max_contexts: int = 4) -> st.SearchStrategy[AAssociateAC]:
    """A-ASSOCIATE-ACs: application context, 1 to ``max_contexts`` answered contexts, user info."""
    if not 1 <= max_contexts <= 128:
        raise ValueError("max_contexts must be 1-128 (there are 128 odd context IDs)")
    return _associate_ac(max_contexts)


_REJECT_REASONS: dict[int, type[enum.IntEnum]] = {
    RejectSource.SERVICE_USER: RejectReasonUser,
    RejectSource.SERVICE_PROVIDER_ACSE: RejectReasonACSE,
    RejectSource.SERVICE_PROVIDER_PRESENTATION: RejectReasonPresentation,
}


@st.composite
def _associate_rj(draw: st.DrawFn) -> AAssociateRJ:
    source = draw(st.sampled_from(RejectSource))
    reason = draw(st.sampled_from(list(_REJECT_REASONS[source])))
    return AAssociateRJ(draw(st.sampled_from(RejectResult)), source, reason)


def associate_rjs() -> st.SearchStrategy[AAssociateRJ]:
    """A-ASSOCIATE-RJs with a result, a source and a reason defined for that source."""
    return _associate_rj()


def p_data_tfs(
    *, context_ids: Iterable[int] | None = None, max_fragment: int = 64, max_pdvs: int = 4
) -> st.SearchStrategy[PDataTF]:
    """P-DATA-TFs of 1 to ``max_pdvs`` PDVs on the given odd context IDs (default: any)."""
    if max_pdvs < 1:
        raise ValueError("a P-DATA-TF carries at least one PDV")
    pdvs = presentation_data_value_items(context_ids=context_ids, max_fragment=max_fragment)
    return st.lists(pdvs, min_size=1, max_size=max_pdvs).map(lambda items: PDataTF(tuple(items)))


def release_rqs() -> st.SearchStrategy[AReleaseRQ]:
    """A-RELEASE-RQs (there is only one standard one)."""
    return st.just(AReleaseRQ())


def release_rps() -> st.SearchStrategy[AReleaseRP]:
    """A-RELEASE-RPs (there is only one standard one)."""
    return st.just(AReleaseRP())


def aborts() -> st.SearchStrategy[AAbort]:
    """A-ABORTs from the service user (reason 0) or the provider (A-P-ABORT, any defined reason)."""
    return st.one_of(
        st.just(AAbort(AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED)),
        st.sampled_from(AbortReason).map(lambda r: AAbort(AbortSource.SERVICE_PROVIDER, r)),
    )


_PDU_STRATEGIES: dict[type[Any], Callable[[], st.SearchStrategy[Any]]] = {
    AAssociateRQ: associate_rqs,
    AAssociateAC: associate_acs,
    AAssociateRJ: associate_rjs,
    PDataTF: p_data_tfs,
    AReleaseRQ: release_rqs,
    AReleaseRP: release_rps,
    AAbort: aborts,
}


def _pdu_class(kind: type[Any] | int | str) -> type[Any]:
    """Resolve a PDU class, type code (0x01-0x07) or name ("A-ABORT") to its class."""
    for cls in _PDU_STRATEGIES:
        if kind is cls or kind == cls.pdu_type or kind == cls.name:
            return cls
    raise ValueError(f"{kind!r} is not one of the seven PDU types of PS3.8")


def pdus(kinds: Iterable[type[Any] | int | str] | None = None) -> st.SearchStrategy[PDU]:
    """Valid PDUs of any of the seven types, or only of ``kinds`` (classes, type codes or names)."""
    wanted = list(_PDU_STRATEGIES) if kinds is None else list(dict.fromkeys(map(_pdu_class, kinds)))
    if not wanted:
        raise ValueError("kinds names no PDU type")
    return st.one_of(*(_PDU_STRATEGIES[cls]() for cls in wanted))


def unknown_pdus() -> st.SearchStrategy[UnknownPDU]:
    """PDUs of a type PS3.8 does not define, which the decoder keeps whole (UNKNOWN_PDU_TYPE)."""
    types = st.integers(min_value=0, max_value=255).filter(lambda t: not 1 <= t <= 7)
    return st.builds(UnknownPDU, types, st.binary(max_size=16))


@st.composite
def _quirky(draw: st.DrawFn) -> PDU:
    value = draw(st.one_of(_shared(pdus), _shared(unknown_pdus)))
    changes: dict[str, Any] = {"reserved": draw(st.integers(0, 255))}
    if isinstance(value, (AAssociateRQ, AAssociateAC)):
        items = list(value.variable_items)
        if draw(st.booleans()):
            unknown = UnknownItem(
                draw(_shared(_unknown_item_types)),
                draw(st.binary(max_size=10)),
                None,
                draw(_shared(_bytes_0_255)),
            )
            items.insert(draw(st.integers(0, len(items))), unknown)
        user = value.user_information
        if user is None:  # associate_rqs/acs always add one; a change there must not pass silently
            raise RuntimeError("the generated A-ASSOCIATE has no User Information item")
        subs = list(user.sub_items)
        if draw(st.booleans()):
            subs.insert(
                draw(st.integers(0, len(subs))), UnknownItem(0x5A, draw(st.binary(max_size=10)))
            )
        if draw(st.booleans()) and isinstance(subs[0], MaximumLengthSubItem):
            subs[0] = dataclasses.replace(subs[0], trailing=draw(st.binary(min_size=1, max_size=3)))
        items[items.index(user)] = dataclasses.replace(user, sub_items=tuple(subs))
        app = value.variable_items[0]
        if not isinstance(app, ApplicationContextItem):
            raise RuntimeError("the generated A-ASSOCIATE does not start with its 0x10 item")
        pad = draw(st.sampled_from([b"\x00", b" ", b"\x00\x00"]))
        items[items.index(app)] = dataclasses.replace(
            app, raw=app.application_context_name.encode() + pad
        )
        changes["variable_items"] = tuple(items)
        changes["reserved_1"] = draw(st.integers(0, 0xFFFF))
        changes["reserved_2"] = draw(st.binary(min_size=32, max_size=32))
        if len(value.called_ae_title) < 16:
            changes["called_ae_title_raw"] = (" " + value.called_ae_title).encode().ljust(16)
    elif isinstance(value, (AReleaseRQ, AReleaseRP)):
        changes["reserved_1"] = draw(st.binary(min_size=4, max_size=4))
        changes["trailing"] = draw(st.binary(max_size=3))
    elif isinstance(value, (AAbort, AAssociateRJ)):
        changes["reserved_1"] = draw(st.integers(0, 255))
    elif isinstance(value, PDataTF):
        changes["presentation_data_value_items"] = tuple(
            dataclasses.replace(p, message_control_header=draw(st.integers(0, 255)))
            for p in value.presentation_data_value_items
        )
    result: PDU = dataclasses.replace(value, **changes)
    size = len(encode_pdu(result)) - 6
    if size and draw(st.booleans()):
        result = dataclasses.replace(result, pdu_length=draw(st.integers(0, size - 1)))
    return result


def quirky_pdus() -> st.SearchStrategy[PDU]:
    """PDUs with wire details PS3.8 tolerates, which a lenient decode must keep byte for byte.

    Non-zero reserved bytes, padded UIDs and AE titles, unknown items and sub-items, bytes after a
    fixed-size value, MCH reserved bits and PDU-lengths short of the body: each decodes with
    diagnostics under the default policy, equal to the generated value, and re-encodes exactly.
    """
    return _quirky()


# --- malformed bytes -----------------------------------------------------------------------------

Expected = DiagnosticCode | type[DimseCodecError]
"""What the decoder must answer a malformed PDU with: a diagnostic code or an error class."""


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


def _raw_pdu(pdu_type: int, body: bytes) -> bytes:
    """Hand-build a PDU whose PDU-length agrees with its body."""
    return struct.pack(">BBL", pdu_type, 0, len(body)) + body


def _bytes_0_255() -> st.SearchStrategy[int]:
    """Any byte value."""
    return st.integers(min_value=0, max_value=255)


def _nonzero_byte() -> st.SearchStrategy[int]:
    """A byte value that is not zero."""
    return st.integers(min_value=1, max_value=255)


@st.composite
def _nonzero_bytes(draw: st.DrawFn, size: int) -> bytes:
    """``size`` zero bytes with one of them set (shrinks to a single 0x01)."""
    data = bytearray(size)
    data[draw(st.integers(0, size - 1))] = draw(_shared(_nonzero_byte))
    return bytes(data)


def _unknown_item_types() -> st.SearchStrategy[int]:
    """Item type codes neither PS3.8 nor PS3.7 Annex D.3 defines."""
    return _shared(_bytes_0_255).filter(lambda t: t not in _KNOWN_ITEM_TYPES)


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
    return _raw_pdu(draw(st.sampled_from([3, 5, 6, 7])), draw(st.binary(max_size=3)))


@st.composite
def _associate_cut(draw: st.DrawFn) -> bytes:
    return _raw_pdu(draw(st.sampled_from([1, 2])), draw(st.binary(max_size=67)))


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
    if code is _D.AE_NUL_PADDED:
        raw = title.encode().ljust(16, b"\x00")
    elif code is _D.AE_EMPTY:
        title = ""
    else:
        odd = "\\" if code is _D.AE_BACKSLASH else draw(_shared(_odd_characters))
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
    if code is _D.UID_NUL_PADDED:
        raw = uid.encode() + b"\x00" * draw(st.integers(1, 2))
    elif code is _D.UID_SPACE_PADDED:
        raw = b" " + uid.encode() if draw(st.booleans()) else uid.encode() + b" "
    elif code is _D.UID_INVALID:
        uid += draw(st.sampled_from([".", ".01", "..1", ".x"]))
    elif code is _D.UID_TOO_LONG:
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
        0x51: short,
        0x53: short,
        0x54: short,
        0x56: st.integers(len(uid) + 1, 0xFFFF).map(lambda n: struct.pack(">H", n) + uid),
    }
    if rq:
        choices[0x57] = st.binary(max_size=1)
        choices[0x58] = st.integers(len(uid) - 1, 0xFFFF).map(
            lambda n: b"\x01\x00" + struct.pack(">H", n) + uid
        )
    else:
        choices[0x59] = st.binary(max_size=1)
    item_type = draw(st.sampled_from([0x20 if rq else 0x21, *sorted(choices)]))
    if item_type in (0x20, 0x21):
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
        return draw(_uid_flaw(_D.EMPTY_VALUE))
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
    if code is _D.VALUE_TOO_LONG:
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
        return draw(_ae_flaw(_D.NON_ASCII))
    return draw(_version_name_flaw(_D.NON_ASCII))


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
    return _raw_pdu(0x04, body + tail)


def _flaws() -> list[tuple[Expected, str, st.SearchStrategy[bytes]]]:
    """Every way :func:`malformed_pdu_bytes` breaks a PDU, with what the decoder must answer."""
    ae = [_D.AE_NUL_PADDED, _D.AE_EMPTY, _D.AE_BACKSLASH]
    uid = [_D.UID_NUL_PADDED, _D.UID_SPACE_PADDED, _D.UID_INVALID, _D.UID_TOO_LONG]
    return [
        (TruncatedError, "fewer than six bytes", _short_header()),
        (TruncatedError, "PDU cut short of its PDU-length", _cut()),
        (TruncatedError, "four-byte body cut short", _fixed_cut()),
        (TruncatedError, "A-ASSOCIATE fixed fields cut short", _associate_cut()),
        (TruncatedError, "A-ASSOCIATE item overruns the PDU", _top_item_overrun()),
        (TruncatedError, "PDV overruns the PDU", _pdv_tail("overrun")),
        (TruncatedError, "PDV header cut short", _pdv_tail("cut")),
        (DecodeError, "PDV item length below 2", _pdv_tail("short")),
        (_D.PDU_LENGTH_MISMATCH, "PDU-length short of the body", _short_pdu_length()),
        (_D.PDU_LENGTH_MISMATCH, "bytes after a four-byte body", _fixed_extra()),
        (_D.UNKNOWN_PDU_TYPE, "undefined PDU type", _unknown_type()),
        (_D.RESERVED_NONZERO, "PDU header reserved byte set", _header_reserved()),
        (_D.RESERVED_NONZERO, "four-byte body reserved field set", _fixed_reserved()),
        (_D.RESERVED_NONZERO, "A-ASSOCIATE reserved field set", _associate_reserved()),
        (_D.RESERVED_NONZERO, "item header reserved byte set", _item_reserved()),
        (_D.RESERVED_NONZERO, "presentation context reserved byte set", _context_reserved()),
        (_D.VALUE_OUT_OF_RANGE, "undefined reject or abort code", _fixed_out_of_range()),
        (_D.VALUE_OUT_OF_RANGE, "undefined role, result or identity code", _value_out_of_range()),
        (_D.PROTOCOL_VERSION, "protocol version without bit 0", _protocol_version()),
        *[(code, f"AE title: {code.value}", _ae_flaw(code)) for code in ae],
        (_D.NON_ASCII, "control or non-ASCII character", _non_ascii()),
        *[(code, f"UID: {code.value}", _uid_flaw(code)) for code in uid],
        (_D.EMPTY_VALUE, "empty UID, version name or identity field", _empty_value()),
        (
            _D.VALUE_TOO_LONG,
            "version name over 16 characters",
            _version_name_flaw(_D.VALUE_TOO_LONG),
        ),
        (_D.UNKNOWN_ITEM, "undefined item or sub-item type", _unknown_item()),
        (_D.MISSING_ITEM, "required item or sub-item left out", _missing_item()),
        (_D.DUPLICATE_ITEM, "item, sub-item or context ID twice", _duplicate_item()),
        (_D.ITEM_NOT_ALLOWED, "item or sub-item in the wrong place", _misplaced_item()),
        (
            _D.ITEM_LENGTH_MISMATCH,
            "item longer than its value, or overrunning",
            _item_length_mismatch(),
        ),
        (_D.ITEM_MALFORMED, "item value that cannot be decoded", _item_malformed()),
        (
            _D.FIELD_LENGTH_MISMATCH,
            "inner length disagrees with its item",
            _field_length_mismatch(),
        ),
        (_D.CONTEXT_ID_INVALID, "even presentation context ID", _even_context_id()),
        (_D.MCH_RESERVED_BITS, "MCH reserved bits set", _mch_reserved_bits()),
        (_D.NO_PDV, "P-DATA-TF without a PDV", st.just(encode_pdu(PDataTF()))),
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
