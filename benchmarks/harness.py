"""What the benchmarks share: the clocks, paired timing with calibration, and the run's record.

Each ``bench_*.py`` times both libraries with these, so a change to how time is taken changes
every benchmark at once. Run the scripts from the repository root (``python benchmarks/...``):
their folder is then on ``sys.path`` and ``import harness`` finds this module.
"""

from __future__ import annotations

import datetime
import gc
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pynetdicom

import dimse_codec

Call = Callable[[], object]

CLOCKS: dict[str, Callable[[], int]] = {
    "cpu": time.thread_time_ns,
    "wall": time.perf_counter_ns,
}
"""Timers: this thread's CPU time (default: time spent descheduled on a shared machine is not
the code's cost; page faults count, as the thread's kernel time) or wall-clock time."""


def as_installed(cache: Path, warm: list[list[str]]) -> None:
    """Run Python tools from here on as a wheel install runs them: with their bytecode cached.

    ``pip install`` compiles a package's sources; an editable install under
    ``PYTHONDONTWRITEBYTECODE`` would compile them again in every process, a cost no user pays.
    The cache goes to ``cache`` (a temporary folder), and each command of ``warm`` runs once
    first, so no timed run pays for compiling.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    for argv in warm:
        subprocess.run(argv, capture_output=True, check=False)


def require(condition: bool, what: str) -> None:
    """Stop the benchmark when a precondition fails (not ``assert``: it must survive ``-O``)."""
    if not condition:
        raise SystemExit(f"benchmark precondition failed: {what}")


def per_call_ns(call: Call, calls: int, clock: Callable[[], int]) -> float:
    """Time ``calls`` back-to-back calls (garbage collector off, as ``timeit`` does); ns each."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(calls):
            call()
        elapsed = clock() - start
    finally:
        if enabled:
            gc.enable()
    return elapsed / calls


def calibrate(
    call: Call, target_s: float, clock: Callable[[], int], *, warm_up: int, most: int
) -> int:
    """How many calls (at least one, at most ``most``) take about ``target_s`` seconds."""
    for _ in range(warm_up):
        call()
    calls = 1
    while True:
        per_call_s = per_call_ns(call, calls, clock) / 1e9
        if per_call_s * calls >= target_s * 0.8 or calls >= most:
            return calls
        wanted = int(target_s / max(per_call_s, 1e-9) * 1.05) + 1
        calls = min(max(calls * 2, wanted), calls * 100)


def git_revision() -> str | None:
    """The checkout's commit, read from ``.git`` without running git (no dirty flag)."""
    root = Path(__file__).resolve().parent.parent / ".git"
    try:
        head = (root / "HEAD").read_text(encoding="ascii").strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        if (root / ref).exists():
            return (root / ref).read_text(encoding="ascii").strip()[:12]
        for line in (root / "packed-refs").read_text(encoding="ascii").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except OSError:
        return None
    return None


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages where the OS reports them (context for noisy runs)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment(rounds: int, target_s: float, quick: bool, clock: str) -> dict[str, Any]:
    """What the numbers were measured with (each script adds its own sizes)."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load_average(),
        "dimse_codec": dimse_codec.__version__,
        "git": git_revision(),
        "pynetdicom": pynetdicom.__version__,
        "pydicom": pydicom.__version__,
        "rounds": rounds,
        "target_seconds_per_side_per_round": target_s,
        "quick": quick,
        "clock": clock,
    }
