"""Issue 5: `use uvnix` in direnv, end to end in the NixOS simulation with the real direnv."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from e2e import nix_calls, uv_bin, write_project
from helpers.sim import Sim

pytestmark = pytest.mark.sim
SHOW = ("import os, sys; print(sys.base_prefix); print(sys.prefix); "
        "print(os.environ.get('LD_LIBRARY_PATH')); print(os.environ.get('UVX_NIX_LIBRARY_PATH'))")


def _direnv(sim: Sim, project: Path, args: list[str], rec: Path,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return sim.run(["direnv", *args], cwd=project, env=env, path_prepend=[rec, uv_bin(sim)])


def _setup(sim: Sim, project: Path, rec: Path) -> None:
    lib = sim.home / ".config" / "direnv" / "lib" / "uvnix.sh"
    lib.parent.mkdir(parents=True)
    res = sim.run(["uvx-nix", "nix", "direnv-lib"], cwd=project, check=True)
    lib.write_text(res.stdout)
    write_project(project)
    (project / ".python-version").write_text("3.12\n")
    (project / ".envrc").write_text("use uvnix --sync\n")
    allow = _direnv(sim, project, ["allow"], rec)
    assert allow.returncode == 0, allow.stderr


def test_use_uvnix_sync_activates_the_venv_on_a_store_python(sim: Sim, project_dir: Path,
                                                              tmp_path: Path) -> None:
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    _setup(sim, project_dir, rec)
    show = ["exec", ".", "python", "-c", SHOW]

    first = _direnv(sim, project_dir, show, rec)
    assert first.returncode == 0, first.stderr
    base, prefix, ld_path, libs = first.stdout.splitlines()
    assert base == sim.pkgs["python312"], first
    assert prefix == str(project_dir / ".venv")
    # Native libraries stay out of the shell: only the venv's Python gets them.
    assert ld_path == "None"
    assert sim.pkgs["stdenv.cc.cc.lib"] in libs
    assert (project_dir / "uv.lock").exists()
    assert (project_dir / ".direnv" / "uvnix-env.sh").exists()
    assert nix_calls(log), "the first load resolves with Nix"

    # Nothing changed: the reload starts no Nix (and no uvx-nix: the cache is direnv's).
    calls = nix_calls(log)
    cached = (project_dir / ".direnv" / "uvnix-env.sh").read_text()
    again = _direnv(sim, project_dir, show, rec)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert nix_calls(log) == calls
    assert "uvx-nix sync" not in again.stderr
    assert (project_dir / ".direnv" / "uvnix-env.sh").read_text() == cached

    # A watched file changes: reload, new interpreter, the venv follows it.
    (project_dir / ".python-version").write_text("3.13\n")
    newer = _direnv(sim, project_dir, show, rec)
    assert newer.returncode == 0, newer.stderr
    assert newer.stdout.splitlines()[:2] == [sim.pkgs["python313"], str(project_dir / ".venv")]
    assert f"home = {sim.pkgs['python313']}/bin" in (project_dir / ".venv" / "pyvenv.cfg"
                                                      ).read_text()

    # Nix fails: the last good environment stays, with an error on stderr, exit 0.
    good = (project_dir / ".direnv" / "uvnix-env.sh").read_text()
    with (project_dir / "pyproject.toml").open("a") as f:
        f.write('[tool.uvx-nix]\nnixpkgs = "path:/nonexistent"\n')
    broken = _direnv(sim, project_dir, show, rec, env={"UVX_NIX_TRUST": "1"})
    assert broken.returncode == 0, broken.stderr
    assert broken.stdout.splitlines()[:2] == [sim.pkgs["python313"], str(project_dir / ".venv")]
    assert "uvx-nix: error: nix failed" in broken.stderr
    assert "use uvnix: uvx-nix failed (exit 73); using the last good environment" in \
        broken.stderr
    assert (project_dir / ".direnv" / "uvnix-env.sh").read_text() == good
    assert not [p for p in (project_dir / ".direnv").iterdir() if p.name != "uvnix-env.sh"]


def test_use_uvnix_without_sync_exports_only_uv_steering(sim: Sim, project_dir: Path,
                                                         tmp_path: Path) -> None:
    rec = sim.recording_nix(tmp_path / "nix.log")
    _setup(sim, project_dir, rec)
    (project_dir / ".envrc").write_text("use uvnix\n")
    assert _direnv(sim, project_dir, ["allow"], rec).returncode == 0
    script = ('for k in UV_PYTHON_SEARCH_PATH UV_PYTHON_PREFERENCE UV_PYTHON_DOWNLOADS '
              'LD_LIBRARY_PATH UVX_NIX_INJECTED_LD_LIBRARY_PATH VIRTUAL_ENV; '
              'do echo "$k=${!k-unset}"; done')
    res = _direnv(sim, project_dir, ["exec", ".", "bash", "-c", script], rec)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"UV_PYTHON_SEARCH_PATH={sim.pkgs['python312']}/bin",
        "UV_PYTHON_PREFERENCE=only-system",
        "UV_PYTHON_DOWNLOADS=never",
        "LD_LIBRARY_PATH=unset",
        "UVX_NIX_INJECTED_LD_LIBRARY_PATH=unset",
        "VIRTUAL_ENV=unset",
    ]
    assert not (project_dir / ".venv").exists()
    # The exported variables steer the plain uv too: it runs on the store Python.
    res = _direnv(sim, project_dir, ["exec", ".", "uv", "run", "python", "-c",
                                     "import sys; print(sys.base_prefix)"], rec)
    assert res.stdout.strip() == sim.pkgs["python312"], res.stderr
