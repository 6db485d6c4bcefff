"""Conversions between the codec's primitives and other DICOM libraries' (pynetdicom first).

Each converter module imports its library only when a function runs, so ``dimse_codec.interop``
costs nothing to import when the other library is not installed.
"""

from dimse_codec.interop.pynetdicom import from_pynetdicom, to_pynetdicom

__all__ = ["from_pynetdicom", "to_pynetdicom"]
