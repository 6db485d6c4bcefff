"""DICOM over captured TCP: associations and DIMSE messages from the reassembled byte streams.

:class:`CaptureDecoder` takes the events of a :class:`~dimse_codec.capture.TcpReassembler` and
returns records: association events, every DIMSE message with its frames, time, direction,
context, transfer syntax and matching request, gaps and problems. Each TCP direction gets its own
:class:`~dimse_codec.pdata.StreamDecoder`, so state never leaks from one direction to the other
(Wireshark keeps one per conversation). A connection is DICOM when it opens with a plausible
A-ASSOCIATE-RQ, when a port was named, or when a capture that began mid-stream shows two PDU
headers in a row or a whole A-ASSOCIATE-RQ; after a gap, decoding resumes at the next plausible
PDU header.

Two conventions hold for every record. Its ``frame`` is the frame it was decided at: the latest
frame fed when the decoder completed it (for bytes that arrive in order, the frame carrying its
last byte), so records come out in the order of their frames, whatever the reordering, loss or
interleaving of connections. Every byte offset in a record or its diagnostics is the offset in
its direction's TCP stream, counted from the first byte seen of it, also after decoding resumed
past a gap; a message in flight across a gap goes on after it (:meth:`StreamDecoder.gap`).

Each association seen from its A-ASSOCIATE-RQ on is followed through PS3.8 Table 9-10 for both
sides at once (:class:`_Observer`): a PDU is a local primitive event for its sender's machine
and a received-PDU event for its receiver's, and one the table forbids is a
:class:`CaptureProblem` (``UNEXPECTED_PDU``) naming the state and the event.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.association import Aborted, Accepted, Rejected, read_response
from dimse_codec.capture.observer import _ASSOCIATION_PDUS, _Observer, _violation_text
from dimse_codec.capture.records import (
    AssociationEvent,
    AssociationRecord,
    CapturedMessage,
    CaptureProblem,
    CaptureRecord,
    DicomDirection,
    Stall,
    StreamGap,
)
from dimse_codec.capture.shard import ShardFilter
from dimse_codec.capture.traffic import TrafficSeen
from dimse_codec.dataset.sniff import sniff_transfer_syntax
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap.packets import NoteKind
from dimse_codec.pcap.reader import (
    CaptureNote,
    CaptureReader,
    CaptureSources,
    Interface,
    UnsupportedInterface,
)
from dimse_codec.pcap.tcp import (
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    CloseReason,
    Connection,
    ConnectionClosed,
    ConnectionOpened,
    Direction,
    Gap,
    GapReason,
    LateSegment,
    ResetIgnored,
    RetransmissionMismatch,
    StreamData,
    StreamEnded,
    TcpEvent,
    TcpReassembler,
)
from dimse_codec.pdata import (
    IncompleteMessage,
    MessageReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
)
from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PresentationContextResult,
)
from dimse_codec.policy import LENIENT, Diagnostic, DiagnosticCode, Policy
from dimse_codec.tables.upper_layer import RECEIVED_PDU_EVENTS, SENT_PDU_EVENTS

__all__ = [
    "ENDING_EVENTS",
    "PROGRESS_FRAMES",
    "AssociationEvent",
    "AssociationRecord",
    "CaptureDecoder",
    "CaptureProblem",
    "CaptureRecord",
    "CapturedMessage",
    "DicomDirection",
    "Stall",
    "StreamGap",
    "decode_capture",
]

DEFAULT_STALL_THRESHOLD_NS = 30_000_000
"""A pause longer than this (30 ms) inside one message's bytes is a :class:`Stall`: short enough
to catch the 40 ms a Linux sender waits for a delayed ACK between a command and its data set."""

PROGRESS_FRAMES = 512
"""Frames between two calls of ``decode_capture``'s ``on_progress``: often enough for a display
that changes twice a second, rare enough to cost nothing next to the frames' decoding."""

_NEVER = 1 << 62  # a frame number no capture reaches
_PENDING = frozenset({0xFF00, 0xFF01})
_CANDIDATE = re.compile(rb"(?=[\x01-\x07]\x00)")
"""Where a PDU header could start: a PDU type byte, then the zero reserved byte."""
_SYNC_WINDOW = 1 << 16
"""How far to look for a PDU header after a gap before giving the bytes up."""


_RECORD_FIELDS = tuple(f.name for f in fields(AssociationRecord))
_RECORD_INDEX = {name: index for index, name in enumerate(_RECORD_FIELDS)}


__getattr__ = deprecated_aliases(__name__, {"Record": ("CaptureRecord", CaptureRecord)})


# -- problems of the capture layer ----------------------------------------------------------------

_NOTE_CODES: dict[NoteKind, DiagnosticCode] = {
    NoteKind.IP_FRAGMENT: DiagnosticCode.IP_FRAGMENT,
    NoteKind.FRAGMENT_OVERLAP: DiagnosticCode.FRAGMENT_OVERLAP,
    NoteKind.MALFORMED: DiagnosticCode.MALFORMED_PACKET,
    NoteKind.HEADER_CUT: DiagnosticCode.HEADER_CUT,
    NoteKind.BAD_INTERFACE: DiagnosticCode.BAD_INTERFACE,
    NoteKind.BAD_OPTION: DiagnosticCode.BAD_OPTION,
    NoteKind.UNSUPPORTED_LINK_TYPE: DiagnosticCode.UNSUPPORTED_LINK_TYPE,
}
"""The problem code of each note of the capture reader."""


class _ProblemCap:
    """Per code, the first ``limit`` problems of the capture layer become records; the rest
    are only counted, and :meth:`rest` gives one record per code that says how many."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.shown: dict[DiagnosticCode, int] = {}
        self.hidden: dict[DiagnosticCode, int] = {}

    def admit(self, code: DiagnosticCode) -> bool:
        """Whether one more problem of ``code`` becomes a record (else it is counted)."""
        shown = self.shown.get(code, 0)
        if shown < self.limit:
            self.shown[code] = shown + 1
            return True
        self.hidden[code] = self.hidden.get(code, 0) + 1
        return False

    def count(self, code: DiagnosticCode, occurrences: int) -> None:
        """Count occurrences that never reached :meth:`admit` (dropped before, by the reader)."""
        if occurrences > 0:
            self.hidden[code] = self.hidden.get(code, 0) + occurrences

    def rest(self) -> list[CaptureProblem]:
        """One record per code whose problems went past the cap, then forget them."""
        out = [
            CaptureProblem(
                None,
                DicomDirection.UNKNOWN,
                None,
                Diagnostic(
                    code,
                    f"{hidden} more {code.value} problem(s) not shown (the first "
                    f"{self.shown.get(code, 0)} were)",
                    None,
                    "capture",
                ),
                count=hidden,
            )
            for code, hidden in self.hidden.items()
        ]
        self.hidden.clear()
        return out


def _note_problem(note: CaptureNote) -> CaptureProblem:
    """A note of the capture reader as a record."""
    diagnostic = Diagnostic(_NOTE_CODES[note.kind], note.message, note.offset, "capture")
    return CaptureProblem(None, DicomDirection.UNKNOWN, note.frame, diagnostic)


def _skipped_interface(
    skipped: UnsupportedInterface, interface: Interface, frame: int
) -> CaptureProblem:
    """The packets of an interface of an undecodable link type as one record that counts them,
    decided at ``frame`` (the capture's last: the file has been read)."""
    name = f" ({interface.name})" if interface.name else ""
    frames = (
        f"frame {skipped.first_frame}"
        if skipped.packets == 1
        else f"frames {skipped.first_frame} to {skipped.last_frame}"
    )
    message = (
        f"interface {skipped.interface}{name} has link type {skipped.link_type} "
        f"({skipped.link_name}), which is not decoded down to IP: its {skipped.packets} "
        f"packet(s) ({frames}) were skipped"
    )
    diagnostic = Diagnostic(
        DiagnosticCode.UNSUPPORTED_LINK_TYPE, message, skipped.offset, "capture"
    )
    return CaptureProblem(None, DicomDirection.UNKNOWN, frame, diagnostic, count=skipped.packets)


# -- plausibility --------------------------------------------------------------------------------


MAX_PLAUSIBLE_PDATA = 1 << 26
"""The longest P-DATA-TF a capture decoder believes before any A-ASSOCIATE says otherwise."""

MIN_PDATA_CAP = 1 << 20
"""Once an association announced its limits, a P-DATA-TF is refused (and decoding resumes at
the next PDU header) when it declares more than 4 × the receiver's limit, but never below this:
up to there an oversized PDU is only reported (PDU_OVER_MAXIMUM), as some peers do send one."""


def _plausible_pdu(data: bytes | bytearray | memoryview, pos: int) -> int | None:
    """The PDU length if a plausible PDU header starts at ``pos`` (12 bytes needed), else None."""
    if len(data) - pos < 12:
        return None
    pdu_type, reserved = data[pos], data[pos + 1]
    if reserved or not 1 <= pdu_type <= 7:
        return None
    length = int.from_bytes(data[pos + 2 : pos + 6], "big")
    if pdu_type == 4:
        item = int.from_bytes(data[pos + 6 : pos + 10], "big")
        context_id, mch = data[pos + 10], data[pos + 11]
        plausible = 6 <= length <= MAX_PLAUSIBLE_PDATA
        if plausible and 2 <= item <= length - 4 and context_id & 1 and mch <= 3:
            return length
        return None
    if pdu_type in (1, 2):
        return length if 68 <= length <= 1 << 20 and data[pos + 7] & 1 else None
    return length if length == 4 else None


def _looks_like_associate_rq(data: bytes) -> bool:
    """Whether a stream opens with an A-ASSOCIATE-RQ header."""
    return len(data) >= 12 and data[0] == 1 and _plausible_pdu(data, 0) is not None


def _opens_with_whole_rq(data: bytes | bytearray) -> bool:
    """Whether a stream seen from its middle opens with a whole A-ASSOCIATE-RQ (PS3.8 9.3.2):
    a plausible header, protocol version 1, and the Application Context item (10H) first after
    the fixed 68 bytes. A capture begun after the TCP handshake that holds only an association
    request is then DICOM, where two PDU headers in a row cannot be seen."""
    length = _plausible_pdu(data, 0) if data[:1] == b"\x01" else None
    return (
        length is not None
        and len(data) >= 6 + length
        and data[6:8] == b"\x00\x01"
        and data[74] == 0x10
    )


# -- per-direction state ---------------------------------------------------------------------


class _DirectionDecoder:
    """One direction of a DICOM connection: its decoder, frame map and resynchronisation."""

    def __init__(self, policy: Policy, syncing: bool) -> None:
        self.policy = policy
        self.decoder: StreamDecoder | None = None
        self.syncing = syncing
        self.pending = bytearray()  # bytes waiting for a plausible header
        self.pending_offset = 0
        self.frames: list[tuple[int, int, int | None]] = []  # (offset, frame, time_ns)
        self.offsets: list[int] = []
        self.transfer_syntaxes: dict[int, str] = {}
        self.max_pdu_length = 0  # the receiver's Maximum Length Received, once negotiated
        self.max_pdata_length = MAX_PLAUSIBLE_PDATA

    def limit(self, max_pdu_length: int, transfer_syntaxes: dict[int, str]) -> None:
        """The association was accepted: what the receiver of this direction announced."""
        self.max_pdu_length = max_pdu_length
        self.max_pdata_length = max(4 * max_pdu_length, MIN_PDATA_CAP) if max_pdu_length else 0
        self.transfer_syntaxes.update(transfer_syntaxes)
        decoder = self.decoder
        if decoder is not None:
            decoder.max_pdu_length = self.max_pdu_length
            decoder.max_pdata_length = self.max_pdata_length
            decoder.transfer_syntaxes.update(transfer_syntaxes)

    def start_decoder(self, offset: int) -> StreamDecoder:
        """A fresh decoder whose first byte is stream ``offset`` (its offsets are the stream's)."""
        self.decoder = StreamDecoder(
            policy=self.policy,
            max_pdu_length=self.max_pdu_length,
            max_pdata_length=self.max_pdata_length,
            transfer_syntaxes=self.transfer_syntaxes,
            offset=offset,
        )
        self.syncing = False
        return self.decoder

    def note_frames(self, offset: int, frame: int, time_ns: int | None) -> None:
        """Remember which frame carried the bytes from ``offset`` on."""
        self.frames.append((offset, frame, time_ns))
        self.offsets.append(offset)

    def frame_at(self, offset: int) -> tuple[int, int | None]:
        """The frame (and time) that carried the byte at stream ``offset``."""
        index = bisect_right(self.offsets, offset) - 1
        if index < 0:
            return (self.frames[0][1], self.frames[0][2]) if self.frames else (0, None)
        _, frame, time_ns = self.frames[index]
        return frame, time_ns

    def stalls(self, start: int, end: int, threshold_ns: int | None) -> tuple[Stall, ...]:
        """Pauses over ``threshold_ns`` between the segments carrying stream bytes
        ``start`` to ``end`` (one message)."""
        if threshold_ns is None or end <= start or not self.frames:
            return ()
        first = max(bisect_right(self.offsets, start) - 1, 0)
        last = bisect_right(self.offsets, end - 1)
        frames = self.frames
        begin, finish = frames[first][2], frames[last - 1][2]
        if begin is None or finish is None or finish - begin <= threshold_ns:
            return ()  # the whole message took less: no pause inside it can be longer
        found = []
        for index in range(first + 1, last):
            offset, frame, time_ns = frames[index]
            _, before_frame, before_ns = frames[index - 1]
            if time_ns is not None and before_ns is not None and time_ns - before_ns > threshold_ns:
                found.append(Stall(frame, before_frame, offset, time_ns - before_ns))
        return tuple(found)

    def forget_before(self, offset: int) -> None:
        """Drop frame entries wholly before ``offset`` (bounded memory on long streams)."""
        index = bisect_right(self.offsets, offset) - 1
        if index > 64:
            del self.frames[:index]
            del self.offsets[:index]


class _Assoc:
    """An association being followed on one connection."""

    def __init__(self, index: int, connection: Connection, frame: int) -> None:
        self.index = index
        self.connection = connection
        self.requestor_direction: Direction | None = None
        self.record = AssociationRecord(index, connection, None, None, first_frame=frame)
        self._values = [getattr(self.record, name) for name in _RECORD_FIELDS]
        """The record's field values, in order: the next snapshot changes some of them."""
        self.requests: dict[tuple[Direction, int], tuple[int, int | None]] = {}
        self.observer: _Observer | None = None
        """Both PS3.8 machines, from the A-ASSOCIATE-RQ on; ``None`` when the capture joined
        the association mid-way or lost bytes of it (a gap): then nothing is judged."""
        self.last_frame = 0
        """The last frame seen; the next snapshot takes it (not one snapshot per message)."""
        self.octets = [0, 0]
        """Bytes captured per TCP direction since the association began."""

    def direction_of(self, direction: Direction) -> DicomDirection:
        """A TCP direction in the association's roles."""
        if self.requestor_direction is None:
            return DicomDirection.UNKNOWN
        if direction == self.requestor_direction:
            return DicomDirection.REQUESTOR_TO_ACCEPTOR
        return DicomDirection.ACCEPTOR_TO_REQUESTOR

    def set_requestor(self, direction: Direction) -> None:
        """Fix the roles: ``direction`` is the requestor's."""
        self.requestor_direction = direction
        c = self.connection
        self.update(requestor=c.sender(direction), acceptor=c.receiver(direction))

    def update(self, **changes: Any) -> AssociationRecord:
        """Replace fields of the record (it is immutable) and return the new snapshot."""
        if "last_frame" in changes:
            self.last_frame = changes["last_frame"]
        else:
            changes["last_frame"] = self.last_frame
        changes["octets"] = (self.octets[0], self.octets[1])
        # what dataclasses.replace does, on a copy of the record's values kept here
        if not changes.keys() <= _RECORD_INDEX.keys():
            raise TypeError(f"not AssociationRecord fields: {sorted(changes)}")
        values = self._values
        for name, value in changes.items():
            values[_RECORD_INDEX[name]] = value
        self.record = AssociationRecord(*values)
        return self.record


_CLOSE_EVENTS = {
    CloseReason.CAPTURE_END: "truncated",
    CloseReason.IDLE: "evicted",
    CloseReason.CONNECTION_LIMIT: "evicted",
}
"""The association event of a connection that closed while its association was open (else
``close``)."""
ENDING_EVENTS = frozenset({"reject", "release", "abort", "close", "truncated", "evicted"})
"""The :class:`AssociationEvent` names after which no record of the association comes."""
_CLOSE_STATES = {"close": "closed"}
"""The association state each such event leaves (else the event's name)."""

_MAX_RESET_CONNECTIONS = 4096
"""How many DICOM connections closed by a RST are remembered, for their late segments."""

_MAX_NEGOTIATIONS = 64
"""How many (A-ASSOCIATE-RQ, -AC) pairs keep their negotiation for reuse."""


@dataclass
class _Conn:
    """A TCP connection that carries DICOM."""

    connection: Connection
    halves: dict[Direction, _DirectionDecoder] = field(default_factory=dict)
    association: _Assoc | None = None


class CaptureDecoder:
    """Turn TCP reassembly events into association events, DIMSE messages, gaps and problems.

    ``port`` marks connections to or from it as DICOM even without an A-ASSOCIATE-RQ, and makes
    its side the acceptor. ``policy`` is passed to every stream decoder; lenient (the default)
    is what a capture tool wants: report and carry on. Every TCP connection is counted in
    :attr:`traffic` (``traffic``, when given) once decided DICOM or not.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        policy: Policy = LENIENT,
        stall_threshold_ns: int | None = DEFAULT_STALL_THRESHOLD_NS,
        traffic: TrafficSeen | None = None,
    ) -> None:
        self.port = port
        self.traffic = TrafficSeen() if traffic is None else traffic
        """The TCP connections decided so far, DICOM or not, and their server ports."""
        self.traffic.port = port
        self.policy = policy
        self.stall_threshold_ns = stall_threshold_ns
        """Pauses longer than this inside a message become its :attr:`CapturedMessage.stalls`
        (``None``: none are looked for)."""
        self._conns: dict[int, _Conn | None] = {}  # None: decided not DICOM
        self._probe: dict[tuple[int, Direction], bytearray] = {}
        self._mid: set[tuple[int, Direction]] = set()
        self._undecided: dict[int, list[TcpEvent]] = {}
        self._reset: dict[int, None] = {}  # DICOM connections closed by a RST, newest last
        self._negotiations: dict[
            tuple[int, int], tuple[AAssociateRQ, AAssociateAC, Accepted | Rejected | Aborted]
        ] = {}
        self._next_association = 0
        self._cap = _ProblemCap(policy.limits.max_diagnostics)
        self._now = 0
        """The latest frame of the events fed: the frame every record is decided at."""

    # -- input ---------------------------------------------------------------------------------

    def feed(self, event: TcpEvent) -> list[CaptureRecord]:
        """Take one reassembly event; return the records it completed, each labelled with the
        frame it was decided at (the latest frame fed so far)."""
        frame = event.last_frame if isinstance(event, StreamData) else event.frame
        if frame > self._now:
            self._now = frame
        connection = event.connection
        index = connection.index
        if isinstance(event, ConnectionClosed):
            return self._closed(index, connection, event)
        if index in self._conns:
            conn = self._conns[index]
            if conn is None:
                return []
            return self._dispatch(conn, event)
        if isinstance(event, ConnectionOpened):
            return []  # nothing to decide yet, and no state kept for it
        if isinstance(event, LateSegment):
            # after its close: a DICOM connection's only if it was reset (the reassembler
            # reports late bytes after a RST only)
            if index not in self._reset:
                return []
            return self._dispatch(_Conn(connection), event)
        return self._decide(index, connection, event, force=False)

    def _closed(
        self, index: int, connection: Connection, event: ConnectionClosed
    ) -> list[CaptureRecord]:
        """A connection ended: its last records, then its state is released."""
        known = index in self._conns
        conn = self._conns.get(index)
        if not known:
            out = self._decide(index, connection, event, force=True)
        elif conn is None:
            out = []
        else:
            out = self._dispatch(conn, event)
        dicom = self._conns.pop(index, None) is not None
        if event.reason in (CloseReason.IDLE, CloseReason.CONNECTION_LIMIT) and (
            dicom or not known
        ):
            out += self._evicted(connection, event)
        if dicom and event.reason is CloseReason.RST:
            self._reset[index] = None
            if len(self._reset) > _MAX_RESET_CONNECTIONS:
                del self._reset[next(iter(self._reset))]
        return out

    def _evicted(self, connection: Connection, event: ConnectionClosed) -> list[CaptureRecord]:
        """Report a connection the reassembler stopped following (idle, or past its cap)."""
        code = DiagnosticCode.CONNECTION_EVICTED
        if not self._cap.admit(code):
            return []
        why = (
            "no packet for the idle timeout"
            if event.reason is CloseReason.IDLE
            else "more connections open than the cap on tracked connections"
        )
        text = (
            f"connection {connection} evicted at frame {event.frame} ({event.reason.value}: "
            f"{why}); later packets of its 4-tuple start a new connection"
        )
        diagnostic = Diagnostic(code, text, None, f"connection {connection}")
        return [CaptureProblem(None, DicomDirection.UNKNOWN, self._now, diagnostic)]

    def finish(self) -> list[CaptureRecord]:
        """Nothing more will come (call after :meth:`TcpReassembler.finish` events)."""
        out: list[CaptureRecord] = []
        for index in list(self._undecided):
            events = self._undecided.pop(index)
            out += self._decide(index, events[0].connection, None, force=True, queued=events)
        for conn in self._conns.values():
            if conn is not None:
                out += self._close_halves(conn, None)
        return out + self._cap.rest()

    # -- deciding whether a connection is DICOM -----------------------------------------------

    def _decide(
        self,
        index: int,
        connection: Connection,
        event: TcpEvent | None,
        *,
        force: bool,
        queued: list[TcpEvent] | None = None,
    ) -> list[CaptureRecord]:
        """Queue a new connection's events until its first bytes show whether it is DICOM."""
        events = queued if queued is not None else self._undecided.setdefault(index, [])
        if event is not None:
            events.append(event)
        ports = {endpoint.port for endpoint in connection.endpoints}
        verdict: bool | None = True if self.port is not None and self.port in ports else None
        if verdict is None:
            verdict = self._sniff(connection, events, force)
        if verdict is None:
            if len(events) > 4096:  # never plausible enough: give up on it
                verdict = False
            else:
                return []
        self._undecided.pop(index, None)
        self.traffic.connection(connection, verdict)
        if not verdict:
            self._conns[index] = None
            return []
        conn = _Conn(connection)
        self._conns[index] = conn
        out: list[CaptureRecord] = []
        for queued_event in events:
            out += self._dispatch(conn, queued_event)
        return out

    def _sniff(self, connection: Connection, events: list[TcpEvent], force: bool) -> bool | None:
        """True/False once the first bytes decide; None to wait for more."""
        event = events[-1] if events else None
        index = connection.index
        if isinstance(event, Gap) and event.reason is GapReason.STREAM_START:
            self._mid.add((index, event.direction))
        grew: Direction | None = None  # a direction whose probe crossed a 4 KiB step
        if isinstance(event, StreamData):
            head = self._probe.setdefault((index, event.direction), bytearray())
            before = len(head)
            if before < _SYNC_WINDOW:
                head += event.data[: _SYNC_WINDOW - before]
            if len(head) // 4096 != before // 4096 or len(head) >= _SYNC_WINDOW:
                grew = event.direction
        total = 0
        for direction in (Direction.FORWARD, Direction.REVERSE):
            probe = self._probe.get((index, direction))
            if probe is None:
                continue
            head = probe
            total += len(head)
            if (index, direction) not in self._mid:
                if len(head) >= 12:
                    return self._decided(index, _looks_like_associate_rq(bytes(head)))
            elif (force or direction == grew) and (
                _two_headers(head) or _opens_with_whole_rq(head)
            ):
                return self._decided(index, True)
        if force or total >= 2 * _SYNC_WINDOW:
            return self._decided(index, False)
        return None

    def _decided(self, index: int, verdict: bool) -> bool:
        """Forget the probes of a connection once it is decided."""
        for direction in (Direction.FORWARD, Direction.REVERSE):
            self._probe.pop((index, direction), None)
            self._mid.discard((index, direction))
        return verdict

    # -- dispatch ----------------------------------------------------------------------------------

    @staticmethod
    def _where(conn: _Conn, direction: Direction) -> tuple[int | None, DicomDirection]:
        """The association index (if one is known) and the role-named direction."""
        assoc = conn.association
        if assoc is None:
            return None, DicomDirection.UNKNOWN
        return assoc.index, assoc.direction_of(direction)

    def _half(self, conn: _Conn, direction: Direction) -> _DirectionDecoder:
        half = conn.halves.get(direction)
        if half is None:
            half = _DirectionDecoder(self.policy, syncing=False)
            conn.halves[direction] = half
        return half

    def _assoc(self, conn: _Conn, frame: int) -> _Assoc:
        if conn.association is None:
            conn.association = _Assoc(self._next_association, conn.connection, frame)
            self._next_association += 1
            if self.port is not None:
                for direction in (Direction.FORWARD, Direction.REVERSE):
                    if conn.connection.receiver(direction).port == self.port:
                        conn.association.set_requestor(direction)
                        break
        return conn.association

    def _dispatch(self, conn: _Conn, event: TcpEvent) -> list[CaptureRecord]:
        out: list[CaptureRecord] = []
        if isinstance(event, StreamData):
            half = self._half(conn, event.direction)
            half.note_frames(event.offset, event.first_frame, event.time_ns)
            before = conn.association
            if before is not None:  # counted first, so the snapshots of its PDUs include them
                before.octets[event.direction] += len(event.data)
            out += self._bytes(conn, event.direction, half, event.offset, event.data)
            if before is None and conn.association is not None:
                conn.association.octets[event.direction] += len(event.data)
        elif isinstance(event, Gap):
            half = self._half(conn, event.direction)
            if conn.association is not None:
                conn.association.observer = None  # PDUs may be lost: stop judging
            index, way = self._where(conn, event.direction)
            out.append(
                StreamGap(
                    index,
                    conn.connection,
                    way,
                    event.offset,
                    event.length,
                    self._now,
                    event.reason,
                )
            )
            out += self._lose(conn, event.direction, half, event)
        elif isinstance(event, RetransmissionMismatch):
            index, way = self._where(conn, event.direction)
            diagnostic = Diagnostic(
                DiagnosticCode.UNDECODABLE,
                f"frame {event.frame} retransmits {event.length} byte(s) differently from frame "
                f"{event.original_frame}; the first bytes seen are kept",
                event.offset,
                f"connection {conn.connection}",
            )
            out.append(CaptureProblem(index, way, self._now, diagnostic))
        elif isinstance(event, ResetIgnored):
            if self._cap.admit(DiagnosticCode.RST_OUT_OF_WINDOW):
                index, way = self._where(conn, event.direction)
                diagnostic = Diagnostic(
                    DiagnosticCode.RST_OUT_OF_WINDOW,
                    f"frame {event.frame}: a RST {event.distance} sequence number(s) away from "
                    "the next byte of its stream, outside its window: ignored (RFC 5961 "
                    "section 3), the connection goes on",
                    None,
                    f"connection {conn.connection}",
                )
                out.append(CaptureProblem(index, way, self._now, diagnostic))
        elif isinstance(event, LateSegment):
            if self._cap.admit(DiagnosticCode.SEGMENT_AFTER_RESET):
                diagnostic = Diagnostic(
                    DiagnosticCode.SEGMENT_AFTER_RESET,
                    f"frame {event.frame}: {event.length} byte(s) sent after a RST closed the "
                    "connection, dropped (its receiver drops them too)",
                    None,
                    f"connection {conn.connection}",
                )
                out.append(CaptureProblem(None, DicomDirection.UNKNOWN, self._now, diagnostic))
        elif isinstance(event, StreamEnded):
            half = self._half(conn, event.direction)
            out += self._flush(conn, event.direction, half)
        elif isinstance(event, ConnectionClosed):
            out += self._close_halves(conn, event)
        return out

    # -- bytes ---------------------------------------------------------------------------------

    def _bytes(
        self,
        conn: _Conn,
        direction: Direction,
        half: _DirectionDecoder,
        offset: int,
        data: memoryview,
    ) -> list[CaptureRecord]:
        if half.decoder is None and not half.syncing:
            half.start_decoder(offset)
        if half.syncing:
            if not half.pending:
                half.pending_offset = offset
            half.pending += data
            found = _find_header(half.pending)
            if found is None:
                keep = 11  # a header may straddle the next segment
                if len(half.pending) > keep:
                    half.pending_offset += len(half.pending) - keep
                    del half.pending[:-keep]
                return []
            start = half.pending_offset + found
            rest = bytes(half.pending[found:])
            half.pending.clear()
            half.syncing = False
            decoder = half.decoder
            if decoder is None:
                decoder = half.start_decoder(start)
                return self._feed(conn, direction, half, decoder, rest)
            try:  # the same decoder goes on: a message in flight continues after the gap
                skipped = decoder.gap(start, 0)
            except DimseCodecError as exc:
                return self._decoder_failed(conn, direction, half, exc, start)
            out = self._events(conn, direction, half, skipped)
            return out + self._feed(conn, direction, half, decoder, rest)
        current = half.decoder
        if current is None:  # pragma: no cover - set above
            return []
        return self._feed(conn, direction, half, current, data)

    def _feed(
        self,
        conn: _Conn,
        direction: Direction,
        half: _DirectionDecoder,
        decoder: StreamDecoder,
        data: bytes | memoryview,
    ) -> list[CaptureRecord]:
        """Feed one direction's decoder; on an error keep what it finished, then resynchronise."""
        try:
            events = decoder.feed(data)
        except DimseCodecError as exc:
            if self.policy.strict:
                raise
            done = self._events(conn, direction, half, decoder.events_before_error())
            return done + self._decoder_failed(conn, direction, half, exc, decoder.offset)
        return self._events(conn, direction, half, events)

    def _decoder_failed(
        self,
        conn: _Conn,
        direction: Direction,
        half: _DirectionDecoder,
        exc: DimseCodecError,
        offset: int,
    ) -> list[CaptureRecord]:
        """A stream decoder gave up at stream ``offset`` (a cap, or strict mode): report it and
        resynchronise."""
        if self.policy.strict:
            raise exc
        index, way = self._where(conn, direction)
        frame = self._now
        half.decoder = None
        half.syncing = True
        half.pending.clear()
        code = DiagnosticCode.UNDECODABLE
        return [
            CaptureProblem(
                index,
                way,
                frame,
                Diagnostic(code, f"{exc}; decoding resumes at the next PDU header", offset),
            )
        ]

    def _flush(
        self, conn: _Conn, direction: Direction, half: _DirectionDecoder
    ) -> list[CaptureRecord]:
        """The bytes of this direction end: report what was unfinished."""
        decoder = half.decoder
        if decoder is None:
            return []
        half.decoder = None
        try:
            events = decoder.close()
        except DimseCodecError as exc:
            return self._decoder_failed(conn, direction, half, exc, decoder.offset)
        return self._events(conn, direction, half, events)

    def _lose(
        self, conn: _Conn, direction: Direction, half: _DirectionDecoder, gap: Gap
    ) -> list[CaptureRecord]:
        """Bytes of this direction are missing: the decoder cuts the PDU they fell in and keeps
        the messages in flight, and decoding resumes at the next plausible PDU header."""
        half.syncing = True
        half.pending.clear()
        decoder = half.decoder
        if decoder is None or gap.length is None:
            return self._flush(conn, direction, half)
        try:
            events = decoder.gap(gap.offset, gap.length)
        except DimseCodecError as exc:
            return self._decoder_failed(conn, direction, half, exc, gap.offset)
        return self._events(conn, direction, half, events)

    def _close_halves(self, conn: _Conn, event: ConnectionClosed | None) -> list[CaptureRecord]:
        out: list[CaptureRecord] = []
        for direction, half in conn.halves.items():
            out += self._flush(conn, direction, half)
        assoc = conn.association
        if assoc is not None and assoc.record.state not in ("released", "aborted", "rejected"):
            reason = event.reason if event is not None else CloseReason.CAPTURE_END
            name = _CLOSE_EVENTS.get(reason, "close")
            record = assoc.update(state=_CLOSE_STATES.get(name, name))
            out.append(
                AssociationEvent(
                    name,
                    record,
                    DicomDirection.UNKNOWN,
                    self._now,
                    event.time_ns if event is not None else None,
                )
            )
        conn.association = None if event is not None else assoc
        return out

    # -- stream decoder events -------------------------------------------------------------------

    def _events(
        self, conn: _Conn, direction: Direction, half: _DirectionDecoder, events: list[Any]
    ) -> list[CaptureRecord]:
        out: list[CaptureRecord] = []
        for event in events:
            if isinstance(event, PDUReceived):
                out += self._pdu(conn, direction, half, event)
            elif isinstance(event, MessageReceived):
                out += self._message(conn, direction, half, event, event.primitive)
            elif isinstance(event, IncompleteMessage) and event.primitive is not None:
                # the command set arrived whole: a message, marked incomplete, nothing lost
                out += self._message(conn, direction, half, event, event.primitive)
            elif isinstance(event, IncompleteMessage):
                assoc = self._assoc(conn, half.frame_at(event.offset)[0])
                frame = self._now
                way = assoc.direction_of(direction)
                out += [
                    CaptureProblem(assoc.index, way, frame, diagnostic)
                    for diagnostic in event.diagnostics
                ]
                out.append(CaptureProblem(assoc.index, way, frame, event.reason, event.command_set))
            elif isinstance(event, StreamDiagnostic):
                index, way = self._where(conn, direction)
                out.append(
                    CaptureProblem(index, way, self._now, event.diagnostic, event.data, event.count)
                )
        decoder = half.decoder
        if decoder is not None and not decoder.in_progress:
            half.forget_before(decoder.offset)
        return out

    def _pdu(
        self, conn: _Conn, direction: Direction, half: _DirectionDecoder, event: PDUReceived
    ) -> list[CaptureRecord]:
        pdu = event.pdu
        first, time_ns = half.frame_at(event.offset)
        frame = self._now
        offset = event.offset
        if isinstance(pdu, AAssociateRQ):
            out: list[CaptureRecord] = []
            previous = conn.association
            if previous is not None and previous.record.request is not None:
                # a new association on the same connection (PS3.8 wants a new one)
                out += self._follow(previous, direction, pdu, frame, time_ns, offset)
                conn.association = None
            assoc = self._assoc(conn, first)
            assoc.set_requestor(direction)
            assoc.observer = _Observer()
            record = assoc.update(request=pdu, state="requested", last_frame=frame)
            way = assoc.direction_of(direction)
            return [*out, AssociationEvent("request", record, way, frame, time_ns)]
        assoc = self._assoc(conn, first)
        if assoc.requestor_direction is None and isinstance(
            pdu, (AAssociateAC, AAssociateRJ, AReleaseRP)
        ):
            assoc.set_requestor(direction.other)
        records = self._pdu_records(conn, direction, assoc, frame, time_ns, event)
        if isinstance(pdu, _ASSOCIATION_PDUS):
            records += self._follow(assoc, direction, pdu, frame, time_ns, offset)
        return records

    def _negotiated(self, rq: AAssociateRQ, ac: AAssociateAC) -> Accepted | Rejected | Aborted:
        """:func:`read_response` of the pair, remembered for the last pairs seen: decoded PDUs
        are shared when their bytes repeat (``decode_pdu``), and so is their negotiation."""
        key = (id(rq), id(ac))
        known = self._negotiations.get(key)
        if known is not None and known[0] is rq and known[1] is ac:
            return known[2]
        result = read_response(rq, ac, policy=LENIENT)
        if len(self._negotiations) >= _MAX_NEGOTIATIONS:
            del self._negotiations[next(iter(self._negotiations))]
        self._negotiations[key] = (rq, ac, result)
        return result

    def _pdu_records(
        self,
        conn: _Conn,
        direction: Direction,
        assoc: _Assoc,
        frame: int,
        time_ns: int | None,
        event: PDUReceived,
    ) -> list[CaptureRecord]:
        """The association event (and the A-ASSOCIATE-AC's problems) of a PDU other than RQ."""
        pdu = event.pdu
        way = assoc.direction_of(direction)
        if isinstance(pdu, AAssociateAC):
            negotiated = None
            diagnostics: tuple[Diagnostic, ...] = ()
            if assoc.record.request is not None:
                result = self._negotiated(assoc.record.request, pdu)
                if isinstance(result, Accepted):
                    negotiated = result.association
                    diagnostics = negotiated.diagnostics
                    syntaxes = {
                        k: v.transfer_syntax for k, v in negotiated.accepted_contexts.items()
                    }
                    # the requestor sends up to the acceptor's limit, and the other way round
                    self._half(conn, direction.other).limit(
                        negotiated.peer_max_pdu_length, syntaxes
                    )
                    self._half(conn, direction).limit(negotiated.our_max_pdu_length, syntaxes)
            record = assoc.update(
                answer=pdu, negotiated=negotiated, state="accepted", last_frame=frame
            )
            out: list[CaptureRecord] = [AssociationEvent("accept", record, way, frame, time_ns)]
            out += [CaptureProblem(assoc.index, way, frame, d) for d in diagnostics]
            return out
        if isinstance(pdu, AAssociateRJ):
            record = assoc.update(answer=pdu, state="rejected", last_frame=frame)
            return [AssociationEvent("reject", record, way, frame, time_ns)]
        if isinstance(pdu, AReleaseRQ):
            record = assoc.update(last_frame=frame)
            return [AssociationEvent("release-request", record, way, frame, time_ns)]
        if isinstance(pdu, AReleaseRP):
            record = assoc.update(state="released", last_frame=frame)
            return [AssociationEvent("release", record, way, frame, time_ns)]
        if isinstance(pdu, AAbort):
            record = assoc.update(state="aborted", abort=pdu, last_frame=frame)
            return [AssociationEvent("abort", record, way, frame, time_ns)]
        problem = Diagnostic(
            DiagnosticCode.UNKNOWN_PDU_TYPE,
            f"a PDU of type {pdu.pdu_type:#04x} (not defined by PS3.8), kept whole",
            event.offset,
        )
        return [CaptureProblem(assoc.index, way, frame, problem)]

    def _follow(
        self,
        assoc: _Assoc,
        direction: Direction,
        pdu: AAssociateRQ | AAssociateAC | AAssociateRJ | AReleaseRQ | AReleaseRP | AAbort | None,
        frame: int,
        time_ns: int | None,
        offset: int,
    ) -> list[CaptureRecord]:
        """Follow one PDU (``None``: a P-DATA) through both machines of PS3.8 Table 9-10."""
        observer = assoc.observer
        if observer is None or assoc.requestor_direction is None:
            return []
        from_requestor = direction == assoc.requestor_direction
        sent: str | None
        if pdu is None:
            name, sent, received = "P-DATA-TF", "Evt9", "Evt10"
        else:
            name = pdu.name
            kind = int(pdu.pdu_type)
            sent, received = SENT_PDU_EVENTS.get(kind), RECEIVED_PDU_EVENTS[kind]
        violation, collision = observer.pdu(from_requestor, sent, received)
        way = assoc.direction_of(direction)
        if collision:
            record = assoc.update(last_frame=frame)
            return [AssociationEvent("release-collision", record, way, frame, time_ns)]
        code = DiagnosticCode.UNEXPECTED_PDU
        if violation is None or not self._cap.admit(code):
            return []
        text = _violation_text(name, violation, from_requestor)
        diagnostic = Diagnostic(code, text, offset, "Upper Layer")
        return [
            CaptureProblem(
                assoc.index,
                way,
                frame,
                diagnostic,
                state=violation.state,
                event=violation.event,
            )
        ]

    def _message(
        self,
        conn: _Conn,
        direction: Direction,
        half: _DirectionDecoder,
        event: MessageReceived | IncompleteMessage,
        primitive: DIMSEPrimitive,
    ) -> list[CaptureRecord]:
        first_frame, first_time_ns = half.frame_at(event.offset)
        time_ns = half.frame_at(event.end - 1)[1]
        frame = self._now
        stalls = half.stalls(event.offset, event.end, self.stall_threshold_ns)
        out = self._answered(conn, direction, primitive)
        fresh = conn.association is None
        assoc = self._assoc(conn, first_frame)
        spec = primitive.message_spec
        if assoc.requestor_direction is None and spec is not None:
            # mid-stream: N-EVENT-REPORT goes from the acceptor (usually the SCP) the other way
            from_requestor = spec.is_request != (spec.service.name == "N-EVENT-REPORT")
            assoc.set_requestor(direction if from_requestor else direction.other)
        if fresh:
            record = assoc.update(state="unknown", last_frame=frame)
            out.append(
                AssociationEvent(
                    "mid-stream", record, assoc.direction_of(direction), frame, time_ns
                )
            )
        negotiated = assoc.record.negotiated
        context = None if negotiated is None else negotiated.accepted_contexts.get(event.context_id)
        abstract = None if context is None else context.abstract_syntax
        syntax = None if context is None else context.transfer_syntax
        result: PresentationContextResult | int | None = None
        guessed = None
        found = [*event.diagnostics, *primitive.diagnostics]
        incomplete = None
        gaps: tuple[tuple[int, int], ...] = ()
        announced = event.dataset_length
        if isinstance(event, IncompleteMessage):
            incomplete = event.reason
            found.append(incomplete)
            gaps = event.gaps
            if announced is not None:
                announced += event.missing
        if context is not None:
            result = PresentationContextResult.ACCEPTANCE
        elif negotiated is not None:
            # the AC did not accept this context: report it, and never guess a syntax
            where = event.offset
            abstract, result = self._unaccepted(assoc.record, event.context_id, where, found)
        elif event.dataset is not None:
            sniffed = sniff_transfer_syntax(event.dataset)
            if sniffed is not None:
                syntax, guessed = sniffed.transfer_syntax, sniffed.reason
                primitive.transfer_syntax = syntax
        request_frame, response_time = self._match(assoc, direction, primitive, frame, time_ns)
        assoc.last_frame = frame
        out.append(
            CapturedMessage(
                assoc.index,
                assoc.direction_of(direction),
                first_frame,
                frame,
                time_ns,
                event.context_id,
                abstract,
                syntax,
                guessed,
                primitive,
                event.command_set,
                event.dataset,
                tuple(found),
                request_frame,
                response_time,
                result,
                first_time_ns,
                stalls,
                incomplete,
                gaps,
                announced,
            )
        )
        if incomplete is None:
            # an incomplete message may be delivered late (when its stream closes, after the
            # association ended): its PDUs are not followed through the state machine, as before
            out += self._follow(assoc, direction, None, frame, time_ns, event.offset)
        return out

    def _answered(
        self, conn: _Conn, direction: Direction, primitive: DIMSEPrimitive
    ) -> list[CaptureRecord]:
        """A response came: its request, if still in flight with bytes lost to a gap, will
        never finish; it is reported now (before its response, which then matches it)."""
        spec = primitive.message_spec
        answered = getattr(primitive, "MessageIDBeingRespondedTo", None)
        other = conn.halves.get(direction.other)
        if spec is None or spec.is_request or not isinstance(answered, int) or other is None:
            return []
        decoder, context_id = other.decoder, primitive.context_id
        if decoder is None or context_id is None:
            return []
        events = decoder.answered(context_id, answered)
        return self._events(conn, direction.other, other, events) if events else []

    def _unaccepted(
        self, record: AssociationRecord, context_id: int, offset: int, sink: list[Diagnostic]
    ) -> tuple[str | None, PresentationContextResult | int | None]:
        """Report a message on a context the A-ASSOCIATE-AC did not accept (PS3.8 9.3.5: a
        P-DATA-TF names an accepted context); return the proposed abstract syntax and result."""
        rejected = record.rejected_contexts.get(context_id)
        proposed = () if record.request is None else record.request.presentation_contexts
        abstract = next(
            (c.abstract_syntax for c in proposed if c.presentation_context_id == context_id),
            None,
        )
        result = None if rejected is None else rejected.result
        if result is not None:
            name = getattr(result, "name", "unknown").lower().replace("_", "-")
            how = f"the A-ASSOCIATE-AC rejected with result {int(result)} ({name})"
        elif abstract is not None:
            how = "the A-ASSOCIATE-AC did not accept (no answer, or no transfer syntax)"
        else:
            how = "the A-ASSOCIATE-RQ never proposed"
        which = f"context {context_id}" + ("" if abstract is None else f" ({abstract})")
        self.policy.report(
            sink,
            DiagnosticCode.CONTEXT_NOT_ACCEPTED,
            f"a message on {which}, which {how}; its data set is kept as bytes, in no "
            "transfer syntax",
            offset,
            f"message on context {context_id}",
        )
        return abstract, result

    def _match(
        self,
        assoc: _Assoc,
        direction: Direction,
        primitive: DIMSEPrimitive,
        frame: int,
        time_ns: int | None,
    ) -> tuple[int | None, int | None]:
        """Link a response (or C-CANCEL) to its request; remember requests for later."""
        spec = primitive.message_spec
        if spec is None:
            return None, None
        if spec.is_request and spec.name != "C-CANCEL-RQ":
            message_id = getattr(primitive, "MessageID", None)
            if isinstance(message_id, int):
                assoc.requests[(direction, message_id)] = (frame, time_ns)
            return None, None
        answered = getattr(primitive, "MessageIDBeingRespondedTo", None)
        if not isinstance(answered, int):
            return None, None
        key = (direction.other, answered)
        if spec.name == "C-CANCEL-RQ":
            key = (direction, answered)
            found = assoc.requests.get(key)
            return (None, None) if found is None else (found[0], None)
        found = assoc.requests.get(key)
        if found is None:
            return None, None
        status = getattr(primitive, "Status", None)
        if status not in _PENDING:
            del assoc.requests[key]
        request_frame, request_time = found
        elapsed = None if time_ns is None or request_time is None else time_ns - request_time
        return request_frame, elapsed


def _find_header(data: bytearray) -> int | None:
    """Where the first plausible PDU header starts in ``data``, if any.

    Candidates (a type byte 01H-07H followed by a zero reserved byte) are found by the regular
    expression engine, so a resynchronisation inside megabytes of pixel data stays fast.
    """
    for match in _CANDIDATE.finditer(data):
        if _plausible_pdu(data, match.start()) is not None:
            return match.start()
    return None


def _two_headers(data: bytes | bytearray) -> bool:
    """Whether two plausible PDU headers follow each other (a mid-stream DICOM connection)."""
    for match in _CANDIDATE.finditer(data):
        pos = match.start()
        length = _plausible_pdu(data, pos)
        if length is not None and _plausible_pdu(data, pos + 6 + length) is not None:
            return True
    return False


def decode_capture(
    source: CaptureSources,
    *,
    port: int | None = None,
    policy: Policy = LENIENT,
    on_frame: Callable[[int], object] | None = None,
    on_progress: Callable[[int, int, int | None], object] | None = None,
    skip_unsupported_link_types: bool = True,
    idle_timeout: float | None = IDLE_TIMEOUT,
    max_connections: int | None = MAX_CONNECTIONS,
    stall_threshold_ns: int | None = DEFAULT_STALL_THRESHOLD_NS,
    shard: ShardFilter | None = None,
    traffic: TrafficSeen | None = None,
) -> Iterator[CaptureRecord]:
    """Read a pcap/pcapng capture and yield its DICOM records in order (the I/O edge).

    A file cut mid-record ends with a :class:`CaptureProblem` (STREAM_TRUNCATED) after the
    records of its intact packets, so a truncated capture is never mistaken for a whole one.
    Every note of the reader (a frame it could not read down to TCP, IP fragments it could not
    reassemble, a packet on an undescribed interface...) is a :class:`CaptureProblem` too, as
    soon as the next packet comes; past ``policy.limits.max_diagnostics`` notes of one kind,
    one last record counts the rest. ``on_frame`` is called with each packet's frame number.
    ``on_progress`` (for a progress display) is called every :data:`PROGRESS_FRAMES` frames
    or so with the frame number, the bytes of the capture read so far and their total (None
    when unknown: a pipe); see :meth:`~dimse_codec.pcap.CaptureReader.position`.

    Several sources (a list or tuple of paths, files or bytes) are decoded as one capture, their
    packets merged in time order (see :class:`~dimse_codec.pcap.CaptureReader`): the rotated
    files of one recording give the records of the whole, a connection continuing across files.
    Gzip-compressed captures are decompressed as they are read.

    Packets of a link type that is not decoded down to IP (an 802.11 interface next to an
    Ethernet one) are skipped: once the file is read, each such interface is one
    UNSUPPORTED_LINK_TYPE problem whose ``count`` is its packets. A capture none of whose
    interfaces can be decoded raises :class:`~dimse_codec.pcap.errors.UnsupportedLinkType`
    (a pcap file at once, a pcapng file once read); so does the first such packet with
    ``skip_unsupported_link_types=False``. ``stall_threshold_ns`` is the
    :class:`CaptureDecoder`'s.

    ``idle_timeout`` (seconds of capture time) and ``max_connections`` bound the connections
    followed at once (see :class:`~dimse_codec.pcap.TcpReassembler`; ``None``: no bound): an
    evicted connection ends its association with an ``evicted`` event and is a
    CONNECTION_EVICTED problem (unless it was known not to be DICOM).

    ``traffic``, when given, is filled with the counts of what the capture held (frames, TCP
    packets and connections, those not DICOM and their ports) once it is read: what a caller
    says when no association was found.

    With ``shard``, only that shard's connections are decoded (the others' packets are skipped,
    most before they are parsed), and only shard 0 reports the reader's notes, truncated files
    and skipped interfaces: the records of all shards together are those of the whole capture.
    """
    reassembler = TcpReassembler(idle_timeout=idle_timeout, max_connections=max_connections)
    decoder = CaptureDecoder(
        port=port, policy=policy, stall_threshold_ns=stall_threshold_ns, traffic=traffic
    )
    cap = decoder._cap
    taken: dict[NoteKind, int] = {}
    per_interface = NoteKind.UNSUPPORTED_LINK_TYPE  # reported from reader.unsupported instead
    reports = shard is None or shard.reports_capture
    prefilter = None if shard is None else shard.accepts

    def problems(notes: list[CaptureNote]) -> Iterator[CaptureProblem]:
        for note in notes:
            taken[note.kind] = taken.get(note.kind, 0) + 1
            if note.kind is not per_interface and cap.admit(_NOTE_CODES[note.kind]):
                yield _note_problem(note)

    with CaptureReader(
        source, skip_unsupported_link_types=skip_unsupported_link_types, prefilter=prefilter
    ) as reader:
        if skip_unsupported_link_types and (error := reader.link_type_error()) is not None:
            raise error
        last = 0
        feed, decode = reassembler.feed_fields, decoder.feed
        tell, tell_at = on_progress, PROGRESS_FRAMES if on_progress is not None else _NEVER
        for fields in reader.packet_fields():
            last = fields[0]
            if on_frame is not None:
                on_frame(last)
            if last >= tell_at and tell is not None:  # one comparison per packet, no more
                tell_at = last + PROGRESS_FRAMES
                tell(last, *reader.position())
            if reader.notes and reports:
                yield from problems(reader.take_notes())
            if shard is not None and not shard.keeps(fields[3], fields[4], fields[5], fields[6]):
                continue
            for event in feed(*fields):
                yield from decode(event)
        if reports:
            yield from problems(reader.take_notes())
        for kind, seen in reader.note_counts.items() if reports else ():
            if kind is not per_interface:
                cap.count(_NOTE_CODES[kind], seen - taken.get(kind, 0))
        if skip_unsupported_link_types and (error := reader.link_type_error()) is not None:
            raise error
        skipped_interfaces = reader.unsupported.values() if reports else ()
        last = max([last, *(skipped.last_frame for skipped in skipped_interfaces)])
        for skipped in skipped_interfaces:
            if cap.admit(DiagnosticCode.UNSUPPORTED_LINK_TYPE):
                interface = reader.interfaces[skipped.interface]
                yield _skipped_interface(skipped, interface, max(last, decoder._now))
            else:
                cap.count(DiagnosticCode.UNSUPPORTED_LINK_TYPE, skipped.packets - 1)
        truncations = reader.truncations if reports else []
        stats = reader.stats
    for event in reassembler.finish():
        yield from decoder.feed(event)
    yield from decoder.finish()
    counted = decoder.traffic
    counted.frames, counted.tcp_packets = stats.frames, stats.tcp_packets
    counted.not_tcp, counted.not_ip = stats.not_tcp, stats.not_ip
    for truncation in truncations:
        diagnostic = Diagnostic(
            DiagnosticCode.STREAM_TRUNCATED, truncation.message, truncation.offset, "capture"
        )
        yield CaptureProblem(None, DicomDirection.UNKNOWN, None, diagnostic)
