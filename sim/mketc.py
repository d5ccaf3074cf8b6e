"""Generate the /etc of the simulated NixOS into sim/.build/etc (``sim/setup_sim.py etc``,
run by scripts/setup-sim)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / ".build"
ETC = BUILD / "etc"


def main() -> None:
    info = json.loads((BUILD / "sim.json").read_text())
    pkgs: dict[str, str] = info["pkgs"]
    tmp = BUILD / "etc.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "nix").mkdir(parents=True)
    (tmp / "ssl/certs").mkdir(parents=True)
    (tmp / "zsh").mkdir()
    files = {
        "os-release": 'NAME=NixOS\nID=nixos\nVERSION_ID="sim"\n'
        'PRETTY_NAME="NixOS (uvx-nix simulation)"\n'
        "HOME_URL=https://nixos.org/\n",
        "NIXOS": "",
        "passwd": "root:x:0:0:System administrator:/root:/run/current-system/sw/bin/bash\n"
        "nobody:x:65534:65534:Unprivileged account:/var/empty:/run/current-system/sw/bin/nologin\n",
        "group": "root:x:0:\nnixbld:x:30000:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
        "shells": "/run/current-system/sw/bin/bash\n/run/current-system/sw/bin/zsh\n"
        "/run/current-system/sw/bin/fish\n",
        "nix/nix.conf": "build-users-group =\nsandbox = false\nsubstituters =\n"
        "trusted-substituters =\n"
        f"build-hook = {pkgs['nix']}/libexec/nix/build-remote\nbuilders =\n"
        "flake-registry = /etc/nix/registry.json\n"
        "experimental-features = nix-command flakes\nwarn-dirty = false\n",
        "nix/registry.json": json.dumps({
            "version": 2,
            "flakes": [{
                "from": {"type": "indirect", "id": "nixpkgs"},
                "to": {"type": "path", "path": info["nixpkgs"]},
            }],
        }, indent=2) + "\n",
        # Debian's git has /usr/share/git-core/templates compiled in; point it at the store copy.
        "gitconfig": f"[init]\n\ttemplateDir = {pkgs['git']}/share/git-core/templates\n",
        # Debian's zsh has its module and function dirs compiled in under /usr; NixOS's zsh has
        # them in its store path. Redirect them to the store copy before any user rc file.
        "zsh/zshenv": f"module_path=({pkgs['zsh']}/lib/zsh/*(N/))\n"
        f"fpath=({pkgs['zsh']}/share/zsh/functions/**/*(N/) $fpath)\n",
    }
    for rel, text in files.items():
        (tmp / rel).write_text(text)
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    shutil.copy2(bundle, tmp / "ssl/certs/ca-certificates.crt")
    (tmp / "ssl/certs/ca-bundle.crt").symlink_to("ca-certificates.crt")
    resolv = Path("/etc/resolv.conf")
    if resolv.exists():
        shutil.copy2(resolv, tmp / "resolv.conf")
    if ETC.exists() and _same_tree(tmp, ETC):
        # Unchanged: leave the directory that running simulations have bind-mounted alone
        # (deleting it would empty their /etc mid-run).
        shutil.rmtree(tmp)
        return
    if ETC.exists():
        # Changed: move the old tree aside rather than deleting it, so a simulation that is
        # still running keeps a complete /etc; the previous generation is cleaned next time.
        old = BUILD / "etc.old"
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
        ETC.rename(old)
    tmp.rename(ETC)


def _same_tree(a: Path, b: Path) -> bool:
    def listing(root: Path) -> dict[str, bytes]:
        out = {}
        for path in sorted(root.rglob("*")):
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = b"link:" + str(path.readlink()).encode()
            elif path.is_file():
                out[rel] = path.read_bytes()
            else:
                out[rel] = b"dir"
        return out

    return listing(a) == listing(b)

