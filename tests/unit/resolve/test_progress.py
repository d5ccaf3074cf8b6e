"""progress: reading Nix's structured log (real Nix 2.8 and 2.26 captures), drawing the line.

The captures in tests/nix-logs/ are stderr of real `nix build --log-format internal-json`
runs (see the README there); a fake `nix` replays them for the error tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.nixlog import (
    feed_until,
    lines,
)
from uvx_nix.resolve import progress


def test_before_any_activity_nix_is_evaluating() -> None:
    assert progress.NixLog().status().phase == "evaluating"


def test_a_finished_build_leaves_no_running_build(logs: Path) -> None:
    state = progress.NixLog()
    readable = [text for line in lines("build.jsonl", logs) for text in state.feed(line)]
    status = state.status()
    assert status.subject == ""
    assert status.builds == (2, 2)
    # The readable log: what Nix printed, then each build line under its name.
    assert "chatty-1.0> compiling part 3 of 3" in readable
    assert any(text.startswith("building '/nix/store/") for text in readable)
    assert state.failure()[1] is None


def test_a_failed_build_gives_its_name_message_and_last_lines(logs: Path) -> None:
    state = progress.NixLog()
    for line in lines("build-failure.jsonl", logs):
        state.feed(line)
    detail, build = state.failure()
    assert detail == "builder for 'chatty-1.0' failed with exit code 2"
    assert build is not None
    assert build.name == "chatty-1.0"
    assert list(build.lines)[-2:] == ["compiling part 3 of 3", "chatty: error: no such thing"]


def test_an_evaluation_error_gives_its_position(logs: Path) -> None:
    state = progress.NixLog()
    for line in lines("eval-error.jsonl", logs):
        state.feed(line)
    detail, build = state.failure()
    assert detail == "attribute 'nothere' missing (at /tmp/example/pkgs.nix:17:32)"
    assert build is None


def test_a_thrown_error_gives_its_message_not_the_trace(logs: Path) -> None:
    """Nix 2.20+ opens this error with a bare "error:" and "… while" trace lines."""
    state = progress.NixLog()
    for line in lines("eval-throw.jsonl", logs):
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
    state = feed_until("build.jsonl", "compiling part 1 of 3")
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


