"""Two Connections wired back to back, driven by random local calls, deliveries and injected
PDUs (valid and out of place), checked after every step against PS3.8 Table 9-10.

The oracle reads only ``dimse_codec.tables.upper_layer``: the event a step is, the action
``TRANSITIONS`` gives for it, that action's next state(s) and the PDU its description says it
sends ("Send A-ABORT PDU (service-user source)"...). It never asks the Connection what to expect.

Injected PDUs come from ``dimse_codec.strategies.pdu`` (A-ASSOCIATE-RQ and -RJ, A-RELEASE-RQ
and -RP, A-ABORT, and types PS3.8 does not define); A-ASSOCIATE-AC and P-DATA-TF travel only
from the real peer, since a random one's content (contexts never proposed, a PDV that is no
message) is judged by negotiation and the DIMSE decoder, outside Table 9-10.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dimse_codec import C_ECHO  # noqa: E402
from dimse_codec.dimse.responses import build_response  # noqa: E402
from dimse_codec.errors import LocalProtocolError  # noqa: E402
from dimse_codec.pdu import AbortSource, RejectReasonUser, encode_pdu  # noqa: E402
from dimse_codec.strategies.pdu import pdus, unknown_pdus  # noqa: E402
from dimse_codec.tables.upper_layer import ACTIONS, TRANSITIONS  # noqa: E402
from dimse_codec.upper_layer import Connection, ProtocolDiagnostic  # noqa: E402

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"

PDU_NAMES = {
    0x01: "A-ASSOCIATE-RQ",
    0x02: "A-ASSOCIATE-AC",
    0x03: "A-ASSOCIATE-RJ",
    0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ",
    0x06: "A-RELEASE-RP",
    0x07: "A-ABORT",
}
RECEIVED = {  # PS3.8 Table 9-2: the event a received PDU is
    "A-ASSOCIATE-AC": "Evt3",
    "A-ASSOCIATE-RJ": "Evt4",
    "A-ASSOCIATE-RQ": "Evt6",
    "P-DATA-TF": "Evt10",
    "A-RELEASE-RQ": "Evt12",
    "A-RELEASE-RP": "Evt13",
    "A-ABORT": "Evt16",
}
SENDS = re.compile(
    r"(?:Send|Issue|issue) (A-ASSOCIATE-RQ|A-ASSOCIATE-AC|A-ASSOCIATE-RJ|P-DATA-TF|A-RELEASE-RQ"
    r"|A-RELEASE-RP|A-ABORT)[ -]PDU(?: \((service-user|service-provider) source\))?"
)
"""What an action's description says it sends, and for an A-ABORT its source."""


def outcomes(action: str, role: str) -> set[tuple[str, tuple[str, ...], str | None]]:
    """(next state, PDUs sent, A-ABORT source) the standard allows for an action, by its text."""
    described = ACTIONS[action]
    text = described.description
    if len(described.next_states) == 1:
        sent = SENDS.findall(text)
        return {(described.next_states[0], tuple(n for n, _ in sent), _source(sent))}
    if "if association-requestor" in text:  # AR-8: the role chooses
        return {(described.next_states[0 if role == "requestor" else 1], (), None)}
    # AE-6: "issue A-ASSOCIATE indication (Sta3); otherwise: issue A-ASSOCIATE-RJ-PDU (Sta13)"
    branches = text.split("otherwise")
    allowed = set()
    for state, branch in zip(described.next_states, branches, strict=True):
        sent = SENDS.findall(branch)
        allowed.add((state, tuple(n for n, _ in sent), _source(sent)))
    return allowed


def _source(sent: list[tuple[str, str]]) -> str | None:
    return next((source for name, source in sent if name == "A-ABORT" and source), None)


def split_pdus(data: bytes) -> list[bytes]:
    """A byte stream cut into whole PDUs by their headers (PS3.8 9.3.1)."""
    found, offset = [], 0
    while offset < len(data):
        length = int.from_bytes(data[offset + 2 : offset + 6], "big")
        found.append(data[offset : offset + 6 + length])
        offset += 6 + length
    return found


def received_event(pdu: bytes) -> str:
    return RECEIVED.get(PDU_NAMES.get(pdu[0], ""), "Evt19")


@dataclass
class Side:
    """One Connection, the state the oracle expects of it and the PDUs on their way to it."""

    role: str
    connection: Connection
    expected: str = "Sta1"
    inbound: deque[bytes] = field(default_factory=deque)
    requests: deque[Any] = field(default_factory=deque)


LOCAL_CALLS = (
    "request_association",
    "transport_connected",
    "accept",
    "reject",
    "send_message",
    "release",
    "release_response",
    "abort",
    "transport_closed",
)
LOCAL_EVENTS = {
    "request_association": "Evt1",
    "accept": "Evt7",
    "reject": "Evt8",
    "send_message": "Evt9",
    "release": "Evt11",
    "release_response": "Evt14",
    "abort": "Evt15",
    "transport_closed": "Evt17",
}


def local_event(side: Side, call: str) -> str:
    if call == "transport_connected":
        return "Evt2" if side.role == "requestor" else "Evt5"
    return LOCAL_EVENTS[call]


def perform(side: Side, call: str) -> list[Any]:
    """Make one local call on a side's connection; the events it returned."""
    connection = side.connection
    if call == "request_association":
        connection.request_association("SCU", "SCP", [(VERIFICATION, [IMPLICIT])])
        return []
    if call == "transport_connected":
        return connection.transport_connected()
    if call == "accept":
        return connection.accept({VERIFICATION: [IMPLICIT]})
    if call == "reject":
        return connection.reject(RejectReasonUser.NO_REASON_GIVEN)
    if call == "send_message":
        if side.requests:  # answer the peer's request, else ask one of our own
            request = side.requests.popleft()
            connection.send_message(build_response(request, 0x0000))
        else:
            connection.send_message(C_ECHO(AffectedSOPClassUID=VERIFICATION))
        return []
    if call == "release":
        connection.release()
        return []
    if call == "release_response":
        return connection.release_response()
    if call == "abort":
        return connection.abort()
    return connection.transport_closed()


def check_sent(side: Side, before: str, event: str, allowed: set[Any], sent: list[bytes]) -> None:
    names = tuple(PDU_NAMES.get(pdu[0], "?") for pdu in sent)
    state = side.connection.state
    match = [
        (nxt, pdus_, source) for nxt, pdus_, source in allowed if nxt == state and pdus_ == names
    ]
    assert match, f"{side.role} {before} {event}: went to {state} sending {names}, table: {allowed}"
    (_, _, source), *_ = match
    if source is not None:
        abort = sent[-1]
        wanted = (
            AbortSource.SERVICE_USER if source == "service-user" else AbortSource.SERVICE_PROVIDER
        )
        assert abort[8] == wanted, f"{side.role} {before} {event}: A-ABORT source {abort[8]}"


def in_window(side: Side) -> bool:
    """Whether a request of ours fits the (default, 1) asynchronous operations window now."""
    return bool(side.requests) or not side.connection.outstanding


@st.composite
def injected(draw: st.DrawFn) -> bytes:
    """A PDU from the public strategies: one of the seven types, or one PS3.8 does not define."""
    kinds = ["A-ASSOCIATE-RQ", "A-ASSOCIATE-RJ", "A-RELEASE-RQ", "A-RELEASE-RP", "A-ABORT"]
    if draw(st.integers(0, 9)) == 0:
        return bytes(encode_pdu(draw(unknown_pdus())))
    return bytes(encode_pdu(draw(pdus([draw(st.sampled_from(kinds))]))))


STEPS = st.one_of(
    st.tuples(
        st.just("local"), st.sampled_from(("requestor", "acceptor")), st.sampled_from(LOCAL_CALLS)
    ),
    st.tuples(st.just("deliver"), st.sampled_from(("requestor", "acceptor")), st.none()),
    st.tuples(st.just("deliver"), st.sampled_from(("requestor", "acceptor")), st.none()),
    st.tuples(st.just("inject"), st.sampled_from(("requestor", "acceptor")), injected()),
)


SCRIPT = [
    ("local", "acceptor", "transport_connected"),
    ("local", "requestor", "request_association"),
    ("local", "requestor", "transport_connected"),
    ("deliver", "acceptor", None),  # the A-ASSOCIATE-RQ: Sta3
    ("local", "acceptor", "accept"),
    ("deliver", "requestor", None),  # the A-ASSOCIATE-AC: both in Sta6
    ("local", "requestor", "send_message"),
    ("deliver", "acceptor", None),
    ("local", "requestor", "release"),
    ("deliver", "acceptor", None),  # the A-RELEASE-RQ: Sta8
]
"""A valid beginning, so that random steps start from every depth of the table too."""
COLLISION = [
    *SCRIPT[:6],
    ("local", "requestor", "release"),
    ("local", "acceptor", "release"),
    ("deliver", "acceptor", None),  # Sta10
    ("deliver", "requestor", None),  # Sta9
    ("local", "requestor", "release_response"),  # Sta11
    ("deliver", "acceptor", None),  # Sta12
]
"""Both sides ask for release at once: the collision states Sta9 to Sta12."""


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.sampled_from((SCRIPT, COLLISION)),
    st.integers(0, len(COLLISION)),
    st.lists(STEPS, min_size=1, max_size=40),
)
def test_two_connections_follow_table_9_10(
    script: list[Any], prefix: int, random: list[tuple[str, str, Any]]
) -> None:
    steps = script[:prefix] + random
    sides = {
        "requestor": Side("requestor", Connection("requestor")),
        "acceptor": Side("acceptor", Connection("acceptor")),
    }
    for kind, name, payload in steps:
        side = sides[name]
        other = sides["acceptor" if name == "requestor" else "requestor"]
        before = side.connection.state
        assert before == side.expected
        if kind == "local":
            event = local_event(side, payload)
            if payload == "transport_closed" and before == "Sta1":
                continue  # no transport to close: the I/O never says so
            if payload == "request_association" and side.role == "acceptor":
                continue  # only a requestor requests: its role, not the table, says so
            if payload == "send_message" and not in_window(side):
                continue  # the asynchronous operations window, not the table, forbids it
            action = TRANSITIONS.get((before, event))
            if action is None:
                with pytest.raises(LocalProtocolError) as raised:
                    perform(side, payload)
                assert (raised.value.state, raised.value.event) == (before, event)
                assert side.connection.state == before
                assert side.connection.data_to_send() == b""
                continue
            events = perform(side, payload)
        else:
            if before in ("Sta1", "Sta4"):
                continue  # no transport: nothing can arrive
            if kind == "deliver":
                if not side.inbound:
                    continue
                pdu = side.inbound.popleft()
            else:
                pdu = payload
            event = received_event(pdu)
            action = TRANSITIONS.get((before, event))
            assert action is not None, f"Table 9-10 has a cell for every PDU in {before}"
            events = side.connection.receive_data(pdu)
            for item in events:
                if isinstance(item, ProtocolDiagnostic) and item.event == event:
                    assert item.state == before
        hypothesis.event(f"reached {before}")  # --hypothesis-show-statistics
        sent = split_pdus(side.connection.data_to_send())
        check_sent(side, before, event, outcomes(action, side.role), sent)
        side.expected = side.connection.state
        for item in events:
            primitive = getattr(item, "primitive", None)
            if (
                primitive is not None
                and primitive.msg_type == "C-ECHO"
                and "Status" not in primitive.values()
            ):
                side.requests.append(primitive)
        if side.expected == "Sta1":  # the transport is gone: nothing more travels on it
            side.inbound.clear()
            other.inbound.clear()
            side.requests.clear()  # the peer learns of it by its own transport_closed step
        else:
            other.inbound.extend(sent)
