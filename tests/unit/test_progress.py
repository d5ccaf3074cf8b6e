"""progress: reading Nix's structured log (real Nix 2.8 and 2.26 captures), drawing the line.

The captures in tests/nix-logs/ are stderr of real `nix build --log-format internal-json`
runs (see the README there); a fake `nix` replays them for the error tests.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from uvx_nix.errors import EXIT_NIX_FAILED, UserError
from uvx_nix.resolve import nix, progress, statusline

LOGS = Path(__file__).parents[1] / "nix-logs" / "nix-2.8"
VERSIONS = ["nix-2.8", "nix-2.26"]


@pytest.fixture(params=VERSIONS)
def logs(request: pytest.FixtureRequest) -> Path:
    """The directory of one Nix version's captures (each test runs against both)."""
    return Path(__file__).parents[1] / "nix-logs" / str(request.param)


def _lines(name: str, logs: Path = LOGS) -> list[str]:
    return (logs / name).read_text(encoding="utf-8").splitlines()


def _feed_until(name: str, marker: str, logs: Path = LOGS) -> progress.NixLog:
    """Feed a capture up to and including the first line containing ``marker``."""
    state = progress.NixLog()
    for line in _lines(name, logs):
        state.feed(line)
        if marker in line:
            return state
    raise AssertionError(f"{marker!r} not in {name}")


def test_before_any_activity_nix_is_evaluating() -> None:
    assert progress.NixLog().status().phase == "evaluating"


def test_a_running_build_names_itself_and_its_last_line(logs: Path) -> None:
    state = _feed_until("build.jsonl", "compiling part 2 of 3", logs)
    status = state.status()
    assert (status.phase, status.subject, status.last_line) == \
        ("building", "chatty-1.0", "compiling part 2 of 3")
    assert status.builds == (1, 2)  # data-1.0 is built, chatty-1.0 is building
    assert statusline.format_status(status, 2.04, "x") == \
        "Building chatty-1.0 [1/2 built] 2.0s: compiling part 2 of 3"


def test_a_build_shows_its_stdenv_phase() -> None:
    state = _feed_until("build.jsonl", "compiling part 1 of 3")
    ident = next(i for i, a in state._activities.items() if a.kind == progress.ACT_BUILD)
    state.feed("@nix " + json.dumps({"action": "result", "id": ident, "type": 104,
                                     "fields": ["buildPhase"]}))
    assert statusline.format_status(state.status(), 1.0, "x") == \
        "Building chatty-1.0 (buildPhase) [1/2 built] 1.0s: compiling part 1 of 3"


def test_a_finished_build_leaves_no_running_build(logs: Path) -> None:
    state = progress.NixLog()
    readable = [text for line in _lines("build.jsonl", logs) for text in state.feed(line)]
    status = state.status()
    assert status.subject == ""
    assert status.builds == (2, 2)
    # The readable log: what Nix printed, then each build line under its name.
    assert "chatty-1.0> compiling part 3 of 3" in readable
    assert any(text.startswith("building '/nix/store/") for text in readable)
    assert state.failure()[1] is None


def test_a_download_counts_paths_and_bytes(logs: Path) -> None:
    state = _feed_until("substitute.jsonl", '"fields":[1474560,3000448,0,0]', logs)
    status = state.status()
    assert (status.phase, status.subject) == ("downloading", "data-1.0")
    assert status.paths == (0, 2)
    assert status.transferred[0] == 1474560
    assert status.transferred[1] >= 3000448
    text = statusline.format_status(status, 1.0, "x")
    assert text.startswith("Downloading data-1.0 [0/2 paths, 1.4 MiB/")
    state = progress.NixLog()
    for line in _lines("substitute.jsonl", logs):
        state.feed(line)
    assert state.status().paths == (2, 2)


def test_a_failed_build_gives_its_name_message_and_last_lines(logs: Path) -> None:
    state = progress.NixLog()
    for line in _lines("build-failure.jsonl", logs):
        state.feed(line)
    detail, build = state.failure()
    assert detail == "builder for 'chatty-1.0' failed with exit code 2"
    assert build is not None
    assert build.name == "chatty-1.0"
    assert list(build.lines)[-2:] == ["compiling part 3 of 3", "chatty: error: no such thing"]


def test_an_evaluation_error_gives_its_position(logs: Path) -> None:
    state = progress.NixLog()
    for line in _lines("eval-error.jsonl", logs):
        state.feed(line)
    detail, build = state.failure()
    assert detail == "attribute 'nothere' missing (at /tmp/example/pkgs.nix:17:32)"
    assert build is None


def test_a_thrown_error_gives_its_message_not_the_trace(logs: Path) -> None:
    """Nix 2.20+ opens this error with a bare "error:" and "… while" trace lines."""
    state = progress.NixLog()
    for line in _lines("eval-throw.jsonl", logs):
        state.feed(line)
    assert state.failure() == ("thrown cannot be evaluated", None)


def test_plain_lines_and_garbage_are_kept_as_text() -> None:
    state = progress.NixLog()
    assert state.feed("warning: something odd\n") == ["warning: something odd"]
    assert state.feed("@nix {not json") == ["@nix {not json"]
    assert state.feed("@nix [1, 2]") == []
    assert state.feed('@nix {"action": "result", "id": 9, "type": 101, "fields": ["x"]}') == []
    assert state.failure() == ("warning: something odd @nix {not json", None)
    assert progress.NixLog().failure() == ("no message", None)


def test_terminal_control_sequences_from_builders_are_removed() -> None:
    state = _feed_until("build.jsonl", "compiling part 1 of 3")
    ident = next(i for i, a in state._activities.items() if a.kind == progress.ACT_BUILD)
    hostile = "\x1b]0;owned\x07\x1b[2Jdone\x1b[31m!\x07\r"
    event = {"action": "result", "fields": [hostile], "id": ident, "type": 101}
    line = "@nix " + json.dumps(event)
    assert state.feed(line) == ["chatty-1.0> done!"]
    assert state.status().last_line == "done!"


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (96 * 1024 ** 2, "96.0 MiB"),
    (3 * 1024 ** 4, "3072.0 GiB"),
])
def test_size(n: int, text: str) -> None:
    assert progress.size(n) == text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("environ", "quiet", "tty", "how"), [
    ({}, False, True, "tty"), ({"NO_COLOR": "1"}, False, True, "tty"),
    ({}, True, True, "off"), ({"TERM": "dumb"}, False, True, "off"),
    ({}, False, False, "off"), ({"CI": "true"}, False, False, "ci"),
    ({"CI": "true"}, True, False, "off"), ({"UVX_NIX_DEBUG": "1"}, True, False, "debug"),
    ({"UV_NO_PROGRESS": "1"}, False, True, "off"), ({"UV_NO_PROGRESS": "0"}, False, True, "tty"),
])
def test_mode(environ: dict[str, str], quiet: bool, tty: bool, how: str) -> None:
    stream = _Terminal() if tty else io.StringIO()
    assert statusline.mode(environ, quiet, stream) == how


@pytest.mark.parametrize(("args", "asked"), [
    (("--no-progress", "sync"), True), (("run", "--no-progress", "x"), True),
    (("run", "--", "prog", "--no-progress"), False), (("sync",), False),
])
def test_asked_no_progress(args: tuple[str, ...], asked: bool) -> None:
    assert statusline.asked_no_progress(args) is asked


def test_the_status_line_is_redrawn_in_place_and_erased() -> None:
    stream = _Terminal()
    display = statusline.Display("tty", "x", {}, stream)
    display.update(_feed_until("build.jsonl", "compiling part 1 of 3").status())
    out = stream.getvalue()
    assert out.startswith("\r\033[36m")
    assert out.endswith("\033[K")
    assert "Building chatty-1.0 [1/2 built]" in out
    assert "compiling part 1 of 3" in out
    display.close()
    assert stream.getvalue().endswith("\r\033[K")


def test_no_color_draws_no_colour() -> None:
    stream = _Terminal()
    display = statusline.Display("tty", "x", {"NO_COLOR": ""}, stream)
    display.update(progress.NixLog().status())
    assert "\033[3" not in stream.getvalue()
    assert "Evaluating nixpkgs (x)" in stream.getvalue()


def test_ci_prints_each_phase_once_and_off_prints_nothing() -> None:
    ci, off = io.StringIO(), io.StringIO()
    displays = [statusline.Display("ci", "resolving", {}, ci),
                statusline.Display("off", "resolving", {}, off)]
    state = progress.NixLog()
    for line in _lines("build.jsonl"):
        state.feed(line)
        for display in displays:
            display.update(state.status())
    for display in displays:
        display.close()
    assert ci.getvalue().splitlines() == ["uvx-nix: evaluating (resolving) with Nix",
                                          "uvx-nix: building data-1.0 with Nix"]
    assert off.getvalue() == ""


@pytest.mark.parametrize(("kind", "url", "release", "text"), [
    ("flake", "github:NixOS/nixpkgs/" + "abc1234" + "f" * 33 + "?narHash=sha256-x", "25.11",
     "nixpkgs 25.11 (abc1234)"),
    ("flake", "path:/nix/store/h-source?narHash=sha256-x", "",
     "nixpkgs (path:/nix/store/h-source)"),
    ("channel", "<nixpkgs>", "", "nixpkgs (<nixpkgs>)"),
    ("channel", "github:NixOS/nixpkgs/" + "abc1234" + "f" * 33, "26.05",
     "nixpkgs 26.05 (<nixpkgs> at abc1234)"),
    ("path", "/src/nixpkgs", "24.05", "nixpkgs 24.05 at /src/nixpkgs"),
])
def test_describe_source(kind: str, url: str, release: str, text: str) -> None:
    assert statusline.describe_source(kind, url, release) == text


def test_show_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert statusline.show_path(tmp_path / "uvx-nix.lock") == "uvx-nix.lock"
    assert statusline.show_path(Path("/elsewhere/uvx-nix.lock")) == "/elsewhere/uvx-nix.lock"


def test_log_files_are_kept_only_on_failure_and_pruned(tmp_path: Path) -> None:
    ok = statusline.LogFile(tmp_path, ["nix", "build"])
    ok.write(["line"])
    assert ok.end(keep=False) is None
    assert list((tmp_path / "logs").iterdir()) == []
    for i in range(statusline.LogFile.KEEP + 2):
        (tmp_path / "logs" / f"nix-2000010{i:02d}T000000-1.log").write_text("old")
    failed = statusline.LogFile(tmp_path, ["nix", "build"])
    failed.write(["building it", "it> oops"])
    path = failed.end(keep=True)
    assert path is not None
    assert path.read_text() == "$ nix build\nbuilding it\nit> oops\n"
    logs = sorted((tmp_path / "logs").iterdir())
    assert len(logs) == statusline.LogFile.KEEP
    assert path in logs


def test_an_unwritable_cache_gives_no_log_file(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("not a directory")
    log = statusline.LogFile(tmp_path, ["nix"])
    log.write(["x"])
    assert log.end(keep=True) is None


def _fake_nix(tmp_path: Path, capture: str, code: int, stdout: str = "") -> dict[str, str]:
    """A `nix` that replays a capture on stderr, prints ``stdout`` and exits ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "out").write_text(stdout)
    script = bin_dir / "nix"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/argv\ncat {tmp_path}/out\n"
                      f"cat {LOGS / capture} >&2\nexit {code}\n")
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}


def test_nix_runs_with_the_structured_log_and_returns_stdout(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    environ = _fake_nix(tmp_path, "build.jsonl", 0, stdout='[{"ok": 1}]')
    assert nix._nix(["build", "--json"], environ, what="testing") == '[{"ok": 1}]'
    assert "--log-format internal-json build --json" in (tmp_path / "argv").read_text()
    assert capsys.readouterr().err == ""  # not a terminal, not CI: nothing
    assert list((tmp_path / "cache" / "logs").iterdir()) == []  # success keeps no log


def test_nix_failing_at_a_build_is_one_error_with_its_last_lines(tmp_path: Path) -> None:
    environ = _fake_nix(tmp_path, "build-failure.jsonl", 1)
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
    environ = {**_fake_nix(tmp_path, "eval-error.jsonl", 1), "UVX_NIX_DEBUG": "1"}
    with pytest.raises(UserError) as info:
        nix._nix(["build"], environ, what="testing")
    assert "attribute 'nothere' missing (at /tmp/example/pkgs.nix:17:32)" in str(info.value)
    err = capsys.readouterr().err
    assert "error: attribute 'nothere' missing" in err
    assert "17|   broken = let empty = { }; in empty.nothere;" in err


def test_nix_killed_by_a_signal(tmp_path: Path) -> None:
    environ = _fake_nix(tmp_path, "build.jsonl", 0)
    script = tmp_path / "bin" / "nix"
    script.write_text("#!/bin/sh\nkill -9 $$\n")
    with pytest.raises(UserError) as info:
        nix._nix(["build"], environ, what="testing")
    assert "nix was killed by signal 9" in str(info.value)


@pytest.mark.skipif(not os.path.exists("/dev/ptmx"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_the_status_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    environ = _fake_nix(tmp_path, "build.jsonl", 0)
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
    environ = _fake_nix(tmp_path, "build.jsonl", 0)
    script = tmp_path / "bin" / "nix"
    line = json.dumps({"action": "msg", "level": 0, "msg": "error: interrupted by the user"})
    script.write_text(f"#!/bin/sh\necho '@nix {line}' >&2\nexit 1\n")
    with pytest.raises(KeyboardInterrupt):
        nix._nix(["build"], environ, what="testing")
    script.write_text("#!/bin/sh\nkill -INT $$\nsleep 5\n")
    with pytest.raises(KeyboardInterrupt):
        nix._nix(["build"], environ, what="testing")
