"""Shared fixtures: the isolation guard, the NixOS simulation (``sim``) and ``project_dir``."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.sim import XDG_DIRS, Sim, make_home, setup_sim

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="uvx-nix-tests-"))


@pytest.fixture(scope="session", autouse=True)
def _isolate_home() -> Iterator[Path]:
    """No test touches the real HOME or the real user caches: point them at temp dirs."""
    home = make_home(_SESSION_ROOT / "home")
    mp = pytest.MonkeyPatch()
    mp.setenv("UVX_NIX_REAL_HOME", os.environ.get("HOME", "/root"))
    mp.setenv("HOME", str(home))
    for key, rel in XDG_DIRS.items():
        mp.setenv(key, str(home / rel))
    try:
        yield home
    finally:
        mp.undo()
        shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def sim(_isolate_home: Path) -> Sim:
    """The NixOS simulation, set up once per session (fails loudly under CI=true)."""
    problem = None
    if shutil.which("bwrap") is None and not Path("/usr/bin/apt-get").exists():
        problem = "bubblewrap is not available"
    else:
        res = setup_sim()
        if res.returncode != 0:
            problem = f"scripts/setup-sim failed:\n{res.stderr[-4000:]}"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return Sim(_SESSION_ROOT / "sim-home")


@pytest.fixture(autouse=True)
def _sim_fresh_home(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Give each test using ``sim`` its own HOME inside the simulation."""
    if "sim" in request.fixturenames:
        s: Sim = request.getfixturevalue("sim")
        s.reset_home(tmp_path / "sim-home")


@pytest.fixture
def untraced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulation's uvx-nix runs without coverage tracing: for tests of signal timing,
    where a tracer's own frames change when the interrupt lands."""
    monkeypatch.delenv("UVX_NIX_SIM_COVERAGE", raising=False)


@pytest.fixture
def project_dir(request: pytest.FixtureRequest) -> Path:
    """A fresh directory under the session temp root, bound into the simulation at its path."""
    base = _SESSION_ROOT / "projects"
    base.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
