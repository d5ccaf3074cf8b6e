"""Which interpreter a call asks for, and whether uv's configuration sets python-preference."""

from __future__ import annotations

from pathlib import Path

from helpers.projects import pyproject, write
from uvx_nix import argv
from uvx_nix.resolve import interpreter, project


def test_uv_config_preference(tmp_path: Path, env: dict[str, str]) -> None:
    proj = pyproject(tmp_path / "p")
    inv = argv.parse(["sync"])
    found = project.find(proj)

    def pref(invocation: argv.Invocation = inv, environ: dict[str, str] = env) -> bool:
        return interpreter.uv_config_preference(invocation, environ, proj, found, False, [])

    watched: list[Path] = []
    assert not interpreter.uv_config_preference(inv, env, proj, found, False, watched)
    assert proj / "uv.toml" in watched  # a uv.toml created later is seen
    assert not pref()
    write(proj / "uv.toml", 'python-preference = "system"\n')
    assert pref()
    assert not pref(argv.parse(["--no-config", "sync"]))
    (proj / "uv.toml").unlink()
    pyproject(proj, None, '[tool.uv]\npython-preference = "managed"\n')
    found = project.find(proj)
    assert pref()
    pyproject(proj)
    found = project.find(proj)
    write(Path(env["XDG_CONFIG_HOME"]) / "uv" / "uv.toml", 'python-preference = "system"\n')
    assert pref()
    other = write(tmp_path / "other.toml", "native-tls = true\n")
    assert not pref(argv.parse(["--config-file", str(other), "sync"]))
    assert not pref(environ={**env, "UV_CONFIG_FILE": str(other)})
    write(tmp_path / "etc-xdg" / "uv" / "uv.toml", "[[index]]\nurl = 'x'\n")
    (Path(env["XDG_CONFIG_HOME"]) / "uv" / "uv.toml").unlink()
    assert not pref()
    write(tmp_path / "etc-xdg" / "uv" / "uv.toml", "broken = [\n")
    assert not pref()  # uv reports a file it cannot parse
