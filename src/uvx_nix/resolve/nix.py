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
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from uvx_nix import paths
from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, EXIT_NIX_MISSING, UserError
from uvx_nix.resolve import progress

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


def _nix(args: list[str], environ: Mapping[str, str], *, what: str, quiet: bool = False) -> str:
    """Run nix with the flags always needed; return stdout or raise an error naming the cause.

    Nix writes its structured log (``--log-format internal-json``) to stderr; progress.py
    turns it into one status line on a terminal, keeps the failing build's last lines, and
    writes the readable log to the cache directory, kept when Nix fails."""
    exe = nix_executable(environ)
    if environ.get("UV_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        # uv was asked to stay offline (--offline / UV_OFFLINE): so is Nix (no substituters,
        # downloaded sources considered up to date).
        args = ["--offline", *args]
    argv = [exe, *FLAGS, "--log-format", "internal-json", *args]
    display = progress.Display(progress.mode(environ, quiet, sys.stderr), what, environ)
    log = progress.LogFile(paths.cache_dir(environ), argv)
    try:
        proc = subprocess.Popen(argv, env=dict(environ), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        log.end(keep=False)
        raise UserError(f"could not start nix ({exc}); check your Nix installation",
                        EXIT_NIX_MISSING) from exc
    try:
        stdout, state = progress.follow(proc, display, log.write)
    except BaseException:
        proc.kill()  # interrupted: do not leave Nix running behind the user's back
        proc.wait()
        log.end(keep=True)
        raise
    if proc.returncode == 0:
        log.end(keep=False)
        return stdout
    where = log.end(keep=True)
    if proc.returncode == -signal.SIGINT or _interrupted(state):
        # Ctrl-C reached Nix (its own handler says so) even if it did not reach us, or not
        # yet: it was meant for the whole call, which stops (130) and falls back to nothing.
        raise KeyboardInterrupt
    raise UserError(_failure(what, proc.returncode, state, where), EXIT_NIX_FAILED)


def _interrupted(state: progress.NixLog) -> bool:
    detail, _ = state.failure()
    return detail.strip().startswith("interrupted by the user")


def _failure(what: str, returncode: int, state: progress.NixLog, log: Path | None) -> str:
    """One error: the cause (the evaluation error with its position, or the build that failed),
    where the full log is, then the failed build's last lines."""
    if returncode < 0:
        detail = f"nix was killed by signal {-returncode}"
        build = None
    else:
        detail, build = state.failure()
    refusal = _refusal(detail)
    if refusal is not None:
        return refusal
    where = f"full log: {log}, or" if log is not None else "for the full log,"
    message = f"nix failed while {what}: {detail} ({where} run with UVX_NIX_DEBUG=1)"
    if build is not None and build.lines:
        lines = list(build.lines)[-progress.LAST_LINES:]
        message += f"\nlast lines of the build of {build.name}:"
        message += "".join(f"\n  {build.name}> {line}" for line in lines)
    return message


# nixpkgs' check-meta.nix refusing a package, in its current wording ("Refusing to evaluate
# package 'n-v' in POS because it has an unfree license (<L>)") and the older one ("Package
# <n-v> in POS has an unfree license (<L>), refusing to evaluate."), where <> are nixpkgs'
# typographic quotes (U+2018, U+2019).
_PACKAGE = r"(?:Refusing to evaluate package|Package) ['\u2018]([^'\u2019]+)['\u2019].*? "
_UNFREE = re.compile(_PACKAGE + r"has an unfree license \(\u2018([^\u2019]*)\u2019\)")
_INSECURE = re.compile(_PACKAGE + r"(?:is )?marked as insecure")


def _refusal(detail: str) -> str | None:
    """nixpkgs' own hint (export NIXPKGS_ALLOW_UNFREE=1) does not apply through uvx-nix, which
    keeps the user's NIXPKGS_* variables out of the evaluation: name the setting instead."""
    if m := _UNFREE.search(detail):
        return (f"nixpkgs refuses {m.group(1)}: it has an unfree license ({m.group(2)}); to use "
                "it, set allow-unfree = true in [tool.uvx-nix] or the user config, or "
                "UVX_NIX_ALLOW_UNFREE=1")
    if m := _INSECURE.search(detail):
        return (f"nixpkgs refuses {m.group(1)}: it is marked as insecure; use a maintained "
                "attribute instead in 'libraries'")
    return None


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
_NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
_STORE_SOURCE = re.compile(r"path:(/nix/store/[0-9a-df-np-sv-z]{32}-source)\?(.*)")
_FORGE = re.compile(r"(github|gitlab|sourcehut):[^?]+\?(.*)")
_REVISION = re.compile(r"[0-9a-f]{40}")


def source_store_path(nar_hash: str, store: str = "/nix/store") -> str:
    """Where Nix puts a fetched source tree with this narHash (``sha256-<base64>``): its
    fixed-output path named ``source`` (libstore's makeFixedOutputPath, recursive sha256)."""
    import base64
    import hashlib

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
        chars.append(_NIX_BASE32[c & 0x1F])
    return f"{store}/{''.join(chars)}-source"


def _nar_hash(query: str) -> str | None:
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
    return revision if isinstance(revision, str) and _REVISION.fullmatch(revision) else None


def shareable(url: str, environ: Mapping[str, str], *,
              from_registry: bool) -> tuple[str, str | None]:
    """The URL to lock for ``url``, and a warning when only this machine can use it.

    A flake-built NixOS maps the registry's ``nixpkgs`` to its nixpkgs source in the store
    (nixos/modules/misc/nixpkgs-flake.nix), which Nix never substitutes: a teammate cannot
    fetch ``path:/nix/store/…-source``. The system's revision names the same tree on GitHub
    (``github:NixOS/nixpkgs/<rev>`` unpacks to the same narHash), which every machine can
    fetch and Nix checks against the narHash. Only the registry's ``nixpkgs`` is the system's
    nixpkgs (``from_registry``); a ``path:`` flake of the user's is locked as it is."""
    m = _STORE_SOURCE.fullmatch(url)
    if m is None or (nar := _nar_hash(m.group(2))) is None:
        return url, None
    revision = nixos_revision(environ) if from_registry else None
    if revision is not None:
        return f"github:NixOS/nixpkgs/{revision}?narHash={quote(nar, safe='')}", None
    return url, ("uvx-nix.lock names nixpkgs by a store path only this machine has "
                 f"({m.group(1)}); to share the lock, set nixpkgs in [tool.uvx-nix] to a "
                 "fetchable ref such as 'github:NixOS/nixpkgs/<revision>'")


_PINNED_CHANNEL = re.compile(r"github:NixOS/nixpkgs/([0-9a-f]{40})")


def channel_revision(url: str) -> str | None:
    """The revision a channel lock pins (``github:NixOS/nixpkgs/<rev>``), else None."""
    m = _PINNED_CHANNEL.fullmatch(url)
    return m.group(1) if m else None


def pinned_channel(source: object) -> tuple[str, str | None]:
    """The URL to lock for ``<nixpkgs>``, and a warning when only this machine can use it.

    A NixOS channel records its nixpkgs revision in ``.git-revision``
    (nixos/lib/make-channel.nix); the lock names that revision on GitHub, which any machine
    can fetch, and resolve.nix uses the user's own channel while it is at that revision."""
    rev = source.get("rev") if isinstance(source, dict) else None
    if isinstance(rev, str) and _REVISION.fullmatch(rev):
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
    m = _FORGE.fullmatch(url)
    nar = _nar_hash(m.group(2)) if m else None
    if nar is None:
        return url
    path = source_store_path(nar)
    return f"path:{path}?narHash={quote(nar, safe='')}" if os.path.isdir(path) else url


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
    return canonical_url(url)


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


def _user_nix_conf_files(environ: Mapping[str, str]) -> str:
    """The user's own nix.conf files, as Nix finds them (NIX_USER_CONF_FILES, else
    nix/nix.conf under XDG_CONFIG_HOME and each of XDG_CONFIG_DIRS)."""
    if "NIX_USER_CONF_FILES" in environ:
        return environ["NIX_USER_CONF_FILES"]
    home = environ.get("HOME", "")
    dirs = [environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
            *(environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")]
    return ":".join(os.path.join(d, "nix", "nix.conf") for d in dirs if d)


def evaluation_environ(environ: Mapping[str, str], spec: Mapping[str, Any],
                       empty_home: Path) -> dict[str, str]:
    """The environment ``nix build`` of resolve.nix runs with: the user's Nix settings, but
    nothing that changes what nixpkgs evaluates to.

    nixpkgs reads the user's config (``NIXPKGS_CONFIG``, ``~/.config/nixpkgs/config.nix``),
    overlays (``<nixpkgs-overlays>``, ``$XDG_CONFIG_HOME/nixpkgs/overlays``) and
    ``NIXPKGS_ALLOW_*`` through ``builtins.getEnv`` (pkgs/top-level/impure.nix,
    impure-overlays.nix, stdenv/generic/check-meta.nix). resolve.nix passes ``config`` and
    ``overlays`` itself where it imports nixpkgs, but a flake's ``legacyPackages`` takes its
    overlays from the environment: for a flake, HOME and XDG_CONFIG_HOME point at an empty
    directory (Nix still reads the user's nix.conf, through NIX_USER_CONF_FILES, and keeps
    its caches) and ``nixpkgs-overlays`` leaves NIX_PATH. ``allowUnfree`` is the only way in.
    """
    env = {k: v for k, v in environ.items() if not k.startswith("NIXPKGS_")}
    if spec.get("allowUnfree"):
        env["NIXPKGS_ALLOW_UNFREE"] = "1"
    if spec.get("nixpkgs", {}).get("type") == "flake":
        home = environ.get("HOME", "")
        for var, default in (("XDG_CACHE_HOME", ".cache"), ("XDG_DATA_HOME", ".local/share"),
                             ("XDG_STATE_HOME", ".local/state")):
            env[var] = environ.get(var) or os.path.join(home, default)
        env["NIX_USER_CONF_FILES"] = _user_nix_conf_files(environ)
        # git, which Nix runs for git+https/git+ssh sources, keeps the user's own config
        # (credential helpers, insteadOf rewrites); ssh finds its keys through the passwd
        # entry, not HOME.
        git_config = [os.path.join(home, ".gitconfig"),
                      os.path.join(environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
                                   "git", "config")]
        found = next((c for c in git_config if os.path.isfile(c)), None)
        if found and "GIT_CONFIG_GLOBAL" not in environ:
            env["GIT_CONFIG_GLOBAL"] = found
        env["HOME"] = str(empty_home)
        env["XDG_CONFIG_HOME"] = str(empty_home / ".config")
        if "NIX_PATH" in env:
            env["NIX_PATH"] = ":".join(
                e for e in env["NIX_PATH"].split(":") if not e.startswith("nixpkgs-overlays="))
    return env


def build(spec: Mapping[str, Any], out_link: Path, environ: Mapping[str, str], *,
          what: str, quiet: bool = False, expression: Path = RESOLVE_NIX) -> dict[str, Any]:
    """Evaluate resolve.nix (or uvx-nix's other ``expression``, build.nix) with ``spec`` as
    data, build, root at ``out_link``, read manifest."""
    empty_home = out_link.parent / "nixpkgs-home"
    try:
        out_link.parent.mkdir(parents=True, exist_ok=True)
        empty_home.mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out_link.parent} ({exc.strerror}); remove or rename "
                        "what is in the way", EXIT_CONFIG) from exc
    _nix(
        [
            "build", "--json", "--impure", "--file", str(expression),
            "--argstr", "spec", json.dumps(spec, sort_keys=True),
            "--out-link", str(out_link),
        ],
        evaluation_environ(environ, spec, empty_home),
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
