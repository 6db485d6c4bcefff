"""Writes the generated parts of docs/state-machine.md from dimse_codec.tables.upper_layer.

Each part sits between ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``; the text
around them is written by hand. ``python docs/render_state_table.py`` rewrites the page,
``--check`` only says whether it is current. ``tests/test_upper_layer_table.py`` fails when the
committed page is not what this script writes, so the page cannot drift from the table.
The pynetdicom part needs pynetdicom (the ``test`` extra).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType

from dimse_codec.tables.upper_layer import (
    ACTIONS,
    EVENTS,
    STATES,
    TRANSITIONS,
    Action,
    Event,
    State,
)

PAGE = Path(__file__).resolve().parent / "state-machine.md"
MARKED = re.compile(
    r"(<!-- generated: (?P<name>[a-z0-9-]+) -->\n).*?(<!-- end generated: (?P=name) -->)", re.DOTALL
)
ACTION_TABLES = {
    "AE": "Table 9-6, association establishment",
    "DT": "Table 9-7, data transfer",
    "AR": "Table 9-8, association release",
    "AA": "Table 9-9, association abort",
}


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A markdown table: the header, its rule and one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def words(text: str) -> str:
    """The words of a definition, to compare two wordings: lower case, no punctuation, no
    "next state is StaN" (next states are compared on their own)."""
    text = re.sub(r"next state is sta\d+", " ", text.casefold())
    return " ".join(re.findall(r"[a-z0-9]+", text))


def states_table() -> str:
    """PS3.8 Tables 9-1 to 9-5 as one table."""
    return table(("State", "PS3.8 definition"), ((s.name, s.description) for s in STATES.values()))


def events_table() -> str:
    """The events, the rows of PS3.8 Table 9-10."""
    return table(("Event", "PS3.8 definition"), ((e.name, e.description) for e in EVENTS.values()))


def actions_table() -> str:
    """PS3.8 Tables 9-6 to 9-9 as one table, with the table each action comes from."""
    rows = (
        (
            a.name,
            a.description,
            " or ".join(a.next_states),
            ACTION_TABLES[a.name.split("-")[0]],
        )
        for a in ACTIONS.values()
    )
    return table(("Action", "PS3.8 definition", "Next state", "From"), rows)


def table_9_10() -> str:
    """PS3.8 Table 9-10: a row per event, a column per state, the action in each non-empty cell."""
    rows = (
        (
            event.name,
            event.description,
            *(TRANSITIONS.get((state, event.name), "") for state in STATES),
        )
        for event in EVENTS.values()
    )
    return table(("Event", "", *STATES), rows)


def pynetdicom_differences(fsm: ModuleType) -> str:
    """Where pynetdicom's ``fsm`` tables differ from ours, which are PS3.8's, cell by cell."""
    theirs = {(state, event): action for (event, state), action in fsm.TRANSITION_TABLE.items()}
    cells = sorted(
        set(TRANSITIONS) | set(theirs),
        key=lambda cell: (int(cell[1][3:]), int(cell[0][3:])),
    )
    cell_rows = [
        (
            state,
            event,
            TRANSITIONS.get((state, event), "(empty)"),
            theirs.get((state, event), "(empty)"),
        )
        for state, event in cells
        if TRANSITIONS.get((state, event)) != theirs.get((state, event))
    ]

    def next_states(name: str) -> tuple[str, ...]:
        found = fsm.ACTIONS[name][2] if name in fsm.ACTIONS else ()
        return tuple(found) if isinstance(found, tuple) else (found,)

    next_rows = [
        (name, " or ".join(action.next_states), " or ".join(next_states(name)))
        for name, action in ACTIONS.items()
        if action.next_states != next_states(name)
    ]
    parts = [
        f"Table 9-10: {len(TRANSITIONS)} non-empty cells here, {len(theirs)} in pynetdicom's "
        f"`TRANSITION_TABLE`, {len(cell_rows)} that differ.\n",
        _or_none(("State", "Event", "PS3.8", "pynetdicom"), cell_rows),
        f"Next states (Tables 9-6 to 9-9): {len(next_rows)} of {len(ACTIONS)} actions differ.\n",
        _or_none(("Action", "PS3.8", "pynetdicom"), next_rows),
        "Wording of the states, events and actions, where pynetdicom's is not PS3.8's (states and "
        "events letter for letter; actions word for word, ignoring case and punctuation):\n",
        _wording("State", _descriptions(STATES), fsm.STATES, str.__eq__),
        _wording("Event", _descriptions(EVENTS), fsm.EVENTS, str.__eq__),
        _wording(
            "Action",
            _descriptions(ACTIONS),
            {name: entry[0] for name, entry in fsm.ACTIONS.items()},
            lambda ours, theirs: words(ours) == words(theirs),
        ),
    ]
    return "\n".join(parts)


def _descriptions(records: Mapping[str, State | Event | Action]) -> dict[str, str]:
    return {name: record.description for name, record in records.items()}


def _or_none(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return table(header, rows) if rows else "None.\n"


def _wording(
    kind: str,
    ours: Mapping[str, str],
    theirs: Mapping[str, str],
    same: Callable[[str, str], bool],
) -> str:
    rows = [
        (name, text, theirs.get(name, "(absent)"))
        for name, text in ours.items()
        if not same(text, theirs.get(name, ""))
    ]
    return table((kind, "PS3.8", "pynetdicom"), rows) if rows else f"{kind}s: none differ.\n"


def sections(fsm: ModuleType) -> dict[str, str]:
    """Every generated part of the page, by its marker name."""
    return {
        "states": states_table(),
        "events": events_table(),
        "actions": actions_table(),
        "table-9-10": table_9_10(),
        "pynetdicom": pynetdicom_differences(fsm),
    }


def fill(page: str, parts: Mapping[str, str]) -> str:
    """The page with each marked part replaced by ``parts[name]``; the markers must be exactly
    the parts (``docs/render_conformance.py`` fills its page with this too)."""
    seen = {m.group("name") for m in MARKED.finditer(page)}
    if seen != set(parts):
        raise ValueError(f"markers {sorted(seen)} are not the parts {sorted(parts)}")
    return MARKED.sub(
        lambda m: m.group(1) + "\n" + parts[m.group("name")] + "\n" + m.group(3), page
    )


def render(page: str, fsm: ModuleType | None = None) -> str:
    """The page with every marked part written anew; a marker without a part is an error."""
    if fsm is None:
        from pynetdicom import fsm as installed

        fsm = installed
    return fill(page, sections(fsm))


def rewrite(path: Path, render: Callable[[str], str], argv: Sequence[str], script: str) -> int:
    """Write ``render``'s page over ``path``, or with ``--check`` only say whether it is current
    (and name the ``script`` to run)."""
    page = path.read_text(encoding="utf-8")
    rendered = render(page)
    if rendered == page:
        return 0
    if "--check" in argv:
        print(f"{path} is not current: run python docs/{script}", file=sys.stderr)
        return 1
    path.write_text(rendered, encoding="utf-8")
    return 0


def main(argv: Sequence[str]) -> int:
    return rewrite(PAGE, render, argv, Path(__file__).name)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
