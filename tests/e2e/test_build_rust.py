"""Issue: building from source, Rust: a build that looks like Rust (setuptools-rust, maturin, a
Cargo.toml) gets cargo and rustc from the project's locked nixpkgs, with the C compiler they
link with, only inside the build backends uv starts. End to end in the NixOS simulation, whose
look-alike nixpkgs has Debian's rustc and cargo in nixpkgs' shapes. crates.io is not reachable
here: the crates have no dependencies (an extension written against the C API by hand, a
program)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.e2e import nix_calls, plain_uv, uvx
from helpers.sim import Sim

REPO = Path(__file__).resolve().parents[2]
BACKENDS = REPO / "sim" / ".build" / "downloads" / "rust-backends"

# A CPython extension module in Rust without pyo3: the module definition by hand (the layout of
# PyModuleDef, single-phase initialisation). Python's symbols resolve when it is loaded, as
# for every extension on Linux.
EXT_LIB_RS = """\
use std::os::raw::{c_char, c_int, c_long, c_void};
use std::ptr::null_mut;

#[repr(C)]
pub struct PyObject { ob_refcnt: isize, ob_type: *mut c_void }
#[repr(C)]
pub struct PyMethodDef {
    ml_name: *const c_char,
    ml_meth: Option<unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject>,
    ml_flags: c_int,
    ml_doc: *const c_char,
}
#[repr(C)]
pub struct PyModuleDefBase {
    ob_base: PyObject,
    m_init: Option<unsafe extern "C" fn() -> *mut PyObject>,
    m_index: isize,
    m_copy: *mut PyObject,
}
#[repr(C)]
pub struct PyModuleDef {
    m_base: PyModuleDefBase,
    m_name: *const c_char,
    m_doc: *const c_char,
    m_size: isize,
    m_methods: *mut PyMethodDef,
    m_slots: *mut c_void,
    m_traverse: *mut c_void,
    m_clear: *mut c_void,
    m_free: *mut c_void,
}
extern "C" {
    fn PyModule_Create2(def: *mut PyModuleDef, apiver: c_int) -> *mut PyObject;
    fn PyLong_FromLong(v: c_long) -> *mut PyObject;
}

unsafe extern "C" fn answer(_m: *mut PyObject, _a: *mut PyObject) -> *mut PyObject {
    PyLong_FromLong((6 * 7) as c_long)
}

#[no_mangle]
pub unsafe extern "C" fn PyInit_rustext() -> *mut PyObject {
    let methods = Box::leak(Box::new([
        PyMethodDef { ml_name: b"answer\\0".as_ptr() as *const c_char, ml_meth: Some(answer),
                      ml_flags: 4 /* METH_NOARGS */, ml_doc: std::ptr::null() },
        PyMethodDef { ml_name: std::ptr::null(), ml_meth: None, ml_flags: 0,
                      ml_doc: std::ptr::null() },
    ]));
    let def = Box::leak(Box::new(PyModuleDef {
        m_base: PyModuleDefBase { ob_base: PyObject { ob_refcnt: 1, ob_type: null_mut() },
                                  m_init: None, m_index: 0, m_copy: null_mut() },
        m_name: b"rustext\\0".as_ptr() as *const c_char,
        m_doc: std::ptr::null(),
        m_size: -1,
        m_methods: methods.as_mut_ptr(),
        m_slots: null_mut(), m_traverse: null_mut(), m_clear: null_mut(), m_free: null_mut(),
    }));
    PyModule_Create2(def, 1013)
}
"""
EXT_CARGO = """\
[package]
name = "rustext"
version = "0.1.0"
edition = "2018"

[lib]
crate-type = ["cdylib"]
"""
HELLO_MAIN_RS = """\
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("hello from rust {}", args.join(" "));
}
"""
HELLO_CARGO = """\
[package]
name = "rusthello"
version = "0.1.0"
edition = "2018"
"""
SETUP_RUST = """\
from setuptools import setup
from setuptools_rust import Binding, RustBin, RustExtension
setup(packages=[], rust_extensions=[
    RustExtension("rustext", path="ext/Cargo.toml", binding=Binding.NoBinding),
    RustBin("rusthello", path="hello/Cargo.toml"),
])
"""
BUILD_VARIABLES = ("NIX_CFLAGS_COMPILE", "NIX_LDFLAGS", "PKG_CONFIG_PATH", "CC", "CXX",
                   "NIX_DONT_SET_RPATH", "NIX_CC_WRAPPER_TARGET_HOST_x86_64_unknown_linux_gnu",
                   "CARGO", "RUSTC", "RUSTFLAGS")


@pytest.fixture(scope="session")
def backends() -> Path:
    """setuptools, setuptools-rust (and semantic_version) and maturin wheels, downloaded once
    with pip: the build backends, from a local directory."""
    wanted = ("setuptools-*.whl", "setuptools_rust-*.whl", "semantic_version-*.whl",
              "maturin-*.whl")
    if not all(list(BACKENDS.glob(w)) for w in wanted):
        BACKENDS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                        "-d", str(BACKENDS), "setuptools>=75", "setuptools-rust", "maturin"],
                       check=True)
    return BACKENDS


def _wheels(directory: Path, backends: Path) -> None:
    wheels = directory / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for wheel in backends.glob("*.whl"):
        shutil.copy(wheel, wheels)


def _setuptools_rust_package(directory: Path, backends: Path) -> Path:
    _wheels(directory, backends)
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "rustext"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n\n'
        '[build-system]\nrequires = ["setuptools", "setuptools-rust"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        '[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n')
    (directory / "setup.py").write_text(SETUP_RUST)
    for rel, text in (("ext/Cargo.toml", EXT_CARGO), ("ext/src/lib.rs", EXT_LIB_RS),
                      ("hello/Cargo.toml", HELLO_CARGO), ("hello/src/main.rs", HELLO_MAIN_RS)):
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_text(text)
    return directory


def _env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _rustc_version(sim: Sim) -> str:
    """The look-alike's rustc version, as it says it (``rustc 1.x.y``)."""
    return sim.run([f"{sim.pkgs['rustc']}/bin/rustc", "--version"], cwd=REPO,
                   check=True).stdout.split()[1]


def test_setuptools_rust_extension_and_program_build_with_sync_and_run(
        sim: Sim, project_dir: Path, backends: Path, tmp_path: Path) -> None:
    _setuptools_rust_package(project_dir, backends)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    res = uvx(sim, ["sync"], cwd=project_dir, path_prepend=[rec])
    assert res.returncode == 0, res.stderr[-4000:]
    assert "Built rustext" in res.stderr
    # cargo and rustc came from the locked nixpkgs (with stdenv.cc, which rustc links with),
    # realised once and rooted with the project.
    root = project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux-build-rust"
    assert root.is_symlink()
    manifest = (root / "manifest.nix").read_text()
    for attr in ("rustc", "cargo", "stdenv.cc"):
        assert sim.pkgs[attr] in manifest, attr
    assert sum(" build " in line and "build.nix" in line for line in nix_calls(log)) == 1, \
        nix_calls(log)
    # What was built, was built by that rustc (it writes its version into .comment).
    version = _rustc_version(sim)
    # (`uv sync` installs the project editable: setuptools-rust builds the extension in place.)
    ext = next(project_dir.glob("rustext.cpython-*.so"))
    assert f"rustc version {version}".encode() in ext.read_bytes()
    program = project_dir / ".venv" / "bin" / "rusthello"
    assert f"rustc version {version}".encode() in program.read_bytes()
    # The extension imports however Python is started.
    check = "import rustext; print(rustext.answer())"
    out = uvx(sim, ["run", "python", "-c", check], cwd=project_dir, check=True).stdout
    assert out.strip() == "42", out
    direct = sim.run(["env", "-i", ".venv/bin/python", "-c", check], cwd=project_dir)
    assert direct.stdout.strip() == "42", direct.stderr
    # The program runs: through uv, and started directly on the simulated NixOS.
    out = uvx(sim, ["run", "rusthello", "a", "b"], cwd=project_dir, check=True).stdout
    assert out.strip() == "hello from rust a b", out
    direct = sim.run(["env", "-i", str(program), "direct"], cwd=project_dir)
    assert direct.stdout.strip() == "hello from rust direct", direct.stderr
    # A later call that builds nothing starts no Nix.
    before = nix_calls(log)
    uvx(sim, ["run", "rusthello"], cwd=project_dir, path_prepend=[rec], check=True)
    assert nix_calls(log) == before


def test_rust_build_variables_and_tools_reach_neither_the_program_nor_its_children(
        sim: Sim, project_dir: Path, backends: Path) -> None:
    _setuptools_rust_package(project_dir, backends)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    res = uvx(sim, ["run", "bash", "-c",
                    "env; command -v cargo rustc cc gcc || echo none-found"],
              cwd=project_dir, check=True)
    env = _env_lines(res.stdout)
    assert not set(BUILD_VARIABLES) & set(env), env
    for attr in ("rustc", "cargo", "stdenv.cc"):
        assert sim.pkgs[attr] not in env["PATH"], attr
    assert res.stdout.strip().endswith("none-found"), res.stdout
    code = ("import os, subprocess; print(subprocess.run(['env'], capture_output=True, "
            "text=True).stdout); print('SELF=' + repr(dict(os.environ)))")
    res = uvx(sim, ["run", "python", "-c", code], cwd=project_dir, check=True)
    env = _env_lines(res.stdout)
    assert not set(BUILD_VARIABLES) & set(env), env
    assert sim.pkgs["cargo"] not in res.stdout
    assert "build-hooks" not in env["SELF"]


def test_pip_install_of_a_local_rust_package(sim: Sim, tmp_path: Path, backends: Path) -> None:
    """`uvx-nix pip install ./pkg` outside a project: plain uv with the same interpreter has
    no cargo; uvx-nix's build has the locked nixpkgs' one."""
    work = tmp_path / "work"
    _setuptools_rust_package(work / "rustext", backends)
    uvx(sim, ["venv"], cwd=work, check=True)
    install = ["pip", "install", "--no-index", "--find-links", "rustext/wheels", "./rustext"]
    plain = plain_uv(sim, install, cwd=work)
    assert plain.returncode != 0
    assert "error: can't find Rust compiler" in plain.stderr, plain.stderr[-2000:]
    res = uvx(sim, install, cwd=work)
    assert res.returncode == 0, res.stderr[-4000:]
    assert "+ rustext==0.1.0" in res.stderr
    out = uvx(sim, ["run", "python", "-c", "import rustext; print(rustext.answer())"],
              cwd=work, check=True).stdout
    assert out.strip() == "42"


MATURIN_PYPROJECT = """\
[project]
name = "rusthello"
version = "0.1.0"
requires-python = ">=3.11"

[build-system]
requires = ["maturin>=1,<2"]
build-backend = "maturin"

[tool.maturin]
bindings = "bin"

[tool.uv]
no-index = true
find-links = ["wheels"]
"""


def test_maturin_program_builds_with_sync_and_runs(sim: Sim, project_dir: Path,
                                                   backends: Path) -> None:
    """maturin's PyPI wheel ships a static binary (it runs on NixOS as it is); it drives the
    locked nixpkgs' cargo. A `bindings = "bin"` crate needs nothing from crates.io."""
    _wheels(project_dir, backends)
    (project_dir / "pyproject.toml").write_text(MATURIN_PYPROJECT)
    (project_dir / "Cargo.toml").write_text(HELLO_CARGO)
    (project_dir / "src").mkdir()
    (project_dir / "src" / "main.rs").write_text(HELLO_MAIN_RS)
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-4000:]
    out = uvx(sim, ["run", "rusthello", "m"], cwd=project_dir, check=True).stdout
    assert out.strip() == "hello from rust m", out
    program = project_dir / ".venv" / "bin" / "rusthello"
    assert f"rustc version {_rustc_version(sim)}".encode() in program.read_bytes()
    # `uvx-nix build`: the wheel carries the program.
    res = uvx(sim, ["build", "--wheel"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-4000:]
    wheel = next((project_dir / "dist").glob("rusthello-0.1.0-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        assert "rusthello-0.1.0.data/scripts/rusthello" in z.namelist()


def test_look_alike_rust_toolchain_builds_like_nixpkgs(sim: Sim, tmp_path: Path) -> None:
    """The look-alike's cargo finds its rustc (nixpkgs' cargo wrapper puts it on PATH), and
    rustc links with stdenv.cc against the store glibc: the program runs on the simulated
    NixOS, where a generic Linux binary would not."""
    (tmp_path / "Cargo.toml").write_text(HELLO_CARGO)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(HELLO_MAIN_RS)
    res = sim.run([f"{sim.pkgs['cargo']}/bin/cargo", "run", "--offline", "-q", "--", "x"],
                  cwd=tmp_path, path_prepend=[f"{sim.pkgs['stdenv.cc']}/bin"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "hello from rust x"
    interp = subprocess.run(
        ["patchelf", "--print-interpreter", str(tmp_path / "target" / "debug" / "rusthello")],
        capture_output=True, text=True, check=True).stdout.strip()
    assert interp == f"{sim.pkgs['glibc']}/lib/ld-linux-x86-64.so.2"
    # The rustc wrapper adds $NIX_RUSTFLAGS after the arguments, as nixpkgs' does.
    (tmp_path / "flag.rs").write_text(
        'fn main() { println!("{}", if cfg!(sim_flag) { "flag" } else { "none" }); }\n')
    res = sim.run(["bash", "-c", "rustc flag.rs -o flag && ./flag"], cwd=tmp_path,
                  env={"NIX_RUSTFLAGS": "--cfg sim_flag"},
                  path_prepend=[f"{sim.pkgs['rustc']}/bin", f"{sim.pkgs['stdenv.cc']}/bin"])
    assert res.stdout.strip() == "flag", res.stderr
    # Without a C compiler on PATH, rustc cannot link (as in nixpkgs, where stdenv.cc does).
    res = sim.run([f"{sim.pkgs['cargo']}/bin/cargo", "build", "--offline", "-q",
                   "--target-dir", "other"], cwd=tmp_path)
    assert res.returncode != 0
    assert "linker `cc` not found" in res.stderr, res.stderr
