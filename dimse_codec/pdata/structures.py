"""The fixed headers of a P-DATA-TF PDU (PS3.8 9.3.5, Annex E) as the P-DATA layer reads and
writes them, derived from the construct declarations in :mod:`dimse_codec.pdu.structures`.

A P-DATA-TF that carries one PDV starts with twelve fixed bytes: the PDU header and the PDV item
header. The fragmenter packs them, and the stream decoder unpacks them, in one
:class:`struct.Struct` call; both take it from here, so it is declared once.
"""

from __future__ import annotations

from construct import Struct

from dimse_codec._wire import struct_of
from dimse_codec.pdu.structures import PDU_HEADER, PDV_HEADER

__all__ = [
    "PDU_HEADER_STRUCT",
    "PDU_PDV_HEADER",
    "PDU_PDV_HEADER_STRUCT",
    "PDV_HEADER_STRUCT",
]

PDU_PDV_HEADER = Struct(*PDU_HEADER.subcons, *PDV_HEADER.subcons)
"""A P-DATA-TF PDU header followed by its first PDV item header (PS3.8 9.3.1, 9.3.5.1): type,
reserved byte, PDU length, item length, presentation context ID and message control header."""

PDU_HEADER_STRUCT = struct_of(PDU_HEADER)
"""The 6-byte PDU header, as a :class:`struct.Struct`."""

PDV_HEADER_STRUCT = struct_of(PDV_HEADER)
"""The 6-byte PDV item header, as a :class:`struct.Struct`."""

PDU_PDV_HEADER_STRUCT = struct_of(PDU_PDV_HEADER)
"""The 12 bytes of :data:`PDU_PDV_HEADER`, packed or unpacked at once."""
