"""Typed values of command elements: decode raw bytes per VR (with diagnostics) and encode back.

Decoders never raise for a bad value: they report to the policy (which raises in strict mode) and
return the best value they can, while the raw bytes stay with the decoded message. Encoders
produce the canonical PS3.5 form (even length; UI padded with NUL, text with space). Lengths,
characters and the UID grammar come from :mod:`dimse_codec.tables.vrs` (PS3.5 Table 6.2-1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydicom.tag import BaseTag
from pydicom.uid import UID

from dimse_codec.dimse.command_set import AT, UL, US, element_path
from dimse_codec.policy import Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.vrs import AE_MAX_LENGTH, CONTROL_BYTES, UID_GRAMMAR, VR_RULES

__all__ = [
    "DECODERS",
    "ENCODERS",
    "UID_PATTERN",
    "decode_ae",
    "decode_at",
    "decode_text",
    "decode_ui",
    "decode_ul",
    "decode_us",
    "encode_at",
    "encode_text",
    "encode_ui",
    "encode_ul",
    "encode_us",
]

UID_PATTERN = UID_GRAMMAR
"""PS3.5 9.1: numeric components separated by dots, no leading zeros, no empty component
(:data:`dimse_codec.tables.vrs.UID_GRAMMAR`)."""

MAX_LENGTH = {vr: rule.max_length for vr, rule in VR_RULES.items() if not rule.fixed}
"""Maximum value lengths in characters (PS3.5 Table 6.2-1) of the text VRs used in group 0000."""

Decoder = Callable[[bytes, int, int, Policy, list[Diagnostic]], Any]


def decode_us(
    raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]
) -> int | None:
    """Decode a US value; several values keep the first (as DCMTK does) with a diagnostic."""
    n = len(raw)
    if n == 2:
        return raw[0] | (raw[1] << 8)
    return _first_of_many(raw, US.size, US.unpack_from, offset, tag, policy, diagnostics)


def decode_ul(
    raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]
) -> int | None:
    """Decode a UL value; several values keep the first with a diagnostic."""
    if len(raw) == 4:
        return int(UL.unpack(raw)[0])
    return _first_of_many(raw, UL.size, UL.unpack_from, offset, tag, policy, diagnostics)


def _first_of_many(
    raw: bytes,
    size: int,
    unpack_from: Callable[[bytes, int], tuple[Any, ...]],
    offset: int,
    tag: int,
    policy: Policy,
    diagnostics: list[Diagnostic],
) -> int | None:
    n = len(raw)
    if n == 0:
        return None
    if n % size:
        policy.report(
            diagnostics,
            DiagnosticCode.BAD_VALUE_LENGTH,
            f"value length {n} is not a multiple of {size}",
            offset,
            element_path(tag),
        )
        return None
    policy.report(
        diagnostics,
        DiagnosticCode.VM_GT_1,
        f"{n // size} values in a single-valued element; the first is used",
        offset,
        element_path(tag),
    )
    return int(unpack_from(raw, 0)[0])


def _text(raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]) -> str:
    """Decode bytes as the default repertoire, reporting (not dropping) anything else."""
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        policy.report(
            diagnostics,
            DiagnosticCode.NON_ASCII,
            f"byte {raw[exc.start]:#04x} is outside the default character repertoire; "
            "kept as Latin-1",
            offset,
            element_path(tag),
        )
        return raw.decode("latin-1")


def decode_ui(
    raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]
) -> UID:
    """Decode a UI value: strip the one NUL pad, report other padding and bad syntax."""
    body = raw
    if body[-1:] == b"\x00":
        body = body.rstrip(b"\x00")
        if len(raw) - len(body) > 1:
            policy.report(
                diagnostics,
                DiagnosticCode.UID_NUL_PADDED,
                f"padded with {len(raw) - len(body)} NUL bytes; PS3.5 allows one",
                offset,
                element_path(tag),
            )
    if body[-1:] == b" " or body[:1] == b" ":
        policy.report(
            diagnostics,
            DiagnosticCode.UID_SPACE_PADDED,
            "padded with spaces; a UID is padded with a single NUL",
            offset,
            element_path(tag),
        )
        body = body.strip(b" ")
    text = _text(body, offset, tag, policy, diagnostics)
    limit = VR_RULES["UI"].max_length
    if len(text) > limit:
        policy.report(
            diagnostics,
            DiagnosticCode.UID_TOO_LONG,
            f"{len(text)} characters; a UID has at most {limit}",
            offset,
            element_path(tag),
        )
    if text and UID_GRAMMAR.match(text) is None:
        policy.report(
            diagnostics,
            DiagnosticCode.UID_INVALID,
            f"{text!r} is not a valid UID (PS3.5 9.1)",
            offset,
            element_path(tag),
        )
    return _uid(text)


def _uid(text: str) -> UID:
    """Make a ``UID`` without pydicom's per-call validation (this module validates itself)."""
    return str.__new__(UID, text)


def decode_ae(
    raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]
) -> str:
    """Decode an AE title: spaces are insignificant; NUL padding and a backslash are reported."""
    body = raw
    if b"\x00" in body:
        policy.report(
            diagnostics,
            DiagnosticCode.AE_NUL_PADDED,
            "NUL bytes in an AE title; AE titles are padded with spaces",
            offset,
            element_path(tag),
        )
        body = body.replace(b"\x00", b"")
    if b"\\" in body:
        policy.report(
            diagnostics,
            DiagnosticCode.AE_BACKSLASH,
            "backslash in an AE title (VM is 1); the whole value is kept",
            offset,
            element_path(tag),
        )
    text = _text(body, offset, tag, policy, diagnostics).strip(" ")
    if raw and not text:
        policy.report(
            diagnostics,
            DiagnosticCode.AE_EMPTY,
            "AE title is all spaces",
            offset,
            element_path(tag),
        )
    if len(text) > AE_MAX_LENGTH:
        policy.report(
            diagnostics,
            DiagnosticCode.AE_TOO_LONG,
            f"{len(text)} characters; an AE title has at most {AE_MAX_LENGTH}",
            offset,
            element_path(tag),
        )
    if CONTROL_BYTES.search(body):
        policy.report(
            diagnostics,
            DiagnosticCode.NON_ASCII,
            "control character in an AE title",
            offset,
            element_path(tag),
        )
    return text


def decode_text(
    raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]
) -> str:
    """Decode an LO value (Error Comment, the one text parameter) without trailing padding.

    Retired text elements (SH, CS, IS, LT) are never decoded: they stay raw extra elements.
    """
    text = _text(raw, offset, tag, policy, diagnostics).rstrip(" \x00")
    if "\\" in text:
        policy.report(
            diagnostics,
            DiagnosticCode.VM_GT_1,
            "backslash in a single-valued text element; the whole value is kept",
            offset,
            element_path(tag),
        )
    limit = VR_RULES["LO"].max_length
    if len(text) > limit:
        policy.report(
            diagnostics,
            DiagnosticCode.VALUE_TOO_LONG,
            f"{len(text)} characters; at most {limit}",
            offset,
            element_path(tag),
        )
    return text


def decode_at(
    raw: bytes, offset: int, tag: int, policy: Policy, diagnostics: list[Diagnostic]
) -> list[BaseTag]:
    """Decode an AT value list (VM 1-n)."""
    n = len(raw)
    if n % 4:
        policy.report(
            diagnostics,
            DiagnosticCode.BAD_VALUE_LENGTH,
            f"value length {n} is not a multiple of 4; the last {n % 4} byte(s) are ignored",
            offset,
            element_path(tag),
        )
    unpack = AT.unpack_from
    out = []
    for pos in range(0, n - n % 4, 4):
        group, element = unpack(raw, pos)
        out.append(BaseTag((group << 16) | element))
    return out


DECODERS: dict[str, Decoder] = {
    "US": decode_us,
    "UL": decode_ul,
    "UI": decode_ui,
    "AE": decode_ae,
    "LO": decode_text,
    "AT": decode_at,
}
"""Decoder per VR for the elements that are primitive parameters."""


def encode_us(value: int) -> bytes:
    """Encode a US value."""
    return value.to_bytes(2, "little")


def encode_ul(value: int) -> bytes:
    """Encode a UL value."""
    return value.to_bytes(4, "little")


def encode_ui(value: str) -> bytes:
    """Encode a UI value, NUL-padded to even length."""
    raw = value.encode("latin-1")
    return raw + b"\x00" if len(raw) % 2 else raw


def encode_text(value: str) -> bytes:
    """Encode an AE or text value, space-padded to even length."""
    raw = value.encode("latin-1")
    return raw + b" " if len(raw) % 2 else raw


def encode_at(value: Sequence[int]) -> bytes:
    """Encode an AT value list."""
    pack = AT.pack
    return b"".join(pack(tag >> 16, tag & 0xFFFF) for tag in value)


ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "US": encode_us,
    "UL": encode_ul,
    "UI": encode_ui,
    "AE": encode_text,
    "LO": encode_text,
    "AT": encode_at,
}
"""Canonical encoder per VR for the elements that are primitive parameters."""
