"""The compiled launcher (src/uvx_nix/launcher/launcher.c) against the Python implementation.

The differential property: for a generated call (argv, environment, working directory, a
state file written by the real :mod:`uvx_nix.cache` writer, then project edits or damage),
the launcher either hands the call over to the Python entry point, arguments untouched and
environment unchanged but for its two hand-over variables, or it execs uv with exactly the
argv and environment (byte for byte, in order) that the real Python implementation execs
for the same call.  uv is a recorder program that prints what it was exec'd with; the
Python side is this tree's uvx-nix run as a program, not a copy of its logic.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import uvx_nix
from uvx_nix import argv as argv_mod
from uvx_nix import cache, cli, environment, execute, launcher
from uvx_nix.errors import UserError

REPO = Path(__file__).resolve().parents[3]
SOURCE = Path(launcher.SOURCE).read_text()
CC = shutil.which("cc") or shutil.which("gcc")
# At least this many generated calls per run (the acceptance: >= 500).
EXAMPLES = int(os.environ.get("UVX_NIX_LAUNCHER_EXAMPLES", "500"))

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc) on PATH")


def _c_array(name: str) -> list[str]:
    found = re.search(rf"{name}\[\] = \{{(.*?)\}};", SOURCE, re.DOTALL)
    assert found, f"no array {name} in launcher.c"
    body = re.sub(r"/\*.*?\*/", "", found.group(1), flags=re.DOTALL)
    return re.findall(r'"((?:[^"\\]|\\.)*)"', body)


def _c_define(name: str) -> str:
    found = re.search(rf'#define {name} "?([^"\s]*)"?', SOURCE)
    assert found, f"no #define {name} in launcher.c"
    return found.group(1)


# ---- the launcher's copies of Python's tables ----------------------------------------------

def test_tables_match_the_python_implementation() -> None:
    assert _c_array("KEY_VARIABLES") == list(cache.KEY_VARIABLES)
    assert set(_c_array("VALUE_OPTIONS")) == set(argv_mod.VALUE_OPTIONS)
    assert set(_c_array("GROUPS")) == set(argv_mod.GROUPS)
    assert {tuple(w.split()) for w in _c_array("NO_INTERPRETER")} == set(argv_mod.NO_INTERPRETER)
    assert {(w,) for w in _c_array("ENVIRONMENT_COMMANDS")} == set(argv_mod.ENVIRONMENT_COMMANDS)
    assert set(_c_array("NO_ENVIRONMENT_FLAGS")) == set(argv_mod._NO_ENVIRONMENT_FLAGS)
    assert {tuple(w.split()) for w in _c_array("PREPARING")} == set(cli.PREPARING)
    assert {tuple(w.split()) for w in _c_array("RUNNING")} == set(cli.RUNNING)
    short = re.search(r'SHORT_VALUE_OPTIONS\[\] = "([^"]*)"', SOURCE)
    assert short
    assert set(short.group(1)) == set(argv_mod.SHORT_VALUE_OPTIONS)
    assert _c_define("STATE_FORMAT") == cache.FORMAT
    assert int(_c_define("TOUCH_AFTER_SECONDS")) == cache.TOUCH_AFTER_SECONDS
    for name in ("PREFERENCE_MARKER", "STORE_PREFIX"):
        assert _c_define(name) == getattr(environment, name)
    assert _c_define("DEPTH") == execute.DEPTH
    assert (_c_define("LAUNCHER"), _c_define("LAUNCHER_NAME")) == (cli.LAUNCHER,
                                                                   cli.LAUNCHER_NAME)


# ---- programs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kit:
    root: Path
    launcher: Path  # built with the recorder as its Python entry point
    entry: Path  # that recorder
    reference: Path  # this tree's uvx-nix, run as a program
    uvbin: Path  # uv (recorder)
    uvbin2: Path  # uv and uvx (recorders)
    wrapperbin: Path  # a uv script that calls uvx_nix: skipped by both
    badbin: Path  # a uv that is not executable


def _compile(cc: str, source: Path, output: Path) -> None:
    subprocess.run([cc, "-O2", "-o", str(output), str(source)], check=True)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    assert CC is not None
    root = tmp_path_factory.mktemp("launcher")
    recorder = root / "recorder"
    _compile(CC, REPO / "tests" / "launcher" / "recorder.c", recorder)
    dirs = {name: root / name for name in ("uvbin", "uvbin2", "wrapperbin", "badbin", "entry",
                                           "l", "ref")}
    for d in dirs.values():
        d.mkdir()
    shutil.copy2(recorder, dirs["uvbin"] / "uv")
    shutil.copy2(recorder, dirs["uvbin2"] / "uv")
    shutil.copy2(recorder, dirs["uvbin2"] / "uvx")
    shutil.copy2(recorder, dirs["entry"] / "python-entry")
    (dirs["wrapperbin"] / "uv").write_text("#!/bin/sh\nexec python3 -m uvx_nix \"$@\"\n")
    (dirs["wrapperbin"] / "uv").chmod(0o755)
    (dirs["badbin"] / "uv").write_text("not a program\n")
    out = dirs["l"] / "uvx-nix"
    launcher.build(CC, str(out), str(dirs["entry"] / "python-entry"))
    (dirs["l"] / "uvx").symlink_to("uvx-nix")
    ref = dirs["ref"] / "uvx-nix"
    ref.write_text(f"#!{sys.executable}\nfrom uvx_nix.cli import entry\n\nentry()\n")
    ref.chmod(0o755)
    (dirs["ref"] / "uvx").symlink_to("uvx-nix")
    return Kit(root, out, dirs["entry"] / "python-entry", ref, dirs["uvbin"], dirs["uvbin2"],
               dirs["wrapperbin"], dirs["badbin"])


def _recorded(out: bytes) -> tuple[list[bytes], list[bytes]]:
    words = out.split(b"\0")
    assert words[-1] == b"", out[-200:]
    count = int(words[0])
    return words[1:1 + count], words[1 + count:-1]


def _run(program: Path, args: list[str], env: dict[str, str], cwd: Path) -> bytes:
    res = subprocess.run([str(program), *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=60, check=False)
    assert res.returncode == 0, (program, args, res.returncode, res.stderr[-2000:])
    return res.stdout


# ---- generated calls -----------------------------------------------------------------------

COMMANDS = [
    ["run", "python", "-c", "pass"], ["run", "x.py"], ["run", "-"], ["run", "--script", "s"],
    ["run", "-s", "t"], ["sync"], ["add", "six"], ["remove", "six"], ["lock"], ["venv"],
    ["tree"], ["export"], ["pip", "install", "six"], ["pip", "sync", "r.txt"],
    ["pip", "uninstall", "six"], ["pip", "list"], ["tool", "run", "ruff"],
    ["tool", "install", "ruff"], ["tool", "list"], ["python", "find"], ["version"],
    ["version", "1.0"], ["version", "--bump", "minor"], ["help"], ["cache", "dir"],
    ["nix", "status"], ["build"], ["init"], ["format"], ["--version"], ["-V"], [], ["pip"],
    ["self", "version"], ["generate-shell-completion", "bash"], ["help", "run"],
    # the everyday calls again, so hits are common
    *[["run", "python", "-c", "pass"], ["lock"], ["tree"], ["tool", "run", "ruff"]] * 8,
]
UVX_ARGS = [["ruff"], ["--version"], ["-V"], ["--from", "ruff", "ruff", "--fix"],
            ["-p", "3.12", "ruff"], []]
OPTIONS = [
    ["--directory", "sub"], ["--directory=sub"], ["--directory", "/"], ["--project", "."],
    ["-p", "3.12"], ["-p3.12"], ["-p=3.13"], ["-qp", "3.11"], ["--python", "3.11"],
    ["--python=3.12"], ["--no-config"], ["-q"], ["-qq"], ["--offline"], ["--managed-python"],
    ["--no-managed-python"], ["--python-preference", "only-system"], ["--frozen"],
    ["--no-sync"], ["--isolated"], ["--system"], ["--target", "t"], ["--prefix=p"],
    ["--config-file", "c.toml"], ["--script"], ["-s"], ["--help"], ["-h"], ["--"],
    ["--generate-shell-completion"], ["--with", "x"], ["-w", "x"], ["-qw", "x"], ["-wx"],
    ["-pw"], ["--color", "never"],
    ["-v"], ["--no-progress"], ["--bump"], ["--python"], ["-p"], ["--script", "y.py"],
]
FREE = st.text(alphabet="-=./apqsVhxy3é\udcff ", max_size=6)
LOCALES = [None, "C", "C.UTF-8", "en_US.UTF-8", "POSIX", ""]
STORE = "/nix/store/"


@st.composite
def _argv(draw: st.DrawFn) -> tuple[bool, list[str]]:
    uvx = draw(st.booleans().filter(lambda _: True)) and draw(st.integers(0, 5)) == 0
    words = list(draw(st.sampled_from(UVX_ARGS if uvx else COMMANDS)))
    for _ in range(draw(st.integers(0, 3))):
        option = draw(st.sampled_from(OPTIONS))
        at = draw(st.integers(0, len(words)))
        words[at:at] = option
    for _ in range(draw(st.integers(0, 1))):
        words.insert(draw(st.integers(0, len(words))), draw(FREE))
    return uvx, words


@dataclass
class Case:
    """One generated call: argv, environment, directory, and what happens to its state."""

    uvx: bool  # called as `uvx`
    args: list[str]
    cwd: str = "project"
    path: tuple[str, ...] = ("uvbin",)
    uv_env: str | None = None  # UVX_NIX_UV: a real uv, a missing file, empty
    uvx_nix: str | None = "1"
    cache: str = "home"
    extra: dict[str, str] = field(default_factory=dict)
    nested: dict[str, str] = field(default_factory=dict)
    lc_all: str | None = "C.UTF-8"
    lang: str | None = None
    lc_ctype: str | None = None
    write_state: bool = True
    fields: dict[str, str | None] = field(default_factory=dict)
    pyvenv: str = "none"  # the venv's pyvenv.cfg: its home line (see _setup)
    memo: str = "none"  # `uv run`'s memo of prepared environments for this command line
    old_root: bool = False
    damage: str = "none"


@st.composite
def _case(draw: st.DrawFn) -> Case:
    uvx, args = draw(_argv())
    return Case(
        uvx=uvx,
        args=args,
        cwd=draw(st.sampled_from(["project", "project/sub", "."])),
        path=draw(st.sampled_from([("uvbin",)] * 6 + [("wrapperbin", "uvbin"),
                                      ("uvbin2",), ("badbin", "uvbin"), ("", "uvbin"),
                                      ("wrapperbin",)])),
        uv_env=draw(st.sampled_from([None] * 8 + ["uvbin", "bogus", ""])),
        uvx_nix=draw(st.sampled_from(["1"] * 8 + [" On ", "yes", "0", "", "junk", "1\u00a0",
                                                      None])),
        cache=draw(st.sampled_from(["home", "xdg", "relative-xdg", "override"])),
        extra=draw(st.dictionaries(
            st.sampled_from([
                "UV_PYTHON", "UV_PYTHON_PREFERENCE", "UVX_NIX_PYTHON_PREFERENCE",
                "UV_MANAGED_PYTHON", "UV_NO_MANAGED_PYTHON", "LD_LIBRARY_PATH",
                "UVX_NIX_INJECTED_LD_LIBRARY_PATH", "UV_PYTHON_DOWNLOADS",
                "UV_SYSTEM_PYTHON", "UVX_NIX_DEPTH", "NIX_LD_LIBRARY_PATH", "UVX_NIX_TRUST",
                "UV_NO_CONFIG", "UVX_NIX_PYTHONPATH", "UVX_NIX_LIBRARY_PATH", "SOMETHING",
                "UV_PROJECT_ENVIRONMENT", "NIX_PATH", "UVX_NIX_LAUNCHER_NAME"]),
            st.sampled_from(["", "1", "true", " T ", "no", "only-system", "only-managed",
                             "/nix/store/aa-x/lib", "/a/lib:/nix/store/bb/site", "/libs/a/lib",
                             "/libs/a/lib:/mine", "/libs/a/lib:/libs/b/lib", "é", "\udcff",
                             "/hook/dir", "/hook/dir:/x", "3", "x"]),
            max_size=5)),
        # what an outer uvx-nix (`uv run uv ...`) leaves in the environment
        nested=draw(st.sampled_from([
            {}, {}, {}, {}, {}, {}, {"PYTHONPATH": ""},
            {"UVX_NIX_INJECTED_LD_LIBRARY_PATH": "/libs/a/lib", "LD_LIBRARY_PATH": "/libs/a/lib"},
            {"UVX_NIX_INJECTED_LD_LIBRARY_PATH": "/libs/a/lib",
             "LD_LIBRARY_PATH": "/libs/a/lib::/mine"},
            {"UVX_NIX_INJECTED_LD_LIBRARY_PATH": "/libs/a/lib",
             "LD_LIBRARY_PATH": "/libs/a/lib/x:/mine"},
            {"UVX_NIX_INJECTED_LD_LIBRARY_PATH": "/libs/a", "LD_LIBRARY_PATH": "/mine:/libs/a"},
            {"UV_PYTHON_PREFERENCE": "only-system", "UVX_NIX_PYTHON_PREFERENCE": "only-system"},
            {"UV_PYTHON_PREFERENCE": "system", "UVX_NIX_PYTHON_PREFERENCE": "only-system"},
            {"PYTHONPATH": "/hook/dir:/mine", "UVX_NIX_PYTHONPATH": "/hook/dir"},
            {"PYTHONPATH": "/nix/store/x-site:/mine::/nix/store/y"},
            {"PYTHONPATH": "/nix/store/x-site", "NIX_PYTHONPATH": "/nix/store/z"},
        ])),
        lc_all=draw(st.sampled_from(LOCALES)),
        lang=draw(st.sampled_from(LOCALES)),
        lc_ctype=draw(st.sampled_from(LOCALES)),
        write_state=draw(st.integers(0, 9)) < 9,  # hypothesis favours 0
        fields={
            "libs": draw(st.sampled_from(["", "/libs/a/lib", "/libs/a/lib:/libs/b/lib", None])),
            "strategy": draw(st.sampled_from(["interpreter", "interpreter", "nix-ld", None])),
            "preference": draw(st.sampled_from(["", "", "config", None])),
            "python_bin": draw(st.sampled_from(["STORE/python/bin", "", None])),
            "site": draw(st.sampled_from(["", "SITE", "SITE"])),
            "site_sig": draw(st.sampled_from(["ok"] * 8 + ["stale", None])),
            "hook_libs": draw(st.sampled_from(["LIBS"] * 6 + ["/other/lib", "", None])),
            "synced": draw(st.sampled_from(["ok", "ok", "ok", "stale", None])),
            "build_hook": draw(st.sampled_from(["", "/hook/dir", "/hook/dir", None])),
        },
        pyvenv=draw(st.sampled_from(["home", "home", "home", "home-at-end", "other", "none"])),
        memo=draw(st.sampled_from(["none", "ok", "ok", "stale", "other-libs", "odd", "empty",
                                   "no-pairs", "non-ascii", "crlf"])),
        old_root=draw(st.booleans()),
        damage=draw(st.sampled_from(
            ["none"] * 60 + ["edit-pyproject", "new-python-version", "remove-need", "truncate",
                             "flip", "append", "duplicate-field", "format", "other-key",
                             "site-changed", "edit-uv-lock", "unknown-tag", "empty"])),
    )


@contextmanager
def _process(env: dict[str, str], cwd: Path) -> Iterator[None]:
    """Compute in this process what uvx-nix would, with its environment and directory."""
    saved, here = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        os.chdir(here)


def _setup(kit: Kit, case: Case, base: Path) -> tuple[list[str], dict[str, str], Path]:
    home, project, store = base / "home", base / "project", base / "store"
    for d in (home, project / "sub", store / "python" / "bin", SITE(project),
              project / ".uvx-nix" / "gcroots"):
        d.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '0'\n")
    (project / "uv.lock").write_text("version = 1\n")
    home_line = f"home = {store / 'python' / 'bin'}"
    pyvenv = {"home": f"{home_line}\ninclude-system-site-packages = false\n",
              "home-at-end": f"version_info = 3.12.8\n{home_line}",
              "other": "home = /usr/bin\n", "none": None}[case.pyvenv]
    if pyvenv is not None:
        (project / ".venv" / "pyvenv.cfg").write_text(pyvenv)
    (project / "uvx-nix.lock").write_text("lock\n")
    gcroot = project / ".uvx-nix" / "gcroots" / "x86_64-linux"
    gcroot.symlink_to(store)
    if case.old_root:
        os.utime(gcroot, (time.time() - 2 * 86400,) * 2, follow_symlinks=False)
    kinds = {"uvbin": kit.uvbin, "uvbin2": kit.uvbin2, "wrapperbin": kit.wrapperbin,
             "badbin": kit.badbin, "": Path("")}
    env = {"PATH": ":".join(str(kinds[p]) if p else "" for p in case.path), "HOME": str(home)}
    if case.uv_env is not None:
        env["UVX_NIX_UV"] = {"uvbin": str(kit.uvbin / "uv"), "bogus": str(base / "nouv"),
                             "": ""}[case.uv_env]
    if case.uvx_nix is not None:
        env["UVX_NIX"] = case.uvx_nix
    cache_dir = {"home": None, "xdg": ("XDG_CACHE_HOME", str(base / "xdg")),
             "relative-xdg": ("XDG_CACHE_HOME", "rel"),
             "override": ("UVX_NIX_CACHE_DIR", str(base / "cache"))}[case.cache]
    if cache_dir:
        env[cache_dir[0]] = cache_dir[1]
    for name, value in [*case.nested.items(), *case.extra.items()]:
        env[name] = value
    for name, locale in (("LC_ALL", case.lc_all), ("LANG", case.lang),
                         ("LC_CTYPE", case.lc_ctype)):
        if locale is not None:
            env[name] = locale
    cwd = base / case.cwd
    args = list(case.args)
    full = ["tool", "run", *args] if case.uvx else args
    with _process(env, cwd):
        try:
            uv = execute.find_uv(env, own=str(kit.reference))
        except UserError:
            uv = None
        inv = argv_mod.parse(full)
        if uv is not None and inv.script != "-" and case.write_state:
            # where the real uvx-nix looks for this call's state, written by the real writer
            key = cache.key_for(inv, None, uv)
            path = os.path.abspath(cache.path(key, env))
            _write_state(case, path, key, project, store, gcroot)
            _write_memo(case, env, inv, project)
    return args, env, cwd


def SITE(project: Path) -> Path:  # noqa: N802 - the placeholder's name in Case.fields
    return project / ".venv" / "lib" / "python3.12" / "site-packages"


def _write_memo(case: Case, env: dict[str, str], inv: argv_mod.Invocation,
                project: Path) -> None:
    """The memo `uv run` / `uv tool run` keeps for this directory and command line: the
    libraries its environments were prepared with, then path and signature pairs."""
    if case.memo == "none":
        return
    libs = case.fields.get("libs") or ""
    watched = str(project / "uv.lock")
    sig = cache.signature(watched)
    text = {"ok": f"{libs}\n{watched}\n{sig}\n", "stale": f"{libs}\n{watched}\n1:2:3:4\n",
            "other-libs": f"/other/lib\n{watched}\n{sig}\n", "odd": f"{libs}\n{watched}\n",
            "empty": "", "no-pairs": f"{libs}\n",
            "non-ascii": f"{libs}\n{watched}\n{sig}\n/é\n-\n",
            "crlf": f"{libs}\r\n{watched}\r\n{sig}\r\n"}[case.memo]
    options = inv.args[: len(inv.args) - len(inv.tail)]
    memo = Path(cache.run_memo_path(env, os.getcwd(), options))
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_bytes(text.encode())


def _write_state(case: Case, path: str, key: str, project: Path, store: Path,
                 gcroot: Path) -> None:
    site = SITE(project)
    fields: dict[str, str] = {}
    for name, drawn in case.fields.items():
        value = case.fields.get("libs") if drawn == "LIBS" else drawn
        if value is not None:
            text = value.replace("STORE", str(store)).replace("SITE", str(site))
            fields[name] = text
            if text == "ok":
                fields[name] = (cache.synced(str(project)) if name == "synced"
                                else cache.signature(str(site)))
    fields.update({"gcroot": str(gcroot), "lockfile": str(project / "uvx-nix.lock"),
                   "root": str(project), "lock_dir": str(project), "auto": "1"})
    watched = [(str(project / "pyproject.toml"), cache.signature(str(project / "pyproject.toml"))),
               (str(project / ".python-version"), "-"),
               (str(project / "uvx-nix.lock"), cache.signature(str(project / "uvx-nix.lock")))]
    required = [str(store / "python"), str(gcroot)]
    data = cache.encode(key, fields, watched, required)
    damage = case.damage
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data = data[:40] + bytes([data[40] ^ 0x01]) + data[41:]
    elif damage == "append":
        data += b"\0field"
    elif damage == "duplicate-field":
        data += b"\0field\0libs\0/other/lib"
    elif damage == "unknown-tag":
        data += b"\0what\0x"
    elif damage == "format":
        data = data.replace(cache.FORMAT.encode(), b"uvx-nix-state-1", 1)
    elif damage == "other-key":
        data = cache.encode(key + "x", fields, watched, required)
    elif damage == "empty":
        data = b""
    assert cache.save(path, data)
    if damage == "edit-pyproject":
        time.sleep(0.001)
        (project / "pyproject.toml").write_text("[project]\nname = 'q'\nversion = '0'\n")
    elif damage == "new-python-version":
        (project / ".python-version").write_text("3.12\n")
    elif damage == "remove-need":
        (store / "python" / "bin").rmdir()
        (store / "python").rmdir()
    elif damage == "site-changed":
        (site / "new.pth").write_text("")
    elif damage == "edit-uv-lock":
        time.sleep(0.001)
        (project / "uv.lock").write_text("version = 1\nrevision = 2\n")


def _check(kit: Kit, case: Case, stats: Counter[str]) -> None:
    base = Path(tempfile.mkdtemp(dir=kit.root, prefix="case-"))
    try:
        args, env, cwd = _setup(kit, case, base)
        name = "uvx" if case.uvx else "uvx-nix"
        out = _run(kit.launcher.parent / name, args, env, cwd)
        argv, got_env = _recorded(out)
        if argv[0] == os.fsencode(kit.entry):
            # A hand-over: the arguments untouched, the environment plus two variables.
            assert argv[1:] == [os.fsencode(a) for a in args]
            expected = {**env, cli.LAUNCHER: str(kit.launcher.resolve()),
                        cli.LAUNCHER_NAME: name}
            assert got_env == [os.fsencode(f"{k}={v}") for k, v in expected.items()]
            stats["hand-over"] += 1
            return
        reference = _run(kit.reference.parent / name, args, env, cwd)
        want_argv, want_env = _recorded(reference)
        assert argv == want_argv
        assert got_env == want_env
        own = {os.fsencode(f"{k}={v}") for k, v in env.items()}
        changed = [e for e in got_env if e not in own and not e.startswith(b"LC_CTYPE=")]
        running = argv_mod.parse(["tool", "run", *args] if case.uvx else args).command[:2] \
            in cli.RUNNING
        stats[("hit:run" if running else "hit") if changed else "pass-through"] += 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_launcher_execs_what_python_execs_or_hands_over(kit: Kit) -> None:
    stats: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=_case())
    def check(case: Case) -> None:
        _check(kit, case, stats)

    check()
    total = sum(stats.values())
    assert total >= EXAMPLES, stats
    # The launcher must do its job, not hand everything over.
    assert stats["hit"] + stats["hit:run"] >= total // 10, stats
    assert stats["hit:run"] >= total // 50, stats  # `uv run` / `uvx` prepared: no Python
    assert stats["pass-through"] >= total // 20, stats
    assert stats["hand-over"] >= total // 20, stats
    print(f"launcher differential: {dict(stats)}")


# ---- targeted cases ------------------------------------------------------------------------

HIT_FIELDS: dict[str, str | None] = {"libs": "/libs/a/lib", "strategy": "interpreter",
                                     "preference": "", "python_bin": "STORE/python/bin",
                                     "site": "", "site_sig": None}
# A project whose venv uvx-nix prepared and saw synced (what the benchmark's hot case runs).
SYNCED_FIELDS: dict[str, str | None] = {**HIT_FIELDS, "site": "SITE", "site_sig": "ok",
                                        "hook_libs": "LIBS", "synced": "ok",
                                        "build_hook": "/hook/dir"}
RUN = ["run", "python", "-c", "pass"]


def test_damaged_state_hands_over(kit: Kit) -> None:
    """A state whose watched file changed is a miss: the launcher hands over at once."""
    stats: Counter[str] = Counter()
    _check(kit, Case(uvx=False, args=["lock"], fields=HIT_FIELDS, damage="edit-pyproject"),
           stats)
    assert stats == {"hand-over": 1}
    _check(kit, Case(uvx=False, args=["lock"], fields=HIT_FIELDS), stats)
    assert stats == {"hand-over": 1, "hit": 1}


def test_run_in_a_synced_project_is_a_hit(kit: Kit) -> None:
    """`uv run` in a prepared, synced venv execs uv without Python; once uv.lock changed
    (uv syncs first), the venv is on another interpreter, or its libraries are not the
    state's, Python prepares first."""
    stats: Counter[str] = Counter()
    _check(kit, Case(uvx=False, args=RUN, fields=SYNCED_FIELDS, pyvenv="home"), stats)
    assert stats == {"hit:run": 1}
    for case in (Case(uvx=False, args=RUN, fields=SYNCED_FIELDS, pyvenv="home",
                      damage="edit-uv-lock"),
                 Case(uvx=False, args=RUN, fields=SYNCED_FIELDS, pyvenv="other"),
                 Case(uvx=False, args=RUN, fields={**SYNCED_FIELDS, "hook_libs": ""},
                      pyvenv="home")):
        _check(kit, case, stats)
    assert stats == {"hit:run": 1, "hand-over": 3}


def test_build_hook_reaches_uv_only_outside_run(kit: Kit, tmp_path: Path) -> None:
    """The build toolchain's hook goes on uv's PYTHONPATH for `uv lock`, never for `uv run`."""
    for command, want in ((["lock"], [b"PYTHONPATH=/hook/dir"]), (RUN, [])):
        case = Case(uvx=False, args=command, fields=SYNCED_FIELDS, pyvenv="home")
        args, env, cwd = _setup(kit, case, tmp_path / command[0])
        argv, got_env = _recorded(_run(kit.launcher, args, env, cwd))
        assert argv[0] == os.fsencode(kit.uvbin / "uv")
        assert [e for e in got_env if e.startswith(b"PYTHONPATH=")] == want


def test_uvx_with_a_memo_is_a_hit(kit: Kit) -> None:
    """`uvx ruff` whose environments are still as prepared (the memo holds) is a hit."""
    stats: Counter[str] = Counter()
    _check(kit, Case(uvx=True, args=["ruff"], fields=HIT_FIELDS, memo="ok"), stats)
    assert stats == {"hit:run": 1}
    _check(kit, Case(uvx=True, args=["ruff"], fields=HIT_FIELDS, memo="stale"), stats)
    assert stats == {"hit:run": 1, "hand-over": 1}


def test_gc_root_is_touched_on_a_hit(kit: Kit, tmp_path: Path) -> None:
    case = Case(uvx=False, args=["lock"], fields=HIT_FIELDS, old_root=True)
    args, env, cwd = _setup(kit, case, tmp_path)
    gcroot = tmp_path / "project" / ".uvx-nix" / "gcroots" / "x86_64-linux"
    assert time.time() - gcroot.lstat().st_mtime > 86400
    argv, _ = _recorded(_run(kit.launcher, args, env, cwd))
    assert argv[0] == os.fsencode(kit.uvbin / "uv")
    assert time.time() - gcroot.lstat().st_mtime < 600


def test_missing_python_entry_is_one_line(kit: Kit, tmp_path: Path) -> None:
    assert CC is not None
    out = tmp_path / "uvx-nix"
    launcher.build(CC, str(out), str(tmp_path / "gone"))
    res = subprocess.run([str(out), "nix", "status"], capture_output=True, text=True,
                         check=False, env={"PATH": str(kit.uvbin), "HOME": str(tmp_path)})
    assert res.returncode == 77
    assert res.stderr.count("\n") == 1
    assert "cannot run uvx-nix's Python implementation" in res.stderr
    assert str(tmp_path / "gone") in res.stderr


def test_python_removes_the_hand_over_variables(kit: Kit, tmp_path: Path) -> None:
    """Handed over as `uvx`, Python runs `uv tool run` with neither variable left for uv."""
    env = {"PATH": str(kit.uvbin2), "HOME": str(tmp_path), "UVX_NIX": "0",
           cli.LAUNCHER: str(kit.launcher), cli.LAUNCHER_NAME: "uvx"}
    argv, got_env = _recorded(_run(kit.reference, ["ruff", "--fix"], env, tmp_path))
    assert argv == [os.fsencode(kit.uvbin2 / "uvx"), b"ruff", b"--fix"]
    assert not [e for e in got_env if e.startswith(b"UVX_NIX_LAUNCHER")]


def test_launcher_is_skipped_as_uv(kit: Kit, tmp_path: Path) -> None:
    """`uv` linked to the launcher earlier on PATH: both it and Python find the real uv."""
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "uv").symlink_to(kit.launcher)
    env = {"PATH": f"{shims}:{kit.uvbin}", "HOME": str(tmp_path), "UVX_NIX": "0"}
    for program in (shims / "uv", kit.reference):
        argv, _ = _recorded(_run(program, ["--version"], env, tmp_path))
        if argv[0] == os.fsencode(kit.entry):  # handed over: run Python as it would
            env2 = {**env, cli.LAUNCHER: str(kit.launcher), cli.LAUNCHER_NAME: "uv"}
            argv, _ = _recorded(_run(kit.reference, ["--version"], env2, tmp_path))
        assert argv == [os.fsencode(kit.uvbin / "uv"), b"--version"]


def test_c_string_escapes_every_byte() -> None:
    assert launcher._c_string('/a "b"\\?é') == '"/a \\042b\\042\\134\\077\\303\\251"'


# ---- `uvx-nix nix install-launcher` --------------------------------------------------------

def _install_env(kit: Kit, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{kit.uvbin}:/usr/bin:/bin", "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "UVX_NIX": "0", **extra}


def test_install_launcher_compiles_it_for_this_installation(kit: Kit, tmp_path: Path) -> None:
    assert CC is not None
    shims = tmp_path / "data" / "uvx-nix" / "bin"
    shims.mkdir(parents=True)
    (shims / "uv").symlink_to(kit.reference)  # what `nix install-shims` made earlier
    env = _install_env(kit, tmp_path)
    res = subprocess.run([str(kit.reference), "nix", "install-launcher", "--cc", CC],
                         env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert f"Installed uvx-nix's launcher as {shims / 'uvx-nix'}" in res.stderr
    assert (shims / "uvx-nix").read_bytes().startswith(b"\x7fELF")
    assert os.readlink(shims / "uv") == str(shims / "uvx-nix")
    # A pass-through execs uv without Python; its own commands go to this installation.
    argv, _ = _recorded(_run(shims / "uv", ["--version"], env, tmp_path))
    assert argv == [os.fsencode(kit.uvbin / "uv"), b"--version"]
    res = subprocess.run([str(shims / "uvx-nix"), "nix", "--version"], env=env,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"uvx-nix {uvx_nix.__version__}\n")
    # Again (an upgrade): it replaces its own launcher.
    res = subprocess.run([str(shims / "uvx-nix"), "nix", "install-launcher", "--cc", CC],
                         env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def test_install_launcher_refuses_a_foreign_file(kit: Kit, tmp_path: Path) -> None:
    target = tmp_path / "d" / "uvx-nix"
    target.parent.mkdir()
    target.write_text("mine\n")
    res = subprocess.run([str(kit.reference), "nix", "install-launcher", "--dir",
                          str(target.parent), "--cc", str(CC)], env=_install_env(kit, tmp_path),
                         capture_output=True, text=True, check=False)
    assert res.returncode == 70
    assert res.stderr == (f"error: uvx-nix: {target} exists and is not uvx-nix's launcher; "
                          "choose another directory with --dir\n")
    assert target.read_text() == "mine\n"


def test_install_launcher_on_nixos_uses_the_nixpkgs_compiler(kit: Kit, tmp_path: Path) -> None:
    """On NixOS the compiler is stdenv.cc of the configured nixpkgs, built by Nix."""
    assert CC is not None
    fake = tmp_path / "nixbin"
    fake.mkdir()
    cc_out = tmp_path / "cc-wrapper"
    (cc_out / "bin").mkdir(parents=True)
    (cc_out / "bin" / "cc").symlink_to(CC)
    log = tmp_path / "nix.log"
    (fake / "nix").write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {log}\n"
        f"printf '[{{\"drvPath\":\"x\",\"outputs\":{{\"out\":\"{cc_out}\"}}}}]\\n'\n")
    (fake / "nix").chmod(0o755)
    env = _install_env(kit, tmp_path, UVX_NIX="1",
                       UVX_NIX_NIXPKGS="github:NixOS/nixpkgs/nixos-26.05")
    env["PATH"] = f"{fake}:{env['PATH']}"
    res = subprocess.run([str(kit.reference), "nix", "install-launcher", "--dir",
                          str(tmp_path / "d")], env=env, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert log.read_text().splitlines()[-4:] == ["build", "--no-link", "--json",
                                                 "github:NixOS/nixpkgs/nixos-26.05#stdenv.cc"]
    assert f"compiled with {cc_out}/bin/cc" in res.stderr
    assert (tmp_path / "d" / "uvx-nix").read_bytes().startswith(b"\x7fELF")


def test_uvx_nix_uv_naming_the_launcher_is_a_loop(kit: Kit, tmp_path: Path) -> None:
    """UVX_NIX_UV set to uvx-nix itself: one error line (75), not a compiled program that
    execs itself forever."""
    env = {"PATH": str(kit.uvbin), "HOME": str(tmp_path), "UVX_NIX": "1",
           "UVX_NIX_UV": str(kit.launcher)}
    argv, _ = _recorded(_run(kit.launcher, ["--version"], env, tmp_path))
    assert argv[0] == os.fsencode(kit.entry)  # handed over
    env = {**env, cli.LAUNCHER: str(kit.launcher), cli.LAUNCHER_NAME: "uvx-nix"}
    for python_env in (env, {**env, "UVX_NIX_UV": str(kit.reference)}):
        res = subprocess.run([str(kit.reference), "--version"], env=python_env, cwd=tmp_path,
                             capture_output=True, text=True, check=False, timeout=60)
        assert res.returncode == 75
        assert "uv and uvx-nix call each other in a loop" in res.stderr
        assert res.stderr.count("\n") == 1
