"""Train and test with mmengine's Runner, adding only what this framework needs.

What is added around ``Runner.from_cfg``: the config read by the one config path
(:mod:`pisa.engine.config_loader`: data root, ``--cfg-options``, validation), the work dir
(default ``work_dirs/<config stem>``), seed and deterministic mode, resume from the last
complete checkpoint, the distributed launch on CPU (gloo, initialised before the
Runner), evaluating the checkpoint selected on the validation split (or the test split
behind ``select_on_test``) on val and test, errors from DataLoader workers as one clear
message, and ``results.json`` / ``summary.json``. Every hook a run uses is listed in its
config (``configs/_base_/default_runtime.py``); nothing is added here.
"""

from __future__ import annotations

import contextlib
import copy
import os
import os.path as osp
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.config import Config
from mmengine.dist import is_main_process

from pisa.data.bad_samples import (
    BAD_SAMPLE_REPORT,
    BadSampleError,
    read_records,
    summarize_bad_samples,
    worker_error_message,
)
from pisa.engine.hooks.baseline_hook import score_baselines
from pisa.engine.hooks.calibration_hook import (apply_recorded_decision, calibrate, calibration_settings,
                                   current_decision)
from pisa.engine.checkpoint import (find_last_complete_checkpoint, freeze_checkpoint_selection,
                                    selected_checkpoint)
from pisa.engine.config_loader import (DATALOADERS, dataset_configs, default_work_dir, load_config,
                                resolve_data_root)
from pisa.engine.validate import ConfigError, check_runnable
from pisa.evaluation.reports import format_split_counts, summarize_seeds
from pisa.io.atomic import to_jsonable, write_json
from pisa.io.safe_load import install_checkpoint_safety


#: the evaluation protocols a training run follows (``--protocol``), one per run, named in
#: its ``results.json`` and beside every table
PROTOCOLS = {
    "val": "the checkpoint chosen on a validation split carved from the training "
           "performances; the test split is only tested",
    "refit": "the epoch count chosen on that validation split, then a retrain on all the "
             "training data for that many epochs, tested once",
    "fixed": "trained on all the training data for the config's epochs, the last epoch "
             "tested (what the PISA paper's text describes)",
    "test-selected": "the checkpoint chosen on the TEST split (the field's habit; optimistic)",
}


#: hooks that act on training only, left out of ``pisa test`` runs
TRAINING_ONLY_HOOKS = ("EarlyStoppingHook", "ResumableEarlyStoppingHook")

#: the test split's per-sample predictions (``RunOptions.dump_predictions``)
PREDICTIONS_FILE = "test_predictions.pkl"


@dataclass
class RunOptions:
    """Command-line choices for one ``pisa train`` / ``pisa test`` run.

    ``resume``: None (no resume), ``True`` (the last complete checkpoint in the work dir)
    or a checkpoint path. ``protocol``: one of :data:`PROTOCOLS`; ``select_on_test`` is
    the older spelling of ``protocol='test-selected'``."""

    work_dir: Optional[str] = None
    data_root: Optional[str] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    seed: Optional[int] = None
    deterministic: bool = False
    launcher: str = "none"
    resume: Union[None, bool, str] = None
    select_on_test: bool = False
    protocol: str = "val"
    #: also write the test split's per-sample predictions to <work_dir>/test_predictions.pkl
    dump_predictions: bool = False

    def __post_init__(self) -> None:
        if self.select_on_test:
            self.protocol = "test-selected"
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"--protocol: {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        self.select_on_test = self.protocol == "test-selected"


def _setup_launcher(cfg: Config, launcher: str) -> None:
    import torch

    if launcher == "none":
        cfg.launcher = "none"
        return
    if launcher != "pytorch":
        raise ConfigError(f"--launcher: {launcher!r} is not supported (none, pytorch)")
    cfg.launcher = "pytorch"
    env_cfg = cfg.setdefault("env_cfg", {})
    dist_cfg = env_cfg.setdefault("dist_cfg", {})
    if torch.cuda.is_available():
        dist_cfg["backend"] = "nccl"
        return
    # mmengine's own init calls torch.cuda.set_device; on CPU the gloo group is made here,
    # before the Runner, which then sees an initialised group and skips its init
    import torch.distributed as dist

    dist_cfg["backend"] = "gloo"
    if not dist.is_initialized():
        missing = [
            k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
        ]
        if missing:
            raise ConfigError(
                f"--launcher pytorch: environment variables {', '.join(missing)} are not set; "
                "start with torchrun --nproc-per-node N -m pisa.cli train ..."
            )
        dist.init_process_group(backend="gloo")
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    wrapper.setdefault("type", "MMDistributedDataParallel")
    wrapper["device_ids"] = None
    wrapper.setdefault("find_unused_parameters", bool(cfg.get("find_unused_parameters", False)))
    cfg.model_wrapper_cfg = wrapper


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
    if for_training and opts.protocol == "fixed":
        _train_on_all_training_data(cfg, str(config))
    if opts.dump_predictions and cfg.get("test_evaluator") is not None:
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type="DumpResults", out_file_path=osp.join(
            cfg.work_dir, PREDICTIONS_FILE))]
    if for_training and opts.select_on_test:
        if cfg.get("test_dataloader") is None or cfg.get("test_evaluator") is None:
            raise ConfigError(
                f"{config}: --select-on-test needs test_dataloader and test_evaluator"
            )
        cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
        cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
        cfg.setdefault("val_cfg", dict())
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
    _setup_launcher(cfg, opts.launcher)
    return cfg


def _train_on_all_training_data(cfg: Config, source: str) -> None:
    """The ``fixed`` protocol: no validation carve in the training datasets, no
    validation loop, no checkpoint selection (the last epoch is tested)."""

    def uncarve(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("val_performances"):
                node["val_performances"] = None
            for value in node.values():
                uncarve(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                uncarve(value)

    if cfg.get("train_dataloader") is None:
        raise ConfigError(f"{source}: --protocol fixed needs a train_dataloader")
    uncarve(cfg.train_dataloader.get("dataset"))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    checkpoint = (cfg.get("default_hooks") or {}).get("checkpoint")
    if checkpoint is not None:
        checkpoint["save_best"] = None


def split_counts(runner) -> Dict[str, Dict[str, int]]:
    """Samples per level of each split the run uses (``train``/``val``/``test``), from
    the datasets the Runner built (inside mmengine's wrappers too)."""
    from pisa.engine.hooks.run_hooks import datasets_with

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


def close_distributed() -> None:
    """Tear down the process group a ``--launcher pytorch`` run set up (no-op otherwise)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def plain_bad_sample_errors():
    """Re-raise a :class:`~pisa.data.bad_samples.BadSampleError` that came from a
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
    """Train one run under ``opts.protocol`` (:data:`PROTOCOLS`); afterwards load the
    selected checkpoint (best on the validation metric of
    ``default_hooks.checkpoint.save_best``, else the last), evaluate it on val and test,
    write ``<work_dir>/results.json`` (rank 0) and return its contents. ``refit`` first
    runs the ``val`` protocol in ``<work_dir>/select`` to choose the epoch count."""
    if opts.protocol != "refit":
        return _train_once(config, opts)
    work_dir = opts.work_dir or default_work_dir(config)
    select = _train_once(config, replace(opts, protocol="val", work_dir=osp.join(work_dir, "select")))
    if select.get("epoch") is None:
        raise ConfigError(f"{config}: --protocol refit: the selection run saved no checkpoint")
    options = dict(opts.cfg_options or {}, **{"train_cfg.max_epochs": int(select["epoch"])})
    results = _train_once(config, replace(opts, protocol="fixed", work_dir=work_dir,
                                          cfg_options=options), protocol="refit")
    results["refit"] = {"selected_epoch": select["epoch"], "select_work_dir": select["work_dir"],
                        "select_val_metrics": select["val_metrics"]}
    if is_main_process():
        write_json(osp.join(work_dir, "results.json"), results)
    return results


def _checkpoint_epoch(path: Optional[str]) -> Optional[int]:
    if path is None:
        return None
    from pisa.io.safe_load import load_checkpoint_file

    return (load_checkpoint_file(path, map_location="cpu").get("meta") or {}).get("epoch")


def _train_once(config: Union[str, os.PathLike], opts: RunOptions,
                protocol: Optional[str] = None) -> Dict[str, Any]:
    from mmengine.runner import Runner

    from pisa.engine.hooks.run_hooks import early_stop_info

    protocol = protocol or opts.protocol
    cfg = build_run_config(config, opts)
    calibration = calibration_settings(cfg, str(config))  # a typo fails before training
    runner = Runner.from_cfg(cfg)
    with plain_bad_sample_errors():
        counts = split_counts(runner)
        runner.logger.info(f"protocol {protocol}: {PROTOCOLS[protocol]}\n"
                           + format_split_counts(counts))
        runner.train()
        checkpoint = selected_checkpoint(runner)
        if checkpoint is not None:
            runner.load_checkpoint(checkpoint)
        freeze_checkpoint_selection(runner)
        decision = calibrate(runner, calibration)
        if decision is None:
            decision = current_decision(runner)
        val_metrics = runner.val_loop.run() if cfg.get("val_dataloader") is not None else None
        test_metrics = runner.test_loop.run() if cfg.get("test_dataloader") is not None else None
        baseline_metrics = (score_baselines(runner, cfg, test_metrics, runner.train_dataloader)
                            if is_main_process() else None)
    save_best = (cfg.get("default_hooks") or {}).get("checkpoint", {}).get("save_best")
    results = {
        "config": str(config),
        "work_dir": cfg.work_dir,
        "seed": cfg.randomness.get("seed"),
        "deterministic": bool(cfg.randomness.get("deterministic", False)),
        "protocol": protocol,
        "protocol_description": PROTOCOLS[protocol],
        "checkpoint": checkpoint,
        "epoch": _checkpoint_epoch(checkpoint),
        "selected_on": ("test" if opts.select_on_test else "val") if save_best else "last",
        "select_metric": save_best,
        "select_on_test": bool(opts.select_on_test),
        "early_stop": early_stop_info(runner),
        "decision": decision,
        "split_counts": counts,
        "data_wait": runner.message_hub.get_info("data_wait"),
        "world_size": runner.world_size,
        "flags": {
            "launcher": opts.launcher,
            "resume": opts.resume if not isinstance(opts.resume, bool) else bool(opts.resume),
            "data_root": resolve_data_root(opts.data_root),
            "cfg_options": {k: str(v) for k, v in (opts.cfg_options or {}).items()},
        },
        "val_metrics": to_jsonable(val_metrics),
        "test_metrics": to_jsonable(test_metrics),
        "baseline_metrics": to_jsonable(baseline_metrics),
        "bad_samples": bad_sample_summary(cfg.work_dir),
    }
    if is_main_process():
        write_json(osp.join(cfg.work_dir, "results.json"), results)
    return results


def test_ensemble(config: Union[str, os.PathLike], run_dir: str, opts: RunOptions) -> Dict[str, Any]:
    """Evaluate the ensemble of the runs of one ``--seeds`` or ``--folds`` call (the
    folder ``run_dir``) on the config's test split: each member is tested in
    ``<work_dir>/member<i>`` with its predictions dumped, then :func:`ensemble_metrics`.
    Writes ``<work_dir>/test_results.json`` and returns it."""
    from pisa.engine.checkpoint import run_member_checkpoints

    members = run_member_checkpoints(run_dir)
    base = opts.work_dir or default_work_dir(config)
    work_dirs, runs = [], []
    for i, checkpoint in enumerate(members):
        work_dir = osp.join(base, f"member{i}")
        runs.append(test(config, checkpoint, replace(opts, work_dir=work_dir,
                                                     dump_predictions=True)))
        work_dirs.append(work_dir)
    results = {"config": str(config), "checkpoint": run_dir, "members": members,
               "member_test_metrics": [r["test_metrics"] for r in runs],
               "decision": runs[0].get("decision"),
               "test_metrics": ensemble_metrics(config, opts, work_dirs)}
    if is_main_process():
        write_json(osp.join(base, "test_results.json"), results)
    return results


def test(config: Union[str, os.PathLike], checkpoint: str, opts: RunOptions) -> Dict[str, Any]:
    """Evaluate ``checkpoint`` on the config's test split (a folder of one ``--seeds`` /
    ``--folds`` call: the ensemble of its runs, :func:`test_ensemble`); writes
    ``<work_dir>/test_results.json`` (rank 0) and returns ``{'checkpoint', 'test_metrics'}``."""
    from mmengine.runner import Runner

    if osp.isdir(checkpoint):
        return test_ensemble(config, checkpoint, opts)
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
    if recorded is not None:
        runner.logger.info(f"decision recorded for {checkpoint}: {recorded['rule']}, "
                           f"temperature {recorded.get('temperature', 1.0):.4f}")
    with plain_bad_sample_errors():
        metrics = runner.test()
        baseline_metrics = score_baselines(runner, cfg, metrics) if is_main_process() else None
    results = {
        "config": str(config),
        "checkpoint": checkpoint,
        "decision": current_decision(runner),
        "test_metrics": to_jsonable(metrics),
        "baseline_metrics": to_jsonable(baseline_metrics),
    }
    if is_main_process():
        write_json(osp.join(cfg.work_dir, "test_results.json"), results)
    return results


def train_seeds(
    config: Union[str, os.PathLike], opts: RunOptions, seeds: Sequence[int]
) -> Dict[str, Any]:
    """Train once per seed in ``<work_dir>/seed<N>``; write ``<work_dir>/summary.json``
    (mean and std of the test metrics, or val metrics when there is no test split) and
    return it with the per-run results under ``'runs'``."""
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    base = opts.work_dir or default_work_dir(config)
    runs = []
    for seed in seeds:
        run_opts = RunOptions(
            **{**asdict(opts), "seed": int(seed), "work_dir": osp.join(base, f"seed{seed}"),
               "dump_predictions": True}
        )
        runs.append(train(config, run_opts))
    split = "test" if any(r.get("test_metrics") for r in runs) else "val"
    summary = summarize_seeds(runs, split)
    work_dirs = [r["work_dir"] for r in runs]
    summary.update(
        config=str(config),
        protocol=opts.protocol,
        select_on_test=bool(opts.select_on_test),
        work_dirs=work_dirs,
        ensemble_test_metrics=(ensemble_metrics(config, opts, work_dirs)
                               if split == "test" else None),
    )
    if is_main_process():
        write_json(osp.join(base, "summary.json"), summary)
    return {**summary, "runs": runs}


def pooled_metrics(config: Union[str, os.PathLike], opts: RunOptions,
                   work_dirs: Sequence[str]) -> Dict[str, Any]:
    """The config's test metrics (its ``test_evaluator``) over the predictions that the
    runs in ``work_dirs`` wrote (:data:`PREDICTIONS_FILE`) taken together: for k folds,
    the pooled out-of-fold metrics."""
    predictions: List[Dict[str, Any]] = []
    for work_dir in work_dirs:
        predictions.extend(_dumped_predictions(work_dir))
    return evaluate_predictions(config, opts, predictions)


def _dumped_predictions(work_dir: str) -> List[Dict[str, Any]]:
    from pisa.io.safe_load import load_pickle

    return load_pickle(osp.join(work_dir, PREDICTIONS_FILE))


def ensemble_metrics(config: Union[str, os.PathLike], opts: RunOptions,
                     work_dirs: Sequence[str]) -> Dict[str, Any]:
    """The config's test metrics of the ensemble of the runs in ``work_dirs``: each test
    sample's probabilities and regression averaged over the runs' dumped predictions
    (the same samples: one ``--seeds`` call, or ``pisa test`` of each member), the level
    decided again by the runs' rule."""
    from pisa.evaluation.assessment import average_members

    members = [sorted(_dumped_predictions(w), key=lambda o: str(o.get("sample_id")))
               for w in work_dirs]
    return evaluate_predictions(config, opts, average_members(members))


def evaluate_predictions(config: Union[str, os.PathLike], opts: RunOptions,
                         predictions: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The config's test metrics (its ``test_evaluator``, DumpResults left out) of
    ``predictions`` (the model's predict outputs)."""
    from pisa.registry import METRICS

    cfg = load_config(config, opts.cfg_options, opts.data_root)
    evaluators = cfg.get("test_evaluator")
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
    meta = _test_dataset_meta(cfg)
    pooled: Dict[str, Any] = {}
    for evaluator in evaluators:
        if evaluator is None or evaluator.get("type") == "DumpResults":
            continue
        metric = METRICS.build(copy.deepcopy(dict(evaluator)))
        metric.dataset_meta = meta  # as the Runner gives it: num_classes, score_range, ...
        metric.process({}, list(predictions))
        pooled.update(metric.compute_metrics(metric.results))
    return to_jsonable(pooled)


def _test_dataset_meta(cfg: Config) -> Dict[str, Any]:
    """The ``metainfo`` of the config's test dataset (built lazily: no media read)."""
    from pisa.registry import DATASETS

    ds_cfg = (cfg.get("test_dataloader") or {}).get("dataset")
    if ds_cfg is None:
        return {}
    dataset = DATASETS.build(dict(copy.deepcopy(ds_cfg), lazy_init=True))
    return dict(getattr(dataset, "metainfo", {}) or {})


def train_folds(config: Union[str, os.PathLike], opts: RunOptions, folds: int) -> Dict[str, Any]:
    """``folds``-fold cross-validation: one run per fold in ``<work_dir>/fold<i>`` with
    every dataloader's dataset given ``folds`` and ``fold`` (:mod:`pisa.data.splits`:
    grouped by performer, stratified by level, over the training performances); writes
    ``<work_dir>/summary.json`` with the mean and std over folds of the test metrics and
    the pooled out-of-fold metrics, and returns it with the runs under ``'runs'``."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"--folds: give an integer >= 2, got {folds!r}")
    base = opts.work_dir or default_work_dir(config)
    loaders = [name for name in dataset_configs(load_config(config, opts.cfg_options, opts.data_root))
               if name in DATALOADERS]
    runs = []
    for fold in range(folds):
        options = dict(opts.cfg_options or {})
        for name in loaders:
            options[f"{name}.dataset.folds"] = folds
            options[f"{name}.dataset.fold"] = fold
        runs.append(train(config, replace(opts, work_dir=osp.join(base, f"fold{fold}"),
                                          cfg_options=options, dump_predictions=True)))
    summary = summarize_seeds(runs, "test")
    summary.update(
        config=str(config), folds=folds, protocol=opts.protocol,
        work_dirs=[r["work_dir"] for r in runs],
        pooled_test_metrics=pooled_metrics(config, opts, [r["work_dir"] for r in runs]),
    )
    if is_main_process():
        write_json(osp.join(base, "summary.json"), summary)
    return {**summary, "runs": runs}

