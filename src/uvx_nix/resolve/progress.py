"""What Nix is doing while a user waits: read Nix's structured log, show one status line.

Every Nix process runs with ``--log-format internal-json``: each stderr line is ``@nix ``
followed by one JSON object (anything else is passed on as plain text).  The format, as
NixOS/nix writes it in ``src/libutil/logging.cc`` (``JSONLogger``) in 2.8 and in current
2.2x releases alike:

* ``{"action": "msg", "level": L, "msg": S}``; an error also has ``raw_msg`` (the message
  without "error:" and the code excerpt) and ``file``/``line``/``column`` (null when unknown).
* ``{"action": "start", "id": N, "level": L, "type": T, "text": S, "parent": P,
  "fields": [...]}`` and ``{"action": "stop", "id": N}``: an activity.
* ``{"action": "result", "id": N, "type": R, "fields": [...]}``: a result of an activity.

The numbers are the ``ActivityType`` and ``ResultType`` enums of ``src/libutil/logging.hh``
(2.8; current Nix keeps these values and adds ``actFetchTree = 112``, ``actFetchToStore =
113`` and result types from 108 on, which are read as "unknown" here).  How they add up to
"N/M built, N/M copied (bytes)" follows ``src/libmain/progress-bar.cc`` (``getStatus``): the
aggregate activities report ``resProgress`` [done, expected, running, failed], and
``actRealise`` announces totals with ``resSetExpected`` [activity type, expected].  With the
JSON logger Nix reports every build log line as ``resBuildLogLine`` (the logger is
"verbose"), so its own error message for a failed build does not repeat the last lines:
they are kept here, per build.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# ActivityType (src/libutil/logging.hh)
ACT_UNKNOWN = 0
ACT_COPY_PATH = 100  # fields: [store path, from, to]; resProgress in bytes (NAR size)
ACT_FILE_TRANSFER = 101  # fields: [uri]; resProgress in bytes downloaded
ACT_REALISE = 102  # resSetExpected [type, total] for the whole realisation
ACT_COPY_PATHS = 103  # resProgress in store paths
ACT_BUILDS = 104  # resProgress in derivations built
ACT_BUILD = 105  # fields: [drv path, machine, round, rounds]
ACT_SUBSTITUTE = 108  # fields: [store path, substituter]
ACT_QUERY_PATH_INFO = 109  # fields: [store path, substituter]
ACT_BUILD_WAITING = 111
ACT_FETCH_TREE = 112  # current Nix only: fetching a flake input or tarball

# ResultType (src/libutil/logging.hh)
RES_BUILD_LOG_LINE = 101  # fields: [line]
RES_SET_PHASE = 104  # fields: [phase name], a stdenv phase such as "buildPhase"
RES_PROGRESS = 105  # fields: [done, expected, running, failed]
RES_SET_EXPECTED = 106  # fields: [activity type, expected]
RES_POST_BUILD_LOG_LINE = 107  # fields: [line]

LEVEL_ERROR = 0
LEVEL_WARN = 1
LAST_LINES = 10  # of a failed build, in the error
_KEEP_LINES = 25  # per build, while it runs
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DRV = re.compile(r"/nix/store/[0-9a-z]{32}-[^'\"\s]+\.drv")
_DOWNLOADING = (ACT_SUBSTITUTE, ACT_COPY_PATH, ACT_FILE_TRANSFER, ACT_FETCH_TREE)
# resolve.nix's own result (a builtin:buildenv, built in a moment): not worth naming.
_OWN_BUILD = "uvx-nix-env"


def clean(text: str) -> str:
    """Text from Nix or a builder, safe for a terminal: no escape sequences or controls."""
    return _CONTROL.sub("", _ESCAPES.sub("", text))


def store_name(path: str) -> str:
    """``/nix/store/<hash>-slowlib-1.0.drv`` -> ``slowlib-1.0`` (as progress-bar.cc names)."""
    base = path.rsplit("/", 1)[-1]
    name = base.split("-", 1)[1] if "-" in base else base
    return name.removesuffix(".drv")


def size(n: int) -> str:
    """Bytes in uv's style: ``512 B``, ``14.2 KiB``, ``96.0 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


@dataclass
class _Activity:
    kind: int
    text: str
    parent: int
    fields: list[Any]
    started: int  # order of starting, to find the newest
    done: int = 0
    expected: int = 0
    running: int = 0
    failed: int = 0
    expected_by_type: dict[int, int] = field(default_factory=dict)


@dataclass
class Build:
    """One derivation Nix built (or tried to): its name and its last log lines."""

    drv: str
    name: str
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=_KEEP_LINES))
    phase: str = ""
    running: bool = True


@dataclass(frozen=True)
class Message:
    level: int
    text: str  # the whole message, cleaned (may span lines)
    raw: str  # without "error:" and the code excerpt, when Nix gave it
    position: str  # "file:line:column", or ""


@dataclass(frozen=True)
class Status:
    """What the status line shows."""

    phase: str  # "evaluating", "downloading" or "building"
    subject: str  # the current build's or download's name
    builds: tuple[int, int]  # done, expected
    paths: tuple[int, int]  # store paths copied: done, expected
    transferred: tuple[int, int]  # bytes: done, expected
    last_line: str
    step: str = ""  # the build's stdenv phase (resSetPhase), e.g. "buildPhase"


class NixLog:
    """The state of one Nix process, fed its stderr line by line."""

    def __init__(self) -> None:
        self._activities: dict[int, _Activity] = {}
        self._finished: dict[int, tuple[int, int]] = {}  # type -> (done, failed) of stopped
        self._expected: dict[int, int] = {}  # type -> totals announced by resSetExpected
        self._order = 0
        self._phase = "evaluating"
        self.builds: dict[str, Build] = {}
        self.messages: list[Message] = []
        self.other: deque[str] = deque(maxlen=50)  # stderr lines that were not @nix JSON

    def feed(self, line: str) -> list[str]:
        """Take one stderr line; return what it adds to the human-readable log."""
        line = line.rstrip("\r\n")
        if not line.startswith("@nix "):
            if line.strip():
                self.other.append(clean(line))
                return [clean(line)]
            return []
        try:
            event = json.loads(line[5:])
        except ValueError:
            self.other.append(clean(line))
            return [clean(line)]
        if not isinstance(event, dict):
            return []
        action = event.get("action")
        if action == "msg":
            return self._message(event)
        if action == "start":
            return self._start(event)
        if action == "stop":
            self._stop(_int(event.get("id")))
            return []
        if action == "result":
            return self._result(event)
        return []

    def _message(self, event: Mapping[str, Any]) -> list[str]:
        text = clean(str(event.get("msg", "")))
        raw = clean(str(event.get("raw_msg", "")))
        position = ""
        if event.get("file") and event.get("line"):
            # 2.8 gives the file alone; current Nix prints the position into it ("f:17:32").
            position = clean(str(event["file"]))
            where = f":{_int(event['line'])}" + (
                f":{_int(event['column'])}" if event.get("column") else "")
            if not position.endswith(where):
                position += where
        self.messages.append(Message(_int(event.get("level")), text, raw, position))
        return text.splitlines() or [""]

    def _start(self, event: Mapping[str, Any]) -> list[str]:
        fields = event.get("fields") if isinstance(event.get("fields"), list) else []
        kind = _int(event.get("type"))
        act = _Activity(kind, clean(str(event.get("text", ""))), _int(event.get("parent")),
                        list(fields or []), self._order)
        self._order += 1
        self._activities[_int(event.get("id"))] = act
        if kind == ACT_BUILD and act.fields and isinstance(act.fields[0], str):
            drv = act.fields[0]
            self.builds[drv] = Build(drv, clean(store_name(drv)))
            if self.builds[drv].name != _OWN_BUILD:
                self._phase = "building"
        elif kind in _DOWNLOADING:
            self._phase = "downloading" if self._phase == "evaluating" else self._phase
        return [act.text] if act.text and _int(event.get("level")) <= 3 else []

    def _stop(self, ident: int) -> None:
        act = self._activities.pop(ident, None)
        if act is None:
            return
        done, failed = self._finished.get(act.kind, (0, 0))
        self._finished[act.kind] = (done + act.done, failed + act.failed)
        for kind, expected in act.expected_by_type.items():
            self._expected[kind] = self._expected.get(kind, 0) - expected
        build = self._build_of(act)
        if build is not None:
            build.running = False

    def _build_of(self, act: _Activity) -> Build | None:
        if act.kind == ACT_BUILD and act.fields and isinstance(act.fields[0], str):
            return self.builds.get(act.fields[0])
        return None

    def _result(self, event: Mapping[str, Any]) -> list[str]:
        act = self._activities.get(_int(event.get("id")))
        fields = event.get("fields") if isinstance(event.get("fields"), list) else []
        kind = _int(event.get("type"))
        if act is None or not fields:
            return []
        if kind in (RES_BUILD_LOG_LINE, RES_POST_BUILD_LOG_LINE) and isinstance(fields[0], str):
            text = clean(fields[0].rstrip())
            build = self._build_of(act)
            if build is None:
                return [text]
            build.lines.append(text)
            return [f"{build.name}> {text}"]
        if kind == RES_SET_PHASE and isinstance(fields[0], str):
            build = self._build_of(act)
            if build is not None:
                build.phase = clean(fields[0])
        elif kind == RES_PROGRESS and len(fields) >= 4:
            act.done, act.expected, act.running, act.failed = (_int(f) for f in fields[:4])
        elif kind == RES_SET_EXPECTED and len(fields) >= 2:
            which, expected = _int(fields[0]), _int(fields[1])
            self._expected[which] = (self._expected.get(which, 0)
                                     - act.expected_by_type.get(which, 0) + expected)
            act.expected_by_type[which] = expected
        return []

    def _totals(self, kind: int) -> tuple[int, int, int]:
        """(done, expected, running) of one activity type, as progress-bar.cc adds them."""
        done = self._finished.get(kind, (0, 0))[0]
        expected, running = done, 0
        for act in self._activities.values():
            if act.kind == kind:
                done += act.done
                expected += act.expected
                running += act.running
        return done, max(expected, self._expected.get(kind, 0)), running

    def status(self) -> Status:
        running = sorted(self._activities.values(), key=lambda a: a.started, reverse=True)
        subject, last, step = "", "", ""
        builds = [b for b in (self._build_of(a) for a in running)
                  if b is not None and b.name != _OWN_BUILD]
        phase = self._phase
        if builds:
            phase, subject, step = "building", builds[0].name, builds[0].phase
            last = builds[0].lines[-1] if builds[0].lines else ""
        else:
            downloads = [a for a in running if a.kind in _DOWNLOADING]
            if downloads:
                phase = "downloading"
                for act in downloads:
                    if act.fields and isinstance(act.fields[0], str) and \
                            act.fields[0].startswith("/nix/store/"):
                        subject = clean(store_name(act.fields[0]))
                        break
        built = self._totals(ACT_BUILDS)
        paths = self._totals(ACT_COPY_PATHS)
        # Bytes of the store paths copied in (NAR size, what progress-bar.cc shows as
        # "copied (X/Y MiB)"); a plain download, such as a flake's tarball, has only these.
        transfer = self._totals(ACT_COPY_PATH)
        if transfer[:2] == (0, 0):
            transfer = self._totals(ACT_FILE_TRANSFER)
        return Status(phase, subject, built[:2], paths[:2], transfer[:2], last, step)

    def failure(self) -> tuple[str, Build | None]:
        """The useful part of the log: the error (with its position), the failed build."""
        errors = [m for m in self.messages if m.level == LEVEL_ERROR and m.text.strip()]
        failed: Build | None = None
        for message in errors:
            for drv in _DRV.findall(message.text):
                if drv in self.builds and failed is None:
                    failed = self.builds[drv]
        failed_count = self._finished.get(ACT_BUILDS, (0, 0))[1] + sum(
            a.failed for a in self._activities.values() if a.kind == ACT_BUILDS)
        stopped = [b for b in self.builds.values() if not b.running and b.lines]
        if failed is None and failed_count and stopped:
            failed = stopped[-1]
        if errors:
            first = errors[0]
            text = first.raw or _first_line(first.text).removeprefix("error:").strip()
            text = _DRV.sub(lambda m: store_name(m.group(0)), " ".join(text.split()))
            if first.position and first.position not in text:
                text = f"{text} (at {first.position})"
        elif self.other:
            text = " ".join(list(self.other)[-3:])
        else:
            text = "no message"
        return text[:600], failed


def _first_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.strip()), "")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


