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
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from uvx_nix import cache, files, paths
from uvx_nix.errors import UserError, display_path
from uvx_nix.native import elf


def roots(env: Path) -> list[tuple[Path, bool]]:
    """Where an environment's programs are: ``bin/`` (not recursively) and each
    site-packages (recursively), never through a link that leads outside ``env``."""
    from uvx_nix.prepare import venv

    roots: list[tuple[Path, bool]] = []
    if files.inside(env / "bin", env):
        roots.append((env / "bin", False))
    roots += [(site, True) for site in venv.site_dirs(env)]
    return roots


def unstartable(env: Path, environ: Mapping[str, str]) -> list[Path]:
    """Executable ELF programs in ``bin/`` and anywhere in site-packages whose ELF
    interpreter NixOS cannot run (never through a link that leads outside ``env``)."""
    from uvx_nix.commands import doctor

    found: list[Path] = []
    for root, recursive in roots(env):
        for directory, subdirs, names in os.walk(root):
            if not recursive:
                subdirs[:] = []
            subdirs.sort()
            for name in sorted(names):
                path = Path(directory, name)
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
                    continue
                info = elf.read(path)
                if info is not None and info.interpreter and not doctor.can_start(info,
                                                                                   environ):
                    found.append(path)
    return found


def locked_patchelf(lockfile_path: Path, environ: Mapping[str, str], quiet: bool) -> str:
    """patchelf from the nixpkgs ``lockfile_path`` pins: built (or fetched) by Nix once,
    rooted beside the lock, and remembered in the user cache by the lock's signature."""
    from uvx_nix.resolve import inputs, lockfile, nix, resolution

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
                        "`uvx-nix nix lock`", 74)
    lock = existing[0]
    spec = {
        "system": system,
        "nixpkgs": resolution._locked_source(lock),
        "python": {"mode": "attribute", "attribute": lock.systems[system].python_attribute,
                   "implementation": None, "clauses": [], "freeThreaded": False},
        "libraries": [{"name": "patchelf", "paths": [["patchelf"]]}],
        "allowUnfree": False,
    }
    link = resolution.work_dir(lockfile_path.parent) / "gcroots" / f"patchelf-{system}"
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
                  environ: Mapping[str, str], quiet: bool = False) -> list[Path]:
    """Patch every program of ``envs`` that cannot start; returns those patched."""
    from uvx_nix.commands import doctor

    if doctor.nix_ld_present(environ):
        return []  # nix-ld starts them as they are
    todo = [(env, p) for env in envs if not os.path.islink(env)
            for p in unstartable(env, environ)]
    if not todo:
        return []
    info = elf.read(fields.get("interpreter", ""))
    if info is None or not info.interpreter:
        return []
    patchelf = locked_patchelf(Path(fields["lockfile"]), environ, quiet)
    libs = [d for d in fields.get("libs", "").split(":") if d]
    done: list[Path] = []
    for env, path in todo:
        doctor.patch_program(path, info.interpreter, libs, patchelf, venv=env, root=env)
        done.append(path)
    if not quiet:
        names = ", ".join(sorted({p.name for p in done}))
        sys.stderr.write(f"uvx-nix: made {len(done)} program(s) runnable on NixOS ({names}): "
                         f"ELF interpreter and libraries from the locked nixpkgs\n")
    return done
