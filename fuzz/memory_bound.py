"""The memory bound every harness checks: decoding may not allocate more than K times its input.

A decoder that keeps its exception promise can still turn a few kilobytes into gigabytes of
objects (a deflated data set of millions of empty items, a million-valued DS, a stream of zeros
read as a million diagnostics). :func:`guard` wraps a harness's check function so that, for the
inputs it measures, the peak of Python allocations (``tracemalloc``) during the check stays
within ``K * basis + FLOOR`` bytes; ``basis`` is the input's length, or for a deflated data set
its inflated length (the inflate cap bounds that). Exceeding it raises :class:`MemoryFinding`,
which libFuzzer treats as a crash, so ``fuzz/run`` saves the input as a reproducer.

tracemalloc slows every allocation several times, so under libFuzzer only one input in
:data:`SAMPLE_EVERY` is measured; replaying (``fuzz/replay.py``, the tests) measures every input.
A measured input runs once untraced first, so that lazy imports and caches filled by the first
call of a decoder do not count against it, and any other finding is raised before the bound is
checked.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

K = 10
"""Peak allocation allowed per byte of input (of inflated data for a deflated data set)."""
FLOOR = 1 << 20
"""Bytes always allowed, whatever the input's size: the fixed cost of a decode (a pydicom
Dataset, its element objects, the harness's re-encodings) dwarfs a tiny input's length."""
SAMPLE_EVERY = 16
"""Under libFuzzer, measure one input in this many (tracemalloc costs 3-5x on a measured
input); :func:`sample_every` sets it, replaying keeps 1 (every input)."""

_every = 1
_seen = 0


class MemoryFinding(RuntimeError):
    """Decoding one input allocated more than the bound allows (a finding, not a library error)."""


def sample_every(count: int) -> None:
    """Measure only one input in ``count`` from now on (harnesses call this under libFuzzer)."""
    global _every
    _every = max(1, count)


def bound(basis: int) -> int:
    """The peak in bytes an input of ``basis`` bytes may allocate."""
    return K * basis + FLOOR


def traced_peak(call: Callable[[], object]) -> int:
    """Run ``call`` under tracemalloc and return its allocation peak in bytes (above what was
    traced before, when tracemalloc was already running)."""
    running = tracemalloc.is_tracing()
    if running:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    else:
        before = 0
        tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1] - before
        if not running:
            tracemalloc.stop()
    return peak


def check_peak(peak: int, size: int, basis: int) -> None:
    """Raise :class:`MemoryFinding` when ``peak`` is beyond the bound for ``basis``."""
    if peak > bound(basis):
        what = f"{size} input bytes" + ("" if basis == size else f" ({basis} inflated)")
        raise MemoryFinding(
            f"decoding {what} allocated {peak} bytes at its peak, {peak / max(basis, 1):.0f}"
            f" times the input; the bound is {K}x + {FLOOR} = {bound(basis)} bytes"
        )


def guard(
    check: Callable[[bytes], None], basis: Callable[[bytes], int] = len
) -> Callable[[bytes], None]:
    """``check`` plus the memory bound, measured on every input or one in :func:`sample_every`."""

    def test_one_input(data: bytes) -> None:
        global _seen
        _seen += 1
        check(data)
        if _seen % _every:
            return
        peak = traced_peak(lambda: check(data))
        check_peak(peak, len(data), max(len(data), basis(data)))

    test_one_input.__doc__ = check.__doc__
    return test_one_input
