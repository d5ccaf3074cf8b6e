"""A small, streaming ELF reader: what the dynamic loader needs to know about a file.

``read(path)`` returns the ELF interpreter (PT_INTERP), whether there is a dynamic section
(PT_DYNAMIC), the DT_NEEDED sonames, DT_RPATH, DT_RUNPATH and DT_SONAME of an ELF32/ELF64
file of either byte order, or None when the file is not ELF.  It seeks to the program
headers, the PT_INTERP string, the dynamic section and the dynamic string table only, so a
1 GB ``.so`` costs a few small reads.
Bad input never raises: a truncated or garbage file gives None or a partial result.
Stdlib only.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from typing import BinaryIO

from uvx_nix import files

MAGIC = b"\x7fELF"
ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
EM_X86_64, EM_AARCH64, EM_386 = 62, 183, 3

# Bounds, so a hostile header cannot make us read (or allocate) much.
MAX_PHNUM = 4096
MAX_DYNAMIC = 64 * 1024
MAX_STRING = 4096


@dataclass(frozen=True)
class ElfInfo:
    elf_class: int  # 32 or 64
    big_endian: bool
    machine: int  # e_machine (62 = x86-64, 183 = aarch64)
    elf_type: int  # e_type (2 = executable, 3 = shared object or PIE)
    interpreter: str | None = None  # PT_INTERP: set on dynamically linked executables
    needed: tuple[str, ...] = ()
    rpath: str | None = None
    runpath: str | None = None
    soname: str | None = None
    dynamic: bool = False  # PT_DYNAMIC: dynamically linked (or a static PIE)

    @property
    def is_loadable(self) -> bool:
        return self.elf_type in (ET_EXEC, ET_DYN)

    def search_path(self, origin: str) -> list[str]:
        """The directories of DT_RUNPATH (or, without one, DT_RPATH), ``$ORIGIN`` expanded."""
        raw = self.runpath if self.runpath is not None else self.rpath
        if not raw:
            return []
        return [item.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
                for item in raw.split(":") if item]


def _open(path: str | os.PathLike[str]) -> BinaryIO | None:
    """A regular file, opened without blocking (a FIFO or a terminal is skipped, not
    waited on)."""
    fd = files.open_regular(path)
    return None if fd is None else os.fdopen(fd, "rb")


def is_elf(path: str | os.PathLike[str]) -> bool:
    """True when the file is a regular file starting with the ELF magic (one 4-byte read)."""
    try:
        f = _open(path)
        if f is None:
            return False
        with f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def read(path: str | os.PathLike[str]) -> ElfInfo | None:
    """The dynamic-loading facts of an ELF file; None if it is not ELF or cannot be read."""
    try:
        f = _open(path)
        if f is None:
            return None
        with f:
            return read_stream(f)
    except OSError:
        return None


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    if offset < 0 or size <= 0:
        return b""
    try:
        f.seek(offset)
        return f.read(size)
    except (OSError, OverflowError, ValueError):
        return b""


def _string(f: BinaryIO, offset: int, limit: int = MAX_STRING) -> str | None:
    data = _read_at(f, offset, min(limit, MAX_STRING))
    end = data.find(b"\0")
    if end < 0:
        return None
    return os.fsdecode(data[:end])


def read_stream(f: BinaryIO) -> ElfInfo | None:
    """Like :func:`read`, on an open binary file positioned anywhere."""
    ident = _read_at(f, 0, 16)
    if len(ident) < 16 or ident[:4] != MAGIC or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        return None
    is64 = ident[4] == 2
    order = ">" if ident[5] == 2 else "<"
    header = _read_at(f, 16, 48 if is64 else 36)
    if len(header) < (48 if is64 else 36):
        return None
    if is64:
        e_type, machine, _ver, _entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum = \
            struct.unpack(order + "HHIQQQIHHH", header[:42])
        ph_fmt, ph_size = order + "IIQQQQQQ", 56
    else:
        e_type, machine, _ver, _entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum = \
            struct.unpack(order + "HHIIIIIHHH", header[:30])
        ph_fmt, ph_size = order + "IIIIIIII", 32
    base = ElfInfo(64 if is64 else 32, order == ">", machine, e_type)
    if phentsize < ph_size or phnum == 0 or phnum > MAX_PHNUM:
        return base
    table = _read_at(f, phoff, phentsize * phnum)
    loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
    interp: tuple[int, int] | None = None
    dynamic: tuple[int, int] | None = None
    for i in range(len(table) // phentsize):
        raw = table[i * phentsize:i * phentsize + ph_size]
        if is64:
            p_type, _pflags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = \
                struct.unpack(ph_fmt, raw)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _pflags, _align = \
                struct.unpack(ph_fmt, raw)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_filesz, p_offset))
        elif p_type == PT_INTERP and interp is None:
            interp = (p_offset, p_filesz)
        elif p_type == PT_DYNAMIC and dynamic is None:
            dynamic = (p_offset, p_filesz)
    interpreter = _string(f, interp[0], interp[1]) if interp else None
    info = ElfInfo(base.elf_class, base.big_endian, machine, e_type, interpreter or None,
                   dynamic=dynamic is not None)
    if dynamic is None:
        return info
    return _dynamic(f, info, dynamic, loads, is64, order)


def _dynamic(f: BinaryIO, info: ElfInfo, dynamic: tuple[int, int],
             loads: list[tuple[int, int, int]], is64: bool, order: str) -> ElfInfo:
    entry_fmt, entry_size = (order + "qQ", 16) if is64 else (order + "iI", 8)
    data = _read_at(f, dynamic[0], min(dynamic[1], MAX_DYNAMIC))
    entries: list[tuple[int, int]] = []
    for i in range(len(data) // entry_size):
        tag, value = struct.unpack(entry_fmt, data[i * entry_size:(i + 1) * entry_size])
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    strtab_addr = next((v for t, v in entries if t == DT_STRTAB), None)
    strsz = next((v for t, v in entries if t == DT_STRSZ), None)
    if strtab_addr is None:
        return info
    strtab = _vaddr_to_offset(strtab_addr, loads)
    if strtab is None:
        return info

    def text(value: int) -> str | None:
        if strsz is not None and value >= strsz:
            return None
        limit = MAX_STRING if strsz is None else min(MAX_STRING, strsz - value)
        return _string(f, strtab + value, limit)

    needed: list[str] = []
    fields: dict[int, str | None] = {}
    for tag, value in entries:
        if tag == DT_NEEDED:
            name = text(value)
            if name:
                needed.append(name)
        elif tag in (DT_SONAME, DT_RPATH, DT_RUNPATH) and tag not in fields:
            fields[tag] = text(value)
    return replace(info, needed=tuple(needed), rpath=fields.get(DT_RPATH),
                   runpath=fields.get(DT_RUNPATH), soname=fields.get(DT_SONAME))


def _vaddr_to_offset(addr: int, loads: list[tuple[int, int, int]]) -> int | None:
    for vaddr, filesz, offset in loads:
        if vaddr <= addr < vaddr + filesz:
            return addr - vaddr + offset
    return None
