"""uvx-nix's own lines in uv's voice: labels, colours as uv draws them, -q and -qq, escaping."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from uvx_nix import output


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _loud() -> object:
    output.configure(0)
    yield
    output.configure(0)


def test_labels_come_first_as_in_uv(capsys: pytest.CaptureFixture[str]) -> None:
    output.error("broken", {"NO_COLOR": "1"})
    output.warn("odd")
    output.notice("Locked things")
    assert capsys.readouterr().err == ("error: uvx-nix: broken\nwarning: uvx-nix: odd\n"
                                       "Locked things\n")


def test_quiet_hides_all_but_errors_and_very_quiet_hides_errors_too(
        capsys: pytest.CaptureFixture[str]) -> None:
    output.configure(1)
    assert output.quiet()
    output.warn("odd")
    output.notice("Locked")
    output.error("broken", {})
    assert capsys.readouterr().err == "error: uvx-nix: broken\n"
    output.configure(2)
    output.error("broken", {})
    assert capsys.readouterr().err == ""


def test_no_color_and_dumb_terminals_get_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert output.line("error", "x", {"NO_COLOR": "1"}) == "error: uvx-nix: x\n"
    assert output.line("warning", "x", {"TERM": "dumb"}) == "warning: uvx-nix: x\n"
    assert output.line("error", "x", {}).startswith("\033[1m\033[31merror")


def test_an_error_line_escapes_what_a_file_name_could_draw() -> None:
    """A path a repository named (an escape sequence, a bidi control, a non-UTF-8 byte) is
    escaped in the error line; a message's own line breaks stay."""
    name = "/p/x\x1b]0;owned\x07\u202e\udce9/pyproject.toml"
    line = output.line("error", f"{name} is not valid TOML\nlast lines:", {"NO_COLOR": "1"})
    assert line == ("error: uvx-nix: /p/x\\x1b]0;owned\\x07\\u202e\\udce9/pyproject.toml is "
                    "not valid TOML\nlast lines:\n")
    line.encode("utf-8")  # always writable, whatever the locale's error handler


def _uv() -> str:
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("needs uv beside the test interpreter (the test extra installs it)")
    return str(uv)


def test_the_coloured_label_is_drawn_as_uv_draws_its_own(tmp_path: Path) -> None:
    """Real uv on a terminal, failing: its error label and ours are the same bytes."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\ndependencies = ["no-such-package-zz"]\n')
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm", UV_NO_PROGRESS="1", UV_CACHE_DIR=str(tmp_path / "cache"))
    primary, secondary = pty.openpty()
    proc = subprocess.run([_uv(), "lock", "--offline", "--no-config"], cwd=tmp_path,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary,
                          env=env, timeout=120, check=False)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode != 0
    uv_label = text[text.index("\033[1m\033[31merror"):].split(" ", 1)[0]
    sys_stderr = sys.stderr
    try:
        sys.stderr = Terminal()
        ours = output.line("error", "x", {"TERM": "xterm"}).split(" ", 1)[0]
    finally:
        sys.stderr = sys_stderr
    assert ours == uv_label
