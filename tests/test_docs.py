"""The documentation's Python examples run, so they cannot drift from the code.

Each page's ``python`` blocks (the README's and those of ``docs/``) run in order in one namespace,
so a later block may use what an earlier one defined, as a reader would. Other blocks (``sh``,
``console``, plain) are commands or output and are not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
PAGES = {
    "README.md": 3,
    "docs/index.md": 1,
    "docs/primitives.md": 8,
    "docs/pdata.md": 5,
    "docs/association.md": 3,
    "docs/capture.md": 2,
    "docs/decode.md": 2,
    "docs/report.md": 1,
    "docs/quirks.md": 4,
    "docs/strategies.md": 1,
    "docs/fuzzing.md": 1,
    "docs/fuzzing-live.md": 1,
    "docs/limits.md": 1,
    "docs/state-machine.md": 1,
    "docs/connection.md": 4,
    "docs/net.md": 2,
    "docs/replay.md": 1,
    "docs/interop.md": 2,
}
"""Pages (from the repository root) whose examples run here, with the fewest each must keep."""


def blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_examples_run(page: str) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    examples = blocks(page)
    assert len(examples) >= PAGES[page]
    for index, code in enumerate(examples):
        exec(compile(code, f"{page}[{index}]", "exec"), namespace)
