"""Automatic mode: what new wheels need is added to pyproject.toml only when the locked
nixpkgs really has it, and the project is resolved again; otherwise one warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.native import HOST_LIBDIR, cc, make_venv
from uvx_nix import output
from uvx_nix.prepare import auto
from uvx_nix.resolve import attributes


def _wheel_needing_libz(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project whose venv has one new distribution with an extension needing libz."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    venv = make_venv(root)
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "zpkg").mkdir()
    cc(site / "zpkg" / "ext.so", "extern int compress(void); int f(void) { return 0; }\n",
       "-shared", "-fPIC", f"-L{HOST_LIBDIR}", "-Wl,--no-as-needed", "-lz")
    info = site / "zpkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("zpkg/ext.so,,\nzpkg-1.0.dist-info/RECORD,,\n")
    fields = {"site": str(site), "root": str(root), "libs": "", "auto": "1",
              "lockfile": str(root / "uvx-nix.lock")}
    return site, fields


def test_a_provider_the_locked_nixpkgs_has_is_added_and_resolved_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    site, fields = _wheel_needing_libz(tmp_path)
    monkeypatch.setattr(attributes, "providers",
                        lambda lock, suggested, environ, quiet=False: dict(suggested))
    again: list[bool] = []

    def reresolve() -> dict[str, str]:
        again.append(True)
        return {**fields, "libs": "/nix/store/z-zlib/lib"}

    output.configure(0)
    got = auto.add_needed(dict(fields), site, ["zpkg-1.0.dist-info"], [], {"PATH": ""},
                          reresolve)
    assert again == [True]
    assert got["libs"] == "/nix/store/z-zlib/lib"
    assert 'libraries = ["zlib"]' in (Path(fields["root"]) / "pyproject.toml").read_text()
    assert capsys.readouterr().err.startswith("Added zlib to [tool.uvx-nix] libraries in ")


def test_what_the_locked_nixpkgs_lacks_is_never_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    site, fields = _wheel_needing_libz(tmp_path)
    before = (Path(fields["root"]) / "pyproject.toml").read_text()
    monkeypatch.setattr(attributes, "providers",
                        lambda lock, suggested, environ, quiet=False: dict.fromkeys(suggested))
    output.configure(0)
    got = auto.add_needed(dict(fields), site, ["zpkg-1.0.dist-info"], [], {"PATH": ""},
                          lambda: pytest.fail("nothing added: no new resolution"))
    assert got["libs"] == ""
    assert (Path(fields["root"]) / "pyproject.toml").read_text() == before
    err = capsys.readouterr().err
    assert err.startswith("warning: uvx-nix: the locked nixpkgs has no attribute that holds "
                          "libz.so.1")
