"""The examples against pynetdicom over 127.0.0.1, both ways.

* a pynetdicom SCU -> our SCP (``docs/examples/asyncio_scp.py`` on ``dimse_codec.net.Server``, a
  subprocess): N-CREATE, N-GET, N-SET, N-DELETE (Modality Performed Procedure Step, Basic Film
  Session), Storage Commitment (N-ACTION answered, the report sent back to pynetdicom on the same
  association; an N-EVENT-REPORT taken), and C-STORE, in Implicit, Explicit and Deflated
  Explicit VR Little Endian. pynetdicom's own view of the exchange (its
  ``EVT_DIMSE_SENT``/``EVT_DIMSE_RECV`` messages) gives the response Message IDs and the exact
  data set bytes each way;
* our SCU (``docs/examples/asyncio_scu.py`` on ``dimse_codec.net.Client``) -> an in-process
  pynetdicom SCP (a thread of this process, shut down in a ``finally``) with a handler per
  service, plus C-ECHO and a >1 MB C-STORE cut for the 4096-byte maximum it announces: the
  requests its handlers see are byte for byte what we encoded, and the responses we read are
  byte for byte what it sent; the SCU's ``n-action`` command line is run against it as a
  subprocess too.

Also here: our SCP's lifecycle (SIGTERM during an association, a C-STORE cut short by an
A-ABORT) and a library finding (an empty data set's one empty PDV), now fixed.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from peers import (
    DEFLATED,
    EXAMPLES,
    EXPLICIT,
    IMPLICIT,
    LARGE,
    PEER_TIMEOUT,
    POLL_INTERVAL,
    SMALL,
    Server,
    example_scp,
    load_example,
    read_dataset,
    run_tool,
    secondary_capture,
    split_part10,
    stop,
)
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, generate_uid

from dimse_codec import C_STORE, N_CREATE, STRICT
from dimse_codec.dataset import encode_dataset
from dimse_codec.net import Client
from dimse_codec.pdata import MessageReceived, StreamDecoder, encode_pdata
from dimse_codec.upper_layer import Connection

pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is the peer of these tests")
AE = pynetdicom.AE
evt = pynetdicom.evt

pytestmark = pytest.mark.peer

scu = load_example("asyncio_scu")

SYNTAXES = {"implicit": IMPLICIT, "explicit": EXPLICIT, "deflated": DEFLATED}
VERIFICATION = "1.2.840.10008.1.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"  # the well-known instance (PS3.4 J.3.5)
MPPS = "1.2.840.10008.3.1.2.3.3"
FILM_SESSION = "1.2.840.10008.5.1.1.1"
NO_SUCH_INSTANCE = 0x0112
MAX_PDU = 4096


def mpps_attributes() -> Dataset:
    """An N-CREATE Attribute List for a procedure step, with a sequence and a person name."""
    ds = Dataset()
    ds.PatientName = "Peer^Test"
    ds.PatientID = "PEER-N"
    ds.PerformedProcedureStepID = "PPS-1"
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.PerformedProcedureStepStartDate = "20240102"
    item = Dataset()
    item.StudyInstanceUID = generate_uid()
    item.AccessionNumber = "ACC-77"
    ds.ScheduledStepAttributesSequence = [item]
    return ds


def commitment_request() -> Dataset:
    """Storage Commitment Action/Event Information: a transaction and the instances it covers."""
    ds = Dataset()
    ds.TransactionUID = generate_uid()
    references = []
    for _ in range(3):
        item = Dataset()
        item.ReferencedSOPClassUID = SECONDARY_CAPTURE
        item.ReferencedSOPInstanceUID = generate_uid()
        references.append(item)
    ds.ReferencedSOPSequence = references
    return ds


def _tags(value: Any) -> list[int]:
    """pynetdicom's AttributeIdentifierList as a list: it gives one tag as a bare Tag."""
    if value is None:
        return []
    return [int(value)] if isinstance(value, int) else [int(tag) for tag in value]


def _bytes(data: BytesIO | None) -> bytes | None:
    """A pynetdicom message's data set bytes; ``None`` when it carried none."""
    value = data.getvalue() if data is not None else b""
    return value or None


@pytest.fixture(scope="module")
def our_scp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The example SCP, any called AE title, its default 16382-byte maximum PDU."""
    work = tmp_path_factory.mktemp("asyncio_scp")
    out = work / "out"
    out.mkdir()
    with example_scp(out, work / "scp.log") as server:
        yield server


@dataclass
class Exchange:
    """What pynetdicom's DIMSE layer sent and received, by message (command set, data set)."""

    sent: list[tuple[Dataset, bytes | None]] = field(default_factory=list)
    received: list[tuple[Dataset, bytes | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handlers(self) -> list[Any]:
        """pynetdicom ``evt_handlers`` recording every DIMSE message both ways."""

        def on_sent(event: Any) -> None:
            with self.lock:
                self.sent.append((event.message.command_set, _bytes(event.message.data_set)))

        def on_received(event: Any) -> None:
            with self.lock:
                self.received.append((event.message.command_set, _bytes(event.message.data_set)))

        return [(evt.EVT_DIMSE_SENT, on_sent), (evt.EVT_DIMSE_RECV, on_received)]


def _requestor(*abstract_syntaxes: str, transfer_syntax: str) -> Any:
    ae = AE(ae_title="PYNETDICOM")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = PEER_TIMEOUT
    for abstract_syntax in abstract_syntaxes:
        ae.add_requested_context(abstract_syntax, [transfer_syntax])
    return ae


def test_a_response_the_reactor_races_for_goes_back_to_the_waiting_request() -> None:
    """pynetdicom's reactor, racing a ``send_*`` call, hands the response back (pynetdicom#875).

    conftest installs ``give_back_raced_responses``; without it the N-DELETE-RSP below is
    dropped with "Received unexpected N-DELETE service message" and the request times out.
    """
    from pynetdicom.association import Association
    from pynetdicom.dimse_primitives import N_DELETE

    assoc = Association(AE(), "requestor")
    response = N_DELETE()
    response.MessageIDBeingRespondedTo = 20
    response.Status = 0x0000
    assoc._reactor_checkpoint.clear()  # a send_n_delete() is waiting for its response
    assoc._serve_request(response, 1)
    assert assoc.dimse.get_msg(block=False) == (1, response)
    assoc._reactor_checkpoint.set()  # nobody waits: pynetdicom's own handling (logged, dropped)
    assoc._serve_request(response, 1)
    assert assoc.dimse.get_msg(block=False) == (None, None)


# -- pynetdicom SCU -> our SCP -------------------------------------------------------------------


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_pynetdicom_n_services_to_our_scp(our_scp: Server, syntax: str) -> None:
    """pynetdicom drives all six N-services on our SCP; statuses, IDs and data sets hold."""
    ae = _requestor(STORAGE_COMMITMENT, MPPS, FILM_SESSION, transfer_syntax=SYNTAXES[syntax])
    exchange = Exchange()
    reports: list[tuple[int, Dataset]] = []

    def on_report(event: Any) -> tuple[int, None]:  # our SCP's report, on the same association
        reports.append((int(event.request.EventTypeID), event.event_information))
        return 0x0000, None

    handlers = [*exchange.handlers(), (evt.EVT_N_EVENT_REPORT, on_report)]
    assoc = ae.associate("127.0.0.1", our_scp.port, evt_handlers=handlers)
    try:
        assert assoc.is_established
        assert {cx.transfer_syntax[0] for cx in assoc.accepted_contexts} == {SYNTAXES[syntax]}
        instance = generate_uid()
        attributes = mpps_attributes()

        status, reply = assoc.send_n_create(attributes, MPPS, instance, msg_id=11)
        assert status.Status == 0x0000
        assert reply == attributes

        tags = [0x00100010, 0x00400252]  # PatientName, PerformedProcedureStepStatus
        status, reply = assoc.send_n_get(tags, MPPS, instance, msg_id=12)
        assert status.Status == 0x0000
        assert reply.PatientName == "Peer^Test"
        assert reply.PerformedProcedureStepStatus == "IN PROGRESS"
        assert sorted(reply.keys()) == tags

        modifications = Dataset()
        modifications.PerformedProcedureStepStatus = "COMPLETED"
        modifications.PerformedProcedureStepEndDate = "20240103"
        status, reply = assoc.send_n_set(modifications, MPPS, instance, msg_id=13)
        assert status.Status == 0x0000
        assert reply == modifications

        status, reply = assoc.send_n_get([], MPPS, instance, msg_id=14)
        expected = mpps_attributes()
        expected.ScheduledStepAttributesSequence = attributes.ScheduledStepAttributesSequence
        expected.update(modifications)
        assert status.Status == 0x0000
        assert reply == expected

        information = commitment_request()
        status, reply = assoc.send_n_action(
            information, 1, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE, msg_id=15
        )
        assert status.Status == 0x0000
        assert not reply  # Success at once, no Action Reply; the report follows
        deadline = time.monotonic() + PEER_TIMEOUT
        while not reports and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        ((event_type, event_info),) = reports
        assert event_type == 1  # all committed
        assert event_info.TransactionUID == information.TransactionUID
        assert event_info.ReferencedSOPSequence == information.ReferencedSOPSequence

        report = commitment_request()
        status, reply = assoc.send_n_event_report(
            report, 2, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE, msg_id=16
        )
        assert status.Status == 0x0000  # our SCP takes a report sent to it too
        assert not reply

        status = assoc.send_n_delete(MPPS, instance, msg_id=17)
        assert status.Status == 0x0000
        status, reply = assoc.send_n_get([], MPPS, instance, msg_id=18)
        assert status.Status == NO_SUCH_INSTANCE
        assert reply is None

        # no instance UID in the request: our SCP assigns one and returns it in the response
        status, reply = assoc.send_n_create(mpps_attributes(), FILM_SESSION, None, msg_id=19)
        assert status.Status == 0x0000
        assigned = exchange.received[-1][0].AffectedSOPInstanceUID  # the N-CREATE-RSP
        assert UID(assigned).is_valid
        status = assoc.send_n_delete(FILM_SESSION, assigned, msg_id=20)
        assert status.Status == 0x0000

        assoc.release()
        assert assoc.is_released
    finally:
        if not assoc.is_released:
            assoc.abort()

    # pynetdicom's requests and our responses (the report and its answer set aside)
    requests = [command for command, _ in exchange.sent if not command.CommandField & 0x8000]
    responses = [command for command, _ in exchange.received if command.CommandField & 0x8000]
    assert [c.MessageID for c in requests] == list(range(11, 21))
    assert [c.MessageIDBeingRespondedTo for c in responses] == list(range(11, 21))
    assert [c.CommandField for c in responses] == [c.CommandField | 0x8000 for c in requests]
    (report_rq,) = [c for c, _ in exchange.received if not c.CommandField & 0x8000]
    assert report_rq.CommandField == 0x0100  # N-EVENT-REPORT-RQ, between 15 and 16
    assert report_rq.AffectedSOPInstanceUID == STORAGE_COMMITMENT_INSTANCE


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_pynetdicom_c_store_to_our_scp(our_scp: Server, syntax: str) -> None:
    """C-ECHO, then a C-STORE whose Part-10 file holds the bytes pynetdicom sent."""
    ae = _requestor(VERIFICATION, SECONDARY_CAPTURE, transfer_syntax=SYNTAXES[syntax])
    exchange = Exchange()
    assoc = ae.associate("127.0.0.1", our_scp.port, evt_handlers=exchange.handlers())
    ds = secondary_capture(SMALL, seed=21)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(SYNTAXES[syntax])  # pynetdicom encodes it in this syntax
    try:
        assert assoc.is_established
        assert assoc.send_c_echo(msg_id=7).Status == 0x0000
        assert assoc.send_c_store(ds, msg_id=8).Status == 0x0000
        assoc.release()
    finally:
        if not assoc.is_released:
            assoc.abort()

    assert [c.MessageIDBeingRespondedTo for c, _ in exchange.received] == [7, 8]
    meta, body = split_part10(our_scp.out / f"{ds.SOPInstanceUID}.dcm")
    assert meta.TransferSyntaxUID == SYNTAXES[syntax]
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert meta.SourceApplicationEntityTitle == "PYNETDICOM"
    assert body == exchange.sent[1][1]
    assert read_dataset(our_scp.out / f"{ds.SOPInstanceUID}.dcm") == ds


def test_our_scp_stops_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM during an association: the SCP aborts it and exits 0, within the bounded wait."""
    with example_scp(tmp_path, tmp_path / "scp.log") as server:
        ae = _requestor(VERIFICATION, transfer_syntax=IMPLICIT)
        assoc = ae.associate("127.0.0.1", server.port)
        try:
            assert assoc.is_established
            assert assoc.send_c_echo().Status == 0x0000
            stop(server.process)
            assert server.process.returncode == 0
            deadline = time.monotonic() + PEER_TIMEOUT
            while not assoc.is_aborted and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL)
            assert assoc.is_aborted
        finally:
            if assoc.is_established:
                assoc.abort()
    assert "stopping" in server.log_text()


def test_our_scp_discards_an_aborted_c_store(our_scp: Server) -> None:
    """A C-STORE cut short by an A-ABORT leaves neither a file nor a spooled part behind.

    The requestor is a sans-I/O ``Connection`` on a plain socket, so that it can stop halfway:
    past the server's 1 MiB spool threshold, the data set is being written to a ``.part`` file
    in the output directory, which must be gone once the A-ABORT is taken.
    """
    ds = secondary_capture(3 * LARGE, seed=22)
    connection = Connection("requestor")
    connection.request_association("ABORTER", "ANY-SCP", [(SECONDARY_CAPTURE, [EXPLICIT])])
    with socket.create_connection(("127.0.0.1", our_scp.port), timeout=PEER_TIMEOUT) as sock:
        connection.transport_connected()
        sock.sendall(connection.data_to_send())
        deadline = time.monotonic() + PEER_TIMEOUT
        while connection.state != "Sta6":
            assert time.monotonic() < deadline
            connection.receive_data(sock.recv(65536))
        connection.send_message(C_STORE(AffectedSOPInstanceUID=ds.SOPInstanceUID,
                                        AffectedSOPClassUID=SECONDARY_CAPTURE, Priority=0,
                                        MessageID=1), dataset=ds)  # fmt: skip
        wire = connection.data_to_send()
        sock.sendall(wire[: len(wire) * 2 // 3])
        while not list(our_scp.out.glob("*.part")):  # the SCP is spooling it
            assert time.monotonic() < deadline, "no spool file appeared"
            time.sleep(POLL_INTERVAL)
        connection.abort()
        sock.sendall(connection.data_to_send())
    while list(our_scp.out.glob("*.part")):
        assert time.monotonic() < deadline, "the spool file was left behind"
        time.sleep(POLL_INTERVAL)
    assert not list(our_scp.out.glob(f"{ds.SOPInstanceUID}*"))


# -- our SCU -> pynetdicom SCP -------------------------------------------------------------------


@dataclass
class Recorded:
    """What the pynetdicom SCP's handlers saw, and the data sets its responses carried."""

    requests: list[Any] = field(default_factory=list)
    replies: dict[int, bytes | None] = field(default_factory=dict)
    instances: dict[str, Dataset] = field(default_factory=dict)


@pytest.fixture
def pynetdicom_scp() -> Iterator[tuple[int, Recorded]]:
    """A pynetdicom SCP in a thread of this process, announcing a 4096-byte maximum PDU."""
    recorded = Recorded()
    assigned_uid = "1.2.826.0.1.3680043.8.498.1"

    def keep(event: Any) -> None:
        recorded.requests.append(event.request)

    def on_create(event: Any) -> tuple[int, Dataset]:
        keep(event)
        attributes = event.attribute_list
        uid = event.request.AffectedSOPInstanceUID
        reply = Dataset()
        reply.update(attributes)
        if uid is None:
            uid = assigned_uid
            reply.AffectedSOPInstanceUID = uid  # pynetdicom moves it into the response
        recorded.instances[str(uid)] = attributes
        return 0x0000, reply

    def on_get(event: Any) -> tuple[int, Dataset | None]:
        keep(event)
        stored = recorded.instances.get(str(event.request.RequestedSOPInstanceUID))
        if stored is None:
            return NO_SUCH_INSTANCE, None
        reply = Dataset()
        for tag in _tags(event.request.AttributeIdentifierList) or stored.keys():
            if tag in stored:
                reply[tag] = stored[tag]
        return 0x0000, reply

    def on_set(event: Any) -> tuple[int, Dataset]:
        keep(event)
        modifications = event.modification_list
        recorded.instances[str(event.request.RequestedSOPInstanceUID)].update(modifications)
        return 0x0000, modifications

    def on_delete(event: Any) -> int:
        keep(event)
        del recorded.instances[str(event.request.RequestedSOPInstanceUID)]
        return 0x0000

    def on_action(event: Any) -> tuple[int, Dataset]:
        keep(event)
        reply = Dataset()
        reply.TransactionUID = event.action_information.TransactionUID
        reply.RetrieveAETitle = "PYNETDICOM"
        return 0x0000, reply

    def on_event_report(event: Any) -> tuple[int, Dataset]:
        keep(event)
        reply = Dataset()
        reply.TransactionUID = event.event_information.TransactionUID
        return 0x0000, reply

    def on_echo(event: Any) -> int:
        keep(event)
        return 0x0000

    def on_store(event: Any) -> int:
        keep(event)
        return 0x0000

    def on_sent(event: Any) -> None:
        command = event.message.command_set
        recorded.replies[int(command.MessageIDBeingRespondedTo)] = _bytes(event.message.data_set)

    ae = AE(ae_title="PYNETDICOM")
    ae.maximum_pdu_size = MAX_PDU
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = PEER_TIMEOUT
    for abstract_syntax in (VERIFICATION, SECONDARY_CAPTURE, STORAGE_COMMITMENT, FILM_SESSION):
        ae.add_supported_context(abstract_syntax, list(SYNTAXES.values()))
    handlers = [
        (evt.EVT_C_ECHO, on_echo),
        (evt.EVT_C_STORE, on_store),
        (evt.EVT_N_CREATE, on_create),
        (evt.EVT_N_GET, on_get),
        (evt.EVT_N_SET, on_set),
        (evt.EVT_N_DELETE, on_delete),
        (evt.EVT_N_ACTION, on_action),
        (evt.EVT_N_EVENT_REPORT, on_event_report),
        (evt.EVT_DIMSE_SENT, on_sent),
    ]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    try:
        yield server.server_address[1], recorded
    finally:
        server.shutdown()


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_our_scu_to_pynetdicom_scp(pynetdicom_scp: tuple[int, Recorded], syntax: str) -> None:
    """Our SCU drives C-ECHO, C-STORE and the six N-services on pynetdicom, byte-exact both ways."""
    port, recorded = pynetdicom_scp
    transfer_syntax = SYNTAXES[syntax]
    attributes = mpps_attributes()
    modifications = Dataset()
    modifications.PerformedProcedureStepStatus = "COMPLETED"
    information = commitment_request()
    report = commitment_request()
    images = [secondary_capture(SMALL, seed=31), secondary_capture(LARGE, seed=32)]
    session = generate_uid()
    replies: list[Any] = []

    async def exchange() -> None:
        contexts = [
            (abstract_syntax, [transfer_syntax])
            for abstract_syntax in (VERIFICATION, SECONDARY_CAPTURE, STORAGE_COMMITMENT)
        ]
        contexts.append((FILM_SESSION, [transfer_syntax]))
        async with Client(
            "127.0.0.1", port, called_ae_title="PYNETDICOM", contexts=contexts
        ) as client:
            association = client.association
            assert association.peer_max_pdu_length == MAX_PDU
            assert len(association.accepted_contexts) == 4
            replies.append(await client.echo())
            for image in images:  # the 1.2 MB one is cut for pynetdicom's 4096 (it checks)
                replies.append(await client.store(image))
            replies.append(await client.n_create(FILM_SESSION, attributes, session))
            replies.append(await client.n_get(FILM_SESSION, session, [0x00100010]))
            replies.append(await client.n_set(FILM_SESSION, session, modifications))
            replies.append(
                await client.n_action(
                    STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE, 1, information
                )
            )
            replies.append(
                await client.n_event_report(
                    STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE, 2, report
                )
            )
            replies.append(await client.n_delete(FILM_SESSION, session))
            replies.append(await client.n_get(FILM_SESSION, session))
            replies.append(await client.n_create(FILM_SESSION, mpps_attributes()))

    asyncio.run(exchange())

    # statuses and Message IDs, as we read them and as pynetdicom's handlers saw them
    assert [reply.status for reply in replies] == [0] * 9 + [NO_SUCH_INSTANCE, 0]
    ids = [reply.primitive.MessageIDBeingRespondedTo for reply in replies]
    assert ids == [request.MessageID for request in recorded.requests]
    assert len(set(ids)) == 11

    # requests: pynetdicom's handlers got the very bytes we encoded
    _, small, large, create, get, set_, action, event_report, *_ = recorded.requests
    for request, image in ((small, images[0]), (large, images[1])):
        assert request.DataSet.getvalue() == encode_dataset(image, transfer_syntax)
    assert create.AttributeList.getvalue() == encode_dataset(attributes, transfer_syntax)
    assert _tags(get.AttributeIdentifierList) == [0x00100010]
    assert set_.ModificationList.getvalue() == encode_dataset(modifications, transfer_syntax)
    assert action.ActionInformation.getvalue() == encode_dataset(information, transfer_syntax)
    assert action.ActionTypeID == 1
    assert event_report.EventInformation.getvalue() == encode_dataset(report, transfer_syntax)
    assert event_report.EventTypeID == 2

    # replies: we got the very bytes pynetdicom sent, and they decode to what its handlers made
    for reply in replies:
        responded = reply.primitive.MessageIDBeingRespondedTo
        assert reply.raw == recorded.replies[responded]
    create_rsp, get_rsp, set_rsp, action_rsp, report_rsp, _, gone, assigned = replies[3:]
    assert create_rsp.dataset == attributes
    assert create_rsp.primitive.AffectedSOPInstanceUID == session
    assert get_rsp.dataset.PatientName == "Peer^Test"
    assert list(get_rsp.dataset.keys()) == [0x00100010]
    assert set_rsp.dataset == modifications
    assert action_rsp.dataset.TransactionUID == information.TransactionUID
    assert action_rsp.dataset.RetrieveAETitle == "PYNETDICOM"
    assert action_rsp.primitive.ActionTypeID == 1
    assert report_rsp.dataset.TransactionUID == report.TransactionUID
    assert report_rsp.primitive.EventTypeID == 2
    assert gone.dataset is None
    assert assigned.primitive.AffectedSOPInstanceUID == "1.2.826.0.1.3680043.8.498.1"


def test_cli_n_action_to_pynetdicom_scp(
    pynetdicom_scp: tuple[int, Recorded], tmp_path: Path
) -> None:
    """The example's ``n-action`` command: the data set file crosses intact, the reply prints."""
    port, recorded = pynetdicom_scp
    information = commitment_request()
    path = tmp_path / "information.dcm"
    stored = Dataset(information)
    stored.file_meta = FileMetaDataset()
    stored.file_meta.TransferSyntaxUID = UID(EXPLICIT)
    dcmwrite(path, stored)
    argv = [sys.executable, str(EXAMPLES / "asyncio_scu.py"), "n-action", "127.0.0.1", str(port)]
    argv += ["--aec", "PYNETDICOM", "--class", STORAGE_COMMITMENT]
    argv += ["--instance", STORAGE_COMMITMENT_INSTANCE, "--type", "1", "--dataset", str(path)]
    result = run_tool(argv)
    assert result.returncode == 0, result.stdout
    assert "N-ACTION: status 0x0000 (Success)" in result.stdout
    assert "Retrieve AE Title" in result.stdout and "PYNETDICOM" in result.stdout
    (request,) = recorded.requests
    assert request.ActionTypeID == 1
    # pynetdicom accepts in its own order of preference, Implicit first
    assert request.ActionInformation.getvalue() == encode_dataset(information, IMPLICIT)


# -- library findings ----------------------------------------------------------------------------


def test_library_strict_decoder_takes_its_own_empty_data_set() -> None:
    """Found when our SCP answered an N-CREATE without attributes with an empty Attribute List."""
    response = N_CREATE(
        MessageIDBeingRespondedTo=1,
        AffectedSOPClassUID=FILM_SESSION,
        AffectedSOPInstanceUID="1.2.3",
        Status=0x0000,
        AttributeList=b"",
    )
    wire = bytes(encode_pdata(response, 1, max_pdu_length=16382))
    (message,) = StreamDecoder(policy=STRICT).feed(wire)
    assert isinstance(message, MessageReceived)
    assert message.dataset_length == 0
