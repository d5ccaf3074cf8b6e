"""The composition root: argv -> request -> state or resolution -> environment -> exec uv.

Everything a cache hit does is in :func:`_run`, and it imports only stdlib
modules that Python has already loaded plus small stdlib-only modules of this
package.  The slow path (TOML, Nix, file locks) is imported only on a miss.
"""

from __future__ import annotations

import os
import sys

from uvx_nix import activation, cache, environment, execute, output, paths
from uvx_nix import argv as argv_mod
from uvx_nix.errors import EXIT_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED, UserError

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: this is the hot path
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

# Set by the compiled launcher when it hands a call over: its own path and the name it was
# called by (`uvx` means `uv tool run`).
LAUNCHER = "UVX_NIX_LAUNCHER"
LAUNCHER_NAME = "UVX_NIX_LAUNCHER_NAME"
# uv commands that write into the interpreter they target (with --system: the store's).
SYSTEM_WRITES = frozenset({("pip", "install"), ("pip", "sync"), ("pip", "uninstall")})
# uv commands that may (re)install files into the project's venv.
INSTALLING = frozenset({("sync",), ("add",), ("remove",), ("pip", "install"), ("pip", "sync"),
                        ("version",)})
# uv commands that make or fill an environment: uv runs as a child, then uvx-nix records the
# libraries in that environment and makes its programs runnable (uvx_nix.prepare.venv.after_uv).
PREPARING = INSTALLING | {("venv",), ("tool", "install"), ("tool", "upgrade")}
# uv commands that run a program in an environment uv may create on the way.
RUNNING = frozenset({("run",), ("tool", "run")})


def _capture_stdin() -> bytes | None:
    """`uv run -`: read the script uv will read, then hand uv an identical stdin (an
    anonymous in-memory file) so the script's PEP 723 metadata can steer the interpreter."""
    try:
        if os.isatty(0):
            return None
        chunks = []
        while chunk := os.read(0, 1 << 16):
            chunks.append(chunk)
    except OSError:
        return None
    data = b"".join(chunks)
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("uvx-nix-stdin")
    else:  # pragma: no cover - macOS
        import tempfile  # noqa: PLC0415 - off the hot path: loaded only for the call that needs it

        with tempfile.TemporaryFile() as spool:
            fd = os.dup(spool.fileno())
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    os.dup2(fd, 0)
    os.close(fd)
    return data


def _exec(uv: str, args: list[str], env: Mapping[str, str],
          uvx_args: list[str] | None) -> NoReturn:
    """Exec uv; called as `uvx`, exec the real uvx beside it (its own --version and help)."""
    if uvx_args is not None:
        sibling = os.path.join(os.path.dirname(uv), "uvx")
        if os.path.isfile(sibling) and os.access(sibling, os.X_OK):
            execute.exec_uv(sibling, uvx_args, env)
    execute.exec_uv(uv, args, env)


def _run(args: list[str], environ: Mapping[str, str],
         uvx_args: list[str] | None = None) -> int:
    inv = argv_mod.parse(args)
    output.configure(inv.quiet)
    if inv.own:
        from uvx_nix import commands  # noqa: PLC0415 - see the module docstring

        return commands.main(list(inv.tail), environ, inv)
    uv = execute.find_uv(environ)
    if inv.command == ("python", "uninstall") and activation.detect(environ).active:
        from uvx_nix.commands import pythons  # noqa: PLC0415 - see the module docstring

        if pythons.uninstall(inv, environ):
            return 0
    version = uvx_args is not None and uvx_args[:1] in (["--version"], ["-V"])
    if version or not inv.needs_interpreter or not activation.detect(environ).active:
        _exec(uv, args, environ, uvx_args)
    if inv.command == ("python", "install"):
        from uvx_nix.commands import pythons  # noqa: PLC0415 - see the module docstring

        return pythons.install(inv, environ)
    stdin = _capture_stdin() if inv.script == "-" and inv.command == ("run",) else None
    key = cache.key_for(inv, stdin, uv)
    path = cache.path(key, environ)
    fields = cache.load(path, key)

    def again() -> dict[str, str]:
        """The slow path: resolve, and write this call's record anew."""
        from uvx_nix.prepare import miss  # noqa: PLC0415 - see the module docstring

        return miss.resolve_for(inv, environ, key, path, stdin)

    if fields is None:
        execute.check_version(uv, paths.cache_dir_str(environ))
        fields = again()
    site = fields.get("site")
    if site and (cache.signature(site) != fields.get("site_sig")
                 or fields.get("hook_libs") != fields.get("libs")):
        from uvx_nix.prepare import venv  # noqa: PLC0415 - see the module docstring

        fields = venv.on_change(fields, key, path, environ, again)
    if inv.command[:2] in SYSTEM_WRITES:
        _refuse_store_writes(inv, fields, environ)
    if inv.command[:1] == ("python",):
        from uvx_nix.commands import pythons  # noqa: PLC0415 - see the module docstring

        extra = [b for b in pythons.installed_bins(environ) if b != fields.get("python_bin")]
        fields = {**fields, "python_bin": ":".join([fields.get("python_bin", ""), *extra])}
    env = environment.build(fields, environ, inv.preference)
    # The build toolchain reaches uv only in calls that may build and run no program of yours
    # (see toolchain.py): never in the environment `uv run` / `uv tool run` start a program in.
    build_env = _with_build_hook(env, fields.get("build_hook"))
    if fields.get("strategy") != "nix-ld":
        if inv.command[:2] in PREPARING:
            from uvx_nix.prepare import venv  # noqa: PLC0415 - see the module docstring

            code = execute.run_uv(uv, args, build_env)
            venv.after_uv(inv, fields, environ, key, path, again)
            return code
        if inv.command[:2] in RUNNING:
            memo = _unprepared(inv, fields, environ)
            if memo is not None:
                from uvx_nix.prepare import venv  # noqa: PLC0415 - see the module docstring

                venv.before_run(inv, fields, build_env, uv, memo, key, path, again)
    _exec(uv, args, env if inv.command[:2] in RUNNING else build_env, uvx_args)


def _with_build_hook(env: dict[str, str], hook: str | None) -> dict[str, str]:
    if not hook or hook in env.get("PYTHONPATH", "").split(":"):
        return env
    old = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": f"{hook}:{old}" if old else hook}


def _asks_with(token: str) -> bool:
    """``--with*``, or ``-w`` alone or in a cluster of short flags (``-qw``)."""
    if token.startswith("--with"):
        return True
    if token.startswith("-") and not token.startswith("--") and len(token) > 1:
        return "w" in argv_mod.short_cluster(token)[0]
    return False


def _unprepared(inv: argv_mod.Invocation, fields: Mapping[str, str],
                environ: Mapping[str, str]) -> str | None:
    """None when the environment ``uv run``/``uv tool run`` will use is known prepared: the
    project's venv is on the locked interpreter and synced from the files uvx-nix last saw
    (else uv re-creates or syncs it in this call: "" asks for it to be done first), or the
    memo of this command line lists environments prepared with these libraries and unchanged
    since (else its path, for :func:`uvx_nix.prepare.venv.before_run` to write)."""
    options = inv.args[: len(inv.args) - len(inv.tail)]
    site = fields.get("site")
    if inv.command == ("run",) and site and not any(_asks_with(a) for a in options):
        venv_cfg = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(site))),
                                "pyvenv.cfg")
        try:
            with open(venv_cfg, "rb") as f:
                cfg = f.read(4096)
        except OSError:
            return ""  # no venv yet: uv makes it in this call
        home = ("home = " + fields.get("python_bin", "")).encode("utf-8", "surrogateescape")
        if home + b"\n" in cfg or cfg.endswith(home):
            # uv syncs the venv in this call when uv.lock or pyproject.toml changed since.
            return None if fields.get("synced") == cache.synced(fields.get("root", "")) else ""
        # Another interpreter: uv may re-create the venv in this call (the memo keeps a venv
        # uv leaves alone from being probed on every call).
    memo = cache.run_memo_path(environ, os.getcwd(), options)
    try:
        with open(memo, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError:
        return memo
    pairs = lines[1:-1]
    if len(lines) < 2 or lines[0] != fields.get("libs", "") or len(pairs) % 2:
        return memo
    for i in range(0, len(pairs), 2):
        if cache.signature(pairs[i]) != pairs[i + 1]:
            return memo
    return None


def _refuse_store_writes(inv: argv_mod.Invocation, fields: Mapping[str, str],
                         environ: Mapping[str, str]) -> None:
    """`uv pip install --system` would write into the nixpkgs interpreter, in the read-only
    store: one clear line instead of uv's raw OS error."""
    options = inv.args[: len(inv.args) - len(inv.tail)]
    system = "--system" in options or environ.get("UV_SYSTEM_PYTHON", "").strip().lower() in (
        "1", "true", "yes", "y", "on", "t")
    elsewhere = any(o.split("=", 1)[0] in ("--target", "--prefix") for o in options)
    if system and not elsewhere:
        verb = " ".join(inv.command)
        raise UserError(
            f"`uv {verb} --system` would change the nixpkgs interpreter "
            f"{fields.get('interpreter', '')}, which lives in the read-only Nix store; use a "
            f"virtual environment (`uv venv`, then `uv {verb}`) or --target/--prefix DIR",
            EXIT_CONFIG)


def main(argv: Sequence[str] | None = None) -> int:
    """Run as ``uvx-nix ARGS`` (or ``uv``/``uvx`` via a link); returns the exit code on error."""
    args = list(sys.argv[1:] if argv is None else argv)
    prog = os.path.basename(sys.argv[0]) if argv is None else "uvx-nix"
    if argv is None:
        # Handed over by the compiled launcher (uvx_nix/launcher/): it is this program, under
        # the name it was called by. Both variables go, so uv sees what it would without it.
        launcher = os.environ.pop(LAUNCHER, None)
        name = os.environ.pop(LAUNCHER_NAME, None)
        if launcher:
            sys.argv[0] = launcher
            prog = name or prog
    uvx_args = None
    if prog == "uvx":
        uvx_args, args = args, ["tool", "run", *args]
    environ = os.environ
    # Paths are bytes: a directory name that is not UTF-8 goes out as the bytes it is
    # (messages escape what a repository could name; `nix env` must give the exact path).
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="surrogateescape")
    try:
        return _run(args, environ, uvx_args)
    except UserError as exc:
        if environ.get("UVX_NIX_DEBUG") == "1":
            import traceback  # noqa: PLC0415 - see the module docstring

            traceback.print_exc()
        output.error(exc.message, environ)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one boundary: never a traceback unless asked
        if environ.get("UVX_NIX_DEBUG") == "1":
            raise
        output.error(f"internal error: {type(exc).__name__}: {exc} (run with UVX_NIX_DEBUG=1 "
                     "for the traceback and report it)", environ)
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
