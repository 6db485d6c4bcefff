"""Streaming reassembly, sans-I/O: bytes of one direction of an association in, events out.

:class:`StreamDecoder` takes the bytes one peer sent, split anywhere, and returns what completed:
PDUs other than P-DATA-TF, and whole DIMSE messages rebuilt from their PDVs (PS3.8 9.3.5 and
Annex E). P-DATA-TF PDUs are never buffered whole: only the 6-byte PDU and PDV headers are, and
each fragment goes straight to its message's command buffer, data set buffer or sink, so memory
stays at one copy of the data set (or none, with a sink). Every message moves through these
states, one message per presentation context at a time::

    (none) --command PDV--> COMMAND --last command PDV, no data set--> delivered
                            COMMAND --last command PDV, data set announced--> DATA
                            DATA    --last data PDV--> delivered
    (none) --data PDV--> STRAY --last data PDV--> IncompleteMessage (DATA_BEFORE_COMMAND)

What PS3.8 forbids is reported, not guessed away: PDVs of another message before the current one
ends (INTERLEAVED), a data set continuing on another context ID (CONTEXT_CHANGED), data no
command announced (DATA_BEFORE_COMMAND), a command cutting a data set short
(MESSAGE_INCOMPLETE), empty and odd fragments, P-DATA-TF PDUs over our maximum length and
unknown PDU types. Strict raises :class:`~dimse_codec.errors.PolicyViolation` at the first one
and the decoder then refuses more input; lenient reports and carries on.

What a stream creates is bounded in objects, whatever its length: PDUs in a row with the same
problem (a stream of zero bytes is one empty PDU of type 00H after another) are one
:class:`StreamDiagnostic` holding all their bytes, across calls too, and one call reports at
most ``policy.limits.max_diagnostics`` stream problems, then one ``DIAGNOSTICS_TRUNCATED`` event
counts the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from dimse_codec._wire import byte_view
from dimse_codec.dimse.codec import attach_dataset, decode_command_set
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import (
    DecodeError,
    DimseCodecError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    PolicyViolation,
)
from dimse_codec.pdata.events import (
    Event,
    Fragment,
    Fragments,
    IncompleteMessage,
    MessageReceived,
    PDataReceived,
    PDUReceived,
    StreamDiagnostic,
    _Run,
)
from dimse_codec.pdata.limits import check_max_pdu_length
from dimse_codec.pdata.structures import (
    PDU_HEADER_STRUCT,
    PDU_PDV_HEADER_STRUCT,
    PDV_HEADER_STRUCT,
)
from dimse_codec.pdu.decode import decode_pdu
from dimse_codec.pdu.pdus import MCH_COMMAND, MCH_LAST, PDataTF
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy

__all__ = ["DatasetSink", "StreamDecoder"]

_HEADER_SIZE = PDU_HEADER_STRUCT.size
_PDV_SIZE = PDV_HEADER_STRUCT.size
_PDU_PDV_SIZE = PDU_PDV_HEADER_STRUCT.size
_MAX_FIELD = 0xFFFFFFFF
_P_DATA_TF = PDataTF.pdu_type
_MCH_BITS = MCH_COMMAND | MCH_LAST
_LAST_PDU_TYPE = 0x07  # PS3.8 defines PDU types 01H-07H
_SAME_BLOCK = _HEADER_SIZE << 13  # 48 KiB: the most one comparison of repeated PDU headers takes
_UNKNOWN = DiagnosticCode.UNKNOWN_PDU_TYPE
_UNDECODABLE = DiagnosticCode.UNDECODABLE
_TRUNCATED = DiagnosticCode.DIAGNOSTICS_TRUNCATED

# byte-level states
_PDU_START = 0  # expecting a PDU header
_PDV_START = 1  # inside a P-DATA-TF, expecting a PDV header
_PDV_BODY = 2  # inside a PDV's fragment
_PDU_BODY = 3  # buffering the body of a PDU other than P-DATA-TF
_SKIP = 4  # lenient: skipping the unframeable rest of a P-DATA-TF

# message states
_COMMAND = "COMMAND"
_DATA = "DATA"
_STRAY = "STRAY"
_STATE_NAMES = {_COMMAND: "command set", _DATA: "data set", _STRAY: "stray data"}


class DatasetSink(Protocol):
    """Where a data set goes instead of memory: anything with ``write`` (a file opened "wb")."""

    def write(self, data: memoryview, /) -> Any:
        """Take the next piece of the data set; the view is only valid during the call."""


SinkFactory = Callable[[int, DIMSEPrimitive], "DatasetSink | None"]
"""Called with the context ID and the decoded command when a data set is announced."""


class _Message:
    """A message being reassembled on one presentation context."""

    __slots__ = (
        "command",
        "context_id",
        "data",
        "diagnostics",
        "fragments",
        "gaps",
        "length",
        "missing",
        "offset",
        "primitive",
        "reason",
        "sink",
        "state",
    )

    def __init__(self, context_id: int, state: str, offset: int) -> None:
        self.context_id = context_id
        self.state = state
        self.offset = offset
        self.command = bytearray()
        self.data = bytearray()
        self.length = 0
        self.sink: DatasetSink | None = None
        self.fragments: list[Fragment | _Run] = []
        self.diagnostics: list[Diagnostic] = []
        self.primitive: DIMSEPrimitive | None = None
        self.reason: Diagnostic | None = None
        self.gaps: list[tuple[int, int]] = []  # (stream offset, length) lost while in flight
        self.missing = 0  # data set bytes its PDV headers announced that never arrived


class _Streak:
    """PDUs in a row with one problem, each right after the other: one event when it ends.

    ``pieces`` are views of the input of the current call (valid only during it); ``kept`` holds
    the bytes copied so far, in order before them. ``last`` is the last PDU that could not be
    decoded: the same bytes again need not be decoded to fail the same way.
    """

    __slots__ = ("continued", "count", "end", "first", "kept", "last", "pieces", "start")

    def __init__(self, first: Diagnostic, start: int, continued: bool) -> None:
        self.first = first
        self.start = start
        self.end = start
        self.count = 0
        self.pieces: list[memoryview] = []
        self.kept = bytearray()
        self.last: bytes | None = None
        self.continued = continued
        """Whether it carries on a streak already reported (so it may wait for more input)."""

    def add(self, piece: bytes | memoryview, end: int, pdus: int) -> None:
        """Take ``pdus`` more PDUs, up to stream offset ``end``, whose bytes are ``piece``."""
        if isinstance(piece, memoryview):
            self.pieces.append(piece)
        elif piece:
            if self.pieces:
                self.hold()
            self.kept += piece
        self.end = end
        self.count += pdus

    def hold(self) -> None:
        """Copy the views of this call's input: the caller may reuse its buffer after it."""
        for piece in self.pieces:
            self.kept += piece
        self.pieces.clear()

    def data(self) -> bytes:
        """Every byte of the streak's PDUs, in stream order."""
        if not self.pieces:
            return bytes(self.kept)
        return b"".join([self.kept, *self.pieces] if self.kept else self.pieces)


class _LeftOut:
    """The stream problems of one call past ``limits.max_diagnostics``: counted, not kept."""

    __slots__ = ("count", "end", "index", "start")

    def __init__(self, index: int, count: int, start: int | None, end: int | None) -> None:
        self.index = index  # where the note goes in the call's events
        self.count = count
        self.start = start
        self.end = end


def _repeats(view: memoryview, pos: int, end: int, unit: bytes) -> int:
    """How many copies of ``unit`` follow at ``pos``, compared a block at a time.

    The block doubles while it matches (up to 48 KiB) and halves at a mismatch, so the work is
    a few C-level comparisons per block, not a Python step per copy.
    """
    block = unit
    at = pos
    size = len(unit)
    while size >= len(unit):
        if end - at >= size and view[at : at + size].tobytes() == (
            block if size == len(block) else block[:size]
        ):
            at += size
            if size < _SAME_BLOCK:
                size *= 2
                if size > len(block):
                    block += block
        else:
            size //= 2
    return (at - pos) // len(unit)


def _add_run(fragments: list[Fragment | _Run], run: _Run) -> None:
    """Append a run, merged into the previous one when it continues it."""
    if fragments:
        last = fragments[-1]
        if (
            type(last) is _Run
            and last.length == run.length
            and last.context_id == run.context_id
            and last.pdu_offset + last.pdus * (last.length + 12) == run.pdu_offset
        ):
            fragments[-1] = _Run(last.pdu_offset, last.pdus + run.pdus, run.context_id, run.length)
            return
    fragments.append(run)


def _limit(value: object, name: str) -> int:
    """Check a size cap: a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterType(f"{name} must be an int", path=name)
    if value < 0:
        raise InvalidParameter(f"{name} must not be negative", path=name)
    return value


class StreamDecoder:
    """Reassemble the PDUs and DIMSE messages one peer sends on one association (sans-I/O).

    Feed it bytes as they arrive (:meth:`feed`), split at any point, and call :meth:`close` at the
    end of the stream. ``max_pdu_length`` is the Maximum Length Received we announced (0: none);
    a longer P-DATA-TF is reported. The caps refuse input before it is buffered:
    ``max_other_pdu_length`` for PDUs other than P-DATA-TF (which are decoded whole; it also
    bounds the bytes a run of PDUs with one problem holds across calls before it is reported),
    ``max_command_size`` (default: the policy's ``limits.max_command_set_length``) and
    ``max_dataset_size`` for what a message accumulates in memory, and
    ``max_pdata_length`` (0: none) for a P-DATA-TF's declared length, so that a corrupt length
    field (a capture's flipped byte) is refused at once instead of swallowing the stream after
    it as PDV items; a length between ``max_pdu_length`` and this cap is only reported.
    ``dataset_sink`` may return a writable object for a data set (a file), which then never
    touches memory. ``transfer_syntaxes`` maps context IDs to transfer syntax UIDs for the
    primitives' ``transfer_syntax``; it is a plain dict attribute the caller may update once the
    association is accepted. ``report_pdata`` adds a :class:`PDataReceived` per P-DATA-TF.
    ``hold_streaks=False`` reports a run of PDUs with one problem at the end of every call
    instead of holding its continuation for later calls: a protocol machine must answer each PDU
    as it arrives (PS3.8 Table 9-10, Evt19), while an observer prefers fewer events.
    ``offset`` is the stream offset of the first byte fed: every offset the decoder reports
    counts from the stream's start, also for a decoder started in the middle of a stream.
    A capture that lost bytes says so with :meth:`gap`, and decoding goes on after them.
    """

    def __init__(
        self,
        *,
        policy: Policy = LENIENT,
        max_pdu_length: int = 0,
        max_other_pdu_length: int = 1 << 20,
        max_pdata_length: int = 0,
        max_command_size: int | None = None,
        max_dataset_size: int = 1 << 32,
        dataset_sink: SinkFactory | None = None,
        transfer_syntaxes: Mapping[int, str] | None = None,
        report_pdata: bool = False,
        hold_streaks: bool = True,
        offset: int = 0,
    ) -> None:
        self.policy = policy
        self.hold_streaks = hold_streaks
        self.max_pdu_length = check_max_pdu_length(max_pdu_length)
        self.max_other_pdu_length = _limit(max_other_pdu_length, "max_other_pdu_length")
        self.max_pdata_length = _limit(max_pdata_length, "max_pdata_length")
        self.max_command_size = _limit(
            policy.limits.max_command_set_length if max_command_size is None else max_command_size,
            "max_command_size",
        )
        self.max_dataset_size = _limit(max_dataset_size, "max_dataset_size")
        self.dataset_sink = dataset_sink
        self.transfer_syntaxes: dict[int, str] = dict(transfer_syntaxes or {})
        self.report_pdata = report_pdata
        self._offset = _limit(offset, "offset")
        self._state = _PDU_START
        self._head = bytearray()
        self._head_offset = 0
        self._left = 0  # bytes left in the current PDV fragment, PDU body or skip
        self._pdu_left = 0  # bytes left in the current P-DATA-TF's variable field
        self._pdu_offset = 0
        self._pdu_type = 0
        self._pdu_reserved = 0
        self._pdu_length = 0
        self._body = bytearray()
        self._pdu_fragments: list[Fragment] = []
        self._target: _Message | None = None
        self._mch = 0
        self._last: _Message | None = None
        self._messages: dict[int, _Message] = {}
        self._stray: dict[int, _Message] = {}
        self._events: list[Event] = []
        self._failed: DimseCodecError | None = None
        self._streak: _Streak | None = None
        self._reported: tuple[DiagnosticCode, int] | None = None  # the last streak: code, end
        self._problems = 0  # stream problems reported in this call
        self._left_out: _LeftOut | None = None

    @property
    def offset(self) -> int:
        """How many bytes have been fed so far (the stream offset of the next byte)."""
        return self._offset

    @property
    def in_progress(self) -> bool:
        """Whether a PDU or a message is partly received (so closing now would lose something),
        or a run of PDUs with one problem is still open (:meth:`close` reports it)."""
        return bool(
            self._state != _PDU_START
            or self._head
            or self._messages
            or self._stray
            or self._streak is not None
        )

    # -- input -----------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Take the next bytes of the stream; return the events they completed, in order.

        The bytes are not kept: fragments are copied once into their message (or written to the
        sink), so the caller may reuse its buffer. After an error, every call raises again.
        PDUs in a row with one problem are one :class:`StreamDiagnostic`: reported in the call
        that starts the run, then, as more of the run arrives in later calls, once it ends, at
        :meth:`close` or every ``max_other_pdu_length`` bytes. One call reports at most
        ``policy.limits.max_diagnostics`` stream problems; one more event counts the rest.
        """
        if self._failed is not None:
            raise DecodeError(
                f"the stream decoder stopped at an earlier error: {self._failed}",
                offset=self._offset,
                path="stream",
            )
        view = byte_view(data)
        try:
            self._run(view)
            self._settle(final=False)
        except DimseCodecError as exc:
            self._failed = exc
            with contextlib.suppress(DimseCodecError):  # keep what came before the error
                self._settle(final=True)
            raise
        events, self._events = self._events, []
        return events

    def events_before_error(self) -> list[Event]:
        """The events the call that raised had completed before its error (then none).

        A ``feed`` that raises returns nothing, yet the same bytes may have finished whole
        messages before the bad part: a caller that carries on after errors (a capture decoder)
        takes them here so they are not lost.
        """
        if self._failed is None:
            return []
        events, self._events = self._events, []
        return events

    def close(self) -> list[Event]:
        """End of stream: report a partly received PDU and every unfinished message."""
        if self._failed is not None:
            return []
        try:
            self._cut_pdu(DiagnosticCode.STREAM_TRUNCATED, "the stream ended inside {}")
            for message in [*self._messages.values(), *self._stray.values()]:
                self._incomplete(
                    message,
                    DiagnosticCode.MESSAGE_INCOMPLETE,
                    f"the stream ended inside the {_STATE_NAMES[message.state]} of a message",
                )
            self._settle(final=True)
        except DimseCodecError as exc:
            self._failed = exc
            raise
        self._messages.clear()
        self._stray.clear()
        self._state = _PDU_START
        self._head.clear()
        events, self._events = self._events, []
        return events

    def gap(self, offset: int, length: int) -> list[Event]:
        """The stream bytes from ``offset`` to ``offset + length`` will never be fed (a capture
        lost them); bytes between the last one fed and ``offset`` were skipped (``length`` 0:
        only skipped, to resume at a PDU header). The next byte fed is ``offset + length``.

        The PDU in progress is cut short: a STREAM_GAP problem keeps what arrived of it, and
        the next byte fed must start a PDU. A message whose command set arrived carries on: its
        data set continues in the next PDVs on its context, and once its last fragment comes
        (or at :meth:`close`) it is one :class:`IncompleteMessage` listing its ``gaps``. A
        message whose command set the gap cut, or whose last fragment it cut, ends here.
        """
        if self._failed is not None:
            return []
        if offset < self._offset or length < 0:
            raise InvalidParameter(
                f"a gap at offset {offset} of {length} bytes cannot come at stream offset "
                f"{self._offset}"
            )
        try:
            lost = offset + length - self._offset
            target, left, last = self._target, self._left, self._mch & MCH_LAST
            self._cut_pdu(
                DiagnosticCode.STREAM_GAP,
                f"a gap of {lost} bytes at offset {self._offset} inside {{}}",
            )
            if self._state == _PDV_BODY and target is not None:
                target.missing += left
            self._state = _PDU_START
            self._head.clear()
            self._body.clear()
            self._pdu_fragments.clear()
            self._target = None
            self._left = self._pdu_left = 0
            self._offset = offset
            if length:
                self._note_gap(offset, length, target if last else None)
            self._offset = offset + length
            self._settle(final=True)
        except DimseCodecError as exc:
            self._failed = exc
            raise
        events, self._events = self._events, []
        return events

    def answered(self, context_id: int, message_id: int) -> list[Event]:
        """The peer answered message ``message_id`` on ``context_id``: if it is in flight and
        a gap lost bytes of it, it will never finish, so it is delivered now as incomplete."""
        message = self._messages.get(context_id)
        if (
            message is None
            or not message.gaps
            or getattr(message.primitive, "MessageID", None) != message_id
        ):
            return []
        self._messages.pop(context_id)
        lost = sum(length for _, length in message.gaps)
        self._incomplete(
            message,
            DiagnosticCode.MESSAGE_INCOMPLETE,
            f"its peer answered it before its last fragment came; {len(message.gaps)} gap(s) "
            f"lost {lost} bytes of the stream while it was sent",
            message.gaps[0][0],
        )
        events, self._events = self._events, []
        return events

    def _note_gap(self, offset: int, length: int, cut_last: _Message | None) -> None:
        """Note a gap on every message in flight; end those it left no way to finish."""
        why = f"a gap of {length} bytes at offset {offset}"
        for message in list(self._messages.values()):
            if message.state == _COMMAND:
                self._messages.pop(message.context_id)
                self._incomplete(
                    message, DiagnosticCode.MESSAGE_INCOMPLETE, f"{why} cut its command set"
                )
                continue
            message.gaps.append((offset, length))
            if message is cut_last:
                self._messages.pop(message.context_id)
                self._incomplete(
                    message,
                    DiagnosticCode.MESSAGE_INCOMPLETE,
                    f"{why} cut the last fragment of its data set",
                )
        for message in self._stray.values():
            message.gaps.append((offset, length))

    def _cut_pdu(self, code: DiagnosticCode, how: str) -> None:
        """Report the PDU (or PDU header) in progress as cut short, with the bytes of it that
        were kept; ``how`` names the cause, ``{}`` standing for what was cut."""
        if self._state == _PDU_START and not self._head:
            return
        if self._state == _PDU_START:
            what, start, kept = "a PDU header", self._head_offset, bytes(self._head)
        else:
            what, start, kept = "a PDU", self._pdu_offset, bytes(self._head or self._body)
        text = how.format(f"{what} that started at {start}")
        self._stream_problem(code, text, self._offset, "stream", kept, start, self._offset)
        target = self._target
        if self._state == _PDV_BODY and target is not None and target.fragments:
            self._record_cut(target)

    def _record_cut(self, target: _Message) -> None:
        """Record what arrived of the PDV the stream ended in (the last of its message)."""
        cut = target.fragments.pop()
        if isinstance(cut, _Run):  # the cut PDV is the run's last: split it off
            if cut.pdus > 1:
                target.fragments.append(cut._replace(pdus=cut.pdus - 1))
            cut = Fragments([cut])[cut.pdus - 1]
        target.fragments.append(cut._replace(length=cut.length - self._left))

    # -- byte level ------------------------------------------------------------------------------

    def _run(self, view: memoryview) -> None:
        """Consume ``view`` completely, moving through the byte-level states."""
        pos = 0
        end = len(view)
        while pos < end:
            state = self._state
            if state == _PDV_BODY:
                if self._target is not None and self._target is self._last:
                    moved = self._bulk(view, pos, end)
                    if moved != pos:
                        pos = moved
                        continue
                take = min(self._left, end - pos)
                piece = view[pos : pos + take]
                target = self._target
                if target is not None:
                    if self._mch & MCH_COMMAND:
                        target.command += piece
                    elif target.sink is not None:
                        target.sink.write(piece)
                        target.length += take
                    else:
                        target.data += piece
                        target.length += take
                pos += take
                self._offset += take
                self._left -= take
                self._pdu_left -= take
                if not self._left:
                    self._end_pdv()
            elif state == _PDU_START and not self._head and end - pos >= _PDU_PDV_SIZE:
                # the hot path: P-DATA-TFs each holding one data PDV of the message in progress
                moved = self._bulk(view, pos, end)
                if moved != pos:
                    pos = moved
                    continue
                pdu_type, reserved, length, item_length, context_id, mch = (
                    PDU_PDV_HEADER_STRUCT.unpack_from(view, pos)
                )
                message = self._last
                size = item_length - 2
                if (
                    pdu_type == _P_DATA_TF
                    and not reserved
                    and length == item_length + 4
                    and size > 0
                    and not size & 1
                    and not mch & ~MCH_LAST
                    and message is not None
                    and message.state == _DATA
                    and message.context_id == context_id
                    and (not self.max_pdu_length or length <= self.max_pdu_length)
                    and (message.sink is not None or message.length + size <= self.max_dataset_size)
                    and not self.report_pdata
                ):
                    offset = self._offset
                    message.fragments.append(
                        Fragment(offset + _HEADER_SIZE, offset, context_id, mch, size)
                    )
                    self._pdu_offset = offset
                    self._pdu_length = length
                    self._pdu_reserved = 0
                    self._target = message
                    self._mch = mch
                    self._left = self._pdu_left = size
                    self._state = _PDV_BODY
                    pos += _PDU_PDV_SIZE
                    self._offset = offset + _PDU_PDV_SIZE
                    continue
                if not 0 < pdu_type <= _LAST_PDU_TYPE:  # undefined: skipped in bulk when whole
                    moved = self._unknown_pdus(view, pos, end)
                    if moved != pos:
                        pos = moved
                        continue
                self._head_offset = self._offset
                pos += _HEADER_SIZE
                self._offset += _HEADER_SIZE
                self._start_pdu(pdu_type, reserved, length)
            elif state in (_PDU_START, _PDV_START):
                if state == _PDV_START and self._pdu_left < _PDV_SIZE and not self._head:
                    self._unframeable(
                        f"{self._pdu_left} byte(s) left in the P-DATA-TF; a PDV header needs 6"
                    )
                    continue
                head = self._head
                if not head:
                    self._head_offset = self._offset
                    if end - pos >= _HEADER_SIZE:
                        fields = (
                            PDU_HEADER_STRUCT if state == _PDU_START else PDV_HEADER_STRUCT
                        ).unpack_from(view, pos)
                        pos += _HEADER_SIZE
                        self._offset += _HEADER_SIZE
                        self._header(state, fields)
                        continue
                take = min(_HEADER_SIZE - len(head), end - pos)
                head += view[pos : pos + take]
                pos += take
                self._offset += take
                if len(head) == _HEADER_SIZE:
                    fields = (
                        PDU_HEADER_STRUCT if state == _PDU_START else PDV_HEADER_STRUCT
                    ).unpack(head)
                    head.clear()
                    self._header(state, fields)
            elif state == _PDU_BODY:
                take = min(self._left, end - pos)
                self._body += view[pos : pos + take]
                pos += take
                self._offset += take
                self._left -= take
                if not self._left:
                    self._end_pdu()
            else:  # _SKIP
                take = min(self._left, end - pos)
                pos += take
                self._offset += take
                self._left -= take
                self._pdu_left -= take
                if not self._left:
                    self._end_p_data()

    def _bulk(self, view: memoryview, pos: int, end: int) -> int:
        """Copy one-PDV P-DATA-TFs of the data set in progress; return where it stopped.

        Only PDUs the general path would accept without a word take this loop (one even,
        non-empty data PDV on the message's context, within every limit); anything else stops
        it and goes the general way. It also finishes such a PDU that the previous input cut
        short, and starts the one this input cuts short. Runs of same-sized PDUs stay one
        ``_Run`` across inputs.
        """
        message = self._last
        if message is None or message.state != _DATA or self.report_pdata:
            return pos
        sink = message.sink
        write = sink.write if sink is not None else message.data.extend
        base = self._offset - pos
        if self._state == _PDV_BODY:
            left = self._left
            if self._target is not message or self._mch & MCH_COMMAND or self._pdu_left != left:
                return pos
            take = min(left, end - pos)
            write(view[pos : pos + take])
            message.length += take
            pos += take
            self._offset = base + pos
            if take < left:
                self._left = self._pdu_left = left - take
                return pos
            self._left = self._pdu_left = 0
            if self._mch & MCH_LAST:
                self._end_pdv()
                return pos
            self._target = None
            self._state = _PDU_START
        context = message.context_id
        maximum = self.max_pdu_length or _MAX_FIELD
        room = _MAX_FIELD if sink is not None else self.max_dataset_size - message.length
        fragments = message.fragments
        unpack = PDU_PDV_HEADER_STRUCT.unpack_from
        total = 0
        mch = 0
        run_start = run_count = run_length = 0
        expected = None  # the header of the run in progress
        while end - pos >= _PDU_PDV_SIZE:
            header = unpack(view, pos)
            start = pos + _PDU_PDV_SIZE
            if header == expected and start + run_length <= end and run_length <= room - total:
                write(view[start : start + run_length])
                run_count += 1
                total += run_length
                pos = start + run_length
                continue
            pdu_type, reserved, length, item_length, context_id, mch = header
            size = item_length - 2
            if (
                pdu_type != _P_DATA_TF
                or reserved
                or length != item_length + 4
                or size <= 0
                or size & 1
                or mch & ~MCH_LAST
                or context_id != context
                or length > maximum
                or size > room - total
            ):
                mch = 0
                break
            cut = start + size > end
            stop = end if cut else start + size
            write(view[start:stop])
            if mch:
                if run_count:
                    _add_run(fragments, _Run(base + run_start, run_count, context, run_length))
                    run_count = 0
                at = base + pos
                fragments.append(Fragment(at + _HEADER_SIZE, at, context, mch, size))
            elif size == run_length:
                run_count += 1
            else:
                if run_count:
                    _add_run(fragments, _Run(base + run_start, run_count, context, run_length))
                run_start, run_count, run_length = pos, 1, size
                expected = header
            total += stop - start
            if cut:  # the rest comes in the next input
                self._pdu_offset = base + pos
                self._pdu_length = length
                self._pdu_reserved = 0
                self._target = message
                self._mch = mch
                self._left = self._pdu_left = start + size - end
                self._state = _PDV_BODY
                pos = end
                mch = 0
                break
            pos = stop
            if mch:
                break
        if run_count:
            _add_run(fragments, _Run(base + run_start, run_count, context, run_length))
        message.length += total
        self._offset = base + pos
        if mch:  # the last fragment: finish the message as the general path would
            self._target = message
            self._mch = mch
            self._pdu_left = 0
            self._end_pdv()
        return pos

    def _header(self, state: int, fields: tuple[int, int, int]) -> None:
        """Dispatch a whole 6-byte header."""
        if state == _PDU_START:
            self._start_pdu(*fields)
        else:
            self._pdu_left -= _PDV_SIZE
            self._start_pdv(*fields)

    def _problem(self, code: DiagnosticCode, message: str, offset: int, path: str) -> Diagnostic:
        """Make a diagnostic, raising instead when the policy says so."""
        sink: list[Diagnostic] = []
        self.policy.report(sink, code, message, offset, path)
        return sink[0]

    def _stream_problem(
        self,
        code: DiagnosticCode,
        message: str,
        offset: int,
        path: str,
        data: bytes = b"",
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        """Report a problem that belongs to no message, with the bytes it left unused (from
        stream offset ``start`` to ``end``)."""
        diagnostic = self._problem(code, message, offset, path)
        if self._streak is not None:
            self._end_streak()
        self._report(StreamDiagnostic(diagnostic, data, 1, start, end))

    def _pdu_problem(
        self,
        code: DiagnosticCode,
        why: str,
        offset: int,
        path: str,
        start: int,
        end: int,
        piece: bytes | memoryview = b"",
        pdus: int = 1,
    ) -> None:
        """Report ``pdus`` whole PDUs from stream offset ``start`` to ``end`` that have one
        problem (``piece``: their bytes, when kept), in the streak they continue if any."""
        streak = self._streak
        if streak is None or streak.first.code is not code or streak.end != start:
            diagnostic = self._problem(code, why, offset, path)
            if streak is not None:
                self._end_streak()
            streak = self._streak = _Streak(diagnostic, start, self._reported == (code, start))
        streak.add(piece, end, pdus)

    def _end_streak(self) -> None:
        """The open streak ends: report it as one event."""
        streak = self._streak
        if streak is None:
            return
        self._streak = None
        first = streak.first
        data = streak.data()
        message = first.message
        if streak.count > 1:
            message += (
                f"; the {streak.count - 1} PDU(s) right after it, up to offset {streak.end}, "
                f"have the same code ({first.code.value})"
            )
        if data:
            message += (
                f"; the PDU's {len(data)} bytes are kept"
                if streak.count == 1
                else f"; all {len(data)} bytes are kept"
            )
        self._reported = (first.code, streak.end)
        diagnostic = Diagnostic(first.code, message, first.offset, first.path)
        self._report(StreamDiagnostic(diagnostic, data, streak.count, streak.start, streak.end))

    def _report(self, event: StreamDiagnostic) -> None:
        """Append a stream problem, or past ``limits.max_diagnostics`` in this call count it in
        the one ``DIAGNOSTICS_TRUNCATED`` event that :meth:`_settle` writes."""
        if self._problems < self.policy.limits.max_diagnostics:
            self._problems += 1
            self._events.append(event)
            return
        start = event.diagnostic.offset if event.offset is None else event.offset
        end = start if event.end is None else event.end
        left = self._left_out
        if left is not None:
            left.count += event.count
            left.end = end
            return
        left = _LeftOut(len(self._events), event.count, start, end)
        if _TRUNCATED in self.policy.raise_on:
            raise PolicyViolation(self._left_out_note(left).diagnostic)
        self._left_out = left
        self._events.append(event)  # its place: the note replaces it when the call ends

    def _left_out_note(self, left: _LeftOut) -> StreamDiagnostic:
        """The event that counts the stream problems left out of one call."""
        diagnostic = Diagnostic(
            _TRUNCATED,
            f"and {left.count} more stream problem(s) left out, from offset {left.start} to "
            f"{left.end}, past Limits.max_diagnostics ({self.policy.limits.max_diagnostics}) "
            "in one call",
            left.start,
            "stream",
        )
        return StreamDiagnostic(diagnostic, b"", left.count, left.start, left.end)

    def _settle(self, final: bool) -> None:
        """A call ends: report the open streak, or, while it only carries on one already
        reported and spans less than ``max_other_pdu_length`` bytes, keep a copy for later
        calls; then write the note counting what was left out."""
        streak = self._streak
        if streak is not None:
            if (
                not final
                and self.hold_streaks
                and streak.continued
                and streak.end - streak.start < self.max_other_pdu_length
            ):
                streak.hold()
            else:
                self._end_streak()
        left = self._left_out
        if left is not None:
            self._left_out = None
            self._events[left.index] = self._left_out_note(left)
        self._problems = 0

    def _emit(self, event: Event) -> None:
        """Append an event that is not a stream problem, after the streak it ends."""
        if self._streak is not None:
            self._end_streak()
        self._events.append(event)

    def _unknown_pdus(self, view: memoryview, pos: int, end: int) -> int:
        """Take the whole PDUs of undefined types at ``pos`` into a streak; return where they end.

        No :func:`decode_pdu`: their type is enough. Identical empty PDUs (zero bytes) are
        taken a block at a time.
        """
        unpack = PDU_HEADER_STRUCT.unpack_from
        cap = self.max_other_pdu_length
        start = pos
        pdus = 0
        while end - pos >= _HEADER_SIZE:
            pdu_type, _, length = unpack(view, pos)
            if 0 < pdu_type <= _LAST_PDU_TYPE or length > cap or end - pos - _HEADER_SIZE < length:
                break
            pos += _HEADER_SIZE + length
            pdus += 1
            if not length:
                same = _repeats(view, pos, end, view[pos - _HEADER_SIZE : pos].tobytes())
                pos += same * _HEADER_SIZE
                pdus += same
        if pdus:
            at = self._offset
            self._pdu_problem(
                _UNKNOWN,
                f"PDU type {view[start]:#04x} is not defined by PS3.8",
                at,
                f"PDU @{at}",
                at,
                at + pos - start,
                view[start:pos],
                pdus,
            )
            self._offset = at + pos - start
        return pos

    # -- PDUs ------------------------------------------------------------------------------------

    def _start_pdu(self, pdu_type: int, reserved: int, length: int) -> None:
        """A PDU header arrived: plan its body."""
        offset = self._head_offset
        self._pdu_offset = offset
        self._pdu_type = pdu_type
        self._pdu_reserved = reserved
        self._pdu_length = length
        if pdu_type != _P_DATA_TF:
            if length > self.max_other_pdu_length:
                raise LimitExceeded(
                    f"PDU type {pdu_type:#04x} declares {length} bytes, over the "
                    f"{self.max_other_pdu_length}-byte cap for PDUs other than P-DATA-TF; "
                    "refused before buffering",
                    offset=offset + 2,
                    path=f"PDU @{offset}",
                )
            self._body = bytearray(PDU_HEADER_STRUCT.pack(pdu_type, reserved, length))
            self._left = length
            self._state = _PDU_BODY
            if not length:
                self._end_pdu()
            return
        path = f"P-DATA-TF @{offset}"
        if self.max_pdata_length and length > self.max_pdata_length:
            raise LimitExceeded(
                f"P-DATA-TF declares {length} bytes, over the {self.max_pdata_length}-byte cap; "
                "refused before reading it",
                offset=offset + 2,
                path=path,
            )
        if reserved:
            self._stream_problem(
                DiagnosticCode.RESERVED_NONZERO,
                f"reserved field is {reserved:#04x}, not zero",
                offset + 1,
                path,
            )
        if self.max_pdu_length and length > self.max_pdu_length:
            self._stream_problem(
                DiagnosticCode.PDU_OVER_MAXIMUM,
                f"PDU-length {length} is over the maximum of {self.max_pdu_length} we announced",
                offset + 2,
                path,
            )
        self._pdu_fragments = []
        self._pdu_left = length
        if not length:
            self._pdu_problem(
                DiagnosticCode.NO_PDV,
                "P-DATA-TF carries no PDV item",
                offset + 6,
                path,
                offset,
                offset + _HEADER_SIZE,
            )
            self._end_p_data()
            return
        self._state = _PDV_START

    def _end_pdu(self) -> None:
        """A PDU other than P-DATA-TF is whole: decode it, or keep its bytes when it cannot be."""
        raw = bytes(self._body)
        self._body = bytearray()
        self._state = _PDU_START
        offset = self._pdu_offset
        end = offset + len(raw)
        if not 0 < self._pdu_type <= _LAST_PDU_TYPE:
            why = f"PDU type {self._pdu_type:#04x} is not defined by PS3.8"
            self._pdu_problem(_UNKNOWN, why, offset, f"PDU @{offset}", offset, end, raw)
            return
        streak = self._streak
        if streak is not None and streak.last == raw and streak.end == offset:
            streak.add(raw, end, 1)  # the same bytes as the PDU before, which failed
            return
        try:
            pdu = decode_pdu(raw, policy=self.policy)
        except PolicyViolation:
            raise
        except DecodeError as exc:
            if self.policy.strict:
                raise
            at = offset + exc.offset if exc.offset is not None else offset
            path = f"PDU @{offset}" + (f" > {exc.path}" if exc.path else "")
            self._pdu_problem(_UNDECODABLE, exc.message, at, path, offset, end, raw)
            if self._streak is not None:
                self._streak.last = raw
            return
        self._emit(PDUReceived(pdu, offset))

    def _end_p_data(self) -> None:
        """A P-DATA-TF's variable field is used up."""
        self._state = _PDU_START
        if self.report_pdata:
            self._emit(
                PDataReceived(
                    self._pdu_offset,
                    self._pdu_length,
                    self._pdu_reserved,
                    tuple(self._pdu_fragments),
                )
            )

    def _unframeable(self, why: str) -> None:
        """The rest of this P-DATA-TF cannot be cut into PDVs: report, then skip to its end."""
        self._stream_problem(
            DiagnosticCode.ITEM_LENGTH_MISMATCH,
            f"{why}; the remaining {self._pdu_left} byte(s) of the PDU are skipped",
            self._offset,
            f"P-DATA-TF @{self._pdu_offset} > PDV @{self._offset}",
            start=self._offset,
            end=self._offset + self._pdu_left,
        )
        self._left = self._pdu_left
        self._state = _SKIP
        if not self._left:
            self._end_p_data()

    # -- PDVs ------------------------------------------------------------------------------------

    def _start_pdv(self, item_length: int, context_id: int, mch: int) -> None:
        """A PDV header arrived: find its message, check it and plan its fragment."""
        offset = self._head_offset
        path = f"P-DATA-TF @{self._pdu_offset} > PDV @{offset}"
        if item_length < 2:
            self._unframeable(f"PDV item length {item_length} is less than 2")
            return
        length = item_length - 2
        notes: list[Diagnostic] = []
        if length > self._pdu_left:
            notes.append(
                self._problem(
                    DiagnosticCode.ITEM_LENGTH_MISMATCH,
                    f"PDV item length {item_length} runs past the P-DATA-TF's end; "
                    f"its fragment is cut to the {self._pdu_left} byte(s) there",
                    offset,
                    path,
                )
            )
            length = self._pdu_left
        if not context_id & 1:
            notes.append(
                self._problem(
                    DiagnosticCode.CONTEXT_ID_INVALID,
                    f"presentation context ID {context_id} is not odd",
                    offset + 4,
                    path,
                )
            )
        if mch & ~_MCH_BITS:
            notes.append(
                self._problem(
                    DiagnosticCode.MCH_RESERVED_BITS,
                    f"message control header {mch:#04x} sets reserved bits",
                    offset + 5,
                    path,
                )
            )
        if length & 1:
            notes.append(
                self._problem(
                    DiagnosticCode.ODD_FRAGMENT,
                    f"the fragment is {length} bytes, an odd length",
                    offset,
                    path,
                )
            )
        fragment = Fragment(offset, self._pdu_offset, context_id, mch, length)
        target = self._message_for(fragment, path)
        if not length and not (
            # an announced data set that is empty: its one last PDV is empty, and must be sent
            mch & MCH_LAST
            and not mch & MCH_COMMAND
            and target.state == _DATA
            # (runs of the bulk path are data fragments too)
            and not any(isinstance(f, _Run) or not f.is_command for f in target.fragments)
        ):
            notes.append(
                self._problem(DiagnosticCode.EMPTY_PDV, "the PDV carries no bytes", offset, path)
            )
        target.fragments.append(fragment)
        for note in notes:
            self.policy.keep(target.diagnostics, note)
        if self.report_pdata:
            self._pdu_fragments.append(fragment)
        self._check_size(target, fragment, path)
        self._target = target
        self._mch = mch
        self._left = length
        self._state = _PDV_BODY
        if not length:
            self._end_pdv()

    def _check_size(self, target: _Message, fragment: Fragment, path: str) -> None:
        """Refuse a fragment that would take a message's buffer over its cap."""
        if fragment.is_command:
            size, cap, what = len(target.command), self.max_command_size, "command set"
        elif target.sink is None:
            size, cap, what = target.length, self.max_dataset_size, "data set"
        else:
            return
        if size + fragment.length > cap:
            raise LimitExceeded(
                f"the {what} would grow to {size + fragment.length} bytes, over the "
                f"{cap}-byte cap; refused before buffering",
                offset=fragment.offset,
                path=path,
            )

    def _message_for(self, fragment: Fragment, path: str) -> _Message:
        """The message this PDV belongs to, creating or adopting one and reporting oddities."""
        context_id = fragment.context_id
        message = self._messages.get(context_id)
        if fragment.is_command:
            if message is not None and message.state != _COMMAND:
                self._messages.pop(context_id)
                self._incomplete(
                    message,
                    DiagnosticCode.MESSAGE_INCOMPLETE,
                    f"a new command started on context {context_id} before the data set ended",
                )
                message = None
            if message is None:
                message = _Message(context_id, _COMMAND, fragment.offset)
                self._messages[context_id] = message
        elif message is None or message.state == _COMMAND:
            waiting = [m for m in self._messages.values() if m.state == _DATA]
            if message is None and len(waiting) == 1:
                message = waiting[0]
                self.policy.keep(
                    message.diagnostics,
                    self._problem(
                        DiagnosticCode.CONTEXT_CHANGED,
                        f"a data set begun on context {message.context_id} continues on "
                        f"context {context_id}",
                        fragment.offset + 4,
                        path,
                    ),
                )
            else:
                message = self._stray.get(context_id)
                if message is None:
                    message = _Message(context_id, _STRAY, fragment.offset)
                    message.reason = self._problem(
                        DiagnosticCode.DATA_BEFORE_COMMAND,
                        f"a data fragment on context {context_id} that no command announced",
                        fragment.offset,
                        path,
                    )
                    self._stray[context_id] = message
        last = self._last
        if last is not None and last is not message:
            self.policy.keep(
                message.diagnostics,
                self._problem(
                    DiagnosticCode.INTERLEAVED,
                    f"a PDV for context {context_id} arrived while the message on context "
                    f"{last.context_id} was unfinished",
                    fragment.offset,
                    path,
                ),
            )
        self._last = message
        return message

    def _end_pdv(self) -> None:
        """A fragment is complete: finish its command or data set when it was the last."""
        self._state = _PDV_START if self._pdu_left else _PDU_START
        target = self._target
        self._target = None
        if not self._pdu_left:
            self._end_p_data()
        if target is None or not self._mch & MCH_LAST:
            return
        if target.state == _STRAY:
            self._stray.pop(target.context_id, None)
            self._finish(target)
            if target.reason is not None:
                self._emit(self._incomplete_event(target, target.reason))
        elif self._mch & MCH_COMMAND:
            self._command_done(target)
        elif target.state == _DATA:
            self._data_done(target)

    # -- messages --------------------------------------------------------------------------------

    def _command_done(self, message: _Message) -> None:
        """The command set is whole: decode it, then deliver or wait for the data set."""
        try:
            primitive = decode_command_set(bytes(message.command), policy=self.policy)
        except PolicyViolation:
            raise
        except DecodeError as exc:
            if self.policy.strict:
                raise
            self._messages.pop(message.context_id, None)
            self._incomplete(
                message,
                DiagnosticCode.UNDECODABLE,
                f"the command set cannot be decoded: {exc}",
            )
            return
        primitive.context_id = message.context_id
        syntax = self.transfer_syntaxes.get(message.context_id)
        if syntax is not None:
            primitive.transfer_syntax = syntax
        message.primitive = primitive
        if not primitive.dataset_follows():
            self._messages.pop(message.context_id, None)
            self._deliver(message, primitive, None)
            return
        message.state = _DATA
        if self.dataset_sink is not None:
            message.sink = self.dataset_sink(message.context_id, primitive)

    def _data_done(self, message: _Message) -> None:
        """The data set is whole: attach it and deliver the message."""
        self._messages.pop(message.context_id, None)
        primitive = message.primitive
        if primitive is None:  # pragma: no cover - DATA state is entered only with a primitive
            return
        if message.gaps:  # whole in name only: bytes of it were lost on the way
            lost = sum(length for _, length in message.gaps)
            self._incomplete(
                message,
                DiagnosticCode.MESSAGE_INCOMPLETE,
                f"its last fragment arrived, but {len(message.gaps)} gap(s) lost {lost} "
                "bytes of the stream while it was sent",
                message.gaps[0][0],
            )
            return
        dataset = None
        if message.sink is None:
            dataset = memoryview(message.data)
            attach_dataset(primitive, dataset, policy=self.policy)
        self._deliver(message, primitive, dataset)

    def _finish(self, message: _Message) -> None:
        """Forget a message as the current one."""
        if self._last is message:
            self._last = None

    def _deliver(
        self, message: _Message, primitive: DIMSEPrimitive, dataset: memoryview | None
    ) -> None:
        """Emit a whole message."""
        self._finish(message)
        self._emit(
            MessageReceived(
                message.context_id,
                primitive,
                bytes(message.command),
                dataset,
                None if message.state == _COMMAND else message.length,
                Fragments(message.fragments),
                message.offset,
                self._offset,
                tuple(message.diagnostics),
                message.sink,
            )
        )

    def _incomplete(
        self, message: _Message, code: DiagnosticCode, why: str, offset: int | None = None
    ) -> None:
        """Emit what a message had when it could not be finished (``offset``: where it went
        wrong, by default here)."""
        self._finish(message)
        path = f"message on context {message.context_id} @{message.offset}"
        reason = self._problem(code, why, self._offset if offset is None else offset, path)
        self._emit(self._incomplete_event(message, reason))

    def _incomplete_event(self, message: _Message, reason: Diagnostic) -> IncompleteMessage:
        """The event for an unfinished message."""
        has_data = message.state != _COMMAND
        return IncompleteMessage(
            message.context_id,
            reason,
            bytes(message.command),
            memoryview(message.data) if has_data and message.sink is None else None,
            message.length if has_data else None,
            Fragments(message.fragments),
            message.offset,
            self._offset,
            message.primitive,
            tuple(message.diagnostics),
            message.sink,
            tuple(message.gaps),
            message.missing,
        )
