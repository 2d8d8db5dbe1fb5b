"""Audio for the audio branch: each clip's window of samples and the mel-spectrogram image
the branch sees (librosa, with the settings of the released PISA loader). Reading the
track is :func:`pisa.io.media.load_audio`."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

#: the released PISA loader's settings
MEL_DEFAULTS = dict(n_fft=2048, hop_length=512, n_mels=128, fmin=20.0, fmax=8300.0, top_db=80.0)


def clip_windows(frame_inds: np.ndarray, fps: float, sample_rate: int, offset: int = 0) -> np.ndarray:
    """Per clip the sample range from its first to its last frame: ``(K, 2)`` int64 of
    ``offset + int(frame / fps * sample_rate)`` (start, end exclusive) for
    ``frame_inds`` ``(K, T)``."""
    frame_inds = np.asarray(frame_inds)
    first = frame_inds[:, 0].astype(np.float64)
    last = frame_inds[:, -1].astype(np.float64)
    start = (first / fps * sample_rate).astype(np.int64) + offset
    end = (last / fps * sample_rate).astype(np.int64) + offset
    return np.stack([start, end], axis=1)


def mel_images(segments: Sequence[np.ndarray], sample_rate: int, size: Tuple[int, int] = (224, 224),
               n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128, fmin: float = 20.0,
               fmax: float = 8300.0, top_db: float = 80.0) -> np.ndarray:
    """The audio branch's input for each clip: librosa mel power spectrogram of each
    segment (float32 ``(S_k,)``), ``power_to_db(ref=np.max, top_db)`` per clip,
    standardised, scaled to 0..255 and resized (cv2, bilinear) to ``size = (H, W)``.
    Returns float32 ``(K, H, W)``. Segments of equal length go through librosa in one
    multichannel call (one STFT and filter bank for all of them; the same values as one
    call each). A window without signal (digital silence: a pause within a performance
    whose track is not silent, see :func:`check_audio`) has no scale to standardise and
    gives an all-zero image; an empty window raises ``ValueError``."""
    import cv2
    import librosa

    height, width = int(size[0]), int(size[1])
    out = np.zeros((len(segments), height, width), dtype=np.float32)
    by_length: Dict[int, List[int]] = {}
    for k, segment in enumerate(segments):
        if len(segment) == 0:
            raise ValueError("the audio window is empty")
        if np.any(segment):  # silent windows stay all zero
            by_length.setdefault(len(segment), []).append(k)
    for indices in by_length.values():
        batch = np.stack([np.asarray(segments[k], dtype=np.float32) for k in indices])
        mels = librosa.feature.melspectrogram(
            y=batch, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
            fmin=fmin, fmax=fmax,
        )
        for k, mel in zip(indices, mels):
            db = librosa.power_to_db(mel, ref=np.max, top_db=top_db)
            std = float(db.std())
            if std == 0.0:
                continue
            z = (db - db.mean()) / std
            z = (z - z.min()) / (z.max() - z.min()) * 255.0
            out[k] = cv2.resize(z.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return out
