"""The status line while Nix runs, and Nix's log kept in a file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from helpers.nixlog import (
    Terminal,
    feed_until,
    lines,
)
from uvx_nix.resolve import progress, statusline


def test_a_running_build_names_itself_and_its_last_line(logs: Path) -> None:
    state = feed_until("build.jsonl", "compiling part 2 of 3", logs)
    status = state.status()
    assert (status.phase, status.subject, status.last_line) == \
        ("building", "chatty-1.0", "compiling part 2 of 3")
    assert status.builds == (1, 2)  # data-1.0 is built, chatty-1.0 is building
    assert statusline.format_status(status, 2.04, "x") == \
        "Building chatty-1.0 [1/2 built] 2.0s: compiling part 2 of 3"


def test_a_build_shows_its_stdenv_phase() -> None:
    state = feed_until("build.jsonl", "compiling part 1 of 3")
    ident = next(i for i, a in state._activities.items() if a.kind == progress.ACT_BUILD)
    state.feed("@nix " + json.dumps({"action": "result", "id": ident, "type": 104,
                                     "fields": ["buildPhase"]}))
    assert statusline.format_status(state.status(), 1.0, "x") == \
        "Building chatty-1.0 (buildPhase) [1/2 built] 1.0s: compiling part 1 of 3"


def test_a_download_counts_paths_and_bytes(logs: Path) -> None:
    state = feed_until("substitute.jsonl", '"fields":[1474560,3000448,0,0]', logs)
    status = state.status()
    assert (status.phase, status.subject) == ("downloading", "data-1.0")
    assert status.paths == (0, 2)
    assert status.transferred[0] == 1474560
    assert status.transferred[1] >= 3000448
    text = statusline.format_status(status, 1.0, "x")
    assert text.startswith("Downloading data-1.0 [0/2 paths, 1.4 MiB/")
    state = progress.NixLog()
    for line in lines("substitute.jsonl", logs):
        state.feed(line)
    assert state.status().paths == (2, 2)


@pytest.mark.parametrize(("environ", "quiet", "tty", "how"), [
    ({}, False, True, "tty"), ({"NO_COLOR": "1"}, False, True, "tty"),
    ({}, True, True, "off"), ({"TERM": "dumb"}, False, True, "off"),
    ({}, False, False, "off"), ({"CI": "true"}, False, False, "ci"),
    ({"CI": "true"}, True, False, "off"), ({"UVX_NIX_DEBUG": "1"}, True, False, "debug"),
    ({"UV_NO_PROGRESS": "1"}, False, True, "off"), ({"UV_NO_PROGRESS": "0"}, False, True, "tty"),
])
def test_mode(environ: dict[str, str], quiet: bool, tty: bool, how: str) -> None:
    stream = Terminal() if tty else io.StringIO()
    assert statusline.mode(environ, quiet, stream) == how


@pytest.mark.parametrize(("args", "asked"), [
    (("--no-progress", "sync"), True), (("run", "--no-progress", "x"), True),
    (("run", "--", "prog", "--no-progress"), False), (("sync",), False),
])
def test_asked_no_progress(args: tuple[str, ...], asked: bool) -> None:
    assert statusline.asked_no_progress(args) is asked


def test_the_status_line_is_redrawn_in_place_and_erased() -> None:
    stream = Terminal()
    display = statusline.Display("tty", "x", {}, stream)
    display.update(feed_until("build.jsonl", "compiling part 1 of 3").status())
    out = stream.getvalue()
    assert out.startswith("\r\033[36m")
    assert out.endswith("\033[K")
    assert "Building chatty-1.0 [1/2 built]" in out
    assert "compiling part 1 of 3" in out
    display.close()
    assert stream.getvalue().endswith("\r\033[K")


def test_no_color_draws_no_colour() -> None:
    stream = Terminal()
    display = statusline.Display("tty", "x", {"NO_COLOR": ""}, stream)
    display.update(progress.NixLog().status())
    assert "\033[3" not in stream.getvalue()
    assert "Evaluating nixpkgs (x)" in stream.getvalue()


def test_ci_prints_each_phase_once_and_off_prints_nothing() -> None:
    ci, off = io.StringIO(), io.StringIO()
    displays = [statusline.Display("ci", "resolving", {}, ci),
                statusline.Display("off", "resolving", {}, off)]
    state = progress.NixLog()
    for line in lines("build.jsonl"):
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
