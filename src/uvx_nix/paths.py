"""Where uvx-nix keeps its files.  Stdlib only: the hot path needs the cache dir.

Every directory is computed from the environment the call was given (``environ``), the
XDG way platformdirs computes it on Linux (``$XDG_CACHE_HOME/uvx-nix`` or
``~/.cache/uvx-nix``): platformdirs reads only ``os.environ`` and costs an import on the hot
path, so it is not a run-time dependency; tests/test_paths.py checks the two agree.
"""

from __future__ import annotations

import os
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: pathlib pulls in re, fnmatch, urllib
    from collections.abc import Mapping
    from pathlib import Path

APP = "uvx-nix"


def _xdg(environ: Mapping[str, str], var: str, default: str) -> str:
    value = environ.get(var, "")
    if value and os.path.isabs(value):
        return value
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, default)


def cache_dir(environ: Mapping[str, str]) -> Path:
    from pathlib import Path  # noqa: PLC0415 - see the module docstring

    override = environ.get("UVX_NIX_CACHE_DIR")
    if override:
        return Path(override)
    return Path(_xdg(environ, "XDG_CACHE_HOME", ".cache"), APP)


def cache_dir_str(environ: Mapping[str, str]) -> str:
    override = environ.get("UVX_NIX_CACHE_DIR")
    return override or os.path.join(_xdg(environ, "XDG_CACHE_HOME", ".cache"), APP)


def direnv_cache_dir(environ: Mapping[str, str]) -> Path:
    """Where `use uvnix` caches environments (uvnix.sh: XDG_CACHE_HOME, not UVX_NIX_CACHE_DIR)."""
    from pathlib import Path  # noqa: PLC0415 - see the module docstring

    return Path(_xdg(environ, "XDG_CACHE_HOME", ".cache"), APP, "direnv")


def config_file(environ: Mapping[str, str]) -> Path:
    from pathlib import Path  # noqa: PLC0415 - see the module docstring

    override = environ.get("UVX_NIX_CONFIG")
    if override:
        return Path(override)
    return Path(_xdg(environ, "XDG_CONFIG_HOME", ".config"), APP, "config.toml")


def data_dir(environ: Mapping[str, str]) -> Path:
    from pathlib import Path  # noqa: PLC0415 - see the module docstring

    return Path(_xdg(environ, "XDG_DATA_HOME", ".local/share"), APP)


def global_python_version(environ: Mapping[str, str]) -> Path:
    """uv's global pin (``uv python pin --global``)."""
    from pathlib import Path  # noqa: PLC0415 - see the module docstring

    return Path(_xdg(environ, "XDG_CONFIG_HOME", ".config"), "uv", ".python-version")


def hashed_name(text: str, suffix: str) -> str:
    """A short file name for ``text``: 64 bits of crc32 + adler32 (no hashlib on the hot
    path). The hot state also keeps ``text`` inside the file, so a collision there is a miss."""
    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{suffix}"


def digest(data: str | bytes, length: int = 20) -> str:
    """A name for ``data`` that nothing else shares: the first ``length`` hex digits of its
    SHA-256 (text is hashed as UTF-8, non-UTF-8 bytes of paths kept)."""
    import hashlib  # noqa: PLC0415 - off the hot path: only the slow path names things so

    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:length]


def patched_file_str(environ: Mapping[str, str], lock_dir: str) -> str:
    """Where `nix doctor --fix` records the venv programs it patched for the project whose
    lock lives in ``lock_dir``.  In the user cache, never in the project: a cloned repository
    must not be able to name programs or a patchelf for uvx-nix to run."""
    return os.path.join(cache_dir_str(environ), "patched", hashed_name(lock_dir, ".json"))
