"""The README's configuration reference names every knob the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from uvx_nix import reference
from uvx_nix.resolve import inputs

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _code_variables() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "uvx_nix").rglob("*.py"):
        found |= set(re.findall(r"\bUVX_NIX(?:_[A-Z]+)*\b", path.read_text()))
    # Private markers uvx-nix sets for its own hook, not knobs for users.
    return found - {"UVX_NIX_DEPTH", "UVX_NIX_REAL_HOME", "UVX_NIX_PYTHON_PREFERENCE",
                    "UVX_NIX_LAUNCHER", "UVX_NIX_LAUNCHER_NAME"}


def test_every_variable_is_in_the_reference_and_the_readme() -> None:
    variables = _code_variables()
    assert variables, "the scan found no variables"
    missing_reference = variables - set(reference.VARIABLES)
    assert not missing_reference
    table = README.split("### Environment variables", 1)[1].split("###", 1)[0]
    missing_readme = {v for v in variables if f"`{v}`" not in table}
    assert not missing_readme


def test_every_setting_is_in_the_readme() -> None:
    table = README.split("### `[tool.uvx-nix]`", 1)[1].split("###", 1)[0]
    for key in inputs.SETTINGS:
        assert f"| `{key}` |" in table, key
    assert set(inputs.SETTINGS) == set(reference.SETTINGS)


def test_exit_codes_are_documented() -> None:
    from uvx_nix.errors import EXIT_CODES

    table = README.split("### Exit codes", 1)[1].split("##", 1)[0]
    for code in EXIT_CODES:
        assert f"| {code} |" in table, code
