"""`uvx-nix nix add-build-library ATTR...`: checked against the locked nixpkgs before
pyproject.toml is touched (Nix faked at the resolution and attribute boundaries)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.projects import pyproject
from uvx_nix import output
from uvx_nix.commands import build
from uvx_nix.errors import EXIT_CONFIG, EXIT_NO_MATCH, UserError
from uvx_nix.resolve import attributes, resolution


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = pyproject(tmp_path / "p")
    monkeypatch.chdir(root)

    class _Resolved:
        class inputs:  # noqa: N801 - stands in for Resolved.inputs
            lock_path = root / "uvx-nix.lock"

    monkeypatch.setattr(resolution, "ensure", lambda inp, environ: _Resolved)
    monkeypatch.setattr(attributes, "missing_attributes",
                        lambda lock, names, environ: [n for n in names if n == "nosuch"])
    output.configure(0)
    return root


def test_an_attribute_the_locked_nixpkgs_has_is_added_once(
        project: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert build.command("add-build-library", ["libffi"], env) == 0
    assert 'build-libraries = ["libffi"]' in (project / "pyproject.toml").read_text()
    assert capsys.readouterr().err.startswith("Added libffi to [tool.uvx-nix] build-libraries")
    assert build.command("add-build-library", ["libffi"], env) == 0
    assert capsys.readouterr().err == "libffi already in [tool.uvx-nix] build-libraries\n"


def test_one_it_lacks_or_a_malformed_name_changes_nothing(project: Path,
                                                          env: dict[str, str]) -> None:
    before = (project / "pyproject.toml").read_text()
    with pytest.raises(UserError) as err:
        build.command("add-build-library", ["nosuch"], env)
    assert err.value.exit_code == EXIT_NO_MATCH
    with pytest.raises(UserError) as err:
        build.command("add-build-library", ["zlib; rm -rf ~"], env)
    assert err.value.exit_code == EXIT_CONFIG
    assert (project / "pyproject.toml").read_text() == before


def test_outside_a_project_it_says_where_else_to_put_them(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="UVX_NIX_BUILD_LIBRARIES"):
        build.command("add-build-library", ["libffi"], env)
