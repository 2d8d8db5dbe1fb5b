"""``pisa train CONFIG``: train with mmengine's Runner (see :mod:`pisa.engine.runner`); with
``--seeds``, ``--folds`` or ``--train-fraction`` an experiment of several runs
(:mod:`pisa.engine.experiment`)."""

from __future__ import annotations

import argparse

from pisa.commands import CLIError, add_config_arguments, add_run_arguments, run_distributed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pisa.engine.protocols import PROTOCOLS

    add_config_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CKPT",
        help="resume from CKPT, or without a value from the last complete "
        "checkpoint in the work dir",
    )
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, help="random seed (default: the config's, else 0)")
    seeds.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        metavar="N",
        help="train once per seed in <work-dir>/seed<N>; report mean and std",
    )
    seeds.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="K-fold cross-validation over the training performances (grouped by performer, "
        "stratified by level), one run per fold in <work-dir>/fold<i>; report mean and std "
        "and the pooled out-of-fold metrics",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic algorithms (randomness.deterministic=True)",
    )
    parser.add_argument(
        "--protocol",
        choices=list(PROTOCOLS),
        default="val",
        help="how the tested checkpoint is chosen: "
        + "; ".join(f"{k}: {v.description}" for k, v in PROTOCOLS.items()),
    )
    parser.add_argument(
        "--train-fraction",
        type=float,
        nargs="+",
        metavar="F",
        help="learning curve: train on each share F in (0, 1] of the training performances "
        "(nested, whole performers, stratified by level; val and test unchanged), once per "
        "seed (--seed/--seeds) in <work-dir>/fraction<F>/seed<N>; writes "
        "learning_curve.json and learning_curve.png",
    )


def run(args: argparse.Namespace) -> int:
    return run_distributed(_run, args)


def _run(args: argparse.Namespace) -> int:
    from mmengine.dist import is_main_process

    from pisa.engine.experiment import run_experiment
    from pisa.engine.protocols import PROTOCOLS
    from pisa.engine.runner import RunOptions, train
    from pisa.evaluation.reports import format_metrics, format_seed_table

    opts = RunOptions(
        work_dir=args.work_dir,
        data_root=args.data_root,
        cfg_options=dict(args.cfg_options or {}),
        seed=args.seed,
        deterministic=args.deterministic,
        launcher=args.launcher,
        resume=args.resume,
        protocol=args.protocol,
    )
    if args.train_fraction is not None:
        return _run_fractions(args, opts)
    if args.folds is not None:
        if args.resume:
            raise CLIError("--resume and --folds cannot be combined; resume one fold's work dir")
        summary = run_experiment(args.config, opts, folds=args.folds)
        if is_main_process():
            print(f"test metrics over {summary['folds']} folds (std: sample standard deviation; "
                  f"protocol {summary['protocol']}: {PROTOCOLS[summary['protocol']].description})")
            print(format_seed_table(summary))
            print("pooled out-of-fold: " + format_metrics(summary["pooled_test_metrics"]))
        return 0
    if args.seeds:
        if args.resume:
            raise CLIError("--resume and --seeds cannot be combined; resume one seed's work dir")
        summary = run_experiment(args.config, opts, seeds=args.seeds)
        if is_main_process():
            print(
                f"{summary['split']} metrics over seeds {summary['seeds']} "
                f"(std: sample standard deviation; protocol {summary['protocol']}: "
                f"{PROTOCOLS[summary['protocol']].description})"
            )
            print(format_seed_table(summary))
        return 0
    results = train(args.config, opts)
    if is_main_process():
        print(f"protocol {results['protocol']}: {results['protocol_description']}")
        print(f"checkpoint: {results['checkpoint']} (epoch {results['epoch']}, selected on "
              f"{results['selected_on']})")
        for split in ("val", "test"):
            if results[f"{split}_metrics"]:
                print(f"{split}: " + format_metrics(results[f"{split}_metrics"]))
        print_baselines(results)
    return 0


def print_baselines(results: dict) -> None:
    """The run's test metrics beside its baselines (``results['baseline_metrics']``)."""
    from pisa.engine.hooks.baseline_hook import COMPARED_KEYS
    from pisa.evaluation.baselines.comparison import format_comparison_table

    baselines = results.get("baseline_metrics") or {}
    scored = {k: v for k, v in baselines.items() if "error" not in v}
    for name, value in baselines.items():
        if "error" in value:
            print(f"baseline {name}: not scored ({value['error']})")
    if scored and results.get("test_metrics"):
        keys = [k for k in COMPARED_KEYS if isinstance(results["test_metrics"].get(k), (int, float))]
        print("test metrics beside the baselines (same training and test performances):")
        print(format_comparison_table(results["test_metrics"], scored, keys=keys or None), end="")


def _run_fractions(args: argparse.Namespace, opts) -> int:
    from mmengine.dist import is_main_process

    from pisa.engine.experiment import run_experiment
    from pisa.engine.protocols import PROTOCOLS
    from pisa.evaluation.curves import format_learning_curve_table

    if args.folds is not None:
        raise CLIError("--train-fraction and --folds cannot be combined")
    if args.resume:
        raise CLIError("--train-fraction and --resume cannot be combined; resume one run's "
                       "work dir")
    curve = run_experiment(args.config, opts, seeds=args.seeds, fractions=args.train_fraction)
    if is_main_process():
        print(f"learning curve over seeds {curve['seeds']} (mean ± sample std; protocol "
              f"{curve['protocol']}: {PROTOCOLS[curve['protocol']].description})")
        print(format_learning_curve_table(curve))
        print(f"written: {curve['work_dir']}/learning_curve.json, {curve['plot']}")
    return 0
