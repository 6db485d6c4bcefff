"""``decode``'s text (and one NDJSON output) for small committed captures, kept byte for byte.

Each case is a capture and the options given; its expected output is a file in
``tests/golden/`` (see :data:`CASES`). A change to the text view shows here as a diff of those
files. To accept a change on purpose, write them again and review the diff::

    DIMSE_CODEC_GOLDEN=write python -m pytest tests/test_golden_text.py
    git diff tests/golden/

The captures are real recordings (``tests/golden/record.py`` says how they were made) and the
example of ``docs/examples``. ``docs/decode.md`` shows some of these outputs: its output blocks
are checked against the same files here, so the page cannot drift from what decode prints.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dimse_codec.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
EXAMPLE = "docs/examples/storage-commitment.pcap"
DCMTK = "tests/golden/dcmtk-storescu.pcap"
PYNETDICOM = "tests/golden/pynetdicom-statuses.pcap"
WRITE = os.environ.get("DIMSE_CODEC_GOLDEN") == "write"

CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "storage-commitment.txt": (EXAMPLE, ()),
    "storage-commitment.absolute.txt": (EXAMPLE, ("--time", "absolute")),
    "storage-commitment.delta.txt": (EXAMPLE, ("--time", "delta")),
    "storage-commitment.n-event-report.txt": (EXAMPLE, ("--command", "N-EVENT-REPORT")),
    "storage-commitment.detail.txt": (EXAMPLE, ("-vv", "--command", "N-ACTION")),
    "dcmtk-storescu.txt": (DCMTK, ()),
    "dcmtk-storescu.contexts.txt": (DCMTK, ("--contexts",)),
    "pynetdicom-statuses.txt": (PYNETDICOM, ()),
    "pynetdicom-statuses.contexts.txt": (PYNETDICOM, ("--contexts",)),
    "pynetdicom-statuses.color.txt": (PYNETDICOM, ("--color", "always")),
    "pynetdicom-statuses.ndjson": (PYNETDICOM, ("--json",)),
}
"""Golden file -> (capture, from the repository root; decode's options)."""

DOC = ROOT / "docs" / "decode.md"
_BLOCK = re.compile(r"```\n\$ (dimse-codec decode [^\n]*)\n(.*?)```", re.DOTALL)


def decoded(capture: str, options: tuple[str, ...], tmp_path: Path) -> str:
    """What ``dimse-codec decode`` writes for the case (run in this process, into a file)."""
    out = tmp_path / "out"
    assert main(["decode", str(ROOT / capture), *options, "--output", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_output_is_the_golden_file(name: str, tmp_path: Path) -> None:
    capture, options = CASES[name]
    text = decoded(capture, options, tmp_path)
    path = GOLDEN / name
    if WRITE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs (see the module docstring)"


def test_the_golden_captures_are_small() -> None:
    for capture in (DCMTK, PYNETDICOM):
        assert (ROOT / capture).stat().st_size < 200_000


def test_colour_is_only_in_the_coloured_file() -> None:
    for name in CASES:
        coloured = "\033[" in (GOLDEN / name).read_text(encoding="utf-8")
        assert coloured == ("--color" in CASES[name][1]), name


def test_a_pipe_gets_no_colour_and_a_terminal_gets_it_unless_no_color() -> None:
    """``--color auto`` into a pipe (a real process writing to one): no escape codes; a pseudo
    terminal: colours, unless NO_COLOR is set."""
    argv = [sys.executable, "-m", "dimse_codec.cli.main", "decode", str(ROOT / PYNETDICOM)]
    piped = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert "\033[" not in piped.stdout
    assert piped.stdout == (GOLDEN / "pynetdicom-statuses.txt").read_text(encoding="utf-8")
    coloured = (GOLDEN / "pynetdicom-statuses.color.txt").read_text(encoding="utf-8")
    for environment, expected in (({}, coloured), ({"NO_COLOR": "1"}, None)):
        shown = _in_a_terminal(argv, environment)
        if expected is None:
            assert "\033[" not in shown
        else:
            assert shown.replace("\r\n", "\n").splitlines()[1:3] == expected.splitlines()[1:3]


def _in_a_terminal(argv: list[str], environment: dict[str, str]) -> str:
    """What ``argv`` writes to a pseudo terminal, 200 columns wide."""
    import pty

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(environment, COLUMNS="200")
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(argv, stdout=follower, stderr=subprocess.DEVNULL, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other side closed (EIO on Linux)
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_the_docs_show_the_golden_outputs() -> None:
    """Every ``$ dimse-codec decode ...`` block of docs/decode.md whose command is a case here
    shows that case's golden file, and every text view (default, each --time, --contexts) is
    shown there."""
    shown = set()
    for command, output in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        words = shlex.split(command)[2:]
        for name, (capture, options) in CASES.items():
            if words == [capture, *options]:
                assert output == (GOLDEN / name).read_text(encoding="utf-8"), name
                shown.add(name)
    assert {
        "storage-commitment.txt",
        "storage-commitment.absolute.txt",
        "storage-commitment.delta.txt",
        "storage-commitment.n-event-report.txt",
        "storage-commitment.detail.txt",
        "dcmtk-storescu.txt",
        "pynetdicom-statuses.contexts.txt",
    } <= shown
