"""From a failed build's output to what it missed and the attribute that provides it."""

from __future__ import annotations

import pytest

from uvx_nix.build import diagnose


@pytest.mark.parametrize(("output", "what", "first"), [
    ("cext.c:2:10: fatal error: zlib.h: No such file or directory", "zlib.h", "zlib"),
    ("x.c:1:10: fatal error: ffi.h: No such file or directory\n compilation terminated.",
     "ffi.h", "libffi"),
    ("fatal error: libxml/xmlversion.h: No such file or directory", "libxml/xmlversion.h",
     "libxml2"),
    ("/usr/bin/ld: cannot find -lpq: No such file or directory", "-lpq (libpq.so)",
     "postgresql"),
    ("ld: cannot find -lz", "-lz (libz.so)", "zlib"),
    ("Package mysqlclient was not found in the pkg-config search path.", "mysqlclient.pc",
     "libmysqlclient"),
    ("Package 'libffi', required by 'virtual:world', not found", "libffi.pc", "libffi"),
    ("Run-time dependency cairo found: NO (tried pkgconfig)\n"
     "../meson.build:31:10: ERROR: Dependency \"cairo\" not found, tried pkgconfig",
     "cairo.pc", "cairo"),
    ("Error: pg_config executable not found.\n\npg_config is required to build psycopg2",
     "pg_config", "libpq.pg_config"),
    ("/bin/sh: 1: mysql_config: not found\nOSError: mysql_config not found", "mysql_config",
     "libmysqlclient"),
    ("sh: xml2-config: command not found", "xml2-config", "libxml2"),
    ("error: can't find Rust compiler", "the Rust toolchain (cargo, rustc)", "cargo"),
])
def test_diagnose_names_what_and_who(output: str, what: str, first: str) -> None:
    finding = diagnose.diagnose(f"running build_ext\n{output}\nerror: command failed\n")
    assert finding is not None
    assert (finding.what, finding.candidates[0]) == (what, first)


def test_diagnose_takes_the_first_cause_and_ignores_the_unknown() -> None:
    text = ("a.c:1:10: fatal error: sqlite3.h: No such file or directory\n"
            "ld: cannot find -lz\n")
    finding = diagnose.diagnose(text)
    assert finding is not None
    assert finding.what == "sqlite3.h"
    assert diagnose.diagnose("error: something else went wrong") is None
    assert diagnose.diagnose("fatal error: myproject_private.h: No such file or directory") \
        is None
