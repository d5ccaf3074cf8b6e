"""venv: where the project's venv is, when uvx-nix may touch it, and its scope hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvx_nix.prepare import venv


def test_replace_foreign_never_follows_a_symlinked_venv(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / ".venv").symlink_to(real)
    assert venv.replace_foreign(tmp_path / ".venv") is False
    assert (real / "pyvenv.cfg").exists()
    (real / "work.txt").write_text("mine")
    assert venv.replace_foreign(real) is True
    assert not real.exists()
    aside = list(tmp_path.glob("real.replaced-*"))
    assert len(aside) == 1
    assert (aside[0] / "work.txt").read_text() == "mine"


def test_install_hook_is_idempotent(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    assert venv.install_hook(site) is False  # no site-packages yet
    site.mkdir()
    assert venv.install_hook(site, "/nix/store/x/lib") is True
    assert (site / venv.HOOK_PTH).read_bytes() == venv.hook_line("/nix/store/x/lib", False)
    assert (site / venv.SONAMES_MODULE).is_file()
    assert venv.install_hook(site, "/nix/store/x/lib") is False
    assert venv.install_hook(site, "/nix/store/y/lib") is True  # the libraries changed


def test_probe_args_keep_the_options_and_replace_the_command() -> None:
    from uvx_nix import argv

    def probe(*args: str) -> list[str] | None:
        return venv.probe_args(argv.parse(list(args)))

    tail = ["python", "-c", venv.PROBE]
    assert probe("run", "--with", "rich", "python", "-c", "x") == ["run", "--with", "rich", *tail]
    assert probe("run", "--extra", "a", "--", "sh", "-c", "x") == ["run", "--extra", "a", *tail]
    assert probe("tool", "run", "ruff@0.6", "--version") == ["tool", "run", "--from=ruff@0.6",
                                                             *tail]
    assert probe("tool", "run", "--from", "httpie", "http", "x") == \
        ["tool", "run", "--from", "httpie", *tail]
    assert probe("run") is None  # nothing to run: uv lists the commands
    assert probe("run", "--script", "s.py") is None


def test_targets_follow_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from uvx_nix import argv

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /x\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    fields = {"site": str(tmp_path / "p" / ".venv" / "lib" / "python3.12" / "site-packages")}
    assert venv.targets(argv.parse(["sync"]), fields, {}) == [tmp_path / "p" / ".venv"]
    assert venv.targets(argv.parse(["venv", "v2"]), {}, {}) == [tmp_path / "v2"]
    assert venv.targets(argv.parse(["pip", "install", "x"]), {}, {}) == [tmp_path / ".venv"]
    assert venv.targets(argv.parse(["pip", "install", "x"]), {},
                        {"VIRTUAL_ENV": "/elsewhere"}) == [Path("/elsewhere")]
    assert venv.targets(argv.parse(["pip", "install", "-p", "v3/bin/python", "x"]), {}, {}) \
        == [tmp_path / "v3"]
    monkeypatch.chdir(sub)
    assert venv.targets(argv.parse(["pip", "install", "x"]), {}, {}) == [tmp_path / ".venv"]
    tools = tmp_path / "tools"
    for name in ("black", "ruff"):
        (tools / name).mkdir(parents=True)
        (tools / name / "pyvenv.cfg").write_text("home = /x\n")
    tool_env = {"UV_TOOL_DIR": str(tools)}
    assert venv.targets(argv.parse(["tool", "install", "ruff==0.6"]), {}, tool_env) == \
        [tools / "ruff"]
    assert venv.targets(argv.parse(["tool", "upgrade", "--all"]), {}, tool_env) == \
        [tools / "black", tools / "ruff"]
