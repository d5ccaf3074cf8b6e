# uvx-nix as a nixpkgs-style package: `pkgs.callPackage ./package.nix { }`.
#
# The version is read from src/uvx_nix/__init__.py, the one place it is written, so a
# release only edits that file.
{
  lib,
  python3Packages,
  uv,
}:

let
  root = ../.;
  initPy = builtins.readFile (root + "/src/uvx_nix/__init__.py");
  versionMatch = builtins.match ".*__version__ = \"([^\"]+)\".*" initPy;
  version =
    if versionMatch == null then
      throw "uvx-nix: no __version__ = \"...\" in src/uvx_nix/__init__.py"
    else
      builtins.head versionMatch;

  # Only what the build and the checks read: editing nix/, docs or the NixOS simulation's
  # build products does not change the source hash (and does not rebuild the package).
  topLevel = [
    "pyproject.toml"
    "README.md"
    "CHANGELOG.md"
    "LICENSE"
    "src"
    "shell-integration"
    "tests"
  ];
  src = builtins.path {
    path = root;
    name = "uvx-nix-source";
    filter =
      path: type:
      let
        rel = lib.removePrefix (toString root + "/") (toString path);
        parts = lib.splitString "/" rel;
        base = baseNameOf path;
      in
      builtins.elem (builtins.head parts) topLevel
      && !(builtins.elem base [
        "__pycache__"
        ".build"
        ".pytest_cache"
        ".mypy_cache"
        ".ruff_cache"
      ]);
  };
in
python3Packages.buildPythonApplication {
  pname = "uvx-nix";
  inherit version src;
  pyproject = true;

  build-system = [ python3Packages.hatchling ];

  dependencies = with python3Packages; [
    filelock
    psutil
    tomlkit
  ];

  # The real uv, whatever PATH holds: uvx-nix reads UVX_NIX_UV before it searches PATH, so
  # `nix run` works with nothing else installed, and a `uv` alias earlier on PATH (the
  # shims) cannot make it call itself. --set-default: a user's own UVX_NIX_UV still wins.
  makeWrapperArgs = [
    "--set-default"
    "UVX_NIX_UV"
    (lib.getExe uv)
  ];

  # The shell integration (direnv library, shell hooks) ships with the package so the
  # NixOS and home-manager modules can link it from the same version.
  postInstall = ''
    mkdir -p $out/share/uvx-nix
    cp -r shell-integration $out/share/uvx-nix/
  '';

  # The unit tests run as a separate flake check (checks.<system>.tests); the package
  # build only proves the module imports with its nixpkgs dependencies.
  doCheck = false;
  pythonImportsCheck = [ "uvx_nix" ];

  passthru = {
    inherit uv;
  };

  meta = {
    description = "Make uv just work on NixOS: nixpkgs interpreters and native libraries, resolved once with Nix";
    homepage = "https://github.com/uvx-nix/uvx-nix";
    license = lib.licenses.mit;
    mainProgram = "uvx-nix";
    platforms = lib.platforms.linux;
  };
}
