"""``uvx-nix nix doctor``: native libraries the venv cannot load, programs that cannot start.

Scans every ELF file under the venv's site-packages and ``bin``.  A DT_NEEDED soname
counts as resolved when the loader would find it: in the file's DT_RPATH/DT_RUNPATH
(``$ORIGIN`` expanded), in the library directories the venv carries (its
``_uvx_nix_scope.pth``: what a plain start of its Python sees), in the store glibc's
``lib/`` (NixOS's loader always searches it), among the libraries the interpreter itself
has loaded, or as a library another wheel ships in the venv (loaded by soname, like
``numpy.libs/`` or ``torch/lib``).
Each missing soname is mapped to a nixpkgs attribute (:mod:`uvx_nix.native.sonames`, then
``nix-locate`` when installed).  An ELF program in ``bin`` cannot start when its
PT_INTERP is missing or outside ``/nix/store`` (NixOS's stub-ld) and nix-ld is absent; so
can an executable inside site-packages.  Sonames that failed to load at run time (recorded by
the hook) count as missing too; a venv that does not carry the locked libraries is a problem.

Exit codes: 0 nothing to fix; 1 problems found (one line each, naming the fix);
70 no venv (run ``uvx-nix sync`` first) or bad configuration.

``--fix`` adds the attributes to ``[tool.uvx-nix] libraries`` (formatting and comments
kept), re-locks, and patches each program that cannot start with patchelf: ELF
interpreter = the locked glibc's loader, RUNPATH += the locked library dirs.  The patch
never touches uv's cache (uv hardlinks venv files to it): the file is copied, the copy
patched, then renamed over the venv's file.  Each patched file is recorded with its
hashes in the user cache (``paths.patched_file_str``), and :func:`after_uv` re-applies the
patch when uv re-installs the original (``uv sync --reinstall``, an upgrade).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from uvx_nix import files as filesys
from uvx_nix import paths
from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, UserError, display_path, printable
from uvx_nix.native import elf, sonames

if TYPE_CHECKING:
    from uvx_nix.inputs import Inputs
    from uvx_nix.resolution import Resolved

EXIT_PROBLEMS = 1
DRIVER_DIR = sonames.DRIVER
NIX_LD_MARKER = "/run/current-system/sw/share/nix-ld"
PATCHED_FORMAT = 1
MAX_RECORD = 64 * 1024 * 1024  # torch's RECORD is a few MiB
_FIX = "uvx-nix nix doctor --fix"


# ---------------------------------------------------------------------------------------
# Scanning


@dataclass
class Scan:
    """What a scan found; paths are absolute strings, lists sorted."""

    venv: Path
    files: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)  # soname -> files needing it
    unstartable: dict[str, str] = field(default_factory=dict)  # program -> its PT_INTERP


def venv_path(root: Path, environ: Mapping[str, str]) -> Path:
    """uv's project environment: ``UV_PROJECT_ENVIRONMENT`` (relative to root) or root/.venv;
    a `.venv` that is a symlink, or leads outside the project, is refused (a cloned repository
    could point it at another environment of yours for `--fix` to patch)."""
    from uvx_nix import venv

    where = venv.safe_location(root, environ)
    if where is None:
        raise UserError(f"{venv.location(root, environ)} is a symlink or leads outside the "
                        "project; uvx-nix does not inspect or patch it", EXIT_CONFIG)
    return where


def _site_dirs(env: Path) -> list[Path]:
    from uvx_nix import venv

    return venv.site_dirs(env)


def outside_parts(venv: Path) -> list[Path]:
    """The venv's directories that lead outside it (a `bin` or `lib` linked elsewhere):
    nothing there is scanned or patched."""
    parts = [venv / "bin", venv / "lib"]
    lib = venv / "lib"
    if filesys.inside(lib, venv):
        with contextlib.suppress(OSError):
            parts += [lib / n for n in sorted(os.listdir(lib))]
            parts += [lib / n / "site-packages" for n in sorted(os.listdir(lib))]
    return [p for p in parts if os.path.lexists(p) and not filesys.inside(p, venv)]


def elf_files(venv: Path) -> list[Path]:
    """Every regular ELF file under the venv's site-packages (recursively) and bin/, never
    through a directory that leads outside the venv."""
    from uvx_nix import programs

    found: list[Path] = []
    for root, recursive in programs.roots(venv):
        for directory, subdirs, names in os.walk(root):
            if not recursive:
                subdirs[:] = []
            subdirs.sort()
            for name in sorted(names):
                path = Path(directory, name)
                if not path.is_symlink() and path.is_file() and elf.is_elf(path):
                    found.append(path)
    return found


def record_files(record: Path) -> list[Path]:
    """The files a distribution installed, from its ``*.dist-info/RECORD``."""
    import csv
    import io

    site = record.parent.parent
    venv = site.parents[2] if len(site.parents) > 2 else site
    out: list[Path] = []
    try:
        text = filesys.read_bounded(record, MAX_RECORD, within=site).decode("utf-8")
        for row in csv.reader(io.StringIO(text, newline="")):
            if row and row[0]:
                path = Path(os.path.normpath(site / row[0]))
                # Only files inside the venv: a RECORD may name /proc/self/fd/1, a FIFO, or
                # a file of yours elsewhere.
                if filesys.inside(path, venv):
                    out.append(path)
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    except UserError as exc:
        _warn(f"skipping {display_path(record)}: {exc.message}")
        return []
    return out


class _Resolver:
    """The loader's view: lib dirs, glibc dir, preloaded sonames, and directory listings."""

    def __init__(self, venv: Path, lib_dirs: Sequence[str], interpreter: str | None) -> None:
        self.venv = venv
        self.lib_dirs = [d for d in lib_dirs if d]
        self._listings: dict[str, frozenset[str]] = {}
        self.default_dirs: list[str] = []
        self.preloaded: set[str] = set()
        self.machine: int | None = None
        interp = interpreter or _venv_interpreter(venv)
        info = elf.read(interp) if interp else None
        if info is not None and info.interpreter:
            self.machine = info.machine
            self.default_dirs = [os.path.dirname(info.interpreter)]
            self._preload(interp, info)  # type: ignore[arg-type]
        else:  # the interpreter's glibc cannot be found: assume what glibc always provides
            self.preloaded |= sonames.GLIBC

    def listing(self, directory: str) -> frozenset[str]:
        if directory not in self._listings:
            try:
                self._listings[directory] = frozenset(os.listdir(directory))
            except OSError:
                self._listings[directory] = frozenset()
        return self._listings[directory]

    def find(self, soname: str, dirs: Iterable[str]) -> str | None:
        for directory in dirs:
            if soname in self.listing(directory):
                return os.path.join(directory, soname)
        return None

    def _preload(self, path: str, info: elf.ElfInfo) -> None:
        """The interpreter's own DT_NEEDED closure is loaded before any extension."""
        todo = [(path, info)]
        while todo and len(self.preloaded) < 200:
            current, current_info = todo.pop()
            dirs = [*current_info.search_path(os.path.dirname(current)), *self.default_dirs]
            for soname in current_info.needed:
                if soname in self.preloaded:
                    continue
                self.preloaded.add(soname)
                found = self.find(soname, dirs)
                dep = elf.read(found) if found else None
                if found and dep is not None:
                    todo.append((found, dep))

    def resolves(self, soname: str, path: Path, info: elf.ElfInfo, venv_names: set[str]) -> bool:
        if "/" in soname:
            return os.path.exists(soname if os.path.isabs(soname) else path.parent / soname)
        if soname in self.preloaded:
            return True
        dirs = [*info.search_path(str(path.parent)), *self.lib_dirs, *self.default_dirs]
        return self.find(soname, dirs) is not None or soname in venv_names


def _venv_interpreter(venv: Path) -> str | None:
    for name in ("python", "python3"):
        candidate = venv / "bin" / name
        try:
            return str(candidate.resolve(strict=True))
        except OSError:
            continue
    return None


def nix_ld_present(environ: Mapping[str, str], root: Path = Path("/")) -> bool:
    return bool(environ.get("NIX_LD")) or (root / NIX_LD_MARKER.lstrip("/")).exists()


def can_start(info: elf.ElfInfo, environ: Mapping[str, str], root: Path = Path("/")) -> bool:
    """Whether the kernel can start this ELF program on NixOS."""
    interp = info.interpreter
    if not interp:
        return True  # static, or a shared library
    if interp.startswith("/nix/store/"):
        return (root / interp.lstrip("/")).exists()
    return nix_ld_present(environ, root)


def _venv_sonames(venv: Path, infos: Iterable[tuple[Path, elf.ElfInfo]]) -> set[str]:
    names = {info.soname for _, info in infos if info.soname}
    for site in _site_dirs(venv):
        for _directory, _subdirs, files in os.walk(site):
            names.update(n for n in files if ".so" in n)
    return names


def scan_files(venv: Path, files: Iterable[Path], lib_dirs: Sequence[str],
               interpreter: str | None, environ: Mapping[str, str] | None = None) -> Scan:
    """Check the given ELF files against the loader's view of ``venv``."""
    environ = os.environ if environ is None else environ
    resolver = _Resolver(venv, lib_dirs, interpreter)
    infos: list[tuple[Path, elf.ElfInfo]] = []
    for path in files:
        info = elf.read(path)
        if info is None or not info.is_loadable:
            continue
        if resolver.machine is not None and info.machine != resolver.machine:
            continue  # another architecture's binary (test data, fat packages)
        infos.append((path, info))
    venv_names = _venv_sonames(venv, infos)
    scan = Scan(venv, files=len(infos))
    bin_dir = venv / "bin"
    for path, info in infos:
        for soname in info.needed:
            if not resolver.resolves(soname, path, info, venv_names):
                scan.missing.setdefault(soname, []).append(str(path))
        if (path.parent == bin_dir or _executable(path)) and not can_start(info, environ):
            scan.unstartable[str(path)] = info.interpreter or ""
    scan.missing = {k: sorted(set(v)) for k, v in sorted(scan.missing.items())}
    return scan


def _executable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o111)
    except OSError:
        return False


def scan(venv: Path, lib_dirs: Sequence[str], interpreter: str | None,
         environ: Mapping[str, str] | None = None) -> Scan:
    """Scan the whole venv."""
    return scan_files(venv, elf_files(venv), lib_dirs, interpreter, environ)


def unresolved(venv: Path, lib_dirs: Sequence[str],
               interpreter: str | None) -> dict[str, list[str]]:
    """soname -> files needing it, for every soname the venv's ELF files cannot load."""
    return scan(venv, lib_dirs, interpreter).missing


def scan_dist(venv: Path, records: Iterable[Path], lib_dirs: Sequence[str],
              interpreter: str | None) -> dict[str, list[str]]:
    """Like :func:`unresolved`, for the files of some distributions only (their RECORD files):
    the wrapper's cheap check of newly installed distributions."""
    files = [p for record in records for p in record_files(record)
             if p.suffix != ".py" and elf.is_elf(p)]
    return scan_files(venv, files, lib_dirs, interpreter).missing


# ---------------------------------------------------------------------------------------
# Suggestions


def _valid_attribute(name: str) -> bool:
    from uvx_nix import inputs

    try:
        inputs.validate_attribute(name, "nix-locate")
    except UserError:
        return False
    return True


def _nix_locate(soname: str, environ: Mapping[str, str]) -> str | None:
    exe = shutil.which("nix-locate", path=environ.get("PATH"))
    if exe is None:
        return None
    try:
        res = subprocess.run(
            [exe, "--minimal", "--top-level", "--whole-name", "--at-root", f"/lib/{soname}"],
            capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return pick_attribute(res.stdout.splitlines(), _valid_attribute)


def pick_attribute(lines: Iterable[str],
                   valid: Callable[[str], bool] | None = None) -> str | None:
    """Deterministic choice among nix-locate's answers: strip the ``.out``/``.lib`` output,
    then the shortest attribute path, then alphabetical."""
    names = set()
    for line in lines:
        name = line.strip()
        for suffix in (".out", ".lib"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        if name and (valid is None or valid(name)):
            names.add(name)
    return min(names, key=lambda n: (len(n), n)) if names else None


def suggest(needed: Iterable[str],
            environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """soname -> nixpkgs attribute path (None when unknown or driver-only: see driver_dirs)."""
    environ = os.environ if environ is None else environ
    out: dict[str, str | None] = {}
    for soname in sorted(set(needed)):
        attribute = sonames.lookup(soname)
        if attribute is None:
            attribute = _nix_locate(soname, environ)
        out[soname] = None if attribute == sonames.DRIVER else attribute
    return out


def driver_dirs(needed: Iterable[str], root: Path = Path("/")) -> list[str]:
    """``["/run/opengl-driver/lib"]`` when it exists and provides (or is the only possible
    provider of) one of ``needed``: the library dir the wrapper adds for GPU wheels."""
    directory = root / DRIVER_DIR.lstrip("/")
    if not directory.is_dir():
        return []
    try:
        present = set(os.listdir(directory))
    except OSError:
        return []
    for soname in needed:
        if soname in present or sonames.is_driver(soname):
            return [DRIVER_DIR]
    return []


# ---------------------------------------------------------------------------------------
# Patching programs (hardlink-safe) and re-applying after uv


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def patch_program(path: Path, interpreter: str, lib_dirs: Sequence[str], patchelf: str, *,
                  venv: Path, root: Path) -> None:
    """Set the ELF interpreter and append lib dirs to RUNPATH, on a copy renamed over ``path``
    (uv hardlinks venv files to its cache; patchelf writes in place and would edit the cache).
    ``path`` must be a regular file inside ``venv``, checked again here."""
    if path.is_symlink() or not filesys.inside(path, venv) or not filesys.inside(venv, root):
        raise UserError(f"{display_path(path)} leads outside {display_path(venv)}; uvx-nix "
                        "does not patch it", EXIT_CONFIG)
    info = elf.read(path)
    current = (info.runpath if info and info.runpath is not None else
               (info.rpath if info else None)) or ""
    entries = [e for e in current.split(":") if e]
    entries += [d for d in lib_dirs if d and d not in entries]
    with filesys.temporary_beside(path) as tmp:
        shutil.copyfile(path, tmp)
        shutil.copymode(path, tmp)
        args = [patchelf, "--set-interpreter", interpreter]
        args += ["--set-rpath", ":".join(entries)] if entries else []
        res = subprocess.run([*args, str(tmp)], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise UserError(f"patchelf could not patch {path}: "
                            f"{(res.stderr.strip().splitlines() or ['no output'])[-1]}",
                            EXIT_NIX_FAILED)
        os.replace(tmp, path)


def patched_path(lock_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The record of patched programs: in the user cache (see paths.patched_file_str)."""
    return Path(paths.patched_file_str(os.environ if environ is None else environ,
                                       str(lock_dir)))


def load_patched(lock_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(patched_path(lock_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": PATCHED_FORMAT, "files": {}}
    if not isinstance(data, dict) or data.get("version") != PATCHED_FORMAT or \
            not isinstance(data.get("files"), dict):
        return {"version": PATCHED_FORMAT, "files": {}}
    return data


def save_patched(lock_dir: Path, data: Mapping[str, Any]) -> None:
    path = patched_path(lock_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    filesys.write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def _locked_target(lock_dir: Path) -> tuple[str, list[str]] | None:
    """(loader, lib dirs) from the lock beside ``lock_dir``: what patched programs use."""
    from uvx_nix import inputs, lockfile

    try:
        found = lockfile.read(lock_dir / lockfile.NAME)
    except UserError:
        return None
    if found is None:
        return None
    entry = found[0].systems.get(inputs.current_system())
    if entry is None:
        return None
    info = elf.read(entry.interpreter)
    if info is None or not info.interpreter:
        return None
    return info.interpreter, [f"{lib.path}/lib" for lib in entry.libraries]


def repatch(venv: Path, lock_dir: Path, environ: Mapping[str, str] | None = None,
            root: Path | None = None) -> int:
    """Re-apply recorded patches whose file uv replaced; returns how many were re-patched.

    Cheap when nothing changed: one read of patched.json and a stat per recorded file.  Each
    file must still be a regular file inside the venv, and the venv inside the project
    (``root``, default ``lock_dir``): a `bin` swapped for a link is not followed."""
    environ = os.environ if environ is None else environ
    root = lock_dir if root is None else root
    if not patched_path(lock_dir).exists():
        return 0
    data = load_patched(lock_dir)
    files: dict[str, Any] = data["files"]
    target = _locked_target(lock_dir)
    changed = 0
    dirty = False
    for rel, record in sorted(files.items()):
        path = venv / rel
        if not isinstance(record, dict) or ".." in Path(rel).parts or os.path.isabs(rel):
            continue
        if path.is_symlink() or not filesys.inside(path, venv) or \
                not filesys.inside(venv, root):
            _warn(f"not re-patching {display_path(path)}: it leads outside "
                  f"{display_path(venv)}")
            continue
        if not path.is_file():
            continue
        interpreter, lib_dirs = target if target else (record.get("interpreter", ""),
                                                       list(record.get("lib_dirs", [])))
        if record.get("stat") == _stat_key(path) and record.get("interpreter") == interpreter:
            continue
        info = elf.read(path)
        if info is None or not info.interpreter:
            continue
        if info.interpreter == interpreter and can_start(info, environ):
            record["stat"] = _stat_key(path)
            dirty = True
            continue
        patchelf = _patchelf(record.get("patchelf"), environ)
        if patchelf is None or not interpreter:
            _warn(f"cannot re-patch {path}: no patchelf found; run `{_FIX}`")
            continue
        original = sha256_file(path)
        patch_program(path, interpreter, lib_dirs, patchelf, venv=venv, root=root)
        record.update({"original": original, "patched": sha256_file(path),
                       "interpreter": interpreter, "lib_dirs": lib_dirs,
                       "patchelf": patchelf, "stat": _stat_key(path)})
        changed += 1
        dirty = True
    if dirty:
        save_patched(lock_dir, data)
    return changed


def after_uv(venv: Path, lock_dir: Path, root: Path | None = None) -> None:
    """The wrapper's hook after a uv command that may (re)install files: re-apply patches.

    Never raises; a failure is one warning line."""
    try:
        count = repatch(venv, lock_dir, root=root)
    except Exception as exc:  # a hook after uv must not turn uv's success into a failure
        _warn(f"could not re-patch programs in {venv} ({type(exc).__name__}: {exc}); "
              f"run `{_FIX}`")
        return
    if count:
        _warn(f"re-patched {count} program(s) in {venv / 'bin'} that uv re-installed", kind="info")


def _warn(message: str, kind: str = "warning") -> None:
    sys.stderr.write(f"{kind}: uvx-nix: {printable(message)}\n")


def _patchelf(recorded: object, environ: Mapping[str, str]) -> str | None:
    """The recorded patchelf (the locked nixpkgs' one, recorded in the user cache) if it is
    still a store path; never a program found on PATH."""
    if isinstance(recorded, str) and recorded.startswith("/nix/store/") and \
            "/../" not in recorded and os.access(recorded, os.X_OK):
        return recorded
    return None


# ---------------------------------------------------------------------------------------
# Editing pyproject.toml


def add_libraries(pyproject: Path, attributes: Sequence[str]) -> list[str]:
    """Append attributes to ``[tool.uvx-nix] libraries`` (formatting kept, atomic write);
    returns those that were added."""
    from uvx_nix import project

    return project.add_to_list(pyproject, "libraries", attributes,
                               " to let doctor --fix add to it")


# ---------------------------------------------------------------------------------------
# The command


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="uvx-nix nix doctor",
        description="Find native libraries the venv's wheels cannot load and venv programs "
                    "that cannot start on NixOS.",
        epilog="exit codes: 0 nothing to fix, 1 problems found, 70 no venv or bad "
               "configuration (uvx-nix's other codes as in `uvx-nix nix --help`)",
    )
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
    return parser


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 70, JSON when asked
        raise _ArgumentError(message)


def _inputs(args: argparse.Namespace, environ: Mapping[str, str]) -> Inputs:
    from uvx_nix import argv, inputs

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
        path, base = venv_path(inp.project.root, environ), inp.project.root
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
    away = outside_parts(path)
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
    scan: Scan
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
    import ast

    from uvx_nix import venv as venv_mod

    found: list[str] | None = None
    for site in _site_dirs(venv):
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
    from uvx_nix import venv as venv_mod

    recorded = recorded_libs(venv)
    locked = _lib_dirs(resolved)
    result = scan(venv, recorded or [], resolved.entry.interpreter, environ)
    for site in _site_dirs(venv):
        for soname in venv_mod.recorded_misses(site):
            if not any(os.path.exists(os.path.join(d, soname)) for d in recorded or []):
                result.missing.setdefault(soname, []).append(RUN_TIME)
    unrecorded = recorded is None or any(d not in recorded for d in locked)
    driver_dir = root / DRIVER_DIR.lstrip("/")
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
    return _Findings(result, suggest(missing, environ), driver, needs_driver, missing,
                     unrecorded)


def _report(findings: _Findings, venv: Path, fixed: bool = False) -> None:
    scan_ = findings.scan
    print(f"Checked {scan_.files} ELF file(s) in {display_path(venv)}")
    for soname, files in findings.driver.items():
        print(f"  {soname}: provided by the NVIDIA/Mesa driver at {DRIVER_DIR} "
              f"(needed by {_rel(venv, files[0])})")
    if findings.ok:
        print("All native libraries resolve and every program in bin/ can start"
              + (" (after fixing)" if fixed else ""))
        return
    count = (len(findings.missing) + len(findings.needs_driver) + len(scan_.unstartable)
             + int(findings.unrecorded))
    print(f"error: found {count} problem(s):")
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
              f"NVIDIA driver at {DRIVER_DIR}; enable the driver (hardware.graphics) on NixOS")
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
        "driver": [{"soname": s, "files": f, "directory": DRIVER_DIR, "present": True}
                   for s, f in findings.driver.items()]
        + [{"soname": s, "files": f, "directory": DRIVER_DIR, "present": False}
           for s, f in findings.needs_driver.items()],
        "unstartable": [{"path": p, "interpreter": i}
                        for p, i in sorted(findings.scan.unstartable.items())],
        "libraries_recorded": not findings.unrecorded,
    }


def _fix(inp: Inputs, resolved: Resolved, venv: Path, base: Path, findings: _Findings,
         environ: Mapping[str, str], quiet: bool = False) -> Resolved:
    from uvx_nix import resolution

    wanted: list[str] = []
    suggested = {s: a for s, a in findings.attributes.items() if a and a not in inp.libraries}
    if suggested:
        if inp.project is None:
            raise UserError("doctor --fix edits pyproject.toml, but there is no project; add "
                            f"{', '.join(dict.fromkeys(suggested.values()))} to "
                            "UVX_NIX_LIBRARIES instead", EXIT_CONFIG)
        # The first candidate that exists in the locked nixpkgs and really holds the library.
        checked = resolution.providers(inp.lock_path, suggested, environ)
        found = dict(suggested) if checked is None else checked
        missing = [s for s in suggested if found.get(s) is None]
        if missing:
            print(f"The locked nixpkgs has no attribute that holds {', '.join(missing)}; not "
                  "added to [tool.uvx-nix] libraries (add an attribute it has, or run "
                  "`uvx-nix nix lock --upgrade`)", file=sys.stderr)
        wanted = [a for a in dict.fromkeys(a for a in found.values() if a)
                  if a not in inp.libraries]
    if wanted and inp.project is not None:
        pyproject = inp.project.root / "pyproject.toml"
        added = add_libraries(pyproject, wanted) if wanted else []
        if added:
            print(f"Added {', '.join(added)} to [tool.uvx-nix] libraries in "
                  f"{display_path(pyproject)}",
                  file=sys.stderr)
        inp = _inputs_again(inp, environ)
        resolved = resolution.ensure(inp, environ, quiet=quiet)
    if findings.scan.unstartable:
        loader_info = elf.read(resolved.entry.interpreter)
        if loader_info is None or not loader_info.interpreter:
            raise UserError(f"cannot read the ELF interpreter of {resolved.entry.interpreter}",
                            EXIT_NIX_FAILED)
        from uvx_nix import programs

        patchelf = programs.locked_patchelf(resolved.inputs.lock_path, environ, quiet)
        data = load_patched(inp.lock_dir)
        lib_dirs = _lib_dirs(resolved)
        for program in sorted(findings.scan.unstartable):
            path = Path(program)
            original = sha256_file(path)
            patch_program(path, loader_info.interpreter, lib_dirs, patchelf, venv=venv,
                          root=base)
            data["files"][_rel(venv, program)] = {
                "original": original, "patched": sha256_file(path),
                "interpreter": loader_info.interpreter, "lib_dirs": lib_dirs,
                "patchelf": patchelf, "stat": _stat_key(path)}
            print(f"Patched {_rel(venv, program)} to start with {loader_info.interpreter}",
                  file=sys.stderr)
        save_patched(inp.lock_dir, data)
    from uvx_nix import venv as venv_mod

    ours = inp.project is not None and venv_mod.safe_location(inp.project.root, environ) == venv
    if venv_mod.prepare(venv, ":".join(_lib_dirs(resolved)), inp.auto_libraries, project=ours):
        print(f"Recorded the locked native libraries in {display_path(venv)}", file=sys.stderr)
    for site in _site_dirs(venv):
        venv_mod.clear_misses(site)
    return resolved


def _inputs_again(inp: Inputs, environ: Mapping[str, str]) -> Inputs:
    from uvx_nix import argv, inputs

    return inputs.gather(argv.sync(str(inp.start)), environ)


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """``uvx-nix nix doctor [--directory DIR] [--venv PATH | --tools] [--fix] [--json]``."""
    as_json = "--json" in argv
    try:
        try:
            args = _parser().parse_args(argv)
        except _ArgumentError as exc:
            raise UserError(f"nix doctor: {exc}; see `uvx-nix nix doctor --help`",
                            EXIT_CONFIG) from None
        except SystemExit as exc:  # --help
            return int(exc.code or 0) and EXIT_CONFIG
        return _command(args, environ)
    except UserError as exc:
        if not as_json:
            raise
        print(json.dumps({"ok": False, "error": printable(exc.message),
                          "exit_code": exc.exit_code}, indent=2, sort_keys=True))
        return exc.exit_code


def _command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from uvx_nix import resolution
    from uvx_nix import venv as venv_mod

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
