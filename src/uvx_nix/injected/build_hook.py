"""uvx-nix's build hook, copied as ``sitecustomize.py`` into a directory of the user cache
(beside the ``build.json`` that describes the project's build toolchain) and reached through
one ``PYTHONPATH`` entry while uv runs.  Stdlib only.

In every Python it runs in, it first takes its own directory out of ``PYTHONPATH`` and
``sys.path``.  Only in a PEP 517 build backend started by uv, recognised by all of

* the parent process is uv (the executable uv names in ``UV`` for its subprocesses),
* the process is ``python -c SCRIPT`` and SCRIPT is uv's hook script: uv's preamble,
  then ``import MODULE as backend`` (or ``from MODULE import OBJ as backend``),

does it go further: it takes the build environment (compiler, pkg-config, make, the
libraries' headers and ``.pc`` files) from the locked nixpkgs, realising it with Nix the
first time, runs uv's script again as a child process with that environment, and forwards
the child's output and exit code.  When the build fails on a missing header, ``.pc`` file,
``*-config`` program or library, it adds one line naming the nixpkgs attribute and the
command that adds it (uv prints the backend's output with its error); in automatic mode it
adds the attribute and runs the build once more.  Anything else (your program, its
children, a Python your shell starts) sees nothing of the build environment.

Then it hands over to the next ``sitecustomize`` on ``sys.path`` (nixpkgs' Pythons ship
one).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
# The start of every script uv runs a PEP 517 hook with (uv's build frontend: the backend's
# import, after dropping the script directory from sys.path).
_PREAMBLE = 'import sys\n\nif sys.path[0] == "":\n    sys.path.pop(0)\n'
# Backends that never run a compiler: nothing to provide.
_PURE = ("flit_core", "uv_build")
_WRAPPER_CODE = ("import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
                 "from uvx_nix.build import toolchain; "
                 "raise SystemExit(toolchain.hook_main(sys.argv[2:]))")


def _strip() -> None:
    env = os.environ
    kept = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
            if p and os.path.abspath(p) != _HERE]
    if kept:
        env["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        env.pop("PYTHONPATH", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def command_line() -> list[str]:
    """This process's original command line (``sys.orig_argv``; before 3.10, /proc)."""
    argv = getattr(sys, "orig_argv", None)
    if argv:
        return list(argv)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [os.fsdecode(a) for a in raw.split(b"\0")[:-1]]


def backend(argv: list[str]) -> str | None:
    """The backend module uv's PEP 517 script imports, if ``argv`` is such a call."""
    if len(argv) < 3 or argv[1] != "-c" or not argv[2].startswith(_PREAMBLE):
        return None
    import re  # noqa: PLC0415 - see the module docstring

    m = re.search(r"^(?:import ([\w.]+)|from ([\w.]+) import [\w.]+) as backend$", argv[2],
                  re.MULTILINE)
    return (m.group(1) or m.group(2)) if m else None


def parent_is_uv(environ: Mapping[str, str]) -> bool:
    uv = environ.get("UV")
    if not uv:
        return False
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        return os.path.realpath(f"/proc/{ppid}/exe") == os.path.realpath(uv)
    except (OSError, ValueError, IndexError):
        return False


def needs_rust(module: str, source_dir: str = ".") -> bool:
    """maturin, setuptools-rust, or a Cargo.toml in the source tree."""
    if module.partition(".")[0] == "maturin" or \
            os.path.exists(os.path.join(source_dir, "Cargo.toml")):
        return True
    try:
        with open(os.path.join(source_dir, "pyproject.toml"), "rb") as f:
            text = f.read(1 << 20)
    except OSError:
        return False
    return b"setuptools-rust" in text or b"setuptools_rust" in text or b"maturin" in text


def _clean(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for Nix and uvx-nix itself: without this hook's PYTHONPATH."""
    env = dict(environ)
    env.pop("PYTHONPATH", None)
    return env


def _say(text: str) -> None:
    os.write(2, f"uvx-nix: {text}\n".encode("utf-8", "replace"))


def _wrapper(config: dict[str, Any], args: list[str], data: bytes = b"") -> dict[str, Any]:
    """Ask uvx-nix (its own Python and modules, as recorded when the hook was written)."""
    import json  # noqa: PLC0415 - see the module docstring
    import subprocess  # noqa: PLC0415 - see the module docstring

    exe, path = config["wrapper"][0], config["wrapper"][1]
    proc = subprocess.run(
        [exe, "-I", "-c", _WRAPPER_CODE, json.dumps(path), os.path.join(_HERE, "build.json"),
         *args], input=data, capture_output=True, env=_clean(os.environ), check=False)
    if proc.stderr:
        os.write(2, proc.stderr)
    try:
        answer = json.loads(proc.stdout.decode("utf-8") or "{}")
    except ValueError:
        answer = {}
    return answer if isinstance(answer, dict) else {}


def load_env(path: str) -> dict[str, Any] | None:
    """A realised build environment, if it is there and its store paths still are."""
    import json  # noqa: PLC0415 - see the module docstring

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(os.path.exists(p) for p in data.get("paths", [])):
        return None
    return data


def apply(env: Mapping[str, str], data: Mapping[str, Any]) -> dict[str, str]:
    """``env`` with a build environment on top: variables set, others only if you have not
    set them, lists prepended."""
    out = dict(env)
    out.update(data.get("set", {}))
    for name, value in data.get("default", {}).items():
        out.setdefault(name, value)
    for name, value, sep in data.get("prepend", []):
        old = out.get(name)
        out[name] = f"{value}{sep}{old}" if old else value
    return out


def _attempt(env: Mapping[str, str]) -> tuple[bytes, bytes, int]:
    import subprocess  # noqa: PLC0415 - see the module docstring

    proc = subprocess.run([sys.executable, *command_line()[1:]], env=env, capture_output=True,
                          check=False)
    return proc.stdout, proc.stderr, proc.returncode


def _build(module: str) -> None:
    import json  # noqa: PLC0415 - see the module docstring

    with open(os.path.join(_HERE, "build.json"), encoding="utf-8") as f:
        config = json.load(f)
    rust = needs_rust(module)
    flags = ["--rust"] if rust else []
    data = load_env(os.path.join(_HERE, "env-rust.json" if rust else "env.json"))
    if data is None:
        answer = _wrapper(config, ["env", *flags])
        data = load_env(answer.get("env", "")) if answer.get("env") else None
        if data is None:
            if answer.get("message"):
                _say(answer["message"])
            return  # run the build as it is: its own error says what is missing
    if data.get("message"):
        _say(data["message"])
    out, err, code = _attempt(apply(dict(os.environ), data))
    if code != 0:
        answer = _wrapper(config, ["fix", *flags], out + b"\n" + err)
        retry = load_env(answer["env"]) if answer.get("env") else None
        if retry is not None:
            _say(answer.get("message", "building again"))
            out, err, code = _attempt(apply(dict(os.environ), retry))
        elif answer.get("message"):
            err = err + (b"" if not err or err.endswith(b"\n") else b"\n") + \
                f"uvx-nix: {answer['message']}\n".encode("utf-8", "replace")
    for fd, chunk in ((1, out), (2, err)):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]
    os._exit(code)


def _chain() -> None:
    from importlib.machinery import PathFinder  # noqa: PLC0415 - see the module docstring
    from importlib.util import module_from_spec  # noqa: PLC0415 - see the module docstring

    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _main() -> None:
    _strip()
    module = backend(command_line())
    if module is not None and module.partition(".")[0] not in _PURE and parent_is_uv(os.environ):
        try:
            _build(module)
        except Exception as exc:  # never stop a build over the hook itself
            if os.environ.get("UVX_NIX_DEBUG") == "1":
                raise
            _say(f"warning: the build toolchain is not available ({type(exc).__name__}: {exc})")
    _chain()


if __name__ in ("sitecustomize", "__main__"):
    _main()
