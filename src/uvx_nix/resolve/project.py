"""Find the project, its workspace root and the files that steer the interpreter.

Slow path only (imports tomlkit).  Mirrors uv's discovery: the nearest
``pyproject.toml`` with a ``[project]`` table or a ``[tool.uv.workspace]``, then
the workspace root above it whose members include it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

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
    # Every member's requires-python (the root's first), as uv intersects them.
    member_requires: tuple[tuple[Path, str], ...] = field(default=())

    @property
    def requires_python(self) -> str | None:
        """The workspace's requires-python: the intersection of its members' (uv's
        ``find_requires_python``), written as one specifier set; None if no member has one."""
        specs = [spec for _, spec in self.member_requires]
        if not specs:  # (also a Project built without its members)
            value = self.root_pyproject.get("project", {}).get("requires-python")
            if value is None and self.root != self.directory:
                value = self.pyproject.get("project", {}).get("requires-python")
            return value if isinstance(value, str) else None
        return ", ".join(dict.fromkeys(specs))

    @property
    def settings(self) -> dict[str, Any]:
        table = self.root_pyproject.get("tool", {}).get("uvx-nix", {})
        return dict(table) if isinstance(table, dict) else {}


MAX_TOML = 4 * files.MIB
MAX_PYTHON_VERSION = 64 * files.KIB
MAX_SCRIPT = 16 * files.MIB


class UnparsableError(UserError):
    """A file that is readable but not valid UTF-8 TOML: uv reports that in its own words
    (unlike a file refused before reading, such as a FIFO or a link out of the project)."""


def read_toml(path: Path, within: Path | None) -> dict[str, Any]:
    """Parse a TOML file into plain Python data, or raise a one-line error.  ``within``: the
    directory the file must resolve inside (None for the user's own files)."""
    try:
        text = files.read_bounded(path, MAX_TOML, within=within).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnparsableError(f"{display_path(path)} is not UTF-8 text; fix or remove it",
                              EXIT_CONFIG) from exc
    except OSError as exc:
        raise UserError(f"cannot read {display_path(path)}: {exc.strerror}; check its "
                        "permissions", EXIT_CONFIG) from exc
    try:
        data = tomlkit.parse(text).unwrap()
    except (TOMLKitError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnparsableError(f"{display_path(path)} is not valid TOML ({detail}); fix the "
                              "file", EXIT_CONFIG) from exc
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


def _requires(data: dict[str, Any]) -> str | None:
    table = data.get("project")
    value = table.get("requires-python") if isinstance(table, dict) else None
    return value if isinstance(value, str) else None


def _glob_dirs(root: Path, pattern: str, examined: list[Path]) -> list[Path]:
    """Directories matching a workspace ``members`` glob; the directories listed on the way
    are recorded in ``examined`` (a member added later changes their signature)."""
    found = [root]
    for part in Path(pattern).parts:
        if part == "**":
            deeper: list[Path] = []
            for base in found:
                examined.append(base)
                deeper += [base, *(p for p in base.rglob("*") if p.is_dir())]
                examined.extend(p for p in deeper if p.is_dir())
            found = deeper
        elif any(c in part for c in "*?["):
            matched: list[Path] = []
            for base in found:
                examined.append(base)
                try:
                    names = sorted(os.listdir(base))
                except OSError:
                    continue
                matched += [base / n for n in names
                            if fnmatch.fnmatchcase(n, part) and (base / n).is_dir()]
            found = matched
        else:
            examined.extend(base / part for base in found)
            found = [base / part for base in found if (base / part).is_dir()]
    return list(dict.fromkeys(found))


def workspace_requires(root: Path, root_data: dict[str, Any], examined: list[Path]
                       ) -> tuple[tuple[Path, str], ...]:
    """(pyproject, requires-python) of the root (when it is a package) and every member."""
    out: list[tuple[Path, str]] = []
    own = _requires(root_data)
    if own is not None:
        out.append((root / "pyproject.toml", own))
    members, exclude = _members(root, root_data)
    seen = {root}
    for pattern in members:
        for directory in _glob_dirs(root, pattern, examined):
            if directory in seen or _matches_any(root, directory, exclude):
                continue
            seen.add(directory)
            path = directory / "pyproject.toml"
            examined.append(path)
            if not os.path.exists(path):
                continue
            spec = _requires(read_toml(path, directory))
            if spec is not None:
                out.append((path, spec))
    return tuple(out)


def find(start: Path, examined: list[Path] | None = None) -> Project | None:
    """The project containing ``start`` (resolved), or None outside any project.  Every
    path looked at is added to ``examined`` (when given), found or not: a project that
    appears later must invalidate what was decided without it."""
    start = start.resolve()
    if examined is None:
        examined = []
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
    requires = workspace_requires(root, root_data, examined)
    return Project(directory, root, data, root_data, tuple(examined), requires)


VERSION_FILES = (".python-version", ".python-versions")


def version_file(start: Path, stop: Path | None, global_dir: Path, *, local: bool = True
                 ) -> tuple[Path | None, list[Path]]:
    """uv's ``PythonVersionFile::discover``: the nearest ``.python-version`` (or
    ``.python-versions``) from ``start`` up to ``stop`` (inclusive, or /), else the global
    one in ``global_dir``.  Also every path looked at, found or not (the hot cache watches
    them all: a pin created later must be seen)."""
    examined: list[Path] = []
    if local:
        for candidate in (start, *start.parents):
            for name in VERSION_FILES:
                path = candidate / name
                examined.append(path)
                if os.path.exists(path):  # (a non-file there is refused when read)
                    return path, examined
            if stop is not None and candidate == stop:
                break
    for name in VERSION_FILES:
        path = global_dir / name
        examined.append(path)
        if os.path.exists(path):
            return path, examined
    return None, examined


def read_python_versions(path: Path, within: Path | None) -> list[str]:
    """The requests in a ``.python-version`` file, in order (comments and blank lines out).
    ``within``: the directory the file must resolve inside (None for the user's own)."""
    try:
        text = files.read_bounded(path, MAX_PYTHON_VERSION, within=within).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {display_path(path)}; fix or remove it",
                        EXIT_CONFIG) from exc
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def script_metadata(path: Path) -> dict[str, Any] | None:
    """PEP 723 inline metadata of a script (None when it has none)."""
    try:
        text = files.read_bounded(path, MAX_SCRIPT, within=None).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return script_metadata_text(text, str(path))


def script_metadata_text(text: str, origin: str) -> dict[str, Any] | None:
    """PEP 723 inline metadata in a script's text (a file's, or ``uv run -``'s stdin)."""
    blocks = [m for m in _SCRIPT_BLOCK.finditer(text) if m.group("type") == "script"]
    if not blocks:
        return None
    if len(blocks) > 1:
        raise UserError(f"{origin} has more than one '# /// script' block; keep one", EXIT_CONFIG)
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        return tomlkit.parse(content).unwrap()
    except (TOMLKitError, ValueError) as exc:
        raise UserError(f"the '# /// script' block of {origin} is not valid TOML; fix it",
                        EXIT_CONFIG) from exc


def add_to_list(pyproject: Path, key: str, values: Sequence[str], hint: str = "") -> list[str]:
    """Append ``values`` to the list ``[tool.uvx-nix] KEY`` of ``pyproject`` (formatting kept,
    atomic write); returns those that were added.  A string there is refused with one line
    (``hint`` says what the list is for)."""
    text = files.read_bounded(pyproject, MAX_TOML, within=pyproject.parent).decode(
        "utf-8", "surrogateescape")
    doc = tomlkit.parse(text)
    tool = doc.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        doc["tool"] = tool
    table = tool.get("uvx-nix")
    if table is None:
        table = tomlkit.table()
        tool["uvx-nix"] = table
    current = table.get(key)
    if current is None:
        current = tomlkit.array()
        table[key] = current
    elif isinstance(current, str):
        raise UserError(f"[tool.uvx-nix] {key} in {pyproject} is a string; make it a list"
                        f"{hint}", EXIT_CONFIG)
    present = {str(v) for v in current}
    added = [v for v in values if v not in present]
    for value in added:
        current.append(value)
    if added:
        mode = os.stat(pyproject).st_mode & 0o777
        files.write_atomic(pyproject, tomlkit.dumps(doc).encode("utf-8", "surrogateescape"),
                           mode)
    return added


def add_libraries(pyproject: Path, attributes: Sequence[str]) -> list[str]:
    """Append attributes to ``[tool.uvx-nix] libraries`` (formatting kept, atomic write);
    returns those that were added."""
    return add_to_list(pyproject, "libraries", attributes,
                               " to let doctor --fix add to it")
