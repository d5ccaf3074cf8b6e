# The handful of nixpkgs `lib` functions the wrapper and tests use, with nixpkgs' semantics.
let
  inherit (builtins) concatStringsSep filter map compareVersions;
in
rec {
  # getOutput "lib" p: the named output if p has it, else `out`, else p itself.
  # (nixpkgs also honours `outputSpecified`, set by newer Nix on `drv.<output>`.)
  getOutput = output: pkg:
    if (pkg.outputSpecified or false) then pkg
    else pkg.${output} or pkg.out or pkg;
  getLib = getOutput "lib";
  getBin = getOutput "bin";
  getDev = getOutput "dev";
  makeSearchPathOutput = output: subDir: pkgs:
    concatStringsSep ":" (map (p: "${getOutput output p}/${subDir}") (filter (p: p != null) pkgs));
  makeSearchPath = subDir: pkgs:
    concatStringsSep ":" (map (p: "${p}/${subDir}") (filter (p: p != null) pkgs));
  makeLibraryPath = makeSearchPathOutput "lib" "lib";
  makeBinPath = makeSearchPathOutput "bin" "bin";
  versionOlder = v1: v2: compareVersions v2 v1 == 1;
  versionAtLeast = v1: v2: !(versionOlder v1 v2);
  concatStringsSep = builtins.concatStringsSep;
  splitString = sep: s: filter builtins.isString (builtins.split sep s);
  optionalString = cond: s: if cond then s else "";
  optionals = cond: l: if cond then l else [ ];
  attrNames = builtins.attrNames;
  attrValues = builtins.attrValues;
  mapAttrs = builtins.mapAttrs;
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  # lib.warn as nixpkgs' lib/trivial.nix has it: builtins.warn where Nix has it (2.23+, which
  # abort-on-warn / NIX_ABORT_ON_WARN turn into an error), else a trace and the same abort.
  warn =
    if builtins ? warn then builtins.warn
    else msg: builtins.trace "evaluation warning: ${msg}" (
      if builtins.elem (builtins.getEnv "NIX_ABORT_ON_WARN") [ "1" "true" "yes" ]
      then abort "NIX_ABORT_ON_WARN=true; warnings are treated as unrecoverable errors."
      else x: x);
  # Fixed points and overlays, as lib/fixed-points.nix defines them.
  fix = f: let x = f x; in x;
  extends = overlay: f: (final: let prev = f final; in prev // overlay final prev);
  composeExtensions = f: g: final: prev:
    let fApplied = f final prev; prev' = prev // fApplied; in fApplied // g final prev';
  composeManyExtensions = builtins.foldl' composeExtensions (final: prev: { });
}
