"""What native code in an environment cannot load or start.

Every ELF file under the environment's site-packages and ``bin`` is checked against the
loader's view.  A DT_NEEDED soname counts as resolved when the loader would find it: in the
file's DT_RPATH/DT_RUNPATH (``$ORIGIN`` expanded), in the library directories the venv
carries (its ``_uvx_nix_scope.pth``: what a plain start of its Python sees), in the store
glibc's ``lib/`` (NixOS's loader always searches it), among the libraries the interpreter
itself has loaded, or as a library another wheel ships in the venv (loaded by soname, like
``numpy.libs/`` or ``torch/lib``).  An ELF program cannot start when its PT_INTERP is missing
or outside ``/nix/store`` (NixOS's stub-ld) and nix-ld is absent."""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from uvx_nix import files as filesys
from uvx_nix import output
from uvx_nix.errors import UserError, display_path
from uvx_nix.native import elf, glibc, venvs

if TYPE_CHECKING:
    pass


NIX_LD_MARKER = "/run/current-system/sw/share/nix-ld"


MAX_RECORD = 64 * 1024 * 1024  # torch's RECORD is a few MiB


@dataclass
class Scan:
    """What a scan found; paths are absolute strings, lists sorted."""

    venv: Path
    files: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)  # soname -> files needing it
    unstartable: dict[str, str] = field(default_factory=dict)  # program -> its PT_INTERP


def _site_dirs(env: Path) -> list[Path]:

    return venvs.site_dirs(env)


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
    return [path for path in venvs.walk(venv)
            if not path.is_symlink() and path.is_file() and elf.is_elf(path)]


def record_files(record: Path) -> list[Path]:
    """The files a distribution installed, from its ``*.dist-info/RECORD``."""
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
        output.warn(f"skipping {display_path(record)}: {exc.message}")
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
            self.preloaded |= glibc.SONAMES

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
    """nix-ld is enabled: NIX_LD is set, or NixOS's nix-ld share directory exists."""
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
