"""Well-known UIDs of PS3.6 Annex A that the codec itself names, written once.

Each constant is a plain ``str`` (a UID is its dotted text); ``tests/test_tables.py`` checks
them against pydicom's copy of the PS3.6 UID registry.
"""

from __future__ import annotations

__all__ = ["APPLICATION_CONTEXT_NAME", "VERIFICATION_SOP_CLASS"]

VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"
"""The Verification SOP Class, the one C-ECHO serves (PS3.4 A.4, PS3.6 Annex A)."""

APPLICATION_CONTEXT_NAME = "1.2.840.10008.3.1.1.1"
"""The DICOM Application Context Name (PS3.7 A.2.1), the only one PS3.7 defines."""
