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

import json
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import paths
from uvx_nix.errors import EXIT_UNTRUSTED, UserError, display, display_path
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile

# No locked source from elsewhere passes on its looks (see permit_lock): not
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
    return paths.digest(blob, 64)


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
    return paths.digest(blob, 64)


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


def permit_configured(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> None:
    """The configured nixpkgs source may be evaluated: it is yours, or allowed."""
    if inp.project_source:
        root = inp.project.root if inp.project else inp.lock_dir
        require(root, inp.nixpkgs.ref, inp.nixpkgs.origin, environ)


def permit_lock(inp: inputs_mod.Inputs, environ: Mapping[str, str], lock: lockfile.Lock,
                origin: Path) -> None:
    """The nixpkgs a lock pins may be evaluated, or its outputs used.

    Asked on every slow path; what the lock claims in [inputs] and whether this machine
    verified it grant nothing.  It passes when it is your channel, exactly the configured
    source, or what this machine itself locked the configured source to (then the configured
    source must be permitted); anything else needs its own `uvx-nix nix allow`.  (A `path`
    source such as /proc/self/cwd/... would otherwise evaluate the repository's own Nix code.)
    Being in the store proves nothing about a source: evaluating a project's flake (direnv's
    `use flake`, `nix develop`) copies the repository itself there, under a name its author
    can compute, so a stranger's lock naming `path:/nix/store/...-source` needs permission
    too."""
    kind, url = lock.nixpkgs_kind, lock.nixpkgs_url
    # Your own channel as it is; a channel pinned to a revision may fetch it from GitHub, so
    # a lock from elsewhere pinning one needs permission, as a GitHub flake ref does.
    if kind == "channel" and url == "<nixpkgs>":
        return
    own = inp.nixpkgs
    if (kind == own.kind and url == own.ref) or \
            locked_here(environ, own.kind, own.ref, kind, url):
        permit_configured(inp, environ)
        return
    root = inp.project.root if inp.project else inp.lock_dir
    require(root, url, str(origin), environ, instead_of=own.ref)


