"""Run saved inputs through a harness's check function, without atheris or its instrumentation.

    python fuzz/replay.py HARNESS FILE_OR_FOLDER...

HARNESS is a harness's name (``capture``, ``fuzz_capture`` or ``fuzz_capture.py`` all work); a
folder stands for every file in it. Each input prints ``ok``, ``library error`` (the harness let a
DimseCodecError through, which is allowed) or ``FAILED`` with the traceback; the exit status is 1
when any input failed. ``tests/test_fuzz_reproducers.py`` uses :func:`load` and :func:`replay`.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from dimse_codec import DimseCodecError

FUZZ = Path(__file__).resolve().parent
HARNESSES = tuple(sorted(path.stem for path in FUZZ.glob("fuzz_*.py")))
"""Every harness in fuzz/, by module name (``fuzz_capture``, ``fuzz_pdu``...)."""
if str(FUZZ) not in sys.path:  # the harnesses import memory_bound from their own folder
    sys.path.insert(0, str(FUZZ))
REPRODUCERS = FUZZ / "reproducers"
"""Saved inputs, one folder per harness: ``reproducers/fuzz_pdu/...``."""


def harness_name(name: str) -> str:
    """``pdu``, ``fuzz_pdu`` or ``fuzz_pdu.py`` -> ``fuzz_pdu``; ValueError for an unknown one."""
    stem = Path(name).name.removesuffix(".py")
    stem = stem if stem.startswith("fuzz_") else f"fuzz_{stem}"
    if stem not in HARNESSES:
        raise ValueError(f"no harness {name!r}: choose from {', '.join(HARNESSES)}")
    return stem


def load(name: str) -> ModuleType:
    """Import a harness module by file (importing it never imports atheris)."""
    stem = harness_name(name)
    if stem in sys.modules:
        return sys.modules[stem]
    spec = importlib.util.spec_from_file_location(stem, FUZZ / f"{stem}.py")
    if spec is None or spec.loader is None:  # pragma: no cover - the file exists
        raise ImportError(stem)
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[stem]
        raise
    return module


def replay(module: ModuleType, data: bytes) -> DimseCodecError | None:
    """Run one input; return the library error it let through, if any (anything else raises)."""
    try:
        module.test_one_input(data)
    except DimseCodecError as exc:
        return exc
    return None


def inputs(paths: list[str]) -> list[Path]:
    """The files named, with every file of each folder named (sorted)."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            found.append(path)
    return found


def main(argv: list[str]) -> int:
    """Replay the inputs given on the command line; 1 if any failed, 2 for a usage error."""
    if len(argv) < 3:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        module = load(argv[1])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    failed = 0
    files = inputs(argv[2:])
    for path in files:
        data = path.read_bytes()
        try:
            error = replay(module, data)
        except Exception:
            failed += 1
            print(f"{path}: FAILED ({len(data)} bytes)")
            traceback.print_exc()
            continue
        print(f"{path}: " + ("ok" if error is None else f"library error: {error}"))
    print(f"{len(files) - failed} of {len(files)} inputs passed {module.__name__}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
