"""The command-line parser of every own command, with one rule for usage errors.

A usage error (an unknown option, a missing argument) is one line naming it and the help to
read, ``error: uvx-nix: nix doctor: unrecognized arguments: --bogus; see `uvx-nix nix doctor
--help```, and exit code 2, as uv's own usage errors; ``--help`` prints the help and exits 0."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from uvx_nix.errors import EXIT_USAGE, UserError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        name = self.prog.removeprefix("uvx-nix ")
        raise UserError(f"{name}: {message}; see `{self.prog} --help`", EXIT_USAGE)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | None:
    """The parsed arguments, or None when ``--help`` printed the help (the command exits 0).
    An unknown option after a subcommand is named by that subcommand's parser."""
    try:
        args, extra = parser.parse_known_args(list(argv))
    except SystemExit as exc:  # --help; a usage error raises UserError instead
        if exc.code not in (0, None):
            raise
        return None
    if extra:
        which = parser
        for action in parser._actions:
            if isinstance(action.choices, dict) and getattr(args, action.dest, None) in \
                    action.choices:
                which = action.choices[getattr(args, action.dest)]
        which.error(f"unrecognized arguments: {' '.join(extra)}")
    return args
