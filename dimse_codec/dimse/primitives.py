"""The 12 DIMSE service primitives (PS3.7 9.1 and 10.1), with PS3.7's parameter names and the
VRs of PS3.7 Annex E.

Each primitive class declares its parameters as typed descriptors; at class creation the
declaration is checked against :data:`dimse_codec.tables.messages.SERVICES` (the one table),
so a parameter cannot exist here without a row there, nor with another VR. Setters convert and
range-check by the VR rules of :mod:`dimse_codec.tables.vrs` (UIDs from ``str``/``bytes``/``UID``
by the PS3.5 9.1 grammar, so a setter refuses exactly what the decoder reports; ints 0..65535;
data sets from a pydicom ``Dataset``, bytes-like or ``io.BytesIO``), request and response data
sets are separate fields, and ``None`` means "absent" while an empty value means "present and
empty".
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, overload

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID, ImplicitVRLittleEndian

from dimse_codec.dataset.codec import encode_dataset
from dimse_codec.dimse.command_set import RawElement
from dimse_codec.dimse.validation import Verdict, validate
from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.policy import Diagnostic
from dimse_codec.tables.elements import BY_KEYWORD
from dimse_codec.tables.messages import SERVICES, MessageSpec, ServiceSpec
from dimse_codec.tables.vrs import (
    AE_MAX_LENGTH,
    UID_MAX_LENGTH,
    VR_RULES,
    forbidden_character,
    is_valid_ae,
    is_valid_uid,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "C_CANCEL",
    "C_ECHO",
    "C_FIND",
    "C_GET",
    "C_MOVE",
    "C_STORE",
    "N_ACTION",
    "N_CREATE",
    "N_DELETE",
    "N_EVENT_REPORT",
    "N_GET",
    "N_SET",
    "PRIMITIVES",
    "DIMSEPrimitive",
    "DatasetValue",
    "TagLike",
    "UnknownMessage",
]

G = TypeVar("G")
S = TypeVar("S")

TagLike = int | str | tuple[int, int] | BaseTag
"""Anything pydicom's ``Tag()`` accepts: an int, a keyword, a (group, element) pair."""

DatasetValue = Dataset | bytes | bytearray | memoryview | io.BytesIO
"""What a data set parameter accepts."""


class _StateReader(Protocol):
    """Reads some slots of a primitive's state as one tuple."""

    def __call__(self, state: dict[str, Any], /) -> tuple[Any, ...]: ...


class _FewSlots:
    """The reader of zero or one slot, which ``itemgetter`` would not return as a tuple."""

    __slots__ = ("slots",)

    def __init__(self, slots: tuple[str, ...]) -> None:
        self.slots = slots

    def __call__(self, state: dict[str, Any], /) -> tuple[Any, ...]:
        return tuple(state[slot] for slot in self.slots)


def _read_all(slots: tuple[str, ...]) -> _StateReader:
    """A reader of a primitive's state slots as one tuple (``itemgetter`` runs in C). Neither
    kind is a function, so a class attribute holding one does not bind as a method."""
    if len(slots) < 2:
        return _FewSlots(slots)
    read: _StateReader = itemgetter(*slots)
    return read


class _Param(Generic[G, S]):
    """A primitive parameter stored in the instance ``__dict__`` under ``_<keyword>``."""

    vr: ClassVar[str] = ""
    ACCEPTS: ClassVar[str] = "Any"
    """What the setter accepts, as the annotation the primitives' signatures give it."""
    keyword: str
    slot: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.keyword = name
        self.slot = "_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, obj: DIMSEPrimitive, owner: type | None = None) -> G: ...

    def __get__(self, obj: DIMSEPrimitive | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__[self.slot]

    def __set__(self, obj: DIMSEPrimitive, value: S) -> None:
        state = obj.__dict__
        state[self.slot] = None if value is None else self.convert(value)
        state["_source"] = None
        if self.keyword in state["_empty"]:
            state["_empty"] = state["_empty"] - {self.keyword}

    def convert(self, value: Any) -> Any:
        """Check and convert a value given by the user; raise the library's errors if bad."""
        raise NotImplementedError


class _US(_Param[int | None, int | None]):
    """An unsigned 16-bit parameter (US)."""

    ACCEPTS = "int | None"

    vr = "US"
    low = 0
    high = 0xFFFF

    def __init__(self, low: int = 0, high: int = 0xFFFF) -> None:
        self.low = low
        self.high = high

    def convert(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameterType(
                f"{self.keyword} must be an int, not {type(value).__name__}", path=self.keyword
            )
        if not self.low <= value <= self.high:
            raise InvalidParameter(
                f"{self.keyword} must be in {self.low}..{self.high}, got {value}",
                path=self.keyword,
            )
        return int(value)


def _ascii(keyword: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidParameter(
                f"{keyword} bytes are not ASCII: {value!r}", path=keyword
            ) from exc
    if not value.isascii():
        raise InvalidParameter(f"{keyword} is not ASCII: {value!r}", path=keyword)
    return value


class _UI(_Param[UID | None, UID | str | bytes | None]):
    """A UID parameter: ``str``, ``bytes`` or ``UID`` in, ``UID`` out (PS3.5 9.1)."""

    ACCEPTS = "UID | str | bytes | None"

    vr = "UI"

    def convert(self, value: Any) -> UID:
        if not isinstance(value, (str, bytes)):
            raise InvalidParameterType(
                f"{self.keyword} must be a UID, str or bytes, not {type(value).__name__}",
                path=self.keyword,
            )
        text = _ascii(self.keyword, value)
        if isinstance(value, bytes):
            text = text.rstrip("\x00")
        text = text.strip(" ")
        if text and not is_valid_uid(text):
            raise InvalidParameter(
                f"{self.keyword} {text!r} is not a UID (PS3.5 9.1: numbers without leading "
                f"zeros joined by dots, at most {UID_MAX_LENGTH} characters)",
                path=self.keyword,
            )
        return UID(text)


class _AE(_Param[str | None, str | bytes | None]):
    """An AE title parameter: at most 16 characters, no backslash or control characters."""

    ACCEPTS = "str | bytes | None"

    vr = "AE"

    def convert(self, value: Any) -> str:
        if not isinstance(value, (str, bytes)):
            raise InvalidParameterType(
                f"{self.keyword} must be a str, not {type(value).__name__}", path=self.keyword
            )
        text = _ascii(self.keyword, value).strip(" ")
        if text and not is_valid_ae(text):
            raise InvalidParameter(
                f"{self.keyword} {text!r} is not an AE title (at most "
                f"{AE_MAX_LENGTH} characters, no backslash or control characters)",
                path=self.keyword,
            )
        return text


class _LO(_Param[str | None, str | None]):
    """A Long String parameter: default repertoire, at most 64 characters, single-valued."""

    ACCEPTS = "str | None"

    vr = "LO"

    def convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidParameterType(
                f"{self.keyword} must be a str, not {type(value).__name__}", path=self.keyword
            )
        text = _ascii(self.keyword, value).rstrip(" ")
        limit = VR_RULES[self.vr].max_length
        if len(text) > limit or forbidden_character(self.vr, text) is not None:
            raise InvalidParameter(
                f"{self.keyword} must be at most {limit} characters without backslash or "
                f"control characters, got {text!r}",
                path=self.keyword,
            )
        return text


class _AT(_Param[list[BaseTag] | None, TagLike | Iterable[TagLike] | None]):
    """A list-of-tags parameter (AT, VM 1-n); a single tag becomes a list of one."""

    ACCEPTS = "TagLike | Iterable[TagLike] | None"

    vr = "AT"

    def __get__(self, obj: DIMSEPrimitive | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.slot]
        return None if value is None else list(value)

    def convert(self, value: Any) -> tuple[BaseTag, ...]:
        items: Iterable[Any]
        if isinstance(value, (int, str, BaseTag)) or (
            isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool | BaseTag) for v in value)
        ):  # a (group, element) pair; two BaseTags (what values() holds) are two tags
            items = (value,)
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            raise InvalidParameterType(
                f"{self.keyword} must be a tag or a list of tags, not {type(value).__name__}",
                path=self.keyword,
            )
        out = []
        for item in items:
            if isinstance(item, bool):
                raise InvalidParameterType(f"{self.keyword}: {item!r} is not a tag")
            try:
                out.append(Tag(item))
            except (ValueError, TypeError, OverflowError) as exc:
                raise InvalidParameter(
                    f"{self.keyword}: {item!r} is not a tag ({exc})", path=self.keyword
                ) from exc
        return tuple(out)


class _DataSet(_Param[io.BytesIO | None, DatasetValue | None]):
    """A data set parameter: stored as given (bytes-like kept, not copied); read as ``BytesIO``.

    A pydicom ``Dataset`` is encoded on demand in the primitive's ``transfer_syntax``.
    """

    ACCEPTS = "DatasetValue | None"

    vr = "DS"

    def __get__(self, obj: DIMSEPrimitive | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.payload_bytes(self.keyword)
        return None if value is None else io.BytesIO(value)

    def __set__(self, obj: DIMSEPrimitive, value: Any) -> None:
        super().__set__(obj, value)
        obj.__dict__["_cds"] = None

    def convert(self, value: Any) -> bytes | memoryview | Dataset:
        if isinstance(value, (bytes, Dataset)):
            return value
        if isinstance(value, memoryview):
            return value if value.format == "B" and value.ndim == 1 else value.cast("B")
        if isinstance(value, bytearray):
            return bytes(value)
        if isinstance(value, io.BytesIO):
            return value.getvalue()
        raise InvalidParameterType(
            f"{self.keyword} must be a pydicom Dataset, bytes-like or io.BytesIO, "
            f"not {type(value).__name__}",
            path=self.keyword,
        )


_KIND_BY_VR: dict[str, type[_Param[Any, Any]]] = {
    "US": _US,
    "UI": _UI,
    "AE": _AE,
    "LO": _LO,
    "AT": _AT,
}


class DIMSEPrimitive:
    """Base of the 12 primitives: parameter storage, decode state, equality and validity.

    Subclasses set ``SERVICE`` and declare one descriptor per row of their service's table.
    ``context_id`` is the presentation context a message travelled on (set by the wire layer)
    and ``transfer_syntax`` is the one a ``Dataset`` parameter is encoded in.
    """

    context_id: int | None
    transfer_syntax: str

    SERVICE: ClassVar[ServiceSpec | None] = None
    PARAMETERS: ClassVar[tuple[str, ...]] = ()
    """Every parameter keyword of this service, in table order."""
    DATASET_PARAMETERS: ClassVar[tuple[str, ...]] = ()
    REQUEST_KEYWORDS: ClassVar[tuple[str, ...]] = ()
    """Parameters mandatory (M) in the request/indication."""
    RESPONSE_KEYWORDS: ClassVar[tuple[str, ...]] = ()
    """Parameters mandatory (M) in the response/confirmation."""
    STATUS_OPTIONAL_KEYWORDS: ClassVar[tuple[str, ...]] = ()
    """Status-related parameters (PS3.7 Annex C) the response may carry."""
    __signature__: ClassVar[inspect.Signature]
    """Each primitive's keyword signature, for ``help()`` and ``inspect`` (type checkers read the
    ``__init__`` each class declares under ``TYPE_CHECKING``)."""
    _TEMPLATE: ClassVar[dict[str, Any]] = {}
    _READ_STATE: ClassVar[_StateReader] = _FewSlots(())
    """Reads every one of :attr:`PARAMETERS` from the instance state, in the same order."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        service = cls.__dict__.get("SERVICE")
        declared = {
            name: value for name, value in cls.__dict__.items() if isinstance(value, _Param)
        }
        if service is None:
            if declared:
                raise TypeError(f"{cls.__name__} declares parameters but has no SERVICE")
            cls._TEMPLATE = dict(DIMSEPrimitive._TEMPLATE)
            return
        keywords = list(dict.fromkeys(p.keyword for p in service.parameters))
        if sorted(declared) != sorted(keywords):
            raise TypeError(
                f"{cls.__name__} parameters {sorted(declared)} differ from the PS3.7 table "
                f"{sorted(keywords)}"
            )
        datasets = {p.keyword for p in service.parameters if p.dataset}
        for keyword, descriptor in declared.items():
            expected: type[_Param[Any, Any]] = (
                _DataSet if keyword in datasets else _KIND_BY_VR[BY_KEYWORD[keyword].vr]
            )
            if type(descriptor) is not expected:
                raise TypeError(f"{cls.__name__}.{keyword} must be declared as {expected.__name__}")
        cls.PARAMETERS = tuple(keywords)
        cls.__signature__ = inspect.Signature(
            [
                inspect.Parameter(
                    keyword,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=None,
                    annotation=declared[keyword].ACCEPTS,
                )
                for keyword in keywords
            ],
            return_annotation=None,
        )
        cls._READ_STATE = _read_all(tuple("_" + keyword for keyword in keywords))
        cls.DATASET_PARAMETERS = tuple(k for k in keywords if k in datasets)
        cls.REQUEST_KEYWORDS = tuple(
            dict.fromkeys(p.keyword for p in service.parameters if p.request.startswith("M"))
        )
        cls.RESPONSE_KEYWORDS = tuple(
            dict.fromkeys(p.keyword for p in service.parameters if p.response.startswith("M"))
        )
        cls.STATUS_OPTIONAL_KEYWORDS = tuple(
            dict.fromkeys(p.keyword for p in service.parameters if p.status_detail)
        )
        cls._TEMPLATE = dict(DIMSEPrimitive._TEMPLATE)
        cls._TEMPLATE.update({"_" + k: None for k in keywords})

    def __init__(self, **parameters: Any) -> None:
        self.__dict__.update(self._TEMPLATE)
        for keyword, value in parameters.items():
            if keyword not in self.PARAMETERS:
                raise InvalidParameterType(
                    f"{type(self).__name__} has no parameter {keyword!r}", path=keyword
                )
            setattr(self, keyword, value)

    # -- identity ------------------------------------------------------------------------------

    @property
    def msg_type(self) -> str:
        """The DIMSE service name, e.g. ``"N-ACTION"``."""
        return self.SERVICE.name if self.SERVICE else "UNKNOWN"

    @property
    def message_spec(self) -> MessageSpec | None:
        """The message type this primitive was decoded from (``None`` if built by hand)."""
        spec: MessageSpec | None = self.__dict__["_spec"]
        return spec

    # -- what decoding found -----------------------------------------------------------------

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Problems the lenient decoder tolerated in the bytes this came from."""
        diagnostics: tuple[Diagnostic, ...] = self.__dict__["_diagnostics"]
        return diagnostics

    @property
    def extra_elements(self) -> tuple[RawElement, ...]:
        """Elements kept as raw bytes: retired, unknown, other-group or not of this primitive."""
        extras: tuple[RawElement, ...] = self.__dict__["_extras"]
        return extras

    @property
    def empty_keywords(self) -> frozenset[str]:
        """Parameters that were present with a zero-length value (distinct from absent)."""
        empty: frozenset[str] = self.__dict__["_empty"]
        return empty

    @property
    def command_data_set_type(self) -> int | None:
        """The (0000,0800) value as decoded, or ``None`` once derived from the payload."""
        value: int | None = self.__dict__["_cds"]
        return value

    @property
    def source(self) -> bytes | None:
        """The command-set bytes this was decoded from, until a parameter is changed."""
        source: bytes | None = self.__dict__["_source"]
        return source

    @property
    def unexpected_dataset(self) -> bytes | memoryview | None:
        """Data set bytes that arrived with a message type that never carries one."""
        value: bytes | memoryview | None = self.__dict__["_unexpected_dataset"]
        return value

    def values(self) -> dict[str, Any]:
        """Every parameter's stored value by keyword (``None`` when absent), in table order.

        Data set parameters hold what was given (bytes-like or a pydicom ``Dataset``) and AT
        parameters a tuple of tags; the result is a fresh dict the caller may keep.
        """
        return dict(zip(self.PARAMETERS, self._READ_STATE(self.__dict__), strict=False))

    def parameter_values(self) -> tuple[Any, ...]:
        """Every parameter's stored value in :attr:`PARAMETERS` (table) order: what
        :meth:`values` holds, without building a mapping (validation reads it by position)."""
        return self._READ_STATE(self.__dict__)

    def dataset_follows(self, keyword: str | None = None) -> bool:
        """Whether a data set is present or was announced by a decoded CommandDataSetType.

        With ``keyword`` it asks about that data set parameter only.
        """
        state = self.__dict__
        keywords = (keyword,) if keyword else self.DATASET_PARAMETERS
        if any(state["_" + k] is not None for k in keywords):
            return True
        announced = state["_cds"]
        return announced is not None and announced != 0x0101

    # -- data sets -------------------------------------------------------------------------------

    def payload(self, keyword: str) -> bytes | memoryview | Dataset | None:
        """The data set parameter as stored: bytes-like as given, or a pydicom ``Dataset``."""
        if keyword not in self.DATASET_PARAMETERS:
            raise InvalidParameter(f"{self.msg_type} has no data set parameter {keyword!r}")
        value: bytes | memoryview | Dataset | None = self.__dict__["_" + keyword]
        return value

    def payload_bytes(self, keyword: str) -> bytes | memoryview | None:
        """The data set parameter as encoded bytes (a ``Dataset`` is encoded on demand)."""
        value = self.payload(keyword)
        if isinstance(value, Dataset):
            return encode_dataset(value, self.transfer_syntax)
        return value

    # -- validity --------------------------------------------------------------------------------

    @property
    def is_valid_request(self) -> Verdict:
        """Whether this is a valid request/indication under the whole PS3.7 table.

        The result is truthy or falsy like a ``bool`` and lists its ``reasons`` when false.
        """
        return validate(self, is_request=True)

    @property
    def is_valid_response(self) -> Verdict:
        """Whether this is a valid response/confirmation under the whole PS3.7 table."""
        return validate(self, is_request=False)

    # -- comparison and display -------------------------------------------------------------------

    def _comparable(self) -> tuple[Any, ...]:
        values = []
        for keyword in self.PARAMETERS:
            if keyword in self.DATASET_PARAMETERS:
                raw = self.payload_bytes(keyword)
                values.append(None if raw is None else bytes(raw))
            else:
                values.append(self.__dict__["_" + keyword])
        return (
            type(self),
            tuple(values),
            self.dataset_follows(),
            self.__dict__["_extras"],
            self.__dict__["_empty"],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DIMSEPrimitive):
            return NotImplemented
        return self._comparable() == other._comparable()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = []
        for keyword in self.PARAMETERS:
            value = self.__dict__["_" + keyword]
            if value is None:
                continue
            if keyword in self.DATASET_PARAMETERS:
                size = "Dataset" if isinstance(value, Dataset) else f"{len(value)} bytes"
                shown.append(f"{keyword}=<{size}>")
            elif keyword == "Status":
                shown.append(f"Status=0x{value:04X}")
            else:
                shown.append(f"{keyword}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


DIMSEPrimitive._TEMPLATE = {
    "_source": None,
    "_diagnostics": (),
    "_extras": (),
    "_empty": frozenset(),
    "_cds": None,
    "_spec": None,
    "_unexpected_dataset": None,
    "context_id": None,
    "transfer_syntax": ImplicitVRLittleEndian,
}


# -- the primitives: written by tests/render_primitives.py from the PS3.7 table --


class C_STORE(DIMSEPrimitive):
    """C-STORE: store a composite SOP instance (PS3.7 9.1.1).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: U (user option).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        Priority: Priority (0000,0700), US. Request: M (mandatory). Response: - (not used).
        MoveOriginatorApplicationEntityTitle: Move Originator Application Entity Title (0000,1030),
            AE. Request: U (user option). Response: - (not used).
        MoveOriginatorMessageID: Move Originator Message ID (0000,1031), US. Request: U (user
            option). Response: - (not used).
        DataSet: the data set, in the presentation context's transfer syntax (a pydicom Dataset,
            bytes-like or io.BytesIO). Request: M (mandatory). Response: - (not used).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        OffendingElement: Offending Element (0000,0901), AT, VM 1-n. Request: - (not used).
            Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["C-STORE"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    Priority = _US(0, 2)
    MoveOriginatorApplicationEntityTitle = _AE()
    MoveOriginatorMessageID = _US()
    DataSet = _DataSet()
    Status = _US()
    OffendingElement = _AT()
    ErrorComment = _LO()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            Priority: int | None = None,
            MoveOriginatorApplicationEntityTitle: str | bytes | None = None,
            MoveOriginatorMessageID: int | None = None,
            DataSet: DatasetValue | None = None,
            Status: int | None = None,
            OffendingElement: TagLike | Iterable[TagLike] | None = None,
            ErrorComment: str | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class C_FIND(DIMSEPrimitive):
    """C-FIND: match an identifier against the SCP's instances (PS3.7 9.1.2).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: U (user option).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        Priority: Priority (0000,0700), US. Request: M (mandatory). Response: - (not used).
        Identifier: the data set, in the presentation context's transfer syntax (a pydicom Dataset,
            bytes-like or io.BytesIO). Request: M (mandatory). Response: C (conditional): present if
            and only if the Status is Pending (FF00H or FF01H).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        OffendingElement: Offending Element (0000,0901), AT, VM 1-n. Request: - (not used).
            Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["C-FIND"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    Priority = _US(0, 2)
    Identifier = _DataSet()
    Status = _US()
    OffendingElement = _AT()
    ErrorComment = _LO()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            Priority: int | None = None,
            Identifier: DatasetValue | None = None,
            Status: int | None = None,
            OffendingElement: TagLike | Iterable[TagLike] | None = None,
            ErrorComment: str | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class C_GET(DIMSEPrimitive):
    """C-GET: retrieve instances over the same association (PS3.7 9.1.3).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: U (user option).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        Priority: Priority (0000,0700), US. Request: M (mandatory). Response: - (not used).
        Identifier: the data set, in the presentation context's transfer syntax (a pydicom Dataset,
            bytes-like or io.BytesIO). Request: M (mandatory). Response: U (user option).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        NumberOfRemainingSuboperations: Number of Remaining Sub-operations (0000,1020), US. Request:
            - (not used). Response: C (conditional): shall be present when the Status is Pending;
            may be present otherwise.
        NumberOfCompletedSuboperations: Number of Completed Sub-operations (0000,1021), US. Request:
            - (not used). Response: C (conditional): shall be present when the Status is Pending;
            may be present otherwise.
        NumberOfFailedSuboperations: Number of Failed Sub-operations (0000,1022), US. Request: -
            (not used). Response: C (conditional): shall be present when the Status is Pending; may
            be present otherwise.
        NumberOfWarningSuboperations: Number of Warning Sub-operations (0000,1023), US. Request: -
            (not used). Response: C (conditional): shall be present when the Status is Pending; may
            be present otherwise.
        OffendingElement: Offending Element (0000,0901), AT, VM 1-n. Request: - (not used).
            Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["C-GET"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    Priority = _US(0, 2)
    Identifier = _DataSet()
    Status = _US()
    NumberOfRemainingSuboperations = _US()
    NumberOfCompletedSuboperations = _US()
    NumberOfFailedSuboperations = _US()
    NumberOfWarningSuboperations = _US()
    OffendingElement = _AT()
    ErrorComment = _LO()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            Priority: int | None = None,
            Identifier: DatasetValue | None = None,
            Status: int | None = None,
            NumberOfRemainingSuboperations: int | None = None,
            NumberOfCompletedSuboperations: int | None = None,
            NumberOfFailedSuboperations: int | None = None,
            NumberOfWarningSuboperations: int | None = None,
            OffendingElement: TagLike | Iterable[TagLike] | None = None,
            ErrorComment: str | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class C_MOVE(DIMSEPrimitive):
    """C-MOVE: have the SCP send instances to a named AE (PS3.7 9.1.4).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: U (user option).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        Priority: Priority (0000,0700), US. Request: M (mandatory). Response: - (not used).
        MoveDestination: Move Destination (0000,0600), AE. Request: M (mandatory). Response: - (not
            used).
        Identifier: the data set, in the presentation context's transfer syntax (a pydicom Dataset,
            bytes-like or io.BytesIO). Request: M (mandatory). Response: U (user option).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        NumberOfRemainingSuboperations: Number of Remaining Sub-operations (0000,1020), US. Request:
            - (not used). Response: C (conditional): shall be present when the Status is Pending;
            may be present otherwise.
        NumberOfCompletedSuboperations: Number of Completed Sub-operations (0000,1021), US. Request:
            - (not used). Response: C (conditional): shall be present when the Status is Pending;
            may be present otherwise.
        NumberOfFailedSuboperations: Number of Failed Sub-operations (0000,1022), US. Request: -
            (not used). Response: C (conditional): shall be present when the Status is Pending; may
            be present otherwise.
        NumberOfWarningSuboperations: Number of Warning Sub-operations (0000,1023), US. Request: -
            (not used). Response: C (conditional): shall be present when the Status is Pending; may
            be present otherwise.
        OffendingElement: Offending Element (0000,0901), AT, VM 1-n. Request: - (not used).
            Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["C-MOVE"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    Priority = _US(0, 2)
    MoveDestination = _AE()
    Identifier = _DataSet()
    Status = _US()
    NumberOfRemainingSuboperations = _US()
    NumberOfCompletedSuboperations = _US()
    NumberOfFailedSuboperations = _US()
    NumberOfWarningSuboperations = _US()
    OffendingElement = _AT()
    ErrorComment = _LO()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            Priority: int | None = None,
            MoveDestination: str | bytes | None = None,
            Identifier: DatasetValue | None = None,
            Status: int | None = None,
            NumberOfRemainingSuboperations: int | None = None,
            NumberOfCompletedSuboperations: int | None = None,
            NumberOfFailedSuboperations: int | None = None,
            NumberOfWarningSuboperations: int | None = None,
            OffendingElement: TagLike | Iterable[TagLike] | None = None,
            ErrorComment: str | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class C_ECHO(DIMSEPrimitive):
    """C-ECHO: verify end-to-end communication (PS3.7 9.1.5).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: U (user option).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["C-ECHO"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    Status = _US()
    ErrorComment = _LO()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class C_CANCEL(DIMSEPrimitive):
    """C-CANCEL: cancel an outstanding C-FIND, C-GET or C-MOVE (PS3.7 9.3.2.3).

    Args:
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: M
            (mandatory). Response: - (not used).
    """

    SERVICE = SERVICES["C-CANCEL"]
    MessageIDBeingRespondedTo = _US()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageIDBeingRespondedTo: int | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class N_EVENT_REPORT(DIMSEPrimitive):
    """N-EVENT-REPORT: report an event about a managed SOP instance (PS3.7 10.1.1).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: - (not used).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        EventTypeID: Event Type ID (0000,1002), US. Request: M (mandatory). Response: C(=)
            (conditional, equal to the request's): shall be present when the reply data set is
            present; equal to the request's.
        EventInformation: the data set, in the presentation context's transfer syntax (a pydicom
            Dataset, bytes-like or io.BytesIO). Request: U (user option). Response: - (not used).
        EventReply: the data set, in the presentation context's transfer syntax (a pydicom Dataset,
            bytes-like or io.BytesIO). Request: - (not used). Response: C (conditional): may be
            present only when the Status is Success or Warning.
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
        ErrorID: Error ID (0000,0903), US. Request: - (not used). Response: C (conditional): may be
            present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["N-EVENT-REPORT"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    EventTypeID = _US()
    EventInformation = _DataSet()
    EventReply = _DataSet()
    Status = _US()
    ErrorComment = _LO()
    ErrorID = _US()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            EventTypeID: int | None = None,
            EventInformation: DatasetValue | None = None,
            EventReply: DatasetValue | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
            ErrorID: int | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class N_GET(DIMSEPrimitive):
    """N-GET: retrieve attribute values of a managed SOP instance (PS3.7 10.1.2).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: - (not used).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        RequestedSOPClassUID: Requested SOP Class UID (0000,0003), UI. Request: M (mandatory).
            Response: - (not used).
        RequestedSOPInstanceUID: Requested SOP Instance UID (0000,1001), UI. Request: M (mandatory).
            Response: - (not used).
        AttributeIdentifierList: Attribute Identifier List (0000,1005), AT, VM 1-n. Request: U (user
            option). Response: C (conditional): may be present only when the Status is a Warning or
            a Failure.
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: - (not used).
            Response: U (user option).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: - (not used).
            Response: U (user option).
        AttributeList: the data set, in the presentation context's transfer syntax (a pydicom
            Dataset, bytes-like or io.BytesIO). Request: - (not used). Response: C (conditional):
            may be present only when the Status is Success or Warning.
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
        ErrorID: Error ID (0000,0903), US. Request: - (not used). Response: C (conditional): may be
            present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["N-GET"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    RequestedSOPClassUID = _UI()
    RequestedSOPInstanceUID = _UI()
    AttributeIdentifierList = _AT()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    AttributeList = _DataSet()
    Status = _US()
    ErrorComment = _LO()
    ErrorID = _US()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            RequestedSOPClassUID: UID | str | bytes | None = None,
            RequestedSOPInstanceUID: UID | str | bytes | None = None,
            AttributeIdentifierList: TagLike | Iterable[TagLike] | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            AttributeList: DatasetValue | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
            ErrorID: int | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class N_SET(DIMSEPrimitive):
    """N-SET: modify attribute values of a managed SOP instance (PS3.7 10.1.3).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: - (not used).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        RequestedSOPClassUID: Requested SOP Class UID (0000,0003), UI. Request: M (mandatory).
            Response: - (not used).
        RequestedSOPInstanceUID: Requested SOP Instance UID (0000,1001), UI. Request: M (mandatory).
            Response: - (not used).
        ModificationList: the data set, in the presentation context's transfer syntax (a pydicom
            Dataset, bytes-like or io.BytesIO). Request: M (mandatory). Response: - (not used).
        AttributeList: the data set, in the presentation context's transfer syntax (a pydicom
            Dataset, bytes-like or io.BytesIO). Request: - (not used). Response: U (user option).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: - (not used).
            Response: U (user option).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: - (not used).
            Response: U (user option).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
        ErrorID: Error ID (0000,0903), US. Request: - (not used). Response: C (conditional): may be
            present only when the Status is a Warning or a Failure.
        AttributeIdentifierList: Attribute Identifier List (0000,1005), AT, VM 1-n. Request: - (not
            used). Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
    """

    SERVICE = SERVICES["N-SET"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    RequestedSOPClassUID = _UI()
    RequestedSOPInstanceUID = _UI()
    ModificationList = _DataSet()
    AttributeList = _DataSet()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    Status = _US()
    ErrorComment = _LO()
    ErrorID = _US()
    AttributeIdentifierList = _AT()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            RequestedSOPClassUID: UID | str | bytes | None = None,
            RequestedSOPInstanceUID: UID | str | bytes | None = None,
            ModificationList: DatasetValue | None = None,
            AttributeList: DatasetValue | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
            ErrorID: int | None = None,
            AttributeIdentifierList: TagLike | Iterable[TagLike] | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class N_ACTION(DIMSEPrimitive):
    """N-ACTION: ask a managed SOP instance to perform an action (PS3.7 10.1.4).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: - (not used).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        RequestedSOPClassUID: Requested SOP Class UID (0000,0003), UI. Request: M (mandatory).
            Response: - (not used).
        RequestedSOPInstanceUID: Requested SOP Instance UID (0000,1001), UI. Request: M (mandatory).
            Response: - (not used).
        ActionTypeID: Action Type ID (0000,1008), US. Request: M (mandatory). Response: C(=)
            (conditional, equal to the request's): shall be present when the reply data set is
            present; equal to the request's.
        ActionInformation: the data set, in the presentation context's transfer syntax (a pydicom
            Dataset, bytes-like or io.BytesIO). Request: U (user option). Response: - (not used).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: - (not used).
            Response: U (user option).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: - (not used).
            Response: U (user option).
        ActionReply: the data set, in the presentation context's transfer syntax (a pydicom Dataset,
            bytes-like or io.BytesIO). Request: - (not used). Response: C (conditional): may be
            present only when the Status is Success or Warning.
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
        ErrorID: Error ID (0000,0903), US. Request: - (not used). Response: C (conditional): may be
            present only when the Status is a Warning or a Failure.
        AttributeIdentifierList: Attribute Identifier List (0000,1005), AT, VM 1-n. Request: - (not
            used). Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
    """

    SERVICE = SERVICES["N-ACTION"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    RequestedSOPClassUID = _UI()
    RequestedSOPInstanceUID = _UI()
    ActionTypeID = _US()
    ActionInformation = _DataSet()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    ActionReply = _DataSet()
    Status = _US()
    ErrorComment = _LO()
    ErrorID = _US()
    AttributeIdentifierList = _AT()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            RequestedSOPClassUID: UID | str | bytes | None = None,
            RequestedSOPInstanceUID: UID | str | bytes | None = None,
            ActionTypeID: int | None = None,
            ActionInformation: DatasetValue | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            ActionReply: DatasetValue | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
            ErrorID: int | None = None,
            AttributeIdentifierList: TagLike | Iterable[TagLike] | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class N_CREATE(DIMSEPrimitive):
    """N-CREATE: create a managed SOP instance (PS3.7 10.1.5).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: - (not used).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: M (mandatory).
            Response: U(=) (user option, equal to the request's).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: U (user option).
            Response: C (conditional): shall be present when the request had no Affected SOP
            Instance UID.
        AttributeList: the data set, in the presentation context's transfer syntax (a pydicom
            Dataset, bytes-like or io.BytesIO). Request: U (user option). Response: U (user option).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
        ErrorID: Error ID (0000,0903), US. Request: - (not used). Response: C (conditional): may be
            present only when the Status is a Warning or a Failure.
        AttributeIdentifierList: Attribute Identifier List (0000,1005), AT, VM 1-n. Request: - (not
            used). Response: C (conditional): may be present only when the Status is a Warning or a
            Failure.
    """

    SERVICE = SERVICES["N-CREATE"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    AttributeList = _DataSet()
    Status = _US()
    ErrorComment = _LO()
    ErrorID = _US()
    AttributeIdentifierList = _AT()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            AttributeList: DatasetValue | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
            ErrorID: int | None = None,
            AttributeIdentifierList: TagLike | Iterable[TagLike] | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class N_DELETE(DIMSEPrimitive):
    """N-DELETE: delete a managed SOP instance (PS3.7 10.1.6).

    Args:
        MessageID: Message ID (0000,0110), US. Request: M (mandatory). Response: - (not used).
        MessageIDBeingRespondedTo: Message ID Being Responded To (0000,0120), US. Request: - (not
            used). Response: M (mandatory).
        RequestedSOPClassUID: Requested SOP Class UID (0000,0003), UI. Request: M (mandatory).
            Response: - (not used).
        RequestedSOPInstanceUID: Requested SOP Instance UID (0000,1001), UI. Request: M (mandatory).
            Response: - (not used).
        AffectedSOPClassUID: Affected SOP Class UID (0000,0002), UI. Request: - (not used).
            Response: U (user option).
        AffectedSOPInstanceUID: Affected SOP Instance UID (0000,1000), UI. Request: - (not used).
            Response: U (user option).
        Status: Status (0000,0900), US. Request: - (not used). Response: M (mandatory).
        ErrorComment: Error Comment (0000,0902), LO. Request: - (not used). Response: C
            (conditional): may be present only when the Status is a Warning or a Failure.
        ErrorID: Error ID (0000,0903), US. Request: - (not used). Response: C (conditional): may be
            present only when the Status is a Warning or a Failure.
    """

    SERVICE = SERVICES["N-DELETE"]
    MessageID = _US()
    MessageIDBeingRespondedTo = _US()
    RequestedSOPClassUID = _UI()
    RequestedSOPInstanceUID = _UI()
    AffectedSOPClassUID = _UI()
    AffectedSOPInstanceUID = _UI()
    Status = _US()
    ErrorComment = _LO()
    ErrorID = _US()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            MessageID: int | None = None,
            MessageIDBeingRespondedTo: int | None = None,
            RequestedSOPClassUID: UID | str | bytes | None = None,
            RequestedSOPInstanceUID: UID | str | bytes | None = None,
            AffectedSOPClassUID: UID | str | bytes | None = None,
            AffectedSOPInstanceUID: UID | str | bytes | None = None,
            Status: int | None = None,
            ErrorComment: str | None = None,
            ErrorID: int | None = None,
        ) -> None:
            """Every parameter by keyword; None (the default) leaves it absent."""


class UnknownMessage(DIMSEPrimitive):
    """A command set whose CommandField names no DIMSE message; every element is kept raw."""

    @property
    def command_field(self) -> int | None:
        """The (0000,0100) value found, or ``None`` if there was none."""
        value: int | None = self.__dict__.get("_command_field")
        return value


PRIMITIVES: dict[str, type[DIMSEPrimitive]] = {
    cls.SERVICE.name: cls
    for cls in (
        C_STORE,
        C_FIND,
        C_GET,
        C_MOVE,
        C_ECHO,
        C_CANCEL,
        N_EVENT_REPORT,
        N_GET,
        N_SET,
        N_ACTION,
        N_CREATE,
        N_DELETE,
    )
    if cls.SERVICE is not None
}
"""The primitive class of each DIMSE service, by service name."""

if set(PRIMITIVES) != set(SERVICES):
    raise TypeError("every service of the PS3.7 table needs a primitive class")
