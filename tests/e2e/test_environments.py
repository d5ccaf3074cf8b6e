"""The environment works however Python is started, end to end inside the NixOS simulation.

The native libraries travel with each environment (its ``_uvx_nix_scope.pth``), not with the
call: ``env -i``, an activated shell, a console script, a Jupyter-style kernel spec and tools
on PATH all load the C++ and zlib probes, while programs that are not the environment's
Pythons see exactly the caller's ``LD_LIBRARY_PATH`` and ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from helpers.e2e import uvx, write_project
from helpers.sim import Sim
from helpers.wheels import build_cli_wheel, build_cxx_wheel, build_zlib_wheel

LOCAL_INDEX = '\n[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n'
PROBE = ("import uvxnix_cxxdemo, uvxnix_zdemo; "
         "print(uvxnix_cxxdemo.hello(), uvxnix_zdemo.zlib_version()[:1].isdigit())")
EXPECTED = "hello from C++ 42 True"
SHOW = 'echo "LD=${LD_LIBRARY_PATH-unset} PP=${PYTHONPATH-unset}"'


def _wheels(directory: Path) -> Path:
    wheels = directory / "wheels"
    wheels.mkdir(exist_ok=True)
    build_cxx_wheel(wheels)
    build_zlib_wheel(wheels)
    build_cli_wheel(wheels)
    return wheels


def _project(project_dir: Path) -> Path:
    _wheels(project_dir)
    return write_project(project_dir, deps=["uvxnix-cxxdemo", "uvxnix-zdemo",
                                            "uvxnix-probecli"], extra=LOCAL_INDEX)


def _bare(sim: Sim, args: list[str], cwd: Path) -> str:
    """Run ``args`` with an empty environment (`env -i`), as an IDE or a desktop launcher
    starts a program; returns stdout, failing with stderr."""
    res = sim.run(["env", "-i", *args], cwd=cwd)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip()


def test_a_synced_venv_works_however_its_python_starts(sim: Sim, project_dir: Path) -> None:
    _project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    python = str(project_dir / ".venv" / "bin" / "python")
    assert _bare(sim, [python, "-c", PROBE], project_dir) == EXPECTED
    # An activated venv (bash sources activate; `python` is the venv's).
    activated = sim.run(["bash", "-c", f"source .venv/bin/activate && python -c '{PROBE}'"],
                        cwd=project_dir)
    assert activated.stdout.strip() == EXPECTED, activated.stderr
    # A console script in .venv/bin (its shebang names the venv's python).
    assert _bare(sim, [str(project_dir / ".venv" / "bin" / "probe-cli")], project_dir) == \
        "console script: hello from C++ 42"
    # A Jupyter-style kernel spec, started by a launcher with an empty environment.
    spec = project_dir / "kernel.json"
    spec.write_text(json.dumps({"argv": [python, "-c", PROBE], "env": {}}))
    launcher = ("import json, subprocess, sys; s = json.load(open(sys.argv[1])); "
                "sys.exit(subprocess.run(s['argv'], env=s['env']).returncode)")
    assert _bare(sim, [python, "-I", "-c", launcher, str(spec)], project_dir) == EXPECTED
    # What plain uv gives: the same venv without uvx-nix's .pth fails as users see it.
    pth = next((project_dir / ".venv" / "lib").glob("python3.*/site-packages/"
                                                     "_uvx_nix_scope.pth"))
    pth.rename(pth.with_suffix(".off"))
    res = sim.run(["env", "-i", python, "-c", PROBE], cwd=project_dir)
    assert "libstdc++.so.6: cannot open shared object file" in res.stderr


def test_uv_project_environment_and_uv_venv_plus_pip_install(sim: Sim,
                                                             project_dir: Path) -> None:
    _project(project_dir)
    env = {"UV_PROJECT_ENVIRONMENT": "custom-env"}
    uvx(sim, ["sync"], cwd=project_dir, env=env, check=True)
    assert _bare(sim, [str(project_dir / "custom-env" / "bin" / "python"), "-c", PROBE],
                 project_dir) == EXPECTED
    loose = project_dir / "loose"
    loose.mkdir()
    uvx(sim, ["venv", "plain-venv"], cwd=loose, check=True)
    wheels = str(project_dir / "wheels")
    uvx(sim, ["pip", "install", "--no-index", "--find-links", wheels, "uvxnix-cxxdemo",
              "uvxnix-zdemo"], cwd=loose, env={"VIRTUAL_ENV": str(loose / "plain-venv")},
        binds=[project_dir], check=True)
    assert _bare(sim, [str(loose / "plain-venv" / "bin" / "python"), "-c", PROBE],
                 loose) == EXPECTED


@pytest.mark.parametrize("mine", [{}, {"LD_LIBRARY_PATH": "/outer/lib",
                                       "PYTHONPATH": "/outer/py"}])
def test_children_see_the_callers_variables_unchanged(sim: Sim, project_dir: Path,
                                                      mine: dict[str, str]) -> None:
    _project(project_dir)
    expected = (f"LD={mine.get('LD_LIBRARY_PATH', 'unset')} "
                f"PP={mine.get('PYTHONPATH', 'unset')}")
    # The first run creates .venv in this very call.
    first = uvx(sim, ["run", "sh", "-c", SHOW], cwd=project_dir, env=mine, check=True)
    assert first.stdout.strip() == expected
    res = uvx(sim, ["run", "env"], cwd=project_dir, env=mine, check=True)
    lines = res.stdout.splitlines()
    for name in ("LD_LIBRARY_PATH", "PYTHONPATH"):
        assert [ln for ln in lines if ln.startswith(f"{name}=")] == \
            ([f"{name}={mine[name]}"] if name in mine else [])
    assert not [ln for ln in lines if ln.startswith("UVX_NIX_") and "PREFERENCE" not in ln]
    code = (PROBE + "; import subprocess; "
            f"subprocess.run(['sh', '-c', '{SHOW}']); "
            "subprocess.run([__import__('sys').executable, '-c', '" +
            PROBE.replace("'", '"') + "'])")
    res = uvx(sim, ["run", "python", "-u", "-c", code], cwd=project_dir, env=mine, check=True)
    assert res.stdout.splitlines() == [EXPECTED, expected, EXPECTED]


def test_a_load_outside_the_locked_set_names_the_attribute_and_the_fix(
        sim: Sim, project_dir: Path) -> None:
    _project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    python = str(project_dir / ".venv" / "bin" / "python")
    res = sim.run(["env", "-i", python, "-c", "import ctypes; ctypes.CDLL('libsnappy.so.1')"],
                  cwd=project_dir)
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("OSError: libsnappy.so.1: cannot open shared object file"), last
    assert "nixpkgs' \"snappy\" provides it" in last
    assert "uvx-nix nix doctor --fix" in last
    # ctypes finds the locked libraries by name, and find_library names them by path.
    code = ("import ctypes, ctypes.util; print(ctypes.CDLL('libz.so.1').zlibVersion() != 0, "
            "ctypes.util.find_library('z'))")
    out = _bare(sim, [python, "-c", code], project_dir)
    assert out.startswith("True /nix/store/"), out
    assert out.endswith("/lib/libz.so.1"), out


def test_tools_run_from_path(sim: Sim, project_dir: Path) -> None:
    """ruff from PyPI (an ELF program) through `uvx-nix tool run` and `tool install`, and a
    tool whose dependency has native code, from PATH with an empty environment."""
    work = project_dir / "work"
    work.mkdir()
    res = uvx(sim, ["tool", "run", "ruff", "--version"], cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("ruff ")
    again = uvx(sim, ["tool", "run", "ruff", "--version"], cwd=work, check=True)
    assert again.stdout == res.stdout
    assert "made" not in again.stderr  # prepared once
    uvx(sim, ["tool", "install", "ruff"], cwd=work, check=True)
    local_bin = sim.home / ".local" / "bin"
    assert _bare(sim, [str(local_bin / "ruff"), "--version"], work) == res.stdout.strip()
    uvx(sim, ["tool", "upgrade", "ruff"], cwd=work, check=True)
    uvx(sim, ["tool", "install", "--reinstall", "ruff"], cwd=work, check=True)
    assert _bare(sim, [str(local_bin / "ruff"), "--version"], work) == res.stdout.strip()
    wheels = _wheels(project_dir)
    uvx(sim, ["tool", "install", "--no-index", "--find-links", str(wheels),
              "uvxnix-probecli"], cwd=work, binds=[project_dir], check=True)
    assert _bare(sim, [str(local_bin / "probe-cli")], work) == \
        "console script: hello from C++ 42"
    res = uvx(sim, ["tool", "run", "--no-index", "--find-links", str(wheels), "--from",
                    "uvxnix-probecli", "probe-cli"], cwd=work, binds=[project_dir], check=True)
    assert res.stdout.strip() == "console script: hello from C++ 42"


def test_a_dev_dependency_program_runs(sim: Sim, project_dir: Path) -> None:
    """`uvx-nix add --dev ruff; uvx-nix run ruff` (ruff from PyPI), and from .venv/bin."""
    write_project(project_dir)
    uvx(sim, ["add", "--dev", "ruff"], cwd=project_dir, check=True)
    res = uvx(sim, ["run", "ruff", "--version"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("ruff ")
    assert _bare(sim, [str(project_dir / ".venv" / "bin" / "ruff"), "--version"],
                 project_dir) == res.stdout.strip()


def test_a_program_uv_run_installs_itself_runs_at_once(sim: Sim, project_dir: Path) -> None:
    """pyproject.toml edited by hand: `uv run`'s own sync installs ruff in that very call."""
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    write_project(project_dir, deps=["ruff"])
    res = uvx(sim, ["run", "ruff", "--version"], cwd=project_dir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("ruff ")


def test_doctor_judges_a_plain_launch_and_fixes_it(sim: Sim, project_dir: Path) -> None:
    _project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    assert uvx(sim, ["nix", "doctor"], cwd=project_dir).returncode == 0
    # A venv without the record (as plain uv leaves one): the direct start fails, and
    # doctor says so even though the lock has every library.
    site = next((project_dir / ".venv" / "lib").glob("python3.*/site-packages"))
    (site / "_uvx_nix_scope.pth").unlink()
    python = str(project_dir / ".venv" / "bin" / "python")
    assert sim.run(["env", "-i", python, "-c", PROBE], cwd=project_dir).returncode == 1
    res = uvx(sim, ["nix", "doctor"], cwd=project_dir)
    assert res.returncode == 1, res.stdout
    assert "does not carry the locked native libraries" in res.stdout
    assert "libstdc++.so.6 not found" in res.stdout
    report = json.loads(uvx(sim, ["nix", "doctor", "--json"], cwd=project_dir).stdout)
    assert report["libraries_recorded"] is False
    fix = uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert _bare(sim, [python, "-c", PROBE], project_dir) == EXPECTED
    # A ctypes load that failed at run time is a problem doctor names, with its attribute.
    sim.run(["env", "-i", python, "-c", "import ctypes; ctypes.CDLL('libsnappy.so.1')"],
            cwd=project_dir)
    report = json.loads(uvx(sim, ["nix", "doctor", "--json"], cwd=project_dir).stdout)
    assert [(m["soname"], m["attribute"]) for m in report["missing"]] == \
        [("libsnappy.so.1", "snappy")]
    # Any environment: --venv PATH from anywhere, and --tools; errors are JSON too.
    elsewhere = Path(tempfile.mkdtemp(prefix="elsewhere-", dir=project_dir.parent))
    res = uvx(sim, ["nix", "doctor", "--json", "--venv", str(project_dir / ".venv")],
              cwd=elsewhere, binds=[project_dir])
    assert json.loads(res.stdout).get("venv") == str(project_dir / ".venv"), res.stdout
    res = uvx(sim, ["nix", "doctor"], cwd=elsewhere)
    assert res.returncode == 70
    assert "no project here" in res.stderr
    assert "--venv PATH" in res.stderr
    res = uvx(sim, ["nix", "doctor", "--json", "--tools"], cwd=elsewhere)
    assert res.returncode == 70
    assert "no `uv tool` environments" in json.loads(res.stdout)["error"]
    uvx(sim, ["tool", "install", "ruff"], cwd=elsewhere, check=True)
    res = uvx(sim, ["nix", "doctor", "--json", "--tools"], cwd=elsewhere)
    assert res.returncode == 0, res.stdout
    assert [r["ok"] for r in json.loads(res.stdout)] == [True]


def test_automatic_mode_heals_a_load_that_failed_at_run_time(sim: Sim,
                                                             project_dir: Path) -> None:
    """A library of the project (not in the venv, so no scan sees it) needs libz.so.1, which
    the locked set lacks: the failure names zlib, and the next uvx-nix call adds it."""
    from helpers.wheels import _compile

    write_project(project_dir, extra='\n[tool.uvx-nix]\ndefault-libraries = '
                                     '["stdenv.cc.cc.lib"]\n')
    lib = project_dir / "libneedsz.so"
    lib.write_bytes(_compile("gcc", "extern const char *zlibVersion(void);\n"
                             "const char *v(void) { return zlibVersion(); }\n", ".c",
                             ["-l:libz.so.1"], shared=True))
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    python = str(project_dir / ".venv" / "bin" / "python")
    code = (f"import ctypes; f = ctypes.CDLL('{lib}').v; f.restype = ctypes.c_char_p; "
            "print(f().decode()[:1].isdigit())")
    first = sim.run(["env", "-i", python, "-c", code], cwd=project_dir)
    assert first.returncode == 1
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("OSError: libz.so.1: cannot open shared object file"), last
    assert "nixpkgs' \"zlib\" provides it; uvx-nix adds it" in last
    res = uvx(sim, ["run", "python", "-c", "pass"], cwd=project_dir, check=True)
    assert "Added zlib to [tool.uvx-nix] libraries" in res.stderr, res.stderr
    assert "libz.so.1" in res.stderr
    assert _bare(sim, [python, "-c", code], project_dir) == "True"
    again = uvx(sim, ["run", "python", "-c", "pass"], cwd=project_dir, check=True)
    assert "added" not in again.stderr


def test_script_and_with_environments_import_on_the_first_run(sim: Sim,
                                                              project_dir: Path) -> None:
    """A PEP 723 script and `uv run --with` outside a project: environments uv makes in the
    call itself; they carry the libraries from the first run on."""
    wheels = _wheels(project_dir)
    work = Path(tempfile.mkdtemp(prefix="scripts-", dir=project_dir.parent))
    (work / "s.py").write_text('# /// script\n# requires-python = ">=3.11"\n'
                               '# dependencies = ["uvxnix-cxxdemo"]\n# ///\n'
                               "import uvxnix_cxxdemo\nprint(uvxnix_cxxdemo.hello())\n")
    env = {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels)}
    for _ in range(2):
        res = uvx(sim, ["run", "s.py"], cwd=work, env=env, binds=[project_dir], check=True)
        assert res.stdout.strip() == "hello from C++ 42"
        res = uvx(sim, ["run", "--with", "uvxnix-cxxdemo", "python", "-c",
                        "import uvxnix_cxxdemo as m; print(m.hello())"],
                  cwd=work, env=env, binds=[project_dir], check=True)
        assert res.stdout.strip() == "hello from C++ 42"


def test_a_venv_uv_recreates_for_another_python_imports_on_that_run(
        sim: Sim, project_dir: Path) -> None:
    _project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    (project_dir / ".python-version").write_text("3.13\n")
    res = uvx(sim, ["run", "python", "-c", "import sys; " + PROBE + "; print(sys.version[:4])"],
              cwd=project_dir, check=True)
    assert res.stdout.split() == [*EXPECTED.split(), "3.13"], res.stderr
