"""Synthetic piano performances: a PISA-like dataset rendered from a seed
(:mod:`pisa.synth.plan` plans it, :mod:`pisa.synth.render` draws and sounds it).

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
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from pisa.data.adapters.pisa_dataset import write_released_annotations
from pisa.io.atomic import atomic_write
from pisa.synth.plan import (ANNOTATION_COLUMNS, NOTE_COLUMNS, PERFORMANCE_COLUMNS, PathLike,
                             Performance, SynthSettings, plan_performances)
from pisa.synth.render import render_performance


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
