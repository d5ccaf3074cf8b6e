"""uvx_nix.commands.integration: shell detection, output selection, completion cache, shellcheck."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psutil
import pytest

from uvx_nix import cli
from uvx_nix.commands import integration
from uvx_nix.errors import EXIT_CONFIG, UserError

SHELL_FILES = [*sorted(integration.data_dir().glob("*.bash")),
               integration.data_dir() / "direnv" / "uvnix.sh"]


class FakeProcess:
    """A psutil.Process look-alike: a name, a cmdline and a parent."""

    def __init__(self, name: str, cmdline: list[str] | None = None,
                 parent: FakeProcess | None = None, denied: bool = False) -> None:
        self._name = name
        self._cmdline = cmdline if cmdline is not None else [name]
        self._parent = parent
        self._denied = denied

    def name(self) -> str:
        if self._denied:
            raise psutil.AccessDenied(1)
        return self._name

    def cmdline(self) -> list[str]:
        return self._cmdline

    def parent(self) -> FakeProcess | None:
        return self._parent


def _chain(*names: str | FakeProcess) -> FakeProcess:
    """The process tree from the top (first) down to this process (last)."""
    proc: FakeProcess | None = None
    for item in names:
        if isinstance(item, FakeProcess):
            item._parent = proc
            proc = item
        else:
            proc = FakeProcess(item, parent=proc)
    assert proc is not None
    return proc


@pytest.fixture
def tree(monkeypatch: pytest.MonkeyPatch) -> list[FakeProcess]:
    holder: list[FakeProcess] = []
    monkeypatch.setattr(psutil, "Process", lambda *a: holder[0])
    return holder


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        (["systemd", "bash", "python3.11"], "bash"),
        (["login", FakeProcess("bash", ["-bash"]), "python3"], "bash"),
        (["sshd", FakeProcess("-zsh", ["-zsh"]), "uvx-nix", "python3.12"], "zsh"),
        (["tmux", "fish", "uv", "python"], "fish"),
        (["init", FakeProcess(".fish-wrapped", ["/nix/store/x-fish/bin/.fish-wrapped"]),
          "python3"], "fish"),
        (["init", FakeProcess("zsh", ["/run/current-system/sw/bin/zsh"]), "env", "python3"],
         "zsh"),
    ],
)
def test_detects_the_shell_above_our_own_processes(
        tree: list[FakeProcess], chain: list[str | FakeProcess], expected: str) -> None:
    tree.append(_chain(*chain))
    assert integration.detect_shell({"SHELL": "/bin/tcsh"}) == expected


def test_a_foreign_process_stops_the_walk_and_shell_decides(tree: list[FakeProcess]) -> None:
    # zsh ran `sh -c 'uvx-nix nix shell-init'`: sh is not ours, so the walk stops there.
    tree.append(_chain("zsh", "sh", "python3"))
    assert integration.detect_shell({"SHELL": "/usr/bin/fish"}) == "fish"


def test_unreadable_processes_fall_back_to_shell(tree: list[FakeProcess]) -> None:
    tree.append(_chain("bash", FakeProcess("x", denied=True), "python3"))
    assert integration.detect_shell({"SHELL": "/bin/zsh"}) == "zsh"


def test_no_shell_anywhere_is_one_clear_error(tree: list[FakeProcess]) -> None:
    tree.append(_chain("cron", "python3"))
    with pytest.raises(UserError) as info:
        integration.detect_shell({"SHELL": "/bin/tcsh"})
    assert info.value.exit_code == EXIT_CONFIG
    assert "shell-init bash|zsh|fish" in info.value.message
    assert "\n" not in info.value.message


def test_cli_reports_an_unknown_shell_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nix", "shell-init", "tcsh"]) == EXIT_CONFIG
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("error: uvx-nix: unknown shell 'tcsh': shell-init supports bash, zsh "
                   "and fish\n")


def _fake_uv(directory: Path, log: Path, *, fail: bool = False) -> Path:
    """A `uv` that records its argv and prints a completion stub for the asked shell."""
    uv = directory / "uv"
    body = "exit 3" if fail else 'echo "# completion for $*"'
    uv.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{body}\n')
    uv.chmod(0o755)
    return uv


def _own(directory: Path) -> Path:
    own = directory / "uvx-nix"
    own.write_text("#!/bin/sh\n# uvx-nix\n")
    own.chmod(0o755)
    return own


@pytest.mark.parametrize("shell", integration.SHELLS)
def test_render_prints_the_shells_file_after_the_fixed_paths(
        shell: str, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    own = _own(bindir)
    log = tmp_path / "uv.log"
    _fake_uv(bindir, log)
    env = {"PATH": str(bindir), "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    text = integration.render(shell, env, argv0=str(own))
    body = (integration.data_dir() / integration.FILES[shell]).read_text()
    assert text.endswith(body)
    head = text[: -len(body)].splitlines()
    assert head[0] == f"# uvx-nix nix shell-init {shell}"
    setter = "set -g " if shell == "fish" else ""
    sep = " " if shell == "fish" else "="
    assert head[1] == f"{setter}_uvx_nix_bin{sep}{own}"
    cache = tmp_path / "cache" / "uvx-nix" / "completions"
    (cached,) = cache.iterdir()
    assert head[2] == f"{setter}_uvx_nix_completions{sep}{cached}"
    assert cached.read_text() == (f"# completion for generate-shell-completion {shell}\n"
                                  f"# completion for tool uvx --generate-shell-completion "
                                  f"{shell}\n")
    # Every other shell start reads the cache: no uv process.
    calls = log.read_text()
    assert integration.render(shell, env, argv0=str(own)) == text
    assert log.read_text() == calls


def test_render_without_a_working_uv_leaves_completions_to_the_shell(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    own = _own(bindir)
    _fake_uv(bindir, tmp_path / "uv.log", fail=True)
    env = {"PATH": str(bindir), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    text = integration.render("bash", env, argv0=str(own))
    assert "_uvx_nix_completions=" not in text
    assert not (tmp_path / "cache" / "uvx-nix" / "completions").exists() or not any(
        (tmp_path / "cache" / "uvx-nix" / "completions").iterdir())


def test_own_executable_is_found_on_path_when_run_as_a_module(tmp_path: Path) -> None:
    own = _own(tmp_path)
    env = {"PATH": f"/nonexistent:{tmp_path}"}
    assert integration.own_executable(env, argv0="/x/uvx_nix/__main__.py") == str(own)
    with pytest.raises(UserError):
        integration.own_executable({"PATH": "/nonexistent"}, argv0="/x/__main__.py")


def test_direnv_lib_prints_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert integration.command("direnv-lib", [], {}) == 0
    out = capsys.readouterr().out
    assert out == (integration.data_dir() / "direnv" / "uvnix.sh").read_text()
    assert "use_uvnix()" in out


def test_shell_init_with_an_explicit_shell_prints_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    own = _own(tmp_path)
    monkeypatch.setattr("sys.argv", [str(own)])
    env = {"PATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert integration.command("shell-init", ["fish"], env) == 0
    out = capsys.readouterr().out
    assert out.startswith("# uvx-nix nix shell-init fish\n")
    assert "function uv " in out


def test_shell_code_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is required (apt-get install shellcheck)"
    assert len(SHELL_FILES) == 2, SHELL_FILES
    res = subprocess.run([shellcheck, "--severity=style", *map(str, SHELL_FILES)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout
