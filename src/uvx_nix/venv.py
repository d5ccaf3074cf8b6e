"""The project's virtual environment: where it is, and uvx-nix's scope hook inside it.

Called from the hot path only when the venv's site-packages directory changed
since the state was saved (one ``stat`` decides), so it may import freely.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from uvx_nix import state

HOOK_MODULE = "_uvx_nix_scope.py"
HOOK_PTH = "_uvx_nix_scope.pth"
_SOURCE = Path(__file__).with_name("_scope.py")


def location(root: Path, environ: Mapping[str, str]) -> Path:
    """uv's project environment: ``UV_PROJECT_ENVIRONMENT`` or ``<workspace root>/.venv``."""
    custom = environ.get("UV_PROJECT_ENVIRONMENT")
    if custom:
        return (root / custom) if not os.path.isabs(custom) else Path(custom)
    return root / ".venv"


def site_packages(venv: Path, implementation: str, python_version: str) -> Path:
    minor = ".".join(python_version.split(".")[:2])
    name = f"pypy{minor}" if implementation == "pypy" else f"python{minor}"
    return venv / "lib" / name / "site-packages"


def install_hook(site: Path) -> bool:
    """Put the scope hook into ``site`` (atomically); True if it was added or updated."""
    if not site.is_dir():
        return False
    source = _SOURCE.read_bytes()
    target = site / HOOK_MODULE
    changed = False
    for path, data in ((target, source), (site / HOOK_PTH, b"import _uvx_nix_scope\n")):
        try:
            if path.exists() and path.read_bytes() == data:
                continue
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            changed = True
        except OSError:
            return False
    return changed


def on_change(fields: dict[str, str], state_key: str, state_path: str) -> dict[str, str]:
    """The venv changed: make sure the hook is there, then remember what we saw."""
    site = Path(fields["site"])
    install_hook(site)
    fields = dict(fields)
    fields["site_sig"] = state.signature(str(site))
    try:
        with open(state_path, "rb") as f:
            _, watched, required = state.decode(f.read(), state_key)
    except (OSError, ValueError, IndexError, UnicodeError):
        return fields
    state.save(state_path, state.encode(state_key, fields, watched, required))
    return fields
