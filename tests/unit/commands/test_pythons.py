"""pythons: where `uv python install` links executables (as uv does)."""

from __future__ import annotations

from pathlib import Path

from uvx_nix.commands import pythons


def test_bin_dir_follows_uv() -> None:
    assert pythons.bin_dir({"UV_PYTHON_BIN_DIR": "/a", "XDG_BIN_HOME": "/b"}) == Path("/a")
    assert pythons.bin_dir({"XDG_BIN_HOME": "/b", "XDG_DATA_HOME": "/d/share"}) == Path("/b")
    assert pythons.bin_dir({"XDG_DATA_HOME": "/d/share"}) == Path("/d/bin")
    assert pythons.bin_dir({"HOME": "/h"}) == Path("/h/.local/bin")
