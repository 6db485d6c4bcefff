"""A capture report as one self-contained HTML page: aggregates first, detail on demand.

:func:`render_report` turns a :class:`~dimse_codec.report.collect.ReportCollector` into a page
with its style inline, its drawings inline SVG (:mod:`dimse_codec.report.svg`), no script and
no reference outside itself, so it opens offline and can be mailed. In order: the overview
(counts, how associations ended, the peer graph and table), response times per DIMSE service
and per AE title pair, the statuses seen with their meanings, gaps and problems, the
negotiation per abstract syntax, then the associations kept in detail, each a collapsed
section with its ladder and its negotiation table (those with a failure or problem marked).
Its size follows the collector's caps, not the capture.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from html import escape

from pydicom.uid import UID

from dimse_codec._version import VERSION
from dimse_codec.report.collect import (
    MAX_PROBLEMS,
    AssociationDetail,
    Histogram,
    ReportCollector,
)
from dimse_codec.report.svg import duration_text, histogram_svg, ladder_svg, peer_graph_svg

__all__ = ["render_report"]

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#212121}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.n,td:first-child{text-align:right;white-space:nowrap}td:first-child{text-align:left}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;border-radius:6px;
padding:6px 12px;min-width:90px}.card b{display:block;font-size:20px}
.bad,.card.bad b,tr.bad td{color:#c62828}.warn{color:#ef6c00}.muted{color:#757575}
details{border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 8px}
details.troubled{border-color:#c62828}summary{cursor:pointer}
svg text{font:11px system-ui,sans-serif}svg .who{font-weight:bold;font-size:13px}
svg .addr,svg .time,svg .frame,svg .tick,svg .more{fill:#616161}
svg .life{stroke:#9e9e9e;stroke-width:1}svg .bar{fill:#1565c0}svg .axis{stroke:#616161}
svg .peer circle{fill:#1565c0}.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figcaption{font-size:12px;color:#616161}
"""


def _time(time_ns: int | None) -> str:
    if time_ns is None:
        return "-"
    moment = datetime.fromtimestamp(time_ns / 1e9, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=512)
def _uid(uid: str) -> str:
    """A UID with its PS3.6 name when pydicom's registry knows it."""
    name = UID(uid).name if uid and uid[0].isdigit() else ""
    return f"{uid} ({name})" if name and name != uid else uid


def _table(head: Sequence[str], rows: Iterable[Sequence[object]], numeric: int = 0) -> str:
    """A table; the last ``numeric`` columns are numbers (right-aligned). A row whose first cell
    is a tuple ``(css class, text)`` gets that class."""
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        first = row[0]
        css = ""
        if isinstance(first, tuple):
            css, first = first
            row = (first, *row[1:])
        out.append(f'<tr class="{css}">' if css else "<tr>")
        for number, cell in enumerate(row):
            css_cell = ' class="n"' if number >= len(row) - numeric else ""
            out.append(f"<td{css_cell}>{escape(str(cell))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _card(name: str, value: object, bad: bool = False) -> str:
    css = "card bad" if bad else "card"
    return f'<div class="{css}"><b>{escape(str(value))}</b>{escape(name)}</div>'


def _overview(c: ReportCollector) -> str:
    counts = c.counts
    span = None if c.first_ns is None or c.last_ns is None else (c.last_ns - c.first_ns) / 1e9
    cards = [
        _card("associations", counts["associations"]),
        _card("messages", counts["messages"]),
        _card("requests", counts["requests"]),
        _card("responses", counts["responses"]),
        _card("failures", counts["failures"], counts["failures"] > 0),
        _card("warnings", counts["warnings"]),
        _card("unanswered", counts["unanswered"], counts["unanswered"] > 0),
        _card("gaps", counts["gaps"], counts["gaps"] > 0),
        _card("problems", counts["problems"], counts["problems"] > 0),
        _card("incomplete messages", counts["incomplete"], counts["incomplete"] > 0),
        _card("bytes", f"{counts['bytes']:,}"),
        _card("time span", duration_text(span)),
    ]
    states = _table(
        ["ended as", "associations"],
        (
            (("bad" if s in ("aborted", "rejected") else "", s), n)
            for s, n in c.states.most_common()
        ),
        numeric=1,
    )
    peers = sorted(c.peers.items(), key=lambda item: (-item[1].associations, item[0]))
    peer_rows = (
        (
            ("bad" if stats.failures or stats.problems or stats.ended_badly else "", calling),
            called,
            stats.associations,
            stats.ended_badly,
            stats.messages,
            stats.failures,
            stats.warnings,
            stats.problems,
            f"{stats.bytes:,}",
        )
        for (calling, called), stats in peers
    )
    return (
        '<section id="overview"><h2>Overview</h2>'
        f'<p class="muted">{_time(c.first_ns)} to {_time(c.last_ns)}</p>'
        f'<div class="cards">{"".join(cards)}</div>'
        f"<h3>How associations ended</h3>{states}"
        f"<h3>Who talks to whom</h3>{peer_graph_svg(c.peers)}"
        + _table(
            [
                "calling AE@address",
                "called AE@address",
                "associations",
                "rejected or aborted",
                "messages",
                "failures",
                "warnings",
                "problems",
                "bytes",
            ],
            peer_rows,
            numeric=7,
        )
        + "</section>"
    )


def _timing_row(name: str, histogram: Histogram) -> list[object]:
    return [
        name,
        histogram.count,
        duration_text(histogram.mean),
        duration_text(histogram.quantile(0.5)),
        duration_text(histogram.quantile(0.9)),
        duration_text(histogram.quantile(0.99)),
        duration_text(histogram.maximum),
    ]


_TIMING_HEAD = ["responses timed", "mean", "p50 ≤", "p90 ≤", "p99 ≤", "max"]


def _services(c: ReportCollector) -> str:
    rows = []
    empty = Histogram()
    for service, counts in sorted(c.service_counts.items()):
        timing = _timing_row(service, c.services.get(service, empty))
        rows.append(
            [
                (("bad" if counts["Failure"] else ""), service),
                counts["requests"],
                counts["responses"],
                counts["Success"],
                counts["Pending"],
                counts["Warning"],
                counts["Failure"],
                counts["Cancel"],
                *timing[1:],
            ]
        )
    charts = "".join(
        f"<figure>{histogram_svg(histogram, service)}<figcaption>{escape(service)}: "
        f"{histogram.count} response time(s)</figcaption></figure>"
        for service, histogram in sorted(c.services.items())
    )
    return (
        '<section id="services"><h2>Services and response times</h2>'
        + _table(
            [
                "service",
                "requests",
                "responses",
                "success",
                "pending",
                "warning",
                "failure",
                "cancel",
                *_TIMING_HEAD,
            ],
            rows,
            numeric=13,
        )
        + "<p class=\"muted\">Response time: from a request's last byte to its final response's "
        "last byte. Quantiles are read from logarithmic bins (10 per decade): each is the upper "
        "edge of its bin.</p>" + f'<div class="charts">{charts}</div>' + "</section>"
    )


def _pairs(c: ReportCollector) -> str:
    pairs = sorted(c.pairs.items(), key=lambda item: (-item[1].count, item[0]))
    parts = [
        '<section id="pairs"><h2>Response times per AE title pair</h2>',
        _table(
            ["calling → called", *_TIMING_HEAD],
            (_timing_row(f"{a} → {b}", h) for (a, b), h in pairs),
            numeric=6,
        ),
    ]
    for (calling, called), histogram in pairs:
        name = f"{calling} → {called}"
        parts.append(
            f"<figure>{histogram_svg(histogram, name)}<figcaption>{escape(name)}: "
            f"{histogram.count} response time(s)</figcaption></figure>"
        )
    parts.insert(2, '<details><summary>histograms</summary><div class="charts">')
    parts.append("</div></details></section>")
    return "".join(parts)


def _statuses(c: ReportCollector) -> str:
    order = {"Failure": 0, "Warning": 1, "Cancel": 2, "Pending": 3, "Success": 4}
    lines = sorted(c.statuses.items(), key=lambda item: (order.get(item[0].category, 5), -item[1]))
    rows = (
        (
            (("bad" if line.category == "Failure" else ""), line.message),
            f"{line.status:04X}H",
            line.category,
            line.meaning,
            count,
        )
        for line, count in lines
    )
    return (
        '<section id="statuses"><h2>Statuses</h2>'
        + _table(
            ["message", "status", "category", "meaning (PS3.7 Annex C, PS3.4)", "count"],
            rows,
            numeric=1,
        )
        + "</section>"
    )


def _problems(c: ReportCollector) -> str:
    if not c.problem_codes:
        return '<section id="problems"><h2>Gaps and problems</h2><p>None.</p></section>'
    listed = (
        (("bad", "-" if p.association is None else p.association), p.frame or "-", p.code, p.text)
        for p in c.problems
    )
    total = sum(c.problem_codes.values())
    more = (
        f"<p>The first {MAX_PROBLEMS} of {total} are listed.</p>" if total > len(c.problems) else ""
    )
    return (
        '<section id="problems"><h2 class="bad">Gaps and problems</h2>'
        + _table(["code", "count"], c.problem_codes.most_common(), numeric=1)
        + more
        + _table(["association", "frame", "code", "what"], listed)
        + "</section>"
    )


def _negotiation(c: ReportCollector) -> str:
    results = sorted({r for counts in c.negotiation.values() for r in counts} - {"proposed"})
    rows = (
        [
            (("bad" if counts["accepted"] < counts["proposed"] else ""), _uid(syntax)),
            counts["proposed"],
            *(counts[r] for r in results),
        ]
        for syntax, counts in sorted(c.negotiation.items())
    )
    return (
        '<section id="negotiation"><h2>Negotiation</h2>'
        '<p class="muted">Presentation contexts proposed per abstract syntax, and what the '
        "acceptor answered (PS3.8 9.3.3.2).</p>"
        + _table(["abstract syntax", "proposed", *results], rows, numeric=1 + len(results))
        + "</section>"
    )


def _association(detail: AssociationDetail, opened: bool) -> str:
    summary = detail.summary
    duration = summary.get("duration")
    headline = (
        f"#{detail.index} {detail.calling} ({detail.requestor}) → {detail.called} "
        f"({detail.acceptor}), {detail.state}, {summary.get('messages', '?')} message(s), "
        f"{detail.failures} failure(s), {detail.problems} problem(s), "
        f"{duration_text(duration if isinstance(duration, float) else None)}"
    )
    contexts = _table(
        ["context", "abstract syntax", "proposed transfer syntaxes", "result", "accepted"],
        (
            (
                (("" if row.result == "accepted" else "bad"), row.context_id),
                _uid(row.abstract_syntax),
                ", ".join(_uid(s) for s in row.proposed),
                row.result,
                "-" if row.transfer_syntax is None else _uid(row.transfer_syntax),
            )
            for row in detail.contexts
        ),
    )
    css = "association troubled" if detail.troubled else "association"
    return (
        f'<details class="{css}" id="association-{detail.index}"{" open" if opened else ""}>'
        f"<summary>{escape(headline)}</summary>{ladder_svg(detail)}"
        f"<h4>Negotiation</h4>{contexts}</details>"
    )


def _associations(c: ReportCollector) -> str:
    shown = len(c.details)
    note = (
        f"<p>{shown} association(s) in detail: the first {c.detail_limit} and up to "
        f"{c.problem_detail_limit} more with a failure or problem; {c.detail_skipped} more not "
        "drawn (counted above).</p>"
    )
    return (
        '<section id="associations"><h2>Associations</h2>'
        + note
        + "".join(_association(d, opened=n == 0) for n, d in enumerate(c.details))
        + "</section>"
    )


def render_report(
    collector: ReportCollector,
    *,
    title: str = "DICOM capture report",
    inputs: Sequence[str] = (),
    filters: Sequence[str] = (),
) -> str:
    """The report page of what ``collector`` gathered; ``inputs`` and ``filters`` are named in
    its header (the capture files, and the filter options given)."""
    named = ", ".join(inputs) or "-"
    chosen = " ".join(filters) or "none"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="muted">dimse-codec {escape(VERSION)}; capture: {escape(named)}; '
        f"filters: {escape(chosen)}</p>"
        '<nav><a href="#overview">overview</a> · <a href="#services">services</a> · '
        '<a href="#pairs">AE pairs</a> · <a href="#statuses">statuses</a> · '
        '<a href="#problems">problems</a> · <a href="#negotiation">negotiation</a> · '
        '<a href="#associations">associations</a></nav>'
        + _overview(collector)
        + _services(collector)
        + _pairs(collector)
        + _statuses(collector)
        + _problems(collector)
        + _negotiation(collector)
        + _associations(collector)
        + "</body></html>\n"
    )
