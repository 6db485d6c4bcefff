"""The documentation's Python examples run, so they cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("index", range(len(blocks("primitives.md"))))
def test_primitives_page_example_runs(index: int) -> None:
    code = blocks("primitives.md")[index]
    exec(compile(code, f"docs/primitives.md[{index}]", "exec"), {"__name__": "docs_example"})


def test_primitives_page_has_examples() -> None:
    assert len(blocks("primitives.md")) >= 8
