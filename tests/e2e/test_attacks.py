"""Attacks by a cloned repository, each run end to end in the simulation (SECURITY.md's table).

The repository is the attacker: it controls every file in the project directory, including a
committed `uvx-nix.lock` it made on its own machine. The user only runs ordinary commands.
Where an attack would run code, its Nix expression creates a store file named by a fresh token
(`builtins.toFile`): that file existing is the proof the code ran.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from helpers.e2e import uv_bin, uvx, write_project
from helpers.sim import Sim


def _token() -> str:
    return uuid.uuid4().hex[:16]


def _ran(token: str) -> bool:
    """The attacker's Nix code was evaluated: the store file it creates exists."""
    return bool(glob.glob(f"/nix/store/*-uvxnix-pwned-{token}"))


def _evil_nixpkgs(sim: Sim, directory: Path, token: str) -> None:
    """A nixpkgs look-alike in the repository: it behaves like the real one (so a re-check of
    the lock passes), and leaves a marker in the store when evaluated."""
    directory.mkdir(exist_ok=True)
    (directory / "default.nix").write_text(
        f'args: builtins.seq (builtins.toFile "uvxnix-pwned-{token}" "ran")\n'
        f'  (import {sim.nixpkgs_dir} args)\n')


def _attackers_lock(sim: Sim, project: Path, elsewhere: Path, nixpkgs_table: str,
                    env: dict[str, str] | None = None) -> None:
    """A lock as the attacker commits it: written by a real uvx-nix on the attacker's machine
    (another HOME, permission given), then its [nixpkgs] table replaced."""
    home = sim.home
    sim.reset_home(elsewhere)
    uvx(sim, ["nix", "lock"], cwd=project, env={**(env or {}), "UVX_NIX_TRUST": "1"},
        check=True)
    sim.reset_home(home)
    lock = project / "uvx-nix.lock"
    text = lock.read_text()
    start = text.index("[nixpkgs]")
    end = text.index("[systems", start)
    lock.write_text(text[:start] + "[nixpkgs]\n" + nixpkgs_table + "\n" + text[end:])
    for name in (".uvx-nix", ".venv"):
        path = project / name
        if path.exists():
            shutil.rmtree(path)


EVIL_PATH = 'kind = "path"\nurl = "/proc/self/cwd/evil"\n'


def test_f1_allow_approves_exactly_the_source_shown(sim: Sim, project_dir: Path,
                                                    tmp_path: Path) -> None:
    """F1: pyproject.toml names a source the user reviews; the committed lock claims that
    source in [inputs] but pins another one. The message must name what would be evaluated,
    and allowing the reviewed source must not allow the lock's."""
    reviewed = f"path:{sim.nixpkgs_dir}"
    write_project(project_dir, extra=f'\n[tool.uvx-nix]\nnixpkgs = "{reviewed}"\n')
    token = _token()
    _evil_nixpkgs(sim, project_dir / "evil", token)
    _attackers_lock(sim, project_dir, tmp_path / "attacker", EVIL_PATH)

    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert "'/proc/self/cwd/evil'" in res.stderr  # what would run, not only what was reviewed
    assert len(res.stderr.splitlines()) == 1
    # The user allows the source they reviewed, by name: that is all they approve.
    res = uvx(sim, ["nix", "allow", reviewed], cwd=project_dir)
    assert res.returncode == 0, res
    assert res.stderr.splitlines() == [
        f"Allowed nixpkgs source '{reviewed}' for {project_dir}"]
    for args in (["sync"], ["run", "python", "-c", "pass"], ["nix", "lock"], ["nix", "env"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 76, (args, res)
        assert "'/proc/self/cwd/evil'" in res.stderr
    assert not _ran(token)
    assert not (project_dir / ".venv").exists()
    # `allow` alone approves exactly the one source the message named, and says so once.
    res = uvx(sim, ["nix", "allow"], cwd=project_dir)
    assert res.returncode == 0, res
    assert res.stderr.splitlines() == [
        f"Allowed nixpkgs source '/proc/self/cwd/evil' (pinned by {project_dir}/uvx-nix.lock) "
        f"for {project_dir}"]


def test_f2_deny_and_trust_leave_no_lasting_permission(sim: Sim, project_dir: Path,
                                                       tmp_path: Path) -> None:
    """F2: a lock that once passed its check (allowed, or in a UVX_NIX_TRUST=1 run) is not a
    permission: after the trusted run and after `deny`, the next call asks again, also after
    the inputs change (a `git pull`), and the repository's code is not evaluated."""
    write_project(project_dir)  # the user's own nixpkgs (the registry's)
    first = _token()
    _evil_nixpkgs(sim, project_dir / "evil", first)
    _attackers_lock(sim, project_dir, tmp_path / "attacker", EVIL_PATH)
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert not _ran(first)

    # One CI-style run: trusted for that run only.
    uvx(sim, ["sync"], cwd=project_dir, env={"UVX_NIX_TRUST": "1"}, check=True)
    assert _ran(first)
    for args in (["sync"], ["run", "python", "-c", "pass"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 76, (args, res)

    # allow, then deny: deny takes back everything allow gave.
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    res = uvx(sim, ["nix", "deny"], cwd=project_dir, check=True)
    assert "Revoked nixpkgs source '/proc/self/cwd/evil'" in res.stderr
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res

    # A `git pull` changes the inputs and the repository's Nix code: still not evaluated.
    second = _token()
    _evil_nixpkgs(sim, project_dir / "evil", second)
    write_project(project_dir, extra='\n[tool.uvx-nix]\nlibraries = ["openssl"]\n')
    for args in (["sync"], ["nix", "lock"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 76, (args, res)
    assert not _ran(second)
    assert re.search(r"uvx-nix nix allow", res.stderr)


def _bounded(sim: Sim, project: Path, args: list[str], seconds: int = 30,
             env: dict[str, str] | None = None,
             binds: Sequence[Path] = ()) -> subprocess.CompletedProcess[str]:
    """uvx-nix ARGS with 3 GB of address space and a time limit: an unbounded read ends in
    MemoryError (77) or a kill, a blocking one in timeout's 124."""
    inner = f"ulimit -v 3000000; exec timeout {seconds} uvx-nix {shlex.join(args)}"
    return sim.run(["bash", "-c", inner], cwd=project, env=env, path_prepend=[uv_bin(sim)],
                   binds=binds)


def _synced(sim: Sim, project: Path) -> Path:
    """A synced project; returns its site-packages."""
    write_project(project)
    uvx(sim, ["sync"], cwd=project, check=True)
    (site,) = (project / ".venv" / "lib").glob("python3*/site-packages")
    return site


@pytest.mark.parametrize(("name", "code"), [
    ("uvx-nix.lock", 74), ("flake.lock", 70), (".venv/pyvenv.cfg", 70),
    (".python-version", 70), ("pyproject.toml", 70)])
@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "big"])
def test_f3_reads_are_bounded(sim: Sim, project_dir: Path, name: str, code: int,
                              target: str) -> None:
    """F3: a repository file committed as a link to /dev/zero, a FIFO, or a huge file: every
    command stops at once with one line naming the file (no memory growth, no hang)."""
    _synced(sim, project_dir)
    if target == "fifo":
        os.mkfifo(project_dir / "fifo")
    elif target == "big":
        with open(project_dir / "big", "wb") as f:
            f.truncate(1 << 30)  # 1 GiB, sparse
    path = project_dir / name
    path.unlink(missing_ok=True)
    path.symlink_to(target if target.startswith("/") else project_dir / target)
    commands = [["nix", "status"], ["sync"], ["run", "python", "-c", "pass"]]
    if name == ".venv/pyvenv.cfg":
        commands = [["nix", "env"], ["python", "find"]]
        (project_dir / "uvx-nix.lock").unlink()  # the slow path, which looks at the venv
    for args in commands:
        res = _bounded(sim, project_dir, args)
        if name == ".venv/pyvenv.cfg" and args == ["nix", "env"]:
            assert res.returncode == 0, (args, res)  # only the venv's hook looks there
            continue
        assert res.returncode == code, (args, res)
        lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error: uvx-nix:")]
        assert len(lines) == 1, res.stderr
        assert name.rsplit("/", 1)[-1] in lines[0]
        assert re.search("is not a regular file|is larger than|leads outside", lines[0])


@pytest.mark.parametrize("entry", ["/proc/self/fd/1", "/dev/tty", "fifo", "outside"])
def test_f6_a_record_cannot_block_or_reach_outside_the_venv(sim: Sim, project_dir: Path,
                                                            entry: str) -> None:
    """F6: a committed dist-info RECORD naming stdout, the terminal, a FIFO, or a file outside
    the venv: the automatic-library scan neither blocks on it nor reads it."""
    site = _synced(sim, project_dir)
    binds: list[Path] = []
    if entry == "fifo":
        os.mkfifo(project_dir / "fifo")
        entry = str(project_dir / "fifo")
    elif entry == "outside":  # an ELF file of the user's, which needs libssl
        outside = project_dir.parent / f"{project_dir.name}-lib.so"
        _elf_needing(outside, "libssl.so.3", project_dir.parent / f"{project_dir.name}-build")
        entry = str(outside)
        binds.append(outside)
    dist = site / "evil-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (dist / "RECORD").write_text(f"{entry},,\nevil-1.0.dist-info/RECORD,,\n")
    before = (project_dir / "pyproject.toml").read_text()
    res = _bounded(sim, project_dir, ["run", "python", "-c", "print('ran')"], seconds=60,
                   binds=binds)
    assert res.returncode == 0, res
    assert res.stdout == "ran\n"
    assert (project_dir / "pyproject.toml").read_text() == before  # nothing was scanned


def test_f3_a_planted_hook_file_cannot_block(sim: Sim, project_dir: Path) -> None:
    """F3, a variant: the venv's `_uvx_nix_scope.py` (which uvx-nix compares before writing)
    committed as a FIFO or a link to /dev/zero: `uv run` neither blocks nor grows."""
    site = _synced(sim, project_dir)
    hook = site / "_uvx_nix_scope.py"
    hook.unlink(missing_ok=True)
    os.mkfifo(hook)
    (site / "_uvx_nix_scope.pth").unlink(missing_ok=True)
    (site / "_uvx_nix_scope.pth").symlink_to("/dev/zero")
    (site / "touched").mkdir()  # the venv changed: the hook is checked again
    res = _bounded(sim, project_dir, ["run", "python", "-c", "print('ran')"])
    assert res.returncode == 0, res
    assert res.stdout == "ran\n"
    assert hook.is_file()
    assert not (site / "_uvx_nix_scope.pth").is_symlink()


def test_f3_direnv_is_bounded_too(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    """F3 through direnv: `use uvnix --sync` with a lock linked to /dev/zero or a FIFO stops
    with one line and loads nothing, under the same bounds."""
    from e2e.test_direnv import _setup

    rec = sim.recording_nix(tmp_path / "nix.log")
    _setup(sim, project_dir, rec)
    os.mkfifo(project_dir / "fifo")
    for target in ("/dev/zero", str(project_dir / "fifo")):
        lock = project_dir / "uvx-nix.lock"
        lock.unlink(missing_ok=True)
        lock.symlink_to(target)
        inner = "ulimit -v 3000000; exec timeout 60 direnv exec . true"
        res = sim.run(["bash", "-c", inner], cwd=project_dir, path_prepend=[rec, uv_bin(sim)])
        assert res.returncode not in (124, 137), res
        assert "is not a regular file" in res.stderr or "leads outside" in res.stderr, res
        assert "internal error" not in res.stderr


def _elf_needing(dest: Path, soname: str, build: Path) -> None:
    """A shared library whose only DT_NEEDED beyond libc is ``soname`` (built with gcc)."""
    build.mkdir()
    (build / "x.c").write_text("int uvxnix_x(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-o", str(build / soname), f"-Wl,-soname,{soname}",
                    str(build / "x.c")], check=True)
    subprocess.run(["gcc", "-shared", "-o", str(dest), str(build / "x.c"), f"-L{build}",
                    "-Wl,--no-as-needed", f"-l:{soname}"], check=True)


@pytest.mark.parametrize("count", [1, 401])
def test_f6_a_committed_lock_cannot_add_builds(sim: Sim, project_dir: Path, tmp_path: Path,
                                               count: int) -> None:
    """Design note of the review: a committed lock could list any number of library
    attributes, all built by the re-check. Only what the inputs ask for is re-built, and a
    lock lists at most 400 libraries per system; either way no Nix process starts."""
    write_project(project_dir)
    own = {"UVX_NIX_NIXPKGS": str(sim.nixpkgs_dir)}  # the user's and the attacker's nixpkgs
    _attackers_lock(sim, project_dir, tmp_path / "attacker",
                    f'kind = "path"\nurl = "{sim.nixpkgs_dir}"\n', own)
    lock = project_dir / "uvx-nix.lock"
    extra = "".join(f'    {{attribute = "git", path = "{sim.pkgs["git"]}"}},\n'
                    for _ in range(count))
    text = lock.read_text()
    lock.write_text(text.replace("libraries = [\n", "libraries = [\n" + extra, 1))
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    res = uvx(sim, ["sync"], cwd=project_dir, env=own, path_prepend=[rec])
    assert res.returncode == 74, res
    assert ("do not ask for" in res.stderr) if count == 1 else ("at most 400" in res.stderr)
    assert log.read_text() == ""


def _generic_program_outside(sim: Sim, project: Path, name: str) -> tuple[Path, bytes]:
    """A venv-like bin directory of the user's, outside the project, holding a program NixOS
    cannot start (the kind `doctor --fix` patches)."""
    from e2e.test_doctor import _elf_project

    program = _elf_project(sim, project)
    outside = project.parent / f"{project.name}-{name}"
    outside.mkdir()
    shutil.copy2(program, outside / program.name)
    return outside, (outside / program.name).read_bytes()


def test_f4_doctor_fix_never_patches_through_a_linked_bin(sim: Sim, project_dir: Path) -> None:
    """F4: a real `.venv/` whose `bin` links to a directory of the user's: `doctor --fix`
    refuses it and patches nothing there."""
    outside, before = _generic_program_outside(sim, project_dir, "userbin")
    shutil.rmtree(project_dir / ".venv" / "bin")
    (project_dir / ".venv" / "bin").symlink_to(outside)
    for args in (["nix", "doctor", "--fix"], ["nix", "doctor"]):
        res = uvx(sim, args, cwd=project_dir, binds=[outside])
        assert res.returncode == 70, res
        assert "leads outside" in res.stderr
    assert (outside / "elfdemo").read_bytes() == before


def test_f4_repatching_rechecks_where_the_program_is(sim: Sim, project_dir: Path) -> None:
    """F4: after a legitimate `doctor --fix`, `bin` is swapped for a link to the user's own
    programs: the re-patching after every `uv sync` must not follow it."""
    outside, before = _generic_program_outside(sim, project_dir, "userbin")
    uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir, check=True)
    bin_dir = project_dir / ".venv" / "bin"
    for item in bin_dir.iterdir():  # the rest of a working bin/, so uv keeps the venv
        if item.name != "elfdemo":
            shutil.copy2(item, outside / item.name, follow_symlinks=False)
    shutil.rmtree(bin_dir)
    bin_dir.symlink_to(outside)
    res = uvx(sim, ["sync"], cwd=project_dir, binds=[outside])
    assert res.returncode == 0, res
    assert bin_dir.is_symlink()  # uv kept the venv as it was
    assert (outside / "elfdemo").read_bytes() == before


def test_f4_without_a_project_a_linked_venv_is_refused(sim: Sim, project_dir: Path) -> None:
    """F4: with no pyproject.toml, a `.venv` that is a link to another venv is refused too."""
    outside, before = _generic_program_outside(sim, project_dir, "othervenv")
    (outside / "bin").mkdir()
    shutil.move(outside / "elfdemo", outside / "bin" / "elfdemo")
    shutil.copy2(project_dir / ".venv" / "pyvenv.cfg", outside / "pyvenv.cfg")
    bare = project_dir / "bare"
    bare.mkdir()
    (bare / ".venv").symlink_to(outside)
    res = uvx(sim, ["nix", "doctor", "--fix"], cwd=bare, binds=[outside])
    assert res.returncode == 70, res
    assert "leads outside" in res.stderr
    assert (outside / "bin" / "elfdemo").read_bytes() == before


def _planted_ls(project: Path, marker: Path) -> None:
    """A `.venv` that is no venv uv accepts (no pyvenv.cfg), whose bin/ shadows `ls`."""
    venv_bin = project / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "ls").write_text(f"#!/run/current-system/sw/bin/bash\ntouch {marker}\n")
    (venv_bin / "ls").chmod(0o755)


def test_f5_direnv_never_activates_a_venv_uv_rejected(sim: Sim, project_dir: Path,
                                                      tmp_path: Path) -> None:
    """F5: `use uvnix --sync` put `.venv/bin` first on PATH whenever the directory existed,
    also when uv rejected the venv: the user's next `ls` ran the repository's script."""
    from e2e.test_direnv import _direnv, _setup

    rec = sim.recording_nix(tmp_path / "nix.log")
    _setup(sim, project_dir, rec)
    marker = project_dir / "pwned"
    _planted_ls(project_dir, marker)
    res = _direnv(sim, project_dir, ["exec", ".", "ls"], rec)
    assert not marker.exists(), res.stderr
    assert "not activating" in res.stderr, res.stderr
    assert sim.run(["ls"], cwd=project_dir).returncode == 0


def test_f5_a_cached_environment_activates_only_the_locked_venv(sim: Sim, project_dir: Path,
                                                               tmp_path: Path) -> None:
    """F5, cache hit and last-good paths: after a good load, the venv is replaced by one uv
    never made (a `git checkout` of a branch that commits one): not activated."""
    from e2e.test_direnv import _direnv, _setup

    rec = sim.recording_nix(tmp_path / "nix.log")
    _setup(sim, project_dir, rec)
    res = _direnv(sim, project_dir, ["exec", ".", "python", "-c", "import sys; print(sys.prefix)"],
                  rec)
    assert res.stdout.strip() == str(project_dir / ".venv"), res
    shutil.rmtree(project_dir / ".venv")
    marker = project_dir / "pwned"
    _planted_ls(project_dir, marker)
    res = _direnv(sim, project_dir, ["exec", ".", "ls"], rec)  # a cache hit: no uvx-nix
    assert not marker.exists(), res.stderr
    assert "not activating" in res.stderr, res.stderr
    # Offline, with a changed input: uvx-nix fails, the last good environment is used.
    with (project_dir / "pyproject.toml").open("a") as f:
        f.write('[tool.uvx-nix]\nstrategy = "bogus"\n')
    res = _direnv(sim, project_dir, ["exec", ".", "ls"], rec)
    assert "last good environment" in res.stderr, res.stderr
    assert not marker.exists(), res.stderr


def test_f7_the_lock_holds_no_secret_and_no_machine_path(sim: Sim, project_dir: Path) -> None:
    """F7: `.python-version` linked to the user's credentials put the token into the
    committed lock, and every lock carried the writer's absolute paths."""
    secret = sim.home / ".git-credentials"
    secret.write_text("https://alice:ghp_uvxnixSECRET@github.com\n")
    write_project(project_dir)
    pin = project_dir / ".python-version"
    pin.symlink_to(secret)
    lock = project_dir / "uvx-nix.lock"
    for args in (["sync"], ["nix", "lock"], ["nix", "status"]):
        res = uvx(sim, args, cwd=project_dir)
        assert res.returncode == 70, (args, res)
        assert "leads outside" in res.stderr
        assert "ghp_" not in res.stdout + res.stderr
    assert not lock.exists()
    # A path request is recorded by kind, never by its text; sources by project-relative name.
    pin.unlink()
    pin.write_text(f"{sim.home}/.pyenv/versions/3.12.1/bin/python3.12\n")
    uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)
    for pinned in (None, "3.12\n"):
        if pinned is not None:
            pin.write_text(pinned)
            uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)
        text = lock.read_text()
        assert str(sim.home) not in text, text
        assert str(project_dir) not in text, text
        assert 'python-source = ".python-version"' in text, text


ESCAPES = "\x1b[2K\rgithub:NixOS/nixpkgs/nixos-25.05\u202e"


def test_f8_repository_strings_are_validated_and_escaped(sim: Sim, project_dir: Path) -> None:
    """F8: the lock's nixpkgs URL was printed raw (an escape sequence could draw an official
    source over the real one), and doctor printed file names raw."""
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    lock = project_dir / "uvx-nix.lock"
    good = lock.read_text()
    start = good.index('url = "') + len('url = "')
    evil_url = "github:evil/x" + ESCAPES.encode("unicode_escape").decode().replace(
        "\\x1b", "\\u001b").replace("\\r", "\\u000d")
    lock.write_text(good[:start] + evil_url + good[good.index('"', start):])
    for args in (["nix", "status"], ["sync"], ["nix", "allow"], ["nix", "env"]):
        res = uvx(sim, args, cwd=project_dir)
        out = res.stdout + res.stderr
        assert res.returncode == 74, (args, res)
        assert "invalid nixpkgs source" in res.stderr
        for char in ("\x1b", "\r", "\u202e"):
            assert char not in out, out
    lock.write_text(good)
    # A program in the venv whose name draws on the terminal.
    name = "tool\x1b]0;owned\x07\x1b[2K"
    shutil.copy2("/bin/true", project_dir / ".venv" / "bin" / name)
    res = uvx(sim, ["nix", "doctor"], cwd=project_dir)
    assert res.returncode == 1, res
    assert "cannot start" in res.stdout
    assert "\x1b" not in res.stdout + res.stderr
    assert "\x07" not in res.stdout + res.stderr


@pytest.mark.parametrize("raw", [b"caf\xe9 dir", b"with space\nand newline"])
def test_f9_any_directory_name_works(sim: Sim, project_dir: Path, raw: bytes) -> None:
    """F9: a project in a directory whose name is not UTF-8 failed every call with exit 77
    (uv never ran). Now uvx-nix's part works for any name; uv then answers for itself (it
    refuses a venv path that is not UTF-8, as it does without uvx-nix)."""
    project = project_dir / os.fsdecode(raw)
    project.mkdir()
    write_project(project)
    try:
        _any_name(sim, project, raw)
    finally:  # leave no GC root naming these bytes: Nix prints them when it drops one
        uvx(sim, ["nix", "gc"], cwd=project)
        for link in Path("/nix/var/nix/gcroots/auto").iterdir():
            with contextlib.suppress(OSError):
                if os.fsencode(str(project)) in os.fsencode(os.readlink(link)):
                    link.unlink()


def _any_name(sim: Sim, project: Path, raw: bytes) -> None:
    for args in (["nix", "lock"], ["nix", "status"], ["nix", "env"], ["nix", "gc"]):
        res = uvx(sim, args, cwd=project)
        assert res.returncode == 0, (args, res)
    text = (project / "uvx-nix.lock").read_bytes().decode("utf-8")  # valid UTF-8
    assert "caf" not in text
    assert "newline" not in text
    res = uvx(sim, ["sync"], cwd=project)
    assert "uvx-nix:" not in res.stderr, res
    if raw.startswith(b"caf"):
        plain = sim.run([f"{sim.pkgs['uv']}/bin/uv", "sync"], cwd=project,
                        env={"UV_PYTHON_SEARCH_PATH": f"{sim.pkgs['python313']}/bin",
                             "UV_PYTHON_DOWNLOADS": "never"})
        assert (res.returncode, plain.returncode) == (2, 2), (res, plain)
        assert "not valid UTF-8" in res.stderr
        return
    assert res.returncode == 0, res
    res = uvx(sim, ["run", "python", "-c", "print('ran')"], cwd=project)
    assert res.stdout == "ran\n", res
    assert uvx(sim, ["nix", "doctor"], cwd=project).returncode == 0
