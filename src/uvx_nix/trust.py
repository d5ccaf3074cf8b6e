"""Trust for project-supplied Nix code, in the spirit of ``direnv allow``.

Evaluating Nix is running code: a nixpkgs source named by a cloned repository
(``[tool.uvx-nix] nixpkgs``, the nixpkgs input of its flake.lock, or a committed
uvx-nix.lock pinned somewhere unusual) could read files or start builds as you.
So the first use of such a source needs ``uvx-nix nix allow``.  The permission is
stored by content hash of (project root, source): any change to either revokes it.
Library attributes need no permission of their own: they are packages of a nixpkgs that is
either yours or already allowed.  ``UVX_NIX_TRUST=1`` trusts everything (for CI).  Sources you chose
(``UVX_NIX_NIXPKGS``, your config, the flake registry's ``nixpkgs``) need nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import nix, paths
from uvx_nix.errors import EXIT_UNTRUSTED, UserError

# A source already in the store, named exactly (no `..`, no extra query): the only locked
# source a lockfile from elsewhere may name without permission. Official nixpkgs on GitHub
# is NOT exempt: GitHub serves a fork's commits under the parent repository's name, and
# query parameters such as `?host=` redirect the fetch.
_STORE_SOURCE = re.compile(r"path:/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._=-]+")
_NAR_HASH = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


def _key(root: Path, source: str, libraries: tuple[str, ...] = ()) -> str:
    del libraries  # see the module docstring
    blob = json.dumps([str(root), source], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _allow_dir(environ: Mapping[str, str]) -> Path:
    return paths.data_dir(environ) / "allow"


def is_allowed(root: Path, source: str, libraries: tuple[str, ...],
               environ: Mapping[str, str]) -> bool:
    if environ.get("UVX_NIX_TRUST", "").lower() in ("1", "true", "yes"):
        return True
    return (_allow_dir(environ) / _key(root, source, libraries)).exists()


def safe_lock_url(url: str) -> bool:
    """A locked source that needs no permission: exactly a source already in the store.

    The query is judged decoded, so a narHash counts the same whichever Nix spelled it (2.8
    writes ``+`` and ``%2f``, 2.24 and later ``%2B``, ``/`` and ``%3D``).
    """
    base, sep, query = url.partition("?")
    if not _STORE_SOURCE.fullmatch(base) or "/.." in base:
        return False
    if not sep:
        return True
    params = nix.query_params(query)
    keys = [k for k, _ in params]
    if keys not in (["narHash"], ["lastModified", "narHash"]):
        return False
    values = dict(params)
    return bool(_NAR_HASH.fullmatch(values["narHash"])) and \
        values.get("lastModified", "0").isdigit()


def require(root: Path, source: str, origin: str, libraries: tuple[str, ...],
            environ: Mapping[str, str]) -> None:
    if not is_allowed(root, source, libraries, environ):
        shown = source if len(source) <= 300 else \
            f"{source[:300]}… ({len(source)} characters in all: read the file)"
        raise UserError(
            f"{origin} names its own nixpkgs source {shown!r}, which uvx-nix would "
            "evaluate (run its Nix code) on your machine; review it, then run "
            "`uvx-nix nix allow` (or set UVX_NIX_TRUST=1 in CI)",
            EXIT_UNTRUSTED,
        )


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """``uvx-nix nix allow`` / ``uvx-nix nix deny`` for the project here."""
    from uvx_nix import argv as argv_mod
    from uvx_nix import inputs, lockfile

    parser = argparse.ArgumentParser(prog=f"uvx-nix nix {name}")
    parser.add_argument("--directory", help="the project directory (default: here)")
    args = parser.parse_args(argv)
    inp = inputs.gather(argv_mod.sync(args.directory), environ)
    if inp.project is None:
        raise UserError("no project here (no pyproject.toml); run it in the project directory")
    sources = [(inp.nixpkgs.ref, inp.nixpkgs.origin)]
    for path in (inp.lock_path, inp.committed_lock):
        existing = lockfile.read(path) if path is not None else None
        if existing is not None:
            sources.append((existing[0].nixpkgs_url, str(path)))
    directory = _allow_dir(environ)
    directory.mkdir(parents=True, exist_ok=True)
    for source, origin in sources:
        marker = directory / _key(inp.project.root, source, inp.libraries)
        if name == "allow":
            marker.write_text(json.dumps({"project": str(inp.project.root), "source": source,
                                          "libraries": list(inp.libraries)}) + "\n")
            sys.stderr.write(f"Allowed nixpkgs source {source} ({origin}) for "
                             f"{inp.project.root}\n")
        elif marker.exists():
            marker.unlink()
            sys.stderr.write(f"Revoked nixpkgs source {source} for {inp.project.root}\n")
    if name == "deny":
        shutil.rmtree(paths.cache_dir(environ) / "hot", ignore_errors=True)
    return 0
