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

  # Only what the build and the checks read: editing nix/, docs or the NixOS simulation (sim/)
  # does not change the source hash (and does not rebuild the package).
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

  # The shell integration (direnv library, shell hooks) ships with the package so the
  # NixOS and home-manager modules can link it from the same version.
  postInstall = ''
    mkdir -p $out/share/uvx-nix
    cp -r shell-integration $out/share/uvx-nix/
  '';

  # bin/uvx-nix is the compiled launcher (src/uvx_nix/launcher/launcher.c, built with
  # stdenv's C compiler): a cache hit reads the hot state and execs uv without starting
  # Python; everything else it hands to the Python implementation in libexec/, arguments
  # untouched. No shell wrapper around the Python implementation: it finds its dependencies
  # by itself (patchPythonScript), so the environment uv gets is the same whichever of the
  # two execs it (a wrapper would put Python's bin/ on uv's PATH).
  #
  # The real uv, whatever PATH holds: the launcher sets UVX_NIX_UV when it is unset, before
  # anything else, so `nix run` works with nothing else installed, and a `uv` alias earlier
  # on PATH (the shims) cannot make it call itself; a user's own UVX_NIX_UV still wins.
  dontWrapPythonPrograms = true;
  postFixup = ''
    mkdir -p $out/libexec/uvx-nix
    mv $out/bin/uvx-nix $out/libexec/uvx-nix/uvx-nix
    # -s: no user site-packages (what the wrapper's PYTHONNOUSERSITE did, without leaking
    # the variable into uv's environment)
    sed -i '1 s|^\(#!.*python[^ ]*\)$|\1 -s|' $out/libexec/uvx-nix/uvx-nix
    buildPythonPath "$out $pythonPath"
    patchPythonScript $out/libexec/uvx-nix/uvx-nix
    $CC -std=c99 -O2 -Wall -Wextra -o $out/bin/uvx-nix src/uvx_nix/launcher/launcher.c \
      -DUVX_NIX_ENTRY="\"$out/libexec/uvx-nix/uvx-nix\"" \
      -DUVX_NIX_VERSION="\"${version}\"" \
      -DUVX_NIX_DEFAULT_UV="\"${lib.getExe uv}\""
  '';

  # The unit tests run as a separate flake check (checks.<system>.tests); the package
  # build only proves the module imports with its nixpkgs dependencies.
  doCheck = false;
  pythonImportsCheck = [ "uvx_nix" ];

  passthru = {
    inherit uv;
    # bin/uvx-nix is the compiled launcher: it reads the name it is called by (uvx).
    launcher = true;
  };

  meta = {
    description = "Make uv just work on NixOS: nixpkgs interpreters and native libraries, resolved once with Nix";
    homepage = "https://github.com/uvx-nix/uvx-nix";
    license = lib.licenses.mit;
    mainProgram = "uvx-nix";
    platforms = lib.platforms.linux;
  };
}
