"""Association negotiation (PS3.8 7.1, 9.3.2-9.3.4, PS3.7 Annex D), sans-I/O, for both sides.

A requestor calls :func:`build_request`, sends ``encode_pdu(rq)``, decodes the answer and passes
it to :func:`read_response`. An acceptor decodes the RQ and calls :func:`respond`, then sends
``encode_pdu(result.pdu)``. Either way the outcome is an :class:`Accepted` (with the negotiated
:class:`Association`), a :class:`Rejected` or an :class:`Aborted`. See ``docs/association.md``.
"""

from dimse_codec.association.acceptor import (
    ExtendedNegotiation,
    Supported,
    UserIdentityCheck,
    reject,
    respond,
)
from dimse_codec.association.constants import (
    APPLICATION_CONTEXT_NAME,
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    MAX_PDU_LENGTH_LIMIT,
    MAXIMUM_PRESENTATION_CONTEXTS,
    MINIMUM_MAX_PDU_LENGTH,
    PDV_HEADER_SIZE,
    max_fragment_length,
    max_wire_pdu_size,
)
from dimse_codec.association.model import (
    DEFAULT_REQUESTOR_ROLES,
    SYNCHRONOUS,
    Aborted,
    Accepted,
    AcceptedContext,
    Association,
    AsyncWindow,
    NegotiationIssue,
    ProposedContext,
    Rejected,
    RejectedContext,
    Roles,
)
from dimse_codec.association.requestor import ContextSpec, build_request, read_response

__all__ = [
    "APPLICATION_CONTEXT_NAME",
    "DEFAULT_MAX_PDU_LENGTH",
    "DEFAULT_REQUESTOR_ROLES",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAXIMUM_PRESENTATION_CONTEXTS",
    "MAX_PDU_LENGTH_LIMIT",
    "MINIMUM_MAX_PDU_LENGTH",
    "PDV_HEADER_SIZE",
    "SYNCHRONOUS",
    "Aborted",
    "Accepted",
    "AcceptedContext",
    "Association",
    "AsyncWindow",
    "ContextSpec",
    "ExtendedNegotiation",
    "NegotiationIssue",
    "ProposedContext",
    "Rejected",
    "RejectedContext",
    "Roles",
    "Supported",
    "UserIdentityCheck",
    "build_request",
    "max_fragment_length",
    "max_wire_pdu_size",
    "read_response",
    "reject",
    "respond",
]
