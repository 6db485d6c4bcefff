"""PS3.5 6.2 as data: the value rules of the VRs met in group 0000 and in A-ASSOCIATE fields.

One row per VR (PS3.5 Table 6.2-1): the maximum length of one value, the characters it may
hold, and the byte that pads it to even length; plus the UID grammar of PS3.5 9.1. Every check
of a UID or an AE title in the package reads this module, so a primitive's setter, the
command-set decoder, the negotiation helpers and the PDU decoder agree on what is valid:

- :func:`is_valid_uid` and :data:`UID_GRAMMAR` for a UI value (and a PDU's UID fields);
- :func:`is_valid_ae` and :data:`AE_CHARACTERS` for an AE title (and a PDU's AE fields);
- :func:`forbidden_character` for any text VR, :func:`alphabet` for generating values.

Lengths count characters of the default repertoire, which are bytes on the wire.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "AE_CHARACTERS",
    "AE_MAX_LENGTH",
    "CONTROL_BYTES",
    "UID_GRAMMAR",
    "UID_MAX_LENGTH",
    "VR_RULES",
    "VRRule",
    "alphabet",
    "forbidden_character",
    "is_valid_ae",
    "is_valid_uid",
]


class VRRule(NamedTuple):
    """The PS3.5 Table 6.2-1 row of one VR.

    ``max_length`` is the most characters (text VRs) or the exact bytes (binary VRs, ``fixed``)
    of one value; ``forbidden`` matches one character of the default repertoire the VR does not
    allow (``None`` for binary VRs); ``pad`` is the byte that pads a value to even length
    (empty for binary VRs, whose lengths are even already).
    """

    vr: str
    name: str
    max_length: int
    fixed: bool
    characters: str
    forbidden: re.Pattern[str] | None
    pad: bytes
    section: str = "PS3.5 Table 6.2-1"


def _text(vr: str, name: str, max_length: int, characters: str, forbidden: str) -> VRRule:
    return VRRule(vr, name, max_length, False, characters, re.compile(forbidden), b" ")


VR_RULES: MappingProxyType[str, VRRule] = MappingProxyType(
    {
        rule.vr: rule
        for rule in (
            _text(
                "AE",
                "Application Entity",
                16,
                "default repertoire without backslash (5CH) and control characters; leading "
                "and trailing spaces are not significant",
                r"[^\x20-\x5b\x5d-\x7e]",
            ),
            _text(
                "CS",
                "Code String",
                16,
                "uppercase letters, digits 0-9, space and underscore",
                r"[^A-Z0-9 _]",
            ),
            _text("IS", "Integer String", 12, "digits 0-9, + and - and space", r"[^0-9+\- ]"),
            _text(
                "LO",
                "Long String",
                64,
                "default or extended repertoire without backslash (5CH) and control "
                "characters other than ESC",
                r"[\x00-\x1a\x1c-\x1f\x7f\\]",
            ),
            _text(
                "LT",
                "Long Text",
                10240,
                "default or extended repertoire; of the control characters only TAB, LF, FF, "
                "CR and ESC (PS3.5 6.1.3); backslash allowed",
                r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]",
            ),
            _text(
                "SH",
                "Short String",
                16,
                "default or extended repertoire without backslash (5CH) and control "
                "characters other than ESC",
                r"[\x00-\x1a\x1c-\x1f\x7f\\]",
            ),
            VRRule(
                "UI",
                "Unique Identifier",
                64,
                False,
                "digits 0-9 and the period, in the grammar of PS3.5 9.1",
                re.compile(r"[^0-9.]"),
                b"\x00",
            ),
            VRRule("US", "Unsigned Short", 2, True, "16-bit unsigned binary integer", None, b""),
            VRRule("UL", "Unsigned Long", 4, True, "32-bit unsigned binary integer", None, b""),
            VRRule(
                "AT",
                "Attribute Tag",
                4,
                True,
                "a pair of 16-bit unsigned integers: group, element",
                None,
                b"",
            ),
        )
    }
)
"""The value rules by VR code (PS3.5 Table 6.2-1)."""

UID_MAX_LENGTH = VR_RULES["UI"].max_length
"""At most 64 characters in a UID (PS3.5 Table 6.2-1, UI; PS3.5 9.1)."""

AE_MAX_LENGTH = VR_RULES["AE"].max_length
"""At most 16 significant characters in an AE title (PS3.5 Table 6.2-1, AE)."""

UID_GRAMMAR = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*\Z")
"""PS3.5 9.1: numeric components separated by periods, no leading zero in a component of more
than one digit, no empty component (so no leading, trailing or doubled period). Use with
``match``; the length limit is separate (:data:`UID_MAX_LENGTH`)."""

AE_CHARACTERS = re.compile(r"[\x20-\x5b\x5d-\x7e]*\Z")
"""An AE title's characters (PS3.5 Table 6.2-1, AE): printable ASCII without backslash."""

CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
"""A control character of the default repertoire (PS3.5 6.1.2), in bytes as they arrive."""


def is_valid_uid(text: str) -> bool:
    """Whether ``text`` is a UID PS3.5 9.1 allows: the grammar, non-empty, at most 64 characters.

    No padding is stripped: the caller removes the one trailing NUL a UI value may carry.
    """
    return len(text) <= UID_MAX_LENGTH and UID_GRAMMAR.match(text) is not None


def is_valid_ae(text: str) -> bool:
    """Whether ``text`` is an AE title PS3.5 allows: 1-16 significant characters, none forbidden.

    Leading and trailing spaces are not significant and are ignored here.
    """
    significant = text.strip(" ")
    return 0 < len(significant) <= AE_MAX_LENGTH and AE_CHARACTERS.match(significant) is not None


def forbidden_character(vr: str, text: str) -> str | None:
    """The first character of ``text`` that the VR does not allow, or ``None`` if there is none.

    Raises ``KeyError`` for a VR without a row and ``ValueError`` for a binary VR.
    """
    pattern = VR_RULES[vr].forbidden
    if pattern is None:
        raise ValueError(f"{vr} is a binary VR; it has no characters")
    found = pattern.search(text)
    return None if found is None else found.group()


def alphabet(vr: str) -> str:
    """The printable ASCII characters (20H-7EH) a value of the VR may hold, for generators."""
    return "".join(chr(c) for c in range(0x20, 0x7F) if forbidden_character(vr, chr(c)) is None)
