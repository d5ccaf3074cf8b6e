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


def test_a_command_loads_no_other_commands_module() -> None:
    """`uvx-nix nix env` (what direnv runs) builds the tree without importing doctor, the
    launcher and the rest; `nix doctor` gets doctor's arguments."""
    import subprocess
    import sys

    probe = ("import sys; from uvx_nix import commands; commands._parser('env'); "
             "print(sorted(m for m in sys.modules if m in ('uvx_nix.commands.doctor', "
             "'uvx_nix.launcher', 'uvx_nix.commands.trust', 'uvx_nix.commands.integration', "
             "'uvx_nix.commands.build')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    from uvx_nix import commands

    doctor = commands._parser("doctor")._actions[-1].choices["doctor"]  # type: ignore[index]
    assert "--fix" in doctor.format_usage()
