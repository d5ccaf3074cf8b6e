"""programs: finding the ELF programs NixOS cannot start in an environment, and patching
them on copies with the locked nixpkgs' patchelf (found here through its memo)."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

import pytest

from uvx_nix import cache, paths
from uvx_nix.native import elf
from uvx_nix.prepare import programs

PROGRAM = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"


def _cc(out: Path, *args: str) -> Path:
    src = out.with_name(out.name + ".c")
    src.write_text(PROGRAM)
    subprocess.run(["gcc", "-o", str(out), str(src), *args], check=True)
    src.unlink()
    return out


def _env(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    site = env / "lib" / "python3.12" / "site-packages"
    (site / "pkg" / "bin").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "pyvenv.cfg").write_text("home = /nix/store/x/bin\n")
    _cc(env / "bin" / "tool")
    _cc(site / "pkg" / "bin" / "driver")  # like playwright's node or imageio's ffmpeg
    lib = _cc(site / "pkg" / "libx.so", "-shared", "-fPIC")
    lib.chmod(0o644)  # a library, not a program
    data = _cc(site / "pkg" / "data.bin")
    data.chmod(0o644)  # an ELF file without the executable bit is not run
    (env / "bin" / "script").write_text("#!/bin/sh\necho hi\n")
    (env / "bin" / "script").chmod(0o755)
    return env


def test_unstartable_finds_programs_in_bin_and_site_packages(tmp_path: Path) -> None:
    env = _env(tmp_path)
    found = programs.unstartable(env, {})
    site = env / "lib" / "python3.12" / "site-packages"
    assert found == [env / "bin" / "tool", site / "pkg" / "bin" / "driver"]
    # With nix-ld, generic programs start as they are.
    assert programs.unstartable(env, {"NIX_LD": "/x/ld.so"}) == []


def test_make_runnable_patches_copies_and_leaves_uvs_cache_alone(tmp_path: Path) -> None:
    pythons = sorted(glob.glob("/nix/store/*-python3-3.1[0-9]*/bin/python3.1?"))
    patchelfs = sorted(glob.glob("/nix/store/*-patchelf*/bin/patchelf"))
    if not pythons or not patchelfs:
        pytest.skip("needs the simulation's store python and patchelf")
    env = _env(tmp_path)
    stored = tmp_path / "uv-stored-file"
    os.link(env / "bin" / "tool", stored)  # uv hard-links environment files from its cache
    original = stored.read_bytes()
    lockfile = tmp_path / "uvx-nix.lock"
    lockfile.write_text("stand-in\n")
    environ = {"UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}
    memo = Path(paths.cache_dir_str(environ), "patchelf",
                paths.hashed_name(str(lockfile), ".path"))
    memo.parent.mkdir(parents=True)
    memo.write_text(f"{cache.signature(str(lockfile))}\n{patchelfs[0]}\n")
    fields = {"interpreter": pythons[0], "libs": "/nix/store/y-zlib/lib",
              "lockfile": str(lockfile)}
    done = programs.make_runnable([env], fields, environ)
    assert [p.name for p in done] == ["tool", "driver"]
    loader = elf.read(pythons[0])
    assert loader is not None
    for path in done:
        info = elf.read(path)
        assert info is not None
        assert info.interpreter == loader.interpreter
        assert "/nix/store/y-zlib/lib" in (info.runpath or "")
    assert stored.read_bytes() == original  # the cache's copy is untouched
    assert programs.make_runnable([env], fields, environ) == []  # idempotent


def test_a_patchelf_memo_outside_the_store_is_not_trusted(tmp_path: Path) -> None:
    lockfile = tmp_path / "uvx-nix.lock"  # none written: the memo alone would decide
    environ = {"UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}
    memo = Path(paths.cache_dir_str(environ), "patchelf",
                paths.hashed_name(str(lockfile), ".path"))
    memo.parent.mkdir(parents=True)
    memo.write_text(f"{cache.signature(str(lockfile))}\n/bin/sh\n")
    from uvx_nix.errors import UserError

    with pytest.raises(UserError, match="to take patchelf from"):
        programs.locked_patchelf(lockfile, environ, quiet=True)  # falls through to the lock
