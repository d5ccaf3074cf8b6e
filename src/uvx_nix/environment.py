"""The environment uv runs in: ``build(fields, environ) -> dict``.  Stdlib only.

``fields`` are what a resolution decided (see :mod:`uvx_nix.resolve.resolution`):
``python_bin`` (the interpreter's store ``bin`` directory), ``libs`` (library
directories joined by ``:``) and ``strategy``.  The caller's environment is
never modified; a new dict is returned.

The native libraries are not in it: they travel with each environment (recorded in its
``_uvx_nix_scope.pth`` by :mod:`uvx_nix.prepare.venv`), so ``LD_LIBRARY_PATH`` and ``PYTHONPATH``
reach uv and everything it starts as you set them (only ``/nix/store`` entries of
``PYTHONPATH`` and ``NIX_PYTHONPATH``, which outer Nix shells leak, are dropped).  With the
nix-ld strategy the libraries go to ``NIX_LD_LIBRARY_PATH``, which only nix-ld reads.

Why ``UV_PYTHON_SEARCH_PATH`` and not ``UV_PYTHON``: a search path only tells
uv *where* to look, so ``--python``, ``.python-version`` and ``requires-python``
keep steering, ``uv pip install`` in an activated venv still targets the venv
(``UV_PYTHON`` would make it target the read-only store interpreter), and a
venv records the store ``bin`` directory as its ``home``, which stays valid
while the project's GC root holds it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: this is the hot path
    from collections.abc import Mapping


STORE_PREFIX = "/nix/store/"
# Set beside UV_PYTHON_PREFERENCE when uvx-nix put it there (not you), so a nested call that
# asks for a preference of its own (``--managed-python``) can take it back out.
PREFERENCE_MARKER = "UVX_NIX_PYTHON_PREFERENCE"
# What clap's BoolishValueParser reads as true (uv's UV_MANAGED_PYTHON, UV_NO_MANAGED_PYTHON).
_TRUE = frozenset({"1", "true", "yes", "y", "on", "t"})


def _boolish(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def preference_given(fields: Mapping[str, str], environ: Mapping[str, str],
                     flag: bool = False) -> bool:
    """You chose how uv picks interpreters: a flag (``--managed-python``,
    ``--no-managed-python``, ``--python-preference``), ``UV_PYTHON_PREFERENCE``,
    ``UV_MANAGED_PYTHON``/``UV_NO_MANAGED_PYTHON`` set to true, or ``python-preference`` in
    a uv config file.  uv refuses ``UV_PYTHON_PREFERENCE`` beside the managed-python ones
    (a usage error), and a variable would override your config, so uvx-nix then sets none."""
    return (flag or fields.get("preference") == "config"
            or "UV_PYTHON_PREFERENCE" in environ
            or _boolish(environ.get("UV_MANAGED_PYTHON"))
            or _boolish(environ.get("UV_NO_MANAGED_PYTHON")))


def _scrub_pythonpath(env: dict[str, str]) -> None:
    """Drop what outer Nix shells leak: NIX_PYTHONPATH and store entries of PYTHONPATH."""
    env.pop("NIX_PYTHONPATH", None)
    value = env.get("PYTHONPATH")
    if value is None:
        return
    kept = [p for p in value.split(":")
            if p and not p.startswith(STORE_PREFIX)]
    if kept:
        env["PYTHONPATH"] = ":".join(kept)
    else:
        del env["PYTHONPATH"]


def _prepend(env: dict[str, str], name: str, value: str) -> None:
    old = env.get(name)
    env[name] = f"{value}:{old}" if old else value


def build(fields: Mapping[str, str], environ: Mapping[str, str],
          preference_flag: bool = False) -> dict[str, str]:
    env = dict(environ)
    _scrub_pythonpath(env)
    ours = env.pop(PREFERENCE_MARKER, None)
    if ours is not None and env.get("UV_PYTHON_PREFERENCE") == ours:
        del env["UV_PYTHON_PREFERENCE"]  # an outer uvx-nix set it: decide again here
    libs = fields.get("libs", "")
    if fields.get("strategy") == "nix-ld":
        # uv's own managed Pythons run through nix-ld; it reads NIX_LD_LIBRARY_PATH.
        if libs:
            _prepend(env, "NIX_LD_LIBRARY_PATH", libs)
        return env
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    if not preference_given(fields, env, preference_flag):
        env["UV_PYTHON_PREFERENCE"] = env[PREFERENCE_MARKER] = "only-system"
    python_bin = fields.get("python_bin")
    if python_bin:
        _prepend(env, "UV_PYTHON_SEARCH_PATH", python_bin)
    return env
