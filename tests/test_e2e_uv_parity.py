"""Issue: be uv, exactly: its interpreter choice, its flags and settings, end to end in the
simulation, each observation of the issue checked against plain uv given the same interpreters."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from e2e import uv_bin, uvx, write_project
from helpers.sim import Sim

pytestmark = pytest.mark.sim
PRINT = "import sys; print(sys.base_prefix)"
RUN = ["run", "python", "-c", PRINT]
CONFLICT = "cannot be used with"


def _all_pythons(sim: Sim) -> str:
    """Every interpreter of the look-alike, nixpkgs' default python3 (python312) first."""
    order = ["python312", "python313", "python311", "python310"]
    return ":".join(f"{sim.pkgs[n]}/bin" for n in order)


def _plain_uv(sim: Sim, args: list[str], cwd: Path, env: dict[str, str] | None = None,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
    full = {"UV_PYTHON_SEARCH_PATH": _all_pythons(sim), "UV_PYTHON_DOWNLOADS": "never",
            **(env or {})}
    return sim.run([f"{uv_bin(sim)}/uv", *args], cwd=cwd, env=full, input=input)


# --- Blocker: managed-python settings never become uv's usage error -----------------------

@pytest.mark.parametrize(("env", "flags"), [
    ({"UV_NO_MANAGED_PYTHON": "1"}, []),
    ({"UV_NO_MANAGED_PYTHON": "true"}, []),
    ({}, ["--no-managed-python"]),
    ({"UV_PYTHON_PREFERENCE": "system"}, []),
    ({}, ["--python-preference", "only-system"]),
])
def test_no_managed_python_settings_work(sim: Sim, project_dir: Path, env: dict[str, str],
                                         flags: list[str]) -> None:
    write_project(project_dir)
    res = uvx(sim, [*flags, *RUN], cwd=project_dir, env=env)
    assert CONFLICT not in res.stderr, res.stderr
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sim.pkgs["python312"]
    status = uvx(sim, ["nix", "status"], cwd=project_dir, env=env, check=True)
    assert "hot cache: fresh" in status.stdout, status.stdout


@pytest.mark.parametrize(("env", "flags"), [
    ({"UV_MANAGED_PYTHON": "1"}, []),
    ({}, ["--managed-python"]),
])
def test_managed_python_is_uvs_own_answer(sim: Sim, project_dir: Path, env: dict[str, str],
                                          flags: list[str]) -> None:
    """Only uv-managed Pythons were asked for: uvx-nix does not turn that into a usage error,
    and uv answers exactly as plain uv does with the same interpreters."""
    write_project(project_dir)
    res = uvx(sim, [*flags, *RUN], cwd=project_dir, env=env)
    plain = _plain_uv(sim, [*flags, *RUN], project_dir, env)
    assert CONFLICT not in res.stderr, res.stderr
    assert (res.returncode, res.stdout) == (plain.returncode, plain.stdout), (res, plain)


def test_a_nested_call_may_choose_its_own_preference(sim: Sim, project_dir: Path) -> None:
    """uvx-nix's own UV_PYTHON_PREFERENCE reaches programs uv runs; a uvx-nix call there
    with --no-managed-python must not inherit the conflict."""
    write_project(project_dir)
    inner = "uvx-nix --no-managed-python run python -c 'import sys; print(sys.base_prefix)'"
    res = uvx(sim, ["run", "bash", "-c", inner], cwd=project_dir,
              path_prepend=["/run/current-system/sw/bin"])
    assert CONFLICT not in res.stderr, res.stderr
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sim.pkgs["python312"]


def test_python_preference_in_uv_toml_is_not_overridden(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / "uv.toml").write_text('python-preference = "only-system"\n')
    env = uvx(sim, ["nix", "env", "--format", "json"], cwd=project_dir, check=True)
    assert "UV_PYTHON_PREFERENCE" not in env.stdout
    (project_dir / "uv.toml").unlink()
    env = uvx(sim, ["nix", "env", "--format", "json"], cwd=project_dir, check=True)
    assert '"UV_PYTHON_PREFERENCE": "only-system"' in env.stdout


# --- Blocker: an exact hot cache ----------------------------------------------------------

def test_pyproject_created_after_the_last_run_is_seen(sim: Sim, project_dir: Path) -> None:
    """`init --bare`, then requires-python >=3.13: the next command runs 3.13, and `nix
    status` never calls the old state fresh."""
    uvx(sim, ["init", "--bare", "--name", "demo"], cwd=project_dir, check=True)
    pyproject = project_dir / "pyproject.toml"
    text = pyproject.read_text()
    assert 'requires-python = ">=3.12"' in text, text
    pyproject.write_text(text.replace('">=3.12"', '">=3.13"'))
    status = uvx(sim, ["nix", "status"], cwd=project_dir, check=True)
    assert "hot cache: fresh" not in status.stdout, status.stdout
    res = uvx(sim, RUN, cwd=project_dir, check=True)
    assert res.stdout.strip() == sim.pkgs["python313"]
    status = uvx(sim, ["nix", "status"], cwd=project_dir, check=True)
    assert "hot cache: fresh" in status.stdout, status.stdout


def test_a_project_appearing_invalidates_a_state_built_outside_one(sim: Sim,
                                                                   project_dir: Path) -> None:
    work = project_dir / "sub" / "dir"
    work.mkdir(parents=True)
    binds = [project_dir]  # the parents, not only the working directory
    assert uvx(sim, RUN, cwd=work, binds=binds, check=True).stdout.strip() == \
        sim.pkgs["python312"]
    # A project appears in a parent directory, after the state was built without one.
    write_project(project_dir, requires=">=3.13")
    assert uvx(sim, RUN, cwd=work, binds=binds, check=True).stdout.strip() == \
        sim.pkgs["python313"]
    # And a pin created later, in between, is a preference it honours too.
    (project_dir / "sub" / ".python-version").write_text("3.11\n")
    got = uvx(sim, ["python", "find"], cwd=work, binds=binds, check=True).stdout.strip()
    assert got.startswith(sim.pkgs["python311"]), got


def test_a_workspace_member_added_later_is_seen(sim: Sim, project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    assert uvx(sim, RUN, cwd=project_dir, check=True).stdout.strip() == sim.pkgs["python312"]
    member = project_dir / "packages" / "old"
    member.mkdir(parents=True)
    write_project(member, requires="<3.12")
    (member / "pyproject.toml").write_text(
        (member / "pyproject.toml").read_text().replace('"demo"', '"old"'))
    assert uvx(sim, RUN, cwd=project_dir, check=True).stdout.strip() == sim.pkgs["python311"]


# --- Major: a pin is a preference; requires-python over the workspace; PEP 723 ------------

def _same_as_plain_uv(sim: Sim, args: list[str], cwd: Path, expected: str,
                      input: str | None = None, env: dict[str, str] | None = None) -> None:
    res = uvx(sim, args, cwd=cwd, input=input, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sim.pkgs[expected], res
    for name in ("uv.lock", ".venv"):
        subprocess.run(["rm", "-rf", str(cwd / name)], check=True)
    plain = _plain_uv(sim, args, cwd, env, input=input)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == sim.pkgs[expected], plain


def test_global_pin_outside_requires_python_is_skipped(sim: Sim, project_dir: Path) -> None:
    config = sim.home / ".config" / "uv"
    config.mkdir(parents=True)
    (config / ".python-version").write_text("3.12\n")
    write_project(project_dir, requires=">=3.13")
    _same_as_plain_uv(sim, RUN, project_dir, "python313")


def test_script_requires_python_beats_a_pin_it_excludes(sim: Sim, project_dir: Path) -> None:
    (project_dir / ".python-version").write_text("3.12\n")
    (project_dir / "s.py").write_text('# /// script\n# requires-python = "<3.12"\n'
                                      "# dependencies = []\n# ///\n" + PRINT + "\n")
    _same_as_plain_uv(sim, ["run", "s.py"], project_dir, "python311")


def test_workspace_requires_python_is_the_members_intersection(sim: Sim,
                                                               project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    member = project_dir / "packages" / "a"
    member.mkdir(parents=True)
    (member / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0.1.0"\nrequires-python = "<3.12"\n')
    _same_as_plain_uv(sim, RUN, project_dir, "python311")


def test_pep723_metadata_on_stdin(sim: Sim, project_dir: Path) -> None:
    script = ('# /// script\n# requires-python = "<3.12"\n# dependencies = []\n# ///\n'
              + PRINT + "\n")
    _same_as_plain_uv(sim, ["run", "-"], project_dir, "python311", input=script)
    # Large scripts reach uv whole (the stdin uv reads is the one uvx-nix read).
    big = script + "".join(f"x{i} = {i}\n" for i in range(6000)) + "print('end', x5999)\n"
    res = uvx(sim, ["run", "-"], cwd=project_dir, input=big, check=True)
    assert res.stdout.split() == [sim.pkgs["python311"], "end", "5999"], res.stdout[-200:]
