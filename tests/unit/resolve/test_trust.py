"""trust: which locked sources pass without `uvx-nix nix allow`, and how permission is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvx_nix.errors import EXIT_UNTRUSTED, UserError
from uvx_nix.resolve import trust

STORE = "/nix/store/" + "a" * 32 + "-source"
NAR = "sha256-" + "A" * 43 + "="
# A hash with '+' and '/', as Nix 2.8 and Nix 2.24+ spell it in `nix flake metadata --json`.
NAR_RAW = "sha256-" + "ab+c/" * 8 + "abc="
NAR_NIX_2_8 = NAR_RAW.replace("/", "%2f")
NAR_NIX_2_26 = NAR_RAW.replace("+", "%2B").replace("=", "%3D")


def test_allow_is_per_project_and_source(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    root = tmp_path / "p"
    assert not trust.is_allowed(root, "github:x/y", environ)
    with pytest.raises(UserError) as info:
        trust.require(root, "github:x/y", "pyproject.toml", environ)
    assert info.value.exit_code == EXIT_UNTRUSTED
    assert "uvx-nix nix allow" in info.value.message
    assert trust.is_allowed(root, "github:x/y", {**environ, "UVX_NIX_TRUST": "1"})


def test_long_sources_are_shown_with_their_length(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    source = "github:NixOS/nixpkgs/" + "0" * 40 + "?" + "x" * 400 + "&host=evil"
    with pytest.raises(UserError) as info:
        trust.require(tmp_path, source, "uvx-nix.lock", environ)
    assert f"{len(source)} characters in all" in info.value.message


def test_sources_are_shown_escaped(tmp_path: Path) -> None:
    """A source drawing over the terminal (escapes, a carriage return, bidi controls) is
    shown with those characters escaped, on one line."""
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    source = "github:evil/x\x1b[2K\rgithub:NixOS/nixpkgs/nixos-25.05\u202e\n"
    with pytest.raises(trust.UntrustedError) as info:
        trust.require(tmp_path, source, "uvx-nix.lock", environ, instead_of="flake:nixpkgs")
    message = info.value.message
    assert message.isprintable()
    assert "\\x1b[2K\\rgithub" in message
    assert "\\u202e\\n" in message
    assert info.value.source == source
    assert info.value.pinned


def test_a_lock_pinning_what_this_machine_locked_needs_the_source_permitted(
        tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    url = "github:NixOS/nixpkgs/" + "1" * 40 + f"?narHash={NAR}"
    assert not trust.locked_here(environ, "flake", "github:NixOS/nixpkgs/nixos-25.05",
                                 "flake", url)
    trust.record_locked(environ, "flake", "github:NixOS/nixpkgs/nixos-25.05", "flake", url)
    assert trust.locked_here(environ, "flake", "github:NixOS/nixpkgs/nixos-25.05",
                             "flake", url)
    assert not trust.locked_here(environ, "flake", "github:other/nixpkgs/nixos-25.05",
                                 "flake", url)


