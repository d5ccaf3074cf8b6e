"""Which nixpkgs attribute provides a missing soname: the soname table
(:mod:`uvx_nix.native.sonames`), then ``nix-locate`` when installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from uvx_nix import attribute
from uvx_nix.native import sonames

if TYPE_CHECKING:
    pass


DRIVER_DIR = sonames.DRIVER


def _nix_locate(soname: str, environ: Mapping[str, str]) -> str | None:
    exe = shutil.which("nix-locate", path=environ.get("PATH"))
    if exe is None:
        return None
    try:
        res = subprocess.run(
            [exe, "--minimal", "--top-level", "--whole-name", "--at-root", f"/lib/{soname}"],
            capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return pick_attribute(res.stdout.splitlines(), attribute.is_attribute)


def pick_attribute(lines: Iterable[str],
                   valid: Callable[[str], bool] | None = None) -> str | None:
    """Deterministic choice among nix-locate's answers: strip the ``.out``/``.lib`` output,
    then the shortest attribute path, then alphabetical."""
    names = set()
    for line in lines:
        name = line.strip()
        for suffix in (".out", ".lib"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        if name and (valid is None or valid(name)):
            names.add(name)
    return min(names, key=lambda n: (len(n), n)) if names else None


def suggest(needed: Iterable[str],
            environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """soname -> nixpkgs attribute path (None when unknown or driver-only: see driver_dirs)."""
    environ = os.environ if environ is None else environ
    out: dict[str, str | None] = {}
    for soname in sorted(set(needed)):
        attribute = sonames.lookup(soname)
        if attribute is None:
            attribute = _nix_locate(soname, environ)
        out[soname] = None if attribute == sonames.DRIVER else attribute
    return out


def driver_dirs(needed: Iterable[str], root: Path = Path("/")) -> list[str]:
    """``["/run/opengl-driver/lib"]`` when it exists and provides (or is the only possible
    provider of) one of ``needed``: the library dir the wrapper adds for GPU wheels."""
    directory = root / DRIVER_DIR.lstrip("/")
    if not directory.is_dir():
        return []
    try:
        present = set(os.listdir(directory))
    except OSError:
        return []
    for soname in needed:
        if soname in present or sonames.is_driver(soname):
            return [DRIVER_DIR]
    return []
