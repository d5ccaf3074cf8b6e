"""Which nixpkgs attribute provides a shared library: a curated soname table.

``TABLE`` maps a soname (the DT_NEEDED string a wheel's ``.so`` asks for) to a nixpkgs
attribute path whose library output (``lib.getLib``: the ``lib`` output when there is one,
else ``out``) holds ``lib/<soname>``; :data:`DRIVER` instead marks libraries that only the
graphics driver provides (``/run/opengl-driver/lib`` on NixOS), which no attribute can.

When several packages ship a soname, the table names exactly one, chosen by this rule, in
order: (1) the package built from the library's own upstream project (``libGL.so.1`` ->
``libGL``, libglvnd, not ``mesa``); (2) the attribute nixpkgs' own derivations use as the
dependency (``libx11``, ``stdenv.cc.cc.lib``); (3) the shortest attribute path, then
alphabetical.  The attribute is given without an output suffix except where the library
output is a separate attribute (``stdenv.cc.cc.lib``, ``gfortran.cc.lib``).

Sonames not in the table are looked up by family (``libicuuc.so.74`` -> ``libicuuc``, the
name before ``.so``) and then, by :mod:`uvx_nix.native.suggest`, with ``nix-locate`` when
installed.  Data only; stdlib only (a copy sits beside the scope hook in each venv).
"""

from __future__ import annotations

import re

DRIVER = "/run/opengl-driver/lib"  # marker: provided by the NVIDIA/Mesa driver, not an attribute

TABLE: dict[str, str] = {
    # C/C++ runtimes (gcc's lib output; gfortran's for Fortran).
    "libstdc++.so.6": "stdenv.cc.cc.lib",
    "libgcc_s.so.1": "stdenv.cc.cc.lib",
    "libgomp.so.1": "stdenv.cc.cc.lib",
    "libatomic.so.1": "stdenv.cc.cc.lib",
    "libitm.so.1": "stdenv.cc.cc.lib",
    "libgfortran.so.5": "gfortran.cc.lib",
    "libgfortran.so.4": "gfortran.cc.lib",
    "libgfortran.so.3": "gfortran.cc.lib",
    "libquadmath.so.0": "gfortran.cc.lib",
    "libomp.so": "llvmPackages.openmp",
    "libomp.so.5": "llvmPackages.openmp",
    "libcrypt.so.1": "libxcrypt",
    # Compression.
    "libz.so.1": "zlib",
    "libzstd.so.1": "zstd",
    "liblzma.so.5": "xz",
    "libbz2.so.1": "bzip2",
    "libbz2.so.1.0": "bzip2",
    "liblz4.so.1": "lz4",
    "libsnappy.so.1": "snappy",
    "libbrotlicommon.so.1": "brotli",
    "libbrotlidec.so.1": "brotli",
    "libbrotlienc.so.1": "brotli",
    "libarchive.so.13": "libarchive",
    # OpenGL and friends (libglvnd's dispatch libraries; the vendor parts come from the driver).
    "libGL.so.1": "libGL",
    "libEGL.so.1": "libGL",
    "libGLX.so.0": "libGL",
    "libGLESv2.so.2": "libGL",
    "libOpenGL.so.0": "libGL",
    "libGLdispatch.so.0": "libGL",
    "libGLU.so.1": "libGLU",
    "libglut.so.3": "freeglut",
    "libGLEW.so.2.2": "glew",
    "libglfw.so.3": "glfw",
    "libepoxy.so.0": "libepoxy",
    "libdrm.so.2": "libdrm",
    "libgbm.so.1": "libgbm",
    "libvulkan.so.1": "vulkan-loader",
    "libOpenCL.so.1": "ocl-icd",
    # GPU driver libraries: only the running driver can provide them.
    "libcuda.so.1": DRIVER,
    "libcuda.so": DRIVER,
    "libnvidia-ml.so.1": DRIVER,
    "libnvcuvid.so.1": DRIVER,
    "libnvidia-encode.so.1": DRIVER,
    "libnvidia-ptxjitcompiler.so.1": DRIVER,
    "libGLX_nvidia.so.0": DRIVER,
    "libEGL_nvidia.so.0": DRIVER,
    # GLib / GObject.
    "libglib-2.0.so.0": "glib",
    "libgthread-2.0.so.0": "glib",
    "libgobject-2.0.so.0": "glib",
    "libgmodule-2.0.so.0": "glib",
    "libgio-2.0.so.0": "glib",
    "libpcre2-8.so.0": "pcre2",
    # X11 and XCB.
    "libX11.so.6": "libx11",
    "libX11-xcb.so.1": "libx11",
    "libXext.so.6": "libxext",
    "libXrender.so.1": "libxrender",
    "libxcb.so.1": "libxcb",
    "libxcb-shm.so.0": "libxcb",
    "libxcb-render.so.0": "libxcb",
    "libxcb-xfixes.so.0": "libxcb",
    "libxcb-shape.so.0": "libxcb",
    "libxcb-randr.so.0": "libxcb",
    "libxcb-glx.so.0": "libxcb",
    "libxcb-xkb.so.1": "libxcb",
    "libxcb-sync.so.1": "libxcb",
    "libxcb-xinerama.so.0": "libxcb",
    "libxcb-icccm.so.4": "libxcb-wm",
    "libxcb-image.so.0": "libxcb-image",
    "libxcb-keysyms.so.1": "libxcb-keysyms",
    "libxcb-render-util.so.0": "libxcb-render-util",
    "libxcb-util.so.1": "libxcb-util",
    "libxcb-cursor.so.0": "libxcb-cursor",
    "libSM.so.6": "libsm",
    "libICE.so.6": "libice",
    "libXi.so.6": "libxi",
    "libXrandr.so.2": "libxrandr",
    "libXcursor.so.1": "libxcursor",
    "libXfixes.so.3": "libxfixes",
    "libXinerama.so.1": "libxinerama",
    "libXcomposite.so.1": "libxcomposite",
    "libXdamage.so.1": "libxdamage",
    "libXtst.so.6": "libxtst",
    "libXxf86vm.so.1": "libxxf86vm",
    "libXt.so.6": "libxt",
    "libXau.so.6": "libxau",
    "libXdmcp.so.6": "libxdmcp",
    "libXft.so.2": "libxft",
    "libXmu.so.6": "libxmu",
    "libXpm.so.4": "libxpm",
    "libXss.so.1": "libxscrnsaver",
    "libXv.so.1": "libxv",
    "libxshmfence.so.1": "libxshmfence",
    "libxkbfile.so.1": "libxkbfile",
    "libxkbcommon.so.0": "libxkbcommon",
    "libxkbcommon-x11.so.0": "libxkbcommon",
    "libwayland-client.so.0": "wayland",
    "libwayland-cursor.so.0": "wayland",
    "libwayland-egl.so.1": "wayland",
    # Fonts, images, text.
    "libfontconfig.so.1": "fontconfig",
    "libfreetype.so.6": "freetype",
    "libharfbuzz.so.0": "harfbuzz",
    "libfribidi.so.0": "fribidi",
    "libgraphite2.so.3": "graphite2",
    "libexpat.so.1": "expat",
    "libxml2.so.2": "libxml2_13",
    "libxml2.so.16": "libxml2",
    "libxslt.so.1": "libxslt",
    "libexslt.so.0": "libxslt",
    "libjpeg.so.8": "libjpeg8",
    "libjpeg.so.62": "libjpeg",
    "libturbojpeg.so.0": "libjpeg",
    "libpng16.so.16": "libpng",
    "libtiff.so.6": "libtiff",
    "libtiff.so.5": "libtiff",
    "libwebp.so.7": "libwebp",
    "libwebpdemux.so.2": "libwebp",
    "libwebpmux.so.3": "libwebp",
    "libsharpyuv.so.0": "libwebp",
    "libopenjp2.so.7": "openjpeg",
    "liblcms2.so.2": "lcms2",
    "libpixman-1.so.0": "pixman",
    "libyaml-0.so.2": "libyaml",
    # GTK stack.
    "libgtk-3.so.0": "gtk3",
    "libgdk-3.so.0": "gtk3",
    "libcairo.so.2": "cairo",
    "libcairo-gobject.so.2": "cairo",
    "libpango-1.0.so.0": "pango",
    "libpangocairo-1.0.so.0": "pango",
    "libpangoft2-1.0.so.0": "pango",
    "libgdk_pixbuf-2.0.so.0": "gdk-pixbuf",
    # atk and at-spi2-atk were merged into at-spi2-core (2.46).
    "libatk-1.0.so.0": "at-spi2-core",
    "libatk-bridge-2.0.so.0": "at-spi2-core",
    "libatspi.so.0": "at-spi2-core",
    "libnotify.so.4": "libnotify",
    "libsecret-1.so.0": "libsecret",
    "libcups.so.2": "cups",
    # Audio.
    "libportaudio.so.2": "portaudio",
    "libsndfile.so.1": "libsndfile",
    "libasound.so.2": "alsa-lib",
    "libpulse.so.0": "libpulseaudio",
    "libpulse-simple.so.0": "libpulseaudio",
    "libjack.so.0": "libjack2",
    "libsamplerate.so.0": "libsamplerate",
    "libogg.so.0": "libogg",
    "libvorbis.so.0": "libvorbis",
    "libopus.so.0": "libopus",
    "libmp3lame.so.0": "lame",
    # System.
    "libdbus-1.so.3": "dbus",
    "libudev.so.1": "systemd",
    "libsystemd.so.0": "systemd",
    "libusb-1.0.so.0": "libusb1",
    "libuuid.so.1": "util-linux",
    "libmount.so.1": "util-linux",
    "libblkid.so.1": "util-linux",
    "libncursesw.so.6": "ncurses",
    "libncurses.so.6": "ncurses",
    "libtinfo.so.6": "ncurses",
    "libreadline.so.8": "readline",
    "libedit.so.0": "libedit",
    "libcap.so.2": "libcap",
    "libselinux.so.1": "libselinux",
    "libnuma.so.1": "numactl",
    "libaio.so.1": "libaio",
    "libelf.so.1": "elfutils",
    "libunwind.so.8": "libunwind",
    "libffi.so.8": "libffi",
    "libmagic.so.1": "file",
    "libltdl.so.7": "libtool",
    "libpcap.so.1": "libpcap",
    "libevent-2.1.so.7": "libevent",
    "libsodium.so.26": "libsodium",
    "libsodium.so.23": "libsodium",
    "libzmq.so.5": "zeromq",
    "libjson-c.so.5": "json_c",
    "libsqlite3.so.0": "sqlite",
    # Crypto, network, auth.
    "libssl.so.3": "openssl",
    "libcrypto.so.3": "openssl",
    "libssl.so.1.1": "openssl_1_1",
    "libcrypto.so.1.1": "openssl_1_1",
    "libgcrypt.so.20": "libgcrypt",
    "libgpg-error.so.0": "libgpg-error",
    "libkrb5.so.3": "krb5",
    "libgssapi_krb5.so.2": "krb5",
    "libk5crypto.so.3": "krb5",
    "libkrb5support.so.0": "krb5",
    "libgssapi.so.3": "heimdal",
    "libpq.so.5": "postgresql",
    "libnss3.so": "nss",
    "libnssutil3.so": "nss",
    "libsmime3.so": "nss",
    "libnspr4.so": "nspr",
    "libplc4.so": "nspr",
    "libplds4.so": "nspr",
    "libcurl.so.4": "curl",
    "libidn2.so.0": "libidn2",
    "libssh2.so.1": "libssh2",
    "libnghttp2.so.14": "nghttp2",
    # Numerics and HPC.
    "libgmp.so.10": "gmp",
    "libmpfr.so.6": "mpfr",
    "libblas.so.3": "blas",
    "liblapack.so.3": "lapack",
    "libopenblas.so.0": "openblas",
    "libfftw3.so.3": "fftw",
    "libfftw3f.so.3": "fftwFloat",
    "libtbb.so.12": "tbb",
    "libhwloc.so.15": "hwloc",
    "libmpi.so.40": "openmpi",
    "libhdf5.so.310": "hdf5",
    "libhdf5_hl.so.310": "hdf5",
    "libibverbs.so.1": "rdma-core",
    "librdmacm.so.1": "rdma-core",
    # Multimedia.
    "libSDL2-2.0.so.0": "SDL2",
    "libgstreamer-1.0.so.0": "gst_all_1.gstreamer",
}

# Families: the name before ".so", for versions the table does not list (libhdf5.so.200,
# libicuuc.so.74).  A family maps to the attribute of its table entries, if they agree.
EXTRA_FAMILIES: dict[str, str] = {
    "libicuuc": "icu", "libicui18n": "icu", "libicudata": "icu",
    "libavcodec": "ffmpeg", "libavformat": "ffmpeg", "libavutil": "ffmpeg",
    "libswscale": "ffmpeg", "libswresample": "ffmpeg",
    "libprotobuf": "protobuf", "libboost_python": "boost",
}
# Prefixes that only the driver provides (libnvidia-glcore.so.550.54.14, ...).
DRIVER_PREFIXES = ("libnvidia-", "libcuda.so", "libGLX_nvidia.", "libEGL_nvidia.",
                   "libGLESv2_nvidia.", "libnvcuvid.", "libnvoptix.")
# Libraries the driver dir provides too (the GL dispatch and vendor libraries).
DRIVER_FAMILIES = frozenset({"libGL", "libEGL", "libGLX", "libGLESv2", "libGLESv1_CM",
                             "libOpenGL", "libGLdispatch", "libgbm", "libvulkan", "libOpenCL"})

_FAMILY = re.compile(r"^(?P<name>.+?)\.so(\..*)?$")


def family(soname: str) -> str:
    """``libfoo.so.1.2`` -> ``libfoo`` (the whole name if it has no ``.so``)."""
    m = _FAMILY.match(soname)
    return m.group("name") if m else soname


def _families() -> dict[str, str]:
    out: dict[str, str] = {}
    conflicts: set[str] = set()
    for soname, attribute in TABLE.items():
        name = family(soname)
        if name in out and out[name] != attribute:
            conflicts.add(name)
        out.setdefault(name, attribute)
    for name in conflicts:
        del out[name]
    return {**out, **EXTRA_FAMILIES}


FAMILIES = _families()


def is_driver(soname: str) -> bool:
    """A library only the graphics driver provides (CUDA, NVML, NVIDIA's GL vendor libs)."""
    return TABLE.get(soname) == DRIVER or soname.startswith(DRIVER_PREFIXES)


def driver_related(soname: str) -> bool:
    """A library the driver dir may provide: driver-only ones plus the GL/Vulkan/CL loaders."""
    return is_driver(soname) or family(soname) in DRIVER_FAMILIES


# Families nixpkgs packages one attribute per major version of (icu74, icu76, ...): the soname's
# major version picks the attribute.
VERSIONED_FAMILIES: dict[str, str] = {"libicuuc": "icu", "libicui18n": "icu", "libicudata": "icu",
                                      "libicuio": "icu"}
_MAJOR = re.compile(r"^.+?\.so\.(?P<major>[0-9]+)")


def lookup(soname: str) -> str | None:
    """The attribute path (or :data:`DRIVER`) for a soname: exact entry, then its family."""
    if soname in TABLE:
        return TABLE[soname]
    if is_driver(soname):
        return DRIVER
    name = family(soname)
    major = _MAJOR.match(soname)
    if name in VERSIONED_FAMILIES and major:
        return f"{VERSIONED_FAMILIES[name]}{major.group('major')}"
    return FAMILIES.get(name)


# Where a soname's provider differs between nixpkgs releases: attributes to try after the table's
# (older releases first had the library there). Each candidate counts only if, built, it holds
# lib/<soname> (uvx_nix.resolve.attributes.providers).
FALLBACKS: dict[str, tuple[str, ...]] = {
    "libgbm.so.1": ("mesa",),  # libgbm is its own package since 2025; mesa built it before
    "libxml2.so.2": ("libxml2",),  # libxml2_13 exists since libxml2 2.14 (.so.16) took over
}


def candidates(soname: str) -> tuple[str, ...]:
    """The attributes that may provide ``soname``, in the order to try them: the table's (or
    the family's) first, then older providers, then for a versioned family the unversioned
    attribute (``icu74``, then ``icu``, which holds ``.so.74`` only while it is icu 74).
    Empty for a driver library or an unknown one."""
    first = lookup(soname)
    if first is None or first == DRIVER:
        return ()
    out = [first, *FALLBACKS.get(soname, ())]
    name = family(soname)
    if name in VERSIONED_FAMILIES and _MAJOR.match(soname):
        out.append(VERSIONED_FAMILIES[name])
    return tuple(dict.fromkeys(out))


# Older names of an attribute, newest first: the set of nixpkgs releases one table serves.
# nixpkgs deprecated the xorg set in 2026-01 (NixOS/nixpkgs#479724: "The xorg package set has
# been deprecated, 'xorg.libX11' has been renamed to 'libx11'"; 26.05 has both, 25.11 and
# older only the xorg names). Checked against the renames the warning names and
# pkgs/servers/x11/xorg/default.nix's aliases; libxcb-cursor, libxinerama, libxft, libxmu,
# libxscrnsaver, libxv, libxshmfence and libxkbfile follow the same pattern unconfirmed.
RENAMED: dict[str, tuple[str, ...]] = {
    "libx11": ("xorg.libX11",),
    "libxxf86vm": ("xorg.libXxf86vm",),
    "libxext": ("xorg.libXext",),
    "libxrender": ("xorg.libXrender",),
    "libxcb": ("xorg.libxcb",),
    "libxcb-wm": ("xorg.xcbutilwm",),
    "libxcb-image": ("xorg.xcbutilimage",),
    "libxcb-keysyms": ("xorg.xcbutilkeysyms",),
    "libxcb-render-util": ("xorg.xcbutilrenderutil",),
    "libxcb-util": ("xorg.xcbutil",),
    "libxcb-cursor": ("xorg.xcbutilcursor",),
    "libsm": ("xorg.libSM",),
    "libice": ("xorg.libICE",),
    "libxi": ("xorg.libXi",),
    "libxrandr": ("xorg.libXrandr",),
    "libxcursor": ("xorg.libXcursor",),
    "libxfixes": ("xorg.libXfixes",),
    "libxinerama": ("xorg.libXinerama",),
    "libxcomposite": ("xorg.libXcomposite",),
    "libxdamage": ("xorg.libXdamage",),
    "libxtst": ("xorg.libXtst",),
    "libxt": ("xorg.libXt",),
    "libxau": ("xorg.libXau",),
    "libxdmcp": ("xorg.libXdmcp",),
    "libxft": ("xorg.libXft",),
    "libxmu": ("xorg.libXmu",),
    "libxpm": ("xorg.libXpm",),
    "libxscrnsaver": ("xorg.libXScrnSaver",),
    "libxv": ("xorg.libXv",),
    "libxshmfence": ("xorg.libxshmfence",),
    "libxkbfile": ("xorg.libxkbfile",),
}
_CURRENT = {old: new for new, olds in RENAMED.items() for old in olds}


def names(attribute: str) -> tuple[str, ...]:
    """Every name ``attribute`` has had, current first: what resolution asks nixpkgs for, in
    order, so one configured name works from nixpkgs 25.05 to unstable."""
    current = _CURRENT.get(attribute, attribute)
    return (current, *RENAMED.get(current, ()))
