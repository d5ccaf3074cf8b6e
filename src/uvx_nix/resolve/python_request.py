"""Python requests, as uv spells them, and PEP 440 version matching.

``parse("cpython@3.12")`` and friends turn the forms uv accepts into a
:class:`PythonRequest`: an implementation, a list of version clauses, or a path
to leave alone.  Matching is done twice with the same rules: here (for
messages and tests) and in ``resolve.nix`` (to pick the attribute inside the
single Nix evaluation).  The clauses are passed to Nix as data, never as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from uvx_nix.errors import EXIT_CONFIG, UserError

IMPLEMENTATIONS = {
    "cpython": "cpython",
    "cp": "cpython",
    "python": "cpython",
    "pypy": "pypy",
    "pp": "pypy",
    "graalpy": "graalpy",
    "gp": "graalpy",
}
_CLAUSE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*$")
_VERSION = re.compile(r"^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(t)?$")
_IMPL_PREFIX = re.compile(r"^(cpython|python|pypy|graalpy|cp|pp|gp)@?(.*)$")
_KEY = re.compile(r"^(cpython|pypy|graalpy)-([0-9][0-9.]*[0-9]?)(\+freethreaded)?(-.*)?$")
MAX_REQUEST = 200


@dataclass(frozen=True)
class Clause:
    """One PEP 440 clause on a release version: ``>=3.11``, ``==3.12.*``."""

    op: str
    release: tuple[int, ...]
    wildcard: bool = False

    def to_json(self) -> dict[str, object]:
        return {"op": self.op, "release": list(self.release), "wildcard": self.wildcard}

    def __str__(self) -> str:
        return f"{self.op}{'.'.join(map(str, self.release))}{'.*' if self.wildcard else ''}"


@dataclass(frozen=True)
class PythonRequest:
    """What interpreter was asked for, and where the ask came from."""

    text: str
    source: str
    kind: str = "default"  # default | version | path | any
    implementation: str | None = None
    clauses: tuple[Clause, ...] = ()
    free_threaded: bool = False
    # The version itself when the request names one ("3", "3.12", "3.12.1", "cpython@3.12"),
    # not a range: uv's ``as_pep440_version``, what a global pin is checked with.
    exact: tuple[int, ...] | None = None

    def describe(self) -> str:
        if self.kind == "default":
            return "the nixpkgs default (python3)"
        return f"{self.text!r} (from {self.source})"


def _bad(text: str, source: str, why: str) -> UserError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return UserError(
        f"invalid Python request {shown!r} in {source}: {why}; use a version like "
        "'3.12', a range like '>=3.11,<3.13', or 'cpython@3.12'",
        EXIT_CONFIG,
    )


def parse_specifiers(text: str, source: str) -> tuple[Clause, ...]:
    """Parse a PEP 440 specifier set on release versions (``requires-python``)."""
    if len(text) > MAX_REQUEST:
        raise _bad(text, source, "it is too long")
    clauses: list[Clause] = []
    for part in text.split(","):
        m = _CLAUSE.match(part)
        if not m:
            raise _bad(text, source, f"{part.strip()!r} is not a version clause")
        op, release_text, star = m.groups()
        release = tuple(int(x) for x in release_text.split("."))
        if star and op not in ("==", "!="):
            raise _bad(text, source, f"'.*' is only allowed with == and != ({part.strip()!r})")
        if op == "~=":
            if len(release) < 2:
                raise _bad(text, source, "~= needs at least two version parts")
            clauses.append(Clause(">=", release))
            clauses.append(Clause("==", release[:-1], wildcard=True))
        else:
            clauses.append(Clause(op, release, bool(star)))
    return tuple(clauses)


def _version_clauses(text: str, source: str, original: str
                     ) -> tuple[tuple[Clause, ...], bool, tuple[int, ...] | None]:
    m = _VERSION.match(text)
    if m:
        parts = [int(x) for x in m.groups()[:3] if x is not None]
        if len(parts) == 1 and parts[0] >= 10 and len(text) >= 2:
            # uv accepts "312" for 3.12.
            parts = [int(text[0]), int(text[1:].rstrip("t"))]
        exact = len(parts) == 3
        return ((Clause("==", tuple(parts), wildcard=not exact),), bool(m.group(4)),
                tuple(parts))
    if _CLAUSE.match(text.split(",", maxsplit=1)[0]):
        return parse_specifiers(text, source), False, None
    raise _bad(original, source, "not a version, range or implementation uvx-nix understands")


def parse(text: str, source: str) -> PythonRequest:
    """Parse one request (``--python``, ``UV_PYTHON``, ``.python-version``)."""
    raw = text.strip()
    if not raw:
        raise _bad(text, source, "it is empty")
    if len(raw) > MAX_REQUEST or any(ord(c) < 32 for c in raw):
        raise _bad(raw, source, "it is too long or has control characters")
    if raw in ("any", "default"):
        return PythonRequest(raw, source, kind="any" if raw == "any" else "default")
    if "/" in raw or raw.startswith(".") or raw == "~":
        return PythonRequest(raw, source, kind="path")
    lowered = raw.lower()
    key = _KEY.match(lowered)
    if key:
        clauses, _, exact = _version_clauses(key.group(2), source, raw)
        return PythonRequest(
            raw, source, "version", key.group(1), clauses, free_threaded=bool(key.group(3)),
            exact=exact,
        )
    m = _IMPL_PREFIX.match(lowered)
    if m is not None and (m.group(1) != "python" or m.group(2)):
        impl = IMPLEMENTATIONS[m.group(1)]
        rest = m.group(2)
        if not rest:
            return PythonRequest(raw, source, "version", impl)
        if m.group(1) in ("cp", "pp", "gp") and rest.isdigit() and len(rest) >= 2:
            rest = f"{rest[0]}.{rest[1:]}"
        clauses, ft, exact = _version_clauses(rest, source, raw)
        return PythonRequest(raw, source, "version", impl, clauses, ft, exact)
    if lowered == "python":
        return PythonRequest(raw, source, "version", "cpython")
    clauses, ft, exact = _version_clauses(lowered, source, raw)
    return PythonRequest(raw, source, "version", None, clauses, ft, exact)


def _cmp(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = max(len(a), len(b))
    pa = a + (0,) * (n - len(a))
    pb = b + (0,) * (n - len(b))
    return (pa > pb) - (pa < pb)


def clause_matches(clause: Clause, version: tuple[int, ...]) -> bool:
    """PEP 440 on release-only versions (what interpreters have)."""
    if clause.wildcard:
        n = len(clause.release)
        head = (version + (0,) * n)[:n]
        equal = head == clause.release
        return equal if clause.op == "==" else not equal
    c = _cmp(version, clause.release)
    return {
        "==": c == 0,
        "===": c == 0 and len(version) == len(clause.release),
        "!=": c != 0,
        "<": c < 0,
        "<=": c <= 0,
        ">": c > 0,
        ">=": c >= 0,
    }[clause.op]


def matches(request: PythonRequest, implementation: str, version: tuple[int, ...]) -> bool:
    if request.implementation and request.implementation != implementation:
        return False
    if request.implementation is None and implementation != "cpython":
        return False
    return all(clause_matches(c, version) for c in request.clauses)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text.split("+", maxsplit=1)[0])[:3])


# Version ranges, as uv compares a request with a requires-python (``intersects_requires_python``):
# each clause is a union of intervals over release versions; the space is dense (there is
# always a 3.12.0.1 between 3.12 and 3.12.1), so an interval is empty only when it closes
# before it opens.
_Bound = tuple[int, ...] | None
_Interval = tuple[_Bound, bool, _Bound, bool]  # low, low included, high, high included
_WIDTH = 8


def _pad(release: tuple[int, ...]) -> tuple[int, ...]:
    return (release + (0,) * _WIDTH)[:_WIDTH]


def _intervals(clause: Clause) -> list[_Interval]:
    v = _pad(clause.release)
    if clause.wildcard:
        up = _pad((*clause.release[:-1], clause.release[-1] + 1))
        if clause.op == "==":
            return [(v, True, up, False)]
        return [(None, False, v, False), (up, True, None, False)]
    table: dict[str, list[_Interval]] = {
        "==": [(v, True, v, True)],
        "===": [(v, True, v, True)],
        "!=": [(None, False, v, False), (v, False, None, False)],
        "<": [(None, False, v, False)],
        "<=": [(None, False, v, True)],
        ">": [(v, False, None, False)],
        ">=": [(v, True, None, False)],
    }
    return table[clause.op]


def _meet(a: _Interval, b: _Interval) -> _Interval | None:
    lo, lo_in = a[0], a[1]
    if b[0] is not None and (lo is None or b[0] > lo or (b[0] == lo and not b[1])):
        lo, lo_in = b[0], b[1]
    hi, hi_in = a[2], a[3]
    if b[2] is not None and (hi is None or b[2] < hi or (b[2] == hi and not b[3])):
        hi, hi_in = b[2], b[3]
    if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_in and hi_in))):
        return None
    return (lo, lo_in, hi, hi_in)


def intersects(*clause_sets: tuple[Clause, ...]) -> bool:
    """Some version satisfies every clause of every set."""
    current: list[_Interval] = [(None, False, None, False)]
    for clauses in clause_sets:
        for clause in clauses:
            current = [m for a in current for b in _intervals(clause)
                       if (m := _meet(a, b)) is not None]
            if not current:
                return False
    return True


def contains(clauses: tuple[Clause, ...], version: tuple[int, ...]) -> bool:
    """``RequiresPython::contains``: the version satisfies every clause."""
    return all(clause_matches(c, version) for c in clauses)
