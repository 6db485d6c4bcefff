"""``dimse-codec fuzz HOST PORT``: send generated valid and malformed traffic to a running SCP.

A thin layer over :func:`dimse_codec.scpfuzz.fuzz`: it checks the arguments, prints what the SCP
accepted, one line per finding as it is found (with the folder its reproducer went to) and a
summary of every outcome at the end. Loopback only unless ``--allow-remote``. Exit status: 0
no finding, 1 findings, 2 usage error, a refused host, an SCP that cannot be reached or
will not associate, or no Hypothesis installed (the ``strategies`` extra); 130 after Ctrl-C,
once the findings so far, ``summary.json`` and the summary are written (the codes of every
subcommand: ``docs/cli.md``, "Exit codes").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from dimse_codec.cli._args import ae_title, count, seconds, tcp_port
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.errors import DimseCodecError

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers
    from dimse_codec.scpfuzz import Finding, FuzzResult, Observation
    from dimse_codec.scpfuzz.destination import MoveDestination

__all__ = ["print_summary", "register", "run"]

DEFAULT_OUT = "dimse-fuzz-findings"


def register(subparsers: SubParsers) -> None:
    """Add the ``fuzz`` subcommand to the ``dimse-codec`` parser."""
    parser = subparsers.add_parser(
        "fuzz",
        **with_examples("fuzz"),
        help="send generated valid and malformed DICOM traffic to a running SCP",
        description=(
            "Open one association per example against a running SCP and send Hypothesis-"
            "generated traffic: valid C-ECHO and C-STORE requests, and malformed PDUs, command "
            "sets, data sets and P-DATA streams. Each answer is classified (crash, hang, "
            "abort-on-valid, answer-to-invalid, or normal) after a liveness check, findings are "
            "shrunk, and each gets a reproducer folder with the bytes and a replay.py. Only "
            "loopback addresses unless --allow-remote: run it against servers you may break."
        ),
    )
    parser.add_argument("host", metavar="HOST", help="the SCP's address (loopback by default)")
    parser.add_argument("port", metavar="PORT", type=tcp_port(), help="the SCP's TCP port")
    parser.add_argument("--calling-ae", default="DIMSE-FUZZ", help="our AE title")
    parser.add_argument("--called-ae", default="ANY-SCP", help="the SCP's AE title")
    parser.add_argument(
        "--max-examples",
        type=count(1),
        default=100,
        metavar="N",
        help="generated examples (associations) to run; shrinking runs more (default 100)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="S", help="Hypothesis seed (default: random)"
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder for reproducers and summary.json (default ./{DEFAULT_OUT})",
    )
    parser.add_argument(
        "--timeout",
        type=seconds(),
        default=3.0,
        metavar="SECONDS",
        help="longest wait for each answer, connection and liveness check (default 3)",
    )
    parser.add_argument(
        "--settle",
        type=seconds(),
        default=None,
        metavar="SECONDS",
        help="wait this long for an answer to invalid input or to a step that expects none "
        "(default: four times the server's slowest recent answer, 0.02 to 0.25 s)",
    )
    parser.add_argument(
        "--max-shrinks",
        type=count(),
        default=25,
        metavar="N",
        help="runs spent shrinking each finding (default 25; 0: keep findings as found)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a HOST that is not a loopback address (a server you own and may crash)",
    )
    parser.add_argument(
        "--seed-capture",
        metavar="FILE",
        help="start from the requests of this capture (pcap/pcapng): sent as captured, then "
        "broken at the DIMSE, data set and PDU levels, beside the generated cases",
    )
    parser.add_argument(
        "--move-port",
        type=tcp_port(),
        metavar="PORT",
        help="be the C-MOVE destination: a Storage SCP on 127.0.0.1:PORT for the campaign "
        "that answers the SCP's C-STORE sub-operations with seeded behaviours (success, "
        "warning, failure, rejection, abort, late answers) and checks each C-MOVE's "
        "sub-operation counts against them (the SCP must map --move-ae to that port)",
    )
    parser.add_argument(
        "--move-ae",
        type=ae_title,
        default="MOVESCU",
        metavar="AE",
        help="with --move-port: the destination's AE title, the one C-MOVEs name (default MOVESCU)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print one line per example as well"
    )
    parser.set_defaults(handler=run)


class _Printer:
    """Prints progress and findings as they come, to ``out``."""

    def __init__(self, out: TextIO, verbose: bool) -> None:
        self.out = out
        self.verbose = verbose

    def start(self, result: FuzzResult) -> None:
        """What the SCP accepted and what is about to run."""
        association = result.target.association
        print(
            f"fuzzing {result.endpoint} (called AE {association.called_ae_title!r}, "
            f"calling AE {association.calling_ae_title!r})",
            file=self.out,
        )
        name = association.peer_implementation_version_name or "-"
        print(
            f"server: {name} ({association.peer_implementation_class_uid or '-'}), "
            f"max PDU {association.peer_max_pdu_length}",
            file=self.out,
        )
        for cid, ctx in sorted(association.accepted_contexts.items()):
            print(
                f"  accepted context {cid}: {ctx.abstract_syntax} in {ctx.transfer_syntax}",
                file=self.out,
            )
        if result.baseline is not None:
            baseline = result.baseline
            print(f"liveness check before fuzzing: {baseline.health.value} ({baseline.detail})",
                  file=self.out)  # fmt: skip
        settings = result.report.settings
        print(
            f"seed {settings.seed}, {settings.max_examples} examples, "
            f"at most {settings.max_shrinks} shrink runs per finding",
            file=self.out,
            flush=True,
        )

    def example(self, number: int, observation: Observation) -> None:
        """One line per generated example, with -v."""
        if self.verbose:
            print(
                f"  {number:4d} {observation.classification.value:17s} {observation.case.kind}: "
                f"{observation.verdict.reason}",
                file=self.out,
                flush=True,
            )

    def finding(self, finding: Finding, path: Path | None) -> None:
        """One line per finding, as soon as it is shrunk."""
        where = f"\n    reproducer: {path}" if path is not None else ""
        print(f"finding {finding.number}: {finding.summary}{where}", file=self.out, flush=True)


def print_summary(result: FuzzResult, out: TextIO) -> None:
    """The campaign's summary as ``dimse-codec fuzz`` prints it: counts per outcome and answer,
    the findings, why the run stopped early (if it did) and a note when answers came later
    than the settle wait (a missing A-ABORT may then be a late one)."""
    from dimse_codec.scpfuzz import SEVERITY, Classification

    report = result.report
    print(
        f"done in {report.elapsed:.1f} s: {report.examples} of {report.settings.max_examples} "
        f"examples, {report.shrink_calls} shrink runs, {report.rounds} Hypothesis round(s)"
        + (
            f"; {report.shrink_reused} case(s) drawn again while shrinking, not sent again"
            if report.shrink_reused
            else ""
        ),
        file=out,
    )
    if report.halted:
        print(f"stopped early: {report.halted}", file=out)
    if result.late_answers:
        print(
            f"note: {result.late_answers} answer(s) came later than the settle wait then in "
            "force, so a not-as-prescribed finding may be an A-ABORT that came late "
            "(--settle SECONDS waits that long instead)",
            file=out,
        )
    extra = report.found_while_shrinking
    if extra:
        print(f"outcomes ({report.examples} examples, and {extra} finding(s) first seen while "
              "shrinking another):", file=out)  # fmt: skip
    else:
        print("outcomes:", file=out)
    for classification in Classification:
        print(
            f"  {classification.value:17s} {report.outcomes.get(classification.value, 0):5d}"
            f"  ({SEVERITY[classification]})",
            file=out,
        )
    answers = ", ".join(f"{kind} {count}" for kind, count in report.answers.most_common())
    print(f"answers to the deciding step: {answers or 'none'}", file=out)
    cells = result.cells.json()
    closed = ", ".join(cells["closed_without_abort"])
    print(
        f"state table: {cells['exercised']} of {cells['reachable']} reachable cells exercised, "
        f"{len(cells['raced_reached'])} of {cells['raced']} raced ones reached"
        + (f"; closed without the A-ABORT prescribed in {closed}" if closed else ""),
        file=out,
    )
    if report.findings:
        print(f"findings: {len(report.findings)}", file=out)
        for finding in report.findings:
            print(f"  {finding.number}. {finding.signature}", file=out)
    else:
        print("findings: none", file=out)
    if result.summary is not None:
        print(f"summary: {result.summary}", file=out)


def _destination_summary(destination: MoveDestination, out: TextIO) -> None:
    """What the C-MOVE destination saw, in one line."""
    log = destination.log.json()
    associations = ", ".join(f"{k} {v}" for k, v in sorted(log["associations"].items()))
    stores = ", ".join(f"{k} {v}" for k, v in sorted(log["c_store_behaviours"].items()))
    print(
        f"C-MOVE destination: associations {associations or 'none'}; "
        f"{log['c_stores']} C-STORE(s){': ' + stores if stores else ''}; "
        f"{log['moves_checked']} C-MOVE count(s) checked, {log['count_mismatches']} mismatched",
        file=out,
    )


def _seeded(fuzz: Callable[..., FuzzResult], capture: str) -> Callable[..., FuzzResult] | None:
    """``fuzz`` with the requests of a capture among its cases (``--seed-capture``), or None
    (said on stderr) when the capture cannot be read or holds no whole request."""
    from dimse_codec.cli._scripts import read_scripts
    from dimse_codec.scpfuzz.cases import cases_first
    from dimse_codec.scpfuzz.seeds import capture_seeds, placed_seeds, seed_groups

    scripts = read_scripts(capture, "dimse-codec fuzz: error")
    if scripts is None:
        return None
    seeds = capture_seeds(scripts)
    if not seeds:
        print(f"dimse-codec fuzz: error: {capture} holds no whole request", file=sys.stderr)
        return None

    def seeded(*args: Any, **kwargs: Any) -> FuzzResult:
        started = kwargs.get("on_start")

        def on_start(result: FuzzResult) -> None:
            if started is not None:
                started(result)
            placed = placed_seeds(seeds, result.target)
            print(
                f"seeds: {len(placed)} of {len(seeds)} captured request(s) of {capture} go on "
                "what the SCP accepted",
                flush=True,
            )

        with cases_first(*seed_groups(seeds)):
            return fuzz(*args, **{**kwargs, "on_start": on_start})

    return seeded


def run(args: argparse.Namespace) -> int:
    """Fuzz the SCP: 0 nothing found, 1 findings, 2 refused or unreachable (see the module)."""
    # imported here: Hypothesis is optional, and the other subcommands never need it
    try:
        from dimse_codec.scpfuzz import fuzz
    except ModuleNotFoundError as exc:  # names the extra to install when it is Hypothesis
        print(f"dimse-codec fuzz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    printer = _Printer(sys.stdout, args.verbose)
    campaign = fuzz if args.seed_capture is None else _seeded(fuzz, args.seed_capture)
    if campaign is None:
        return EXIT_USAGE
    destination = _move_destination(args)
    if destination is False:
        return EXIT_USAGE
    try:
        return _campaign(args, campaign, printer, destination)
    finally:  # also on Ctrl-C: the destination's threads end and its sockets close
        if destination is not None:
            destination.stop()


def _move_destination(args: argparse.Namespace) -> MoveDestination | Literal[False] | None:
    """The C-MOVE destination of ``--move-port``, started; None without the option, False
    (said on stderr) when the port cannot be listened on."""
    if args.move_port is None:
        return None
    from dimse_codec.scpfuzz.destination import MoveDestination

    destination = MoveDestination(
        args.move_port, ae_title=args.move_ae, seed=0 if args.seed is None else args.seed
    )
    try:
        destination.start()
    except OSError as exc:
        print(
            f"dimse-codec fuzz: error: cannot listen on 127.0.0.1:{args.move_port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return False
    print(f"C-MOVE destination {args.move_ae} listening on 127.0.0.1:{destination.port}")
    return destination


def _campaign(
    args: argparse.Namespace,
    campaign: Callable[..., FuzzResult],
    printer: _Printer,
    destination: MoveDestination | None,
) -> int:
    """Run the campaign and print its summary: the exit status."""
    from dimse_codec.scpfuzz import NotLoopback, ServerUnavailable

    try:
        result = campaign(
            args.host,
            args.port,
            calling_ae_title=args.calling_ae,
            called_ae_title=args.called_ae,
            max_examples=args.max_examples,
            seed=args.seed,
            timeout=args.timeout,
            settle=args.settle,
            max_shrinks=args.max_shrinks,
            out=Path(args.out),
            allow_remote=args.allow_remote,
            on_start=printer.start,
            on_finding=printer.finding,
            on_example=printer.example,
            **({} if destination is None else {"move_destination": destination}),
        )
    except NotLoopback as exc:
        print(f"dimse-codec fuzz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ServerUnavailable as exc:
        print(f"dimse-codec fuzz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DimseCodecError as exc:  # an AE title we cannot send
        print(f"dimse-codec fuzz: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"dimse-codec fuzz: error: cannot write to {args.out}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print_summary(result, sys.stdout)
    if destination is not None:
        _destination_summary(destination, sys.stdout)
    if result.report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if result.report.findings else EXIT_OK
