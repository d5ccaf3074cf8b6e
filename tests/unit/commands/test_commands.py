"""uvx-nix nix: help, version, and the commands without a module of their own."""

from __future__ import annotations

import pytest

from uvx_nix import cli, reference
from uvx_nix.errors import (
    EXIT_CODES,
)


def test_help_lists_every_variable_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nix", "--help"]) == 0
    out = capsys.readouterr().out
    for name in reference.VARIABLES:
        assert name in out, name
    for code in EXIT_CODES:
        assert f"  {code} " in out, code
    for key in reference.SETTINGS:
        assert key in out, key
