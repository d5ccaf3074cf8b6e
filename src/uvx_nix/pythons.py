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
import sys
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import inputs as inputs_mod
from uvx_nix import nix, paths, request
from uvx_nix.argv import Invocation
from uvx_nix.errors import EXIT_NO_MATCH, UserError


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
    from uvx_nix import resolution

    environ = resolution.no_progress(inv, environ)
    inp = inputs_mod.gather(inv, environ)
    resolution.permit_configured(inp, environ)
    base = directory(environ)
    base.mkdir(parents=True, exist_ok=True)
    quiet = inv.quiet > 0
    requests = _requests(inv, inp)
    source = resolution.fresh_source(inp, environ, quiet)[0]  # one lock for every request
    for req in requests:
        if req.kind == "path":
            raise UserError(f"cannot install {req.text!r}: give a version such as 3.12",
                            EXIT_NO_MATCH)
        one = dataclasses.replace(inp, python=req, libraries=())
        spec = resolution._spec(one, source, resolution._python_spec(one), [])
        tmp_link = base / f".install-{os.getpid()}"
        manifest = nix.build(spec, tmp_link, environ, what=f"installing Python {req.text}",
                             quiet=quiet)
        entry = resolution._entry_from_manifest(manifest, one)
        link = base / entry.python_attribute
        os.replace(tmp_link, link)
        bin_file = base / f"{entry.python_attribute}.bin"
        bin_file.write_text(os.path.dirname(entry.interpreter) + "\n")
        if not quiet:
            prefix = os.path.dirname(os.path.dirname(entry.interpreter))
            sys.stderr.write(f"Installed Python {entry.python_version} from nixpkgs "
                             f"({entry.python_attribute}) at {prefix}\n")
    return 0


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
                for path in (bin_file, base / attr):
                    if path.is_symlink() or path.exists():
                        path.unlink()
                removed = True
                sys.stderr.write(f"Uninstalled {attr} (uvx-nix's nixpkgs interpreter root)\n")
    return removed
