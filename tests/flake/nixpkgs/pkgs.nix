# Evaluation stubs for the nixpkgs packages and builders the uvx-nix flake uses, with
# nixpkgs' names and argument shapes. Every "package" is a real derivation (so drvPath and
# string interpolation work) whose builder fails: these are for evaluation only. Builders
# record what they were given in `stubArgs` so tests can check the flake passed the right
# things.
{ lib, system }:

let
  failing = "echo 'uvx-nix test stub: evaluation only, not buildable' >&2; exit 1";

  mkDrv =
    name: drvAttrs: extra:
    let
      drv = derivation (
        {
          inherit name system;
          builder = "/bin/sh";
          args = [
            "-c"
            failing
          ];
        }
        // drvAttrs
      );
    in
    drv // { meta = { }; } // extra;

  simple =
    name:
    mkDrv name { } {
      pname = name;
      version = "0-stub";
      meta.mainProgram = name;
    };

  # Attributes that mkDerivation turns into something else: never derivation inputs.
  special = [
    "passthru"
    "meta"
  ];
  toDrvAttrs = attrs: removeAttrs attrs special;

  base =
    self:
    let
      python3Packages =
        lib.genAttrs [
          "filelock"
          "hatchling"
          "hypothesis"
          "mypy"
          "packaging"
          "platformdirs"
          "psutil"
          "pytest"
          "tomlkit"
          "types-psutil"
        ] simple
        // {
          buildPythonApplication =
            args:
            mkDrv "${args.pname}-${args.version}"
              (
                {
                  inherit (args) src;
                  dependencies = args.dependencies or [ ];
                  build_system = args.build-system or [ ];
                  makeWrapperArgs = args.makeWrapperArgs or [ ];
                  postInstall = args.postInstall or "";
                }
              )
              (
                (args.passthru or { })
                // {
                  inherit (args) pname version src;
                  meta = args.meta or { };
                  stubArgs = removeAttrs args [ "passthru" ];
                }
              );
        };
    in
    {
      inherit lib system python3Packages;
      path = ./.;
      stdenv.hostPlatform.system = system;

      callPackage =
        fn: overrides:
        let
          f = if builtins.isFunction fn then fn else import fn;
        in
        f (builtins.intersectAttrs (builtins.functionArgs f) self // overrides);

      python3 = simple "python3" // {
        pkgs = python3Packages;
        withPackages =
          select:
          mkDrv "python3-with-packages" { paths = select python3Packages; } {
            stubArgs.packages = map (p: p.pname) (select python3Packages);
          };
      };

      runCommand =
        name: env: buildCommand:
        mkDrv name (toDrvAttrs env // { inherit buildCommand; }) (
          (env.passthru or { })
          // {
            meta = env.meta or { };
            stubArgs = env // { inherit buildCommand; };
          }
        );

      symlinkJoin =
        { name, paths, ... }@args:
        mkDrv name { inherit paths; } { stubArgs = args; };

      writeShellScriptBin =
        name: text:
        mkDrv name { inherit text; } {
          meta.mainProgram = name;
          stubArgs = { inherit name text; };
        };

      mkShell =
        args:
        mkDrv (args.name or "nix-shell") (toDrvAttrs (removeAttrs args [ "name" ])) { stubArgs = args; };

      uv = simple "uv";
      ruff = simple "ruff";
      nix = simple "nix";
      bubblewrap = simple "bwrap" // { pname = "bubblewrap"; };
      patchelf = simple "patchelf";
      direnv = simple "direnv";
      shellcheck = simple "shellcheck";
      makeWrapper = simple "makeWrapper";
      nixfmt-rfc-style = simple "nixfmt" // { pname = "nixfmt-rfc-style"; };
    };

  makeSet =
    overlays:
    let
      self =
        builtins.foldl' (prev: overlay: prev // overlay self prev) (base self) overlays
        // {
          extend = overlay: makeSet (overlays ++ [ overlay ]);
        };
    in
    self;
in
makeSet [ ]
