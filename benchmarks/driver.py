"""Benchmark driver, run INSIDE the NixOS simulation by benchmarks/run.py (stdlib only).

One sim session runs every loop, so bubblewrap's start-up is never timed.  Each group of
cases is interleaved (the order alternates every round) and every case is spawned with
``os.posix_spawn`` + ``os.wait4``: wall time from ``perf_counter_ns`` and the peak RSS of
the process tree from the rusage ``wait4`` returns.  Output: one JSON file of raw samples
that run.py turns into figures.

Usage: python3 driver.py --work DIR --repo DIR --out FILE --repeat N [--quick]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Env = dict[str, str]
NIXFLAGS = ["--extra-experimental-features", "nix-command flakes"]
HEAVY = ("dataclasses", "json", "re", "tomlkit", "psutil")


class Case:
    """One command to time: argv, environment, directory, and an untimed step before it."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path,
                 before: Callable[[], None] | None = None) -> None:
        exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            raise SystemExit(f"driver: {argv[0]} not found on PATH for case {name}")
        self.name = name
        self.argv = [exe, *argv[1:]]
        self.env = dict(env)
        self.cwd = cwd
        self.before = before
        self.ns: list[int] = []
        self.rss_kb: list[int] = []


def spawn(case: Case) -> tuple[int, int, int]:
    """Run once, output discarded: (wall ns, wait status, peak RSS in KiB)."""
    os.chdir(case.cwd)
    null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(case.argv[0], case.argv, case.env, file_actions=null)
    _, status, usage = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    return t1 - t0, status, usage.ru_maxrss


def check(case: Case) -> None:
    """One untimed run with output captured; fail loudly if the case does not work."""
    if case.before:
        case.before()
    res = subprocess.run(case.argv, env=case.env, cwd=case.cwd, capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise SystemExit(f"driver: case {case.name} failed ({res.returncode}): {case.argv}\n"
                         f"{res.stdout[-2000:]}\n{res.stderr[-2000:]}")


def measure(cases: Sequence[Case], repeat: int, warmup: int = 2) -> None:
    """Interleave the cases, alternating the order every round to cancel drift."""
    for case in cases:
        check(case)
        for _ in range(warmup - 1):
            if case.before:
                case.before()
            spawn(case)
    for i in range(repeat):
        for case in (cases if i % 2 == 0 else list(reversed(cases))):
            if case.before:
                case.before()
            ns, status, rss = spawn(case)
            if status != 0:
                raise SystemExit(f"driver: case {case.name} exited with status {status}")
            case.ns.append(ns)
            case.rss_kb.append(rss)
    sys.stderr.write(f"driver: measured {', '.join(c.name for c in cases)}\n")


def dump(cases: Sequence[Case]) -> dict[str, Any]:
    return {c.name: {"argv": c.argv, "ns": c.ns, "rss_kb": c.rss_kb} for c in cases}


def out(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> str:
    res = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise SystemExit(f"driver: {list(argv)} failed in {cwd}:\n{res.stderr[-3000:]}")
    return res.stdout


def write_project(directory: Path, extra: str = "", name: str = "demo") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        f"dependencies = []\n{extra}")
    return directory


def exported(env: Env, cwd: Path) -> Env:
    """The environment uvx-nix gives uv, applied by hand (what a dev shell or direnv does)."""
    delta = json.loads(out(["uvx-nix", "nix", "env", "--format", "json"], env, cwd))
    result = dict(env)
    for key, value in delta.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def lock_project(env: Env, cwd: Path) -> None:
    """uv.lock, .venv, uvx-nix.lock and the hot state: the project as a user has it."""
    out(["uvx-nix", "sync"], env, cwd)
    out(["uvx-nix", "run", "python", "-c", "pass"], env, cwd)


def rm(*paths: Path) -> Callable[[], None]:
    def clean() -> None:
        for p in paths:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
    return clean


def fresh_link(link: Path) -> Callable[[], None]:
    def clean() -> None:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
    return clean


# ------------------------------------------------------------------ entry-point shapes
def entry_scripts(work: Path, repo: Path, venv_python: str, pydeps: Path) -> dict[str, Path]:
    """Entry scripts of different shapes, all running this tree's uvx_nix.cli.

    ``pip``: what pip/installer (and nixpkgs' buildPythonApplication) generate: imports re.
    ``lean``: ``python -I -S`` and an explicit sys.path: no site, no .pth processing.
    """
    d = work / "entry"
    d.mkdir(exist_ok=True)
    scripts = {
        "pip": (f"#!{venv_python}\nimport re\nimport sys\nfrom uvx_nix.cli import entry\n"
                "if __name__ == '__main__':\n"
                "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                "    sys.exit(entry())\n"),
        "lean": (f"#!{venv_python} -IS\nimport sys\n"
                 f"sys.path[:0] = [{str(repo / 'src')!r}, {str(pydeps)!r}]\n"
                 "from uvx_nix.cli import entry\nentry()\n"),
    }
    paths = {}
    for name, text in scripts.items():
        p = d / f"uvx-nix-{name}"
        p.write_text(text)
        p.chmod(0o755)
        paths[name] = p
    return paths


# ------------------------------------------------------------------ import time
def importtime_tree(stderr: str) -> list[dict[str, Any]]:
    """Parse ``-X importtime`` output into rows with depth and direct children."""
    rows: list[dict[str, Any]] = []
    pending: dict[int, list[str]] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name_part = line.split(":", 1)[1].split("|", 2)
        depth = (len(name_part) - len(name_part.lstrip()) - 1) // 2
        name = name_part.strip()
        children = pending.pop(depth + 1, [])
        for deeper in [k for k in pending if k > depth + 1]:
            pending.pop(deeper)
        rows.append({"module": name, "self_us": int(self_us), "cumulative_us": int(cum_us),
                     "depth": depth, "imports": children})
        pending.setdefault(depth, []).append(name)
    return rows


def importtime(env: Env, argv: Sequence[str], cwd: Path) -> dict[str, Any]:
    """``-X importtime`` of a hit (the look-alike's python ignores PYTHONIMPORTTIME)."""
    res = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise SystemExit(f"driver: importtime run {list(argv)} failed:\n{res.stderr[-2000:]}")
    rows = importtime_tree(res.stderr)
    top = sorted(rows, key=lambda r: r["cumulative_us"], reverse=True)[:10]
    children = {r["module"]: r["imports"] for r in rows}

    def heavy_under(name: str, seen: set[str]) -> list[str]:
        found = []
        for child in children.get(name, []):
            if child in seen:
                continue
            seen.add(child)
            if child.split(".")[0] in HEAVY and child.split(".")[0] == child:
                found.append(child)
            found += heavy_under(child, seen)
        return found

    flagged = []
    for r in rows:  # transitively: pathlib -> fnmatch -> re counts for the module importing it
        if r["module"].startswith("uvx_nix"):
            heavy = heavy_under(r["module"], set())
            if heavy:
                flagged.append({"module": r["module"], "imports": heavy,
                                "via": [c for c in r["imports"] if not c.startswith("uvx_nix")]})
    loaded = sorted({r["module"] for r in rows if r["module"].split(".")[0] in HEAVY})
    package = [r for r in rows if r["module"].startswith("uvx_nix")]
    return {
        "argv": list(argv),
        "top10": [{"module": r["module"], "cumulative_us": r["cumulative_us"],
                   "self_us": r["self_us"]} for r in top],
        "total_us": sum(r["self_us"] for r in rows),
        "package_modules": [{"module": r["module"], "cumulative_us": r["cumulative_us"]}
                            for r in package],
        "heavy_loaded": loaded,
        "flagged": flagged,
    }


# ------------------------------------------------------------------ recording nix
def recording_nix(work: Path, log: Path) -> Path:
    """nix wrappers that log each argv as one JSON line (bash printf, no quoting loss)."""
    d = work / "recording-nix"
    d.mkdir(exist_ok=True)
    real = shutil.which("nix")
    assert real
    real_dir = os.path.dirname(os.path.realpath(real))
    for name in ("nix", "nix-store", "nix-build", "nix-instantiate"):
        p = d / name
        p.write_text(
            "#!/run/current-system/sw/bin/bash\n"
            f"{{ printf '%s' {name}; printf '\\037%s' \"$@\"; printf '\\n'; }} >> {log}\n"
            f'exec {real_dir}/{name} "$@"\n')
        p.chmod(0o755)
    return d


def nix_calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split("\x1f") for line in log.read_text().splitlines() if line]


def sanity_check() -> None:
    """The private copy of the simulated /etc that run.py points nix at must be whole."""
    conf = Path(os.environ["NIX_CONF_DIR"]) / "nix.conf"
    if not conf.is_file() or not Path(os.environ["SSL_CERT_FILE"]).is_file():
        raise SystemExit(f"driver: {conf} or {os.environ['SSL_CERT_FILE']} is missing")


# ------------------------------------------------------------------ the figures
def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0915 - one linear script
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    work, repo, n = args.work, args.repo, args.repeat
    members = 10 if args.quick else 200
    nlibs = 50
    base: Env = dict(os.environ)
    sanity_check()
    cache_dir = Path(base["XDG_CACHE_HOME"]) / "uvx-nix"
    true = shutil.which("true", path=base["PATH"])
    assert true
    # The Python implementation alone, and the compiled launcher in front of it (both built by
    # scripts/setup-sim, whichever of them `uvx-nix` on PATH is: UVX_NIX_TEST_LAUNCHER).
    wrapper = str(repo / "sim/.build/python-bin/uvx-nix")
    launcher = str(repo / "sim/.build/launcher-bin/uvx-nix")
    with open(wrapper) as f:
        venv_python = f.readline()[2:].strip()
    result: dict[str, Any] = {"repeat": n, "quick": args.quick, "groups": {}, "info": {}}
    info = result["info"]
    info["uv_version"] = out(["uv", "--version"], base, work).strip()
    info["python"] = os.path.realpath(venv_python)
    info["nix_version"] = out(["nix", "--version"], base, work).strip()
    info["members"] = members
    info["libraries"] = nlibs
    hit_only = dict(base, UVX_NIX_UV=true)  # the wrapper's hot path up to exec, exec'ing true

    # 1. hot path ---------------------------------------------------------------------------
    p1 = write_project(work / "p1")
    lock_project(base, p1)
    env1 = exported(base, p1)
    # A hit must start no Nix process: check once with a recording nix before timing it.
    log = work / "nix-calls.log"
    rec = recording_nix(work, log)
    out(["uvx-nix", "run", "python", "-c", "pass"], dict(base, PATH=f"{rec}:{base['PATH']}"), p1)
    info["hot_nix_processes"] = len(nix_calls(log))
    run = ["run", "python", "-c", "pass"]
    # A hit stopped at exec (UVX_NIX_UV=true): `uv lock`, since `uv run` with `true` for uv
    # would never be a hit (uvx-nix asks uv whether its environment is prepared first, and
    # `true` answers nothing). The same path up to exec, without run's venv check (a read of
    # pyvenv.cfg and two stats).
    hit = ["lock"]
    entries = entry_scripts(work, repo, venv_python, repo / "sim/.build/pydeps")
    hot = [
        Case("uvx_run", [wrapper, *run], base, p1),
        Case("launcher_run", [launcher, *run], base, p1),
        Case("uv_run_exported", ["uv", *run], env1, p1),
        Case("uvx_version", [wrapper, "--version"], base, p1),
        Case("launcher_version", [launcher, "--version"], base, p1),
        Case("uv_version", ["uv", "--version"], base, p1),
        Case("python_floor", [venv_python, "-I", "-S", "-c", "pass"], base, p1),
        Case("python_site", [venv_python, "-c", "pass"], base, p1),
        Case("true_floor", [true], base, p1),
        Case("uvx_hit_only", [wrapper, *hit], hit_only, p1),
        Case("launcher_hit_only", [launcher, *hit], hit_only, p1),
        Case("pip_entry_hit_only", [str(entries["pip"]), *hit], hit_only, p1),
        Case("lean_entry_hit_only", [str(entries["lean"]), *hit], hit_only, p1),
        Case("lean_entry_run", [str(entries["lean"]), *run], base, p1),
        Case("lean_entry_version", [str(entries["lean"]), "--version"], base, p1),
    ]
    # A hot path without Python: a bash reader of the same state file (see prototype/).
    states = sorted((cache_dir / "hot").glob("*.state"))
    shim = repo / "benchmarks/prototype/uv-hot.bash"
    if states:
        shim_env = dict(base, UVX_NIX_STATE=str(states[0]), UVX_NIX_REAL_UV=shutil.which(
            "uv", path=base["PATH"]) or "uv")
        hot.append(Case("bash_shim_run", [str(shim), *run], shim_env, p1))
        hot.append(Case("bash_shim_hit_only", [str(shim), *run],
                        dict(shim_env, UVX_NIX_REAL_UV=true), p1))
    measure(hot, n)
    result["groups"]["hot"] = dump(hot)
    result["importtime"] = importtime(hit_only, [venv_python, "-X", "importtime", wrapper, *hit],
                                      p1)
    result["importtime_lean"] = importtime(
        hit_only, [venv_python, "-IS", "-X", "importtime", str(entries["lean"]), *hit], p1)
    result["memory_extra"] = {}

    # 6. start-up of the venv's own Python (issue: the environment works however Python is
    # started): with and without the record uvx-nix puts in it, from an empty environment.
    pst = work / "pstartup"
    pst.mkdir()
    (pst / "pyproject.toml").write_text(
        '[project]\nname = "startup"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["uvxnix-cxxdemo"]\n[tool.uv]\nno-index = true\n'
        f'find-links = ["{work / "wheels"}"]\n')
    lock_project(base, pst)
    python = str(pst / ".venv" / "bin" / "python")
    pth = next((pst / ".venv" / "lib").glob("python3.*/site-packages/_uvx_nix_scope.pth"))
    off = pth.with_name("_uvx_nix_scope.pth.off")
    call = pth.read_text().split("install(", 1)[1].rsplit(")", 1)[0]
    libs = ":".join(ast.literal_eval(f"({call})")[0])  # what LD_LIBRARY_PATH used to carry

    def record(on: bool) -> Callable[[], None]:
        def toggle() -> None:
            if on and off.exists():
                off.rename(pth)
            elif not on and pth.exists():
                pth.rename(off)
        return toggle

    probe = ["-c", "import uvxnix_cxxdemo"]
    startup = [
        Case("venv_python_with_record", [python, "-c", "pass"], {}, pst, before=record(True)),
        Case("venv_python_without", [python, "-c", "pass"], {}, pst, before=record(False)),
        Case("probe_import_with_record", [python, *probe], {}, pst, before=record(True)),
        Case("probe_import_ld_library_path", [python, *probe], {"LD_LIBRARY_PATH": libs}, pst,
             before=record(False)),
    ]
    measure(startup, n)
    record(True)()
    result["groups"]["startup"] = dump(startup)
    info["startup_libraries"] = libs

    # 5. memory (total: the whole tree of `uvx-nix run true`) --------------------------------
    mem = [
        Case("uvx_run_true", ["uvx-nix", "run", "true"], base, p1),
        Case("uv_run_true_exported", ["uv", "run", "true"], env1, p1),
        Case("uvx_hit_only", [wrapper, *hit], hit_only, p1),
        Case("launcher_hit_only", [launcher, *hit], hit_only, p1),
        Case("python_floor", [venv_python, "-I", "-S", "-c", "pass"], base, p1),
    ]
    measure(mem, max(5, n // 2))
    result["groups"]["memory"] = dump(mem)

    # 4. alternatives ---------------------------------------------------------------------
    alt = [Case("exported_env", ["uv", *run], env1, p1),
           Case("uvx_nix", [wrapper, *run], base, p1),
           Case("uvx_nix_launcher", [launcher, *run], base, p1)]
    direnv_lib = repo / "shell-integration/direnv/uvnix.sh"
    info["direnv"] = "pending"
    if direnv_lib.is_file() and "use_uvnix" in direnv_lib.read_text():
        dproj = write_project(work / "pdirenv")
        lock_project(base, dproj)
        (dproj / ".envrc").write_text(f'source "{direnv_lib}"\nuse uvnix\n')
        try:
            out(["direnv", "allow", "."], base, dproj)
            denv = dict(base)
            alt.append(Case("direnv_exec", ["direnv", "exec", ".", "uv", *run], denv, dproj))
            check(alt[-1])
            info["direnv"] = "measured"
        except SystemExit as exc:
            alt = alt[:2]
            info["direnv"] = f"error: {str(exc)[-600:]}"
    measure(alt, n)
    result["groups"]["alternatives"] = dump(alt)

    # 3. scaling ----------------------------------------------------------------------------
    nixpkgs = str(repo / "benchmarks/nixpkgs")
    scaling: list[Case] = []
    for count in (1, nlibs):
        env = dict(base, UVX_NIX_NIXPKGS=nixpkgs, UVX_NIX_DEFAULT_LIBRARIES="",
                   UVX_NIX_LIBRARIES=" ".join(f"benchlib{i}" for i in range(1, count + 1)))
        proj = write_project(work / f"lib{count}")
        lock_project(env, proj)
        scaling += [Case(f"libs{count}_uvx", ["uvx-nix", *run], env, proj),
                    Case(f"libs{count}_exported", ["uv", *run], exported(env, proj), proj),
                    Case(f"libs{count}_hit_only", ["uvx-nix", *hit],
                         dict(env, UVX_NIX_UV=true), proj)]
    for count in (1, members):
        root = work / f"ws{count}"
        ws = '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        write_project(root, ws)
        for i in range(1, count + 1):
            write_project(root / "packages" / f"m{i:03d}", name=f"m{i:03d}")
        lock_project(base, root)
        scaling += [Case(f"ws{count}_uvx", ["uvx-nix", *run], base, root),
                    Case(f"ws{count}_exported", ["uv", *run], exported(base, root), root),
                    Case(f"ws{count}_hit_only", ["uvx-nix", *hit], hit_only, root)]
    measure(scaling, n)
    result["groups"]["scaling"] = dump(scaling)

    # 2. miss path ----------------------------------------------------------------------------
    sanity_check()
    rec_path = f"{rec}:{base['PATH']}"
    miss_cases: list[Case] = []
    info["miss"] = {}
    for label, extra in (("registry", {}),
                         ("path", {"UVX_NIX_NIXPKGS": f"path:{repo / 'sim/nixpkgs'}"})):
        proj = write_project(work / f"miss-{label}")
        out(["uvx-nix", "lock"], dict(base, **extra), proj)
        clean = rm(proj / "uvx-nix.lock", proj / ".uvx-nix", cache_dir)
        env = dict(hit_only, **extra)
        counts = []
        for _ in range(3):
            clean()
            log.write_text("")
            out(["uvx-nix", *run], dict(env, PATH=rec_path), proj)
            counts.append(len(nix_calls(log)))
        calls = nix_calls(log)
        build = next(c for c in calls if c[0] == "nix" and "build" in c)
        link = Path(build[build.index("--out-link") + 1])
        info["miss"][label] = {"nix_processes_per_miss": counts,
                               "calls": [" ".join(c[:6]) + " ..." for c in calls]}
        miss_cases += [
            Case(f"{label}_uvx_miss", ["uvx-nix", *run], env, proj, before=clean),
            Case(f"{label}_nix_build_floor", ["nix", *build[1:]], base, proj,
                 before=fresh_link(link)),
        ]
    measure(miss_cases, n)
    result["groups"]["miss"] = dump(miss_cases)

    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
