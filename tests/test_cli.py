"""Tests of the ``dimse-codec`` command line: ``inspect`` on every example in docs/examples."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dimse_codec import decode_command_set
from dimse_codec.cli.main import main
from dimse_codec.dimse.command_set import build_element

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
EXAMPLE_CAPTURE = EXAMPLES / "storage-commitment.pcap"
EXAMPLE_NAMES = (
    "c-echo-rq.bin",
    "n-action-rq.hex",
    "c-find-rsp-pending.bin",
    "n-event-report-rq.bin",
    "c-move-rsp-dup.bin",
    "explicit-vr-c-echo-rq.bin",
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main`` and return (exit code, stdout, stderr)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines(out: str) -> list[str]:
    """Output lines with runs of spaces collapsed, so assertions ignore column widths."""
    return [" ".join(line.split()) for line in out.splitlines()]


def inspect_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, _ = run(capsys, "inspect", "--json", *argv)
    assert code == 0
    result: dict[str, Any] = json.loads(out)
    return result


def example(name: str) -> str:
    return str(EXAMPLES / name)


def us(value: int) -> bytes:
    return value.to_bytes(2, "little")


def with_group_length(body: bytes) -> bytes:
    return build_element(0x00000000, len(body).to_bytes(4, "little")) + body


# -- the examples ----------------------------------------------------------------------------------


def test_c_echo_rq(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "inspect", example("c-echo-rq.bin"))
    assert (code, err) == (0, "")
    assert lines(out) == [
        "C-ECHO-RQ (CommandField 0030H), request, data set follows: no (CommandDataSetType 0101H)",
        "Command set: 68 bytes, Implicit VR Little Endian, 5 element(s)",
        "offset tag keyword VR length value",
        "0 (0000,0000) CommandGroupLength UL 4 56",
        "12 (0000,0002) AffectedSOPClassUID UI 18 1.2.840.10008.1.1 (Verification SOP Class)",
        "38 (0000,0100) CommandField US 2 48 (0030H) C-ECHO-RQ",
        "48 (0000,0110) MessageID US 2 1",
        "58 (0000,0800) CommandDataSetType US 2 257 (0101H) no data set",
        "Diagnostics: none",
    ]


def test_n_action_rq_from_hex_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", example("n-action-rq.hex"))
    assert code == 0
    got = lines(out)
    assert got[0] == (
        "N-ACTION-RQ (CommandField 0130H), request, data set follows: yes "
        "(CommandDataSetType 0001H)"
    )
    assert got[1] == "Command set: 110 bytes, Implicit VR Little Endian, 7 element(s)"
    assert "12 (0000,0003) RequestedSOPClassUID UI 20 1.2.840.10008.1.20.1 " in got[4]
    assert "(Storage Commitment Push Model SOP Class)" in got[4]
    assert "40 (0000,0100) CommandField US 2 304 (0130H) N-ACTION-RQ" in got
    assert "50 (0000,0110) MessageID US 2 7" in got
    assert "60 (0000,0800) CommandDataSetType US 2 1 (0001H) data set follows" in got
    assert "100 (0000,1008) ActionTypeID US 2 1" in got
    assert got[-1] == "Diagnostics: none"


def test_c_find_rsp_pending(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", example("c-find-rsp-pending.bin"))
    assert code == 0
    got = lines(out)
    assert got[0] == (
        "C-FIND-RSP (CommandField 8020H), response, data set follows: yes "
        "(CommandDataSetType 0001H)"
    )
    assert "58 (0000,0120) MessageIDBeingRespondedTo US 2 3" in got
    status = next(line for line in got if line.startswith("78 (0000,0900) Status US 2 "))
    assert status.startswith("78 (0000,0900) Status US 2 65280 (FF00H) Pending: Matches are")
    assert got[-1] == "Diagnostics: none"


def test_n_event_report_rq(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", example("n-event-report-rq.bin"))
    assert code == 0
    got = lines(out)
    assert got[0].startswith(
        "N-EVENT-REPORT-RQ (CommandField 0100H), request, data set follows: yes"
    )
    assert (
        "70 (0000,1000) AffectedSOPInstanceUID UI 22 1.2.840.10008.1.20.1.1 "
        "(Storage Commitment Push Model SOP Instance)"
    ) in got
    assert "100 (0000,1002) EventTypeID US 2 1" in got
    assert got[-1] == "Diagnostics: none"


def test_malformed_c_move_rsp_is_listed_with_its_diagnostics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "inspect", example("c-move-rsp-dup.bin"))
    assert code == 0  # lenient: decoded, problems reported
    got = lines(out)
    assert got[0].startswith("C-MOVE-RSP (CommandField 8021H), response, data set follows: no")
    assert "0 (0000,0000) CommandGroupLength UL 4 134" in got
    assert "78 (0000,0900) Status US 2 65280 (FF00H) Pending: Sub-operations are continuing" in got
    assert "88 (0000,1020) NumberOfRemainingSuboperations US 4 3\\0 (2 values; VM is 1)" in got
    assert "124 (0000,1023) NumberOfWarningSuboperations US 4 4\\0 (2 values; VM is 1)" in got
    diagnostics = got[got.index("Diagnostics:") + 1 :]
    assert (
        "GROUP_LENGTH_MISMATCH @0 command set > (0000,0000) CommandGroupLength: "
        "CommandGroupLength says 134, the group holds 124 bytes"
    ) in diagnostics
    assert [d.split()[:2] for d in diagnostics if d.startswith("VM_GT_1")] == [
        ["VM_GT_1", "@88"],
        ["VM_GT_1", "@100"],
        ["VM_GT_1", "@112"],
        ["VM_GT_1", "@124"],
    ]


def test_explicit_vr_command_set(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", example("explicit-vr-c-echo-rq.bin"))
    assert code == 0
    got = lines(out)
    assert got[0].startswith("C-ECHO-RQ (CommandField 0030H), request")
    assert got[1] == "Command set: 68 bytes, Explicit VR Little Endian, 5 element(s)"
    assert "48 (0000,0110) MessageID US 2 1" in got
    assert got[-2:] == [
        "Diagnostics:",
        "EXPLICIT_VR_COMMAND @0 command set: command set is Explicit VR; "
        "PS3.7 6.3.1 requires Implicit VR Little Endian",
    ]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_json_matches_the_decoder(capsys: pytest.CaptureFixture[str], name: str) -> None:
    report = inspect_json(capsys, example(name))
    raw = (EXAMPLES / name).read_bytes()
    if name.endswith(".hex"):
        raw = bytes.fromhex(raw.decode("ascii"))
    primitive = decode_command_set(raw)
    spec = primitive.message_spec
    assert spec is not None
    assert report["message"] == spec.name
    assert report["command_field"] == spec.command_field
    assert report["direction"] == ("request" if spec.is_request else "response")
    assert report["command_data_set_type"] == primitive.command_data_set_type
    assert report["data_set_follows"] == primitive.dataset_follows()
    assert report["length"] == len(raw)
    assert [d["code"] for d in report["diagnostics"]] == [
        d.code.value for d in primitive.diagnostics
    ]
    offsets = [e["offset"] for e in report["elements"]]
    assert offsets == sorted(offsets) and offsets[0] == 0
    for element in report["elements"]:
        assert set(element) >= {"offset", "tag", "keyword", "vr", "length", "value", "text"}
        assert len(bytes.fromhex(element["value_hex"])) == element["length"]


def test_json_values_and_details(capsys: pytest.CaptureFixture[str]) -> None:
    report = inspect_json(capsys, example("c-move-rsp-dup.bin"))
    by_keyword = {e["keyword"]: e for e in report["elements"]}
    assert by_keyword["NumberOfRemainingSuboperations"]["value"] == [3, 0]
    assert by_keyword["Status"]["value"] == 0xFF00
    assert by_keyword["Status"]["category"] == "Pending"
    assert by_keyword["CommandField"]["name"] == "C-MOVE-RSP"
    assert by_keyword["AffectedSOPClassUID"]["value"] == "1.2.840.10008.5.1.4.1.2.1.2"
    assert "MOVE" in by_keyword["AffectedSOPClassUID"]["name"]
    codes = {d["code"] for d in report["diagnostics"]}
    assert codes == {"GROUP_LENGTH_MISMATCH", "VM_GT_1"}
    mismatch = next(d for d in report["diagnostics"] if d["code"] == "GROUP_LENGTH_MISMATCH")
    assert mismatch["offset"] == 0
    assert mismatch["path"] == "command set > (0000,0000) CommandGroupLength"


def test_hexdump_shows_each_elements_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", "--hexdump", example("c-echo-rq.bin"))
    assert code == 0
    got = lines(out)
    assert got[got.index("0 (0000,0000) CommandGroupLength UL 4 56") + 1] == (
        "0 00 00 00 00 04 00 00 00 38 00 00 00 |........8...|"
    )
    assert "12 00 00 02 00 12 00 00 00 31 2e 32 2e 38 34 30 2e |........1.2.840.|" in got
    assert "28 31 30 30 30 38 2e 31 2e 31 00 |10008.1.1.|" in got
    report = inspect_json(capsys, "--hexdump", example("c-echo-rq.bin"))
    assert report["elements"][0]["element_hex"] == "000000000400000038000000"


# -- strict mode and errors ------------------------------------------------------------------------


def test_strict_fails_with_offset_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "inspect", "--strict", example("c-move-rsp-dup.bin"))
    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert "(0000,1020) NumberOfRemainingSuboperations @88" in err
    code, _, err = run(capsys, "inspect", "--strict", example("explicit-vr-c-echo-rq.bin"))
    assert code == 1
    assert "@0" in err and "Explicit VR" in err


def test_strict_accepts_a_valid_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", "--strict", example("c-echo-rq.bin"))
    assert code == 0
    assert lines(out)[-1] == "Diagnostics: none"


def test_strict_json_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "inspect", "--strict", "--json", example("c-move-rsp-dup.bin"))
    assert code == 1
    assert err.startswith("error: ")
    error = json.loads(out)["error"]
    assert error["offset"] == 88
    assert error["code"] == "VM_GT_1"
    assert error["path"] == "command set > (0000,1020) NumberOfRemainingSuboperations"


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    code, out, err = run(capsys, "inspect", str(missing))
    assert code == 2
    assert out == ""
    assert err == f"error: cannot read {missing}: No such file or directory\n"


def test_garbage_input_fails_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"this is not a DICOM command set\x00\xff")
    code, out, err = run(capsys, "inspect", str(garbage))
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and "@0" in err
    assert "Traceback" not in err


def test_truncated_command_set_fails_with_offset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes((EXAMPLES / "c-echo-rq.bin").read_bytes()[:-1])
    code, _, err = run(capsys, "inspect", str(cut))
    assert code == 1
    assert err.startswith(
        "error: command set > (0000,0800) CommandDataSetType @58: value length 2 runs past"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"  \n\t ", "error: input holds only whitespace"),
        (b"00 00 0", "error: hex text has an odd number of digits (5)"),
    ],
)
def test_unusable_input_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    code, _, err = run(capsys, "inspect", str(path))
    assert (code, err) == (1, message + "\n")


def test_empty_input_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    code, out, err = run(capsys, "inspect", str(path))
    assert (code, out, err) == (2, "", f"error: nothing to inspect: {path} is empty\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, out, err = run(capsys, "inspect")
    assert (code, out, err) == (2, "", "error: nothing to inspect: standard input is empty\n")


def test_input_past_max_input_is_refused_unread(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = c_echo_bytes()
    path = tmp_path / "long.bin"
    path.write_bytes(data + bytes(100))
    code, out, err = run(capsys, "inspect", "--max-input", str(len(data)), str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"error: {path} is longer than --max-input {len(data)} bytes: inspect shows one command "
        "set or a PDU stream (a capture goes to dimse-codec decode; 0 lifts the limit)\n"
    )
    stdin = io.BytesIO(data + bytes(1 << 20))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))
    code, _, err = run(capsys, "inspect", "--max-input", str(len(data)))
    assert code == 2 and "standard input is longer than --max-input" in err
    assert stdin.tell() == len(data) + 1  # one byte past the limit read, not the megabyte
    path.write_bytes(data)
    assert run(capsys, "inspect", "--max-input", str(len(data)), str(path))[0] == 0
    assert run(capsys, "inspect", "--max-input", "0", str(path))[0] == 0
    code, _, err = run(capsys, "inspect", "--max-input", "-1", str(path))
    assert code == 2 and "not a number of bytes (0 or more)" in err


def test_a_capture_or_part10_file_is_pointed_elsewhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import gzip

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    capture = EXAMPLES / "storage-commitment.pcap"
    zipped = tmp_path / "capture.pcap.gz"
    zipped.write_bytes(gzip.compress(capture.read_bytes()))
    for path in (capture, zipped):
        code, out, err = run(capsys, "inspect", str(path))
        assert (code, out) == (2, "")
        assert err == (
            f"error: {path} is a pcap or pcapng capture (or gzip): dimse-codec decode FILE "
            "shows its associations and messages\n"
        )
    image = Dataset()
    image.PatientID = "P"
    image.file_meta = FileMetaDataset()
    image.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    image.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    image.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1234.3"
    part10 = tmp_path / "image.dcm"
    image.save_as(part10, enforce_file_format=True)
    code, out, err = run(capsys, "inspect", str(part10))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {part10} is a DICOM Part-10 file (a 128-byte preamble")
    # told what it is, the reader gets its way: a capture read as a command set fails to decode
    code, _, err = run(capsys, "inspect", "--command-set", str(capture))
    assert code == 1 and "is a pcap" not in err


# -- input forms -----------------------------------------------------------------------------------


def c_echo_bytes() -> bytes:
    return (EXAMPLES / "c-echo-rq.bin").read_bytes()


@pytest.mark.parametrize(
    "render",
    [
        lambda data: data.hex(),
        lambda data: data.hex().upper() + "\n",
        lambda data: ":".join(f"{b:02x}" for b in data),
        lambda data: " ".join(f"0x{b:02X}" for b in data),
        lambda data: ", ".join(f"0x{b:02x}" for b in data),
        lambda data: "\r\n".join(data[i : i + 8].hex(" ") for i in range(0, len(data), 8)),
    ],
)
def test_hex_text_forms(capsys: pytest.CaptureFixture[str], tmp_path: Path, render: Any) -> None:
    path = tmp_path / "c-echo.txt"
    path.write_text(render(c_echo_bytes()), encoding="ascii", newline="")
    assert inspect_json(capsys, str(path)) == inspect_json(capsys, example("c-echo-rq.bin"))


@pytest.mark.parametrize("argv", [["inspect"], ["inspect", "-"]])
def test_hex_on_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    text = (EXAMPLES / "n-action-rq.hex").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text), encoding="ascii"))
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert lines(out)[0].startswith("N-ACTION-RQ (CommandField 0130H), request")


def test_binary_on_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(c_echo_bytes())))
    code, out, _ = run(capsys, "inspect", "-")
    assert code == 0
    assert lines(out)[0].startswith("C-ECHO-RQ (CommandField 0030H)")


def test_terminal_stdin_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    code, _, err = run(capsys, "inspect")
    assert code == 2
    assert err.startswith("error: no input")


# -- rendering of elements the examples do not have ------------------------------------------------


def test_retired_unknown_other_group_and_empty_elements(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = b"".join(
        (
            build_element(0x00000100, us(0x8030)),
            build_element(0x00000120, us(1)),
            build_element(0x00000200, b"OLDAE "),
            build_element(0x00000800, us(0x0101)),
            build_element(0x00000900, us(0x0122)),
            build_element(0x00000901, bytes.fromhex("1000100010002000")),
            build_element(0x00000902, b"oops"),
            build_element(0x00001234, b"\x01\x02\x03\x04"),
            build_element(0x00100010, b"DOE^J "),
            build_element(0x00000903, b""),
        )
    )
    path = tmp_path / "odd.bin"
    path.write_bytes(with_group_length(body))
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 0
    got = lines(out)
    assert "32 (0000,0200) Initiator (retired) AE 6 'OLDAE'" in got
    assert "56 (0000,0900) Status US 2 290 (0122H) Failure: Refused: SOP Class not supported" in got
    assert "66 (0000,0901) OffendingElement AT 8 (0010,0010)\\(0010,0020)" in got
    assert "82 (0000,0902) ErrorComment LO 4 'oops'" in got
    assert "94 (0000,1234) Unknown UN 4 <4 bytes: 01 02 03 04>" in got
    assert "106 (0010,0010) Unknown UN 6 <6 bytes: 44 4f 45 5e 4a 20>" in got
    assert "120 (0000,0903) ErrorID US 0 (empty)" in got
    codes = [line.split()[0] for line in got[got.index("Diagnostics:") + 1 :]]
    assert {"RETIRED_ELEMENT", "UNKNOWN_ELEMENT", "NON_GROUP0_ELEMENT", "EMPTY_VALUE"} <= set(codes)


def test_unknown_message_type(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "unknown.bin"
    body = build_element(0x00000100, us(0x1234)) + build_element(0x00000800, us(0x0101))
    path.write_bytes(with_group_length(body))
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 0
    got = lines(out)
    assert got[0] == (
        "Unknown message (CommandField 1234H), direction unknown, data set follows: no "
        "(CommandDataSetType 0101H)"
    )
    assert "12 (0000,0100) CommandField US 2 4660 (1234H) names no DIMSE message" in got
    assert any(line.startswith("UNKNOWN_COMMAND_FIELD @12 ") for line in got)


# -- the parser ------------------------------------------------------------------------------------


def test_usage_errors_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "a subcommand is required" in err
    code, _, err = run(capsys, "inspect", "--bogus", example("c-echo-rq.bin"))
    assert code == 2 and "unrecognized arguments: --bogus" in err
    assert err.startswith("usage: dimse-codec inspect ")  # the subcommand's usage, not the top's
    assert "dimse-codec inspect: error: unrecognized arguments: --bogus" in err
    code, _, err = run(capsys, "--bogus")
    assert code == 2 and err.startswith("usage: dimse-codec [-h]")
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "inspect" in out
    code, out, _ = run(capsys, "inspect", "--help")
    assert code == 0 and "--strict" in out and "--hexdump" in out and "--json" in out


@pytest.mark.parametrize("subcommand", ["decode", "report"])
@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_a_port_outside_1_to_65535_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], subcommand: str, port: str
) -> None:
    capture = str(EXAMPLE_CAPTURE)
    code, out, err = run(capsys, subcommand, f"--port={port}", capture)
    assert code == 2 and not out
    assert f"dimse-codec {subcommand}: error: argument --port: expected a TCP port 1-65535" in err


def test_datasets_with_text_output_is_refused_not_ignored(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "decode", "--datasets", str(EXAMPLE_CAPTURE))
    assert code == 2 and not out
    assert err.strip() == (
        "error: --datasets adds data sets to ndjson, csv, parquet or zeek output, not to "
        "text: add --json or --format FORMAT"
    )
    code, out, _ = run(capsys, "decode", "--datasets", "--json", str(EXAMPLE_CAPTURE))
    assert code == 0 and '"dataset"' in out


def test_a_library_error_without_a_code_is_said_without_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--strict`` names the code of the error that stopped it, and nothing (not ``[None]``)
    when the error has none."""
    import dimse_codec.cli.decode as decode_module
    from dimse_codec.errors import DimseCodecError

    def failing(*args: object, **kwargs: object) -> Iterator[object]:
        raise DimseCodecError("the capture could not be followed", offset=7)
        yield  # a generator, as decode_records is

    monkeypatch.setattr(decode_module, "decode_records", failing)
    code, _, err = run(capsys, "decode", "--strict", str(EXAMPLE_CAPTURE))
    assert code == 1 and "[None]" not in err
    assert err.splitlines()[-1] == "error: @7: the capture could not be followed"


def test_broken_pipe_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["inspect", example("c-echo-rq.bin")]) == 141  # EXIT_BROKEN_PIPE (was 1)


# -- the examples themselves -----------------------------------------------------------------------


def test_examples_are_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write(tmp_path)
    assert sorted(p.name for p in written) == sorted(
        [*EXAMPLE_NAMES, "storage-commitment-association.pdus"]  # tests/test_cli_stream.py
    )
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes(), path.name


def test_installed_console_script() -> None:
    # the script sits beside the interpreter running the tests (a venv need not be on PATH)
    beside = Path(sys.executable).with_name("dimse-codec")
    script = str(beside) if beside.exists() else shutil.which("dimse-codec")
    if script is None:
        pytest.skip("the dimse-codec console script is not installed (pip install -e .)")
    result = subprocess.run(
        [script, "inspect", "docs/examples/c-echo-rq.bin"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("C-ECHO-RQ (CommandField 0030H), request, data set follows: no")
    assert result.stdout.rstrip().endswith("Diagnostics: none")


def test_render_names_moved_from_inspect_warn() -> None:
    from dimse_codec.cli import inspect as inspect_command
    from dimse_codec.cli import render

    with pytest.warns(DeprecationWarning, match=r"dimse_codec\.cli\.render\.inspect_bytes"):
        old = inspect_command.inspect_bytes
    assert old is render.inspect_bytes


def test_no_cli_module_imports_main() -> None:
    # main wires the subcommands; a subcommand importing it back would close a cycle
    import ast

    for path in sorted((ROOT / "dimse_codec" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        imported |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        if path.name != "__init__.py":
            assert "dimse_codec.cli.main" not in imported, path.name


def test_python_dash_m_runs_the_command_line() -> None:
    """``python -m dimse_codec`` is the ``dimse-codec`` script, for when it is not on PATH."""
    done = subprocess.run(
        [sys.executable, "-m", "dimse_codec", "inspect", example("c-echo-rq.bin")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("C-ECHO-RQ (CommandField 0030H)")
