"""An ordinal classifier for the feature baselines (scikit-learn is imported here, where a
baseline fits, not when pisa is imported)."""
from __future__ import annotations

from typing import List

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class CumulativeLogistic(ClassifierMixin, BaseEstimator):
    """An ordinal classifier from binary logistic regressions (Frank & Hall, "A Simple
    Approach to Ordinal Classification", ECML 2001): for each threshold ``k = 1..C-1`` a
    scikit-learn ``LogisticRegression`` estimates ``P(y >= k)``; the level probabilities
    are the differences of consecutive ones (made non-increasing first, so none is
    negative). ``classes_`` is ``0..C-1`` whichever levels training saw."""

    def __init__(self, num_classes: int = 2, C: float = 1.0, seed: int = 0) -> None:
        self.num_classes, self.C, self.seed = num_classes, C, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> "CumulativeLogistic":
        self.classes_ = np.arange(int(self.num_classes))
        self.models_: List[object] = []
        for k in range(1, int(self.num_classes)):
            above = (np.asarray(y) >= k).astype(np.int64)
            if above.min() == above.max():  # every training level on one side: a constant
                self.models_.append(float(above[0]))
                continue
            self.models_.append(LogisticRegression(C=float(self.C), solver="lbfgs", max_iter=1000,
                                                   random_state=int(self.seed)).fit(x, above))
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        above = np.stack([np.full(len(x), m) if isinstance(m, float) else m.predict_proba(x)[:, 1]
                          for m in self.models_], axis=1)
        above = np.minimum.accumulate(above, axis=1)  # P(y >= k) cannot grow with k
        cumulative = np.concatenate([np.ones((len(x), 1)), above, np.zeros((len(x), 1))], axis=1)
        return cumulative[:, :-1] - cumulative[:, 1:]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_proba(x), axis=1)
