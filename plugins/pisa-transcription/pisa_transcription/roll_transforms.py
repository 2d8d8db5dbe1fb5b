"""Pipeline transforms from a sample's notes to model inputs: a piano roll per clip
(:class:`PianoRoll`) and note descriptors per clip and per performance
(:class:`NoteDescriptors`).

Both read ``notes`` (float64 ``(N, 4)`` rows ``(onset s, offset s, MIDI pitch, velocity)``
in performance time: seconds from the performance's first frame, as the transform that
loads them leaves them), ``frame_inds`` ``(K, T)`` (frames of the trimmed performance) and
``fps``. Clip ``k`` covers ``frame_inds[k, 0] / fps .. (frame_inds[k, -1] + 1) / fps``
seconds, the same base as the notes.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
from pisa_transcription.descriptors import DESCRIPTOR_NAMES, log_scale, note_descriptors
from pisa_transcription.notes import performance_seconds
from pisa_transcription.piano_roll import HIGHEST_KEY, LOWEST_KEY, piano_roll


def _where(results: Dict) -> str:
    return f"sample {results.get('sample_id')} ({results.get('ann_source')})"


def _notes(results: Dict, transform: str) -> np.ndarray:
    if "notes" not in results:
        raise KeyError(f"{transform}: {_where(results)} has no 'notes'; the pipeline needs the "
                       "transform that loads them (LoadNotes) before it")
    return np.asarray(results["notes"], dtype=np.float64)


def clip_windows(results: Dict) -> np.ndarray:
    """``(K, 2)`` float64 start and end seconds of each clip of ``results``."""
    inds = np.asarray(results["frame_inds"], dtype=np.int64)
    fps = float(results["fps"])
    if inds.ndim != 2 or inds.shape[1] < 1 or not fps > 0:
        raise ValueError(f"{_where(results)}: clip windows need frame_inds (K, T) and fps > 0, "
                         f"got frame_inds {inds.shape} and fps {results['fps']!r}")
    return np.stack([inds[:, 0] / fps, (inds[:, -1] + 1) / fps], axis=1)


def example_notes() -> np.ndarray:
    """Two hands over two seconds: a left-hand fifth every half second under a rising
    right-hand line every quarter second (the transforms' examples)."""
    rows = [(t, t + 0.45, p, 0.5) for t in (0.0, 0.5, 1.0, 1.5) for p in (48.0, 55.0)]
    rows += [(0.25 * i, 0.25 * i + 0.2, 60.0 + 2 * i, 0.8) for i in range(8)]
    notes = np.array(rows, dtype=np.float64)
    return notes[np.argsort(notes[:, 0], kind="stable")]


def example_results() -> Dict:
    """A results dict with :func:`example_notes` and two clips of 4 frames at 4 fps."""
    return {"notes": example_notes(), "frame_inds": np.arange(8, dtype=np.int64).reshape(2, 4),
            "fps": 4.0, "num_frames": 8, "perf_id": "example", "sample_id": "example/0",
            "ann_source": "example"}


class PianoRoll:
    """Each clip's window of the notes as a piano roll
    (:func:`pisa_transcription.piano_roll.piano_roll`: onset, sounding and velocity
    channels, pitches ``low..high``, ``width`` time bins). Reads ``notes``,
    ``frame_inds``, ``fps``. Adds ``piano_roll`` float32 ``(K, 3, high - low + 1, width)``."""

    example = dict(args=dict(width=8), input=example_results, adds=("piano_roll",))

    def __init__(self, width: int = 32, low: int = LOWEST_KEY, high: int = HIGHEST_KEY) -> None:
        self.width, self.low, self.high = int(width), int(low), int(high)
        if self.width < 1 or not 0 <= self.low <= self.high <= 127:
            raise ValueError(f"PianoRoll: needs width >= 1 and 0 <= low <= high <= 127, got "
                             f"width={width}, low={low}, high={high}")

    def __call__(self, results: Dict) -> Dict:
        notes = _notes(results, "PianoRoll")
        try:
            rolls = [piano_roll(notes, start, end, self.width, self.low, self.high)
                     for start, end in clip_windows(results)]
        except ValueError as err:
            raise ValueError(f"PianoRoll: {_where(results)}: {err}") from err
        results["piano_roll"] = np.stack(rolls)
        return results

    def __repr__(self) -> str:
        return f"PianoRoll(width={self.width}, low={self.low}, high={self.high})"


class NoteDescriptors:
    """The note descriptors (:data:`pisa_transcription.descriptors.DESCRIPTOR_NAMES`,
    D of them) of each clip's window, and with ``performance=True`` of the whole
    performance. Reads ``notes``, ``frame_inds``, ``fps``, and for the performance
    ``num_frames`` (its length; without it the performance ends at its last note or clip)
    and ``perf_id`` (or ``group``). Adds ``note_descriptors`` float32 ``(K, D)`` and, with
    ``performance=True``, ``performance_descriptors`` float32 ``(D,)``: computed once per
    performance and kept for the next samples (consecutive samples mostly share one).

    ``split_pitch``: the lowest pitch counted as the right hand's. ``log_scale``:
    ``log1p`` of the rates, intervals, sounding-note counts and semitone distances
    (:data:`~pisa_transcription.descriptors.LOG_SCALED`), so that every feature lies
    within about 0..7, a range a linear model or a network takes as it is."""

    example = dict(args=dict(performance=True), input=example_results,
                   adds=("note_descriptors", "performance_descriptors"))

    def __init__(self, performance: bool = False, split_pitch: float = 60.0,
                 log_scale: bool = True) -> None:
        self.performance = bool(performance)
        self.split_pitch = float(split_pitch)
        self.log_scale = bool(log_scale)
        self._kept: Optional[Tuple[tuple, np.ndarray]] = None  # (key, descriptors)

    def _describe(self, notes: np.ndarray, start: float, end: float) -> np.ndarray:
        d = note_descriptors(notes, start, end, split_pitch=self.split_pitch)
        return log_scale(d) if self.log_scale else d

    @staticmethod
    def _performance_end(results: Dict, notes: np.ndarray, windows: np.ndarray) -> float:
        end = performance_seconds(results, notes)
        # without a length, the performance reaches at least as far as its clips
        return end if results.get("num_frames") else max(end, float(windows[:, 1].max()))

    def __call__(self, results: Dict) -> Dict:
        notes = _notes(results, "NoteDescriptors")
        try:
            windows = clip_windows(results)
            results["note_descriptors"] = np.stack(
                [self._describe(notes, start, end) for start, end in windows]).astype(np.float32)
            if self.performance:
                results["performance_descriptors"] = self._whole(results, notes, windows)
        except ValueError as err:
            raise ValueError(f"NoteDescriptors: {_where(results)}: {err}") from err
        return results

    def _whole(self, results: Dict, notes: np.ndarray, windows: np.ndarray) -> np.ndarray:
        end = self._performance_end(results, notes, windows)
        perf = results.get("perf_id", results.get("group"))
        # the notes' count and last row stand in for their identity (cheap to compare)
        key = (perf, end, len(notes), tuple(notes[-1]) if len(notes) else ())
        if perf is None or self._kept is None or self._kept[0] != key:
            value = self._describe(notes, 0.0, end).astype(np.float32)
            if perf is None:
                return value
            self._kept = (key, value)
        return self._kept[1].copy()

    def __repr__(self) -> str:
        return (f"NoteDescriptors(performance={self.performance}, split_pitch={self.split_pitch}, "
                f"log_scale={self.log_scale}, D={len(DESCRIPTOR_NAMES)})")
