"""``pisa test CONFIG CKPT``: evaluate a checkpoint on the config's test split."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="mmengine python config file")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--work-dir", help="output folder (default work_dirs/<config stem>)")
    parser.add_argument(
        "--data-root", help="dataset folder (default: $PISA_DATA_ROOT, else the config's)"
    )
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none")


def run(args: argparse.Namespace) -> int:
    from pisa.engine.runner import close_distributed

    try:
        return _run(args)
    finally:
        close_distributed()


def _run(args: argparse.Namespace) -> int:
    from mmengine.dist import is_main_process

    from pisa.engine.runner import RunOptions, format_metrics, test

    opts = RunOptions(work_dir=args.work_dir, data_root=args.data_root, launcher=args.launcher)
    results = test(args.config, args.checkpoint, opts)
    if is_main_process():
        print("test: " + format_metrics(results["test_metrics"] or {}))
    return 0
