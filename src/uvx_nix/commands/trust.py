"""``uvx-nix nix allow [SOURCE]`` and ``uvx-nix nix deny``: permissions for a project's own
nixpkgs source (the policy itself is in :mod:`uvx_nix.resolve.trust`)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import argv as argv_mod
from uvx_nix import cache, output, paths
from uvx_nix.commands import usage
from uvx_nix.errors import UserError, display, display_path
from uvx_nix.resolve import inputs, resolution, trust, workdir


def _grant(root: Path, source: str, environ: Mapping[str, str]) -> None:
    directory = trust._allow_dir(environ)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / trust._key(root, source)).write_text(
        json.dumps({"project": str(root), "source": source}) + "\n")


def _revoke_all(root: Path, environ: Mapping[str, str]) -> list[str]:
    """Remove every permission given for ``root``; returns the sources."""
    revoked: list[str] = []
    directory = trust._allow_dir(environ)
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
    parser = usage.Parser(prog=f"uvx-nix nix {name}")
    parser.add_argument("--directory", help="the project directory (default: here)")
    if name == "allow":
        parser.add_argument("source", nargs="?",
                            help="the nixpkgs source to allow (default: the one uvx-nix "
                                 "asked about)")
    args = usage.parse(parser, argv)
    if args is None:
        return 0
    inp = inputs.gather(argv_mod.sync(args.directory), environ)
    if inp.project is None:
        raise UserError("no project here (no pyproject.toml); run it in the project directory")
    root = inp.project.root
    own = {k: v for k, v in environ.items() if k != "UVX_NIX_TRUST"}
    if name == "allow":
        if args.source is not None:
            _grant(root, args.source, environ)
            output.notice(f"Allowed nixpkgs source {display(args.source)} for "
                          f"{display_path(root)}")
            return 0
        try:
            resolution.check_permission(inp, own)
        except trust.UntrustedError as needed:
            _grant(root, needed.source, environ)
            how = "pinned by" if needed.pinned else "named by"
            output.notice(f"Allowed nixpkgs source {display(needed.source)} ({how} "
                          f"{display_path(needed.origin)}) for {display_path(root)}")
            return 0
        output.notice(f"Nothing to allow: every nixpkgs source {display_path(root)} uses "
                      "is yours, in the store, or already allowed")
        return 0
    revoked = _revoke_all(root, environ)
    workdir.forget_verified(inp, environ)
    cache.clear(environ)
    for directory in {inp.start, root}:  # direnv's cached environment (uvnix.sh)
        digest = paths.digest(os.fsencode(str(directory)), 64)
        with contextlib.suppress(OSError):
            (paths.direnv_cache_dir(environ) / f"{digest}.sh").unlink()
    for source in revoked:
        output.notice(f"Revoked nixpkgs source {display(source)} for {display_path(root)}")
    if not revoked:
        output.notice(f"Nothing was allowed for {display_path(root)}; forgot its verified "
                      "lock and cached state")
    return 0
