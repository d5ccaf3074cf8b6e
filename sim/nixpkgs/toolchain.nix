# The build toolchain of the look-alike: stdenv.cc (a wrapped gcc), binutils, glibc's `dev`
# output, pkg-config (wrapped pkgconf) and gnumake, all from the host's programs (see
# ../collect.py). Shapes copied from nixpkgs: pkgs/build-support/cc-wrapper (a wrapper whose
# bin/ holds cc, gcc, c++, g++, cpp and the bintools, passthru cc, libc, bintools, suffixSalt,
# isGNU), pkgs/build-support/pkg-config-wrapper, and multiple outputs (`dev`/`out`).
# Rust (rustc, cargo) from the host's Debian packages, shaped as below.
{ system, sh, busybox, glibc, source, mkPackage, bash, version, ccLib, rustVersion
, cargoVersion }:
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

  # nixpkgs' `rustc` is a wrapper (pkgs/build-support/rust/rustc-wrapper/default.nix,
  # rustc-wrapper.sh): `rustc-wrapper-VERSION` whose bin/rustc runs the unwrapped compiler
  # (pkgs/development/compilers/rust/rustc.nix) with $NIX_RUSTFLAGS after the arguments;
  # passthru pname, version, targetPlatforms... and `unwrapped`. rustc links with the `cc` on
  # PATH (stdenv.cc in a build).
  rustc-unwrapped = mkPackage { pname = "rustc"; version = rustVersion; src = source "rustc"; };
  rustc = derivation {
    name = "rustc-wrapper-${rustVersion}";
    inherit system busybox bash;
    unwrapped = rustc-unwrapped;
    wrapper = ./rustc-wrapper.sh;
    builder = sh;
    args = [ "sh" "-e" ./build-rust-wrapper.sh ];
  } // {
    pname = "rustc";
    version = rustVersion;
    unwrapped = rustc-unwrapped;
    targetPlatforms = [ system ];
    targetPlatformsWithHostTools = [ system ];
    badTargetPlatforms = [ ];
  };
  # nixpkgs' `cargo` (pkgs/development/compilers/rust/cargo.nix): `cargo-VERSION`, its
  # bin/cargo made by `wrapProgram "$out/bin/cargo" --suffix PATH : "${rustc}/bin"` (the
  # binary itself is bin/.cargo-wrapped); passthru `rustc`.
  cargo-unwrapped = mkPackage { pname = "cargo-unwrapped"; version = cargoVersion; src = source "cargo"; };
  cargo = derivation {
    name = "cargo-${cargoVersion}";
    inherit system busybox bash rustc;
    unwrapped = cargo-unwrapped;
    builder = sh;
    args = [ "sh" "-e" ./build-rust-wrapper.sh ];
  } // { pname = "cargo"; version = cargoVersion; inherit rustc; };
}
