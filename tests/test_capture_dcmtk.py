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
import math
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_tool
from peers import (
    EXPLICIT,
    IMPLICIT,
    Server,
    dcmqrscp_config,
    dcmtk_server,
    free_port,
    read_dataset,
    run_tool,
    secondary_capture,
    split_part10,
    write_part10,
)
from pydicom.dataset import Dataset
from recording import (
    TsharkSegment,
    agree_with_tshark,
    decode_records,
    messages_of,
    tcpdump,
    tshark_commands,
    tshark_dicom,
    tshark_segments,
)

from dimse_codec import DiagnosticCode, decode_command_set
from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureProblem,
    DicomDirection,
    StreamGap,
)
from dimse_codec.dataset import decode_dataset
from dimse_codec.pcap import CaptureReader, ConnectionClosed, StreamEnded, TcpReassembler
from dimse_codec.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AbortReason,
    AbortSource,
    RejectReasonUser,
    RejectResult,
    RejectSource,
)

pytestmark = pytest.mark.peer

BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
VERIFICATION = "1.2.840.10008.1.1"
SMALLEST_PDU = 4096
"""The smallest maximum PDU length DCMTK accepts (--max-pdu)."""

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


# -- helpers -------------------------------------------------------------------------------------


def assert_matched(messages: list[CapturedMessage]) -> None:
    """Every response answers the request of its ID sent the other way on its association."""
    requests = {
        (m.association, m.direction, m.primitive.MessageID): m for m in messages
        if m.name.endswith("-RQ")
    }  # fmt: skip
    for message in messages:
        if message.name.endswith("-RQ"):
            assert message.request_frame is None and message.response_time_ns is None
            continue
        back = (
            DicomDirection.REQUESTOR_TO_ACCEPTOR
            if message.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR
            else DicomDirection.ACCEPTOR_TO_REQUESTOR
        )
        request = requests[(message.association, back, message.primitive.MessageIDBeingRespondedTo)]
        assert request.name[:-3] == message.name[:-4]
        assert message.request_frame == request.frame, (message, request)
        assert message.response_time_ns is not None and message.response_time_ns >= 0


def identifier(message: CapturedMessage) -> Dataset:
    """The data set of a message (an identifier or an instance), decoded in its transfer syntax."""
    assert message.dataset is not None and message.transfer_syntax is not None
    return decode_dataset(message.dataset, message.transfer_syntax)


def stream_closed(capture: Path, src_port: int) -> int:
    """The frame at which the TCP reassembler ends the direction sent from ``src_port``."""
    reassembler = TcpReassembler()
    with CaptureReader(capture) as reader:
        events = [e for packet in reader for e in reassembler.feed(packet)]
    for event in [*events, *reassembler.finish()]:
        if isinstance(event, ConnectionClosed) or (
            isinstance(event, StreamEnded)
            and event.connection.sender(event.direction).port == src_port
        ):
            return event.frame
    raise AssertionError("the stream never ended")


def stream_end(segments: list[TsharkSegment], src_port: int) -> tuple[int, int]:
    """The bytes one direction carried, and the frame that first carried the last of them.

    By sequence numbers, not by adding up segments: loopback here retransmits now and then.
    """
    carrying = [s for s in segments if s.src_port == src_port and s.payload]
    end = max(s.seq + s.payload for s in carrying)
    frame = min(s.frame for s in carrying if s.seq < end <= s.seq + s.payload)
    return end - 1, frame


# -- C-ECHO --------------------------------------------------------------------------------------


def test_echoscu_to_storescp(tmp_path: Path) -> None:
    """One C-ECHO: request and response matched, status Success, and both peers logged it."""
    storescp, echoscu = require_tool("storescp"), require_tool("echoscu")
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    capture = tmp_path / "echo.pcap"
    with (
        dcmtk_server(
            [storescp, "-v", "-od", str(out), str(port)], port, tmp_path / "scp.log", out
        ) as server,
        tcpdump(capture, [port]),
    ):
        client = run_tool([echoscu, "-v", "-aet", "ECHOSCU", "127.0.0.1", str(port)])
        assert client.returncode == 0, client.stdout
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    request, response = agree_with_tshark(capture, port, records)
    assert (request.name, response.name) == ("C-ECHO-RQ", "C-ECHO-RSP")
    assert request.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR
    assert response.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR
    assert response.status == 0x0000
    assert response.primitive.MessageIDBeingRespondedTo == request.primitive.MessageID
    assert response.request_frame == request.frame
    assert response.response_time_ns is not None and response.response_time_ns >= 0
    assert request.request_frame is None and request.response_time_ns is None
    assert request.dataset is None and response.dataset is None
    assert {m.abstract_syntax for m in (request, response)} == {VERIFICATION}
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "accept", "release-request", "release"]
    assert events[0].association.calling_ae_title == "ECHOSCU"
    assert client.stdout.count("Received Echo Response (Success)") == 1
    assert server.log_text().count("Received Echo Request") == 1


# -- a multi-megabyte data set in 4 KiB PDUs -----------------------------------------------------


def test_large_dataset_in_small_pdus(tmp_path: Path) -> None:
    """About 3 MB at a 4096-byte maximum PDU length: every PDU within it, every byte accounted."""
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    sent = secondary_capture(3_000_000, seed=40)
    source = write_part10(sent, tmp_path / "big.dcm")
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    argv = [storescp, "-v", "--max-pdu", str(SMALLEST_PDU), "+B", "-od", str(out), str(port)]
    capture = tmp_path / "big.pcap"
    with dcmtk_server(argv, port, tmp_path / "scp.log", out) as server, tcpdump(capture, [port]):
        client = run_tool(
            [storescu, "-v", "--max-pdu", str(SMALLEST_PDU), "127.0.0.1", str(port), str(source)]
        )
        assert client.returncode == 0, client.stdout
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    request, response = agree_with_tshark(capture, port, records)
    assert (request.name, response.name, response.status) == ("C-STORE-RQ", "C-STORE-RSP", 0)
    assert response.request_frame == request.frame
    assert request.dataset is not None and len(request.dataset) > 3_000_000
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "accept", "release-request", "release"]
    association = events[-1].association
    assert association.request is not None and association.request.user_information is not None
    assert association.request.user_information.maximum_length == SMALLEST_PDU
    assert isinstance(association.answer, AAssociateAC)
    assert association.answer.user_information is not None
    assert association.answer.user_information.maximum_length == SMALLEST_PDU

    # tshark's PDUs: none over the maximum either way, and together exactly the bytes sent
    assert association.requestor is not None
    requestor_port = association.requestor.port
    segments = tshark_segments(capture, [port])
    for src in (requestor_port, port):
        mine = [s for s in segments if s.src_port == src]
        pdus = [pdu for s in mine for pdu in s.pdus]
        assert all(length <= SMALLEST_PDU for kind, length in pdus if kind == 0x04)
        assert sum(length + 6 for _, length in pdus) == stream_end(segments, src)[0]
    # storescu sends the command in one P-DATA-TF, then the data set in PDVs as large as the
    # maximum allows (4096 - 6 PDU header - 6 PDV header), one PDV per PDU
    sent_pdata = [
        length for s in segments if s.src_port == requestor_port for kind, length in s.pdus
        if kind == 0x04
    ]  # fmt: skip
    assert len(sent_pdata) == 1 + math.ceil(len(request.dataset) / (SMALLEST_PDU - 12))
    assert server.log_text().count("Received Store Request") == 1

    # storescp wrote the data set bit for bit (+B), and it is the data set the test sent
    (written,) = out.iterdir()
    meta, body = split_part10(written)
    assert str(meta.MediaStorageSOPInstanceUID) == str(sent.SOPInstanceUID)
    assert request.dataset_sha256 == hashlib.sha256(body).hexdigest()
    assert request.dataset_sha256 == hashlib.sha256(split_part10(source)[1]).hexdigest()
    assert str(request.primitive.AffectedSOPInstanceUID) == str(sent.SOPInstanceUID)
    decoded = identifier(request)
    assert decoded.PixelData == sent.PixelData
    assert decoded.PatientID == sent.PatientID
    assert client.stdout.count("Received Store Response (Success)") == 1


# -- query/retrieve against dcmqrscp -------------------------------------------------------------

QR_AE = "QRSCP"
MOVE_AE = "MOVER"
PATIENTS = {"PAT1": "One^Patient", "PAT2": "Two^Patient"}
"""Patient ID -> name; PAT1 has one study of two instances, PAT2 one study of one instance."""


@dataclass
class Archive:
    """A running dcmqrscp that holds the instances the test stored into it (and how)."""

    server: Server
    port: int
    move_port: int
    instances: dict[str, Dataset]
    """SOP Instance UID -> the data set stored."""
    studies: dict[str, str]
    """Patient ID -> Study Instance UID."""
    store_capture: Path
    store_log: str


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """dcmqrscp with the three instances of :data:`PATIENTS`, stored by storescu (recorded)."""
    dcmqrscp, storescu = require_tool("dcmqrscp"), require_tool("storescu")
    tmp = tmp_path_factory.mktemp("dcmqrscp")
    storage = tmp / "storage"
    port, move_port = free_port(), free_port()
    config = dcmqrscp_config(
        tmp / "dcmqrscp.cfg",
        port=port,
        storage=storage,
        ae_title=QR_AE,
        hosts=[(MOVE_AE, "127.0.0.1", move_port)],
    )
    instances: dict[str, Dataset] = {}
    studies: dict[str, str] = {}
    sources = []
    for i, patient in enumerate(["PAT1", "PAT1", "PAT2"]):
        ds = secondary_capture(4_000 * (i + 1), seed=50 + i)
        ds.PatientID, ds.PatientName = patient, PATIENTS[patient]
        ds.StudyInstanceUID = studies.setdefault(patient, str(ds.StudyInstanceUID))
        ds.StudyID = f"S{patient}"
        instances[str(ds.SOPInstanceUID)] = ds
        sources.append(write_part10(ds, tmp / f"in{i}.dcm"))
    # the default --fork mode: --single-process crashes (SIGSEGV) after the first release here
    argv = [dcmqrscp, "-v", "-c", str(config), str(port)]
    capture = tmp / "store.pcap"
    with dcmtk_server(argv, port, tmp / "dcmqrscp.log", storage) as server:
        with tcpdump(capture, [port]):
            client = run_tool(
                [storescu, "-v", "-aet", "STORESCU", "-aec", QR_AE, "127.0.0.1", str(port),
                 *map(str, sources)]
            )  # fmt: skip
            assert client.returncode == 0, client.stdout
        yield Archive(server, port, move_port, instances, studies, capture, client.stdout)


def test_storescu_to_dcmqrscp(archive: Archive) -> None:
    """The three C-STOREs that filled the archive: messages, data sets, the files it wrote."""
    records = decode_records(archive.store_capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    messages = agree_with_tshark(archive.store_capture, archive.port, records)
    assert [m.name for m in messages] == ["C-STORE-RQ", "C-STORE-RSP"] * 3
    assert [m.status for m in messages[1::2]] == [0, 0, 0]
    for request, response in zip(messages[::2], messages[1::2], strict=True):
        assert response.request_frame == request.frame
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "accept", "release-request", "release"]
    assert events[0].association.called_ae_title == QR_AE
    # each data set is what the test stored, and what dcmqrscp filed in its storage area
    filed = {
        str(ds.SOPInstanceUID): ds for ds in map(read_dataset, archive.server.out.glob("*.dcm"))
    }
    assert set(filed) == set(archive.instances)
    for request in messages[::2]:
        uid = str(request.primitive.AffectedSOPInstanceUID)
        decoded = identifier(request)
        assert decoded == archive.instances[uid]
        assert decoded == filed[uid]
    assert archive.store_log.count("Received Store Response (Success)") == 3
    assert archive.server.log_text().count("Received Store SCP:") == 3


def test_findscu_against_dcmqrscp(tmp_path: Path, archive: Archive) -> None:
    """C-FIND at patient and study level: pending identifiers of what was stored, then Success."""
    findscu = require_tool("findscu")
    # level -> (information model, the return keys asked for)
    queries = {
        "patient": ("-P", ("PatientID", "PatientName")),
        "study": ("-S", ("StudyInstanceUID", "PatientID")),
    }
    capture = tmp_path / "find.pcap"
    logs = {}
    with tcpdump(capture, [archive.port]):
        for level, (model, keys) in queries.items():
            out = tmp_path / level
            out.mkdir()
            query = [f"QueryRetrieveLevel={level.upper()}", *keys]
            argv = [findscu, "-v", model, "-aet", "FINDSCU", "-aec", QR_AE, "-X", "-od", str(out),
                    *[option for key in query for option in ("-k", key)],
                    "127.0.0.1", str(archive.port)]  # fmt: skip
            client = run_tool(argv)
            assert client.returncode == 0, client.stdout
            logs[level] = client.stdout
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    messages = agree_with_tshark(capture, archive.port, records)
    assert_matched(messages)
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "accept", "release-request", "release"] * 2
    expected = {
        "patient": {(pid, name) for pid, name in PATIENTS.items()},
        "study": {(study, pid) for pid, study in archive.studies.items()},
    }
    for association, level in zip(sorted({m.association for m in messages}), queries, strict=True):
        mine = [m for m in messages if m.association == association]
        request, *pending, final = mine
        _, keys = queries[level]
        # the identifier findscu sent: the level, and the keys to return (empty)
        asked = identifier(request)
        assert request.name == "C-FIND-RQ"
        assert asked.QueryRetrieveLevel == level.upper()
        assert sorted(e.keyword for e in asked) == sorted(["QueryRetrieveLevel", *keys])
        assert all(asked[key].value in ("", None) for key in keys)
        # one pending response per patient (or study), each with an identifier, then Success
        assert [m.name for m in pending] == ["C-FIND-RSP"] * 2
        assert {m.status for m in pending} <= {0xFF00, 0xFF01}
        assert (final.name, final.status, final.dataset) == ("C-FIND-RSP", 0x0000, None)
        found = [identifier(m) for m in pending]
        assert {tuple(str(ds[key].value) for key in keys) for ds in found} == expected[level]
        assert {str(ds.QueryRetrieveLevel) for ds in found} == {level.upper()}
        # findscu -X wrote each identifier it received, in order
        written = sorted((tmp_path / level).glob("rsp*.dcm"))
        assert [read_dataset(path) for path in written] == found
        assert logs[level].count("(Pending)") == len(pending)
        assert logs[level].count("Received Final Find Response (Success)") == 1


def test_movescu_against_dcmqrscp(tmp_path: Path, archive: Archive) -> None:
    """C-MOVE of PAT1's study to movescu itself: the C-STOREs come on a separate association."""
    movescu = require_tool("movescu")
    out = tmp_path / "moved"
    out.mkdir()
    study = archive.studies["PAT1"]
    capture = tmp_path / "move.pcap"
    with tcpdump(capture, [archive.port, archive.move_port]):
        # movescu 3.6.7 ignores --output-directory in bit-preserving mode (+B) and writes into
        # its working directory, so it runs in the output directory
        client = subprocess.run(
            [movescu, "-v", "-S", "-aet", MOVE_AE, "-aec", QR_AE, "--port", str(archive.move_port),
             "+B", "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
             "-k", f"StudyInstanceUID={study}", "127.0.0.1", str(archive.port)],
            cwd=out, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert client.returncode == 0, client.stdout
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    events = [r for r in records if isinstance(r, AssociationEvent)]
    main, sub = sorted({e.association.index for e in events})
    # tshark finds the sub-association by its A-ASSOCIATE-RQ whichever port it is told about
    messages = agree_with_tshark(capture, archive.port, records)
    assert agree_with_tshark(capture, archive.move_port, records) == messages
    assert_matched(messages)
    moving = [m for m in messages if m.association == main]
    storing = [m for m in messages if m.association == sub]

    # the sub-association: dcmqrscp (QRSCP) to movescu's port, opened and released inside the move
    first = {e.association.index: e for e in reversed(events)}
    last = {e.association.index: e for e in events}
    assert [e.event for e in events if e.association.index == sub] == [
        "request", "accept", "release-request", "release"
    ]  # fmt: skip
    assert [e.event for e in events if e.association.index == main] == [
        "request", "accept", "release-request", "release"
    ]  # fmt: skip
    record = last[sub].association
    assert (record.calling_ae_title, record.called_ae_title) == (QR_AE, MOVE_AE)
    assert record.acceptor is not None and record.acceptor.port == archive.move_port
    assert str(record.acceptor.ip) == "127.0.0.1"  # the move destination's HostTable entry
    moving_record = last[main].association
    assert moving_record.acceptor is not None and moving_record.acceptor.port == archive.port
    assert moving_record.calling_ae_title == MOVE_AE

    request, *pending, final = moving
    assert request.name == "C-MOVE-RQ" and request.primitive.MoveDestination == MOVE_AE
    assert identifier(request).StudyInstanceUID == study
    assert [m.name for m in pending] == ["C-MOVE-RSP"] * len(pending)
    assert pending and {m.status for m in pending} <= {0xFF00, 0xFF01}
    assert (final.name, final.status) == ("C-MOVE-RSP", 0x0000)
    assert request.frame < first[sub].frame < last[sub].frame < final.frame
    stores = [m for m in storing if m.name == "C-STORE-RQ"]
    assert [m.name for m in storing] == ["C-STORE-RQ", "C-STORE-RSP"] * len(stores)
    assert all(m.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR for m in stores)
    assert all(m.status == 0 for m in storing if m.name == "C-STORE-RSP")
    for store in stores:
        assert store.primitive.MoveOriginatorApplicationEntityTitle == MOVE_AE
        assert store.primitive.MoveOriginatorMessageID == request.primitive.MessageID
    assert final.primitive.NumberOfCompletedSuboperations == len(stores)
    assert final.primitive.NumberOfFailedSuboperations in (0, None)

    # the instances of PAT1, as movescu wrote them bit for bit (+B)
    wanted = {uid for uid, ds in archive.instances.items() if ds.PatientID == "PAT1"}
    written = {}
    for path in out.iterdir():
        meta, body = split_part10(path)
        written[str(meta.MediaStorageSOPInstanceUID)] = hashlib.sha256(body).hexdigest()
    assert set(written) == wanted
    assert {str(m.primitive.AffectedSOPInstanceUID): m.dataset_sha256 for m in stores} == written
    assert client.stdout.count("Sub-Association Received") == 1
    assert client.stdout.count("Received Store Request") == len(stores)
    assert client.stdout.count("(Pending)") == len(pending)
    assert client.stdout.count("Received Final Move Response (Success)") == 1


def test_getscu_against_dcmqrscp(tmp_path: Path, archive: Archive) -> None:
    """C-GET of PAT1's study: the C-STOREs come back the other way on the same association."""
    getscu = require_tool("getscu")
    out = tmp_path / "got"
    out.mkdir()
    study = archive.studies["PAT1"]
    capture = tmp_path / "get.pcap"
    with tcpdump(capture, [archive.port]):
        client = run_tool(
            [getscu, "-v", "-S", "-aet", "GETSCU", "-aec", QR_AE, "+B", "-od", str(out),
             "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
             "127.0.0.1", str(archive.port)]
        )  # fmt: skip
        assert client.returncode == 0, client.stdout
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    messages = agree_with_tshark(capture, archive.port, records)
    assert_matched(messages)
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "accept", "release-request", "release"]
    assert len({m.association for m in messages}) == 1
    gets = [m for m in messages if m.name.startswith("C-GET")]
    stores = [m for m in messages if m.name == "C-STORE-RQ"]
    store_responses = [m for m in messages if m.name == "C-STORE-RSP"]
    request, *pending, final = gets
    assert request.name == "C-GET-RQ"
    assert identifier(request).StudyInstanceUID == study
    assert pending and {m.status for m in pending} <= {0xFF00, 0xFF01}
    assert (final.name, final.status) == ("C-GET-RSP", 0x0000)
    assert final.primitive.NumberOfCompletedSuboperations == len(stores)
    # the sub-operations: C-STORE-RQ from the acceptor, C-STORE-RSP from the requestor
    assert len(stores) == len(store_responses) == 2
    assert all(m.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR for m in stores)
    assert all(m.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR for m in store_responses)
    assert [m.status for m in store_responses] == [0, 0]
    assert all(request.frame < m.frame < final.frame for m in stores + store_responses)

    wanted = {uid for uid, ds in archive.instances.items() if ds.PatientID == "PAT1"}
    written = {}
    for path in out.iterdir():
        meta, body = split_part10(path)
        written[str(meta.MediaStorageSOPInstanceUID)] = hashlib.sha256(body).hexdigest()
    assert set(written) == wanted
    assert {str(m.primitive.AffectedSOPInstanceUID): m.dataset_sha256 for m in stores} == written
    assert client.stdout.count("Received C-STORE Request") == len(stores)
    assert client.stdout.count("Received C-GET Response (Pending)") == len(pending)
    assert client.stdout.count("Received C-GET Response (Success)") == 1


# -- A-ASSOCIATE-RJ and A-ABORT ------------------------------------------------------------------


def test_dcmqrscp_rejects_unknown_called_ae(tmp_path: Path, archive: Archive) -> None:
    """An association to an AE title dcmqrscp does not serve: rejected, permanently, by the user."""
    echoscu = require_tool("echoscu")
    capture = tmp_path / "reject.pcap"
    with tcpdump(capture, [archive.port]):
        client = run_tool(
            [echoscu, "-v", "-aet", "ECHOSCU", "-aec", "NOBODY", "127.0.0.1", str(archive.port)]
        )
    assert client.returncode != 0
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, (StreamGap, CaptureProblem))]
    assert agree_with_tshark(capture, archive.port, records) == []
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "reject"]
    reject = events[1]
    assert reject.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR
    assert reject.association.state == "rejected"
    assert reject.association.called_ae_title == "NOBODY"
    answer = reject.association.answer
    assert isinstance(answer, AAssociateRJ)
    assert answer.result == RejectResult.REJECTED_PERMANENT
    assert answer.source == RejectSource.SERVICE_USER
    assert answer.reason_diag == RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED
    # tshark shows the request, then the reject PDU in the frame where we saw it
    pdus = [(pdu.frame, pdu.pdu_type) for pdu in tshark_dicom(capture, archive.port)]
    assert pdus == [(events[0].frame, 0x01), (reject.frame, 0x03)]
    assert "Association Rejected" in client.stdout
    assert "Association Received (localhost:ECHOSCU -> NOBODY)" in archive.server.log_text()
    assert "Refusing Association (BadAEService)" in archive.server.log_text()
    assert "Called AE Title Not Recognized" in client.stdout


@pytest.mark.parametrize("when", ["after", "during"])
def test_storescp_aborts(tmp_path: Path, when: str) -> None:
    """storescp sends A-ABORT after the C-STORE-RQ arrived, or while its data set is arriving."""
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    sent = secondary_capture(3_000_000 if when == "during" else 50_000, seed=60)
    source = write_part10(sent, tmp_path / "in.dcm")
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    argv = [storescp, "-v", f"--abort-{when}", "+B", "-od", str(out), str(port)]
    capture = tmp_path / "abort.pcap"
    with dcmtk_server(argv, port, tmp_path / "scp.log", out) as server, tcpdump(capture, [port]):
        client = run_tool([storescu, "-v", "127.0.0.1", str(port), str(source)])
    assert "Store Failed" in client.stdout
    if when == "after":  # during, storescu may fail on a broken pipe before it reads the A-ABORT
        assert "Peer Aborted Association" in client.stdout
    assert server.log_text().count("Received Store Request") == 1
    assert "ABORT initiated (due to command line options)" in server.log_text()
    records = decode_records(capture)
    assert not [r for r in records if isinstance(r, StreamGap)]
    events = [r for r in records if isinstance(r, AssociationEvent)]
    assert [e.event for e in events] == ["request", "accept", "abort"]
    abort = events[-1]
    assert abort.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR
    assert abort.association.state == "aborted"
    assert abort.association.abort == AAbort(
        AbortSource.SERVICE_USER, AbortReason.REASON_NOT_SPECIFIED
    )
    assert abort.association.requestor is not None
    requestor_port = abort.association.requestor.port
    segments = tshark_segments(capture, [port])
    (abort_frame,) = [s.frame for s in segments if (0x07, 4) in s.pdus]
    assert abort_frame == abort.frame
    sent_by_storescu = [s for s in segments if s.src_port == requestor_port]
    problems = [r for r in records if isinstance(r, CaptureProblem)]
    if when == "after":
        # the C-STORE-RQ was whole; no response ever came
        assert problems == []
        (request,) = agree_with_tshark(capture, port, records)
        assert request.name == "C-STORE-RQ" and request.frame < abort.frame
        assert str(request.primitive.AffectedSOPInstanceUID) == str(sent.SOPInstanceUID)
        assert request.dataset_sha256 == hashlib.sha256(split_part10(source)[1]).hexdigest()
        assert identifier(request).PixelData == sent.PixelData
        return
    # during: storescu's data set was cut off; its command set arrived whole, so it is a message
    # marked incomplete (MESSAGE_INCOMPLETE), as tshark lists it (compared by hand).
    (incomplete,) = messages_of(records)
    assert incomplete.incomplete is not None
    assert incomplete.incomplete.code is DiagnosticCode.MESSAGE_INCOMPLETE
    assert incomplete.incomplete in incomplete.diagnostics
    assert incomplete.dataset_sha256 is None  # its data set is partial
    assert incomplete.association == abort.association.index
    assert incomplete.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR
    total, last_frame = stream_end(segments, requestor_port)
    # decided when storescu's stream ended (its FIN, or the connection's close), not before
    assert incomplete.frame == stream_closed(capture, requestor_port) >= last_frame
    assert [p for p in problems if p.diagnostic.code is DiagnosticCode.MESSAGE_INCOMPLETE] == []
    command = decode_command_set(incomplete.command_set)
    assert command == incomplete.primitive
    (shown,) = [c for _, c in tshark_commands(tshark_dicom(capture, port))]
    assert command.message_spec is not None and command.message_spec.name == "C-STORE-RQ"
    assert shown.command_field == "C-STORE-RQ"
    assert shown.text(0x00001000) == str(command.AffectedSOPInstanceUID) == str(sent.SOPInstanceUID)
    assert shown.integer(0x00000110) == command.MessageID
    # every byte storescu got onto the wire: whole PDUs (tshark's), then maybe a cut-off one
    whole = sum(length + 6 for s in sent_by_storescu for _, length in s.pdus)
    assert whole <= total < len(source.read_bytes())
    truncated = [p for p in problems if p.diagnostic.code is DiagnosticCode.STREAM_TRUNCATED]
    if whole == total:
        assert truncated == []
    else:
        (cut,) = truncated
        assert cut.association == abort.association.index
        assert cut.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR
        assert cut.diagnostic.offset == total
        assert f"started at {whole}" in cut.diagnostic.message
    assert len(problems) == len(truncated)
