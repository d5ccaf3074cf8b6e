"""Where a nixpkgs comes from: parsing, locked or moving, NAR-hash store paths, channels,
sharing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uvx_nix.errors import EXIT_CONFIG, UserError
from uvx_nix.resolve import sources

REV = "a" * 40


@pytest.mark.parametrize(("text", "kind"), [
    ("github:NixOS/nixpkgs/nixos-26.05", "flake"), ("nixpkgs", "flake"),
    ("flake:nixpkgs", "flake"), ("path:/some/dir", "flake"), ("<nixpkgs>", "channel"),
    ("/some/dir", "path"), ("git+https://example.org/nixpkgs?ref=main", "flake"),
])
def test_parse_source(text: str, kind: str) -> None:
    assert sources.parse_source(text, "test").kind == kind


@pytest.mark.parametrize("text", ["", "${builtins.readFile /etc/shadow}", "a\nb", "x" * 3000,
                                  "<nixpkgs> ++ x", "relative/../dir with space"])
def test_bad_sources_are_one_line_errors(text: str) -> None:
    with pytest.raises(UserError) as info:
        sources.parse_source(text, "test")
    assert info.value.exit_code == EXIT_CONFIG


@pytest.mark.parametrize(("ref", "locked"), [
    (f"github:NixOS/nixpkgs/{REV}", True), ("github:NixOS/nixpkgs/nixos-26.05", False),
    ("path:/x?narHash=sha256-abc", True), ("flake:nixpkgs", False),
])
def test_is_locked(ref: str, locked: bool) -> None:
    assert sources.is_locked(ref) is locked


def test_locked_url_from_source_info() -> None:
    info = {"rev": REV, "narHash": "sha256-x+y/z=", "outPath": "/nix/store/h-source"}
    assert sources.locked_url_from_source_info("github:NixOS/nixpkgs/nixos-26.05", info) == \
        f"github:NixOS/nixpkgs/{REV}?narHash=sha256-x%2By%2Fz%3D"
    assert sources.locked_url_from_source_info("path:/dir", info) == \
        "path:/nix/store/h-source?narHash=sha256-x%2By%2Fz%3D"


def test_flake_lock_nixpkgs(tmp_path: Path) -> None:
    lock = _flake_lock(tmp_path, {"type": "github", "owner": "NixOS", "repo": "nixpkgs",
                                  "rev": REV, "narHash": "sha256-q="})
    assert sources.flake_lock_nixpkgs(lock) == f"github:NixOS/nixpkgs/{REV}?narHash=sha256-q%3D"
    lock = _flake_lock(tmp_path, {"type": "git", "url": "https://x/y", "rev": REV})
    assert sources.flake_lock_nixpkgs(lock) == f"git+https://x/y?rev={REV}"
    lock = _flake_lock(tmp_path, {"type": "indirect", "id": "nixpkgs"})
    assert sources.flake_lock_nixpkgs(lock) is None
    (tmp_path / "flake.lock").write_text("{broken")
    assert sources.flake_lock_nixpkgs(tmp_path / "flake.lock") is None


@pytest.mark.parametrize("spelled", [
    # `nix flake metadata --json`'s url for one hash: Nix 2.8, then Nix 2.24 and later.
    "path:/p?lastModified=1&narHash=sha256-ab+c%2fd=",
    "path:/p?lastModified=1&narHash=sha256-ab%2Bc/d%3D",
])
def test_canonical_url_is_the_same_whichever_nix_wrote_it(spelled: str) -> None:
    assert sources.canonical_url(spelled) == "path:/p?lastModified=1&narHash=sha256-ab%2Bc%2Fd%3D"


def test_canonical_url_leaves_urls_without_a_query_alone() -> None:
    assert sources.canonical_url(f"github:NixOS/nixpkgs/{REV}") == f"github:NixOS/nixpkgs/{REV}"


def test_source_store_path_is_where_nix_puts_a_fetched_tree() -> None:
    # Checked against `nix flake metadata --json` (narHash and path) of a path: flake.
    assert sources.source_store_path("sha256-YUnPXWtmDZ3mB2AfbRoBLgMUBWX+Cd46lGvPDwig3Ew=") == \
        "/nix/store/4ik3h56maf0f9driinrii3w0qzp58l0z-source"


def test_a_store_source_is_shared_by_the_systems_revision(tmp_path: Path) -> None:
    url = ("path:/nix/store/4ik3h56maf0f9driinrii3w0qzp58l0z-source?lastModified=1"
           "&narHash=sha256-YUnPXWtmDZ3mB2AfbRoBLgMUBWX%2BCd46lGvPDwig3Ew%3D")
    nowhere = {"PATH": str(tmp_path)}
    same, warning = sources.shareable(url, nowhere, from_registry=True)
    assert same == url
    assert warning is not None
    assert "only this machine has" in warning
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "nixos-version"
    tool.write_text(f'#!/bin/sh\necho \'{{"nixosVersion":"26.05.1","nixpkgsRevision":"{REV}"}}\'\n')
    tool.chmod(0o755)
    # A path: flake of the user's is not the system's nixpkgs, whatever nixos-version says.
    assert sources.shareable(url, {"PATH": str(bin_dir)}, from_registry=False)[0] == url
    shared, warning = sources.shareable(url, {"PATH": str(bin_dir)}, from_registry=True)
    assert shared == f"github:NixOS/nixpkgs/{REV}?narHash=" + \
        "sha256-YUnPXWtmDZ3mB2AfbRoBLgMUBWX%2BCd46lGvPDwig3Ew%3D"
    assert warning is None
    # Anything but a store source is locked as it is.
    assert sources.shareable(f"github:NixOS/nixpkgs/{REV}", nowhere, from_registry=True) == \
        (f"github:NixOS/nixpkgs/{REV}", None)


def test_a_channel_is_pinned_by_the_revision_it_records() -> None:
    rev = "0123456789abcdef0123456789abcdef01234567"
    assert sources.pinned_channel({"rev": rev}) == (f"github:NixOS/nixpkgs/{rev}", None)
    assert sources.channel_revision(f"github:NixOS/nixpkgs/{rev}") == rev
    for source in ({"rev": None}, {"rev": "0123456"}, None):  # no .git-revision, a shortRev
        url, warning = sources.pinned_channel(source)
        assert url == "<nixpkgs>"
        assert warning is not None
        assert "records no revision" in warning
    assert "fetchable by any machine" in sources.sharing("channel", f"github:NixOS/nixpkgs/{rev}")
    assert "fetchable by any machine" not in sources.sharing("channel", "<nixpkgs>")
    nar = "sha256-" + "A" * 43 + "="
    assert sources.directory_nar_hash({"narHash": nar}) == nar
    assert sources.directory_nar_hash({"narHash": "sha256-x"}) == ""
    assert f"locked by its narHash {nar}" in sources.sharing("path", "/dir", nar)
    assert "not locked by its content" in sources.sharing("path", "/dir")


def _flake_lock(tmp_path: Path, node: dict[str, object]) -> Path:
    path = tmp_path / "flake.lock"
    path.write_text(json.dumps({"nodes": {"root": {"inputs": {"nixpkgs": "nixpkgs"}},
                                          "nixpkgs": {"locked": node}},
                                "root": "root", "version": 7}))
    return path
