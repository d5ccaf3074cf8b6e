# Evaluates what `nix eval` cannot reach on its own: the overlay applied to a package set,
# and both modules run through lib.evalModules with typical settings. Every value is
# JSON-friendly for `nix eval --json`. tests/e2e/test_flake.py wraps this in a flake whose
# inputs are the uvx-nix flake and the stub nixpkgs.
{ uvx, nixpkgs }:

let
  inherit (nixpkgs) lib;
  system = "x86_64-linux";
  pkgs = nixpkgs.legacyPackages.${system};
  names = map (p: p.name);

  evalWith =
    host: module: settings:
    (lib.evalModules {
      modules = [
        host
        module
        { programs.uvx-nix = settings; }
      ];
      specialArgs = { inherit pkgs; };
    }).config;

  full = {
    enable = true;
    aliasUv = true;
    direnv = true;
    libraries = [ "libGL" ];
  };

  nixos = evalWith ./host-nixos.nix uvx.nixosModules.default;
  nixosSummary = c: {
    systemPackages = names c.environment.systemPackages;
    variables = c.environment.variables;
    etc = builtins.mapAttrs (_: v: v.source or v.text) c.environment.etc;
    inherit (c) warnings;
  };

  home = evalWith ./host-home-manager.nix uvx.homeModules.default;
  homeSummary = c: {
    packages = names c.home.packages;
    configFile = builtins.mapAttrs (_: v: v.text or v.source) c.xdg.configFile;
    inherit (c) warnings;
  };

  overlaid = pkgs.extend uvx.overlays.default;
  shims = overlaid.uvx-nix-shims;
in
{
  package = {
    inherit (uvx.packages.${system}.default) name version;
  };

  overlay = {
    uvx-nix = overlaid.uvx-nix.name;
    uvx-nix-drv = overlaid.uvx-nix.drvPath;
    shims = shims.name;
    shimsCommand = shims.stubArgs.buildCommand;
    shimsPriority = shims.meta.priority;
    shimsDrv = shims.drvPath;
  };

  nixos = {
    full = nixosSummary (nixos full);
    minimal = nixosSummary (nixos { enable = true; });
    disabled = nixosSummary (nixos {
      enable = false;
      aliasUv = true;
      libraries = [ "libGL" ];
    });
    withDirenv = nixosSummary (
      (lib.evalModules {
        modules = [
          ./host-nixos.nix
          uvx.nixosModules.default
          {
            programs.uvx-nix = full;
            programs.direnv.enable = true;
          }
        ];
        specialArgs = { inherit pkgs; };
      }).config
    );
    pinned = nixosSummary (nixos {
      enable = true;
      nixpkgs = "github:NixOS/nixpkgs/nixos-26.05";
      libraries = [
        "libGL"
        "xorg.libX11"
      ];
    });
    defaultPackage = (nixos { enable = true; }).programs.uvx-nix.package.name;
  };

  home = {
    full = homeSummary (home full);
    minimal = homeSummary (home { enable = true; });
    disabled = homeSummary (home {
      enable = false;
      libraries = [ "libGL" ];
    });
    pinned = homeSummary (home {
      enable = true;
      nixpkgs = "github:NixOS/nixpkgs/nixos-26.05";
    });
  };
}
