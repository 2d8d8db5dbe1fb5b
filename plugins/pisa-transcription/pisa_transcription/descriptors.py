"""Note descriptors: what a window of played notes says about the player's level.

:func:`note_descriptors` reduces the notes of any time window (a clip, a sample, a whole
performance) to a float64 vector of :data:`DESCRIPTOR_NAMES`. Notes are the transcriber
kind's arrays: float64 ``(N, 4)`` rows ``(onset s, offset s, MIDI pitch, velocity 0..1)``
sorted by onset.

Which notes count. A note belongs to the window ``[start, end)`` when its onset does;
only ``polyphony_mean`` also counts the part of a note that began before the window and
still sounds in it (it measures sounding time). An *onset group* is a chord as a
listener hears it: notes whose onsets follow each other by at most ``chord_tolerance``
(30 ms) join one group; the group's time is its first onset, its pitch the mean of its
pitches. Intervals, chord sizes, pitch sets and displacement are over onset groups.

Hands. Audio does not know which hand played a note, so the per-hand descriptors follow
the pitch-split convention: a note below ``split_pitch`` (default 60, middle C) is the
left hand's, the others the right hand's.

Every descriptor is finite for any window: an empty window gives 0 everywhere except
``ioi_mean``, which is then the window's length (no onset follows within it), and a
single onset group gives ``ioi_mean`` = window length and 0 for the spreads.

Sources (each definition below names the one it follows):

- [CC12] S.-C. Chiu, M.-S. Chen, "A study on difficulty level recognition of piano
  sheet music", IEEE ISM 2012 (playing speed, pitch entropy, hand displacement rate,
  polyphony rate). Its hand displacement rate scores each move between consecutive
  strokes 0, 1 or 2 by whether it spans 7 (a fifth) or 12 (an octave) semitones; we
  read those thresholds in an open reimplementation (github.com/bluemonarch21/mdc,
  ``displacement_cost``), not in the paper itself.
- [RA24] P. Ramoneda, V. Eremenko, A. D'Hooge, E. Parada-Cabaleiro, X. Serra, "Towards
  explainable and interpretable musical difficulty estimation: a parameter-efficient
  approach" (RubricNet), ISMIR 2024, and its feature extractor (github.com/PRamoneda/
  rubricnet, ``extractor/code``): pitch and pitch-class entropy, pitch-set Lempel-Ziv
  complexity, average inter-onset interval, average pitch interval between consecutive
  onsets, average and maximum chord density, pitch range. The same families appear in
  the CIPI paper (Ramoneda et al., "Combining piano performance dimensions for score
  difficulty classification", Expert Systems with Applications 2023) and PSyllabus
  (IEEE TASLP 2025).
- [KI21] S. Kim, J. M. Park, S. Rhyu, J. Nam, K. Lee, "Quantitative analysis of piano
  performance proficiency focusing on difference between hands", PLOS ONE 2021: MIDI
  velocity and inter-onset statistics, per hand, separate experts from amateurs.

Where a source defines a descriptor over a score (beats, notated hands, whole pieces),
the definition here is its counterpart over performed notes in seconds; the table in
``DESCRIPTORS.md`` says which definitions are our choice.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from pisa_transcription.notes import checked_window

#: the descriptors, in the order of :func:`note_descriptors`'s vector
DESCRIPTOR_NAMES: Tuple[str, ...] = (
    "note_rate",             # notes per second [CC12 playing speed]
    "onset_rate",            # onset groups per second
    "ioi_mean",              # mean interval between onset groups, s [RA24 average IOI]
    "ioi_std",               # their standard deviation, s [KI21]
    "ioi_cv",                # ioi_std / ioi_mean: timing irregularity (our choice)
    "polyphony_mean",        # mean number of sounding notes over the window
    "polyphony_rate",        # share of onset groups with 2+ notes [CC12]
    "chord_size_mean",       # mean notes per onset group [RA24 avg chord density]
    "chord_size_max",        # most notes in one onset group [RA24 max chord density]
    "pitch_range",           # highest - lowest pitch, semitones [RA24, CC12]
    "pitch_entropy",         # Shannon entropy of the pitches, bits [CC12, RA24]
    "pitch_class_entropy",   # ... of the pitch classes, bits [RA24]
    "pitch_set_complexity",  # LZ78 phrases per onset group over the pitch sets [RA24]
    "displacement_mean",     # mean |jump| between consecutive groups, semitones [RA24]
    "displacement_rate",     # moves of a fifth (1) or an octave (2), mean / 2 [CC12]
    "left_note_rate",        # notes per second below split_pitch
    "right_note_rate",       # notes per second at or above split_pitch
    "left_displacement",     # displacement_mean of the left hand's onset groups
    "right_displacement",    # displacement_mean of the right hand's onset groups
    "velocity_mean",         # mean velocity 0..1 [KI21]
    "velocity_std",          # its standard deviation [KI21]
)
INDEX: Dict[str, int] = {name: i for i, name in enumerate(DESCRIPTOR_NAMES)}

#: non-negative, heavy-tailed descriptors (rates, intervals, counts of sounding notes,
#: semitone distances) that :class:`~pisa_transcription.roll_transforms.NoteDescriptors`
#: puts through ``log1p`` so that every feature it gives lies within about 0..7
LOG_SCALED: Tuple[str, ...] = (
    "note_rate", "onset_rate", "ioi_mean", "ioi_std", "polyphony_mean", "pitch_range",
    "displacement_mean", "left_note_rate", "right_note_rate", "left_displacement",
    "right_displacement",
)

#: onsets this close (seconds) join one onset group (a chord)
CHORD_TOLERANCE = 0.03
#: semitone moves that count as a displacement and as a large one [CC12]
DISPLACEMENT_STEPS = (7.0, 12.0)


def onset_groups(onsets: np.ndarray, tolerance: float = CHORD_TOLERANCE) -> np.ndarray:
    """Group index (0, 1, ...) of each of the sorted ``onsets``: a note joins the group of
    the note before it when it starts at most ``tolerance`` seconds after it."""
    if len(onsets) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(len(onsets), dtype=bool)
    new[0] = True
    new[1:] = np.diff(onsets) > tolerance
    return np.cumsum(new) - 1


def _entropy(values: np.ndarray) -> float:
    """Shannon entropy (bits) of the histogram of integer ``values`` (0 when empty)."""
    if len(values) == 0:
        return 0.0
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def lz78_phrases(symbols: np.ndarray) -> int:
    """Number of phrases of the LZ78 parsing of ``symbols`` (Ziv & Lempel 1978): each
    phrase is the longest phrase seen before plus one symbol; a last, unfinished phrase
    counts too. A walk down a trie of the phrases, one step per symbol."""
    trie: Dict[Tuple[int, int], int] = {}
    node, phrases = 0, 0
    for s in symbols.tolist():
        child = trie.get((node, s))
        if child is None:
            phrases += 1
            trie[(node, s)] = len(trie) + 1
            node = 0
        else:
            node = child
    return phrases + (node != 0)


def _group_pitch(gid: np.ndarray, pitch: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    sizes = np.bincount(gid)
    return sizes, np.bincount(gid, weights=pitch) / sizes


def _mean_jump(onsets: np.ndarray, pitch: np.ndarray) -> float:
    """Mean absolute move of the mean pitch between consecutive onset groups."""
    if len(onsets) < 2:
        return 0.0
    _, centre = _group_pitch(onset_groups(onsets), pitch)
    return float(np.abs(np.diff(centre)).mean()) if len(centre) > 1 else 0.0


def note_descriptors(notes: np.ndarray, start: float, end: float, split_pitch: float = 60.0,
                     chord_tolerance: float = CHORD_TOLERANCE) -> np.ndarray:
    """The :data:`DESCRIPTOR_NAMES` of the notes in the window ``[start, end)`` seconds
    (the module's docstring says which notes count): float64 ``(D,)``, finite for any
    input. ``notes``: ``(N, 4)`` rows ``(onset, offset, pitch, velocity)`` sorted by onset
    (unsorted rows are sorted here); ``split_pitch``: the lowest pitch of the right hand.
    Raises ``ValueError`` for a wrong shape, non-finite values or ``end <= start``."""
    notes, start, end = checked_window(notes, start, end)
    duration = end - start
    out = np.zeros(len(DESCRIPTOR_NAMES), dtype=np.float64)
    out[INDEX["ioi_mean"]] = duration

    # sounding time inside the window, notes begun before it included
    inside = np.minimum(notes[:, 1], end) - np.maximum(notes[:, 0], start)
    out[INDEX["polyphony_mean"]] = float(np.clip(inside, 0.0, None).sum()) / duration

    w = notes[(notes[:, 0] >= start) & (notes[:, 0] < end)]
    if len(w) == 0:
        return out
    if (np.diff(w[:, 0]) < 0).any():
        w = w[np.argsort(w[:, 0], kind="stable")]
    onset, pitch, velocity = w[:, 0], w[:, 2], w[:, 3]
    keys = np.clip(np.rint(pitch), 0, 127).astype(np.int64)

    gid = onset_groups(onset, chord_tolerance)
    sizes, centre = _group_pitch(gid, pitch)
    group_onsets = onset[np.r_[True, np.diff(gid) > 0]]
    n, g = len(w), len(sizes)

    out[INDEX["note_rate"]] = n / duration
    out[INDEX["onset_rate"]] = g / duration
    if g > 1:
        ioi = np.diff(group_onsets)
        out[INDEX["ioi_mean"]] = ioi.mean()
        out[INDEX["ioi_std"]] = ioi.std()
        out[INDEX["ioi_cv"]] = ioi.std() / ioi.mean()  # > 0: groups are > tolerance apart
        jumps = np.abs(np.diff(centre))
        out[INDEX["displacement_mean"]] = jumps.mean()
        small, large = DISPLACEMENT_STEPS
        out[INDEX["displacement_rate"]] = ((jumps >= small).astype(float) + (jumps >= large)).mean() / 2
    out[INDEX["polyphony_rate"]] = float((sizes > 1).mean())
    out[INDEX["chord_size_mean"]] = n / g
    out[INDEX["chord_size_max"]] = float(sizes.max())
    out[INDEX["pitch_range"]] = float(pitch.max() - pitch.min())
    out[INDEX["pitch_entropy"]] = _entropy(keys)
    out[INDEX["pitch_class_entropy"]] = _entropy(keys % 12)

    # one symbol per distinct pitch set (the group's set of MIDI keys)
    sets = np.zeros((g, 128), dtype=bool)
    sets[gid, keys] = True
    _, symbols = np.unique(sets, axis=0, return_inverse=True)
    out[INDEX["pitch_set_complexity"]] = lz78_phrases(symbols.reshape(-1)) / g

    left = pitch < split_pitch
    out[INDEX["left_note_rate"]] = int(left.sum()) / duration
    out[INDEX["right_note_rate"]] = int((~left).sum()) / duration
    out[INDEX["left_displacement"]] = _mean_jump(onset[left], pitch[left])
    out[INDEX["right_displacement"]] = _mean_jump(onset[~left], pitch[~left])

    out[INDEX["velocity_mean"]] = velocity.mean()
    out[INDEX["velocity_std"]] = velocity.std()
    return out


def log_scale(descriptors: np.ndarray) -> np.ndarray:
    """``log1p`` of the :data:`LOG_SCALED` columns of ``descriptors`` ``(..., D)`` (a copy)."""
    out = np.array(descriptors, dtype=np.float64, copy=True)
    cols = [INDEX[name] for name in LOG_SCALED]
    out[..., cols] = np.log1p(out[..., cols])
    return out
