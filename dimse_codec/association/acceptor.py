"""The acceptor's side: answer a received A-ASSOCIATE-RQ with an AC or an RJ.

Sans-I/O: :func:`respond` takes the decoded RQ and what we support and returns
:class:`~dimse_codec.association.model.Accepted` (the AC to send and the negotiated association)
or :class:`~dimse_codec.association.model.Rejected` (the RJ to send); :func:`reject` builds an RJ
for reasons only the caller knows (too many associations, shutting down).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from dimse_codec.association import _validate
from dimse_codec.association._common import (
    Reporter,
    common_extended,
    first_by_sop_class,
    peer_max_length,
    requested_identity,
)
from dimse_codec.association.constants import (
    APPLICATION_CONTEXT_NAME,
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
)
from dimse_codec.association.model import (
    DEFAULT_REQUESTOR_ROLES,
    SYNCHRONOUS,
    Accepted,
    AcceptedContext,
    Association,
    AsyncWindow,
    Rejected,
    RejectedContext,
    Roles,
)
from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.pdata.limits import check_max_pdu_length
from dimse_codec.pdu import (
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    ApplicationContextItem,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PresentationContextACItem,
    PresentationContextResult,
    RejectReasonACSE,
    RejectReasonPresentation,
    RejectReasonUser,
    RejectResult,
    RejectSource,
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

__all__ = ["ExtendedNegotiation", "Supported", "UserIdentityCheck", "reject", "respond"]

Supported = Mapping[str, Sequence[str]] | Callable[[str], Sequence[str] | None]
"""What we accept: abstract syntax -> transfer syntaxes in our order of preference, or a callable
giving them (``None`` when the abstract syntax is not supported)."""

UserIdentityCheck = Callable[[UserIdentityRQSubItem], bool | bytes]
"""Verifies a User Identity: ``False`` rejects, ``True`` accepts, bytes accept with that server
response (a Kerberos ticket, SAML response or JWT, PS3.7 D.3.3.7.2)."""

ExtendedNegotiation = Mapping[str, bytes] | Callable[[str, bytes], bytes | None]
"""Our SOP Class Extended Negotiation answers: SOP class -> application information, or a
callable from (SOP class, the requestor's information) to ours (``None``: no answer)."""

_D = DiagnosticCode
_R = PresentationContextResult

_RejectReason = RejectReasonUser | RejectReasonACSE | RejectReasonPresentation
"""A reason of any of the three A-ASSOCIATE-RJ sources (PS3.8 9.3.4)."""

_SOURCES: dict[type[_RejectReason], RejectSource] = {
    RejectReasonUser: RejectSource.SERVICE_USER,
    RejectReasonACSE: RejectSource.SERVICE_PROVIDER_ACSE,
    RejectReasonPresentation: RejectSource.SERVICE_PROVIDER_PRESENTATION,
}


def reject(reason: _RejectReason, *, transient: bool | None = None) -> Rejected:
    """Build an A-ASSOCIATE-RJ; the reason's enum picks the source (PS3.8 Table 9-21).

    A ``RejectReasonUser`` is from the service-user (1), ``RejectReasonACSE`` from the ACSE
    provider (2) and ``RejectReasonPresentation`` from the presentation provider (3).
    ``transient`` defaults to true only for presentation reasons (congestion, local limit), which
    may clear if the requestor tries again later.
    """
    source = _SOURCES.get(type(reason))
    if source is None:
        raise InvalidParameterType(
            "expected a RejectReasonUser, RejectReasonACSE or RejectReasonPresentation member",
            path="reason",
        )
    if transient is None:
        transient = source is RejectSource.SERVICE_PROVIDER_PRESENTATION
    result = RejectResult.REJECTED_TRANSIENT if transient else RejectResult.REJECTED_PERMANENT
    return Rejected(AAssociateRJ(result, source, reason))


def _titles(values: Collection[str] | None, name: str) -> frozenset[str] | None:
    """Normalise a collection of AE titles we accept (``None`` accepts any)."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise InvalidParameterType("expected a collection of AE titles, not one string", path=name)
    return frozenset(
        _validate.ae_title(value, f"{name}[{index}]") for index, value in enumerate(values)
    )


def _supported_mapping(supported: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Check a mapping of supported abstract syntaxes to transfer syntaxes, once, up front."""
    checked: dict[str, tuple[str, ...]] = {}
    for abstract, tss in supported.items():
        name = f"supported[{abstract!r}]"
        _validate.uid(abstract, name)
        checked[abstract] = _validate.uids(tss, name, allow_empty=True)  # empty: no TS acceptable
    return checked


def _lookup(supported: Supported) -> Callable[[str], tuple[str, ...] | None]:
    """Turn ``supported`` into one lookup: abstract syntax -> our TSs, or ``None``."""
    if isinstance(supported, Mapping):
        table = _supported_mapping(supported)
        return table.get
    if not callable(supported):
        raise InvalidParameterType(
            f"expected a mapping or a callable, not {type(supported).__name__}", path="supported"
        )

    def ask(abstract: str) -> tuple[str, ...] | None:
        """Ask the caller's callable and check its answer."""
        answer = supported(abstract)
        if answer is None:
            return None
        return _validate.uids(answer, f"supported({abstract!r})", allow_empty=True)

    return ask


def _accepted_roles(roles: Mapping[str, Roles | tuple[bool, bool]] | None) -> dict[str, Roles]:
    """Check the requestor roles we accept per SOP class."""
    checked: dict[str, Roles] = {}
    for sop, pair in (roles or {}).items():
        name = f"roles[{sop!r}]"
        checked[_validate.uid(sop, name)] = _validate.roles(pair, name)
    return checked


def _narrow(proposed: int, ours: int) -> int:
    """The smaller of two window counts where 0 is unlimited."""
    if proposed == 0:
        return ours
    if ours == 0:
        return proposed
    return min(proposed, ours)


class _Negotiation:
    """The presentation context and Role Selection part of one acceptor negotiation."""

    def __init__(
        self,
        rq: AAssociateRQ,
        lookup: Callable[[str], tuple[str, ...] | None],
        roles: dict[str, Roles],
        common: dict[str, SOPClassCommonExtendedNegotiationSubItem],
        related: bool,
        report: Reporter,
    ) -> None:
        self.lookup = lookup
        self.roles = roles
        self.common = common if related else {}
        self.report = report
        path = "A-ASSOCIATE-RQ > user information > role selection"
        user = rq.user_information or UserInformationItem()
        self.proposed_roles = first_by_sop_class(user.role_selections, report, path)
        self.items: list[PresentationContextACItem] = []
        self.accepted: dict[int, AcceptedContext] = {}
        self.rejected: dict[int, RejectedContext] = {}
        self.role_outcomes: dict[str, Roles] = {}
        seen: set[int] = set()
        for item in rq.presentation_contexts:
            cid = item.presentation_context_id
            if cid in seen:
                report(
                    _D.DUPLICATE_CONTEXT_ID,
                    "a second context with this ID is not answered",
                    f"A-ASSOCIATE-RQ > presentation context {cid}",
                )
                continue
            seen.add(cid)
            self._answer(cid, item.abstract_syntax, item.transfer_syntaxes)

    def _ours(self, abstract: str) -> tuple[str, ...] | None:
        """Our TSs for an abstract syntax, or for a related general SOP class the peer named."""
        ours = self.lookup(abstract)
        if ours is not None:
            return ours
        common = self.common.get(abstract)
        for general in common.related_general_sop_class_uids if common else ():
            ours = self.lookup(general)
            if ours is not None:
                return ours
        return None

    def _role(self, abstract: str) -> Roles:
        """The requestor's roles for a SOP class, given its proposal and the roles we accept."""
        asked = self.proposed_roles.get(abstract)
        if asked is None:
            return DEFAULT_REQUESTOR_ROLES
        allowed = self.roles.get(abstract, DEFAULT_REQUESTOR_ROLES)
        outcome = Roles(
            int(asked.scu_role) == 1 and allowed.scu, int(asked.scp_role) == 1 and allowed.scp
        )
        if outcome.scu or outcome.scp:
            self.role_outcomes.setdefault(abstract, outcome)
        return outcome

    def _answer(self, cid: int, abstract: str | None, tss: tuple[str, ...]) -> None:
        """Accept a context with our most preferred TS the peer proposed, or say why not."""
        path = f"A-ASSOCIATE-RQ > presentation context {cid}"
        first = tss[0] if tss else None
        if not abstract:
            self.report(_D.NO_ABSTRACT_SYNTAX, "no abstract syntax", path)
            self._reject(cid, "", _R.ABSTRACT_SYNTAX_NOT_SUPPORTED, first)
            return
        ours = self._ours(abstract)
        if ours is None:
            self._reject(cid, abstract, _R.ABSTRACT_SYNTAX_NOT_SUPPORTED, first)
            return
        if not tss:
            self.report(_D.NO_TRANSFER_SYNTAX, "no transfer syntax", path)
        chosen = next((ts for ts in ours if ts in tss), None)
        if chosen is None:
            self._reject(cid, abstract, _R.TRANSFER_SYNTAXES_NOT_SUPPORTED, first)
            return
        roles = self._role(abstract)
        if not (roles.scu or roles.scp):
            # no role is left for the requestor, so the context could carry nothing
            self._reject(cid, abstract, _R.USER_REJECTION, first)
            return
        self.accepted[cid] = AcceptedContext(abstract, chosen)
        self.items.append(PresentationContextACItem.build(cid, _R.ACCEPTANCE, chosen))

    def _reject(self, cid: int, abstract: str, result: _R, first: str | None) -> None:
        """Record a rejected context; its TS sub-item echoes the first proposed (not tested)."""
        self.rejected[cid] = RejectedContext(abstract, result)
        self.items.append(PresentationContextACItem.build(cid, result, first))

    def role_items(self) -> list[SCPSCURoleSelectionSubItem]:
        """Role Selection answers for the SOP classes of accepted contexts that proposed roles."""
        accepted = {context.abstract_syntax for context in self.accepted.values()}
        return [
            SCPSCURoleSelectionSubItem(sop, Role(roles.scu), Role(roles.scp))
            for sop, roles in self.role_outcomes.items()
            if sop in accepted
        ]


def _window_answer(rq_user: UserInformationItem, ours: AsyncWindow | None) -> AsyncWindow | None:
    """Our Asynchronous Operations Window answer, or ``None`` to leave the sub-item out."""
    asked = rq_user.asynchronous_operations_window
    if ours is None or asked is None:
        return None
    return AsyncWindow(
        _narrow(asked.maximum_number_operations_invoked, ours.invoked),
        _narrow(asked.maximum_number_operations_performed, ours.performed),
    )


def _our_extended(ours: ExtendedNegotiation | None) -> ExtendedNegotiation | None:
    """Check our extended negotiation answers: a mapping now, a callable's answers when given."""
    if ours is None or (callable(ours) and not isinstance(ours, Mapping)):
        return ours
    if not isinstance(ours, Mapping):
        raise InvalidParameterType(
            f"expected a mapping or a callable, not {type(ours).__name__}",
            path="extended_negotiation",
        )
    return _validate.application_information(ours, "extended_negotiation")


def _identity_verdict(
    asked: UserIdentityRQSubItem | None, verify: UserIdentityCheck | None
) -> tuple[bool, bytes | None]:
    """Whether the identity passes, and the server response to send (``None``: no sub-item)."""
    if asked is None or verify is None:
        return True, None
    verdict = verify(asked)
    if isinstance(verdict, bool):
        response = b"" if verdict else None
    elif isinstance(verdict, bytes):
        response = verdict
        if len(response) > 0xFFFF:
            raise InvalidParameter(
                "a server response holds at most 65535 bytes", path="user_identity"
            )
    else:
        raise InvalidParameterType(
            f"the check returned {type(verdict).__name__}; expected bool or bytes",
            path="user_identity",
        )
    if verdict is False:
        return False, None
    return True, response if asked.positive_response_requested else None


def _extended_answers(
    rq_user: UserInformationItem, ours: ExtendedNegotiation | None, accepted: set[str]
) -> dict[str, bytes]:
    """Our SOP Class Extended Negotiation answers for accepted SOP classes the peer asked about."""
    if ours is None:
        return {}
    path = "A-ASSOCIATE-RQ > user information > extended negotiation"
    answers: dict[str, bytes] = {}
    for sop, item in first_by_sop_class(rq_user.extended_negotiations, None, path).items():
        if sop not in accepted:
            continue
        info = bytes(item.service_class_application_information)
        answer = ours.get(sop) if isinstance(ours, Mapping) else ours(sop, info)
        if answer is None:
            continue
        if not isinstance(answer, bytes):
            raise InvalidParameterType(
                f"expected bytes, not {type(answer).__name__}",
                path=f"extended_negotiation[{sop!r}]",
            )
        answers[sop] = answer
    return answers


def respond(
    rq: AAssociateRQ,
    supported: Supported,
    *,
    called_ae_titles: Collection[str] | None = None,
    calling_ae_titles: Collection[str] | None = None,
    max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH,
    roles: Mapping[str, Roles | tuple[bool, bool]] | None = None,
    async_window: AsyncWindow | tuple[int, int] | None = None,
    user_identity: UserIdentityCheck | None = None,
    extended_negotiation: ExtendedNegotiation | None = None,
    accept_related_general_sop_classes: bool = False,
    require_accepted_context: bool = False,
    implementation_class_uid: str = IMPLEMENTATION_CLASS_UID,
    implementation_version_name: str | None = IMPLEMENTATION_VERSION_NAME,
    policy: Policy = LENIENT,
) -> Accepted | Rejected:
    """Answer a received A-ASSOCIATE-RQ: the AC (and negotiated association) or the RJ to send.

    Rejections are checked in this order: protocol version without bit 0 (ACSE provider,
    protocol-version-not-supported), an application context other than DICOM's (service-user,
    application-context-name-not-supported), a called AE title not in ``called_ae_titles``, a
    calling AE title not in ``calling_ae_titles`` (service-user, called/calling-AE-title-not-
    recognized), a User Identity ``user_identity`` refuses (ACSE provider, no-reason-given, as
    PS3.7 D.3.3.7 says), no presentation context at all, or none accepted when
    ``require_accepted_context`` (service-user, no-reason-given). All are rejected-permanent.

    Each context is accepted with the first transfer syntax in OUR order (from ``supported``)
    that the peer proposed, else rejected with 3 (abstract syntax not supported), 4 (no transfer
    syntax supported) or 1 (user rejection: no role left after Role Selection). ``roles`` maps
    SOP classes to the requestor ``Roles(scu, scp)`` we accept (default: SCU only).
    ``async_window`` is the most we allow (``None``: no sub-item, synchronous).
    ``accept_related_general_sop_classes`` accepts a specialised SOP class whose related general
    SOP class (named by the peer's Common Extended Negotiation) we support. The AC echoes the
    RQ's AE title fields and reserved bytes (PS3.8 9.3.3).
    """
    if not isinstance(rq, AAssociateRQ):
        raise InvalidParameterType(f"expected AAssociateRQ, not {type(rq).__name__}", path="rq")
    lookup = _lookup(supported)
    called_ok = _titles(called_ae_titles, "called_ae_titles")
    calling_ok = _titles(calling_ae_titles, "calling_ae_titles")
    our_max = check_max_pdu_length(max_pdu_length)
    accepted_roles = _accepted_roles(roles)
    class_uid = _validate.uid(implementation_class_uid, "implementation_class_uid")
    version = (
        None
        if implementation_version_name is None
        else _validate.version_name(implementation_version_name, "implementation_version_name")
    )
    rq_user = rq.user_information or UserInformationItem()
    window = _window_answer(
        rq_user, None if async_window is None else _validate.window(async_window, "async_window")
    )
    extended_negotiation = _our_extended(extended_negotiation)
    if user_identity is not None and not callable(user_identity):
        raise InvalidParameterType(
            f"expected a callable, not {type(user_identity).__name__}", path="user_identity"
        )

    if not rq.protocol_version & 1:
        return reject(RejectReasonACSE.PROTOCOL_VERSION_NOT_SUPPORTED)
    if rq.application_context_name != APPLICATION_CONTEXT_NAME:
        return reject(RejectReasonUser.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
    if called_ok is not None and rq.called_ae_title.strip(" ") not in called_ok:
        return reject(RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED)
    if calling_ok is not None and rq.calling_ae_title.strip(" ") not in calling_ok:
        return reject(RejectReasonUser.CALLING_AE_TITLE_NOT_RECOGNIZED)
    identity = requested_identity(rq_user)
    passed, identity_response = _identity_verdict(identity, user_identity)
    if not passed:
        return reject(RejectReasonACSE.NO_REASON_GIVEN)
    if not rq.presentation_contexts:
        return reject(RejectReasonUser.NO_REASON_GIVEN)

    report = Reporter(policy)
    common = common_extended(rq_user)
    negotiation = _Negotiation(
        rq, lookup, accepted_roles, common, accept_related_general_sop_classes, report
    )
    if require_accepted_context and not negotiation.accepted:
        return reject(RejectReasonUser.NO_REASON_GIVEN)
    peer_max = peer_max_length(rq_user, report, "A-ASSOCIATE-RQ > user information")
    accepted_sops = {context.abstract_syntax for context in negotiation.accepted.values()}
    extended = _extended_answers(rq_user, extended_negotiation, accepted_sops)

    user: list[UserSubItem] = [
        MaximumLengthSubItem(our_max),
        ImplementationClassUIDSubItem(class_uid),
    ]
    if window is not None:
        user.append(AsynchronousOperationsWindowSubItem(window.invoked, window.performed))
    role_items = negotiation.role_items()
    user.extend(role_items)
    if version is not None:
        user.append(ImplementationVersionNameSubItem(version))
    user.extend(SOPClassExtendedNegotiationSubItem(sop, info) for sop, info in extended.items())
    if identity_response is not None:
        user.append(UserIdentityACSubItem(identity_response))
    items: list[VariableItem] = [ApplicationContextItem(APPLICATION_CONTEXT_NAME)]
    items.extend(negotiation.items)
    items.append(UserInformationItem(tuple(user)))
    ac = AAssociateAC(
        rq.called_ae_title,
        rq.calling_ae_title,
        tuple(items),
        called_ae_title_raw=rq.called_ae_title_raw,
        calling_ae_title_raw=rq.calling_ae_title_raw,
        reserved_2=rq.reserved_2,
    )
    association = Association(
        is_requestor=False,
        calling_ae_title=rq.calling_ae_title,
        called_ae_title=rq.called_ae_title,
        application_context_name=APPLICATION_CONTEXT_NAME,
        accepted_contexts=negotiation.accepted,
        rejected_contexts=negotiation.rejected,
        our_max_pdu_length=our_max,
        peer_max_pdu_length=peer_max,
        peer_implementation_class_uid=rq_user.implementation_class_uid,
        peer_implementation_version_name=rq_user.implementation_version_name,
        role_selections={item.sop_class_uid: _roles_of(item) for item in role_items},
        async_window=SYNCHRONOUS if window is None else window,
        user_identity=identity,
        user_identity_response=identity_response,
        extended_negotiation=extended,
        common_extended_negotiation=common,
        diagnostics=tuple(report.found),
    )
    return Accepted(ac, association)


def _roles_of(item: SCPSCURoleSelectionSubItem) -> Roles:
    """The requestor roles a Role Selection sub-item grants."""
    return Roles(int(item.scu_role) == 1, int(item.scp_role) == 1)
