"""Coverage-guided fuzzing of the PDU decoder (atheris): only DimseCodecError may escape.

Each input is framed with read_pdu_header and decoded leniently and strictly. Whatever decodes
must re-encode to the same bytes, agree with its header, and have a canonical encoding that
decodes again and is its own canonical form; a strict decode may only succeed when every
lenient diagnostic is one PS3.8 says not to test. Anything else is a finding.
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
    from dimse_codec import STRICT, DimseCodecError, LimitExceeded, TruncatedError
    from dimse_codec.pdu import PDU_HEADER_SIZE, decode_pdu, encode_pdu, read_pdu_header
    from dimse_codec.policy import IGNORED_BY_THE_STANDARD

import memory_bound  # from fuzz/: the script's folder, or put on sys.path by replay.py


def _frame(data: bytes) -> tuple[int, int] | None:
    """Read the header as a stream reader would, checking the cap is exact; None when short."""
    try:
        pdu_type, length = read_pdu_header(data)
    except TruncatedError:
        if len(data) >= PDU_HEADER_SIZE:
            raise RuntimeError("read_pdu_header refused a complete header") from None
        return None
    if (pdu_type, length) != (data[0], int.from_bytes(data[2:6], "big")):
        raise RuntimeError("read_pdu_header misread the header")
    if read_pdu_header(data, max_pdu_length=max(length, 1)) != (pdu_type, length):
        raise RuntimeError("read_pdu_header refused a PDU-length equal to the cap")
    if length > 1:
        try:
            read_pdu_header(data, max_pdu_length=length - 1)
        except LimitExceeded:
            pass
        else:
            raise RuntimeError("read_pdu_header accepted a PDU-length over the cap")
    return pdu_type, length


def check(data: bytes) -> None:
    """Frame and decode one input under both policies and check the round-trip invariants."""
    header = _frame(data)
    try:
        decoded = decode_pdu(data)
    except DimseCodecError:
        decoded = None
    try:
        strict = decode_pdu(data, policy=STRICT)
    except DimseCodecError:
        strict = None
    if decoded is None:
        if strict is not None:
            raise RuntimeError("strict decoded what lenient refused")
        return
    if header is None or header[0] != decoded.pdu_type:
        raise RuntimeError(f"header {header} disagrees with the decoded {decoded.name}")
    if encode_pdu(decoded) != data:
        raise RuntimeError("an unchanged decoded PDU did not re-encode exactly")
    tolerated = {d.code for d in decoded.diagnostics} <= IGNORED_BY_THE_STANDARD
    if (strict is not None) != tolerated:
        raise RuntimeError("strict and lenient disagree on which diagnostics are errors")
    if strict is not None and (strict != decoded or strict.diagnostics != decoded.diagnostics):
        raise RuntimeError("strict and lenient decoded different values")
    canonical = encode_pdu(decoded, canonical=True)
    again = decode_pdu(canonical)
    if encode_pdu(again, canonical=True) != canonical or encode_pdu(again) != canonical:
        raise RuntimeError("the canonical encoding is not stable")


test_one_input = memory_bound.guard(check)
"""The harness: :func:`check`, and the memory bound (fuzz/memory_bound.py)."""


def main() -> None:
    """Run libFuzzer with the arguments given on the command line."""
    memory_bound.sample_every(memory_bound.SAMPLE_EVERY, memory_bound.SAMPLE_SMALL_EVERY)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
