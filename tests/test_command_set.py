"""The command-set codec: round trips, exactness, the construct oracle, and every diagnostic."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dimse_codec import (
    C_CANCEL,
    C_ECHO,
    C_FIND,
    C_MOVE,
    C_STORE,
    LENIENT,
    N_ACTION,
    N_GET,
    STRICT,
    DecodeError,
    DiagnosticCode,
    DimseCodecError,
    EncodeError,
    Policy,
    PolicyViolation,
    TruncatedError,
    UnknownMessage,
    decode_command_set,
    decode_message,
    encode_command_set,
    encode_message,
    message_spec,
)
from dimse_codec.dimse.command_set import COMMAND_SET, parse_elements
from dimse_codec.strategies import command_sets, primitives
from dimse_codec.tables.messages import MESSAGES

VERIFICATION = "1.2.840.10008.1.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def element(tag: int, value: bytes) -> bytes:
    """One Implicit VR Little Endian element, built by hand from PS3.5 7.1.3."""
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def us(value: int) -> bytes:
    return struct.pack("<H", value)


def command(*elements: bytes, group_length: int | None = None) -> bytes:
    """A command set with (0000,0000) computed unless ``group_length`` forces a value."""
    body = b"".join(elements)
    length = len(body) if group_length is None else group_length
    return element(0x00000000, struct.pack("<I", length)) + body


def echo_rq(*extra: bytes, message_id: bytes = us(7), data_set_type: int = 0x0101) -> bytes:
    parts = [
        element(0x00000002, b"1.2.840.10008.1.1\x00"),
        element(0x00000100, us(0x0030)),
        element(0x00000110, message_id),
        element(0x00000800, us(data_set_type)),
        *extra,
    ]
    parts.sort(key=lambda e: struct.unpack_from("<HH", e))  # (group, element): ascending tags
    return command(*parts)


def codes(primitive: object) -> list[str]:
    return [d.code.value for d in primitive.diagnostics]  # type: ignore[attr-defined]


# -- known answers ---------------------------------------------------------------------------


def test_c_echo_rq_known_bytes() -> None:
    expected = command(
        element(0x00000002, b"1.2.840.10008.1.1\x00"),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(7)),
        element(0x00000800, us(0x0101)),
    )
    assert encode_command_set(C_ECHO(MessageID=7, AffectedSOPClassUID=VERIFICATION)) == expected
    decoded = decode_command_set(expected)
    assert isinstance(decoded, C_ECHO)
    assert decoded.MessageID == 7
    assert decoded.AffectedSOPClassUID == VERIFICATION
    assert decoded.message_spec is not None and decoded.message_spec.name == "C-ECHO-RQ"
    assert decoded.diagnostics == ()


def test_text_and_ae_padding_and_at_encoding() -> None:
    rsp = C_MOVE(
        MessageIDBeingRespondedTo=3,
        Status=0xC000,
        ErrorComment="odd",
        OffendingElement=[0x00100010, (0x0008, 0x0052)],
    )
    data = encode_command_set(rsp)
    # the LO value is padded with one space to even length, AT values are group then element
    assert element(0x00000902, b"odd ") in data
    assert element(0x00000901, bytes.fromhex("1000 1000 0800 5200".replace(" ", ""))) in data
    rq = C_MOVE(
        MessageID=1,
        AffectedSOPClassUID=CT_STORAGE,
        Priority=0,
        MoveDestination="ABC",
        Identifier=b"\x08\x00\x52\x00\x00\x00\x00\x00",
    )
    assert element(0x00000600, b"ABC ") in encode_command_set(rq)


# -- round trips ------------------------------------------------------------------------------


@given(primitives())
def test_message_round_trip_all_types(primitive: object) -> None:
    encoded = encode_message(primitive)  # type: ignore[arg-type]
    decoded = decode_message(encoded.command_set, encoded.dataset)
    assert decoded == primitive
    assert decoded.diagnostics == ()
    assert decoded.message_spec is encoded.spec


@pytest.mark.parametrize("spec", MESSAGES, ids=lambda s: s.name)
@settings(max_examples=40)
@given(data=st.data())
def test_each_message_type_round_trips_both_ways(spec: object, data: st.DataObject) -> None:
    primitive = data.draw(
        primitives(spec.service.name, is_request=spec.is_request)  # type: ignore[attr-defined]
    )
    assert message_spec(primitive) is spec
    verdict = primitive.is_valid_request if spec.is_request else primitive.is_valid_response  # type: ignore[attr-defined]
    assert verdict, verdict.reasons
    raw = encode_command_set(primitive)
    decoded = decode_command_set(raw, policy=STRICT)
    # encode(decode(b)) == b, both from the kept source and from the typed values
    assert encode_command_set(decoded) == raw
    assert encode_command_set(decoded, canonical=True) == raw
    assert decoded.dataset_follows() == primitive.dataset_follows()


@given(command_sets())
def test_construct_declaration_agrees_with_fast_path(raw: bytes) -> None:
    fast, explicit = parse_elements(raw, LENIENT, [])
    assert not explicit
    declared = COMMAND_SET.parse(raw)
    assert [(e.group << 16 | e.element, e.value) for e in declared] == [
        (tag, value) for tag, _, value in fast
    ]
    assert COMMAND_SET.build(declared) == raw


def test_non_canonical_valid_bytes_are_preserved_exactly() -> None:
    # an AE padded to 16 bytes is valid (trailing spaces are insignificant) but not minimal
    raw = command(
        element(0x00000002, CT_STORAGE.encode() + b"\x00"),
        element(0x00000100, us(0x0021)),
        element(0x00000110, us(9)),
        element(0x00000600, b"STORESCP        "),
        element(0x00000700, us(2)),
        element(0x00000800, us(0x0001)),
    )
    decoded = decode_command_set(raw, policy=STRICT)
    assert isinstance(decoded, C_MOVE)
    assert decoded.MoveDestination == "STORESCP"
    assert encode_command_set(decoded) == raw
    canonical = encode_command_set(decoded, canonical=True)
    assert canonical != raw
    assert decode_command_set(canonical) == decoded


def test_changing_a_parameter_re_encodes_from_values() -> None:
    decoded = decode_command_set(
        encode_command_set(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION))
    )
    assert decoded.source is not None
    decoded.MessageID = 2
    assert decoded.source is None
    assert decode_command_set(encode_command_set(decoded)).MessageID == 2


# -- CommandDataSetType and direction ---------------------------------------------------------


def test_data_set_type_is_derived_from_the_payload() -> None:
    rq = C_FIND(MessageID=1, AffectedSOPClassUID=CT_STORAGE, Priority=2)
    rq.Identifier = b"\x08\x00\x52\x00\x00\x00\x00\x00"
    assert decode_command_set(encode_command_set(rq)).command_data_set_type == 0x0001
    rsp = C_FIND(MessageIDBeingRespondedTo=1, Status=0x0000)
    assert decode_command_set(encode_command_set(rsp)).command_data_set_type == 0x0101
    # an empty payload is still a payload: 0x0001, never the BytesIO-truthiness trap
    rq.Identifier = b""
    assert decode_command_set(encode_command_set(rq)).command_data_set_type == 0x0001


@pytest.mark.parametrize("value", [0x0000, 0x0001, 0x0102, 0xFEFE])
def test_any_data_set_type_but_0101_announces_a_data_set(value: int) -> None:
    raw = command(
        element(0x00000002, CT_STORAGE.encode() + b"\x00"),
        element(0x00000100, us(0x0020)),
        element(0x00000110, us(1)),
        element(0x00000700, us(2)),
        element(0x00000800, us(value)),
    )
    decoded = decode_command_set(raw, policy=STRICT)
    assert decoded.dataset_follows()
    assert decoded.command_data_set_type == value
    assert encode_command_set(decoded) == raw
    assert encode_command_set(decoded, canonical=True) == raw
    decoded.Identifier = None
    assert (
        decode_command_set(encode_command_set(decoded, check=False)).command_data_set_type == 0x0101
    )


def test_direction_rules() -> None:
    primitive = N_ACTION(
        MessageID=1, RequestedSOPClassUID="1.2", RequestedSOPInstanceUID="1.3", ActionTypeID=1
    )
    assert message_spec(primitive).name == "N-ACTION-RQ"
    primitive.MessageIDBeingRespondedTo = 1
    assert message_spec(primitive).name == "N-ACTION-RSP"
    assert message_spec(primitive, is_request=True).name == "N-ACTION-RQ"
    assert message_spec(C_CANCEL(MessageIDBeingRespondedTo=4)).name == "C-CANCEL-RQ"
    with pytest.raises(EncodeError):
        message_spec(C_CANCEL(MessageIDBeingRespondedTo=4), is_request=False)


def test_invalid_primitive_is_refused_unless_asked() -> None:
    with pytest.raises(EncodeError, match="Status is mandatory"):
        encode_command_set(C_ECHO(MessageIDBeingRespondedTo=1))
    raw = encode_command_set(C_ECHO(MessageIDBeingRespondedTo=1), check=False)
    assert "MISSING_MANDATORY" in codes(decode_command_set(raw))


# -- diagnostics, lenient and strict ------------------------------------------------------------


CASES = {
    "GROUP_LENGTH_MISMATCH": command(
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
        group_length=99,
    ),
    "GROUP_LENGTH_MISSING": element(0x00000100, us(0x8030))
    + element(0x00000120, us(1))
    + element(0x00000800, us(0x0101))
    + element(0x00000900, us(0)),
    "VM_GT_1": echo_rq(message_id=us(7) + us(8)),
    "DUPLICATE_TAG": command(
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000110, us(2)),
        element(0x00000800, us(0x0101)),
    ),
    "OUT_OF_ORDER": command(
        element(0x00000110, us(1)),
        element(0x00000100, us(0x0030)),
        element(0x00000800, us(0x0101)),
    ),
    "MISSING_MANDATORY": command(element(0x00000100, us(0x0030)), element(0x00000800, us(0x0101))),
    "UNKNOWN_COMMAND_FIELD": command(
        element(0x00000100, us(0x0FFE)), element(0x00000800, us(0x0101))
    ),
    "MISSING_COMMAND_FIELD": command(element(0x00000110, us(1)), element(0x00000800, us(0x0101))),
    "MISSING_DATA_SET_TYPE": command(
        element(0x00000002, b"1.2.840.10008.1.1\x00"),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
    ),
    "NON_GROUP0_ELEMENT": echo_rq() + element(0x00080052, b"PATIENT "),
    "ODD_VALUE_LENGTH": echo_rq(element(0x00000902, b"abc")),
    "BAD_VALUE_LENGTH": echo_rq(message_id=b"\x01\x02\x03"),
    "AE_BACKSLASH": command(
        element(0x00000002, CT_STORAGE.encode() + b"\x00"),
        element(0x00000100, us(0x0021)),
        element(0x00000110, us(1)),
        element(0x00000600, b"MOVE\\SCP"),
        element(0x00000700, us(2)),
        element(0x00000800, us(1)),
    ),
    "AE_NUL_PADDED": command(
        element(0x00000002, CT_STORAGE.encode() + b"\x00"),
        element(0x00000100, us(0x0021)),
        element(0x00000110, us(1)),
        element(0x00000600, b"ABC\x00"),
        element(0x00000700, us(2)),
        element(0x00000800, us(1)),
    ),
    "UID_NUL_PADDED": command(
        element(0x00000002, b"1.2.3\x00\x00\x00"),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
    ),
    "UID_SPACE_PADDED": command(
        element(0x00000002, b"1.2.3 "),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
    ),
    "UID_INVALID": command(
        element(0x00000002, b"01.02.3\x00"),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
    ),
    "UID_TOO_LONG": command(
        element(0x00000002, b"1." + b"2" * 64),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
    ),
    "NON_ASCII": echo_rq(element(0x00000902, "café".encode("latin-1"))),
    "RETIRED_ELEMENT": echo_rq(element(0x00000850, us(3))),
    "UNKNOWN_ELEMENT": echo_rq(element(0x00001234, us(3))),
    "ELEMENT_NOT_ALLOWED": echo_rq(element(0x00000700, us(2))),
    "EMPTY_VALUE": echo_rq(message_id=b""),
    "VALUE_OUT_OF_RANGE": command(
        element(0x00000002, CT_STORAGE.encode() + b"\x00"),
        element(0x00000100, us(0x0020)),
        element(0x00000110, us(1)),
        element(0x00000700, us(5)),
        element(0x00000800, us(1)),
    ),
    "VALUE_TOO_LONG": echo_rq(element(0x00000902, b"x" * 66)),
    "DATA_SET_UNEXPECTED": echo_rq(data_set_type=0x0001),
    "DATA_SET_MISSING": command(
        element(0x00000002, CT_STORAGE.encode() + b"\x00"),
        element(0x00000100, us(0x0001)),
        element(0x00000110, us(1)),
        element(0x00000700, us(2)),
        element(0x00000800, us(0x0101)),
        element(0x00001000, b"1.2.3.4\x00"),
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_diagnostic_is_reported_leniently_and_raised_strictly(code: str) -> None:
    raw = CASES[code]
    decoded = decode_command_set(raw)
    assert code in codes(decoded), codes(decoded)
    found = next(d for d in decoded.diagnostics if d.code.value == code)
    assert found.path  # every diagnostic names where it is
    # lenient keeps everything: the unchanged primitive re-encodes to the same bytes
    assert encode_command_set(decoded) == raw
    with pytest.raises(PolicyViolation) as caught:
        decode_command_set(raw, policy=STRICT)
    assert isinstance(caught.value, DimseCodecError)
    assert caught.value.diagnostic.code.value in codes(decoded)
    # a policy can allow exactly that code and still be strict about the rest
    allowing = Policy(strict=True, allow=frozenset(DiagnosticCode(c) for c in codes(decoded)))
    decode_command_set(raw, policy=allowing)


def test_lenient_can_raise_on_chosen_codes() -> None:
    policy = Policy(raise_on=frozenset({DiagnosticCode.DUPLICATE_TAG}))
    with pytest.raises(PolicyViolation, match="already present"):
        decode_command_set(CASES["DUPLICATE_TAG"], policy=policy)
    decode_command_set(CASES["VM_GT_1"], policy=policy)


def test_kept_elements_and_values() -> None:
    duplicate = decode_command_set(CASES["DUPLICATE_TAG"])
    assert duplicate.MessageID == 1  # the first wins, the second is kept
    assert [e.tag for e in duplicate.extra_elements] == [0x00000110]
    vm = decode_command_set(CASES["VM_GT_1"])
    assert vm.MessageID == 7
    backslash = decode_command_set(CASES["AE_BACKSLASH"])
    assert backslash.MoveDestination == "MOVE\\SCP"  # never silently truncated
    retired = decode_command_set(CASES["RETIRED_ELEMENT"])
    assert [(e.tag, e.value) for e in retired.extra_elements] == [(0x00000850, us(3))]
    not_allowed = decode_command_set(CASES["ELEMENT_NOT_ALLOWED"])
    assert [e.tag for e in not_allowed.extra_elements] == [0x00000700]
    # extra elements survive a re-encode after a change, in tag order
    not_allowed.MessageID = 8
    again = decode_command_set(encode_command_set(not_allowed))
    assert [(e.tag, e.value) for e in again.extra_elements] == [(0x00000700, us(2))]


def test_present_and_empty_is_not_absent() -> None:
    empty = decode_command_set(CASES["EMPTY_VALUE"])
    assert empty.MessageID is None
    assert empty.empty_keywords == frozenset({"MessageID"})
    assert not empty.is_valid_request
    assert "MessageID is mandatory (M) in C-ECHO-RQ and is empty" in empty.is_valid_request.reasons
    absent = decode_command_set(CASES["MISSING_MANDATORY"])
    assert absent.empty_keywords == frozenset()
    assert (
        "MessageID is mandatory (M) in C-ECHO-RQ and is missing" in absent.is_valid_request.reasons
    )
    # canonical re-encoding keeps the zero-length element
    empty.__dict__["_source"] = None
    assert element(0x00000110, b"") in encode_command_set(empty, check=False)
    uid = decode_command_set(
        command(
            element(0x00000002, b""),
            element(0x00000100, us(0x0030)),
            element(0x00000110, us(1)),
            element(0x00000800, us(0x0101)),
        )
    )
    assert uid.AffectedSOPClassUID == ""
    assert uid.AffectedSOPClassUID is not None


def test_unknown_command_field_keeps_everything() -> None:
    raw = CASES["UNKNOWN_COMMAND_FIELD"]
    decoded = decode_command_set(raw)
    assert isinstance(decoded, UnknownMessage)
    assert decoded.command_field == 0x0FFE
    assert [e.tag for e in decoded.extra_elements] == [0x00000000, 0x00000100, 0x00000800]
    assert encode_command_set(decoded) == raw
    assert encode_command_set(decoded, canonical=True) == raw
    assert not decoded.is_valid_request


def test_explicit_vr_command_set_is_decoded_with_a_diagnostic() -> None:
    def explicit(tag: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value

    body = (
        explicit(0x00000002, b"UI", b"1.2.840.10008.1.1\x00")
        + explicit(0x00000100, b"US", us(0x0030))
        + explicit(0x00000110, b"US", us(5))
        + explicit(0x00000800, b"US", us(0x0101))
    )
    raw = explicit(0x00000000, b"UL", struct.pack("<I", len(body))) + body
    decoded = decode_command_set(raw)
    assert isinstance(decoded, C_ECHO)
    assert decoded.MessageID == 5
    assert codes(decoded) == ["EXPLICIT_VR_COMMAND"]
    assert encode_command_set(decoded) == raw
    implicit = encode_command_set(decoded, canonical=True)
    assert decode_command_set(implicit, policy=STRICT) == decoded
    with pytest.raises(PolicyViolation, match="Explicit VR"):
        decode_command_set(raw, policy=STRICT)


def test_big_endian_and_undefined_length_are_clear_errors() -> None:
    big = b"\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x08"
    with pytest.raises(DecodeError, match="big endian") as caught:
        decode_command_set(big + b"\x00" * 8)
    assert caught.value.offset == 0
    undefined = element(0x00000000, struct.pack("<I", 0))[:4] + b"\xff\xff\xff\xff"
    with pytest.raises(DecodeError, match="undefined length"):
        decode_command_set(undefined)


def test_errors_carry_offset_and_path() -> None:
    raw = echo_rq()
    with pytest.raises(TruncatedError) as caught:
        decode_command_set(raw[:-1])
    assert caught.value.offset == len(raw) - 10
    assert "(0000,0800) CommandDataSetType" in caught.value.path
    assert "@" in str(caught.value)


# -- bad input raises only the library's errors ------------------------------------------------


@given(command_sets())
def test_every_truncation_raises_only_library_errors(raw: bytes) -> None:
    for cut in range(len(raw)):
        prefix = raw[:cut]
        with contextlib.suppress(DimseCodecError):
            decode_command_set(prefix)
        # strict: every proper prefix is wrong somewhere (length, group length, missing fields)
        with pytest.raises(DimseCodecError):
            decode_command_set(prefix, policy=STRICT)


@given(
    command_sets(),
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.integers(0, 255),
            st.sampled_from(["flip", "insert", "delete"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_random_mutations_raise_only_library_errors(
    raw: bytes, edits: list[tuple[int, int, str]]
) -> None:
    data = bytearray(raw)
    for position, byte, kind in edits:
        index = position % (len(data) + 1)
        if kind == "insert":
            data.insert(index, byte)
        elif data and kind == "delete":
            del data[index % len(data)]
        elif data:
            data[index % len(data)] ^= byte or 1
    for policy in (LENIENT, STRICT):
        try:
            decoded = decode_command_set(bytes(data), policy=policy)
        except DimseCodecError:
            continue
        # whatever decodes re-encodes to the same bytes, and validity never crashes
        assert encode_command_set(decoded) == bytes(data)
        bool(decoded.is_valid_request)
        bool(decoded.is_valid_response)


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_library_errors(data: bytes) -> None:
    with contextlib.suppress(DimseCodecError):
        decode_command_set(data)


def test_declared_length_never_allocates() -> None:
    # a 4 GiB declared length on a 12-byte input fails before any slice is made
    raw = element(0x00000000, b"\x00\x00\x00\x00")[:4] + b"\xfe\xff\xff\xff" + b"abcd"
    with pytest.raises(TruncatedError, match="runs past the end"):
        decode_command_set(raw)


def test_store_rq_with_all_optional_fields() -> None:
    rq = C_STORE(
        MessageID=7,
        AffectedSOPClassUID="1.1.1",
        AffectedSOPInstanceUID="1.2.1",
        Priority=2,
        MoveOriginatorApplicationEntityTitle="UNITTEST",
        MoveOriginatorMessageID=3,
        DataSet=b"\x10\x00\x10\x00\x00\x00\x00\x00",
    )
    decoded = decode_message(*encode_message(rq)[:2])
    assert decoded == rq
    assert (
        decoded.DataSet is not None
        and decoded.DataSet.getvalue() == b"\x10\x00\x10\x00\x00\x00\x00\x00"
    )


def test_n_get_attribute_identifier_list_edges() -> None:
    rq = N_GET(
        MessageID=7,
        RequestedSOPClassUID=CT_STORAGE,
        RequestedSOPInstanceUID="1.2.3",
        AttributeIdentifierList=[0x7FE00010, 0x00000000, 0xFFFFFFFF],
    )
    decoded = decode_command_set(encode_command_set(rq), policy=STRICT)
    assert decoded.AttributeIdentifierList == [0x7FE00010, 0x00000000, 0xFFFFFFFF]


def test_duplicate_protocol_element_is_reported_and_kept() -> None:
    raw = command(
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
        element(0x00000800, us(0x0001)),
    )
    decoded = decode_command_set(raw)
    assert "DUPLICATE_TAG" in codes(decoded)
    assert decoded.command_data_set_type == 0x0101  # the first wins
    assert [(e.tag, e.value) for e in decoded.extra_elements] == [(0x00000800, us(0x0001))]
    assert encode_command_set(decoded) == raw


def test_odd_length_uid_is_reported_even_when_canonical() -> None:
    """A UID of digits and dots with an odd length (no NUL pad) is still an odd value length:
    the fast path for canonical UIDs used to skip the check (found by the malformed strategies)."""
    data = command(
        element(0x00000002, b"1.2.3"),
        element(0x00000100, us(0x0030)),
        element(0x00000110, us(1)),
        element(0x00000800, us(0x0101)),
    )
    primitive = decode_command_set(data)
    assert [d.code for d in primitive.diagnostics] == [DiagnosticCode.ODD_VALUE_LENGTH]
    assert primitive.AffectedSOPClassUID == "1.2.3"
    with pytest.raises(PolicyViolation):
        decode_command_set(data, policy=STRICT)
