"""PS3.8 Section 9.2 in dimse_codec.tables.upper_layer, checked against the Standard and pynetdicom.

The Standard's text below is a transcription of its own, made from PS3.8 (Tables 9-1 to 9-5: the
states; Tables 9-6 to 9-9: the actions and their next states; Table 9-10: the events, which are its
rows, and every cell), laid out as Table 9-10 is printed so that a reader can hold one against the
other. It is deliberately not derived from the module under test. Every cell of Table 9-10, empty
ones included, is its own test (``test_cell[Sta6-Evt3]``), so a wrong cell names itself.

pynetdicom's ``fsm.TRANSITION_TABLE`` and ``fsm.ACTIONS`` are then checked against the same
transcription. Where pynetdicom differs from the Standard the difference is listed below and
asserted, so a change on either side shows here; ``docs/state-machine.md`` shows the same list.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import pytest

from dimse_codec.tables import upper_layer
from dimse_codec.tables.upper_layer import ACTIONS, EVENTS, STATES, TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent

# --- PS3.8 Tables 9-1 to 9-5: the states --------------------------------------------------------

STANDARD_STATES: dict[str, str] = {
    # Table 9-1. No Association
    "Sta1": "Idle",
    # Table 9-2. Association Establishment
    "Sta2": "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)",
    "Sta3": "Awaiting local A-ASSOCIATE response primitive (from local user)",
    "Sta4": "Awaiting transport connection opening to complete (from local transport service)",
    "Sta5": "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU",
    # Table 9-3. Data Transfer
    "Sta6": "Association established and ready for data transfer",
    # Table 9-4. Association Release
    "Sta7": "Awaiting A-RELEASE-RP PDU",
    "Sta8": "Awaiting local A-RELEASE response primitive (from local user)",
    "Sta9": "Release collision requestor side; awaiting A-RELEASE response (from local user)",
    "Sta10": "Release collision acceptor side; awaiting A-RELEASE-RP PDU",
    "Sta11": "Release collision requestor side; awaiting A-RELEASE-RP PDU",
    "Sta12": "Release collision acceptor side; awaiting A-RELEASE response primitive"
    " (from local user)",
    # Table 9-5. Waiting for Transport Connection Close
    "Sta13": "Awaiting Transport Connection Close Indication (Association no longer exists)",
}

# --- PS3.8 Table 9-10, its rows: the events -----------------------------------------------------

STANDARD_EVENTS: dict[str, str] = {
    "Evt1": "A-ASSOCIATE Request (local user)",
    "Evt2": "Transport Conn. Confirm (local transport service)",
    "Evt3": "A-ASSOCIATE-AC PDU (received on transport connection)",
    "Evt4": "A-ASSOCIATE-RJ PDU (received on transport connection)",
    "Evt5": "Transport Connection Indication (local transport service)",
    "Evt6": "A-ASSOCIATE-RQ PDU (received on transport connection)",
    "Evt7": "A-ASSOCIATE response primitive (accept)",
    "Evt8": "A-ASSOCIATE response primitive (reject)",
    "Evt9": "P-DATA request primitive",
    "Evt10": "P-DATA-TF PDU",
    "Evt11": "A-RELEASE Request primitive",
    "Evt12": "A-RELEASE-RQ PDU (received on open transport connection)",
    "Evt13": "A-RELEASE-RP PDU (received on transport connection)",
    "Evt14": "A-RELEASE Response primitive",
    "Evt15": "A-ABORT Request primitive",
    "Evt16": "A-ABORT PDU (received on open transport connection)",
    "Evt17": "Transport connection closed indication (local transport service)",
    "Evt18": "ARTIM timer expired (Association reject/release timer)",
    "Evt19": "Unrecognized or invalid PDU received",
}

# --- PS3.8 Tables 9-6 to 9-9: the actions, their definition and next state(s) -------------------
# The definitions without their "Next state is StaN" lines, which are the second element; AE-6 and
# AR-8 keep the conditions that choose between their two next states.

STANDARD_ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Table 9-6. Association Establishment Related Actions
    "AE-1": ("Issue TRANSPORT CONNECT request primitive to local transport service", ("Sta4",)),
    "AE-2": ("Send A-ASSOCIATE-RQ-PDU", ("Sta5",)),
    "AE-3": ("Issue A-ASSOCIATE confirmation (accept) primitive", ("Sta6",)),
    "AE-4": (
        "Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection",
        ("Sta1",),
    ),
    "AE-5": ("Issue Transport connection response primitive; start ARTIM timer", ("Sta2",)),
    "AE-6": (
        "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: issue A-ASSOCIATE"
        " indication primitive (next state is Sta3); otherwise: issue A-ASSOCIATE-RJ-PDU and start"
        " ARTIM timer (next state is Sta13)",
        ("Sta3", "Sta13"),
    ),
    "AE-7": ("Send A-ASSOCIATE-AC PDU", ("Sta6",)),
    # printed "Next state is STA13"
    "AE-8": ("Send A-ASSOCIATE-RJ PDU and start ARTIM timer", ("Sta13",)),
    # Table 9-7. Data Transfer Related Actions
    "DT-1": ("Send P-DATA-TF PDU", ("Sta6",)),
    "DT-2": ("Send P-DATA indication primitive", ("Sta6",)),
    # Table 9-8. Association Release Related Actions
    "AR-1": ("Send A-RELEASE-RQ PDU", ("Sta7",)),
    "AR-2": ("Issue A-RELEASE indication primitive", ("Sta8",)),
    "AR-3": ("Issue A-RELEASE confirmation primitive, and close transport connection", ("Sta1",)),
    "AR-4": ("Issue A-RELEASE-RP PDU and start ARTIM timer", ("Sta13",)),
    "AR-5": ("Stop ARTIM timer", ("Sta1",)),
    "AR-6": ("Issue P-DATA indication", ("Sta7",)),
    "AR-7": ("Issue P-DATA-TF PDU", ("Sta8",)),
    "AR-8": (
        "Issue A-RELEASE indication (release collision): if association-requestor, next state is"
        " Sta9; if not, next state is Sta10",
        ("Sta9", "Sta10"),
    ),
    "AR-9": ("Send A-RELEASE-RP PDU", ("Sta11",)),
    "AR-10": ("Issue A-RELEASE confirmation primitive", ("Sta12",)),
    # Table 9-9. Association Abort Related Actions
    "AA-1": (
        "Send A-ABORT PDU (service-user source) and start (or restart if already started) ARTIM"
        " timer",
        ("Sta13",),
    ),
    "AA-2": ("Stop ARTIM timer if running. Close transport connection", ("Sta1",)),
    "AA-3": (
        "If (service-user initiated abort): issue A-ABORT indication and close transport"
        " connection; otherwise (service-provider initiated abort): issue A-P-ABORT indication and"
        " close transport connection",
        ("Sta1",),
    ),
    "AA-4": ("Issue A-P-ABORT indication primitive", ("Sta1",)),
    "AA-5": ("Stop ARTIM timer", ("Sta1",)),
    "AA-6": ("Ignore PDU", ("Sta13",)),
    "AA-7": ("Send A-ABORT PDU", ("Sta13",)),
    "AA-8": (
        "Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and start"
        " ARTIM timer",
        ("Sta13",),
    ),
}

# --- PS3.8 Table 9-10. DICOM Upper Layer Protocol State Transition Table ------------------------
# One row per event, one column per state, as printed; "." is an empty cell.

# fmt: off
TABLE_9_10: dict[str, str] = {
    #         Sta1 Sta2 Sta3 Sta4 Sta5 Sta6 Sta7 Sta8 Sta9 Sta10 Sta11 Sta12 Sta13
    "Evt1":   "AE-1 .    .    .    .    .    .    .    .    .     .     .     .",
    "Evt2":   ".    .    .    AE-2 .    .    .    .    .    .     .     .     .",
    "Evt3":   ".    AA-1 AA-8 .    AE-3 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6",
    "Evt4":   ".    AA-1 AA-8 .    AE-4 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6",
    "Evt5":   "AE-5 .    .    .    .    .    .    .    .    .     .     .     .",
    "Evt6":   ".    AE-6 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7",
    "Evt7":   ".    .    AE-7 .    .    .    .    .    .    .     .     .     .",
    "Evt8":   ".    .    AE-8 .    .    .    .    .    .    .     .     .     .",
    "Evt9":   ".    .    .    .    .    DT-1 .    AR-7 .    .     .     .     .",
    "Evt10":  ".    AA-1 AA-8 .    AA-8 DT-2 AR-6 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6",
    "Evt11":  ".    .    .    .    .    AR-1 .    .    .    .     .     .     .",
    "Evt12":  ".    AA-1 AA-8 .    AA-8 AR-2 AR-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6",
    "Evt13":  ".    AA-1 AA-8 .    AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3  AA-8  AA-6",
    "Evt14":  ".    .    .    .    .    .    .    AR-4 AR-9 .     .     AR-4  .",
    "Evt15":  ".    .    AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1  AA-1  AA-1  .",
    "Evt16":  ".    AA-2 AA-3 .    AA-3 AA-3 AA-3 AA-3 AA-3 AA-3  AA-3  AA-3  AA-2",
    "Evt17":  ".    AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4  AA-4  AA-4  AR-5",
    "Evt18":  ".    AA-2 .    .    .    .    .    .    .    .     .     .     AA-2",
    "Evt19":  ".    AA-1 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7",
}
# fmt: on
COLUMNS = tuple(STANDARD_STATES)

STANDARD_TRANSITIONS: dict[tuple[str, str], str] = {
    (state, event): action
    for event, row in TABLE_9_10.items()
    for state, action in zip(COLUMNS, row.split(), strict=True)
    if action != "."
}
ALL_CELLS = [(state, event) for event in STANDARD_EVENTS for state in STANDARD_STATES]
CELL_IDS = [f"{state}-{event}" for state, event in ALL_CELLS]

# --- Where pynetdicom differs from the Standard -------------------------------------------------
# Checked against pynetdicom 3.0.4. Each entry is asserted: if pynetdicom changes, a test fails.

PYNETDICOM_CELL_DIFFERENCES: dict[tuple[str, str], str | None] = {}
"""(state, event) -> pynetdicom's action (None: an empty cell) where it is not Table 9-10's.
Empty: pynetdicom's TRANSITION_TABLE has exactly the 123 non-empty cells of Table 9-10."""

PYNETDICOM_NEXT_STATE_DIFFERENCES: dict[str, tuple[str, ...]] = {}
"""Action -> pynetdicom's next states where they are not those of Tables 9-6 to 9-9. Empty."""

PYNETDICOM_EVENT_WORDING: dict[str, str] = {
    "Evt1": "A-ASSOCIATE request (local user)",
    "Evt2": "Transport connect confirmation (local transport service)",
    "Evt5": "Transport connection indication (local transport service)",
    "Evt6": "A-ASSOCIATE-RQ PDU (on transport connection)",
    "Evt10": "P-DATA-TF PDU (on transport connection)",
    "Evt11": "A-RELEASE request primitive",
    "Evt12": "A-RELEASE-RQ PDU (on transport)",
    "Evt13": "A-RELEASE-RP PDU (on transport)",
    "Evt14": "A-RELEASE response primitive",
    "Evt15": "A-ABORT request primitive",
    "Evt16": "A-ABORT PDU (on transport)",
}
"""Event -> pynetdicom's ``fsm.EVENTS`` wording where it is not Table 9-10's row label, exactly."""

PYNETDICOM_ACTION_WORDING: dict[str, str] = {
    # "service-provider" became "service-dul" throughout pynetdicom's action texts.
    "AE-6": "Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-dul: issue A-ASSOCIATE"
    " indication primitive otherwise issue A-ASSOCIATE-RJ-PDU and start ARTIM timer",
    "AA-3": "If (service-user initiated abort): issue A-ABORT indication and close transport"
    " connection, otherwise (service-dul initiated abort): issue A-P-ABORT indication and close"
    " transport connection",
    "AA-8": "Send A-ABORT PDU (service-dul source), issue an A-P-ABORT indication and start ARTIM"
    " timer",
}
"""Action -> pynetdicom's ``fsm.ACTIONS`` text where its words (see ``words``) are not those of
Tables 9-6 to 9-9. Punctuation, case and the "Next state is" phrases are not compared."""


def words(text: str) -> str:
    """The words of a definition, lower case, without punctuation or "next state is StaN"."""
    text = text.casefold().replace("inititated", "initiated")  # some editions print the typo
    text = re.sub(r"next state is sta\d+", " ", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


# --- The module against the Standard ------------------------------------------------------------


def test_the_transcription_has_every_non_empty_cell() -> None:
    # 19 rows of 13 cells; Table 9-10 has 123 non-empty ones.
    assert len(ALL_CELLS) == 19 * 13
    assert len(STANDARD_TRANSITIONS) == 123
    assert all(len(row.split()) == len(COLUMNS) for row in TABLE_9_10.values())


@pytest.mark.parametrize(("state", "event"), ALL_CELLS, ids=CELL_IDS)
def test_cell(state: str, event: str) -> None:
    # An empty cell of Table 9-10 is absent from TRANSITIONS, not mapped to a placeholder.
    assert TRANSITIONS.get((state, event)) == STANDARD_TRANSITIONS.get((state, event))


def test_no_cell_outside_the_table() -> None:
    assert set(TRANSITIONS) <= set(ALL_CELLS)
    assert len(TRANSITIONS) == len(STANDARD_TRANSITIONS)


@pytest.mark.parametrize(
    ("records", "standard"),
    [(STATES, STANDARD_STATES), (EVENTS, STANDARD_EVENTS)],
    ids=["states", "events"],
)
def test_the_states_and_events_in_order(
    records: Mapping[str, Any], standard: dict[str, str]
) -> None:
    assert list(records) == list(standard)


@pytest.mark.parametrize(
    ("records", "name", "description"),
    [(STATES, *item) for item in STANDARD_STATES.items()]
    + [(EVENTS, *item) for item in STANDARD_EVENTS.items()],
    ids=[*STANDARD_STATES, *STANDARD_EVENTS],
)
def test_state_or_event(records: Mapping[str, Any], name: str, description: str) -> None:
    assert records[name].name == name
    assert records[name].description == description


def test_the_actions() -> None:
    assert set(ACTIONS) == set(STANDARD_ACTIONS)


@pytest.mark.parametrize("name", list(STANDARD_ACTIONS))
def test_action(name: str) -> None:
    description, next_states = STANDARD_ACTIONS[name]
    action = ACTIONS[name]
    assert action.name == name
    assert action.next_states == next_states
    assert words(action.description) == words(description)


def test_every_action_named_in_the_table_exists() -> None:
    assert set(TRANSITIONS.values()) <= set(ACTIONS)


def test_every_action_is_used_by_the_table() -> None:
    assert set(ACTIONS) == set(TRANSITIONS.values())


def test_every_next_state_exists() -> None:
    for action in ACTIONS.values():
        assert action.next_states, action.name
        assert set(action.next_states) <= set(STATES), action.name


def test_every_state_and_event_appears_in_the_table() -> None:
    assert {state for state, _event in TRANSITIONS} == set(STATES)
    assert {event for _state, event in TRANSITIONS} == set(EVENTS)


PDU_EVENTS = ("Evt3", "Evt4", "Evt6", "Evt10", "Evt12", "Evt13", "Evt16", "Evt19")
"""The events that are PDUs received from the peer (Evt19: unrecognised or invalid)."""


def test_no_pdu_meets_an_empty_cell_once_connected() -> None:
    # Every state but Sta1 (idle) and Sta4 (connecting) has an open transport connection; there a
    # PDU out of place is answered (AA-1, AA-7, AA-8) or ignored (AA-6), never left undefined.
    connected = [state for state in STATES if state not in ("Sta1", "Sta4")]
    missing = [(s, e) for s in connected for e in PDU_EVENTS if (s, e) not in TRANSITIONS]
    assert missing == []
    assert not any((s, e) in TRANSITIONS for s in ("Sta1", "Sta4") for e in PDU_EVENTS)


@pytest.mark.parametrize(
    "mapping",
    [STATES, EVENTS, ACTIONS, TRANSITIONS],
    ids=["STATES", "EVENTS", "ACTIONS", "TRANSITIONS"],
)
def test_the_mappings_are_read_only(mapping: Mapping[Any, Any]) -> None:
    assert isinstance(mapping, MappingProxyType)
    key = next(iter(mapping))
    with pytest.raises(TypeError):
        mapping[key] = mapping[key]  # type: ignore[index]
    with pytest.raises(TypeError):
        del mapping[key]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (STATES["Sta1"], "description"),
        (EVENTS["Evt1"], "description"),
        (ACTIONS["AE-6"], "next_states"),
    ],
    ids=["State", "Event", "Action"],
)
def test_the_records_are_frozen(record: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, None)


def test_next_states_are_tuples() -> None:
    assert all(type(action.next_states) is tuple for action in ACTIONS.values())


def test_the_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(upper_layer.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import"
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


# --- pynetdicom against the Standard ------------------------------------------------------------


@pytest.fixture(scope="module")
def pynetdicom_fsm() -> ModuleType:
    fsm: ModuleType = pytest.importorskip("pynetdicom.fsm")
    return fsm


@pytest.mark.parametrize(("state", "event"), ALL_CELLS, ids=CELL_IDS)
def test_pynetdicom_cell(pynetdicom_fsm: ModuleType, state: str, event: str) -> None:
    # pynetdicom keys its table (event, state).
    theirs = pynetdicom_fsm.TRANSITION_TABLE.get((event, state))
    expected = PYNETDICOM_CELL_DIFFERENCES.get(
        (state, event), STANDARD_TRANSITIONS.get((state, event))
    )
    assert theirs == expected


def test_pynetdicom_has_no_cell_outside_the_table(pynetdicom_fsm: ModuleType) -> None:
    cells = {(state, event) for event, state in pynetdicom_fsm.TRANSITION_TABLE}
    assert cells <= set(ALL_CELLS)


def test_pynetdicom_has_the_same_actions(pynetdicom_fsm: ModuleType) -> None:
    assert set(pynetdicom_fsm.ACTIONS) == set(STANDARD_ACTIONS)


@pytest.mark.parametrize("name", list(STANDARD_ACTIONS))
def test_pynetdicom_action(pynetdicom_fsm: ModuleType, name: str) -> None:
    # pynetdicom's ACTIONS: name -> (description, function, next state or a tuple of them).
    description, _function, next_states = pynetdicom_fsm.ACTIONS[name]
    theirs = tuple(next_states) if isinstance(next_states, tuple) else (next_states,)
    expected_states = PYNETDICOM_NEXT_STATE_DIFFERENCES.get(name, STANDARD_ACTIONS[name][1])
    assert theirs == expected_states
    expected_words = words(PYNETDICOM_ACTION_WORDING.get(name, STANDARD_ACTIONS[name][0]))
    assert words(description) == expected_words
    if name in PYNETDICOM_ACTION_WORDING:
        assert expected_words != words(STANDARD_ACTIONS[name][0]), f"{name} agrees now; drop it"


@pytest.mark.parametrize("name", list(STANDARD_STATES))
def test_pynetdicom_state(pynetdicom_fsm: ModuleType, name: str) -> None:
    assert pynetdicom_fsm.STATES[name] == STANDARD_STATES[name]


@pytest.mark.parametrize("name", list(STANDARD_EVENTS))
def test_pynetdicom_event(pynetdicom_fsm: ModuleType, name: str) -> None:
    assert pynetdicom_fsm.EVENTS[name] == PYNETDICOM_EVENT_WORDING.get(name, STANDARD_EVENTS[name])
    if name in PYNETDICOM_EVENT_WORDING:
        assert PYNETDICOM_EVENT_WORDING[name] != STANDARD_EVENTS[name]


def test_the_module_and_pynetdicom_agree_outside_the_listed_cells(
    pynetdicom_fsm: ModuleType,
) -> None:
    theirs = {
        (state, event): action for (event, state), action in pynetdicom_fsm.TRANSITION_TABLE.items()
    }
    ours = dict(TRANSITIONS)
    for cell in PYNETDICOM_CELL_DIFFERENCES:
        theirs.pop(cell, None)
        ours.pop(cell, None)
    assert ours == theirs


# --- docs/state-machine.md is rendered from the module ------------------------------------------


def _renderer() -> ModuleType:
    path = ROOT / "docs" / "render_state_table.py"
    spec = importlib.util.spec_from_file_location("render_state_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_page_is_the_renderers_output(pynetdicom_fsm: ModuleType) -> None:
    renderer = _renderer()
    page = renderer.PAGE.read_text(encoding="utf-8")
    assert renderer.render(page) == page, "run: python docs/render_state_table.py"


def test_the_docs_page_shows_every_cell() -> None:
    renderer = _renderer()
    table = renderer.table_9_10()
    for event, row in TABLE_9_10.items():
        line = next(line for line in table.splitlines() if line.startswith(f"| {event} "))
        cells = [cell.strip() for cell in line.strip("|").split("|")][2:]
        assert cells == [action.replace(".", "") for action in row.split()], event


def test_the_docs_page_lists_pynetdicoms_differences(pynetdicom_fsm: ModuleType) -> None:
    section = _renderer().pynetdicom_differences(pynetdicom_fsm)
    for name, wording in {**PYNETDICOM_EVENT_WORDING, **PYNETDICOM_ACTION_WORDING}.items():
        assert f"| {name} |" in section and wording in section, name


PDU_NAMES = {
    0x01: "A-ASSOCIATE-RQ",
    0x02: "A-ASSOCIATE-AC",
    0x03: "A-ASSOCIATE-RJ",
    0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ",
    0x06: "A-RELEASE-RP",
    0x07: "A-ABORT",
}
"""PS3.8 Table 9-11: the PDU types."""

SENT_AS = {
    0x02: "A-ASSOCIATE response primitive (accept)",
    0x03: "A-ASSOCIATE response primitive (reject)",
    0x04: "P-DATA request primitive",
    0x05: "A-RELEASE request primitive",
    0x06: "A-RELEASE response primitive",
    0x07: "A-ABORT request primitive",
}
"""The local primitive after which a side sends each PDU (PS3.8 9.2.3)."""


@pytest.mark.parametrize("pdu_type", sorted(PDU_NAMES))
def test_a_received_pdu_is_the_event_that_names_it(pdu_type: int) -> None:
    event = upper_layer.RECEIVED_PDU_EVENTS[pdu_type]
    assert upper_layer.EVENTS[event].description.startswith(f"{PDU_NAMES[pdu_type]} PDU")


@pytest.mark.parametrize("pdu_type", sorted(PDU_NAMES))
def test_a_sent_pdu_is_the_local_primitive_that_sends_it(pdu_type: int) -> None:
    event = upper_layer.SENT_PDU_EVENTS.get(pdu_type)
    if pdu_type == 0x01:  # AE-2 sends the A-ASSOCIATE-RQ on Evt2, the transport's confirmation
        assert event is None
    else:
        assert event is not None
        assert upper_layer.EVENTS[event].description.lower() == SENT_AS[pdu_type].lower()
