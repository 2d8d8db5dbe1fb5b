"""Synthetic piano performances, planned from a seed: who plays what, at which level,
in which look (:class:`SynthSettings`, :class:`Appearance`, :class:`Performance`,
:func:`plan_performances`), on the keyboard both the picture and the sound use
(:data:`KEY_IS_BLACK`, :data:`KEY_LEFT`, :data:`KEY_RIGHT`). The player level (1..10)
shows only in *what* is played and *how*: notes per second, chord size, how far the hands
travel over the keyboard, and how regular the timing is. Static appearance (lighting,
colours, where the keyboard sits in the frame, its size, the lead-in length) is drawn
from its own random stream, independently of the level. The files' columns are here too:
:mod:`pisa.synth.dataset` writes them, the adapters' docs name them.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import List, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]


#: columns of ``performances.csv`` (the PISA table, ``pisa/resources/pisa_performances.csv``)
PERFORMANCE_COLUMNS = (
    "id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
    "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video", "youtube", "song",
)
#: columns of ``annotations.csv`` (the generic AQA CSV format)
ANNOTATION_COLUMNS = (
    "id", "split", "video", "audio", "target", "frame_start", "frame_end",
    "crop_x1", "crop_y1", "crop_x2", "crop_y2", "group",
)
#: columns of ``notes.csv``; times in seconds from the start of the video file
NOTE_COLUMNS = ("id", "onset", "offset", "midi", "hand", "velocity")

#: lowest key on the rendered keyboard (C3) and its number of white keys (3 octaves)
LOWEST_MIDI = 48
WHITE_KEYS = 21
_WHITE_STEPS = (0, 2, 4, 5, 7, 9, 11)   # semitones of the white keys in an octave
BLACK_AFTER = (0, 1, 3, 4, 5)          # white keys (in an octave) followed by a black key


@dataclass(frozen=True)
class SynthSettings:
    """What to render. ``seconds`` is the mean length of the played part of a performance
    (each varies by +-15 %, independently of the level); ``width``/``height`` the frame
    size in pixels."""

    performances: int = 20
    seed: int = 0
    width: int = 160
    height: int = 120
    seconds: float = 18.0
    fps: float = 30.0
    sample_rate: int = 22050
    test_fraction: float = 0.4

    def __post_init__(self) -> None:
        if self.performances < 1:
            raise ValueError(f"performances must be >= 1, got {self.performances}")
        if self.width < 64 or self.height < 48:
            raise ValueError(f"frame size must be at least 64x48, got {self.width}x{self.height}")
        if self.seconds < 1.0:
            raise ValueError(f"seconds must be >= 1, got {self.seconds}")
        if not 1.0 <= self.fps <= 120.0:
            raise ValueError(f"fps must be in 1..120, got {self.fps}")
        if not 8000 <= self.sample_rate <= 96000:
            raise ValueError(f"sample_rate must be in 8000..96000, got {self.sample_rate}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")


@dataclass(frozen=True)
class Appearance:
    """Static look of one performance (independent of the level)."""

    crop: Tuple[int, int, int, int]          # x1, y1, x2, y2: keyboard and hands, in pixels
    background: Tuple[float, float, float]
    body: Tuple[float, float, float]         # the piano case above the keys
    white_key: Tuple[float, float, float]
    black_key: Tuple[float, float, float]
    highlight: Tuple[float, float, float]    # colour a pressed key blends towards
    skin: Tuple[float, float, float]
    sleeve: Tuple[float, float, float]
    gain: Tuple[float, float, float]         # lighting: per-channel gain ...
    offset: float                            # ... and offset
    lead_in: int                             # frames before the performance starts
    tail: int                                # frames after it ends


@dataclass(frozen=True)
class Performance:
    """One rendered performance: its table row values, look and score.

    ``notes`` is ``(N, 5)`` float64: onset s, offset s (from the performance start),
    MIDI key, hand (0 left, 1 right), velocity 0..1; sorted by onset."""

    id: int
    split: str
    player_level: int
    song_level: int
    frames: int                              # played frames (frame_end - frame_start)
    appearance: Appearance
    notes: np.ndarray = field(repr=False)

    @property
    def frame_start(self) -> int:
        return self.appearance.lead_in

    @property
    def frame_end(self) -> int:
        return self.appearance.lead_in + self.frames

    @property
    def total_frames(self) -> int:
        return self.frame_end + self.appearance.tail


# --------------------------------------------------------------------------- planning


def _levels_and_splits(settings: SynthSettings, rng: np.random.Generator) -> Tuple[List[int], List[str]]:
    """Levels 1..10 dealt evenly over the performances; per level, ``test_fraction`` of
    its performances (rounded) go to the test split. When that rounding leaves the test
    split short of ``test_fraction`` of all performances (rounded), as with one
    performance per level, the missing ones come one each from the levels with the
    largest unrounded share (ties drawn at random)."""
    n = settings.performances
    levels = [int(v) for v in rng.permutation(np.resize(np.arange(1, 11), n))]
    order = {level: [int(i) for i in rng.permutation([i for i in range(n) if levels[i] == level])]
             for level in range(1, 11)}
    shares = {level: len(members) * settings.test_fraction for level, members in order.items()}
    counts = {level: int(math.floor(share + 0.5)) for level, share in shares.items()}
    extra = int(math.floor(n * settings.test_fraction + 0.5)) - sum(counts.values())
    if extra > 0:
        # largest share left over first; a random permutation breaks ties (stable sort)
        candidates = [level for level in rng.permutation(np.arange(1, 11)).tolist()
                      if counts[level] < len(order[level])]
        candidates.sort(key=lambda level: -(shares[level] - counts[level]))
        for level in candidates[:extra]:
            counts[level] += 1
    splits = ["train"] * n
    for level, members in order.items():
        for i in members[:counts[level]]:
            splits[i] = "test"
    return levels, splits


def _appearance(settings: SynthSettings, rng: np.random.Generator) -> Appearance:
    w, h = settings.width, settings.height
    cw = int(round(w * rng.uniform(0.62, 0.92)))
    ch = int(round(h * rng.uniform(0.5, 0.8)))
    x1 = int(rng.integers(0, w - cw + 1))
    y1 = int(rng.integers(0, h - ch + 1))

    def colour(lo: float, hi: float) -> Tuple[float, float, float]:
        return tuple(float(v) for v in rng.uniform(lo, hi, size=3))

    ivory = float(rng.uniform(205, 250))
    return Appearance(
        crop=(x1, y1, x1 + cw, y1 + ch),
        background=colour(30, 170),
        body=colour(10, 70),
        white_key=(ivory, ivory - float(rng.uniform(0, 15)), ivory - float(rng.uniform(0, 30))),
        black_key=colour(5, 40),
        highlight=tuple(float(v) for v in rng.permutation([float(rng.uniform(200, 255)),
                                                            float(rng.uniform(60, 140)),
                                                            float(rng.uniform(0, 60))])),
        skin=colour(120, 230),
        sleeve=colour(20, 200),
        gain=tuple(float(g) * float(rng.uniform(0.65, 1.2)) for g in rng.uniform(0.9, 1.1, size=3)),
        offset=float(rng.uniform(-10, 15)),
        lead_in=int(round(settings.fps * rng.uniform(0.5, 1.5))),
        tail=int(round(settings.fps * rng.uniform(0.2, 0.6))),
    )


def _key_layout() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per MIDI key of the keyboard (from :data:`LOWEST_MIDI`): is it black, and its left
    and right edge in white-key units."""
    black, left, right = [], [], []
    for octave in range(WHITE_KEYS // 7):
        for wi, step in enumerate(_WHITE_STEPS):
            i = octave * 7 + wi
            black.append(False), left.append(float(i)), right.append(float(i + 1))
            if wi in BLACK_AFTER:
                black.append(True), left.append(i + 1 - 0.3), right.append(i + 1 + 0.3)
    return np.array(black), np.array(left), np.array(right)  # appended in MIDI order


KEY_IS_BLACK, KEY_LEFT, KEY_RIGHT = _key_layout()
N_KEYS = len(KEY_IS_BLACK)  # 36: MIDI 48..83


def _score(level: int, frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """The notes a player of ``level`` plays in ``frames`` frames (see :class:`Performance`).

    Skill sets the note rate, chord size, hand travel and timing regularity; the random
    stream only varies them within a level."""
    s = (level - 1) / 9.0
    seconds = frames / fps
    rate = (0.8 + 6.2 * s) * rng.uniform(0.9, 1.1)          # onsets per second
    max_chord = 1 + int(round(3 * s))                        # notes at once
    travel = 1 + int(round(6 * s))                           # white keys a hand may shift
    p_move = 0.05 + 0.45 * s                                 # chance of a shift per onset
    jitter = 0.04 + 0.4 * (1.0 - s)                          # timing irregularity
    p_black = 0.35 * s
    p_left = 0.2 + 0.25 * s
    min_gap = 2.5 / fps  # every note stays on screen for at least two frames

    centres = {0: 3.0 + float(rng.integers(0, 2)), 1: 14.0 + float(rng.integers(0, 2))}
    bounds = {0: (2.0, 8.0), 1: (12.0, 18.0)}
    white_midi = np.flatnonzero(~KEY_IS_BLACK)
    black_midi = np.flatnonzero(KEY_IS_BLACK)
    rows: List[Tuple[float, float, float, float, float]] = []
    t = float(rng.uniform(0.1, 0.4))
    beat = 1.0 / rate
    while t < seconds - 0.2:
        ioi = max(min_gap, beat * float(rng.lognormal(0.0, jitter)))
        hand = 0 if rng.random() < p_left else 1
        if rng.random() < p_move:
            lo, hi = bounds[hand]
            centres[hand] = float(np.clip(centres[hand] + rng.integers(-travel, travel + 1), lo, hi))
        c = centres[hand]
        window = white_midi[(KEY_LEFT[white_midi] >= c - 2) & (KEY_LEFT[white_midi] <= c + 2)]
        pool = list(window)
        if rng.random() < p_black:
            pool += list(black_midi[(KEY_LEFT[black_midi] >= c - 2) & (KEY_RIGHT[black_midi] <= c + 3)])
        k = min(int(rng.integers(1, max_chord + 1)), len(pool))
        keys = rng.choice(pool, size=k, replace=False)
        duration = min(1.2, max(min_gap, ioi * float(rng.uniform(0.7, 0.95))))
        velocity = float(np.clip(0.7 + rng.normal(0.0, 0.05 + 0.2 * (1 - s)), 0.25, 1.0))
        offset = min(t + duration, seconds)
        for key in sorted(int(x) for x in keys):
            rows.append((t, offset, float(LOWEST_MIDI + key), float(hand), velocity))
        t += ioi
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def plan_performances(settings: SynthSettings) -> List[Performance]:
    """Levels, splits, looks and scores of every performance; a function of the settings
    alone (the seed fixes everything)."""
    root = np.random.SeedSequence(settings.seed)
    level_seq, *perf_seqs = root.spawn(1 + settings.performances)
    levels, splits = _levels_and_splits(settings, np.random.default_rng(level_seq))
    out = []
    for i, seq in enumerate(perf_seqs):
        look_seq, score_seq = seq.spawn(2)
        look_rng = np.random.default_rng(look_seq)
        score_rng = np.random.default_rng(score_seq)
        appearance = _appearance(settings, look_rng)
        frames = int(round(settings.seconds * settings.fps * look_rng.uniform(0.85, 1.15)))
        level = levels[i]
        song_level = int(np.clip(level + score_rng.integers(-1, 2), 1, 10))
        out.append(Performance(
            id=i + 1, split=splits[i], player_level=level, song_level=song_level,
            frames=frames, appearance=appearance,
            notes=_score(level, frames, settings.fps, score_rng),
        ))
    return out
