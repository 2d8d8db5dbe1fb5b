"""Rendering a planned performance (:mod:`pisa.synth.plan`): a top-down keyboard with two
hands that travel to the keys being played, pressed keys lit (:func:`render_frames`),
and an audio track of the same notes (harmonic tones with a piano-like envelope,
:func:`render_audio`), so sound and picture agree note by note;
:func:`render_performance` writes both files of one performance.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from pisa.io.media import write_video, write_wav
from pisa.synth.plan import (BLACK_AFTER, KEY_IS_BLACK, KEY_LEFT, KEY_RIGHT, LOWEST_MIDI, N_KEYS,
                             WHITE_KEYS, Appearance, PathLike, Performance, SynthSettings)


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
    has_black = np.isin((boundary - 1) % 7, BLACK_AFTER) & (boundary >= 1) & (boundary <= WHITE_KEYS - 1)
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


def render_performance(perf: Performance, settings: SynthSettings, out_dir: PathLike) -> Path:
    """Write ``videos/<id>.mp4`` (with its audio track) and ``audio/<id>.wav``."""
    out_dir = Path(out_dir)
    audio = render_audio(perf, settings)
    write_wav(out_dir / "audio" / f"{perf.id}.wav", audio, settings.sample_rate)
    return write_video(out_dir / "videos" / f"{perf.id}.mp4", render_frames(perf, settings),
                       settings.fps, audio=audio, sample_rate=settings.sample_rate)
