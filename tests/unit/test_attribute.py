"""What counts as a nixpkgs attribute path: the one pattern every configured, locked or
suggested attribute is checked against before Nix sees it."""

from __future__ import annotations

import pytest

from uvx_nix import attribute


@pytest.mark.parametrize("name", ["zlib", "xorg.libX11", "stdenv.cc.cc.lib", "gst_all_1.gstreamer",
                                  "python3Packages.numpy", "libfoo'", "a-b", "_private"])
def test_attribute_paths_nixpkgs_has_pass(name: str) -> None:
    assert attribute.is_attribute(name)


@pytest.mark.parametrize("value", [
    "", "1zlib", "zlib.", ".zlib", "zlib..lib", "zlib lib", "zlib;rm -rf ~", "${builtins}",
    "pkgs.zlib/lib", "zlib\n", "a" * 201, None, 3, ["zlib"]])
def test_anything_else_is_refused(value: object) -> None:
    assert not attribute.is_attribute(value)


def test_the_length_limit_is_inclusive() -> None:
    assert attribute.is_attribute("a" * attribute.MAX_LENGTH)
