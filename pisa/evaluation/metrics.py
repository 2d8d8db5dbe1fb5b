"""AQA metrics over the model's predict outputs.

Each predict output is one dict per sample (DEVELOPERS.md): ``pred_label`` (0..C-1),
``probs`` ``(C,)``, ``pred_score`` (float), ``gt_label`` (0..C-1, -1 if none),
``gt_score`` (float), ``sample_id``, ``group`` (the performance). Levels are 0-based
inside and shown as 1..C in reports.

Config use::

    val_evaluator = [dict(type='LevelMetrics'), dict(type='ScoreMetrics')]

Results are kept in ``self.results`` as plain numbers, so mmengine gathers them across
ranks before :meth:`compute_metrics` runs on the main process.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy import stats

from pisa.registry import component

#: the key under which LevelMetrics returns its confusion matrix (a nested list, not a
#: scalar: mmengine keeps it as runtime info and the report hook draws it)
CONFUSION_MATRIX_KEY = "confusion_matrix"


def _as_float(value: Any) -> float:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return float(np.asarray(value, dtype=np.float64).reshape(()))


def _as_probs(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().float().numpy()
    return np.asarray(value, dtype=np.float64).reshape(-1)


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


def spearman_rho(gt: Sequence[float], pred: Sequence[float]) -> float:
    """Spearman's rank correlation (tied values get their average rank); NaN with a
    warning when either side is constant, where it is undefined."""
    gt_arr = np.asarray(gt, dtype=np.float64)
    pred_arr = np.asarray(pred, dtype=np.float64)
    if gt_arr.size < 2 or np.ptp(gt_arr) == 0 or np.ptp(pred_arr) == 0:
        warnings.warn(
            "Spearman's rho is undefined for fewer than two samples or a constant "
            "ground truth or prediction; reporting NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return float("nan")
    return float(stats.spearmanr(gt_arr, pred_arr).statistic)


def relative_l2(
    gt: Sequence[float], pred: Sequence[float], score_min: float, score_max: float
) -> float:
    """Relative L2 distance x 100, as defined for AQA by Yu et al., "Group-aware
    Contrastive Regression for Action Quality Assessment" (CoRe, ICCV 2021, Sec. 4.1):
    ``R-l2 = mean_k ((|s_k - s^_k|) / (s_max - s_min))^2``, with ``s_max``/``s_min``
    the highest and lowest score of the action; papers report it multiplied by 100."""
    if not score_max > score_min:
        raise ValueError(f"relative L2 needs score_max > score_min, got {score_min}..{score_max}")
    gt_arr = np.asarray(gt, dtype=np.float64)
    pred_arr = np.asarray(pred, dtype=np.float64)
    rel = np.abs(gt_arr - pred_arr) / (score_max - score_min)
    return float(np.mean(rel**2) * 100.0)


@component("metric")
class LevelMetrics(BaseMetric):
    """Level (class) metrics.

    Returns ``accuracy`` (sample level, the PISA paper's metric), ``performance_accuracy``
    (each ``group``'s probabilities averaged, then argmax), ``mae`` (mean absolute error
    in levels), ``within1`` (prediction within one level), ``performance_mae`` and
    ``performance_within1`` (the same on the pooled predictions), ``balanced_accuracy`` (mean
    recall over the levels present in the ground truth), all accuracies in 0..1, and
    ``confusion_matrix`` (``num_classes`` x ``num_classes`` nested list, rows = true
    level) for the reports. Samples with ``gt_label`` -1 are left out.

    Args:
        num_classes: number of levels ``C``; None takes the dataset's
            ``metainfo['num_classes']``, else the length of the first sample's ``probs``.
    """

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
            gt = int(_as_float(sample["gt_label"]))
            if gt < 0:
                continue
            probs = _as_probs(sample["probs"])
            if probs.shape[0] != self._classes(probs):
                raise ValueError(
                    f"LevelMetrics: sample {sample.get('sample_id')!r} has {probs.shape[0]} "
                    f"class probabilities, expected num_classes={self.num_classes}"
                )
            self.results.append({
                "gt": gt,
                "pred": int(_as_float(sample["pred_label"])),
                "probs": probs,
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
        _, pooled, group_gt = pool_by_group([r["group"] for r in results], probs, gt)
        diff = np.abs(gt - pred)
        group_diff = np.abs(group_gt - pooled.argmax(axis=1))
        return {
            "accuracy": float(np.mean(gt == pred)),
            "performance_accuracy": float(np.mean(group_diff == 0)),
            "mae": float(diff.mean()),
            "performance_mae": float(group_diff.mean()),
            "within1": float(np.mean(diff <= 1)),
            "performance_within1": float(np.mean(group_diff <= 1)),
            "balanced_accuracy": balanced_accuracy(cm),
            CONFUSION_MATRIX_KEY: cm.tolist(),
        }


@component("metric")
class ScoreMetrics(BaseMetric):
    """Score (regression) metrics: ``spearman`` (Spearman's rho between ``gt_score`` and
    ``pred_score``), ``rl2`` (relative L2 distance x 100, see :func:`relative_l2`) and
    ``performance_spearman`` (rho between each ``group``'s score and the mean of its
    samples' predictions; equal to ``spearman`` with one sample per performance).

    Args:
        score_range: ``(s_min, s_max)`` of the dataset's scores; ``None`` takes the
            lowest and highest ground-truth score evaluated.
    """

    default_prefix: Optional[str] = ""

    def __init__(self, score_range: Optional[Sequence[float]] = None, collect_device: str = "cpu",
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if score_range is not None:
            if len(score_range) != 2 or not float(score_range[1]) > float(score_range[0]):
                raise ValueError(
                    f"ScoreMetrics: score_range must be (s_min, s_max) with s_max > s_min, "
                    f"got {score_range!r}"
                )
            score_range = (float(score_range[0]), float(score_range[1]))
        self.score_range = score_range

    def process(self, data_batch: Any, data_samples: Sequence[Dict[str, Any]]) -> None:
        """Keep each sample's ``(gt_score, pred_score)``."""
        for sample in data_samples:
            self.results.append({
                "gt": _as_float(sample["gt_score"]),
                "pred": _as_float(sample["pred_score"]),
                "group": str(sample.get("group", sample.get("sample_id", ""))),
            })

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, float]:
        """``spearman``, ``rl2`` and ``performance_spearman`` over all gathered samples."""
        if not results:
            raise ValueError("ScoreMetrics: no predictions to evaluate")
        gt = np.array([r["gt"] for r in results], dtype=np.float64)
        pred = np.array([r["pred"] for r in results], dtype=np.float64)
        lo, hi = self.score_range if self.score_range is not None else (gt.min(), gt.max())
        if not hi > lo:
            raise ValueError(
                "ScoreMetrics: all ground-truth scores are equal; set score_range=(s_min, s_max)"
            )
        groups: Dict[str, List[int]] = {}
        for i, r in enumerate(results):
            groups.setdefault(r.get("group", str(i)), []).append(i)
        group_gt = np.array([gt[idx[0]] for idx in groups.values()])
        group_pred = np.array([pred[idx].mean() for idx in groups.values()])
        return {"spearman": spearman_rho(gt, pred), "rl2": relative_l2(gt, pred, lo, hi),
                "performance_spearman": spearman_rho(group_gt, group_pred)}
