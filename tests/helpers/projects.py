"""Projects for unit tests: pyproject.toml and config files written as a user would."""

from __future__ import annotations

from pathlib import Path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pyproject(directory: Path, requires: str | None = None, extra: str = "") -> Path:
    text = f'[project]\nname = "{directory.name}"\nversion = "0.1.0"\n'
    if requires:
        text += f'requires-python = "{requires}"\n'
    write(directory / "pyproject.toml", text + extra)
    return directory
