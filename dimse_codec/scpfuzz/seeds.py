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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from hypothesis import strategies as st

from dimse_codec.dataset import decode_dataset, encode_dataset
from dimse_codec.dimse.codec import decode_command_set, encode_command_set
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.replay import CapturedAssociation
from dimse_codec.scpfuzz.cases import CaseGroup
from dimse_codec.scpfuzz.model import Case, Expect, Step, Target
from dimse_codec.scpfuzz.mutate import (
    Message,
    broken_command,
    broken_dataset,
    broken_pdu,
    fragment_for,
    message_bytes,
)
from dimse_codec.scpfuzz.steps import release_step

__all__ = ["SEED_KINDS", "PlacedSeed", "Seed", "capture_seeds", "placed_seeds", "seed_groups"]

SEED_KINDS = ("seed", "seed-command", "seed-dataset", "seed-pdu")
"""The kinds of seeded cases: a captured request as captured, then broken at each level."""


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


def _message(placed: PlacedSeed) -> Message:
    """A placed seed as the message :mod:`~dimse_codec.scpfuzz.mutate` breaks."""
    seed = placed.seed
    return Message(
        seed.name, seed.command_set, placed.dataset, placed.context_id, placed.transfer_syntax
    )


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
    data = message_bytes(seed.command_set, chosen.dataset, chosen.context_id, fragment_for(target))
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
    flaw, data = broken_command(draw, _message(chosen), target)
    return Case(
        "seed-command",
        False,
        f"captured {seed.name} ({seed.origin}) with {flaw}",
        (_association_step(target), Step(f"{seed.name}: {flaw}", data, Expect.RESPONSE)),
        _details(chosen, flaw=flaw),
    )


@st.composite
def _broken_dataset(draw: st.DrawFn, target: Target, placed: Sequence[PlacedSeed]) -> Case:
    """A captured request whose data set is cut short or replaced by a broken one."""
    chosen = draw(st.sampled_from(placed))
    seed = chosen.seed
    flaw, data = broken_dataset(draw, _message(chosen), target)
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
    flaw, data = broken_pdu(draw, _message(chosen), target)
    return Case(
        "seed-pdu",
        False,
        f"captured {seed.name} ({seed.origin}) with {flaw}",
        (_association_step(target), Step(f"{seed.name}: {flaw}", data, Expect.RESPONSE)),
        _details(chosen, flaw=flaw),
    )
