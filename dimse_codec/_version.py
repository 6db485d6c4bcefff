"""The package version, the one place it is written (``pyproject.toml`` reads it from here).

A ground-floor module, so that any layer (the Implementation Version Name of
:mod:`dimse_codec.association.constants`, the package front) can name the version without
importing the package front, and so that ``dimse-codec --version`` needs no package metadata
(``importlib.metadata`` alone costs more start-up time than the rest of the answer).
"""

from __future__ import annotations

__all__ = ["VERSION"]

VERSION = "0.1.0"
"""This release of dimse-codec (PEP 440)."""
