{
  description = "uvx-nix test simulation: a tiny nixpkgs look-alike built from this machine's programs";

  outputs = { self }:
    {
      # As nixpkgs' flake.nix: the user's impure overlays are part of legacyPackages, and no
      # config is passed (so default.nix reads the user's nixpkgs config under --impure).
      legacyPackages.x86_64-linux = import ./default.nix {
        system = "x86_64-linux";
        overlays = import ./impure-overlays.nix;
      };
      lib = import ./lib.nix;
    };
}
