"""Issue 4: `uvx-nix nix doctor` end to end in the NixOS simulation, with real uv, nix, patchelf."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from helpers.e2e import uvx, write_project
from helpers.sim import Sim
from helpers.wheels import build_cxx_wheel, build_elf_script_wheel, build_zlib_wheel

OFFLINE = '[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n'


def _project(project_dir: Path, dep: str, uvx_nix: str = "") -> Path:
    wheels = project_dir / "wheels"
    builder = {"uvxnix-zdemo": build_zlib_wheel, "uvxnix-cxxdemo": build_cxx_wheel,
               "uvxnix-elfdemo": build_elf_script_wheel}[dep]
    builder(wheels)
    extra = OFFLINE + ("\n[tool.uvx-nix]\n" + uvx_nix if uvx_nix else "")
    return write_project(project_dir, deps=[dep], extra=extra)


def test_missing_zlib_is_named_and_fixed(sim: Sim, project_dir: Path) -> None:
    _project(project_dir, "uvxnix-zdemo",
             '# zlib left out on purpose\ndefault-libraries = ["stdenv.cc.cc.lib"]\n'
             "auto-libraries = false\n")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    before = uvx(sim, ["run", "python", "-c", "import uvxnix_zdemo"], cwd=project_dir)
    assert before.returncode != 0, before
    assert "libz.so.1" in before.stderr, before

    res = uvx(sim, ["nix", "doctor"], cwd=project_dir)
    assert res.returncode == 1, res
    line = next(ln for ln in res.stdout.splitlines() if "libz.so.1" in ln)
    assert '"zlib"' in line, res
    assert "uvxnix_zdemo.abi3.so" in line, res
    assert "doctor --fix" in line, res

    report = json.loads(uvx(sim, ["nix", "doctor", "--json"], cwd=project_dir).stdout)
    assert report["ok"] is False
    assert [(m["soname"], m["attribute"]) for m in report["missing"]] == [("libz.so.1", "zlib")]

    fix = uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir)
    assert fix.returncode == 0, fix
    assert "All native libraries resolve" in fix.stdout
    text = (project_dir / "pyproject.toml").read_text()
    assert "# zlib left out on purpose" in text, text
    assert 'libraries = ["zlib"]' in text, text
    assert 'attribute = "zlib"' in (project_dir / "uvx-nix.lock").read_text()
    after = uvx(sim, ["run", "python", "-c", "import uvxnix_zdemo as z; print(z.zlib_version())"],
                cwd=project_dir)
    assert after.returncode == 0, after
    assert after.stdout.strip()[:1].isdigit(), after
    assert uvx(sim, ["nix", "doctor"], cwd=project_dir).returncode == 0


def test_everything_resolves_with_the_default_libraries(sim: Sim, project_dir: Path) -> None:
    _project(project_dir, "uvxnix-cxxdemo")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    res = uvx(sim, ["nix", "doctor"], cwd=project_dir)
    assert res.returncode == 0, res
    assert "All native libraries resolve and every program in bin/ can start" in res.stdout
    assert "problem" not in res.stdout
    report = json.loads(uvx(sim, ["nix", "doctor", "--json"], cwd=project_dir).stdout)
    assert report["ok"] is True
    assert report["missing"] == []
    assert report["scanned"] >= 1


def test_doctor_without_a_venv_says_to_sync(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    res = uvx(sim, ["nix", "doctor"], cwd=project_dir)
    assert res.returncode == 70, res
    assert res.stderr.count("\n") == 1, res.stderr
    assert "uvx-nix sync" in res.stderr, res.stderr


def _elf_project(sim: Sim, project_dir: Path) -> Path:
    # Automatic mode off: here `nix doctor --fix` makes the program runnable.
    _project(project_dir, "uvxnix-elfdemo", "auto-libraries = false\n")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    return project_dir / ".venv" / "bin" / "elfdemo"


def _original_program(project_dir: Path) -> bytes:
    wheel = next((project_dir / "wheels").glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        return z.read("uvxnix_elfdemo-1.0.data/scripts/elfdemo")


def test_program_that_cannot_start_is_patched_without_touching_uv_cache(
        sim: Sim, project_dir: Path) -> None:
    program = _elf_project(sim, project_dir)
    broken = sim.run([str(program)], cwd=project_dir)
    assert broken.returncode == 127, broken
    assert "stub-ld" in broken.stderr, broken

    res = uvx(sim, ["nix", "doctor"], cwd=project_dir)
    assert res.returncode == 1, res
    line = next(ln for ln in res.stdout.splitlines() if "bin/elfdemo" in ln)
    assert "cannot start" in line
    assert "/lib64/ld-linux-x86-64.so.2" in line
    assert "doctor --fix" in line

    fix = uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir)
    assert fix.returncode == 0, fix
    ran = sim.run([str(program)], cwd=project_dir)
    assert ran.returncode == 0, ran
    assert "hello from a generic-Linux ELF program" in ran.stdout, ran
    records = list((sim.home / ".cache" / "uvx-nix" / "patched").glob("*.json"))
    assert len(records) == 1, "the record lives in the user cache, not in the project"
    assert not (project_dir / ".uvx-nix" / "patched.json").exists()
    recorded = json.loads(records[0].read_text())
    assert list(recorded["files"]) == ["bin/elfdemo"]
    # uv installed the program from its cache (by hardlink): the cache keeps the original.
    original = _original_program(project_dir)
    cached = [p for p in sim.home.rglob("elfdemo") if p.is_file()]
    assert cached, "uv's cache should hold the program"
    assert all(p.read_bytes() == original for p in cached)
    assert uvx(sim, ["nix", "doctor"], cwd=project_dir).returncode == 0


def test_automatic_mode_makes_the_program_runnable_on_sync(sim: Sim,
                                                          project_dir: Path) -> None:
    _project(project_dir, "uvxnix-elfdemo")
    res = uvx(sim, ["sync"], cwd=project_dir, check=True)
    assert "Made 1 program(s) runnable on NixOS (elfdemo)" in res.stderr, res.stderr
    program = project_dir / ".venv" / "bin" / "elfdemo"
    ran = sim.run(["env", "-i", str(program)], cwd=project_dir)
    assert "hello from a generic-Linux ELF program" in ran.stdout, ran
    original = _original_program(project_dir)
    cached = [p for p in sim.home.rglob("elfdemo") if p.is_file()]
    assert cached, "uv's cache should hold the program"
    assert all(p.read_bytes() == original for p in cached)
    uvx(sim, ["sync", "--reinstall-package", "uvxnix-elfdemo"], cwd=project_dir, check=True)
    ran = sim.run(["env", "-i", str(program)], cwd=project_dir)
    assert "hello from a generic-Linux ELF program" in ran.stdout, ran
    assert uvx(sim, ["nix", "doctor"], cwd=project_dir).returncode == 0


def test_patched_program_survives_reinstall(sim: Sim, project_dir: Path) -> None:
    program = _elf_project(sim, project_dir)
    uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir, check=True)
    uvx(sim, ["sync", "--reinstall-package", "uvxnix-elfdemo"], cwd=project_dir, check=True)
    ran = sim.run([str(program)], cwd=project_dir)
    assert ran.returncode == 0, ran
    assert "hello from a generic-Linux ELF program" in ran.stdout, ran


def test_after_uv_hook_repatches_what_uv_reinstalled(sim: Sim, project_dir: Path) -> None:
    """What the wrapper does after `uv sync`: the hook alone restores the patch (here uv is
    run directly, without the wrapper, so the original program comes back)."""
    program = _elf_project(sim, project_dir)
    uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir, check=True)
    sim.run([f"{sim.pkgs['uv']}/bin/uv", "sync", "--reinstall-package", "uvxnix-elfdemo"],
            cwd=project_dir, env={"UV_PYTHON_DOWNLOADS": "never"}, check=True)
    assert program.read_bytes() == _original_program(project_dir)  # uv put the original back
    hook = ("import sys; from pathlib import Path; from uvx_nix.prepare import programs; "
            "programs.after_uv(Path(sys.argv[1]), Path(sys.argv[2]))")
    python = str(sim.repo / "sim" / ".build" / "wrapper-venv" / "bin" / "python")
    res = sim.run([python, "-c", hook, str(project_dir / ".venv"), str(project_dir)],
                  cwd=project_dir, check=True)
    assert "Re-patched 1 program" in res.stderr, res
    ran = sim.run([str(program)], cwd=project_dir)
    assert ran.returncode == 0, ran
    assert "hello from a generic-Linux ELF program" in ran.stdout, ran
    # A second call finds nothing to do (one stat per recorded file).
    again = sim.run([python, "-c", hook, str(project_dir / ".venv"), str(project_dir)],
                    cwd=project_dir, check=True)
    assert again.stderr == "", again
