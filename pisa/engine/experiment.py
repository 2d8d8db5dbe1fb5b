"""Learning curves: the same config trained on nested shares of its training data.

:func:`train_fractions` runs one training per (fraction, seed) in
``<work_dir>/fraction<f>/seed<s>``, each with the training dataset's ``train_fraction``
and ``train_fraction_seed`` set (:func:`pisa.data.splits.nested_fraction`: whole
performers, stratified by level, the smaller share inside the larger one for a seed),
applied after the validation carve and the folds, so the validation and test splits are
those of the full run. It writes ``<work_dir>/learning_curve.json`` (per fraction: the
training performances and samples each run had, the val and test metrics' mean, sample
std and values over the seeds) and ``learning_curve.png``
(:func:`pisa.evaluation.curves.plot_learning_curve`).
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.dist import is_main_process

from pisa.engine.config_loader import default_work_dir, load_config
from pisa.engine.runner import PROTOCOLS, RunOptions, build_run_config, train
from pisa.engine.validate import ConfigError
from pisa.evaluation.curves import plot_learning_curve
from pisa.evaluation.reports import summarize_seeds
from pisa.io.atomic import write_json

#: what :func:`train_fractions` writes into the work dir
CURVE_FILE = "learning_curve.json"
CURVE_PLOT = "learning_curve.png"


def fraction_dir(fraction: float) -> str:
    """The folder of one fraction's runs: ``fraction0.25``, ``fraction1``."""
    return f"fraction{fraction:g}"


def _check_fractions(fractions: Sequence[float]) -> List[float]:
    if not fractions:
        raise ConfigError("--train-fraction: give at least one fraction")
    bad = [f for f in fractions
           if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1]
    if bad:
        raise ConfigError(f"--train-fraction: every fraction must be in (0, 1], got {bad}")
    if len(set(fractions)) != len(fractions):
        raise ConfigError(f"--train-fraction: a fraction is given twice: {list(fractions)}")
    return sorted(float(f) for f in fractions)


def training_performances(config: Union[str, os.PathLike], opts: RunOptions) -> int:
    """How many performances the training split of a run under ``opts`` holds (its
    ``train_fraction`` applied), from the run's own training dataset config, built again
    without opening media the annotation already describes (``check_media=False``)."""
    from pisa.registry import DATASETS

    protocol = "fixed" if opts.protocol == "refit" else opts.protocol  # the tested run's data
    cfg = build_run_config(config, replace(opts, protocol=protocol, resume=None))
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, check_media=False))
    if not hasattr(dataset, "performances"):
        raise ConfigError(f"{config}: train_dataloader.dataset ({type(dataset).__name__}) is "
                          "not an AQA dataset; --train-fraction needs its train_fraction")
    return len(dataset.performances)


def train_fractions(config: Union[str, os.PathLike], opts: RunOptions,
                    fractions: Sequence[float],
                    seeds: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Train on each share in ``fractions`` (in (0, 1]) of the training performances,
    once per seed in ``seeds`` (None: ``opts.seed``, else the config's seed, else 0); the
    seed also draws the subset. Writes ``<work_dir>/learning_curve.json`` and
    ``learning_curve.png`` (rank 0) and returns the curve with the per-run results under
    ``'runs'`` (``{fraction: [results, ...]}``)."""
    fractions = _check_fractions(fractions)
    if opts.resume:
        raise ConfigError("--train-fraction and --resume cannot be combined; resume one run's "
                          "work dir")
    cfg = load_config(config, opts.cfg_options, opts.data_root)
    if cfg.get("train_dataloader") is None:
        raise ConfigError(f"{config}: --train-fraction needs a train_dataloader")
    if seeds is None:
        seeds = [opts.seed if opts.seed is not None
                 else int((cfg.get("randomness") or {}).get("seed") or 0)]
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    seeds = [int(s) for s in seeds]
    base = opts.work_dir or default_work_dir(config)
    points, all_runs = [], {}
    for fraction in fractions:
        runs, counts = [], []
        for seed in seeds:
            options = dict(opts.cfg_options or {})
            options["train_dataloader.dataset.train_fraction"] = fraction
            options["train_dataloader.dataset.train_fraction_seed"] = seed
            run_opts = replace(opts, seed=seed, cfg_options=options,
                               work_dir=osp.join(base, fraction_dir(fraction), f"seed{seed}"))
            runs.append(train(config, run_opts))
            counts.append(training_performances(config, run_opts))
        all_runs[fraction] = runs
        points.append({
            "fraction": fraction,
            "train_performances": counts,
            "train_performances_mean": sum(counts) / len(counts),
            "train_samples": [sum((r.get("split_counts") or {}).get("train", {}).values())
                              for r in runs],
            "selected_epochs": [r.get("epoch") for r in runs],
            "early_stop": [r.get("early_stop") for r in runs],
            "test_metrics": summarize_seeds(runs, "test")["metrics"],
            "val_metrics": summarize_seeds(runs, "val")["metrics"],
            "work_dirs": [r["work_dir"] for r in runs],
        })
    curve = {
        "config": str(config),
        "protocol": opts.protocol,
        "protocol_description": PROTOCOLS[opts.protocol],
        "seeds": seeds,
        "work_dir": base,
        "fractions": points,
    }
    plot = osp.join(base, CURVE_PLOT)
    if is_main_process():
        write_json(osp.join(base, CURVE_FILE), curve)  # first: the runs' numbers are kept
        plot_learning_curve(curve, plot)
    return {**curve, "plot": plot, "runs": all_runs}
