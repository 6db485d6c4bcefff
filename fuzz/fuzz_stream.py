"""Coverage-guided fuzzing of the P-DATA stream decoder (atheris): only DimseCodecError may escape.

The first input byte chooses how the rest is cut into ``feed`` calls (so split points are fuzzed
too) and which policy runs; the decoder must then either raise one of the library's errors or
account for every byte: the events it returns never point past what was fed, and every
delivered message's fragments sum to its command set and data set lengths.
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
    from dimse_codec import LENIENT, STRICT, DimseCodecError
    from dimse_codec.pdata import IncompleteMessage, MessageReceived, StreamDecoder

import memory_bound  # from fuzz/: the script's folder, or put on sys.path by replay.py


def check(data: bytes) -> None:
    """Feed one input in pieces and check the events against the bytes."""
    if not data:
        return
    control, body = data[0], data[1:]
    step = (control & 0x3F) + 1
    policy = STRICT if control & 0x40 else LENIENT
    decoder = StreamDecoder(
        policy=policy,
        max_pdu_length=16384 if control & 0x80 else 0,
        max_other_pdu_length=1 << 16,
        max_dataset_size=1 << 20,
        report_pdata=True,
    )
    events = []
    try:
        for start in range(0, len(body), step):
            events += decoder.feed(body[start : start + step])
        events += decoder.close()
    except DimseCodecError:
        return
    for event in events:
        if isinstance(event, (MessageReceived, IncompleteMessage)):
            if not 0 <= event.offset <= event.end <= len(body):
                raise RuntimeError(f"event span {event.offset}..{event.end} is outside the input")
            command = sum(f.length for f in event.fragments if f.is_command)
            data_bytes = sum(f.length for f in event.fragments if not f.is_command)
            if command != len(event.command_set):
                raise RuntimeError("command fragments do not add up to the command set")
            if (event.dataset_length or 0) != data_bytes:
                raise RuntimeError("data fragments do not add up to the data set")
    if decoder.offset != len(body):
        raise RuntimeError("the decoder did not consume every byte")


test_one_input = memory_bound.guard(check)
"""The harness: :func:`check`, and the memory bound (fuzz/memory_bound.py)."""


def main() -> None:
    """Run libFuzzer with the arguments given on the command line."""
    memory_bound.sample_every(memory_bound.SAMPLE_EVERY, memory_bound.SAMPLE_SMALL_EVERY)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
