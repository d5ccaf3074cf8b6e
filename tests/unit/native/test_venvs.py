"""Where a virtual environment is and what is in it."""

from __future__ import annotations

from pathlib import Path

from uvx_nix.native import venvs


def test_location_and_safe_location(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    assert venvs.location(root, {}) == root / ".venv"
    assert venvs.location(root, {"UV_PROJECT_ENVIRONMENT": "env"}) == root / "env"
    assert venvs.safe_location(root, {}) == root / ".venv"
    assert venvs.safe_location(root, {"UV_PROJECT_ENVIRONMENT": "../elsewhere"}) is None
    (tmp_path / "target").mkdir()
    (root / ".venv").symlink_to(tmp_path / "target")
    assert venvs.safe_location(root, {}) is None
    assert venvs.safe_location(root, {"UV_PROJECT_ENVIRONMENT": str(tmp_path / "abs")}) == \
        tmp_path / "abs"


def test_foreign_home(tmp_path: Path) -> None:
    v = tmp_path / ".venv"
    v.mkdir()
    assert venvs.foreign_home(v) is None  # no pyvenv.cfg: not a venv uvx-nix judges
    (v / "pyvenv.cfg").write_text("home = /home/me/.local/share/uv/python/cpython/bin\n")
    assert venvs.foreign_home(v) == "/home/me/.local/share/uv/python/cpython/bin"
    (v / "pyvenv.cfg").write_text("home = /nix/store/" + "a" * 32 + "-python3/bin\n")
    assert venvs.foreign_home(v) is not None  # a store path that is gone counts too
