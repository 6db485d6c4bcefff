"""Association negotiation cases: every A-ASSOCIATE-RQ a real SCU could send, and its breakages.

The other kinds all start with the campaign's one standard A-ASSOCIATE-RQ, so an SCP's request
parser and its negotiation see a single input. Two kinds fill that in, both built from the
library's own PDU items (:mod:`dimse_codec.pdu`):

``negotiation``
    a valid request in depth (:func:`requests`): up to 128 presentation contexts with odd IDs
    and one to five transfer syntaxes each, every User Information sub-item (Asynchronous
    Operations Window, SCP/SCU Role Selection for several contexts, Implementation Version
    Name, SOP Class Extended and Common Extended Negotiation, User Identity of types 1-5 with
    and without a positive response requested; PS3.7 D.3.3), protocol versions with more bits
    than version 1, and called or calling AE titles the SCP does not know (its reject paths).
    PS3.8 9.3.2 and Table 9-10 (AE-6) ask for an A-ASSOCIATE-AC or -RJ, then the release.
``malformed-negotiation``
    one such request broken in one place (:func:`breakages`), walked over its item tree: each
    item and sub-item with its length past what remains of its parent (underflow), its value
    cut below its fixed fields, emptied, or lengthened, a UID of more than 64 characters, an
    inner field length past the item's end, one to three bytes left after a container's last
    sub-item; an item of an unknown type at each level (which
    PS3.8 9.3.1 says to ignore: the request stays valid) or of a known type where it does not
    belong; an even or a repeated presentation context ID; a required item left out; a
    protocol version without bit 0. Each :class:`Breakage` says what PS3.8 requires in answer
    (:attr:`Breakage.requires`): an A-ASSOCIATE-AC or -RJ for an ignored item, otherwise the
    A-ABORT of Table 9-10's AA-1 (an invalid PDU, Evt19, in Sta2).

The oracle (:func:`~dimse_codec.scpfuzz.oracle.judge`) decides validity from the bytes as for
every kind; the tests check that it agrees with :attr:`Breakage.requires`. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st

from dimse_codec._wire import struct_of
from dimse_codec.pdu import (
    AAssociateRQ,
    ApplicationContextItem,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    ItemType,
    MaximumLengthSubItem,
    PresentationContextRQItem,
    Role,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    TransferSyntaxSubItem,
    UnknownItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    decode_pdu,
    encode_item,
    encode_pdu,
)
from dimse_codec.pdu.structures import CONTAINS, ITEM_HEADER, PDUType, allowed_in
from dimse_codec.scpfuzz.model import (
    MORE_STORAGE_SOP_CLASSES,
    QUERY_RETRIEVE_SOP_CLASSES,
    STORAGE_SOP_CLASSES,
    VERIFICATION,
    WORKLIST_FIND,
    Case,
    Expect,
    Step,
    Target,
)
from dimse_codec.scpfuzz.steps import details, release_step
from dimse_codec.strategies import uids

__all__ = [
    "ABORT",
    "ANSWER",
    "BREAKAGES",
    "KINDS",
    "MALFORMED_KINDS",
    "VALID_KINDS",
    "Breakage",
    "Node",
    "applies",
    "break_request",
    "breakages",
    "negotiation_case",
    "nodes",
    "requests",
]

_ITEM_HEADER = struct_of(ITEM_HEADER)
_ITEM = _ITEM_HEADER.size

ANSWER = "an A-ASSOCIATE-AC or -RJ (PS3.8 9.3.2, Table 9-10 AE-6)"
"""What PS3.8 requires in answer to a valid A-ASSOCIATE-RQ."""
ABORT = "an A-ABORT (PS3.8 Table 9-10: Evt19 in Sta2, AA-1)"
"""What PS3.8 requires in answer to an A-ASSOCIATE-RQ that is not a valid PDU."""
IGNORED = "an A-ASSOCIATE-AC or -RJ: unrecognized items are ignored (PS3.8 9.3.1)"
"""What PS3.8 requires when the only flaw is an item of an unknown type."""

TRANSFER_SYNTAXES: tuple[str, ...] = (
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.5",
)
"""Transfer syntaxes a real SCU proposes (PS3.5 Annex A): the uncompressed three, deflated,
JPEG baseline and lossless, JPEG 2000 and RLE."""

ABSTRACT_SYNTAXES: tuple[str, ...] = (
    VERIFICATION,
    *STORAGE_SOP_CLASSES,
    *QUERY_RETRIEVE_SOP_CLASSES,
    WORKLIST_FIND,
    *MORE_STORAGE_SOP_CLASSES,
)
"""SOP classes the requests propose (SCPs know these); generated UIDs come beside them."""

_STORAGE_SERVICE = "1.2.840.10008.4.2"
"""The Storage Service Class UID (PS3.4 B.5), for Common Extended Negotiation."""

_UNKNOWN_TYPES: tuple[int, ...] = (0x00, 0x11, 0x22, 0x31, 0x41, 0x5A, 0x7F, 0xFF)
"""Item types PS3.8 does not define, at any level."""


# --- valid requests in depth ---------------------------------------------------------------------


@st.composite
def _identity(draw: st.DrawFn) -> UserIdentityRQSubItem:
    """A User Identity sub-item of one of the five types (PS3.7 D.3.3.7.1)."""
    kind = draw(st.sampled_from(list(UserIdentityType)))
    primary = draw(st.binary(min_size=1, max_size=48))
    secondary = draw(st.binary(min_size=1, max_size=24)) if kind == 2 else b""
    positive = draw(st.integers(0, 1))
    return UserIdentityRQSubItem(kind, primary, secondary, positive)


@st.composite
def _user_information(draw: st.DrawFn, sop_classes: Sequence[str]) -> UserInformationItem:
    """Every user information sub-item a requestor may send, in item-type order."""
    subs: list[Any] = [
        MaximumLengthSubItem(draw(st.sampled_from([0, 4096, 16384, 65536, 0x7FFFFFFF]))),
        ImplementationClassUIDSubItem(draw(uids())),
    ]
    if draw(st.booleans()):
        invoked, performed = draw(st.integers(0, 8)), draw(st.integers(0, 8))
        subs.append(AsynchronousOperationsWindowSubItem(invoked, performed))
    for sop_class in draw(st.lists(st.sampled_from(sop_classes), max_size=4, unique=True)):
        scu, scp = draw(st.sampled_from([(1, 0), (0, 1), (1, 1), (0, 0)]))
        subs.append(SCPSCURoleSelectionSubItem(sop_class, Role(scu), Role(scp)))
    if draw(st.booleans()):
        name = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789.", min_size=1, max_size=16))
        subs.append(ImplementationVersionNameSubItem(name))
    for sop_class in draw(st.lists(st.sampled_from(sop_classes), max_size=2, unique=True)):
        info = draw(st.binary(max_size=8))
        subs.append(SOPClassExtendedNegotiationSubItem(sop_class, info))
    for sop_class in draw(st.lists(st.sampled_from(sop_classes), max_size=2, unique=True)):
        related = tuple(draw(st.lists(uids(), max_size=2)))
        subs.append(SOPClassCommonExtendedNegotiationSubItem(sop_class, _STORAGE_SERVICE, related))
    if draw(st.booleans()):
        subs.append(draw(_identity()))
    return UserInformationItem(tuple(subs))


_CONTEXT_COUNTS = st.sampled_from([1, 2, 3, 8, 32, 128])
_ABSTRACT = st.one_of(st.sampled_from(ABSTRACT_SYNTAXES), uids())
_SYNTAXES = st.lists(st.sampled_from(TRANSFER_SYNTAXES), min_size=1, max_size=5, unique=True)
"""Built once: a strategy built inside a draw is validated again at every draw."""


@st.composite
def _contexts(draw: st.DrawFn) -> list[PresentationContextRQItem]:
    """One to 128 presentation contexts with odd IDs, one to five transfer syntaxes each."""
    count = draw(_CONTEXT_COUNTS)
    out = []
    for index in range(count):
        abstract = (
            draw(_ABSTRACT) if index < 8 else ABSTRACT_SYNTAXES[index % len(ABSTRACT_SYNTAXES)]
        )
        chosen = draw(_SYNTAXES) if index < 8 else list(TRANSFER_SYNTAXES[: 1 + index % 3])
        out.append(PresentationContextRQItem.build(2 * index + 1, abstract, tuple(chosen)))
    return out


@st.composite
def requests(draw: st.DrawFn, target: Target) -> AAssociateRQ:
    """A valid A-ASSOCIATE-RQ a real SCU could send, in depth (see the module documentation).

    The AE titles are the campaign's, or now and then one the SCP does not know; the protocol
    version is 1, or one with more bits set besides bit 0 (PS3.8 9.3.2: a bit per version).
    """
    base = target.request
    called = draw(st.sampled_from([base.called_ae_title, base.called_ae_title, "NOBODY"]))
    calling = draw(st.sampled_from([base.calling_ae_title, base.calling_ae_title, "STRANGER"]))
    version = draw(st.sampled_from([1, 1, 1, 3, 0x8001, 0xFFFF]))
    contexts = draw(_contexts())
    sop_classes = sorted({str(c.abstract_syntax) for c in contexts})
    user = draw(_user_information(sop_classes))
    items: tuple[Any, ...] = (ApplicationContextItem(), *contexts, user)
    return AAssociateRQ(called, calling, items, version)


# --- the item tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    """One item or sub-item of an encoded A-ASSOCIATE-RQ: where it is and what it holds.

    ``where`` is its index among the PDU's variable items, then among its parent's sub-items;
    ``offset`` the first byte of its header in the PDU's bytes and ``end`` the end of its
    parent's value (of the PDU, for a top-level item).
    """

    where: tuple[int, ...]
    item: Any
    offset: int
    length: int
    end: int
    types: tuple[int, ...]
    """The item types along the path (the parent's, then this item's)."""

    @property
    def label(self) -> str:
        """The item's types with their positions (``0x20 #3 > 0x40 #2``)."""
        pairs = zip(self.types, self.where, strict=True)
        return " > ".join(f"0x{type_:02X} #{index}" for type_, index in pairs)

    @property
    def path(self) -> str:
        """The item's types alone (``0x20 > 0x40``): where it is, whichever context."""
        return _path(self.types)


def _path(types: Sequence[int]) -> str:
    """Item types as a path (``0x20 > 0x40``), as findings and flaws name them."""
    return " > ".join(f"0x{type_:02X}" for type_ in types)


def nodes(request: AAssociateRQ) -> list[Node]:
    """Every item and sub-item of ``request`` as encoded (canonical), in wire order."""
    data = encode_pdu(request, canonical=True)
    decoded = decode_pdu(data)
    if not isinstance(decoded, AAssociateRQ):  # pragma: no cover - encoded from one
        raise TypeError("not an A-ASSOCIATE-RQ")
    out = []
    for index, item in enumerate(decoded.variable_items):
        offset = item.offset or 0  # decoded items know where they start
        _, _, length = _ITEM_HEADER.unpack_from(data, offset)
        out.append(Node((index,), item, offset, length, len(data), (int(item.item_type),)))
        for sub_index, sub in enumerate(getattr(item, "sub_items", ())):
            _, _, sub_length = _ITEM_HEADER.unpack_from(data, sub.offset)
            types = (int(item.item_type), int(sub.item_type))
            end = offset + _ITEM + length
            out.append(Node((index, sub_index), sub, sub.offset, sub_length, end, types))
    return out


# --- breakages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breakage:
    """One flaw put in an encoded A-ASSOCIATE-RQ: its bytes, what it is, and the answer due.

    ``offset`` is where the broken item's header starts in ``data`` (for a fixed field, where
    the field is); ``valid`` whether the request stays a valid PDU (only items PS3.8 says to
    ignore); ``requires`` what PS3.8 asks of the SCP in answer.
    """

    name: str
    data: bytes
    offset: int
    where: str
    valid: bool
    path: str = ""
    """The broken item's types alone (``0x20 > 0x40``; the breakage's name for the whole PDU)."""

    @property
    def requires(self) -> str:
        """What PS3.8 requires in answer (:data:`ANSWER`, :data:`IGNORED` or :data:`ABORT`)."""
        if not self.valid:
            return ABORT
        return IGNORED if self.name == "unknown-item" else ANSWER


def _edited(
    request: AAssociateRQ, where: tuple[int, ...], new: Any | None, insert: bool = False
) -> AAssociateRQ:
    """``request`` with the item at ``where`` replaced by ``new`` (``None``: left out), or with
    ``new`` put before it when ``insert`` (a sub-item when ``where`` is two deep)."""
    items: list[Any] = list(request.variable_items)
    level = items
    if len(where) == 2:
        level = list(items[where[0]].sub_items)
    at = where[-1]
    level[at : at if insert else at + 1] = [] if new is None else [new]
    if len(where) == 2:
        items[where[0]] = replace(items[where[0]], sub_items=tuple(level))
    return replace(request, variable_items=tuple(items))


def _with(request: AAssociateRQ, where: tuple[int, ...], new: Any | None) -> AAssociateRQ:
    """``request`` with the item at ``where`` replaced by ``new`` (``None``: left out)."""
    return _edited(request, where, new)


def _inserted(request: AAssociateRQ, where: tuple[int, ...], new: Any) -> AAssociateRQ:
    """``request`` with ``new`` put before the item at ``where``."""
    return _edited(request, where, new, insert=True)


def _value(item: Any) -> bytes:
    """An item's value as the codec encodes it (without its four-byte header)."""
    return encode_item(item, canonical=True)[_ITEM:]


_FIXED: Mapping[int, int] = MappingProxyType(
    {
        ItemType.PRESENTATION_CONTEXT_RQ: 4,
        ItemType.MAXIMUM_LENGTH: 4,
        ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: 4,
        ItemType.SCP_SCU_ROLE_SELECTION: 4,
        ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: 2,
        ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: 6,
        ItemType.USER_IDENTITY_RQ: 6,
    }
)
"""Bytes of fixed fields (or length fields) at the start of each structured item's value."""

_INNER: Mapping[int, int] = MappingProxyType(
    {
        ItemType.SCP_SCU_ROLE_SELECTION: 0,
        ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: 0,
        ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: 0,
        ItemType.USER_IDENTITY_RQ: 2,
    }
)
"""Where the first two-byte inner length of an item's value is (UID-length, primary length)."""

_UID_ITEMS = frozenset(
    {
        ItemType.APPLICATION_CONTEXT,
        ItemType.ABSTRACT_SYNTAX,
        ItemType.TRANSFER_SYNTAX,
        ItemType.IMPLEMENTATION_CLASS_UID,
        ItemType.SCP_SCU_ROLE_SELECTION,
        ItemType.SOP_CLASS_EXTENDED_NEGOTIATION,
        ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION,
    }
)
"""Items that carry a UID."""

_LONG_UID = "1.2.840.10008." + ".".join(["1234567"] * 8) + ".99"
"""A UID of 80 characters, over PS3.5 9.1's 64."""


def _long_uid(item: Any) -> Any:
    """``item`` with its (first) UID over 64 characters."""
    for field_name in (
        "application_context_name",
        "abstract_syntax_name",
        "transfer_syntax_name",
        "implementation_class_uid",
        "sop_class_uid",
    ):
        if hasattr(item, field_name):
            return replace(item, **{field_name: _LONG_UID})
    raise ValueError(f"{type(item).__name__} carries no UID")  # pragma: no cover


def _encode(request: AAssociateRQ) -> bytes:
    """The request's bytes as the codec writes them (kept trailing bytes included)."""
    return encode_pdu(request)


def _underflow(request: AAssociateRQ, node: Node, extra: int) -> bytes:
    """The item's length set 1 to 32 bytes (by ``extra``) past what remains of its parent (or
    the PDU): within the 64 bytes a UID item may hold, so a parser's overrun check is met."""
    data = bytearray(_encode(request))
    length = min(node.end - node.offset - _ITEM + 1 + extra % 32, 0xFFFF)
    data[node.offset + 2 : node.offset + 4] = length.to_bytes(2, "big")
    return bytes(data)


def _applies(name: str, item_type: int) -> bool:
    """Whether breakage ``name`` applies to an item of ``item_type``."""
    if name == "short":
        return item_type in _FIXED
    if name == "long-uid":
        return item_type in _UID_ITEMS
    if name == "field-length":
        return item_type in _INNER
    if name == "trailing":
        return item_type in (ItemType.PRESENTATION_CONTEXT_RQ, ItemType.USER_INFORMATION)
    # the application information of 0x56 runs to its end: any length is valid
    return name != "long" or item_type != ItemType.SOP_CLASS_EXTENDED_NEGOTIATION


def _breakage(request: AAssociateRQ, node: Node, name: str, amount: int) -> Breakage | None:
    """One named breakage of ``node`` (``None`` when it does not apply to that item)."""
    item_type = int(node.item.item_type)
    if not _applies(name, item_type):
        return None
    value = _value(node.item)
    raw: Callable[[bytes], Any] = lambda v: UnknownItem(item_type, v)  # noqa: E731
    if name == "underflow":
        data = _underflow(request, node, amount)
    elif name == "short":
        data = _encode(_with(request, node.where, raw(value[: amount % _FIXED[item_type]])))
    elif name == "zero":
        data = _encode(_with(request, node.where, raw(b"")))
    elif name == "long":
        data = _encode(_with(request, node.where, raw(value + b"\xff" * (1 + amount % 7))))
    elif name == "long-uid":
        data = _encode(_with(request, node.where, _long_uid(node.item)))
    elif name == "field-length":
        at = _INNER[item_type]
        patched = bytearray(value)
        patched[at : at + 2] = min(len(value) + amount, 0xFFFF).to_bytes(2, "big")
        data = _encode(_with(request, node.where, raw(bytes(patched))))
    elif name == "trailing":  # one to three bytes after the last sub-item: no room for a header
        left = b"\x40\x00\x00"[: 1 + amount % 3]
        data = _encode(_with(request, node.where, replace(node.item, trailing=left)))
    elif name in ("unknown-item", "misplaced-item"):
        new: Any
        if name == "unknown-item":
            new = UnknownItem(_UNKNOWN_TYPES[amount % len(_UNKNOWN_TYPES)], bytes(amount % 9))
        else:  # a known type one level off: a sub-item at the top, an item among sub-items
            new = (
                TransferSyntaxSubItem(TRANSFER_SYNTAXES[0])
                if len(node.where) == 1
                else ApplicationContextItem()
            )
        data = _encode(_inserted(request, node.where, new))
    elif name == "missing":
        data = _encode(_with(request, node.where, None))
        valid = _still_valid(request, node)
        return Breakage(name, data, node.offset, node.label, valid, node.path)
    else:
        raise ValueError(f"unknown breakage {name!r}; known: {BREAKAGES}")
    return Breakage(name, data, node.offset, node.label, name == "unknown-item", node.path)


def _still_valid(request: AAssociateRQ, node: Node) -> bool:
    """Whether leaving ``node`` out keeps the request valid (one of several of its kind)."""
    item = node.item
    optional = (
        AsynchronousOperationsWindowSubItem,
        SCPSCURoleSelectionSubItem,
        ImplementationVersionNameSubItem,
        SOPClassExtendedNegotiationSubItem,
        SOPClassCommonExtendedNegotiationSubItem,
        UserIdentityRQSubItem,
    )
    if isinstance(item, optional):
        return True
    if isinstance(item, PresentationContextRQItem):
        return len(request.presentation_contexts) > 1
    if isinstance(item, TransferSyntaxSubItem):
        parent = request.variable_items[node.where[0]]
        return len(getattr(parent, "transfer_syntaxes", ())) > 1
    return False


BREAKAGES: tuple[str, ...] = (
    "underflow",
    "short",
    "zero",
    "long",
    "long-uid",
    "field-length",
    "trailing",
    "unknown-item",
    "misplaced-item",
    "missing",
)
"""The breakages walked over every item: see the module documentation."""

_CONTEXT_BREAKAGES: tuple[str, ...] = ("even-context-id", "duplicate-context-id", "version")
"""Breakages of the request as a whole."""


def _whole(request: AAssociateRQ, name: str, amount: int) -> Breakage:
    """A breakage of the request as a whole: context IDs, protocol version."""
    contexts = [
        (index, item)
        for index, item in enumerate(request.variable_items)
        if isinstance(item, PresentationContextRQItem)
    ]
    index, item = contexts[amount % len(contexts)]
    offset = 6 + 68  # the first item after the fixed fields (PS3.8 Table 9-11)
    if name == "even-context-id":
        new = replace(item, presentation_context_id=(2 * amount) % 256)
        broken = _with(request, (index,), new)
    elif name == "duplicate-context-id":
        first = contexts[0][1].presentation_context_id
        broken = _inserted(request, (index,), replace(item, presentation_context_id=first))
    else:  # the protocol version without bit 0 (version 1)
        broken, offset = replace(request, protocol_version=2 * (amount % 0x8000)), 6
    return Breakage(name, _encode(broken), offset, name, False, "A-ASSOCIATE-RQ")


def break_request(request: AAssociateRQ, name: str, node: Node | None, amount: int) -> Breakage:
    """Break ``request`` with breakage ``name`` at ``node`` (``amount`` varies it).

    Raises ``ValueError`` when the breakage does not apply to that item.
    """
    if name in _CONTEXT_BREAKAGES:
        return _whole(request, name, amount)
    if node is None:
        raise ValueError(f"breakage {name!r} needs an item")
    broken = _breakage(request, node, name, amount)
    if broken is None:
        raise ValueError(f"breakage {name!r} does not apply to item 0x{node.item.item_type:02X}")
    return broken


def breakages(request: AAssociateRQ, amount: int = 1) -> list[Breakage]:
    """Every breakage that applies to every item of ``request`` (and to the whole request)."""
    out = []
    for node in nodes(request):
        for name in BREAKAGES:
            broken = _breakage(request, node, name, amount)
            if broken is not None:
                out.append(broken)
    out.extend(_whole(request, name, amount) for name in _CONTEXT_BREAKAGES)
    return out


# --- the cases -----------------------------------------------------------------------------------


def negotiation_case(request: AAssociateRQ, breakage: Breakage | None = None) -> Case:
    """The case sending ``request`` (or ``breakage``'s bytes) then, once accepted, releasing."""
    if breakage is None:
        contexts = len(request.presentation_contexts)
        return Case(
            "negotiation",
            True,
            f"A-ASSOCIATE-RQ with {contexts} presentation context(s), "
            f"{request.calling_ae_title!r} -> {request.called_ae_title!r}",
            (Step("A-ASSOCIATE-RQ", _encode(request), Expect.ASSOCIATION), release_step()),
            details(requires=ANSWER, contexts=contexts, version=request.protocol_version),
        )
    label = f"A-ASSOCIATE-RQ, {breakage.name} at {breakage.where}"
    steps = [Step(label, breakage.data, Expect.ASSOCIATION)]
    if breakage.valid:
        steps.append(release_step())
    return Case(
        "malformed-negotiation",
        breakage.valid,
        label,
        tuple(steps),
        details(
            # one finding per breakage and variable item, not per sub-item: a server that
            # takes an overrun in one User Information sub-item takes it in the others
            flaw=f"{breakage.name} at {breakage.path.partition(' > ')[0]}",
            breakage=breakage.name,
            path=breakage.path,
            where=breakage.where,
            offset=breakage.offset,
            requires=breakage.requires,
        ),
    )


@st.composite
def _negotiation(draw: st.DrawFn, target: Target) -> Case:
    return negotiation_case(draw(requests(target)))


def _paths() -> tuple[tuple[int, ...], ...]:
    """The item types along every path an A-ASSOCIATE-RQ's items can have (PS3.8 9.3.2)."""
    out: list[tuple[int, ...]] = []
    for top in sorted(allowed_in(PDUType.A_ASSOCIATE_RQ, PDUType.A_ASSOCIATE_RQ)):
        out.append((int(top),))
        if top in CONTAINS:
            subs = sorted(allowed_in(top, PDUType.A_ASSOCIATE_RQ))
            out.extend((int(top), int(sub)) for sub in subs)
    return tuple(out)


_FLAWS: tuple[tuple[str, str], ...] = (
    *sorted(
        (name, _path(types))
        for types in _paths()
        for name in BREAKAGES
        if _applies(name, types[-1])
    ),
    *((name, "") for name in _CONTEXT_BREAKAGES),
)
"""Every breakage with every item path it applies to (``""``: the request as a whole)."""


@st.composite
def _malformed_negotiation(draw: st.DrawFn, target: Target) -> Case:
    """A request broken once: the breakage and the item path first (evenly), then the request,
    then the item.

    The flaw is drawn before the request, so it stays put while Hypothesis shrinks the request
    (fewer contexts, fewer sub-items): a finding then shrinks in a few runs. Drawn after, it was
    an index into the flaws of the request at hand, and every smaller request moved it to
    another flaw, another signature, so shrinking ran to its limit in vain. When the request
    has no item on the path (an optional sub-item it left out), the breakage goes to an item
    of the same top-level type it applies to (the finding's flaw names only that type), else to
    one the request has.
    """
    name, path = draw(st.sampled_from(_FLAWS))
    request = draw(requests(target))
    amount = draw(st.integers(min_value=1, max_value=0xFF))
    if not path:
        return negotiation_case(request, break_request(request, name, None, amount))
    walked = nodes(request)
    top = path.partition(" > ")[0]
    matching = [n for n in walked if n.path == path] or [
        n for n in walked if n.path.partition(" > ")[0] == top and _applies(name, n.types[-1])
    ]
    if not matching:
        pairs = sorted({(b, n.path) for n in walked for b in BREAKAGES if _applies(b, n.types[-1])})
        name, path = draw(st.sampled_from(pairs))
        matching = [n for n in walked if n.path == path]
    node = matching[draw(st.integers(0, len(matching) - 1))]
    return negotiation_case(request, break_request(request, name, node, amount))


def applies(target: Target) -> bool:
    """Whether the kinds apply: always (they need only an SCP that reads A-ASSOCIATE-RQs)."""
    return True


_Builder = Callable[[Target], st.SearchStrategy[Case]]

VALID_KINDS: Mapping[str, _Builder] = MappingProxyType({"negotiation": _negotiation})
"""The valid kind (registered by :mod:`dimse_codec.scpfuzz.cases`)."""

MALFORMED_KINDS: Mapping[str, _Builder] = MappingProxyType(
    {"malformed-negotiation": _malformed_negotiation}
)
"""The malformed kind (registered by :mod:`dimse_codec.scpfuzz.cases`)."""

KINDS: Mapping[str, _Builder] = MappingProxyType({**VALID_KINDS, **MALFORMED_KINDS})
"""Both kinds."""
