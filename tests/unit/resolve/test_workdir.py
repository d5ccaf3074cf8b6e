"""The work directory beside the lock: made safe against what a cloned repository committed,
its GC roots, and this machine's marks of verified locks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uvx_nix.errors import EXIT_CONFIG, UserError
from uvx_nix.resolve import lockfile, workdir


def test_work_dir_is_made_and_ignored_by_git(tmp_path: Path) -> None:
    made = workdir.work_dir(tmp_path)
    assert made == tmp_path / ".uvx-nix"
    assert (made / "gcroots").is_dir()
    assert (made / ".gitignore").read_text().splitlines()[-1] == "*"
    assert workdir.gcroot(tmp_path, "x86_64-linux") == made / "gcroots" / "x86_64-linux"
    assert workdir.roots_dir(tmp_path) == made / "gcroots"


def test_a_committed_symlink_is_refused_and_a_committed_lock_link_removed(
        tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    (project / ".uvx-nix").symlink_to(elsewhere)
    with pytest.raises(UserError) as err:
        workdir.work_dir(project)
    assert err.value.exit_code == EXIT_CONFIG
    assert "is a symlink" in err.value.message
    assert list(elsewhere.iterdir()) == []  # nothing was written through the link
    other = tmp_path / "other"
    (other / ".uvx-nix").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (other / ".uvx-nix" / "lock").symlink_to(victim)
    workdir.work_dir(other)
    assert not os.path.lexists(other / ".uvx-nix" / "lock")
    assert victim.read_text() == "keep me"


def test_verified_marks_are_per_place_and_per_bytes(tmp_path: Path) -> None:
    environ = {"UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}
    workdir.mark_verified(environ, tmp_path / "a", b"lock")
    assert workdir.verified_marker(environ, tmp_path / "a", b"lock").exists()
    assert not workdir.verified_marker(environ, tmp_path / "b", b"lock").exists()
    assert not workdir.verified_marker(environ, tmp_path / "a", b"other").exists()


def test_a_refused_build_puts_the_previous_root_back(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.symlink_to("/nix/store/old")
    before = workdir.link_target(root)
    root.unlink()
    root.symlink_to("/nix/store/new")
    workdir.restore_root(root, before)
    assert os.readlink(root) == "/nix/store/old"
    workdir.restore_root(root, None)
    assert not os.path.lexists(root)
    assert workdir.link_target(root) is None


def test_a_root_counts_only_when_nix_made_it_and_it_holds_the_locked_paths(
        tmp_path: Path) -> None:
    entry = lockfile.SystemEntry("python312", "3.12.1", "cpython", "/nix/store/p-python3",
                                 "/nix/store/p-python3/bin/python3.12",
                                 (lockfile.Library("zlib", "/nix/store/z-zlib"),))
    target = tmp_path / "env"
    target.mkdir()
    (target / "manifest.nix").write_text("/nix/store/p-python3 /nix/store/z-zlib")
    root = tmp_path / "gcroot"
    root.symlink_to(target)
    assert not workdir.gcroot_points(root, entry)  # not a store path: never read through it
    assert not workdir.gcroot_points(tmp_path / "missing", entry)


def test_same_file_compares_the_bytes(tmp_path: Path) -> None:
    lock = tmp_path / "uvx-nix.lock"
    lock.write_bytes(b"abc")
    assert workdir.same_file(lock, b"abc")
    assert not workdir.same_file(lock, b"abd")
    assert not workdir.same_file(tmp_path / "nope", b"abc")
