"""Every file uvx-nix writes goes through here: atomically, and never through a symlink;
every file a repository controls is read through :func:`read_bounded`.

A project directory may come from a stranger's repository, so a temporary name there must
not be predictable (a committed symlink under that name would be written through): temp
files come from ``tempfile.mkstemp`` (random name, ``O_EXCL``), are written, synced, and
renamed over the target, which replaces a symlink rather than writing into it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from uvx_nix.errors import UserError, display_path


@contextlib.contextmanager
def temporary_beside(path: Path) -> Iterator[Path]:
    """A fresh, unpredictable temporary file in ``path``'s directory; removed unless renamed."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, never half."""
    with temporary_beside(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)


def create_new(path: Path, data: bytes) -> bool:
    """Create ``path`` only if nothing (not even a dangling symlink) is there; True if made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return True


def real_directory(path: Path) -> bool:
    """``path`` is a directory itself, not a symlink to one, and owned by this user."""
    try:
        st = os.lstat(path)
    except OSError:
        return False

    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()


KIB = 1024
MIB = 1024 * KIB


def inside(path: str | os.PathLike[str], directory: str | os.PathLike[str]) -> bool:
    """``path``, links resolved, is ``directory`` (links resolved) or below it."""
    real = os.path.realpath(path)
    base = os.path.realpath(directory)
    return os.path.commonpath([base, real]) == base


def read_bounded(path: Path, limit: int, *, within: Path | None, code: int = 70) -> bytes:
    """The bytes of a file a repository may control, or one line naming why not.

    Only a regular file (opened non-blocking, so a FIFO, a terminal or /proc/self/fd/N is
    refused instead of waited on), at most ``limit`` bytes, and, with ``within``, only when
    it resolves inside that directory (no link out of the project).  A missing file raises
    FileNotFoundError, as open() does."""

    if within is not None and not inside(path, within):
        raise UserError(f"{display_path(path)} leads outside {display_path(within)} (to "
                        f"{display_path(os.path.realpath(path))}); uvx-nix does not read it: "
                        "replace the link with a file", code)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UserError(f"cannot read {display_path(path)} ({exc.strerror}); fix or remove "
                        "it", code) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{display_path(path)} is not a regular file (a device, FIFO or "
                            "directory); replace it with a file or remove it", code)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(MIB, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UserError(f"{display_path(path)} is larger than {limit // KIB} KiB; uvx-nix "
                            "does not read it: fix or remove it", code)
        return b"".join(chunks)
    except OSError as exc:
        raise UserError(f"cannot read {display_path(path)} ({exc.strerror}); fix or remove "
                        "it", code) from exc
    finally:
        os.close(fd)


def open_regular(path: str | os.PathLike[str]) -> int | None:
    """A read-only descriptor of ``path`` if it is a regular file, opened without blocking;
    None otherwise (for scans, where such a file is skipped rather than refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None
