"""P-DATA fragmentation and streaming reassembly (PS3.8 9.3.5, Annex E)."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dimse_codec import (
    C_ECHO,
    C_FIND,
    C_STORE,
    LENIENT,
    STRICT,
    DiagnosticCode,
    DimseCodecError,
    DIMSEPrimitive,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    LimitExceeded,
    Policy,
    PolicyViolation,
    decode_message,
    encode_message,
)
from dimse_codec.pdata import (
    MAX_PDU_LENGTH_FIELD,
    UNLIMITED_FRAGMENT,
    Event,
    Fragment,
    IncompleteMessage,
    MessageReceived,
    PDataReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
    encode_pdata,
    fragment_message,
    fragment_size,
)
from dimse_codec.pdu import (
    MCH_COMMAND,
    MCH_LAST,
    AAbort,
    AReleaseRQ,
    PDataTF,
    decode_pdu,
    encode_pdu,
    read_pdu_header,
)
from dimse_codec.strategies import primitives

D = DiagnosticCode
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def store(data: bytes = b"\x08\x00\x16\x00\x02\x00\x00\x00AB", message_id: int = 7) -> C_STORE:
    """A C-STORE-RQ carrying ``data``."""
    p = C_STORE()
    p.MessageID = message_id
    p.AffectedSOPClassUID = CT_IMAGE
    p.AffectedSOPInstanceUID = "1.2.3.4"
    p.Priority = 0
    p.DataSet = data
    return p


def echo(message_id: int = 1) -> C_ECHO:
    """A C-ECHO-RQ."""
    p = C_ECHO()
    p.MessageID = message_id
    p.AffectedSOPClassUID = "1.2.840.10008.1.1"
    return p


def wire(p: DIMSEPrimitive, context_id: int = 1, **options: object) -> bytes:
    """The P-DATA-TF bytes of one message."""
    options.setdefault("max_pdu_length", 16382)
    return bytes(encode_pdata(p, context_id, **options))  # type: ignore[arg-type]


def split_pdus(data: bytes) -> list[bytes]:
    """Cut a byte stream into whole PDUs."""
    out = []
    pos = 0
    while pos < len(data):
        _, length = read_pdu_header(data[pos:])
        out.append(data[pos : pos + 6 + length])
        pos += 6 + length
    return out


def pdv(context_id: int, mch: int, fragment: bytes) -> bytes:
    """One PDV item."""
    return struct.pack(">IBB", len(fragment) + 2, context_id, mch) + fragment


def pdata(*pdvs: bytes, reserved: int = 0) -> bytes:
    """One P-DATA-TF around the given PDV items."""
    body = b"".join(pdvs)
    return struct.pack(">BBI", 4, reserved, len(body)) + body


def command_of(p: DIMSEPrimitive) -> bytes:
    return encode_message(p).command_set


def feed_all(data: bytes, decoder: StreamDecoder | None = None, step: int = 0) -> list[object]:
    """Feed a whole stream (in ``step``-byte pieces when given) and close."""
    decoder = decoder or StreamDecoder()
    events: list[object] = []
    if step:
        for i in range(0, len(data), step):
            events += decoder.feed(data[i : i + step])
    else:
        events += decoder.feed(data)
    events += decoder.close()
    return events


def messages(events: list[object]) -> list[MessageReceived]:
    return [e for e in events if isinstance(e, MessageReceived)]


# -- the max-PDU model ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "per_pdu", "size"),
    [
        (16382, 1, 16376),
        (16384, 1, 16378),
        (8, 1, 2),
        (9, 1, 2),
        (10, 1, 4),
        (16382, 2, 8184),
        (16, 2, 2),
        (0, 1, UNLIMITED_FRAGMENT),
        (MAX_PDU_LENGTH_FIELD, 1, 0xFFFFFFF8),
    ],
)
def test_fragment_size_counts_the_variable_field(limit: int, per_pdu: int, size: int) -> None:
    assert fragment_size(limit, per_pdu) == size
    assert size % 2 == 0
    if limit:
        assert per_pdu * (size + 6) <= limit


@pytest.mark.parametrize("limit", [1, 5, 6, 7, -1, MAX_PDU_LENGTH_FIELD + 1])
def test_unusable_limits_are_refused(limit: int) -> None:
    with pytest.raises(InvalidParameter, match="max_pdu_length"):
        fragment_size(limit)


@pytest.mark.parametrize("limit", [None, 16382.0, True, "16382"])
def test_limits_of_the_wrong_type_are_refused(limit: object) -> None:
    with pytest.raises(InvalidParameterType):
        fragment_size(limit)  # type: ignore[arg-type]


def test_several_pdvs_need_room_for_each() -> None:
    with pytest.raises(InvalidParameter):
        fragment_size(15, 2)
    with pytest.raises(InvalidParameter, match="pdvs_per_pdu"):
        fragment_size(16382, 0)


# -- fragmentation -----------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [8, 9, 64, 100, 1000, 16382, 0])
def test_every_pdu_respects_the_limit_and_rebuilds_the_message(limit: int) -> None:
    data = bytes(range(256)) * 20
    p = store(data)
    encoded = encode_message(p)
    plan = encode_pdata(p, 5, max_pdu_length=limit)
    command, dataset = bytearray(), bytearray()
    mchs = []
    for buffers in plan:
        raw = b"".join(buffers)
        pdu = decode_pdu(raw, policy=STRICT)
        assert isinstance(pdu, PDataTF)
        if limit:
            assert len(raw) - 6 <= limit
        assert len(pdu.presentation_data_value_items) == 1
        for item in pdu.presentation_data_value_items:
            assert item.presentation_context_id == 5
            assert len(item.fragment) % 2 == 0
            mchs.append(item.message_control_header)
            (command if item.is_command else dataset).extend(item.fragment)
    assert bytes(command) == encoded.command_set
    assert bytes(dataset) == data
    # command fragments first, each part ends with exactly one last fragment
    commands = [m for m in mchs if m & MCH_COMMAND]
    datas = [m for m in mchs if not m & MCH_COMMAND]
    assert mchs == commands + datas
    assert [m & MCH_LAST for m in commands].count(MCH_LAST) == 1 and commands[-1] & MCH_LAST
    assert [m & MCH_LAST for m in datas].count(MCH_LAST) == 1 and datas[-1] & MCH_LAST
    assert plan.pdu_count == len(split_pdus(bytes(plan)))
    assert plan.nbytes == len(bytes(plan))


def test_unlimited_gives_one_pdu_for_the_command_and_one_for_the_data() -> None:
    plan = encode_pdata(store(bytes(100_000)), 1, max_pdu_length=0)
    assert plan.pdu_count == 2


def test_fragments_are_views_of_the_data_set_not_copies() -> None:
    data = bytes(50_000)
    plan = fragment_message(command_of(echo()), data, 1, max_pdu_length=1000)
    views = [b for buffers in plan for b in buffers if isinstance(b, memoryview)]
    assert len(views) > 50
    data_views = [v for v in views if v.obj is data]
    assert sum(len(v) for v in data_views) == len(data)
    # full-size PDUs share one prebuilt header object
    headers = [buffers[0] for buffers in plan][1:-1]
    assert len({id(h) for h in headers}) == 1


def test_the_plan_can_be_iterated_again() -> None:
    plan = encode_pdata(store(bytes(5000)), 1, max_pdu_length=256)
    assert bytes(plan) == b"".join(plan.buffers()) == bytes(plan)


def test_an_empty_data_set_still_sends_its_last_pdv() -> None:
    raw = bytes(fragment_message(command_of(echo()), b"", 1, max_pdu_length=16382))
    pdus = [decode_pdu(b) for b in split_pdus(raw)]
    last = pdus[-1]
    assert isinstance(last, PDataTF)
    (item,) = last.presentation_data_value_items
    assert item.message_control_header == MCH_LAST and bytes(item.fragment) == b""
    # ... and the strict decoder takes it: an announced, empty data set has nothing else to send
    (event,) = StreamDecoder(policy=STRICT).feed(wire(store(b"")))
    assert isinstance(event, MessageReceived) and event.dataset_length == 0
    # an empty PDV anywhere else is still reported
    both_policies(
        pdata(pdv(1, 3, command_of(store())), pdv(1, 0, b""), pdv(1, 2, b"ab")), D.EMPTY_PDV
    )


def test_an_empty_last_pdv_after_data_is_reported_whole_and_split_alike() -> None:
    """The bulk path keeps data PDUs as runs: an empty last PDV after them is still EMPTY_PDV."""
    data = bytes(range(256)) * 64
    stream = pdata(pdv(1, 3, command_of(store(data))))
    stream += b"".join(pdata(pdv(1, 0, data[at : at + 1024])) for at in range(0, len(data), 1024))
    stream += pdata(pdv(1, 2, b""))
    whole = StreamDecoder().feed(stream)
    split: list[Event] = []
    decoder = StreamDecoder()
    for at in range(len(stream)):
        split += decoder.feed(stream[at : at + 1])
    for events in (whole, split):
        (event,) = [e for e in events if isinstance(e, MessageReceived)]
        assert [d.code for d in event.diagnostics] == [D.EMPTY_PDV]
        assert bytes(event.dataset or b"") == data
    with pytest.raises(PolicyViolation):
        StreamDecoder(policy=STRICT).feed(stream)


def test_no_data_set_sends_only_the_command() -> None:
    raw = wire(echo())
    (only,) = split_pdus(raw)
    pdu = decode_pdu(only)
    assert isinstance(pdu, PDataTF)
    assert pdu.presentation_data_value_items[0].message_control_header == MCH_COMMAND | MCH_LAST


def test_several_pdvs_per_pdu() -> None:
    data = bytes(range(200)) * 10
    plan = encode_pdata(store(data), 1, max_pdu_length=200, pdvs_per_pdu=3)
    counts = []
    for buffers in plan:
        raw = b"".join(buffers)
        assert len(raw) <= 206
        pdu = decode_pdu(raw, policy=STRICT)
        assert isinstance(pdu, PDataTF)
        items = pdu.presentation_data_value_items
        counts.append(len(items))
        assert len({item.is_command for item in items}) == 1  # the data starts in a new PDU
    assert max(counts) == 3
    (event,) = messages(feed_all(bytes(plan), StreamDecoder(policy=STRICT, max_pdu_length=200)))
    assert bytes(event.dataset or b"") == data


@pytest.mark.parametrize(("limit", "per_pdu"), [(16382, 1), (300, 1), (300, 2), (0, 1)])
def test_command_with_data_shares_the_last_command_pdu(limit: int, per_pdu: int) -> None:
    data = bytes(range(100)) * 30
    p = store(data)
    plan = encode_pdata(p, 1, max_pdu_length=limit, pdvs_per_pdu=per_pdu, command_with_data=True)
    pdus = [decode_pdu(b"".join(buffers), policy=STRICT) for buffers in plan]
    shared = [
        pdu
        for pdu in pdus
        if isinstance(pdu, PDataTF)
        and {i.is_command for i in pdu.presentation_data_value_items} == {True, False}
    ]
    assert len(shared) == 1
    for buffers in plan:
        if limit:
            assert sum(map(len, buffers)) - 6 <= limit
    (event,) = messages(feed_all(bytes(plan), StreamDecoder(policy=STRICT)))
    assert bytes(event.dataset or b"") == data
    assert event.primitive == decode_message(encode_message(p).command_set, data)


def test_command_with_data_starts_a_new_pdu_when_no_room_is_left() -> None:
    command = command_of(store())
    limit = len(command) + 6 + 6  # the command PDV fills the PDU but for 6 bytes
    plan = fragment_message(command, bytes(10), 1, max_pdu_length=limit, command_with_data=True)
    kinds = []
    for buffers in plan:
        pdu = decode_pdu(b"".join(buffers), policy=STRICT)
        assert isinstance(pdu, PDataTF)
        kinds.append([item.is_command for item in pdu.presentation_data_value_items])
    assert kinds == [[True], [False]]


def test_odd_lengths_are_refused() -> None:
    with pytest.raises(EncodeError, match="even"):
        fragment_message(command_of(echo()), b"abc", 1, max_pdu_length=16382)
    with pytest.raises(EncodeError, match="even"):
        fragment_message(b"abc", None, 1, max_pdu_length=16382)


@pytest.mark.parametrize("context_id", [0, 2, 256, -1])
def test_bad_context_ids_are_refused(context_id: int) -> None:
    with pytest.raises(InvalidParameter, match="context_id"):
        fragment_message(command_of(echo()), None, context_id, max_pdu_length=16382)


def test_context_id_comes_from_the_primitive_or_must_be_given() -> None:
    p = echo()
    with pytest.raises(InvalidParameter, match="context_id"):
        encode_pdata(p, max_pdu_length=16382)
    p.context_id = 7
    (pdu,) = [decode_pdu(b"".join(buffers)) for buffers in encode_pdata(p, max_pdu_length=0)]
    assert isinstance(pdu, PDataTF)
    assert pdu.presentation_data_value_items[0].presentation_context_id == 7


def test_encode_pdata_refuses_other_things() -> None:
    with pytest.raises(InvalidParameterType):
        encode_pdata(b"bytes", 1, max_pdu_length=0)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterType):
        fragment_message("text", None, 1, max_pdu_length=0)  # type: ignore[arg-type]


# -- reassembly: the normal paths ------------------------------------------------------------


def test_a_message_is_delivered_with_its_fragments_and_offsets() -> None:
    data = bytes(range(256)) * 8
    raw = wire(store(data), 3, max_pdu_length=512)
    decoder = StreamDecoder(policy=STRICT, transfer_syntaxes={3: "1.2.840.10008.1.2.1"})
    (event,) = messages(feed_all(raw, decoder))
    assert event.context_id == 3
    assert event.primitive.context_id == 3
    assert event.primitive.transfer_syntax == "1.2.840.10008.1.2.1"
    assert event.primitive.MessageID == 7
    assert event.dataset_length == len(data) and bytes(event.dataset or b"") == data
    assert event.offset == 6 and event.end == len(raw)
    fragments = list(event.fragments)
    assert len(fragments) == len(event.fragments) == len(split_pdus(raw))
    assert fragments[0].is_command and fragments[0].is_last
    assert all(not f.is_command for f in fragments[1:])
    assert fragments[-1].is_last and not any(f.is_last for f in fragments[1:-1])
    assert sum(f.length for f in fragments[1:]) == len(data)
    # each fragment's offsets point at its PDV and PDU in the stream
    for fragment in fragments:
        assert raw[fragment.pdu_offset] == 4
        item_length, context_id, mch = struct.unpack_from(">IBB", raw, fragment.offset)
        assert (item_length - 2, context_id, mch) == (
            fragment.length,
            fragment.context_id,
            fragment.message_control_header,
        )
    assert event.fragments == tuple(fragments)
    assert event.fragments[-1] == fragments[-1] and event.fragments[1:3] == tuple(fragments[1:3])
    with pytest.raises(IndexError):
        event.fragments[len(fragments)]


def test_messages_without_a_data_set_are_delivered_at_the_last_command_fragment() -> None:
    raw = wire(echo(1)) + wire(echo(2), max_pdu_length=8)
    events = messages(feed_all(raw, StreamDecoder(policy=STRICT)))
    assert [e.primitive.MessageID for e in events] == [1, 2]
    assert all(e.dataset is None and e.dataset_length is None for e in events)


def test_several_messages_in_one_pdu_are_all_delivered() -> None:
    one, two = command_of(echo(1)), command_of(echo(2))
    raw = pdata(pdv(1, 3, one), pdv(1, 3, two))
    events = messages(feed_all(raw, StreamDecoder(policy=STRICT)))
    assert [e.primitive.MessageID for e in events] == [1, 2]


def test_other_pdus_are_reported_with_their_offsets() -> None:
    release = encode_pdu(AReleaseRQ())
    abort = encode_pdu(AAbort())
    raw = wire(echo()) + release + abort
    events = feed_all(raw, step=5)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["MessageReceived", "PDUReceived", "PDUReceived"]
    assert isinstance(events[1], PDUReceived) and isinstance(events[1].pdu, AReleaseRQ)
    assert events[1].offset == len(wire(echo()))
    assert isinstance(events[2], PDUReceived) and events[2].offset == events[1].offset + 10


def test_report_pdata_lists_every_p_data_tf() -> None:
    raw = wire(store(bytes(3000)), max_pdu_length=1000)
    events = feed_all(raw, StreamDecoder(report_pdata=True))
    pdus = [e for e in events if isinstance(e, PDataReceived)]
    assert [p.offset for p in pdus] == [
        sum(map(len, split_pdus(raw)[:k])) for k in range(len(split_pdus(raw)))
    ]
    assert all(len(p.fragments) == 1 for p in pdus)
    (message,) = messages(events)
    assert list(message.fragments) == [f for p in pdus for f in p.fragments]


def test_a_sink_takes_the_data_set_instead_of_memory() -> None:
    data = bytes(range(256)) * 100
    sinks: list[io.BytesIO] = []

    def sink(context_id: int, primitive: DIMSEPrimitive) -> io.BytesIO:
        assert context_id == 1 and isinstance(primitive, C_STORE)
        sinks.append(io.BytesIO())
        return sinks[-1]

    raw = wire(store(data), max_pdu_length=1000) + wire(echo())
    events = messages(feed_all(raw, StreamDecoder(dataset_sink=sink), step=333))
    assert events[0].dataset is None and events[0].sink is sinks[0]
    assert events[0].dataset_length == len(data)
    assert sinks[0].getvalue() == data
    assert len(sinks) == 1  # not asked for a message without a data set


def test_a_sink_may_decline() -> None:
    raw = wire(store(bytes(100)))
    (event,) = messages(feed_all(raw, StreamDecoder(dataset_sink=lambda c, p: None)))
    assert bytes(event.dataset or b"x") == bytes(100)


def test_the_dataset_is_a_view_of_one_copy() -> None:
    raw = bytearray(wire(store(bytes(range(256)) * 4), max_pdu_length=100))
    decoder = StreamDecoder()
    (event,) = messages(decoder.feed(raw))
    raw[:] = bytes(len(raw))  # the caller reuses its buffer
    assert bytes(event.dataset or b"") == bytes(range(256)) * 4


# -- reassembly: what PS3.8 forbids ------------------------------------------------------------


def diagnostics_of(event: object) -> list:
    """Every diagnostic an event carries."""
    if isinstance(event, StreamDiagnostic):
        return [event.diagnostic]
    if isinstance(event, IncompleteMessage):
        return [event.reason, *event.diagnostics]
    if isinstance(event, PDUReceived):
        return list(event.pdu.diagnostics)
    return list(getattr(event, "diagnostics", ()))


def both_policies(raw: bytes, code: DiagnosticCode, **options: object) -> list[object]:
    """Lenient reports ``code`` and carries on; strict raises it."""
    with pytest.raises(PolicyViolation) as info:
        feed_all(raw, StreamDecoder(policy=STRICT, **options))  # type: ignore[arg-type]
    assert info.value.code == code.value
    events = feed_all(raw, StreamDecoder(policy=LENIENT, **options))  # type: ignore[arg-type]
    found = [d.code for e in events for d in diagnostics_of(e)]
    assert code in found
    return events


def test_interleaved_messages_are_reported_and_both_kept() -> None:
    one = command_of(store(message_id=1))
    two = command_of(echo(2))
    raw = (
        pdata(pdv(1, 3, one))
        + pdata(pdv(3, 3, two))
        + pdata(pdv(1, 2, b"\x08\x00\x16\x00\x02\x00\x00\x00AB"))
    )
    events = both_policies(raw, D.INTERLEAVED)
    got = messages(events)
    assert sorted(e.primitive.MessageID for e in got) == [1, 2]


def test_a_context_change_mid_message_is_reported_and_adopted() -> None:
    command = command_of(store())
    raw = pdata(pdv(1, 3, command)) + pdata(pdv(3, 2, b"\x08\x00\x16\x00\x02\x00\x00\x00AB"))
    events = both_policies(raw, D.CONTEXT_CHANGED)
    (event,) = messages(events)
    assert (
        event.context_id == 1
        and bytes(event.dataset or b"") == b"\x08\x00\x16\x00\x02\x00\x00\x00AB"
    )


def test_data_before_any_command_is_kept() -> None:
    raw = pdata(pdv(1, 0, b"abcd")) + pdata(pdv(1, 2, b"ef")) + wire(echo())
    events = both_policies(raw, D.DATA_BEFORE_COMMAND)
    stray = [e for e in events if isinstance(e, IncompleteMessage)]
    assert len(stray) == 1 and bytes(stray[0].dataset or b"") == b"abcdef"
    assert stray[0].reason.code == D.DATA_BEFORE_COMMAND
    assert len(messages(events)) == 1


def test_a_new_command_cutting_a_data_set_short_is_reported() -> None:
    raw = pdata(pdv(1, 3, command_of(store()))) + pdata(pdv(1, 0, b"half")) + wire(echo(9))
    events = both_policies(raw, D.MESSAGE_INCOMPLETE)
    (cut,) = [e for e in events if isinstance(e, IncompleteMessage)]
    assert cut.primitive is not None and cut.primitive.MessageID == 7
    assert bytes(cut.dataset or b"") == b"half"
    assert [e.primitive.MessageID for e in messages(events)] == [9]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (pdata(pdv(1, 1, b""), pdv(1, 3, b"")), D.EMPTY_PDV),
        (pdata(pdv(1, 0, b"abc")), D.ODD_FRAGMENT),
        (pdata(pdv(2, 3, b"ab")), D.CONTEXT_ID_INVALID),
        (pdata(), D.NO_PDV),
        (b"\x09\x00\x00\x00\x00\x02ab", D.UNKNOWN_PDU_TYPE),
    ],
)
def test_framing_problems(raw: bytes, code: DiagnosticCode) -> None:
    both_policies(raw, code)


def test_what_the_standard_says_to_ignore_is_only_reported() -> None:
    raw = pdata(pdv(1, 0x13, command_of(echo())), reserved=1)
    for policy in (LENIENT, STRICT):
        events = feed_all(raw, StreamDecoder(policy=policy))
        (event,) = messages(events)
        assert [d.code for d in event.diagnostics] == [D.MCH_RESERVED_BITS]
        assert [e.diagnostic.code for e in events if isinstance(e, StreamDiagnostic)] == [
            D.RESERVED_NONZERO
        ]


def test_a_pdu_over_our_maximum_is_reported() -> None:
    raw = wire(store(bytes(2000)), max_pdu_length=1000)
    events = both_policies(raw, D.PDU_OVER_MAXIMUM, max_pdu_length=500)
    (event,) = messages(events)
    assert bytes(event.dataset or b"") == bytes(2000)


def test_a_pdv_running_past_its_pdu_is_cut_there() -> None:
    body = struct.pack(">IBB", 12, 1, 2) + b"abcd"
    raw = struct.pack(">BBI", 4, 0, len(body)) + body
    events = both_policies(pdata(pdv(1, 3, command_of(store()))) + raw, D.ITEM_LENGTH_MISMATCH)
    (event,) = messages(events)
    assert bytes(event.dataset or b"") == b"abcd"


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x00\x00\x01\x01\x03abcd",  # item length under 2
        b"\x00\x00\x00",  # a PDV header does not fit
    ],
)
def test_unframeable_pdus_are_skipped_to_their_end(body: bytes) -> None:
    raw = struct.pack(">BBI", 4, 0, len(body)) + body + wire(echo())
    events = both_policies(raw, D.ITEM_LENGTH_MISMATCH)
    assert len(messages(events)) == 1


def test_an_undecodable_command_set_is_kept() -> None:
    raw = pdata(pdv(1, 3, b"\x00\x00\x00\x01\x04\x00\x00\x00")) + wire(echo())
    with pytest.raises(DimseCodecError):
        feed_all(raw, StreamDecoder(policy=STRICT))
    events = feed_all(raw)
    (kept,) = [e for e in events if isinstance(e, IncompleteMessage)]
    assert kept.reason.code == D.UNDECODABLE
    assert kept.command_set == b"\x00\x00\x00\x01\x04\x00\x00\x00"
    assert len(messages(events)) == 1


def test_an_undecodable_associate_pdu_is_kept() -> None:
    broken = b"\x01\x00\x00\x00\x00\x04\x00\x01\x00\x00"  # A-ASSOCIATE-RQ cut short
    with pytest.raises(DimseCodecError):
        feed_all(broken + wire(echo()), StreamDecoder(policy=STRICT))
    events = feed_all(broken + wire(echo()))
    (problem,) = [e for e in events if isinstance(e, StreamDiagnostic)]
    assert problem.diagnostic.code == D.UNDECODABLE and problem.data == broken
    assert len(messages(events)) == 1


def test_the_end_of_the_stream_reports_what_was_unfinished() -> None:
    raw = wire(store(bytes(3000)), max_pdu_length=1000)
    cut = raw[: len(raw) - 500]
    events = both_policies(cut, D.STREAM_TRUNCATED)
    (partial,) = [e for e in events if isinstance(e, IncompleteMessage)]
    assert partial.reason.code == D.MESSAGE_INCOMPLETE
    assert partial.dataset_length == len(bytes(partial.dataset or b""))
    decoder = StreamDecoder()
    decoder.feed(raw[:3])
    assert decoder.in_progress
    (truncated,) = decoder.close()
    assert isinstance(truncated, StreamDiagnostic)
    assert truncated.diagnostic.code == D.STREAM_TRUNCATED
    assert not decoder.in_progress


# -- memory bounds -----------------------------------------------------------------------------


def test_a_large_other_pdu_is_refused_before_buffering() -> None:
    decoder = StreamDecoder(max_other_pdu_length=1000)
    with pytest.raises(LimitExceeded, match="before buffering"):
        decoder.feed(b"\x01\x00\x7f\xff\xff\xff")  # only the header: 2 GiB declared
    with pytest.raises(DimseCodecError, match="earlier error"):
        decoder.feed(b"more")
    assert decoder.close() == []


def test_data_set_and_command_caps() -> None:
    with pytest.raises(LimitExceeded, match="data set"):
        feed_all(
            wire(store(bytes(5000)), max_pdu_length=1000), StreamDecoder(max_dataset_size=4000)
        )
    with pytest.raises(LimitExceeded, match="command set"):
        feed_all(wire(echo()), StreamDecoder(max_command_size=10))
    # a sink is not capped: the caller's file decides
    data = bytes(5000)
    out = io.BytesIO()
    feed_all(
        wire(store(data), max_pdu_length=1000),
        StreamDecoder(max_dataset_size=10, dataset_sink=lambda c, p: out),
    )
    assert out.getvalue() == data


@pytest.mark.parametrize(
    "options",
    [{"max_pdu_length": 3}, {"max_dataset_size": -1}, {"max_command_size": "1"}],
)
def test_bad_decoder_options(options: dict[str, object]) -> None:
    with pytest.raises(DimseCodecError):
        StreamDecoder(**options)  # type: ignore[arg-type]


def test_feed_refuses_text() -> None:
    with pytest.raises(InvalidParameterType):
        StreamDecoder().feed("text")  # type: ignore[arg-type]


# -- properties ----------------------------------------------------------------------------------

limits = st.one_of(st.just(0), st.integers(8, 64), st.integers(65, 20_000))


@st.composite
def planned(draw: st.DrawFn) -> tuple[DIMSEPrimitive, bytes, dict[str, object]]:
    """A valid primitive, and the P-DATA bytes of it under random framing options."""
    p = draw(primitives())
    per_pdu = draw(st.integers(1, 3))
    limit = draw(limits.filter(lambda m: m == 0 or m >= 8 * per_pdu))
    options = {
        "max_pdu_length": limit,
        "pdvs_per_pdu": per_pdu,
        "command_with_data": draw(st.booleans()),
    }
    context_id = draw(st.integers(0, 127)) * 2 + 1
    return p, bytes(encode_pdata(p, context_id, **options)), options  # type: ignore[arg-type]


@given(planned())
def test_any_framing_reassembles_to_the_same_message(
    case: tuple[DIMSEPrimitive, bytes, dict[str, object]],
) -> None:
    p, raw, options = case
    limit = options["max_pdu_length"]
    for pdu in split_pdus(raw):
        assert not limit or len(pdu) - 6 <= limit  # type: ignore[operator]
    (event,) = feed_all(raw, StreamDecoder(policy=STRICT, max_pdu_length=limit))  # type: ignore[arg-type]
    assert isinstance(event, MessageReceived)
    assert event.diagnostics == ()
    encoded = encode_message(p)
    assert event.command_set == encoded.command_set
    assert (None if event.dataset is None else bytes(event.dataset)) == (
        None if encoded.dataset is None else bytes(encoded.dataset)
    )
    assert event.primitive == decode_message(encoded.command_set, encoded.dataset)


@given(planned(), st.lists(st.integers(0, 10_000), max_size=12), st.data())
def test_split_points_do_not_change_the_events(
    case: tuple[DIMSEPrimitive, bytes, dict[str, object]], cuts: list[int], data: st.DataObject
) -> None:
    _, raw, _ = case
    stream = raw + wire(echo(3)) + raw
    whole = feed_all(stream)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    decoder = StreamDecoder()
    pieces: list[object] = []
    start = 0
    for point in [*points, len(stream)]:
        chunk = stream[start:point]
        kind = data.draw(st.sampled_from([bytes, bytearray, memoryview]))
        pieces += decoder.feed(kind(chunk))
        start = point
    pieces += decoder.close()
    assert pieces == whole
    assert decoder.offset == len(stream)


@settings(max_examples=200)
@given(planned(), st.data())
def test_mutated_streams_fail_only_with_library_errors(
    case: tuple[DIMSEPrimitive, bytes, dict[str, object]], data: st.DataObject
) -> None:
    _, raw, _ = case
    stream = bytearray(raw + wire(echo(3)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(stream) - 1))
        stream[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(stream)))
    policy = data.draw(st.sampled_from([LENIENT, STRICT, Policy(strict=True, allow=frozenset(D))]))
    decoder = StreamDecoder(policy=policy, max_other_pdu_length=1 << 16, max_dataset_size=1 << 20)
    try:
        decoder.feed(bytes(stream[:cut]))
        decoder.feed(bytes(stream[cut:]))
        decoder.close()
    except DimseCodecError:
        pass


def test_fragment_tuple_is_cheap_and_reads_its_header_bits() -> None:
    fragment = Fragment(10, 4, 1, MCH_COMMAND | MCH_LAST, 20)
    assert fragment.is_command and fragment.is_last
    assert not Fragment(10, 4, 1, 0, 20).is_last


def test_find_identifier_round_trip() -> None:
    p = C_FIND()
    p.MessageID = 3
    p.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.1"
    p.Priority = 0
    p.Identifier = b"\x10\x00\x10\x00\x00\x00\x00\x00"
    (event,) = messages(feed_all(wire(p, max_pdu_length=8), StreamDecoder(policy=STRICT)))
    assert event.primitive.payload_bytes("Identifier") == p.payload_bytes("Identifier")


@pytest.mark.parametrize("step", [1, 7, 999, 1006, 1012, 4096, 65536])
def test_chunking_of_a_long_run_keeps_fragments_and_bytes(step: int) -> None:
    data = bytes(range(256)) * 400
    raw = wire(store(data), max_pdu_length=1000)
    (whole,) = messages(feed_all(raw))
    (chunked,) = messages(feed_all(raw, step=step))
    assert bytes(chunked.dataset or b"") == data
    assert list(chunked.fragments) == list(whole.fragments)
    assert len(chunked.fragments) == len(split_pdus(raw))


@given(st.integers(1, 5000), st.integers(0, 103_000))
def test_a_stream_cut_anywhere_accounts_for_every_byte(step: int, cut: int) -> None:
    data = bytes(range(256)) * 400
    raw = wire(store(data), max_pdu_length=1000)[:cut]
    events = feed_all(raw, step=step)
    for event in events:
        if isinstance(event, (MessageReceived, IncompleteMessage)):
            data_bytes = sum(f.length for f in event.fragments if not f.is_command)
            assert data_bytes == (event.dataset_length or 0)
            assert bytes(event.dataset or b"") == data[:data_bytes]


def test_max_pdata_length_refuses_a_corrupt_length_before_reading() -> None:
    """A P-DATA-TF over the hard cap raises at its header; over max_pdu_length it is reported."""
    whole = bytes(encode_pdata(echo(), 1, max_pdu_length=0))
    decoder = StreamDecoder(max_pdu_length=len(whole) - 7, max_pdata_length=len(whole) - 6)
    events = decoder.feed(whole)
    (received,) = [e for e in events if isinstance(e, MessageReceived)]
    assert received.primitive.MessageID == 1
    reported = [e.diagnostic.code for e in events if isinstance(e, StreamDiagnostic)]
    assert reported == [DiagnosticCode.PDU_OVER_MAXIMUM]
    capped = StreamDecoder(max_pdata_length=len(whole) - 7)
    with pytest.raises(LimitExceeded, match="cap"):
        capped.feed(whole[:6])


def test_events_before_an_error_are_kept_for_the_caller() -> None:
    """One feed that finishes a message and then meets a refused PDU: the message is salvaged."""
    whole = bytes(encode_pdata(echo(), 1, max_pdu_length=0))
    oversized = b"\x01\x00" + (1 << 28).to_bytes(4, "big")
    decoder = StreamDecoder()
    assert decoder.events_before_error() == []
    with pytest.raises(LimitExceeded):
        decoder.feed(whole + oversized)
    salvaged = decoder.events_before_error()
    assert [type(e).__name__ for e in salvaged] == ["MessageReceived"]
    assert decoder.events_before_error() == []  # handed over once


def test_the_p_data_headers_are_declared_once() -> None:
    from dimse_codec.pdata import fragmenter, stream
    from dimse_codec.pdata import structures as pdata_structures
    from dimse_codec.pdu import structures as pdu_structures

    both = pdata_structures.PDU_PDV_HEADER_STRUCT
    assert both.size == 12 == pdata_structures.PDU_PDV_HEADER.sizeof()
    assert both.format == ">BBLLBB"
    blob = bytes([0x04, 0x00, 0, 0, 0, 10, 0, 0, 0, 4, 7, 0x02])
    parsed = pdata_structures.PDU_PDV_HEADER.parse(blob)
    assert both.unpack(blob) == (4, 0, 10, 4, 7, 2)
    fields = pdata_structures.PDU_PDV_HEADER.subcons
    assert tuple(parsed[sub.name] for sub in fields) == both.unpack(blob)
    assert blob[:6] == pdu_structures.PDU_HEADER.build(parsed)
    assert blob[6:] == pdu_structures.PDV_HEADER.build(parsed)
    assert fragmenter.PDU_PDV_HEADER_STRUCT is both is stream.PDU_PDV_HEADER_STRUCT


# -- bytes lost on the way (a capture's gaps) -----------------------------------------------------


def test_offsets_count_from_the_offset_the_decoder_starts_at() -> None:
    stream = wire(echo())
    plain = feed_all(stream)
    shifted = feed_all(stream, StreamDecoder(offset=1000))
    assert [m.offset + 1000 for m in messages(plain)] == [m.offset for m in messages(shifted)]
    assert [m.end + 1000 for m in messages(plain)] == [m.end for m in messages(shifted)]


def test_a_message_goes_on_after_a_gap_and_is_delivered_once_with_it() -> None:
    data = bytes(range(256)) * 16  # 4096 bytes, in PDUs of at most 1018 fragment bytes
    stream = wire(store(data), max_pdu_length=1024)
    pdus = split_pdus(stream)
    starts = [sum(map(len, pdus[:i])) for i in range(len(pdus))]
    assert len(pdus) == 6  # the command, then 5 data PDUs
    gap_start = starts[2] + 100  # inside the 2nd data PDU's fragment
    resume = starts[4]  # at the 4th data PDU's header
    decoder = StreamDecoder()
    events = decoder.feed(stream[:gap_start])
    cut = decoder.gap(gap_start, starts[3] - gap_start)  # the rest of the 2nd and all the 3rd
    assert [type(e) for e in cut] == [StreamDiagnostic]
    assert cut[0].diagnostic.code is D.STREAM_GAP  # type: ignore[union-attr]
    assert cut[0].diagnostic.message == (  # type: ignore[union-attr]
        f"a gap of {starts[3] - gap_start} bytes at offset {gap_start} inside a PDU that "
        f"started at {starts[2]}"
    )
    assert decoder.gap(resume, 0) == []  # the 3rd data PDU skipped, looking for a header
    events += decoder.feed(stream[resume:]) + decoder.close()
    assert not messages(events)
    (message,) = [e for e in events if isinstance(e, IncompleteMessage)]
    assert message.primitive is not None and message.primitive.MessageID == 7
    assert message.gaps == ((gap_start, starts[3] - gap_start),)
    assert message.reason.code is D.MESSAGE_INCOMPLETE and message.reason.offset == gap_start
    fragment = [len(p) - 12 for p in pdus[1:]]
    received = fragment[0] + (gap_start - starts[2] - 12) + fragment[3] + fragment[4]
    assert message.dataset is not None and len(message.dataset) == received
    kept = data[: received - fragment[3] - fragment[4]] + data[-fragment[3] - fragment[4] :]
    assert bytes(message.dataset) == kept
    assert message.dataset_length == received
    assert message.missing == fragment[1] - (gap_start - starts[2] - 12)  # the cut PDV's rest
    assert message.end == len(stream)


def test_a_gap_in_a_command_set_ends_its_message_and_one_at_a_pdu_start_cuts_nothing() -> None:
    stream = wire(store(), max_pdu_length=1024)
    decoder = StreamDecoder()
    assert decoder.feed(stream[:20]) == []
    events = decoder.gap(20, 10)
    assert [type(e) for e in events] == [StreamDiagnostic, IncompleteMessage]
    (ended,) = [e for e in events if isinstance(e, IncompleteMessage)]
    assert ended.primitive is None and "cut its command set" in ended.reason.message
    assert decoder.offset == 30 and not decoder.in_progress
    fresh = StreamDecoder()
    assert fresh.gap(0, 100) == [] and fresh.offset == 100


def test_a_gap_cannot_go_back_and_strict_refuses_one_inside_a_pdu() -> None:
    decoder = StreamDecoder()
    decoder.feed(wire(echo()))
    with pytest.raises(InvalidParameter):
        decoder.gap(3, 5)
    strict = StreamDecoder(policy=STRICT)
    strict.feed(wire(echo())[:20])
    with pytest.raises(PolicyViolation) as raised:
        strict.gap(20, 5)
    assert raised.value.code == "STREAM_GAP"


def test_an_answer_ends_a_message_that_lost_bytes_and_no_other() -> None:
    stream = wire(store(bytes(4096)), max_pdu_length=1024)
    starts = [0]
    for pdu in split_pdus(stream):
        starts.append(starts[-1] + len(pdu))
    decoder = StreamDecoder()
    decoder.feed(stream[: starts[2]])
    assert decoder.answered(1, 7) == []  # no gap in it: it may still finish
    decoder.gap(starts[2], starts[3] - starts[2])
    assert decoder.answered(1, 8) == []  # another message's answer
    (ended,) = decoder.answered(1, 7)
    assert isinstance(ended, IncompleteMessage)
    assert ended.reason.message.startswith("its peer answered it before its last fragment came")
    assert ended.gaps == ((starts[2], starts[3] - starts[2]),)
