"""Coverage-guided fuzzing of the data-set decoder (atheris) in each native transfer syntax."""

from __future__ import annotations

import contextlib
import sys

if __name__ == "__main__":  # instrument only under libFuzzer; replay.py and the tests import this
    import atheris

    _imports = atheris.instrument_imports(include=["dimse_codec"])  # not stdlib, pydicom...
else:
    _imports = contextlib.nullcontext()

with _imports:
    from dimse_codec import DimseCodecError, Policy
    from dimse_codec.dataset import (
        DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        EXPLICIT_VR_BIG_ENDIAN,
        EXPLICIT_VR_LITTLE_ENDIAN,
        IMPLICIT_VR_LITTLE_ENDIAN,
        decode_dataset,
    )

SYNTAXES = (
    IMPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
POLICY = Policy(max_inflated_size=1 << 20)


def test_one_input(data: bytes) -> None:
    """Decode one input; the first byte picks the transfer syntax."""
    if not data:
        return
    syntax = SYNTAXES[data[0] % len(SYNTAXES)]
    try:
        decode_dataset(data[1:], syntax, policy=POLICY)
    except DimseCodecError:
        return


def main() -> None:
    """Run libFuzzer with the arguments given on the command line."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
