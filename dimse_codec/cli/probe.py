"""``dimse-codec probe HOST PORT``: send known vulnerability classes to a running SCP on purpose.

A thin layer over :func:`dimse_codec.scpfuzz.probing.run_probes`: path-traversal UIDs, declared
lengths far past the data, a decompression bomb, idle associations and connections (ARTIM), one
line per probe as it ends (a text table, or NDJSON with ``--json``) and a summary. Loopback only
unless ``--allow-remote``. Exit status: 0 nothing found, 1 a finding, 2 usage error or an SCP
that cannot be reached or will not associate, 130 after Ctrl-C (the probes so far are shown).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dimse_codec.cli._args import ae_title, byte_count, count, seconds, tcp_port
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.errors import DimseCodecError

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers
    from dimse_codec.scpfuzz.probes import Memory
    from dimse_codec.scpfuzz.probing import ProbeResult, ProbeRun

__all__ = ["register", "run"]

_MiB = 1 << 20


def _ratio(text: str) -> int:
    """An argparse type: a deflate ratio raw DEFLATE can reach (2 to 1000)."""
    value = count(1)(text)
    if not 2 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected 2 to 1000 (deflate's limit), got {value}")
    return value


def register(subparsers: SubParsers) -> None:
    """Add the ``probe`` subcommand."""
    parser = subparsers.add_parser(
        "probe",
        **with_examples("probe"),
        help="send known vulnerability classes to a running SCP and report what it did",
        description=(
            "Send known DICOM server vulnerability classes on purpose, one probe at a time: "
            "SOP Instance UIDs that name paths (CVE-2022-2119 style), declared lengths far past "
            "the data, a deflated data set that inflates by --bomb-ratio, idle associations, "
            "idle connections that never associate and a connection left open after the "
            "release (ARTIM, PS3.8 9.1.4). After each probe a new association and C-ECHO check "
            "the server; with --pid its memory (VmRSS/VmHWM, forked children included) is "
            "sampled, with --storage the files a UID aimed outside the folder are looked for. "
            "Only loopback addresses unless --allow-remote: run it against servers you may "
            "break."
        ),
    )
    parser.add_argument("host", metavar="HOST", help="the SCP's address (loopback by default)")
    parser.add_argument("port", metavar="PORT", type=tcp_port(), help="the SCP's TCP port")
    parser.add_argument("--calling-ae", type=ae_title, default="DIMSE-PROBE", help="our AE title")
    parser.add_argument("--called-ae", type=ae_title, default="ANY-SCP", help="the SCP's AE title")
    parser.add_argument(
        "--pid", type=count(1), metavar="PID", help="the server's process ID: sample its memory"
    )
    parser.add_argument(
        "--storage",
        metavar="DIR",
        help="the server's storage folder: look for files the traversal UIDs put outside it",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="run only these probes: a name or its beginning (uid-traversal, length, "
        "deflate-bomb, idle-associations, artim)",
    )
    parser.add_argument(
        "--json", action="store_true", help="NDJSON: one object per probe, then a summary"
    )
    parser.add_argument(
        "--bomb-ratio",
        type=_ratio,
        default=1000,
        metavar="N",
        help="the bomb's data set inflates N times its deflated size (default 1000)",
    )
    parser.add_argument(
        "--bomb-size",
        type=byte_count,
        default=64 * _MiB,
        metavar="BYTES",
        help=f"the bomb's inflated size (default {64 * _MiB}, 64 MiB)",
    )
    parser.add_argument(
        "--idle",
        type=count(1),
        default=16,
        metavar="N",
        help="associations opened and left idle at once (default 16)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds(),
        default=5.0,
        metavar="S",
        help="longest wait for a connection and each answer (default 5)",
    )
    parser.add_argument(
        "--wait",
        type=seconds(),
        default=40.0,
        metavar="S",
        help="how long idle connections are watched for the server to close them (default 40)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a HOST that is not a loopback address (a server you own and may break)",
    )
    parser.set_defaults(handler=run)


def _mib(memory: Memory | None) -> str:
    return "-" if memory is None else f"{memory.rss / _MiB:.0f}"


def _closing(result: ProbeResult) -> str:
    """When the server closed the idle connections, or how many associations it held."""
    record = result.record
    if record.closed_after:
        return ",".join("open" if s is None else f"{s:.1f}s" for s in record.closed_after)
    if record.held:
        return f"held {record.held}"
    return ""


def _answer(result: ProbeResult) -> str:
    """The answer to the probe's own message (the last step before the release)."""
    records = [r for r in result.record.records if r.label != "A-RELEASE-RQ"]
    if not records:
        return "-"
    answer = records[-1].answer
    if answer.status is not None:
        return f"{answer.status:04X}H"
    return answer.kind.value


def _memory_json(memory: Memory | None) -> dict[str, int] | None:
    if memory is None:
        return None
    return {"rss": memory.rss, "hwm": memory.hwm, "pss": memory.pss, "processes": memory.processes}


def result_json(result: ProbeResult) -> dict[str, Any]:
    """One probe's result as JSON."""
    record, verdict = result.record, result.verdict
    return {
        "probe": result.probe.name,
        "family": result.probe.family.value,
        "summary": result.probe.summary,
        "severity": verdict.severity.value,
        "outcome": verdict.outcome,
        "reasons": list(verdict.reasons),
        "steps": [
            {
                "label": r.label,
                "answer": r.answer.kind.value,
                "detail": r.answer.detail,
                "status": r.answer.status,
                "seconds": round(r.seconds, 3),
            }
            for r in record.records
        ],
        "liveness": None if record.liveness is None else record.liveness.health.value,
        "during": None if record.during is None else record.during.health.value,
        "memory": {
            "before": _memory_json(record.memory_before),
            "during": _memory_json(record.memory_during),
            "after": _memory_json(record.memory_after),
        },
        "outside": list(record.outside),
        "closed_after": list(record.closed_after),
        "waited": record.waited,
        "held": record.held,
        "released": record.released,
        "details": dict(result.probe.details),
    }


class _Printer:
    """Prints each probe as it ends: a table row, or an NDJSON line."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json

    def start(self, run: ProbeRun) -> None:
        association = run.target.association
        accepted = ", ".join(
            f"{cid}:{ctx.transfer_syntax}"
            for cid, ctx in sorted(association.accepted_contexts.items())
        )
        if self.as_json:
            line = {
                "endpoint": str(run.endpoint),
                "server": association.peer_implementation_version_name,
                "accepted": {
                    str(c): a.transfer_syntax for c, a in association.accepted_contexts.items()
                },
                "marker": run.settings.marker,
            }
            print(json.dumps(line), file=self.out, flush=True)
            return
        name = association.peer_implementation_version_name or "-"
        print(f"probing {run.endpoint} ({name}), accepted contexts {accepted}", file=self.out)
        print(
            f"{'probe':32} {'answer':10} {'idle':16} {'after':12} {'RSS MiB':>13}  verdict",
            file=self.out,
            flush=True,
        )

    def result(self, result: ProbeResult) -> None:
        if self.as_json:
            print(json.dumps(result_json(result)), file=self.out, flush=True)
            return
        record, verdict = result.record, result.verdict
        after = "-" if record.liveness is None else record.liveness.health.value
        memory = (
            f"{_mib(record.memory_before)}>{_mib(record.memory_during)}>{_mib(record.memory_after)}"
        )
        if record.memory_before is None:
            memory = "-"
        print(
            f"{result.probe.name:32} {_answer(result):10} {_closing(result):16} {after:12} "
            f"{memory:>13}  {verdict.outcome}: {verdict.reason}",
            file=self.out,
            flush=True,
        )

    def summary(self, run: ProbeRun) -> None:
        counts: dict[str, int] = {}
        for result in run.results:
            counts[result.verdict.severity.value] = counts.get(result.verdict.severity.value, 0) + 1
        if self.as_json:
            line = {"probes": len(run.results), "interrupted": run.interrupted, **counts}
            print(json.dumps(line), file=self.out, flush=True)
            return
        shown = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "none run"
        print(f"{len(run.results)} probe(s): {shown}", file=self.out)


def run(args: argparse.Namespace) -> int:
    """Run the probes: 0 nothing found, 1 a finding, 2 refused or unreachable (see the module)."""
    try:
        from dimse_codec.scpfuzz.probes import ProbeSettings, Severity
        from dimse_codec.scpfuzz.probing import NotLoopback, ServerUnavailable, run_probes
    except ModuleNotFoundError as exc:  # names the extra to install when it is Hypothesis
        print(f"dimse-codec probe: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    storage = None if args.storage is None else Path(args.storage)
    if storage is not None and not storage.is_dir():
        print(f"dimse-codec probe: error: --storage {args.storage}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    printer = _Printer(sys.stdout, args.json)
    try:
        settings = ProbeSettings(
            bomb_ratio=args.bomb_ratio, bomb_size=max(args.bomb_size, 1024), idle=args.idle
        )
        probed = run_probes(
            args.host,
            args.port,
            calling_ae_title=args.calling_ae,
            called_ae_title=args.called_ae,
            settings=settings,
            only=args.only or (),
            timeout=args.timeout,
            wait=args.wait,
            pid=args.pid,
            storage=storage,
            allow_remote=args.allow_remote,
            on_start=printer.start,
            on_result=printer.result,
        )
    except (NotLoopback, ServerUnavailable, ValueError, DimseCodecError) as exc:
        print(f"dimse-codec probe: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    printer.summary(probed)
    if probed.interrupted:
        print("dimse-codec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    found = any(r.verdict.severity is Severity.FINDING for r in probed.results)
    return EXIT_FAILED if found else EXIT_OK
