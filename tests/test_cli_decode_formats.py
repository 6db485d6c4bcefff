"""``decode --format ndjson|csv|parquet|zeek``: the rows, their schema, timing, and the queries.

A real recording (pynetdicom SCP on 127.0.0.1; two pynetdicom requestors, DCMTK's storescu and a
monitor that associates without a message; one store refused, one answered slowly on purpose)
is decoded in every format: the rows are the same in each, DuckDB runs the queries of
docs/decode.md on the Parquet output and they agree with the rows, and the slow store's
``scp_time`` stands out against the fast ones of the same run. Synthetic captures (real codec
bytes in hand-built segments, so times are known to the nanosecond) check stalls, the
request/response split of the time, the data set column and Parquet parts.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dicom_conversation import CT, EXPLICIT, IMPLICIT, VERIFICATION, Conversation, message
from peers import PEER_TIMEOUT, SMALL, run_tool, secondary_capture, write_part10
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID
from recording import tcpdump

from dimse_codec import C_ECHO, C_STORE
from dimse_codec.association import build_request, respond
from dimse_codec.capture import decode_capture
from dimse_codec.capture.rows import (
    ASSOCIATION_COLUMNS,
    DATASET_COLUMN,
    MESSAGE_COLUMNS,
    Column,
    Row,
    RowBuilder,
)
from dimse_codec.cli.formats import ParquetWriter, zeek_fields
from dimse_codec.cli.main import main
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, encode_pdu

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "decode.md"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
SLOW = 0.3
"""Seconds the SCP's handler sleeps before answering the slow store (a lower bound on its
``scp_time``; the other stores of the same run are the reference)."""
REFUSED = 0xA700  # Out of Resources (PS3.4 B.2.3)
TABLES = {"message": MESSAGE_COLUMNS, "association": ASSOCIATION_COLUMNS}


# -- reading every format back -------------------------------------------------------------------


def typed(column: Column, text: str | None) -> Any:
    """A CSV or Zeek cell as its column's type (None for no value)."""
    if text is None:
        return None
    if column.type == "int":
        return int(text)
    if column.type == "float":
        return float(text)
    if column.type == "bool":
        return {"true": True, "false": False, "T": True, "F": False}[text]
    return text


def read_ndjson(path: Path) -> dict[str, list[dict[str, Any]]]:
    """NDJSON message lines and association summaries, projected onto the row columns."""
    out: dict[str, list[dict[str, Any]]] = {"message": [], "association": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        if obj["type"] == "message":
            out["message"].append({c.name: obj[c.name] for c in MESSAGE_COLUMNS})
        elif obj["type"] == "association_summary":
            out["association"].append({c.name: obj[c.name] for c in ASSOCIATION_COLUMNS})
    return out


def read_csv(directory: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table, name in (("message", "messages.csv"), ("association", "associations.csv")):
        with (directory / name).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = TABLES[table]
            assert reader.fieldnames == [c.name for c in columns]
            out[table] = [
                {c.name: typed(c, row[c.name] or None) for c in columns} for row in reader
            ]
    return out


def read_parquet(directory: Path) -> dict[str, list[dict[str, Any]]]:
    import pyarrow.dataset as ds

    out = {}
    for table, folder in (("message", "messages"), ("association", "associations")):
        dataset = ds.dataset(str(directory / folder), format="parquet")
        assert dataset.schema.names == [c.name for c in TABLES[table]]
        out[table] = dataset.to_table().to_pylist()
    return out


def read_zeek(
    path: Path, columns: tuple[Column, ...]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A Zeek ASCII log: its header lines and its rows, back under the row columns' names."""
    header: dict[str, str] = {}
    rows = []
    fields = zeek_fields(columns)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#separator \\x09"
    for line in lines[1:]:
        if line.startswith("#"):
            key, _, value = line[1:].partition("\t")
            header[key] = value
            continue
        cells = line.split("\t")
        assert len(cells) == len(fields)
        rows.append(
            {
                c.name: typed(c, None if v == "-" else v)
                for (_, _, c), v in zip(fields, cells, strict=True)
            }
        )
    assert header["fields"].split("\t") == [name for name, _, _ in fields]
    assert header["types"].split("\t") == [kind for _, kind, _ in fields]
    return header, rows


def same_rows(
    ours: list[dict[str, Any]], theirs: list[dict[str, Any]], digits: int | None = None
) -> None:
    """Equal row by row; floats to ``digits`` decimals when a format rounds them (Zeek)."""
    assert len(ours) == len(theirs)
    for mine, other in zip(ours, theirs, strict=True):
        if digits is None:
            assert mine == other
            continue
        assert mine.keys() == other.keys()
        for name, value in mine.items():
            if isinstance(value, float):
                assert other[name] == pytest.approx(value, abs=10**-digits), name
            else:
                assert other[name] == value, name


def decode_to(capture: Path, fmt: str, output: Path, *options: str) -> None:
    assert main(["decode", str(capture), "--format", fmt, "--output", str(output), *options]) == 0


# -- a real recording --------------------------------------------------------------------------


@dataclass
class Recorded:
    capture: Path
    out: Path
    stored: dict[str, bytes]
    slow_uid: str
    refused_uid: str
    rows: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is the SCP of these tests")
    storescu = require_storescu()
    base = tmp_path_factory.mktemp("formats")
    stored: dict[str, bytes] = {}
    lock = threading.Lock()
    datasets = [secondary_capture(SMALL, seed=seed) for seed in range(8)]
    slow_uid, refused_uid = str(datasets[1].SOPInstanceUID), str(datasets[2].SOPInstanceUID)

    def on_store(event: Any) -> int:
        uid = str(event.request.AffectedSOPInstanceUID)
        with lock:
            stored[uid] = event.request.DataSet.getvalue()
        if uid == slow_uid:
            time.sleep(SLOW)
        return REFUSED if uid == refused_uid else 0x0000

    contexts = {VERIFICATION: [IMPLICIT], SECONDARY_CAPTURE: [EXPLICIT, IMPLICIT]}
    scp = pynetdicom.AE(ae_title="ARCHIVE")
    scp.acse_timeout = scp.dimse_timeout = scp.network_timeout = PEER_TIMEOUT
    for abstract, syntaxes in contexts.items():
        scp.add_supported_context(abstract, syntaxes)
    handlers = [(pynetdicom.evt.EVT_C_STORE, on_store), (pynetdicom.evt.EVT_C_ECHO, lambda e: 0)]
    server = scp.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    capture = base / "traffic.pcap"
    files = [write_part10(ds, base / f"sc{i}.dcm", IMPLICIT) for i, ds in enumerate(datasets[6:])]
    try:
        port = server.server_address[1]
        with tcpdump(capture, [port]):
            plan = [("MODALITY_A", datasets[:4], False), ("MODALITY_B", datasets[4:6], True)]
            for title, to_store, echo in plan:
                assoc = requestor(pynetdicom, title, contexts).associate(
                    "127.0.0.1", port, ae_title="ARCHIVE"
                )
                assert assoc.is_established
                for ds in to_store:
                    ds.file_meta = FileMetaDataset()
                    ds.file_meta.TransferSyntaxUID = UID(IMPLICIT)
                    status = assoc.send_c_store(ds)
                    expected = REFUSED if str(ds.SOPInstanceUID) == refused_uid else 0
                    assert status.Status == expected
                if echo:
                    assert assoc.send_c_echo().Status == 0
                assoc.release()
            monitor = requestor(pynetdicom, "MONITOR", contexts)
            assoc = monitor.associate("127.0.0.1", port, ae_title="ARCHIVE")
            assert assoc.is_established
            assoc.release()  # an association with no message
            result = run_tool(
                [storescu, "-aet", "STORESCU", "-aec", "ARCHIVE", "127.0.0.1", str(port)]
                + [str(f) for f in files]
            )
            assert result.returncode == 0, result.stdout
    finally:
        server.shutdown()
    out = base / "decoded-all"
    for fmt in ("csv", "parquet", "zeek"):
        decode_to(capture, fmt, out / fmt)
    decode_to(capture, "ndjson", out / "rows.ndjson")
    rows = read_ndjson(out / "rows.ndjson")
    return Recorded(capture, out, stored, slow_uid, refused_uid, rows)


def require_storescu() -> str:
    from conftest import require_tool

    return require_tool("storescu")


def requestor(pynetdicom: Any, title: str, contexts: dict[str, list[str]]) -> Any:
    ae = pynetdicom.AE(ae_title=title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = PEER_TIMEOUT
    for abstract, syntaxes in contexts.items():
        ae.add_requested_context(abstract, syntaxes)
    return ae


@pytest.mark.peer
def test_rows_of_a_real_recording_are_the_same_in_every_format(recorded: Recorded) -> None:
    rows = recorded.rows
    same_rows(rows["message"], read_csv(recorded.out / "csv")["message"])
    same_rows(rows["association"], read_csv(recorded.out / "csv")["association"])
    parquet = read_parquet(recorded.out / "parquet")
    same_rows(rows["message"], parquet["message"])
    same_rows(rows["association"], parquet["association"])
    for table, name in (("message", "dicom.log"), ("association", "dicom_association.log")):
        header, zeek = read_zeek(recorded.out / "zeek" / name, TABLES[table])
        assert header["path"] == name.removesuffix(".log")
        same_rows(rows[table], zeek, digits=6)
    # and what the rows say is what the peers did
    messages, associations = rows["message"], rows["association"]
    by_title = {a["calling_ae_title"]: a for a in associations}
    assert sorted(by_title) == ["MODALITY_A", "MODALITY_B", "MONITOR", "STORESCU"]
    assert [
        by_title[t]["messages"] for t in ("MODALITY_A", "MODALITY_B", "MONITOR", "STORESCU")
    ] == [8, 6, 0, 4]
    assert by_title["MODALITY_A"]["failures"] == 1 and by_title["MODALITY_B"]["failures"] == 0
    for association in associations:
        assert (association["ended_by"], association["state"]) == ("release", "released")
        assert association["unanswered"] == 0 and association["bytes_from_requestor"] > 0
        assert association["throughput"] == pytest.approx(
            (association["bytes_from_requestor"] + association["bytes_from_acceptor"])
            / association["duration"]
        )
    stores = [m for m in messages if m["message"] == "C-STORE-RQ"]
    assert {m["sop_instance_uid"]: m["dataset_sha256"] for m in stores} == {
        uid: hashlib.sha256(data).hexdigest() for uid, data in recorded.stored.items()
    }
    keys = {m["key"]: m for m in messages}
    for response in (m for m in messages if m["message"].endswith("-RSP")):
        request = keys[response["request_key"]]
        assert request["message_id"] == response["message_id_being_responded_to"]
        assert request["frame"] == response["request_frame"]
        assert request["association_uid"] == response["association_uid"]


@pytest.mark.peer
def test_a_slow_scp_shows_in_scp_time_not_in_transfer(recorded: Recorded) -> None:
    responses = [m for m in recorded.rows["message"] if m["message"] == "C-STORE-RSP"]
    slow = next(m for m in responses if m["sop_instance_uid"] == recorded.slow_uid)
    fast = sorted(m["scp_time"] for m in responses if m is not slow)
    reference = fast[len(fast) // 2]  # the median of the same run's other stores
    assert slow["scp_time"] >= SLOW  # the handler slept that long before answering
    assert slow["scp_time"] > 3 * reference
    # the sleep came after the request's last byte and before the response's first
    assert slow["request_transfer_time"] < SLOW and slow["transfer_time"] < SLOW
    assert slow["response_time"] == pytest.approx(
        slow["scp_time"] + slow["transfer_time"], abs=1e-6
    )


@pytest.mark.peer
def test_stalls_of_a_real_recording_lie_inside_their_messages(
    recorded: Recorded, tmp_path: Path
) -> None:
    """At 30 ms the delayed-ACK pauses of senders that write a command and its data set apart
    (about 40 ms on Linux, as in fo-dicom/fo-dicom#2110) become stalls: each inside its message."""
    decode_to(recorded.capture, "csv", tmp_path, "--stall-threshold", "0.03")
    messages = read_csv(tmp_path)["message"]
    for row in messages:
        if row["stalls"]:
            assert row["longest_stall"] > 0.03
            assert row["longest_stall"] <= row["stall_time"] <= row["transfer_time"]
            assert row["first_frame"] < row["longest_stall_frame"] <= row["frame"]
    total = sum(row["stalls"] for row in messages)
    associations = read_csv(tmp_path)["association"]
    assert sum(a["stalls"] for a in associations) == total


def sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@pytest.mark.peer
def test_the_duckdb_queries_of_the_docs(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb comes with the test extra")
    latency, failures, silent = sql_blocks()
    monkeypatch.chdir(recorded.out)
    (recorded.out / "decoded").unlink(missing_ok=True)
    (recorded.out / "decoded").symlink_to(recorded.out / "parquet")
    messages = recorded.rows["message"]

    found = duckdb.sql(latency).fetchall()
    stores = [m for m in messages if m["message"] == "C-STORE-RSP"]
    titles = sorted({m["calling_ae_title"] for m in stores})
    assert sorted({row[0] for row in found}) == titles == ["MODALITY_A", "MODALITY_B", "STORESCU"]
    for title, _hour, count, p50, p95, slowest, scp_p50 in found:
        mine = [m for m in stores if m["calling_ae_title"] == title]
        if len({int(m["time"] // 3600) for m in mine}) == 1:  # the run stayed within one hour
            assert count == len(mine)
            assert p50 == pytest.approx(quantile([m["response_time"] for m in mine], 0.5))
            assert p95 == pytest.approx(quantile([m["response_time"] for m in mine], 0.95))
            assert slowest == max(m["response_time"] for m in mine)
            assert scp_p50 == pytest.approx(quantile([m["scp_time"] for m in mine], 0.5))
    assert max(row[5] for row in found if row[0] == "MODALITY_A") >= SLOW

    found = duckdb.sql(failures).fetchall()
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in found] == [
        ("MODALITY_A", "ARCHIVE", "C-STORE-RSP", REFUSED, 1)
    ]
    refused = next(m for m in messages if m["status"] == REFUSED)
    assert found[0][5] == refused["status_meaning"] and found[0][0] == "127.0.0.1"

    found = duckdb.sql(silent).fetchall()
    silent_rows = [a for a in recorded.rows["association"] if a["messages"] == 0]
    assert [(r[0], r[2], r[6]) for r in found] == [
        (a["association_uid"], a["calling_ae_title"], a["ended_by"]) for a in silent_rows
    ]
    assert [r[2] for r in found] == ["MONITOR"]


# -- synthetic captures: times known exactly ---------------------------------------------------

STALL_NS = 500_000_000
IDLE_NS = 1_000_000_000
WORK_NS = 300_000_000
FRAME_NS = 1_000_000  # Conversation puts 1 ms between frames


def stalled_store(tmp_path: Path, answer: bool = True) -> Path:
    """C-ECHO, an idle second, then a C-STORE whose data set PDU comes 0.5 s after its command
    PDU (a stall), answered 0.3 s after its last byte (the SCP's work)."""
    rq = build_request("MODALITY", "ARCHIVE", [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT])])
    accepted = respond(rq, {VERIFICATION: [IMPLICIT], CT: [EXPLICIT]})
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    dataset = b"\x08\x00\x18\x00UI\x06\x001.2.3\x00" + b"\x10\x00\x10\x00PN\x04\x00Doe^"
    store = C_STORE(
        MessageID=2,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID="1.2.3",
        Priority=0,
        DataSet=dataset,
    )
    conversation = Conversation(segment=1400).handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(echo, 1)).send(False, message(build_response(echo, 0), 1))
    conversation.time_ns += IDLE_NS  # between messages: idle, not a stall
    pdus = message(store, 3)
    command_pdu = 6 + int.from_bytes(pdus[2:6], "big")
    conversation.send(True, pdus[:command_pdu])
    conversation.time_ns += STALL_NS
    conversation.send(True, pdus[command_pdu:])
    if answer:
        conversation.time_ns += WORK_NS
        conversation.send(False, message(build_response(store, 0), 3))
    conversation.send(True, encode_pdu(AReleaseRQ())).send(False, encode_pdu(AReleaseRP()))
    path = tmp_path / "stalled.pcap"
    path.write_bytes(conversation.close().capture())
    return path


def rows_of(path: Path, **options: Any) -> tuple[list[Row], RowBuilder]:
    builder = RowBuilder()
    rows: list[Row] = []
    for record in decode_capture(str(path), **options):
        rows += builder.feed(record)
    return rows + builder.finish(), builder


def test_a_stall_inside_a_message_and_the_split_of_the_time(tmp_path: Path) -> None:
    rows, _ = rows_of(stalled_store(tmp_path))
    messages = {r.values["message"]: r.values for r in rows if r.table == "message"}
    store, answer = messages["C-STORE-RQ"], messages["C-STORE-RSP"]
    assert store["stalls"] == 1
    assert store["stall_time"] == store["longest_stall"] == (STALL_NS + FRAME_NS) / 1e9
    assert store["longest_stall_frame"] == store["frame"]  # the data set PDU ended it
    assert store["transfer_time"] == (STALL_NS + FRAME_NS) / 1e9
    assert answer["scp_time"] == (WORK_NS + FRAME_NS) / 1e9
    assert answer["request_transfer_time"] == store["transfer_time"]
    assert answer["response_time"] == answer["scp_time"] + answer["transfer_time"]
    assert all(m["stalls"] == 0 for name, m in messages.items() if name != "C-STORE-RQ")
    association = next(r.values for r in rows if r.table == "association")
    assert association["stalls"] == 1 and association["messages"] == 4
    # a threshold above the pause: no stall; none at all without a threshold
    for threshold in ((STALL_NS + 2 * FRAME_NS), None):
        quiet, _ = rows_of(stalled_store(tmp_path), stall_threshold_ns=threshold)
        assert all(r.values["stalls"] == 0 for r in quiet)


def test_stall_threshold_option(tmp_path: Path) -> None:
    capture = stalled_store(tmp_path)
    for threshold, stalls in (("0.2", 1), ("0.6", 0)):
        decode_to(capture, "csv", tmp_path / threshold, "--stall-threshold", threshold)
        found = read_csv(tmp_path / threshold)["message"]
        assert [m["stalls"] for m in found if m["message"] == "C-STORE-RQ"] == [stalls]
    assert main(["decode", str(capture), "--stall-threshold", "0"]) == 2


def test_a_request_never_answered_is_counted_and_forgotten(tmp_path: Path) -> None:
    capture = stalled_store(tmp_path, answer=False)
    builder = RowBuilder()
    held = []
    rows: list[Row] = []
    for record in decode_capture(str(capture)):
        rows += builder.feed(record)
        held.append(builder.waiting_requests)
    association = next(r.values for r in rows if r.table == "association")
    assert association["unanswered"] == 1 and association["requests"] == 2
    assert max(held) == 1  # the store waits; the echo was answered at once
    assert builder.open_associations == builder.waiting_requests == 0
    assert builder.finish() == []


def test_datasets_add_the_dicom_json_model_as_a_column(tmp_path: Path) -> None:
    capture = stalled_store(tmp_path)
    decode_to(capture, "csv", tmp_path / "csv", "--datasets")
    decode_to(capture, "ndjson", tmp_path / "rows.ndjson", "--datasets")
    with (tmp_path / "csv" / "messages.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0])[-1] == DATASET_COLUMN.name
    lines = [json.loads(line) for line in (tmp_path / "rows.ndjson").read_text().splitlines()]
    models = {o["key"]: o["dataset"] for o in lines if o["type"] == "message"}
    for row in table:
        shown = models[row["key"]]
        if shown is None:
            assert row["dataset_json"] == ""
        else:
            assert json.loads(row["dataset_json"]) == shown["json"]
    assert json.loads(next(r for r in table if r["message"] == "C-STORE-RQ")["dataset_json"])[
        "00100010"
    ] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^"}]}
    decode_to(capture, "csv", tmp_path / "plain")
    with (tmp_path / "plain" / "messages.csv").open(encoding="utf-8", newline="") as handle:
        assert DATASET_COLUMN.name not in next(csv.reader(handle))


def test_parquet_row_groups_and_parts(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow comes with the test extra")
    rows, _ = rows_of(stalled_store(tmp_path))
    rows = rows * 4  # 16 message rows and 4 association rows
    writer = ParquetWriter(tmp_path / "out", row_group=3, rows_per_part=7)
    for row in rows:
        writer.write(row)
    writer.close()
    parts = sorted((tmp_path / "out" / "messages").glob("*.parquet"))
    assert [p.name for p in parts] == [f"part-0000{i}.parquet" for i in range(3)]
    assert [pq.ParquetFile(p).metadata.num_rows for p in parts] == [7, 7, 2]
    assert pq.ParquetFile(parts[0]).metadata.num_row_groups > 1
    back = read_parquet(tmp_path / "out")
    assert back["message"] == [r.values for r in rows if r.table == "message"]
    assert back["association"] == [r.values for r in rows if r.table == "association"]


def test_zeek_log_of_a_capture_with_no_dicom_still_has_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(Conversation().handshake().close().capture())
    decode_to(path, "zeek", tmp_path / "zeek")
    header, rows = read_zeek(tmp_path / "zeek" / "dicom.log", MESSAGE_COLUMNS)
    assert rows == [] and "close" in header and header["unset_field"] == "-"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (("--format", "csv"), "--format csv writes files: give --output DIR"),
        (("--json", "--format", "zeek"), "--json is --format ndjson, not zeek"),
    ],
)
def test_format_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: tuple[str, ...], words: str
) -> None:
    assert main(["decode", str(stalled_store(tmp_path)), *options]) == 2
    assert capsys.readouterr().err == f"error: {words}\n"


NO_PYARROW = """
import importlib.abc, runpy, sys

class NoPyarrow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoPyarrow())
sys.argv = ["dimse-codec", *sys.argv[1:]]
runpy.run_module("dimse_codec.cli.main", run_name="__main__", alter_sys=True)
"""


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path) -> None:
    capture = stalled_store(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", NO_PYARROW, "decode", str(capture), "--format", "parquet",
         "--output", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "error: --format parquet needs pyarrow: pip install 'dimse-codec[parquet]'\n"
    )
    assert not (tmp_path / "out").exists()
    decode_to(capture, "csv", tmp_path / "csv")  # the other formats need nothing


def schema_table(heading: str) -> list[tuple[str, str, str]]:
    text = DOCS.read_text(encoding="utf-8").split(f"### {heading}\n", 1)[1]
    table = text.strip().split("\n\n", 1)[0].splitlines()[2:]
    out = []
    for line in table:
        name, kind, meaning = (cell.strip() for cell in line.strip("|").split(" | "))
        out.append((name.strip("`"), kind, meaning))
    return out


def test_the_schema_in_the_docs_is_the_schema() -> None:
    assert schema_table("Message rows") == [
        (c.name, c.type, c.meaning) for c in (*MESSAGE_COLUMNS, DATASET_COLUMN)
    ]
    assert schema_table("Association rows") == [
        (c.name, c.type, c.meaning) for c in ASSOCIATION_COLUMNS
    ]


def test_text_and_ndjson_go_to_output_as_they_would_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = str(stalled_store(tmp_path))
    for options, same in ((("--format", "text"), ()), (("--format", "ndjson"), ("--json",))):
        assert main(["decode", capture, *same]) == 0
        shown = capsys.readouterr().out
        assert main(["decode", capture, *options]) == 0
        assert capsys.readouterr().out == shown
        assert main(["decode", capture, *options, "--output", str(tmp_path / "out")]) == 0
        assert capsys.readouterr().out == ""
        assert (tmp_path / "out").read_text(encoding="utf-8") == shown
    assert shown.count('"type": "association_summary"') == 1


def test_ctrl_c_leaves_readable_rows_of_what_was_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow comes with the test extra")
    from dimse_codec.cli import _types, decode

    capture = stalled_store(tmp_path)
    records = list(decode_capture(str(capture)))
    stop = next(i for i, r in enumerate(records) if getattr(r, "name", "") == "C-STORE-RQ")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        yield from records[:stop]
        raise KeyboardInterrupt

    monkeypatch.setattr(decode, "decode_records", interrupted)
    code = main(["decode", str(capture), "--format", "parquet", "--output", str(tmp_path / "out")])
    assert code == _types.EXIT_INTERRUPTED
    back = read_parquet(tmp_path / "out")
    assert [m["message"] for m in back["message"]] == ["C-ECHO-RQ", "C-ECHO-RSP"]
    (association,) = back["association"]
    assert association["ended_by"] is None and association["state"] == "accepted"
    assert association["messages"] == 2
