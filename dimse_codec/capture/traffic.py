"""What a capture held besides DICOM: packets and TCP connections counted, in bounded memory.

A decode that finds no association should say why (no TCP at all, TCP that never looked like
DICOM, or nothing on the port asked for) and which port to try; :class:`TrafficSeen` keeps the
counts that answer it. The decoder adds each TCP connection once, when it decides whether the
connection carries DICOM; the reader's statistics give the packet counts at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dimse_codec.pcap.tcp import Connection

__all__ = ["MAX_PORTS", "PortCounter", "TrafficSeen", "server_port"]

MAX_PORTS = 256
"""Distinct server ports counted at most: past them, the least busy are forgotten."""


class PortCounter:
    """Connections per server port, for at most ``limit`` ports (a Misra-Gries summary).

    When a new port comes and the counter is full, every count goes down by one and the ports
    at zero are forgotten: a port that took more than one connection in ``limit`` is always
    kept, and a count is then a lower bound (:attr:`exact` says whether one was ever lowered).
    A scan of every port therefore costs ``limit`` entries, not 65,535.
    """

    def __init__(self, limit: int = MAX_PORTS) -> None:
        self.limit = limit
        self.counts: dict[int, int] = {}
        self.exact = True
        """False once counts were lowered to make room (they are then at least these)."""

    def add(self, port: int) -> None:
        """Count one connection to ``port``."""
        counts = self.counts
        if port in counts or len(counts) < self.limit:
            counts[port] = counts.get(port, 0) + 1
            return
        self.exact = False
        for known in list(counts):
            if counts[known] == 1:
                del counts[known]
            else:
                counts[known] -= 1

    def busiest(self, count: int = 3) -> list[tuple[int, int]]:
        """The ``count`` ports with the most connections, as (port, connections), busiest
        first (the lower port first among equals)."""
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:count]


def server_port(connection: Connection) -> int:
    """The port a connection was opened to: the SYN's target when the handshake was seen, else
    the lower of its two ports (a client's port is usually the higher, ephemeral one)."""
    first, second = connection.endpoints
    if connection.initiator_known:
        return second.port
    return min(first.port, second.port)


@dataclass(slots=True)
class TrafficSeen:
    """Counts of a capture's traffic (complete once it is read): frames by kind, TCP
    connections and whether they were taken as DICOM, and the server ports of the others."""

    frames: int = 0
    tcp_packets: int = 0
    not_tcp: int = 0
    """IP packets of another protocol (UDP, ICMP...)."""
    not_ip: int = 0
    """Frames that are not IP (ARP, LLDP...)."""
    connections: int = 0
    """TCP connections seen."""
    dicom_connections: int = 0
    """Of them, those taken as DICOM (by their first bytes, or by the port given)."""
    port: int | None = None
    """The port the decoder was told carries DICOM (``--port``), if any."""
    port_connections: int = 0
    """TCP connections to or from :attr:`port`."""
    other_ports: PortCounter = field(default_factory=PortCounter)
    """Server ports of the connections not taken as DICOM."""
    all_ports: PortCounter = field(default_factory=PortCounter)
    """Server ports of every connection (what saw traffic, when the port given saw none)."""

    def connection(self, connection: Connection, dicom: bool) -> None:
        """Count one TCP connection, decided to carry DICOM or not."""
        self.connections += 1
        port = server_port(connection)
        self.all_ports.add(port)
        if self.port is not None and any(e.port == self.port for e in connection.endpoints):
            self.port_connections += 1
        if dicom:
            self.dicom_connections += 1
        else:
            self.other_ports.add(port)
