"""``dimse-codec inspect`` on PDU streams: PDUs, items, PDVs and reassembled messages."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from dimse_codec.cli.main import main
from dimse_codec.cli.stream import looks_like_pdus
from dimse_codec.pdu import (
    AAssociateRQ,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    encode_pdu,
)

ROOT = Path(__file__).resolve().parent.parent
STREAM = ROOT / "docs" / "examples" / "storage-commitment-association.pdus"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, _ = run(capsys, "inspect", "--json", *argv)
    assert code == 0
    result: dict[str, Any] = json.loads(out)
    return result


def test_the_example_association_is_shown_pdu_by_pdu(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "inspect", str(STREAM))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "PDU stream: 440 bytes, 5 PDU(s), 1 message(s), 0 problem(s)"
    assert lines[1].startswith("@0        A-ASSOCIATE-RQ  called_ae_title=ARCHIVE")
    assert any("0x20 PresentationContextRQItem  presentation_context_id=1" in ln for ln in lines)
    assert any("maximum_length_received=16384" in ln for ln in lines)
    pdvs = [ln.strip() for ln in lines if " PDV pc=" in ln]
    assert pdvs == [
        "@254    PDV pc=1 command  58 bytes",
        "@324    PDV pc=1 command, last  52 bytes",
        "@388    PDV pc=1 data, last  36 bytes",
    ]
    assert "  => message @254..430 pc=1, 3 PDV(s), data set 36 bytes" in lines
    assert any("N-ACTION-RQ (CommandField 0130H), request" in ln for ln in lines)
    assert lines[-1] == "@430      A-RELEASE-RQ"


def test_json_lists_every_event_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    result = as_json(capsys, str(STREAM))
    assert (result["input"], result["pdus"], result["messages"]) == ("pdu-stream", 5, 1)
    kinds = [(e["type"], e.get("pdu")) for e in result["events"]]
    assert kinds == [
        ("pdu", "A-ASSOCIATE-RQ"),
        ("pdu", "P-DATA-TF"),
        ("pdu", "P-DATA-TF"),
        ("pdu", "P-DATA-TF"),
        ("message", None),
        ("pdu", "A-RELEASE-RQ"),
    ]
    message = result["events"][4]
    assert message["command"]["message"] == "N-ACTION-RQ"
    assert (message["offset"], message["end"], message["dataset_length"]) == (254, 430, 36)
    associate = result["events"][0]
    assert associate["called_ae_title"] == "ARCHIVE"
    contexts = [i for i in associate.get("variable_items", []) if i["item_type"] == "0x20"]
    assert contexts and contexts[0]["presentation_context_id"] == 1


def test_hex_input_and_forcing_the_kind(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    hexed = tmp_path / "stream.hex"
    hexed.write_text(STREAM.read_bytes().hex(" "))
    assert as_json(capsys, str(hexed))["messages"] == 1
    # forced as a command set, a PDU stream is nonsense and says so
    code, _, err = run(capsys, "inspect", "--command-set", str(STREAM))
    assert code == 1 and err.startswith("error:")


def test_problems_are_shown_where_they_happened(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = STREAM.read_bytes()
    broken = tmp_path / "cut.pdus"
    broken.write_bytes(raw[:400])  # inside the data PDV
    code, out, _ = run(capsys, "inspect", str(broken))
    assert code == 0
    assert "2 problem(s)" in out.splitlines()[0]
    assert "incomplete message @254..400 pc=1: [MESSAGE_INCOMPLETE]" in out
    assert "[STREAM_TRUNCATED]" in out
    code, _, err = run(capsys, "inspect", "--strict", str(broken))
    assert code == 1 and err.startswith("error: [STREAM_TRUNCATED] stream @400")


def test_user_identity_secrets_are_hidden_unless_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    identity = UserIdentityRQSubItem(UserIdentityType(2), b"alice", b"hunter22")
    rq = AAssociateRQ("SCP", "SCU", (UserInformationItem((identity,)),))
    path = tmp_path / "rq.pdu"
    path.write_bytes(encode_pdu(rq))
    _, out, _ = run(capsys, "inspect", str(path))
    assert "primary_field=alice" in out and "<8 bytes hidden>" in out and "hunter22" not in out
    _, out, _ = run(capsys, "inspect", "--show-secrets", str(path))
    assert "secondary_field=" + b"hunter22".hex() in out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x01\x00\x00\x00\x00\x10", True),
        (b"\x04\x00\x00\x00\x00\x10", True),
        (b"\x00\x00\x00\x00\x04\x00", False),  # a command set's group length tag
        (b"\x08\x00\x00\x00\x00\x10", False),
        (b"\x01\x00", False),
        (struct.pack("<HHI", 0, 0, 4), False),
    ],
)
def test_pdu_streams_are_told_from_command_sets(data: bytes, expected: bool) -> None:
    assert looks_like_pdus(data) is expected
