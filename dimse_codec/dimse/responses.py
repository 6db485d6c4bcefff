"""Responses from handler results: ``build_response``, ``RequestContext`` and ``handle``.

A service handler receives a :class:`RequestContext` for a request and returns a status (an
int, or a pydicom ``Dataset`` holding (0000,0900) and optional status elements, PS3.7 Annex C)
and, for Success or Warning, a reply data set. :func:`build_response` turns that into the
response primitive of PS3.7 9.3 and 10.3: the (=) parameters are copied from the request, only
the status elements the response may carry go into its command set, the reply data set goes in
only with the statuses its :class:`~dimse_codec.tables.messages.Condition` allows, and whatever
had to be left out is reported in the response's ``diagnostics`` rather than dropped silently.

PS3.7 gives no status for a request nobody serves; dimse-codec answers it with 0110H
*Processing Failure* (PS3.7 C.4.2) and an Error Comment saying no handler serves that request
(:data:`NO_HANDLER_STATUS`, :func:`no_handler_response`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, NamedTuple

from pydicom.dataset import Dataset

from dimse_codec.dataset.codec import decode_dataset
from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.dimse.status import category
from dimse_codec.errors import DimseCodecError, InvalidParameter, InvalidParameterType
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.elements import BY_KEYWORD
from dimse_codec.tables.messages import CONDITIONS, MESSAGES_BY_FIELD, MessageSpec

__all__ = [
    "NO_HANDLER_STATUS",
    "Event",
    "HandlerResult",
    "PresentationContextTuple",
    "RequestContext",
    "build_response",
    "handle",
    "no_handler_response",
]

NO_HANDLER_STATUS = 0x0110
"""Status sent for a request no handler serves: 0110H Processing Failure (PS3.7 C.4.2)."""

_TYPE_ID_CATEGORIES = CONDITIONS["reply_on_success"].only_with or frozenset()
"""PS3.7 10.1.1.1.7 and 10.1.4.1.5: Event/Action Type ID go with the reply, so with the statuses
the reply's own condition row allows (Success or Warning)."""


class PresentationContextTuple(NamedTuple):
    """The presentation context a message travelled on: ID, abstract and transfer syntax."""

    context_id: int
    abstract_syntax: str
    transfer_syntax: str


HandlerResult = int | Dataset | tuple[int | Dataset, Dataset | bytes | None]
"""What a handler returns: a status, or a (status, reply data set) pair."""


class RequestContext:
    """A request as a handler sees it: the request, its presentation context and a timestamp.

    The data set properties decode the request's data set lazily, once, in the context's
    transfer syntax (or the request's own), and raise
    :class:`~dimse_codec.errors.DecodeError` at once if it cannot be decoded, instead of
    deferring the failure to first use.
    """

    def __init__(
        self,
        request: DIMSEPrimitive,
        context: PresentationContextTuple | None = None,
        *,
        timestamp: datetime.datetime | None = None,
        assoc: Any = None,
        policy: Policy = LENIENT,
    ) -> None:
        self.request = request
        self.context = context
        self.timestamp = timestamp or datetime.datetime.now()
        self.assoc = assoc
        self.name = f"EVT_{request.msg_type.replace('-', '_')}"
        self.description = f"{request.msg_type} request received"
        self._policy = policy
        self._decoded: dict[str, Dataset] = {}
        self.diagnostics: list[Diagnostic] = []

    def _dataset(self, keyword: str) -> Dataset:
        if keyword not in self.request.DATASET_PARAMETERS:
            raise InvalidParameter(
                f"a {self.request.msg_type} request has no {keyword}", path=keyword
            )
        cached = self._decoded.get(keyword)
        if cached is not None:
            return cached
        raw = self.request.payload_bytes(keyword)
        syntax = self.context.transfer_syntax if self.context else self.request.transfer_syntax
        decoded = decode_dataset(
            b"" if raw is None else raw,
            syntax,
            policy=self._policy,
            diagnostics=self.diagnostics,
        )
        self._decoded[keyword] = decoded
        return decoded

    @property
    def action_information(self) -> Dataset:
        """The N-ACTION request's Action Information, decoded."""
        return self._dataset("ActionInformation")

    @property
    def event_information(self) -> Dataset:
        """The N-EVENT-REPORT request's Event Information, decoded."""
        return self._dataset("EventInformation")

    @property
    def attribute_list(self) -> Dataset:
        """The N-CREATE request's Attribute List, decoded."""
        return self._dataset("AttributeList")

    @property
    def modification_list(self) -> Dataset:
        """The N-SET request's Modification List, decoded."""
        return self._dataset("ModificationList")

    @property
    def identifier(self) -> Dataset:
        """The C-FIND, C-GET or C-MOVE request's Identifier, decoded."""
        return self._dataset("Identifier")

    @property
    def dataset(self) -> Dataset:
        """The C-STORE request's Data Set, decoded."""
        return self._dataset("DataSet")


Event = RequestContext
"""pynetdicom's name for :class:`RequestContext`, kept (not deprecated) so that handler code
written for pynetdicom, which receives an ``Event``, runs unchanged."""


def _response_spec(request: DIMSEPrimitive) -> MessageSpec:
    spec = message_spec(request, is_request=True)
    field = spec.service.response_field
    if field is None:
        raise InvalidParameter(f"{spec.service.name} has no response", path=spec.name)
    return MESSAGES_BY_FIELD[field]


def build_response(
    request: DIMSEPrimitive,
    status: int | Dataset,
    dataset: Dataset | bytes | memoryview | None = None,
    **parameters: Any,
) -> DIMSEPrimitive:
    """Build the response primitive for a request from a handler's status and reply data set.

    ``status`` is an int or a ``Dataset`` with (0000,0900) Status and optional status elements;
    only elements the response may carry are used, the rest are reported in the response's
    ``diagnostics``. The reply ``dataset`` is attached only when the status allows it (Success
    or Warning for N-services, Pending for C-FIND). ``parameters`` set further response
    parameters, e.g. ``AffectedSOPInstanceUID`` of an N-CREATE or the sub-operation counts.
    """
    spec = _response_spec(request)
    asked = request.values()
    if asked.get("MessageID") is None:
        raise InvalidParameter("the request has no MessageID to respond to", path="MessageID")
    response = type(request)()
    response.context_id = request.context_id
    response.transfer_syntax = request.transfer_syntax
    state = response.__dict__
    diagnostics: list[Diagnostic] = []
    used = {p.keyword for p in spec.parameters if not p.dataset}

    code, extras = _status(status)
    response.Status = code  # type: ignore[attr-defined]
    state_category = category(code)
    for keyword, value in extras:
        if keyword in used and keyword not in ("Status", "MessageIDBeingRespondedTo"):
            setattr(response, keyword, value)
        else:
            LENIENT.report(
                diagnostics,
                DiagnosticCode.ELEMENT_NOT_ALLOWED,
                f"{keyword} from the status data set is not a field of {spec.name}; left out",
                None,
                f"status > {keyword}",
            )
    response.MessageIDBeingRespondedTo = request.MessageID  # type: ignore[attr-defined]

    for parameter in spec.parameters:
        keyword = parameter.keyword
        if parameter.dataset or state["_" + keyword] is not None:
            continue
        usage = parameter.response
        if keyword in ("AffectedSOPClassUID", "AffectedSOPInstanceUID"):
            source = asked.get(keyword)
            if source is None:  # N-GET/SET/ACTION/DELETE name the instance as Requested...
                source = asked.get(keyword.replace("Affected", "Requested"))
            if source is not None:
                state["_" + keyword] = source
        elif usage.endswith("(=)") and state_category in _TYPE_ID_CATEGORIES:
            value = asked.get(keyword)
            if value is not None:
                state["_" + keyword] = value

    if dataset is not None:
        reply = spec.dataset
        rule = CONDITIONS[reply.condition] if reply is not None and reply.condition else None
        allowed = None if rule is None else rule.only_with
        if reply is None:
            LENIENT.report(
                diagnostics,
                DiagnosticCode.DATA_SET_UNEXPECTED,
                f"{spec.name} carries no data set; the handler's data set is left out",
                None,
                "dataset",
            )
        elif allowed is not None and state_category not in allowed:
            LENIENT.report(
                diagnostics,
                DiagnosticCode.DATA_SET_UNEXPECTED,
                f"{reply.keyword} is not sent with a {state_category.value} status; "
                "the handler's data set is left out",
                None,
                reply.keyword,
            )
        else:
            setattr(response, reply.keyword, dataset)

    for keyword, value in parameters.items():
        setattr(response, keyword, value)
    state["_diagnostics"] = tuple(diagnostics)
    return response


def _status(status: int | Dataset) -> tuple[int, list[tuple[str, Any]]]:
    """Split a handler's status into the code and the other group 0000 elements it holds."""
    if isinstance(status, bool) or not isinstance(status, (int, Dataset)):
        raise InvalidParameterType(
            f"a status is an int or a Dataset, not {type(status).__name__}", path="Status"
        )
    if isinstance(status, int):
        return status, []
    if "Status" not in status:
        raise InvalidParameter(
            "the status Dataset has no (0000,0900) Status element", path="Status"
        )
    extras = []
    for element in status:
        if element.tag == 0x00000900:
            continue
        keyword = element.keyword or f"({element.tag.group:04X},{element.tag.element:04X})"
        value = element.value
        if keyword in BY_KEYWORD and BY_KEYWORD[keyword].vr == "AT" and value is not None:
            value = list(value) if isinstance(value, (list, tuple)) else [value]
        extras.append((keyword, value))
    return int(status.Status), extras


def no_handler_response(request: DIMSEPrimitive) -> DIMSEPrimitive:
    """The response to a request no handler serves: 0110H with an Error Comment saying so."""
    spec = _response_spec(request)
    status = Dataset()
    status.Status = NO_HANDLER_STATUS
    status.ErrorComment = f"No handler serves {spec.service.name} requests"
    return build_response(request, status)


Handler = Callable[[RequestContext], HandlerResult]


def handle(
    request: DIMSEPrimitive,
    handler: Handler | None,
    context: PresentationContextTuple | None = None,
    *,
    timestamp: datetime.datetime | None = None,
) -> DIMSEPrimitive:
    """Run a handler for a request and return the response primitive (sans-I/O dispatch).

    No handler, or one raising ``NotImplementedError``, gives :func:`no_handler_response`. A
    handler that raises anything else gives 0110H with the exception's type as Error Comment:
    this is the service boundary, where a peer must get an answer whatever the handler did.
    """
    if handler is None:
        return no_handler_response(request)
    event = RequestContext(request, context, timestamp=timestamp)
    try:
        result = handler(event)
    except NotImplementedError:
        return no_handler_response(request)
    except DimseCodecError as exc:
        return _failure(request, f"Request data set undecodable: {exc.code or 'error'}")
    except Exception as exc:  # the peer must be answered whatever the handler raised
        return _failure(request, f"Handler raised {type(exc).__name__}")
    if isinstance(result, tuple):
        status, dataset = result
        return build_response(request, status, dataset)
    return build_response(request, result)


def _failure(request: DIMSEPrimitive, comment: str) -> DIMSEPrimitive:
    status = Dataset()
    status.Status = NO_HANDLER_STATUS
    status.ErrorComment = comment[:64]
    return build_response(request, status)
