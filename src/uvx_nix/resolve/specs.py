"""The request resolve.nix evaluates (the spec: nixpkgs source, interpreter, libraries, all
passed as data, never as Nix code), and what its manifest means for the lock."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from uvx_nix import paths
from uvx_nix.errors import (
    EXIT_NO_MATCH,
    UserError,
)
from uvx_nix.native import sonames
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile, nix, sources


def python_spec(inp: inputs_mod.Inputs) -> dict[str, Any]:
    req = inp.python
    if req.kind in ("default", "path"):
        return {"mode": "default", "implementation": None, "clauses": [], "freeThreaded": False}
    return {
        "mode": "match",
        "implementation": req.implementation,
        "clauses": [c.to_json() for c in req.clauses],
        "freeThreaded": req.free_threaded,
    }


def resolve_spec(inp: inputs_mod.Inputs, source: dict[str, str], python: dict[str, Any],
          libraries: list[str], keep: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "system": inp.system,
        "nixpkgs": source,
        "python": python,
        "libraries": [{"name": name, "paths": [alt.split(".") for alt in sonames.names(name)]}
                      for name in libraries],
        "allowUnfree": inp.allow_unfree,
    }
    if keep:
        spec["keep"] = keep
    return spec


def entry_from_manifest(manifest: dict[str, Any], inp: inputs_mod.Inputs) -> lockfile.SystemEntry:
    missing = manifest.get("missing") or []
    if missing:
        raise UserError(
            f"nixpkgs has no library attribute {', '.join(map(repr, missing))}; fix "
            "'libraries' in [tool.uvx-nix], the user config or UVX_NIX_LIBRARIES",
            EXIT_NO_MATCH,
        )
    python = manifest.get("python")
    if not python:
        have = sorted(
            {f"{c['implementation']} {c['pythonVersion']}" for c in manifest.get("candidates", [])}
        )
        listing = ", ".join(have) if have else "none"
        raise UserError(
            f"nixpkgs has no Python matching {inp.python.describe()} (it has {listing}); "
            "change the request or set [tool.uvx-nix] nixpkgs to a nixpkgs that has one",
            EXIT_NO_MATCH,
        )
    entry = lockfile.SystemEntry(
        python_attribute=python["attribute"],
        python_version=python["version"],
        implementation=python.get("implementation", "cpython"),
        python=python["out"],
        interpreter=python["interpreter"],
        libraries=tuple(lockfile.Library(lib["attribute"], lib["out"])
                        for lib in manifest.get("libraries", [])),
    )
    # The same checks a lockfile read from disk gets.
    lockfile.parse_entry(inp.lock_path, inp.system, {
        "python-attribute": entry.python_attribute, "python-version": entry.python_version,
        "implementation": entry.implementation, "python": entry.python,
        "interpreter": entry.interpreter,
        "libraries": [{"attribute": lib.attribute, "path": lib.path} for lib in entry.libraries],
    })
    return entry


def locked_source(lock: lockfile.Lock) -> dict[str, str]:
    """The lock's nixpkgs as a spec's source (what every later evaluation of it uses)."""
    if lock.nixpkgs_kind == "flake":
        return {"type": "flake", "ref": sources.local_source(lock.nixpkgs_url)}
    if lock.nixpkgs_kind == "channel":
        rev = sources.channel_revision(lock.nixpkgs_url)
        return {"type": "revision", "rev": rev} if rev else {"type": "channel"}
    if lock.nixpkgs_nar_hash:
        return {"type": "path", "path": lock.nixpkgs_url, "narHash": lock.nixpkgs_nar_hash}
    return {"type": "path", "path": lock.nixpkgs_url}


def _exact_python(attribute: str) -> dict[str, Any]:
    """The interpreter by its attribute, no version matching."""
    return {"mode": "attribute", "attribute": attribute, "implementation": None, "clauses": [],
            "freeThreaded": False}


def locked_spec(inp: inputs_mod.Inputs, lock: lockfile.Lock, python_attribute: str,
                libraries: list[str], keep: list[str] | None = None) -> dict[str, Any]:
    """The spec that builds exactly these attributes from the lock's nixpkgs (no matching)."""
    return resolve_spec(inp, locked_source(lock), _exact_python(python_attribute), libraries,
                        keep)


def asking_spec(lock: lockfile.Lock, system: str, libraries: list[dict[str, Any]]
                ) -> dict[str, Any]:
    """A spec that asks the lock's nixpkgs for ``libraries`` (spec entries) beside the locked
    interpreter of ``system``, nothing unfree: how uvx-nix checks attributes and fetches its
    own tools (patchelf) from the locked nixpkgs."""
    return {"system": system, "nixpkgs": locked_source(lock),
            "python": _exact_python(lock.systems[system].python_attribute),
            "libraries": libraries, "allowUnfree": False}


def fresh_source(inp: inputs_mod.Inputs, environ: Mapping[str, str], quiet: bool = False
                 ) -> tuple[dict[str, str], str, int]:
    """The configured source as a spec, locking a floating registry ref first (one
    `nix flake metadata`): (spec, its URL, Nix processes started)."""
    url = inp.nixpkgs.ref
    if inp.nixpkgs.kind != "flake":
        return inp.nixpkgs.to_spec(), url, 0
    runs = 0
    if not sources.is_locked(url) and needs_metadata(url):
        url = nix.lock_flake(url, environ, quiet)
        runs = 1
    return {"type": "flake", "ref": url}, url, runs


def release(manifest: Mapping[str, Any]) -> str:
    value = manifest.get("nixpkgsRelease")
    return value if isinstance(value, str) else ""


def portable_origin(origin: str, inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> str:
    """Where a value came from, as the committed lock records it: files of the project by
    their project-relative name, the user's own files by what they are; never a path of the
    writer's machine (user name, home), always valid UTF-8."""
    text = origin
    named = ((str(paths.config_file(environ)), "the user config"),
             (str(paths.global_python_version(environ)), "uv's global .python-version"))
    for path, label in named:
        text = text.replace(path, label)
    if inp.project is not None:
        text = text.replace(str(inp.project.root) + os.sep, "")
    # Any other absolute path (a file above the project): its last part only.
    text = re.sub(r"(?<![\w.])/(?:[^/\s]+/)*([^/\s]+)", r"\1", text)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def lock_inputs(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> dict[str, Any]:
    # A path request (`.python-version` naming an interpreter's path) is left to uv and
    # recorded by its kind only: its text could be anything the file held.
    python = "a path (left to uv)" if inp.python.kind == "path" else inp.python.text
    return {
        "fingerprint": inp.fingerprint(),
        "python": python,
        "python-source": portable_origin(inp.python.source, inp, environ),
        "nixpkgs": inp.nixpkgs.ref,
        "nixpkgs-source": portable_origin(inp.nixpkgs.origin, inp, environ),
        "libraries": list(inp.libraries),
        "strategy": inp.strategy,
        **({"build-libraries": list(inp.build_libraries)} if inp.build_libraries else {}),
    }


def needs_metadata(ref: str) -> bool:
    """Indirect (registry) refs need `nix flake metadata`; direct ones lock from sourceInfo."""
    return not ref.startswith(("path:", "github:", "gitlab:", "sourcehut:"))
