"""Build tiny native test wheels offline (gcc/g++ only), for the NixOS simulation tests.

Each wheel is a valid wheel (WHEEL, METADATA, RECORD) tagged ``cp311-abi3-manylinux_2_17_x86_64``
(limited API, so one wheel serves CPython 3.11-3.13) or ``py3-none-manylinux_2_17_x86_64`` for
the ELF-script wheel; uv accepts them from a ``--find-links`` directory.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sysconfig
import tempfile
import zipfile
from pathlib import Path

VERSION = "1.0"
ABI3_TAG = "cp311-abi3-manylinux_2_17_x86_64"
SCRIPT_TAG = "py3-none-manylinux_2_17_x86_64"

CXX_SOURCE = r"""
#define Py_LIMITED_API 0x030B0000
#include <Python.h>
#include <sstream>
#include <string>

static PyObject *hello(PyObject *, PyObject *) {
    std::ostringstream out;
    out << "hello from C++ " << 42;
    std::string s = out.str();
    return PyUnicode_FromString(s.c_str());
}

static PyMethodDef methods[] = {
    {"hello", hello, METH_NOARGS, nullptr}, {nullptr, nullptr, 0, nullptr}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "uvxnix_cxxdemo", nullptr, -1, methods};
PyMODINIT_FUNC PyInit_uvxnix_cxxdemo(void) { return PyModule_Create(&mod); }
"""

ZLIB_SOURCE = r"""
#define Py_LIMITED_API 0x030B0000
#include <Python.h>
/* No zlib.h needed (zlib1g-dev may be absent): declare the one function we call. */
extern const char *zlibVersion(void);

static PyObject *zlib_version(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(zlibVersion());
}

static PyMethodDef methods[] = {
    {"zlib_version", zlib_version, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "uvxnix_zdemo", NULL, -1, methods};
PyMODINIT_FUNC PyInit_uvxnix_zdemo(void) { return PyModule_Create(&mod); }
"""

ELF_SOURCE = r"""
#include <stdio.h>
int main(void) { puts("elfdemo: hello from a generic-Linux ELF program"); return 0; }
"""


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def write_wheel(
    dest_dir: Path, dist: str, tag: str, files: dict[str, bytes], executables: set[str],
    requires: list[str] | None = None,
) -> Path:
    """Write ``{dist}-1.0-{tag}.whl`` holding files (arcname -> bytes) plus dist-info."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    norm = dist.replace("-", "_")
    info = f"{norm}-{VERSION}.dist-info"
    py, abi, plat = tag.split("-")
    meta = {
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {VERSION}\n"
            "Summary: uvx-nix test wheel\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires or [])
        ).encode(),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: uvx-nix-tests\nRoot-Is-Purelib: false\n"
            f"Tag: {py}-{abi}-{plat}\n"
        ).encode(),
    }
    entries = {**files, **meta}
    record = [_record_line(name, data) for name, data in entries.items()]
    record.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = dest_dir / f"{norm}-{VERSION}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = (0o755 if name in executables else 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return path


def _compile(compiler: str, source: str, suffix: str, extra: list[str], shared: bool) -> bytes:
    include = sysconfig.get_paths()["include"]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"m{suffix}"
        src.write_text(source)
        out = Path(tmp) / "out"
        cmd = [compiler, "-O1", "-o", str(out), str(src)]
        if shared:
            cmd += ["-shared", "-fPIC", f"-I{include}"]
        res = subprocess.run([*cmd, *extra], check=False, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")
        return out.read_bytes()


def build_cxx_wheel(dest_dir: Path) -> Path:
    """uvxnix-cxxdemo: a C++ extension (DT_NEEDED libstdc++.so.6); ``hello()`` -> str."""
    so = _compile("g++", CXX_SOURCE, ".cpp", [], shared=True)
    return write_wheel(
        dest_dir, "uvxnix-cxxdemo", ABI3_TAG, {"uvxnix_cxxdemo.abi3.so": so}, set()
    )


def build_zlib_wheel(dest_dir: Path) -> Path:
    """uvxnix-zdemo: a C extension linked with libz.so.1; ``zlib_version()`` -> str."""
    so = _compile("gcc", ZLIB_SOURCE, ".c", ["-l:libz.so.1"], shared=True)
    return write_wheel(dest_dir, "uvxnix-zdemo", ABI3_TAG, {"uvxnix_zdemo.abi3.so": so}, set())


def build_elf_script_wheel(dest_dir: Path) -> Path:
    """uvxnix-elfdemo: ships ``elfdemo``, a normally linked ELF program, as a console script."""
    exe = _compile("gcc", ELF_SOURCE, ".c", [], shared=False)
    script = f"uvxnix_elfdemo-{VERSION}.data/scripts/elfdemo"
    files = {
        "uvxnix_elfdemo/__init__.py": b'"""uvx-nix test package shipping an ELF script."""\n',
        script: exe,
    }
    return write_wheel(dest_dir, "uvxnix-elfdemo", SCRIPT_TAG, files, {script})



def build_cli_wheel(dest_dir: Path, name: str = "uvxnix-probecli",
                    needs: str = "uvxnix-cxxdemo") -> Path:
    """A pure-Python wheel with a console script ``probe-cli`` that imports the C++ probe
    (its dependency ``needs``): like `.venv/bin/pytest`, or a tool's entry point."""
    module = name.replace("-", "_")
    info = f"{module}-{VERSION}.dist-info"
    code = (b"def main():\n"
            b"    import uvxnix_cxxdemo\n"
            b"    print('console script:', uvxnix_cxxdemo.hello())\n")
    entry = f"[console_scripts]\nprobe-cli = {module}:main\n".encode()
    return write_wheel(dest_dir, name, "py3-none-any",
                       {f"{module}.py": code, f"{info}/entry_points.txt": entry}, set(),
                       requires=[needs] if needs else [])
