"""Coverage-guided fuzzing of the data-set decoder (atheris) in each native transfer syntax.

The first byte picks the transfer syntax (implicit VR LE, explicit VR LE, explicit VR BE,
deflated); the rest is the data set. Deflated data sets inflate up to the library's default cap
(``DEFAULT_LIMITS.max_inflated_size``), so a few kilobytes can reach millions of elements, and
their memory bound (fuzz/memory_bound.py) is taken against the inflated size (for a stream that
ends early or turns corrupt, what it inflated to before that). The decode is lenient, so a limit
met is a ``LIMIT_EXCEEDED`` diagnostic: a ``LimitExceeded`` is a failure.
"""

from __future__ import annotations

import contextlib
import sys
import zlib

if __name__ == "__main__":  # instrument only under libFuzzer; replay.py and the tests import this
    import atheris

    _imports = atheris.instrument_imports(include=["dimse_codec"])  # not stdlib, pydicom...
else:
    _imports = contextlib.nullcontext()

with _imports:
    from dimse_codec import DimseCodecError, LimitExceeded, Policy
    from dimse_codec.dataset import (
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_BIG_ENDIAN,
        EXPLICIT_VR_LITTLE_ENDIAN,
        IMPLICIT_VR_LITTLE_ENDIAN,
        EncodedDataset,
        decode_dataset,
    )
    from dimse_codec.limits import DEFAULT_LIMITS

import memory_bound  # from fuzz/: the script's folder, or put on sys.path by replay.py

SYNTAXES = (
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
POLICY = Policy(max_inflated_size=DEFAULT_LIMITS.max_inflated_size)


def check(data: bytes) -> None:
    """Decode one input; the first byte picks the transfer syntax."""
    if not data:
        return
    syntax = SYNTAXES[data[0] % len(SYNTAXES)]
    try:
        decode_dataset(data[1:], syntax, policy=POLICY)
    except LimitExceeded as exc:
        raise RuntimeError(f"a lenient decode raised LimitExceeded: {exc}") from exc
    except DimseCodecError:
        return


def inflated_size(data: bytes) -> int:
    """The bytes a deflated input inflates to, at most the cap (its memory basis); its length
    for the others."""
    if not data or not SYNTAXES[data[0] % len(SYNTAXES)].deflated:
        return len(data)
    try:
        return len(EncodedDataset(data[1:], DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN).inflated(POLICY))
    except DimseCodecError:  # cut or corrupt: decoding it inflated what came before the fault
        return max(len(data), _inflated_before_fault(data[1:]))


def _inflated_before_fault(stream: bytes, step: int = 64) -> int:
    """The bytes a raw DEFLATE stream that ends early or turns corrupt inflates to before that
    (to within what ``step`` input bytes give), at most the inflate cap."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    for start in range(0, len(stream), step):
        try:
            total += len(inflater.decompress(stream[start : start + step]))
        except zlib.error:
            break
        if total >= POLICY.limits.max_inflated_size or inflater.eof:
            break
    return min(total, POLICY.limits.max_inflated_size)


def most_inflated(data: bytes) -> int:
    """An upper bound of :func:`inflated_size` found without inflating: DEFLATE gives at most
    1032 bytes per input byte (258 bytes from a two-bit length and distance), capped."""
    if not data or not SYNTAXES[data[0] % len(SYNTAXES)].deflated:
        return len(data)
    return max(len(data), min(1032 * (len(data) - 1), POLICY.limits.max_inflated_size))


test_one_input = memory_bound.guard(check, inflated_size, most_inflated)
"""The harness: :func:`check`, and the memory bound (fuzz/memory_bound.py)."""


def main() -> None:
    """Run libFuzzer with the arguments given on the command line."""
    memory_bound.sample_every(memory_bound.SAMPLE_EVERY, memory_bound.SAMPLE_SMALL_EVERY)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
