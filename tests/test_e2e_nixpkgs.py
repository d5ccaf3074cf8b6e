"""What the real nixpkgs does that a hand-written one would not, end to end in the simulation:
the user's own overlays and config, a flake's own overlays, unfree packages, free-threaded
interpreters (the look-alike copies each shape from nixpkgs' sources; see tests/sim/nixpkgs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import tomlkit

from e2e import uvx, write_project
from helpers.sim import Sim

pytestmark = pytest.mark.sim
# An overlay that swaps the top-level python313 for another derivation (the look-alike's
# free-threaded build), as a personal or company overlay might.
SWAP = "final: prev: { python313 = prev.python313FreeThreading; }\n"


def _locked_python(project: Path) -> str:
    doc = tomlkit.parse((project / "uvx-nix.lock").read_text())
    return str(doc["systems"]["x86_64-linux"]["python"])


def _locked_url(project: Path) -> str:
    return str(tomlkit.parse((project / "uvx-nix.lock").read_text())["nixpkgs"]["url"])


def _pinned_313(project: Path) -> None:
    write_project(project, requires=">=3.12")
    (project / ".python-version").write_text("3.13\n")


def test_a_personal_overlay_changes_nothing_in_the_lock(sim: Sim, project_dir: Path) -> None:
    overlays = sim.home / ".config" / "nixpkgs" / "overlays"
    overlays.mkdir(parents=True)
    (overlays / "swap.nix").write_text(SWAP)
    (sim.home / ".config" / "nixpkgs" / "config.nix").write_text("{ allowUnfree = true; }\n")
    _pinned_313(project_dir)
    # The overlay is real: nixpkgs' own legacyPackages picks it up for the user's shell.
    seen = sim.run(["nix", "eval", "--impure", "--raw", "nixpkgs#python313.executable"],
                   cwd=project_dir, check=True)
    assert seen.stdout == "python3.13t"
    uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)
    assert _locked_python(project_dir) == sim.pkgs["python313"]


def test_a_flakes_own_overlay_is_honoured(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    company = tmp_path / "company-nixpkgs"
    company.mkdir()
    (company / "flake.nix").write_text(
        "{\n"
        f'  inputs.nixpkgs.url = "path:{sim.nixpkgs_dir}";\n'
        "  outputs = { self, nixpkgs }: {\n"
        "    legacyPackages.x86_64-linux = let pkgs = nixpkgs.legacyPackages.x86_64-linux;\n"
        f"      in pkgs // ({SWAP.strip()}) pkgs pkgs;\n"
        "  };\n"
        "}\n")
    _pinned_313(project_dir)
    sim.extra_binds.append(tmp_path)
    # As its repository would have it: with a flake.lock.
    sim.run(["nix", "flake", "lock", f"path:{company}"], cwd=project_dir, check=True)
    res = uvx(sim, ["nix", "lock"], cwd=project_dir, env={"UVX_NIX_NIXPKGS": f"path:{company}"})
    assert res.returncode == 0, res.stderr
    locked = _locked_python(project_dir)
    assert locked != sim.pkgs["python313"]
    assert "python3.13t" in (project_dir / "uvx-nix.lock").read_text()


def test_unfree_needs_the_setting_not_nixpkgs_variable(sim: Sim, project_dir: Path) -> None:
    _pinned_313(project_dir)
    env = {"UVX_NIX_LIBRARIES": "cudaPackages.cudatoolkit", "NIXPKGS_ALLOW_UNFREE": "1"}
    refused = uvx(sim, ["nix", "lock"], cwd=project_dir, env=env)
    assert refused.returncode == 73, refused
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "nixpkgs refuses cudatoolkit-12.8.1: it has an unfree license (nvidiaCudaRedist)" \
        in lines[0]
    assert "UVX_NIX_ALLOW_UNFREE=1" in lines[0]
    allowed = uvx(sim, ["nix", "lock"], cwd=project_dir,
                  env={**env, "UVX_NIX_ALLOW_UNFREE": "1"})
    assert allowed.returncode == 0, allowed.stderr
    assert 'attribute = "cudaPackages.cudatoolkit"' in \
        (project_dir / "uvx-nix.lock").read_text()


def test_free_threaded_requests_lock_the_free_threaded_attribute(sim: Sim,
                                                                 project_dir: Path) -> None:
    _pinned_313(project_dir)
    (project_dir / ".python-version").write_text("3.13t\n")  # the project's own request
    res = uvx(sim, ["nix", "lock"], cwd=project_dir)
    assert res.returncode == 0, res.stderr
    lock = (project_dir / "uvx-nix.lock").read_text()
    assert 'python-attribute = "python313FreeThreading"' in lock


def _locked_libraries(project: Path) -> dict[str, str]:
    doc = tomlkit.parse((project / "uvx-nix.lock").read_text())
    libs = doc["systems"]["x86_64-linux"]["libraries"]
    return {str(lib["attribute"]): str(lib["path"]) for lib in libs}


@pytest.mark.parametrize("name", ["xorg.libX11", "libx11"])
def test_a_renamed_library_resolves_without_its_warning_even_with_abort_on_warn(
        sim: Sim, project_dir: Path, name: str) -> None:
    _pinned_313(project_dir)
    strict = {"NIX_ABORT_ON_WARN": "1"}  # abort-on-warn (Nix >= 2.23) and lib.warn's own check
    # The deprecated name really is fatal under this setting...
    old = sim.run(["nix", "eval", "--impure", "--raw", "nixpkgs#xorg.libX11.outPath"],
                  cwd=project_dir, env=strict)
    assert old.returncode != 0
    assert "has been renamed to 'libx11'" in old.stderr
    # ... and resolution never evaluates it while nixpkgs has the new one.
    res = uvx(sim, ["nix", "lock"], cwd=project_dir,
              env={**strict, "UVX_NIX_LIBRARIES": name})
    assert res.returncode == 0, res.stderr
    assert "deprecated" not in res.stderr
    assert _locked_libraries(project_dir)[name] == sim.pkgs["libx11"]


def test_a_new_name_falls_back_to_the_old_one_in_an_older_nixpkgs(
        sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    older = tmp_path / "nixpkgs-25.11"
    older.mkdir()
    # A nixpkgs from before the rename: only xorg.libX11, no warning, no libx11.
    (older / "flake.nix").write_text(
        "{\n"
        f'  inputs.nixpkgs.url = "path:{sim.nixpkgs_dir}";\n'
        "  outputs = { self, nixpkgs }: {\n"
        "    legacyPackages.x86_64-linux = let pkgs = nixpkgs.legacyPackages.x86_64-linux;\n"
        '      in builtins.removeAttrs pkgs [ "libx11" ] // {\n'
        "        xorg = { libX11 = pkgs.libx11; };\n"
        "      };\n"
        "  };\n"
        "}\n")
    _pinned_313(project_dir)
    sim.extra_binds.append(tmp_path)
    sim.run(["nix", "flake", "lock", f"path:{older}"], cwd=project_dir, check=True)
    res = uvx(sim, ["nix", "lock"], cwd=project_dir,
              env={"UVX_NIX_NIXPKGS": f"path:{older}", "UVX_NIX_LIBRARIES": "libx11"})
    assert res.returncode == 0, res.stderr
    assert _locked_libraries(project_dir)["libx11"] == sim.pkgs["libx11"]


REVISION = "0123456789abcdef0123456789abcdef01234567"


def _nixos_registry(sim: Sim, project: Path, tmp_path: Path, *, revision: str | None) -> str:
    """This HOME as on a flake-built NixOS: the registry's nixpkgs is the system's nixpkgs
    source in the store (nixos/modules/misc/nixpkgs-flake.nix), and ``nixos-version --json``
    names its revision (nixos/modules/installer/tools/tools.nix). Returns the store path."""
    meta = json.loads(sim.run(["nix", "flake", "metadata", "--json", f"path:{sim.nixpkgs_dir}"],
                              cwd=project, check=True).stdout)
    registry = sim.home / ".config" / "nix" / "registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(json.dumps({"version": 2, "flakes": [
        {"from": {"type": "indirect", "id": "nixpkgs"},
         "to": {"type": "path", "path": meta["path"]}}]}))
    if revision is not None:
        tools = tmp_path / "system-bin"
        tools.mkdir(exist_ok=True)
        (tools / "nixos-version").write_text(
            "#!/run/current-system/sw/bin/bash\n"
            f"echo '{{\"nixosVersion\":\"26.05.20261130.0123456\","
            f"\"nixpkgsRevision\":\"{revision}\"}}'\n")
        (tools / "nixos-version").chmod(0o755)
        sim.extra_binds.append(tmp_path)
    return str(meta["path"])


def test_a_nixos_registry_lock_names_a_revision_any_machine_can_fetch(
        sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    _pinned_313(project_dir)
    _nixos_registry(sim, project_dir, tmp_path, revision=REVISION)
    tools = [tmp_path / "system-bin"]
    res = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
              cwd=project_dir, path_prepend=tools)
    assert res.returncode == 0, res.stderr  # realised here without the network
    assert res.stdout.strip() == sim.pkgs["python313"]
    url = _locked_url(project_dir)
    assert url.startswith(f"github:NixOS/nixpkgs/{REVISION}?narHash=sha256-"), url
    status = uvx(sim, ["nix", "status"], cwd=project_dir, path_prepend=tools, check=True)
    assert f"locked nixpkgs: '{url}' (fetchable by any machine)" in status.stdout
    # A teammate with the same nixpkgs source: exactly the locked paths, once allowed (a
    # GitHub source from someone else's lock needs the user's word; see SECURITY.md).
    committed = (project_dir / "uvx-nix.lock").read_text()
    sim.reset_home(tmp_path / "teammate")
    asked = uvx(sim, ["run", "python", "-c", "print(1)"], cwd=project_dir)
    assert asked.returncode == 76, asked.stderr
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    again = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
                cwd=project_dir)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == sim.pkgs["python313"]
    assert (project_dir / "uvx-nix.lock").read_text() == committed


def test_a_store_source_without_a_revision_is_locked_with_a_warning(
        sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    _pinned_313(project_dir)
    store = _nixos_registry(sim, project_dir, tmp_path, revision=None)
    res = uvx(sim, ["nix", "lock"], cwd=project_dir)
    assert res.returncode == 0, res.stderr
    assert f"uvx-nix.lock names nixpkgs by a store path only this machine has ({store})" \
        in res.stderr
    assert _locked_url(project_dir).startswith(f"path:{store}?")
    status = uvx(sim, ["nix", "status"], cwd=project_dir, check=True)
    assert "(a path: only machines with this path can use the lock" in status.stdout


def test_an_insecure_library_is_refused_in_one_line_naming_it(sim: Sim,
                                                              project_dir: Path) -> None:
    _pinned_313(project_dir)
    res = uvx(sim, ["nix", "lock"], cwd=project_dir,
              env={"UVX_NIX_LIBRARIES": "openssl_1_1", "NIXPKGS_ALLOW_INSECURE": "1"})
    assert res.returncode == 73, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].endswith("nixpkgs refuses openssl-1.1.1w: it is marked as insecure; use a "
                             "maintained attribute instead in 'libraries'"), lines[0]


def test_the_soname_table_agrees_with_what_the_look_alike_provides(sim: Sim,
                                                                   project_dir: Path) -> None:
    """Every table entry whose attribute the look-alike has, for a library the look-alike
    ships, names an attribute that really holds lib/<soname>. (A look-alike package also
    carries copies of its own dependencies, so a library may be in several.)"""
    from uvx_nix import sonames

    holders: dict[str, set[str]] = {}
    have = set()
    for attribute in sorted(set(sonames.TABLE.values()) - {sonames.DRIVER}):
        res = sim.run(["nix", "eval", "--raw", f"nixpkgs#{attribute}.outPath"], cwd=project_dir)
        if res.returncode != 0:
            continue  # not in the look-alike
        have.add(attribute)
        for library in (Path(res.stdout) / "lib").glob("*.so*"):
            holders.setdefault(library.name, set()).add(attribute)
    checked = {}
    for soname, attribute in sonames.TABLE.items():
        if attribute in have and soname in holders:
            assert attribute in holders[soname], (soname, attribute, holders[soname])
            checked[soname] = attribute
    assert {"libz.so.1", "libstdc++.so.6", "libX11.so.6", "libffi.so.8", "libssl.so.3"} <= \
        set(checked), checked


def test_a_teammate_without_the_source_gets_one_line_not_another_nixpkgs(
        sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    _pinned_313(project_dir)
    _nixos_registry(sim, project_dir, tmp_path, revision=REVISION)
    uvx(sim, ["nix", "lock"], cwd=project_dir, path_prepend=[tmp_path / "system-bin"],
        check=True)
    # The lock as it arrives on a teammate's machine whose store lacks the tree it names
    # (the writer's nixpkgs revision; GitHub cannot be reached here, as offline).
    lock = project_dir / "uvx-nix.lock"
    url = _locked_url(project_dir)
    other = "sha256-" + "A" * 43 + "="
    lock.write_text(lock.read_text().replace(url, url.split("?")[0] + "?narHash=" +
                                             other.replace("=", "%3D")))
    committed = lock.read_text()
    sim.reset_home(tmp_path / "teammate")
    uvx(sim, ["nix", "allow"], cwd=project_dir, check=True)
    res = uvx(sim, ["run", "python", "-c", "print(1)"], cwd=project_dir)
    assert res.returncode == 73, res
    first = res.stderr.splitlines()[0]
    assert first.startswith("uvx-nix: error: nix failed while"), res.stderr
    # (Nix 2.8 asks GitHub's API for .../tarball/<rev>, 2.26 for .../archive/<rev>.tar.gz)
    assert re.search(f"NixOS/nixpkgs/(tarball|archive)/{REVISION}", first), first
    assert lock.read_text() == committed  # never re-resolved against another nixpkgs
