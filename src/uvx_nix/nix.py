"""Every Nix process uvx-nix starts goes through :func:`_nix` in this module.

A cache miss costs one ``nix build`` (evaluate, build, GC-root and report in
one process) plus, only for a floating flake reference such as the registry's
``nixpkgs``, one ``nix flake metadata`` to lock it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, EXIT_NIX_MISSING, UserError

FLAGS = ("--extra-experimental-features", "nix-command flakes")
RESOLVE_NIX = Path(__file__).with_name("resolve.nix")
_LOCKED_REV = re.compile(r"(^|[/=])[0-9a-f]{40}($|[?&/])")


@dataclass(frozen=True)
class Source:
    """A nixpkgs source as configured: kind is flake, channel or path."""

    kind: str
    ref: str
    origin: str

    def to_spec(self) -> dict[str, str]:
        if self.kind == "flake":
            return {"type": "flake", "ref": self.ref}
        if self.kind == "channel":
            return {"type": "channel"}
        return {"type": "path", "path": self.ref}


def parse_source(text: str, origin: str) -> Source:
    """Classify a nixpkgs source string: flake ref, ``<nixpkgs>`` or a path."""
    raw = text.strip()
    if not raw or len(raw) > 2000 or not raw.isprintable():
        raise UserError(
            f"invalid nixpkgs source {raw[:60]!a} in {origin}: use a flake reference like "
            "'github:NixOS/nixpkgs/nixos-25.05', 'path:/some/dir', or '<nixpkgs>'"
        )
    if raw == "<nixpkgs>":
        return Source("channel", raw, origin)
    if raw.startswith("/"):
        return Source("path", raw, origin)
    flake_like = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", raw) or \
        re.match(r"^[A-Za-z0-9_-]+(/.*)?$", raw)
    if flake_like and not any(c.isspace() for c in raw):
        return Source("flake", raw, origin)
    raise UserError(
        f"invalid nixpkgs source {raw[:60]!a} in {origin}: use a flake reference like "
        "'github:NixOS/nixpkgs/nixos-25.05', 'path:/some/dir', or '<nixpkgs>'"
    )


def is_locked(ref: str) -> bool:
    """A flake ref that names one exact source tree (a rev or a narHash)."""
    return "narHash=" in ref or bool(_LOCKED_REV.search(ref))


def nix_executable(environ: Mapping[str, str]) -> str:
    found = shutil.which("nix", path=environ.get("PATH"))
    if not found:
        raise UserError(
            "nix was not found on PATH; install Nix (https://nixos.org/download) or add it "
            "to PATH, or run uv directly with UVX_NIX=0",
            EXIT_NIX_MISSING,
        )
    return found


def _error_tail(stderr: str) -> str:
    lines = [ln.rstrip() for ln in stderr.splitlines() if ln.strip()]
    noise = ("warning:", "building '", "copying")
    lines = [ln for ln in lines if not ln.lstrip().startswith(noise)]
    for i, line in enumerate(lines):
        if line.lstrip().startswith("error:"):
            tail = lines[i : i + 3]
            break
    else:
        tail = lines[-3:]
    text = " ".join(part.strip() for part in tail)
    return text[:600] if text else "no message"


def _nix(args: list[str], environ: Mapping[str, str], *, what: str, quiet: bool = False) -> str:
    """Run nix with the flags always needed; return stdout or raise a one-line error."""
    exe = nix_executable(environ)
    if environ.get("UV_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        # uv was asked to stay offline (--offline / UV_OFFLINE): so is Nix (no substituters,
        # downloaded sources considered up to date).
        args = ["--offline", *args]
    show = not quiet and sys.stderr.isatty()
    if show:
        sys.stderr.write(f"uvx-nix: {what} with Nix...")
        sys.stderr.flush()
    try:
        proc = subprocess.run(
            [exe, *FLAGS, *args],
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise UserError(f"could not start nix ({exc}); check your Nix installation",
                        EXIT_NIX_MISSING) from exc
    finally:
        if show:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
    if proc.returncode != 0:
        if proc.returncode < 0:
            detail = f"nix was killed by signal {-proc.returncode}"
        else:
            detail = _error_tail(proc.stderr)
        raise UserError(
            f"nix failed while {what}: {detail} (run with UVX_NIX_DEBUG=1 for the full log)",
            EXIT_NIX_FAILED,
        )
    if environ.get("UVX_NIX_DEBUG") == "1" and proc.stderr:
        sys.stderr.write(proc.stderr)
    return proc.stdout


def lock_flake(ref: str, environ: Mapping[str, str], quiet: bool = False) -> str:
    """``nix flake metadata --json`` a floating ref into a locked URL."""
    out = _nix(["flake", "metadata", "--json", ref], environ,
               what=f"locking nixpkgs source {ref!r}", quiet=quiet)
    try:
        data = json.loads(out)
        url = data.get("url") or data.get("lockedUrl")
    except (ValueError, AttributeError) as exc:
        raise UserError(f"nix flake metadata printed no JSON for {ref!r}",
                        EXIT_NIX_FAILED) from exc
    if not isinstance(url, str) or not url:
        raise UserError(f"nix flake metadata gave no locked URL for {ref!r}", EXIT_NIX_FAILED)
    return url


def locked_url_from_source_info(ref: str, info: Mapping[str, Any]) -> str:
    """Lock a direct flake ref with what the evaluation saw (no second process)."""
    nar = info.get("narHash")
    rev = info.get("rev")
    m = re.match(r"^(github|gitlab|sourcehut):([^/?]+)/([^/?]+)", ref)
    if m and isinstance(rev, str):
        url = f"{m.group(1)}:{m.group(2)}/{m.group(3)}/{rev}"
        return f"{url}?narHash={quote(nar, safe='')}" if isinstance(nar, str) else url
    out = info.get("outPath")
    if isinstance(out, str) and isinstance(nar, str):
        return f"path:{out}?narHash={quote(nar, safe='')}"
    return ref


def build(spec: Mapping[str, Any], out_link: Path, environ: Mapping[str, str], *,
          what: str, quiet: bool = False) -> dict[str, Any]:
    """Evaluate resolve.nix with ``spec`` as data, build, root at ``out_link``, read manifest."""
    try:
        out_link.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out_link.parent} ({exc.strerror}); remove or rename "
                        "what is in the way", EXIT_CONFIG) from exc
    _nix(
        [
            "build", "--json", "--impure", "--file", str(RESOLVE_NIX),
            "--argstr", "spec", json.dumps(spec, sort_keys=True),
            "--out-link", str(out_link),
        ],
        environ,
        what=what,
        quiet=quiet,
    )
    try:
        with open(out_link / "manifest.nix", encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise UserError(f"nix built {out_link} but its manifest is unreadable ({exc})",
                        EXIT_NIX_FAILED) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise UserError("nix returned a manifest of an unknown format", EXIT_NIX_FAILED)
    return manifest


def flake_lock_nixpkgs(flake_lock: Path) -> str | None:
    """The locked URL of the ``nixpkgs`` input in a project's flake.lock, if any."""
    from uvx_nix import files

    try:
        raw = files.read_bounded(flake_lock, 4 * files.MIB, within=flake_lock.parent)
    except OSError:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        nodes = data["nodes"]
        name = nodes[data.get("root", "root")]["inputs"]["nixpkgs"]
        if isinstance(name, list):  # a `follows` path
            return None
        locked = nodes[name]["locked"]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    if not isinstance(locked, dict):
        return None
    kind = locked.get("type")
    nar = locked.get("narHash")
    query = f"?narHash={quote(nar, safe='')}" if isinstance(nar, str) else ""
    if kind in ("github", "gitlab", "sourcehut") and "rev" in locked:
        return f"{kind}:{locked['owner']}/{locked['repo']}/{locked['rev']}{query}"
    if kind == "path" and "path" in locked:
        return f"path:{locked['path']}{query}"
    if kind == "git" and "url" in locked and "rev" in locked:
        sep = "&" if query else "?"
        return f"git+{locked['url']}{query or '?'}{sep if query else ''}rev={locked['rev']}"
    if kind == "tarball" and "url" in locked:
        return f"tarball+{locked['url']}{query}"
    return None


def store_dir() -> str:
    return os.environ.get("NIX_STORE_DIR", "/nix/store")
