"""``fuzz --seed-capture`` without a peer: a capture's requests become seeds, the seeds go on the
fuzzer's association as captured (byte for byte, judged valid by the oracle) and broken at the
DIMSE, data set and PDU levels (judged invalid), and ``damaged_command_sets`` breaks a given
message exactly as ``malformed_command_sets`` promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from pydicom import dcmread
from pydicom.data import get_testdata_file
from test_strategies_commands import check

from dimse_codec import LENIENT, STRICT
from dimse_codec.association import read_response, respond
from dimse_codec.capture import decode_capture
from dimse_codec.dataset import decode_dataset, encode_dataset
from dimse_codec.dimse.codec import encode_command_set, message_spec
from dimse_codec.dimse.primitives import C_ECHO, C_STORE
from dimse_codec.pdata import MessageReceived, StreamDecoder
from dimse_codec.pdu import decode_pdu, encode_pdu
from dimse_codec.replay import captured_associations
from dimse_codec.scpfuzz.cases import Case, Target, cases, cases_first, proposal
from dimse_codec.scpfuzz.oracle import judge
from dimse_codec.scpfuzz.seeds import (
    SEED_KINDS,
    Seed,
    capture_seeds,
    placed_seeds,
    seed_groups,
)
from dimse_codec.services.contexts import EXPLICIT, IMPLICIT, VERIFICATION
from dimse_codec.strategies import MalformedCommandSet, damaged_command_sets

CAPTURE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "storage-commitment.pcap"
CT = "1.2.840.10008.5.1.4.1.1.2"
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def target(supported: dict[str, list[str]], max_pdu_length: int = 16384) -> Target:
    """The fuzzer's standard proposal answered by an acceptor of ``supported``, offline."""
    rq = proposal("DIMSE-FUZZ", "ANY-SCP")
    answer = respond(decode_pdu(encode_pdu(rq)), supported, max_pdu_length=max_pdu_length).pdu
    return Target(rq, read_response(rq, decode_pdu(encode_pdu(answer))).association)


def ct_seed() -> Seed:
    """CT_small stored by a requestor, as a capture would hold it (Explicit VR Little Endian)."""
    path = get_testdata_file("CT_small.dcm")
    ds = dcmread(str(path))
    data = encode_dataset(ds, EXPLICIT)
    request = C_STORE(MessageID=7, AffectedSOPClassUID=CT, Priority=0,
                      AffectedSOPInstanceUID=str(ds.SOPInstanceUID), DataSet=data)  # fmt: skip
    command = encode_command_set(request)
    return Seed("C-STORE-RQ", "association 1 request 1", command, data, EXPLICIT, CT)


EVERYTHING = target({VERIFICATION: [EXPLICIT], CT: [EXPLICIT]})
IMPLICIT_ONLY = target({VERIFICATION: [IMPLICIT], CT: [IMPLICIT]})


def messages(case: Case, t: Target) -> list[MessageReceived]:
    """What the SCP reassembles from the case's request step."""
    syntaxes = {cid: c.transfer_syntax for cid, c in t.accepted.items()}
    decoder = StreamDecoder(transfer_syntaxes=syntaxes)
    return [e for e in decoder.feed(case.steps[1].data) if isinstance(e, MessageReceived)]


def test_a_capture_s_requests_become_seeds_and_those_the_scp_accepted_apply() -> None:
    seeds = capture_seeds(captured_associations(decode_capture(CAPTURE)))
    assert [(s.name, s.origin) for s in seeds] == [
        ("C-ECHO-RQ", "association 0 request 1"),
        ("N-ACTION-RQ", "association 0 request 2"),
    ]
    assert seeds[1].dataset is not None and seeds[1].abstract_syntax == "1.2.840.10008.1.20.1"
    # the fuzzer proposes Verification and storage classes, not Storage Commitment
    assert [p.seed.name for p in placed_seeds(seeds, EVERYTHING)] == ["C-ECHO-RQ"]


@SETTINGS
@given(data=st.data())
def test_a_seed_as_captured_is_its_captured_bytes_and_valid(data: st.DataObject) -> None:
    seeds = [*capture_seeds(captured_associations(decode_capture(CAPTURE))), ct_seed()]
    as_captured, _ = seed_groups(seeds)
    case = data.draw(st.one_of(*as_captured(EVERYTHING)))
    assert case.kind == "seed" and case.generated_valid
    assert [step.label for step in case.steps] == ["A-ASSOCIATE-RQ", case.details["message"],
                                                   "A-RELEASE-RQ"]  # fmt: skip
    (message,) = messages(case, EVERYTHING)
    (seed,) = [s for s in seeds if s.origin == case.details["origin"]]
    assert message.command_set == seed.command_set  # byte for byte
    assert (None if message.dataset is None else bytes(message.dataset)) == seed.dataset
    assert judge(case, EVERYTHING).valid


def test_a_seed_goes_in_the_syntax_the_scp_accepted() -> None:
    seed = ct_seed()
    (placed,) = [p for p in placed_seeds([seed], IMPLICIT_ONLY) if p.seed is seed]
    assert placed.transfer_syntax == IMPLICIT and placed.dataset is not None
    assert decode_dataset(placed.dataset, IMPLICIT) == decode_dataset(seed.dataset or b"", EXPLICIT)


@SETTINGS
@given(data=st.data())
def test_broken_seeds_are_judged_invalid(data: st.DataObject) -> None:
    seeds = [*capture_seeds(captured_associations(decode_capture(CAPTURE))), ct_seed()]
    _, broken = seed_groups(seeds)
    strategies = broken(EVERYTHING)
    assert len(strategies) == 3  # DIMSE, data set and PDU level
    case = data.draw(st.one_of(*strategies))
    assert case.kind in ("seed-command", "seed-dataset", "seed-pdu") and not case.generated_valid
    assert case.flaw and case.description.startswith(f"captured {case.details['message']}")
    verdict = judge(case, EVERYTHING)
    if case.kind != "seed-dataset":  # a data set cut between two elements is still one
        assert not verdict.valid, (case, verdict)


def test_seeds_join_the_cases_only_within_cases_first() -> None:
    with cases_first(*seed_groups([ct_seed()])):
        seeded = cases(EVERYTHING)
    plain = cases(EVERYTHING)
    search = settings(max_examples=1000, database=None, suppress_health_check=list(HealthCheck))
    for kind in SEED_KINDS:
        assert find(seeded, lambda case, kind=kind: case.kind == kind, settings=search).kind == kind
    absent = settings(max_examples=150, database=None, suppress_health_check=list(HealthCheck))
    with pytest.raises(NoSuchExample):
        find(plain, lambda case: case.kind in SEED_KINDS, settings=absent)


@SETTINGS
@given(data=st.data())
def test_damaged_command_sets_keep_the_promise_of_malformed_ones(data: st.DataObject) -> None:
    primitive = data.draw(st.sampled_from([C_ECHO(MessageID=3, AffectedSOPClassUID=VERIFICATION),
                                           ct_seed().primitive]))  # fmt: skip
    case = data.draw(damaged_command_sets(primitive))
    assert isinstance(case, MalformedCommandSet) and case.message == message_spec(primitive).name
    check(case, LENIENT)
    check(case, STRICT)


def test_damaged_command_sets_refuse_what_cannot_apply() -> None:
    with pytest.raises(ValueError, match="no defect"):
        damaged_command_sets(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION), ["no such"])


def test_an_unreadable_seed_capture_is_exit_2_before_any_connection(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dimse_codec.cli.main import main

    notes = tmp_path / "notes.txt"
    notes.write_text("not a capture")
    code = main(["fuzz", "127.0.0.1", "104", "--seed-capture", str(notes)])
    out, err = capsys.readouterr()
    assert code == 2 and not out
    assert err.startswith(f"dimse-codec fuzz: error: cannot read {notes}: ") and err[-1] == "\n"
