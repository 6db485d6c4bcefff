"""IP fragment reassembly for captures: IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5), bounded.

A :class:`FragmentReassembler` takes the :class:`~dimse_codec.pcap.packets.Fragment` values the
frame decoders return, in capture order, and gives back each datagram once its fragments are
all there, rebuilt as one unfragmented IP packet (a fresh header, then the payload) that the
ordinary decoders read down to TCP. What cannot be reassembled is never dropped in silence:
overlapping fragments (RFC 5722 tells IPv6 receivers to drop the datagram; so does this one, for
both versions), a datagram beyond 65535 bytes or :attr:`max_fragments` pieces, a fragment cut by
the snap length, a datagram still incomplete after :attr:`timeout_frames` frames or
:attr:`timeout_ns` of capture time (never wall-clock time), one evicted because more than
:attr:`max_datagrams` were in flight, and those left incomplete at the end of the capture are
each reported once through the ``report`` callback.
Memory is bounded by ``max_datagrams`` × ``max_datagram`` bytes.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable

from dimse_codec.pcap.packets import Fragment, NoteKind

__all__ = ["FragmentReassembler", "Report"]

Report = Callable[[NoteKind, str, int, "int | None", int], None]
"""Called with (kind, message, first frame, its file offset, frames skipped) for each datagram
that could not be reassembled."""

_IPV4 = struct.Struct(">BBHHHBBH4s4s")
_IPV6 = struct.Struct(">IHBB16s16s")

_Key = tuple[int, bytes, bytes, int, int]  # version, src, dst, ident, protocol


class _Datagram:
    """The fragments of one datagram seen so far (or, once ``dead``, only their count)."""

    __slots__ = ("count", "dead", "first_frame", "first_offset", "pieces", "received", "starts",
                 "time_ns", "total")  # fmt: skip

    def __init__(self, frame: int, offset: int | None, time_ns: int | None) -> None:
        self.first_frame = frame
        self.first_offset = offset
        self.time_ns = time_ns
        self.starts: list[int] = []
        self.pieces: list[tuple[int, int, bytes]] = []  # (start, end, bytes), sorted, disjoint
        self.received = 0
        self.total: int | None = None  # known once the last fragment (more clear) arrived
        self.count = 0  # fragments seen
        self.dead = False  # reported: later fragments are counted, not kept


class FragmentReassembler:
    """Rebuilds fragmented IP datagrams, within bounds, reporting what it cannot rebuild.

    ``max_datagram`` bounds a datagram's payload in bytes, ``max_fragments`` its pieces,
    ``max_datagrams`` the datagrams waiting at once (past it the oldest is reported and
    dropped); ``timeout_frames`` and ``timeout_ns`` (capture time) how long one may wait.
    """

    def __init__(
        self,
        report: Report,
        *,
        max_datagram: int = 65535,
        max_fragments: int = 8192,
        max_datagrams: int = 256,
        timeout_frames: int = 100_000,
        timeout_ns: int = 60_000_000_000,
    ) -> None:
        self.report = report
        self.max_datagram = max_datagram
        self.max_fragments = max_fragments
        self.max_datagrams = max_datagrams
        self.timeout_frames = timeout_frames
        self.timeout_ns = timeout_ns
        self.reassembled = 0
        """Datagrams rebuilt."""
        self.late_fragments = 0
        """Fragments of a datagram already reported, skipped without another report."""
        self._waiting: dict[_Key, _Datagram] = {}  # in order of first fragment

    def add(
        self, fragment: Fragment, frame: int, time_ns: int | None, offset: int | None
    ) -> bytes | None:
        """Take one fragment; return the rebuilt IP packet when it completes its datagram."""
        self._expire(frame, time_ns)
        key = (fragment.version, fragment.src, fragment.dst, fragment.ident, fragment.protocol)
        datagram = self._waiting.get(key)
        if datagram is None:
            if len(self._waiting) >= self.max_datagrams:
                old_key = next(iter(self._waiting))
                self._drop(
                    old_key,
                    self._waiting.pop(old_key),
                    f"more than {self.max_datagrams} datagrams waited for fragments at once",
                )
            datagram = self._waiting[key] = _Datagram(frame, offset, time_ns)
        datagram.count += 1
        if datagram.dead:
            self.late_fragments += 1
            return None
        problem = self._place(datagram, fragment, frame)
        if problem is not None:
            kind, message = problem
            self._drop(key, datagram, message, kind, forget=False)
            return None
        if datagram.total is None or datagram.received != datagram.total:
            return None
        del self._waiting[key]
        self.reassembled += 1
        payload = b"".join(piece for _, _, piece in datagram.pieces)
        if fragment.version == 4:
            header = _IPV4.pack(
                0x45, 0, 20 + len(payload), fragment.ident & 0xFFFF, 0, 64, fragment.protocol, 0,
                fragment.src, fragment.dst,
            )  # fmt: skip
        else:
            header = _IPV6.pack(
                6 << 28, len(payload), fragment.protocol, 64, fragment.src, fragment.dst
            )
        return header + payload

    def finish(self) -> None:
        """End of capture: report every datagram still waiting for fragments."""
        for key, datagram in list(self._waiting.items()):
            self._drop(key, datagram, "the capture ended before its other fragments")

    # --- internals ---------------------------------------------------------------------------

    def _place(
        self, datagram: _Datagram, fragment: Fragment, frame: int
    ) -> tuple[NoteKind, str] | None:
        """Keep the fragment's bytes; the reason the datagram cannot be rebuilt, if any."""
        start = fragment.offset
        data = fragment.data
        end = start + len(data)
        if fragment.cut:
            return NoteKind.IP_FRAGMENT, f"the capture cut its fragment of frame {frame}"
        if end > self.max_datagram:
            return NoteKind.MALFORMED, f"its fragments reach byte {end}, past {self.max_datagram}"
        if datagram.count > self.max_fragments:
            return NoteKind.IP_FRAGMENT, f"more than {self.max_fragments} fragments"
        total = datagram.total
        if not fragment.more:
            if total is not None and total != end:
                return NoteKind.MALFORMED, f"two last fragments end at {total} and {end}"
            if datagram.pieces and datagram.pieces[-1][1] > end:
                return NoteKind.MALFORMED, f"bytes past its last fragment's end {end}"
            datagram.total = total = end
        elif total is not None and end > total:
            return NoteKind.MALFORMED, f"fragment of frame {frame} runs past the end {total}"
        starts, pieces = datagram.starts, datagram.pieces
        at = bisect_left(starts, start)
        if at < len(pieces) and pieces[at][:2] == (start, end) and pieces[at][2] == data:
            return None  # the same fragment again (a capture on two interfaces): ignored
        if (at > 0 and pieces[at - 1][1] > start) or (at < len(pieces) and pieces[at][0] < end):
            return NoteKind.FRAGMENT_OVERLAP, (
                f"fragment of frame {frame} (bytes {start}..{end}) overlaps another with "
                "different bytes"
            )
        if start == end:
            return None
        starts.insert(at, start)
        pieces.insert(at, (start, end, bytes(data)))
        datagram.received += end - start
        return None

    def _drop(
        self,
        key: _Key,
        datagram: _Datagram,
        why: str,
        kind: NoteKind = NoteKind.IP_FRAGMENT,
        *,
        forget: bool = True,
    ) -> None:
        """Report a datagram that will not be rebuilt; keep it (dead) to absorb its fragments
        unless ``forget``."""
        if not datagram.dead:
            version, _src, _dst, ident, _protocol = key
            self.report(
                kind,
                f"IPv{version} datagram id {ident} (from frame {datagram.first_frame}, "
                f"{datagram.count} fragment(s)) not reassembled: {why}",
                datagram.first_frame,
                datagram.first_offset,
                datagram.count,
            )
        datagram.dead = True
        datagram.pieces.clear()
        datagram.starts.clear()
        if forget:
            self._waiting.pop(key, None)

    def _expire(self, frame: int, time_ns: int | None) -> None:
        """Report the oldest datagrams that waited longer than the timeouts."""
        waiting = self._waiting
        while waiting:
            key = next(iter(waiting))
            datagram = waiting[key]
            old_frames = frame - datagram.first_frame > self.timeout_frames
            old_time = (
                time_ns is not None
                and datagram.time_ns is not None
                and time_ns - datagram.time_ns > self.timeout_ns
            )
            if not (old_frames or old_time):
                return
            del waiting[key]
            if not datagram.dead:
                self._drop(key, datagram, "its other fragments did not come in time")
