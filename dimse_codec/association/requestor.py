"""The requestor's side: build the A-ASSOCIATE-RQ, then read the answer against what was sent.

Sans-I/O: :func:`build_request` returns a PDU value to pass to ``encode_pdu`` and
:func:`read_response` takes the decoded answer (A-ASSOCIATE-AC, -RJ or A-ABORT) and returns
:class:`~dimse_codec.association.model.Accepted`, ``Rejected`` or ``Aborted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dimse_codec.association import _validate
from dimse_codec.association._common import (
    Reporter,
    common_extended,
    matched_answers,
    peer_max_length,
    proposed_contexts,
    requested_identity,
    within,
)
from dimse_codec.association.constants import (
    APPLICATION_CONTEXT_NAME,
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    MAXIMUM_PRESENTATION_CONTEXTS,
)
from dimse_codec.association.model import (
    SYNCHRONOUS,
    Aborted,
    Accepted,
    AcceptedContext,
    Association,
    AsyncWindow,
    ProposedContext,
    Rejected,
    RejectedContext,
    Roles,
)
from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.pdata.limits import check_max_pdu_length
from dimse_codec.pdu import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    ApplicationContextItem,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PresentationContextResult,
    PresentationContextRQItem,
    Role,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    UserIdentityACSubItem,
    UserIdentityRQSubItem,
    UserInformationItem,
    UserSubItem,
    VariableItem,
)
from dimse_codec.policy import LENIENT, DiagnosticCode, Policy

__all__ = ["ContextSpec", "build_request", "read_response"]

ContextSpec = ProposedContext | tuple[str, Sequence[str]]
"""A context to propose: a :class:`ProposedContext` or ``(abstract syntax, transfer syntaxes)``."""

_D = DiagnosticCode


def _proposals(contexts: object) -> list[tuple[int | None, str, tuple[str, ...]]]:
    """Check the proposed contexts and return ``(given ID or None, abstract, TSs)`` for each."""
    if isinstance(contexts, (str, bytes)) or not isinstance(contexts, Sequence):
        raise InvalidParameterType(
            f"expected a sequence of contexts, not {type(contexts).__name__}", path="contexts"
        )
    if not contexts:
        raise InvalidParameter("propose at least one presentation context", path="contexts")
    if len(contexts) > MAXIMUM_PRESENTATION_CONTEXTS:
        raise InvalidParameter(
            f"{len(contexts)} contexts; at most {MAXIMUM_PRESENTATION_CONTEXTS} fit the odd "
            "IDs 1-255",
            path="contexts",
        )
    found: list[tuple[int | None, str, tuple[str, ...]]] = []
    for index, spec in enumerate(contexts):
        name = f"contexts[{index}]"
        if isinstance(spec, ProposedContext):
            given, abstract, tss = spec.context_id, spec.abstract_syntax, spec.transfer_syntaxes
        elif isinstance(spec, tuple) and len(spec) == 2:
            given, (abstract, tss) = None, spec
        else:
            raise InvalidParameterType(
                "expected ProposedContext or (abstract syntax, transfer syntaxes)", path=name
            )
        found.append(
            (
                None if given is None else _validate.context_id(given, f"{name}.context_id"),
                _validate.uid(abstract, f"{name}.abstract_syntax"),
                _validate.uids(tss, f"{name}.transfer_syntaxes"),
            )
        )
    return found


def _assign_ids(proposals: list[tuple[int | None, str, tuple[str, ...]]]) -> list[int]:
    """Keep given IDs (which must be unique) and give the others the lowest free odd IDs."""
    given = [cid for cid, _, _ in proposals if cid is not None]
    duplicates = sorted({cid for cid in given if given.count(cid) > 1})
    if duplicates:
        raise InvalidParameter(
            f"context IDs {duplicates} are given more than once", path="contexts"
        )
    taken = set(given)
    free = (cid for cid in range(1, 256, 2) if cid not in taken)
    return [next(free) if cid is None else cid for cid, _, _ in proposals]


def _role_items(
    roles: Mapping[str, Roles | tuple[bool, bool]] | None, abstracts: set[str]
) -> list[SCPSCURoleSelectionSubItem]:
    """Role Selection sub-items for the SOP classes given, each one that is being proposed."""
    items = []
    for sop, pair in (roles or {}).items():
        name = f"roles[{sop!r}]"
        if _validate.uid(sop, name) not in abstracts:
            raise InvalidParameter("no proposed context has this abstract syntax", path=name)
        scu, scp = _validate.roles(pair, name)
        if not (scu or scp):
            raise InvalidParameter("propose at least one of the SCU and SCP roles", path=name)
        items.append(SCPSCURoleSelectionSubItem(sop, Role(scu), Role(scp)))
    return items


def _extended_items(
    extended: Mapping[str, bytes] | None,
    common: Mapping[str, tuple[str, Sequence[str]]] | None,
) -> list[UserSubItem]:
    """SOP Class (0x56) and SOP Class Common (0x57) Extended Negotiation sub-items."""
    items: list[UserSubItem] = [
        SOPClassExtendedNegotiationSubItem(sop, info)
        for sop, info in _validate.application_information(
            extended or {}, "extended_negotiation"
        ).items()
    ]
    for sop, spec in (common or {}).items():
        name = f"common_extended_negotiation[{sop!r}]"
        _validate.uid(sop, name)
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise InvalidParameterType(
                "expected (service class UID, related general SOP class UIDs)", path=name
            )
        service = _validate.uid(spec[0], f"{name}.service_class_uid")
        related_uids = _validate.uids(spec[1], f"{name}.related", allow_empty=True)
        items.append(SOPClassCommonExtendedNegotiationSubItem(sop, service, related_uids))
    return items


def build_request(
    calling_ae_title: str,
    called_ae_title: str,
    contexts: Sequence[ContextSpec],
    *,
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
    roles: Mapping[str, Roles | tuple[bool, bool]] | None = None,
    async_window: AsyncWindow | tuple[int, int] | None = None,
    user_identity: UserIdentityRQSubItem | None = None,
    extended_negotiation: Mapping[str, bytes] | None = None,
    common_extended_negotiation: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    implementation_class_uid: str = IMPLEMENTATION_CLASS_UID,
    implementation_version_name: str | None = IMPLEMENTATION_VERSION_NAME,
    application_context_name: str = APPLICATION_CONTEXT_NAME,
) -> AAssociateRQ:
    """Build the A-ASSOCIATE-RQ a requestor sends, checking every value before it hits the wire.

    ``contexts`` are proposed in order, with IDs 1, 3, 5, ... unless a :class:`ProposedContext`
    gives one; ``max_pdu_length`` is what we receive (0: no limit); ``roles`` maps SOP classes
    to the ``Roles(scu, scp)`` we propose to take; ``common_extended_negotiation`` maps SOP
    classes to ``(service class UID, related general SOP class UIDs)``. Invalid values raise
    :class:`~dimse_codec.errors.InvalidParameter` (or ``InvalidParameterType``) naming the
    parameter.
    """
    calling = _validate.ae_title(calling_ae_title, "calling_ae_title")
    called = _validate.ae_title(called_ae_title, "called_ae_title")
    proposals = _proposals(contexts)
    ids = _assign_ids(proposals)
    items: list[VariableItem] = [
        ApplicationContextItem(_validate.uid(application_context_name, "application_context_name"))
    ]
    items.extend(
        PresentationContextRQItem.build(cid, abstract, tss)
        for cid, (_, abstract, tss) in zip(ids, proposals, strict=True)
    )
    user: list[UserSubItem] = [
        MaximumLengthSubItem(check_max_pdu_length(max_pdu_length)),
        ImplementationClassUIDSubItem(
            _validate.uid(implementation_class_uid, "implementation_class_uid")
        ),
    ]
    if async_window is not None:
        window = _validate.window(async_window, "async_window")
        user.append(AsynchronousOperationsWindowSubItem(window.invoked, window.performed))
    user.extend(_role_items(roles, {abstract for _, abstract, _ in proposals}))
    if implementation_version_name is not None:
        name = _validate.version_name(implementation_version_name, "implementation_version_name")
        user.append(ImplementationVersionNameSubItem(name))
    user.extend(_extended_items(extended_negotiation, common_extended_negotiation))
    if user_identity is not None:
        user.append(_validate.user_identity(user_identity, "user_identity"))
    items.append(UserInformationItem(tuple(user)))
    return AAssociateRQ(called, calling, tuple(items))


# --- reading the answer --------------------------------------------------------------------------
def _contexts(
    rq: AAssociateRQ, ac: AAssociateAC, report: Reporter
) -> tuple[dict[int, AcceptedContext], dict[int, RejectedContext]]:
    """Match the AC's context answers with the RQ's proposals by ID."""
    proposed = proposed_contexts(rq)
    accepted: dict[int, AcceptedContext] = {}
    rejected: dict[int, RejectedContext] = {}
    answered: set[int] = set()
    for item in ac.presentation_contexts:
        cid = item.presentation_context_id
        path = f"A-ASSOCIATE-AC > presentation context {cid}"
        if cid in answered:
            report(
                _D.DUPLICATE_CONTEXT_ID,
                "context answered twice; the first answer is used",
                path,
            )
            continue
        answered.add(cid)
        if cid not in proposed:
            report(_D.CONTEXT_NOT_PROPOSED, "ID was never proposed", path)
            continue
        abstract, tss = proposed[cid]
        if int(item.result_reason) != PresentationContextResult.ACCEPTANCE:
            rejected[cid] = RejectedContext(abstract, item.result_reason)
            continue
        ts = item.transfer_syntax
        if not ts:
            report(
                _D.NO_TRANSFER_SYNTAX,
                "accepted without a transfer syntax; the context cannot be used",
                path,
            )
            continue
        if ts not in tss:
            report(
                _D.TRANSFER_SYNTAX_NOT_PROPOSED,
                f"accepted transfer syntax {ts} was not proposed for this context "
                "(kept: the peer will use it)",
                path,
            )
        accepted[cid] = AcceptedContext(abstract, ts)
    for cid in proposed.keys() - answered:
        report(
            _D.CONTEXT_NOT_ANSWERED,
            "the AC has no answer for this proposed context",
            f"A-ASSOCIATE-AC > presentation context {cid}",
        )
    return accepted, rejected


def _roles(
    rq_user: UserInformationItem, ac_user: UserInformationItem, report: Reporter
) -> dict[str, Roles]:
    """Requestor roles per SOP class the AC answered (unanswered ones keep the default SCU)."""
    path = "A-ASSOCIATE-AC > user information > role selection"
    proposed, answered = matched_answers(
        rq_user.role_selections, ac_user.role_selections, report, "role selection", path
    )
    outcome: dict[str, Roles] = {}
    for sop, asked in proposed.items():
        reply = answered.get(sop)
        if reply is None:
            continue  # PS3.7 D.3.3.4: no answer leaves the default roles
        pairs = (
            (int(asked.scu_role), int(reply.scu_role)),
            (int(asked.scp_role), int(reply.scp_role)),
        )
        for (offered, granted), role in zip(pairs, ("SCU", "SCP"), strict=True):
            if granted == 1 and offered != 1:
                report(
                    _D.ROLE_NOT_PROPOSED,
                    f"{sop}: the {role} role was granted but not proposed; ignored",
                    path,
                )
        outcome[sop] = Roles(*(offered == 1 and granted == 1 for offered, granted in pairs))
    return outcome


def _async_window(
    rq_user: UserInformationItem, ac_user: UserInformationItem, report: Reporter
) -> AsyncWindow:
    """The negotiated window: the AC's answer, kept within the proposal (PS3.7 D.3.3.3)."""
    path = "A-ASSOCIATE-AC > user information > asynchronous operations window"
    asked, reply = rq_user.asynchronous_operations_window, ac_user.asynchronous_operations_window
    if reply is None:
        return SYNCHRONOUS
    if asked is None:
        report(
            _D.UNSOLICITED_NEGOTIATION,
            "window answered but not proposed; synchronous operation applies",
            path,
        )
        return SYNCHRONOUS
    counts = []
    for offered, answered, what in (
        (
            asked.maximum_number_operations_invoked,
            reply.maximum_number_operations_invoked,
            "invoked",
        ),
        (
            asked.maximum_number_operations_performed,
            reply.maximum_number_operations_performed,
            "performed",
        ),
    ):
        if within(offered, answered):
            counts.append(answered)
        else:
            report(
                _D.WINDOW_ENLARGED,
                f"operations {what}: {answered} exceeds the proposed {offered}; using {offered}",
                path,
            )
            counts.append(offered)
    return AsyncWindow(*counts)


def _extended(
    rq_user: UserInformationItem, ac_user: UserInformationItem, report: Reporter
) -> dict[str, bytes]:
    """The acceptor's SOP Class Extended Negotiation answers for SOP classes we asked about."""
    path = "A-ASSOCIATE-AC > user information > extended negotiation"
    _, answers = matched_answers(
        rq_user.extended_negotiations,
        ac_user.extended_negotiations,
        report,
        "extended negotiation",
        path,
    )
    return {sop: bytes(item.service_class_application_information) for sop, item in answers.items()}


def _identity_response(
    rq_user: UserInformationItem, ac_user: UserInformationItem, report: Reporter
) -> bytes | None:
    """The server response of the AC's User Identity sub-item (kept even when not asked for)."""
    reply = ac_user.user_identity
    if not isinstance(reply, UserIdentityACSubItem):
        return None
    asked = requested_identity(rq_user)
    if asked is None or not asked.positive_response_requested:
        report(
            _D.UNSOLICITED_NEGOTIATION,
            "user identity response without a request for one",
            "A-ASSOCIATE-AC > user information > user identity",
        )
    return bytes(reply.server_response)


def _accepted(rq: AAssociateRQ, ac: AAssociateAC, policy: Policy) -> Accepted:
    """Read an A-ASSOCIATE-AC against the RQ it answers."""
    report = Reporter(policy)
    rq_user = rq.user_information or UserInformationItem()
    ac_user = ac.user_information or UserInformationItem()
    context_name = rq.application_context_name or APPLICATION_CONTEXT_NAME
    answered_name = ac.application_context_name
    if answered_name is not None and answered_name != context_name:
        report(
            _D.APPLICATION_CONTEXT_CHANGED,
            f"the AC names application context {answered_name}, the RQ {context_name}",
            "A-ASSOCIATE-AC > application context",
        )
        context_name = answered_name
    accepted, rejected = _contexts(rq, ac, report)
    peer_max = peer_max_length(ac_user, report, "A-ASSOCIATE-AC > user information")
    roles = _roles(rq_user, ac_user, report)
    window = _async_window(rq_user, ac_user, report)
    extended = _extended(rq_user, ac_user, report)
    response = _identity_response(rq_user, ac_user, report)
    association = Association(
        is_requestor=True,
        calling_ae_title=rq.calling_ae_title,
        called_ae_title=rq.called_ae_title,
        application_context_name=context_name,
        accepted_contexts=accepted,
        rejected_contexts=rejected,
        our_max_pdu_length=rq_user.maximum_length or 0,
        peer_max_pdu_length=peer_max,
        peer_implementation_class_uid=ac_user.implementation_class_uid,
        peer_implementation_version_name=ac_user.implementation_version_name,
        role_selections=roles,
        async_window=window,
        user_identity=requested_identity(rq_user),
        user_identity_response=response,
        extended_negotiation=extended,
        common_extended_negotiation=common_extended(rq_user),
        diagnostics=tuple(report.found),
    )
    return Accepted(ac, association)


def read_response(
    rq: AAssociateRQ, response: PDU, *, policy: Policy = LENIENT
) -> Accepted | Rejected | Aborted:
    """Read the peer's answer to ``rq``: the negotiated association, or why there is none.

    An A-ASSOCIATE-AC gives :class:`Accepted` whose ``association`` takes each accepted
    context's abstract syntax from ``rq`` (the AC does not carry it); answers that do not match
    the proposal are kept or dropped as documented and reported in ``association.diagnostics``
    (``policy=STRICT`` raises :class:`~dimse_codec.errors.PolicyViolation` instead). An
    A-ASSOCIATE-RJ gives :class:`Rejected` and an A-ABORT :class:`Aborted`; any other PDU is a
    protocol error (PS3.8 state Sta5) and raises :class:`~dimse_codec.errors.InvalidParameter`
    with code ``UNEXPECTED_PDU``: answer it with an A-ABORT (source 2, reason 2).
    """
    if not isinstance(rq, AAssociateRQ):
        raise InvalidParameterType(f"expected AAssociateRQ, not {type(rq).__name__}", path="rq")
    if isinstance(response, AAssociateAC):
        return _accepted(rq, response, policy)
    if isinstance(response, AAssociateRJ):
        return Rejected(response)
    if isinstance(response, AAbort):
        return Aborted(response)
    name = getattr(response, "name", type(response).__name__)
    raise InvalidParameter(
        f"{name} cannot answer an A-ASSOCIATE-RQ; PS3.8 says to send A-ABORT "
        "(service-provider, unexpected PDU)",
        path="response",
        code=DiagnosticCode.UNEXPECTED_PDU.value,
    )
