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

from uvx_nix import attribute, paths
from uvx_nix.argv import Invocation
from uvx_nix.errors import EXIT_CONFIG, UserError
from uvx_nix.native import scan
from uvx_nix.resolve import interpreter, project, sources
from uvx_nix.resolve import python_request as request

# Bump when the same inputs would resolve differently (the resolution semantics,
# not every release): a new value re-resolves every project once.
RESOLVER_VERSION = 2
DEFAULT_LIBRARIES = ("stdenv.cc.cc.lib", "zlib")
STRATEGIES = ("interpreter", "nix-ld")
SETTINGS = ("nixpkgs", "libraries", "default-libraries", "strategy", "auto-libraries",
            "allow-unfree", "build-libraries", "auto-build-libraries")
MAX_LIBRARIES = 100


@dataclass(frozen=True)
class Inputs:
    system: str
    start: Path
    project: project.Project | None
    script: Path | None
    python: request.PythonRequest
    nixpkgs: sources.Source
    libraries: tuple[str, ...]
    strategy: str
    auto_libraries: bool
    lock_dir: Path
    watched: tuple[Path, ...]
    warnings: tuple[str, ...] = ()
    # A uv config file (uv.toml, [tool.uv], --config-file) sets python-preference: uvx-nix
    # then leaves the choice to it (see environment.preference_given).
    preference: bool = False
    # A request that is not the project's own: its lock and GC root live in the user cache.
    one_off: bool = False
    # True when the nixpkgs source comes from the project (pyproject.toml or flake.lock),
    # not from the user: its first use needs `uvx-nix nix allow` (see trust.py).
    project_source: bool = False
    # A read-only project's own uvx-nix.lock, honoured when lock_dir had to move to the cache.
    committed_lock: Path | None = None
    # nixpkgs may evaluate packages with an unfree licence (cudaPackages.*): the `allow-unfree`
    # setting, never the user's own NIXPKGS_ALLOW_UNFREE or nixpkgs config.
    allow_unfree: bool = False
    # Attributes whose headers, .pc files and programs builds see (beside the libraries'),
    # realised only when uv runs a build backend (see toolchain.py).
    build_libraries: tuple[str, ...] = ()
    # A build that fails on a missing header/.pc/*-config/library adds its attribute and retries.
    auto_build_libraries: bool = False

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
        if self.build_libraries:  # likewise
            data["build-libraries"] = list(self.build_libraries)
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()


def current_system() -> str:
    """Nix's name for this platform (``x86_64-linux``, ``aarch64-darwin``...)."""
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    kernel = "darwin" if platform.system() == "Darwin" else "linux"
    return f"{arch}-{kernel}"


def validate_attribute(value: object, origin: str) -> str:
    """A nixpkgs attribute path such as ``stdenv.cc.cc.lib`` or ``xorg.libX11``."""
    if not attribute.is_attribute(value):
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
        out["nixpkgs"] = sources.parse_source(data["nixpkgs"], origin)
    for key in ("libraries", "default-libraries", "build-libraries"):
        if key in data:
            out[key] = _library_list(data[key], f"{key} in {origin}")
    if "strategy" in data:
        if data["strategy"] not in STRATEGIES:
            raise UserError(
                f"'strategy' in {origin} must be one of {', '.join(STRATEGIES)}", EXIT_CONFIG)
        out["strategy"] = data["strategy"]
    for key in ("auto-libraries", "allow-unfree", "auto-build-libraries"):
        if key in data:
            if not isinstance(data[key], bool):
                raise UserError(f"'{key}' in {origin} must be true or false", EXIT_CONFIG)
            out[key] = data[key]
    return out


def _env_settings(environ: Mapping[str, str], warnings: list[str]) -> dict[str, Any]:
    """The UVX_NIX_* settings, each validated under its own name (an error names it)."""
    data: dict[str, Any] = {}
    for key, var, empty_counts in (("nixpkgs", "UVX_NIX_NIXPKGS", False),
                                   ("libraries", "UVX_NIX_LIBRARIES", True),
                                   ("default-libraries", "UVX_NIX_DEFAULT_LIBRARIES", True),
                                   ("build-libraries", "UVX_NIX_BUILD_LIBRARIES", True),
                                   ("strategy", "UVX_NIX_STRATEGY", False)):
        if var in environ and (empty_counts or environ[var]):
            data.update(_settings({key: environ[var]}, var, warnings))
    if environ.get("UVX_NIX_AUTO_LIBRARIES"):
        data["auto-libraries"] = environ["UVX_NIX_AUTO_LIBRARIES"].lower() in ("1", "true", "yes")
    if environ.get("UVX_NIX_AUTO_BUILD_LIBRARIES"):
        data["auto-build-libraries"] = environ["UVX_NIX_AUTO_BUILD_LIBRARIES"].lower() in (
            "1", "true", "yes")
    if environ.get("UVX_NIX_ALLOW_UNFREE"):
        data["allow-unfree"] = environ["UVX_NIX_ALLOW_UNFREE"].lower() in ("1", "true", "yes")
    return data


def user_settings(environ: Mapping[str, str], warnings: list[str]) -> tuple[dict[str, Any], Path]:
    path = paths.config_file(environ)
    if not path.is_file():
        return {}, path
    return _settings(project.read_toml(path, None), str(path), warnings), path


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
                    ) -> tuple[sources.Source, bool]:
    """The first source found, and whether it is the project's own (needs trust)."""
    if "nixpkgs" in env_settings:
        return env_settings["nixpkgs"], False
    if "nixpkgs" in proj_settings:
        return proj_settings["nixpkgs"], True
    if proj is not None:
        locked = sources.flake_lock_nixpkgs(proj.root / "flake.lock")
        if locked:
            return sources.Source("flake", locked, f"{proj.root / 'flake.lock'}"), True
    if "nixpkgs" in user:
        return user["nixpkgs"], False
    return sources.Source("flake", "flake:nixpkgs", "default"), False


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


def _script(invocation: Invocation, stdin: bytes | None, watched: list[Path]
            ) -> tuple[Path | None, dict[str, Any] | None]:
    """The script `uv run` was given (a file, or ``-``: stdin) and its PEP 723 metadata."""
    if invocation.script == "-":
        if stdin is None:
            return None, None
        return None, project.script_metadata_text(stdin.decode("utf-8", "replace"),
                                                  "the script on standard input")
    if not invocation.script:
        return None, None
    candidate = Path.cwd() / (invocation.directory or "") / invocation.script
    watched.append(candidate)
    if not candidate.is_file():
        return None, None
    script = candidate.resolve()
    watched.append(script)
    return script, project.script_metadata(script)


def gather(invocation: Invocation, environ: Mapping[str, str],
           stdin: bytes | None = None) -> Inputs:
    warnings: list[str] = []
    start = start_dir(invocation, environ)
    if not start.is_dir():
        raise UserError(f"directory {start} does not exist; check --directory/--project",
                        EXIT_CONFIG)
    start = start.resolve()
    watched: list[Path] = []
    script, script_meta = _script(invocation, stdin, watched)
    script_dir = script.parent if script is not None else None
    tools = invocation.command[:1] == ("tool",)
    proj = None
    if script_meta is None and not tools:
        examined: list[Path] = []
        try:
            proj = project.find(start, examined)
        except project.UnparsableError:
            # A pyproject.toml uv cannot parse either: uv reports it in its own words (and
            # exit code) for the commands that read the project; resolve as outside a project.
            # (A file refused before reading, a FIFO or a link out, stays uvx-nix's error.)
            proj = None
        finally:
            watched.extend(examined)
    if proj is not None:
        flake_lock = proj.root / "flake.lock"
        watched.append(flake_lock)
    user, config_path = user_settings(environ, warnings)
    watched.append(config_path)
    proj_settings = _settings(proj.settings, f"[tool.uvx-nix] of {proj.root / 'pyproject.toml'}",
                              warnings) if proj else {}
    env_settings = _env_settings(environ, warnings)

    nixpkgs, project_source = _nixpkgs_source(env_settings, proj_settings, user, proj)
    libraries = _libraries(env_settings, proj_settings, user)
    strategy = next((s["strategy"] for s in (env_settings, proj_settings, user)
                     if "strategy" in s), "interpreter")
    if strategy == "nix-ld" and not scan.nix_ld_present(environ):
        raise UserError(
            "strategy 'nix-ld' needs nix-ld, which is not enabled here (no NIX_LD, no "
            "/run/current-system/sw/share/nix-ld); enable programs.nix-ld in your NixOS "
            "configuration or use strategy 'interpreter'", EXIT_CONFIG)
    auto = next((s["auto-libraries"] for s in (env_settings, proj_settings, user)
                 if "auto-libraries" in s), True)
    allow_unfree = next((s["allow-unfree"] for s in (env_settings, proj_settings, user)
                         if "allow-unfree" in s), False)
    build_libraries = list(dict.fromkeys(
        [*user.get("build-libraries", []), *proj_settings.get("build-libraries", []),
         *env_settings.get("build-libraries", [])]))
    auto_build = next((s["auto-build-libraries"] for s in (env_settings, proj_settings, user)
                       if "auto-build-libraries" in s), False)

    python = interpreter.python_request(invocation, environ, start, proj, script_meta, watched,
                                        script_dir)
    preference = interpreter.uv_config_preference(invocation, environ, start, proj, tools, watched)
    key = json.dumps([*interpreter.request_key(python), nixpkgs.ref, libraries, strategy])
    own = interpreter.project_request(proj, environ, watched) if proj is not None else None
    one_off = own is not None and interpreter.request_key(python) != interpreter.request_key(own)
    if own is not None and not one_off:
        python = own  # the same request, as the project itself spells it (for the lock)
    lock_dir, committed_lock = _lock_place(environ, proj, one_off, key, warnings, watched)
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
        preference=preference,
        one_off=one_off,
        project_source=project_source,
        committed_lock=committed_lock,
        allow_unfree=allow_unfree,
        build_libraries=tuple(build_libraries),
        auto_build_libraries=auto_build,
    )


def _lock_place(environ: Mapping[str, str], proj: project.Project | None, one_off: bool,
                key: str, warnings: list[str], watched: list[Path]) -> tuple[Path, Path | None]:
    """Where the lock lives (and a read-only project's committed lock to honour)."""
    if proj is None:
        return paths.cache_dir(environ) / "scripts" / paths.digest(key), None
    if one_off:
        # Not the project's own request (--python, UV_PYTHON, a member's pin for a command
        # that reads it, `uv venv` elsewhere): resolved and rooted outside the project's lock.
        return oneoff_dir(environ, proj.root) / paths.digest(key), None
    if os.access(proj.root, os.W_OK):
        return proj.root, None
    warnings.append(f"{proj.root} is not writable; keeping uvx-nix.lock in the user cache")
    committed = proj.root / "uvx-nix.lock"
    watched.append(committed)
    return paths.cache_dir(environ) / "projects" / paths.digest(str(proj.root)), committed


def oneoff_dir(environ: Mapping[str, str], root: Path) -> Path:
    """Where one-off requests of the project at ``root`` keep their lock and GC root."""
    return paths.cache_dir(environ) / "oneoff" / paths.digest(str(root))



