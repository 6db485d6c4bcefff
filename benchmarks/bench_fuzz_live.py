"""``dimse-codec fuzz`` throughput against DCMTK's storescp and dcmqrscp, with a reference run.

For each server (a process started and stopped by its PID on 127.0.0.1):

1. the reference: ``--checks`` full liveness checks back to back (a new association, a C-ECHO,
   a release: what one valid association costs on this server, on this machine, now);
2. a campaign of ``--examples`` generated examples (seed ``--seed``, the default settings: the
   liveness check on, shrinking on, ``--timeout`` 3 s, the settle wait measured), timed by the
   engine (negotiation and start-up left out);
3. with ``--strict`` too, the same campaign as the fuzzer ran before it learnt to settle and to
   check cheaply: every answer awaited up to ``--timeout`` and the full check after every
   example (what the new waits and checks buy, measured in the same run).

Printed per row: examples per second (generated examples over the campaign's time), runs per
second (shrink runs included), the share of full liveness checks, and examples/s over the
reference's checks/s. The goal of issue 15 is 35 examples per second against both servers; the
verdict is informational and the exit code 0 whatever it says. The machine's load average is
printed with the results: the numbers move with it, their ratio to the reference less so.

    .venv/bin/python benchmarks/bench_fuzz_live.py             # 400 examples per server (~1 min)
    .venv/bin/python benchmarks/bench_fuzz_live.py --strict    # and the strict campaigns (~3 min)
    .venv/bin/python benchmarks/bench_fuzz_live.py --examples 100 --json fuzz.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness import git_revision, load_average

from dimse_codec.scpfuzz import ScpAddress, check_liveness, fuzz, negotiate

GOAL = 35.0
"""Examples per second the issue asks for, against storescp and dcmqrscp."""
STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to listen."""

QR_CONFIG = """\
NetworkTCPPort  = {port}
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
QRSCP {storage} RW (10, 1024mb) ANY
AETable END
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(argv: list[str], port: int, log: Path) -> Iterator[int]:
    """Run a DCMTK server, wait until it listens (a bounded poll), stop it by its PID."""
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited: {log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def reference(port: int, called: str, checks: int, timeout: float) -> float:
    """Full liveness checks per second against the server (a valid association's cost)."""
    endpoint = ScpAddress("127.0.0.1", port)
    target = negotiate(endpoint, "DIMSE-FUZZ", called, timeout=timeout)
    started = time.perf_counter()
    for _ in range(checks):
        check_liveness(endpoint, target, timeout=timeout)
    return checks / (time.perf_counter() - started)


def campaign(
    port: int, called: str, args: argparse.Namespace, *, strict: bool, out: Path
) -> dict[str, Any]:
    """One campaign; its rates and counts."""
    result = fuzz(
        "127.0.0.1",
        port,
        called_ae_title=called,
        max_examples=args.examples,
        seed=args.seed,
        timeout=args.timeout,
        settle=args.timeout if strict else None,
        full_check_every=1 if strict else 10,
        out=out,
    )
    report = result.report
    elapsed = max(report.elapsed, 1e-9)
    checks = result.liveness_checks
    return {
        "mode": "strict" if strict else "default",
        "examples": report.examples,
        "shrink_runs": report.shrink_calls,
        "seconds": round(report.elapsed, 2),
        "examples_per_second": round(report.examples / elapsed, 1),
        "runs_per_second": round((report.examples + report.shrink_calls) / elapsed, 1),
        "full_checks": checks.get("full", 0),
        "connect_checks": checks.get("connect", 0),
        "findings": len(report.findings),
        "outcomes": dict(report.outcomes),
        "halted": report.halted,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=400, help="examples per campaign")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--checks", type=int, default=200, help="liveness checks of the reference")
    parser.add_argument("--strict", action="store_true", help="also run the strict campaigns")
    parser.add_argument("--json", type=Path, help="write the rows and the environment here")
    args = parser.parse_args()
    tools = dcmtk_tools()
    if tools is None:
        return 2
    rows: list[dict[str, Any]] = []
    load_before = load_average()
    for name, port, called, work in running_servers(tools, "bench_fuzz_live_"):
        checks = reference(port, called, args.checks, args.timeout)
        modes = (False, True) if args.strict else (False,)
        for strict in modes:
            out = work / f"{name}-{'strict' if strict else 'default'}"
            row = campaign(port, called, args, strict=strict, out=out)
            row.update(server=name, reference_checks_per_second=round(checks, 1))
            row["ratio_to_reference"] = round(row["examples_per_second"] / checks, 3)
            rows.append(row)
            report(row)
    write_results(args, rows, load_before)
    for row in rows:
        if row["mode"] == "default":
            met = "met" if row["examples_per_second"] >= GOAL else "not met"
            print(f"goal {GOAL:g} examples/s against {row['server']}: {met}")
    return 0


def dcmtk_tools() -> dict[str, str] | None:
    """storescp and dcmqrscp on PATH (``None``, said on stderr, when one is missing)."""
    tools = {name: shutil.which(name) for name in ("storescp", "dcmqrscp")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        print(f"needs DCMTK's {' and '.join(missing)} on PATH", file=sys.stderr)
        return None
    return {name: str(path) for name, path in tools.items()}


def running_servers(tools: dict[str, str], prefix: str) -> Iterator[tuple[str, int, str, Path]]:
    """storescp, then dcmqrscp, each running while the caller works with it: its name, port,
    called AE title and the temporary folder (``prefix``) that holds its storage and log."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        work = Path(folder)
        for name in ("storescp", "dcmqrscp"):
            port = free_port()
            storage = work / f"{name}-data"
            storage.mkdir()
            if name == "storescp":
                argv, called = [tools[name], "-od", str(storage), str(port)], "ANY-SCP"
            else:
                config = work / "dcmqrscp.cfg"
                config.write_text(QR_CONFIG.format(port=port, storage=storage))
                argv, called = [tools[name], "-c", str(config), str(port)], "QRSCP"
            with server(argv, port, work / f"{name}.log"):
                yield name, port, called, work


def write_results(args: argparse.Namespace, rows: list[dict[str, Any]], load_before: Any) -> None:
    """Print the load average around the run; write the rows to ``--json`` if given."""
    load_after = load_average()
    print(f"load average before {load_before}, after {load_after}")
    if args.json is not None:
        environment = {
            "python": sys.version.split()[0],
            "git": git_revision(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "settings": vars(args) | {"json": str(args.json)},
        }
        document = {"environment": environment, "rows": rows}
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def report(row: dict[str, Any]) -> None:
    """One row: the server, the mode, the rates and what the liveness checks were."""
    print(
        f"{row['server']:9s} {row['mode']:7s} {row['examples']:5d} examples in "
        f"{row['seconds']:6.1f} s: {row['examples_per_second']:6.1f} examples/s, "
        f"{row['runs_per_second']:6.1f} runs/s ({row['shrink_runs']} shrink runs); full "
        f"checks {row['full_checks']}, connect checks {row['connect_checks']}; reference "
        f"{row['reference_checks_per_second']:.1f} checks/s, ratio {row['ratio_to_reference']}; "
        f"findings {row['findings']}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
