"""The decoder's view of a case: which steps are valid, judged by our own strict decoder.

Whether an SCP's answer is a finding depends on whether what it answered was valid, and that is
decided here, not by the kind of case that generated it: the requestor's bytes go through a
strict :class:`~dimse_codec.pdata.StreamDecoder` step by step (PDUs, reassembly, command sets,
and each data set in its context's transfer syntax), and then through the protocol rules a
byte decoder cannot check alone: the A-ASSOCIATE-RQ comes first, P-DATA only inside the
association, requests only (one at a time) on an accepted context of their own SOP class, and
no A-ASSOCIATE-AC, -RJ or A-RELEASE-RP from a requestor. A step that ends inside a PDU or a
message is invalid too: a conforming SCP waits for the rest. What PS3.8 tells receivers to
ignore (reserved fields, unknown items) leaves a step valid, as the strict decoder does.

A lenient decoder runs alongside to describe each step, one line per PDU or message with its
diagnostics: the "decoder's view" written into every finding. Sans-I/O and deterministic.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dimse_codec.association import AcceptedContext
from dimse_codec.dataset import decode_dataset
from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.status import category
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import (
    Event,
    IncompleteMessage,
    MessageReceived,
    PDataReceived,
    PDUReceived,
    StreamDecoder,
    StreamDiagnostic,
)
from dimse_codec.pdu import AAbort, AAssociateAC, AAssociateRJ, AAssociateRQ
from dimse_codec.policy import LENIENT, STRICT, Diagnostic
from dimse_codec.scpfuzz.model import META_SOP_CLASSES, Case, Expect, Target
from dimse_codec.scpfuzz.steps import message_name
from dimse_codec.tables.upper_layer import ACTIONS, EVENTS, RECEIVED_PDU_EVENTS, STATES
from dimse_codec.upper_layer.machine import Machine

__all__ = ["Judgement", "StepVerdict", "describe_events", "describe_stream", "judge"]


@dataclass(frozen=True, slots=True)
class StepVerdict:
    """Whether one step is valid, why not, and what the lenient decoder saw in it."""

    valid: bool
    problems: tuple[str, ...]
    view: tuple[str, ...]
    expect: Expect | None = None
    """What a conforming SCP answers, when the decoder knows better than the generator: a
    valid step whose only requests have no response (C-CANCEL-RQ) expects nothing."""
    state: str = ""
    """The SCP's PS3.8 state when the step's deciding PDU arrived ("" when none did)."""
    event: str = ""
    """That PDU's Table 9-10 event (Evt19: an undefined type, or bytes the decoder refuses)."""
    action: str = ""
    """What Table 9-10 prescribes for the SCP in that cell ("AA-8": send an A-ABORT)."""
    alternative: str = ""
    """When the deciding PDU came right behind one the SCP answers on its own (an
    A-ASSOCIATE-RQ, an A-RELEASE-RQ) in the same step: the cell it meets if the SCP answered
    that one first ("Sta13/Evt12/AA-6"), as a sequential SCP does; "" otherwise."""
    first_answers: tuple[str, ...] = ()
    """The answers (``AnswerKind`` values) by which the SCP answers that earlier PDU first."""

    @property
    def prescribed(self) -> str:
        """The deciding cell and its action as one phrase ("" when no PDU decided the step)."""
        if not self.event:
            return ""
        action = ACTIONS.get(self.action)
        what = f"{self.action} ({action.description})" if action else self.action
        return f"{self.event} in {self.state} calls for {what}"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The decoder's verdict on every step of a case, in order."""

    steps: tuple[StepVerdict, ...]

    @property
    def valid(self) -> bool:
        """Whether every step is valid."""
        return all(step.valid for step in self.steps)

    @property
    def first_invalid(self) -> int | None:
        """The index of the first invalid step, or ``None`` when the case is valid."""
        for index, step in enumerate(self.steps):
            if not step.valid:
                return index
        return None


def _diagnostics(values: Iterable[Diagnostic]) -> str:
    """Diagnostic codes in brackets, or nothing."""
    codes = [d.code.value for d in values]
    return f" [{', '.join(codes)}]" if codes else ""


def _pdu_line(event: PDUReceived) -> str:
    """One PDU as a line: its name, what matters in it, and its diagnostics."""
    pdu = event.pdu
    text = f"{pdu.name} @{event.offset}"
    if isinstance(pdu, (AAssociateRQ, AAssociateAC)):
        text += f" {pdu.calling_ae_title!r} -> {pdu.called_ae_title!r}"
    elif isinstance(pdu, AAssociateRJ):
        text += f" result {int(pdu.result)} source {int(pdu.source)} reason {int(pdu.reason_diag)}"
    elif isinstance(pdu, AAbort):
        text += f" source {int(pdu.source)} reason {int(pdu.reason_diag)}"
    return text + _diagnostics(pdu.diagnostics)


def _message_line(event: MessageReceived) -> str:
    """One DIMSE message as a line: type, context, IDs, status, data set size, diagnostics."""
    primitive = event.primitive
    text = f"{message_name(primitive)} on context {event.context_id}"
    for keyword in ("MessageID", "MessageIDBeingRespondedTo"):
        value = getattr(primitive, keyword, None)
        if value is not None:
            text += f", {keyword} {value}"
    status = getattr(primitive, "Status", None)
    if isinstance(status, int):
        text += f", status {status:04X}H ({category(status).value})"
    if event.dataset_length is not None:
        text += f", {event.dataset_length}-byte data set"
    return text + _diagnostics([*event.diagnostics, *primitive.diagnostics])


def describe_events(events: Iterable[Event]) -> list[str]:
    """One line per decoder event: PDUs, messages, incomplete messages, stream problems."""
    lines = []
    for event in events:
        if isinstance(event, PDUReceived):
            lines.append(_pdu_line(event))
        elif isinstance(event, MessageReceived):
            lines.append(_message_line(event))
        elif isinstance(event, IncompleteMessage):
            lines.append(
                f"incomplete message on context {event.context_id}: {event.reason}"
                + _diagnostics(event.diagnostics)
            )
        elif isinstance(event, StreamDiagnostic):
            lines.append(f"stream: {event.diagnostic}")
        elif isinstance(event, PDataReceived):
            lines.append(f"P-DATA-TF @{event.offset}: {len(event.fragments)} PDV(s)")
    return lines


def _feed_lenient(decoder: StreamDecoder, data: bytes) -> list[str]:
    """Feed one step to the lenient decoder and describe what it made of it."""
    try:
        lines = describe_events(decoder.feed(data))
    except DimseCodecError as exc:
        return [f"error: {type(exc).__name__}: {exc}"]
    if decoder.in_progress:
        lines.append("(the step ends inside a PDU or a message)")
    return lines


def describe_stream(
    data: bytes, *, max_pdu_length: int = 0, transfer_syntaxes: Mapping[int, str] | None = None
) -> list[str]:
    """A lenient decode of a whole byte stream, one line per event (for received bytes)."""
    decoder = StreamDecoder(
        policy=LENIENT, max_pdu_length=max_pdu_length, transfer_syntaxes=transfer_syntaxes
    )
    try:
        return describe_events([*decoder.feed(data), *decoder.close()])
    except DimseCodecError as exc:
        return [f"error: {type(exc).__name__}: {exc}"]


class _Protocol:
    """The SCP's side of PS3.8 Table 9-10 (the acceptor's :class:`Machine`), walked by a case.

    Each PDU the requestor sends is the SCP's received-PDU event (by PDU type; Evt19 for an
    undefined type or bytes the strict decoder refuses); after a valid step the SCP is assumed
    to answer as the table prescribes (AE-7 after AE-6, a P-DATA after DT-2, AR-4 after AR-2),
    so the next step starts in the state that answer leads to.
    """

    _TAKEN = frozenset({"AE-6", "DT-2", "AR-2", "AA-2", "AA-3"})
    """Actions that take a received PDU as the protocol allows it where it came."""

    _ANSWERS: Mapping[str, tuple[str, ...]] = {"AE-6": ("Evt7",), "AR-2": ("Evt14",)}
    """The SCP's own events that follow an action when it answers as prescribed."""

    _FIRST_ANSWERS: Mapping[str, tuple[str, ...]] = {
        "AE-6": ("accepted", "rejected"),
        "AR-2": ("released",),
    }
    """How the answer to such an action reads (``AnswerKind`` values)."""

    def __init__(self, accepted: Mapping[int, AcceptedContext]) -> None:
        self.accepted = accepted
        self.machine = Machine()
        self.machine.move(ACTIONS["AE-5"])  # Evt5: the transport connection was accepted
        self.cell: tuple[str, str, str] | None = None
        """The step's deciding cell: (state, event, action), the first refused one if any."""
        self.messages = 0
        """Messages in the last step checked."""
        self.responses_due = 0
        """Of those, requests that get a response (all but C-CANCEL-RQ)."""
        self.alternative = ""
        """The deciding cell had the SCP answered the PDU before it first (see StepVerdict)."""
        self.first_answers: tuple[str, ...] = ()

    def _answered_first(self, event: str) -> None:
        """Record where ``event`` lands if the SCP answered the step's previous PDU first."""
        self.alternative, self.first_answers = "", ()
        if self.cell is None or self.cell[2] not in self._ANSWERS:
            return
        other = Machine()
        other.state = self.machine.state
        for own in self._ANSWERS[self.cell[2]]:
            answer = other.action(own)
            if answer is not None:
                other.move(answer)
        action = other.action(event)
        name = "(empty cell)" if action is None else action.name
        self.alternative = f"{other.state}/{event}/{name}"
        self.first_answers = self._FIRST_ANSWERS[self.cell[2]]

    def receive(self, event: str) -> str | None:
        """Walk the table for one received event; the problem when the table refuses it."""
        state = self.machine.state
        action = self.machine.action(event)
        name = "(empty cell)" if action is None else action.name
        if self.cell is None or self.cell[2] in self._TAKEN:
            self._answered_first(event)
            self.cell = (state, event, name)
        if action is None:
            return f"{EVENTS[event].description} ({event}) in {state}: an empty cell"
        self.machine.move(action)
        if action.name in self._TAKEN:
            return None
        return (
            f"{EVENTS[event].description} ({event}) in {state} "
            f"({STATES[state].description}): the table prescribes {name}"
        )

    def answered(self) -> None:
        """Move on as the SCP's prescribed answer to a valid step would (AE-7, AR-4)."""
        if self.cell is None:
            return
        for event in self._ANSWERS.get(self.cell[2], ()):
            action = self.machine.action(event)
            if action is not None:
                self.machine.move(action)

    def check(self, events: Sequence[Event]) -> list[str]:
        """Problems the events of one step show (empty: the step is valid protocol)."""
        problems: list[str] = []
        messages = self.responses_due = 0
        self.cell = None
        self.alternative, self.first_answers = "", ()
        for event in events:
            if isinstance(event, PDUReceived):
                problem = self.receive(RECEIVED_PDU_EVENTS.get(event.pdu.pdu_type, "Evt19"))
                if problem is not None:
                    problems.append(problem)
            elif isinstance(event, PDataReceived):
                problem = self.receive("Evt10")
                if problem is not None:
                    problems.append(problem)
            elif isinstance(event, MessageReceived):
                messages += 1
                problems.extend(self._message(event))
                service = event.primitive.SERVICE
                if service is not None and service.response_field is not None:
                    self.responses_due += 1
            elif isinstance(event, IncompleteMessage):
                problems.append(f"incomplete message: {event.reason}")
            elif isinstance(event, StreamDiagnostic):
                problems.append(str(event.diagnostic))
        if messages > 1:
            problems.append(f"{messages} requests in one go: only one may be outstanding")
        self.messages = messages
        return problems

    def _message(self, event: MessageReceived) -> list[str]:
        primitive = event.primitive
        name = message_name(primitive)
        if self.machine.state != "Sta6":
            return []  # the P-DATA-TF itself was refused by the table
        problems: list[str] = []
        try:
            is_request = message_spec(primitive).is_request
        except DimseCodecError as exc:
            return [f"{name}: {exc}"]
        if not is_request:
            problems.append(f"{name} is not a request")
        else:
            problems.extend(f"{name}: {reason}" for reason in primitive.is_valid_request.reasons)
        context = self.accepted.get(event.context_id)
        if context is None:
            problems.append(f"{name} on context {event.context_id}, which was not accepted")
            return problems
        sop_class = getattr(primitive, "AffectedSOPClassUID", None) or getattr(
            primitive, "RequestedSOPClassUID", None
        )
        members = META_SOP_CLASSES.get(context.abstract_syntax, frozenset())
        if sop_class is not None and str(sop_class) not in {context.abstract_syntax, *members}:
            problems.append(
                f"{name} for {sop_class} on context {event.context_id}, accepted for "
                f"{context.abstract_syntax}"
            )
        if event.dataset is not None:
            problem = _dataset_problem(event.dataset, context.transfer_syntax)
            if problem is not None:
                problems.append(f"{name} data set: {problem}")
        return problems


_DATASETS_KEPT = 4096
"""How many data set verdicts :func:`_dataset_problem` keeps (a digest and a line each)."""

_dataset_verdicts: OrderedDict[tuple[str, bytes], str | None] = OrderedDict()


def _dataset_problem(data: memoryview, transfer_syntax: str) -> str | None:
    """Why the strict decoder refuses a data set in ``transfer_syntax`` (``None``: it takes it).

    Kept by a digest of the bytes, the last :data:`_DATASETS_KEPT` of them: a campaign sends
    the same few hundred stored instances again and again (ten of them in every quota-store
    case, each again in every shrink run), and a strict decode of one costs milliseconds, where
    the digest costs microseconds. Only the digest and the verdict are kept, never the bytes.
    """
    key = (transfer_syntax, hashlib.blake2b(data, digest_size=16).digest())
    if key in _dataset_verdicts:
        _dataset_verdicts.move_to_end(key)
        return _dataset_verdicts[key]
    problem = None
    try:
        decode_dataset(bytes(data), transfer_syntax, policy=STRICT)
    except DimseCodecError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    _dataset_verdicts[key] = problem
    if len(_dataset_verdicts) > _DATASETS_KEPT:
        _dataset_verdicts.popitem(last=False)
    return problem


def judge(case: Case, target: Target) -> Judgement:
    """Judge every step of ``case`` as the SCP ``target`` describes would receive it.

    A step is valid when the strict decoder takes it whole (not ending inside a PDU or a
    message), the protocol allows it where it is, and the generator knows of no defect in it
    (:attr:`~dimse_codec.scpfuzz.cases.Step.defect`). Every step after an invalid one is invalid.
    """
    syntaxes = {cid: ctx.transfer_syntax for cid, ctx in target.accepted.items()}
    limit = target.peer_max_pdu_length

    def strict_decoder() -> StreamDecoder:
        return StreamDecoder(
            policy=STRICT, max_pdu_length=limit, transfer_syntaxes=syntaxes, report_pdata=True
        )

    strict = strict_decoder()
    lenient = StreamDecoder(policy=LENIENT, max_pdu_length=limit, transfer_syntaxes=syntaxes)
    protocol = _Protocol(target.accepted)
    broken: str | None = None
    verdicts = []
    for index, step in enumerate(case.steps):
        view = tuple(_feed_lenient(lenient, step.data))
        problems: list[str] = []
        expect = None
        cell: tuple[str, str, str] | None = None
        if broken is not None:
            problems.append(f"follows an invalid step ({broken})")
        else:
            error: DimseCodecError | None = None
            try:
                events = strict.feed(step.data)
            except DimseCodecError as exc:  # the PDUs before the refused one still count
                earlier = [earlier_step.data for earlier_step in case.steps[:index]]
                events, error = _events_by_pdu(strict_decoder(), earlier, step.data, exc)
            problems.extend(protocol.check(events))
            if error is not None:
                problems.append(f"{type(error).__name__}: {error}")
                protocol.receive("Evt19")  # an unrecognized or invalid PDU
            elif strict.in_progress:
                problems.append("ends inside a PDU or a message (an SCP waits for the rest)")
            if step.defect and not problems:  # the generator knows of one the rules missed
                problems.append(step.defect)
            if problems:
                broken = problems[0]
            elif (
                step.expect is Expect.RESPONSE and protocol.messages and not protocol.responses_due
            ):
                expect = Expect.NOTHING
            if not problems:
                protocol.answered()
            cell = protocol.cell
        state, event, action = cell or ("", "", "")
        race = (protocol.alternative, protocol.first_answers) if cell else ("", ())
        verdicts.append(
            StepVerdict(not problems, tuple(problems), view, expect, state, event, action, *race)
        )
    return Judgement(tuple(verdicts))


def _events_by_pdu(
    decoder: StreamDecoder, earlier: Sequence[bytes], data: bytes, error: DimseCodecError
) -> tuple[list[Event], DimseCodecError]:
    """The events of the PDUs of ``data`` before the one the strict decoder refuses, and why.

    A step is fed whole (one call, however many PDUs it has: a store cut into 200 PDUs costs
    one call, not 200); only a refused step is fed again, on a fresh ``decoder`` after the
    ``earlier`` steps, one PDU at a time, so the PDUs before the refused one still count and
    the refused one's own events do not, as an SCP that reads PDU by PDU would see it.
    """
    for chunk in earlier:
        decoder.feed(chunk)
    events: list[Event] = []
    for chunk in _pdu_chunks(data):
        try:
            events.extend(decoder.feed(chunk))
        except DimseCodecError as exc:
            return events, exc
    return events, error


def _pdu_chunks(data: bytes) -> list[bytes]:
    """``data`` cut where its PDU-lengths end PDUs (the rest whole where one overruns it)."""
    chunks = []
    start = 0
    while len(data) - start >= 6:
        end = start + 6 + int.from_bytes(data[start + 2 : start + 6], "big")
        if end > len(data):
            break
        chunks.append(data[start:end])
        start = end
    if start < len(data):
        chunks.append(data[start:])
    return chunks
