"""Scanning an environment's ELF files: what cannot load or start."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers.native import (
    HOST_LIBDIR,
    PROGRAM,
    cc,
    interpreter,
    make_venv,
)
from uvx_nix.native import elf, scan


def test_scan_finds_missing_sonames_and_honours_origin(venv: Path) -> None:
    missing = scan.unresolved(venv, [], interpreter())
    assert list(missing) == ["libz.so.1"]
    assert missing["libz.so.1"][0].endswith("pkg/ext.so")
    # On the library path it resolves.
    assert scan.unresolved(venv, [HOST_LIBDIR], interpreter()) == {}


def test_scan_counts_libraries_other_wheels_ship(venv: Path) -> None:
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "other").mkdir()
    shutil.copy(f"{HOST_LIBDIR}/libz.so.1", site / "other" / "libz.so.1")
    assert scan.unresolved(venv, [], interpreter()) == {}


def test_scan_dist_reads_only_the_distribution_files(venv: Path) -> None:
    site = venv / "lib" / "python3.11" / "site-packages"
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("pkg/__init__.py,,\npkg/ext.so,,\npkg-1.0.dist-info/RECORD,,\n")
    assert list(scan.scan_dist(venv, [info / "RECORD"], [], interpreter())) == ["libz.so.1"]
    empty = site / "none-1.0.dist-info"
    empty.mkdir()
    (empty / "RECORD").write_text("none/__init__.py,,\n")
    assert scan.scan_dist(venv, [empty / "RECORD"], [], interpreter()) == {}


def test_programs_with_a_loader_outside_the_store_cannot_start(tmp_path: Path) -> None:
    venv = make_venv(tmp_path)
    cc(venv / "bin" / "prog", PROGRAM)
    (venv / "bin" / "script").write_text("#!/bin/sh\n")
    result = scan.scan(venv, [HOST_LIBDIR], interpreter(), environ={})
    assert result.unstartable == {str(venv / "bin" / "prog"): "/lib64/ld-linux-x86-64.so.2"}
    assert scan.scan(venv, [], interpreter(), environ={"NIX_LD": "/x"}).unstartable == {}
    info = elf.read(venv / "bin" / "prog")
    assert info is not None
    assert scan.can_start(info, {}, root=tmp_path) is False
    marker = tmp_path / "run/current-system/sw/share/nix-ld"
    marker.mkdir(parents=True)
    assert scan.can_start(info, {}, root=tmp_path) is True
