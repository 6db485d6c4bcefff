"""Decoding policy and diagnostics: what the decoder tolerates, and the record of what it tolerated.

A :class:`Policy` is always passed explicitly (there is no global configuration). Strict raises
:class:`~dimse_codec.errors.PolicyViolation` on the first problem; lenient (the default) keeps
decoding and returns every problem as a :class:`Diagnostic`, so nothing is dropped silently.

:class:`DiagnosticCode`, :class:`Diagnostic` and :data:`IGNORED_BY_THE_STANDARD` live in
:mod:`dimse_codec.diagnostics` (below :mod:`dimse_codec.errors`, which needs them) and are
re-exported here, the same objects under the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dimse_codec.diagnostics import (
    IGNORED_BY_THE_STANDARD,
    Diagnostic,
    DiagnosticCode,
    diagnostic_json,
)
from dimse_codec.errors import LimitExceeded, PolicyViolation
from dimse_codec.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "IGNORED_BY_THE_STANDARD",
    "LENIENT",
    "STRICT",
    "Diagnostic",
    "DiagnosticCode",
    "Policy",
    "diagnostic_json",
]


_TRUNCATED = DiagnosticCode.DIAGNOSTICS_TRUNCATED


@dataclass(frozen=True, slots=True, init=False)
class Policy:
    """How a decoder treats problems it could tolerate, and what decoding may create.

    ``strict`` raises on every diagnostic except the codes in ``allow`` and what PS3.8 says to
    ignore (:data:`IGNORED_BY_THE_STANDARD`); lenient raises only on the codes in ``raise_on``,
    which also makes strict raise on an ignored code. ``limits`` bounds what one decode may
    create (:mod:`dimse_codec.limits`); ``max_inflated_size`` is its
    :attr:`~dimse_codec.limits.Limits.max_inflated_size` (how much a deflated data set may
    expand to), also accepted as a keyword: ``Policy(max_inflated_size=N)`` is
    ``Policy(limits=replace(DEFAULT_LIMITS, max_inflated_size=N))``.
    """

    strict: bool = False
    raise_on: frozenset[DiagnosticCode] = field(default_factory=frozenset)
    """Codes that raise even when lenient, or that strict would otherwise only report."""
    allow: frozenset[DiagnosticCode] = field(default_factory=frozenset)
    limits: Limits = DEFAULT_LIMITS
    """What decoding may create (:mod:`dimse_codec.limits`)."""

    def __init__(
        self,
        strict: bool = False,
        raise_on: frozenset[DiagnosticCode] = frozenset(),
        allow: frozenset[DiagnosticCode] = frozenset(),
        max_inflated_size: int | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        if max_inflated_size is not None and max_inflated_size != limits.max_inflated_size:
            limits = replace(limits, max_inflated_size=max_inflated_size)
        object.__setattr__(self, "strict", strict)
        object.__setattr__(self, "raise_on", raise_on)
        object.__setattr__(self, "allow", allow)
        object.__setattr__(self, "limits", limits)

    @property
    def max_inflated_size(self) -> int:
        """Bytes a deflated data set may inflate to: ``limits.max_inflated_size``, one number."""
        return self.limits.max_inflated_size

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
        """Record a problem in ``sink``, or raise :class:`PolicyViolation` if the policy says so.

        ``sink`` holds at most ``limits.max_diagnostics`` problems, then one
        ``DIAGNOSTICS_TRUNCATED`` that counts the rest (see :meth:`keep`).
        """
        diagnostic = Diagnostic(code, message, offset, path)
        if self.raises(code):
            raise PolicyViolation(diagnostic)
        self.keep(sink, diagnostic)

    def keep(self, sink: list[Diagnostic], diagnostic: Diagnostic) -> None:
        """Append a diagnostic already judged, up to ``limits.max_diagnostics`` in ``sink``.

        Past the cap the diagnostic is dropped and counted: the list ends with one
        ``DIAGNOSTICS_TRUNCATED`` diagnostic, "and N more ...", replaced (not appended) at each
        further drop, so a hostile message costs O(1) per problem and never grows the list. The
        count raises only when ``raise_on`` names ``DIAGNOSTICS_TRUNCATED``: it is a note about
        the output, not a problem in the input.
        """
        cap = self.limits.max_diagnostics
        size = len(sink)
        if size < cap:
            sink.append(diagnostic)
            return
        last = sink[-1] if size > cap else None
        dropped = _dropped(last) + 1 if last is not None and last.code is _TRUNCATED else 1
        note = Diagnostic(
            _TRUNCATED,
            f"and {dropped} more diagnostic(s) left out, past Limits.max_diagnostics ({cap})",
        )
        if dropped == 1 and _TRUNCATED in self.raise_on:
            raise PolicyViolation(note)
        if dropped == 1:
            sink.append(note)
        else:
            sink[-1] = note

    def exceeded(
        self, sink: list[Diagnostic], message: str, offset: int | None = None, path: str = ""
    ) -> None:
        """Meet a limit: raise :class:`LimitExceeded` when ``LIMIT_EXCEEDED`` is an error under
        this policy (strict), else record it in ``sink`` ("...; the rest is kept as bytes"), and
        the caller keeps the rest of the message as bytes.

        ``message`` is one line naming the limit, e.g. "command set of 31457280 bytes is over
        Limits.max_command_set_length (65536)".
        """
        code = DiagnosticCode.LIMIT_EXCEEDED
        if self.raises(code):
            raise LimitExceeded(message, offset=offset, path=path, code=code.value)
        self.keep(sink, Diagnostic(code, f"{message}; the rest is kept as bytes", offset, path))


def _dropped(note: Diagnostic) -> int:
    """The count in a ``DIAGNOSTICS_TRUNCATED`` note ("and N more ...")."""
    words = note.message.split(" ", 2)
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else 0


LENIENT = Policy()
"""Decode everything that can be decoded and report every problem (the default)."""

STRICT = Policy(strict=True)
"""Raise on the first problem."""
