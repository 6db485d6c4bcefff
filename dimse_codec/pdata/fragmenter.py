"""P-DATA encoding: a DIMSE message cut into P-DATA-TF PDUs for a peer's maximum length.

PS3.8 9.3.5 and Annex E.

Nothing is copied per fragment: each PDU comes out as a tuple of buffers, small prebuilt headers
(built from the construct declarations of the PDU and PDV headers) and ``memoryview`` slices of
the command set and data set, ready for ``writer.writelines`` or ``socket.sendmsg``. Iterating is
lazy, so a 2 GB data set is never joined. See :mod:`dimse_codec.pdata.limits` for the model of
what the maximum length counts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from dimse_codec.dimse.codec import EncodedMessage, encode_message
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import EncodeError, InvalidParameter, InvalidParameterType
from dimse_codec.pdata.limits import (
    MAX_PDU_LENGTH_FIELD,
    PDV_OVERHEAD,
    fragment_size,
)
from dimse_codec.pdu.pdus import MCH_COMMAND, MCH_LAST, PDataTF
from dimse_codec.pdu.structures import PDU_HEADER, PDV_HEADER, struct_of

__all__ = ["Buffer", "PDataMessage", "encode_pdata", "fragment_message"]

Buffer = bytes | bytearray | memoryview
"""A bytes-like piece of a PDU; write the pieces in order."""

_PDU_HEADER = struct_of(PDU_HEADER)
_PDV_HEADER = struct_of(PDV_HEADER)
_BOTH = struct.Struct(_PDU_HEADER.format + _PDV_HEADER.format.lstrip("><!="))
"""A P-DATA-TF header followed by its single PDV's header: 12 bytes packed at once."""
_P_DATA_TF = PDataTF.pdu_type
_LAST_DATA = MCH_LAST
_LAST_COMMAND = MCH_COMMAND | MCH_LAST

_Pdv = tuple[int, memoryview]
"""A message control header byte and the fragment it heads."""


def _as_view(data: object, name: str) -> memoryview:
    """View a bytes-like parameter as unsigned bytes, refusing other types by name."""
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError as exc:
        raise InvalidParameterType(
            f"{name} must be bytes, bytearray or memoryview, not {type(data).__name__}",
            path=name,
        ) from exc
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


@dataclass(frozen=True, slots=True)
class PDataMessage:
    """One DIMSE message planned as P-DATA-TF PDUs; iterate it (again and again) for each PDU.

    Each item of the iteration is one PDU as a tuple of buffers: the headers are small ``bytes``,
    the fragments are ``memoryview`` slices of :attr:`command_set` and :attr:`dataset`.
    """

    command_set: memoryview
    dataset: memoryview | None
    context_id: int
    max_pdu_length: int
    pdvs_per_pdu: int = 1
    command_with_data: bool = False

    @property
    def fragment_size(self) -> int:
        """The fragment size of every PDV but the last of the command and of the data set."""
        return fragment_size(self.max_pdu_length, self.pdvs_per_pdu)

    def __iter__(self) -> Iterator[tuple[Buffer, ...]]:
        """Yield each PDU as a tuple of buffers: PDU header, then PDV header and fragment pairs."""
        size = self.fragment_size
        command = _pdvs(self.command_set, 0, size, _LAST_COMMAND)
        data = self.dataset
        if data is None:
            yield from _grouped(command, self.pdvs_per_pdu, self.context_id)
            return
        if not self.command_with_data:
            yield from _grouped(command, self.pdvs_per_pdu, self.context_id)
            yield from self._data(0, size)
            return
        groups = list(_grouped_pdvs(command, self.pdvs_per_pdu))
        last = groups.pop()
        yield from (_pdu(group, self.context_id) for group in groups)
        room = self._room(last, len(data))
        if room is None:
            yield _pdu(last, self.context_id)
            yield from self._data(0, size)
            return
        first = data[:room]
        last.append((_LAST_DATA if room == len(data) else 0, first))
        yield _pdu(last, self.context_id)
        if room < len(data):
            yield from self._data(room, size)

    def _room(self, group: list[_Pdv], remaining: int) -> int | None:
        """How many data bytes fit beside the last command PDU's PDVs, or None for none."""
        used = sum(len(fragment) + PDV_OVERHEAD for _, fragment in group)
        budget = self.max_pdu_length or MAX_PDU_LENGTH_FIELD
        room = (budget - used - PDV_OVERHEAD) & ~1
        if room < 2 and not (remaining == 0 and room >= 0):
            return None
        return min(room, remaining)

    def _data(self, start: int, size: int) -> Iterator[tuple[Buffer, ...]]:
        """Yield the data set's PDUs from ``start``: the one-PDV fast path or grouped PDVs."""
        data = self.dataset
        if data is None:
            return
        if self.pdvs_per_pdu == 1:
            yield from _single_pdv_pdus(data, start, size, self.context_id)
        else:
            pdvs = _pdvs(data, start, size, _LAST_DATA)
            yield from _grouped(pdvs, self.pdvs_per_pdu, self.context_id)

    def buffers(self) -> Iterator[Buffer]:
        """Every buffer of every PDU in order, for ``writer.writelines(message.buffers())``."""
        return chain.from_iterable(self)

    def __bytes__(self) -> bytes:
        """All PDUs joined (a copy: for small messages, tests and files, not for large data)."""
        return b"".join(self.buffers())

    @property
    def pdu_count(self) -> int:
        """How many P-DATA-TF PDUs the message takes."""
        return sum(1 for _ in self)

    @property
    def nbytes(self) -> int:
        """How many bytes the PDUs take on the wire, headers included."""
        return sum(len(buffer) for buffer in self.buffers())


def _pdvs(view: memoryview, start: int, size: int, last_mch: int) -> Iterator[_Pdv]:
    """Cut ``view[start:]`` into fragments of ``size`` bytes; always at least one PDV."""
    more = last_mch & MCH_COMMAND
    end = len(view)
    pos = start
    while end - pos > size:
        yield more, view[pos : pos + size]
        pos += size
    yield last_mch, view[pos:end]


def _single_pdv_pdus(
    view: memoryview, start: int, size: int, context_id: int
) -> Iterator[tuple[Buffer, ...]]:
    """The hot path: one data PDV per PDU with one prebuilt 12-byte header for full fragments."""
    end = len(view)
    full = _BOTH.pack(_P_DATA_TF, 0, size + PDV_OVERHEAD, size + 2, context_id, 0)
    pos = start
    while end - pos > size:
        yield full, view[pos : pos + size]
        pos += size
    rest = end - pos
    yield (
        _BOTH.pack(_P_DATA_TF, 0, rest + PDV_OVERHEAD, rest + 2, context_id, _LAST_DATA),
        view[pos:end],
    )


def _grouped_pdvs(pdvs: Iterator[_Pdv], per_pdu: int) -> Iterator[list[_Pdv]]:
    """Group consecutive PDVs, ``per_pdu`` to a PDU."""
    group: list[_Pdv] = []
    for pdv in pdvs:
        group.append(pdv)
        if len(group) == per_pdu:
            yield group
            group = []
    if group:
        yield group


def _grouped(pdvs: Iterator[_Pdv], per_pdu: int, context_id: int) -> Iterator[tuple[Buffer, ...]]:
    """PDUs of ``per_pdu`` PDVs each."""
    for group in _grouped_pdvs(pdvs, per_pdu):
        yield _pdu(group, context_id)


def _pdu(group: list[_Pdv], context_id: int) -> tuple[Buffer, ...]:
    """One P-DATA-TF: its header, then each PDV's header and fragment."""
    parts: list[Buffer] = [
        _PDU_HEADER.pack(_P_DATA_TF, 0, sum(len(f) + PDV_OVERHEAD for _, f in group))
    ]
    for mch, fragment in group:
        parts.append(_PDV_HEADER.pack(len(fragment) + 2, context_id, mch))
        parts.append(fragment)
    return tuple(parts)


def fragment_message(
    command_set: Buffer,
    dataset: Buffer | None,
    context_id: int,
    *,
    max_pdu_length: int,
    pdvs_per_pdu: int = 1,
    command_with_data: bool = False,
) -> PDataMessage:
    """Plan command-set bytes and optional data set bytes as P-DATA-TF PDUs on ``context_id``.

    ``max_pdu_length`` is the peer's Maximum Length Received (0: no limit). By default every PDU
    carries one PDV and the data set starts in a new PDU, as DCMTK does; ``pdvs_per_pdu`` packs
    that many PDVs of the message into each PDU (fragments shrink so they still fit) and
    ``command_with_data`` lets the data set's first fragment share the last command PDU. A
    ``dataset`` of ``b""`` still gets its one, empty, last PDV. Raises InvalidParameter for a bad
    limit or context ID and EncodeError for an odd-length command or data set (fragments must be
    even, and an odd data set is never valid DICOM).
    """
    fragment_size(max_pdu_length, pdvs_per_pdu)  # validates both
    if isinstance(context_id, bool) or not isinstance(context_id, int):
        raise InvalidParameterType(
            f"context_id must be an int, not {type(context_id).__name__}", path="context_id"
        )
    if not (1 <= context_id <= 255 and context_id & 1):
        raise InvalidParameter(
            f"context_id {context_id} is not an odd number from 1 to 255 (PS3.8 9.3.2.2)",
            path="context_id",
        )
    command_view = _as_view(command_set, "command_set")
    data_view = None if dataset is None else _as_view(dataset, "dataset")
    for name, view in (("command set", command_view), ("data set", data_view)):
        if view is not None and len(view) & 1:
            raise EncodeError(
                f"the {name} is {len(view)} bytes long; DICOM needs an even length and "
                "peers such as DCMTK abort on an odd fragment",
                path=name,
            )
    return PDataMessage(
        command_view, data_view, context_id, max_pdu_length, pdvs_per_pdu, command_with_data
    )


def encode_pdata(
    message: DIMSEPrimitive | EncodedMessage,
    context_id: int | None = None,
    *,
    max_pdu_length: int,
    is_request: bool | None = None,
    pdvs_per_pdu: int = 1,
    command_with_data: bool = False,
    canonical: bool = False,
    check: bool = True,
) -> PDataMessage:
    """Encode a primitive (or an already encoded message) and plan it as P-DATA-TF PDUs.

    ``context_id`` defaults to the primitive's own ``context_id``. The other arguments are those
    of :func:`~dimse_codec.encode_message` and :func:`fragment_message`.
    """
    if isinstance(message, EncodedMessage):
        encoded = message
    elif isinstance(message, DIMSEPrimitive):
        encoded = encode_message(message, is_request=is_request, canonical=canonical, check=check)
        if context_id is None:
            context_id = message.context_id
    else:
        raise InvalidParameterType(
            f"expected a DIMSE primitive or an EncodedMessage, not {type(message).__name__}",
            path="message",
        )
    if context_id is None:
        raise InvalidParameter(
            "no context_id: pass one, or set the primitive's context_id", path="context_id"
        )
    return fragment_message(
        encoded.command_set,
        encoded.dataset,
        context_id,
        max_pdu_length=max_pdu_length,
        pdvs_per_pdu=pdvs_per_pdu,
        command_with_data=command_with_data,
    )
