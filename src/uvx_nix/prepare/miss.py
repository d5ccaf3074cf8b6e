"""A cache miss: resolve (Nix runs only when the lock does not answer), write the build
hook, and remember the result in the cache record (:mod:`uvx_nix.cache`)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from uvx_nix import cache, output
from uvx_nix.argv import Invocation
from uvx_nix.build import toolchain
from uvx_nix.native import venvs
from uvx_nix.prepare import venv
from uvx_nix.resolve import inputs as inputs_mod
from uvx_nix.resolve import resolution, statusline


def resolve_for(invocation: Invocation, environ: Mapping[str, str], state_key: str,
                state_path: str, stdin: bytes | None = None) -> dict[str, str]:
    """Slow path of the wrapper: resolve, then memo the result in the hot state."""
    if invocation.offline:
        environ = {**environ, "UV_OFFLINE": "1"}
    environ = resolution.no_progress(invocation, environ)
    inp = inputs_mod.gather(invocation, environ, stdin)
    started = time.monotonic()
    resolved = resolution.ensure(
        inp, environ, without_missing_libraries=invocation.command[:1] in LIBRARY_FREE)
    if resolved.nix_runs and not resolved.fell_back:
        output.notice(closing_line(resolved, time.monotonic() - started))
    fields = resolved.fields(environ)
    if inp.project is not None and inp.strategy != "nix-ld":
        where = venvs.safe_location(inp.project.root, environ)
        if where is not None:
            venv.replace_foreign(where)
    watched = [(str(p), cache.signature(str(p))) for p in inp.watched]
    watched.append((str(inp.lock_path), cache.signature(str(inp.lock_path))))
    fields["build_hook"] = toolchain.prepare(resolved, environ)
    required = [*resolved.entry.store_paths(), str(resolved.gcroot)]
    if fields["build_hook"]:
        required.append(os.path.join(fields["build_hook"], toolchain.CONFIG))
    if not resolved.lock_unsaved:
        cache.write(state_path, state_key, fields, watched, required)
    return fields


# Commands that run no code of the project: a configured library attribute nixpkgs lacks does
# not stop them (it would stop `uv remove` of the very package that brought it in).
LIBRARY_FREE = frozenset({("remove",), ("lock",), ("tree",), ("export",), ("venv",),
                          ("init",), ("python",)})


def closing_line(resolved: resolution.Resolved, seconds: float) -> str:
    """What a miss did, in one line: ``Resolved CPython 3.12.8 and 2 libraries from nixpkgs
    25.11 (abc1234) in 14.2s; locked in uvx-nix.lock``."""
    entry, lock = resolved.entry, resolved.lock
    implementation = {"cpython": "CPython", "pypy": "PyPy"}.get(entry.implementation,
                                                                entry.implementation)
    count = len(entry.libraries)
    what = f"{implementation} {entry.python_version}"
    if count:
        what += f" and {count} {'library' if count == 1 else 'libraries'}"
    source = statusline.describe_source(lock.nixpkgs_kind, lock.nixpkgs_url,
                                      resolved.nixpkgs_release)
    where = statusline.show_path(resolved.inputs.lock_path)
    if resolved.lock_written:
        return f"Resolved {what} from {source} in {seconds:.1f}s; locked in {where}"
    if resolved.lock_unsaved:
        return f"Resolved {what} from {source} in {seconds:.1f}s (not saved in {where})"
    return f"Fetched {what} from {source} in {seconds:.1f}s, as locked in {where}"
