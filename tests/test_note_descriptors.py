"""Note descriptors, piano rolls and their transforms (the transcription plugin): each
descriptor against a hand computation on small note arrays, finite values for any
window, the roll's bins and channels, and the level showing in the descriptors of the
synthetic performances' planned notes."""
from __future__ import annotations

import math

import numpy as np
import pytest
from pisa_transcription.descriptors import (
    DESCRIPTOR_NAMES,
    LOG_SCALED,
    lz78_phrases,
    note_descriptors,
)
from pisa_transcription.piano_roll import piano_roll
from pisa_transcription.roll_transforms import NoteDescriptors, PianoRoll, example_results
from scipy.stats import spearmanr

from pisa.plugin_api import check_component
from pisa.synth.plan import SynthSettings, plan_performances


def described(notes, start, end, **kwargs) -> dict:
    values = note_descriptors(np.array(notes, dtype=np.float64).reshape(-1, 4), start, end, **kwargs)
    assert values.shape == (len(DESCRIPTOR_NAMES),) and values.dtype == np.float64
    return dict(zip(DESCRIPTOR_NAMES, values.tolist()))


def check(got: dict, expected: dict) -> None:
    wrong = {k: (got[k], v) for k, v in expected.items() if not math.isclose(got[k], v, abs_tol=1e-9)}
    assert not wrong, f"(got, expected): {wrong}"


def entropy_bits(*probabilities: float) -> float:
    return -sum(p * math.log2(p) for p in probabilities)


# C major scale C4..C5, one note every 0.5 s lasting 0.4 s, velocities 0.1 .. 0.8
SCALE = [(0.5 * i, 0.5 * i + 0.4, p, 0.1 * (i + 1)) for i, p in enumerate((60, 62, 64, 65, 67, 69, 71, 72))]


def test_scale_by_hand():
    check(described(SCALE, 0.0, 4.0), {
        "note_rate": 8 / 4, "onset_rate": 8 / 4,
        "ioi_mean": 0.5, "ioi_std": 0.0, "ioi_cv": 0.0,
        "polyphony_mean": 8 * 0.4 / 4, "polyphony_rate": 0.0,
        "chord_size_mean": 1.0, "chord_size_max": 1.0,
        "pitch_range": 12.0,
        "pitch_entropy": math.log2(8),                  # eight different pitches
        "pitch_class_entropy": entropy_bits(2 / 8, *[1 / 8] * 6),  # C twice, six once
        "pitch_set_complexity": 8 / 8,                  # every set new: 8 LZ78 phrases
        "displacement_mean": (2 + 2 + 1 + 2 + 2 + 2 + 1) / 7, "displacement_rate": 0.0,
        "left_note_rate": 0.0, "right_note_rate": 2.0,
        "left_displacement": 0.0, "right_displacement": 12 / 7,
        "velocity_mean": 0.45, "velocity_std": 0.1 * math.sqrt((8 ** 2 - 1) / 12),
    })


def _triads(roots, gap=1.0, spread=0.01, length=0.9):
    """A triad on each root every ``gap`` s, its notes ``spread`` s apart (a rolled chord
    a listener hears as one)."""
    return [(gap * i + spread * j, gap * i + spread * j + length, root + step, 0.6)
            for i, root in enumerate(roots) for j, step in enumerate((0, 4, 7))]


def test_repeated_chord_by_hand():
    got = described(_triads([60] * 4), 0.0, 4.0)
    check(got, {
        "note_rate": 12 / 4, "onset_rate": 4 / 4, "ioi_mean": 1.0, "ioi_std": 0.0,
        "polyphony_mean": 12 * 0.9 / 4, "polyphony_rate": 1.0,
        "chord_size_mean": 3.0, "chord_size_max": 3.0, "pitch_range": 7.0,
        "pitch_entropy": math.log2(3), "pitch_class_entropy": math.log2(3),
        # symbols A A A A: phrases A | AA | A (unfinished) = 3
        "pitch_set_complexity": 3 / 4,
        # the hand stays where it is: no displacement, though the chord spans a fifth
        "displacement_mean": 0.0, "displacement_rate": 0.0,
        "velocity_mean": 0.6, "velocity_std": 0.0,
    })


def test_leaping_chords_by_hand():
    # C3 and C5 triads in turn: the chord centre leaps two octaves every time
    got = described(_triads([48, 72, 48, 72]), 0.0, 4.0)
    check(got, {"displacement_mean": 24.0, "displacement_rate": 1.0, "pitch_range": 31.0,
                "pitch_entropy": math.log2(6), "pitch_class_entropy": math.log2(3),
                "left_note_rate": 6 / 4, "right_note_rate": 6 / 4,
                # each hand keeps its own chord: the leaps are the hands taking turns
                "left_displacement": 0.0, "right_displacement": 0.0,
                # A B A B: A | B | AB = 3 phrases
                "pitch_set_complexity": 3 / 4})
    # a fifth counts once, an octave twice: rate (1 + 2) / 2 / 2
    fifth_then_octave = [(0.0, 0.2, 60, 1), (0.5, 0.7, 67, 1), (1.0, 1.2, 55, 1)]
    check(described(fifth_then_octave, 0.0, 1.5), {"displacement_rate": 0.75,
                                                     "displacement_mean": (7 + 12) / 2})


# left hand: C2 and G2 in turn every 0.5 s; right hand: C5 D5 E5 F5 twice, every 0.25 s
TWO_HANDS = sorted([(0.5 * i, 0.5 * i + 0.4, (36, 43)[i % 2], 0.4) for i in range(4)]
                   + [(0.25 * i, 0.25 * i + 0.2, (72, 74, 76, 77)[i % 4], 0.8) for i in range(8)])


def test_two_hands_by_hand():
    got = described(TWO_HANDS, 0.0, 2.0)
    centres = [54, 74, 59.5, 77, 54, 74, 59.5, 77]  # onset groups: both hands at 0, 0.5, ...
    jumps = np.abs(np.diff(centres)).tolist()
    check(got, {
        "note_rate": 12 / 2, "onset_rate": 8 / 2, "ioi_mean": 0.25, "ioi_cv": 0.0,
        "polyphony_rate": 4 / 8, "chord_size_mean": 12 / 8, "chord_size_max": 2.0,
        "pitch_range": 41.0,
        "pitch_entropy": entropy_bits(*[2 / 12] * 6),
        "pitch_set_complexity": 6 / 8,  # A B C D A B C D: A|B|C|D|AB|CD
        "displacement_mean": sum(jumps) / 7, "displacement_rate": 1.0,  # every jump >= 12
        "left_note_rate": 4 / 2, "right_note_rate": 8 / 2,
        "left_displacement": 7.0, "right_displacement": (2 + 2 + 1 + 5 + 2 + 2 + 1) / 7,
        "velocity_mean": (4 * 0.4 + 8 * 0.8) / 12,
    })
    # the split pitch is an argument: below 40 only C2 is the left hand's
    check(described(TWO_HANDS, 0.0, 2.0, split_pitch=40),
          {"left_note_rate": 1.0, "right_note_rate": 5.0, "left_displacement": 0.0})


def test_window_takes_notes_by_onset_and_sounding_time():
    notes = [(-0.5, 0.5, 60, 0.5),   # begun before the window: sounds 0.5 s in it
             (0.0, 0.25, 64, 0.5),   # onset at the start: in
             (0.5, 3.0, 67, 0.5),    # lasts past the end: sounds 0.5 s in it
             (1.0, 1.5, 72, 0.5)]    # onset at the end: out
    check(described(notes, 0.0, 1.0), {
        "note_rate": 2.0, "pitch_range": 3.0, "ioi_mean": 0.5,
        "polyphony_mean": (0.5 + 0.25 + 0.5) / 1.0})


def test_lz78_phrases():
    assert lz78_phrases(np.array([], dtype=np.int64)) == 0
    assert lz78_phrases(np.array([5])) == 1
    # a | b | aa | ab | b (unfinished): 5
    assert lz78_phrases(np.array([0, 1, 0, 0, 0, 1, 1])) == 5


def test_defined_for_any_window():
    empty = described(np.zeros((0, 4)), 2.0, 5.0)
    assert empty == {**dict.fromkeys(DESCRIPTOR_NAMES, 0.0), "ioi_mean": 3.0}
    one = described([(1.0, 1.5, 60, 0.7)], 0.0, 2.0)
    check(one, {"note_rate": 0.5, "onset_rate": 0.5, "ioi_mean": 2.0, "ioi_std": 0.0,
                "ioi_cv": 0.0, "polyphony_mean": 0.25, "chord_size_max": 1.0,
                "pitch_range": 0.0, "pitch_entropy": 0.0, "pitch_set_complexity": 1.0,
                "displacement_mean": 0.0, "velocity_mean": 0.7, "velocity_std": 0.0})
    same = described([(1.0, 1.5, 60, 0.7)] * 5, 0.0, 2.0)  # one key struck five times at once
    check(same, {"chord_size_max": 5.0, "pitch_entropy": 0.0, "pitch_set_complexity": 1.0,
                 "ioi_mean": 2.0, "velocity_std": 0.0})
    outside = described([(5.0, 6.0, 60, 0.5), (-3.0, -2.0, 62, 0.5)], 0.0, 1.0)
    assert outside == {**dict.fromkeys(DESCRIPTOR_NAMES, 0.0), "ioi_mean": 1.0}

    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(0, 40))
        onset = np.sort(rng.uniform(-2, 6, n) if trial % 2 else np.round(rng.uniform(0, 1, n), 1))
        notes = np.stack([onset, onset + rng.uniform(1e-4, 3, n), rng.integers(0, 128, n),
                          rng.uniform(0, 1, n)], axis=1)
        start = float(rng.uniform(-1, 3))
        end = start + float(rng.choice([1e-6, 0.05, 1.0, 100.0]))
        values = note_descriptors(notes, start, end)
        assert np.isfinite(values).all(), (trial, values)
        assert (values >= 0).all(), (trial, values)


def test_unsorted_notes_and_errors():
    shuffled = np.array(TWO_HANDS)[np.random.default_rng(1).permutation(len(TWO_HANDS))]
    assert np.allclose(note_descriptors(shuffled, 0, 2), note_descriptors(np.array(TWO_HANDS), 0, 2))
    with pytest.raises(ValueError, match="NaN"):
        note_descriptors(np.array([[0.0, np.nan, 60, 1]]), 0, 1)
    with pytest.raises(ValueError, match="start < end"):
        note_descriptors(np.zeros((0, 4)), 1.0, 1.0)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        note_descriptors(np.zeros((3, 3)), 0, 1)


def test_fast_on_a_long_performance():
    import time
    rng = np.random.default_rng(0)
    onset = np.sort(rng.uniform(0, 300, 5000))
    notes = np.stack([onset, onset + 0.3, rng.integers(21, 109, 5000), rng.uniform(0, 1, 5000)], 1)
    began = time.perf_counter()
    note_descriptors(notes, 0, 300)
    for k in range(6):
        note_descriptors(notes, 50 * k, 50 * k + 5)
    assert time.perf_counter() - began < 1.0


# ------------------------------------------------------------------ piano roll


def test_piano_roll_bins_and_channels():
    notes = np.array([
        (-0.2, 0.30, 62, 0.9),   # begun before: sounds in bins 0-1, no onset
        (0.00, 0.10, 72, 0.2),   # two onsets of one key in bin 0: velocity the larger
        (0.10, 0.60, 60, 0.5),   # onset bin 0, sounds in bins 0-2
        (0.20, 0.24, 72, 0.6),
        (0.50, 0.70, 20, 1.0),   # below A0: dropped
        (0.50, 0.75, 67, 0.3),   # ends at a bin edge: sounds in bin 2 only
        (0.50, 0.70, 109, 1.0),  # above C8: dropped
        (0.75, 2.00, 64, 0.7),   # onset bin 3, clipped at the end
        (1.00, 1.50, 65, 0.4),   # onset at the end: out
    ], dtype=np.float64)
    roll = piano_roll(notes, 0.0, 1.0, 4)
    assert roll.shape == (3, 88, 4) and roll.dtype == np.float32
    expected = np.zeros((3, 88, 4), np.float32)
    for pitch, bin_, velocity in ((72, 0, 0.6), (60, 0, 0.5), (67, 2, 0.3), (64, 3, 0.7)):
        expected[0, pitch - 21, bin_] = 1
        expected[2, pitch - 21, bin_] = velocity
    for pitch, bins in ((62, [0, 1]), (72, [0]), (60, [0, 1, 2]), (67, [2]), (64, [3])):
        expected[1, pitch - 21, bins] = 1
    assert np.array_equal(roll, expected)

    shifted = piano_roll(notes, 0.5, 1.0, 2, low=60, high=72)  # bins of 0.25 s from 0.5 s
    assert shifted.shape == (3, 13, 2)
    assert sorted(zip(*shifted[0].nonzero())) == [(4, 1), (7, 0)]  # G4 (row 7), then E4 (row 4)
    assert np.array_equal(shifted[1, 0], [1, 0]) and np.array_equal(shifted[1, 4], [0, 1])
    assert not piano_roll(np.zeros((0, 4)), 0, 1, 4).any()
    with pytest.raises(ValueError, match="width >= 1"):
        piano_roll(notes, 0, 1, 0)


# ------------------------------------------------------------------ transforms


def test_piano_roll_transform():
    results = PianoRoll(width=8)(example_results())
    roll = results["piano_roll"]
    assert roll.shape == (2, 3, 88, 8) and roll.dtype == np.float32
    notes = example_results()["notes"]
    # clip 1 is frames 4..7 at 4 fps: 1.0 .. 2.0 s
    assert np.array_equal(roll[1], piano_roll(notes, 1.0, 2.0, 8))
    check_component("transform", PianoRoll)


def test_note_descriptors_transform():
    notes = example_results()["notes"]
    out = NoteDescriptors(log_scale=False)(example_results())
    assert out["note_descriptors"].shape == (2, len(DESCRIPTOR_NAMES))
    assert out["note_descriptors"].dtype == np.float32 and "performance_descriptors" not in out
    assert np.allclose(out["note_descriptors"][0], note_descriptors(notes, 0.0, 1.0))

    transform = NoteDescriptors(performance=True)
    scaled = transform(example_results())
    raw = note_descriptors(notes, 0.0, 2.0)  # num_frames 8 at 4 fps
    logged = [DESCRIPTOR_NAMES.index(n) for n in LOG_SCALED]
    expected = raw.copy()
    expected[logged] = np.log1p(raw[logged])
    assert scaled["performance_descriptors"].dtype == np.float32
    assert np.allclose(scaled["performance_descriptors"], expected, atol=1e-6)
    assert np.abs(scaled["note_descriptors"]).max() < 7 and scaled["note_descriptors"].min() >= 0

    # kept per performance: another performance gets its own
    other = dict(example_results(), perf_id="other", notes=notes[:4])
    assert not np.allclose(transform(other)["performance_descriptors"], expected)
    assert np.allclose(transform(example_results())["performance_descriptors"], expected, atol=1e-6)

    with pytest.raises(KeyError, match="LoadNotes"):
        transform({"sample_id": "s", "ann_source": "a", "frame_inds": np.zeros((1, 2), np.int64), "fps": 1.0})
    check_component("transform", NoteDescriptors)


# ------------------------------------------------------------------ synthetic levels


def test_descriptors_carry_the_synthetic_level():
    """Whole-performance note rate, polyphony, chord size and timing regularity follow
    the level the synthetic performances were planned at (notes as `pisa synth` plans
    them, in performance time)."""
    performances = plan_performances(SynthSettings(performances=30, seed=0, seconds=8.0))
    levels = np.array([p.player_level for p in performances])
    table = np.array([note_descriptors(p.notes[:, [0, 1, 2, 4]], 0.0, p.frames / 30.0)
                      for p in performances])
    column = dict(zip(DESCRIPTOR_NAMES, table.T))
    for name, sign in (("note_rate", 1), ("polyphony_mean", 1), ("chord_size_mean", 1),
                       ("pitch_entropy", 1), ("ioi_cv", -1)):
        rho = spearmanr(levels, column[name])[0]
        assert sign * rho > 0.8, f"{name}: Spearman {rho:.2f} with the level"
    low, high = levels <= 3, levels >= 8
    assert column["note_rate"][high].mean() > 3 * column["note_rate"][low].mean()
    assert column["polyphony_mean"][high].mean() > column["polyphony_mean"][low].mean()
