"""Find the project, its workspace root and the files that steer the interpreter.

Slow path only (imports tomlkit).  Mirrors uv's discovery: the nearest
``pyproject.toml`` with a ``[project]`` table or a ``[tool.uv.workspace]``, then
the workspace root above it whose members include it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uvx_nix import files
from uvx_nix.errors import EXIT_CONFIG, UserError, display_path

_SCRIPT_BLOCK = re.compile(
    r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"
)


@dataclass(frozen=True)
class Project:
    """A uv project (or workspace member) and its workspace root."""

    directory: Path
    root: Path
    pyproject: dict[str, Any]
    root_pyproject: dict[str, Any]
    examined: tuple[Path, ...] = field(default=())

    @property
    def requires_python(self) -> str | None:
        value = self.root_pyproject.get("project", {}).get("requires-python")
        if value is None and self.root != self.directory:
            value = self.pyproject.get("project", {}).get("requires-python")
        return value if isinstance(value, str) else None

    @property
    def settings(self) -> dict[str, Any]:
        table = self.root_pyproject.get("tool", {}).get("uvx-nix", {})
        return dict(table) if isinstance(table, dict) else {}


MAX_TOML = 4 * files.MIB
MAX_PYTHON_VERSION = 64 * files.KIB
MAX_SCRIPT = 16 * files.MIB


def read_toml(path: Path, within: Path | None) -> dict[str, Any]:
    """Parse a TOML file into plain Python data, or raise a one-line error.  ``within``: the
    directory the file must resolve inside (None for the user's own files)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = files.read_bounded(path, MAX_TOML, within=within).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{display_path(path)} is not UTF-8 text; fix or remove it",
                        EXIT_CONFIG) from exc
    except OSError as exc:
        raise UserError(f"cannot read {display_path(path)}: {exc.strerror}; check its "
                        "permissions", EXIT_CONFIG) from exc
    try:
        data = tomlkit.parse(text).unwrap()
    except (TOMLKitError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{display_path(path)} is not valid TOML ({detail}); fix the file",
                        EXIT_CONFIG) from exc
    return data


def _is_project(data: dict[str, Any]) -> bool:
    tool = data.get("tool")
    workspace = isinstance(tool, dict) and isinstance(tool.get("uv"), dict) and \
        "workspace" in tool["uv"]
    return isinstance(data.get("project"), dict) or workspace


def _members(root: Path, data: dict[str, Any]) -> tuple[list[str], list[str]]:
    ws = data.get("tool", {}).get("uv", {}).get("workspace", {})
    if not isinstance(ws, dict):
        return [], []
    members = [m for m in ws.get("members", []) if isinstance(m, str)]
    exclude = [m for m in ws.get("exclude", []) if isinstance(m, str)]
    return members, exclude


def _matches_any(root: Path, directory: Path, patterns: list[str]) -> bool:
    rel = directory.relative_to(root)
    return any(rel.match(p) or rel == Path(p) for p in patterns)


def find(start: Path) -> Project | None:
    """The project containing ``start`` (resolved), or None outside any project."""
    start = start.resolve()
    examined: list[Path] = []
    directory: Path | None = None
    data: dict[str, Any] = {}
    for candidate in (start, *start.parents):
        path = candidate / "pyproject.toml"
        examined.append(path)
        if os.path.exists(path):
            parsed = read_toml(path, candidate)
            if _is_project(parsed):
                directory, data = candidate, parsed
                break
    if directory is None:
        return None
    root, root_data = directory, data
    for candidate in directory.parents:
        path = candidate / "pyproject.toml"
        examined.append(path)
        if not os.path.exists(path):
            continue
        parsed = read_toml(path, candidate)
        members, exclude = _members(candidate, parsed)
        if members and _matches_any(candidate, directory, members) and \
                not _matches_any(candidate, directory, exclude):
            root, root_data = candidate, parsed
            break
    return Project(directory, root, data, root_data, tuple(examined))


def python_version_file(start: Path, stop: Path | None) -> tuple[Path | None, list[Path]]:
    """Find ``.python-version`` from ``start`` up to ``stop`` (inclusive) or /."""
    examined: list[Path] = []
    for candidate in (start, *start.parents):
        path = candidate / ".python-version"
        examined.append(path)
        if os.path.exists(path):
            return path, examined
        if stop is not None and candidate == stop:
            break
    return None, examined


def read_python_version(path: Path, within: Path | None) -> str | None:
    """The first request in a ``.python-version`` file; None if it holds none."""
    try:
        text = files.read_bounded(path, MAX_PYTHON_VERSION, within=within).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {display_path(path)}; fix or remove it",
                        EXIT_CONFIG) from exc
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return None


def script_metadata(path: Path) -> dict[str, Any] | None:
    """PEP 723 inline metadata of a script (None when it has none)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = files.read_bounded(path, MAX_SCRIPT, within=None).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    blocks = [m for m in _SCRIPT_BLOCK.finditer(text) if m.group("type") == "script"]
    if not blocks:
        return None
    if len(blocks) > 1:
        raise UserError(f"{path} has more than one '# /// script' block; keep one", EXIT_CONFIG)
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        return tomlkit.parse(content).unwrap()
    except (TOMLKitError, ValueError) as exc:
        raise UserError(f"the '# /// script' block of {path} is not valid TOML; fix it",
                        EXIT_CONFIG) from exc
