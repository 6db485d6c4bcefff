"""The DIMSE service layer on two Connections wired back to back in memory (sans-I/O)."""

from __future__ import annotations

from collections.abc import Iterator

from pydicom.dataset import Dataset

from dimse_codec import C_ECHO, C_FIND, C_GET, N_ACTION
from dimse_codec.association import Roles
from dimse_codec.services import (
    CANCEL,
    STORAGE_COMMITMENT,
    ServiceRequest,
    Services,
    commitment_handler,
    commitment_request,
)
from dimse_codec.services.contexts import NATIVE, PATIENT_ROOT_FIND, PATIENT_ROOT_GET, VERIFICATION
from dimse_codec.upper_layer import Connection

CT = "1.2.840.10008.5.1.4.1.1.2"


def pair(
    handlers: dict[str, object], scu_handlers: dict[str, object] | None = None
) -> tuple[Services, Services]:
    supported = {
        sop: list(NATIVE)
        for sop in (VERIFICATION, PATIENT_ROOT_FIND, PATIENT_ROOT_GET, CT, STORAGE_COMMITMENT)
    }
    scp_conn = Connection("acceptor")
    scu_conn = Connection("requestor")
    scp_conn.transport_connected()
    scu_conn.request_association(
        "SCU", "SCP", [(sop, list(NATIVE)) for sop in supported], roles={CT: (True, True)}
    )
    scu_conn.transport_connected()
    scp_conn.receive_data(scu_conn.data_to_send())
    scp_conn.accept(supported, roles={CT: Roles(True, True)})
    scu_conn.receive_data(scp_conn.data_to_send())
    return Services(scu_conn, scu_handlers or {}), Services(scp_conn, handlers)  # type: ignore[arg-type]


def pump(a: Services, b: Services) -> None:
    """Move bytes both ways and step both sides until nothing happens."""
    for _ in range(1000):
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.connection.data_to_send()
            if data:
                dst.receive(dst.connection.receive_data(data))
                moved = True
        for side in (a, b):
            if side.runnable:
                side.step()
                moved = True
        if not moved:
            return
    raise AssertionError("the exchange did not settle")


def test_echo_fills_the_sop_class_and_message_id() -> None:
    scu, scp = pair({})
    message_id = scu.request(C_ECHO())
    pump(scu, scp)
    (response,) = scu.tracker.responses(message_id)
    assert response.status == 0x0000 and not response.pending
    assert response.primitive.AffectedSOPClassUID == VERIFICATION


def test_find_yields_pendings_then_success_and_cancel_stops_it() -> None:
    def find(event: ServiceRequest) -> Iterator[tuple[int, Dataset]]:
        assert event.identifier.PatientName == "Doe*"
        for name in ("Doe^A", "Doe^B", "Doe^C"):
            match = Dataset()
            match.PatientName = name
            yield 0xFF00, match

    scu, scp = pair({"C-FIND": find})
    query = Dataset()
    query.PatientName = "Doe*"
    message_id = scu.request(C_FIND(AffectedSOPClassUID=PATIENT_ROOT_FIND, Priority=0), query)
    pump(scu, scp)
    responses = list(scu.tracker.responses(message_id))
    assert [r.status for r in responses] == [0xFF00, 0xFF00, 0xFF00, 0x0000]
    assert [str(r.dataset.PatientName) for r in responses[:3] if r.dataset] == [
        "Doe^A",
        "Doe^B",
        "Doe^C",
    ]

    endless_calls = []

    def endless(event: ServiceRequest) -> Iterator[tuple[int, Dataset]]:
        while True:
            endless_calls.append(1)
            yield 0xFF00, Dataset()

    scu, scp = pair({"C-FIND": endless})
    message_id = scu.request(C_FIND(AffectedSOPClassUID=PATIENT_ROOT_FIND, Priority=0), query)
    scp.receive(scp.connection.receive_data(scu.connection.data_to_send()))
    scp.step()
    scp.step()
    scu.receive(scu.connection.receive_data(scp.connection.data_to_send()))
    scu.cancel(message_id)
    pump(scu, scp)
    statuses = [r.status for r in scu.tracker.responses(message_id)]
    assert statuses[-1] == CANCEL and set(statuses[:-1]) == {0xFF00}
    assert len(endless_calls) == len(statuses) - 1


def test_get_sends_c_stores_on_the_same_association_with_counts() -> None:
    stored: list[str] = []

    def get(event: ServiceRequest) -> Iterator[object]:
        yield 2
        for uid in ("1.2.3.1", "1.2.3.2"):
            ds = Dataset()
            ds.SOPClassUID, ds.SOPInstanceUID = CT, uid
            yield ds

    def store(event: ServiceRequest) -> int:
        stored.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    scu, scp = pair({"C-GET": get}, {"C-STORE": store})
    message_id = scu.request(C_GET(AffectedSOPClassUID=PATIENT_ROOT_GET, Priority=0), Dataset())
    pump(scu, scp)
    responses = list(scu.tracker.responses(message_id))
    assert stored == ["1.2.3.1", "1.2.3.2"]
    assert [r.status for r in responses] == [0xFF00, 0x0000]
    assert responses[0].primitive.NumberOfRemainingSuboperations == 1
    assert responses[-1].primitive.NumberOfCompletedSuboperations == 2
    assert responses[-1].primitive.NumberOfFailedSuboperations == 0


def test_storage_commitment_report_on_the_same_association() -> None:
    reports: list[tuple[int, Dataset]] = []

    def on_report(event: ServiceRequest) -> int:
        reports.append((int(event.request.EventTypeID), event.event_information))
        return 0x0000

    scu, scp = pair({"N-ACTION": commitment_handler()}, {"N-EVENT-REPORT": on_report})
    request, info = commitment_request([(CT, "1.2.3.1")], "1.2.3.99")
    message_id = scu.request(request, info)
    pump(scu, scp)
    (response,) = scu.tracker.responses(message_id)
    assert response.status == 0x0000
    ((event_type, report),) = reports
    assert event_type == 1 and report.TransactionUID == "1.2.3.99"
    assert report.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == "1.2.3.1"
    assert scp.connection.outstanding == ()


def test_no_handler_and_failing_handler_get_0110() -> None:
    def broken(event: ServiceRequest) -> int:
        raise RuntimeError("boom")

    scu, scp = pair({"C-ECHO": broken})
    message_id = scu.request(C_ECHO())
    pump(scu, scp)
    (response,) = scu.tracker.responses(message_id)
    assert response.status == 0x0110
    assert "RuntimeError" in str(response.primitive.ErrorComment)
    unserved = scu.request(
        N_ACTION(
            RequestedSOPClassUID=STORAGE_COMMITMENT, RequestedSOPInstanceUID="1.2.3", ActionTypeID=1
        )
    )
    pump(scu, scp)
    (response,) = scu.tracker.responses(unserved)
    assert response.status == 0x0110
    assert "No handler serves N-ACTION" in str(response.primitive.ErrorComment)
