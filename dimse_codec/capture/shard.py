"""Which shard a TCP connection belongs to, so that N processes can decode one capture.

Scale-out is by connection, never by file offset (as a Zeek cluster balances flows): every
process reads every packet and keeps only its own connections'. The shard of a connection is a
hash of its two endpoints, the smaller ``(address, port)`` first so that both directions land in
the same shard: ``zlib.crc32(first + second) % count``, each endpoint its packed address (4
bytes for IPv4, 16 for IPv6) followed by its port as two big-endian bytes. CRC-32 is the same
in every process and on every machine (Python's ``hash()`` is salted per process).

Rejecting another shard's packet must cost little, since each process sees all of them:
:meth:`ShardFilter.accepts` reads the 4-tuple at fixed offsets of the raw frame for the common
link layers (Ethernet, Linux cooked v1 and v2, BSD loopback, raw IP) and IPv4/IPv6 without
extension headers, before the frame is parsed. Whatever it cannot place so cheaply (VLAN tags,
IPv6 extension headers, and IP fragments, whose later fragments carry no ports) it lets
through, and :meth:`ShardFilter.keeps` decides on the parsed packet, after IP reassembly.
Sans-I/O: bytes in, a verdict out.
"""

from __future__ import annotations

from zlib import crc32

from dimse_codec.errors import InvalidParameter

__all__ = ["ShardFilter", "connection_shard", "endpoint_key"]

_ETHERNET, _NULL, _LOOP, _SLL, _SLL2 = 1, 0, 108, 113, 276
_RAW = frozenset({12, 14, 101})
_IPV4, _IPV6 = 228, 229
_AF_INET6 = frozenset({10, 24, 28, 30})  # Linux, the BSDs, macOS


def endpoint_key(first: bytes, second: bytes) -> bytes:
    """The bytes hashed for a connection: its two packed endpoints, the smaller first."""
    return first + second if first <= second else second + first


def connection_shard(src: bytes, src_port: int, dst: bytes, dst_port: int, count: int) -> int:
    """The shard (``0 .. count - 1``) of the connection between two endpoints, either way round."""
    key = endpoint_key(src + src_port.to_bytes(2, "big"), dst + dst_port.to_bytes(2, "big"))
    return crc32(key) % count


_REMEMBERED = 1 << 16
"""Verdicts a filter remembers (per 4-tuple, so a connection's packets are placed by one dict
lookup after its first); past this many it forgets them all and starts again."""


def _verdict(four: bytes) -> int:
    """The CRC-32 of a connection from ``src + dst + src_port + dst_port`` (packed bytes)."""
    size = (len(four) - 4) // 2
    first = four[:size] + four[2 * size : 2 * size + 2]
    second = four[size : 2 * size] + four[2 * size + 2 :]
    return crc32(first + second if first <= second else second + first)


class ShardFilter:
    """Shard ``index`` of ``count``: the connections one process of ``count`` decodes.

    Shard 0 also reports what belongs to no connection (notes of the reader, truncated files,
    skipped interfaces), so that ``count`` processes report each of those once. A filter
    remembers the verdicts of recent 4-tuples (at most :data:`_REMEMBERED`), so it is one per
    reader.
    """

    __slots__ = ("_raw", "_tuples", "count", "index")

    def __init__(self, index: int, count: int) -> None:
        if not 0 <= index < count:
            raise InvalidParameter(f"shard {index} of {count}: want 0 <= index < count")
        self.index = index
        self.count = count
        self._raw: dict[bytes, bool] = {}
        self._tuples: dict[tuple[bytes, int, bytes, int], bool] = {}

    def __repr__(self) -> str:
        return f"ShardFilter(index={self.index}, count={self.count})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ShardFilter):
            return NotImplemented
        return (self.index, self.count) == (other.index, other.count)

    def __hash__(self) -> int:
        return hash((self.index, self.count))

    def __reduce__(self) -> tuple[type[ShardFilter], tuple[int, int]]:
        return ShardFilter, (self.index, self.count)  # pickled without what it remembers

    @property
    def reports_capture(self) -> bool:
        """Whether this shard reports what belongs to no connection (shard 0 does)."""
        return self.index == 0

    def keeps(self, src: bytes, src_port: int, dst: bytes, dst_port: int) -> bool:
        """Whether a parsed (and IP-reassembled) packet's connection, given by its 4-tuple, is
        this shard's."""
        four = (src, src_port, dst, dst_port)
        found = self._tuples.get(four)
        if found is None:
            if len(self._tuples) >= _REMEMBERED:
                self._tuples.clear()
            shard = connection_shard(*four, self.count)
            found = self._tuples[four] = shard == self.index
        return found

    def accepts(self, link_type: int, data: memoryview) -> bool:
        """Whether a raw frame may be this shard's: False only when its 4-tuple, read at fixed
        offsets, is another shard's; True for this shard's and for whatever it cannot place."""
        try:
            if link_type == _ETHERNET:
                kind, start = (data[12] << 8) | data[13], 14
            elif link_type == _SLL:
                kind, start = (data[14] << 8) | data[15], 16
            elif link_type == _SLL2:
                kind, start = (data[0] << 8) | data[1], 20
            elif link_type in (_NULL, _LOOP):
                family = data[0] or data[3]  # one of them is 0: either byte order
                kind, start = 0x0800 if family == 2 else 0x86DD if family in _AF_INET6 else 0, 4
            elif link_type in _RAW:
                kind, start = 0x0800 if data[0] >> 4 == 4 else 0x86DD, 0
            elif link_type == _IPV4:
                kind, start = 0x0800, 0
            elif link_type == _IPV6:
                kind, start = 0x86DD, 0
            else:
                return True
            if kind == 0x0800:
                head = data[start]
                fragment = data[start + 6] & 0x3F or data[start + 7]
                if head >> 4 != 4 or data[start + 9] != 6 or fragment:
                    return True  # not TCP over IPv4, or a fragment: the parsed packet decides
                if head == 0x45:  # no options: addresses and ports are 12 bytes in a row
                    four = data[start + 12 : start + 24].tobytes()
                else:
                    tcp = start + (head & 0x0F) * 4
                    four = data[start + 12 : start + 20].tobytes() + data[tcp : tcp + 4].tobytes()
                length = 12
            elif kind == 0x86DD:
                if data[start] >> 4 != 6 or data[start + 6] != 6:
                    return True  # an extension header (a fragment header too) comes first
                four, length = data[start + 8 : start + 44].tobytes(), 36
            else:
                return True
        except IndexError:  # shorter than its headers: the parser reports it
            return True
        if len(four) < length:
            return True  # cut inside the ports: the parser reports it
        found = self._raw.get(four)
        if found is None:
            if len(self._raw) >= _REMEMBERED:
                self._raw.clear()
            found = self._raw[four] = _verdict(four) % self.count == self.index
        return found
