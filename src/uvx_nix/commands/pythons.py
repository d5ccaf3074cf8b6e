"""``uv python install`` under the wrapper: realise nixpkgs interpreters instead of
downloading generic-Linux builds NixOS cannot start.

Each installed interpreter is a GC root in the user data dir
(``$XDG_DATA_HOME/uvx-nix/pythons/<attribute>``) with a one-line ``<attribute>.bin``
beside it naming the interpreter's store ``bin`` directory; ``uv python find`` and
``uv python list`` then see them through ``UV_PYTHON_SEARCH_PATH``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import output, paths
from uvx_nix.argv import Invocation
from uvx_nix.errors import EXIT_NO_MATCH, UserError
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import lockfile, nix, resolution, specs, trust, workdir
from uvx_nix.resolve import python_request as request


def directory(environ: Mapping[str, str]) -> Path:
    return paths.data_dir(environ) / "pythons"


def installed_bins(environ: Mapping[str, str]) -> list[str]:
    """Store bin dirs of interpreters installed with ``uv python install``, newest first."""
    base = directory(environ)
    try:
        names = sorted((n for n in os.listdir(base) if n.endswith(".bin")), reverse=True)
    except OSError:
        return []
    bins = []
    for name in names:
        try:
            with open(base / name, encoding="utf-8") as f:
                value = f.read().strip()
        except OSError:
            continue
        if value.startswith("/nix/store/") and os.path.isdir(value):
            bins.append(value)
    return bins


def _requests(inv: Invocation, inp: inputs_mod.Inputs) -> list[request.PythonRequest]:
    words = [w for w in inv.positionals if not w.startswith("-")]
    if not words:
        return [inp.python]
    return [request.parse(w, "uv python install") for w in words]


def install(inv: Invocation, environ: Mapping[str, str]) -> int:
    """Realise each requested interpreter from nixpkgs and root it; uv is not run."""
    environ = resolution.no_progress(inv, environ)
    inp = inputs_mod.gather(inv, environ)
    trust.permit_configured(inp, environ)
    base = directory(environ)
    base.mkdir(parents=True, exist_ok=True)
    requests = _requests(inv, inp)
    source = specs.fresh_source(inp, environ)[0]  # one lock for every request
    options = inv.args[: len(inv.args) - len(inv.tail)]
    for req in requests:
        if req.kind == "path":
            raise UserError(f"cannot install {req.text!r}: give a version such as 3.12",
                            EXIT_NO_MATCH)
        one = dataclasses.replace(inp, python=req, libraries=())
        spec = specs.resolve_spec(one, source, specs.python_spec(one), [])
        # Nix registers the out-link's own path as the GC root: build where the root stays
        # (a link renamed afterwards would root nothing).
        root = base / f".request-{paths.digest(req.text, 16)}"
        previous = workdir.link_target(root)
        manifest = nix.build(spec, root, environ, what=f"installing Python {req.text}")
        try:
            entry = specs.entry_from_manifest(manifest, one)
        except UserError:
            workdir.restore_root(root, previous)
            raise
        link = base / entry.python_attribute
        tmp = base / f".{entry.python_attribute}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(root.name, tmp)
        os.replace(tmp, link)
        bin_file = base / f"{entry.python_attribute}.bin"
        bin_file.write_text(os.path.dirname(entry.interpreter) + "\n")
        prefix = os.path.dirname(os.path.dirname(entry.interpreter))
        output.notice(f"Installed Python {entry.python_version} from nixpkgs "
                      f"({entry.python_attribute}) at {prefix}")
        if "--no-bin" not in options:
            _link_executable(entry, environ, force="--force" in options or "-f" in options)
    return 0


def bin_dir(environ: Mapping[str, str]) -> Path:
    """Where uv puts `python3.12` links: UV_PYTHON_BIN_DIR, XDG_BIN_HOME, the `bin` beside
    XDG_DATA_HOME, else ~/.local/bin."""
    for var in ("UV_PYTHON_BIN_DIR", "XDG_BIN_HOME"):
        if environ.get(var):
            return Path(environ[var])
    if environ.get("XDG_DATA_HOME"):
        return Path(environ["XDG_DATA_HOME"]).parent / "bin"
    return Path(environ.get("HOME") or os.path.expanduser("~")) / ".local" / "bin"


def _executable_name(entry: lockfile.SystemEntry) -> str:
    """`python3.12`, `python3.13t`, `pypy3.10`: as uv names the executables it installs."""
    return os.path.basename(entry.interpreter)


def _link_executable(entry: lockfile.SystemEntry, environ: Mapping[str, str], *,
                     force: bool) -> None:
    """As `uv python install` does (unless --no-bin): a `python3.X` in the bin directory."""
    directory = bin_dir(environ)
    link = directory / _executable_name(entry)
    if os.path.lexists(link) and not force and not (
            link.is_symlink() and os.readlink(link).startswith("/nix/store/")):
        output.warn(f"{link} already exists and is not a nixpkgs "
                    "interpreter uvx-nix linked; left alone (use --force to replace it)")
        return
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{link.name}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(entry.interpreter, tmp)
    os.replace(tmp, link)
    output.notice(f"Installed executable at {link}")


def _unlink_executable(bin_file: Path, environ: Mapping[str, str]) -> None:
    """Remove the `python3.X` link install made, if it still points at this interpreter."""
    try:
        interpreter_bin = bin_file.read_text(encoding="utf-8").strip()
    except OSError:
        return
    directory = bin_dir(environ)
    for link in directory.glob("p*") if directory.is_dir() else []:
        if link.is_symlink() and os.path.dirname(os.readlink(link)) == interpreter_bin:
            link.unlink()


def uninstall(inv: Invocation, environ: Mapping[str, str]) -> bool:
    """Drop uvx-nix's roots matching the requests; True if any was removed."""
    base = directory(environ)
    removed = False
    words = [w for w in inv.positionals if not w.startswith("-")]
    for word in words:
        req = request.parse(word, "uv python uninstall")
        for bin_file in sorted(base.glob("*.bin")) if base.is_dir() else []:
            attr = bin_file.name.removesuffix(".bin")
            version = request.version_tuple(attr.removeprefix("python").replace("3", "3.", 1))
            if req.kind in ("any", "default") or request.matches(req, "cpython", version):
                _unlink_executable(bin_file, environ)
                target = base / attr
                extra = [base / os.readlink(target)] if target.is_symlink() else []
                for path in (bin_file, target, *extra):
                    if path.is_symlink() or path.exists():
                        path.unlink()
                removed = True
                output.notice(f"Uninstalled {attr} (uvx-nix's nixpkgs interpreter root)")
    return removed
