"""Hypothesis is optional: the codec and ``decode``/``inspect`` run without it, the rest says why.

Each check runs in a fresh interpreter whose ``sys.meta_path`` refuses to import ``hypothesis``,
as on an install without the ``strategies`` extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = "docs/examples/storage-commitment.pcap"
EXTRA = "pip install 'dimse-codec[strategies]'"

BLOCKER = """
import importlib.abc, runpy, sys

class NoHypothesis(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoHypothesis())
"""
"""Prepended to every script: makes ``hypothesis`` and its submodules unimportable."""


def without_hypothesis(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter that cannot import Hypothesis."""
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def cli_without_hypothesis(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dimse_codec.cli.main ARGV`` without Hypothesis."""
    return without_hypothesis(
        f"sys.argv = ['dimse-codec', *{list(argv)!r}]\n"
        "runpy.run_module('dimse_codec.cli.main', run_name='__main__', alter_sys=True)\n"
    )


def cli_with_hypothesis(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dimse_codec.cli.main ARGV`` as installed."""
    return subprocess.run(
        [sys.executable, "-m", "dimse_codec.cli.main", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_blocker_blocks() -> None:
    result = without_hypothesis("import hypothesis\n")
    assert result.returncode != 0
    assert "No module named 'hypothesis'" in result.stderr


def test_decode_runs_and_prints_the_same() -> None:
    result = cli_without_hypothesis("decode", CAPTURE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "C-STORE" in result.stdout or "N-ACTION-RQ" in result.stdout
    assert result.stdout == cli_with_hypothesis("decode", CAPTURE).stdout


def test_decode_json_runs_and_prints_the_same() -> None:
    result = cli_without_hypothesis("decode", "--json", CAPTURE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == cli_with_hypothesis("decode", "--json", CAPTURE).stdout


@pytest.mark.parametrize(
    "example", ["docs/examples/c-echo-rq.bin", "docs/examples/storage-commitment-association.pdus"]
)
def test_inspect_runs_and_prints_the_same(example: str) -> None:
    result = cli_without_hypothesis("inspect", example)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == cli_with_hypothesis("inspect", example).stdout


def test_the_codec_imports_no_hypothesis() -> None:
    result = without_hypothesis(
        "import dimse_codec, dimse_codec.capture, dimse_codec.pcap, dimse_codec.pdu\n"
        "import dimse_codec.pdata, dimse_codec.association, dimse_codec.dataset\n"
        "import dimse_codec.cli.main\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'hypothesis')\n"
        "print(loaded)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["dimse_codec.strategies", "dimse_codec.scpfuzz"])
def test_the_hypothesis_packages_name_the_extra(package: str) -> None:
    result = without_hypothesis(
        "try:\n"
        f"    import {package}\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc.name)\n"
        "    print(exc)\n"
        "else:\n"
        "    print('imported')\n"
    )
    assert result.returncode == 0, result.stderr
    name, message = result.stdout.splitlines()
    assert name == "hypothesis"
    assert message == f"{package} needs Hypothesis: {EXTRA}"


def test_fuzz_says_what_to_install() -> None:
    result = cli_without_hypothesis("fuzz", "127.0.0.1", "1")
    assert result.returncode == 2  # EXIT_USAGE: the environment cannot run the subcommand
    assert result.stdout == ""
    assert result.stderr == (
        f"dimse-codec fuzz: error: dimse_codec.scpfuzz needs Hypothesis: {EXTRA}\n"
    )
    assert "Traceback" not in result.stderr


def test_hypothesis_is_no_required_dependency() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("hypothesis")]
    extras = project["optional-dependencies"]
    pins = {
        name: [d for d in extras[name] if d.lower().startswith("hypothesis")]
        for name in ("strategies", "fuzz", "test")
    }
    assert pins == {name: ["hypothesis>=6.100"] for name in pins}
    assert "atheris>=2.3" in extras["fuzz"]
