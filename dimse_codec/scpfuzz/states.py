"""Stateful cases generated from PS3.8 Table 9-10: every PDU a requestor can send, in every state.

The acceptor's states a requestor can drive an SCP into, and hold it in while it sends the next
PDU, are few: Sta2 (connected, nothing sent), Sta6 (associated; also with a message half sent)
and Sta13 (after the SCP answered an A-RELEASE-RQ). :data:`PRELUDES` gets there, and for each
state every PDU type a requestor can send (:data:`TRIGGERS`: the seven of PS3.8 9.3, well formed,
from :mod:`dimse_codec.strategies`, and an undefined type for Evt19) makes a case
(``state-table``), so every reachable cell of the table is exercised. The passing states Sta3
and Sta8 (the SCP between an A-ASSOCIATE-RQ or A-RELEASE-RQ and its own answer) are raced: the
PDU goes right behind, in the same step, and lands there only if the SCP reads it before
answering (:data:`RACED`); the oracle names both cells and takes the answer to the first PDU
as the sign that the second met the later state.

What a conforming SCP answers is not written here: the oracle
(:func:`~dimse_codec.scpfuzz.oracle.judge`) walks the SCP's side of the table over the case's
bytes and names the deciding cell and its action, and
:func:`~dimse_codec.scpfuzz.findings.classify` makes an A-ABORT the table prescribes and the SCP
did not send a ``not-as-prescribed`` finding with that cell in its reason.

:data:`UNREACHABLE` gives, for every other non-empty cell, why no requestor can aim at it.

Three more kinds: ``release-collision`` (the forms a requestor can cause: A-RELEASE-RQ twice,
with a request outstanding or half sent, P-DATA after it), ``abort-at`` (an A-ABORT before the
A-ASSOCIATE-RQ, after every step of a valid case, between the PDVs of one message, inside a PDU)
and ``async-window`` (the Asynchronous Operations Window sub-item proposed, then more requests
sent back to back than it allows). :class:`CellTally` counts which cells a campaign exercised
and how the SCP answered in each, for the campaign's summary. Sans-I/O.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st

from dimse_codec.association import respond
from dimse_codec.dimse.primitives import C_ECHO
from dimse_codec.pdu import (
    PDU,
    AAbort,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    AsynchronousOperationsWindowSubItem,
    UnknownPDU,
    UserInformationItem,
    encode_pdu,
)
from dimse_codec.scpfuzz.findings import Answer, Observation
from dimse_codec.scpfuzz.model import VERIFICATION, Case, Expect, Step, Target
from dimse_codec.scpfuzz.oracle import StepVerdict
from dimse_codec.scpfuzz.steps import details, pdata, release_step, request_step
from dimse_codec.strategies import (
    aborts,
    associate_acs,
    associate_rjs,
    associate_rqs,
    release_rps,
    release_rqs,
    unknown_pdus,
)
from dimse_codec.tables.upper_layer import STATES, TRANSITIONS

__all__ = [
    "KINDS",
    "PRELUDES",
    "RACED",
    "REACHABLE",
    "TRIGGERS",
    "UNREACHABLE",
    "CellTally",
    "Prelude",
    "Trigger",
    "applies",
    "met",
    "table_case",
    "table_cases",
]


@dataclass(frozen=True, slots=True)
class Prelude:
    """How a requestor drives the SCP into ``state``: the steps before the trigger.

    ``half_message`` sends the first P-DATA-TF of a two-PDU C-ECHO-RQ in the trigger's own
    step, so the trigger arrives with a message half received (the state is still Sta6).
    ``race`` sends the trigger right behind the PDU named (A-ASSOCIATE-RQ, A-RELEASE-RQ) in one
    step, racing the SCP's own answer to it: the trigger meets ``state`` only if the SCP reads
    it before answering; a sequential SCP answers first and the oracle's alternative cell holds.
    """

    name: str
    state: str
    description: str
    release: bool = False
    associate: bool = True
    half_message: bool = False
    race: str = ""


PRELUDES: Mapping[str, Prelude] = MappingProxyType(
    {
        p.name: p
        for p in (
            Prelude("connected", "Sta2", "on a new connection, first", associate=False),
            Prelude("associated", "Sta6", "once associated"),
            Prelude("mid-message", "Sta6", "with a C-ECHO-RQ half sent", half_message=True),
            Prelude("released", "Sta13", "after the SCP answered an A-RELEASE-RQ", release=True),
            Prelude(
                "accept-race",
                "Sta3",
                "right behind the A-ASSOCIATE-RQ",
                associate=False,
                race="A-ASSOCIATE-RQ",
            ),
            Prelude("release-race", "Sta8", "right behind an A-RELEASE-RQ", race="A-RELEASE-RQ"),
        )
    }
)
"""The acceptor states a requestor holds the SCP in (in the order of a session), then the two
passing states it can only race into."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A PDU type a requestor can send: its event, what it is, and the answer that accepts it."""

    event: str
    label: str
    expect: Expect


TRIGGERS: tuple[Trigger, ...] = (
    Trigger("Evt6", "A-ASSOCIATE-RQ", Expect.ASSOCIATION),
    Trigger("Evt3", "A-ASSOCIATE-AC", Expect.NOTHING),
    Trigger("Evt4", "A-ASSOCIATE-RJ", Expect.NOTHING),
    Trigger("Evt10", "P-DATA-TF", Expect.RESPONSE),
    Trigger("Evt12", "A-RELEASE-RQ", Expect.RELEASE),
    Trigger("Evt13", "A-RELEASE-RP", Expect.NOTHING),
    Trigger("Evt16", "A-ABORT", Expect.NOTHING),
    Trigger("Evt19", "undefined PDU", Expect.NOTHING),
)
"""Every PDU type of PS3.8 9.3 as its Table 9-10 event, and an undefined one (Evt19)."""

REACHABLE: frozenset[tuple[str, str]] = frozenset(
    (prelude.state, trigger.event)
    for prelude in PRELUDES.values()
    if not prelude.race
    for trigger in TRIGGERS
)
"""The (state, event) cells a requestor reaches for sure: 3 states by 8 received events."""

RACED: frozenset[tuple[str, str]] = frozenset(
    (prelude.state, trigger.event)
    for prelude in PRELUDES.values()
    if prelude.race
    for trigger in TRIGGERS
)
"""The cells of the passing states Sta3 and Sta8, aimed at by racing the SCP's own answer:
reached only by an SCP that reads the next PDU before it answers the one before."""

_LOCAL = frozenset({"Evt1", "Evt2", "Evt5", "Evt7", "Evt8", "Evt9", "Evt11", "Evt14", "Evt15"})


def _why(state: str, event: str) -> str:
    """Why a non-empty cell outside :data:`REACHABLE` cannot be aimed at from the requestor."""
    if event in _LOCAL:
        return "the SCP's own primitive or transport event, not something a requestor sends"
    if event == "Evt17":
        return "the requestor closing the connection: ends every case, but nothing comes back"
    if event == "Evt18":
        return "the ARTIM timer expiring: a timeout, probed separately, not a PDU"
    if state == "Sta1":
        return "no connection: nothing can be received"
    if state in ("Sta4", "Sta5"):
        return "a requestor's state: the SCP never requests an association"
    if state in ("Sta7", "Sta9", "Sta10", "Sta11", "Sta12"):
        return (
            "needs an A-RELEASE-RQ from the SCP (its own release, or a release collision), "
            "which a requestor cannot make an acceptor send"
        )
    raise ValueError(f"no reason known why {state}/{event} is out of reach")  # pragma: no cover


UNREACHABLE: Mapping[tuple[str, str], str] = MappingProxyType(
    {cell: _why(*cell) for cell in sorted(TRANSITIONS) if cell not in REACHABLE | RACED}
)
"""Every other non-empty cell of Table 9-10, with why a requestor cannot aim at it."""


# --- the PDUs ------------------------------------------------------------------------------------


def _echo_bytes(target: Target, message_id: int, limit: int | None = None) -> bytes:
    """A valid C-ECHO-RQ as P-DATA-TF bytes (cut for ``limit``, default the SCP's maximum)."""
    context_id = target.verification_context
    if context_id is None:  # pragma: no cover - the kinds apply only with the context
        raise ValueError("the SCP accepted no Verification context")
    echo = C_ECHO(MessageID=message_id, AffectedSOPClassUID=VERIFICATION)
    return pdata(echo, context_id, target.peer_max_pdu_length if limit is None else limit, 1)


def _first_pdu(data: bytes) -> bytes:
    """The first PDU of a stream of PDUs (by its PDU-length)."""
    return data[: 6 + int.from_bytes(data[2:6], "big")]


def _echo_halves(target: Target, message_id: int) -> tuple[bytes, bytes]:
    """The two P-DATA-TFs of a C-ECHO-RQ whose command set is cut in half."""
    whole = _echo_bytes(target, message_id, 0)
    command = len(whole) - 12  # one PDU of one PDV: 6 + 6 header bytes
    both = _echo_bytes(target, message_id, 6 + command // 2 + command // 2 % 2)
    first = _first_pdu(both)
    return first, both[len(first) :]


def _half_echo(target: Target, message_id: int) -> bytes:
    """The first of the two P-DATA-TFs of a C-ECHO-RQ whose command set is cut in half."""
    return _echo_halves(target, message_id)[0]


@functools.cache
def _pdus(event: str) -> st.SearchStrategy[Any]:
    """Well-formed PDUs of the event's type (not P-DATA: that is a valid C-ECHO-RQ)."""
    strategies: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
        "Evt6": associate_rqs,
        "Evt3": associate_acs,
        "Evt4": associate_rjs,
        "Evt12": release_rqs,
        "Evt13": release_rps,
        "Evt16": aborts,
        "Evt19": unknown_pdus,
    }
    return strategies[event]()


def _canonical(event: str, target: Target) -> PDU:
    """A fixed PDU of the event's type, for :func:`table_cases` (the same bytes every run)."""
    if event == "Evt6":
        return target.request
    if event == "Evt3":
        context_id = target.verification_context or min(target.accepted)
        syntax = target.accepted[context_id].transfer_syntax
        return respond(target.request, {VERIFICATION: [syntax]}).pdu
    fixed: dict[str, PDU] = {
        "Evt4": AAssociateRJ(1, 1, 1),
        "Evt12": AReleaseRQ(),
        "Evt13": AReleaseRP(),
        "Evt16": AAbort(),
    }
    return fixed.get(event, UnknownPDU(0x08, bytes(4)))


def _trigger_bytes(trigger: Trigger, target: Target, pdu: PDU | None, message_id: int) -> bytes:
    """The trigger's bytes: the PDU, or for P-DATA (or no PDU) a valid C-ECHO-RQ."""
    if trigger.event == "Evt10" or pdu is None:
        return _echo_bytes(target, message_id)
    return encode_pdu(pdu)


# --- the state-table kind ------------------------------------------------------------------------


def table_case(
    target: Target, prelude: Prelude, trigger: Trigger, pdu: PDU | None, message_id: int = 1
) -> Case:
    """The case that sends ``pdu`` (of ``trigger``'s type) to the SCP held in ``prelude``'s state.

    The case does not say what the SCP must answer: the oracle reads that off the table. Its
    flaw names the PDU and the state, so a finding is one per cell.
    """
    steps: list[Step] = []
    if prelude.associate:
        steps.append(request_step(target))
    if prelude.release:
        steps.append(release_step())
    data = _trigger_bytes(trigger, target, pdu, message_id)
    label = f"{trigger.label} {prelude.description}"
    expect = trigger.expect
    if prelude.race:  # one step: the SCP may answer either PDU first
        before = target.request_bytes if prelude.race == "A-ASSOCIATE-RQ" else release_step().data
        data, label = before + data, f"{prelude.race} and {trigger.label} at once"
        expect = Expect.NOTHING
    elif prelude.half_message:
        first, rest = _echo_halves(target, message_id)
        if trigger.event == "Evt10":  # the P-DATA-TF that completes the message
            data, label = first + rest, "a C-ECHO-RQ in two P-DATA-TFs at once"
        else:  # the message is lost whatever the SCP does: the table decides, nothing else
            data, label = first + data, f"half a C-ECHO-RQ, then {trigger.label}"
            expect = Expect.NOTHING
    steps.append(Step(label, data, expect))
    action = TRANSITIONS[(prelude.state, trigger.event)]
    return Case(
        "state-table",
        action in _TAKES and not (prelude.half_message and trigger.event != "Evt10"),
        f"{trigger.label} ({trigger.event}) {prelude.description} ({prelude.state}, "
        f"{STATES[prelude.state].description})",
        tuple(steps),
        details(
            flaw=f"{trigger.label} in {prelude.state} ({prelude.name})",
            state=prelude.state,
            event=trigger.event,
            prelude=prelude.name,
        ),
    )


_TAKES = frozenset({"AE-6", "DT-2", "AR-2", "AA-2", "AA-3"})
"""Actions that take the received PDU as the protocol allows it there (a valid case)."""


def table_cases(target: Target) -> list[Case]:
    """One fixed case per prelude and trigger: every cell of :data:`REACHABLE` and :data:`RACED`."""
    return [
        table_case(target, prelude, trigger, _canonical(trigger.event, target))
        for prelude in PRELUDES.values()
        for trigger in TRIGGERS
    ]


_CELLS = tuple((prelude, trigger) for prelude in PRELUDES.values() for trigger in TRIGGERS)


@st.composite
def _state_table(draw: st.DrawFn, target: Target) -> Case:
    prelude, trigger = draw(st.sampled_from(_CELLS))  # one draw: even over the cells
    pdu = None if trigger.event == "Evt10" else draw(_pdus(trigger.event))
    message_id = draw(st.integers(min_value=1, max_value=0xFFFE))
    return table_case(target, prelude, trigger, pdu, message_id)


# --- release collisions --------------------------------------------------------------------------

RELEASE_FORMS: tuple[str, ...] = (
    "A-RELEASE-RQ twice",
    "A-RELEASE-RQ with a request outstanding",
    "A-RELEASE-RQ with a request half sent",
    "P-DATA after the A-RELEASE-RQ",
)
"""The release collisions a requestor can cause (it cannot make the SCP send A-RELEASE-RQ)."""


def release_case(target: Target, form: str, message_id: int = 1) -> Case:
    """One of :data:`RELEASE_FORMS` as a case.

    With a request outstanding the SCP must still answer it (AR-7, P-DATA in Sta8) before its
    A-RELEASE-RP, so the step expects the response; with a request half sent the message is
    lost and the table leaves the SCP the choice (AR-2, or an abort at the DIMSE level), so it
    expects nothing in particular.
    """
    release = encode_pdu(AReleaseRQ())
    steps = [request_step(target)]
    if form == "A-RELEASE-RQ twice":
        steps += [release_step(), Step("A-RELEASE-RQ again", release, Expect.RELEASE)]
    elif form == "A-RELEASE-RQ with a request outstanding":
        data = _echo_bytes(target, message_id) + release
        steps.append(Step("C-ECHO-RQ and A-RELEASE-RQ at once", data, Expect.RESPONSE))
    elif form == "A-RELEASE-RQ with a request half sent":
        data = _half_echo(target, message_id) + release
        steps.append(Step("half a C-ECHO-RQ, then A-RELEASE-RQ", data, Expect.NOTHING))
    elif form == "P-DATA after the A-RELEASE-RQ":
        data = _echo_bytes(target, message_id)
        steps += [release_step(), Step("C-ECHO-RQ after the release", data, Expect.RESPONSE)]
    else:
        raise ValueError(f"unknown release collision {form!r}; known: {RELEASE_FORMS}")
    valid = form == "A-RELEASE-RQ with a request outstanding"  # AR-2, and AR-7 answers it
    return Case("release-collision", valid, form, tuple(steps), details(flaw=form))


@st.composite
def _release_collision(draw: st.DrawFn, target: Target) -> Case:
    form = draw(st.sampled_from(RELEASE_FORMS))
    return release_case(target, form, draw(st.integers(min_value=1, max_value=0xFFFF)))


# --- aborts at every point -----------------------------------------------------------------------

ABORT_POINTS: tuple[str, ...] = (
    "before the A-ASSOCIATE-RQ",
    "after the A-ASSOCIATE-RQ",
    "after the C-ECHO-RQ",
    "after the A-RELEASE-RQ",
    "between the PDVs of one message",
    "inside the A-ASSOCIATE-RQ",
    "inside a P-DATA-TF",
)
"""Where ``abort-at`` sends its A-ABORT: after each step of a valid C-ECHO case, and within."""


def abort_case(target: Target, point: str, abort: AAbort, cut: int = 1) -> Case:
    """A valid C-ECHO case with ``abort`` at ``point`` (``cut``: bytes of the PDU it is inside).

    Inside a PDU (after its first 12 bytes: the PDU header and, in a P-DATA-TF, the PDV item
    header) the A-ABORT's bytes are part of the PDU the SCP is reading, whose declared length is
    not reached: no event until the PDU is whole, so the SCP waits, and then sees the
    connection close.
    """
    if point not in ABORT_POINTS:
        raise ValueError(f"unknown abort point {point!r}; known: {ABORT_POINTS}")
    aborted = encode_pdu(abort)
    echo = Step("C-ECHO-RQ", _echo_bytes(target, 1), Expect.RESPONSE)
    valid = [request_step(target), echo, release_step()]
    after = ABORT_POINTS.index(point)
    if after < 4:
        steps = [*valid[:after], Step(f"A-ABORT {point}", aborted, Expect.NOTHING)]
    elif point == "between the PDVs of one message":
        data = _half_echo(target, 1) + aborted
        steps = [valid[0], Step("half a C-ECHO-RQ, then A-ABORT", data, Expect.NOTHING)]
    else:
        whole = valid[0].data if point == "inside the A-ASSOCIATE-RQ" else echo.data
        part = whole[: max(12, min(cut, len(whole) - len(aborted) - 1))]  # past the headers
        steps = [] if point == "inside the A-ASSOCIATE-RQ" else [valid[0]]
        steps.append(Step(f"A-ABORT {point}", part + aborted, Expect.NOTHING))
    return Case(
        "abort-at",
        after < 4,
        f"A-ABORT {point} of a C-ECHO association",
        tuple(steps),
        details(flaw=f"A-ABORT {point}", point=point),
    )


@st.composite
def _abort_at(draw: st.DrawFn, target: Target) -> Case:
    point = draw(st.sampled_from(ABORT_POINTS))
    return abort_case(target, point, draw(aborts()), draw(st.integers(1, 0xFFFF)))


# --- the asynchronous operations window overrun --------------------------------------------------


def with_window(request: AAssociateRQ, invoked: int, performed: int = 1) -> AAssociateRQ:
    """``request`` proposing an Asynchronous Operations Window (PS3.7 D.3.3.3), in order."""
    window = AsynchronousOperationsWindowSubItem(invoked, performed)
    items = list(request.variable_items)
    for index, item in enumerate(items):
        if isinstance(item, UserInformationItem):
            subs = [s for s in item.sub_items if not isinstance(s, type(window))]
            at = sum(1 for s in subs if int(s.item_type) < int(window.item_type))
            items[index] = replace(item, sub_items=(*subs[:at], window, *subs[at:]))
    return replace(request, variable_items=tuple(items))


def window_case(target: Target, invoked: int, extra: int = 1) -> Case:
    """Propose a window of ``invoked`` operations, then send ``invoked + extra`` C-ECHO-RQs at once.

    The SCP can only lower what is proposed (no sub-item in its answer: one at a time), so the
    requests overrun whatever it accepted. Table 9-10 sees only P-DATA-TFs there (DT-2) and
    prescribes nothing more; the oracle marks the step invalid (more than one request
    outstanding) and expects nothing in particular, so only a crash or a hang is a finding.
    """
    request = with_window(target.request, invoked)
    count = invoked + extra
    burst = b"".join(_echo_bytes(target, number) for number in range(1, count + 1))
    return Case(
        "async-window",
        False,
        f"window of {invoked} proposed, {count} C-ECHO-RQs sent back to back",
        (
            Step(
                "A-ASSOCIATE-RQ with an asynchronous operations window",
                encode_pdu(request),
                Expect.ASSOCIATION,
            ),
            Step(f"{count} C-ECHO-RQs at once", burst, Expect.NOTHING),
        ),
        details(flaw="asynchronous operations window overrun", invoked=invoked, sent=count),
    )


@st.composite
def _async_window(draw: st.DrawFn, target: Target) -> Case:
    invoked = draw(st.integers(min_value=1, max_value=4))
    return window_case(target, invoked, draw(st.integers(min_value=1, max_value=4)))


# --- registration and accounting -----------------------------------------------------------------


def applies(target: Target) -> bool:
    """Whether the kinds apply: they send C-ECHO-RQs, so Verification must be accepted."""
    return target.verification_context is not None


_Builder = Callable[[Target], st.SearchStrategy[Case]]

KINDS: Mapping[str, _Builder] = MappingProxyType(
    {
        "state-table": _state_table,
        "release-collision": _release_collision,
        "abort-at": _abort_at,
        "async-window": _async_window,
    }
)
"""This module's case kinds (registered as malformed kinds by :mod:`dimse_codec.scpfuzz.cases`)."""


def met(verdict: StepVerdict, answer: Answer) -> tuple[str, str, str]:
    """The cell a step's deciding PDU met, by the answer: the oracle's, or its alternative when
    the SCP answered an earlier PDU of the step first (a raced cell not reached)."""
    if verdict.alternative and answer.kind.value in verdict.first_answers:
        state, event, action = verdict.alternative.split("/")
        return state, event, action
    return verdict.state, verdict.event, verdict.action


_SENDS_ABORT = frozenset({"AA-1", "AA-7", "AA-8"})
"""Actions by which the SCP sends an A-ABORT PDU."""


class CellTally:
    """Which (state, event) cells of Table 9-10 a campaign exercised, and what came back in each.

    Each sent step's deciding cell (the oracle's) counts once, with the kind of answer the SCP
    gave to it; :meth:`json` is what ``summary.json`` shows, with the cells where the table
    prescribes an A-ABORT and the SCP closed the connection without one (``closed_without_abort``:
    the classification counts a closed connection as the end the A-ABORT brings, so this is
    where the difference shows).
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], collections.Counter[str]] = {}

    def add(self, observation: Observation) -> None:
        """Count the cells of one example's sent steps."""
        for verdict, record in zip(observation.judgement.steps, observation.records, strict=False):
            if verdict.event:
                state, event, _ = met(verdict, record.answer)
                answers = self.cells.setdefault((state, event), collections.Counter())
                answers[record.answer.kind.value] += 1

    def exercised(self) -> frozenset[tuple[str, str]]:
        """The (state, event) cells seen."""
        return frozenset(self.cells)

    def json(self) -> dict[str, Any]:
        """Cells exercised (with the table's action and the answers), against those reachable."""
        return {
            "reachable": len(REACHABLE),
            "exercised": len(REACHABLE & self.exercised()),
            "not_exercised": [f"{s}/{e}" for s, e in sorted(REACHABLE - self.exercised())],
            "raced": len(RACED),
            "raced_reached": [f"{s}/{e}" for s, e in sorted(RACED & self.exercised())],
            "closed_without_abort": [
                f"{state}/{event}"
                for (state, event), answers in sorted(self.cells.items())
                if state != "Sta13"  # an SCP that closed after its answer never saw the PDU
                and TRANSITIONS.get((state, event)) in _SENDS_ABORT
                and answers["closed"]
            ],
            "cells": {
                f"{state}/{event}": {
                    "action": TRANSITIONS.get((state, event), ""),
                    "answers": dict(sorted(answers.items())),
                }
                for (state, event), answers in sorted(self.cells.items())
            },
        }
