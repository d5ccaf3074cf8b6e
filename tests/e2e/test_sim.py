"""Self-checks of the NixOS simulation: it must fail exactly where NixOS fails."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.sim import BUILD, Sim, setup_sim
from helpers.wheels import build_cxx_wheel, build_elf_script_wheel, build_zlib_wheel

STUB_LD_LINES = (
    "NixOS cannot run dynamically linked executables intended for generic\n"
    "linux environments out of the box. For more information, see:\n"
    "https://nix.dev/permalink/stub-ld\n"
)
NIX = ["nix", "--extra-experimental-features", "nix-command flakes"]


def assert_stub_ld(res: object, prog: str) -> None:
    assert getattr(res, "returncode", None) == 127, res
    err = str(getattr(res, "stderr", ""))
    assert f"Could not start dynamically linked executable: {prog}" in err, err
    assert STUB_LD_LINES in err, err


def test_root_looks_like_nixos(sim: Sim, project_dir: Path) -> None:
    res = sim.run(
        ["sh", "-c", "test -e /etc/NIXOS && . /etc/os-release && echo $ID; "
         "ls -d /usr/lib /lib /root/.pyenv /usr/bin/python3 2>/dev/null; true"],
        cwd=project_dir, check=True,
    )
    assert res.stdout.strip() == "nixos"


def test_generic_linux_binaries_hit_stub_ld(sim: Sim, project_dir: Path) -> None:
    with zipfile.ZipFile(BUILD / "uv.whl") as z:
        name = next(n for n in z.namelist() if n.endswith(".data/scripts/uv"))
        (project_dir / "uv").write_bytes(z.read(name))
    (project_dir / "uv").chmod(0o755)
    shutil.copy2(Path(sys.executable).resolve(), project_dir / "hostpython")
    for prog in ("uv", "hostpython"):
        res = sim.run([f"./{prog}", "--version"], cwd=project_dir)
        assert_stub_ld(res, f"./{prog}")


def test_lookalike_python_and_uv_run(sim: Sim, project_dir: Path) -> None:
    for attr in sorted(k for k in sim.pkgs if k.startswith("python3")):
        mm = f"3.{attr.removeprefix('python3')}"
        res = sim.run(
            [sim.bin(attr, f"python{mm}"), "-c",
             "import ssl, sqlite3, ctypes, zlib, venv, sys; print(sys.version_info[:2])"],
            cwd=project_dir, check=True,
        )
        assert res.stdout.strip() == str(tuple(int(x) for x in mm.split(".")))
    res = sim.run([sim.bin("uv", "uv"), "--version"], cwd=project_dir, check=True)
    assert res.stdout.startswith("uv ")


def test_store_python_venv_works(sim: Sim, project_dir: Path) -> None:
    py = sim.bin("python312", "python3.12")
    sim.run([py, "-m", "venv", "v"], cwd=project_dir, check=True)
    cfg = (project_dir / "v/pyvenv.cfg").read_text()
    assert f"home = {sim.pkgs['python312']}/bin" in cfg
    res = sim.run(["v/bin/python", "-c", "import sys, ssl; print(sys.prefix)"],
                  cwd=project_dir, check=True)
    assert res.stdout.strip() == str(project_dir / "v")


def test_loader_resolves_only_glibc_libs(sim: Sim, project_dir: Path) -> None:
    code = (
        "import ctypes\n"
        "for n in ('libpthread.so.0', 'libgcc_s.so.1', 'libstdc++.so.6'):\n"
        "    try:\n        ctypes.CDLL(n); print(n, 'ok')\n"
        "    except OSError:\n        print(n, 'missing')\n"
    )
    res = sim.run([sim.bin("python312", "python3.12"), "-c", code], cwd=project_dir, check=True)
    # (libz.so.1 is not checked here: ctypes dlopens with _ctypes' own RUNPATH.)
    assert res.stdout.split("\n")[:3] == [
        "libpthread.so.0 ok", "libgcc_s.so.1 ok", "libstdc++.so.6 missing",
    ]


def _venv_with(sim: Sim, project_dir: Path, wheel: Path, dist: str) -> None:
    env = {"UV_PYTHON_DOWNLOADS": "never"}
    uv = sim.bin("uv", "uv")
    sim.run([uv, "venv", "--python", sim.bin("python312", "python3.12"), ".venv"],
            cwd=project_dir, env=env, check=True)
    sim.run([uv, "pip", "install", "--python", ".venv/bin/python", "--no-index",
             "--find-links", str(wheel.parent), dist], cwd=project_dir, env=env, check=True)


def _lib_path(sim: Sim, project_dir: Path, pkg_expr: str) -> str:
    res = sim.run(
        [*NIX, "eval", "--impure", "--raw", "--expr",
         f"let pkgs = import <nixpkgs> {{}}; in pkgs.lib.makeLibraryPath [ {pkg_expr} ]"],
        cwd=project_dir, check=True,
    )
    return res.stdout


@pytest.mark.parametrize(
    ("builder", "dist", "module", "call", "soname", "pkg_expr"),
    [
        (build_cxx_wheel, "uvxnix-cxxdemo", "uvxnix_cxxdemo", "hello()", "libstdc++.so.6",
         "pkgs.stdenv.cc.cc.lib"),
        (build_zlib_wheel, "uvxnix-zdemo", "uvxnix_zdemo", "zlib_version()", "libz.so.1",
         "pkgs.zlib"),
    ],
)
def test_manylinux_extension_needs_library_path(
    sim: Sim, project_dir: Path, builder: object, dist: str, module: str, call: str,
    soname: str, pkg_expr: str,
) -> None:
    wheel = builder(project_dir / "wheels")  # type: ignore[operator]
    _venv_with(sim, project_dir, wheel, dist)
    code = f"import {module}; print({module}.{call})"
    res = sim.run([".venv/bin/python", "-c", code], cwd=project_dir)
    assert res.returncode == 1
    assert f"{soname}: cannot open shared object file" in res.stderr
    libpath = _lib_path(sim, project_dir, pkg_expr)
    assert libpath.startswith("/nix/store/")
    assert libpath.endswith("/lib")
    res = sim.run([".venv/bin/python", "-c", code], cwd=project_dir,
                  env={"LD_LIBRARY_PATH": libpath}, check=True)
    assert res.stdout.strip()


def test_elf_console_script_hits_stub_ld(sim: Sim, project_dir: Path) -> None:
    wheel = build_elf_script_wheel(project_dir / "wheels")
    _venv_with(sim, project_dir, wheel, "uvxnix-elfdemo")
    res = sim.run([".venv/bin/elfdemo"], cwd=project_dir)
    assert_stub_ld(res, ".venv/bin/elfdemo")


def test_uv_finds_no_python(sim: Sim, project_dir: Path) -> None:
    res = sim.run([sim.bin("uv", "uv"), "python", "find"], cwd=project_dir,
                  env={"UV_PYTHON_DOWNLOADS": "never"})
    assert res.returncode != 0


def test_nix_works_offline_inside(sim: Sim, project_dir: Path) -> None:
    res = sim.run([*NIX, "build", "nixpkgs#python312", "--json", "--no-link"],
                  cwd=project_dir, check=True)
    assert sim.pkgs["python312"] in res.stdout
    res = sim.run(["nix-build", "<nixpkgs>", "-A", "python312", "--no-out-link"],
                  cwd=project_dir, check=True)
    assert res.stdout.strip() == sim.pkgs["python312"]
    assert sim.nix_eval("nixpkgs#python312.pythonVersion", cwd=project_dir) == "3.12"


def test_withpackages_is_a_different_derivation(sim: Sim, project_dir: Path) -> None:
    drv = sim.nix_eval("nixpkgs#python312.drvPath", cwd=project_dir)
    res = sim.run(
        [*NIX, "eval", "--raw", "nixpkgs#python312",
         "--apply", "p: (p.withPackages (ps: [])).name"],
        cwd=project_dir, check=True,
    )
    assert res.stdout == f"python3-{sim.nix_eval('nixpkgs#python312.version', cwd=project_dir)}-env"
    assert isinstance(drv, str)


def test_deleted_output_is_rebuilt_inside(sim: Sim, project_dir: Path) -> None:
    zlib = sim.pkgs["zlib"]
    # Everything that refers to zlib (simAll, environments of earlier tests' projects) must go
    # with it: the store keeps referential integrity even with --ignore-liveness.
    referrers = sim.run(["nix-store", "--query", "--referrers-closure", zlib],
                        cwd=project_dir, check=True).stdout.split()
    try:
        sim.run(["nix-store", "--delete", "--ignore-liveness", *referrers],
                cwd=project_dir, check=True)
        assert not Path(zlib).exists()
        res = sim.run([*NIX, "build", "nixpkgs#zlib", "--json", "--no-link"],
                      cwd=project_dir, check=True)
        assert zlib in res.stdout
        assert (Path(zlib) / "lib/libz.so.1").exists()
    finally:
        setup_sim()  # restore the simulation's own roots for the tests after this one


def test_recording_nix_logs_calls(sim: Sim, project_dir: Path) -> None:
    log = project_dir / "log" / "nix.log"
    d = sim.recording_nix(log)
    sim.run(["nix-instantiate", "--eval", "-E", "1 + 1"], cwd=project_dir, path_prepend=[d],
            check=True)
    assert log.read_text().splitlines() == ["nix-instantiate --eval -E 1 + 1"]
