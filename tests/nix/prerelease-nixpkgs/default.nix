# A tiny nixpkgs with one final and one pre-release CPython, for tests/unit/test_resolve_nix.py.
# The "interpreters" are empty builtin:buildenv outputs: cheap to build, never run.
{ system ? builtins.currentSystem, ... }:
let
  py = minor: patch: suffix:
    let
      version = "3.${toString minor}.${toString patch}${suffix}";
      drv = derivation {
        name = "python3-${version}";
        system = "builtin";
        builder = "builtin:buildenv";
        manifest = builtins.toFile "empty-manifest" "";
        derivations = [ ];
      };
    in
    drv // {
      inherit version;
      pythonVersion = "3.${toString minor}";
      implementation = "cpython";
      sourceVersion = { major = "3"; minor = toString minor; patch = toString patch; inherit suffix; };
      executable = "python3.${toString minor}";
      interpreter = "${drv}/bin/python3.${toString minor}";
    };
  # As in nixpkgs, the top-level python3XX is what an overlay changes (here: 3.13.5 on top of
  # the set's 3.13.2), and the free-threaded build is a top-level attribute only.
  pkgs = rec {
    python313 = py 13 5 "";
    python314 = py 14 0 "b1";
    python3 = python313;
    python313FreeThreading = py 13 5 "" // { executable = "python3.13t"; };
    pythonInterpreters = { python313 = py 13 2 ""; inherit python314; };
  };
in
pkgs
