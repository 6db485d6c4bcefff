"""Building blocks of live-fuzzing cases: the standard steps, valid messages as P-DATA bytes.

Every case kind (:mod:`dimse_codec.scpfuzz.cases` and the service, state and probe modules beside
it) builds its steps from these, so the A-ASSOCIATE-RQ, the release and a message cut into PDUs
are the same bytes whichever kind sends them. Sans-I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from hypothesis import strategies as st

from dimse_codec.dimse.codec import encode_command_set, message_spec
from dimse_codec.dimse.primitives import C_STORE, DIMSEPrimitive
from dimse_codec.errors import DimseCodecError
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import AReleaseRQ, encode_pdu, pdu_name
from dimse_codec.scpfuzz.model import Expect, Step, Target
from dimse_codec.strategies import MalformedPDU, malformed_pdu_bytes, max_pdu_lengths

__all__ = [
    "EXPECT_BY_PDU_TYPE",
    "details",
    "joined",
    "message_id",
    "message_name",
    "once",
    "parts",
    "pdata",
    "pdu_label",
    "release_step",
    "request_step",
    "send_limit",
    "sendable_malformed_pdus",
]

_T = TypeVar("_T")


@functools.cache
def _built(factory: Callable[..., st.SearchStrategy[Any]], *items: tuple[str, Any]) -> Any:
    return factory(**dict(items))


def once(factory: Callable[..., st.SearchStrategy[_T]], **kwargs: Any) -> st.SearchStrategy[_T]:
    """``factory(**kwargs)``, built once per arguments and kept.

    Building a strategy costs far more than drawing from it (Hypothesis reads the source of
    every ``@composite`` it wraps: the malformed command sets alone are 35 of them), and the
    cases draw from the same few strategies in every example.
    """
    strategy: st.SearchStrategy[_T] = _built(factory, *sorted(kwargs.items()))
    return strategy


def release_step() -> Step:
    """The A-RELEASE-RQ that ends a valid case."""
    return Step("A-RELEASE-RQ", encode_pdu(AReleaseRQ()), Expect.RELEASE)


def request_step(target: Target) -> Step:
    """Our standard A-ASSOCIATE-RQ."""
    return Step("A-ASSOCIATE-RQ", target.request_bytes, Expect.ASSOCIATION)


def joined(plan: Iterable[tuple[bytes | bytearray | memoryview, ...]]) -> bytes:
    """The bytes of planned PDUs, one after the other."""
    return b"".join(bytes(buffer) for pdu in plan for buffer in pdu)


def pdata(primitive: DIMSEPrimitive, context_id: int, limit: int, per_pdu: int) -> bytes:
    """A valid message as P-DATA-TF PDUs from the library's own fragmenter."""
    return joined(encode_pdata(primitive, context_id, max_pdu_length=limit, pdvs_per_pdu=per_pdu))


def parts(request: DIMSEPrimitive) -> tuple[bytes, bytes | None]:
    """A valid request's command set and, for a C-STORE, its data set bytes."""
    raw = request.payload_bytes("DataSet") if isinstance(request, C_STORE) else None
    return encode_command_set(request), None if raw is None else bytes(raw)


def send_limit(draw: st.DrawFn, target: Target, *, small: bool = True) -> int:
    """A maximum length to cut a valid message for: anything up to what the SCP announced.

    ``small=False``: only the lengths peers use (16 KiB and up), for a case that sends many
    messages to reach a state (a quota), where cutting each one for a limit of 8 bytes
    would send hundreds of PDUs per message and test only what a single store tests.
    """
    limit = draw(once(max_pdu_lengths, allow_unlimited=False, allow_small=small))
    peer = target.peer_max_pdu_length
    return min(limit, peer) if peer else limit


def message_id(draw: st.DrawFn) -> int:
    """A Message ID."""
    return draw(st.integers(min_value=1, max_value=0xFFFF))


def details(**values: object) -> Mapping[str, object]:
    """Frozen JSON-ready details of a case."""
    return MappingProxyType(dict(values))


def message_name(primitive: DIMSEPrimitive) -> str:
    """The message type of a primitive (``"C-ECHO-RQ"``), or its service when it has none."""
    try:
        return message_spec(primitive).name
    except DimseCodecError:
        return primitive.msg_type


def pdu_label(data: bytes) -> str:
    """The PDU type the first byte of ``data`` names (``"PDU 0x42"`` when undefined; PS3.8 9.3)."""
    if not data:
        return "empty PDU"
    return pdu_name(data[0])


EXPECT_BY_PDU_TYPE: Mapping[int, Expect] = MappingProxyType(
    {0x01: Expect.ASSOCIATION, 0x04: Expect.RESPONSE, 0x05: Expect.RELEASE}
)
"""The answer a PDU of each type gets when the SCP takes it (A-ASSOCIATE-RQ, P-DATA-TF,
A-RELEASE-RQ); any other type expects nothing."""


@functools.cache
def sendable_malformed_pdus() -> st.SearchStrategy[MalformedPDU]:
    """The malformed PDUs that send at least one byte, built once (an empty "PDU" sends
    nothing, so the peer cannot see its flaw)."""
    return malformed_pdu_bytes().filter(lambda m: len(m.data) > 0)
