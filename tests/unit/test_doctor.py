"""doctor on the host: scanning a hand-built venv, suggestions, driver dirs, pyproject edits,
hardlink-safe patching and re-patching.  The end-to-end claims are in e2e/test_doctor.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uvx_nix.commands import doctor
from uvx_nix.errors import EXIT_USAGE, UserError
from uvx_nix.native import elf, patch, scan, sonames, suggest
from uvx_nix.prepare import programs
from uvx_nix.resolve import project

HOST_LIBDIR = "/usr/lib/x86_64-linux-gnu"
PROGRAM = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"


def _cc(out: Path, source: str, *args: str) -> Path:
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", "-o", str(out), str(src), *args], check=True)
    return out


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / ".venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return venv


def _interpreter() -> str:
    return os.path.realpath(sys.executable)


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    venv = _venv(tmp_path)
    site = venv / "lib" / "python3.11" / "site-packages"
    libs = site / "pkg.libs"
    libs.mkdir()
    # A vendored library (auditwheel style), found through $ORIGIN.
    _cc(libs / "libvendored.so.1", "int v(void) { return 1; }\n", "-shared", "-fPIC",
        "-Wl,-soname,libvendored.so.1")
    (site / "pkg").mkdir()
    _cc(site / "pkg" / "ext.so", (
        "extern int v(void); extern double cos(double);\n"
        "int f(void) { return v(); }\n"), "-shared", "-fPIC", f"-L{libs}", "-l:libvendored.so.1",
        "-Wl,-rpath,$ORIGIN/../pkg.libs", "-Wl,--no-as-needed", "-lz")
    (site / "pkg" / "__init__.py").write_text("")
    return venv


def test_scan_finds_missing_sonames_and_honours_origin(venv: Path) -> None:
    missing = scan.unresolved(venv, [], _interpreter())
    assert list(missing) == ["libz.so.1"]
    assert missing["libz.so.1"][0].endswith("pkg/ext.so")
    # On the library path it resolves.
    assert scan.unresolved(venv, [HOST_LIBDIR], _interpreter()) == {}


def test_scan_counts_libraries_other_wheels_ship(venv: Path) -> None:
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "other").mkdir()
    shutil.copy(f"{HOST_LIBDIR}/libz.so.1", site / "other" / "libz.so.1")
    assert scan.unresolved(venv, [], _interpreter()) == {}


def test_scan_dist_reads_only_the_distribution_files(venv: Path) -> None:
    site = venv / "lib" / "python3.11" / "site-packages"
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("pkg/__init__.py,,\npkg/ext.so,,\npkg-1.0.dist-info/RECORD,,\n")
    assert list(scan.scan_dist(venv, [info / "RECORD"], [], _interpreter())) == ["libz.so.1"]
    empty = site / "none-1.0.dist-info"
    empty.mkdir()
    (empty / "RECORD").write_text("none/__init__.py,,\n")
    assert scan.scan_dist(venv, [empty / "RECORD"], [], _interpreter()) == {}


def test_programs_with_a_loader_outside_the_store_cannot_start(tmp_path: Path) -> None:
    venv = _venv(tmp_path)
    _cc(venv / "bin" / "prog", PROGRAM)
    (venv / "bin" / "script").write_text("#!/bin/sh\n")
    result = scan.scan(venv, [HOST_LIBDIR], _interpreter(), environ={})
    assert result.unstartable == {str(venv / "bin" / "prog"): "/lib64/ld-linux-x86-64.so.2"}
    assert scan.scan(venv, [], _interpreter(), environ={"NIX_LD": "/x"}).unstartable == {}
    info = elf.read(venv / "bin" / "prog")
    assert info is not None
    assert scan.can_start(info, {}, root=tmp_path) is False
    marker = tmp_path / "run/current-system/sw/share/nix-ld"
    marker.mkdir(parents=True)
    assert scan.can_start(info, {}, root=tmp_path) is True


def test_suggest_uses_the_table_and_leaves_driver_libraries_to_driver_dirs() -> None:
    got = suggest.suggest(["libz.so.1", "libcuda.so.1", "libnothing.so.9"], environ={"PATH": ""})
    assert got == {"libcuda.so.1": None, "libnothing.so.9": None, "libz.so.1": "zlib"}


def test_suggest_falls_back_to_nix_locate(tmp_path: Path) -> None:
    fake = tmp_path / "nix-locate"
    fake.write_text("#!/bin/sh\nprintf 'xorg.libfoo.out\\nzfoo.lib\\nafoo.out\\n(bad)\\n'\n")
    fake.chmod(0o755)
    got = suggest.suggest(["libfoo.so.1"], environ={"PATH": str(tmp_path)})
    assert got == {"libfoo.so.1": "afoo"}  # shortest, then alphabetical; output stripped


def test_pick_attribute_is_deterministic() -> None:
    assert suggest.pick_attribute(["b.out", "a.out", "cc.lib"]) == "a"
    assert suggest.pick_attribute([]) is None


def test_driver_dirs_with_a_fake_root(tmp_path: Path) -> None:
    assert suggest.driver_dirs({"libcuda.so.1"}, root=tmp_path) == []
    driver = tmp_path / "run" / "opengl-driver" / "lib"
    driver.mkdir(parents=True)
    assert suggest.driver_dirs({"libz.so.1"}, root=tmp_path) == []
    assert suggest.driver_dirs({"libcuda.so.1"}, root=tmp_path) == [sonames.DRIVER]
    (driver / "libGL.so.1").write_bytes(b"")
    assert suggest.driver_dirs({"libGL.so.1", "libz.so.1"}, root=tmp_path) == [sonames.DRIVER]


def test_add_libraries_keeps_formatting_and_writes_atomically(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"  # the name\n\n[tool.uvx-nix]\n'
                         '# keep me\nlibraries = ["glib"]\n')
    assert project.add_libraries(pyproject, ["glib", "zlib"]) == ["zlib"]
    text = pyproject.read_text()
    assert '# the name' in text
    assert '# keep me' in text
    assert 'libraries = ["glib", "zlib"]' in text
    assert project.add_libraries(pyproject, ["zlib"]) == []
    assert [p.name for p in tmp_path.iterdir()] == ["pyproject.toml"]
    bare = tmp_path / "bare" / "pyproject.toml"
    bare.parent.mkdir()
    bare.write_text('[project]\nname = "x"\n')
    project.add_libraries(bare, ["libGL"])
    assert 'libraries = ["libGL"]' in bare.read_text()


def test_patch_program_breaks_hardlinks(tmp_path: Path) -> None:
    patchelf = shutil.which("patchelf")
    assert patchelf is not None
    cache = _cc(tmp_path / "cached", PROGRAM)
    original = cache.read_bytes()
    venv_copy = tmp_path / "prog"
    os.link(cache, venv_copy)  # what uv's default link mode does
    loader = elf.read(_interpreter())
    assert loader is not None
    assert loader.interpreter is not None
    patch.patch_program(venv_copy, "/nix/store/x-glibc/lib/ld.so", ["/nix/store/y-z/lib"],
                         patchelf, venv=tmp_path, root=tmp_path)
    assert cache.read_bytes() == original
    info = elf.read(venv_copy)
    assert info is not None
    assert info.interpreter == "/nix/store/x-glibc/lib/ld.so"
    assert info.runpath == "/nix/store/y-z/lib"
    assert os.stat(venv_copy).st_ino != os.stat(cache).st_ino


def test_repatch_reapplies_only_when_the_file_changed(tmp_path: Path) -> None:
    import glob

    # Only a store patchelf is ever run (the locked nixpkgs' one, recorded in the user cache).
    stored = sorted(glob.glob("/nix/store/*-patchelf*/bin/patchelf"))
    if not stored:
        pytest.skip("no patchelf in the store (the simulation builds one)")
    patchelf = stored[0]
    host = shutil.which("patchelf")
    venv = _venv(tmp_path)
    prog = _cc(venv / "bin" / "prog", PROGRAM)
    original = prog.read_bytes()
    loader = elf.read(_interpreter())
    assert loader is not None
    assert loader.interpreter is not None
    interp = loader.interpreter  # the host's loader stands in for the locked glibc's
    lock_dir = tmp_path
    assert programs.repatch(venv, lock_dir) == 0  # nothing recorded: no work
    if host is not None:  # a patchelf outside the store is never run
        patch.save_patched(lock_dir, {"version": 1, "files": {"bin/prog": {
            "interpreter": "/nix/store/x-glibc/lib/ld.so", "lib_dirs": [HOST_LIBDIR],
            "patchelf": host}}})
        assert programs.repatch(venv, lock_dir, environ={"PATH": os.path.dirname(host)}) == 0
        assert prog.read_bytes() == original
    patch.save_patched(lock_dir, {"version": 1, "files": {"bin/prog": {
        "interpreter": "/nix/store/x-glibc/lib/ld.so", "lib_dirs": [HOST_LIBDIR],
        "patchelf": patchelf}}})
    assert programs.repatch(venv, lock_dir, environ={}) == 1
    assert elf.read(prog).interpreter == "/nix/store/x-glibc/lib/ld.so"  # type: ignore[union-attr]
    assert programs.repatch(venv, lock_dir, environ={}) == 0  # unchanged: one stat, no work
    prog.unlink()
    prog.write_bytes(original)  # uv re-installed the original
    assert programs.repatch(venv, lock_dir, environ={}) == 1
    recorded = json.loads(patch.patched_path(lock_dir).read_text())
    assert recorded["files"]["bin/prog"]["patched"] == patch.sha256_file(prog)
    assert interp  # the host loader exists, so the test's stand-in is a real path


def test_after_uv_never_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = patch.patched_path(tmp_path)
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("{not json")
    programs.after_uv(tmp_path / "no-venv", tmp_path)
    assert capsys.readouterr().err == ""


def test_no_venv_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from uvx_nix import cli

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UVX_NIX", "1")
    assert cli.main(["nix", "doctor"]) == 70
    err = capsys.readouterr().err
    assert err == f"error: uvx-nix: no virtual environment at {tmp_path.resolve() / '.venv'}; " \
        "run `uvx-nix sync` first\n"


def test_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UserError, match="unrecognized arguments: --bogus") as caught:
        doctor.command("doctor", ["--bogus"], {})
    assert caught.value.exit_code == EXIT_USAGE
    # With --json, every outcome is JSON on stdout, errors included.
    assert doctor.command("doctor", ["--json", "--bogus"], {}) == EXIT_USAGE
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["exit_code"] == EXIT_USAGE
    assert "unrecognized arguments: --bogus" in report["error"]


def test_outside_a_project_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    with pytest.raises(UserError, match="no project here") as caught:
        doctor.command("doctor", [], {})
    assert "--venv PATH" in caught.value.message
    assert doctor.command("doctor", ["--json"], {}) == 70
    assert "no project here" in json.loads(capsys.readouterr().out)["error"]
    with pytest.raises(UserError, match="not a virtual environment"):
        doctor.command("doctor", ["--venv", str(tmp_path)], {})


def test_recorded_libs_read_from_the_venv(tmp_path: Path) -> None:
    from uvx_nix.prepare import venv as venv_mod

    venv = _venv(tmp_path)
    assert doctor.recorded_libs(venv) is None
    site = venv / "lib" / "python3.11" / "site-packages"
    venv_mod.install_hook(site, f"{HOST_LIBDIR}:/nix/store/x/lib", auto=True)
    assert doctor.recorded_libs(venv) == [HOST_LIBDIR, "/nix/store/x/lib"]
    venv_mod.install_hook(site, "/nix/store/t/lib", auto=True, project=False)  # a tool's
    assert doctor.recorded_libs(venv) == ["/nix/store/t/lib"]
    (site / venv_mod.HOOK_PTH).write_text("import os; os.system('touch /tmp/x')\n")
    assert doctor.recorded_libs(venv) is None  # parsed as data, never run


def test_patch_program_refuses_a_file_outside_the_venv(tmp_path: Path) -> None:
    venv = tmp_path / "project" / ".venv"
    (venv / "bin").mkdir(parents=True)
    outside = _cc(tmp_path / "mine", PROGRAM)
    before = outside.read_bytes()
    (venv / "bin" / "prog").symlink_to(outside)
    for path in (venv / "bin" / "prog", outside):
        with pytest.raises(UserError, match="leads outside"):
            patch.patch_program(path, "/nix/store/x-glibc/lib/ld.so", [], "patchelf",
                                 venv=venv, root=tmp_path / "project")
    assert outside.read_bytes() == before
