"""Questions to the locked nixpkgs about attributes (one Nix evaluation each): which it
lacks, and which of several candidates really holds a library."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uvx_nix.native import sonames
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile, nix, specs, workdir


def _check_build(lock_path: Path, libraries: list[dict[str, Any]], environ: Mapping[str, str],
                 quiet: bool, what: str) -> dict[str, Any] | None:
    """Build ``libraries`` (spec entries) from the locked nixpkgs, rooted only while it runs;
    the manifest, or None when there is no lock to ask."""
    existing = lockfile.read(lock_path)
    system = inputs_mod.current_system()
    if existing is None or system not in existing[0].systems:
        return None
    spec = specs.asking_spec(existing[0], system, libraries)
    link = workdir.gcroot(lock_path.parent, f".check-{os.getpid()}")
    try:
        return nix.build(spec, link, environ, what=what, quiet=quiet)
    finally:
        link.unlink(missing_ok=True)


def missing_attributes(lock_path: Path, attributes: list[str], environ: Mapping[str, str],
                       quiet: bool = False) -> list[str] | None:
    """Which of ``attributes`` the locked nixpkgs lacks (one Nix build, rooted only while it
    runs), so pyproject.toml is never edited to name one; None when there is no lock to ask."""
    manifest = _check_build(
        lock_path, [{"name": name, "paths": [alt.split(".") for alt in sonames.names(name)]}
                    for name in attributes], environ, quiet, "checking library attributes")
    if manifest is None:
        return None
    return [str(m) for m in manifest.get("missing") or []]


def providers(lock_path: Path, suggested: Mapping[str, str], environ: Mapping[str, str],
              quiet: bool = False) -> dict[str, str | None] | None:
    """soname -> the attribute (by its current name) that provides it in the locked nixpkgs:
    of the soname's candidates (sonames.candidates, each under every name it has had), the
    first that exists and, once built, really holds ``lib/<soname>``; None when none does.

    Names are tried in order and only until one exists, so a deprecated name is evaluated
    (and warns) only where nothing newer exists. A candidate that exists but lacks the
    library is dropped and the rest tried in another build. None when there is no lock."""
    pending = {soname: list(sonames.candidates(soname)) if attribute == sonames.lookup(soname)
               else [attribute] for soname, attribute in suggested.items()}
    found: dict[str, str | None] = dict.fromkeys(suggested)
    while any(pending.values()):
        asked = {s: c for s, c in pending.items() if c}
        manifest = _check_build(
            lock_path, [{"name": soname, "paths": [alt.split(".") for c in cands
                                                   for alt in sonames.names(c)]}
                        for soname, cands in asked.items()],
            environ, quiet, "checking which attributes hold the libraries")
        if manifest is None:
            return None
        pending = {}
        for soname, cands in asked.items():
            entries = [lib for lib in manifest.get("libraries") or []
                       if lib.get("attribute") == soname]
            if not entries:  # no candidate exists here (or only glibc)
                continue
            chosen = str(entries[0].get("chosen", ""))
            taken = next((i for i, c in enumerate(cands) if chosen in sonames.names(c)), 0)
            if any(os.path.exists(os.path.join(str(e.get("out")), "lib", soname))
                   for e in entries):
                found[soname] = sonames.names(cands[taken])[0]
            else:
                pending[soname] = cands[taken + 1:]
    return found
