"""The build toolchain: what a build backend uv starts sees, from the project's locked nixpkgs.

When uv builds a distribution from source (an sdist, a git or path dependency, the project
itself, ``uv build``), its build backend needs a C compiler, ``pkg-config``, ``make`` and the
headers, ``.pc`` files and ``*-config`` programs of the libraries it links.  uvx-nix gives
them from the same nixpkgs as the interpreter, and only to the build:

* On a miss, :func:`prepare` writes a hook directory in the user cache (``sitecustomize.py``,
  a copy of ``injected/build_hook.py``, and ``build.json``: the locked nixpkgs, the libraries, where
  to root the result); the hot path puts that directory in front of ``PYTHONPATH`` for uv.
* The hook does nothing in any Python but a build backend uv started (see ``_build_hook``).
  There, the first time, it asks this module (``hook_main env``) to realise ``build.nix``:
  one ``nix build`` that GC-roots ``stdenv.cc``, ``pkg-config``, ``gnumake`` (and ``cargo``,
  ``rustc`` for a Rust build) and the libraries' outputs, and writes the variables
  (:func:`variables`) to ``env.json`` beside the hook.  Later builds read that file: no Nix.
* When the build fails, ``hook_main fix`` reads its output
  (:func:`uvx_nix.build.diagnose.diagnose`), names the attribute that provides what was
  missing and the command that adds it; in automatic mode (``auto-build-libraries``) it
  checks the attribute against the locked nixpkgs, adds it to ``[tool.uvx-nix]
  build-libraries`` and returns the environment for one more attempt.

Nothing here runs on a hit that builds nothing.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from uvx_nix import files, paths
from uvx_nix.build import diagnose
from uvx_nix.errors import UserError
from uvx_nix.native import sonames
from uvx_nix.resolve import attributes, nix, project, specs, workdir

if TYPE_CHECKING:
    from uvx_nix.resolve.resolution import Resolved

BUILD_NIX = Path(__file__).with_name("build.nix")
HOOK_SOURCE = Path(__file__).parents[1] / "injected" / "build_hook.py"
CONFIG = "build.json"
DEFAULT_SALT = "x86_64_unknown_linux_gnu"


# ---------------------------------------------------------------------------------------
# The hook directory (written on a miss)


def _library_spec(names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"name": name, "paths": [alt.split(".") for alt in sonames.names(name)]}
            for name in names]


def build_libraries(resolved: Resolved) -> list[str]:
    """The libraries whose headers, .pc files and programs a build sees: the project's
    libraries (the defaults included) and its build-libraries."""
    inp = resolved.inputs
    return list(dict.fromkeys([*inp.libraries, *inp.build_libraries]))


def prepare(resolved: Resolved, environ: Mapping[str, str]) -> str:
    """Write (or find) the hook directory for this resolution; its path, or "" when it cannot
    be written (builds then see no toolchain, and nothing else changes)."""

    inp = resolved.inputs
    pyproject = inp.project.root / "pyproject.toml" if inp.project is not None else None
    config = {
        "format": 1,
        "system": inp.system,
        "nixpkgs": specs.locked_source(resolved.lock),
        "allowUnfree": inp.allow_unfree,
        "libraries": build_libraries(resolved),
        "lockfile": str(inp.lock_path),
        "lockDir": str(inp.lock_dir),
        "pyproject": str(pyproject) if pyproject is not None and not inp.one_off else "",
        "auto": inp.auto_build_libraries,
        # uvx-nix itself, to realise the toolchain from inside the build (its Python and the
        # directories its modules come from).
        "wrapper": [sys.executable, [p for p in sys.path if p]],
    }
    raw = json.dumps(config, sort_keys=True, indent=1).encode()
    where = paths.cache_dir(environ) / "build-hooks" / paths.digest(raw)
    try:
        where.mkdir(parents=True, exist_ok=True)
        for name, data in (("sitecustomize.py", HOOK_SOURCE.read_bytes()), (CONFIG, raw)):
            target = where / name
            try:
                if target.read_bytes() == data:
                    continue
            except OSError:
                pass
            files.write_atomic(target, data, 0o644)
    except OSError:
        return ""
    return str(where)


# ---------------------------------------------------------------------------------------
# Realising the toolchain (inside a build)


def _spec(config: Mapping[str, Any], libraries: Sequence[str], rust: bool) -> dict[str, Any]:
    return {
        "system": config["system"],
        "nixpkgs": config["nixpkgs"],
        "allowUnfree": bool(config.get("allowUnfree")),
        "rust": rust,
        "libraries": _library_spec(libraries),
    }


def _salt(manifest: Mapping[str, Any]) -> str:
    cc = manifest.get("cc") or {}
    salt = cc.get("suffixSalt")
    if isinstance(salt, str) and re.fullmatch(r"[A-Za-z0-9_]+", salt):
        return salt
    arch = str(manifest.get("system", "x86_64-linux")).split("-")[0]
    return f"{arch}_unknown_linux_gnu"


def variables(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The build environment a manifest of build.nix describes, as nixpkgs' stdenv would set
    it for these inputs: tools first on PATH; the cc-wrapper's, bintools-wrapper's and
    pkg-config-wrapper's host role (NIX_*_WRAPPER_TARGET_HOST_<salt>), so they read
    NIX_CFLAGS_COMPILE (``-isystem`` each library's include dir), NIX_LDFLAGS (``-L`` its lib
    dir) and PKG_CONFIG_PATH; CC and CXX unless you set them; and NIX_DONT_SET_RPATH, so a
    built extension carries no store path in its RUNPATH: uv caches built wheels beyond any
    GC root, and the extension finds its libraries as wheels do (uvx-nix's library path)."""
    cc = manifest.get("cc") or {}
    bins: list[str] = []
    store: list[str] = []
    if cc.get("out"):
        bins.append(f"{cc['out']}/bin")
        store.append(cc["out"])
    if cc.get("bintools"):
        bins.append(f"{cc['bintools']}/bin")
        store.append(cc["bintools"])
    for tool in manifest.get("tools", []):
        bins.append(f"{tool['out']}/bin")
        store.append(tool["out"])
    cflags: list[str] = []
    ldflags: list[str] = []
    pkgconfig: list[str] = []
    for lib in manifest.get("libraries", []):
        dev, out, binout = lib["dev"], lib["lib"], lib["bin"]
        store += [dev, out, binout]
        for directory in (f"{dev}/bin", f"{binout}/bin"):
            if os.path.isdir(directory):
                bins.append(directory)
        if os.path.isdir(f"{dev}/include"):
            cflags += ["-isystem", f"{dev}/include"]
        if os.path.isdir(f"{out}/lib"):
            ldflags.append(f"-L{out}/lib")
        for directory in (f"{dev}/lib/pkgconfig", f"{dev}/share/pkgconfig",
                          f"{out}/lib/pkgconfig"):
            if os.path.isdir(directory):
                pkgconfig.append(directory)
    salt = _salt(manifest)
    prepend: list[list[str]] = [["PATH", ":".join(dict.fromkeys(bins)), ":"]]
    if cflags:
        prepend.append(["NIX_CFLAGS_COMPILE", " ".join(cflags), " "])
    if ldflags:
        prepend.append(["NIX_LDFLAGS", " ".join(dict.fromkeys(ldflags)), " "])
    if pkgconfig:
        prepend.append(["PKG_CONFIG_PATH", ":".join(dict.fromkeys(pkgconfig)), ":"])
    compiler = "clang" if cc.get("isClang") else "gcc"
    return {
        "paths": sorted(set(store)),
        "set": {
            f"NIX_CC_WRAPPER_TARGET_HOST_{salt}": "1",
            f"NIX_BINTOOLS_WRAPPER_TARGET_HOST_{salt}": "1",
            f"NIX_PKG_CONFIG_WRAPPER_TARGET_HOST_{salt}": "1",
            "NIX_DONT_SET_RPATH": "1",
        },
        "default": {"CC": "cc", "CXX": "c++"} if cc.get("out") else {},
        "prepend": prepend,
        "compiler": compiler,
    }


def realise(config: Mapping[str, Any], config_dir: Path, environ: Mapping[str, str],
            rust: bool, extra: Sequence[str] = ()) -> tuple[Path, list[str]]:
    """Build and root the toolchain; write its variables beside the hook.  Returns the
    variables file and what the locked nixpkgs lacks."""
    libraries = list(dict.fromkeys([*config["libraries"], *extra]))
    spec = _spec(config, libraries, rust)
    suffix = "-rust" if rust else ""
    gcroot = workdir.gcroot(Path(config["lockDir"]), f"{config['system']}-build{suffix}")
    manifest = nix.build(spec, gcroot, environ, what="realising the build toolchain",
                         quiet=True, expression=BUILD_NIX)
    data = variables(manifest)
    missing = [str(m) for m in manifest.get("missing") or []]
    if missing:
        data["message"] = (f"the locked nixpkgs has no {', '.join(missing)}; the build runs "
                           "without it")
    name = f"env{suffix}.json" if not extra else \
        f"env{suffix}-{paths.digest(json.dumps(libraries), 12)}.json"
    target = config_dir / name
    files.write_atomic(target, json.dumps(data, indent=1).encode(), 0o644)
    return target, missing


# ---------------------------------------------------------------------------------------
# From the failure to the fix


def add_to_pyproject(pyproject: Path, attributes: Sequence[str]) -> list[str]:
    """Append attributes to ``[tool.uvx-nix] build-libraries`` (formatting kept, atomic
    write); returns those that were added."""
    return project.add_to_list(pyproject, "build-libraries", attributes)


def _missing(lockfile: Path, candidates: Sequence[str], environ: Mapping[str, str]
             ) -> list[str]:
    """Which candidates the locked nixpkgs lacks (one Nix evaluation); all without a lock."""

    missing = attributes.missing_attributes(lockfile, list(candidates), environ, quiet=True)
    return list(candidates) if missing is None else missing


def _available(lockfile: Path, candidates: Sequence[str], environ: Mapping[str, str]
               ) -> str | None:
    """The first candidate the locked nixpkgs has."""
    missing = _missing(lockfile, candidates, environ)
    return next((c for c in candidates if c not in missing), None)


def _fix(config: Mapping[str, Any], config_dir: Path, environ: Mapping[str, str], rust: bool,
         output: str) -> dict[str, Any]:
    finding = diagnose.diagnose(output)
    if finding is None:
        return {}
    candidates = list(finding.candidates)
    together = set(candidates) == {"cargo", "rustc"}  # both needed, not alternatives
    configured = set(config["libraries"])
    provided = [c for c in candidates if c in configured]
    if (together and len(provided) == len(candidates)) or (provided and not together):
        return {"message": f"the build needs {finding.what}, which {', '.join(provided)} (a "
                           "build library) should provide: check its outputs in the locked "
                           "nixpkgs"}
    names = candidates if together else candidates[:1]
    if not together and len(candidates) > 1:
        # Renamed or split in some nixpkgs releases: name the one the locked nixpkgs has.
        names = [_available(Path(config["lockfile"]), candidates, environ) or candidates[0]]
    if not config.get("auto"):
        return {"message": f"the build needs {finding.what}, which nixpkgs' "
                           f"{' and '.join(names)} provide{'' if together else 's'}; add "
                           f"{'them' if together else 'it'} with "
                           f"`{diagnose.add_command(names)}` (or set auto-build-libraries = true)"}
    if together:
        missing = _missing(Path(config["lockfile"]), candidates, environ)
        wanted = [] if missing else candidates
    else:
        found = _available(Path(config["lockfile"]), candidates, environ)
        wanted = [found] if found else []
    if not wanted:
        return {"message": f"the build needs {finding.what}, but the locked nixpkgs has no "
                           f"{' or '.join(candidates)}; add an attribute it has to "
                           "[tool.uvx-nix] build-libraries"}
    where = "for this build only (no pyproject.toml to record it in)"
    if config.get("pyproject"):
        add_to_pyproject(Path(config["pyproject"]), wanted)
        where = f"to [tool.uvx-nix] build-libraries in {config['pyproject']}"
    target, missing_tools = realise(config, config_dir, environ, rust, wanted)
    if set(wanted) & set(missing_tools):
        return {"message": f"the build needs {finding.what}; the locked nixpkgs has no "
                           f"{', '.join(missing_tools)}"}
    return {"message": f"added {', '.join(wanted)} {where} (the build needs {finding.what}); "
                       "building again", "env": str(target)}


def _usable(env_file: Path) -> bool:
    """A variables file another build wrote whose store paths are all still there."""
    try:
        data = json.loads(env_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and all(os.path.exists(p) for p in data.get("paths", []))


def hook_main(argv: Sequence[str]) -> int:
    """``CONFIG env [--rust]`` or ``CONFIG fix [--rust]`` (the failed build's output on stdin):
    one JSON object on stdout for the hook; messages for the user go in it, never a
    traceback into the build's output."""
    environ = os.environ
    answer: dict[str, Any] = {}
    try:
        config_path = Path(argv[0])
        config = json.loads(config_path.read_text(encoding="utf-8"))
        rust = "--rust" in argv[2:]
        if argv[1] == "env":
            # uv builds several distributions at once: one Nix run, the others wait for it.
            with FileLock(str(config_path.parent / "lock"), timeout=600):
                ready = config_path.parent / ("env-rust.json" if rust else "env.json")
                if not _usable(ready):
                    ready, _missing = realise(config, config_path.parent, environ, rust)
            answer = {"env": str(ready)}
        elif argv[1] == "fix":
            output = sys.stdin.buffer.read().decode("utf-8", "replace")
            answer = _fix(config, config_path.parent, environ, rust, output)
    except UserError as exc:
        answer = {"message": exc.message.splitlines()[0]}
    except Exception as exc:  # the build must go on; the user sees one line
        if environ.get("UVX_NIX_DEBUG") == "1":
            raise
        answer = {"message": f"internal error while preparing the build toolchain: "
                             f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer))
    return 0
