"""The hot cache: encode/decode, signatures, damaged files are misses, atomic saves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uvx_nix import state

_word = st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=30)


@given(_word, st.dictionaries(_word, _word, max_size=5),
       st.lists(st.tuples(_word, _word), max_size=5), st.lists(_word, max_size=5))
def test_encode_decode_round_trip(key: str, fields: dict[str, str],
                                  watched: list[tuple[str, str]], required: list[str]) -> None:
    data = state.encode(key, fields, watched, required)
    assert state.decode(data, key) == (fields, watched, required)


def test_decode_rejects_another_key_and_garbage() -> None:
    data = state.encode("k", {"a": "b"}, [], [])
    with pytest.raises(ValueError, match="not a state"):
        state.decode(data, "other")
    with pytest.raises(ValueError, match="unknown tag"):
        state.decode(data + b"\0bogus\0x", "k")


def test_signature_changes_on_write_and_replace(tmp_path: Path) -> None:
    f = tmp_path / "f"
    assert state.signature(str(f)) == "-"
    f.write_text("a")
    first = state.signature(str(f))
    assert first != "-"
    f.write_text("ab")
    second = state.signature(str(f))
    assert second != first
    other = tmp_path / "g"
    other.write_text("ab")
    os.replace(other, f)  # same content and size, new inode
    assert state.signature(str(f)) != second
    assert state.signature(str(f)) == state.signature(str(f))


def test_key_includes_only_relevant_variables() -> None:
    base = state.key(["v", "/cwd", None], {})
    assert state.key(["v", "/cwd", None], {"UNRELATED": "x"}) == base
    assert state.key(["v", "/cwd", None], {"UV_PYTHON": "3.12"}) != base
    assert state.key(["v", "/cwd", None], {"UVX_NIX_LIBRARIES": "zlib"}) != base
    assert state.filename(base) == state.filename(base)
    assert state.filename(base).endswith(".state")
    assert state.filename("a\udcff") != state.filename("b")  # surrogates do not crash


def _saved(tmp_path: Path, watched_file: Path, required: list[str]) -> str:
    path = str(tmp_path / "hot" / "x.state")
    data = state.encode("k", {"gcroot": str(tmp_path / "root"), "libs": "/l"},
                        [(str(watched_file), state.signature(str(watched_file)))], required)
    assert state.save(path, data)
    return path


def test_load_hit_and_misses(tmp_path: Path) -> None:
    watched = tmp_path / "pyproject.toml"
    watched.write_text("x")
    needed = tmp_path / "store-path"
    needed.mkdir()
    path = _saved(tmp_path, watched, [str(needed)])
    assert state.load(path, "k") == {"gcroot": str(tmp_path / "root"), "libs": "/l"}
    assert state.load(path, "other") is None
    watched.write_text("changed")
    assert state.load(path, "k") is None
    path = _saved(tmp_path, watched, [str(needed)])
    needed.rmdir()
    assert state.load(path, "k") is None
    assert state.load(str(tmp_path / "missing.state"), "k") is None


@pytest.mark.parametrize("damage", [
    b"", b"\0\0\0", b"uvx-nix-state-2\0key\0k\0field", b"uvx-nix-state-2\0key\0k\0watch\0only",
    b"\xff\xfe\xfd", b"uvx-nix-state-1\0key\0k", b"uvx-nix-state-2\0key\0k\0need",
])
def test_a_damaged_state_file_is_a_miss_not_an_error(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "x.state"
    path.write_bytes(damage)
    assert state.load(str(path), "k") is None


@given(st.binary(max_size=200))
def test_any_bytes_are_a_miss_or_a_hit(data: bytes) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        result = state.load(f.name, "k")
    assert result is None or isinstance(result, dict)


def test_a_state_path_that_is_a_directory_is_a_miss(tmp_path: Path) -> None:
    assert state.load(str(tmp_path), "k") is None


def test_save_is_atomic_and_failure_is_quiet(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "hot" / "x.state")
    assert state.save(path, b"one")
    assert state.save(path, b"two")
    assert Path(path).read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "hot").iterdir()) == ["x.state"]

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    assert state.save(path, b"three") is False
    assert Path(path).read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "hot").iterdir()) == ["x.state"]
    monkeypatch.undo()
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert state.save(str(blocked / "sub" / "x.state"), b"x") is False


def test_load_touches_an_old_gc_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.symlink_to("/nonexistent-target")
    old = 1_000_000_000
    os.utime(root, (old, old), follow_symlinks=False)
    watched = tmp_path / "w"
    watched.write_text("")
    path = _saved(tmp_path, watched, [])
    assert state.load(path, "k") is not None
    assert os.lstat(root).st_mtime > old


def test_a_nul_in_a_word_is_refused_and_duplicate_fields_are_a_miss() -> None:
    with pytest.raises(ValueError):
        state.encode("k", {"site": "a\0field\0python_bin\0evil"}, [], [])
    data = "\0".join([state.FORMAT, "key", "k", "field", "a", "1", "field", "a", "2"])
    with pytest.raises(ValueError):
        state.decode(data.encode(), "k")
