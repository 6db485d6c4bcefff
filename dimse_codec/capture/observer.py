"""Both PS3.8 Upper Layer machines of one captured association, followed from outside.

A capture decoder feeds each PDU to :class:`_Observer`: a local primitive event for its sender's
machine and a received-PDU event for its receiver's (PS3.8 Table 9-10). One the table forbids is
a :class:`_Violation`, which the decoder reports as an ``UNEXPECTED_PDU`` problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from dimse_codec.errors import DimseCodecError
from dimse_codec.pdu import AAbort, AAssociateAC, AAssociateRJ, AAssociateRQ, AReleaseRP, AReleaseRQ
from dimse_codec.tables.upper_layer import EVENTS, STATES, Action
from dimse_codec.upper_layer.machine import Machine

_ASSOCIATION_PDUS = (AAssociateRQ, AAssociateAC, AAssociateRJ, AReleaseRQ, AReleaseRP, AAbort)
"""The PDUs other than P-DATA-TF that the observer's machines follow."""

_FORBIDDING = frozenset({"AA-1", "AA-7", "AA-8"})
"""The actions with which Table 9-10 answers a PDU the state does not allow."""

_MAX_UNREAD = 16
"""How many PDUs a side may have left unread before the observer takes them as read."""


@dataclass(frozen=True, slots=True)
class _Violation:
    """A PDU the table forbids: which side judged it, in which state, for which event."""

    requestor: bool
    state: str
    event: str
    action: Action | None


class _Side:
    """One side's machine as the observer follows it, with the PDUs it may not have read yet.

    A capture cannot tell when a PDU in flight reached its receiver, so the receiver's
    machine takes it at once (``unread`` keeps it, ``before`` the state before it); a PDU the
    side sends next is judged in that state, or, if only that allows it, in ``before``: the
    two PDUs crossed (a release collision, data crossing an A-ABORT).
    """

    __slots__ = ("before", "machine", "requestor", "unread")

    def __init__(self, requestor: bool) -> None:
        self.requestor = requestor
        self.machine = Machine()
        self.before: str | None = None
        self.unread: list[str] = []

    def allows(self, event: str) -> bool:
        """Whether the side may send a PDU of local ``event`` now, or before its unread PDUs."""
        if self.machine.action(event) is not None:
            return True
        if self.before is None:
            return False
        now, self.machine.state = self.machine.state, self.before
        allowed = self.machine.action(event) is not None
        self.machine.state = now
        return allowed

    def send(self, event: str) -> bool:
        """Do a local event (``allows`` said yes); true if a release collision showed."""
        collision = False
        if self.machine.action(event) is None and self.before is not None:
            self.machine.state = self.before  # the unread PDUs came after this one
            self.machine.move(_checked(self.machine.action(event)))
            for unread in self.unread:
                action = self.machine.action(unread)
                if action is not None and action.name not in _FORBIDDING:
                    collision |= self._take(action)
        else:
            self.machine.move(_checked(self.machine.action(event)))
        self.before, self.unread = None, []
        return collision

    def receive(self, action: Action, event: str) -> bool:
        """Take a received PDU's allowed action; true if it is a release collision (AR-8)."""
        if len(self.unread) >= _MAX_UNREAD:
            self.before, self.unread = None, []
        if self.before is None:
            self.before = self.machine.state
        self.unread.append(event)
        return self._take(action)

    def _take(self, action: Action) -> bool:
        choice = 1 if action.name == "AR-8" and not self.requestor else 0
        self.machine.move(action, choice)
        return action.name == "AR-8"


def _checked(action: Action | None) -> Action:
    """An action :meth:`_Side.allows` vouched for (a library error, never an assert, if not)."""
    if action is None:
        raise DimseCodecError("the Upper Layer state table has no action for this event here")
    return action


class _Observer:
    """Both machines of one association (PS3.8 9.2), from the A-ASSOCIATE-RQ on."""

    __slots__ = ("acceptor", "collided", "requestor")

    def __init__(self) -> None:
        self.requestor = _Side(requestor=True)
        self.acceptor = _Side(requestor=False)
        self.collided = False
        for side, events in ((self.requestor, ("Evt1", "Evt2")), (self.acceptor, ("Evt5",))):
            for event in events:  # A-ASSOCIATE request, transport open; connection indication
                side.machine.move(_checked(side.machine.action(event)))
        self.acceptor.receive(_checked(self.acceptor.machine.action("Evt6")), "Evt6")

    def pdu(
        self, from_requestor: bool, sent: str | None, received: str
    ) -> tuple[_Violation | None, bool]:
        """Follow one PDU; return the violation, if any, and whether it showed a collision.

        A forbidden PDU moves neither machine: the peers evidently went on, and the A-ABORT
        the table prescribes moves both when it comes.
        """
        sender, receiver = (
            (self.requestor, self.acceptor) if from_requestor else (self.acceptor, self.requestor)
        )
        action = receiver.machine.action(received)
        if action is None or action.name in _FORBIDDING:
            state = receiver.machine.state
            return _Violation(receiver.requestor, state, received, action), False
        if sent is not None and not sender.allows(sent):
            return _Violation(sender.requestor, sender.machine.state, sent, None), False
        collision = sender.send(sent) if sent is not None else False
        collision |= receiver.receive(action, received)
        first = collision and not self.collided
        self.collided |= collision
        return None, first


def _violation_text(name: str, violation: _Violation, from_requestor: bool) -> str:
    """A sentence naming the PDU, the machine, its state, the event and the table's answer."""
    judge = "requestor" if violation.requestor else "acceptor"
    sender = "requestor" if from_requestor else "acceptor"
    state, event = violation.state, violation.event
    where = (
        f"{EVENTS[event].description} ({event}) for the {judge}'s machine in {state} "
        f"({STATES[state].description})"
    )
    action = violation.action
    if action is None:
        answer = "PS3.8 Table 9-10 has no transition for it"
    else:
        answer = f"PS3.8 Table 9-10 prescribes {action.name}: {action.description}"
    return f"{name} from the {sender}: {where}; {answer}"
