"""dimse_codec.net against pynetdicom over 127.0.0.1, all 12 DIMSE services both ways.

* our asyncio ``Client`` -> a pynetdicom SCP (a thread of this process): C-ECHO, C-STORE, C-FIND
  with Pending matches, C-CANCEL of a C-FIND in progress, C-GET with its C-STOREs back on the same
  association (SCP role selected), C-MOVE to our own ``Server``, and the six N-services;
* a pynetdicom SCU -> our ``Server``: the same twelve, our handlers asserting what they receive;
* Storage Commitment: our SCU gets the report on the same association and on a new one (our
  ``Server`` grants the SCP role the report's requestor proposes); our SCP sends the report on a
  new association to a pynetdicom listener.

Every pynetdicom server is shut down in a ``finally``; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from dimse_codec.net import BlockingClient, Client, Server
from dimse_codec.services import (
    STORAGE_COMMITMENT,
    ServiceRequest,
    commitment_handler,
    commitment_request,
    report_receiver,
    supported_for,
)
from dimse_codec.services.contexts import (
    NATIVE,
    STORAGE_COMMITMENT_INSTANCE,
    STUDY_ROOT_FIND,
    STUDY_ROOT_GET,
    STUDY_ROOT_MOVE,
    VERIFICATION,
)

pynetdicom = pytest.importorskip("pynetdicom")
from pynetdicom import AE, build_role, evt  # noqa: E402

pytestmark = pytest.mark.peer

CT = "1.2.840.10008.5.1.4.1.1.2"
FILM_SESSION = "1.2.840.10008.5.1.1.1"
"""Basic Film Session SOP Class: pynetdicom's Print Management serves all six N-services on it."""
STUDY = "1.2.826.0.1.3680043.8.498.7"
TIMEOUT = 30.0
"""Seconds any one exchange may take."""
CANCEL_AFTER = 5_000
"""Most Pending matches a C-FIND to be cancelled yields before giving up on the C-CANCEL."""


def run(coroutine: Any, timeout: float = 120.0) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def instance(number: int) -> Dataset:
    """A small CT instance of the study, with File Meta (pynetdicom picks the context by it)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = f"{STUDY}.{number}"
    ds.StudyInstanceUID = STUDY
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P1"
    ds.InstanceNumber = number
    return ds


def query(name: str = "Doe^*") -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.PatientName = name
    identifier.StudyInstanceUID = ""
    return identifier


def retrieve() -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = STUDY
    return identifier


def match(number: int) -> Dataset:
    found = Dataset()
    found.QueryRetrieveLevel = "STUDY"
    found.PatientName = f"Doe^Jane{number}"
    found.StudyInstanceUID = f"{STUDY}.{number}"
    return found


def n_attributes() -> Dataset:
    attributes = Dataset()
    attributes.NumberOfCopies = "2"
    attributes.FilmSessionLabel = "FIRST"
    return attributes


def wait_until(condition: Any, timeout: float = TIMEOUT) -> bool:
    """Poll ``condition`` (bounded); whether it became true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def await_until(condition: Any, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@dataclass
class Seen:
    """What one side's handlers received, by service."""

    requests: dict[str, list[Any]] = field(default_factory=dict)
    datasets: dict[str, list[Dataset]] = field(default_factory=dict)

    def add(self, service: str, request: Any, dataset: Dataset | None = None) -> None:
        self.requests.setdefault(service, []).append(request)
        if dataset is not None:
            self.datasets.setdefault(service, []).append(dataset)


# -- our Client -> a pynetdicom SCP ---------------------------------------------------------------


@pytest.fixture
def pynetdicom_scp() -> Iterator[tuple[AE, int, Seen, dict[str, int]]]:
    """A pynetdicom SCP of all 12 services; ``destinations`` maps move AE titles to ports."""
    seen = Seen()
    destinations: dict[str, int] = {}
    instances: dict[str, Dataset] = {}

    def on_echo(event: Any) -> int:
        seen.add("C-ECHO", event.request)
        return 0x0000

    def on_store(event: Any) -> int:
        seen.add("C-STORE", event.request, event.dataset)
        return 0x0000

    def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        identifier = event.identifier
        seen.add("C-FIND", event.request, identifier)
        if str(identifier.PatientName) == "CANCEL^ME":
            yield 0xFF00, match(0)
            if wait_until(lambda: event.is_cancelled):
                yield 0xFE00, None
            return
        for number in (1, 2, 3):
            yield 0xFF00, match(number)

    def on_get(event: Any) -> Iterator[Any]:
        seen.add("C-GET", event.request, event.identifier)
        yield 2
        yield 0xFF00, instance(1)
        yield 0xFF00, instance(2)

    def on_move(event: Any) -> Iterator[Any]:
        seen.add("C-MOVE", event.request, event.identifier)
        yield "127.0.0.1", destinations[str(event.move_destination).strip()]
        yield 1
        yield 0xFF00, instance(3)

    def on_create(event: Any) -> tuple[int, Dataset]:
        seen.add("N-CREATE", event.request, event.attribute_list)
        instances[str(event.request.AffectedSOPInstanceUID)] = copy.deepcopy(event.attribute_list)
        return 0x0000, event.attribute_list

    def on_get_n(event: Any) -> tuple[int, Dataset | None]:
        seen.add("N-GET", event.request)
        stored = instances.get(str(event.request.RequestedSOPInstanceUID))
        if stored is None:
            return 0x0112, None
        reply = Dataset()
        listed = event.request.AttributeIdentifierList  # one tag comes as a bare Tag
        listed = [listed] if isinstance(listed, int) else listed
        for tag in listed or stored.keys():
            if tag in stored:
                reply[tag] = stored[tag]
        return 0x0000, reply

    def on_set(event: Any) -> tuple[int, Dataset]:
        seen.add("N-SET", event.request, event.modification_list)
        instances[str(event.request.RequestedSOPInstanceUID)].update(event.modification_list)
        return 0x0000, event.modification_list

    def on_action(event: Any) -> tuple[int, Dataset]:
        seen.add("N-ACTION", event.request, event.action_information)
        reply = Dataset()
        reply.FilmSessionLabel = "PRINTED"
        return 0x0000, reply

    def on_event_report(event: Any) -> tuple[int, Dataset]:
        seen.add("N-EVENT-REPORT", event.request, event.event_information)
        return 0x0000, event.event_information

    def on_delete(event: Any) -> int:
        seen.add("N-DELETE", event.request)
        instances.pop(str(event.request.RequestedSOPInstanceUID), None)
        return 0x0000

    ae = AE(ae_title="PYN-SCP")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    for uid in (VERIFICATION, STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE, FILM_SESSION):
        ae.add_supported_context(uid, list(NATIVE))
    ae.add_supported_context(CT, list(NATIVE), scu_role=True, scp_role=True)
    ae.add_requested_context(CT, list(NATIVE))  # for the C-MOVE sub-operations
    handlers = [
        (evt.EVT_C_ECHO, on_echo),
        (evt.EVT_C_STORE, on_store),
        (evt.EVT_C_FIND, on_find),
        (evt.EVT_C_GET, on_get),
        (evt.EVT_C_MOVE, on_move),
        (evt.EVT_N_CREATE, on_create),
        (evt.EVT_N_GET, on_get_n),
        (evt.EVT_N_SET, on_set),
        (evt.EVT_N_ACTION, on_action),
        (evt.EVT_N_EVENT_REPORT, on_event_report),
        (evt.EVT_N_DELETE, on_delete),
    ]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    try:
        yield ae, server.server_address[1], seen, destinations
    finally:
        server.shutdown()


def test_our_client_against_pynetdicom_scp_all_services(
    pynetdicom_scp: tuple[AE, int, Seen, dict[str, int]],
) -> None:
    _, port, seen, destinations = pynetdicom_scp
    got_back: list[Dataset] = []
    moved: list[tuple[dict[str, Any], Dataset]] = []

    def on_get_store(event: ServiceRequest) -> int:
        got_back.append(event.dataset)
        return 0x0000

    def on_moved(event: ServiceRequest) -> int:  # the data set is read while the handler runs
        moved.append((event.request.values(), event.dataset))
        return 0x0000

    classes = (VERIFICATION, STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE, FILM_SESSION, CT)
    contexts = [(uid, list(NATIVE)) for uid in classes]
    film = "1.2.826.0.1.3680043.8.498.9"

    async def main() -> dict[str, Any]:
        results: dict[str, Any] = {}
        async with Server({"C-STORE": on_moved}, ae_title="OUR-STORE") as destination:
            destinations["OUR-STORE"] = destination.port
            async with Client(
                "127.0.0.1",
                port,
                calling_ae_title="OUR-SCU",
                called_ae_title="PYN-SCP",
                contexts=contexts,
                roles={CT: (True, True)},
                handlers={"C-STORE": on_get_store},
            ) as client:
                results["echo"] = await client.echo()
                results["store"] = await client.store(instance(9))
                results["find"] = [r async for r in client.find(query())]
                cancelled = []
                async for response in client.find(query("CANCEL^ME")):
                    cancelled.append(response)
                    if response.pending:
                        await client.cancel(response.message_id)
                results["cancel"] = cancelled
                results["get"] = await client.get(retrieve())
                results["move"] = await client.move(retrieve(), "OUR-STORE")
                results["n-create"] = await client.n_create(FILM_SESSION, n_attributes(), film)
                results["n-get"] = await client.n_get(FILM_SESSION, film, [0x20000010])
                changes = Dataset()
                changes.FilmSessionLabel = "SECOND"
                results["n-set"] = await client.n_set(FILM_SESSION, film, changes)
                results["n-get-all"] = await client.n_get(FILM_SESSION, film)
                results["n-action"] = await client.n_action(FILM_SESSION, film, 1, None)
                information = Dataset()
                information.PrinterStatus = "NORMAL"
                results["n-event-report"] = await client.n_event_report(
                    FILM_SESSION, film, 1, information
                )
                results["n-delete"] = await client.n_delete(FILM_SESSION, film)
                results["n-get-gone"] = await client.n_get(FILM_SESSION, film)
        return results

    results = run(main())
    for name in ("echo", "store", "get", "move", "n-create", "n-get", "n-set", "n-get-all"):
        assert results[name].status == 0x0000, name
    for name in ("n-action", "n-event-report", "n-delete"):
        assert results[name].status == 0x0000, name
    assert results["n-get-gone"].status == 0x0112  # No such SOP Instance

    # C-ECHO and C-STORE as pynetdicom saw them
    (echo,) = seen.requests["C-ECHO"]
    assert echo.AffectedSOPClassUID == VERIFICATION
    (stored,) = seen.datasets["C-STORE"]
    assert stored.SOPInstanceUID == f"{STUDY}.9" and stored.PatientName == "Doe^Jane"

    # C-FIND: three Pending matches with their identifiers, then Success
    find = results["find"]
    assert [r.status for r in find] == [0xFF00] * 3 + [0x0000]
    assert [str(r.dataset.PatientName) for r in find[:3]] == [f"Doe^Jane{n}" for n in (1, 2, 3)]
    assert find[-1].dataset is None
    assert str(seen.datasets["C-FIND"][0].PatientName) == "Doe^*"

    # C-CANCEL: one match, then Matching terminated due to Cancel
    assert [r.status for r in results["cancel"]] == [0xFF00, 0xFE00]

    # C-GET: two C-STOREs back on the same association, counted in the final response
    assert sorted(str(ds.SOPInstanceUID) for ds in got_back) == [
        f"{STUDY}.1",
        f"{STUDY}.2",
    ]
    get = results["get"].primitive.values()
    assert get["NumberOfCompletedSuboperations"] == 2
    assert get["NumberOfFailedSuboperations"] == get["NumberOfWarningSuboperations"] == 0

    # C-MOVE: the instance reached our Server with the Move Originator's AE title and ID
    ((origin, arrived),) = moved
    assert arrived.SOPInstanceUID == f"{STUDY}.3"
    # pynetdicom names itself, not the AE that invoked the C-MOVE (PS3.7 9.1.1.1.8 asks for
    # the invoker's title); our Server names the requestor (the pynetdicom SCU test below)
    assert str(origin["MoveOriginatorApplicationEntityTitle"]).strip() == "PYN-SCP"
    assert origin["MoveOriginatorMessageID"] == results["move"].message_id
    assert results["move"].primitive.values()["NumberOfCompletedSuboperations"] == 1
    assert str(seen.requests["C-MOVE"][0].MoveDestination).strip() == "OUR-STORE"

    # the N-services: attribute lists both ways
    assert results["n-create"].dataset == n_attributes()
    assert seen.datasets["N-CREATE"][0] == n_attributes()
    assert str(seen.requests["N-CREATE"][0].AffectedSOPInstanceUID) == film
    only = results["n-get"].dataset
    assert list(only.keys()) == [0x20000010] and only.NumberOfCopies == "2"
    assert seen.datasets["N-SET"][0].FilmSessionLabel == "SECOND"
    assert results["n-set"].dataset.FilmSessionLabel == "SECOND"
    everything = results["n-get-all"].dataset
    assert everything.FilmSessionLabel == "SECOND" and everything.NumberOfCopies == "2"
    assert results["n-action"].dataset.FilmSessionLabel == "PRINTED"
    assert seen.requests["N-ACTION"][0].ActionTypeID == 1
    assert seen.requests["N-EVENT-REPORT"][0].EventTypeID == 1
    assert seen.datasets["N-EVENT-REPORT"][0].PrinterStatus == "NORMAL"
    assert results["n-event-report"].dataset.PrinterStatus == "NORMAL"
    assert str(seen.requests["N-DELETE"][0].RequestedSOPInstanceUID) == film


# -- a pynetdicom SCU -> our Server ----------------------------------------------------------------


def our_handlers(seen: Seen, closed: list[str]) -> dict[str, Any]:
    """Our Server's handlers for the 12 services, recording what they were handed."""
    instances: dict[str, Dataset] = {}

    def on_echo(event: ServiceRequest) -> int:
        seen.add("C-ECHO", event.request.values())
        return 0x0000

    def on_store(event: ServiceRequest) -> int:
        seen.add("C-STORE", event.request.values(), event.dataset)
        return 0x0000

    def on_find(event: ServiceRequest) -> Iterator[tuple[int, Dataset]]:
        identifier = event.identifier
        seen.add("C-FIND", event.request.values(), identifier)
        try:
            if str(identifier.PatientName) == "CANCEL^ME":
                for number in range(CANCEL_AFTER):  # until the C-CANCEL stops us
                    yield 0xFF00, match(number)
                return
            for number in (1, 2):
                yield 0xFF00, match(number)
        finally:
            closed.append(str(identifier.PatientName))

    def on_retrieve(event: ServiceRequest) -> Iterator[Any]:
        seen.add(event.request.msg_type, event.request.values(), event.identifier)
        yield 2
        yield instance(1)
        yield instance(2)

    def on_create(event: ServiceRequest) -> tuple[int, Dataset]:
        seen.add("N-CREATE", event.request.values(), event.attribute_list)
        uid = str(event.request.values()["AffectedSOPInstanceUID"])
        instances[uid] = copy.deepcopy(event.attribute_list)
        return 0x0000, event.attribute_list

    def on_get(event: ServiceRequest) -> tuple[int, Dataset | None]:
        values = event.request.values()
        seen.add("N-GET", values)
        stored = instances.get(str(values["RequestedSOPInstanceUID"]))
        if stored is None:
            return 0x0112, None
        reply = Dataset()
        for tag in values.get("AttributeIdentifierList") or stored.keys():
            if tag in stored:
                reply[tag] = stored[tag]
        return 0x0000, reply

    def on_set(event: ServiceRequest) -> tuple[int, Dataset]:
        values = event.request.values()
        seen.add("N-SET", values, event.modification_list)
        instances[str(values["RequestedSOPInstanceUID"])].update(event.modification_list)
        return 0x0000, event.modification_list

    def on_action(event: ServiceRequest) -> tuple[int, Dataset]:
        seen.add("N-ACTION", event.request.values(), event.action_information)
        reply = Dataset()
        reply.FilmSessionLabel = "PRINTED"
        return 0x0000, reply

    def on_event_report(event: ServiceRequest) -> tuple[int, Dataset]:
        seen.add("N-EVENT-REPORT", event.request.values(), event.event_information)
        return 0x0000, event.event_information

    def on_delete(event: ServiceRequest) -> int:
        values = event.request.values()
        seen.add("N-DELETE", values)
        return 0x0000 if instances.pop(str(values["RequestedSOPInstanceUID"]), None) else 0x0112

    return {
        "C-ECHO": on_echo,
        "C-STORE": on_store,
        "C-FIND": on_find,
        "C-GET": on_retrieve,
        "C-MOVE": on_retrieve,
        "N-CREATE": on_create,
        "N-GET": on_get,
        "N-SET": on_set,
        "N-ACTION": on_action,
        "N-EVENT-REPORT": on_event_report,
        "N-DELETE": on_delete,
    }


def test_pynetdicom_scu_against_our_server_all_services() -> None:
    seen, closed = Seen(), []
    handlers = our_handlers(seen, closed)
    services = {"C-ECHO", "C-STORE", "C-FIND", "C-GET", "C-MOVE"}
    supported = supported_for(services, storage=[CT]) | {FILM_SESSION: list(NATIVE)}
    got_back: list[Dataset] = []
    moved: list[Any] = []

    def on_get_store(event: Any) -> int:
        got_back.append(event.dataset)
        return 0x0000

    def on_moved(event: Any) -> int:
        moved.append((event.request, event.dataset))
        return 0x0000

    destination_ae = AE(ae_title="PYN-STORE")
    destination_ae.add_supported_context(CT, list(NATIVE))
    destination = destination_ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_moved)]
    )

    def pynetdicom_side(port: int) -> dict[str, Any]:
        ae = AE(ae_title="PYN-SCU")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
        for uid in (VERIFICATION, STUDY_ROOT_FIND, STUDY_ROOT_GET, STUDY_ROOT_MOVE, FILM_SESSION):
            ae.add_requested_context(uid, list(NATIVE))
        ae.add_requested_context(CT, [ExplicitVRLittleEndian])
        assoc = ae.associate(
            "127.0.0.1",
            port,
            ae_title="OUR-SCP",
            ext_neg=[build_role(CT, scp_role=True, scu_role=True)],
            evt_handlers=[(evt.EVT_C_STORE, on_get_store)],
        )
        assert assoc.is_established
        out: dict[str, Any] = {}
        try:
            out["echo"] = assoc.send_c_echo()
            out["store"] = assoc.send_c_store(instance(9))
            out["find"] = list(assoc.send_c_find(query(), STUDY_ROOT_FIND))
            find_context = next(
                cx.context_id
                for cx in assoc.accepted_contexts
                if cx.abstract_syntax == STUDY_ROOT_FIND
            )
            cancelled = []
            for status, identifier in assoc.send_c_find(query("CANCEL^ME"), STUDY_ROOT_FIND, 7):
                cancelled.append((status, identifier))
                if len(cancelled) == 1:
                    assoc.send_c_cancel(7, find_context)
            out["cancel"] = cancelled
            out["get"] = list(assoc.send_c_get(retrieve(), STUDY_ROOT_GET))
            out["move"] = list(assoc.send_c_move(retrieve(), "PYN-STORE", STUDY_ROOT_MOVE))
            film = "1.2.826.0.1.3680043.8.498.10"
            out["n-create"] = assoc.send_n_create(n_attributes(), FILM_SESSION, film)
            out["n-get"] = assoc.send_n_get([0x20000010], FILM_SESSION, film)
            changes = Dataset()
            changes.FilmSessionLabel = "SECOND"
            out["n-set"] = assoc.send_n_set(changes, FILM_SESSION, film)
            out["n-action"] = assoc.send_n_action(None, 1, FILM_SESSION, film)
            information = Dataset()
            information.PrinterStatus = "NORMAL"
            out["n-event-report"] = assoc.send_n_event_report(information, 1, FILM_SESSION, film)
            out["n-delete"] = assoc.send_n_delete(FILM_SESSION, film)
            out["n-delete-again"] = assoc.send_n_delete(FILM_SESSION, film)
        finally:
            assoc.release()
        return out

    async def main() -> dict[str, Any]:
        peers = {"PYN-STORE": ("127.0.0.1", destination.server_address[1])}
        async with Server(handlers, supported=supported, peers=peers) as server:
            return await asyncio.to_thread(pynetdicom_side, server.port)

    try:
        out = run(main())
    finally:
        destination.shutdown()

    def status(name: str) -> int:
        answer = out[name]  # C-ECHO and C-STORE give the status, the N-services a pair
        return int((answer[0] if isinstance(answer, tuple) else answer).Status)

    assert status("echo") == status("store") == 0x0000
    assert seen.requests["C-ECHO"][0]["AffectedSOPClassUID"] == VERIFICATION
    assert seen.datasets["C-STORE"][0].SOPInstanceUID == f"{STUDY}.9"

    find = out["find"]
    assert [int(s.Status) for s, _ in find] == [0xFF00, 0xFF00, 0x0000]
    assert [str(i.PatientName) for _, i in find[:2]] == ["Doe^Jane1", "Doe^Jane2"]
    assert str(seen.datasets["C-FIND"][0].PatientName) == "Doe^*"

    statuses = [int(s.Status) for s, _ in out["cancel"]]
    assert statuses[-1] == 0xFE00 and set(statuses[:-1]) == {0xFF00}
    assert len(statuses) - 1 < CANCEL_AFTER  # the generator was stopped, not exhausted
    assert closed == ["Doe^*", "CANCEL^ME"]
    assert seen.requests["C-FIND"][1]["MessageID"] == 7

    get_final = out["get"][-1][0]
    assert int(get_final.Status) == 0x0000 and get_final.NumberOfCompletedSuboperations == 2
    assert sorted(str(ds.SOPInstanceUID) for ds in got_back) == [f"{STUDY}.1", f"{STUDY}.2"]
    move_final = out["move"][-1][0]
    assert int(move_final.Status) == 0x0000 and move_final.NumberOfCompletedSuboperations == 2
    assert [int(s.NumberOfRemainingSuboperations) for s, _ in out["move"][:-1]] == [1]
    assert sorted(str(ds.SOPInstanceUID) for _, ds in moved) == [f"{STUDY}.1", f"{STUDY}.2"]
    for request, _ in moved:
        assert request.MoveOriginatorApplicationEntityTitle.strip() == "PYN-SCU"
        assert request.MoveOriginatorMessageID == 1
    assert seen.requests["C-MOVE"][0]["MoveDestination"].strip() == "PYN-STORE"

    assert status("n-create") == 0x0000 and out["n-create"][1] == n_attributes()
    assert seen.datasets["N-CREATE"][0] == n_attributes()
    reply = out["n-get"][1]
    assert status("n-get") == 0x0000 and list(reply.keys()) == [0x20000010]
    assert list(seen.requests["N-GET"][0]["AttributeIdentifierList"]) == [0x20000010]
    assert status("n-set") == 0x0000 and out["n-set"][1].FilmSessionLabel == "SECOND"
    assert status("n-action") == 0x0000 and out["n-action"][1].FilmSessionLabel == "PRINTED"
    assert seen.requests["N-ACTION"][0]["ActionTypeID"] == 1
    assert status("n-event-report") == 0x0000
    assert out["n-event-report"][1].PrinterStatus == "NORMAL"
    assert seen.datasets["N-EVENT-REPORT"][0].PrinterStatus == "NORMAL"
    assert status("n-delete") == 0x0000 and status("n-delete-again") == 0x0112


# -- Storage Commitment both ways ------------------------------------------------------------------

REFERENCES = [(CT, f"{STUDY}.1"), (CT, f"{STUDY}.2")]


@pytest.fixture
def pynetdicom_commitment_scp() -> Iterator[tuple[int, dict[str, int], list[Any]]]:
    """A pynetdicom Storage Commitment SCP: it reports on the same association, unless the
    requestor's AE title is in ``elsewhere`` (AE -> port), where it opens a new one."""
    elsewhere: dict[str, int] = {}
    outcomes: list[Any] = []
    threads: list[threading.Thread] = []

    def report(info: Dataset) -> tuple[Dataset, int]:
        event_info = Dataset()
        event_info.TransactionUID = info.TransactionUID
        event_info.ReferencedSOPSequence = info.ReferencedSOPSequence[:1]
        failed = info.ReferencedSOPSequence[1]
        failed.FailureReason = 0x0112
        event_info.FailedSOPSequence = [failed]
        return event_info, 2

    def report_elsewhere(port: int, info: Dataset) -> None:
        ae = AE(ae_title="PYN-COMMIT")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
        ae.add_requested_context(STORAGE_COMMITMENT, list(NATIVE))
        assoc = ae.associate(
            "127.0.0.1",
            port,
            ae_title="OUR-SCU",
            ext_neg=[build_role(STORAGE_COMMITMENT, scu_role=False, scp_role=True)],
        )
        if not assoc.is_established:
            outcomes.append("no association")
            return
        event_info, kind = report(info)
        status, _ = assoc.send_n_event_report(
            event_info, kind, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE
        )
        outcomes.append(int(status.Status))
        assoc.release()

    def on_action(event: Any) -> tuple[int, None]:
        info = event.action_information
        port = elsewhere.get(event.assoc.requestor.ae_title.strip())
        if port is None:  # on the same association, before our N-ACTION response
            event_info, kind = report(info)
            status, _ = event.assoc.send_n_event_report(
                event_info, kind, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE
            )
            outcomes.append(int(status.Status))
        else:
            thread = threading.Thread(target=report_elsewhere, args=(port, info))
            threads.append(thread)
            thread.start()
        return 0x0000, None

    ae = AE(ae_title="PYN-COMMIT")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    ae.add_supported_context(STORAGE_COMMITMENT, list(NATIVE))
    server = ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_N_ACTION, on_action)]
    )
    try:
        yield server.server_address[1], elsewhere, outcomes
    finally:
        for thread in threads:
            thread.join(TIMEOUT)
        server.shutdown()


def check_report(reports: list[tuple[int, Dataset]], transaction: str) -> None:
    ((kind, info),) = reports
    assert kind == 2 and info.TransactionUID == transaction
    assert [str(i.ReferencedSOPInstanceUID) for i in info.ReferencedSOPSequence] == [f"{STUDY}.1"]
    (failed,) = info.FailedSOPSequence
    assert failed.ReferencedSOPInstanceUID == f"{STUDY}.2" and failed.FailureReason == 0x0112


def test_commitment_report_on_the_same_association_from_pynetdicom(
    pynetdicom_commitment_scp: tuple[int, dict[str, int], list[Any]],
) -> None:
    port, _, outcomes = pynetdicom_commitment_scp
    reports: list[tuple[int, Dataset]] = []
    receiver = report_receiver(lambda kind, info: reports.append((kind, info)))

    async def main() -> int:
        async with Client(
            "127.0.0.1",
            port,
            calling_ae_title="OUR-SCU",
            contexts=[(STORAGE_COMMITMENT, list(NATIVE))],
            handlers={"N-EVENT-REPORT": receiver},
        ) as client:
            request, info = commitment_request(REFERENCES, "1.2.3.41")
            return (await client.send(request, info)).status

    assert run(main()) == 0x0000
    check_report(reports, "1.2.3.41")
    assert outcomes == [0x0000]  # pynetdicom got our N-EVENT-REPORT response


def test_commitment_report_on_a_new_association_from_pynetdicom(
    pynetdicom_commitment_scp: tuple[int, dict[str, int], list[Any]],
) -> None:
    port, elsewhere, outcomes = pynetdicom_commitment_scp
    reports: list[tuple[int, Dataset]] = []
    receiver = report_receiver(lambda kind, info: reports.append((kind, info)))

    async def main() -> int:
        async with Server(
            {"N-EVENT-REPORT": receiver},
            ae_title="OUR-SCU",
            supported={STORAGE_COMMITMENT: list(NATIVE)},
        ) as ours:
            elsewhere["OUR-SCU"] = ours.port
            async with Client(
                "127.0.0.1",
                port,
                calling_ae_title="OUR-SCU",
                contexts=[(STORAGE_COMMITMENT, list(NATIVE))],
            ) as client:
                request, info = commitment_request(REFERENCES, "1.2.3.42")
                status = (await client.send(request, info)).status
            assert await await_until(lambda: bool(outcomes))
        return status

    assert run(main()) == 0x0000
    check_report(reports, "1.2.3.42")
    assert outcomes == [0x0000]


def test_our_commitment_scp_reports_to_pynetdicom_on_a_new_association() -> None:
    reports: list[Any] = []

    def on_report(event: Any) -> int:
        roles = [
            (cx.as_scu, cx.as_scp)
            for cx in event.assoc.accepted_contexts
            if cx.abstract_syntax == STORAGE_COMMITMENT
        ]
        reports.append((event.request, event.event_information, roles))
        return 0x0000

    listener_ae = AE(ae_title="PYN-SCU")
    listener_ae.add_supported_context(
        STORAGE_COMMITMENT, list(NATIVE), scu_role=False, scp_role=True
    )
    listener = listener_ae.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)]
    )

    def check(sop_class: str, sop_instance: str) -> int | None:
        return 0x0110 if sop_instance.endswith(".2") else None

    def pynetdicom_side(port: int) -> int:
        ae = AE(ae_title="PYN-SCU")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
        ae.add_requested_context(STORAGE_COMMITMENT, list(NATIVE))
        assoc = ae.associate("127.0.0.1", port, ae_title="OUR-COMMIT")
        assert assoc.is_established
        request, info = commitment_request(REFERENCES, "1.2.3.43")
        del request
        status, _ = assoc.send_n_action(info, 1, STORAGE_COMMITMENT, STORAGE_COMMITMENT_INSTANCE)
        assoc.release()
        return int(status.Status)

    async def main() -> int:
        peers = {"PYN-SCU": ("127.0.0.1", listener.server_address[1])}
        handlers = {"N-ACTION": commitment_handler(check, report_on="new")}
        async with Server(handlers, ae_title="OUR-COMMIT", peers=peers) as server:
            status = await asyncio.to_thread(pynetdicom_side, server.port)
            assert await await_until(lambda: bool(reports))
        return status

    try:
        assert run(main()) == 0x0000
    finally:
        listener.shutdown()
    ((request, info, roles),) = reports
    assert request.EventTypeID == 2
    assert request.AffectedSOPInstanceUID == STORAGE_COMMITMENT_INSTANCE
    assert info.TransactionUID == "1.2.3.43"
    assert [str(i.ReferencedSOPInstanceUID) for i in info.ReferencedSOPSequence] == [f"{STUDY}.1"]
    assert [(str(i.ReferencedSOPInstanceUID), i.FailureReason) for i in info.FailedSOPSequence] == [
        (f"{STUDY}.2", 0x0110)
    ]
    assert roles == [(True, False)]  # the listener is the SCU: it took the SCP role's report


def test_blocking_client_cancels_a_find_on_our_server() -> None:
    seen, closed = Seen(), []
    handlers = our_handlers(seen, closed)

    async def main() -> list[int]:
        async with Server(handlers) as server:

            def talk() -> list[int]:
                with BlockingClient(
                    "127.0.0.1", server.port, contexts=[(STUDY_ROOT_FIND, list(NATIVE))]
                ) as client:
                    statuses = []
                    for response in client.find(query("CANCEL^ME")):
                        statuses.append(response.status)
                        if response.pending and len(statuses) == 1:
                            client.cancel(response.message_id)
                    return statuses

            return await asyncio.to_thread(talk)

    statuses = run(main())
    assert statuses[-1] == 0xFE00 and set(statuses[:-1]) == {0xFF00}
    assert len(statuses) - 1 < CANCEL_AFTER
    assert closed == ["CANCEL^ME"]
