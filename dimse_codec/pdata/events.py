"""What a :class:`~dimse_codec.pdata.StreamDecoder` reports: PDUs, whole messages and problems.

Offsets are stream offsets: bytes counted from the first byte ever fed to the decoder, so a
capture tool can map every event back to TCP segments and frames.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.pdu.pdus import MCH_COMMAND, MCH_LAST, PDU
from dimse_codec.policy import Diagnostic

__all__ = [
    "Event",
    "Fragment",
    "Fragments",
    "IncompleteMessage",
    "MessageReceived",
    "PDUReceived",
    "PDataReceived",
    "StreamDiagnostic",
]


class Fragment(NamedTuple):
    """Where one PDV of a message was: its item's stream offset, its PDU's, and its header.

    A named tuple rather than a dataclass: a 64 MiB data set at the usual maximum length has
    4,000 of them, and they are made on the hot path.
    """

    offset: int
    pdu_offset: int
    context_id: int
    message_control_header: int
    length: int
    """Fragment bytes (the PDV item length minus the context ID and MCH bytes)."""

    @property
    def is_command(self) -> bool:
        """Whether MCH bit 0 marks a command fragment."""
        return bool(self.message_control_header & MCH_COMMAND)

    @property
    def is_last(self) -> bool:
        """Whether MCH bit 1 marks the last fragment of its command or data set."""
        return bool(self.message_control_header & MCH_LAST)


class _Run(NamedTuple):
    """``pdus`` one-PDV P-DATA-TFs in a row, each with a non-last data fragment of ``length``."""

    pdu_offset: int
    pdus: int
    context_id: int
    length: int


class Fragments(Sequence[Fragment]):
    """A message's fragments in wire order, stored as runs of identical PDUs and made on demand.

    The hot path records a run of same-sized data PDUs as one entry instead of thousands of
    tuples; indexing, iterating and ``len`` behave like a tuple of :class:`Fragment`.
    """

    __slots__ = ("_entries", "_starts", "_total")

    def __init__(self, entries: Sequence[Fragment | _Run] = ()) -> None:
        self._entries = tuple(entries)
        starts = []
        total = 0
        for entry in self._entries:
            starts.append(total)
            total += entry.pdus if isinstance(entry, _Run) else 1
        self._starts = starts
        self._total = total

    def __len__(self) -> int:
        """How many PDVs the message took."""
        return self._total

    @overload
    def __getitem__(self, index: int) -> Fragment: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Fragment, ...]: ...
    def __getitem__(self, index: int | slice) -> Fragment | tuple[Fragment, ...]:
        """The fragment at ``index`` (or a tuple of them for a slice)."""
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._total
        if not 0 <= index < self._total:
            raise IndexError("fragment index out of range")
        slot = bisect_right(self._starts, index) - 1
        entry = self._entries[slot]
        if isinstance(entry, _Run):
            return _nth(entry, index - self._starts[slot])
        return entry

    def __iter__(self) -> Iterator[Fragment]:
        """Every fragment in wire order."""
        for entry in self._entries:
            if isinstance(entry, _Run):
                for k in range(entry.pdus):
                    yield _nth(entry, k)
            else:
                yield entry

    def __eq__(self, other: object) -> bool:
        """Equal to another sequence of the same fragments (a tuple included)."""
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """Short form: the count, not thousands of tuples."""
        return f"Fragments({self._total} PDVs)"


def _nth(run: _Run, k: int) -> Fragment:
    """The ``k``-th fragment of a run: each PDU is 12 header bytes plus the fragment."""
    pdu_offset = run.pdu_offset + k * (run.length + 12)
    return Fragment(pdu_offset + 6, pdu_offset, run.context_id, 0, run.length)


@dataclass(frozen=True, slots=True)
class PDUReceived:
    """A whole PDU other than P-DATA-TF (A-ASSOCIATE, A-RELEASE or A-ABORT).

    A PDU of a type PS3.8 does not define, or one that cannot be decoded, is a
    :class:`StreamDiagnostic` holding its bytes instead.
    """

    pdu: PDU
    offset: int


@dataclass(frozen=True, slots=True)
class PDataReceived:
    """A P-DATA-TF ended (only with ``report_pdata=True``): its header and its PDVs."""

    offset: int
    pdu_length: int
    reserved: int
    fragments: tuple[Fragment, ...]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A whole DIMSE message: the decoded primitive, its bytes and where its PDVs were.

    ``dataset`` holds the data set bytes (a ``memoryview`` over the decoder's own buffer, which is
    never reused) unless a ``dataset_sink`` took them, in which case ``sink`` is the object
    written to and ``dataset`` is ``None``; ``dataset_length`` counts the bytes either way.
    ``diagnostics`` are the reassembly problems; the command set's own are on the primitive.
    """

    context_id: int
    primitive: DIMSEPrimitive
    command_set: bytes
    dataset: memoryview | None
    dataset_length: int | None
    fragments: Fragments
    offset: int
    end: int
    diagnostics: tuple[Diagnostic, ...] = ()
    sink: Any = None


@dataclass(frozen=True, slots=True)
class IncompleteMessage:
    """Fragments that never made a whole message, kept so nothing is lost.

    Delivered when a new command interrupts a message, when data arrives that no command
    announced, when the command set cannot be decoded, when bytes of it were lost
    (:meth:`StreamDecoder.gap`), or at :meth:`StreamDecoder.close`. ``reason`` says which;
    ``primitive`` is set when the command set was whole and decoded.
    """

    context_id: int
    reason: Diagnostic
    command_set: bytes
    dataset: memoryview | None
    dataset_length: int | None
    fragments: Fragments
    offset: int
    end: int
    primitive: DIMSEPrimitive | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    sink: Any = None
    gaps: tuple[tuple[int, int], ...] = ()
    """(stream offset, length) of each stretch of the stream lost while the message was sent."""
    missing: int = 0
    """Data set bytes that PDV headers announced but a gap cut off: ``dataset_length +
    missing`` is what the PDVs seen announced."""


@dataclass(frozen=True, slots=True)
class StreamDiagnostic:
    """A problem lenient decoding carried on past that belongs to no message.

    P-DATA-TF framing problems, and PDUs that are not used: of a type PS3.8 does not define
    (``UNKNOWN_PDU_TYPE``) or that cannot be decoded (``UNDECODABLE``), their bytes kept in
    ``data``. PDUs in a row with the same problem (a stream of zero bytes is one empty PDU of
    type 00H after another) are one event: ``count`` says how many, ``offset`` and ``end`` where
    they lie, ``data`` holds all their bytes and ``diagnostic`` is about the first. So what a
    hostile stream creates is bounded in objects, and every byte is still accounted for.
    """

    diagnostic: Diagnostic
    data: bytes = b""
    """The bytes the problem left unused, kept: ``data == stream[offset:end]`` when not empty."""
    count: int = 1
    """How many problems the event stands for: the PDUs of a run of one problem, contiguous on
    the stream, or (``DIAGNOSTICS_TRUNCATED``) the stream problems left out past the cap."""
    offset: int | None = None
    """Stream offset of the first byte the event covers (kept in ``data``, skipped, or of the
    problems left out); ``None`` for a problem in a field of a PDU that was still used."""
    end: int | None = None
    """Stream offset just past the last byte the event covers."""


Event = PDUReceived | PDataReceived | MessageReceived | IncompleteMessage | StreamDiagnostic
"""Anything :meth:`StreamDecoder.feed` returns."""
