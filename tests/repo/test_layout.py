"""Tests mirror the code: each module of the package with code in it has its unit tests in
tests/unit/<package path>/test_<module>.py (a package's own __init__.py in
test_<package>.py inside its folder); end-to-end tests live in tests/e2e/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "uvx_nix"
UNIT = ROOT / "tests" / "unit"
# Modules tested elsewhere, and why.
ELSEWHERE = {
    "__init__.py": "the version: tests/repo/test_packaging.py and the flake's tests read it",
    "__main__.py": "two lines that call cli.entry; every end-to-end test starts it",
    "reference.py": "data: checked against the code and the README by tests/repo/test_docs.py",
}


def _has_code(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
               for node in body)


def _expected(path: Path) -> Path:
    relative = path.relative_to(PACKAGE)
    if relative.name == "__init__.py":
        return UNIT / relative.parent / f"test_{relative.parent.name}.py"
    return UNIT / relative.parent / f"test_{relative.stem}.py"


def test_every_module_with_code_has_its_unit_tests() -> None:
    missing = sorted(str(_expected(p).relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                     if _has_code(p) and str(p.relative_to(PACKAGE)) not in ELSEWHERE
                     and not _expected(p).is_file())
    assert missing == []


def test_no_unit_test_file_mirrors_nothing() -> None:
    """A unit test file names a module that exists (or the layer test, or one of the .nix
    files, test_<name>_nix.py)."""
    modules = {_expected(p) for p in PACKAGE.rglob("*.py")}
    strays = sorted(str(t.relative_to(ROOT)) for t in UNIT.rglob("test_*.py")
                    if t not in modules and t.name not in ("test_layers.py",)
                    and not t.name.endswith(("_nix.py",)))
    assert strays == []
