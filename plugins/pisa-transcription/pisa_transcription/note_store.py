"""Transcribed notes stored beside the prepared cache, one ``.npy`` per performance.

Layout: ``<store_dir>/notes/<transcriber class>-<transcriber fingerprint>/<key>.npy``, a
note array (:mod:`pisa_transcription.notes`) in performance time: seconds from the
performance's first frame. The folder changes with the transcriber's weights and
settings (its ``fingerprint()``); ``key`` hashes the audio source's path, size and
modification time (the audio file, or the video whose track is read), the performance's
window (``frame_offset``, ``fps``, the annotated ``num_frames``, and the sample range
they give) and the transcriber's sample rate. A changed model, setting, file or window
therefore gives another file, and the old one is no longer read.

A file is written atomically (it appears complete or not at all) under
:func:`pisa.plugin_api.entry_lock`, so two processes do not both write it. The lock covers
the write only: a process killed while transcribing leaves no lock behind, and one killed
while writing leaves a lock whose file never appears, which the next writer waits
:data:`LOCK_WAIT_S` for and then replaces. A later run (:meth:`NoteStore.fill`) resumes
where a killed one stopped and writes the same bytes an uninterrupted run writes (the
network's output for a window does not depend on the other recordings in its batch).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.plugin_api import atomic_output, build_component, entry_lock, note_array_problem, read_audio

PathLike = Union[str, os.PathLike]
STORE_VERSION = 1
Window = Tuple[int, Optional[int]]
#: how long a writer waits for the file of another process that holds its lock (a write
#: takes milliseconds; a lock still there after this was left by a process that died)
LOCK_WAIT_S = 2.0


def performance_name(perf: Dict[str, Any]) -> str:
    """How errors name a performance record: its id and, when known, its annotation."""
    where = f"performance {perf.get('perf_id')}"
    return f"{where} ({perf['ann_source']})" if perf.get("ann_source") else where


def audio_source(perf: Dict[str, Any]) -> str:
    """The file a performance's audio is read from: ``audio_path``, else the video's
    track; ``ValueError`` naming the performance when it has neither."""
    source = perf.get("audio_path") or perf.get("video_path")
    if not source:
        raise ValueError(f"{performance_name(perf)}: no audio to transcribe (the record has no "
                         "audio_path and no video_path)")
    return os.fspath(source)


def _stat(path: str, perf: Dict[str, Any]) -> List[Any]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{performance_name(perf)}: audio source not found: {path}") from None
    return [os.path.abspath(path), st.st_size, st.st_mtime_ns]


def audio_window(perf: Dict[str, Any], sample_rate: int) -> Window:
    """``(start, stop)`` samples of the performance in its audio source at
    ``sample_rate``: ``[round(frame_offset / fps * sr), round((frame_offset + num_frames)
    / fps * sr))``, ``stop`` None (to the end) when ``num_frames`` was not annotated."""
    offset = int(perf.get("frame_offset") or 0)
    num = perf.get("annotated", perf).get("num_frames")  # as annotated: known before any decoding
    fps = perf.get("fps")
    if (offset or num is not None) and not fps:
        raise ValueError(f"{performance_name(perf)}: frame_offset={offset}, num_frames={num} need the "
                         "frame rate (fps) to place the audio window, and the record has none")
    start = int(round(offset / float(fps) * sample_rate)) if offset else 0
    stop = None if num is None else int(round((offset + int(num)) / float(fps) * sample_rate))
    return start, stop


class NoteStore:
    """Notes of performance records (:mod:`pisa.data.core.base_dataset`'s format: reads
    ``perf_id``, ``audio_path`` or ``video_path``, ``frame_offset``, ``fps``,
    ``num_frames`` or ``annotated['num_frames']``, ``ann_source``), transcribed once by
    ``transcriber`` (a built transcriber or its config dict) and kept in ``store_dir``
    (layout: module docstring)."""

    def __init__(self, transcriber: Any, store_dir: PathLike) -> None:
        self.transcriber = build_component("transcriber", transcriber)
        self.store_dir = Path(store_dir)
        self.sample_rate = int(self.transcriber.sample_rate)
        self.folder = (self.store_dir / "notes"
                       / f"{type(self.transcriber).__name__}-{self.transcriber.fingerprint()}")
        self._track: Optional[Tuple[Tuple, np.ndarray]] = None  # the last source read

    def __repr__(self) -> str:
        return f"NoteStore({self.folder})"

    # -- keys -------------------------------------------------------------------------
    def key(self, perf: Dict[str, Any]) -> str:
        """Hash of the audio source's path, size and mtime, the window and the rate."""
        start, stop = audio_window(perf, self.sample_rate)
        num = perf.get("annotated", perf).get("num_frames")
        settings = {"version": STORE_VERSION,
                    "source": _stat(audio_source(perf), perf),
                    "frame_offset": int(perf.get("frame_offset") or 0),
                    "fps": None if not perf.get("fps") else float(perf["fps"]),
                    "num_frames": None if num is None else int(num),
                    "window": [start, stop], "sample_rate": self.sample_rate}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]

    def path(self, perf: Dict[str, Any]) -> Path:
        """Where the performance's notes are (complete iff the file exists)."""
        return self.folder / f"{self.key(perf)}.npy"

    # -- audio ------------------------------------------------------------------------
    def audio(self, perf: Dict[str, Any]) -> np.ndarray:
        """The performance's audio window, mono float32 at the transcriber's rate. No
        track, a silent or unreadable one, or a window past its end raise ``ValueError``
        naming the performance and the file."""
        where, source = performance_name(perf), audio_source(perf)
        start, stop = audio_window(perf, self.sample_rate)
        stat = tuple(_stat(source, perf))
        if self._track is None or self._track[0] != stat:
            try:
                samples, _ = read_audio(source, self.sample_rate)
            except ValueError as err:  # read_audio names the file and what is wrong
                raise ValueError(f"{where}: {err}") from None
            self._track = (stat, samples)  # consecutive performances often share a video
        samples = self._track[1]
        clip = samples[start:stop]
        if clip.size == 0:
            raise ValueError(f"{where}: the audio window {start}..{stop} (samples at {self.sample_rate} Hz) "
                             f"lies past the end of {source} ({len(samples)} samples)")
        return np.ascontiguousarray(clip, dtype=np.float32)

    # -- notes ------------------------------------------------------------------------
    def _write(self, path: Path, notes: np.ndarray, perf: Dict[str, Any]) -> None:
        problem = note_array_problem(notes)
        if problem is not None:
            raise ValueError(f"{performance_name(perf)}: {self.transcriber!r} gave an invalid note "
                             f"array: {problem}")
        with entry_lock(path) as mine:
            if mine:
                if not path.is_file():
                    self._save(path, notes)
                return
        # another process holds the lock: its file appears within milliseconds, unless
        # that process died while writing and left its lock behind
        deadline = time.monotonic() + LOCK_WAIT_S
        while not path.is_file() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not path.is_file():
            self._save(path, notes)  # atomic: a second writer of the same bytes is harmless
            Path(f"{path}.lock").unlink(missing_ok=True)

    @staticmethod
    def _save(path: Path, notes: np.ndarray) -> None:
        with atomic_output(path) as tmp:
            np.save(tmp, notes, allow_pickle=False)

    def notes(self, perf: Dict[str, Any]) -> np.ndarray:
        """The performance's notes: read from the store, or transcribed now and stored."""
        path = self.path(perf)
        if path.is_file():
            return np.load(path, allow_pickle=False)
        notes = self.transcriber.transcribe([self.audio(perf)])[0]
        self._write(path, notes, perf)
        return notes

    def fill(self, perfs: Sequence[Dict[str, Any]], batch: int = 8) -> List[Path]:
        """Transcribe every performance that has no stored notes, ``batch`` recordings
        per transcriber call, with a progress bar, writing each batch's files as it
        finishes (a run stopped midway resumes where it stopped). Returns the files of
        all ``perfs``, in order."""
        from mmengine.utils import ProgressBar

        paths = [self.path(p) for p in perfs]
        todo: Dict[Path, Dict[str, Any]] = OrderedDict()
        for path, perf in zip(paths, perfs):
            if not path.is_file():
                todo.setdefault(path, perf)  # performances with the same key share a file
        if not todo:
            return paths
        bar = ProgressBar(len(todo))
        items = list(todo.items())
        batch = max(1, int(batch))
        for i in range(0, len(items), batch):
            chunk = items[i:i + batch]
            audios = [self.audio(perf) for _, perf in chunk]
            for (path, perf), notes in zip(chunk, self.transcriber.transcribe(audios)):
                self._write(path, notes, perf)
                bar.update()
        return paths
