"""What uvx-nix prints of its own, in uv's voice, all on stderr.

uv's own output passes through untouched; these lines are uvx-nix's additions:

* ``error: uvx-nix: MESSAGE``: the call failed (:func:`error`; the exit code says how);
* ``warning: uvx-nix: MESSAGE``: something you may want to fix, the call goes on (:func:`warn`);
* plain lines such as ``Resolved CPython 3.12.8 ... in 14.2s``: what a step did, worded like
  uv's own ``Resolved 3 packages in 10ms`` (:func:`notice`).

As in uv, the label is bold and coloured (red for errors, yellow for warnings) when stderr
is a terminal and neither ``NO_COLOR`` is set nor ``TERM=dumb``; ``-q`` hides warnings
and notices, ``-qq`` errors too (the exit code still tells).  The quiet level is
set once per call (:func:`configure`), by the command line's parser.  Every message is one
line: characters a repository could use to draw on your terminal are shown escaped
(:func:`uvx_nix.errors.printable`).

Stdlib ``sys`` and ``os`` only: the hot path prints its errors through here.
"""

from __future__ import annotations

import os
import sys

from uvx_nix.errors import printable

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: this is the hot path
    from collections.abc import Mapping

_COLORS = {"error": "31", "warning": "33"}
_quiet = 0


def configure(quiet: int) -> None:
    """The call's ``-q`` count (``-q`` 1, ``-qq`` 2): set once, when the command line is read."""
    global _quiet  # noqa: PLW0603 - one setting per process, read by every message
    _quiet = quiet


def quiet() -> bool:
    """``-q`` or more: no warnings, notices or status line."""
    return _quiet > 0


def _colored(environ: Mapping[str, str]) -> bool:
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and "NO_COLOR" not in environ and environ.get("TERM") != "dumb"


def line(kind: str, message: str, environ: Mapping[str, str] | None = None) -> str:
    """``KIND: uvx-nix: MESSAGE`` and a newline, the label coloured as uv colours its own."""
    label = kind
    if _colored(os.environ if environ is None else environ):
        label = f"\033[1m\033[{_COLORS[kind]}m{kind}\033[39m\033[0m\033[1m:\033[0m"
        return f"{label} uvx-nix: {printable(message)}\n"
    return f"{label}: uvx-nix: {printable(message)}\n"


def error(message: str, environ: Mapping[str, str] | None = None) -> None:
    if _quiet < 2:
        sys.stderr.write(line("error", message, environ))


def warn(message: str) -> None:
    if not _quiet:
        sys.stderr.write(line("warning", message))


def notice(message: str) -> None:
    """A plain line saying what a step did (``Locked ...``, ``Installed ...``)."""
    if not _quiet:
        sys.stderr.write(printable(message) + "\n")
