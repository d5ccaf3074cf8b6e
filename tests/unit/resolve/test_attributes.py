"""Questions to the locked nixpkgs about attributes, with Nix faked at its boundary
(nix.build): which attributes it lacks, and which candidate really holds a library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from uvx_nix.resolve import attributes, inputs, lockfile, nix

PY = "/nix/store/" + "a" * 32 + "-python3-3.12.1"


def _locked(tmp_path: Path) -> Path:
    entry = lockfile.SystemEntry("python312", "3.12.1", "cpython", PY, f"{PY}/bin/python3.12")
    fingerprint = "sha256:" + "0" * 64
    lock = lockfile.Lock(fingerprint, {"fingerprint": fingerprint, "python": "3.12",
                                       "libraries": [], "strategy": "scope",
                                       "nixpkgs": "/somewhere"},
                         "/somewhere", "path", {inputs.current_system(): entry})
    path = tmp_path / "uvx-nix.lock"
    lockfile.write(path, lock)
    return path


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """nix.build answers from the spec: `nosuch` does not exist, `mesa` exists but holds no
    libGL, every other first name exists and holds lib/<its name>.  Records the specs."""
    seen: list[dict[str, Any]] = []

    def build(spec: dict[str, Any], out_link: Path, environ: object, **kw: object
              ) -> dict[str, Any]:
        seen.append(spec)
        assert out_link.parent.name == "gcroots"  # rooted beside the lock while it runs
        libs, missing = [], []
        for lib in spec["libraries"]:
            chosen = next((".".join(p) for p in lib["paths"] if p[0] != "nosuch"), None)
            if chosen is None:
                missing.append(lib["name"])
                continue
            out = tmp_path / "store" / chosen
            (out / "lib").mkdir(parents=True, exist_ok=True)
            if chosen != "mesa":
                (out / "lib" / lib["name"]).touch()
            libs.append({"attribute": lib["name"], "chosen": chosen, "out": str(out)})
        return {"libraries": libs, "missing": missing}

    monkeypatch.setattr(nix, "build", build)
    return seen


def test_missing_attributes_asks_the_locked_nixpkgs_once(
        tmp_path: Path, builds: list[dict[str, Any]]) -> None:
    lock = _locked(tmp_path)
    assert attributes.missing_attributes(lock, ["zlib", "nosuch"], {}) == ["nosuch"]
    assert len(builds) == 1
    assert builds[0]["nixpkgs"] == {"type": "path", "path": "/somewhere"}
    assert builds[0]["python"]["attribute"] == "python312"
    assert not list((tmp_path / ".uvx-nix" / "gcroots").iterdir())  # the root is gone again


def test_no_lock_no_question(tmp_path: Path, builds: list[dict[str, Any]]) -> None:
    assert attributes.missing_attributes(tmp_path / "uvx-nix.lock", ["zlib"], {}) is None
    assert attributes.providers(tmp_path / "uvx-nix.lock", {"libz.so.1": "zlib"}, {}) is None
    assert builds == []


def test_providers_passes_over_a_candidate_that_lacks_the_library(
        tmp_path: Path, builds: list[dict[str, Any]]) -> None:
    """An attribute that exists but, built, holds no lib/<soname> is not the provider; one
    that holds it is (each soname asked in the same build)."""
    lock = _locked(tmp_path)
    found = attributes.providers(lock, {"libGL.so.1": "mesa", "libz.so.1": "zlib"}, {})
    assert found == {"libGL.so.1": None, "libz.so.1": "zlib"}
    assert len(builds) == 1
    assert {lib["name"] for lib in builds[0]["libraries"]} == {"libGL.so.1", "libz.so.1"}
