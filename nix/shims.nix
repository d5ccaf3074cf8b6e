# `uv` and `uvx` that go through uvx-nix: put this package in a profile (the modules'
# `aliasUv` option does) and every `uv` and `uvx` gets a nixpkgs interpreter on NixOS.
#
# `uv` is a plain symlink: uvx-nix run under any name other than `uvx` is the alias, and
# it finds the real uv through UVX_NIX_UV, which its wrapper sets by default.
#
# `uvx` is a symlink too when bin/uvx-nix is the compiled launcher (this flake's package),
# which reads the name it is called by. A package without it (an older or a pure-Python
# build) gets a wrapper that passes `tool run` itself, which is exactly what uvx-nix does when
# it is called as `uvx`: nixpkgs' Python wrapper rewrites sys.argv[0] to the script's own
# store path, so Python alone would never see the name `uvx`.
{
  lib,
  runCommand,
  makeWrapper,
  uvx-nix,
}:

runCommand "uvx-nix-shims-${uvx-nix.version}"
  {
    nativeBuildInputs = [ makeWrapper ];
    passthru = {
      inherit uvx-nix;
    };
    meta = {
      description = "uv and uvx commands that run through uvx-nix";
      inherit (uvx-nix.meta) license platforms;
      mainProgram = "uv";
      # Wins over nixpkgs' uv (priority 5) when both are in one profile, instead of a
      # collision on bin/uv.
      priority = 4;
    };
  }
  (
    ''
      mkdir -p $out/bin
      ln -s ${lib.getExe uvx-nix} $out/bin/uv
    ''
    + (
      if uvx-nix.launcher or false then
        "ln -s ${lib.getExe uvx-nix} $out/bin/uvx\n"
      else
        "makeWrapper ${lib.getExe uvx-nix} $out/bin/uvx --add-flags \"tool run\"\n"
    )
  )
