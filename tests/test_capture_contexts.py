"""Messages on presentation contexts the A-ASSOCIATE-AC did not accept, in captures.

PS3.8 9.3.5: a P-DATA-TF names an accepted presentation context. A message on a context the
acceptor rejected, left unanswered, or that was never proposed has no transfer syntax: the
capture decoder reports it as ``CONTEXT_NOT_ACCEPTED``, as the ``Connection`` does (an error
under strict), keeps the message and its data set bytes,
and never guesses a syntax for them. Every message records its context's abstract syntax,
transfer syntax and the AC's result for it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from dicom_conversation import CT, EXPLICIT, IMPLICIT, VERIFICATION, Conversation, message

from dimse_codec import C_ECHO, C_STORE, STRICT, PolicyViolation
from dimse_codec.association import build_request, respond
from dimse_codec.capture import CapturedMessage, CaptureProblem, decode_capture
from dimse_codec.cli.main import main
from dimse_codec.dataset.sniff import sniff_transfer_syntax
from dimse_codec.diagnostics import Diagnostic, DiagnosticCode
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdu import (
    AAssociateAC,
    AReleaseRP,
    AReleaseRQ,
    PresentationContextACItem,
    PresentationContextResult,
    encode_pdu,
)
from dimse_codec.policy import Policy

MR = "1.2.840.10008.5.1.4.1.1.4"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
DATASET = b"\x08\x00\x16\x00UI\x06\x001.2.3\x00"
"""An Explicit VR Little Endian data set: sniffing would take it for one."""
REJECTED_ID, UNANSWERED_ID, UNPROPOSED_ID = 5, 7, 9
NOT_ACCEPTED = DiagnosticCode.CONTEXT_NOT_ACCEPTED
REJECTED_MESSAGE = (
    f"a message on context 5 ({CT}), which the A-ASSOCIATE-AC rejected with result 4 "
    "(transfer-syntaxes-not-supported); its data set is kept as bytes, in no transfer syntax"
)
UNANSWERED_MESSAGE = (
    f"a message on context 7 ({MR}), which the A-ASSOCIATE-AC did not accept (no answer, or "
    "no transfer syntax); its data set is kept as bytes, in no transfer syntax"
)
UNPROPOSED_MESSAGE = (
    "a message on context 9, which the A-ASSOCIATE-RQ never proposed; its data set is kept as "
    "bytes, in no transfer syntax"
)


def _store(message_id: int) -> C_STORE:
    return C_STORE(
        MessageID=message_id,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID="1.2.3",
        Priority=0,
        DataSet=DATASET,
    )


def conversation() -> tuple[bytes, dict[int, int]]:
    """Contexts 1 (Verification) and 3 (CT, Explicit VR LE) accepted, 5 (CT in JPEG 2000 only)
    rejected, 7 (MR) proposed but left out of the AC; then a C-ECHO on 1, a C-STORE on 3, 5, 7
    and on 9 (never proposed), and release. Returns the capture and, per context, the stream
    offset (requestor's direction) of its message's first PDV, where a diagnostic points: after
    the P-DATA-TF header (6 bytes)."""
    rq = build_request(
        "STORESCU",
        "ARCHIVE",
        [
            (VERIFICATION, [IMPLICIT]),
            (CT, [EXPLICIT]),
            (CT, [JPEG_2000]),
            (MR, [EXPLICIT]),
        ],
    )
    answer = respond(rq, {VERIFICATION: [IMPLICIT], CT: [EXPLICIT], MR: [EXPLICIT]}).pdu
    assert isinstance(answer, AAssociateAC)
    kept = tuple(
        item
        for item in answer.variable_items
        if not (
            isinstance(item, PresentationContextACItem)
            and item.presentation_context_id == UNANSWERED_ID
        )
    )
    answer = replace(answer, variable_items=kept)
    talk = Conversation().handshake()
    requestor_offset = 0
    offsets: dict[int, int] = {}

    def send_rq(data: bytes, context_id: int | None = None) -> None:
        nonlocal requestor_offset
        if context_id is not None:
            offsets[context_id] = requestor_offset + 6
        talk.send(True, data)
        requestor_offset += len(data)

    send_rq(encode_pdu(rq))
    talk.send(False, encode_pdu(answer))
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    send_rq(message(echo, 1), 1)
    talk.send(False, message(build_response(echo, 0x0000), 1))
    for message_id, context_id in enumerate((3, REJECTED_ID, UNANSWERED_ID, UNPROPOSED_ID), 2):
        store = _store(message_id)
        send_rq(message(store, context_id), context_id)
        talk.send(False, message(build_response(store, 0x0000), 3))
    send_rq(encode_pdu(AReleaseRQ()))
    talk.send(False, encode_pdu(AReleaseRP()))
    return talk.close().capture(), offsets


@pytest.fixture(scope="module")
def built() -> tuple[bytes, dict[int, int]]:
    return conversation()


def requests(records: list[object]) -> dict[int, CapturedMessage]:
    """The requestor's messages by context ID."""
    return {
        r.context_id: r
        for r in records
        if isinstance(r, CapturedMessage) and r.name.endswith("-RQ")
    }


def test_the_data_set_would_have_been_guessed() -> None:
    """The premise: without the A-ASSOCIATE, these bytes sniff as Explicit VR Little Endian."""
    sniffed = sniff_transfer_syntax(DATASET)
    assert sniffed is not None and sniffed.transfer_syntax == EXPLICIT


def test_accepted_contexts_record_their_syntaxes(built: tuple[bytes, dict[int, int]]) -> None:
    found = requests(list(decode_capture(built[0])))
    echo, store = found[1], found[3]
    assert (echo.abstract_syntax, echo.transfer_syntax) == (VERIFICATION, IMPLICIT)
    assert (store.abstract_syntax, store.transfer_syntax) == (CT, EXPLICIT)
    for accepted in (echo, store):
        assert accepted.context_result is PresentationContextResult.ACCEPTANCE
        assert accepted.transfer_syntax_guessed is None
        assert accepted.diagnostics == ()
    assert store.primitive.transfer_syntax == EXPLICIT


@pytest.mark.parametrize(
    ("context_id", "text", "abstract", "result"),
    [
        (
            REJECTED_ID,
            REJECTED_MESSAGE,
            CT,
            PresentationContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED,
        ),
        (UNANSWERED_ID, UNANSWERED_MESSAGE, MR, None),
        (UNPROPOSED_ID, UNPROPOSED_MESSAGE, None, None),
    ],
)
def test_a_message_on_a_context_not_accepted(
    built: tuple[bytes, dict[int, int]],
    context_id: int,
    text: str,
    abstract: str | None,
    result: PresentationContextResult | None,
) -> None:
    capture, offsets = built
    record = requests(list(decode_capture(capture)))[context_id]
    assert record.diagnostics == (
        Diagnostic(NOT_ACCEPTED, text, offsets[context_id], f"message on context {context_id}"),
    )
    assert record.name == "C-STORE-RQ" and record.primitive == _store(record.primitive.MessageID)
    assert record.dataset is not None and bytes(record.dataset) == DATASET  # nothing lost
    assert record.transfer_syntax is None and record.transfer_syntax_guessed is None
    assert record.abstract_syntax == abstract
    assert record.context_result == result


def test_only_those_messages_are_reported(built: tuple[bytes, dict[int, int]]) -> None:
    records = list(decode_capture(built[0]))
    coded = [
        (r.context_id, d.code)
        for r in records
        if isinstance(r, CapturedMessage)
        for d in r.diagnostics
    ]
    assert coded == [
        (REJECTED_ID, NOT_ACCEPTED),
        (UNANSWERED_ID, NOT_ACCEPTED),
        (UNPROPOSED_ID, NOT_ACCEPTED),
    ]
    # the AC's own problem (a proposed context left unanswered) stays a negotiation problem
    assert [r.diagnostic.code for r in records if isinstance(r, CaptureProblem)] == [
        DiagnosticCode.CONTEXT_NOT_ANSWERED
    ]


def test_strict_refuses_it(built: tuple[bytes, dict[int, int]]) -> None:
    capture, offsets = built
    with pytest.raises(PolicyViolation) as first:
        list(decode_capture(capture, policy=STRICT))
    assert first.value.code == "CONTEXT_NOT_ACCEPTED"
    assert str(first.value) == f"message on context 5 @{offsets[5]}: {REJECTED_MESSAGE}"
    allow = frozenset({DiagnosticCode.CONTEXT_NOT_ANSWERED, NOT_ACCEPTED})
    records = list(decode_capture(capture, policy=Policy(strict=True, allow=allow)))
    assert sorted(requests(records)) == [1, 3, REJECTED_ID, UNANSWERED_ID, UNPROPOSED_ID]


def test_the_cli_shows_them(
    built: tuple[bytes, dict[int, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contexts.pcap"
    path.write_bytes(built[0])
    assert main(["decode", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown = [line.strip() for line in lines if line.strip().startswith("! ")]
    assert shown == [
        f"! CONTEXT_NOT_ACCEPTED: {REJECTED_MESSAGE}",
        f"! CONTEXT_NOT_ACCEPTED: {UNANSWERED_MESSAGE}",
        f"! CONTEXT_NOT_ACCEPTED: {UNPROPOSED_MESSAGE}",
    ]
    stores = [line.split() for line in lines if line.startswith("a0") and "C-STORE-RQ" in line]
    assert [words[4] for words in stores] == ["pc=3", "pc=5", "pc=7", "pc=9"]
    assert not any("guessed" in line for line in lines)
    assert main(["decode", "--strict", str(path)]) == 1
    assert "CONTEXT_NOT_ACCEPTED" in capsys.readouterr().err


def test_the_cli_neither_decodes_nor_exports_them(
    built: tuple[bytes, dict[int, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contexts.pcap"
    path.write_bytes(built[0])
    export = tmp_path / "export"
    assert main(["decode", "--json", "--datasets", "--export", str(export), str(path)]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    stores = {
        o["context_id"]: o
        for o in objects
        if o.get("type") == "message" and o["message"] == "C-STORE-RQ"
    }
    assert stores[3]["exported"] is not None and stores[3]["dataset"]["json"]
    for context_id in (REJECTED_ID, UNANSWERED_ID, UNPROPOSED_ID):
        assert stores[context_id]["export_skipped"] == (
            "no transfer syntax (no accepted presentation context seen, none guessed)"
        )
    assert len(list(export.iterdir())) == 1
    rejected = stores[REJECTED_ID]
    assert rejected["transfer_syntax"] is None and rejected["transfer_syntax_guessed"] is None
    assert rejected["dataset"]["length"] == len(DATASET) and "json" not in rejected["dataset"]
    assert rejected["dataset"]["error"] == (
        "the transfer syntax is unknown (no accepted presentation context seen, none guessed)"
    )
    assert [d["code"] for d in rejected["diagnostics"]] == ["CONTEXT_NOT_ACCEPTED"]
