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

from pisa.evaluation.calibration import (RELIABILITY_KEY, expected_calibration_error,
                                         reliability_bins)
from pisa.registry import component

#: the rule of predictions that name none (a baseline's, an older model's): the argmax
DEFAULT_DECISION = "ArgmaxLevel"

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
                "reg": _as_float(sample.get("pred_score", float("nan"))),
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


#: what separates a performance's action from the rest of its ``group`` (``'diving/001'``): see :class:`ScoreMetrics`
ACTION_SEPARATOR = "/"


@component("metric")
class ScoreMetrics(BaseMetric):
    """Score (regression) metrics: ``spearman`` (Spearman's rho between ``gt_score`` and
    ``pred_score``), ``rl2`` (relative L2 distance x 100, see :func:`relative_l2`),
    ``performance_spearman`` (rho between each ``group``'s score and the mean of its
    samples' predictions; equal to ``spearman`` with one sample per performance) and
    ``rl2_score_range``, a note naming the range ``rl2`` was computed with and where it
    came from (``'argument 0..100'``, ``'dataset 6..30'``, ``'evaluated set 60..90'``,
    ``'dataset per action'``).

    The range, in this order: the ``score_range`` argument; the dataset's declared range
    (``dataset_meta['score_range']``, which mmengine's loops copy from the dataset's
    ``metainfo``); else the lowest and highest ground truth evaluated, with a warning:
    that is what AQA-Benchmark's, CoRe's and FineDiving's evaluation code do
    (``true_scores.max() - true_scores.min()``), but it changes with the set evaluated.
    A range may be one ``(s_min, s_max)`` or a dict ``{action: (s_min, s_max)}``; with a
    dict each sample is normalised by its own action's range.

    Per action (AQA-7's protocol): a sample's action is its ``action`` key when the
    prediction carries one, else the part of its ``group`` before
    :data:`ACTION_SEPARATOR` (adapters that declare ``actions`` in their metainfo name
    each performance ``'<action>/<id>'``, e.g. ``'diving/001'``; the model copies ``group``
    into every prediction, so nothing else has to carry the action). Then also
    ``spearman_<action>`` and ``rl2_<action>`` (with that action's range) for each action,
    ``spearman_avg_fisher_z`` (their average through Fisher's z, :func:`fisher_z_mean`,
    the literature's "Avg. Corr.") and ``rl2_avg`` (the arithmetic mean of the per-action
    values).

    Args:
        score_range: ``(s_min, s_max)`` or ``{action: (s_min, s_max)}``; None: the
            dataset's declared range, else the evaluated set's (see above).
        per_action: report per action; None: when the dataset declares more than one
            action (``dataset_meta['actions']``) or the range is per action.
    """

    default_prefix: Optional[str] = ""

    def __init__(self, score_range: Any = None, per_action: Optional[bool] = None,
                 collect_device: str = "cpu", prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.score_range = None if score_range is None else _check_range(score_range, "score_range")
        self.per_action = per_action

    def process(self, data_batch: Any, data_samples: Sequence[Dict[str, Any]]) -> None:
        """Keep each sample's ``(gt_score, pred_score, group, action)``."""
        for sample in data_samples:
            group = str(sample.get("group", sample.get("sample_id", "")))
            action = sample.get("action")
            self.results.append({
                "gt": _as_float(sample["gt_score"]),
                "pred": _as_float(sample["pred_score"]),
                "group": group,
                "action": None if action is None else str(action),
            })

    def _declared(self) -> Tuple[Any, str]:
        """The range to use and where it came from (None when neither gives one)."""
        if self.score_range is not None:
            return self.score_range, "argument"
        declared = (self.dataset_meta or {}).get("score_range")
        if declared is not None:
            return _check_range(declared, "dataset_meta['score_range']"), "dataset"
        return None, "evaluated set"

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, Any]:
        """The class docstring's metrics over all gathered samples."""
        if not results:
            raise ValueError("ScoreMetrics: no predictions to evaluate")
        gt = np.array([r["gt"] for r in results], dtype=np.float64)
        pred = np.array([r["pred"] for r in results], dtype=np.float64)
        score_range, source = self._declared()
        declared_actions = tuple((self.dataset_meta or {}).get("actions") or ())
        per_action = self.per_action
        if per_action is None:
            per_action = len(declared_actions) > 1 or isinstance(score_range, dict)
        actions = None
        if per_action or isinstance(score_range, dict):
            actions = [r.get("action") or action_of(r["group"]) for r in results]
            unknown = sorted(set(actions) - set(declared_actions)) if declared_actions else []
            if unknown:
                raise ValueError(f"ScoreMetrics: prediction actions {unknown} are not among the "
                                 f"dataset's actions {list(declared_actions)} (a group is "
                                 f"'<action>{ACTION_SEPARATOR}<id>')")
        if score_range is None:
            lo, hi = float(gt.min()), float(gt.max())
            warnings.warn(f"ScoreMetrics: no score_range given and the dataset declares none; "
                          f"rl2 uses the evaluated set's own range {lo:g}..{hi:g} (as "
                          "AQA-Benchmark's and CoRe's evaluation code do), which changes with "
                          "the set evaluated", RuntimeWarning, stacklevel=2)
            if per_action:  # each action's own evaluated span
                score_range = {a: (float(gt[[b == a for b in actions]].min()),
                                   float(gt[[b == a for b in actions]].max()))
                               for a in dict.fromkeys(actions)}
            else:
                score_range = (lo, hi)
        if isinstance(score_range, dict):
            missing = sorted(set(actions) - set(score_range))
            if missing:
                raise ValueError(f"ScoreMetrics: no score range for action(s) {missing} "
                                 f"({source} gives {sorted(score_range)})")
            width = np.array([score_range[a][1] - score_range[a][0] for a in actions])
            if not np.all(width > 0):
                raise ValueError("ScoreMetrics: all ground-truth scores of an action are equal; "
                                 "set score_range={action: (s_min, s_max)}")
            rl2 = float(np.mean((np.abs(gt - pred) / width) ** 2) * 100.0)
            note = f"{source} per action"
        else:
            lo, hi = score_range
            if not hi > lo:
                raise ValueError("ScoreMetrics: all ground-truth scores are equal; "
                                 "set score_range=(s_min, s_max)")
            rl2 = relative_l2(gt, pred, lo, hi)
            note = f"{source} {lo:g}..{hi:g}"
        groups: Dict[str, List[int]] = {}
        for i, r in enumerate(results):
            groups.setdefault(r.get("group", str(i)), []).append(i)
        group_gt = np.array([gt[idx[0]] for idx in groups.values()])
        group_pred = np.array([pred[idx].mean() for idx in groups.values()])
        out: Dict[str, Any] = {"spearman": spearman_rho(gt, pred), "rl2": rl2,
                               "performance_spearman": spearman_rho(group_gt, group_pred),
                               "rl2_score_range": note}
        if per_action:
            out.update(per_action_metrics(gt, pred, actions, score_range))
        return out


def action_of(group: str) -> str:
    """The action of a performance named ``'<action>/<id>'`` (the whole name without
    :data:`ACTION_SEPARATOR`)."""
    return str(group).split(ACTION_SEPARATOR, 1)[0]


def fisher_z_mean(rhos: Sequence[float]) -> float:
    """Average correlations through Fisher's z-transformation: ``tanh(mean(atanh(r)))``,
    unweighted, as AQA-7's "Avg. Corr." is reported (Parmar & Morris, WACV 2019; USDL /
    MUSDL, CVPR 2020, whose ``JIGSAWS_avg.xls`` computes ``0.5*LN((1+r)/(1-r))`` per task,
    ``AVERAGE``, then the inverse; CoRe, ICCV 2021). ``|r| = 1`` is clipped to
    ``1 - 1e-12`` so that one perfect ranking keeps the mean finite; NaN values (an
    action whose ranks are undefined) are left out with a warning; NaN when none is left."""
    values = np.asarray(list(rhos), dtype=np.float64)
    kept = values[~np.isnan(values)]
    if kept.size < values.size:
        warnings.warn(f"fisher_z_mean: {values.size - kept.size} undefined correlation(s) left "
                      "out of the average", RuntimeWarning, stacklevel=2)
    if kept.size == 0:
        return float("nan")
    z = np.arctanh(np.clip(kept, -1 + 1e-12, 1 - 1e-12))
    return float(np.tanh(z.mean()))


def per_action_metrics(gt: np.ndarray, pred: np.ndarray, actions: Sequence[str],
                       score_range: Any) -> Dict[str, float]:
    """``spearman_<action>`` and ``rl2_<action>`` for each action in order of first
    appearance (``score_range``: one ``(s_min, s_max)`` or ``{action: (s_min, s_max)}``),
    ``spearman_avg_fisher_z`` (:func:`fisher_z_mean` of the per-action rhos) and
    ``rl2_avg`` (arithmetic mean of the per-action rl2). ``gt``, ``pred``: ``(N,)``."""
    out: Dict[str, float] = {}
    rhos, rl2s = [], []
    labels = np.asarray(list(actions), dtype=object)
    for action in dict.fromkeys(actions):
        mask = labels == action
        lo, hi = score_range[action] if isinstance(score_range, dict) else score_range
        rho = spearman_rho(gt[mask], pred[mask])
        rl2 = relative_l2(gt[mask], pred[mask], lo, hi)
        out[f"spearman_{action}"], out[f"rl2_{action}"] = rho, rl2
        rhos.append(rho)
        rl2s.append(rl2)
    out["spearman_avg_fisher_z"] = fisher_z_mean(rhos)
    out["rl2_avg"] = float(np.mean(rl2s))
    return out


def _check_range(value: Any, what: str) -> Any:
    """``(s_min, s_max)`` floats, or ``{action: (s_min, s_max)}``; ``ValueError`` naming
    ``what`` unless every pair has ``s_max > s_min``."""
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"ScoreMetrics: {what} is an empty dict")
        return {str(k): _check_range(v, f"{what}[{k!r}]") for k, v in value.items()}
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"ScoreMetrics: {what} must be (s_min, s_max) with s_max > s_min, "
                         f"got {value!r}") from None
    if not hi > lo:
        raise ValueError(f"ScoreMetrics: {what} must be (s_min, s_max) with s_max > s_min, "
                         f"got {value!r}")
    return (lo, hi)
