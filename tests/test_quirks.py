"""Quirk injection: each catalogued deviation shows on the wire exactly, and our decoder names it.

For every :class:`Quirk` the tests check three things: the bytes carry the deviation and nothing
else changes; our own decoder (``decode_command_set`` or ``StreamDecoder``) reports the code the
catalogue gives, under the lenient policy; and strict raises a ``DimseCodecError`` subclass when
that code is an error. Without quirks the encoders' output is what it always was.
"""

from __future__ import annotations

import importlib
import inspect
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dimse_codec import (
    C_ECHO,
    C_FIND,
    C_MOVE,
    C_STORE,
    LENIENT,
    N_ACTION,
    N_GET,
    QUIRKS,
    STRICT,
    DiagnosticCode,
    DimseCodecError,
    DIMSEPrimitive,
    InvalidParameter,
    InvalidParameterType,
    PolicyViolation,
    Quirk,
    QuirkLayer,
    QuirkSpec,
    UnknownMessage,
    decode_command_set,
    encode_command_set,
    encode_message,
)
from dimse_codec.dimse.command_set import parse_elements
from dimse_codec.pdata import (
    Event,
    IncompleteMessage,
    MessageReceived,
    StreamDecoder,
    StreamDiagnostic,
    encode_pdata,
    fragment_message,
)
from dimse_codec.strategies import primitives
from dimse_codec.tables.quirks import CATALOGUE

DOCS = Path(__file__).resolve().parent.parent / "docs" / "quirks.md"

VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
PRIORITY = 0x00000700


# -- helpers ------------------------------------------------------------------------------------


def echo() -> C_ECHO:
    return C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)


def store(data: bytes = bytes(200), **extra: Any) -> C_STORE:
    return C_STORE(
        MessageID=7,
        AffectedSOPClassUID=CT_IMAGE,
        AffectedSOPInstanceUID="1.2.3.4",
        Priority=0,
        DataSet=data,
        **extra,
    )


def move() -> C_MOVE:
    return C_MOVE(
        MessageID=3,
        AffectedSOPClassUID=STUDY_ROOT_MOVE,
        Priority=0,
        MoveDestination="STORESCP",
        Identifier=bytes(10),
    )


def action() -> N_ACTION:
    return N_ACTION(
        MessageID=5,
        RequestedSOPClassUID=STORAGE_COMMITMENT,
        RequestedSOPInstanceUID="1.2.840.10008.1.20.1.1",
        ActionTypeID=1,
        ActionInformation=bytes(8),
    )


def elements(command_set: bytes) -> dict[int, bytes]:
    """Tag -> raw value of a command set (Implicit or Explicit VR)."""
    found, _ = parse_elements(command_set, LENIENT, [])
    return {tag: value for tag, _, value in found}


def codes(primitive: DIMSEPrimitive) -> list[DiagnosticCode]:
    return [d.code for d in primitive.diagnostics]


def frames(wire: bytes) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Each P-DATA-TF as (reserved byte, PDU-length, [(fragment length, MCH)])."""
    out = []
    pos = 0
    while pos < len(wire):
        pdu_type, reserved, length = struct.unpack_from(">BBI", wire, pos)
        assert pdu_type == 0x04
        end = pos + 6 + length
        here = pos + 6
        pdvs = []
        while here < end:
            item_length, _, mch = struct.unpack_from(">IBB", wire, here)
            pdvs.append((item_length - 2, mch))
            here += 4 + item_length
        assert here == end
        out.append((reserved, length, pdvs))
        pos = end
    return out


def fragments(wire: bytes, command: bool) -> list[int]:
    """Fragment lengths of the command (MCH bit 0 set) or data PDVs, in order."""
    return [size for _, _, pdvs in frames(wire) for size, mch in pdvs if bool(mch & 1) == command]


def receive(wire: bytes, policy: Any = LENIENT, max_pdu_length: int = 0) -> list[Event]:
    decoder = StreamDecoder(policy=policy, max_pdu_length=max_pdu_length)
    return [*decoder.feed(wire), *decoder.close()]


def stream_codes(events: list[Event]) -> set[DiagnosticCode]:
    """Every diagnostic code the stream decoder reported, wherever it put it."""
    found: set[DiagnosticCode] = set()
    for event in events:
        if isinstance(event, StreamDiagnostic):
            found.add(event.diagnostic.code)
        elif isinstance(event, MessageReceived):
            found.update(d.code for d in event.diagnostics)
            found.update(d.code for d in event.primitive.diagnostics)
        elif isinstance(event, IncompleteMessage):
            found.add(event.reason.code)
            found.update(d.code for d in event.diagnostics)
    return found


def only_message(events: list[Event]) -> MessageReceived:
    messages = [e for e in events if isinstance(e, MessageReceived)]
    assert len(messages) == 1, events
    return messages[0]


def expect_strict(quirk: Quirk, run: Any) -> None:
    """Strict raises a codec error with the catalogue's code when that code is an error."""
    spec = CATALOGUE[quirk]
    assert spec.diagnostic is not None
    if spec.raises(STRICT):
        with pytest.raises(DimseCodecError) as caught:
            run()
        assert isinstance(caught.value, PolicyViolation)
        assert caught.value.code == spec.diagnostic.value
    else:
        run()


# -- the catalogue -----------------------------------------------------------------------------


def test_every_quirk_has_one_complete_row() -> None:
    assert list(QUIRKS) == list(Quirk)
    for quirk, spec in QUIRKS.items():
        assert isinstance(spec, QuirkSpec) and spec.quirk is quirk
        assert spec.wire and spec.layer in QuirkLayer
        assert spec.peers or spec.reactions, quirk
        # what the standard allows, our decoder accepts silently; what it does not, it names
        assert spec.conformant == (spec.diagnostic is None), quirk
        assert spec.diagnostic is None or spec.diagnostic in DiagnosticCode
        assert all(ref.who and ref.where for ref in (*spec.peers, *spec.reactions)), quirk


def test_options_are_parameters_of_the_layer_that_applies_them() -> None:
    encoder: dict[QuirkLayer, Any] = {
        QuirkLayer.COMMAND_SET: encode_command_set,
        QuirkLayer.PDATA: fragment_message,
    }
    for spec in QUIRKS.values():
        if spec.option is not None:
            assert spec.option in inspect.signature(encoder[spec.layer]).parameters
            assert spec.option in inspect.signature(encode_pdata).parameters


def render_catalogue() -> str:
    """The catalogue as the Markdown table docs/quirks.md shows."""

    def refs(references: tuple[Any, ...]) -> str:
        return "; ".join(f"{r.who} ({r.where})" for r in references) or "none on record"

    def reports(spec: QuirkSpec) -> str:
        if spec.diagnostic is None:
            return "nothing (conformant)"
        verdict = "strict raises" if spec.raises(STRICT) else "reported, never raised"
        return f"`{spec.diagnostic.value}` ({verdict})"

    lines = [
        "| Quirk | On the wire | Sent by | Known reactions | Layer | Our decoder reports |",
        "|---|---|---|---|---|---|",
    ]
    for spec in QUIRKS.values():
        layer = f"`{spec.layer.value}`"
        if spec.option:
            layer += f", option `{spec.option}`"
        lines.append(
            f"| `{spec.quirk.value}` | {spec.wire} | {refs(spec.peers)} | "
            f"{refs(spec.reactions)} | {layer} | {reports(spec)} |"
        )
    return "\n".join(lines) + "\n"


def test_docs_table_is_the_catalogue() -> None:
    table = render_catalogue()
    assert "|" not in "".join(s.wire for s in QUIRKS.values())
    assert table in DOCS.read_text(encoding="utf-8"), (
        "docs/quirks.md's table differs from dimse_codec/tables/quirks.py; it should read:\n"
        + table
    )


# -- quirks off: nothing changes ----------------------------------------------------------------


@given(primitives(), st.sampled_from([0, 8, 64, 201, 16382]))
def test_without_quirks_the_output_is_unchanged(p: DIMSEPrimitive, limit: int) -> None:
    assert encode_command_set(p, quirks=(), omit=()) == encode_command_set(p)
    assert encode_message(p, quirks=frozenset()) == encode_message(p)
    plain = encode_pdata(p, 1, max_pdu_length=limit)
    assert bytes(encode_pdata(p, 1, max_pdu_length=limit, quirks=frozenset())) == bytes(plain)
    assert plain.quirks == frozenset()


@given(primitives())
def test_quirks_that_do_not_concern_a_message_change_nothing(p: DIMSEPrimitive) -> None:
    """The quirk encoder writes what the conformant one does, except what a quirk changes."""
    keywords = {k for k in p.PARAMETERS if p.__dict__["_" + k] is not None}
    spec = encode_message(p).spec
    harmless = set()
    if not keywords & {"MoveDestination", "MoveOriginatorApplicationEntityTitle"}:
        harmless.add(Quirk.PADDED_AE_TITLES)
    if PRIORITY in spec.allowed_tags or not spec.is_request:
        harmless.add(Quirk.PRIORITY_WHERE_NOT_ALLOWED)
    if "Priority" not in keywords:
        harmless.add(Quirk.MISSING_PRIORITY)
    assert encode_command_set(p, quirks=harmless) == encode_command_set(p)


def test_a_decoded_primitive_is_re_encoded_when_quirks_are_asked_for() -> None:
    decoded = decode_command_set(encode_command_set(echo()))
    assert encode_command_set(decoded) == decoded.source
    bent = encode_command_set(decoded, quirks={Quirk.PRIORITY_WHERE_NOT_ALLOWED})
    assert PRIORITY in elements(bent)


# -- command-set quirks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        echo,
        action,
        lambda: N_GET(
            MessageID=2, RequestedSOPClassUID=STORAGE_COMMITMENT, RequestedSOPInstanceUID="1.2.3"
        ),
    ],
)
def test_priority_where_not_allowed(make: Any) -> None:
    p = make()
    plain = encode_command_set(p)
    bent = encode_command_set(p, quirks={Quirk.PRIORITY_WHERE_NOT_ALLOWED})
    found = elements(bent)
    assert found[PRIORITY] == b"\x00\x00"  # MEDIUM
    assert {t: v for t, v in found.items() if t not in (0, PRIORITY)} == {
        t: v for t, v in elements(plain).items() if t != 0
    }
    assert len(bent) == len(plain) + 10
    assert codes(decode_command_set(bent)) == [DiagnosticCode.ELEMENT_NOT_ALLOWED]
    expect_strict(Quirk.PRIORITY_WHERE_NOT_ALLOWED, lambda: decode_command_set(bent, policy=STRICT))


def test_priority_where_not_allowed_leaves_responses_and_c_store_alone() -> None:
    quirk = {Quirk.PRIORITY_WHERE_NOT_ALLOWED}
    response = C_ECHO(MessageIDBeingRespondedTo=1, AffectedSOPClassUID=VERIFICATION, Status=0)
    assert encode_command_set(response, quirks=quirk) == encode_command_set(response)
    assert encode_command_set(store(), quirks=quirk) == encode_command_set(store())


@pytest.mark.parametrize(
    "make",
    [
        store,
        lambda: C_FIND(MessageID=4, AffectedSOPClassUID=CT_IMAGE, Priority=2, Identifier=bytes(4)),
    ],
)
def test_missing_priority(make: Any) -> None:
    bent = encode_command_set(make(), quirks={Quirk.MISSING_PRIORITY})
    assert PRIORITY not in elements(bent)
    assert len(bent) == len(encode_command_set(make())) - 10
    decoded = decode_command_set(bent)
    assert codes(decoded) == [DiagnosticCode.MISSING_MANDATORY]
    assert isinstance(decoded, (C_STORE, C_FIND)) and decoded.Priority is None
    expect_strict(Quirk.MISSING_PRIORITY, lambda: decode_command_set(bent, policy=STRICT))


def test_missing_elements_go_netdicom_c_echo() -> None:
    bent = encode_command_set(echo(), omit={"AffectedSOPClassUID"})
    assert 0x00000002 not in elements(bent)
    assert bent == encode_command_set(
        echo(), quirks={Quirk.MISSING_ELEMENTS}, omit=["AffectedSOPClassUID"]
    )
    decoded = decode_command_set(bent)
    assert codes(decoded) == [DiagnosticCode.MISSING_MANDATORY]  # no group length mismatch
    assert isinstance(decoded, C_ECHO)
    assert decoded.MessageID == 1 and decoded.AffectedSOPClassUID is None
    expect_strict(Quirk.MISSING_ELEMENTS, lambda: decode_command_set(bent, policy=STRICT))


@pytest.mark.parametrize(
    ("keyword", "code"),
    [
        ("CommandGroupLength", DiagnosticCode.GROUP_LENGTH_MISSING),
        ("CommandField", DiagnosticCode.MISSING_COMMAND_FIELD),
        ("CommandDataSetType", DiagnosticCode.MISSING_DATA_SET_TYPE),
        ("MessageID", DiagnosticCode.MISSING_MANDATORY),
    ],
)
def test_missing_protocol_elements(keyword: str, code: DiagnosticCode) -> None:
    bent = encode_command_set(echo(), omit={keyword})
    decoded = decode_command_set(bent)
    assert codes(decoded) == [code]
    assert isinstance(decoded, UnknownMessage) == (keyword == "CommandField")
    with pytest.raises(PolicyViolation):
        decode_command_set(bent, policy=STRICT)


def test_an_optional_element_left_out_is_not_reported() -> None:
    p = store(MoveOriginatorApplicationEntityTitle="MOVESCU", MoveOriginatorMessageID=3)
    bent = encode_command_set(p, omit={"MoveOriginatorMessageID"})
    assert 0x00001031 not in elements(bent)
    assert codes(decode_command_set(bent, policy=STRICT)) == []


def test_padded_ae_titles() -> None:
    quirk = {Quirk.PADDED_AE_TITLES}
    bent = encode_command_set(move(), quirks=quirk)
    assert elements(bent)[0x00000600] == b"STORESCP        "
    assert elements(encode_command_set(move()))[0x00000600] == b"STORESCP"
    p = store(MoveOriginatorApplicationEntityTitle="MOVESCU", MoveOriginatorMessageID=3)
    assert elements(encode_command_set(p, quirks=quirk))[0x00001030] == b"MOVESCU" + b" " * 9
    # spaces are not significant in an AE: the conformant value, and nothing to report
    decoded = decode_command_set(bent, policy=STRICT)
    assert isinstance(decoded, C_MOVE)
    assert decoded.MoveDestination == "STORESCP" and codes(decoded) == []
    assert CATALOGUE[Quirk.PADDED_AE_TITLES].diagnostic is None
    full = C_MOVE(
        MessageID=3,
        AffectedSOPClassUID=STUDY_ROOT_MOVE,
        Priority=0,
        MoveDestination="A" * 16,
        Identifier=bytes(10),
    )
    assert encode_command_set(full, quirks=quirk) == encode_command_set(full)


@given(primitives())
def test_explicit_vr_command_set(p: DIMSEPrimitive) -> None:
    bent = encode_command_set(p, quirks={Quirk.EXPLICIT_VR_COMMAND_SET})
    plain = encode_command_set(p)
    assert bent[:8] == b"\x00\x00\x00\x00UL\x04\x00"
    # every VR of group 0000 has a 2-byte length in Explicit VR: the same size as implicit
    assert len(bent) == len(plain)
    assert elements(bent) == elements(plain)
    decoded = decode_command_set(bent)
    assert codes(decoded) == [DiagnosticCode.EXPLICIT_VR_COMMAND]
    assert decoded == decode_command_set(plain)
    expect_strict(Quirk.EXPLICIT_VR_COMMAND_SET, lambda: decode_command_set(bent, policy=STRICT))


def test_command_set_quirks_combine() -> None:
    bent = encode_command_set(
        move(),
        quirks={Quirk.EXPLICIT_VR_COMMAND_SET, Quirk.PADDED_AE_TITLES, Quirk.MISSING_PRIORITY},
    )
    found = elements(bent)
    assert found[0x00000600] == b"STORESCP        " and PRIORITY not in found
    assert sorted(codes(decode_command_set(bent))) == sorted(
        [DiagnosticCode.EXPLICIT_VR_COMMAND, DiagnosticCode.MISSING_MANDATORY]
    )


# -- P-DATA quirks ------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "size"), [(64, 57), (63, 57), (16383, 16377), (16382, 16375)])
def test_odd_fragments(limit: int, size: int) -> None:
    size_of_data = 3 * limit + limit % 2
    p = store(bytes(size_of_data))
    plan = encode_pdata(p, 1, max_pdu_length=limit, quirks={Quirk.ODD_FRAGMENTS})
    assert plan.fragment_size == size  # at an odd limit: pynetdicom's max - 6
    wire = bytes(plan)
    data = fragments(wire, command=False)
    assert data[:-1] == [size] * (len(data) - 1) and sum(data) == size_of_data
    assert all(length <= limit for _, length, _ in frames(wire))
    events = receive(wire, max_pdu_length=limit)
    message = only_message(events)
    assert bytes(message.command_set) == encode_command_set(p)
    assert message.dataset is not None and bytes(message.dataset) == bytes(size_of_data)
    odd = [f for f in message.fragments if f.length % 2]
    assert odd and [d.code for d in message.diagnostics] == [DiagnosticCode.ODD_FRAGMENT] * len(odd)
    expect_strict(Quirk.ODD_FRAGMENTS, lambda: receive(wire, STRICT, limit))


def test_odd_fragments_match_pynetdicom_at_an_odd_limit() -> None:
    """The quirk reproduces the real peer: pynetdicom's data fragments at an odd maximum."""
    pytest.importorskip("pynetdicom", reason="pynetdicom is a test dependency")
    pn_messages = importlib.import_module("pynetdicom.dimse_messages")
    pn_pdu = importlib.import_module("pynetdicom.pdu")
    pn_primitives = importlib.import_module("pynetdicom.pdu_primitives")
    for limit, data in [(63, bytes(500)), (16383, bytes(40_000)), (201, b"")]:
        encoded = encode_message(store(data))
        message = pn_messages.DIMSEMessage()
        for mch, value in ((b"\x03", encoded.command_set), (b"\x02", data)):
            pdata = pn_primitives.P_DATA()
            pdata.presentation_data_value_list = [[1, mch + bytes(value)]]
            message.decode_msg(pdata)
        theirs = []
        for pdata in message.encode_msg(1, limit):
            pdu = pn_pdu.P_DATA_TF()
            pdu.from_primitive(pdata)
            theirs.append(pdu.encode())
        ours = encode_pdata(
            encoded,
            1,
            max_pdu_length=limit,
            quirks={Quirk.ODD_FRAGMENTS, Quirk.NO_EMPTY_LAST_PDV},
        )
        assert fragments(bytes(ours), False) == fragments(b"".join(theirs), False)


def test_several_pdvs_per_pdu_is_the_pdvs_per_pdu_option() -> None:
    p = store(bytes(1000))
    plan = encode_pdata(p, 1, max_pdu_length=200, quirks={Quirk.SEVERAL_PDVS_PER_PDU})
    assert bytes(plan) == bytes(encode_pdata(p, 1, max_pdu_length=200, pdvs_per_pdu=2))
    assert plan.pdvs_per_pdu == 2 and plan.quirks == {Quirk.SEVERAL_PDVS_PER_PDU}
    by_option = encode_pdata(p, 1, max_pdu_length=200, pdvs_per_pdu=3)
    assert by_option.quirks == {Quirk.SEVERAL_PDVS_PER_PDU}
    assert (
        encode_pdata(
            p, 1, max_pdu_length=200, pdvs_per_pdu=3, quirks={Quirk.SEVERAL_PDVS_PER_PDU}
        ).pdvs_per_pdu
        == 3
    )
    wire = bytes(plan)
    assert any(len(pdvs) == 2 for _, _, pdvs in frames(wire))
    assert CATALOGUE[Quirk.SEVERAL_PDVS_PER_PDU].diagnostic is None
    assert stream_codes(receive(wire, STRICT, 200)) == set()


def test_command_with_data_is_the_command_with_data_option() -> None:
    p = store(bytes(100))
    plan = encode_pdata(p, 1, max_pdu_length=16382, quirks={Quirk.COMMAND_WITH_DATA})
    assert bytes(plan) == bytes(encode_pdata(p, 1, max_pdu_length=16382, command_with_data=True))
    assert plan.command_with_data and plan.quirks == {Quirk.COMMAND_WITH_DATA}
    (only,) = frames(bytes(plan))
    assert [mch for _, mch in only[2]] == [0x03, 0x02]  # last command, last data: one PDU
    assert stream_codes(receive(bytes(plan), STRICT, 16382)) == set()


@pytest.mark.parametrize("per_pdu", [1, 2])
def test_off_by_6_max_pdu(per_pdu: int) -> None:
    limit = 128
    p = store(bytes(1000))
    plan = encode_pdata(
        p, 1, max_pdu_length=limit, pdvs_per_pdu=per_pdu, quirks={Quirk.OFF_BY_6_MAX_PDU}
    )
    wire = bytes(plan)
    lengths = [length for _, length, _ in frames(wire)]
    assert max(lengths) == limit + 6 * per_pdu
    if per_pdu == 1:
        assert plan.fragment_size == limit  # the limit taken as the fragment size
    events = receive(wire, max_pdu_length=limit)
    over = [e for e in events if isinstance(e, StreamDiagnostic)]
    assert over and {e.diagnostic.code for e in over} == {DiagnosticCode.PDU_OVER_MAXIMUM}
    assert len(over) == sum(length > limit for length in lengths)
    assert bytes(only_message(events).dataset or b"") == bytes(1000)
    expect_strict(Quirk.OFF_BY_6_MAX_PDU, lambda: receive(wire, STRICT, limit))


def test_off_by_6_needs_a_limit() -> None:
    p = store(bytes(1000))
    assert bytes(encode_pdata(p, 1, max_pdu_length=0, quirks={Quirk.OFF_BY_6_MAX_PDU})) == bytes(
        encode_pdata(p, 1, max_pdu_length=0)
    )


def test_max_pdu_minus_12() -> None:
    limit = 16382
    p = store(bytes(40_000))
    plan = encode_pdata(p, 1, max_pdu_length=limit, quirks={Quirk.MAX_PDU_MINUS_12})
    assert plan.fragment_size == limit - 12
    wire = bytes(plan)
    assert max(length for _, length, _ in frames(wire)) == limit - 6
    assert fragments(wire, False)[:-1] == [limit - 12, limit - 12]
    assert CATALOGUE[Quirk.MAX_PDU_MINUS_12].diagnostic is None
    message = only_message(receive(wire, STRICT, limit))
    assert bytes(message.dataset or b"") == bytes(40_000)
    # the smallest limit still carries a 2-byte fragment
    assert encode_pdata(p, 1, max_pdu_length=8, quirks={Quirk.MAX_PDU_MINUS_12}).fragment_size == 2


def test_no_empty_last_pdv() -> None:
    p = store(b"")
    plain = bytes(encode_pdata(p, 1, max_pdu_length=16382))
    bent = bytes(encode_pdata(p, 1, max_pdu_length=16382, quirks={Quirk.NO_EMPTY_LAST_PDV}))
    assert fragments(plain, False) == [0]
    assert fragments(bent, False) == []
    assert fragments(bent, True) == fragments(plain, True)
    # CommandDataSetType still announces the data set that never comes
    assert bent == plain[: len(bent)]
    assert elements(encode_command_set(p))[0x00000800] != b"\x01\x01"
    events = receive(bent)
    (incomplete,) = events
    assert isinstance(incomplete, IncompleteMessage)
    assert incomplete.reason.code is DiagnosticCode.MESSAGE_INCOMPLETE
    # the next command on the context cuts it short too
    nxt = bytes(encode_pdata(store(bytes(4)), 1, max_pdu_length=16382))
    first = StreamDecoder().feed(bent + nxt)
    assert isinstance(first[0], IncompleteMessage) and isinstance(first[1], MessageReceived)

    def strict() -> None:
        decoder = StreamDecoder(policy=STRICT)
        assert decoder.feed(bent) == []
        decoder.close()

    expect_strict(Quirk.NO_EMPTY_LAST_PDV, strict)


def test_no_empty_last_pdv_only_concerns_empty_data_sets() -> None:
    for p in (store(bytes(10)), echo()):
        quirk = {Quirk.NO_EMPTY_LAST_PDV}
        assert bytes(encode_pdata(p, 1, max_pdu_length=64, quirks=quirk)) == bytes(
            encode_pdata(p, 1, max_pdu_length=64)
        )


def test_nonzero_reserved() -> None:
    p = store(bytes(300))
    wire = bytes(encode_pdata(p, 1, max_pdu_length=128, quirks={Quirk.NONZERO_RESERVED}))
    found = frames(wire)
    assert {reserved for reserved, _, _ in found} == {0xFF}
    assert wire.replace(b"\x04\xff", b"\x04\x00") == bytes(encode_pdata(p, 1, max_pdu_length=128))
    events = receive(wire, max_pdu_length=128)
    notes = [e for e in events if isinstance(e, StreamDiagnostic)]
    assert len(notes) == len(found)
    assert {e.diagnostic.code for e in notes} == {DiagnosticCode.RESERVED_NONZERO}
    assert bytes(only_message(events).dataset or b"") == bytes(300)
    # PS3.8 says not to test reserved fields: strict reports it too, and decodes on
    assert not CATALOGUE[Quirk.NONZERO_RESERVED].raises(STRICT)
    strict = receive(wire, STRICT, 128)
    assert stream_codes(strict) == {DiagnosticCode.RESERVED_NONZERO}


@settings(max_examples=60)
@given(
    primitives(),
    st.sampled_from([0, 16, 63, 64, 201, 16382]),
    st.sets(st.sampled_from([q for q in Quirk if CATALOGUE[q].layer is QuirkLayer.PDATA])),
)
def test_pdata_quirks_change_framing_not_content(
    p: DIMSEPrimitive, limit: int, quirks: set[Quirk]
) -> None:
    """Whatever P-DATA quirks a plan shows, the message reassembles to the same bytes and our
    decoder reports nothing but the chosen quirks' codes."""
    if Quirk.OFF_BY_6_MAX_PDU in quirks:
        quirks.discard(Quirk.MAX_PDU_MINUS_12)  # they pull opposite ways: refused together
    encoded = encode_message(p)
    plan = encode_pdata(encoded, 1, max_pdu_length=limit, quirks=quirks)
    events = receive(bytes(plan), max_pdu_length=limit)
    allowed = {CATALOGUE[q].diagnostic for q in plan.quirks}
    assert stream_codes(events) <= allowed
    empty_dropped = (
        Quirk.NO_EMPTY_LAST_PDV in quirks
        and encoded.dataset is not None
        and not len(encoded.dataset)
    )
    if empty_dropped:
        assert isinstance(events[-1], IncompleteMessage)
        return
    message = only_message(events)
    assert message.command_set == encoded.command_set
    expected = None if encoded.dataset is None else bytes(encoded.dataset)
    assert (None if message.dataset is None else bytes(message.dataset)) == expected


# -- misuse ---------------------------------------------------------------------------------------


def test_each_encoder_refuses_quirks_it_cannot_apply() -> None:
    with pytest.raises(InvalidParameter, match="pdata"):
        encode_command_set(echo(), quirks={Quirk.ODD_FRAGMENTS})
    with pytest.raises(InvalidParameter, match="dimse"):
        fragment_message(
            b"\x00" * 12, None, 1, max_pdu_length=64, quirks={Quirk.EXPLICIT_VR_COMMAND_SET}
        )
    encoded = encode_message(echo())
    with pytest.raises(InvalidParameter, match="primitive"):
        encode_pdata(encoded, 1, max_pdu_length=64, quirks={Quirk.MISSING_PRIORITY})
    with pytest.raises(InvalidParameter, match="primitive"):
        encode_pdata(encoded, 1, max_pdu_length=64, omit={"MessageID"})
    # with a primitive, one set serves both layers
    plan = encode_pdata(
        echo(),
        1,
        max_pdu_length=64,
        quirks={Quirk.EXPLICIT_VR_COMMAND_SET, Quirk.ODD_FRAGMENTS},
    )
    assert plan.quirks == {Quirk.ODD_FRAGMENTS}
    assert bytes(plan.command_set)[4:6] == b"UL"


def test_bad_quirk_arguments() -> None:
    with pytest.raises(InvalidParameterType):
        encode_command_set(echo(), quirks="PADDED_AE_TITLES")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterType):
        encode_command_set(echo(), quirks={"PADDED_AE_TITLES"})  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterType):
        encode_command_set(echo(), quirks=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterType):
        encode_command_set(echo(), omit="Priority")
    with pytest.raises(InvalidParameter, match="no command element"):
        encode_command_set(echo(), omit={"PatientName"})
    with pytest.raises(InvalidParameter, match="omit"):
        encode_command_set(echo(), quirks={Quirk.MISSING_ELEMENTS})
    with pytest.raises(InvalidParameter, match="choose one"):
        encode_pdata(
            store(), 1, max_pdu_length=64, quirks={Quirk.OFF_BY_6_MAX_PDU, Quirk.MAX_PDU_MINUS_12}
        )
    # quirks never switch off the encoder's other checks
    with pytest.raises(DimseCodecError):
        encode_command_set(C_ECHO(MessageID=1), quirks={Quirk.PADDED_AE_TITLES})
    with pytest.raises(DimseCodecError):
        fragment_message(b"\x00" * 11, None, 1, max_pdu_length=64, quirks={Quirk.ODD_FRAGMENTS})
