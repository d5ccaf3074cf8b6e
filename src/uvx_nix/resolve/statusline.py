"""The status line uvx-nix shows while Nix runs (one line, redrawn on a terminal; a line a
second in CI; nothing with ``-q`` or ``--no-progress``), and Nix's log kept in a file."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from uvx_nix import output
from uvx_nix.resolve import progress

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def format_status(status: progress.Status, elapsed: float, what: str) -> str:
    """The text of the status line (without the spinner)."""
    if status.phase == "building":
        head = f"Building {status.subject}" if status.subject else "Building"
        head += f" ({status.step})" if status.step else ""
    elif status.phase == "downloading":
        head = f"Downloading {status.subject}" if status.subject else "Downloading"
    else:
        head = f"Evaluating nixpkgs ({what})"
    counts = []
    done, expected = status.builds
    if expected > 1 and status.phase == "building":  # Nix counts a substituted one too
        counts.append(f"{done}/{expected} built")
    done, expected = status.paths
    if expected:
        counts.append(f"{done}/{expected} paths")
    done, expected = status.transferred
    if expected:
        counts.append(f"{progress.size(done)}/{progress.size(expected)}")
    elif done:
        counts.append(progress.size(done))
    text = head + (f" [{', '.join(counts)}]" if counts else "") + f" {elapsed:.1f}s"
    return text + (f": {status.last_line}" if status.last_line else "")


def asked_no_progress(args: tuple[str, ...]) -> bool:
    """uv's ``--no-progress`` among the options (before a ``--``)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--no-progress":
            return True
    return False


def mode(environ: Mapping[str, str], quiet: bool, stream: IO[str]) -> str:
    """How to show progress: "debug" (the whole log), "tty" (one updating line), "ci" (a plain
    line per phase, only when CI is set and stderr is not a terminal), or "off" (also for uv's
    ``--no-progress``, passed here as ``UV_NO_PROGRESS``)."""
    if environ.get("UVX_NIX_DEBUG") == "1":
        return "debug"
    if quiet or output.quiet() or environ.get("UV_NO_PROGRESS", "").lower() in _TRUE:
        return "off"
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty and environ.get("TERM") != "dumb":
        return "tty"
    if environ.get("CI", "").lower() in _TRUE:
        return "ci"
    return "off"


class Display:
    """Draws the status line on stderr (or the phase lines, or the debug log)."""

    def __init__(self, how: str, what: str, environ: Mapping[str, str],
                 stream: IO[str] | None = None) -> None:
        self.how = how
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.color = "NO_COLOR" not in environ
        self.start = time.monotonic()
        self._drawn = False
        self._last = ""
        self._phases: set[str] = set()
        self._tick = 0
        self._drawn_at = 0.0

    def log(self, lines: list[str]) -> None:
        if self.how == "debug":
            for line in lines:
                self.stream.write(line + "\n")
            self.stream.flush()

    def update(self, status: progress.Status) -> None:
        elapsed = time.monotonic() - self.start
        if self.how == "ci":
            if status.phase not in self._phases:
                self._phases.add(status.phase)
                name = f" {status.subject}" if status.subject else ""
                what = f" ({self.what})" if status.phase == "evaluating" else ""
                self.stream.write(f"uvx-nix: {status.phase}{name}{what} with Nix\n")
                self.stream.flush()
            return
        if self.how != "tty":
            return
        now = time.monotonic()
        if self._drawn and now - self._drawn_at < 0.08:
            return  # Nix 2.8 reports every 8 KiB copied: redraw at most ~12 times a second
        self._drawn_at = now
        self._tick += 1
        text = format_status(status, elapsed, self.what)
        width = terminal_width(self.stream)
        spinner = SPINNER[self._tick % len(SPINNER)]
        text = text[: max(width - 3, 10)]
        line = f"\033[36m{spinner}\033[0m {text}" if self.color else f"{spinner} {text}"
        if line != self._last:
            self.stream.write(f"\r{line}\033[K")
            self.stream.flush()
            self._last = line
            self._drawn = True

    def close(self) -> None:
        """Erase the status line (uv's progress leaves nothing behind)."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False


def terminal_width(stream: IO[str]) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns if columns > 0 else 80  # a terminal that reports no progress.size


def follow(proc: subprocess.Popen[bytes], display: Display,
           log: Callable[[list[str]], None]) -> tuple[str, progress.NixLog]:
    """Read the Nix process to its end: stdout (returned whole) and the stderr log, redrawing
    the status line at least every 0.1 s (so the elapsed time moves while Nix evaluates)."""
    if proc.stdout is None or proc.stderr is None:
        raise ValueError("follow() needs a process started with stdout and stderr pipes")
    state = progress.NixLog()
    out = bytearray()
    pending = b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    try:
        while sel.get_map():
            for key, _ in sel.select(timeout=0.1):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if key.data == "out":
                    out += chunk
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    added = state.feed(raw.decode("utf-8", "replace"))
                    log(added)
                    display.log(added)
            display.update(state.status())
        if pending:
            added = state.feed(pending.decode("utf-8", "replace"))
            log(added)
            display.log(added)
        proc.wait()
    finally:
        sel.close()
        display.close()
    return out.decode("utf-8", "replace"), state


class LogFile:
    """The full, readable log of one Nix run in ``<cache>/logs/``; kept only on failure."""

    KEEP = 10

    def __init__(self, cache: Path, argv: list[str]) -> None:
        self.path: Path | None = None
        self._file: IO[str] | None = None
        directory = cache / "logs"
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / f"nix-{stamp}-{os.getpid()}.log"
            # A path that is not UTF-8 (a project's directory name) goes in as its bytes.
            self._file = open(self.path, "x", encoding="utf-8",  # noqa: SIM115 - closed in end()
                              errors="surrogateescape")
            self._file.write("$ " + " ".join(argv) + "\n")
        except OSError:
            self.path = None
            self._file = None
        self._directory = directory

    def write(self, lines: list[str]) -> None:
        if self._file is not None and lines:
            with contextlib.suppress(OSError):
                self._file.write("".join(line + "\n" for line in lines))

    def end(self, keep: bool) -> Path | None:
        """Close the log; drop it after a success, keep the newest ``KEEP`` failures."""
        if self._file is None or self.path is None:
            return None
        try:
            self._file.close()
            if not keep:
                self.path.unlink()
                return None
            logs = sorted(self._directory.glob("nix-*.log"))
            for old in logs[: -self.KEEP]:
                old.unlink()
        except OSError:
            pass
        return self.path if keep and self.path.exists() else None


def describe_source(kind: str, url: str, release: str = "") -> str:
    """A locked nixpkgs for people: ``nixpkgs 25.11 (abc1234)``, ``nixpkgs (path:/dir)``."""
    name = "nixpkgs" + (f" {progress.clean(release)}" if release else "")
    if kind == "channel":
        rev = _REV.search(url)
        return f"{name} (<nixpkgs> at {rev.group(1)[:7]})" if rev else f"{name} (<nixpkgs>)"
    if kind == "path":
        return f"{name} at {progress.clean(url)}"
    rev = _REV.search(url)
    if rev:
        return f"{name} ({rev.group(1)[:7]})"
    return f"{name} ({progress.clean(url.split('?', 1)[0])})"


def show_path(path: Path) -> str:
    """A path relative to the working directory when it is below it, else in full."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


_TRUE = ("1", "true", "yes", "on")


_REV = re.compile(r"(?:^|[/=])([0-9a-f]{40})(?:$|[?&/])")
