"""Where a nixpkgs comes from, as text: parsing a configured source, telling a locked URL
from a moving one, the store path a NAR hash names, pinned channels, and how a lock may be
shared with a teammate.  Nothing here runs Nix (only ``nixos-version``, to learn the
system's revision)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from uvx_nix import files
from uvx_nix.errors import UserError

LOCKED_REV = re.compile(r"(^|[/=])[0-9a-f]{40}($|[?&/])")


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
            "'github:NixOS/nixpkgs/nixos-26.05', 'path:/some/dir', or '<nixpkgs>'"
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
        "'github:NixOS/nixpkgs/nixos-26.05', 'path:/some/dir', or '<nixpkgs>'"
    )


def is_locked(ref: str) -> bool:
    """A flake ref that names one exact source tree (a rev or a narHash)."""
    return "narHash=" in ref or bool(LOCKED_REV.search(ref))


def query_params(query: str) -> list[tuple[str, str]]:
    """A flake URL's query, percent-decoded. Not ``urllib.parse.parse_qsl``: Nix never reads
    ``+`` as a space, and Nix 2.8 writes a narHash's ``+`` unencoded."""
    out = []
    for part in query.split("&"):
        key, _, value = part.partition("=")
        out.append((unquote(key), unquote(value)))
    return out


def canonical_url(url: str) -> str:
    """One spelling of a locked flake URL whichever Nix wrote it.

    ``nix flake metadata --json`` prints a narHash as ``sha256-ab+c%2fd=`` under Nix 2.8 and as
    ``sha256-ab%2Bc/d%3D`` from 2.24 on; both decode to the same hash. Locks store the query
    percent-encoded in full (``%2B``, ``%2F``, ``%3D``), which every Nix reads back, so a lock
    does not change with the writer's Nix version.
    """
    base, sep, query = url.partition("?")
    if not sep or not query:
        return url
    parts = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query_params(query)]
    return f"{base}?{'&'.join(parts)}"


# A narHash as locks carry it, decoded: SRI sha256 (Nix 2.8 and 2.26 alike).
NAR_HASH = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"


STORE_SOURCE = re.compile(r"path:(/nix/store/[0-9a-df-np-sv-z]{32}-source)\?(.*)")


FORGE = re.compile(r"(github|gitlab|sourcehut):[^?]+\?(.*)")


REVISION = re.compile(r"[0-9a-f]{40}")


def source_store_path(nar_hash: str, store: str = "/nix/store") -> str:
    """Where Nix puts a fetched source tree with this narHash (``sha256-<base64>``): its
    fixed-output path named ``source`` (libstore's makeFixedOutputPath, recursive sha256)."""
    digest = base64.b64decode(nar_hash.removeprefix("sha256-"), validate=True)
    fingerprint = f"source:sha256:{digest.hex()}:{store}:source".encode()
    full = hashlib.sha256(fingerprint).digest()
    folded = bytearray(20)
    for i, byte in enumerate(full):
        folded[i % 20] ^= byte
    chars = []
    for n in range(31, -1, -1):  # Nix's base32: 32 characters, last 5-bit group first
        bit = n * 5
        i, j = divmod(bit, 8)
        c = folded[i] >> j
        if i + 1 < 20:
            c |= folded[i + 1] << (8 - j)
        chars.append(NIX_BASE32[c & 0x1F])
    return f"{store}/{''.join(chars)}-source"


def nar_hash(query: str) -> str | None:
    nar = dict(query_params(query)).get("narHash", "")
    return nar if NAR_HASH.fullmatch(nar) else None


def nixos_revision(environ: Mapping[str, str]) -> str | None:
    """The system's nixpkgs revision, as ``nixos-version --json`` reports it on NixOS."""
    exe = shutil.which("nixos-version", path=environ.get("PATH"))
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--json"], capture_output=True, text=True, timeout=10,
                             check=False, env=dict(environ), stdin=subprocess.DEVNULL).stdout
        revision = json.loads(out).get("nixpkgsRevision")
    except (OSError, ValueError, AttributeError, subprocess.TimeoutExpired):
        return None
    return revision if isinstance(revision, str) and REVISION.fullmatch(revision) else None


def shareable(url: str, environ: Mapping[str, str], *,
              from_registry: bool) -> tuple[str, str | None]:
    """The URL to lock for ``url``, and a warning when only this machine can use it.

    A flake-built NixOS maps the registry's ``nixpkgs`` to its nixpkgs source in the store
    (nixos/modules/misc/nixpkgs-flake.nix), which Nix never substitutes: a teammate cannot
    fetch ``path:/nix/store/…-source``. The system's revision names the same tree on GitHub
    (``github:NixOS/nixpkgs/<rev>`` unpacks to the same narHash), which every machine can
    fetch and Nix checks against the narHash. Only the registry's ``nixpkgs`` is the system's
    nixpkgs (``from_registry``); a ``path:`` flake of the user's is locked as it is."""
    m = STORE_SOURCE.fullmatch(url)
    if m is None or (nar := nar_hash(m.group(2))) is None:
        return url, None
    revision = nixos_revision(environ) if from_registry else None
    if revision is not None:
        return f"github:NixOS/nixpkgs/{revision}?narHash={quote(nar, safe='')}", None
    return url, ("uvx-nix.lock names nixpkgs by a store path only this machine has "
                 f"({m.group(1)}); to share the lock, set nixpkgs in [tool.uvx-nix] to a "
                 "fetchable ref such as 'github:NixOS/nixpkgs/<revision>'")


PINNED_CHANNEL = re.compile(r"github:NixOS/nixpkgs/([0-9a-f]{40})")


def channel_revision(url: str) -> str | None:
    """The revision a channel lock pins (``github:NixOS/nixpkgs/<rev>``), else None."""
    m = PINNED_CHANNEL.fullmatch(url)
    return m.group(1) if m else None


def pinned_channel(source: object) -> tuple[str, str | None]:
    """The URL to lock for ``<nixpkgs>``, and a warning when only this machine can use it.

    A NixOS channel records its nixpkgs revision in ``.git-revision``
    (nixos/lib/make-channel.nix); the lock names that revision on GitHub, which any machine
    can fetch, and resolve.nix uses the user's own channel while it is at that revision."""
    rev = source.get("rev") if isinstance(source, dict) else None
    if isinstance(rev, str) and REVISION.fullmatch(rev):
        return f"github:NixOS/nixpkgs/{rev}", None
    return "<nixpkgs>", ("uvx-nix.lock names nixpkgs by your <nixpkgs> channel, which records "
                         "no revision (no .git-revision): only machines whose channel gives the "
                         "same store paths can use the lock; to share it, set nixpkgs in "
                         "[tool.uvx-nix] to a fetchable ref such as "
                         "'github:NixOS/nixpkgs/<revision>'")


def directory_nar_hash(source: object) -> str:
    """The NAR hash resolve.nix reports for a directory source ('' when it gave none)."""
    nar = source.get("narHash") if isinstance(source, dict) else None
    return nar if isinstance(nar, str) and NAR_HASH.fullmatch(nar) else ""


def sharing(kind: str, url: str, nar_hash: str = "") -> str:
    """Who can use a lock's nixpkgs, for ``uvx-nix nix status``."""
    if kind == "channel":
        if channel_revision(url):
            return "your <nixpkgs> channel's revision, fetchable by any machine"
        return ("your <nixpkgs> channel, which records no revision: only machines whose "
                "channel gives the same store paths can use the lock; set nixpkgs to a "
                "fetchable ref to share it")
    if kind == "path":
        if nar_hash:
            return (f"a directory, locked by its narHash {nar_hash}: other machines need "
                    "that same tree in their store or at that path")
        return ("a directory, not locked by its content: run `uvx-nix nix lock --upgrade` "
                "to lock it by its narHash")
    if url.startswith("path:"):
        return ("a path: only machines with this path can use the lock; set nixpkgs to a "
                "fetchable ref to share it")
    return "fetchable by any machine"


def local_source(url: str) -> str:
    """``url`` itself, or the same tree already in this store (``path:`` with the narHash):
    a lock naming GitHub is realised without the network when the source is here."""
    m = FORGE.fullmatch(url)
    nar = nar_hash(m.group(2)) if m else None
    if nar is None:
        return url
    path = source_store_path(nar)
    return f"path:{path}?narHash={quote(nar, safe='')}" if os.path.isdir(path) else url


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


def flake_lock_nixpkgs(flake_lock: Path) -> str | None:
    """The locked URL of the ``nixpkgs`` input in a project's flake.lock, if any."""
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
