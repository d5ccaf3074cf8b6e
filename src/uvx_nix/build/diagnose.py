"""From a failed build to its fix: the compiler, header, ``.pc`` file, ``*-config`` program
or library it missed, and the nixpkgs attribute that provides it (a curated table plus the
soname data)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from uvx_nix.native import sonames

if TYPE_CHECKING:
    pass


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
