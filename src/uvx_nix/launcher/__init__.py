"""The compiled launcher (``launcher.c``): a cache hit without starting Python.

This module only knows how to build it; it is never imported on the hot path.  The launcher
is compiled for one installation of uvx-nix: it execs that installation's Python entry point
(``entry``) for everything it does not do itself, and its ``_bootstrap`` directory goes on
uv's ``PYTHONPATH`` exactly as :mod:`uvx_nix.environment` puts it there.
"""

from __future__ import annotations

import os
import subprocess

from uvx_nix import __version__, environment

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.c")
CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra")


def _c_string(value: str) -> str:
    """A C string literal for a -D definition (paths are passed as data, never as code)."""
    escaped = "".join(
        chr(byte) if 0x20 <= byte < 0x7f and chr(byte) not in '"\\?' else f"\\{byte:03o}"
        for byte in os.fsencode(value))
    return f'"{escaped}"'


def compile_command(cc: str, output: str, entry: str, default_uv: str | None = None,
                    bootstrap: str = environment.BOOTSTRAP,
                    version: str = __version__) -> list[str]:
    """The compiler's argv that builds the launcher for the Python entry point ``entry``."""
    command = [cc, *CFLAGS, "-o", output, SOURCE,
               f"-DUVX_NIX_ENTRY={_c_string(entry)}",
               f"-DUVX_NIX_VERSION={_c_string(version)}",
               f"-DUVX_NIX_BOOTSTRAP={_c_string(bootstrap)}"]
    if default_uv:
        command.append(f"-DUVX_NIX_DEFAULT_UV={_c_string(default_uv)}")
    return command


def build(cc: str, output: str, entry: str, default_uv: str | None = None) -> None:
    """Compile the launcher to ``output`` (atomically: a temp file, then a rename)."""
    tmp = f"{output}.{os.getpid()}.tmp"
    try:
        subprocess.run(compile_command(cc, tmp, entry, default_uv), check=True,
                       capture_output=True, text=True)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
