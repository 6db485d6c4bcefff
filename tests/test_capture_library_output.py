"""A library user gets ``decode --json``'s objects and ``--export``'s files without the CLI.

:func:`dimse_codec.record_json` and :func:`dimse_codec.export_message` live in
:mod:`dimse_codec.capture` (``ndjson.py``, ``export.py``); the CLI only calls them. What the
library returns is what the CLI prints, byte for byte, and nothing of :mod:`dimse_codec.cli` is
loaded to get it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from pydicom import dcmread

import dimse_codec
from dimse_codec.capture import CapturedMessage, decode_capture
from dimse_codec.capture import ndjson as capture_ndjson
from dimse_codec.diagnostics import Diagnostic, DiagnosticCode, diagnostic_json
from dimse_codec.dimse.command_json import element_values

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
STATUSES = GOLDEN / "pynetdicom-statuses.pcap"
STORESCU = GOLDEN / "dcmtk-storescu.pcap"


def test_record_json_is_the_start_of_each_line_decode_json_prints() -> None:
    """The golden ``decode --json`` output: each record's line is ``json.dumps`` of
    :func:`record_json` with the row's columns after it (message lines), and nothing else."""
    lines = (GOLDEN / "pynetdicom-statuses.ndjson").read_text(encoding="utf-8").splitlines()
    shown = [line for line in lines if json.loads(line)["type"] != "association_summary"]
    records = list(decode_capture(STATUSES))
    assert len(records) == len(shown) == 19
    for record, line in zip(records, shown, strict=True):
        mine = json.dumps(dimse_codec.record_json(record))
        assert line.startswith(mine[:-1]), (mine, line)
        extra = json.loads(line).keys() - json.loads(mine).keys()
        assert not extra or isinstance(record, CapturedMessage), extra


def test_record_json_types_every_record_and_hides_secrets_unless_asked() -> None:
    capture = ROOT / "docs" / "examples" / "storage-commitment.pcap"
    records = list(decode_capture(capture))
    kinds = {dimse_codec.record_json(r)["type"] for r in records}
    assert kinds == {"association", "message"}
    accept = next(r for r in records if dimse_codec.record_json(r).get("event") == "accept")
    hidden = dimse_codec.record_json(accept)["user_identity"]["secondary_field"]
    shown = dimse_codec.record_json(accept, show_secrets=True)["user_identity"]["secondary_field"]
    assert hidden == "<19 bytes hidden>" and len(shown) == 19 and "hidden" not in shown


def test_record_json_with_datasets_gives_the_dicom_json_model() -> None:
    stores = [r for r in decode_capture(STORESCU) if isinstance(r, CapturedMessage) and r.dataset]
    assert stores
    line = dimse_codec.record_json(stores[0], datasets=True, max_dataset_json=None)
    model = line["dataset"]["json"]
    assert model["00080018"]["Value"] == [stores[0].primitive.AffectedSOPInstanceUID]
    assert line["dataset"]["sha256"] == stores[0].dataset_sha256
    with pytest.raises(dimse_codec.InvalidParameter, match="bulk_data"):
        dimse_codec.record_json(stores[0], datasets=True, bulk_data="base64")


def test_export_message_writes_a_part10_file_and_never_overwrites(tmp_path: Path) -> None:
    message = next(
        r
        for r in decode_capture(STORESCU)
        if isinstance(r, CapturedMessage) and r.name == "C-STORE-RQ"
    )
    path, why = dimse_codec.export_message(message, tmp_path, "STORESCU")
    assert why is None and path is not None
    assert path.name == f"a0-f{message.frame}-{message.primitive.AffectedSOPInstanceUID}.dcm"
    written = dcmread(path)
    meta = written.file_meta
    assert meta.MediaStorageSOPInstanceUID == message.primitive.AffectedSOPInstanceUID
    assert meta.TransferSyntaxUID == message.transfer_syntax
    assert meta.SourceApplicationEntityTitle == "STORESCU"
    assert path.read_bytes().endswith(bytes(message.dataset or b""))
    again, _ = dimse_codec.export_message(message, tmp_path)
    assert again is not None and again.name.endswith("-1.dcm") and path.is_file()


def test_export_message_says_why_it_skips(tmp_path: Path) -> None:
    echo = next(
        r
        for r in decode_capture(STATUSES)
        if isinstance(r, CapturedMessage) and r.name == "C-ECHO-RQ"
    )
    assert dimse_codec.export_message(echo, tmp_path) == (None, "no data set")
    assert list(tmp_path.iterdir()) == []


def test_the_library_output_loads_nothing_of_the_cli(tmp_path: Path) -> None:
    script = f"""
import json, sys
from pathlib import Path
import dimse_codec
for record in dimse_codec.decode_capture({str(STORESCU)!r}):
    json.dumps(dimse_codec.record_json(record, datasets=True))
    if getattr(record, "name", None) == "C-STORE-RQ":
        path, why = dimse_codec.export_message(record, Path({str(tmp_path)!r}))
        assert why is None, why
loaded = sorted(m for m in sys.modules if m.startswith("dimse_codec.cli"))
print(json.dumps(loaded))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    stores = [r for r in decode_capture(STORESCU) if getattr(r, "name", None) == "C-STORE-RQ"]
    assert len(list(tmp_path.glob("*.dcm"))) == len(stores) > 1


def test_the_parts_live_in_their_layers() -> None:
    """The command-set values and a diagnostic's JSON, which ``inspect`` shares, are library
    functions of the layers they describe."""
    echo = dimse_codec.encode_command_set(
        dimse_codec.C_ECHO(MessageID=7, AffectedSOPClassUID="1.2.840.10008.1.1")
    )
    values = element_values(echo)
    assert values["CommandField"] == 0x0030 and values["MessageID"] == 7
    assert values["AffectedSOPClassUID"] == "1.2.840.10008.1.1"
    found = Diagnostic(DiagnosticCode.DUPLICATE_TAG, "twice", offset=12, path="(0000,0110)")
    assert diagnostic_json(found) == {
        "code": "DUPLICATE_TAG",
        "offset": 12,
        "path": "(0000,0110)",
        "message": "twice",
    }


def test_the_documented_old_module_still_resolves_with_a_warning() -> None:
    from dimse_codec.cli import ndjson as old

    with pytest.warns(DeprecationWarning, match=r"cli\.ndjson\.record_json .*capture\.ndjson"):
        assert old.record_json is dimse_codec.record_json
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in capture_ndjson.__all__:
            assert getattr(old, name) is getattr(capture_ndjson, name)
