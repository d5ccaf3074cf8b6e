"""The argv reader: what uvx-nix needs from uv's command line, and parity with real uv."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uvx_nix import argv


@pytest.mark.parametrize(
    ("args", "command", "python", "directory", "script", "needs"),
    [
        (["run", "python", "-c", "x"], ("run",), None, None, None, True),
        (["--directory", "d", "-qq", "sync", "-p3.12"], ("sync",), "3.12", "d", None, True),
        (["sync", "--python=3.13"], ("sync",), "3.13", None, None, True),
        (["-p", "3.11", "venv"], ("venv",), "3.11", None, None, True),
        (["pip", "install", "-p", "3.11", "x"], ("pip", "install"), "3.11", None, None, True),
        (["run", "--with", "numpy", "s.py", "--python", "3"], ("run",), None, None, "s.py", True),
        (["run", "--script", "tool", "a"], ("run",), None, None, "tool", True),
        (["run", "-", "x"], ("run",), None, None, "-", True),
        (["lock", "--script", "a.py"], ("lock",), None, None, "a.py", True),
        (["tool", "run", "ruff", "--help"], ("tool", "run"), None, None, None, True),
        (["--version"], (), None, None, None, False),
        (["-V"], (), None, None, None, False),
        ([], (), None, None, None, False),
        (["help", "sync"], ("help", "sync"), None, None, None, False),
        (["sync", "--help"], ("sync",), None, None, None, False),
        (["python", "dir"], ("python", "dir"), None, None, None, False),
        (["python", "find"], ("python", "find"), None, None, None, True),
        (["cache", "clean"], ("cache", "clean"), None, None, None, False),
        (["self", "update"], ("self", "update"), None, None, None, False),
        (["generate-shell-completion", "bash"], ("generate-shell-completion",), None, None,
         None, False),
        (["tool", "list"], ("tool", "list"), None, None, None, False),
        (["version"], ("version",), None, None, None, False),
        (["version", "--bump", "minor"], ("version",), None, None, None, True),
        (["--project", "sub", "add", "x"], ("add",), None, None, None, True),
        (["--color", "never", "lock"], ("lock",), None, None, None, True),
        (["tool", "run", "--generate-shell-completion", "bash"], ("tool", "run"), None, None,
         None, False),
    ],
)
def test_parse(args: list[str], command: tuple[str, ...], python: str | None,
               directory: str | None, script: str | None, needs: bool) -> None:
    inv = argv.parse(args)
    assert inv.command == command
    assert inv.python == python
    assert inv.directory == directory
    assert inv.script == script
    assert inv.needs_interpreter is needs


def test_run_tail_is_not_read() -> None:
    """Options after the program in `uv run` belong to that program."""
    inv = argv.parse(["run", "pytest", "-p", "no:cacheprovider", "--help"])
    assert inv.python is None
    assert not inv.help
    assert inv.tail == ("-p", "no:cacheprovider", "--help")


def test_double_dash_ends_options() -> None:
    inv = argv.parse(["run", "--", "-p", "3.12"])
    assert inv.python is None
    assert inv.tail == ("-p", "3.12")


def test_own_commands() -> None:
    inv = argv.parse(["nix", "status", "--python", "3.12"])
    assert inv.own
    assert not inv.needs_interpreter
    assert inv.tail == ("status", "--python", "3.12")


def test_quiet_counts() -> None:
    assert argv.parse(["-q", "sync", "-qq"]).quiet == 3
    assert argv.parse(["--quiet", "sync"]).quiet == 1


@given(st.lists(st.text(max_size=12), max_size=12))
def test_never_raises(args: list[str]) -> None:
    inv = argv.parse(args)
    assert inv.args == tuple(args)


SUBCOMMANDS = ["run", "sync", "lock", "add", "remove", "venv", "pip install", "pip compile",
               "tool run", "tool install", "init", "python install", "python find", "export",
               "tree", "build", "version"]


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_value_options_match_real_uv(sub: str) -> None:
    """Every option real uv documents as taking a value is known, so a value is never
    mistaken for the subcommand or the script."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed; the test command installs it")
    out = subprocess.run([uv, *sub.split(), "--help"], capture_output=True, text=True,
                         check=True).stdout
    documented = set(re.findall(r"^\s+(?:-\w, )?(--[a-z0-9-]+) <", out, re.M))
    documented.discard("--script")  # a flag for run, a value elsewhere: handled apart
    assert documented <= argv.VALUE_OPTIONS, documented - argv.VALUE_OPTIONS
    shorts = set(re.findall(r"^\s+-(\w), --[a-z0-9-]+ <", out, re.M))
    assert shorts <= argv.SHORT_VALUE_OPTIONS, shorts - argv.SHORT_VALUE_OPTIONS


def test_preference_flags_config_file_and_scope() -> None:
    inv = argv.parse(["--no-managed-python", "run", "python"])
    assert inv.preference
    assert argv.parse(["--python-preference", "system", "sync"]).command == ("sync",)
    assert argv.parse(["--python-preference=system", "sync"]).preference
    assert not argv.parse(["run", "--", "--managed-python"]).preference
    assert argv.parse(["--config-file", "u.toml", "sync"]).config_file == "u.toml"
    assert argv.parse(["sync"]).scope == "environment"
    assert argv.parse(["run", "--no-sync", "x"]).scope == ""
    assert argv.parse(["run", "x", "--no-sync"]).scope == "environment"  # x's own argument
    assert argv.parse(["lock"]).scope == ""
    assert argv.parse(["python", "find", "3.12"]).scope == "python:3.12"
    assert argv.parse(["tool", "run", "ruff"]).scope == "tool"
