"""The classical-feature baseline: per performance a few audio and motion statistics
(:mod:`pisa.evaluation.baselines.classical_features`), then a scikit-learn scaler and
linear model (:mod:`pisa.evaluation.baselines.linear_features`)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from pisa.evaluation.baselines.classical_features import (AUDIO_FEATURES, MOTION_FEATURES,
                                                          audio_features, grey_frames,
                                                          motion_features, spread_frames)
from pisa.evaluation.baselines.fit_predict import Record, describe_record
from pisa.evaluation.baselines.linear_features import LinearFeatureBaseline
from pisa.io.media import FrameSource, read_audio, read_frames
from pisa.registry import component

#: what :class:`ClassicalFeatureBaseline` does when a performance has no media for a
#: modality (no audio track / no video source)
MISSING_MODALITY = ("error", "skip")


@component("baseline")
class ClassicalFeatureBaseline(LinearFeatureBaseline):
    """Hand-made features + a linear model: per performance the :data:`AUDIO_FEATURES`
    of the first ``seconds`` of its audio (from ``frame_offset / fps`` s) and the
    :data:`MOTION_FEATURES` of ``video_frames`` frames spread evenly over its frames,
    cropped to ``crop_box`` and resized to ``video_size``; then the imputer, scaler and
    linear model of :class:`~pisa.evaluation.baselines.linear_features.LinearFeatureBaseline`
    (the imputer only acts on a modality skipped for some performances). A recording
    shorter than asked for is used as far as it goes.

    Args:
        audio, video: which modalities give features.
        seconds: audio analysed per performance (s; at most the performance's length).
        video_frames: frames read per performance.
        video_size: ``(h, w)`` the cropped frames are resized to.
        model, C, seed, num_classes: :class:`~pisa.evaluation.baselines.linear_features.LinearFeatureBaseline`'s.
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
        super().__init__(model=model, C=C, seed=seed, num_classes=num_classes)
        if not (audio or video):
            raise ValueError("ClassicalFeatureBaseline: audio and video are both off; enable one")
        if missing_modality not in MISSING_MODALITY:
            raise ValueError(f"ClassicalFeatureBaseline: missing_modality must be one of "
                             f"{MISSING_MODALITY}, got {missing_modality!r}")
        if not float(seconds) > 0 or int(video_frames) < 2:
            raise ValueError(f"ClassicalFeatureBaseline: needs seconds > 0 and video_frames >= 2, "
                             f"got seconds={seconds}, video_frames={video_frames}")
        self.audio, self.video = bool(audio), bool(video)
        self.seconds = float(seconds)
        self.video_frames = int(video_frames)
        self.video_size = (int(video_size[0]), int(video_size[1]))
        self.sample_rate = None if sample_rate is None else int(sample_rate)
        self.missing_modality = missing_modality
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        # the last audio track read: consecutive performances often share a recording
        self._last_track: Optional[Tuple[str, np.ndarray, int]] = None

    @property
    def feature_names(self) -> List[str]:
        """Names of the feature vector's entries, in order."""
        return (list(AUDIO_FEATURES) if self.audio else []) + (list(MOTION_FEATURES) if self.video else [])

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
