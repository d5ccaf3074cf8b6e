"""``uvx-nix nix doctor``: native libraries the venv cannot load, programs that cannot start.

Scans the venv (:mod:`uvx_nix.native.scan`: what cannot load or start), maps each missing
soname to a nixpkgs attribute (:mod:`uvx_nix.native.suggest`); sonames that failed to load at
run time (recorded by the hook) count as missing too, and a venv that does not carry the
locked libraries is a problem.

Exit codes: 0 nothing to fix; 1 problems found (one line each, naming the fix);
70 no venv (run ``uvx-nix sync`` first) or bad configuration.

``--fix`` adds the attributes to ``[tool.uvx-nix] libraries`` (formatting and comments
kept), re-locks, and patches each program that cannot start (:mod:`uvx_nix.native.patch`:
ELF interpreter = the locked glibc's loader, RUNPATH += the locked library dirs, never in
uv's cache); :func:`uvx_nix.prepare.programs.after_uv` re-applies the patch when uv
re-installs the original (``uv sync --reinstall``, an upgrade).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvx_nix import argv, commands, output
from uvx_nix import files as filesys
from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, UserError, display_path, printable
from uvx_nix.native import elf, patch, scan, sonames, suggest, venvs
from uvx_nix.prepare import programs
from uvx_nix.prepare import venv as venv_mod
from uvx_nix.resolve import attributes, inputs, project, resolution

if TYPE_CHECKING:
    from uvx_nix.resolve.inputs import Inputs
    from uvx_nix.resolve.resolution import Resolved

EXIT_PROBLEMS = 1
_FIX = "uvx-nix nix doctor --fix"


def arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.description = ("Find native libraries the venv's wheels cannot load and venv "
                          "programs that cannot start on NixOS.")
    parser.epilog = ("exit codes: 0 nothing to fix, 1 problems found, 70 no venv or bad "
                     "configuration (uvx-nix's other codes as in `uvx-nix nix --help`)")
    parser.add_argument("--directory", help="run as if started in this directory")
    parser.add_argument("--fix", action="store_true",
                        help="add the needed libraries to [tool.uvx-nix] libraries, re-lock, "
                             "and patch venv programs so they start")
    parser.add_argument("--json", action="store_true",
                        help="print machine-readable results (errors too)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--venv", metavar="PATH",
                       help="check this environment instead of the project's")
    which.add_argument("--tools", action="store_true",
                       help="check every `uv tool install` environment")


def _inputs(args: argparse.Namespace, environ: Mapping[str, str]) -> Inputs:
    return inputs.gather(argv.sync(args.directory), environ)


def _venv(inp: Inputs, environ: Mapping[str, str],
          chosen: str | None = None) -> tuple[Path, Path]:
    """The venv to inspect and the directory it must stay inside."""
    if chosen:
        path = Path(os.path.abspath(os.path.join(inp.start, chosen)))
        if path.name.startswith(("python", "pypy")) and path.parent.name == "bin":
            path = path.parent.parent  # the venv's python was named
        base = path
        if os.path.islink(path):
            raise UserError(f"{display_path(path)} is a symlink; name the environment's own "
                            "directory", EXIT_CONFIG)
    elif inp.project is not None:
        path, base = venvs.venv_path(inp.project.root, environ), inp.project.root
    elif environ.get("VIRTUAL_ENV"):  # one you activated yourself
        path = Path(environ["VIRTUAL_ENV"])
        base = path
    else:
        path, base = inp.start / ".venv", inp.start
        if os.path.islink(path) or not filesys.inside(path, base):
            raise UserError(f"{display_path(path)} is a symlink or leads outside "
                            f"{display_path(base)}; uvx-nix does not inspect or patch it",
                            EXIT_CONFIG)
    if not (path / "pyvenv.cfg").is_file():
        if chosen:
            raise UserError(f"{display_path(path)} is not a virtual environment (no "
                            "pyvenv.cfg); name one uv made", EXIT_CONFIG)
        if inp.project is None:
            raise UserError(f"no project here (no pyproject.toml in {display_path(inp.start)} "
                            "or above) and no virtual environment at "
                            f"{display_path(path)}; run it in a project, or name an "
                            "environment with --venv PATH (--tools for `uv tool` ones)",
                            EXIT_CONFIG)
        raise UserError(f"no virtual environment at {display_path(path)}; run `uvx-nix sync` "
                        "first", EXIT_CONFIG)
    away = scan.outside_parts(path)
    if away:
        raise UserError(f"{display_path(away[0])} leads outside {display_path(path)} (to "
                        f"{display_path(os.path.realpath(away[0]))}); uvx-nix does not inspect "
                        "or patch it: recreate the venv with `uv venv`", EXIT_CONFIG)
    return path, base


def _lib_dirs(resolved: Resolved) -> list[str]:
    return [f"{lib.path}/lib" for lib in resolved.entry.libraries]


def _rel(venv: Path, path: str) -> str:
    """A venv file's name for the report: relative, escaped when a repository named it to
    draw on the terminal."""
    try:
        return display_path(Path(path).relative_to(venv))
    except ValueError:
        return display_path(path)


@dataclass
class _Findings:
    scan: scan.Scan
    attributes: dict[str, str | None]
    driver: dict[str, list[str]]  # provided by the driver dir (present)
    needs_driver: dict[str, list[str]]  # driver-only, but no driver dir
    missing: dict[str, list[str]]  # everything else that fails
    unrecorded: bool = False  # the venv does not carry the locked libraries (its .pth)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.needs_driver or self.scan.unstartable
                    or self.unrecorded)


RUN_TIME = "(a load at run time)"


def recorded_libs(venv: Path) -> list[str] | None:
    """The library directories the venv carries (its ``_uvx_nix_scope.pth``): what its
    Python finds however it starts.  None when it carries none."""

    found: list[str] | None = None
    for site in venvs.site_dirs(venv):
        try:
            line = filesys.read_bounded(site / venv_mod.HOOK_PTH, 1024 * 1024,
                                        within=site).decode("utf-8")
            if not (site / venv_mod.HOOK_MODULE).is_file():
                continue
            call = "install(" + line.split("_uvx_nix_scope.install(", 1)[1].strip()
            node = ast.parse(call, mode="eval").body
            if not isinstance(node, ast.Call) or not node.args:
                continue
            dirs = ast.literal_eval(node.args[0])  # data only: never executed
        except (OSError, UserError, UnicodeDecodeError, IndexError, ValueError, SyntaxError,
                TypeError):
            continue
        if isinstance(dirs, tuple) and all(isinstance(d, str) for d in dirs):
            found = [*(found or []), *dirs]
    return found


def _findings(venv: Path, resolved: Resolved, environ: Mapping[str, str],
              root: Path = Path("/")) -> _Findings:
    """What a plain launch of the venv's Python sees: the libraries the venv itself carries
    (no variable from uvx-nix), and the loads that already failed at run time."""
    recorded = recorded_libs(venv)
    locked = _lib_dirs(resolved)
    result = scan.scan(venv, recorded or [], resolved.entry.interpreter, environ)
    for site in venvs.site_dirs(venv):
        for soname in venv_mod.recorded_misses(site):
            if not any(os.path.exists(os.path.join(d, soname)) for d in recorded or []):
                result.missing.setdefault(soname, []).append(RUN_TIME)
    unrecorded = recorded is None or any(d not in recorded for d in locked)
    driver_dir = root / suggest.DRIVER_DIR.lstrip("/")
    present = set(os.listdir(driver_dir)) if driver_dir.is_dir() else set()
    driver: dict[str, list[str]] = {}
    needs_driver: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for soname, files in result.missing.items():
        if soname in present:
            driver[soname] = files
        elif sonames.is_driver(soname):
            needs_driver[soname] = files
        else:
            missing[soname] = files
    return _Findings(result, suggest.suggest(missing, environ), driver, needs_driver, missing,
                     unrecorded)


def _report(findings: _Findings, venv: Path, fixed: bool = False) -> None:
    scan_ = findings.scan
    print(f"Checked {scan_.files} ELF file(s) in {display_path(venv)}")
    for soname, files in findings.driver.items():
        print(f"  {soname}: provided by the NVIDIA/Mesa driver at {suggest.DRIVER_DIR} "
              f"(needed by {_rel(venv, files[0])})")
    if findings.ok:
        print("All native libraries resolve and every program in bin/ can start"
              + (" (after fixing)" if fixed else ""))
        return
    count = (len(findings.missing) + len(findings.needs_driver) + len(scan_.unstartable)
             + int(findings.unrecorded))
    print(f"Found {count} problem(s):")
    if findings.unrecorded:
        print(f"  {display_path(venv)} does not carry the locked native libraries (its "
              f"_uvx_nix_scope.pth), so its Python started directly (an IDE, a kernel, "
              f"`env -i`) misses them; run `{_FIX}`")
    for soname, files in findings.missing.items():
        needer = _rel(venv, files[0]) + (f" and {len(files) - 1} more" if len(files) > 1 else "")
        attribute = findings.attributes.get(soname)
        if attribute:
            fix = f"add \"{attribute}\" to [tool.uvx-nix] libraries, or run `{_FIX}`"
        else:
            fix = ("no known nixpkgs attribute provides it (install nix-index for nix-locate); "
                   "add the right attribute to [tool.uvx-nix] libraries")
        print(f"  {soname} not found (needed by {needer}): {fix}")
    for soname, files in findings.needs_driver.items():
        print(f"  {soname} not found (needed by {_rel(venv, files[0])}): it comes with the "
              f"NVIDIA driver at {suggest.DRIVER_DIR}; enable the driver (hardware.graphics) "
              "on NixOS")
    for program, interp in sorted(scan_.unstartable.items()):
        print(f"  {_rel(venv, program)} cannot start: its ELF interpreter {interp or '?'} "
              f"is not in /nix/store (NixOS runs no generic-Linux programs without nix-ld); "
              f"run `{_FIX}`")


def _json(findings: _Findings, venv: Path) -> dict[str, Any]:
    return {
        "venv": str(venv),
        "ok": findings.ok,
        "scanned": findings.scan.files,
        "missing": [{"soname": s, "files": f, "attribute": findings.attributes.get(s)}
                    for s, f in findings.missing.items()],
        "driver": [{"soname": s, "files": f, "directory": suggest.DRIVER_DIR, "present": True}
                   for s, f in findings.driver.items()]
        + [{"soname": s, "files": f, "directory": suggest.DRIVER_DIR, "present": False}
           for s, f in findings.needs_driver.items()],
        "unstartable": [{"path": p, "interpreter": i}
                        for p, i in sorted(findings.scan.unstartable.items())],
        "libraries_recorded": not findings.unrecorded,
    }


def _fix(inp: Inputs, resolved: Resolved, venv: Path, base: Path, findings: _Findings,
         environ: Mapping[str, str], quiet: bool = False) -> Resolved:
    wanted: list[str] = []
    suggested = {s: a for s, a in findings.attributes.items() if a and a not in inp.libraries}
    if suggested:
        if inp.project is None:
            raise UserError("doctor --fix edits pyproject.toml, but there is no project; add "
                            f"{', '.join(dict.fromkeys(suggested.values()))} to "
                            "UVX_NIX_LIBRARIES instead", EXIT_CONFIG)
        # The first candidate that exists in the locked nixpkgs and really holds the library.
        checked = attributes.providers(inp.lock_path, suggested, environ)
        found = dict(suggested) if checked is None else checked
        missing = [s for s in suggested if found.get(s) is None]
        if missing:
            output.warn(f"the locked nixpkgs has no attribute that holds {', '.join(missing)}; "
                        "not added to [tool.uvx-nix] libraries (add an attribute it has, or run "
                        "`uvx-nix nix lock --upgrade`)")
        wanted = [a for a in dict.fromkeys(a for a in found.values() if a)
                  if a not in inp.libraries]
    if wanted and inp.project is not None:
        pyproject = inp.project.root / "pyproject.toml"
        added = project.add_libraries(pyproject, wanted) if wanted else []
        if added:
            output.notice(f"Added {', '.join(added)} to [tool.uvx-nix] libraries in "
                          f"{display_path(pyproject)}")
        inp = _inputs_again(inp, environ)
        resolved = resolution.ensure(inp, environ, quiet=quiet)
    if findings.scan.unstartable:
        loader_info = elf.read(resolved.entry.interpreter)
        if loader_info is None or not loader_info.interpreter:
            raise UserError(f"cannot read the ELF interpreter of {resolved.entry.interpreter}",
                            EXIT_NIX_FAILED)

        patchelf = programs.locked_patchelf(resolved.inputs.lock_path, environ, quiet)
        data = patch.load_patched(inp.lock_dir)
        lib_dirs = _lib_dirs(resolved)
        for program in sorted(findings.scan.unstartable):
            path = Path(program)
            original = patch.sha256_file(path)
            patch.patch_program(path, loader_info.interpreter, lib_dirs, patchelf, venv=venv,
                          root=base)
            data["files"][_rel(venv, program)] = {
                "original": original, "patched": patch.sha256_file(path),
                "interpreter": loader_info.interpreter, "lib_dirs": lib_dirs,
                "patchelf": patchelf, "stat": patch._stat_key(path)}
            output.notice(f"Patched {_rel(venv, program)} to start with {loader_info.interpreter}")
        patch.save_patched(inp.lock_dir, data)

    ours = inp.project is not None and venvs.safe_location(inp.project.root, environ) == venv
    if venv_mod.prepare(venv, ":".join(_lib_dirs(resolved)), inp.auto_libraries, project=ours):
        output.notice(f"Recorded the locked native libraries in {display_path(venv)}")
    for site in venvs.site_dirs(venv):
        venv_mod.clear_misses(site)
    return resolved


def _inputs_again(inp: Inputs, environ: Mapping[str, str]) -> Inputs:
    return inputs.gather(argv.sync(str(inp.start)), environ)


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """``uvx-nix nix doctor [--directory DIR] [--venv PATH | --tools] [--fix] [--json]``."""
    return commands.main([name, *argv], environ)


def run(name: str, args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if not args.json:
        return _command(args, environ)
    try:
        return _command(args, environ)
    except UserError as exc:
        return _json_error(exc)


def usage_error(exc: UserError, argv: Sequence[str]) -> int:
    """With --json, every outcome is JSON on stdout, a usage error too."""
    if "--json" not in argv:
        raise exc
    return _json_error(exc)


def _json_error(exc: UserError) -> int:
    print(json.dumps({"ok": False, "error": printable(exc.message),
                      "exit_code": exc.exit_code}, indent=2, sort_keys=True))
    return exc.exit_code


def _command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    inp = _inputs(args, environ)
    if args.tools:
        base = venv_mod.tool_dir(environ)
        try:
            chosen = [str(base / n) for n in sorted(os.listdir(base))
                      if (base / n / "pyvenv.cfg").is_file()]
        except OSError:
            chosen = []
        if not chosen:
            raise UserError(f"no `uv tool` environments in {display_path(base)}", EXIT_CONFIG)
    else:
        chosen = [args.venv]
    reports = []
    ok = True
    venvs = [_venv(inp, environ, one) for one in chosen]
    resolved = resolution.ensure(inp, environ, quiet=args.json)
    for venv, base_dir in venvs:
        findings = _findings(venv, resolved, environ)
        if args.fix and not findings.ok:
            resolved = _fix(inp, resolved, venv, base_dir, findings, environ, quiet=args.json)
            findings = _findings(venv, resolved, environ)
        ok = ok and findings.ok
        if args.json:
            reports.append(_json(findings, venv))
        else:
            _report(findings, venv, fixed=args.fix)
    if args.json:
        out: Any = reports if args.tools else reports[0]
        print(json.dumps(out, indent=2, sort_keys=True))
    return 0 if ok else EXIT_PROBLEMS
