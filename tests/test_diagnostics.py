"""The diagnostics ground floor: codes and records below the errors, re-exported by the policy."""

from __future__ import annotations

import dimse_codec
from dimse_codec import diagnostics, errors, policy


def test_policy_reexports_the_same_objects() -> None:
    for name in diagnostics.__all__:
        assert getattr(policy, name) is getattr(diagnostics, name)
        assert name in policy.__all__
    assert dimse_codec.DiagnosticCode is diagnostics.DiagnosticCode
    assert dimse_codec.Diagnostic is diagnostics.Diagnostic


def test_policy_violation_carries_a_diagnostic() -> None:
    diagnostic = diagnostics.Diagnostic(
        diagnostics.DiagnosticCode.RESERVED_NONZERO, "reserved byte is 1", 3, "PDU > reserved"
    )
    error = errors.PolicyViolation(diagnostic)
    assert error.diagnostic is diagnostic
    assert error.code == "RESERVED_NONZERO"
    assert (error.offset, error.path) == (3, "PDU > reserved")
    assert str(error) == "PDU > reserved @3: reserved byte is 1"
    assert str(diagnostic) == "[RESERVED_NONZERO] PDU > reserved @3: reserved byte is 1"
