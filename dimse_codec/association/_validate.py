"""Checks for values a caller gives the negotiation helpers: each names the parameter it rejects."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dimse_codec.association.model import AsyncWindow, Roles
from dimse_codec.dimse.values import UID_PATTERN
from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.pdu import UserIdentityRQSubItem, UserIdentityType

_PLAIN = re.compile(r"[\x20-\x5b\x5d-\x7e]*\Z")
"""Printable ASCII without a backslash: what AE titles and version names may hold."""


def _text(value: object, name: str) -> str:
    """Return ``value`` if it is a ``str``, else raise :class:`InvalidParameterType`."""
    if not isinstance(value, str):
        raise InvalidParameterType(f"expected str, not {type(value).__name__}", path=name)
    return value


def integer(value: object, name: str, low: int, high: int) -> int:
    """Return an ``int`` (not a ``bool``) within ``low..high``, naming ``name`` when it is not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterType(f"expected int, not {type(value).__name__}", path=name)
    if not low <= value <= high:
        raise InvalidParameter(f"{value} is outside {low}..{high}", path=name)
    return value


def flag(value: object, name: str) -> bool:
    """Return a ``bool``, rejecting anything else (a role is not 0/1 by accident)."""
    if not isinstance(value, bool):
        raise InvalidParameterType(f"expected bool, not {type(value).__name__}", path=name)
    return value


def ae_title(value: object, name: str) -> str:
    """Return an AE title without its insignificant spaces, checked against PS3.5 (AE VR)."""
    text = _text(value, name).strip(" ")
    if not text:
        raise InvalidParameter("an AE title needs 1-16 significant characters", path=name)
    if len(text) > 16:
        raise InvalidParameter(f"{text!r} is longer than 16 characters", path=name)
    if _PLAIN.match(text) is None:
        raise InvalidParameter(
            f"{text!r} holds a backslash, control or non-ASCII character", path=name
        )
    return text


def uid(value: object, name: str) -> str:
    """Return a UID that PS3.5 9.1 allows (digits and dots, no leading zeros, at most 64)."""
    text = _text(value, name)
    if not text or len(text) > 64 or UID_PATTERN.match(text) is None:
        raise InvalidParameter(f"{text!r} is not a valid UID (PS3.5 9.1)", path=name)
    return text


def uids(values: object, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """Return a tuple of UIDs (non-empty unless ``allow_empty``) from a non-string sequence."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidParameterType(
            f"expected a sequence of UIDs, not {type(values).__name__}", path=name
        )
    if not values and not allow_empty:
        raise InvalidParameter("at least one UID is needed", path=name)
    return tuple(uid(value, f"{name}[{index}]") for index, value in enumerate(values))


def context_id(value: object, name: str) -> int:
    """Return a presentation context ID: odd, 1-255 (PS3.8 9.3.2.2)."""
    number = integer(value, name, 1, 255)
    if number % 2 == 0:
        raise InvalidParameter(f"{number} is even; context IDs are odd", path=name)
    return number


def roles(value: object, name: str) -> Roles:
    """Return ``Roles(scu, scp)`` from a pair of ``bool``."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise InvalidParameterType("expected Roles(scu, scp)", path=name)
    return Roles(flag(value[0], f"{name}.scu"), flag(value[1], f"{name}.scp"))


def window(value: object, name: str) -> AsyncWindow:
    """Return an Asynchronous Operations Window from a pair of 0..65535 counts (0 unlimited)."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise InvalidParameterType("expected AsyncWindow(invoked, performed)", path=name)
    return AsyncWindow(
        integer(value[0], f"{name}.invoked", 0, 0xFFFF),
        integer(value[1], f"{name}.performed", 0, 0xFFFF),
    )


def application_information(values: Mapping[str, object], name: str) -> dict[str, bytes]:
    """Return SOP class UID -> service class application information (bytes), checked."""
    checked: dict[str, bytes] = {}
    for sop, info in values.items():
        path = f"{name}[{sop!r}]"
        key = uid(sop, path)
        if not isinstance(info, bytes):
            raise InvalidParameterType(f"expected bytes, not {type(info).__name__}", path=path)
        checked[key] = info
    return checked


def version_name(value: object, name: str) -> str:
    """Return an Implementation Version Name: 1-16 printable ASCII characters (PS3.7 D.3.3.2)."""
    text = _text(value, name)
    if not 1 <= len(text) <= 16 or _PLAIN.match(text) is None:
        raise InvalidParameter(
            f"{text!r} is not 1-16 printable ASCII characters without a backslash", path=name
        )
    return text


def user_identity(value: object, name: str) -> UserIdentityRQSubItem:
    """Return a User Identity (RQ) sub-item whose type, fields and flag PS3.7 D.3.3.7.1 allow."""
    if not isinstance(value, UserIdentityRQSubItem):
        raise InvalidParameterType(
            f"expected UserIdentityRQSubItem, not {type(value).__name__}", path=name
        )
    kind = integer(value.user_identity_type, f"{name}.user_identity_type", 1, 5)
    integer(value.positive_response_requested, f"{name}.positive_response_requested", 0, 1)
    primary, secondary = value.primary_field, value.secondary_field
    if not isinstance(primary, bytes) or not isinstance(secondary, bytes):
        raise InvalidParameterType("primary and secondary fields are bytes", path=name)
    if not 1 <= len(primary) <= 0xFFFF:
        raise InvalidParameter(
            "the primary field holds 1-65535 bytes", path=f"{name}.primary_field"
        )
    if len(secondary) > 0xFFFF:
        raise InvalidParameter(
            "the secondary field holds at most 65535 bytes", path=f"{name}.secondary_field"
        )
    if kind == UserIdentityType.USERNAME_AND_PASSCODE and not secondary:
        raise InvalidParameter(
            "type 2 (username and passcode) needs the passcode", path=f"{name}.secondary_field"
        )
    if kind != UserIdentityType.USERNAME_AND_PASSCODE and secondary:
        raise InvalidParameter(
            f"type {kind} has no secondary field (only type 2 carries a passcode)",
            path=f"{name}.secondary_field",
        )
    return value
