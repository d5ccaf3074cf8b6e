"""The slow path: inputs -> lockfile (resolving with Nix when needed) -> state fields.

Runs under a file lock per lockfile, so N parallel cold calls run Nix once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uvx_nix import paths
from uvx_nix.argv import Invocation
from uvx_nix.errors import (
    EXIT_CONFIG,
    EXIT_LOCKFILE,
    EXIT_NIX_FAILED,
    EXIT_NO_MATCH,
    UserError,
    display_path,
    printable,
)
from uvx_nix.native import sonames, venvs
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile, nix

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
    if not quiet:
        sys.stderr.write(f"warning: uvx-nix: {printable(message)}\n")


def work_dir(lock_dir: Path) -> Path:
    """``.uvx-nix/`` beside the lockfile: GC roots and the file lock, git-ignored.

    A cloned repository may have committed one, so it must be a real directory (not a
    symlink elsewhere), as must ``gcroots/`` in it, and a committed ``lock`` symlink is
    removed before the file lock opens it (an older filelock would truncate its target)."""
    from uvx_nix import files

    directory = lock_dir / ".uvx-nix"
    try:
        for path in (directory, directory / "gcroots"):
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


def _verified_marker(environ: Mapping[str, str], lock_dir: Path, raw: bytes) -> Path:
    """Marks a lockfile this machine checked: keyed by its bytes *and* where it lives (the
    same bytes elsewhere may name a source, such as /proc/self/cwd/..., that differs)."""
    digest = hashlib.sha256(str(lock_dir).encode("utf-8", "surrogateescape") + b"\0" + raw)
    return paths.cache_dir(environ) / "verified" / digest.hexdigest()


def _mark_verified(environ: Mapping[str, str], lock_dir: Path, raw: bytes) -> None:
    marker = _verified_marker(environ, lock_dir, raw)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass


def _python_spec(inp: inputs_mod.Inputs) -> dict[str, Any]:
    req = inp.python
    if req.kind in ("default", "path"):
        return {"mode": "default", "implementation": None, "clauses": [], "freeThreaded": False}
    return {
        "mode": "match",
        "implementation": req.implementation,
        "clauses": [c.to_json() for c in req.clauses],
        "freeThreaded": req.free_threaded,
    }


def _spec(inp: inputs_mod.Inputs, source: dict[str, str], python: dict[str, Any],
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


def _link_target(link: Path) -> str | None:
    try:
        return os.readlink(link)
    except OSError:
        return None


def _restore_root(gcroot: Path, target: str | None) -> None:
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


def _entry_from_manifest(manifest: dict[str, Any], inp: inputs_mod.Inputs) -> lockfile.SystemEntry:
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
    lockfile._entry(inp.lock_path, inp.system, {
        "python-attribute": entry.python_attribute, "python-version": entry.python_version,
        "implementation": entry.implementation, "python": entry.python,
        "interpreter": entry.interpreter,
        "libraries": [{"attribute": lib.attribute, "path": lib.path} for lib in entry.libraries],
    })
    return entry


def locked_source(lock: lockfile.Lock) -> dict[str, str]:
    """The lock's nixpkgs as a spec's source (what every later evaluation of it uses)."""
    return _locked_source(lock)


def _locked_source(lock: lockfile.Lock) -> dict[str, str]:
    if lock.nixpkgs_kind == "flake":
        return {"type": "flake", "ref": nix.local_source(lock.nixpkgs_url)}
    if lock.nixpkgs_kind == "channel":
        rev = nix.channel_revision(lock.nixpkgs_url)
        return {"type": "revision", "rev": rev} if rev else {"type": "channel"}
    if lock.nixpkgs_nar_hash:
        return {"type": "path", "path": lock.nixpkgs_url, "narHash": lock.nixpkgs_nar_hash}
    return {"type": "path", "path": lock.nixpkgs_url}


def locked_spec(inp: inputs_mod.Inputs, lock: lockfile.Lock, python_attribute: str,
                libraries: list[str], keep: list[str] | None = None) -> dict[str, Any]:
    """The spec that builds exactly these attributes from the lock's nixpkgs (no matching)."""
    python: dict[str, Any] = {"mode": "attribute", "attribute": python_attribute,
                              "implementation": None, "clauses": [], "freeThreaded": False}
    return _spec(inp, _locked_source(lock), python, libraries, keep)


def fresh_source(inp: inputs_mod.Inputs, environ: Mapping[str, str], quiet: bool
                 ) -> tuple[dict[str, str], str, int]:
    """The configured source as a spec, locking a floating registry ref first (one
    `nix flake metadata`): (spec, its URL, Nix processes started)."""
    url = inp.nixpkgs.ref
    if inp.nixpkgs.kind != "flake":
        return inp.nixpkgs.to_spec(), url, 0
    runs = 0
    if not nix.is_locked(url) and _needs_metadata(url):
        url = nix.lock_flake(url, environ, quiet)
        runs = 1
    return {"type": "flake", "ref": url}, url, runs


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
    spec = locked_spec(inp, lock, entry.python_attribute,
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
    return _release(manifest)


def _release(manifest: Mapping[str, Any]) -> str:
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


def _lock_inputs(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> dict[str, Any]:
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


def ensure(inp: inputs_mod.Inputs, environ: Mapping[str, str], *, quiet: bool = False,
           upgrade: bool = False, fallback: bool = True,
           without_missing_libraries: bool = False) -> Resolved:
    """The locked resolution for ``inp``, resolving or realising with Nix only when needed."""
    from filelock import FileLock, Timeout

    for message in inp.warnings:
        warn(message, quiet)
    work = work_dir(inp.lock_dir)
    gcroot = work / "gcroots" / inp.system
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
        present = all(os.path.exists(p) for p in entry.store_paths())
        verified = _verified_marker(environ, inp.lock_dir, raw).exists()
        if present and verified and gcroot_points(gcroot, entry):
            return Resolved(inp, lock, entry, gcroot, 0, False)
        # A lock this machine has not checked, or paths gone: rebuild exactly what it names.
        release = _realise_locked(inp, lock, entry, gcroot, environ, quiet)
        _mark_verified(environ, inp.lock_dir, raw)
        return Resolved(inp, lock, entry, gcroot, 1, False, nixpkgs_release=release)

    runs = 0
    same_source = _uses_lock(inp, lock, fingerprint, upgrade)
    nar_hash = ""
    try:
        if lock is not None and same_source:
            source = _locked_source(lock)
            url, kind = lock.nixpkgs_url, lock.nixpkgs_kind
            nar_hash = lock.nixpkgs_nar_hash
        else:
            kind = inp.nixpkgs.kind
            source, url, runs = fresh_source(inp, environ, quiet)
        spec = _spec(inp, source, _python_spec(inp), list(inp.libraries),
                     venv_interpreter(inp, environ))
        previous = _link_target(gcroot)
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
        nar_hash = nix.directory_nar_hash(manifest.get("source"))
    if lenient and manifest.get("missing") and manifest.get("python"):
        return _without_missing(inp, manifest, lockfile.Lock(
            fingerprint, _lock_inputs(inp, environ), url, kind, nixpkgs_nar_hash=nar_hash),
            gcroot, runs, quiet)
    entry = _accepted_entry(manifest, inp, gcroot, previous)
    url = _url_to_lock(inp, kind, url, manifest, environ, fresh=not same_source, quiet=quiet)
    if not same_source:
        from uvx_nix.resolve import trust

        trust.record_locked(environ, inp.nixpkgs.kind, inp.nixpkgs.ref, kind, url)
    systems = dict(lock.systems) if (lock and lock.fingerprint == fingerprint and same_source
                                      and not upgrade) else {}
    systems[inp.system] = entry
    new = lockfile.Lock(fingerprint, _lock_inputs(inp, environ), url, kind, systems,
                        nixpkgs_nar_hash=nar_hash)
    try:
        raw = lockfile.write(inp.lock_path, new)
    except OSError as exc:
        warn(f"could not write {inp.lock_path} ({exc.strerror}); using the result without "
             "saving it", quiet)
        return Resolved(inp, new, entry, gcroot, runs, False, lock_unsaved=True,
                        nixpkgs_release=_release(manifest))
    _mark_verified(environ, inp.lock_dir, raw)
    return Resolved(inp, new, entry, gcroot, runs, True, nixpkgs_release=_release(manifest))


def _url_to_lock(inp: inputs_mod.Inputs, kind: str, url: str, manifest: Mapping[str, Any],
                 environ: Mapping[str, str], *, fresh: bool, quiet: bool) -> str:
    """What the lock names for the nixpkgs just evaluated: a flake by its locked URL (a
    fetchable one where the system's revision is known), a channel by the revision it records;
    a warning when only this machine can use it."""
    unshared = None
    if kind == "flake":
        if not nix.is_locked(url) and isinstance(manifest.get("source"), dict):
            url = nix.locked_url_from_source_info(url, manifest["source"])
        url, unshared = nix.shareable(
            url, environ, from_registry=inp.nixpkgs.ref in ("nixpkgs", "flake:nixpkgs"))
    elif kind == "channel" and fresh:
        url, unshared = nix.pinned_channel(manifest.get("source"))
    if unshared:
        warn(unshared, quiet)
    return url


def _accepted_entry(manifest: dict[str, Any], inp: inputs_mod.Inputs, gcroot: Path,
                    previous: str | None) -> lockfile.SystemEntry:
    """The result as a lock entry; a refused one (no matching interpreter, a missing library)
    puts the GC root back where it was."""
    try:
        return _entry_from_manifest(manifest, inp)
    except UserError:
        _restore_root(gcroot, previous)
        raise


def _without_missing(inp: inputs_mod.Inputs, manifest: dict[str, Any], lock: lockfile.Lock,
                     gcroot: Path, runs: int, quiet: bool) -> Resolved:
    """A configured library nixpkgs does not have blocks only what needs the libraries:
    `uv remove`, `uv lock` and friends run without it, and nothing is locked."""
    missing = ", ".join(map(repr, manifest["missing"]))
    warn(f"nixpkgs has no library attribute {missing}; running without it (commands that run "
         "code stop here until you fix 'libraries' in [tool.uvx-nix], the user config or "
         "UVX_NIX_LIBRARIES)", quiet)
    entry = _entry_from_manifest({**manifest, "missing": []}, inp)
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


def permit_configured(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> None:
    """The configured nixpkgs source may be evaluated: it is yours, or allowed."""
    from uvx_nix.resolve import trust

    if inp.project_source:
        root = inp.project.root if inp.project else inp.lock_dir
        trust.require(root, inp.nixpkgs.ref, inp.nixpkgs.origin, environ)


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
    from uvx_nix.resolve import trust

    kind, url = lock.nixpkgs_kind, lock.nixpkgs_url
    # Your own channel as it is; a channel pinned to a revision may fetch it from GitHub, so
    # a lock from elsewhere pinning one needs permission, as a GitHub flake ref does.
    if kind == "channel" and url == "<nixpkgs>":
        return
    own = inp.nixpkgs
    if (kind == own.kind and url == own.ref) or \
            trust.locked_here(environ, own.kind, own.ref, kind, url):
        permit_configured(inp, environ)
        return
    root = inp.project.root if inp.project else inp.lock_dir
    trust.require(root, url, str(origin), environ, instead_of=own.ref)


def check_permission(inp: inputs_mod.Inputs, environ: Mapping[str, str],
                     upgrade: bool = False) -> tuple[lockfile.Lock | None, bytes]:
    """Raise trust.UntrustedError unless the nixpkgs this resolution would evaluate (the lock's or
    the configured one) is permitted; returns the lock it read.  `nix allow` runs this too,
    so it approves exactly the source this names."""
    lock, raw = _read_lock(inp, inp.fingerprint())
    if lock is not None and _uses_lock(inp, lock, inp.fingerprint(), upgrade):
        origin = inp.committed_lock if raw and inp.committed_lock is not None and \
            _same_file(inp.committed_lock, raw) else inp.lock_path
        permit_lock(inp, environ, lock, origin)
    else:
        permit_configured(inp, environ)
    return lock, raw


def _same_file(path: Path, raw: bytes) -> bool:
    from uvx_nix import files

    try:
        return files.read_bounded(path, lockfile.MAX_BYTES, within=path.parent) == raw
    except (OSError, UserError):
        return False


def forget_verified(inp: inputs_mod.Inputs, environ: Mapping[str, str]) -> None:
    """Drop this machine's verified marks for the project's current lock files (`deny`)."""
    from uvx_nix import files

    for path in (inp.lock_path, inp.committed_lock):
        if path is None:
            continue
        try:
            raw = files.read_bounded(path, lockfile.MAX_BYTES, within=path.parent)
        except (OSError, UserError):
            continue
        with contextlib.suppress(OSError):
            _verified_marker(environ, inp.lock_dir, raw).unlink()


def _last_good(inp: inputs_mod.Inputs, environ: Mapping[str, str], lock: lockfile.Lock | None,
               raw: bytes, gcroot: Path) -> lockfile.SystemEntry | None:
    """When Nix fails on changed inputs: the previous entry, if this machine verified it and it
    is still rooted and present (nix-direnv's fallback to the last good environment)."""
    if lock is None or inp.system not in lock.systems:
        return None
    entry = lock.systems[inp.system]
    if not _verified_marker(environ, inp.lock_dir, raw).exists() or \
            not gcroot_points(gcroot, entry):
        return None
    return entry if all(os.path.exists(p) for p in entry.store_paths()) else None


def _rewrite_migrated(inp: inputs_mod.Inputs, lock: lockfile.Lock, environ: Mapping[str, str],
                      quiet: bool) -> bytes:
    """An older-format lock that still matches: rewrite it in the current format."""
    from uvx_nix import files

    old = files.read_bounded(inp.lock_path, lockfile.MAX_BYTES, within=inp.lock_dir,
                             code=EXIT_LOCKFILE)
    try:
        new = lockfile.write(inp.lock_path, lock)
    except OSError as exc:
        warn(f"could not rewrite {inp.lock_path} in the current format ({exc.strerror})", quiet)
        return old
    if _verified_marker(environ, inp.lock_dir, old).exists():
        _mark_verified(environ, inp.lock_dir, new)
    warn(f"migrated {inp.lock_path} from format {lock.migrated_from} to {lockfile.FORMAT}", quiet)
    return new


def _needs_metadata(ref: str) -> bool:
    """Indirect (registry) refs need `nix flake metadata`; direct ones lock from sourceInfo."""
    return not ref.startswith(("path:", "github:", "gitlab:", "sourcehut:"))


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


def no_progress(invocation: Invocation, environ: Mapping[str, str]) -> Mapping[str, str]:
    """uv's ``--no-progress`` hides uvx-nix's status line too (Nix's run reads the variable)."""
    from uvx_nix.resolve import progress

    if progress.asked_no_progress(invocation.args):
        return {**environ, "UV_NO_PROGRESS": "1"}
    return environ


def _check_build(lock_path: Path, libraries: list[dict[str, Any]], environ: Mapping[str, str],
                 quiet: bool, what: str) -> dict[str, Any] | None:
    """Build ``libraries`` (spec entries) from the locked nixpkgs, rooted only while it runs;
    the manifest, or None when there is no lock to ask."""
    existing = lockfile.read(lock_path)
    system = inputs_mod.current_system()
    if existing is None or system not in existing[0].systems:
        return None
    lock = existing[0]
    spec = {
        "system": system,
        "nixpkgs": _locked_source(lock),
        "python": {"mode": "attribute", "attribute": lock.systems[system].python_attribute,
                   "implementation": None, "clauses": [], "freeThreaded": False},
        "libraries": libraries,
        "allowUnfree": False,
    }
    link = work_dir(lock_path.parent) / "gcroots" / f".check-{os.getpid()}"
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
