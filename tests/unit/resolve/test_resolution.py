"""Resolution policy with Nix faked at its boundary (nix.build): the first call runs Nix once
and writes the lock; a failure with nothing to fall back to is one line; the fields a
resolution memoises are the cache record's declared ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers.projects import pyproject
from uvx_nix import argv, cache
from uvx_nix.errors import EXIT_NIX_FAILED, UserError
from uvx_nix.resolve import inputs, lockfile, nix, resolution

PY = "/nix/store/" + "a" * 32 + "-python3-3.12.1"
GCC = "/nix/store/" + "c" * 32 + "-gcc-13-lib"


@pytest.fixture
def project(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
            ) -> tuple[inputs.Inputs, dict[str, str]]:
    environ = {**env, "UVX_NIX_NIXPKGS": "path:/somewhere",
               "UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}
    monkeypatch.chdir(pyproject(tmp_path / "p", ">=3.12"))
    return inputs.gather(argv.parse(["sync"]), environ), environ


def _manifest(spec: dict[str, Any]) -> dict[str, Any]:
    return {"python": {"attribute": "python312", "version": "3.12.1",
                       "implementation": "cpython", "out": PY,
                       "interpreter": f"{PY}/bin/python3.12"},
            "libraries": [{"attribute": lib["name"], "out": GCC} for lib in spec["libraries"]],
            "missing": [], "candidates": [], "nixpkgsRelease": "26.05"}


def test_the_first_call_runs_nix_once_and_writes_the_lock(
        project: tuple[inputs.Inputs, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    inp, environ = project
    specs: list[dict[str, Any]] = []

    def build(spec: dict[str, Any], out_link: Path, env: object, **kw: object) -> dict[str, Any]:
        specs.append(spec)
        return _manifest(spec)

    monkeypatch.setattr(nix, "build", build)
    resolved = resolution.ensure(inp, environ)
    assert (resolved.nix_runs, resolved.lock_written, resolved.fell_back) == (1, True, False)
    assert len(specs) == 1
    assert specs[0]["python"]["mode"] == "match"
    found = lockfile.read(inp.lock_path)
    assert found is not None
    assert found[0].systems[inp.system].python == PY
    assert found[0].fingerprint == inp.fingerprint()
    assert resolved.nixpkgs_release == "26.05"


def test_nix_failing_with_nothing_to_fall_back_to_is_one_line(
        project: tuple[inputs.Inputs, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    inp, environ = project

    def build(*args: object, **kw: object) -> dict[str, Any]:
        raise UserError("nix failed while resolving the Python interpreter: boom",
                        EXIT_NIX_FAILED)

    monkeypatch.setattr(nix, "build", build)
    with pytest.raises(UserError) as err:
        resolution.ensure(inp, environ)
    assert err.value.exit_code == EXIT_NIX_FAILED
    assert not inp.lock_path.exists()  # nothing half-written


def test_the_memoised_fields_are_the_cache_records_declared_ones(
        project: tuple[inputs.Inputs, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    inp, environ = project
    monkeypatch.setattr(nix, "build", lambda spec, *a, **k: _manifest(spec))
    fields = resolution.ensure(inp, environ).fields(environ)
    assert set(fields) <= cache.FIELDS
    assert fields["interpreter"] == f"{PY}/bin/python3.12"
    assert fields["site"].endswith("/.venv/lib/python3.12/site-packages")


def test_no_progress_reaches_nix(project: tuple[inputs.Inputs, dict[str, str]]) -> None:
    _, environ = project
    assert resolution.no_progress(argv.parse(["--no-progress", "sync"]),
                                  environ)["UV_NO_PROGRESS"] == "1"
    assert "UV_NO_PROGRESS" not in resolution.no_progress(argv.parse(["sync"]), environ)
