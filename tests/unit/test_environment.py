"""environment.build: what uv gets, and what it must not get."""

from __future__ import annotations

from uvx_nix import environment

BIN = "/nix/store/" + "a" * 32 + "-python3-3.12.1/bin"
LIBS = "/nix/store/" + "b" * 32 + "-gcc-lib/lib:/nix/store/" + "c" * 32 + "-zlib/lib"
FIELDS = {"python_bin": BIN, "libs": LIBS, "strategy": "interpreter"}


def test_does_not_modify_the_callers_environment() -> None:
    environ = {"PATH": "/bin", "LD_LIBRARY_PATH": "/x"}
    copy = dict(environ)
    env = environment.build(FIELDS, environ)
    assert environ == copy
    assert env is not environ


def test_interpreter_strategy_sets_uvs_discovery() -> None:
    env = environment.build(FIELDS, {"PATH": "/bin"})
    assert env["UV_PYTHON_SEARCH_PATH"] == BIN
    assert env["UV_PYTHON_PREFERENCE"] == "only-system"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"
    assert "UV_PYTHON" not in env
    assert env["PATH"] == "/bin"


def test_respects_the_users_uv_settings_and_prepends_the_search_path() -> None:
    env = environment.build(FIELDS, {"UV_PYTHON_DOWNLOADS": "automatic",
                                     "UV_PYTHON_PREFERENCE": "system",
                                     "UV_PYTHON_SEARCH_PATH": "/mine/bin"})
    assert env["UV_PYTHON_DOWNLOADS"] == "automatic"
    assert env["UV_PYTHON_PREFERENCE"] == "system"
    assert env["UV_PYTHON_SEARCH_PATH"] == f"{BIN}:/mine/bin"


def test_scrubs_nix_pythonpath_and_store_entries_of_pythonpath() -> None:
    no_libs = {**FIELDS, "libs": ""}
    env = environment.build(no_libs, {"NIX_PYTHONPATH": "/nix/store/x-site",
                                      "PYTHONPATH": "/nix/store/y/lib:/home/me/src::/nix/store/z"})
    assert "NIX_PYTHONPATH" not in env
    assert env["PYTHONPATH"] == "/home/me/src"
    env = environment.build(no_libs, {"PYTHONPATH": "/nix/store/y/lib"})
    assert "PYTHONPATH" not in env


def test_library_and_python_paths_reach_uv_as_you_set_them() -> None:
    """The libraries travel with each environment (its .pth), never with the call: what uv
    and the programs it starts see is your own LD_LIBRARY_PATH and PYTHONPATH."""
    for mine in ({}, {"LD_LIBRARY_PATH": "/opt/lib", "PYTHONPATH": "/home/me/src"}):
        env = environment.build(FIELDS, mine)
        for name in ("LD_LIBRARY_PATH", "PYTHONPATH"):
            assert env.get(name) == mine.get(name)
        assert not [k for k in env
                    if k.startswith("UVX_NIX_") and k != environment.PREFERENCE_MARKER]


def test_nix_ld_strategy() -> None:
    env = environment.build({**FIELDS, "strategy": "nix-ld"},
                            {"NIX_LD_LIBRARY_PATH": "/run/current-system/sw/share/nix-ld/lib"})
    assert env["NIX_LD_LIBRARY_PATH"] == f"{LIBS}:/run/current-system/sw/share/nix-ld/lib"
    assert "LD_LIBRARY_PATH" not in env
    assert "UV_PYTHON_SEARCH_PATH" not in env
    assert "UV_PYTHON_DOWNLOADS" not in env


def test_a_preference_you_expressed_is_never_overridden() -> None:
    """uv refuses UV_PYTHON_PREFERENCE beside UV_(NO_)MANAGED_PYTHON or their flags."""
    for environ in ({"UV_NO_MANAGED_PYTHON": "1"}, {"UV_MANAGED_PYTHON": "true"},
                    {"UV_PYTHON_PREFERENCE": "system"}):
        env = environment.build(FIELDS, environ)
        assert env.get("UV_PYTHON_PREFERENCE") == environ.get("UV_PYTHON_PREFERENCE")
        assert environment.PREFERENCE_MARKER not in env
    # False values do not conflict in uv: uvx-nix still sets its default.
    env = environment.build(FIELDS, {"UV_NO_MANAGED_PYTHON": "0"})
    assert env["UV_PYTHON_PREFERENCE"] == "only-system"
    assert "UV_PYTHON_PREFERENCE" not in environment.build(FIELDS, {}, preference_flag=True)
    config = {**FIELDS, "preference": "config"}
    assert "UV_PYTHON_PREFERENCE" not in environment.build(config, {})


def test_a_nested_call_takes_back_the_preference_it_was_given() -> None:
    outer = environment.build(FIELDS, {})
    assert outer[environment.PREFERENCE_MARKER] == "only-system"
    inner = environment.build(FIELDS, outer, preference_flag=True)
    assert "UV_PYTHON_PREFERENCE" not in inner
    assert environment.PREFERENCE_MARKER not in inner
    again = environment.build(FIELDS, outer)
    assert again["UV_PYTHON_PREFERENCE"] == "only-system"
    # Your own value, equal or not, is never taken out.
    mine = environment.build(FIELDS, {"UV_PYTHON_PREFERENCE": "only-system"},
                             preference_flag=True)
    assert mine["UV_PYTHON_PREFERENCE"] == "only-system"
