"""What an SCP answered, what that means, and the reproducer a finding leaves behind.

Sans-I/O: the live layer (:mod:`dimse_codec.scpfuzz.live`) fills in :class:`Answer`,
:class:`StepRecord` and :class:`Liveness` from the socket; :func:`classify` turns them, with the
decoder's verdict on each step (:mod:`dimse_codec.scpfuzz.oracle`), into one
:class:`Classification`:

``crash``
    the SCP stopped accepting connections after the case (refused, or closed at once);
``hang``
    no answer within the timeout to valid input, or the SCP still takes connections but no
    longer answers an association or a C-ECHO (the liveness check);
``refuses-valid``
    the SCP answers the liveness check, but refuses it: an A-ABORT, an A-ASSOCIATE-RJ or a closed
    connection in answer to our standard association or C-ECHO (a server that serves nothing,
    such as DCMTK's dcmqrscp without its data dictionary); the campaign goes on;
``abort-on-valid``
    an A-ABORT, a closed connection or an unexpected PDU in answer to valid input;
``answer-to-invalid``
    the answer that accepts the input (an A-ASSOCIATE-AC, a Success, Warning or Pending
    response, an A-RELEASE-RP) to input our decoder refuses: lower severity, "accepted
    invalid input";
``not-as-prescribed``
    invalid input for which PS3.8 Table 9-10 prescribes an A-ABORT (AA-1, AA-7, AA-8: a PDU
    the SCP's state forbids, or an unrecognized or invalid PDU, Evt19) answered otherwise (a
    P-DATA-TF, silence, another PDU); the reason names the state, the event, the action and
    what came back (a PDU sent right behind one the SCP answers on its own, an A-ASSOCIATE-RQ
    or A-RELEASE-RQ, may meet the state after that answer: the answer says it did);
``normal``
    anything else: valid input answered as it should be, invalid input refused (A-ABORT,
    A-ASSOCIATE-RJ, a closed connection, a failure status) or left waiting (silence) where
    the table prescribes no A-ABORT.

:func:`write_reproducer` writes a finding's bytes (one ``.bin`` per step and direction), a JSON
description and a standalone ``replay.py`` (standard library only) that sends the same bytes
to a server and reports what comes back, whether the server is still alive, and whether the
classified behaviour recurred (its exit status); that script is ``replay_template.py`` in this
package, filled in by :func:`replay_script`.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.dimse.status import StatusCategory, category
from dimse_codec.scpfuzz.model import Case, Expect, Step
from dimse_codec.scpfuzz.oracle import Judgement

__all__ = [
    "REPLAY_TEMPLATE",
    "SEVERITY",
    "Answer",
    "AnswerKind",
    "CaseVerdict",
    "Classification",
    "Finding",
    "Health",
    "Liveness",
    "Observation",
    "StepOutcome",
    "StepRecord",
    "classify",
    "expected",
    "finding_json",
    "observation_json",
    "outcomes",
    "replay_script",
    "write_reproducer",
]


class AnswerKind(str, enum.Enum):
    """What came back after one step (or nothing)."""

    ACCEPTED = "accepted"
    """An A-ASSOCIATE-AC."""
    REJECTED = "rejected"
    """An A-ASSOCIATE-RJ."""
    RESPONSE = "response"
    """A whole DIMSE message (a response, we hope)."""
    RELEASED = "released"
    """An A-RELEASE-RP."""
    ABORTED = "aborted"
    """An A-ABORT."""
    CLOSED = "closed"
    """The connection closed or was reset without a PDU."""
    SILENCE = "silence"
    """Nothing within the timeout."""
    OTHER = "other"
    """Another PDU, or bytes that make no PDU or message."""
    REFUSED = "refused"
    """The TCP connection was refused: nothing could be sent."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The SCP's answer to one step: its kind, a one-line description, a response's status."""

    kind: AnswerKind
    detail: str = ""
    status: int | None = None

    @property
    def accepts(self) -> bool:
        """Whether this answer takes the input as valid and done (the success answers)."""
        if self.kind is AnswerKind.RESPONSE:
            return self.status is not None and category(self.status) in (
                StatusCategory.SUCCESS,
                StatusCategory.WARNING,
                StatusCategory.PENDING,
            )
        return self.kind in (AnswerKind.ACCEPTED, AnswerKind.RELEASED)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step as it happened: the bytes sent and received, the answer, how long it took."""

    label: str
    sent: bytes
    received: bytes
    answer: Answer
    seconds: float
    received_view: tuple[str, ...] = ()


class Health(str, enum.Enum):
    """The SCP after a case, by the liveness check (a new association and a C-ECHO)."""

    ALIVE = "alive"
    DOWN = "down"
    """Connections refused, or closed before any answer, on every attempt."""
    UNRESPONSIVE = "unresponsive"
    """Connections accepted but no answer to the association or the C-ECHO in time."""
    REFUSING = "refusing"
    """The association or the C-ECHO answered, but refused: A-ABORT, A-ASSOCIATE-RJ, closed."""


@dataclass(frozen=True, slots=True)
class Liveness:
    """The liveness check's result: health, what happened, and how many attempts it took."""

    health: Health
    detail: str = ""
    attempts: int = 1
    refusal: str = ""
    """When refusing: the step and how it was refused (``C-ECHO-RQ aborted``), for signatures."""


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What :func:`classify` needs of one sent step: the expectation, validity and answer."""

    expect: Expect
    valid: bool
    answer: Answer
    state: str = ""
    """The SCP's PS3.8 state when the step's deciding PDU arrived (see the oracle's verdict)."""
    event: str = ""
    """That PDU's Table 9-10 event."""
    action: str = ""
    """What Table 9-10 prescribes for the SCP there ("" when no PDU decided the step)."""
    alternative: str = ""
    """The cell met instead if the SCP answered an earlier PDU of the step first (the oracle's)."""
    first_answers: tuple[str, ...] = ()
    """The answers that say it did (``AnswerKind`` values)."""

    @property
    def cell(self) -> str:
        """The Table 9-10 cell as a phrase: ``Sta6/Evt19/AA-8``."""
        return f"{self.state}/{self.event}/{self.action}"


class Classification(str, enum.Enum):
    """What an example's outcome means (see the module documentation)."""

    NORMAL = "normal"
    CRASH = "crash"
    HANG = "hang"
    REFUSES_VALID = "refuses-valid"
    ABORT_ON_VALID = "abort-on-valid"
    ANSWER_TO_INVALID = "answer-to-invalid"
    NOT_AS_PRESCRIBED = "not-as-prescribed"


SEVERITY: Mapping[Classification, str] = {
    Classification.NORMAL: "none",
    Classification.CRASH: "high",
    Classification.HANG: "high",
    Classification.REFUSES_VALID: "medium",
    Classification.ABORT_ON_VALID: "medium",
    Classification.ANSWER_TO_INVALID: "low",
    Classification.NOT_AS_PRESCRIBED: "low",
}
"""How bad each classification is; ``answer-to-invalid`` is reported as accepted invalid input."""


@dataclass(frozen=True, slots=True)
class CaseVerdict:
    """An example's classification, the reason in one sentence, and the step it is about."""

    classification: Classification
    reason: str
    step: int | None = None


__getattr__ = deprecated_aliases(__name__, {"Verdict": ("CaseVerdict", CaseVerdict)})

_NORMAL_FOR_VALID: Mapping[Expect, frozenset[AnswerKind]] = {
    Expect.ASSOCIATION: frozenset({AnswerKind.ACCEPTED, AnswerKind.REJECTED}),
    Expect.RESPONSE: frozenset({AnswerKind.RESPONSE}),
    Expect.RELEASE: frozenset({AnswerKind.RELEASED}),
    Expect.NOTHING: frozenset(AnswerKind),
}
"""Answers a conforming SCP gives to valid input, by what the step expects."""

_ABORTS = frozenset({"AA-1", "AA-7", "AA-8"})
"""Table 9-10 actions by which the SCP must send an A-ABORT PDU."""

_ENDS = frozenset({AnswerKind.ABORTED, AnswerKind.CLOSED, AnswerKind.REJECTED, AnswerKind.REFUSED})
"""Answers that end the association as an A-ABORT does (the A-ABORT itself is as prescribed)."""


def _invalid(index: int, step: StepOutcome, what: str) -> CaseVerdict:
    """The verdict on the first invalid step: by Table 9-10 when it prescribes an A-ABORT."""
    number = index + 1
    if step.alternative and step.answer.kind.value in step.first_answers:
        return CaseVerdict(
            Classification.NORMAL,
            f"invalid step {number} answered {what}: the SCP answered the step's earlier PDU "
            f"first, so the rest met {step.alternative}, not {step.cell}",
            index,
        )
    if step.action in _ABORTS:
        cell = f"Table 9-10 prescribes {step.cell} (send an A-ABORT)"
        if step.answer.accepts:
            return CaseVerdict(
                Classification.ANSWER_TO_INVALID,
                f"step {number} is invalid but was answered {what}: accepted invalid input; {cell}",
                index,
            )
        if step.answer.kind in _ENDS:
            how = "as prescribed" if step.answer.kind is AnswerKind.ABORTED else "the end of it"
            return CaseVerdict(
                Classification.NORMAL,
                f"invalid step {number} answered {what} ({how}: {cell})",
                index,
            )
        return CaseVerdict(
            Classification.NOT_AS_PRESCRIBED,
            f"invalid step {number}: {cell}, but the SCP answered {what}",
            index,
        )
    if step.expect is not Expect.NOTHING and step.answer.accepts:
        return CaseVerdict(
            Classification.ANSWER_TO_INVALID,
            f"step {number} is invalid but was answered {what}: accepted invalid input",
            index,
        )
    return CaseVerdict(Classification.NORMAL, f"invalid step {number} answered {what}", index)


def classify(steps: Sequence[StepOutcome], liveness: Liveness) -> CaseVerdict:
    """Classify one example from its sent steps (in order) and the liveness check after it.

    The liveness check wins (a server that went down crashed, whatever it answered; one that
    refuses our standard association or C-ECHO refuses valid input, whatever the case); then the
    steps are read in order: a valid step must get a normal answer (else ``hang`` on silence,
    ``abort-on-valid`` otherwise), and the first invalid step decides: the accepting answer
    is ``answer-to-invalid``; where Table 9-10 prescribes an A-ABORT, an answer that neither
    aborts nor ends the connection is ``not-as-prescribed``; anything else is ``normal``.
    """
    if liveness.health is Health.DOWN:
        return CaseVerdict(
            Classification.CRASH, f"the server stopped accepting connections: {liveness.detail}"
        )
    if liveness.health is Health.UNRESPONSIVE:
        return CaseVerdict(
            Classification.HANG, f"the server stopped answering new associations: {liveness.detail}"
        )
    if liveness.health is Health.REFUSING:
        return CaseVerdict(
            Classification.REFUSES_VALID,
            f"the server refuses a valid association or C-ECHO: {liveness.detail}",
        )
    for index, step in enumerate(steps):
        answer = step.answer
        what = f"{answer.kind.value}" + (f" ({answer.detail})" if answer.detail else "")
        if not step.valid:
            return _invalid(index, step, what)
        if answer.kind in _NORMAL_FOR_VALID[step.expect]:
            continue
        if answer.kind is AnswerKind.REFUSED:
            return CaseVerdict(
                Classification.NORMAL,
                "the connection was refused, but the server answered the liveness check",
                index,
            )
        if answer.kind is AnswerKind.SILENCE:
            return CaseVerdict(
                Classification.HANG,
                f"no answer to valid step {index + 1} within the timeout",
                index,
            )
        return CaseVerdict(
            Classification.ABORT_ON_VALID, f"valid step {index + 1} was answered {what}", index
        )
    return CaseVerdict(Classification.NORMAL, "every step was answered as expected")


def outcomes(case: Case, judgement: Judgement, records: Sequence[StepRecord]) -> list[StepOutcome]:
    """Pair each sent step's record with its expectation and the decoder's verdict."""
    return [
        StepOutcome(
            verdict.expect or step.expect,
            verdict.valid,
            record.answer,
            verdict.state,
            verdict.event,
            verdict.action,
            verdict.alternative,
            verdict.first_answers,
        )
        for step, verdict, record in zip(case.steps, judgement.steps, records, strict=False)
    ]


VALID_FLAW = "valid input"
"""The flaw field of the signature of a finding on a case generated valid (it has no flaw)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything about running one case: what was sent and answered, and what it means.

    ``restarted`` says the server was found down and restarted by the caller's hook, so the
    campaign can go on; without that, a server that is not alive ends the campaign.
    ``reused`` says the case ran on an association earlier cases had opened (its A-ASSOCIATE-RQ
    step was not sent); ``rerun`` that it did, was answered abnormally there, and this is its
    run on a fresh association (the abnormal verdict on the reused one, in a sentence).
    """

    case: Case
    judgement: Judgement
    records: tuple[StepRecord, ...]
    liveness: Liveness
    verdict: CaseVerdict
    restarted: bool = False
    reused: bool = False
    rerun: str = ""

    @property
    def classification(self) -> Classification:
        """The verdict's classification."""
        return self.verdict.classification

    @property
    def signature(self) -> str:
        """What makes two findings the same: classification, kind of case and flaw.

        A valid case has no flaw of its own: its flaw field says ``valid input``. A server that
        refuses the liveness check refuses it whatever the case was, so that finding is one
        for all kinds (``*``), told apart only by how the check was refused.
        """
        if self.classification is Classification.REFUSES_VALID:
            how = self.liveness.refusal or "refused"
            return f"{self.classification.value}|*|liveness check: {how}"
        flaw = self.case.flaw or VALID_FLAW
        return f"{self.classification.value}|{self.case.kind}|{flaw}"

    @property
    def usable(self) -> bool:
        """Whether the server can take the next example (alive, refusing, or restarted)."""
        return self.liveness.health in (Health.ALIVE, Health.REFUSING) or self.restarted

    @property
    def decisive_answer(self) -> Answer | None:
        """The answer to the step the verdict is about (or to the last step sent)."""
        if not self.records:
            return None
        index = self.verdict.step
        if index is None or index >= len(self.records):
            index = len(self.records) - 1
        return self.records[index].answer


@dataclass(frozen=True, slots=True)
class Finding:
    """A classified example worth reporting, as small as shrinking made it.

    ``observation`` is the smallest example showing it, ``first`` the one that showed it first
    (the ``example``-th generated, in the round whose Hypothesis seed was ``seed``);
    ``replays`` counts how often shrinking saw it again (0: it did not reproduce) and
    ``note`` says why it was not shrunk, when it was not.
    """

    number: int
    observation: Observation
    first: Observation
    example: int
    seed: int
    shrunk: bool
    replays: int
    shrink_calls: int
    note: str = ""

    @property
    def classification(self) -> Classification:
        """The finding's classification."""
        return self.observation.classification

    @property
    def severity(self) -> str:
        """``high``, ``medium`` or ``low``."""
        return SEVERITY[self.classification]

    @property
    def signature(self) -> str:
        """See :attr:`Observation.signature`."""
        return self.observation.signature

    @property
    def slug(self) -> str:
        """A directory name: number, classification and kind (``03-crash-odd-fragment``)."""
        return f"{self.number:02d}-{self.classification.value}-{self.observation.case.kind}"

    @property
    def summary(self) -> str:
        """One line: classification, severity, what was sent and what came back."""
        obs = self.observation
        return (
            f"{self.classification.value} ({self.severity}): {obs.case.kind}: "
            f"{obs.case.description} -> {obs.verdict.reason}"
        )


# --- JSON and reproducers ------------------------------------------------------------------------


def _answer_json(answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": answer.kind.value, "detail": answer.detail}
    if answer.status is not None:
        out["status"] = f"{answer.status:04X}H"
        out["status_category"] = category(answer.status).value
    return out


def observation_json(obs: Observation, files: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """One example as JSON: each step with the decoder's verdict, its table cell and its answer
    (``files``: the names its bytes were written under), the classification and the liveness."""
    steps = []
    for index, step in enumerate(obs.case.steps):
        verdict = obs.judgement.steps[index]
        entry: dict[str, Any] = {
            "step": index + 1,
            "label": step.label,
            "bytes": len(step.data),
            "expect": (verdict.expect or step.expect).value,
            "valid": verdict.valid,
            "table": {"state": verdict.state, "event": verdict.event, "action": verdict.action},
            "problems": list(verdict.problems),
            "decoder_view": list(verdict.view),
        }
        if step.defect:
            entry["defect"] = step.defect
        if step.pending is not None:  # the next step (a C-CANCEL) went after this many Pendings
            entry["pending"] = step.pending
        if index < len(obs.records):
            record = obs.records[index]
            entry["sent"] = True
            entry["answer"] = _answer_json(record.answer)
            entry["answer_view"] = list(record.received_view)
            entry["seconds"] = round(record.seconds, 3)
            if index < len(files):
                entry["sent_file"], entry["received_file"] = files[index]
        else:
            entry["sent"] = False
        steps.append(entry)
    return {
        "kind": obs.case.kind,
        "generated_valid": obs.case.generated_valid,
        "description": obs.case.description,
        "details": dict(obs.case.details),
        "classification": obs.classification.value,
        "reason": obs.verdict.reason,
        "decisive_step": None if obs.verdict.step is None else obs.verdict.step + 1,
        "valid": obs.judgement.valid,
        "steps": steps,
        "liveness": {
            "health": obs.liveness.health.value,
            "detail": obs.liveness.detail,
            "attempts": obs.liveness.attempts,
        },
        "reused_association": obs.reused,
        "rerun_after": obs.rerun or None,
    }


def finding_json(
    finding: Finding,
    files: Sequence[tuple[str, str]] = (),
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A finding as JSON: classification, seed, what was generated, the decoder's view, answers."""
    out: dict[str, Any] = {
        "finding": finding.number,
        "classification": finding.classification.value,
        "severity": finding.severity,
        "signature": finding.signature,
        "summary": finding.summary,
        "seed": finding.seed,
        "example": finding.example,
        "shrunk": finding.shrunk,
        "replays": finding.replays,
        "shrink_calls": finding.shrink_calls,
        "note": finding.note,
        "minimal": observation_json(finding.observation, files),
    }
    if finding.first is not finding.observation:
        out["first_seen"] = observation_json(finding.first)
    if context:
        out["context"] = dict(context)
    return out


def _write_steps(
    directory: Path, prefix: str, records: Sequence[StepRecord]
) -> list[tuple[str, str]]:
    """One ``.bin`` per step and direction; returns the (sent, received) file names."""
    names = []
    for index, record in enumerate(records, start=1):
        sent, received = f"{prefix}{index}-sent.bin", f"{prefix}{index}-received.bin"
        (directory / sent).write_bytes(record.sent)
        (directory / received).write_bytes(record.received)
        names.append((sent, received))
    return names


def write_reproducer(
    finding: Finding,
    out: Path,
    probe: Sequence[Step],
    *,
    timeout: float,
    context: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out/<slug>/``: the bytes, ``finding.json`` and ``replay.py``; return the folder.

    ``step-N-sent.bin`` and ``step-N-received.bin`` are what went each way in step N of the
    smallest example (``sent.bin`` and ``received.bin`` join them, for ``dimse-codec inspect``);
    ``probe-N.bin`` are the liveness check's steps, which ``replay.py`` sends afterwards to tell
    whether the server survived. ``context`` (host, port, AE titles, versions ...) goes into
    the JSON as is.
    """
    directory = out / finding.slug
    directory.mkdir(parents=True, exist_ok=True)
    records = finding.observation.records
    if finding.observation.reused and records and not records[0].sent:
        # not re-run on an association of its own (the SCP stayed down): the reproducer opens
        # one with the case's A-ASSOCIATE-RQ, so that it stands alone (finding.json says so)
        first = finding.observation.case.steps[0].data
        records = (replace(records[0], sent=first), *records[1:])
    files = _write_steps(directory, "step-", records)
    (directory / "sent.bin").write_bytes(b"".join(r.sent for r in records))
    (directory / "received.bin").write_bytes(b"".join(r.received for r in records))
    probe_files = []
    for index, step in enumerate(probe, start=1):
        name = f"probe-{index}.bin"
        (directory / name).write_bytes(step.data)
        probe_files.append((name, step.label, step.expect.value))
    document = finding_json(finding, files, context)
    (directory / "finding.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    steps = [
        (files[i][0], step.label, step.expect.value)
        for i, step in enumerate(finding.observation.case.steps[: len(records)])
    ]
    replay = directory / "replay.py"
    script = replay_script(finding.summary, steps, probe_files, timeout, expected(finding))
    replay.write_text(script, encoding="utf-8")
    replay.chmod(0o755)
    return directory


REPLAY_TEMPLATE = "replay_template.py"
"""The replay script with placeholders, a module of this package (so ruff and mypy read it)."""

_PLACEHOLDERS = (
    "@TITLE@",
    "[]  # @STEPS@",
    "[]  # @PROBE@",
    "3.0  # @TIMEOUT@",
    "{}  # @EXPECTED@",
)
"""What :func:`replay_script` replaces in the template, each exactly once."""


def expected(finding: Finding) -> dict[str, str]:
    """What ``replay.py`` checks recurs: the classification, the deciding step and its answer
    (kind, and status class for a response), and the server's health afterwards."""
    obs = finding.observation
    step = obs.verdict.step
    answer = obs.records[step].answer if step is not None and step < len(obs.records) else None
    status = (
        "" if answer is None or answer.status is None else category(answer.status).value.lower()
    )
    return {
        "classification": finding.classification.value,
        "step": "" if answer is None or step is None else str(step + 1),
        "answer": "" if answer is None else answer.kind.value,
        "status_class": status,
        "health": obs.liveness.health.value,
    }


def replay_script(
    title: str,
    steps: Sequence[tuple[str, str, str]],
    probe: Sequence[tuple[str, str, str]],
    timeout: float,
    expect: Mapping[str, str] | None = None,
) -> str:
    """The ``replay.py`` text: the template with the title, the step and probe files, the
    timeout and what was classified (:func:`expected`).

    ``steps`` and ``probe`` are (file, label, expected answer) rows; the script sends the files in
    order, runs the probe to tell whether the server survived, and checks ``expect`` recurred.
    """
    title_at, steps_at, probe_at, timeout_at, expected_at = _PLACEHOLDERS
    script = _template()
    script = script.replace(title_at, _docstring_safe(title))
    script = script.replace(steps_at, _literal(steps)).replace(probe_at, _literal(probe))
    script = script.replace(expected_at, _mapping(expect or {}))
    return script.replace(timeout_at, repr(float(timeout)))


@functools.cache
def _template() -> str:
    """The template's text, read once from the installed package."""
    return (resources.files("dimse_codec.scpfuzz") / REPLAY_TEMPLATE).read_text(encoding="utf-8")


def _literal(rows: Sequence[tuple[str, str, str]]) -> str:
    """A Python list literal of string triples, one per line."""
    inner = "".join(f"    {tuple(rows[i])!r},\n" for i in range(len(rows)))
    return "[\n" + inner + "]"


def _mapping(values: Mapping[str, str]) -> str:
    """A Python dict literal of strings, one item per line."""
    inner = "".join(f"    {key!r}: {value!r},\n" for key, value in values.items())
    return "{\n" + inner + "}"


def _docstring_safe(text: str) -> str:
    """Text that cannot end a triple-quoted docstring or smuggle a backslash escape."""
    return re.sub(r'["\\]', "'", text)
