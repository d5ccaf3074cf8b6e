"""project: uv's project and workspace discovery, .python-version and PEP 723 blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvx_nix import argv
from uvx_nix.errors import EXIT_CONFIG, UserError
from uvx_nix.resolve import inputs, project


def _pyproject(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(text)
    return directory


def test_nearest_project_and_its_workspace_root(tmp_path: Path) -> None:
    root = _pyproject(tmp_path / "ws", '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                                       '[project]\nname = "root"\nrequires-python = ">=3.12"\n')
    member = _pyproject(root / "packages" / "a", '[project]\nname = "a"\n'
                                                 'requires-python = ">=3.11"\n')
    (member / "src").mkdir()
    found = project.find(member / "src")
    assert found is not None
    assert found.directory == member
    assert found.root == root
    # uv intersects every member's requires-python (find_requires_python).
    assert found.requires_python == ">=3.12, >=3.11"


def test_excluded_member_is_its_own_root(tmp_path: Path) -> None:
    root = _pyproject(tmp_path / "ws", '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                                       'exclude = ["packages/b"]\n')
    member = _pyproject(root / "packages" / "b", '[project]\nname = "b"\n')
    found = project.find(member)
    assert found is not None
    assert found.root == member


def test_a_pyproject_without_project_table_is_skipped(tmp_path: Path) -> None:
    outer = _pyproject(tmp_path, '[project]\nname = "outer"\n')
    inner = _pyproject(tmp_path / "tools", "[tool.black]\nline-length = 90\n")
    found = project.find(inner)
    assert found is not None
    assert found.directory == outer


def test_no_project(tmp_path: Path) -> None:
    assert project.find(tmp_path) is None


def test_malformed_toml_is_a_one_line_error(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[project\nname=")
    with pytest.raises(UserError) as info:
        project.find(tmp_path)
    assert info.value.exit_code == EXIT_CONFIG
    assert "is not valid TOML" in info.value.message
    assert "\n" not in info.value.message


def test_python_version_file_stops_at_the_root(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.11\n")
    root = tmp_path / "root"
    start = root / "sub"
    start.mkdir(parents=True)
    global_dir = tmp_path / "config" / "uv"
    found, examined = project.version_file(start, root, global_dir)
    assert found is None
    names = [".python-version", ".python-versions"]
    assert examined == [start / n for n in names] + [root / n for n in names] + \
        [global_dir / n for n in names]  # all watched: one created later must be seen
    found, _ = project.version_file(start, None, global_dir)
    assert found == tmp_path / ".python-version"
    global_dir.mkdir(parents=True)
    (global_dir / ".python-version").write_text("3.12\n")
    assert project.version_file(start, root, global_dir)[0] == global_dir / ".python-version"
    assert project.version_file(tmp_path, None, global_dir, local=False)[0] == \
        global_dir / ".python-version"


@pytest.mark.parametrize(("text", "expected"), [
    ("3.12\n", ["3.12"]), ("\n# pinned\n3.13\n3.12\n", ["3.13", "3.12"]), ("", []),
    ("  \n", []),
])
def test_read_python_versions(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / ".python-version"
    path.write_text(text)
    assert project.read_python_versions(path, tmp_path) == expected


def test_script_metadata(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text('# /// script\n# requires-python = ">=3.12"\n# dependencies = [\n'
                      '#   "rich",\n# ]\n# ///\nprint(1)\n')
    meta = project.script_metadata(script)
    assert meta == {"requires-python": ">=3.12", "dependencies": ["rich"]}
    script.write_text("print(1)\n")
    assert project.script_metadata(script) is None
    script.write_text("# /// script\n# x = [\n# ///\n")
    with pytest.raises(UserError):
        project.script_metadata(script)


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


def test_build_libraries_add_up_and_change_the_fingerprint(
        tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    plain = _gather(project, env, monkeypatch)
    assert plain.build_libraries == ()
    assert plain.auto_build_libraries is False
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\n\n[tool.uvx-nix]\n'
        'build-libraries = ["libffi"]\nauto-build-libraries = true\n')
    user = Path(env["XDG_CONFIG_HOME"]) / "uvx-nix" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('build-libraries = ["openssl"]\n')
    got = _gather(project, {**env, "UVX_NIX_BUILD_LIBRARIES": "libpq.pg_config, libffi"},
                  monkeypatch)
    assert got.build_libraries == ("openssl", "libffi", "libpq.pg_config")
    assert got.auto_build_libraries is True
    assert got.fingerprint() != plain.fingerprint()
    off = _gather(project, {**env, "UVX_NIX_AUTO_BUILD_LIBRARIES": "0"}, monkeypatch)
    assert off.auto_build_libraries is False


@pytest.mark.parametrize("value", ['["a;b"]', '["${x}"]', '"zlib x/y"', "3"])
def test_build_libraries_are_validated(tmp_path: Path, env: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "p"\nversion = "1"\n\n[tool.uvx-nix]\nbuild-libraries = {value}\n')
    with pytest.raises(UserError) as err:
        _gather(project, env, monkeypatch)
    assert err.value.exit_code == 70
    assert "build-libraries" in err.value.message


def _gather(project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
            ) -> inputs.Inputs:
    monkeypatch.chdir(project)
    return inputs.gather(argv.parse(["sync"]), env)
