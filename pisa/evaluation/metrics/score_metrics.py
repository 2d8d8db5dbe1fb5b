"""Score (regression) metrics over the model's predict outputs: Spearman's rho and the
relative L2 distance, per performance and per action (:mod:`pisa.evaluation.metrics`)."""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from scipy import stats

from pisa.evaluation.metrics.sample_values import as_float
from pisa.registry import component


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

    example = dict(
        args=dict(score_range=(0.0, 10.0)), dataset_meta=dict(),
        predictions=lambda: _example_predictions(perfect=False),
        keys=("spearman", "rl2", "performance_spearman"),
        perfect=dict(predictions=lambda: _example_predictions(perfect=True),
                     values=dict(spearman=1.0, rl2=0.0, performance_spearman=1.0)))

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
                "gt": as_float(sample["gt_score"]),
                "pred": as_float(sample["pred_score"]),
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


def _example_predictions(perfect: bool) -> List[Dict[str, Any]]:
    """Predict outputs of a score dataset (0..10), 2 samples per performance: the true
    score when ``perfect``, else the true score and noise (the ``example``)."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        gt = float(i // 2) * 1.5
        pred = gt if perfect else gt + float(rng.normal(0.0, 1.0))
        out.append({"pred_label": -1, "probs": [], "pred_score": pred, "gt_label": -1,
                    "gt_score": gt, "sample_id": f"s{i}", "group": f"p{i // 2}"})
    return out
