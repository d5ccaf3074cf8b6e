"""Runs inside the NixOS simulation: for each generated case, build its layout, then ask
uvx-nix and plain uv (given every interpreter of the look-alike on its search path) which
interpreter they use.  Reads the cases as JSON on stdin, prints one JSON result per line.

Stdlib only: it runs on the look-alike's Python, with nothing installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys


def _write(base: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _venv_home(venv: str) -> str:
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "home":
                    return value.strip()
    except OSError:
        pass
    return ""


def _outcome(res: subprocess.CompletedProcess[str], mode: str, venv: str) -> str:
    """The store path of the interpreter used, or 'error'."""
    if res.returncode != 0:
        return "error"
    if mode == "venv":
        value = _venv_home(venv)
        if not value:
            return "error"
        return _store_path(value)
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    if not lines:
        return "error"
    value = lines[-1].strip()
    if mode == "find":
        value = os.path.realpath(value)
    return _store_path(value)


def _store_path(value: str) -> str:
    parts = value.split("/")
    if len(parts) < 4 or parts[1:3] != ["nix", "store"]:
        return f"not-a-store-path:{value}"
    return "/".join(parts[:4])


def _run(argv: list[str], cwd: str, env: dict[str, str], stdin: str | None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)


def main() -> int:
    spec = json.load(sys.stdin)
    base, uv, search_path = spec["base"], spec["uv"], spec["search_path"]
    common = dict(os.environ)
    for name in list(common):
        if name.startswith("UV_") or name.startswith("UVX_NIX_"):
            del common[name]
    common["UV_CACHE_DIR"] = os.path.join(base, "uv-cache")
    common["UV_PYTHON_DOWNLOADS"] = "never"
    common["UV_NO_PROGRESS"] = "1"
    for case in spec["cases"]:
        root = os.path.join(base, f"case-{case['id']}")
        shutil.rmtree(root, ignore_errors=True)
        env = dict(common)
        env["XDG_CONFIG_HOME"] = os.path.join(root, "config")
        env["UVX_NIX_CACHE_DIR"] = os.path.join(root, "uvx-nix-cache")
        env.update(case["env"])
        results = {}
        for who in ("uvx-nix", "uv"):
            # Each side gets the same fresh layout: uv may write (a venv, a lock).
            shutil.rmtree(os.path.join(root, "tree"), ignore_errors=True)
            os.makedirs(os.path.join(root, "tree"))
            _write(os.path.join(root, "tree"), case["files"])
            _write(root, case["config"])
            cwd = os.path.join(root, "tree", case["cwd"])
            os.makedirs(cwd, exist_ok=True)
            side_env = dict(env)
            if who == "uv":
                side_env["UV_PYTHON_SEARCH_PATH"] = search_path
                argv = [uv, *case["args"]]
            else:
                argv = ["uvx-nix", *case["args"]]
            res = _run(argv, cwd, side_env, case.get("stdin"))
            venv = os.path.join(root, "tree", case.get("venv", ".venv"))
            results[who] = {"outcome": _outcome(res, case["mode"], venv),
                            "stderr": res.stderr[-600:]}
        print(json.dumps({"id": case["id"], **results}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
