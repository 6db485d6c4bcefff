"""The Upper Layer table (PS3.8 9.2) as data, and the sans-I/O Connection that walks it."""

from __future__ import annotations

from dimse_codec.tables.upper_layer import ACTIONS, EVENTS, STATES, TRANSITIONS


def test_the_table_names_only_its_own_states_events_and_actions() -> None:
    assert list(STATES) == [f"Sta{n}" for n in range(1, 14)]
    assert list(EVENTS) == [f"Evt{n}" for n in range(1, 20)]
    assert len(ACTIONS) == 28 and set(TRANSITIONS.values()) == set(ACTIONS)
    for (state, event), action in TRANSITIONS.items():
        assert state in STATES and event in EVENTS
        for nxt in ACTIONS[action].next_states:
            assert nxt in STATES
    assert TRANSITIONS[("Sta6", "Evt3")] == "AA-8"
    assert TRANSITIONS[("Sta7", "Evt12")] == "AR-8"
    assert ACTIONS["AR-8"].next_states == ("Sta9", "Sta10")
    assert ("Sta1", "Evt3") not in TRANSITIONS  # an empty cell
