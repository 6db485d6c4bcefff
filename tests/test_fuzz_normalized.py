"""DIMSE-N cases of the live fuzzer: print sessions and storage commitment, valid and broken.

The first half needs no peer: the generated dialogues against the oracle (valid kinds valid to
our strict decoder, malformed kinds not), what a print session sends in which order with which
UIDs, and where the kinds apply. The second half runs short campaigns over 127.0.0.1 against
DCMTK's print SCP (dcmprscp with DCMTK's sample configuration), Orthanc (storage commitment)
and a pynetdicom storage commitment SCP, and checks that the N-services are answered. Every
server is stopped by its PID.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import peer_unavailable, require_tool
from hypothesis import HealthCheck, given, settings
from peers import Server, dcmtk_server, free_port
from test_fuzz_live import EXPLICIT, IMPLICIT, TIMEOUT

from dimse_codec.association import read_response, respond
from dimse_codec.dimse.primitives import N_ACTION, N_CREATE, N_DELETE, N_GET, N_SET
from dimse_codec.pdata import MessageReceived, StreamDecoder
from dimse_codec.scpfuzz import (
    STORAGE_SOP_CLASSES,
    VERIFICATION,
    AnswerKind,
    Case,
    Observation,
    Target,
    cases,
    fuzz,
    judge,
    proposal,
)
from dimse_codec.scpfuzz.normalized import (
    FILM_BOX,
    FILM_SESSION,
    MALFORMED_N_KINDS,
    N_CONTEXTS,
    PRINT_META,
    PRINTER,
    VALID_N_KINDS,
)
from dimse_codec.services.contexts import STORAGE_COMMITMENT

N_KINDS = [*VALID_N_KINDS, *MALFORMED_N_KINDS]
REPO = Path(__file__).resolve().parent.parent


def n_target(print_syntaxes: tuple[str, ...] = (EXPLICIT, IMPLICIT)) -> Target:
    """What an SCP of Verification, print management and storage commitment accepts."""
    rq = proposal("FUZZ", "SCP")
    supported = {
        VERIFICATION: [IMPLICIT],
        PRINT_META: list(print_syntaxes),
        STORAGE_COMMITMENT: [IMPLICIT, EXPLICIT],
    }
    answer = respond(rq, supported, max_pdu_length=16384)
    accepted = read_response(rq, answer.pdu)
    return Target(rq, accepted.association)  # type: ignore[union-attr]


TARGET = n_target()


def test_the_n_contexts_follow_the_first_nine() -> None:
    contexts = proposal("FUZZ", "SCP").presentation_contexts
    by_id = {c.presentation_context_id: c.abstract_syntax for c in contexts}
    secondary, ct, mr = STORAGE_SOP_CLASSES
    first_nine = [by_id[cid] for cid in (1, 3, 5, 7, 9)]
    assert first_nine == [VERIFICATION, secondary, secondary, ct, mr]
    after = [uid for cid, uid in sorted(by_id.items()) if cid > 9]
    assert [uid for uid in after if uid in dict(N_CONTEXTS)] == [uid for uid, _ in N_CONTEXTS]
    assert len(TARGET.accepted) == 3 and min(TARGET.accepted) == 1


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(cases(TARGET, N_KINDS))
def test_generated_n_cases_agree_with_the_oracle(case: Case) -> None:
    judgement = judge(case, TARGET)
    assert len(judgement.steps) == len(case.steps)
    if case.generated_valid:
        assert judgement.valid, [s.problems for s in judgement.steps]
    else:
        assert not judgement.valid, case.description
        # the requests before the broken one are valid: the flaw comes mid-dialogue
        assert judgement.first_invalid == len(case.steps) - 1, case.description


def requests(case: Case) -> list[Any]:
    """The DIMSE requests a case sends, decoded."""
    decoder = StreamDecoder(
        transfer_syntaxes={c: a.transfer_syntax for c, a in TARGET.accepted.items()}
    )
    return [e.primitive for e in decoder.feed(case.sent) if isinstance(e, MessageReceived)]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(cases(TARGET, ["print-session"]))
def test_a_print_session_uses_its_own_uids_in_order(case: Case) -> None:
    sent = requests(case)
    assert isinstance(sent[0], N_GET) and sent[0].RequestedSOPClassUID == PRINTER
    session, box = sent[1], next(r for r in sent if isinstance(r, N_CREATE) and r is not sent[1])
    assert isinstance(session, N_CREATE) and session.AffectedSOPClassUID == FILM_SESSION
    assert box.AffectedSOPClassUID == FILM_BOX
    ours = {str(session.AffectedSOPInstanceUID), str(box.AffectedSOPInstanceUID)}
    printed = next(r for r in sent if isinstance(r, N_ACTION))
    assert printed.ActionTypeID == 1 and str(printed.RequestedSOPInstanceUID) in ours
    for request in sent:
        if isinstance(request, (N_SET, N_DELETE)):  # image boxes: one of ours, with a suffix
            assert str(request.RequestedSOPInstanceUID).startswith(tuple(ours))
    ids = [r.MessageID for r in sent]
    assert len(set(ids)) == len(ids)


def test_the_n_kinds_apply_only_where_their_context_was_accepted() -> None:
    without = n_target(())  # print refused
    commitment = without.association.context_id_for(STORAGE_COMMITMENT)
    assert commitment is not None and sorted(without.accepted) == [1, commitment]
    with pytest.raises(ValueError, match="applies"):
        cases(without, ["print-session"])
    rq = proposal("FUZZ", "SCP")
    plain = respond(rq, {VERIFICATION: [IMPLICIT]}, max_pdu_length=16384)
    echo_only = Target(rq, read_response(rq, plain.pdu).association)  # type: ignore[union-attr]
    for kind in N_KINDS:
        with pytest.raises(ValueError, match="applies"):
            cases(echo_only, [kind])


# -- live ------------------------------------------------------------------------------------------


def answered_requests(observations: list[Observation], kind: str) -> list[tuple[str, int | None]]:
    """(label, status) of every request step of ``kind`` answered with a response."""
    return [
        (record.label, record.answer.status)
        for o in observations
        if o.case.kind == kind
        for record in o.records
        if record.answer.kind is AnswerKind.RESPONSE
    ]


def campaign(
    port: int, called: str, kinds: list[str], examples: int, **options: Any
) -> list[Observation]:
    """A short campaign of ``kinds``; every example's observation."""
    seen: list[Observation] = []
    result = fuzz(
        "127.0.0.1",
        port,
        called_ae_title=called,
        kinds=kinds,
        max_examples=examples,
        seed=5,
        timeout=TIMEOUT,
        max_shrinks=3,
        on_example=lambda _, o: seen.append(o),
        **options,
    )
    assert result.report.examples == examples and result.report.halted is None
    return seen


def benchmark() -> ModuleType:
    """The coverage benchmark, for the dcmprscp configuration it writes."""
    spec = importlib.util.spec_from_file_location(
        "coverage_run", REPO / "benchmarks/coverage/run.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def print_scp(tmp_path: Path) -> Iterator[Server]:
    """dcmprscp as printer IHEFULL of DCMTK's installed sample configuration, on a free port."""
    dcmprscp = require_tool("dcmprscp")
    prefix = Path(dcmprscp).resolve().parents[1]
    samples = [prefix / "etc/dcmtk/dcmpstat.cfg", Path("/etc/dcmtk/dcmpstat.cfg")]
    sample = next((s for s in samples if s.is_file()), None)
    if sample is None:
        peer_unavailable("DCMTK's sample dcmpstat.cfg is not installed")
    port = free_port()
    work = tmp_path / "print"
    work.mkdir()
    config = benchmark().print_config(sample, work, port)
    argv = [dcmprscp, "--config", str(config), "--printer", "IHEFULL"]
    with dcmtk_server(argv, port, tmp_path / "dcmprscp.log", work) as server:
        yield server


def test_dcmprscp_answers_the_print_session(tmp_path: Path) -> None:
    with print_scp(tmp_path) as server:
        seen = campaign(server.port, "IHEFULL", N_KINDS, 14)
        assert server.process.poll() is None
    answered = answered_requests(seen, "print-session")
    labels = {label for label, _ in answered}
    for wanted in ("N-GET-RQ (Printer)", "N-CREATE-RQ (Film Session)", "N-CREATE-RQ (Film Box)"):
        assert wanted in labels, labels
    # the SCP creates what we ask for, under our UIDs (a landscape film box of a display
    # format the sample printer lists only upright gets 0106H, invalid attribute value)
    created = {label for label, status in answered if label.startswith("N-CREATE") and status == 0}
    assert created == {"N-CREATE-RQ (Film Session)", "N-CREATE-RQ (Film Box)"}, answered
    assert {o.case.kind for o in seen} & set(MALFORMED_N_KINDS)


def test_orthanc_answers_storage_commitment(tmp_path: Path) -> None:
    from test_orthanc import ORTHANC, orthanc

    if not Path(ORTHANC).exists():
        require_tool("Orthanc")
    # Orthanc takes N-ACTION only from a modality it knows: ours is "OURS" (its report
    # association to that port finds nobody, which Orthanc logs; the N-ACTION is answered first)
    with orthanc(tmp_path, free_port()) as (dicom, _):
        seen = campaign(
            dicom,
            "ORTHANC",
            ["storage-commitment", *MALFORMED_N_KINDS],
            10,
            calling_ae_title="OURS",
        )
    answered = answered_requests(seen, "storage-commitment")
    assert answered and all(status == 0 for _, status in answered), answered


def test_a_pynetdicom_scp_answers_storage_commitment(tmp_path: Path) -> None:
    pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is the peer of this test")
    ae = pynetdicom.AE(ae_title="PYNETDICOM")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for abstract_syntax in (VERIFICATION, STORAGE_COMMITMENT):
        ae.add_supported_context(abstract_syntax, [IMPLICIT, EXPLICIT])
    actions: list[int] = []

    def on_action(event: Any) -> tuple[int, None]:
        """Take the request (the report would follow on another association)."""
        actions.append(int(event.action_type))
        return 0x0000, None

    handlers = [(pynetdicom.evt.EVT_C_ECHO, lambda e: 0), (pynetdicom.evt.EVT_N_ACTION, on_action)]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    try:
        seen = campaign(
            server.server_address[1], "PYNETDICOM", ["storage-commitment", *MALFORMED_N_KINDS], 10
        )
    finally:
        server.shutdown()
    answered = answered_requests(seen, "storage-commitment")
    assert answered and all(status == 0 for _, status in answered), answered
    assert actions and set(actions) == {1}
