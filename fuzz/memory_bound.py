"""The memory bound every harness checks: decoding may not allocate more than K times its input.

A decoder that keeps its exception promise can still turn a few kilobytes into gigabytes of
objects (a deflated data set of millions of empty items, a million-valued DS, a stream of zeros
read as a million diagnostics). :func:`guard` wraps a harness's check function so that, for the
inputs it measures, the peak of Python allocations (``tracemalloc``) during the check stays
within ``K * basis + FLOOR`` bytes; ``basis`` is the input's length, or for a deflated data set
its inflated length (the inflate cap bounds that). Exceeding it raises :class:`MemoryFinding`,
which libFuzzer treats as a crash, so ``fuzz/run`` saves the input as a reproducer.

A measured input runs once, traced (a traced run costs 3-4 times an untraced one). Only when
its peak is over the bound does it run traced a second time, and it is a finding only if it is
over again: the first run may have paid for lazy imports and caches that any input fills once.
Replaying (``fuzz/replay.py``, the tests) measures every input. Under libFuzzer
(:func:`sample_every`) one input in :data:`SAMPLE_EVERY` is measured among those whose basis is
at least :data:`PER_OBJECT_BASIS`, and one in :data:`SAMPLE_SMALL_EVERY` among the smaller ones,
which per-object costs cannot take over the bound (only an allocation sized by a declared length
or a cost growing faster than the input can), so the cheap, frequent inputs cost little to guard.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

K = 10
"""Peak allocation allowed per byte of input (of inflated data for a deflated data set)."""
FLOOR = 1 << 20
"""Bytes always allowed, whatever the input's size: the fixed cost of a decode (a pydicom
Dataset, its element objects, the harness's re-encodings) dwarfs a tiny input's length."""
MAX_OBJECT_COST = 1024
"""The most a decoder plausibly allocates per input byte by making objects of what it reads:
about five times the worst measured (one DSfloat of some 420 bytes per two-byte DS value, 212x;
an empty sequence item's Dataset per 8 bytes is 73x)."""
PER_OBJECT_BASIS = -(-FLOOR // (MAX_OBJECT_COST - K))
"""The smallest basis (1035 bytes) whose per-object cost, at :data:`MAX_OBJECT_COST` per byte,
could exceed ``K * basis + FLOOR``."""
SAMPLE_EVERY = 16
"""Under libFuzzer, measure one input in this many among those of a basis of at least
:data:`PER_OBJECT_BASIS`; replaying measures every input."""
SAMPLE_SMALL_EVERY = 64
"""Under libFuzzer, measure one input in this many among the smaller ones."""

_every = 1
_small_every = 1
_seen = 0
_seen_small = 0


class MemoryFinding(RuntimeError):
    """Decoding one input allocated more than the bound allows (a finding, not a library error)."""


def sample_every(count: int, small_count: int) -> None:
    """Measure one input in ``count`` from now on, and one in ``small_count`` among those of a
    basis under :data:`PER_OBJECT_BASIS` (harnesses call this under libFuzzer)."""
    global _every, _small_every
    _every = max(1, count)
    _small_every = max(1, small_count)


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


def _due(data: bytes, ceiling: Callable[[bytes], int]) -> bool:
    """Whether this input is one of the sample to measure."""
    global _seen, _seen_small
    if _every == 1 and _small_every == 1:
        return True
    if ceiling(data) >= PER_OBJECT_BASIS:
        _seen += 1
        return _seen % _every == 0
    _seen_small += 1
    return _seen_small % _small_every == 0


def guard(
    check: Callable[[bytes], None],
    basis: Callable[[bytes], int] = len,
    ceiling: Callable[[bytes], int] | None = None,
) -> Callable[[bytes], None]:
    """``check`` plus the memory bound, measured on every input or on the sample that
    :func:`sample_every` sets. ``ceiling`` is a cheap upper bound of ``basis`` (default:
    ``basis`` itself), which sorts the inputs into the two samples without computing the basis
    of an input that is not measured (inflating a deflated data set)."""
    sort = basis if ceiling is None else ceiling

    def test_one_input(data: bytes) -> None:
        if not _due(data, sort):
            check(data)
            return
        measured = max(len(data), basis(data))
        peak = traced_peak(lambda: check(data))
        if peak > bound(measured):  # again, with whatever the first run filled once for all
            peak = traced_peak(lambda: check(data))
        check_peak(peak, len(data), measured)

    test_one_input.__doc__ = check.__doc__
    return test_one_input
