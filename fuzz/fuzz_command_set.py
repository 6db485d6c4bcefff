"""Coverage-guided fuzzing of the command-set decoder (atheris): only DimseCodecError may escape.

Each input is decoded leniently and strictly; whatever decodes must re-encode to the same bytes,
and its canonical encoding must decode again. Anything else is a finding.
"""

from __future__ import annotations

import contextlib
import sys

if __name__ == "__main__":  # instrument only under libFuzzer; replay.py and the tests import this
    import atheris

    _imports = atheris.instrument_imports(include=["dimse_codec"])  # not stdlib, pydicom...
else:
    _imports = contextlib.nullcontext()

with _imports:
    from dimse_codec import (
        STRICT,
        DimseCodecError,
        decode_command_set,
        encode_command_set,
    )

import memory_bound  # from fuzz/: the script's folder, or put on sys.path by replay.py


def check(data: bytes) -> None:
    """Decode one input under both policies and check the round-trip invariants."""
    try:
        decoded = decode_command_set(data)
    except DimseCodecError:
        return
    if encode_command_set(decoded) != data:
        raise RuntimeError("an unchanged decoded command set did not re-encode exactly")
    bool(decoded.is_valid_request)
    bool(decoded.is_valid_response)
    try:
        canonical = encode_command_set(decoded, canonical=True, check=False)
    except DimseCodecError:
        return
    decode_command_set(canonical)
    try:
        decode_command_set(data, policy=STRICT)
    except DimseCodecError:
        return


test_one_input = memory_bound.guard(check)
"""The harness: :func:`check`, and the memory bound (fuzz/memory_bound.py)."""


def main() -> None:
    """Run libFuzzer with the arguments given on the command line."""
    memory_bound.sample_every(memory_bound.SAMPLE_EVERY, memory_bound.SAMPLE_SMALL_EVERY)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
