# The options shared by the NixOS and the home-manager module.
{ lib, pkgs }:

{
  enable = lib.mkEnableOption "uvx-nix, which makes uv use nixpkgs interpreters and native libraries";

  package = lib.mkOption {
    type = lib.types.package;
    default = pkgs.callPackage ./package.nix { };
    defaultText = lib.literalExpression "uvx-nix built with this configuration's pkgs";
    description = "The uvx-nix package to install.";
  };

  aliasUv = lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = ''
      Also install `uv` and `uvx` commands that run through uvx-nix, so plain `uv sync` and
      `uvx ruff` get a nixpkgs interpreter. The real uv is the package's own (nixpkgs' uv),
      set as the default of UVX_NIX_UV.
    '';
  };

  direnv = lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = ''
      Install the direnv library that provides `use uvnix` for `.envrc` files.
    '';
  };

  libraries = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    default = [ ];
    example = [
      "libGL"
      "xorg.libX11"
    ];
    description = ''
      nixpkgs attribute paths of native libraries every project gets on its library path,
      in addition to uvx-nix's defaults and each project's own `[tool.uvx-nix] libraries`.
    '';
  };

  nixpkgs = lib.mkOption {
    type = lib.types.nullOr lib.types.str;
    default = null;
    example = "github:NixOS/nixpkgs/nixos-26.05";
    description = ''
      The nixpkgs that interpreters and libraries come from, as a flake reference or a path.
      null leaves uvx-nix's default: a project's own setting or flake.lock, else the
      `nixpkgs` flake registry entry (on a NixOS flake system, the system's own nixpkgs).
    '';
  };
}
