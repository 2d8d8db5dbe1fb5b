"""``pisa test CONFIG CKPT``: evaluate a checkpoint on the config's test split, with the
decision rule and temperature its training run recorded; ``CKPT`` may be the folder of
one ``pisa train --seeds``/``--folds`` call, which tests the ensemble of its runs."""

from __future__ import annotations

import argparse
import os

from pisa.commands import add_config_arguments, add_run_arguments, run_distributed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("checkpoint", help="checkpoint file (.pth), or the folder of one "
                        "--seeds/--folds call (the ensemble of its runs)")
    add_run_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_distributed(_run, args)


def _run(args: argparse.Namespace) -> int:
    from mmengine.dist import is_main_process

    from pisa.commands.train import print_baselines
    from pisa.engine.experiment import test_ensemble
    from pisa.engine.runner import RunOptions, test
    from pisa.evaluation.reports import format_metrics

    opts = RunOptions(work_dir=args.work_dir, data_root=args.data_root, launcher=args.launcher,
                      cfg_options=dict(args.cfg_options or {}))
    if os.path.isdir(args.checkpoint):
        results = test_ensemble(args.config, args.checkpoint, opts)
    else:
        results = test(args.config, args.checkpoint, opts)
    if is_main_process():
        print("test: " + format_metrics(results["test_metrics"] or {}))
        print_baselines(results)
    return 0
