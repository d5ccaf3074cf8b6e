"""Issue: the core wrapper, end to end inside the NixOS simulation with real nix and uv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.e2e import nix_calls, uvx, write_project
from helpers.sim import Sim, setup_sim
from helpers.wheels import build_cxx_wheel

PRINT_PREFIX = ["run", "python", "-c", "import sys; print(sys.base_prefix)"]


def _lock_text(project: Path) -> str:
    return (project / "uvx-nix.lock").read_text()


def test_init_sync_run_uses_a_store_interpreter(sim: Sim, project_dir: Path) -> None:
    uvx(sim, ["init", "--name", "demo", "--no-workspace", "."], cwd=project_dir, check=True)
    assert (project_dir / "pyproject.toml").exists()
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    res = uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True)
    prefix = res.stdout.strip()
    assert prefix.startswith("/nix/store/"), res
    assert prefix == sim.pkgs["python312"], (prefix, sim.pkgs["python312"])
    lock = _lock_text(project_dir)
    assert f'python = "{prefix}"' in lock
    assert 'python-attribute = "python312"' in lock
    # The venv is a real venv on the store interpreter, and git ignores uvx-nix's own dir.
    cfg = (project_dir / ".venv" / "pyvenv.cfg").read_text()
    assert f"home = {prefix}/bin" in cfg
    assert (project_dir / ".uvx-nix" / ".gitignore").read_text().strip().endswith("*")


def test_second_call_starts_no_nix(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    write_project(project_dir)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    uvx(sim, PRINT_PREFIX, cwd=project_dir, path_prepend=[rec], check=True)
    first = nix_calls(log)
    assert len(first) in (1, 2), first  # flake metadata (registry ref) + one build
    assert sum(1 for line in first if line.startswith("nix ") and " build " in line) == 1
    lock_before = _lock_text(project_dir)
    res = uvx(sim, PRINT_PREFIX, cwd=project_dir, path_prepend=[rec], check=True)
    assert res.stdout.strip().startswith("/nix/store/")
    assert nix_calls(log) == first, "a cache hit must not start nix"
    assert _lock_text(project_dir) == lock_before


def test_python_version_change_reresolves_and_cli_wins(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    out = uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True).stdout.strip()
    assert out == sim.pkgs["python312"]
    (project_dir / ".python-version").write_text("3.13\n")
    out = uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True).stdout.strip()
    assert out == sim.pkgs["python313"]
    assert 'python-attribute = "python313"' in _lock_text(project_dir)
    cfg = (project_dir / ".venv" / "pyvenv.cfg").read_text()
    assert f"home = {sim.pkgs['python313']}/bin" in cfg
    # --python on the command line wins over the file, as in uv.
    res = uvx(sim, ["run", "--python", "3.12", "python", "-c",
                    "import sys; print(sys.base_prefix)"], cwd=project_dir, check=True)
    assert res.stdout.strip() == sim.pkgs["python312"]


def test_venv_is_not_recreated_on_every_call(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    marker = project_dir / ".venv" / "marker"
    marker.write_text("kept")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True)
    assert marker.exists()


def test_pip_install_in_activated_venv_targets_the_venv(sim: Sim, project_dir: Path,
                                                         tmp_path: Path) -> None:
    wheels = project_dir / "wheels"
    wheels.mkdir()
    build_cxx_wheel(wheels)
    write_project(project_dir)
    uvx(sim, ["venv"], cwd=project_dir, check=True)
    venv = project_dir / ".venv"
    env = {"VIRTUAL_ENV": str(venv)}
    res = uvx(sim, ["pip", "install", "--no-index", "--find-links", str(wheels),
                    "uvxnix-cxxdemo"], cwd=project_dir, env=env, path_prepend=[venv / "bin"],
              check=True)
    assert "uvxnix-cxxdemo" in res.stderr
    installed = list(venv.glob("lib/python3.*/site-packages/uvxnix_cxxdemo*"))
    assert installed, res


def test_store_gc_keeps_the_venv_working(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    gc = sim.run(["nix-store", "--gc"], cwd=project_dir)
    assert gc.returncode == 0, gc.stderr
    res = sim.run([str(project_dir / ".venv" / "bin" / "python"), "-c",
                   "import sys; print(sys.base_prefix)"], cwd=project_dir, check=True)
    assert res.stdout.strip().startswith("/nix/store/")
    assert uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True).stdout.strip() == \
        res.stdout.strip()


def test_deleted_store_paths_come_back_exactly_as_locked(sim: Sim, project_dir: Path,
                                                         tmp_path: Path) -> None:
    write_project(project_dir)
    # Not 3.11: the simulation runs uvx-nix itself on the look-alike's python311.
    (project_dir / ".python-version").write_text("3.13\n")
    uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True)
    lock_before = _lock_text(project_dir)
    python = sim.pkgs["python313"]
    env_out = os.readlink(project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux")
    # As on a teammate's fresh machine: the locked paths are not in the store.
    delete = sim.run(["nix-store", "--delete", "--ignore-liveness", env_out, sim.pkgs["simAll"],
                      python], cwd=project_dir)
    try:
        assert delete.returncode == 0, delete.stderr
        assert not Path(python).exists()
        log = tmp_path / "nix.log"
        rec = sim.recording_nix(log)
        res = uvx(sim, PRINT_PREFIX, cwd=project_dir, path_prepend=[rec], check=True)
        assert res.stdout.strip() == python
        assert Path(python).exists()
        assert _lock_text(project_dir) == lock_before
        calls = nix_calls(log)
        assert len(calls) == 1, calls  # one rebuild from the locked nixpkgs, no re-lock
        assert "flake metadata" not in calls[0]
    finally:
        setup_sim()  # restore the simulation's own roots for the tests after this one


def test_parallel_cold_calls_resolve_once(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    write_project(project_dir)
    uvx(sim, ["venv"], cwd=project_dir, check=True)
    (project_dir / "uvx-nix.lock").unlink()
    shutil.rmtree(project_dir / ".uvx-nix")
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    script = (
        "for i in $(seq 16); do (uvx-nix run --no-sync python -c 'print(1)' "
        "> out.$i 2>err.$i; echo $? > rc.$i) & done; wait"
    )
    sim.run(["bash", "-c", script], cwd=project_dir, path_prepend=[rec, f"{sim.pkgs['uv']}/bin"],
            check=True)
    codes = [(project_dir / f"rc.{i}").read_text().strip() for i in range(1, 17)]
    outs = [(project_dir / f"out.{i}").read_text().strip() for i in range(1, 17)]
    errs = [(project_dir / f"err.{i}").read_text() for i in range(1, 17)]
    assert codes == ["0"] * 16, errs
    assert outs == ["1"] * 16
    # The one call that resolved says so in one closing line; the others say nothing.
    said = [e for e in errs if e]
    assert len(said) == 1, errs
    assert said[0].startswith("Resolved CPython 3.12"), said  # python3, as uv picks it
    assert said[0].endswith("; locked in uvx-nix.lock\n"), said
    builds = [line for line in nix_calls(log) if " build " in line]
    assert len(builds) == 1, nix_calls(log)


def test_errors_are_one_line_with_documented_codes(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    # no matching interpreter: lists what nixpkgs has
    (project_dir / ".python-version").write_text("3.9\n")
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 71, res
    assert "nixpkgs has no Python matching '3.9'" in res.stderr
    assert "cpython 3.12" in res.stderr
    assert "Traceback" not in res.stderr
    (project_dir / ".python-version").unlink()
    # nix failing: a nixpkgs source that does not exist
    res = uvx(sim, ["sync"], cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": "path:/nonexistent/nixpkgs"})
    assert res.returncode == 73, res
    assert res.stderr.startswith("error: uvx-nix: nix failed while"), res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    # nix missing
    res = sim.run(["/run/current-system/sw/bin/env", "PATH=/nonexistent",
                   f"{sim.repo}/sim/.build/wrapper-bin/uvx-nix", "sync"],
                  cwd=project_dir, env={"UVX_NIX_UV": f"{sim.pkgs['uv']}/bin/uv"})
    assert res.returncode == 72, res
    assert "nix was not found on PATH" in res.stderr
    # unreadable pyproject.toml: uv's own diagnostic and exit code, as with plain uv
    (project_dir / "pyproject.toml").write_text("[project\nname = ")
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 2, res
    assert "Failed to parse" in res.stderr
    write_project(project_dir)
    # damaged lockfile
    (project_dir / "uvx-nix.lock").write_bytes(b"\x00\xffgarbage")
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 74, res
    assert "uvx-nix.lock is not UTF-8 text" in res.stderr
    (project_dir / "uvx-nix.lock").unlink()
    # uv missing
    res = sim.run(["uvx-nix", "sync"], cwd=project_dir)
    assert res.returncode == 75, res
    assert "the real uv was not found" in res.stderr
    for r in (res,):
        assert "Traceback" not in r.stderr


def test_outside_nixos_version_is_uvs_and_no_nix_runs(tmp_path: Path) -> None:
    """On this Debian host (not NixOS), uvx-nix is a pure pass-through."""
    uv = shutil.which("uv")
    assert uv, "uv is not installed; the test command installs it"
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "nix.log"
    (fake / "nix").write_text(f"#!/bin/sh\necho \"$@\" >> {log}\nexit 1\n")
    (fake / "nix").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "UVX_NIX"}
    env["PATH"] = f"{fake}:{Path(uv).parent}:{env['PATH']}"
    env["UVX_NIX_UV"] = uv
    expected = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    got = subprocess.run([sys.executable, "-m", "uvx_nix", "--version"], capture_output=True,
                         text=True, env=env, check=False)
    assert (got.returncode, got.stdout, got.stderr) == \
        (expected.returncode, expected.stdout, expected.stderr)
    write_project(tmp_path)
    got = subprocess.run([sys.executable, "-m", "uvx_nix", "lock", "--offline"],
                         capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert not log.exists(), "no nix may run outside NixOS"
    assert not (tmp_path / "uvx-nix.lock").exists()
    assert not (tmp_path / ".uvx-nix").exists()


def test_nix_failure_falls_back_to_the_last_good_resolution(sim: Sim, project_dir: Path) -> None:
    """As nix-direnv does: when Nix fails on changed inputs, keep working with a warning."""
    write_project(project_dir)
    good = uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True).stdout.strip()
    lock_before = _lock_text(project_dir)
    broken = {"UVX_NIX_NIXPKGS": "path:/nonexistent/nixpkgs"}
    res = uvx(sim, PRINT_PREFIX, cwd=project_dir, env=broken)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == good
    assert "warning: uvx-nix: nix failed while" in res.stderr
    assert "using the last good resolution" in res.stderr
    assert _lock_text(project_dir) == lock_before
    # Not memoised: the next call tries Nix again (and warns again).
    again = uvx(sim, PRINT_PREFIX, cwd=project_dir, env=broken)
    assert "using the last good resolution" in again.stderr
    # An explicit `nix lock` does not hide the failure.
    locked = uvx(sim, ["nix", "lock"], cwd=project_dir, env=broken)
    assert locked.returncode == 73, locked


@pytest.mark.parametrize("args", [
    ["--version"], ["help"], ["sync", "--help"], ["cache", "dir"], ["python", "dir"],
    ["generate-shell-completion", "bash"], ["tool", "list"], ["self", "version"],
])
def test_commands_without_an_interpreter_start_no_nix(sim: Sim, project_dir: Path,
                                                     tmp_path: Path, args: list[str]) -> None:
    write_project(project_dir)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    real = sim.run([f"{sim.pkgs['uv']}/bin/uv", *args], cwd=project_dir)
    res = uvx(sim, args, cwd=project_dir, path_prepend=[rec])
    assert (res.returncode, res.stdout) == (real.returncode, real.stdout)
    assert nix_calls(log) == []
    assert sorted(p.name for p in project_dir.iterdir()) == ["pyproject.toml"]


def test_a_venv_left_by_plain_uv_is_replaced(sim: Sim, project_dir: Path) -> None:
    """A `.venv` that plain uv made with a downloaded generic-Linux Python (NixOS cannot start
    it) would make every uv command fail; uvx-nix removes it, as uv removes a venv whose
    interpreter no longer matches, and uv recreates it on the nixpkgs interpreter."""
    write_project(project_dir)
    generic = project_dir / "downloaded" / "bin" / "python3.11"
    generic.parent.mkdir(parents=True)
    shutil.copy2(Path(sys.executable).resolve(), generic)
    venv = project_dir / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(generic)
    (venv / "pyvenv.cfg").write_text(f"home = {generic.parent}\nversion_info = 3.11.7\n")
    plain = sim.run([f"{sim.pkgs['uv']}/bin/uv", "sync"], cwd=project_dir,
                    env={"UV_PYTHON_DOWNLOADS": "never"})
    assert "Could not start dynamically linked executable" in plain.stderr
    (venv / "notes.txt").write_text("work")
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 0, res.stderr
    # Moved aside, never deleted: the message says where.
    aside = list(project_dir.glob(".venv.replaced-*"))
    assert len(aside) == 1, res.stderr
    assert f"moved {venv} to {aside[0]}" in res.stderr
    assert (aside[0] / "notes.txt").read_text() == "work"
    assert f"home = {sim.pkgs['python312']}/bin" in (venv / "pyvenv.cfg").read_text()
    # A venv on a store interpreter is left alone.
    again = uvx(sim, ["sync"], cwd=project_dir, check=True)
    assert "moved" not in again.stderr


def test_offline_is_passed_to_nix(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    write_project(project_dir)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    uvx(sim, ["--offline", "sync"], cwd=project_dir, path_prepend=[rec], check=True)
    calls = nix_calls(log)
    assert calls
    assert all("--offline" in c for c in calls), calls


def test_every_uv_command_passes_through_unchanged(sim: Sim, project_dir: Path) -> None:
    """Aliasing uv to uvx-nix is safe: each of uv's commands (as `uv help` lists them)
    gives exactly uv's help text and exit code through the wrapper."""
    uv = f"{sim.pkgs['uv']}/bin/uv"
    listing = sim.run([uv, "help"], cwd=project_dir, check=True).stdout
    section = listing.split("Commands:", 1)[1].split("\n\n", 1)[0]
    commands = [line.split()[0] for line in section.splitlines() if line.strip()]
    assert len(commands) >= 20, commands
    script = "; ".join(
        f"uvx-nix {c} --help > w.{c} 2>&1; echo $? >> w.{c}; "
        f"{uv} {c} --help > u.{c} 2>&1; echo $? >> u.{c}" for c in commands)
    sim.run(["bash", "-c", script], cwd=project_dir, path_prepend=[f"{sim.pkgs['uv']}/bin"],
            check=True)
    for c in commands:
        assert (project_dir / f"w.{c}").read_text() == (project_dir / f"u.{c}").read_text(), c
    assert not (project_dir / "uvx-nix.lock").exists()
