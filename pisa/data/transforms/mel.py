"""Audio for the audio branch: each clip's window of samples and the mel-spectrogram image
the branch sees (librosa, with the settings of the released PISA loader; its padding and
image steps on request). Reading the track is :func:`pisa.io.media.read_audio`."""
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


#: ``image=`` of :func:`mel_images`
IMAGE_RECIPES = ("float", "release")


def check_image_settings(image: str, max_value: float) -> None:
    """``ValueError`` unless ``image`` is one of :data:`IMAGE_RECIPES` and ``max_value > 0``."""
    if image not in IMAGE_RECIPES:
        raise ValueError(f"mel image must be one of {IMAGE_RECIPES}, got {image!r}")
    if not float(max_value) > 0:
        raise ValueError(f"mel image max_value must be > 0, got {max_value!r}")


def release_image(db: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """The released PISA loader's image of one dB spectrogram ``(n_mels, frames)``, in
    its steps and their order (its ``spec_to_image``): standardised with ``std + 1e-6``,
    scaled to 0..255 (a flat spectrogram, max == min, is divided by 5 instead: it comes
    out all zero), cast to uint8 (truncating), cut to its first ``W`` columns, then
    resized as a one-channel image to ``size = (H, W)`` with PIL bilinear. Returns uint8
    ``(H, W)``."""
    from PIL import Image

    height, width = int(size[0]), int(size[1])
    mean, std = db.mean(), db.std()
    norm = (db - mean) / (std + 1e-6)
    lo, hi = norm.min(), norm.max()
    if hi == lo:
        scaled = 255 * (norm - lo) / 5
    else:
        scaled = 255 * (norm - lo) / (hi - lo)
    img = np.ascontiguousarray(scaled.astype(np.uint8)[:, :width])
    resized = Image.fromarray(img, mode="L").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def mel_images(segments: Sequence[np.ndarray], sample_rate: int, size: Tuple[int, int] = (224, 224),
               n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128, fmin: float = 20.0,
               fmax: float = 8300.0, top_db: float = 80.0, pad_mode: str = "constant",
               image: str = "float", max_value: float = 255.0) -> np.ndarray:
    """The audio branch's input for each clip: librosa mel power spectrogram of each
    segment (float32 ``(S_k,)``; Hann window, centred frames padded by ``pad_mode``, power
    2, Slaney mel filters), ``power_to_db(ref=np.max, top_db)`` per clip, then the image
    (``size = (H, W)``) by ``image``:

    - ``'float'``: standardised, scaled to 0..``max_value`` and resized whole (cv2,
      bilinear) in floating point;
    - ``'release'``: the released PISA loader's steps (:func:`release_image`: 8-bit,
      first ``W`` columns, PIL bilinear), divided by 255 and times ``max_value``
      (``max_value=1.0`` is its ``ToTensor`` scale).

    ``pad_mode`` goes to librosa as given: ``'constant'`` (zeros) is librosa 0.10+'s
    default, ``'reflect'`` that of the librosa < 0.10 the release ran on. The reference
    of ``power_to_db`` cancels in the standardisation (the release used ``ref=1.0``).

    Returns float32 ``(K, H, W)``. Segments of equal length go through librosa in one
    multichannel call (one STFT and filter bank for all of them; the same values as one
    call each, but for float32 rounding in the batched filter product, ~3e-8 relative).
    A window without signal (digital silence: a pause within a performance
    whose track is not silent, see :func:`check_audio`) has no scale to standardise and
    gives an all-zero image (what the release's flat-spectrogram rule gives too); an
    empty window raises ``ValueError``."""
    import cv2
    import librosa

    check_image_settings(image, max_value)
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
            fmin=fmin, fmax=fmax, window="hann", center=True, pad_mode=pad_mode, power=2.0,
            htk=False, norm="slaney",
        )
        for k, mel in zip(indices, mels):
            db = librosa.power_to_db(mel, ref=np.max, amin=1e-10, top_db=top_db)
            if image == "release":
                img = release_image(db, (height, width)).astype(np.float32)
                # 0..255 stays exact; otherwise as ToTensor: / 255 (then * max_value)
                if max_value != 255.0:
                    img = img / np.float32(255.0) * np.float32(max_value)
                out[k] = img
                continue
            std = float(db.std())
            if std == 0.0:
                continue
            z = (db - db.mean()) / std
            z = (z - z.min()) / (z.max() - z.min()) * float(max_value)
            out[k] = cv2.resize(z.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return out
