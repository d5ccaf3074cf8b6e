"""Where a virtual environment is and what is in it (read only: nothing here writes)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from uvx_nix import files
from uvx_nix.errors import EXIT_CONFIG, UserError

if TYPE_CHECKING:
    pass


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


def site_packages(venv: Path, interpreter: str) -> Path:
    """``lib/python3.12/site-packages`` (or ``lib/pypy3.10/...``): named, as in the venvs uv
    makes, after the interpreter's executable (its version for CPython; PyPy's language
    version, not PyPy's own release number)."""
    name = os.path.basename(interpreter)
    if not re.fullmatch(r"(python|pypy)[0-9]+\.[0-9]+t?", name):
        raise ValueError(f"unexpected interpreter name {name!r}")
    return venv / "lib" / name / "site-packages"


def site_dirs(env: Path) -> list[Path]:
    """The ``lib/python3.X/site-packages`` directories of an environment, never through a
    link that leads outside it."""
    lib = env / "lib"
    if not files.inside(lib, env):
        return []
    try:
        names = sorted(os.listdir(lib))
    except OSError:
        return []
    return [lib / n / "site-packages" for n in names
            if n.startswith(("python", "pypy")) and (lib / n / "site-packages").is_dir()
            and files.inside(lib / n / "site-packages", env)]


def walk(env: Path) -> Iterator[Path]:
    """Every file name in ``bin/`` and, recursively, in each site-packages (sorted; never
    through a link that leads outside ``env``)."""
    for root, recursive in roots(env):
        for directory, subdirs, names in os.walk(root):
            if not recursive:
                subdirs[:] = []
            subdirs.sort()
            for name in sorted(names):
                yield Path(directory, name)


def roots(env: Path) -> list[tuple[Path, bool]]:
    """Where an environment's programs are: ``bin/`` (not recursively) and each
    site-packages (recursively), never through a link that leads outside ``env``."""

    roots: list[tuple[Path, bool]] = []
    if files.inside(env / "bin", env):
        roots.append((env / "bin", False))
    roots += [(site, True) for site in site_dirs(env)]
    return roots


def venv_path(root: Path, environ: Mapping[str, str]) -> Path:
    """uv's project environment: ``UV_PROJECT_ENVIRONMENT`` (relative to root) or root/.venv;
    a `.venv` that is a symlink, or leads outside the project, is refused (a cloned repository
    could point it at another environment of yours for `--fix` to patch)."""

    where = safe_location(root, environ)
    if where is None:
        raise UserError(f"{location(root, environ)} is a symlink or leads outside the "
                        "project; uvx-nix does not inspect or patch it", EXIT_CONFIG)
    return where
