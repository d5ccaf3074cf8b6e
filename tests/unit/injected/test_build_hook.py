"""The build hook (sitecustomize in a build backend's Python): recognising uv's backends,
the environment it applies, and the retry after a fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from uvx_nix.build import toolchain
from uvx_nix.injected import build_hook as hook

UV_SCRIPT = (
    'import sys\n\nif sys.path[0] == "":\n    sys.path.pop(0)\n\nsys.path = [] + sys.path\n\n'
    "import setuptools.build_meta as backend\n\n\nwheel_filename = backend.build_wheel("
    '__import__("os").fsdecode(b"/tmp/x"), {}, None)\n')


def test_backend_is_read_from_uvs_script() -> None:
    assert hook.backend(["/b/bin/python", "-c", UV_SCRIPT]) == "setuptools.build_meta"
    legacy = UV_SCRIPT.replace("import setuptools.build_meta as backend",
                               "from setuptools.build_meta import __legacy__ as backend")
    assert hook.backend(["python", "-c", legacy]) == "setuptools.build_meta"


@pytest.mark.parametrize("argv_", [
    ["python", "-c", "import os; print(os.environ)"],  # a program run with `uv run python -c`
    ["python", "script.py", UV_SCRIPT],
    ["python", "-c", UV_SCRIPT.replace(" as backend", " as be")],
    ["python"],
    ["python", "-I", "-c", UV_SCRIPT],
])
def test_other_pythons_are_not_build_backends(argv_: list[str]) -> None:
    assert hook.backend(argv_) is None


def test_command_line_is_the_original_one() -> None:
    assert hook.command_line()[:1] == sys.orig_argv[:1]


def test_parent_must_be_uv(tmp_path: Path) -> None:
    # This test's parent is not the program UV names (nor is anything when UV is unset).
    assert not hook.parent_is_uv({"UV": sys.executable})
    assert not hook.parent_is_uv({})
    # A child whose parent is the executable UV names: recognised.
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            " from uvx_nix.injected import build_hook as h;"
            " import os; print(h.parent_is_uv({'UV': sys.argv[2]}))")
    src = str(Path(hook.__file__).parents[2])
    res = subprocess.run([sys.executable, "-c",
                          "import subprocess, sys; subprocess.run(sys.argv[1:])",
                          sys.executable, "-c", code, src, sys.executable],
                         capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "True"


def test_rust_is_needed_for_maturin_setuptools_rust_and_cargo(tmp_path: Path) -> None:
    assert hook.needs_rust("maturin", str(tmp_path))
    assert not hook.needs_rust("setuptools.build_meta", str(tmp_path))
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools-rust"]\n')
    assert hook.needs_rust("setuptools.build_meta", str(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    (other / "Cargo.toml").write_text("[package]\n")
    assert hook.needs_rust("hatchling.build", str(other))


def test_hook_outside_a_build_removes_itself_and_chains(tmp_path: Path) -> None:
    """Run the hook as the sitecustomize of a plain Python: it leaves no trace in the
    environment or sys.path and hands over to the next sitecustomize."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_bytes(Path(hook.__file__).read_bytes())
    nxt = tmp_path / "next"
    nxt.mkdir()
    (nxt / "sitecustomize.py").write_text("import os\nos.environ['NEXT_RAN'] = '1'\n")
    code = "import os, sys; print(os.environ.get('PYTHONPATH'), os.environ.get('NEXT_RAN'), " \
           f"{str(hook_dir)!r} in sys.path)"
    env = {**os.environ, "PYTHONPATH": f"{hook_dir}:{nxt}", "UV": sys.executable}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    assert res.stdout.split() == [str(nxt), "1", "False"]


def test_apply_sets_defaults_and_prepends() -> None:
    data = {"set": {"NIX_DONT_SET_RPATH": "1"}, "default": {"CC": "cc"},
            "prepend": [["PATH", "/s/cc/bin", ":"], ["NIX_LDFLAGS", "-L/s/z/lib", " "]]}
    out = hook.apply({"PATH": "/usr/bin", "CC": "clang", "NIX_LDFLAGS": "-L/x"}, data)
    assert out["PATH"] == "/s/cc/bin:/usr/bin"
    assert out["CC"] == "clang"  # yours wins
    assert out["NIX_LDFLAGS"] == "-L/s/z/lib -L/x"
    assert hook.apply({}, data)["CC"] == "cc"


def test_load_env_refuses_files_naming_missing_store_paths(tmp_path: Path) -> None:
    good = tmp_path / "env.json"
    good.write_text(json.dumps({"paths": [str(tmp_path)], "set": {}}))
    assert hook.load_env(str(good)) is not None
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps({"paths": ["/nix/store/nothere-x"], "set": {}}))
    assert hook.load_env(str(gone)) is None
    assert hook.load_env(str(tmp_path / "absent.json")) is None


def test_build_uses_the_realised_environment_and_passes_output_on(
        build_dir: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _env_file(build_dir, "env.json", "/s/cc/bin")
    seen: list[dict[str, str]] = []

    def attempt(env: dict[str, str]) -> tuple[bytes, bytes, int]:
        seen.append(env)
        return b"built\n", b"", 0

    monkeypatch.setattr(hook, "_attempt", attempt)
    monkeypatch.setattr(hook, "_wrapper", lambda *a, **k: pytest.fail("no uvx-nix call"))
    with pytest.raises(_ExitError) as done:
        hook._build("setuptools.build_meta")
    assert done.value.args == (0,)
    assert seen[0]["PATH"].startswith("/s/cc/bin:")
    assert seen[0]["NIX_DONT_SET_RPATH"] == "1"
    assert "NIX_DONT_SET_RPATH" not in os.environ  # only the build's child gets it
    assert capfd.readouterr().out == "built\n"


def test_build_realises_first_then_retries_once_in_automatic_mode(
        build_dir: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    first = _env_file(build_dir, "realised.json", "/s/cc/bin")
    second = _env_file(build_dir, "retry.json", "/s/ffi-dev/bin")
    calls: list[list[str]] = []

    def wrapper(config: dict[str, object], args: list[str], data: bytes = b""
                ) -> dict[str, str]:
        calls.append(args)
        if args[0] == "env":
            return {"env": str(first)}
        assert b"ffi.h" in data
        return {"env": str(second), "message": "added libffi; building again"}

    results = iter([(b"", b"fatal error: ffi.h: No such file or directory\n", 1),
                    (b"ok\n", b"", 0)])
    monkeypatch.setattr(hook, "_wrapper", wrapper)
    monkeypatch.setattr(hook, "_attempt", lambda env: next(results))
    with pytest.raises(_ExitError) as done:
        hook._build("setuptools.build_meta")
    assert done.value.args == (0,)
    assert calls == [["env"], ["fix"]]
    out, err = capfd.readouterr()
    assert out == "ok\n"
    assert "uvx-nix: added libffi; building again" in err


def test_build_failure_gets_the_hint_line(
        build_dir: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _env_file(build_dir, "env.json", "/s/cc/bin")
    monkeypatch.setattr(hook, "_attempt", lambda env: (b"", b"fatal error: x", 1))
    monkeypatch.setattr(hook, "_wrapper", lambda *a, **k: {"message": "the build needs x.h"})
    with pytest.raises(_ExitError) as done:
        hook._build("setuptools.build_meta")
    assert done.value.args == (1,)
    assert capfd.readouterr().err == "fatal error: x\nuvx-nix: the build needs x.h\n"


def test_build_without_a_toolchain_runs_as_it_is(
        build_dir: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(hook, "_wrapper",
                        lambda *a, **k: {"message": "nix failed while realising the build"})
    monkeypatch.setattr(hook, "_attempt", lambda env: pytest.fail("not wrapped"))
    hook._build("setuptools.build_meta")  # returns: uv's script then runs in this process
    assert capfd.readouterr().err == "uvx-nix: nix failed while realising the build\n"


def test_wrapper_asks_uvx_nix_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook's call into uvx-nix: its own Python and module path, isolated from
    PYTHONPATH; a broken answer is no answer."""
    monkeypatch.setattr(hook, "_HERE", str(tmp_path))
    (tmp_path / "build.json").write_text("{}")
    src = str(Path(toolchain.__file__).parents[2])
    answer = hook._wrapper({"wrapper": [sys.executable, [src]]}, ["fix"],
                           b"fatal error: zlib.h: No such file or directory")
    assert "internal error" in answer["message"]  # build.json lacks what fix needs
    fake = tmp_path / "fake.py"
    fake.write_text("print('not json')")
    monkeypatch.setattr(hook, "_WRAPPER_CODE", f"exec(open({str(fake)!r}).read())")
    assert hook._wrapper({"wrapper": [sys.executable, []]}, ["env"]) == {}


# The script uv 0.13 runs a PEP 517 hook with (seen with a probe package's setup.py).

class _ExitError(Exception):
    pass


@pytest.fixture
def build_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(hook, "_HERE", str(tmp_path))
    (tmp_path / "build.json").write_text(json.dumps({"wrapper": ["python", []]}))

    def exit_(code: int) -> None:
        raise _ExitError(code)

    monkeypatch.setattr(os, "_exit", exit_)
    return tmp_path


def _env_file(directory: Path, name: str, path_entry: str) -> Path:
    target = directory / name
    target.write_text(json.dumps({"paths": [str(directory)], "set": {"NIX_DONT_SET_RPATH": "1"},
                                  "prepend": [["PATH", path_entry, ":"]]}))
    return target
