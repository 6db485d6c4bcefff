"""One valid request broken in one way, at the DIMSE, the data set or the PDU level, sans-I/O.

The mutations that seeded cases (:mod:`dimse_codec.scpfuzz.seeds`) and DIMSE-N dialogues
(:mod:`dimse_codec.scpfuzz.normalized`) apply to a request they hold as bytes (a
:class:`Message`): its command set broken element-wise
(:func:`~dimse_codec.strategies.damaged_command_sets`), its data set cut short or replaced by one
of :func:`~dimse_codec.strategies.malformed_datasets`, or its P-DATA-TF PDUs given a wrong PDU
length, an unproposed context ID or a size over the SCP's maximum. Each returns the flaw in a
phrase and the bytes to send.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from hypothesis import strategies as st

from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH
from dimse_codec.dimse.codec import decode_command_set
from dimse_codec.pdata import fragment_size
from dimse_codec.scpfuzz.model import Target
from dimse_codec.strategies import MalformedCommandSet, damaged_command_sets, malformed_datasets
from dimse_codec.strategies.datasets import STANDARD_TRANSFER_SYNTAXES
from dimse_codec.strategies.raw import message_pdvs, one_pdv_per_pdu

__all__ = [
    "UNPROPOSED_CONTEXT",
    "Message",
    "broken_command",
    "broken_dataset",
    "broken_pdu",
    "fragment_for",
    "message_bytes",
]

UNPROPOSED_CONTEXT = 255
"""A context ID the fuzzer's proposal never uses."""
_LENGTH_DELTAS = (-7, -4, -2, -1, 1, 2, 4, 6, 0x10000, 1 << 20)
"""How far a broken PDU length is from the right one."""


@dataclass(frozen=True, slots=True)
class Message:
    """A valid request as bytes: its command set, its data set, and the context it goes on."""

    name: str
    """Its message type, e.g. ``N-SET-RQ``."""
    command_set: bytes
    dataset: bytes | None
    context_id: int
    transfer_syntax: str


def fragment_for(target: Target) -> int:
    """The PDV fragment size for the SCP's maximum length, as a conforming requestor cuts."""
    return fragment_size(target.peer_max_pdu_length or DEFAULT_MAX_PDU_LENGTH)


def message_bytes(command: bytes, data: bytes | None, context_id: int, size: int) -> bytes:
    """A command set and data set as P-DATA-TF PDUs, one PDV each, ``size``-byte fragments."""
    return one_pdv_per_pdu(message_pdvs(command, data, context_id, size))


@functools.lru_cache(maxsize=256)
def _damaged(command_set: bytes) -> st.SearchStrategy[MalformedCommandSet]:
    """The damaged versions of one command set, built once (building costs far more than
    drawing, and a dialogue sends the same few command sets again and again)."""
    return damaged_command_sets(decode_command_set(command_set))


def broken_command(draw: st.DrawFn, message: Message, target: Target) -> tuple[str, bytes]:
    """The request with its command set broken in one way (the DIMSE level)."""
    broken = draw(_damaged(message.command_set))
    data = message_bytes(broken.data, message.dataset, message.context_id, fragment_for(target))
    return broken.defect, data


def broken_dataset(draw: st.DrawFn, message: Message, target: Target) -> tuple[str, bytes]:
    """The request with its data set cut short or replaced by a broken one."""
    dataset = message.dataset or b""
    standard = message.transfer_syntax in {s.uid for s in STANDARD_TRANSFER_SYNTAXES}
    if standard and (len(dataset) < 2 or draw(st.booleans())):
        replaced = draw(malformed_datasets(transfer_syntax=message.transfer_syntax))
        flaw, dataset = replaced.defect, replaced.data
    else:
        cut = draw(st.integers(min_value=1, max_value=max(len(dataset) - 1, 1)))
        flaw, dataset = f"data set cut after {cut} of {len(dataset)} bytes", dataset[:cut]
    data = message_bytes(message.command_set, dataset, message.context_id, fragment_for(target))
    return flaw, data


def broken_pdu(draw: st.DrawFn, message: Message, target: Target) -> tuple[str, bytes]:
    """The request in P-DATA-TF PDUs broken in one way (the PDU level)."""
    flaws = ["PDU length", "unproposed context"]
    peer = target.peer_max_pdu_length
    if peer > 0 and len(message.command_set) + len(message.dataset or b"") > fragment_size(peer):
        flaws.append("PDU over the maximum")  # the message is long enough to need one
    kind = draw(st.sampled_from(flaws))
    size, context_id = fragment_for(target), message.context_id
    if kind == "unproposed context":
        context_id = UNPROPOSED_CONTEXT
    elif kind == "PDU over the maximum":
        size = fragment_size(peer * 2)
    data = bytearray(message_bytes(message.command_set, message.dataset, context_id, size))
    flaw = f"{kind} (context {context_id})" if kind == "unproposed context" else kind
    if kind == "PDU length":
        flaw = wrong_pdu_length(draw, data)
    return flaw, bytes(data)


def wrong_pdu_length(draw: st.DrawFn, data: bytearray) -> str:
    """Set the first PDU's length field of ``data`` a drawn distance off the right one (in
    place): a few bytes short or long, or far past the data; the flaw, as words."""
    delta = draw(st.sampled_from(_LENGTH_DELTAS))
    (length,) = struct.unpack_from(">L", data, 2)
    struct.pack_into(">L", data, 2, max(length + delta, 0) & 0xFFFFFFFF)
    return f"PDU length {'+' if delta > 0 else ''}{delta} from the right one"
