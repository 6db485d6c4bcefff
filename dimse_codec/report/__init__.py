"""Capture reports: what a capture user sees, as one self-contained HTML page.

:func:`~dimse_codec.report.collect.collect` gathers aggregates from capture records (filtered
by a :class:`~dimse_codec.capture.select.Selection`) in bounded memory;
:func:`~dimse_codec.report.html.render_report` writes them as HTML with inline SVG drawings.
``dimse-codec report`` (:mod:`dimse_codec.cli.report`) reads the captures and writes the file.
"""

from __future__ import annotations

from dimse_codec.report.collect import Histogram, ReportCollector, collect
from dimse_codec.report.html import render_report

__all__ = ["Histogram", "ReportCollector", "collect", "render_report"]
