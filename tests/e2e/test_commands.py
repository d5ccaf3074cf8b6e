"""uvx-nix's own commands (`uvx-nix nix ...`), end to end in the simulation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers.e2e import nix_calls, uvx, write_project
from helpers.sim import Sim


def test_status_before_and_after_locking(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    res = uvx(sim, ["nix", "status"], cwd=project_dir, check=True)
    assert "active: yes (NixOS detected (/etc/NIXOS))" in res.stdout
    assert f"project: {project_dir}" in res.stdout
    assert "python request: '3.12' (from" in res.stdout
    assert "(missing: the next uv call resolves with Nix)" in res.stdout
    assert "hot cache: empty" in res.stdout
    lock = uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)
    assert "Locked python312 (cpython 3.12.1)" in lock.stderr
    res = uvx(sim, ["nix", "status"], cwd=project_dir, check=True)
    assert "(up to date)" in res.stdout
    assert f"interpreter: {sim.pkgs['python312']}/bin/python3.12" in res.stdout
    assert "library: zlib " in res.stdout
    assert "(held)" in res.stdout
    uvx(sim, ["run", "python", "-c", "pass"], cwd=project_dir, check=True)
    assert "hot cache: fresh" in uvx(sim, ["nix", "status"], cwd=project_dir).stdout
    (project_dir / ".python-version").write_text("3.13\n")
    res = uvx(sim, ["nix", "status"], cwd=project_dir, check=True)
    assert "stale: inputs changed" in res.stdout
    assert "hot cache: stale" in res.stdout


def test_lock_upgrade_relocks_the_source(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    write_project(project_dir)
    uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    uvx(sim, ["nix", "lock"], cwd=project_dir, path_prepend=[rec], check=True)
    assert nix_calls(log) == [], "an up-to-date lock needs no nix"
    uvx(sim, ["nix", "lock", "--upgrade"], cwd=project_dir, path_prepend=[rec], check=True)
    calls = nix_calls(log)
    assert any("flake metadata" in c for c in calls), calls
    assert sum(" build " in c for c in calls) == 1, calls


@pytest.mark.parametrize("fmt", ["sh", "fish", "json", "dotenv"])
def test_env_formats(sim: Sim, project_dir: Path, fmt: str) -> None:
    write_project(project_dir)
    res = uvx(sim, ["nix", "env", "--format", fmt], cwd=project_dir,
              env={"NIX_PYTHONPATH": "/nix/store/x-site"}, check=True)
    out = res.stdout
    search = f"{sim.pkgs['python312']}/bin"  # python3, the first match of >=3.11 for uv
    if fmt == "json":
        delta = json.loads(out)
        assert delta["UV_PYTHON_SEARCH_PATH"] == search
        assert delta["UV_PYTHON_DOWNLOADS"] == "never"
        assert delta["NIX_PYTHONPATH"] is None
    elif fmt == "sh":
        assert f"export UV_PYTHON_SEARCH_PATH={search}" in out
        assert "unset NIX_PYTHONPATH" in out
    elif fmt == "fish":
        assert f"set -gx UV_PYTHON_SEARCH_PATH {search}" in out
        assert "set -e NIX_PYTHONPATH" in out
    else:
        assert f'UV_PYTHON_SEARCH_PATH="{search}"' in out


def test_gc_drops_roots_and_the_next_call_reroots(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    root = project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux"
    assert root.is_symlink()
    res = uvx(sim, ["nix", "gc"], cwd=project_dir, check=True)
    assert "Dropped 1 GC root" in res.stderr
    assert not os.path.lexists(root)
    uvx(sim, ["run", "python", "-c", "pass"], cwd=project_dir, check=True)
    assert root.is_symlink()


def test_help_and_version(sim: Sim, project_dir: Path) -> None:
    res = uvx(sim, ["nix", "--help"], cwd=project_dir, check=True)
    for word in ("status", "lock", "env", "gc", "doctor", "allow", "shell-init", "UVX_NIX_UV",
                 "exit codes"):
        assert word in res.stdout
    res = uvx(sim, ["nix", "--version"], cwd=project_dir, check=True)
    lines = res.stdout.splitlines()
    assert lines[0].startswith("uvx-nix ")
    assert lines[1].startswith("uv: uv 0.")
    assert lines[2].startswith("nix: nix (Nix) 2.")
    res = uvx(sim, ["nix", "bogus"], cwd=project_dir)
    assert res.returncode == 2  # a usage error, as uv's own
    assert res.stderr.startswith("error: uvx-nix: nix: argument COMMAND: invalid choice: "
                                 "'bogus'"), res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
