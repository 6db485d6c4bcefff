"""``dimse-codec report``: real recordings through the report, the page in headless Chromium, and
a 100,000-message capture within a bounded size.

Recorded here with tcpdump on 127.0.0.1: DCMTK storescu storing three files to storescp, a
storescp started with ``--refuse`` rejecting an association, and a pynetdicom Storage
Commitment conversation (N-ACTION answered once with Success and once with Processing failure,
then N-EVENT-REPORT). The three captures go through ``dimse-codec report`` together; what the
page says is checked against an independent decode of the same files. Chromium (Debian's
``chromium``) then loads the page: no console message, no request leaving the file (its net
log), a ladder drawn in the DOM for every association shown in detail, and a screenshot kept
under ``tests/artifacts/``. The console and net-log checks are first shown to catch a page
made to fail them.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from dicom_conversation import Conversation, lossy_store, message
from peers import dcmtk_server, free_port, run_tool, secondary_capture, write_part10
from recording import tcpdump
from test_capture_memory import decoded, replicated, template
from test_capture_pynetdicom import commitment
from test_cli_decode_formats import stalled_store

from dimse_codec import C_ECHO
from dimse_codec.association import build_request, respond
from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureRecord,
    StreamGap,
    decode_capture,
)
from dimse_codec.capture.rows import Row, RowBuilder
from dimse_codec.capture.select import Selection
from dimse_codec.cli.main import main
from dimse_codec.dimse.responses import build_response
from dimse_codec.dimse.status import describe
from dimse_codec.pcap import TcpReassembler
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, encode_pdu
from dimse_codec.report import collect, render_report
from dimse_codec.report.collect import (
    DEFAULT_DETAIL,
    DEFAULT_PROBLEM_DETAIL,
    LADDER_ITEMS,
    MAX_PAIRS,
    OTHER,
    AssociationDetail,
    LadderItem,
    ReportCollector,
)
from dimse_codec.report.svg import ladder_svg

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
COMMITMENT = "1.2.840.10008.1.20.1"
COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
PROCESSING_FAILURE = 0x0110
BIG_MESSAGES = 100_000
BIG_REPORT_BYTES = 400_000
"""The bound on the report of a 100,000-message capture (its size follows the caps, not the
capture: about 160 kB here, 25 ladders of 16 rungs and the aggregates)."""
CHROMIUM_FLAGS = (
    "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr", "--v=0",
)  # fmt: skip


# -- recordings ----------------------------------------------------------------------------------


def storage_commitment(port: int) -> None:
    """pynetdicom SCU and SCP: N-ACTION (Success), N-ACTION (Processing failure), N-EVENT-REPORT."""
    pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is a peer of these tests")
    answers = iter([0x0000, PROCESSING_FAILURE])
    refs = commitment(1)
    scp = pynetdicom.AE(ae_title="ARCHIVE")
    scp.add_supported_context(COMMITMENT)
    handlers = [
        (pynetdicom.evt.EVT_N_ACTION, lambda event: (next(answers), None)),
        (pynetdicom.evt.EVT_N_EVENT_REPORT, lambda event: (0x0000, None)),
    ]
    server = scp.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    try:
        scu = pynetdicom.AE(ae_title="WORKSTATION")
        scu.add_requested_context(COMMITMENT)
        assoc = scu.associate("127.0.0.1", port, ae_title="ARCHIVE")
        assert assoc.is_established
        for expected in (0x0000, PROCESSING_FAILURE):
            status, _ = assoc.send_n_action(refs, 1, COMMITMENT, COMMITMENT_INSTANCE)
            assert status.Status == expected
        status, _ = assoc.send_n_event_report(refs, 1, COMMITMENT, COMMITMENT_INSTANCE)
        assert status.Status == 0
        assoc.release()
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three real recordings: DCMTK stores, a refused association, pynetdicom commitment."""
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    base = tmp_path_factory.mktemp("report")
    files = [
        str(write_part10(secondary_capture(4_000, seed=seed), base / f"sc{seed}.dcm"))
        for seed in range(3)
    ]
    out = base / "stored"
    out.mkdir()
    recorded = []
    for name, options in (("stores", []), ("refused", ["--refuse"])):
        port = free_port()
        capture = base / f"{name}.pcap"
        argv = [storescp, *options, "-aet", "ARCHIVE", "-od", str(out), str(port)]
        with dcmtk_server(argv, port, base / f"{name}.log", out), tcpdump(capture, [port]):
            result = run_tool(
                [storescu, "-aet", "MODALITY", "-aec", "ARCHIVE", "127.0.0.1", str(port), *files]
            )
        assert (result.returncode == 0) == (name == "stores"), result.stdout
        recorded.append(capture)
    port = free_port()
    capture = base / "commitment.pcap"
    with tcpdump(capture, [port]):
        errors: list[BaseException] = []

        def converse() -> None:
            try:
                storage_commitment(port)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=converse)
        thread.start()
        thread.join(timeout=120)
        assert not thread.is_alive()
        if errors:
            raise errors[0]
    recorded.append(capture)
    return recorded


# -- reading a page ------------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of the whole page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, css: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and css in a.get("class", "").split()]


def external_references(page: str) -> list[str]:
    """What a page would fetch from outside itself: src/href of another document, url(...)."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']?(?!#)([^"'\s>]+)""", page)
    found += [u for u in re.findall(r"url\(([^)]*)\)", page) if not u.startswith("#")]
    return found + re.findall(r"@import", page)


def ladder_rungs(records: list[CaptureRecord]) -> dict[int, int]:
    """Per association, the PDUs and messages its ladder must draw (independently counted)."""
    rungs: dict[int, int] = {}
    for record in records:
        if isinstance(record, (AssociationEvent, CapturedMessage)):
            index = (
                record.association.index
                if isinstance(record, AssociationEvent)
                else record.association
            )
            rungs[index] = rungs.get(index, 0) + 1
    return {index: min(count, LADDER_ITEMS) for index, count in rungs.items()}


@pytest.fixture(scope="module")
def report(captures: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("page") / "report.html"
    assert main(["report", *map(str, captures), "-o", str(output)]) == 0
    return output


@pytest.mark.peer
def test_the_report_of_real_recordings_says_what_happened(
    captures: list[Path], report: Path
) -> None:
    page = report.read_text(encoding="utf-8")
    records = list(decode_capture([str(c) for c in captures]))
    messages = [r for r in records if isinstance(r, CapturedMessage)]
    events = [r for r in records if isinstance(r, AssociationEvent)]
    elements = Elements(page)
    text = " ".join(elements.text)
    assert external_references(page) == []
    assert "<script" not in page
    # the counts of the overview
    cards = dict(
        re.findall(r'<div class="card[^"]*"><b>([^<]*)</b>([^<]*)</div>', page)[i][::-1]
        for i in range(12)
    )
    assert cards["associations"] == str(len({e.association.index for e in events})) == "3"
    assert cards["messages"] == str(len(messages))
    assert cards["failures"] == "1"
    assert [m.name for m in messages].count("C-STORE-RQ") == 3
    # statuses with their meanings from the status tables
    failure = next(m for m in messages if m.status == PROCESSING_FAILURE)
    meaning = describe(PROCESSING_FAILURE, "Storage Commitment").meaning
    assert failure.name == "N-ACTION-RSP"
    assert f"{PROCESSING_FAILURE:04X}H" in text and meaning in text
    # peers and the negotiation: the refused association rejected all its contexts
    assert "MODALITY@127.0.0.1" in text and "WORKSTATION@127.0.0.1" in text
    assert "rejected (association)" in text
    assert "A-ASSOCIATE-RJ" in text
    # a ladder for each association, each rung drawn
    expected = ladder_rungs(records)
    ladders = elements.having("svg", "ladder")
    assert sorted(int(svg["data-association"]) for svg in ladders) == sorted(expected)
    rungs = re.findall(r'<svg class="ladder" data-association="(\d+)"(.*?)</svg>', page, re.S)
    assert {int(i): body.count('<g class="rung') for i, body in rungs} == expected
    # the troubled ones are marked: the refused association and the failed N-ACTION
    troubled = elements.having("details", "troubled")
    assert len(troubled) == 2


@pytest.mark.peer
def test_the_filters_apply_to_the_report(captures: list[Path], tmp_path: Path) -> None:
    output = tmp_path / "failures.html"
    assert main(["report", *map(str, captures), "-o", str(output), "--status", "failure"]) == 0
    page = output.read_text(encoding="utf-8")
    assert re.search(r"<b>2</b>messages", page)  # the failed N-ACTION-RSP and its request
    assert "filters: --status" in page
    assert main(["report", str(captures[0]), "-o", str(output), "--status", "sometimes"]) == 2


# -- in Chromium -------------------------------------------------------------------------------


def chromium(page: Path, work: Path, *action: str) -> tuple[str, list[str], list[str]]:
    """Load ``page`` in headless Chromium doing ``action`` (``--dump-dom``, ``--screenshot``):
    its stdout, the console messages it logged, and the URLs the page itself asked for."""
    binary = require_tool("chromium")
    netlog = work / f"{page.stem}-net.json"
    run = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}",
         f"--log-net-log={netlog}", *action, page.as_uri()],
        capture_output=True, text=True, timeout=180, cwd=work,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    requested = []
    for event in json.loads(netlog.read_text(encoding="utf-8"))["events"]:
        params = event.get("params") or {}
        # a request the page made, not the browser's own (updates, time): for a site of file://
        if "url" in params and "site=file://" in str(params.get("site_for_cookies", "")):
            requested.append(params["url"])
    return run.stdout, console, requested


@pytest.mark.peer
def test_the_report_in_chromium(report: Path, tmp_path: Path) -> None:
    # the checks catch what they look for: a console message and a fetch from outside
    control = tmp_path / "control.html"
    control.write_text(
        '<html><body><img src="http://example.com/x.png"><script>console.error("broken")'
        "</script></body></html>",
        encoding="utf-8",
    )
    _, console, requested = chromium(control, tmp_path, "--dump-dom")
    assert any("broken" in line for line in console)
    assert requested == ["http://example.com/x.png"]

    dom, console, requested = chromium(report, tmp_path, "--dump-dom")
    assert console == [] and requested == []
    elements = Elements(dom)
    shown = elements.having("details", "association")
    ladders = elements.having("svg", "ladder")
    assert len(shown) == len(ladders) == 3
    assert {f"association-{svg['data-association']}" for svg in ladders} == {d["id"] for d in shown}
    assert len(elements.having("svg", "peers")) == 1
    assert len(elements.having("svg", "histogram")) >= 2  # C-STORE, N-ACTION, N-EVENT-REPORT

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report-real-recordings.png"
    chromium(report, tmp_path, f"--screenshot={screenshot}", "--window-size=1100,2600")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a drawn page, not a blank one
    print(f"screenshot: {screenshot}")


# -- at scale ------------------------------------------------------------------------------------


def test_a_report_of_100000_messages_stays_small() -> None:
    """The example's Storage Commitment conversation (6 messages) replicated from 16,667
    requestor addresses: the report keeps aggregates and draws the first associations only."""
    packets = template()
    copies = -(-BIG_MESSAGES // 6)
    collector = collect(decoded(replicated(packets, copies), TcpReassembler()))
    page = render_report(collector)
    size = len(page.encode())
    print(f"report of {collector.counts['messages']} messages: {size} bytes")
    assert collector.counts["messages"] >= BIG_MESSAGES
    assert collector.counts["associations"] == copies
    assert size < BIG_REPORT_BYTES
    # what it kept is bounded: ladders, peers, pairs
    assert len(collector.details) == DEFAULT_DETAIL <= DEFAULT_DETAIL + DEFAULT_PROBLEM_DETAIL
    assert collector.detail_skipped == copies - DEFAULT_DETAIL
    # one requestor address (the copies differ by port) and one AE title pair
    assert [p.associations for p in collector.peers.values()] == [copies]
    assert [h.count for h in collector.pairs.values()] == [collector.counts["responses"]]
    assert sum(h.count for h in collector.services.values()) == collector.counts["responses"]
    assert page.count('<svg class="ladder"') == DEFAULT_DETAIL


def test_histogram_quantiles_hold_their_values() -> None:
    from dimse_codec.report import Histogram

    histogram = Histogram()
    values = [0.001 * (1.05**n) for n in range(200)]
    for value in values:
        histogram.add(value)
    ordered = sorted(values)
    for fraction in (0.5, 0.9, 0.99):
        true = ordered[max(0, int(fraction * len(values)) - 1)]
        shown = histogram.quantile(fraction)
        assert shown is not None and true <= shown <= true * 10 ** (1 / 10) * 1.0001
    assert histogram.quantile(1.0) == max(values) and histogram.count == 200
    assert sum(count for _, _, count in histogram.used_bins()) == 200


def report_args(**given: Any) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in given.items()]


def test_report_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = (
        Path(__file__).resolve().parent.parent / "docs" / "examples" / "storage-commitment.pcap"
    )
    assert main(["report", str(example)]) == 2  # -o is required
    assert main(["report", str(tmp_path / "none.pcap"), "-o", str(tmp_path / "r.html")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["report", str(example), "-o", str(tmp_path)]) == 2
    assert (
        main(["report", str(example), "-o", str(tmp_path / "r.html"), *report_args(detail=-1)]) == 2
    )
    assert main(["report", str(example), "-o", str(tmp_path / "r.html")]) == 0
    assert "1 association(s), 6 message(s)" in capsys.readouterr().err


def test_peers_past_the_cap_are_added_up_as_one() -> None:
    """Association rows of 250 distinct calling AE titles: 200 kept apart, the rest as one."""
    example = Path(__file__).resolve().parent.parent / "docs" / "examples"
    builder = RowBuilder()
    rows = []
    for record in decode_capture(example / "storage-commitment.pcap"):
        rows += [r for r in builder.feed(record) if r.table == "association"]
    (row,) = rows
    first = next(iter(decode_capture(example / "storage-commitment.pcap")))
    collector = ReportCollector()
    for number in range(250):
        values = {**row.values, "calling_ae_title": f"AE{number}"}
        collector.add(first, [Row("association", values)])
    assert len(collector.peers) == MAX_PAIRS + 1
    assert collector.peers[(OTHER, OTHER)].associations == 250 - MAX_PAIRS
    assert collector.counts["associations"] == 250


def test_ctrl_c_writes_the_report_of_what_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dimse_codec.cli import report as cli_report
    from dimse_codec.cli._types import EXIT_INTERRUPTED

    capture = stalled_store(tmp_path)
    records = list(decode_capture(str(capture)))
    stop = next(i for i, r in enumerate(records) if getattr(r, "name", "") == "C-STORE-RQ")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        yield from records[:stop]
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_report, "decode_records", interrupted)
    output = tmp_path / "partial.html"
    assert main(["report", str(capture), "-o", str(output)]) == EXIT_INTERRUPTED
    page = output.read_text(encoding="utf-8")
    assert re.search(r"<b>2</b>messages", page)  # the C-ECHO and its response
    assert "C-ECHO-RSP" in page and "C-STORE-RQ" not in page


def replayed(records: list[CaptureRecord], copies: int) -> Iterator[CaptureRecord]:
    """The records of one association ``copies`` times over, copy ``n`` as association ``n``,
    ``n`` seconds later: what the collector sees of a long capture, without decoding it again."""
    for number in range(copies):
        shift = number * 1_000_000_000
        for record in records:
            if isinstance(record, AssociationEvent):
                association = replace(record.association, index=number)
                time_ns = None if record.time_ns is None else record.time_ns + shift
                yield replace(record, association=association, time_ns=time_ns)
            elif isinstance(record, CapturedMessage):
                time_ns = None if record.time_ns is None else record.time_ns + shift
                yield replace(record, association=number, time_ns=time_ns)


def peak_while_reporting(copies: int, records: list[CaptureRecord]) -> tuple[int, int]:
    """tracemalloc's peak while gathering the report of ``copies`` copies; and the messages."""
    # as in tests/test_capture_memory.py: spare tuples filled first, not taken for growth
    spare = [tuple([number] * length) for length in range(1, 20) for number in range(2_000)]
    del spare
    tracemalloc.start()
    try:
        collector = collect(replayed(records, copies))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, collector.counts["messages"]


def test_memory_of_the_report_is_flat_in_the_number_of_associations() -> None:
    """4x the associations, at most 1.3x the peak: aggregates are kept, records are not. (The
    smaller run is past the 256 ended associations the row builder remembers; the decoder's own
    memory is tests/test_capture_memory.py's.)"""
    example = Path(__file__).resolve().parent.parent / "docs" / "examples"
    records = list(decode_capture(example / "storage-commitment.pcap"))
    small, small_messages = peak_while_reporting(400, records)
    large, large_messages = peak_while_reporting(1_600, records)
    assert (small_messages, large_messages) == (400 * 6, 1_600 * 6)
    assert large / small <= 1.3, (small, large)


def test_gaps_and_problems_are_highlighted(tmp_path: Path) -> None:
    """A capture with one segment lost inside a C-STORE data set: the gap is counted, listed in
    red, drawn as a rung of the association's ladder, and the association is marked."""
    capture = tmp_path / "lossy.pcap"
    capture.write_bytes(lossy_store())
    records = list(decode_capture(str(capture)))
    gaps = [r for r in records if isinstance(r, StreamGap)]
    assert gaps
    page = render_report(collect(records))
    elements = Elements(page)
    assert re.search(rf"<b>{len(gaps)}</b>gaps", page)
    assert '<h2 class="bad">Gaps and problems</h2>' in page
    (shown,) = elements.having("details", "association")
    assert "troubled" in shown["class"].split()
    assert len(elements.having("g", "gap")) == len(gaps)
    assert "B000H" in page  # the store's Warning, with its meaning


def test_a_chosen_association_is_summed_up_even_if_its_end_is_out_of_range() -> None:
    example = Path(__file__).resolve().parent.parent / "docs" / "examples"
    records = list(decode_capture(example / "storage-commitment.pcap"))
    release = next(r for r in records if isinstance(r, AssociationEvent) and r.event == "release")
    early = collect(records, Selection(last_frame=release.frame - 1))
    assert early.counts["associations"] == 1 and len(early.details) == 1
    (detail,) = early.details
    assert detail.state == "released" and detail.summary["messages"] == 6
    assert "A-RELEASE-RP" not in [item.label for item in detail.items]  # out of the frames
    nobody = collect(records, Selection(ae_titles=frozenset({"NOBODY"})))
    assert nobody.counts["associations"] == nobody.counts["messages"] == len(nobody.details) == 0


def test_text_from_the_wire_cannot_make_markup(tmp_path: Path) -> None:
    """AE titles are the peers' bytes: a title that looks like markup is shown, never obeyed."""
    verification = "1.2.840.10008.1.1"
    implicit = "1.2.840.10008.1.2"
    rq = build_request("<img src=x>", "A&B\"'</svg>", [(verification, [implicit])])
    accepted = respond(rq, {verification: [implicit]})
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=verification)
    conversation = Conversation(segment=1400).handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(echo, 1))
    conversation.send(False, message(build_response(echo, 0x0000), 1))
    conversation.send(True, encode_pdu(AReleaseRQ())).send(False, encode_pdu(AReleaseRP()))
    capture = tmp_path / "markup.pcap"
    capture.write_bytes(conversation.close().capture())
    page = render_report(collect(decode_capture(str(capture))))
    assert "<img" not in page and "</svg>'" not in page
    assert page.count("&lt;img src=x&gt;") >= 3  # peer graph, tables, ladder
    assert "A&amp;B&quot;&#x27;&lt;/svg&gt;" in page
    assert Elements(page).having("svg", "ladder")


def test_a_long_association_draws_its_first_rungs_and_counts_the_rest() -> None:
    detail = AssociationDetail(0, "SCU", "SCP", "10.0.0.1:4000", "10.0.0.2:104", 0)
    for number in range(LADDER_ITEMS + 50):
        detail.add(LadderItem(number * 1000, number + 1, "requestor->acceptor", "request", "X"))
    drawing = ladder_svg(detail)
    assert len(detail.items) == LADDER_ITEMS and detail.left_out == 50
    assert drawing.count('<g class="rung') == LADDER_ITEMS
    assert "… and 50 more not drawn" in drawing
