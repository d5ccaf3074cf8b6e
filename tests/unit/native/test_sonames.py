"""The soname table: well-formed, unique, and covering the families wheels ask for."""

from __future__ import annotations

import pytest

from uvx_nix.native import sonames
from uvx_nix.resolve import inputs

# One soname (or family prefix) per library the issue names; each must be in the table.
REQUIRED = {
    "libstdc++.so.6": "stdenv.cc.cc.lib", "libgcc_s.so.1": "stdenv.cc.cc.lib",
    "libz.so.1": "zlib", "libGL.so.1": "libGL", "libEGL.so.1": "libGL",
    "libGLU.so.1": "libGLU", "libglib-2.0.so.0": "glib", "libgthread-2.0.so.0": "glib",
    "libgobject-2.0.so.0": "glib", "libX11.so.6": "libx11", "libXext.so.6": "libxext",
    "libXrender.so.1": "libxrender", "libxcb.so.1": "libxcb", "libSM.so.6": "libsm",
    "libICE.so.6": "libice", "libfontconfig.so.1": "fontconfig",
    "libfreetype.so.6": "freetype", "libexpat.so.1": "expat", "libssl.so.3": "openssl",
    "libcrypto.so.3": "openssl", "libffi.so.8": "libffi", "libsqlite3.so.0": "sqlite",
    "libxml2.so.2": "libxml2_13", "libxml2.so.16": "libxml2", "libxslt.so.1": "libxslt",
    "libexslt.so.0": "libxslt", "libjpeg.so.8": "libjpeg8", "libjpeg.so.62": "libjpeg",
    "libpng16.so.16": "libpng", "libzstd.so.1": "zstd",
    "liblzma.so.5": "xz", "libbz2.so.1.0": "bzip2", "libgomp.so.1": "stdenv.cc.cc.lib",
    "libgfortran.so.5": "gfortran.cc.lib", "libquadmath.so.0": "gfortran.cc.lib",
    "libportaudio.so.2": "portaudio", "libsndfile.so.1": "libsndfile",
    "libasound.so.2": "alsa-lib", "libpulse.so.0": "libpulseaudio", "libdbus-1.so.3": "dbus",
    "libudev.so.1": "systemd", "libusb-1.0.so.0": "libusb1", "libuuid.so.1": "util-linux",
    "libncursesw.so.6": "ncurses", "libreadline.so.8": "readline", "libkrb5.so.3": "krb5",
    "libgssapi_krb5.so.2": "krb5", "libpq.so.5": "postgresql", "libvulkan.so.1": "vulkan-loader",
    "libOpenCL.so.1": "ocl-icd", "libgbm.so.1": "libgbm", "libcurl.so.4": "curl",
    "libnuma.so.1": "numactl", "libomp.so": "llvmPackages.openmp",
}
FAMILIES = ["libXi", "libXrandr", "libXcursor", "libXfixes", "libXinerama", "libXcomposite",
            "libXdamage", "libXtst", "libxkbcommon", "libtiff", "libwebp", "libnss3", "libnspr4",
            "libatk-1.0", "libgtk-3", "libcairo", "libpango-1.0", "libgdk_pixbuf-2.0",
            "libharfbuzz", "libdrm", "libmpi", "libhdf5", "libidn2", "libcap", "libselinux",
            "libxkbfile", "libXxf86vm", "libXt", "libxshmfence", "libsecret-1", "libgssapi"]


def test_table_is_large_well_formed_and_unique() -> None:
    assert len(sonames.TABLE) >= 60
    for soname, attribute in sonames.TABLE.items():
        assert soname.startswith(("lib", "ld-")), soname
        assert ".so" in soname, soname
        if attribute != sonames.DRIVER:
            assert inputs.validate_attribute(attribute, "the soname table") == attribute
    # A dict literal silently keeps the last of two equal keys: count them in the source.
    import inspect

    source = inspect.getsource(sonames).split("\nTABLE: ", 1)[1].split("\n}\n", 1)[0]
    for soname in sonames.TABLE:
        assert source.count(f'    "{soname}": ') == 1, soname


@pytest.mark.parametrize(("soname", "attribute"), sorted(REQUIRED.items()))
def test_named_libraries(soname: str, attribute: str) -> None:
    assert sonames.lookup(soname) == attribute


@pytest.mark.parametrize("name", FAMILIES)
def test_named_families(name: str) -> None:
    assert any(sonames.family(s) == name for s in sonames.TABLE), name


def test_driver_libraries_are_a_marker_not_an_attribute() -> None:
    for soname in ("libcuda.so.1", "libnvidia-ml.so.1", "libnvidia-glcore.so.550.54.14"):
        assert sonames.lookup(soname) == sonames.DRIVER
        assert sonames.is_driver(soname)
    assert not sonames.is_driver("libGL.so.1")
    assert sonames.driver_related("libGL.so.1")
    assert not sonames.driver_related("libz.so.1")


def test_family_fallback_for_other_versions() -> None:
    assert sonames.family("libhdf5.so.200") == "libhdf5"
    assert sonames.lookup("libhdf5.so.200") == "hdf5"
    # A versioned family prefers the attribute of that version (nixpkgs has icu74 and icu76).
    assert sonames.lookup("libicuuc.so.74") == "icu74"
    assert sonames.lookup("libicui18n.so.76") == "icu76"
    assert sonames.lookup("libssl.so.1.1") == "openssl_1_1"
    assert sonames.lookup("libssl.so.4") is None  # the family's entries disagree: no guess
    assert sonames.lookup("libunknown-thing.so.3") is None
    # Families whose sonames disagree have no fallback (libjpeg.so.8 is libjpeg8, .62 libjpeg).
    assert sonames.lookup("libjpeg.so.7") is None


@pytest.mark.parametrize(("attribute", "expected"), [
    ("xorg.libX11", ("libx11", "xorg.libX11")),  # an old name asks for the new one first
    ("libx11", ("libx11", "xorg.libX11")),
    ("xorg.xcbutilwm", ("libxcb-wm", "xorg.xcbutilwm")),
    ("zlib", ("zlib",)),
])
def test_names_current_first_then_older(attribute: str, expected: tuple[str, ...]) -> None:
    assert sonames.names(attribute) == expected


def test_every_renamed_table_entry_keeps_its_old_name() -> None:
    for attribute in sonames.TABLE.values():
        assert not attribute.startswith("xorg."), attribute  # the table names current ones
    assert all(old.startswith("xorg.") for olds in sonames.RENAMED.values() for old in olds)


def test_candidates_are_tried_current_provider_first() -> None:
    assert sonames.candidates("libgbm.so.1") == ("libgbm", "mesa")
    assert sonames.candidates("libxml2.so.2") == ("libxml2_13", "libxml2")
    assert sonames.candidates("libxml2.so.16") == ("libxml2",)
    assert sonames.candidates("libicuuc.so.74") == ("icu74", "icu")
    assert sonames.candidates("libX11.so.6") == ("libx11",)  # its old name: sonames.names
    assert sonames.candidates("libcuda.so.1") == ()
    assert sonames.candidates("libnothing-known.so.3") == ()
