"""The project's virtual environment: where it is, and uvx-nix's scope hook inside it.

Called from the hot path only when the venv's site-packages directory changed
since the state was saved (one ``stat`` decides), so it may import freely.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from uvx_nix import cache, files, output, paths
from uvx_nix.errors import UserError
from uvx_nix.native import venvs
from uvx_nix.prepare import auto as automatic_mode
from uvx_nix.prepare import programs

if TYPE_CHECKING:
    from uvx_nix.argv import Invocation

HOOK_MODULE = "_uvx_nix_scope.py"
HOOK_PTH = "_uvx_nix_scope.pth"
SONAMES_MODULE = "_uvx_nix_sonames.py"
MISSING_FILE = "_uvx_nix_missing.txt"
_SOURCE = Path(__file__).parents[1] / "injected" / "scope.py"
_SONAMES = Path(__file__).parents[1] / "native" / "sonames.py"


def replace_foreign(venv: Path) -> bool:
    """Move aside a venv made with a foreign interpreter (never delete it: it may hold your
    work), as uv replaces a venv whose interpreter no longer matches: the next uv command
    recreates it on the nixpkgs interpreter."""
    found = venvs.foreign_home(venv)
    if found is None or os.path.islink(venv):
        return False

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    aside = venv.with_name(f"{venv.name}.replaced-{stamp}")
    n = 1
    while os.path.lexists(aside):
        n += 1
        aside = venv.with_name(f"{venv.name}.replaced-{stamp}-{n}")
    try:
        os.rename(venv, aside)
    except OSError as exc:
        output.warn(f"{venv} uses a Python that is not from the Nix "
                    f"store ({found}) and could not be moved aside ({exc.strerror}); "
                    "move or remove it yourself")
        return False
    output.warn(f"moved {venv} to {aside}: its Python ({found}) is not from the Nix store (a "
                "generic-Linux build NixOS cannot start); uv recreates it on the nixpkgs "
                "interpreter; delete the old one when you no longer need it")
    return True


def hook_line(libs: str, auto: bool, project: bool = True) -> bytes:
    """The ``.pth`` line that records the environment's library directories in it (and
    whether it is a project's, for the advice its errors give)."""
    dirs = tuple(d for d in libs.split(":") if d)
    extra = "" if project else ", project=False"
    return f"import _uvx_nix_scope; _uvx_nix_scope.install({dirs!r}, {auto!r}{extra})\n".encode()


def install_hook(site: Path, libs: str = "", auto: bool = False, project: bool = True) -> bool:
    """Put the hook, the soname table it explains misses with, and the ``.pth`` naming the
    library directories ``libs`` into ``site`` (atomically); True if anything changed."""
    if not site.is_dir():
        return False
    changed = False
    for path, data in ((site / HOOK_MODULE, _SOURCE.read_bytes()),
                       (site / SONAMES_MODULE, _SONAMES.read_bytes()),
                       (site / HOOK_PTH, hook_line(libs, auto, project))):
        try:
            if not path.is_symlink() and \
                    files.read_bounded(path, len(data) + 1, within=site) == data:
                continue
        except (OSError, UserError):
            pass  # missing, a FIFO, a link, too large: replaced below
        try:
            files.write_atomic(path, data, 0o644)
            changed = True
        except OSError:
            return False
    return changed


def prepare(env: Path, libs: str, auto: bool = False, project: bool = True) -> bool:
    """Make an environment self-sufficient: the hook with its library directories in every
    site-packages.  Never through a symlinked environment; True if anything changed."""
    if os.path.islink(env) or not (env / "pyvenv.cfg").is_file():
        return False
    changed = False
    for site in venvs.site_dirs(env):
        changed = install_hook(site, libs, auto, project) or changed
    return changed


def recorded_misses(site: Path) -> list[str]:
    """The sonames the hook saw fail to load at run time (``_uvx_nix_missing.txt``)."""
    try:
        text = files.read_bounded(site / MISSING_FILE, 64 * files.KIB, within=site).decode(
            "utf-8", "replace")
    except (OSError, UserError):
        return []
    return sorted({w for w in text.split() if re.fullmatch(r"[A-Za-z0-9_.+-]+\.so[0-9.]*", w)})


def clear_misses(site: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(site / MISSING_FILE)


def _dists(site: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(site) if n.endswith(".dist-info"))
    except OSError:
        return []


def on_change(fields: dict[str, str], state_key: str, state_path: str,
              environ: Mapping[str, str], reresolve: Callable[[], dict[str, str]],
              synced: bool = False) -> dict[str, str]:
    """The venv changed (or its libraries did): add libraries that new wheels, or loads
    that failed at run time, need (automatic mode), record the library directories in the
    venv (its hook), then remember what we saw."""
    site = Path(fields["site"])
    if os.path.islink(site.parents[2]) or any(os.path.islink(p) for p in
                                               (site.parents[1], site.parents[0], site)):
        return fields  # never write through a symlinked venv (see safe_location)
    if fields.get("strategy") != "nix-ld" and site.parents[2].is_dir():
        replace_foreign(site.parents[2])
    fields = dict(fields)
    dists = _dists(site)
    seen = set(fields.get("dists", "").split("/")) if fields.get("dists") else set()
    new = [d for d in dists if d not in seen]
    automatic = fields.get("auto") == "1" and fields.get("strategy") != "nix-ld"
    misses = recorded_misses(site) if automatic else []
    if (new or misses) and automatic:
        fields = automatic_mode.add_needed(fields, site, new, misses, environ, reresolve)
        if misses:
            clear_misses(site)
    if fields.get("strategy") != "nix-ld":
        _prepare_all([site.parents[2]], fields, environ)
    fields["hook_libs"] = fields.get("libs", "")  # what the venv carries (nix-ld: nothing)
    if synced:  # uv just synced the venv (a sync, or `uv run` asked first): from these files
        fields["synced"] = cache.synced(fields.get("root", ""))
    fields["dists"] = "/".join(dists)
    fields["site_sig"] = cache.signature(str(site))
    cache.update(state_path, state_key, fields)
    return fields


# ---------------------------------------------------------------------------------------
# Environments uv makes or fills: recorded right after uv (or before a run) is done with them


def tool_dir(environ: Mapping[str, str]) -> Path:
    """uv's tool directory (``uv tool dir``): UV_TOOL_DIR, else $XDG_DATA_HOME/uv/tools."""
    if environ.get("UV_TOOL_DIR"):
        return Path(environ["UV_TOOL_DIR"])
    data = environ.get("XDG_DATA_HOME") or os.path.join(environ.get("HOME", "/"), ".local",
                                                         "share")
    return Path(data) / "uv" / "tools"


def _start(inv: Invocation) -> Path:
    return Path(os.getcwd(), inv.directory or "")


def _nearest_venv(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".venv" / "pyvenv.cfg").is_file():
            return directory / ".venv"
    return None


def _as_env(path: Path) -> Path:
    """A venv directory from a path to it or to its python."""
    return path.parent.parent if path.name.startswith(("python", "pypy")) else path


def targets(inv: Invocation, fields: Mapping[str, str],
            environ: Mapping[str, str]) -> list[Path]:
    """The environments a uv command just made or filled, as uv finds them."""
    command = inv.command[:2]
    start = _start(inv)
    if command[:1] == ("tool",):
        # The tools named (`uv tool install ruff==0.6`, `uv tool upgrade black`), else all
        # (`upgrade --all`): each keeps the libraries of the resolution it was made with.
        base = tool_dir(environ)
        named = [base / re.split(r"[<>=!~@\[ ;]", p, maxsplit=1)[0].lower().replace("_", "-")
                 for p in inv.positionals]
        if named and all((n / "pyvenv.cfg").is_file() for n in named):
            return named
        try:
            return [base / n for n in sorted(os.listdir(base))]
        except OSError:
            return []
    if command == ("venv",):
        if inv.positionals:
            return [start / inv.positionals[0]]
        root = fields.get("root")
        return [venvs.location(Path(root), environ) if root else start / ".venv"]
    if command[:1] == ("pip",):
        if inv.python and ("/" in inv.python or inv.python.startswith(".")):
            return [_as_env(start / inv.python)]
        for name in ("VIRTUAL_ENV", "CONDA_PREFIX"):
            if environ.get(name):
                return [Path(environ[name])]
        found = _nearest_venv(start)
        return [found] if found else []
    site = fields.get("site")
    return [Path(site).parents[2]] if site else []


def _prepare_all(envs: list[Path], fields: Mapping[str, str],
                 environ: Mapping[str, str]) -> None:
    """Record the libraries in each environment; in automatic mode also make its ELF
    programs runnable (:mod:`uvx_nix.prepare.programs`)."""
    auto = fields.get("auto") == "1"
    site = fields.get("site")
    ours = Path(site).parents[2] if site else None
    for env in envs:
        try:
            prepare(env, fields.get("libs", ""), auto, project=env == ours)
        except OSError as exc:
            output.warn(f"could not record the native libraries in "
                        f"{env} ({exc.strerror}); run `uvx-nix nix doctor --fix`")
    if auto:
        try:
            programs.make_runnable([e for e in envs if (e / "pyvenv.cfg").is_file()], fields,
                                   environ)
        except (UserError, OSError) as exc:
            message = exc.message if isinstance(exc, UserError) else str(exc)
            output.warn(f"could not make the environment's programs "
                        f"runnable: {message}; run `uvx-nix nix doctor --fix`")


def after_uv(inv: Invocation, fields: Mapping[str, str], environ: Mapping[str, str],
             state_key: str = "", state_path: str = "",
             reresolve: Callable[[], dict[str, str]] | None = None) -> None:
    """After a uv command that made or filled environments: record the libraries in them (the
    project's venv as the wrapper's venv check does: automatic mode adds what new wheels need
    at once, and the hot state learns the venv as it is now).  Never raises: uv's result
    stands."""
    try:
        envs = targets(inv, fields, environ)
        site = fields.get("site")
        if site and reresolve is not None and Path(site).parents[2] in envs:
            envs.remove(Path(site).parents[2])
            on_change(dict(fields), state_key, state_path, environ, reresolve, synced=True)
        _prepare_all(envs, fields, environ)
    except Exception as exc:  # a hook after uv must not turn uv's success into a failure
        output.warn(f"could not prepare the environment "
                    f"({type(exc).__name__}: {exc}); run `uvx-nix nix doctor --fix`")
    lock_dir, root = fields.get("lock_dir"), fields.get("root")
    if lock_dir and root and inv.command[:2] in (("sync",), ("add",), ("remove",),
                                                 ("pip", "install"), ("pip", "sync"),
                                                 ("version",)):
        where = venvs.safe_location(Path(root), environ)
        if where is not None and os.path.exists(paths.patched_file_str(environ, lock_dir)):
            # What `nix doctor --fix` patched (also with automatic mode off) stays patched.
            programs.after_uv(where, Path(lock_dir), Path(root))


# Where the environment is: its prefix and every site-packages on its path (`uv run --with`
# outside a project runs in a throw-away environment layered over a cached one).
PROBE = ("import sys; print(*[sys.prefix, *[p for p in sys.path if p.endswith('-packages')]],"
         " sep='\\t')")


def probe_args(inv: Invocation, script: bool = False) -> list[str] | None:
    """``uv run``/``uv tool run`` with the same options, running the environment's Python to
    print where the environment is: uv makes (or reuses) exactly the environment the real
    command runs in, so it can be prepared first."""
    if not inv.positionals and not inv.tail:
        return None
    head = list(inv.args[: len(inv.args) - len(inv.tail)])
    command = inv.positionals[0] if inv.positionals else (inv.tail[0] if inv.tail else "")
    if inv.positionals and head[-1:] == [command]:
        head = head[:-1]
    if inv.command[:2] == ("tool", "run") and not any(
            a == "--from" or a.startswith("--from=") for a in head):
        if not inv.positionals:
            return None  # `uvx -- cmd`: rare; left to uv
        head.append(f"--from={command}")
    if inv.script and not script:
        return None  # a PEP 723 script's environment follows its metadata, not a command
    if head[-1:] == ["--"]:
        head = head[:-1]
    return [*head, "python", "-c", PROBE]


def _env_of(word: str) -> Path:
    """An environment from its prefix or its ``bin/python``."""
    path = Path(word)
    return path.parent.parent if path.parent.name == "bin" else path


def before_run(inv: Invocation, fields: Mapping[str, str], env: Mapping[str, str], uv: str,
               memo: str, state_key: str = "", state_path: str = "",
               reresolve: Callable[[], dict[str, str]] | None = None) -> None:
    """``uv run`` / ``uv tool run`` when uv may make the environment in this very call (a
    project's first run, a tool, ``--with``): have uv make it first, with the same options,
    and prepare it, so the program starts already on the first run.  The wrapper calls this
    only when its memo ``memo`` (see cli) does not show the environments prepared."""
    def ask(args: list[str]) -> list[str] | None:
        """uv's stdout lines, or None when it fails (it speaks for itself later).  What uv
        said while making the environment ("Installed 3 packages") is passed on: the real
        command finds it made and says nothing, so you read it once, as from plain uv."""
        try:
            res = subprocess.run([uv, *args], env=dict(env), capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, check=False)
        except OSError:
            return None
        if res.returncode != 0:
            return None
        if res.stderr:
            sys.stderr.write(res.stderr)
            sys.stderr.flush()
        return res.stdout.strip().splitlines()

    lines: list[str] | None = None
    if inv.script == "-":
        # A script on stdin: its `--with` environment is prepared (uv reads the script's own
        # metadata from stdin, which uvx-nix does not replay here).
        args = probe_args(inv, script=True)
        lines = ask(args) if args is not None else None
    elif inv.script and inv.command == ("run",):
        # A PEP 723 script's environment follows its metadata: sync it as `uv run` would,
        # then ask uv where it is.
        where = ["--directory", inv.directory] if inv.directory else []
        if ask([*where, "sync", "--script", inv.script]) is not None:
            lines = ask([*where, "python", "find", "--script", inv.script])
        elif fields.get("site"):  # no metadata: it runs in the project's venv
            args = probe_args(inv, script=True)
            lines = ask(args) if args is not None else None
    else:
        args = probe_args(inv)
        lines = ask(args) if args is not None else None
    if not lines:
        return  # uv speaks for itself when the real command runs
    envs = list(dict.fromkeys(
        e for e in (_env_of(w) if i == 0 else Path(w).parent.parent.parent
                    for i, w in enumerate(lines[-1].split("\t")) if w.startswith("/"))
        if (e / "pyvenv.cfg").is_file() and not str(e).startswith("/nix/store/")))
    site = fields.get("site")
    rest = list(envs)
    if site and reresolve is not None and Path(site).parents[2] in envs:
        # The project's venv: the wrapper's venv check, now (libraries new wheels need,
        # programs, and the hot state learns what the venv was synced from).
        rest.remove(Path(site).parents[2])
        on_change(dict(fields), state_key, state_path, env, reresolve, synced=True)
    _prepare_all(rest, fields, env)
    if memo:
        record = "".join(f"{e}\n{cache.signature(str(e))}\n" for e in envs)
        if not envs and fields.get("site"):
            return  # the project's venv was not made: ask again next time
        with contextlib.suppress(OSError):
            os.makedirs(os.path.dirname(memo), exist_ok=True)
            files.write_atomic(Path(memo), f"{fields.get('libs', '')}\n{record}".encode())
