"""Repeated runs of one config: the experiment driver behind ``--seeds``, ``--folds`` and
``--train-fraction``, and ``pisa test`` of the ensemble such a call trained.

:func:`run_experiment` makes the list of runs (a :class:`Member` each: its work dir and
what it changes in the run's options), trains them in one loop (:func:`pisa.engine.runner.train`)
and writes one summary (:mod:`pisa.engine.results`):

- ``seeds``: one run per seed in ``<work_dir>/seed<N>``; ``summary.json`` with the mean
  and sample std of the test metrics (val metrics when there is no test split) and the
  metrics of the seeds' ensemble;
- ``folds``: k-fold cross-validation, one run per fold in ``<work_dir>/fold<i>`` with
  every dataloader's dataset given ``folds`` and ``fold`` (:mod:`pisa.data.core.splits`:
  grouped by performer, stratified by level, over the training performances);
  ``summary.json`` with the spread over folds and the pooled out-of-fold metrics;
- ``fractions`` (a learning curve): one run per (fraction, seed) in
  ``<work_dir>/fraction<f>/seed<s>``, each with the training dataset's ``train_fraction``
  and ``train_fraction_seed`` set (:func:`pisa.data.core.splits.nested_fraction`: whole
  performers, stratified by level, the smaller share inside the larger one for a seed),
  applied after the validation carve and the folds, so the validation and test splits
  are those of the full run; ``learning_curve.json`` (per fraction: the training
  performances and samples each run had, the val and test metrics' mean, sample std and
  values over the seeds) and ``learning_curve.png``.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Union

from pisa.engine.checkpoint import run_member_checkpoints
from pisa.engine.config_loader import DATALOADERS, dataset_configs, default_work_dir, load_config
from pisa.engine.protocols import PROTOCOLS
from pisa.engine.results import ExperimentSummary, LearningCurve, TestResults
from pisa.engine.runner import RunOptions, build_run_config, test, train
from pisa.engine.validate import ConfigError
from pisa.evaluation.offline_metrics import ensemble_metrics, pooled_metrics
from pisa.evaluation.reports import summarize_seeds


@dataclass
class Member:
    """One run of an experiment: its work dir and what it changes in the options."""

    work_dir: str
    seed: Optional[int] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    #: the learning curve's point this run belongs to
    fraction: Optional[float] = None


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


def _seed_members(base: str, seeds: Sequence[int]) -> List[Member]:
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    return [Member(osp.join(base, f"seed{seed}"), seed=int(seed)) for seed in seeds]


def _fold_members(config, opts: RunOptions, base: str, folds: int) -> List[Member]:
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"--folds: give an integer >= 2, got {folds!r}")
    cfg = load_config(config, opts.cfg_options, opts.data_root)
    loaders = [name for name in dataset_configs(cfg) if name in DATALOADERS]
    return [Member(osp.join(base, f"fold{fold}"), cfg_options={
        key: value for name in loaders
        for key, value in ((f"{name}.dataset.folds", folds), (f"{name}.dataset.fold", fold))})
        for fold in range(folds)]


def _fraction_members(config, opts: RunOptions, base: str, fractions: Sequence[float],
                      seeds: Optional[Sequence[int]]) -> List[Member]:
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
    return [Member(osp.join(base, fraction_dir(fraction), f"seed{int(seed)}"), seed=int(seed),
                   fraction=fraction,
                   cfg_options={"train_dataloader.dataset.train_fraction": fraction,
                                "train_dataloader.dataset.train_fraction_seed": int(seed)})
            for fraction in fractions for seed in seeds]


def run_experiment(config: Union[str, os.PathLike], opts: RunOptions,
                   seeds: Optional[Sequence[int]] = None, folds: Optional[int] = None,
                   fractions: Optional[Sequence[float]] = None) -> Dict[str, Any]:
    """Train the runs of ``--seeds``, ``--folds`` or ``--train-fraction`` (with ``seeds``:
    each fraction once per seed; None: ``opts.seed``, else the config's seed, else 0; the
    seed also draws the subset) and write their summary (module docstring; rank 0).
    Returns the summary with the per-run results under ``'runs'`` (a learning curve:
    ``{fraction: [results, ...]}``, and ``plot``)."""
    base = opts.work_dir or default_work_dir(config)
    if folds is not None and (seeds or fractions is not None):
        raise ConfigError("--folds cannot be combined with --seeds or --train-fraction")
    if fractions is not None:
        members = _fraction_members(config, opts, base, fractions, seeds)
    elif folds is not None:
        members = _fold_members(config, opts, base, folds)
    elif seeds is not None:
        members = _seed_members(base, seeds)
    else:
        raise ConfigError("an experiment needs --seeds, --folds or --train-fraction")
    runs = []
    for member in members:
        run_opts = replace(opts, work_dir=member.work_dir,
                           cfg_options={**(opts.cfg_options or {}), **member.cfg_options},
                           seed=member.seed if member.seed is not None else opts.seed,
                           dump_predictions=opts.dump_predictions or fractions is None)
        runs.append(train(config, run_opts))
    if fractions is not None:
        return _learning_curve(config, opts, base, members, runs)
    cfg = load_config(config, opts.cfg_options, opts.data_root)
    work_dirs = [r["work_dir"] for r in runs]
    if folds is not None:
        extra = dict(config=str(config), folds=folds, protocol=opts.protocol, work_dirs=work_dirs,
                     pooled_test_metrics=pooled_metrics(cfg, work_dirs))
        summary = ExperimentSummary(summarize_seeds(runs, "test"), extra).write(base)
    else:
        split = "test" if any(r.get("test_metrics") for r in runs) else "val"
        extra = dict(config=str(config), protocol=opts.protocol, work_dirs=work_dirs,
                     ensemble_test_metrics=(ensemble_metrics(cfg, work_dirs)
                                            if split == "test" else None))
        summary = ExperimentSummary(summarize_seeds(runs, split), extra).write(base)
    return {**summary, "runs": runs}


def _learning_curve(config, opts: RunOptions, base: str, members: List[Member],
                    runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    by_fraction: Dict[float, List[Dict[str, Any]]] = {}
    counts: Dict[float, List[int]] = {}
    for member, run in zip(members, runs):
        by_fraction.setdefault(member.fraction, []).append(run)
        run_opts = replace(opts, seed=member.seed, work_dir=member.work_dir,
                           cfg_options={**(opts.cfg_options or {}), **member.cfg_options})
        counts.setdefault(member.fraction, []).append(training_performances(config, run_opts))
    points = [{
        "fraction": fraction,
        "train_performances": counts[fraction],
        "train_performances_mean": sum(counts[fraction]) / len(counts[fraction]),
        "train_samples": [sum((r.get("split_counts") or {}).get("train", {}).values())
                          for r in fraction_runs],
        "selected_epochs": [r.get("epoch") for r in fraction_runs],
        "early_stop": [r.get("early_stop") for r in fraction_runs],
        "test_metrics": summarize_seeds(fraction_runs, "test")["metrics"],
        "val_metrics": summarize_seeds(fraction_runs, "val")["metrics"],
        "work_dirs": [r["work_dir"] for r in fraction_runs],
    } for fraction, fraction_runs in by_fraction.items()]
    seeds = [m.seed for m in members if m.fraction == members[0].fraction]
    curve = LearningCurve(config=str(config), protocol=opts.protocol,
                          protocol_description=PROTOCOLS[opts.protocol].description,
                          seeds=seeds, work_dir=base, fractions=points).write()
    return {**curve, "runs": by_fraction}


def test_ensemble(config: Union[str, os.PathLike], run_dir: str, opts: RunOptions) -> Dict[str, Any]:
    """Evaluate the ensemble of the runs of one ``--seeds`` or ``--folds`` call (the
    folder ``run_dir``) on the config's test split: each member is tested in
    ``<work_dir>/member<i>`` with its predictions dumped, then
    :func:`pisa.evaluation.offline_metrics.ensemble_metrics`. Writes
    ``<work_dir>/test_results.json`` and returns it."""
    members = run_member_checkpoints(run_dir)
    base = opts.work_dir or default_work_dir(config)
    work_dirs, runs = [], []
    for i, checkpoint in enumerate(members):
        work_dir = osp.join(base, f"member{i}")
        runs.append(test(config, checkpoint, replace(opts, work_dir=work_dir,
                                                     dump_predictions=True)))
        work_dirs.append(work_dir)
    cfg = load_config(config, opts.cfg_options, opts.data_root)
    return TestResults(config=str(config), checkpoint=run_dir, members=members,
                       member_test_metrics=[r["test_metrics"] for r in runs],
                       decision=runs[0].get("decision"),
                       test_metrics=ensemble_metrics(cfg, work_dirs)).write(base)


test_ensemble.__test__ = False  # not a test case
