"""The lockfile reader: never crashes on any input, round-trips, and renders deterministically."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uvx_nix.errors import EXIT_LOCKFILE, UserError
from uvx_nix.resolve import lockfile

PATH = Path("/project/uvx-nix.lock")
PY = "/nix/store/" + "a" * 32 + "-python3-3.12.1"
ZLIB = "/nix/store/" + "b" * 32 + "-zlib"
GCC = "/nix/store/" + "c" * 32 + "-gcc-12.2.0-lib"


def _lock(**systems: lockfile.SystemEntry) -> lockfile.Lock:
    entry = lockfile.SystemEntry(
        python_attribute="python312", python_version="3.12.1", implementation="cpython",
        python=PY, interpreter=f"{PY}/bin/python3.12",
        libraries=(lockfile.Library("stdenv.cc.cc.lib", GCC), lockfile.Library("zlib", ZLIB)),
    )
    return lockfile.Lock(
        fingerprint="sha256:" + "0" * 64,
        inputs={"fingerprint": "sha256:" + "0" * 64, "python": "3.12", "libraries": ["zlib"],
                "strategy": "interpreter", "nixpkgs": "flake:nixpkgs"},
        nixpkgs_url="path:/nix/store/" + "d" * 32 + "-source?narHash=sha256-x",
        nixpkgs_kind="flake",
        systems=systems or {"x86_64-linux": entry},
    )


VALID = lockfile.render(_lock())


def _parse_or_user_error(text: str) -> None:
    error: UserError | None = None
    try:
        lockfile.parse(text, PATH)
    except UserError as exc:
        error = exc
    if error is not None:
        assert error.exit_code == EXIT_LOCKFILE, error
        assert "\n" not in error.message, error.message
        assert str(PATH) in error.message


def test_round_trip_and_determinism() -> None:
    lock = _lock()
    text = lockfile.render(lock)
    assert lockfile.parse(text, PATH) == lock
    assert lockfile.render(lockfile.parse(text, PATH)) == text
    assert lockfile.render(lock) == text


def test_key_order_is_stable_whatever_the_insertion_order() -> None:
    lock = _lock()
    shuffled = lockfile.Lock(lock.fingerprint, dict(reversed(list(lock.inputs.items()))),
                             lock.nixpkgs_url, lock.nixpkgs_kind, lock.systems)
    assert lockfile.render(shuffled) == lockfile.render(lock)
    other = lockfile.SystemEntry("python311", "3.11.7", "cpython", PY, f"{PY}/bin/python3.11")
    a = _lock(**{"x86_64-linux": lock.systems["x86_64-linux"], "aarch64-linux": other})
    b = _lock(**{"aarch64-linux": other, "x86_64-linux": lock.systems["x86_64-linux"]})
    assert lockfile.render(a) == lockfile.render(b)
    assert lockfile.render(a).index("aarch64-linux") < lockfile.render(a).index("x86_64-linux")


_attr = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}\Z")
_store = st.from_regex(r"\A[0-9a-df-np-sv-z]{32}-[a-z0-9.+_-]{1,20}\Z").map(
    lambda s: "/nix/store/" + s)
# What a valid lock holds: printable text in [inputs], a source uvx-nix could have written.
_text = st.text(st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp",
                                                  "Zs"], include_characters=" "), max_size=40)
_sources = st.one_of(
    st.tuples(st.just("flake"), st.from_regex(
        r"\A(github:[a-z]{1,8}/[a-z]{1,8}(/[0-9a-f]{40})?|path:/[a-z]{1,8}(/[a-z0-9]{1,8})?)\Z")),
    st.tuples(st.just("path"), st.from_regex(r"\A/[a-z]{1,8}(/[a-z0-9 ]{1,8}[a-z])?\Z")),
    st.just(("channel", "<nixpkgs>")),
    st.tuples(st.just("channel"), st.from_regex(r"\Agithub:NixOS/nixpkgs/[0-9a-f]{40}\Z")))
_nar_hashes = st.from_regex(r"\Asha256-[A-Za-z0-9+/]{43}=\Z")


@st.composite
def _locks(draw: st.DrawFn) -> lockfile.Lock:
    systems = {}
    for system in draw(st.sets(st.sampled_from(["x86_64-linux", "aarch64-linux",
                                                 "riscv64-linux"]), min_size=1)):
        python = draw(_store)
        systems[system] = lockfile.SystemEntry(
            python_attribute=draw(_attr),
            python_version=draw(st.from_regex(r"\A[0-9]{1,2}\.[0-9]{1,2}(\.[0-9]{1,2})?\Z")),
            implementation=draw(st.sampled_from(["cpython", "pypy"])), python=python,
            interpreter=python + "/bin/" + draw(st.from_regex(r"\Apython3(\.[0-9]{1,2})?\Z")),
            libraries=tuple(lockfile.Library(a, p) for a, p in
                            draw(st.lists(st.tuples(_attr, _store), max_size=4))),
        )
    inputs: dict[str, object] = draw(st.dictionaries(
        st.from_regex(r"\A[a-z][a-z-]{0,10}\Z"),
        st.one_of(_text, st.lists(_text, max_size=3)), max_size=5))
    fingerprint = draw(_text)
    inputs["fingerprint"] = fingerprint
    kind, url = draw(_sources)
    nar = draw(_nar_hashes) if kind == "path" and draw(st.booleans()) else ""
    return lockfile.Lock(fingerprint, inputs, url, kind, systems, nixpkgs_nar_hash=nar)


@given(_locks())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_valid_lock_round_trips(lock: lockfile.Lock) -> None:
    text = lockfile.render(lock)
    assert lockfile.parse(text, PATH) == lock
    assert lockfile.render(lock) == text


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_arbitrary_text_gives_a_clear_error_or_a_lock(text: str) -> None:
    _parse_or_user_error(text)


@given(st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_valid_lock_never_crashes(data: st.DataObject) -> None:
    text = VALID
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["cut", "delete", "insert", "replace", "dup"]))
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 40)))
        if op == "cut":
            text = text[:i]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + data.draw(st.text(max_size=20)) + text[i:]
        elif op == "replace":
            text = text[:i] + data.draw(st.sampled_from(
                ['"', "'", "[", "]", "{", "}", "=", "\n", "1", "true", "..", "/", "[[x]]",
                "version = 3", '""', "[]", "{}"])) + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    _parse_or_user_error(text)


@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
                    lambda c: st.one_of(st.lists(c, max_size=3),
                                        st.dictionaries(st.text(max_size=8), c, max_size=3)),
                    max_leaves=12))
@settings(max_examples=300)
def test_wrong_types_in_every_field_never_crash(value: object) -> None:
    import tomlkit

    for key in ("python", "interpreter", "libraries", "python-attribute", "python-version"):
        doc = tomlkit.parse(VALID)
        try:
            doc["systems"]["x86_64-linux"][key] = value
            text = tomlkit.dumps(doc)
        except (TypeError, ValueError, tomlkit.exceptions.TOMLKitError):
            continue
        _parse_or_user_error(text)
    for top in ("inputs", "nixpkgs", "systems", "version"):
        doc = tomlkit.parse(VALID)
        try:
            doc[top] = value
            text = tomlkit.dumps(doc)
        except (TypeError, ValueError, tomlkit.exceptions.TOMLKitError):
            continue
        _parse_or_user_error(text)


def _edit(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


@pytest.mark.parametrize(("text", "words"), [
    ("\x00\x01", "not valid TOML"),
    (VALID[: len(VALID) // 2], "not valid TOML"),
    ("", "no format version"),
    (_edit("version = 2", "version = 99"), "upgrade uvx-nix"),
    (_edit("version = 2", "version = true"), "no format version"),
    (_edit("version = 2", "version = 0"), "unknown format version"),
    (_edit(f'interpreter = "{PY}/bin/python3.12"', 'interpreter = "/usr/bin/python3"'),
     "outside its store path"),
    (_edit(f'interpreter = "{PY}/bin/python3.12"', f'interpreter = "{PY}/../x/bin/python"'),
     "outside its store path"),
    (_edit(f'interpreter = "{PY}/bin/python3.12"', f'interpreter = "{PY}/bin/.."'),
     "outside its store path"),
    (_edit(f'python = "{PY}"', 'python = "/tmp/evil"'), "not a /nix/store path"),
    (_edit(f'python = "{PY}"', f'python = "{PY}/.."'), "not a /nix/store path"),
    (_edit(f'"{ZLIB}"', '"/nix/store/../etc"'), "not a /nix/store path"),
    (_edit('python-attribute = "python312"', 'python-attribute = "a; b"'),
     "invalid interpreter attribute"),
    (_edit('attribute = "zlib"', 'attribute = "${x}"'), "invalid library attribute"),
    (_edit("[systems.x86_64-linux]", '[systems."../x"]'), "invalid system"),
])
def test_bad_locks_are_named(text: str, words: str) -> None:
    with pytest.raises(UserError) as info:
        lockfile.parse(text, PATH)
    assert info.value.exit_code == EXIT_LOCKFILE
    assert words in info.value.message


def test_format_1_is_migrated() -> None:
    text = (
        'version = 1\nnixpkgs = "github:NixOS/nixpkgs/' + "1" * 40 + '"\n'
        '[inputs]\nfingerprint = "sha256:abc"\n'
        "[systems.x86_64-linux]\n"
        f'python-attribute = "python312"\npython-version = "3.12.1"\npython = "{PY}"\n'
        f'interpreter = "{PY}/bin/python3.12"\nlibraries = ["{ZLIB}"]\n'
        'library-attributes = ["zlib"]\n'
    )
    lock = lockfile.parse(text, PATH)
    assert lock.migrated_from == 1
    assert lock.nixpkgs_url == "github:NixOS/nixpkgs/" + "1" * 40
    assert lock.systems["x86_64-linux"].libraries == (lockfile.Library("zlib", ZLIB),)
    again = lockfile.parse(lockfile.render(lock), PATH)
    assert again.migrated_from is None
    assert again.systems == lock.systems


def test_read_missing_damaged_and_unreadable(tmp_path: Path) -> None:
    assert lockfile.read(tmp_path / "none.lock") is None
    bad = tmp_path / "uvx-nix.lock"
    bad.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(UserError, match="not UTF-8") as info:
        lockfile.read(bad)
    assert info.value.exit_code == EXIT_LOCKFILE
    directory = tmp_path / "dir.lock"
    directory.mkdir()
    with pytest.raises(UserError, match="not a regular file"):
        lockfile.read(directory)


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "uvx-nix.lock"
    data = lockfile.write(target, _lock())
    assert target.read_bytes() == data
    st_before = target.stat()
    assert lockfile.write(target, _lock()) == data  # unchanged content is not rewritten
    assert target.stat().st_ino == st_before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ["uvx-nix.lock"]


def test_failed_write_keeps_the_old_lock_and_no_temp(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    target = tmp_path / "uvx-nix.lock"
    target.write_text("old")

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        lockfile.write(target, _lock())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["uvx-nix.lock"]


_V1_HEAD = ('version = 1\nnixpkgs = "github:NixOS/nixpkgs/' + "1" * 40 + '"\n'
            'inputs = { fingerprint = "x" }\n')


@pytest.mark.parametrize("body", [
    "systems = [1]\n",
    "systems = 3\n",
    '[systems]\nx86_64-linux = "s"\n',
    "[systems.x86_64-linux]\nlibraries = 3\nlibrary-attributes = 4\n",
])
def test_malformed_format_1_gives_a_clear_error(body: str) -> None:
    with pytest.raises(UserError) as info:
        lockfile.parse(_V1_HEAD + body, PATH)
    assert info.value.exit_code == EXIT_LOCKFILE


def test_format_1_with_unpaired_libraries_is_rejected_not_truncated() -> None:
    body = (
        "[systems.x86_64-linux]\n"
        f'python-attribute = "python312"\npython-version = "3.12.1"\npython = "{PY}"\n'
        f'interpreter = "{PY}/bin/python3.12"\nlibraries = ["{ZLIB}", "{GCC}"]\n'
        'library-attributes = ["zlib"]\n'
    )
    with pytest.raises(UserError) as info:
        lockfile.parse(_V1_HEAD + body, PATH)
    assert info.value.exit_code == EXIT_LOCKFILE


@pytest.mark.parametrize(("kind", "url", "extra"), [
    ("channel", "github:NixOS/nixpkgs/abc", ""),  # not a full revision
    ("channel", "github:someone/nixpkgs/" + "a" * 40, ""),  # only nixpkgs' own repository
    ("channel", "github:NixOS/nixpkgs/" + "a" * 40 + "?host=evil", ""),
    ("path", "/dir", 'nar-hash = "sha256-short="\n'),
    ("flake", "github:NixOS/nixpkgs/" + "a" * 40, f'nar-hash = "sha256-{"A" * 43}="\n'),
])
def test_a_pinned_channel_or_nar_hash_of_another_shape_is_refused(kind: str, url: str,
                                                                  extra: str) -> None:
    lock = _lock()
    text = lockfile.render(lock).replace(
        f'[nixpkgs]\nkind = "flake"\nurl = "{lock.nixpkgs_url}"\n',
        f'[nixpkgs]\nkind = "{kind}"\nurl = "{url}"\n{extra}')
    assert f'kind = "{kind}"' in text
    with pytest.raises(UserError) as exc:
        lockfile.parse(text, PATH)
    assert exc.value.exit_code == EXIT_LOCKFILE
