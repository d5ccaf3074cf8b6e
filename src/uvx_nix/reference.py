"""The one table of uvx-nix's knobs, shown by `uvx-nix nix --help` and checked
against the README by tests/test_docs.py."""

from __future__ import annotations

VARIABLES: dict[str, str] = {
    "UVX_NIX": "1 forces uvx-nix on (any OS); 0 forces plain pass-through to uv. "
               "Default: on only on NixOS.",
    "UVX_NIX_UV": "Path of the real uv. Default: the first `uv` on PATH that is not uvx-nix.",
    "UVX_NIX_NIXPKGS": "nixpkgs source (flake ref, path, or <nixpkgs>); overrides every "
                       "other source.",
    "UVX_NIX_LIBRARIES": "Extra library attributes (comma or space separated), added to the "
                         "project's and user's.",
    "UVX_NIX_DEFAULT_LIBRARIES": "Replaces the default library set "
                                 "(stdenv.cc.cc.lib, zlib); empty for none.",
    "UVX_NIX_STRATEGY": "`interpreter` (default: a nixpkgs Python) or `nix-ld` "
                        "(uv's own Pythons through nix-ld).",
    "UVX_NIX_AUTO_LIBRARIES": "0 turns off automatic library detection after the venv changes.",
    "UVX_NIX_BUILD_LIBRARIES": "Extra build library attributes (comma or space separated), "
                               "added to the project's and user's.",
    "UVX_NIX_AUTO_BUILD_LIBRARIES": "1 lets a build that fails on a missing header, .pc file, "
                                    "*-config program or library add its attribute and retry.",
    "UVX_NIX_ALLOW_UNFREE": "1 lets nixpkgs evaluate packages with an unfree licence "
                            "(the allow-unfree setting).",
    "UVX_NIX_TRUST": "1 trusts project-supplied nixpkgs sources without `uvx-nix nix allow`, "
                     "for that run only (CI).",
    "UVX_NIX_CONFIG": "Path of the user config file. Default: "
                      "$XDG_CONFIG_HOME/uvx-nix/config.toml.",
    "UVX_NIX_CACHE_DIR": "Cache directory. Default: $XDG_CACHE_HOME/uvx-nix.",
    "UVX_NIX_DEBUG": "1 shows Nix's full log as it runs (instead of the status line) and "
                     "Python tracebacks.",
}

SETTINGS: dict[str, str] = {
    "nixpkgs": "nixpkgs source: a flake ref such as github:NixOS/nixpkgs/nixos-26.05, "
               "path:/dir, or <nixpkgs>.",
    "libraries": "nixpkgs attribute paths whose lib/ directories wheels may need, "
                 "e.g. [\"libGL\", \"glib\", \"libx11\"].",
    "default-libraries": "Replaces the default set [\"stdenv.cc.cc.lib\", \"zlib\"].",
    "strategy": "\"interpreter\" (default) or \"nix-ld\".",
    "auto-libraries": "true (default) adds libraries that newly installed wheels need.",
    "build-libraries": "nixpkgs attribute paths whose headers, .pc files and *-config "
                       "programs builds uv runs need, e.g. [\"libpq.pg_config\", \"libffi\"] "
                       "(the libraries' are given too).",
    "auto-build-libraries": "true adds the attribute a failed build was missing and builds "
                            "again; default false.",
    "allow-unfree": "true lets nixpkgs evaluate packages with an unfree licence "
                    "(cudaPackages.*); default false, whatever NIXPKGS_ALLOW_UNFREE says.",
}
