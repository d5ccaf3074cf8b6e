"""Installed by uvx-nix into a venv's site-packages as ``_uvx_nix_scope.py`` (with a
``_uvx_nix_scope.pth`` that imports it).  It keeps the native libraries uvx-nix provides
inside the Python processes of this venv:

* A Python started by uv through uvx-nix gets ``LD_LIBRARY_PATH`` with the libraries in
  front, plus ``UVX_NIX_INJECTED_LD_LIBRARY_PATH`` naming them.  The dynamic loader has
  read the variable by the time this runs, so this removes the injected entries from
  ``os.environ`` (restoring the original value, or unsetting it): children such as git,
  a shell or ``env`` do not inherit them.
* A Python of this venv started without them (a child of such a Python, or from a shell
  where direnv exported only ``UVX_NIX_LIBRARY_PATH``) starts itself again once with
  the libraries, same pid and arguments.  ``UVX_NIX_SCOPE=0`` turns this off.

It uses only ``os`` and ``sys`` and does nothing when neither variable is set.
"""

import os
import sys

_INJECTED = "UVX_NIX_INJECTED_LD_LIBRARY_PATH"
_LIBS = "UVX_NIX_LIBRARY_PATH"


def _scope() -> None:
    env = os.environ
    injected = env.get(_INJECTED)
    if injected is not None:
        del env[_INJECTED]
        current = env.get("LD_LIBRARY_PATH", "")
        if current == injected:
            del env["LD_LIBRARY_PATH"]
        elif current.startswith(injected + ":"):
            env["LD_LIBRARY_PATH"] = current[len(injected) + 1 :]
        return
    libs = env.get(_LIBS)
    if not libs or env.get("UVX_NIX_SCOPE") == "0":
        return
    current = env.get("LD_LIBRARY_PATH", "")
    if current == libs or current.startswith(libs + ":"):
        return
    argv = getattr(sys, "orig_argv", None)
    if not argv or not sys.executable:
        return
    child = dict(env)
    child["LD_LIBRARY_PATH"] = f"{libs}:{current}" if current else libs
    child[_INJECTED] = libs
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, argv, child)  # noqa: S606 - the same Python, again
    except OSError:
        pass


_scope()
