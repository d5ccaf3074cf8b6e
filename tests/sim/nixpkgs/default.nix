# A small nixpkgs look-alike for the NixOS simulation (see ../README.md).
#
# Every package is a real derivation built by Nix from a content-addressed source that
# scripts/setup-sim collected from this machine (program + its shared-library closure).
# The builders only use store tools (a static busybox, a store glibc loader and patchelf),
# so any output can be deleted and rebuilt inside the simulated root.
{ system ? builtins.currentSystem, ... }:
let
  lib = import ./lib.nix;
  data = builtins.fromJSON (builtins.readFile ./sim-sources.json);
  hostSystem = data.system;

  # Host-collected inputs: fixed-output derivations whose outputs setup-sim already added with
  # `nix-store --add-fixed --recursive sha256`; the builder only runs if one went missing.
  source = key:
    let s = data.sources.${key}; in
    derivation {
      inherit (s) name;
      inherit system;
      builder = "/bin/sh";
      args = [ "-c" "echo 'uvx-nix sim: source ${s.name} is missing from the store; run scripts/setup-sim' >&2; exit 1" ];
      outputHashMode = "recursive";
      outputHashAlgo = "sha256";
      outputHash = s.hash;
    };

  busybox = source "busybox";
  sh = "${busybox}/bin/busybox";
  patchelfSrc = source "patchelf";

  glibc = derivation {
    name = "glibc-${data.glibcVersion}";
    inherit system;
    builder = sh;
    args = [ "sh" "-e" ./build-glibc.sh ];
    src = source "glibc";
    inherit busybox;
  } // { version = data.glibcVersion; };

  # Copy a source to $out and point every ELF at the store loader and $out/lib (+ glibc).
  mkPackage = { pname, version ? null, src, passthru ? { }, env ? { } }:
    let
      drv = derivation ({
        name = if version == null then pname else "${pname}-${version}";
        inherit system src glibc busybox;
        builder = sh;
        args = [ "sh" "-e" ./build-package.sh ];
        patchelf = patchelfSrc;
      } // env);
    in
    drv // { inherit pname; } // (if version == null then { } else { inherit version; }) // passthru;

  mkPython = attr: meta:
    let
      version = meta.version;
      parts = lib.splitString "\\." version;
      major = builtins.elemAt parts 0;
      minor = builtins.elemAt parts 1;
      patch = builtins.elemAt parts 2;
      pythonVersion = "${major}.${minor}";
      self = mkPackage {
        pname = "python3";
        inherit version;
        src = source attr;
        passthru = {
          inherit pythonVersion;
          sourceVersion = { inherit major minor patch; suffix = ""; };
          executable = "python${pythonVersion}";
          interpreter = "${self}/bin/python${pythonVersion}";
          implementation = "cpython";
          sitePackages = "lib/python${pythonVersion}/site-packages";
          libPrefix = "python${pythonVersion}";
          isPy3 = true;
          isPy2 = false;
          pythonAtLeast = lib.versionAtLeast pythonVersion;
          pythonOlder = lib.versionOlder pythonVersion;
          # nixpkgs' python.withPackages: a *different* derivation (python3-X.Y.Z-env) whose
          # interpreter uv rejects as "not a system interpreter". The wrapper must never use it.
          withPackages = f: derivation {
            name = "python3-${version}-env";
            inherit system;
            builder = sh;
            args = [ "sh" "-ec" ''
              PATH=${busybox}/bin
              mkdir -p $out/bin
              for f in ${self}/bin/*; do ln -s "$f" $out/bin/; done
              echo "simulated python.withPackages env (no packages)" > $out/README
            '' ];
          };
        };
      };
    in
    self;

  pythonInterpreters = builtins.mapAttrs mkPython data.pythons;

  gccLibSrc = source "gcc-lib";
  gcc = derivation {
    name = "gcc-${data.gccVersion or "12"}";
    inherit system glibc busybox;
    outputs = [ "out" "lib" ];
    builder = sh;
    args = [ "sh" "-e" ./build-gcc-lib.sh ];
    src = gccLibSrc;
    patchelf = patchelfSrc;
  };

  simple = key: args: mkPackage ({ pname = key; src = source key; } // args);

  pkgs = rec {
    inherit lib system glibc pythonInterpreters;
    stdenv = {
      inherit system;
      hostPlatform = { inherit system; isLinux = true; isx86_64 = system == "x86_64-linux"; };
      buildPlatform = stdenv.hostPlatform;
      isLinux = true;
      cc = { cc = gcc; libc = glibc; };
    };
    gcc-unwrapped = gcc;
    busybox = simple "busybox" { };
    patchelf = simple "patchelf" { };
    zlib = simple "zlib" { };
    openssl = simple "openssl" { };
    libffi = simple "libffi" { };
    bash = simple "bash" { };
    bashInteractive = bash;
    coreutils = simple "coreutils" { };
    nix = simple "nix" { };
    direnv = simple "direnv" { };
    git = simple "git" { };
    zsh = simple "zsh" { version = data.zshVersion; };
    fish = simple "fish" { };
    tmux = simple "tmux" { };
    uv = simple "uv" { version = data.uvVersion; };
    python3 = pythonInterpreters.python312 or (builtins.head (builtins.attrValues pythonInterpreters));

    # Not in nixpkgs: the /run/current-system of the simulated NixOS.
    simSystem = derivation {
      name = "nixos-system-uvx-nix-sim";
      inherit system;
      builder = sh;
      args = [ "sh" "-ec" ''
        PATH=${busybox}/bin
        mkdir -p $out/sw/bin $out/sw/share
        for p in ${bash} ${coreutils} ${nix} ${git} ${direnv} ${zsh} ${fish} ${tmux} ${patchelf}; do
          for f in $p/bin/*; do ln -sf "$f" $out/sw/bin/; done
        done
        ln -s ${tmux}/share/terminfo $out/sw/share/terminfo
        ln -s ${glibc}/lib/locale $out/sw/share/locale-sim
      '' ];
    };

    # Not in nixpkgs: one output referencing every package and source, for a single GC root.
    simAll = derivation {
      name = "uvx-nix-sim-all";
      inherit system;
      builder = sh;
      args = [ "sh" "-ec" ''
        PATH=${busybox}/bin
        mkdir -p $out
        ${builtins.concatStringsSep "\n" (map (p: "echo ${p} >> $out/paths") allPaths)}
      '' ];
    };
    # Not in nixpkgs: name -> output path, read by setup-sim and the test helpers.
    simInfo = builtins.mapAttrs (n: p: "${p}") ({
      inherit simSystem simAll glibc busybox patchelf zlib openssl libffi bash coreutils nix
        direnv git zsh fish tmux uv;
      "stdenv.cc.cc" = gcc;
      "stdenv.cc.cc.lib" = gcc.lib;
    } // pythonInterpreters);
    allPaths = [ simSystem glibc gcc gcc.lib busybox patchelf zlib openssl libffi bash coreutils
      nix direnv git zsh fish tmux uv ]
      ++ builtins.attrValues pythonInterpreters
      ++ map source (builtins.attrNames data.sources);
  } // pythonInterpreters;
in
if system != hostSystem then
  throw "uvx-nix sim nixpkgs look-alike only provides ${hostSystem} (asked for ${system})"
else pkgs
