"""toolchain and its hook: the build environment, recognising uv's build backends, and the
way from a failed build's output to the attribute that fixes it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from uvx_nix import argv
from uvx_nix.build import diagnose, toolchain
from uvx_nix.errors import UserError
from uvx_nix.injected import build_hook as hook
from uvx_nix.resolve import inputs, lockfile, resolution

# -- recognising a build backend uv started ------------------------------------------------


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
