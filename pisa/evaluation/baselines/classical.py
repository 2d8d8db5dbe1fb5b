"""Baselines shown beside the deep model: models without a network (registry kind
``baseline``, :data:`pisa.registry.BASELINES`).

A baseline is fitted on the training performance records (the dicts an
``AQABaseDataset`` keeps in ``.performances``: ``perf_id``, ``video_path`` /
``frame_dir``, ``audio_path`` (None: the video's own track), ``frame_offset``,
``num_frames``, ``fps``, ``crop_box``, ``label``, ``score``, ``group``, ...) and predicts
one predict-output dict per record, in the model's format (DEVELOPERS.md): ``pred_label``
(0..C-1; -1 for a score dataset), ``probs`` (C floats; ``[]`` for a score dataset),
``pred_score``, ``gt_label``, ``gt_score``, ``sample_id`` (the ``perf_id``) and
``group``. A dataset is a score dataset when its labels are -1.

- :class:`MajorityBaseline`: the most frequent training level with the training level
  frequencies as probabilities; the mean training score for a score dataset.
- :class:`ClassicalFeatureBaseline`: a few librosa audio statistics and frame-difference
  motion statistics per performance, then a scikit-learn ``StandardScaler`` +
  ``LogisticRegression`` (levels) or ``Ridge`` (scores).

:func:`evaluate_baselines` fits, predicts and runs the config's metrics for each baseline;
:func:`format_comparison_table` puts their metrics beside the model's as a markdown table.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.io.media import FrameSource, read_audio, read_frames
from pisa.registry import component

Record = Dict[str, Any]
Prediction = Dict[str, Any]

#: the audio statistics :func:`audio_features` returns, in this order
AUDIO_FEATURES: Tuple[str, ...] = (
    "onset_rate", "tempo", "onset_interval_std",
    "centroid_mean", "centroid_std", "bandwidth_mean", "bandwidth_std",
    "flatness_mean", "flatness_std", "rolloff_mean", "rolloff_std", "rms_mean", "rms_std",
)
#: the motion statistics :func:`motion_features` returns, in this order
MOTION_FEATURES: Tuple[str, ...] = (
    "motion_mean", "motion_std", "motion_p50", "motion_p90", "motion_p99",
    "motion_pair_std", "motion_pair_max",
)
#: what :class:`ClassicalFeatureBaseline` does when a performance has no media for a
#: modality (no audio track / no video source)
MISSING_MODALITY = ("error", "skip")
MODEL_KINDS = ("auto", "logistic", "ridge")


def _where(record: Record) -> str:
    return f"performance {record.get('perf_id')!r} ({record.get('ann_source', 'no annotation row')})"


def _is_score_dataset(records: Sequence[Record], what: str) -> bool:
    """True when every label is -1 (scores), False when none is; else ``ValueError``."""
    if not records:
        raise ValueError(f"{what}: no performance records")
    labels = [int(r["label"]) for r in records]
    unlabelled = [r for r, y in zip(records, labels) if y < 0]
    if unlabelled and len(unlabelled) < len(records):
        raise ValueError(f"{what}: {_where(unlabelled[0])} has label -1 but others have levels; "
                         "a dataset is either levels or scores")
    return bool(unlabelled)


def infer_num_classes(records: Sequence[Record]) -> Optional[int]:
    """Levels ``C`` of ``records``: the highest label + 1, None for a score dataset."""
    labels = [int(r["label"]) for r in records]
    top = max(labels) if labels else -1
    return None if top < 0 else top + 1


def _check_levels(records: Sequence[Record], num_classes: int, what: str) -> np.ndarray:
    labels = np.array([int(r["label"]) for r in records], dtype=np.int64)
    bad = [r for r, y in zip(records, labels) if not 0 <= y < num_classes]
    if bad:
        raise ValueError(f"{what}: {_where(bad[0])} has label {int(bad[0]['label'])}, outside "
                         f"0..{num_classes - 1} (num_classes={num_classes})")
    return labels


def _training_scores(records: Sequence[Record], what: str) -> np.ndarray:
    scores = np.array([float(r["score"]) for r in records], dtype=np.float64)
    bad = [r for r, s in zip(records, scores) if not np.isfinite(s)]
    if bad:
        raise ValueError(f"{what}: training {_where(bad[0])} has score {bad[0]['score']!r}; "
                         "fitting needs a finite score for every training performance")
    return scores


def _prediction(record: Record, pred_label: int, probs: Sequence[float], pred_score: float) -> Prediction:
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


class _Baseline:
    """What the baselines share: the level/score decision made at :meth:`fit`."""

    def __init__(self, num_classes: Optional[int] = None) -> None:
        if num_classes is not None and int(num_classes) < 2:
            raise ValueError(f"{type(self).__name__}: num_classes must be >= 2, got {num_classes}")
        self.given_classes = None if num_classes is None else int(num_classes)
        self.num_classes = self.given_classes  # set by fit when not given
        self.scores: Optional[bool] = None  # True: a score dataset (set by fit)

    def _start_fit(self, records: Sequence[Record]) -> None:
        name = type(self).__name__
        self.scores = _is_score_dataset(records, f"{name}.fit")
        self.num_classes = self.given_classes
        if not self.scores and self.num_classes is None:
            # one level seen: still a distribution over two levels
            self.num_classes = max(2, infer_num_classes(records))

    def _check_fitted(self) -> None:
        if self.scores is None:
            raise RuntimeError(f"{type(self).__name__}: call fit(records) before predict(records)")


@component("baseline")
class MajorityBaseline(_Baseline):
    """The most frequent training level (ties: the lowest), with ``probs`` the training
    level frequencies (C entries, 0 for levels absent from training) and ``pred_score``
    the mean training level; on a score dataset ``pred_label`` -1, ``probs`` ``[]`` and
    ``pred_score`` the mean training score.

    Args:
        num_classes: levels ``C``; None: the training records' highest label + 1.
    """

    def __init__(self, num_classes: Optional[int] = None) -> None:
        super().__init__(num_classes)
        self.frequencies: Optional[np.ndarray] = None
        self.mean_score: Optional[float] = None

    def fit(self, records: Sequence[Record]) -> "MajorityBaseline":
        """Count the training levels (or average the training scores) of ``records``."""
        self._start_fit(records)
        if self.scores:
            self.mean_score = float(_training_scores(records, "MajorityBaseline.fit").mean())
            return self
        labels = _check_levels(records, self.num_classes, "MajorityBaseline.fit")
        counts = np.bincount(labels, minlength=self.num_classes).astype(np.float64)
        self.frequencies = counts / counts.sum()
        # a level dataset's score is its level: the mean training level
        self.mean_score = float(self.frequencies @ np.arange(self.num_classes))
        return self

    def predict(self, records: Sequence[Record]) -> List[Prediction]:
        """The same prediction for every record of ``records``, one dict each."""
        self._check_fitted()
        if self.scores:
            return [_prediction(r, -1, [], self.mean_score) for r in records]
        label = int(np.argmax(self.frequencies))
        return [_prediction(r, label, self.frequencies, self.mean_score) for r in records]


# -- features ----------------------------------------------------------------------
def onset_peak_settings(sample_rate: int, hop_length: int) -> Dict[str, float]:
    """The peak-picking windows of ``librosa.onset.onset_detect`` (30 ms before a peak,
    100 ms averaging either side, 30 ms between onsets; delta 0.07), in onset frames."""
    def frames(seconds: float) -> float:
        return seconds * sample_rate // hop_length

    return dict(pre_max=frames(0.03), post_max=frames(0.0) + 1, pre_avg=frames(0.10),
                post_avg=frames(0.10) + 1, wait=frames(0.03), delta=0.07)


def audio_features(samples: np.ndarray, sample_rate: int, n_fft: int = 2048,
                   hop_length: int = 512, n_mels: int = 128) -> np.ndarray:
    """The :data:`AUDIO_FEATURES` of mono float ``samples`` ``(S,)`` at ``sample_rate``:
    onsets per second and the standard deviation of the intervals between onsets (s),
    from librosa's onset detector on its mel spectral-flux envelope; librosa's tempo
    estimate (bpm) from that envelope; the mean and standard deviation over STFT frames
    of the spectral centroid, bandwidth, rolloff (Hz), flatness and RMS. Returns float64
    ``(13,)``. Audio shorter than one FFT window is zero-padded to it (the rates use the
    real duration)."""
    import librosa

    y = np.asarray(samples, dtype=np.float32).reshape(-1)
    if y.size == 0:
        raise ValueError("audio_features: no samples")
    duration = y.size / float(sample_rate)
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size), mode="constant", constant_values=0.0)
    envelope = librosa.onset.onset_strength(
        y=y, sr=sample_rate, lag=1, max_size=1, ref=None, detrend=False, center=True,
        feature=None, aggregate=None, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    onsets = librosa.onset.onset_detect(
        onset_envelope=envelope, sr=sample_rate, hop_length=hop_length, backtrack=False,
        units="time", normalize=True, sparse=True, **onset_peak_settings(sample_rate, hop_length))
    onsets = onsets[onsets < duration]  # none in the padding
    intervals = np.diff(onsets)
    tempo = librosa.feature.tempo(
        onset_envelope=envelope, sr=sample_rate, hop_length=hop_length, start_bpm=120.0,
        std_bpm=1.0, ac_size=8.0, max_tempo=320.0, aggregate=np.mean, prior=None)
    spectrum = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length, win_length=n_fft,
                                   window="hann", center=True, pad_mode="constant"))
    common = dict(S=spectrum, n_fft=n_fft, hop_length=hop_length, win_length=n_fft,
                  window="hann", center=True, pad_mode="constant")
    centroid = librosa.feature.spectral_centroid(sr=sample_rate, freq=None, **common)
    bandwidth = librosa.feature.spectral_bandwidth(sr=sample_rate, freq=None, centroid=None,
                                                   norm=True, p=2, **common)
    # S is a magnitude spectrogram: power=2 makes flatness work on power, as from y
    flatness = librosa.feature.spectral_flatness(amin=1e-10, power=2.0, **common)
    rolloff = librosa.feature.spectral_rolloff(sr=sample_rate, freq=None, roll_percent=0.85,
                                               **common)
    rms = librosa.feature.rms(S=spectrum, frame_length=n_fft, hop_length=hop_length,
                              center=True, pad_mode="constant")
    tempo_bpm = float(np.asarray(tempo).reshape(-1)[0])
    out = [onsets.size / duration, tempo_bpm if np.isfinite(tempo_bpm) else 0.0,
           float(intervals.std()) if intervals.size >= 2 else 0.0]
    for stat in (centroid, bandwidth, flatness, rolloff, rms):
        out += [float(stat.mean()), float(stat.std())]
    return np.asarray(out, dtype=np.float64)


def grey_frames(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(N, H, W, 3)`` -> grey uint8 ``(N, H, W)`` (OpenCV's luma weights)."""
    import cv2

    return np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames])


def motion_features(grey: np.ndarray) -> np.ndarray:
    """The :data:`MOTION_FEATURES` of grey frames ``(N, H, W)`` (uint8): over the absolute
    differences between consecutive frames, scaled to 0..1, their mean, standard
    deviation and 50th/90th/99th percentiles over all pixels, and the standard deviation
    and maximum over frame pairs of each pair's mean difference. Returns float64 ``(7,)``;
    zeros for a single frame (no pair)."""
    grey = np.asarray(grey, dtype=np.float32) / 255.0
    if grey.ndim != 3:
        raise ValueError(f"motion_features: expected (N, H, W) grey frames, got shape {grey.shape}")
    if grey.shape[0] < 2:
        return np.zeros(len(MOTION_FEATURES), dtype=np.float64)
    diff = np.abs(np.diff(grey, axis=0))
    per_pair = diff.reshape(diff.shape[0], -1).mean(axis=1)
    p50, p90, p99 = np.percentile(diff, [50.0, 90.0, 99.0], method="linear")
    return np.asarray([diff.mean(), diff.std(), p50, p90, p99, per_pair.std(), per_pair.max()],
                      dtype=np.float64)


def spread_frames(num_frames: int, count: int) -> np.ndarray:
    """``min(count, num_frames)`` distinct frame numbers spread evenly over
    ``0..num_frames-1``, first and last included (int64)."""
    count = max(1, min(int(count), int(num_frames)))
    return np.round(np.linspace(0, int(num_frames) - 1, count)).astype(np.int64)


@component("baseline")
class ClassicalFeatureBaseline(_Baseline):
    """Hand-made features + a linear model: per performance the :data:`AUDIO_FEATURES`
    of the first ``seconds`` of its audio (from ``frame_offset / fps`` s) and the
    :data:`MOTION_FEATURES` of ``video_frames`` frames spread evenly over its frames,
    cropped to ``crop_box`` and resized to ``video_size``; then scikit-learn's
    ``SimpleImputer`` (mean; it only acts on a modality skipped for some performances) +
    ``StandardScaler`` + ``LogisticRegression`` (levels: ``probs`` over the C levels,
    ``pred_score`` the expected level) or ``Ridge`` (scores, ``alpha = 1 / C``:
    ``pred_score``; on a level dataset also ``pred_label``, the rounded score, with a
    one-hot ``probs``). Features are kept per performance (source, offset and frames), so
    ``fit`` then ``predict`` on overlapping records decodes each once. A recording shorter
    than asked for is used as far as it goes.

    Args:
        audio, video: which modalities give features.
        seconds: audio analysed per performance (s; at most the performance's length).
        video_frames: frames read per performance.
        video_size: ``(h, w)`` the cropped frames are resized to.
        model: ``'logistic'``, ``'ridge'`` or ``'auto'`` (logistic for levels, ridge for
            scores, by whether the training labels are -1).
        C: inverse regularisation strength of either model.
        seed: ``random_state`` of the model.
        num_classes: levels ``C``; None: the training records' highest label + 1.
        sample_rate: rate the audio is read at (Hz); None: each file's own rate.
        missing_modality: a performance without audio (no track in its video, no audio
            file) or without video (no video file or frame folder): ``'error'`` (naming
            the file) or ``'skip'`` (that modality's features are imputed with the
            training mean). A file that is named but missing is always an error.
        n_fft, hop_length: the audio analysis's FFT window and hop (samples).
    """

    def __init__(self, audio: bool = True, video: bool = True, seconds: float = 10.0,
                 video_frames: int = 32, video_size: Sequence[int] = (32, 32),
                 model: str = "auto", C: float = 1.0, seed: int = 0,
                 num_classes: Optional[int] = None, sample_rate: Optional[int] = 22050,
                 missing_modality: str = "error", n_fft: int = 2048, hop_length: int = 512) -> None:
        super().__init__(num_classes)
        if not (audio or video):
            raise ValueError("ClassicalFeatureBaseline: audio and video are both off; enable one")
        if model not in MODEL_KINDS:
            raise ValueError(f"ClassicalFeatureBaseline: model must be one of {MODEL_KINDS}, got {model!r}")
        if missing_modality not in MISSING_MODALITY:
            raise ValueError(f"ClassicalFeatureBaseline: missing_modality must be one of "
                             f"{MISSING_MODALITY}, got {missing_modality!r}")
        if not float(seconds) > 0 or int(video_frames) < 2 or not float(C) > 0:
            raise ValueError(f"ClassicalFeatureBaseline: needs seconds > 0, video_frames >= 2 and "
                             f"C > 0, got seconds={seconds}, video_frames={video_frames}, C={C}")
        self.audio, self.video = bool(audio), bool(video)
        self.seconds = float(seconds)
        self.video_frames = int(video_frames)
        self.video_size = (int(video_size[0]), int(video_size[1]))
        self.model, self.C, self.seed = model, float(C), int(seed)
        self.sample_rate = None if sample_rate is None else int(sample_rate)
        self.missing_modality = missing_modality
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        self.pipeline = None
        self.regression: Optional[bool] = None
        self._only_level: Optional[int] = None
        self._features: Dict[Tuple, np.ndarray] = {}
        # the last audio track read: consecutive performances often share a recording
        self._last_track: Optional[Tuple[str, np.ndarray, int]] = None

    @property
    def feature_names(self) -> List[str]:
        """Names of the feature vector's entries, in order."""
        return (list(AUDIO_FEATURES) if self.audio else []) + (list(MOTION_FEATURES) if self.video else [])

    # -- per performance --------------------------------------------------------------
    @staticmethod
    def _cache_key(record: Record) -> Tuple:
        box = record.get("crop_box")
        return (record.get("video_path"), record.get("frame_dir"), record.get("audio_path"),
                int(record.get("frame_offset") or 0), record.get("num_frames"), record.get("fps"),
                None if box is None else tuple(float(v) for v in box))

    def features(self, record: Record) -> np.ndarray:
        """The feature vector ``(len(feature_names),)`` of one performance record (NaN for
        a modality skipped under ``missing_modality='skip'``); kept after the first call."""
        key = self._cache_key(record)
        if key not in self._features:
            self._features[key] = self._compute_features(record)
        return self._features[key]

    def _compute_features(self, record: Record) -> np.ndarray:
        where = _where(record)
        video_source = record.get("video_path") or record.get("frame_dir")
        offset = int(record.get("frame_offset") or 0)
        num_frames = record.get("num_frames")
        # the audio needs the video only for a frame rate the record does not give
        needs_video = self.video or (not record.get("fps") and (offset or num_frames is not None))
        frames = None
        if video_source and needs_video:
            frames = FrameSource(video_source)  # opening decodes nothing
        elif self.video and self.missing_modality == "error":
            raise ValueError(f"{where}: no video file or frame folder, but the baseline's video "
                             "features need one (video=False, or missing_modality='skip')")
        fps = record.get("fps") or (frames.fps if frames is not None else None)
        if frames is not None:
            available = len(frames) - offset
            if available <= 0:
                raise ValueError(f"{where}: {video_source} has {len(frames)} frames, none after "
                                 f"frame_offset {offset}")
            num_frames = available if num_frames is None else min(int(num_frames), available)
        parts = []
        if self.audio:
            parts.append(self._audio_part(record, where, fps, offset, num_frames))
        if self.video:
            parts.append(np.full(len(MOTION_FEATURES), np.nan) if frames is None else
                         self._video_part(record, where, frames, offset, num_frames))
        return np.concatenate(parts)

    def _audio_part(self, record: Record, where: str, fps: Optional[float], offset: int,
                    num_frames: Optional[int]) -> np.ndarray:
        source = record.get("audio_path") or record.get("video_path")
        skipped = np.full(len(AUDIO_FEATURES), np.nan)
        if not source:
            if self.missing_modality == "skip":
                return skipped
            raise ValueError(f"{where}: no audio file and no video track to read audio from "
                             "(audio=False, or missing_modality='skip')")
        if not fps and (offset or num_frames is not None):
            raise ValueError(f"{where}: no fps in the record or from a video, so the audio of "
                             f"frames from {offset} cannot be located in {source}")
        if self._last_track is not None and self._last_track[0] == source:
            samples, rate = self._last_track[1:]
        else:
            try:
                samples, rate = read_audio(source, self.sample_rate)
            except ValueError as err:
                # pisa.io.media says so when the container holds no audio stream
                if self.missing_modality == "skip" and "has no audio track" in str(err):
                    return skipped
                raise ValueError(f"{where}: {err}") from None
            self._last_track = (source, samples, rate)
        start = int(round(offset / float(fps) * rate)) if offset else 0
        length = self.seconds if num_frames is None else min(self.seconds, int(num_frames) / float(fps))
        window = samples[start:start + max(1, int(round(length * rate)))]
        if window.size == 0:
            raise ValueError(f"{where}: {source} has {samples.size / rate:.2f} s of audio, which "
                             f"ends before the performance starts ({start / rate:.2f} s)")
        return audio_features(window, rate, n_fft=self.n_fft, hop_length=self.hop_length)

    def _video_part(self, record: Record, where: str, frames: FrameSource, offset: int,
                    num_frames: int) -> np.ndarray:
        indices = offset + spread_frames(num_frames, self.video_frames)
        rgb = read_frames(frames, indices, box=record.get("crop_box"), size=self.video_size,
                          chunk=None, where=where)
        return motion_features(grey_frames(rgb))

    def feature_matrix(self, records: Sequence[Record]) -> np.ndarray:
        """Features of ``records``: float64 ``(len(records), len(feature_names))``."""
        return np.stack([self.features(r) for r in records])

    # -- the model ------------------------------------------------------------------
    def fit(self, records: Sequence[Record]) -> "ClassicalFeatureBaseline":
        """Compute the training records' features and fit the scaler and the model."""
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self._start_fit(records)
        if self.model == "logistic" and self.scores:
            raise ValueError("ClassicalFeatureBaseline: model='logistic' needs levels, but the "
                             "training labels are -1 (a score dataset); use 'ridge' or 'auto'")
        self.regression = self.model == "ridge" or (self.model == "auto" and self.scores)
        x = self.feature_matrix(records)
        if self.regression:
            y = _training_scores(records, "ClassicalFeatureBaseline.fit")
            estimator = Ridge(alpha=1.0 / self.C, fit_intercept=True, solver="auto",
                              random_state=self.seed)
        else:
            y = _check_levels(records, self.num_classes, "ClassicalFeatureBaseline.fit")
            estimator = LogisticRegression(C=self.C, l1_ratio=0.0, solver="lbfgs", max_iter=1000,
                                           tol=1e-4, fit_intercept=True, class_weight=None,
                                           random_state=self.seed)
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
                return [_prediction(r, -1, [], s) for r, s in zip(records, scores)]
            labels = np.clip(np.round(scores), 0, levels - 1).astype(np.int64)
            return [_prediction(r, k, np.eye(levels)[k], s) for r, k, s in zip(records, labels, scores)]
        probs = np.zeros((len(records), levels), dtype=np.float64)
        if hasattr(self.pipeline[-1], "classes_"):
            # levels absent from training keep probability 0
            probs[:, self.pipeline[-1].classes_] = self.pipeline.predict_proba(x)
        else:
            probs[:, self._only_level] = 1.0
        expected = probs @ np.arange(levels, dtype=np.float64)
        return [_prediction(r, int(np.argmax(p)), p, s) for r, p, s in zip(records, probs, expected)]


# -- evaluation and the report table --------------------------------------------------
def _metric_type_name(cfg: Any) -> str:
    kind = cfg.get("type") if isinstance(cfg, dict) else type(cfg)
    return kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))


def evaluate_baselines(baseline_cfgs: Union[Dict[str, Any], Sequence[Dict[str, Any]]],
                       train_records: Sequence[Record], test_records: Sequence[Record],
                       metric_cfgs: Union[Dict[str, Any], Sequence[Dict[str, Any]]],
                       num_classes: Optional[int] = None) -> Dict[str, Dict[str, Any]]:
    """Fit each baseline on ``train_records``, predict ``test_records`` and run the
    metrics on its predictions.

    Args:
        baseline_cfgs: config dicts of :data:`pisa.registry.BASELINES` (one or a list);
            an optional ``name`` key names the baseline (default its ``type``).
        train_records, test_records: performance records (the datasets' ``.performances``).
        metric_cfgs: the test evaluator's metric configs (one or a list) of
            :data:`pisa.registry.METRICS`; ``DumpResults`` is left out.
        num_classes: levels ``C`` (give the dataset's ``metainfo['num_classes']`` so the
            baselines' ``probs`` match the model's); None: the highest label of both
            record lists + 1 (None for a score dataset). Given to every baseline whose
            config does not set it, and to the metrics as ``dataset_meta``.

    Returns:
        ``{baseline name: {metric key: value}}``, all metrics' keys merged (with each
        metric's ``prefix``, as mmengine's evaluator names them).
    """
    from pisa.registry import BASELINES, METRICS

    cfgs = [baseline_cfgs] if isinstance(baseline_cfgs, dict) else list(baseline_cfgs)
    metric_list = [metric_cfgs] if isinstance(metric_cfgs, dict) else list(metric_cfgs)
    metric_list = [m for m in metric_list if _metric_type_name(m) != "DumpResults"]
    if num_classes is None:
        num_classes = infer_num_classes(list(train_records) + list(test_records))
    out: Dict[str, Dict[str, Any]] = {}
    for cfg in cfgs:
        cfg = dict(cfg)
        name = str(cfg.pop("name", None) or _metric_type_name(cfg))
        if name in out:
            raise ValueError(f"two baselines are named {name!r}; give one a different 'name'")
        kind = cfg.get("type")
        if kind is None:
            raise KeyError(f"baseline config {cfg!r} has no 'type' (e.g. 'MajorityBaseline')")
        kind = BASELINES.get(kind) if isinstance(kind, str) else kind
        # a plugin's baseline need not take num_classes
        takes_classes = "num_classes" in inspect.signature(kind).parameters
        baseline = BASELINES.build(cfg, default_args=dict(num_classes=num_classes) if takes_classes else None)
        baseline.fit(train_records)
        predictions = baseline.predict(test_records)
        metrics: Dict[str, Any] = {}
        for metric_cfg in metric_list:
            metric = METRICS.build(dict(metric_cfg))
            metric.dataset_meta = {"num_classes": num_classes}
            metric.process({}, predictions)
            values = metric.compute_metrics(metric.results)
            metric.results.clear()
            if metric.prefix:
                values = {f"{metric.prefix}/{k}": v for k, v in values.items()}
            metrics.update(values)
        out[name] = metrics
    return out


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _cell(value: Any) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    return "nan" if math.isnan(value) else f"{value:.4f}"


def format_comparison_table(model_metrics: Dict[str, Any],
                            baseline_metrics: Dict[str, Dict[str, Any]],
                            keys: Optional[Sequence[str]] = None, model_name: str = "model") -> str:
    """A markdown table: one row per metric, columns ``metric``, ``model_name`` (the
    model's value) and each baseline of ``baseline_metrics`` in its order. ``keys``: the
    rows; default the model's scalar metrics (numbers, not the confusion matrix) that
    every baseline has too, in the model's order. A value missing from a column shows as
    ``n/a``; floats with 4 decimals."""
    names = list(baseline_metrics)
    if keys is None:
        keys = [k for k, v in model_metrics.items() if _is_scalar(v)
                and all(_is_scalar(baseline_metrics[n].get(k)) for n in names)]
    if not keys:
        raise ValueError("no metric to compare: the model and the baselines share no scalar "
                         f"metric (model: {sorted(model_metrics)})")
    columns = [model_metrics] + [baseline_metrics[n] for n in names]
    header = ["metric", model_name] + names
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for key in keys:
        cells = [_cell(c.get(key)) if _is_scalar(c.get(key)) else "n/a" for c in columns]
        lines.append("| " + " | ".join([str(key)] + cells) + " |")
    return "\n".join(lines) + "\n"
