"""Filters of capture records (``--ae``, ``--command``, ``--status``, ...): ``capture.select``.

The real recording of ``test_cli_decode_formats`` (pynetdicom and DCMTK storescu storing to a
pynetdicom SCP, one store refused with A700H) is decoded once without a filter into NDJSON;
each selection applied to the records must keep exactly the message rows an independent
predicate, written here over those rows' columns, picks (a chosen response's request being
picked beside it). Parsing, usage errors and the bounded hold of requests are checked too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dicom_conversation import IMPLICIT, Conversation, message
from test_cli_decode_formats import (  # noqa: F401 -- `recorded` is a fixture
    REFUSED,
    SECONDARY_CAPTURE,
    Recorded,
    recorded,
    stalled_store,
)

from dimse_codec import C_CANCEL, C_FIND
from dimse_codec.association import build_request, respond
from dimse_codec.capture import CapturedMessage, decode_capture
from dimse_codec.capture.rows import RowBuilder
from dimse_codec.capture.select import (
    RecordSelector,
    Selection,
    add_selection_arguments,
    parse_command,
    parse_frames,
    parse_sop_class,
    parse_status,
    parse_time,
    selection_from_arguments,
)
from dimse_codec.dimse.responses import build_response
from dimse_codec.dimse.status import StatusCategory
from dimse_codec.errors import InvalidParameter
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, encode_pdu

RowPredicate = Callable[[dict[str, Any]], bool]


def selected_keys(capture: Path, arguments: list[str]) -> list[str]:
    """The message row keys that the selection of ``arguments`` keeps, fed as decode reads."""
    parser = argparse.ArgumentParser()
    add_selection_arguments(parser)
    selector: RecordSelector[str | None] = RecordSelector(
        selection_from_arguments(parser.parse_args(arguments))
    )
    builder = RowBuilder()
    keys: list[str] = []
    for record in decode_capture(str(capture)):
        made = builder.feed(record)
        key = next((str(r.values["key"]) for r in made if r.table == "message"), None)
        for kept, payload in selector.feed(record, key):
            if isinstance(kept, CapturedMessage):
                assert payload is not None
                keys.append(payload)
    selector.finish()
    assert selector.held == 0
    return keys


def expected_keys(rows: list[dict[str, Any]], passes: RowPredicate, by_status: bool) -> set[str]:
    """The keys of the rows ``passes`` picks, and with a status criterion their requests."""
    chosen = {row["key"] for row in rows if passes(row)}
    if by_status:
        chosen |= {row["request_key"] for row in rows if passes(row) and row["request_key"]}
    return chosen


def ae(*titles: str) -> RowPredicate:
    return lambda row: row["calling_ae_title"] in titles or row["called_ae_title"] in titles


def both(*predicates: RowPredicate) -> RowPredicate:
    return lambda row: all(p(row) for p in predicates)


def failing(row: dict[str, Any]) -> bool:
    return row["status_category"] == "Failure"


@pytest.mark.peer
def test_each_selection_keeps_what_an_independent_predicate_picks(recorded: Recorded) -> None:  # noqa: F811
    rows = recorded.rows["message"]
    times = sorted(row["time"] for row in rows)
    # boundaries between messages (a float of seconds is not exact to the nanosecond)
    middle = tuple((times[i] + times[i + 1]) / 2 for i in (len(times) // 3, 2 * len(times) // 3))
    frames = sorted(row["frame"] for row in rows)
    frame_range = frames[len(frames) // 4], frames[3 * len(frames) // 4]
    cases: list[tuple[list[str], RowPredicate, bool]] = [
        (["--status", "failure"], failing, True),
        (["--status", f"0x{REFUSED:04X}"], lambda row: row["status"] == REFUSED, True),
        (
            ["--status", "success", "--command", "C-STORE-RSP", "--ae", "STORESCU"],
            both(
                lambda row: row["status"] == 0,
                lambda row: row["message"] == "C-STORE-RSP",
                ae("STORESCU"),
            ),
            True,
        ),
        (
            ["--command", "C-STORE", "--ae", "MODALITY_B"],
            both(lambda row: row["service"] == "C-STORE", ae("MODALITY_B")),
            False,
        ),
        (["--command", "c-echo-rsp"], lambda row: row["message"] == "C-ECHO-RSP", False),
        (["--ae", "MONITOR"], ae("MONITOR"), False),  # an association with no message
        (["--association", "1"], lambda row: row["association"] == 1, False),
        (
            ["--sop-class", "Secondary Capture Image Storage"],
            lambda row: (row["sop_class_uid"] or row["abstract_syntax"]) == SECONDARY_CAPTURE,
            False,
        ),
        (
            ["--since", str(middle[0]), "--until", str(middle[1])],
            lambda row: middle[0] <= row["time"] <= middle[1],
            False,
        ),
        (
            ["--frames", f"{frame_range[0]}-{frame_range[1]}", "--status", "success"],
            both(
                lambda row: frame_range[0] <= row["frame"] <= frame_range[1],
                lambda row: row["status_category"] == "Success",
            ),
            True,
        ),
    ]
    sizes = []
    for arguments, passes, by_status in cases:
        keys = selected_keys(recorded.capture, arguments)
        assert len(keys) == len(set(keys)), arguments  # each message once
        assert set(keys) == expected_keys(rows, passes, by_status), arguments
        sizes.append(len(keys))
    # the cases are not vacuous: the refused store and its request, and the other ones
    assert sizes[0] == sizes[1] == 2
    assert sizes[5] == 0 and all(size > 0 for i, size in enumerate(sizes) if i != 5)
    assert sizes[3] < len(rows)
    # no filter: every row, in order
    assert selected_keys(recorded.capture, []) == [row["key"] for row in rows]


@pytest.mark.peer
def test_a_request_comes_just_before_its_chosen_response(recorded: Recorded) -> None:  # noqa: F811
    by_key = {row["key"]: row for row in recorded.rows["message"]}
    keys = selected_keys(recorded.capture, ["--status", "success"])
    for request, response in zip(keys[::2], keys[1::2], strict=True):
        assert by_key[response]["request_key"] == request
        assert by_key[response]["status"] == 0


def test_a_request_never_answered_is_held_until_its_association_ends(tmp_path: Path) -> None:
    selector: RecordSelector[None] = RecordSelector(
        Selection(categories=frozenset({StatusCategory.SUCCESS}))
    )
    held = []
    kept = []
    for record in decode_capture(str(stalled_store(tmp_path, answer=False))):
        kept += [r for r, _ in selector.feed(record, None) if isinstance(r, CapturedMessage)]
        held.append(selector.held)
    assert max(held) == 1 and held[-1] == 0  # the store waited; dropped at the release
    assert [m.name for m in kept] == ["C-ECHO-RQ", "C-ECHO-RSP"]


def test_parsing_of_the_filter_values() -> None:
    assert parse_command("C-STORE") == {"C-STORE-RQ", "C-STORE-RSP"}
    assert parse_command("n_action-rsp") == {"N-ACTION-RSP"}
    assert parse_command("C-CANCEL") == {"C-CANCEL-RQ"}
    assert parse_status("0xA700") == parse_status("A700") == parse_status("a700H")
    assert parse_status("A700") == ({0xA700}, set())
    assert parse_status("Pending") == (set(), {StatusCategory.PENDING})
    assert parse_sop_class("CTImageStorage") == "1.2.840.10008.5.1.4.1.1.2"
    assert parse_sop_class("ct image storage") == "1.2.840.10008.5.1.4.1.1.2"
    assert parse_sop_class("1.2.3.4") == "1.2.3.4"
    assert parse_time("1700000000.5") == 1_700_000_000_500_000_000
    assert parse_time("2023-11-14T22:13:20") == parse_time("2023-11-14T22:13:20+00:00")
    assert parse_time("2023-11-14T22:13:20") == 1_700_000_000 * 10**9
    assert parse_frames("10-20") == (10, 20)
    assert parse_frames("10-") == (10, None)
    assert parse_frames("-20") == (None, 20)
    assert parse_frames("7") == (7, 7)
    for parse, bad in (
        (parse_command, "C-FROB"),
        (parse_status, "sometimes"),
        (parse_status, "0x12345"),
        (parse_sop_class, "No Such Storage"),
        (parse_time, "yesterday"),
        (parse_frames, "20-10"),
        (parse_frames, "-"),
    ):
        with pytest.raises(InvalidParameter):
            parse(bad)  # type: ignore[operator]


def test_a_bad_filter_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="x")
    add_selection_arguments(parser)
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--status", "sometimes"])
    assert stopped.value.code == 2
    assert "not a status code" in capsys.readouterr().err
    assert selection_from_arguments(parser.parse_args([])).everything


def find_with_pending(tmp_path: Path, cancel: bool = False) -> Path:
    """A C-FIND answered with two Pending responses and a final Success (real codec bytes); or,
    with ``cancel``, one Pending, a C-CANCEL-RQ and the final Cancel."""
    find = "1.2.840.10008.5.1.4.1.2.1.1"  # Patient Root Query/Retrieve - FIND
    rq = build_request("FINDSCU", "ARCHIVE", [(find, [IMPLICIT])])
    accepted = respond(rq, {find: [IMPLICIT]})
    query = b"\x10\x00\x10\x00\x04\x00\x00\x00Doe*"
    request = C_FIND(MessageID=7, AffectedSOPClassUID=find, Priority=0, Identifier=query)
    conversation = Conversation(segment=1400).handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(request, 1))
    for status in (0xFF00, 0xFE00) if cancel else (0xFF00, 0xFF00, 0x0000):
        if status == 0xFE00:
            conversation.send(True, message(C_CANCEL(MessageIDBeingRespondedTo=7), 1))
        reply = query if status == 0xFF00 else None
        conversation.send(False, message(build_response(request, status, reply), 1))
    conversation.send(True, encode_pdu(AReleaseRQ())).send(False, encode_pdu(AReleaseRP()))
    path = tmp_path / f"find{'-cancel' if cancel else ''}.pcap"
    path.write_bytes(conversation.close().capture())
    return path


def test_pending_responses_bring_their_request_once(tmp_path: Path) -> None:
    capture = find_with_pending(tmp_path)
    every: RecordSelector[None] = RecordSelector(Selection())
    shown = [
        (m.name, m.status)
        for record in decode_capture(str(capture))
        for m, _ in every.feed(record, None)
        if isinstance(m, CapturedMessage)
    ]
    assert shown == [("C-FIND-RQ", None), ("C-FIND-RSP", 0xFF00), ("C-FIND-RSP", 0xFF00),
                     ("C-FIND-RSP", 0x0000)]  # fmt: skip
    for status, expected in (
        ("pending", [("C-FIND-RQ", None), ("C-FIND-RSP", 0xFF00), ("C-FIND-RSP", 0xFF00)]),
        ("success", [("C-FIND-RQ", None), ("C-FIND-RSP", 0x0000)]),
        ("failure", []),
    ):
        selector: RecordSelector[None] = RecordSelector(
            Selection(categories=parse_status(status)[1])
        )
        kept = [
            (m.name, m.status)
            for record in decode_capture(str(capture))
            for m, _ in selector.feed(record, None)
            if isinstance(m, CapturedMessage)
        ]
        assert kept == expected, status
        assert selector.held == 0


def test_a_cancelled_find_keeps_its_request_for_the_cancel_response(tmp_path: Path) -> None:
    capture = find_with_pending(tmp_path, cancel=True)
    names = {
        status: [
            (m.name, m.status)
            for record in decode_capture(str(capture))
            for m, _ in selector.feed(record, None)
            if isinstance(m, CapturedMessage)
        ]
        for status, selector in (
            (status, RecordSelector[None](Selection(categories=parse_status(status)[1])))
            for status in ("cancel", "pending")
        )
    }
    assert names["cancel"] == [("C-FIND-RQ", None), ("C-FIND-RSP", 0xFE00)]
    assert names["pending"] == [("C-FIND-RQ", None), ("C-FIND-RSP", 0xFF00)]
