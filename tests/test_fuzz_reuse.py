"""``dimse-codec fuzz`` runs consecutive valid cases on one association (``LiveRunner(reuse=)``).

Without a network: which cases may share an association (:func:`reusable`: valid DIMSE traffic
on our standard association, nothing that negotiates otherwise, breaks a PDU, aborts or
releases on its own), and the in-place Message ID replacement a reused case's bytes get when
an ID was already used on the association. Then live, against a pynetdicom SCP that records
which association and Message ID every C-ECHO-RQ came on (and aborts on some): valid cases
share an association with unique Message IDs and it is released at the end; a case that needs
its own association gets one; a case answered abnormally on a reused association runs again on
a fresh one before it counts. Against DCMTK's storescp and dcmqrscp, short campaigns reuse
associations and say so in ``summary.json``. Every server is stopped in a ``finally``.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_fuzz_live import TARGET, qrscp, storescp_server

from dimse_codec import C_ECHO
from dimse_codec.pdata import MessageReceived, StreamDecoder, encode_pdata
from dimse_codec.pdu import AAbort, encode_pdu
from dimse_codec.scpfuzz import (
    STORAGE_SOP_CLASSES,
    VERIFICATION,
    Case,
    Classification,
    Expect,
    LiveRunner,
    ScpAddress,
    Step,
    Target,
    cases,
    fuzz,
    judge,
    negotiate,
)
from dimse_codec.scpfuzz.reuse import renumbered, reusable
from dimse_codec.scpfuzz.steps import release_step, request_step

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
TIMEOUT = 2.0
REUSABLE_KINDS = {
    "echo",
    "store",
    "archive-store",
    "deep-store",
    "quota-store",
    "find",
    "worklist-find",
    "get",
    "move",
}
"""Valid kinds whose cases are requests answered by a final response, on our association."""


def echo_case(target: Target, *numbers: int, abort: bool = False) -> Case:
    """One association with a C-ECHO-RQ per Message ID (one PDV per PDU); with ``abort``, an
    A-ABORT instead of the release."""
    context = target.verification_context
    assert context is not None
    steps = [request_step(target)]
    for number in numbers:
        echo = C_ECHO(MessageID=number, AffectedSOPClassUID=VERIFICATION)
        data = b"".join(
            bytes(b) for pdu in encode_pdata(echo, context, max_pdu_length=0) for b in pdu
        )
        steps.append(Step("C-ECHO-RQ", data, Expect.RESPONSE))
    steps.append(Step("A-ABORT", encode_pdu(AAbort()), Expect.NOTHING) if abort else release_step())
    return Case("abort" if abort else "echo", True, f"C-ECHO {numbers}", tuple(steps))


def message_ids(data: bytes) -> list[int]:
    """The Message IDs of the messages in ``data``, as our decoder reads them."""
    events = StreamDecoder().feed(data)
    return [e.primitive.MessageID for e in events if isinstance(e, MessageReceived)]


# -- without a network ----------------------------------------------------------------------------


def test_only_valid_requests_on_our_association_may_share_one() -> None:
    valid = echo_case(TARGET, 1, 2)
    assert reusable(valid, judge(valid, TARGET), TARGET) == {1, 2}
    aborting = echo_case(TARGET, 1, abort=True)
    assert reusable(aborting, judge(aborting, TARGET), TARGET) is None
    twice = echo_case(TARGET, 5, 5)  # its own IDs clash: it keeps them, on its own association
    assert reusable(twice, judge(twice, TARGET), TARGET) is None
    other = echo_case(TARGET, 1)
    other_rq = Step("A-ASSOCIATE-RQ", TARGET.request_bytes[:-1] + b"\x00", Expect.ASSOCIATION)
    negotiates = Case("echo", True, "other proposal", (other_rq, *other.steps[1:]))
    assert reusable(negotiates, judge(negotiates, TARGET), TARGET) is None


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(cases(TARGET))
def test_generated_cases_that_may_share_are_valid_requests(case: Case) -> None:
    numbers = reusable(case, judge(case, TARGET), TARGET)
    if numbers is None:
        assert case.kind not in {"echo", "store"} or not judge(case, TARGET).valid
        return
    assert case.kind in REUSABLE_KINDS, case
    assert case.generated_valid and judge(case, TARGET).valid
    assert case.steps[0].data == TARGET.request_bytes and case.steps[-1] == release_step()
    sent = [n for step in case.steps[1:-1] for n in message_ids(step.data)]
    assert sorted(sent) == sorted(numbers)


def test_a_message_id_is_replaced_in_place_across_fragments() -> None:
    echo = C_ECHO(MessageID=0x0102, AffectedSOPClassUID=VERIFICATION)
    command = b"".join(bytes(b) for pdu in encode_pdata(echo, 1, max_pdu_length=0) for b in pdu)[
        12:
    ]
    at = command.index(b"\x00\x00\x10\x01\x02\x00\x00\x00") + 9  # inside the ID's two bytes
    data = b"".join(  # cut the command set between the two bytes of the Message ID
        struct.pack(">BBLLBB", 4, 0, len(part) + 6, len(part) + 2, 1, mch) + part
        for part, mch in ((command[:at], 1), (command[at:], 3))
    )
    out = renumbered(data, {0x0102: 0x0A0B})
    assert len(out) == len(data) and message_ids(out) == [0x0A0B]
    assert sum(a != b for a, b in zip(out, data, strict=True)) == 2
    assert renumbered(data, {7: 8}) == data


# -- live: a pynetdicom SCP -----------------------------------------------------------------------


class Recorder:
    """What the SCP saw: per association, the C-ECHO Message IDs, and the releases."""

    def __init__(self, misbehave: bool) -> None:
        self.misbehave = misbehave
        self.lock = threading.Lock()
        self.echoes: dict[int, list[int]] = {}
        self.released = 0

    def on_echo(self, event: Any) -> int:
        """Record; when misbehaving, abort on Message ID 7 and on an association's third
        C-ECHO."""
        with self.lock:
            seen = self.echoes.setdefault(id(event.assoc), [])
            seen.append(event.request.MessageID)
            abort = event.request.MessageID == 7 or len(seen) == 3
        if abort and self.misbehave:
            event.assoc.abort()
        return 0x0000

    def on_released(self, event: Any) -> None:
        with self.lock:
            self.released += 1


@contextmanager
def recording_scp(misbehave: bool = False) -> Iterator[tuple[ScpAddress, Target, Recorder]]:
    """A pynetdicom SCP (Verification, storage) on a free port, stopped on leaving."""
    pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is the peer of this test")
    ae = pynetdicom.AE(ae_title="RECORDER")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for abstract_syntax in (VERIFICATION, *STORAGE_SOP_CLASSES):
        ae.add_supported_context(abstract_syntax, [IMPLICIT, EXPLICIT])
    recorder = Recorder(misbehave)
    handlers = [
        (pynetdicom.evt.EVT_C_ECHO, recorder.on_echo),
        (pynetdicom.evt.EVT_RELEASED, recorder.on_released),
    ]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    try:
        endpoint = ScpAddress("127.0.0.1", server.server_address[1])
        target = negotiate(endpoint, "DIMSE-FUZZ", "RECORDER", timeout=TIMEOUT)
        yield endpoint, target, recorder
    finally:
        server.shutdown()


@pytest.mark.peer
def test_valid_cases_share_an_association_with_unique_message_ids() -> None:
    with recording_scp() as (endpoint, target, recorder):
        with LiveRunner(endpoint, target, timeout=TIMEOUT, full_check_every=1000) as runner:
            runner(echo_case(target, 1))  # the first example gets the full check: its own
            observations = [runner(echo_case(target, 1)), runner(echo_case(target, 1, 2))]
            observations.append(runner(echo_case(target, 4)))
        # leaving the block released the association kept open
        with recorder.lock:
            echoes = dict(recorder.echoes)
            released = recorder.released
    assert all(o.classification is Classification.NORMAL for o in observations)
    assert [o.reused for o in observations] == [False, True, True]
    assert observations[0].records[-1].label == "C-ECHO-RQ"  # its release was not sent
    shared = [ids for ids in echoes.values() if len(ids) > 1]
    assert shared == [[1, 3, 2, 4]]  # the second case's 1 was taken: sent as 3
    assert runner.associations["reused"] == 2 and runner.associations["opened"] == 1
    assert runner.associations["message-ids-renumbered"] == 1
    assert runner.associations["released"] == 1 and released >= 3  # ours, at close()
    # the renumbered bytes are what the record shows was sent
    assert message_ids(observations[1].records[1].sent) == [3]


@pytest.mark.peer
def test_a_case_that_needs_its_own_association_gets_one() -> None:
    with recording_scp() as (endpoint, target, _):
        runner = LiveRunner(endpoint, target, timeout=TIMEOUT, full_check_every=1000)
        runner(echo_case(target, 1))
        first = runner(echo_case(target, 2))
        aborting = runner(echo_case(target, 3, abort=True))
        after = runner(echo_case(target, 4))
        runner.close()
    assert not first.reused and not aborting.reused and not after.reused
    assert aborting.records[0].answer.detail == "A-ASSOCIATE-AC"  # sent, on its own
    assert aborting.records[-1].label == "A-ABORT"
    assert runner.associations["reused"] == 0
    assert runner.associations["released"] == 2  # before the abort case, and at close()


@pytest.mark.peer
def test_an_abnormal_answer_on_a_reused_association_is_run_again_on_its_own() -> None:
    with recording_scp(misbehave=True) as (endpoint, target, _):
        runner = LiveRunner(endpoint, target, timeout=TIMEOUT, full_check_every=1000)
        runner(echo_case(target, 1))
        runner(echo_case(target, 1))  # opens the association it keeps
        runner(echo_case(target, 2))  # the second C-ECHO on it
        # the third C-ECHO of an association is aborted: on a fresh one it is the first
        third = runner(echo_case(target, 3))
        runner(echo_case(target, 1))  # opens another
        # Message ID 7 is aborted wherever it comes: a finding, shown on its own association
        seven = runner(echo_case(target, 7))
        runner.close()
    assert third.classification is Classification.NORMAL
    assert not third.reused and "aborted" in third.rerun
    assert seven.classification is Classification.ABORT_ON_VALID
    assert not seven.reused and "aborted" in seven.rerun
    assert seven.records[0].answer.detail == "A-ASSOCIATE-AC"  # its own A-ASSOCIATE-RQ
    assert runner.associations["rerun"] == 2 and runner.associations["rerun-normal"] == 1
    assert runner.associations["aborted"] == 2


# -- live: DCMTK ----------------------------------------------------------------------------------


@pytest.mark.peer
def test_storescp_campaign_reuses_associations(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with storescp_server(tmp_path) as server:
        result = fuzz("127.0.0.1", server.port, max_examples=30, seed=5, timeout=TIMEOUT, out=out,
                      kinds=["echo", "store"], full_check_every=30)  # fmt: skip
        assert server.process.poll() is None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcomes"] == {"normal": 30}
    associations = summary["associations"]
    assert associations["reused"] > 0 and associations == result.associations
    assert associations.get("release-failed", 0) == 0


@pytest.mark.peer
def test_dcmqrscp_campaign_reuses_associations(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with qrscp(tmp_path, "reuse") as server:
        result = fuzz("127.0.0.1", server.port, called_ae_title="QRSCP", max_examples=30,
                      seed=6, timeout=TIMEOUT, out=out, kinds=["echo", "find"],
                      full_check_every=30)  # fmt: skip
        assert server.process.poll() is None
    assert result.report.examples == 30 and result.report.halted is None
    assert result.associations["reused"] > 0
    assert result.associations.get("release-failed", 0) == 0
