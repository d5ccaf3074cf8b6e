"""The hot cache: what one earlier resolution decided, and the files it depended on.

This module owns the cache record: its key, its path, its declared fields, and every read,
write, update and removal of it (the compiled launcher reads the same format; see
``launcher/launcher.c``).

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
    from collections.abc import Iterable, Mapping, Sequence

    from uvx_nix.argv import Invocation

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
# The fields of a record.  Written on a miss (resolution), updated after uv changed a venv;
# read by the hot path, the launcher, and `uvx-nix nix status`/`deny`.
FIELDS = frozenset({
    "python_bin",   # the interpreter's bin directory (uv's search path; `home` of the venv)
    "interpreter",  # the locked interpreter
    "libs",         # the locked libraries' lib directories, ':'-joined
    "strategy",     # scope or nix-ld
    "gcroot",       # the GC root of the resolution (touched on a hit)
    "lockfile",     # uvx-nix.lock beside the project
    "site",         # the project's venv's site-packages ("" outside a project)
    "site_sig",     # its signature when last prepared
    "auto",         # "1" in automatic mode
    "root",         # the project's root ("" outside a project)
    "lock_dir",     # the directory of the lock
    "preference",   # "config" when a configured interpreter outranks uv's own choice
    "build_hook",   # the build toolchain's hook directory ("" when none)
    "hook_libs",    # the libraries the venv's hook carries
    "synced",       # uv.lock and pyproject.toml as uv last synced the venv from them
    "dists",        # the distributions seen in the venv, '/'-joined
})


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


def key_for(inv: Invocation, stdin: bytes | None = None, uv: str = "") -> str:
    """The record's key for this request (the start directory, --python, a script, and the
    flags and variables that change what uv is asked)."""
    from uvx_nix import __version__  # noqa: PLC0415 - off the hot path: only the slow path needs it

    cwd = os.getcwd()
    script = None
    if inv.script == "-":
        script = "stdin:" + _stdin_metadata(stdin)
    elif inv.script:
        script = os.path.abspath(os.path.join(cwd, inv.directory or "", inv.script))
    parts = [__version__, cwd, inv.directory, inv.project, inv.python, script, inv.scope,
             "no-config" if inv.no_config else "", inv.config_file,
             # another uv, or the same one upgraded in place: its version is checked again
             f"{uv}:{signature(uv)}" if uv else ""]
    return key(parts, os.environ)


def _stdin_metadata(stdin: bytes | None) -> str:
    """The PEP 723 block of a script read from stdin (what decides its interpreter)."""
    if not stdin:
        return ""
    text = stdin.decode("utf-8", "replace")
    begin = text.find("# /// script")
    if begin < 0:
        return ""
    end = text.find("\n# ///", begin + 1)
    return text[begin:end if end >= 0 else len(text)]


def filename(state_key: str) -> str:
    return paths.hashed_name(state_key, ".state")


def directory(environ: Mapping[str, str]) -> str:
    return os.path.join(paths.cache_dir_str(environ), "hot")


def path(state_key: str, environ: Mapping[str, str]) -> str:
    """Where the record of ``state_key`` lives."""
    return os.path.join(directory(environ), filename(state_key))


def run_memo_path(environ: Mapping[str, str], cwd: str, options: Sequence[str]) -> str:
    """Where ``uv run``/``uv tool run`` with these options remembers the environments it
    found prepared (read by the hot path, written after a run's probe)."""
    return os.path.join(directory(environ), paths.hashed_name("\0".join((cwd, *options)), ".env"))


def encode(state_key: str, fields: Mapping[str, str], watched: Iterable[tuple[str, str]],
           required: Iterable[str]) -> bytes:
    """Serialise as NUL-separated words (no parser needed to read it back).

    Raises ValueError when a word holds a NUL: it would be read back as several words."""
    words = [FORMAT, "key", state_key]
    undeclared = set(fields) - FIELDS
    if undeclared:
        raise KeyError(f"undeclared cache fields: {sorted(undeclared)}")
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


def write(record_path: str, state_key: str, fields: Mapping[str, str],
          watched: Iterable[tuple[str, str]], required: Iterable[str]) -> bool:
    """Save a record; False when it cannot be (an odd path with a NUL in it is not memoised,
    or the cache is not writable): every later call then takes the slow path."""
    try:
        data = encode(state_key, fields, watched, required)
    except ValueError:
        return False
    return save(record_path, data)


def update(record_path: str, state_key: str, fields: Mapping[str, str]) -> bool:
    """Replace a record's fields, keeping what it watches and needs (after uv changed a venv)."""
    try:
        with open(record_path, "rb") as f:
            _, watched, required = decode(f.read(), state_key)
    except (OSError, ValueError, IndexError, UnicodeError):
        return False
    return write(record_path, state_key, fields, watched, required)


def drop(environ: Mapping[str, str], owners: Iterable[str]) -> int:
    """Remove the records of these project roots or lock directories; how many went."""
    mine = set(owners)
    dropped = 0
    try:
        names = os.listdir(directory(environ))
    except OSError:
        return 0
    for name in names:
        if not name.endswith(".state"):
            continue
        record = os.path.join(directory(environ), name)
        try:
            with open(record, "rb") as f:
                data = f.read()
            words = data.decode("utf-8", "surrogateescape").split("\0", 3)
            fields, _, _ = decode(data, words[2] if len(words) > 2 else "")
        except (OSError, ValueError, IndexError, UnicodeError):
            continue
        if fields.get("root") in mine or fields.get("lock_dir") in mine:
            try:
                os.unlink(record)
            except OSError:
                continue
            dropped += 1
    return dropped


def clear(environ: Mapping[str, str]) -> None:
    """Forget every record and memo (the next call of every project takes the slow path)."""
    import shutil  # noqa: PLC0415 - off the hot path: only the slow path needs it

    shutil.rmtree(directory(environ), ignore_errors=True)
