"""upper_layer_walks: each step, replayed into a Connection, does what PS3.8 Table 9-10 says."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from dimse_codec.errors import LocalProtocolError
from dimse_codec.strategies import WalkStep, take_step, upper_layer_walks
from dimse_codec.tables.upper_layer import TRANSITIONS
from dimse_codec.upper_layer import Connection, ConnectionRole

ROLES = ["requestor", "acceptor"]


def replay(role: str, walk: tuple[WalkStep, ...]) -> None:
    """Every step meets its state, and leaves the connection in its next state."""
    connection = Connection(role)
    for step in walk:
        assert connection.state == step.state, step
        assert TRANSITIONS.get((step.state, step.event)) == step.action
        if step.action is None:
            with pytest.raises(LocalProtocolError) as raised:
                take_step(connection, step)
            assert raised.value.event == step.event and raised.value.state == step.state
        else:
            take_step(connection, step)
        assert connection.state == step.next_state, step
        connection.data_to_send()


@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_walk_replays_exactly(role: str, data: st.DataObject) -> None:
    replay(role, data.draw(upper_layer_walks(role)))


@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_valid_walks_take_only_allowed_transitions(role: str, data: st.DataObject) -> None:
    walk = data.draw(upper_layer_walks(role, valid=True))
    assert walk and all(step.valid for step in walk)
    assert walk[0].state == "Sta1"
    replay(role, walk)


@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_invalid_walks_take_a_forbidden_transition(role: str, data: st.DataObject) -> None:
    walk = data.draw(upper_layer_walks(role, valid=False))
    assert any(not step.valid for step in walk)
    replay(role, walk)


REACHABLE = {
    # Sta2 and Sta3 are the acceptor's, Sta4 and Sta5 the requestor's; a release collision is
    # Sta9 then Sta11 for the requestor, Sta10 then Sta12 for the acceptor
    "requestor": ["Sta1", "Sta4", "Sta5", "Sta6", "Sta7", "Sta8", "Sta9", "Sta11", "Sta13"],
    "acceptor": ["Sta1", "Sta2", "Sta3", "Sta6", "Sta7", "Sta8", "Sta10", "Sta12", "Sta13"],
}


@pytest.mark.parametrize(
    ("role", "state"), [(role, state) for role, states in REACHABLE.items() for state in states]
)
def test_valid_walks_reach_every_state_of_their_role(role: str, state: str) -> None:
    walk = find(
        upper_layer_walks(role, valid=True, max_steps=20),
        lambda w: any(step.next_state == state for step in w),
        settings=settings(max_examples=5000, database=None),
    )
    replay(role, walk)
    assert walk[-1].next_state == state  # shrunk to the shortest way there


def test_roles_and_step_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        upper_layer_walks("observer")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        upper_layer_walks(ConnectionRole.ACCEPTOR, max_steps=0)
