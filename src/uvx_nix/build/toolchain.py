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
* When the build fails, ``hook_main fix`` reads its output (:func:`diagnose`), names the
  attribute that provides what was missing and the command that adds it; in automatic mode
  (``auto-build-libraries``) it checks the attribute against the locked nixpkgs, adds it to
  ``[tool.uvx-nix] build-libraries`` and returns the environment for one more attempt.

Nothing here runs on a hit that builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvx_nix import files, paths
from uvx_nix.errors import EXIT_CONFIG, EXIT_NO_MATCH, UserError
from uvx_nix.native import sonames
from uvx_nix.resolve import attributes, specs, workdir

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
    where = paths.cache_dir(environ) / "build-hooks" / hashlib.sha256(raw).hexdigest()[:20]
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
    from uvx_nix.resolve import nix

    libraries = list(dict.fromkeys([*config["libraries"], *extra]))
    spec = _spec(config, libraries, rust)
    suffix = "-rust" if rust else ""
    gcroot = workdir.work_dir(Path(config["lockDir"])) / "gcroots" / \
        f"{config['system']}-build{suffix}"
    manifest = nix.build(spec, gcroot, environ, what="realising the build toolchain",
                         quiet=True, expression=BUILD_NIX)
    data = variables(manifest)
    missing = [str(m) for m in manifest.get("missing") or []]
    if missing:
        data["message"] = (f"the locked nixpkgs has no {', '.join(missing)}; the build runs "
                           "without it")
    name = f"env{suffix}.json" if not extra else \
        f"env{suffix}-{hashlib.sha256(json.dumps(libraries).encode()).hexdigest()[:12]}.json"
    target = config_dir / name
    files.write_atomic(target, json.dumps(data, indent=1).encode(), 0o644)
    return target, missing


# ---------------------------------------------------------------------------------------
# From the failure to the fix


@dataclass(frozen=True)
class Finding:
    """What a failed build was missing, and the attributes that may provide it (first
    preferred; the first the locked nixpkgs has is taken in automatic mode)."""

    what: str
    candidates: tuple[str, ...]


# Headers (as a build includes them) -> attributes whose `dev` output has them.
HEADERS: dict[str, tuple[str, ...]] = {
    "zlib.h": ("zlib",), "zconf.h": ("zlib",),
    "ffi.h": ("libffi",),
    "openssl/ssl.h": ("openssl",), "openssl/crypto.h": ("openssl",),
    "openssl/opensslv.h": ("openssl",), "openssl/evp.h": ("openssl",),
    "libpq-fe.h": ("libpq", "postgresql"), "pg_config.h": ("libpq", "postgresql"),
    "mysql.h": ("libmysqlclient",), "mysql/mysql.h": ("libmysqlclient",),
    "libxml/xmlversion.h": ("libxml2",), "libxml/parser.h": ("libxml2",),
    "libxslt/xsltconfig.h": ("libxslt",), "libxslt/xslt.h": ("libxslt",),
    "cairo.h": ("cairo",), "cairo/cairo.h": ("cairo",),
    "sqlite3.h": ("sqlite",), "bzlib.h": ("bzip2",), "lzma.h": ("xz",),
    "zstd.h": ("zstd",), "lz4.h": ("lz4",), "lz4frame.h": ("lz4",),
    "snappy-c.h": ("snappy",), "yaml.h": ("libyaml",),
    "jpeglib.h": ("libjpeg",), "png.h": ("libpng",), "ft2build.h": ("freetype",),
    "tiffio.h": ("libtiff",), "webp/decode.h": ("libwebp",), "lcms2.h": ("lcms2",),
    "openjpeg.h": ("openjpeg",), "gmp.h": ("gmp",), "mpfr.h": ("mpfr",), "mpc.h": ("libmpc",),
    "krb5.h": ("krb5",), "gssapi/gssapi.h": ("krb5",), "ldap.h": ("openldap",),
    "lber.h": ("openldap",), "sasl/sasl.h": ("cyrus_sasl",), "hdf5.h": ("hdf5",),
    "netcdf.h": ("netcdf",), "libusb-1.0/libusb.h": ("libusb1",), "libusb.h": ("libusb1",),
    "portaudio.h": ("portaudio",), "sndfile.h": ("libsndfile",), "gdal.h": ("gdal",),
    "geos_c.h": ("geos",), "proj.h": ("proj",), "dbus/dbus.h": ("dbus",),
    "glib.h": ("glib",), "curl/curl.h": ("curl",), "expat.h": ("expat",),
    "pcre.h": ("pcre",), "pcre2.h": ("pcre2",), "readline/readline.h": ("readline",),
    "ncurses.h": ("ncurses",), "curses.h": ("ncurses",), "uuid/uuid.h": ("libuuid",),
    "libudev.h": ("systemd",), "systemd/sd-daemon.h": ("systemd",),
    "sodium.h": ("libsodium",), "git2.h": ("libgit2",), "libssh2.h": ("libssh2",),
    "event2/event.h": ("libevent",), "uv.h": ("libuv",), "cblas.h": ("openblas",),
    "lapacke.h": ("lapack",), "fftw3.h": ("fftw",), "gsl/gsl_math.h": ("gsl",),
    "X11/Xlib.h": ("libx11",), "GL/gl.h": ("libGL",), "SDL2/SDL.h": ("SDL2",),
    "fuse.h": ("fuse",), "fuse3/fuse.h": ("fuse3",), "acl/libacl.h": ("acl",),
    "attr/xattr.h": ("attr",), "magic.h": ("file",), "archive.h": ("libarchive",),
    "tcl.h": ("tcl",), "tk.h": ("tk",), "gdbm.h": ("gdbm",), "db.h": ("db",),
    "libpng16/png.h": ("libpng",), "unicode/utypes.h": ("icu",), "re2/re2.h": ("re2",),
    "leveldb/db.h": ("leveldb",), "rocksdb/db.h": ("rocksdb",), "libvirt/libvirt.h": ("libvirt",),
    "gpgme.h": ("gpgme",), "secp256k1.h": ("secp256k1",), "libheif/heif.h": ("libheif",),
    "libraw/libraw.h": ("libraw",), "poppler/cpp/poppler-document.h": ("poppler",),
    "tesseract/baseapi.h": ("tesseract",), "leptonica/allheaders.h": ("leptonica",),
}
# pkg-config modules (.pc files) -> attributes.
PKG_CONFIG: dict[str, tuple[str, ...]] = {
    "zlib": ("zlib",), "libffi": ("libffi",), "openssl": ("openssl",),
    "libssl": ("openssl",), "libcrypto": ("openssl",), "libpq": ("libpq", "postgresql"),
    "mysqlclient": ("libmysqlclient",), "libmariadb": ("libmysqlclient",),
    "mariadb": ("libmysqlclient",), "cairo": ("cairo",), "py3cairo": ("python3Packages.pycairo",),
    "libxml-2.0": ("libxml2",), "libxslt": ("libxslt",), "libexslt": ("libxslt",),
    "sqlite3": ("sqlite",), "glib-2.0": ("glib",), "gobject-2.0": ("glib",),
    "gio-2.0": ("glib",), "gobject-introspection-1.0": ("gobject-introspection",),
    "dbus-1": ("dbus",), "libsystemd": ("systemd",), "libudev": ("systemd",),
    "hdf5": ("hdf5",), "libcurl": ("curl",), "freetype2": ("freetype",),
    "libpng": ("libpng",), "libpng16": ("libpng",), "libjpeg": ("libjpeg",),
    "libtiff-4": ("libtiff",), "libwebp": ("libwebp",), "lcms2": ("lcms2",),
    "libopenjp2": ("openjpeg",), "yaml-0.1": ("libyaml",), "libzstd": ("zstd",),
    "liblz4": ("lz4",), "liblzma": ("xz",), "bzip2": ("bzip2",), "libusb-1.0": ("libusb1",),
    "portaudio-2.0": ("portaudio",), "sndfile": ("libsndfile",), "gdal": ("gdal",),
    "proj": ("proj",), "geos": ("geos",), "krb5": ("krb5",), "krb5-gssapi": ("krb5",),
    "mit-krb5-gssapi": ("krb5",), "uuid": ("libuuid",), "expat": ("expat",),
    "libpcre": ("pcre",), "libpcre2-8": ("pcre2",), "ncursesw": ("ncurses",),
    "ncurses": ("ncurses",), "readline": ("readline",), "x11": ("libx11",),
    "gtk+-3.0": ("gtk3",), "gtk4": ("gtk4",), "pango": ("pango",), "pangocairo": ("pango",),
    "libsecret-1": ("libsecret",), "libgit2": ("libgit2",), "libsodium": ("libsodium",),
    "gmp": ("gmp",), "poppler-cpp": ("poppler",), "libavformat": ("ffmpeg",),
    "libavcodec": ("ffmpeg",), "openblas": ("openblas",), "blas": ("blas",),
    "lapack": ("lapack",), "fftw3": ("fftw",), "gsl": ("gsl",), "fuse": ("fuse",),
    "fuse3": ("fuse3",), "libvirt": ("libvirt",), "libarchive": ("libarchive",),
    "tesseract": ("tesseract",), "lept": ("leptonica",), "libheif": ("libheif",),
    "libraw": ("libraw",), "icu-uc": ("icu",), "icu-i18n": ("icu",), "re2": ("re2",),
    "libevent": ("libevent",), "libuv": ("libuv",), "libssh2": ("libssh2",),
    "sdl2": ("SDL2",), "gl": ("libGL",), "egl": ("libGL",), "libsecp256k1": ("secp256k1",),
    "python3": (),  # the interpreter's own .pc: not a library to add
}
# `*-config` programs -> attributes whose dev or bin output has them.
CONFIG_PROGRAMS: dict[str, tuple[str, ...]] = {
    "pg_config": ("libpq.pg_config", "postgresql.pg_config", "postgresql"),
    "mysql_config": ("libmysqlclient",), "mariadb_config": ("libmysqlclient",),
    "xml2-config": ("libxml2",), "xslt-config": ("libxslt",), "curl-config": ("curl",),
    "freetype-config": ("freetype",), "gdal-config": ("gdal",), "geos-config": ("geos",),
    "krb5-config": ("krb5",), "net-snmp-config": ("net-snmp",),
    "libpng-config": ("libpng",), "gpgme-config": ("gpgme",), "sdl2-config": ("SDL2",),
    "icu-config": ("icu",), "pcre-config": ("pcre",), "pcre2-config": ("pcre2",),
    "ncursesw6-config": ("ncurses",), "nc-config": ("netcdf",), "h5cc": ("hdf5",),
    "pkg-config": ("pkg-config",), "make": ("gnumake",), "cmake": ("cmake",),
    "ninja": ("ninja",), "swig": ("swig",), "cargo": ("cargo",), "rustc": ("rustc",),
    "gfortran": ("gfortran",), "nasm": ("nasm",), "yasm": ("yasm",), "bison": ("bison",),
    "flex": ("flex",), "protoc": ("protobuf",), "perl": ("perl",), "patchelf": ("patchelf",),
}

_HEADER = re.compile(r"fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory")
_LINK = re.compile(r"(?:cannot find|unable to find library) -l([\w.+-]+)")
_PC = (re.compile(r"Package '?([\w.+-]+)'?,? (?:required by '[^'\n]*', )?(?:was not found|"
                  r"not found)"),
       re.compile(r"No package '([\w.+-]+)' found"),
       re.compile(r"Dependency \"([\w.+-]+)\" not found"),
       re.compile(r"Dependency ([\w.+-]+) found: NO"),
       re.compile(r"pkg-config --exists ([\w.+-]+)"))
_PROGRAM = (re.compile(r"(?:sh: (?:\d+: )?|: )([\w.+-]+): (?:command )?not found"),
            re.compile(r"No such file or directory: '([\w.+-]+)'"),
            re.compile(r"\b([\w.+-]+-config|pg_config|mysql_config|mariadb_config) "
                       r"(?:executable )?not found"),
            re.compile(r"(?:could not|can't|cannot|unable to) find ([\w.+-]+-config|pg_config)",
                       re.IGNORECASE),
            re.compile(r"Program '([\w.+-]+)' not found"))
_RUST = re.compile(r"can't find Rust compiler|Rust compiler|cargo: command not found|"
                   r"rustc: command not found|Cargo, the Rust package manager")


def diagnose(text: str) -> Finding | None:
    """What a failed build's output says was missing, and who provides it (the first
    recognised cause; a build stops at its first missing piece)."""
    best: tuple[int, Finding] | None = None

    def consider(pos: int, finding: Finding) -> None:
        nonlocal best
        if finding.candidates and (best is None or pos < best[0]):
            best = (pos, finding)

    for m in _HEADER.finditer(text):
        header = m.group(1)
        found = HEADERS.get(header) or HEADERS.get(header.split("/")[-1])
        if found:
            consider(m.start(), Finding(header, found))
    for m in _LINK.finditer(text):
        name = m.group(1)
        attribute = sonames.lookup(f"lib{name}.so")
        if attribute and attribute != sonames.DRIVER:
            consider(m.start(), Finding(f"-l{name} (lib{name}.so)", (attribute,)))
    for pattern in _PC:
        for m in pattern.finditer(text):
            found = PKG_CONFIG.get(m.group(1))
            if found:
                consider(m.start(), Finding(f"{m.group(1)}.pc", found))
    for pattern in _PROGRAM:
        for m in pattern.finditer(text):
            found = CONFIG_PROGRAMS.get(m.group(1))
            if found:
                consider(m.start(), Finding(m.group(1), found))
    rust = _RUST.search(text)
    if rust:
        consider(rust.start(), Finding("the Rust toolchain (cargo, rustc)", ("cargo", "rustc")))
    return best[1] if best else None


def add_command(attributes: Sequence[str]) -> str:
    return "uvx-nix nix add-build-library " + " ".join(attributes)


def add_to_pyproject(pyproject: Path, attributes: Sequence[str]) -> list[str]:
    """Append attributes to ``[tool.uvx-nix] build-libraries`` (formatting kept, atomic
    write); returns those that were added."""
    from uvx_nix.resolve import project

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
    finding = diagnose(output)
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
                           f"{'them' if together else 'it'} with `{add_command(names)}` (or "
                           "set auto-build-libraries = true)"}
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
            from filelock import FileLock

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


# ---------------------------------------------------------------------------------------
# `uvx-nix nix add-build-library ATTR...`


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """Add attributes to ``[tool.uvx-nix] build-libraries`` of the project, after checking the
    locked nixpkgs has them."""
    import argparse

    from uvx_nix import argv as argv_mod
    from uvx_nix.resolve import inputs as inputs_mod
    from uvx_nix.resolve import resolution

    parser = argparse.ArgumentParser(
        prog=f"uvx-nix nix {name}",
        description="Add nixpkgs attributes to [tool.uvx-nix] build-libraries: their headers, "
                    ".pc files and programs are given to builds uv runs.")
    parser.add_argument("attributes", nargs="+", metavar="ATTRIBUTE")
    parser.add_argument("--directory", help="run as if started in this directory")
    args = parser.parse_args(argv)
    wanted = [inputs_mod.validate_attribute(a, "the command line") for a in args.attributes]
    inp = inputs_mod.gather(argv_mod.sync(args.directory), environ)
    if inp.project is None:
        raise UserError("no pyproject.toml here: add build libraries to the user config "
                        "(build-libraries) or set UVX_NIX_BUILD_LIBRARIES", EXIT_CONFIG)
    resolved = resolution.ensure(inp, environ)
    missing = attributes.missing_attributes(resolved.inputs.lock_path, wanted, environ)
    if missing:
        raise UserError(f"the locked nixpkgs has no {', '.join(map(repr, missing))}; check the "
                        "attribute name (or run `uvx-nix nix lock --upgrade`)", EXIT_NO_MATCH)
    pyproject = inp.project.root / "pyproject.toml"
    added = add_to_pyproject(pyproject, wanted)
    if added:
        sys.stderr.write(f"uvx-nix: added {', '.join(added)} to [tool.uvx-nix] build-libraries "
                         f"in {pyproject}\n")
    else:
        sys.stderr.write(f"uvx-nix: {', '.join(wanted)} already in [tool.uvx-nix] "
                         "build-libraries\n")
    return 0
