"""``decode``'s text view: its options through the CLI, the time column, the width of the
A-ASSOCIATE-AC line, and the bounded state of the one renderer (cli/view.py).

The outputs of whole captures are golden files (test_golden_text.py); here what those cannot
show: every option's refusal with other formats, ``--color never``, the date line of
``--time absolute`` when the day changes, lines cut to any width, and what the renderer keeps.
"""

from __future__ import annotations

import io
from pathlib import Path

import capture_builder as cb
import pytest
from test_decode_jobs import repeated

from dimse_codec.capture import AssociationEvent, decode_capture
from dimse_codec.capture.rows import RowBuilder
from dimse_codec.capture.select import Selection
from dimse_codec.cli.colour import Paint, wants_colour
from dimse_codec.cli.main import main
from dimse_codec.cli.text import FRAME_RESERVE, TextStyle, record_text
from dimse_codec.cli.view import Line, RecordRenderer, TextPrinter, ViewOptions

ROOT = Path(__file__).resolve().parent.parent
DCMTK = ROOT / "tests" / "golden" / "dcmtk-storescu.pcap"
PYNETDICOM = ROOT / "tests" / "golden" / "pynetdicom-statuses.pcap"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["decode", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "option", [["--time", "delta"], ["--color", "always"], ["--contexts"]], ids=str
)
@pytest.mark.parametrize("form", [["--json"], ["--format", "csv", "--output", "x"]], ids=str)
def test_text_options_are_refused_with_other_formats(
    capsys: pytest.CaptureFixture[str], option: list[str], form: list[str]
) -> None:
    code, out, err = run(capsys, str(PYNETDICOM), *form, *option)
    assert (code, out) == (2, "")
    chosen = "ndjson" if form[0] == "--json" else "csv"
    assert err == f"error: {option[0]} shapes the text output, not {chosen}\n"


def test_color_never_and_always(capsys: pytest.CaptureFixture[str]) -> None:
    _, never, _ = run(capsys, str(PYNETDICOM), "--color", "never")
    _, plain, _ = run(capsys, str(PYNETDICOM))
    _, always, _ = run(capsys, str(PYNETDICOM), "--color", "always")
    assert never == plain and "\033[" not in never
    assert "\033[31mstatus=A700H Failure" in always and "\033[33mstatus=B000H Warning" in always
    assert "\033[31mA-ABORT " in always and "\033[31mA-ASSOCIATE-RJ " in always
    for line in always.splitlines():
        if line.startswith("\033[2ma"):  # every record line's frame is dim
            assert line.index("\033[0m ") < 40


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_is_wanted_on_a_terminal_without_no_color() -> None:
    assert wants_colour("auto", _Tty(), {})
    assert not wants_colour("auto", _Tty(), {"NO_COLOR": "1"})
    assert wants_colour("auto", _Tty(), {"NO_COLOR": ""})  # set but empty: no-color.org
    assert not wants_colour("auto", io.StringIO(), {})
    assert wants_colour("always", io.StringIO(), {"NO_COLOR": "1"})
    assert not wants_colour("never", _Tty(), {})


def test_absolute_time_says_the_date_when_it_changes() -> None:
    out = io.StringIO()
    printer = TextPrinter(out, "absolute")
    midnight = 1_733_615_999 * 10**9  # 2024-12-07 23:59:59 UTC
    printer.write(Line(0, 1, midnight + 250_000_000, "one"), 0)
    printer.write(Line(0, 2, None, "untimed"), 0)
    printer.write(Line(0, 3, midnight + 1_000_000_001, "two"), 0)
    printer.write(Line(None, None, midnight + 2 * 10**9, "three"), 5)
    assert out.getvalue().splitlines() == [
        "2024-12-07 (UTC)",
        "a0 f1 23:59:59.250000 one",
        "a0 f2 - untimed",
        "2024-12-08 (UTC)",
        "a0 f3 00:00:00.000000 two",
        "a? f? 00:00:01.000000 three",
    ]


def test_relative_and_delta_time() -> None:
    start = 1_700_000_000 * 10**9
    lines = [
        Line(0, 1, start + 5_000, "a"),
        Line(0, 2, None, "gap"),
        Line(1, 3, start + 9_000, "b"),
    ]
    relative, delta, unknown = io.StringIO(), io.StringIO(), io.StringIO()
    for _out, printer in (
        (relative, TextPrinter(relative, "relative", lambda: start)),
        (delta, TextPrinter(delta, "delta", start)),
        (unknown, TextPrinter(unknown, "relative")),
    ):
        for number, line in enumerate(lines):
            printer.write(line, number)
    assert relative.getvalue().split("\n")[:3] == [
        "a0 f1 0.000005 a",
        "a1 f2 - gap",
        "a2 f3 0.000009 b",
    ]
    assert delta.getvalue().split("\n")[:3] == [
        "a0 f1 +0.000005 a",
        "a1 f2 - gap",
        "a2 f3 +0.000004 b",
    ]
    # with no known first packet, the first timed line is the origin
    assert unknown.getvalue().split("\n")[2] == "a2 f3 0.000004 b"


def _ac_event() -> AssociationEvent:
    return next(
        r for r in decode_capture(DCMTK) if isinstance(r, AssociationEvent) and r.event == "accept"
    )


@pytest.mark.parametrize("width", [80, 120, 160, 200, 400, 10_000])
def test_the_ac_line_fits_the_width_and_counts_what_it_leaves_out(width: int) -> None:
    event = _ac_event()
    line = record_text(event, TextStyle(width=width))
    assert "\n" not in line
    assert line.startswith("A-ASSOCIATE-AC max-pdu=16384 impl=OFFIS_DCMTK_367 accepted 128 of 128")
    fixed, listed = line.split(": ", 1)  # listed: "Explicit VR LE + Explicit VR BE: names..."
    assert len(listed) <= max(width - FRAME_RESERVE - len(fixed) - 2, 60)  # 60: the least room
    if width >= 160:
        assert len(line) + FRAME_RESERVE <= width
    listed = listed.split(": ", 1)[1]
    if listed == "64 abstract syntaxes":  # no room for a name
        return
    names = listed.split(", ")
    more = int(names[-1].split()[0][1:]) if names[-1].endswith(" more") else 0
    assert len(names) - (1 if more else 0) + more == 64  # 64 SOP classes, each in two syntaxes
    if width == 10_000:
        assert more == 0 and "Secondary Capture Image" in line and "CT Image" in line


def test_contexts_lists_every_context_one_per_line() -> None:
    text = record_text(_ac_event(), TextStyle(contexts=True))
    lines = text.splitlines()
    assert len(lines) == 1 + 128
    assert all(line.startswith("    pc=") and " accepted " in line for line in lines[1:])
    assert (
        lines[1] == "    pc=1 accepted Ambulatory ECG Waveform Storage in Explicit VR Little Endian"
    )


def test_the_renderer_keeps_nothing_of_an_ended_association(tmp_path: Path) -> None:
    """Over 30 overlapping associations, the renderer's per-association state (the row
    builder's, the slowest responses) holds only open associations and is empty at the end."""
    data = cb.pcap(repeated(30), link_type=1)
    renderer = RecordRenderer(ViewOptions("text"), Selection())
    open_now: set[int] = set()
    most = 0
    ends = 0
    for record in decode_capture(data):
        if isinstance(record, AssociationEvent):
            open_now.add(record.association.index)
        for _local, body in renderer.record(record):
            if isinstance(body, Line) and body.text.startswith("end "):
                ends += 1
                open_now.discard(body.association if body.association is not None else -1)
        assert set(renderer.slowest) <= open_now
        assert renderer.rows.open_associations <= len(open_now)
        most = max(most, len(renderer.slowest))
    list(renderer.finish())
    assert ends == 30 and 1 < most < 30
    assert renderer.slowest == {} and renderer.rows.open_associations == 0


def test_a_text_row_builder_makes_association_rows_only() -> None:
    records = list(decode_capture(PYNETDICOM))
    light, full = RowBuilder(message_rows=False), RowBuilder()
    light_rows = [row for record in records for row in light.feed(record)]
    full_rows = [row for record in records for row in full.feed(record)]
    assert [row.table for row in light_rows] == ["association"] * 3
    assert light_rows == [row for row in full_rows if row.table == "association"]


def test_paint_off_is_the_text_itself() -> None:
    assert Paint(False)("x", "31") == "x" and Paint(True)("x", "31") == "\033[31mx\033[0m"
    assert Paint(True)("", "31") == ""
