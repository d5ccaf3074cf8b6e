"""Installed by uvx-nix into an environment's site-packages as ``_uvx_nix_scope.py``; the
environment's ``_uvx_nix_scope.pth`` runs ``install(<its locked library dirs>, <auto>)``.

The native libraries travel with the environment, not with the call: however its Python
starts (``env -i``, activated, a console script's shebang, an IDE, a Jupyter kernel, cron),
``site`` reads the ``.pth`` and this hook serves what manylinux wheels need from the locked
nixpkgs library directories.  Nothing is put in ``os.environ``: a child that is not one of
the environment's Pythons (a shell, git, ``env``) sees exactly the caller's variables.

How: the dynamic loader satisfies a ``DT_NEEDED`` soname that is already loaded without
searching for it.  So when the load of an extension module (or a ``ctypes`` library) fails
with ``<soname>: cannot open shared object file``, the hook loads that soname by its full
path from the library directories and tries again; until then it costs nothing but this
module's import.  ``ctypes`` is patched when it is first imported (``CDLL``/``find_library``
then also find the libraries by name).  A soname the locked set lacks gets the nixpkgs
attribute that provides it and the command that adds it appended to the error, and is
recorded in ``_uvx_nix_missing.txt`` beside this file, where uvx-nix's automatic mode
picks it up on its next run.  Stdlib only; ``os`` and ``sys`` only at start-up.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # nothing more is imported at start-up
    from collections.abc import Callable, Sequence
    from typing import Any

DRIVER = "/run/opengl-driver/lib"
_FAILED = ": cannot open shared object file"
_FIX = "uvx-nix nix doctor --fix"
_DIRS: list[str] = []
_HANDLES: list[object] = []  # keep what was preloaded loaded
_AUTO = [False]
_PROJECT = [True]
_CONFIG = "~/.config/uvx-nix/config.toml"
_HERE = os.path.dirname(os.path.abspath(__file__))


def missing_soname(message: object) -> str | None:
    """``libstdc++.so.6`` from ``libstdc++.so.6: cannot open shared object file: ...``."""
    head, found, _ = str(message).partition(_FAILED)
    if not found:
        return None
    name = head.rsplit(" ", 1)[-1].rsplit(": ", 1)[-1]
    return name if name and "/" not in name else None


def find(soname: str) -> str | None:
    """The full path of ``soname`` in the environment's library directories (or the GPU
    driver's), or None."""
    for directory in _DIRS:
        path = directory + "/" + soname
        if os.path.exists(path):
            return path
    return None


def _preload(path: str) -> None:
    import _ctypes  # noqa: PLC0415 - see the module docstring

    _HANDLES.append(_ctypes.dlopen(path, os.RTLD_NOW | os.RTLD_GLOBAL))


def _attribute(soname: str) -> str | None:
    try:
        import _uvx_nix_sonames as table  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError:
        return None
    found = table.lookup(soname)
    return None if found == table.DRIVER else str(found) if found else None


def _record(soname: str) -> None:
    """Remember the miss for uvx-nix (automatic mode, ``nix doctor --fix``): one line in
    ``_uvx_nix_missing.txt``, replaced atomically so the directory's mtime tells uvx-nix."""
    target = os.path.join(_HERE, "_uvx_nix_missing.txt")
    try:
        with open(target, encoding="utf-8") as f:
            known = f.read().split()
    except OSError:
        known = []
    if soname in known:
        return
    temp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(temp, "w", encoding="utf-8") as f:
            f.write("".join(n + "\n" for n in [*known, soname]))
        os.replace(temp, target)
    except OSError:
        import contextlib  # only on this failure path: it costs imports at start-up  # noqa: PLC0415

        with contextlib.suppress(OSError):
            os.unlink(temp)


def explain(soname: str) -> str:
    """What to append to the loader's error: the attribute and the one command."""
    attribute = _attribute(soname)
    if soname.startswith(("libcuda.", "libnvidia-")):
        return (f" (uvx-nix: {soname} comes with the NVIDIA driver at {DRIVER}; enable the "
                "driver, hardware.graphics, on NixOS)")
    if attribute is None:
        return (f" (uvx-nix: no known nixpkgs attribute provides {soname}; add the one that "
                "does to [tool.uvx-nix] libraries)")
    _record(soname)
    if not _PROJECT[0]:
        return (f" (uvx-nix: nixpkgs' \"{attribute}\" provides it; add it to `libraries` in "
                f"{_CONFIG} (or UVX_NIX_LIBRARIES), then run `uvx-nix tool upgrade --all`)")
    if _AUTO[0]:
        return (f" (uvx-nix: nixpkgs' \"{attribute}\" provides it; uvx-nix adds it to "
                f"[tool.uvx-nix] libraries on its next run here, or run `{_FIX}` now)")
    return (f" (uvx-nix: nixpkgs' \"{attribute}\" provides it; run `{_FIX}` to add it to "
            "[tool.uvx-nix] libraries)")


def _retrying(load: "Callable[..., Any]", is_error: "Callable[[BaseException], bool]",
              rename: bool) -> "Callable[..., Any]":
    """Call ``load(name)`` and, each time it fails on a soname the directories have, preload
    that soname by full path and try again."""

    def wrapper(name: "Any", *args: "Any") -> "Any":
        tried: set[str] = set()
        while True:
            try:
                return load(name, *args)
            except Exception as exc:
                if not is_error(exc):
                    raise
                soname = missing_soname(exc)
                if soname is None:
                    raise
                path = None if soname in tried else find(soname)
                if path is None:
                    if soname not in tried:
                        hint = explain(soname)
                        exc.args = (str(exc.args[0] if exc.args else exc) + hint,
                                    *exc.args[1:])
                        if isinstance(exc, ImportError):
                            exc.msg = exc.args[0]
                    raise
                tried.add(soname)
                if rename and name == soname:
                    name = path
                else:
                    try:
                        _preload(path)
                    except OSError:
                        raise exc from None

    return wrapper


def _patch_ctypes(module: "Any") -> None:
    module._dlopen = _retrying(module._dlopen, lambda e: isinstance(e, OSError), True)


def _patch_util(module: "Any") -> None:
    original = module.find_library

    def find_library(name: object) -> str | None:
        found: str | None = original(name)
        if found or not isinstance(name, str) or "/" in name:
            return found
        prefix = f"lib{name}.so"
        for directory in _DIRS:
            try:
                names = sorted(n for n in os.listdir(directory)
                               if n == prefix or n.startswith(prefix + "."))
            except OSError:
                continue
            # The soname's file (libz.so.1), as find_library names it on other systems; the
            # development link (libz.so) only where nothing else is there.
            versioned = [n for n in names if n != prefix]
            if versioned:
                return directory + "/" + min(versioned, key=lambda n: (n.count("."), len(n)))
            if names:
                return directory + "/" + names[0]
        return None

    module.find_library = find_library


_PATCHES: "dict[str, Callable[[Any], None]]" = {"ctypes": _patch_ctypes, "ctypes.util": _patch_util}


class _Finder:
    """Patches ``ctypes`` and ``ctypes.util`` as they are imported, then steps aside."""

    @staticmethod
    def find_spec(name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        patch = _PATCHES.get(name)
        if patch is None:
            return None
        from importlib.machinery import PathFinder  # noqa: PLC0415 - see the module docstring

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: "Any") -> None:
            run(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        del _PATCHES[name]
        if not _PATCHES and _Finder in sys.meta_path:
            sys.meta_path.remove(_Finder)
        return spec


def install(dirs: "Sequence[str]", auto: bool = False, project: bool = True) -> None:
    """Called by the environment's ``.pth`` with its locked library directories."""
    if _DIRS:
        return  # a second .pth (an overlay of this environment) changes nothing
    _DIRS[:] = [*dirs, DRIVER]
    _AUTO[0] = bool(auto)
    _PROJECT[0] = bool(project)
    loader = sys.modules["_frozen_importlib_external"].ExtensionFileLoader
    loader.create_module = _retrying(loader.create_module,
                                     lambda e: isinstance(e, ImportError), False)
    for name in list(_PATCHES):
        if name in sys.modules:
            _PATCHES.pop(name)(sys.modules[name])
    if _PATCHES:
        sys.meta_path.insert(0, _Finder)
