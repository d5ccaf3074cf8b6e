"""Drive the NixOS simulation (sim/, set up by scripts/setup-sim) from tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIM_DIR = REPO / "sim"
BUILD = SIM_DIR / ".build"
LAUNCHER = SIM_DIR / "nixos-run"
SETUP = REPO / "scripts" / "setup-sim"
SW_BIN = "/run/current-system/sw/bin"
XDG_DIRS = {
    "XDG_CACHE_HOME": ".cache",
    "XDG_CONFIG_HOME": ".config",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
}

Bind = Path | str | tuple[Path | str, Path | str]


def make_home(path: Path) -> Path:
    """Create a HOME with its XDG dirs."""
    for rel in XDG_DIRS.values():
        (path / rel).mkdir(parents=True, exist_ok=True)
    return path


def home_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), **{k: str(home / v) for k, v in XDG_DIRS.items()}}


class Sim:
    """The set-up simulation: store paths of the look-alike and a runner for the root."""

    def __init__(self, home: Path) -> None:
        info = json.loads((BUILD / "sim.json").read_text())
        self.pkgs: dict[str, str] = dict(info["pkgs"])
        self.nixpkgs_dir = Path(info["nixpkgs"])
        self.repo = REPO
        self.launcher = LAUNCHER
        self.home = make_home(home)
        self.extra_binds: list[Bind] = []

    def reset_home(self, home: Path) -> Path:
        """Use a fresh HOME (bound at the same path) for the following runs."""
        self.home = make_home(home)
        self.extra_binds = []
        return self.home

    def bin(self, attr: str, prog: str) -> str:
        """Store path of ``prog`` in package ``attr``, e.g. ``sim.bin("uv", "uv")``."""
        return f"{self.pkgs[attr]}/bin/{prog}"

    def argv(
        self,
        args: Sequence[str],
        *,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        binds: Sequence[Bind] = (),
        path_prepend: Sequence[Path | str] = (),
    ) -> list[str]:
        """The host command line that runs ``args`` inside the root."""
        cmd = [sys.executable, str(self.launcher)]
        for b in [*self.extra_binds, *binds]:
            src, dest = (b, b) if isinstance(b, (str, Path)) else b
            cmd += ["--bind", str(src), str(dest)]
        full_env = home_env(self.home)
        full_env.update(env or {})
        for k, v in full_env.items():
            cmd += ["--setenv", k, v]
        for p in path_prepend:
            cmd += ["--path-prepend", str(p)]
        if cwd is not None:
            cmd += ["--chdir", str(cwd)]
        return [*cmd, "--", *args]

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | str,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        binds: Sequence[Bind] = (),
        path_prepend: Sequence[Path | str] = (),
        check: bool = False,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` inside the root with ``cwd`` (a host dir, bound at the same path)."""
        host_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        res = subprocess.run(
            self.argv(args, cwd=cwd, env=env, binds=binds, path_prepend=path_prepend),
            input=input,
            capture_output=True,
            text=True,
            # Nix prints store and GC-root paths as bytes: a non-UTF-8 directory name left by
            # another test must not crash this one's decoding.
            errors="surrogateescape",
            timeout=timeout,
            check=False,
            env=host_env,
        )
        if check and res.returncode != 0:
            raise AssertionError(
                f"in sim: {list(args)} exited {res.returncode}\n"
                f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
            )
        return res

    def nix_eval(self, expr_attr: str, *, cwd: Path | str) -> object:
        """``nix eval --json`` of an installable inside the root."""
        res = self.run(
            ["nix", "--extra-experimental-features", "nix-command flakes", "eval", "--json",
             expr_attr],
            cwd=cwd, check=True,
        )
        return json.loads(res.stdout)

    def recording_nix(self, log_path: Path) -> Path:
        """A dir of ``nix``/``nix-store``/``nix-build``/``nix-instantiate`` wrappers that append
        ``<name> <args>`` to log_path then exec the real one; prepend it to PATH inside (it and
        the log's directory are bound automatically from now on)."""
        log_path = log_path.resolve()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
        d = log_path.parent / f"{log_path.name}.bin"
        d.mkdir(exist_ok=True)
        for name in ("nix", "nix-store", "nix-build", "nix-instantiate"):
            script = d / name
            script.write_text(
                f"#!{SW_BIN}/bash\n"
                f'printf "%s\\n" "{name} $*" >> {log_path}\n'
                f'exec {self.pkgs["nix"]}/bin/{name} "$@"\n'
            )
            script.chmod(0o755)
        self.extra_binds.append(log_path.parent)
        return d


def setup_sim() -> subprocess.CompletedProcess[str]:
    """Run scripts/setup-sim (cached; a few seconds when nothing changed)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HOME"] = os.environ.get("UVX_NIX_REAL_HOME", env.get("HOME", "/root"))
    return subprocess.run(
        [str(SETUP)], capture_output=True, text=True, check=False, env=env, timeout=900
    )


# Nix settings for the nix processes tests start on the host (outside the simulated root):
# single-user root builds whatever the machine's nix.conf says (a fresh Debian has no `nixbld`
# group), no sandbox (the look-alike's builders reach /nix/var/simglibc), no binary cache.
HOST_NIX_CONFIG = "build-users-group =\nsandbox = false\nsubstituters =\n"
