"""The protocol rules as data, transcribed from the DICOM Standard and only read elsewhere.

``elements`` (PS3.7 Annex E), ``messages`` (PS3.7 9 and 10), ``status`` (PS3.7 Annex C and the
PS3.4 service classes), ``vrs`` (PS3.5 6.2 and 9.1), ``uids`` (PS3.6 Annex A) and ``quirks``
(peers' deviations). ``tests/test_tables.py`` compares them with pydicom's copy of the Standard.
"""

from __future__ import annotations

__all__ = ["STANDARD_EDITION"]

STANDARD_EDITION = "2024c"
"""The edition of the DICOM Standard these tables are checked against: the tables cite sections
but name no edition, so this is the edition of pydicom's data dictionary
(``pydicom.__dicom_version__``) that ``tests/test_tables.py`` compares them with."""
