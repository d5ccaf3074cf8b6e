from uvx_nix.cli import entry

entry()
