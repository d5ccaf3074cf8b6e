"""The compiled launcher inside the simulation, with the real uv, Nix and state: a hit starts
no Python, and everything else reaches the Python implementation.

The launcher here is built as scripts/setup-sim builds it, but its Python entry point is a
script that first notes each hand-over in a log, so the test sees which calls Python made.
(The whole end-to-end suite also runs with the launcher in front: UVX_NIX_TEST_LAUNCHER=1.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from helpers.e2e import uv_bin, uvx, write_project
from helpers.sim import Sim
from uvx_nix import launcher

ENTRY = "sim/.build/python-bin/uvx-nix"


def _launcher(sim: Sim, where: Path, log: Path) -> Path:
    entry = where / "noting-entry"
    entry.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {sim.repo / ENTRY} "$@"\n')
    entry.chmod(0o755)
    out = where / "uvx-nix"
    launcher.build("gcc", str(out), str(entry))
    glibc = sim.pkgs["glibc"]
    subprocess.run(["patchelf", "--set-interpreter", f"{glibc}/lib/ld-linux-x86-64.so.2",
                    "--set-rpath", f"{glibc}/lib", str(out)], check=True)
    return out


def test_a_hit_starts_no_python(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    tools = project_dir / ".tools"
    tools.mkdir()
    log = tools / "handed-over.log"
    exe = _launcher(sim, tools, log)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return sim.run([str(exe), *args], cwd=project_dir, check=True,
                       path_prepend=[uv_bin(sim)])

    def handed_over() -> list[str]:
        return log.read_text().splitlines() if log.exists() else []

    prefix = ["run", "python", "-c", "import sys; print(sys.base_prefix)"]
    run("sync")  # a miss: Python resolves with Nix and writes the state
    for _ in range(3):  # the venv changed (uv made it): Python looks at what was installed
        run(*prefix)
    warm = handed_over()
    assert warm[:2] == ["sync", " ".join(prefix)]
    res = run(*prefix)
    assert re.fullmatch(r"/nix/store/[a-z0-9]{32}-python3-3\.\d+\.\d+\n", res.stdout)
    assert run(*prefix).stdout == res.stdout
    assert run("--version").stdout.startswith("uv ")  # uv's own, no interpreter needed
    assert handed_over() == warm  # the hits and the pass-through started no Python
    # An input changed: a miss, handed over, same interpreter.
    (project_dir / "pyproject.toml").write_text(
        (project_dir / "pyproject.toml").read_text() + "# edited\n")
    assert run(*prefix).stdout == res.stdout
    assert handed_over() == [*warm, " ".join(prefix)]
    # uvx-nix's own commands are Python's, as the name it was called by.
    assert run("nix", "--version").stdout.startswith("uvx-nix ")
    assert handed_over()[-1] == "nix --version"
    # Called as uvx: `uvx --version` is the real uvx's own.
    (tools / "uvx").symlink_to("uvx-nix")
    uvx = sim.run([str(tools / "uvx"), "--version"], cwd=project_dir, check=True,
                  path_prepend=[uv_bin(sim)])
    assert uvx.stdout.startswith("uvx ")
    assert handed_over()[-1] == "nix --version"


def test_install_launcher_compiles_with_the_nixpkgs_compiler(sim: Sim,
                                                             project_dir: Path) -> None:
    """On NixOS, `uvx-nix nix install-launcher` builds `stdenv.cc` of the configured nixpkgs
    (the look-alike's wrapped compiler) and compiles the launcher with it; the result starts
    on NixOS and serves a synced project's hit."""
    write_project(project_dir)
    where = sim.home / "launcher-bin"
    res = uvx(sim, ["nix", "install-launcher", "--dir", str(where)], cwd=project_dir)
    assert res.returncode == 0, res.stderr
    exe = where / "uvx-nix"
    assert exe.is_file()
    # Linked against the store's glibc by nixpkgs' compiler: NixOS can start it.
    interp = subprocess.run(["patchelf", "--print-interpreter", str(exe)], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert interp.startswith("/nix/store/"), interp
    prefix = ["run", "python", "-c", "import sys; print(sys.base_prefix)"]
    first = sim.run([str(exe), *prefix], cwd=project_dir, path_prepend=[uv_bin(sim)])
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"/nix/store/[a-z0-9]{32}-python3-3\.\d+\.\d+\n", first.stdout)
    again = sim.run([str(exe), *prefix], cwd=project_dir, path_prepend=[uv_bin(sim)],
                    check=True)
    assert again.stdout == first.stdout
    plain = sim.run(["uv", "--version"], cwd=project_dir, path_prepend=[uv_bin(sim)],
                    check=True)
    assert sim.run([str(exe), "--version"], cwd=project_dir, path_prepend=[uv_bin(sim)],
                   check=True).stdout == plain.stdout
