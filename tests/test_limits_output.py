"""Outputs proportional to what was asked for, and one set of exit codes (issue 11, items 2 and 4).

The issue's row: a capture of a few hundred kilobytes whose deflated data set inflates to a
256 MiB OB Pixel Data made ``decode --json --datasets`` peak at 1.1 GB and print 358 MB of base64.
Here the same capture is built at 32 MiB (and 1 MiB, to see the output does not follow the
bytes); bulk data is shown as its digest and length, the JSON of one data set has a cap, and the
peak memory (tracemalloc, in process) is bounded by a small multiple of the inflated size.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import re
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from dicom_conversation import Conversation, message
from pydicom.dataset import Dataset

from dimse_codec import C_STORE
from dimse_codec.association import build_request, respond
from dimse_codec.capture import ndjson
from dimse_codec.cli import _types
from dimse_codec.cli import decode as decode_command
from dimse_codec.cli.main import main
from dimse_codec.dataset import decode_dataset
from dimse_codec.dimse.responses import build_response
from dimse_codec.errors import LimitExceeded
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, encode_pdu

ROOT = Path(__file__).resolve().parent.parent
CT = "1.2.840.10008.5.1.4.1.1.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
EXPLICIT = "1.2.840.10008.1.2.1"
MiB = 1 << 20
PIXEL_DATA = "7FE00010"


def _explicit(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element (PS3.5 7.1.2)."""
    head = struct.pack("<HH", group, element) + vr
    if vr in (b"OB", b"OW", b"UN", b"UT", b"SQ"):
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def dataset_bytes(pixels: int, *, fill: int = 0) -> tuple[bytes, bytes]:
    """A CT-like data set in Explicit VR LE ending in ``pixels`` bytes of OB Pixel Data, as the
    bytes before the pixels and the pixel value (kept apart so the test need not join them)."""
    head = _explicit(0x0008, 0x0016, b"UI", CT.encode() + b"\x00")
    head += _explicit(0x0008, 0x0018, b"UI", b"1.2.3.4\x00")
    head += _explicit(0x0010, 0x0010, b"PN", b"Doe^Jane")
    head += _explicit(0x0028, 0x0100, b"US", struct.pack("<H", 8))
    head += b"\xe0\x7f\x10\x00OB\x00\x00" + struct.pack("<I", pixels)
    return head, bytes([fill]) * pixels


def deflated(head: bytes, pixels: bytes) -> bytes:
    """Raw DEFLATE of ``head + pixels`` (PS3.5 A.5), padded to even length."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = compressor.compress(head) + compressor.compress(pixels) + compressor.flush()
    return out + b"\x00" if len(out) % 2 else out


def store_capture(path: Path, dataset: bytes, syntax: str = DEFLATED) -> Path:
    """Associate, one C-STORE-RQ carrying ``dataset`` in ``syntax`` and its response, release."""
    rq = build_request("MODALITY", "ARCHIVE", [(CT, [syntax])])
    accepted = respond(rq, {CT: [syntax]})
    store = C_STORE(
        MessageID=1,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID="1.2.3.4",
        Priority=0,
        DataSet=dataset,
    )
    conversation = Conversation(segment=16000).handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(store, 1))
    conversation.send(False, message(build_response(store, 0x0000), 1))
    conversation.send(True, encode_pdu(AReleaseRQ())).send(False, encode_pdu(AReleaseRP()))
    path.write_bytes(conversation.close().capture())
    return path


def pixel_capture(tmp_path: Path, pixels: int, *, name: str = "pixels.pcap") -> Path:
    head, value = dataset_bytes(pixels)
    return store_capture(tmp_path / name, deflated(head, value))


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", "--json", "--datasets", *args])
    out, err = capsys.readouterr()
    return code, out, err


def store_record(out: str) -> dict[str, object]:
    objects = [json.loads(line) for line in out.splitlines()]
    return next(o for o in objects if o.get("message") == "C-STORE-RQ")


# -- bulk data as digest and length --------------------------------------------------------------


def test_pixel_data_is_its_digest_and_length_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = pixel_capture(tmp_path, 4 * MiB)
    code, out, _ = run_json(capsys, str(capture))
    assert code == _types.EXIT_OK
    assert "InlineBinary" not in out
    model = store_record(out)["dataset"]["json"]  # type: ignore[index]
    digest = hashlib.sha256(bytes(4 * MiB)).hexdigest()
    assert model[PIXEL_DATA] == {"vr": "OB", "BulkDataURI": f"sha256:{digest};length={4 * MiB}"}
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]}
    assert model["00280100"] == {"vr": "US", "Value": [8]}
    assert len(out) < 12000  # two messages and their rows; 4 MiB of pixels inline would be 5.6 MB


def test_output_follows_the_elements_not_the_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = {}
    for pixels in (MiB, 32 * MiB):
        capture = pixel_capture(tmp_path, pixels, name=f"p{pixels}.pcap")
        code, out, _ = run_json(capsys, str(capture))
        assert code == _types.EXIT_OK and "InlineBinary" not in out
        record = store_record(out)
        sizes[pixels] = len(json.dumps(record["dataset"]["json"]))  # type: ignore[index]
    # 32 times the bytes: the model differs only by the digits of the length
    assert abs(sizes[32 * MiB] - sizes[MiB]) <= 2


def test_small_binary_values_stay_inline(tmp_path: Path) -> None:
    head, value = dataset_bytes(ndjson.BULK_DATA_THRESHOLD, fill=7)
    ds = decode_dataset(head + value, EXPLICIT)
    model = ndjson.dataset_model(ds)
    assert model[PIXEL_DATA]["InlineBinary"] == base64.b64encode(value).decode()
    head, value = dataset_bytes(ndjson.BULK_DATA_THRESHOLD + 2, fill=7)
    model = ndjson.dataset_model(decode_dataset(head + value, EXPLICIT))
    assert model[PIXEL_DATA]["BulkDataURI"].startswith("sha256:")


def test_bulk_data_inline_keeps_the_base64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, value = dataset_bytes(64 * 1024, fill=0x5A)
    capture = store_capture(tmp_path / "small.pcap", head + value, EXPLICIT)
    code, out, _ = run_json(capsys, "--bulk-data", "inline", str(capture))
    assert code == _types.EXIT_OK
    model = store_record(out)["dataset"]["json"]  # type: ignore[index]
    assert model[PIXEL_DATA] == {"vr": "OB", "InlineBinary": base64.b64encode(value).decode()}
    # exactly what pydicom's own DICOM JSON model gives (the output before bulk data digests)
    assert model == decode_dataset(head + value, EXPLICIT).to_json_dict()


def test_inline_with_no_cap_is_the_whole_base64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = pixel_capture(tmp_path, 2 * MiB)
    code, out, _ = run_json(
        capsys, "--bulk-data", "inline", "--max-dataset-json", "0", str(capture)
    )
    assert code == _types.EXIT_OK
    model = store_record(out)["dataset"]["json"]  # type: ignore[index]
    assert base64.b64decode(model[PIXEL_DATA]["InlineBinary"]) == bytes(2 * MiB)


# -- the cap on the JSON of one data set ---------------------------------------------------------


def test_a_data_set_past_the_cap_is_cut_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = pixel_capture(tmp_path, 2 * MiB)
    code, out, err = run_json(capsys, "--bulk-data", "inline", str(capture))
    assert code == _types.EXIT_OK
    dataset = store_record(out)["dataset"]
    assert isinstance(dataset, dict)
    assert "json" not in dataset and "error" not in dataset
    assert "--max-dataset-json 1048576" in dataset["json_cut"]
    assert "(met at data set > (7FE0,0010))" in dataset["json_cut"]
    assert dataset["length"] > 0 and re.fullmatch(r"[0-9a-f]{64}", dataset["sha256"])
    assert len(out) < 12000  # the 2 MiB of base64 was never written (nor built)
    assert "1 data set(s) longer than --max-dataset-json 1048576" in err


def test_the_cap_counts_many_small_elements(tmp_path: Path) -> None:
    # 2000 private elements of 64 bytes each: about 200 KB of JSON
    body = b"".join(
        _explicit(0x0009, 0x1000 + index, b"LO", b"x" * 64) for index in range(0x10, 0x10 + 2000)
    )
    body = _explicit(0x0009, 0x0010, b"LO", b"TESTCREATOR ") + body
    ds = decode_dataset(body, EXPLICIT)
    whole = ndjson.dataset_model(ds)
    size = len(json.dumps(whole))
    assert size == len(json.dumps(ds.to_json_dict()))
    assert ndjson.dataset_model(ds, max_json=size + 1000) == whole
    with pytest.raises(ndjson.DatasetJsonCut):
        ndjson.dataset_model(ds, max_json=size // 2)


def test_the_cap_is_checked_before_a_long_value_is_built() -> None:
    ds = Dataset()
    ds.add_new(0x00080016, "UI", CT)
    ds.add_new(0x00204000, "UT", "y" * (4 * MiB))
    tracemalloc.start()
    try:
        with pytest.raises(ndjson.DatasetJsonCut) as cut:
            ndjson.dataset_model(ds, max_json=MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MiB  # no JSON string of the 4 MiB text was made
    assert isinstance(cut.value, LimitExceeded)  # the library's one exception family
    assert (
        str(cut.value)
        == "data set > (0020,4000): the DICOM JSON model is longer than 1048576 bytes"
    )


def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--max-dataset-json", "-1", "x.pcap"]) == _types.EXIT_USAGE
    assert "not a number of bytes" in capsys.readouterr().err
    assert main(["decode", "--bulk-data", "base64", "x.pcap"]) == _types.EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


# -- memory ---------------------------------------------------------------------------------------


def test_peak_memory_is_a_small_multiple_of_the_inflated_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pixels = 32 * MiB
    capture = pixel_capture(tmp_path, pixels)
    assert capture.stat().st_size < pixels // 200  # a small capture, a large data set
    tracemalloc.start()
    try:
        code = main(["decode", "--json", "--datasets", str(capture)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out, _ = capsys.readouterr()
    assert code == _types.EXIT_OK and "BulkDataURI" in out
    # the inflated data set exists once, and the decoder copies the pixel value out of it once;
    # no base64, no whole-JSON string (that was 4.4 times the inflated size before)
    assert peak < 2.5 * pixels, f"peak {peak / MiB:.1f} MiB for {pixels / MiB:.0f} MiB inflated"


# -- exit codes -----------------------------------------------------------------------------------


def exit_code_table() -> dict[int, str]:
    """The one table of docs/cli.md's "Exit codes" section, code to constant name."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(EXIT_[A-Z_]+)` \|", section, re.MULTILINE)
    assert section.count("\n|") - 2 == len(rows)  # every row of the table was read
    return {int(code): name for code, name in rows}


def test_the_exit_code_table_is_the_constants() -> None:
    constants = {getattr(_types, name): name for name in _types.__all__ if name.startswith("EXIT_")}
    assert len(constants) == len([n for n in _types.__all__ if n.startswith("EXIT_")])
    assert exit_code_table() == constants
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert text.count("## Exit codes") == 1  # one place, one table


def test_no_subcommand_returns_a_bare_number() -> None:
    # every return of main() and of each subcommand's run() is an EXIT_ constant (or a choice
    # of them), never a literal; and nothing in the CLI calls sys.exit with a number
    for module in ("main", "decode", "inspect", "fuzz"):
        source = (ROOT / "dimse_codec" / "cli" / f"{module}.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        handlers = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name in ("main", "run")
        ]
        assert handlers, module
        for handler in handlers:
            for node in ast.walk(handler):
                if isinstance(node, ast.Return) and node.value is not None:
                    for part in ast.walk(node.value):
                        assert not isinstance(part, ast.Constant), (module, ast.unparse(node))
                        if isinstance(part, ast.Name) and part.id.isupper():
                            assert part.id.startswith("EXIT_"), (module, ast.unparse(node))
        assert not re.search(r"sys\.exit\(\d", source), module


def test_decode_interrupted_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = pixel_capture(tmp_path, 1024)

    def interrupted(*args: object, **kwargs: object) -> object:
        yield from ()
        raise KeyboardInterrupt

    monkeypatch.setattr(decode_command, "decode_records", interrupted)
    assert main(["decode", "--json", str(capture)]) == _types.EXIT_INTERRUPTED
    _, err = capsys.readouterr()
    assert err.strip() == "dimse-codec: interrupted"


def test_decode_into_a_closed_pipe_is_quiet_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    capture = pixel_capture(tmp_path, 1024)
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["decode", "--json", "--datasets", str(capture)]) == _types.EXIT_BROKEN_PIPE


def test_decode_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    # about 3 MB of NDJSON (the base64 of 2 MiB), far more than a pipe holds
    capture = pixel_capture(tmp_path, 2 * MiB)
    command = [sys.executable, "-m", "dimse_codec.cli.main", "decode", "--json", "--datasets"]
    command += ["--bulk-data", "inline", "--max-dataset-json", "0", str(capture)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(100)
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait() == _types.EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err and err == ""


# -- the second row: 3,000,000 empty items in a captured C-STORE ------------------------


def empty_items_capture(tmp_path: Path, items: int, name: str) -> Path:
    """A capture whose one deflated C-STORE data set is a sequence of ``items`` empty items
    (3,000,000 of them: 35 KB on the wire, 24 MB inflated)."""
    head, _ = dataset_bytes(0)
    head = head[: head.index(b"\xe0\x7f\x10\x00")]  # no Pixel Data: the sequence instead
    sequence = b"\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(head + sequence)]
    unit = b"\xfe\xff\x00\xe0\x00\x00\x00\x00" * 65536
    for _ in range(items // 65536):
        parts.append(compressor.compress(unit))
    parts.append(compressor.compress(b"\xfe\xff\x00\xe0\x00\x00\x00\x00" * (items % 65536)))
    parts.append(compressor.compress(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00") + compressor.flush())
    data = b"".join(parts)
    return store_capture(tmp_path / name, data + b"\x00" if len(data) % 2 else data)


def test_millions_of_empty_items_in_a_capture_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = 3_000_000
    hostile = empty_items_capture(tmp_path, items, "items.pcap")
    inflated = items * 8
    assert hostile.stat().st_size < 64 * 1024
    # a normal capture of the same inflated size: one C-STORE of 24 MB pixel data
    normal = pixel_capture(tmp_path, inflated, name="normal.pcap")

    def timed(capture: Path) -> float:
        start = time.process_time()
        code = main(["decode", "--json", "--datasets", str(capture)])
        elapsed = time.process_time() - start
        capsys.readouterr()
        assert code == _types.EXIT_OK
        return elapsed

    ratio = timed(hostile) / max(timed(normal), 1e-3)
    tracemalloc.start()
    try:
        code = main(["decode", "--json", "--datasets", str(hostile)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out, _ = capsys.readouterr()
    assert code == _types.EXIT_OK
    record = store_record(out)
    codes = [d["code"] for d in record["dataset"]["diagnostics"]]  # type: ignore[index]
    assert "LIMIT_EXCEEDED" in codes
    assert len(out) < 2 * MiB  # the JSON of one data set is capped
    # was 103 s and 2.0 GB: now bounded by Limits.max_items, under 10x the inflated size
    assert peak < 10 * inflated, f"peak {peak / MiB:.0f} MiB for {inflated / MiB:.0f} MiB"
    assert ratio < 100, f"{ratio:.0f} times the CPU time of a normal capture of that size"


def test_a_data_set_nested_too_deep_shows_what_came_before_and_where_it_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head, _ = dataset_bytes(0)
    head = head[: head.index(b"\xe0\x7f\x10\x00")]  # no Pixel Data: the nesting instead
    level = b"\x40\x00\x30\xa7SQ\x00\x00\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff"
    close = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    capture = store_capture(tmp_path / "deep.pcap", head + level * 1000 + close * 1000, EXPLICIT)
    code, out, _ = run_json(capsys, str(capture))
    assert code == _types.EXIT_OK
    shown = store_record(out)["dataset"]
    assert isinstance(shown, dict) and "error" not in shown
    assert set(shown["json"]) == {"00080016", "00080018", "00100010", "00280100"}
    [diagnostic] = shown["diagnostics"]
    assert diagnostic["code"] == "LIMIT_EXCEEDED" and diagnostic["offset"] == len(head)
    assert "Limits.max_depth" in diagnostic["message"]
