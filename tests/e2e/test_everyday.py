"""Issue: everyday use (shims, scripts, tools, `uv python`), end to end in the simulation."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

from helpers.e2e import nix_calls, uv_bin, uvx, write_project
from helpers.sim import Sim
from helpers.wheels import build_cxx_wheel

WRAPPER = "sim/.build/wrapper-bin/uvx-nix"


def _shim_dir(sim: Sim, base: Path, name: str = "uv") -> Path:
    shims = base / "shims"
    shims.mkdir(exist_ok=True)
    (shims / name).symlink_to(sim.repo / WRAPPER)
    return shims


def test_shim_named_uv_earlier_on_path(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    shims = _shim_dir(sim, project_dir)
    res = sim.run(["uv", "sync"], cwd=project_dir, path_prepend=[shims, uv_bin(sim)])
    assert res.returncode == 0, res.stderr
    res = sim.run(["uv", "run", "python", "-c", "import sys; print(sys.base_prefix)"],
                  cwd=project_dir, path_prepend=[shims, uv_bin(sim)], check=True)
    assert res.stdout.strip().startswith("/nix/store/")
    # `uv --version` through the shim is exactly the real uv's.
    real = sim.run([f"{uv_bin(sim)}/uv", "--version"], cwd=project_dir, check=True)
    shim = sim.run(["uv", "--version"], cwd=project_dir, path_prepend=[shims, uv_bin(sim)],
                   check=True)
    assert shim.stdout == real.stdout


def test_shim_named_uvx_runs_uvx(sim: Sim, project_dir: Path) -> None:
    shims = _shim_dir(sim, project_dir, "uvx")
    real = sim.run([f"{uv_bin(sim)}/uvx", "--help"], cwd=project_dir, check=True)
    res = sim.run(["uvx", "--help"], cwd=project_dir, path_prepend=[shims, uv_bin(sim)],
                  check=True)
    assert res.stdout == real.stdout


def test_alias_loop_is_detected(sim: Sim, project_dir: Path) -> None:
    """A `uv` script that leads back to the wrapper under another name: a clear error."""
    shims = project_dir / "loop"
    shims.mkdir()
    (shims / "wrapped").symlink_to(sim.repo / WRAPPER)
    (shims / "uv").write_text('#!/run/current-system/sw/bin/bash\nexec "${0%/*}/wrapped" "$@"\n')
    (shims / "uv").chmod(0o755)
    res = sim.run(["uv", "--version"], cwd=project_dir, path_prepend=[shims], timeout=60)
    assert res.returncode == 75, res
    assert "call each other in a loop" in res.stderr


def test_shim_without_real_uv_says_so(sim: Sim, project_dir: Path) -> None:
    shims = _shim_dir(sim, project_dir)
    res = sim.run(["uv", "--version"], cwd=project_dir, path_prepend=[shims])
    assert res.returncode == 75
    assert "the real uv was not found on PATH" in res.stderr


def test_pep723_script_in_an_empty_directory(sim: Sim, project_dir: Path,
                                             tmp_path: Path) -> None:
    wheels = project_dir / "wheels"
    wheels.mkdir()
    build_cxx_wheel(wheels)
    work = project_dir / "empty"
    work.mkdir()
    (work / "hello.py").write_text(
        "# /// script\n"
        '# requires-python = ">=3.13"\n'
        '# dependencies = ["uvxnix-cxxdemo"]\n'
        "# ///\n"
        "import sys, uvxnix_cxxdemo\n"
        "print(sys.base_prefix, uvxnix_cxxdemo.hello())\n"
    )
    env = {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels)}

    def run(args: list[str], path_prepend: Sequence[Path] = (),
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        return uvx(sim, args, cwd=work, env=env, binds=[project_dir], check=True,
                   path_prepend=path_prepend, input=input)

    res = run(["run", "hello.py"])
    prefix, message = res.stdout.split(" ", 1)
    assert prefix == sim.pkgs["python313"]
    assert message.strip() == "hello from C++ 42"
    assert not (work / "uvx-nix.lock").exists(), "scripts use the user cache, not the cwd"
    locks = list((sim.home / ".cache" / "uvx-nix" / "scripts").glob("*/uvx-nix.lock"))
    assert len(locks) == 1
    # A second run is a hit: no nix.
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    run(["run", "hello.py"], path_prepend=[rec])
    assert nix_calls(log) == []
    # --script, --with, stdin and add/lock --script work too.
    res = run(["run", "--with", "uvxnix-cxxdemo", "-"],
              input="import uvxnix_cxxdemo; print(uvxnix_cxxdemo.hello())\n")
    assert res.stdout.strip() == "hello from C++ 42"
    (work / "plain.py").write_text("print('plain')\n")
    run(["add", "--script", "plain.py", "uvxnix-cxxdemo"])
    assert "uvxnix-cxxdemo" in (work / "plain.py").read_text()
    run(["lock", "--script", "plain.py"])
    assert (work / "plain.py.lock").exists()
    res = run(["run", "--script", "plain.py"])
    assert res.stdout.strip() == "plain"


def _tool_wheel(directory: Path) -> Path:
    """A tiny pure-Python tool package with a console script `hellotool`."""
    name = "hellotool-1.0-py3-none-any.whl"
    files = {
        "hellotool/__init__.py": "import sys\ndef main():\n    print('hellotool on', "
                                 "sys.base_prefix)\n",
        "hellotool-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hellotool\n"
                                            "Version: 1.0\n",
        "hellotool-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
                                         "Root-Is-Purelib: true\nTag: py3-none-any\n",
        "hellotool-1.0.dist-info/entry_points.txt": "[console_scripts]\n"
                                                    "hellotool = hellotool:main\n",
    }
    path = directory / name
    with zipfile.ZipFile(path, "w") as z:
        for arc, text in files.items():
            z.writestr(arc, text)
        record = "".join(f"{arc},,\n" for arc in files) + "hellotool-1.0.dist-info/RECORD,,\n"
        z.writestr("hellotool-1.0.dist-info/RECORD", record)
    return path


def test_tools_get_a_nixpkgs_interpreter_and_survive_gc(sim: Sim, project_dir: Path) -> None:
    wheels = project_dir / "wheels"
    wheels.mkdir()
    _tool_wheel(wheels)
    env = {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels)}
    res = uvx(sim, ["tool", "run", "hellotool"], cwd=project_dir, env=env, check=True)
    assert res.stdout.startswith("hellotool on /nix/store/")
    res = uvx(sim, ["tool", "install", "hellotool"], cwd=project_dir, env=env, check=True)
    # uv's own hint when the tool bin dir is not on PATH.
    assert "uv tool update-shell" in res.stderr
    assert "is not on your PATH" in res.stderr
    gc = sim.run(["nix-store", "--gc"], cwd=project_dir)
    assert gc.returncode == 0, gc.stderr
    tool = sim.home / ".local" / "bin" / "hellotool"
    res = sim.run([str(tool)], cwd=project_dir, check=True)
    assert res.stdout.startswith("hellotool on /nix/store/")
    res = uvx(sim, ["tool", "run", "hellotool"], cwd=project_dir, env=env, check=True)
    assert res.stdout.startswith("hellotool on /nix/store/")


def test_uv_python_install_realises_nixpkgs_python(sim: Sim, project_dir: Path) -> None:
    res = uvx(sim, ["python", "install", "3.12"], cwd=project_dir, check=True)
    assert "Installed Python 3.12" in res.stderr
    assert "from nixpkgs (python312)" in res.stderr
    res = uvx(sim, ["python", "find", "3.12"], cwd=project_dir, check=True)
    assert res.stdout.strip() == f"{sim.pkgs['python312']}/bin/python3.12"
    listed = uvx(sim, ["python", "list", "--only-installed"], cwd=project_dir, check=True)
    assert sim.pkgs["python312"] in listed.stdout
    assert "download" not in (res.stderr + listed.stderr).lower()
    # Rooted in the user data dir: survives a GC.
    gc = sim.run(["nix-store", "--gc"], cwd=project_dir)
    assert gc.returncode == 0
    assert Path(sim.pkgs["python312"]).exists()
    res = uvx(sim, ["python", "uninstall", "3.12"], cwd=project_dir, check=True)
    assert "Uninstalled python312" in res.stderr
