"""Issue: be uv, exactly: its interpreter choice, its flags and settings, end to end in the
simulation, each observation of the issue checked against plain uv given the same interpreters."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from helpers.e2e import uv_bin, uvx, write_project
from helpers.sim import Sim

PRINT = "import sys; print(sys.base_prefix)"
RUN = ["run", "python", "-c", PRINT]
CONFLICT = "cannot be used with"


def _all_pythons(sim: Sim) -> str:
    """Every interpreter of the look-alike, nixpkgs' default python3 (python312) first."""
    order = ["python312", "python313", "python311", "python310"]
    return ":".join(f"{sim.pkgs[n]}/bin" for n in order)


def _uv_says(stderr: str) -> str:
    """stderr without uvx-nix's closing line after a resolution (uvx-nix's own extra)."""
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if not re.match(r"(Resolved|Fetched) \S+ \d", line))


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


# --- Major: a lock that belongs to the project --------------------------------------------

def _closure(sim: Sim, links: list[Path], cwd: Path) -> set[str]:
    """Every store path kept alive by these GC root links."""
    paths: set[str] = set()
    for link in links:
        res = sim.run(["nix-store", "--query", "--requisites", str(link)], cwd=cwd,
                      binds=[link.parent])
        assert res.returncode == 0, res.stderr
        paths.update(res.stdout.split())
    return paths


def _roots(sim: Sim, project: Path) -> list[Path]:
    """The project's GC roots and those of its one-off requests (in the user cache)."""
    links = list((project / ".uvx-nix" / "gcroots").glob("*"))
    links += list((sim.home / ".cache" / "uvx-nix" / "oneoff").glob("*/*/.uvx-nix/gcroots/*"))
    return [link for link in links if link.is_symlink()]


def _venv_python(venv: Path) -> str:
    home = next(line.split("=", 1)[1].strip() for line in
                (venv / "pyvenv.cfg").read_text().splitlines() if line.startswith("home"))
    return "/".join(home.split("/")[:4])


def test_the_lock_belongs_to_the_project(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    """The same uvx-nix.lock from every member directory, after one-off requests and after a
    failed one; every venv's interpreter stays rooted; a second round starts no Nix."""
    (project_dir / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    for name, pin in (("a", "3.11"), ("b", "3.13")):
        member = project_dir / "packages" / name
        member.mkdir(parents=True)
        (member / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.1.0"\n')
        (member / ".python-version").write_text(pin + "\n")
    a, b = project_dir / "packages" / "a", project_dir / "packages" / "b"
    binds = [project_dir]
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    uvx(sim, ["sync"], cwd=project_dir, binds=binds, path_prepend=[rec], check=True)
    lock = (project_dir / "uvx-nix.lock").read_bytes()
    assert b'python-attribute = "python312"' in lock
    steps: list[tuple[list[str], Path, int]] = [
        (["lock"], a, 0),                                   # reads a's pin (3.11): a one-off
        (RUN, b, 0),                                        # syncs: the root's request
        (["venv", "--clear"], b, 0),                          # reads b's pin (3.13): a one-off
        (["run", "--python", "3.13", "python", "-c", PRINT], project_dir, 0),
        (["venv", "--clear", "--python", "3.11", "other-venv"], project_dir, 0),
        (["run", "-p", "3.9", "python", "-c", PRINT], project_dir, 71),
    ]
    for rounds in range(2):
        before = len(nix_lines(log))
        for args, cwd, code in steps:
            res = uvx(sim, args, cwd=cwd, binds=binds, path_prepend=[rec])
            assert res.returncode == code, (args, res.stderr)
            assert (project_dir / "uvx-nix.lock").read_bytes() == lock, args
        if rounds == 1:  # all cached now; only the failed request asks Nix again (it locks
            # the registry's floating nixpkgs, then builds), and leaves no root behind
            assert len(nix_lines(log)) - before <= 2, nix_lines(log)[before:]
    assert (project_dir / ".venv" / "pyvenv.cfg").exists()
    roots = _roots(sim, project_dir)
    for link in roots:  # a failed request left no root pointing at nothing
        manifest = json.loads((link / "manifest.nix").read_text())
        assert manifest["python"] is not None, link
    kept = _closure(sim, roots, project_dir)
    for venv, attr in ((project_dir / ".venv", "python313"), (b / ".venv", "python313"),
                       (project_dir / "other-venv", "python311")):
        assert _venv_python(venv) == sim.pkgs[attr], venv
        assert sim.pkgs[attr] in kept, (venv, attr)
    assert not list(project_dir.glob("packages/*/uvx-nix.lock"))


def nix_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


def test_a_failed_request_keeps_the_project_root(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    root = project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux"
    target = root.resolve()
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('">=3.11"', '">=3.99"'))
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 71, res.stderr
    assert root.resolve() == target
    assert sim.pkgs["python312"] in _closure(sim, [root], project_dir)


def test_a_venvs_interpreter_stays_rooted_until_uv_replaces_it(sim: Sim,
                                                               project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    (project_dir / ".python-version").write_text("3.13\n")
    uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)  # re-locks; the venv stays
    assert _venv_python(project_dir / ".venv") == sim.pkgs["python312"]
    kept = _closure(sim, [project_dir / ".uvx-nix" / "gcroots" / "x86_64-linux"], project_dir)
    assert {sim.pkgs["python312"], sim.pkgs["python313"]} <= kept


def test_nix_gc_touches_only_this_project(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    one, two = project_dir / "one", project_dir / "two"
    for p in (one, two):
        p.mkdir()
        write_project(p)
        uvx(sim, RUN, cwd=p, check=True)
    uvx(sim, ["run", "--python", "3.13", "python", "-c", PRINT], cwd=one, check=True)
    res = uvx(sim, ["nix", "gc"], cwd=one, check=True)
    assert "Dropped 2 GC root(s)" in res.stderr, res.stderr
    assert not [p for p in (one / ".uvx-nix" / "gcroots").iterdir() if p.is_symlink()]
    assert (two / ".uvx-nix" / "gcroots" / "x86_64-linux").is_symlink()
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    uvx(sim, RUN, cwd=two, path_prepend=[rec], check=True)
    assert nix_lines(log) == [], "the other project's hot state was dropped"
    uvx(sim, RUN, cwd=one, path_prepend=[rec], check=True)
    assert nix_lines(log), "this project's state was kept"


# --- Major: never lose the user's work ----------------------------------------------------

def test_a_venv_on_a_symlinked_store_python_is_kept(sim: Sim, project_dir: Path) -> None:
    """`python3 -m venv .venv` with NixOS's /run/current-system/sw/bin/python3 records a
    home outside the store whose python resolves into it: the venv is the user's, kept."""
    write_project(project_dir)
    sw = project_dir / "sw" / "bin"
    sw.mkdir(parents=True)
    (sw / "python3").symlink_to(f"{sim.pkgs['python312']}/bin/python3")
    venv = project_dir / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sw / "python3")
    (venv / "pyvenv.cfg").write_text(f"home = {sw}\nversion_info = 3.12.1\n")
    (venv / "work.txt").write_text("mine")
    res = uvx(sim, ["lock"], cwd=project_dir)
    assert "moved" not in res.stderr, res.stderr
    assert "removed" not in res.stderr, res.stderr
    assert (venv / "work.txt").read_text() == "mine"
    assert not list(project_dir.glob(".venv.replaced-*"))


GL_EXT = """
#include <Python.h>
extern int glStub(void);
static PyObject *f(PyObject *s, PyObject *a) { return PyLong_FromLong(glStub()); }
static PyMethodDef m[] = {{"f", f, METH_NOARGS, ""}, {0}};
static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "uvxnix_gldemo", 0, -1, m};
PyMODINIT_FUNC PyInit_uvxnix_gldemo(void) { return PyModule_Create(&d); }
"""


def _gl_wheel(wheels: Path, tmp: Path) -> None:
    """A wheel whose extension needs libGL.so.1 (the look-alike nixpkgs has no libGL)."""
    import sysconfig

    from helpers.wheels import ABI3_TAG, write_wheel

    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libGL.so.1", "-o",
                    str(tmp / "libGL.so.1"), "-x", "c", "-"], input="int glStub(void){return 1;}",
                   text=True, check=True)
    ext = tmp / "ext.so"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", "-o",
                    str(ext), "-x", "c", "-", f"-L{tmp}", "-l:libGL.so.1"], input=GL_EXT,
                   text=True, check=True)
    write_wheel(wheels, "uvxnix-gldemo", ABI3_TAG, {"uvxnix_gldemo.abi3.so": ext.read_bytes()},
                set())


def test_auto_libraries_never_write_an_attribute_nixpkgs_lacks(sim: Sim, project_dir: Path,
                                                                tmp_path: Path) -> None:
    wheels = project_dir / "wheels"
    _gl_wheel(wheels, tmp_path)
    write_project(project_dir, deps=["uvxnix-gldemo"],
                  extra='\n[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n')
    before = (project_dir / "pyproject.toml").read_text()
    # The sync that installs the wheel says so (automatic mode checks at once).
    synced = uvx(sim, ["sync"], cwd=project_dir, check=True)
    assert "the locked nixpkgs has no attribute that holds libGL.so.1" in synced.stderr
    res = uvx(sim, ["run", "python", "-c", "import sys"], cwd=project_dir)
    assert res.returncode == 0, res.stderr
    assert (project_dir / "pyproject.toml").read_text() == before
    again = uvx(sim, ["run", "python", "-c", "print(1)"], cwd=project_dir, check=True)
    assert again.stdout.strip() == "1"


def test_a_missing_library_attribute_never_blocks_remove_or_lock(sim: Sim,
                                                                 project_dir: Path) -> None:
    """A configured attribute nixpkgs no longer has stops what needs the libraries, with one
    line naming it, and never `uv remove` (of the package that needed it) or `uv lock`."""
    write_project(project_dir, deps=["six"],
                  extra='\n[tool.uvx-nix]\nlibraries = ["libGL"]\n')
    run = uvx(sim, RUN, cwd=project_dir)
    assert run.returncode == 71, run.stderr
    errors = [ln for ln in run.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1, run.stderr
    assert "nixpkgs has no library attribute 'libGL'" in errors[0]
    locked = uvx(sim, ["lock", "--offline"], cwd=project_dir)
    assert locked.returncode in (0, 1, 2), locked.stderr  # uv's own answer (offline)
    assert "error: uvx-nix" not in locked.stderr, locked.stderr
    removed = uvx(sim, ["remove", "--offline", "six"], cwd=project_dir)
    assert "error: uvx-nix" not in removed.stderr, removed.stderr
    assert removed.returncode == 0, removed.stderr
    assert "six" not in (project_dir / "pyproject.toml").read_text()


# --- Minor parity points --------------------------------------------------------------------

WRAPPER = "sim/.build/wrapper-bin/uvx-nix"


def test_uvx_version_is_uvx_s_own(sim: Sim, project_dir: Path) -> None:
    shims = project_dir / "shims"
    shims.mkdir()
    (shims / "uvx").symlink_to(sim.repo / WRAPPER)
    real = sim.run([f"{uv_bin(sim)}/uvx", "--version"], cwd=project_dir, check=True)
    assert real.stdout.startswith("uvx "), real.stdout
    res = sim.run(["uvx", "--version"], cwd=project_dir, path_prepend=[shims, uv_bin(sim)])
    assert (res.returncode, res.stdout) == (0, real.stdout), res


def test_python_pin_says_what_plain_uv_says(sim: Sim, project_dir: Path) -> None:
    ours, plain_dir = project_dir / "ours", project_dir / "plain"
    for d in (ours, plain_dir):
        d.mkdir()
        write_project(d)
        (d / ".python-version").write_text("3.12\n")  # re-pinning from another pin
    res = uvx(sim, ["python", "pin", "3.13"], cwd=ours)
    plain = _plain_uv(sim, ["python", "pin", "3.13"], plain_dir)
    assert "No interpreter found" not in res.stderr, res.stderr
    assert (res.returncode, res.stdout, _uv_says(res.stderr)) == \
        (plain.returncode, plain.stdout, plain.stderr)
    assert (ours / ".python-version").read_text() == "3.13\n"


def test_global_options_before_nix_apply(sim: Sim, project_dir: Path) -> None:
    proj = project_dir / "proj"
    proj.mkdir()
    write_project(proj)
    status = uvx(sim, ["--directory", "proj", "nix", "status"], cwd=project_dir, check=True)
    assert f"project: {proj}" in status.stdout, status.stdout
    quiet = uvx(sim, ["-q", "--directory", "proj", "nix", "lock"], cwd=project_dir, check=True)
    assert quiet.stderr == "", quiet.stderr
    assert (proj / "uvx-nix.lock").exists()
    loud = uvx(sim, ["--directory", "proj", "nix", "lock"], cwd=project_dir, check=True)
    assert "Locked python312" in loud.stderr


def test_a_broken_pyproject_gets_uvs_own_diagnostic(sim: Sim, project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text("[project\nname = ")
    res = uvx(sim, RUN, cwd=project_dir)
    plain = _plain_uv(sim, RUN, project_dir)
    assert plain.returncode == 2, plain.stderr
    assert (res.returncode, _uv_says(res.stderr)) == (plain.returncode, plain.stderr)


def test_python_install_links_the_executable_as_uv_does(sim: Sim, project_dir: Path) -> None:
    res = uvx(sim, ["python", "install", "3.11"], cwd=project_dir, check=True)
    link = sim.home / ".local" / "bin" / "python3.11"
    assert f"Installed executable at {link}" in res.stderr, res.stderr
    out = sim.run([str(link), "-c", PRINT], cwd=project_dir, check=True)
    assert out.stdout.strip() == sim.pkgs["python311"]
    uvx(sim, ["python", "install", "--no-bin", "3.13"], cwd=project_dir, check=True)
    assert not (sim.home / ".local" / "bin" / "python3.13").exists()
    # Rooted where it was built: the link under pythons/ is what Nix registered.
    roots = sim.run(["nix-store", "--query", "--roots", sim.pkgs["python311"]], cwd=project_dir,
                    check=True)
    assert str(sim.home / ".local" / "share" / "uvx-nix" / "pythons") in roots.stdout
    uvx(sim, ["python", "uninstall", "3.11"], cwd=project_dir, check=True)
    assert not link.exists()


def test_pip_install_system_is_one_clear_line(sim: Sim, project_dir: Path) -> None:
    res = uvx(sim, ["pip", "install", "--system", "six"], cwd=project_dir)
    assert res.returncode == 70, res.stderr
    lines = _uv_says(res.stderr).strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "read-only Nix store" in lines[0]
    assert "uv venv" in lines[0]


def test_an_old_uv_is_one_line_naming_the_minimum(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    old = project_dir / "old-uv"
    old.write_text("#!/run/current-system/sw/bin/bash\necho 'uv 0.10.2 (old)'\n")
    old.chmod(0o755)
    res = uvx(sim, RUN, cwd=project_dir, env={"UVX_NIX_UV": str(old)})
    assert res.returncode == 75, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert "uv 0.10.2" in res.stderr
    assert "0.11.8" in res.stderr
    # A new enough uv is asked once (cached), not on every slow path.
    log = project_dir / "uv.log"
    logged = project_dir / "logged-uv"
    logged.write_text("#!/run/current-system/sw/bin/bash\n"
                      f'[ "$1" = --version ] && echo v >> {log}\n'
                      f'exec {uv_bin(sim)}/uv "$@"\n')
    logged.chmod(0o755)
    env = {"UVX_NIX_UV": str(logged)}
    uvx(sim, RUN, cwd=project_dir, env=env, check=True)
    (project_dir / ".python-version").write_text("3.13\n")  # another slow path
    uvx(sim, RUN, cwd=project_dir, env=env, check=True)
    assert log.read_text() == "v\n"


def test_errors_name_the_variable(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    res = uvx(sim, RUN, cwd=project_dir, env={"UVX_NIX_STRATEGY": "bogus"})
    assert res.returncode == 70
    assert "'strategy' in UVX_NIX_STRATEGY must be one of" in res.stderr, res.stderr
    res = uvx(sim, RUN, cwd=project_dir, env={"UVX_NIX_LIBRARIES": "not valid!"})
    assert "in libraries in UVX_NIX_LIBRARIES" in res.stderr, res.stderr


def test_installed_shims_catch_a_uv_shebang(sim: Sim, project_dir: Path) -> None:
    shims = project_dir / "shims"
    res = uvx(sim, ["nix", "install-shims", "--dir", str(shims)], cwd=project_dir, check=True)
    assert f"Installed uv and uvx in {shims}" in res.stderr
    script = project_dir / "tool.py"
    script.write_text("#!/usr/bin/env -S uv run --script\n"
                      '# /// script\n# requires-python = "<3.12"\n# dependencies = []\n# ///\n'
                      + PRINT + "\n")
    script.chmod(0o755)
    out = sim.run([str(script)], cwd=project_dir, path_prepend=[shims, uv_bin(sim)])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == sim.pkgs["python311"]
    # Refuses to shadow a real uv in the chosen directory.
    clash = uvx(sim, ["nix", "install-shims", "--dir", uv_bin(sim)], cwd=project_dir)
    assert clash.returncode == 70
    assert "is not uvx-nix" in clash.stderr


def _timeless(stderr: str) -> list[str]:
    return [re.sub(r" in [0-9.]+m?s\b", " in T", line) for line in stderr.splitlines()]


def test_the_first_run_says_what_plain_uv_says(sim: Sim, project_dir: Path) -> None:
    """On a project's first `uv run`, uvx-nix has uv make the venv first (to record the
    libraries in it before the program starts); what uv says while doing so still reaches
    you once, as plain uv says it."""
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    res = uvx(sim, RUN, cwd=project_dir)
    assert res.returncode == 0, res.stderr
    ours = _timeless(_uv_says(res.stderr))
    for name in ("uv.lock", ".venv"):
        subprocess.run(["rm", "-rf", str(project_dir / name)], check=True)
    plain = _plain_uv(sim, RUN, project_dir)
    assert plain.returncode == 0, plain.stderr
    assert "Creating virtual environment at: .venv" in plain.stderr
    assert ours == _timeless(plain.stderr)
    assert res.stdout == plain.stdout
