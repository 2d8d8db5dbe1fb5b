"""What every baseline shares: the performance records it is fitted on (levels or
scores, checked), the predict-output dict it returns per record (the model's format,
DEVELOPERS.md), and the level/score decision made at ``fit`` (:class:`Baseline`)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np

Record = Dict[str, Any]
Prediction = Dict[str, Any]


def describe_record(record: Record) -> str:
    return f"performance {record.get('perf_id')!r} ({record.get('ann_source', 'no annotation row')})"


def is_score_dataset(records: Sequence[Record], what: str) -> bool:
    """True when every label is -1 (scores), False when none is; else ``ValueError``."""
    if not records:
        raise ValueError(f"{what}: no performance records")
    labels = [int(r["label"]) for r in records]
    unlabelled = [r for r, y in zip(records, labels) if y < 0]
    if unlabelled and len(unlabelled) < len(records):
        raise ValueError(f"{what}: {describe_record(unlabelled[0])} has label -1 but others have levels; "
                         "a dataset is either levels or scores")
    return bool(unlabelled)


def infer_num_classes(records: Sequence[Record]) -> Optional[int]:
    """Levels ``C`` of ``records``: the highest label + 1, None for a score dataset."""
    labels = [int(r["label"]) for r in records]
    top = max(labels) if labels else -1
    return None if top < 0 else top + 1


def check_levels(records: Sequence[Record], num_classes: int, what: str) -> np.ndarray:
    labels = np.array([int(r["label"]) for r in records], dtype=np.int64)
    bad = [r for r, y in zip(records, labels) if not 0 <= y < num_classes]
    if bad:
        raise ValueError(f"{what}: {describe_record(bad[0])} has label {int(bad[0]['label'])}, outside "
                         f"0..{num_classes - 1} (num_classes={num_classes})")
    return labels


def training_scores(records: Sequence[Record], what: str) -> np.ndarray:
    scores = np.array([float(r["score"]) for r in records], dtype=np.float64)
    bad = [r for r, s in zip(records, scores) if not np.isfinite(s)]
    if bad:
        raise ValueError(f"{what}: training {describe_record(bad[0])} has score {bad[0]['score']!r}; "
                         "fitting needs a finite score for every training performance")
    return scores


def prediction_of(record: Record, pred_label: int, probs: Sequence[float], pred_score: float) -> Prediction:
    """One predict-output dict (the model's format) for ``record``."""
    return {
        "pred_label": int(pred_label),
        "probs": [float(p) for p in probs],
        "pred_score": float(pred_score),
        "gt_label": int(record["label"]),
        "gt_score": float(record["score"]),
        "sample_id": str(record["perf_id"]),
        "group": str(record.get("group") or record["perf_id"]),
    }


class Baseline:
    """What the baselines share: the level/score decision made at :meth:`fit`."""

    def __init__(self, num_classes: Optional[int] = None) -> None:
        if num_classes is not None and int(num_classes) < 2:
            raise ValueError(f"{type(self).__name__}: num_classes must be >= 2, got {num_classes}")
        self.given_classes = None if num_classes is None else int(num_classes)
        self.num_classes = self.given_classes  # set by fit when not given
        self.scores: Optional[bool] = None  # True: a score dataset (set by fit)

    def _start_fit(self, records: Sequence[Record]) -> None:
        name = type(self).__name__
        self.scores = is_score_dataset(records, f"{name}.fit")
        self.num_classes = self.given_classes
        if not self.scores and self.num_classes is None:
            # one level seen: still a distribution over two levels
            self.num_classes = max(2, infer_num_classes(records))

    def _check_fitted(self) -> None:
        if self.scores is None:
            raise RuntimeError(f"{type(self).__name__}: call fit(records) before predict(records)")
