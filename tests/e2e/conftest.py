"""End-to-end tests: real uv, real Nix, real shells, in the NixOS simulation.

Every test in this folder is marked ``sim`` (run in every leg of the test matrix), unless it
says ``nix`` (the host's Nix without the simulation, as the flake's tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents and \
                item.get_closest_marker("nix") is None and item.get_closest_marker("sim") is None:
            item.add_marker(pytest.mark.sim)
