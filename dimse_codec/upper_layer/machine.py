"""The walker of PS3.8 Table 9-10: which action an event calls for in a state, and where it leads.

It holds one state and knows nothing else: :class:`~dimse_codec.upper_layer.Connection` maps
each local call and each received PDU or transport signal to an event, asks :meth:`Machine.action`
for the action, does that action's work, and calls :meth:`Machine.move` with the choice the action
made where the standard gives one (AE-6, AR-8).
"""

from __future__ import annotations

from dimse_codec.errors import InvalidParameter
from dimse_codec.tables.upper_layer import ACTIONS, EVENTS, STATES, TRANSITIONS, Action

__all__ = ["Machine"]


class Machine:
    """One Upper Layer state machine (PS3.8 9.2), starting in Sta1 (Idle)."""

    __slots__ = ("state", "transitions")

    def __init__(self) -> None:
        self.state = "Sta1"
        self.transitions = 0
        """How many transitions the machine has made."""

    def action(self, event: str) -> Action | None:
        """The action Table 9-10 gives ``event`` in the current state (``None``: an empty cell)."""
        if event not in EVENTS:
            raise InvalidParameter(f"{event!r} is not a PS3.8 event (Evt1..Evt19)", path="event")
        name = TRANSITIONS.get((self.state, event))
        return None if name is None else ACTIONS[name]

    def move(self, action: Action, choice: int = 0) -> str:
        """Enter the action's next state (``choice`` picks among several); return it."""
        nxt = action.next_states[choice]
        if nxt not in STATES:  # pragma: no cover - the table test checks every next state
            raise InvalidParameter(f"{action.name} leads to unknown state {nxt!r}", path="state")
        self.state = nxt
        self.transitions += 1
        return nxt

    def describe(self, event: str) -> str:
        """One phrase naming the current state and ``event`` with their PS3.8 wording."""
        return (
            f"{EVENTS[event].description} ({event}) in {self.state} "
            f"({STATES[self.state].description})"
        )
