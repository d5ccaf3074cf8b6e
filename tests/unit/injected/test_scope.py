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
from uvx_nix.prepare import venv

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


def test_the_hook_functions_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same module imported here (coverage sees it): parsing, search, advice, retries."""
    import types

    from uvx_nix.injected import scope

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "libdemo.so.2").write_bytes(b"")
    (lib / "libdemo.so").write_bytes(b"")
    (lib / "libdemo.so.2.4.1").write_bytes(b"")
    (lib / "libonlydev.so").write_bytes(b"")
    monkeypatch.setattr(scope, "_DIRS", [str(lib)])
    monkeypatch.setattr(scope, "_HERE", str(tmp_path))
    assert scope.missing_soname("libz.so.1: cannot open shared object file: No such file") \
        == "libz.so.1"
    assert scope.missing_soname("/a/b.so: cannot open shared object file: x") is None
    assert scope.missing_soname("undefined symbol: foo") is None
    assert scope.find("libdemo.so.2") == f"{lib}/libdemo.so.2"
    assert scope.find("libnone.so.1") is None
    assert "comes with the NVIDIA driver" in scope.explain("libcuda.so.1")
    monkeypatch.setattr(scope, "_attribute", lambda soname: "snappy")
    monkeypatch.setattr(scope, "_AUTO", [False])
    assert "run `uvx-nix nix doctor --fix`" in scope.explain("libsnappy.so.1")
    monkeypatch.setattr(scope, "_AUTO", [True])
    assert "adds it to [tool.uvx-nix] libraries" in scope.explain("libsnappy.so.1")
    monkeypatch.setattr(scope, "_PROJECT", [False])
    assert "config.toml" in scope.explain("libsnappy.so.1")
    assert (tmp_path / "_uvx_nix_missing.txt").read_text() == "libsnappy.so.1\n"
    monkeypatch.setattr(scope, "_attribute", lambda soname: None)
    assert "no known nixpkgs attribute" in scope.explain("libx.so.9")

    # A load that fails on a soname the directories have: renamed (ctypes) or preloaded.
    calls: list[str] = []
    preloaded: list[str] = []
    monkeypatch.setattr(scope, "_preload", preloaded.append)

    def load(name: str) -> str:
        calls.append(name)
        if name == "libdemo.so.2" or (name == "ext.so" and not preloaded):
            raise OSError("libdemo.so.2: cannot open shared object file: No such file")
        return name

    retry = scope._retrying(load, lambda e: isinstance(e, OSError), True)
    assert retry("libdemo.so.2") == f"{lib}/libdemo.so.2"
    assert retry("ext.so") == "ext.so"
    assert preloaded == [f"{lib}/libdemo.so.2"]
    with pytest.raises(ValueError, match="other"):
        scope._retrying(lambda n: (_ for _ in ()).throw(ValueError("other")),
                        lambda e: isinstance(e, OSError), True)("x")

    def missing(name: str) -> str:
        raise ImportError("libnone.so.1: cannot open shared object file: No such file")

    with pytest.raises(ImportError, match="no known nixpkgs attribute") as caught:
        scope._retrying(missing, lambda e: isinstance(e, ImportError), False)("m")
    assert caught.value.msg.startswith("libnone.so.1")

    util = types.SimpleNamespace(find_library=lambda name: None)
    scope._patch_util(util)
    # The soname's file, as find_library names it elsewhere; the bare link when that is all.
    assert util.find_library("demo") == f"{lib}/libdemo.so.2"
    assert util.find_library("onlydev") == f"{lib}/libonlydev.so"
    assert util.find_library("none") is None
    assert util.find_library("/abs/libdemo") is None


def test_install_patches_the_loader_and_ctypes_on_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import types

    from uvx_nix.injected import scope

    class Loader:
        def create_module(self, spec: object) -> str:
            return "created"

    fake = types.SimpleNamespace(ExtensionFileLoader=Loader)
    monkeypatch.setitem(sys.modules, "_frozen_importlib_external", fake)
    monkeypatch.setattr(scope, "_DIRS", [])
    monkeypatch.setattr(scope, "_PATCHES", dict(scope._PATCHES))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    for name in ("ctypes", "ctypes.util"):  # never patch this process's own ctypes
        monkeypatch.delitem(sys.modules, name, raising=False)
    scope.install([str(tmp_path)], auto=True, project=False)
    dirs = scope._DIRS
    assert dirs == [str(tmp_path), scope.DRIVER]
    assert Loader().create_module(None) == "created"  # wrapped, same result
    assert sys.meta_path[0] is scope._Finder  # ctypes gets patched when it is imported
    scope.install(["/elsewhere"])  # a second .pth changes nothing
    assert dirs == [str(tmp_path), scope.DRIVER]
    # The finder patches ctypes as it is imported, then steps aside.
    scope._PATCHES.clear()
    scope._PATCHES["ctypes"] = lambda module: setattr(module, "patched", True)
    assert scope._Finder.find_spec("json") is None
    spec = scope._Finder.find_spec("ctypes")
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.patched is True
    assert scope._Finder not in sys.meta_path
