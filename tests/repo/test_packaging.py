"""Python packaging: sdist and wheel build, and install with pip, `uv tool` and pipx.

Slow (each builds or installs with packages from the index): marked ``slow``.
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INIT = REPO / "src" / "uvx_nix" / "__init__.py"

pytestmark = pytest.mark.slow


def version() -> str:
    found = re.search(r'^__version__ = "([^"]+)"$', INIT.read_text(), re.MULTILINE)
    assert found, f"no __version__ in {INIT}"
    return found.group(1)


def uv_command() -> list[str]:
    """The real uv: the `uv` module of this Python if installed, else uv on PATH."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed")
    return [found]


def run(cmd: Sequence[str | Path], env: dict[str, str] | None = None,
        cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False,
                         env=env, cwd=cwd, timeout=timeout)
    if res.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n"
                    f"{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return res


def clean_env(**extra: str) -> dict[str, str]:
    """The test environment without anything that would point uvx-nix or uv elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UVX_NIX_", "VIRTUAL_ENV", "UV_PYTHON", "UV_PROJECT"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def assert_version_runs(exe: Path) -> None:
    assert exe.is_file(), f"{exe} was not installed"
    res = run([exe, "nix", "--version"], env=clean_env())
    assert res.stdout.splitlines()[0] == f"uvx-nix {version()}"


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    run([*uv_command(), "build", "--out-dir", out, REPO], env=clean_env(), cwd=REPO)
    sdists = sorted(out.glob("uvx_nix-*.tar.gz"))
    wheels = sorted(out.glob("uvx_nix-*-py3-none-any.whl"))
    assert len(sdists) == 1, sorted(p.name for p in out.iterdir())
    assert len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return Dist(sdists[0], wheels[0])


def test_build_makes_sdist_and_wheel_with_the_version(dist: Dist) -> None:
    assert dist.wheel.name == f"uvx_nix-{version()}-py3-none-any.whl"
    assert dist.sdist.name == f"uvx_nix-{version()}.tar.gz"
    with zipfile.ZipFile(dist.wheel) as whl:
        names = whl.namelist()
        metadata = whl.read(f"uvx_nix-{version()}.dist-info/METADATA").decode()
        entry_points = whl.read(f"uvx_nix-{version()}.dist-info/entry_points.txt").decode()
    meta = email.parser.Parser().parsestr(metadata)
    assert meta["Name"] == "uvx-nix"
    assert meta["Version"] == version()
    requires = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower()
                for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r}
    assert requires == {"filelock", "psutil", "tomlkit"}
    assert "uvx-nix = uvx_nix.cli:entry" in entry_points
    # Files the program reads at run time besides its modules.
    for name in ("resolve/resolve.nix", "resolve/nixpkgs.nix", "build/build.nix",
                 "resolve/versions.nix", "py.typed", "injected/scope.py",
                 "injected/build_hook.py", "native/sonames.py",
                 "shell-integration/direnv/uvnix.sh",
                 "shell-integration/uvx-nix.bash", "launcher/launcher.c"):
        assert f"uvx_nix/{name}" in names, name
    with tarfile.open(dist.sdist) as sdist:
        members = sdist.getnames()
        pkg_info = sdist.extractfile(f"uvx_nix-{version()}/PKG-INFO")
        assert pkg_info is not None
        assert email.parser.Parser().parsestr(pkg_info.read().decode())["Version"] == version()
    assert f"uvx_nix-{version()}/pyproject.toml" in members
    assert f"uvx_nix-{version()}/src/uvx_nix/cli.py" in members


def test_version_lives_in_one_place() -> None:
    """pyproject.toml takes the version from __init__.py; nothing else writes it down."""
    pyproject = (REPO / "pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^version\s*=", project, re.MULTILINE) is None
    assert re.search(r'^dynamic\s*=\s*\[[^]]*"version"', project, re.MULTILINE)
    assert 'path = "src/uvx_nix/__init__.py"' in pyproject
    literal = re.compile(rf'["\']{re.escape(version())}["\']')
    candidates = [REPO / "pyproject.toml", REPO / "flake.nix",
                  *(p for p in (REPO / "nix").glob("*.nix")),
                  *(p for p in (REPO / "src").rglob("*") if p.is_file() and p != INIT
                    and p.suffix in {".py", ".nix", ".toml", ".sh"})]
    offenders = [str(p.relative_to(REPO)) for p in candidates if literal.search(p.read_text())]
    assert offenders == []


def test_wheel_installs_into_a_fresh_venv(dist: Dist, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", dist.wheel],
        env=clean_env())
    assert_version_runs(venv / "bin" / "uvx-nix")
    # The shell integration and the direnv library ship inside the wheel.
    lib = run([venv / "bin" / "uvx-nix", "nix", "direnv-lib"], env=clean_env()).stdout
    assert "use_uvnix()" in lib
    init = run([venv / "bin" / "uvx-nix", "nix", "shell-init", "bash"],
               env=clean_env(UVX_NIX_UV="/bin/false")).stdout
    assert "uv()" in init
    # The one command that adds the compiled launcher to a pip installation (cc off NixOS).
    if shutil.which("cc"):
        shims = tmp_path / "shims"
        run([venv / "bin" / "uvx-nix", "nix", "install-launcher", "--dir", shims],
            env=clean_env(UVX_NIX="0"))
        assert (shims / "uvx-nix").read_bytes().startswith(b"\x7fELF")
        assert_version_runs(shims / "uvx-nix")


def test_uv_tool_install(tmp_path: Path) -> None:
    tool_dir, bin_dir = tmp_path / "tools", tmp_path / "bin"
    env = clean_env(UV_TOOL_DIR=str(tool_dir), UV_TOOL_BIN_DIR=str(bin_dir))
    run([*uv_command(), "tool", "install", "--python", sys.executable, REPO], env=env)
    assert_version_runs(bin_dir / "uvx-nix")
    run([*uv_command(), "tool", "uninstall", "uvx-nix"], env=env)
    assert not (bin_dir / "uvx-nix").exists()


def test_pipx_install(dist: Dist, tmp_path: Path) -> None:
    venv = tmp_path / "pipx-venv"
    run([sys.executable, "-m", "venv", venv])
    res = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "pipx"], capture_output=True, text=True, check=False, timeout=600,
                         env=clean_env())
    if res.returncode != 0:
        pytest.skip(f"pipx is not installable here: {res.stderr[-500:]}")
    home, bin_dir, man_dir = tmp_path / "pipx-home", tmp_path / "bin", tmp_path / "man"
    env = clean_env(PIPX_HOME=str(home), PIPX_BIN_DIR=str(bin_dir), PIPX_MAN_DIR=str(man_dir))
    run([venv / "bin" / "pipx", "install", dist.wheel], env=env)
    assert_version_runs(bin_dir / "uvx-nix")
