"""Patching programs hardlink-safe, and only inside the environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers.native import PROGRAM, cc, interpreter
from uvx_nix.errors import UserError
from uvx_nix.native import elf, patch


def test_patch_program_breaks_hardlinks(tmp_path: Path) -> None:
    patchelf = shutil.which("patchelf")
    assert patchelf is not None
    cache = cc(tmp_path / "cached", PROGRAM)
    original = cache.read_bytes()
    venv_copy = tmp_path / "prog"
    os.link(cache, venv_copy)  # what uv's default link mode does
    loader = elf.read(interpreter())
    assert loader is not None
    assert loader.interpreter is not None
    patch.patch_program(venv_copy, "/nix/store/x-glibc/lib/ld.so", ["/nix/store/y-z/lib"],
                         patchelf, venv=tmp_path, root=tmp_path)
    assert cache.read_bytes() == original
    info = elf.read(venv_copy)
    assert info is not None
    assert info.interpreter == "/nix/store/x-glibc/lib/ld.so"
    assert info.runpath == "/nix/store/y-z/lib"
    assert os.stat(venv_copy).st_ino != os.stat(cache).st_ino


def test_patch_program_refuses_a_file_outside_the_venv(tmp_path: Path) -> None:
    venv = tmp_path / "project" / ".venv"
    (venv / "bin").mkdir(parents=True)
    outside = cc(tmp_path / "mine", PROGRAM)
    before = outside.read_bytes()
    (venv / "bin" / "prog").symlink_to(outside)
    for path in (venv / "bin" / "prog", outside):
        with pytest.raises(UserError, match="leads outside"):
            patch.patch_program(path, "/nix/store/x-glibc/lib/ld.so", [], "patchelf",
                                 venv=venv, root=tmp_path / "project")
    assert outside.read_bytes() == before
