"""Issue 7: bad input, one table of cases, end to end in the NixOS simulation.

Each case prepares a project, runs uvx-nix once (inside the simulation, with the real nix and
uv), and asserts the exit code, the message and the state afterwards: on an error nothing in the
project changed (bytes of pyproject.toml, .python-version and uvx-nix.lock, and the list of files,
apart from uvx-nix's git-ignored work dir ``.uvx-nix/``), no ``*.tmp`` is left in the project or
the cache, and no Nix-injection payload was ever evaluated (its marker store path never appears).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from helpers.e2e import uv_bin, write_project
from helpers.sim import XDG_DIRS, Sim

PRINT = ["run", "python", "-c", "import sys; print(sys.base_prefix)"]
FIND = ["python", "find"]
UV = -1  # expected code: uv's own error came through (non-zero, not one of uvx-nix's codes)
OURS = range(70, 78)
TOKEN = uuid.uuid4().hex[:12]
MARKER = f"uvxnix-pwned-{TOKEN}"
EVAL_ME = f'builtins.toFile "{MARKER}" "evaluated"'
# The same code without whitespace: a flake reference with a space is rejected before Nix sees
# it (exit 70), so this form is what reaches Nix as data in the `data-*` cases.
EVAL_ME_TIGHT = f'builtins.toFile"{MARKER}""evaluated"'
SNAPSHOT_FILES = ("pyproject.toml", ".python-version", "uvx-nix.lock")

# Nix-injection payloads: each would create the marker store path if it were evaluated as code.
PAYLOADS = {
    "semicolon": f"zlib; {EVAL_ME}",
    "interpolation": "${" + EVAL_ME + "}",
    "readfile": "${builtins.readFile /etc/shadow}",
    "quotes": f'zlib" + {EVAL_ME} + "',
    "newline": f"zlib\n${{{EVAL_ME}}}",
    "long": "a" * 5000,
}


@dataclass
class Run:
    """How to run the case: arguments, the directory, extra environment, read-only binds."""

    args: list[str] = field(default_factory=lambda: list(PRINT))
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    inner_env: dict[str, str] = field(default_factory=dict)  # set inside (HOME that must not exist)
    ro: list[Path] = field(default_factory=list)


Setup = Callable[[Sim, Path], Run]
Check = Callable[[Sim, Path, subprocess.CompletedProcess[str]], None]


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup
    code: int
    words: tuple[str, ...] = ()
    check: Check | None = None
    bug: str | None = None  # a known bug in src/: the case is a strict xfail until it is fixed


def _run(sim: Sim, base: Path, run: Run) -> subprocess.CompletedProcess[str]:
    """Run inside the simulation from ``run.cwd`` via a shell ``cd`` (so a read-only bind of the
    project is not overridden by the launcher's read-write bind of its --chdir directory)."""
    cwd = run.cwd or base
    assigns = [f"{k}={v}" for k, v in run.inner_env.items()]
    inner = f"cd {shlex.quote(str(cwd))} && exec env {shlex.join(assigns)} " + \
        shlex.join(["uvx-nix", *run.args])
    argv = sim.argv(["bash", "-c", inner], env=run.env, binds=[base],
                    path_prepend=[uv_bin(sim)])
    extra: list[str] = []
    for path in run.ro:
        extra += ["--ro-bind", str(path), str(path)]
    end = argv.index("--")
    argv = [*argv[:end], *extra, *argv[end:]]
    host_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False,
                          env=host_env)


def _toml_load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = tomlkit.parse(text).unwrap()
    return data


def _toml(value: object) -> str:
    return json.dumps(value)  # a JSON string or list of strings is valid TOML


def _project(directory: Path, requires: str = ">=3.11", extra: str = "") -> None:
    write_project(directory, requires=requires, extra=extra)


def _first_sync(sim: Sim, d: Path, pin: str = "3.13") -> str:
    """A good call first (as a teammate committed it); returns the lock text."""
    _project(d)
    (d / ".python-version").write_text(f"{pin}\n")
    res = _run(sim, d, Run())
    assert res.returncode == 0, res.stderr
    return (d / "uvx-nix.lock").read_text()


def _edit_lock(sim: Sim, d: Path, edit: Callable[[Sim, str], str], trust: bool = True) -> Run:
    """A good lock, then edited as a stranger could.  The simulation's registry ``nixpkgs``
    locks to a path outside the store, which trust.py treats as a foreign source: an edited
    (unverified) lock then first needs permission (76).  With permission given (CI's
    UVX_NIX_TRUST=1), the lock must still be validated."""
    text = _first_sync(sim, d)
    new = edit(sim, text)
    assert new != text
    (d / "uvx-nix.lock").write_text(new)
    return Run(env={"UVX_NIX_TRUST": "1"} if trust else {})


# --- setups -------------------------------------------------------------------------------


def _pyproject_text(text: bytes) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        (d / "pyproject.toml").write_bytes(text)
        return Run()
    return setup


def _requires(value: str) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d, requires=value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
        return Run()
    return setup


def _python_version(text: str) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d)
        (d / ".python-version").write_text(text)
        return Run()
    return setup


def _tool_setting(key: str, value: object, env: dict[str, str] | None = None) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d, extra=f"\n[tool.uvx-nix]\n{key} = {_toml(value)}\n")
        return Run(env=dict(env or {}))
    return setup


def _user_setting(key: str, value: object) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d)
        config = sim.home / ".config" / "uvx-nix" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f"{key} = {_toml(value)}\n")
        return Run()
    return setup


def _env(name: str, value: str) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d)
        return Run(env={name: value})
    return setup


def _cli_python(value: str) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d)
        return Run(args=["run", "--python", value, "python", "-c", "print(1)"])
    return setup


def _lock_bytes(data: bytes) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d)
        (d / "uvx-nix.lock").write_bytes(data)
        return Run()
    return setup


def _lock_is_a_directory(sim: Sim, d: Path) -> Run:
    _project(d)
    (d / "uvx-nix.lock").mkdir()
    (d / "uvx-nix.lock" / "x").write_text("")
    return Run()


def _work_dir_is_a_file(sim: Sim, d: Path) -> Run:
    _project(d)
    (d / ".uvx-nix").write_text("committed by someone\n")
    return Run()


def _truncated(sim: Sim, d: Path) -> Run:
    return _edit_lock(sim, d, lambda s, t: t[: t.index("[systems") + 12])


def _version_99(sim: Sim, d: Path) -> Run:
    return _edit_lock(sim, d, lambda s, t: t.replace("version = 2", "version = 99", 1))


def _format_1(sim: Sim, d: Path) -> Run:
    def to_v1(s: Sim, text: str) -> str:
        data = _toml_load(text)
        entry = data["systems"]["x86_64-linux"]
        inputs = "".join(f"{k} = {_toml(v)}\n" for k, v in data["inputs"].items())
        return (
            f"version = 1\nnixpkgs = {_toml(data['nixpkgs']['url'])}\n[inputs]\n{inputs}"
            "[systems.x86_64-linux]\n"
            + "".join(f"{k} = {_toml(entry[k])}\n" for k in
                      ("python-attribute", "python-version", "implementation", "python",
                       "interpreter"))
            + f"libraries = {_toml([lib['path'] for lib in entry['libraries']])}\n"
            + f"library-attributes = {_toml([lib['attribute'] for lib in entry['libraries']])}\n"
        )
    return _edit_lock(sim, d, to_v1)


def _other_system_only(sim: Sim, d: Path) -> Run:
    return _edit_lock(sim, d, lambda s, t: t.replace("[systems.x86_64-linux]",
                                                     "[systems.aarch64-linux]"))


def _interpreter(new: Callable[[Sim, str], str]) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        def edit(s: Sim, text: str) -> str:
            old = re.search(r'^interpreter = "([^"]*)"$', text, re.MULTILINE)
            assert old
            return text.replace(old.group(0), f'interpreter = "{new(s, old.group(1))}"')
        return _edit_lock(sim, d, edit)
    return setup


def _swap_store_path(old_attr: str, new_attr: str, trust: bool = True) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        return _edit_lock(sim, d, lambda s, t: t.replace(s.pkgs[old_attr], s.pkgs[new_attr]),
                          trust)
    return setup


def _ro_home(missing: bool) -> Setup:
    def setup(sim: Sim, d: Path) -> Run:
        _project(d)
        ro = d.parent / f"{d.name}-ro"
        home = ro / ("missing" if missing else "home")
        ro.mkdir()
        if not missing:
            for rel in XDG_DIRS.values():
                (home / rel).mkdir(parents=True, exist_ok=True)
        env = {"HOME": str(home), **{k: str(home / v) for k, v in XDG_DIRS.items()}}
        # uv's own cache must be writable (that is uv's requirement, not uvx-nix's).
        env["UV_CACHE_DIR"] = "/tmp/uv-cache"
        return Run(inner_env=env, ro=[ro])
    return setup


def _ro_xdg(sim: Sim, d: Path) -> Run:
    _project(d)
    ro = d.parent / f"{d.name}-ro"
    ro.mkdir()
    env = {k: str(ro / "missing" / v) for k, v in XDG_DIRS.items()}
    env["UV_CACHE_DIR"] = "/tmp/uv-cache"  # uv's own cache (uv's requirement, not uvx-nix's)
    return Run(inner_env=env, ro=[ro])


def _ro_project(sim: Sim, d: Path) -> Run:
    _project(d, requires=">=3.13")
    return Run(args=list(FIND), ro=[d])


def _ro_project_with_committed_lock(sim: Sim, d: Path) -> Run:
    """A read-only checkout whose committed lock names python313 for '>=3.12' (valid: the
    locked nixpkgs gives exactly that path), while a fresh resolution would pick 3.12."""
    _project(d, requires=">=3.12")
    res = _run(sim, d, Run(args=list(FIND)))
    assert res.returncode == 0, res.stderr
    text = (d / "uvx-nix.lock").read_text()
    for old, new in ((sim.pkgs["python312"], sim.pkgs["python313"]),
                     ('"python312"', '"python313"'), ("python3.12", "python3.13"),
                     ('python-version = "3.12.1"', 'python-version = "3.13.0"')):
        assert old in text
        text = text.replace(old, new)
    (d / "uvx-nix.lock").write_text(text)
    return Run(args=list(FIND), ro=[d], env={"UVX_NIX_TRUST": "1"})


def _odd_path(sim: Sim, d: Path) -> Run:
    inner = d / "my project ü ✓"
    inner.mkdir()
    _project(inner, requires=">=3.12,<3.13")
    return Run(cwd=inner)


def _symlinked(sim: Sim, d: Path) -> Run:
    real = d / "real"
    real.mkdir()
    _project(real, requires=">=3.13")
    (d / "link").symlink_to(real)
    return Run(cwd=d / "link")


def _nested(sim: Sim, d: Path) -> Run:
    _project(d, requires=">=3.12,<3.13")
    inner = d / "inner"
    inner.mkdir()
    _project(inner, requires=">=3.13")
    return Run(cwd=inner)


def _workspace(sim: Sim, d: Path) -> Run:
    (d / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0"\nrequires-python = ">=3.13"\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    for i in range(200):
        member = d / "packages" / f"p{i}"
        member.mkdir(parents=True)
        (member / "pyproject.toml").write_text(
            f'[project]\nname = "p{i}"\nversion = "0"\nrequires-python = ">=3.10"\n')
    return Run(args=list(FIND), cwd=d / "packages" / "p137")


# --- checks -------------------------------------------------------------------------------


def _prefix(attr: str) -> Check:
    def check(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
        assert res.stdout.strip().splitlines()[-1].startswith(sim.pkgs[attr]), res.stdout
    return check


def _lock_attr(where: str, attr: str) -> Check:
    def check(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
        lock = _toml_load((d / where / "uvx-nix.lock").read_text())
        assert lock["systems"]["x86_64-linux"]["python-attribute"] == attr
    return check


def _all(*checks: Check) -> Check:
    def check(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
        for c in checks:
            c(sim, d, res)
    return check


def _migrated(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
    text = (d / "uvx-nix.lock").read_text()
    lock = _toml_load(text)
    assert lock["version"] == 2
    assert isinstance(lock["nixpkgs"], dict)
    libs = lock["systems"]["x86_64-linux"]["libraries"]
    assert [lib["attribute"] for lib in libs] == ["stdenv.cc.cc.lib", "zlib"]
    assert libs[1]["path"] == sim.pkgs["zlib"]
    assert "library-attributes" not in text


def _both_systems(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
    lock = _toml_load((d / "uvx-nix.lock").read_text())
    assert sorted(lock["systems"]) == ["aarch64-linux", "x86_64-linux"]
    assert lock["systems"]["aarch64-linux"] == lock["systems"]["x86_64-linux"]


def _lock_in_cache(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
    assert not (d / "uvx-nix.lock").exists()
    assert sorted(p.name for p in d.iterdir()) == ["pyproject.toml"]
    cached = list((sim.home / ".cache" / "uvx-nix" / "projects").glob("*/uvx-nix.lock"))
    assert len(cached) == 1, cached


def _lock_only_in_real_dir(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
    assert (d / "real" / "uvx-nix.lock").is_file()
    assert (d / "link").is_symlink()
    assert not (d / "uvx-nix.lock").exists()
    assert not list((sim.home / ".cache" / "uvx-nix").glob("projects/*/uvx-nix.lock"))


def _lock_at_workspace_root(sim: Sim, d: Path, res: subprocess.CompletedProcess[str]) -> None:
    assert (d / "uvx-nix.lock").is_file()
    assert not list((d / "packages").glob("*/uvx-nix.lock"))
    assert not list((d / "packages").glob("*/.uvx-nix"))


# --- the table ----------------------------------------------------------------------------

_INVALID_LIB = ("invalid library attribute",)
_INVALID_SOURCE = ("invalid nixpkgs source",)
_INVALID_REQUEST = ("invalid Python request",)
_STRATEGY = ("'strategy' in", "must be one of interpreter, nix-ld")


def _injection_cases() -> list[Case]:
    cases: list[Case] = []
    for name, payload in PAYLOADS.items():
        for key in ("libraries", "default-libraries", "build-libraries"):
            cases.append(Case(f"inject-tool-{key}-{name}", _tool_setting(key, [payload]), 70,
                              _INVALID_LIB))
            cases.append(Case(f"inject-user-{key}-{name}", _user_setting(key, [payload]), 70,
                              _INVALID_LIB))
        for var in ("UVX_NIX_LIBRARIES", "UVX_NIX_DEFAULT_LIBRARIES", "UVX_NIX_BUILD_LIBRARIES"):
            cases.append(Case(f"inject-{var}-{name}", _env(var, payload), 70, _INVALID_LIB))
        cases.append(Case(f"inject-tool-nixpkgs-{name}", _tool_setting("nixpkgs", payload), 70,
                          _INVALID_SOURCE))
        cases.append(Case(f"inject-user-nixpkgs-{name}", _user_setting("nixpkgs", payload), 70,
                          _INVALID_SOURCE))
        cases.append(Case(f"inject-UVX_NIX_NIXPKGS-{name}", _env("UVX_NIX_NIXPKGS", payload),
                          70, _INVALID_SOURCE))
        cases.append(Case(f"inject-tool-strategy-{name}", _tool_setting("strategy", payload), 70,
                          _STRATEGY))
        cases.append(Case(f"inject-user-strategy-{name}", _user_setting("strategy", payload), 70,
                          _STRATEGY))
        cases.append(Case(f"inject-UVX_NIX_STRATEGY-{name}", _env("UVX_NIX_STRATEGY", payload),
                          70, _STRATEGY))
        cases.append(Case(f"inject-requires-python-{name}", _requires(payload), 70,
                          _INVALID_REQUEST))
        # A request with a '/' is a path for uv (as uv reads it): uv's own error comes through.
        is_path = "/" in payload.splitlines()[0] and name != "newline"
        code, words = (UV, ()) if is_path else (70, _INVALID_REQUEST)
        cases.append(Case(f"inject-python-flag-{name}", _cli_python(payload), code, words))
        cases.append(Case(f"inject-UV_PYTHON-{name}", _env("UV_PYTHON", payload), code, words))
        # In a version file uv skips a line it does not support (with its own warning) and
        # asks for the default: never evaluated, never an error of uvx-nix's.
        first = payload.splitlines()[0]
        cases.append(Case(f"inject-python-version-{name}", _python_version(first + "\n"),
                          UV if "/" in first else 0, ()))
    # Syntactically valid sources: passed to Nix as data, so Nix fails to fetch them; the
    # expression inside is never evaluated (the marker never appears).
    for form, source in (("flake", f'path:/nonexistent/${{{EVAL_ME_TIGHT}}}'),
                         ("flake-quotes", f'path:/nonexistent/"+{EVAL_ME_TIGHT}+"'),
                         ("path", f'/nonexistent/${{{EVAL_ME}}}')):
        cases.append(Case(f"data-UVX_NIX_NIXPKGS-{form}", _env("UVX_NIX_NIXPKGS", source), 73,
                          ("nix failed while resolving",)))
        cases.append(Case(f"data-user-nixpkgs-{form}", _user_setting("nixpkgs", source), 73,
                          ("nix failed while resolving",)))
        cases.append(Case(f"data-tool-nixpkgs-{form}", _tool_setting("nixpkgs", source), 76,
                          ("names its own nixpkgs source", "uvx-nix nix allow")))
        cases.append(Case(f"data-tool-nixpkgs-trusted-{form}",
                          _tool_setting("nixpkgs", source, {"UVX_NIX_TRUST": "1"}), 73,
                          ("nix failed while resolving",)))
    # An attribute path that is valid syntax but names a builtin: looked up, never called.
    cases.append(Case("data-library-builtins-toFile", _env("UVX_NIX_LIBRARIES",
                                                          "builtins.toFile"), 71,
                      ("nixpkgs has no library attribute 'builtins.toFile'",)))
    return cases


CASES: list[Case] = [
    # A pyproject.toml uv cannot read: uv's own diagnostic and exit code, as with plain uv.
    Case("pyproject-malformed", _pyproject_text(b"[project\nname = "), UV,
         ("Failed to parse", "pyproject.toml")),
    Case("pyproject-not-utf8", _pyproject_text(b'[project]\nname = "\xff"\n'), UV,
         ("pyproject.toml",)),
    Case("requires-python-unsatisfiable", _requires(">=3.99"), 71,
         ("nixpkgs has no Python matching '>=3.99'", "cpython 3.10", "cpython 3.13")),
    Case("requires-python-garbage", _requires("banana"), 70,
         ("invalid Python request 'banana'",)),
    # As uv: a version file without a request asks for the default interpreter (python3,
    # which satisfies >=3.11 here), and a line uv does not support is skipped with uv's warning.
    Case("python-version-empty", _python_version(""), 0, (), _prefix("python312")),
    Case("python-version-blank-lines", _python_version("\n  \n# comment\n"), 0, (),
         _prefix("python312")),
    Case("python-version-garbage", _python_version("banana!\n"), 0,
         ("Ignoring unsupported Python request `banana!`",), _prefix("python312")),
    Case("python-version-several-lines", _python_version("3.12\n3.13\n"), 0, (),
         _all(_prefix("python312"), _lock_attr(".", "python312"))),
    Case("python-version-a-path", _python_version("/usr/bin/python3\n"), UV,
         ("No interpreter found at path `/usr/bin/python3`",)),
    Case("library-unknown", _tool_setting("libraries", ["nosuchlib"]), 71,
         ("nixpkgs has no library attribute 'nosuchlib'",)),
    Case("libraries-not-a-list", _tool_setting("libraries", 3), 70, ("must be a list",)),
    Case("libraries-too-many", _tool_setting("libraries", [f"l{i}" for i in range(101)]), 70,
         ("too many libraries",)),
    Case("nixpkgs-not-a-string", _tool_setting("nixpkgs", ["x"]), 70, ("must be a string",)),
    Case("auto-libraries-not-a-bool", _tool_setting("auto-libraries", "yes"), 70,
         ("must be true or false",)),
    Case("auto-build-libraries-not-a-bool", _tool_setting("auto-build-libraries", "yes"), 70,
         ("must be true or false",)),
    Case("build-libraries-too-many",
         _tool_setting("build-libraries", [f"l{i}" for i in range(101)]), 70,
         ("too many libraries",)),
    *_injection_cases(),
    Case("lock-garbage-bytes", _lock_bytes(b"\x00\xff\xfe\x80garbage"), 74, ("not UTF-8",)),
    Case("lock-garbage-text", _lock_bytes(b"}}}{{{ not toml at all"), 74, ("not valid TOML",)),
    Case("lock-truncated", _truncated, 74, ("uvx-nix.lock",)),
    Case("lock-is-a-directory", _lock_is_a_directory, 74, ("is not a regular file",)),
    Case("work-dir-is-a-file", _work_dir_is_a_file, 70, (".uvx-nix",)),
    Case("lock-newer-format", _version_99, 74, ("format 99", "upgrade uvx-nix")),
    Case("lock-format-1-migrated", _format_1, 0, ("migrated", "from format 1 to 2"),
         _all(_prefix("python313"), _migrated)),
    Case("lock-other-system-only", _other_system_only, 0, (),
         _all(_prefix("python313"), _both_systems)),
    Case("lock-interpreter-outside-store", _interpreter(lambda s, old: "/usr/bin/python3"), 74,
         ("outside its store path",)),
    Case("lock-interpreter-dotdot",
         _interpreter(lambda s, old: old.replace("/bin/", "/../" + s.pkgs["bash"][11:] + "/bin/")),
         74, ("outside its store path",)),
    Case("lock-interpreter-in-another-store-path",
         _interpreter(lambda s, old: s.bin("bash", "bash")), 74, ("outside its store path",)),
    Case("lock-python-of-another-attribute", _swap_store_path("python313", "python312"), 74,
         ("but the locked nixpkgs gives", "uvx-nix nix lock --upgrade")),
    # Edited in place: it still pins what this machine locked your own nixpkgs to, so it is
    # re-checked without asking, and refused (a stranger's pin: e2e/test_attacks.py).
    Case("lock-python-of-another-attribute-own-source",
         _swap_store_path("python313", "python312", trust=False), 74,
         ("but the locked nixpkgs gives", "uvx-nix nix lock --upgrade")),
    Case("lock-library-of-another-attribute", _swap_store_path("zlib", "openssl"), 74,
         ("but the locked nixpkgs gives", "uvx-nix nix lock --upgrade")),
    Case("home-unwritable", _ro_home(missing=False), 0, (), _prefix("python312")),
    Case("home-missing", _ro_home(missing=True), 0, (), _prefix("python312")),
    Case("xdg-dirs-missing-and-unwritable", _ro_xdg, 0, (), _prefix("python312")),
    Case("project-read-only", _ro_project, 0, ("is not writable",),
         _all(_prefix("python313"), _lock_in_cache)),
    Case("project-read-only-honours-its-committed-lock", _ro_project_with_committed_lock, 0,
         ("is not writable",), _prefix("python313")),
    Case("path-with-spaces-and-non-ascii", _odd_path, 0, (),
         _all(_prefix("python312"), _lock_attr("my project ü ✓", "python312"))),
    Case("project-through-symlink", _symlinked, 0, (),
         _all(_prefix("python313"), _lock_only_in_real_dir)),
    Case("nested-projects", _nested, 0, (),
         _all(_prefix("python313"), _lock_attr("inner", "python313"),
              lambda s, d, r: None if not (d / "uvx-nix.lock").exists() else pytest.fail(
                  "the outer project got a lock"))),
    Case("workspace-200-members", _workspace, 0, (),
         _all(_prefix("python313"), _lock_at_workspace_root)),
]


def _snapshot(d: Path) -> tuple[dict[str, bytes | None], list[str]]:
    files: dict[str, bytes | None] = {}
    for name in SNAPSHOT_FILES:
        path = d / name
        files[name] = path.read_bytes() if path.is_file() else None
    listing = sorted(
        str(p.relative_to(d)) for p in d.rglob("*")
        if ".uvx-nix" not in p.relative_to(d).parts
    )
    return files, listing


def _temp_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*.tmp")]


def _marker_paths() -> list[str]:
    return [name for name in os.listdir("/nix/store") if TOKEN in name]


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=f"bug: {c.bug}")]
                 if c.bug else []) for c in CASES])
def test_bad_input(sim: Sim, project_dir: Path, case: Case) -> None:
    run = case.setup(sim, project_dir)
    before = _snapshot(project_dir)
    res = _run(sim, project_dir, run)
    detail = f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    if case.code == UV:
        assert res.returncode != 0, detail
        assert res.returncode not in OURS, detail
        assert "error: uvx-nix" not in res.stderr, detail
    else:
        assert res.returncode == case.code, detail
    for words in case.words:
        assert words in res.stderr, detail
    assert "Traceback" not in res.stderr, detail
    if case.code in OURS:
        errors = [line for line in res.stderr.splitlines() if "error" in line]
        assert len(errors) == 1, detail
        assert res.stderr.splitlines()[-1].startswith("error: uvx-nix: "), detail
        assert _snapshot(project_dir) == before, "an error changed the project"
    if case.check is not None:
        case.check(sim, project_dir, res)
    assert not _temp_files(project_dir, sim.home / ".cache"), "a temp file was left behind"
    assert not _marker_paths(), "a Nix-injection payload was evaluated"


def test_the_table_is_large() -> None:
    assert len(CASES) >= 100


def test_the_marker_would_show_if_a_payload_were_evaluated(sim: Sim, project_dir: Path) -> None:
    """The control for the injection cases: evaluating the payload does create the marker."""
    for form in ('builtins.toFile "{}" "evaluated"', 'builtins.toFile"{}""evaluated"'):
        control = f"uvxnix-control-{uuid.uuid4().hex[:12]}"
        res = sim.run(["nix", "--extra-experimental-features", "nix-command", "eval", "--raw",
                       "--expr", form.format(control)], cwd=project_dir)
        assert res.returncode == 0, res.stderr
        assert Path(res.stdout.strip()).name.endswith(control)
        assert [n for n in os.listdir("/nix/store") if n.endswith(control)]
        sim.run(["nix-store", "--delete", res.stdout.strip()], cwd=project_dir)
