"""Issue 5: bash, zsh and fish integrations, end to end in the NixOS simulation.

With `eval "$(uvx-nix nix shell-init SHELL)"` (fish: `| source`), `uv` and `uvx`
are shell functions calling uvx-nix by absolute path; the real uv is on PATH.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from helpers.e2e import uv_bin, write_project
from helpers.sim import SIM_DIR, Sim
from helpers.wheels import write_wheel

SYSTEM_PATH = f"{SIM_DIR}/.build/wrapper-bin:/run/current-system/sw/bin"
PRINT_PREFIX = 'uv run python -c "import sys; print(sys.base_prefix)"'
LOAD = {
    "bash": 'eval "$(uvx-nix nix shell-init bash)"',
    "zsh": 'eval "$(uvx-nix nix shell-init zsh)"',
    "fish": "uvx-nix nix shell-init fish | source",
}


def _shell(sim: Sim, shell: str, script: str, cwd: Path, *, check: bool = True,
           env: dict[str, str] | None = None) -> str:
    res = sim.run([shell, "-c", script], cwd=cwd, env=env, path_prepend=[uv_bin(sim)],
                  check=check)
    return res.stdout


def _tool_wheel(directory: Path) -> Path:
    """A pure-Python tool with a console script that prints its interpreter's base prefix."""
    info = "uvxnix_hello-1.0.dist-info"
    return write_wheel(directory, "uvxnix-hello", "py3-none-any", {
        "uvxnix_hello/__init__.py":
            b"import sys\n\ndef main():\n    print('hello', sys.base_prefix)\n",
        f"{info}/entry_points.txt": b"[console_scripts]\nuvxnix-hello = uvxnix_hello:main\n",
    }, set())


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_uv_and_uvx_functions_run_on_a_store_interpreter(sim: Sim, project_dir: Path,
                                                         shell: str) -> None:
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    wheels = project_dir / "wheels"
    _tool_wheel(wheels)
    out = _shell(sim, shell, "; ".join([
        LOAD[shell],
        "type uv",
        PRINT_PREFIX,
        f"uvx --no-index --find-links {wheels} uvxnix-hello",
    ]), project_dir)
    lines = out.splitlines()
    assert "function" in lines[0], out  # `uv is a function` (bash/zsh: shell function)
    prefixes = [line for line in lines if line.startswith("/nix/store/")]
    assert prefixes == [sim.pkgs["python312"]], out
    assert f"hello {sim.pkgs['python312']}" in lines, out
    assert (project_dir / ".venv" / "pyvenv.cfg").read_text().count("/nix/store/") >= 1


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_functions_call_uvx_nix_by_absolute_path_whatever_path_is(
        sim: Sim, project_dir: Path, shell: str) -> None:
    write_project(project_dir)
    (project_dir / ".python-version").write_text("3.12\n")
    # After loading, PATH loses uvx-nix's directory: `uv` still goes through uvx-nix.
    drop = {"fish": f"set -gx PATH {uv_bin(sim)} /run/current-system/sw/bin",
            "bash": f"PATH={uv_bin(sim)}:/run/current-system/sw/bin",
            "zsh": f"PATH={uv_bin(sim)}:/run/current-system/sw/bin"}[shell]
    out = _shell(sim, shell, "; ".join([LOAD[shell], drop, PRINT_PREFIX]), project_dir)
    assert out.strip() == sim.pkgs["python312"], out


SNAPSHOT = {
    "bash": "declare -f; complete -p; printf 'PATH=%s\\n' \"$PATH\"; compgen -v",
    "zsh": "functions; print -r -- \"PATH=$PATH\"; print -r -- ${_comps[uv]} ${_comps[uvx]}; "
           "print -r -- $precmd_functions; print -rl -- ${(k)parameters} | sort",
    "fish": "functions -n; functions uv uvx; complete -c uv; complete -c uvx; "
            "echo PATH=(string join : $PATH); set -n",
}

GROUP = {"bash": "{{ {0}; }} > {1}", "zsh": "{{ {0}; }} > {1}", "fish": "begin; {0}; end > {1}"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_loading_twice_changes_nothing(sim: Sim, project_dir: Path, shell: str) -> None:
    snap = SNAPSHOT[shell]
    prelude = "autoload -Uz compinit; compinit -u -D; " if shell == "zsh" else ""
    out = _shell(sim, shell, prelude + "; ".join([
        LOAD[shell], GROUP[shell].format(snap, project_dir / "one"),
        LOAD[shell], GROUP[shell].format(snap, project_dir / "two"),
    ]), project_dir)
    one = (project_dir / "one").read_text()
    two = (project_dir / "two").read_text()
    assert one == two
    assert out == ""
    # The snapshot does see the integration (it is not empty by accident).
    assert "uvx-nix" in one
    assert [line for line in one.splitlines() if line.startswith("PATH=")] == \
        [f"PATH={uv_bin(sim)}:{SYSTEM_PATH}"]
    complete = {"bash": "-F _uv uv", "zsh": "_uv _uvx", "fish": "complete uvx -l no-cache"}[shell]
    assert complete in one, one


def test_bash_file_sourced_alone_finds_uvx_nix_and_uv_completions(sim: Sim,
                                                                  project_dir: Path) -> None:
    path = sim.repo / "shell-integration" / "uvx-nix.bash"
    out = _shell(sim, "bash", f"source {path}; complete -p uv uvx; type -t uv", project_dir)
    assert out.splitlines() == [
        "complete -o bashdefault -o default -o nosort -F _uv uv",
        "complete -o bashdefault -o default -o nosort -F _uvx uvx",
        "function",
    ]


RC = {
    "bash": (".bashrc", "PS1='READY> '\n" + LOAD["bash"] + "\n"),
    # The simulation's /etc/zsh/zshenv puts only the top-level function dirs on fpath
    # (NixOS has one flat dir): add the nested Completion/* dirs, as NixOS would have them.
    "zsh": ("zdot/.zshrc", "fpath+=({zsh}/share/zsh/functions/**/*(N/))\n"
            "autoload -Uz compinit; compinit -u\nPS1='READY> '\n" + LOAD["zsh"] + "\n"),
    "fish": (".config/fish/config.fish",
             "set -g fish_greeting\nfunction fish_prompt; echo -n 'READY> '; end\n"
             + LOAD["fish"] + "\n"),
}
START = {
    "bash": "bash --noprofile --rcfile $HOME/.bashrc -i",
    "zsh": "env ZDOTDIR=$HOME/zdot zsh -i",
    "fish": "fish -i",
}
# Drive an interactive shell in tmux: wait for the prompt, type `uv sy<TAB>`, wait for
# the completion, print the pane.  (No grep in the simulation: bash patterns instead.)
DRIVER = r"""
tmux -f /dev/null new-session -d -s t -x 120 -y 30 "$START"
wait_for() {
    local i
    for i in $(seq 200); do
        pane=$(tmux capture-pane -p -t t)
        [[ $pane == *"$1"* ]] && return 0
        sleep 0.1
    done
    return 1
}
wait_for 'READY>' || { echo "no prompt"; tmux capture-pane -p -t t; exit 1; }
tmux send-keys -t t 'uv sy' Tab
wait_for 'READY> uv sync' || true
tmux capture-pane -p -t t
tmux kill-server
"""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_tab_completes_uv_subcommands(sim: Sim, project_dir: Path, shell: str) -> None:
    rel, text = RC[shell]
    rc = sim.home / rel
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text(text.replace("{zsh}", sim.pkgs["zsh"]))
    res = sim.run(["bash", "-c", DRIVER], cwd=project_dir, path_prepend=[uv_bin(sim)],
                  env={"START": START[shell], "TERM": "xterm-256color", "LANG": "C.UTF-8",
                       "SHELL": f"/run/current-system/sw/bin/{shell}"}, timeout=120)
    assert res.returncode == 0, res
    prompt_lines = [line.rstrip() for line in res.stdout.splitlines() if "READY> uv" in line]
    assert prompt_lines, res.stdout
    assert prompt_lines[-1].startswith("READY> uv sync"), (shell, shlex.quote(res.stdout))
