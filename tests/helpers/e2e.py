"""Helpers shared by the end-to-end tests that run uvx-nix inside the NixOS simulation."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from helpers.sim import Sim


def uv_bin(sim: Sim) -> str:
    """The look-alike's uv bin dir: put on PATH inside so the wrapper finds the real uv."""
    return f"{sim.pkgs['uv']}/bin"


def uvx(sim: Sim, args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
        path_prepend: Sequence[Path | str] = (), check: bool = False,
        input: str | None = None, binds: Sequence[Path] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``uvx-nix ARGS`` inside the simulation, with the look-alike's uv on PATH."""
    return sim.run(["uvx-nix", *args], cwd=cwd, env=env, check=check, input=input,
                   path_prepend=[*path_prepend, uv_bin(sim)], binds=binds)


def plain_uv(sim: Sim, args: Sequence[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Plain uv with the environment uvx-nix gives uv here (`nix env --format json`: the same
    interpreter and libraries, without the build hook): what uv alone does with them."""
    given = json.loads(uvx(sim, ["nix", "env", "--format", "json"], cwd=cwd, check=True).stdout)
    return sim.run([f"{sim.pkgs['uv']}/bin/uv", *args], cwd=cwd,
                   env={k: v for k, v in given.items() if v is not None})


def nix_calls(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


def write_project(directory: Path, *, requires: str = ">=3.11", deps: Sequence[str] = (),
                  extra: str = "") -> Path:
    deps_text = ", ".join(f'"{d}"' for d in deps)
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = "{requires}"\n'
        f"dependencies = [{deps_text}]\n{extra}"
    )
    return directory


def local_nixpkgs(sim: Sim, directory: Path, packages: str, bindings: str = "") -> Path:
    """A test's own nixpkgs in ``directory``: the simulation's look-alike plus ``packages``
    (Nix attribute bindings).  Available to them: ``base`` (the look-alike), ``bb`` (its
    busybox) and ``mk name script`` (a derivation running ``script`` with busybox sh, with a
    fresh nonce, so it is never already in the store); ``bindings`` adds let-bindings."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "default.nix").write_text(f"""\
args:
let
  base = import {sim.nixpkgs_dir} args;
  bb = "${{base.busybox}}/bin/busybox";
  mk = name: script: derivation {{
    inherit name;
    system = base.system;
    builder = bb;
    args = [ "sh" "-c" script ];
    nonce = "{uuid.uuid4().hex}";
  }};
{bindings}in
base // {{
{packages}}}
""")
    return directory


def look_alike_files(sim: Sim) -> list[str]:
    """The look-alike's tree as a plain (non-flake) nixpkgs: every file but the flake's."""
    return sorted(p.name for p in sim.nixpkgs_dir.iterdir()
                  if p.is_file() and p.name not in ("flake.nix", "flake.lock"))


def copy_look_alike(sim: Sim, where: Path) -> Path:
    """A copy of the look-alike's files (its derivations, and so its store paths, are the
    same), with a token of its own so its store copy is this test's alone."""
    where.mkdir(parents=True)
    for name in look_alike_files(sim):
        (where / name).write_bytes((sim.nixpkgs_dir / name).read_bytes())
    (where / ".test-token").write_text(f"{where}\n")
    return where


def channel_nixpkgs(sim: Sim, tmp_path: Path, revision: str | None) -> dict[str, str]:
    """``<nixpkgs>`` as nix-channel unpacks a NixOS channel: the nixpkgs tree with the
    revision in .git-revision and a ``nixpkgs -> .`` link (nixos/lib/make-channel.nix)."""
    channel = copy_look_alike(sim, tmp_path / "channels" / "nixos")
    (channel / "nixpkgs").symlink_to(".")
    if revision is not None:
        (channel / ".git-revision").write_text(revision)
    sim.extra_binds.append(tmp_path / "channels")
    return {"NIX_PATH": f"nixpkgs={channel}", "UVX_NIX_NIXPKGS": "<nixpkgs>"}
