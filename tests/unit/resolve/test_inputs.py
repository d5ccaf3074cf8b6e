"""inputs: the request uv forms (WorkspacePython / ScriptPython), uv config files, one-offs.

The differential test in the simulation (e2e/test_choice.py) checks these against real uv;
these pin down each rule where it is decided.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.projects import pyproject, write
from uvx_nix import argv
from uvx_nix.errors import UserError
from uvx_nix.resolve import inputs, interpreter, project


def _request(args: list[str], start: Path, env: dict[str, str],
             script_meta: dict[str, object] | None = None,
             script_dir: Path | None = None) -> tuple[str, str, list[Path]]:
    inv = argv.parse(args)
    proj = None if script_meta is not None else project.find(start)
    watched: list[Path] = []
    req = interpreter.python_request(inv, env, start, proj, script_meta, watched, script_dir)
    return req.kind, req.text, watched


def test_explicit_requests_win(tmp_path: Path, env: dict[str, str]) -> None:
    proj = pyproject(tmp_path / "p", ">=3.13")
    write(proj / ".python-version", "3.12\n")
    assert _request(["run", "--python", "3.11", "x"], proj, env)[:2] == ("version", "3.11")
    assert _request(["run", "x"], proj, {**env, "UV_PYTHON": "3.10"})[:2] == \
        ("version", "3.10")
    # `uv python find/pin` take their positional request and read no UV_PYTHON.
    assert _request(["python", "find", "3.11"], proj, {**env, "UV_PYTHON": "3.10"})[:2] == \
        ("version", "3.11")
    assert _request(["python", "find"], proj, {**env, "UV_PYTHON": "3.10"})[:2] == \
        ("version", "3.12")


def test_global_pin_outside_requires_python_is_skipped(tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    proj = pyproject(tmp_path / "p", ">=3.13")
    write(Path(env["XDG_CONFIG_HOME"]) / "uv" / ".python-version", "3.12\n")
    assert _request(["sync"], proj, env)[:2] == ("version", ">=3.13")
    write(Path(env["XDG_CONFIG_HOME"]) / "uv" / ".python-version", "3.13\n")
    assert _request(["sync"], proj, env)[:2] == ("version", "3.13")
    # A local pin is a request even outside requires-python: uv then reports the conflict.
    write(proj / ".python-version", "3.11\n")
    kind, text, watched = _request(["sync"], proj, env)
    assert (kind, text) == ("version", "3.11")
    assert proj / ".python-version" in watched


def test_workspace_requires_python_is_the_intersection(tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    root = pyproject(tmp_path / "ws", ">=3.10", '[tool.uv.workspace]\nmembers = ["pkgs/*"]\n')
    pyproject(root / "pkgs" / "a", "<3.12")
    pyproject(root / "pkgs" / "b")
    found = project.find(root / "pkgs" / "b")
    assert found is not None
    assert found.requires_python == ">=3.10, <3.12"
    assert root / "pkgs" in found.examined  # a member added later changes this directory
    assert _request(["sync"], root / "pkgs" / "b", env)[:2] == ("version", ">=3.10, <3.12")
    # Disjoint members: uv reports it; uvx-nix asks for the default.
    pyproject(root / "pkgs" / "c", ">=3.13")
    assert _request(["sync"], root, env)[0] == "default"


def test_environment_commands_read_pins_from_the_workspace_root(
        tmp_path: Path, env: dict[str, str]) -> None:
    root = pyproject(tmp_path / "ws", None, '[tool.uv.workspace]\nmembers = ["pkgs/*"]\n')
    member = pyproject(root / "pkgs" / "a")
    write(member / ".python-version", "3.11\n")
    write(root / ".python-version", "3.13\n")
    assert _request(["run", "python"], member, env)[1] == "3.13"
    assert _request(["run", "--no-sync", "python"], member, env)[1] == "3.11"
    assert _request(["lock"], member, env)[1] == "3.11"
    assert _request(["venv"], member, env)[1] == "3.11"


def test_script_pins_must_meet_the_scripts_requires_python(tmp_path: Path,
                                                          env: dict[str, str]) -> None:
    work = tmp_path / "w"
    write(work / ".python-version", "3.12\n")
    meta: dict[str, object] = {"requires-python": "<3.12"}
    assert _request(["run", "s.py"], work, env, meta, work)[:2] == ("version", "<3.12")
    meta = {"requires-python": ">=3.11"}
    assert _request(["run", "s.py"], work, env, meta, work)[:2] == ("version", "3.12")
    assert _request(["run", "s.py"], work, env, {}, work)[:2] == ("version", "3.12")
    (work / ".python-version").unlink()
    assert _request(["run", "s.py"], work, env, {}, work)[0] == "default"


def test_version_files_as_uv_reads_them(tmp_path: Path, env: dict[str, str]) -> None:
    work = tmp_path / "w"
    write(work / ".python-versions", "3.11\n3.12\n")
    assert _request(["run", "x"], work, env)[1] == "3.11"
    write(work / ".python-version", "# nothing\n\n")
    assert _request(["run", "x"], work, env)[0] == "default"  # a pin without a request
    write(work / ".python-version", "banana!\n3.13\n")
    assert _request(["run", "x"], work, env)[1] == "3.13"  # uv skips what it cannot use
    # --no-config and UV_NO_CONFIG: no version files at all.
    assert _request(["--no-config", "run", "x"], work, env)[0] == "default"
    assert _request(["run", "x"], work, {**env, "UV_NO_CONFIG": "1"})[0] == "default"
    # Tools read only the global pin.
    assert _request(["tool", "run", "ruff"], work, env)[0] == "default"
    write(Path(env["XDG_CONFIG_HOME"]) / "uv" / ".python-version", "3.10\n")
    assert _request(["tool", "run", "ruff"], work, env)[1] == "3.10"


def test_one_off_requests_are_not_the_projects(tmp_path: Path, env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    proj = pyproject(tmp_path / "p", ">=3.11")
    monkeypatch.chdir(proj)
    cache = tmp_path / "cache"
    environ = {**env, "UVX_NIX_CACHE_DIR": str(cache), "UVX_NIX_NIXPKGS": "path:/x"}
    plain = inputs.gather(argv.parse(["sync"]), environ)
    assert not plain.one_off
    assert plain.lock_dir == proj
    one_off = inputs.gather(argv.parse(["run", "--python", "3.13", "x"]), environ)
    assert one_off.one_off
    assert one_off.lock_dir.parent == inputs.oneoff_dir(environ, proj)
    same = inputs.gather(argv.parse(["run", "--python", ">=3.11", "x"]), environ)
    assert not same.one_off  # the project's own request, spelled on the command line


def test_settings_errors_name_the_variable(tmp_path: Path, env: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var, value, words in (("UVX_NIX_STRATEGY", "bogus", "in UVX_NIX_STRATEGY"),
                              ("UVX_NIX_LIBRARIES", "a b!", "in UVX_NIX_LIBRARIES"),
                              ("UVX_NIX_NIXPKGS", "no such thing", "UVX_NIX_NIXPKGS")):
        with pytest.raises(UserError) as info:
            inputs.gather(argv.parse(["sync"]), {**env, var: value})
        assert words in info.value.message, info.value.message


def test_a_broken_pyproject_is_left_to_uv(tmp_path: Path, env: dict[str, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "pyproject.toml", "[project\n")
    monkeypatch.chdir(tmp_path)
    got = inputs.gather(argv.parse(["sync"]),
                        {**env, "UVX_NIX_CACHE_DIR": str(tmp_path / "c"),
                         "UVX_NIX_NIXPKGS": "path:/x"})
    assert got.project is None
    assert tmp_path / "pyproject.toml" in got.watched
