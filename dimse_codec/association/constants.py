"""Identifiers we announce when negotiating, and the one place the max-PDU arithmetic lives.

The max-PDU model (PS3.8 9.3.1, 9.3.5 and Annex D.1):

* The Maximum Length sub-item (0x51) carries the largest **PDU-length** a receiver accepts for a
  P-DATA-TF: the length of the variable field, i.e. the PDU *without* its 6-byte header. A PDU on
  the wire is therefore at most ``max_pdu_length + 6`` bytes.
* ``0`` means no limit, in the sub-item and everywhere in this package.
* Each side announces what **it receives**: ``Association.our_max_pdu_length`` is what we put in
  our sub-item (what the peer may send us) and ``Association.peer_max_pdu_length`` is the peer's
  (what we may send). The P-DATA fragmentation layer takes ``peer_max_pdu_length`` as its limit.
* A P-DATA-TF carrying one PDV spends 6 bytes of the PDU-length on the PDV item header (4-byte
  item length, context ID, message control header), so its fragment holds at most
  ``max_pdu_length - 6`` bytes of command or data set.
"""

from __future__ import annotations

from dimse_codec.pdu import PDU_HEADER_SIZE

__all__ = [
    "APPLICATION_CONTEXT_NAME",
    "DEFAULT_MAX_PDU_LENGTH",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAXIMUM_PRESENTATION_CONTEXTS",
    "MAX_PDU_LENGTH_LIMIT",
    "MINIMUM_MAX_PDU_LENGTH",
    "PDU_HEADER_SIZE",
    "PDV_HEADER_SIZE",
    "max_fragment_length",
    "max_wire_pdu_size",
]

APPLICATION_CONTEXT_NAME = "1.2.840.10008.3.1.1.1"
"""The DICOM Application Context Name (PS3.7 A.2.1), the only one PS3.7 defines."""

IMPLEMENTATION_CLASS_UID = "2.25.331889449783737508893263767948609155835"
"""dimse-codec's Implementation Class UID: ``2.25.`` and the decimal value of one fixed UUID4
(f9af953c-a29f-4f9c-8320-868c464f72fb), so it needs no registered root (PS3.5 B.2)."""

_VERSION = "0.1.0"
"""The package version, written here (not imported) so this layer never imports the package
front; ``tests/test_association.py`` checks that it equals ``dimse_codec.__version__``."""

IMPLEMENTATION_VERSION_NAME = f"DIMSECODEC_{_VERSION}"
"""dimse-codec's Implementation Version Name (1-16 characters, PS3.7 D.3.3.2.3)."""

DEFAULT_MAX_PDU_LENGTH = 16382
"""The Maximum Length Received we announce unless told otherwise (DCMTK's and pynetdicom's)."""

MAX_PDU_LENGTH_LIMIT = 0xFFFFFFFF
"""The largest value the four-byte Maximum Length Received field can hold."""

PDV_HEADER_SIZE = 6
"""Bytes of a PDV item before its fragment: item length (4), context ID (1), MCH (1)."""

MINIMUM_MAX_PDU_LENGTH = PDV_HEADER_SIZE + 1
"""The smallest non-zero max PDU length that can carry a byte of a message (one PDV header + 1)."""

MAXIMUM_PRESENTATION_CONTEXTS = 128
"""At most 128 presentation contexts, since their IDs are the odd numbers 1-255 (PS3.8 9.3.2.2)."""


def max_wire_pdu_size(max_pdu_length: int) -> int | None:
    """Return the largest whole PDU (header included) a max PDU length allows, or ``None`` if 0."""
    return None if max_pdu_length == 0 else max_pdu_length + PDU_HEADER_SIZE


def max_fragment_length(max_pdu_length: int) -> int | None:
    """Return the largest fragment one PDV in one P-DATA-TF can carry, or ``None`` for no limit."""
    if max_pdu_length == 0:
        return None
    return max(max_pdu_length - PDV_HEADER_SIZE, 0)
