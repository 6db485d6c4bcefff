"""The maximum-PDU-length model (PS3.8 D.1, 9.3.5): what the negotiated limit counts, in one place.

The Maximum Length Received sub-item (0x51) a peer sends limits the **variable field** of every
P-DATA-TF it receives, which is the PDU-length field's value: the PDV items with their 4-byte
item length, context ID byte and message control header byte. A P-DATA-TF on the wire is
therefore at most ``max_pdu_length + 6`` bytes (its own header), and one PDV per PDU carries at
most ``max_pdu_length - 6`` bytes of a message. Fragments are kept even (PS3.5 7.1: every data
element, hence every message, has even length, and DCMTK aborts on an odd fragment), so the size
is rounded down to even. ``0`` means the peer set no limit; a PDU-length and a PDV item length
are 32-bit fields, so "no limit" is still at most ``0xFFFFFFF8`` bytes per fragment.
"""

from __future__ import annotations

from dimse_codec.errors import InvalidParameter, InvalidParameterType

__all__ = [
    "MAX_PDU_LENGTH_FIELD",
    "MIN_MAX_PDU_LENGTH",
    "PDV_OVERHEAD",
    "UNLIMITED_FRAGMENT",
    "check_max_pdu_length",
    "fragment_size",
]

PDV_OVERHEAD = 6
"""Bytes a PDV item adds to its fragment inside the PDU's variable field (length, ID, MCH)."""

MAX_PDU_LENGTH_FIELD = 0xFFFFFFFF
"""The largest value the 32-bit Maximum Length Received and PDU-length fields can hold."""

UNLIMITED_FRAGMENT = (MAX_PDU_LENGTH_FIELD - PDV_OVERHEAD) & ~1
"""The fragment size used when the peer sets no limit (0): the 32-bit length fields still bind."""

MIN_MAX_PDU_LENGTH = PDV_OVERHEAD + 2
"""The smallest usable limit: one PDV with a two-byte fragment."""


def check_max_pdu_length(max_pdu_length: object, pdvs_per_pdu: int = 1) -> int:
    """Return ``max_pdu_length`` if it can carry ``pdvs_per_pdu`` PDVs of even size, else raise.

    ``None`` is refused on purpose: a peer that sent no Maximum Length sub-item must be mapped to
    a number by the association layer (pynetdicom passes it through and fails with TypeError).
    """
    if isinstance(max_pdu_length, bool) or not isinstance(max_pdu_length, int):
        raise InvalidParameterType(
            f"max_pdu_length must be an int, not {type(max_pdu_length).__name__}",
            path="max_pdu_length",
        )
    if isinstance(pdvs_per_pdu, bool) or not isinstance(pdvs_per_pdu, int) or pdvs_per_pdu < 1:
        raise InvalidParameter(
            f"pdvs_per_pdu must be an int of at least 1, not {pdvs_per_pdu!r}",
            path="pdvs_per_pdu",
        )
    if max_pdu_length == 0:
        return 0
    smallest = MIN_MAX_PDU_LENGTH * pdvs_per_pdu
    if not smallest <= max_pdu_length <= MAX_PDU_LENGTH_FIELD:
        raise InvalidParameter(
            f"max_pdu_length {max_pdu_length} is outside {smallest}..{MAX_PDU_LENGTH_FIELD} "
            f"(or 0 for no limit): {pdvs_per_pdu} PDV(s) of 6 header bytes and an even "
            "fragment of at least 2 bytes must fit in the PDU's variable field",
            path="max_pdu_length",
        )
    return max_pdu_length


def fragment_size(max_pdu_length: int, pdvs_per_pdu: int = 1) -> int:
    """The even number of message bytes each PDV carries when ``pdvs_per_pdu`` share one PDU.

    ``fragment_size(16382) == 16376``; ``fragment_size(0)`` is :data:`UNLIMITED_FRAGMENT`.
    """
    limit = check_max_pdu_length(max_pdu_length, pdvs_per_pdu) or MAX_PDU_LENGTH_FIELD
    return (limit // pdvs_per_pdu - PDV_OVERHEAD) & ~1
