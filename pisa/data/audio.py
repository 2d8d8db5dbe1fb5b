"""Audio: reading a mono track at a chosen rate (decord, from a wav file or a video's own
track), each clip's window of samples, and the mel-spectrogram image the audio branch
sees (librosa, with the settings of the released PISA loader)."""
from __future__ import annotations

import os
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

#: the released PISA loader's settings
MEL_DEFAULTS = dict(n_fft=2048, hop_length=512, n_mels=128, fmin=20.0, fmax=8300.0, top_db=80.0)


def load_audio(path: PathLike, sample_rate: int) -> np.ndarray:
    """Mono float32 samples ``(S,)`` of ``path`` (wav, or a video with an audio track),
    resampled to ``sample_rate``. Errors name the file: missing, no audio track,
    unreadable, NaN, or silent throughout."""
    import decord

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: audio source not found")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file (0 bytes), no audio to read")
    try:
        reader = decord.AudioReader(path, sample_rate=int(sample_rate), mono=True)
        samples = reader[:].asnumpy()
    except Exception as err:  # decord raises its own error types for every failure
        text = str(err)
        if "find audio stream" in text:
            raise ValueError(f"{path}: has no audio track, but the audio modality needs one") from None
        raise ValueError(f"{path}: cannot read audio ({text.splitlines()[0][:200]})") from None
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    check_audio(samples, path)
    return samples


def check_audio(samples: np.ndarray, source: str) -> None:
    """Raise ``ValueError`` naming ``source`` when ``samples`` are empty, hold NaN/inf, or
    are silent (all exactly zero)."""
    if samples.size == 0:
        raise ValueError(f"{source}: the audio track is empty")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{source}: the audio holds NaN or infinite samples")
    if not np.any(samples):
        raise ValueError(f"{source}: the audio is silent (every sample is 0)")


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


def mel_image(segment: np.ndarray, sample_rate: int, size: Tuple[int, int] = (224, 224),
              n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128, fmin: float = 20.0,
              fmax: float = 8300.0, top_db: float = 80.0) -> np.ndarray:
    """The audio branch's input for one clip: float32 ``(H, W)``; see :func:`mel_images`."""
    return mel_images([segment], sample_rate, size, n_fft, hop_length, n_mels, fmin, fmax, top_db)[0]


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
