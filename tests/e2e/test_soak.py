"""Issue 7: a concurrency soak inside the NixOS simulation.

One simulation session runs a driver (on the look-alike's Python) that starts 32 parallel
``uvx-nix python find`` callers per round for 5 rounds, mixing cold and warm caches (the hot cache
is deleted before some rounds) and input changes (``.python-version`` 3.12 <-> 3.13).  A reader
thread parses ``uvx-nix.lock`` with tomllib in a loop during every round.  A recording nix counts
the resolutions (``nix build``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.e2e import nix_calls, uv_bin, write_project
from helpers.sim import Sim

pytestmark = pytest.mark.slow
CALLERS = 32
# (pin, delete the hot cache first): changes 3.12 -> 3.13 -> 3.12, cold and warm hot caches.
ROUNDS = [("3.12", True), ("3.12", False), ("3.13", True), ("3.13", True), ("3.12", False)]

DRIVER = r'''
import json, os, shutil, subprocess, sys, threading, time, tomllib

callers, rounds, hot, out = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
results = []
for pin, drop_hot in rounds:
    with open(".python-version.tmp-soak", "w") as f:
        f.write(pin + "\n")
    os.replace(".python-version.tmp-soak", ".python-version")
    if drop_hot:
        shutil.rmtree(hot, ignore_errors=True)
    stop = threading.Event()
    seen = {"iterations": 0, "partial": [], "absent": 0}

    def reader():
        while not stop.is_set():
            seen["iterations"] += 1
            try:
                with open("uvx-nix.lock", "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                seen["absent"] += 1
                continue
            try:
                lock = tomllib.loads(data.decode())
                assert lock["version"] == 2
                assert lock["systems"]["x86_64-linux"]["interpreter"].startswith("/nix/store/")
            except Exception as exc:
                seen["partial"].append(f"{type(exc).__name__}: {exc}: {data[:200]!r}")

    thread = threading.Thread(target=reader)
    thread.start()
    started = time.monotonic()
    procs = [subprocess.Popen(["uvx-nix", "python", "find"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(callers)]
    calls = [(p.wait(), *p.communicate()) for p in procs]
    elapsed = time.monotonic() - started
    stop.set()
    thread.join()
    results.append({"pin": pin, "drop_hot": drop_hot, "elapsed": elapsed,
                    "calls": [{"rc": rc, "out": o, "err": e} for rc, o, e in calls],
                    "reader": seen})
with open(out, "w") as f:
    json.dump(results, f)
'''


def test_parallel_callers_over_rounds(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    write_project(project_dir)
    log = tmp_path / "nix.log"
    rec = sim.recording_nix(log)
    driver = project_dir / "driver.py"
    driver.write_text(DRIVER)
    out = project_dir / "soak.json"
    hot = sim.home / ".cache" / "uvx-nix" / "hot"
    # One session for all rounds (no bubblewrap start-up per call).
    res = sim.run([sim.bin("python311", "python3"), str(driver), str(CALLERS),
                   json.dumps(ROUNDS), str(hot), str(out)],
                  cwd=project_dir, path_prepend=[rec, uv_bin(sim)], timeout=1200)
    assert res.returncode == 0, res.stderr
    results = json.loads(out.read_text())
    failures = []
    for number, rnd in enumerate(results, 1):
        want = sim.pkgs["python312" if rnd["pin"] == "3.12" else "python313"]
        for call in rnd["calls"]:
            if call["rc"] != 0 or not call["out"].strip().startswith(want + "/bin/"):
                failures.append((number, call))
    builds = [line for line in nix_calls(log) if line.startswith("nix ") and " build " in line]
    changes = sum(1 for i, (pin, _) in enumerate(ROUNDS) if i == 0 or pin != ROUNDS[i - 1][0])
    partial = [p for rnd in results for p in rnd["reader"]["partial"]]
    iterations = sum(rnd["reader"]["iterations"] for rnd in results)
    calls = sum(len(rnd["calls"]) for rnd in results)
    summary = {
        "rounds": len(results), "calls": calls, "failures": len(failures),
        "resolutions": len(builds), "input changes": changes,
        "reader iterations": iterations, "partial reads": len(partial),
        "seconds per round": [round(r["elapsed"], 1) for r in results],
    }
    print(f"\nsoak: {json.dumps(summary)}")
    assert calls == CALLERS * len(ROUNDS)
    assert not failures, failures[:3]
    assert not partial, partial[:3]
    assert all(rnd["reader"]["iterations"] > 0 for rnd in results)
    assert len(builds) == changes, nix_calls(log)
    lock = (project_dir / "uvx-nix.lock").read_text()
    assert 'python-attribute = "python312"' in lock
    assert not list(project_dir.rglob("*.tmp")), "a temp file was left behind"
    assert not list((sim.home / ".cache").rglob("*.tmp"))
