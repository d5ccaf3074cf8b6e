"""activation.detect: NixOS detection with a fake root, and UVX_NIX overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvx_nix import activation


def _root(tmp_path: Path, os_release: str | None = None, nixos_marker: bool = False,
          where: str = "etc/os-release") -> str:
    (tmp_path / "etc").mkdir(parents=True, exist_ok=True)
    if os_release is not None:
        target = tmp_path / where
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(os_release)
    if nixos_marker:
        (tmp_path / "etc" / "NIXOS").write_text("")
    return str(tmp_path)


def test_etc_nixos_marker(tmp_path: Path) -> None:
    result = activation.detect({}, _root(tmp_path, nixos_marker=True))
    assert result.active
    assert "/etc/NIXOS" in result.reason


@pytest.mark.parametrize("line", ["ID=nixos", 'ID="nixos"', "ID='nixos'", "  ID=nixos  "])
def test_os_release_id_nixos(tmp_path: Path, line: str) -> None:
    text = f'NAME=NixOS\n{line}\nVERSION_ID="25.05"\n'
    assert activation.detect({}, _root(tmp_path, text)).active


def test_usr_lib_os_release_is_the_fallback(tmp_path: Path) -> None:
    assert activation.detect({}, _root(tmp_path, "ID=nixos\n", where="usr/lib/os-release")).active


@pytest.mark.parametrize("text", ["ID=debian\nID_LIKE=nixos\n", 'ID="ubuntu"\n',
                                  "ID_LIKE=nixos\n", "NAME=nixos\n", "ID=nixos-like\n", "",
                                  "\xff\xfe"])
def test_other_systems_are_not_nixos(tmp_path: Path, text: str) -> None:
    result = activation.detect({}, _root(tmp_path, text))
    assert not result.active
    assert "UVX_NIX=1" in result.reason


def test_no_os_release_at_all(tmp_path: Path) -> None:
    assert not activation.detect({}, _root(tmp_path)).active


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_forced_on(tmp_path: Path, value: str) -> None:
    result = activation.detect({"UVX_NIX": value}, _root(tmp_path, "ID=debian\n"))
    assert result.active
    assert "UVX_NIX=1" in result.reason


@pytest.mark.parametrize("value", ["0", "false", "No", "off"])
def test_forced_off_even_on_nixos(tmp_path: Path, value: str) -> None:
    result = activation.detect({"UVX_NIX": value}, _root(tmp_path, "ID=nixos\n", True))
    assert not result.active
    assert "UVX_NIX=0" in result.reason


def test_unknown_uvx_nix_value_falls_back_to_detection(tmp_path: Path) -> None:
    assert activation.detect({"UVX_NIX": "maybe"}, _root(tmp_path, "ID=nixos\n")).active
    assert not activation.detect({"UVX_NIX": "maybe"}, _root(tmp_path / "x")).active
