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
    MAXIMUM_PRESENTATION_CONTEXTS,
)
from dimse_codec.association.model import (
    DEFAULT_REQUESTOR_ROLES,
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
from dimse_codec.association.requestor import ContextSpec, build_request, read_response

__all__ = [
    "APPLICATION_CONTEXT_NAME",
    "DEFAULT_MAX_PDU_LENGTH",
    "DEFAULT_REQUESTOR_ROLES",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAXIMUM_PRESENTATION_CONTEXTS",
    "SYNCHRONOUS",
    "Aborted",
    "Accepted",
    "AcceptedContext",
    "Association",
    "AsyncWindow",
    "ContextSpec",
    "ExtendedNegotiation",
    "ProposedContext",
    "Rejected",
    "RejectedContext",
    "Roles",
    "Supported",
    "UserIdentityCheck",
    "build_request",
    "read_response",
    "reject",
    "respond",
]
