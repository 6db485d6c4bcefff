"""PS3.7 sections 9 and 10 as data: the 12 DIMSE services, their parameters, and the 23 messages.

Each service lists its parameters the way the service parameter tables of PS3.7 9.1 and 10.1
tabulate them (e.g. PS3.7 Table 9.1-1 for C-STORE): one usage cell for the request/indication
and one for the response/confirmation, spelled as in the standard (``M``, ``U``, ``C``,
``U(=)``, ``C(=)``, ``-``). Status-related parameters from PS3.7 Annex C (Error Comment, Error
ID, Offending Element, ...) are marked ``status_detail``. Conditional cells name the rule that
decides them, a :class:`Condition` record of :data:`CONDITIONS`. Everything else is derived from
this: the command elements of each message (PS3.7 Annex E), which data set parameter it
carries, the primitives' attributes, what validation checks, and the Hypothesis strategies.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

from dimse_codec.tables.elements import BY_KEYWORD
from dimse_codec.tables.status import StatusCategory

__all__ = [
    "COMMAND_DATA_SET_TYPE_NULL",
    "CONDITIONS",
    "MESSAGES",
    "MESSAGES_BY_FIELD",
    "MESSAGES_BY_NAME",
    "SERVICES",
    "CommandField",
    "Condition",
    "MessageSpec",
    "Parameter",
    "Priority",
    "ServiceSpec",
    "message_for",
]

COMMAND_DATA_SET_TYPE_NULL = 0x0101
"""CommandDataSetType value meaning "no data set follows"; any other value means one does."""


class CommandField(enum.IntEnum):
    """The (0000,0100) values of the 23 DIMSE message types."""

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_GET_RSP = 0x8010
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_MOVE_RQ = 0x0021
    C_MOVE_RSP = 0x8021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    N_EVENT_REPORT_RQ = 0x0100
    N_EVENT_REPORT_RSP = 0x8100
    N_GET_RQ = 0x0110
    N_GET_RSP = 0x8110
    N_SET_RQ = 0x0120
    N_SET_RSP = 0x8120
    N_ACTION_RQ = 0x0130
    N_ACTION_RSP = 0x8130
    N_CREATE_RQ = 0x0140
    N_CREATE_RSP = 0x8140
    N_DELETE_RQ = 0x0150
    N_DELETE_RSP = 0x8150
    C_CANCEL_RQ = 0x0FFF


class Priority(enum.IntEnum):
    """(0000,0700) Priority values of DIMSE-C requests."""

    MEDIUM = 0x0000
    HIGH = 0x0001
    LOW = 0x0002


class Parameter(NamedTuple):
    """One service parameter: its keyword and its usage in the request and in the response.

    ``dataset`` marks a data set parameter (carried after the command set, not in it);
    ``condition`` names the rule of :data:`CONDITIONS` that decides a ``C`` cell;
    ``status_detail`` marks the PS3.7 Annex C status-related elements.
    """

    keyword: str
    request: str
    response: str
    dataset: bool = False
    condition: str | None = None
    status_detail: bool = False

    def usage(self, is_request: bool) -> str:
        """Return the usage cell for one direction."""
        return self.request if is_request else self.response


class Condition(NamedTuple):
    """The rule behind conditional (``C``) cells: when the parameter may or shall be present.

    Every field that is not ``None`` applies. A status-bound rule reads the category of the
    response's Status (PS3.7 Annex C); a dependent rule reads the rest of the exchange.
    """

    name: str
    sentence: str
    """The rule as the PS3.7 tables' notes state it."""
    only_with: frozenset[StatusCategory] | None = None
    """The parameter may be present only with a Status of one of these categories."""
    required_with: frozenset[StatusCategory] | None = None
    """The parameter shall be present with a Status of one of these categories."""
    depends_on: Literal["reply", "request_instance"] | None = None
    """``"reply"``: shall be present when the message's data set parameter is present;
    ``"request_instance"``: shall be present when the request gave no Affected SOP Instance UID."""


_S = StatusCategory

CONDITIONS: MappingProxyType[str, Condition] = MappingProxyType(
    {
        condition.name: condition
        for condition in (
            # PS3.7 Annex C: the status-related elements go with the statuses that list them
            Condition(
                "status_detail",
                "may be present only when the Status is a Warning or a Failure",
                only_with=frozenset({_S.WARNING, _S.FAILURE}),
            ),
            # PS3.7 9.1.2.1 (Table 9.1-2): a C-FIND response has an Identifier while Pending
            Condition(
                "pending_identifier",
                "present if and only if the Status is Pending (FF00H or FF01H)",
                only_with=frozenset({_S.PENDING}),
                required_with=frozenset({_S.PENDING}),
            ),
            # PS3.7 9.1.3.1 and 9.1.4.1: C-GET and C-MOVE sub-operation counts
            Condition(
                "suboperations",
                "shall be present when the Status is Pending; may be present otherwise",
                required_with=frozenset({_S.PENDING}),
            ),
            # PS3.7 10.1.1.1, 10.1.2.1 and 10.1.4.1: the N-services' reply data sets
            Condition(
                "reply_on_success",
                "may be present only when the Status is Success or Warning",
                only_with=frozenset({_S.SUCCESS, _S.WARNING}),
            ),
            # PS3.7 10.1.1.1.7 and 10.1.4.1.5: Event/Action Type ID with the reply
            Condition(
                "with_reply",
                "shall be present when the reply data set is present; equal to the request's",
                depends_on="reply",
            ),
            # PS3.7 10.1.5.1: the instance the N-CREATE SCP created
            Condition(
                "created_instance",
                "shall be present when the request had no Affected SOP Instance UID",
                depends_on="request_instance",
            ),
        )
    }
)
"""The rules behind conditional (``C``) cells, by name."""


class ServiceSpec(NamedTuple):
    """A DIMSE service: its name, the CommandField of each message, and its parameters."""

    name: str
    request_field: int
    response_field: int | None
    parameters: tuple[Parameter, ...]

    @property
    def class_name(self) -> str:
        """The primitive's class name, e.g. ``N_EVENT_REPORT``."""
        return self.name.replace("-", "_")


def _p(
    keyword: str,
    request: str,
    response: str,
    *,
    dataset: bool = False,
    condition: str | None = None,
) -> Parameter:
    return Parameter(keyword, request, response, dataset, condition)


def _status(keyword: str) -> Parameter:
    return Parameter(keyword, "-", "C", False, "status_detail", True)


_SUBOPS = tuple(
    _p(f"NumberOf{kind}Suboperations", "-", "C", condition="suboperations")
    for kind in ("Remaining", "Completed", "Failed", "Warning")
)

SERVICES: MappingProxyType[str, ServiceSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ServiceSpec(
                "C-STORE",
                0x0001,
                0x8001,
                (
                    _p("MessageID", "M", "U"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("AffectedSOPInstanceUID", "M", "U(=)"),
                    _p("Priority", "M", "-"),
                    _p("MoveOriginatorApplicationEntityTitle", "U", "-"),
                    _p("MoveOriginatorMessageID", "U", "-"),
                    _p("DataSet", "M", "-", dataset=True),
                    _p("Status", "-", "M"),
                    _status("OffendingElement"),
                    _status("ErrorComment"),
                ),
            ),
            ServiceSpec(
                "C-FIND",
                0x0020,
                0x8020,
                (
                    _p("MessageID", "M", "U"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("Priority", "M", "-"),
                    _p("Identifier", "M", "C", dataset=True, condition="pending_identifier"),
                    _p("Status", "-", "M"),
                    _status("OffendingElement"),
                    _status("ErrorComment"),
                ),
            ),
            ServiceSpec(
                "C-GET",
                0x0010,
                0x8010,
                (
                    _p("MessageID", "M", "U"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("Priority", "M", "-"),
                    _p("Identifier", "M", "U", dataset=True),
                    _p("Status", "-", "M"),
                    *_SUBOPS,
                    _status("OffendingElement"),
                    _status("ErrorComment"),
                ),
            ),
            ServiceSpec(
                "C-MOVE",
                0x0021,
                0x8021,
                (
                    _p("MessageID", "M", "U"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("Priority", "M", "-"),
                    _p("MoveDestination", "M", "-"),
                    _p("Identifier", "M", "U", dataset=True),
                    _p("Status", "-", "M"),
                    *_SUBOPS,
                    _status("OffendingElement"),
                    _status("ErrorComment"),
                ),
            ),
            ServiceSpec(
                "C-ECHO",
                0x0030,
                0x8030,
                (
                    _p("MessageID", "M", "U"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                ),
            ),
            ServiceSpec(
                "C-CANCEL",
                0x0FFF,
                None,
                (_p("MessageIDBeingRespondedTo", "M", "-"),),
            ),
            ServiceSpec(
                "N-EVENT-REPORT",
                0x0100,
                0x8100,
                (
                    _p("MessageID", "M", "-"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("AffectedSOPInstanceUID", "M", "U(=)"),
                    _p("EventTypeID", "M", "C(=)", condition="with_reply"),
                    _p("EventInformation", "U", "-", dataset=True),
                    _p("EventReply", "-", "C", dataset=True, condition="reply_on_success"),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                    _status("ErrorID"),
                ),
            ),
            ServiceSpec(
                "N-GET",
                0x0110,
                0x8110,
                (
                    _p("MessageID", "M", "-"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("RequestedSOPClassUID", "M", "-"),
                    _p("RequestedSOPInstanceUID", "M", "-"),
                    _p("AttributeIdentifierList", "U", "-"),
                    _p("AffectedSOPClassUID", "-", "U"),
                    _p("AffectedSOPInstanceUID", "-", "U"),
                    _p("AttributeList", "-", "C", dataset=True, condition="reply_on_success"),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                    _status("ErrorID"),
                    _status("AttributeIdentifierList"),
                ),
            ),
            ServiceSpec(
                "N-SET",
                0x0120,
                0x8120,
                (
                    _p("MessageID", "M", "-"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("RequestedSOPClassUID", "M", "-"),
                    _p("RequestedSOPInstanceUID", "M", "-"),
                    _p("ModificationList", "M", "-", dataset=True),
                    _p("AttributeList", "-", "U", dataset=True),
                    _p("AffectedSOPClassUID", "-", "U"),
                    _p("AffectedSOPInstanceUID", "-", "U"),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                    _status("ErrorID"),
                    _status("AttributeIdentifierList"),
                ),
            ),
            ServiceSpec(
                "N-ACTION",
                0x0130,
                0x8130,
                (
                    _p("MessageID", "M", "-"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("RequestedSOPClassUID", "M", "-"),
                    _p("RequestedSOPInstanceUID", "M", "-"),
                    _p("ActionTypeID", "M", "C(=)", condition="with_reply"),
                    _p("ActionInformation", "U", "-", dataset=True),
                    _p("AffectedSOPClassUID", "-", "U"),
                    _p("AffectedSOPInstanceUID", "-", "U"),
                    _p("ActionReply", "-", "C", dataset=True, condition="reply_on_success"),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                    _status("ErrorID"),
                    # PS3.4 KK.2.2.3: Storage Management's B010 warning lists keys here
                    _status("AttributeIdentifierList"),
                ),
            ),
            ServiceSpec(
                "N-CREATE",
                0x0140,
                0x8140,
                (
                    _p("MessageID", "M", "-"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("AffectedSOPClassUID", "M", "U(=)"),
                    _p("AffectedSOPInstanceUID", "U", "C", condition="created_instance"),
                    _p("AttributeList", "U", "U", dataset=True),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                    _status("ErrorID"),
                    _status("AttributeIdentifierList"),
                ),
            ),
            ServiceSpec(
                "N-DELETE",
                0x0150,
                0x8150,
                (
                    _p("MessageID", "M", "-"),
                    _p("MessageIDBeingRespondedTo", "-", "M"),
                    _p("RequestedSOPClassUID", "M", "-"),
                    _p("RequestedSOPInstanceUID", "M", "-"),
                    _p("AffectedSOPClassUID", "-", "U"),
                    _p("AffectedSOPInstanceUID", "-", "U"),
                    _p("Status", "-", "M"),
                    _status("ErrorComment"),
                    _status("ErrorID"),
                ),
            ),
        )
    }
)
"""The 12 DIMSE services by name (``"C-STORE"`` ... ``"N-DELETE"``)."""

PROTOCOL_KEYWORDS = ("CommandGroupLength", "CommandField", "CommandDataSetType")
"""Elements every message carries that are not service parameters (PS3.7 9.3 and 10.3)."""


class MessageSpec(NamedTuple):
    """One of the 23 message types, derived from its service and direction."""

    name: str
    command_field: int
    service: ServiceSpec
    is_request: bool
    parameters: tuple[Parameter, ...]
    """The service parameters used in this direction (usage other than ``-``)."""
    dataset: Parameter | None
    """The data set parameter this message may carry, or ``None`` if it never carries one."""
    allowed_tags: frozenset[int]
    """Tags that may appear in this message's command set, protocol elements included."""
    unused: tuple[str, ...]
    """Parameters of the service that this message must not carry (``-``)."""
    mandatory: tuple[Parameter, ...]
    """Parameters whose cell is ``M``."""
    conditional: tuple[Parameter, ...]
    """Parameters whose cell is ``C``, each with its :data:`CONDITIONS` rule."""
    equal: tuple[str, ...]
    """Parameters whose cell carries ``(=)``: equal to the request's value (responses)."""
    position: Mapping[str, int]
    """Where each parameter of the service stands in its table order (a primitive's
    ``parameter_values()``), so a check reads a value by index instead of building a mapping."""

    def usage(self, keyword: str) -> str:
        """Return the usage cell of a parameter in this message (``-`` when not used)."""
        for parameter in self.parameters:
            if parameter.keyword == keyword:
                return parameter.usage(self.is_request)
        return "-"


def _message(service: ServiceSpec, is_request: bool) -> MessageSpec:
    field = service.request_field if is_request else service.response_field
    if field is None:
        raise ValueError(f"{service.name} has no response message")
    # a keyword may appear twice (N-GET's AttributeIdentifierList: request parameter and
    # response status detail); keep the entry that is used in this direction
    used: dict[str, Parameter] = {}
    for parameter in service.parameters:
        if parameter.usage(is_request) != "-":
            used.setdefault(parameter.keyword, parameter)
    parameters = tuple(used.values())
    datasets = [p for p in parameters if p.dataset]
    tags = {BY_KEYWORD[k].tag for k in PROTOCOL_KEYWORDS}
    tags.update(BY_KEYWORD[p.keyword].tag for p in parameters if not p.dataset)
    keywords = dict.fromkeys(p.keyword for p in service.parameters)
    return MessageSpec(
        name=f"{service.name}-{'RQ' if is_request else 'RSP'}",
        command_field=field,
        service=service,
        is_request=is_request,
        parameters=parameters,
        dataset=datasets[0] if datasets else None,
        allowed_tags=frozenset(tags),
        unused=tuple(k for k in keywords if k not in used),
        mandatory=tuple(p for p in parameters if p.usage(is_request).startswith("M")),
        conditional=tuple(
            p for p in parameters if p.usage(is_request).startswith("C") and p.condition
        ),
        equal=tuple(p.keyword for p in parameters if p.usage(is_request).endswith("(=)")),
        position={keyword: index for index, keyword in enumerate(keywords)},
    )


MESSAGES: tuple[MessageSpec, ...] = tuple(
    _message(service, is_request)
    for service in SERVICES.values()
    for is_request in (True, False)
    if is_request or service.response_field is not None
)
"""All 23 message types."""

MESSAGES_BY_FIELD: MappingProxyType[int, MessageSpec] = MappingProxyType(
    {spec.command_field: spec for spec in MESSAGES}
)
MESSAGES_BY_NAME: MappingProxyType[str, MessageSpec] = MappingProxyType(
    {spec.name: spec for spec in MESSAGES}
)


def message_for(service: ServiceSpec, is_request: bool) -> MessageSpec | None:
    """The message type of a service in one direction, or ``None`` (C-CANCEL has no response)."""
    field = service.request_field if is_request else service.response_field
    return None if field is None else MESSAGES_BY_FIELD[field]
