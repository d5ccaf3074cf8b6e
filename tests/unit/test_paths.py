"""paths: the stdlib cache dir matches platformdirs, overrides and fallbacks."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from uvx_nix import paths

CASES = [
    {"HOME": "/home/a"},
    {"HOME": "/home/a", "XDG_CACHE_HOME": "/var/cache/a"},
    {"HOME": "/home/a", "XDG_CACHE_HOME": ""},
    {"HOME": "/home/a", "XDG_CACHE_HOME": "   "},
    {"HOME": "/home/a b/ü", "XDG_CACHE_HOME": "/c d/é"},
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "UVX_NIX_CACHE_DIR",
                "UVX_NIX_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.mark.parametrize("environ", CASES)
def test_cache_dir_equals_platformdirs(clean_env: pytest.MonkeyPatch,
                                       environ: dict[str, str]) -> None:
    for key, value in environ.items():
        clean_env.setenv(key, value)
    expected = platformdirs.user_cache_dir("uvx-nix")
    assert str(paths.cache_dir(environ)) == expected
    assert paths.cache_dir_str(environ) == expected


def test_relative_xdg_is_ignored_like_the_spec_says() -> None:
    """XDG: a relative value is invalid and ignored (platformdirs >= 4.3 agrees; older versions
    use it as is, so this is checked against the spec, not against platformdirs)."""
    environ = {"HOME": "/home/a", "XDG_CACHE_HOME": "relative/cache"}
    assert paths.cache_dir_str(environ) == "/home/a/.cache/uvx-nix"


def test_padded_xdg_is_not_absolute() -> None:
    environ = {"HOME": "/home/a", "XDG_CACHE_HOME": " /padded "}
    assert paths.cache_dir_str(environ) == "/home/a/.cache/uvx-nix"


def test_overrides() -> None:
    environ = {"HOME": "/h", "UVX_NIX_CACHE_DIR": "/cache", "UVX_NIX_CONFIG": "/c.toml"}
    assert paths.cache_dir(environ) == Path("/cache")
    assert paths.cache_dir_str(environ) == "/cache"
    assert paths.config_file(environ) == Path("/c.toml")


def test_config_data_and_global_pin() -> None:
    environ = {"HOME": "/h", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data"}
    assert paths.config_file(environ) == Path("/cfg/uvx-nix/config.toml")
    assert paths.data_dir(environ) == Path("/data/uvx-nix")
    assert paths.global_python_version(environ) == Path("/cfg/uv/.python-version")
    assert paths.config_file({"HOME": "/h"}) == Path("/h/.config/uvx-nix/config.toml")
    assert paths.data_dir({"HOME": "/h"}) == Path("/h/.local/share/uvx-nix")


def test_current_system_names_the_platform_as_nix_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    from uvx_nix.resolve import inputs

    cases = [("x86_64", "Linux", "x86_64-linux"), ("aarch64", "Linux", "aarch64-linux"),
             ("arm64", "Darwin", "aarch64-darwin"), ("AMD64", "Linux", "x86_64-linux")]
    for machine, system, expected in cases:
        monkeypatch.setattr(platform, "machine", lambda m=machine: m)
        monkeypatch.setattr(platform, "system", lambda s=system: s)
        assert inputs.current_system() == expected
