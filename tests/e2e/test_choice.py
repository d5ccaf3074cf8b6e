"""Issue: the interpreter uv would choose.  A differential property test in the simulation.

A seeded generator builds layouts (no project, a project, workspaces whose members have their
own requires-python; ``.python-version``/``.python-versions`` pins above the workspace, at its
root, in a member, in a subdirectory and globally; PEP 723 scripts as files and on stdin;
``--python``, ``UV_PYTHON``, ``--no-config``, managed-python flags and variables,
``python-preference`` in uv.toml).  For each, uvx-nix must use exactly the interpreter plain uv
uses when every interpreter of the look-alike nixpkgs is on its search path, nixpkgs' default
``python3`` first (as in a NixOS profile, where ``python3`` and ``python`` are the default):
both fail, or both run the same store path.

``UVX_NIX_CHOICE_CASES`` and ``UVX_NIX_CHOICE_SEED`` change how many cases run and from which
seed (CI runs a new seed each day; a failure prints the seed and the case).
"""

from __future__ import annotations

import datetime
import json
import os
import random
from pathlib import Path
from typing import Any

from helpers.e2e import uv_bin
from helpers.sim import Sim

DRIVER = Path(__file__).parents[1] / "helpers" / "choice_driver.py"
PRINT = "import sys; print(sys.base_prefix)"
PINS = ["3.10", "3.11", "3.12", "3.13", "3.9", "3", "3.12.1", "3.11.7", "3.13.0", ">=3.11",
        "<3.12", ">=3.12,<3.13", "cpython@3.11", "cp313", "python3.10", "pypy@3.10", "",
        "# a comment only", "3.14"]
REQUIRES: list[str | None] = [None, ">=3.10", ">=3.11", ">=3.12", ">=3.13", "<3.12", "<3.13",
                              ">=3.11,<3.13", "==3.11.*", "~=3.11", ">3.12", "!=3.12.*",
                              ">=3.14", "<3.11"]
REQUESTS = ["3.11", "3.13", ">=3.11", "<3.13", "3.10", "3.9", "cpython@3.12"]


def _pyproject(name: str, requires: str | None, extra: str = "") -> str:
    text = f'[project]\nname = "{name}"\nversion = "0.1.0"\n'
    if requires is not None:
        text += f'requires-python = "{requires}"\n'
    return text + extra


def _script(requires: str | None) -> str:
    meta = "# /// script\n"
    if requires is not None:
        meta += f'# requires-python = "{requires}"\n'
    meta += "# dependencies = []\n# ///\n"
    return meta + PRINT + "\n"


def _pin_text(rng: random.Random) -> str:
    first = rng.choice(PINS)
    if rng.random() < 0.15:  # several lines: the first supported one counts
        return f"{first}\n{rng.choice(PINS)}\n"
    return first + "\n"


def generate(rng: random.Random, ident: int) -> dict[str, Any]:
    files: dict[str, str] = {}
    config: dict[str, str] = {}
    kind = rng.choices(["none", "project", "workspace"], [2, 4, 4])[0]
    dirs = ["."]
    if kind == "project":
        files["proj/pyproject.toml"] = _pyproject("proj", rng.choice(REQUIRES))
        dirs = [".", "proj", "proj/src"]
    elif kind == "workspace":
        members = rng.sample(["a", "b", "c"], rng.randint(1, 3))
        root_project = rng.random() < 0.7
        workspace = '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        files["ws/pyproject.toml"] = (_pyproject("root", rng.choice(REQUIRES), workspace)
                                      if root_project else workspace)
        for m in members:
            files[f"ws/packages/{m}/pyproject.toml"] = _pyproject(m, rng.choice(REQUIRES))
        dirs = [".", "ws", *(f"ws/packages/{m}" for m in members),
                *(f"ws/packages/{m}/src" for m in members)]
    for d in dirs:
        if rng.random() < 0.25:
            name = ".python-versions" if rng.random() < 0.1 else ".python-version"
            files[f"{d}/{name}"] = _pin_text(rng)
    if rng.random() < 0.35:
        config["config/uv/.python-version"] = _pin_text(rng)
    preference = ["only-system", "system", "managed", "only-managed"]
    if rng.random() < 0.1:
        where = rng.choice(["config/uv/uv.toml", "uv.toml"])
        text = f'python-preference = "{rng.choices(preference, [4, 3, 3, 1])[0]}"\n'
        if where == "uv.toml":
            files[f"{dirs[min(1, len(dirs) - 1)]}/uv.toml"] = text
        else:
            config[where] = text
    cwd = rng.choice(dirs[1:] if len(dirs) > 1 else dirs)
    env: dict[str, str] = {}
    flags: list[str] = []
    if rng.random() < 0.08:
        env["UV_PYTHON"] = rng.choice(REQUESTS)
    if rng.random() < 0.1:
        flags += ["--python", rng.choice(REQUESTS)]
    roll = rng.random()
    if roll < 0.15:
        env["UV_NO_MANAGED_PYTHON"] = rng.choice(["1", "true"])
    elif roll < 0.18:
        env["UV_MANAGED_PYTHON"] = "1"
    elif roll < 0.23:
        env["UV_PYTHON_PREFERENCE"] = rng.choice(["only-system", "system"])
    elif roll < 0.33:
        flags.append("--no-managed-python")
    elif roll < 0.35:
        flags.append("--managed-python")
    if rng.random() < 0.05:
        flags.append("--no-config")
    if rng.random() < 0.04:
        env["UV_NO_CONFIG"] = "1"
    mode = rng.choices(["find", "script-find", "stdin", "run", "run-script", "venv", "sync"],
                       [40, 12, 10, 10, 9, 10, 9])[0]
    if mode == "sync" and kind == "none":
        mode = "venv"
    stdin = None
    venv = ".venv"
    leading = flags if rng.random() < 0.3 else []  # global options before the command
    trailing = [] if leading else flags
    if cwd != "." and mode not in ("script-find", "run-script") and rng.random() < 0.2:
        # `uv --directory DIR ...` from the top of the tree.
        leading = ["--directory", cwd, *leading]
        run_from = "."
    else:
        run_from = cwd
    if mode == "find":
        args = [*leading, "python", "find", *trailing]
    elif mode == "script-find":
        rel = rng.choice(["s.py", "scripts/s.py"])
        files[f"{cwd}/{rel}"] = _script(rng.choice(REQUIRES))
        if rel.startswith("scripts/") and rng.random() < 0.5:
            files[f"{cwd}/scripts/.python-version"] = _pin_text(rng)
        args = [*leading, "python", "find", *trailing, "--script", rel]
    elif mode == "stdin":
        stdin = _script(rng.choice(REQUIRES))
        args = [*leading, "run", *trailing, "-"]
    elif mode == "run":
        args = [*leading, "run", *trailing, "python", "-c", PRINT]
    elif mode == "run-script":
        rel = rng.choice(["s.py", "scripts/s.py"])
        files[f"{cwd}/{rel}"] = _script(rng.choice(REQUIRES))
        args = [*leading, "run", *trailing, rel]
    elif mode == "venv":
        venv = f"{cwd}/v"
        args = [*leading, "venv", *trailing, "v"]
    else:
        venv = f"{cwd.split('/')[0]}/.venv"  # the workspace root's (proj/ or ws/)
        args = [*leading, "sync", *trailing]
    kinds = {"find": "find", "script-find": "find", "venv": "venv", "sync": "venv"}
    return {"id": ident, "files": files, "config": config, "cwd": run_from, "env": env,
            "args": args, "stdin": stdin, "mode": kinds.get(mode, "run"), "venv": venv}


def _seed() -> int:
    if os.environ.get("UVX_NIX_CHOICE_SEED"):
        return int(os.environ["UVX_NIX_CHOICE_SEED"])
    return int(datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d"))


def _search_path(sim: Sim) -> str:
    """Every interpreter of the look-alike, nixpkgs' default python3 (python312) first."""
    names = sorted((n for n in sim.pkgs if n.startswith("python3") and n[7:].isdigit()),
                   key=lambda n: int(n[7:]), reverse=True)
    default = "python312"
    ordered = [default, *(n for n in names if n != default)]
    return ":".join(f"{sim.pkgs[n]}/bin" for n in ordered)


def test_uvx_nix_chooses_what_plain_uv_chooses(sim: Sim, project_dir: Path) -> None:
    seed = _seed()
    count = int(os.environ.get("UVX_NIX_CHOICE_CASES", "200"))
    rng = random.Random(seed)  # noqa: S311 - a reproducible generator, not a secret
    cases = [generate(rng, i) for i in range(count)]
    spec = {"base": str(project_dir), "uv": f"{uv_bin(sim)}/uv",
            "search_path": _search_path(sim), "cases": cases}
    res = sim.run([f"{sim.pkgs['python311']}/bin/python3", str(DRIVER)], cwd=project_dir,
                  input=json.dumps(spec), path_prepend=[uv_bin(sim)], timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    results = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(results) == count, res.stderr[-3000:]
    by_id = {c["id"]: c for c in cases}
    disagreements = [r for r in results if r["uvx-nix"]["outcome"] != r["uv"]["outcome"]]
    report = [json.dumps({"case": by_id[r["id"]], "uvx-nix": r["uvx-nix"], "uv": r["uv"]},
                         indent=1) for r in disagreements[:5]]
    assert not disagreements, (f"seed {seed}: {len(disagreements)} of {count} cases "
                               "disagree; first ones:\n" + "\n".join(report))
    # The generator reaches every kind of outcome: some runs succeed on each interpreter,
    # some fail in both.
    outcomes = {r["uv"]["outcome"] for r in results}
    assert "error" in outcomes
    assert sum(1 for o in outcomes if o.startswith("/nix/store/")) >= 3, outcomes
    for kind in ("find", "run", "venv"):
        assert any(r["uv"]["outcome"].startswith("/nix/store/") for r in results
                   if by_id[r["id"]]["mode"] == kind), kind
