"""DIMSE status codes: their category by the PS3.7 Annex C rules, and their meaning by service.

The data lives in :mod:`dimse_codec.tables.status`; this module only reads it. Meanings are
looked up in a fixed order, never by merging tables: the service-class table first (an exact
code before the narrowest range holding it), then the general PS3.7 Annex C table, then a
generic text from the category. So MPPS ``0110H`` keeps its PS3.4 F.7.2.2.4 meaning while a
service with no ``0110H`` of its own gets "Processing failure".
"""

from __future__ import annotations

from dataclasses import dataclass

from dimse_codec.errors import InvalidParameter
from dimse_codec.tables.status import (
    DIMSE_DEFAULT_SERVICE,
    GENERAL_BY_CODE,
    SERVICES,
    SOP_CLASS_SERVICE,
    StatusCategory,
    StatusEntry,
)

__all__ = [
    "Status",
    "StatusCategory",
    "category",
    "describe",
    "lookup",
    "meaning",
    "related_fields",
    "service_for_dimse",
    "service_for_message",
    "service_for_sop_class",
]


_WARNING_CODES = frozenset({0x0001, 0x0107, 0x0116})
_PENDING_CODES = frozenset({0xFF00, 0xFF01})


def _check(code: object) -> int:
    """Return ``code`` if it is a 16-bit status value, else raise InvalidParameter."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise InvalidParameter(
            f"a status code must be an int, not {type(code).__name__}", path="(0000,0900) Status"
        )
    if not 0 <= code <= 0xFFFF:
        raise InvalidParameter(
            f"a status code must be in 0..0xFFFF, not {code}", path="(0000,0900) Status"
        )
    return code


def category(code: int) -> StatusCategory:
    """Classify a status code by the Status Class convention of PS3.7 Annex C.

    PS3.7 Annex C (introduction, before C.1): Success ``0000``; Warning ``0001``, ``Bxxx``,
    ``0107`` or ``0116``; Failure ``Axxx``, ``Cxxx``, ``01xx`` (except ``0107`` and ``0116``)
    or ``02xx``; Cancel ``FE00``; Pending ``FF00`` and ``FF01``. Implementations shall not use
    other values, so anything else is reported as Unknown rather than guessed.

    Raises :class:`~dimse_codec.errors.InvalidParameter` for a non-int or a value outside
    ``0..0xFFFF``.
    """
    value = _check(code)
    high = value >> 12
    if value == 0x0000:
        return StatusCategory.SUCCESS
    if value in _WARNING_CODES or high == 0xB:
        return StatusCategory.WARNING
    if 0x0100 <= value <= 0x02FF or high in (0xA, 0xC):
        return StatusCategory.FAILURE
    if value == 0xFE00:
        return StatusCategory.CANCEL
    if value in _PENDING_CODES:
        return StatusCategory.PENDING
    return StatusCategory.UNKNOWN


def _service_table(service: str | None) -> tuple[StatusEntry, ...]:
    if service is None:
        return ()
    try:
        return SERVICES[service]
    except KeyError:
        known = ", ".join(sorted(SERVICES))
        raise InvalidParameter(
            f"unknown service class {service!r} (known: {known})", path="service"
        ) from None


def lookup(code: int, service: str | None = None) -> StatusEntry | None:
    """Return the table row that defines ``code`` for ``service``, or None if no table has it.

    The service's own table is searched first (exact code, then the narrowest covering range),
    then the general PS3.7 Annex C table. An unknown service name raises InvalidParameter.
    """
    value = _check(code)
    covering = [entry for entry in _service_table(service) if entry.covers(value)]
    if covering:
        return min(covering, key=lambda entry: entry.width)
    return GENERAL_BY_CODE.get(value)


def meaning(code: int, service: str | None = None) -> str:
    """Return the meaning of a status: service-specific first, then general, then the category."""
    entry = lookup(code, service)
    if entry is not None:
        return entry.meaning
    found = category(code)
    if found is StatusCategory.UNKNOWN:
        return f"Unknown status {code:04X}H"
    return f"{found.value} ({code:04X}H)"


def related_fields(code: int, service: str | None = None) -> tuple[str, ...]:
    """Return the keywords of the command elements that may accompany this status.

    For a code no table defines, the fields PS3.7 C.4.1 and C.5 give to class-specific
    Warning and Failure statuses (Offending Element, Error Comment) are returned.
    """
    entry = lookup(code, service)
    if entry is not None:
        return entry.fields
    if category(code) in (StatusCategory.WARNING, StatusCategory.FAILURE):
        return ("OffendingElement", "ErrorComment")
    return ()


@dataclass(frozen=True)
class Status:
    """A status code with its category and meaning, as returned by :func:`describe`."""

    code: int
    category: StatusCategory
    meaning: str

    @property
    def text(self) -> str:
        """The category and the meaning, e.g. ``Failure: Refused: Out of resources``; only the
        category when the meaning says no more (``Success`` for 0000H)."""
        if self.meaning == self.category.value:
            return self.meaning
        return f"{self.category.value}: {self.meaning}"

    def __str__(self) -> str:
        return f"{self.code:04X}H {self.text}"


def describe(code: int, service: str | None = None) -> Status:
    """Return the :class:`Status` for ``code``, its meaning read for ``service`` when given."""
    return Status(code=_check(code), category=category(code), meaning=meaning(code, service))


def service_for_dimse(dimse_service: str) -> str | None:
    """Return the service class a DIMSE service implies (C-STORE: Storage), or None.

    Raises InvalidParameter for a name that is not one of the 12 DIMSE services.
    """
    try:
        return DIMSE_DEFAULT_SERVICE[dimse_service]
    except KeyError:
        raise InvalidParameter(
            f"{dimse_service!r} is not a DIMSE service name", path="service"
        ) from None


def service_for_sop_class(uid: str) -> str | None:
    """Return the service class whose status table applies to a SOP Class UID, or None."""
    return SOP_CLASS_SERVICE.get(uid.rstrip("\x00 "))


def service_for_message(primitive: object, abstract_syntax: str | None = None) -> str | None:
    """The service class whose status meanings apply to a message (PS3.7 Annex C, PS3.4).

    By the message's SOP Class first, then by the presentation context's abstract syntax when
    the caller knows it, then by the DIMSE service of ``primitive`` (a DIMSE primitive).
    """
    for keyword in ("AffectedSOPClassUID", "RequestedSOPClassUID"):
        uid = getattr(primitive, keyword, None)
        if isinstance(uid, str) and uid:
            service = service_for_sop_class(uid)
            if service is not None:
                return service
    if abstract_syntax is not None:
        service = service_for_sop_class(abstract_syntax)
        if service is not None:
            return service
    dimse = getattr(primitive, "SERVICE", None)
    name = getattr(dimse, "name", None)
    return service_for_dimse(name) if isinstance(name, str) else None
