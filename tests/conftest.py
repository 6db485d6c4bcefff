"""Test settings: Hypothesis profiles (more examples in CI) and helpers to find real peers."""

from __future__ import annotations

import os
import shutil
import sys
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings
from peers import give_back_raced_responses

settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(autouse=True)
def _pynetdicom_reactor_race_closed() -> None:
    """Where a test module uses pynetdicom, close its reactor race (``peers``) before each test.

    Only once pynetdicom is imported by a test module: importing it here, before the library,
    would also add the transfer syntaxes pynetdicom registers with pydicom to the library's.
    """
    if "pynetdicom" in sys.modules:
        give_back_raced_responses()


def peer_unavailable(local: str, in_ci: str | None = None) -> NoReturn:
    """Skip locally with ``local`` as the reason; fail in CI, where every peer must run."""
    if IN_CI:
        pytest.fail(in_ci or local)
    pytest.skip(local)


def require_tool(name: str) -> str:
    """Path of a peer tool; skip locally when missing, fail in CI (peers must run there)."""
    path = shutil.which(name)
    if path is None:
        peer_unavailable(
            f"{name} is not installed on this machine",
            f"{name} is required in CI (installed by .ci/run)",
        )
    return path
