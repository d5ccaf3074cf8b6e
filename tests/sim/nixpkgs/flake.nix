{
  description = "uvx-nix test simulation: a tiny nixpkgs look-alike built from this machine's programs";

  outputs = { self }:
    let
      pkgs = import ./default.nix { system = "x86_64-linux"; };
    in
    {
      legacyPackages.x86_64-linux = pkgs;
      lib = import ./lib.nix;
    };
}
