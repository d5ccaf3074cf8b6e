# home-manager module: `imports = [ uvx-nix.homeManagerModules.default ];` then
# `programs.uvx-nix.enable = true;`.
#
# Settings go to uvx-nix's user config file, $XDG_CONFIG_HOME/uvx-nix/config.toml, which
# ranks below each project's own settings and flake.lock (unlike UVX_NIX_* variables). The
# file is only managed when there is something to write, so a hand-written one stays yours
# otherwise.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.programs.uvx-nix;
  shims = pkgs.callPackage ./shims.nix { uvx-nix = cfg.package; };
  # A JSON string is a valid TOML basic string.
  tomlList = xs: "[" + lib.concatStringsSep ", " (map builtins.toJSON xs) + "]";
  configText = lib.concatStringsSep "\n" (
    [ "# Written by home-manager (programs.uvx-nix); edit your home-manager configuration instead." ]
    ++ lib.optional (cfg.nixpkgs != null) "nixpkgs = ${builtins.toJSON cfg.nixpkgs}"
    ++ lib.optional (cfg.libraries != [ ]) "libraries = ${tomlList cfg.libraries}"
  ) + "\n";
in
{
  _file = ./home-manager-module.nix;

  options.programs.uvx-nix = import ./module-options.nix { inherit lib pkgs; };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        home.packages = [ cfg.package ] ++ lib.optional cfg.aliasUv shims;
      }
      (lib.mkIf (cfg.libraries != [ ] || cfg.nixpkgs != null) {
        xdg.configFile."uvx-nix/config.toml".text = configText;
      })
      # direnv sources every $XDG_CONFIG_HOME/direnv/lib/*.sh (home-manager's own
      # programs.direnv puts nix-direnv there too).
      (lib.mkIf cfg.direnv {
        xdg.configFile."direnv/lib/uvnix.sh".source =
          "${cfg.package}/share/uvx-nix/shell-integration/direnv/uvnix.sh";
      })
    ]
  );
}
