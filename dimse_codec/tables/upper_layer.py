"""The DICOM Upper Layer state machine of PS3.8 9.2, as data: states, events, actions, transitions.

:data:`STATES` (PS3.8 9.2.1, Sta1 to Sta13), :data:`EVENTS` (the rows of Table 9-10, Evt1 to
Evt19), :data:`ACTIONS` (Tables 9-6 to 9-9, each with the state or states it leads to) and
:data:`TRANSITIONS`, every non-empty cell of Table 9-10 as ``(state, event) -> action``, all
spelled as the standard spells them (``TRANSITIONS[("Sta6", "Evt3")] == "AA-8"``). A pair that
is not in :data:`TRANSITIONS` is an empty cell: the standard defines nothing for it.

Nothing here depends on the role: where the standard's next state depends on it (AE-6, AR-8),
the action lists every possible next state in the order the standard gives them, and the
:class:`~dimse_codec.upper_layer.Connection` that walks the table makes the choice. The module
imports only the standard library so every layer can read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ACTIONS", "EVENTS", "STATES", "TRANSITIONS", "Action", "Event", "State"]


@dataclass(frozen=True, slots=True)
class State:
    """A state of the Upper Layer machine (PS3.8 9.2.1): its name ("Sta1") and definition."""

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Event:
    """An event of the Upper Layer machine (a row of PS3.8 Table 9-10): "Evt1" and its wording."""

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Action:
    """An action of PS3.8 Tables 9-6 to 9-9: what it does and the state or states it leads to."""

    name: str
    description: str
    next_states: tuple[str, ...]


def _states(*rows: tuple[str, str]) -> Mapping[str, State]:
    return MappingProxyType({name: State(name, text) for name, text in rows})


def _events(*rows: tuple[str, str]) -> Mapping[str, Event]:
    return MappingProxyType({name: Event(name, text) for name, text in rows})


def _actions(*rows: tuple[str, str, tuple[str, ...]]) -> Mapping[str, Action]:
    return MappingProxyType({name: Action(name, text, nxt) for name, text, nxt in rows})


STATES: Mapping[str, State] = _states(
    # no association
    ("Sta1", "Idle"),
    # association establishment
    ("Sta2", "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)"),
    ("Sta3", "Awaiting local A-ASSOCIATE response primitive (from local user)"),
    (
        "Sta4",
        "Awaiting transport connection opening to complete (from local transport service)",
    ),
    ("Sta5", "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU"),
    # data transfer
    ("Sta6", "Association established and ready for data transfer"),
    # association release
    ("Sta7", "Awaiting A-RELEASE-RP PDU"),
    ("Sta8", "Awaiting local A-RELEASE response primitive (from local user)"),
    (
        "Sta9",
        "Release collision requestor side; awaiting A-RELEASE response (from local user)",
    ),
    ("Sta10", "Release collision acceptor side; awaiting A-RELEASE-RP PDU"),
    ("Sta11", "Release collision requestor side; awaiting A-RELEASE-RP PDU"),
    (
        "Sta12",
        "Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)",
    ),
    # waiting for transport connection close
    (
        "Sta13",
        "Awaiting Transport Connection Close Indication (Association no longer exists)",
    ),
)
"""PS3.8 9.2.1: the 13 states, in the standard's order."""

EVENTS: Mapping[str, Event] = _events(
    ("Evt1", "A-ASSOCIATE Request (local user)"),
    ("Evt2", "Transport Conn. Confirm (local transport service)"),
    ("Evt3", "A-ASSOCIATE-AC PDU (received on transport connection)"),
    ("Evt4", "A-ASSOCIATE-RJ PDU (received on transport connection)"),
    ("Evt5", "Transport Connection Indication (local transport service)"),
    ("Evt6", "A-ASSOCIATE-RQ PDU (received on transport connection)"),
    ("Evt7", "A-ASSOCIATE response primitive (accept)"),
    ("Evt8", "A-ASSOCIATE response primitive (reject)"),
    ("Evt9", "P-DATA request primitive"),
    ("Evt10", "P-DATA-TF PDU"),
    ("Evt11", "A-RELEASE Request primitive"),
    ("Evt12", "A-RELEASE-RQ PDU (received on open transport connection)"),
    ("Evt13", "A-RELEASE-RP PDU (received on transport connection)"),
    ("Evt14", "A-RELEASE Response primitive"),
    ("Evt15", "A-ABORT Request primitive"),
    ("Evt16", "A-ABORT PDU (received on open transport connection)"),
    ("Evt17", "Transport connection closed indication (local transport service)"),
    ("Evt18", "ARTIM timer expired (Association reject/release timer)"),
    ("Evt19", "Unrecognized or invalid PDU received"),
)
"""The 19 events, the rows of PS3.8 Table 9-10, in the standard's order."""

ACTIONS: Mapping[str, Action] = _actions(
    # Table 9-6, association establishment related actions
    (
        "AE-1",
        "Issue TRANSPORT CONNECT request primitive to local transport service",
        ("Sta4",),
    ),
    ("AE-2", "Send A-ASSOCIATE-RQ-PDU", ("Sta5",)),
    ("AE-3", "Issue A-ASSOCIATE confirmation (accept) primitive", ("Sta6",)),
    (
        "AE-4",
        "Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection",
        ("Sta1",),
    ),
    (
        "AE-5",
        "Issue Transport connection response primitive; start ARTIM timer",
        ("Sta2",),
    ),
    (
        "AE-6",
        "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: issue "
        "A-ASSOCIATE indication primitive (next state is Sta3); otherwise: issue "
        "A-ASSOCIATE-RJ-PDU and start ARTIM timer (next state is Sta13)",
        ("Sta3", "Sta13"),
    ),
    ("AE-7", "Send A-ASSOCIATE-AC PDU", ("Sta6",)),
    ("AE-8", "Send A-ASSOCIATE-RJ PDU and start ARTIM timer", ("Sta13",)),
    # Table 9-7, data transfer related actions
    ("DT-1", "Send P-DATA-TF PDU", ("Sta6",)),
    ("DT-2", "Send P-DATA indication primitive", ("Sta6",)),
    # Table 9-8, association release related actions
    ("AR-1", "Send A-RELEASE-RQ PDU", ("Sta7",)),
    ("AR-2", "Issue A-RELEASE indication primitive", ("Sta8",)),
    (
        "AR-3",
        "Issue A-RELEASE confirmation primitive, and close transport connection",
        ("Sta1",),
    ),
    ("AR-4", "Issue A-RELEASE-RP PDU and start ARTIM timer", ("Sta13",)),
    ("AR-5", "Stop ARTIM timer", ("Sta1",)),
    ("AR-6", "Issue P-DATA indication", ("Sta7",)),
    ("AR-7", "Issue P-DATA-TF PDU", ("Sta8",)),
    (
        "AR-8",
        "Issue A-RELEASE indication (release collision): if association-requestor, next "
        "state is Sta9; if not, next state is Sta10",
        ("Sta9", "Sta10"),
    ),
    ("AR-9", "Send A-RELEASE-RP PDU", ("Sta11",)),
    ("AR-10", "Issue A-RELEASE confirmation primitive", ("Sta12",)),
    # Table 9-9, association abort related actions
    (
        "AA-1",
        "Send A-ABORT PDU (service-user source) and start (or restart if already started) "
        "ARTIM timer",
        ("Sta13",),
    ),
    ("AA-2", "Stop ARTIM timer if running. Close transport connection", ("Sta1",)),
    (
        "AA-3",
        "If (service-user initiated abort): issue A-ABORT indication and close transport "
        "connection; otherwise (service-provider initiated abort): issue A-P-ABORT "
        "indication and close transport connection",
        ("Sta1",),
    ),
    ("AA-4", "Issue A-P-ABORT indication primitive", ("Sta1",)),
    ("AA-5", "Stop ARTIM timer", ("Sta1",)),
    ("AA-6", "Ignore PDU", ("Sta13",)),
    ("AA-7", "Send A-ABORT PDU", ("Sta13",)),
    (
        "AA-8",
        "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and "
        "start ARTIM timer",
        ("Sta13",),
    ),
)
"""PS3.8 Tables 9-6 to 9-9: the 28 actions, each with its next state or states."""


def _row(event: str, *cells: tuple[str, str]) -> dict[tuple[str, str], str]:
    return {(state, event): action for state, action in cells}


_RELEASE_TO_CLOSE = ("Sta7", "Sta8", "Sta9", "Sta10", "Sta11", "Sta12")
_AFTER_REQUEST = ("Sta3", "Sta5", "Sta6", *_RELEASE_TO_CLOSE)


def _same(action: str, states: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((state, action) for state in states)


TRANSITIONS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        **_row("Evt1", ("Sta1", "AE-1")),
        **_row("Evt2", ("Sta4", "AE-2")),
        **_row(
            "Evt3",
            ("Sta2", "AA-1"),
            ("Sta3", "AA-8"),
            ("Sta5", "AE-3"),
            *_same("AA-8", ("Sta6", *_RELEASE_TO_CLOSE)),
            ("Sta13", "AA-6"),
        ),
        **_row(
            "Evt4",
            ("Sta2", "AA-1"),
            ("Sta3", "AA-8"),
            ("Sta5", "AE-4"),
            *_same("AA-8", ("Sta6", *_RELEASE_TO_CLOSE)),
            ("Sta13", "AA-6"),
        ),
        **_row("Evt5", ("Sta1", "AE-5")),
        **_row(
            "Evt6",
            ("Sta2", "AE-6"),
            *_same("AA-8", _AFTER_REQUEST),
            ("Sta13", "AA-7"),
        ),
        **_row("Evt7", ("Sta3", "AE-7")),
        **_row("Evt8", ("Sta3", "AE-8")),
        **_row("Evt9", ("Sta6", "DT-1"), ("Sta8", "AR-7")),
        **_row(
            "Evt10",
            ("Sta2", "AA-1"),
            ("Sta3", "AA-8"),
            ("Sta5", "AA-8"),
            ("Sta6", "DT-2"),
            ("Sta7", "AR-6"),
            *_same("AA-8", ("Sta8", "Sta9", "Sta10", "Sta11", "Sta12")),
            ("Sta13", "AA-6"),
        ),
        **_row("Evt11", ("Sta6", "AR-1")),
        **_row(
            "Evt12",
            ("Sta2", "AA-1"),
            ("Sta3", "AA-8"),
            ("Sta5", "AA-8"),
            ("Sta6", "AR-2"),
            ("Sta7", "AR-8"),
            *_same("AA-8", ("Sta8", "Sta9", "Sta10", "Sta11", "Sta12")),
            ("Sta13", "AA-6"),
        ),
        **_row(
            "Evt13",
            ("Sta2", "AA-1"),
            *_same("AA-8", ("Sta3", "Sta5", "Sta6")),
            ("Sta7", "AR-3"),
            ("Sta8", "AA-8"),
            ("Sta9", "AA-8"),
            ("Sta10", "AR-10"),
            ("Sta11", "AR-3"),
            ("Sta12", "AA-8"),
            ("Sta13", "AA-6"),
        ),
        **_row("Evt14", ("Sta8", "AR-4"), ("Sta9", "AR-9"), ("Sta12", "AR-4")),
        **_row(
            "Evt15",
            ("Sta3", "AA-1"),
            ("Sta4", "AA-2"),
            *_same("AA-1", ("Sta5", "Sta6", *_RELEASE_TO_CLOSE)),
        ),
        **_row(
            "Evt16",
            ("Sta2", "AA-2"),
            *_same("AA-3", _AFTER_REQUEST),
            ("Sta13", "AA-2"),
        ),
        **_row(
            "Evt17",
            ("Sta2", "AA-5"),
            *_same("AA-4", ("Sta3", "Sta4", "Sta5", "Sta6", *_RELEASE_TO_CLOSE)),
            ("Sta13", "AR-5"),
        ),
        **_row("Evt18", ("Sta2", "AA-2"), ("Sta13", "AA-2")),
        **_row(
            "Evt19",
            ("Sta2", "AA-1"),
            *_same("AA-8", _AFTER_REQUEST),
            ("Sta13", "AA-7"),
        ),
    }
)
"""Every non-empty cell of PS3.8 Table 9-10: ``(state, event) -> action``."""

RECEIVED_PDU_EVENTS: Mapping[int, str] = MappingProxyType(
    {
        0x01: "Evt6",  # A-ASSOCIATE-RQ PDU received
        0x02: "Evt3",  # A-ASSOCIATE-AC PDU received
        0x03: "Evt4",  # A-ASSOCIATE-RJ PDU received
        0x04: "Evt10",  # P-DATA-TF PDU received
        0x05: "Evt12",  # A-RELEASE-RQ PDU received
        0x06: "Evt13",  # A-RELEASE-RP PDU received
        0x07: "Evt16",  # A-ABORT PDU received
    }
)
"""A received PDU's type (PS3.8 Table 9-11) as its Table 9-10 event; any other type is Evt19."""

SENT_PDU_EVENTS: Mapping[int, str] = MappingProxyType(
    {
        0x02: "Evt7",  # A-ASSOCIATE response primitive (accept)
        0x03: "Evt8",  # A-ASSOCIATE response primitive (reject)
        0x04: "Evt9",  # P-DATA request primitive
        0x05: "Evt11",  # A-RELEASE request primitive
        0x06: "Evt14",  # A-RELEASE response primitive
        0x07: "Evt15",  # A-ABORT request primitive
    }
)
"""A sent PDU's type as the local primitive event that makes its sender send it; an
A-ASSOCIATE-RQ has none (AE-2 sends it on Evt2, the transport connect confirmation)."""
