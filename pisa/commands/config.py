"""``pisa config CONFIG``: print the merged config (bases and --cfg-options applied)."""

from __future__ import annotations

import argparse

from pisa.commands import add_config_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pisa.engine.runner import load_config, resolve_data_root

    cfg = load_config(args.config, dict(args.cfg_options or {}), resolve_data_root(args.data_root))
    print(cfg.pretty_text)
    return 0
