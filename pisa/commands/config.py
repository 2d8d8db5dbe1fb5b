"""``pisa config CONFIG``: print the merged config (bases and --cfg-options applied)."""

from __future__ import annotations

import argparse

from mmengine.config import DictAction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="mmengine python config file")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help="override config keys",
    )
    parser.add_argument(
        "--data-root", help="dataset folder (default: $PISA_DATA_ROOT, else the config's)"
    )


def run(args: argparse.Namespace) -> int:
    from pisa.engine.runner import load_config, resolve_data_root

    cfg = load_config(args.config, dict(args.cfg_options or {}), resolve_data_root(args.data_root))
    print(cfg.pretty_text)
    return 0
