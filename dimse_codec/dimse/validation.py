"""Validity of a primitive as a request or a response, by the whole M/U/C/(=) table of PS3.7.

Not just "is not None": a mandatory parameter must be present and non-empty, a ``-`` parameter
must be absent, conditional cells are decided by their rule's record
(:class:`~dimse_codec.tables.messages.Condition`), and with the request at hand the ``(=)``
cells must equal the request's values. What to check per message type is precomputed in
:class:`~dimse_codec.tables.messages.MessageSpec`; a primitive is read through its public
accessors (:class:`Checkable`). The answer is a :class:`Verdict`, falsy with the reasons when
the primitive is not valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.dimse.status import StatusCategory, category
from dimse_codec.tables.messages import (
    CONDITIONS,
    MessageSpec,
    Parameter,
    ServiceSpec,
    message_for,
)

__all__ = ["Checkable", "Verdict", "validate"]


class Checkable(Protocol):
    """What validation reads of a primitive; :class:`~dimse_codec.DIMSEPrimitive` has it all."""

    @property
    def SERVICE(self) -> ServiceSpec | None:
        """The DIMSE service, or ``None`` for a message no CommandField names."""

    @property
    def msg_type(self) -> str:
        """The DIMSE service name."""

    @property
    def empty_keywords(self) -> frozenset[str]:
        """Parameters present with a zero-length value."""

    def values(self) -> Mapping[str, Any]:
        """Every parameter's value by keyword, ``None`` when absent."""

    def parameter_values(self) -> tuple[Any, ...]:
        """The same values in the service's table order (:attr:`MessageSpec.position`)."""

    def dataset_follows(self, keyword: str | None = None) -> bool:
        """Whether a data set (parameter ``keyword``) is present or announced."""


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


def _message_spec_for(primitive: Checkable, is_request: bool) -> MessageSpec | None:
    """The message type of a primitive in one direction, or ``None`` if it has none."""
    service = primitive.SERVICE
    return None if service is None else message_for(service, is_request)


__getattr__ = deprecated_aliases(
    __name__,
    {
        "message_spec_for": (
            "dimse_codec.message_spec(primitive, is_request, default=None)",
            _message_spec_for,
        )
    },
)


def _present(
    primitive: Checkable, values: tuple[Any, ...], at: Mapping[str, int], parameter: Parameter
) -> bool:
    if parameter.dataset:
        return primitive.dataset_follows(parameter.keyword)
    return values[at[parameter.keyword]] is not None


def validate(primitive: Checkable, is_request: bool, request: Checkable | None = None) -> Verdict:
    """Check a primitive against its message type's table; ``request`` enables the (=) checks."""
    spec = _message_spec_for(primitive, is_request)
    if spec is None:
        if primitive.SERVICE is None:
            return Verdict(["the CommandField names no DIMSE message"])
        return Verdict([f"{primitive.msg_type} has no response message"])
    values = primitive.parameter_values()
    at = spec.position
    empty = primitive.empty_keywords
    reasons: list[str] = []
    for keyword in spec.unused:
        if values[at[keyword]] is not None or keyword in empty:
            reasons.append(f"{keyword} is not a parameter of {spec.name}")
    for parameter in spec.mandatory:
        keyword = parameter.keyword
        if parameter.dataset:
            if not primitive.dataset_follows(keyword):
                reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is missing")
            continue
        value = values[at[keyword]]
        if value is None:
            if keyword in empty:
                reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is empty")
            else:
                reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is missing")
        elif (value == "" or value == ()) and not isinstance(value, int):
            reasons.append(f"{keyword} is mandatory (M) in {spec.name} and is empty")
    if spec.conditional:
        status = values[at["Status"]] if "Status" in at else None
        status_category = (
            category(status) if isinstance(status, int) and 0 <= status <= 0xFFFF else None
        )
        for parameter in spec.conditional:
            reason = _condition(primitive, values, spec, parameter, status_category, request)
            if reason:
                reasons.append(reason)
    if request is not None:
        theirs_all = request.values()
        for keyword in spec.equal:
            mine: Any = values[at[keyword]]
            theirs: Any = theirs_all.get(keyword)
            if mine is not None and theirs is not None and mine != theirs:
                reasons.append(f"{keyword} {mine!r} must equal the request's value {theirs!r} (=)")
    priority = values[at["Priority"]] if "Priority" in at else None
    if priority is not None and "Priority" not in spec.unused and priority > 2:
        reasons.append(f"Priority {priority} is none of LOW (2), MEDIUM (0), HIGH (1)")
    return Verdict(reasons) if reasons else _VALID


_VALID = Verdict()


def _category_names(categories: Iterable[StatusCategory]) -> str:
    """``"Warning or Failure"``: status categories in PS3.7 Annex C order, joined for a sentence."""
    wanted = set(categories)
    return " or ".join(c.value for c in StatusCategory if c in wanted)


def _condition(
    primitive: Checkable,
    values: tuple[Any, ...],
    spec: MessageSpec,
    parameter: Parameter,
    status: StatusCategory | None,
    request: Checkable | None,
) -> str | None:
    """Decide one conditional cell by its rule's record; return the reason it fails, if it does."""
    keyword = parameter.keyword
    rule = CONDITIONS[parameter.condition or ""]
    present = _present(primitive, values, spec.position, parameter)
    if present:
        if rule.only_with is not None and status is not None and status not in rule.only_with:
            return f"{keyword} is only sent with a {_category_names(rule.only_with)} status"
        return None
    if rule.required_with is not None and status in rule.required_with:
        return f"{keyword} is required in a {_category_names(rule.required_with)} {spec.name}"
    if rule.depends_on == "reply":
        reply = spec.dataset
        if reply is not None and _present(primitive, values, spec.position, reply):
            return f"{keyword} is required when {reply.keyword} is present"
    elif rule.depends_on == "request_instance" and (
        request is not None and request.values().get("AffectedSOPInstanceUID") is None
    ):
        return f"{keyword} is required when the request did not give one"
    return None
