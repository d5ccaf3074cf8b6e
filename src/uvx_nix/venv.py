"""The project's virtual environment: where it is, and uvx-nix's scope hook inside it.

Called from the hot path only when the venv's site-packages directory changed
since the state was saved (one ``stat`` decides), so it may import freely.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from uvx_nix import files, state
from uvx_nix.errors import UserError

HOOK_MODULE = "_uvx_nix_scope.py"
HOOK_PTH = "_uvx_nix_scope.pth"
_SOURCE = Path(__file__).with_name("_scope.py")


def location(root: Path, environ: Mapping[str, str]) -> Path:
    """uv's project environment: ``UV_PROJECT_ENVIRONMENT`` or ``<workspace root>/.venv``."""
    custom = environ.get("UV_PROJECT_ENVIRONMENT")
    if custom:
        return (root / custom) if not os.path.isabs(custom) else Path(custom)
    return root / ".venv"


def safe_location(root: Path, environ: Mapping[str, str]) -> Path | None:
    """The venv, if uvx-nix may write into (or remove) it: not a symlink, and inside the
    project unless you chose an absolute UV_PROJECT_ENVIRONMENT. A repository could commit
    `.venv` as a symlink to, say, ~/.local, where a .pth would reach every Python you run."""
    where = location(root, environ)
    if os.path.isabs(environ.get("UV_PROJECT_ENVIRONMENT", "")):
        return None if os.path.islink(where) else where
    real_root = os.path.realpath(root)
    real = os.path.realpath(where)
    if os.path.islink(where) or os.path.commonpath([real_root, real]) != real_root:
        return None
    return where


def home(venv: Path) -> str | None:
    """The ``home`` a venv's pyvenv.cfg names (the directory of its base interpreter)."""
    try:
        text = files.read_bounded(venv / "pyvenv.cfg", 64 * files.KIB, within=venv).decode(
            "utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return value.strip()
    return None


def _in_store(path: str) -> bool:
    real = os.path.realpath(path)
    return real.startswith("/nix/store/") and os.path.exists(real)


def foreign_home(venv: Path) -> str | None:
    """The ``home`` of a venv whose interpreter is not from the Nix store (or is gone):
    typically one plain uv made with a downloaded generic-Linux Python NixOS cannot start.
    An interpreter reached through symlinks into the store (``python3 -m venv`` with NixOS's
    ``/run/current-system/sw/bin/python3``) is from the store."""
    found = home(venv)
    if found is None:
        return None
    if _in_store(found) or _in_store(str(venv / "bin" / "python")):
        return None
    try:
        names = os.listdir(found)
    except OSError:
        return found
    if any(n.startswith(("python", "pypy")) and _in_store(os.path.join(found, n))
           for n in names):
        return None
    return found


def replace_foreign(venv: Path, quiet: bool = False) -> bool:
    """Move aside a venv made with a foreign interpreter (never delete it: it may hold your
    work), as uv replaces a venv whose interpreter no longer matches: the next uv command
    recreates it on the nixpkgs interpreter."""
    found = foreign_home(venv)
    if found is None or os.path.islink(venv):
        return False
    import time

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    aside = venv.with_name(f"{venv.name}.replaced-{stamp}")
    n = 1
    while os.path.lexists(aside):
        n += 1
        aside = venv.with_name(f"{venv.name}.replaced-{stamp}-{n}")
    try:
        os.rename(venv, aside)
    except OSError as exc:
        sys.stderr.write(f"warning: uvx-nix: {venv} uses a Python that is not from the Nix "
                         f"store ({found}) and could not be moved aside ({exc.strerror}); "
                         "move or remove it yourself\n")
        return False
    if not quiet:
        sys.stderr.write(
            f"warning: uvx-nix: moved {venv} to {aside}: its Python ({found}) is not from "
            "the Nix store (a generic-Linux build NixOS cannot start); uv recreates it on "
            "the nixpkgs interpreter; delete the old one when you no longer need it\n")
    return True


def site_packages(venv: Path, interpreter: str) -> Path:
    """``lib/python3.12/site-packages`` (or ``lib/pypy3.10/...``): named, as in the venvs uv
    makes, after the interpreter's executable (its version for CPython; PyPy's language
    version, not PyPy's own release number)."""
    name = os.path.basename(interpreter)
    if not re.fullmatch(r"(python|pypy)[0-9]+\.[0-9]+t?", name):
        raise ValueError(f"unexpected interpreter name {name!r}")
    return venv / "lib" / name / "site-packages"


def install_hook(site: Path) -> bool:
    """Put the scope hook into ``site`` (atomically); True if it was added or updated."""
    if not site.is_dir():
        return False
    source = _SOURCE.read_bytes()
    target = site / HOOK_MODULE
    changed = False
    for path, data in ((target, source), (site / HOOK_PTH, b"import _uvx_nix_scope\n")):
        try:
            if not path.is_symlink() and \
                    files.read_bounded(path, len(data), within=site) == data:
                continue
        except (OSError, UserError):
            pass  # missing, a FIFO, a link, too large: replaced below
        try:
            files.write_atomic(path, data, 0o644)
            changed = True
        except OSError:
            return False
    return changed


def _dists(site: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(site) if n.endswith(".dist-info"))
    except OSError:
        return []


def _auto_libraries(fields: dict[str, str], site: Path, new: list[str],
                    environ: Mapping[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Scan newly installed distributions: (soname -> attribute to add, driver dirs,
    sonames)."""
    from uvx_nix import doctor

    records = [site / d / "RECORD" for d in new if (site / d / "RECORD").is_file()]
    if not records:
        return {}, [], []
    libs = [d for d in fields.get("libs", "").split(":") if d]
    missing = doctor.scan_dist(site.parents[2], records, libs, fields.get("interpreter"))
    if not missing:
        return {}, [], []
    suggested = {s: a for s, a in doctor.suggest(missing, environ).items() if a}
    return suggested, doctor.driver_dirs(missing), sorted(missing)


def _known_attributes(fields: Mapping[str, str], suggested: Mapping[str, str],
                      environ: Mapping[str, str], quiet: bool) -> list[str]:
    """The attributes of the locked nixpkgs that really hold the libraries (the first
    candidate that exists and, built, holds lib/<soname>): pyproject.toml never gets one it
    lacks (every later command would stop on it)."""
    from uvx_nix import resolution
    from uvx_nix.errors import UserError

    try:
        found = resolution.providers(Path(fields["lockfile"]), suggested, environ, quiet)
    except (UserError, KeyError):
        found = None
    if found is None:
        return []
    missing = [s for s, a in found.items() if a is None]
    if missing and not quiet:
        sys.stderr.write(
            f"warning: uvx-nix: the locked nixpkgs has no attribute that holds "
            f"{', '.join(missing)} (what the new wheels need); not added to [tool.uvx-nix] "
            "libraries: add an attribute it has, or run `uvx-nix nix lock --upgrade`\n")
    return sorted({a for a in found.values() if a})


def on_change(fields: dict[str, str], state_key: str, state_path: str,
              environ: Mapping[str, str], reresolve: Callable[[], dict[str, str]],
              quiet: bool = False) -> dict[str, str]:
    """The venv changed: make sure the hook is there, add libraries that new wheels need
    (automatic mode), then remember what we saw."""
    site = Path(fields["site"])
    if os.path.islink(site.parents[2]) or any(os.path.islink(p) for p in
                                               (site.parents[1], site.parents[0], site)):
        return fields  # never write through a symlinked venv (see safe_location)
    if fields.get("strategy") != "nix-ld" and site.parents[2].is_dir():
        replace_foreign(site.parents[2], quiet)
    install_hook(site)
    fields = dict(fields)
    dists = _dists(site)
    seen = set(fields.get("dists", "").split("/")) if fields.get("dists") else set()
    new = [d for d in dists if d not in seen]
    if new and fields.get("auto") == "1" and fields.get("strategy") != "nix-ld":
        suggested, drivers, sonames = _auto_libraries(fields, site, new, environ)
        project = fields.get("root")
        attributes: list[str] = []
        if suggested and project:
            from uvx_nix import doctor

            attributes = _known_attributes(fields, suggested, environ, quiet)
        if attributes and project:
            pyproject = Path(project) / "pyproject.toml"
            added = doctor.add_libraries(pyproject, attributes)
            if added and not quiet:
                sys.stderr.write(
                    f"uvx-nix: added {', '.join(added)} to [tool.uvx-nix] libraries in "
                    f"{pyproject} (needed by {', '.join(sonames)}; turn off with "
                    "auto-libraries = false)\n")
            if added:
                keep = {k: fields[k] for k in ("dists",) if k in fields}
                fields = {**reresolve(), **keep}
        for driver in drivers:
            if driver not in fields.get("libs", "").split(":"):
                fields["libs"] = ":".join(x for x in (fields.get("libs"), driver) if x)
                fields["drivers"] = driver
    fields["dists"] = "/".join(dists)
    fields["site_sig"] = state.signature(str(site))
    try:
        with open(state_path, "rb") as f:
            _, watched, required = state.decode(f.read(), state_key)
        data = state.encode(state_key, fields, watched, required)
    except (OSError, ValueError, IndexError, UnicodeError):
        return fields
    state.save(state_path, data)
    return fields
