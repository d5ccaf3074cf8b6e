"""The package's layers, read from the source (imports inside functions count): no import
cycle; each layer imports only its own and the layers below it (the base, native/, resolve/,
build/, prepare/, commands/, then cli at the top); the hot path imports only its own modules
and the few stdlib modules a cache hit needs; no module is over 400 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "uvx_nix"

# What a cache hit runs: argv in, uv's environment out, exec.  Stdlib only.
HOT = {"uvx_nix", "uvx_nix.cli", "uvx_nix.argv", "uvx_nix.activation", "uvx_nix.cache",
       "uvx_nix.output", "uvx_nix.environment", "uvx_nix.execute", "uvx_nix.paths",
       "uvx_nix.errors"}
# What the hot path may add to a bare interpreter (python -I -S): os and its helpers and zlib;
# nothing that parses TOML or JSON, hashes, walks paths or starts processes.
HOT_STDLIB = {"__future__", "zlib", "os", "os.path", "stat", "_stat", "posixpath", "genericpath",
              "_collections_abc"}
# Bottom to top.  The base: the hot path's modules and the small shared ones.
BASE = {"uvx_nix", "uvx_nix.argv", "uvx_nix.activation", "uvx_nix.cache",
        "uvx_nix.environment", "uvx_nix.execute", "uvx_nix.paths", "uvx_nix.errors",
        "uvx_nix.files", "uvx_nix.output", "uvx_nix.reference", "uvx_nix.attribute"}
LAYERS = ["base", "injected", "native", "resolve", "build", "prepare", "commands", "cli"]
MAX_LINES = 400


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


def _layer(module: str) -> int:
    if module in BASE:
        return LAYERS.index("base")
    if module in ("uvx_nix.cli", "uvx_nix.__main__"):
        return LAYERS.index("cli")
    part = module.split(".")[1]
    return LAYERS.index("commands" if part == "launcher" else part)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_finder_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_each_layer_imports_only_its_own_and_those_below() -> None:
    wrong = [(name, dep) for name, deps in _graph().items() for dep in sorted(deps)
             if _layer(dep) > _layer(name)]
    assert wrong == []


def test_every_layer_is_named() -> None:
    assert {_layer(name) for name in _graph()} <= set(range(len(LAYERS)))


def test_no_module_is_over_400_lines() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


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


def test_the_readme_draws_every_layer() -> None:
    readme = (SRC.parent / "README.md").read_text()
    drawing = readme.split("### The code's layers", 1)[1].split("###", 1)[0]
    for layer in LAYERS:
        assert (f"  {layer}/ " if layer not in ("base", "cli") else f"  {layer} ") in drawing, \
            layer
