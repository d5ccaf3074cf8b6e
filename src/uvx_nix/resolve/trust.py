"""Permission for project-supplied Nix code, in the spirit of ``direnv allow``.

Evaluating Nix is running code: a nixpkgs source named by a cloned repository
(``[tool.uvx-nix] nixpkgs``, the nixpkgs input of its flake.lock, or the source a committed
uvx-nix.lock pins) could read files or start builds as you.  So uvx-nix evaluates a source
only when it is yours, already in the store, or one you allowed for this project:

* ``uvx-nix nix allow`` approves exactly one source: the one the last exit-76 message named
  (computed again the same way), or the one given as its argument.  The permission is a file
  named by the SHA-256 of (project root, source string).
* A lock pins what a source resolved to (a revision and narHash).  A lock this machine wrote
  from a source records "source S locked to U" in the user cache; a lock pinning U is then
  evaluated only while S itself is permitted.  A lock pinning anything else (a committed lock
  from elsewhere) needs its own approval, whatever its ``[inputs]`` claim.
* Nothing else counts as permission: not the marks of verified locks, not an earlier run.
  ``UVX_NIX_TRUST=1`` trusts for the run it is set in (it is part of the hot cache's key, so
  a later run without it asks again).  ``uvx-nix nix deny`` removes every permission of the
  project, its verified marks and the hot cache.
* Sources you chose (``UVX_NIX_NIXPKGS``, your config, the flake registry's ``nixpkgs``),
  your channel (``<nixpkgs>``) and a source already in the store need nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import cache, paths
from uvx_nix.errors import EXIT_UNTRUSTED, UserError, display, display_path

# No locked source from elsewhere passes on its looks (see resolution.permit_lock): not
# official nixpkgs on GitHub (GitHub serves a fork's commits under the parent repository's
# name, and query parameters such as `?host=` redirect the fetch), not a store path.


class UntrustedError(UserError):
    """A source needs `uvx-nix nix allow`; carries the source and who named it."""

    def __init__(self, message: str, source: str, origin: str, pinned: bool) -> None:
        super().__init__(message, EXIT_UNTRUSTED)
        self.source = source
        self.origin = origin
        self.pinned = pinned  # a lock pins it (rather than a file naming it to be resolved)


def _key(root: Path, source: str) -> str:
    blob = json.dumps([str(root), source], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _allow_dir(environ: Mapping[str, str]) -> Path:
    return paths.data_dir(environ) / "allow"


def trusted_by_environment(environ: Mapping[str, str]) -> bool:
    return environ.get("UVX_NIX_TRUST", "").lower() in ("1", "true", "yes")


def is_allowed(root: Path, source: str, environ: Mapping[str, str]) -> bool:
    if trusted_by_environment(environ):
        return True
    return (_allow_dir(environ) / _key(root, source)).is_file()


def require(root: Path, source: str, origin: str, environ: Mapping[str, str],
            instead_of: str | None = None) -> None:
    """Stop with exit 76 unless ``source`` is allowed for ``root`` (or trusted for this run)."""
    if is_allowed(root, source, environ):
        return
    what = "pins its own nixpkgs source" if instead_of is not None else \
        "names its own nixpkgs source"
    other = f" (not {display(instead_of, 120)})" if instead_of is not None else ""
    raise UntrustedError(
        f"{display_path(origin)} {what} {display(source)}{other}, which uvx-nix would "
        "evaluate (run its Nix code) on your machine; review it, then run "
        "`uvx-nix nix allow` (or set UVX_NIX_TRUST=1 in CI)", source, origin,
        instead_of is not None)


def _locked_dir(environ: Mapping[str, str]) -> Path:
    return paths.cache_dir(environ) / "locked-from"


def _locked_key(source_kind: str, source: str, kind: str, url: str) -> str:
    blob = json.dumps([source_kind, source, kind, url], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def record_locked(environ: Mapping[str, str], source_kind: str, source: str, kind: str,
                  url: str) -> None:
    """This machine resolved ``source`` to the locked ``url`` (best effort)."""
    if (source_kind, source) == (kind, url):
        return
    directory = _locked_dir(environ)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / _locked_key(source_kind, source, kind, url)).touch()
    except OSError:
        pass


def locked_here(environ: Mapping[str, str], source_kind: str, source: str, kind: str,
                url: str) -> bool:
    """Whether this machine itself locked ``source`` to ``url``."""
    return (_locked_dir(environ) / _locked_key(source_kind, source, kind, url)).is_file()


def _grant(root: Path, source: str, environ: Mapping[str, str]) -> None:
    directory = _allow_dir(environ)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / _key(root, source)).write_text(
        json.dumps({"project": str(root), "source": source}) + "\n")


def _revoke_all(root: Path, environ: Mapping[str, str]) -> list[str]:
    """Remove every permission given for ``root``; returns the sources."""
    revoked: list[str] = []
    directory = _allow_dir(environ)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return revoked
    for name in names:
        path = directory / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("project") == str(root):
            path.unlink()
            revoked.append(str(data.get("source", "")))
    return revoked


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """``uvx-nix nix allow [SOURCE]`` / ``uvx-nix nix deny`` for the project here."""
    from uvx_nix import argv as argv_mod
    from uvx_nix.resolve import inputs, resolution

    parser = argparse.ArgumentParser(prog=f"uvx-nix nix {name}")
    parser.add_argument("--directory", help="the project directory (default: here)")
    if name == "allow":
        parser.add_argument("source", nargs="?",
                            help="the nixpkgs source to allow (default: the one uvx-nix "
                                 "asked about)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 70
    inp = inputs.gather(argv_mod.sync(args.directory), environ)
    if inp.project is None:
        raise UserError("no project here (no pyproject.toml); run it in the project directory")
    root = inp.project.root
    own = {k: v for k, v in environ.items() if k != "UVX_NIX_TRUST"}
    if name == "allow":
        if args.source is not None:
            _grant(root, args.source, environ)
            sys.stderr.write(f"Allowed nixpkgs source {display(args.source)} for "
                             f"{display_path(root)}\n")
            return 0
        try:
            resolution.check_permission(inp, own)
        except UntrustedError as needed:
            _grant(root, needed.source, environ)
            how = "pinned by" if needed.pinned else "named by"
            sys.stderr.write(f"Allowed nixpkgs source {display(needed.source)} ({how} "
                             f"{display_path(needed.origin)}) for {display_path(root)}\n")
            return 0
        sys.stderr.write(f"Nothing to allow: every nixpkgs source {display_path(root)} uses "
                         "is yours, in the store, or already allowed\n")
        return 0
    revoked = _revoke_all(root, environ)
    resolution.forget_verified(inp, environ)
    cache.clear(environ)
    for directory in {inp.start, root}:  # direnv's cached environment (uvnix.sh)
        digest = hashlib.sha256(os.fsencode(str(directory))).hexdigest()
        with contextlib.suppress(OSError):
            (paths.direnv_cache_dir(environ) / f"{digest}.sh").unlink()
    for source in revoked:
        sys.stderr.write(f"Revoked nixpkgs source {display(source)} for {display_path(root)}\n")
    if not revoked:
        sys.stderr.write(f"Nothing was allowed for {display_path(root)}; forgot its verified "
                         "lock and cached state\n")
    return 0
