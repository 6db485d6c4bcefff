"""Identifiers we announce when negotiating, and the Maximum Length we announce by default.

What a max PDU length counts (the P-DATA-TF variable field, 0 for no limit) and the arithmetic
on it live in :mod:`dimse_codec.pdata.limits`, described in ``docs/pdata.md``; negotiation uses
them from there.
"""

from __future__ import annotations

__all__ = [
    "APPLICATION_CONTEXT_NAME",
    "DEFAULT_MAX_PDU_LENGTH",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAXIMUM_PRESENTATION_CONTEXTS",
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

MAXIMUM_PRESENTATION_CONTEXTS = 128
"""At most 128 presentation contexts, since their IDs are the odd numbers 1-255 (PS3.8 9.3.2.2)."""
