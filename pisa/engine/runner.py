"""Build and run one training or test run with mmengine's Runner.

Around ``Runner.from_cfg``: the config read by the one config path
(:mod:`pisa.engine.config_loader`) and prepared by the run's protocol
(:mod:`pisa.engine.protocols`), the work dir (default ``work_dirs/<config stem>``), seed
and deterministic mode, resume from the last complete checkpoint, the distributed launch
(:mod:`pisa.engine.launch`), the selected checkpoint evaluated on val and test, errors
from DataLoader workers as one clear message, and the results files
(:mod:`pisa.engine.results`). Every hook a run uses is listed in its config
(``configs/_base_/default_runtime.py``), the post-training phases included
(:mod:`pisa.engine.hooks`). Repeated runs are :mod:`pisa.engine.experiment`'s.
"""

from __future__ import annotations

import contextlib
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from mmengine.config import Config

from pisa.data.core.bad_samples import (
    BAD_SAMPLE_REPORT,
    BadSampleError,
    read_records,
    summarize_bad_samples,
    worker_error_message,
)
from pisa.engine.checkpoint import (find_last_complete_checkpoint, freeze_checkpoint_selection,
                                    selected_checkpoint)
from pisa.engine.config_loader import DATALOADERS, default_work_dir, load_config, resolve_data_root
from pisa.engine.hooks.calibration_hook import apply_recorded_decision, current_decision
from pisa.engine.hooks.run_hooks import datasets_with, early_stop_info
from pisa.engine.launch import setup_launcher
from pisa.engine.protocols import get_protocol
from pisa.engine.results import RunResults, TestResults
from pisa.engine.validate import ConfigError, check_runnable
from pisa.evaluation.offline_metrics import PREDICTIONS_FILE
from pisa.evaluation.reports import format_split_counts
from pisa.io.atomic import to_jsonable
from pisa.io.safe_load import install_checkpoint_safety

#: hooks that act on training only, left out of ``pisa test`` runs
TRAINING_ONLY_HOOKS = ("EarlyStoppingHook", "ResumableEarlyStoppingHook")


@dataclass
class RunOptions:
    """Command-line choices for one ``pisa train`` / ``pisa test`` run.

    ``resume``: None (no resume), ``True`` (the last complete checkpoint in the work dir)
    or a checkpoint path. ``protocol``: one of :data:`pisa.engine.protocols.PROTOCOLS`."""

    work_dir: Optional[str] = None
    data_root: Optional[str] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    seed: Optional[int] = None
    deterministic: bool = False
    launcher: str = "none"
    resume: Union[None, bool, str] = None
    protocol: str = "val"
    #: also write the test split's per-sample predictions to <work_dir>/test_predictions.pkl
    dump_predictions: bool = False

    def __post_init__(self) -> None:
        get_protocol(self.protocol)  # an unknown name fails here, naming the known ones


def build_run_config(
    config: Union[str, os.PathLike], opts: RunOptions, for_training: bool = True
) -> Config:
    """The config mmengine's Runner is built from: the file plus ``opts`` applied."""
    install_checkpoint_safety()
    cfg = load_config(config, opts.cfg_options, opts.data_root)
    check_runnable(cfg, str(config))
    cfg.work_dir = opts.work_dir or cfg.get("work_dir") or default_work_dir(config)
    randomness = dict(cfg.get("randomness") or {})
    if opts.seed is not None:
        randomness["seed"] = opts.seed
    if opts.deterministic:
        randomness["deterministic"] = True
    randomness.setdefault("seed", 0)  # a run is reproducible unless asked otherwise
    cfg.randomness = randomness
    cfg.setdefault("default_scope", "pisa")
    if not for_training:
        # testing builds no training loop: a hook that needs one (EarlyStoppingHook reads
        # runner.train_loop) would build the training dataset for nothing
        cfg.custom_hooks = [h for h in (cfg.get("custom_hooks") or [])
                            if h.get("type") not in TRAINING_ONLY_HOOKS]
    if for_training:
        get_protocol(opts.protocol).prepare(cfg, str(config))
        if cfg.get("calibration") and not any(h.get("type") == "CalibrationHook"
                                              for h in cfg.get("custom_hooks") or []):
            raise ConfigError(f"{config}: calibration: the section is set but custom_hooks "
                              "lists no CalibrationHook to fit it; list the hook or remove "
                              "the section")
    if opts.dump_predictions and cfg.get("test_evaluator") is not None:
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type="DumpResults", out_file_path=osp.join(
            cfg.work_dir, PREDICTIONS_FILE))]
    if for_training and opts.resume:
        if opts.resume is True:
            last = find_last_complete_checkpoint(cfg.work_dir)
            if last is None:
                raise FileNotFoundError(f"--resume: no complete checkpoint in {cfg.work_dir}")
            cfg.load_from = last
        else:
            if not osp.isfile(str(opts.resume)):
                raise FileNotFoundError(f"--resume: checkpoint {opts.resume} not found")
            cfg.load_from = str(opts.resume)
        cfg.resume = True
    setup_launcher(cfg, opts.launcher)
    return cfg


def split_counts(runner) -> Dict[str, Dict[str, int]]:
    """Samples per level of each split the run uses (``train``/``val``/``test``), from
    the datasets the Runner built (inside mmengine's wrappers too)."""
    counts: Dict[str, Dict[str, int]] = {}
    for name in DATALOADERS:
        split = name.split("_")[0]
        if runner.cfg.get(name) is None:
            continue
        loader = getattr(runner, f"{split}_loop").dataloader
        total: Dict[str, int] = {}
        for dataset in datasets_with(loader.dataset, "level_counts"):
            for level, n in dataset.level_counts().items():
                total[level] = total.get(level, 0) + n
        counts[split] = total
    return counts


@contextlib.contextmanager
def plain_bad_sample_errors():
    """Re-raise a :class:`~pisa.data.core.bad_samples.BadSampleError` that came from a
    DataLoader worker with its own message (PyTorch puts the worker's traceback in it)."""
    try:
        yield
    except BadSampleError as err:
        message = worker_error_message(err)
        if message == str(err):
            raise
        raise type(err)(message) from err


def bad_sample_summary(work_dir: str) -> List[Dict[str, Any]]:
    """The bad samples of the run in ``work_dir`` (``BadSampleHook``'s report), one entry
    per sample with ``count``; empty when none failed."""
    return summarize_bad_samples(read_records(osp.join(work_dir, BAD_SAMPLE_REPORT)))


def train(config: Union[str, os.PathLike], opts: RunOptions) -> Dict[str, Any]:
    """Train under ``opts.protocol`` (:mod:`pisa.engine.protocols`); afterwards load the
    selected checkpoint (best on the validation metric of
    ``default_hooks.checkpoint.save_best``, else the last), evaluate it on val and test
    (the config's post-training hooks run there), write ``<work_dir>/results.json``
    (rank 0) and return its contents."""
    return get_protocol(opts.protocol).train(config, opts, train_once)


def _checkpoint_epoch(path: Optional[str]) -> Optional[int]:
    if path is None:
        return None
    from pisa.io.safe_load import load_checkpoint_file

    return (load_checkpoint_file(path, map_location="cpu").get("meta") or {}).get("epoch")


def train_once(config: Union[str, os.PathLike], opts: RunOptions, protocol: Optional[str] = None,
               refit: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """One training run under ``opts`` (``protocol``: the name its results give, when a
    protocol runs it as another; ``refit``: the selection run kept in the results)."""
    from mmengine.runner import Runner

    protocol = get_protocol(protocol or opts.protocol)
    cfg = build_run_config(config, opts)
    runner = Runner.from_cfg(cfg)
    hub = runner.message_hub  # runners made in the same second share one: start clean
    for key in ("decision", "baseline_metrics"):
        hub.update_info(key, None, resumed=False)
    with plain_bad_sample_errors():
        counts = split_counts(runner)
        runner.logger.info(f"protocol {protocol.name}: {protocol.description}\n"
                           + format_split_counts(counts))
        runner.train()
        checkpoint = selected_checkpoint(runner)
        if checkpoint is not None:
            runner.load_checkpoint(checkpoint)
        freeze_checkpoint_selection(runner)
        # the post-training hooks act here: calibration before the first loop, the reports
        # and the baseline comparison after each
        val_metrics = runner.val_loop.run() if cfg.get("val_dataloader") is not None else None
        test_metrics = runner.test_loop.run() if cfg.get("test_dataloader") is not None else None
    save_best = (cfg.get("default_hooks") or {}).get("checkpoint", {}).get("save_best")
    return RunResults(
        config=str(config), work_dir=cfg.work_dir, seed=cfg.randomness.get("seed"),
        deterministic=bool(cfg.randomness.get("deterministic", False)),
        protocol=protocol.name, protocol_description=protocol.description,
        checkpoint=checkpoint, epoch=_checkpoint_epoch(checkpoint),
        selected_on=get_protocol(opts.protocol).selected_on(save_best), select_metric=save_best,
        early_stop=early_stop_info(runner),
        decision=hub.get_info("decision") or current_decision(runner),
        split_counts=counts, data_wait=hub.get_info("data_wait"), world_size=runner.world_size,
        flags={
            "launcher": opts.launcher,
            "resume": opts.resume if not isinstance(opts.resume, bool) else bool(opts.resume),
            "data_root": resolve_data_root(opts.data_root),
            "cfg_options": {k: str(v) for k, v in (opts.cfg_options or {}).items()},
        },
        val_metrics=to_jsonable(val_metrics), test_metrics=to_jsonable(test_metrics),
        baseline_metrics=to_jsonable(hub.get_info("baseline_metrics")),
        bad_samples=bad_sample_summary(cfg.work_dir), refit=refit,
    ).write()


def test(config: Union[str, os.PathLike], checkpoint: str, opts: RunOptions) -> Dict[str, Any]:
    """Evaluate the checkpoint file ``checkpoint`` on the config's test split with the
    decision its training run recorded (the folder of one ``--seeds``/``--folds`` call:
    :func:`pisa.engine.experiment.test_ensemble`); writes ``<work_dir>/test_results.json``
    (rank 0) and returns it."""
    from mmengine.runner import Runner

    if osp.isdir(checkpoint):
        raise IsADirectoryError(f"checkpoint {checkpoint} is a folder: test the ensemble of "
                                "its runs with pisa.engine.experiment.test_ensemble")
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"checkpoint {checkpoint} not found")
    cfg = build_run_config(config, opts, for_training=False)
    if cfg.get("test_dataloader") is None or cfg.get("test_evaluator") is None:
        raise ConfigError(
            f"{config}: test_dataloader / test_evaluator: missing (pisa test needs them)"
        )
    cfg.load_from = checkpoint
    cfg.resume = False
    recorded = apply_recorded_decision(cfg, checkpoint, opts.cfg_options)
    runner = Runner.from_cfg(cfg)
    runner.message_hub.update_info("baseline_metrics", None, resumed=False)
    if recorded is not None:
        runner.logger.info(f"decision recorded for {checkpoint}: {recorded['rule']}, "
                           f"temperature {recorded.get('temperature', 1.0):.4f}")
    with plain_bad_sample_errors():
        metrics = runner.test()
    return TestResults(
        config=str(config), checkpoint=checkpoint, decision=current_decision(runner),
        test_metrics=to_jsonable(metrics),
        baseline_metrics=to_jsonable(runner.message_hub.get_info("baseline_metrics")),
    ).write(cfg.work_dir)
