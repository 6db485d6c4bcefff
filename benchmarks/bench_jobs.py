"""Wall time of ``dimse-codec decode --jobs 2`` against ``--jobs 1`` on many short associations.

The ``echo`` shape of ``bench_capture_shapes.py`` (a real ``echoscu`` -> ``storescp`` C-ECHO
association recorded with tcpdump on 127.0.0.1, replicated into 20,000 associations, one every
0.2 s) is decoded by whole processes, ``--jobs 1`` and ``--jobs 2`` in turn in each round, each
writing to /dev/null; the wall time of each comes from a small launcher process
(``bench_decode.run``). Both jobs settings run in the same round, so a busy moment of a shared
machine hits both; the result is the median of the per-round ratios ``--jobs 1`` / ``--jobs 2``
(goal >= 1.7: two processes, each decoding half of the connections, must not lose more than
15% to reading every packet twice and merging), with the lowest and highest round shown. Ours
runs as installed from a wheel, its bytecode cached (``harness.as_installed``).

Run ``python benchmarks/bench_jobs.py [--quick] [--rounds N] [--format text|ndjson]
[--directory DIR] [--json PATH]``; tcpdump (run as root) and DCMTK are needed to record the
conversation once (it is kept in ``DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_capture_shapes import read_recording, record, replicate
from bench_decode import Run, run, tools
from harness import as_installed, environment

GOAL = 1.7
"""``--jobs 2`` at least this many times faster than ``--jobs 1`` in wall time."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 associations, 2 rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--format", choices=("text", "ndjson"), default="text")
    parser.add_argument(
        "--directory",
        type=Path,
        default=Path(tempfile.gettempdir()) / "shapes",
        help="where the recording is kept and the shape is written",
    )
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    _tshark, ours = tools()
    args.directory.mkdir(parents=True, exist_ok=True)
    echo = read_recording(record(args.directory)["echo"])
    count = 2_000 if args.quick else 20_000
    rounds = 2 if args.quick else args.rounds
    path = args.directory / f"jobs-echo-{count}.pcap"
    replicate(path, echo, count, 200_000)
    times: dict[int, list[Run]] = {1: [], 2: []}
    cache = tempfile.TemporaryDirectory(prefix="bench-jobs-pycache-")
    as_installed(Path(cache.name), [[ours, "decode", str(record(args.directory)["echo"])]])
    try:
        for _ in range(rounds):
            for jobs in (1, 2):
                argv = [ours, "decode", str(path), "--jobs", str(jobs), "--format", args.format]
                times[jobs].append(run(argv))
    finally:
        cache.cleanup()
        path.unlink(missing_ok=True)
    ratios = [one.wall / two.wall for one, two in zip(times[1], times[2], strict=True)]
    ratio = statistics.median(ratios)
    work = statistics.median(two.cpu / one.cpu for one, two in zip(times[1], times[2], strict=True))
    print(
        f"echo shape, {count:,} associations, --format {args.format}, {rounds} rounds, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}:\n"
        f"  --jobs 1 wall s: {', '.join(f'{r.wall:.2f}' for r in times[1])}\n"
        f"  --jobs 2 wall s: {', '.join(f'{r.wall:.2f}' for r in times[2])}\n"
        f"  --jobs 1 / --jobs 2: median {ratio:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}), "
        f"goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'}\n"
        f"  CPU of --jobs 2 (all processes) / --jobs 1: median {work:.2f} (the work sharding adds: "
        f"every worker reads every packet)"
    )
    if args.json:
        measured = environment(rounds, 0.0, args.quick, "wall (launcher process)")
        measured["results"] = {
            f"jobs {jobs}": [vars(one) for one in runs] for jobs, runs in times.items()
        }
        measured["ratio"] = {"median": ratio, "rounds": ratios, "cpu_jobs2_over_jobs1": work}
        args.json.write_text(json.dumps(measured, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
