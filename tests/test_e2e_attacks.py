"""Attacks by a cloned repository, each run end to end in the simulation (SECURITY.md's table).

The repository is the attacker: it controls every file in the project directory, including a
committed `uvx-nix.lock` it made on its own machine. The user only runs ordinary commands.
Where an attack would run code, its Nix expression creates a store file named by a fresh token
(`builtins.toFile`): that file existing is the proof the code ran.
"""

from __future__ import annotations

import glob
import re
import uuid
from pathlib import Path

import pytest

from e2e import uvx, write_project
from helpers.sim import Sim

pytestmark = pytest.mark.sim


def _token() -> str:
    return uuid.uuid4().hex[:16]


def _ran(token: str) -> bool:
    """The attacker's Nix code was evaluated: the store file it creates exists."""
    return bool(glob.glob(f"/nix/store/*-uvxnix-pwned-{token}"))


def _evil_nixpkgs(sim: Sim, directory: Path, token: str) -> None:
    """A nixpkgs look-alike in the repository: it behaves like the real one (so a re-check of
    the lock passes), and leaves a marker in the store when evaluated."""
    directory.mkdir(exist_ok=True)
    (directory / "default.nix").write_text(
        f'args: builtins.seq (builtins.toFile "uvxnix-pwned-{token}" "ran")\n'
        f'  (import {sim.nixpkgs_dir} args)\n')


def _attackers_lock(sim: Sim, project: Path, elsewhere: Path, nixpkgs_table: str) -> None:
    """A lock as the attacker commits it: written by a real uvx-nix on the attacker's machine
    (another HOME, permission given), then its [nixpkgs] table replaced."""
    home = sim.home
    sim.reset_home(elsewhere)
    uvx(sim, ["nix", "lock"], cwd=project, env={"UVX_NIX_TRUST": "1"}, check=True)
    sim.reset_home(home)
    lock = project / "uvx-nix.lock"
    text = lock.read_text()
    start = text.index("[nixpkgs]")
    end = text.index("[systems", start)
    lock.write_text(text[:start] + "[nixpkgs]\n" + nixpkgs_table + "\n" + text[end:])
    for name in (".uvx-nix", ".venv"):
        path = project / name
        if path.exists():
            import shutil

            shutil.rmtree(path)


EVIL_PATH = 'kind = "path"\nurl = "/proc/self/cwd/evil"\n'


def test_f1_allow_approves_exactly_the_source_shown(sim: Sim, project_dir: Path,
                                                    tmp_path: Path) -> None:
    """F1: pyproject.toml names a source the user reviews; the committed lock claims that
    source in [inputs] but pins another one. The message must name what would be evaluated,
    and allowing the reviewed source must not allow the lock's."""
    reviewed = f"path:{sim.nixpkgs_dir}"
    write_project(project_dir, extra=f'\n[tool.uvx-nix]\nnixpkgs = "{reviewed}"\n')
    token = _token()
    _evil_nixpkgs(sim, project_dir / "evil", token)
    _attackers_lock(sim, project_dir, tmp_path / "attacker", EVIL_PATH)

    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert "'/proc/self/cwd/evil'" in res.stderr  # what would run, not only what was reviewed
    assert len(res.stderr.splitlines()) == 1
    # The user allows the source they reviewed, by name: that is all they approve.
    res = uvx(sim, ["nix", "allow", reviewed], cwd=project_dir)
    assert res.returncode == 0, res
    assert res.stderr.splitlines() == [
        f"Allowed nixpkgs source '{reviewed}' for {project_dir}"]
    for args in (["sync"], ["run", "python", "-c", "pass"], ["nix", "lock"], ["nix", "env"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 76, (args, res)
        assert "'/proc/self/cwd/evil'" in res.stderr
    assert not _ran(token)
    assert not (project_dir / ".venv").exists()
    # `allow` alone approves exactly the one source the message named, and says so once.
    res = uvx(sim, ["nix", "allow"], cwd=project_dir)
    assert res.returncode == 0, res
    assert res.stderr.splitlines() == [
        f"Allowed nixpkgs source '/proc/self/cwd/evil' (pinned by {project_dir}/uvx-nix.lock) "
        f"for {project_dir}"]


def test_f2_deny_and_trust_leave_no_lasting_permission(sim: Sim, project_dir: Path,
                                                       tmp_path: Path) -> None:
    """F2: a lock that once passed its check (allowed, or in a UVX_NIX_TRUST=1 run) is not a
    permission: after the trusted run and after `deny`, the next call asks again, also after
    the inputs change (a `git pull`), and the repository's code is not evaluated."""
    write_project(project_dir)  # the user's own nixpkgs (the registry's)
    first = _token()
    _evil_nixpkgs(sim, project_dir / "evil", first)
    _attackers_lock(sim, project_dir, tmp_path / "attacker", EVIL_PATH)
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert not _ran(first)

    # One CI-style run: trusted for that run only.
    uvx(sim, ["sync"], cwd=project_dir, env={"UVX_NIX_TRUST": "1"}, check=True)
    assert _ran(first)
    for args in (["sync"], ["run", "python", "-c", "pass"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 76, (args, res)

    # allow, then deny: deny takes back everything allow gave.
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    res = uvx(sim, ["nix", "deny"], cwd=project_dir, check=True)
    assert "Revoked nixpkgs source '/proc/self/cwd/evil'" in res.stderr
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res

    # A `git pull` changes the inputs and the repository's Nix code: still not evaluated.
    second = _token()
    _evil_nixpkgs(sim, project_dir / "evil", second)
    write_project(project_dir, extra='\n[tool.uvx-nix]\nlibraries = ["openssl"]\n')
    for args in (["sync"], ["nix", "lock"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 76, (args, res)
    assert not _ran(second)
    assert re.search(r"uvx-nix nix allow", res.stderr)
