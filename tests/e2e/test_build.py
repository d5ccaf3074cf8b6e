"""Issue: building from source, end to end inside the NixOS simulation: a compiler,
pkg-config, make and the libraries' headers and .pc files from the locked nixpkgs, only
inside the build backends uv starts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.e2e import channel_nixpkgs, local_nixpkgs, nix_calls, plain_uv, uvx
from helpers.sim import Sim

REPO = Path(__file__).resolve().parents[2]
BACKENDS = REPO / "sim" / ".build" / "downloads" / "build-backends"

# A C extension that includes zlib.h and links -lz (its include dirs and libraries come from
# the build environment, or from pkg-config when PKGCONFIG is set).
EXTENSION_C = """\
#include <Python.h>
#include <zlib.h>
static PyObject *version(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(zlibVersion());
}
static PyMethodDef methods[] = {{"zlib_version", version, METH_NOARGS, NULL},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "cext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_cext(void) { return PyModule_Create(&mod); }
"""
SETUP_PLAIN = """\
from setuptools import Extension, setup
setup(ext_modules=[Extension("cext", ["cext.c"], libraries=["z"])])
"""
# The way mysqlclient and friends do it: ask pkg-config, fail when it does not know the module.
SETUP_PKG_CONFIG = """\
import subprocess
from setuptools import Extension, setup
def pc(*args):
    return subprocess.run(["pkg-config", *args, "zlib"], capture_output=True, text=True,
                          check=True).stdout.split()
cflags, libs = pc("--cflags"), pc("--libs")
print("pkg-config zlib:", cflags, libs)
setup(ext_modules=[Extension("cext", ["cext.c"], extra_compile_args=cflags,
                             extra_link_args=libs)])
"""
FFI_C = """\
#include <Python.h>
#include <ffi.h>
static PyObject *abi(PyObject *self, PyObject *args) { return PyLong_FromLong(FFI_DEFAULT_ABI); }
static PyMethodDef methods[] = {{"abi", abi, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "ffiext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_ffiext(void) { ffi_type *t = &ffi_type_sint; (void)t;
                                     return PyModule_Create(&mod); }
"""
SETUP_FFI = """\
from setuptools import Extension, setup
setup(ext_modules=[Extension("ffiext", ["ffiext.c"], libraries=["ffi"])])
"""
BUILD_VARIABLES = ("NIX_CFLAGS_COMPILE", "NIX_LDFLAGS", "PKG_CONFIG_PATH", "CC", "CXX",
                   "NIX_DONT_SET_RPATH", "NIX_CC_WRAPPER_TARGET_HOST_x86_64_unknown_linux_gnu")


@pytest.fixture(scope="session")
def backends() -> Path:
    """setuptools' wheel (downloaded once with pip): the build backend, from a local index."""
    if not list(BACKENDS.glob("setuptools-*.whl")):
        BACKENDS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "-d", str(BACKENDS), "setuptools>=75"],
                       check=True)
    return BACKENDS


def _package(directory: Path, backends: Path, name: str = "cext", setup: str = SETUP_PLAIN,
             sources: dict[str, str] | None = None, tool: str = "") -> Path:
    wheels = directory / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for wheel in backends.glob("setuptools-*.whl"):
        shutil.copy(wheel, wheels)
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n' + tool)
    (directory / "setup.py").write_text(setup)
    for file, text in (sources or {"cext.c": EXTENSION_C}).items():
        (directory / file).write_text(text)
    return directory


def _env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_c_extension_with_zlib_builds_with_sync_and_imports(
        sim: Sim, project_dir: Path, backends: Path, tmp_path: Path) -> None:
    _package(project_dir, backends)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    res = uvx(sim, ["sync"], cwd=project_dir, path_prepend=[rec])
    assert res.returncode == 0, res.stderr
    assert "Built cext" in res.stderr
    # The toolchain was realised from the locked nixpkgs and rooted with the project.
    root = project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux-build"
    assert root.is_symlink()
    manifest = (root / "manifest.nix").read_text()
    assert sim.pkgs["stdenv.cc"] in manifest
    assert sim.pkgs["zlib.dev"] in manifest
    assert sum(" build " in line for line in nix_calls(log)) == 2, nix_calls(log)
    status = uvx(sim, ["nix", "status"], cwd=project_dir, check=True).stdout
    assert "x86_64-linux-build (realised)" in status, status
    # Imports however Python is started: by uv, as a child of another program, and a child
    # Python of the venv's Python (the venv hook restarts it with the libraries).
    check = "import cext; print(cext.zlib_version())"
    out = uvx(sim, ["run", "python", "-c", check], cwd=project_dir, check=True).stdout
    assert out.strip().startswith("1."), out
    out = uvx(sim, ["run", "bash", "-c", f".venv/bin/python -c '{check}'"], cwd=project_dir,
              check=True).stdout
    assert out.strip().startswith("1."), out
    # Started directly with an empty environment, as an IDE or a kernel starts it: the venv
    # carries the libraries, as it does for wheels.
    direct = sim.run(["env", "-i", ".venv/bin/python", "-c", check], cwd=project_dir)
    assert direct.stdout.strip().startswith("1."), direct.stderr
    nested = ("import subprocess, sys; print(subprocess.run([sys.executable, '-c', "
              f"{check!r}], capture_output=True, text=True).stdout.strip())")
    out = uvx(sim, ["run", "python", "-c", nested], cwd=project_dir, check=True).stdout
    assert out.strip().startswith("1."), out
    # Nothing of the store is baked into the extension: it finds libz as wheels do.
    built = next(project_dir.glob("cext*.so"))
    rpath = subprocess.run(["patchelf", "--print-rpath", str(built)], capture_output=True,
                           text=True, check=True).stdout
    assert "/nix/store" not in rpath
    # A later call that builds nothing starts no Nix.
    before = nix_calls(log)
    uvx(sim, ["run", "python", "-c", check], cwd=project_dir, path_prepend=[rec], check=True)
    assert nix_calls(log) == before


def test_c_extension_builds_where_the_lock_pins_nixpkgs_as_a_channel(
        sim: Sim, project_dir: Path, backends: Path, tmp_path: Path) -> None:
    """`<nixpkgs>` is a NixOS channel, locked by the revision in its .git-revision: the build
    toolchain comes from that channel, as the interpreter does (no fetch from GitHub, which
    is not reachable here)."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    env = channel_nixpkgs(sim, tmp_path, revision)
    _package(project_dir, backends)
    res = uvx(sim, ["sync"], cwd=project_dir, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Built cext" in res.stderr
    lock = (project_dir / "uvx-nix.lock").read_text()
    assert 'kind = "channel"' in lock, lock
    assert f"github:NixOS/nixpkgs/{revision}" in lock, lock
    manifest = (project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux-build" /
                "manifest.nix").read_text()
    assert sim.pkgs["stdenv.cc"] in manifest
    assert sim.pkgs["zlib.dev"] in manifest
    out = uvx(sim, ["run", "python", "-c", "import cext; print(cext.zlib_version())"],
              cwd=project_dir, env=env, check=True).stdout
    assert out.strip().startswith("1."), out


def test_pkg_config_finds_the_dev_output(sim: Sim, project_dir: Path, backends: Path) -> None:
    _package(project_dir, backends, setup=SETUP_PKG_CONFIG)
    res = uvx(sim, ["sync", "-v"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"-I{sim.pkgs['zlib.dev']}/include" in res.stderr
    out = uvx(sim, ["run", "python", "-c", "import cext; print(cext.zlib_version())"],
              cwd=project_dir, check=True).stdout
    assert out.strip().startswith("1.")


def test_build_variables_reach_neither_the_program_nor_its_children(
        sim: Sim, project_dir: Path, backends: Path) -> None:
    _package(project_dir, backends)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    cc_bin = f"{sim.pkgs['stdenv.cc']}/bin"
    # The first program of `uv run` when it is not Python, and what it starts.
    res = uvx(sim, ["run", "bash", "-c", "env; command -v gcc pkg-config || echo none-found"],
              cwd=project_dir, check=True)
    env = _env_lines(res.stdout)
    assert not set(BUILD_VARIABLES) & set(env), env
    assert cc_bin not in env["PATH"]
    assert "PYTHONPATH" not in env, env  # unset for the caller, unset for the program
    assert res.stdout.strip().endswith("none-found")
    # A Python program and its children: not even the hook's PYTHONPATH entry.
    code = ("import os, subprocess; print(subprocess.run(['env'], capture_output=True, "
            "text=True).stdout); print('SELF=' + repr(dict(os.environ)))")
    res = uvx(sim, ["run", "python", "-c", code], cwd=project_dir, check=True)
    env = _env_lines(res.stdout)
    assert not set(BUILD_VARIABLES) & set(env), env
    assert cc_bin not in env["PATH"]
    assert "build-hooks" not in env.get("PYTHONPATH", "")
    assert "build-hooks" not in env["SELF"]
    assert "NIX_CFLAGS" not in env["SELF"]


def test_missing_library_names_the_attribute_then_automatic_mode_adds_it(
        sim: Sim, project_dir: Path, backends: Path) -> None:
    _package(project_dir, backends, name="ffiext", setup=SETUP_FFI,
             sources={"ffiext.c": FFI_C})
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode != 0
    assert "fatal error: ffi.h: No such file or directory" in res.stderr
    lines = [line for line in res.stderr.splitlines() if "uvx-nix:" in line]
    assert len(lines) == 1, res.stderr
    assert lines[0].strip() == (
        "uvx-nix: the build needs ffi.h, which nixpkgs' libffi provides; add it with "
        "`uvx-nix nix add-build-library libffi` (or set auto-build-libraries = true)")
    assert "build-libraries" not in (project_dir / "pyproject.toml").read_text()
    # Automatic mode: checked against the locked nixpkgs, added, built again; it imports.
    res = uvx(sim, ["sync"], cwd=project_dir, env={"UVX_NIX_AUTO_BUILD_LIBRARIES": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'build-libraries = ["libffi"]' in (project_dir / "pyproject.toml").read_text()
    out = uvx(sim, ["run", "python", "-c", "import ffiext; print(ffiext.abi())"],
              cwd=project_dir, check=True).stdout
    assert out.strip().isdigit(), out
    # The next call takes the new setting from pyproject.toml (a new lock fingerprint).
    assert "libffi" in (project_dir / "uvx-nix.lock").read_text()


def test_add_build_library_command(sim: Sim, project_dir: Path, backends: Path) -> None:
    _package(project_dir, backends, name="ffiext", setup=SETUP_FFI,
             sources={"ffiext.c": FFI_C})
    res = uvx(sim, ["nix", "add-build-library", "nothere"], cwd=project_dir)
    assert res.returncode == 71, res.stderr
    assert "the locked nixpkgs has no 'nothere'" in res.stderr
    res = uvx(sim, ["nix", "add-build-library", "libffi"], cwd=project_dir, check=True)
    assert "Added libffi to [tool.uvx-nix] build-libraries" in res.stderr
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-3000:]


def test_uv_build_makes_sdist_and_wheel(sim: Sim, project_dir: Path, backends: Path) -> None:
    _package(project_dir, backends)
    res = uvx(sim, ["build"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-3000:]
    dist = project_dir / "dist"
    assert list(dist.glob("cext-0.1.0.tar.gz"))
    wheel = next(dist.glob("cext-0.1.0-cp*-linux_x86_64.whl"))
    with zipfile.ZipFile(wheel) as z:
        assert any(n.startswith("cext.cpython") and n.endswith(".so") for n in z.namelist())


def test_a_call_that_builds_nothing_realises_nothing(sim: Sim, project_dir: Path,
                                                     tmp_path: Path) -> None:
    (project_dir / "pyproject.toml").write_text(
        '[project]\nname = "plain"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n")
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    uvx(sim, ["sync"], cwd=project_dir, path_prepend=[rec], check=True)
    uvx(sim, ["run", "python", "-c", "pass"], cwd=project_dir, path_prepend=[rec], check=True)
    assert sum(" build " in line for line in nix_calls(log)) == 1, nix_calls(log)
    assert not (project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux-build").exists()
    status = uvx(sim, ["nix", "status"], cwd=project_dir, check=True).stdout
    assert "build libraries: none (automatic: off)" in status
    assert "(not realised: the first build does)" in status


def test_rust_build_asks_for_cargo_and_rustc(sim: Sim, project_dir: Path,
                                            backends: Path, tmp_path: Path) -> None:
    """A build with a Cargo.toml asks the locked nixpkgs for cargo and rustc and, in a
    nixpkgs without them, says what it lacks (Rust builds: test_build_rust.py)."""
    nixpkgs = local_nixpkgs(sim, tmp_path / "nixpkgs", "  rustc = null;\n  cargo = null;\n")
    _package(project_dir, backends)
    (project_dir / "Cargo.toml").write_text('[package]\nname = "cext"\nversion = "0.1.0"\n')
    res = uvx(sim, ["sync", "-v"], cwd=project_dir, env={"UVX_NIX_NIXPKGS": str(nixpkgs)},
              binds=[nixpkgs])
    assert res.returncode == 0, res.stderr[-3000:]  # the C part still builds
    assert "uvx-nix: the locked nixpkgs has no cargo, rustc; the build runs without it" \
        in res.stderr
    assert (project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux-build-rust").is_symlink()


def test_look_alike_toolchain_builds_like_nixpkgs(sim: Sim, tmp_path: Path) -> None:
    """The look-alike's stdenv.cc finds its own libc, links the store glibc (its loader is the
    ELF interpreter, not NixOS's stub-ld), reads NIX_CFLAGS_COMPILE/NIX_LDFLAGS in the host
    role, and its pkg-config reads the dev output's .pc file."""
    (tmp_path / "t.c").write_text(
        '#include <stdio.h>\n#include <zlib.h>\n'
        'int main(void) { printf("zlib %s\\n", zlibVersion()); return 0; }\n')
    (tmp_path / "t.cc").write_text(
        '#include <iostream>\nint main() { std::cout << "c++ ok" << std::endl; }\n')
    salt = "x86_64_unknown_linux_gnu"
    env = {"NIX_CFLAGS_COMPILE": f"-isystem {sim.pkgs['zlib.dev']}/include",
           "NIX_LDFLAGS": f"-L{sim.pkgs['zlib']}/lib",
           f"NIX_CC_WRAPPER_TARGET_HOST_{salt}": "1",
           f"NIX_BINTOOLS_WRAPPER_TARGET_HOST_{salt}": "1",
           "PKG_CONFIG_PATH": f"{sim.pkgs['zlib.dev']}/lib/pkgconfig"}
    cc = f"{sim.pkgs['stdenv.cc']}/bin"
    res = sim.run(["bash", "-c", f"{cc}/cc -o t t.c -lz && ./t && {cc}/c++ -o tt t.cc && ./tt"
                   f" && {sim.pkgs['pkg-config']}/bin/pkg-config --cflags --libs zlib"
                   f" && {sim.pkgs['gnumake']}/bin/make --version"],
                  cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("zlib 1.")
    assert lines[1] == "c++ ok"
    assert lines[2].split() == [f"-I{sim.pkgs['zlib.dev']}/include",
                                f"-L{sim.pkgs['zlib']}/lib", "-lz"]
    assert lines[3].startswith("GNU Make")
    interp = subprocess.run(["patchelf", "--print-interpreter", str(tmp_path / "t")],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert interp == f"{sim.pkgs['glibc']}/lib/ld-linux-x86-64.so.2"
    # Without the host role the wrapper ignores NIX_CFLAGS_COMPILE, as nixpkgs' does.
    role_off = {k: v for k, v in env.items() if "WRAPPER" not in k}
    res = sim.run(["bash", "-c", f"{cc}/cc -c -o t.o t.c"], cwd=tmp_path, env=role_off)
    assert "zlib.h: No such file or directory" in res.stderr


def test_parallel_builds_realise_the_toolchain_once(sim: Sim, project_dir: Path,
                                                    backends: Path, tmp_path: Path) -> None:
    """uv builds path dependencies at the same time: one Nix run, the other build waits."""
    for name in ("exta", "extb"):
        member = project_dir / name
        member.mkdir()
        _package(member, backends, name=name, setup=SETUP_PLAIN.replace('"cext"', f'"{name}"'),
                 sources={"cext.c": EXTENSION_C.replace('"cext"', f'"{name}"').replace(
                     "PyInit_cext", f"PyInit_{name}")})
    wheels = project_dir / "wheels"
    wheels.mkdir()
    for wheel in backends.glob("setuptools-*.whl"):
        shutil.copy(wheel, wheels)
    (project_dir / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["exta", "extb"]\n\n[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n'
        '\n[tool.uv.sources]\nexta = { path = "exta" }\nextb = { path = "extb" }\n')
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    res = uvx(sim, ["sync"], cwd=project_dir, path_prepend=[rec])
    assert res.returncode == 0, res.stderr[-3000:]
    assert sum(" build " in line and "build.nix" in line for line in nix_calls(log)) == 1, \
        nix_calls(log)
    out = uvx(sim, ["run", "python", "-c", "import exta, extb; print(exta.zlib_version())"],
              cwd=project_dir, check=True).stdout
    assert out.strip().startswith("1.")


def test_pip_install_of_a_local_c_package_outside_a_project(sim: Sim, tmp_path: Path,
                                                            backends: Path) -> None:
    """The report that started it: `uvx-nix pip install ./cext` failed with
    `[Errno 2] No such file or directory: 'gcc'`."""
    work = tmp_path / "work"
    _package(work / "cext", backends)
    uvx(sim, ["venv"], cwd=work, check=True)
    install = ["pip", "install", "--no-index", "--find-links", "cext/wheels", "./cext"]
    # Plain uv with the same interpreter and libraries: the compiler is missing.
    plain = plain_uv(sim, install, cwd=work)
    assert plain.returncode != 0
    assert "No such file or directory: 'gcc'" in plain.stderr, plain.stderr[-2000:]
    res = uvx(sim, install, cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "+ cext==0.1.0" in res.stderr
    out = uvx(sim, ["run", "python", "-c", "import cext; print(cext.zlib_version())"], cwd=work,
              check=True).stdout
    assert out.strip().startswith("1.")


def test_hint_names_the_attribute_the_locked_nixpkgs_has(sim: Sim, project_dir: Path,
                                                         backends: Path, tmp_path: Path) -> None:
    """libpq-fe.h is `libpq` in current nixpkgs and `postgresql` in older ones: the hint names
    the one the project's nixpkgs has."""
    nixpkgs = local_nixpkgs(sim, tmp_path / "nixpkgs",
                            '  postgresql = mk "postgresql-16" "mkdir -p $out/include";\n')
    _package(project_dir, backends, name="pq", setup=SETUP_PLAIN.replace('"cext"', '"pq"'),
             sources={"cext.c": '#include <libpq-fe.h>\nint x;\n'})
    res = uvx(sim, ["sync"], cwd=project_dir, env={"UVX_NIX_NIXPKGS": str(nixpkgs)},
              binds=[nixpkgs])
    assert res.returncode != 0
    assert "the build needs libpq-fe.h, which nixpkgs' postgresql provides; add it with " \
        "`uvx-nix nix add-build-library postgresql`" in res.stderr, res.stderr[-2000:]
