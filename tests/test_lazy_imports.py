"""The package face loads its names on first use; the command line loads only the subcommand it
runs, so ``dimse-codec --version`` and ``import dimse_codec`` stay cheap (no pydicom, no construct).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import dimse_codec

FACE = Path(dimse_codec.__file__)


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_importing_the_package_loads_neither_pydicom_nor_construct() -> None:
    loaded = loaded_after("import dimse_codec")
    assert not {"pydicom", "construct", "dimse_codec.dimse.codec"} & loaded


def test_version_loads_no_subcommand_and_echo_no_capture_decoder() -> None:
    loaded = loaded_after("from dimse_codec.cli.main import main\nassert main(['--version']) == 0")
    assert not {"pydicom", "construct", "dimse_codec.cli.decode"} & loaded
    loaded = loaded_after("from dimse_codec.cli.main import build_parser\nbuild_parser('echo')")
    assert "dimse_codec.cli.echo" in loaded
    assert not {"dimse_codec.capture", "dimse_codec.cli.decode", "dimse_codec.pcap"} & loaded


def test_every_public_name_resolves_to_its_modules_object() -> None:
    names = dimse_codec._NAMES  # type: ignore[attr-defined]
    assert set(names) | {"__version__"} == set(dimse_codec.__all__)
    for name, where in names.items():
        source, _, attribute = where.partition(":")
        expected = getattr(importlib.import_module(source), attribute or name)
        assert getattr(dimse_codec, name) is expected, name
    assert set(dimse_codec.__all__) <= set(dir(dimse_codec))


def test_the_type_checkers_imports_name_the_same_places() -> None:
    tree = ast.parse(FACE.read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported = {
        alias.asname or alias.name: f"{node.module}"
        + ("" if alias.asname is None else f":{alias.name}")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == dimse_codec._NAMES  # type: ignore[attr-defined]
