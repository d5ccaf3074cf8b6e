"""Automatic mode: the libraries that newly installed wheels, and loads that failed at run
time, need are added to ``[tool.uvx-nix] libraries`` when the locked nixpkgs has them, and
the project is resolved again."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from uvx_nix import output
from uvx_nix.errors import UserError
from uvx_nix.native import scan, suggest
from uvx_nix.resolve import attributes, project

if TYPE_CHECKING:
    pass


def _auto_libraries(fields: dict[str, str], site: Path, new: list[str],
                    environ: Mapping[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Scan newly installed distributions: (soname -> attribute to add, driver dirs,
    sonames)."""

    records = [site / d / "RECORD" for d in new if (site / d / "RECORD").is_file()]
    if not records:
        return {}, [], []
    libs = [d for d in fields.get("libs", "").split(":") if d]
    missing = scan.scan_dist(site.parents[2], records, libs, fields.get("interpreter"))
    if not missing:
        return {}, [], []
    suggested = {s: a for s, a in suggest.suggest(missing, environ).items() if a}
    return suggested, suggest.driver_dirs(missing), sorted(missing)


def _known_attributes(fields: Mapping[str, str], suggested: Mapping[str, str],
                      environ: Mapping[str, str]) -> list[str]:
    """The attributes of the locked nixpkgs that really hold the libraries (the first
    candidate that exists and, built, holds lib/<soname>): pyproject.toml never gets one it
    lacks (every later command would stop on it)."""
    try:
        found = attributes.providers(Path(fields["lockfile"]), suggested, environ)
    except (UserError, KeyError):
        found = None
    if found is None:
        return []
    missing = [s for s, a in found.items() if a is None]
    if missing:
        output.warn(f"the locked nixpkgs has no attribute that holds {', '.join(missing)} (what "
                    "the new wheels need); not added to [tool.uvx-nix] libraries: add an "
                    "attribute it has, or run `uvx-nix nix lock --upgrade`")
    return sorted({a for a in found.values() if a})


def add_needed(fields: dict[str, str], site: Path, new: list[str], misses: list[str],
               environ: Mapping[str, str], reresolve: Callable[[], dict[str, str]]
               ) -> dict[str, str]:
    """Automatic mode: add to pyproject.toml the attributes that newly installed wheels, and
    the loads that failed at run time, need and the locked nixpkgs has; re-resolve."""
    found, drivers, sonames = _auto_libraries(fields, site, new, environ)
    suggested = dict(found)
    if misses:
        libs = [d for d in fields.get("libs", "").split(":") if d]
        unresolved = [m for m in misses if not any(os.path.exists(os.path.join(d, m))
                                                   for d in libs)]
        more = {s: a for s, a in suggest.suggest(unresolved, environ).items() if a}
        suggested.update(more)
        sonames = sorted({*sonames, *more})
    root = fields.get("root")
    attributes: list[str] = []
    if suggested and root:
        attributes = _known_attributes(fields, suggested, environ)
    if attributes and root:
        pyproject = Path(root) / "pyproject.toml"
        added = project.add_libraries(pyproject, attributes)
        if added:
            output.notice(f"Added {', '.join(added)} to [tool.uvx-nix] libraries in {pyproject} "
                          f"(needed by {', '.join(sonames)}; turn off with "
                          "auto-libraries = false)")
            keep = {k: fields[k] for k in ("dists",) if k in fields}
            fields = {**reresolve(), **keep}
    for driver in drivers:
        if driver not in fields.get("libs", "").split(":"):
            fields["libs"] = ":".join(x for x in (fields.get("libs"), driver) if x)
    return fields
