"""The data element headers (PS3.5 7.1) declared once, derived in both byte orders."""

from __future__ import annotations

import random

import pytest
from construct import Bytes, Int16ub, Int32ub, Struct

from dimse_codec.dataset import structures
from dimse_codec.dimse import command_set

BIG_ENDIAN_TWINS = {
    "ELEMENT_HEADER": Struct("group" / Int16ub, "element" / Int16ub, "length" / Int32ub),
    "EXPLICIT_SHORT_HEADER": Struct(
        "group" / Int16ub, "element" / Int16ub, "vr" / Bytes(2), "length" / Int16ub
    ),
    "EXPLICIT_LONG_HEADER": Struct(
        "group" / Int16ub,
        "element" / Int16ub,
        "vr" / Bytes(2),
        "reserved" / Int16ub,
        "length" / Int32ub,
    ),
}
"""The same headers written big endian by hand (PS3.5 A.3), to check the derived structs."""

FIELDS = ["implicit", "explicit_short", "explicit_long"]


@pytest.mark.parametrize(("field", "name"), list(zip(FIELDS, BIG_ENDIAN_TWINS, strict=True)))
def test_derived_headers_parse_as_declared(field: str, name: str) -> None:
    declaration = getattr(structures, name)
    little = getattr(structures.LITTLE_ENDIAN, field)
    big = getattr(structures.BIG_ENDIAN, field)
    twin = BIG_ENDIAN_TWINS[name]
    assert little.size == big.size == declaration.sizeof() == twin.sizeof()
    for seed in range(20):
        blob = random.Random(f"{name}{seed}").randbytes(little.size)
        parsed = declaration.parse(blob)
        assert list(little.unpack(blob)) == [parsed[sub.name] for sub in declaration.subcons]
        parsed = twin.parse(blob)
        assert list(big.unpack(blob)) == [parsed[sub.name] for sub in twin.subcons]


def test_vr_sets_are_those_of_ps3_5() -> None:
    # PS3.5 Table 6.2-1 and 7.1-1 (the VRs with a 32-bit explicit length)
    long_length = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
    short_length = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN"}
    short_length |= {"SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"}
    assert {vr.encode() for vr in long_length} == structures.LONG_LENGTH_VRS
    assert {vr.encode() for vr in long_length | short_length} == structures.VRS


def test_the_command_set_uses_the_data_set_headers() -> None:
    for name in BIG_ENDIAN_TWINS:
        assert getattr(command_set, name) is getattr(structures, name)
        assert name in command_set.__all__
    fields = [sub.name for sub in command_set.ELEMENT.subcons]
    assert fields == ["group", "element", "length", "value"]
    assert command_set.build_element(0x00000100, b"\x30\x00") == (
        b"\x00\x00\x00\x01\x02\x00\x00\x00\x30\x00"
    )
    assert command_set.US.unpack(b"\x01\x00") == (1,)
    assert command_set.UL.unpack(b"\x01\x00\x00\x00") == (1,)
    assert command_set.AT.unpack(b"\x08\x00\x18\x00") == (0x0008, 0x0018)
