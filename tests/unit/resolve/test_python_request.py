"""Python requests as uv spells them, and PEP 440 matching checked against `packaging`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from uvx_nix.errors import EXIT_CONFIG, UserError
from uvx_nix.resolve import python_request as request


def _ok(text: str, impl: str, version: tuple[int, ...]) -> bool:
    return request.matches(request.parse(text, "test"), impl, version)


@pytest.mark.parametrize(
    ("text", "impl", "version", "expected"),
    [
        ("3.12", "cpython", (3, 12, 1), True),
        ("3.12", "cpython", (3, 13, 0), False),
        ("3", "cpython", (3, 13, 0), True),
        ("312", "cpython", (3, 12, 4), True),
        ("3.12.1", "cpython", (3, 12, 1), True),
        ("3.12.1", "cpython", (3, 12, 2), False),
        (">=3.11,<3.13", "cpython", (3, 12, 0), True),
        (">=3.11,<3.13", "cpython", (3, 13, 0), False),
        ("cpython@3.12", "cpython", (3, 12, 0), True),
        ("cpython3.12", "cpython", (3, 12, 0), True),
        ("python3.12", "cpython", (3, 12, 0), True),
        ("cp312", "cpython", (3, 12, 0), True),
        ("pypy@3.10", "pypy", (3, 10), True),
        ("pypy@3.10", "cpython", (3, 10, 0), False),
        ("pypy3.10", "pypy", (3, 10), True),
        ("3.10", "pypy", (3, 10), False),
        ("cpython-3.12.1-linux-x86_64-gnu", "cpython", (3, 12, 1), True),
        ("~=3.11", "cpython", (3, 13, 0), True),
        ("~=3.11.2", "cpython", (3, 12, 0), False),
        ("==3.12.*", "cpython", (3, 12, 9), True),
        ("!=3.12.*", "cpython", (3, 12, 9), False),
    ],
)
def test_matches(text: str, impl: str, version: tuple[int, ...], expected: bool) -> None:
    assert _ok(text, impl, version) is expected


def test_kinds() -> None:
    assert request.parse("./venv/bin/python", "x").kind == "path"
    assert request.parse("/usr/bin/python3", "x").kind == "path"
    assert request.parse("~/py", "x").kind == "path"
    assert request.parse("any", "x").kind == "any"
    assert request.parse("3.13t", "x").free_threaded
    assert request.parse("cpython", "x").implementation == "cpython"


@pytest.mark.parametrize("text", ["", "   ", "garbage!!", "3.x", ">=", "3.12; rm -rf x",
                                  "x" * 500, "3.12\n3.13", ">=3.*", "~=3"])
def test_bad_requests_are_one_line_errors(text: str) -> None:
    with pytest.raises(UserError) as info:
        request.parse(text, ".python-version")
    assert info.value.exit_code == EXIT_CONFIG
    assert "\n" not in info.value.message
    assert ".python-version" in info.value.message


@given(st.text(max_size=40))
def test_parse_never_crashes(text: str) -> None:
    """Any text gives a request or a one-line UserError, never another exception."""
    message = ""
    try:
        request.parse(text, "fuzz")
    except UserError as exc:
        message = exc.message
    assert "\n" not in message


_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="])
_RELEASE = st.lists(st.integers(0, 15), min_size=1, max_size=3)


@st.composite
def _clause(draw: st.DrawFn) -> str:
    op = draw(_OPS)
    release = draw(_RELEASE)
    if op == "~=" and len(release) < 2:
        release.append(draw(st.integers(0, 15)))
    star = op in ("==", "!=") and draw(st.booleans())
    return f"{op}{'.'.join(map(str, release))}{'.*' if star else ''}"


@given(st.lists(_clause(), min_size=1, max_size=3), _RELEASE)
def test_matching_agrees_with_packaging(clauses: list[str], version: list[int]) -> None:
    text = ",".join(clauses)
    try:
        expected = Version(".".join(map(str, version))) in SpecifierSet(text)
    except InvalidSpecifier:
        return
    parsed = request.parse_specifiers(text, "test")
    ours = all(request.clause_matches(c, tuple(version)) for c in parsed)
    assert ours == expected, (text, version)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("==3.12.*", "<3.12", False),
    ("==3.11.*", "<3.12", True),
    (">=3.10,<3.12", ">=3.12", False),
    (">=3.10,<=3.12", ">=3.12", True),
    ("==3.9.*", ">=3.9.5", True),
    (">3.12", "<3.12.0.1", True),   # dense: 3.12.0.0.1 lies between
    (">3.12", "<=3.12", False),
    ("!=3.12.*", "==3.12.3", False),
    ("!=3.12.*", ">=3.12,<3.14", True),
    ("==3.12.1", "==3.12.1.0", True),
])
def test_intersects_as_uv_compares_ranges(a: str, b: str, expected: bool) -> None:
    sa = request.parse_specifiers(a, "a")
    sb = request.parse_specifiers(b, "b")
    assert request.intersects(sa, sb) is expected
    assert request.intersects(sb, sa) is expected


def test_exact_version_of_a_request() -> None:
    assert request.parse("3.12", "x").exact == (3, 12)
    assert request.parse("cpython@3.12.1", "x").exact == (3, 12, 1)
    assert request.parse("3", "x").exact == (3,)
    assert request.parse(">=3.12", "x").exact is None
    assert request.contains(request.parse_specifiers(">=3.10", "x"), (3, 12))
    assert not request.contains(request.parse_specifiers(">=3.10", "x"), (3,))
