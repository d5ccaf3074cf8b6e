"""The environment's own hook (``_uvx_nix_scope``): a real Python, a real dynamic loader.

A library ``libuvxdep.so.1`` lives in a directory the loader never searches; an extension
module needs it by soname.  Only the hook, recorded in the site directory with that library
directory, makes the import, ``ctypes.CDLL`` and ``find_library`` work, with no variable set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.wheels import _compile
from uvx_nix import venv

DEP = "int uvxdep_answer(void) { return 42; }\n"
EXT = r"""
#include <Python.h>
extern int uvxdep_answer(void);
static PyObject *answer(PyObject *s, PyObject *a) { return PyLong_FromLong(uvxdep_answer()); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "uvxext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_uvxext(void) { return PyModule_Create(&mod); }
"""
# Needs a soname the curated table knows (snappy) and that this machine does not have.
MISSING_EXT = EXT.replace("uvxdep_answer", "snappy_nothing").replace("uvxext", "uvxmiss")


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("scope")
    libdir = base / "store-lib"
    libdir.mkdir()
    (libdir / "libuvxdep.so.1").write_bytes(
        _compile("gcc", DEP, ".c", ["-Wl,-soname,libuvxdep.so.1"], shared=True))
    site = base / "site-packages"
    site.mkdir()
    link = [f"-L{libdir}", "-l:libuvxdep.so.1"]
    (site / "uvxext.so").write_bytes(_compile("gcc", EXT, ".c", link, shared=True))
    ok = subprocess.run(["sh", "-c", "ls /usr/lib/x86_64-linux-gnu/libsnappy.so.1 "
                         "/lib/x86_64-linux-gnu/libsnappy.so.1"], capture_output=True, check=False)
    if ok.returncode == 0:
        pytest.skip("this machine has libsnappy.so.1")
    fake = base / "fake"
    fake.mkdir()
    (fake / "libsnappy.so.1").write_bytes(
        _compile("gcc", "int snappy_nothing(void) { return 1; }\n", ".c",
                 ["-Wl,-soname,libsnappy.so.1"], shared=True))
    (site / "uvxmiss.so").write_bytes(_compile(
        "gcc", MISSING_EXT, ".c", [f"-L{fake}", "-l:libsnappy.so.1"], shared=True))
    return site, libdir


def _python(site: Path, code: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """The host Python with ``site`` as a site directory (its .pth files run), in an empty
    environment, as an IDE or a kernel starts a venv's Python."""
    boot = f"import site; site.addsitedir({str(site)!r})\n"
    return subprocess.run([sys.executable, "-S", "-c", boot + code], capture_output=True,
                          text=True, env=env or {}, check=False)


def test_without_the_hook_the_import_fails(layout: tuple[Path, Path]) -> None:
    site, _ = layout
    for name in (venv.HOOK_PTH, venv.HOOK_MODULE):
        (site / name).unlink(missing_ok=True)
    res = _python(site, "import uvxext")
    assert "libuvxdep.so.1: cannot open shared object file" in res.stderr


def test_the_hook_serves_imports_ctypes_and_find_library_with_no_variable(
        layout: tuple[Path, Path]) -> None:
    site, libdir = layout
    assert venv.install_hook(site, str(libdir), auto=False)
    assert not venv.install_hook(site, str(libdir), auto=False)  # idempotent
    code = (
        "import os, subprocess, ctypes, ctypes.util, uvxext\n"
        "print(uvxext.answer())\n"
        "print(ctypes.CDLL('libuvxdep.so.1').uvxdep_answer())\n"
        "print(ctypes.util.find_library('uvxdep'))\n"
        "print(sorted(k for k in os.environ if k != 'LC_CTYPE'))\n"
        "print(subprocess.run(['/bin/sh', '-c', 'echo ${LD_LIBRARY_PATH-unset}'],"
        " capture_output=True, text=True).stdout.strip())\n")
    res = _python(site, code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["42", "42", f"{libdir}/libuvxdep.so.1", "[]", "unset"]


def test_a_miss_names_the_attribute_and_the_fix_and_is_recorded(
        layout: tuple[Path, Path]) -> None:
    site, libdir = layout
    venv.install_hook(site, str(libdir), auto=True)
    (site / venv.MISSING_FILE).unlink(missing_ok=True)
    res = _python(site, "import uvxmiss")
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: libsnappy.so.1: cannot open shared object file")
    assert 'nixpkgs\' "snappy" provides it' in last
    assert "uvx-nix nix doctor --fix" in last
    res = _python(site, "import ctypes; ctypes.CDLL('libsnappy.so.1')")
    assert "OSError: libsnappy.so.1: cannot open shared object file" in res.stderr
    assert '"snappy"' in res.stderr
    res = _python(site, "import ctypes; ctypes.CDLL('libnothing-here.so.7')")
    assert "no known nixpkgs attribute provides libnothing-here.so.7" in res.stderr
    assert venv.recorded_misses(site) == ["libsnappy.so.1"]
    # A tool's environment has no pyproject.toml: the advice names the user config.
    venv.install_hook(site, str(libdir), auto=True, project=False)
    res = _python(site, "import uvxmiss")
    assert "add it to `libraries` in ~/.config/uvx-nix/config.toml" in res.stderr


def test_start_up_imports_nothing_beyond_the_hook(layout: tuple[Path, Path]) -> None:
    site, libdir = layout
    venv.install_hook(site, str(libdir))
    code = "import sys; print(sorted(set(sys.modules) - BEFORE))"
    boot = f"import site, sys; BEFORE = set(sys.modules)\nsite.addsitedir({str(site)!r})\n"
    res = subprocess.run([sys.executable, "-S", "-c", boot + code], capture_output=True,
                         text=True, env={}, check=False)
    assert res.stdout.strip() == "['_uvx_nix_scope']", res.stderr


def test_hook_line_records_the_directories() -> None:
    line = venv.hook_line("/nix/store/a/lib::/nix/store/b/lib", True).decode()
    assert line == ("import _uvx_nix_scope; _uvx_nix_scope.install(('/nix/store/a/lib', "
                    "'/nix/store/b/lib'), True)\n")
    assert os.linesep not in line[:-1]
