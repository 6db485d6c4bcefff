"""The fuzz harnesses' memory bound (``fuzz/memory_bound.py``): which inputs it measures, and how.

Replaying measures every input; under libFuzzer one input in ``SAMPLE_EVERY`` among those whose
per-object cost could reach the bound, one in ``SAMPLE_SMALL_EVERY`` among the smaller ones. A
measured input runs traced once, and a second time only when over the bound, so that what a
first call fills once (an import, a cache) is never a finding, while a real blow-up still is.
"""

from __future__ import annotations

import importlib.util
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"


def _memory_bound() -> ModuleType:
    """The module the harnesses import (fuzz/ on sys.path, as replay.py puts it)."""
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    if "memory_bound" in sys.modules:
        return sys.modules["memory_bound"]
    spec = importlib.util.spec_from_file_location("memory_bound", FUZZ / "memory_bound.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["memory_bound"] = module
    spec.loader.exec_module(module)
    return module


mb = _memory_bound()
SMALL = b"x" * 100
LARGE = b"x" * mb.PER_OBJECT_BASIS


@pytest.fixture(autouse=True)
def replaying() -> Iterator[None]:
    """Every test leaves the module as replaying finds it: every input measured."""
    yield
    mb.sample_every(1, 1)


def counting(
    allocate: Callable[[bytes], int] = lambda data: 0,
) -> tuple[list[bool], Callable[[bytes], None]]:
    """A check that records, per call, whether tracemalloc was on; it holds ``allocate(data)``
    bytes while it runs."""
    calls: list[bool] = []

    def check(data: bytes) -> None:
        calls.append(tracemalloc.is_tracing())
        _held = bytearray(allocate(data))

    return calls, check


def test_per_object_basis_is_where_per_object_cost_could_exceed_the_bound() -> None:
    basis = mb.PER_OBJECT_BASIS
    assert mb.MAX_OBJECT_COST * basis > mb.bound(basis)
    assert mb.MAX_OBJECT_COST * (basis - 1) <= mb.bound(basis - 1)


def test_replaying_measures_every_input_once() -> None:
    calls, check = counting()
    guarded = mb.guard(check)
    for data in (SMALL, LARGE, b""):
        guarded(data)
    assert calls == [True, True, True]  # traced, and only once: none was over the bound


def test_fuzzing_samples_small_inputs_less_often() -> None:
    calls, check = counting()
    guarded = mb.guard(check)
    mb.sample_every(4, 16)
    for _ in range(64):
        guarded(SMALL)
    assert sum(calls) == 4 and len(calls) == 64  # every 16th, never run twice
    calls.clear()
    for _ in range(64):
        guarded(LARGE)
    assert sum(calls) == 16 and len(calls) == 64  # every 4th


def test_the_ceiling_sorts_the_inputs_and_the_basis_is_computed_when_measured() -> None:
    """A short input whose basis may be large (a deflated data set) is sampled as a large one,
    by a cheap ceiling; its basis (inflating it) is computed only when it is measured."""
    calls, check = counting()
    bases: list[int] = []

    def basis(data: bytes) -> int:
        bases.append(len(data))
        return 100 * len(data)

    guarded = mb.guard(check, basis, ceiling=lambda data: 1000 * len(data))
    mb.sample_every(4, 1000)
    for _ in range(8):
        guarded(b"d" * 10)  # ceiling 10,000: large; basis 1000
    assert sum(calls) == 2 and len(bases) == 2
    # without a ceiling, the basis sorts them: 1000 is under PER_OBJECT_BASIS
    calls.clear()
    unsorted = mb.guard(check, basis)
    for _ in range(8):
        unsorted(b"d" * 10)
    assert sum(calls) == 0


def test_a_blow_up_is_a_finding() -> None:
    _, check = counting(lambda data: 300 * len(data))
    guarded = mb.guard(check)
    with pytest.raises(mb.MemoryFinding, match=r"decoding 4096 input bytes allocated \d+ bytes"):
        guarded(b"z" * 4096)  # 1.2 MB against a bound of 1,089,536 bytes
    guarded(b"z" * 1024)  # 300 KB: within the bound


def test_what_the_first_call_fills_once_is_not_a_finding() -> None:
    """Over the bound on the first traced run only (a cache filled once): run again, no finding."""
    cache: list[bytearray] = []
    calls, check = counting()

    def filling(data: bytes) -> None:
        check(data)
        if not cache:
            cache.append(bytearray(2 * mb.FLOOR))

    mb.guard(filling)(SMALL)
    assert calls == [True, True]
