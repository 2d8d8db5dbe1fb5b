"""``pisa config CONFIG``: print the merged config (bases and --cfg-options applied)."""

from __future__ import annotations

import argparse

from pisa.commands import add_config_arguments, load_config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    print(load_config_from_args(args).pretty_text)
    return 0
