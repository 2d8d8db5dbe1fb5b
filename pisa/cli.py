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
    "data": ("pisa.commands.data", "what a config's datasets hold: splits, levels, durations, bad media, cache"),
    "prepare": ("pisa.commands.prepare", "decode a config's datasets once into the prepared cache"),
    "extract-features": ("pisa.commands.extract_features",
                         "run a backbone once over a config's datasets into keyed clip-feature files"),
    "train": ("pisa.commands.train", "train a config with mmengine (seeds, resume, DDP)"),
    "test": ("pisa.commands.test", "evaluate a checkpoint on a config's test split"),
    "reproduce": ("pisa.commands.reproduce", "the PISA paper's Table 1 over seeds under one protocol"),
    "config": ("pisa.commands.config", "print a config merged with its bases and overrides"),
    "predict": ("pisa.commands.predict", "predict the level of whole recordings, with a per-segment timeline"),
    "serve": ("pisa.commands.serve", "serve a trained model over HTTP, with a page to assess recordings"),
    "synth": ("pisa.commands.synth", "render a synthetic PISA-like dataset of piano performances"),
    "export-backbone": ("pisa.commands.export_backbone", "export a backbone's weights from a checkpoint"),
}


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
    from pisa.commands import CLIError

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
    # run the imported module's main, so that ``python -m pisa.cli`` catches the same
    # error classes the commands raise
    from pisa.cli import main as _main

    sys.exit(_main())
