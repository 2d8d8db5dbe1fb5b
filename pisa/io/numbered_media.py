"""Tiny media whose frames tell which frame they are, for examples and tests: frame ``i``
is a flat grey of level :func:`frame_level` ``(i)``, far enough from its neighbours that
H.264 never confuses two, so a decoded frame gives its index back (:func:`frame_index_of`).
Written with :func:`pisa.io.media.write_video` / ``write_wav`` (PyAV's own FFmpeg) and
OpenCV for jpg frame folders; nothing is checked in."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

from pisa.io.media import write_video

PathLike = Union[str, os.PathLike]
#: grey levels used for frame numbering: 24, 28, ..., 232 (53 distinct frames)
_LEVEL_LO, _LEVEL_STEP, _LEVELS = 24, 4, 53
TONE_HZ = 440.0


def frame_level(i: int) -> int:
    """The grey level of frame ``i`` (cycles after 53 frames)."""
    return _LEVEL_LO + _LEVEL_STEP * (i % _LEVELS)


def frame_index_of(frame: np.ndarray) -> int:
    """Which frame (mod 53) a decoded ``(H, W, 3)`` numbered frame is."""
    return int(round((float(np.median(frame)) - _LEVEL_LO) / _LEVEL_STEP)) % _LEVELS


def numbered_frames(frames: int, size: Tuple[int, int] = (64, 48)) -> np.ndarray:
    """uint8 ``(frames, H, W, 3)``, ``size = (W, H)``: frame ``i`` flat grey :func:`frame_level` ``(i)``."""
    w, h = size
    levels = np.array([frame_level(i) for i in range(frames)], dtype=np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (frames, h, w, 3))


def tone_audio(num_samples: int, sample_rate: int, tone_at_sample: Optional[int] = None,
               freq: float = TONE_HZ, amplitude: float = 0.5) -> np.ndarray:
    """float32 ``(num_samples,)``: silence, then a sine of ``freq`` Hz from
    ``tone_at_sample`` to the end (all silence when it is None)."""
    out = np.zeros(num_samples, dtype=np.float32)
    if tone_at_sample is not None and 0 <= tone_at_sample < num_samples:
        t = np.arange(num_samples - tone_at_sample) / sample_rate
        out[tone_at_sample:] = amplitude * np.sin(2 * np.pi * freq * t)
    return out


def write_numbered_video(path: PathLike, frames: int = 32, size: Tuple[int, int] = (64, 48),
                         fps: float = 25.0, audio: bool = True,
                         tone_at_frame: Optional[int] = None, sample_rate: int = 16000) -> Path:
    """An mp4 of ``frames`` :func:`numbered_frames` at ``fps``; with ``audio``, an AAC track
    of the same duration, silent before ``tone_at_frame`` and a 440 Hz tone from it on."""
    track = None
    if audio:
        n = int(round(frames / fps * sample_rate))
        start = None if tone_at_frame is None else int(round(tone_at_frame / fps * sample_rate))
        track = tone_audio(n, sample_rate, start)
    return write_video(path, numbered_frames(frames, size), fps, audio=track, sample_rate=sample_rate)


def write_frame_folder(folder: PathLike, frames: int, first: int = 1,
                       pattern: str = "img_{:05d}.jpg", size: Tuple[int, int] = (24, 20)) -> List[Path]:
    """``frames`` numbered jpgs ``size = (W, H)`` named ``pattern.format(first + i)``."""
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    paths = []
    for i in range(frames):
        path = folder / pattern.format(first + i)
        if not cv2.imwrite(str(path), np.full((h, w, 3), frame_level(i), dtype=np.uint8)):
            raise OSError(f"{path}: could not write the frame")
        paths.append(path)
    return paths
