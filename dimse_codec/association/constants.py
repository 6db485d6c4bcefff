"""Identifiers we announce when negotiating, and the Maximum Length we announce by default.

The Application Context Name comes from :mod:`dimse_codec.tables.uids` (re-exported here), the
version in the Implementation Version Name from :mod:`dimse_codec._version`.

What a max PDU length counts (the P-DATA-TF variable field, 0 for no limit) and the arithmetic
on it live in :mod:`dimse_codec.pdata.limits`, described in ``docs/pdata.md``; negotiation uses
them from there.
"""

from __future__ import annotations

from dimse_codec._version import VERSION
from dimse_codec.tables.uids import APPLICATION_CONTEXT_NAME

__all__ = [
    "APPLICATION_CONTEXT_NAME",
    "DEFAULT_MAX_PDU_LENGTH",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAXIMUM_PRESENTATION_CONTEXTS",
]

IMPLEMENTATION_CLASS_UID = "2.25.331889449783737508893263767948609155835"
"""dimse-codec's Implementation Class UID: ``2.25.`` and the decimal value of one fixed UUID4
(f9af953c-a29f-4f9c-8320-868c464f72fb), so it needs no registered root (PS3.5 B.2)."""

IMPLEMENTATION_VERSION_NAME = f"DIMSECODEC_{VERSION}"[:16]
"""dimse-codec's Implementation Version Name (1-16 characters, PS3.7 D.3.3.2.3): the package
version (:data:`dimse_codec._version.VERSION`), cut to 16 characters should it ever be longer."""

DEFAULT_MAX_PDU_LENGTH = 16382
"""The Maximum Length Received we announce unless told otherwise (DCMTK's and pynetdicom's)."""

MAXIMUM_PRESENTATION_CONTEXTS = 128
"""At most 128 presentation contexts, since their IDs are the odd numbers 1-255 (PS3.8 9.3.2.2)."""
