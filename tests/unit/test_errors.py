"""Text from a repository shown safely: escaped, cut with its length, line breaks kept where
a message means them."""

from __future__ import annotations

from uvx_nix import errors


def test_display_escapes_everything_but_printable_ascii() -> None:
    assert errors.display("a\x1b[2Jb\u202ec") == "'a\\x1b[2Jb\\u202ec'"
    assert errors.display("plain") == "'plain'"


def test_display_cuts_long_text_and_says_how_long_it_was() -> None:
    shown = errors.display("x" * 400, limit=10)
    assert shown.startswith("'xxxxxxxxxx'")
    assert "(400 characters in all" in shown


def test_printable_keeps_line_breaks_and_escapes_the_rest() -> None:
    assert errors.printable("first\nsecond") == "first\nsecond"
    assert errors.printable("bad\x07bell\nok") == "bad\\x07bell\nok"


def test_display_path_is_the_path_unless_it_hides_something() -> None:
    assert errors.display_path("/home/me/p") == "/home/me/p"
    assert errors.display_path("/home/me/p\nq") == "'/home/me/p\\nq'"


def test_every_exit_code_is_documented_and_outside_uvs_own_but_the_usage_one() -> None:
    assert set(errors.EXIT_CODES) >= {errors.EXIT_CONFIG, errors.EXIT_USAGE, errors.EXIT_INTERNAL}
    assert errors.EXIT_USAGE == 2  # as uv's own usage errors
    assert all(code >= 70 for code in errors.EXIT_CODES if code != errors.EXIT_USAGE)
    err = errors.UserError("fix it", errors.EXIT_NO_MATCH)
    assert (str(err), err.exit_code) == ("fix it", errors.EXIT_NO_MATCH)
