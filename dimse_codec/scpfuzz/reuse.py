"""Which cases may share an association, and their Message IDs made unique on it.

The live runner (:class:`~dimse_codec.scpfuzz.live.LiveRunner`) runs consecutive cases that
:func:`reusable` accepts on one association; a Message ID already used there is replaced in
place by :func:`renumber` (a Message ID tells a request apart from the others on its
association: PS3.7 Annex E), two bytes in the command set wherever the fragments put them,
nothing else changed. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from dimse_codec.scpfuzz.model import Case, Expect, Step, Target
from dimse_codec.scpfuzz.normalized import VALID_N_KINDS
from dimse_codec.scpfuzz.oracle import Judgement
from dimse_codec.scpfuzz.steps import release_step

__all__ = ["message_ids", "renumber", "renumbered", "reusable"]


def reusable(case: Case, judgement: Judgement, target: Target) -> frozenset[int] | None:
    """The Message IDs of the requests of a case that may run on an association earlier cases
    opened, or ``None`` for one that needs its own.

    A case may share an association when it is nothing but valid DIMSE traffic inside one: it
    was generated valid and the decoder takes every step as valid; it is our standard
    A-ASSOCIATE-RQ (a case that negotiates otherwise needs its own), then one or more P-DATA-TF
    steps each answered by a final response (no C-CANCEL-RQ, no step read up to a Pending),
    then the standard A-RELEASE-RQ; and it is no DIMSE-N kind (their SOP instances, a film
    session, and the event reports an SCP may send later belong to the association). Malformed
    PDUs and lengths, A-ABORT, release and state-table cases all fail one of these.
    """
    steps = case.steps
    if (
        not case.generated_valid
        or case.kind in VALID_N_KINDS
        or len(steps) < 3
        or len(judgement.steps) != len(steps)
        or not judgement.valid
        or steps[0].data != target.request_bytes
        or steps[-1].data != release_step().data
    ):
        return None
    middle = steps[1:-1]
    for step, verdict in zip(middle, judgement.steps[1:-1], strict=True):
        expect = verdict.expect or step.expect
        if step.data[:1] != b"\x04" or step.pending is not None or expect is not Expect.RESPONSE:
            return None
    numbers = message_ids(middle)
    if not numbers or len(set(numbers)) != len(numbers):
        return None
    return frozenset(numbers)


_MESSAGE_ID_TAG = b"\x00\x00\x10\x01\x02\x00\x00\x00"
"""(0000,0110) Message ID, value length 2, as an Implicit VR Little Endian command set has it."""


def _command_spans(data: bytes) -> list[list[int]]:
    """Where the bytes of each whole command set of ``data`` (P-DATA-TF PDUs) lie, byte by
    byte: the command fragments of a context joined in order, up to the last one."""
    commands: list[list[int]] = []
    partial: dict[int, list[int]] = {}
    pos = 0
    while pos + 6 <= len(data):
        end = pos + 6 + int.from_bytes(data[pos + 2 : pos + 6], "big")
        item = pos + 6
        while data[pos] == 0x04 and item + 6 <= min(end, len(data)):
            stop = item + 4 + int.from_bytes(data[item : item + 4], "big")
            context, header = data[item + 4], data[item + 5]
            if header & 0x01:  # a command fragment; bit 1: the last one
                partial.setdefault(context, []).extend(range(item + 6, min(stop, len(data))))
                if header & 0x02:
                    commands.append(partial.pop(context))
            item = stop
        pos = end
    return commands


def _message_id_at(command: bytes) -> int | None:
    """Where the Message ID's value lies in an Implicit VR Little Endian command set."""
    offset = 0
    while offset + 8 <= len(command):
        if command[offset : offset + 8] == _MESSAGE_ID_TAG:
            return offset + 8 if offset + 10 <= len(command) else None
        offset += 8 + int.from_bytes(command[offset + 4 : offset + 8], "little")
    return None


def message_ids(steps: Iterable[Step]) -> list[int] | None:
    """The Message IDs of the requests in ``steps`` in order (``None``: one has none)."""
    numbers: list[int] = []
    for step in steps:
        for spans in _command_spans(step.data):
            command = bytes(step.data[i] for i in spans)
            at = _message_id_at(command)
            if at is None:
                return None
            numbers.append(int.from_bytes(command[at : at + 2], "little"))
    return numbers


def renumbered(data: bytes, numbers: Mapping[int, int]) -> bytes:
    """``data`` (P-DATA-TF PDUs) with each command set's Message ID that ``numbers`` maps
    replaced in place (its two bytes, wherever the fragments put them): nothing else changes,
    not a length, not a fragment boundary."""
    out = bytearray(data)
    for spans in _command_spans(data):
        command = bytes(data[i] for i in spans)
        at = _message_id_at(command)
        if at is None:
            continue
        old = int.from_bytes(command[at : at + 2], "little")
        if old in numbers:
            new = numbers[old].to_bytes(2, "little")
            out[spans[at]], out[spans[at + 1]] = new[0], new[1]
    return bytes(out)


def renumber(
    case: Case, numbers: frozenset[int], used: set[int] | frozenset[int]
) -> tuple[Case, int] | None:
    """``case`` (whose requests carry Message IDs ``numbers``, see :func:`reusable`) with those
    already ``used`` on the association replaced by the lowest unused ones, and how many were
    replaced; ``None`` when that cannot be done (no Message ID left, or a command set whose ID
    could not be found again)."""
    taken = set(used) | numbers
    mapping: dict[int, int] = {}
    candidate = 1
    for number in sorted(numbers & set(used)):
        while candidate in taken:
            candidate += 1
        if candidate > 0xFFFF:
            return None
        mapping[number] = candidate
        taken.add(candidate)
    middle = [replace(step, data=renumbered(step.data, mapping)) for step in case.steps[1:-1]]
    expected = [mapping.get(n, n) for n in message_ids(case.steps[1:-1]) or ()]
    if message_ids(middle) != expected:
        return None
    return replace(case, steps=(case.steps[0], *middle, case.steps[-1])), len(mapping)
