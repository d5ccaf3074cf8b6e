"""resolve.nix, evaluated and built by the host's real Nix against a tiny nixpkgs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.sim import HOST_NIX_CONFIG
from uvx_nix import nix, request

PKGS = Path(__file__).parent / "nix" / "prerelease-nixpkgs"


def _chosen(text: str, tmp_path: Path) -> str | None:
    req = request.parse(text, "test")
    spec = {
        "system": "x86_64-linux",
        "nixpkgs": {"type": "path", "path": str(PKGS)},
        "python": {"mode": "match", "implementation": req.implementation,
                   "clauses": [c.to_json() for c in req.clauses],
                   "freeThreaded": req.free_threaded},
        "libraries": [],
    }
    environ = {**os.environ, "NIX_CONFIG": HOST_NIX_CONFIG}
    manifest = nix.build(spec, tmp_path / "root", environ, what="test")
    python = manifest.get("python")
    return python["attribute"] if python else None


@pytest.mark.parametrize(("text", "expected"), [
    (">=3.11", "python313"),  # a final release beats a newer pre-release
    ("3.13", "python313"),
    ("3.14", "python314"),  # only a pre-release matches: PEP 440 takes it
    (">=3.14", "python314"),
    ("3.12", None),
])
def test_prereleases_only_when_nothing_final_matches(text: str, expected: str | None,
                                                     tmp_path: Path) -> None:
    assert _chosen(text, tmp_path) == expected
