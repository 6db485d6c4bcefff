"""Every saved fuzzing input replays through its harness's check function (without atheris).

``fuzz/reproducers/<harness>/`` holds inputs that once crashed a harness (``fuzz/run`` copies each
new finding there) or that reach an error path worth keeping; each one is a test here. A harness
may let the library's own DimseCodecError through; any other exception, including an invariant
the harness checks, fails the test. Every harness also checks the memory bound of
``fuzz/memory_bound.py`` on every replayed input (tracemalloc peak at most 10 times the input, the
inflated size for a deflated data set, plus 1 MiB), so a memory blow-up kept here is a test too.

A reproducer of a known library bug not fixed yet is listed in ``KNOWN_LIBRARY_BUGS`` and runs
as a strict xfail: the fix makes it pass, which fails the test until its entry is removed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from dimse_codec import DimseCodecError

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"


def _replay_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_replay", FUZZ / "replay.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


replay = _replay_module()
CASES = sorted(
    path
    for folder in replay.REPRODUCERS.iterdir()
    if folder.is_dir()
    for path in folder.iterdir()
    if path.is_file() and not path.name.startswith(".")
)


_PER_OBJECT = (
    "within every Limits default: the cost is per decoded object (a Python object per few input "
    "bytes), which the limits bound in total but not per byte"
)
KNOWN_LIBRARY_BUGS: dict[str, str] = {
    "fuzz_dataset/many-empty-items-deflated": (
        "85 deflated bytes, 4000 empty sequence items (32 KB inflated) allocate 2.3 MB, 73x "
        f"the inflated size: each empty item becomes a pydicom Dataset; {_PER_OBJECT}"
    ),
    "fuzz_dataset/many-ds-values": (
        "a 20 KB DS element of 10000 values allocates 4.2 MB, 212x the input: one DSfloat per "
        f"two input bytes; {_PER_OBJECT}"
    ),
    "fuzz_command_set/zeros-64k": (
        "64 KiB of zeros as a command set allocate 3.5 MB, 54x the input (one element and "
        f"diagnostic per 8 zero bytes); {_PER_OBJECT}"
    ),
}
"""Reproducers of library bugs not fixed yet: strict xfails, so a fix makes them fail until the
entry is removed here."""


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _case(path: Path) -> object:
    reason = KNOWN_LIBRARY_BUGS.get(_id(path))
    if reason is None:
        return path
    return pytest.param(path, marks=pytest.mark.xfail(reason=reason, strict=True))


def test_every_folder_names_a_harness() -> None:
    folders = {p.name for p in replay.REPRODUCERS.iterdir() if p.is_dir()}
    assert folders <= set(replay.HARNESSES), folders - set(replay.HARNESSES)


@pytest.mark.parametrize("harness", replay.HARNESSES)
def test_every_harness_has_reproducers(harness: str) -> None:
    assert any(path.parent.name == harness for path in CASES)


def test_known_bugs_have_reproducers() -> None:
    assert set(KNOWN_LIBRARY_BUGS) <= {_id(path) for path in CASES}


@pytest.mark.parametrize("path", [_case(p) for p in CASES], ids=[_id(p) for p in CASES])
def test_reproducer(path: Path) -> None:
    harness = replay.load(path.parent.name)
    outcome = replay.replay(harness, path.read_bytes())  # raises anything outside the family
    assert outcome is None or isinstance(outcome, DimseCodecError)
