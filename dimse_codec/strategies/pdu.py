"""Hypothesis strategies for PS3.8 Upper Layer PDUs and their items, valid, quirky and malformed.

Valid strategies (:func:`pdus`, :func:`associate_rqs`, ..., the ``*_items`` ones) generate values
that :func:`~dimse_codec.pdu.encode_pdu` writes and :func:`~dimse_codec.pdu.decode_pdu` reads back
equal under :data:`~dimse_codec.STRICT` without a single diagnostic; their canonical and preserving
encodings are the same bytes. :func:`quirky_pdus` and :func:`unknown_pdus` add wire details PS3.8
tolerates (reserved bytes, padding, unknown items, short PDU-lengths) that must survive a lenient
round trip. Broken bytes are in :mod:`dimse_codec.strategies.malformed_pdu`.
"""

from __future__ import annotations

import dataclasses
import enum
import string
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from hypothesis import strategies as st

from dimse_codec.errors import DimseCodecError
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
    ItemType,
    MaximumLengthSubItem,
    PDataTF,
    PDUType,
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

_T = TypeVar("_T")

_KNOWN_ITEM_TYPES = frozenset(ItemType)
"""Every item and sub-item type PS3.8 and PS3.7 Annex D.3 define; any other one is unknown."""

_PDU_TYPES = frozenset(PDUType)
"""The seven PDU types of PS3.8 9.3; any other one is unknown."""

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


Expected = DiagnosticCode | type[DimseCodecError]
"""What a decoder must answer a malformed input with: a diagnostic code or an error class.

Shared by the malformed PDU, command set and data set strategies.
"""


# --- values --------------------------------------------------------------------------------------


def max_pdu_lengths(
    *, allow_unlimited: bool = True, allow_small: bool = True
) -> st.SearchStrategy[int]:
    """Maximum Length Received values (PS3.8 D.1) that find bugs: 0, tiny, typical and the largest.

    The model: the value limits the *variable field* of a P-DATA-TF, that is its PDU-length (the
    six-byte PDU header is not counted; ``decode_pdu(max_pdu_length=...)`` compares the same
    quantity). Each PDV spends six bytes of that field on its own header (four-byte item length,
    context ID, message control header), so a limit ``L`` carries fragments of at most ``L - 6``
    bytes. ``0`` means no limit (left out with ``allow_unlimited=False``); 8 to 4096 are limits
    that break peers assuming a sensible minimum (8 is the smallest that carries a two-byte
    fragment, odd ones force odd fragments, 4096 is DCMTK's minimum); 16382, 16384, 32768, 65536
    and 131072 are what peers send; ``2**32 - 1`` is the largest the four-byte field holds.
    ``allow_small=False`` leaves out 8 to 4096, for a caller whose point is not the cutting (a
    message cut for a limit of 8 is a PDU per two bytes: costly to send and to receive).
    """
    choices = [st.sampled_from(_TYPICAL_MAX_PDU_LENGTHS), st.just(0xFFFFFFFF)]
    if allow_small:
        choices[1:1] = [
            st.sampled_from(_SMALL_MAX_PDU_LENGTHS),
            st.integers(min_value=8, max_value=4096),
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


def _bytes_0_255() -> st.SearchStrategy[int]:
    """Any byte value."""
    return st.integers(min_value=0, max_value=255)


def _unknown_item_types() -> st.SearchStrategy[int]:
    """Item type codes neither PS3.8 nor PS3.7 Annex D.3 defines."""
    return _shared(_bytes_0_255).filter(lambda t: t not in _KNOWN_ITEM_TYPES)


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
    types = st.integers(min_value=0, max_value=255).filter(lambda t: t not in _PDU_TYPES)
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
