"""Primitives converted to and from pynetdicom's (``pynetdicom.dimse_primitives``), with payloads.

pynetdicom's primitives and ours share names and parameter keywords (PS3.7 9.1 and 10.1), so a
pynetdicom handler can hand ``event.request`` to :func:`from_pynetdicom`, use the codec's
validation, status tables and data set decoding on it, and send a response built here with
:func:`to_pynetdicom`. Where the two libraries model a parameter differently (the D1..D11 rows of
``docs/pynetdicom-divergences.md``) the conversion is explicit:

* D1: pynetdicom starts Priority at 2 (LOW) in every primitive; a response has no Priority, so
  :func:`from_pynetdicom` leaves it absent there.
* D2: pynetdicom attaches an empty ``BytesIO`` where a decoded message had no data set;
  :func:`from_pynetdicom` reads an empty one as absent unless ``empty_payload="empty"``.
* D3: pynetdicom keeps a request's and a response's data set in one slot (N-EVENT-REPORT,
  N-SET, N-ACTION); only the one the message type carries is converted.
* D4: pynetdicom's one-value AT list is a bare ``Tag``; ours is always a tuple.
* D5: pynetdicom makes a zero-length UID ``None`` (absent); :func:`to_pynetdicom` refuses such a
  value, as any its setters refuse, unless ``lossy=True``.
* D7: pynetdicom's N_ACTION and N_CREATE have no AttributeIdentifierList; :func:`to_pynetdicom`
  refuses to drop a set one unless ``lossy=True``.

pynetdicom is imported when a function runs, never by ``import dimse_codec``.
"""

from __future__ import annotations

import importlib
import io
from typing import TYPE_CHECKING, Any, Literal

from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.primitives import PRIMITIVES, DIMSEPrimitive
from dimse_codec.errors import InvalidParameter

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["from_pynetdicom", "to_pynetdicom"]

_UNHELD = frozenset(
    {("N_ACTION", "AttributeIdentifierList"), ("N_CREATE", "AttributeIdentifierList")}
)
"""Parameters of ours that pynetdicom's primitive classes cannot hold (D7)."""
_TAG_LISTS = frozenset({"OffendingElement", "AttributeIdentifierList"})
"""AT parameters with VM 1-n, which pynetdicom makes a bare ``Tag`` when they hold one (D4)."""


def _pynetdicom_primitives() -> ModuleType:
    """``pynetdicom.dimse_primitives``, or a clear error naming the extra that installs it."""
    try:
        return importlib.import_module("pynetdicom.dimse_primitives")
    except ImportError as exc:
        raise InvalidParameter(
            "pynetdicom is not installed: pip install 'dimse-codec[pynetdicom]'"
        ) from exc


def _carried(primitive: DIMSEPrimitive) -> str | None:
    """The data set parameter the primitive's message type carries (PS3.7), if any."""
    spec = message_spec(primitive, default=None)
    if spec is None or spec.dataset is None:
        return None
    return spec.dataset.keyword


def to_pynetdicom(primitive: DIMSEPrimitive, *, lossy: bool = False) -> Any:
    """The same primitive as pynetdicom's class of that name, every parameter set from ours.

    A data set parameter becomes the ``io.BytesIO`` pynetdicom expects (a pydicom ``Dataset``
    is encoded in the primitive's ``transfer_syntax`` first). Absent parameters stay at
    pynetdicom's defaults. Raises :class:`~dimse_codec.errors.InvalidParameter` when pynetdicom
    cannot hold a value: a data set parameter the message type does not carry (pynetdicom would
    send it as the other one, D3), AttributeIdentifierList in N-ACTION/N-CREATE (D7), or a value
    its setters refuse or turn into "absent" (a zero-length UID, D5). With ``lossy=True`` those
    values of the last two kinds are left out instead.
    """
    name = type(primitive).__name__
    theirs_class = getattr(_pynetdicom_primitives(), name, None)
    if theirs_class is None:
        raise InvalidParameter(f"pynetdicom has no primitive for {name}", path=name)
    theirs = theirs_class()
    carried = _carried(primitive)
    for keyword, value in primitive.values().items():
        if value is None:
            continue
        if (name, keyword) in _UNHELD:
            if lossy:
                continue
            raise InvalidParameter(
                f"pynetdicom's {name} cannot hold {keyword}: pass lossy=True to leave it out",
                path=keyword,
            )
        if keyword in primitive.DATASET_PARAMETERS:
            if keyword != carried:
                raise InvalidParameter(
                    f"{keyword} is not the data set of this {name} message; pynetdicom keeps "
                    "one data set per primitive and would send it as the other one",
                    path=keyword,
                )
            data = primitive.payload_bytes(keyword)
            value = io.BytesIO(b"" if data is None else bytes(data))
        elif keyword in _TAG_LISTS:
            value = list(value)
        try:
            setattr(theirs, keyword, value)
            refused = None if getattr(theirs, keyword) is not None else "it would be absent (D5)"
        except (TypeError, ValueError) as exc:  # pynetdicom's own setters refused the value
            refused = str(exc)
        if refused is not None and not lossy:
            raise InvalidParameter(
                f"pynetdicom cannot hold {keyword}={value!r}: {refused}; pass lossy=True to "
                "leave it out",
                path=keyword,
            )
    return theirs


def from_pynetdicom(
    primitive: Any, *, empty_payload: Literal["absent", "empty"] = "absent"
) -> DIMSEPrimitive:
    """Our primitive of the same name, every parameter pynetdicom's holds, with D1..D4 undone.

    ``empty_payload`` says what an empty ``BytesIO`` data set means: ``"absent"`` (what
    pynetdicom attaches when the message had no data set, D2) or ``"empty"`` (present, zero
    bytes). Raises :class:`~dimse_codec.errors.InvalidParameter` for an object that is not a
    pynetdicom DIMSE primitive, or a value our primitive refuses (the error names it).
    """
    name = type(primitive).__name__
    ours_class = PRIMITIVES.get(name.replace("_", "-"))
    if ours_class is None or not type(primitive).__module__.startswith("pynetdicom."):
        raise InvalidParameter(f"not a pynetdicom DIMSE primitive: {name}", path=name)
    is_response = getattr(primitive, "MessageIDBeingRespondedTo", None) is not None
    values: dict[str, Any] = {}
    payloads: dict[str, Any] = {}
    for keyword in ours_class.PARAMETERS:
        value = getattr(primitive, keyword, None)
        if value is None:
            continue
        if keyword in ours_class.DATASET_PARAMETERS:
            payloads[keyword] = value.getvalue() if isinstance(value, io.BytesIO) else value
            continue
        if keyword == "Priority" and is_response:
            continue  # D1: pynetdicom's default, not a value read from a response
        if keyword in _TAG_LISTS:  # D4: one tag is a bare Tag, several a pydicom MultiValue
            value = [value] if isinstance(value, int) else list(value)
        values[keyword] = value
    ours = ours_class(**values)
    carried = _carried(ours)  # D3: only the data set this message type carries
    data = None if carried is None else payloads.get(carried)
    if carried is not None and data is not None and (data != b"" or empty_payload == "empty"):
        setattr(ours, carried, data)
    return ours
