"""Every file uvx-nix writes goes through here: atomically, and never through a symlink.

A project directory may come from a stranger's repository, so a temporary name there must
not be predictable (a committed symlink under that name would be written through): temp
files come from ``tempfile.mkstemp`` (random name, ``O_EXCL``), are written, synced, and
renamed over the target, which replaces a symlink rather than writing into it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


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
    import stat

    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
