"""``uvx-nix.lock``: read, validate, write.  TOML, deterministic, meant to be committed.

A lockfile may come from a stranger's repository, so nothing in it is trusted
until checked: every path must be a store path (no ``..``), the interpreter
must live inside the interpreter's store path, and before first use on a
machine the locked attributes are re-evaluated against the locked nixpkgs and
must give exactly the locked paths (see :mod:`uvx_nix.resolve.resolution`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from uvx_nix import __version__, attribute, files
from uvx_nix.errors import EXIT_LOCKFILE, UserError
from uvx_nix.resolve import sources

FORMAT = 2
NAME = "uvx-nix.lock"
MAX_BYTES = 1024 * 1024  # a lock is a few KiB; a committed one is read with this bound
MAX_LIBRARIES = 400  # per system: every entry of [tool.uvx-nix]'s lists, expanded
# fullmatch everywhere: `$` would also accept a trailing newline.
_STORE_PATH = re.compile(r"/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+")
_SYSTEM = re.compile(r"[a-z0-9_]+-[a-z0-9_]+")
_VERSION = re.compile(r"[0-9]+\.[0-9]+(\.[0-9]+)?([a-z]+[0-9]*)?")
IMPLEMENTATIONS = ("cpython", "pypy", "graalpy")
HEADER = (
    "# uvx-nix.lock: the Nix interpreter and libraries uv uses for this project.\n"
    "# Written by uvx-nix; commit it next to uv.lock. Refresh with `uvx-nix nix lock --upgrade`.\n"
)


@dataclass(frozen=True)
class Library:
    attribute: str
    path: str  # the store path of the library output; its lib/ goes on the library path


@dataclass(frozen=True)
class SystemEntry:
    python_attribute: str
    python_version: str
    implementation: str
    python: str
    interpreter: str
    libraries: tuple[Library, ...] = ()

    def store_paths(self) -> list[str]:
        return [self.python, *(lib.path for lib in self.libraries)]

    def present(self) -> bool:
        """Every locked store path is in this machine's store (none garbage-collected)."""
        return all(os.path.exists(p) for p in self.store_paths())


@dataclass(frozen=True)
class Lock:
    fingerprint: str
    inputs: dict[str, Any]
    nixpkgs_url: str
    nixpkgs_kind: str
    systems: dict[str, SystemEntry] = field(default_factory=dict)
    migrated_from: int | None = None  # the older format it was read from, to be rewritten
    # A directory source's NAR hash (of its store copy without VCS metadata): the lock names
    # exactly that tree. Empty for other kinds, and in locks written before it was recorded.
    nixpkgs_nar_hash: str = ""


def _bad(path: Path, why: str) -> UserError:
    return UserError(
        f"{path} {why}; delete it and run `uvx-nix nix lock` to write a new one",
        EXIT_LOCKFILE,
    )


def is_store_path(value: object) -> bool:
    return isinstance(value, str) and bool(_STORE_PATH.fullmatch(value))


def parse_entry(path: Path, system: str, data: object) -> SystemEntry:
    if not isinstance(data, dict):
        raise _bad(path, f"has a malformed [systems.{system}] table")
    try:
        entry = SystemEntry(
            python_attribute=str(data["python-attribute"]),
            python_version=str(data["python-version"]),
            implementation=str(data.get("implementation", "cpython")),
            python=str(data["python"]),
            interpreter=str(data["interpreter"]),
            libraries=tuple(
                Library(str(lib["attribute"]), str(lib["path"]))
                for lib in data.get("libraries", [])
            ),
        )
    except KeyError as exc:
        raise _bad(path, f"is missing {exc} in [systems.{system}]") from exc
    except TypeError as exc:
        raise _bad(path, f"has a malformed entry in [systems.{system}]") from exc
    if not attribute.is_attribute(entry.python_attribute):
        raise _bad(path, f"names an invalid interpreter attribute {entry.python_attribute!r}")
    if not _VERSION.fullmatch(entry.python_version):
        raise _bad(path, f"names an invalid Python version {entry.python_version[:40]!r}")
    if entry.implementation not in IMPLEMENTATIONS:
        raise _bad(path, f"names an unknown implementation {entry.implementation[:40]!r}")
    for store_path in entry.store_paths():
        if not is_store_path(store_path):
            raise _bad(path, f"names {store_path[:80]!r}, which is not a /nix/store path")
    interp = entry.interpreter
    if not interp.startswith(entry.python + "/") or "/../" in interp or "/./" in interp \
            or interp.endswith(("/..", "/.")) or "//" in interp:
        raise _bad(path, f"has an interpreter {interp[:80]!r} outside its store path "
                   f"{entry.python}")
    if len(entry.libraries) > MAX_LIBRARIES:
        raise _bad(path, f"lists {len(entry.libraries)} libraries for {system} (at most "
                   f"{MAX_LIBRARIES})")
    for lib in entry.libraries:
        if not attribute.is_attribute(lib.attribute):
            raise _bad(path, f"names an invalid library attribute {lib.attribute[:60]!r}")
    return entry


def _migrate(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 kept the nixpkgs URL at top level and libraries as bare paths."""
    version = data.get("version")
    if version == 1:
        data = dict(data)
        data["nixpkgs"] = {"url": data.get("nixpkgs"), "kind": "flake"}
        old_systems = data.get("systems") or {}
        if not isinstance(old_systems, dict):
            raise _bad(path, "has a malformed [systems] table")
        systems = {}
        for system, old in old_systems.items():
            if not isinstance(old, dict):
                raise _bad(path, f"has a malformed [systems.{system}] table")
            entry = dict(old)
            paths = entry.get("libraries", [])
            attributes = entry.get("library-attributes", [])
            if not isinstance(paths, list) or not isinstance(attributes, list) or \
                    len(paths) != len(attributes):
                raise _bad(path, f"has libraries and library-attributes that do not pair up "
                           f"in [systems.{system}]")
            entry["libraries"] = [
                {"attribute": attr, "path": p}
                for attr, p in zip(attributes, paths, strict=True)
            ]
            systems[system] = entry
        data["systems"] = systems
        data["version"] = FORMAT
    return data


def _check_strings(path: Path, inputs: dict[str, Any], nixpkgs: dict[str, Any]) -> None:
    """Every string a lock from elsewhere carries is validated when read: the nixpkgs source
    is one uvx-nix could have written (a flake reference in printable ASCII, an absolute
    path, or <nixpkgs>), and the [inputs] record holds short printable strings only."""
    kind, url = nixpkgs.get("kind", "flake"), nixpkgs["url"]
    try:
        source = sources.parse_source(url, str(path))
    except UserError:
        source = None
    # A channel is locked by the revision it records (sources.pinned_channel), else as <nixpkgs>.
    pinned = kind == "channel" and sources.channel_revision(url) is not None
    if not pinned and (source is None or source.kind != kind or source.ref != url or
                       (kind == "flake" and not url.isascii())):
        raise _bad(path, f"names an invalid nixpkgs source {url[:80]!a} (kind "
                   f"{str(kind)[:20]!a})")
    nar = nixpkgs.get("nar-hash")
    if nar is not None and (kind != "path" or not isinstance(nar, str) or
                            not sources.NAR_HASH.fullmatch(nar)):
        raise _bad(path, f"has an invalid [nixpkgs] nar-hash {str(nar)[:80]!a}")
    for key, value in inputs.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_LIBRARIES or not all(
                isinstance(v, str) and len(v) <= 2000 and v.isprintable() for v in values):
            raise _bad(path, f"has an invalid [inputs] {str(key)[:40]!a}")


def parse(text: str, path: Path) -> Lock:
    try:
        data = tomlkit.parse(text).unwrap()
    except (TOMLKitError, ValueError, RecursionError) as exc:
        raise _bad(path, "is not valid TOML (damaged or truncated?)") from exc
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _bad(path, "has no format version")
    if version > FORMAT:
        raise UserError(
            f"{path} was written by a newer uvx-nix (format {version}, this one reads up to "
            f"{FORMAT}); upgrade uvx-nix",
            EXIT_LOCKFILE,
        )
    migrated_from = version if version < FORMAT else None
    data = _migrate(path, data)
    if data.get("version") != FORMAT:
        raise _bad(path, f"has an unknown format version {version}")
    inputs = data.get("inputs")
    nixpkgs = data.get("nixpkgs")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("fingerprint"), str):
        raise _bad(path, "has no [inputs] fingerprint")
    if not isinstance(nixpkgs, dict) or not isinstance(nixpkgs.get("url"), str):
        raise _bad(path, "has no [nixpkgs] url")
    _check_strings(path, inputs, nixpkgs)
    systems_data = data.get("systems", {})
    if not isinstance(systems_data, dict):
        raise _bad(path, "has a malformed [systems] table")
    systems = {}
    for system, entry in systems_data.items():
        if not _SYSTEM.fullmatch(system):
            raise _bad(path, f"names an invalid system {system[:40]!r}")
        systems[system] = parse_entry(path, system, entry)
    return Lock(
        fingerprint=inputs["fingerprint"],
        inputs=dict(inputs),
        nixpkgs_url=nixpkgs["url"],
        nixpkgs_kind=str(nixpkgs.get("kind", "flake")),
        systems=systems,
        migrated_from=migrated_from,
        nixpkgs_nar_hash=str(nixpkgs.get("nar-hash", "")),
    )


def read(path: Path) -> tuple[Lock, bytes] | None:
    """The lock and its raw bytes, None when there is none, or a one-line error."""
    try:
        raw = files.read_bounded(path, MAX_BYTES, within=path.parent, code=EXIT_LOCKFILE)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(path, "is not UTF-8 text (damaged?)") from exc
    return parse(text, path), raw


def render(lock: Lock) -> str:
    doc = tomlkit.document()
    doc.add("version", FORMAT)
    doc.add("generator", f"uvx-nix {__version__}")
    inputs = tomlkit.table()
    for key in sorted(lock.inputs):
        inputs.add(key, lock.inputs[key])
    doc.add("inputs", inputs)
    nixpkgs = tomlkit.table()
    nixpkgs.add("kind", lock.nixpkgs_kind)
    nixpkgs.add("url", lock.nixpkgs_url)
    if lock.nixpkgs_nar_hash:
        nixpkgs.add("nar-hash", lock.nixpkgs_nar_hash)
    doc.add("nixpkgs", nixpkgs)
    systems = tomlkit.table(is_super_table=True)
    for system in sorted(lock.systems):
        entry = lock.systems[system]
        table = tomlkit.table()
        table.add("python-attribute", entry.python_attribute)
        table.add("python-version", entry.python_version)
        table.add("implementation", entry.implementation)
        table.add("python", entry.python)
        table.add("interpreter", entry.interpreter)
        libs = tomlkit.array()
        for lib in entry.libraries:
            item = tomlkit.inline_table()
            item.add("attribute", lib.attribute)
            item.add("path", lib.path)
            libs.append(item)
        table.add("libraries", libs.multiline(True) if entry.libraries else libs)
        systems.add(system, table)
    doc.add("systems", systems)
    return HEADER + tomlkit.dumps(doc)


def write(path: Path, lock: Lock) -> bytes:
    """Atomically replace ``path`` (see :mod:`uvx_nix.files`)."""
    data = render(lock).encode("utf-8")
    try:
        if not path.is_symlink() and \
                files.read_bounded(path, MAX_BYTES, within=path.parent) == data:
            return data
    except (OSError, UserError):
        pass  # missing, or not a regular file: replaced below
    files.write_atomic(path, data, 0o644)
    return data
