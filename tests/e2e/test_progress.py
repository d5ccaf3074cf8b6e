"""Issue 19: what Nix is doing while a user waits, end to end in the NixOS simulation.

A test-local nixpkgs (the simulation's look-alike plus a few packages) has builds that take a
few seconds and print lines, one that fails, and an interpreter that has to be built; each
call gets a fresh nonce, so nothing is in the store yet.  Terminals are real: tmux.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from helpers.e2e import local_nixpkgs, uv_bin, uvx, write_project
from helpers.sim import Sim
from helpers.wheels import build_zlib_wheel

FIND = ["python", "find"]
CLOSING = re.compile(r"^Resolved CPython 3\.\d+\.\d+ and 3 libraries from nixpkgs at /\S+ "
                     r"in \d+\.\ds; locked in uvx-nix\.lock$")


def _nixpkgs(sim: Sim, where: Path) -> Path:
    """The look-alike plus ``chatty`` (three lines, a second apart), ``chattyfail`` (the
    same, then it fails), ``evalpos`` (an evaluation error at a known position) and
    ``python312`` (top level and in ``pythonInterpreters``) rebuilt by a chatty builder."""
    chat = 'chat = "for i in 1 2 3; do echo \\"compiling part $i of 3\\"; ${bb} sleep 1; done; ";\n'
    python = """\
  py = base.pythonInterpreters.python312;
  slowPython = mk "python3-${py.version}" (chat + "${bb} cp -R ${py}/. $out") // {
    inherit (py) version pythonVersion sourceVersion implementation executable sitePackages
      libPrefix isPy3;
    interpreter = "${slowPython}/bin/${py.executable}";
  };
"""
    return local_nixpkgs(sim, where / f"nixpkgs-progress-{uuid.uuid4().hex[:8]}", """\
  chatty = mk "chatty-1.0" (chat + "${bb} mkdir -p $out/lib");
  chattyfail = mk "chattyfail-1.0" (chat + "echo 'chattyfail: error: no such thing' >&2; exit 2");
  evalpos = let empty = { }; in empty.nothere;
  bulky = mk "bulky-1.0"
    "${bb} mkdir -p $out/lib; ${bb} head -c 3000000 /dev/urandom > $out/lib/blob";
  # As nixpkgs has it: the top-level python312 is pythonInterpreters' (inherit).
  pythonInterpreters = base.pythonInterpreters // { python312 = slowPython; };
  python312 = slowPython;
""", "  " + chat + python)


# Run one command in tmux (a real terminal) and print the pane every 0.1 s until it ends.
DRIVER = r"""
tmux -f /dev/null new-session -d -s t -x 160 -y 12 "$CMD; echo EXIT=\$?; sleep 60"
for i in $(seq 600); do
    pane=$(tmux capture-pane -p -J -t t)
    printf '%s\n=====\n' "$pane"
    [[ $pane == *EXIT=* ]] && break
    sleep 0.1
done
tmux kill-server
"""


def _in_terminal(sim: Sim, project: Path, command: str, env: dict[str, str]) -> list[str]:
    """The pane's snapshots while ``command`` runs in tmux; the last one is the end."""
    res = sim.run(["bash", "-c", DRIVER], cwd=project, path_prepend=[uv_bin(sim)],
                  env={"CMD": command, "TERM": "xterm-256color", "LANG": "C.UTF-8", **env},
                  timeout=180)
    assert res.returncode == 0, res
    snapshots = res.stdout.split("=====\n")
    assert "EXIT=" in snapshots[-2], res.stdout[-3000:]
    return [s for s in snapshots if s.strip()]


def test_a_terminal_shows_the_phase_and_the_build_then_the_closing_line(
        sim: Sim, project_dir: Path) -> None:
    write_project(project_dir, requires=">=3.13")  # not the slowed python312 (python3)
    pkgs = _nixpkgs(sim, project_dir)
    shots = _in_terminal(sim, project_dir, "uvx-nix python find",
                         {"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "chatty"})
    building = [s for s in shots if "Building chatty-1.0" in s]
    assert building, shots[-1]
    # The build's name, the count of builds done as Nix reports it (under Nix 2.26 on a loaded
    # machine it has read 1 of 2 by the last snapshot), the elapsed time and its latest line.
    status = next(ln for ln in building[-1].splitlines() if "Building chatty-1.0" in ln)
    assert re.search(r"Building chatty-1\.0 \[[01]/2 built\] \d+\.\ds: compiling part [123] of 3",
                     status), status
    end = [ln.rstrip() for ln in shots[-1].splitlines() if ln.strip()]
    assert "EXIT=0" in end
    assert any(CLOSING.match(ln) for ln in end), end
    assert not any("Building" in ln for ln in end), "the status line is erased at the end"


@pytest.mark.parametrize("how", ["quiet", "TERM=dumb", "no-progress"])
def test_a_terminal_shows_no_progress_when_quiet_dumb_or_asked(sim: Sim, project_dir: Path,
                                                         how: str) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    env = {"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "chatty"}
    command = {"quiet": "uvx-nix -q python find", "TERM=dumb": "TERM=dumb uvx-nix python find",
               "no-progress": "uvx-nix --no-progress python find"}[how]
    shots = _in_terminal(sim, project_dir, command, env)
    assert not any("Building" in s or "Evaluating" in s for s in shots), shots
    end = shots[-1]
    assert "EXIT=0" in end
    assert ("Resolved CPython" in end) is (how != "quiet"), end


def test_no_terminal_no_progress_only_the_closing_line(sim: Sim, project_dir: Path,
                                                       tmp_path: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    env = {"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "chatty"}
    res = uvx(sim, FIND, cwd=project_dir, env=env, check=True)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert CLOSING.match(lines[0]), res.stderr
    assert "\r" not in res.stderr
    assert "\033" not in res.stderr
    # A hit runs no Nix and says nothing.
    again = uvx(sim, FIND, cwd=project_dir, env=env, check=True)
    assert again.stderr == ""
    assert again.stdout == res.stdout
    # A user who has not checked this lock yet (a fresh HOME): its paths are realised.
    sim.reset_home(tmp_path / "other-home")
    other = uvx(sim, FIND, cwd=project_dir, env=env, check=True)
    assert re.fullmatch(r"Fetched CPython 3\.12\.\d+ and 3 libraries from nixpkgs at /\S+ in "
                        r"\d+\.\ds, as locked in uvx-nix\.lock\n", other.stderr), other.stderr
    # Quiet: nothing at all, on a miss too.
    (project_dir / ".python-version").write_text("3.13\n")
    quiet = uvx(sim, ["-q", *FIND], cwd=project_dir, env=env, check=True)
    assert quiet.stderr == "", quiet.stderr


def test_ci_logs_get_one_plain_line_per_phase(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    res = uvx(sim, FIND, cwd=project_dir, check=True, env={
        "UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "chatty", "CI": "true"})
    lines = res.stderr.splitlines()
    assert lines[:2] == [
        "uvx-nix: evaluating (resolving the Python interpreter) with Nix",
        "uvx-nix: building chatty-1.0 with Nix",
    ], res.stderr
    assert CLOSING.match(lines[-1]), res.stderr
    assert len(lines) == 3, res.stderr  # one line per phase
    assert "\r" not in res.stderr
    assert "\033" not in res.stderr


def test_ci_logs_name_a_download(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    """A binary cache (file://, as the simulation has no network) serves ``bulky``."""
    write_project(project_dir, requires=">=3.13")  # not the slowed python312 (python3)
    pkgs = _nixpkgs(sim, project_dir)
    cache = project_dir / "binary-cache"
    nix = ["nix", "--extra-experimental-features", "nix-command"]
    out = sim.run([*nix, "build", "--no-link", "--json", "--impure", "--expr",
                   f"(import {pkgs} {{ }}).bulky"], cwd=project_dir, check=True).stdout
    built = json.loads(out)[0]["outputs"]["out"]
    sim.run([*nix, "copy", "--to", f"file://{cache}", built], cwd=project_dir, check=True)
    # (Its output names every stale GC root of the shared store, in whatever bytes: not read.)
    deleted = sim.run(["bash", "-c", 'nix-store --delete "$1" >/dev/null 2>&1', "-", built],
                      cwd=project_dir)
    assert deleted.returncode == 0, deleted
    res = uvx(sim, FIND, cwd=project_dir, check=True, env={
        "UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "bulky", "CI": "true",
        "NIX_CONFIG": f"substituters = file://{cache}\nrequire-sigs = false"})
    lines = res.stderr.splitlines()
    assert lines[:2] == [
        "uvx-nix: evaluating (resolving the Python interpreter) with Nix",
        "uvx-nix: downloading bulky-1.0 with Nix",
    ], res.stderr
    assert CLOSING.match(lines[2]), res.stderr
    assert len(lines) == 3, res.stderr  # resolve.nix's own quick build is not named


def test_a_failing_build_shows_its_last_lines_and_the_log(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    env = {"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "chattyfail"}
    res = uvx(sim, FIND, cwd=project_dir, env=env)
    assert res.returncode == 73, res
    lines = res.stderr.splitlines()
    first = lines[0]
    assert first.startswith("error: uvx-nix: nix failed while resolving the Python "
                            "interpreter: builder for 'chattyfail-1.0' failed with exit code 2 "
                            "(full log: "), res.stderr
    assert first.endswith(", or run with UVX_NIX_DEBUG=1)"), first
    assert lines[1:] == [
        "last lines of the build of chattyfail-1.0:",
        "  chattyfail-1.0> compiling part 1 of 3",
        "  chattyfail-1.0> compiling part 2 of 3",
        "  chattyfail-1.0> compiling part 3 of 3",
        "  chattyfail-1.0> chattyfail: error: no such thing",
    ], res.stderr
    log = Path(re.search(r"\(full log: (\S+\.log),", first).group(1))  # type: ignore[union-attr]
    assert log.parent == sim.home / ".cache" / "uvx-nix" / "logs"
    text = log.read_text()
    assert "building '/nix/store/" in text
    assert "chattyfail-1.0> chattyfail: error: no such thing" in text
    assert "error: builder for '/nix/store/" in text
    assert not (project_dir / "uvx-nix.lock").exists()
    # UVX_NIX_DEBUG=1: the same log as it runs, on stderr.
    debug = uvx(sim, FIND, cwd=project_dir, env={**env, "UVX_NIX_DEBUG": "1"})
    assert debug.returncode == 73
    assert "chattyfail-1.0> compiling part 2 of 3\n" in debug.stderr


def test_an_evaluation_error_shows_its_position(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    res = uvx(sim, FIND, cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "evalpos"})
    assert res.returncode == 73, res
    assert res.stderr.count("\n") == 1, res.stderr
    assert f"attribute 'nothere' missing (at {pkgs}/default.nix:" in res.stderr, res.stderr


def test_python_install_lock_upgrade_show_progress(sim: Sim, project_dir: Path) -> None:
    write_project(project_dir)
    pkgs = _nixpkgs(sim, project_dir)
    env = {"UVX_NIX_NIXPKGS": str(pkgs)}
    shots = _in_terminal(sim, project_dir, "uvx-nix python install 3.12", env)
    assert any(re.search(r"Building python3-3\.12\.\d+ .*\d+\.\ds: compiling part", s)
               for s in shots), shots[-1]
    assert "Installed Python 3.12" in shots[-1], shots[-1]
    assert "EXIT=0" in shots[-1]
    shots = _in_terminal(sim, project_dir, "uvx-nix nix lock --upgrade",
                         {**env, "UVX_NIX_LIBRARIES": "chatty"})
    assert any("Building chatty-1.0" in s for s in shots), shots[-1]
    assert "Locked python" in shots[-1], shots[-1]
    assert "EXIT=0" in shots[-1]


def test_doctor_fix_shows_progress(sim: Sim, project_dir: Path) -> None:
    build_zlib_wheel(project_dir / "wheels")
    write_project(project_dir, deps=["uvxnix-zdemo"], extra=(
        '[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n\n[tool.uvx-nix]\n'
        'default-libraries = ["stdenv.cc.cc.lib"]\nauto-libraries = false\n'))
    uvx(sim, ["sync"], cwd=project_dir, check=True)
    pkgs = _nixpkgs(sim, project_dir)
    shots = _in_terminal(sim, project_dir, "uvx-nix nix doctor --fix",
                         {"UVX_NIX_NIXPKGS": str(pkgs), "UVX_NIX_LIBRARIES": "chatty"})
    assert any("Building chatty-1.0" in s for s in shots), shots[-1]
    assert "All native libraries resolve" in shots[-1], shots[-1]
    assert 'libraries = ["zlib"]' in (project_dir / "pyproject.toml").read_text()
