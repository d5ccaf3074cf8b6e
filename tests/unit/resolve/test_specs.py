"""The request resolve.nix evaluates (everything as data) and what its manifest may say."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.projects import pyproject, write
from uvx_nix import argv
from uvx_nix.errors import EXIT_LOCKFILE, EXIT_NO_MATCH, UserError
from uvx_nix.resolve import inputs, lockfile, specs

PY = "/nix/store/" + "a" * 32 + "-python3-3.12.1"
ZLIB = "/nix/store/" + "b" * 32 + "-zlib-1.3"


def _inputs(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
            extra: str = "") -> inputs.Inputs:
    proj = pyproject(tmp_path / "p", ">=3.12", extra)
    monkeypatch.chdir(proj)
    return inputs.gather(argv.parse(["sync"]), {**env, "UVX_NIX_NIXPKGS": "path:/somewhere"})


def _manifest(**changes: object) -> dict[str, object]:
    manifest: dict[str, object] = {
        "python": {"attribute": "python312", "version": "3.12.1", "implementation": "cpython",
                   "out": PY, "interpreter": f"{PY}/bin/python3.12"},
        "libraries": [{"attribute": "zlib", "out": ZLIB}], "missing": [], "candidates": []}
    manifest.update(changes)
    return manifest


def test_the_spec_carries_the_request_as_data(tmp_path: Path, env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _inputs(tmp_path, env, monkeypatch, '[tool.uvx-nix]\nlibraries = ["xorg.libX11"]\n')
    python = specs.python_spec(inp)
    assert python["mode"] == "match"
    assert python["clauses"] == [c.to_json() for c in inp.python.clauses]
    spec = specs.resolve_spec(inp, {"type": "path", "path": "/somewhere"}, python,
                              list(inp.libraries))
    assert spec["system"] == inp.system
    assert spec["nixpkgs"] == {"type": "path", "path": "/somewhere"}
    # Attribute paths go to Nix as lists of names (under every name they have had), never
    # as text Nix would parse.
    by_name = {lib["name"]: lib["paths"] for lib in spec["libraries"]}
    assert ["xorg", "libX11"] in by_name["xorg.libX11"]
    assert all(isinstance(part, str) for paths in by_name.values() for path in paths
               for part in path)
    assert spec["allowUnfree"] is False


def test_the_manifest_becomes_a_checked_lock_entry(tmp_path: Path, env: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _inputs(tmp_path, env, monkeypatch)
    entry = specs.entry_from_manifest(_manifest(), inp)
    assert (entry.python_attribute, entry.python, entry.libraries) == \
        ("python312", PY, (lockfile.Library("zlib", ZLIB),))
    with pytest.raises(UserError) as err:  # a manifest naming a path outside the store
        specs.entry_from_manifest(_manifest(libraries=[{"attribute": "zlib", "out": "/tmp/x"}]),
                                  inp)
    assert err.value.exit_code == EXIT_LOCKFILE


def test_what_nixpkgs_lacks_is_one_line_naming_it(tmp_path: Path, env: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _inputs(tmp_path, env, monkeypatch)
    with pytest.raises(UserError) as err:
        specs.entry_from_manifest(_manifest(missing=["libfoo"]), inp)
    assert err.value.exit_code == EXIT_NO_MATCH
    assert "'libfoo'" in err.value.message
    with pytest.raises(UserError) as err:
        specs.entry_from_manifest(_manifest(python=None, candidates=[
            {"implementation": "cpython", "pythonVersion": "3.11.9"}]), inp)
    assert "it has cpython 3.11.9" in err.value.message


def test_a_locked_source_is_what_later_evaluations_use() -> None:
    def lock(kind: str, url: str, nar: str = "") -> lockfile.Lock:
        return lockfile.Lock("f", {}, url, kind, nixpkgs_nar_hash=nar)

    rev = "c" * 40
    assert specs.locked_source(lock("channel", f"github:NixOS/nixpkgs/{rev}")) == \
        {"type": "revision", "rev": rev}
    assert specs.locked_source(lock("channel", "<nixpkgs>")) == {"type": "channel"}
    assert specs.locked_source(lock("path", "/src/nixpkgs", "sha256-x")) == \
        {"type": "path", "path": "/src/nixpkgs", "narHash": "sha256-x"}
    assert specs.locked_source(lock("flake", f"github:NixOS/nixpkgs/{rev}"))["type"] == "flake"


def test_the_lock_records_origins_without_this_machines_paths(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _inputs(tmp_path, env, monkeypatch)
    write(Path(env["XDG_CONFIG_HOME"]) / "uvx-nix" / "config.toml", "")
    assert inp.project is not None
    assert specs.portable_origin(f"{inp.project.root}/pyproject.toml", inp, env) == \
        "pyproject.toml"
    assert specs.portable_origin("/home/someone/elsewhere/.python-version", inp, env) == \
        ".python-version"
    recorded = specs.lock_inputs(inp, env)
    assert recorded["fingerprint"] == inp.fingerprint()
    assert str(tmp_path) not in str(recorded)
