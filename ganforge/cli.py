"""The ``ganforge`` command line. Listing plugins, the schema and `validate --no-preflight` never import torch."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ganforge.errors import GanforgeError


def build_parser() -> argparse.ArgumentParser:
    """The top parser; every subcommand, the core's included, comes from ``ganforge_add_commands``."""
    parser = argparse.ArgumentParser(prog="ganforge", description="Train and evaluate GANs from recipes.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from ganforge.plugins import default_plugins

    default_plugins().manager.hook.ganforge_add_commands(subparsers=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.version:
            import ganforge

            print(f"ganforge {ganforge.__version__}")
            return 0
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        return int(args.handler(args) or 0)
    except GanforgeError as exc:
        from ganforge.recipe.errors import RecipeError

        print(f"ganforge: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, RecipeError) else 1
    except KeyboardInterrupt:
        print("ganforge: aborted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GANFORGE_DEBUG"):
            raise
        from ganforge.plugins import PluginLoadError
        from ganforge.registry import RegistryError, UnknownComponent

        if isinstance(exc, (PluginLoadError, RegistryError, UnknownComponent)):
            print(f"ganforge: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
