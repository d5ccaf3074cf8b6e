"""cli.main: the one error boundary, exit codes, and `uvx-nix nix --help`."""

from __future__ import annotations

import pytest

from uvx_nix import cli, execute, reference
from uvx_nix.errors import EXIT_CODES, EXIT_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED, UserError


@pytest.mark.parametrize("code", sorted(c for c in EXIT_CODES if c not in (77, 130)))
def test_user_error_is_one_line_with_its_code(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              code: int) -> None:
    def fail(environ: object, own: str | None = None) -> str:
        raise UserError(f"something the user can fix (code {code})", code)

    monkeypatch.delenv("UVX_NIX_DEBUG", raising=False)
    monkeypatch.setattr(execute, "find_uv", fail)
    assert cli.main(["sync"]) == code
    err = capsys.readouterr().err
    assert err == f"uvx-nix: error: something the user can fix (code {code})\n"


def test_internal_error_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def boom(environ: object, own: str | None = None) -> str:
        raise KeyError("surprise")

    monkeypatch.delenv("UVX_NIX_DEBUG", raising=False)
    monkeypatch.setattr(execute, "find_uv", boom)
    assert cli.main(["sync"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("uvx-nix: error: internal error: KeyError")
    assert "UVX_NIX_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("UVX_NIX_DEBUG", "1")
    with pytest.raises(KeyError, match="surprise"):
        cli.main(["sync"])


def test_user_error_with_debug_shows_the_traceback_and_the_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def fail(environ: object, own: str | None = None) -> str:
        raise UserError("fixable", 70)

    monkeypatch.setenv("UVX_NIX_DEBUG", "1")
    monkeypatch.setattr(execute, "find_uv", fail)
    assert cli.main(["sync"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.endswith("uvx-nix: error: fixable\n")


def test_keyboard_interrupt_is_130(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(environ: object, own: str | None = None) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "find_uv", interrupted)
    assert cli.main(["sync"]) == EXIT_INTERRUPTED
    assert "Traceback" not in capsys.readouterr().err


def test_no_color_and_dumb_terminals_get_plain_text() -> None:
    assert cli.error_line("x", {"NO_COLOR": "1"}) == "uvx-nix: error: x\n"
    assert cli.error_line("x", {"TERM": "dumb"}, "warning") == "uvx-nix: warning: x\n"


def test_help_lists_every_variable_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nix", "--help"]) == 0
    out = capsys.readouterr().out
    for name in reference.VARIABLES:
        assert name in out, name
    for code in EXIT_CODES:
        assert f"  {code} " in out, code
    for key in reference.SETTINGS:
        assert key in out, key


def test_bad_own_command_is_a_usage_error_not_a_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nix", "no-such-command"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "invalid choice" in err
    assert "Traceback" not in err
