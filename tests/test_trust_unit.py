"""trust: which locked sources pass without `uvx-nix nix allow`, and how permission is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvx_nix import trust
from uvx_nix.errors import EXIT_UNTRUSTED, UserError

STORE = "/nix/store/" + "a" * 32 + "-source"
NAR = "sha256-" + "A" * 43 + "="
# A hash with '+' and '/', as Nix 2.8 and Nix 2.24+ spell it in `nix flake metadata --json`.
NAR_RAW = "sha256-" + "ab+c/" * 8 + "abc="
NAR_NIX_2_8 = NAR_RAW.replace("/", "%2f")
NAR_NIX_2_26 = NAR_RAW.replace("+", "%2B").replace("=", "%3D")


@pytest.mark.parametrize(("url", "safe"), [
    (f"path:{STORE}", True),
    (f"path:{STORE}?narHash={NAR}", True),
    (f"path:{STORE}?lastModified=1700000000&narHash={NAR}", True),
    (f"path:{STORE}?lastModified=1700000000&narHash={NAR_NIX_2_8}", True),
    (f"path:{STORE}?lastModified=1700000000&narHash={NAR_NIX_2_26}", True),
    (f"path:{STORE}?narHash=sha256-short%3D", False),
    (f"path:{STORE}?lastModified=x&narHash={NAR}", False),
    (f"path:{STORE}?narHash={NAR}&dir=..", False),
    ("path:/nix/store/../../proc/self/cwd/evil", False),
    (f"path:{STORE}/../../../etc", False),
    ("github:NixOS/nixpkgs/" + "0" * 40, False),
    ("github:NixOS/nixpkgs/" + "0" * 40 + "?host=attacker.invalid", False),
    ("/proc/self/cwd/evil", False),
])
def test_safe_lock_url(url: str, safe: bool) -> None:
    assert trust.safe_lock_url(url) is safe


def test_allow_is_per_project_and_source(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    root = tmp_path / "p"
    assert not trust.is_allowed(root, "github:x/y", (), environ)
    with pytest.raises(UserError) as info:
        trust.require(root, "github:x/y", "pyproject.toml", (), environ)
    assert info.value.exit_code == EXIT_UNTRUSTED
    assert "uvx-nix nix allow" in info.value.message
    assert trust.is_allowed(root, "github:x/y", (), {**environ, "UVX_NIX_TRUST": "1"})


def test_long_sources_are_shown_with_their_length(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    source = "github:NixOS/nixpkgs/" + "0" * 40 + "?" + "x" * 400 + "&host=evil"
    with pytest.raises(UserError) as info:
        trust.require(tmp_path, source, "uvx-nix.lock", (), environ)
    assert f"{len(source)} characters in all" in info.value.message
