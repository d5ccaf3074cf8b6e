"""Issue: trust for project-supplied Nix code (`uvx-nix nix allow`), in the simulation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers.e2e import uvx, write_project
from helpers.sim import Sim


def test_project_nixpkgs_source_needs_allow(sim: Sim, project_dir: Path) -> None:
    source = f"path:{sim.nixpkgs_dir}"
    write_project(project_dir, extra=f'\n[tool.uvx-nix]\nnixpkgs = "{source}"\n')
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert "names its own nixpkgs source" in res.stderr
    assert "uvx-nix nix allow" in res.stderr
    assert not (project_dir / "uvx-nix.lock").exists()
    assert not (project_dir / ".venv").exists(), "uv must not run before trust is given"
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    assert (project_dir / "uvx-nix.lock").exists()
    # More libraries from the allowed nixpkgs need nothing more...
    write_project(project_dir, extra=f'\n[tool.uvx-nix]\nnixpkgs = "{source}"\n'
                                     'libraries = ["openssl"]\n')
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    # ...but a change to the source revokes the permission.
    source = f"path:{sim.nixpkgs_dir}/"
    write_project(project_dir, extra=f'\n[tool.uvx-nix]\nnixpkgs = "{source}"\n')
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    # CI: trust everything.
    uvx(sim, ["sync"], cwd=project_dir, env={"UVX_NIX_TRUST": "1"}, check=True)
    # deny revokes, and drops the hot cache so the next call checks again.
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    uvx(sim, ["nix", "deny"], cwd=project_dir, check=True)
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res


def test_users_own_source_needs_no_allow(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    res = uvx(sim, ["sync"], cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": f"path:{sim.nixpkgs_dir}"})
    assert res.returncode == 0, res.stderr


def test_strangers_lock_pinned_elsewhere_needs_allow(sim: Sim, project_dir: Path) -> None:
    """A committed lock whose nixpkgs is neither official nor in the store: not evaluated."""
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    lock = project_dir / "uvx-nix.lock"
    text = lock.read_text()
    start = text.index('url = "') + len('url = "')
    end = text.index('"', start)
    lock.write_text(text[:start] + "github:stranger/evil/" + "0" * 40 + text[end:])
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert "github:stranger/evil" in res.stderr


def test_a_committed_patch_record_runs_nothing(sim: Sim, project_dir: Path) -> None:
    """A repository that commits a `.uvx-nix/patched.json` naming its own "patchelf" and a
    file outside the venv cannot make uvx-nix run or patch anything: the record of patched
    programs lives in the user cache, never in the project."""
    write_project(project_dir)
    marker = project_dir / "pwned"
    evil = project_dir / "evil-patchelf"
    evil.write_text(f"#!/run/current-system/sw/bin/bash\ntouch {marker}\n")
    evil.chmod(0o755)
    target = project_dir / "generic-prog"  # an ELF program NixOS cannot start
    shutil.copy2("/bin/true", target)
    before = target.read_bytes()
    work = project_dir / ".uvx-nix"
    work.mkdir()
    record = {"version": 1, "files": {"../generic-prog": {
        "patchelf": str(evil), "interpreter": str(evil), "lib_dirs": [], "stat": [0]}}}
    (work / "patched.json").write_text(json.dumps(record))
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    assert not marker.exists()
    assert target.read_bytes() == before


def test_a_strangers_lock_cannot_name_a_path_source(sim: Sim, project_dir: Path) -> None:
    """A committed lock with the right fingerprint but `kind = "path"` pointing into the
    repository (through /proc/self/cwd) must not get its Nix code evaluated."""
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    lock = project_dir / "uvx-nix.lock"
    text = lock.read_text()
    start = text.index("[nixpkgs]")
    end = text.index("[systems", start)
    evil = project_dir / "evil"
    evil.mkdir()
    marker = project_dir / "pwned"
    (evil / "default.nix").write_text(
        f'{{ ... }}: builtins.seq (builtins.toFile "x" "y") (abort "evaluated {marker}")\n')
    lock.write_text(text[:start] + '[nixpkgs]\nkind = "path"\nurl = "/proc/self/cwd/evil"\n\n'
                    + text[end:])
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert "/proc/self/cwd/evil" in res.stderr
    assert "evaluated" not in res.stderr


def test_a_strangers_lock_cannot_name_the_repository_copied_into_the_store(
        sim: Sim, project_dir: Path) -> None:
    """Evaluating a project's flake (direnv's `use flake`, `nix develop`) copies the repository
    into the store under a name its author can compute. A lock naming that store path, with
    its exact narHash, is still a stranger's source: asked for, never evaluated."""
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    evil = project_dir / "evil"
    evil.mkdir()
    (evil / "flake.nix").write_text(
        '{ outputs = _: { legacyPackages = builtins.abort "evaluated the stranger"; }; }\n')
    # The copy a flake evaluation leaves in the store, as the stranger predicted it.
    meta = json.loads(sim.run(["nix", "flake", "metadata", "--json", f"path:{evil}"],
                              cwd=project_dir, check=True).stdout)
    assert meta["path"].startswith("/nix/store/")
    url = f"path:{meta['path']}?narHash={meta['locked']['narHash']}"
    lock = project_dir / "uvx-nix.lock"
    text = lock.read_text()
    start = text.index('url = "') + len('url = "')
    lock.write_text(text[:start] + url + text[text.index('"', start):])
    shutil.rmtree(project_dir / ".uvx-nix")  # a fresh clone: nothing verified here
    shutil.rmtree(sim.home / ".cache" / "uvx-nix")
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert meta["path"] in res.stderr
    assert "evaluated the stranger" not in res.stderr


def test_uv_python_install_respects_trust(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir, extra='\n[tool.uvx-nix]\nnixpkgs = "/proc/self/cwd/evil"\n')
    res = uvx(sim, ["python", "install", "3.12"], cwd=project_dir)
    assert res.returncode == 76, res
    assert not (sim.home / ".local" / "share" / "uvx-nix" / "pythons").exists()


@pytest.mark.parametrize("url", [
    "path:/nix/store/../../proc/self/cwd/evil",
    "github:NixOS/nixpkgs/" + "0" * 40 + "?host=attacker.invalid",
    "github:NixOS/nixpkgs/" + "0" * 40,  # GitHub serves forks' commits under this name too
])
def test_a_strangers_lock_with_a_lookalike_source_needs_allow(sim: Sim, project_dir: Path,
                                                              url: str) -> None:
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    lock = project_dir / "uvx-nix.lock"
    text = lock.read_text()
    start = text.index('url = "') + len('url = "')
    lock.write_text(text[:start] + url + text[text.index('"', start):])
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 76, res
    assert url in res.stderr


def test_committed_symlinks_in_uvx_nix_dir_are_refused_or_removed(sim: Sim,
                                                                  project_dir: Path) -> None:
    write_project(project_dir)
    outside = project_dir.parent / f"{project_dir.name}-outside"
    outside.mkdir()
    precious = outside / "precious"
    precious.write_text("keep me")
    (project_dir / ".uvx-nix").symlink_to(outside)
    res = uvx(sim, ["sync"], cwd=project_dir, binds=[outside])
    assert res.returncode == 70, res
    assert ".uvx-nix is a symlink" in res.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["precious"]
    (project_dir / ".uvx-nix").unlink()
    (project_dir / ".uvx-nix").mkdir()
    (project_dir / ".uvx-nix" / "lock").symlink_to(precious)
    (project_dir / ".uvx-nix" / ".gitignore").symlink_to(outside / "created")
    uvx(sim, ["sync"], cwd=project_dir, binds=[outside], check=True)
    assert precious.read_text() == "keep me"
    assert not (outside / "created").exists()


def test_a_committed_venv_symlink_is_never_written_through(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    elsewhere = project_dir.parent / f"{project_dir.name}-site"
    site = elsewhere / "lib" / "python3.13" / "site-packages"
    site.mkdir(parents=True)
    (project_dir / ".venv").symlink_to(elsewhere)
    uvx(sim, ["run", "python", "-c", "pass"], cwd=project_dir, binds=[elsewhere])
    assert list(site.iterdir()) == []


def test_a_lock_cannot_smuggle_words_through_its_version(sim: Sim, project_dir: Path) -> None:
    """The hot state is NUL-separated words: a NUL (or slashes) in a locked field must not
    reach it. A committed lock's version and implementation are validated, and re-checked."""
    write_project(project_dir)
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    lock = project_dir / "uvx-nix.lock"
    good = lock.read_text()
    marker = project_dir / "pwned"
    evil = project_dir / "evilbin"
    evil.mkdir()
    (evil / "python3").write_text(f"#!/run/current-system/sw/bin/bash\ntouch {marker}\n")
    (evil / "python3").chmod(0o755)
    start = good.index('python-version = "') + len('python-version = "')
    end = good.index('"', start)
    for payload in ("3.13\\u0000field\\u0000python_bin\\u0000evilbin", "3/S/x/lib/python3.13",
                    "3.13\\n"):
        lock.write_text(good[:start] + payload + good[end:])
        for args in (["python", "find"], ["sync"]):
            res = uvx(sim, args, cwd=project_dir)
            assert res.returncode == 74, res
            assert "invalid Python version" in res.stderr
    assert not marker.exists()


def test_gc_never_follows_a_committed_gcroots_symlink(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    victim = project_dir.parent / f"{project_dir.name}-bin"
    victim.mkdir()
    (victim / "tool").symlink_to("/run/current-system/sw/bin/bash")
    (project_dir / ".uvx-nix").mkdir()
    (project_dir / ".uvx-nix" / "gcroots").symlink_to(victim)
    res = uvx(sim, ["nix", "gc"], cwd=project_dir, binds=[victim])
    assert res.returncode == 0, res
    assert (victim / "tool").is_symlink()
    assert "Dropped 0 GC root" in res.stderr


def test_doctor_refuses_a_symlinked_venv(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    other = project_dir.parent / f"{project_dir.name}-other-venv"
    (other / "bin").mkdir(parents=True)
    (other / "pyvenv.cfg").write_text("home = /nix/store/x/bin\n")
    (project_dir / ".venv").symlink_to(other)
    res = uvx(sim, ["nix", "doctor", "--fix"], cwd=project_dir, binds=[other])
    assert res.returncode == 70, res
    assert "is a symlink or leads outside the project" in res.stderr


def test_a_committed_lock_directory_is_a_clear_error(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    (project_dir / ".uvx-nix" / "lock").mkdir(parents=True)
    res = uvx(sim, ["sync"], cwd=project_dir)
    assert res.returncode == 70, res
    assert "is not a regular file" in res.stderr
