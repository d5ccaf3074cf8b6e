"""execute: finding the real uv (never ourselves), and the loop guard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uvx_nix import execute
from uvx_nix.errors import EXIT_UV_MISSING, UserError


def _exe(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    path.chmod(0o755)
    return path


def test_skips_itself_by_realpath(tmp_path: Path) -> None:
    own = _exe(tmp_path / "own" / "uvx-nix", b"\x7fELF own")
    link = tmp_path / "a" / "uv"
    link.parent.mkdir()
    link.symlink_to(own)
    real = _exe(tmp_path / "b" / "uv", b"\x7fELF real uv")
    path = f"{link.parent}:{real.parent}"
    assert execute.find_uv({"PATH": path}, own=str(own)) == str(real)


def test_skips_scripts_that_call_uvx_nix(tmp_path: Path) -> None:
    _exe(tmp_path / "shim" / "uv", "#!/bin/sh\nexec python -m uvx_nix \"$@\"\n")
    _exe(tmp_path / "console" / "uv",
         "#!/usr/bin/python3\nfrom uvx_nix.cli import entry\nentry()\n")
    real = _exe(tmp_path / "real" / "uv", b"\x7fELF\x02 mentions uvx_nix in its data")
    path = ":".join(str(tmp_path / d) for d in ("shim", "console", "real"))
    assert execute.find_uv({"PATH": path}, own="/elsewhere") == str(real)


def test_a_plain_script_named_uv_is_used(tmp_path: Path) -> None:
    script = _exe(tmp_path / "s" / "uv", "#!/bin/sh\nexec /opt/uv/bin/uv \"$@\"\n")
    assert execute.find_uv({"PATH": str(script.parent)}, own="/elsewhere") == str(script)


def test_skips_non_executables_and_directories(tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d1" / "uv").write_bytes(b"\x7fELF")  # not executable
    (tmp_path / "d2" / "uv").mkdir(parents=True)  # a directory
    real = _exe(tmp_path / "d3" / "uv", b"\x7fELF")
    path = ":".join(str(tmp_path / d) for d in ("d1", "d2", "d3"))
    assert execute.find_uv({"PATH": path}, own="/elsewhere") == str(real)


def test_uvx_nix_uv_wins_and_is_checked(tmp_path: Path) -> None:
    real = _exe(tmp_path / "x" / "uv-real", b"\x7fELF")
    other = _exe(tmp_path / "y" / "uv", b"\x7fELF")
    environ = {"PATH": str(other.parent), "UVX_NIX_UV": str(real)}
    assert execute.find_uv(environ, own="/elsewhere") == str(real)
    with pytest.raises(UserError) as info:
        execute.find_uv({"PATH": str(other.parent), "UVX_NIX_UV": str(tmp_path / "nope")})
    assert info.value.exit_code == EXIT_UV_MISSING
    assert "UVX_NIX_UV" in info.value.message


def test_missing_uv_is_a_clear_error(tmp_path: Path) -> None:
    own = _exe(tmp_path / "bin" / "uv", b"\x7fELF")
    with pytest.raises(UserError) as info:
        execute.find_uv({"PATH": f"{own.parent}:{tmp_path / 'none'}"}, own=str(own))
    assert info.value.exit_code == EXIT_UV_MISSING
    assert "the real uv was not found" in info.value.message
    with pytest.raises(UserError):
        execute.find_uv({}, own=str(own))


def test_exec_of_a_script_counts_hops_and_stops_a_loop(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    script = _exe(tmp_path / "uv", "#!/bin/sh\n")
    seen: list[dict[str, str]] = []

    def fake_execve(path: str, args: list[str], env: dict[str, str]) -> None:
        seen.append(env)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", fake_execve)
    with pytest.raises(SystemExit):
        execute.exec_uv(str(script), ["sync"], {"UVX_NIX_DEPTH": "2"})
    assert seen[-1]["UVX_NIX_DEPTH"] == "3"
    with pytest.raises(UserError) as info:
        execute.exec_uv(str(script), ["sync"], {"UVX_NIX_DEPTH": str(execute.MAX_DEPTH)})
    assert info.value.exit_code == EXIT_UV_MISSING
    assert "loop" in info.value.message
    with pytest.raises(SystemExit):
        execute.exec_uv(str(script), ["sync"], {"UVX_NIX_DEPTH": "garbage"})
    assert seen[-1]["UVX_NIX_DEPTH"] == "1"
    elf = _exe(tmp_path / "real-uv", b"\x7fELF....")
    with pytest.raises(SystemExit):
        execute.exec_uv(str(elf), ["sync"], {"UVX_NIX_DEPTH": "5"})
    assert "UVX_NIX_DEPTH" not in seen[-1]


def _fake_uv(path: Path, version: str, log: Path) -> Path:
    path.write_text(f"#!/bin/sh\necho x >> {log}\necho 'uv {version} (test)'\n")
    path.chmod(0o755)
    return path


def test_uv_version_is_checked_once_per_binary(tmp_path: Path) -> None:
    log = tmp_path / "log"
    good = _fake_uv(tmp_path / "uv", "0.13.9", log)
    execute.check_version(str(good), str(tmp_path / "cache"))
    execute.check_version(str(good), str(tmp_path / "cache"))
    assert log.read_text() == "x\n"  # remembered
    old = _fake_uv(tmp_path / "old-uv", "0.11.7", log)
    for _ in range(2):  # an old uv is never remembered as good
        with pytest.raises(UserError) as info:
            execute.check_version(str(old), str(tmp_path / "cache"))
        assert info.value.exit_code == EXIT_UV_MISSING
        assert "0.11.7" in info.value.message
        assert "0.11.8" in info.value.message
    assert log.read_text() == "x\nx\nx\n"
