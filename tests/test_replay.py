"""The sans-I/O side of ``dimse-codec replay`` on the committed storage-commitment capture:
scripts grouped from the records, answers compared, captured answers picked and rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from dimse_codec.association import Rejected, reject
from dimse_codec.capture import decode_capture
from dimse_codec.capture.select import Selection
from dimse_codec.dimse.codec import decode_command_set
from dimse_codec.dimse.primitives import C_ECHO, N_ACTION
from dimse_codec.pdu import AAssociateAC, RejectReasonUser
from dimse_codec.replay import (
    CapturedAcceptor,
    CapturedAssociation,
    Exchange,
    ReplayedExchange,
    ReplayedResponse,
    answer_message,
    captured_associations,
    compare_exchange,
    compare_negotiation,
    fresh_request,
)
from dimse_codec.tables.status import StatusCategory

CAPTURE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "storage-commitment.pcap"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"


@pytest.fixture(scope="module")
def association() -> CapturedAssociation:
    (only,) = captured_associations(decode_capture(CAPTURE))
    return only


def as_replayed(exchange: Exchange) -> ReplayedExchange:
    """What a peer answering exactly as captured would have sent back."""
    responses = [ReplayedResponse.of(m.primitive, m.dataset) for m in exchange.responses]
    return ReplayedExchange(responses, sub_requests=len(exchange.sub_requests))


def test_the_script_pairs_each_request_with_its_answers(association: CapturedAssociation) -> None:
    assert association.replayable and association.record.state == "released"
    assert [e.name for e in association.exchanges] == ["C-ECHO-RQ", "N-ACTION-RQ"]
    assert [[m.name for m in e.answers] for e in association.exchanges] == [
        ["C-ECHO-RSP"],
        ["N-ACTION-RSP"],
    ]
    assert all(e.final is not None and e.final.status == 0 for e in association.exchanges)
    # the SCP's report came after the N-ACTION was answered: not part of any exchange
    assert [m.name for m in association.unsolicited] == ["N-EVENT-REPORT-RQ"]


def test_the_selection_chooses_associations_and_requests() -> None:
    records = list(decode_capture(CAPTURE))
    assert captured_associations(records, Selection(associations=frozenset({1}))) == []
    (chosen,) = captured_associations(records, Selection(messages=frozenset({"N-ACTION-RQ"})))
    assert [e.name for e in chosen.exchanges] == ["N-ACTION-RQ"]
    failing = Selection(categories=frozenset({StatusCategory.FAILURE}))
    (none_failed,) = captured_associations(records, failing)
    assert none_failed.exchanges == []


def test_answers_as_captured_are_the_same(association: CapturedAssociation) -> None:
    for number, exchange in enumerate(association.exchanges, start=1):
        assert compare_exchange(0, number, exchange, as_replayed(exchange)) == []
    assert association.negotiated is not None
    assert compare_negotiation(association, association.negotiated) == []


def test_another_status_is_a_difference_with_its_meaning(association: CapturedAssociation) -> None:
    exchange = association.exchanges[1]
    replayed = as_replayed(exchange)
    refused = decode_command_set(exchange.responses[0].command_set)
    refused.Status = 0x0119  # type: ignore[attr-defined]  # No Such Action
    replayed.responses = [ReplayedResponse.of(refused, None)]
    (status,) = compare_exchange(0, 2, exchange, replayed)
    assert status.aspect == "status" and status.message == "N-ACTION-RQ" and status.request == 2
    assert status.captured.startswith("0000H Success")
    assert status.replayed.startswith("0119H Failure")
    assert status.text.startswith("association 0 request 2 N-ACTION-RQ: status: captured 0000H")
    # a reply data set the capture did not have
    replayed.responses = [ReplayedResponse.of(exchange.responses[0].primitive, b"\x08\x00")]
    (datasets,) = compare_exchange(0, 2, exchange, replayed)
    assert datasets.aspect == "datasets" and "1 new" in datasets.replayed


def test_pending_counts_and_lost_answers_are_differences(association: CapturedAssociation) -> None:
    exchange = association.exchanges[0]
    pending = decode_command_set(exchange.responses[0].command_set)
    pending.Status = 0xFF00  # type: ignore[attr-defined]
    replayed = ReplayedExchange([ReplayedResponse.of(pending, None)], ended="aborted by the SCP")
    aspects = {d.aspect: d for d in compare_exchange(0, 1, exchange, replayed)}
    assert set(aspects) == {"status", "ended", "pending"}
    assert aspects["status"].replayed == "no final response"
    assert (aspects["pending"].captured, aspects["pending"].replayed) == ("0", "1")
    not_sent = ReplayedExchange(not_sent="not sent (context 1 was not accepted)")
    (difference,) = compare_exchange(0, 1, exchange, not_sent)
    assert difference.as_json()["aspect"] == "not-sent"


def test_a_rejection_instead_of_an_acceptance_is_a_difference(
    association: CapturedAssociation,
) -> None:
    rejected = reject(RejectReasonUser.CALLED_AE_TITLE_NOT_RECOGNIZED)
    assert isinstance(rejected, Rejected)
    (difference,) = compare_negotiation(association, rejected)
    assert difference.aspect == "association" and difference.captured == "accepted"
    assert "called-AE-title-not-recognized" in difference.replayed


def test_the_acceptor_accepts_as_captured_and_answers_by_command(
    association: CapturedAssociation,
) -> None:
    script = CapturedAcceptor([association]).next_script()
    assert association.request is not None and association.negotiated is not None
    accepted = script.decide(association.request)
    assert not isinstance(accepted, Rejected)
    got = {i: (c.abstract_syntax, c.transfer_syntax) for i, c in
           accepted.association.accepted_contexts.items()}  # fmt: skip
    was = {i: (c.abstract_syntax, c.transfer_syntax) for i, c in
           association.negotiated.accepted_contexts.items()}  # fmt: skip
    assert got == was
    # it introduces itself as the captured SCP did
    answer = association.answer
    assert isinstance(answer, AAssociateAC)
    captured_info, info = answer.user_information, accepted.pdu.user_information
    assert info is not None and captured_info is not None
    assert info.implementation_class_uid == captured_info.implementation_class_uid
    assert info.implementation_version_name == captured_info.implementation_version_name
    live = N_ACTION(MessageID=77, RequestedSOPClassUID=STORAGE_COMMITMENT,
                    RequestedSOPInstanceUID="1.2.840.10008.1.20.1.1", ActionTypeID=1)  # fmt: skip
    exchange = script.exchange_for(live)
    assert exchange is association.exchanges[1]
    assert script.exchange_for(live) is None  # each captured request answers once
    captured = exchange.responses[0]
    response, data = answer_message(captured, live, captured.transfer_syntax)
    assert response.values()["MessageIDBeingRespondedTo"] == 77
    assert response.values()["Status"] == 0 and captured.dataset is None and data is None
    assert script.exchange_for(C_ECHO(MessageID=78)) is association.exchanges[0]


def test_a_fresh_request_has_no_message_id_and_keeps_its_data_set(
    association: CapturedAssociation,
) -> None:
    message = association.exchanges[1].request
    primitive, data = fresh_request(message, message.transfer_syntax)
    assert primitive.values()["MessageID"] is None
    assert primitive.values()["ActionTypeID"] == 1
    assert data == bytes(message.dataset or b"")
    # another transfer syntax: the data set is decoded, to be encoded again for the new context
    _, decoded = fresh_request(message, "1.2.840.10008.1.2")
    assert decoded is not None and not isinstance(decoded, bytes)
    assert "TransactionUID" in decoded


# -- the command line, without a peer --------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from dimse_codec.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "replay", "--help")
    assert code == 0 and "--to HOST PORT" in out and "--listen PORT" in out
    assert "examples:\n  dimse-codec replay visit.pcap --to 127.0.0.1 11112\n" in out
    assert "--association N" in out  # decode's filters


def test_replay_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "replay", str(CAPTURE))
    assert code == 2 and "one of the arguments --to --listen is required" in err
    code, _, err = run(capsys, "replay", str(CAPTURE), "--to", "127.0.0.1", "x")
    assert code == 2 and err == "error: --to: not a TCP port: 'x'\n"
    not_a_capture = tmp_path / "notes.txt"
    not_a_capture.write_text("not a capture")
    code, out, err = run(capsys, "replay", str(not_a_capture), "--to", "127.0.0.1", "104")
    assert code == 2 and not out and err.startswith(f"error: cannot read {not_a_capture}: ")
    assert "Traceback" not in err
    code, _, err = run(capsys, "replay", str(CAPTURE), "--association", "5", "--listen", "0")
    assert code == 2 and err.endswith("no DICOM association to replay\n")
