"""One usage-error rule for the own commands."""

from __future__ import annotations

import pytest

from uvx_nix import cli
from uvx_nix.errors import (
    EXIT_USAGE,
)


def test_bad_own_command_is_a_usage_error_not_a_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nix", "no-such-command"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: uvx-nix: nix: argument COMMAND: invalid choice")
    assert err.count("\n") == 1, err


@pytest.mark.parametrize("command", [
    "status", "lock", "env", "gc", "install-shims", "doctor", "shell-init", "direnv-lib",
    "add-build-library", "allow", "deny", "install-launcher"])
def test_every_own_command_has_one_usage_error_rule(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option: one line naming it and the help to read, exit 2 (as uv's own)."""
    needed = ["zlib"] if command == "add-build-library" else []
    assert cli.main(["nix", command, *needed, "--no-such-option"]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        f"error: uvx-nix: nix {command}: unrecognized arguments: --no-such-option; "
        f"see `uvx-nix nix {command} --help`\n")
    assert cli.main(["nix", command, "--help"]) == 0
    assert "usage: uvx-nix nix" in capsys.readouterr().out
