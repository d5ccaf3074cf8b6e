"""uvx-nix's bootstrap ``sitecustomize``, reached through ``PYTHONPATH`` only while uv runs.

The venv's ``_uvx_nix_scope.pth`` hook keeps the injected native libraries out of the
children of a venv's Python, but a venv uv creates in this very call (the first ``uv run``
of a project), and the temporary environments of ``uv run --with``, scripts and tools, have
no hook.  This module covers them: it takes the injected entries out of ``LD_LIBRARY_PATH``
(the dynamic loader has read them already), gives ``PYTHONPATH`` back its earlier value,
removes itself from ``sys.path``, and hands over to the next ``sitecustomize`` (nixpkgs'
Pythons ship one).  Stdlib only; it never restarts the process.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _restore() -> None:
    env = os.environ
    injected = env.pop("UVX_NIX_INJECTED_LD_LIBRARY_PATH", None)
    if injected is not None:
        current = env.get("LD_LIBRARY_PATH", "")
        if current == injected:
            del env["LD_LIBRARY_PATH"]
        elif current.startswith(injected + ":"):
            env["LD_LIBRARY_PATH"] = current[len(injected) + 1 :]
    if env.pop("UVX_NIX_PYTHONPATH", None) is not None:
        kept = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != _HERE]
        if kept:
            env["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            env.pop("PYTHONPATH", None)


def _chain() -> None:
    """Run the next ``sitecustomize`` on sys.path, if any, and let it stand in for this one.

    The import system takes ``sys.modules["sitecustomize"]`` as the result once this module
    has run, so the next one is put there (this one stays when there is none)."""
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec

    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_restore()
_chain()
