"""A cache miss: resolve (Nix faked at nix.build), say what was done in one line, and
remember it in a cache record the next call can read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from helpers.projects import pyproject
from uvx_nix import argv, cache, output
from uvx_nix.prepare import miss
from uvx_nix.resolve import nix

PY = "/nix/store/" + "a" * 32 + "-python3-3.12.1"
GCC = "/nix/store/" + "c" * 32 + "-gcc-13-lib"


def _manifest(spec: dict[str, Any], *args: object, **kw: object) -> dict[str, Any]:
    return {"python": {"attribute": "python312", "version": "3.12.1",
                       "implementation": "cpython", "out": PY,
                       "interpreter": f"{PY}/bin/python3.12"},
            "libraries": [{"attribute": lib["name"], "out": GCC} for lib in spec["libraries"]],
            "missing": [], "candidates": []}


@pytest.fixture
def environ(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
            ) -> dict[str, str]:
    monkeypatch.setattr(nix, "build", _manifest)
    monkeypatch.chdir(pyproject(tmp_path / "p", ">=3.12"))
    output.configure(0)
    return {**env, "UVX_NIX_NIXPKGS": "path:/somewhere",
            "UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}


def test_a_miss_says_what_it_did_and_remembers_it(
        environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    inv = argv.parse(["sync"])
    key = cache.key_for(inv)
    fields = miss.resolve_for(inv, environ, key, cache.path(key, environ))
    line = capsys.readouterr().err.strip()
    assert line.startswith("Resolved CPython 3.12.1 and 2 libraries from nixpkgs "
                           "(path:/somewhere) in ")
    assert line.endswith("s; locked in uvx-nix.lock")
    with open(cache.path(key, environ), "rb") as f:
        recorded, watched, required = cache.decode(f.read(), key)
    assert recorded == fields
    assert set(recorded) <= cache.FIELDS
    assert os.path.join(os.getcwd(), "pyproject.toml") in dict(watched)
    assert os.path.join(os.getcwd(), "uvx-nix.lock") in dict(watched)
    assert PY in required


def test_quiet_misses_say_nothing(environ: dict[str, str],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    inv = argv.parse(["-q", "sync"])
    output.configure(inv.quiet)
    try:
        key = cache.key_for(inv)
        miss.resolve_for(inv, environ, key, cache.path(key, environ))
    finally:
        output.configure(0)
    assert capsys.readouterr().err == ""


def test_commands_that_run_no_project_code_are_library_free() -> None:
    assert ("remove",) in miss.LIBRARY_FREE
    assert ("run",) not in miss.LIBRARY_FREE
    assert ("sync",) not in miss.LIBRARY_FREE
