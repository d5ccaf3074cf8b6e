"""The flake (flake.nix, nix/): parses, every output evaluates, the modules produce the config.

Evaluated here against tests/flake/nixpkgs, a stub flake with nixpkgs' names and shapes
whose derivations cannot be built, via ``--override-input nixpkgs``: no network, no lock
file, no real nixpkgs. What this does and does not verify: docs/flake-verification.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from helpers.sim import HOST_NIX_CONFIG

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "flake"
SYSTEMS = ("x86_64-linux", "aarch64-linux")
FEATURES = ["--extra-experimental-features", "nix-command flakes"]


def _nix_version() -> tuple[int, ...]:
    out = subprocess.run(["nix", "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"(\d+)\.(\d+)", out)
    return tuple(int(x) for x in found.groups()) if found else (0, 0)


# From Nix 2.19 on, `nix flake show` and `nix flake check` look at the current system only
# unless told otherwise (2.8 has no such flag and always looks at all of them).
ALL_SYSTEMS = ["--all-systems"] if shutil.which("nix") and _nix_version() >= (2, 19) else []
# What the flake reads from the working tree; copied so uncommitted edits are what we test
# and nothing else of the repo (.venv, caches, the simulation's build) is copied to the store.
FLAKE_FILES = ("flake.nix", "nix", "src", "shell-integration", "pyproject.toml", "README.md",
               "CHANGELOG.md")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".build", ".*_cache")

pytestmark = [pytest.mark.nix,
              pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")]


def version() -> str:
    text = (REPO / "src" / "uvx_nix" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    assert found, "no __version__ in src/uvx_nix/__init__.py"
    return found.group(1)


@dataclass(frozen=True)
class Flake:
    """A copy of the flake, the stub nixpkgs, and a nix runner that needs no network."""

    root: Path
    nixpkgs: Path
    harness: Path
    env: dict[str, str]

    @property
    def ref(self) -> str:
        return f"path:{self.root}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(["nix", *FEATURES, *args], capture_output=True, text=True,
                             env=self.env, check=False, timeout=300)
        if check and res.returncode != 0:
            pytest.fail(f"nix {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-4000:]}")
        return res

    def overridden(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(*args, "--no-write-lock-file",
                        "--override-input", "nixpkgs", f"path:{self.nixpkgs}")

    def eval(self, attr: str, apply: str | None = None) -> Any:
        extra = ["--apply", apply] if apply else []
        out = self.overridden("eval", "--json", f"{self.ref}#{attr}", *extra).stdout
        return json.loads(out)


@pytest.fixture(scope="module")
def flake(tmp_path_factory: pytest.TempPathFactory) -> Flake:
    base = tmp_path_factory.mktemp("flake")
    root = base / "uvx-nix"
    root.mkdir()
    for name in FLAKE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=IGNORE)
        elif src.is_file():
            shutil.copy2(src, root / name)
    nixpkgs = base / "nixpkgs"
    shutil.copytree(FIXTURES / "nixpkgs", nixpkgs, ignore=IGNORE)
    harness = base / "harness"
    harness.mkdir()
    for name in ("harness.nix", "host-nixos.nix", "host-home-manager.nix"):
        shutil.copy2(FIXTURES / name, harness / name)
    # Generated here because flake inputs must be absolute paths; see tests/flake/harness.nix.
    (harness / "flake.nix").write_text(
        "{\n"
        f'  inputs.uvx.url = "path:{root}";\n'
        f'  inputs.nixpkgs.url = "path:{nixpkgs}";\n'
        '  inputs.uvx.inputs.nixpkgs.follows = "nixpkgs";\n'
        "  outputs = { self, uvx, nixpkgs }: "
        "{ result = import ./harness.nix { inherit uvx nixpkgs; }; };\n"
        "}\n")
    registry = base / "registry.json"
    registry.write_text('{"flakes": [], "version": 2}\n')
    env = dict(os.environ)
    # No binary cache (no network here) and no global registry download.
    # (flakes enabled before flake-registry, or Nix 2.26 ignores that setting with a warning)
    env["NIX_CONFIG"] = (f"{HOST_NIX_CONFIG}experimental-features = nix-command flakes\n"
                         f"flake-registry = {registry}\n")
    return Flake(root, nixpkgs, harness, env)


@pytest.fixture(scope="module")
def harness(flake: Flake) -> dict[str, Any]:
    out = flake.run("eval", "--json", f"path:{flake.harness}#result").stdout
    result: dict[str, Any] = json.loads(out)
    return result


# --- syntax and shape ----------------------------------------------------------------------


def test_every_nix_file_parses() -> None:
    files = [REPO / "flake.nix", *sorted((REPO / "nix").glob("*.nix")),
             *sorted(FIXTURES.rglob("*.nix"))]
    assert len(files) > 5
    for path in files:
        res = subprocess.run(["nix-instantiate", "--parse", str(path)], capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0, f"{path.relative_to(REPO)}: {res.stderr}"


def test_only_input_is_nixpkgs() -> None:
    res = subprocess.run(
        ["nix-instantiate", "--eval", "--json", "--strict", "--expr",
         f"(import {REPO / 'flake.nix'}).inputs"],
        capture_output=True, text=True, check=True)
    inputs = json.loads(res.stdout)
    assert list(inputs) == ["nixpkgs"]
    url = inputs["nixpkgs"]["url"]
    assert re.fullmatch(r"github:NixOS/nixpkgs/nixos-(unstable|\d\d\.\d\d)", url)


def test_flake_show_lists_every_output(flake: Flake) -> None:
    shown = json.loads(flake.overridden("flake", "show", "--json", *ALL_SYSTEMS,
                                        flake.ref).stdout)
    for system in SYSTEMS:
        packages = shown["packages"][system]
        assert {"default", "uvx-nix", "uv-shim"} <= set(packages)
        assert packages["default"]["name"] == f"uvx-nix-{version()}"
        assert packages["uv-shim"]["type"] == "derivation"
        assert shown["apps"][system]["default"]["type"] == "app"
        assert shown["devShells"][system]["default"]["type"] == "derivation"
        assert {"package", "shims", "shellcheck", "tests"} <= set(shown["checks"][system])
        assert shown["formatter"][system]["type"] == "derivation"
    assert shown["overlays"]["default"]["type"] == "nixpkgs-overlay"
    assert shown["nixosModules"]["default"]["type"] == "nixos-module"
    assert "homeModules" in shown  # a known output from Nix 2.24 on, unknown to 2.8
    assert "homeManagerModules" in shown  # the 0.1.0 name, kept
    assert shown["templates"]["default"]["type"] == "template"


def test_flake_check_without_building(flake: Flake) -> None:
    """Nix's own output checks: overlay argument names, app and template shapes, ...; and
    no warning but the documented one (the 0.1.0 name of the home-manager module; Nix 2.8
    does not know `homeModules` either)."""
    res = flake.overridden("flake", "check", "--no-build", *ALL_SYSTEMS, flake.ref)
    # (The test's own --no-write-lock-file with an overridden input warns about the lock.)
    warnings = {line.strip() for line in res.stderr.splitlines() if "warning:" in line
                and "not writing modified lock file" not in line}
    allowed = {"warning: unknown flake output 'homeManagerModules'",
               "warning: unknown flake output 'homeModules'"}
    assert warnings <= allowed, res.stderr


# --- each output ---------------------------------------------------------------------------

PACKAGE_SUMMARY = """p: {
  inherit (p) name version drvPath;
  out = p.outPath;
  mainProgram = p.meta.mainProgram;
  uv = p.uv.outPath;
  inherit (p.stubArgs) pname pyproject postInstall postFixup dontWrapPythonPrograms;
  launcher = p.launcher;
  dependencies = map (d: d.pname) p.stubArgs.dependencies;
  buildSystem = map (d: d.pname) p.stubArgs.build-system;
  doCheck = p.stubArgs.doCheck;
}"""


@pytest.mark.parametrize("system", SYSTEMS)
def test_package_is_a_python_application_with_uv(flake: Flake, system: str) -> None:
    p = flake.eval(f"packages.{system}.default", PACKAGE_SUMMARY)
    assert p["pname"] == "uvx-nix"
    assert p["version"] == version()
    assert p["pyproject"] is True
    assert p["buildSystem"] == ["hatchling"]
    assert sorted(p["dependencies"]) == ["filelock", "psutil", "tomlkit"]
    assert p["mainProgram"] == "uvx-nix"
    # bin/uvx-nix is the compiled launcher, built with stdenv's compiler; it finds nixpkgs' uv
    # whatever PATH holds (a user's UVX_NIX_UV still wins) and hands everything else to the
    # Python implementation in libexec/, which has no shell wrapper changing uv's environment.
    assert p["launcher"] is True
    assert p["dontWrapPythonPrograms"] is True
    fixup = p["postFixup"]
    assert "$CC -std=c99 -O2 -Wall -Wextra -o $out/bin/uvx-nix src/uvx_nix/launcher/launcher.c" \
        in fixup
    assert f'-DUVX_NIX_DEFAULT_UV="\\"{p["uv"]}/bin/uv\\""' in fixup
    assert '-DUVX_NIX_ENTRY="\\"$out/libexec/uvx-nix/uvx-nix\\""' in fixup
    assert f'-DUVX_NIX_VERSION="\\"{version()}\\""' in fixup
    assert "patchPythonScript $out/libexec/uvx-nix/uvx-nix" in fixup
    assert "shell-integration" in p["postInstall"]
    assert p["drvPath"].endswith(f"-uvx-nix-{version()}.drv")


def test_package_version_follows_init_py(flake: Flake) -> None:
    """The flake has no version of its own: it reads src/uvx_nix/__init__.py."""
    init = flake.root / "src" / "uvx_nix" / "__init__.py"
    original = init.read_text()
    try:
        init.write_text(original.replace(f'"{version()}"', '"9.8.7"'))
        assert flake.eval("packages.x86_64-linux.default.version") == "9.8.7"
    finally:
        init.write_text(original)


@pytest.mark.parametrize("system", SYSTEMS)
def test_app_runs_the_package(flake: Flake, system: str) -> None:
    app = flake.eval(f"apps.{system}.default")
    out = flake.eval(f"packages.{system}.default.outPath")
    assert app == {"type": "app", "program": f"{out}/bin/uvx-nix",
                   "meta": {"description": "uv with nixpkgs interpreters and native libraries"}}


@pytest.mark.parametrize("system", SYSTEMS)
def test_shims_provide_uv_and_uvx(flake: Flake, system: str) -> None:
    shims = flake.eval(f"packages.{system}.uv-shim",
                       "p: { inherit (p) name; cmd = p.stubArgs.buildCommand; "
                       "priority = p.meta.priority; main = p.meta.mainProgram; }")
    exe = flake.eval(f"packages.{system}.default.outPath") + "/bin/uvx-nix"
    lines = shims["cmd"].splitlines()
    # uv: uvx-nix under another name is the alias; uvx too (the launcher reads its name).
    assert f"ln -s {exe} $out/bin/uv" in lines
    assert f"ln -s {exe} $out/bin/uvx" in lines
    assert shims["priority"] < 5  # beats nixpkgs' uv in a profile instead of colliding
    assert shims["main"] == "uv"


@pytest.mark.parametrize("output", ["packages", "checks", "devShells"])
def test_every_derivation_instantiates(flake: Flake, output: str) -> None:
    drvs = flake.eval(output, "builtins.mapAttrs (_: builtins.mapAttrs (_: d: d.drvPath))")
    assert set(drvs) == set(SYSTEMS)
    for system in SYSTEMS:
        assert drvs[system]
        for name, drv in drvs[system].items():
            assert drv.startswith("/nix/store/"), (system, name)
            assert drv.endswith(".drv"), (system, name)


def test_formatter(flake: Flake) -> None:
    for system in SYSTEMS:
        fmt = flake.eval(f"formatter.{system}", "d: { inherit (d) pname drvPath; }")
        assert fmt["pname"] == "nixfmt-rfc-style"


def test_dev_shell_has_the_contributor_tools(flake: Flake) -> None:
    shell = flake.eval(
        "devShells.x86_64-linux.default",
        "s: { names = map (p: p.pname or p.name) s.stubArgs.packages; "
        "python = (builtins.head s.stubArgs.packages).stubArgs.packages; }")
    assert {"uv", "ruff", "nix", "bubblewrap", "patchelf", "direnv", "shellcheck"} <= set(
        shell["names"])
    assert {"filelock", "platformdirs", "psutil", "tomlkit", "pytest", "hypothesis",
            "mypy"} <= set(shell["python"])


def test_checks_run_shellcheck_and_the_unit_tests(flake: Flake) -> None:
    cmds = flake.eval("checks.x86_64-linux",
                      "c: { shellcheck = c.shellcheck.stubArgs.buildCommand; "
                      "tests = c.tests.stubArgs.buildCommand; package = c.package.name; }")
    assert cmds["package"] == f"uvx-nix-{version()}"
    assert "/shell-integration/*.sh" in cmds["shellcheck"]
    assert "/shell-integration/direnv/*.sh" in cmds["shellcheck"]
    assert "shellcheck " in cmds["shellcheck"]
    assert "python -m pytest" in cmds["tests"]
    assert '-m "not sim and not slow"' in cmds["tests"]


def test_template_initialises_a_project(flake: Flake, tmp_path: Path) -> None:
    assert flake.eval("templates.default.description")
    target = tmp_path / "project"
    target.mkdir()
    # `flake init` takes no --override-input and would fetch nixpkgs to lock it: lock the
    # copy to the stub first (every other test overrides the input anyway).
    flake.run("flake", "lock", "--override-input", "nixpkgs", f"path:{flake.nixpkgs}", flake.ref)
    res = subprocess.run(["nix", *FEATURES, "flake", "init", "-t", f"{flake.ref}#default"],
                         cwd=target, capture_output=True, text=True, env=flake.env, check=False,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    pyproject = tomlkit.parse((target / "pyproject.toml").read_text()).unwrap()
    assert pyproject["project"]["requires-python"]
    assert "use uvnix --sync" in (target / ".envrc").read_text().splitlines()
    ignored = (target / ".gitignore").read_text().split()
    assert {".venv/", ".uvx-nix/"} <= set(ignored)
    compile((target / "main.py").read_text(), "main.py", "exec")


# --- overlay and modules (tests/flake/harness.nix) -----------------------------------------


def test_overlay_adds_both_packages(harness: dict[str, Any]) -> None:
    overlay = harness["overlay"]
    assert overlay["uvx-nix"] == f"uvx-nix-{version()}"
    assert overlay["shims"] == f"uvx-nix-shims-{version()}"
    assert overlay["uvx-nix-drv"].endswith(".drv")
    assert overlay["shimsDrv"].endswith(".drv")


def _direnv_source(summary: dict[str, Any], key: str) -> str:
    source: str = summary[key]["direnv/lib/uvnix.sh"]
    assert source.startswith("/nix/store/")
    assert source.endswith(f"-uvx-nix-{version()}/share/uvx-nix/shell-integration/direnv/uvnix.sh")
    return source


def test_nixos_module_full(harness: dict[str, Any]) -> None:
    full = harness["nixos"]["full"]
    assert full["systemPackages"] == [f"uvx-nix-{version()}", f"uvx-nix-shims-{version()}"]
    assert full["variables"] == {"UVX_NIX_LIBRARIES": "libGL"}
    _direnv_source(full, "etc")
    # Without programs.direnv nothing reads /etc/direnv/lib: say so.
    assert len(full["warnings"]) == 1
    assert "programs.direnv.enable" in full["warnings"][0]
    assert harness["nixos"]["withDirenv"]["warnings"] == []


def test_nixos_module_minimal_disabled_and_pinned(harness: dict[str, Any]) -> None:
    nixos = harness["nixos"]
    assert nixos["minimal"] == {"systemPackages": [f"uvx-nix-{version()}"], "variables": {},
                                "etc": {}, "warnings": []}
    assert nixos["disabled"] == {"systemPackages": [], "variables": {}, "etc": {},
                                 "warnings": []}
    assert nixos["pinned"]["variables"] == {
        "UVX_NIX_LIBRARIES": "libGL,xorg.libX11",
        "UVX_NIX_NIXPKGS": "github:NixOS/nixpkgs/nixos-26.05",
    }
    assert nixos["defaultPackage"] == f"uvx-nix-{version()}"


def test_home_manager_module_full(harness: dict[str, Any]) -> None:
    full = harness["home"]["full"]
    assert full["packages"] == [f"uvx-nix-{version()}", f"uvx-nix-shims-{version()}"]
    config = tomlkit.parse(full["configFile"]["uvx-nix/config.toml"]).unwrap()
    assert config == {"libraries": ["libGL"]}
    _direnv_source(full, "configFile")


def test_home_manager_module_minimal_disabled_and_pinned(harness: dict[str, Any]) -> None:
    home = harness["home"]
    # Nothing to write: the user's own config.toml is left alone.
    assert home["minimal"] == {"packages": [f"uvx-nix-{version()}"], "configFile": {},
                               "warnings": []}
    assert home["disabled"] == {"packages": [], "configFile": {}, "warnings": []}
    config = tomlkit.parse(home["pinned"]["configFile"]["uvx-nix/config.toml"]).unwrap()
    assert config == {"nixpkgs": "github:NixOS/nixpkgs/nixos-26.05"}


def test_home_manager_config_is_read_by_uvx_nix(harness: dict[str, Any], tmp_path: Path) -> None:
    """The generated config.toml is accepted by uvx-nix's own reader."""
    from uvx_nix.resolve import inputs

    text = harness["home"]["full"]["configFile"]["uvx-nix/config.toml"]
    path = tmp_path / "config.toml"
    path.write_text(text)
    warnings: list[str] = []
    settings, found = inputs.user_settings({"UVX_NIX_CONFIG": str(path)}, warnings)
    assert found == path
    assert settings["libraries"] == ["libGL"]
    assert warnings == []


def test_direnv_library_path_matches_the_source_tree(harness: dict[str, Any]) -> None:
    """The modules link share/uvx-nix/shell-integration/direnv/uvnix.sh, which postInstall
    copies from shell-integration/: the file must exist in the repository."""
    rel = _direnv_source(harness["home"]["full"], "configFile").split("/share/uvx-nix/", 1)[1]
    if not (REPO / rel).is_file():
        pytest.skip(f"{rel} is not written yet")
    assert (REPO / rel).is_file()



# --- the package's source, which evaluation really copies to the store ---------------------


def test_package_source_is_filtered(flake: Flake) -> None:
    src = Path(flake.eval("packages.x86_64-linux.default.src"))
    assert src.is_dir()
    top = {p.name for p in src.iterdir()}
    assert {"pyproject.toml", "README.md", "src", "shell-integration"} <= top
    # nix/, flake.nix and docs are not inputs of the build: editing them rebuilds nothing.
    assert not top & {"nix", "flake.nix", "docs", ".git"}
    assert (src / "src" / "uvx_nix" / "resolve" / "resolve.nix").is_file()
    assert not list(src.rglob("__pycache__"))


@pytest.mark.slow
def test_package_source_builds_a_wheel(flake: Flake, tmp_path: Path) -> None:
    """What buildPythonApplication does first (a PEP 517 build with hatchling) works on the
    filtered source: nothing the build needs is filtered out."""
    import importlib.util
    import sys

    src = Path(flake.eval("packages.x86_64-linux.default.src"))
    work = tmp_path / "src"
    shutil.copytree(src, work)
    for path in work.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    uv = ([sys.executable, "-m", "uv"] if importlib.util.find_spec("uv")
          else [shutil.which("uv") or pytest.skip("uv is not installed")])
    res = subprocess.run([*uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"),
                          str(work)], capture_output=True, text=True, check=False, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "dist" / f"uvx_nix-{version()}-py3-none-any.whl").is_file()
