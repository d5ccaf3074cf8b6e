"""``uvx-nix nix add-build-library ATTR...``: add nixpkgs attributes to
``[tool.uvx-nix] build-libraries``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from uvx_nix import argv as argv_mod
from uvx_nix import output
from uvx_nix.build import toolchain
from uvx_nix.commands import usage
from uvx_nix.errors import EXIT_CONFIG, EXIT_NO_MATCH, UserError
from uvx_nix.resolve import attributes, resolution
from uvx_nix.resolve import inputs as inputs_mod

if TYPE_CHECKING:
    pass


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """Add attributes to ``[tool.uvx-nix] build-libraries`` of the project, after checking the
    locked nixpkgs has them."""
    parser = usage.Parser(
        prog=f"uvx-nix nix {name}",
        description="Add nixpkgs attributes to [tool.uvx-nix] build-libraries: their headers, "
                    ".pc files and programs are given to builds uv runs.")
    parser.add_argument("attributes", nargs="+", metavar="ATTRIBUTE")
    parser.add_argument("--directory", help="run as if started in this directory")
    args = usage.parse(parser, argv)
    if args is None:
        return 0
    wanted = [inputs_mod.validate_attribute(a, "the command line") for a in args.attributes]
    inp = inputs_mod.gather(argv_mod.sync(args.directory), environ)
    if inp.project is None:
        raise UserError("no pyproject.toml here: add build libraries to the user config "
                        "(build-libraries) or set UVX_NIX_BUILD_LIBRARIES", EXIT_CONFIG)
    resolved = resolution.ensure(inp, environ)
    missing = attributes.missing_attributes(resolved.inputs.lock_path, wanted, environ)
    if missing:
        raise UserError(f"the locked nixpkgs has no {', '.join(map(repr, missing))}; check the "
                        "attribute name (or run `uvx-nix nix lock --upgrade`)", EXIT_NO_MATCH)
    pyproject = inp.project.root / "pyproject.toml"
    added = toolchain.add_to_pyproject(pyproject, wanted)
    if added:
        output.notice(f"Added {', '.join(added)} to [tool.uvx-nix] build-libraries "
                      f"in {pyproject}")
    else:
        output.notice(f"{', '.join(wanted)} already in [tool.uvx-nix] "
                      "build-libraries")
    return 0
