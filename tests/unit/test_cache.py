"""The hot cache: encode/decode, signatures, damaged files are misses, atomic saves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uvx_nix import cache

_word = st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=30)


@given(_word, st.dictionaries(st.sampled_from(sorted(cache.FIELDS)), _word, max_size=5),
       st.lists(st.tuples(_word, _word), max_size=5), st.lists(_word, max_size=5))
def test_encode_decode_round_trip(key: str, fields: dict[str, str],
                                  watched: list[tuple[str, str]], required: list[str]) -> None:
    data = cache.encode(key, fields, watched, required)
    assert cache.decode(data, key) == (fields, watched, required)


def test_decode_rejects_another_key_and_garbage() -> None:
    data = cache.encode("k", {"libs": "b"}, [], [])
    with pytest.raises(ValueError, match="not a state"):
        cache.decode(data, "other")
    with pytest.raises(ValueError, match="unknown tag"):
        cache.decode(data + b"\0bogus\0x", "k")


def test_signature_changes_on_write_and_replace(tmp_path: Path) -> None:
    f = tmp_path / "f"
    assert cache.signature(str(f)) == "-"
    f.write_text("a")
    first = cache.signature(str(f))
    assert first != "-"
    f.write_text("ab")
    second = cache.signature(str(f))
    assert second != first
    other = tmp_path / "g"
    other.write_text("ab")
    os.replace(other, f)  # same content and size, new inode
    assert cache.signature(str(f)) != second
    assert cache.signature(str(f)) == cache.signature(str(f))


def test_key_includes_only_relevant_variables() -> None:
    base = cache.key(["v", "/cwd", None], {})
    assert cache.key(["v", "/cwd", None], {"UNRELATED": "x"}) == base
    assert cache.key(["v", "/cwd", None], {"UV_PYTHON": "3.12"}) != base
    assert cache.key(["v", "/cwd", None], {"UVX_NIX_LIBRARIES": "zlib"}) != base
    assert cache.filename(base) == cache.filename(base)
    assert cache.filename(base).endswith(".state")
    assert cache.filename("a\udcff") != cache.filename("b")  # surrogates do not crash


def _saved(tmp_path: Path, watched_file: Path, required: list[str]) -> str:
    path = str(tmp_path / "hot" / "x.state")
    data = cache.encode("k", {"gcroot": str(tmp_path / "root"), "libs": "/l"},
                        [(str(watched_file), cache.signature(str(watched_file)))], required)
    assert cache.save(path, data)
    return path


def test_load_hit_and_misses(tmp_path: Path) -> None:
    watched = tmp_path / "pyproject.toml"
    watched.write_text("x")
    needed = tmp_path / "store-path"
    needed.mkdir()
    path = _saved(tmp_path, watched, [str(needed)])
    assert cache.load(path, "k") == {"gcroot": str(tmp_path / "root"), "libs": "/l"}
    assert cache.load(path, "other") is None
    watched.write_text("changed")
    assert cache.load(path, "k") is None
    path = _saved(tmp_path, watched, [str(needed)])
    needed.rmdir()
    assert cache.load(path, "k") is None
    assert cache.load(str(tmp_path / "missing.state"), "k") is None


@pytest.mark.parametrize("damage", [
    b"", b"\0\0\0", b"uvx-nix-state-2\0key\0k\0field", b"uvx-nix-state-2\0key\0k\0watch\0only",
    b"\xff\xfe\xfd", b"uvx-nix-state-1\0key\0k", b"uvx-nix-state-2\0key\0k\0need",
])
def test_a_damaged_state_file_is_a_miss_not_an_error(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "x.state"
    path.write_bytes(damage)
    assert cache.load(str(path), "k") is None


@given(st.binary(max_size=200))
def test_any_bytes_are_a_miss_or_a_hit(data: bytes) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        result = cache.load(f.name, "k")
    assert result is None or isinstance(result, dict)


def test_a_state_path_that_is_a_directory_is_a_miss(tmp_path: Path) -> None:
    assert cache.load(str(tmp_path), "k") is None


def test_save_is_atomic_and_failure_is_quiet(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "hot" / "x.state")
    assert cache.save(path, b"one")
    assert cache.save(path, b"two")
    assert Path(path).read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "hot").iterdir()) == ["x.state"]

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    assert cache.save(path, b"three") is False
    assert Path(path).read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "hot").iterdir()) == ["x.state"]
    monkeypatch.undo()
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert cache.save(str(blocked / "sub" / "x.state"), b"x") is False


def test_load_touches_an_old_gc_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.symlink_to("/nonexistent-target")
    old = 1_000_000_000
    os.utime(root, (old, old), follow_symlinks=False)
    watched = tmp_path / "w"
    watched.write_text("")
    path = _saved(tmp_path, watched, [])
    assert cache.load(path, "k") is not None
    assert os.lstat(root).st_mtime > old


def test_a_nul_in_a_word_is_refused_and_duplicate_fields_are_a_miss() -> None:
    with pytest.raises(ValueError):
        cache.encode("k", {"site": "a\0field\0python_bin\0evil"}, [], [])
    data = "\0".join([cache.FORMAT, "key", "k", "field", "a", "1", "field", "a", "2"])
    with pytest.raises(ValueError):
        cache.decode(data.encode(), "k")


def test_a_field_that_is_not_declared_is_refused() -> None:
    with pytest.raises(KeyError, match="undeclared cache fields: \\['typo'\\]"):
        cache.encode("k", {"libs": "x", "typo": "y"}, [], [])


def test_path_key_and_run_memo_live_in_the_hot_directory(tmp_path: Path) -> None:
    environ = {"UVX_NIX_CACHE_DIR": str(tmp_path)}
    assert cache.path("k", environ) == str(tmp_path / "hot" / cache.filename("k"))
    memo = cache.run_memo_path(environ, "/p", ["--with", "x"])
    assert os.path.dirname(memo) == str(tmp_path / "hot")
    assert memo.endswith(".env")
    assert memo != cache.run_memo_path(environ, "/p", ["--with", "y"])


def test_stdin_metadata_is_the_script_block() -> None:
    script = b"# /// script\n# requires-python = '>=3.12'\n# ///\nprint(1)\n"
    assert cache._stdin_metadata(script).startswith("# /// script\n# requires-python")
    assert "print" not in cache._stdin_metadata(script)
    assert cache._stdin_metadata(b"print(1)\n") == ""
    assert cache._stdin_metadata(None) == ""


def test_update_keeps_what_the_record_watches(tmp_path: Path) -> None:
    watched_file = tmp_path / "pyproject.toml"
    watched_file.write_text("x")
    path = str(tmp_path / "hot" / "r.state")
    assert cache.write(path, "k", {"libs": "/a"}, [(str(watched_file),
                                                    cache.signature(str(watched_file)))], [])
    assert cache.update(path, "k", {"libs": "/a:/b", "dists": "numpy"})
    assert cache.load(path, "k") == {"libs": "/a:/b", "dists": "numpy"}
    watched_file.write_text("changed")
    assert cache.load(path, "k") is None  # still watched after the update
    assert not cache.update(str(tmp_path / "missing.state"), "k", {"libs": ""})
    assert not cache.write(path, "k", {"libs": "a\0b"}, [], [])  # not memoisable


def test_drop_removes_only_the_records_of_the_given_owners(tmp_path: Path) -> None:
    environ = {"UVX_NIX_CACHE_DIR": str(tmp_path)}
    for key, owner in (("a", {"root": "/p"}), ("b", {"lock_dir": "/p"}), ("c", {"root": "/q"})):
        assert cache.write(cache.path(key, environ), key, owner, [], [])
    Path(cache.directory(environ), "damaged.state").write_bytes(b"junk")
    assert cache.drop(environ, {"/p"}) == 2
    assert sorted(os.listdir(cache.directory(environ))) == sorted(
        [cache.filename("c"), "damaged.state"])
    cache.clear(environ)
    assert not os.path.exists(cache.directory(environ))
    assert cache.drop(environ, {"/q"}) == 0
