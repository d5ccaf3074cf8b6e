# The build toolchain of the look-alike: stdenv.cc (a wrapped gcc), binutils, glibc's `dev`
# output, pkg-config (wrapped pkgconf) and gnumake, all from the host's programs (see
# ../collect.py). Shapes copied from nixpkgs: pkgs/build-support/cc-wrapper (a wrapper whose
# bin/ holds cc, gcc, c++, g++, cpp and the bintools, passthru cc, libc, bintools, suffixSalt,
# isGNU), pkgs/build-support/pkg-config-wrapper, and multiple outputs (`dev`/`out`).
{ system, sh, busybox, glibc, source, mkPackage, bash, version, ccLib }:
rec {
  suffixSalt = "x86_64_unknown_linux_gnu";

  gcc-unwrapped = mkPackage { pname = "gcc"; inherit version; src = source "gcc-unwrapped"; };
  binutils-unwrapped = mkPackage { pname = "binutils"; src = source "binutils"; };

  glibcDev = derivation {
    name = "glibc-${glibc.version}-dev";
    inherit system busybox glibc;
    builder = sh;
    args = [ "sh" "-e" ./build-glibc-dev.sh ];
    src = source "glibc-dev";
  };

  cc = derivation {
    name = "gcc-wrapper-${version}";
    inherit system busybox bash glibc suffixSalt;
    gcc = gcc-unwrapped;
    binutils = binutils-unwrapped;
    libcdev = glibcDev;
    gcclib = ccLib;
    wrapper = ./cc-wrapper.sh;
    builder = sh;
    args = [ "sh" "-e" ./build-wrapper.sh ];
  } // {
    inherit suffixSalt version;
    pname = "gcc-wrapper";
    cc = gcc-unwrapped;
    libc = glibc;
    libc_dev = glibcDev;
    bintools = binutils-unwrapped;
    isGNU = true;
    isClang = false;
    targetPrefix = "";
  };

  pkgconf = mkPackage { pname = "pkgconf"; src = source "pkg-config"; };
  pkg-config = derivation {
    name = "pkg-config-wrapper";
    inherit system busybox bash pkgconf suffixSalt;
    wrapper = ./pkg-config-wrapper.sh;
    builder = sh;
    args = [ "sh" "-e" ./build-wrapper.sh ];
  } // { inherit suffixSalt; pname = "pkg-config-wrapper"; };

  gnumake = mkPackage { pname = "gnumake"; src = source "gnumake"; };
}
