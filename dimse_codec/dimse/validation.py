"""Validity of a primitive as a request or a response, by the whole M/U/C/(=) table of PS3.7.

Not just "is not None": a mandatory parameter must be present and non-empty, a ``-`` parameter
must be absent, conditional cells are decided by their named rule, and with the request at hand
the ``(=)`` cells must equal the request's values. The answer is a :class:`Verdict`, falsy with
the reasons when the primitive is not valid.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from dimse_codec.dimse.status import StatusCategory, category
from dimse_codec.tables.messages import MESSAGES_BY_FIELD, MessageSpec, Parameter

if TYPE_CHECKING:
    from dimse_codec.dimse.primitives import DIMSEPrimitive

__all__ = ["Verdict", "message_spec_for", "validate"]


class Verdict:
    """A yes/no answer that keeps its reasons: ``bool(v)`` is the answer, ``v.reasons`` the why."""

    __slots__ = ("reasons",)

    def __init__(self, reasons: Iterable[str] = ()) -> None:
        self.reasons: tuple[str, ...] = tuple(reasons)

    def __bool__(self) -> bool:
        return not self.reasons

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return bool(self) is other
        if isinstance(other, Verdict):
            return self.reasons == other.reasons
        return NotImplemented

    def __hash__(self) -> int:
        return hash(bool(self))

    def __repr__(self) -> str:
        if not self.reasons:
            return "Verdict(True)"
        return f"Verdict(False: {'; '.join(self.reasons)})"


def message_spec_for(primitive: DIMSEPrimitive, is_request: bool) -> MessageSpec | None:
    """The message type of a primitive in one direction, or ``None`` if it has none."""
    service = primitive.SERVICE
    if service is None:
        return None
    field = service.request_field if is_request else service.response_field
    return None if field is None else MESSAGES_BY_FIELD[field]


def _present(primitive: DIMSEPrimitive, parameter: Parameter) -> bool:
    if parameter.dataset:
        return primitive.dataset_follows(parameter.keyword)
    return primitive.__dict__["_" + parameter.keyword] is not None


class _Checks(NamedTuple):
    """What to check for one primitive class in one direction, precomputed from the table."""

    spec: MessageSpec
    unused: tuple[str, ...]  # keywords that must be absent ("-")
    mandatory: tuple[Parameter, ...]
    conditional: tuple[Parameter, ...]
    equal: tuple[str, ...]  # keywords whose cell carries (=)


_CHECKS: dict[tuple[type, bool], _Checks | None] = {}


def _checks(primitive: DIMSEPrimitive, is_request: bool) -> _Checks | None:
    key = (type(primitive), is_request)
    try:
        return _CHECKS[key]
    except KeyError:
        pass
    spec = message_spec_for(primitive, is_request)
    checks = None
    if spec is not None:
        used = {p.keyword for p in spec.parameters}
        checks = _Checks(
            spec,
            tuple(k for k in primitive.PARAMETERS if k not in used),
            tuple(p for p in spec.parameters if p.usage(is_request).startswith("M")),
            tuple(
                p
                for p in spec.parameters
                if p.usage(is_request).startswith("C") and p.condition
            ),
            tuple(p.keyword for p in spec.parameters if p.usage(is_request).endswith("(=)")),
        )
    _CHECKS[key] = checks
    return checks


def validate(
    primitive: DIMSEPrimitive, is_request: bool, request: DIMSEPrimitive | None = None
) -> Verdict:
    """Check a primitive against its message type's table; ``request`` enables the (=) checks."""
    checks = _checks(primitive, is_request)
    if checks is None:
        if primitive.SERVICE is None:
            return Verdict(["the CommandField names no DIMSE message"])
        return Verdict([f"{primitive.msg_type} has no response message"])
    spec = checks.spec
    state = primitive.__dict__
    empty = primitive.empty_keywords
    reasons: list[str] = []
    for keyword in checks.unused:
        if state["_" + keyword] is not None or keyword in empty:
            reasons.append(f"{keyword} is not a parameter of {spec.name}")
    for parameter in checks.mandatory:
        keyword = parameter.keyword
        if parameter.dataset:
            if not primitive.dataset_follows(keyword):
                reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is missing")
            continue
        value = state["_" + keyword]
        if value is None:
            if keyword in empty:
                reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is empty")
            else:
                reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is missing")
        elif (value == "" or value == ()) and not isinstance(value, int):
            reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is empty")
    if checks.conditional:
        status = state.get("_Status")
        status_category = (
            category(status) if isinstance(status, int) and 0 <= status <= 0xFFFF else None
        )
        for parameter in checks.conditional:
            reason = _condition(
                primitive,
                spec,
                parameter,
                _present(primitive, parameter),
                status_category,
                request,
            )
            if reason:
                reasons.append(reason)
    if request is not None:
        for keyword in checks.equal:
            mine: Any = state["_" + keyword]
            theirs: Any = request.__dict__.get("_" + keyword)
            if mine is not None and theirs is not None and mine != theirs:
                reasons.append(
                    f"{keyword} {mine!r} must equal the request's value {theirs!r} (=)"
                )
    priority = state.get("_Priority")
    if priority is not None and "Priority" not in checks.unused and priority > 2:
        reasons.append(f"Priority {priority} is none of LOW (2), MEDIUM (0), HIGH (1)")
    return Verdict(reasons) if reasons else _VALID


_VALID = Verdict()


_DETAIL_CATEGORIES = frozenset({StatusCategory.WARNING, StatusCategory.FAILURE})
_REPLY_CATEGORIES = frozenset({StatusCategory.SUCCESS, StatusCategory.WARNING})


def _condition(
    primitive: DIMSEPrimitive,
    spec: MessageSpec,
    parameter: Parameter,
    present: bool,
    status: StatusCategory | None,
    request: DIMSEPrimitive | None,
) -> str | None:
    """Decide one conditional cell by its named rule; return the reason it fails, if it does."""
    keyword = parameter.keyword
    rule = parameter.condition
    if rule == "status_detail":
        if present and status is not None and status not in _DETAIL_CATEGORIES:
            return f"{keyword} is only sent with a Warning or Failure status"
    elif rule == "pending_identifier":
        pending = status is StatusCategory.PENDING
        if pending and not present:
            return f"{keyword} is required in a Pending {spec.name}"
        if present and status is not None and not pending:
            return f"{keyword} is only sent with a Pending status"
    elif rule == "suboperations":
        if status is StatusCategory.PENDING and not present:
            return f"{keyword} is required in a Pending {spec.name}"
    elif rule == "reply_on_success":
        if present and status is not None and status not in _REPLY_CATEGORIES:
            return f"{keyword} is only sent with a Success or Warning status"
    elif rule == "with_reply":
        if spec.dataset is not None and _present(primitive, spec.dataset) and not present:
            return f"{keyword} is required when {spec.dataset.keyword} is present"
    elif rule == "created_instance" and (
        request is not None
        and request.__dict__.get("_AffectedSOPInstanceUID") is None
        and not present
    ):
        return f"{keyword} is required when the request did not give one"
    return None
