"""The documentation's Python examples run, so they cannot drift from the code.

Each page's ``python`` blocks run in order in one namespace, so a later block may use what an
earlier one defined, as a reader would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
PAGES = {
    "primitives.md": 8,
    "pdata.md": 5,
    "association.md": 3,
    "capture.md": 2,
    "decode.md": 1,
    "quirks.md": 4,
    "strategies.md": 1,
    "fuzzing.md": 1,
}
"""Pages whose examples run here, with the fewest examples each must keep."""


def blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_examples_run(page: str) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    examples = blocks(page)
    assert len(examples) >= PAGES[page]
    for index, code in enumerate(examples):
        exec(compile(code, f"docs/{page}[{index}]", "exec"), namespace)
