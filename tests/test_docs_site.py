"""The documentation site builds with no warning, documents every public name and states the
conformance the code has.

``mkdocs build --strict`` (``mkdocs.yml`` sets ``strict: true`` too) turns every warning into an
error: a broken link, a page left out of the nav, an API name mkdocstrings cannot resolve. The
built API page must hold an anchor for every name of ``dimse_codec.__all__``, so a name added to
the package face without a docstring page fails here. ``docs/conformance.md`` must be what
``docs/render_conformance.py`` writes from the tables, so the statement cannot drift. The site
tools come with the ``test`` extra; locally, without them, the build test is skipped (in CI it
fails).
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import peer_unavailable

import dimse_codec

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = re.compile(r'id="dimse_codec\.([A-Za-z_][A-Za-z_0-9]*)"')


def _renderer() -> dict[str, Any]:
    """docs/render_conformance.py's names (run as a module, not as the script it also is)."""
    return runpy.run_path(str(ROOT / "docs" / "render_conformance.py"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once into a temporary folder with ``mkdocs build --strict``."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module) is None:
            peer_unavailable(
                f"{module} is not installed (pip install -e '.[docs]')",
                f"{module} is required in CI (the test extra installs it)",
            )
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == []
    return out


def test_the_site_builds_strict_with_every_page(site: Path) -> None:
    for page in ("index.html", "conformance/index.html", "comparison/index.html"):
        assert (site / page).is_file(), page
    pages = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    built = {p.parent.name for p in site.glob("*/index.html")} | {"index"}
    assert set(pages) <= built


def test_every_public_name_has_an_anchor_in_the_api_page(site: Path) -> None:
    anchors = set(ANCHOR.findall((site / "api" / "index.html").read_text(encoding="utf-8")))
    assert sorted(set(dimse_codec.__all__) - anchors) == []


def test_the_conformance_page_is_current() -> None:
    renderer = _renderer()
    page = renderer["PAGE"].read_text(encoding="utf-8")
    assert renderer["render"](page) == page, "run: python docs/render_conformance.py"


def test_the_conformance_page_states_the_implementation() -> None:
    from dimse_codec.association import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
    from dimse_codec.dataset import KNOWN_TRANSFER_SYNTAXES
    from dimse_codec.tables.messages import MESSAGES
    from dimse_codec.tables.quirks import CATALOGUE

    page = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert f"`{IMPLEMENTATION_CLASS_UID}`" in page
    assert f"`{IMPLEMENTATION_VERSION_NAME}`" in page
    for spec in MESSAGES:
        assert f"| {spec.name} | {spec.command_field:04X}H |" in page
    for syntax in KNOWN_TRANSFER_SYNTAXES:
        assert f"| `{syntax.uid}` |" in page
    for quirk in CATALOGUE:
        assert f"| `{quirk.value}` |" in page


def test_a_marker_without_a_part_is_refused() -> None:
    renderer = _renderer()
    page = renderer["PAGE"].read_text(encoding="utf-8")
    extra = page + "\n<!-- generated: nothing -->\n<!-- end generated: nothing -->\n"
    with pytest.raises(ValueError, match="nothing"):
        renderer["render"](extra)
