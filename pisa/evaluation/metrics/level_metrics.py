"""Level (class) metrics over the model's predict outputs: sample and performance
accuracy, errors in levels, balanced accuracy, calibration, and the confusion matrix
(:mod:`pisa.evaluation.metrics`)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric

from pisa.evaluation.calibration import (RELIABILITY_KEY, expected_calibration_error,
                                         reliability_bins)
from pisa.evaluation.metrics.sample_values import as_float, as_probs
from pisa.registry import component

#: the rule of predictions that name none (a baseline's, an older model's): the argmax
DEFAULT_DECISION = "ArgmaxLevel"

#: the key under which LevelMetrics returns its confusion matrix (a nested list, not a
#: scalar: mmengine keeps it as runtime info and the report hook draws it)
CONFUSION_MATRIX_KEY = "confusion_matrix"


def confusion_matrix(gt: Sequence[int], pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts ``(num_classes, num_classes)``: row = true class, column = predicted class."""
    gt_arr = np.asarray(gt, dtype=np.int64)
    pred_arr = np.asarray(pred, dtype=np.int64)
    for name, arr in (("gt_label", gt_arr), ("pred_label", pred_arr)):
        bad = arr[(arr < 0) | (arr >= num_classes)]
        if bad.size:
            raise ValueError(f"{name} {int(bad[0])} is outside 0..{num_classes - 1}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (gt_arr, pred_arr), 1)
    return cm


def balanced_accuracy(cm: np.ndarray) -> float:
    """Mean per-class recall over the classes that occur in the ground truth (classes
    absent from the ground truth are left out, as scikit-learn does)."""
    support = cm.sum(axis=1)
    present = support > 0
    if not present.any():
        raise ValueError("balanced accuracy needs at least one labelled sample")
    recall = np.diag(cm)[present] / support[present]
    return float(recall.mean())


def pool_by_group(
    groups: Sequence[str], probs: np.ndarray, gt: Sequence[int]
) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """Average the class probabilities ``(N, C)`` of each group's samples.

    Returns ``(group names, pooled probs (G, C), gt label (G,))``; every sample of a
    group must carry the same ``gt_label``.
    """
    names: List[str] = []
    index: Dict[str, int] = {}
    for g in groups:
        if g not in index:
            index[g] = len(names)
            names.append(g)
    sums = np.zeros((len(names), probs.shape[1]), dtype=np.float64)
    counts = np.zeros(len(names), dtype=np.int64)
    labels = np.full(len(names), -1, dtype=np.int64)
    for g, p, y in zip(groups, probs, gt):
        i = index[g]
        if labels[i] not in (-1, y):
            raise ValueError(
                f"group {g!r} has samples with different gt_label ({labels[i]} and {y}); "
                "a performance must have one level"
            )
        labels[i] = y
        sums[i] += p
        counts[i] += 1
    return names, sums / counts[:, None], labels


def decide_pooled(results: Sequence[Dict[str, Any]], pooled: np.ndarray) -> np.ndarray:
    """The level of each pooled performance ``(G, C)`` (groups in first-seen order, as
    :func:`pool_by_group` returns them), by the decision rule the samples name
    (``decision``; the model's predict outputs carry it) on the pooled probabilities and
    the mean regression output of the group's samples."""
    from pisa.registry import DECISION_RULES

    rules = {repr(sorted(r["decision"].items())) for r in results}
    if len(rules) > 1:
        raise ValueError(f"predictions name different decision rules: {sorted(rules)}; "
                         "evaluate one model's outputs at a time")
    order: Dict[str, List[float]] = {}
    for r in results:
        order.setdefault(r["group"], []).append(r["reg"])
    reg = np.array([np.mean(v) for v in order.values()], dtype=np.float64)
    rule = DECISION_RULES.build(dict(results[0]["decision"]))
    return np.asarray(rule(pooled, reg), dtype=np.int64)



@component("metric")
class LevelMetrics(BaseMetric):
    """Level (class) metrics.

    Returns ``accuracy`` (sample level, the PISA paper's metric), ``performance_accuracy``
    (each ``group``'s probabilities and regression outputs averaged, then the samples'
    decision rule, :func:`decide_pooled`; the argmax by default), ``mae`` (mean absolute
    error in levels), ``within1`` (prediction within one level), ``performance_mae`` and
    ``performance_within1`` (the same on the pooled predictions), ``balanced_accuracy`` (mean
    recall over the levels present in the ground truth), ``ece`` and ``performance_ece``
    (expected calibration error of the probability given to the answered level,
    :mod:`pisa.evaluation.calibration`), all in 0..1, and for the reports
    ``confusion_matrix`` (``num_classes`` x ``num_classes`` nested list, rows = true
    level) and ``reliability`` (the sample-level calibration bins). Samples with
    ``gt_label`` -1 are left out.

    Args:
        num_classes: number of levels ``C``; None takes the dataset's
            ``metainfo['num_classes']``, else the length of the first sample's ``probs``.
    """

    example = dict(
        args=dict(num_classes=3), dataset_meta=dict(num_classes=3),
        predictions=lambda: _example_predictions(perfect=False),
        keys=("accuracy", "performance_accuracy", "mae", "performance_mae", "within1",
              "performance_within1", "balanced_accuracy", "ece", "performance_ece"),
        perfect=dict(predictions=lambda: _example_predictions(perfect=True),
                     values=dict(accuracy=1.0, performance_accuracy=1.0, mae=0.0, performance_mae=0.0,
                                 within1=1.0, balanced_accuracy=1.0, ece=0.0)))

    # keys stay unprefixed ('accuracy', ...); pass prefix= to namespace them
    default_prefix: Optional[str] = ""

    def __init__(self, num_classes: Optional[int] = None, collect_device: str = "cpu",
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if num_classes is not None and num_classes < 2:
            raise ValueError(f"LevelMetrics: num_classes must be >= 2, got {num_classes}")
        self.num_classes = num_classes

    def _classes(self, probs: np.ndarray) -> int:
        if self.num_classes is None:
            meta = self.dataset_meta or {}
            self.num_classes = int(meta.get("num_classes") or probs.shape[0])
        return self.num_classes

    def process(self, data_batch: Any, data_samples: Sequence[Dict[str, Any]]) -> None:
        """Keep each labelled sample's ``(gt, pred, probs, group)`` as plain numbers."""
        for sample in data_samples:
            gt = int(as_float(sample["gt_label"]))
            if gt < 0:
                continue
            probs = as_probs(sample["probs"])
            if probs.shape[0] != self._classes(probs):
                raise ValueError(
                    f"LevelMetrics: sample {sample.get('sample_id')!r} has {probs.shape[0]} "
                    f"class probabilities, expected num_classes={self.num_classes}"
                )
            self.results.append({
                "gt": gt,
                "pred": int(as_float(sample["pred_label"])),
                "probs": probs,
                "reg": as_float(sample.get("pred_score", float("nan"))),
                "decision": dict(sample.get("decision") or {"type": DEFAULT_DECISION}),
                "group": str(sample.get("group", sample.get("sample_id", ""))),
            })

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, Any]:
        """Metrics over all gathered samples (see the class docstring)."""
        if not results:
            raise ValueError("LevelMetrics: no labelled predictions to evaluate")
        gt = np.array([r["gt"] for r in results], dtype=np.int64)
        pred = np.array([r["pred"] for r in results], dtype=np.int64)
        probs = np.stack([r["probs"] for r in results])
        cm = confusion_matrix(gt, pred, self._classes(probs[0]))
        groups = [r["group"] for r in results]
        _, pooled, group_gt = pool_by_group(groups, probs, gt)
        group_pred = decide_pooled(results, pooled)
        diff = np.abs(gt - pred)
        group_diff = np.abs(group_gt - group_pred)
        confidence = probs[np.arange(len(pred)), pred]
        group_confidence = pooled[np.arange(len(group_pred)), group_pred]
        return {
            "accuracy": float(np.mean(gt == pred)),
            "performance_accuracy": float(np.mean(group_diff == 0)),
            "mae": float(diff.mean()),
            "performance_mae": float(group_diff.mean()),
            "within1": float(np.mean(diff <= 1)),
            "performance_within1": float(np.mean(group_diff <= 1)),
            "balanced_accuracy": balanced_accuracy(cm),
            "ece": expected_calibration_error(confidence, gt == pred),
            "performance_ece": expected_calibration_error(group_confidence, group_gt == group_pred),
            CONFUSION_MATRIX_KEY: cm.tolist(),
            RELIABILITY_KEY: reliability_bins(confidence, gt == pred),
        }


def _example_predictions(perfect: bool) -> List[Dict[str, Any]]:
    """Predict outputs of 3 levels, 2 samples per performance: the truth, certain, when
    ``perfect``; else confident guesses, some wrong (the ``example``)."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        gt = (i // 2) % 3
        probs = np.eye(3)[gt] if perfect else rng.dirichlet(np.ones(3))
        out.append({"pred_label": int(np.argmax(probs)), "probs": probs.tolist(),
                    "pred_score": float(gt if perfect else probs @ np.arange(3)), "gt_label": gt,
                    "gt_score": float(gt), "sample_id": f"s{i}", "group": f"p{i // 2}",
                    "decision": {"type": "ArgmaxLevel"}})
    return out
