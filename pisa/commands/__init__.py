"""Subcommands of the ``pisa`` command line (see :mod:`pisa.cli`)."""
from __future__ import annotations

import argparse


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``CONFIG``, ``--cfg-options`` and ``--data-root``, as every config-driven command
    takes them."""
    from mmengine.config import DictAction

    parser.add_argument("config", help="mmengine python config file")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        metavar="KEY=VALUE", help="override config keys, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--data-root", help="dataset folder (default: $PISA_DATA_ROOT, else the config's)")
