"""resolve.nix, evaluated and built by the host's real Nix against a tiny nixpkgs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from helpers.sim import HOST_NIX_CONFIG
from uvx_nix.resolve import nix
from uvx_nix.resolve import python_request as request

pytestmark = pytest.mark.nix

PKGS = Path(__file__).parents[2] / "nix" / "prerelease-nixpkgs"


def _manifest(text: str, tmp_path: Path) -> dict[str, Any]:
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
    return nix.build(spec, tmp_path / "root", environ, what="test")


def _chosen(text: str, tmp_path: Path) -> str | None:
    python = _manifest(text, tmp_path).get("python")
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


def test_free_threaded_requests_take_the_top_level_free_threading_attribute(
        tmp_path: Path) -> None:
    manifest = _manifest("3.13t", tmp_path)
    assert manifest["python"]["attribute"] == "python313FreeThreading"
    assert manifest["python"]["executable"] == "python3.13t"
    assert _chosen("3.13", tmp_path) == "python313"  # and never for a plain request


def test_the_interpreter_is_read_through_its_top_level_attribute(tmp_path: Path) -> None:
    # An overlay changes pkgs.python313, not pythonInterpreters.python313: the top level wins.
    manifest = _manifest("3.13", tmp_path)
    assert manifest["python"]["version"] == "3.13.5"
    assert "3.13.5" in manifest["python"]["out"]
