"""Helpers every wire layer shares: views of the caller's bytes, and ``struct`` fast paths
derived from construct declarations.

Each layer declares its fixed layouts in construct (the reference grammar) and decodes its hot
path with a :class:`struct.Struct` derived here from that declaration, so the two cannot drift.
"""

from __future__ import annotations

import struct
from typing import Literal

from construct import Bytes, Construct, FormatField

from dimse_codec.errors import InvalidParameter, InvalidParameterType

__all__ = ["ByteOrder", "byte_view", "struct_of"]

ByteOrder = Literal["<", ">"]
"""A :mod:`struct` byte-order prefix: ``"<"`` little endian, ``">"`` big endian (network order)."""


def struct_of(declaration: Construct, byte_order: ByteOrder = ">") -> struct.Struct:
    """Derive a :class:`struct.Struct` in ``byte_order`` from a construct of fixed-size integer
    and byte-string fields, or fail loudly when a field has no fixed size."""
    if byte_order not in ("<", ">"):
        raise ValueError(f"byte order must be '<' or '>', not {byte_order!r}")
    if isinstance(declaration, FormatField):
        return struct.Struct(byte_order + declaration.fmtstr[1:])
    fmt: str = byte_order
    for renamed in declaration.subcons:
        field = renamed.subcon
        if isinstance(field, FormatField) and field.fmtstr[0] in "<>":
            fmt += field.fmtstr[1:]
        elif isinstance(field, Bytes) and isinstance(field.length, int):
            fmt += f"{field.length}s"
        else:
            raise TypeError(f"{renamed.name!r} is not a fixed-size field")
    return struct.Struct(fmt)


def byte_view(data: object, what: str = "data") -> memoryview:
    """A flat unsigned-byte view of ``data`` (bytes, bytearray, memoryview or any other buffer),
    without copying it, so a decoder can slice the caller's bytes for free.

    Raises :class:`InvalidParameterType` (naming ``what``) for an object that exposes no buffer,
    such as ``str``, and :class:`InvalidParameter` for a non-contiguous buffer, which no view of
    unsigned bytes can cover.
    """
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError as exc:
        raise InvalidParameterType(
            f"{what} must be bytes, bytearray or memoryview, not {type(data).__name__}",
            path=what,
        ) from exc
    if view.format != "B" or view.ndim != 1:
        if not view.c_contiguous:
            raise InvalidParameter(f"{what} must be a contiguous buffer", path=what)
        view = view.cast("B")
    return view
