"""What to propose and what to accept: presentation contexts for data sets and for services.

A requestor proposes what its data sets need (:func:`contexts_for`: one context per SOP class
and transfer syntax, each data set then travels in its own transfer syntax); an acceptor
accepts what its handlers serve (:func:`supported_for`). The SOP classes are PS3.4's, as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydicom.dataset import Dataset
from pydicom.uid import AllTransferSyntaxes

from dimse_codec.association import ContextSpec
from dimse_codec.services.part10 import Instance

__all__ = [
    "DEFLATED",
    "EXPLICIT",
    "IMPLICIT",
    "NATIVE",
    "PATIENT_ROOT_FIND",
    "PATIENT_ROOT_GET",
    "PATIENT_ROOT_MOVE",
    "STORAGE_COMMITMENT",
    "STORAGE_COMMITMENT_INSTANCE",
    "STUDY_ROOT_FIND",
    "STUDY_ROOT_GET",
    "STUDY_ROOT_MOVE",
    "VERIFICATION",
    "contexts_for",
    "is_storage",
    "supported_for",
]

VERIFICATION = "1.2.840.10008.1.1"
"""Verification SOP Class (PS3.4 A.4): C-ECHO."""
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
"""Storage Commitment Push Model SOP Class (PS3.4 J.3)."""
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
"""Its well-known SOP Instance (PS3.4 J.3.5)."""
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"
PATIENT_ROOT_GET = "1.2.840.10008.5.1.4.1.2.1.3"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
"""Query/Retrieve Information Models (PS3.4 C.6)."""

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
NATIVE = (EXPLICIT, IMPLICIT)
"""The uncompressed transfer syntaxes every implementation has, Explicit VR preferred."""

_STORAGE_PREFIX = "1.2.840.10008.5.1.4.1.1."
"""Every Storage SOP Class of PS3.4 Annex B (and PS3.6 Table A-1) lies under this root."""


def is_storage(sop_class: str) -> bool:
    """Whether a SOP class is a Storage SOP Class (PS3.4 B.5), by its UID root."""
    return sop_class.startswith(_STORAGE_PREFIX)


def _needs(item: Dataset | Instance) -> tuple[str, tuple[str, ...]]:
    """The SOP class of a data set and the transfer syntaxes that can carry it as it is."""
    if isinstance(item, Instance):
        return item.sop_class, (item.transfer_syntax,)
    meta = getattr(item, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None or str(syntax) in (IMPLICIT, EXPLICIT, BIG_ENDIAN, DEFLATED):
        return str(item.SOPClassUID), NATIVE  # native: we encode it in what is accepted
    return str(item.SOPClassUID), (str(syntax),)


def contexts_for(
    items: Iterable[Dataset | Instance], extra: Iterable[ContextSpec] = ()
) -> list[ContextSpec]:
    """The contexts a requestor proposes so that each data set can be sent as it is.

    A compressed data set needs its own transfer syntax (one context per SOP class and
    syntax, PS3.8 9.3.2.2: a context accepts one); a native one may go in either native syntax.
    ``extra`` contexts (e.g. Verification) come first.
    """
    proposed: list[ContextSpec] = list(extra)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for item in items:
        need = _needs(item)
        if need not in seen:
            seen.add(need)
            proposed.append(need)
    return proposed


def supported_for(
    services: Iterable[str],
    *,
    storage: Iterable[str] = (),
    transfer_syntaxes: Iterable[str] = NATIVE,
    storage_syntaxes: Iterable[str] | None = None,
) -> dict[str, list[str]]:
    """What an acceptor accepts for the services its handlers serve (a ``Supported`` mapping).

    ``storage`` lists the Storage SOP classes (C-STORE); ``storage_syntaxes`` defaults to every
    transfer syntax pydicom knows, encapsulated ones first: a stored data set is kept as
    received, so a requestor offering a compressed syntax need not decompress.
    """
    syntaxes = list(transfer_syntaxes)
    supported: dict[str, list[str]] = {}
    served = set(services)
    if "C-ECHO" in served:
        supported[VERIFICATION] = syntaxes
    if served & {"C-FIND"}:
        supported[PATIENT_ROOT_FIND] = supported[STUDY_ROOT_FIND] = syntaxes
    if served & {"C-GET"}:
        supported[PATIENT_ROOT_GET] = supported[STUDY_ROOT_GET] = syntaxes
    if served & {"C-MOVE"}:
        supported[PATIENT_ROOT_MOVE] = supported[STUDY_ROOT_MOVE] = syntaxes
    if served & {"N-ACTION", "N-EVENT-REPORT"}:
        supported[STORAGE_COMMITMENT] = syntaxes
    stored = list(storage_syntaxes) if storage_syntaxes is not None else _all_syntaxes(syntaxes)
    for sop_class in storage:
        supported[sop_class] = stored
    return supported


def _all_syntaxes(native: list[str]) -> list[str]:
    """Every transfer syntax pydicom knows: the encapsulated ones, then the native ones."""
    others = [str(uid) for uid in AllTransferSyntaxes if str(uid) not in native]
    plain = [uid for uid in others if uid in (DEFLATED, BIG_ENDIAN)]
    return [uid for uid in others if uid not in plain] + native + plain


def merge(*mappings: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Several ``Supported`` mappings as one; the first mapping's syntaxes come first."""
    merged: dict[str, list[str]] = {}
    for mapping in mappings:
        for sop_class, syntaxes in mapping.items():
            known = merged.setdefault(sop_class, [])
            known.extend(uid for uid in syntaxes if uid not in known)
    return merged
