"""P-DATA encoding: a DIMSE message cut into P-DATA-TF PDUs for a peer's maximum length.

PS3.8 9.3.5 and Annex E.

Nothing is copied per fragment: each PDU comes out as a tuple of buffers, small prebuilt headers
(built from the construct declarations of the PDU and PDV headers) and ``memoryview`` slices of
the command set and data set, ready for ``writer.writelines`` or ``socket.sendmsg``. Iterating is
lazy, so a 2 GB data set is never joined. See :mod:`dimse_codec.pdata.limits` for the model of
what the maximum length counts.

The P-DATA quirks of :data:`~dimse_codec.tables.quirks.CATALOGUE` (odd fragments, PDUs sized to
the wrong limit, no PDV for an empty data set ...) bend that plan on purpose, to reproduce real
peers; without them the output is the conformant one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from dimse_codec._wire import byte_view
from dimse_codec.dimse.codec import EncodedMessage, encode_message
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import EncodeError, InvalidParameter, InvalidParameterType
from dimse_codec.pdata.limits import (
    MAX_PDU_LENGTH_FIELD,
    PDV_OVERHEAD,
    fragment_size,
)
from dimse_codec.pdata.structures import (
    PDU_HEADER_STRUCT,
    PDU_PDV_HEADER_STRUCT,
    PDV_HEADER_STRUCT,
)
from dimse_codec.pdu.pdus import MCH_COMMAND, MCH_LAST, PDataTF
from dimse_codec.tables.quirks import CATALOGUE, Quirk, QuirkLayer, select_quirks

__all__ = ["Buffer", "PDataMessage", "encode_pdata", "fragment_message"]

Buffer = bytes | bytearray | memoryview
"""A bytes-like piece of a PDU; write the pieces in order."""

_P_DATA_TF = PDataTF.pdu_type
_LAST_DATA = MCH_LAST
_LAST_COMMAND = MCH_COMMAND | MCH_LAST

_Pdv = tuple[int, memoryview]
"""A message control header byte and the fragment it heads."""

_PDATA_LAYER = frozenset({QuirkLayer.PDATA})
_ALL_LAYERS = frozenset(QuirkLayer)
_SIZE_QUIRKS = frozenset({Quirk.ODD_FRAGMENTS, Quirk.OFF_BY_6_MAX_PDU, Quirk.MAX_PDU_MINUS_12})
_NONZERO_RESERVED = 0xFF
"""What :attr:`Quirk.NONZERO_RESERVED` writes in a P-DATA-TF header's reserved byte."""


def _shaped(room: int, odd: bool) -> int:
    """The fragment size ``room`` bytes allow: even (PS3.8 E.1), or odd for ODD_FRAGMENTS."""
    if odd:
        return max(room if room & 1 else room - 1, 1)
    return max(room & ~1, 2)


def _budget_shift(max_pdu_length: int, quirks: frozenset[Quirk]) -> int:
    """How far OFF_BY_6_MAX_PDU / MAX_PDU_MINUS_12 move the PDU-length a plan aims at."""
    if Quirk.OFF_BY_6_MAX_PDU in quirks and max_pdu_length:
        return PDV_OVERHEAD
    if Quirk.MAX_PDU_MINUS_12 in quirks:
        return -PDV_OVERHEAD
    return 0


@dataclass(frozen=True, slots=True)
class PDataMessage:
    """One DIMSE message planned as P-DATA-TF PDUs; iterate it (again and again) for each PDU.

    Each item of the iteration is one PDU as a tuple of buffers: the headers are small ``bytes``,
    the fragments are ``memoryview`` slices of :attr:`command_set` and :attr:`dataset`.
    :attr:`quirks` holds the P-DATA quirks the plan reproduces (empty: conformant framing).
    """

    command_set: memoryview
    dataset: memoryview | None
    context_id: int
    max_pdu_length: int
    pdvs_per_pdu: int = 1
    command_with_data: bool = False
    quirks: frozenset[Quirk] = frozenset()
    """The catalogue's P-DATA quirks this plan shows, those set by the options included."""

    @property
    def fragment_size(self) -> int:
        """The fragment size of every PDV but the last of the command and of the data set."""
        quirks = self.quirks
        if quirks.isdisjoint(_SIZE_QUIRKS):
            return fragment_size(self.max_pdu_length, self.pdvs_per_pdu)
        limit = self.max_pdu_length or MAX_PDU_LENGTH_FIELD
        room = limit // self.pdvs_per_pdu - PDV_OVERHEAD
        room += _budget_shift(self.max_pdu_length, quirks)
        return _shaped(room, Quirk.ODD_FRAGMENTS in quirks)

    def __iter__(self) -> Iterator[tuple[Buffer, ...]]:
        """Yield each PDU as a tuple of buffers: PDU header, then PDV header and fragment pairs."""
        size = self.fragment_size
        reserved = _NONZERO_RESERVED if Quirk.NONZERO_RESERVED in self.quirks else 0
        command = _pdvs(self.command_set, 0, size, _LAST_COMMAND)
        data = self.dataset
        if data is not None and not len(data) and Quirk.NO_EMPTY_LAST_PDV in self.quirks:
            data = None  # announced by CommandDataSetType, yet never sent
        if data is None:
            yield from _grouped(command, self.pdvs_per_pdu, self.context_id, reserved)
            return
        if not self.command_with_data:
            yield from _grouped(command, self.pdvs_per_pdu, self.context_id, reserved)
            yield from self._data(0, size, reserved)
            return
        groups = list(_grouped_pdvs(command, self.pdvs_per_pdu))
        last = groups.pop()
        yield from (_pdu(group, self.context_id, reserved) for group in groups)
        room = self._room(last, len(data))
        if room is None:
            yield _pdu(last, self.context_id, reserved)
            yield from self._data(0, size, reserved)
            return
        first = data[:room]
        last.append((_LAST_DATA if room == len(data) else 0, first))
        yield _pdu(last, self.context_id, reserved)
        if room < len(data):
            yield from self._data(room, size, reserved)

    def _room(self, group: list[_Pdv], remaining: int) -> int | None:
        """How many data bytes fit beside the last command PDU's PDVs, or None for none."""
        used = sum(len(fragment) + PDV_OVERHEAD for _, fragment in group)
        budget = self.max_pdu_length or MAX_PDU_LENGTH_FIELD
        budget += _budget_shift(self.max_pdu_length, self.quirks)
        free = budget - used - PDV_OVERHEAD
        if remaining == 0:  # an empty data set: its one empty PDV fits if a header does
            return 0 if free >= 0 else None
        odd = Quirk.ODD_FRAGMENTS in self.quirks
        room = (free if free & 1 else free - 1) if odd else free & ~1
        if room < (1 if odd else 2):
            return None
        return min(room, remaining)

    def _data(self, start: int, size: int, reserved: int = 0) -> Iterator[tuple[Buffer, ...]]:
        """Yield the data set's PDUs from ``start``: the one-PDV fast path or grouped PDVs."""
        data = self.dataset
        if data is None:
            return
        if self.pdvs_per_pdu == 1:
            yield from _single_pdv_pdus(data, start, size, self.context_id, reserved)
        else:
            pdvs = _pdvs(data, start, size, _LAST_DATA)
            yield from _grouped(pdvs, self.pdvs_per_pdu, self.context_id, reserved)

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
    view: memoryview, start: int, size: int, context_id: int, reserved: int = 0
) -> Iterator[tuple[Buffer, ...]]:
    """The hot path: one data PDV per PDU with one prebuilt 12-byte header for full fragments."""
    end = len(view)
    full = PDU_PDV_HEADER_STRUCT.pack(
        _P_DATA_TF, reserved, size + PDV_OVERHEAD, size + 2, context_id, 0
    )
    pos = start
    while end - pos > size:
        yield full, view[pos : pos + size]
        pos += size
    rest = end - pos
    yield (
        PDU_PDV_HEADER_STRUCT.pack(
            _P_DATA_TF, reserved, rest + PDV_OVERHEAD, rest + 2, context_id, _LAST_DATA
        ),
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


def _grouped(
    pdvs: Iterator[_Pdv], per_pdu: int, context_id: int, reserved: int = 0
) -> Iterator[tuple[Buffer, ...]]:
    """PDUs of ``per_pdu`` PDVs each."""
    for group in _grouped_pdvs(pdvs, per_pdu):
        yield _pdu(group, context_id, reserved)


def _pdu(group: list[_Pdv], context_id: int, reserved: int = 0) -> tuple[Buffer, ...]:
    """One P-DATA-TF: its header (``reserved`` is 0 but for a quirk), then each PDV."""
    parts: list[Buffer] = [
        PDU_HEADER_STRUCT.pack(_P_DATA_TF, reserved, sum(len(f) + PDV_OVERHEAD for _, f in group))
    ]
    for mch, fragment in group:
        parts.append(PDV_HEADER_STRUCT.pack(len(fragment) + 2, context_id, mch))
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
    quirks: Iterable[Quirk] = (),
) -> PDataMessage:
    """Plan command-set bytes and optional data set bytes as P-DATA-TF PDUs on ``context_id``.

    ``max_pdu_length`` is the peer's Maximum Length Received (0: no limit). By default every PDU
    carries one PDV and the data set starts in a new PDU, as DCMTK does; ``pdvs_per_pdu`` packs
    that many PDVs of the message into each PDU (fragments shrink so they still fit) and
    ``command_with_data`` lets the data set's first fragment share the last command PDU. A
    ``dataset`` of ``b""`` still gets its one, empty, last PDV. Raises InvalidParameter for a bad
    limit or context ID and EncodeError for an odd-length command or data set (fragments must be
    even, and an odd data set is never valid DICOM).

    ``quirks`` reproduces real peers' P-DATA deviations (see
    :data:`~dimse_codec.tables.quirks.CATALOGUE`); a command-set quirk raises InvalidParameter
    here, since the command set is already bytes. ``SEVERAL_PDVS_PER_PDU`` and
    ``COMMAND_WITH_DATA`` are the two options above under their catalogue names: naming one sets
    its option (two PDVs per PDU unless ``pdvs_per_pdu`` says more), and the plan's ``quirks``
    lists them whichever way they were asked for.
    """
    chosen = select_quirks(quirks, _PDATA_LAYER, "fragment_message")
    if Quirk.SEVERAL_PDVS_PER_PDU in chosen and pdvs_per_pdu == 1:
        pdvs_per_pdu = 2
    if Quirk.COMMAND_WITH_DATA in chosen:
        command_with_data = True
    if {Quirk.OFF_BY_6_MAX_PDU, Quirk.MAX_PDU_MINUS_12} <= chosen:
        raise InvalidParameter(
            "OFF_BY_6_MAX_PDU and MAX_PDU_MINUS_12 pull the fragment size opposite ways; "
            "choose one",
            path="quirks",
        )
    fragment_size(max_pdu_length, pdvs_per_pdu)  # validates both
    if pdvs_per_pdu > 1:
        chosen |= {Quirk.SEVERAL_PDVS_PER_PDU}
    if command_with_data:
        chosen |= {Quirk.COMMAND_WITH_DATA}
    if isinstance(context_id, bool) or not isinstance(context_id, int):
        raise InvalidParameterType(
            f"context_id must be an int, not {type(context_id).__name__}", path="context_id"
        )
    if not (1 <= context_id <= 255 and context_id & 1):
        raise InvalidParameter(
            f"context_id {context_id} is not an odd number from 1 to 255 (PS3.8 9.3.2.2)",
            path="context_id",
        )
    command_view = byte_view(command_set, "command_set")
    data_view = None if dataset is None else byte_view(dataset, "dataset")
    for name, view in (("command set", command_view), ("data set", data_view)):
        if view is not None and len(view) & 1:
            raise EncodeError(
                f"the {name} is {len(view)} bytes long; DICOM needs an even length and "
                "peers such as DCMTK abort on an odd fragment",
                path=name,
            )
    return PDataMessage(
        command_view,
        data_view,
        context_id,
        max_pdu_length,
        pdvs_per_pdu,
        bool(command_with_data),
        chosen,
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
    quirks: Iterable[Quirk] = (),
    omit: Iterable[str] = (),
    as_is: bool = False,
) -> PDataMessage:
    """Encode a primitive (or an already encoded message) and plan it as P-DATA-TF PDUs.

    ``context_id`` defaults to the primitive's own ``context_id``. The other arguments are those
    of :func:`~dimse_codec.encode_message` and :func:`fragment_message`; ``quirks`` may mix both
    layers' quirks, each layer applying its own (with an :class:`EncodedMessage`, whose command
    set is already bytes, command-set quirks and ``omit`` raise InvalidParameter). A ``Dataset``
    parameter is checked against the primitive's ``transfer_syntax`` as
    :func:`~dimse_codec.encode_message` does, and ``as_is`` skips that check on purpose.
    """
    chosen = select_quirks(quirks, _ALL_LAYERS, "encode_pdata")
    command_quirks = frozenset(q for q in chosen if CATALOGUE[q].layer is QuirkLayer.COMMAND_SET)
    if isinstance(message, EncodedMessage):
        if command_quirks or omit:
            raise InvalidParameter(
                "encode_pdata: command-set quirks and omit need a primitive, not an "
                "EncodedMessage (its command set is already bytes)",
                path="quirks",
            )
        encoded = message
    elif isinstance(message, DIMSEPrimitive):
        encoded = encode_message(
            message,
            is_request=is_request,
            canonical=canonical,
            check=check,
            quirks=command_quirks,
            omit=omit,
            as_is=as_is,
        )
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
        quirks=chosen - command_quirks,
    )
