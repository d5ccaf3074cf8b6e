# Benchmark nixpkgs: the simulation's look-alike (sim/nixpkgs) plus 50 trivial library
# packages `benchlib1` ... `benchlib50`, so the scaling benchmark can ask for 50 distinct
# libraries (the look-alike has only a handful, and uvx-nix de-duplicates repeated attributes).
# Each is an empty `lib/` directory made by the look-alike's static busybox: on
# LD_LIBRARY_PATH it costs the dynamic loader one failed lookup per needed library, exactly
# as a real library directory without that soname would.
args:
let
  pkgs = import ../../sim/nixpkgs args;
  mkLib = i: derivation {
    name = "benchlib${toString i}";
    pname = "benchlib${toString i}";
    inherit (pkgs) system;
    builder = "${pkgs.busybox}/bin/busybox";
    args = [ "mkdir" "-p" "${builtins.placeholder "out"}/lib" ];
  };
  libs = builtins.listToAttrs (builtins.genList
    (n: { name = "benchlib${toString (n + 1)}"; value = mkLib (n + 1); }) 50);
in
pkgs // libs
