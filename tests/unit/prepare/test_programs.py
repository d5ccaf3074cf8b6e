"""programs: finding the ELF programs NixOS cannot start in an environment, and patching
them on copies with the locked nixpkgs' patchelf (found here through its memo)."""

from __future__ import annotations

import glob
import json
import os
import shutil
from pathlib import Path

import pytest

from helpers.native import HOST_LIBDIR, PROGRAM, cc, interpreter, make_venv
from uvx_nix import cache, paths
from uvx_nix.native import elf, patch
from uvx_nix.prepare import programs


def _program(out: Path, *args: str) -> Path:
    built = cc(out.with_name(out.name + ".build"), PROGRAM, *args)
    built.with_suffix(".c").unlink()
    return built.rename(out)


def _env(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    site = env / "lib" / "python3.12" / "site-packages"
    (site / "pkg" / "bin").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "pyvenv.cfg").write_text("home = /nix/store/x/bin\n")
    _program(env / "bin" / "tool")
    _program(site / "pkg" / "bin" / "driver")  # like playwright's node or imageio's ffmpeg
    lib = _program(site / "pkg" / "libx.so", "-shared", "-fPIC")
    lib.chmod(0o644)  # a library, not a program
    data = _program(site / "pkg" / "data.bin")
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


def test_repatch_reapplies_only_when_the_file_changed(tmp_path: Path) -> None:
    import glob

    # Only a store patchelf is ever run (the locked nixpkgs' one, recorded in the user cache).
    stored = sorted(glob.glob("/nix/store/*-patchelf*/bin/patchelf"))
    if not stored:
        pytest.skip("no patchelf in the store (the simulation builds one)")
    patchelf = stored[0]
    host = shutil.which("patchelf")
    venv = make_venv(tmp_path)
    prog = cc(venv / "bin" / "prog", PROGRAM)
    original = prog.read_bytes()
    loader = elf.read(interpreter())
    assert loader is not None
    assert loader.interpreter is not None
    interp = loader.interpreter  # the host's loader stands in for the locked glibc's
    lock_dir = tmp_path
    assert programs.repatch(venv, lock_dir) == 0  # nothing recorded: no work
    if host is not None:  # a patchelf outside the store is never run
        patch.save_patched(lock_dir, {"version": 1, "files": {"bin/prog": {
            "interpreter": "/nix/store/x-glibc/lib/ld.so", "lib_dirs": [HOST_LIBDIR],
            "patchelf": host}}})
        assert programs.repatch(venv, lock_dir, environ={"PATH": os.path.dirname(host)}) == 0
        assert prog.read_bytes() == original
    patch.save_patched(lock_dir, {"version": 1, "files": {"bin/prog": {
        "interpreter": "/nix/store/x-glibc/lib/ld.so", "lib_dirs": [HOST_LIBDIR],
        "patchelf": patchelf}}})
    assert programs.repatch(venv, lock_dir, environ={}) == 1
    assert elf.read(prog).interpreter == "/nix/store/x-glibc/lib/ld.so"  # type: ignore[union-attr]
    assert programs.repatch(venv, lock_dir, environ={}) == 0  # unchanged: one stat, no work
    prog.unlink()
    prog.write_bytes(original)  # uv re-installed the original
    assert programs.repatch(venv, lock_dir, environ={}) == 1
    recorded = json.loads(patch.patched_path(lock_dir).read_text())
    assert recorded["files"]["bin/prog"]["patched"] == patch.sha256_file(prog)
    assert interp  # the host loader exists, so the test's stand-in is a real path


def test_after_uv_never_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = patch.patched_path(tmp_path)
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("{not json")
    programs.after_uv(tmp_path / "no-venv", tmp_path)
    assert capsys.readouterr().err == ""
