"""``decode`` with filters (``--ae``, ``--command``, ``--status``, ``--association``, ...).

The real recording of ``test_cli_decode_formats`` (pynetdicom and DCMTK storescu storing to a
pynetdicom SCP, one store refused with A700H, a monitor that associates without a message) is
decoded once without a filter into NDJSON; each filtered NDJSON must equal the records an
independent predicate, written here over the unfiltered lines, picks: the chosen messages (a
chosen response with its request), and the events, gaps, problems and summary row of an
association with a chosen message, or of one chosen by its AE titles or number. The row formats
hold the rows of the filtered NDJSON; text shows a failing response beside its request; and
``--jobs 2`` writes what ``--jobs 1`` writes, as a set, with the numbers of ``--jobs 1``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_cli_decode_formats import (  # noqa: F401 -- `recorded` is a fixture
    REFUSED,
    SECONDARY_CAPTURE,
    Recorded,
    recorded,
)
from test_decode_jobs import (  # noqa: F401 -- `captures` is a fixture
    captures,
    dask_decode,
    decode,
    lines,
    local_cluster,
    table_rows,
)

from dimse_codec.cli.main import main

Line = dict[str, Any]
MessagePredicate = Callable[[Line], bool]
AssociationPredicate = Callable[[Line], bool]


def ndjson(capture: Path | str, tmp_path: Path, *options: str, jobs: int = 1) -> list[Line]:
    """The NDJSON records of ``decode`` with ``options``."""
    out = tmp_path / f"decode-{abs(hash((options, jobs)))}.ndjson"
    argv = ["decode", str(capture), "--json", "--output", str(out), "--jobs", str(jobs)]
    assert main([*argv, *options]) == 0
    return [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]


def canonical(records: list[Line]) -> list[str]:
    """Records as sorted JSON texts: equal as multisets."""
    return sorted(json.dumps(record, sort_keys=True) for record in records)


def association_of(record: Line) -> int | None:
    value = record.get("association")
    return value if isinstance(value, int) else None


def expected(
    everything: list[Line],
    messages: MessagePredicate | None,
    associations: AssociationPredicate | None,
    *,
    by_status: bool = False,
) -> list[Line]:
    """What the filters should keep of the unfiltered records, decided here on their own: the
    messages ``messages`` picks in associations ``associations`` picks (with a status criterion,
    their requests too); then the other records of the associations with a message kept (of
    every association ``associations`` picks, when no message criterion is given)."""
    titles: dict[int, set[str]] = {}
    for record in everything:
        if record["type"] == "association":
            titles[record["association"]] = {
                (record[key] or "").strip("\x00 ")
                for key in ("calling_ae_title", "called_ae_title")
            }
    first = {
        record["association"]: record for record in everything if record["type"] == "association"
    }

    def association_passes(index: int | None) -> bool:
        if associations is None:
            return True
        return index is not None and associations(first[index]) if index in first else False

    kept_messages = [
        record
        for record in everything
        if record["type"] == "message"
        and association_passes(record["association"])
        and (messages is None or messages(record))
    ]
    if by_status:
        requests = {record["request_key"] for record in kept_messages if record["request_key"]}
        kept_messages += [r for r in everything if r["type"] == "message" and r["key"] in requests]
    if messages is not None:
        shown = {record["association"] for record in kept_messages}
    else:
        shown = {index for index in first if association_passes(index)}
    others = [
        record
        for record in everything
        if record["type"] != "message"
        and (
            association_of(record) in shown
            if association_of(record) is not None
            else associations is None
        )
    ]
    return kept_messages + others


def failing(record: Line) -> bool:
    return record["status_category"] == "Failure"


def by_titles(*names: str) -> AssociationPredicate:
    def passes(record: Line) -> bool:
        found = {(record[k] or "").strip("\x00 ") for k in ("calling_ae_title", "called_ae_title")}
        return not found.isdisjoint(names)

    return passes


@pytest.mark.peer
def test_filtered_ndjson_is_what_an_independent_predicate_picks(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
) -> None:
    everything = ndjson(recorded.capture, tmp_path)
    assert {record["type"] for record in everything} >= {
        "association",
        "message",
        "association_summary",
    }
    cases: list[tuple[list[str], MessagePredicate | None, AssociationPredicate | None, bool]] = [
        (["--status", "failure"], failing, None, True),
        (["--status", f"{REFUSED:04X}H"], lambda r: r["status"] == REFUSED, None, True),
        (["--command", "C-STORE"], lambda r: r["service"] == "C-STORE", None, False),
        (["--command", "C-ECHO-RSP"], lambda r: r["message"] == "C-ECHO-RSP", None, False),
        (["--ae", "MONITOR"], None, by_titles("MONITOR"), False),  # no message in it
        (["--association", "1"], None, lambda r: r["association"] == 1, False),
        (
            ["--sop-class", "Secondary Capture Image Storage", "--ae", "STORESCU"],
            lambda r: (r["sop_class_uid"] or r["abstract_syntax"]) == SECONDARY_CAPTURE,
            by_titles("STORESCU"),
            False,
        ),
        (
            ["--status", "success", "--association", "0", "--association", "2"],
            lambda r: r["status_category"] == "Success",
            lambda r: r["association"] in (0, 2),
            True,
        ),
    ]
    sizes = []
    for options, messages, associations, by_status in cases:
        filtered = ndjson(recorded.capture, tmp_path, *options)
        want = expected(everything, messages, associations, by_status=by_status)
        assert canonical(filtered) == canonical(want), options
        sizes.append((len(filtered), sum(r["type"] == "message" for r in filtered)))
    # not vacuous: the refused store with its request, an association without messages, and
    # every case less than the whole
    assert sizes[0] == sizes[1] and sizes[0][1] == 2
    assert sizes[4][0] > 0 and sizes[4][1] == 0
    assert all(0 < size < len(everything) for size, _ in sizes)


@pytest.mark.peer
def test_a_failing_response_comes_right_after_its_request(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
) -> None:
    records = ndjson(recorded.capture, tmp_path, "--status", "failure")
    messages = [record for record in records if record["type"] == "message"]
    assert [m["message"] for m in messages] == ["C-STORE-RQ", "C-STORE-RSP"]
    assert messages[1]["request_key"] == messages[0]["key"]
    assert messages[0]["sop_instance_uid"] == recorded.refused_uid
    # its association's events come before them, its end and summary after
    kinds = [record["type"] for record in records]
    assert kinds[0] == "association" and kinds[-1] == "association_summary"


@pytest.mark.peer
def test_text_shows_the_failing_response_with_its_request(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
) -> None:
    out = tmp_path / "failure.txt"
    assert main(["decode", str(recorded.capture), "--status", "failure", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8").splitlines()
    messages = [
        line
        for line in text
        if line.split()[3:4] in (["requestor->acceptor"], ["acceptor->requestor"])
    ]
    assert len(messages) == 2, text
    assert "C-STORE-RQ" in messages[0] and "C-STORE-RSP" in messages[1]
    assert f"{REFUSED:04X}" in messages[1]
    assert text.index(messages[1]) == text.index(messages[0]) + 1
    whole = tmp_path / "whole.txt"
    assert main(["decode", str(recorded.capture), "--output", str(whole)]) == 0
    summary = whole.read_text(encoding="utf-8").split("summary:")[1]
    total = sum(
        line.split()[3:4] in (["requestor->acceptor"], ["acceptor->requestor"])
        for line in whole.read_text(encoding="utf-8").splitlines()
    )
    # the summary is the whole capture's, and says how many messages were shown
    assert summary in "\n".join(text)
    assert (
        f"  filter: 2 of {total} message(s) shown; the counts above are the whole capture's" in text
    )
    assert f"{total} message(s)" in summary


def read_rows(folder: Path, form: str) -> dict[str, list[dict[str, Any]]]:
    """The message and association rows of a row format, as dicts of text."""
    if form == "parquet":
        import pyarrow.dataset as ds

        return {
            table: ds.dataset(folder / f"{table}s").to_table().to_pylist()
            for table in ("message", "association")
        }
    if form == "csv":
        names = {"message": "messages.csv", "association": "associations.csv"}
        return {
            table: list(csv.DictReader((folder / name).read_text(encoding="utf-8").splitlines()))
            for table, name in names.items()
        }
    found = {}
    for table, name in {"message": "dicom.log", "association": "dicom_association.log"}.items():
        text = (folder / name).read_text(encoding="utf-8").splitlines()
        fields = next(line for line in text if line.startswith("#fields")).split("\t")[1:]
        fields = ["association_uid" if field == "uid" else field for field in fields]
        found[table] = [
            dict(zip(fields, line.split("\t"), strict=True))
            for line in text
            if not line.startswith("#")
        ]
    return found


@pytest.mark.peer
@pytest.mark.parametrize("form", ["csv", "parquet", "zeek"])
def test_row_formats_hold_the_rows_of_the_filtered_ndjson(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
    form: str,
) -> None:
    if form == "parquet":
        pytest.importorskip("pyarrow", reason="--format parquet needs the parquet extra")
    for options in (["--status", "failure"], ["--command", "C-ECHO"], ["--ae", "STORESCU"]):
        records = ndjson(recorded.capture, tmp_path, *options)
        folder = decode(tmp_path, [str(recorded.capture)], 1, "--format", form, *options)
        rows = read_rows(folder, form)
        keys = sorted(str(row["key"]) for row in rows["message"])
        assert keys == sorted(str(r["key"]) for r in records if r["type"] == "message"), options
        uids = sorted(str(row["association_uid"]) for row in rows["association"])
        summaries = [r for r in records if r["type"] == "association_summary"]
        assert uids == sorted(str(r["association_uid"]) for r in summaries), options
        assert keys and uids


@pytest.mark.peer
@pytest.mark.parametrize("form", ["ndjson", "text", "csv"])
def test_jobs_2_with_a_filter_equals_jobs_1(
    recorded: Recorded,  # noqa: F811
    tmp_path: Path,
    form: str,
) -> None:
    capture = [str(recorded.capture)]
    for options in (["--status", "failure"], ["--command", "C-STORE", "--association", "3"]):
        one = decode(tmp_path, capture, 1, "--format", form, *options)
        two = decode(tmp_path, capture, 2, "--format", form, *options)
        if form == "csv":
            for name in ("messages.csv", "associations.csv"):
                assert lines(two / name) == lines(one / name), options
        else:
            assert lines(two) == lines(one), options
            assert len(lines(one)) > 1


def test_association_numbers_with_jobs_are_those_of_jobs_1(
    tmp_path: Path,
    captures: list[str],  # noqa: F811
) -> None:
    options = ["--association", "7", "--association", "40", "--command", "N-EVENT-REPORT"]
    written = {}
    for form in ("ndjson", "text"):
        written[form] = decode(tmp_path, captures, 1, "--format", form, *options)
        three = decode(tmp_path, captures, 3, "--format", form, *options)
        assert lines(three) == lines(written[form]), form
    records = [json.loads(text) for text in lines(written["ndjson"])]
    assert {record["association"] for record in records} == {7, 40}
    kinds = {record["type"] for record in records}
    assert kinds == {"association", "message", "association_summary"}


@pytest.mark.peer
def test_export_writes_only_the_chosen_stores(recorded: Recorded, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "exported"
    out = tmp_path / "failure.txt"
    argv = ["decode", str(recorded.capture), "--status", "failure", "--export", str(folder)]
    assert main([*argv, "--output", str(out)]) == 0
    written = sorted(folder.iterdir())
    assert len(written) == 1 and recorded.refused_uid in written[0].name
    assert written[0].read_bytes()[128:132] == b"DICM"


def test_the_dask_engine_filters_as_jobs_1(
    tmp_path: Path,
    captures: list[str],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three shards on a LocalCluster, with an association number (applied when the shards
    renumber their rows) and a message type (applied in the shards): the rows of ``--jobs 1``."""
    pytest.importorskip("pyarrow", reason="the Dask engine writes Parquet (the dask extra)")
    options = ["--format", "parquet", "--association", "7", "--association", "40"]
    options += ["--command", "N-EVENT-REPORT-RQ"]
    one = table_rows(decode(tmp_path, captures, 1, *options), "parquet")
    assert len(one["messages"]) == 2 and len(one["associations"]) == 2
    out = tmp_path / "dask"
    with local_cluster() as cluster:
        code = dask_decode(cluster.scheduler_address, captures, out, *options)
    assert code == 0, capsys.readouterr().err
    assert table_rows(out, "parquet") == one
