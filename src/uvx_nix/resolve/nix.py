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
from pathlib import Path
from typing import Any

from uvx_nix import paths
from uvx_nix.errors import EXIT_CONFIG, EXIT_NIX_FAILED, EXIT_NIX_MISSING, UserError
from uvx_nix.resolve import progress, sources, statusline

FLAGS = ("--extra-experimental-features", "nix-command flakes")
RESOLVE_NIX = Path(__file__).with_name("resolve.nix")


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
    display = statusline.Display(statusline.mode(environ, quiet, sys.stderr), what, environ)
    log = statusline.LogFile(paths.cache_dir(environ), argv)
    try:
        proc = subprocess.Popen(argv, env=dict(environ), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        log.end(keep=False)
        raise UserError(f"could not start nix ({exc}); check your Nix installation",
                        EXIT_NIX_MISSING) from exc
    try:
        stdout, state = statusline.follow(proc, display, log.write)
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
    return sources.canonical_url(url)


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


