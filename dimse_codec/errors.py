"""The one exception family of dimse-codec: every failure carries a byte offset and a field path.

Decoders raise nothing else (never ``KeyError``, ``struct.error`` or ``AssertionError``), so a
caller that catches :class:`DimseCodecError` has caught every way bad bytes can fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from dimse_codec.diagnostics import Diagnostic

__all__ = [
    "DecodeError",
    "DimseCodecError",
    "EncodeError",
    "InternalError",
    "InvalidParameter",
    "InvalidParameterType",
    "LimitExceeded",
    "LocalProtocolError",
    "PolicyViolation",
    "RemoteProtocolError",
    "TransferSyntaxMismatch",
    "TruncatedError",
    "expect",
]

_T = TypeVar("_T")


class DimseCodecError(Exception):
    """Base of every error raised by dimse-codec.

    ``offset`` is the byte offset in the input where the problem sits (``None`` when it is not
    about input bytes) and ``path`` names the field, e.g. ``"command set > (0000,0110) MessageID"``.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        path: str = "",
        code: str | None = None,
    ) -> None:
        self.message = message
        self.offset = offset
        self.path = path
        self.code = code
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.offset is not None:
            where.append(f"@{self.offset}")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class DecodeError(DimseCodecError):
    """Input bytes that cannot be decoded as what they claim to be."""


class TruncatedError(DecodeError):
    """Input ends before a declared length or a fixed-size field is complete."""


class LimitExceeded(DecodeError):
    """A declared or produced size is beyond a configured cap (checked before allocating)."""


class PolicyViolation(DecodeError):
    """A problem the decoder could tolerate, raised because the policy says so (strict mode)."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(
            diagnostic.message,
            offset=diagnostic.offset,
            path=diagnostic.path,
            code=diagnostic.code.value,
        )


class EncodeError(DimseCodecError):
    """A primitive or value that cannot be put on the wire as asked."""


class InvalidParameter(DimseCodecError, ValueError):
    """A value given to a primitive's parameter is out of range or malformed."""


class InvalidParameterType(DimseCodecError, TypeError):
    """A value given to a primitive's parameter has a type the parameter does not accept."""


class InternalError(DimseCodecError):
    """A broken invariant inside dimse-codec: a bug to report, never a verdict on the input.

    It stands where an ``assert`` would (which ``python -O`` removes): inside the family, so a
    caller's ``except DimseCodecError`` still holds, and named, so fuzzers and tests single it
    out as the bug it is.
    """


def expect(value: object, kind: type[_T], where: str) -> _T:
    """``value`` as the ``kind`` an invariant of the library guarantees at ``where`` (a state,
    a step); raises :class:`InternalError` when it is not."""
    if not isinstance(value, kind):
        raise InternalError(
            f"expected {kind.__name__}, found {type(value).__name__}: a bug, please report it",
            path=where,
        )
    return value


class LocalProtocolError(DimseCodecError):
    """A local call the DICOM Upper Layer state machine forbids now (PS3.8 9.2).

    ``state`` ("Sta1".."Sta13") is where the connection stands and ``event`` ("Evt1".."Evt19")
    the event the call would have been; nothing was sent and the state is unchanged.
    """

    def __init__(self, message: str, *, state: str, event: str, path: str = "") -> None:
        self.state = state
        self.event = event
        super().__init__(message, path=path)


class RemoteProtocolError(DecodeError):
    """The peer broke the protocol and the policy makes that an error (strict).

    The connection has already done what PS3.8 prescribes (an A-ABORT waits in its outbox);
    ``diagnostic`` says what was wrong, ``state`` and ``event`` where the machine stood, and
    ``events`` holds what the same call completed before the error, so nothing is lost.
    """

    def __init__(
        self, diagnostic: Diagnostic, *, state: str, event: str, events: list[object]
    ) -> None:
        self.diagnostic = diagnostic
        self.state = state
        self.event = event
        self.events = events
        super().__init__(
            f"{diagnostic.message} (in {state}, {event})",
            offset=diagnostic.offset,
            path=diagnostic.path,
            code=diagnostic.code.value,
        )


class TransferSyntaxMismatch(EncodeError):
    """A data set that cannot be sent as it is in its presentation context's transfer syntax.

    ``diagnostics`` lists every reason (see
    :func:`~dimse_codec.dataset.check_transfer_syntax`); the message is the first one, with
    its element path, and says how many more there are. ``transfer_syntax`` is the context's.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], transfer_syntax: str) -> None:
        self.diagnostics = tuple(diagnostics)
        self.transfer_syntax = transfer_syntax
        first = self.diagnostics[0]
        more = len(self.diagnostics) - 1
        tail = f" (and {more} more)" if more else ""
        super().__init__(
            f"{first.message}{tail}; as_is=True sends it anyway",
            path=first.path,
            code=first.code.value,
        )
