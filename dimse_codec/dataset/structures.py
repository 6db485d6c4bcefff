"""Wire layouts of a data element's header (PS3.5 7.1), in construct, with their fast paths.

These declarations are the single source of truth for the fixed part of every data element: the
data-set codec and the command-set parser (:mod:`dimse_codec.dimse.command_set`, whose
command sets are Implicit VR Little Endian, PS3.7 6.3.1) read headers with the
:class:`struct.Struct` objects derived here, never with construct's interpreter.

The declarations are little endian, as every transfer syntax but the retired Explicit VR Big
Endian (PS3.5 A.3) is; :data:`BIG_ENDIAN` holds the same layouts derived in the other byte
order by :func:`~dimse_codec._wire.struct_of`. Which VRs exist, and which of them take the long
explicit header, comes from pydicom.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from construct import Bytes, Int16ul, Int32ul, Struct
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

from dimse_codec._wire import ByteOrder, struct_of

__all__ = [
    "BIG_ENDIAN",
    "ELEMENT_HEADER",
    "EXPLICIT_LONG_HEADER",
    "EXPLICIT_SHORT_HEADER",
    "LITTLE_ENDIAN",
    "LONG_LENGTH_VRS",
    "VRS",
    "HeaderStructs",
]

ELEMENT_HEADER = Struct("group" / Int16ul, "element" / Int16ul, "length" / Int32ul)
"""Implicit VR element header (PS3.5 7.1.3): tag and a 32-bit value length. Items and
delimitation items (PS3.5 7.5) have the same layout, in every transfer syntax."""

EXPLICIT_SHORT_HEADER = Struct(
    "group" / Int16ul, "element" / Int16ul, "vr" / Bytes(2), "length" / Int16ul
)
"""Explicit VR element header with a 16-bit length (PS3.5 7.1.2, Table 7.1-2: most VRs)."""

EXPLICIT_LONG_HEADER = Struct(
    "group" / Int16ul,
    "element" / Int16ul,
    "vr" / Bytes(2),
    "reserved" / Int16ul,
    "length" / Int32ul,
)
"""Explicit VR element header with two reserved bytes and a 32-bit length (PS3.5 7.1.2,
Table 7.1-1: the VRs of :data:`LONG_LENGTH_VRS`)."""

VRS: frozenset[bytes] = frozenset(str(vr.value).encode("ascii") for vr in VR if len(vr.value) == 2)
"""Every two-letter VR (PS3.5 6.2) as it appears in an explicit header."""

LONG_LENGTH_VRS: frozenset[bytes] = frozenset(
    str(vr.value).encode("ascii") for vr in EXPLICIT_VR_LENGTH_32
)
"""The VRs whose explicit header is :data:`EXPLICIT_LONG_HEADER` (PS3.5 7.1.2)."""


class HeaderStructs(NamedTuple):
    """The three element headers derived in one byte order."""

    implicit: struct.Struct
    """:data:`ELEMENT_HEADER`: ``(group, element, length)``, also for items."""
    explicit_short: struct.Struct
    """:data:`EXPLICIT_SHORT_HEADER`: ``(group, element, vr, length)``."""
    explicit_long: struct.Struct
    """:data:`EXPLICIT_LONG_HEADER`: ``(group, element, vr, reserved, length)``."""


def _derive(byte_order: ByteOrder) -> HeaderStructs:
    """Derive the three header layouts in ``byte_order`` from the declarations."""
    return HeaderStructs(
        struct_of(ELEMENT_HEADER, byte_order),
        struct_of(EXPLICIT_SHORT_HEADER, byte_order),
        struct_of(EXPLICIT_LONG_HEADER, byte_order),
    )


LITTLE_ENDIAN = _derive("<")
"""The element headers of the little-endian transfer syntaxes (PS3.5 A.1, A.2, A.4, A.5)."""

BIG_ENDIAN = _derive(">")
"""The element headers of Explicit VR Big Endian (PS3.5 A.3, retired)."""
