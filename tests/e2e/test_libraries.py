"""Issue: native libraries for PyPI wheels, end to end inside the NixOS simulation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers.e2e import uvx, write_project
from helpers.sim import Sim
from helpers.wheels import build_cxx_wheel

LOCAL_INDEX = '\n[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n'
CHILD_ENV = (
    "import os, subprocess, sys\n"
    "import uvxnix_cxxdemo\n"
    "print('import:', uvxnix_cxxdemo.hello())\n"
    "env = subprocess.run(['env'], capture_output=True, text=True, check=True).stdout\n"
    "line = [l for l in env.splitlines() if l.startswith('LD_LIBRARY_PATH=')]\n"
    "print('child:', line[0] if line else 'LD_LIBRARY_PATH unset')\n"
    "print('marker:', any(l.startswith('UVX_NIX_') and 'PREFERENCE' not in l\n"
    "                     for l in env.splitlines()))\n"
    "r = subprocess.run([sys.executable, '-c', 'import uvxnix_cxxdemo; print(7)'],\n"
    "                   capture_output=True, text=True)\n"
    "print('grandchild python:', r.returncode, r.stdout.strip(), r.stderr.strip()[-200:])\n"
    "print('git:', subprocess.run(['git', '--version'], capture_output=True).returncode)\n"
)


# The same checks without the Python grandchild.
CHILD_ENV_NO_GRANDCHILD = CHILD_ENV.split("r = subprocess.run([sys.executable", maxsplit=1)[0]


def _cxx_project(project_dir: Path) -> Path:
    wheels = project_dir / "wheels"
    wheels.mkdir()
    build_cxx_wheel(wheels)
    return write_project(project_dir, deps=["uvxnix-cxxdemo"], extra=LOCAL_INDEX)


def test_cxx_wheel_imports_with_default_settings(sim: Sim, project_dir: Path) -> None:
    _cxx_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    # A venv plain uv made with the same interpreter: the NixOS error users hit.
    python = sim.run(["sh", "-c", "readlink -f .venv/bin/python"], cwd=project_dir,
                     check=True).stdout.strip()
    sim.run([f"{sim.pkgs['uv']}/bin/uv", "venv", "--python", python, "plain"],
            cwd=project_dir, check=True)
    sim.run([f"{sim.pkgs['uv']}/bin/uv", "pip", "install", "--python", "plain/bin/python",
             "--no-index", "--find-links", "wheels", "uvxnix-cxxdemo"],
            cwd=project_dir, check=True)
    plain = sim.run(["plain/bin/python", "-c", "import uvxnix_cxxdemo"], cwd=project_dir)
    assert plain.returncode != 0
    assert "libstdc++.so.6: cannot open shared object file" in plain.stderr
    direct = sim.run([".venv/bin/python", "-c", "import uvxnix_cxxdemo as m; print(m.hello())"],
                     cwd=project_dir, check=True)
    assert direct.stdout.strip() == "hello from C++ 42"
    res = uvx(sim, ["run", "python", "-c", "import uvxnix_cxxdemo as m; print(m.hello())"],
              cwd=project_dir, check=True)
    assert res.stdout.strip() == "hello from C++ 42"


@pytest.mark.parametrize("outer", [None, "/outer/lib"])
def test_libraries_do_not_leak_to_children(sim: Sim, project_dir: Path,
                                           outer: str | None) -> None:
    _cxx_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    env = {"LD_LIBRARY_PATH": outer} if outer else {}
    res = uvx(sim, ["run", "python", "-c", CHILD_ENV], cwd=project_dir, env=env, check=True)
    lines = dict(line.split(": ", 1) for line in res.stdout.splitlines())
    assert lines["import"] == "hello from C++ 42"
    expected = f"LD_LIBRARY_PATH={outer}" if outer else "LD_LIBRARY_PATH unset"
    assert lines["child"] == expected, res.stdout
    assert lines["marker"] == "False"
    # A Python child of the venv's Python still gets the libraries (it restarts with them).
    assert lines["grandchild python"].startswith("0 7"), res.stdout
    assert lines["git"] == "0"
    # uv itself, git and a shell keep working under the same environment.
    res = uvx(sim, ["run", "bash", "-c", "git --version >/dev/null && echo shell-ok"],
              cwd=project_dir, check=True)
    assert res.stdout.strip() == "shell-ok"


def test_first_run_that_creates_the_venv_does_not_leak(sim: Sim, project_dir: Path) -> None:
    """No `sync` first: this very call creates `.venv` (no hook in it yet)."""
    _cxx_project(project_dir)
    (project_dir / "mine").mkdir()
    env = {"LD_LIBRARY_PATH": "/outer/lib", "PYTHONPATH": str(project_dir / "mine")}
    code = CHILD_ENV_NO_GRANDCHILD + (
        "pp = [l for l in env.splitlines() if l.startswith('PYTHONPATH=')]\n"
        "print('pythonpath:', pp[0] if pp else 'unset')\n")
    res = uvx(sim, ["run", "python", "-c", code], cwd=project_dir, env=env, check=True)
    assert "Error in sitecustomize" not in res.stderr
    lines = dict(line.split(": ", 1) for line in res.stdout.splitlines())
    assert lines["import"] == "hello from C++ 42"
    assert lines["child"] == "LD_LIBRARY_PATH=/outer/lib", res.stdout
    assert lines["pythonpath"] == f"PYTHONPATH={project_dir / 'mine'}", res.stdout
    assert lines["marker"] == "False"


def test_ephemeral_environments_do_not_leak(sim: Sim, project_dir: Path) -> None:
    """`uv run --with` outside a project: a temporary environment uvx-nix never sees."""
    wheels = project_dir / "wheels"
    wheels.mkdir()
    build_cxx_wheel(wheels)
    work = project_dir / "work"
    work.mkdir()
    env = {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels)}
    res = uvx(sim, ["run", "--with", "uvxnix-cxxdemo", "python", "-c", CHILD_ENV_NO_GRANDCHILD],
              cwd=work,
              env=env, binds=[project_dir], check=True)
    lines = dict(line.split(": ", 1) for line in res.stdout.splitlines())
    assert lines["import"] == "hello from C++ 42"
    assert lines["child"] == "LD_LIBRARY_PATH unset", res.stdout


def test_a_sitecustomize_of_the_interpreter_or_venv_still_runs(sim: Sim,
                                                               project_dir: Path) -> None:
    _cxx_project(project_dir)
    uvx(sim, ["venv"], cwd=project_dir, check=True)
    site = next((project_dir / ".venv" / "lib").glob("python3.*/site-packages"))
    (site / "sitecustomize.py").write_text("import os\nos.environ['MINE_RAN'] = 'yes'\n")
    res = uvx(sim, ["run", "python", "-c", "import os; print(os.environ.get('MINE_RAN'))"],
              cwd=project_dir, check=True)
    assert res.stdout.strip() == "yes"
    assert "Error in sitecustomize" not in res.stderr


def test_numpy_from_pypi_imports(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir, requires=">=3.12", deps=["numpy"])
    res = uvx(sim, ["run", "python", "-c",
                    "import numpy; print(numpy.__version__, numpy.arange(4).sum())"],
              cwd=project_dir, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().endswith(" 6")


def test_automatic_mode_adds_zlib_with_one_notice(sim: Sim, project_dir: Path) -> None:
    from helpers.wheels import build_zlib_wheel

    wheels = project_dir / "wheels"
    wheels.mkdir()
    build_zlib_wheel(wheels)
    write_project(project_dir, deps=["uvxnix-zdemo"], extra=LOCAL_INDEX +
                  '\n[tool.uvx-nix]\ndefault-libraries = ["stdenv.cc.cc.lib"]\n')
    synced = uvx(sim, ["sync"], cwd=project_dir, check=True)
    # The sync that installs the wheel adds what it needs at once.
    notices = [ln for ln in synced.stderr.splitlines() if ln.startswith("Added zlib")]
    assert len(notices) == 1, synced.stderr
    code = "import uvxnix_zdemo; print(uvxnix_zdemo.zlib_version())"
    first = uvx(sim, ["run", "python", "-c", code], cwd=project_dir)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip()[:1].isdigit(), first.stdout
    assert "Added zlib" not in first.stderr
    direct = sim.run(["env", "-i", str(project_dir / ".venv" / "bin" / "python"), "-c", code],
                     cwd=project_dir)
    assert direct.stdout.strip()[:1].isdigit(), direct.stderr
    assert "libz.so.1" in notices[0]
    assert '"zlib"' in (project_dir / "pyproject.toml").read_text()
    assert 'attribute = "zlib"' in (project_dir / "uvx-nix.lock").read_text()
    second = uvx(sim, ["run", "python", "-c", code], cwd=project_dir, check=True)
    assert "Added zlib" not in second.stderr


def test_automatic_mode_can_be_turned_off(sim: Sim, project_dir: Path) -> None:
    from helpers.wheels import build_zlib_wheel

    wheels = project_dir / "wheels"
    wheels.mkdir()
    build_zlib_wheel(wheels)
    write_project(project_dir, deps=["uvxnix-zdemo"], extra=LOCAL_INDEX +
                  '\n[tool.uvx-nix]\ndefault-libraries = ["stdenv.cc.cc.lib"]\n'
                  "auto-libraries = false\n")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    res = uvx(sim, ["run", "python", "-c", "import uvxnix_zdemo"], cwd=project_dir)
    assert res.returncode != 0
    assert "libz.so.1: cannot open shared object file" in res.stderr
    assert "zlib" not in (project_dir / "pyproject.toml").read_text().split("[tool.uvx-nix]")[1]


def test_nix_ld_strategy(sim: Sim, project_dir: Path) -> None:
    import json

    write_project(project_dir, extra='\n[tool.uvx-nix]\nstrategy = "nix-ld"\n')
    res = uvx(sim, ["nix", "env", "--format", "json"], cwd=project_dir)
    assert res.returncode == 70, res
    assert "needs nix-ld" in res.stderr
    env = {"NIX_LD": "/run/current-system/sw/share/nix-ld/lib/ld.so",
           "NIX_LD_LIBRARY_PATH": "/existing/lib"}
    res = uvx(sim, ["nix", "env", "--format", "json"], cwd=project_dir, env=env, check=True)
    delta = json.loads(res.stdout)
    libs = delta["NIX_LD_LIBRARY_PATH"].split(":")
    assert libs[-1] == "/existing/lib"
    assert any(p.endswith("-lib/lib") and "gcc" in p for p in libs), libs
    # uv keeps its own managed Pythons: no search path, no download ban, no LD_LIBRARY_PATH.
    for name in ("UV_PYTHON_SEARCH_PATH", "UV_PYTHON_DOWNLOADS", "LD_LIBRARY_PATH"):
        assert name not in delta, delta


CUDA_STUB = "int cuInit(unsigned int flags) { return (int)flags + 7; }\n"
CUDA_EXT = r"""
#define Py_LIMITED_API 0x030B0000
#include <Python.h>
extern int cuInit(unsigned int flags);
static PyObject *init(PyObject *self, PyObject *args) { return PyLong_FromLong(cuInit(0)); }
static PyMethodDef methods[] = {{"init", init, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "uvxnix_gpudemo", NULL, -1, methods};
PyMODINIT_FUNC PyInit_uvxnix_gpudemo(void) { return PyModule_Create(&mod); }
"""


def _gpu_wheel(wheels: Path, driver: Path) -> None:
    """A wheel whose extension needs libcuda.so.1, which only the GPU driver provides."""
    import subprocess
    import sysconfig

    from helpers.wheels import ABI3_TAG, write_wheel

    driver.mkdir()
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o",
                    str(driver / "libcuda.so.1"), "-x", "c", "-"], input=CUDA_STUB, text=True,
                   check=True)
    ext = wheels / "ext.so"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
                    "-o", str(ext), "-x", "c", "-", f"-L{driver}", "-l:libcuda.so.1"],
                   input=CUDA_EXT, text=True, check=True)
    write_wheel(wheels, "uvxnix-gpudemo", ABI3_TAG,
                {"uvxnix_gpudemo.abi3.so": ext.read_bytes()}, set())
    ext.unlink()


def test_gpu_driver_libraries_join_when_a_wheel_needs_them(sim: Sim, project_dir: Path) -> None:
    wheels = project_dir / "wheels"
    wheels.mkdir()
    driver = project_dir / "driver"
    _gpu_wheel(wheels, driver)
    write_project(project_dir, deps=["uvxnix-gpudemo"], extra=LOCAL_INDEX)
    binds = [(driver, Path("/run/opengl-driver/lib"))]

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return sim.run(["uvx-nix", *args], cwd=project_dir, binds=binds,
                       path_prepend=[f"{sim.pkgs['uv']}/bin"])

    assert run(["sync"]).returncode == 0
    res = run(["run", "python", "-c", "import uvxnix_gpudemo; print(uvxnix_gpudemo.init())"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "7"
    # The venv's Python started directly (an IDE, a kernel) finds the driver too.
    python = str(project_dir / ".venv" / "bin" / "python")
    direct = sim.run(["env", "-i", python, "-c", "import uvxnix_gpudemo as g; print(g.init())"],
                     cwd=project_dir, binds=binds)
    assert direct.stdout.strip() == "7", direct.stderr
    # Without the driver directory on the machine, the import fails as on a GPU-less box,
    # and says where the library comes from.
    plain = sim.run([python, "-c", "import uvxnix_gpudemo"], cwd=project_dir)
    assert "libcuda.so.1: cannot open shared object file" in plain.stderr
    assert "comes with the NVIDIA driver at /run/opengl-driver/lib" in plain.stderr
