"""TCP reassembly per direction, sans-I/O: feed :class:`Packet` values in capture order, get events.

Each connection (keyed by its 4-tuple) has two directions, each with its own byte stream whose
offsets count from 0 at the first byte after the SYN (or, when the capture began after the SYN,
at the first byte seen, announced by a :class:`Gap` of unknown length at offset 0). Sequence
numbers are compared modulo 2**32, so wrap-around and streams beyond 4 GiB work.

- Bytes come out in order, once: a retransmission or an overlap keeps the bytes seen first, and
  a :class:`RetransmissionMismatch` says when the new copy differs from what was kept.
- Segments after a hole wait in a bounded buffer; the hole becomes a :class:`Gap` when the
  receiver acknowledges bytes the capture does not hold, when the buffer cap is reached, or when
  the connection ends (reset, capture end); then the bytes after it are delivered.
- SYN, FIN and RST drive the connection: :class:`ConnectionOpened`, :class:`StreamEnded` (a FIN
  reached in order), :class:`ConnectionClosed` (both FINs, a reset, or :meth:`finish`).
- A RST whose sequence number lies outside the window the stream expects does not close the
  connection (RFC 5961 section 3: a receiver drops it, so the connection goes on); it is
  reported as :class:`ResetIgnored` and the segment is dropped. Bytes sent after a reset
  closed the connection are dropped too, reported as :class:`LateSegment`.

Data is delivered as views of the packets' payloads (no copy); each :class:`StreamData` carries
the frame its bytes came from, so the layer above can name the frames of every message.
"""

from __future__ import annotations

import enum
import functools
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from dimse_codec.pcap.packets import Packet, TcpFlags

__all__ = [
    "CloseReason",
    "Connection",
    "ConnectionClosed",
    "ConnectionOpened",
    "Direction",
    "Endpoint",
    "Gap",
    "GapReason",
    "LateSegment",
    "ReassemblyStats",
    "ResetIgnored",
    "RetransmissionMismatch",
    "StreamData",
    "StreamEnded",
    "TcpEvent",
    "TcpReassembler",
]

IDLE_TIMEOUT = 300.0
"""Seconds of capture time without a packet after which an open connection is evicted."""
MAX_CONNECTIONS = 30_000
"""Open connections followed at once; past it the least recently active one is evicted."""
CLOSED_TIMEOUT = 120.0
"""Seconds of capture time a closed connection is remembered, so its late packets are known."""

_SYN_FIN_RST = 0x007  # FIN, SYN, RST: segments the fast path leaves to _segment
_MASK = 0xFFFFFFFF
_HALF = 1 << 31
_MAX_ACK_JUMP = 1 << 30
_SYN = int(TcpFlags.SYN)
_FIN = int(TcpFlags.FIN)
_RST = int(TcpFlags.RST)
_ACK = int(TcpFlags.ACK)


class Direction(enum.IntEnum):
    """Which way bytes flow: FORWARD is ``endpoints[0]`` to ``endpoints[1]`` of the connection."""

    FORWARD = 0
    REVERSE = 1

    @property
    def other(self) -> Direction:
        """The opposite direction."""
        return Direction.FORWARD if self else Direction.REVERSE


class GapReason(str, enum.Enum):
    """Why bytes of a stream are missing; each value is a stable code."""

    STREAM_START = "stream-start"  # the capture began after this direction's first bytes
    NOT_CAPTURED = "not-captured"  # the receiver acknowledged bytes the capture does not hold
    SNAPLEN = "snaplen"  # the capture's snap length cut the segment
    BUFFER_LIMIT = "buffer-limit"  # too many bytes waited behind the hole
    UNFILLED = "unfilled"  # still missing when the connection was reset or the capture ended


class CloseReason(str, enum.Enum):
    """How a connection ended; each value is a stable code."""

    FIN = "fin"  # both directions reached their FIN
    RST = "rst"  # either side reset it
    CAPTURE_END = "capture-end"  # still open when the capture ended (see TcpReassembler.finish)
    REUSED = "reused"  # a new SYN with another initial sequence number reused the 4-tuple
    IDLE = "idle"  # no packet for idle_timeout of capture time: evicted (see TcpReassembler)
    CONNECTION_LIMIT = "connection-limit"  # evicted, least recently active, past max_connections


@functools.lru_cache(maxsize=4096)
def _address_text(address: bytes) -> str:
    """A format for an address and a port: ``{}`` after an IPv4 address, brackets for IPv6."""
    ip = ip_address(address)
    return f"{ip}:{{}}" if ip.version == 4 else f"[{ip}]:{{}}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An IP address (packed, 4 or 16 bytes) and a TCP port."""

    address: bytes
    port: int

    @property
    def ip(self) -> IPv4Address | IPv6Address:
        """The address as an :mod:`ipaddress` object."""
        return ip_address(self.address)

    def __str__(self) -> str:
        return _address_text(self.address).format(self.port)


@dataclass(frozen=True, slots=True)
class Connection:
    """One TCP connection: its number in order of appearance (from 0) and its two endpoints.

    ``endpoints[0]`` sent the SYN when ``initiator_known`` (the handshake was seen); otherwise
    it sent the first packet seen, and which side opened the connection is unknown.
    """

    index: int
    endpoints: tuple[Endpoint, Endpoint]
    initiator_known: bool
    first_frame: int

    @property
    def initiator(self) -> Endpoint | None:
        """The side that sent the SYN, or ``None`` when the capture did not show it."""
        return self.endpoints[0] if self.initiator_known else None

    def sender(self, direction: Direction) -> Endpoint:
        """The endpoint that sends the bytes of ``direction``."""
        return self.endpoints[direction]

    def receiver(self, direction: Direction) -> Endpoint:
        """The endpoint that receives the bytes of ``direction``."""
        return self.endpoints[1 - direction]

    def __str__(self) -> str:
        return f"#{self.index} {self.endpoints[0]} -> {self.endpoints[1]}"


@dataclass(frozen=True, slots=True)
class ConnectionOpened:
    """A 4-tuple seen for the first time (or again after a close, with a new SYN)."""

    connection: Connection
    frame: int
    time_ns: int | None


@dataclass(frozen=True, slots=True)
class StreamData:
    """Bytes of one direction, in order, at ``offset`` in its stream (``data`` is a view)."""

    connection: Connection
    direction: Direction
    offset: int
    data: memoryview
    first_frame: int
    last_frame: int
    time_ns: int | None

    @property
    def end(self) -> int:
        """The stream offset just after these bytes."""
        return self.offset + len(self.data)

    @property
    def time(self) -> float | None:
        """Capture time of the frame, in seconds."""
        return None if self.time_ns is None else self.time_ns / 1e9


@dataclass(frozen=True, slots=True)
class Gap:
    """Bytes of one direction the capture does not have; the stream continues after them.

    ``length`` is ``None`` only for :attr:`GapReason.STREAM_START` (offset 0), where how many
    bytes came before the capture began is unknown. ``frame`` is the frame that revealed it.
    """

    connection: Connection
    direction: Direction
    offset: int
    length: int | None
    frame: int
    reason: GapReason


@dataclass(frozen=True, slots=True)
class RetransmissionMismatch:
    """A retransmitted or overlapping segment whose bytes differ from those kept (seen first)."""

    connection: Connection
    direction: Direction
    offset: int
    length: int
    frame: int
    original_frame: int


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """One direction reached its FIN in order: ``offset`` is the stream's length."""

    connection: Connection
    direction: Direction
    offset: int
    frame: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """A connection ended (both FINs, a reset, a reused 4-tuple, or the end of the capture)."""

    connection: Connection
    reason: CloseReason
    frame: int
    time_ns: int | None


@dataclass(frozen=True, slots=True)
class ResetIgnored:
    """A RST outside the window of its stream, dropped without closing (RFC 5961 section 3).

    ``distance`` is how far (in sequence numbers, modulo 2**32 and signed) the RST lies from
    the next byte the stream expects; a receiver would drop such a segment, so the connection
    and its later bytes go on.
    """

    connection: Connection
    direction: Direction
    frame: int
    time_ns: int | None
    distance: int


@dataclass(frozen=True, slots=True)
class LateSegment:
    """A segment with bytes for a connection a RST already closed: dropped, as its receiver
    does (RFC 9293 section 3.10.7.4); ``length`` is its payload length."""

    connection: Connection
    direction: Direction
    frame: int
    time_ns: int | None
    length: int


TcpEvent = (
    ConnectionOpened
    | StreamData
    | Gap
    | RetransmissionMismatch
    | StreamEnded
    | ConnectionClosed
    | ResetIgnored
    | LateSegment
)
"""Everything :meth:`TcpReassembler.feed` and :meth:`TcpReassembler.finish` return."""


@dataclass(slots=True)
class ReassemblyStats:
    """Counters of what the reassembler met, updated as it goes."""

    connections: int = 0
    delivered_bytes: int = 0
    duplicate_bytes: int = 0  # retransmitted or overlapping bytes dropped
    gaps: int = 0
    gap_bytes: int = 0  # known lengths only
    late_segments: int = 0  # segments for a closed connection (without SYN), dropped
    stale_fins: int = 0  # FINs below the bytes already in their stream, ignored
    ignored_resets: int = 0  # RSTs outside their stream's window, dropped (RFC 5961)
    evicted_idle: int = 0  # open connections closed as IDLE (no packet for idle_timeout)
    evicted_limit: int = 0  # open connections closed as CONNECTION_LIMIT (max_connections)


# a waiting piece: (start, end, data or None for bytes known to be missing, frame, time_ns)
_Piece = tuple[int, int, "memoryview | None", int, "int | None"]


class _Half:
    """One direction's stream state."""

    __slots__ = (
        "base_seq",
        "buffered",
        "ended",
        "fin_frame",
        "fin_offset",
        "history",
        "history_bytes",
        "next_offset",
        "pieces",
        "started",
        "starts",
        "syn_isn",
    )

    def __init__(self) -> None:
        self.started = False
        self.syn_isn: int | None = None
        self.base_seq = 0  # sequence number of stream offset 0
        self.next_offset = 0  # everything before it was delivered or declared missing
        self.starts: list[int] = []  # starts of the waiting pieces (for bisect)
        self.pieces: list[_Piece] = []  # waiting pieces, sorted, never overlapping
        self.buffered = 0  # bytes held by waiting pieces
        self.fin_offset: int | None = None
        self.fin_frame = 0
        self.ended = False
        self.history: deque[tuple[int, int, memoryview, int]] | None = None  # made on delivery
        self.history_bytes = 0

    def start(self, base_seq: int, syn_isn: int | None) -> None:
        self.started = True
        self.base_seq = base_seq
        self.syn_isn = syn_isn

    def offset_of(self, seq: int) -> int:
        """Stream offset of a sequence number, taken as the nearest one to ``next_offset``."""
        delta = (seq - self.base_seq - self.next_offset) & _MASK
        return self.next_offset + ((delta ^ _HALF) - _HALF)


class _Connection:
    __slots__ = ("closed", "halves", "keys", "last_time", "reason", "value")

    def __init__(self, value: Connection, keys: tuple[_Key, _Key], time_ns: int | None) -> None:
        self.value = value
        self.halves = (_Half(), _Half())
        self.closed = False
        self.reason: CloseReason | None = None
        self.keys = keys
        self.last_time = time_ns
        """Capture time of its last packet (open), or of its close (closed)."""


_Key = tuple[bytes, int, bytes, int]

_EVICTIONS = frozenset({CloseReason.IDLE, CloseReason.CONNECTION_LIMIT})

_CLOSED_HALVES = (_Half(), _Half())
"""The stream state of every closed connection: empty, shared (their own is released)."""


class TcpReassembler:
    """Rebuilds both byte streams of every TCP connection from packets fed in capture order.

    ``max_buffered_bytes`` bounds, per direction, the bytes waiting behind a hole (past it the
    hole is declared a :class:`Gap`); ``history_bytes`` bounds, per direction, the delivered
    bytes kept to compare retransmissions with; ``max_closed_connections`` bounds the closed
    connections remembered so that their late packets are not taken for new connections;
    ``reset_window`` is how far from the bytes a direction has sent a RST's sequence number may
    lie and still close the connection (a passive observer's stand-in for the receive window of
    RFC 5961 section 3; further away, the RST is reported and dropped).

    So that memory does not grow with the length of a capture, connections are forgotten in
    capture time (the packets' timestamps, never the clock): an open connection without a packet
    for ``idle_timeout`` seconds (idle, or half-open: a SYN never answered or never followed) is
    closed with :attr:`CloseReason.IDLE`; past ``max_connections`` open connections, the least
    recently active one is closed with :attr:`CloseReason.CONNECTION_LIMIT`; a closed connection
    is remembered (for its late packets) for ``closed_timeout`` seconds, and never more than
    ``max_closed_connections`` of them. ``None`` turns a timeout or a cap off.
    """

    def __init__(
        self,
        *,
        max_buffered_bytes: int = 16 << 20,
        history_bytes: int = 1 << 20,
        max_closed_connections: int = 65_536,
        reset_window: int = 1 << 24,
        idle_timeout: float | None = IDLE_TIMEOUT,
        max_connections: int | None = MAX_CONNECTIONS,
        closed_timeout: float | None = CLOSED_TIMEOUT,
    ) -> None:
        self.max_buffered_bytes = max_buffered_bytes
        self.reset_window = reset_window
        self.history_limit = history_bytes
        self.max_closed_connections = max_closed_connections
        self.max_connections = max_connections
        self._idle_ns = None if idle_timeout is None else int(idle_timeout * 1e9)
        self._closed_ns = None if closed_timeout is None else int(closed_timeout * 1e9)
        self.stats = ReassemblyStats()
        self._table: dict[_Key, tuple[_Connection, Direction]] = {}
        self._open: dict[int, _Connection] = {}  # least recently active first
        self._closed: deque[_Connection] = deque()
        self._next_index = 0
        self._last_frame = 0
        self._last_time: int | None = None
        self._now = 0  # the latest capture time seen (timestamps may step back)
        self._deadline = -1  # nothing can expire before this capture time

    # --- public ------------------------------------------------------------------------------

    def feed(self, packet: Packet) -> list[TcpEvent]:
        """Take the next packet of the capture; return the events it causes, in order."""
        return self.feed_fields(
            packet.frame, packet.time_ns, packet.interface, packet.src, packet.src_port,
            packet.dst, packet.dst_port, packet.seq, packet.ack, packet.flags, packet.payload,
            packet.payload_length,
        )  # fmt: skip

    def feed_fields(
        self,
        frame: int,
        time_ns: int | None,
        _interface: int,
        src: bytes,
        src_port: int,
        dst: bytes,
        dst_port: int,
        seq: int,
        ack: int,
        tcp_flags: TcpFlags,
        payload: memoryview,
        payload_length: int,
    ) -> list[TcpEvent]:
        """:meth:`feed` given a packet's fields in :class:`~dimse_codec.pcap.packets.Packet`
        order (as :meth:`CaptureReader.packet_fields` yields them), so a whole capture is
        reassembled without making a Packet object per frame."""
        events: list[TcpEvent] = []
        self._last_frame = frame
        self._last_time = time_ns
        if time_ns is not None and time_ns > self._now:
            self._now = time_ns
            if time_ns > self._deadline:
                self._expire(frame, events)
        flags = int(tcp_flags)
        key = (src, src_port, dst, dst_port)
        entry = self._table.get(key)
        if entry is not None:
            state, direction = entry
            if not state.closed:
                index = state.value.index
                opened = self._open
                opened[index] = opened.pop(index)  # now the most recently active
                if time_ns is not None:
                    state.last_time = time_ns
            if state.closed:
                if not flags & _SYN:
                    self.stats.late_segments += 1
                    if payload_length and state.reason is CloseReason.RST:
                        events.append(
                            LateSegment(state.value, direction, frame, time_ns, payload_length)
                        )
                    return events
                entry = None
            elif flags & (_SYN | _ACK) == _SYN:
                half = state.halves[direction]
                if (half.syn_isn is None and half.started) or (
                    half.syn_isn is not None and half.syn_isn != seq
                ):
                    self._close(state, CloseReason.REUSED, frame, time_ns, events)
                    entry = None
            elif not flags & _SYN_FIN_RST and self._in_order(
                state, direction, seq, ack, flags, payload, payload_length, frame, time_ns, events
            ):
                return events
        if entry is None:
            state, direction = self._new_connection(
                src, src_port, dst, dst_port, frame, time_ns, flags, key, events
            )
        self._segment(
            state, direction, flags, seq, ack, payload, payload_length, frame, time_ns, events
        )
        if self.max_connections is not None and len(self._open) > self.max_connections:
            oldest = next(iter(self._open.values()))
            self.stats.evicted_limit += 1
            self._close(oldest, CloseReason.CONNECTION_LIMIT, frame, time_ns, events)
        return events

    def _in_order(
        self,
        state: _Connection,
        direction: Direction,
        seq: int,
        ack: int,
        flags: int,
        payload: memoryview,
        length: int,
        frame: int,
        time_ns: int | None,
        events: list[TcpEvent],
    ) -> bool:
        """The common segment of an open connection, taken whole when it can be (the general
        :meth:`_segment` would do the same): neither SYN, FIN nor RST; its bytes, if any, all
        captured and next in a stream with nothing waiting; an ACK, if any, that acknowledges
        nothing beyond the peer's next byte. False (nothing done) for any other segment."""
        half = state.halves[direction]
        if length and (
            half.pieces
            or half.ended
            or not half.started
            or half.fin_offset is not None
            or len(payload) != length
            or (seq - half.base_seq - half.next_offset) & _MASK
        ):
            return False
        if flags & _ACK:
            peer = state.halves[1 - direction]
            if (
                peer.started
                and not peer.ended
                and 0 < (ack - peer.base_seq - peer.next_offset) & _MASK < _HALF
            ):
                return False
        if length:
            self._deliver(
                state, direction, half, half.next_offset, half.next_offset + length, payload,
                frame, time_ns, events,
            )  # fmt: skip
        return True

    def finish(self) -> list[TcpEvent]:
        """End of capture: declare the holes still open, deliver what waited behind them, and
        close every connection still open with :attr:`CloseReason.CAPTURE_END`."""
        events: list[TcpEvent] = []
        for index in sorted(self._open):
            self._close(
                self._open[index],
                CloseReason.CAPTURE_END,
                self._last_frame,
                self._last_time,
                events,
            )
        return events

    def _expire(self, frame: int, events: list[TcpEvent]) -> None:
        """Close the connections idle for ``idle_timeout`` and forget the closed ones past
        ``closed_timeout`` (capture time: ``self._now``)."""
        now = self._now
        if self._idle_ns is not None:
            opened = self._open
            while opened:
                oldest = next(iter(opened.values()))
                if oldest.last_time is None or now - oldest.last_time <= self._idle_ns:
                    break
                self.stats.evicted_idle += 1
                self._close(oldest, CloseReason.IDLE, frame, now, events)
        if self._closed_ns is not None:
            closed = self._closed
            while closed:
                last = closed[0].last_time
                if last is None or now - last <= self._closed_ns:
                    break
                self._forget(closed.popleft())
        # the oldest entries bound when the next one can expire (later ones only get older)
        deadline = 1 << 80
        if self._idle_ns is not None and self._open:
            last = next(iter(self._open.values())).last_time
            deadline = min(deadline, now if last is None else last + self._idle_ns)
        if self._closed_ns is not None and self._closed:
            last = self._closed[0].last_time
            deadline = min(deadline, now if last is None else last + self._closed_ns)
        self._deadline = deadline

    def _due(self, time_ns: int | None, timeout: int | None) -> None:
        """Something that expires ``timeout`` after ``time_ns`` was added: bring the deadline
        forward if needed."""
        if timeout is not None:
            due = self._now if time_ns is None else time_ns + timeout
            if due < self._deadline:
                self._deadline = due

    def _forget(self, old: _Connection) -> None:
        """Drop a closed connection: its later packets start a new one."""
        for key in old.keys:
            if self._table.get(key, (None,))[0] is old:
                del self._table[key]

    @property
    def open_connections(self) -> list[Connection]:
        """Connections not yet closed, in order of appearance."""
        return [self._open[index].value for index in sorted(self._open)]

    # --- connections -------------------------------------------------------------------------

    def _new_connection(
        self,
        src: bytes,
        src_port: int,
        dst: bytes,
        dst_port: int,
        frame: int,
        time_ns: int | None,
        flags: int,
        key: _Key,
        events: list[TcpEvent],
    ) -> tuple[_Connection, Direction]:
        source = Endpoint(src, src_port)
        destination = Endpoint(dst, dst_port)
        reverse: _Key = (dst, dst_port, src, src_port)
        if flags & (_SYN | _ACK) == _SYN | _ACK:  # a SYN-ACK: the receiver opened it
            endpoints, known, direction = (destination, source), True, Direction.REVERSE
        else:
            endpoints, known, direction = (
                (source, destination),
                bool(flags & _SYN),
                Direction.FORWARD,
            )
        value = Connection(self._next_index, endpoints, known, frame)
        state = _Connection(value, (key, reverse), time_ns)
        self._due(time_ns, self._idle_ns)
        self._next_index += 1
        self.stats.connections += 1
        self._open[value.index] = state
        self._table[key] = (state, direction)
        self._table[reverse] = (state, direction.other)
        events.append(ConnectionOpened(value, frame, time_ns))
        return state, direction

    def _close(
        self,
        state: _Connection,
        reason: CloseReason,
        frame: int,
        time_ns: int | None,
        events: list[TcpEvent],
    ) -> None:
        for direction in (Direction.FORWARD, Direction.REVERSE):
            self._flush(state, direction, frame, events)
        state.closed = True
        state.reason = reason
        state.halves = _CLOSED_HALVES  # a closed connection keeps no stream state
        if time_ns is not None:
            state.last_time = time_ns
        del self._open[state.value.index]
        if reason in _EVICTIONS:  # its later packets, if any, start a new connection
            self._forget(state)
        else:
            self._closed.append(state)
            self._due(state.last_time, self._closed_ns)
            while len(self._closed) > self.max_closed_connections:
                self._forget(self._closed.popleft())
        events.append(ConnectionClosed(state.value, reason, frame, time_ns))

    # --- segments ----------------------------------------------------------------------------

    def _segment(
        self,
        state: _Connection,
        direction: Direction,
        flags: int,
        seq: int,
        ack: int,
        payload: memoryview,
        length: int,
        frame: int,
        time_ns: int | None,
        events: list[TcpEvent],
    ) -> None:
        half = state.halves[direction]
        if flags & _RST and half.started:
            distance = self._reset_distance(half, seq)
            if distance:
                self.stats.ignored_resets += 1
                events.append(ResetIgnored(state.value, direction, frame, time_ns, distance))
                return
        if flags & _SYN:
            if not half.started:
                half.start((seq + 1) & _MASK, seq)
            seq = (seq + 1) & _MASK  # the SYN takes one sequence number before any data
        fin = flags & _FIN
        if (length or fin) and not half.ended:
            if not half.started:
                half.start(seq, None)
                self._gap(state, direction, 0, None, frame, GapReason.STREAM_START, events)
            offset = half.offset_of(seq)
            if length:
                captured = len(payload)
                if captured > length:
                    captured = length
                    payload = payload[:length]
                end = offset + captured
                self._insert(state, direction, half, offset, end, payload, frame, time_ns, events)
                if captured < length:
                    self._insert(
                        state, direction, half, end, offset + length, None, frame,
                        time_ns, events,
                    )  # fmt: skip
            if fin and half.fin_offset is None and offset + length < half.next_offset:
                # a FIN below bytes the stream already holds (or before its SYN) cannot end it
                self.stats.stale_fins += 1
            elif fin and half.fin_offset is None:
                half.fin_offset = offset + length
                half.fin_frame = frame
                # anything already waiting beyond the FIN will never be part of the stream
                while half.pieces and half.pieces[-1][1] > half.fin_offset:
                    self._trim_last(half, half.fin_offset)
            self._advance(state, direction, half, frame, events)
        if flags & _ACK:
            peer = state.halves[1 - direction]
            if peer.started and not peer.ended:
                self._acknowledged(state, direction.other, peer, ack, frame, events)
        if state.halves[0].ended and state.halves[1].ended:
            self._close(state, CloseReason.FIN, frame, time_ns, events)
        elif flags & _RST:
            self._close(state, CloseReason.RST, frame, time_ns, events)

    def _reset_distance(self, half: _Half, seq: int) -> int:
        """0 when a RST's ``seq`` lies in the window of ``half`` (from ``reset_window`` before
        the next expected byte to ``reset_window`` past the last byte seen), else how far from
        the next expected byte it lies (signed, never 0)."""
        offset = half.offset_of(seq)
        distance = offset - half.next_offset
        highest = half.pieces[-1][1] if half.pieces else half.next_offset
        if -self.reset_window <= distance and offset <= highest + self.reset_window:
            return 0
        return distance

    def _trim_last(self, half: _Half, limit: int) -> None:
        start, end, data, frame, time_ns = half.pieces[-1]
        if data is not None:
            half.buffered -= end - max(start, limit)
        if start >= limit:
            half.pieces.pop()
            half.starts.pop()
        else:
            kept = None if data is None else data[: limit - start]
            half.pieces[-1] = (start, limit, kept, frame, time_ns)

    def _insert(
        self,
        state: _Connection,
        direction: Direction,
        half: _Half,
        start: int,
        end: int,
        data: memoryview | None,
        frame: int,
        time_ns: int | None,
        events: list[TcpEvent],
    ) -> None:
        """Take the bytes [start, end) (or their absence, when ``data`` is None): drop what was
        delivered or is already waiting (comparing the bytes), keep the rest waiting."""
        if start >= end:
            return
        fin = half.fin_offset
        if fin is not None and end > fin:
            if start >= fin:
                return
            if data is not None:
                data = data[: fin - start]
            end = fin
        next_offset = half.next_offset
        if start < next_offset:
            old_end = min(end, next_offset)
            self.stats.duplicate_bytes += old_end - start
            if data is not None:
                self._compare_delivered(state, direction, half, start, old_end, data, frame, events)
            if end <= next_offset:
                return
            if data is not None:
                data = data[next_offset - start :]
            start = next_offset
        pieces = half.pieces
        if not pieces:
            if start == next_offset and data is not None:
                self._deliver(state, direction, half, start, end, data, frame, time_ns, events)
                return
            half.starts.append(start)
            pieces.append((start, end, data, frame, time_ns))
            if data is not None:
                half.buffered += end - start
            return
        starts = half.starts
        index = bisect_right(starts, start) - 1
        if index < 0 or pieces[index][1] <= start:
            index += 1
        cursor = start
        fresh: list[tuple[int, int]] = []
        while index < len(pieces) and cursor < end:
            p_start, p_end, p_data, p_frame, _p_time = pieces[index]
            if p_start >= end:
                break
            if p_start > cursor:
                fresh.append((cursor, p_start))
            low, high = max(cursor, p_start), min(end, p_end)
            if low < high:
                self.stats.duplicate_bytes += high - low
                if (
                    data is not None
                    and p_data is not None
                    and data[low - start : high - start] != p_data[low - p_start : high - p_start]
                ):
                    events.append(
                        RetransmissionMismatch(
                            state.value, direction, low, high - low, frame, p_frame
                        )
                    )
            cursor = max(cursor, p_end)
            index += 1
        if cursor < end:
            fresh.append((cursor, end))
        for low, high in fresh:
            at = bisect_left(starts, low)
            starts.insert(at, low)
            pieces.insert(
                at, (low, high, None if data is None else data[low - start : high - start],
                     frame, time_ns),
            )  # fmt: skip
            if data is not None:
                half.buffered += high - low

    def _compare_delivered(
        self,
        state: _Connection,
        direction: Direction,
        half: _Half,
        start: int,
        stop: int,
        data: memoryview,
        frame: int,
        events: list[TcpEvent],
    ) -> None:
        """Compare old bytes [start, stop) (``data`` begins at ``start``) with the history."""
        if stop - start <= 1 and stop == half.next_offset:
            return  # a keep-alive probe repeats the last byte with any value
        for h_start, h_end, h_data, h_frame in reversed(half.history or ()):
            if h_end <= start:
                break
            if h_start >= stop:
                continue
            low, high = max(start, h_start), min(stop, h_end)
            if data[low - start : high - start] != h_data[low - h_start : high - h_start]:
                events.append(
                    RetransmissionMismatch(state.value, direction, low, high - low, frame, h_frame)
                )

    def _deliver(
        self,
        state: _Connection,
        direction: Direction,
        half: _Half,
        start: int,
        end: int,
        data: memoryview,
        frame: int,
        time_ns: int | None,
        events: list[TcpEvent],
    ) -> None:
        events.append(StreamData(state.value, direction, start, data, frame, frame, time_ns))
        half.next_offset = end
        self.stats.delivered_bytes += end - start
        history = half.history
        if history is None:
            history = half.history = deque()
        history.append((start, end, data, frame))
        half.history_bytes += end - start
        while half.history_bytes > self.history_limit and len(history) > 1:
            old_start, old_end, _data, _frame = history.popleft()
            half.history_bytes -= old_end - old_start

    def _gap(
        self,
        state: _Connection,
        direction: Direction,
        offset: int,
        length: int | None,
        frame: int,
        reason: GapReason,
        events: list[TcpEvent],
    ) -> None:
        self.stats.gaps += 1
        self.stats.gap_bytes += length or 0
        events.append(Gap(state.value, direction, offset, length, frame, reason))

    def _advance(
        self,
        state: _Connection,
        direction: Direction,
        half: _Half,
        frame: int,
        events: list[TcpEvent],
    ) -> None:
        """Deliver waiting pieces that now follow on; past the buffer cap, declare the first
        hole missing; report the FIN once the stream reaches it."""
        pieces = half.pieces
        while pieces:
            count = 0
            for start, end, data, p_frame, time_ns in pieces:
                if start != half.next_offset:
                    break
                count += 1
                if data is None:
                    half.next_offset = end
                    self._gap(
                        state, direction, start, end - start, p_frame, GapReason.SNAPLEN, events
                    )
                else:
                    half.buffered -= end - start
                    self._deliver(
                        state, direction, half, start, end, data, p_frame, time_ns, events
                    )
            if count:
                del pieces[:count]
                del half.starts[:count]
            if not pieces or half.buffered <= self.max_buffered_bytes:
                break
            hole = pieces[0][0] - half.next_offset
            self._gap(
                state, direction, half.next_offset, hole, frame, GapReason.BUFFER_LIMIT, events
            )
            half.next_offset = pieces[0][0]
        if half.fin_offset is not None and half.next_offset >= half.fin_offset and not half.ended:
            half.ended = True
            events.append(StreamEnded(state.value, direction, half.fin_offset, half.fin_frame))

    def _acknowledged(
        self,
        state: _Connection,
        direction: Direction,
        half: _Half,
        ack: int,
        frame: int,
        events: list[TcpEvent],
    ) -> None:
        """The receiver of ``direction`` has every byte before ``ack``: what the capture lacks
        there was lost by the capture, not by the network, and will never be retransmitted."""
        target = half.offset_of(ack)
        if half.fin_offset is not None and target > half.fin_offset:
            target = half.fin_offset  # the FIN's own sequence number
        if target - half.next_offset > _MAX_ACK_JUMP:
            return
        while half.next_offset < target and not half.ended:
            stop = target
            if half.pieces and half.pieces[0][0] < stop:
                stop = half.pieces[0][0]
            if stop > half.next_offset:
                self._gap(
                    state,
                    direction,
                    half.next_offset,
                    stop - half.next_offset,
                    frame,
                    GapReason.NOT_CAPTURED,
                    events,
                )
                half.next_offset = stop
            self._advance(state, direction, half, frame, events)

    def _flush(
        self, state: _Connection, direction: Direction, frame: int, events: list[TcpEvent]
    ) -> None:
        """Declare every remaining hole missing and deliver what waited behind it."""
        half = state.halves[direction]
        if not half.started or half.ended:
            return
        while half.pieces:
            hole = half.pieces[0][0] - half.next_offset
            if hole > 0:
                self._gap(
                    state, direction, half.next_offset, hole, frame, GapReason.UNFILLED, events
                )
            half.next_offset = half.pieces[0][0]
            self._advance(state, direction, half, frame, events)
        if half.fin_offset is not None and half.next_offset < half.fin_offset:
            self._gap(
                state,
                direction,
                half.next_offset,
                half.fin_offset - half.next_offset,
                frame,
                GapReason.UNFILLED,
                events,
            )
            half.next_offset = half.fin_offset
            self._advance(state, direction, half, frame, events)
