"""What a nixpkgs attribute path looks like: ``zlib``, ``xorg.libX11``, ``stdenv.cc.cc.lib``.

Configured libraries, locked attributes and nix-locate's answers are all checked against this
one pattern before Nix sees them (as data, never as code)."""

from __future__ import annotations

import re
from typing import TypeGuard

PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*")
MAX_LENGTH = 200


def is_attribute(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= MAX_LENGTH and \
        PATTERN.fullmatch(value) is not None
