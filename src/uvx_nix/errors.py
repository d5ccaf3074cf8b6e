"""The one exception type for problems the user can fix, and the exit codes.

Every expected failure is raised as :class:`UserError` with a full sentence
that names the problem and the fix; :func:`uvx_nix.cli.main` prints it as one
line and exits with the code below.  uv's own exit codes (0, 1, 2, ...) pass
through untouched, so uvx-nix's codes live in a range uv does not use.
"""

from __future__ import annotations

# Exit codes: documented in the README ("Exit codes") and in `uvx-nix nix --help`.
EXIT_USAGE = 2  # a usage error of uvx-nix's own commands, as uv's own usage errors
EXIT_CONFIG = 70  # invalid input: pyproject.toml, .python-version, config, a request
EXIT_NO_MATCH = 71  # nixpkgs has no matching interpreter or library attribute
EXIT_NIX_MISSING = 72  # no `nix` executable
EXIT_NIX_FAILED = 73  # nix failed to evaluate or build
EXIT_LOCKFILE = 74  # uvx-nix.lock unreadable, from a newer uvx-nix, or failed validation
EXIT_UV_MISSING = 75  # no real uv found, or an alias loop
EXIT_UNTRUSTED = 76  # a project-supplied nixpkgs source needs `uvx-nix nix allow`
EXIT_INTERNAL = 77  # a bug in uvx-nix: please report it
EXIT_INTERRUPTED = 130  # SIGINT, as shells report it

EXIT_CODES: dict[int, str] = {
    EXIT_USAGE: "a usage error of uvx-nix's own commands (`uvx-nix nix ...`), as uv's own",
    EXIT_CONFIG: "invalid configuration or request (pyproject.toml, .python-version, config)",
    EXIT_NO_MATCH: "nixpkgs has no matching interpreter or library attribute",
    EXIT_NIX_MISSING: "nix is not installed or not on PATH",
    EXIT_NIX_FAILED: "nix failed to evaluate or build",
    EXIT_LOCKFILE: "uvx-nix.lock is unreadable, newer than this uvx-nix, or failed validation",
    EXIT_UV_MISSING: "the real uv was not found, or uv and uvx-nix call each other in a loop",
    EXIT_UNTRUSTED: "the project's nixpkgs source needs `uvx-nix nix allow`",
    EXIT_INTERNAL: "internal error in uvx-nix (a bug: please report it)",
    EXIT_INTERRUPTED: "interrupted (SIGINT)",
}


class UserError(Exception):
    """A failure the user can fix; the message is one sentence naming the fix."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def display(text: str, limit: int = 300) -> str:
    """Text from a repository, safe to print on a terminal: quoted, with every character
    outside printable ASCII escaped (controls, bidi, look-alike letters, non-UTF-8 bytes),
    cut after ``limit`` characters (then the length, so nothing hides past the line's end)."""
    shown = ascii(text[:limit])
    if len(text) > limit:
        shown += f"… ({len(text)} characters in all: read the file)"
    return shown


def printable(message: str) -> str:
    """A message for the terminal: every character that is not printable (an escape sequence
    in a file name, a non-UTF-8 byte of a directory name, a bidi control) escaped, except the
    line breaks a message may hold on purpose (the last lines of a failed build)."""
    if message.isprintable():
        return message
    return "\n".join("".join(c if c.isprintable() else ascii(c)[1:-1] for c in line)
                     for line in message.split("\n"))


def display_path(path: object) -> str:
    """A path for a message: as is when printable, else escaped like :func:`display`
    (a newline, an escape sequence or a non-UTF-8 byte in a directory name)."""
    text = str(path)
    return text if text.isprintable() else display(text, 4096)
