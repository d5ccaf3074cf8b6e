"""Find the real uv and exec it.  The only module that calls ``os.exec*``."""

from __future__ import annotations

import os
import sys

from uvx_nix.errors import EXIT_UV_MISSING, UserError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: this is the hot path
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

DEPTH = "UVX_NIX_DEPTH"
MAX_DEPTH = 8
_MARKERS = (b"uvx_nix",)  # the module name, as in the console script and shims


def is_wrapper(path: str, own: str) -> bool:
    """This program under another name: the same file, or a script that calls it."""
    try:
        if os.path.realpath(path) == own:
            return True
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return True
    return not head.startswith(b"\x7fELF") and any(m in head for m in _MARKERS)


def _loop(uv: str) -> str:
    return (f"uv and uvx-nix call each other in a loop ({uv} leads back to uvx-nix); "
            "set UVX_NIX_UV to the real uv binary")


def find_uv(environ: Mapping[str, str], own: str | None = None) -> str:
    """``UVX_NIX_UV``, else the first ``uv`` on PATH that is not this wrapper."""
    explicit = environ.get("UVX_NIX_UV")
    own = own or os.path.realpath(sys.argv[0])
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            if os.path.realpath(explicit) == own:  # this program: a compiled one execs itself
                raise UserError(_loop(explicit), EXIT_UV_MISSING)
            return explicit
        raise UserError(
            f"UVX_NIX_UV points at {explicit!r}, which is not an executable file; "
            "fix or unset it", EXIT_UV_MISSING)
    for directory in environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(directory or ".", "uv")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) \
                and not is_wrapper(candidate, own):
            return candidate
    raise UserError(
        "the real uv was not found on PATH (only uvx-nix itself); install uv "
        "(nixpkgs#uv or `pip install uv`) or set UVX_NIX_UV to its path", EXIT_UV_MISSING)


MIN_UV = (0, 11, 8)  # the first uv with UV_PYTHON_SEARCH_PATH


def check_version(uv: str, cache_dir: str) -> None:
    """The uv found is new enough for UV_PYTHON_SEARCH_PATH: asked once per uv binary (its
    path and stat signature), remembered in the cache.  Slow path only."""
    import re  # noqa: PLC0415 - off the hot path: a cache hit imports no more stdlib than it needs
    import subprocess  # noqa: PLC0415 - see the module docstring

    from uvx_nix import cache, paths  # noqa: PLC0415 - see the module docstring

    marker = os.path.join(cache_dir, "uv-version",
                          paths.hashed_name(f"{uv}\0{cache.signature(uv)}", ".ok"))
    if os.path.exists(marker):
        return
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30,
                             check=False, env={**os.environ, DEPTH: "0"}).stdout
    except (OSError, subprocess.SubprocessError):
        return  # uv will speak for itself when it is run
    m = re.search(r"\b(\d+)\.(\d+)\.(\d+)", out)
    if m is None:
        return
    found = tuple(int(x) for x in m.groups())
    if found < MIN_UV:
        need = ".".join(map(str, MIN_UV))
        raise UserError(
            f"uv {'.'.join(map(str, found))} ({uv}) is older than {need}, the first uv with "
            f"UV_PYTHON_SEARCH_PATH, which uvx-nix needs; upgrade uv to {need} or newer (or "
            "set UVX_NIX_UV to one)", EXIT_UV_MISSING)
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w", encoding="utf-8") as f:
            f.write(out)
    except OSError:
        pass


def exec_uv(uv: str, args: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process with uv: its terminal, signals and exit code are uv's."""
    env = dict(env)
    try:
        depth = int(env.get(DEPTH, "0"))
    except ValueError:
        depth = 0
    with open(uv, "rb") as f:
        elf = f.read(4) == b"\x7fELF"
    if elf:
        env.pop(DEPTH, None)
    else:
        # A script called uv may lead back here (an alias loop); count the hops.
        if depth >= MAX_DEPTH:
            raise UserError(_loop(uv), EXIT_UV_MISSING)
        env[DEPTH] = str(depth + 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(uv, [uv, *args], env)  # noqa: S606 - exec of the real uv is the job


def run_uv(uv: str, args: Sequence[str], env: Mapping[str, str]) -> int:
    """Run uv as a child (only when work must follow it), forwarding signals; uv's exit code."""
    import signal  # noqa: PLC0415 - see the module docstring
    import subprocess  # noqa: PLC0415 - see the module docstring

    proc = subprocess.Popen([uv, *args], env=dict(env))
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code
