"""The package's layers, read from the source: a hot path that imports only its own layer and
the few stdlib modules a cache hit needs, and a native-library layer that never reaches up into
resolution or the commands (imports inside functions count).  The import graph still has
cycles; the test that forbids them comes with the layered layout."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "uvx_nix"

# What a cache hit runs: argv in, uv's environment out, exec.  Stdlib only.
HOT = {"uvx_nix", "uvx_nix.cli", "uvx_nix.argv", "uvx_nix.activation", "uvx_nix.cache",
       "uvx_nix.environment", "uvx_nix.execute", "uvx_nix.paths", "uvx_nix.errors"}
# What the hot path may add to a bare interpreter (python -I -S): os and its helpers and zlib;
# nothing that parses TOML or JSON, hashes, walks paths or starts processes.
HOT_STDLIB = {"__future__", "zlib", "os", "os.path", "stat", "_stat", "posixpath", "genericpath",
              "_collections_abc"}
NATIVE = {"uvx_nix.native.elf", "uvx_nix.native.sonames"}
NATIVE_MAY_USE = NATIVE | {"uvx_nix.files", "uvx_nix.errors", "uvx_nix.paths"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING")


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every uvx_nix module ``path`` imports, at the top or inside a function, leaving out
    imports that only type checkers read (``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(), str(path))
    skip = {id(n) for block in ast.walk(tree) if _type_checking_only(block)
            for n in ast.walk(block)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names
                       if f"{node.module}.{a.name}" in known)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, known) - {name, "uvx_nix"} for name, path in modules.items()}


def test_the_native_layer_never_reaches_up() -> None:
    graph = _graph()
    for name in NATIVE:
        assert graph[name] <= NATIVE_MAY_USE, (name, sorted(graph[name] - NATIVE_MAY_USE))


def test_the_hot_path_imports_its_layer_and_the_stdlib_a_hit_needs() -> None:
    """What ``import uvx_nix.cli`` loads, in a fresh interpreter: only the hot layer and a
    few stdlib modules (no TOML, JSON, hashing, pathlib, subprocess, third-party)."""
    probe = (f"import sys; sys.path.insert(0, {str(SRC)!r}); before = set(sys.modules); "
             "import uvx_nix.cli; print('\\n'.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True,
                         text=True, check=True).stdout
    loaded = set(out.split())
    assert {m for m in loaded if m.startswith("uvx_nix")} <= HOT
    assert {m for m in loaded if not m.startswith("uvx_nix")} <= HOT_STDLIB
