"""The clip sampler of whole-performance feature extraction: every consecutive clip."""
from __future__ import annotations

from typing import Optional

import numpy as np

from pisa.data.core.clip_samplers import ClipSampler
from pisa.registry import component


@component("clip_sampler")
class AllClipsSampler(ClipSampler):
    """Every consecutive ``clip_len``-frame clip of the performance as one sample
    ``(1, N, T)``, ``N = floor(F / T)``; the ``F - N*T`` frames left over are dropped
    evenly at the head and the tail (GDLT's feature extraction for Rhythmic Gymnastics,
    ``rg_swintx.py``: "drop head and tail evenly, keep the middle"). ``num_clips`` is the
    fewest clips a performance must have (and the clips of a timeline segment)."""

    example = dict(args=dict(clip_len=4, num_clips=2), num_frames=19)

    def __init__(self, clip_len: int = 32, num_clips: int = 1) -> None:
        super().__init__(num_clips=num_clips, clip_len=clip_len)

    @property
    def sample_frames(self) -> int:
        return self.num_clips * self.clip_len

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        n = int(num_frames) // self.clip_len
        if n < self.num_clips:
            return np.zeros((0, self.num_clips, self.clip_len), dtype=np.int64)
        start = (int(num_frames) - n * self.clip_len) // 2
        return (start + np.arange(n * self.clip_len, dtype=np.int64)).reshape(1, n, self.clip_len)
