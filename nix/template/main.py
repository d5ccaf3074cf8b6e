"""A starting point: `uvx-nix run main.py` (or `uv run main.py` with the alias)."""

import sys


def main() -> None:
    print(f"Hello from Python {sys.version.split()[0]} at {sys.executable}")


if __name__ == "__main__":
    main()
