"""Helpers shared by the end-to-end tests that run uvx-nix inside the NixOS simulation."""

from __future__ import annotations

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
