"""Real DCMTK traffic recorded with tcpdump on loopback, decoded, checked against tshark and peers.

Each test runs real DCMTK tools over 127.0.0.1 while tcpdump records the port, then decodes the
file with :func:`decode_capture` and checks every message three ways: against tshark's own
decode of the same file (``tshark -d tcp.port==N,dicom -T pdml``: same commands, same order, same
IDs, statuses and instances per direction), against what the peers logged or wrote (storescp's
bit-preserving files hold exactly the data set bytes we carried), and against what the test
sent. Where tshark is wrong, the test says so and checks the truth another way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import require_tool
from peers import (
    EXPLICIT,
    IMPLICIT,
    dcmtk_server,
    free_port,
    run_tool,
    secondary_capture,
    split_part10,
    write_part10,
)
from recording import agree_with_tshark, decode_records, tcpdump

from dimse_codec.capture.dicom import AssociationEvent, CaptureProblem, DicomDirection, StreamGap

pytestmark = pytest.mark.peer

BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

# name -> (storescu's proposal, storescp's preference, the transfer syntax that must be accepted)
STORE_SYNTAXES = {
    "implicit": ("-xi", "+xi", IMPLICIT),
    "explicit-little": ("-xe", "+xe", EXPLICIT),
    "explicit-big": ("-xb", "+xb", BIG_ENDIAN),
    "deflated": ("-xd", "+xd", DEFLATED),
}


@pytest.mark.parametrize("syntax", sorted(STORE_SYNTAXES))
def test_storescu_to_storescp(tmp_path: Path, syntax: str) -> None:
    """Two C-STOREs in each transfer syntax: every message, and the data sets storescp wrote."""
    propose, prefer, expected = STORE_SYNTAXES[syntax]
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    sources = [
        write_part10(secondary_capture(20_000 * (i + 1), seed=i), tmp_path / f"in{i}.dcm")
        for i in range(2)
    ]
    if expected == BIG_ENDIAN:
        # storescu sends a file in its own transfer syntax when one is accepted, so convert first
        dcmconv = require_tool("dcmconv")
        for source in sources:
            converted = run_tool([dcmconv, "+tb", str(source), str(source)])
            assert converted.returncode == 0, converted.stdout
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    argv = [storescp, "-v", prefer, "+B", "-od", str(out), str(port)]
    capture = tmp_path / f"{syntax}.pcap"
    with (
        dcmtk_server(argv, port, tmp_path / "storescp.log", out) as server,
        tcpdump(capture, [port]),
    ):
        client = run_tool([storescu, "-v", propose, "127.0.0.1", str(port), *map(str, sources)])
        assert client.returncode == 0, client.stdout
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    if expected == DEFLATED:
        # tshark 4.0 carries the deflate state over to the next command on the context and
        # shows each C-STORE-RSP as one malformed, "incomplete" element; storescu's log has them
        messages = agree_with_tshark(
            capture, port, records, tshark_is_wrong_on=lambda seen: seen.message == "C-STORE-RSP"
        )
    else:
        messages = agree_with_tshark(capture, port, records)
    assert client.stdout.count("Received Store Response (Success)") == 2
    assert [m.name for m in messages] == ["C-STORE-RQ", "C-STORE-RSP"] * 2
    assert {(m.transfer_syntax, m.transfer_syntax_guessed) for m in messages} == {(expected, None)}
    assert all(m.abstract_syntax == SECONDARY_CAPTURE for m in messages)
    events = [r.event for r in records if isinstance(r, AssociationEvent)]
    assert events == ["request", "accept", "release-request", "release"]

    # storescp wrote each data set bit for bit (+B): ours must be the same bytes
    stored = {}
    for path in out.iterdir():
        meta, body = split_part10(path)
        assert meta.TransferSyntaxUID == expected
        stored[str(meta.MediaStorageSOPInstanceUID)] = hashlib.sha256(body).hexdigest()
    requests = [m for m in messages if m.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR]
    assert {str(m.primitive.AffectedSOPInstanceUID): m.dataset_sha256 for m in requests} == stored
    # and the log agrees on what was received
    assert server.log_text().count("Received Store Request") == 2
