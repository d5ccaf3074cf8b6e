"""uvx-nix nix allow / deny."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvx_nix.commands import trust as trust_command
from uvx_nix.resolve import trust, workdir


def test_deny_takes_back_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """deny: every permission of the project, its verified mark, the hot cache and direnv's
    cached environment for it."""
    import hashlib
    import os


    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    (project / "uvx-nix.lock").write_text("# a lock\n")
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
               "XDG_CACHE_HOME": str(tmp_path / "cache"),
               "XDG_CONFIG_HOME": str(tmp_path / "config")}
    monkeypatch.chdir(project)
    for source in ("github:a/b", "/proc/self/cwd/evil"):
        assert trust_command.command("allow", [source], environ) == 0
        assert trust.is_allowed(project, source, environ)
    trust_command.command("allow", ["github:other/x"], environ)
    inp_dir = tmp_path / "cache" / "uvx-nix"
    marker = workdir.verified_marker(environ, project, b"# a lock\n")
    marker.parent.mkdir(parents=True)
    marker.touch()
    (inp_dir / "hot").mkdir()
    (inp_dir / "hot" / "x.state").touch()
    direnv = inp_dir / "direnv" / (hashlib.sha256(os.fsencode(str(project))).hexdigest() + ".sh")
    direnv.parent.mkdir()
    direnv.touch()
    assert trust_command.command("deny", [], environ) == 0
    for source in ("github:a/b", "/proc/self/cwd/evil", "github:other/x"):
        assert not trust.is_allowed(project, source, environ)
    assert not marker.exists()
    assert not (inp_dir / "hot").exists()
    assert not direnv.exists()
