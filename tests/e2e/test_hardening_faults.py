"""Issue 7: faults around uvx-nix (nix missing, failing, killed, interrupted; a full disk;
a lost GC root; uv pointing back at uvx-nix), end to end in the NixOS simulation.

Covered elsewhere and not repeated here: nix missing from PATH, a nix evaluation error on a
missing source, uv missing (tests/e2e/test_core.py), store paths deleted under a lock
(test_deleted_store_paths_come_back_exactly_as_locked) and an alias loop through a `uv` script
(tests/e2e/test_everyday.py).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.e2e import local_nixpkgs, uv_bin, uvx, write_project
from helpers.sim import SW_BIN, Sim

FIND = ["python", "find"]
WRAPPER = "sim/.build/wrapper-bin/uvx-nix"


def _nixpkgs(sim: Sim, where: Path, slow_seconds: int = 6) -> Path:
    """A tiny nixpkgs: the simulation's look-alike plus libraries that fail or take time.

    ``broken`` fails in its builder, ``evalfail`` throws when evaluated and ``slow`` sleeps
    (a fresh nonce per call, so it is never already in the store)."""
    return local_nixpkgs(sim, where / "nixpkgs-faults", f"""\
  broken = mk "broken" "echo uvx-nix-test: the broken builder failed >&2; exit 1";
  evalfail = throw "uvx-nix-test: evalfail cannot be evaluated";
  slow = mk "slow" "${{bb}} sleep {slow_seconds}; ${{bb}} mkdir -p $out/lib";
""")


def _lock(project: Path) -> bytes | None:
    path = project / "uvx-nix.lock"
    return path.read_bytes() if path.exists() else None


def _temp_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*.tmp")]


def _one_error_line(res: subprocess.CompletedProcess[str], code: int) -> str:
    assert res.returncode == code, res
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: uvx-nix: "), res.stderr
    return lines[0]


@pytest.mark.parametrize("kind", ["dangling-symlink", "not-executable", "directory"])
def test_an_unusable_nix_on_path_is_nix_missing(sim: Sim, project_dir: Path, kind: str) -> None:
    write_project(project_dir)
    fake = project_dir / "fakebin"
    fake.mkdir()
    if kind == "dangling-symlink":
        (fake / "nix").symlink_to("/nonexistent/nix")
    elif kind == "not-executable":
        (fake / "nix").write_text("#!/bin/sh\nexit 0\n")
    else:
        (fake / "nix").mkdir()
    res = sim.run([f"{SW_BIN}/env", f"PATH={fake}:{uv_bin(sim)}", f"{sim.repo}/{WRAPPER}",
                   *FIND], cwd=project_dir)
    line = _one_error_line(res, 72)
    assert "nix was not found on PATH" in line
    assert _lock(project_dir) is None


def test_nix_failing_at_evaluation(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    res = uvx(sim, FIND, cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "evalfail"})
    line = _one_error_line(res, 73)
    assert "nix failed while resolving the Python interpreter" in line
    assert "evalfail cannot be evaluated" in line, line  # the useful part of Nix's message
    assert _lock(project_dir) is None
    assert not _temp_files(project_dir, sim.home)


def test_nix_failing_at_build(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    # With no earlier resolution there is nothing to fall back to: one error, whose first
    # line names the cause and the log, followed by the failed build's last lines.
    res = uvx(sim, FIND, cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "broken"})
    assert res.returncode == 73, res
    line, *rest = res.stderr.splitlines()
    assert line.startswith("error: uvx-nix: "), res.stderr
    assert "builder for 'broken' failed" in line
    assert rest == ["last lines of the build of broken:",
                    "  broken> uvx-nix-test: the broken builder failed"], res.stderr
    assert not (project_dir / "uvx-nix.lock").exists()
    good = uvx(sim, FIND, cwd=project_dir, env={"UVX_NIX_NIXPKGS": str(pkgs)})
    assert good.returncode == 0, good.stderr
    before = _lock(project_dir)
    # With one, the call goes on with it and says why (nix-direnv's fallback).
    res = uvx(sim, FIND, cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "broken"})
    assert res.returncode == 0, res.stderr
    assert res.stdout == good.stdout
    warning = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: uvx-nix:")]
    assert len(warning) == 1, res.stderr
    assert "broken" in warning[0]
    assert "using the last good resolution" in warning[0]
    assert _lock(project_dir) == before, "a failed build must leave the lock alone"
    # The last good call still works (its hot state and lock are intact).
    again = uvx(sim, FIND, cwd=project_dir, env={"UVX_NIX_NIXPKGS": str(pkgs)})
    assert again.returncode == 0, again.stderr
    assert again.stdout == good.stdout


def test_nix_killed_mid_build_then_the_next_call_recovers(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir, slow_seconds=3)
    killer = project_dir / "killer"
    killer.mkdir()
    (killer / "nix").write_text(f"""#!{SW_BIN}/bash
real={sim.pkgs["nix"]}/bin/nix
case " $* " in *" build "*) ;; *) exec "$real" "$@" ;; esac
"$real" "$@" &
child=$!
sleep 1
kill -9 "$child"
kill -9 $$
""")
    (killer / "nix").chmod(0o755)
    env = {"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "slow"}
    res = uvx(sim, FIND, cwd=project_dir, env=env, path_prepend=[killer])
    line = _one_error_line(res, 73)
    assert "nix was killed by signal 9" in line
    assert _lock(project_dir) is None
    assert not _temp_files(project_dir, sim.home)
    res = uvx(sim, FIND, cwd=project_dir, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith("/nix/store/")
    lock = (project_dir / "uvx-nix.lock").read_text()
    assert 'attribute = "slow"' in lock
    assert os.readlink(project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux").startswith(
        "/nix/store/")


@pytest.mark.usefixtures("untraced")
def test_sigint_during_resolution(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir, slow_seconds=8)
    first = uvx(sim, FIND, cwd=project_dir, env={"UVX_NIX_NIXPKGS": str(pkgs)})
    assert first.returncode == 0, first.stderr
    before = _lock(project_dir)
    driver = (
        "set -m\n"
        "uvx-nix python find > out 2> err &\n"
        "pid=$!\n"
        # Interrupt while Nix runs, however long start-up takes on a loaded machine: uvx-nix
        # opens the run's log file just before it starts Nix.
        "for i in $(seq 300); do\n"
        "  for f in \"$XDG_CACHE_HOME\"/uvx-nix/logs/*.log; do [ -e \"$f\" ] && break 2; done\n"
        "  sleep 0.1\n"
        "done\n"
        "sleep 0.5\n"
        "kill -INT -- -$pid\n"
        "wait $pid\n"
        "echo $? > rc\n"
    )
    sim.run(["bash", "-c", driver], cwd=project_dir, path_prepend=[uv_bin(sim)],
            env={"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "slow"}, check=True)
    err = (project_dir / "err").read_text()
    assert (project_dir / "rc").read_text().strip() == "130", err
    assert "Traceback" not in err
    assert (project_dir / "out").read_text() == ""
    assert _lock(project_dir) == before, "an interrupted resolution must not touch the lock"
    assert not _temp_files(project_dir, sim.home)
    # Nothing left locked or half-done: the next call resolves and runs.
    res = uvx(sim, FIND, cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "slow"})
    assert res.returncode == 0, res.stderr
    assert 'attribute = "slow"' in (project_dir / "uvx-nix.lock").read_text()


def _fill(fd: int) -> None:
    while True:
        os.write(fd, b"\0" * 4096)


@pytest.fixture
def tiny_fs(project_dir: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted on the host (root), used as the project directory."""
    mount = project_dir / "tiny"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"cannot mount a tmpfs (the tests run as root): {res.stderr}"
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _call_on_a_full_disk(sim: Sim, project: Path) -> tuple[bytes | None,
                                                          subprocess.CompletedProcess[str]]:
    """A good lock, then the file system fills up, then an input change needs a new lock."""
    write_project(project)
    (project / ".python-version").write_text("3.13\n")
    res = uvx(sim, FIND, cwd=project)
    assert res.returncode == 0, res.stderr
    before = _lock(project)
    assert before is not None
    fd = os.open(project / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with pytest.raises(OSError, match="No space left"):
            _fill(fd)
    finally:
        os.close(fd)
    return before, uvx(sim, FIND, cwd=project, env={"UVX_NIX_LIBRARIES": "openssl"})


def test_no_space_left_when_writing_the_lock(sim: Sim, tiny_fs: Path) -> None:
    before, res = _call_on_a_full_disk(sim, tiny_fs)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith(f"{sim.pkgs['python313']}/bin/python3")
    assert "could not write" in res.stderr
    assert "No space left on device" in res.stderr
    assert "Traceback" not in res.stderr
    assert _lock(tiny_fs) == before, "the old lock must be untouched"
    assert not _temp_files(tiny_fs, sim.home)


def test_the_lock_is_written_once_space_is_back(sim: Sim, tiny_fs: Path) -> None:
    _, res = _call_on_a_full_disk(sim, tiny_fs)
    assert res.returncode == 0, res.stderr
    (tiny_fs / "filler").unlink()
    res = uvx(sim, FIND, cwd=tiny_fs, env={"UVX_NIX_LIBRARIES": "openssl"})
    assert res.returncode == 0, res.stderr
    assert 'attribute = "openssl"' in (tiny_fs / "uvx-nix.lock").read_text()


def test_lost_gc_root_and_cache_are_recreated(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.13\n")
    first = uvx(sim, FIND, cwd=project_dir)
    assert first.returncode == 0, first.stderr
    lock = _lock(project_dir)
    root = project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux"
    # The GC root dir and the hot cache gone (`git clean -xdf`, a cache cleaner).
    subprocess.run(["rm", "-rf", str(project_dir / ".uvx-nix"),
                    str(sim.home / ".cache" / "uvx-nix" / "hot")], check=True)
    res = uvx(sim, FIND, cwd=project_dir)
    assert res.returncode == 0, res.stderr
    assert res.stdout == first.stdout
    assert _lock(project_dir) == lock
    assert sim.pkgs["python313"] in (Path(os.readlink(root)) / "manifest.nix").read_text()
    # The whole user cache gone: the lock is no longer known as verified on this machine, so it
    # is checked again (the simulation's registry nixpkgs is a path outside the store, which
    # needs trust when unverified: CI's UVX_NIX_TRUST=1 gives it).
    subprocess.run(["rm", "-rf", str(sim.home / ".cache" / "uvx-nix")], check=True)
    res = uvx(sim, FIND, cwd=project_dir, env={"UVX_NIX_TRUST": "1"})
    assert res.returncode == 0, res.stderr
    assert res.stdout == first.stdout
    assert _lock(project_dir) == lock


def test_uvx_nix_uv_pointing_at_the_wrapper_is_a_loop(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    res = uvx(sim, ["--version"], cwd=project_dir,
              env={"UVX_NIX_UV": f"{sim.repo}/{WRAPPER}"})
    line = _one_error_line(res, 75)
    assert "call each other in a loop" in line


def test_uvx_nix_uv_not_executable(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / "uv").write_text("not a program")
    res = uvx(sim, FIND, cwd=project_dir, env={"UVX_NIX_UV": str(project_dir / "uv")})
    line = _one_error_line(res, 75)
    assert "UVX_NIX_UV points at" in line
