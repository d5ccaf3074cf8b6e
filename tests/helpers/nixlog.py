"""Nix's structured logs for unit tests: the captures of both Nix versions, and a fake nix
that replays one."""

from __future__ import annotations

import io
from pathlib import Path

from uvx_nix.resolve import progress

LOGS = Path(__file__).parents[1] / "nix-logs" / "nix-2.8"


VERSIONS = ["nix-2.8", "nix-2.26"]


def logs_of(version: str) -> Path:
    """The directory of one Nix version's captures."""
    return Path(__file__).parents[1] / "nix-logs" / version


def lines(name: str, logs: Path = LOGS) -> list[str]:
    return (logs / name).read_text(encoding="utf-8").splitlines()


def feed_until(name: str, marker: str, logs: Path = LOGS) -> progress.NixLog:
    """Feed a capture up to and including the first line containing ``marker``."""
    state = progress.NixLog()
    for line in lines(name, logs):
        state.feed(line)
        if marker in line:
            return state
    raise AssertionError(f"{marker!r} not in {name}")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def fake_nix(tmp_path: Path, capture: str, code: int, stdout: str = "") -> dict[str, str]:
    """A `nix` that replays a capture on stderr, prints ``stdout`` and exits ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "out").write_text(stdout)
    script = bin_dir / "nix"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/argv\ncat {tmp_path}/out\n"
                      f"cat {LOGS / capture} >&2\nexit {code}\n")
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}
