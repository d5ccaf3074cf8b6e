"""nix: classifying sources, locking refs, reading a flake.lock (no Nix process here)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from helpers.nixlog import fake_nix
from uvx_nix.errors import EXIT_NIX_FAILED, EXIT_NIX_MISSING, UserError
from uvx_nix.resolve import nix

REV = "a" * 40


def test_nix_missing_is_a_one_line_error() -> None:
    with pytest.raises(UserError) as info:
        nix.nix_executable({"PATH": "/nonexistent"})
    assert info.value.exit_code == EXIT_NIX_MISSING


@pytest.mark.parametrize("detail", [
    # check-meta.nix's current wording, then the one before 2025.
    "Refusing to evaluate package 'cudatoolkit-12.8.1' in /nix/store/x-source/pkgs/a.nix:1 "
    "because it has an unfree license (\u2018nvidiaCudaRedist\u2019) a) To temporarily allow "
    "unfree packages, you can use an environment variable ... $ export NIXPKGS_ALLOW_UNFREE=1",
    "Package \u2018cudatoolkit-12.8.1\u2019 in /nix/store/x-source/pkgs/a.nix:1 has an unfree "
    "license (\u2018nvidiaCudaRedist\u2019), refusing to evaluate.",
])
def test_an_unfree_refusal_names_the_setting_not_nixpkgs_variable(detail: str) -> None:
    message = nix._refusal(detail)
    assert message is not None
    assert message.startswith("nixpkgs refuses cudatoolkit-12.8.1: it has an unfree license "
                              "(nvidiaCudaRedist)")
    assert "allow-unfree = true" in message
    assert "NIXPKGS_ALLOW_UNFREE" not in message


def test_an_insecure_refusal_is_named() -> None:
    detail = ("Refusing to evaluate package 'openssl-1.1.1w' in /nix/store/x/pkgs/o.nix:3 "
              "because it is marked as insecure Known issues: - end of life")
    assert nix._refusal(detail) == ("nixpkgs refuses openssl-1.1.1w: it is marked as insecure; "
                                    "use a maintained attribute instead in 'libraries'")
    assert nix._refusal("error: attribute 'x' missing") is None


def test_evaluation_environ_keeps_the_users_nix_but_not_their_nixpkgs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "nixpkgs" / "overlays").mkdir(parents=True)
    (home / ".gitconfig").write_text("[credential]\n")
    environ = {"HOME": str(home), "PATH": "/bin", "NIXPKGS_ALLOW_UNFREE": "1",
               "NIXPKGS_CONFIG": "/x/config.nix", "NIXPKGS_ALLOW_INSECURE": "1",
               "NIX_PATH": "nixpkgs=/n:nixpkgs-overlays=/o:other=/p"}
    empty = tmp_path / "empty"
    flake = nix.evaluation_environ(environ, {"nixpkgs": {"type": "flake"}}, empty)
    assert not any(k.startswith("NIXPKGS_") for k in flake)
    assert flake["HOME"] == str(empty)
    assert flake["XDG_CONFIG_HOME"] == str(empty / ".config")
    assert flake["NIX_PATH"] == "nixpkgs=/n:other=/p"
    assert flake["NIX_USER_CONF_FILES"].split(":")[0] == str(home / ".config/nix/nix.conf")
    assert flake["XDG_CACHE_HOME"] == str(home / ".cache")  # Nix's fetcher cache stays
    assert flake["GIT_CONFIG_GLOBAL"] == str(home / ".gitconfig")
    assert flake["PATH"] == "/bin"
    # allow-unfree is the one way in; other sources pass config and overlays themselves.
    unfree = nix.evaluation_environ(environ, {"nixpkgs": {"type": "path"}, "allowUnfree": True},
                                    empty)
    assert unfree["NIXPKGS_ALLOW_UNFREE"] == "1"
    assert "NIXPKGS_CONFIG" not in unfree
    assert unfree["HOME"] == str(home)
    assert unfree["NIX_PATH"] == environ["NIX_PATH"]


def test_nix_runs_with_the_structured_log_and_returns_stdout(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    environ = fake_nix(tmp_path, "build.jsonl", 0, stdout='[{"ok": 1}]')
    assert nix._nix(["build", "--json"], environ, what="testing") == '[{"ok": 1}]'
    assert "--log-format internal-json build --json" in (tmp_path / "argv").read_text()
    assert capsys.readouterr().err == ""  # not a terminal, not CI: nothing
    assert list((tmp_path / "cache" / "logs").iterdir()) == []  # success keeps no log


def test_nix_failing_at_a_build_is_one_error_with_its_last_lines(tmp_path: Path) -> None:
    environ = fake_nix(tmp_path, "build-failure.jsonl", 1)
    with pytest.raises(UserError) as info:
        nix._nix(["build"], environ, what="resolving the Python interpreter")
    assert info.value.exit_code == EXIT_NIX_FAILED
    first, *rest = info.value.message.splitlines()
    log = next((tmp_path / "cache" / "logs").iterdir())
    assert first == ("nix failed while resolving the Python interpreter: builder for "
                     f"'chatty-1.0' failed with exit code 2 (full log: {log}, or run with "
                     "UVX_NIX_DEBUG=1)")
    assert rest[0] == "last lines of the build of chatty-1.0:"
    assert rest[-1] == "  chatty-1.0> chatty: error: no such thing"
    assert "chatty-1.0> compiling part 2 of 3" in log.read_text()


def test_nix_debug_streams_the_readable_log(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    environ = {**fake_nix(tmp_path, "eval-error.jsonl", 1), "UVX_NIX_DEBUG": "1"}
    with pytest.raises(UserError) as info:
        nix._nix(["build"], environ, what="testing")
    assert "attribute 'nothere' missing (at /tmp/example/pkgs.nix:17:32)" in str(info.value)
    err = capsys.readouterr().err
    assert "error: attribute 'nothere' missing" in err
    assert "17|   broken = let empty = { }; in empty.nothere;" in err


def test_nix_killed_by_a_signal(tmp_path: Path) -> None:
    environ = fake_nix(tmp_path, "build.jsonl", 0)
    script = tmp_path / "bin" / "nix"
    script.write_text("#!/bin/sh\nkill -9 $$\n")
    with pytest.raises(UserError) as info:
        nix._nix(["build"], environ, what="testing")
    assert "nix was killed by signal 9" in str(info.value)


@pytest.mark.skipif(not os.path.exists("/dev/ptmx"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_the_status_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    environ = fake_nix(tmp_path, "build.jsonl", 0)
    parent, child = pty.openpty()
    with os.fdopen(child, "w", encoding="utf-8", closefd=True) as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        nix._nix(["build"], environ, what="testing")
        terminal.flush()
    seen = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(parent)
    text = seen.decode()
    assert "\r" in text
    assert text.endswith("\r\033[K")
    assert "Evaluating nixpkgs (testing)" in text or "Building" in text


def test_nix_interrupted_by_the_user_stops_the_call(tmp_path: Path) -> None:
    """Nix that says Ctrl-C reached it (its own message, or death by SIGINT) stops the whole
    call as an interrupt, never as a failure to fall back from."""
    environ = fake_nix(tmp_path, "build.jsonl", 0)
    script = tmp_path / "bin" / "nix"
    line = json.dumps({"action": "msg", "level": 0, "msg": "error: interrupted by the user"})
    script.write_text(f"#!/bin/sh\necho '@nix {line}' >&2\nexit 1\n")
    with pytest.raises(KeyboardInterrupt):
        nix._nix(["build"], environ, what="testing")
    script.write_text("#!/bin/sh\nkill -INT $$\nsleep 5\n")
    with pytest.raises(KeyboardInterrupt):
        nix._nix(["build"], environ, what="testing")
