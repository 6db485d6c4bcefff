"""Differential tests against pynetdicom, used in-process as a real peer implementation.

Both directions are exercised on random valid primitives of all 23 message types:

* our command set bytes -> pynetdicom (``P_DATA`` -> ``DIMSEMessage.decode_msg`` ->
  ``message_to_primitive``) -> every parameter equals ours;
* a pynetdicom primitive built from ours -> pynetdicom's encoder -> ``decode_command_set`` ->
  equal values, no diagnostics, and the very bytes ``encode_command_set`` writes (a canonical
  Implicit VR Little Endian command set has exactly one encoding).

Every place where the two disagree is an intended divergence; each one is undone in a single
helper per direction (``_normalise`` and ``_as_pynetdicom_sends``), tagged D1..D11, and asserted
as such by a dedicated test. ``docs/pynetdicom-divergences.md`` describes them.
pynetdicom's own command vectors are decoded and re-encoded here too.
"""

from __future__ import annotations

import importlib
import io
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from dimse_codec import (
    C_ECHO,
    C_MOVE,
    C_STORE,
    N_ACTION,
    N_CREATE,
    N_GET,
    DiagnosticCode,
    DIMSEPrimitive,
    EncodeError,
    InvalidParameter,
    decode_command_set,
    decode_message,
    encode_command_set,
    encode_message,
    message_spec,
)
from dimse_codec.dimse.primitives import PRIMITIVES
from dimse_codec.interop import from_pynetdicom, to_pynetdicom
from dimse_codec.strategies import dataset_payloads, primitives
from dimse_codec.tables.messages import MESSAGES_BY_NAME, MessageSpec

pynetdicom = pytest.importorskip(
    "pynetdicom", reason="the differential tests need pynetdicom as the peer implementation"
)
pn_messages = importlib.import_module("pynetdicom.dimse_messages")
pn_primitives = importlib.import_module("pynetdicom.dimse_primitives")
pn_dsutils = importlib.import_module("pynetdicom.dsutils")
pn_pdu_primitives = importlib.import_module("pynetdicom.pdu_primitives")
pn_vectors_c = importlib.import_module("pynetdicom.tests.encoded_dimse_msg")
pn_vectors_n = importlib.import_module("pynetdicom.tests.encoded_dimse_n_msg")

pytestmark = pytest.mark.peer

# at least 300 examples per property, more if the active Hypothesis profile asks for more
EXAMPLES = max(300, settings.default.max_examples)
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

MESSAGE_NAMES = sorted(MESSAGES_BY_NAME)
"""The 23 message types; each property runs EXAMPLES times per message type."""

NO_DATA_SET = 0x0101
CDS_OFFSET_IN_ELEMENT = 8  # tag (4) + length (4) precede the value in Implicit VR LE


def primitives_of(name: str) -> st.SearchStrategy[DIMSEPrimitive]:
    spec = MESSAGES_BY_NAME[name]
    return primitives(spec.service.name, is_request=spec.is_request)


# -- pynetdicom plumbing ------------------------------------------------------------------------


def pn_decode(command: bytes, dataset: bytes | memoryview | None = None) -> tuple[Any, Any]:
    """Feed one command PDV (and one data PDV) to pynetdicom; return (message, primitive)."""
    message = pn_messages.DIMSEMessage()
    pdata = pn_pdu_primitives.P_DATA()
    pdata.presentation_data_value_list = [[1, b"\x03" + bytes(command)]]
    complete = message.decode_msg(pdata)
    if dataset is not None:
        assert not complete, "pynetdicom finished the message before its data set"
        pdata = pn_pdu_primitives.P_DATA()
        pdata.presentation_data_value_list = [[1, b"\x02" + bytes(dataset)]]
        complete = message.decode_msg(pdata)
    assert complete, "pynetdicom did not see a complete message"
    return message, message.message_to_primitive()


def pn_message_class(spec: MessageSpec) -> type:
    return getattr(pn_messages, spec.name.replace("-", "_"))


def pn_pdvs(message: Any) -> list[tuple[int, bytes]]:
    """Every PDV pynetdicom sends for a message (maximum PDU length 0: one PDV per part)."""
    return [pdv for pdata in message.encode_msg(1, 0) for pdv in pdata.presentation_data_value_list]


def pn_encode(pn_primitive: Any, spec: MessageSpec) -> bytes:
    """pynetdicom's command set bytes for a primitive, as it would put them on the wire."""
    message = pn_message_class(spec)()
    message.primitive_to_message(pn_primitive)
    command = pn_dsutils.encode(message.command_set, True, True)
    assert command is not None, "pynetdicom failed to encode the command set"
    # the framed form carries the same bytes behind the MCH byte 0x03 (last command fragment)
    assert pn_pdvs(message)[0] == (1, b"\x03" + command)
    return command


def pn_class_of(ours: DIMSEPrimitive) -> Any:
    return getattr(pn_primitives, type(ours).__name__)


def command_data_set_type(command: bytes) -> int:
    """The (0000,0800) value of a canonical command set, found by walking its elements."""
    pos = 0
    while pos < len(command):
        group, element, length = struct.unpack_from("<HHI", command, pos)
        if (group, element) == (0, 0x0800):
            return int(struct.unpack_from("<H", command, pos + CDS_OFFSET_IN_ELEMENT)[0])
        pos += CDS_OFFSET_IN_ELEMENT + length
    raise AssertionError("no CommandDataSetType")


def tags_in(command: bytes) -> list[int]:
    pos, out = 0, []
    while pos < len(command):
        group, element, length = struct.unpack_from("<HHI", command, pos)
        out.append(group << 16 | element)
        pos += CDS_OFFSET_IN_ELEMENT + length
    return out


def spec_tag(keyword: str) -> int:
    return int(Tag(keyword))


def element(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def with_group_length(body: bytes) -> bytes:
    return element(0x00000000, struct.pack("<I", len(body))) + body


# -- the documented divergences, undone in one place per direction --------------------------------

PN_LACKS = frozenset(
    {("N-ACTION", "AttributeIdentifierList"), ("N-CREATE", "AttributeIdentifierList")}
)
"""Parameters our primitives have (PS3.7 Annex C related fields) that pynetdicom's lack (D7)."""

AT_KEYWORDS = frozenset({"OffendingElement", "AttributeIdentifierList"})


def _payload_value(ours: DIMSEPrimitive, keyword: str) -> Any:
    value = getattr(ours, keyword)
    if keyword in ours.DATASET_PARAMETERS and value is not None:
        return value.getvalue()
    return value


def _normalise(
    ours: DIMSEPrimitive, theirs: Any, message: Any, spec: MessageSpec
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our parameters and pynetdicom's decoded ones, comparable keyword by keyword.

    Each documented divergence is first asserted (pynetdicom really does that), then undone.
    """
    announced = message.command_set.CommandDataSetType != NO_DATA_SET
    used = {p.keyword for p in spec.parameters}
    mine: dict[str, Any] = {}
    peer: dict[str, Any] = {}
    for keyword in ours.PARAMETERS:
        value = _payload_value(ours, keyword)
        if not hasattr(theirs, keyword):
            # D7: pynetdicom's N_ACTION and N_CREATE have no AttributeIdentifierList, so the
            # element (an Annex C related field of N-ACTION-RSP and N-CREATE-RSP) is dropped
            assert (spec.service.name, keyword) in PN_LACKS, keyword
            continue
        got = getattr(theirs, keyword)
        if keyword in ours.DATASET_PARAMETERS:
            carried = spec.dataset.keyword if spec.dataset is not None else None
            if keyword != carried:
                # D3: pynetdicom keeps all data set parameters of a primitive in one slot, so
                # EventReply reads back the EventInformation of an N-EVENT-REPORT-RQ (and so on)
                assert got is (getattr(theirs, carried) if carried else None), keyword
                got = None
            elif got is not None:
                got = got.getvalue()
                if not announced:
                    # D2: with CommandDataSetType 0101H pynetdicom still attaches an empty
                    # BytesIO, where we say "absent" (None)
                    assert got == b"", keyword
                    got = None
        elif keyword == "Priority" and keyword not in used:
            # D1: pynetdicom's primitives default Priority to 2 (LOW) even in responses,
            # which have no Priority element; ours report the element's absence
            assert got == 2, got
            got = None
        elif keyword in AT_KEYWORDS and isinstance(got, BaseTag):
            # D4: pynetdicom turns an AT list with one value into a bare Tag; ours is a list
            got = [got]
        if isinstance(value, UID) and value == "":
            # D5: a zero-length UI element is "present and empty" here; pynetdicom makes it
            # None, as if the element were absent
            assert got is None, keyword
            value = None
        mine[keyword] = value
        peer[keyword] = got
    return mine, peer


def _as_pynetdicom_sends(ours: DIMSEPrimitive, spec: MessageSpec) -> DIMSEPrimitive:
    """Ours, less what pynetdicom's encoder cannot put on the wire for this message type."""
    kept: dict[str, Any] = {}
    for keyword in ours.PARAMETERS:
        value = (
            ours.payload(keyword) if keyword in ours.DATASET_PARAMETERS else getattr(ours, keyword)
        )
        if value is None:
            continue
        if keyword == "MessageID" and not spec.is_request:
            # D6: PS3.7 makes Message ID a user option (U) in C-STORE/FIND/GET/MOVE/ECHO
            # responses; pynetdicom's per-message element list leaves (0000,0110) out of them
            continue
        if (spec.service.name, keyword) in PN_LACKS:
            # D7: pynetdicom cannot hold AttributeIdentifierList in N-ACTION / N-CREATE
            continue
        kept[keyword] = value
    return type(ours)(**kept)


# -- 1. ours -> pynetdicom ---------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGE_NAMES)
@PROPERTY
@given(data=st.data())
def test_pynetdicom_decodes_our_messages(name: str, data: st.DataObject) -> None:
    ours = data.draw(primitives_of(name))
    spec = message_spec(ours)
    assert spec.name == name
    encoded = encode_message(ours)
    assert encoded.command_set == encode_command_set(ours)
    message, theirs = pn_decode(encoded.command_set, encoded.dataset)

    assert type(message).__name__ == spec.name.replace("-", "_")
    assert message.command_set.CommandDataSetType == command_data_set_type(encoded.command_set)
    assert (message.command_set.CommandDataSetType == NO_DATA_SET) == (encoded.dataset is None)
    mine, peer = _normalise(ours, theirs, message, spec)
    assert peer == mine
    if spec.name != "C-CANCEL-RQ":  # pynetdicom's C_CANCEL has no validity properties
        valid = theirs.is_valid_request if spec.is_request else theirs.is_valid_response
        assert valid, f"pynetdicom rejects our valid {spec.name}"


# -- 2. pynetdicom -> ours ---------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGE_NAMES)
@PROPERTY
@given(data=st.data())
def test_we_decode_pynetdicom_messages(name: str, data: st.DataObject) -> None:
    ours = data.draw(primitives_of(name))
    spec = message_spec(ours)
    assert spec.name == name
    command = pn_encode(to_pynetdicom(ours, lossy=True), spec)

    decoded = decode_command_set(command)
    assert decoded.diagnostics == ()
    assert decoded.message_spec is spec
    assert decoded.extra_elements == ()

    sent = _as_pynetdicom_sends(ours, spec)
    for keyword in ours.PARAMETERS:
        if keyword not in ours.DATASET_PARAMETERS:
            assert getattr(decoded, keyword) == getattr(sent, keyword), keyword
    assert decoded.dataset_follows() == (spec.dataset is not None and ours.dataset_follows())
    # a canonical command set has one encoding: pynetdicom's bytes are ours, byte for byte,
    # once D6/D7 are accounted for; and only D6/D7 make them differ from ours as given
    assert command == encode_command_set(sent, is_request=spec.is_request)
    assert (command == encode_command_set(ours)) == (sent == ours)


# -- 3. pynetdicom's own vectors -----------------------------------------------------------------


def _command_vectors() -> dict[str, bytes]:
    return {
        name: value
        for module in (pn_vectors_c, pn_vectors_n)
        for name, value in vars(module).items()
        if isinstance(value, bytes) and "_cmd" in name
    }


COMMAND_VECTORS = _command_vectors()
MALFORMED = "c_move_rsp_cmd_with_dup"
EMPTY_VECTORS = {
    # vector -> the UID parameters it carries with a zero-length value
    "n_set_rq_cmd_empty": ("RequestedSOPClassUID", "RequestedSOPInstanceUID"),
    "n_create_rq_cmd_empty": ("AffectedSOPInstanceUID",),
}


def test_vector_inventory() -> None:
    # pynetdicom 3.0.x ships 26 command vectors (12 DIMSE-C, 14 DIMSE-N), each MCH 03H + command
    # (26 "*_cmd*" values in pynetdicom.tests.encoded_dimse_msg and encoded_dimse_n_msg)
    assert len(COMMAND_VECTORS) == 26
    assert all(value[:1] == b"\x03" for value in COMMAND_VECTORS.values())
    assert MALFORMED in COMMAND_VECTORS
    assert set(EMPTY_VECTORS) <= set(COMMAND_VECTORS)


@pytest.mark.parametrize("name", sorted(COMMAND_VECTORS))
def test_pynetdicom_command_vector(name: str) -> None:
    raw = COMMAND_VECTORS[name][1:]
    # a command that announces a data set is completed with pynetdicom's data set vector, so
    # both sides see a whole message
    dataset = _vector(DATA_FOR[name])[1:] if name in DATA_FOR else None
    assert (dataset is None) == (command_data_set_type(raw) == NO_DATA_SET)
    ours = decode_message(raw, dataset)
    spec = ours.message_spec
    assert spec is not None and type(ours) is PRIMITIVES[spec.service.name]
    assert encode_command_set(ours) == raw  # unchanged: the source bytes, always
    canonical = encode_command_set(ours, canonical=True, check=False)

    message, theirs = pn_decode(raw, dataset)
    assert type(message).__name__ == spec.name.replace("-", "_")
    mine, peer = _normalise(ours, theirs, message, spec)
    assert peer == mine
    pn_again = pn_encode(theirs, spec)

    if name == MALFORMED:
        # D10: reported and preserved, where pynetdicom silently repairs
        codes = sorted(d.code for d in ours.diagnostics)
        expected = [DiagnosticCode.GROUP_LENGTH_MISMATCH] + [DiagnosticCode.VM_GT_1] * 4
        assert codes == sorted(expected)
        assert canonical != raw
        # both keep the first of the duplicated US values and every OffendingElement value,
        # and both recompute the group length: our canonical form is pynetdicom's re-encoding
        assert [
            ours.NumberOfRemainingSuboperations,
            ours.NumberOfCompletedSuboperations,
            ours.NumberOfFailedSuboperations,
            ours.NumberOfWarningSuboperations,
        ] == [3, 1, 2, 4]
        assert ours.OffendingElement == [Tag(0x0000, 0x0001), Tag(0x0000, 0x0002)]
        assert canonical == pn_again
        return

    assert canonical == raw
    if name in EMPTY_VECTORS:
        assert {d.code for d in ours.diagnostics} >= {DiagnosticCode.EMPTY_VALUE}
        for keyword in EMPTY_VECTORS[name]:
            # D5: present and empty, not absent
            assert getattr(ours, keyword) == "" and isinstance(getattr(ours, keyword), UID)
            assert getattr(theirs, keyword) is None
        # D2 and D5 on re-encode: pynetdicom drops the empty elements and, because the decoded
        # primitive carries an empty BytesIO, announces a data set (0001H) it never sends;
        # we keep CommandDataSetType as it was
        assert command_data_set_type(raw) == NO_DATA_SET
        assert command_data_set_type(canonical) == NO_DATA_SET
        assert command_data_set_type(pn_again) == 0x0001
        dropped = {tag for tag in tags_in(raw) if tag not in tags_in(pn_again)}
        assert {spec_tag(k) for k in EMPTY_VECTORS[name]} == dropped
    else:
        assert ours.diagnostics == ()
        assert pn_again == raw == canonical


DATA_SET_VECTORS = [
    # (command vector, data set vector, the parameter PS3.7 says carries it)
    ("c_store_rq_cmd", "c_store_ds", "DataSet"),
    ("c_store_rq_cmd_b", "c_store_rq_ds_b", "DataSet"),
    ("c_find_rq_cmd", "c_find_rq_ds", "Identifier"),
    ("c_find_rsp_cmd", "c_find_rsp_ds", "Identifier"),
    ("c_move_rq_cmd", "c_move_rq_ds", "Identifier"),
    ("c_move_rsp_cmd", "c_move_rsp_ds", "Identifier"),
    ("c_get_rq_cmd", "c_get_rq_ds", "Identifier"),
    ("c_get_rsp_cmd", "c_get_rsp_ds", "Identifier"),
    ("n_er_rq_cmd", "n_er_rq_ds", "EventInformation"),
    ("n_er_rsp_cmd", "n_er_rsp_ds", "EventReply"),
    ("n_get_rsp_cmd", "n_get_rsp_ds", "AttributeList"),
    ("n_set_rq_cmd", "n_set_rq_ds", "ModificationList"),
    ("n_set_rsp_cmd", "n_set_rsp_ds", "AttributeList"),
    ("n_action_rq_cmd", "n_action_rq_ds", "ActionInformation"),
    ("n_action_rsp_cmd", "n_action_rsp_ds", "ActionReply"),
    ("n_create_rq_cmd", "n_create_rq_ds", "AttributeList"),
    ("n_create_rsp_cmd", "n_create_rsp_ds", "AttributeList"),
]


DATA_FOR = {cmd: ds for cmd, ds, _ in DATA_SET_VECTORS} | {MALFORMED: "c_move_rsp_ds"}


def _vector(name: str) -> bytes:
    value = getattr(pn_vectors_c, name, None)
    if value is None:
        value = getattr(pn_vectors_n, name)
    assert isinstance(value, bytes)
    return value


def test_data_set_vectors_cover_every_carrier() -> None:
    carriers = {spec.dataset.keyword for spec in MESSAGES_BY_NAME.values() if spec.dataset}
    assert {keyword for _, _, keyword in DATA_SET_VECTORS} == carriers
    # every vector whose command announces a data set has its data set vector here
    announced = {
        name
        for name, raw in COMMAND_VECTORS.items()
        if command_data_set_type(raw[1:]) != NO_DATA_SET and name != MALFORMED
    }
    assert announced == {cmd for cmd, _, _ in DATA_SET_VECTORS}


@pytest.mark.parametrize(("cmd_name", "ds_name", "keyword"), DATA_SET_VECTORS)
def test_pynetdicom_data_set_vector(cmd_name: str, ds_name: str, keyword: str) -> None:
    command, dataset = _vector(cmd_name), _vector(ds_name)
    assert command[:1] == b"\x03" and dataset[:1] == b"\x02"
    command, dataset = command[1:], dataset[1:]

    ours = decode_message(command, dataset)
    assert ours.diagnostics == ()
    for other in ours.DATASET_PARAMETERS:
        value = getattr(ours, other)
        if other == keyword:
            assert value is not None and value.getvalue() == dataset
        else:
            assert value is None, other
    assert pn_dsutils.decode(getattr(ours, keyword), True, True)  # a real data set, not noise
    again = encode_message(ours)
    assert again.command_set == command and bytes(again.dataset or b"") == dataset
    assert encode_message(ours, canonical=True).command_set == command

    # pynetdicom attaches the same bytes to the same parameter
    spec = ours.message_spec
    assert spec is not None
    message, theirs = pn_decode(command, dataset)
    assert getattr(theirs, keyword).getvalue() == dataset
    mine, peer = _normalise(ours, theirs, message, spec)
    assert peer == mine


# -- 4. request and response payloads are separate -------------------------------------------------

PAIRED = [
    ("N-SET", "ModificationList", "AttributeList"),
    ("N-ACTION", "ActionInformation", "ActionReply"),
    ("N-EVENT-REPORT", "EventInformation", "EventReply"),
]


@PROPERTY
@given(st.sampled_from(PAIRED), dataset_payloads(), dataset_payloads())
def test_paired_payloads_are_separate(
    pair: tuple[str, str, str], request: bytes, reply: bytes
) -> None:
    service, request_kw, reply_kw = pair
    ours = PRIMITIVES[service]()
    setattr(ours, request_kw, request)
    setattr(ours, reply_kw, reply)
    assert getattr(ours, request_kw).getvalue() == request
    assert getattr(ours, reply_kw).getvalue() == reply
    setattr(ours, reply_kw, None)
    assert getattr(ours, request_kw).getvalue() == request
    assert getattr(ours, reply_kw) is None

    # D3: in pynetdicom both names are one slot; the last write wins, None erases both
    theirs = getattr(pn_primitives, service.replace("-", "_"))()
    setattr(theirs, request_kw, io.BytesIO(request))
    setattr(theirs, reply_kw, io.BytesIO(reply))
    assert getattr(theirs, request_kw).getvalue() == reply
    setattr(theirs, reply_kw, None)
    assert getattr(theirs, request_kw) is None


def test_reused_request_primitive_does_not_leak_into_the_reply() -> None:
    # an N-ACTION-RQ arrives with Action Information; the SCP answers on the same object
    information = b"\x10\x00\x10\x00\x02\x00\x00\x00AB"  # (0010,0010) "AB"
    request = N_ACTION(
        MessageID=7,
        RequestedSOPClassUID="1.2.840.10008.1.20.1",
        RequestedSOPInstanceUID="1.2.840.10008.1.20.1.1",
        ActionTypeID=1,
        ActionInformation=information,
    )
    _, theirs = pn_decode(encode_command_set(request), information)
    assert theirs.ActionReply is theirs.ActionInformation  # D3

    theirs.MessageIDBeingRespondedTo, theirs.Status = 7, 0x0000
    spec = MESSAGES_BY_NAME["N-ACTION-RSP"]
    pn_reply = pn_message_class(spec)()
    pn_reply.primitive_to_message(theirs)
    sent = pn_pdvs(pn_reply)
    # pynetdicom sends the request's Action Information back as the Action Reply
    assert sent[1] == (1, b"\x02" + information)

    ours = decode_message(encode_command_set(request), information)
    assert ours.ActionReply is None
    ours.MessageIDBeingRespondedTo, ours.Status = 7, 0x0000
    with pytest.raises(EncodeError, match="ActionInformation is not a parameter"):
        encode_message(ours, is_request=False)  # a request payload has no place in a reply
    for keyword in ("MessageID", "RequestedSOPClassUID", "RequestedSOPInstanceUID"):
        setattr(ours, keyword, None)
    with pytest.raises(
        EncodeError,
        match=r"valid N-ACTION-RSP: ActionInformation is not a parameter of N-ACTION-RSP$",
    ):
        encode_message(ours, is_request=False)  # that was the only thing wrong
    ours.ActionInformation = None
    reply = encode_message(ours, is_request=False)
    assert reply.dataset is None and command_data_set_type(reply.command_set) == NO_DATA_SET


# -- the other divergences, one example each ----------------------------------------------------


def test_d1_priority_default_in_responses() -> None:
    raw = COMMAND_VECTORS["c_store_rsp_cmd"][1:]
    assert 0x00000700 not in tags_in(raw)
    _, theirs = pn_decode(raw)
    assert theirs.Priority == 2
    assert decode_command_set(raw).Priority is None


@PROPERTY
@given(
    primitives().filter(
        lambda p: (
            message_spec(p).dataset is not None
            and p.payload(message_spec(p).dataset.keyword) is None
        )
    )
)
def test_d2_absent_data_set_survives_a_round_trip(ours: DIMSEPrimitive) -> None:
    spec = message_spec(ours)
    command = encode_command_set(ours)
    assert command_data_set_type(command) == NO_DATA_SET
    _, theirs = pn_decode(command)
    carried = getattr(theirs, spec.dataset.keyword)
    assert isinstance(carried, io.BytesIO) and carried.getvalue() == b""

    # pynetdicom re-sending what it decoded announces a data set and sends none
    message = pn_message_class(spec)()
    message.primitive_to_message(theirs)
    assert message.command_set.CommandDataSetType == 0x0001
    assert len(pn_pdvs(message)) == 1

    decoded = decode_command_set(command)
    assert getattr(decoded, spec.dataset.keyword) is None
    assert command_data_set_type(encode_command_set(decoded, canonical=True)) == NO_DATA_SET


def test_d2_empty_payload_is_present() -> None:
    # an explicitly empty payload is "present": both write 0001H here (pynetdicom then sends no
    # data PDV at all; our EncodedMessage hands b"" to the framing layer)
    ours = C_STORE(
        MessageID=1,
        AffectedSOPClassUID="1.2.3",
        AffectedSOPInstanceUID="1.2.3.4",
        Priority=2,
        DataSet=b"",
    )
    spec = message_spec(ours)
    encoded = encode_message(ours)
    assert encoded.dataset == b""
    assert command_data_set_type(encoded.command_set) == 0x0001
    assert pn_encode(to_pynetdicom(ours), spec) == encoded.command_set


def test_d4_single_attribute_tag() -> None:
    ours = N_GET(
        MessageID=3,
        RequestedSOPClassUID="1.2.3",
        RequestedSOPInstanceUID="1.2.3.4",
        AttributeIdentifierList=(0x7FE0, 0x0010),
    )
    assert ours.AttributeIdentifierList == [Tag(0x7FE0, 0x0010)]
    _, theirs = pn_decode(encode_command_set(ours))
    assert theirs.AttributeIdentifierList == Tag(0x7FE0, 0x0010)
    assert not isinstance(theirs.AttributeIdentifierList, list)
    assert decode_command_set(encode_command_set(ours)).AttributeIdentifierList == [
        Tag(0x7FE0, 0x0010)
    ]


def test_d5_empty_move_destination() -> None:
    body = b"".join(
        [
            element(0x00000002, b"1.2.840.10008.5.1.4.1.2.1.2\x00"),
            element(0x00000100, b"\x21\x00"),  # C-MOVE-RQ
            element(0x00000110, b"\x01\x00"),
            element(0x00000600, b""),  # MoveDestination, zero length
            element(0x00000700, b"\x00\x00"),
            element(0x00000800, b"\x01\x00"),
        ]
    )
    raw = with_group_length(body)
    ours = decode_command_set(raw)
    assert ours.MoveDestination == ""
    assert [d.code for d in ours.diagnostics] == [DiagnosticCode.EMPTY_VALUE]
    assert not ours.is_valid_request  # mandatory and empty: reported, not guessed
    assert encode_command_set(ours, canonical=True, check=False) == raw
    # pynetdicom cannot turn it into a primitive at all (on an association: A-P-ABORT)
    with pytest.raises(ValueError, match="Move Destination"):
        pn_decode(raw, b"\x08\x00\x52\x00\x00\x00\x00\x00")


def test_d6_message_id_in_a_response() -> None:
    ours = C_ECHO(MessageIDBeingRespondedTo=5, MessageID=9, Status=0x0000)
    spec = message_spec(ours)
    assert spec.name == "C-ECHO-RSP"
    _, theirs = pn_decode(encode_command_set(ours))
    assert theirs.MessageID == 9  # pynetdicom reads it ...
    command = pn_encode(theirs, spec)  # ... but never writes it
    assert 0x00000110 not in tags_in(command)
    assert 0x00000110 in tags_in(encode_command_set(ours))


@pytest.mark.parametrize("cls", [N_ACTION, N_CREATE])
def test_d7_attribute_identifier_list_in_n_action_and_n_create_responses(
    cls: type[DIMSEPrimitive],
) -> None:
    ours = cls(
        MessageIDBeingRespondedTo=4, Status=0x0107, AttributeIdentifierList=[0x00100010, 0x00100020]
    )
    assert ours.is_valid_response
    _, theirs = pn_decode(encode_command_set(ours))
    assert not hasattr(theirs, "AttributeIdentifierList")
    assert theirs.Status == 0x0107
    again = decode_command_set(encode_command_set(ours))
    assert again.AttributeIdentifierList == [Tag(0x00100010), Tag(0x00100020)]


def test_d8_ae_title_leading_space() -> None:
    # PS3.5: leading and trailing spaces of an AE title are not significant
    ours = C_MOVE(
        MessageID=1,
        AffectedSOPClassUID="1.2.840.10008.5.1.4.1.2.1.2",
        Priority=0,
        MoveDestination=" STORE",
        Identifier=b"\x08\x00\x52\x00\x08\x00\x00\x00PATIENT ",
    )
    assert ours.MoveDestination == "STORE"
    spec = message_spec(ours)
    theirs = pn_primitives.C_MOVE()
    theirs.MessageID, theirs.AffectedSOPClassUID, theirs.Priority = 1, ours.AffectedSOPClassUID, 0
    theirs.MoveDestination = " STORE"
    theirs.Identifier = ours.Identifier
    pn_bytes = pn_encode(theirs, spec)
    our_bytes = encode_command_set(ours)
    assert element(0x00000600, b" STORE") in pn_bytes
    assert element(0x00000600, b"STORE ") in our_bytes
    assert len(pn_bytes) == len(our_bytes) and pn_bytes != our_bytes
    # either way, each side reads the other's title as "STORE"
    assert decode_command_set(pn_bytes).MoveDestination == "STORE"
    assert decode_command_set(pn_bytes).diagnostics == ()
    assert pn_decode(our_bytes, ours.payload("Identifier"))[1].MoveDestination == "STORE"


def test_d9_retired_element_is_kept() -> None:
    ours = C_ECHO(MessageID=1, AffectedSOPClassUID="1.2.840.10008.1.1")
    body = encode_command_set(ours)[12:] + element(0x00000850, b"\x05\x00")  # NumberOfMatches
    raw = with_group_length(body)
    decoded = decode_command_set(raw)
    assert [d.code for d in decoded.diagnostics] == [DiagnosticCode.RETIRED_ELEMENT]
    assert [e.tag for e in decoded.extra_elements] == [0x00000850]
    assert encode_command_set(decoded) == raw
    assert encode_command_set(decoded, canonical=True) == raw

    spec = message_spec(decoded)
    _, theirs = pn_decode(raw)
    assert pn_encode(theirs, spec) == encode_command_set(ours)  # pynetdicom dropped it


def test_d11_non_ascii_error_comment() -> None:
    theirs = pn_primitives.C_ECHO()
    theirs.MessageIDBeingRespondedTo, theirs.Status, theirs.ErrorComment = 1, 0xC000, "café"
    command = pn_encode(theirs, MESSAGES_BY_NAME["C-ECHO-RSP"])
    assert element(0x00000902, b"caf\xe9") in command  # written as Latin-1
    decoded = decode_command_set(command)
    assert decoded.ErrorComment == "café"
    assert [d.code for d in decoded.diagnostics] == [DiagnosticCode.NON_ASCII]
    with pytest.raises(InvalidParameter):
        C_ECHO(ErrorComment="café")


# -- 4. dimse_codec.interop.pynetdicom: the conversions users call -------------------------------


def _held(ours: DIMSEPrimitive, theirs: Any) -> DIMSEPrimitive:
    """Ours, less the values pynetdicom's primitive did not keep; each one must be a documented
    divergence: a zero-length UID or AE title (D5) or AttributeIdentifierList (D7)."""
    kept: dict[str, Any] = {}
    for keyword, value in ours.values().items():
        if value is None:
            continue
        if getattr(theirs, keyword, None) is None:
            assert value == "" or (type(ours).__name__, keyword) in {
                ("N_ACTION", "AttributeIdentifierList"),
                ("N_CREATE", "AttributeIdentifierList"),
            }, keyword
            continue
        kept[keyword] = value
    return type(ours)(**kept)


@pytest.mark.parametrize("name", MESSAGE_NAMES)
@PROPERTY
@given(data=st.data())
def test_interop_round_trip(name: str, data: st.DataObject) -> None:
    """ours -> to_pynetdicom -> from_pynetdicom gives ours back, less only D5/D7 values."""
    ours = data.draw(primitives_of(name))
    theirs = to_pynetdicom(ours, lossy=True)
    assert type(theirs).__name__ == type(ours).__name__
    back = from_pynetdicom(theirs, empty_payload="empty")
    assert back == _held(ours, theirs)
    assert message_spec(back) is message_spec(ours)


@pytest.mark.parametrize("name", MESSAGE_NAMES)
@PROPERTY
@given(data=st.data())
def test_interop_reads_what_pynetdicom_decoded(name: str, data: st.DataObject) -> None:
    """What a pynetdicom handler gets (``event.request``, decoded by pynetdicom from our bytes)
    converts to the primitive that was sent: an empty data set reads as absent (D2)."""
    ours = data.draw(primitives_of(name))
    encoded = encode_message(ours)
    _, theirs = pn_decode(encoded.command_set, encoded.dataset)
    got = from_pynetdicom(theirs)
    want = _held(ours, to_pynetdicom(ours, lossy=True))
    spec = message_spec(ours)
    carried = None if spec.dataset is None else spec.dataset.keyword
    if carried is not None and want.payload_bytes(carried) == b"":
        setattr(want, carried, None)  # D2: an empty data set reads as absent by default
    assert got == want


def test_interop_refuses_what_pynetdicom_cannot_hold() -> None:
    reply = N_ACTION(
        MessageIDBeingRespondedTo=1,
        Status=0x0107,
        AttributeIdentifierList=[0x00100010],
    )
    with pytest.raises(InvalidParameter, match="AttributeIdentifierList"):
        to_pynetdicom(reply)  # D7
    assert not hasattr(to_pynetdicom(reply, lossy=True), "AttributeIdentifierList")
    request = N_ACTION(
        MessageID=1,
        RequestedSOPClassUID="1.2.840.10008.1.20.1",
        RequestedSOPInstanceUID="1.2.840.10008.1.20.1.1",
        ActionTypeID=1,
        ActionReply=b"\x08\x00\x16\x00\x00\x00\x00\x00",
    )
    with pytest.raises(InvalidParameter, match="ActionReply"):
        to_pynetdicom(request)  # D3: a reply's payload on a request
    with pytest.raises(InvalidParameter, match="not a pynetdicom DIMSE primitive"):
        from_pynetdicom(object())
    with pytest.raises(InvalidParameter, match="not a pynetdicom DIMSE primitive"):
        from_pynetdicom(C_ECHO(MessageID=1, AffectedSOPClassUID="1.2.840.10008.1.1"))


def test_interop_empty_payload_choice() -> None:
    theirs = pn_primitives.C_STORE()
    theirs.MessageID = 7
    theirs.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    theirs.AffectedSOPInstanceUID = "1.2.3.4"
    theirs.DataSet = io.BytesIO(b"")
    assert from_pynetdicom(theirs).DataSet is None
    assert from_pynetdicom(theirs).Priority == 2  # a request's Priority is kept (D1 is responses)
    assert from_pynetdicom(theirs, empty_payload="empty").payload("DataSet") == b""
