"""P-DATA framing against pynetdicom: its PDUs reassemble in our decoder and ours in its."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dimse_codec import LENIENT, STRICT, DiagnosticCode, DIMSEPrimitive, encode_message
from dimse_codec.pdata import MessageReceived, StreamDecoder, encode_pdata
from dimse_codec.strategies import primitives

pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is a test dependency")
pn_messages = importlib.import_module("pynetdicom.dimse_messages")
pn_pdu = importlib.import_module("pynetdicom.pdu")
pn_primitives = importlib.import_module("pynetdicom.pdu_primitives")

limits = st.one_of(st.just(0), st.integers(8, 200), st.sampled_from([16382, 16384, 32768]))


def pn_message_for(command_set: bytes, dataset: bytes | memoryview | None) -> Any:
    """A pynetdicom message decoded from our bytes (one PDV each), ready to encode again."""
    message = pn_messages.DIMSEMessage()
    pdata = pn_primitives.P_DATA()
    pdata.presentation_data_value_list = [[1, b"\x03" + command_set]]
    complete = message.decode_msg(pdata)
    if dataset is not None:
        pdata = pn_primitives.P_DATA()
        pdata.presentation_data_value_list = [[1, b"\x02" + bytes(dataset)]]
        complete = message.decode_msg(pdata)
    assert complete
    return message


def pn_wire(message: Any, context_id: int, limit: int) -> bytes:
    """The P-DATA-TF bytes pynetdicom sends for a message at a maximum length."""
    out = []
    for pdata in message.encode_msg(context_id, limit):
        pdu = pn_pdu.P_DATA_TF()
        pdu.from_primitive(pdata)
        out.append(pdu.encode())
    return b"".join(out)


@settings(max_examples=200)
@given(primitives(), limits, st.integers(0, 127))
def test_we_reassemble_what_pynetdicom_sends(p: DIMSEPrimitive, limit: int, half: int) -> None:
    context_id = half * 2 + 1
    encoded = encode_message(p)
    wire = pn_wire(pn_message_for(encoded.command_set, encoded.dataset), context_id, limit)
    # pynetdicom cuts max - 6 fragments, odd at an odd limit (DIMSEMessage.encode_msg): strict
    # refuses them, lenient reports each one
    odd = limit % 2 == 1
    decoder = StreamDecoder(policy=LENIENT if odd else STRICT, max_pdu_length=limit)
    events = [*decoder.feed(wire), *decoder.close()]
    assert len(events) == 1 and isinstance(events[0], MessageReceived)
    event = events[0]
    odd_fragments = [f for f in event.fragments if f.length % 2]
    assert [d.code for d in event.diagnostics] == [DiagnosticCode.ODD_FRAGMENT] * len(odd_fragments)
    assert not odd_fragments or odd
    assert event.context_id == context_id
    # pynetdicom re-encodes the command set itself, so compare values, not bytes
    assert type(event.primitive) is type(p)
    for keyword in p.PARAMETERS:
        if keyword in p.DATASET_PARAMETERS:
            continue
        assert getattr(event.primitive, keyword) == getattr(p, keyword), keyword
    expected = None if encoded.dataset is None else bytes(encoded.dataset)
    if expected == b"":
        expected = None  # pynetdicom's encode_msg sends no PDV for an empty data set
    got = None if event.dataset is None else bytes(event.dataset)
    assert got == expected


@settings(max_examples=200)
@given(primitives(), limits, st.integers(1, 3), st.booleans())
def test_pynetdicom_reassembles_what_we_send(
    p: DIMSEPrimitive, limit: int, per_pdu: int, command_with_data: bool
) -> None:
    if limit and limit < 8 * per_pdu:
        per_pdu = 1
    encoded = encode_message(p)
    plan = encode_pdata(
        encoded,
        5,
        max_pdu_length=limit,
        pdvs_per_pdu=per_pdu,
        command_with_data=command_with_data,
    )
    message = pn_messages.DIMSEMessage()
    complete = False
    for buffers in plan:
        assert not complete, "pynetdicom finished before our last PDU"
        pdu = pn_pdu.P_DATA_TF()
        pdu.decode(b"".join(buffers))
        complete = message.decode_msg(pdu.to_primitive())
    assert complete
    assert message.context_id == 5
    assert message.encoded_command_set.getvalue() == encoded.command_set
    sent = b"" if encoded.dataset is None else bytes(encoded.dataset)
    assert message.data_set.getvalue() == sent
