"""The compiled launcher (``launcher.c``): a cache hit without starting Python.

This module only knows how to build it; it is never imported on the hot path.  The launcher
is compiled for one installation of uvx-nix: it execs that installation's Python entry point
(``entry``) for everything it does not do itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from uvx_nix import __version__, activation, execute, files, output, paths
from uvx_nix.commands import usage
from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, UserError
from uvx_nix.resolve import inputs, nix

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.c")
CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra")


def _c_string(value: str) -> str:
    """A C string literal for a -D definition (paths are passed as data, never as code)."""
    escaped = "".join(
        chr(byte) if 0x20 <= byte < 0x7f and chr(byte) not in '"\\?' else f"\\{byte:03o}"
        for byte in os.fsencode(value))
    return f'"{escaped}"'


def compile_command(cc: str, output: str, entry: str, default_uv: str | None = None,
                    version: str = __version__) -> list[str]:
    """The compiler's argv that builds the launcher for the Python entry point ``entry``."""
    command = [cc, *CFLAGS, "-o", output, SOURCE,
               f"-DUVX_NIX_ENTRY={_c_string(entry)}",
               f"-DUVX_NIX_VERSION={_c_string(version)}"]
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


# ---- `uvx-nix nix install-launcher` --------------------------------------------------------

ENTRY_NAME = ".uvx-nix-python"  # the Python entry point the launcher hands over to


def _nix_compiler(environ: Mapping[str, str]) -> str:
    """``stdenv.cc`` of the nixpkgs uvx-nix is configured with (UVX_NIX_NIXPKGS, the user
    config's ``nixpkgs``, else the registry's ``nixpkgs``), built with Nix: the source goes to
    Nix as an argument, never into Nix code."""

    settings, _ = inputs.user_settings(environ, [])
    source = environ.get("UVX_NIX_NIXPKGS") or str(settings.get("nixpkgs") or "nixpkgs")
    exe = nix.nix_executable(environ)
    if source.startswith("<") or source.startswith("/"):
        command = [os.path.join(os.path.dirname(exe), "nix-build"), "--no-out-link", source,
                   "-A", "stdenv.cc"]
    else:
        command = [exe, "--extra-experimental-features", "nix-command flakes", "build",
                   "--no-link", "--json", f"{source}#stdenv.cc"]
    res = subprocess.run(command, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise UserError(f"nix could not build the C compiler of nixpkgs {source!r} (stdenv.cc): "
                        f"{res.stderr.strip().splitlines()[-1:] or ['no output']}; name one "
                        "with --cc", EXIT_NIX_FAILED)
    if command[0] == exe:
        out = json.loads(res.stdout)[0]["outputs"]["out"]
    else:
        out = res.stdout.strip().splitlines()[-1]
    return os.path.join(out, "bin", "cc")


def _link(link: str, target: str) -> None:
    tmp = f"{link}.{os.getpid()}.tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """``uvx-nix nix install-launcher [--dir DIR] [--cc CC]``: compile the launcher for this
    installation into DIR as ``uvx-nix``, and point DIR's ``uv``/``uvx`` shims at it."""
    parser = usage.Parser(
        prog=f"uvx-nix nix {name}",
        description="Compile uvx-nix's launcher (a cache hit without starting Python) for this "
                    "installation, as DIR/uvx-nix; uv and uvx links in DIR are pointed at it. "
                    "On NixOS the compiler is stdenv.cc of the nixpkgs uvx-nix is configured "
                    "with, built with Nix; elsewhere `cc` on PATH.")
    parser.add_argument("--dir", help="where to put it (default: $XDG_DATA_HOME/uvx-nix/bin, "
                        "where `nix install-shims` puts uv and uvx)")
    parser.add_argument("--cc", help="the C compiler to use")
    args = usage.parse(parser, argv)
    if args is None:
        return 0
    directory = args.dir or str(paths.data_dir(environ) / "bin")
    if any(ch.isspace() for ch in sys.executable):
        raise UserError(f"this uvx-nix runs on {sys.executable!r}, whose path has a space, which "
                        "a #! line cannot hold; reinstall it elsewhere", EXIT_CONFIG)
    if args.cc:
        cc = args.cc
    elif activation.detect(environ).active:
        cc = _nix_compiler(environ)
    else:
        cc = shutil.which("cc", path=environ.get("PATH")) or ""
        if not cc:
            raise UserError("no C compiler (cc) on PATH; install one (e.g. gcc) or name one "
                            "with --cc", EXIT_CONFIG)
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, "uvx-nix")
    if os.path.lexists(target) and not os.path.islink(target) and not _is_launcher(target):
        raise UserError(f"{target} exists and is not uvx-nix's launcher; choose another "
                        "directory with --dir", EXIT_CONFIG)
    entry = os.path.join(directory, ENTRY_NAME)
    files.write_atomic(Path(entry), (f"#!{sys.executable}\n# uvx-nix's Python implementation, "
                                     "for the launcher beside it.\nfrom uvx_nix.cli import "
                                     "entry\n\nentry()\n").encode(), mode=0o755)
    try:
        build(cc, target, entry)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise UserError(f"compiling the launcher with {cc} failed: "
                        f"{detail.strip().splitlines()[-1:]}", EXIT_CONFIG) from None
    own = os.path.realpath(target)
    for shim in ("uv", "uvx"):
        link = os.path.join(directory, shim)
        if os.path.lexists(link) and (os.path.realpath(link) == own or execute.is_wrapper(
                link, os.path.realpath(sys.argv[0]))):
            _link(link, target)
    output.notice(f"Installed uvx-nix's launcher as {target} (compiled with {cc}); put {directory} "
                  f'first on PATH, e.g. export PATH="{directory}:$PATH"')
    return 0


def _is_launcher(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return False
    # the launcher's one message, which it carries in any build
    return data.startswith(b"\x7fELF") and b"cannot run uvx-nix's Python implementation" in data
