"""Decoding policy and diagnostics: what the decoder tolerates, and the record of what it tolerated.

A :class:`Policy` is always passed explicitly (there is no global configuration). Strict raises
:class:`~dimse_codec.errors.PolicyViolation` on the first problem; lenient (the default) keeps
decoding and returns every problem as a :class:`Diagnostic`, so nothing is dropped silently.

:class:`DiagnosticCode`, :class:`Diagnostic` and :data:`IGNORED_BY_THE_STANDARD` live in
:mod:`dimse_codec.diagnostics` (below :mod:`dimse_codec.errors`, which needs them) and are
re-exported here, the same objects under the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dimse_codec.diagnostics import IGNORED_BY_THE_STANDARD, Diagnostic, DiagnosticCode
from dimse_codec.errors import PolicyViolation
from dimse_codec.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "IGNORED_BY_THE_STANDARD",
    "LENIENT",
    "STRICT",
    "Diagnostic",
    "DiagnosticCode",
    "Policy",
]


@dataclass(frozen=True, slots=True)
class Policy:
    """How a decoder treats problems it could tolerate.

    ``strict`` raises on every diagnostic except the codes in ``allow`` and what PS3.8 says to
    ignore (:data:`IGNORED_BY_THE_STANDARD`); lenient raises only on the codes in ``raise_on``,
    which also makes strict raise on an ignored code. ``max_inflated_size`` caps how much a
    deflated data set may expand to (a deflate bomb is an error, not an out-of-memory).
    """

    strict: bool = False
    raise_on: frozenset[DiagnosticCode] = field(default_factory=frozenset)
    """Codes that raise even when lenient, or that strict would otherwise only report."""
    allow: frozenset[DiagnosticCode] = field(default_factory=frozenset)
    max_inflated_size: int = 1 << 30
    limits: Limits = DEFAULT_LIMITS
    """What decoding may create (:mod:`dimse_codec.limits`)."""

    def raises(self, code: DiagnosticCode) -> bool:
        """Return whether a problem with this code is an error under this policy."""
        if code in self.raise_on:
            return True
        if self.strict:
            return code not in self.allow and code not in IGNORED_BY_THE_STANDARD
        return False

    def report(
        self,
        sink: list[Diagnostic],
        code: DiagnosticCode,
        message: str,
        offset: int | None = None,
        path: str = "",
    ) -> None:
        """Record a problem in ``sink``, or raise :class:`PolicyViolation` if the policy says so."""
        diagnostic = Diagnostic(code, message, offset, path)
        if self.raises(code):
            raise PolicyViolation(diagnostic)
        sink.append(diagnostic)


LENIENT = Policy()
"""Decode everything that can be decoded and report every problem (the default)."""

STRICT = Policy(strict=True)
"""Raise on the first problem."""
