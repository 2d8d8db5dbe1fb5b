"""The ``pisa`` command line. Each subcommand lives in its own module, which defines
``add_arguments(parser)`` and ``run(args) -> int``; this file only dispatches."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

#: subcommand -> (module, one-line help)
COMMANDS = {
    "list": ("pisa.commands.list_components", "list registered components and where they come from"),
}


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    from pisa import __version__

    parser = argparse.ArgumentParser(prog="pisa", description="Action-quality assessment (pisa-aqa).")
    parser.add_argument("--version", action="version", version=f"pisa-aqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(cmd)
        cmd.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (CLIError, FileNotFoundError, KeyError, ValueError, TypeError) as err:
        # user errors (bad config, missing file) get one line, not a traceback;
        # PISA_DEBUG=1 shows the traceback
        import os

        if os.environ.get("PISA_DEBUG"):
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"pisa {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
