"""Synthetic piano performances: a PISA-like dataset rendered from a seed.

Each performance is a top-down keyboard with two hands that travel to the keys being
played; pressed keys light up, and the audio track plays the same notes (harmonic tones
with a piano-like envelope), so sound and picture agree note by note. The player level
(1..10) shows only in *what* is played and *how*: notes per second, chord size, how far
the hands travel over the keyboard, and how regular the timing is. Static appearance
(lighting, colours, where the keyboard sits in the frame, its size, the lead-in length)
is drawn from its own random stream, independently of the level.

Layout written by :func:`synthesize_dataset` into ``out_dir``:

- ``videos/<id>.mp4``: H.264 + AAC, with a lead-in before ``frame_start`` and a short
  tail after ``frame_end``; the keyboard and hands lie inside the crop box.
- ``audio/<id>.wav``: the same audio, sample-exact (16-bit PCM).
- ``performances.csv``: the PISA table's columns (:data:`PERFORMANCE_COLUMNS`).
- ``annotations.csv``: the generic AQA CSV format (:data:`ANNOTATION_COLUMNS`).
- ``notes.csv``: the ground-truth score, one note per row (:data:`NOTE_COLUMNS`).
- ``annotations_{unidist,consecutive}_{train,test}.pkl``: the released-style sample lists.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import numpy as np

from pisa.data.adapters.pisa_dataset import write_released_annotations
from pisa.io.atomic import atomic_write
from pisa.io.media import write_video, write_wav

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
_BLACK_AFTER = (0, 1, 3, 4, 5)          # white keys (in an octave) followed by a black key


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
            if wi in _BLACK_AFTER:
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


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Canvas:
    base: np.ndarray        # (H, W, 3) float32, unlit static picture
    key_map: np.ndarray     # (H, W) int16: key index under each pixel, -1 for none
    key_x: np.ndarray       # (N_KEYS,) key centre x in pixels
    white_width: float      # white-key width in pixels
    hand_y: float           # hand centre y in pixels
    key_len: float          # key length in pixels


def _canvas(settings: SynthSettings, look: Appearance) -> _Canvas:
    h, w = settings.height, settings.width
    x1, y1, x2, y2 = look.crop
    ch = y2 - y1
    top = y1 + 0.18 * ch                     # piano case above the keys
    bottom = y1 + 0.72 * ch                  # front edge of the white keys
    black_end = top + 0.6 * (bottom - top)
    wk = (x2 - x1) / WHITE_KEYS

    ys = np.arange(h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
    u = (xs - x1) / wk                       # position in white-key units
    in_x = (u >= 0) & (u < WHITE_KEYS)
    key_rows = (ys >= top) & (ys < bottom)

    # background: a soft vertical gradient of the room colour
    shade = 0.85 + 0.3 * (ys / h)
    base = np.broadcast_to(np.asarray(look.background, np.float32) * shade[..., None], (h, w, 3)).copy()
    case = in_x & (ys >= y1) & (ys < top)
    base[np.broadcast_to(case, (h, w))] = look.body

    white_idx = np.floor(u).astype(np.int32)
    boundary = np.round(u).astype(np.int32)
    near = np.abs(u - boundary) < 0.3
    has_black = np.isin((boundary - 1) % 7, _BLACK_AFTER) & (boundary >= 1) & (boundary <= WHITE_KEYS - 1)
    black_px = key_rows & (ys < black_end) & in_x & near & has_black
    white_px = key_rows & in_x & ~black_px

    white_keys = np.flatnonzero(~KEY_IS_BLACK)
    black_keys = np.flatnonzero(KEY_IS_BLACK)
    # white key i -> key index; black key after boundary b -> key index
    white_lookup = white_keys[np.clip(white_idx, 0, WHITE_KEYS - 1)]
    black_by_boundary = np.full(WHITE_KEYS + 1, -1, dtype=np.int64)
    black_by_boundary[np.round(KEY_LEFT[black_keys] + 0.3).astype(int)] = black_keys
    black_lookup = black_by_boundary[np.clip(boundary, 0, WHITE_KEYS)]
    key_map = np.full((h, w), -1, dtype=np.int16)
    key_map = np.where(np.broadcast_to(white_px, (h, w)), white_lookup, key_map)
    key_map = np.where(np.broadcast_to(black_px, (h, w)), black_lookup, key_map).astype(np.int16)

    base[key_map >= 0] = look.white_key
    base[np.broadcast_to(black_px, (h, w))] = look.black_key
    gap = white_px & (np.abs(u - boundary) * wk < 0.5)   # the thin line between white keys
    base[np.broadcast_to(gap, (h, w))] *= 0.55
    return _Canvas(
        base=base.astype(np.float32),
        key_map=key_map,
        key_x=(x1 + (KEY_LEFT + KEY_RIGHT) / 2 * wk).astype(np.float32),
        white_width=float(wk),
        hand_y=float(bottom),
        key_len=float(bottom - top),
    )


def _hand_tracks(perf: Performance, canvas: _Canvas, fps: float) -> np.ndarray:
    """Hand centre x per played frame, ``(2, frames)``: each hand rests where it starts,
    then glides to the mean position of each chord it plays, arriving at its onset."""
    notes = perf.notes
    t = np.arange(perf.frames) / fps
    tracks = np.empty((2, perf.frames), dtype=np.float32)
    for hand in (0, 1):
        mine = notes[notes[:, 3] == hand]
        if len(mine) == 0:
            tracks[hand] = canvas.key_x[np.flatnonzero(~KEY_IS_BLACK)[3 if hand == 0 else 14]]
            continue
        onsets = np.unique(mine[:, 0])
        xs = np.array([canvas.key_x[(mine[mine[:, 0] == o, 2] - LOWEST_MIDI).astype(int)].mean()
                       for o in onsets])
        gaps = np.diff(np.concatenate([[0.0], onsets]))
        starts = onsets - np.minimum(0.15, 0.8 * gaps)
        knots_t = np.stack([starts, onsets], axis=1).ravel()
        knots_x = np.stack([np.concatenate([[xs[0]], xs[:-1]]), xs], axis=1).ravel()
        tracks[hand] = np.interp(t, knots_t, knots_x)
    return tracks


def _pressed(perf: Performance, fps: float) -> np.ndarray:
    """``(frames, N_KEYS)`` bool: keys held down in each played frame."""
    notes = perf.notes
    t = (np.arange(perf.frames) / fps)[:, None]
    keys = (notes[:, 2] - LOWEST_MIDI).astype(int)
    down = (t >= notes[None, :, 0]) & (t < notes[None, :, 1])     # (frames, notes)
    pressed = np.zeros((perf.frames, N_KEYS), dtype=bool)
    for k in np.unique(keys):
        pressed[:, k] = down[:, keys == k].any(axis=1)
    return pressed


def render_frames(perf: Performance, settings: SynthSettings) -> Iterator[np.ndarray]:
    """Yield the ``total_frames`` RGB uint8 frames ``(H, W, 3)`` of a performance: lead-in
    (hands resting), the played part, and the tail."""
    import cv2

    look = perf.appearance
    canvas = _canvas(settings, look)
    tracks = _hand_tracks(perf, canvas, settings.fps)
    pressed = _pressed(perf, settings.fps)
    lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * np.asarray(look.gain, np.float32)
                  + look.offset, 0, 255).astype(np.uint8)[None]  # (1, 256, 3) lighting table
    highlight = np.asarray(look.highlight, np.float32)
    wk = canvas.white_width
    axes = (max(2, int(round(1.5 * wk))), max(2, int(round(0.22 * canvas.key_len))))
    arm = max(2, int(round(1.6 * wk)))
    h = settings.height
    key_plus = canvas.key_map.astype(np.int64) + 1
    none_pressed = np.zeros(N_KEYS + 1, dtype=bool)

    for f in range(perf.total_frames):
        i = min(max(f - perf.frame_start, 0), perf.frames - 1)
        playing = perf.frame_start <= f < perf.frame_end
        img = canvas.base.copy()
        down = none_pressed.copy()
        if playing:
            down[1:] = pressed[i]
        lit = down[key_plus]
        img[lit] = 0.35 * img[lit] + 0.65 * highlight
        for hand in (0, 1):
            cx = int(round(float(tracks[hand, i])))
            cy = int(round(canvas.hand_y))
            lean = -1 if hand == 0 else 1
            cv2.line(img, (cx, cy), (cx + lean * int(round(3 * wk)), h + arm), look.sleeve, arm * 2)
            cv2.ellipse(img, (cx, cy), axes, 0, 0, 360, look.skin, -1, lineType=cv2.LINE_AA)
        frame = np.clip(img, 0, 255).astype(np.uint8)
        yield cv2.LUT(frame, lut)


def render_audio(perf: Performance, settings: SynthSettings) -> np.ndarray:
    """The performance's audio: float32 mono ``(total_frames / fps * sample_rate,)`` in
    -1..1: a faint noise floor (about -74 dB) throughout, and each note a harmonic tone at
    its MIDI pitch with a fast attack, exponential decay and a short release."""
    sr = settings.sample_rate
    total = int(round(perf.total_frames / settings.fps * sr))
    out = np.zeros(total, dtype=np.float64)
    start_s = perf.frame_start / settings.fps
    release = int(0.05 * sr)
    attack = max(1, int(0.005 * sr))
    harmonics = np.arange(1, 6, dtype=np.float64)
    weights = 1.0 / harmonics ** 1.5
    for onset, offset, midi, _hand, velocity in perf.notes:
        a = int(round((start_s + onset) * sr))
        held = max(attack + 1, int(round((offset - onset) * sr)))
        n = min(held + release, total - a)
        if n <= 0:
            continue
        t = np.arange(n) / sr
        freq = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
        partials = harmonics[harmonics * freq < sr / 2 - 500]
        tone = (weights[: len(partials), None] * np.sin(2 * np.pi * freq * partials[:, None] * t)).sum(0)
        env = np.exp(-t / (0.25 + 300.0 / freq))
        env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
        tail = np.arange(n) - held
        env[tail >= 0] *= np.clip(1.0 - tail[tail >= 0] / release, 0.0, 1.0)
        out[a: a + n] += 0.18 * velocity * tone * env
    # a quiet room-noise floor: real recordings are never digitally silent between notes
    noise = np.random.default_rng([settings.seed, perf.id, 7]).standard_normal(total)
    out += 2e-4 * noise
    peak = float(np.abs(out).max()) if total else 0.0
    if peak > 0.95:  # dense chords: scale down rather than clip
        out *= 0.95 / peak
    return out.astype(np.float32)


# --------------------------------------------------------------------------- writing


def performance_rows(performances: Sequence[Performance], settings: SynthSettings) -> List[Dict[str, object]]:
    """The PISA-table rows (:data:`PERFORMANCE_COLUMNS`) of the performances."""
    return [{
        "id": p.id, "split": p.split, "fps": float(settings.fps),
        "frame_start": float(p.frame_start), "frame_end": float(p.frame_end),
        "player_level": p.player_level, "song_level": p.song_level,
        "crop_x1": p.appearance.crop[0], "crop_y1": p.appearance.crop[1],
        "crop_x2": p.appearance.crop[2], "crop_y2": p.appearance.crop[3],
        "source_video": p.id, "youtube": "", "song": f"synthetic piece {settings.seed}-{p.id}",
    } for p in performances]


def annotation_rows(performances: Sequence[Performance]) -> List[Dict[str, object]]:
    """The generic AQA CSV rows (:data:`ANNOTATION_COLUMNS`); paths relative to the
    dataset folder, target = player level 1..10, group = performance id."""
    return [{
        "id": p.id, "split": p.split, "video": f"videos/{p.id}.mp4", "audio": f"audio/{p.id}.wav",
        "target": p.player_level, "frame_start": p.frame_start, "frame_end": p.frame_end,
        "crop_x1": p.appearance.crop[0], "crop_y1": p.appearance.crop[1],
        "crop_x2": p.appearance.crop[2], "crop_y2": p.appearance.crop[3], "group": str(p.id),
    } for p in performances]


def note_rows(performances: Sequence[Performance], fps: float) -> List[Dict[str, object]]:
    """The ground-truth notes (:data:`NOTE_COLUMNS`), times from the start of the video."""
    rows = []
    for p in performances:
        start = p.frame_start / fps
        for onset, offset, midi, hand, velocity in p.notes:
            rows.append({"id": p.id, "onset": f"{start + onset:.6f}", "offset": f"{start + offset:.6f}",
                         "midi": int(midi), "hand": "left" if hand == 0 else "right",
                         "velocity": f"{velocity:.4f}"})
    return rows


def write_csv_atomic(path: PathLike, columns: Sequence[str], rows: Sequence[Dict[str, object]]) -> Path:
    """Write ``rows`` (dicts keyed by ``columns``) as CSV, atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write(path, buf.getvalue())


def render_performance(perf: Performance, settings: SynthSettings, out_dir: PathLike) -> Path:
    """Write ``videos/<id>.mp4`` (with its audio track) and ``audio/<id>.wav``."""
    out_dir = Path(out_dir)
    audio = render_audio(perf, settings)
    write_wav(out_dir / "audio" / f"{perf.id}.wav", audio, settings.sample_rate)
    return write_video(out_dir / "videos" / f"{perf.id}.mp4", render_frames(perf, settings),
                       settings.fps, audio=audio, sample_rate=settings.sample_rate)


def _render_one(args: Tuple[Performance, SynthSettings, str]) -> str:
    return str(render_performance(*args))


def synthesize_dataset(out_dir: PathLike, settings: SynthSettings = SynthSettings(),
                       workers: int = 1) -> List[Dict[str, object]]:
    """Render every performance into ``out_dir`` (layout in the module docstring) and
    return the performance-table rows. ``workers`` > 1 renders in that many processes;
    the output does not depend on it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    performances = plan_performances(settings)
    jobs = [(p, settings, str(out_dir)) for p in performances]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_render_one, jobs))
    else:
        for job in jobs:
            _render_one(job)
    table = performance_rows(performances, settings)
    write_csv_atomic(out_dir / "notes.csv", NOTE_COLUMNS, note_rows(performances, settings.fps))
    write_csv_atomic(out_dir / "annotations.csv", ANNOTATION_COLUMNS, annotation_rows(performances))
    write_released_annotations(table, out_dir)
    # the table last: its presence marks a complete dataset
    write_csv_atomic(out_dir / "performances.csv", PERFORMANCE_COLUMNS, table)
    return table

