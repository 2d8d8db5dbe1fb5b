"""Subcommands of the ``pisa`` command line (see :mod:`pisa.cli`)."""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from typing import Iterator, List


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


@contextlib.contextmanager
def logs_to_stderr() -> Iterator[None]:
    """Send what mmengine logs (and anything printed) to stderr while the block runs, so
    stdout carries only what the caller prints itself (e.g. ``pisa predict --json``)."""
    from mmengine.logging import MMLogger

    moved: List[logging.StreamHandler] = []
    # a logger made inside the block binds its handler to the redirected stream
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)
                moved.append(handler)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for handler in moved:
            handler.setStream(sys.stdout)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``CONFIG``, ``--cfg-options`` and ``--data-root``, as every config-driven command
    takes them; :func:`load_config_from_args` reads them back."""
    from mmengine.config import DictAction

    parser.add_argument("config", help="mmengine python config file")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        metavar="KEY=VALUE", help="override config keys, e.g. train_cfg.max_epochs=2")
    parser.add_argument("--data-root", help="dataset folder (default: $PISA_DATA_ROOT, else the config's)")


def load_config_from_args(args: argparse.Namespace):
    """The config that :func:`add_config_arguments`' options name, read by the one config
    path (:func:`pisa.engine.config_loader.load_config`)."""
    from pisa.engine.config_loader import load_config

    return load_config(args.config, dict(args.cfg_options or {}), args.data_root)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """``--work-dir`` and ``--launcher``, as the commands that run mmengine's Runner take
    them."""
    parser.add_argument("--work-dir", help="output folder (default work_dirs/<config stem>)")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                        help="'pytorch' under torchrun: DDP (nccl on GPU, gloo on CPU)")


def run_distributed(main, args: argparse.Namespace) -> int:
    """``main(args)``, then the process group a ``--launcher pytorch`` run set up is torn
    down, whatever happened."""
    from pisa.engine.launch import close_distributed

    try:
        return main(args)
    finally:
        close_distributed()
