"""Native code for unit tests: programs and libraries built with the host's gcc, and
hand-made venvs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HOST_LIBDIR = "/usr/lib/x86_64-linux-gnu"


PROGRAM = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"


def cc(out: Path, source: str, *args: str) -> Path:
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", "-o", str(out), str(src), *args], check=True)
    return out


def make_venv(tmp_path: Path) -> Path:
    venv = tmp_path / ".venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return venv


def interpreter() -> str:
    return os.path.realpath(sys.executable)


def wheel_venv(tmp_path: Path) -> Path:
    """A venv holding an extension that needs libz and a vendored library (via $ORIGIN)."""
    venv = make_venv(tmp_path)
    site = venv / "lib" / "python3.11" / "site-packages"
    libs = site / "pkg.libs"
    libs.mkdir()
    # A vendored library (auditwheel style), found through $ORIGIN.
    cc(libs / "libvendored.so.1", "int v(void) { return 1; }\n", "-shared", "-fPIC",
        "-Wl,-soname,libvendored.so.1")
    (site / "pkg").mkdir()
    cc(site / "pkg" / "ext.so", (
        "extern int v(void); extern double cos(double);\n"
        "int f(void) { return v(); }\n"), "-shared", "-fPIC", f"-L{libs}", "-l:libvendored.so.1",
        "-Wl,-rpath,$ORIGIN/../pkg.libs", "-Wl,--no-as-needed", "-lz")
    (site / "pkg" / "__init__.py").write_text("")
    return venv
