"""Collect host programs into content-addressed Nix sources for the NixOS look-alike.

Run by scripts/setup-sim (``sim/setup_sim.py collect``) on the Debian host (stdlib and
uvx-nix's ELF reader and glibc soname list from src/, the code that reads wheels' libraries).
For every look-alike package this stages a directory holding the program files plus the
closure of their shared libraries (glibc excluded: that is its own package), adds it to the
store with ``nix-store --add-fixed --recursive sha256`` and records name -> (store name, NAR
hash) in ``sim/nixpkgs/sim-sources.json`` (git-ignored). The Nix expressions then refer to these
sources as fixed-output derivations, so every package output can be rebuilt from the store
alone, inside the simulated root, with no host file.

Each staged source carries ``nix-support/sim-elf``: one ``exe PATH`` or ``lib PATH`` line per
dynamically linked ELF file, telling the store builder what to patchelf.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from uvx_nix.native import elf, glibc

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUILD = HERE / ".build"
STAGE = BUILD / "stage"
NIXPKGS = HERE / "nixpkgs"
SOURCES_JSON = NIXPKGS / "sim-sources.json"
STAMP = BUILD / "collect-stamp.json"
HOST_LIBDIR = Path("/lib/x86_64-linux-gnu")

# glibc's own libraries (glibc.SONAMES) form the store glibc, never copied into other packages.
# NixOS's glibc lib dir also holds libgcc_s.so.1 (nixpkgs copies it there), so it resolves
# everywhere on NixOS; libstdc++.so.6 does not.
GLIBC_EXTRA = {"libgcc_s.so.1"}

# The store loader's system search dir (see c_glibc); must be exactly 21 bytes + "/".
GLIBC_LINK = b"/nix/var/simglibc/lib"


def log(msg: str) -> None:
    print(f"setup-sim: {msg}", file=sys.stderr, flush=True)


def elf_kind(path: Path) -> str | None:
    """'exe' (has PT_INTERP), 'lib' (dynamic, no interpreter) or None (not a dynamic ELF)."""
    if path.is_symlink():
        return None
    info = elf.read(path)
    if info is None or info.elf_class != 64 or not info.dynamic:
        return None
    return "exe" if info.interpreter is not None else "lib"


def ldd_closure(files: list[Path], optional: Path | None = None) -> dict[str, Path]:
    """soname -> host path of every non-glibc library needed by files (transitively).

    A file under ``optional`` (a plug-in directory such as zsh's modules) whose libraries the
    host lacks is deleted with a note instead: the simulation does not need it, and Debian only
    recommends the libraries of some plug-ins (zsh's pcre module needs libpcre3).
    """
    out: dict[str, Path] = {}
    for f in files:
        res = subprocess.run(["ldd", str(f)], capture_output=True, text=True, check=False)
        if optional is not None and f.is_relative_to(optional) and "not found" in res.stdout:
            missing = [ln.split()[0] for ln in res.stdout.splitlines() if "not found" in ln]
            log(f"leaving out {f.relative_to(optional)}: the host lacks {', '.join(missing)}")
            f.unlink()
            continue
        for line in res.stdout.splitlines():
            m = re.match(r"\s*(\S+) => (\S+) \(", line)
            if not m:
                if "not found" in line:
                    raise SystemExit(f"setup-sim: {f}: {line.strip()}")
                continue
            soname, target = m.group(1), m.group(2)
            if soname in glibc.SONAMES or soname in GLIBC_EXTRA:
                continue
            out.setdefault(soname, Path(target))
    return out


class Stage:
    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = STAGE / f"sim-src-{name}"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)

    def copy(self, src: Path | str, rel: str) -> Path:
        src = Path(src)
        dest = self.dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest, follow_symlinks=True)
        dest.chmod(0o755 if os.access(src, os.X_OK) else 0o644)
        return dest

    def link(self, target: str, rel: str) -> None:
        dest = self.dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(target)

    def tree(self, src: Path | str, rel: str, ignore: list[str] | None = None) -> None:
        shutil.copytree(
            src, self.dir / rel, symlinks=True,
            ignore=shutil.ignore_patterns(*(ignore or [])), dirs_exist_ok=True,
        )

    def elves(self) -> list[Path]:
        return sorted(p for p in self.dir.rglob("*") if elf_kind(p))

    def bundle_libs(self, libdir: str = "lib", optional: str | None = None) -> None:
        """Copy the non-glibc library closure of every ELF here into libdir.

        ELF files under the ``optional`` subdirectory are dropped when the host lacks one of
        their libraries.
        """
        elves = self.elves()
        closure = ldd_closure(elves, self.dir / optional if optional else None)
        present = {p.name for p in self.elves()}
        for soname, host in sorted(closure.items()):
            if soname in present:
                continue
            self.copy(host.resolve(), f"{libdir}/{soname}").chmod(0o644)

    def finish(self) -> None:
        lines = []
        for p in self.elves():
            kind = elf_kind(p)
            lines.append(f"{kind} {p.relative_to(self.dir)}")
        ns = self.dir / "nix-support"
        ns.mkdir(exist_ok=True)
        (ns / "sim-elf").write_text("".join(f"{line}\n" for line in lines))
        # Deterministic NAR: fixed mtimes do not matter to Nix, permissions do.
        for p in self.dir.rglob("*"):
            if p.is_symlink():
                continue
            if p.is_dir():
                p.chmod(0o755)
            else:
                p.chmod(0o755 if p.stat().st_mode & 0o111 else 0o644)


def add_to_store(stage: Stage) -> dict[str, str]:
    path = subprocess.run(
        ["nix-store", "--add-fixed", "--recursive", "sha256", str(stage.dir)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    h = subprocess.run(
        ["nix-store", "--query", "--hash", path], capture_output=True, text=True, check=True
    ).stdout.strip()
    return {"name": stage.dir.name, "hash": h, "path": path}


def dpkg_files(pkg: str) -> list[str]:
    res = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True)
    return res.stdout.split()


def which(prog: str) -> Path:
    p = shutil.which(prog, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if not p:
        raise SystemExit(f"setup-sim: {prog} not found on the host")
    return Path(p)


def pyenv_pythons() -> dict[str, Path]:
    root = os.environ.get("PYENV_ROOT")
    if not root:
        try:
            root = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            root = str(Path.home() / ".pyenv")
    found: dict[str, Path] = {}
    vdir = Path(root) / "versions"
    if not vdir.is_dir():
        return found
    for d in sorted(vdir.iterdir()):
        m = re.fullmatch(r"3\.(\d+)\.(\d+)", d.name)
        if m and int(m.group(1)) >= 10 and (d / "bin" / f"python3.{m.group(1)}").exists():
            found[d.name] = d
    return found


def system_pythons() -> dict[str, Path]:
    """Debian's own CPythons (prefix /usr), for a machine without pyenv's."""
    found: dict[str, Path] = {}
    for exe in sorted(Path("/usr/bin").glob("python3.*")):
        m = re.fullmatch(r"python3\.(\d+)", exe.name)
        if not m or int(m.group(1)) < 10 or not (Path("/usr/lib") / exe.name / "os.py").exists():
            continue
        res = subprocess.run([str(exe), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=False)
        if res.returncode == 0 and res.stdout.strip():
            found[res.stdout.strip()] = Path("/usr")
    return found


def host_pythons() -> dict[str, Path]:
    """version -> prefix of the CPythons >= 3.10 to re-home: pyenv's (3.10-3.13 on the CI kind
    of machine), else Debian's own (one version on a plain Debian)."""
    return pyenv_pythons() or system_pythons()


# ---------------------------------------------------------------------------------------------
# Package collectors


def c_busybox() -> Stage:
    s = Stage("busybox")
    s.copy("/bin/busybox", "bin/busybox")
    applets = subprocess.run(
        ["/bin/busybox", "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for a in applets:
        if a != "busybox":
            s.link("busybox", f"bin/{a}")
    return s


def find_all(data: bytes, needle: bytes) -> list[int]:
    out, i = [], data.find(needle)
    while i >= 0:
        out.append(i)
        i = data.find(needle, i + 1)
    return out


def c_glibc() -> Stage:
    s = Stage("glibc")
    for f in dpkg_files("libc6"):
        p = Path(f)
        # Debian 13 has merged /usr: dpkg lists /usr/lib/x86_64-linux-gnu, /lib is a link to it.
        if p.parent.resolve() == HOST_LIBDIR.resolve() and ".so" in p.name and p.exists():
            s.copy(p.resolve(), f"lib/{p.name}")
    s.copy(HOST_LIBDIR / "libgcc_s.so.1", "lib/libgcc_s.so.1")
    locale = Path("/usr/lib/locale/C.utf8")
    if locale.is_dir():
        s.tree(locale, "lib/locale/C.utf8")
    # Redirect the loader's compiled-in system search path (same lengths: the first length is
    # an immediate in ld.so's code) from Debian's dirs to GLIBC_LINK, a fixed 22-byte path that
    # setup-sim points at the store glibc's lib/. /lib/ and /usr/lib/ stay: absent in the root.
    ldp = s.dir / "lib/ld-linux-x86-64.so.2"
    ld = ldp.read_bytes()
    old = b"/lib/x86_64-linux-gnu/\0/usr/lib/x86_64-linux-gnu/\0/lib/\0/usr/lib/\0"
    new = GLIBC_LINK + b"/\0" + (GLIBC_LINK + b"/").ljust(26, b"/") + b"\0/lib/\0/usr/lib/\0"
    assert len(old) == len(new), (old, new)
    if ld.count(old) < 1:
        raise SystemExit("setup-sim: cannot find the search path in the host's ld-linux")
    ldp.write_bytes(ld.replace(old, new))
    (s.dir / "lib/ld-linux-x86-64.so.2").chmod(0o755)
    return s


def c_patchelf() -> Stage:
    s = Stage("patchelf")
    s.copy(which("patchelf"), "bin/patchelf")
    # libstdc++ and libgcc_s: needed to run the bootstrap copy before anything is patched.
    for soname, host in ldd_closure([which("patchelf")]).items():
        s.copy(host.resolve(), f"lib/{soname}")
    s.copy(HOST_LIBDIR / "libgcc_s.so.1", "lib/libgcc_s.so.1")
    return s


def c_gcclib() -> Stage:
    s = Stage("gcc-lib")
    s.copy(HOST_LIBDIR / "libstdc++.so.6", "lib/libstdc++.so.6")
    s.copy(HOST_LIBDIR / "libgcc_s.so.1", "lib/libgcc_s.so.1")
    return s


def c_libs(name: str, sonames: list[str]) -> Stage:
    s = Stage(name)
    for so in sonames:
        s.copy((HOST_LIBDIR / so).resolve(), f"lib/{so}")
    s.bundle_libs()
    return s


def c_python(version: str, prefix: Path) -> Stage:
    mm = ".".join(version.split(".")[:2])
    s = Stage("python" + mm.replace(".", ""))
    exe = f"python{mm}"
    s.copy(prefix / "bin" / exe, f"bin/{exe}")
    s.link(exe, "bin/python3")
    s.link(exe, "bin/python")
    for so in prefix.glob("lib/libpython*.so*"):
        if not so.is_symlink():
            s.copy(so, f"lib/{so.name}")
    s.link(f"libpython{mm}.so.1.0", f"lib/libpython{mm}.so")
    stdlib = prefix / "lib" / exe
    # (Debian's own CPython has libpython linked in, dist-packages and EXTERNALLY-MANAGED.)
    s.tree(stdlib, f"lib/{exe}", ignore=[
        "test", "tests", "idlelib", "tkinter", "turtledemo", "__phello__", "config-*",
        "site-packages", "dist-packages", "_tkinter*.so", "lib2to3", "*.exe",
        "EXTERNALLY-MANAGED",
    ])
    (s.dir / f"lib/{exe}/site-packages").mkdir()
    (s.dir / f"lib/{exe}/site-packages/README.txt").write_text("store site-packages\n")
    for inc in prefix.glob(f"include/{exe}*"):
        s.tree(inc, f"include/{inc.name}")
    # An extension module whose library this host lacks (nis needs libnsl.so.2, which Debian
    # 13 no longer installs by default) is left out, as a nixpkgs build without it would be.
    s.bundle_libs(optional=f"lib/{exe}/lib-dynload")
    return s


def c_uv() -> Stage:
    version = subprocess.run(
        ["uv", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    dl = BUILD / "downloads"
    wheels = sorted(dl.glob(f"uv-{version}-*manylinux*x86_64*.whl"))
    if not wheels:
        dl.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--platform", "manylinux2014_x86_64", "-d", str(dl), f"uv=={version}"],
            check=True, stdout=subprocess.DEVNULL,
        )
        wheels = sorted(dl.glob(f"uv-{version}-*manylinux*x86_64*.whl"))
    s = Stage("uv")
    with zipfile.ZipFile(wheels[0]) as z:
        for prog in ("uv", "uvx"):
            dest = s.dir / "bin" / prog
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(z.read(f"uv-{version}.data/scripts/{prog}"))
            dest.chmod(0o755)
    (s.dir / "nix-support").mkdir()
    (s.dir / "nix-support/version").write_text(version)
    # The wheel also serves as the generic-Linux binary the tests expect to be refused.
    shutil.copy2(wheels[0], BUILD / "uv.whl")
    s.bundle_libs()
    return s


def c_stub_lib(name: str, sonames: list[str]) -> Stage:
    """An empty shared library per soname, compiled here: a library the look-alike needs by
    name (libX11.so.6 for the xorg rename) whatever the host has installed."""
    s = Stage(name)
    src = s.dir / "stub.c"
    src.write_text("int uvx_nix_sim_stub(void) { return 0; }\n")
    for so in sonames:
        (s.dir / "lib").mkdir(exist_ok=True)
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{so}", "-o",
                        str(s.dir / "lib" / so), str(src)], check=True)
    src.unlink()
    return s


def c_simple(name: str, progs: list[str], links: dict[str, str] | None = None) -> Stage:
    s = Stage(name)
    for p in progs:
        s.copy(which(p).resolve(), f"bin/{p}")
    for rel, target in (links or {}).items():
        s.link(target, rel)
    return s


def c_bundled(name: str, progs: list[str], links: dict[str, str] | None = None) -> Stage:
    s = c_simple(name, progs, links)
    s.bundle_libs()
    return s


def c_coreutils() -> Stage:
    s = Stage("coreutils")
    for f in dpkg_files("coreutils"):
        p = Path(f)
        if p.parent.name in ("bin", "sbin") and p.is_file() and not p.is_symlink():
            s.copy(p, f"bin/{p.name}")
    s.bundle_libs()
    return s


def c_nix() -> Stage:
    s = c_simple("nix", ["nix"])
    for n in ("nix-store", "nix-build", "nix-instantiate", "nix-env", "nix-collect-garbage",
              "nix-shell", "nix-hash", "nix-channel", "nix-prefetch-url", "nix-copy-closure",
              "nix-daemon"):
        s.link("nix", f"bin/{n}")
    # Nix 2.8 always runs its build hook (an empty `build-hook =` fails to exec ''): ship
    # libexec/nix/build-remote -> nix like Debian, for the generated nix.conf to name.
    s.link("../../bin/nix", "libexec/nix/build-remote")
    s.bundle_libs()
    return s


def c_git() -> Stage:
    s = c_simple("git", ["git"])
    s.tree("/usr/share/git-core/templates", "share/git-core/templates")
    s.bundle_libs()
    return s


def c_zsh() -> Stage:
    s = c_simple("zsh", ["zsh"])
    ver = subprocess.run(
        ["zsh", "-fc", "echo $ZSH_VERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    s.tree(f"/usr/lib/x86_64-linux-gnu/zsh/{ver}", f"lib/zsh/{ver}")
    s.tree("/usr/share/zsh/functions", "share/zsh/functions")
    (s.dir / "nix-support").mkdir()
    (s.dir / "nix-support/version").write_text(ver)
    s.bundle_libs(optional=f"lib/zsh/{ver}")
    return s


def c_fish() -> Stage:
    s = c_simple("fish", ["fish"])
    s.tree("/usr/share/fish", "share/fish", ignore=["man", "groff", "completions"])
    # fish 4 takes its paths relative to bin/fish only when both share/fish and etc/fish exist
    # (fish-shell src/env/config_paths.rs); nixpkgs' fish has both.
    (s.dir / "etc/fish").mkdir(parents=True)
    (s.dir / "etc/fish/config.fish").write_text("# system-wide fish configuration (empty)\n")
    s.bundle_libs()
    return s


TERMINFO = ["dumb", "linux", "vt100", "vt220", "xterm", "xterm-256color", "xterm-color",
            "screen", "screen-256color", "tmux", "tmux-256color", "rxvt", "ansi"]


def c_tmux() -> Stage:
    s = c_simple("tmux", ["tmux"])
    for t in TERMINFO:
        for base in ("/usr/share/terminfo", "/lib/terminfo", "/etc/terminfo"):
            src = Path(base) / t[0] / t
            if src.exists():
                s.copy(src.resolve(), f"share/terminfo/{t[0]}/{t}")
                break
    s.bundle_libs()
    return s


# ---------------------------------------------------------------------------------------------
# The build toolchain: what nixpkgs' stdenv.cc, pkg-config, gnumake and the `dev` outputs of
# libraries hold, taken from the host's gcc, binutils, libc6-dev, pkgconf and -dev packages.

GCC_SKIP = {"lto1", "plugin", "g++-mapper-server", "libcc1.so"}


def _gcc_query(*args: str) -> str:
    return subprocess.run(["gcc", *args], capture_output=True, text=True, check=True).stdout.strip()


def c_gcc() -> Stage:
    """The unwrapped compiler (as nixpkgs' gcc-unwrapped): the drivers in bin/, the compiler
    proper and its own files under lib/gcc/<triple>/<version>/, and the C++ headers under
    include/. gcc finds all of them relative to its driver, so the copy works from the store."""
    s = Stage("gcc-unwrapped")
    triple, version = _gcc_query("-dumpmachine"), _gcc_query("-dumpversion")
    for prog, name in (("gcc", "gcc"), ("g++", "g++"), ("cpp", "cpp")):
        s.copy(which(f"{prog}-{version}").resolve(), f"bin/{name}")
    libgcc = Path(_gcc_query("-print-libgcc-file-name")).parent
    internal = f"lib/gcc/{triple}/{version}"
    for f in sorted(libgcc.iterdir()):
        if f.name in GCC_SKIP or f.name.startswith(("libasan", "libtsan", "liblsan", "libubsan",
                                                    "libitm", "libgomp", "libquadmath",
                                                    "libatomic", "crtoffload")):
            continue
        if f.is_dir():
            s.tree(f, f"{internal}/{f.name}")
        elif f.name == "libstdc++.so":
            s.copy(f.resolve(), f"{internal}/libstdc++.so")  # the runtime itself, for -lstdc++
        else:
            s.copy(f.resolve(), f"{internal}/{f.name}")
    # The compiler proper, where this gcc keeps it (lib/gcc on Debian 12; newer gccs may use
    # libexec/gcc): gcc looks for it relative to its driver either way.
    cc1 = Path(_gcc_query("-print-prog-name=cc1"))
    if cc1.is_absolute() and cc1.parent != libgcc:
        rel = f"libexec/gcc/{triple}/{version}"
        for f in sorted(cc1.parent.iterdir()):
            if f.is_file() and f.name not in GCC_SKIP:
                s.copy(f.resolve(), f"{rel}/{f.name}")
    # C++ headers where gcc looks for them relative to its prefix.
    for rel in (f"include/c++/{version}", f"include/{triple}/c++/{version}"):
        if Path("/usr", rel).is_dir():
            s.tree(Path("/usr", rel), rel)
    (s.dir / "nix-support").mkdir()
    (s.dir / "nix-support/target").write_text(f"{triple}\n{version}\n")
    s.bundle_libs()
    return s


BINUTILS = ("as", "ld", "ar", "ranlib", "nm", "strip", "objcopy", "objdump", "readelf")


def c_binutils() -> Stage:
    s = Stage("binutils")
    for prog in BINUTILS:
        s.copy(which(prog).resolve(), f"bin/{prog}")
    s.bundle_libs()
    return s


def c_libc_dev() -> Stage:
    """glibc's `dev` output: the headers of libc6-dev and linux-libc-dev in one include/ (the
    multiarch directory merged in, as nixpkgs has no multiarch), and the link-time files (crt
    objects, static parts, linker scripts). Linker scripts and links naming Debian's paths
    are rewritten by the builder to the store glibc (placeholders @glibc@ and @out@)."""
    s = Stage("glibc-dev")
    multi = "/usr/include/x86_64-linux-gnu/"
    for pkg in ("libc6-dev", "linux-libc-dev"):
        for f in dpkg_files(pkg):
            p = Path(f)
            if f.startswith("/usr/include/") and p.is_file() and not p.is_dir():
                rel = f[len(multi):] if f.startswith(multi) else f[len("/usr/include/"):]
                s.copy(p, f"include/{rel}")
            elif p.parent == Path("/usr/lib/x86_64-linux-gnu") and p.name.endswith((".o", ".a")):
                s.copy(p, f"lib/{p.name}")
            elif p.parent == Path("/usr/lib/x86_64-linux-gnu") and p.name.endswith(".so"):
                if p.is_symlink():
                    s.link(f"@glibc@/lib/{os.path.basename(os.readlink(p))}", f"lib/{p.name}")
                else:  # a GNU ld script: static parts are ours, shared ones glibc's
                    text = re.sub(
                        r"(?:/usr)?/lib(?:64|/x86_64-linux-gnu)/([^\s()]+)",
                        lambda m: ("@out@" if m.group(1).endswith(".a") else "@glibc@")
                        + "/lib/" + m.group(1), p.read_text())
                    (s.dir / "lib" / p.name).write_text(text)
    return s


def c_dev_library(name: str, sonames: list[str], dev_pkg: str) -> Stage:
    """A library with nixpkgs' `out`/`dev` split staged in one source: lib/ (the shared
    libraries and their `.so` links), include/ and lib/pkgconfig/ (moved to `dev` by the
    builder, .pc files rewritten to the store), bin/*-config."""
    s = c_libs(name, sonames)
    multi = "/usr/include/x86_64-linux-gnu/"
    for f in dpkg_files(dev_pkg):
        p = Path(f)
        if f.startswith("/usr/include/") and p.is_file():
            rel = f[len(multi):] if f.startswith(multi) else f[len("/usr/include/"):]
            s.copy(p, f"include/{rel}")
        elif p.suffix == ".pc":
            s.copy(p, f"lib/pkgconfig/{p.name}")
        elif p.name.endswith(".so") and any(so.startswith(p.name + ".") for so in sonames):
            s.link(next(so for so in sonames if so.startswith(p.name + ".")), f"lib/{p.name}")
        elif f.startswith("/usr/bin/") and p.name.endswith("-config"):
            s.copy(p.resolve(), f"bin/{p.name}")
    return s


def c_pkg_config() -> Stage:
    s = Stage("pkg-config")
    s.copy(which("pkgconf").resolve(), "bin/pkgconf")
    s.bundle_libs()
    return s


RUST_TRIPLE = "x86_64-unknown-linux-gnu"
# Debian's Rust toolchain (packages rustc and cargo), never a rustup one on the PATH: a fresh
# machine has only what apt installed.
HOST_RUSTC = Path("/usr/bin/rustc")
HOST_CARGO = Path("/usr/bin/cargo")


def _host_rust_version(prog: Path) -> str:
    out = subprocess.run([str(prog), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def c_rustc() -> Stage:
    """The unwrapped Rust compiler (as nixpkgs' rustc-unwrapped): bin/rustc, its libraries
    (librustc_driver, LLVM, ...) in lib/, and the standard library for the host target in
    lib/rustlib/<triple>/lib. rustc takes its sysroot from where it is (bin/.. or the lib/
    of librustc_driver), so the copy works from the store. Debian links the rustlib dylibs
    (libstd-*.so) to its multiarch dir; here they live in lib/ with links beside the rlibs."""
    s = Stage("rustc")
    s.copy(HOST_RUSTC.resolve(), "bin/rustc")
    sysroot = Path(subprocess.run([str(HOST_RUSTC), "--print", "sysroot"], capture_output=True,
                                  text=True, check=True).stdout.strip())
    rustlib = sysroot / "lib" / "rustlib" / RUST_TRIPLE / "lib"
    if not rustlib.is_dir():
        raise SystemExit(f"setup-sim: {HOST_RUSTC} has no standard library in {rustlib}")
    for f in sorted(rustlib.iterdir()):
        rel = f"lib/rustlib/{RUST_TRIPLE}/lib/{f.name}"
        if f.is_symlink() and f.name.endswith(".so"):
            s.copy(f.resolve(), f"lib/{f.name}")
            s.link(f"../../../{f.name}", rel)
        elif f.is_file():
            s.copy(f, rel)
    s.bundle_libs()
    return s


def c_cargo() -> Stage:
    s = Stage("cargo")
    s.copy(HOST_CARGO.resolve(), "bin/cargo")
    s.bundle_libs()
    return s


def fingerprint() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for module in (elf, glibc):
        h.update(Path(str(module.__file__)).read_bytes())
    progs = ["busybox", "patchelf", "bash", "nix", "direnv", "git", "zsh", "fish", "tmux",
             "ls", "uv", "gcc", "ld", "pkgconf", "make", "rustc", "cargo"]
    for p in progs:
        w = shutil.which(p, path="/usr/bin:/bin") or shutil.which(p) or ""
        if w:
            st = Path(w).resolve().stat()
            h.update(f"{p}:{Path(w).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    for v, d in host_pythons().items():
        h.update(f"{v}:{d}".encode())
    ld = Path("/lib64/ld-linux-x86-64.so.2").resolve().stat()
    h.update(f"ld:{ld.st_size}:{ld.st_mtime_ns}".encode())
    return h.hexdigest()


def all_valid(paths: list[str]) -> bool:
    res = subprocess.run(
        ["nix-store", "--check-validity", *paths],
        capture_output=True, check=False,
    )
    return res.returncode == 0


def main() -> int:
    fp = fingerprint()
    if STAMP.exists() and SOURCES_JSON.exists():
        old = json.loads(STAMP.read_text())
        data = json.loads(SOURCES_JSON.read_text())
        if old.get("fingerprint") == fp and all_valid(
            [s["path"] for s in data["sources"].values()]
        ):
            return 0
    log("collecting host programs into store sources (first run only)")
    pythons = host_pythons()
    if not pythons:
        raise SystemExit("setup-sim: no CPython >= 3.10 found (pyenv's, or /usr/bin/python3.X); "
                         "install python3 with apt-get")
    stages: list[tuple[str, Stage]] = [
        ("busybox", c_busybox()),
        ("glibc", c_glibc()),
        ("patchelf", c_patchelf()),
        ("gcc-lib", c_gcclib()),
        ("zlib", c_dev_library("zlib", ["libz.so.1"], "zlib1g-dev")),
        ("openssl", c_libs("openssl", ["libssl.so.3", "libcrypto.so.3"])),
        ("libffi", c_dev_library("libffi", ["libffi.so.8"], "libffi-dev")),
        ("libx11", c_stub_lib("libx11", ["libX11.so.6", "libX11-xcb.so.1"])),
        ("bash", c_bundled("bash", ["bash"], {"bin/sh": "bash"})),
        ("coreutils", c_coreutils()),
        ("nix", c_nix()),
        ("direnv", c_bundled("direnv", ["direnv"])),
        ("git", c_git()),
        ("zsh", c_zsh()),
        ("fish", c_fish()),
        ("tmux", c_tmux()),
        ("uv", c_uv()),
        ("gcc-unwrapped", c_gcc()),
        ("binutils", c_binutils()),
        ("glibc-dev", c_libc_dev()),
        ("pkg-config", c_pkg_config()),
        ("gnumake", c_bundled("gnumake", ["make"])),
        ("rustc", c_rustc()),
        ("cargo", c_cargo()),
    ]
    py_meta: dict[str, dict[str, str]] = {}
    for version, prefix in pythons.items():
        st = c_python(version, prefix)
        stages.append((st.name, st))
        py_meta[st.name] = {"version": version}
    sources: dict[str, dict[str, str]] = {}
    for key, st in stages:
        st.finish()
        sources[key] = add_to_store(st)
        shutil.rmtree(st.dir)
    uv_version = subprocess.run(
        ["uv", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    data = {
        "system": "x86_64-linux",
        "sources": sources,
        "pythons": py_meta,
        "uvVersion": uv_version,
        "glibcVersion": os.confstr("CS_GNU_LIBC_VERSION").split()[1],  # type: ignore[union-attr]
        "gccVersion": subprocess.run(
            ["gcc", "-dumpfullversion"], capture_output=True, text=True, check=False
        ).stdout.strip() or "12",
        "rustVersion": _host_rust_version(HOST_RUSTC),
        "cargoVersion": _host_rust_version(HOST_CARGO),
        "zshVersion": subprocess.run(
            ["zsh", "-fc", "echo $ZSH_VERSION"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    }
    SOURCES_JSON.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    STAMP.write_text(json.dumps({"fingerprint": fp}))
    return 0

