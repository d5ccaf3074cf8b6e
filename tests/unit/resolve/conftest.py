"""Fixtures of the slow path's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.nixlog import VERSIONS, logs_of


@pytest.fixture(params=VERSIONS)
def logs(request: pytest.FixtureRequest) -> Path:
    """The directory of one Nix version's captures (each test runs against both)."""
    return logs_of(str(request.param))

