"""files: atomic writes that never follow a planted symlink."""

from __future__ import annotations

from pathlib import Path

from uvx_nix import files


def test_write_atomic_replaces_a_symlink_instead_of_writing_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    target = tmp_path / "target"
    target.symlink_to(victim)
    files.write_atomic(target, b"new", 0o600)
    assert victim.read_text() == "keep"
    assert not target.is_symlink()
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target", "victim"]


def test_temporary_beside_is_removed_unless_renamed(tmp_path: Path) -> None:
    with files.temporary_beside(tmp_path / "x") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.exists()
    assert list(tmp_path.iterdir()) == []


def test_create_new_never_follows_a_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    assert files.create_new(link, b"x") is False
    assert not (tmp_path / "elsewhere").exists()
    assert files.create_new(tmp_path / "fresh", b"x") is True
    assert files.create_new(tmp_path / "fresh", b"y") is False
    assert (tmp_path / "fresh").read_bytes() == b"x"


def test_real_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "l").symlink_to(tmp_path / "d")
    assert files.real_directory(tmp_path / "d")
    assert not files.real_directory(tmp_path / "l")
    assert not files.real_directory(tmp_path / "missing")


def test_read_bounded_refuses_what_a_repository_could_plant(tmp_path: Path) -> None:
    """Only regular files, opened without blocking, inside the directory, within the size."""
    import os

    import pytest

    from uvx_nix.errors import UserError

    project = tmp_path / "project"
    project.mkdir()
    good = project / "ok"
    good.write_bytes(b"x" * 10)
    assert files.read_bounded(good, 10, within=project) == b"x" * 10
    with pytest.raises(UserError, match="larger than"):
        files.read_bounded(good, 9, within=project)
    os.mkfifo(project / "fifo")
    (project / "zero").symlink_to("/dev/zero")
    for name in ("fifo", "zero"):
        with pytest.raises(UserError, match="not a regular file") as info:
            files.read_bounded(project / name, 10, within=None, code=74)
        assert info.value.exit_code == 74
    secret = tmp_path / "secret"
    secret.write_text("token")
    (project / "link").symlink_to(secret)
    with pytest.raises(UserError, match="leads outside"):
        files.read_bounded(project / "link", 10, within=project)
    assert files.read_bounded(project / "link", 10, within=None) == b"token"
    with pytest.raises(FileNotFoundError):
        files.read_bounded(project / "missing", 10, within=project)
    assert files.open_regular(project / "fifo") is None
