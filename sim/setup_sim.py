"""The Python half of scripts/setup-sim: one entry point, one subcommand per step.

Usage: python3 sim/setup_sim.py COMMAND [ARGS...]

  collect                    stage the host programs as store sources (collect.py)
  check KEY                  exit 0 if the look-alike in sim.json was built from KEY and all its
                             outputs are still valid store paths
  record KEY BUILT INFO DIR  root every output (INFO: `nix eval --json .#simInfo`) and every
                             source in DIR, then write sim.json (BUILT: `nix build --json .#simAll`)
  get NAME                   print the store path of the look-alike's package NAME
  wrapper-python             print the look-alike's CPython of this Python's version
  etc                        generate the simulated /etc (mketc.py)

scripts/setup-sim runs it with the host's python3 and ``PYTHONPATH=src``: the collector reads ELF
files with uvx-nix's own reader. A failure prints one ``setup-sim: error:`` line and exits 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import collect
import mketc

INFO = collect.BUILD / "sim.json"


def fail(msg: str) -> int:
    print(f"setup-sim: error: {msg}", file=sys.stderr)
    return 1


def load_info() -> dict[str, Any]:
    info: dict[str, Any] = json.loads(INFO.read_text())
    return info


def check(key: str) -> int:
    """0 when sim.json records ``key`` and every package it names is a valid store path."""
    try:
        info = load_info()
        if info["key"] != key:
            return 1
        paths = list(info["pkgs"].values())
    except (OSError, ValueError, KeyError, AttributeError):
        return 1
    res = subprocess.run(["nix-store", "--check-validity", *paths],
                         capture_output=True, check=False)
    return 0 if res.returncode == 0 else 1


def record(key: str, built: str, pkgs_json: str, roots: str) -> int:
    """Root each output and source on its own (not through simAll, whose references would block
    `nix-store --delete --ignore-liveness` of a single package in tests that rebuild it), then
    write sim.json."""
    pkgs: dict[str, str] = json.loads(pkgs_json)
    sources = json.loads(collect.SOURCES_JSON.read_text())["sources"]
    for name, path in [*pkgs.items(), *((f"src-{k}", v["path"]) for k, v in sources.items())]:
        if name != "simAll":
            os.symlink(path, os.path.join(roots, name))
    info = {"key": key, "all": json.loads(built)[0]["outputs"]["out"], "pkgs": pkgs,
            "nixpkgs": str(collect.NIXPKGS)}
    INFO.write_text(json.dumps(info, indent=2, sort_keys=True))
    return 0


def get(name: str) -> int:
    path = load_info()["pkgs"].get(name)
    if not path:
        return fail(f"the look-alike has no package {name}")
    print(path)
    return 0


def wrapper_python() -> int:
    """The wrapper runs inside on the look-alike's CPython of the host Python's version (the same
    build, so the .pyc files setup-sim compiles are valid for both)."""
    name = "python{}{}".format(*sys.version_info[:2])
    path = load_info()["pkgs"].get(name)
    if not path:
        return fail(f"the look-alike has no {name}, the version of {sys.executable}, to run "
                    "the wrapper")
    print(path)
    return 0


def main(argv: list[str]) -> int:
    commands = {"collect": 0, "check": 1, "record": 4, "get": 1, "wrapper-python": 0, "etc": 0}
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]]:
        return fail(f"unknown command or wrong arguments: {' '.join(argv)}\n{__doc__}")
    command, args = argv[0], argv[1:]
    if command == "collect":
        return collect.main()
    if command == "etc":
        mketc.main()
        return 0
    if command == "check":
        return check(*args)
    if command == "record":
        return record(*args)
    if command == "get":
        return get(*args)
    return wrapper_python()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
