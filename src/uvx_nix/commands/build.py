"""``uvx-nix nix add-build-library ATTR...``: add nixpkgs attributes to
``[tool.uvx-nix] build-libraries``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from uvx_nix import argv as argv_mod
from uvx_nix.build import toolchain
from uvx_nix.errors import EXIT_CONFIG, EXIT_NO_MATCH, UserError
from uvx_nix.resolve import attributes, resolution
from uvx_nix.resolve import inputs as inputs_mod

if TYPE_CHECKING:
    pass


def command(name: str, argv: list[str], environ: Mapping[str, str]) -> int:
    """Add attributes to ``[tool.uvx-nix] build-libraries`` of the project, after checking the
    locked nixpkgs has them."""
    parser = argparse.ArgumentParser(
        prog=f"uvx-nix nix {name}",
        description="Add nixpkgs attributes to [tool.uvx-nix] build-libraries: their headers, "
                    ".pc files and programs are given to builds uv runs.")
    parser.add_argument("attributes", nargs="+", metavar="ATTRIBUTE")
    parser.add_argument("--directory", help="run as if started in this directory")
    args = parser.parse_args(argv)
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
        sys.stderr.write(f"uvx-nix: added {', '.join(added)} to [tool.uvx-nix] build-libraries "
                         f"in {pyproject}\n")
    else:
        sys.stderr.write(f"uvx-nix: {', '.join(wanted)} already in [tool.uvx-nix] "
                         "build-libraries\n")
    return 0
