"""What the feature baselines share: a fixed feature vector per performance, then a
scikit-learn imputer, scaler and linear model (:class:`LinearFeatureBaseline`). A
subclass says what the features are (``feature_names``, ``_compute_features``); the
classical baseline and a transcription plugin's note-descriptor baseline are two."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pisa.evaluation.baselines.fit_predict import (Baseline, Prediction, Record, check_levels,
                                                   prediction_of, training_scores)

MODEL_KINDS = ("auto", "logistic", "ordinal", "ridge")


class LinearFeatureBaseline(Baseline, ABC):
    """A feature vector per performance (``_compute_features(record)``, kept per
    ``_cache_key(record)`` so ``fit`` then ``predict`` on overlapping records computes each
    once), then scikit-learn's ``SimpleImputer`` (mean: NaN marks a feature a performance
    has no media for) + ``StandardScaler`` + a linear model:

    - ``'logistic'``: ``LogisticRegression``; ``probs`` over the C levels, ``pred_score``
      the expected level.
    - ``'ordinal'``: :class:`~pisa.evaluation.baselines.ordinal.CumulativeLogistic` (the
      levels' order is used); the same outputs.
    - ``'ridge'``: ``Ridge`` (``alpha = 1 / C``) on the score; on a level dataset also
      ``pred_label``, the rounded score, with a one-hot ``probs``.
    - ``'auto'``: logistic for levels, ridge for scores (by whether the labels are -1).

    Args:
        model: one of :data:`MODEL_KINDS`.
        C: inverse regularisation strength of the model.
        seed: ``random_state`` of the model.
        num_classes: levels ``C``; None: the training records' highest label + 1.
    """

    def __init__(self, model: str = "auto", C: float = 1.0, seed: int = 0,
                 num_classes: Optional[int] = None) -> None:
        super().__init__(num_classes)
        name = type(self).__name__
        if model not in MODEL_KINDS:
            raise ValueError(f"{name}: model must be one of {MODEL_KINDS}, got {model!r}")
        if not float(C) > 0:
            raise ValueError(f"{name}: C must be > 0, got {C}")
        self.model, self.C, self.seed = model, float(C), int(seed)
        self.pipeline = None
        self.regression: Optional[bool] = None
        self._only_level: Optional[int] = None
        self._features: Dict[Tuple, np.ndarray] = {}

    # -- what a subclass defines ----------------------------------------------------------
    @property
    @abstractmethod
    def feature_names(self) -> List[str]:
        """Names of the feature vector's entries, in order."""

    @abstractmethod
    def _compute_features(self, record: Record) -> np.ndarray:
        """The feature vector of one performance record (float64, NaN where missing)."""

    @staticmethod
    def _cache_key(record: Record) -> Tuple:
        box = record.get("crop_box")
        return (record.get("video_path"), record.get("frame_dir"), record.get("audio_path"),
                int(record.get("frame_offset") or 0), record.get("num_frames"), record.get("fps"),
                None if box is None else tuple(float(v) for v in box))

    # -- per performance --------------------------------------------------------------------
    def features(self, record: Record) -> np.ndarray:
        """The feature vector ``(len(feature_names),)`` of one performance record; kept
        after the first call."""
        key = self._cache_key(record)
        if key not in self._features:
            self._features[key] = np.asarray(self._compute_features(record), dtype=np.float64)
        return self._features[key]

    def feature_matrix(self, records: Sequence[Record]) -> np.ndarray:
        """Features of ``records``: float64 ``(len(records), len(feature_names))``."""
        return np.stack([self.features(r) for r in records])

    # -- the model ----------------------------------------------------------------------------
    def fit(self, records: Sequence[Record]) -> "LinearFeatureBaseline":
        """Compute the training records' features and fit the scaler and the model."""
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from pisa.evaluation.baselines.ordinal import CumulativeLogistic

        name = type(self).__name__
        self._start_fit(records)
        self._only_level = None
        if self.model in ("logistic", "ordinal") and self.scores:
            raise ValueError(f"{name}: model={self.model!r} needs levels, but the training "
                             "labels are -1 (a score dataset); use 'ridge' or 'auto'")
        self.regression = self.model == "ridge" or (self.model == "auto" and self.scores)
        x = self.feature_matrix(records)
        if self.regression:
            y = training_scores(records, f"{name}.fit")
            estimator = Ridge(alpha=1.0 / self.C, fit_intercept=True, solver="auto",
                              random_state=self.seed)
        else:
            y = check_levels(records, self.num_classes, f"{name}.fit")
            estimator = (CumulativeLogistic(num_classes=self.num_classes, C=self.C, seed=self.seed)
                         if self.model == "ordinal" else
                         LogisticRegression(C=self.C, l1_ratio=0.0, solver="lbfgs", max_iter=1000,
                                            tol=1e-4, fit_intercept=True, class_weight=None,
                                            random_state=self.seed))
        imputer = SimpleImputer(strategy="mean", keep_empty_features=True)
        self.pipeline = make_pipeline(imputer, StandardScaler(with_mean=True, with_std=True),
                                      estimator)
        if self.regression or np.unique(y).size > 1:
            self.pipeline.fit(x, y)
        else:  # one training level: nothing to separate, that level is the prediction
            self._only_level = int(y[0])
        return self

    def predict(self, records: Sequence[Record]) -> List[Prediction]:
        """One predict-output dict per record of ``records``."""
        self._check_fitted()
        if not records:
            return []
        x = self.feature_matrix(records)
        levels = self.num_classes
        if self.regression:
            scores = self.pipeline.predict(x)
            if self.scores:
                return [prediction_of(r, -1, [], s) for r, s in zip(records, scores)]
            labels = np.clip(np.round(scores), 0, levels - 1).astype(np.int64)
            return [prediction_of(r, k, np.eye(levels)[k], s) for r, k, s in zip(records, labels, scores)]
        probs = np.zeros((len(records), levels), dtype=np.float64)
        if self._only_level is None:
            # levels absent from training keep probability 0
            probs[:, self.pipeline[-1].classes_] = self.pipeline.predict_proba(x)
        else:
            probs[:, self._only_level] = 1.0
        expected = probs @ np.arange(levels, dtype=np.float64)
        return [prediction_of(r, int(np.argmax(p)), p, s) for r, p, s in zip(records, probs, expected)]
