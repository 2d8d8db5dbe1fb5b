"""Top-k accuracy for classification (action recognition, e.g. UCF101 pretraining).

Config use::

    val_evaluator = dict(type='TopKAccuracy', topk=(1, 5))

It reads each predict output's ``probs`` (or ``scores``) and ``gt_label``; samples with
``gt_label`` -1 are left out.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from pisa.evaluation.metrics.sample_values import as_float, as_probs
from pisa.registry import component


def gt_rank(scores: np.ndarray, gt: int) -> int:
    """Place of class ``gt`` when ``scores`` ``(C,)`` are sorted high to low (0 = first);
    a tie ranks the lower class index first, as a stable descending sort does."""
    return int(np.sum(scores > scores[gt]) + np.sum(scores[:gt] == scores[gt]))


@component("metric")
class TopKAccuracy(BaseMetric):
    """``top{k}`` for each ``k`` in ``topk``: the share (0..1) of samples whose true class
    is among the ``k`` highest-scoring classes.

    Args:
        topk: the values of ``k``, each >= 1.
    """

    example = dict(
        args=dict(topk=(1, 2)), dataset_meta=dict(), predictions=lambda: _example_predictions(perfect=False),
        keys=("top1", "top2"),
        perfect=dict(predictions=lambda: _example_predictions(perfect=True), values=dict(top1=1.0, top2=1.0)))

    default_prefix: Optional[str] = None

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = "cpu",
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        topk = (topk,) if isinstance(topk, int) else tuple(int(k) for k in topk)
        if not topk or min(topk) < 1:
            raise ValueError(f"TopKAccuracy: topk must be integers >= 1, got {topk}")
        self.topk = topk

    def process(self, data_batch: Any, data_samples: Sequence[Dict[str, Any]]) -> None:
        """Keep each labelled sample's rank of the true class and its number of classes."""
        for sample in data_samples:
            gt = int(as_float(sample["gt_label"]))
            if gt < 0:
                continue
            key = "probs" if "probs" in sample else "scores"
            if key not in sample:
                raise KeyError(f"TopKAccuracy: sample {sample.get('sample_id')!r} has neither "
                               f"'probs' nor 'scores'; got {sorted(sample)}")
            scores = as_probs(sample[key])
            if not 0 <= gt < len(scores):
                raise ValueError(f"TopKAccuracy: sample {sample.get('sample_id')!r} has gt_label {gt} "
                                 f"but {len(scores)} class scores")
            self.results.append({"rank": gt_rank(scores, gt), "classes": len(scores)})

    def compute_metrics(self, results: List[Dict[str, Any]]) -> Dict[str, float]:
        if not results:
            raise ValueError("TopKAccuracy: no labelled predictions to evaluate")
        ranks = np.array([r["rank"] for r in results])
        return {f"top{k}": float(np.mean(ranks < k)) for k in self.topk}


def _example_predictions(perfect: bool) -> List[Dict[str, Any]]:
    """Class scores of 4 classes for 8 samples: the truth ranked first when ``perfect``,
    else random (the ``example``)."""
    rng = np.random.default_rng(0)
    return [{"probs": (np.eye(4)[i % 4] if perfect else rng.dirichlet(np.ones(4))).tolist(),
             "gt_label": i % 4, "sample_id": f"s{i}"} for i in range(8)]
