"""What uvx-nix prints of its own, in one voice: warnings and notices on stderr.

uv's own output passes through untouched; these lines are uvx-nix's additions.  Every one is
a single line (control characters shown escaped, see :func:`uvx_nix.errors.printable`)."""

from __future__ import annotations

import sys

from uvx_nix.errors import printable


def warn(message: str, kind: str = "warning") -> None:
    """``warning: uvx-nix: MESSAGE`` (or ``info: uvx-nix: ...``) on stderr."""
    sys.stderr.write(f"{kind}: uvx-nix: {printable(message)}\n")
