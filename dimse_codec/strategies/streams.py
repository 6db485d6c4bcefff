"""Hypothesis strategies for whole byte streams: valid associations, P-DATA streams with a defect.

:func:`associations` generates both directions of one association as bytes: the requestor's
A-ASSOCIATE-RQ (from :func:`~dimse_codec.association.build_request`), its requests as P-DATA-TF
PDUs (from :func:`~dimse_codec.pdata.encode_pdata` at the maximum length the acceptor announced)
and its A-RELEASE-RQ or A-ABORT; the acceptor's A-ASSOCIATE-AC (from
:func:`~dimse_codec.association.respond`), its responses and its A-RELEASE-RP. Each comes with
the PDUs and primitives a :class:`~dimse_codec.pdata.StreamDecoder` reading it must deliver.

:func:`malformed_streams` generates P-DATA streams of valid messages with one defect injected
(interleaved messages, a context change or an odd fragment mid-message, data before any command,
an empty PDV, a stream that ends mid-message, a PDU over the announced maximum ...), each with
the one diagnostic a lenient decoder reports and the messages it still delivers whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from hypothesis import strategies as st

from dimse_codec.association import Accepted, build_request, read_response, respond
from dimse_codec.dimse.codec import encode_message
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import encode_pdata, fragment_size
from dimse_codec.pdu import MCH_COMMAND, MCH_LAST, PDU, AReleaseRP, AReleaseRQ, encode_pdu
from dimse_codec.policy import DiagnosticCode
from dimse_codec.strategies.datasets import STANDARD_TRANSFER_SYNTAXES
from dimse_codec.strategies.pdu import _shared, aborts, max_pdu_lengths
from dimse_codec.strategies.primitives import ae_titles, primitives, uids
from dimse_codec.strategies.raw import Pdv, message_pdvs, one_pdv_per_pdu, p_data_tf
from dimse_codec.tables.messages import SERVICES

__all__ = ["AssociationStreams", "MalformedStream", "associations", "malformed_streams"]

_D = DiagnosticCode
_TS_UIDS = tuple(ts.uid for ts in STANDARD_TRANSFER_SYNTAXES)
_EMPTY_P_DATA = b"\x04\x00\x00\x00\x00\x00"


# --- valid associations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssociationStreams:
    """Both directions of one association as bytes, with what a stream decoder must deliver.

    ``requestor`` is every byte the requestor sends and ``acceptor`` every byte the acceptor
    sends. A :class:`~dimse_codec.pdata.StreamDecoder` reading ``requestor`` (with
    ``max_pdu_length=acceptor_max_pdu_length``, the limit the acceptor announced) delivers
    exactly ``requestor_pdus`` as ``PDUReceived`` (the A-ASSOCIATE-RQ first, the A-RELEASE-RQ
    or A-ABORT last) and ``requestor_primitives`` as ``MessageReceived``, in order, without a
    single diagnostic, even under the strict policy; likewise for the acceptor's side.
    ``transfer_syntaxes`` maps each accepted presentation context ID to its transfer syntax.
    """

    requestor: bytes
    acceptor: bytes
    requestor_pdus: tuple[PDU, ...]
    acceptor_pdus: tuple[PDU, ...]
    requestor_primitives: tuple[DIMSEPrimitive, ...]
    acceptor_primitives: tuple[DIMSEPrimitive, ...]
    requestor_max_pdu_length: int
    acceptor_max_pdu_length: int
    transfer_syntaxes: Mapping[int, str]

    @property
    def released(self) -> bool:
        """Whether the association ends with A-RELEASE (else the requestor aborts it)."""
        return isinstance(self.requestor_pdus[-1], AReleaseRQ)


_REQUESTS: dict[str | None, st.SearchStrategy[DIMSEPrimitive]] = {}
_RESPONSES: dict[str, st.SearchStrategy[DIMSEPrimitive]] = {}


def _requests(service: str | None) -> st.SearchStrategy[DIMSEPrimitive]:
    """Valid requests of one service or any (one strategy per service, built once)."""
    if service not in _REQUESTS:
        _REQUESTS[service] = primitives(service, is_request=True)
    return _REQUESTS[service]


def _responses(service: str) -> st.SearchStrategy[DIMSEPrimitive]:
    """Valid responses of one service (one strategy per service, built once)."""
    if service not in _RESPONSES:
        _RESPONSES[service] = primitives(service, is_request=False)
    return _RESPONSES[service]


def _p_data(draw: st.DrawFn, primitive: DIMSEPrimitive, context_id: int, limit: int) -> bytes:
    """A message as P-DATA-TF PDUs within ``limit``, with one or two PDVs per PDU."""
    per_pdu = 1
    if (limit == 0 or limit >= 16) and draw(st.booleans()):
        per_pdu = 2
    plan = encode_pdata(
        primitive,
        context_id,
        max_pdu_length=limit,
        pdvs_per_pdu=per_pdu,
        command_with_data=draw(st.booleans()),
    )
    return bytes(plan)


@st.composite
def _association(
    draw: st.DrawFn, service: str | None, max_messages: int, release: bool | None
) -> AssociationStreams:
    abstracts = draw(st.lists(_shared(uids), min_size=1, max_size=3, unique=True))
    contexts = [
        (abstract, draw(st.lists(st.sampled_from(_TS_UIDS), min_size=1, max_size=4, unique=True)))
        for abstract in abstracts
    ]
    requestor_max = draw(_shared(max_pdu_lengths))
    acceptor_max = draw(_shared(max_pdu_lengths))
    rq = build_request(
        draw(_shared(ae_titles)), draw(_shared(ae_titles)), contexts, max_pdu_length=requestor_max
    )
    supported = {
        abstract: draw(st.permutations(syntaxes))
        for index, (abstract, syntaxes) in enumerate(contexts)
        if index == 0 or draw(st.booleans())
    }
    answer = respond(rq, supported, max_pdu_length=acceptor_max)
    reading = read_response(rq, answer.pdu)
    if not isinstance(answer, Accepted) or not isinstance(reading, Accepted):
        raise DimseCodecError("a generated association was not accepted; a strategy bug")
    accepted = answer.association.accepted_contexts
    # the requestor sends within the acceptor's limit, and the other way round
    to_acceptor = reading.association.peer_max_pdu_length
    to_requestor = answer.association.peer_max_pdu_length
    ids = sorted(accepted)

    requests: list[DIMSEPrimitive] = []
    responses: list[DIMSEPrimitive] = []
    sent = [encode_pdu(rq)]
    answered = [encode_pdu(answer.pdu)]
    for _ in range(draw(st.integers(0, max_messages))):
        request = draw(_requests(service))
        context_id = draw(st.sampled_from(ids))
        request.context_id = context_id
        requests.append(request)
        sent.append(_p_data(draw, request, context_id, to_acceptor))
        name = request.msg_type
        if SERVICES[name].response_field is None:
            continue
        response = draw(_responses(name))
        message_id = getattr(request, "MessageID", None)
        if message_id is not None:  # the response names the request it answers
            response.MessageIDBeingRespondedTo = message_id  # type: ignore[attr-defined]
        response.context_id = context_id
        responses.append(response)
        answered.append(_p_data(draw, response, context_id, to_requestor))

    ending = draw(st.booleans()) if release is None else release
    last: PDU = AReleaseRQ() if ending else draw(_shared(aborts))
    sent.append(encode_pdu(last))
    acceptor_pdus: tuple[PDU, ...] = (answer.pdu,)
    if ending:
        acceptor_pdus = (answer.pdu, AReleaseRP())
        answered.append(encode_pdu(AReleaseRP()))
    return AssociationStreams(
        requestor=b"".join(sent),
        acceptor=b"".join(answered),
        requestor_pdus=(rq, last),
        acceptor_pdus=acceptor_pdus,
        requestor_primitives=tuple(requests),
        acceptor_primitives=tuple(responses),
        requestor_max_pdu_length=requestor_max,
        acceptor_max_pdu_length=acceptor_max,
        transfer_syntaxes=MappingProxyType(
            {cid: context.transfer_syntax for cid, context in accepted.items()}
        ),
    )


def associations(
    service: str | None = None, *, max_messages: int = 3, release: bool | None = None
) -> st.SearchStrategy[AssociationStreams]:
    """Whole associations as the bytes each side sends, with what each side's decoder delivers.

    Up to ``max_messages`` requests (of ``service``, or any) on the accepted presentation
    contexts, each answered by one response (C-CANCEL has none), fragmented at the maximum
    length the peer announced (drawn by :func:`~dimse_codec.strategies.max_pdu_lengths`, from
    the smallest usable one to unlimited), with one or two PDVs per PDU and the data set
    sometimes sharing the last command PDU. ``release`` picks how it ends: A-RELEASE-RQ/RP
    (True), an A-ABORT from the requestor (False) or either (None). See
    :class:`AssociationStreams` for what decoding each side must give.
    """
    if max_messages < 0:
        raise ValueError("max_messages must not be negative")
    if service is not None and service not in SERVICES:
        raise ValueError(f"unknown DIMSE service {service!r}")
    return _association(service, max_messages, release)


# --- malformed P-DATA streams --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MalformedStream:
    """P-DATA-TF bytes with one defect, the diagnostic it must give, and what still gets through.

    A lenient :class:`~dimse_codec.pdata.StreamDecoder` created with ``max_pdu_length`` (the
    maximum we announced) and fed ``data`` (split anywhere), then closed, reports exactly one
    diagnostic, ``expected``, over all its events and the primitives they carry, and delivers
    exactly ``delivered`` as ``MessageReceived`` events, in that order; a strict one raises
    :class:`~dimse_codec.errors.PolicyViolation` with that code from ``feed`` or ``close``.
    """

    data: bytes
    expected: DiagnosticCode
    defect: str
    max_pdu_length: int
    delivered: tuple[DIMSEPrimitive, ...]


def _pdvs(primitive: DIMSEPrimitive, context_id: int, size: int) -> list[Pdv]:
    """A message's PDVs, ``size`` bytes each but the last of the command and of the data set
    (cut here rather than by ``encode_pdata``, so a defect can work PDV by PDV)."""
    command, dataset, _ = encode_message(primitive)
    return message_pdvs(command, dataset, context_id, size)


def _context_ids() -> st.SearchStrategy[int]:
    """Odd presentation context IDs."""
    return st.integers(0, 127).map(lambda n: 2 * n + 1)


def _limits() -> st.SearchStrategy[int]:
    """Small maximum lengths (40 down to 8), so every command set takes two PDVs or more."""
    return st.integers(0, 32).map(lambda n: 40 - n)


def _has_data(primitive: DIMSEPrimitive) -> bool:
    """Whether a primitive carries a data set."""
    return any(primitive.payload(k) is not None for k in primitive.DATASET_PARAMETERS)


def _any_messages() -> st.SearchStrategy[DIMSEPrimitive]:
    """Valid requests and responses of any service."""
    return _MESSAGES


def _with_data() -> st.SearchStrategy[DIMSEPrimitive]:
    """Valid messages that carry a data set."""
    return _MESSAGES_WITH_DATA


_MESSAGES = primitives()
_MESSAGES_WITH_DATA = primitives().filter(_has_data)


@st.composite
def _messages(draw: st.DrawFn, count: st.SearchStrategy[int]) -> list[tuple[DIMSEPrimitive, int]]:
    """A few messages, each with the context ID it travels on."""
    out = []
    for _ in range(draw(count)):
        primitive = draw(_any_messages())
        primitive.context_id = draw(_context_ids())
        out.append((primitive, primitive.context_id))
    return out


def _labelled(
    code: DiagnosticCode, defect: str, limit: int, data: bytes, delivered: Iterable[DIMSEPrimitive]
) -> MalformedStream:
    """Build the example."""
    return MalformedStream(data, code, defect, limit, tuple(delivered))


@st.composite
def _no_pdv(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    messages = draw(_messages(st.integers(1, 2)))
    pdus = [p_data_tf([pdv]) for m, cid in messages for pdv in _pdvs(m, cid, size)]
    pdus.insert(draw(st.integers(0, len(pdus))), _EMPTY_P_DATA)
    return _labelled(
        _D.NO_PDV, "P-DATA-TF without a PDV", limit, b"".join(pdus), [m for m, _ in messages]
    )


@st.composite
def _empty_pdv(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    primitive = draw(_any_messages())
    context_id = draw(_context_ids())
    pdvs = _pdvs(primitive, context_id, fragment_size(limit))
    commands = sum(1 for _, mch, _ in pdvs if mch & MCH_COMMAND)
    # before a command PDV it is an empty command fragment, before a data PDV an empty data
    # fragment; neither has the "last" bit, so the message still ends where it did
    where = draw(st.integers(0, len(pdvs) - 1))
    empty = (context_id, MCH_COMMAND if where < commands else 0, b"")
    pdvs.insert(where, empty)
    return _labelled(
        _D.EMPTY_PDV, "empty PDV inside a message", limit, one_pdv_per_pdu(pdvs), [primitive]
    )


@st.composite
def _odd_fragment(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    primitive = draw(_with_data())
    keyword = next(k for k in primitive.DATASET_PARAMETERS if primitive.payload(k) is not None)
    payload = primitive.payload_bytes(keyword)
    odd = bytes(payload or b"") + draw(st.binary(min_size=1, max_size=1))
    setattr(primitive, keyword, odd)
    context_id = draw(_context_ids())
    pdvs = _pdvs(primitive, context_id, fragment_size(limit))
    return _labelled(
        _D.ODD_FRAGMENT, "data set of odd length", limit, one_pdv_per_pdu(pdvs), [primitive]
    )


@st.composite
def _data_before_command(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    messages = draw(_messages(st.integers(0, 2)))
    stray_id = draw(_context_ids())
    fragments = draw(
        st.lists(
            st.binary(min_size=1, max_size=size).map(lambda b: b + b"\x00" if len(b) % 2 else b),
            min_size=1,
            max_size=2,
        )
    )
    stray = [(stray_id, 0, f) for f in fragments[:-1]] + [(stray_id, MCH_LAST, fragments[-1])]
    blocks = [one_pdv_per_pdu(_pdvs(m, cid, size)) for m, cid in messages]
    blocks.insert(draw(st.integers(0, len(blocks))), one_pdv_per_pdu(stray))
    return _labelled(
        _D.DATA_BEFORE_COMMAND,
        "data PDV that no command announced",
        limit,
        b"".join(blocks),
        [m for m, _ in messages],
    )


@st.composite
def _two_contexts(draw: st.DrawFn) -> tuple[int, int]:
    """Two different presentation context IDs."""
    first = draw(_context_ids())
    return first, draw(_context_ids().filter(lambda n: n != first))


@st.composite
def _interleaved(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    one, two = draw(_any_messages()), draw(_any_messages())
    first_id, second_id = draw(_two_contexts())
    first = _pdvs(one, first_id, size)
    second = _pdvs(two, second_id, size)
    cut = draw(st.integers(1, len(first) - 1))
    pdvs = first[:cut] + second + first[cut:]
    return _labelled(
        _D.INTERLEAVED,
        "a whole message inside another on a different context",
        limit,
        one_pdv_per_pdu(pdvs),
        [two, one],
    )


@st.composite
def _context_changed(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    primitive = draw(_with_data())
    context_id, other = draw(_two_contexts())
    pdvs = _pdvs(primitive, context_id, fragment_size(limit))
    data = [i for i, (_, mch, _) in enumerate(pdvs) if not mch & MCH_COMMAND]
    index = draw(st.sampled_from(data))
    _, mch, fragment = pdvs[index]
    pdvs[index] = (other, mch, fragment)
    return _labelled(
        _D.CONTEXT_CHANGED,
        "one data PDV on another context",
        limit,
        one_pdv_per_pdu(pdvs),
        [primitive],
    )


@st.composite
def _stream_ends_mid_message(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    messages = draw(_messages(st.integers(0, 2)))
    last = draw(_any_messages())
    pdvs = _pdvs(last, draw(_context_ids()), size)
    kept = draw(st.integers(1, len(pdvs) - 1))
    data = b"".join(one_pdv_per_pdu(_pdvs(m, cid, size)) for m, cid in messages)
    return _labelled(
        _D.MESSAGE_INCOMPLETE,
        "stream ends between two PDVs of a message",
        limit,
        data + one_pdv_per_pdu(pdvs[:kept]),
        [m for m, _ in messages],
    )


@st.composite
def _command_cuts_data_set(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    cut_short = draw(_with_data())
    context_id = draw(_context_ids())
    pdvs = _pdvs(cut_short, context_id, size)
    commands = sum(1 for _, mch, _ in pdvs if mch & MCH_COMMAND)
    kept = draw(st.integers(commands, len(pdvs) - 1))
    following = draw(_any_messages())
    data = one_pdv_per_pdu(pdvs[:kept]) + one_pdv_per_pdu(_pdvs(following, context_id, size))
    return _labelled(
        _D.MESSAGE_INCOMPLETE,
        "a new command on the context before the data set ended",
        limit,
        data,
        [following],
    )


@st.composite
def _stream_truncated(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    messages = draw(_messages(st.integers(0, 2)))
    data = b"".join(one_pdv_per_pdu(_pdvs(m, cid, size)) for m, cid in messages)
    start = p_data_tf([_pdvs(draw(_any_messages()), draw(_context_ids()), size)[0]])
    return _labelled(
        _D.STREAM_TRUNCATED,
        "stream ends inside a PDU or PDV header",
        limit,
        data + start[: draw(st.integers(1, 11))],
        [m for m, _ in messages],
    )


@st.composite
def _pdu_over_maximum(draw: st.DrawFn) -> MalformedStream:
    limit = draw(_limits())
    size = fragment_size(limit)
    messages = draw(_messages(st.integers(1, 2)))
    pdus: list[list[Pdv]] = []
    full: list[int] = []  # PDUs whose PDV is full and followed by one of the same message
    for primitive, cid in messages:
        pdvs = _pdvs(primitive, cid, size)
        for index, pdv in enumerate(pdvs):
            if not pdv[1] & MCH_LAST and index + 1 < len(pdvs):
                full.append(len(pdus))
            pdus.append([pdv])
    merged = draw(st.sampled_from(full))
    pdus[merged : merged + 2] = [pdus[merged] + pdus[merged + 1]]
    return _labelled(
        _D.PDU_OVER_MAXIMUM,
        "two PDVs in one P-DATA-TF over the maximum length",
        limit,
        b"".join(p_data_tf(p) for p in pdus),
        [m for m, _ in messages],
    )


_DEFECTS: tuple[
    tuple[DiagnosticCode, str, Callable[[], st.SearchStrategy[MalformedStream]]], ...
] = (
    (_D.NO_PDV, "P-DATA-TF without a PDV", _no_pdv),
    (_D.EMPTY_PDV, "empty PDV inside a message", _empty_pdv),
    (_D.ODD_FRAGMENT, "data set of odd length", _odd_fragment),
    (_D.DATA_BEFORE_COMMAND, "data PDV that no command announced", _data_before_command),
    (_D.INTERLEAVED, "a whole message inside another on a different context", _interleaved),
    (_D.CONTEXT_CHANGED, "one data PDV on another context", _context_changed),
    (_D.MESSAGE_INCOMPLETE, "stream ends between two PDVs of a message", _stream_ends_mid_message),
    (
        _D.MESSAGE_INCOMPLETE,
        "a new command on the context before the data set ended",
        _command_cuts_data_set,
    ),
    (_D.STREAM_TRUNCATED, "stream ends inside a PDU or PDV header", _stream_truncated),
    (_D.PDU_OVER_MAXIMUM, "two PDVs in one P-DATA-TF over the maximum length", _pdu_over_maximum),
)
"""Every defect :func:`malformed_streams` injects: its code, its name and its builder."""


def malformed_streams(
    kinds: Iterable[DiagnosticCode | str] | None = None,
) -> st.SearchStrategy[MalformedStream]:
    """P-DATA streams of valid messages with one injected defect and the code it must give.

    The defects (see :class:`MalformedStream`): an empty P-DATA-TF (``NO_PDV``), an empty PDV
    (``EMPTY_PDV``), an odd fragment (``ODD_FRAGMENT``), data no command announced
    (``DATA_BEFORE_COMMAND``), a whole message between two PDVs of another on another context
    (``INTERLEAVED``), a data PDV on another context (``CONTEXT_CHANGED``), a stream ending
    between two PDVs or a new command cutting a data set short (``MESSAGE_INCOMPLETE``), a
    stream ending inside a header (``STREAM_TRUNCATED``) and a P-DATA-TF over the announced
    maximum (``PDU_OVER_MAXIMUM``). ``kinds`` narrows to some codes or defect names.
    """
    wanted = None if kinds is None else list(kinds)
    chosen = [
        builder()
        for code, defect, builder in _DEFECTS
        if wanted is None or any(k in (code, defect) for k in wanted)
    ]
    if not chosen:
        known = sorted({code.value for code, _, _ in _DEFECTS})
        raise ValueError(f"no malformed stream matches {wanted}; known codes: {known}")
    return st.one_of(*chosen)
