"""Hand-made per-performance features of :class:`~pisa.evaluation.baselines.classical.ClassicalFeatureBaseline`:
audio statistics (librosa) and frame-difference motion statistics."""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

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
