"""The work directory beside the lock (``.uvx-nix/``): its GC roots, and the marks that say
this machine verified a lock file, so an unchanged lock needs no Nix."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import files, paths
from uvx_nix.errors import (
    EXIT_CONFIG,
    UserError,
)
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile

WORK = ".uvx-nix"


def roots_dir(lock_dir: Path) -> Path:
    """Where the GC roots of the lock in ``lock_dir`` live (not created: see work_dir)."""
    return lock_dir / WORK / "gcroots"


def gcroot(lock_dir: Path, name: str) -> Path:
    """The GC root ``name`` beside the lock in ``lock_dir``, its directory made safe first."""
    work_dir(lock_dir)
    return roots_dir(lock_dir) / name


def work_dir(lock_dir: Path) -> Path:
    """``.uvx-nix/`` beside the lockfile: GC roots and the file lock, git-ignored.

    A cloned repository may have committed one, so it must be a real directory (not a
    symlink elsewhere), as must ``gcroots/`` in it, and a committed ``lock`` symlink is
    removed before the file lock opens it (an older filelock would truncate its target)."""
    directory = lock_dir / WORK
    try:
        for path in (directory, roots_dir(lock_dir)):
            if not os.path.lexists(path):
                path.mkdir(parents=True, exist_ok=True)  # parallel first calls race here
            if not files.real_directory(path):
                raise UserError(f"{path} is a symlink or not your directory; remove it (uvx-nix "
                                "keeps per-machine GC roots there)", EXIT_CONFIG)
        files.create_new(directory / ".gitignore",
                         b"# Created by uvx-nix: per-machine GC roots and locks.\n*\n")
        lock = directory / "lock"
        if os.path.islink(lock):
            os.unlink(lock)
        elif os.path.lexists(lock) and not lock.is_file():
            raise UserError(f"{lock} is not a regular file; remove it (uvx-nix's file lock)",
                            EXIT_CONFIG)
    except OSError as exc:
        raise UserError(f"cannot create {directory} ({exc.strerror}); remove or rename what is "
                        "in the way", EXIT_CONFIG) from exc
    return directory


def verified_marker(environ: Mapping[str, str], lock_dir: Path, raw: bytes) -> Path:
    """Marks a lockfile this machine checked: keyed by its bytes *and* where it lives (the
    same bytes elsewhere may name a source, such as /proc/self/cwd/..., that differs)."""
    name = paths.digest(str(lock_dir).encode("utf-8", "surrogateescape") + b"\0" + raw, 64)
    return paths.cache_dir(environ) / "verified" / name


def mark_verified(environ: Mapping[str, str], lock_dir: Path, raw: bytes) -> None:
    marker = verified_marker(environ, lock_dir, raw)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass


def link_target(link: Path) -> str | None:
    try:
        return os.readlink(link)
    except OSError:
        return None


def restore_root(gcroot: Path, target: str | None) -> None:
    """Put a GC root back where it pointed before a build whose result is refused (a request
    nixpkgs cannot satisfy): the project's interpreter must stay rooted."""
    try:
        if target is None:
            gcroot.unlink(missing_ok=True)
            return
        tmp = gcroot.with_name(f".{gcroot.name}.{os.getpid()}.restore")
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, gcroot)
    except OSError:
        pass


def same_file(path: Path, raw: bytes) -> bool:
    try:
        return files.read_bounded(path, lockfile.MAX_BYTES, within=path.parent) == raw
    except (OSError, UserError):
        return False


def forget_verified(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> None:
    """Drop this machine's verified marks for the project's current lock files (`deny`)."""
    for path in (inp.lock_path, inp.committed_lock):
        if path is None:
            continue
        try:
            raw = files.read_bounded(path, lockfile.MAX_BYTES, within=path.parent)
        except (OSError, UserError):
            continue
        with contextlib.suppress(OSError):
            verified_marker(environ, inp.lock_dir, raw).unlink()


def gcroot_points(gcroot: Path, entry: lockfile.SystemEntry) -> bool:
    """The project's GC root exists and holds the locked interpreter."""
    try:
        target = os.readlink(gcroot)
        if not target.startswith("/nix/store/") or "/.." in target:
            return False  # not one nix made: never read through it
        with open(os.path.join(target, "manifest.nix"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return False
    return entry.python in text and all(lib.path in text for lib in entry.libraries)
