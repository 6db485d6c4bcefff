"""Distinct answer signatures of ``dimse-codec fuzz`` campaigns with and without steering.

For each server (DCMTK's storescp and dcmqrscp, started and stopped by PID on 127.0.0.1) two
campaigns of ``--examples`` generated examples with the same seed: one steered by the answers
(:mod:`dimse_codec.scpfuzz.steering`, the default), one not. Printed per row: the distinct
answer signatures (kind, each step's answer and status, abort source and reason, timing
bucket), the examples of each kind, findings and seconds. More signatures in the same number
of examples is what steering is for; the exit code is 0 whatever the numbers say.

    .venv/bin/python benchmarks/bench_steering.py                 # 200 examples per campaign
    .venv/bin/python benchmarks/bench_steering.py --examples 100 --json steering.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench_fuzz_live import dcmtk_tools, running_servers, write_results
from harness import load_average

from dimse_codec.scpfuzz import (
    CampaignSettings,
    LiveRunner,
    ScpAddress,
    cases,
    negotiate,
    run_campaign,
)


def campaign(port: int, called: str, args: argparse.Namespace, *, steer: bool) -> dict[str, Any]:
    """One campaign against the server; what its answers showed."""
    endpoint = ScpAddress("127.0.0.1", port)
    target = negotiate(endpoint, "DIMSE-FUZZ", called, timeout=args.timeout)
    config = CampaignSettings(
        max_examples=args.examples, seed=args.seed, max_shrinks=args.shrinks, steer=steer
    )
    with LiveRunner(endpoint, target, timeout=args.timeout) as runner:
        report = run_campaign(cases(target), runner, config)
    return {
        "steer": steer,
        "examples": report.examples,
        "signatures": report.signatures,
        "kinds": dict(report.kinds.most_common()),
        "findings": len(report.findings),
        "seconds": round(report.elapsed, 1),
        "halted": report.halted,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the rows and the environment here")
    parser.add_argument("--examples", type=int, default=200, help="examples per campaign")
    parser.add_argument("--shrinks", type=int, default=5, help="shrink runs per finding")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    if (tools := dcmtk_tools()) is None:
        return 2
    load_before, rows = load_average(), []
    for name, port, called, _ in running_servers(tools, "bench_steering_"):
        for steer in (False, True):
            row: dict[str, Any] = campaign(port, called, args, steer=steer) | {"server": name}
            rows.append(row)
            kinds = ", ".join(f"{k} {n}" for k, n in row["kinds"].items())
            print(
                f"{name:9} steer={'on ' if steer else 'off'} {row['signatures']:4} signatures "
                f"in {row['examples']} examples, {row['findings']} findings, {row['seconds']} s, "
                f"halted: {row['halted']}; {kinds}",
                flush=True,
            )
    write_results(args, rows, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
