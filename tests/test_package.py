"""The package as a user gets it: sdist and wheel build, pass ``twine check``, and the wheel
installs into a clean virtual environment and runs there.

The wheel is built from the sdist (``python -m build``'s default), so a file the sdist forgets
fails here; the example capture decoded in the new environment is the one the sdist ships. The
virtual environment is created without the system site packages and without this checkout on its
path (every command runs from a temporary folder), so only what the wheel installs, plus its
declared dependencies from the package index, can answer. Needs ``build``, ``twine``,
``setuptools`` and ``wheel`` (the ``test`` extra); locally, without them, it is skipped.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import peer_unavailable

from dimse_codec._version import VERSION

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "docs/examples/storage-commitment.pcap"


def _run(*command: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel built from it, in a temporary folder."""
    for module in ("build", "twine", "setuptools", "wheel"):
        if importlib.util.find_spec(module) is None:
            peer_unavailable(
                f"{module} is not installed (pip install -e '.[test]')",
                f"{module} is required in CI (the test extra installs it)",
            )
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    (sdist,) = out.glob("dimse_codec-*.tar.gz")
    (wheel,) = out.glob("dimse_codec-*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def clean_env(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment (no system site packages) with the wheel installed."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(home)
    python = home / "bin" / "python"
    _run(
        python, "-m", "pip", "install", "-q", "--disable-pip-version-check", dist["wheel"], cwd=home
    )
    return home


def test_both_distributions_pass_twine_check(dist: dict[str, Path]) -> None:
    done = _run(sys.executable, "-m", "twine", "check", "--strict", *dist.values(), cwd=ROOT)
    assert done.stdout.count("PASSED") == 2


def test_the_distributions_carry_the_version_licence_and_types(dist: dict[str, Path]) -> None:
    assert dist["wheel"].name == f"dimse_codec-{VERSION}-py3-none-any.whl"
    assert dist["sdist"].name == f"dimse_codec-{VERSION}.tar.gz"
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"dimse_codec-{VERSION}.dist-info/METADATA").decode()
    assert "dimse_codec/py.typed" in names
    assert "dimse_codec/scpfuzz/replay_template.py" in names
    assert f"dimse_codec-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in metadata
    assert not any(name.startswith(("tests/", "docs/", "benchmarks/")) for name in names)
    with tarfile.open(dist["sdist"]) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for shipped in ("LICENSE", "CHANGELOG.md", "mkdocs.yml", EXAMPLE, "tests/conftest.py"):
        assert shipped in members, shipped


def test_the_installed_command_tells_its_version(clean_env: Path, tmp_path: Path) -> None:
    done = _run(clean_env / "bin" / "dimse-codec", "--version", cwd=tmp_path)
    assert done.stdout.strip() == f"dimse-codec {VERSION}"


def test_the_installed_package_decodes_the_shipped_capture(
    clean_env: Path, dist: dict[str, Path], tmp_path: Path
) -> None:
    with tarfile.open(dist["sdist"]) as sdist:
        member = sdist.extractfile(f"dimse_codec-{VERSION}/{EXAMPLE}")
        assert member is not None
        capture = tmp_path / "storage-commitment.pcap"
        capture.write_bytes(member.read())
    done = _run(clean_env / "bin" / "python", "-m", "dimse_codec", "decode", capture, cwd=tmp_path)
    assert "N-ACTION-RQ" in done.stdout and "N-EVENT-REPORT-RSP" in done.stdout
    assert "summary: 1 association(s), 6 message(s), 0 gap(s), 0 problem(s)" in done.stdout


def test_the_installed_package_imports_from_the_environment(
    clean_env: Path, tmp_path: Path
) -> None:
    script = (
        "import sys, dimse_codec\n"
        "from dimse_codec import C_ECHO, decode_message, encode_message\n"
        "echo = C_ECHO(MessageID=1, AffectedSOPClassUID='1.2.840.10008.1.1')\n"
        "message = encode_message(echo)\n"
        "assert decode_message(message.command_set, message.dataset) == echo\n"
        "missing = [n for n in dimse_codec.__all__ if getattr(dimse_codec, n, None) is None]\n"
        "assert not missing, missing\n"
        "print(dimse_codec.__version__, dimse_codec.__file__, sys.prefix)\n"
    )
    done = _run(clean_env / "bin" / "python", "-c", script, cwd=tmp_path)
    version, location, prefix = done.stdout.split()
    assert version == VERSION
    assert Path(location).is_relative_to(clean_env) and Path(prefix) == clean_env
    assert not Path(location).is_relative_to(ROOT)
