"""cli.main: the one error boundary, exit codes, and `uvx-nix nix --help`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uvx_nix import argv as argv_mod
from uvx_nix import cache, cli, execute
from uvx_nix.errors import (
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    UserError,
)


@pytest.mark.parametrize("code", sorted(c for c in EXIT_CODES if c not in (77, 130)))
def test_user_error_is_one_line_with_its_code(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              code: int) -> None:
    def fail(environ: object, own: str | None = None) -> str:
        raise UserError(f"something the user can fix (code {code})", code)

    monkeypatch.delenv("UVX_NIX_DEBUG", raising=False)
    monkeypatch.setattr(execute, "find_uv", fail)
    assert cli.main(["sync"]) == code
    err = capsys.readouterr().err
    assert err == f"error: uvx-nix: something the user can fix (code {code})\n"


def test_internal_error_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def boom(environ: object, own: str | None = None) -> str:
        raise KeyError("surprise")

    monkeypatch.delenv("UVX_NIX_DEBUG", raising=False)
    monkeypatch.setattr(execute, "find_uv", boom)
    assert cli.main(["sync"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: uvx-nix: internal error: KeyError")
    assert "UVX_NIX_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("UVX_NIX_DEBUG", "1")
    with pytest.raises(KeyError, match="surprise"):
        cli.main(["sync"])


def test_user_error_with_debug_shows_the_traceback_and_the_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def fail(environ: object, own: str | None = None) -> str:
        raise UserError("fixable", 70)

    monkeypatch.setenv("UVX_NIX_DEBUG", "1")
    monkeypatch.setattr(execute, "find_uv", fail)
    assert cli.main(["sync"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.endswith("error: uvx-nix: fixable\n")


def test_keyboard_interrupt_is_130(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(environ: object, own: str | None = None) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "find_uv", interrupted)
    assert cli.main(["sync"]) == EXIT_INTERRUPTED
    assert "Traceback" not in capsys.readouterr().err


# --- property tests: the readers behind main() never crash -------------------------------

_WORDS = st.one_of(
    st.sampled_from(["run", "sync", "lock", "python", "find", "install", "pip", "tool", "nix",
                     "--python", "-p", "--directory", "--project", "--script", "-q", "--",
                     "3.12", ">=3.11", "cp312", "pypy@3.10", "-", "x.py", "--with", "=",
                     "--python=", "-p3.13", "venv", "status", "env", "--format"]),
    st.text(max_size=12),
)


class _ExecError(BaseException):  # not an Exception: it passes the boundary
    pass


@given(st.lists(_WORDS, max_size=8), st.one_of(st.none(), st.text(max_size=20)))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_main_never_has_an_internal_error(monkeypatch: pytest.MonkeyPatch, args: list[str],
                                          uv_python: str | None) -> None:
    """Any argv and UV_PYTHON: uv runs, or a documented code; never 77 or a traceback."""
    from uvx_nix import activation, commands
    from uvx_nix.commands import pythons
    from uvx_nix.prepare import miss

    def fake_exec(uv: str, argv: object, env: object) -> None:
        raise _ExecError

    def fake_resolve(inv: object, environ: object, key: str, path: str,
                     stdin: bytes | None = None) -> dict[str, str]:
        return {"python_bin": "/nix/store/x/bin", "libs": "", "strategy": "interpreter"}

    monkeypatch.setattr(execute, "find_uv", lambda environ, own=None: "/usr/bin/uv")
    monkeypatch.setattr(execute, "exec_uv", fake_exec)
    monkeypatch.setattr(execute, "run_uv", fake_exec)  # uv as a child: sync, venv, tool install
    monkeypatch.setattr(activation, "detect",
                        lambda environ, root="/": activation.Activation(True, "test"))
    monkeypatch.setattr(miss, "resolve_for", fake_resolve)
    monkeypatch.setattr(commands, "main", lambda argv, environ, outer=None: 0)
    monkeypatch.setattr(pythons, "install", lambda inv, environ: 0)  # would run nix
    monkeypatch.setattr(pythons, "uninstall", lambda inv, environ: False)
    monkeypatch.setenv("UVX_NIX_CACHE_DIR", "/nonexistent/uvx-nix-cache")
    if uv_python is None or "\0" in uv_python:
        monkeypatch.delenv("UV_PYTHON", raising=False)
    else:
        monkeypatch.setenv("UV_PYTHON", uv_python)
    try:
        code = cli.main(args)
    except _ExecError:
        return
    assert code in (0, *range(70, 77)), code


_VALUE = st.recursive(
    st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=15),
              st.sampled_from(["zlib", "stdenv.cc.cc.lib", "nix-ld", "interpreter",
                               "path:/x", "<nixpkgs>", "github:NixOS/nixpkgs", "${x}"])),
    lambda inner: st.lists(inner, max_size=3), max_leaves=6)
_KEYS = st.sampled_from(["nixpkgs", "libraries", "default-libraries", "strategy",
                         "auto-libraries", "unknown"])


@given(settings_table=st.dictionaries(_KEYS, _VALUE, max_size=4),
       python_version=st.one_of(st.none(), st.text(max_size=20)),
       requires=st.one_of(st.none(), st.text(max_size=20), st.integers()),
       env=st.dictionaries(st.sampled_from(["UVX_NIX_LIBRARIES", "UVX_NIX_DEFAULT_LIBRARIES",
                                            "UVX_NIX_NIXPKGS", "UVX_NIX_STRATEGY",
                                            "UVX_NIX_AUTO_LIBRARIES", "UV_PYTHON"]),
                           st.text(st.characters(exclude_characters="\0",
                                                 exclude_categories=["Cs"]), max_size=20),
                           max_size=3))
@settings(max_examples=300, deadline=None)
def test_gather_reads_any_project_without_crashing(settings_table: dict[str, object],
                                                   python_version: str | None,
                                                   requires: object,
                                                   env: dict[str, str]) -> None:
    """Arbitrary [tool.uvx-nix], requires-python, .python-version and variables: Inputs or a
    one-line UserError (the documented code), nothing else."""
    import tempfile
    from pathlib import Path

    import tomlkit

    from uvx_nix import argv
    from uvx_nix.resolve import inputs

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project: dict[str, object] = {"name": "demo", "version": "0"}
        if requires is not None:
            project["requires-python"] = requires
        doc = {"project": project, "tool": {"uvx-nix": settings_table}}
        (root / "pyproject.toml").write_text(tomlkit.dumps(doc))
        if python_version is not None:
            (root / ".python-version").write_text(python_version, errors="surrogateescape")
        environ = {"HOME": str(root / "home"), **env,
                   "UVX_NIX_CONFIG": str(root / "none.toml")}
        error: UserError | None = None
        old = os.getcwd()
        os.chdir(root)
        try:
            inputs.gather(argv.parse(["sync"]), environ)
        except UserError as exc:
            error = exc
        finally:
            os.chdir(old)
    if error is not None:
        assert error.exit_code in (70, 71), error
        assert "\n" not in error.message, error.message


@pytest.mark.parametrize(("args", "environ", "refused"), [
    (["pip", "install", "--system", "six"], {}, True),
    (["pip", "uninstall", "six"], {"UV_SYSTEM_PYTHON": "1"}, True),
    (["pip", "install", "--system", "--target", "d", "six"], {}, False),
    (["pip", "install", "--system", "--prefix=d", "six"], {}, False),
    (["pip", "install", "six"], {}, False),
])
def test_pip_system_into_the_store_is_refused(args: list[str], environ: dict[str, str],
                                              refused: bool) -> None:
    inv = argv_mod.parse(args)
    fields = {"interpreter": "/nix/store/x-python3/bin/python3.12"}
    if refused:
        with pytest.raises(UserError) as info:
            cli._refuse_store_writes(inv, fields, environ)
        assert "read-only Nix store" in info.value.message
    else:
        cli._refuse_store_writes(inv, fields, environ)


def test_unprepared_run_environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hot path's check before `uv run`/`uv tool run`: a stat or one small read."""
    argv = argv_mod
    monkeypatch.chdir(tmp_path)
    environ = {"UVX_NIX_CACHE_DIR": str(tmp_path / "cache")}
    venv = tmp_path / ".venv"
    site = venv / "lib" / "python3.12" / "site-packages"
    fields = {"site": str(site), "python_bin": "/nix/store/p/bin", "libs": "/nix/store/l/lib",
              "root": str(tmp_path)}
    run = argv.parse(["run", "python", "-c", "pass"])
    assert cli._unprepared(run, fields, environ) == ""  # no venv yet: uv makes it now
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /nix/store/p/bin\nimplementation = CPython\n")
    # uv syncs the venv when uv.lock or pyproject.toml changed since uvx-nix last saw it.
    assert cli._unprepared(run, fields, environ) == ""
    fields["synced"] = cache.synced(str(tmp_path))
    assert cli._unprepared(run, fields, environ) is None
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert cli._unprepared(run, fields, environ) == ""
    fields["synced"] = cache.synced(str(tmp_path))
    (venv / "pyvenv.cfg").write_text("home = /nix/store/other/bin\n")
    memo = cli._unprepared(run, fields, environ)  # uv may re-create it
    assert memo is not None
    assert memo.endswith(".env")
    # The memo: libraries, then each environment with its stat signature.
    os.makedirs(os.path.dirname(memo))
    Path(memo).write_text(f"/nix/store/l/lib\n{venv}\n{cache.signature(str(venv))}\n")
    assert cli._unprepared(run, fields, environ) is None
    assert cli._unprepared(run, {**fields, "libs": "/nix/store/m/lib"}, environ) == memo
    tool = argv.parse(["tool", "run", "ruff", "--version"])
    tool_memo = cli._unprepared(tool, fields, environ)
    assert tool_memo not in (None, memo)


@pytest.mark.parametrize(("token", "asks"), [
    ("--with", True), ("--with=x", True), ("--with-editable", True), ("-w", True),
    ("-qw", True), ("-wx", True), ("-pw", False), ("-q", False), ("--python", False),
    ("-", False), ("x", False),
])
def test_a_with_option_is_seen_in_any_spelling(token: str, asks: bool) -> None:
    """`uv run -w pkg` asks for a `--with` environment as `--with pkg` does, so it is
    prepared before the program starts (`-pw` is `--python w`)."""
    assert cli._asks_with(token) is asks
