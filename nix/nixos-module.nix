# NixOS module: `imports = [ uvx-nix.nixosModules.default ];` then `programs.uvx-nix.enable = true;`.
#
# NixOS has no per-user config file to write, so settings travel as UVX_NIX_* variables
# (environment.variables). uvx-nix appends UVX_NIX_LIBRARIES to the user's and the
# project's libraries, so that is safe system-wide. UVX_NIX_NIXPKGS, though, outranks
# every project's own `[tool.uvx-nix] nixpkgs` and flake.lock; hence `nixpkgs` defaults to
# null: on a NixOS flake system the `nixpkgs` registry entry, uvx-nix's fallback, is
# already pinned to the system's nixpkgs (nixpkgs.flake.setFlakeRegistry), so the default
# gets the system's interpreters and libraries without overriding any project.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.programs.uvx-nix;
  shims = pkgs.callPackage ./shims.nix { uvx-nix = cfg.package; };
  direnvEnabled = config.programs.direnv.enable or false;
in
{
  _file = ./nixos-module.nix;

  options.programs.uvx-nix = import ./module-options.nix { inherit lib pkgs; };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        environment.systemPackages = [ cfg.package ] ++ lib.optional cfg.aliasUv shims;
      }
      (lib.mkIf (cfg.libraries != [ ]) {
        environment.variables.UVX_NIX_LIBRARIES = lib.concatStringsSep "," cfg.libraries;
      })
      (lib.mkIf (cfg.nixpkgs != null) {
        environment.variables.UVX_NIX_NIXPKGS = cfg.nixpkgs;
      })
      # NixOS' programs.direnv sets DIRENV_CONFIG=/etc/direnv, and direnv sources
      # $DIRENV_CONFIG/lib/*.sh. Without programs.direnv, add
      # `source /etc/direnv/lib/uvnix.sh` to ~/.config/direnv/direnvrc.
      (lib.mkIf cfg.direnv {
        environment.etc."direnv/lib/uvnix.sh".source =
          "${cfg.package}/share/uvx-nix/shell-integration/direnv/uvnix.sh";
        warnings = lib.optional (!direnvEnabled) ''
          programs.uvx-nix.direnv installs /etc/direnv/lib/uvnix.sh, which direnv only reads
          by itself with programs.direnv.enable = true; otherwise source it from your direnvrc.
        '';
      })
    ]
  );
}
