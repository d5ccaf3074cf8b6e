"""uvx-nix's own commands: ``uvx-nix nix ...`` (``uv nix ...`` when aliased)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvx_nix import (
    __version__,
    activation,
    cache,
    environment,
    execute,
    files,
    output,
    paths,
    reference,
)
from uvx_nix.argv import Invocation
from uvx_nix.argv import sync as argv_sync
from uvx_nix.commands import usage
from uvx_nix.errors import EXIT_CODES, EXIT_CONFIG, UserError, display, display_path
from uvx_nix.resolve import inputs, lockfile, resolution, sources, workdir

if TYPE_CHECKING:
    from uvx_nix.resolve.resolution import Resolved

COMMANDS = {
    "status": "Show whether uvx-nix is active and why, the interpreter, and the cache state.",
    "lock": "Resolve with Nix and write uvx-nix.lock (--upgrade: re-lock nixpkgs too).",
    "env": "Print the environment uvx-nix gives uv (--format sh|fish|json|dotenv).",
    "gc": "Drop this project's GC roots and cached state (the next call re-roots).",
    "install-shims": "Install `uv` and `uvx` commands that run uvx-nix (for shebangs and "
                     "programs that exec uv; put the directory first on PATH).",
}
# Commands implemented in their own modules: each exposes
# ``command(name: str, argv: list[str], environ: Mapping[str, str]) -> int``.
DELEGATED = {
    "doctor": ("uvx_nix.commands.doctor", "Find native libraries the venv's wheels cannot load "
               "(--fix: add them and make venv executables start)."),
    "shell-init": ("uvx_nix.commands.integration", "Print the bash/zsh/fish integration that "
                   "routes uv and uvx through uvx-nix."),
    "direnv-lib": ("uvx_nix.commands.integration", "Print the direnv library that defines "
                   "`use uvnix`."),
    "add-build-library": ("uvx_nix.commands.build", "Add nixpkgs attributes to [tool.uvx-nix] "
                          "build-libraries (their headers, .pc files and programs reach "
                          "builds uv runs)."),
    "allow": ("uvx_nix.commands.trust", "Allow the one nixpkgs source of this project uvx-nix "
              "asked about, or the SOURCE given (like `direnv allow`)."),
    "deny": ("uvx_nix.commands.trust", "Take back every permission of this project given with "
             "`uvx-nix nix allow`."),
    "install-launcher": ("uvx_nix.launcher", "Compile the launcher (a cache hit without "
                         "starting Python) for this installation, beside the shims."),
}


def _epilog() -> str:
    lines = ["environment variables:"]
    lines += [f"  {name:<27} {text}" for name, text in reference.VARIABLES.items()]
    lines += ["", "[tool.uvx-nix] keys in pyproject.toml (also in the user config.toml):"]
    lines += [f"  {name:<27} {text}" for name, text in reference.SETTINGS.items()]
    lines += ["", "exit codes (uv's own codes pass through unchanged):"]
    lines += [f"  {code:<27} {text}" for code, text in EXIT_CODES.items()]
    return "\n".join(lines)


def _parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The tree of every own command. A command with a module of its own gets its arguments
    only when it is the one ``chosen`` (the others' modules are not imported for nothing;
    `nix --help` lists each by its name and help line, which need no module)."""
    parser = usage.Parser(
        prog="uvx-nix nix",
        description="uvx-nix's own commands. Every other command line is uv's: "
                    "`uvx-nix ARGS` runs `uv ARGS` with a nixpkgs interpreter.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true",
                        help="print uvx-nix's version and the uv and Nix it found")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, text) in DELEGATED.items():
        command = sub.add_parser(name, help=text)
        if name == chosen:
            importlib.import_module(module).arguments(command, name)
    for name, text in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--directory", help="run as if started in this directory")
        p.add_argument("-p", "--python", help="a Python request, as uv's --python")
        if name == "lock":
            p.add_argument("--upgrade", action="store_true",
                           help="re-lock the nixpkgs source as well")
        if name == "env":
            p.add_argument("--format", choices=("sh", "fish", "json", "dotenv"), default="sh")
        if name == "install-shims":
            p.add_argument("--dir", help="where to put them (default: "
                           "$XDG_DATA_HOME/uvx-nix/bin)")
    return parser


def _version(environ: Mapping[str, str]) -> int:
    print(f"uvx-nix {__version__}")

    try:
        uv: str | None = execute.find_uv(environ)
    except UserError:
        uv = None
    for label, exe in (("uv", uv), ("nix", shutil.which("nix", path=environ.get("PATH")))):
        if not exe:
            print(f"{label}: not found")
            continue
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 check=False, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = "unavailable"
        print(f"{label}: {out or 'unknown'} ({exe})")
    return 0


def _invocation(args: argparse.Namespace) -> Invocation:
    return argv_sync(args.directory, args.python)


def _resolve(args: argparse.Namespace, environ: Mapping[str, str], upgrade: bool = False,
             strict: bool = True) -> Resolved:
    inp = inputs.gather(_invocation(args), environ)
    # `nix lock` and `nix env` report a Nix failure (direnv's `use uvnix` then keeps its last
    # good environment itself); only the wrapper falls back to the last good resolution.
    return resolution.ensure(inp, environ, upgrade=upgrade, fallback=not strict)


def _status(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    act = activation.detect(environ)
    print(f"active: {'yes' if act.active else 'no'} ({act.reason})")

    try:
        print(f"uv: {execute.find_uv(environ)}")
    except UserError as exc:
        print(f"uv: not found ({exc.message})")
    print(f"nix: {shutil.which('nix', path=environ.get('PATH')) or 'not found'}")
    inp = inputs.gather(_invocation(args), environ)
    print(f"project: {display_path(inp.project.root) if inp.project else 'none'}")
    print(f"python request: {display_path(inp.python.describe())}")
    print(f"nixpkgs: {display(inp.nixpkgs.ref)} (from {display_path(inp.nixpkgs.origin)})")
    print(f"libraries: {', '.join(inp.libraries) or 'none'}")
    print(f"build libraries: {', '.join(inp.build_libraries) or 'none'} (automatic: "
          f"{'on' if inp.auto_build_libraries else 'off'})")
    print(f"strategy: {inp.strategy}")
    existing = lockfile.read(inp.lock_path)
    if existing is None:
        print(f"lockfile: {display_path(inp.lock_path)} (missing: the next uv call resolves "
              "with Nix)")
        print(f"hot cache: {_hot_state(args, environ)}")
        return 0
    lock, _ = existing
    entry = lock.systems.get(inp.system)
    fresh = lock.fingerprint == inp.fingerprint() and entry is not None
    print(f"lockfile: {display_path(inp.lock_path)} "
          f"({'up to date' if fresh else 'stale: inputs changed'})")
    shared = sources.sharing(lock.nixpkgs_kind, lock.nixpkgs_url, lock.nixpkgs_nar_hash)
    print(f"locked nixpkgs: {display(lock.nixpkgs_url)} ({shared})")
    if entry is not None:
        present = entry.present()
        print(f"interpreter: {entry.interpreter} ({entry.python_attribute} "
              f"{entry.python_version}{'' if present else ', not in the store'})")
        for lib in entry.libraries:
            print(f"library: {lib.attribute} {lib.path}/lib")
        gcroot = workdir.roots_dir(inp.lock_dir) / inp.system
        rooted = workdir.gcroot_points(gcroot, entry)
        print(f"gc root: {display_path(gcroot)} ({'held' if rooted else 'missing'})")
        build_root = gcroot.with_name(f"{inp.system}-build")
        print(f"build toolchain: {display_path(build_root)} "
              f"({'realised' if build_root.exists() else 'not realised: the first build does'})")
    print(f"hot cache: {_hot_state(args, environ)}")
    return 0


def _hot_state(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """Whether the next plain `uv sync`/`uv run` here is a cache hit (no TOML, no Nix)."""
    try:
        uv = execute.find_uv(environ)
    except UserError:
        uv = ""
    key = cache.key_for(_invocation(args), None, uv)
    path = cache.path(key, environ)
    if not os.path.exists(path):
        return "empty (the next uv call reads the project files)"
    fields = cache.load(path, key)
    shown = display_path(path)
    return f"fresh ({shown})" if fields is not None else f"stale ({shown})"


def _lock(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    resolved = _resolve(args, environ, upgrade=args.upgrade)
    entry = resolved.entry
    output.notice(f"Locked {entry.python_attribute} ({entry.implementation} "
                  f"{entry.python_version}) and {len(entry.libraries)} libraries from "
                  f"{display(resolved.lock.nixpkgs_url)} in "
                  f"{display_path(resolved.inputs.lock_path)}")
    return 0


def env_delta(fields: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str | None]:
    built = environment.build(fields, environ)
    delta: dict[str, str | None] = {k: v for k, v in built.items() if environ.get(k) != v}
    delta.update({k: None for k in environ if k not in built})
    return dict(sorted(delta.items()))


def render_env(delta: Mapping[str, str | None], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(delta, indent=2, sort_keys=True) + "\n"
    lines = []
    for key, value in delta.items():
        if value is not None and ("\n" in value or "\r" in value):
            output.warn(f"leaving out {key}: its value spans lines")
            continue
        if fmt == "fish":
            lines.append(f"set -e {key}" if value is None else
                         f"set -gx {key} {shlex.quote(value)}")
        elif fmt == "dotenv":
            if value is not None:
                lines.append(f"{key}={json.dumps(value)}")
        else:
            lines.append(f"unset {key}" if value is None else f"export {key}={shlex.quote(value)}")
    return "".join(line + "\n" for line in lines)


def _env(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    resolved = _resolve(args, environ)
    sys.stdout.write(render_env(env_delta(resolved.fields(), environ), args.format))
    return 0


def _gc(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    inp = inputs.gather(_invocation(args), environ)
    roots = workdir.roots_dir(inp.lock_dir)
    dropped = _drop_roots(roots)
    if inp.project is not None:
        # One-off requests of this project (--python, UV_PYTHON...) keep theirs in the cache.
        oneoffs = inputs.oneoff_dir(environ, inp.project.root)
        if oneoffs.is_dir():
            for lock_dir in oneoffs.iterdir():
                dropped += _drop_roots(workdir.roots_dir(lock_dir))
            shutil.rmtree(oneoffs, ignore_errors=True)

    states = cache.drop(environ, {str(inp.lock_dir)} | (
        {str(inp.project.root)} if inp.project is not None else set()))
    output.notice(f"Dropped {dropped} GC root(s) in {roots} and {states} cached state(s) of this "
                  "project; the next uv call re-roots (and rebuilds if nix-collect-garbage ran)")
    return 0


def _install_shims(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`uv` and `uvx` links to this uvx-nix: a shebang such as `#!/usr/bin/env -S uv run
    --script`, or any program that execs `uv`, then goes through uvx-nix (shell functions
    cannot catch those). uvx-nix still finds the real uv further along PATH."""
    directory = Path(args.dir) if args.dir else paths.data_dir(environ) / "bin"
    own = os.path.realpath(sys.argv[0])
    if not os.path.isfile(own):
        raise UserError("cannot tell where this uvx-nix is installed; run it by its full path",
                        EXIT_CONFIG)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("uv", "uvx"):
        link = directory / name
        if os.path.lexists(link) and not execute.is_wrapper(str(link), own):
            raise UserError(f"{link} exists and is not uvx-nix (the real {name}?); choose "
                            "another directory with --dir, one that comes first on PATH",
                            EXIT_CONFIG)
        tmp = directory / f".{name}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(own, tmp)
        os.replace(tmp, link)
    output.notice(f"Installed uv and uvx in {directory}, running {own}; put it first on PATH, e.g. "
                  f'export PATH="{directory}:$PATH"')
    return 0


def _drop_roots(roots: Path) -> int:
    """Only a real directory of ours, and only links into the store: a cloned repository could
    commit `.uvx-nix/gcroots` as a symlink to, say, ~/.local/bin."""
    dropped = 0
    if files.real_directory(roots.parent) and files.real_directory(roots):
        for link in roots.iterdir():
            if link.is_symlink() and os.readlink(link).startswith("/nix/store/"):
                link.unlink()
                dropped += 1
    return dropped


def _module(name: str) -> Any:
    """The module of a command with a module of its own (``arguments`` and ``run``)."""
    return importlib.import_module(DELEGATED[name][0])


def _outer_directory(outer: Invocation | None) -> str | None:
    """`uvx-nix --directory D [--project P] nix ...`: uv's global options before `nix`."""
    if outer is None or not (outer.directory or outer.project):
        return None
    return os.path.join(outer.directory or ".", outer.project or ".")


def main(argv: Sequence[str], environ: Mapping[str, str],
         outer: Invocation | None = None) -> int:
    parser = _parser(next((word for word in argv if not word.startswith("-")), None))
    if not argv:
        parser.print_help()
        return 0
    directory = _outer_directory(outer)
    try:
        args = usage.parse(parser, argv)
    except UserError as exc:
        handler = getattr(_module(argv[0]), "usage_error", None) if argv[0] in DELEGATED else None
        if handler is None:
            raise
        code: int = handler(exc, argv)
        return code
    if args is None:
        return 0
    if hasattr(args, "directory") and args.directory is None and directory:
        args.directory = directory
    if getattr(args, "python", None) is None and outer is not None and outer.python:
        args.python = outer.python
    if args.version:
        return _version(environ)
    if args.command in DELEGATED:
        result: int = _module(args.command).run(args.command, args, environ)
        return result
    handlers = {"status": _status, "lock": _lock, "env": _env, "gc": _gc,
                "install-shims": _install_shims}
    if args.command not in handlers:
        parser.print_help()
        return 0
    return handlers[args.command](args, environ)

