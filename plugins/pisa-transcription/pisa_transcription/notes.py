"""Note arrays, the ``transcriber`` kind's format (:mod:`pisa.registry`): float64
``(N, 4)``, rows ``(onset s, offset s, MIDI pitch, velocity 0..1)``, sorted by onset,
``offset > onset``. Stored notes count seconds from the performance's first frame
(``frame_offset / fps`` into its audio source), as the prepared cache's ``audio.npy``
does."""
from __future__ import annotations

import csv
import os
from typing import Dict, List, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

#: the columns of ``pisa synth``'s ``notes.csv`` (times from the start of the video file)
NOTES_CSV_COLUMNS = ("id", "onset", "offset", "midi", "hand", "velocity")


def empty_notes() -> np.ndarray:
    """A note array with no notes: float64 ``(0, 4)``."""
    return np.zeros((0, 4), dtype=np.float64)


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """``notes`` as float64 ``(N, 4)`` sorted by onset, then pitch (a stable order, so
    the same notes always give the same bytes)."""
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    return np.ascontiguousarray(notes[np.lexsort((notes[:, 2], notes[:, 0]))])


def shift(notes: np.ndarray, seconds: float) -> np.ndarray:
    """``notes`` moved ``seconds`` later in time (negative: earlier), e.g. from video
    time to performance time with ``-frame_offset / fps``. Notes that would start before
    0 are dropped and offsets clipped, so the result stays a valid note array."""
    out = np.array(notes, dtype=np.float64).reshape(-1, 4)
    out[:, :2] += float(seconds)
    out = out[out[:, 1] > 0]
    out[:, 0] = np.maximum(out[:, 0], 0.0)
    return sort_notes(out)


def read_notes_csv(path: PathLike) -> Dict[str, np.ndarray]:
    """``pisa synth``'s ``notes.csv`` -> ``{performance id (str): note array}``, times as
    in the file (seconds from the start of the video: :func:`shift` by
    ``-frame_start / fps`` for performance time). A missing column or a bad value raises
    ``ValueError`` naming the file and row."""
    rows: Dict[str, List[List[float]]] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in NOTES_CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: lacks the columns {missing} of a notes.csv "
                             f"({', '.join(NOTES_CSV_COLUMNS)})")
        for line, row in enumerate(reader, start=2):
            try:
                note = [float(row["onset"]), float(row["offset"]), float(int(row["midi"])),
                        float(row["velocity"])]
            except (TypeError, ValueError) as err:
                raise ValueError(f"{path}, row {line}: {err}") from None
            if not (np.isfinite(note).all() and note[1] > note[0] >= 0):
                raise ValueError(f"{path}, row {line}: needs 0 <= onset < offset, got {row}")
            rows.setdefault(str(row["id"]), []).append(note)
    return {pid: sort_notes(np.array(notes)) for pid, notes in rows.items()}


def checked_window(notes: np.ndarray, start: float, end: float) -> Tuple[np.ndarray, float, float]:
    """``(notes, start, end)`` as float64 ``(N, 4)`` and floats, for the functions that
    read a window of notes; ``ValueError`` for a wrong shape, non-finite notes or a
    window without finite ``start < end``."""
    notes = np.asarray(notes, dtype=np.float64)
    if notes.ndim != 2 or notes.shape[1] != 4:
        raise ValueError(f"notes must be an (N, 4) array (onset, offset, pitch, velocity), "
                         f"got shape {notes.shape}")
    if not np.isfinite(notes).all():
        raise ValueError("notes hold NaN or infinite values")
    start, end = float(start), float(end)
    if not (np.isfinite(start) and np.isfinite(end) and end > start):
        raise ValueError(f"the window must have finite start < end, got {start} .. {end}")
    return notes, start, end


def performance_seconds(record: Dict, notes: np.ndarray) -> float:
    """The length of a performance in its own time: ``num_frames / fps`` when the record
    has both, else up to its last note's end (at least 1 ms, so that a window over it is
    never empty)."""
    if record.get("num_frames") and record.get("fps"):
        return int(record["num_frames"]) / float(record["fps"])
    return max(float(notes[:, 1].max()) if len(notes) else 0.0, 1e-3)
