"""The ELF reader: real binaries, hand-made headers, and arbitrary bytes."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.wheels import build_cxx_wheel
from uvx_nix.native import elf


def _readelf(path: Path, flag: str) -> str:
    return subprocess.run(["readelf", flag, str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_reads_bin_ls_like_readelf() -> None:
    ls = Path(shutil.which("ls") or "/bin/ls").resolve()
    info = elf.read(ls)
    assert info is not None
    assert info.elf_class == 64
    assert info.big_endian is False
    assert info.interpreter is not None
    assert f"[Requesting program interpreter: {info.interpreter}]" in _readelf(ls, "-l")
    dynamic = _readelf(ls, "-d")
    assert info.needed
    for soname in info.needed:
        assert f"Shared library: [{soname}]" in dynamic
    assert "libc.so.6" in info.needed
    assert info.dynamic


def test_dynamic_tells_linked_programs_from_static_ones(tmp_path: Path) -> None:
    """PT_DYNAMIC, not PT_INTERP, says whether a file is dynamically linked: a static PIE has
    one without an interpreter, a static program neither, an object file no program headers."""
    src = tmp_path / "m.c"
    src.write_text("int main(void) { return 0; }\n")
    kinds = {"dyn": [], "static-pie": ["-static-pie"], "static": ["-static", "-no-pie"],
             "object": ["-c"]}
    got: dict[str, tuple[bool, bool]] = {}
    for name, flags in kinds.items():
        subprocess.run(["gcc", *flags, "-o", str(tmp_path / name), str(src)], check=True)
        info = elf.read(tmp_path / name)
        assert info is not None
        got[name] = (info.dynamic, info.interpreter is not None)
    assert got == {"dyn": (True, True), "static-pie": (True, False),
                   "static": (False, False), "object": (False, False)}
    assert "DYNAMIC" in _readelf(tmp_path / "static-pie", "-l")
    assert "DYNAMIC" not in _readelf(tmp_path / "static", "-l")


def test_reads_a_cxx_extension(tmp_path: Path) -> None:
    wheel = build_cxx_wheel(tmp_path / "wheels")
    so = tmp_path / "m.so"
    with zipfile.ZipFile(wheel) as z:
        so.write_bytes(z.read("uvxnix_cxxdemo.abi3.so"))
    info = elf.read(so)
    assert info is not None
    assert info.interpreter is None  # a shared library, not a program
    assert "libstdc++.so.6" in info.needed
    assert info.is_loadable


def test_reads_soname_runpath_and_origin(tmp_path: Path) -> None:
    src = tmp_path / "a.c"
    src.write_text("int f(void) { return 1; }\n")
    out = tmp_path / "liba.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(src),
                    "-Wl,-soname,liba.so.1", "-Wl,--enable-new-dtags",
                    "-Wl,-rpath,$ORIGIN/../libs:${ORIGIN}/x:/opt/lib"], check=True)
    info = elf.read(out)
    assert info is not None
    assert info.soname == "liba.so.1"
    assert info.runpath == "$ORIGIN/../libs:${ORIGIN}/x:/opt/lib"
    assert info.rpath is None
    assert info.search_path("/v/pkg") == ["/v/pkg/../libs", "/v/pkg/x", "/opt/lib"]


def test_old_style_rpath_is_used_without_runpath(tmp_path: Path) -> None:
    src = tmp_path / "a.c"
    src.write_text("int f(void) { return 1; }\n")
    out = tmp_path / "liba.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(src),
                    "-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/r"], check=True)
    info = elf.read(out)
    assert info is not None
    assert info.runpath is None
    assert info.rpath == "$ORIGIN/r"
    assert info.search_path("/d") == ["/d/r"]


def _synthetic(is64: bool, big: bool) -> bytes:
    """A minimal ELF with PT_INTERP, PT_LOAD and PT_DYNAMIC (NEEDED, SONAME, RUNPATH)."""
    o = ">" if big else "<"
    strtab = b"\0libfoo.so.1\0libself.so.2\0$ORIGIN\0"
    interp = b"/lib/ld.so.1\0"
    ehsize, phsize, dynsize = (64, 56, 16) if is64 else (52, 32, 8)
    phoff = ehsize
    interp_off = phoff + 3 * phsize
    str_off = interp_off + len(interp)
    dyn_off = str_off + len(strtab)
    dyn_entries = [(1, 1), (14, 13), (29, 26), (5, str_off), (10, len(strtab)), (0, 0)]
    total = dyn_off + dynsize * len(dyn_entries)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if big else 1, 1]) + bytes(9)
    if is64:
        header = struct.pack(o + "HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, ehsize, phsize,
                             3, 64, 0, 0)
        ph = b"".join(struct.pack(o + "IIQQQQQQ", t, 4, off, off, off, size, size, 8)
                      for t, off, size in [(1, 0, total), (3, interp_off, len(interp)),
                                           (2, dyn_off, dynsize * len(dyn_entries))])
        dyn = b"".join(struct.pack(o + "qQ", t, v) for t, v in dyn_entries)
    else:
        header = struct.pack(o + "HHIIIIIHHHHHH", 3, 3, 1, 0, phoff, 0, 0, ehsize, phsize,
                             3, 40, 0, 0)
        ph = b"".join(struct.pack(o + "IIIIIIII", t, off, off, off, size, size, 4, 4)
                      for t, off, size in [(1, 0, total), (3, interp_off, len(interp)),
                                           (2, dyn_off, dynsize * len(dyn_entries))])
        dyn = b"".join(struct.pack(o + "iI", t, v) for t, v in dyn_entries)
    data = ident + header + ph + interp + strtab + dyn
    assert len(data) == total
    return data


@pytest.mark.parametrize(("is64", "big"), [(True, False), (True, True), (False, False),
                                           (False, True)])
def test_both_classes_and_byte_orders(is64: bool, big: bool) -> None:
    info = elf.read_stream(io.BytesIO(_synthetic(is64, big)))
    assert info is not None
    assert info.elf_class == (64 if is64 else 32)
    assert info.big_endian is big
    assert info.interpreter == "/lib/ld.so.1"
    assert info.needed == ("libfoo.so.1",)
    assert info.soname == "libself.so.2"
    assert info.runpath == "$ORIGIN"
    assert info.dynamic


def test_not_elf_and_unreadable(tmp_path: Path) -> None:
    text = tmp_path / "t"
    text.write_text("#!/bin/sh\n")
    assert elf.read(text) is None
    assert elf.read(tmp_path / "missing") is None
    assert elf.read(tmp_path) is None
    assert not elf.is_elf(text)


def test_truncated_files_give_partial_results() -> None:
    data = _synthetic(True, False)
    for cut in range(len(data)):
        info = elf.read_stream(io.BytesIO(data[:cut]))
        assert info is None or info.needed in ((), ("libfoo.so.1",))
    assert elf.read_stream(io.BytesIO(data[:15])) is None


@settings(max_examples=400)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    elf.read_stream(io.BytesIO(data))
    elf.read_stream(io.BytesIO(b"\x7fELF" + data))


@settings(max_examples=300)
@given(st.data())
def test_corrupted_valid_headers_never_raise(data: st.DataObject) -> None:
    raw = bytearray(_synthetic(data.draw(st.booleans()), data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(4, len(raw) - 1))] = data.draw(st.integers(0, 255))
    info = elf.read_stream(io.BytesIO(bytes(raw)))
    assert info is None or isinstance(info.needed, tuple)
