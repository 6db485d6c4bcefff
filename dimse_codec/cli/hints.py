"""What ``decode`` and ``report`` say when a capture gave no DICOM: why, and what to try.

A decode that finds no association ends with one hint built from the capture's
:class:`~dimse_codec.capture.traffic.TrafficSeen`: no packets, no TCP at all, TCP connections
none of which looked like DICOM (with the busiest server ports, the likely ``--port``), or, when
``--port`` was given, that the port saw no TCP traffic (with the ports that did). Text output
ends with it, NDJSON with a ``hint`` record, row formats and ``report`` say it on stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from dimse_codec.capture.traffic import PortCounter, TrafficSeen

__all__ = ["hint_record", "say_hint", "traffic_hint"]


def say_hint(
    traffic: TrafficSeen,
    chosen: str,
    out: TextIO,
    *,
    name: str = "decode",
    err: TextIO | None = None,
) -> None:
    """Say the hint, if any, where output ``chosen`` puts it: a line under the text summary, a
    last NDJSON record, or a line on stderr (row formats, ``report``)."""
    hint = traffic_hint(traffic)
    if hint is None:
        return
    if chosen == "text":
        out.write(f"  hint: {hint}\n")
    elif chosen == "ndjson":
        out.write(json.dumps(hint_record(traffic, hint)) + "\n")
    else:
        print(f"{name}: {hint}", file=sys.stderr)


def _ports(counter: PortCounter, count: int = 3) -> str:
    """``8080 (3 connections), 22 (1)``: the busiest ports with their connections."""
    about = "" if counter.exact else "at least "
    said = []
    for number, (port, connections) in enumerate(counter.busiest(count)):
        unit = (" connection" if connections == 1 else " connections") if number == 0 else ""
        said.append(f"{port} ({about}{connections}{unit})")
    more = len(counter.counts) - count
    return ", ".join(said) + (f" and {more} more" if more > 0 else "")


def traffic_hint(traffic: TrafficSeen) -> str | None:
    """The sentence that says why a capture gave no DICOM, or None when it gave some (and the
    port asked for, if any, saw traffic)."""
    if traffic.port is not None and traffic.port_connections == 0:
        if traffic.connections == 0:
            return f"port {traffic.port} saw no TCP traffic; {_no_tcp(traffic)}"
        return (
            f"port {traffic.port} saw no TCP traffic; the TCP ports that did: "
            f"{_ports(traffic.all_ports, 5)}"
        )
    if traffic.dicom_connections:
        return None
    if traffic.connections == 0:
        return _no_tcp(traffic)
    seen = traffic.connections
    busiest = traffic.other_ports.busiest(1)
    try_port = f"; try --port {busiest[0][0]}" if busiest else ""
    return (
        f"{seen:,} TCP connection{'' if seen == 1 else 's'} seen, none looked like DICOM "
        f"(no A-ASSOCIATE-RQ at the start); busiest server ports: "
        f"{_ports(traffic.other_ports)}{try_port}"
    )


def _no_tcp(traffic: TrafficSeen) -> str:
    """No TCP connection: no packets at all, or what the packets were instead."""
    if traffic.frames == 0:
        return "no packets in the capture"
    kinds = []
    if traffic.not_tcp:
        kinds.append(f"{traffic.not_tcp:,} IP but not TCP (UDP, ICMP...)")
    if traffic.not_ip:
        kinds.append(f"{traffic.not_ip:,} not IP (ARP...)")
    rest = traffic.frames - traffic.not_tcp - traffic.not_ip
    if rest > 0:
        kinds.append(f"{rest:,} not read down to TCP")
    frames = traffic.frames
    return f"no TCP packets ({frames:,} frame{'' if frames == 1 else 's'} read: {', '.join(kinds)})"


def hint_record(traffic: TrafficSeen, hint: str) -> dict[str, Any]:
    """The NDJSON ``hint`` record: the sentence and the counts it was made from."""
    return {
        "type": "hint",
        "hint": hint,
        "frames": traffic.frames,
        "tcp_packets": traffic.tcp_packets,
        "not_tcp": traffic.not_tcp,
        "not_ip": traffic.not_ip,
        "tcp_connections": traffic.connections,
        "dicom_connections": traffic.dicom_connections,
        "port": traffic.port,
        "port_connections": traffic.port_connections,
        "busiest_ports": _port_list(traffic.other_ports),
        "ports_seen": _port_list(traffic.all_ports),
        "ports_exact": traffic.all_ports.exact,
    }


def _port_list(counter: PortCounter) -> list[dict[str, int]]:
    """The five busiest ports of ``counter`` as NDJSON objects."""
    return [{"port": port, "connections": n} for port, n in counter.busiest(5)]
