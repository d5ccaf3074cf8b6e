{
  description = "uvx-nix: make uv just work on NixOS (nixpkgs interpreters and native libraries)";

  # The only input. flake.lock is written by the first `nix flake lock` run by a maintainer
  # with network access; the tests (tests/e2e/test_flake.py) use --override-input nixpkgs and
  # need neither network nor a lock file. See docs/flake-verification.md.
  # A maintained release (NixOS 26.05 is supported until 2026-12-31; move to the next one when
  # it is out). Users who follow their own nixpkgs use `inputs.uvx-nix.inputs.nixpkgs.follows`.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      build = pkgs: rec {
        uvx-nix = pkgs.callPackage ./nix/package.nix { };
        uvx-nix-shims = pkgs.callPackage ./nix/shims.nix { inherit uvx-nix; };
      };
    in
    {
      # `prev` is unused, but Nix checks that an overlay's arguments are named final and prev.
      overlays.default = final: prev: build final;

      packages = forAllSystems (
        _system: pkgs:
        let
          built = build pkgs;
        in
        {
          default = built.uvx-nix;
          uvx-nix = built.uvx-nix;
          uv-shim = built.uvx-nix-shims;
        }
      );

      apps = forAllSystems (system: _pkgs: {
        default = {
          type = "app";
          program = lib.getExe self.packages.${system}.default;
          meta.description = "uv with nixpkgs interpreters and native libraries";
        };
      });

      devShells = forAllSystems (_system: pkgs: {
        default = pkgs.mkShell {
          name = "uvx-nix-dev";
          packages = [
            (pkgs.python3.withPackages (
              ps: with ps; [
                filelock
                platformdirs
                psutil
                tomlkit
                hatchling
                hypothesis
                mypy
                packaging
                pytest
                types-psutil
              ]
            ))
            pkgs.uv
            pkgs.ruff
            pkgs.nix
            pkgs.bubblewrap
            pkgs.patchelf
            pkgs.direnv
            pkgs.shellcheck
          ];
          shellHook = ''
            # Run the working tree's uvx-nix without installing it.
            export PYTHONPATH="$PWD/src''${PYTHONPATH:+:$PYTHONPATH}"
          '';
        };
      });

      nixosModules.default = import ./nix/nixos-module.nix;
      # `homeModules` is the name `nix flake check` knows (NixOS/nix#10858);
      # `homeManagerModules` stays for configurations written against 0.1.0 (it is the one
      # "unknown flake output" warning left, see docs/flake-verification.md).
      homeModules.default = import ./nix/home-manager-module.nix;
      homeManagerModules.default = self.homeModules.default;

      templates.default = {
        path = ./nix/template;
        description = "A Python project managed by uv through uvx-nix, with a direnv .envrc";
        welcomeText = ''
          # A uv project for NixOS
          Run `direnv allow` (with uvx-nix's direnv library installed) or `uvx-nix sync`.
        '';
      };

      checks = forAllSystems (
        system: pkgs:
        let
          package = self.packages.${system}.default;
          src = package.src;
        in
        {
          inherit package;
          shims = self.packages.${system}.uv-shim;

          shellcheck = pkgs.runCommand "uvx-nix-shellcheck" { nativeBuildInputs = [ pkgs.shellcheck ]; } ''
            shopt -s nullglob
            files=(${src}/shell-integration/*.sh ${src}/shell-integration/direnv/*.sh)
            if [ ''${#files[@]} -gt 0 ]; then
              shellcheck --shell=bash --external-sources "''${files[@]}"
            fi
            touch $out
          '';

          # Unit tests only: `sim` tests need bubblewrap and a store they can write, `slow`
          # ones need the network; neither exists inside a Nix build.
          tests =
            pkgs.runCommand "uvx-nix-tests"
              {
                nativeBuildInputs = [
                  (pkgs.python3.withPackages (
                    ps: with ps; [
                      filelock
                      platformdirs
                      psutil
                      tomlkit
                      hypothesis
                      packaging
                      pytest
                    ]
                  ))
                ];
              }
              ''
                cp -r ${src} source
                chmod -R u+w source
                cd source
                export HOME=$TMPDIR
                PYTHONPATH=$PWD/src python -m pytest -p no:cacheprovider -q -m "not sim and not slow" tests
                touch $out
              '';
        }
      );

      formatter = forAllSystems (_system: pkgs: pkgs.nixfmt-rfc-style);
    };
}
