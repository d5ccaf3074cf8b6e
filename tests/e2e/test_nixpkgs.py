"""What the real nixpkgs does that a hand-written one would not, end to end in the simulation:
the user's own overlays and config, a flake's own overlays, unfree packages, free-threaded
interpreters (the look-alike copies each shape from nixpkgs' sources; see sim/nixpkgs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import tomlkit

from helpers.e2e import channel_nixpkgs, copy_look_alike, look_alike_files, uvx, write_project
from helpers.sim import Sim
from uvx_nix.resolve import sources

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


def _company_flake(sim: Sim, project: Path, company: Path) -> Path:
    """A flake wrapping the look-alike with an overlay of its own (SWAP), as a company flake
    or a fork would, locked as its repository would have it."""
    company.mkdir()
    (company / "flake.nix").write_text(
        "{\n"
        f'  inputs.nixpkgs.url = "path:{sim.nixpkgs_dir}";\n'
        "  outputs = { self, nixpkgs }: {\n"
        "    legacyPackages.x86_64-linux = let pkgs = nixpkgs.legacyPackages.x86_64-linux;\n"
        f"      in pkgs // ({SWAP.strip()}) pkgs pkgs;\n"
        "  };\n"
        "}\n")
    sim.extra_binds.append(company.parent)
    sim.run(["nix", "flake", "lock", f"path:{company}"], cwd=project, check=True)
    return company


def test_a_flakes_own_overlay_is_honoured(sim: Sim, project_dir: Path, tmp_path: Path) -> None:
    _pinned_313(project_dir)
    company = _company_flake(sim, project_dir, tmp_path / "company-nixpkgs")
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



def test_python_3_13t_runs_the_free_threaded_interpreter(sim: Sim, project_dir: Path) -> None:
    """`--python 3.13t` resolves python313FreeThreading and uv runs it (a one-off: the
    project's lock keeps its own 3.13). The look-alike's free-threaded build is the GIL build
    with a sysconfig that says Py_GIL_DISABLED (see sim/nixpkgs/default.nix): plain uv
    takes it, and only it, for 3.13t."""
    _pinned_313(project_dir)
    uvx(sim, ["nix", "lock"], cwd=project_dir, check=True)
    lock = (project_dir / "uvx-nix.lock").read_text()
    free = sim.run(["nix", "eval", "--raw", "nixpkgs#python313FreeThreading.outPath"],
                   cwd=project_dir, check=True).stdout
    probe = ("import sys, sysconfig; "
             "print(sys.base_prefix, sysconfig.get_config_var('Py_GIL_DISABLED'))")
    res = uvx(sim, ["run", "--python", "3.13t", "python", "-c", probe], cwd=project_dir)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [free, "1"]
    assert (project_dir / "uvx-nix.lock").read_text() == lock
    plain = {"UV_PYTHON_PREFERENCE": "only-system", "UV_PYTHON_DOWNLOADS": "never"}
    for python, found in ((free, True), (sim.pkgs["python313"], False)):
        seen = sim.run([sim.bin("uv", "uv"), "python", "find", "--system", "3.13t"],
                       cwd=project_dir,
                       env={**plain, "UV_PYTHON_SEARCH_PATH": f"{python}/bin"})
        assert (seen.returncode == 0) is found, seen


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
    # A teammate whose registry's nixpkgs is another one (its python313 differs): exactly the
    # locked paths, once allowed (a GitHub source from someone else's lock needs the user's
    # word; see SECURITY.md), never a re-resolution against their nixpkgs.
    committed = (project_dir / "uvx-nix.lock").read_text()
    sim.reset_home(tmp_path / "teammate")
    theirs = _company_flake(sim, project_dir, tmp_path / "teammate-nixpkgs")
    registry = sim.home / ".config" / "nix" / "registry.json"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(json.dumps({"version": 2, "flakes": [
        {"from": {"type": "indirect", "id": "nixpkgs"},
         "to": {"type": "path", "path": str(theirs)}}]}))
    their_python = sim.run(["nix", "eval", "--raw", "nixpkgs#python313.outPath"],
                           cwd=project_dir, check=True).stdout
    assert their_python != sim.pkgs["python313"]
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
    from uvx_nix.native import sonames

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
    assert first.startswith("error: uvx-nix: nix failed while"), res.stderr
    # (Nix 2.8 asks GitHub's API for .../tarball/<rev>, 2.26 for .../archive/<rev>.tar.gz)
    assert re.search(f"NixOS/nixpkgs/(tarball|archive)/{REVISION}", first), first
    assert lock.read_text() == committed  # never re-resolved against another nixpkgs


def test_a_channel_is_locked_by_the_revision_it_records(sim: Sim, project_dir: Path,
                                                        tmp_path: Path) -> None:
    _pinned_313(project_dir)
    env = channel_nixpkgs(sim, tmp_path, REVISION)
    res = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
              cwd=project_dir, env=env)
    assert res.returncode == 0, res.stderr  # the local channel, no network
    assert res.stdout.strip() == sim.pkgs["python313"]
    assert "warning" not in res.stderr
    doc = tomlkit.parse((project_dir / "uvx-nix.lock").read_text())
    assert (doc["nixpkgs"]["kind"], doc["nixpkgs"]["url"]) == \
        ("channel", f"github:NixOS/nixpkgs/{REVISION}")
    status = uvx(sim, ["nix", "status"], cwd=project_dir, env=env, check=True)
    assert "your <nixpkgs> channel's revision, fetchable by any machine" in status.stdout
    committed = (project_dir / "uvx-nix.lock").read_text()
    # A teammate whose channel is at that revision: exactly the locked paths, once allowed
    # (the lock may make Nix fetch from GitHub).
    sim.reset_home(tmp_path / "teammate")
    env = channel_nixpkgs(sim, tmp_path / "teammate-channel", REVISION)
    asked = uvx(sim, ["run", "python", "-c", "print(1)"], cwd=project_dir, env=env)
    assert asked.returncode == 76, asked.stderr
    uvx(sim, ["nix", "allow"], cwd=project_dir, env=env, check=True)
    again = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
                cwd=project_dir, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == sim.pkgs["python313"]
    # One whose channel moved on: the locked revision is fetched (GitHub cannot be reached
    # here), never the channel's other revision.
    sim.reset_home(tmp_path / "third")
    env = channel_nixpkgs(sim, tmp_path / "third-channel", "f" * 40)
    uvx(sim, ["nix", "allow"], cwd=project_dir, env=env, check=True)
    moved = uvx(sim, ["run", "python", "-c", "print(1)"], cwd=project_dir, env=env)
    assert moved.returncode == 73, moved
    first = moved.stderr.splitlines()[0]
    assert first.startswith("error: uvx-nix: nix failed while"), moved.stderr
    assert f"NixOS/nixpkgs/archive/{REVISION}.tar.gz" in first, first
    assert (project_dir / "uvx-nix.lock").read_text() == committed


def test_a_channel_without_a_revision_is_locked_with_a_warning(sim: Sim, project_dir: Path,
                                                               tmp_path: Path) -> None:
    _pinned_313(project_dir)
    env = channel_nixpkgs(sim, tmp_path, None)
    res = uvx(sim, ["nix", "lock"], cwd=project_dir, env=env)
    assert res.returncode == 0, res.stderr
    assert "uvx-nix.lock names nixpkgs by your <nixpkgs> channel, which records no revision" \
        in res.stderr
    assert _locked_url(project_dir) == "<nixpkgs>"
    status = uvx(sim, ["nix", "status"], cwd=project_dir, env=env, check=True)
    assert "(your <nixpkgs> channel, which records no revision: only machines whose channel " \
        "gives the same store paths can use the lock" in status.stdout
    assert "fetchable by any machine" not in status.stdout


def test_a_directory_source_is_locked_by_its_nar_hash(sim: Sim, project_dir: Path,
                                                      tmp_path: Path) -> None:

    _pinned_313(project_dir)
    mine = copy_look_alike(sim, tmp_path / "my-nixpkgs")
    (mine / ".git").mkdir()  # a checkout's metadata is not part of the locked tree
    (mine / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    sim.extra_binds.append(tmp_path)
    env = {"UVX_NIX_NIXPKGS": str(mine)}
    res = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
              cwd=project_dir, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == sim.pkgs["python313"]
    doc = tomlkit.parse((project_dir / "uvx-nix.lock").read_text())
    nar = str(doc["nixpkgs"]["nar-hash"])
    assert (doc["nixpkgs"]["kind"], doc["nixpkgs"]["url"]) == ("path", str(mine))
    copy = Path(sources.source_store_path(nar))
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        [*look_alike_files(sim), ".test-token"])
    status = uvx(sim, ["nix", "status"], cwd=project_dir, env=env, check=True)
    assert f"(a directory, locked by its narHash {nar}: other machines need" in status.stdout
    committed = (project_dir / "uvx-nix.lock").read_text()
    # The directory changed since: the locked tree (its store copy) is what is evaluated.
    (mine / "default.nix").write_text('throw "not the locked tree"\n')
    sim.reset_home(tmp_path / "later")
    sim.extra_binds.append(tmp_path)
    later = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
                cwd=project_dir, env=env)
    assert later.returncode == 0, later.stderr
    assert later.stdout.strip() == sim.pkgs["python313"]
    # A teammate whose directory differs and whose store lacks the locked tree: one line.
    (mine / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    # As a fresh clone on another machine: nothing rooted, the tree not in the store (with
    # what refers to it: the result's manifest and derivation, unique to this test's token).
    shutil.rmtree(project_dir / ".uvx-nix")
    referrers = sim.run(["nix-store", "--query", "--referrers-closure", str(copy)],
                        cwd=project_dir, check=True).stdout.split()
    sim.run(["nix-store", "--delete", "--ignore-liveness", *referrers], cwd=project_dir,
            check=True)
    assert not copy.exists()
    sim.reset_home(tmp_path / "teammate")
    sim.extra_binds.append(tmp_path)
    other = uvx(sim, ["run", "python", "-c", "print(1)"], cwd=project_dir, env=env)
    assert other.returncode == 73, other
    first = other.stderr.splitlines()[0]
    assert "store path mismatch in (possibly filtered) path added from" in first, first
    assert (project_dir / "uvx-nix.lock").read_text() == committed
    # The same tree (other VCS metadata) gives exactly the locked paths again.
    (mine / "default.nix").write_bytes((sim.nixpkgs_dir / "default.nix").read_bytes())
    same = uvx(sim, ["run", "python", "-c", "import sys; print(sys.base_prefix)"],
               cwd=project_dir, env=env)
    assert same.returncode == 0, same.stderr
    assert same.stdout.strip() == sim.pkgs["python313"]
    assert (project_dir / "uvx-nix.lock").read_text() == committed


NEEDS_EXT = """
#include <Python.h>
static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, "uvxnix_needs", 0, -1, 0};
PyMODINIT_FUNC PyInit_uvxnix_needs(void) { return PyModule_Create(&d); }
"""


def _project_needing(project: Path, tmp: Path, soname: str) -> Path:
    """A project whose one wheel's extension needs ``soname`` (linked against a stub of it);
    returns the stub, a real shared library with that soname."""
    import subprocess
    import sysconfig

    from helpers.wheels import ABI3_TAG, write_wheel

    stub = tmp / "stub"
    stub.mkdir(exist_ok=True)
    subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(stub / soname),
                    "-x", "c", "-"], input="int uvxnixStub(void){return 1;}", text=True,
                   check=True)
    ext = stub / "ext.so"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", "-o",
                    str(ext), "-x", "c", "-", "-Wl,--no-as-needed", f"-L{stub}", f"-l:{soname}"],
                   input=NEEDS_EXT, text=True, check=True)
    write_wheel(project / "wheels", "uvxnix-needs", ABI3_TAG,
                {"uvxnix_needs.abi3.so": ext.read_bytes()}, set())
    write_project(project, deps=["uvxnix-needs"], requires=">=3.12",
                  extra='\n[tool.uv]\nno-index = true\nfind-links = ["wheels"]\n')
    (project / ".python-version").write_text("3.13\n")
    return stub / soname


def _synced_and_loaded(sim: Sim, project: Path, env: dict[str, str], attribute: str) -> None:
    """``uv sync``, then a run that loads the wheel's extension: automatic mode has added
    ``attribute`` (and only it) for the library it needs, in the sync that installed it."""
    synced = uvx(sim, ["sync"], cwd=project, env=env, check=True)
    assert f"Added {attribute} to [tool.uvx-nix] libraries" in synced.stderr, synced.stderr
    res = uvx(sim, ["run", "python", "-c", "import uvxnix_needs; print('loaded')"],
              cwd=project, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "loaded"
    assert "deprecated" not in synced.stderr + res.stderr
    assert f'libraries = ["{attribute}"]' in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize("era", ["libx11", "xorg.libX11"])
def test_libx11_is_found_for_a_wheel_in_either_era_even_with_abort_on_warn(
        sim: Sim, project_dir: Path, tmp_path: Path, era: str) -> None:
    """Automatic mode finds libX11.so.6 for a new wheel in a nixpkgs from after the xorg
    rename (libx11, with xorg.libX11 warning) and from before it (only xorg.libX11), with
    abort-on-warn set: the deprecated name is never evaluated where the new one exists."""
    _project_needing(project_dir, tmp_path, "libX11.so.6")
    env = {"NIX_ABORT_ON_WARN": "1"}
    if era == "xorg.libX11":
        older = tmp_path / "nixpkgs-25.11"
        older.mkdir()
        (older / "default.nix").write_text(
            f"args: let base = import {sim.nixpkgs_dir} args; in\n"
            'builtins.removeAttrs base [ "libx11" ] // { xorg = { libX11 = base.libx11; }; }\n')
        sim.extra_binds.append(tmp_path)
        env["UVX_NIX_NIXPKGS"] = str(older)
    _synced_and_loaded(sim, project_dir, env, "libx11")
    assert _locked_libraries(project_dir)["libx11"] == sim.pkgs["libx11"]


def test_a_candidate_that_lacks_the_library_is_passed_over(sim: Sim, project_dir: Path,
                                                            tmp_path: Path) -> None:
    """libgbm.so.1's candidates are libgbm, then mesa (which built it before 2025). Here
    libgbm exists but its output lacks the library: checked after the build, mesa wins."""
    from helpers.e2e import local_nixpkgs

    stub = _project_needing(project_dir, tmp_path, "libgbm.so.1")
    pkgs = local_nixpkgs(sim, tmp_path / "nixpkgs", (
        "  libgbm = base.zlib;\n"
        '  mesa = mk "mesa-24.2"\n'
        '    "${bb} mkdir -p $out/lib && ${bb} cp ${./libgbm.so.1} $out/lib/libgbm.so.1";\n'))
    (pkgs / "libgbm.so.1").write_bytes(stub.read_bytes())
    sim.extra_binds.append(tmp_path)
    env = {"UVX_NIX_NIXPKGS": str(pkgs)}
    _synced_and_loaded(sim, project_dir, env, "mesa")
    assert "libgbm" not in _locked_libraries(project_dir)
    assert "mesa" in _locked_libraries(project_dir)
