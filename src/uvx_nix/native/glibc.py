"""The libraries glibc itself ships: its ``lib/`` in nixpkgs, Debian's libc6 package.

The dynamic loader always finds them beside itself, so no nixpkgs attribute is ever asked to
provide one: a scan assumes them when an interpreter's own glibc cannot be read, and the NixOS
simulation leaves them out of every package but its store glibc.  Data only; stdlib only.
"""

from __future__ import annotations

# The loader under every architecture's name: a scan may meet an aarch64 or i686 program.
SONAMES = frozenset({
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld-linux.so.2", "libc.so.6", "libm.so.6",
    "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2", "libutil.so.1",
    "libanl.so.1", "libBrokenLocale.so.1", "libc_malloc_debug.so.0", "libmvec.so.1",
    "libnsl.so.1", "libnss_compat.so.2", "libnss_dns.so.2", "libnss_files.so.2",
    "libnss_hesiod.so.2", "libthread_db.so.1",
})
