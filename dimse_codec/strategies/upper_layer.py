"""Walks through PS3.8 Table 9-10: local calls and received PDUs, each with what the table says.

:func:`upper_layer_walks` draws sequences of :class:`WalkStep` for one role, starting in Sta1:
each step is an event (a local call of :class:`~dimse_codec.upper_layer.Connection`, or the
bytes of a PDU the peer sends), the state it meets, the action the table gives it there and the
state it leads to. :func:`take_step` replays a step into a ``Connection``; the same steps drive a
socket to a real SCP (send the bytes of the local calls, compare what comes back with
:attr:`WalkStep.action`). ARTIM (Evt18) needs a clock and is left out; so are events that cannot
happen without a transport connection (a PDU in Sta1 or Sta4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from hypothesis import strategies as st

from dimse_codec.association import build_request, respond
from dimse_codec.dimse.primitives import C_ECHO
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import (
    AAbort,
    AAssociateRJ,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    RejectReasonUser,
    encode_pdu,
)
from dimse_codec.tables.upper_layer import ACTIONS, TRANSITIONS
from dimse_codec.upper_layer import Connection, ConnectionRole, Event

__all__ = [
    "WALK_REQUEST",
    "WALK_SUPPORTED",
    "WalkStep",
    "take_step",
    "upper_layer_walks",
]

_VERIFICATION = "1.2.840.10008.1.1"
_IMPLICIT = "1.2.840.10008.1.2"

WALK_REQUEST = build_request("WALKER", "UNDER-TEST", [(_VERIFICATION, [_IMPLICIT])])
"""The A-ASSOCIATE-RQ of every walk: what a requestor sends and an acceptor receives."""

WALK_SUPPORTED = {_VERIFICATION: [_IMPLICIT]}
"""What an acceptor supports in a walk: it accepts :data:`WALK_REQUEST`'s one context."""

_ACCEPT = respond(WALK_REQUEST, WALK_SUPPORTED).pdu
_ECHO = C_ECHO(MessageID=1, AffectedSOPClassUID=_VERIFICATION)

_FORBIDDING = frozenset({"AA-1", "AA-7", "AA-8"})
"""The actions with which the table answers a PDU the state does not allow."""

_LOCAL: dict[str, dict[str, str]] = {
    "requestor": {
        "Evt1": "request_association",
        "Evt2": "transport_connected",
        "Evt9": "send_message",
        "Evt11": "release",
        "Evt14": "release_response",
        "Evt15": "abort",
        "Evt17": "transport_closed",
    },
    "acceptor": {
        "Evt5": "transport_connected",
        "Evt7": "accept",
        "Evt8": "reject",
        "Evt9": "send_message",
        "Evt11": "release",
        "Evt14": "release_response",
        "Evt15": "abort",
        "Evt17": "transport_closed",
    },
}
"""The local events of each role and the ``Connection`` method that is each."""

_RECEIVED = ("Evt3", "Evt4", "Evt6", "Evt10", "Evt12", "Evt13", "Evt16", "Evt19")
"""The received-PDU events."""

_NO_TRANSPORT = frozenset({"Sta1", "Sta4"})
"""States without a transport connection: nothing can be received in them."""


@dataclass(frozen=True, slots=True)
class WalkStep:
    """One event of a walk with the state it meets and what PS3.8 Table 9-10 says of it.

    ``call`` is the ``Connection`` method of a local event (``None`` for a received PDU, whose
    bytes are ``data``). ``action`` is the table's action (``None``: an empty cell, which a
    ``Connection`` refuses with ``LocalProtocolError`` for a local call) and ``next_state``
    where it leads.
    """

    event: str
    state: str
    action: str | None
    next_state: str
    call: str | None = None
    data: bytes = b""

    @property
    def valid(self) -> bool:
        """Whether the table allows the event here (a cell that is not a protocol error)."""
        return self.action is not None and self.action not in _FORBIDDING


def _cell(state: str, event: str, role: str) -> tuple[str | None, str]:
    """The action of a cell and its next state (the state stays for an empty cell)."""
    action = TRANSITIONS.get((state, event))
    if action is None:
        return None, state
    choices = ACTIONS[action].next_states
    # AE-6 accepts WALK_REQUEST (Sta3); AR-8 leads a requestor to Sta9, an acceptor to Sta10
    index = 1 if action == "AR-8" and role == "acceptor" else 0
    return action, choices[index]


def _candidates(state: str, role: str, valid: bool | None) -> list[str]:
    """The events a walk may take in ``state``; ``valid`` keeps only (in)valid ones."""
    events = [e for e in _LOCAL[role] if not (e == "Evt17" and state == "Sta1")]
    if state not in _NO_TRANSPORT:
        events += _RECEIVED
    if valid is None:
        return events
    return [e for e in events if _is_valid(state, e, role) is valid]


def _is_valid(state: str, event: str, role: str) -> bool:
    action, _ = _cell(state, event, role)
    return action is not None and action not in _FORBIDDING


@st.composite
def _pdu_bytes(draw: st.DrawFn, event: str, state: str, role: str) -> bytes:
    """The bytes of a PDU for a received event (the A-ASSOCIATE-AC answers WALK_REQUEST)."""
    if event == "Evt3":
        return encode_pdu(_ACCEPT)
    if event == "Evt4":
        return encode_pdu(AAssociateRJ(1, 1, draw(st.sampled_from(list(RejectReasonUser)))))
    if event == "Evt6":
        return encode_pdu(WALK_REQUEST)
    if event == "Evt10":
        message_id = draw(st.integers(1, 0xFFFF))
        echo = C_ECHO(MessageID=message_id, AffectedSOPClassUID=_VERIFICATION)
        # the requestor's peer answers, the acceptor's peer asks
        primitive = build_response(echo, 0) if role == "requestor" else echo
        return bytes(encode_pdata(primitive, 1, max_pdu_length=16384))
    if event == "Evt12":
        return encode_pdu(AReleaseRQ())
    if event == "Evt13":
        return encode_pdu(AReleaseRP())
    if event == "Evt16":
        source = draw(st.sampled_from([AbortSource.SERVICE_USER, AbortSource.SERVICE_PROVIDER]))
        abort_reason = AbortReason.REASON_NOT_SPECIFIED
        if source is AbortSource.SERVICE_PROVIDER:
            abort_reason = draw(st.sampled_from(list(AbortReason)))
        return encode_pdu(AAbort(source, abort_reason))
    pdu_type = draw(st.integers(0x08, 0xFF))  # Evt19: a PDU type PS3.8 does not define
    body = draw(st.binary(min_size=0, max_size=8))
    return bytes([pdu_type, 0]) + len(body).to_bytes(4, "big") + body


def upper_layer_walks(
    role: ConnectionRole | Literal["requestor", "acceptor"] = "requestor",
    *,
    valid: bool | None = None,
    max_steps: int = 12,
) -> st.SearchStrategy[tuple[WalkStep, ...]]:
    """Walks of PS3.8 Table 9-10 for ``role`` from Sta1, each step with its expected action.

    ``valid=True`` walks only allowed transitions; ``valid=False`` walks that take at least one
    forbidden one (a local call with an empty cell, or a PDU the table answers with AA-1, AA-7
    or AA-8) and may go on after it as the table says; ``None`` draws either.
    """
    name = ConnectionRole(role).value
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")

    @st.composite
    def walks(draw: st.DrawFn) -> tuple[WalkStep, ...]:
        steps: list[WalkStep] = []
        state = "Sta1"
        length = draw(st.integers(1, max_steps))
        broken = False
        for index in range(length):
            last = index == length - 1
            wanted: bool | None = valid
            if valid is False and not (last and not broken):
                wanted = None  # a forbidden step somewhere; the last one if none came before
            events = _candidates(state, name, wanted)
            if not events:
                break
            event = draw(st.sampled_from(events))
            step = _step(draw, state, event, name)
            broken |= not step.valid
            steps.append(step)
            state = step.next_state
        if valid is False and not broken:
            event = draw(st.sampled_from(_candidates(state, name, False)))
            steps.append(_step(draw, state, event, name))
        return tuple(steps)

    return walks()


def _step(draw: st.DrawFn, state: str, event: str, role: str) -> WalkStep:
    action, next_state = _cell(state, event, role)
    call = _LOCAL[role].get(event)
    data = b"" if call is not None else draw(_pdu_bytes(event, state, role))
    return WalkStep(event, state, action, next_state, call, data)


def take_step(connection: Connection, step: WalkStep, *, now: float = 0.0) -> list[Event]:
    """Do one step on a ``Connection``: its local call, or its PDU as received bytes.

    A local call the table forbids raises :class:`~dimse_codec.errors.LocalProtocolError`;
    what the connection has to send collects in its outbox as usual.
    """
    if step.call is None:
        return connection.receive_data(step.data, now=now)
    calls: dict[str, Callable[[], object]] = {
        "request_association": lambda: connection.request_association(
            request=WALK_REQUEST, now=now
        ),
        "transport_connected": lambda: connection.transport_connected(now=now),
        "transport_closed": lambda: connection.transport_closed(now=now),
        "accept": lambda: connection.accept(WALK_SUPPORTED, now=now),
        "reject": lambda: connection.reject(RejectReasonUser.NO_REASON_GIVEN),
        "send_message": lambda: connection.send_message(build_response(_ECHO, 0), 1, now=now),
        "release": lambda: connection.release(now=now),
        "release_response": lambda: connection.release_response(now=now),
        "abort": lambda: connection.abort(now=now),
    }
    result = calls[step.call]()
    return result if isinstance(result, list) else []
