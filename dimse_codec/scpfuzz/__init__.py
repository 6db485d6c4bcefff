"""Live fuzzing of a running DICOM SCP: generated traffic, classified answers, reproducers.

The layers, from pure to I/O:

* :mod:`~dimse_codec.scpfuzz.model`: the vocabulary. A :class:`Case` is one association's bytes
  cut into :class:`Step` s, each with what a conforming SCP answers (:class:`Expect`);
  :mod:`~dimse_codec.scpfuzz.steps` builds the steps every kind shares.
* :mod:`~dimse_codec.scpfuzz.cases`: what is sent. :func:`cases` generates valid and malformed
  cases with Hypothesis for a :class:`Target` (what the SCP accepted when we proposed
  :func:`proposal`); :mod:`~dimse_codec.scpfuzz.states` adds the kinds generated from PS3.8
  Table 9-10 (every PDU type in every state a requestor reaches, release collisions, aborts,
  the asynchronous operations window overrun) and counts the table cells a campaign exercised;
  :mod:`~dimse_codec.scpfuzz.normalized` adds the DIMSE-N kinds (print, storage commitment) and
  :mod:`~dimse_codec.scpfuzz.mutate` breaks one request at the DIMSE, data set or PDU level.
* :mod:`~dimse_codec.scpfuzz.oracle`: the decoder's view. :func:`judge` says which steps our own
  strict decoder (and the protocol) accepts, so "valid" means what the library says it means.
* :mod:`~dimse_codec.scpfuzz.findings`: what the answers mean. :func:`classify` maps the answers
  and the liveness check to ``crash``, ``hang``, ``abort-on-valid``, ``answer-to-invalid`` or
  ``normal``; :func:`write_reproducer` writes a finding's bytes, JSON and ``replay.py``.
* :mod:`~dimse_codec.scpfuzz.engine`: :func:`run_campaign` drives Hypothesis (generate, then
  shrink each new finding) over any ``execute`` function, steered by the answers
  (:mod:`~dimse_codec.scpfuzz.steering`: answer signatures and their novelty).
* :mod:`~dimse_codec.scpfuzz.live`: sockets. :func:`fuzz` runs a whole campaign against
  ``host:port``; loopback only unless ``allow_remote``.

Hypothesis is optional: install it with ``pip install 'dimse-codec[strategies]'``. See
``docs/fuzzing-live.md``.
"""

try:
    import hypothesis as _hypothesis  # noqa: F401
except ImportError:
    raise ModuleNotFoundError(
        "dimse_codec.scpfuzz needs Hypothesis: pip install 'dimse-codec[strategies]'",
        name="hypothesis",
    ) from None

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.scpfuzz.cases import (
    MALFORMED_KINDS,
    STORAGE_SOP_CLASSES,
    VALID_KINDS,
    VERIFICATION,
    Case,
    Expect,
    Step,
    Target,
    cases,
    probe_steps,
    proposal,
)
from dimse_codec.scpfuzz.engine import CampaignSettings, Report, run_campaign
from dimse_codec.scpfuzz.findings import (
    SEVERITY,
    Answer,
    AnswerKind,
    CaseVerdict,
    Classification,
    Finding,
    Health,
    Liveness,
    Observation,
    StepOutcome,
    StepRecord,
    classify,
    write_reproducer,
)
from dimse_codec.scpfuzz.live import (
    FuzzResult,
    LiveRunner,
    NotLoopback,
    ScpAddress,
    ServerUnavailable,
    check_liveness,
    fuzz,
    negotiate,
    resolve,
    run_case,
)
from dimse_codec.scpfuzz.oracle import Judgement, StepVerdict, judge

__all__ = [
    "MALFORMED_KINDS",
    "SEVERITY",
    "STORAGE_SOP_CLASSES",
    "VALID_KINDS",
    "VERIFICATION",
    "Answer",
    "AnswerKind",
    "CampaignSettings",
    "Case",
    "CaseVerdict",
    "Classification",
    "Expect",
    "Finding",
    "FuzzResult",
    "Health",
    "Judgement",
    "LiveRunner",
    "Liveness",
    "NotLoopback",
    "Observation",
    "Report",
    "ScpAddress",
    "ServerUnavailable",
    "Step",
    "StepOutcome",
    "StepRecord",
    "StepVerdict",
    "Target",
    "cases",
    "check_liveness",
    "classify",
    "fuzz",
    "judge",
    "negotiate",
    "probe_steps",
    "proposal",
    "resolve",
    "run_campaign",
    "run_case",
    "write_reproducer",
]

__getattr__ = deprecated_aliases(
    __name__, {"Verdict": ("CaseVerdict", CaseVerdict), "Endpoint": ("ScpAddress", ScpAddress)}
)
