"""Hypothesis strategies for valid DIMSE primitives and command sets, driven by the PS3.7 table.

Which parameters a generated message carries, and when, comes from
:data:`dimse_codec.tables.messages.SERVICES` (M always, U sometimes, C by its named rule, ``-``
never); what values they take comes from the VR in the element registry. The same table drives
the codec, so a generated primitive is valid by construction and round-trips.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from pydicom.tag import BaseTag

from dimse_codec.dimse.codec import encode_command_set
from dimse_codec.dimse.primitives import PRIMITIVES, DIMSEPrimitive
from dimse_codec.dimse.status import StatusCategory, category
from dimse_codec.tables.elements import BY_KEYWORD
from dimse_codec.tables.messages import CONDITIONS, MESSAGES, SERVICES, MessageSpec, Parameter
from dimse_codec.tables.vrs import UID_MAX_LENGTH, VR_RULES, alphabet

__all__ = [
    "ae_titles",
    "attribute_tags",
    "command_sets",
    "dataset_payloads",
    "error_comments",
    "message_specs",
    "primitives",
    "status_codes",
    "uids",
]

_UID_COMPONENT = st.integers(min_value=0, max_value=999_999_999)
"""One UID component, a number (PS3.5 9.1: no leading zero), drawn as one integer: drawing it a
digit at a time cost twice as much, and UIDs are most of what an A-ASSOCIATE-RQ draws. Built
once: building strategies inside every draw costs more than drawing from them."""
_UID_COMPONENTS = st.integers(min_value=1, max_value=12)


@st.composite
def _uid(draw: st.DrawFn, max_length: int) -> str:
    parts = [str(draw(_UID_COMPONENT))]
    target = draw(_UID_COMPONENTS)
    length = len(parts[0])
    while len(parts) < target:
        candidate = str(draw(_UID_COMPONENT))
        if length + 1 + len(candidate) > max_length:
            break
        parts.append(candidate)
        length += 1 + len(candidate)
    uid = ".".join(parts)
    return uid[:max_length].rstrip(".") or "1"


def uids(max_length: int = UID_MAX_LENGTH) -> st.SearchStrategy[str]:
    """Valid UIDs (PS3.5 9.1): dot-separated numbers without leading zeros, at most 64 chars."""
    return _uid(max_length)


def ae_titles() -> st.SearchStrategy[str]:
    """Valid AE titles: 1 to 16 printable ASCII characters, no backslash, no edge spaces."""
    return (
        st.text(alphabet=alphabet("AE"), min_size=1, max_size=VR_RULES["AE"].max_length)
        .map(str.strip)
        .filter(bool)
    )


def error_comments() -> st.SearchStrategy[str]:
    """Error Comment values: default-repertoire text of at most 64 characters (LO)."""
    return (
        st.text(alphabet=alphabet("LO"), min_size=1, max_size=VR_RULES["LO"].max_length)
        .map(str.rstrip)
        .filter(bool)
    )


def attribute_tags() -> st.SearchStrategy[list[BaseTag]]:
    """Lists of one to four attribute tags (AT values)."""
    return st.lists(
        st.integers(min_value=0, max_value=0xFFFFFFFF).map(BaseTag), min_size=1, max_size=4
    )


def dataset_payloads(max_size: int = 64) -> st.SearchStrategy[bytes]:
    """Opaque data set bytes of even length (the codec does not look inside them)."""
    return st.binary(min_size=2, max_size=max_size).map(
        lambda b: b if len(b) % 2 == 0 else b + b"\x00"
    )


def status_codes(*categories: StatusCategory) -> st.SearchStrategy[int]:
    """Status codes, optionally only of the given categories (PS3.7 Annex C)."""
    codes = st.one_of(
        st.sampled_from(
            [0x0000, 0x0001, 0x0107, 0x0110, 0x0122, 0xA700, 0xB000, 0xC000, 0xFE00, 0xFF00, 0xFF01]
        ),
        st.integers(min_value=0, max_value=0xFFFF),
    )
    if not categories:
        return codes
    wanted = set(categories)
    return codes.filter(lambda code: category(code) in wanted)


def message_specs() -> st.SearchStrategy[MessageSpec]:
    """One of the 23 message types."""
    return st.sampled_from(MESSAGES)


def _value(keyword: str) -> st.SearchStrategy[Any]:
    if keyword == "Priority":
        return st.sampled_from([0, 1, 2])
    vr = BY_KEYWORD[keyword].vr
    if vr == "US":
        return st.integers(min_value=0, max_value=0xFFFF)
    if vr == "UI":
        return uids()
    if vr == "AE":
        return ae_titles()
    if vr == "LO":
        return error_comments()
    if vr == "AT":
        return attribute_tags()
    raise ValueError(f"no strategy for VR {vr}")


def _include(
    draw: st.DrawFn,
    parameter: Parameter,
    usage: str,
    status: StatusCategory | None,
    reply_present: bool,
) -> bool:
    """Decide from the usage cell and its rule's record whether a valid message carries it."""
    if usage.startswith("M"):
        return True
    if usage.startswith("U") or parameter.condition is None:
        return draw(st.booleans())
    rule = CONDITIONS[parameter.condition]
    if rule.required_with is not None and status in rule.required_with:
        return True
    if rule.only_with is not None and status not in rule.only_with:
        return False
    if rule.depends_on == "reply" and reply_present:
        return True
    return bool(draw(st.booleans()))


@st.composite
def _primitive(draw: st.DrawFn, spec: MessageSpec) -> DIMSEPrimitive:
    cls = PRIMITIVES[spec.service.name]
    primitive = cls()
    status: StatusCategory | None = None
    if not spec.is_request:
        code = draw(status_codes())
        primitive.Status = code  # type: ignore[attr-defined]
        status = category(code)
    # data sets first: the "with_reply" rule depends on whether the reply is present
    ordered = sorted(spec.parameters, key=lambda p: (not p.dataset, p.keyword == "Status"))
    reply_present = False
    for parameter in ordered:
        if parameter.keyword == "Status":
            continue
        usage = parameter.usage(spec.is_request)
        if not _include(draw, parameter, usage, status, reply_present):
            continue
        if parameter.dataset:
            setattr(primitive, parameter.keyword, draw(dataset_payloads()))
            reply_present = True
        else:
            setattr(primitive, parameter.keyword, draw(_value(parameter.keyword)))
    return primitive


def primitives(
    service: str | None = None, *, is_request: bool | None = None
) -> st.SearchStrategy[DIMSEPrimitive]:
    """Valid primitives of one service (``"N-ACTION"``) or any, as request, response or either.

    Every generated primitive passes ``is_valid_request`` or ``is_valid_response`` for the
    direction it was generated for, and ``message_spec(p)`` recovers that direction.
    """
    specs = [
        spec
        for spec in MESSAGES
        if (service is None or spec.service.name == service)
        and (is_request is None or spec.is_request == is_request)
    ]
    if service is not None and service not in SERVICES:
        raise ValueError(f"unknown DIMSE service {service!r}")
    if not specs:
        raise ValueError(f"{service} has no message in that direction")
    return st.sampled_from(specs).flatmap(_primitive)


def command_sets(
    service: str | None = None, *, is_request: bool | None = None
) -> st.SearchStrategy[bytes]:
    """Canonical command-set bytes of valid messages."""
    return primitives(service, is_request=is_request).map(encode_command_set)
