"""Which interpreter a call asks for, found where uv looks: ``--python``, ``UV_PYTHON``, a
script's metadata, ``.python-version`` pins, ``requires-python``, and whether uv's own
configuration sets ``python-preference``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uvx_nix import argv, files, paths
from uvx_nix.argv import Invocation
from uvx_nix.errors import UserError
from uvx_nix.resolve import project
from uvx_nix.resolve import python_request as request


def read_pin(path: Path | None, global_dir: Path, root: Path | None = None
         ) -> request.PythonRequest | None:
    """The first request of a version file uv supports (it skips the others with a warning)."""
    if path is None:
        return None
    within: Path | None = path.parent  # a repository's file must not lead outside
    if path.parent == global_dir:
        within = None  # the user's own
    elif root is not None and files.inside(path.parent, root):
        within = root
    for line in project.read_python_versions(path, within):
        try:
            return request.parse(line, str(path))
        except UserError:
            continue  # uv: "Ignoring unsupported Python request ... in version file"
    return None


def default(source: str = "default") -> request.PythonRequest:
    return request.PythonRequest("", source, "default")


def range(spec: str, origin: str) -> request.PythonRequest:
    return request.PythonRequest(spec, origin, "version", None,
                                 request.parse_specifiers(spec, origin))


def python_request(invocation: Invocation, environ: Mapping[str, str], start: Path,
                   proj: project.Project | None, script_meta: dict[str, Any] | None,
                   watched: list[Path], script_dir: Path | None = None
                   ) -> request.PythonRequest:
    """The request uv forms, in uv's order (``WorkspacePython``/``ScriptPython::from_request``):
    ``--python``/``UV_PYTHON``; else the nearest version file (up to the workspace root, then
    the global pin), a preference: a global pin outside the workspace's requires-python, or any
    pin outside a script's, is skipped; else requires-python (the intersection over the
    workspace's members, or the script's); else uv's default."""
    if invocation.command[:1] == ("python",):
        # `uv python find 3.12`, `uv python pin 3.12`: the request is the positional word;
        # these commands have no --python (and read no UV_PYTHON).
        if invocation.command[1:2] in (("find",), ("pin",)) and invocation.positionals:
            return request.parse(invocation.positionals[0], "the command line")
    elif invocation.python:
        return request.parse(invocation.python, "--python")
    elif environ.get("UV_PYTHON"):
        return request.parse(environ["UV_PYTHON"], "UV_PYTHON")
    ignore_files = no_config(invocation, environ)
    global_dir = paths.global_python_version(environ).parent

    def find(begin: Path, stop: Path | None, local: bool = True) -> Path | None:
        if ignore_files:
            return None
        found, examined = project.version_file(begin, stop, global_dir, local=local)
        watched.extend(examined)
        return found

    if script_meta is not None:
        spec = script_meta.get("requires-python")
        origin = "the script's requires-python"
        script_rp = request.parse_specifiers(spec, origin) if isinstance(spec, str) else None
        path = find(script_dir or start, None)
        pin = read_pin(path, global_dir)
        if path is not None and not (script_rp and pin is not None and pin.kind == "version"
                                     and not request.intersects(pin.clauses, script_rp)):
            return pin or default(str(path))
        return range(spec, origin) if isinstance(spec, str) else default()
    if invocation.command[:1] == ("tool",):
        # Tools read only the global pin (uv's `with_no_local`).
        path = find(start, None, local=False)
        return read_pin(path, global_dir) or default(str(path) if path else "default")
    if proj is None:
        path = find(start, None)
        return read_pin(path, global_dir) or default(str(path) if path else "default")
    rp_text = proj.requires_python
    several = len(proj.member_requires) > 1
    origin = f"requires-python in {proj.root / 'pyproject.toml'}" + (
        " intersected with the workspace members'" if several else "")
    rp = request.parse_specifiers(rp_text, origin) if rp_text else None
    if rp is not None and not request.intersects(rp):
        return default()  # disjoint members: uv reports that itself
    path = find(proj.root if invocation.syncs_environment else start, proj.root)
    if path is not None:
        pin = read_pin(path, global_dir, proj.root)
        is_global = path.parent == global_dir
        if not (is_global and rp is not None and pin is not None and pin.exact is not None
                and not request.contains(rp, pin.exact)):
            return pin or default(str(path))
    return range(rp_text, origin) if rp_text else default()


def sets_preference(path: Path, pyproject: bool, within: Path | None = None) -> bool | None:
    """Whether a uv config file sets python-preference; None if it holds no uv settings
    (a pyproject.toml without [tool.uv]: uv looks further up).  A file uv cannot parse is
    uv's to report, so it counts as not setting one."""
    try:
        data = project.read_toml(path, within)
    except project.UnparsableError:
        return False
    if pyproject:
        tool = data.get("tool")
        table = tool.get("uv") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            return None
        return "python-preference" in table
    return "python-preference" in data


def uv_config_preference(invocation: Invocation, environ: Mapping[str, str], start: Path,
                         proj: project.Project | None, tools: bool, watched: list[Path]
                         ) -> bool:
    """uv's settings discovery (its lib.rs): ``--config-file``/``UV_CONFIG_FILE`` alone; none
    under ``--no-config``; else the nearest uv.toml or pyproject.toml with [tool.uv] above the
    workspace root (or the start directory; not for tools), the user's uv.toml and the
    system's.  True when one of them sets python-preference."""
    explicit = invocation.config_file or environ.get("UV_CONFIG_FILE")
    if explicit:
        path = Path.cwd() / (invocation.directory or "") / explicit
        watched.append(path)
        return path.is_file() and bool(sets_preference(path, False))
    if no_config(invocation, environ):
        return False
    candidates: list[tuple[Path, bool]] = []
    if not tools:
        for directory in ((proj.root if proj else start), *(proj.root if proj else start).parents):
            for name, is_pyproject in (("uv.toml", False), ("pyproject.toml", True)):
                path = directory / name
                watched.append(path)
                if path.is_file():
                    found = sets_preference(path, is_pyproject, directory)
                    if found is not None:
                        candidates.append((path, False))
                        if found:
                            return True
                        break
            if candidates:
                break
    user = paths.global_python_version(environ).parent / "uv.toml"
    dirs = [d for d in environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":") if d]
    system = [Path(d) / "uv" / "uv.toml" for d in dirs] + [Path("/etc/uv/uv.toml")]
    watched.append(user)
    if user.is_file() and sets_preference(user, False):
        return True
    for path in system:
        watched.append(path)
        if path.is_file():
            return bool(sets_preference(path, False))
    return False


def request_key(req: request.PythonRequest) -> list[object]:
    """What of a request decides the interpreter (not where it came from)."""
    if req.kind in ("default", "path"):
        return ["default"]
    return [req.kind, req.implementation, [str(c) for c in req.clauses], req.free_threaded]


def project_request(proj: project.Project, environ: Mapping[str, str],
                    watched: list[Path]) -> request.PythonRequest:
    """The project's own request, the one its uvx-nix.lock records: what `uv sync` asks for
    anywhere in the workspace (the root's pin, the global pin, requires-python), without
    --python or UV_PYTHON."""
    plain = {k: v for k, v in environ.items() if k != "UV_PYTHON"}
    return python_request(argv.sync(), plain, proj.root, proj, None, watched)


def no_config(invocation: Invocation, environ: Mapping[str, str]) -> bool:
    """``--no-config`` or ``UV_NO_CONFIG``: uv reads no config files and no version files."""
    return invocation.no_config or environ.get("UV_NO_CONFIG", "").strip().lower() in (
        "1", "true", "yes", "y", "on", "t")
