"""glibc's own libraries: complete for Debian's glibc, and no attribute's to provide."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from uvx_nix.native import glibc, sonames


def test_glibc_libraries_are_nobody_elses() -> None:
    """No table entry or family sends a library of glibc's own to another attribute."""
    assert "libc.so.6" in glibc.SONAMES
    assert not [so for so in glibc.SONAMES if sonames.lookup(so) is not None]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian host")
def test_holds_every_library_of_debians_glibc() -> None:
    """Every versioned library Debian's libc6 puts in the loader's directory (what the NixOS
    simulation's store glibc is made of) is one of glibc's own."""
    listed = subprocess.run(["dpkg", "-L", "libc6"], capture_output=True, text=True,
                            check=True).stdout.split()
    libdir = next(Path(f).parent.resolve() for f in listed if Path(f).name == "libc.so.6")
    found = {Path(f).name for f in listed
             if Path(f).parent.resolve() == libdir and re.search(r"\.so\.[0-9]", f)}
    assert len(found) > 10
    assert found <= glibc.SONAMES
