"""Metrics of dumped predictions: a config's test metrics computed again, without a run,
over the per-sample predictions that runs wrote (``test_predictions.pkl``, mmengine's
``DumpResults``).

- :func:`evaluate_predictions`: the config's ``test_evaluator`` (DumpResults left out)
  over a list of predict outputs;
- :func:`pooled_metrics`: over the predictions of several runs taken together (for k
  folds, the pooled out-of-fold metrics);
- :func:`ensemble_metrics`: over the ensemble of several runs on the same samples (each
  sample's probabilities and regression averaged, the level decided again).

Each takes a loaded config (:func:`pisa.engine.config_loader.load_config`), so the
metrics and the dataset's ``metainfo`` are those of the runs.
"""
from __future__ import annotations

import copy
import os.path as osp
from typing import Any, Dict, List, Sequence

from pisa.evaluation.assessment import average_members
from pisa.io.atomic import to_jsonable
from pisa.io.safe_load import load_pickle

#: the test split's per-sample predictions a run dumps into its work dir
PREDICTIONS_FILE = "test_predictions.pkl"


def dumped_predictions(work_dir: str) -> List[Dict[str, Any]]:
    """The predictions the run in ``work_dir`` dumped (:data:`PREDICTIONS_FILE`)."""
    path = osp.join(work_dir, PREDICTIONS_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f"{path}: no dumped test predictions (the run was not "
                                "asked to dump them, or it has no test split)")
    return load_pickle(path)


def metainfo_of_test_dataset(cfg: Any) -> Dict[str, Any]:
    """The ``metainfo`` of the config's test dataset (built lazily: no media read)."""
    from pisa.registry import DATASETS

    ds_cfg = (cfg.get("test_dataloader") or {}).get("dataset")
    if ds_cfg is None:
        return {}
    dataset = DATASETS.build(dict(copy.deepcopy(ds_cfg), lazy_init=True))
    return dict(getattr(dataset, "metainfo", {}) or {})


def evaluate_predictions(cfg: Any, predictions: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The config's test metrics (its ``test_evaluator``, DumpResults left out) of
    ``predictions`` (the model's predict outputs)."""
    from pisa.registry import METRICS

    evaluators = cfg.get("test_evaluator")
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
    meta = metainfo_of_test_dataset(cfg)
    computed: Dict[str, Any] = {}
    for evaluator in evaluators:
        if evaluator is None or evaluator.get("type") == "DumpResults":
            continue
        metric = METRICS.build(copy.deepcopy(dict(evaluator)))
        metric.dataset_meta = meta  # as the Runner gives it: num_classes, score_range, ...
        metric.process({}, list(predictions))
        computed.update(metric.compute_metrics(metric.results))
    return to_jsonable(computed)


def pooled_metrics(cfg: Any, work_dirs: Sequence[str]) -> Dict[str, Any]:
    """The config's test metrics over the predictions that the runs in ``work_dirs``
    dumped, taken together: for k folds, the pooled out-of-fold metrics."""
    predictions: List[Dict[str, Any]] = []
    for work_dir in work_dirs:
        predictions.extend(dumped_predictions(work_dir))
    return evaluate_predictions(cfg, predictions)


def ensemble_metrics(cfg: Any, work_dirs: Sequence[str]) -> Dict[str, Any]:
    """The config's test metrics of the ensemble of the runs in ``work_dirs``: each test
    sample's probabilities and regression averaged over the runs' dumped predictions
    (the same samples: one ``--seeds`` call, or ``pisa test`` of each member), the level
    decided again by the runs' rule."""
    members = [sorted(dumped_predictions(w), key=lambda o: str(o.get("sample_id")))
               for w in work_dirs]
    return evaluate_predictions(cfg, average_members(members))
