"""Is uvx-nix active here?  Active on NixOS or when forced; otherwise uv runs untouched."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: this is the hot path
    from collections.abc import Mapping


class Activation(tuple[bool, str]):
    """(active, reason).  A tuple subclass, not a NamedTuple: ``typing`` costs more to
    import than the whole cache hit."""

    __slots__ = ()

    def __new__(cls, active: bool, reason: str) -> Activation:
        return super().__new__(cls, (active, reason))

    @property
    def active(self) -> bool:
        return self[0]

    @property
    def reason(self) -> str:
        return self[1]


def _os_release_is_nixos(root: str) -> bool:
    for name in ("etc/os-release", "usr/lib/os-release"):
        try:
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.strip().partition("=")
                    if key == "ID":
                        return value.strip().strip("\"'") == "nixos"
        except OSError:
            continue
    return False


def detect(environ: Mapping[str, str], root: str = "/") -> Activation:
    """Decide from ``UVX_NIX`` and the OS; ``root`` lets tests point at a fake /."""
    forced = environ.get("UVX_NIX", "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return Activation(True, "forced on by UVX_NIX=1")
    if forced in ("0", "false", "no", "off"):
        return Activation(False, "forced off by UVX_NIX=0")
    if os.path.exists(os.path.join(root, "etc/NIXOS")):
        return Activation(True, "NixOS detected (/etc/NIXOS)")
    if _os_release_is_nixos(root):
        return Activation(True, "NixOS detected (ID=nixos in os-release)")
    return Activation(False, "not NixOS (set UVX_NIX=1 to force)")
