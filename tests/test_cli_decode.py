"""``dimse-codec decode``: text and NDJSON over the example capture and synthetic conversations."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pydicom
import pytest
from capture_builder import Frame, pcap
from conftest import require_tool
from dicom_conversation import (
    CT,
    EXPLICIT,
    IMPLICIT,
    VERIFICATION,
    Conversation,
    echo_and_store,
    lossy_store,
    message,
)
from pydicom.dataset import Dataset

from dimse_codec import C_ECHO, C_STORE
from dimse_codec.association import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    build_request,
    reject,
    respond,
)
from dimse_codec.capture import CapturedMessage, decode_capture
from dimse_codec.capture.export import export_message
from dimse_codec.cli.main import main
from dimse_codec.cli.summary import percentile
from dimse_codec.dataset import encode_dataset
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import (
    AAbort,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    RejectReasonUser,
    encode_pdu,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "storage-commitment.pcap"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
STORE_DATASET = b"\x08\x00\x16\x00UI\x06\x001.2.3\x00"  # echo_and_store()'s data set
MESSAGE_FIELDS: dict[str, tuple[type, ...]] = {
    "association": (int,),
    "direction": (str,),
    "frame": (int,),
    "first_frame": (int,),
    "time": (float, type(None)),
    "context_id": (int,),
    "abstract_syntax": (str, type(None)),
    "transfer_syntax": (str, type(None)),
    "transfer_syntax_guessed": (str, type(None)),
    "message": (str,),
    "command": (dict,),
    "status": (int, type(None)),
    "status_category": (str, type(None)),
    "status_meaning": (str, type(None)),
    "request_frame": (int, type(None)),
    "response_time": (float, type(None)),
    "dataset": (dict, type(None)),
    "diagnostics": (list,),
}
ASSOCIATION_FIELDS: dict[str, tuple[type, ...]] = {
    "association": (int,),
    "event": (str,),
    "state": (str,),
    "frame": (int,),
    "time": (float, type(None)),
    "requestor": (str, type(None)),
    "acceptor": (str, type(None)),
    "calling_ae_title": (str, type(None)),
    "called_ae_title": (str, type(None)),
    "requestor_implementation": (dict,),
    "acceptor_implementation": (dict,),
    "proposed_contexts": (list,),
    "accepted_contexts": (list,),
    "rejected_contexts": (list,),
    "max_pdu_length": (dict,),
    "user_identity": (dict, type(None)),
    "reject": (dict, type(None)),
    "abort": (dict, type(None)),
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["decode", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ndjson(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, "--json", *argv)
    assert code == 0 and err == ""
    lines = out.splitlines()
    objects = [json.loads(line) for line in lines]  # every line parses on its own
    kinds = ("association", "message", "gap", "diagnostic", "association_summary", "hint")
    assert all(o["type"] in kinds for o in objects)
    return objects


def write(tmp_path: Path, data: bytes, name: str = "capture.pcap") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# -- the example capture ---------------------------------------------------------------------


def test_example_text_is_one_line_per_record_and_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole text is tests/golden/storage-commitment.txt (test_golden_text.py); here what
    each line must hold whatever its wording."""
    code, out, err = run(capsys, str(EXAMPLE))
    assert code == 0 and err == ""
    assert out == (ROOT / "tests" / "golden" / "storage-commitment.txt").read_text()
    lines = out.splitlines()
    assert lines[0].startswith("a0 f4 0.000400 A-ASSOCIATE-RQ CT_MODALITY -> ARCHIVE ")
    assert "192.168.10.21:51515 -> 192.168.10.5:11112" in lines[0]
    assert "max-pdu=16384 impl=MODALITY_1_0" in lines[0]
    assert "user(USERNAME_AND_PASSCODE)=modality secret=<19 bytes hidden>" in lines[0]
    assert "not-a-real-password" not in out
    assert lines[1].endswith(
        "A-ASSOCIATE-AC max-pdu=16384 impl=ARCHIVE_2_3 accepted 2 of 2 contexts: "
        "Implicit VR LE: Verification; Explicit VR LE: Storage Commitment Push Model"
    )
    assert [line.split()[:2] for line in lines[:11]] == [
        ["a0", f"f{frame}"] for frame in (4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 13)
    ]
    assert lines[10].split(maxsplit=3)[3] == (
        "end CT_MODALITY -> ARCHIVE 0.875s released: 6 messages (3 rq, 3 rsp), 0 failures, "
        "0 warnings, 891 B -> 813 B <-, slowest N-ACTION-RSP 14.000ms (f9)"
    )
    assert lines[11] == "summary: 1 association(s), 6 message(s), 0 gap(s), 0 problem(s)"


def test_example_ndjson_fields_and_types(capsys: pytest.CaptureFixture[str]) -> None:
    objects = ndjson(capsys, str(EXAMPLE))
    assert [o["type"] for o in objects] == ["association"] * 2 + ["message"] * 6 + [
        "association"
    ] * 2 + ["association_summary"]
    objects.pop()  # the association's row, checked in test_cli_decode_formats.py
    for obj in objects:
        fields = MESSAGE_FIELDS if obj["type"] == "message" else ASSOCIATION_FIELDS
        for name, types in fields.items():
            assert isinstance(obj[name], types), (name, obj[name])
    request, accept = objects[0], objects[1]
    assert (request["event"], accept["event"], accept["state"]) == ("request", "accept", "accepted")
    assert request["requestor_implementation"] == {
        "class_uid": "1.2.826.0.1.3680043.10.1234",
        "version_name": "MODALITY_1_0",
    }
    assert accept["acceptor_implementation"]["version_name"] == "ARCHIVE_2_3"
    assert accept["max_pdu_length"] == {"requestor_receives": 16384, "acceptor_receives": 16384}
    assert request["proposed_contexts"][1] == {
        "id": 3,
        "abstract_syntax": STORAGE_COMMITMENT,
        "transfer_syntaxes": [EXPLICIT, IMPLICIT],
    }
    assert accept["accepted_contexts"] == [
        {"id": 1, "abstract_syntax": VERIFICATION, "transfer_syntax": IMPLICIT},
        {"id": 3, "abstract_syntax": STORAGE_COMMITMENT, "transfer_syntax": EXPLICIT},
    ]
    assert request["user_identity"] == {
        "type": "USERNAME_AND_PASSCODE",
        "primary_field": "modality",
        "secondary_field": "<19 bytes hidden>",
        "positive_response_requested": False,
    }
    action, action_rsp, report = objects[4], objects[5], objects[6]
    assert action["message"] == "N-ACTION-RQ" and action["direction"] == "requestor->acceptor"
    assert action["command"]["RequestedSOPClassUID"] == STORAGE_COMMITMENT
    assert action["command"]["ActionTypeID"] == 1 and action["command"]["MessageID"] == 2
    assert action["dataset"]["length"] == 214 and action["dataset"]["transfer_syntax"] == EXPLICIT
    assert "json" not in action["dataset"]
    assert action_rsp["request_frame"] == action["frame"] == 8
    assert action_rsp["response_time"] == pytest.approx(0.014)
    assert (action_rsp["status"], action_rsp["status_category"]) == (0, "Success")
    assert report["direction"] == "acceptor->requestor" and report["command"]["EventTypeID"] == 1
    assert objects[-1]["state"] == "released"


def test_ndjson_matches_the_python_api(capsys: pytest.CaptureFixture[str]) -> None:
    objects = [o for o in ndjson(capsys, str(EXAMPLE)) if o["type"] == "message"]
    records = [r for r in decode_capture(str(EXAMPLE)) if isinstance(r, CapturedMessage)]
    assert len(objects) == len(records)
    for obj, record in zip(objects, records, strict=True):
        assert obj["frame"] == record.frame and obj["message"] == record.name
        assert obj["time"] == pytest.approx((record.time_ns or 0) / 1e9)
        if record.dataset is not None:
            assert obj["dataset"]["sha256"] == hashlib.sha256(record.dataset).hexdigest()


def test_show_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    request = ndjson(capsys, "--show-secrets", str(EXAMPLE))[0]
    assert request["user_identity"]["secondary_field"] == "not-a-real-password"
    code, out, _ = run(capsys, "--show-secrets", str(EXAMPLE))
    assert code == 0 and "secret=not-a-real-password" in out


def test_datasets_as_the_dicom_json_model(capsys: pytest.CaptureFixture[str]) -> None:
    objects = ndjson(capsys, "--datasets", str(EXAMPLE))
    action = next(o for o in objects if o.get("message") == "N-ACTION-RQ")
    model = action["dataset"]["json"]
    assert model["00081195"] == {"vr": "UI", "Value": ["1.2.826.0.1.3680043.10.1234.1"]}
    items = model["00081199"]["Value"]
    assert [i["00081155"]["Value"][0] for i in items] == [
        "1.2.826.0.1.3680043.10.1234.2.1",
        "1.2.826.0.1.3680043.10.1234.2.2",
    ]
    report = next(o for o in objects if o.get("message") == "N-EVENT-REPORT-RQ")
    assert report["dataset"]["json"]["00080054"]["Value"] == ["ARCHIVE"]


def test_make_capture_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "again.pcap"
    script = ROOT / "docs" / "examples" / "make_capture.py"
    subprocess.run([sys.executable, str(script), str(out)], check=True, capture_output=True)
    assert out.read_bytes() == EXAMPLE.read_bytes()


def test_message_and_pdu_counts_agree_with_tshark() -> None:
    """tshark 4.0 finds the same PDUs and messages; where it is weaker is in what it reports.

    It shows the user identity passcode in clear, does not link responses to requests by frame,
    and keeps one DICOM state per conversation (docs/decode.md).
    """
    tshark = require_tool("tshark")
    result = subprocess.run(
        [tshark, "-r", str(EXAMPLE), "-d", "tcp.port==11112,dicom", "-T", "fields",
         "-e", "dicom.pdu.type", "-e", "dicom.pdv.flags"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    pdu_types: list[int] = []
    last_command_pdvs = 0
    for line in result.stdout.splitlines():
        types, _, flags = line.partition("\t")
        pdu_types += [int(t, 16) for t in types.split(",") if t]
        last_command_pdvs += sum(int(f, 16) == 0x03 for f in flags.split(",") if f)
    records = list(decode_capture(str(EXAMPLE)))
    messages = [r for r in records if isinstance(r, CapturedMessage)]
    events = [r for r in records if not isinstance(r, CapturedMessage)]
    assert last_command_pdvs == len(messages) == 6  # one last command fragment per message
    assert [t for t in pdu_types if t != 0x04] == [0x01, 0x02, 0x05, 0x06]
    assert len(events) == 4
    # a P-DATA-TF per command and one per data set (encode_pdata keeps them apart)
    with_dataset = sum(m.dataset is not None for m in messages)
    assert pdu_types.count(0x04) == len(messages) + with_dataset == 8


# -- synthetic conversations ------------------------------------------------------------------


def test_the_everyday_conversation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, echo_and_store(segment=7).capture())
    objects = ndjson(capsys, path)
    messages = [o for o in objects if o["type"] == "message"]
    assert [m["message"] for m in messages] == [
        "C-ECHO-RQ",
        "C-ECHO-RSP",
        "C-STORE-RQ",
        "C-STORE-RSP",
    ]
    store, store_rsp = messages[2], messages[3]
    assert store["first_frame"] < store["frame"]
    assert store["abstract_syntax"] == CT and store["command"]["AffectedSOPInstanceUID"] == "1.2.3"
    assert store_rsp["status"] == 0xB000 and store_rsp["status_category"] == "Warning"
    assert store_rsp["request_frame"] == store["frame"]
    code, out, _ = run(capsys, path)
    assert code == 0
    assert re.search(r"C-STORE-RSP id=2 status=B000H Warning \(.+\) rq=f\d+ ", out)
    assert "statuses: 0000H Success 1, B000H Warning 1" in out


def test_mid_stream_capture_shows_guessed_transfer_syntax(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = echo_and_store().frames[5:]
    path = write(tmp_path, pcap(frames, link_type=101, nanoseconds=True))
    code, out, _ = run(capsys, path)
    assert code == 0
    assert "capture began inside the association" in out
    assert re.search(rf"C-STORE-RQ id=2 ds=\d+B ts={re.escape(EXPLICIT)} \(guessed\)", out)
    # the first gap comes before any DICOM was seen, so its direction is still "unknown"
    assert "gap unknown at offset 0: unknown number of bytes missing (STREAM_START)" in out
    objects = ndjson(capsys, path)
    store = next(o for o in objects if o.get("message") == "C-STORE-RQ")
    assert isinstance(store["transfer_syntax_guessed"], str) and store["abstract_syntax"] is None
    gaps = [o for o in objects if o["type"] == "gap"]
    assert gaps and all(g["reason"] == "STREAM_START" and g["length"] is None for g in gaps)


def test_port_makes_a_lone_response_dicom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    echo = C_ECHO(MessageID=5, AffectedSOPClassUID=VERIFICATION)
    conversation = Conversation(server=("10.0.0.2", 4242))
    conversation.send(False, message(build_response(echo, 0), 1))
    path = write(tmp_path, conversation.capture())
    assert [o for o in ndjson(capsys, path) if o["type"] == "message"] == []
    found = [o for o in ndjson(capsys, "--port", "4242", path) if o["type"] == "message"]
    assert [(m["message"], m["direction"]) for m in found] == [
        ("C-ECHO-RSP", "acceptor->requestor")
    ]


def test_reject_and_abort(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rq = build_request("SCU", "SCP", [(VERIFICATION, [IMPLICIT])])
    rejected = Conversation().handshake()
    rejected.send(True, encode_pdu(rq))
    rejected.send(False, encode_pdu(reject(RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED).pdu))
    path = write(tmp_path, rejected.close().capture(), "rj.pcap")
    event = next(o for o in ndjson(capsys, path) if o["event"] == "reject")
    assert event["reject"] == {
        "result": "REJECTED_PERMANENT",
        "source": "SERVICE_USER",
        "reason": "CALLED_AE_TITLE_NOT_RECOGNIZED",
    }
    _, out, _ = run(capsys, path)
    assert "A-ASSOCIATE-RJ result=REJECTED_PERMANENT source=SERVICE_USER" in out

    aborted = Conversation().handshake()
    aborted.send(True, encode_pdu(rq))
    aborted.send(
        False, encode_pdu(AAbort(AbortSource.SERVICE_PROVIDER, AbortReason.UNEXPECTED_PDU))
    )
    path = write(tmp_path, aborted.close().capture(), "abort.pcap")
    event = next(o for o in ndjson(capsys, path) if o["event"] == "abort")
    assert event["abort"] == {"source": "SERVICE_PROVIDER", "reason": "UNEXPECTED_PDU"}
    assert event["state"] == "aborted"
    _, out, _ = run(capsys, path)
    assert "A-ABORT source=SERVICE_PROVIDER reason=UNEXPECTED_PDU" in out


# -- errors and edges ---------------------------------------------------------------------------


def test_truncated_capture_decodes_what_is_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = EXAMPLE.read_bytes()
    cut = data.rindex(b"1.2.826.0.1.3680043.10.1234.1")  # inside frame 10, the N-EVENT-REPORT
    path = write(tmp_path, data[:cut])
    code, out, err = run(capsys, path)
    assert code == 0 and err == ""
    assert out.count("requestor->acceptor pc=") + out.count("acceptor->requestor pc=") == 4
    assert "capture ended inside the association" in out
    assert re.search(r"a\? f\? - problem STREAM_TRUNCATED: capture truncated inside a", out)
    last = ndjson(capsys, path)[-1]
    assert last["type"] == "diagnostic" and last["code"] == "STREAM_TRUNCATED"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        (b"GIF89a this is not a capture file", "is not a pcap or pcapng capture"),
        (pcap([Frame(0, b"\0" * 40)], link_type=105), "unsupported link type 105"),
    ],
)
def test_unreadable_inputs_are_one_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, expected: str
) -> None:
    path = str(tmp_path / "missing.pcap") if content is None else write(tmp_path, content)
    for options in ((), ("--json",)):
        code, out, err = run(capsys, *options, path)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("error: ") and expected in err
        assert "Traceback" not in err


def test_no_progress_when_stderr_is_not_a_terminal() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dimse_codec.cli.main", "decode", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr == "" and result.stdout.startswith("a0 f4 ")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, f) for f in (0.5, 0.9, 0.99, 1.0)] == [50, 90, 99, 100]
    assert percentile([7.0], 0.5) == 7.0


def test_docs_examples_run() -> None:
    text = (ROOT / "docs" / "decode.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for index, code in enumerate(blocks):
        exec(compile(code, f"docs/decode.md[{index}]", "exec"), namespace)


# -- --export ----------------------------------------------------------------------------------


def meta_end(data: bytes) -> int:
    """Offset of the first data set byte: preamble, DICM, group length element, the group."""
    assert data[:128] == b"\0" * 128 and data[128:132] == b"DICM"
    assert data[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    return 144 + int.from_bytes(data[140:144], "little")


def test_export_writes_part10_files_with_bare_uids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, echo_and_store(segment=7).capture())
    out_dir = tmp_path / "new" / "dir"  # created, parents too
    code, out, err = run(capsys, "--export", str(out_dir), path)
    assert code == 0 and err == ""
    files = sorted(out_dir.iterdir())
    assert len(files) == 1
    assert re.fullmatch(r"a0-f\d+-1\.2\.3\.dcm", files[0].name)
    assert f"exported C-STORE-RQ data set to {files[0]}" in out
    assert "guessed" not in out

    data = files[0].read_bytes()
    assert data[meta_end(data) :] == STORE_DATASET  # the data set exactly as carried
    assert b"CT Image Storage" not in data and b"Explicit VR Little Endian" not in data
    ds = pydicom.dcmread(files[0])
    meta = ds.file_meta
    assert meta.FileMetaInformationGroupLength == meta_end(data) - 144
    assert meta.FileMetaInformationVersion == b"\x00\x01"
    assert str(meta.MediaStorageSOPClassUID) == CT
    assert str(meta.MediaStorageSOPInstanceUID) == "1.2.3"
    assert str(meta.TransferSyntaxUID) == EXPLICIT
    assert str(meta.ImplementationClassUID) == IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == IMPLEMENTATION_VERSION_NAME
    assert meta.SourceApplicationEntityTitle == "STORESCU"
    assert ds.SOPClassUID == "1.2.3"
    # UIDs are NUL-padded, strings space-padded, lengths even
    assert b"UI\x06\x001.2.3\x00" in data[: meta_end(data)]
    assert b"AE\x08\x00STORESCU" in data[: meta_end(data)]

    # never overwrite: a second run adds a suffix; NDJSON names the file
    objects = ndjson(capsys, "--export", str(out_dir), path)
    store = next(o for o in objects if o.get("message") == "C-STORE-RQ")
    second = Path(store["exported"])
    assert second.name == files[0].name.replace(".dcm", "-1.dcm")
    assert second.read_bytes() == data and store["export_skipped"] is None
    assert all("exported" not in o for o in objects if o.get("message") != "C-STORE-RQ")
    plain = next(o for o in ndjson(capsys, path) if o.get("message") == "C-STORE-RQ")
    assert "exported" not in plain  # the field only appears with --export


def test_an_incomplete_message_is_counted_marked_and_not_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, lossy_store())
    out_dir = tmp_path / "out"
    (gap,) = [o for o in ndjson(capsys, path) if o["type"] == "gap"]
    code, out, err = run(capsys, "--export", str(out_dir), path)
    assert code == 0 and err == ""
    lost = gap["length"]
    reason = (
        f"its last fragment arrived, but 1 gap(s) lost {lost} bytes of the stream while it was sent"
    )
    (line,) = [x for x in out.splitlines() if " C-STORE-RQ id=2 " in x]
    assert f" gaps=1 ({lost}B missing) (incomplete: {reason})" in line
    assert line.endswith(f"(incomplete: {reason})")
    skipped = rf"export skipped \(C-STORE-RQ\): incomplete: {re.escape(reason)}$"
    assert re.search(skipped, out, re.M)
    assert list(out_dir.iterdir()) == []  # a partial data set is never written as a file
    assert "messages: C-ECHO-RQ 1, C-ECHO-RSP 1, C-STORE-RQ 1, C-STORE-RSP 1" in out
    assert "problems: MESSAGE_INCOMPLETE 1, STREAM_GAP 1" in out  # a gap, not "ended"
    rsp = next(x for x in out.splitlines() if " C-STORE-RSP id=2 " in x)
    assert re.search(r"\brq=f(\d+)", rsp)[1] == re.search(r"^a0 f(\d+)", line)[1]  # type: ignore[index]

    objects = ndjson(capsys, "--datasets", path)
    store = next(o for o in objects if o.get("message") == "C-STORE-RQ")
    assert store["incomplete"] is True and store["incomplete_reason"] == reason
    assert store["message_id"] == 2 and store["sop_instance_uid"] == "1.2.3"
    assert store["dataset"]["sha256"] is None and store["dataset_sha256"] is None
    assert 0 < store["dataset"]["length"] == store["dataset_bytes"] < 410
    assert "json" not in store["dataset"] and "partial" in store["dataset"]["error"]
    assert "MESSAGE_INCOMPLETE" in store["diagnostic_codes"]
    assert store["gap_list"] == [{"offset": gap["offset"], "length": lost}]
    assert (store["gaps"], store["bytes_missing"]) == (1, lost)
    assert store["dataset_bytes"] <= store["dataset_announced"] <= store["dataset_bytes"] + lost
    others = [o for o in objects if o["type"] == "message" and o is not store]
    assert others and all(o["incomplete"] is False for o in others)
    assert all(o["incomplete_reason"] is None for o in others)

    code, _, err = run(capsys, "--format", "csv", "--output", str(tmp_path / "csv"), path)
    assert code == 0 and err.startswith("decode: 4 message row(s)")
    with (tmp_path / "csv" / "messages.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["message"]: row for row in csv.DictReader(handle)}
    assert rows["C-STORE-RQ"]["incomplete"] == "true" and rows["C-STORE-RQ"]["dataset_sha256"] == ""
    assert rows["C-STORE-RSP"]["incomplete"] == "false"

    found = [r for r in decode_capture(Path(path).read_bytes()) if isinstance(r, CapturedMessage)]
    incomplete = next(m for m in found if m.name == "C-STORE-RQ")
    assert export_message(incomplete, out_dir) == (None, f"incomplete: {reason}")


def test_export_deflated_stays_deflated_and_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = Dataset()
    original.SOPClassUID = CT
    original.SOPInstanceUID = "1.2.826.0.1.3680043.10.1234.9"
    original.PatientName = "Doe^Jane"
    original.PatientID = "ID-42"
    original.StudyDescription = "deflated " * 7  # compresses
    wire = encode_dataset(original, DEFLATED)
    rq = build_request("MODALITY", "ARCHIVE", [(CT, [DEFLATED, EXPLICIT])])
    accepted = respond(rq, {CT: [DEFLATED]})
    store = C_STORE(
        MessageID=7,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID=original.SOPInstanceUID,
        Priority=0,
        DataSet=wire,
    )
    conversation = Conversation().handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(store, 1, max_pdu=256))
    conversation.send(False, message(build_response(store, 0x0000), 1))
    conversation.send(True, encode_pdu(AReleaseRQ())).send(False, encode_pdu(AReleaseRP()))
    path = write(tmp_path, conversation.close().capture())
    code, out, _ = run(capsys, "--export", str(tmp_path / "out"), path)
    assert code == 0 and "guessed" not in out
    (exported,) = (tmp_path / "out").iterdir()
    assert exported.name.endswith("-1.2.826.0.1.3680043.10.1234.9.dcm")
    data = exported.read_bytes()
    assert data[meta_end(data) :] == wire  # still deflated, byte for byte
    ds = pydicom.dcmread(exported)
    assert str(ds.file_meta.TransferSyntaxUID) == DEFLATED
    assert ds.file_meta.SourceApplicationEntityTitle == "MODALITY"
    for keyword in ("SOPClassUID", "SOPInstanceUID", "PatientName", "PatientID"):
        assert str(ds[keyword].value) == str(original[keyword].value)
    assert ds.StudyDescription.strip() == original.StudyDescription.strip()


def test_export_with_a_guessed_transfer_syntax_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, pcap(echo_and_store().frames[5:], link_type=101, nanoseconds=True))
    code, out, _ = run(capsys, "--export", str(tmp_path / "out"), path)
    assert code == 0
    assert re.search(
        rf"exported C-STORE-RQ data set to \S+ \(transfer syntax {re.escape(EXPLICIT)} guessed\)",
        out,
    )
    (exported,) = (tmp_path / "out").iterdir()
    meta = pydicom.dcmread(exported).file_meta
    assert str(meta.TransferSyntaxUID) == EXPLICIT
    assert "SourceApplicationEntityTitle" not in meta  # no A-ASSOCIATE-RQ seen


def test_export_skips_a_store_without_data_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rq = build_request("A", "B", [(CT, [EXPLICIT])])
    bare = C_STORE(MessageID=3, AffectedSOPClassUID=CT, AffectedSOPInstanceUID="1.2.4", Priority=0)
    conversation = Conversation().handshake()
    conversation.send(True, encode_pdu(rq))
    conversation.send(False, encode_pdu(respond(rq, {CT: [EXPLICIT]}).pdu))
    conversation.send(True, bytes(encode_pdata(bare, 1, max_pdu_length=16382, check=False)))
    path = write(tmp_path, conversation.close().capture())
    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, "--export", str(out_dir), path)
    assert code == 0 and re.search(
        r"a0 f\d+ [\d.]+ export skipped \(C-STORE-RQ\): no data set", out
    )
    assert list(out_dir.iterdir()) == []
    store = next(o for o in ndjson(capsys, "--export", str(out_dir), path) if "message" in o)
    assert store["exported"] is None and store["export_skipped"] == "no data set"


def test_export_skips_without_data_set_or_transfer_syntax(tmp_path: Path) -> None:
    records = decode_capture(echo_and_store().capture())
    store = next(r for r in records if isinstance(r, CapturedMessage) and r.name == "C-STORE-RQ")
    for changed, why in (
        (replace(store, dataset=None), "no data set"),
        (replace(store, transfer_syntax=None), "no transfer syntax"),
    ):
        written, reason = export_message(changed, tmp_path)
        assert written is None and reason is not None and reason.startswith(why)
    assert list(tmp_path.iterdir()) == []


def test_export_into_a_file_is_one_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, echo_and_store().capture())
    code, out, err = run(capsys, "--export", path, path)
    assert code == 2 and out == "" and err.startswith("error: cannot create ")
