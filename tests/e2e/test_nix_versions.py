"""Where Nix 2.8 and current Nix differ, end to end inside the simulation.

The suite runs under both (Debian 12's nix-bin 2.8 on the host, Debian 13's 2.26 in the matrix
leg), so each test here proves the product under the Nix it runs on, with what the other one
writes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import tomlkit

from helpers.e2e import nix_calls, uvx, write_project
from helpers.sim import Sim

PRINT_PREFIX = ["run", "python", "-c", "import sys; print(sys.base_prefix)"]


def _spell(nar: str, nix: str) -> str:
    """A narHash as `nix flake metadata --json` puts it in `url` (checked on 2.8.0 and 2.26.3)."""
    if nix == "2.8":
        return nar.replace("/", "%2f")
    return nar.replace("+", "%2B").replace("=", "%3D")


def _locked_url(project: Path) -> str:
    doc = tomlkit.parse((project / "uvx-nix.lock").read_text())
    return str(doc["nixpkgs"]["url"])


def test_the_lock_spells_the_nar_hash_one_way(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True)
    url = _locked_url(project_dir)
    query = dict(part.split("=", 1) for part in url.partition("?")[2].split("&"))
    # Fully percent-encoded, whichever Nix wrote it: no raw '+', '/' or '='.
    assert re.fullmatch(r"sha256-[A-Za-z0-9]*(%2B|%2F|[A-Za-z0-9])*%3D", query["narHash"]), url


@pytest.mark.parametrize("writer", ["2.8", "2.26"])
def test_a_lock_written_by_either_nix_is_trusted_and_realised(
        sim: Sim, project_dir: Path, tmp_path: Path, writer: str) -> None:
    write_project(project_dir)
    # Not 3.11: the simulation runs uvx-nix itself on the look-alike's python311.
    (project_dir / ".python-version").write_text("3.13\n")
    uvx(sim, PRINT_PREFIX, cwd=project_dir, check=True)
    meta = json.loads(sim.run(["nix", "flake", "metadata", "--json", _locked_url(project_dir)],
                              cwd=project_dir, check=True).stdout)
    nar = meta["locked"]["narHash"]
    # The form a flake-built NixOS registry gives: the nixpkgs source in the store, with the
    # narHash spelled as the writer's Nix spells it.
    url = (f"path:{meta['path']}?lastModified={meta['locked']['lastModified']}"
           f"&narHash={_spell(nar, writer)}")
    lock_path = project_dir / "uvx-nix.lock"
    doc = tomlkit.parse(lock_path.read_text())
    doc["nixpkgs"]["url"] = url
    lock_path.write_text(tomlkit.dumps(doc))
    committed = lock_path.read_text()
    # A teammate's clone: no venv, no per-machine state, nothing verified or cached.
    shutil.rmtree(project_dir / ".venv")
    shutil.rmtree(project_dir / ".uvx-nix")
    shutil.rmtree(sim.home / ".cache" / "uvx-nix")
    # A store path from someone else's lock is not safe for being in the store: the teammate
    # is asked once, and the source named is the lock's, whichever Nix spelled it.
    refused = uvx(sim, PRINT_PREFIX, cwd=project_dir)
    assert refused.returncode == 76, refused.stderr
    assert meta["path"] in refused.stderr
    assert "uvx-nix nix allow" in refused.stderr
    assert refused.stderr.count("\n") == 1
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    res = uvx(sim, PRINT_PREFIX, cwd=project_dir, path_prepend=[rec])
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sim.pkgs["python313"]
    calls = nix_calls(log)
    assert len(calls) == 1, calls  # realised from the lock: one build, no re-lock
    assert " build " in calls[0]
    assert "flake metadata" not in calls[0]
    assert lock_path.read_text() == committed
