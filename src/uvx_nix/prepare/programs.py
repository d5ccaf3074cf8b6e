"""ELF programs in an environment that NixOS cannot start, made runnable.

A program built for generic Linux (``bin/ruff``, playwright's node driver, imageio-ffmpeg's
ffmpeg inside site-packages) names ``/lib64/ld-linux-x86-64.so.2`` as its ELF interpreter,
which on NixOS is the stub-ld: ``LD_LIBRARY_PATH`` cannot help.  Such a program gets the
locked interpreter's loader as its ELF interpreter and the locked library directories on its
RUNPATH, with patchelf from the **locked nixpkgs** (realised by Nix once, rooted beside the
lock; never a program found on PATH or named by a project file).  The change is made on a
copy renamed over the file (:func:`uvx_nix.native.patch.patch_program`): uv hard-links or
reflinks environment files from its cache, so the cache keeps the original.  Slow path only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from uvx_nix import cache, files, output, paths
from uvx_nix.errors import EXIT_LOCKFILE, UserError, display_path
from uvx_nix.native import elf, patch, scan, venvs
from uvx_nix.resolve import inputs, lockfile, nix, specs, workdir


def unstartable(env: Path, environ: Mapping[str, str]) -> list[Path]:
    """Executable ELF programs in ``bin/`` and anywhere in site-packages whose ELF
    interpreter NixOS cannot run (never through a link that leads outside ``env``)."""
    found: list[Path] = []
    for path in venvs.walk(env):
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
            continue
        info = elf.read(path)
        if info is not None and info.interpreter and not scan.can_start(info, environ):
            found.append(path)
    return found


def locked_patchelf(lockfile_path: Path, environ: Mapping[str, str], quiet: bool = False
                    ) -> str:
    """patchelf from the nixpkgs ``lockfile_path`` pins: built (or fetched) by Nix once,
    rooted beside the lock, and remembered in the user cache by the lock's signature."""
    memo = Path(paths.cache_dir_str(environ), "patchelf",
                paths.hashed_name(str(lockfile_path), ".path"))
    signature = cache.signature(str(lockfile_path))
    try:
        sig, known = memo.read_text(encoding="utf-8").split("\n")[:2]
        if sig == signature and known.startswith("/nix/store/") and "/../" not in known \
                and os.access(known, os.X_OK):
            return known
    except (OSError, ValueError):
        pass
    existing = lockfile.read(lockfile_path)
    system = inputs.current_system()
    if existing is None or system not in existing[0].systems:
        raise UserError(f"no lock at {display_path(lockfile_path)} to take patchelf from; run "
                        "`uvx-nix nix lock`", EXIT_LOCKFILE)
    spec = specs.asking_spec(existing[0], system, [{"name": "patchelf", "paths": [["patchelf"]]}])
    link = workdir.gcroot(lockfile_path.parent, f"patchelf-{system}")
    manifest = nix.build(spec, link, environ, what="building patchelf", quiet=quiet)
    for lib in manifest.get("libraries") or []:
        candidate = os.path.join(str(lib.get("out", "")), "bin", "patchelf")
        if candidate.startswith("/nix/store/") and os.access(candidate, os.X_OK):
            memo.parent.mkdir(parents=True, exist_ok=True)
            files.write_atomic(memo, f"{signature}\n{candidate}\n".encode())
            return candidate
    raise UserError("the locked nixpkgs' patchelf has no bin/patchelf; run `uvx-nix nix "
                    "doctor --fix` after `uvx-nix nix lock --upgrade`", 73)


def make_runnable(envs: Sequence[Path], fields: Mapping[str, str],
                  environ: Mapping[str, str]) -> list[Path]:
    """Patch every program of ``envs`` that cannot start; returns those patched."""
    if scan.nix_ld_present(environ):
        return []  # nix-ld starts them as they are
    todo = [(env, p) for env in envs if not os.path.islink(env)
            for p in unstartable(env, environ)]
    if not todo:
        return []
    info = elf.read(fields.get("interpreter", ""))
    if info is None or not info.interpreter:
        return []
    patchelf = locked_patchelf(Path(fields["lockfile"]), environ)
    libs = [d for d in fields.get("libs", "").split(":") if d]
    done: list[Path] = []
    for env, path in todo:
        patch.patch_program(path, info.interpreter, libs, patchelf, venv=env, root=env)
        done.append(path)
    names = ", ".join(sorted({p.name for p in done}))
    output.notice(f"Made {len(done)} program(s) runnable on NixOS ({names}): "
                  f"ELF interpreter and libraries from the locked nixpkgs")
    return done


def _locked_target(lock_dir: Path) -> tuple[str, list[str]] | None:
    """(loader, lib dirs) from the lock beside ``lock_dir``: what patched programs use."""
    try:
        found = lockfile.read(lock_dir / lockfile.NAME)
    except UserError:
        return None
    if found is None:
        return None
    entry = found[0].systems.get(inputs.current_system())
    if entry is None:
        return None
    info = elf.read(entry.interpreter)
    if info is None or not info.interpreter:
        return None
    return info.interpreter, [f"{lib.path}/lib" for lib in entry.libraries]


def repatch(venv: Path, lock_dir: Path, environ: Mapping[str, str] | None = None,
            root: Path | None = None) -> int:
    """Re-apply recorded patches whose file uv replaced; returns how many were re-patched.

    Cheap when nothing changed: one read of patched.json and a stat per recorded file.  Each
    file must still be a regular file inside the venv, and the venv inside the project
    (``root``, default ``lock_dir``): a `bin` swapped for a link is not followed."""
    environ = os.environ if environ is None else environ
    root = lock_dir if root is None else root
    if not patch.patched_path(lock_dir).exists():
        return 0
    data = patch.load_patched(lock_dir)
    recorded: dict[str, Any] = data["files"]
    target = _locked_target(lock_dir)
    changed = 0
    dirty = False
    for rel, record in sorted(recorded.items()):
        path = venv / rel
        if not isinstance(record, dict) or ".." in Path(rel).parts or os.path.isabs(rel):
            continue
        if path.is_symlink() or not files.inside(path, venv) or \
                not files.inside(venv, root):
            output.warn(f"not re-patching {display_path(path)}: it leads outside "
                        f"{display_path(venv)}")
            continue
        if not path.is_file():
            continue
        interpreter, lib_dirs = target if target else (record.get("interpreter", ""),
                                                       list(record.get("lib_dirs", [])))
        if record.get("stat") == patch._stat_key(path) and record.get("interpreter") == interpreter:
            continue
        info = elf.read(path)
        if info is None or not info.interpreter:
            continue
        if info.interpreter == interpreter and scan.can_start(info, environ):
            record["stat"] = patch._stat_key(path)
            dirty = True
            continue
        patchelf = _patchelf(record.get("patchelf"), environ)
        if patchelf is None or not interpreter:
            output.warn(f"cannot re-patch {path}: no patchelf found; "
                        "run `uvx-nix nix doctor --fix`")
            continue
        original = patch.sha256_file(path)
        patch.patch_program(path, interpreter, lib_dirs, patchelf, venv=venv, root=root)
        record.update({"original": original, "patched": patch.sha256_file(path),
                       "interpreter": interpreter, "lib_dirs": lib_dirs,
                       "patchelf": patchelf, "stat": patch._stat_key(path)})
        changed += 1
        dirty = True
    if dirty:
        patch.save_patched(lock_dir, data)
    return changed


def after_uv(venv: Path, lock_dir: Path, root: Path | None = None) -> None:
    """The wrapper's hook after a uv command that may (re)install files: re-apply patches.

    Never raises; a failure is one warning line."""
    try:
        count = repatch(venv, lock_dir, root=root)
    except Exception as exc:  # a hook after uv must not turn uv's success into a failure
        output.warn(f"could not re-patch programs in {venv} ({type(exc).__name__}: {exc}); "
                    f"run `uvx-nix nix doctor --fix`")
        return
    if count:
        output.notice(f"Re-patched {count} program(s) in {venv / 'bin'} that uv re-installed")


def _patchelf(recorded: object, environ: Mapping[str, str]) -> str | None:
    """The recorded patchelf (the locked nixpkgs' one, recorded in the user cache) if it is
    still a store path; never a program found on PATH."""
    if isinstance(recorded, str) and recorded.startswith("/nix/store/") and \
            "/../" not in recorded and os.access(recorded, os.X_OK):
        return recorded
    return None
