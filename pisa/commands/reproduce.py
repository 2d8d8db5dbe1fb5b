"""``pisa reproduce [--cell MODALITY-SCHEME=CONFIG ...] [--seeds N ...] [--protocol P]``:
the PISA paper's Table 1, each cell trained over seeds under one protocol, written as a
Table 1-shaped markdown table beside the paper's numbers (:mod:`pisa.engine.table1`)."""
from __future__ import annotations

import argparse

from pisa.commands import add_run_arguments, run_distributed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction

    from pisa.engine.protocols import PROTOCOLS

    parser.add_argument("--cell", action="append", default=[], metavar="MODALITY-SCHEME=CONFIG",
                        help="a cell and its config (repeatable), e.g. video-unidist=configs/...; "
                             "default: the six configs in configs/pisa/")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="N",
                        help="seeds per cell (default 0 1 2)")
    parser.add_argument("--protocol", choices=list(PROTOCOLS), default="val",
                        help="the evaluation protocol of every run (default val)")
    parser.add_argument("--data-root", help="dataset folder (default: $PISA_DATA_ROOT, else the configs')")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        metavar="KEY=VALUE", help="override config keys in every cell")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic algorithms (randomness.deterministic=True)")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_distributed(_run, args)


def _run(args: argparse.Namespace) -> int:
    from mmengine.dist import is_main_process

    from pisa.engine.table1 import default_cells, parse_cell, reproduce
    from pisa.engine.runner import RunOptions

    cells = dict(parse_cell(c) for c in args.cell) if args.cell else default_cells()
    opts = RunOptions(work_dir=args.work_dir, data_root=args.data_root,
                      cfg_options=dict(args.cfg_options or {}), deterministic=args.deterministic,
                      launcher=args.launcher, protocol=args.protocol)
    report = reproduce(cells, opts, args.seeds)
    if is_main_process():
        print(report["table"])
    return 0
