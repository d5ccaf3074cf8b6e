"""Test helpers: the NixOS simulation (sim) and test wheel builders (wheels)."""
