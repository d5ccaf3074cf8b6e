"""Issue 5: `use uvnix` in direnv, end to end in the NixOS simulation with the real direnv."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers.e2e import nix_calls, uv_bin, write_project
from helpers.sim import Sim

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


def _cache_file(sim: Sim) -> Path:
    """use uvnix's cache: in the user cache, one file per project."""
    files = list((sim.home / ".cache" / "uvx-nix" / "direnv").glob("*.sh"))
    assert len(files) == 1, files
    return files[0]


def test_a_committed_direnv_cache_is_never_sourced(sim: Sim, project_dir: Path,
                                                   tmp_path: Path) -> None:
    """A repository that commits `.direnv/uvnix-env.sh` (the cache's old place) and forces
    uvx-nix to fail gets neither its shell code run nor its variables exported."""
    rec = sim.recording_nix(tmp_path / "nix.log")
    _setup(sim, project_dir, rec)
    marker = project_dir / "pwned"
    (project_dir / ".direnv").mkdir(exist_ok=True)
    (project_dir / ".direnv" / "uvnix-env.sh").write_text(
        f"# uvnix-key: x\ntouch {marker}\nexport UV_PYTHON_SEARCH_PATH=$(touch {marker})\n")
    with (project_dir / "pyproject.toml").open("a") as f:
        f.write('[tool.uvx-nix]\nstrategy = "bogus"\n')
    res = _direnv(sim, project_dir, ["exec", ".", "true"], rec)
    assert not marker.exists()
    assert "no last good environment" in res.stderr


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
    # Native libraries stay out of the shell: they are recorded inside the venv.
    assert ld_path == "None"
    assert libs == "None"
    pth = next((project_dir / ".venv" / "lib").glob("python3.*/site-packages/"
                                                     "_uvx_nix_scope.pth"))
    assert sim.pkgs["stdenv.cc.cc.lib"] in pth.read_text()
    assert (project_dir / "uv.lock").exists()
    cache = _cache_file(sim)
    assert not (project_dir / ".direnv" / "uvnix-env.sh").exists(), "never in the project"
    assert nix_calls(log), "the first load resolves with Nix"

    # Nothing changed: the reload starts no Nix (and no uvx-nix: the cache is direnv's).
    calls = nix_calls(log)
    cached = cache.read_text()
    again = _direnv(sim, project_dir, show, rec)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert nix_calls(log) == calls
    assert "uvx-nix sync" not in again.stderr
    assert cache.read_text() == cached

    # A watched file changes: reload, new interpreter, the venv follows it.
    (project_dir / ".python-version").write_text("3.13\n")
    newer = _direnv(sim, project_dir, show, rec)
    assert newer.returncode == 0, newer.stderr
    assert newer.stdout.splitlines()[:2] == [sim.pkgs["python313"], str(project_dir / ".venv")]
    assert f"home = {sim.pkgs['python313']}/bin" in (project_dir / ".venv" / "pyvenv.cfg"
                                                      ).read_text()

    # Nix fails: the last good environment stays, with an error on stderr, exit 0.
    good = cache.read_text()
    with (project_dir / "pyproject.toml").open("a") as f:
        f.write('[tool.uvx-nix]\nnixpkgs = "path:/nonexistent"\n')
    broken = _direnv(sim, project_dir, show, rec, env={"UVX_NIX_TRUST": "1"})
    assert broken.returncode == 0, broken.stderr
    assert broken.stdout.splitlines()[:2] == [sim.pkgs["python313"], str(project_dir / ".venv")]
    assert "error: uvx-nix: nix failed" in broken.stderr
    assert "use uvnix: uvx-nix failed (exit 73); using the last good environment" in \
        broken.stderr
    assert cache.read_text() == good
    assert [p.name for p in cache.parent.iterdir()] == [cache.name], "no temp files left"


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
