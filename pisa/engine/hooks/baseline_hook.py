"""The baselines every run reports beside the deep model (issue: does the network earn
its cost?).

A config lists them at the top level (``configs/_base_/default_runtime.py``: the majority
level and the classical-feature model, and where a transcription plugin is installed the
note-descriptor model; ``baselines = []`` turns them off)::

    baselines = [dict(type='MajorityBaseline'),
                 dict(type='ClassicalFeatureBaseline', missing_modality='skip'),
                 dict(type='TranscriptionBaseline', optional=True)]

``optional=True``: scored when its type is registered, else left out with a log line
(the type comes from a plugin that may not be installed).

:class:`BaselineComparisonHook` (listed in the runtime) scores them after every test pass
(:func:`score_baselines`) and puts the scores in the runner's message hub
(``baseline_metrics``), where ``results.json`` and ``test_results.json`` read them. It fits each on the performances of the
run's training split (the same carve the model trained on), predicts the test split's
performances and scores them with the config's own ``test_evaluator``
(:func:`pisa.evaluation.baselines.comparison.evaluate_baselines`). One prediction per performance,
so a baseline's ``performance_*`` metrics equal its sample-level ones. The table is
logged, written to ``<work_dir>/comparison_test.md`` and kept in ``results.json``
under ``baseline_metrics``. A baseline that fails (media it cannot read) is reported
with its error; it never fails a finished run.
"""
from __future__ import annotations

import copy
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from pisa.engine.hooks.run_hooks import datasets_with
from pisa.evaluation.baselines.comparison import evaluate_baselines, format_comparison_table
from pisa.io.atomic import atomic_write, to_jsonable
from pisa.registry import component

#: the file the comparison table is written to, in the run's work dir
COMPARISON_FILE = "comparison_test.md"

#: rows of the comparison table, when the model reports them
COMPARED_KEYS = ("accuracy", "performance_accuracy", "mae", "performance_mae", "within1",
                 "performance_within1", "balanced_accuracy", "ece", "performance_ece",
                 "spearman", "performance_spearman", "rl2")


def _records(loader_or_cfg: Any) -> List[Dict[str, Any]]:
    """The performance records of a built DataLoader's dataset or of a dataloader config."""
    from torch.utils.data import DataLoader

    from pisa.registry import DATASETS

    if isinstance(loader_or_cfg, DataLoader):
        dataset = loader_or_cfg.dataset
    else:
        dataset = DATASETS.build(copy.deepcopy(dict(loader_or_cfg["dataset"])))
    found = datasets_with(dataset, "level_counts")
    return [dict(p) for d in found for p in getattr(d, "performances", [])]


def _num_classes(loader_or_cfg: Any) -> Optional[int]:
    from torch.utils.data import DataLoader

    if isinstance(loader_or_cfg, DataLoader):
        found = datasets_with(loader_or_cfg.dataset, "level_counts")
        meta = found[0].metainfo if found else {}
        classes = int(meta.get("num_classes") or 0)
        return classes if classes >= 2 else None
    return None


def _registered(kind: Any) -> bool:
    from pisa.registry import BASELINES

    if not isinstance(kind, str):
        return kind is not None
    try:
        return BASELINES.get(kind) is not None
    except KeyError:
        return False


def score_baselines(runner: Any, cfg: Any, model_metrics: Optional[Dict[str, Any]],
                    train_loader: Any = None) -> Optional[Dict[str, Any]]:
    """Fit and score the config's ``baselines`` on the run's train/test performances;
    returns ``{name: metrics or {'error': text}}`` (None when the config lists none, or
    the run has no test split). ``train_loader``: the run's training DataLoader, or None
    to build the training dataset from the config (``pisa test``)."""
    baseline_cfgs = cfg.get("baselines")
    if not baseline_cfgs or model_metrics is None or cfg.get("test_dataloader") is None:
        return None
    if train_loader is None:
        if cfg.get("train_dataloader") is None:
            runner.logger.warning("baselines: the config has no train_dataloader to fit them on")
            return None
        train_loader = cfg.train_dataloader
    test_loader = runner.test_dataloader
    train_records, test_records = _records(train_loader), _records(test_loader)
    if not train_records or not test_records:
        runner.logger.info("baselines: the datasets hold no performance records; none scored")
        return None
    evaluators = cfg.get("test_evaluator")
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
    metric_cfgs = [dict(e) for e in evaluators if e is not None]
    results: Dict[str, Any] = {}
    for baseline in baseline_cfgs:
        baseline = dict(baseline)
        name = str(baseline.get("name") or baseline.get("type"))
        if baseline.pop("optional", False) and not _registered(baseline.get("type")):
            runner.logger.info(f"baselines: {name} is not registered (a plugin that is not "
                               "installed); not scored")
            continue
        try:
            results.update(evaluate_baselines([baseline], train_records, test_records,
                                              metric_cfgs, _num_classes(test_loader)))
        except Exception as err:  # noqa: BLE001 - a baseline never fails a finished run
            # (a plugin's baseline or metric may raise anything; the run's own results stand)
            runner.logger.warning(f"baselines: {name} could not be scored: {err}")
            results[name] = {"error": str(err)}
    scored = {k: v for k, v in results.items() if "error" not in v}
    if scored:
        keys = [k for k in COMPARED_KEYS if isinstance(model_metrics.get(k), (int, float))]
        table = format_comparison_table(model_metrics, scored, keys=keys or None)
        runner.logger.info("test metrics beside the baselines (fitted on the same training "
                           f"performances, {len(test_records)} test performances):\n{table}")
        atomic_write(osp.join(runner.work_dir, COMPARISON_FILE), table)
    return results


@component("hook")
class BaselineComparisonHook(Hook):
    """After each test epoch, score the config's ``baselines`` beside the test metrics
    (rank 0): the comparison table in ``<work_dir>/comparison_test.md`` and the scores in
    the runner's message hub under ``baseline_metrics``. A run that trained fits them on
    its training loader; ``pisa test`` builds the training dataset from the config."""

    priority = "LOW"

    def before_run(self, runner: Any) -> None:
        runner.message_hub.update_info("baseline_metrics", None, resumed=False)

    def after_test_epoch(self, runner: Any, metrics: Optional[Dict[str, Any]] = None) -> None:
        from mmengine.runner import BaseLoop

        if not is_main_process():
            return
        trained = isinstance(getattr(runner, "_train_loop", None), BaseLoop)
        scores = score_baselines(runner, runner.cfg, metrics,
                                 runner.train_dataloader if trained else None)
        runner.message_hub.update_info("baseline_metrics", to_jsonable(scores), resumed=False)
