"""Fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with no configuration of their own (HOME, XDG config dirs under tmp_path)."""
    config = tmp_path / "config"
    config.mkdir()
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(config),
            "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg")}
