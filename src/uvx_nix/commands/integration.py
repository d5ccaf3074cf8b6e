"""``uvx-nix nix shell-init [bash|zsh|fish]`` and ``uvx-nix nix direnv-lib``.

The shell code lives in ``shell-integration/`` (one file per shell, and
``direnv/uvnix.sh``); this module prints it.  ``shell-init`` puts two
assignments in front of the file: the absolute path of this uvx-nix (so the
``uv``/``uvx`` functions work whatever the PATH order) and the path of uv's
completion script, cached per real uv binary so a shell start runs no uv.

Not on the hot path: psutil is imported only to detect the shell.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from uvx_nix import execute, files, paths
from uvx_nix.commands import usage
from uvx_nix.errors import EXIT_CONFIG, UserError

if TYPE_CHECKING:
    import psutil

SHELLS = ("bash", "zsh", "fish")
FILES = {"bash": "uvx-nix.bash", "zsh": "uvx-nix.zsh", "fish": "uvx-nix.fish"}
DIRENV_LIB = "direnv/uvnix.sh"
# Processes between the shell and this code: the wrapper's interpreter, uvx-nix
# itself (also under its shim names), and launchers that exec into it.
_SKIPPED = frozenset({"uvx-nix", "uv", "uvx", "env"})  # and python*
_MAX_DEPTH = 16


def data_dir() -> Path:
    """The shipped ``shell-integration`` directory: package data, else the source tree."""
    packaged = Path(__file__).resolve().parents[1] / "shell-integration"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "shell-integration"


def _read(name: str) -> str:
    path = data_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"the shell integration file {path} is missing ({exc.strerror}); "
                        "reinstall uvx-nix", EXIT_CONFIG) from exc


def _shell_name(word: str) -> str:
    """``-bash`` (login shell), ``/bin/zsh``, ``.fish-wrapped`` -> the bare name."""
    name = os.path.basename(word).lstrip("-")
    if name.startswith(".") and name.endswith("-wrapped"):
        name = name[1:-len("-wrapped")]
    return name


def _skipped(name: str) -> bool:
    return name.startswith("python") or name in _SKIPPED


def _process_names(proc: psutil.Process) -> list[str]:
    names: list[str] = []
    try:
        names.append(_shell_name(proc.name()))
        cmdline = proc.cmdline()
        if cmdline:
            names.append(_shell_name(cmdline[0]))
    except (psutil.AccessDenied, psutil.ZombieProcess):
        pass
    return names


def detect_shell(environ: Mapping[str, str]) -> str:
    """The shell that runs us: walk up from our parent, past uvx-nix's own processes.

    A process that is neither a known shell nor one of ours (``sh -c``, tmux,
    sshd) ends the walk; then ``$SHELL`` decides.
    """
    try:
        proc = psutil.Process().parent()
        for _ in range(_MAX_DEPTH):
            if proc is None:
                break
            names = _process_names(proc)
            found = next((n for n in names if n in SHELLS), None)
            if found:
                return found
            if not names or not any(_skipped(n) for n in names):
                break
            proc = proc.parent()
    except psutil.Error:
        pass
    login = _shell_name(environ.get("SHELL", ""))
    if login in SHELLS:
        return login
    raise UserError(
        "could not tell which shell to set up (the parent process is not bash, zsh or fish, "
        f"and SHELL is {environ.get('SHELL', 'unset')!r}); name it: "
        "uvx-nix nix shell-init bash|zsh|fish", EXIT_CONFIG)


def own_executable(environ: Mapping[str, str], argv0: str | None = None) -> str:
    """The absolute path of the uvx-nix executable the shell functions should call."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if os.path.basename(argv0) == "uvx-nix" and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    found = shutil.which("uvx-nix", path=environ.get("PATH"))
    if found:
        return os.path.abspath(found)
    raise UserError("uvx-nix's own executable was not found (run shell-init as `uvx-nix nix "
                    "shell-init`, with uvx-nix on PATH)", EXIT_CONFIG)


def _uv_completion_commands(uv: str, shell: str) -> list[list[str]]:
    return [[uv, "generate-shell-completion", shell],
            [uv, "tool", "uvx", "--generate-shell-completion", shell]]


def completion_file(shell: str, uv: str, environ: Mapping[str, str]) -> Path | None:
    """uv's and uvx's completion scripts for ``shell``, generated once per uv binary.

    The key is the real uv's resolved path, size and mtime (a Nix store path
    names the version), so a cache hit costs one ``stat`` and no uv process.
    ``None`` when uv cannot generate them.
    """
    real = os.path.realpath(uv)
    try:
        st = os.stat(real)
    except OSError:
        return None
    key = paths.digest(f"{real}\0{st.st_size}\0{st.st_mtime_ns}")
    target = paths.cache_dir(environ) / "completions" / f"{shell}-{key}"
    if target.is_file():
        return target
    parts = []
    for cmd in _uv_completion_commands(uv, shell):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        if res.returncode != 0 or not res.stdout.strip():
            return None
        parts.append(res.stdout)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomic(target, "".join(parts).encode("utf-8"))
    except OSError:
        return None
    return target


def _assign(shell: str, name: str, value: str) -> str:
    if shell == "fish":
        return f"set -g {name} {shlex.quote(value)}\n"
    return f"{name}={shlex.quote(value)}\n"


def render(shell: str, environ: Mapping[str, str], argv0: str | None = None) -> str:
    """The integration for ``shell``: the shipped file after two assignments."""
    if shell not in SHELLS:
        raise UserError(f"unknown shell {shell!r}: shell-init supports bash, zsh and fish",
                        EXIT_CONFIG)
    body = _read(FILES[shell])
    own = own_executable(environ, argv0)
    head = [f"# uvx-nix nix shell-init {shell}\n", _assign(shell, "_uvx_nix_bin", own)]
    try:
        uv: str | None = execute.find_uv(environ, own=os.path.realpath(own))
    except UserError:
        uv = None
    cached = completion_file(shell, uv, environ) if uv else None
    if cached is not None:
        head.append(_assign(shell, "_uvx_nix_completions", str(cached)))
    return "".join(head) + body


def _parser(name: str) -> argparse.ArgumentParser:
    if name == "shell-init":
        parser = usage.Parser(
            prog="uvx-nix nix shell-init",
            description="Print shell code that routes `uv` and `uvx` through uvx-nix and loads "
                        "uv's completions for both. bash/zsh: eval \"$(uvx-nix nix shell-init)\"; "
                        "fish: uvx-nix nix shell-init fish | source.")
        parser.add_argument("shell", nargs="?", metavar="{bash,zsh,fish}",
                            help="the shell (default: the shell that runs this command)")
        return parser
    return usage.Parser(
        prog="uvx-nix nix direnv-lib",
        description="Print the direnv library that defines `use uvnix`. Install it with: "
                    "uvx-nix nix direnv-lib > \"${XDG_CONFIG_HOME:-$HOME/.config}"
                    "/direnv/lib/uvnix.sh\"")


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """Entry point for the delegated ``shell-init`` and ``direnv-lib`` commands."""
    parser = _parser(name)
    args = usage.parse(parser, argv)
    if args is None:
        return 0
    if name == "direnv-lib":
        sys.stdout.write(_read(DIRENV_LIB))
        return 0
    shell = args.shell or detect_shell(environ)
    sys.stdout.write(render(shell, environ))
    return 0
