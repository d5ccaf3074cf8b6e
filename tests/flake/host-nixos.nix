# The few NixOS options the uvx-nix module sets, declared with NixOS' names and types, so
# the module can be evaluated without a NixOS tree.
{ lib, ... }:

{
  options = {
    environment.systemPackages = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ ];
    };
    environment.variables = lib.mkOption {
      type = lib.types.attrsOf lib.types.str;
      default = { };
    };
    environment.etc = lib.mkOption {
      type = lib.types.attrsOf lib.types.attrs;
      default = { };
    };
    programs.direnv.enable = lib.mkEnableOption "direnv integration";
    warnings = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
    };
  };
}
