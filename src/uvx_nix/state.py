"""The hot cache: what one earlier resolution decided, and the files it depended on.

A state file sits in the user cache dir under a name derived from the request
(start directory, ``--python``, script, relevant variables).  It records the
stat signature of every file the resolution read (and of the files whose
absence it relied on), the lockfile's signature, the store paths that must
exist, and the fields the environment is built from.  A hit costs a few
``stat`` calls and one small read: no TOML, no JSON, no hashing library.
The lockfile stays the source of truth; a state file is only a memo of it.
"""

from __future__ import annotations

import os
import time

from uvx_nix import paths

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: this is the hot path
    from collections.abc import Iterable, Mapping

FORMAT = "uvx-nix-state-2"
# Variables that change what a request resolves to; part of the state key.
KEY_VARIABLES = (
    "UV_PYTHON",
    "UV_PROJECT",
    "UV_WORKING_DIR",
    "UV_PROJECT_ENVIRONMENT",
    "UV_NO_CONFIG",
    "UV_CONFIG_FILE",
    "UV_PYTHON_PREFERENCE",
    "UV_MANAGED_PYTHON",
    "UV_NO_MANAGED_PYTHON",
    "XDG_CONFIG_DIRS",
    "HOME",
    "UVX_NIX_NIXPKGS",
    "UVX_NIX_TRUST",  # a trusted run grants nothing lasting: its memo is not a later one's
    "UVX_NIX_LIBRARIES",
    "UVX_NIX_DEFAULT_LIBRARIES",
    "UVX_NIX_STRATEGY",
    "UVX_NIX_AUTO_LIBRARIES",
    "UVX_NIX_ALLOW_UNFREE",
    "UVX_NIX_BUILD_LIBRARIES",
    "UVX_NIX_AUTO_BUILD_LIBRARIES",
    "UVX_NIX_CONFIG",
    "XDG_CONFIG_HOME",
    "NIX_PATH",
)
TOUCH_AFTER_SECONDS = 86400


def signature(path: str) -> str:
    """What a file looks like now: changes on any write, rename or replace."""
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_size}:{st.st_ino}"


def synced(root: str) -> str:
    """What a project's venv is synced from, as ``uv run`` sees it: the signatures of
    ``uv.lock`` and ``pyproject.toml`` in ``root`` (uv syncs the venv when they change)."""
    return (f"{signature(os.path.join(root, 'uv.lock'))}|"
            f"{signature(os.path.join(root, 'pyproject.toml'))}")


def key(parts: Iterable[str | None], environ: Mapping[str, str]) -> str:
    items = ["" if p is None else p for p in parts]
    items += [f"{v}={environ.get(v, '')}" for v in KEY_VARIABLES if v in environ]
    return "\x1f".join(items)


def filename(state_key: str) -> str:
    return paths.hashed_name(state_key, ".state")


def encode(state_key: str, fields: Mapping[str, str], watched: Iterable[tuple[str, str]],
           required: Iterable[str]) -> bytes:
    """Serialise as NUL-separated words (no parser needed to read it back).

    Raises ValueError when a word holds a NUL: it would be read back as several words."""
    words = [FORMAT, "key", state_key]
    for name, value in fields.items():
        words += ["field", name, value]
    for path, sig in watched:
        words += ["watch", path, sig]
    for path in required:
        words += ["need", path]
    if any("\0" in word for word in words[2:]):
        raise ValueError("a state word holds a NUL")
    return "\0".join(words).encode("utf-8", "surrogateescape")


def decode(data: bytes, state_key: str) -> tuple[dict[str, str], list[tuple[str, str]], list[str]]:
    words = data.decode("utf-8", "surrogateescape").split("\0")
    if len(words) < 3 or words[0] != FORMAT or words[1] != "key" or words[2] != state_key:
        raise ValueError("not a state for this key")
    fields: dict[str, str] = {}
    watched: list[tuple[str, str]] = []
    required: list[str] = []
    i = 3
    while i < len(words):
        tag = words[i]
        if tag == "field":
            if words[i + 1] in fields:
                raise ValueError(f"field {words[i + 1]!r} twice")
            fields[words[i + 1]] = words[i + 2]
            i += 3
        elif tag == "watch":
            watched.append((words[i + 1], words[i + 2]))
            i += 3
        elif tag == "need":
            required.append(words[i + 1])
            i += 2
        else:
            raise ValueError(f"unknown tag {tag!r}")
    return fields, watched, required


def load(path: str, state_key: str) -> dict[str, str] | None:
    """The fields of a still-valid state, or None (missing, stale, or damaged)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        fields, watched, required = decode(data, state_key)
    except (OSError, ValueError, IndexError, UnicodeError):
        return None
    for watched_path, sig in watched:
        if signature(watched_path) != sig:
            return None
    for store_path in required:
        if not os.path.exists(store_path):
            return None
    root = fields.get("gcroot")
    if root:
        _touch(root)
    return fields


def _touch(link: str) -> None:
    """Keep the GC root fresh for time-based cleaners (nix-direnv#669)."""
    try:
        st = os.lstat(link)
        if time.time() - st.st_mtime > TOUCH_AFTER_SECONDS:
            os.utime(link, follow_symlinks=False)
    except OSError:
        pass


def save(path: str, data: bytes) -> bool:
    """Write atomically; a failure only costs the next call a slow path."""
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:  # noqa: SIM105 - contextlib is not imported on the hot path
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
