#!/usr/bin/env python3
"""Benchmark uvx-nix inside the NixOS simulation: ``python3 benchmarks/run.py``.

Sets up the simulation (scripts/setup-sim) and matplotlib, runs benchmarks/driver.py in ONE
simulation session (interleaved loops, medians), then prints a table of ratios, writes
benchmarks/results/latest.json and draws benchmarks/hot-miss.png.  Every figure is a ratio
against a baseline measured in the same run: absolute times on shared machines mean little.

Options: --repeat N (runs of each case, default 20), --quick (10-member workspace instead of
200, for smoke tests), --no-plot, --output FILE, --keep (keep the work directory).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers.sim import Sim, setup_sim  # noqa: E402 - after the path set-up

RESULTS = HERE / "results"
PLOT = HERE / "hot-miss.png"
GOALS = {
    "hot.ratio": 1.10,
    "hot.python_ratio": 1.10,
    "hot.wrapper_overhead_vs_floor": 1.5,
    "miss.registry.ratio": 1.15,
    "miss.path.ratio": 1.15,
    "hot.nix_processes": 0,
    "miss.registry.nix_processes": 2,
    "miss.path.nix_processes": 2,
    "scaling.libraries.ratio": 1.05,
    "scaling.workspace.ratio": 1.05,
    "startup.ratio": 1.10,
}


def ensure_matplotlib() -> bool:
    if importlib.util.find_spec("matplotlib") is not None:
        return True
    print("run.py: installing matplotlib with pip", file=sys.stderr)
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", "matplotlib"], check=False)
    importlib.invalidate_caches()
    return res.returncode == 0 and importlib.util.find_spec("matplotlib") is not None


def run_driver(repeat: int, quick: bool, keep: bool) -> dict[str, Any]:
    res = setup_sim()
    if res.returncode != 0:
        raise SystemExit(f"run.py: scripts/setup-sim failed:\n{res.stderr[-3000:]}")
    work = Path(tempfile.mkdtemp(prefix="uvx-nix-bench-"))
    try:
        sim = Sim(work / "home")
        raw = work / "raw.json"
        # Everything the session needs from the simulated /etc comes from a private copy, via
        # variables: scripts/setup-sim run by a concurrent test session regenerates
        # sim/.build/etc by deleting it, and the kernel then detaches every mount on
        # that directory, leaving the /etc of a running session empty.
        etc = work / "etc"
        shutil.copytree(REPO / "sim/.build/etc", etc, symlinks=True)
        conf = etc / "nix" / "nix.conf"
        conf.write_text(conf.read_text().replace("/etc/nix/", f"{etc}/nix/"))
        env = {"UVX_NIX": "1", "NIX_CONF_DIR": str(etc / "nix"),
               "SSL_CERT_FILE": str(etc / "ssl/certs/ca-certificates.crt"),
               "NIX_SSL_CERT_FILE": str(etc / "ssl/certs/ca-certificates.crt")}
        from helpers.wheels import build_cxx_wheel

        build_cxx_wheel(work / "wheels")  # the C++ probe (gcc is outside the simulation)
        cmd = [sim.bin("python311", "python3.11"), str(HERE / "driver.py"), "--work", str(work),
               "--repo", str(REPO), "--out", str(raw), "--repeat", str(repeat)]
        if quick:
            cmd.append("--quick")
        argv = sim.argv(cmd, cwd=work, env=env, binds=[work],
                        path_prepend=[f"{sim.pkgs['uv']}/bin"])
        proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, text=True,
                              timeout=7200)
        if proc.returncode != 0:
            raise SystemExit(f"run.py: the benchmark driver failed ({proc.returncode})\n"
                             f"{proc.stdout[-3000:]}")
        data: dict[str, Any] = json.loads(raw.read_text())
        return data
    finally:
        if keep:
            print(f"run.py: work directory kept at {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def ms(group: dict[str, Any], case: str) -> float:
    return float(statistics.median(group[case]["ns"])) / 1e6


def rss(group: dict[str, Any], case: str) -> float:
    return float(statistics.median(group[case]["rss_kb"])) / 1024


def _launcher_figures(hot: dict[str, Any], put: Callable[..., None]) -> None:
    """The compiled launcher's own cost (its hit, its --version)."""
    put("hot.launcher_version_ratio", ms(hot, "launcher_version") / ms(hot, "uv_version"), "x",
        "uvx-nix --version with the launcher / uv --version",
        overhead_ms=ms(hot, "launcher_version") - ms(hot, "uv_version"))
    put("hot.launcher_hit_only_ms", ms(hot, "launcher_hit_only") - ms(hot, "true_floor"), "ms",
        "the launcher's whole hit (UVX_NIX_UV=true, minus running true)")


def _startup_figures(st: dict[str, Any], put: Callable[..., None]) -> None:
    """A venv's start-up with and without uvx-nix's record of its libraries."""
    put("startup.ratio", ms(st, "venv_python_with_record") / ms(st, "venv_python_without"), "x",
        "a venv's python -c pass started with an empty environment, with uvx-nix's "
        "_uvx_nix_scope.pth / the same venv without it",
        subject_ms=ms(st, "venv_python_with_record"),
        baseline_ms=ms(st, "venv_python_without"))
    put("startup.probe_import_ratio",
        ms(st, "probe_import_with_record") / ms(st, "probe_import_ld_library_path"), "x",
        "python -c 'import <C++ probe>' through the venv's record (a failed load, then the "
        "soname preloaded by path) / the same with LD_LIBRARY_PATH set by hand",
        subject_ms=ms(st, "probe_import_with_record"),
        baseline_ms=ms(st, "probe_import_ld_library_path"))


def figures(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    g = raw["groups"]
    hot, miss, sc, alt, mem = g["hot"], g["miss"], g["scaling"], g["alternatives"], g["memory"]
    f: dict[str, dict[str, Any]] = {}

    def put(name: str, value: float | int | None, unit: str, detail: str, **extra: Any) -> None:
        goal = GOALS.get(name)
        entry: dict[str, Any] = {"value": value, "unit": unit, "detail": detail, **extra}
        if goal is not None:
            entry["goal"] = goal
            entry["met"] = value is not None and value <= goal
        f[name] = entry

    floor = ms(hot, "python_floor")
    uv_run = ms(hot, "uv_run_exported")
    put("hot.ratio", ms(hot, "launcher_run") / uv_run, "x",
        "uvx-nix run python -c pass (compiled launcher in front) / uv run python -c pass with "
        "the exported environment", subject_ms=ms(hot, "launcher_run"), baseline_ms=uv_run)
    put("hot.python_ratio", ms(hot, "uvx_run") / uv_run, "x",
        "the same without the launcher (the Python implementation alone, as pip installs it)",
        subject_ms=ms(hot, "uvx_run"), baseline_ms=uv_run)
    _launcher_figures(hot, put)
    put("hot.python_version_ratio", ms(hot, "uvx_version") / ms(hot, "uv_version"), "x",
        "uvx-nix --version without the launcher / uv --version",
        overhead_ms=ms(hot, "uvx_version") - ms(hot, "uv_version"))
    overhead = ms(hot, "uvx_version") - ms(hot, "uv_version")
    put("hot.wrapper_overhead_vs_floor", overhead / floor, "x",
        "(uvx-nix --version - uv --version) / python -I -S -c pass of the wrapper's interpreter",
        overhead_ms=overhead, floor_ms=floor)
    put("hot.hit_overhead_vs_floor", (ms(hot, "uvx_run") - uv_run) / floor, "x",
        "(uvx-nix run - uv run with exported env) / python -I -S floor", overhead_ms=ms(
            hot, "uvx_run") - uv_run)
    put("hot.hit_only_vs_floor", (ms(hot, "uvx_hit_only") - ms(hot, "true_floor")) / floor, "x",
        "wrapper's whole hit (UVX_NIX_UV=true, minus running true) / python -I -S floor",
        wrapper_ms=ms(hot, "uvx_hit_only") - ms(hot, "true_floor"))
    put("hot.python_site_vs_floor", ms(hot, "python_site") / floor, "x",
        "python -c pass (venv, site + .pth) / python -I -S -c pass")
    for entry in ("pip", "lean"):
        put(f"hot.{entry}_entry_hit_only_vs_floor",
            (ms(hot, f"{entry}_entry_hit_only") - ms(hot, "true_floor")) / floor, "x",
            f"the hit with a {entry!r}-shaped entry script / python -I -S floor",
            wrapper_ms=ms(hot, f"{entry}_entry_hit_only") - ms(hot, "true_floor"))
    put("hot.lean_entry_ratio", ms(hot, "lean_entry_run") / uv_run, "x",
        "lean entry (python -I -S) run python -c pass / uv run with the exported environment")
    put("hot.lean_entry_overhead_vs_floor",
        (ms(hot, "lean_entry_version") - ms(hot, "uv_version")) / floor, "x",
        "(lean entry --version - uv --version) / python -I -S floor")
    if "bash_shim_run" in hot:
        put("hot.bash_shim_ratio", ms(hot, "bash_shim_run") / uv_run, "x",
            "no-Python prototype (benchmarks/prototype/uv-hot.bash) / uv run exported")
        put("hot.bash_shim_hit_only_vs_floor",
            (ms(hot, "bash_shim_hit_only") - ms(hot, "true_floor")) / floor, "x",
            "the bash prototype's hit (exec true) / python -I -S floor",
            wrapper_ms=ms(hot, "bash_shim_hit_only") - ms(hot, "true_floor"))

    for label in ("registry", "path"):
        counts = raw["info"]["miss"][label]["nix_processes_per_miss"]
        subject, base = ms(miss, f"{label}_uvx_miss"), ms(miss, f"{label}_nix_build_floor")
        put(f"miss.{label}.ratio", subject / base, "x",
            f"uvx-nix miss ({label} nixpkgs, empty cache, exec stubbed) / one nix build of the "
            "same resolve.nix and spec by hand", subject_ms=subject, baseline_ms=base)
        put(f"miss.{label}.nix_processes", max(counts), "processes",
            "Nix processes started per miss (recording nix)", per_run=counts,
            calls=raw["info"]["miss"][label]["calls"])

    _startup_figures(g["startup"], put)
    put("hot.nix_processes", raw["info"]["hot_nix_processes"], "processes",
        "Nix processes started by a hit (recording nix; must be 0)")
    n, m = raw["info"]["libraries"], raw["info"]["members"]
    for key, small, big, what in (("libraries", "libs1", f"libs{n}", f"1 vs {n} libraries"),
                                  ("workspace", "ws1", f"ws{m}", f"1 vs {m}-member workspace")):
        put(f"scaling.{key}.ratio", ms(sc, f"{big}_uvx") / ms(sc, f"{small}_uvx"), "x",
            f"uvx-nix run python -c pass, {what}")
        put(f"scaling.{key}.exported_ratio",
            ms(sc, f"{big}_exported") / ms(sc, f"{small}_exported"), "x",
            f"uv run with the exported environment, {what} (what uv itself pays)")
        put(f"scaling.{key}.hit_only_ratio",
            ms(sc, f"{big}_hit_only") / ms(sc, f"{small}_hit_only"), "x",
            f"the wrapper alone (exec true), {what}")

    base_alt = ms(alt, "exported_env")
    put("alternatives.exported_env", 1.0, "x", "uv run with the environment exported by hand "
        "(a flake dev shell)", ms=base_alt)
    put("alternatives.uvx_nix", ms(alt, "uvx_nix_launcher") / base_alt, "x",
        "uvx-nix run (launcher in front)")
    put("alternatives.uvx_nix_python", ms(alt, "uvx_nix") / base_alt, "x",
        "uvx-nix run (Python implementation alone)")
    if "direnv_exec" in alt:
        put("alternatives.direnv_exec", ms(alt, "direnv_exec") / base_alt, "x",
            "direnv exec . uv run with `use uvnix`")
    else:
        put("alternatives.direnv_exec", None, "x", "direnv exec . uv run with `use uvnix`",
            status=raw["info"]["direnv"])

    put("memory.wrapper_only_mib", rss(mem, "uvx_hit_only"), "MiB",
        "peak RSS of the wrapper on a hit (UVX_NIX_UV=true)")
    put("memory.launcher_only_mib", rss(mem, "launcher_hit_only"), "MiB",
        "peak RSS of the compiled launcher on a hit (UVX_NIX_UV=true)")
    put("memory.total_mib", rss(mem, "uvx_run_true"), "MiB",
        "peak RSS of the tree of uvx-nix run true (wrapper, uv, true)")
    put("memory.uv_only_mib", rss(mem, "uv_run_true_exported"), "MiB",
        "peak RSS of uv run true with the exported environment")
    put("memory.python_floor_mib", rss(mem, "python_floor"), "MiB",
        "peak RSS of python -I -S -c pass")
    return f


def fmt(entry: dict[str, Any]) -> str:
    v = entry["value"]
    if v is None:
        return str(entry.get("status", "n/a"))[:40]
    return f"{v:.3f}{entry['unit']}" if entry["unit"] == "x" else f"{v:.1f} {entry['unit']}"


def table(f: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'figure':<42} {'value':>12} {'goal':>8}  status"]
    for name, e in f.items():
        goal = f"<={e['goal']}" if "goal" in e else ""
        status = ("met" if e["met"] else "MISSED") if "goal" in e else ""
        lines.append(f"{name:<42} {fmt(e):>12} {goal:>8}  {status}")
    return "\n".join(lines)


def plot(f: dict[str, dict[str, Any]], path: Path, repeat: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("Hot path (cache hit), ratio to the same uv call\nwith the environment exported by hand",
         [("uvx-nix\n(launcher)", "hot.ratio"), ("uvx-nix\n(Python alone)", "hot.python_ratio"),
          ("lean entry\n(python -I -S)",
                                                  "hot.lean_entry_ratio"),
          ("bash reader\n(prototype)", "hot.bash_shim_ratio"),
          ("50 vs 1\nlibraries", "scaling.libraries.ratio"),
          ("workspace\nN vs 1 members", "scaling.workspace.ratio")], 1.10),
        ("Miss path (empty cache), ratio to one\nhand-run nix build of the same resolve.nix",
         [("registry nixpkgs\n(default)", "miss.registry.ratio"),
          ("path: nixpkgs", "miss.path.ratio")], 1.15),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [5, 2.4]})
    for ax, (title, wanted, goal) in zip(axes, panels, strict=True):
        bars = [(label, key) for label, key in wanted if key in f and f[key]["value"] is not None]
        values = [f[key]["value"] for _, key in bars]
        colors = ["#2a9d8f" if v <= goal else "#e76f51" for v in values]
        xs = range(len(bars))
        ax.bar(xs, values, color=colors, width=0.6)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(goal, color="#264653", linestyle="--", linewidth=1.2,
                   label=f"goal <= {goal}")
        for x, v in zip(xs, values, strict=True):
            ax.text(x, v + 0.01, f"{v:.2f}x", ha="center", va="bottom", fontsize=10)
        ax.set_xticks(list(xs), [label for label, _ in bars], fontsize=9)
        ax.set_ylim(0, max([*values, goal]) * 1.18)
        ax.set_ylabel("ratio (median of interleaved runs)")
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper left", fontsize=9)
    fig.suptitle(f"uvx-nix benchmarks in the NixOS simulation ({repeat} runs each, medians; "
                 "ratios from one shared machine)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    # The figures are of uvx-nix as users run it: never of a run traced for coverage.
    os.environ.pop("UVX_NIX_SIM_COVERAGE", None)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=20, help="runs of each case (default 20)")
    ap.add_argument("--quick", action="store_true", help="small workspace: a smoke run")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG")
    ap.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    ap.add_argument("--plot-output", type=Path, default=PLOT)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    start = time.time()
    raw = run_driver(args.repeat, args.quick, args.keep)
    figs = figures(raw)
    result = {
        "format": 1,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"host": platform.node(), "kernel": platform.release(),
                    "cpus": __import__("os").cpu_count()},
        "repeat": args.repeat,
        "quick": args.quick,
        "info": raw["info"],
        "figures": figs,
        "importtime_hit": raw["importtime"],
        "importtime_hit_lean_entry": raw["importtime_lean"],
        "medians_ms": {group: {case: statistics.median(v["ns"]) / 1e6 for case, v in cases.items()}
                       for group, cases in raw["groups"].items()},
        "raw": raw["groups"],
        "seconds": round(time.time() - start, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(table(figs))
    it = raw["importtime"]
    print("\nimport time of a hit (top 10, cumulative us):")
    for row in it["top10"]:
        print(f"  {row['cumulative_us']:>8}  {row['module']}")
    print(f"heavy modules loaded on a hit: {', '.join(it['heavy_loaded']) or 'none'}; "
          f"imported by uvx_nix modules: {it['flagged'] or 'none'}")
    if not args.no_plot:
        if ensure_matplotlib():
            plot(figs, args.plot_output, args.repeat)
            print(f"plot: {args.plot_output}")
        else:
            print("run.py: matplotlib could not be installed; no plot", file=sys.stderr)
    print(f"json: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
