"""doctor on the host: scanning a hand-built venv, suggestions, driver dirs, pyproject edits,
hardlink-safe patching and re-patching.  The end-to-end claims are in e2e/test_doctor.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.native import HOST_LIBDIR, make_venv
from uvx_nix.commands import doctor
from uvx_nix.errors import EXIT_USAGE, UserError


def test_no_venv_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from uvx_nix import cli

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UVX_NIX", "1")
    assert cli.main(["nix", "doctor"]) == 70
    err = capsys.readouterr().err
    assert err == f"error: uvx-nix: no virtual environment at {tmp_path.resolve() / '.venv'}; " \
        "run `uvx-nix sync` first\n"


def test_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UserError, match="unrecognized arguments: --bogus") as caught:
        doctor.command("doctor", ["--bogus"], {})
    assert caught.value.exit_code == EXIT_USAGE
    # With --json, every outcome is JSON on stdout, errors included.
    assert doctor.command("doctor", ["--json", "--bogus"], {}) == EXIT_USAGE
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["exit_code"] == EXIT_USAGE
    assert "unrecognized arguments: --bogus" in report["error"]


def test_outside_a_project_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    with pytest.raises(UserError, match="no project here") as caught:
        doctor.command("doctor", [], {})
    assert "--venv PATH" in caught.value.message
    assert doctor.command("doctor", ["--json"], {}) == 70
    assert "no project here" in json.loads(capsys.readouterr().out)["error"]
    with pytest.raises(UserError, match="not a virtual environment"):
        doctor.command("doctor", ["--venv", str(tmp_path)], {})


def test_recorded_libs_read_from_the_venv(tmp_path: Path) -> None:
    from uvx_nix.prepare import venv as venv_mod

    venv = make_venv(tmp_path)
    assert doctor.recorded_libs(venv) is None
    site = venv / "lib" / "python3.11" / "site-packages"
    venv_mod.install_hook(site, f"{HOST_LIBDIR}:/nix/store/x/lib", auto=True)
    assert doctor.recorded_libs(venv) == [HOST_LIBDIR, "/nix/store/x/lib"]
    venv_mod.install_hook(site, "/nix/store/t/lib", auto=True, project=False)  # a tool's
    assert doctor.recorded_libs(venv) == ["/nix/store/t/lib"]
    (site / venv_mod.HOOK_PTH).write_text("import os; os.system('touch /tmp/x')\n")
    assert doctor.recorded_libs(venv) is None  # parsed as data, never run


