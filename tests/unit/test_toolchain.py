"""toolchain and its hook: the build environment, recognising uv's build backends, and the
way from a failed build's output to the attribute that fixes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from uvx_nix import argv
from uvx_nix.build import diagnose, toolchain
from uvx_nix.errors import UserError
from uvx_nix.injected import build_hook as hook
from uvx_nix.resolve import inputs, lockfile, resolution

# The script uv 0.13 runs a PEP 517 hook with (seen with a probe package's setup.py).
UV_SCRIPT = (
    'import sys\n\nif sys.path[0] == "":\n    sys.path.pop(0)\n\nsys.path = [] + sys.path\n\n'
    "import setuptools.build_meta as backend\n\n\nwheel_filename = backend.build_wheel("
    '__import__("os").fsdecode(b"/tmp/x"), {}, None)\n')


# -- recognising a build backend uv started ------------------------------------------------


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


# -- the build environment -----------------------------------------------------------------


def _store(tmp_path: Path, name: str, *dirs: str) -> str:
    root = tmp_path / name
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    return str(root)


def test_variables_follow_nixpkgs_stdenv(tmp_path: Path) -> None:
    cc = _store(tmp_path, "cc", "bin")
    zlib_dev = _store(tmp_path, "zlib-dev", "include", "lib/pkgconfig")
    zlib = _store(tmp_path, "zlib", "lib")
    pq = _store(tmp_path, "pg-config", "bin")
    manifest = {
        "system": "x86_64-linux",
        "cc": {"out": cc, "suffixSalt": "x86_64_unknown_linux_gnu", "bintools": None},
        "tools": [{"name": "pkg-config", "out": "/s/pkg-config"}],
        "libraries": [
            {"attribute": "zlib", "dev": zlib_dev, "lib": zlib, "bin": zlib},
            {"attribute": "libpq.pg_config", "dev": pq, "lib": pq, "bin": pq},
        ],
    }
    v = toolchain.variables(manifest)
    prepend = {name: value for name, value, _sep in v["prepend"]}
    assert prepend["PATH"].split(":") == [f"{cc}/bin", "/s/pkg-config/bin", f"{pq}/bin"]
    assert prepend["NIX_CFLAGS_COMPILE"] == f"-isystem {zlib_dev}/include"
    assert prepend["NIX_LDFLAGS"] == f"-L{zlib}/lib"
    assert prepend["PKG_CONFIG_PATH"] == f"{zlib_dev}/lib/pkgconfig"
    assert v["set"] == {
        "NIX_CC_WRAPPER_TARGET_HOST_x86_64_unknown_linux_gnu": "1",
        "NIX_BINTOOLS_WRAPPER_TARGET_HOST_x86_64_unknown_linux_gnu": "1",
        "NIX_PKG_CONFIG_WRAPPER_TARGET_HOST_x86_64_unknown_linux_gnu": "1",
        "NIX_DONT_SET_RPATH": "1",
    }
    assert v["default"] == {"CC": "cc", "CXX": "c++"}
    assert set(v["paths"]) >= {cc, zlib_dev, zlib, pq, "/s/pkg-config"}


def test_salt_comes_from_the_system_when_cc_has_none() -> None:
    v = toolchain.variables({"system": "aarch64-linux", "cc": {"out": "/s/cc"}})
    assert "NIX_CC_WRAPPER_TARGET_HOST_aarch64_unknown_linux_gnu" in v["set"]
    weird = toolchain.variables({"system": "x86_64-linux",
                                 "cc": {"out": "/s/cc", "suffixSalt": "a b;rm"}})
    assert "NIX_CC_WRAPPER_TARGET_HOST_x86_64_unknown_linux_gnu" in weird["set"]


# -- from the failure to the fix -----------------------------------------------------------


@pytest.mark.parametrize(("output", "what", "first"), [
    ("cext.c:2:10: fatal error: zlib.h: No such file or directory", "zlib.h", "zlib"),
    ("x.c:1:10: fatal error: ffi.h: No such file or directory\n compilation terminated.",
     "ffi.h", "libffi"),
    ("fatal error: libxml/xmlversion.h: No such file or directory", "libxml/xmlversion.h",
     "libxml2"),
    ("/usr/bin/ld: cannot find -lpq: No such file or directory", "-lpq (libpq.so)",
     "postgresql"),
    ("ld: cannot find -lz", "-lz (libz.so)", "zlib"),
    ("Package mysqlclient was not found in the pkg-config search path.", "mysqlclient.pc",
     "libmysqlclient"),
    ("Package 'libffi', required by 'virtual:world', not found", "libffi.pc", "libffi"),
    ("Run-time dependency cairo found: NO (tried pkgconfig)\n"
     "../meson.build:31:10: ERROR: Dependency \"cairo\" not found, tried pkgconfig",
     "cairo.pc", "cairo"),
    ("Error: pg_config executable not found.\n\npg_config is required to build psycopg2",
     "pg_config", "libpq.pg_config"),
    ("/bin/sh: 1: mysql_config: not found\nOSError: mysql_config not found", "mysql_config",
     "libmysqlclient"),
    ("sh: xml2-config: command not found", "xml2-config", "libxml2"),
    ("error: can't find Rust compiler", "the Rust toolchain (cargo, rustc)", "cargo"),
])
def test_diagnose_names_what_and_who(output: str, what: str, first: str) -> None:
    finding = diagnose.diagnose(f"running build_ext\n{output}\nerror: command failed\n")
    assert finding is not None
    assert (finding.what, finding.candidates[0]) == (what, first)


def test_diagnose_takes_the_first_cause_and_ignores_the_unknown() -> None:
    text = ("a.c:1:10: fatal error: sqlite3.h: No such file or directory\n"
            "ld: cannot find -lz\n")
    finding = diagnose.diagnose(text)
    assert finding is not None
    assert finding.what == "sqlite3.h"
    assert diagnose.diagnose("error: something else went wrong") is None
    assert diagnose.diagnose("fatal error: myproject_private.h: No such file or directory") \
        is None


def test_hint_names_the_attribute_and_the_command(tmp_path: Path) -> None:
    config = {"libraries": ["zlib"], "auto": False, "lockfile": str(tmp_path / "x.lock")}
    answer = toolchain._fix(config, tmp_path, {}, False,
                            "fatal error: ffi.h: No such file or directory")
    assert answer == {"message": "the build needs ffi.h, which nixpkgs' libffi provides; add "
                                 "it with `uvx-nix nix add-build-library libffi` (or set "
                                 "auto-build-libraries = true)"}
    rust = toolchain._fix(config, tmp_path, {}, False, "error: can't find Rust compiler")
    assert "`uvx-nix nix add-build-library cargo rustc`" in rust["message"]
    configured = toolchain._fix({**config, "libraries": ["libffi"]}, tmp_path, {}, False,
                                "fatal error: ffi.h: No such file or directory")
    assert "libffi (a build library) should provide" in configured["message"]
    assert toolchain._fix(config, tmp_path, {}, False, "error: boom") == {}


def test_automatic_mode_without_a_lock_adds_nothing(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    config = {"libraries": ["zlib"], "auto": True, "lockfile": str(tmp_path / "uvx-nix.lock"),
              "pyproject": str(pyproject)}
    answer = toolchain._fix(config, tmp_path, {}, False,
                            "fatal error: ffi.h: No such file or directory")
    assert "the locked nixpkgs has no libffi" in answer["message"]
    assert "env" not in answer
    assert pyproject.read_text() == '[project]\nname = "x"\n'


def test_add_to_pyproject_keeps_the_file(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"  # keep me\n\n[tool.uvx-nix]\nlibraries = []\n')
    assert toolchain.add_to_pyproject(pyproject, ["libffi"]) == ["libffi"]
    assert toolchain.add_to_pyproject(pyproject, ["libffi", "zlib"]) == ["zlib"]
    text = pyproject.read_text()
    assert "# keep me" in text
    assert 'build-libraries = ["libffi", "zlib"]' in text
    pyproject.write_text('[tool.uvx-nix]\nbuild-libraries = "libffi"\n')
    with pytest.raises(UserError, match="is a string"):
        toolchain.add_to_pyproject(pyproject, ["zlib"])


def test_hook_main_answers_with_one_line_on_errors(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert toolchain.hook_main([str(tmp_path / "missing.json"), "env"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["message"].startswith("internal error while preparing the build toolchain")
    assert "\n" not in answer["message"]


# -- configuration -------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(config),
            "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg"), "XDG_CACHE_HOME": str(tmp_path / "c"),
            "UVX_NIX_NIXPKGS": "path:/somewhere"}


def _gather(project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
            ) -> inputs.Inputs:
    monkeypatch.chdir(project)
    return inputs.gather(argv.parse(["sync"]), env)


def test_build_libraries_add_up_and_change_the_fingerprint(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    plain = _gather(project, env, monkeypatch)
    assert plain.build_libraries == ()
    assert plain.auto_build_libraries is False
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\n\n[tool.uvx-nix]\n'
        'build-libraries = ["libffi"]\nauto-build-libraries = true\n')
    user = Path(env["XDG_CONFIG_HOME"]) / "uvx-nix" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('build-libraries = ["openssl"]\n')
    got = _gather(project, {**env, "UVX_NIX_BUILD_LIBRARIES": "libpq.pg_config, libffi"},
                  monkeypatch)
    assert got.build_libraries == ("openssl", "libffi", "libpq.pg_config")
    assert got.auto_build_libraries is True
    assert got.fingerprint() != plain.fingerprint()
    off = _gather(project, {**env, "UVX_NIX_AUTO_BUILD_LIBRARIES": "0"}, monkeypatch)
    assert off.auto_build_libraries is False


@pytest.mark.parametrize("value", ['["a;b"]', '["${x}"]', '"zlib x/y"', "3"])
def test_build_libraries_are_validated(tmp_path: Path, env: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "p"\nversion = "1"\n\n[tool.uvx-nix]\nbuild-libraries = {value}\n')
    with pytest.raises(UserError) as err:
        _gather(project, env, monkeypatch)
    assert err.value.exit_code == 70
    assert "build-libraries" in err.value.message


# -- the hook directory --------------------------------------------------------------------


def _resolved(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
              extra: str = "") -> resolution.Resolved:
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "proj"\nversion = "1"\n{extra}')
    inp = _gather(project, env, monkeypatch)
    entry = lockfile.SystemEntry("python312", "3.12.1", "cpython", "/nix/store/a-python3",
                                 "/nix/store/a-python3/bin/python3.12", ())
    lock = lockfile.Lock(inp.fingerprint(), {}, "path:/somewhere", "flake",
                         {inp.system: entry})
    return resolution.Resolved(inp, lock, entry, project / ".uvx-nix/gcroots/x", 0, False)


def test_prepare_writes_the_hook_and_its_description(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = _resolved(tmp_path, env, monkeypatch,
                         '\n[tool.uvx-nix]\nbuild-libraries = ["libffi"]\n')
    where = Path(toolchain.prepare(resolved, env))
    assert where.parent == Path(env["XDG_CACHE_HOME"]) / "uvx-nix" / "build-hooks"
    assert (where / "sitecustomize.py").read_bytes() == Path(hook.__file__).read_bytes()
    config = json.loads((where / "build.json").read_text())
    assert config["libraries"] == ["stdenv.cc.cc.lib", "zlib", "libffi"]
    assert config["nixpkgs"] == {"type": "flake", "ref": "path:/somewhere"}
    assert config["pyproject"] == str(tmp_path / "proj" / "pyproject.toml")
    assert config["auto"] is False
    # The same resolution finds the same directory; other libraries, another one.
    assert toolchain.prepare(resolved, env) == str(where)
    other = _resolved(tmp_path, env, monkeypatch)
    assert toolchain.prepare(other, env) != str(where)


def test_prepare_gives_up_quietly_when_the_cache_is_not_writable(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = _resolved(tmp_path, env, monkeypatch)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    assert toolchain.prepare(resolved, {**env, "UVX_NIX_CACHE_DIR": str(blocked)}) == ""


# -- the hook inside a build (its steps, with uv's script and uvx-nix faked at the edges) ---


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


# -- realising and fixing, with Nix faked at its one boundary (nix.build) -----------------


@pytest.fixture
def fake_nix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """nix.build answers from the spec: every library exists but `nosuch`; records specs."""
    from uvx_nix.resolve import nix

    specs: list[dict[str, object]] = []
    store = tmp_path / "store"

    def build(spec: dict[str, object], out_link: Path, environ: object, *, what: str,
              quiet: bool = False, expression: Path = nix.RESOLVE_NIX) -> dict[str, object]:
        specs.append({"spec": spec, "expression": expression.name, "link": str(out_link)})
        libs = [lib["name"] for lib in spec["libraries"]]  # type: ignore[attr-defined]
        missing = [n for n in libs if n == "nosuch"]
        if expression.name == "resolve.nix":
            return {"missing": missing}
        lib = [{"attribute": n, "name": n, "dev": str(store / f"{n}-dev"),
                "lib": str(store / n), "bin": str(store / n)} for n in libs if n not in missing]
        for entry in lib:
            (Path(entry["dev"]) / "include").mkdir(parents=True, exist_ok=True)
            (Path(entry["lib"]) / "lib").mkdir(parents=True, exist_ok=True)
        return {"format": 1, "system": "x86_64-linux", "missing": missing,
                "cc": {"out": str(store / "cc"), "suffixSalt": "x86_64_unknown_linux_gnu"},
                "tools": [], "libraries": lib}

    monkeypatch.setattr(nix, "build", build)
    return specs


def _config(tmp_path: Path, auto: bool, libraries: list[str]) -> Path:
    from uvx_nix.resolve import lockfile as lf

    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\n')
    python = "/nix/store/00000000000000000000000000000000-python3"
    entry = lf.SystemEntry("python312", "3.12.1", "cpython", python,
                           f"{python}/bin/python3.12", ())
    lf.write(project / "uvx-nix.lock",
             lf.Lock("sha256:x", {"fingerprint": "sha256:x"}, "path:/somewhere", "flake",
                     {"x86_64-linux": entry}))
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir(exist_ok=True)
    config = {"system": "x86_64-linux", "nixpkgs": {"type": "flake", "ref": "path:/somewhere"},
              "libraries": libraries, "lockfile": str(project / "uvx-nix.lock"),
              "lockDir": str(project), "pyproject": str(project / "pyproject.toml"),
              "auto": auto, "allowUnfree": False}
    (hook_dir / "build.json").write_text(json.dumps(config))
    return hook_dir / "build.json"


def test_hook_main_env_realises_once_and_roots_with_the_project(
        tmp_path: Path, fake_nix: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, False, ["zlib"])
    assert toolchain.hook_main([str(config), "env"]) == 0
    answer = json.loads(capsys.readouterr().out)
    data = json.loads(Path(answer["env"]).read_text())
    assert any(name == "NIX_CFLAGS_COMPILE" for name, _v, _s in data["prepend"])
    assert fake_nix[0]["expression"] == "build.nix"
    assert fake_nix[0]["link"] == str(tmp_path / "proj/.uvx-nix/gcroots/x86_64-linux-build")
    # The variables are there and their paths exist: a second build asks Nix nothing.
    for p in data["paths"]:
        Path(p).mkdir(parents=True, exist_ok=True)
    assert toolchain.hook_main([str(config), "env"]) == 0
    assert json.loads(capsys.readouterr().out) == answer
    assert len(fake_nix) == 1
    # Rust asks for cargo and rustc, rooted apart.
    assert toolchain.hook_main([str(config), "env", "--rust"]) == 0
    capsys.readouterr()
    assert fake_nix[1]["spec"]["rust"] is True  # type: ignore[index]
    assert str(fake_nix[1]["link"]).endswith("x86_64-linux-build-rust")


def test_automatic_mode_adds_the_attribute_and_returns_the_retry(
        tmp_path: Path, fake_nix: list[dict[str, object]]) -> None:
    config = _config(tmp_path, True, ["zlib"])
    data = json.loads(config.read_text())
    answer = toolchain._fix(data, config.parent, {}, False,
                            "x.c:1:10: fatal error: ffi.h: No such file or directory")
    assert answer["message"].startswith("added libffi to [tool.uvx-nix] build-libraries in ")
    retry = json.loads(Path(answer["env"]).read_text())
    assert any("libffi-dev/include" in v for _n, v, _s in retry["prepend"])
    assert 'build-libraries = ["libffi"]' in (tmp_path / "proj/pyproject.toml").read_text()
    # Checked against the locked nixpkgs first (resolve.nix), then realised (build.nix).
    assert [s["expression"] for s in fake_nix] == ["resolve.nix", "build.nix"]


def test_automatic_mode_refuses_what_the_locked_nixpkgs_lacks(
        tmp_path: Path, fake_nix: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(diagnose.HEADERS, "nosuch.h", ("nosuch",))
    config = _config(tmp_path, True, ["zlib"])
    answer = toolchain._fix(json.loads(config.read_text()), config.parent, {}, False,
                            "fatal error: nosuch.h: No such file or directory")
    assert answer == {"message": "the build needs nosuch.h, but the locked nixpkgs has no "
                                 "nosuch; add an attribute it has to [tool.uvx-nix] "
                                 "build-libraries"}
    assert "build-libraries" not in (tmp_path / "proj/pyproject.toml").read_text()
    rust = toolchain._fix(json.loads(config.read_text()), config.parent, {}, True,
                          "error: can't find Rust compiler")
    assert rust["message"].startswith("added cargo, rustc to [tool.uvx-nix] build-libraries")


def test_hook_main_fix_reads_the_output_on_stdin(
        tmp_path: Path, fake_nix: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import io

    config = _config(tmp_path, False, ["zlib"])
    stdin = io.TextIOWrapper(io.BytesIO(b"fatal error: ffi.h: No such file or directory"))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert toolchain.hook_main([str(config), "fix"]) == 0
    assert "`uvx-nix nix add-build-library libffi`" in json.loads(capsys.readouterr().out)[
        "message"]
