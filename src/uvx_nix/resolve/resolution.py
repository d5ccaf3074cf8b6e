"""The slow path: inputs -> lockfile (resolving with Nix when needed) -> state fields.

Runs under a file lock per lockfile, so N parallel cold calls run Nix once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from uvx_nix import files, output
from uvx_nix.argv import Invocation
from uvx_nix.errors import (
    EXIT_LOCKFILE,
    EXIT_NIX_FAILED,
    UserError,
    display_path,
)
from uvx_nix.native import venvs
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile, nix, sources, specs, statusline, trust, workdir

LOCK_TIMEOUT = 600.0


@dataclass(frozen=True)
class Resolved:
    inputs: inputs_mod.Inputs
    lock: lockfile.Lock
    entry: lockfile.SystemEntry
    gcroot: Path
    nix_runs: int
    lock_written: bool
    lock_unsaved: bool = False  # resolved, but the lock could not be written: do not memo it
    nixpkgs_release: str = ""  # nixpkgs' lib.trivial.release, when Nix ran and gave one
    fell_back: bool = False  # Nix failed: this is the last good resolution

    def fields(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        libs = ":".join(f"{lib.path}/lib" for lib in self.entry.libraries)
        site = ""
        if self.inputs.project is not None and environ is not None:

            where = venvs.safe_location(self.inputs.project.root, environ)
            if where is not None:
                try:
                    site = str(venvs.site_packages(where, self.entry.interpreter))
                except ValueError:
                    site = ""
        return {
            "python_bin": os.path.dirname(self.entry.interpreter),
            "interpreter": self.entry.interpreter,
            "libs": libs,
            "strategy": self.inputs.strategy,
            "gcroot": str(self.gcroot),
            "lockfile": str(self.inputs.lock_path),
            "site": site,
            "site_sig": "",
            "auto": "1" if self.inputs.auto_libraries else "0",
            "root": str(self.inputs.project.root) if self.inputs.project else "",
            "lock_dir": str(self.inputs.lock_dir),
            "preference": "config" if self.inputs.preference else "",
        }


def warn(message: str, quiet: bool = False) -> None:
    """A warning, unless this step runs quietly (a check in the background)."""
    if not quiet:
        output.warn(message)


def venv_interpreter(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> list[str]:
    """The store path of the interpreter the project's venv uses now, if any: the project's
    GC root keeps it too, so a venv never loses its interpreter to the GC while it exists
    (uv recreates it on the new interpreter only when it next syncs)."""
    if inp.project is None or inp.one_off:
        return []

    try:
        home = venvs.home(venvs.location(inp.project.root, environ))
    except UserError:
        return []  # a pyvenv.cfg refused unread (a FIFO, a link out): nothing to keep
    if not home:
        return []
    real = os.path.realpath(home)
    parts = real.split("/")
    store_path = "/".join(parts[:4])
    if len(parts) < 4 or not lockfile.is_store_path(store_path) or \
            not os.path.isdir(store_path):
        return []
    return [store_path]


def _realise_locked(inp: inputs_mod.Inputs, lock: lockfile.Lock, entry: lockfile.SystemEntry,
                    gcroot: Path, environ: Mapping[str, str], quiet: bool) -> str:
    """Rebuild exactly the locked attributes from the locked nixpkgs; they must match.

    Only attributes the inputs ask for are built: a committed lock cannot add builds."""
    extra = sorted({lib.attribute for lib in entry.libraries} - set(inp.libraries))
    if extra:
        raise UserError(
            f"{display_path(inp.lock_path)} lists libraries the inputs do not ask for "
            f"({', '.join(map(repr, extra[:5]))}); it was edited: review it, then run "
            "`uvx-nix nix lock --upgrade`", EXIT_LOCKFILE)
    spec = specs.locked_spec(inp, lock, entry.python_attribute,
                       [lib.attribute for lib in entry.libraries], venv_interpreter(inp, environ))
    manifest = nix.build(spec, gcroot, environ, what="checking the locked interpreter",
                         quiet=quiet)
    got = manifest.get("python") or {}
    pairs = [(entry.python, got.get("out"), entry.python_attribute),
             (entry.interpreter, got.get("interpreter"), entry.python_attribute),
             (entry.python_version, got.get("version"), entry.python_attribute),
             (entry.implementation, got.get("implementation"), entry.python_attribute)]
    got_libs = manifest.get("libraries") or []
    if len(got_libs) != len(entry.libraries):
        raise UserError(
            f"{inp.lock_path} lists libraries the locked nixpkgs does not give; it was edited or "
            "comes from another nixpkgs: run `uvx-nix nix lock --upgrade`", EXIT_LOCKFILE)
    pairs += [(lib.path, g.get("out"), lib.attribute) for lib, g in zip(entry.libraries, got_libs,
                                                                          strict=True)]
    for locked, actual, attribute in pairs:
        if locked != actual:
            raise UserError(
                f"{inp.lock_path} names {locked} for {attribute}, but the locked nixpkgs gives "
                f"{actual}; the lock was edited or comes from another nixpkgs: review it, then "
                "run `uvx-nix nix lock --upgrade`", EXIT_LOCKFILE)
    return specs.release(manifest)


def ensure(inp: inputs_mod.Inputs, environ: Mapping[str, str], *, quiet: bool = False,
           upgrade: bool = False, fallback: bool = True,
           without_missing_libraries: bool = False) -> Resolved:
    """The locked resolution for ``inp``, resolving or realising with Nix only when needed."""
    for message in inp.warnings:
        warn(message, quiet)
    work = workdir.work_dir(inp.lock_dir)
    gcroot = workdir.roots_dir(inp.lock_dir) / inp.system  # work_dir made (and checked) it
    try:
        with FileLock(str(work / "lock"), timeout=LOCK_TIMEOUT):
            return _ensure_locked(inp, environ, gcroot, quiet=quiet, upgrade=upgrade,
                                  fallback=fallback, lenient=without_missing_libraries)
    except Timeout as exc:
        raise UserError(f"another uvx-nix has held {work / 'lock'} for {LOCK_TIMEOUT:.0f}s; "
                        "if none is running, delete that file", EXIT_NIX_FAILED) from exc


def _uses_lock(inp: inputs_mod.Inputs, lock: lockfile.Lock | None, fingerprint: str,
               upgrade: bool) -> bool:
    """Whether this resolution evaluates the lock's pinned nixpkgs (rather than the
    configured source): the lock still matches, or only other inputs changed."""
    if lock is None or upgrade:
        return False
    matches = lock.fingerprint == fingerprint and inp.system in lock.systems
    return matches or lock.inputs.get("nixpkgs") == inp.nixpkgs.ref


def _ensure_locked(inp: inputs_mod.Inputs, environ: Mapping[str, str], gcroot: Path, *,
                   quiet: bool, upgrade: bool, fallback: bool, lenient: bool = False
                   ) -> Resolved:
    fingerprint = inp.fingerprint()
    lock, raw = check_permission(inp, environ, upgrade)
    if lock and lock.fingerprint == fingerprint and not upgrade and inp.system in lock.systems:
        entry = lock.systems[inp.system]
        if lock.migrated_from is not None:
            raw = _rewrite_migrated(inp, lock, environ, quiet)
        present = entry.present()
        verified = workdir.verified_marker(environ, inp.lock_dir, raw).exists()
        if present and verified and workdir.gcroot_points(gcroot, entry):
            return Resolved(inp, lock, entry, gcroot, 0, False)
        # A lock this machine has not checked, or paths gone: rebuild exactly what it names.
        release = _realise_locked(inp, lock, entry, gcroot, environ, quiet)
        workdir.mark_verified(environ, inp.lock_dir, raw)
        return Resolved(inp, lock, entry, gcroot, 1, False, nixpkgs_release=release)

    runs = 0
    same_source = _uses_lock(inp, lock, fingerprint, upgrade)
    nar_hash = ""
    try:
        if lock is not None and same_source:
            source = specs.locked_source(lock)
            url, kind = lock.nixpkgs_url, lock.nixpkgs_kind
            nar_hash = lock.nixpkgs_nar_hash
        else:
            kind = inp.nixpkgs.kind
            source, url, runs = specs.fresh_source(inp, environ, quiet)
        spec = specs.resolve_spec(inp, source, specs.python_spec(inp), list(inp.libraries),
                     venv_interpreter(inp, environ))
        previous = workdir.link_target(gcroot)
        manifest = nix.build(spec, gcroot, environ, what="resolving the Python interpreter",
                             quiet=quiet)
        runs += 1
    except UserError as exc:
        good = _last_good(inp, environ, lock, raw, gcroot) if fallback else None
        if exc.exit_code != EXIT_NIX_FAILED or good is None or lock is None:
            raise
        cause = exc.message.splitlines()[0]  # not the failed build's last lines
        warn(f"{cause}; using the last good resolution from {inp.lock_path} "
             f"({good.python_attribute} {good.python_version})", quiet)
        return Resolved(inp, lock, good, gcroot, runs, False, lock_unsaved=True, fell_back=True)
    if kind == "path" and not nar_hash:
        nar_hash = sources.directory_nar_hash(manifest.get("source"))
    if lenient and manifest.get("missing") and manifest.get("python"):
        return _without_missing(inp, manifest, lockfile.Lock(
            fingerprint, specs.lock_inputs(inp, environ), url, kind, nixpkgs_nar_hash=nar_hash),
            gcroot, runs, quiet)
    entry = _accepted_entry(manifest, inp, gcroot, previous)
    url = _url_to_lock(inp, kind, url, manifest, environ, fresh=not same_source, quiet=quiet)
    if not same_source:
        trust.record_locked(environ, inp.nixpkgs.kind, inp.nixpkgs.ref, kind, url)
    systems = dict(lock.systems) if (lock and lock.fingerprint == fingerprint and same_source
                                      and not upgrade) else {}
    systems[inp.system] = entry
    new = lockfile.Lock(fingerprint, specs.lock_inputs(inp, environ), url, kind, systems,
                        nixpkgs_nar_hash=nar_hash)
    try:
        raw = lockfile.write(inp.lock_path, new)
    except OSError as exc:
        warn(f"could not write {inp.lock_path} ({exc.strerror}); using the result without "
             "saving it", quiet)
        return Resolved(inp, new, entry, gcroot, runs, False, lock_unsaved=True,
                        nixpkgs_release=specs.release(manifest))
    workdir.mark_verified(environ, inp.lock_dir, raw)
    return Resolved(inp, new, entry, gcroot, runs, True, nixpkgs_release=specs.release(manifest))


def _url_to_lock(inp: inputs_mod.Inputs, kind: str, url: str, manifest: Mapping[str, Any],
                 environ: Mapping[str, str], *, fresh: bool, quiet: bool) -> str:
    """What the lock names for the nixpkgs just evaluated: a flake by its locked URL (a
    fetchable one where the system's revision is known), a channel by the revision it records;
    a warning when only this machine can use it."""
    unshared = None
    if kind == "flake":
        if not sources.is_locked(url) and isinstance(manifest.get("source"), dict):
            url = sources.locked_url_from_source_info(url, manifest["source"])
        url, unshared = sources.shareable(
            url, environ, from_registry=inp.nixpkgs.ref in ("nixpkgs", "flake:nixpkgs"))
    elif kind == "channel" and fresh:
        url, unshared = sources.pinned_channel(manifest.get("source"))
    if unshared:
        warn(unshared, quiet)
    return url


def _accepted_entry(manifest: dict[str, Any], inp: inputs_mod.Inputs, gcroot: Path,
                    previous: str | None) -> lockfile.SystemEntry:
    """The result as a lock entry; a refused one (no matching interpreter, a missing library)
    puts the GC root back where it was."""
    try:
        return specs.entry_from_manifest(manifest, inp)
    except UserError:
        workdir.restore_root(gcroot, previous)
        raise


def _without_missing(inp: inputs_mod.Inputs, manifest: dict[str, Any], lock: lockfile.Lock,
                     gcroot: Path, runs: int, quiet: bool) -> Resolved:
    """A configured library nixpkgs does not have blocks only what needs the libraries:
    `uv remove`, `uv lock` and friends run without it, and nothing is locked."""
    missing = ", ".join(map(repr, manifest["missing"]))
    warn(f"nixpkgs has no library attribute {missing}; running without it (commands that run "
         "code stop here until you fix 'libraries' in [tool.uvx-nix], the user config or "
         "UVX_NIX_LIBRARIES)", quiet)
    entry = specs.entry_from_manifest({**manifest, "missing": []}, inp)
    lock = lockfile.Lock(lock.fingerprint, lock.inputs, lock.nixpkgs_url, lock.nixpkgs_kind,
                         {inp.system: entry}, nixpkgs_nar_hash=lock.nixpkgs_nar_hash)
    return Resolved(inp, lock, entry, gcroot, runs, False, lock_unsaved=True)


def _read_lock(inp: inputs_mod.Inputs, fingerprint: str) -> tuple[lockfile.Lock | None, bytes]:
    """The lock and its bytes; for a read-only checkout, its committed lock when that matches."""
    existing = lockfile.read(inp.lock_path)
    lock, raw = existing if existing else (None, b"")
    if inp.committed_lock is not None and not (
            lock and lock.fingerprint == fingerprint and inp.system in lock.systems):
        committed = lockfile.read(inp.committed_lock)
        if committed and committed[0].fingerprint == fingerprint and \
                inp.system in committed[0].systems:
            return committed
    return lock, raw


def _last_good(inp: inputs_mod.Inputs, environ: Mapping[str, str], lock: lockfile.Lock | None,
               raw: bytes, gcroot: Path) -> lockfile.SystemEntry | None:
    """When Nix fails on changed inputs: the previous entry, if this machine verified it and it
    is still rooted and present (nix-direnv's fallback to the last good environment)."""
    if lock is None or inp.system not in lock.systems:
        return None
    entry = lock.systems[inp.system]
    if not workdir.verified_marker(environ, inp.lock_dir, raw).exists() or \
            not workdir.gcroot_points(gcroot, entry):
        return None
    return entry if entry.present() else None


def _rewrite_migrated(inp: inputs_mod.Inputs, lock: lockfile.Lock, environ: Mapping[str, str],
                      quiet: bool) -> bytes:
    """An older-format lock that still matches: rewrite it in the current format."""
    old = files.read_bounded(inp.lock_path, lockfile.MAX_BYTES, within=inp.lock_dir,
                             code=EXIT_LOCKFILE)
    try:
        new = lockfile.write(inp.lock_path, lock)
    except OSError as exc:
        warn(f"could not rewrite {inp.lock_path} in the current format ({exc.strerror})", quiet)
        return old
    if workdir.verified_marker(environ, inp.lock_dir, old).exists():
        workdir.mark_verified(environ, inp.lock_dir, new)
    warn(f"migrated {inp.lock_path} from format {lock.migrated_from} to {lockfile.FORMAT}", quiet)
    return new


def no_progress(invocation: Invocation, environ: Mapping[str, str]) -> Mapping[str, str]:
    """uv's ``--no-progress`` hides uvx-nix's status line too (Nix's run reads the variable)."""
    if statusline.asked_no_progress(invocation.args):
        return {**environ, "UV_NO_PROGRESS": "1"}
    return environ


def check_permission(inp: inputs_mod.Inputs, environ: Mapping[str, str],
                     upgrade: bool = False) -> tuple[lockfile.Lock | None, bytes]:
    """Raise trust.UntrustedError unless the nixpkgs this resolution would evaluate (the lock's or
    the configured one) is permitted; returns the lock it read.  `nix allow` runs this too,
    so it approves exactly the source this names."""
    lock, raw = _read_lock(inp, inp.fingerprint())
    if lock is not None and _uses_lock(inp, lock, inp.fingerprint(), upgrade):
        origin = inp.committed_lock if raw and inp.committed_lock is not None and \
            workdir.same_file(inp.committed_lock, raw) else inp.lock_path
        trust.permit_lock(inp, environ, lock, origin)
    else:
        trust.permit_configured(inp, environ)
    return lock, raw
