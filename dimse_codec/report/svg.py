"""The drawings of a capture report as inline SVG text: ladders, histograms and the peer graph.

Each function takes the collected aggregates (:mod:`dimse_codec.report.collect`) and returns one
``<svg>`` element with every text escaped, sized by what it draws and never by the capture:
a ladder has at most :data:`~dimse_codec.report.collect.LADDER_ITEMS` rungs, a histogram at most
its fixed bins, the graph at most :data:`MAX_GRAPH_PEERS` peers. Hovering a shape shows its
numbers (an SVG ``<title>``), so the report needs no script.
"""

from __future__ import annotations

import math
from html import escape

from dimse_codec.report.collect import AssociationDetail, Histogram, LadderItem, PairStats

__all__ = ["MAX_GRAPH_PEERS", "duration_text", "histogram_svg", "ladder_svg", "peer_graph_svg"]

MAX_GRAPH_PEERS = 24
"""Peers drawn in the graph (those in the most associations); the tables list the rest."""

_COLOURS = {
    "Success": "#2e7d32",
    "Warning": "#ef6c00",
    "Failure": "#c62828",
    "Cancel": "#6a1b9a",
    "Pending": "#757575",
    "request": "#1565c0",
    "pdu": "#37474f",
    "gap": "#c62828",
    "problem": "#c62828",
}


def duration_text(seconds: float | None) -> str:
    """A duration as people read it: µs, ms or s with three significant digits."""
    if seconds is None or math.isinf(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def _colour(item: LadderItem) -> str:
    if item.kind == "response":
        return _COLOURS.get(item.category or "", "#455a64")
    return _COLOURS.get(item.kind, "#455a64")


def ladder_svg(detail: AssociationDetail) -> str:
    """The ladder of one association: requestor on the left, acceptor on the right, one rung per
    PDU, message, gap or problem, top to bottom in capture order, with its time from the start."""
    left, right, step, top = 230, 610, 26, 44
    height = top + step * (len(detail.items) + 1) + (18 if detail.left_out else 0)
    start = detail.start_ns
    parts = [
        f'<svg class="ladder" data-association="{detail.index}" xmlns="http://www.w3.org/2000/svg"'
        f' width="780" height="{height}" viewBox="0 0 780 {height}" role="img"'
        f' aria-label="ladder of association {detail.index}">',
        f'<text x="{left}" y="16" text-anchor="middle" class="who">{escape(detail.calling)}</text>',
        f'<text x="{left}" y="30" text-anchor="middle" class="addr">{escape(detail.requestor)}'
        "</text>",
        f'<text x="{right}" y="16" text-anchor="middle" class="who">{escape(detail.called)}</text>',
        f'<text x="{right}" y="30" text-anchor="middle" class="addr">{escape(detail.acceptor)}'
        "</text>",
        f'<line x1="{left}" y1="{top - 8}" x2="{left}" y2="{height - 6}" class="life"/>',
        f'<line x1="{right}" y1="{top - 8}" x2="{right}" y2="{height - 6}" class="life"/>',
    ]
    for number, item in enumerate(detail.items):
        y = top + step * (number + 1)
        offset = (
            ""
            if start is None or item.time_ns is None
            else f"+{(item.time_ns - start) / 1e9:.6f} s"
        )
        frame = "" if item.frame is None else f"#{item.frame}"
        colour = _colour(item)
        tip = escape(f"{item.label} {item.detail} frame {frame} {offset}".strip())
        parts.append(f'<g class="rung {item.kind}"><title>{tip}</title>')
        parts.append(f'<text x="4" y="{y}" class="time">{offset}</text>')
        parts.append(
            f'<text x="{left - 12}" y="{y}" text-anchor="end" class="frame">{frame}</text>'
        )
        if item.kind in ("gap", "problem") or item.direction == "unknown":
            parts.append(
                f'<line x1="{left}" y1="{y - 4}" x2="{right}" y2="{y - 4}" stroke="{colour}"'
                ' stroke-dasharray="4 3" stroke-width="2"/>'
            )
        else:
            forward = item.direction == "requestor->acceptor"
            x1, x2 = (left, right) if forward else (right, left)
            head = x2 - 8 if forward else x2 + 8
            parts.append(
                f'<line x1="{x1}" y1="{y - 4}" x2="{x2}" y2="{y - 4}" stroke="{colour}"'
                ' stroke-width="1.6"/>'
                f'<polygon points="{x2},{y - 4} {head},{y - 8} {head},{y}" fill="{colour}"/>'
            )
        label = escape(item.label + (f" — {item.detail}" if item.detail else ""))
        parts.append(
            f'<text x="{(left + right) // 2}" y="{y - 8}" text-anchor="middle" fill="{colour}"'
            f' class="label">{label}</text></g>'
        )
    if detail.left_out:
        y = height - 8
        parts.append(
            f'<text x="{(left + right) // 2}" y="{y}" text-anchor="middle" class="more">'
            f"… and {detail.left_out} more not drawn</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(histogram: Histogram, name: str) -> str:
    """Response times of one service or pair as bars over logarithmic bins (count on hover)."""
    bins = histogram.used_bins(12)
    width, height, base = 420, 130, 104
    parts = [
        f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="response times of {escape(name)}">',
    ]
    if not bins:
        parts.append('<text x="10" y="60">no response times</text></svg>')
        return "".join(parts)
    tallest = max(count for _, _, count in bins)
    bar = min(40.0, (width - 20) / len(bins))
    for number, (low, high, count) in enumerate(bins):
        x = 10 + number * bar
        tall = max(1.0, 90 * count / tallest)
        tip = escape(f"{duration_text(low)} – {duration_text(high)}: {count}")
        parts.append(
            f'<rect x="{x:.1f}" y="{base - tall:.1f}" width="{max(bar - 1, 1):.1f}"'
            f' height="{tall:.1f}" class="bar"><title>{tip}</title></rect>'
        )
    parts.append(f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" class="axis"/>')
    parts.append(
        f'<text x="10" y="{base + 16}" class="tick">{escape(duration_text(bins[0][0]))}</text>'
    )
    parts.append(
        f'<text x="{10 + len(bins) * bar:.1f}" y="{base + 16}" text-anchor="end" class="tick">'
        f"{escape(duration_text(bins[-1][1]))}</text>"
    )
    parts.append(
        f'<text x="{width - 10}" y="12" text-anchor="end" class="tick">max {tallest}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def peer_graph_svg(peers: dict[tuple[str, str], PairStats]) -> str:
    """Who talks to whom: peers (``AE@address``) on a circle, an arrow from calling to called
    per pair, thicker with more associations, red when a failure or problem went over it or an
    association between them was rejected or aborted."""
    weight: dict[str, int] = {}
    for (calling, called), stats in peers.items():
        weight[calling] = weight.get(calling, 0) + stats.associations
        weight[called] = weight.get(called, 0) + stats.associations
    shown = sorted(weight, key=lambda peer: (-weight[peer], peer))[:MAX_GRAPH_PEERS]
    size = min(640, 240 + 28 * len(shown))
    width = size + 440  # room for the labels on both sides
    radius = size / 2 - 40
    centre, middle = width / 2, size / 2
    where = {
        peer: (
            centre + radius * math.cos(2 * math.pi * n / max(len(shown), 1) - math.pi / 2),
            middle + radius * math.sin(2 * math.pi * n / max(len(shown), 1) - math.pi / 2),
        )
        for n, peer in enumerate(shown)
    }
    parts = [
        f'<svg class="peers" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{size}"'
        f' viewBox="0 0 {width} {size}" role="img" aria-label="peers and who talks to whom">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"'
        ' fill="#546e7a"/></marker></defs>',
    ]
    for (calling, called), stats in sorted(peers.items()):
        if calling not in where or called not in where:
            continue
        (x1, y1), (x2, y2) = where[calling], where[called]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        # stop short of the called peer's circle so the arrowhead shows
        x2, y2 = x2 - (x2 - x1) * 14 / length, y2 - (y2 - y1) * 14 / length
        bad = stats.failures or stats.problems or stats.ended_badly
        tip = escape(
            f"{calling} → {called}: {stats.associations} association(s), {stats.messages} "
            f"message(s), {stats.failures} failure(s), {stats.problems} problem(s), "
            f"{stats.ended_badly} rejected or aborted"
        )
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
            f' stroke="{"#c62828" if bad else "#546e7a"}"'
            f' stroke-width="{1 + math.log2(stats.associations):.1f}" marker-end="url(#arrow)"'
            f' class="edge"><title>{tip}</title></line>'
        )
    for peer, (x, y) in where.items():
        anchor = "start" if x >= centre - 1 else "end"
        shift = 16 if x >= centre - 1 else -16
        parts.append(
            f'<g class="peer"><title>{escape(peer)}: {weight[peer]} association(s)</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10"/>'
            f'<text x="{x + shift:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">'
            f"{escape(peer)}</text></g>"
        )
    if len(weight) > len(shown):
        parts.append(
            f'<text x="8" y="{size - 8}" class="more">{len(weight) - len(shown)} more peer(s) in'
            " the table</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
