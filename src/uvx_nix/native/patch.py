"""Patching a program NixOS cannot start: its ELF interpreter and RUNPATH set on a copy renamed
over it (uv hard-links environment files from its cache, which keeps the original), and the
record of what was patched (in the user cache, ``paths.patched_file_str``), so that
:func:`uvx_nix.prepare.programs.after_uv` re-applies a patch uv undid."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvx_nix import files as filesys
from uvx_nix import paths
from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, UserError, display_path
from uvx_nix.native import elf

if TYPE_CHECKING:
    pass


PATCHED_FORMAT = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def patch_program(path: Path, interpreter: str, lib_dirs: Sequence[str], patchelf: str, *,
                  venv: Path, root: Path) -> None:
    """Set the ELF interpreter and append lib dirs to RUNPATH, on a copy renamed over ``path``
    (uv hardlinks venv files to its cache; patchelf writes in place and would edit the cache).
    ``path`` must be a regular file inside ``venv``, checked again here."""
    if path.is_symlink() or not filesys.inside(path, venv) or not filesys.inside(venv, root):
        raise UserError(f"{display_path(path)} leads outside {display_path(venv)}; uvx-nix "
                        "does not patch it", EXIT_CONFIG)
    info = elf.read(path)
    current = (info.runpath if info and info.runpath is not None else
               (info.rpath if info else None)) or ""
    entries = [e for e in current.split(":") if e]
    entries += [d for d in lib_dirs if d and d not in entries]
    with filesys.temporary_beside(path) as tmp:
        shutil.copyfile(path, tmp)
        shutil.copymode(path, tmp)
        args = [patchelf, "--set-interpreter", interpreter]
        args += ["--set-rpath", ":".join(entries)] if entries else []
        res = subprocess.run([*args, str(tmp)], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise UserError(f"patchelf could not patch {path}: "
                            f"{(res.stderr.strip().splitlines() or ['no output'])[-1]}",
                            EXIT_NIX_FAILED)
        os.replace(tmp, path)


def patched_path(lock_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The record of patched programs: in the user cache (see paths.patched_file_str)."""
    return Path(paths.patched_file_str(os.environ if environ is None else environ,
                                       str(lock_dir)))


def load_patched(lock_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(patched_path(lock_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": PATCHED_FORMAT, "files": {}}
    if not isinstance(data, dict) or data.get("version") != PATCHED_FORMAT or \
            not isinstance(data.get("files"), dict):
        return {"version": PATCHED_FORMAT, "files": {}}
    return data


def save_patched(lock_dir: Path, data: Mapping[str, Any]) -> None:
    path = patched_path(lock_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    filesys.write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
