"""The Nix side of version matching (versions.nix) agrees with the Python side,
so the interpreter picked inside the single Nix evaluation is the one uvx-nix's
own messages and tests describe."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uvx_nix.resolve import python_request as request

HERE = Path(__file__).parents[2]
VERSIONS = Path(request.__file__).with_name("versions.nix")

_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "==="])
_RELEASE = st.lists(st.integers(0, 14), min_size=1, max_size=3)


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, list[int]]:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(_OPS)
        release = draw(_RELEASE)
        if op == "~=" and len(release) < 2:
            release.append(0)
        star = op in ("==", "!=") and draw(st.booleans())
        parts.append(f"{op}{'.'.join(map(str, release))}{'.*' if star else ''}")
    return ",".join(parts), draw(_RELEASE)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_case(), min_size=150, max_size=150))
def test_nix_and_python_agree(cases: list[tuple[str, list[int]]]) -> None:
    nix = shutil.which("nix-instantiate")
    assert nix, "nix is not installed; the test command installs it"
    data = []
    expected = []
    for text, version in cases:
        clauses = request.parse_specifiers(text, "test")
        data.append({"clauses": [c.to_json() for c in clauses], "version": version})
        expected.append(all(request.clause_matches(c, tuple(version)) for c in clauses))
    out = subprocess.run(
        [nix, "--eval", "--strict", "--json", str(HERE / "nix" / "clauses.nix"),
         "--argstr", "cases", json.dumps(data), "--arg", "versions", str(VERSIONS)],
        capture_output=True, text=True, check=True,
    ).stdout
    got = json.loads(out)
    mismatches = [(c, e, g) for c, e, g in zip(cases, expected, got, strict=True) if e != g]
    assert not mismatches
