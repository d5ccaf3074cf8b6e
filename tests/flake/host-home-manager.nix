# The few home-manager options the uvx-nix module sets, declared with home-manager's names
# and types, so the module can be evaluated without home-manager.
{ lib, ... }:

{
  options = {
    home.packages = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ ];
    };
    xdg.configFile = lib.mkOption {
      type = lib.types.attrsOf lib.types.attrs;
      default = { };
    };
    warnings = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
    };
  };
}
