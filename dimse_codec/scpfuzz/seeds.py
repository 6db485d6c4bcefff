"""Cases from the requests of a real capture (``dimse-codec fuzz --seed-capture``), sans-I/O.

:func:`capture_seeds` takes every whole request the requestors of a capture sent (from the
scripts of :mod:`dimse_codec.replay`) as a :class:`Seed`. :func:`seed_groups` turns them into
two groups of cases for :func:`~dimse_codec.scpfuzz.cases.cases_first`: the captured requests as
captured (their command set byte for byte, their data set as captured or re-encoded for the
context the SCP accepted, cut for its maximum length), and the same requests broken in one way
at the DIMSE level (:func:`~dimse_codec.strategies.damaged_command_sets`), the data set level
(the captured data set cut short, or one of :func:`~dimse_codec.strategies.malformed_datasets`
in its place) or the PDU level (a wrong PDU length, an unproposed context ID, PDUs over the
SCP's maximum). A seed goes on the fuzzer's own association, so only the seeds whose SOP class
the SCP accepted in :func:`~dimse_codec.scpfuzz.cases.proposal`'s proposal apply; the others
are counted by :func:`placed_seeds`' caller, not sent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from hypothesis import strategies as st

from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH
from dimse_codec.dataset import decode_dataset, encode_dataset
from dimse_codec.dimse.codec import decode_command_set, encode_command_set
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import fragment_size
from dimse_codec.replay import CapturedAssociation
from dimse_codec.scpfuzz.cases import CaseGroup
from dimse_codec.scpfuzz.model import Case, Expect, Step, Target
from dimse_codec.scpfuzz.steps import release_step
from dimse_codec.strategies import damaged_command_sets, malformed_datasets
from dimse_codec.strategies.datasets import STANDARD_TRANSFER_SYNTAXES
from dimse_codec.strategies.raw import message_pdvs, one_pdv_per_pdu

__all__ = ["SEED_KINDS", "PlacedSeed", "Seed", "capture_seeds", "placed_seeds", "seed_groups"]

SEED_KINDS = ("seed", "seed-command", "seed-dataset", "seed-pdu")
"""The kinds of seeded cases: a captured request as captured, then broken at each level."""

_UNPROPOSED_CONTEXT = 255
"""A context ID the fuzzer's proposal never uses."""
_LENGTH_DELTAS = (-4, -2, -1, 1, 2, 4, 0x10000)
"""How far a broken PDU length is from the right one."""


@dataclass(frozen=True, slots=True)
class Seed:
    """One request a requestor sent in a capture, as it was on the wire."""

    name: str
    """Its message type, e.g. ``C-STORE-RQ``."""
    origin: str
    """Where it was: ``association 1 request 2`` (numbers of ``decode`` and ``replay``)."""
    command_set: bytes
    dataset: bytes | None
    transfer_syntax: str | None
    abstract_syntax: str

    @property
    def primitive(self) -> DIMSEPrimitive:
        """The request decoded (a fresh object each time)."""
        return decode_command_set(self.command_set)


@dataclass(frozen=True, slots=True)
class PlacedSeed:
    """A seed on one of the contexts the SCP accepted: its data set in that context's syntax."""

    seed: Seed
    context_id: int
    transfer_syntax: str
    dataset: bytes | None
    canonical: bool
    """Whether the command set encodes canonically (only then is it broken element-wise)."""


def capture_seeds(associations: Iterable[CapturedAssociation]) -> list[Seed]:
    """Every whole request the requestors sent in a capture's associations (the scripts of
    :func:`~dimse_codec.replay.captured_associations`), in order, C-CANCELs excepted."""
    seeds = []
    for association in associations:
        for number, exchange in enumerate(association.exchanges, start=1):
            message = exchange.request
            if not exchange.complete or message.abstract_syntax is None:
                continue  # bytes lost, or no A-ASSOCIATE seen to name its SOP class
            seeds.append(
                Seed(
                    message.name,
                    f"association {association.index} request {number}",
                    bytes(message.command_set),
                    None if message.dataset is None else bytes(message.dataset),
                    message.transfer_syntax,
                    message.abstract_syntax,
                )
            )
    return seeds


def placed_seeds(seeds: Sequence[Seed], target: Target) -> list[PlacedSeed]:
    """The seeds the SCP can take on the fuzzer's association: those of a SOP class it accepted
    (with the captured transfer syntax if it accepted that, else re-encoded for another)."""
    association = target.association
    placed = []
    for seed in seeds:
        context_id = association.context_id_for(
            seed.abstract_syntax, seed.transfer_syntax
        ) or association.context_id_for(seed.abstract_syntax)
        if context_id is None:
            continue
        syntax = target.accepted[context_id].transfer_syntax
        data = seed.dataset
        if data is not None and seed.transfer_syntax not in (None, syntax):
            try:
                data = encode_dataset(decode_dataset(data, seed.transfer_syntax), syntax)
            except (DimseCodecError, ValueError):
                continue  # the captured data set cannot go in the accepted syntax
        canonical = _canonical(seed)
        placed.append(PlacedSeed(seed, context_id, syntax, data, canonical))
    return placed


def _canonical(seed: Seed) -> bool:
    """Whether the captured command set is a valid message that encodes canonically."""
    try:
        encode_command_set(seed.primitive, canonical=True)
    except DimseCodecError:
        return False
    return True


def seed_groups(seeds: Sequence[Seed]) -> tuple[CaseGroup, CaseGroup]:
    """The captured requests as captured, and broken: two groups for ``cases_first``."""

    def as_captured(target: Target) -> list[st.SearchStrategy[Case]]:
        placed = placed_seeds(seeds, target)
        return [_as_captured(target, placed)] if placed else []

    def broken(target: Target) -> list[st.SearchStrategy[Case]]:
        placed = placed_seeds(seeds, target)
        if not placed:
            return []
        out = [_broken_pdu(target, placed)]
        canonical = [p for p in placed if p.canonical]
        if canonical:
            out.insert(0, _broken_command(target, canonical))
        with_data = [p for p in placed if p.dataset]
        if with_data:
            out.insert(len(out) - 1, _broken_dataset(target, with_data))
        return out

    return as_captured, broken


# -- the cases -----------------------------------------------------------------------------------


def _association_step(target: Target) -> Step:
    return Step("A-ASSOCIATE-RQ", target.request_bytes, Expect.ASSOCIATION)


def _size(target: Target) -> int:
    """The PDV fragment size for the SCP's maximum length, as a conforming requestor cuts."""
    return fragment_size(target.peer_max_pdu_length or DEFAULT_MAX_PDU_LENGTH)


def _pdata(command: bytes, data: bytes | None, context_id: int, size: int) -> bytes:
    return one_pdv_per_pdu(message_pdvs(command, data, context_id, size))


def _details(placed: PlacedSeed, **values: object) -> Mapping[str, object]:
    """Frozen JSON-ready details of a seeded case."""
    seed = placed.seed
    return MappingProxyType(
        {
            "message": seed.name,
            "origin": seed.origin,
            "context_id": placed.context_id,
            "transfer_syntax": placed.transfer_syntax,
            **values,
        }
    )


@st.composite
def _as_captured(draw: st.DrawFn, target: Target, placed: Sequence[PlacedSeed]) -> Case:
    """A captured request as it was: command set byte for byte, cut for the SCP's maximum."""
    chosen = draw(st.sampled_from(placed))
    seed = chosen.seed
    data = _pdata(seed.command_set, chosen.dataset, chosen.context_id, _size(target))
    size = 0 if chosen.dataset is None else len(chosen.dataset)
    return Case(
        "seed",
        True,
        f"captured {seed.name} ({seed.origin}) as captured, with a {size}-byte data set, "
        f"on context {chosen.context_id}",
        (_association_step(target), Step(seed.name, data, Expect.RESPONSE), release_step()),
        _details(chosen, dataset_length=size),
    )


@st.composite
def _broken_command(draw: st.DrawFn, target: Target, placed: Sequence[PlacedSeed]) -> Case:
    """A captured request whose command set is broken in one way (DIMSE level)."""
    chosen = draw(st.sampled_from(placed))
    seed = chosen.seed
    broken = draw(damaged_command_sets(seed.primitive))
    data = _pdata(broken.data, chosen.dataset, chosen.context_id, _size(target))
    return Case(
        "seed-command",
        False,
        f"captured {seed.name} ({seed.origin}) with {broken.defect}",
        (_association_step(target), Step(f"{seed.name}: {broken.defect}", data, Expect.RESPONSE)),
        _details(chosen, flaw=broken.defect),
    )


@st.composite
def _broken_dataset(draw: st.DrawFn, target: Target, placed: Sequence[PlacedSeed]) -> Case:
    """A captured request whose data set is cut short or replaced by a broken one."""
    chosen = draw(st.sampled_from(placed))
    seed = chosen.seed
    dataset = chosen.dataset or b""
    standard = chosen.transfer_syntax in {s.uid for s in STANDARD_TRANSFER_SYNTAXES}
    if standard and (len(dataset) < 2 or draw(st.booleans())):
        replaced = draw(malformed_datasets(transfer_syntax=chosen.transfer_syntax))
        flaw, dataset = replaced.defect, replaced.data
    else:
        cut = draw(st.integers(min_value=1, max_value=max(len(dataset) - 1, 1)))
        flaw, dataset = f"data set cut after {cut} of {len(dataset)} bytes", dataset[:cut]
    data = _pdata(seed.command_set, dataset, chosen.context_id, _size(target))
    return Case(
        "seed-dataset",
        False,
        f"captured {seed.name} ({seed.origin}) whose data set has {flaw}",
        (_association_step(target), Step(f"{seed.name} data set: {flaw}", data, Expect.RESPONSE)),
        _details(chosen, flaw=flaw),
    )


@st.composite
def _broken_pdu(draw: st.DrawFn, target: Target, placed: Sequence[PlacedSeed]) -> Case:
    """A captured request in P-DATA-TF PDUs broken in one way (PDU level)."""
    chosen = draw(st.sampled_from(placed))
    seed = chosen.seed
    flaws = ["PDU length", "unproposed context"]
    peer = target.peer_max_pdu_length
    if peer > 0 and len(seed.command_set) + len(chosen.dataset or b"") > fragment_size(peer):
        flaws.append("PDU over the maximum")  # the message is long enough to need one
    kind = draw(st.sampled_from(flaws))
    size, context_id = _size(target), chosen.context_id
    if kind == "unproposed context":
        context_id = _UNPROPOSED_CONTEXT
    elif kind == "PDU over the maximum":
        size = fragment_size(peer * 2)
    data = bytearray(_pdata(seed.command_set, chosen.dataset, context_id, size))
    flaw = f"{kind} (context {context_id})" if kind == "unproposed context" else kind
    if kind == "PDU length":
        delta = draw(st.sampled_from(_LENGTH_DELTAS))
        (length,) = struct.unpack_from(">L", data, 2)
        struct.pack_into(">L", data, 2, max(length + delta, 0) & 0xFFFFFFFF)
        flaw = f"PDU length {'+' if delta > 0 else ''}{delta} from the right one"
    return Case(
        "seed-pdu",
        False,
        f"captured {seed.name} ({seed.origin}) with {flaw}",
        (_association_step(target), Step(f"{seed.name}: {flaw}", bytes(data), Expect.RESPONSE)),
        _details(chosen, flaw=flaw),
    )
