"""Clip samplers: which frames of a (trimmed) performance make up each sample.

Every sampler returns an int64 array ``(S, K, T)``: ``S`` samples, each of ``K`` clips of
``T`` frame indices, 0-based and relative to the first frame of the trimmed performance.

``contiguous_indices`` and ``uniform_indices`` reproduce the released PISA annotations
(``annotations_{consecutive,unidist}_*.pkl``): a performance of ``F`` frames gives
``N = floor(F / (K*T))`` non-overlapping samples and the tail past ``N*K*T`` frames is
dropped. ``random_clip_indices`` (training) and ``center_clip_indices`` (testing) give
one sample per video, for datasets with one target per video.

Temporal jitter (``jitter`` frames on :class:`ContiguousSampler` and
:class:`UniformSampler`, training only): every clip of a sample moves by its own number of
frames, drawn uniformly from ``-jitter..jitter`` each time the sample is read
(:func:`jitter_clips`; such a sampler is ``random``), never past the performance's first
or last frame. The dataset draws it only for samples its sampler cut, from
:func:`pisa.data.core.seeding.draw_rng`: samples an annotation lists stay as listed, and a
``test_mode`` dataset uses the sampler without jitter (:func:`without_jitter`), so
validation and test read the exact scheme.
"""
from __future__ import annotations

import copy
from typing import Optional, Sequence

import numpy as np

from pisa.registry import component


def _num_samples(num_frames: int, num_clips: int, clip_len: int, max_samples: Optional[int]) -> int:
    if num_clips < 1 or clip_len < 1:
        raise ValueError(f"num_clips and clip_len must be >= 1, got {num_clips} and {clip_len}")
    n = int(num_frames) // (num_clips * clip_len)
    return n if max_samples is None else min(n, int(max_samples))


def contiguous_indices(num_frames: int, num_clips: int = 10, clip_len: int = 16,
                       max_samples: Optional[int] = None) -> np.ndarray:
    """Sample ``i`` is frames ``K*T*i .. K*T*(i+1) - 1`` cut into ``K`` clips of ``T``.

    Returns ``(S, K, T)`` int64 with ``S = floor(num_frames / (K*T))`` (at most
    ``max_samples``); ``S`` is 0 when the performance is shorter than one sample."""
    n = _num_samples(num_frames, num_clips, clip_len, max_samples)
    span = num_clips * clip_len
    return np.arange(n * span, dtype=np.int64).reshape(n, num_clips, clip_len)


def uniform_indices(num_frames: int, num_clips: int = 10, clip_len: int = 16,
                    max_samples: Optional[int] = None) -> np.ndarray:
    """The used span ``N*K*T`` is cut into ``N*K`` clips of ``T`` frames dealt out
    round-robin: clip ``j`` of sample ``i`` is clip number ``i + j*N`` of the span, so each
    sample covers the whole performance. Returns ``(S, K, T)`` int64, ``S <= N``."""
    n_all = _num_samples(num_frames, num_clips, clip_len, None)
    n = _num_samples(num_frames, num_clips, clip_len, max_samples)
    i = np.arange(n)[:, None, None]
    j = np.arange(num_clips)[None, :, None]
    t = np.arange(clip_len)[None, None, :]
    return (clip_len * (i + j * n_all) + t).astype(np.int64)


def _segment_starts(num_frames: int, num_clips: int, clip_len: int) -> tuple:
    if num_frames < clip_len:
        raise ValueError(f"{num_frames} frames are fewer than one clip of {clip_len} frames")
    bounds = np.linspace(0, num_frames, num_clips + 1)
    lo = np.floor(bounds[:-1]).astype(np.int64)
    hi = np.maximum(np.floor(bounds[1:]).astype(np.int64) - clip_len, lo)
    last = num_frames - clip_len
    return np.minimum(lo, last), np.minimum(hi, last)


def center_clip_indices(num_frames: int, num_clips: int = 1, clip_len: int = 16) -> np.ndarray:
    """One sample: the video cut into ``K`` equal segments, from each the ``T``-frame clip
    at its centre (clips overlap when a segment is shorter than ``T``). ``(1, K, T)``."""
    lo, hi = _segment_starts(num_frames, num_clips, clip_len)
    starts = (lo + hi) // 2
    return (starts[:, None] + np.arange(clip_len)[None, :]).astype(np.int64)[None]


def random_clip_indices(num_frames: int, num_clips: int = 1, clip_len: int = 16,
                        rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """One sample: from each of ``K`` equal segments a ``T``-frame clip at a random start
    within the segment. ``(1, K, T)`` int64."""
    rng = np.random.default_rng() if rng is None else rng
    lo, hi = _segment_starts(num_frames, num_clips, clip_len)
    starts = rng.integers(lo, hi + 1)
    return (starts[:, None] + np.arange(clip_len)[None, :]).astype(np.int64)[None]


def jitter_clips(inds: np.ndarray, num_frames: int, jitter: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``inds`` ``(S, K, T)`` (clips of consecutive frames) with every clip moved by its
    own offset, uniform over the whole numbers in ``-jitter..jitter`` that keep the clip
    inside frames ``0..num_frames - 1`` (a clip at the start only moves forward). Returns
    a new int64 array of the same shape; ``ValueError`` when a clip is outside already."""
    inds = np.asarray(inds, dtype=np.int64)
    low = np.maximum(-int(jitter), -inds[..., 0])
    high = np.minimum(int(jitter), int(num_frames) - 1 - inds[..., -1])
    if np.any(high < low):
        raise ValueError(f"jitter_clips: clips reach frame {int(inds.max())}, outside the "
                         f"{num_frames} frames of the performance")
    return inds + rng.integers(low, high, endpoint=True)[..., None]


def without_jitter(sampler: "ClipSampler") -> "ClipSampler":
    """``sampler`` itself, or a copy without its training randomness (``jitter=0``, a
    :class:`WindowClipSampler`'s ``shift=(0, 0)``): a ``test_mode`` dataset's, so
    validation and test read the exact scheme."""
    exact = copy.copy(sampler)
    if getattr(sampler, "jitter", 0):
        exact.jitter = 0
    elif tuple(getattr(sampler, "shift", (0, 0))) != (0, 0):
        exact.shift = (0, 0)
    else:
        return sampler
    return exact


class ClipSampler:
    """Base of the registered samplers: ``sampler(num_frames, rng=None) -> (S, K, T)``.

    ``random`` samplers are drawn again each time a sample is read."""

    random = False

    def __init__(self, num_clips: int = 10, clip_len: int = 16) -> None:
        self.num_clips = int(num_clips)
        self.clip_len = int(clip_len)

    @property
    def sample_frames(self) -> int:
        """Frames one sample needs at least."""
        return self.clip_len

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


@component("clip_sampler")
class ContiguousSampler(ClipSampler):
    """:func:`contiguous_indices` (the released "consecutive" scheme). ``jitter`` > 0
    frames: called with ``rng`` (each read of a training sample), every clip moves by up
    to ``jitter`` frames (:func:`jitter_clips`; clips keep their order while
    ``jitter < clip_len / 2``); without ``rng`` the exact scheme."""

    example = dict(args=dict(num_clips=2, clip_len=4), num_frames=20)

    def __init__(self, num_clips: int = 10, clip_len: int = 16, max_samples: Optional[int] = None,
                 jitter: int = 0) -> None:
        super().__init__(num_clips, clip_len)
        self.max_samples = max_samples
        if isinstance(jitter, bool) or int(jitter) != jitter or jitter < 0:
            raise ValueError(f"{type(self).__name__}: jitter must be a whole number of "
                             f"frames >= 0, got {jitter!r}")
        self.jitter = int(jitter)

    @property
    def random(self) -> bool:  # a jittered sampler is drawn again on every read
        return self.jitter > 0

    @property
    def sample_frames(self) -> int:
        return self.num_clips * self.clip_len

    def _jittered(self, inds: np.ndarray, num_frames: int,
                  rng: Optional[np.random.Generator]) -> np.ndarray:
        if rng is None or not self.jitter:
            return inds
        return jitter_clips(inds, num_frames, self.jitter, rng)

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        inds = contiguous_indices(num_frames, self.num_clips, self.clip_len, self.max_samples)
        return self._jittered(inds, num_frames, rng)


@component("clip_sampler")
class UniformSampler(ContiguousSampler):
    """:func:`uniform_indices` (the released "unidist" scheme); ``jitter`` as
    :class:`ContiguousSampler`'s (jittered clips may reach into the dropped tail)."""

    example = dict(args=dict(num_clips=2, clip_len=4, jitter=1), num_frames=21)

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        inds = uniform_indices(num_frames, self.num_clips, self.clip_len, self.max_samples)
        return self._jittered(inds, num_frames, rng)


@component("clip_sampler")
class CenterClipSampler(ClipSampler):
    """:func:`center_clip_indices`: one deterministic sample per video (testing)."""

    example = dict(args=dict(num_clips=3, clip_len=4), num_frames=20)

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        return center_clip_indices(num_frames, self.num_clips, self.clip_len)


@component("clip_sampler")
class RandomClipSampler(ClipSampler):
    """:func:`random_clip_indices`: one sample per video, drawn anew on every read
    (training)."""

    example = dict(args=dict(num_clips=3, clip_len=4), num_frames=20)

    random = True

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        return random_clip_indices(num_frames, self.num_clips, self.clip_len, rng)


@component("clip_sampler")
class WindowClipSampler(ClipSampler):
    """The field's I3D recipes: a window of ``window`` frames of the performance, and from
    it the ``clip_len``-frame clips that start at ``starts`` (window positions), as one
    sample ``(1, len(starts), clip_len)``.

    ``spacing='consecutive'``: the window is ``window`` consecutive frames from the
    performance's first frame (``anchor='start'``) or ending at its last
    (``anchor='end'``), moved by ``offset`` frames; with ``shift=(lo, hi)`` a training
    read (``rng`` given) moves it by a whole number drawn uniformly from ``lo..hi``.
    Frames past either end of the performance repeat its first or last frame.
    ``spacing='linspace'``: the window is ``window`` frames spread evenly from the first
    to the last frame (``np.linspace(0, F - 1, window)`` truncated), with no shift.

    The references: MUSDL (MTL-AQA): 103 frames from the dive's start, shifted by 0..6 in
    training, clips at 0, 10, ..., 80, 87; CoRe (MTL-AQA): the 103 frames before the
    annotated end frame (``anchor='end', offset=-1``), shifted by -3..3, clips at 0, 10,
    ..., 80, 86; FineDiving's TSA loader: 96 frames spread over the dive, clips at 0, 10,
    ..., 80."""

    example = dict(args=dict(window=10, starts=(0, 3, 6), clip_len=4, shift=(-1, 1)), num_frames=12)

    def __init__(self, window: int = 103, starts: Sequence[int] = (0, 10, 20, 30, 40, 50, 60, 70, 80, 87),
                 clip_len: int = 16, anchor: str = "start", offset: int = 0,
                 shift: Sequence[int] = (0, 0), spacing: str = "consecutive") -> None:
        starts = tuple(int(s) for s in starts)
        super().__init__(num_clips=len(starts), clip_len=clip_len)
        name = type(self).__name__
        if not starts or min(starts) < 0 or max(starts) + self.clip_len > int(window):
            raise ValueError(f"{name}: every clip must lie in the {window}-frame window: starts "
                             f"{list(starts)} with clip_len {clip_len}")
        if anchor not in ("start", "end"):
            raise ValueError(f"{name}: anchor must be 'start' or 'end', got {anchor!r}")
        if spacing not in ("consecutive", "linspace"):
            raise ValueError(f"{name}: spacing must be 'consecutive' or 'linspace', got {spacing!r}")
        lo, hi = (int(v) for v in shift)
        if lo > hi or (spacing == "linspace" and (lo, hi) != (0, 0)):
            raise ValueError(f"{name}: shift must be (lo, hi) with lo <= hi, and (0, 0) with "
                             f"spacing='linspace'; got {tuple(shift)}")
        self.window, self.starts, self.anchor = int(window), starts, anchor
        self.offset, self.shift, self.spacing = int(offset), (lo, hi), spacing

    @property
    def random(self) -> bool:  # a shifted window is drawn again on every read
        return self.shift != (0, 0)

    @property
    def sample_frames(self) -> int:
        return 1

    def window_frames(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        """The window's ``window`` frame indices of a performance of ``num_frames``."""
        if num_frames < 1:
            raise ValueError(f"{type(self).__name__}: a performance of {num_frames} frames")
        if self.spacing == "linspace":
            return np.linspace(0, num_frames - 1, self.window).astype(np.int64)
        first = self.offset + (0 if self.anchor == "start" else num_frames - self.window)
        if rng is not None and self.random:
            first += int(rng.integers(self.shift[0], self.shift[1], endpoint=True))
        return np.clip(first + np.arange(self.window), 0, num_frames - 1).astype(np.int64)

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        frames = self.window_frames(int(num_frames), rng)
        starts = np.asarray(self.starts)[:, None] + np.arange(self.clip_len)[None, :]
        return frames[starts][None]
