"""Fixtures of the native layer's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.native import wheel_venv


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return wheel_venv(tmp_path)
