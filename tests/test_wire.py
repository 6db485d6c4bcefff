"""The shared wire helpers: ``struct`` fast paths derived from construct, and zero-copy views."""

from __future__ import annotations

import array
import random

import pytest
from construct import (
    Bytes,
    GreedyBytes,
    Int8ub,
    Int16ub,
    Int16ul,
    Int32sb,
    Int32sl,
    Int32ub,
    Int32ul,
    Struct,
    this,
)

from dimse_codec._wire import ByteOrder, byte_view, struct_of
from dimse_codec.errors import InvalidParameter, InvalidParameterType

BIG = Struct(
    "kind" / Int8ub, "flag" / Int8ub, "code" / Bytes(2), "count" / Int16ub, "size" / Int32ub
)
LITTLE = Struct("group" / Int16ul, "vr" / Bytes(2), "delta" / Int32sl)
TWINS = {
    # each declaration in both byte orders, to parse what struct_of derives for either
    "big": {
        ">": BIG,
        "<": Struct(
            "kind" / Int8ub, "flag" / Int8ub, "code" / Bytes(2), "count" / Int16ul, "size" / Int32ul
        ),
    },
    "little": {"<": LITTLE, ">": Struct("group" / Int16ub, "vr" / Bytes(2), "delta" / Int32sb)},
}


@pytest.mark.parametrize("name", sorted(TWINS))
@pytest.mark.parametrize("order", ["<", ">"])
def test_struct_of_follows_the_declaration(name: str, order: ByteOrder) -> None:
    declared = BIG if name == "big" else LITTLE
    fast = struct_of(declared, order)
    reference = TWINS[name][order]
    assert fast.format[0] == order
    assert fast.size == declared.sizeof() == reference.sizeof()
    blob = random.Random(name + order).randbytes(fast.size)
    parsed = reference.parse(blob)
    assert list(fast.unpack(blob)) == [parsed[sub.name] for sub in reference.subcons]
    assert fast.pack(*fast.unpack(blob)) == reference.build(parsed) == blob


def test_struct_of_retargets_the_byte_order() -> None:
    little = struct_of(BIG, "<")
    values = (1, 2, b"AE", 0x0102, 0x01020304)
    assert little.pack(*values) == b"\x01\x02AE\x02\x01\x04\x03\x02\x01"
    assert struct_of(BIG, ">").pack(*values) == BIG.build(
        dict(zip(["kind", "flag", "code", "count", "size"], values, strict=True))
    )
    assert struct_of(BIG).format == struct_of(BIG, ">").format


def test_struct_of_a_single_field() -> None:
    assert struct_of(Int16ul, ">").unpack(b"\x01\x02") == (0x0102,)
    assert struct_of(Int16ul, "<").unpack(b"\x01\x02") == (0x0201,)
    assert struct_of(Int32ub).size == Int32ub.sizeof()


@pytest.mark.parametrize(
    "declaration",
    [
        Struct("rest" / GreedyBytes),
        Struct("length" / Int16ub, "value" / Bytes(this.length)),
    ],
    ids=["greedy", "length-prefixed"],
)
def test_struct_of_refuses_fields_without_a_fixed_size(declaration: Struct) -> None:
    with pytest.raises(TypeError, match="not a fixed-size field"):
        struct_of(declaration)


def test_struct_of_refuses_an_unknown_byte_order() -> None:
    with pytest.raises(ValueError, match="byte order"):
        struct_of(BIG, "!")  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [bytes, bytearray], ids=["bytes", "bytearray"])
def test_byte_view_does_not_copy(make: type[bytes] | type[bytearray]) -> None:
    data = make(b"\x00\x01\x02\x03")
    view = byte_view(data)
    assert view.obj is data
    assert (view.format, view.ndim, view.tobytes()) == ("B", 1, b"\x00\x01\x02\x03")


def test_byte_view_of_a_memoryview_shares_its_buffer() -> None:
    data = bytearray(b"abcdef")
    view = byte_view(memoryview(data)[1:4])
    assert view.obj is data
    data[1] = ord("B")
    assert view.tobytes() == b"Bcd"


def test_byte_view_casts_other_shapes_to_unsigned_bytes() -> None:
    words = memoryview(array.array("H", [0x0102, 0x0304]))
    assert words.format == "H"
    view = byte_view(words)
    assert (view.format, view.ndim, len(view)) == ("B", 1, 4)
    assert view.obj is words.obj
    square = memoryview(bytes(range(6))).cast("B", (2, 3))
    flat = byte_view(square)
    assert (flat.format, flat.ndim, flat.tobytes()) == ("B", 1, bytes(range(6)))


def test_byte_view_refuses_a_non_contiguous_buffer() -> None:
    strided = memoryview(bytes(range(8))).cast("H")[::2]
    with pytest.raises(InvalidParameter, match="dataset must be a contiguous buffer") as raised:
        byte_view(strided, "dataset")
    assert raised.value.path == "dataset"
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("value", ["text", 12, None, [1, 2]], ids=["str", "int", "None", "list"])
def test_byte_view_refuses_what_is_not_bytes(value: object) -> None:
    with pytest.raises(
        InvalidParameterType, match=f"data must be bytes.*not {type(value).__name__}"
    ) as raised:
        byte_view(value)
    assert raised.value.path == "data"
    assert isinstance(raised.value, TypeError)
