"""Gather what decides the resolution: the request, the nixpkgs source, the libraries.

``gather(invocation, environ)`` reads pyproject.toml, ``.python-version``, a
script's PEP 723 block, the user config and ``UVX_NIX_*`` variables, validates
every value, and returns frozen :class:`Inputs` whose ``fingerprint`` keys the
lockfile.  Slow path only.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uvx_nix import files, nix, paths, project, request
from uvx_nix.argv import Invocation
from uvx_nix.errors import EXIT_CONFIG, UserError

# Bump when the same inputs would resolve differently (the resolution semantics,
# not every release): a new value re-resolves every project once.
RESOLVER_VERSION = 1
DEFAULT_LIBRARIES = ("stdenv.cc.cc.lib", "zlib")
STRATEGIES = ("interpreter", "nix-ld")
SETTINGS = ("nixpkgs", "libraries", "default-libraries", "strategy", "auto-libraries",
            "allow-unfree")
_ATTR = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*$")
MAX_LIBRARIES = 100


@dataclass(frozen=True)
class Inputs:
    system: str
    start: Path
    project: project.Project | None
    script: Path | None
    python: request.PythonRequest
    nixpkgs: nix.Source
    libraries: tuple[str, ...]
    strategy: str
    auto_libraries: bool
    lock_dir: Path
    watched: tuple[Path, ...]
    warnings: tuple[str, ...] = ()
    # True when the nixpkgs source comes from the project (pyproject.toml or flake.lock),
    # not from the user: its first use needs `uvx-nix nix allow` (see trust.py).
    project_source: bool = False
    # A read-only project's own uvx-nix.lock, honoured when lock_dir had to move to the cache.
    committed_lock: Path | None = None
    # nixpkgs may evaluate packages with an unfree licence (cudaPackages.*): the `allow-unfree`
    # setting, never the user's own NIXPKGS_ALLOW_UNFREE or nixpkgs config.
    allow_unfree: bool = False

    @property
    def lock_path(self) -> Path:
        return self.lock_dir / "uvx-nix.lock"

    def fingerprint(self) -> str:
        data = {
            "resolver": RESOLVER_VERSION,
            "python": [self.python.kind, self.python.implementation,
                       [str(c) for c in self.python.clauses], self.python.free_threaded],
            "nixpkgs": [self.nixpkgs.kind, self.nixpkgs.ref],
            "libraries": list(self.libraries),
            "strategy": self.strategy,
        }
        if self.allow_unfree:  # only when set: locks written before the setting keep their key
            data["allow-unfree"] = True
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()


def nix_ld_present(environ: Mapping[str, str], root: str = "/") -> bool:
    """nix-ld is enabled: NIX_LD is set, or NixOS's nix-ld share directory exists."""
    return bool(environ.get("NIX_LD")) or os.path.isdir(
        os.path.join(root, "run/current-system/sw/share/nix-ld"))


def current_system() -> str:
    """Nix's name for this platform (``x86_64-linux``, ``aarch64-darwin``...)."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    kernel = "darwin" if platform.system() == "Darwin" else "linux"
    return f"{arch}-{kernel}"


def validate_attribute(value: object, origin: str) -> str:
    """A nixpkgs attribute path such as ``stdenv.cc.cc.lib`` or ``xorg.libX11``."""
    if not isinstance(value, str) or len(value) > 200 or not _ATTR.fullmatch(value):
        shown = repr(value)[:60]
        raise UserError(
            f"invalid library attribute {shown} in {origin}: use a nixpkgs attribute path "
            "such as 'zlib', 'libGL' or 'xorg.libX11'",
            EXIT_CONFIG,
        )
    return value


def _library_list(value: object, origin: str) -> list[str]:
    if isinstance(value, str):
        items: list[object] = [v for v in re.split(r"[\s,]+", value) if v]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise UserError(f"'libraries' in {origin} must be a list of attribute paths", EXIT_CONFIG)
    if len(items) > MAX_LIBRARIES:
        raise UserError(f"too many libraries in {origin} (at most {MAX_LIBRARIES})", EXIT_CONFIG)
    return [validate_attribute(v, origin) for v in items]


def _settings(data: dict[str, Any], origin: str, warnings: list[str]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        warnings.append(f"unknown uvx-nix setting {', '.join(unknown)} in {origin} (ignored; "
                        f"known: {', '.join(SETTINGS)})")
    out: dict[str, Any] = {}
    if "nixpkgs" in data:
        if not isinstance(data["nixpkgs"], str):
            raise UserError(f"'nixpkgs' in {origin} must be a string", EXIT_CONFIG)
        out["nixpkgs"] = nix.parse_source(data["nixpkgs"], origin)
    for key in ("libraries", "default-libraries"):
        if key in data:
            out[key] = _library_list(data[key], f"{key} in {origin}")
    if "strategy" in data:
        if data["strategy"] not in STRATEGIES:
            raise UserError(
                f"'strategy' in {origin} must be one of {', '.join(STRATEGIES)}", EXIT_CONFIG)
        out["strategy"] = data["strategy"]
    for key in ("auto-libraries", "allow-unfree"):
        if key in data:
            if not isinstance(data[key], bool):
                raise UserError(f"'{key}' in {origin} must be true or false", EXIT_CONFIG)
            out[key] = data[key]
    return out


def _env_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if environ.get("UVX_NIX_NIXPKGS"):
        data["nixpkgs"] = environ["UVX_NIX_NIXPKGS"]
    if "UVX_NIX_LIBRARIES" in environ:
        data["libraries"] = environ["UVX_NIX_LIBRARIES"]
    if "UVX_NIX_DEFAULT_LIBRARIES" in environ:
        data["default-libraries"] = environ["UVX_NIX_DEFAULT_LIBRARIES"]
    if environ.get("UVX_NIX_STRATEGY"):
        data["strategy"] = environ["UVX_NIX_STRATEGY"]
    if environ.get("UVX_NIX_AUTO_LIBRARIES"):
        data["auto-libraries"] = environ["UVX_NIX_AUTO_LIBRARIES"].lower() in ("1", "true", "yes")
    if environ.get("UVX_NIX_ALLOW_UNFREE"):
        data["allow-unfree"] = environ["UVX_NIX_ALLOW_UNFREE"].lower() in ("1", "true", "yes")
    return data


def user_settings(environ: Mapping[str, str], warnings: list[str]) -> tuple[dict[str, Any], Path]:
    path = paths.config_file(environ)
    if not path.is_file():
        return {}, path
    return _settings(project.read_toml(path, None), str(path), warnings), path


def python_request(invocation: Invocation, environ: Mapping[str, str], start: Path,
                   proj: project.Project | None, script_meta: dict[str, Any] | None,
                   watched: list[Path]) -> request.PythonRequest:
    """uv's precedence: --python, UV_PYTHON, .python-version, requires-python, default."""
    if invocation.python:
        return request.parse(invocation.python, "--python")
    if environ.get("UV_PYTHON"):
        return request.parse(environ["UV_PYTHON"], "UV_PYTHON")
    tools = invocation.command[:1] == ("tool",)
    if not tools and "UV_NO_PYTHON_VERSION_FILE" not in environ:
        begin = proj.directory if proj else start
        found, examined = project.python_version_file(begin, proj.root if proj else None)
        watched.extend(examined)
        within: Path | None = None
        if found is None:
            found = paths.global_python_version(environ)  # the user's own file
            watched.append(found)
            if not found.is_file():
                found = None
        elif proj is not None and files.inside(found.parent, proj.root):
            within = proj.root
        else:
            within = found.parent
        if found is not None:
            text = project.read_python_version(found, within)
            if text is not None:
                return request.parse(text, str(found))
    if script_meta is not None:
        spec = script_meta.get("requires-python")
        if isinstance(spec, str):
            return request.PythonRequest(spec, "the script's requires-python", "version",
                                         None, request.parse_specifiers(spec, "requires-python"))
        return request.PythonRequest("", "default", "default")
    if proj is not None and not tools and proj.requires_python:
        origin = f"requires-python in {proj.root / 'pyproject.toml'}"
        return request.PythonRequest(proj.requires_python, origin, "version", None,
                                     request.parse_specifiers(proj.requires_python, origin))
    return request.PythonRequest("", "default", "default")


def start_dir(invocation: Invocation, environ: Mapping[str, str]) -> Path:
    base = Path.cwd()
    directory = invocation.directory or environ.get("UV_WORKING_DIR")
    if directory:
        base = base / directory
    proj = invocation.project or environ.get("UV_PROJECT")
    if proj:
        base = base / proj
    return base


def _nixpkgs_source(env_settings: dict[str, Any], proj_settings: dict[str, Any],
                    user: dict[str, Any], proj: project.Project | None
                    ) -> tuple[nix.Source, bool]:
    """The first source found, and whether it is the project's own (needs trust)."""
    if "nixpkgs" in env_settings:
        return env_settings["nixpkgs"], False
    if "nixpkgs" in proj_settings:
        return proj_settings["nixpkgs"], True
    if proj is not None:
        locked = nix.flake_lock_nixpkgs(proj.root / "flake.lock")
        if locked:
            return nix.Source("flake", locked, f"{proj.root / 'flake.lock'}"), True
    if "nixpkgs" in user:
        return user["nixpkgs"], False
    return nix.Source("flake", "flake:nixpkgs", "default"), False


def _libraries(env_settings: dict[str, Any], proj_settings: dict[str, Any],
               user: dict[str, Any]) -> list[str]:
    default_libs = next((s["default-libraries"] for s in (env_settings, proj_settings, user)
                         if "default-libraries" in s), list(DEFAULT_LIBRARIES))
    libraries: list[str] = []
    for lib in [*default_libs, *user.get("libraries", []), *proj_settings.get("libraries", []),
                *env_settings.get("libraries", [])]:
        if lib not in libraries:
            libraries.append(lib)
    return libraries


def gather(invocation: Invocation, environ: Mapping[str, str]) -> Inputs:
    warnings: list[str] = []
    start = start_dir(invocation, environ)
    if not start.is_dir():
        raise UserError(f"directory {start} does not exist; check --directory/--project",
                        EXIT_CONFIG)
    start = start.resolve()
    watched: list[Path] = []
    script: Path | None = None
    script_meta: dict[str, Any] | None = None
    if invocation.script and invocation.script != "-":
        candidate = Path.cwd() / (invocation.directory or "") / invocation.script
        if candidate.is_file():
            script = candidate.resolve()
            watched.append(script)
            script_meta = project.script_metadata(script)
    tools = invocation.command[:1] == ("tool",)
    proj = None if (script_meta is not None or tools) else project.find(start)
    if proj is not None:
        watched.extend(proj.examined)
        flake_lock = proj.root / "flake.lock"
        watched.append(flake_lock)
    user, config_path = user_settings(environ, warnings)
    watched.append(config_path)
    proj_settings = _settings(proj.settings, f"[tool.uvx-nix] of {proj.root / 'pyproject.toml'}",
                              warnings) if proj else {}
    env_settings = _settings(_env_settings(environ), "UVX_NIX_* variables", warnings)

    nixpkgs, project_source = _nixpkgs_source(env_settings, proj_settings, user, proj)
    libraries = _libraries(env_settings, proj_settings, user)
    strategy = next((s["strategy"] for s in (env_settings, proj_settings, user)
                     if "strategy" in s), "interpreter")
    if strategy == "nix-ld" and not nix_ld_present(environ):
        raise UserError(
            "strategy 'nix-ld' needs nix-ld, which is not enabled here (no NIX_LD, no "
            "/run/current-system/sw/share/nix-ld); enable programs.nix-ld in your NixOS "
            "configuration or use strategy 'interpreter'", EXIT_CONFIG)
    auto = next((s["auto-libraries"] for s in (env_settings, proj_settings, user)
                 if "auto-libraries" in s), True)
    allow_unfree = next((s["allow-unfree"] for s in (env_settings, proj_settings, user)
                         if "allow-unfree" in s), False)

    python = python_request(invocation, environ, start, proj, script_meta, watched)
    committed_lock: Path | None = None
    if proj is not None:
        lock_dir = proj.root
        if not os.access(lock_dir, os.W_OK):
            warnings.append(f"{lock_dir} is not writable; keeping uvx-nix.lock in the user cache")
            lock_dir = paths.cache_dir(environ) / "projects" / _digest(str(proj.root))
            committed_lock = proj.root / "uvx-nix.lock"
            watched.append(committed_lock)
    else:
        key = json.dumps([python.kind, python.implementation, [str(c) for c in python.clauses],
                          nixpkgs.ref, libraries, strategy])
        lock_dir = paths.cache_dir(environ) / "scripts" / _digest(key)
    return Inputs(
        system=current_system(),
        start=start,
        project=proj,
        script=script,
        python=python,
        nixpkgs=nixpkgs,
        libraries=tuple(libraries),
        strategy=strategy,
        auto_libraries=auto,
        lock_dir=lock_dir,
        watched=tuple(dict.fromkeys(watched)),
        warnings=tuple(warnings),
        project_source=project_source,
        committed_lock=committed_lock,
        allow_unfree=allow_unfree,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:20]
