# A small nixpkgs look-alike for the NixOS simulation (see ../README.md).
#
# Every package is a real derivation built by Nix from a content-addressed source that
# scripts/setup-sim collected from this machine (program + its shared-library closure).
# The builders only use store tools (a static busybox, a store glibc loader and patchelf),
# so any output can be deleted and rebuilt inside the simulated root.
#
# Arguments as nixpkgs' pkgs/top-level/impure.nix takes them: without `config` the user's
# $NIXPKGS_CONFIG or ~/.config/nixpkgs/config.nix is read, without `overlays` the user's
# overlays (impure-overlays.nix); both are empty under pure evaluation.
let
  homeDir = builtins.getEnv "HOME";
in
{ system ? builtins.currentSystem
, config ?
    let
      configFile = builtins.getEnv "NIXPKGS_CONFIG";
      configFile2 = homeDir + "/.config/nixpkgs/config.nix";
    in
    if configFile != "" && builtins.pathExists configFile then import configFile
    else if homeDir != "" && builtins.pathExists configFile2 then import configFile2
    else { }
, overlays ? import ./impure-overlays.nix
, ...
}:
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

  # nixpkgs' python3XXFreeThreading: `python3XX.override { enableGIL = false; }`, top-level
  # only (not in pythonInterpreters), with a `t` on libPrefix and so on executable
  # (pkgs/top-level/all-packages.nix, nixpkgs#337791). No free-threaded CPython can be had on
  # the machines this runs on (pyenv has none, Debian 12 and 13 package none), so this is the
  # GIL build dressed as one, exactly as far as uv looks: its own copy of the interpreter
  # (so its prefix is this output) over the same stdlib, with a `_sysconfigdata` that says
  # Py_GIL_DISABLED = 1 (what uv's interpreter query reads, making `3.13t` match it and only
  # it). What it does not fake: the GIL itself (sys._is_gil_enabled() is True), the cp3XXt ABI
  # of extension modules, and site's search path: its (frozen) site module still looks in
  # lib/python3.XX/site-packages of a venv, where uv installs into lib/python3.XXt, so packages
  # uv installs for it are not importable. Choosing, locking and running it are real.
  mkFreeThreaded = base:
    let
      libPrefix = "python${base.pythonVersion}t";
      stdlib = "lib/${base.libPrefix}";
      self = derivation {
        name = "python3-${base.version}";
        inherit system;
        builder = sh;
        args = [ "sh" "-ec" ''
          PATH=${busybox}/bin
          mkdir -p $out/bin $out/${stdlib}
          cp ${base}/bin/${base.executable} $out/bin/${libPrefix}
          ln -s ${libPrefix} $out/bin/python3
          for f in ${base}/lib/*.so*; do [ -e "$f" ] && ln -s "$f" $out/lib/; done
          for f in ${base}/${stdlib}/*; do ln -s "$f" $out/${stdlib}/; done
          for f in ${base}/${stdlib}/_sysconfigdata_*.py; do
            name=$(basename "$f"); rm $out/${stdlib}/$name
            cp "$f" $out/${stdlib}/$name
            echo "build_time_vars['Py_GIL_DISABLED'] = 1" >> $out/${stdlib}/$name
          done
        '' ];
      } // {
        pname = "python3";
        inherit (base) version pythonVersion sourceVersion implementation isPy3 isPy2;
        inherit libPrefix;
        executable = libPrefix;
        interpreter = "${self}/bin/${libPrefix}";
        sitePackages = "lib/${libPrefix}/site-packages";
      };
    in
    self;
  freeThreading = builtins.listToAttrs (map
    (n: { name = "${n}FreeThreading"; value = mkFreeThreaded pythonInterpreters.${n}; })
    (builtins.filter (n: builtins.compareVersions pythonInterpreters.${n}.pythonVersion "3.13" >= 0)
      (builtins.attrNames pythonInterpreters)));

  # What check-meta.nix does with an unfree licence (pkgs/stdenv/generic/check-meta.nix):
  # `allowUnfree = config.allowUnfree || getEnv "NIXPKGS_ALLOW_UNFREE" == "1"`, else the
  # derivation refuses to evaluate, with nixpkgs' message. (Only its first lines are copied.)
  allowUnfree = (config.allowUnfree or false) || builtins.getEnv "NIXPKGS_ALLOW_UNFREE" == "1";
  allowInsecure = drv: builtins.getEnv "NIXPKGS_ALLOW_INSECURE" == "1"
    || builtins.elem drv.name (config.permittedInsecurePackages or [ ]);
  checkMeta = pos: drv:
    let
      unfree = !(drv.meta.license.free or true);
      insecure = (drv.meta.knownVulnerabilities or [ ]) != [ ];
      refuse = why: "Refusing to evaluate package '${drv.name}' in ${pos} because it ${why}";
      msg =
        if unfree && !allowUnfree then refuse
          ("has an unfree license (‘${drv.meta.license.shortName}’)\n"
          + "a) To temporarily allow unfree packages, you can use an environment variable\n"
          + "   for a single invocation of the nix tools.\n\n"
          + "     $ export NIXPKGS_ALLOW_UNFREE=1\n")
        else if insecure && !(allowInsecure drv) then refuse
          ("is marked as insecure\n\nKnown issues:\n"
          + builtins.concatStringsSep "" (map (v: " - ${v}\n") drv.meta.knownVulnerabilities))
        else null;
    in
    if msg != null
    then drv // { outPath = throw msg; drvPath = throw msg; out = throw msg; }
    else drv;

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

  # A library whose meta decides whether nixpkgs evaluates it at all (its lib/ holds only a
  # README: what matters is the refusal).
  metaLib = pos: attrs: checkMeta pos (derivation {
    name = "${attrs.pname}-${attrs.version}";
    inherit system;
    builder = sh;
    args = [ "sh" "-ec" "PATH=${busybox}/bin; mkdir -p $out/lib; echo look-alike > $out/lib/README" ];
  } // attrs);

  simple = key: args: mkPackage ({ pname = key; src = source key; } // args);

  basePkgs = rec {
    inherit lib system glibc pythonInterpreters config;
    stdenv = {
      inherit system;
      hostPlatform = { inherit system; isLinux = true; isx86_64 = system == "x86_64-linux"; };
      buildPlatform = stdenv.hostPlatform;
      isLinux = true;
      # The wrapped compiler (toolchain.nix); stdenv.cc.cc stays the C++ runtime's package.
      cc = toolchain.cc // { cc = gcc; };
    };
    toolchain = import ./toolchain.nix {
      inherit system sh busybox glibc source mkPackage bash;
      ccLib = gcc.lib;
      version = data.gccVersion or "12";
      inherit (data) rustVersion cargoVersion;
    };
    inherit (toolchain) pkg-config pkgconf gnumake rustc cargo;
    binutils = toolchain.binutils-unwrapped;
    gcc-unwrapped = gcc;
    busybox = simple "busybox" { };
    patchelf = simple "patchelf" { };
    # Libraries with nixpkgs' `out`/`dev` split (headers, .pc files in `dev`).
    zlib = simple "zlib" { env.outputs = [ "out" "dev" ]; };
    openssl = simple "openssl" { };
    libffi = simple "libffi" { env.outputs = [ "out" "dev" ]; };
    # nixpkgs deprecated the xorg set in 2026-01 (NixOS/nixpkgs#479724): the libraries are
    # top-level (libx11), and every use of an xorg.* name warns with this text.
    libx11 = simple "libx11" { };
    xorg = builtins.mapAttrs
      (old: new: lib.warn
        "The xorg package set has been deprecated, 'xorg.${old}' has been renamed to '${new}'"
        basePkgs.${new})
      { libX11 = "libx11"; };
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

    # An insecure library, as openssl_1_1 was until its removal in 2026-07 (refused unless
    # permitted by name in permittedInsecurePackages).
    openssl_1_1 = metaLib "pkgs/development/libraries/openssl/default.nix:300" {
      pname = "openssl";
      version = "1.1.1w";
      meta.knownVulnerabilities = [ "OpenSSL 1.1 is end of life" ];
    };

    # An unfree library set, as cudaPackages' redistributables are (licence nvidiaCudaRedist,
    # pkgs/development/cuda-modules): refused unless allowed.
    cudaPackages = {
      cudatoolkit = metaLib "pkgs/development/cuda-modules/cudatoolkit/default.nix:1" {
        pname = "cudatoolkit";
        version = "12.8.1";
        meta.license = { shortName = "nvidiaCudaRedist"; fullName = "CUDA Toolkit EULA"; free = false; };
      };
    };

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
      inherit simSystem simAll glibc busybox patchelf zlib openssl libffi libx11 bash coreutils nix
        direnv git zsh fish tmux uv;
      "stdenv.cc.cc" = gcc;
      "stdenv.cc.cc.lib" = gcc.lib;
      "stdenv.cc" = stdenv.cc;
      "zlib.dev" = zlib.dev;
      "libffi.dev" = libffi.dev;
      inherit pkg-config gnumake rustc cargo;
      "rustc.unwrapped" = rustc.unwrapped;
    } // pythonInterpreters);
    allPaths = [ simSystem glibc gcc gcc.lib busybox patchelf zlib openssl libffi libx11 bash coreutils
      nix direnv git zsh fish tmux uv stdenv.cc zlib.dev libffi.dev pkg-config gnumake rustc
      cargo ]
      ++ builtins.attrValues pythonInterpreters
      ++ map source (builtins.attrNames data.sources);
  } // pythonInterpreters // freeThreading;

  # Overlays on top, as nixpkgs applies them (an overlay on a top-level name such as python312
  # does not change pythonInterpreters.python312).
  pkgs = lib.fix (lib.extends (lib.composeManyExtensions overlays) (final: basePkgs));
in
if system != hostSystem then
  throw "uvx-nix sim nixpkgs look-alike only provides ${hostSystem} (asked for ${system})"
else pkgs
