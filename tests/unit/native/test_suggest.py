"""From a missing soname to the nixpkgs attribute that provides it."""

from __future__ import annotations

from pathlib import Path

from uvx_nix.native import sonames, suggest


def test_suggest_uses_the_table_and_leaves_driver_libraries_to_driver_dirs() -> None:
    got = suggest.suggest(["libz.so.1", "libcuda.so.1", "libnothing.so.9"], environ={"PATH": ""})
    assert got == {"libcuda.so.1": None, "libnothing.so.9": None, "libz.so.1": "zlib"}


def test_suggest_falls_back_to_nix_locate(tmp_path: Path) -> None:
    fake = tmp_path / "nix-locate"
    fake.write_text("#!/bin/sh\nprintf 'xorg.libfoo.out\\nzfoo.lib\\nafoo.out\\n(bad)\\n'\n")
    fake.chmod(0o755)
    got = suggest.suggest(["libfoo.so.1"], environ={"PATH": str(tmp_path)})
    assert got == {"libfoo.so.1": "afoo"}  # shortest, then alphabetical; output stripped


def test_pick_attribute_is_deterministic() -> None:
    assert suggest.pick_attribute(["b.out", "a.out", "cc.lib"]) == "a"
    assert suggest.pick_attribute([]) is None


def test_driver_dirs_with_a_fake_root(tmp_path: Path) -> None:
    assert suggest.driver_dirs({"libcuda.so.1"}, root=tmp_path) == []
    driver = tmp_path / "run" / "opengl-driver" / "lib"
    driver.mkdir(parents=True)
    assert suggest.driver_dirs({"libz.so.1"}, root=tmp_path) == []
    assert suggest.driver_dirs({"libcuda.so.1"}, root=tmp_path) == [sonames.DRIVER]
    (driver / "libGL.so.1").write_bytes(b"")
    assert suggest.driver_dirs({"libGL.so.1", "libz.so.1"}, root=tmp_path) == [sonames.DRIVER]
