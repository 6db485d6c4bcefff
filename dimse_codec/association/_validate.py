"""Checks for values a caller gives the negotiation helpers: each names the parameter it rejects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dimse_codec.association.model import AsyncWindow, Roles
from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.pdu import UserIdentityRQSubItem, UserIdentityType
from dimse_codec.tables.vrs import (
    AE_CHARACTERS,
    AE_MAX_LENGTH,
    VR_RULES,
    is_valid_ae,
    is_valid_uid,
)


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
    if is_valid_ae(text):
        return text
    if not text:
        raise InvalidParameter(
            f"an AE title needs 1-{AE_MAX_LENGTH} significant characters", path=name
        )
    if len(text) > AE_MAX_LENGTH:
        raise InvalidParameter(f"{text!r} is longer than {AE_MAX_LENGTH} characters", path=name)
    raise InvalidParameter(f"{text!r} holds a backslash, control or non-ASCII character", path=name)


def uid(value: object, name: str) -> str:
    """Return a UID that PS3.5 9.1 allows (digits and dots, no leading zeros, at most 64)."""
    text = _text(value, name)
    if not is_valid_uid(text):
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
    """Return an Implementation Version Name: 1-16 printable ASCII characters (PS3.7 D.3.3.2).

    Its characters are those of an AE title (the SH default repertoire without backslash and
    control characters, PS3.5 Table 6.2-1).
    """
    text = _text(value, name)
    if not 1 <= len(text) <= VR_RULES["SH"].max_length or AE_CHARACTERS.match(text) is None:
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
