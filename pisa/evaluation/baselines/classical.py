"""The classical-feature baseline: per performance a few audio and motion statistics
(:mod:`pisa.evaluation.baselines.classical_features`), then a scikit-learn scaler and
linear model."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pisa.evaluation.baselines.classical_features import (AUDIO_FEATURES, MOTION_FEATURES,
                                                          audio_features, grey_frames,
                                                          motion_features, spread_frames)
from pisa.evaluation.baselines.fit_predict import (Baseline, Prediction, Record, check_levels,
                                                   prediction_of, training_scores, describe_record)
from pisa.io.media import FrameSource, read_audio, read_frames
from pisa.registry import component

#: what :class:`ClassicalFeatureBaseline` does when a performance has no media for a
#: modality (no audio track / no video source)
MISSING_MODALITY = ("error", "skip")
MODEL_KINDS = ("auto", "logistic", "ridge")


@component("baseline")
class ClassicalFeatureBaseline(Baseline):
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

    example = dict(args=dict(audio=True, video=False, seconds=0.5, sample_rate=8000, n_fft=256,
                             hop_length=64),
                   records=lambda: _example_records())

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
        where = describe_record(record)
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
            y = training_scores(records, "ClassicalFeatureBaseline.fit")
            estimator = Ridge(alpha=1.0 / self.C, fit_intercept=True, solver="auto",
                              random_state=self.seed)
        else:
            y = check_levels(records, self.num_classes, "ClassicalFeatureBaseline.fit")
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
                return [prediction_of(r, -1, [], s) for r, s in zip(records, scores)]
            labels = np.clip(np.round(scores), 0, levels - 1).astype(np.int64)
            return [prediction_of(r, k, np.eye(levels)[k], s) for r, k, s in zip(records, labels, scores)]
        probs = np.zeros((len(records), levels), dtype=np.float64)
        if hasattr(self.pipeline[-1], "classes_"):
            # levels absent from training keep probability 0
            probs[:, self.pipeline[-1].classes_] = self.pipeline.predict_proba(x)
        else:
            probs[:, self._only_level] = 1.0
        expected = probs @ np.arange(levels, dtype=np.float64)
        return [prediction_of(r, int(np.argmax(p)), p, s) for r, p, s in zip(records, probs, expected)]


def _example_records() -> Tuple[List[Record], List[Record]]:
    """Training and test records of 2 levels, each with a wav of tones at 8 kHz in a
    temporary folder removed at exit (the ``example``); the louder level is higher."""
    import atexit
    import os
    import shutil
    import tempfile

    from pisa.io.media import write_wav

    folder = tempfile.mkdtemp(prefix="pisa-example-")
    atexit.register(shutil.rmtree, folder, True)
    t = np.arange(4000) / 8000.0
    records = []
    for i in range(8):
        level = i % 2
        path = os.path.join(folder, f"p{i}.wav")
        write_wav(path, (0.1 + 0.3 * level) * np.sin(2 * np.pi * (220.0 + 40.0 * i) * t), 8000)
        records.append({"perf_id": f"p{i}", "audio_path": path, "video_path": None, "frame_offset": 0,
                        "num_frames": 5, "fps": 10.0, "crop_box": None, "label": level,
                        "score": float(level), "group": f"p{i}"})
    return records[:6], records[6:]
