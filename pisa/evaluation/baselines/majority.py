"""The majority baseline: the most frequent training level, the training level
frequencies as probabilities (the mean training score on a score dataset)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from pisa.evaluation.baselines.fit_predict import (Baseline, Prediction, Record, check_levels,
                                                   prediction_of, training_scores)
from pisa.registry import component


@component("baseline")
class MajorityBaseline(Baseline):
    """The most frequent training level (ties: the lowest), with ``probs`` the training
    level frequencies (C entries, 0 for levels absent from training) and ``pred_score``
    the mean training level; on a score dataset ``pred_label`` -1, ``probs`` ``[]`` and
    ``pred_score`` the mean training score.

    Args:
        num_classes: levels ``C``; None: the training records' highest label + 1.
    """

    example = dict(args=dict(num_classes=3), records=lambda: _example_records())

    def __init__(self, num_classes: Optional[int] = None) -> None:
        super().__init__(num_classes)
        self.frequencies: Optional[np.ndarray] = None
        self.mean_score: Optional[float] = None

    def fit(self, records: Sequence[Record]) -> "MajorityBaseline":
        """Count the training levels (or average the training scores) of ``records``."""
        self._start_fit(records)
        if self.scores:
            self.mean_score = float(training_scores(records, "MajorityBaseline.fit").mean())
            return self
        labels = check_levels(records, self.num_classes, "MajorityBaseline.fit")
        counts = np.bincount(labels, minlength=self.num_classes).astype(np.float64)
        self.frequencies = counts / counts.sum()
        # a level dataset's score is its level: the mean training level
        self.mean_score = float(self.frequencies @ np.arange(self.num_classes))
        return self

    def predict(self, records: Sequence[Record]) -> List[Prediction]:
        """The same prediction for every record of ``records``, one dict each."""
        self._check_fitted()
        if self.scores:
            return [prediction_of(r, -1, [], self.mean_score) for r in records]
        label = int(np.argmax(self.frequencies))
        return [prediction_of(r, label, self.frequencies, self.mean_score) for r in records]


def _example_records() -> Tuple[List[Record], List[Record]]:
    """Training and test records of 3 levels, no media (the ``example``)."""
    records = [{"perf_id": f"p{i}", "label": i % 3, "score": float(i % 3), "group": f"p{i}"}
               for i in range(9)]
    return records[:6], records[6:]
