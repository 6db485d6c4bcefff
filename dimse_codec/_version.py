"""The package version, read once from the installed distribution's metadata (``pyproject.toml``).

A ground-floor module, so that any layer (the Implementation Version Name of
:mod:`dimse_codec.association.constants`, the package front) can name the version without
importing the package front. Run from a source tree that was never installed, the version is
unknown and reads ``0+unknown`` (PEP 440 local version).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["VERSION"]

try:
    VERSION: str = version("dimse-codec")
except PackageNotFoundError:  # a source tree on sys.path, not installed
    VERSION = "0+unknown"
