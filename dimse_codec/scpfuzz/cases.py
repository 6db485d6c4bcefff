"""What the live fuzzer sends: one association's worth of valid or malformed traffic, sans-I/O.

A :class:`Case` is the exact bytes of one association from the requestor's side, cut into
:class:`Step` s: each step is what we send before waiting for the SCP's answer (the
A-ASSOCIATE-RQ, one DIMSE request, the A-RELEASE-RQ ...), with the answer a conforming SCP
gives when it takes that input as valid (:class:`Expect`). :func:`cases` generates them with
Hypothesis for one SCP, described by a :class:`Target` (what it accepted when we proposed
:func:`proposal`), so every byte is known before the connection opens: a finding's reproducer is
the bytes themselves, and Hypothesis can shrink a case like any other value.

Valid kinds (``echo``, ``store``, ``associate-release``, ``abort``) are built with the library's
own encoders and the strategies of :mod:`dimse_codec.strategies`; malformed kinds break one
thing: a PDU (``malformed-pdu``), a command set (``malformed-command``), a data set
(``malformed-dataset``), the P-DATA stream (``malformed-stream``, ``odd-fragment``,
``context-change``, ``bad-length``, ``oversized``) or the protocol (``wrong-context``,
``unexpected-pdu``), and the stateful kinds of :mod:`dimse_codec.scpfuzz.states` (every PDU
type in every state a requestor reaches, release collisions, aborts, the window overrun), and
the association negotiation kinds of :mod:`dimse_codec.scpfuzz.negotiation` (``negotiation``,
``malformed-negotiation``).
Whether a step really is invalid is decided by our decoder, not by the kind (see
:mod:`dimse_codec.scpfuzz.oracle`): a flaw PS3.8 tells receivers to ignore leaves it valid.
The query/retrieve and archive storage kinds (``find``, ``get``, ``move``, ``cancel`` ... and
their ``malformed-query*`` variants) come from :mod:`dimse_codec.scpfuzz.queries`.
"""

from __future__ import annotations

import contextlib
import functools
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from types import MappingProxyType

from hypothesis import strategies as st
from pydicom.dataset import Dataset

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.association import (
    DEFAULT_MAX_PDU_LENGTH,
    build_request,
)
from dimse_codec.dataset import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    encode_dataset,
)
from dimse_codec.dimse.codec import decode_command_set, encode_command_set
from dimse_codec.dimse.primitives import C_ECHO, C_STORE, DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import encode_pdata, fragment_size
from dimse_codec.pdu import (
    MCH_COMMAND,
    MCH_LAST,
    PDU,
    AAssociateRQ,
    AReleaseRQ,
    encode_pdu,
)
from dimse_codec.scpfuzz import negotiation, states
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
from dimse_codec.scpfuzz.normalized import MALFORMED_N_KINDS, N_CONTEXTS, VALID_N_KINDS
from dimse_codec.scpfuzz.queries import MALFORMED_QUERY_KINDS, VALID_QUERY_KINDS
from dimse_codec.scpfuzz.steering import kind_weight, weighted_index
from dimse_codec.scpfuzz.steps import (
    EXPECT_BY_PDU_TYPE,
    details,
    joined,
    message_id,
    message_name,
    once,
    parts,
    pdata,
    pdu_label,
    release_step,
    request_step,
    send_limit,
    sendable_malformed_pdus,
)
from dimse_codec.strategies import (
    aborts,
    associate_acs,
    associate_rjs,
    associate_rqs,
    datasets,
    malformed_command_sets,
    malformed_datasets,
    malformed_streams,
    release_rps,
    uids,
)
from dimse_codec.strategies.raw import message_pdvs, one_pdv_per_pdu, pdv_item
from dimse_codec.tables.messages import COMMAND_DATA_SET_TYPE_NULL

__all__ = [
    "MALFORMED_KINDS",
    "STORAGE_SOP_CLASSES",
    "VALID_KINDS",
    "VERIFICATION",
    "Case",
    "CaseGroup",
    "Expect",
    "Step",
    "Target",
    "cases",
    "cases_first",
    "message_name",
    "pdu_label",
    "probe_steps",
    "proposal",
    "release_step",
]


_IMPLICIT = IMPLICIT_VR_LITTLE_ENDIAN.uid
_EXPLICIT = EXPLICIT_VR_LITTLE_ENDIAN.uid
_UNPROPOSED_CONTEXT = 255
"""A context ID our proposal never uses (it proposes at most 1-57)."""
_MAX_OVERSIZE = 1 << 20
"""Largest peer maximum the ``oversized`` kind goes over: it sends one PDU that much larger."""


def proposal(
    calling_ae_title: str,
    called_ae_title: str,
    *,
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
) -> AAssociateRQ:
    """The A-ASSOCIATE-RQ every case starts with: Verification, storage and query/retrieve.

    Context 1 is Verification, 3 and 5 Secondary Capture in Implicit and in Explicit VR Little
    Endian, 7 CT and 9 MR Image Storage in either: so an SCP that accepts anything at all
    accepts C-ECHO, and a storage SCP accepts C-STORE in both encodings. From 11 on come the
    Patient Root and Study Root Query/Retrieve FIND, MOVE and GET models and Modality Worklist
    FIND, each once in Implicit and once in Explicit VR Little Endian, then more storage
    classes (:data:`~dimse_codec.scpfuzz.model.MORE_STORAGE_SOP_CLASSES`) in either. Every
    storage class is proposed with both roles (PS3.7 D.3.3.4), so a C-GET's SCP may send its
    C-STORE sub-operations back on the same association. The DIMSE-N contexts of
    :data:`~dimse_codec.scpfuzz.normalized.N_CONTEXTS` come last (print, storage commitment).
    """
    both = (_IMPLICIT, _EXPLICIT)
    secondary, ct, mr = STORAGE_SOP_CLASSES
    contexts: list[tuple[str, tuple[str, ...]]] = [
        (VERIFICATION, both),
        (secondary, (_IMPLICIT,)),
        (secondary, (_EXPLICIT,)),
        (ct, both),
        (mr, both),
    ]
    for sop_class in (*QUERY_RETRIEVE_SOP_CLASSES, WORKLIST_FIND):
        contexts += [(sop_class, (_IMPLICIT,)), (sop_class, (_EXPLICIT,))]
    contexts += [(sop_class, both) for sop_class in MORE_STORAGE_SOP_CLASSES]
    contexts += N_CONTEXTS
    roles = {uid: (True, True) for uid in (*STORAGE_SOP_CLASSES, *MORE_STORAGE_SOP_CLASSES)}
    return build_request(
        calling_ae_title, called_ae_title, contexts, max_pdu_length=max_pdu_length, roles=roles
    )


# --- building blocks ------------------------------------------------------------------------------


def _echo_request(draw: st.DrawFn) -> C_ECHO:
    """A valid C-ECHO-RQ."""
    return C_ECHO(MessageID=message_id(draw), AffectedSOPClassUID=VERIFICATION)


@st.composite
def _store_dataset(draw: st.DrawFn, target: Target, context_id: int) -> Dataset:
    """A small generated data set for a C-STORE on a storage context, as a SCP files it.

    The data set comes from :func:`~dimse_codec.strategies.datasets` in the context's transfer
    syntax, with a SOP class and instance UID and the patient, study and series identifiers a
    storage SCP files instances by.
    """
    context = target.accepted[context_id]
    ds = draw(once(datasets, transfer_syntax=context.transfer_syntax, max_elements=3))
    ds.SOPClassUID = context.abstract_syntax
    ds.SOPInstanceUID = draw(uids())
    ds.PatientID = "DIMSEFUZZ"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1077.1"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1077.1.1"
    return ds


def _store_of(draw: st.DrawFn, target: Target, context_id: int, ds: Dataset) -> C_STORE:
    """A valid C-STORE-RQ of ``ds`` on a storage context."""
    context = target.accepted[context_id]
    return C_STORE(
        MessageID=message_id(draw),
        AffectedSOPClassUID=context.abstract_syntax,
        AffectedSOPInstanceUID=str(ds.SOPInstanceUID),
        Priority=draw(st.sampled_from([0, 1, 2])),
        DataSet=encode_dataset(ds, context.transfer_syntax),
    )


@st.composite
def _store_request(draw: st.DrawFn, target: Target, context_id: int) -> C_STORE:
    """A valid C-STORE-RQ of a small generated data set on a storage context."""
    return _store_of(draw, target, context_id, draw(_store_dataset(target, context_id)))


@st.composite
def _any_valid_request(draw: st.DrawFn, target: Target) -> tuple[DIMSEPrimitive, int]:
    """A valid C-ECHO or C-STORE request and the accepted context it belongs on."""
    choices: list[str] = []
    if target.verification_context is not None:
        choices.append("echo")
    if target.storage_contexts:
        choices.append("store")
    if draw(st.sampled_from(choices)) == "echo":
        cid = target.verification_context
        if cid is None:  # pragma: no cover - excluded above
            raise DimseCodecError("no Verification context")
        return _echo_request(draw), cid
    cid = draw(st.sampled_from(target.storage_contexts))
    return draw(_store_request(target, cid)), cid


# --- valid kinds -------------------------------------------------------------------------------


@st.composite
def _echo(draw: st.DrawFn, target: Target) -> Case:
    context_id = target.verification_context
    if context_id is None:  # pragma: no cover - the kind is offered only with the context
        raise DimseCodecError("no Verification context")
    request = _echo_request(draw)
    limit = send_limit(draw, target)
    per_pdu = 2 if limit >= 16 and draw(st.booleans()) else 1
    data = pdata(request, context_id, limit, per_pdu)
    return Case(
        "echo",
        True,
        f"C-ECHO-RQ (message {request.MessageID}) cut for a {limit}-byte maximum, "
        f"{per_pdu} PDV(s) per PDU",
        (request_step(target), Step("C-ECHO-RQ", data, Expect.RESPONSE), release_step()),
        details(message="C-ECHO-RQ", context_id=context_id, max_pdu_length=limit),
    )


@st.composite
def _store(draw: st.DrawFn, target: Target) -> Case:
    context_id = draw(st.sampled_from(target.storage_contexts))
    request = draw(_store_request(target, context_id))
    limit = send_limit(draw, target)
    per_pdu = 2 if limit >= 16 and draw(st.booleans()) else 1
    plan = encode_pdata(
        request,
        context_id,
        max_pdu_length=limit,
        pdvs_per_pdu=per_pdu,
        command_with_data=draw(st.booleans()),
    )
    data = joined(plan)
    size = len(request.payload_bytes("DataSet") or b"")
    return Case(
        "store",
        True,
        f"C-STORE-RQ of a {size}-byte data set on context {context_id} cut for a "
        f"{limit}-byte maximum",
        (request_step(target), Step("C-STORE-RQ", data, Expect.RESPONSE), release_step()),
        details(
            message="C-STORE-RQ",
            context_id=context_id,
            transfer_syntax=target.accepted[context_id].transfer_syntax,
            max_pdu_length=limit,
            dataset_length=size,
        ),
    )


def _associate_release(target: Target) -> st.SearchStrategy[Case]:
    return st.just(
        Case(
            "associate-release",
            True,
            "A-ASSOCIATE-RQ then A-RELEASE-RQ, nothing in between",
            (request_step(target), release_step()),
        )
    )


@st.composite
def _abort(draw: st.DrawFn, target: Target) -> Case:
    abort = draw(once(aborts))
    return Case(
        "abort",
        True,
        f"A-ASSOCIATE-RQ then an A-ABORT (source {int(abort.source)}, "
        f"reason {int(abort.reason_diag)})",
        (request_step(target), Step("A-ABORT", encode_pdu(abort), Expect.NOTHING)),
    )


# --- malformed kinds ---------------------------------------------------------------------------


@st.composite
def _odd_fragment(draw: st.DrawFn, target: Target) -> Case:
    """A valid request whose command set (or data set) is cut at an odd offset."""
    request, context_id = draw(_any_valid_request(target))
    command, dataset = parts(request)
    cut_in, where = command, "command set"
    if dataset is not None and len(dataset) > 2 and draw(st.booleans()):
        cut_in, where = dataset, "data set"
    cut = draw(st.integers(min_value=0, max_value=len(cut_in) // 2 - 1)) * 2 + 1
    pdvs: list[tuple[int, int, bytes]] = []
    if where == "command set":
        pdvs += [
            (context_id, MCH_COMMAND, command[:cut]),
            (context_id, MCH_COMMAND | MCH_LAST, command[cut:]),
        ]
        if dataset is not None:
            pdvs.append((context_id, MCH_LAST, dataset))
    else:
        pdvs.append((context_id, MCH_COMMAND | MCH_LAST, command))
        pdvs += [(context_id, 0, cut_in[:cut]), (context_id, MCH_LAST, cut_in[cut:])]
    name = message_name(request)
    return Case(
        "odd-fragment",
        False,
        f"{name} whose {where} is cut after {cut} bytes: two odd-length PDVs",
        (
            request_step(target),
            Step(f"{name} in odd fragments", one_pdv_per_pdu(pdvs), Expect.RESPONSE),
        ),
        details(flaw=f"odd-length {where} fragment", message=name, cut=cut),
    )


@st.composite
def _context_change(draw: st.DrawFn, target: Target) -> Case:
    """A valid request whose second PDV travels on another context ID."""
    request, context_id = draw(_any_valid_request(target))
    command, dataset = parts(request)
    others = [cid for cid in sorted(target.accepted) if cid != context_id]
    other = draw(st.sampled_from([*others, _UNPROPOSED_CONTEXT]))
    if dataset is not None and len(dataset) >= 4:
        half = len(dataset) // 4 * 2
        pdvs = [
            (context_id, MCH_COMMAND | MCH_LAST, command),
            (context_id, 0, dataset[:half]),
            (other, MCH_LAST, dataset[half:]),
        ]
        where = "data set"
    else:
        half = len(command) // 4 * 2
        pdvs = [
            (context_id, MCH_COMMAND, command[:half]),
            (other, MCH_COMMAND | MCH_LAST, command[half:]),
        ]
        if dataset is not None:
            pdvs.append((other, MCH_LAST, dataset))
        where = "command set"
    name = message_name(request)
    return Case(
        "context-change",
        False,
        f"{name} on context {context_id} whose {where} continues on context {other}",
        (
            request_step(target),
            Step(f"{name} changing context", one_pdv_per_pdu(pdvs), Expect.RESPONSE),
        ),
        details(
            flaw=f"context change in the {where}", message=name, context_id=context_id, other=other
        ),
    )


_LENGTH_FLAWS = (
    "PDU-length too long",
    "PDU-length too short",
    "PDU-length 0xFFFFFFFF",
    "PDV item length overruns the PDU",
    "PDV item length below 2",
)


@st.composite
def _bad_length(draw: st.DrawFn, target: Target) -> Case:
    """A valid request in one PDU whose PDU-length or first PDV item length is wrong."""
    request, context_id = draw(_any_valid_request(target))
    command, dataset = parts(request)
    pdvs = [pdv_item(context_id, MCH_COMMAND | MCH_LAST, command)]
    if dataset is not None:
        pdvs.append(pdv_item(context_id, MCH_LAST, dataset))
    body = bytearray(b"".join(pdvs))
    flaw = draw(st.sampled_from(_LENGTH_FLAWS))
    declared = len(body)
    if flaw == "PDU-length too long":
        declared += draw(st.integers(min_value=1, max_value=64))
    elif flaw == "PDU-length too short":
        declared -= draw(st.integers(min_value=1, max_value=min(len(body) - 1, 64)))
    elif flaw == "PDU-length 0xFFFFFFFF":
        declared = 0xFFFFFFFF
    elif flaw == "PDV item length overruns the PDU":
        item = len(command) + 2 + draw(st.integers(min_value=1, max_value=0xFFFF))
        body[0:4] = struct.pack(">L", item)
    else:
        body[0:4] = struct.pack(">L", draw(st.integers(min_value=0, max_value=1)))
    data = struct.pack(">BBL", 0x04, 0, declared) + bytes(body)
    name = message_name(request)
    return Case(
        "bad-length",
        False,
        f"{name} in one P-DATA-TF with {flaw} (PDU-length {declared}, body {len(body)})",
        (request_step(target), Step(f"{name} with {flaw}", data, Expect.RESPONSE)),
        details(flaw=flaw, message=name, declared=declared, actual=len(body)),
    )


@st.composite
def _oversized(draw: st.DrawFn, target: Target) -> Case:
    """A valid C-STORE-RQ whose data set PDV makes a P-DATA-TF over the SCP's maximum.

    The data set's (0042,0011) Encapsulated Document (OB) is set to as many bytes as the
    maximum, so its one PDV cannot fit; everything else about the message is valid.
    """
    limit = target.peer_max_pdu_length
    context_id = draw(st.sampled_from(target.storage_contexts))
    ds = draw(_store_dataset(target, context_id))
    ds.add_new(0x00420011, "OB", b"\x00" * (limit + 2 * draw(st.integers(0, 16))))
    request = _store_of(draw, target, context_id, ds)
    dataset = bytes(request.payload_bytes("DataSet") or b"")
    command = encode_command_set(request)
    data = one_pdv_per_pdu(
        [(context_id, MCH_COMMAND | MCH_LAST, command), (context_id, MCH_LAST, dataset)]
    )
    length = len(dataset) + 6
    return Case(
        "oversized",
        False,
        f"C-STORE-RQ whose data set P-DATA-TF has a PDU-length of {length}, over the SCP's "
        f"{limit}-byte maximum",
        (request_step(target), Step("C-STORE-RQ over the maximum", data, Expect.RESPONSE)),
        details(
            flaw="P-DATA-TF over the maximum length",
            message="C-STORE-RQ",
            pdu_length=length,
            maximum=limit,
        ),
    )


@st.composite
def _wrong_context(draw: st.DrawFn, target: Target) -> Case:
    """A valid request on a context it does not belong to, or one never accepted."""
    request, context_id = draw(_any_valid_request(target))
    abstract = target.accepted[context_id].abstract_syntax
    mismatched = [
        cid for cid, ctx in sorted(target.accepted.items()) if ctx.abstract_syntax != abstract
    ]
    unaccepted = [cid for cid in range(1, 12, 2) if cid not in target.accepted]
    choice = draw(st.sampled_from([*mismatched, *unaccepted, _UNPROPOSED_CONTEXT]))
    if choice in target.accepted:
        defect = (
            f"{message_name(request)} on context {choice}, accepted for "
            f"{target.accepted[choice].abstract_syntax}"
        )
    else:
        defect = f"{message_name(request)} on context {choice}, which the SCP did not accept"
    limit = send_limit(draw, target)
    data = pdata(request, choice, limit, 1)
    return Case(
        "wrong-context",
        False,
        defect,
        (
            request_step(target),
            Step(f"{message_name(request)} on context {choice}", data, Expect.RESPONSE, defect),
        ),
        details(
            flaw="request on the wrong presentation context",
            message=message_name(request),
            context_id=choice,
        ),
    )


@functools.cache
def _unexpected_before() -> st.SearchStrategy[tuple[PDU | None, str, Expect]]:
    """PDUs a requestor must not send before its A-ASSOCIATE-RQ, with the answer accepting it."""
    return st.one_of(
        st.just((None, "P-DATA-TF", Expect.RESPONSE)),
        st.just((AReleaseRQ(), "A-RELEASE-RQ", Expect.RELEASE)),
        associate_acs().map(lambda pdu: (pdu, "A-ASSOCIATE-AC", Expect.NOTHING)),
        associate_rjs().map(lambda pdu: (pdu, "A-ASSOCIATE-RJ", Expect.NOTHING)),
        release_rps().map(lambda pdu: (pdu, "A-RELEASE-RP", Expect.NOTHING)),
    )


@functools.cache
def _unexpected_during() -> st.SearchStrategy[tuple[PDU, str, Expect]]:
    """PDUs a requestor must not send once associated, with the answer accepting it."""
    return st.one_of(
        associate_rqs().map(lambda pdu: (pdu, "A-ASSOCIATE-RQ", Expect.ASSOCIATION)),
        associate_acs().map(lambda pdu: (pdu, "A-ASSOCIATE-AC", Expect.NOTHING)),
        associate_rjs().map(lambda pdu: (pdu, "A-ASSOCIATE-RJ", Expect.NOTHING)),
        release_rps().map(lambda pdu: (pdu, "A-RELEASE-RP", Expect.NOTHING)),
    )


@st.composite
def _unexpected_pdu(draw: st.DrawFn, target: Target) -> Case:
    """A well-formed PDU the requestor may not send where it is sent."""
    steps: tuple[Step, ...]
    if draw(st.booleans()):
        pdu, name, expect = draw(_unexpected_during())
        defect = f"{name} from the requestor during an association"
        steps = (request_step(target), Step(name, encode_pdu(pdu), expect, defect))
        where = "during"
    else:
        first, name, expect = draw(_unexpected_before())
        defect = f"{name} before any A-ASSOCIATE-RQ"
        if first is None:
            request, context_id = draw(_any_valid_request(target))
            data = pdata(request, context_id, send_limit(draw, target), 1)
            name = f"P-DATA-TF ({message_name(request)})"
            defect = f"{name} before any A-ASSOCIATE-RQ"
        else:
            data = encode_pdu(first)
        steps = (Step(name, data, expect, defect),)
        where = "before"
    return Case(
        "unexpected-pdu",
        False,
        defect,
        steps,
        details(flaw=f"{name.split(' ')[0]} {where} the association"),
    )


__getattr__ = deprecated_aliases(__name__, {"pdu_name": ("pdu_label", pdu_label)})


@st.composite
def _malformed_pdu(draw: st.DrawFn, target: Target) -> Case:
    """A PDU from :func:`~dimse_codec.strategies.malformed_pdu_bytes`, where its type belongs."""
    # an empty "PDU" sends nothing, so the peer cannot see its flaw: it is not a case
    broken = draw(sendable_malformed_pdus())
    name = pdu_label(broken.data)
    kind = broken.data[0] if broken.data else None
    expect = EXPECT_BY_PDU_TYPE.get(kind or 0, Expect.NOTHING)
    label = f"malformed {name}: {broken.flaw}"
    if kind == 0x01:  # an association request: instead of ours, released if accepted
        steps: tuple[Step, ...] = (Step(label, broken.data, expect), release_step())
    else:
        steps = (request_step(target), Step(label, broken.data, expect))
    answer = broken.expected
    return Case(
        "malformed-pdu",
        False,
        label,
        steps,
        details(
            flaw=broken.flaw,
            pdu=name,
            decoder_answer=getattr(answer, "value", getattr(answer, "__name__", str(answer))),
        ),
    )


@st.composite
def _malformed_command(draw: st.DrawFn, target: Target) -> Case:
    """A command set from :func:`~dimse_codec.strategies.malformed_command_sets` as a message."""
    broken = draw(once(malformed_command_sets))
    echo = target.verification_context
    if broken.message.startswith("C-ECHO") and echo is not None:
        context_id = echo
    elif broken.message.startswith("C-STORE") and target.storage_contexts:
        context_id = target.storage_contexts[0]
    else:
        context_id = draw(st.sampled_from(sorted(target.accepted)))
    transfer_syntax = target.accepted[context_id].transfer_syntax
    dataset = None
    if _announces_dataset(broken.data):
        ds = draw(once(datasets, transfer_syntax=transfer_syntax, max_elements=2))
        ds.PatientID = "DIMSEFUZZ"
        dataset = encode_dataset(ds, transfer_syntax)
    size = fragment_size(target.peer_max_pdu_length or DEFAULT_MAX_PDU_LENGTH)
    data = one_pdv_per_pdu(message_pdvs(broken.data, dataset, context_id, size))
    label = f"{broken.message} command set: {broken.defect}"
    return Case(
        "malformed-command",
        False,
        label + (" (with a data set)" if dataset is not None else ""),
        (request_step(target), Step(label, data, Expect.RESPONSE)),
        details(
            flaw=broken.defect,
            message=broken.message,
            context_id=context_id,
            decoder_answer=getattr(
                broken.expected, "value", getattr(broken.expected, "__name__", "")
            ),
        ),
    )


def _announces_dataset(command: bytes) -> bool:
    """Whether a (possibly broken) command set announces a data set, read leniently."""
    try:
        primitive = decode_command_set(command)
    except DimseCodecError:
        return False
    announced = getattr(primitive, "CommandDataSetType", None)
    if announced is None:
        return any(primitive.payload(k) is not None for k in primitive.DATASET_PARAMETERS)
    return bool(announced != COMMAND_DATA_SET_TYPE_NULL)


@st.composite
def _malformed_dataset(draw: st.DrawFn, target: Target) -> Case:
    """A C-STORE-RQ carrying a data set from :func:`~dimse_codec.strategies.malformed_datasets`."""
    context_id = draw(st.sampled_from(target.storage_contexts))
    context = target.accepted[context_id]
    broken = draw(once(malformed_datasets, transfer_syntax=context.transfer_syntax))
    instance = draw(uids())
    request = C_STORE(
        MessageID=message_id(draw),
        AffectedSOPClassUID=context.abstract_syntax,
        AffectedSOPInstanceUID=instance,
        Priority=0,
        DataSet=b"\x00\x00",  # a placeholder, so the command set announces a data set
    )
    command = encode_command_set(request)
    size = fragment_size(target.peer_max_pdu_length or DEFAULT_MAX_PDU_LENGTH)
    data = one_pdv_per_pdu(message_pdvs(command, broken.data, context_id, size))
    return Case(
        "malformed-dataset",
        False,
        f"C-STORE-RQ whose {len(broken.data)}-byte data set has {broken.defect}",
        (
            request_step(target),
            Step(f"C-STORE-RQ data set: {broken.defect}", data, Expect.RESPONSE),
        ),
        details(
            flaw=broken.defect,
            message="C-STORE-RQ",
            context_id=context_id,
            transfer_syntax=context.transfer_syntax,
        ),
    )


def _remap_contexts(data: bytes, target: Target) -> bytes:
    """Move a generated stream's context IDs onto the accepted ones, in order of appearance.

    The first context ID seen becomes the first accepted context (Verification when accepted),
    the next distinct one the next accepted context, and so on; IDs beyond the accepted ones
    stay as they are, so distinct IDs stay distinct. Walks PDUs and PDVs within bounds and
    leaves whatever it cannot frame untouched.
    """
    accepted = sorted(target.accepted)
    if target.verification_context is not None:
        accepted.remove(target.verification_context)
        accepted.insert(0, target.verification_context)
    mapping: dict[int, int] = {}
    out = bytearray(data)
    pos = 0
    while pos + 6 <= len(out):
        pdu_type = out[pos]
        (length,) = struct.unpack_from(">L", out, pos + 2)
        end = min(len(out), pos + 6 + length)
        if pdu_type == 0x04:
            item = pos + 6
            while item + 6 <= end:
                (item_length,) = struct.unpack_from(">L", out, item)
                original = out[item + 4]
                if original not in mapping:
                    free = [cid for cid in accepted if cid not in mapping.values()]
                    mapping[original] = free[0] if free else original
                out[item + 4] = mapping[original]
                item += 4 + max(item_length, 2)
        pos = pos + 6 + length
    return bytes(out)


@st.composite
def _malformed_stream(draw: st.DrawFn, target: Target) -> Case:
    """P-DATA from :func:`~dimse_codec.strategies.malformed_streams`, on the accepted contexts."""
    broken = draw(once(malformed_streams))
    data = _remap_contexts(broken.data, target)
    return Case(
        "malformed-stream",
        False,
        f"P-DATA stream with {broken.defect} ({broken.expected.value})",
        (request_step(target), Step(f"P-DATA stream: {broken.defect}", data, Expect.RESPONSE)),
        details(
            flaw=broken.defect,
            decoder_answer=broken.expected.value,
            messages=[message_name(p) for p in broken.delivered],
        ),
    )


# --- the strategy ------------------------------------------------------------------------------

_Builder = Callable[[Target], st.SearchStrategy[Case]]


def _has_request(target: Target) -> bool:
    return target.verification_context is not None or bool(target.storage_contexts)


def _has_storage(target: Target) -> bool:
    return bool(target.storage_contexts)


def _has_echo(target: Target) -> bool:
    return target.verification_context is not None


def _always(target: Target) -> bool:
    return True


def _can_oversize(target: Target) -> bool:
    return bool(target.storage_contexts) and 0 < target.peer_max_pdu_length <= _MAX_OVERSIZE


VALID_KINDS: Mapping[str, tuple[_Builder, Callable[[Target], bool]]] = MappingProxyType(
    {
        "echo": (_echo, _has_echo),
        "associate-release": (_associate_release, _always),
        "store": (_store, _has_storage),
        "abort": (_abort, _always),
        **VALID_QUERY_KINDS,
        **VALID_N_KINDS,
        **{kind: (build, negotiation.applies) for kind, build in negotiation.VALID_KINDS.items()},
    }
)
"""Valid kinds, simplest first (the order Hypothesis shrinks towards), with when they apply."""

MALFORMED_KINDS: Mapping[str, tuple[_Builder, Callable[[Target], bool]]] = MappingProxyType(
    {
        "odd-fragment": (_odd_fragment, _has_request),
        "context-change": (_context_change, _has_request),
        "bad-length": (_bad_length, _has_request),
        "wrong-context": (_wrong_context, _has_request),
        "unexpected-pdu": (_unexpected_pdu, _has_request),
        "malformed-pdu": (_malformed_pdu, _always),
        "malformed-command": (_malformed_command, _has_request),
        "malformed-dataset": (_malformed_dataset, _has_storage),
        "malformed-stream": (_malformed_stream, _has_request),
        "oversized": (_oversized, _can_oversize),
        **MALFORMED_QUERY_KINDS,
        **{kind: (build, states.applies) for kind, build in states.KINDS.items()},
        **MALFORMED_N_KINDS,
        **{k: (build, negotiation.applies) for k, build in negotiation.MALFORMED_KINDS.items()},
    }
)
"""Malformed kinds, with when they apply (C-STORE ones need an accepted storage context)."""


CaseGroup = Callable[[Target], Sequence[st.SearchStrategy[Case]]]
"""A group of case strategies for a target (empty when none applies), drawn like a kind table."""

_FIRST: ContextVar[tuple[CaseGroup, ...]] = ContextVar("cases_first", default=())


@contextlib.contextmanager
def cases_first(*groups: CaseGroup) -> Iterator[None]:
    """Within the block, :func:`cases` draws from ``groups`` too, placed before the valid and
    malformed groups so that Hypothesis starts with them and shrinks towards them: how
    ``fuzz --seed-capture`` puts a capture's requests in a campaign
    (:mod:`dimse_codec.scpfuzz.seeds`) without changing the campaign's own arguments."""
    token = _FIRST.set(_FIRST.get() + groups)
    try:
        yield
    finally:
        _FIRST.reset(token)


def cases(target: Target, kinds: Iterable[str] | None = None) -> st.SearchStrategy[Case]:
    """Valid and malformed cases for the SCP ``target`` describes (every kind that applies).

    Half are valid and half malformed (each half split evenly over its kinds), valid first, so
    a finding shrinks towards valid traffic and simple kinds. Groups given by
    :func:`cases_first` come before both, each drawn as often as either.

    ``kinds`` narrows to some of :data:`VALID_KINDS` and :data:`MALFORMED_KINDS`; a kind that
    needs a context the SCP did not accept is left out. Raises ``ValueError`` when nothing is
    left (an unknown kind, or an SCP that accepted nothing the kinds need).
    """
    every = {**VALID_KINDS, **MALFORMED_KINDS}
    wanted = list(every) if kinds is None else list(kinds)
    unknown = [k for k in wanted if k not in every]
    if unknown:
        raise ValueError(f"unknown case kinds {unknown}; known: {sorted(every)}")
    groups = [
        [("", strategy) for strategy in built]
        for built in (group(target) for group in _FIRST.get())
        if built
    ]
    for table in (VALID_KINDS, MALFORMED_KINDS):
        chosen = [
            (kind, build(target))
            for kind, (build, applies) in table.items()
            if kind in wanted and applies(target)
        ]
        if chosen:
            groups.append(chosen)
    if not groups:
        raise ValueError(f"none of the kinds {wanted} applies to what the SCP accepted")
    return _pick(tuple(tuple(group) for group in groups))


@st.composite
def _pick(
    draw: st.DrawFn, groups: tuple[tuple[tuple[str, st.SearchStrategy[Case]], ...], ...]
) -> Case:
    """Draw a group (valid, malformed), then a kind in it, then a case of that kind.

    ``sampled_from`` picks evenly where a bare ``one_of`` would favour few kinds, and shrinks
    towards the first group and kind. Within :func:`~dimse_codec.scpfuzz.steering.weighting`
    (a campaign that steers) the group is drawn by its best kind's weight and the kind by its
    own weight instead.
    """
    weight = kind_weight()
    if weight is None:
        group = draw(st.sampled_from(groups))
        return draw(draw(st.sampled_from([strategy for _, strategy in group])))
    weights = [[weight(kind) for kind, _ in group] for group in groups]
    group_index = weighted_index(draw, [max(each) for each in weights])
    index = weighted_index(draw, weights[group_index])
    return draw(groups[group_index][index][1])


def probe_steps(target: Target) -> tuple[Step, ...]:
    """The liveness check: our A-ASSOCIATE-RQ, a C-ECHO-RQ if Verification was accepted, release.

    Fixed bytes (Message ID 1, cut for the SCP's maximum), so a reproducer can replay them.
    """
    steps = [request_step(target)]
    context_id = target.verification_context
    if context_id is not None:
        echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
        steps.append(
            Step(
                "C-ECHO-RQ",
                pdata(echo, context_id, target.peer_max_pdu_length, 1),
                Expect.RESPONSE,
            )
        )
    steps.append(release_step())
    return tuple(steps)
